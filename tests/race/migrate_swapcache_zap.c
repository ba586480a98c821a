// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * A batch migration against a zap that waits out a frozen swap-cache folio
 * (Linux mm/migrate.c migrate_pages_batch(), mm/swapfile.c
 * free_swap_and_cache_nr()): the window held open with the race point
 * migrate_frozen. Two pages A and B were swapped out and read back (both in
 * the swap cache); a fork child maps A and still holds B's swap entry, in the
 * same page table. The batch migrates A then B. While B is frozen the child
 * exits: its zap takes the child's PTE lock and, meeting B's swap entry,
 * waits in the swap-cache lookup for B to unfreeze. Linux freezes a folio
 * only inside its own move, so nothing else of the batch needs that PTE lock
 * meanwhile. pinmm's batch copy froze every small folio up front; then A's
 * remap waited for the child's PTE lock while the zap waited for B: a
 * deadlock (found by ksm_stress). Swap-cache folios are not frozen early now.
 */
#include "steps.h"

#include <pinmm/migrate.h>
#include <pinmm/swap.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define A	GT_BASE
#define B	(GT_BASE + PAGE_SIZE)

static struct task_struct *parent, *child;
static unsigned long pfn_b;
static pthread_t exiter;
static atomic_bool migrated;
static unsigned int succ;
static struct folio *fa, *fb;

static void *child_exits(void *arg)
{
	(void)arg;
	pinmm_task_exit(child);
	return NULL;
}

/* B frozen: the child exits now, its zap meets B's swap entry; we go on 200 ms later. */
static void exit_while_frozen(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (!first_at(point, addr, pfn_b))
		return;
	pthread_create(&exiter, NULL, child_exits, NULL);
	usleep(200 * 1000);
}

static void *migrator(void *arg)
{
	struct migration_target_control mtc = { .gfp_mask = GFP_USER, .reason = MR_SYSCALL };
	LIST_HEAD(list);

	(void)arg;
	if (folio_isolate_lru(fa))
		list_add_tail(&fa->lru, &list);
	if (folio_isolate_lru(fb))
		list_add_tail(&fb->lru, &list);
	migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc, MIGRATE_SYNC,
		      MR_SYSCALL, &succ);
	putback_movable_pages(&list);
	atomic_store(&migrated, true);
	return NULL;
}

static void batch_vs_exiting_child(void)
{
	pthread_t th;
	double until;

	test_boot(64, 0, 0);
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) != 0)
		bail_out("swapon");
	parent = test_process("batch-zap");
	test_mmap_fixed(GT_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(parent->mm, GT_BASE, 4 * PAGE_SIZE, MADV_NOHUGEPAGE) || !gt_fill(A, 2, 0x5a) ||
	    do_madvise(parent->mm, A, 2 * PAGE_SIZE, MADV_PAGEOUT))
		bail_out("setup: fill, pageout");
	if (pinmm_fork(parent, "batch-zap-child", &child))
		bail_out("fork");
	pinmm_task_attach(child);
	gt_check(A, 1, 0x5a);			/* the child maps A */
	pinmm_task_detach();
	pinmm_task_attach(parent);
	gt_check(A, 2, 0x5a);			/* the parent reads both back: in the swap cache */
	fa = page_folio(gt_page(parent->mm, A));
	fb = page_folio(gt_page(parent->mm, B));
	pfn_b = folio_pfn(fb);
	ok(folio_test_swapcache(fa) && folio_test_swapcache(fb),
	   "setup: A and B are mapped swap-cache folios; the child maps A and holds B's swap entry");

	arm(PINMM_RACE_MIGRATE_FROZEN, exit_while_frozen);
	pthread_create(&th, NULL, migrator, NULL);
	until = now_sec() + 10;
	while (!atomic_load(&migrated) && now_sec() < until)
		usleep(10 * 1000);
	if (!atomic_load(&migrated)) {
		ok(false, "migrate_frozen: the batch finished (it deadlocked with the exiting child)");
		bail_out("deadlock: the batch and the child's zap wait for each other");
	}
	pthread_join(th, NULL);
	pinmm_race_disarm(PINMM_RACE_MIGRATE_FROZEN);
	if (atomic_load(&hits[PINMM_RACE_MIGRATE_FROZEN]))
		pthread_join(exiter, NULL);
	else
		pinmm_task_exit(child);
	ok(atomic_load(&hits[PINMM_RACE_MIGRATE_FROZEN]) == 1,
	   "migrate_frozen: the child exited while B was frozen");
	is_uint(succ, 2, "migrate_pages: the batch moved both A and B, and the child's exit ended");
	is_uint(gt_check(A, 2, 0x5a), 0, "the parent reads A and B, moved, intact");
	gt_teardown("batch_vs_exiting_child", &parent, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	batch_vs_exiting_child();
	return done_testing();
}
