// SPDX-License-Identifier: MIT
/*
 * Reverse mapping: anon_vmas and their chains, mapcounts, the anon-exclusive
 * rules of fork and unmap, and the walk from a folio to its mappings
 * (Linux: mm/rmap.c, mm/page_vma_mapped.c). See include/pinmm/rmap.h.
 *
 * Lock order: anon_vma root rwsem (40) before page-table locks (50, 55).
 */
#include <pinmm/huge_mm.h>
#include <pinmm/ksm.h>
#include <pinmm/memory.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/memremap.h>
#include <pinmm/rmap.h>
#include <pinmm/vmstat.h>
#include <pinmm/slab.h>

#include <errno.h>
#include <stdlib.h>

/* ---- anon_vma life cycle ------------------------------------------------------ */

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *av = kzalloc(sizeof(*av), GFP_KERNEL);

	if (!av)
		return NULL;
	av->root = av;
	av->parent = av;
	atomic_init(&av->refcount, 1);
	init_rwsem(&av->rwsem, LOCK_RANK_ANON_VMA);
	INIT_LIST_HEAD(&av->head);
	return av;
}

static void anon_vma_free_rcu(struct rcu_head *head)
{
	struct anon_vma *av = container_of(head, struct anon_vma, rcu);

	destroy_rwsem(&av->rwsem);
	kfree(av);
}

void put_anon_vma(struct anon_vma *av)
{
	while (av && atomic_fetch_sub_explicit(&av->refcount, 1, memory_order_acq_rel) == 1) {
		struct anon_vma *root = av->root;

		VM_BUG_ON(!list_empty(&av->head));
		/* lockless lookups (folio_get_anon_vma) may still read it */
		call_rcu(&av->rcu, anon_vma_free_rcu);
		/* a child kept its root (and the root's rwsem) alive */
		av = root != av ? root : NULL;
	}
}

static bool anon_vma_get_unless_zero(struct anon_vma *av)
{
	int old = atomic_load_explicit(&av->refcount, memory_order_relaxed);

	do {
		if (old <= 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&av->refcount, &old, old + 1,
							memory_order_acquire,
							memory_order_relaxed));
	return true;
}

struct anon_vma *folio_get_anon_vma(struct folio *folio)
{
	struct anon_vma *av;

	rcu_read_lock();
	av = folio_anon_vma(folio);
	/* unmapped: the anon_vma may be gone already (nothing pins it) */
	if (!av || !folio_mapped(folio) || !anon_vma_get_unless_zero(av)) {
		rcu_read_unlock();
		return NULL;
	}
	/* raced with the last unmap: the anon_vma may be on its way out */
	if (!folio_mapped(folio)) {
		rcu_read_unlock();
		put_anon_vma(av);
		return NULL;
	}
	rcu_read_unlock();
	return av;
}

static void anon_vma_chain_link(struct vm_area_struct *vma, struct anon_vma_chain *avc,
				struct anon_vma *av)
{
	lockdep_assert_held_write(&av->root->rwsem);
	avc->vma = vma;
	avc->anon_vma = av;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	list_add_tail(&avc->same_anon_vma, &av->head);
}

int anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct anon_vma_chain *avc;
	struct anon_vma *av;

	if (likely(vma_anon_vma(vma)))
		return 0;
	avc = kmalloc(sizeof(*avc), GFP_KERNEL);
	av = anon_vma_alloc();
	if (!avc || !av) {
		kfree(avc);
		if (av) {
			destroy_rwsem(&av->rwsem);
			kfree(av);
		}
		return -ENOMEM;
	}
	down_write(&av->rwsem);
	spin_lock(&mm->page_table_lock);
	/* racing faults under mmap_lock (read): the first one wins */
	if (!vma->anon_vma) {
		anon_vma_chain_link(vma, avc, av);
		__atomic_store_n(&vma->anon_vma, av, __ATOMIC_RELEASE);
		avc = NULL;
		av = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (av) {
		up_write(&av->rwsem);
		destroy_rwsem(&av->rwsem);
		kfree(av);
		kfree(avc);
	} else {
		up_write(&vma_anon_vma(vma)->rwsem);
	}
	return 0;
}

