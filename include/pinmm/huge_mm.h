/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages (src/mm/huge_memory.c): 2 MiB anon folios mapped by
 * one PMD leaf, their COW, fork, zap, mprotect and split.
 *
 * Policy, as /sys/kernel/mm/transparent_hugepage/enabled: "madvise" by
 * default (only VMAs with VM_HUGEPAGE), "always", or "never". An anon write
 * fault in a 2 MiB-aligned range that lies wholly inside an eligible VMA
 * allocates an order-9 folio (GFP_TRANSHUGE; small pages and
 * THP_FAULT_FALLBACK when there is none). A read fault maps the huge zero
 * folio (below), unless use_zero_page is off; a write to it allocates a THP.
 *
 * Every THP PMD has a PTE table deposited with it, so splitting the PMD
 * (split_huge_pmd) never needs memory. A write to a PMD-mapped THP that is not
 * exclusive splits the PMD and COWs the one 4 KiB page (Linux's behaviour);
 * a partial munmap/mprotect/MADV_DONTNEED splits the PMD first.
 */
#ifndef PINMM_HUGE_MM_H
#define PINMM_HUGE_MM_H

#include <pinmm/mm.h>

/*
 * The huge zero folio (Linux: mm/huge_memory.c): a read fault in a THP-sized
 * range maps one shared, zero-filled 2 MiB folio by a read-only, special PMD
 * instead of 512 small zero pages. It exists while some mm uses it (each mm
 * counts once, MMF_HUGE_ZERO_FOLIO) and is freed with the last; pins of it
 * hold ordinary references and may outlive that.
 */
extern struct folio *_Atomic pinmm_huge_zero_folio;
extern _Atomic unsigned long pinmm_huge_zero_pfn;

static inline bool is_huge_zero_folio(const struct folio *folio)
{
	return folio == atomic_load_explicit(&pinmm_huge_zero_folio, memory_order_relaxed);
}

static inline bool is_huge_zero_pfn(unsigned long pfn)
{
	return pfn == atomic_load_explicit(&pinmm_huge_zero_pfn, memory_order_relaxed);
}

static inline bool is_huge_zero_pmd(pmd_t pmd)
{
	return pmd_present(pmd) && pmd_leaf(pmd) && is_huge_zero_pfn(pmd_pfn(pmd));
}

/**
 * mm_get_huge_zero_folio - the huge zero folio, allocated on first use; @mm
 * holds a use of it until mm_put_huge_zero_folio() at exit.
 * Context: may allocate (GFP_TRANSHUGE from unmovable memory). No locks held
 * that rank above the zone lock.
 * Return: the folio, or NULL when no 2 MiB of unmovable memory is free.
 */
struct folio *mm_get_huge_zero_folio(struct mm_struct *mm);
/* mm_put_huge_zero_folio - @mm is gone: give its use back (exit_mmap()). */
void mm_put_huge_zero_folio(struct mm_struct *mm);
/* /sys/kernel/mm/transparent_hugepage/use_zero_page: on by default; return the old value. */
bool pinmm_thp_set_use_zero_page(bool on);

enum transparent_hugepage_mode {
	THP_MODE_NEVER,
	THP_MODE_MADVISE,
	THP_MODE_ALWAYS,
};

/* pinmm_thp_set_mode - set the global THP policy; return the previous one. */
enum transparent_hugepage_mode pinmm_thp_set_mode(enum transparent_hugepage_mode mode);
enum transparent_hugepage_mode pinmm_thp_get_mode(void);

/**
 * thp_vma_allowable - may an anon fault at @address be served by a PMD THP?
 * @vma: the VMA.
 * @address: the faulting address.
 *
 * Anonymous, not VM_NOHUGEPAGE, the policy allows it (VM_HUGEPAGE under
 * "madvise"), and the aligned 2 MiB around @address lies inside @vma with a
 * linear page index aligned to 512.
 * Return: true if a THP may be faulted in.
 */
bool thp_vma_allowable(struct vm_area_struct *vma, unsigned long address);
/*
 * The two halves of thp_vma_allowable(): may @vma have PMD THPs at all
 * (@enforce_sysfs: also under the global policy; MADV_COLLAPSE ignores it,
 * as Linux's thp_vma_allowable_order() without TVA_ENFORCE_SYSFS), and does
 * the aligned 2 MiB around @address fit in @vma (thp_vma_suitable_order()).
 */
bool thp_vma_allowable_policy(struct vm_area_struct *vma, bool enforce_sysfs);
bool thp_vma_suitable(struct vm_area_struct *vma, unsigned long address);

/**
 * madvise_collapse - MADV_COLLAPSE: map each 2 MiB-aligned range wholly
 * inside [@start, @end) of @vma by a freshly allocated PMD THP.
 * @vma: an anonymous private VMA containing [@start, @end).
 * @start: page-aligned start.
 * @end: page-aligned end.
 *
 * The pages are copied into the new THP (Linux's collapse_huge_page(), not
 * in place); pages shared with another mm stay with it. Any page whose
 * refcount is more than its mappings (a pin, a GUP reference) stops the
 * collapse of its range: a DMA pin must keep seeing what the CPU maps.
 * Context: mmap_lock held for writing.
 * Return: 0 when every range is PMD-mapped at the end; else Linux's
 * madvise_collapse_errno() of the last failure: -EINVAL (not eligible, no
 * whole aligned 2 MiB, no page table, non-present entries, no page at all),
 * -EAGAIN (a page pinned, locked or isolated: may succeed later), -ENOMEM
 * (no THP to be had). Read-only entries collapse (Linux 6.18).
 */
int madvise_collapse(struct vm_area_struct *vma, unsigned long start, unsigned long end);

/*
 * The fault side, called by handle_mm_fault() with mmap_lock held for
 * reading; each returns VM_FAULT_FALLBACK to mean "continue with PTEs".
 */
vm_fault_t do_huge_pmd_anonymous_page(struct vm_fault *vmf);
vm_fault_t do_huge_pmd_wp_page(struct vm_fault *vmf);
void huge_pmd_set_accessed(struct vm_fault *vmf);

/**
 * split_huge_pmd - replace a PMD leaf by a PTE table mapping the same pages.
 * @vma: the VMA.
 * @pmd: the PMD entry.
 * @address: any address inside the 2 MiB it maps.
 *
 * Each of the 512 PTEs keeps the PMD's write, dirty and young bits and each
 * page inherits the head's PageAnonExclusive; the PMD's mapping becomes 512
 * PTE mappings (and references). Counts THP_SPLIT_PMD. Does nothing if the
 * entry is no longer a leaf. MMU notifiers see a CLEAR event for the 2 MiB.
 * Context: mmap_lock held (read or write); takes the PMD-table lock.
 */
void split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address);
/* split_huge_pmd() without notifiers, for callers inside their own range. */
void __split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address);
/* Split the PMD mapping @address in @vma, if there is one. */
void split_huge_pmd_address(struct vm_area_struct *vma, unsigned long address);
/**
 * split_huge_pmd_address_freeze - the PMD leaf at @address, if it maps
 * @folio, becomes 512 PTE migration entries (Linux's split_huge_pmd_address()
 * with freeze, for a folio split).
 * @vma: the VMA; @address: inside it; @folio: the locked anon THP being split.
 *
 * An anon-exclusive folio is shared first (folio_try_share_anon_rmap_pmd());
 * if it may be pinned the PMD is split into ordinary PTEs instead, still
 * mapping it. Counts THP_SPLIT_PMD either way.
 * Context: mmap_lock or the rmap lock held; takes the PMD lock.
 */
