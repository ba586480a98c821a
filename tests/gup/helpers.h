/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the pinning tests (tests/gup/ and tests/stress/gup_stress.c):
 * a machine and a process per case, anonymous mappings, THPs, what maps an
 * address, page patterns written by the CPU (copy_to_user) or by a "device"
 * (through page_address() of a pinned page), the pin counters, the
 * lock-taking wrappers around the entry points that want mmap_lock held,
 * and the teardown check.
 *
 * Tests may reach src/gup internals (gup/internal.h): gup_fast_fallback()
 * with FOLL_FAST_ONLY is how a test sees what the lockless walk alone did.
 */
#ifndef PINMM_TESTS_GUP_HELPERS_H
#define PINMM_TESTS_GUP_HELPERS_H

#include "../lib/process.h"
#include "../lib/machine.h"

#include "gup/internal.h"

#include <pinmm/bug.h>
#include <pinmm/gup.h>
#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/rcupdate.h>
#include <pinmm/rmap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GT_BASE		0x700000000UL	/* 2 MiB aligned */
#define GT_RW		(PROT_READ | PROT_WRITE)
#define GT_WORDS	(PAGE_SIZE / sizeof(uint64_t))
/* A pages[] value no GUP call writes: "untouched". */
#define GT_POISON	((struct page *)0x5ea1edUL)

static inline void gt_populate(unsigned long addr, unsigned long len)
{
	int err = do_madvise(current->mm, addr, len, MADV_POPULATE_WRITE);

	if (err)
		bail_out("MADV_POPULATE_WRITE(%#lx, %#lx) = %d", addr, len, err);
}

static inline struct page *gt_page(struct mm_struct *mm, unsigned long addr)
{
	unsigned long pfn = test_pt_pfn(mm, addr);

	return pfn == -1UL ? NULL : pfn_to_page(pfn);
}

/* Is the entry mapping @addr writable (PTE or PMD leaf)? */
static inline bool gt_writable(struct mm_struct *mm, unsigned long addr)
{
	bool leaf;
	unsigned long v = test_pt_entry(mm, addr, &leaf);

	return (v & (_PAGE_PRESENT | _PAGE_RW)) == (_PAGE_PRESENT | _PAGE_RW);
}

/*
 * A PMD-mapped THP at @addr (2 MiB aligned): map, MADV_HUGEPAGE, populate
 * by writing. Return true if a PMD leaf maps it (the caller skips otherwise).
 */
static inline bool gt_thp(unsigned long addr)
{
	test_mmap_fixed(addr, PMD_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, addr, PMD_SIZE, MADV_HUGEPAGE))
		bail_out("MADV_HUGEPAGE failed");
	gt_populate(addr, PMD_SIZE);
	return test_pmd_mapped(current->mm, addr) &&
	       folio_order(page_folio(gt_page(current->mm, addr))) == HPAGE_PMD_ORDER;
}

/*
 * Is @page exclusive to its mm? A PMD-mapped THP keeps the bit on its head
 * (Linux: for a THP either the head or the page may carry it).
 */
static inline bool gt_exclusive(struct page *page)
{
	return PageAnonExclusive(page) || PageAnonExclusive(&page_folio(page)->page);
}

/* ---- patterns ---------------------------------------------------------------- */

static inline uint64_t gt_word(uint64_t tag, unsigned long addr, unsigned long w)
{
	return (tag << 48) ^ ((uint64_t)addr << 4) ^ w ^ 0x0123456789abcdefull;
}

/* Fill @npages pages at @addr through the CPU path (faulting, COW). */
static inline bool gt_fill(unsigned long addr, unsigned long npages, uint64_t tag)
{
	static __thread uint64_t buf[GT_WORDS];

	for (unsigned long i = 0; i < npages; i++) {
		unsigned long a = addr + i * PAGE_SIZE;

		for (unsigned long w = 0; w < GT_WORDS; w++)
			buf[w] = gt_word(tag, a, w);
		if (copy_to_user((void __user *)a, buf, PAGE_SIZE))
			return false;
	}
	return true;
}

/* Pages at @addr that do not read back @tag's pattern through the CPU path. */
static inline unsigned long gt_check(unsigned long addr, unsigned long npages, uint64_t tag)
{
	static __thread uint64_t buf[GT_WORDS];
	unsigned long bad = 0;

	for (unsigned long i = 0; i < npages; i++) {
		unsigned long a = addr + i * PAGE_SIZE;

		if (copy_from_user(buf, (const void __user *)a, PAGE_SIZE)) {
			bad++;
			continue;
		}
		for (unsigned long w = 0; w < GT_WORDS; w++)
			if (buf[w] != gt_word(tag, a, w)) {
				bad++;
				break;
			}
	}
	return bad;
}

