// SPDX-License-Identifier: MIT
/*
 * KSM: merging identical anonymous pages (Linux: mm/ksm.c). See
 * include/pinmm/ksm.h for the model and the locks; docs/ksm.md for the rules.
 *
 * Records, all under ksm_thread_mutex (K):
 *  - an mm_slot per registered mm, with its rmap items in address order;
 *  - an rmap item per scanned (mm, address): its last checksum, and either
 *    its place in the unstable tree (this pass only) or the stable node of
 *    the KSM page it maps;
 *  - a stable node per KSM page, in the stable tree sorted by contents;
 *    folio->mapping points at it (PAGE_MAPPING_KSM). A node outlives its
 *    rmap items while the page is still mapped (a fork child maps it before
 *    the scanner saw the child), and goes when the page was freed (the free
 *    clears ->mapping, so the node no longer matches: "stale").
 *
 * (F): a node's list of rmap items changes under the KSM folio's lock as
 * well, so an rmap walk (migration: the folio locked) can follow it; each
 * stable item holds a reference on the anon_vma of its VMA, through which
 * the walk finds that VMA and the VMAs of forks at the same address.
 *
 * The scanner holds a reference on the page it looks at and takes mmap_lock
 * only briefly (to find the page, or to merge it), as Linux's ksmd does, so
 * a page's contents are compared while the owner may still write it; the
 * write-protect step, with its reference check, is what makes a merge safe.
 */
#include <pinmm/fs.h>
#include <pinmm/huge_mm.h>
#include <pinmm/ksm.h>
#include <pinmm/memory.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>
#include <pinmm/rmap.h>
#include <pinmm/swap.h>
#include <pinmm/slab.h>
#include <pinmm/task.h>
#include <pinmm/wait.h>

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <xxhash.h>

struct ksm_stable_node {
	struct rb_node node;		/* (K) in the stable tree */
	struct list_head rmap_items;	/* (K + F) ksm_rmap_item.hlist: known mappers */
	unsigned long kpfn;		/* (K, a) the KSM page; migration moves it */
};

#define UNSTABLE_FLAG	1U		/* in the unstable tree of pass seqnr */
#define STABLE_FLAG	2U		/* on a stable node's list */

struct ksm_rmap_item {
	struct ksm_rmap_item *rmap_list;	/* (K) next of the mm, by address */
	struct mm_struct *mm;			/* (c) */
	unsigned long address;			/* (c) page-aligned */
	unsigned int flags;			/* (K) UNSTABLE_FLAG, STABLE_FLAG */
	unsigned int oldchecksum;		/* (K) contents at the last look */
	unsigned long seqnr;			/* (K) pass of its unstable-tree entry */
	struct rb_node node;			/* (K) unstable tree */
	struct ksm_stable_node *head;		/* (K) stable: the node */
	struct list_head hlist;			/* (K + F) stable: on head->rmap_items */
	struct anon_vma *anon_vma;		/* (K) referenced: its VMA's, once merged */
};

struct ksm_mm_slot {
	struct list_head mm_node;		/* (L) ksm.mm_head */
	struct mm_struct *mm;			/* (c) mmgrab()bed */
	struct ksm_rmap_item *rmap_list;	/* (K) */
};

static struct {
	struct mutex thread_mutex;		/* the K lock */
	spinlock_t mmlist_lock;			/* the L lock */
	struct list_head mm_head;		/* (L, K to unlink) */
	struct rb_root stable_tree;
	struct rb_root unstable_tree;
	/* the scan cursor (K) */
	struct ksm_mm_slot *scan_slot;		/* NULL: a new pass starts */
	unsigned long scan_address;
	struct ksm_rmap_item **scan_rmap_list;
	unsigned long seqnr;
	/* controls */
	_Atomic unsigned int run;
	_Atomic unsigned long pages_to_scan;
	_Atomic unsigned int sleep_ms;
	/* counters (K) */
	unsigned long pages_shared, pages_sharing, pages_unshared;
	unsigned long pages_scanned, full_scans, stable_nodes, rmap_items, mm_slots;
	/* ksmd */
	pthread_t thread;
	bool thread_running;
	_Atomic bool stop;
	_Atomic unsigned long wake;		/* bumped to wake ksmd early */
} ksm;

/* ---- page contents -------------------------------------------------------------- */

/*
 * The scanner reads pages their owners may be writing; that race is the
 * design (the checksum and the write-protect step deal with it), so under
 * ThreadSanitizer the comparison is not instrumented, like a device read.
 */
#ifdef PINMM_TSAN
__attribute__((no_sanitize("thread"), noinline))
static int memcmp_pages(struct page *a, struct page *b)
{
	const volatile unsigned long *x = page_address(a), *y = page_address(b);

	for (size_t i = 0; i < PAGE_SIZE / sizeof(long); i++)
		if (x[i] != y[i]) {
			/* byte order as memcmp's on little-endian */
			unsigned long u = __builtin_bswap64(x[i]), v = __builtin_bswap64(y[i]);

			return u < v ? -1 : 1;
		}
	return 0;
}
#else
static int memcmp_pages(struct page *a, struct page *b)
{
	return memcmp(page_address(a), page_address(b), PAGE_SIZE);
}
#endif

/* Linux's calc_checksum(): xxhash of the page, to skip pages still changing. */
static unsigned int calc_checksum(struct page *page)
{
	return XXH32(page_address(page), PAGE_SIZE, 17);
}

/* ---- stable nodes and the KSM folio ---------------------------------------------- */

static unsigned long node_kpfn(const struct ksm_stable_node *node)
{
	/* acquire: the new frame's ->mapping, set before the move, is seen */
	return __atomic_load_n(&node->kpfn, __ATOMIC_ACQUIRE);
}

static void folio_set_stable_node(struct folio *folio, struct ksm_stable_node *node)
{
	atomic_store_explicit(&folio->mapping,
			      (struct address_space *)((unsigned long)node | PAGE_MAPPING_KSM),
			      memory_order_release);
}

static struct ksm_stable_node *folio_stable_node(struct folio *folio)
{
	unsigned long m = (unsigned long)atomic_load_explicit(&folio->mapping,
							      memory_order_acquire);

