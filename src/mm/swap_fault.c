// SPDX-License-Identifier: MIT
/*
 * The swap-in fault (Linux: do_swap_page() of mm/memory.c, kept in a file
 * of its own so memory.c only dispatches to it).
 *
 * The PTE holds a swap entry. Find the folio in the swap cache, or claim
 * the slot's cache bit, read the slot into a new folio and put it in the
 * cache; lock it; under the PTE lock check that the entry is still there
 * and map the page, dropping the entry's count on the slot. Exclusivity
 * comes back as Linux decides it: the entry says the page was
 * anon-exclusive, or the folio is new (read for this fault, no one else
 * sees it), or ours is the only reference once the cache let go. An
 * exclusive page is mapped writable where the VMA allows, so neither a
 * write nor a R/O pin has anything to unshare; a shared one is mapped
 * read-only and the next write fault decides (do_wp_page()).
 *
 * The swap cache keeps the folio while other entries still hold the slot
 * (fork), so every process that faults finds the same folio. When the
 * faulting entry was the last, the cache lets go of the folio only as
 * Linux's should_try_to_free_swap() decides: swap more than half full, an
 * mlocked folio, or a write fault by the folio's only user. Otherwise the
 * folio keeps its slot: clean, reclaim can drop it again without a write;
 * a later write fault frees the slot (wp_can_reuse_anon_folio()).
 */
#include <pinmm/swap.h>

#include <pinmm/gfp.h>
#include <pinmm/ksm.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mman.h>
#include <pinmm/mm.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <pinmm/vmstat.h>

#include <errno.h>

/* A new folio for @entry, read in and in the swap cache, locked; NULL to retry, ERR_PTR on error. */
static struct folio *swapin_new_folio(swp_entry_t entry)
{
	struct folio *folio;
	int err;

	folio = folio_alloc(current_gfp_context(GFP_HIGHUSER_MOVABLE), 0);
	if (!folio)
		return ERR_PTR(-ENOMEM);
	err = swapcache_prepare(entry);
	if (err) {
		/* -EEXIST: someone is adding or removing its folio; -ENOENT: gone */
		folio_put(folio);
		return NULL;
	}
	__folio_set_locked(folio);
	if (add_to_swap_cache(folio, entry)) {
		__folio_clear_locked(folio);
		folio_put(folio);
		put_swap_folio_entries(entry, 1);
		return NULL;
	}
	/* put_swap_folio_entries() of the prepare is now the cache's to do */
	err = swap_read_folio(folio, entry);
	if (err) {
		delete_from_swap_cache(folio);
		folio_unlock(folio);
		folio_put(folio);
		return ERR_PTR(-EIO);
	}
	folio_mark_uptodate(folio);
	folio_add_lru(folio);
	return folio;
}

struct folio *read_swap_cache_async(swp_entry_t entry)
{
	struct swap_info_struct *si = get_swap_device(entry);
	struct folio *folio;

	if (!si)
		return NULL;
	pinmm_race_point(PINMM_RACE_SWAPIN_HELD, entry.val);
	folio = swap_cache_get_folio(entry);
	if (!folio) {
		folio = swapin_new_folio(entry);
		if (IS_ERR(folio))
			folio = NULL;
		else if (folio)
			folio_unlock(folio);
	}
	put_swap_device(si);
	return folio;
}

/*
 * After swap_free(): should the cache let go of @folio now? Linux's
 * should_try_to_free_swap(): when slots are scarce, when the folio cannot be
 * reclaimed anyway, or when a write would otherwise find the cache's
 * reference and copy (ours and the cache's are all there are).
 */
static bool should_try_to_free_swap(struct folio *folio, struct vm_area_struct *vma,
				    unsigned int fault_flags)
{
	if (!folio_test_swapcache(folio))
		return false;
	if (vm_swap_full() || (vma->vm_flags & VM_LOCKED) || folio_test_mlocked(folio))
		return true;
	return (fault_flags & FAULT_FLAG_WRITE) && !folio_test_ksm(folio) &&
	       folio_ref_count(folio) == 1 + (int)folio_nr_pages(folio);
}

/* Is the entry the fault read still there? (Linux's pte_unmap_same(), for a retry) */
static bool orig_pte_still_there(struct vm_fault *vmf)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(vmf->vma->vm_mm, vmf->pmd, vmf->address, &ptl);
	bool same;

	if (!pte)
		return false;
	same = pte_same(ptep_get(pte), vmf->orig_pte);
	pte_unmap_unlock(pte, ptl);
	return same;
}