/* Pages at @addr that read as zeroes through the CPU path (an unreadable one does not). */
static inline unsigned long gt_zero_pages(unsigned long addr, unsigned long npages)
{
	static __thread uint64_t buf[GT_WORDS];
	unsigned long c = 0;

	for (unsigned long i = 0; i < npages; i++) {
		bool zero = true;

		if (copy_from_user(buf, (const void __user *)(addr + i * PAGE_SIZE), PAGE_SIZE))
			continue;
		for (unsigned long w = 0; zero && w < GT_WORDS; w++)
			zero = !buf[w];
		c += zero;
	}
	return c;
}

/* Does @page (seen as a device sees it) hold @tag's pattern for user address @addr? */
static inline bool gt_page_holds(struct page *page, unsigned long addr, uint64_t tag)
{
	const uint64_t *p = page_address(page);

	for (unsigned long w = 0; w < GT_WORDS; w++)
		if (p[w] != gt_word(tag, addr, w))
			return false;
	return true;
}

/* The device writes @tag's pattern for @addr into @page. */
static inline void gt_page_write(struct page *page, unsigned long addr, uint64_t tag)
{
	uint64_t *p = page_address(page);

	for (unsigned long w = 0; w < GT_WORDS; w++)
		p[w] = gt_word(tag, addr, w);
}

/* Pages of the array that do not hold their address's pattern. */
static inline unsigned long gt_pages_bad(struct page **pages, unsigned long n, unsigned long addr,
					 uint64_t tag)
{
	unsigned long bad = 0;

	for (unsigned long i = 0; i < n; i++)
		bad += !pages[i] || !gt_page_holds(pages[i], addr + i * PAGE_SIZE, tag);
	return bad;
}

/* ---- counters ---------------------------------------------------------------- */

static inline long gt_acq(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
}

static inline long gt_rel(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
}

static inline long gt_ev(enum vm_event_item e)
{
	return (long)global_vm_event(e);
}

static inline bool gt_has_pinned(struct mm_struct *mm)
{
	return mm_flags_test(MMF_HAS_PINNED, mm);
}

/* ---- entry points that want mmap_lock held by the caller ---------------------- */

static inline long gt_pin(unsigned long start, unsigned long n, unsigned int flags,
			  struct page **pages)
{
	long r;

	mmap_read_lock(current->mm);
	r = pin_user_pages(start, n, flags, pages);
	mmap_read_unlock(current->mm);
	return r;
}

static inline long gt_get(unsigned long start, unsigned long n, unsigned int flags,
			  struct page **pages)
{
	long r;

	mmap_read_lock(current->mm);
	r = get_user_pages(start, n, flags, pages);
	mmap_read_unlock(current->mm);
	return r;
}

/* Slow (pin_user_pages) or fast (pin_user_pages_fast) pin. */
static inline long gt_pin_any(bool fast, unsigned long start, unsigned long n,
			      unsigned int flags, struct page **pages)
{
	if (fast)
		return pin_user_pages_fast(start, (int)n, flags, pages);
	return gt_pin(start, n, flags, pages);
}

/* The lockless walk alone: pins (or refs) what GUP-fast could take, no fallback. */
static inline long gt_fast_only(unsigned long start, unsigned long n, unsigned int flags,
				struct page **pages)
{
	return gup_fast_fallback(start, n, flags | FOLL_FAST_ONLY, pages);
}

static inline void gt_put_pages(struct page **pages, long n)
{
	for (long i = 0; i < n; i++)
		put_page(pages[i]);
}

/* Expected WARNs: silence their output, return the count before. */
static inline unsigned long gt_warn_begin(bool *saved)
{
	*saved = pinmm_warn_set_quiet(true);
	return pinmm_warn_count();
}

static inline unsigned long gt_warn_end(bool saved, unsigned long before)
{
	pinmm_warn_set_quiet(saved);
	return pinmm_warn_count() - before;
}

/*
 * The end of every case: tasks exit, tables come back after a grace period,
 * only the zero page stays allocated, then the standard teardown (pins
 * balance, free lists consistent, every frame back).
 */
static inline void gt_teardown(const char *name, struct task_struct **tasks, int n)
{
	pinmm_task_detach();
	for (int i = 0; i < n; i++)
		if (tasks[i])
			pinmm_task_exit(tasks[i]);
	rcu_barrier();
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 0,
	       "%s: teardown: nr_anon_pages back to 0 (every mapping dropped)", name);
	is_uint(pinmm_frames_in_use(), 1,
		"%s: teardown: only the zero page is still allocated (no pin kept a frame)", name);
	test_shutdown_ok(name);
}

#endif /* PINMM_TESTS_GUP_HELPERS_H */
