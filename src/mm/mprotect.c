// SPDX-License-Identifier: MIT
/*
 * change_protection(): the page-table side of mprotect (Linux: mm/mprotect.c).
 * The VMA side (splitting, flags, merging) is do_mprotect() in mmap.c.
 *
 * The rule that matters for pins (Linux can_change_pte_writable): an entry
 * becomes writable directly only when no COW can be pending behind it — an
 * exclusive anon page of a private mapping, or an already dirty page of a
 * shared one. Everything else stays read-only and takes a write fault, which
 * decides between reuse and copy.
 */
#include <pinmm/huge_mm.h>
#include <pinmm/hugetlb.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/rmap.h>

static bool can_change_pte_writable(struct vm_area_struct *vma, unsigned long addr, pte_t pte,
				    pgprot_t newprot)
{
	struct page *page;

	if (!(vma->vm_flags & VM_WRITE) || !(newprot.pgprot & _PAGE_USER))
		return false;	/* not writable at all, or PROT_NONE */
	/* a clean entry under soft-dirty tracking, or uffd-wp: the write must fault */
	if (vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte))
		return false;
	if ((vma->vm_flags & VM_UFFD_WP) && pte_uffd_wp(pte))
		return false;
	if (!(vma->vm_flags & VM_SHARED)) {
		/* what the write fault would do without any other check */
		page = vm_normal_page(vma, addr, pte);
		return page && PageAnon(page) && PageAnonExclusive(page);
	}
	/* shared: a clean page may still need the filesystem's write fault */
	return pte_dirty(pte);
}

static long change_pte_range(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
			     unsigned long end, pgprot_t newprot)
{
	struct mm_struct *mm = vma->vm_mm;
	long pages = 0;
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return 0;
	for (; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t old = ptep_get(pte), ptent;

		if (pte_none(old))
			continue;
		if (!pte_present(old)) {
			swp_entry_t e = pte_to_swp_entry(old);
			/* Linux keeps these on the new entry too */
			const unsigned long keep = _PAGE_SOFT_DIRTY | _PAGE_SWP_UFFD_WP;

			/* a page under migration comes back read-only; it refaults */
			if (is_writable_migration_entry(e)) {
				bool anon = folio_test_anon(pfn_folio(swp_offset(e)));

				set_pte(pte, __pte(pte_val(swp_entry_to_pte(swp_entry(
					anon ? SWP_MIGRATION_READ_EXCLUSIVE : SWP_MIGRATION_READ,
					swp_offset(e)))) | (pte_val(old) & keep)));
				pages++;
			} else if (is_writable_device_private_entry(e)) {
				/* so is a page in device-private memory */
				set_pte(pte, __pte(pte_val(swp_entry_to_pte(
					make_readable_device_private_entry(swp_offset(e)))) |
					(pte_val(old) & keep)));
				pages++;
			}
			continue;
		}
		ptent = pte_modify(old, newprot);
		if (!(vma->vm_flags & VM_SHARED))
			ptent = pte_wrprotect(ptent);
		if (!pte_write(ptent) && can_change_pte_writable(vma, addr, old, newprot))
			ptent = pte_mkwrite(ptent);
		if (!pte_same(ptent, old)) {
			set_pte(pte, ptent);
			pages++;
		}
	}
	pte_unmap_unlock(pte - 1, ptl);
	return pages;
}

long change_protection(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, unsigned long newflags)
{
	struct mm_struct *mm = vma->vm_mm;
	pgprot_t newprot = pgprot_entry(vma_get_page_prot(vma, newflags));
	struct mmu_notifier_range range;
	unsigned long addr;
	long pages = 0;

	start = max(start, vma->vm_start);
	end = min(end, vma->vm_end);
	if (start >= end)
		return 0;
	if (is_vm_hugetlb_page(vma)) {
		mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, 0, mm, start, end);
		mmu_notifier_invalidate_range_start(&range);
		pages = hugetlb_change_protection(vma, start, end, newprot);
		mmu_notifier_invalidate_range_end(&range);
		return pages;
	}
	/* THPs straddling the ends are split; the rest change whole */
	vma_adjust_trans_huge(vma, start, end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	for (addr = start; addr < end;) {
		unsigned long next = pmd_addr_end(addr, end);
		pmd_t *pmd = mm_find_pmd(mm, addr);
		pmd_t val;

		if (!pmd) {
			addr = pud_addr_end(addr, end);
			continue;
		}
		val = pmdp_get_lockless(pmd);
		if (pmd_leaf(val) || is_swap_pmd(val)) {
			if (IS_ALIGNED(addr, PMD_SIZE) && next - addr == PMD_SIZE &&
			    change_huge_pmd(vma, pmd, addr, newprot)) {
				pages += HPAGE_PMD_NR;
				addr = next;
				continue;
			}
			__split_huge_pmd(vma, pmd, addr);
		}
		if (pmd_is_table(pmdp_get_lockless(pmd)))
			pages += change_pte_range(vma, pmd, addr, next, newprot);
		addr = next;
	}
	mmu_notifier_invalidate_range_end(&range);
	return pages;
}
