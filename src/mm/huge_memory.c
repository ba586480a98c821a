// SPDX-License-Identifier: MIT
/*
 * Transparent huge pages: PMD-mapped anon THPs, their faults, COW, fork,
 * zap, mprotect, PMD split and folio split (Linux: mm/huge_memory.c).
 * See include/pinmm/huge_mm.h for the policy.
 */
#include <pinmm/race.h>
#include <pinmm/huge_mm.h>
#include <pinmm/hugetlb.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <pinmm/vmstat.h>

#include "migrate/internal.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>

static _Atomic int thp_mode = THP_MODE_MADVISE;

enum transparent_hugepage_mode pinmm_thp_set_mode(enum transparent_hugepage_mode mode)
{
	return (enum transparent_hugepage_mode)atomic_exchange(&thp_mode, (int)mode);
}

enum transparent_hugepage_mode pinmm_thp_get_mode(void)
{
	return (enum transparent_hugepage_mode)atomic_load_explicit(&thp_mode,
								    memory_order_relaxed);
}

/* ---- the huge zero folio ------------------------------------------------------ */

struct folio *_Atomic pinmm_huge_zero_folio;
_Atomic unsigned long pinmm_huge_zero_pfn = ~0UL;
static atomic_long huge_zero_users;	/* mms holding MMF_HUGE_ZERO_FOLIO */
static _Atomic bool thp_use_zero_page = true;

bool pinmm_thp_set_use_zero_page(bool on)
{
	return atomic_exchange(&thp_use_zero_page, on);
}

/* A use of the huge zero folio, allocating it if there is none (Linux's get_huge_zero_folio()). */
static struct folio *get_huge_zero_folio(void)
{
	struct folio *folio, *none;

	for (;;) {
		long users = atomic_load(&huge_zero_users);

		/* a user exists: the folio is published and stays while we count */
		while (users > 0)
			if (atomic_compare_exchange_weak(&huge_zero_users, &users, users + 1))
				return atomic_load(&pinmm_huge_zero_folio);
		/* not movable: CMA, offlining and compaction never have to move it */
		folio = folio_alloc((GFP_TRANSHUGE & ~__GFP_MOVABLE) | __GFP_ZERO, HPAGE_PMD_ORDER);
		if (!folio) {
			count_vm_event(THP_FAULT_FALLBACK);
			return NULL;
		}
		none = NULL;
		if (atomic_compare_exchange_strong(&pinmm_huge_zero_folio, &none, folio)) {
			/* a write to it is a bug: make it fault on the host, as the small one */
			mprotect(folio_address(folio), PMD_SIZE, PROT_READ);
			atomic_store(&pinmm_huge_zero_pfn, folio_pfn(folio));
			atomic_store(&huge_zero_users, 1);
			count_vm_event(THP_ZERO_PAGE_ALLOC);
			return folio;
		}
		/* another thread published one, or the last user is still freeing it */
		folio_put(folio);
		sched_yield();
	}
}

static void put_huge_zero_folio(void)
{
	struct folio *folio;

	if (atomic_fetch_sub(&huge_zero_users, 1) != 1)
		return;
	/*
	 * The last use: unpublish, then let the folio go. Linux keeps it for
	 * its shrinker; freeing at once keeps a machine's frames countable.
	 * A pin of it still holds a reference: the free waits for the unpin.
	 */
	folio = atomic_load(&pinmm_huge_zero_folio);
	atomic_store(&pinmm_huge_zero_pfn, ~0UL);
	mprotect(folio_address(folio), PMD_SIZE, PROT_READ | PROT_WRITE);
	atomic_store(&pinmm_huge_zero_folio, NULL);
	folio_put(folio);
}

struct folio *mm_get_huge_zero_folio(struct mm_struct *mm)
{
	struct folio *folio;

	if (mm_flags_test(MMF_HUGE_ZERO_FOLIO, mm))
		return atomic_load(&pinmm_huge_zero_folio);
	folio = get_huge_zero_folio();
	if (!folio)
		return NULL;
	/* two faults of one mm may race here: one use per mm */
	if (atomic_fetch_or(&mm->flags, 1UL << MMF_HUGE_ZERO_FOLIO) & (1UL << MMF_HUGE_ZERO_FOLIO))
		put_huge_zero_folio();
	return folio;
}

void mm_put_huge_zero_folio(struct mm_struct *mm)
{
	if (atomic_fetch_and(&mm->flags, ~(1UL << MMF_HUGE_ZERO_FOLIO)) &
	    (1UL << MMF_HUGE_ZERO_FOLIO))
		put_huge_zero_folio();
}

bool thp_vma_allowable(struct vm_area_struct *vma, unsigned long address)
{
	return thp_vma_allowable_policy(vma, true) && thp_vma_suitable(vma, address);
}

bool thp_vma_allowable_policy(struct vm_area_struct *vma, bool enforce_sysfs)
{
	/* shared anon memory would be shmem THP in Linux: another policy */
	if (!vma_is_anonymous(vma) ||
	    (vma->vm_flags & (VM_NOHUGEPAGE | VM_SHARED | VM_PFNMAP | VM_IO | VM_HUGETLB)))
		return false;
	if (!enforce_sysfs)
		return true;
	switch (pinmm_thp_get_mode()) {
	case THP_MODE_NEVER:
		return false;
	case THP_MODE_MADVISE:
		return vma->vm_flags & VM_HUGEPAGE;
	case THP_MODE_ALWAYS:
		break;
	}
	return true;
}