int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *pavc;
	struct anon_vma *root;

	if (!src->anon_vma || list_empty(&src->anon_vma_chain))
		return 0;
	root = src->anon_vma->root;
	down_write(&root->rwsem);
	list_for_each_entry(pavc, &src->anon_vma_chain, same_vma) {
		struct anon_vma_chain *avc = kmalloc(sizeof(*avc), GFP_KERNEL);

		if (!avc) {
			up_write(&root->rwsem);
			dst->anon_vma = NULL;
			unlink_anon_vmas(dst);
			return -ENOMEM;
		}
		VM_BUG_ON(pavc->anon_vma->root != root);
		anon_vma_chain_link(dst, avc, pavc->anon_vma);
	}
	up_write(&root->rwsem);
	if (!dst->anon_vma)
		dst->anon_vma = src->anon_vma;
	return 0;
}

int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *av, *root;
	int err;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	err = anon_vma_clone(vma, pvma);
	if (err)
		return err;
	av = anon_vma_alloc();
	avc = kmalloc(sizeof(*avc), GFP_KERNEL);
	if (!av || !avc) {
		kfree(avc);
		if (av) {
			destroy_rwsem(&av->rwsem);
			kfree(av);
		}
		unlink_anon_vmas(vma);
		return -ENOMEM;
	}
	/* the child's own anon_vma: its COW copies point here, not at the parent's */
	root = pvma->anon_vma->root;
	av->root = root;
	av->parent = pvma->anon_vma;
	atomic_fetch_add_explicit(&root->refcount, 1, memory_order_relaxed);
	down_write(&root->rwsem);
	anon_vma_chain_link(vma, avc, av);
	up_write(&root->rwsem);
	__atomic_store_n(&vma->anon_vma, av, __ATOMIC_RELEASE);
	return 0;
}

void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;
	struct anon_vma *root = NULL;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *av = avc->anon_vma;

		if (av->root != root) {
			if (root)
				up_write(&root->rwsem);
			root = av->root;
			down_write(&root->rwsem);
		}
		list_del(&avc->same_anon_vma);
		/* an anon_vma left without VMAs is dropped below, unlocked */
		if (list_empty(&av->head))
			continue;
		list_del(&avc->same_vma);
		kfree(avc);
	}
	if (root)
		up_write(&root->rwsem);
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		put_anon_vma(avc->anon_vma);
		list_del(&avc->same_vma);
		kfree(avc);
	}
	__atomic_store_n(&vma->anon_vma, NULL, __ATOMIC_RELEASE);
}

/* ---- mapcounts ----------------------------------------------------------------- */

