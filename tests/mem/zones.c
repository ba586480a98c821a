// SPDX-License-Identifier: MIT
/*
 * Zones and migratetypes (Linux mm/page_alloc.c, include/linux/gfp.h):
 * CMA pageblocks serve movable requests only and are balanced against the
 * rest (__rmqueue), ZONE_MOVABLE serves only __GFP_HIGHMEM|__GFP_MOVABLE and
 * is tried first, memalloc_pin_save() keeps allocations pinnable
 * (current_gfp_context), and an unmovable request with no unmovable memory
 * claims a whole movable pageblock (__rmqueue_fallback / try_to_claim_block).
 */
#include "helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/sched.h>
#include <pinmm/vmstat.h>

#define MAX_HELD	MB_PAGES(128)

static struct held held[MAX_HELD];
static unsigned long nr_held;

static struct page *hold(struct page *page, unsigned int order)
{
	if (page) {
		if (nr_held == MAX_HELD)
			bail_out("too many held allocations");
		held[nr_held++] = (struct held){ page, order, false, 0 };
	}
	return page;
}

static void release_all(void)
{
	while (nr_held)
		held_free(&held[--nr_held]);
}

/* Allocate with @gfp, largest blocks first, until nothing is left; return pages taken. */
static unsigned long fill(gfp_t gfp)
{
	unsigned long pages = 0;

	for (int order = MAX_PAGE_ORDER; order >= 0; order--) {
		struct page *page;

		while ((page = hold(alloc_pages(gfp, order), order)))
			pages += 1UL << order;
	}
	return pages;
}

static bool in_cma(const struct page *page)
{
	return is_migrate_cma(get_pfnblock_migratetype(page_to_pfn(page)));
}

/* ---- CMA -------------------------------------------------------------------- */

static void test_cma_only_movable(void)
{
	struct zone *normal = &pinmm_zones[ZONE_NORMAL];
	struct page *page;
	unsigned long got, cma_free;
	bool all_cma = true;

	/* 64 MiB: 32 MiB ordinary memory, 32 MiB CMA, no ZONE_MOVABLE */
	test_boot_buddy(64, 0, 32);
	got = fill(GFP_KERNEL);
	is_uint(got, MB_PAGES(32) - 1, "CMA: GFP_KERNEL takes every non-CMA frame (all but the "
		"zero page) and none of the CMA area");
	cma_free = (unsigned long)zone_page_state_snapshot(normal, NR_FREE_CMA_PAGES);
	is_uint(cma_free, MB_PAGES(32), "CMA: the CMA area is untouched by unmovable requests");
	is_int(zone_page_state_snapshot(normal, NR_FREE_PAGES), (long)cma_free,
	       "CMA: all the free memory left is CMA (NR_FREE_PAGES == NR_FREE_CMA_PAGES)");
	page = alloc_page(GFP_KERNEL);
	ok(page == NULL, "CMA: with only CMA free, GFP_KERNEL fails: CMA pageblocks are never a "
	   "fallback for unmovable requests (__rmqueue_fallback)");
	if (page)
		__free_pages(page, 0);
	page = alloc_page(GFP_KERNEL | __GFP_RECLAIMABLE);
	ok(page == NULL, "CMA: nor for reclaimable requests");
	if (page)
		__free_pages(page, 0);

	for (int i = 0; i < 64; i++) {
		page = hold(alloc_pages(__GFP_MOVABLE, i % 4), i % 4);
		all_cma &= page && in_cma(page);
	}
	ok(all_cma, "CMA: once non-CMA memory is exhausted, __GFP_MOVABLE allocations are served "
	   "from MIGRATE_CMA pageblocks (ALLOC_CMA)");
	ok(zone_page_state_snapshot(normal, NR_FREE_CMA_PAGES) < (long)cma_free,
	   "vmstat: NR_FREE_CMA_PAGES drops as CMA serves movable allocations");
	ok(all_zones_ok(), "CMA: free lists consistent with the machine full of unmovable memory");
	release_all();
	is_int(zone_page_state_snapshot(normal, NR_FREE_CMA_PAGES), (long)MB_PAGES(32),
	       "vmstat: NR_FREE_CMA_PAGES is back to the CMA area's size after freeing");
	is_uint(count_pageblocks(normal, MIGRATE_CMA), MB_PAGES(32) / pageblock_nr_pages,
		"CMA: no CMA pageblock ever changes type (never claimed by a fallback)");
	test_shutdown_ok("CMA serves only movable");
}

