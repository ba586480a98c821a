/* SPDX-License-Identifier: MIT */
/*
 * KSM, kernel samepage merging (Linux: mm/ksm.c, include/linux/ksm.h).
 *
 * madvise(MADV_MERGEABLE) marks private anonymous memory VM_MERGEABLE and
 * registers its mm with the scanner (ksmd). The scanner walks the registered
 * mms a few pages at a time; a page whose contents did not change between
 * two passes goes into the unstable tree (sorted by contents, rebuilt every
 * pass); two equal pages there are merged into one write-protected KSM page
 * that enters the stable tree; later equal pages map it too. A write to a
 * KSM page copies it (do_wp_page never reuses one).
 *
 * The pin rule: merging write-protects a page first, and refuses a page
 * whose reference count says someone besides its mappings holds it (a pin,
 * a GUP reference) or that folio_try_share_anon_rmap_pte() finds maybe
 * pinned. A KSM page is never PageAnonExclusive, so a R/O pin of one
 * unshares (copies) it first (gup_must_unshare) and a write pin breaks COW.
 *
 * Controls are /sys/kernel/mm/ksm's: run (0 stop, 1 merge, 2 unmerge all),
 * pages_to_scan, sleep_millisecs; pinmm_ksm_scan() runs the scanner in the
 * calling thread for deterministic tests. Counters are /sys/kernel/mm/ksm's
 * pages_shared, pages_sharing, pages_unshared, pages_volatile, full_scans.
 *
 * Locks: ksm_thread_mutex (rank LOCK_RANK_KSM, above mmap_lock) serialises
 * the scanner, run changes and mm exit; the trees and every rmap item are
 * under it. The mm list has its own spinlock, taken under mmap_lock by
 * madvise and fork.
 */
#ifndef PINMM_KSM_H
#define PINMM_KSM_H

#include <pinmm/mm_types.h>

#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE		12
#endif
#ifndef MADV_UNMERGEABLE
#define MADV_UNMERGEABLE	13
#endif

/* /sys/kernel/mm/ksm/run */
#define KSM_RUN_STOP	0
#define KSM_RUN_MERGE	1
#define KSM_RUN_UNMERGE	2

/**
 * ksm_madvise() - MADV_MERGEABLE / MADV_UNMERGEABLE on [@start, @end) of @vma.
 * @vma: the VMA (mmap_lock held for writing).
 * @start: first byte, inside @vma.
 * @end: first byte after, inside @vma.
 * @advice: MADV_MERGEABLE or MADV_UNMERGEABLE.
 * @vm_flags: in: @vma's flags; out: with VM_MERGEABLE set or cleared.
 *
 * MERGEABLE on a VMA KSM cannot handle (shared, VM_PFNMAP/VM_IO, hugetlb,
 * VM_DONTEXPAND, VM_MIXEDMAP, DAX) leaves the flags alone and returns 0, as
 * Linux does (vma_ksm_compatible()). UNMERGEABLE first breaks COW on every
 * KSM page of the range (break_ksm()).
 * Context: may sleep; mmap_lock held for writing.
 * Return: 0, -ENOMEM (registering the mm, or a copy failed), -EINVAL for
 * another @advice.
 */
int ksm_madvise(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		int advice, vm_flags_t *vm_flags);

/* vma_ksm_compatible - may KSM merge pages of @vma at all? */
bool vma_ksm_compatible(const struct vm_area_struct *vma);

/* __ksm_enter - register @mm with the scanner (MMF_VM_MERGEABLE); -ENOMEM. */
int __ksm_enter(struct mm_struct *mm);
/* __ksm_exit - forget @mm: its rmap items, then stable nodes nobody maps. */
void __ksm_exit(struct mm_struct *mm);

/* fork: a child of a registered mm is registered too (dup_mm, child write-locked). */
static inline int ksm_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	if (mm_flags_test(MMF_VM_MERGEABLE, oldmm))
		return __ksm_enter(mm);
	return 0;
}

/* mmput, after exit_mmap(): the mm's pages are gone, so are its KSM records. */
static inline void ksm_exit(struct mm_struct *mm)
{
	if (mm_flags_test(MMF_VM_MERGEABLE, mm))
		__ksm_exit(mm);
}

struct rmap_walk_control;
/**
 * rmap_walk_ksm() - rmap_walk() for a KSM folio: the VMAs of its stable
 * node's rmap items, and of their forks at the same addresses.
 * Context: @folio locked; takes anon_vma rwsems for reading.
 */