static inline int mapcount_inc(atomic_int *c)
{
	return atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline int mapcount_dec(atomic_int *c)
{
	return atomic_fetch_sub_explicit(c, 1, memory_order_relaxed);
}

static enum node_stat_item folio_mapped_item(const struct folio *folio)
{
	return folio_test_anon(folio) ? NR_ANON_MAPPED : NR_FILE_MAPPED;
}

/* ---- which mms map a large anon folio (Linux's CONFIG_MM_ID) ------------------- */

static unsigned long folio_mm_ids_lock(struct folio *folio)
{
	unsigned long old;

	for (;;) {
		old = atomic_fetch_or_explicit(&folio->_mm_ids, FOLIO_MM_IDS_LOCK,
					       memory_order_acquire);
		if (!(old & FOLIO_MM_IDS_LOCK))
			return old;
		while (atomic_load_explicit(&folio->_mm_ids, memory_order_relaxed) &
		       FOLIO_MM_IDS_LOCK)
			cpu_relax();
	}
}

static void folio_mm_ids_unlock(struct folio *folio, unsigned long ids)
{
	atomic_store_explicit(&folio->_mm_ids, ids & ~FOLIO_MM_IDS_LOCK, memory_order_release);
}

static unsigned int mm_id_slot(unsigned long ids, int slot)
{
	return (unsigned int)((ids >> (slot * FOLIO_MM_ID_BITS)) & FOLIO_MM_ID_MASK);
}

static unsigned long mm_id_set_slot(unsigned long ids, int slot, unsigned int id)
{
	ids &= ~(FOLIO_MM_ID_MASK << (slot * FOLIO_MM_ID_BITS));
	return ids | ((unsigned long)id << (slot * FOLIO_MM_ID_BITS));
}

/*
 * @diff more (or, negative, fewer) mappings of @folio by @mm, and the same
 * change to _large_mapcount, under the ids' lock: an mm keeps a slot while
 * it maps the folio; a third mm, or two at once, makes it "maybe shared",
 * and only when every mapping is back in one slot is it exclusive again.
 * Return: the old _large_mapcount.
 */
static int folio_mm_mod(struct folio *folio, struct mm_struct *mm, int diff)
{
	unsigned long ids = folio_mm_ids_lock(folio);
	int slot = -1, old, total;

	for (int s = 0; s < 2; s++)
		if (mm_id_slot(ids, s) == mm->mm_id && folio->_mm_id_mapcount[s])
			slot = s;
	if (slot < 0 && diff > 0) {
		for (int s = 1; s >= 0; s--)
			if (!folio->_mm_id_mapcount[s])
				slot = s;
		if (slot >= 0)
			ids = mm_id_set_slot(ids, slot, mm->mm_id);
		else
			ids |= FOLIO_MM_IDS_SHARED;	/* a third mm: counted nowhere */
	}
	if (slot >= 0)
		folio->_mm_id_mapcount[slot] += diff;
	old = atomic_fetch_add_explicit(&folio->_large_mapcount, diff, memory_order_relaxed);
	total = old + 1 + diff;
	if (folio->_mm_id_mapcount[0] && folio->_mm_id_mapcount[1])
		ids |= FOLIO_MM_IDS_SHARED;
	else if (total == folio->_mm_id_mapcount[0] || total == folio->_mm_id_mapcount[1])
		ids &= ~FOLIO_MM_IDS_SHARED;
	folio_mm_ids_unlock(folio, ids);
	return old;
}

/* _large_mapcount += @diff, with the mm bookkeeping for anon folios. */
static void folio_large_mapcount_mod(struct folio *folio, struct mm_struct *mm, int diff)
{
	if (folio_test_anon(folio) && mm)
		folio_mm_mod(folio, mm, diff);
	else
		atomic_fetch_add_explicit(&folio->_large_mapcount, diff, memory_order_relaxed);
}

bool folio_maybe_mapped_shared(struct folio *folio)
{
	if (!folio_test_large(folio))
		return atomic_load_explicit(&folio->_mapcount, memory_order_relaxed) > 0;
	return atomic_load_explicit(&folio->_mm_ids, memory_order_relaxed) & FOLIO_MM_IDS_SHARED;
}

bool folio_large_mapped_only_by(struct folio *folio, struct mm_struct *mm, int refs)
{
	unsigned long ids;
	bool only = false;

	if (atomic_load_explicit(&folio->_mm_ids, memory_order_relaxed) & FOLIO_MM_IDS_SHARED)
		return false;
	ids = folio_mm_ids_lock(folio);
	if (!(ids & FOLIO_MM_IDS_SHARED)) {
		int total = atomic_load_explicit(&folio->_large_mapcount, memory_order_relaxed) + 1;

		for (int s = 0; s < 2; s++)
			if (mm_id_slot(ids, s) == mm->mm_id && folio->_mm_id_mapcount[s] == total)
				only = total == refs;
	}
	folio_mm_ids_unlock(folio, ids);
	return only;
}

/* One more PTE mapping of @nr pages; return how many became mapped at all. */
static int __folio_add_rmap_ptes(struct folio *folio, struct page *page, int nr,
				 struct mm_struct *mm)
{
	int first = 0;

	if (!folio_test_large(folio)) {
		VM_BUG_ON(nr != 1);
		return mapcount_inc(&page->_mapcount) == -1;
	}
	for (int i = 0; i < nr; i++) {
		if (mapcount_inc(&page[i]._mapcount) == -1 &&
		    atomic_fetch_add_explicit(&folio->_nr_pages_mapped, 1,
					      memory_order_relaxed) + 1 < ENTIRELY_MAPPED)
			first++;
	}
	folio_large_mapcount_mod(folio, mm, nr);
	return first;
}

/* One more PMD mapping; return pages that became mapped, and *@pmd_first. */
static int __folio_add_rmap_pmd(struct folio *folio, bool *pmd_first, struct mm_struct *mm)
{
	int nr = 0;

	*pmd_first = false;
	if (mapcount_inc(&folio->_entire_mapcount) == -1) {
		int mapped = atomic_fetch_add_explicit(&folio->_nr_pages_mapped, ENTIRELY_MAPPED,
						       memory_order_relaxed) + ENTIRELY_MAPPED;

		*pmd_first = true;
		if (mapped < 2 * ENTIRELY_MAPPED)
			nr = (int)folio_nr_pages(folio) - (mapped & FOLIO_PAGES_MAPPED);
	}
	folio_large_mapcount_mod(folio, mm, 1);
	return nr;
}

void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long address, int flags)
{
	struct anon_vma *av = vma_anon_vma(vma);
	bool exclusive = flags & RMAP_EXCLUSIVE;
	long nr = (long)folio_nr_pages(folio);

	VM_BUG_ON(!av);
	VM_BUG_ON_FOLIO(folio_test_anon(folio), folio);
	VM_BUG_ON(address < vma->vm_start || address + folio_size(folio) > vma->vm_end);
	/*
	 * Not exclusive (a swap-in of a slot that fork shared): other processes
	 * of the hierarchy may map it later, and this VMA's own anon_vma may
	 * die first; the root outlives them all (Linux's __folio_set_anon()).
	 */
	if (!exclusive)
		av = av->root;
	/*
	 * Only if not yet (Linux's test): a folio read in for a swap fault is
	 * in the swap cache, where another fault may be setting PG_waiters on
	 * it, which a non-atomic update of the flags would lose.
	 */
	if (!folio_test_swapbacked(folio))
		__folio_set_swapbacked(folio);
	folio->index = linear_page_index(vma, address);
	atomic_store_explicit(&folio->mapping,
			      (struct address_space *)((unsigned long)av | PAGE_MAPPING_ANON),
			      memory_order_release);
	if (!folio_test_large(folio)) {
		atomic_store_explicit(&folio->_mapcount, 0, memory_order_relaxed);
		if (exclusive)
			SetPageAnonExclusive(&folio->page);
	} else if (folio_order(folio) == HPAGE_PMD_ORDER) {
		atomic_store_explicit(&folio->_entire_mapcount, 0, memory_order_relaxed);
		atomic_store_explicit(&folio->_large_mapcount, 0, memory_order_relaxed);
		atomic_store_explicit(&folio->_nr_pages_mapped, ENTIRELY_MAPPED,
				      memory_order_relaxed);
		/* a PMD mapping keeps exclusivity on the head page only */
		if (exclusive)
			SetPageAnonExclusive(&folio->page);
		mod_node_page_state(NR_ANON_THPS, 1);
	} else {
		for (long i = 0; i < nr; i++) {
			struct page *p = folio_page(folio, i);

			atomic_store_explicit(&p->_mapcount, 0, memory_order_relaxed);
			if (exclusive)
				SetPageAnonExclusive(p);
		}
		atomic_store_explicit(&folio->_large_mapcount, (int)nr - 1, memory_order_relaxed);
		atomic_store_explicit(&folio->_nr_pages_mapped, (int)nr, memory_order_relaxed);
	}
	if (folio_test_large(folio)) {
		/* one mm maps it: slot 0, every mapping counted there */
		folio->_mm_id_mapcount[0] =
			atomic_load_explicit(&folio->_large_mapcount, memory_order_relaxed) + 1;
		folio->_mm_id_mapcount[1] = 0;
		atomic_store_explicit(&folio->_mm_ids, vma->vm_mm->mm_id, memory_order_relaxed);
	}
	mod_node_page_state(NR_ANON_MAPPED, nr);
}

