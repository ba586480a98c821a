// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * The write fault on a read-only THP PMD (Linux mm/huge_memory.c
 * do_huge_pmd_wp_page()) against what runs beside it, each race held open
 * with a race point (include/pinmm/race.h); each case fails if its check is
 * removed. The THP was shared with a child that has exited: refcount 1,
 * mapped once, but not PageAnonExclusive, so the fault must decide between
 * reusing it and falling back (split the PMD, copy the 4 KiB written).
 *  - the pmd_same() re-check under the PMD lock: between the fault's
 *    lockless read of the PMD and the lock, MADV_DONTNEED zaps the PMD
 *    (someone else still holds a reference to the folio). The fault must see
 *    the PMD changed and start again, or it maps the zapped folio back,
 *    writable, from its stale copy of the entry;
 *  - the refcount re-read under the folio lock: after the unlocked test saw
 *    the count at 1, GUP-fast (which takes no PMD lock) takes a reference.
 *    The fault must not reuse the folio: it falls back and copies the page
 *    written, and the GUP holder's page keeps the data it had.
 * Every case ends with the references balanced and every frame free.
 */
#include "steps.h"

#include <stdio.h>

#define H	(GT_BASE + PMD_SIZE)		/* a 2 MiB aligned THP */
#define W	(H + 5 * PAGE_SIZE)		/* the page written */
#define G	(H + 7 * PAGE_SIZE)		/* the page GUP-fast takes */
#define TAG	0x4857

static struct task_struct *proc;
static struct folio *thp;
static unsigned long thp_pfn;

/* A THP the process shared with a child that exited: read-only, not exclusive, count 1. */
static bool setup(const char *comm)
{
	struct task_struct *child;

	test_boot(64, 0, 0);
	proc = test_process(comm);
	if (!gt_thp(H))
		return false;
	gt_fill(H, HPAGE_PMD_NR, TAG);
	if (pinmm_fork(proc, "child", &child))
		bail_out("%s: fork", comm);
	pinmm_task_exit(child);
	rcu_barrier();
	thp = page_folio(gt_page(proc->mm, H));
	thp_pfn = folio_pfn(thp);
	ok(test_pmd_mapped(proc->mm, H) && !gt_writable(proc->mm, H) &&
	   !PageAnonExclusive(&thp->page) && folio_ref_count(thp) == 1,
	   "%s: setup: the THP is PMD-mapped read-only, not exclusive, one reference", comm);
	return true;
}

static long write_w(void)
{
	uint64_t v = 0x77;

	return copy_to_user((void __user *)W, &v, sizeof(v)) ? -EFAULT : 0;
}

/* ---- the PMD changes between the fault's lockless read and the lock ----------------- */

static void *zapper(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	do_madvise(proc->mm, H, PMD_SIZE, MADV_DONTNEED);
	pinmm_task_detach();
	return NULL;
}

static void zap_before_lock(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, H)) {
		folio_get(thp);		/* another holder: the zap does not free it */
		run_beside(zapper);
	}
}

static void pmd_changed_before_lock(void)
{
	unsigned long warns;
	long ret;

	if (!setup("wp_pmd_same")) {
		skip(5, "no PMD-mapped THP");
		gt_teardown("wp_pmd_same", &proc, 1);
		return;
	}
	warns = pinmm_warn_count();
	arm(PINMM_RACE_HUGE_WP_FAULT, zap_before_lock);
	ret = write_w();
	pinmm_race_disarm(PINMM_RACE_HUGE_WP_FAULT);
	ok(atomic_load(&hits[PINMM_RACE_HUGE_WP_FAULT]) >= 1 && ret == 0,
	   "wp_pmd_same: MADV_DONTNEED zapped the PMD between the fault's read and its lock; "
	   "the write went through");
	ok(!folio_mapped(thp) && test_pt_pfn(proc->mm, H) != thp_pfn,
	   "wp_pmd_same: the zapped THP is not mapped back (pmd_same() saw the change)");
	ok(test_pt_pfn(proc->mm, W) != thp_pfn + 5 && gt_writable(proc->mm, W),
	   "wp_pmd_same: the write landed in a fresh page");
	is_uint(pinmm_warn_count() - warns, 0, "wp_pmd_same: no WARN");
	folio_put(thp);
	gt_teardown("wp_pmd_same", &proc, 1);
}

/* ---- a reference taken between the unlocked count and the folio lock ---------------- */

static struct page *gpage;
static long got;

static void *gupper(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	got = get_user_pages_fast_only(G, 1, 0, &gpage);
	pinmm_task_detach();
	return NULL;
}

static void get_before_lock(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, H))
		run_beside(gupper);
}

static void ref_taken_before_lock(void)
{
	unsigned long warns;
	long ret;

	if (!setup("wp_refcount")) {
		skip(5, "no PMD-mapped THP");
		gt_teardown("wp_refcount", &proc, 1);
		return;
	}
	warns = pinmm_warn_count();
	got = 0;
	arm(PINMM_RACE_HUGE_WP_REUSE, get_before_lock);
	ret = write_w();
	pinmm_race_disarm(PINMM_RACE_HUGE_WP_REUSE);
	ok(atomic_load(&hits[PINMM_RACE_HUGE_WP_REUSE]) == 1 && got == 1 && ret == 0,
	   "wp_refcount: GUP-fast took a reference after the fault saw the count at 1, before "
	   "the folio lock; the write went through");
	ok(!test_pmd_mapped(proc->mm, H) && test_pt_pfn(proc->mm, W) != thp_pfn + 5 &&
	   gt_writable(proc->mm, W),
	   "wp_refcount: the THP was not reused: the PMD was split and the written page copied");
	ok(got == 1 && page_to_pfn(gpage) == thp_pfn + 7 && gt_page_holds(gpage, G, TAG),
	   "wp_refcount: the GUP holder's page keeps its data");
	is_uint(pinmm_warn_count() - warns, 0, "wp_refcount: no WARN");
	if (got == 1)
		put_page(gpage);
	gt_teardown("wp_refcount", &proc, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	pmd_changed_before_lock();
	ref_taken_before_lock();
	return done_testing();
}
