/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID/clear_refs and /proc/PID/pagemap of an mm (Linux:
 * fs/proc/task_mmu.c), as functions: what a soft-dirty tracker (CRIU, a
 * live-migrating VMM) writes and reads. docs/soft-dirty-uffd.md.
 */
#ifndef PINMM_TASK_MMU_H
#define PINMM_TASK_MMU_H

#include <pinmm/mm_types.h>

/* The values written to clear_refs (Linux's enum clear_refs_types). */
enum clear_refs_types {
	CLEAR_REFS_ALL = 1,		/* young bits of every page */
	CLEAR_REFS_ANON,		/* ... of anon pages */
	CLEAR_REFS_MAPPED,		/* ... of file pages */
	CLEAR_REFS_SOFT_DIRTY,		/* "4": start soft-dirty tracking anew */
	CLEAR_REFS_MM_HIWATER_RSS,	/* reset the RSS high-water mark */
	CLEAR_REFS_LAST,
};

/* Bits of a pagemap entry, as /proc/PID/pagemap (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PFRAME_MASK		((1ULL << 55) - 1)	/* pfn if present */
#define PM_SOFT_DIRTY		(1ULL << 55)
#define PM_MMAP_EXCLUSIVE	(1ULL << 56)		/* page mapped exactly once */
#define PM_UFFD_WP		(1ULL << 57)
#define PM_GUARD_REGION		(1ULL << 58)		/* a guard marker (MADV_GUARD_INSTALL) */
#define PM_FILE			(1ULL << 61)		/* file page or shared anon */
#define PM_SWAP			(1ULL << 62)		/* swap, migration or device entry */
#define PM_PRESENT		(1ULL << 63)

/**
 * pinmm_clear_refs() - write @type to /proc/PID/clear_refs of @mm.
 * @mm: the address space.
 * @type: an enum clear_refs_types value.
 *
 * CLEAR_REFS_SOFT_DIRTY clears VM_SOFTDIRTY on every VMA, then
 * write-protects every present entry and clears its soft-dirty bit, so the
 * next write faults and sets it again — except a writable PTE of a page that
 * may be pinned in a COW mapping of an MMF_HAS_PINNED mm (Linux's
 * pte_is_pinned()): a device may write it any time, so it stays writable and
 * soft-dirty. PMD leaves are write-protected pinned or not, as Linux's
 * clear_soft_dirty_pmd() does; their next write fault reuses the exclusive
 * THP in place, so the pin stays coherent.
 * Context: takes mmap_lock (for writing for CLEAR_REFS_SOFT_DIRTY).
 * Return: 0, -EINVAL for an unknown @type, -EINTR if killed waiting.
 */
int pinmm_clear_refs(struct mm_struct *mm, int type);

/**
 * pinmm_pagemap_read() - @nr entries of /proc/PID/pagemap from @addr.
 * @mm: the address space.
 * @addr: page-aligned user address.
 * @nr: entries wanted.
 * @out: @nr 64-bit entries: PM_* flags and, if present, the pfn.
 *
 * A hole reads as soft-dirty when its VMA has VM_SOFTDIRTY (as Linux).
 * Context: takes mmap_lock for reading.
 * Return: 0, -EINVAL for a misaligned @addr.
 */
int pinmm_pagemap_read(struct mm_struct *mm, unsigned long addr, unsigned long nr,
		       uint64_t *out);

#endif /* PINMM_TASK_MMU_H */
