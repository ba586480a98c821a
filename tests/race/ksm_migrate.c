// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * KSM's lookup of a stable node's page (Linux mm/ksm.c ksm_get_folio())
 * against a migration of that page, held open with the race point
 * ksm_get_folio (include/pinmm/race.h). Migration moves the node's kpfn to
 * the new frame (folio_migrate_ksm()) and then clears the old frame's
 * ->mapping. Linux's rule: a lookup that finds the old frame no longer the
 * node's page reads kpfn again before it calls the node stale ("it might
 * be under migration"). Without that, the scanner drops and frees a node
 * the new frame still points at: the stable tree loses a live KSM page,
 * and the next look at the page reads freed memory (the corruption
 * tests/stress/ksm_stress met under load).
 */
#include "steps.h"

#include <pinmm/ksm.h>
#include <pinmm/migrate.h>

#include <stdio.h>

#define SAME	0x5a5a5a5aUL
#define OTHER	0x17171717UL

static struct task_struct *proc;
static unsigned long kpfn;
static bool reuse;		/* the old frame is allocated again before the lookup goes on */
static struct folio *reused;	/* then: that allocation, freed at the end */

static void fill(unsigned long addr, unsigned long v)
{
	for (unsigned long off = 0; off < PAGE_SIZE; off += sizeof(v))
		if (put_user(v, (unsigned long __user *)(addr + off)))
			bail_out("ksm_migrate: fill");
}

static struct pinmm_ksm_stats stats(void)
{
	struct pinmm_ksm_stats st;

	pinmm_ksm_get_stats(&st);
	return st;
}

/* Move the KSM page to a new frame, the whole migration, in another thread. */
static void *migrate_ksm_page(void *arg)
{
	static struct migration_target_control to_any = { .gfp_mask = GFP_USER,
							  .reason = MR_SYSCALL };
	struct folio *kf = pfn_folio(kpfn);
	unsigned int succ = 0;
	LIST_HEAD(list);

	(void)arg;
	pinmm_task_attach(proc);	/* a CPU of the machine: its per-CPU lists */
	if (!folio_isolate_lru(kf))
		goto out;
	list_add_tail(&kf->lru, &list);
	migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&to_any,
		      MIGRATE_SYNC, MR_SYSCALL, &succ);
	if (!list_empty(&list))
		putback_movable_pages(&list);
	/* the freed frame is on this thread's per-CPU list, taken first */
	for (int i = 0; reuse && !reused && i < 64; i++) {
		struct folio *f = folio_alloc(GFP_HIGHUSER_MOVABLE, 0);

		if (!f)
			break;
		if (folio_pfn(f) == kpfn)
			reused = f;
		else
			folio_put(f);
	}
out:
	pinmm_task_detach();
	return NULL;
}

static void migrate_under_lookup(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, kpfn))
		run_beside(migrate_ksm_page);
}

/*
 * @frame_reused false: the old frame is free when the lookup goes on (its
 * reference grab fails); true: something else allocated it meanwhile (the
 * grab succeeds, ->mapping is not the node's).
 */
static void node_moves_under_lookup(bool frame_reused)
{
	unsigned long warns, npfn;
	bool merged = true;

	reuse = frame_reused;
	reused = NULL;
	diag("the old frame %s when the lookup goes on", reuse ? "allocated again" : "free");
	test_boot(64, 0, 0);
	proc = test_process("ksm_migrate");
	test_mmap_fixed(GT_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	for (int i = 0; i < 3; i++)
		fill(GT_BASE + i * PAGE_SIZE, SAME);
	fill(GT_BASE + 3 * PAGE_SIZE, OTHER);
	is_int(do_madvise(proc->mm, GT_BASE, 4 * PAGE_SIZE, MADV_MERGEABLE), 0, "MADV_MERGEABLE");
	pinmm_ksm_scan_full(3);
	kpfn = test_pt_pfn(proc->mm, GT_BASE);
	ok(stats().pages_shared == 1 && stats().pages_sharing == 2 &&
	   folio_test_ksm(pfn_folio(kpfn)), "pages 0-2 share one KSM page");

	/* page 3 becomes equal: the scan looks the KSM page up in the stable tree */
	fill(GT_BASE + 3 * PAGE_SIZE, SAME);
	warns = pinmm_warn_count();
	arm(PINMM_RACE_KSM_GET_FOLIO, migrate_under_lookup);
	pinmm_ksm_scan_full(2);
	pinmm_race_disarm(PINMM_RACE_KSM_GET_FOLIO);
	npfn = test_pt_pfn(proc->mm, GT_BASE);
	ok(atomic_load(&hits[PINMM_RACE_KSM_GET_FOLIO]) >= 1 && npfn != kpfn,
	   "ksm_get_folio: the KSM page migrated while the scan looked its node up");
	if (reuse)
		ok(reused != NULL, "the old frame was allocated again meanwhile");
	is_uint(stats().stable_nodes, 1,
		"ksm_get_folio: a node whose kpfn moved is read again, not dropped as stale");
	for (int i = 0; i < 4; i++)
		merged &= test_pt_pfn(proc->mm, GT_BASE + i * PAGE_SIZE) == npfn;
	ok(merged && folio_test_ksm(pfn_folio(npfn)),
	   "the scan found the moved KSM page and merged page 3 into it");
	ok(stats().pages_shared == 1 && stats().pages_sharing == 3, "pages_shared 1, pages_sharing 3");
	fill(GT_BASE, OTHER);
	ok(test_pt_pfn(proc->mm, GT_BASE) != npfn, "a write still breaks COW on the moved page");
	pinmm_ksm_scan_full(2);
	is_uint(stats().pages_sharing, 2, "the scanner takes the broken site off the node");
	is_uint(pinmm_warn_count() - warns, 0, "no WARN");
	if (reused)
		folio_put(reused);
	gt_teardown("ksm_migrate", &proc, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	node_moves_under_lookup(false);
	node_moves_under_lookup(true);
	return done_testing();
}
