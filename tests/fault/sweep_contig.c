// SPDX-License-Identifier: MIT
/*
 * Fault-injection sweeps of the contiguous-range users (tests/fault/sweep.h):
 * cma_alloc() over a CMA area that holds user pages (Linux: mm/cma.c
 * cma_alloc() -> alloc_contig_range() -> __alloc_contig_migrate_range()
 * migrating the pages out), and memory offlining (mm/memory_hotplug.c
 * offline_pages() -> do_migrate_range()). Fail the N-th migration target,
 * host (slab) allocation and page allocation, N = 1, 2, ... until the
 * operation succeeds, and after each failure:
 *  - the errno is Linux's: alloc_contig_range() returns -ENOMEM, cma_alloc()
 *    then gives up (NULL, counting cma_alloc_fail: it retries only -EBUSY);
 *    offline_pages() goes round again after a migration that found no room
 *    (Linux loops until every page moved), so it still succeeds, and only
 *    its own allocation (-ENOMEM) fails it;
 *  - the process reads all its data, the free-page count and the isolated
 *    counts are back, no pageblock is left MIGRATE_ISOLATE (CMA blocks are
 *    CMA again), the free lists are consistent, no WARN;
 *  - the same call without injection succeeds; each sweep ends with a clean
 *    shutdown.
 */
#include "sweep.h"
#include "mem/internal.h"

#define NPAGES		64
#define TAG		0xc0a1

static long free0, fails0;

static long free_now(void)
{
	drain_all_pages(NULL);
	return global_zone_page_state_snapshot(NR_FREE_PAGES);
}

static long isolated_now(void)
{
	return global_node_page_state_snapshot(NR_ISOLATED_ANON) +
	       global_node_page_state_snapshot(NR_ISOLATED_FILE);
}

/*
 * Drop the user pages (MADV_DONTNEED keeps the page table: nothing left to
 * RCU that would change the free count later) and drain them from the CPUs'
 * lists, so the next faults take fresh frames by the zone's policy (for CMA:
 * not the pages the last claim moved out of it).
 */
static void fresh_pages(void)
{
	do_madvise(proc->mm, GT_BASE, NPAGES * PAGE_SIZE, MADV_DONTNEED);
	free_now();
}

/* Every pageblock of @zone has type @mt (no MIGRATE_ISOLATE left behind). */
static bool blocks_are(struct zone *zone, unsigned long start, unsigned long nr, int mt)
{
	(void)zone;
	for (unsigned long pfn = start; pfn < start + nr; pfn += pageblock_nr_pages)
		if (get_pfnblock_migratetype(pfn) != mt)
			return false;
	return true;
}

/* ---- cma_alloc() of an area that holds user pages -------------------------------------- */

static unsigned long cma_start, cma_nr;
static struct page *claimed;

static unsigned long user_pages_in(unsigned long start, unsigned long nr)
{
	unsigned long n = 0;

	for (unsigned long i = 0; i < NPAGES; i++) {
		unsigned long pfn = test_pt_pfn(proc->mm, GT_BASE + i * PAGE_SIZE);

		n += pfn >= start && pfn < start + nr;
	}
	return n;
}

/* Fresh user pages; with more than half of the free memory CMA, they land there. */
static void prepare_cma(void)
{
	fresh_pages();
	gt_fill(GT_BASE, NPAGES, TAG);
	free0 = free_now();
	fails0 = gt_ev(CMA_ALLOC_FAIL);
	if (cma_nr && user_pages_in(cma_start, cma_nr) != NPAGES)
		diag("cma sweep: only %lu user pages in the CMA area", user_pages_in(cma_start, cma_nr));
}

static long run_cma(void)
{
	claimed = cma_alloc_pages(cma_nr, 0);
	return claimed ? 0 : -ENOMEM;
}

static void undo_cma(long ret)
{
	if (!ret && !cma_release_pages(claimed, cma_nr))
		diag("cma sweep: cma_release_pages refused the claim");
	claimed = NULL;
}

static bool cma_intact(void)
{
	struct zone *zone = &pinmm_zones[ZONE_NORMAL];
	bool data = gt_check(GT_BASE, NPAGES, TAG) == 0;
	long dfree = free_now() - free0, iso = isolated_now();
	bool counted = gt_ev(CMA_ALLOC_FAIL) == fails0 + 1;
	bool blocks = blocks_are(zone, cma_start, cma_nr, MIGRATE_CMA);

	if (data && !dfree && !iso && counted && blocks && pinmm_check_zone(zone, true) == 0)
		return true;
	diag("cma_alloc failure: data %d, free pages %+ld, isolated %ld, cma_alloc_fail counted "
	     "%d, CMA blocks %d", data, dfree, iso, counted, blocks);
	return false;
}