void split_huge_pmd_address_freeze(struct vm_area_struct *vma, unsigned long address,
				   struct folio *folio);

/**
 * vma_adjust_trans_huge - split PMD THPs that straddle @start or @end.
 * @vma: the VMA about to be split, shrunk or partly changed.
 * @start: a boundary (split only if it is not 2 MiB aligned).
 * @end: the other boundary.
 *
 * Context: mmap_lock held for writing.
 */
void vma_adjust_trans_huge(struct vm_area_struct *vma, unsigned long start,
			   unsigned long end);

/* Zap, fork and mprotect of one PMD leaf (memory.c, mprotect.c). */
void zap_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr);
/*
 * do_set_pmd - map a locked, PMD-sized page-cache folio (shmem THP) at the
 * fault address with one PMD, if the VMA covers the aligned 2 MiB, the
 * folio lies exactly under it and the PMD is empty. Return 0 (mapped: the
 * fault's folio reference is the mapping's) or VM_FAULT_FALLBACK.
 * Context: mmap_lock held; takes the PMD lock.
 */
vm_fault_t do_set_pmd(struct vm_fault *vmf, struct folio *folio, bool write);
/* 0 copied; -EAGAIN the source was split (copy the PTEs); -ENOMEM. */
int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
		  pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long addr);
