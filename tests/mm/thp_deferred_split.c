// SPDX-License-Identifier: MIT
/*
 * The deferred-split queue (Linux mm/huge_memory.c deferred_split_folio(),
 * deferred_split_scan(); mm/rmap.c __folio_remove_rmap()). The rules:
 *  R-DS-QUEUE    rmap queues a large anon folio when a page loses its last
 *                mapping while others keep theirs (munmap, MADV_DONTNEED of
 *                part of a THP), once however many pieces go, and counts
 *                thp_deferred_split_page; the unmapped pages stay allocated
 *                until the split. A folio another mm still maps whole (a fork
 *                child's PMD) is not partly mapped and is not queued.
 *  R-DS-SCAN     the shrinker splits a queued folio: the unmapped pages are
 *                freed, the mapped ones stay mapped with their data, the
 *                queue is empty, thp_split_page counts it. Direct reclaim
 *                runs it: an allocation that finds no free page gets the
 *                unmapped pages.
 *  R-DS-PIN      can_split_folio(): a pin on any page keeps the folio whole
 *                and queued (its unmapped pages stay allocated); after the
 *                unpin the next scan splits it.
 *  R-DS-FREE     a queued folio whose last mapping and reference go leaves
 *                the queue as it is freed (folio_unqueue_deferred_split()),
 *                and one split by another caller (KSM, reclaim) leaves it in
 *                the split, before its second page is cleared.
 *  R-DS-SWAP     mm/vmscan.c shrink_folio_list(): reclaim splits a partly
 *                mapped folio before swap-out, and __folio_split() frees the
 *                tails nothing maps or holds (zapped) at once instead of
 *                leaving them on reclaim's list: only the mapped pages are
 *                written to swap.
 *  R-DS-MIGRATE  migration of a queued folio queues the destination
 *                (migrate_folio_move()), the source leaves with its free.
 */
#include "../gup/helpers.h"

#include <pinmm/migrate.h>
#include <pinmm/pagemap.h>
#include <pinmm/swap.h>

#define B	GT_BASE
#define NR	HPAGE_PMD_NR
#define HALF	(PMD_SIZE / 2)

/* Free frames, the CPUs' lists included (NR_FREE_PAGES leaves those out). */
static long free_pages(void)
{
	return -(long)pinmm_frames_in_use();
}

/* A PMD-mapped THP at B with a pattern, in a fresh machine; false: no THP here. */
static bool thp_setup(struct task_struct **t, const char *comm)
{
	test_boot(TEST_MEM_MB, 0, 0);
	*t = test_process(comm);
	if (!gt_thp(B))
		return false;
	gt_fill(B, NR, 7);
	return true;
}

static void queue_and_scan(void)
{
	struct task_struct *t[1];
	struct folio *folio;
	long q0, split0, free0, free1;
	unsigned long pfn0;

	if (!thp_setup(&t[0], "ds")) {
		skip(8, "no THP");
		gt_teardown("queue", t, 1);
		return;
	}
	pfn0 = test_pt_pfn(current->mm, B);
	folio = page_folio(pfn_to_page(pfn0));
	q0 = gt_ev(THP_DEFERRED_SPLIT_PAGE);
	split0 = gt_ev(THP_SPLIT_PAGE);
	is_uint(deferred_split_count(), 0, "R-DS-QUEUE: nothing queued while the THP is mapped whole");
	/* the upper half goes in two pieces: queued once */
	if (vm_munmap(B + HALF, HALF / 2) || vm_munmap(B + HALF + HALF / 2, HALF / 2))
		bail_out("munmap");
	free0 = free_pages();
	ok(deferred_split_count() == 1 && folio_test_partially_mapped(folio) &&
	   folio_test_large(folio),
	   "R-DS-QUEUE: half unmapped (in two munmaps), the folio is queued once, still whole");
	is_int(gt_ev(THP_DEFERRED_SPLIT_PAGE) - q0, 1, "R-DS-QUEUE: thp_deferred_split_page counts it once");
	is_uint(deferred_split_scan(0), 1, "R-DS-SCAN: the scan splits it");
	free1 = free_pages();
	ok(free1 - free0 >= (long)NR / 2,
	   "R-DS-SCAN: the %lu unmapped pages are freed (free pages %+ld)", NR / 2, free1 - free0);
	ok(deferred_split_count() == 0 && gt_ev(THP_SPLIT_PAGE) - split0 == 1,
	   "R-DS-SCAN: the queue is empty, thp_split_page counted");
	is_int(gt_ev(THP_DEFERRED_SPLIT_PAGE) - q0, 1,
	       "R-DS-SCAN: the split's own unmapping did not queue the folio again");
	ok(!folio_test_large(page_folio(pfn_to_page(pfn0))) && test_pt_pfn(current->mm, B) == pfn0,
	   "R-DS-SCAN: the mapped half stays mapped at its pages, now order-0 folios");
	is_uint(gt_check(B, NR / 2, 7), 0, "R-DS-SCAN: the mapped half keeps its data");
	gt_teardown("queue", t, 1);
}