bool thp_vma_suitable(struct vm_area_struct *vma, unsigned long address)
{
	unsigned long haddr = address & PMD_MASK;

	if (haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end)
		return false;
	/* the folio index must be 512-aligned too (rmap finds pages by index) */
	return IS_ALIGNED((vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff, HPAGE_PMD_NR);
}

/* ---- faults -------------------------------------------------------------------- */

/*
 * A read fault: map the huge zero folio read-only by a special PMD (GUP-fast
 * leaves special PMDs to the slow path), with a table deposited for a split.
 * No rmap, no RSS: it is nobody's anon memory.
 */
static vm_fault_t do_huge_zero_pmd(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct folio *zero;
	struct page *table;
	spinlock_t *ptl;
	pmd_t entry;

	if (!atomic_load_explicit(&thp_use_zero_page, memory_order_relaxed))
		return VM_FAULT_FALLBACK;
	table = pte_table_alloc(mm);
	if (!table)
		return VM_FAULT_FALLBACK;
	zero = mm_get_huge_zero_folio(mm);
	if (!zero) {
		pte_table_free(mm, table);
		return VM_FAULT_FALLBACK;
	}
	entry = pmd_wrprotect(pmd_mkspecial(pmd_mkhuge(pfn_pmd(folio_pfn(zero),
							       vma_pte_prot(vma)))));
	ptl = pmd_lock(mm, vmf->pmd);
	if (!pmd_none(pmdp_get(vmf->pmd))) {
		/* someone else mapped something: the caller looks again */
		spin_unlock(ptl);
		pte_table_free(mm, table);
		return VM_FAULT_FALLBACK;
	}
	pgtable_trans_huge_deposit(mm, vmf->pmd, table);
	set_pmd(vmf->pmd, entry);
	spin_unlock(ptl);
	return 0;
}

vm_fault_t do_huge_pmd_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	struct folio *folio;
	struct page *table;
	spinlock_t *ptl;
	pmd_t entry;

	/* before the zero folio too, as Linux: fork then copies its PMD */
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		return do_huge_zero_pmd(vmf);
	folio = folio_alloc(current_gfp_context(GFP_TRANSHUGE | __GFP_ZERO), HPAGE_PMD_ORDER);
	if (!folio) {
		count_vm_event(THP_FAULT_FALLBACK);
		return VM_FAULT_FALLBACK;
	}
	/* deposited now so that splitting this PMD never needs memory */
	table = pte_table_alloc(mm);
	if (!table) {
		folio_put(folio);
		count_vm_event(THP_FAULT_FALLBACK);
		return VM_FAULT_FALLBACK;
	}
	__folio_mark_uptodate(folio);
	entry = pmd_mkyoung(pmd_mkhuge(pfn_pmd(folio_pfn(folio), vma_pte_prot(vma))));
	if (vma->vm_flags & VM_WRITE)
		entry = pmd_mkwrite(pmd_mkdirty(entry));

	ptl = pmd_lock(mm, vmf->pmd);
	if (!pmd_none(pmdp_get(vmf->pmd))) {
		/* someone else mapped something here: the caller looks again */
		spin_unlock(ptl);
		folio_put(folio);
		pte_table_free(mm, table);
		return VM_FAULT_FALLBACK;
	}
	folio_add_new_anon_rmap(folio, vma, haddr, RMAP_EXCLUSIVE);
	folio_add_lru(folio);	/* src/migrate: now visible to migration */
	pgtable_trans_huge_deposit(mm, vmf->pmd, table);
	set_pmd(vmf->pmd, entry);
	add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR);
	spin_unlock(ptl);
	count_vm_event(THP_FAULT_ALLOC);
	return 0;
}

void huge_pmd_set_accessed(struct vm_fault *vmf)
{
	spinlock_t *ptl = pmd_lock(vmf->vma->vm_mm, vmf->pmd);
	pmd_t entry = pmdp_get(vmf->pmd);

	if (pmd_same(entry, vmf->orig_pmd)) {
		entry = pmd_mkyoung(entry);
		if ((vmf->flags & FAULT_FLAG_WRITE) && pmd_write(entry))
			entry = pmd_mkdirty(entry);
		if (!pmd_same(entry, vmf->orig_pmd))
			set_pmd(vmf->pmd, entry);
	}
	spin_unlock(ptl);
}

/*
 * A write (or an unshare) of the huge zero folio (Linux >= 6.12,
 * do_huge_zero_wp_pmd()): replace it by a zeroed THP of this mm's own,
 * mapped writable where the VMA is. The deposited table stays with the PMD.
 */
static vm_fault_t do_huge_zero_wp_pmd(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	struct mmu_notifier_range range;
	struct folio *folio;
	spinlock_t *ptl;
	pmd_t entry;

	if (!thp_vma_suitable(vma, haddr) || anon_vma_prepare(vma))
		return VM_FAULT_FALLBACK;
	folio = folio_alloc(current_gfp_context(GFP_TRANSHUGE | __GFP_ZERO), HPAGE_PMD_ORDER);
	if (!folio) {
		count_vm_event(THP_FAULT_FALLBACK);
		return VM_FAULT_FALLBACK;
	}
	__folio_mark_uptodate(folio);
	entry = pmd_mkyoung(pmd_mkhuge(pfn_pmd(folio_pfn(folio), vma_pte_prot(vma))));
	entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr, haddr + PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(mm, vmf->pmd);
	if (!pmd_same(pmdp_get(vmf->pmd), vmf->orig_pmd)) {
		spin_unlock(ptl);
		mmu_notifier_invalidate_range_end(&range);
		folio_put(folio);
		return 0;
	}
	folio_add_new_anon_rmap(folio, vma, haddr, RMAP_EXCLUSIVE);
	folio_add_lru(folio);
	set_pmd(vmf->pmd, entry);
	add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR);
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
	count_vm_event(THP_FAULT_ALLOC);
	return 0;
}