	if ((m & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_KSM)
		return NULL;
	return (struct ksm_stable_node *)(m & ~PAGE_MAPPING_FLAGS);
}

static void rmap_item_put_anon_vma(struct ksm_rmap_item *item)
{
	if (item->anon_vma) {
		put_anon_vma(item->anon_vma);
		item->anon_vma = NULL;
	}
}

static void remove_node_from_stable_tree(struct ksm_stable_node *node)
{
	struct ksm_rmap_item *item, *tmp;

	/* the page is gone: nobody walks this list any more */
	list_for_each_entry_safe(item, tmp, &node->rmap_items, hlist) {
		list_del_init(&item->hlist);
		if (list_empty(&node->rmap_items))
			ksm.pages_shared--;
		else
			ksm.pages_sharing--;
		item->head = NULL;
		item->flags &= ~STABLE_FLAG;
		rmap_item_put_anon_vma(item);
	}
	rb_erase(&node->node, &ksm.stable_tree);
	ksm.stable_nodes--;
	kfree(node);
}

enum ksm_get_folio_flags {
	KSM_GET_FOLIO_NOLOCK,	/* a reference only: enough to read the contents */
	KSM_GET_FOLIO_LOCK,	/* and the lock: the folio is the node's page until unlocked */
};

/*
 * Linux's ksm_get_folio(): the KSM folio of @node with a reference (and
 * locked, with KSM_GET_FOLIO_LOCK), or NULL when the page was freed
 * meanwhile (the node is then dropped). The speculative grab is safe on any
 * frame; ->mapping, checked before and after it, says whether the frame is
 * still this node's page.
 *
 * Migration moves the node's kpfn first and clears the old folio's
 * ->mapping later (folio_migrate_ksm(), then folio_migrate_ksm_done(), both
 * under the old folio's lock), so a page that stopped matching while kpfn
 * moved is a node in motion, not a stale one: read kpfn again. In between,
 * the unfrozen old folio still looks like the node's page: only a caller
 * that then locks it and looks again (LOCK) knows it has the current one.
 * Context: ksm_thread_mutex held.
 */
static struct folio *ksm_get_folio(struct ksm_stable_node *node,
				   enum ksm_get_folio_flags lock_it)
{
	unsigned long kpfn;
	struct folio *folio;

again:
	kpfn = node_kpfn(node);
	folio = pfn_folio(kpfn);
	if (folio_stable_node(folio) != node)
		goto stale;
	/* a migration of the page may run to its end here */
	pinmm_race_point(PINMM_RACE_KSM_GET_FOLIO, kpfn);
	if (!folio_try_get(folio)) {
		/* refcount 0 while still ours: frozen for a moment, not freed */
		if (folio_stable_node(folio) == node)
			sched_yield();
		goto again;
	}
	if (folio_stable_node(folio) != node || page_folio(&folio->page) != folio) {
		folio_put(folio);
		goto stale;
	}
	if (lock_it == KSM_GET_FOLIO_LOCK) {
		folio_lock(folio);
		if (folio_stable_node(folio) != node) {
			folio_unlock(folio);
			folio_put(folio);
			goto stale;
		}
	}
	return folio;
stale:
	/*
	 * Acquire in both reads: a cleared ->mapping seen above was stored
	 * after the new kpfn (folio_migrate_ksm_done() after
	 * folio_migrate_ksm()), so a moved node shows its new kpfn here.
	 */
	if (node_kpfn(node) != kpfn)
		goto again;
	remove_node_from_stable_tree(node);
	return NULL;
}

/* Drop every stable node whose page is gone (mm exit, shutdown). */
static void prune_stale_stable_nodes(void)
{
	struct rb_node *rb = rb_first(&ksm.stable_tree);

	while (rb) {
		struct ksm_stable_node *node = rb_entry(rb, struct ksm_stable_node, node);
		struct folio *folio;

		rb = rb_next(rb);
		folio = ksm_get_folio(node, KSM_GET_FOLIO_NOLOCK);
		if (folio)
			folio_put(folio);
	}
}

/* ---- rmap items ------------------------------------------------------------------- */

static struct ksm_rmap_item *alloc_rmap_item(struct mm_struct *mm, unsigned long addr)
{
	struct ksm_rmap_item *item = kzalloc(sizeof(*item), GFP_KERNEL);

	if (!item)
		return NULL;
	item->mm = mm;
	item->address = addr;
	INIT_LIST_HEAD(&item->hlist);
	ksm.rmap_items++;
	return item;
}

/* Take @item out of whichever tree it is in (Linux's remove_rmap_item_from_tree). */
static void remove_rmap_item_from_tree(struct ksm_rmap_item *item)
{
	if (item->flags & STABLE_FLAG) {
		struct ksm_stable_node *node = item->head;
		/* a stale node takes its items out of the tree itself */
		struct folio *folio = ksm_get_folio(node, KSM_GET_FOLIO_LOCK);

		if (folio) {
			list_del_init(&item->hlist);
			folio_unlock(folio);
			folio_put(folio);
			if (list_empty(&node->rmap_items))
				ksm.pages_shared--;
			else
				ksm.pages_sharing--;
			item->head = NULL;
			item->flags &= ~STABLE_FLAG;
		}
	} else if (item->flags & UNSTABLE_FLAG) {
		/* an entry of an earlier pass: that tree was dropped whole */
		if (item->seqnr == ksm.seqnr)
			rb_erase(&item->node, &ksm.unstable_tree);
		ksm.pages_unshared--;
		item->flags &= ~UNSTABLE_FLAG;
	}
	rmap_item_put_anon_vma(item);
}

static void free_rmap_item(struct ksm_rmap_item *item)
{
	remove_rmap_item_from_tree(item);
	ksm.rmap_items--;
	kfree(item);
}

/* Free the items from *@list on: their pages are no longer in a mergeable VMA. */
static void remove_trailing_rmap_items(struct ksm_rmap_item **list)
{
	while (*list) {
		struct ksm_rmap_item *item = *list;

		*list = item->rmap_list;
		free_rmap_item(item);
	}
}

/* @item maps the KSM page of @node now. The KSM folio locked. */
static void stable_tree_append(struct ksm_rmap_item *item, struct ksm_stable_node *node)
{
	VM_BUG_ON(!folio_test_locked(pfn_folio(node_kpfn(node))));
	if (list_empty(&node->rmap_items))
		ksm.pages_shared++;
	else
		ksm.pages_sharing++;
	list_add(&item->hlist, &node->rmap_items);
	item->head = node;
	item->flags |= STABLE_FLAG;
}

/* ---- looking pages up --------------------------------------------------------------- */

static bool ksm_test_exit(struct mm_struct *mm)
{
	return atomic_load_explicit(&mm->mm_users, memory_order_acquire) == 0;
}

/* The VMA at @addr if KSM may still act there. mmap_lock held. */
static struct vm_area_struct *find_mergeable_vma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	if (ksm_test_exit(mm))
		return NULL;
	vma = vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
		return NULL;
	return vma;
}