void folio_add_anon_rmap_ptes(struct folio *folio, struct page *page, int nr,
			      struct vm_area_struct *vma, unsigned long address, int flags)
{
	int first;

	(void)address;
	VM_BUG_ON_FOLIO(!folio_test_anon(folio), folio);
	first = __folio_add_rmap_ptes(folio, page, nr, vma->vm_mm);
	if (flags & RMAP_EXCLUSIVE)
		for (int i = 0; i < nr; i++)
			SetPageAnonExclusive(page + i);
	if (first)
		mod_node_page_state(NR_ANON_MAPPED, first);
}

void folio_add_anon_rmap_pmd(struct folio *folio, struct page *page,
			     struct vm_area_struct *vma, unsigned long address, int flags)
{
	bool pmd_first;
	int nr;

	(void)address;
	VM_BUG_ON_FOLIO(!folio_test_anon(folio) || folio_order(folio) != HPAGE_PMD_ORDER, folio);
	nr = __folio_add_rmap_pmd(folio, &pmd_first, vma->vm_mm);
	if (flags & RMAP_EXCLUSIVE)
		SetPageAnonExclusive(page);
	if (nr)
		mod_node_page_state(NR_ANON_MAPPED, nr);
	if (pmd_first)
		mod_node_page_state(NR_ANON_THPS, 1);
}

void folio_add_file_rmap_ptes(struct folio *folio, struct page *page, int nr,
			      struct vm_area_struct *vma)
{
	int first;

	(void)vma;
	first = __folio_add_rmap_ptes(folio, page, nr, NULL);
	if (first)
		mod_node_page_state(NR_FILE_MAPPED, first);
}

