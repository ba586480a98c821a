// SPDX-License-Identifier: MIT
/*
 * MADV_COLLAPSE of anonymous memory (Linux: mm/khugepaged.c, the synchronous
 * half; the khugepaged thread is not built). A 2 MiB range mapped by PTEs is
 * copied into a freshly allocated THP that one PMD then maps.
 *
 * Where pins come in: a collapse replaces the pages a range maps, so it must
 * not replace one that someone holds a reference to beyond its mappings —
 * a DMA pin would keep the old page while the process writes the new one.
 * Linux asks that with a refcount test (is_refcount_suitable(): references
 * equal mappings) twice: once while scanning, and again after the PMD has
 * been cleared and every GUP-fast walker that might have found the old table
 * has finished, so no new pin can appear between the test and the copy.
 */
#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>
#include <pinmm/rcupdate.h>
#include <pinmm/rmap.h>
#include <pinmm/swap.h>
#include <pinmm/vmstat.h>

#include <errno.h>
#include <string.h>

/* Why a range did not collapse (the subset of Linux's enum scan_result we meet). */
enum scan_result {
	SCAN_FAIL,
	SCAN_SUCCEED,
	SCAN_PMD_NULL,		/* no PMD table, or a non-present PMD */
	SCAN_PMD_NONE,		/* an empty PMD: nothing was ever mapped */
	SCAN_PMD_MAPPED,	/* already a THP: nothing to do */
	SCAN_PTE_NON_PRESENT,	/* a migration entry */
	SCAN_PTE_UFFD_WP,	/* a uffd-wp protected swap entry: never read back here */
	SCAN_SWAPIN,		/* all else fine, but swapped-out pages to read back first */
	SCAN_PAGE_NULL,		/* a special PTE, ZONE_DEVICE, or no page at all */
	SCAN_PAGE_ANON,		/* a page-cache page in a private mapping */
	SCAN_PAGE_LRU,		/* isolated by someone else (migration) */
	SCAN_PAGE_LOCK,
	SCAN_PAGE_COUNT,	/* more references than mappings: pinned or got */
	SCAN_DEL_PAGE_LRU,
	SCAN_ALLOC_HUGE_PAGE_FAIL,
};

/* Linux's madvise_collapse_errno(): retrying may help (-EAGAIN), or not (-EINVAL). */
static int collapse_errno(enum scan_result r)
{
	switch (r) {
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
		return -ENOMEM;
	case SCAN_PAGE_COUNT:
	case SCAN_PAGE_LOCK:
	case SCAN_PAGE_LRU:
	case SCAN_DEL_PAGE_LRU:
		return -EAGAIN;
	default:
		return -EINVAL;
	}
}

/*
 * Every reference to an anon folio should be one of its mappings (a PTE of
 * a large folio counts one each) or the swap cache's. Anything more is a
 * pin, a FOLL_GET, an isolation or a migration in flight.
 */
static bool is_refcount_suitable(struct folio *folio)
{
	return folio_ref_count(folio) == folio_expected_ref_count(folio);
}

static enum scan_result find_pmd_or_thp_or_none(struct mm_struct *mm, unsigned long addr,
						pmd_t **pmdp)
{
	pmd_t pmd;

	*pmdp = mm_find_pmd(mm, addr);
	if (!*pmdp)
		return SCAN_PMD_NULL;
	pmd = pmdp_get_lockless(*pmdp);
	if (pmd_none(pmd))
		return SCAN_PMD_NONE;
	if (!pmd_present(pmd))
		return SCAN_PMD_NULL;
	if (pmd_leaf(pmd))
		return SCAN_PMD_MAPPED;
	return SCAN_SUCCEED;
}

/*
 * Look at one PTE of the range: the anon page it maps, or NULL for a none
 * or zero-page entry (which the collapse fills with zeroes); *@r says why
 * the range cannot collapse when it cannot.
 */
static struct page *collapse_pte_page(struct vm_area_struct *vma, unsigned long addr,
				      pte_t pte, enum scan_result *r)
{
	struct page *page;

	*r = SCAN_SUCCEED;
	if (pte_none(pte) || (pte_present(pte) && is_zero_pfn(pte_pfn(pte))))
		return NULL;
	if (!pte_present(pte)) {
		/* a swap entry is read back before the collapse; a uffd-wp one never */
		if (is_swapfile_pte(pte))
			*r = pte_swp_uffd_wp(pte) ? SCAN_PTE_UFFD_WP : SCAN_SWAPIN;
		else
			*r = SCAN_PTE_NON_PRESENT;
		return NULL;
	}
	page = vm_normal_page(vma, addr, pte);
	if (!page || folio_is_zone_device(page_folio(page))) {
		*r = SCAN_PAGE_NULL;
		return NULL;
	}
	if (!folio_test_anon(page_folio(page)))
		*r = SCAN_PAGE_ANON;
	return page;
}