/*
 * The scan's look-up (Linux's folio_walk_start() in scan_get_next_rmap_item()
 * and get_mergeable_page()): the page of an anon folio, small or large,
 * that a present PTE or an anon THP's PMD leaf maps at @addr, with a
 * reference on its folio; NULL otherwise. A page of a large folio is merged
 * after try_to_merge_one_page() splits its folio. *@no_table: nothing maps
 * the PMD at @addr (skip to the next one).
 */
static struct page *ksm_follow_page(struct vm_area_struct *vma, unsigned long addr,
				    bool *no_table)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *pte, entry;
	pmd_t *pmd, pmdval;

	*no_table = false;
	pmd = mm_find_pmd(mm, addr);
	if (!pmd) {
		*no_table = true;
		return NULL;
	}
	if (pmd_trans_huge(pmdp_get_lockless(pmd))) {
		ptl = pmd_lock(mm, pmd);
		pmdval = pmdp_get(pmd);
		if (pmd_trans_huge(pmdval) && !is_huge_zero_pmd(pmdval) &&
		    folio_test_anon(page_folio(pmd_page(pmdval)))) {
			page = pmd_page(pmdval) + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
			folio_get(page_folio(page));
		}
		spin_unlock(ptl);
		if (page)
			return page;
	}
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte) {
		*no_table = true;	/* none, or a PMD leaf not ours to merge */
		return NULL;
	}
	entry = ptep_get(pte);
	if (pte_present(entry)) {
		page = vm_normal_page(vma, addr, entry);
		if (page && folio_test_anon(page_folio(page)))
			folio_get(page_folio(page));
		else
			page = NULL;
	}
	pte_unmap_unlock(pte, ptl);
	return page;
}

/* Linux's get_mergeable_page(): the page an unstable-tree item stands for. */
static struct page *get_mergeable_page(struct ksm_rmap_item *item)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	struct page *page = NULL;
	bool no_table;

	mmap_read_lock(mm);
	vma = find_mergeable_vma(mm, item->address);
	if (vma)
		page = ksm_follow_page(vma, item->address, &no_table);
	mmap_read_unlock(mm);
	return page;
}

/* ---- write-protect and replace ---------------------------------------------------- */

/*
 * Linux's write_protect_page(): make the PTE at @addr that maps @folio
 * read-only and clean, so its contents can no longer change behind us —
 * unless someone besides its mappings holds the page. The scanner holds
 * one reference; a mapping holds one each; anything more is a GUP reference
 * or a pin (GUP_PIN_COUNTING_BIAS) and the page is refused, as is an
 * exclusive page folio_try_share_anon_rmap_pte() finds maybe pinned (the
 * PTE is cleared first, so GUP-fast either sees it gone or we see its pin).
 * Context: folio locked; mmap_lock held for reading.
 * Return: 0 with *@orig_pte the R/O entry now installed, -EFAULT if the PTE
 * no longer maps @folio, -EBUSY if the page may be pinned or referenced.
 */
static int write_protect_page(struct vm_area_struct *vma, struct folio *folio,
			      unsigned long addr, pte_t *orig_pte)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	struct page *page = &folio->page;
	spinlock_t *ptl;
	pte_t *pte, entry;
	pmd_t *pmd;
	int err = -EFAULT;

	pmd = mm_find_pmd(mm, addr);
	if (!pmd)
		return -EFAULT;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr, addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		goto out_mn;
	entry = ptep_get(pte);
	if (!pte_present(entry) || pte_pfn(entry) != folio_pfn(folio))
		goto out_unlock;
	if (pte_write(entry) || pte_dirty(entry) || PageAnonExclusive(page)) {
		bool exclusive = PageAnonExclusive(page);

		entry = ptep_get_and_clear(pte);
		/* + 1: the reference the scan holds */
		if (folio_expected_ref_count(folio) + 1 != folio_ref_count(folio)) {
			set_pte(pte, entry);
			err = -EBUSY;
			goto out_unlock;
		}
		if (exclusive && folio_try_share_anon_rmap_pte(folio, page)) {
			set_pte(pte, entry);
			err = -EBUSY;
			goto out_unlock;
		}
		/* the PTE's dirt goes to the folio: a swap-cache copy may be stale */
		if (pte_dirty(entry))
			folio_mark_dirty(folio);
		entry = pte_wrprotect(pte_mkclean(entry));
		set_pte(pte, entry);
	}
	*orig_pte = entry;
	err = 0;
out_unlock:
	pte_unmap_unlock(pte, ptl);
out_mn:
	mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * Linux's replace_page(): point the PTE at @addr, still @orig_pte, at the
 * KSM page @kpage instead of @page, read-only; @page loses that mapping.
 * Context: @page's folio locked; mmap_lock held for reading.
 * Return: 0, or -EFAULT if the PTE changed meanwhile (nothing done).
 */