static void test_cma_balance(void)
{
	struct page *page;

	/* CMA is 48 of 64 MiB: more than half the free memory */
	test_boot_buddy(64, 0, 48);
	page = hold(alloc_page(__GFP_MOVABLE), 0);
	ok(page && in_cma(page), "CMA balance: when CMA is more than half of a zone's free memory, "
	   "a movable allocation uses CMA first (__rmqueue)");
	page = hold(alloc_page(GFP_HIGHUSER_MOVABLE), 0);
	ok(page && in_cma(page), "CMA balance: GFP_HIGHUSER_MOVABLE, with no ZONE_MOVABLE, uses "
	   "CMA first too");
	page = hold(alloc_page(GFP_KERNEL), 0);
	ok(page && !in_cma(page), "CMA balance: GFP_KERNEL still gets non-CMA memory");
	release_all();
	test_shutdown_ok("CMA balance, CMA > half");

	/* CMA is 16 of 64 MiB: a movable allocation keeps to its own lists */
	test_boot_buddy(64, 0, 16);
	page = hold(alloc_page(__GFP_MOVABLE), 0);
	ok(page && !in_cma(page) &&
	   get_pfnblock_migratetype(page_to_pfn(page)) == MIGRATE_MOVABLE,
	   "CMA balance: when CMA is less than half of the free memory, a movable allocation "
	   "comes from a MIGRATE_MOVABLE pageblock (__rmqueue_smallest)");
	release_all();
	test_shutdown_ok("CMA balance, CMA < half");
}

/* ---- ZONE_MOVABLE ---------------------------------------------------------------- */

static void test_zone_movable(void)
{
	struct zone *normal = &pinmm_zones[ZONE_NORMAL], *movable = &pinmm_zones[ZONE_MOVABLE];
	unsigned long got, in_movable = 0;
	long movable_free;
	struct page *page;

	/* 96 MiB: 64 MiB ZONE_NORMAL, 32 MiB ZONE_MOVABLE */
	test_boot_buddy(96, 32, 0);
	page = hold(alloc_page(GFP_HIGHUSER_MOVABLE), 0);
	ok(page && page_zonenum(page) == ZONE_MOVABLE,
	   "ZONE_MOVABLE: GFP_HIGHUSER_MOVABLE is served from ZONE_MOVABLE first (gfp_zone picks "
	   "the highest zone, the zonelist walks down)");
	page = hold(alloc_page(__GFP_MOVABLE), 0);
	ok(page && page_zonenum(page) == ZONE_NORMAL,
	   "ZONE_MOVABLE: __GFP_MOVABLE without __GFP_HIGHMEM stays in ZONE_NORMAL (gfp_zone)");
	page = hold(alloc_page(GFP_HIGHUSER), 0);
	ok(page && page_zonenum(page) == ZONE_NORMAL,
	   "ZONE_MOVABLE: __GFP_HIGHMEM without __GFP_MOVABLE stays in ZONE_NORMAL (gfp_zone)");
	release_all();

	movable_free = zone_page_state_snapshot(movable, NR_FREE_PAGES);
	got = fill(GFP_KERNEL);
	for (unsigned long i = 0; i < nr_held; i++)
		in_movable += page_zonenum(held[i].page) == ZONE_MOVABLE;
	is_uint(in_movable, 0, "ZONE_MOVABLE: GFP_KERNEL never lands in ZONE_MOVABLE");
	is_uint(got, MB_PAGES(64) - 1, "ZONE_MOVABLE: GFP_KERNEL fails once ZONE_NORMAL is full, "
		"though ZONE_MOVABLE is free");
	is_int(zone_page_state_snapshot(movable, NR_FREE_PAGES), movable_free,
	       "ZONE_MOVABLE: untouched by a machine full of GFP_KERNEL memory");
	page = alloc_page(__GFP_MOVABLE);
	ok(page == NULL, "ZONE_MOVABLE: __GFP_MOVABLE alone cannot use ZONE_MOVABLE either");
	if (page)
		__free_pages(page, 0);
	page = hold(alloc_page(GFP_HIGHUSER_MOVABLE), 0);
	ok(page && page_zonenum(page) == ZONE_MOVABLE,
	   "ZONE_MOVABLE: GFP_HIGHUSER_MOVABLE still succeeds in ZONE_MOVABLE");
	release_all();

	/* fill ZONE_MOVABLE: the next user page falls back to ZONE_NORMAL */
	got = fill(GFP_HIGHUSER_MOVABLE);
	in_movable = 0;
	for (unsigned long i = 0; i < nr_held; i++)
		in_movable += (1UL << held[i].order) *
			      (page_zonenum(held[i].page) == ZONE_MOVABLE);
	is_uint(in_movable, MB_PAGES(32), "ZONE_MOVABLE: GFP_HIGHUSER_MOVABLE fills ZONE_MOVABLE "
		"completely");
	is_uint(got - in_movable, MB_PAGES(64) - 1, "ZONE_MOVABLE: then falls back to ZONE_NORMAL "
		"(the zonelist order: Movable, Normal)");
	is_int(zone_page_state_snapshot(normal, NR_FREE_PAGES), 0, "ZONE_MOVABLE: both zones end up full");
	release_all();
	test_shutdown_ok("ZONE_MOVABLE");
}