/*
 * hpage_collapse_scan_pmd(): may the 2 MiB at @haddr collapse? Under the
 * PTE lock, nothing changed. A first look only: collapse_isolate() asks the
 * same questions again once no new reference can appear. Read-only entries
 * do not stop it (Linux dropped SCAN_PAGE_RO in 6.18: on this machine's
 * kernel a COW-shared or mprotect(PROT_READ) range collapses), and neither
 * does a range of none or zero-page entries only: MADV_COLLAPSE ignores
 * max_ptes_none, so it becomes a THP of zeroes (the live 6.18 kernel does;
 * without an anon_vma, reads alone, it is -EINVAL before the scan).
 */
static enum scan_result collapse_scan(struct vm_area_struct *vma, unsigned long haddr,
				      pmd_t **pmdp)
{
	struct mm_struct *mm = vma->vm_mm;
	enum scan_result r = find_pmd_or_thp_or_none(mm, haddr, pmdp);
	unsigned long swapped = 0;
	spinlock_t *ptl;
	pte_t *ptes;

	if (r != SCAN_SUCCEED)
		return r;
	ptes = pte_offset_map_lock(mm, *pmdp, haddr, &ptl);
	if (!ptes)
		return SCAN_PMD_NULL;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long addr = haddr + i * PAGE_SIZE;
		pte_t pte = ptep_get(&ptes[i]);
		struct page *page = collapse_pte_page(vma, addr, pte, &r);
		struct folio *folio;

		/* counted, as hpage_collapse_scan_pmd() does: the rest must pass first */
		if (r == SCAN_SWAPIN) {
			swapped++;
			r = SCAN_SUCCEED;
			continue;
		}
		if (r != SCAN_SUCCEED)
			break;
		if (!page)
			continue;
		folio = page_folio(page);
		if (!folio_test_lru(folio)) {
			r = SCAN_PAGE_LRU;
			break;
		}
		if (folio_test_locked(folio)) {
			r = SCAN_PAGE_LOCK;
			break;
		}
		if (!is_refcount_suitable(folio)) {
			r = SCAN_PAGE_COUNT;
			break;
		}
	}
	pte_unmap_unlock(ptes, ptl);
	return r == SCAN_SUCCEED && swapped ? SCAN_SWAPIN : r;
}

/* Give back what collapse_isolate() took: unlock, and end each isolation. */
static void release_pte_folio(struct folio *folio)
{
	folio_unlock(folio);
	folio_putback_lru(folio);
}

static void release_pte_pages(pte_t *ptes, unsigned long nr, struct list_head *large)
{
	struct folio *folio, *next;

	for (unsigned long i = 0; i < nr; i++) {
		pte_t pte = ptep_get(&ptes[i]);

		if (pte_none(pte) || is_zero_pfn(pte_pfn(pte)))
			continue;
		folio = pfn_folio(pte_pfn(pte));
		if (!folio_test_large(folio))
			release_pte_folio(folio);
	}
	list_for_each_entry_safe(folio, next, large, lru) {
		list_del(&folio->lru);
		release_pte_folio(folio);
	}
}

/*
 * __collapse_huge_page_isolate(): with the PMD cleared, lock and isolate
 * every folio the table maps, refusing any with a reference beyond its
 * mappings. Large folios (a PTE-mapped THP) are taken once, on @large.
 */
