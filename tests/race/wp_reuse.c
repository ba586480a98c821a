// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * The write fault on a read-only small anon page (Linux mm/memory.c
 * do_wp_page(), wp_can_reuse_anon_folio()) against GUP-fast, the race held
 * open with the race point wp_reuse (include/pinmm/race.h). The page was
 * shared with a child that has exited: refcount 1, mapped once, but not
 * PageAnonExclusive, so the fault decides between reusing it and copying.
 * Linux's rule: reuse only if the refcount, read again under the folio lock,
 * is still 1. Here GUP-fast (no page-table lock) takes a reference after the
 * unlocked test saw 1 and before the lock: the fault must copy, and the GUP
 * holder's page must keep the data it had. Without the locked re-read the
 * write lands in the page the holder sees.
 */
#include "steps.h"

#include <stdio.h>

#define A	(GT_BASE + 3 * PAGE_SIZE)
#define TAG	0x5752

static struct task_struct *proc;
static struct page *gpage;
static unsigned long pfn;
static long got;

/* A page the process shared with a child that exited: read-only, not exclusive, count 1. */
static void setup(void)
{
	struct task_struct *child;
	struct folio *folio;

	test_boot(64, 0, 0);
	proc = test_process("wp_reuse");
	test_mmap_fixed(GT_BASE, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(proc->mm, GT_BASE, 8 * PAGE_SIZE, MADV_NOHUGEPAGE) ||
	    !gt_fill(GT_BASE, 8, TAG))
		bail_out("wp_reuse: fill");
	if (pinmm_fork(proc, "child", &child))
		bail_out("wp_reuse: fork");
	pinmm_task_exit(child);
	rcu_barrier();
	folio = page_folio(gt_page(proc->mm, A));
	pfn = folio_pfn(folio);
	ok(!folio_test_large(folio) && !gt_writable(proc->mm, A) &&
	   !PageAnonExclusive(&folio->page) && folio_ref_count(folio) == 1,
	   "wp_reuse: setup: the page is mapped read-only, not exclusive, one reference");
}

static void *gupper(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	got = get_user_pages_fast_only(A, 1, 0, &gpage);
	pinmm_task_detach();
	return NULL;
}

static void get_before_lock(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, pfn))
		run_beside(gupper);
}

static void ref_taken_before_lock(void)
{
	unsigned long warns;
	uint64_t v = 0x77;
	long ret;

	setup();
	warns = pinmm_warn_count();
	got = 0;
	arm(PINMM_RACE_WP_REUSE, get_before_lock);
	ret = copy_to_user((void __user *)A, &v, sizeof(v)) ? -EFAULT : 0;
	pinmm_race_disarm(PINMM_RACE_WP_REUSE);
	ok(atomic_load(&hits[PINMM_RACE_WP_REUSE]) == 1 && got == 1 && ret == 0,
	   "wp_reuse: GUP-fast took a reference after the fault saw the count at 1, before the "
	   "folio lock; the write went through");
	ok(test_pt_pfn(proc->mm, A) != pfn && gt_writable(proc->mm, A),
	   "wp_can_reuse_anon_folio: the count read again under the folio lock is 2: the page "
	   "was copied, not reused");
	ok(got == 1 && page_to_pfn(gpage) == pfn && gt_page_holds(gpage, A, TAG),
	   "wp_reuse: the GUP holder's page keeps its data (the write went to the copy)");
	is_uint(pinmm_warn_count() - warns, 0, "wp_reuse: no WARN");
	if (got == 1)
		put_page(gpage);
	gt_teardown("wp_reuse", &proc, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	ref_taken_before_lock();
	return done_testing();
}