static int replace_page(struct vm_area_struct *vma, struct page *page, struct page *kpage,
			unsigned long addr, pte_t orig_pte)
{
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio = page_folio(page), *kfolio = page_folio(kpage);
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *pte, newpte;
	pmd_t *pmd;
	int err = -EFAULT;

	pmd = mm_find_pmd(mm, addr);
	if (!pmd)
		return -EFAULT;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr, addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		goto out_mn;
	if (!pte_same(ptep_get(pte), orig_pte)) {
		pte_unmap_unlock(pte, ptl);
		goto out_mn;
	}
	VM_BUG_ON_PAGE(PageAnonExclusive(page), page);
	VM_BUG_ON_PAGE(PageAnonExclusive(kpage), kpage);
	folio_get(kfolio);
	folio_add_anon_rmap_pte(kfolio, kpage, vma, addr, RMAP_NONE);
	newpte = pte_wrprotect(pte_mkyoung(mk_pte(kpage, vma_pte_prot(vma))));
	/* clear first: a lockless walker never sees the old and new page mixed */
	ptep_get_and_clear(pte);
	set_pte(pte, newpte);
	folio_remove_rmap_pte(folio, page, vma);
	/* a swapped-in page no one maps any more keeps no slot (folio locked) */
	if (!folio_mapped(folio))
		folio_free_swap(folio);
	folio_put(folio);	/* the reference the old PTE held */
	pte_unmap_unlock(pte, ptl);
	err = 0;
out_mn:
	mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * Linux's try_to_merge_one_page(): write-protect @page and either make it
 * a KSM page (@kpage NULL: the first of two equal pages) or, if it still
 * equals @kpage, map @kpage in its place.
 * Context: mmap_lock held for reading; the caller holds a reference on both.
 */
static int try_to_merge_one_page(struct vm_area_struct *vma, struct page *page,
				 unsigned long addr, struct page *kpage)
{
	struct folio *folio = page_folio(page);
	pte_t orig_pte = __pte(0);
	int err = -EFAULT;

	if (page == kpage)
		return 0;
	if (!folio_test_anon(folio))
		return -EFAULT;
	if (!folio_trylock(folio))
		return -EAGAIN;
	/* a KSM page is never merged into another; equal ones share a node */
	if (folio_test_ksm(folio))
		goto out_unlock;
	/*
	 * A page of a large folio: split it first (Linux's
	 * try_to_merge_one_page()). A GET or a pin anywhere in the folio
	 * makes the split fail (can_split_folio()) and the page stays
	 * unmerged; otherwise our lock and reference move to @page's folio.
	 */
	if (folio_test_large(folio)) {
		err = split_huge_page(page);
		if (err) {
			err = -EFAULT;
			goto out_unlock;
		}
		folio = page_folio(page);
	}
	/* the lookup's PTE lock is long dropped: a zap or a fault may come here */
	pinmm_race_point(PINMM_RACE_KSM_WRPROTECT, addr);
	err = write_protect_page(vma, folio, addr, &orig_pte);
	if (err)
		goto out_unlock;
	if (!kpage) {
		/* a KSM page without a node yet: stable_tree_insert() gives it one */
		folio_set_stable_node(folio, NULL);
		/*
		 * Dirty, as Linux makes it: reclaim frees a clean lazyfree
		 * (MADV_FREE) folio with no dirty PTE, and the KSM page's
		 * PTEs are all clean now; dirty, it goes to swap instead.
		 */
		if (!folio_test_dirty(folio))
			folio_mark_dirty(folio);
	} else if (!memcmp_pages(page, kpage)) {
		err = replace_page(vma, page, kpage, addr, orig_pte);
	} else {
		err = -EFAULT;
	}
out_unlock:
	folio_unlock(folio);
	return err;
}

/* Linux's try_to_merge_with_ksm_page(): the mm side of the merge of @item. */
static int try_to_merge_with_ksm_page(struct ksm_rmap_item *item, struct page *page,
				      struct page *kpage)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	int err = -EFAULT;

	mmap_read_lock(mm);
	vma = find_mergeable_vma(mm, item->address);
	if (vma) {
		err = try_to_merge_one_page(vma, page, item->address, kpage);
		if (!err) {
			remove_rmap_item_from_tree(item);
			/* while mmap_lock keeps the VMA and its anon_vma alive */
			item->anon_vma = vma->anon_vma;
			atomic_fetch_add_explicit(&item->anon_vma->refcount, 1,
						  memory_order_relaxed);
		}
	}
	mmap_read_unlock(mm);
	return err;
}

/* ---- breaking COW ------------------------------------------------------------------- */

/*
 * Linux's break_ksm(): while @addr maps a KSM page, unshare it (a fault that
 * copies it into an exclusive anon page, the PTE staying read-only).
 * Context: mmap_lock held (read or write).
 * Return: 0, or -ENOMEM when the copy could not be allocated.
 */
static int break_ksm(struct vm_area_struct *vma, unsigned long addr)
{
	vm_fault_t ret = 0;

	for (;;) {
		bool no_table, ksm_page = false;
		struct page *page = ksm_follow_page(vma, addr, &no_table);

		if (page) {
			ksm_page = folio_test_ksm(page_folio(page));
			folio_put(page_folio(page));
		}
		if (!ksm_page)
			return 0;
		ret = handle_mm_fault(vma, addr, FAULT_FLAG_UNSHARE | FAULT_FLAG_REMOTE, NULL);
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON))
			return 0;
	}
}

static int unmerge_ksm_pages(struct vm_area_struct *vma, unsigned long start,
			     unsigned long end)
{
	for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
		int err;

		if (ksm_test_exit(vma->vm_mm))
			return 0;
		err = break_ksm(vma, addr);
		if (err)
			return err;
	}
	return 0;
}

/* Undo half a merge: @item's page goes back to a private copy. */
static void break_cow(struct ksm_rmap_item *item)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = find_mergeable_vma(mm, item->address);
	if (vma)
		break_ksm(vma, item->address);
	mmap_read_unlock(mm);
}

/* ---- the trees ------------------------------------------------------------------------ */

/*
 * Linux's stable_tree_search(): a KSM page equal to @page, with a reference
 * (@page's own folio if it already is one), or NULL.
 */
static struct folio *stable_tree_search(struct page *page)
{
	struct folio *folio = page_folio(page);
	struct rb_node *rb;