static void pinned(void)
{
	struct task_struct *t[1];
	struct page *page;
	long free0;

	if (!thp_setup(&t[0], "ds-pin")) {
		skip(5, "no THP");
		gt_teardown("pinned", t, 1);
		return;
	}
	if (pin_user_pages_fast(B + 3 * PAGE_SIZE, 1, FOLL_WRITE, &page) != 1)
		bail_out("pin");
	if (do_madvise(current->mm, B + HALF, HALF, MADV_DONTNEED))
		bail_out("MADV_DONTNEED");
	is_uint(deferred_split_count(), 1, "R-DS-QUEUE: MADV_DONTNEED of half a pinned THP queues it");
	free0 = free_pages();
	is_uint(deferred_split_scan(0), 0, "R-DS-PIN: a pinned folio is not split");
	ok(deferred_split_count() == 1 && folio_test_large(page_folio(page)) &&
	   free_pages() - free0 < (long)NR / 2,
	   "R-DS-PIN: it stays whole and queued, its unmapped pages still allocated");
	unpin_user_page(page);
	is_uint(deferred_split_scan(0), 1, "R-DS-PIN: after the unpin the next scan splits it");
	ok(deferred_split_count() == 0 && free_pages() - free0 >= (long)NR / 2,
	   "R-DS-PIN: and frees the unmapped half (free pages %+ld)", free_pages() - free0);
	gt_teardown("pinned", t, 1);
}

static void freed_while_queued(void)
{
	struct task_struct *t[1];

	if (!thp_setup(&t[0], "ds-free")) {
		skip(2, "no THP");
		gt_teardown("free", t, 1);
		return;
	}
	vm_munmap(B, PAGE_SIZE);
	is_uint(deferred_split_count(), 1, "R-DS-QUEUE: one page unmapped queues the folio");
	vm_munmap(B + PAGE_SIZE, PMD_SIZE - PAGE_SIZE);
	is_uint(deferred_split_count(), 0,
		"R-DS-FREE: the rest unmapped, the folio is freed and off the queue");
	gt_teardown("free", t, 1);
}

static void split_by_another(void)
{
	struct task_struct *t[1];
	struct folio *folio;
	int ret;

	if (!thp_setup(&t[0], "ds-other")) {
		skip(2, "no THP");
		gt_teardown("other", t, 1);
		return;
	}
	vm_munmap(B + HALF, HALF);
	folio = page_folio(gt_page(current->mm, B));
	folio_get(folio);
	folio_lock(folio);
	ret = split_folio(folio);
	folio_unlock(folio);
	folio_put(folio);
	ok(ret == 0 && deferred_split_count() == 0,
	   "R-DS-FREE: a queued folio split by another caller leaves the queue");
	is_uint(deferred_split_scan(0), 0, "R-DS-FREE: the scan finds nothing left to split");
	gt_teardown("other", t, 1);
}