vm_fault_t do_huge_pmd_wp_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	pmd_t orig = vmf->orig_pmd;
	struct folio *folio;
	struct page *page;
	spinlock_t *ptl;

	if (is_huge_zero_pmd(orig)) {
		vm_fault_t ret = do_huge_zero_wp_pmd(vmf);

		if (!(ret & VM_FAULT_FALLBACK))
			return ret;
		/* no THP to be had: split into small zero pages and fault those */
		split_huge_pmd(vma, vmf->pmd, vmf->address);
		return VM_FAULT_FALLBACK;
	}
	pinmm_race_point(PINMM_RACE_HUGE_WP_FAULT, vmf->address & PMD_MASK);
	ptl = pmd_lock(vma->vm_mm, vmf->pmd);
	if (!pmd_same(pmdp_get(vmf->pmd), orig)) {
		spin_unlock(ptl);
		return 0;
	}
	page = vm_normal_page_pmd(vma, vmf->address, orig);
	if (!page || !folio_test_anon(page_folio(page)))
		goto unlock_fallback;
	folio = page_folio(page);
	if (PageAnonExclusive(page))
		goto reuse;
	/* the same rule as do_wp_page(): only the sole reference may reuse */
	if (folio_ref_count(folio) != 1)
		goto unlock_fallback;
	/* GUP-fast takes references without the PMD lock: the count is re-read locked */
	pinmm_race_point(PINMM_RACE_HUGE_WP_REUSE, vmf->address & PMD_MASK);
	if (!folio_trylock(folio))
		goto unlock_fallback;
	/* acquire: pairs with the release of the last other folio_put() */
	if (atomic_load_explicit(&folio->_refcount, memory_order_acquire) != 1) {
		folio_unlock(folio);
		goto unlock_fallback;
	}
	folio_move_anon_rmap(folio, vma);
	SetPageAnonExclusive(page);
	folio_unlock(folio);
reuse:
	if (!unshare) {
		pmd_t entry = pmd_mkyoung(orig);

		set_pmd(vmf->pmd, maybe_pmd_mkwrite(pmd_mkdirty(entry), vma));
		count_vm_event(COW_REUSE);
	}
	spin_unlock(ptl);
	return 0;

unlock_fallback:
	spin_unlock(ptl);
	/* Linux: split the PMD and COW only the 4 KiB that was written */
	split_huge_pmd(vma, vmf->pmd, vmf->address);
	return VM_FAULT_FALLBACK;
}

/* ---- page-cache folios mapped by a PMD -------------------------------------------- */

vm_fault_t do_set_pmd(struct vm_fault *vmf, struct folio *folio, bool write)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	spinlock_t *ptl;
	pmd_t entry;

	if (haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end ||
	    (vma->vm_flags & VM_NOHUGEPAGE))
		return VM_FAULT_FALLBACK;
	/* the folio must lie exactly under this aligned 2 MiB of the VMA */
	if (linear_page_index(vma, haddr) != folio->index)
		return VM_FAULT_FALLBACK;
	entry = pmd_mkyoung(pmd_mkhuge(pfn_pmd(folio_pfn(folio), vma_pte_prot(vma))));
	if (write)
		entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma);
	else if (!(vma->vm_flags & VM_SHARED))
		entry = pmd_wrprotect(entry);
	ptl = pmd_lock(mm, vmf->pmd);
	if (!pmd_none(pmdp_get(vmf->pmd))) {
		spin_unlock(ptl);
		return VM_FAULT_FALLBACK;
	}
	/* the fault's reference on the folio becomes the PMD's */
	folio_add_file_rmap_pmd(folio, &folio->page, vma);
	add_mm_counter(mm, mm_counter(folio), HPAGE_PMD_NR);
	set_pmd(vmf->pmd, entry);
	spin_unlock(ptl);
	count_vm_event(THP_FILE_MAPPED);
	return 0;
}

/* ---- split of the PMD mapping ------------------------------------------------------ */

/*
 * A page-cache folio mapped by a PMD (shmem THP): splitting the mapping just
 * removes it; the next access maps PTEs from the cache (Linux does the same:
 * nothing was deposited for a file PMD).
 */
static void __split_huge_pmd_file(struct vm_area_struct *vma, pmd_t *pmd, pmd_t old)
{
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio;
	struct page *page;

	pmdp_get_and_clear(pmd);
	if (!pmd_leaf(old))
		return;
	page = pmd_page(old);
	folio = page_folio(page);
	if (pmd_dirty(old))
		folio_mark_dirty(folio);
	if (pmd_young(old))
		folio_set_referenced(folio);
	folio_remove_rmap_pmd(folio, page, vma);
	add_mm_counter(mm, mm_counter(folio), -(long)HPAGE_PMD_NR);
	/* the cache holds it too: this is never the last reference */
	folio_put(folio);
	count_vm_event(THP_SPLIT_PMD);
}

/*
 * The freeze half of Linux's __split_huge_pmd_locked(), for a folio split:
 * the anon THP's PMD leaf @old becomes a table of 512 PTE migration
 * entries, each recording the PMD's write, dirty, young, soft-dirty and
 * uffd-wp bits and whether the folio was anon-exclusive. An exclusive folio
 * must first be shared (folio_try_share_anon_rmap_pmd()); the leaf is
 * replaced by a PMD migration entry before asking, so GUP-fast, which
 * re-reads the PMD after its grab, either sees the leaf gone or its pin is
 * seen here. Return false, with the PMD holding that entry, if the folio
 * may be pinned: the caller splits into ordinary PTEs instead.
 */