	if (folio_stable_node(folio)) {
		folio_get(folio);
		return folio;
	}
again:
	rb = ksm.stable_tree.rb_node;
	while (rb) {
		struct ksm_stable_node *node = rb_entry(rb, struct ksm_stable_node, node);
		struct folio *tree_folio = ksm_get_folio(node, KSM_GET_FOLIO_NOLOCK);
		int ret;

		if (!tree_folio)
			goto again;	/* a stale node left the tree: look again */
		ret = memcmp_pages(page, &tree_folio->page);
		if (ret < 0) {
			folio_put(tree_folio);
			rb = rb->rb_left;
		} else if (ret > 0) {
			folio_put(tree_folio);
			rb = rb->rb_right;
		} else {
			/*
			 * Take it again locked, as Linux does: a migration of
			 * this page has then either finished (the lookup follows
			 * the node to the new page, the same contents) or will
			 * see our reference and fail.
			 */
			folio_put(tree_folio);
			tree_folio = ksm_get_folio(node, KSM_GET_FOLIO_LOCK);
			if (!tree_folio)
				goto again;
			folio_unlock(tree_folio);
			return tree_folio;
		}
	}
	return NULL;
}

/* Linux's stable_tree_insert(): give the new KSM page @kfolio its node. */
static struct ksm_stable_node *stable_tree_insert(struct folio *kfolio)
{
	struct rb_node **new, *parent;
	struct ksm_stable_node *node;

again:
	new = &ksm.stable_tree.rb_node;
	parent = NULL;
	while (*new) {
		struct ksm_stable_node *n = rb_entry(*new, struct ksm_stable_node, node);
		struct folio *tree_folio = ksm_get_folio(n, KSM_GET_FOLIO_NOLOCK);
		int ret;

		if (!tree_folio)
			goto again;
		ret = memcmp_pages(&kfolio->page, &tree_folio->page);
		folio_put(tree_folio);
		parent = *new;
		if (ret < 0)
			new = &parent->rb_left;
		else if (ret > 0)
			new = &parent->rb_right;
		else
			return NULL;	/* an equal KSM page appeared: undo this one */
	}
	node = kzalloc(sizeof(*node), GFP_KERNEL);
	if (!node)
		return NULL;
	INIT_LIST_HEAD(&node->rmap_items);
	__atomic_store_n(&node->kpfn, folio_pfn(kfolio), __ATOMIC_RELEASE);
	rb_link_node(&node->node, parent, new);
	rb_insert_color(&node->node, &ksm.stable_tree);
	ksm.stable_nodes++;
	folio_set_stable_node(kfolio, node);
	return node;
}

/*
 * Linux's unstable_tree_search_insert(): an item of this pass whose page
 * equals @page (referenced, in *@tree_pagep), or NULL after inserting @item.
 */
static struct ksm_rmap_item *unstable_tree_search_insert(struct ksm_rmap_item *item,
							 struct page *page,
							 struct page **tree_pagep)
{
	struct rb_node **new = &ksm.unstable_tree.rb_node, *parent = NULL;

	while (*new) {
		struct ksm_rmap_item *tree_item = rb_entry(*new, struct ksm_rmap_item, node);
		struct page *tree_page = get_mergeable_page(tree_item);
		int ret;

		if (!tree_page)
			return NULL;
		/* the same page twice (fork shares it before the scanner sees both) */
		if (tree_page == page) {
			put_page(tree_page);
			return NULL;
		}
		ret = memcmp_pages(page, tree_page);
		parent = *new;
		if (ret < 0) {
			put_page(tree_page);
			new = &parent->rb_left;
		} else if (ret > 0) {
			put_page(tree_page);
			new = &parent->rb_right;
		} else {
			*tree_pagep = tree_page;
			return tree_item;
		}
	}
	item->flags |= UNSTABLE_FLAG;
	item->seqnr = ksm.seqnr;
	rb_link_node(&item->node, parent, new);
	rb_insert_color(&item->node, &ksm.unstable_tree);
	ksm.pages_unshared++;
	return NULL;
}

/* Linux's cmp_and_merge_page(): one page of the scan, with a reference. */
static void cmp_and_merge_page(struct page *page, struct ksm_rmap_item *item)
{
	struct ksm_rmap_item *tree_item;
	struct page *tree_page;
	struct folio *kfolio;
	unsigned int checksum;

	kfolio = stable_tree_search(page);
	if (kfolio && &kfolio->page == page && item->head == folio_stable_node(kfolio)) {
		folio_put(kfolio);	/* already merged, already known */
		return;
	}
	remove_rmap_item_from_tree(item);
	if (kfolio) {
		/* an equal KSM page exists (or this page is one we had not recorded) */
		if (!try_to_merge_with_ksm_page(item, page, &kfolio->page)) {
			struct ksm_stable_node *node;

			folio_lock(kfolio);
			node = folio_stable_node(kfolio);
			if (node)
				stable_tree_append(item, node);
			folio_unlock(kfolio);
		}
		folio_put(kfolio);
		return;
	}

	/* pages that change between two looks are not worth a tree entry */
	checksum = calc_checksum(page);
	if (item->oldchecksum != checksum) {
		item->oldchecksum = checksum;
		return;
	}

	tree_item = unstable_tree_search_insert(item, page, &tree_page);
	if (!tree_item)
		return;
	/* two equal pages: this one becomes the KSM page, the other maps it */
	if (!try_to_merge_with_ksm_page(item, page, NULL)) {
		if (!try_to_merge_with_ksm_page(tree_item, tree_page, page)) {
			struct folio *folio = page_folio(page);
			struct ksm_stable_node *node;

			folio_lock(folio);
			node = stable_tree_insert(folio);
			if (node) {
				stable_tree_append(tree_item, node);
				stable_tree_append(item, node);
			}
			folio_unlock(folio);
			if (!node) {
				break_cow(tree_item);
				break_cow(item);
			}
		} else {
			break_cow(item);
		}
	}
	/* by the page: a split moved the reference to its own folio */
	put_page(tree_page);
}