/* Return 1 if the leaf was changed, 0 if it was not a leaf any more. */
int change_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
		    pgprot_t newprot);

/**
 * can_split_folio - may @folio be split: is every reference explained?
 * @folio: a large folio.
 * @caller_pins: the references the caller holds (1 for a split).
 * @pextra_pins: if not NULL, set to the references the swap cache (anon) or
 *               the page cache holds: one per page.
 *
 * A pin (its GUP_PIN_COUNTING_BIAS, or one reference on a large folio) or
 * a GET reference on any page is a reference no mapping explains.
 * Context: any; a snapshot (the split freezes the count to be sure).
 * Return: true if refcount == mapcount + the caches' + @caller_pins.
 */
bool can_split_folio(struct folio *folio, int caller_pins, int *pextra_pins);

/**
 * split_huge_page_to_list_to_order - split a large anon folio, mapped or
 * not, into order-0 folios (Linux's __folio_split(), uniform split to order 0).
 * @page: a page of the folio; the caller's lock and reference end up on
 *        @page's new folio.
 * @list: NULL, or (for an isolated folio) where the tails go, isolated, each
 *        with one reference for the caller.
 * @new_order: 0 (other orders: -EINVAL).
 *
 * In Linux's order: can_split_folio() (a pin or a GET anywhere: -EAGAIN,
 * nothing touched); every PMD becomes PTE migration entries (an exclusive
 * folio is shared first, split_huge_pmd_address_freeze()) and every PTE a
 * migration entry (folio_try_share_anon_rmap_pte() refuses a page that may
 * be pinned: it stays mapped); the refcount is frozen at the caller's
 * reference plus the swap cache's. Any failure maps everything back as it
 * was (PMDs stay split) and returns -EAGAIN. Then each page becomes a
 * folio with the folio's flags, mapping, index and swap slot and its own
 * anon-exclusive bit, the migration entries become its mappings again, and
 * every new folio but @page's is unlocked and put (freed if nothing maps
 * it). Counts THP_SPLIT_PAGE or THP_SPLIT_PAGE_FAILED for a PMD-sized folio.
 * Context: folio locked and referenced; mmap_lock may be held; no
 * page-table or rmap lock held.
 * Return: 0; -EAGAIN (extra references, a page maybe pinned); -EBUSY
 * (page-cache folio, writeback, or mapped with no anon_vma); -EINVAL
 * (small, hugetlb or device folio, or @new_order != 0).
 */
int split_huge_page_to_list_to_order(struct page *page, struct list_head *list,
				     unsigned int new_order);
/* split_huge_page_to_list_to_order() at @folio's head, to order 0. */
int split_folio_to_list(struct folio *folio, struct list_head *list);
int split_folio(struct folio *folio);
int split_huge_page(struct page *page);

/* ---- the deferred-split queue (Linux's deferred_split_folio() and shrinker) ---- */

/**
 * deferred_split_folio - queue a large anon folio that rmap found partly
 * mapped, for deferred_split_scan() to split: its unmapped pages are then
 * freed (Linux splits them under memory pressure, not at munmap, where the
 * split could fail or sleep).
 * @folio: an anon folio of order >= 2 whose last mapping of some page went
 *	   while other pages stay mapped.
 * @partially_mapped: true (Linux also queues new THPs for its "underused"
 *	   shrinker; pinmm does not).
 * Counts thp_deferred_split_page once per folio.
 * Context: any, page-table locks may be held (the queue's lock is a leaf).
 */
void deferred_split_folio(struct folio *folio, bool partially_mapped);
/* Take @folio off the queue (its last reference went, or it is being split). */
void folio_unqueue_deferred_split(struct folio *folio);
/**
 * deferred_split_scan - the shrinker: try to split up to @nr_to_scan queued
 * folios (0: all there are now).
 * Each is referenced and taken off the queue, try-locked and split
 * (split_folio()); one that stays whole (locked by someone, pinned or
 * GET-referenced: can_split_folio()) and still partly mapped goes back on
 * the queue for a later scan.
 * Context: may sleep; no locks held (direct reclaim calls it).
 * Return: the number of folios split.
 */
unsigned long deferred_split_scan(unsigned long nr_to_scan);
/* How many folios are queued (Linux's deferred_split_count()). */
unsigned long deferred_split_count(void);
/* Boot: an empty queue. */
void deferred_split_reset(void);

#endif /* PINMM_HUGE_MM_H */
