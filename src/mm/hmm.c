// SPDX-License-Identifier: MIT
/*
 * hmm_range_fault() (include/pinmm/hmm.h): read the page tables a page at a
 * time under the page-table lock, fault what the caller requires and is not
 * there, and start over from the faulted page, since the fault may have
 * changed anything before it.
 */
#include <errno.h>
#include <pinmm/hmm.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/mman.h>

/* What the caller requires of entry @i: HMM_PFN_REQ_FAULT and/or _WRITE. */
static unsigned long hmm_required(const struct hmm_range *range, unsigned long i)
{
	unsigned long req = (range->hmm_pfns[i] & range->pfn_flags_mask) | range->default_flags;

	req &= HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	/* a write request implies a fault request */
	return req & HMM_PFN_REQ_WRITE ? req | HMM_PFN_REQ_FAULT : req;
}

/*
 * The CPU's view of @addr: pfn | VALID | WRITE | order, or 0 if nothing is
 * mapped. A device-private page of @owner (the caller's own device) is
 * reported as it is; anyone else's reads as absent, so a requirement
 * faults it back to RAM (Linux's hmm_vma_handle_pte).
 */
static unsigned long hmm_read_entry(struct mm_struct *mm, unsigned long addr, void *owner)
{
	unsigned long out = 0;
	spinlock_t *ptl;
	pmd_t *pmdp, pmd;
	pte_t *ptep, pte;

	pmdp = mm_find_pmd(mm, addr);
	if (!pmdp)
		return 0;
	pmd = pmdp_get_lockless(pmdp);
	if (pmd_leaf(pmd)) {
		ptl = pmd_lock(mm, pmdp);
		pmd = pmdp_get(pmdp);
		if (pmd_leaf(pmd))
			out = (pmd_pfn(pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT)) | HMM_PFN_VALID |
			      (pmd_write(pmd) ? HMM_PFN_WRITE : 0) |
			      ((unsigned long)HPAGE_PMD_ORDER << HMM_PFN_ORDER_SHIFT);
		spin_unlock(ptl);
		if (out)
			return out;
	}
	ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);
	if (!ptep)
		return 0;
	pte = ptep_get(ptep);
	if (pte_present(pte)) {
		out = pte_pfn(pte) | HMM_PFN_VALID | (pte_write(pte) ? HMM_PFN_WRITE : 0);
	} else if (is_device_private_pte(pte)) {
		swp_entry_t e = pte_to_swp_entry(pte);

		if (page_pgmap(pfn_swap_entry_to_page(e))->owner == owner)
			out = swp_offset(e) | HMM_PFN_VALID |
			      (is_writable_device_private_entry(e) ? HMM_PFN_WRITE : 0);
	}
	pte_unmap_unlock(ptep, ptl);
	return out;
}

/* Does @have meet @req? A write request needs a writable, non-zero page. */
static bool hmm_satisfied(unsigned long have, unsigned long req)
{
	if ((req & HMM_PFN_REQ_FAULT) && !(have & HMM_PFN_VALID))
		return false;
	if ((req & HMM_PFN_REQ_WRITE) &&
	    (!(have & HMM_PFN_WRITE) || is_zero_pfn(have & ~HMM_PFN_FLAGS)))
		return false;
	return true;
}

int hmm_range_fault(struct hmm_range *range)
{
	struct mm_struct *mm = range->notifier->mm;
	unsigned long addr = range->start, last = -1UL;
	unsigned int tries = 0;

	mmap_assert_locked(mm);
	if (WARN_ON_ONCE((range->start | range->end) & ~PAGE_MASK) || range->end < range->start)
		return -EINVAL;
	while (addr < range->end) {
		unsigned long i = (addr - range->start) >> PAGE_SHIFT;
		unsigned long req = hmm_required(range, i), have;
		struct vm_area_struct *vma;
		unsigned int flags;

		if (mmu_interval_check_retry(range->notifier, range->notifier_seq))
			return -EBUSY;
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr) {
			if (req)
				return -EFAULT;
			range->hmm_pfns[i] = 0;	/* a hole nobody asked to fill */
			addr += PAGE_SIZE;
			continue;
		}
		if ((vma->vm_flags & (VM_IO | VM_PFNMAP)) || !(vma->vm_flags & VM_READ)) {
			if (req)
				return -EFAULT;
			range->hmm_pfns[i] = HMM_PFN_ERROR;
			addr += PAGE_SIZE;
			continue;
		}
		have = hmm_read_entry(mm, addr, range->dev_private_owner);
		if (hmm_satisfied(have, req)) {
			range->hmm_pfns[i] = have;
			addr += PAGE_SIZE;
			continue;
		}
		if ((req & HMM_PFN_REQ_WRITE) && !(vma->vm_flags & VM_WRITE))
			return -EPERM;
		/* a fault that never yields what it should is a bug, not a reason to spin */
		tries = addr == last ? tries + 1 : 0;
		last = addr;
		if (WARN_ON_ONCE(tries > 8))
			return -EFAULT;
		flags = FAULT_FLAG_REMOTE | ((req & HMM_PFN_REQ_WRITE) ? FAULT_FLAG_WRITE : 0);
		if (handle_mm_fault(vma, addr, flags, NULL) & VM_FAULT_ERROR)
			return -EFAULT;
		/* look again at the same page: the fault may not be the last word */
	}
	return 0;
}