/* ---- rmap walk and migration ----------------------------------------------------- */

/*
 * Linux's rmap_walk_ksm(): every VMA that may map KSM @folio. Each stable
 * item names an address and the anon_vma of its VMA; that anon_vma's chain
 * also holds the VMAs of forks, which map the page at the same address
 * without an item of their own yet (they come in a second round, after
 * the items' own mms). A VMA may come twice; rmap_one callbacks find the
 * actual entries with page_vma_mapped_walk(), so that is harmless.
 */
void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct ksm_stable_node *node = folio_stable_node(folio);
	struct ksm_rmap_item *item;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (!node)
		return;
	for (int other_mms = 0; other_mms < 2; other_mms++) {
		list_for_each_entry(item, &node->rmap_items, hlist) {
			struct anon_vma *av = item->anon_vma, *root = av->root;
			struct anon_vma_chain *avc;

			/* reclaim must not wait here: it holds the folio lock */
			if (!rwc->try_lock) {
				down_read(&root->rwsem);
			} else if (!down_read_trylock(&root->rwsem)) {
				rwc->contended = true;
				return;
			}
			list_for_each_entry(avc, &av->head, same_anon_vma) {
				struct vm_area_struct *vma = avc->vma;

				if (item->address < vma->vm_start || item->address >= vma->vm_end)
					continue;
				if ((item->mm != vma->vm_mm) != other_mms)
					continue;
				if (rwc->invalid_vma && rwc->invalid_vma(vma, rwc->arg))
					continue;
				if (!rwc->rmap_one(folio, vma, item->address, rwc->arg)) {
					up_read(&root->rwsem);
					return;
				}
			}
			up_read(&root->rwsem);
		}
	}
}

struct folio *ksm_might_need_to_copy(struct folio *folio, struct vm_area_struct *vma,
				     unsigned long addr)
{
	struct anon_vma *anon_vma = folio_anon_vma(folio);
	struct folio *copy;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (folio_test_large(folio))
		return folio;
	if (folio_test_ksm(folio)) {
		/* still a KSM page: anyone may map it (not while run=2 unmerges) */
		if (folio_stable_node(folio) && pinmm_ksm_run() != KSM_RUN_UNMERGE)
			return folio;
	} else if (!anon_vma) {
		return folio;	/* read in for this fault: ours to place */
	} else if (folio->index == linear_page_index(vma, addr) &&
		   anon_vma->root == vma->anon_vma->root) {
		return folio;	/* this process tree's page (fork shared the slot) */
	}
	if (!folio_test_uptodate(folio))
		return folio;	/* do_swap_page() reports the read error */
	copy = folio_alloc(current_gfp_context(GFP_HIGHUSER_MOVABLE), 0);
	if (!copy)
		return NULL;
	memcpy(folio_address(copy), folio_address(folio), PAGE_SIZE);
	/* no slot holds the copy's data: dirty from the start */
	folio_set_dirty(copy);
	folio_mark_uptodate(copy);
	__folio_set_locked(copy);
	count_vm_event(KSM_SWPIN_COPY);
	return copy;
}

void folio_migrate_ksm_done(struct folio *folio)
{
	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (folio_stable_node(folio))
		folio_set_stable_node(folio, NULL);
}

void folio_migrate_ksm(struct folio *newfolio, struct folio *folio)
{
	struct ksm_stable_node *node = folio_stable_node(folio);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio) || !folio_test_locked(newfolio), folio);
	if (!node)
		return;
	VM_BUG_ON_FOLIO(node_kpfn(node) != folio_pfn(folio), folio);
	/*
	 * Release: newfolio->mapping is set first. The old folio keeps
	 * pointing at the node until remove_migration_ptes() has walked it
	 * (folio_migrate_ksm_done()).
	 */
	__atomic_store_n(&node->kpfn, folio_pfn(newfolio), __ATOMIC_RELEASE);
}

/* ---- the scan ------------------------------------------------------------------------- */

/* The item of @slot for @addr, reusing it or making it; stale ones before it go. */
static struct ksm_rmap_item *get_next_rmap_item(struct ksm_rmap_item **list,
						struct mm_struct *mm, unsigned long addr)
{
	struct ksm_rmap_item *item;

	while (*list) {
		item = *list;
		if (item->address == addr)
			return item;
		if (item->address > addr)
			break;
		*list = item->rmap_list;
		free_rmap_item(item);
	}
	item = alloc_rmap_item(mm, addr);
	if (item) {
		item->rmap_list = *list;
		*list = item;
	}
	return item;
}

/*
 * The slot after @slot (the first for NULL), or NULL. Slots are added under
 * the mm-list lock alone (madvise, fork), removed under ksm_thread_mutex too.
 */
static struct ksm_mm_slot *next_slot(struct ksm_mm_slot *slot)
{
	struct list_head *pos = slot ? &slot->mm_node : &ksm.mm_head;
	struct ksm_mm_slot *next = NULL;

	spin_lock(&ksm.mmlist_lock);
	if (pos->next != &ksm.mm_head)
		next = list_entry(pos->next, struct ksm_mm_slot, mm_node);
	spin_unlock(&ksm.mmlist_lock);
	return next;
}

/*
 * Linux's scan_get_next_rmap_item(): the next mergeable page and its item,
 * the page referenced in *@pagep; NULL at the end of a full scan (or when
 * out of memory, or nothing is registered).
 */
static struct ksm_rmap_item *scan_get_next_rmap_item(struct page **pagep)
{
	struct ksm_mm_slot *slot = ksm.scan_slot;
	struct vm_area_struct *vma;
	struct mm_struct *mm;