static bool split_huge_pmd_freeze(struct vm_area_struct *vma, pmd_t *pmd,
				  struct page *table, pmd_t old)
{
	struct page *page = pmd_page(old);
	struct folio *folio = page_folio(page);
	bool anon_exclusive = PageAnonExclusive(page);
	pte_t *ptes = page_address(table);
	enum swp_type type;

	if (anon_exclusive) {
		set_pmd(pmd, __pmd(pte_val(make_migration_pte(SWP_MIGRATION_READ_EXCLUSIVE,
							      folio_pfn(folio),
							      __pte(pmd_val(old))))));
		if (folio_try_share_anon_rmap_pmd(folio, page))
			return false;
	}
	if (pmd_write(old))
		type = SWP_MIGRATION_WRITE;
	else if (anon_exclusive)
		type = SWP_MIGRATION_READ_EXCLUSIVE;
	else
		type = SWP_MIGRATION_READ;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		set_pte(&ptes[i], make_migration_pte(type, pmd_pfn(old) + i, __pte(pmd_val(old))));
	/* the PTE entries carry the dirt back only if the folio has it */
	if (pmd_dirty(old))
		folio_mark_dirty(folio);
	set_pmd(pmd, pmd_mktable(table));
	/* the entries keep the rss charge; the PMD's mapping and reference go */
	folio_remove_rmap_pmd(folio, page, vma);
	folio_put(folio);	/* never the last: the splitter holds one */
	return true;
}

static void __split_huge_pmd_locked(struct vm_area_struct *vma, pmd_t *pmd,
				    unsigned long haddr, pmd_t old, bool freeze)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *table;
	pte_t *ptes;

	if (!vma_is_anonymous(vma)) {
		__split_huge_pmd_file(vma, pmd, old);
		return;
	}
	table = pgtable_trans_huge_withdraw(mm, pmd);

	if (WARN_ON_ONCE(!table))
		return;
	ptes = page_address(table);
	if (is_huge_zero_pmd(old)) {
		/* Linux's __split_huge_zero_page_pmd(): 512 small zero pages */
		pte_t zero = pte_wrprotect(pte_mkspecial(pfn_pte(pinmm_zero_pfn, vma_pte_prot(vma))));

		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			set_pte(&ptes[i], zero);
		set_pmd(pmd, pmd_mktable(table));
	} else if (pmd_leaf(old) && freeze && split_huge_pmd_freeze(vma, pmd, table, old)) {
		/* the folio split unmaps: PTE migration entries, no mapping left */
	} else if (pmd_leaf(old)) {
		struct page *page = pmd_page(old);
		struct folio *folio = page_folio(page);
		/* the PTEs keep write, dirty, young, soft-dirty and NX of the PMD */
		unsigned long bits = pmd_val(old) & ~(PTE_PFN_MASK | _PAGE_PSE);

		/* the PMD's one mapping and reference become 512 */
		folio_ref_add(folio, HPAGE_PMD_NR - 1);
		if (folio_test_anon(folio))
			folio_add_anon_rmap_ptes(folio, page, HPAGE_PMD_NR, vma, haddr,
						 PageAnonExclusive(page) ? RMAP_EXCLUSIVE : RMAP_NONE);
		else
			folio_add_file_rmap_ptes(folio, page, HPAGE_PMD_NR, vma);
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			set_pte(&ptes[i], __pte(bits | ((pmd_pfn(old) + i) << PAGE_SHIFT)));
		/* publish the filled table: a lockless walker sees old leaf or new table */
		set_pmd(pmd, pmd_mktable(table));
		pinmm_race_point(PINMM_RACE_THP_SPLIT_PMD, haddr);
		folio_remove_rmap_pmd(folio, page, vma);
	} else {
		/* a PMD migration entry becomes 512 PTE migration entries, same bits */
		swp_entry_t e = pmd_to_swp_entry(old);
		unsigned long bits = pmd_val(old) & ~PTE_PFN_MASK;

		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			set_pte(&ptes[i], __pte(bits | ((swp_offset(e) + i) << PAGE_SHIFT)));
		set_pmd(pmd, pmd_mktable(table));
	}
	count_vm_event(THP_SPLIT_PMD);
}

void __split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address)
{
	spinlock_t *ptl = pmd_lock(vma->vm_mm, pmd);
	pmd_t old = pmdp_get(pmd);

	if (pmd_leaf(old) || is_swap_pmd(old))
		__split_huge_pmd_locked(vma, pmd, address & PMD_MASK, old, false);
	spin_unlock(ptl);
}

void split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address)
{
	struct mmu_notifier_range range;
	unsigned long haddr = address & PMD_MASK;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, haddr,
				haddr + PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	__split_huge_pmd(vma, pmd, address);
	mmu_notifier_invalidate_range_end(&range);
}

void split_huge_pmd_address(struct vm_area_struct *vma, unsigned long address)
{
	pmd_t *pmd = mm_find_pmd(vma->vm_mm, address);
	pmd_t val;

	if (!pmd)
		return;
	val = pmdp_get_lockless(pmd);
	if (pmd_leaf(val) || is_swap_pmd(val))
		split_huge_pmd(vma, pmd, address);
}

void split_huge_pmd_address_freeze(struct vm_area_struct *vma, unsigned long address,
				   struct folio *folio)
{
	struct mmu_notifier_range range;
	unsigned long haddr = address & PMD_MASK;
	pmd_t *pmd = mm_find_pmd(vma->vm_mm, address);
	spinlock_t *ptl;
	pmd_t old;