void folio_add_file_rmap_pmd(struct folio *folio, struct page *page,
			     struct vm_area_struct *vma)
{
	bool pmd_first;
	int nr;

	(void)page;
	(void)vma;
	nr = __folio_add_rmap_pmd(folio, &pmd_first, NULL);
	if (nr)
		mod_node_page_state(NR_FILE_MAPPED, nr);
	if (pmd_first && folio_test_swapbacked(folio))
		mod_node_page_state(NR_SHMEM_PMDMAPPED, 1);
}

void folio_remove_rmap_ptes(struct folio *folio, struct page *page, int nr,
			    struct vm_area_struct *vma)
{
	int last = 0;

	if (!folio_test_large(folio)) {
		VM_BUG_ON(nr != 1);
		last = mapcount_dec(&page->_mapcount) == 0;
	} else {
		for (int i = 0; i < nr; i++) {
			if (mapcount_dec(&page[i]._mapcount) == 0 &&
			    atomic_fetch_sub_explicit(&folio->_nr_pages_mapped, 1,
						      memory_order_relaxed) - 1 < ENTIRELY_MAPPED)
				last++;
		}
		folio_large_mapcount_mod(folio, vma ? vma->vm_mm : NULL, -nr);
		/*
		 * Some pages lost their last mapping, others keep theirs: the
		 * unmapped ones are freed when the folio is split, later.
		 */
		if (last && folio_test_anon(folio) &&
		    (atomic_load_explicit(&folio->_nr_pages_mapped, memory_order_relaxed) &
		     FOLIO_PAGES_MAPPED))
			deferred_split_folio(folio, true);
	}
	VM_BUG_ON_PAGE(atomic_load_explicit(&page->_mapcount, memory_order_relaxed) < -1, page);
	if (last)
		mod_node_page_state(folio_mapped_item(folio), -last);
}

void folio_remove_rmap_pmd(struct folio *folio, struct page *page,
			   struct vm_area_struct *vma)
{
	int nr = 0;

	(void)page;
	if (mapcount_dec(&folio->_entire_mapcount) == 0) {
		int mapped = atomic_fetch_sub_explicit(&folio->_nr_pages_mapped, ENTIRELY_MAPPED,
						       memory_order_relaxed) - ENTIRELY_MAPPED;

		if (mapped < ENTIRELY_MAPPED) {
			nr = (int)folio_nr_pages(folio) - (mapped & FOLIO_PAGES_MAPPED);
			if (folio_test_anon(folio))
				mod_node_page_state(NR_ANON_THPS, -1);
		}
		/* the last PMD mapping of a shmem THP went */
		if (!folio_test_anon(folio) && folio_test_swapbacked(folio))
			mod_node_page_state(NR_SHMEM_PMDMAPPED, -1);
	}
	folio_large_mapcount_mod(folio, vma ? vma->vm_mm : NULL, -1);
	/* the PMD went, some pages stay mapped by PTEs: queue it, as above */
	if (nr && nr < (int)folio_nr_pages(folio) && folio_test_anon(folio))
		deferred_split_folio(folio, true);
	if (nr)
		mod_node_page_state(folio_mapped_item(folio), -nr);
}

/* fork's extra mappings, by @mm (the child's; NULL for file folios) */
static void __folio_dup_rmap_ptes(struct folio *folio, struct page *page, int nr,
				  struct mm_struct *mm)
{
	for (int i = 0; i < nr; i++)
		mapcount_inc(&page[i]._mapcount);
	if (folio_test_large(folio))
		folio_large_mapcount_mod(folio, mm, nr);
}

static void __folio_dup_rmap_pmd(struct folio *folio, struct mm_struct *mm)
{
	mapcount_inc(&folio->_entire_mapcount);
	folio_large_mapcount_mod(folio, mm, 1);
}

void folio_dup_file_rmap_ptes(struct folio *folio, struct page *page, int nr)
{
	__folio_dup_rmap_ptes(folio, page, nr, NULL);
}

void folio_dup_file_rmap_pmd(struct folio *folio, struct page *page)
{
	(void)page;
	__folio_dup_rmap_pmd(folio, NULL);
}

int folio_try_dup_anon_rmap_ptes(struct folio *folio, struct page *page, int nr,
				 struct vm_area_struct *dst, struct vm_area_struct *src)
{
	bool maybe_pinned;