	if (!slot) {
		slot = next_slot(NULL);
		if (!slot)
			return NULL;
		/* a new pass: the unstable tree starts empty */
		ksm.unstable_tree = RB_ROOT;
		ksm.seqnr++;
		ksm.scan_slot = slot;
		ksm.scan_address = 0;
		ksm.scan_rmap_list = &slot->rmap_list;
	}
next_mm:
	mm = slot->mm;
	mmap_read_lock(mm);
	if (!ksm_test_exit(mm)) {
		for (vma = find_vma(mm, ksm.scan_address); vma; vma = vma_next(vma)) {
			if (!(vma->vm_flags & VM_MERGEABLE))
				continue;
			if (ksm.scan_address < vma->vm_start)
				ksm.scan_address = vma->vm_start;
			if (!vma->anon_vma) {
				ksm.scan_address = vma->vm_end;
				continue;
			}
			while (ksm.scan_address < vma->vm_end) {
				unsigned long addr = ksm.scan_address;
				struct ksm_rmap_item *item;
				struct page *page;
				bool no_table;

				page = ksm_follow_page(vma, addr, &no_table);
				if (!page) {
					ksm.scan_address = no_table ?
						min(ALIGN(addr + 1, PMD_SIZE), vma->vm_end) :
						addr + PAGE_SIZE;
					continue;
				}
				item = get_next_rmap_item(ksm.scan_rmap_list, mm, addr);
				if (item) {
					ksm.scan_rmap_list = &item->rmap_list;
					ksm.scan_address = addr + PAGE_SIZE;
					*pagep = page;
				} else {
					put_page(page);
				}
				mmap_read_unlock(mm);
				return item;
			}
		}
	}
	/* what is left of the list maps nothing mergeable any more */
	remove_trailing_rmap_items(ksm.scan_rmap_list);
	mmap_read_unlock(mm);

	slot = next_slot(slot);
	if (slot) {
		ksm.scan_slot = slot;
		ksm.scan_address = 0;
		ksm.scan_rmap_list = &slot->rmap_list;
		goto next_mm;
	}
	ksm.scan_slot = NULL;
	ksm.full_scans++;
	return NULL;
}

/* Linux's ksm_do_scan(): up to @nr pages. ksm_thread_mutex held. */
static unsigned long ksm_do_scan(unsigned long nr)
{
	unsigned long done = 0;

	lockdep_assert_held(&ksm.thread_mutex);
	while (done < nr) {
		struct page *page = NULL;
		struct ksm_rmap_item *item = scan_get_next_rmap_item(&page);

		if (!item)
			break;
		done++;
		ksm.pages_scanned++;
		cmp_and_merge_page(page, item);
		/* by the page: a split moved the reference to its own folio */
		put_page(page);
	}
	return done;
}

/* ---- registration, exit ------------------------------------------------------------- */

static struct ksm_mm_slot *mm_slot_lookup(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot;

	for (slot = next_slot(NULL); slot; slot = next_slot(slot))
		if (slot->mm == mm)
			return slot;
	return NULL;
}

int __ksm_enter(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot = kzalloc(sizeof(*slot), GFP_KERNEL);

	if (!slot)
		return -ENOMEM;
	slot->mm = mm;
	mmgrab(mm);
	spin_lock(&ksm.mmlist_lock);
	/* behind the cursor's slot, as Linux: a new mm waits for the next pass */
	list_add_tail(&slot->mm_node, &ksm.mm_head);
	spin_unlock(&ksm.mmlist_lock);
	set_bit(MMF_VM_MERGEABLE, &mm->flags);
	__atomic_fetch_add(&ksm.mm_slots, 1, __ATOMIC_RELAXED);
	return 0;
}

void __ksm_exit(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot;

	mutex_lock(&ksm.thread_mutex);
	slot = mm_slot_lookup(mm);
	if (slot) {
		if (ksm.scan_slot == slot) {
			/* the cursor moves on; the pass goes on with the next mm */
			ksm.scan_slot = next_slot(slot);
			ksm.scan_address = 0;
			ksm.scan_rmap_list = ksm.scan_slot ? &ksm.scan_slot->rmap_list : NULL;
			if (!ksm.scan_slot)
				ksm.full_scans++;
		}
		remove_trailing_rmap_items(&slot->rmap_list);
		spin_lock(&ksm.mmlist_lock);
		list_del(&slot->mm_node);
		spin_unlock(&ksm.mmlist_lock);
		__atomic_fetch_sub(&ksm.mm_slots, 1, __ATOMIC_RELAXED);
		kfree(slot);
		mmdrop(mm);
	}
	clear_bit(MMF_VM_MERGEABLE, &mm->flags);
	/* exit_mmap() freed the pages only this mm mapped: their nodes go */
	prune_stale_stable_nodes();
	mutex_unlock(&ksm.thread_mutex);
}

bool vma_ksm_compatible(const struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND |
			     VM_HUGETLB | VM_MIXEDMAP))
		return false;
	if (vma_is_fsdax(vma))
		return false;
	return true;
}