	if (!pmd || !pmd_leaf(pmdp_get_lockless(pmd)))
		return;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, haddr,
				haddr + PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(vma->vm_mm, pmd);
	old = pmdp_get(pmd);
	/* only a leaf of @folio: another THP there now is not ours to freeze */
	if (pmd_leaf(old) && !is_huge_zero_pmd(old) && page_folio(pmd_page(old)) == folio)
		__split_huge_pmd_locked(vma, pmd, haddr, old, folio_test_anon(folio));
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
}

static void split_huge_pmd_if_needed(struct vm_area_struct *vma, unsigned long address)
{
	unsigned long haddr = address & PMD_MASK;

	if (IS_ALIGNED(address, PMD_SIZE))
		return;
	if (haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end)
		return;
	split_huge_pmd_address(vma, address);
}

void vma_adjust_trans_huge(struct vm_area_struct *vma, unsigned long start,
			   unsigned long end)
{
	split_huge_pmd_if_needed(vma, start);
	split_huge_pmd_if_needed(vma, end);
}

/* ---- zap, fork, mprotect ------------------------------------------------------------- */

void zap_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio = NULL;
	struct page *table;
	spinlock_t *ptl;
	pmd_t old;

	(void)addr;
	ptl = pmd_lock(mm, pmd);
	old = pmdp_get(pmd);
	if (!pmd_leaf(old) && !is_swap_pmd(old)) {
		spin_unlock(ptl);
		return;
	}
	old = pmdp_get_and_clear(pmd);
	table = pgtable_trans_huge_withdraw(mm, pmd);
	if (is_huge_zero_pmd(old)) {
		/* nothing to unmap: no rmap, no RSS, the mm's use stays until exit */
	} else if (pmd_leaf(old)) {
		struct page *page = pmd_page(old);

		folio = page_folio(page);
		folio_remove_rmap_pmd(folio, page, vma);
		add_mm_counter(mm, mm_counter(folio), -(long)HPAGE_PMD_NR);
		if (!folio_test_anon(folio) && pmd_dirty(old))
			folio_mark_dirty(folio);
	} else if (is_migration_entry(pmd_to_swp_entry(old))) {
		add_mm_counter(mm, mm_counter(pfn_folio(swp_offset(pmd_to_swp_entry(old)))),
			       -(long)HPAGE_PMD_NR);
	}
	spin_unlock(ptl);
	/* the table deposited with the leaf (by a fault or MADV_COLLAPSE) */
	if (table)
		pte_table_free_rcu(mm, table);
	if (folio)
		folio_put(folio);
}

int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
		  pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long addr)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	bool is_cow = is_cow_mapping(src_vma->vm_flags);
	spinlock_t *dst_ptl, *src_ptl;
	struct folio *folio;
	struct page *page, *table;
	pmd_t pmd;

	/* a file's PMD (shmem THP): the child refaults it from the cache */
	if (!vma_is_anonymous(dst_vma))
		return 0;
	table = pte_table_alloc(dst_mm);
	if (!table)
		return -ENOMEM;
	dst_ptl = pmd_lock(dst_mm, dst_pmd);
	src_ptl = pmd_lockptr(src_mm, src_pmd);
	spin_lock_nested(src_ptl, 1);
	pmd = pmdp_get(src_pmd);
	if (WARN_ON_ONCE(!pmd_none(pmdp_get(dst_pmd))))
		goto out_again;
	if (is_swap_pmd(pmd)) {
		swp_entry_t e = pmd_to_swp_entry(pmd);

		if (!is_migration_entry(e))
			goto out_again;
		if (swp_type(e) != SWP_MIGRATION_READ && is_cow) {
			/*
			 * readable now; soft-dirty, uffd-wp and the accessed and
			 * dirty bits stay (Linux keeps A/D in the entry's offset)
			 */
			pmd = __pmd(pmd_val(swp_entry_to_pmd(swp_entry(SWP_MIGRATION_READ,
								       swp_offset(e)))) |
				    (pmd_val(pmd) & (_PAGE_SOFT_DIRTY | _PAGE_SWP_UFFD_WP |
						     _PAGE_SWP_YOUNG | _PAGE_SWP_DIRTY)));
			set_pmd(src_pmd, pmd);
		}
		add_mm_counter(dst_mm, mm_counter(pfn_folio(swp_offset(e))), HPAGE_PMD_NR);
		pgtable_trans_huge_deposit(dst_mm, dst_pmd, table);
		if (!(dst_vma->vm_flags & VM_UFFD_WP))
			pmd = __pmd(pmd_val(pmd) & ~_PAGE_SWP_UFFD_WP);
		set_pmd(dst_pmd, pmd);
		goto out;
	}
	if (!pmd_leaf(pmd))
		goto out_again;
	if (is_huge_zero_pmd(pmd)) {
		/* the child maps it too (copy_huge_pmd()'s out_zero_page) */
		if (!mm_get_huge_zero_folio(dst_mm))
			goto out_again;
		pgtable_trans_huge_deposit(dst_mm, dst_pmd, table);
		set_pmd(dst_pmd, pmd);
		goto out;
	}
	page = pmd_page(pmd);
	folio = page_folio(page);
	folio_get(folio);
	if (folio_test_anon(folio) && !(src_vma->vm_flags & VM_SHARED)) {
		if (folio_try_dup_anon_rmap_pmd(folio, page, dst_vma, src_vma)) {
			/* may be pinned: split, and copy the pages one by one */
			folio_put(folio);
			spin_unlock(src_ptl);
			spin_unlock(dst_ptl);
			pte_table_free(dst_mm, table);
			__split_huge_pmd(src_vma, src_pmd, addr);
			return -EAGAIN;
		}
		/* shared with the child, not yet write-protected in the parent */
		pinmm_race_point(PINMM_RACE_FORK_SHARE, addr);
	} else {
		folio_dup_file_rmap_pmd(folio, page);
	}
	add_mm_counter(dst_mm, mm_counter(folio), HPAGE_PMD_NR);
	pgtable_trans_huge_deposit(dst_mm, dst_pmd, table);
	if (is_cow && pmd_write(pmd)) {
		set_pmd(src_pmd, pmd_wrprotect(pmd));
		pmd = pmd_wrprotect(pmd);
	}
	/* without the fork event the child is not registered: no uffd-wp */
	if (!(dst_vma->vm_flags & VM_UFFD_WP))
		pmd = pmd_clear_uffd_wp(pmd);
	set_pmd(dst_pmd, pmd_mkold(pmd));