	if (!folio_test_anon(folio)) {
		folio_dup_file_rmap_ptes(folio, page, nr);
		return 0;
	}
	/*
	 * A page the parent may have pinned stays the parent's, writable: the
	 * child gets a copy now, else the parent's next write would COW away
	 * from the page the device uses. GUP cannot return a device-private
	 * page: a small one's refcount false positive must not refuse it.
	 */
	maybe_pinned = !folio_is_device_private(folio) && folio_needs_cow_for_dma(src, folio);
	if (maybe_pinned)
		for (int i = 0; i < nr; i++)
			if (PageAnonExclusive(page + i))
				return -EBUSY;
	for (int i = 0; i < nr; i++)
		if (PageAnonExclusive(page + i))
			ClearPageAnonExclusive(page + i);
	__folio_dup_rmap_ptes(folio, page, nr, dst->vm_mm);
	return 0;
}

int folio_try_dup_anon_rmap_pmd(struct folio *folio, struct page *page,
				struct vm_area_struct *dst, struct vm_area_struct *src)
{
	if (!folio_test_anon(folio)) {
		folio_dup_file_rmap_pmd(folio, page);
		return 0;
	}
	if (PageAnonExclusive(page)) {
		if (folio_needs_cow_for_dma(src, folio))
			return -EBUSY;
		ClearPageAnonExclusive(page);
	}
	__folio_dup_rmap_pmd(folio, dst->vm_mm);
	return 0;
}

static int __folio_try_share_anon_rmap(struct folio *folio, struct page *page)
{
	VM_BUG_ON_FOLIO(!folio_test_anon(folio), folio);
	VM_BUG_ON_PAGE(!PageAnonExclusive(page), page);
	/* GUP cannot return a device-private page: nothing to ask (Linux likewise) */
	if (unlikely(folio_is_device_private(folio))) {
		ClearPageAnonExclusive(page);
		return 0;
	}
	/*
	 * The caller cleared the entry. GUP-fast pins first and re-reads the
	 * entry after: with full barriers on both sides, it sees the cleared
	 * entry and backs off, or we see its pin here.
	 */
	pinmm_smp_mb();
	if (unlikely(folio_maybe_dma_pinned(folio)))
		return -EBUSY;
	ClearPageAnonExclusive(page);
	/* pairs with the read barrier of gup_must_unshare() */
	pinmm_smp_mb();
	return 0;
}

int folio_try_share_anon_rmap_pte(struct folio *folio, struct page *page)
{
	return __folio_try_share_anon_rmap(folio, page);
}

int folio_try_share_anon_rmap_pmd(struct folio *folio, struct page *page)
{
	return __folio_try_share_anon_rmap(folio, page);
}

void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma)
{
	struct anon_vma *av = vma_anon_vma(vma);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON(!av);
	atomic_store_explicit(&folio->mapping,
			      (struct address_space *)((unsigned long)av | PAGE_MAPPING_ANON),
			      memory_order_release);
}

int folio_mapcount(const struct folio *folio)
{
	if (!folio_test_large(folio))
		return atomic_load_explicit(&((struct folio *)folio)->_mapcount,
					    memory_order_relaxed) + 1;
	return atomic_load_explicit(&((struct folio *)folio)->_large_mapcount,
				    memory_order_relaxed) + 1;
}

bool folio_mapped(const struct folio *folio)
{
	return folio_mapcount(folio) > 0;
}

/* ---- the walk ------------------------------------------------------------------- */

unsigned long vma_address(struct vm_area_struct *vma, pgoff_t pgoff, unsigned long nr_pages)
{
	long diff = (long)(pgoff - vma->vm_pgoff);
	unsigned long address;

	if (diff >= 0) {
		address = vma->vm_start + ((unsigned long)diff << PAGE_SHIFT);
		if (address < vma->vm_start || address >= vma->vm_end)
			return -EFAULT;
		return address;
	}
	/* a large folio may start before the VMA */
	if (diff + (long)nr_pages > 0)
		return vma->vm_start;
	return -EFAULT;
}

/*
 * The file rmap: every VMA on the mapping's i_mmap list whose range covers
 * the folio's index. The folio lock keeps ->mapping stable (truncation
 * takes it); i_mmap_rwsem keeps the list and the VMAs' bounds stable.
 */