/* The area of @entry is held (get_swap_device()) for the whole fault. */
static vm_fault_t __do_swap_page(struct vm_fault *vmf, swp_entry_t entry)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio, *swapcache;
	struct page *page;
	bool exclusive;
	int rmap_flags = RMAP_NONE;
	vm_fault_t ret = 0;
	pte_t pte;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;

	folio = swap_cache_get_folio(entry);
	if (!folio) {
		folio = swapin_new_folio(entry);
		if (IS_ERR(folio))
			return PTR_ERR(folio) == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		if (!folio) {
			/* another fault or reclaim holds the slot's cache bit: retry */
			cond_resched();
			return 0;
		}
		ret |= VM_FAULT_MAJOR;
		count_vm_event(PGMAJFAULT);
	} else {
		folio_lock(folio);
	}
	swapcache = folio;
	/* reclaim or another fault may have taken it out of the cache meanwhile */
	if (!folio_test_swapcache(folio) ||
	    swp_offset(entry) - swp_offset(folio_swap_entry(folio)) >= folio_nr_pages(folio) ||
	    swp_type(folio_swap_entry(folio)) != swp_type(entry))
		goto out_unlock;
	page = folio_page(folio, swp_offset(entry) - swp_offset(folio_swap_entry(folio)));
	if (!folio_test_uptodate(folio)) {
		ret = VM_FAULT_SIGBUS;
		goto out_unlock;
	}
	/* a slot KSM's page went to: another mm's folio is copied, not mapped */
	folio = ksm_might_need_to_copy(swapcache, vma, vmf->address);
	if (!folio) {
		folio = swapcache;
		ret = VM_FAULT_OOM;
		goto out_unlock;
	}
	if (folio != swapcache)
		page = &folio->page;

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		goto out_unlock;
	if (!pte_same(ptep_get(vmf->pte), vmf->orig_pte))
		goto out_unmap;	/* a racing fault mapped it, or zap took the entry */

	/* under the PTE lock: fork cannot share the entry now */
	/*
	 * Only the entry can say: a folio read for this fault is in the cache
	 * too, where a process that shares the slot after fork will find it.
	 */
	/* a copy is a new page, ours alone */
	exclusive = pte_swp_exclusive(vmf->orig_pte) || folio != swapcache;
	swap_free(entry);
	if (should_try_to_free_swap(folio, vma, vmf->flags))
		folio_free_swap(folio);
	add_mm_counter(mm, MM_ANONPAGES, 1);
	add_mm_counter(mm, MM_SWAPENTS, -1);
	pte = mk_pte(page, vma_pte_prot(vma));
	/* soft-dirty and uffd-wp come back from the entry */
	if (pte_swp_soft_dirty(vmf->orig_pte))
		pte = pte_mksoft_dirty(pte);
	if (pte_swp_uffd_wp(vmf->orig_pte))
		pte = pte_mkuffd_wp(pte);
	/*
	 * Linux's test: certainly not shared (the entry or a new folio says so),
	 * or ours is the only reference now that the cache let go. Writable
	 * only if neither uffd-wp nor soft-dirty tracking wants the next
	 * write to fault.
	 */
	if (!folio_test_ksm(folio) && (exclusive || folio_ref_count(folio) == 1)) {
		if ((vma->vm_flags & VM_WRITE) && !pte_uffd_wp(pte) &&
		    !(vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte))) {
			pte = pte_mkwrite(pte);
			if (vmf->flags & FAULT_FLAG_WRITE)
				pte = pte_mkdirty(pte);
		}
		rmap_flags |= RMAP_EXCLUSIVE;
	}
	pte = pte_mkyoung(pte);
	if (!folio_test_anon(folio)) {
		folio_add_new_anon_rmap(folio, vma, vmf->address, rmap_flags);
		if (folio != swapcache)
			folio_add_lru(folio);
	} else {
		folio_add_anon_rmap_pte(folio, page, vma, vmf->address, rmap_flags);
	}
	set_pte(vmf->pte, pte);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	/* our reference is the new mapping's */
	folio_unlock(folio);
	if (folio != swapcache) {
		/* the cache's folio stays for the slot's other users */
		folio_unlock(swapcache);
		folio_put(swapcache);
	}
	return ret;
out_unmap:
	pte_unmap_unlock(vmf->pte, vmf->ptl);
out_unlock:
	folio_unlock(folio);
	folio_put(folio);
	if (folio != swapcache) {
		folio_unlock(swapcache);
		folio_put(swapcache);
	}
	return ret;
}

vm_fault_t do_swap_page(struct vm_fault *vmf)
{
	swp_entry_t entry = pte_to_swp_entry(vmf->orig_pte);
	struct swap_info_struct *si;
	vm_fault_t ret;

	/*
	 * The entry was read without the PTE lock: another thread may have
	 * zapped it and swapoff freed its area since. Hold the area for the
	 * fault (Linux's get_swap_device()); none held means that race, and
	 * the access retries, unless the entry is still there: then it names
	 * no area at all (Linux's "Bad swap entry").
	 */
	si = get_swap_device(entry);
	if (unlikely(!si)) {
		if (orig_pte_still_there(vmf)) {
			WARN_ON_ONCE(1);
			return VM_FAULT_SIGBUS;
		}
		return 0;
	}
	ret = __do_swap_page(vmf, entry);
	put_swap_device(si);
	return ret;
}