out:
	spin_unlock(src_ptl);
	spin_unlock(dst_ptl);
	return 0;
out_again:
	spin_unlock(src_ptl);
	spin_unlock(dst_ptl);
	pte_table_free(dst_mm, table);
	return -EAGAIN;
}

int change_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
		    pgprot_t newprot)
{
	spinlock_t *ptl = pmd_lock(vma->vm_mm, pmd);
	pmd_t old = pmdp_get(pmd), entry;
	struct page *page;

	(void)addr;
	if (is_swap_pmd(old)) {
		swp_entry_t e = pmd_to_swp_entry(old);

		if (is_writable_migration_entry(e)) {
			bool anon = folio_test_anon(pfn_folio(swp_offset(e)));

			set_pmd(pmd, swp_entry_to_pmd(swp_entry(anon ? SWP_MIGRATION_READ_EXCLUSIVE :
								SWP_MIGRATION_READ,
								swp_offset(e))));
		}
		spin_unlock(ptl);
		return 1;
	}
	if (!pmd_leaf(old)) {
		spin_unlock(ptl);
		return 0;
	}
	entry = pmd_modify(old, newprot);
	page = vm_normal_page_pmd(vma, addr, old);
	if (!(vma->vm_flags & VM_SHARED)) {
		/* private: writable only where no COW is pending */
		entry = pmd_wrprotect(entry);
		if ((vma->vm_flags & VM_WRITE) && (newprot.pgprot & _PAGE_USER) && page &&
		    PageAnon(page) && PageAnonExclusive(page) &&
		    !(vma_soft_dirty_enabled(vma) && !pmd_soft_dirty(old)) &&
		    !((vma->vm_flags & VM_UFFD_WP) && pmd_uffd_wp(old)))
			entry = pmd_mkwrite(entry);
	} else if ((vma->vm_flags & VM_WRITE) && pmd_dirty(old) && (newprot.pgprot & _PAGE_USER)) {
		entry = pmd_mkwrite(entry);
	}
	set_pmd(pmd, entry);
	spin_unlock(ptl);
	return 1;
}

/* ---- split of the folio -------------------------------------------------------------- */

/* Folio flags each new small folio inherits (Linux __split_folio_to_order). */
#define SPLIT_INHERIT_FLAGS						\
	(BIT(PG_locked) | BIT(PG_referenced) | BIT(PG_swapbacked) |	\
	 BIT(PG_uptodate) | BIT(PG_active) | BIT(PG_dirty) |		\
	 BIT(PG_mlocked) | BIT(PG_unevictable) | BIT(PG_lru))
/* Bits of a tail page that are its own and survive the split. */
#define SPLIT_PER_PAGE_FLAGS	(BIT(PG_anon_exclusive) | BIT(PG_hwpoison) | \
				 (ZONES_MASK << ZONES_PGSHIFT))

bool can_split_folio(struct folio *folio, int caller_pins, int *pextra_pins)
{
	int extra_pins;

	/*
	 * The swap cache holds one reference per page; the page cache too. A
	 * folio with no mapping at all (allocated, never mapped) has neither:
	 * Linux refuses to split it, pinmm's split_folio() always took it.
	 */
	if (folio_test_anon(folio))
		extra_pins = folio_test_swapcache(folio) ? (int)folio_nr_pages(folio) : 0;
	else
		extra_pins = folio_mapping(folio) ? (int)folio_nr_pages(folio) : 0;
	if (pextra_pins)
		*pextra_pins = extra_pins;
	return folio_mapcount(folio) == folio_ref_count(folio) - extra_pins - caller_pins;
}

/*
 * The struct page side of the split of frozen, unmapped @folio: every page
 * becomes an order-0 folio with the folio's flags (locked, like the head),
 * mapping and index, its own anon-exclusive bit and mapcount (-1: the
 * migration entries hold none), and one reference: the caller's on the
 * head, the split's on each tail. Tails of an isolated folio go on @list
 * with one more reference each (they stay isolated; the isolation's
 * NR_ISOLATED count already covers them).
 */