static void rmap_walk_file(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct address_space *mapping = folio_mapping(folio);
	pgoff_t pgoff = folio->index;
	unsigned long nr = folio_nr_pages(folio);
	struct vm_area_struct *vma;

	if (!mapping)
		return;
	i_mmap_lock_read(mapping);
	list_for_each_entry(vma, &mapping->i_mmap, shared) {
		unsigned long address = vma_address(vma, pgoff, nr);

		if (IS_ERR_VALUE(address))
			continue;
		if (rwc->invalid_vma && rwc->invalid_vma(vma, rwc->arg))
			continue;
		if (!rwc->rmap_one(folio, vma, address, rwc->arg))
			break;
	}
	i_mmap_unlock_read(mapping);
}

void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc)
{
	struct anon_vma *av = rwc->anon_vma, *root;
	struct anon_vma_chain *avc;
	pgoff_t pgoff = folio->index;
	unsigned long nr = folio_nr_pages(folio);
	bool own_ref = false;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (!folio_test_anon(folio)) {
		rmap_walk_file(folio, rwc);
		return;
	}
	if (folio_test_ksm(folio)) {
		rmap_walk_ksm(folio, rwc);	/* src/mm/ksm.c: by the stable node */
		return;
	}
	if (!av) {
		av = folio_get_anon_vma(folio);
		if (!av)
			return;
		own_ref = true;
	}
	root = av->root;
	if (rwc->try_lock) {
		if (!down_read_trylock(&root->rwsem)) {
			rwc->contended = true;
			if (own_ref)
				put_anon_vma(av);
			return;
		}
	} else {
		down_read(&root->rwsem);
	}
	list_for_each_entry(avc, &av->head, same_anon_vma) {
		struct vm_area_struct *vma = avc->vma;
		unsigned long address = vma_address(vma, pgoff, nr);

		if (IS_ERR_VALUE(address))
			continue;
		if (rwc->invalid_vma && rwc->invalid_vma(vma, rwc->arg))
			continue;
		if (!rwc->rmap_one(folio, vma, address, rwc->arg))
			break;
	}
	up_read(&root->rwsem);
	if (own_ref)
		put_anon_vma(av);
}

static bool pfn_in_folio(const struct folio *folio, unsigned long pfn)
{
	unsigned long start = folio_pfn(folio);

	return pfn >= start && pfn < start + folio_nr_pages(folio);
}

static bool pte_maps_folio(const struct folio *folio, pte_t pte)
{
	if (pte_present(pte))
		return !pte_special(pte) && pfn_in_folio(folio, pte_pfn(pte));
	if (is_swap_pte(pte)) {
		swp_entry_t e = pte_to_swp_entry(pte);

		/* device-private entries map their page as a PTE would */
		return (is_migration_entry(e) || is_device_private_entry(e) ||
			is_device_exclusive_entry(e)) &&
		       pfn_in_folio(folio, swp_offset(e));
	}
	return false;
}

static void pvmw_unlock(struct page_vma_mapped_walk *pvmw)
{
	if (pvmw->pte)
		pte_unmap_unlock(pvmw->pte, pvmw->ptl);
	else if (pvmw->ptl)
		spin_unlock(pvmw->ptl);
	pvmw->pte = NULL;
	pvmw->pmd = NULL;
	pvmw->ptl = NULL;
}

void page_vma_mapped_walk_done(struct page_vma_mapped_walk *pvmw)
{
	pvmw_unlock(pvmw);
	if (pvmw->started)
		rcu_read_unlock();
	pvmw->started = false;
}