static enum scan_result collapse_isolate(struct vm_area_struct *vma, unsigned long haddr,
					 pte_t *ptes, struct list_head *large)
{
	enum scan_result r = SCAN_SUCCEED;
	unsigned long i;

	for (i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = ptep_get(&ptes[i]);
		struct page *page = collapse_pte_page(vma, haddr + i * PAGE_SIZE, pte, &r);
		struct folio *folio, *f;

		/* swapped out again since the scan: not present (Linux's answer here) */
		if (r == SCAN_SWAPIN || r == SCAN_PTE_UFFD_WP)
			r = SCAN_PTE_NON_PRESENT;
		if (r != SCAN_SUCCEED)
			break;
		if (!page)
			continue;
		folio = page_folio(page);
		if (folio_test_large(folio)) {
			bool seen = false;

			list_for_each_entry(f, large, lru)
				seen |= f == folio;
			if (seen)
				continue;
		}
		if (!folio_trylock(folio)) {
			r = SCAN_PAGE_LOCK;
			break;
		}
		/*
		 * The table is unlinked and no GUP-fast walker is left in it, so
		 * no new pin can come from this mm: the count is final. (A child
		 * sharing the page may pin it later; it can only unshare its own.)
		 */
		if (!is_refcount_suitable(folio)) {
			folio_unlock(folio);
			r = SCAN_PAGE_COUNT;
			break;
		}
		if (!folio_isolate_lru(folio)) {
			folio_unlock(folio);
			r = SCAN_DEL_PAGE_LRU;
			break;
		}
		if (folio_test_large(folio))
			list_add_tail(&folio->lru, large);
	}
	if (r != SCAN_SUCCEED)
		release_pte_pages(ptes, i, large);
	return r;
}

/*
 * __collapse_huge_page_copy() and its success half: fill the THP page by
 * page, then drop the old mappings (each PTE's reference, its rmap) and end
 * the isolations. A page another mm still maps lives on there.
 */
static void collapse_copy(struct vm_area_struct *vma, pte_t *ptes, struct folio *thp,
			  struct list_head *large)
{
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio, *next;

	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = ptep_get(&ptes[i]);
		void *dst = page_address(folio_page(thp, i));

		if (pte_none(pte) || is_zero_pfn(pte_pfn(pte)))
			memset(dst, 0, PAGE_SIZE);
		else
			memcpy(dst, page_address(pte_page(pte)), PAGE_SIZE);
	}
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = ptep_get_and_clear(&ptes[i]);
		struct page *page;

		if (pte_none(pte) || is_zero_pfn(pte_pfn(pte))) {
			/* a page the THP adds to the mm's anon pages */
			add_mm_counter(mm, MM_ANONPAGES, 1);
			continue;
		}
		page = pte_page(pte);
		folio = page_folio(page);
		folio_remove_rmap_pte(folio, page, vma);
		if (!folio_test_large(folio))
			release_pte_folio(folio);
		/* Linux's free_folio_and_swap_cache(): an unmapped page keeps no slot */
		free_swap_cache(folio);
		folio_put(folio);	/* the PTE's reference */
	}
	list_for_each_entry_safe(folio, next, large, lru) {
		list_del(&folio->lru);
		release_pte_folio(folio);
	}
}

/*
 * collapse_huge_page(): replace the table under @pmd by a PMD mapping of a
 * new THP. Linux clears the PMD first so GUP-fast backs off, then waits for
 * walkers already past it (tlb_remove_table_sync_one(); an RCU grace period
 * here, GUP-fast's section being an RCU read side) before the final checks.
 */
static enum scan_result collapse_huge_page(struct vm_area_struct *vma, unsigned long haddr,
					   pmd_t *pmd)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	enum scan_result r;
	struct folio *thp;
	spinlock_t *pml, *ptl;
	LIST_HEAD(large);
	pmd_t old, entry;
	pte_t *ptes;

	/* every byte is written by the copy: no __GFP_ZERO */
	thp = folio_alloc(current_gfp_context(GFP_TRANSHUGE), HPAGE_PMD_ORDER);
	if (!thp) {
		count_vm_event(THP_COLLAPSE_ALLOC_FAILED);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	count_vm_event(THP_COLLAPSE_ALLOC);
	pinmm_race_point(PINMM_RACE_COLLAPSE_SCANNED, haddr);

	down_write(&vma->anon_vma->root->rwsem);	/* rmap walkers stay out */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr, haddr + PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pml = pmd_lock(mm, pmd);
	old = pmdp_get_and_clear(pmd);
	spin_unlock(pml);
	mmu_notifier_invalidate_range_end(&range);
	synchronize_rcu();

	ptes = pte_offset_map_lock(mm, &old, haddr, &ptl);
	if (!ptes) {
		r = SCAN_PMD_NULL;
		goto restore;
	}
	r = collapse_isolate(vma, haddr, ptes, &large);
	spin_unlock(ptl);
	if (r != SCAN_SUCCEED) {
		pte_unmap(ptes);
		goto restore;
	}
	/* every folio is locked and isolated: rmap walkers find nothing to do */
	up_write(&vma->anon_vma->root->rwsem);

	collapse_copy(vma, ptes, thp, &large);
	pte_unmap(ptes);
	__folio_mark_uptodate(thp);

	entry = pmd_mkyoung(pmd_mkhuge(pfn_pmd(folio_pfn(thp), vma_pte_prot(vma))));
	entry = pmd_mkdirty(entry);
	if (vma->vm_flags & VM_WRITE)
		entry = pmd_mkwrite(entry);
	pml = pmd_lock(mm, pmd);
	VM_BUG_ON(!pmd_none(pmdp_get(pmd)));
	folio_add_new_anon_rmap(thp, vma, haddr, RMAP_EXCLUSIVE);
	folio_add_lru(thp);
	/* the emptied table stays with the PMD for a later split */
	pgtable_trans_huge_deposit(mm, pmd, pmd_page(old));
	set_pmd(pmd, entry);
	spin_unlock(pml);
	return SCAN_SUCCEED;

restore:
	/* the pages are still isolated and locked: no anon_vma lock needed */
	pml = pmd_lock(mm, pmd);
	set_pmd(pmd, old);
	spin_unlock(pml);
	up_write(&vma->anon_vma->root->rwsem);
	folio_put(thp);
	return r;
}