static void __split_folio_pages(struct folio *folio, struct list_head *list)
{
	unsigned long nr = folio_nr_pages(folio), inherit, mapping;
	pgoff_t index = folio->index;

	mapping = (unsigned long)atomic_load_explicit(&folio->mapping, memory_order_relaxed);
	inherit = atomic_load_explicit(&folio->flags, memory_order_relaxed) & SPLIT_INHERIT_FLAGS;
	/*
	 * Tails of an isolated folio stay isolated, on the caller's list;
	 * otherwise they are where the head is, on the LRU or not (Linux's
	 * lru_add_split_folio(), which warns about an isolated head without a
	 * list).
	 */
	if (list)
		inherit &= ~BIT(PG_lru);

	/* the large-folio fields in page[1] and page[2] go back to plain pages */
	for (unsigned long i = 1; i < min(nr, 3UL); i++) {
		struct page *p = folio_page(folio, i);

		p->lru.next = p->lru.prev = NULL;
		atomic_store_explicit(&p->mapping, NULL, memory_order_relaxed);
		p->index = 0;
		p->private = 0;
	}
	for (unsigned long i = 1; i < nr; i++) {
		struct page *p = folio_page(folio, i);
		unsigned long f = atomic_load_explicit(&p->flags, memory_order_relaxed);

		atomic_store_explicit(&p->flags, (f & SPLIT_PER_PAGE_FLAGS) | inherit,
				      memory_order_relaxed);
		atomic_store_explicit(&p->mapping, (struct address_space *)mapping,
				      memory_order_relaxed);
		p->index = index + i;
		set_page_count(p, 1);
		/* last: page_folio() of this page now answers itself */
		atomic_store_explicit(&p->compound_head, 0, memory_order_release);
		if (list) {
			folio_get(page_folio(p));
			list_add_tail(&page_folio(p)->lru, list);
		}
	}
	__folio_clear_head(folio);
}

/* Linux's remap_page(): the migration entries of each (new) folio become its mappings again. */
static void remap_folios(struct folio *head, unsigned long nr, struct anon_vma *anon_vma)
{
	for (unsigned long i = 0; i < nr; ) {
		struct folio *folio = page_folio(folio_page(head, i));

		remove_migration_ptes(folio, NULL, anon_vma);
		i += folio_nr_pages(folio);
	}
}

int split_huge_page_to_list_to_order(struct page *page, struct list_head *list,
				     unsigned int new_order)
{
	struct folio *folio = page_folio(page), *head = folio;
	struct anon_vma *anon_vma = NULL;
	unsigned long nr = folio_nr_pages(folio), mapping;
	int extra_pins, ret;
	bool is_thp = folio_order(folio) == HPAGE_PMD_ORDER;

	if (!folio_test_large(folio) || new_order)
		return -EINVAL;
	if (WARN_ON_ONCE(folio_test_hugetlb(folio) || folio_is_zone_device(folio)))
		return -EINVAL;
	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	mapping = (unsigned long)atomic_load_explicit(&folio->mapping, memory_order_relaxed);
	/* page-cache folios are not split here (their cache slots would have to be) */
	/*
	 * Not built: the split of a swap-cache folio's slots (Linux stores
	 * each new folio in its own slot). A THP is in the swap cache only
	 * while reclaim writes it out whole.
	 */
	if ((mapping && !(mapping & PAGE_MAPPING_ANON)) || folio_test_writeback(folio) ||
	    folio_test_swapcache(folio)) {
		ret = -EBUSY;
		goto out;
	}
	if (folio_test_anon(folio)) {
		/* the walk back needs the anon_vma, which only a mapping keeps alive */
		anon_vma = folio_get_anon_vma(folio);
		if (!anon_vma && folio_mapped(folio)) {
			ret = -EBUSY;
			goto out;
		}
	}
	/*
	 * Every reference must be a mapping's, the swap cache's or ours: a
	 * GET or a pin on any page keeps the whole folio as it is, before
	 * anything is unmapped (Linux's can_split_folio()).
	 */
	if (!can_split_folio(folio, 1, &extra_pins)) {
		ret = -EAGAIN;
		goto out_put_anon_vma;
	}
	pinmm_race_point(PINMM_RACE_THP_SPLIT_CHECKED, folio_pfn(folio));
	/* Linux's unmap_folio(): PMDs and PTEs become migration entries */
	if (folio_mapped(folio))
		try_to_migrate_split(folio, anon_vma);
	/* a pin that read the entry before the unmap may still grab: the freeze decides */
	pinmm_race_point(PINMM_RACE_THP_SPLIT_FOLIO, folio_pfn(folio));
	if (folio_mapped(folio) || !folio_ref_freeze(folio, 1 + extra_pins)) {
		/* a page that may be pinned stayed mapped, or a reference came */
		remap_folios(folio, nr, anon_vma);
		ret = -EAGAIN;
		goto out_put_anon_vma;
	}
	/* the queue's link lives in page 2, which the split clears */
	folio_unqueue_deferred_split(folio);
	__split_folio_pages(folio, list);
	folio_ref_unfreeze(folio, 1);
	remap_folios(head, nr, anon_vma);
	/* the caller keeps its reference and lock on @page's folio; the rest go */
	for (unsigned long i = 0; i < nr; i++) {
		struct folio *new = page_folio(folio_page(head, i));

		if (new == page_folio(page))
			continue;
		folio_unlock(new);
		/*
		 * A tail on @list held by the list and the split alone was
		 * unmapped before (zapped): free it now rather than leave it to
		 * the caller, whose reclaim would write it to swap (Linux's
		 * __folio_split() since 6.12, "free zapped tail pages").
		 */
		if (list && folio_ref_freeze(new, 2)) {
			list_del(&new->lru);
			folio_account_isolated(new, -1);
			folio_clear_active(new);
			folio_clear_unevictable(new);
			folio_clear_mlocked(new);
			__folio_put(new);
			continue;
		}
		folio_put(new);		/* an unmapped page nobody else holds is freed */
	}
	ret = 0;
out_put_anon_vma:
	if (anon_vma)
		put_anon_vma(anon_vma);
out:
	if (is_thp)
		count_vm_event(ret ? THP_SPLIT_PAGE_FAILED : THP_SPLIT_PAGE);
	return ret;
}