bool page_vma_mapped_walk(struct page_vma_mapped_walk *pvmw)
{
	struct vm_area_struct *vma = pvmw->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio = pvmw->folio;
	unsigned long address;

	if (!pvmw->started) {
		/*
		 * Unsigned on purpose: a VMA may start inside the folio (an
		 * mprotect split a THP), and then the folio starts below
		 * vm_start; the wrap-around gives that address (vma_address()).
		 */
		unsigned long fstart = vma->vm_start +
			((folio->index - vma->vm_pgoff) << PAGE_SHIFT);

		pvmw->started = true;
		pvmw->end = min(fstart + folio_size(folio), vma->vm_end);
		pvmw->address = max(pvmw->address, vma->vm_start);
		/* one page: ->index means nothing for a KSM folio (Linux's vma_address_end) */
		if (!folio_test_large(folio))
			pvmw->end = pvmw->address + PAGE_SIZE;
		pvmw->pte = NULL;
		pvmw->pmd = NULL;
		pvmw->ptl = NULL;
		/* upper tables stay valid while we look (they are RCU-freed) */
		rcu_read_lock();
		address = pvmw->address;
	} else if (pvmw->pte) {
		address = pvmw->address + PAGE_SIZE;
		if (address >= pvmw->end || !(address & ~PMD_MASK)) {
			pvmw_unlock(pvmw);
		} else {
			pvmw->pte++;
			goto check_pte;
		}
	} else {
		/* a PMD hit covers the whole folio in this VMA */
		page_vma_mapped_walk_done(pvmw);
		return false;
	}

	while (address < pvmw->end) {
		pmd_t *pmd = mm_find_pmd(mm, address);
		pmd_t pmdval;

		if (!pmd) {
			address = pmd_addr_end(address, pvmw->end);
			continue;
		}
		pmdval = pmdp_get_lockless(pmd);
		if (pmd_leaf(pmdval) || is_swap_pmd(pmdval)) {
			spinlock_t *ptl = pmd_lock(mm, pmd);

			pmdval = pmdp_get(pmd);
			if (pmd_leaf(pmdval) || is_swap_pmd(pmdval)) {
				unsigned long pfn = pmd_leaf(pmdval) ? pmd_pfn(pmdval) :
					swp_offset(pmd_to_swp_entry(pmdval));

				if (pfn_in_folio(folio, pfn)) {
					pvmw->pmd = pmd;
					pvmw->ptl = ptl;
					pvmw->address = address & PMD_MASK;
					return true;
				}
				spin_unlock(ptl);
				address = pmd_addr_end(address, pvmw->end);
				continue;
			}
			spin_unlock(ptl);
		}
		if (!pmd_is_table(pmdval)) {
			address = pmd_addr_end(address, pvmw->end);
			continue;
		}
		pvmw->pte = pte_offset_map_lock(mm, pmd, address, &pvmw->ptl);
		if (!pvmw->pte)
			continue;	/* the PMD changed under us: look again */
		pvmw->pmd = pmd;
check_pte:
		for (;;) {
			if (pte_maps_folio(folio, ptep_get(pvmw->pte))) {
				pvmw->address = address;
				return true;
			}
			address += PAGE_SIZE;
			if (address >= pvmw->end || !(address & ~PMD_MASK))
				break;
			pvmw->pte++;
		}
		pvmw_unlock(pvmw);
	}
	page_vma_mapped_walk_done(pvmw);
	return false;
}

/* ---- folio_mkclean: write-protect every mapping of a file folio ---------------- */

static bool page_mkclean_one(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long address, void *arg)
{
	struct page_vma_mapped_walk pvmw = PVMW_INIT(folio, vma, address);
	struct mmu_notifier_range range;
	int *cleaned = arg;

	/* secondary MMUs (ODP devices) must drop write access too */
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, vma->vm_mm, address,
				min(address + folio_size(folio), vma->vm_end));
	mmu_notifier_invalidate_range_start(&range);
	while (page_vma_mapped_walk(&pvmw)) {
		if (pvmw.pte) {
			pte_t entry = ptep_get(pvmw.pte);

			if (!pte_present(entry) || (!pte_dirty(entry) && !pte_write(entry)))
				continue;
			/*
			 * Clear, then set the clean read-only entry: a lockless
			 * walker (GUP-fast) sees the old entry, none, or the new
			 * one, and re-checks after grabbing.
			 */
			entry = ptep_get_and_clear(pvmw.pte);
			set_pte(pvmw.pte, pte_wrprotect(pte_mkclean(entry)));
			(*cleaned)++;
		} else {
			pmd_t entry = pmdp_get(pvmw.pmd);

			if (!pmd_leaf(entry) || (!pmd_dirty(entry) && !pmd_write(entry)))
				continue;
			entry = pmdp_get_and_clear(pvmw.pmd);
			set_pmd(pvmw.pmd, pmd_wrprotect(pmd_mkclean(entry)));
			(*cleaned)++;
		}
	}
	mmu_notifier_invalidate_range_end(&range);
	return true;
}

/* Private mappings are never writable to the page cache: nothing to clean there. */
static bool invalid_mkclean_vma(struct vm_area_struct *vma, void *arg)
{
	(void)arg;
	return !(vma->vm_flags & VM_SHARED);
}

int folio_mkclean(struct folio *folio)
{
	struct rmap_walk_control rwc = {
		.rmap_one = page_mkclean_one,
		.invalid_vma = invalid_mkclean_vma,
	};
	int cleaned = 0;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (!folio_mapped(folio) || !folio_mapping(folio))
		return 0;
	rwc.arg = &cleaned;
	rmap_walk(folio, &rwc);
	return cleaned;
}