static void fork_keeps_whole(void)
{
	struct task_struct *t[2] = { NULL, NULL };

	if (!thp_setup(&t[0], "ds-parent")) {
		skip(2, "no THP");
		gt_teardown("fork", t, 1);
		return;
	}
	if (pinmm_fork(t[0], "ds-child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[1]);
	vm_munmap(B + HALF, HALF);
	is_uint(deferred_split_count(), 0,
		"R-DS-QUEUE: the child unmaps half, the parent's PMD still maps every page: "
		"not queued");
	pinmm_task_attach(t[0]);
	vm_munmap(B, HALF);
	is_uint(deferred_split_count(), 0,
		"R-DS-QUEUE: the parent unmaps the other half: each page still has a mapping "
		"(the child's or the parent's), so no page was unmapped: not queued");
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	is_uint(deferred_split_count(), 1,
		"R-DS-QUEUE: the child exits: its half loses its last mappings, queued");
	gt_teardown("fork", t, 2);
}

static void reclaim_runs_it(void)
{
	struct task_struct *t[1];
	struct page **held;
	unsigned long n = 0, max = (TEST_MEM_MB << 20) / PAGE_SIZE;

	if (!thp_setup(&t[0], "ds-reclaim")) {
		skip(2, "no THP");
		gt_teardown("reclaim", t, 1);
		return;
	}
	vm_munmap(B + HALF, HALF);
	/* take every free page: the last allocations need direct reclaim */
	held = calloc(max, sizeof(*held));
	while (n < max && (held[n] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0)))
		n++;
	ok(deferred_split_count() == 0 && !folio_test_large(page_folio(gt_page(current->mm, B))),
	   "R-DS-SCAN: allocations past the free pages split the queued folio (direct reclaim)");
	ok(gt_check(B, NR / 2, 7) == 0, "R-DS-SCAN: its mapped half keeps its data");
	while (n)
		__free_pages(held[--n], 0);
	free(held);
	gt_teardown("reclaim", t, 1);
}

static void reclaimed_while_queued(void)
{
	struct task_struct *t[1];
	long out0, in_use0;

	test_boot(TEST_MEM_MB, 0, 0);
	if (pinmm_swapon(NULL, 1024 * PAGE_SIZE) != 0)
		bail_out("swapon");
	t[0] = test_process("ds-swap");
	if (!gt_thp(B)) {
		skip(3, "no THP");
		gt_teardown("swap", t, 1);
		return;
	}
	gt_fill(B, NR, 9);
	vm_munmap(B + HALF, HALF);
	out0 = gt_ev(PSWPOUT);
	in_use0 = (long)pinmm_frames_in_use();
	pinmm_reclaim_anon(NR);
	is_int(gt_ev(PSWPOUT) - out0, (long)NR / 2,
	       "R-DS-SWAP: reclaim writes the %lu mapped pages of a half-unmapped THP, not the "
	       "unmapped ones", NR / 2);
	ok(in_use0 - (long)pinmm_frames_in_use() >= (long)NR && deferred_split_count() == 0,
	   "R-DS-SWAP: all %lu frames are free again (the zapped half without I/O), the queue "
	   "is empty", NR);
	is_uint(gt_check(B, NR / 2, 9), 0, "R-DS-SWAP: the mapped half reads back from swap");
	gt_teardown("swap", t, 1);
}

static void migrated_while_queued(void)
{
	struct task_struct *t[1];
	struct folio *src, *dst;
	LIST_HEAD(list);
	struct migration_target_control mtc = { .gfp_mask = GFP_HIGHUSER_MOVABLE,
						.reason = MR_SYSCALL };
	unsigned int succ = 0;

	if (!thp_setup(&t[0], "ds-migrate")) {
		skip(2, "no THP");
		gt_teardown("migrate", t, 1);
		return;
	}
	vm_munmap(B + HALF, HALF);
	src = page_folio(gt_page(current->mm, B));
	folio_get(src);
	if (!folio_isolate_lru(src))
		bail_out("isolate");
	folio_put(src);
	list_add_tail(&src->lru, &list);
	migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc, MIGRATE_SYNC,
		      MR_SYSCALL, &succ);
	putback_movable_pages(&list);
	dst = page_folio(gt_page(current->mm, B));
	ok(succ == 1 && dst != src && folio_test_large(dst) && folio_test_partially_mapped(dst) &&
	   deferred_split_count() == 1,
	   "R-DS-MIGRATE: the migrated folio is queued in the source's place");
	ok(deferred_split_scan(0) == 1 && gt_check(B, NR / 2, 7) == 0,
	   "R-DS-MIGRATE: and the scan splits it, data kept");
	gt_teardown("migrate", t, 1);
}

int main(void)
{
	plan_no_plan();
	queue_and_scan();
	pinned();
	freed_while_queued();
	split_by_another();
	fork_keeps_whole();
	reclaim_runs_it();
	reclaimed_while_queued();
	migrated_while_queued();
	return done_testing();
}