void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc);
/**
 * folio_migrate_ksm() - migration moved KSM @folio's contents and ->mapping
 * to @newfolio: the stable node follows. Context: both folios locked.
 */
void folio_migrate_ksm(struct folio *newfolio, struct folio *folio);
/**
 * folio_migrate_ksm_done() - after the remap walk of a migration, the old KSM
 * @folio (locked) stops standing for its stable node.
 *
 * Linux clears the old folio's node in folio_migrate_ksm(); pinmm's
 * remove_migration_ptes() walks the old folio, so only afterwards. Whoever
 * still holds a reference to the old folio (a reclaim scan) then walks no
 * node, while the scanner may drop that node once the new folio is gone.
 */
void folio_migrate_ksm_done(struct folio *folio);
/**
 * ksm_might_need_to_copy() - the folio a swap-in fault at @addr of @vma may map.
 * @folio: the swap-cache folio found for the entry, locked, with a reference.
 *
 * A slot a KSM page was swapped to is shared by mms that are not related by
 * fork. Each may map @folio only while it is still the KSM page, or when it
 * belongs to the faulting VMA's anon_vma tree at this index (or to no one
 * yet); otherwise the fault gets a copy, as Linux's ksm_might_need_to_copy()
 * gives it.
 * Return: @folio; or a new locked, uptodate, dirty order-0 copy holding one
 * reference, which the caller maps as a new exclusive anon folio and adds to
 * the LRU (@folio stays locked and referenced: the caller releases it); NULL
 * when no memory for the copy.
 */
struct folio *ksm_might_need_to_copy(struct folio *folio, struct vm_area_struct *vma,
				     unsigned long addr);

/* Boot and shutdown (pinmm_boot / pinmm_shutdown): stops ksmd, frees all. */
void ksm_init(void);
void ksm_shutdown(void);

/* ---- machine controls (/sys/kernel/mm/ksm) -------------------------------- */

/**
 * pinmm_ksm_set_run() - write /sys/kernel/mm/ksm/run.
 * @run: KSM_RUN_STOP, KSM_RUN_MERGE (ksmd scans pages_to_scan pages every
 *	 sleep_millisecs) or KSM_RUN_UNMERGE (every KSM page of every
 *	 registered mm is copied back, every record dropped; then stopped).
 * Context: may sleep; takes ksm_thread_mutex, and each mm's mmap_lock for
 * KSM_RUN_UNMERGE. Starts ksmd the first time merging is asked for.
 * Return: 0, -EINVAL for another value, -ENOMEM (thread, or an unmerge
 * that could not copy; run is then KSM_RUN_STOP as in Linux).
 */
int pinmm_ksm_set_run(unsigned int run);
unsigned int pinmm_ksm_run(void);
/* pages_to_scan (1..) and sleep_millisecs; -EINVAL for 0 pages. */
int pinmm_ksm_set_pages_to_scan(unsigned long pages);
int pinmm_ksm_set_sleep_millisecs(unsigned int ms);

/**
 * pinmm_ksm_scan() - one ksmd batch of up to @nr_pages, in this thread.
 * @nr_pages: how many pages to look at.
 *
 * What ksmd does on each wake-up, whatever `run` says, so tests decide
 * exactly when merging happens. A batch ends early at the end of a full
 * scan (as ksm_do_scan() does), or when no mm is registered.
 * Context: may sleep; takes ksm_thread_mutex.
 * Return: pages looked at.
 */
unsigned long pinmm_ksm_scan(unsigned long nr_pages);

/* pinmm_ksm_full_scans_wait - scan in this thread until @n more full scans end. */
void pinmm_ksm_scan_full(unsigned int n);

struct pinmm_ksm_stats {
	unsigned long pages_shared;	/* KSM pages in use */
	unsigned long pages_sharing;	/* more sites sharing them: the saving */
	unsigned long pages_unshared;	/* unique pages in the unstable tree */
	unsigned long pages_volatile;	/* pages changing too fast to be merged */
	unsigned long pages_scanned;
	unsigned long full_scans;
	unsigned long stable_nodes;	/* nodes in the stable tree (mapped or not) */
	unsigned long rmap_items;
	unsigned long mm_slots;
};

/* pinmm_ksm_get_stats - the counters, read under ksm_thread_mutex (exact). */
void pinmm_ksm_get_stats(struct pinmm_ksm_stats *st);

#endif /* PINMM_KSM_H */