int ksm_madvise(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		int advice, vm_flags_t *vm_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	int err;

	switch (advice) {
	case MADV_MERGEABLE:
		if (*vm_flags & VM_MERGEABLE)
			return 0;
		/* Linux ignores the advice where KSM cannot go, and says 0 */
		if (!vma_ksm_compatible(vma))
			return 0;
		if (!mm_flags_test(MMF_VM_MERGEABLE, mm)) {
			err = __ksm_enter(mm);
			if (err)
				return err;
		}
		*vm_flags |= VM_MERGEABLE;
		return 0;
	case MADV_UNMERGEABLE:
		if (!(*vm_flags & VM_MERGEABLE))
			return 0;
		if (vma->anon_vma) {
			err = unmerge_ksm_pages(vma, start, end);
			if (err)
				return err;
		}
		*vm_flags &= ~VM_MERGEABLE;
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- run=2: unmerge everything --------------------------------------------------- */

static int unmerge_and_remove_all_rmap_items(void)
{
	struct ksm_mm_slot *slot;
	int err = 0;

	lockdep_assert_held(&ksm.thread_mutex);
	for (slot = next_slot(NULL); slot; slot = next_slot(slot)) {
		struct mm_struct *mm = slot->mm;
		struct vm_area_struct *vma;

		mmap_read_lock(mm);
		if (!ksm_test_exit(mm)) {
			for_each_vma(mm, vma) {
				if (!(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
					continue;
				err = unmerge_ksm_pages(vma, vma->vm_start, vma->vm_end);
				if (err)
					break;
			}
		}
		remove_trailing_rmap_items(&slot->rmap_list);
		mmap_read_unlock(mm);
		if (err)
			return err;
	}
	/* every KSM page was copied away: the nodes left are stale (an mm in exit keeps its own) */
	prune_stale_stable_nodes();
	ksm.unstable_tree = RB_ROOT;
	ksm.scan_slot = NULL;
	ksm.seqnr = 0;
	return 0;
}

/* ---- ksmd and the controls -------------------------------------------------------- */

static void *ksm_scan_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&ksm.stop)) {
		unsigned long wake = atomic_load(&ksm.wake);
		struct wait_bucket *b;

		mutex_lock(&ksm.thread_mutex);
		if (atomic_load(&ksm.run) == KSM_RUN_MERGE)
			ksm_do_scan(atomic_load(&ksm.pages_to_scan));
		mutex_unlock(&ksm.thread_mutex);

		b = __wait_var_lock(&ksm.wake);
		if (!atomic_load(&ksm.stop) && atomic_load(&ksm.wake) == wake) {
			if (atomic_load(&ksm.run) == KSM_RUN_MERGE)
				__wait_var_sleep_timeout(b, atomic_load(&ksm.sleep_ms));
			else
				__wait_var_sleep(b);
		}
		__wait_var_unlock(b);
	}
	return NULL;
}

static void ksm_wake(void)
{
	struct wait_bucket *b = __wait_var_lock(&ksm.wake);

	atomic_fetch_add(&ksm.wake, 1);
	__wait_var_unlock(b);
	wake_up_var(&ksm.wake);
}

int pinmm_ksm_set_run(unsigned int run)
{
	int err = 0;

	if (run > KSM_RUN_UNMERGE)
		return -EINVAL;
	mutex_lock(&ksm.thread_mutex);
	if (atomic_load(&ksm.run) != run) {
		atomic_store(&ksm.run, run);
		if (run == KSM_RUN_UNMERGE) {
			err = unmerge_and_remove_all_rmap_items();
			if (err)
				atomic_store(&ksm.run, KSM_RUN_STOP);
		}
	}
	if (run == KSM_RUN_MERGE && !ksm.thread_running) {
		atomic_store(&ksm.stop, false);
		if (pthread_create(&ksm.thread, NULL, ksm_scan_thread, NULL)) {
			atomic_store(&ksm.run, KSM_RUN_STOP);
			err = -ENOMEM;
		} else {
			ksm.thread_running = true;
		}
	}
	mutex_unlock(&ksm.thread_mutex);
	ksm_wake();
	return err;
}

unsigned int pinmm_ksm_run(void)
{
	return atomic_load(&ksm.run);
}

int pinmm_ksm_set_pages_to_scan(unsigned long pages)
{
	if (!pages)
		return -EINVAL;
	atomic_store(&ksm.pages_to_scan, pages);
	return 0;
}

int pinmm_ksm_set_sleep_millisecs(unsigned int ms)
{
	atomic_store(&ksm.sleep_ms, ms);
	ksm_wake();
	return 0;
}

unsigned long pinmm_ksm_scan(unsigned long nr_pages)
{
	unsigned long done;

	mutex_lock(&ksm.thread_mutex);
	done = ksm_do_scan(nr_pages);
	mutex_unlock(&ksm.thread_mutex);
	return done;
}

void pinmm_ksm_scan_full(unsigned int n)
{
	unsigned long target;

	mutex_lock(&ksm.thread_mutex);
	target = ksm.full_scans + n;
	while (ksm.full_scans < target && next_slot(NULL))
		ksm_do_scan(ULONG_MAX);
	mutex_unlock(&ksm.thread_mutex);
}

void pinmm_ksm_get_stats(struct pinmm_ksm_stats *st)
{
	mutex_lock(&ksm.thread_mutex);
	st->pages_shared = ksm.pages_shared;
	st->pages_sharing = ksm.pages_sharing;
	st->pages_unshared = ksm.pages_unshared;
	/* as Linux: the items in neither tree */
	st->pages_volatile = ksm.rmap_items - ksm.pages_shared - ksm.pages_sharing -
			     ksm.pages_unshared;
	st->pages_scanned = ksm.pages_scanned;
	st->full_scans = ksm.full_scans;
	st->stable_nodes = ksm.stable_nodes;
	st->rmap_items = ksm.rmap_items;
	st->mm_slots = __atomic_load_n(&ksm.mm_slots, __ATOMIC_RELAXED);
	mutex_unlock(&ksm.thread_mutex);
}

void ksm_init(void)
{
	mutex_init(&ksm.thread_mutex, LOCK_RANK_KSM);
	spin_lock_init(&ksm.mmlist_lock, LOCK_RANK_LEAF);
	INIT_LIST_HEAD(&ksm.mm_head);
	ksm.stable_tree = RB_ROOT;
	ksm.unstable_tree = RB_ROOT;
	ksm.scan_slot = NULL;
	ksm.seqnr = 0;
	atomic_store(&ksm.run, KSM_RUN_STOP);
	atomic_store(&ksm.pages_to_scan, 100);	/* Linux's defaults */
	atomic_store(&ksm.sleep_ms, 20);
	ksm.pages_shared = ksm.pages_sharing = ksm.pages_unshared = 0;
	ksm.pages_scanned = ksm.full_scans = ksm.stable_nodes = ksm.rmap_items = 0;
	ksm.mm_slots = 0;
	ksm.thread_running = false;
	atomic_store(&ksm.stop, false);
}

void ksm_shutdown(void)
{
	if (ksm.thread_running) {
		atomic_store(&ksm.stop, true);
		ksm_wake();
		pthread_join(ksm.thread, NULL);
		ksm.thread_running = false;
	}
	mutex_lock(&ksm.thread_mutex);
	/* every mm has exited (its slot went with it); only stale nodes can be left */
	WARN_ON_ONCE(next_slot(NULL));
	prune_stale_stable_nodes();
	WARN_ON_ONCE(ksm.stable_tree.rb_node);
	mutex_unlock(&ksm.thread_mutex);
	mutex_destroy(&ksm.thread_mutex);
}
