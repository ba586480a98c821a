/* SPDX-License-Identifier: MIT */
/*
 * hmm_range_fault(): a device driver's snapshot of the CPU page tables of a
 * range, faulting in what it asks for, without taking any reference or pin
 * (case 3 of the pinning cases). Coherence comes from an interval notifier:
 * the result is valid until the notifier's sequence moves
 * (Documentation/mm/hmm.rst, mm/hmm.c).
 */
#ifndef PINMM_HMM_H
#define PINMM_HMM_H

#include <pinmm/mm.h>
#include <pinmm/mmu_notifier.h>

/* Output bits of hmm_pfns[] entries (high bits; the pfn is in the low bits). */
#define HMM_PFN_VALID		(1UL << 63)	/* a page is mapped: the pfn is good */
#define HMM_PFN_WRITE		(1UL << 62)	/* ... and the CPU may write it */
#define HMM_PFN_ERROR		(1UL << 61)	/* never usable (I/O, PFNMAP, no access) */
#define HMM_PFN_ORDER_SHIFT	56		/* 5 bits: the order of the CPU mapping */
#define HMM_PFN_FLAGS		(0xffUL << HMM_PFN_ORDER_SHIFT)
/* Input bits: what the caller requires (fault it in if it is not so). */
#define HMM_PFN_REQ_FAULT	HMM_PFN_VALID
#define HMM_PFN_REQ_WRITE	HMM_PFN_WRITE

struct hmm_range {
	struct mmu_interval_notifier *notifier;
	unsigned long notifier_seq;	/* from mmu_interval_read_begin() */
	unsigned long start, end;	/* page-aligned user range */
	unsigned long *hmm_pfns;	/* one per page: input requests, output pfns */
	unsigned long default_flags;	/* requests for every page */
	unsigned long pfn_flags_mask;	/* which per-page request bits count */
	void *dev_private_owner;
};

/**
 * hmm_range_fault - fill @range->hmm_pfns from the page tables of the
 * notifier's mm, faulting in pages whose request (default_flags, or the
 * entry's own bits under pfn_flags_mask) is not met.
 * @range: notifier, notifier_seq, start, end, hmm_pfns, flags.
 *
 * No reference is taken on any page: the caller checks
 * mmu_interval_read_retry() under its own lock before using the pfns.
 * Context: the mm's mmap_lock held for reading (faults keep it held).
 * Return: 0; -EBUSY when an invalidation ran since notifier_seq (take a new
 * sequence and call again); -EFAULT for a required page in a hole, an
 * I/O or PFNMAP mapping, a VMA without read access, or a failed fault;
 * -EPERM for a required write in a VMA without VM_WRITE.
 */
int hmm_range_fault(struct hmm_range *range);

static inline struct page *hmm_pfn_to_page(unsigned long hmm_pfn)
{
	return pfn_to_page(hmm_pfn & ~HMM_PFN_FLAGS);
}

static inline unsigned int hmm_pfn_to_map_order(unsigned long hmm_pfn)
{
	return (hmm_pfn >> HMM_PFN_ORDER_SHIFT) & 0x1f;
}

#endif /* PINMM_HMM_H */