/*
 * __collapse_huge_page_swapin(): MADV_COLLAPSE ignores max_ptes_swap, so
 * every swapped-out page of the range is read back first, through the
 * fault path (do_swap_page()), under the mmap_lock the caller holds, once
 * the scan found nothing else in the way (a pinned page: nothing is read).
 */
static enum scan_result collapse_swapin(struct vm_area_struct *vma, unsigned long haddr)
{
	struct mm_struct *mm = vma->vm_mm;

	for (unsigned long addr = haddr; addr < haddr + PMD_SIZE; addr += PAGE_SIZE) {
		pmd_t *pmd = mm_find_pmd(mm, addr);
		spinlock_t *ptl;
		pte_t *pte, v;

		if (!pmd)
			return SCAN_PMD_NULL;
		pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte)
			return SCAN_PMD_NULL;
		v = ptep_get(pte);
		pte_unmap_unlock(pte, ptl);
		if (!is_swapfile_pte(v))
			continue;
		if (handle_mm_fault(vma, addr, 0, NULL) & VM_FAULT_ERROR)
			return SCAN_FAIL;
	}
	return SCAN_SUCCEED;
}

int madvise_collapse(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	unsigned long hstart = ALIGN(start, PMD_SIZE), hend = end & PMD_MASK;
	enum scan_result last = SCAN_FAIL;
	unsigned long thps = 0;

	mmap_assert_write_locked(vma->vm_mm);
	if (!thp_vma_allowable_policy(vma, false))
		return -EINVAL;
	if (hstart >= hend)	/* no whole 2 MiB inside (6.18 here: -EINVAL, even if equal) */
		return -EINVAL;
	for (unsigned long addr = hstart; addr < hend; addr += PMD_SIZE) {
		enum scan_result r;
		pmd_t *pmd;

		if (!thp_vma_suitable(vma, addr) || !vma->anon_vma) {
			last = SCAN_FAIL;
			break;
		}
		r = collapse_scan(vma, addr, &pmd);
		/* swapped-out pages: read them back, then look again */
		if (r == SCAN_SWAPIN) {
			r = collapse_swapin(vma, addr);
			if (r == SCAN_SUCCEED)
				r = collapse_scan(vma, addr, &pmd);
		}
		if (r == SCAN_SUCCEED)
			r = collapse_huge_page(vma, addr, pmd);
		if (r == SCAN_SUCCEED || r == SCAN_PMD_MAPPED) {
			thps++;
			continue;
		}
		last = r;
		/* Linux goes on past these and reports the last; anything else ends it */
		if (r != SCAN_PMD_NULL && r != SCAN_PTE_NON_PRESENT && r != SCAN_PTE_UFFD_WP &&
		    r != SCAN_PAGE_NULL && r != SCAN_PAGE_COUNT && r != SCAN_PAGE_LOCK &&
		    r != SCAN_PAGE_LRU && r != SCAN_DEL_PAGE_LRU)
			break;
	}
	return thps == (hend - hstart) / PMD_SIZE ? 0 : collapse_errno(last);
}
