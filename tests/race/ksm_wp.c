// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * KSM's write-protect before a merge (Linux mm/ksm.c write_protect_page(),
 * called from try_to_merge_one_page()) against a zap and a fault beside it,
 * the race held open with the race point ksm_wrprotect
 * (include/pinmm/race.h). KSM looked the page up under the PTE lock, took a
 * reference and dropped the lock; it holds mmap_lock only for reading, so
 * MADV_DONTNEED and a new fault can change the entry before
 * write_protect_page() takes the lock again. Linux's rule: under the lock,
 * the entry must still be present and map the folio KSM holds, or the merge
 * is off (-EFAULT). Without that re-check KSM write-protects and then
 * replaces whatever the entry maps now: the new page's data is lost, the
 * address maps the KSM page, and the old folio loses a mapping it never had.
 */
#include "steps.h"

#include <pinmm/ksm.h>

#include <stdio.h>

#define A	GT_BASE			/* page 0: KSM's tree page, zapped and faulted anew */
#define B	(GT_BASE + PAGE_SIZE)	/* page 1: the same data */
#define SAME	0x5a5a5a5aUL
#define NEW	0x4e4e4e4eUL

static struct task_struct *proc;

static void fill(unsigned long addr, unsigned long v)
{
	for (unsigned long off = 0; off < PAGE_SIZE; off += sizeof(v))
		if (put_user(v, (unsigned long __user *)(addr + off)))
			bail_out("ksm_wp: fill");
}

static unsigned long word(unsigned long addr)
{
	unsigned long v = 0;

	if (get_user(v, (unsigned long __user *)addr))
		return ~0UL;
	return v;
}

/* Beside the merge: MADV_DONTNEED on page 0, then a write faults a new page in. */
static void *zap_and_refault(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	if (do_madvise(proc->mm, A, PAGE_SIZE, MADV_DONTNEED) == 0)
		fill(A, NEW);
	pinmm_task_detach();
	return NULL;
}

static void change_before_lock(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, A))
		run_beside(zap_and_refault);
}

static void entry_changed_before_lock(void)
{
	unsigned long warns, old_pfn;

	test_boot(64, 0, 0);
	proc = test_process("ksm_wp");
	test_mmap_fixed(GT_BASE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	fill(A, SAME);
	fill(B, SAME);
	is_int(do_madvise(proc->mm, GT_BASE, 2 * PAGE_SIZE, MADV_MERGEABLE), 0, "MADV_MERGEABLE");
	old_pfn = test_pt_pfn(proc->mm, A);
	warns = pinmm_warn_count();
	arm(PINMM_RACE_KSM_WRPROTECT, change_before_lock);
	pinmm_ksm_scan_full(3);
	pinmm_race_disarm(PINMM_RACE_KSM_WRPROTECT);
	ok(atomic_load(&hits[PINMM_RACE_KSM_WRPROTECT]) >= 1 && word(A) != ~0UL,
	   "ksm_wrprotect: page 0 was zapped and faulted anew while KSM held its old page");
	ok(word(A) == NEW && word(A + PAGE_SIZE - sizeof(long)) == NEW,
	   "write_protect_page: the entry re-read under the PTE lock maps another page: no merge "
	   "there, the new page keeps the data written");
	ok(test_pt_pfn(proc->mm, A) != old_pfn && !folio_test_ksm(pfn_folio(test_pt_pfn(proc->mm, A))),
	   "the address maps the new page, not a KSM page");
	ok(word(B) == SAME, "page 1 still reads its data");
	is_uint(pinmm_warn_count() - warns, 0, "ksm_wrprotect: no WARN");
	gt_teardown("ksm_wp", &proc, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	entry_changed_before_lock();
	return done_testing();
}