static void cma_sweeps(void)
{
	static const struct sweep_op op = { "cma_alloc over user pages", prepare_cma, run_cma,
					    undo_cma, cma_intact, 0 };
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_MIGRATE_TARGET, PINMM_FAIL_SLAB,
						      PINMM_FAIL_PAGE_ALLOC };
	struct zone *n;

	/* 24 of 32 MiB are CMA: more than half the free memory, so user pages go there first */
	test_boot(32, 0, 24);
	n = &pinmm_zones[ZONE_NORMAL];
	cma_nr = n->cma_pages;
	cma_start = zone_end_pfn(n) - cma_nr;
	proc = test_process("cma");
	test_mmap_fixed(GT_BASE, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	prepare_cma();
	ok(user_pages_in(cma_start, cma_nr) == NPAGES, "cma_alloc: the %d user pages start in the "
	   "CMA area (%lu there)", NPAGES, user_pages_in(cma_start, cma_nr));
	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++)
		ok(sweep(&op, sites[i]) > 0, "cma_alloc over user pages [%s]: the site was reached",
		   pinmm_fail_site_name(sites[i]));
	prepare_cma();
	ok(run_cma() == 0 && user_pages_in(cma_start, cma_nr) == 0 &&
	   gt_check(GT_BASE, NPAGES, TAG) == 0, "cma_alloc: at the end of the sweeps the whole "
	   "area is claimed, every user page moved out with its data");
	undo_cma(0);
	gt_teardown("cma_sweeps", &proc, 1);
}

/* ---- offline_pages() of ZONE_MOVABLE blocks that hold user pages ----------------------- */

static unsigned long off_start, off_nr;
static long managed0;

static void prepare_offline(void)
{
	struct zone *z = &pinmm_zones[ZONE_MOVABLE];
	unsigned long lo = ~0UL, hi = 0;

	fresh_pages();
	gt_fill(GT_BASE, NPAGES, TAG);
	for (unsigned long i = 0; i < NPAGES; i++) {
		unsigned long pfn = test_pt_pfn(proc->mm, GT_BASE + i * PAGE_SIZE);

		lo = min(lo, pfn);
		hi = max(hi, pfn);
	}
	/* the blocks the pages are in (fresh pages may land in other blocks each time) */
	off_start = ALIGN_DOWN(lo, pageblock_nr_pages);
	off_nr = ALIGN(hi + 1, pageblock_nr_pages) - off_start;
	if (!zone_spans_pfn(z, lo) || !zone_spans_pfn(z, hi))
		bail_out("offline sweep: user pages outside ZONE_MOVABLE");
	free0 = free_now();
	managed0 = atomic_load(&z->managed_pages);
}

static long run_offline(void)
{
	return offline_pages(off_start, off_nr);
}

static void undo_offline(long ret)
{
	if (!ret)
		online_pages(off_start, off_nr);
}

static bool offline_intact(void)
{
	struct zone *z = &pinmm_zones[ZONE_MOVABLE];
	bool data = gt_check(GT_BASE, NPAGES, TAG) == 0;
	long dfree = free_now() - free0, iso = isolated_now();
	long dmanaged = atomic_load(&z->managed_pages) - managed0;
	bool blocks = blocks_are(z, off_start, off_nr, MIGRATE_MOVABLE);

	if (data && !dfree && !iso && !dmanaged && blocks && pinmm_check_zone(z, true) == 0)
		return true;
	diag("offline_pages failure: data %d, free pages %+ld, isolated %ld, managed %+ld, "
	     "blocks movable %d", data, dfree, iso, dmanaged, blocks);
	return false;
}

static void offline_sweeps(void)
{
	static const struct sweep_op op = { "offline_pages of user pages", prepare_offline,
					    run_offline, undo_offline, offline_intact, 0 };
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_MIGRATE_TARGET, PINMM_FAIL_SLAB,
						      PINMM_FAIL_PAGE_ALLOC };
	unsigned long f0;
	int ret;

	test_boot(64, 32, 0);
	proc = test_process("offline");
	test_mmap_fixed(GT_BASE, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++)
		ok(sweep(&op, sites[i]) > 0, "offline_pages [%s]: the site was reached",
		   pinmm_fail_site_name(sites[i]));
	/* Linux's do_migrate_range() loop: a target that cannot be had is tried again */
	prepare_offline();
	f0 = pinmm_fail_failures(PINMM_FAIL_MIGRATE_TARGET);
	pinmm_fail_nth(PINMM_FAIL_MIGRATE_TARGET, 1, 0);
	ret = run_offline();
	pinmm_fail_nth(PINMM_FAIL_MIGRATE_TARGET, 0, 0);
	is_int(ret, 0, "offline_pages: a migration target that fails once is retried in the next "
	       "round and the range goes offline (Linux loops until every page moved)");
	is_uint(pinmm_fail_failures(PINMM_FAIL_MIGRATE_TARGET) - f0, 1,
		"offline_pages: (the injected failure happened)");
	ok(gt_check(GT_BASE, NPAGES, TAG) == 0, "offline_pages: the data moved out intact");
	undo_offline(ret);
	gt_teardown("offline_sweeps", &proc, 1);
}

int main(void)
{
	plan_no_plan();
	cma_sweeps();
	offline_sweeps();
	return done_testing();
}