/* ---- memalloc_pin_save ---------------------------------------------------------- */

static void test_memalloc_pin(void)
{
	struct page *page;
	unsigned int outer, inner;
	bool avoided = true;

	/* ZONE_MOVABLE 32 MiB, CMA 40 MiB of a 56 MiB ZONE_NORMAL: CMA > half */
	test_boot_buddy(88, 32, 40);
	page = hold(alloc_page(GFP_HIGHUSER_MOVABLE), 0);
	ok(page && page_zonenum(page) == ZONE_MOVABLE, "memalloc_pin: outside the scope, user "
	   "pages come from ZONE_MOVABLE");

	outer = memalloc_pin_save();
	ok(pinmm_current_ctx.flags & PF_MEMALLOC_PIN, "memalloc_pin_save sets PF_MEMALLOC_PIN");
	is_uint(current_gfp_context(GFP_HIGHUSER_MOVABLE), GFP_HIGHUSER_MOVABLE & ~__GFP_MOVABLE,
		"memalloc_pin: current_gfp_context drops __GFP_MOVABLE under PF_MEMALLOC_PIN");
	for (int i = 0; i < 64; i++) {
		page = hold(alloc_pages(GFP_HIGHUSER_MOVABLE, i % 3), i % 3);
		avoided &= page && page_zonenum(page) == ZONE_NORMAL && !in_cma(page);
	}
	ok(avoided, "memalloc_pin: GFP_HIGHUSER_MOVABLE inside memalloc_pin_save avoids "
	   "ZONE_MOVABLE and CMA, though CMA is more than half of the free memory "
	   "(current_gfp_context)");
	page = hold(alloc_page(__GFP_MOVABLE), 0);
	ok(page && !in_cma(page), "memalloc_pin: __GFP_MOVABLE inside the scope avoids CMA");

	inner = memalloc_pin_save();
	memalloc_pin_restore(inner);
	ok(pinmm_current_ctx.flags & PF_MEMALLOC_PIN, "memalloc_pin: restoring a nested scope "
	   "keeps the outer one");
	memalloc_pin_restore(outer);
	ok(!(pinmm_current_ctx.flags & PF_MEMALLOC_PIN), "memalloc_pin_restore clears "
	   "PF_MEMALLOC_PIN at the outermost level");
	page = hold(alloc_page(GFP_HIGHUSER_MOVABLE), 0);
	ok(page && page_zonenum(page) == ZONE_MOVABLE, "memalloc_pin: after restore, user pages "
	   "come from ZONE_MOVABLE again");
	page = hold(alloc_page(__GFP_MOVABLE), 0);
	ok(page && in_cma(page), "memalloc_pin: after restore, a movable allocation uses CMA again "
	   "(CMA > half)");
	release_all();
	test_shutdown_ok("memalloc_pin");
}