/* ---- the deferred-split queue ------------------------------------------------------ */

/*
 * One queue (Linux keeps one per node, or per memcg): folios linked through
 * ->_deferred_list. FOLIO_PARTIALLY_MAPPED_1 is set while a folio is on it,
 * and stays set while the scan holds it off the queue to split it (so the
 * split's own unmapping does not queue it again, as in Linux). The lock is
 * a leaf: rmap takes it under page-table locks, the free path under
 * whatever its caller holds.
 */
static spinlock_t split_queue_lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF);
static LIST_HEAD(split_queue);
static unsigned long split_queue_len;

static void set_partially_mapped(struct folio *folio, bool on)
{
	if (on)
		atomic_fetch_or_explicit(&folio->_flags_1, FOLIO_PARTIALLY_MAPPED_1,
					 memory_order_release);
	else
		atomic_fetch_and_explicit(&folio->_flags_1, ~FOLIO_PARTIALLY_MAPPED_1,
					  memory_order_release);
}

/* Put @folio (flag set) back on the queue. split_queue_lock held. */
static void split_queue_add(struct folio *folio)
{
	list_add_tail(&folio->_deferred_list, &split_queue);
	split_queue_len++;
}

void deferred_split_folio(struct folio *folio, bool partially_mapped)
{
	/*
	 * Order 1 has no room for the list; a swap-cache folio stays off it
	 * (Linux's rules: its split would have to move its cache slots), and
	 * device memory is never split here.
	 */
	if (folio_order(folio) <= 1 || !partially_mapped || !folio_test_anon(folio) ||
	    folio_test_swapcache(folio) || folio_is_zone_device(folio))
		return;
	/* queued, or being split by the scan: the common case of a range unmapped piecewise */
	if (folio_test_partially_mapped(folio))
		return;
	spin_lock(&split_queue_lock);
	if (!folio_test_partially_mapped(folio)) {
		set_partially_mapped(folio, true);
		split_queue_add(folio);
		if (folio_order(folio) == HPAGE_PMD_ORDER)
			count_vm_event(THP_DEFERRED_SPLIT_PAGE);
	}
	spin_unlock(&split_queue_lock);
}

void folio_unqueue_deferred_split(struct folio *folio)
{
	if (folio_order(folio) <= 1 || !folio_test_partially_mapped(folio))
		return;
	spin_lock(&split_queue_lock);
	if (!list_empty(&folio->_deferred_list)) {
		list_del_init(&folio->_deferred_list);
		split_queue_len--;
	}
	set_partially_mapped(folio, false);
	spin_unlock(&split_queue_lock);
}

unsigned long deferred_split_count(void)
{
	unsigned long n;

	spin_lock(&split_queue_lock);
	n = split_queue_len;
	spin_unlock(&split_queue_lock);
	return n;
}

/* Folios taken off the queue per round (Linux's folio batch). */
#define SPLIT_SCAN_BATCH	32

unsigned long deferred_split_scan(unsigned long nr_to_scan)
{
	unsigned long split = 0, budget;

	spin_lock(&split_queue_lock);
	budget = nr_to_scan ? min(nr_to_scan, split_queue_len) : split_queue_len;
	spin_unlock(&split_queue_lock);
	while (budget) {
		struct folio *batch[SPLIT_SCAN_BATCH];
		int n = 0;

		/*
		 * Off the queue, referenced, the flag kept; one whose last
		 * reference is going stays for the free path to take off.
		 */
		spin_lock(&split_queue_lock);
		while (budget && n < SPLIT_SCAN_BATCH && !list_empty(&split_queue)) {
			struct folio *folio = list_first_entry(&split_queue, struct folio,
							       _deferred_list);

			budget--;
			if (!folio_try_get(folio)) {
				list_move_tail(&folio->_deferred_list, &split_queue);
				continue;
			}
			list_del_init(&folio->_deferred_list);
			split_queue_len--;
			batch[n++] = folio;
		}
		spin_unlock(&split_queue_lock);
		if (!n)
			break;
		for (int i = 0; i < n; i++) {
			struct folio *folio = batch[i];

			/* a split takes it off for good (the flag too: folio_unqueue_...) */
			if (folio_trylock(folio)) {
				if (!split_folio(folio))
					split++;
				folio_unlock(folio);
			}
			/* still whole: back on the queue while partly mapped, else done */
			spin_lock(&split_queue_lock);
			if (folio_test_partially_mapped(folio) &&
			    list_empty(&folio->_deferred_list)) {
				if (folio_mapped(folio))
					split_queue_add(folio);
				else
					set_partially_mapped(folio, false);
			}
			spin_unlock(&split_queue_lock);
			folio_put(folio);
		}
		cond_resched();
	}
	return split;
}

void deferred_split_reset(void)
{
	/* a new machine: whatever the last one left queued lived in its memory map */
	spin_lock(&split_queue_lock);
	INIT_LIST_HEAD(&split_queue);
	split_queue_len = 0;
	spin_unlock(&split_queue_lock);
}

int split_folio_to_list(struct folio *folio, struct list_head *list)
{
	return split_huge_page_to_list_to_order(&folio->page, list, 0);
}

int split_folio(struct folio *folio)
{
	return split_folio_to_list(folio, NULL);
}

int split_huge_page(struct page *page)
{
	return split_huge_page_to_list_to_order(page, NULL, 0);
}
