// SPDX-License-Identifier: MIT
/*
 * Device-exclusive entries (Linux: make_device_exclusive() of mm/rmap.c and
 * remove_device_exclusive_entry() of mm/memory.c). A device that does
 * atomics on system memory, which the bus cannot make atomic with the
 * CPU's, asks for the page for itself: the CPU's PTE becomes a non-present
 * SWP_DEVICE_EXCLUSIVE entry that still holds the mapping (mapcount and
 * reference), so the page neither moves nor goes away; the next CPU access
 * faults, tells the device through an MMU_NOTIFY_EXCLUSIVE invalidation, and
 * gets its PTE back. Nothing is pinned.
 */
#include <errno.h>
#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/rmap.h>

/* a fault that never leaves a writable PTE behind is a bug, not a reason to spin */
#define MAX_TRIES	16

/* Find @addr's page mapped writable: a reference on its folio, or NULL. */
static struct page *grab_writable_page(struct vm_area_struct *vma, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page = NULL;
	spinlock_t *ptl;
	pmd_t *pmd = mm_find_pmd(mm, addr);
	pte_t *ptep, pte;

	if (!pmd)
		return NULL;
	if (pmd_leaf(pmdp_get_lockless(pmd)))
		split_huge_pmd_address(vma, addr);	/* FOLL_SPLIT_PMD */
	if (!pmd_is_table(pmdp_get_lockless(pmd)))
		return NULL;
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		return NULL;
	pte = ptep_get(ptep);
	if (pte_present(pte) && pte_write(pte))
		page = vm_normal_page(vma, addr, pte);
	if (page)
		folio_get(page_folio(page));
	pte_unmap_unlock(ptep, ptl);
	return page;
}

struct page *make_device_exclusive(struct mm_struct *mm, unsigned long addr, void *owner,
				   struct folio **foliop)
{
	struct mmu_notifier_range range;
	struct vm_area_struct *vma;
	struct folio *folio;
	struct page *page;
	int tries = 0;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	mmap_assert_locked(mm);
	addr &= PAGE_MASK;
	vma = find_vma(mm, addr);
	if (!vma || vma->vm_start > addr)
		return ERR_PTR(-EFAULT);
	/* GUP's FOLL_WRITE without FOLL_FORCE: check_vma_flags() refuses */
	if (!(vma->vm_flags & VM_WRITE))
		return ERR_PTR(-EFAULT);
	/* anonymous private memory only (Linux: anon folios; shmem is not) */
	if (!vma_is_anonymous(vma) || !is_cow_mapping(vma->vm_flags))
		return ERR_PTR(-EOPNOTSUPP);
retry:
	/* the page must be there and writable: fault it in as GUP's FOLL_WRITE would */
	while (!(page = grab_writable_page(vma, addr))) {
		vm_fault_t ret;

		if (++tries > MAX_TRIES)
			return ERR_PTR(-EBUSY);
		ret = handle_mm_fault(vma, addr, FAULT_FLAG_WRITE | FAULT_FLAG_REMOTE, NULL);
		if (ret & VM_FAULT_ERROR)
			return ERR_PTR(ret & VM_FAULT_OOM ? -ENOMEM : -EFAULT);
	}
	folio = page_folio(page);
	if (!folio_test_anon(folio) || folio_is_zone_device(folio)) {
		folio_put(folio);
		return ERR_PTR(-EOPNOTSUPP);
	}
	if (!folio_trylock(folio)) {
		folio_put(folio);
		return ERR_PTR(-EBUSY);
	}
	/* other mirrors lose the page; @owner's own may skip this event */
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_EXCLUSIVE, 0, mm, addr, addr + PAGE_SIZE,
				      owner);
	mmu_notifier_invalidate_range_start(&range);
	ptep = pte_offset_map_lock(mm, mm_find_pmd(mm, addr), addr, &ptl);
	pte = ptep ? ptep_get(ptep) : __pte(0);
	if (!ptep || !pte_present(pte) || !pte_write(pte) || pte_pfn(pte) != page_to_pfn(page)) {
		/* changed meanwhile (zapped, COWed, migrated): start again */
		if (ptep)
			pte_unmap_unlock(ptep, ptl);
		mmu_notifier_invalidate_range_end(&range);
		folio_unlock(folio);
		folio_put(folio);
		if (++tries > MAX_TRIES)
			return ERR_PTR(-EBUSY);
		goto retry;
	}
	pte = ptep_get_and_clear(ptep);
	if (pte_dirty(pte))
		folio_mark_dirty(folio);
	/* the entry keeps the mapping: its mapcount, its reference, its rss */
	set_pte(ptep, __pte(pte_val(swp_entry_to_pte(swp_entry(SWP_DEVICE_EXCLUSIVE,
								page_to_pfn(page)))) |
			    (pte_val(pte) & _PAGE_SOFT_DIRTY)));
	pte_unmap_unlock(ptep, ptl);
	mmu_notifier_invalidate_range_end(&range);
	*foliop = folio;
	return page;
}

void restore_exclusive_pte(struct vm_area_struct *vma, unsigned long addr, pte_t *ptep)
{
	pte_t orig = ptep_get(ptep);
	struct page *page = pfn_swap_entry_to_page(pte_to_swp_entry(orig));
	struct folio *folio = page_folio(page);
	pte_t pte = pte_mkold(mk_pte(page, vma_pte_prot(vma)));

	(void)addr;
	if (pte_val(orig) & _PAGE_SOFT_DIRTY)
		pte = __pte(pte_val(pte) | _PAGE_SOFT_DIRTY);
	/* writable again only where a write needs no COW first */
	if ((vma->vm_flags & VM_WRITE) && folio_test_anon(folio) && PageAnonExclusive(page)) {
		pte = pte_mkwrite(pte);
		if (folio_test_dirty(folio))
			pte = pte_mkdirty(pte);
	}
	set_pte(ptep, pte);
}

vm_fault_t remove_device_exclusive_entry(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	struct page *page = pfn_swap_entry_to_page(pte_to_swp_entry(vmf->orig_pte));
	struct folio *folio = page_folio(page);
	struct mmu_notifier_range range;

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		return 0;
	if (!pte_same(ptep_get(vmf->pte), vmf->orig_pte)) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;
	}
	folio_get(folio);	/* the entry holds one: ours is never the first */
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	folio_lock(folio);
	/* the device loses its exclusive access: no owner, every mirror hears it */
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_EXCLUSIVE, 0, mm, vmf->address,
				      vmf->address + PAGE_SIZE, NULL);
	mmu_notifier_invalidate_range_start(&range);
	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (vmf->pte) {
		if (pte_same(ptep_get(vmf->pte), vmf->orig_pte))
			restore_exclusive_pte(vmf->vma, vmf->address, vmf->pte);
		pte_unmap_unlock(vmf->pte, vmf->ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	folio_unlock(folio);
	folio_put(folio);
	return 0;
}