/* ---- unmovable fallback --------------------------------------------------------- */

static void test_unmovable_fallback(void)
{
	struct zone *normal = &pinmm_zones[ZONE_NORMAL];
	unsigned long unmov_blocks, movable_blocks, pfn;
	struct page *page;
	bool from_own = true;

	test_boot_buddy(64, 0, 0);
	unmov_blocks = count_pageblocks(normal, MIGRATE_UNMOVABLE);
	movable_blocks = count_pageblocks(normal, MIGRATE_MOVABLE);
	is_uint(unmov_blocks, 1, "fallback: at boot one pageblock is Unmovable, claimed by the "
		"zero page's GFP_KERNEL allocation (pageblocks start MIGRATE_MOVABLE)");

	/* use up the Unmovable lists */
	while (zone_free_of_type(normal, MIGRATE_UNMOVABLE)) {
		page = hold(alloc_page(GFP_KERNEL), 0);
		if (!page)
			bail_out("GFP_KERNEL failed with Unmovable memory free");
		from_own &= get_pfnblock_migratetype(page_to_pfn(page)) == MIGRATE_UNMOVABLE;
	}
	ok(from_own, "fallback: GFP_KERNEL uses the Unmovable lists while they have memory "
	   "(__rmqueue_smallest)");
	is_uint(count_pageblocks(normal, MIGRATE_UNMOVABLE), unmov_blocks,
		"fallback: no pageblock is claimed while Unmovable memory is free");

	page = hold(alloc_page(GFP_KERNEL), 0);
	if (!page)
		bail_out("GFP_KERNEL failed on a machine with free movable pageblocks");
	pfn = page_to_pfn(page);
	is_int(get_pfnblock_migratetype(pfn), MIGRATE_UNMOVABLE,
	       "fallback: with the Unmovable lists empty, GFP_KERNEL claims a whole Movable "
	       "pageblock: its type becomes Unmovable (__rmqueue_fallback, try_to_claim_block)");
	is_uint(count_pageblocks(normal, MIGRATE_UNMOVABLE), unmov_blocks + 1,
		"fallback: exactly one more pageblock is Unmovable");
	is_uint(count_pageblocks(normal, MIGRATE_MOVABLE), movable_blocks - 1,
		"fallback: and one fewer is Movable");
	is_uint(zone_free_of_type(normal, MIGRATE_UNMOVABLE), pageblock_nr_pages - 1,
		"fallback: the claimed block's other free pages moved to the Unmovable lists "
		"(move_freepages_block)");
	ok(all_zones_ok(), "fallback: free lists consistent after the claim (pinmm_check_zone)");

	/* use up the Movable pageblocks; only the Unmovable block's free pages remain */
	while (hold(alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER), MAX_PAGE_ORDER))
		;
	page = hold(alloc_page(__GFP_MOVABLE), 0);
	ok(page && get_pfnblock_migratetype(page_to_pfn(page)) == MIGRATE_UNMOVABLE &&
	   count_pageblocks(normal, MIGRATE_UNMOVABLE) == unmov_blocks + 1,
	   "fallback: a small movable request steals from an Unmovable block without claiming it "
	   "(can_steal_fallback: order < pageblock_order / 2)");
	pfn = page ? page_to_pfn(page) : 0;
	page = hold(alloc_pages(__GFP_MOVABLE, pageblock_order / 2), pageblock_order / 2);
	ok(page && get_pfnblock_migratetype(pfn) == MIGRATE_MOVABLE &&
	   count_pageblocks(normal, MIGRATE_UNMOVABLE) == unmov_blocks,
	   "fallback: a movable request of order >= pageblock_order / 2 claims the mostly free "
	   "Unmovable block back (can_steal_fallback, try_to_claim_block)");
	ok(all_zones_ok(), "fallback: free lists consistent after the movable claim");
	release_all();
	test_shutdown_ok("unmovable fallback");
}

int main(void)
{
	test_cma_only_movable();
	test_cma_balance();
	test_zone_movable();
	test_memalloc_pin();
	test_unmovable_fallback();
	return done_testing();
}
