// SPDX-License-Identifier: MIT
/*
 * The buddy allocator (Linux mm/page_alloc.c): every frame in exactly one
 * place under random alloc/free of mixed orders and gfp masks, coalescing
 * back to pageblock-sized blocks, the free-page counters and allocation
 * events, loose (non-__GFP_COMP) blocks, order limits and fault injection.
 */
#include "helpers.h"

#include <pinmm/fault-inject.h>

#include <pinmm/gfp.h>
#include <pinmm/vmstat.h>

#define MEM_MB		64
#define MOVABLE_MB	16
#define CMA_MB		16

/* ---- random alloc/free: every frame in exactly one place --------------------- */

#define NR_SLOTS	768
#define NR_BATCHES	150
#define OPS_PER_BATCH	64

static const struct {
	gfp_t gfp;
	bool folio;
	const char *name;
} gfp_kinds[] = {
	{ GFP_KERNEL, false, "GFP_KERNEL" },
	{ GFP_HIGHUSER_MOVABLE, false, "GFP_HIGHUSER_MOVABLE" },
	{ __GFP_MOVABLE, false, "__GFP_MOVABLE" },
	{ GFP_KERNEL | __GFP_COMP, true, "GFP_KERNEL|__GFP_COMP folio" },
	{ GFP_HIGHUSER_MOVABLE | __GFP_COMP, true, "GFP_HIGHUSER_MOVABLE|__GFP_COMP folio" },
};

/* Mostly small orders, as real workloads; now and then a whole pageblock. */
static unsigned int random_order(uint64_t *rng)
{
	unsigned int r = test_rand(rng) % 100;

	if (r < 50)
		return 0;
	if (r < 85)
		return 1 + test_rand(rng) % 3;
	return 4 + test_rand(rng) % (MAX_PAGE_ORDER - 3);
}

/* Where an allocation of kind @k may land, as get_page_from_freelist() rules. */
static bool placement_ok(struct page *page, gfp_t gfp)
{
	enum zone_type z = page_zonenum(page);
	int mt = get_pfnblock_migratetype(page_to_pfn(page));

	if (z == ZONE_MOVABLE && gfp_zone(gfp) != ZONE_MOVABLE)
		return false;		/* only __GFP_HIGHMEM|__GFP_MOVABLE reach ZONE_MOVABLE */
	if (is_migrate_cma(mt) && !(gfp & __GFP_MOVABLE))
		return false;		/* CMA serves movable requests only */
	return true;
}

static void test_random_mix(void)
{
	static struct held held[NR_SLOTS];
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned long held_pages = 0, alloc_normal = 0, alloc_movable = 0, freed = 0;
	unsigned long pgalloc_n0, pgalloc_m0, pgfree0;
	unsigned long bad_zone_batches = 0, bad_inuse_batches = 0, bad_map_batches = 0;
	unsigned long bad_pattern = 0, bad_place = 0, failed_allocs = 0, ops = 0;
	uint64_t tag = 1;

	test_boot_buddy(MEM_MB, MOVABLE_MB, CMA_MB);
	pgalloc_n0 = global_vm_event(PGALLOC_NORMAL);
	pgalloc_m0 = global_vm_event(PGALLOC_MOVABLE);
	pgfree0 = global_vm_event(PGFREE);
	memset(held, 0, sizeof(held));

	for (int b = 0; b < NR_BATCHES; b++) {
		for (int i = 0; i < OPS_PER_BATCH; i++, ops++) {
			unsigned int slot = test_rand(&rng) % NR_SLOTS;
			struct held *h = &held[slot];

			if (h->page) {
				if (!held_intact(h))
					bad_pattern++;
				held_pages -= 1UL << h->order;
				freed += 1UL << h->order;
				held_free(h);
			} else {
				unsigned int k = test_rand(&rng) % ARRAY_SIZE(gfp_kinds);
				unsigned int order = random_order(&rng);
				struct page *page;

				if (gfp_kinds[k].folio) {
					struct folio *f = folio_alloc(gfp_kinds[k].gfp, order);

					page = f ? &f->page : NULL;
				} else {
					page = alloc_pages(gfp_kinds[k].gfp, order);
				}
				if (!page) {
					failed_allocs++;
					continue;
				}
				if (!placement_ok(page, gfp_kinds[k].gfp)) {
					if (bad_place++ < 4)
						diag("%s order %u landed in zone %s, %s pageblock",
						     gfp_kinds[k].name, order, page_zone(page)->name,
						     migratetype_names[get_pfnblock_migratetype(
							     page_to_pfn(page))]);
				}
				*h = (struct held){ page, order, gfp_kinds[k].folio, tag };
				tag += 1UL << 20;
				held_fill(h);
				held_pages += 1UL << order;
				if (page_zonenum(page) == ZONE_MOVABLE)
					alloc_movable += 1UL << order;
				else
					alloc_normal += 1UL << order;
			}
		}
		if (!all_zones_ok())
			bad_zone_batches++;
		if (pinmm_frames_in_use() != held_pages + 1) {
			if (bad_inuse_batches++ < 4)
				diag("batch %d: frames_in_use %lu, test holds %lu + zero page", b,
				     pinmm_frames_in_use(), held_pages);
		}
		if (frame_map_errors(held, NR_SLOTS))
			bad_map_batches++;
	}
	diag("%lu operations, %lu allocations refused (memory full), %lu pages held at the end",
	     ops, failed_allocs, held_pages);
	is_uint(bad_zone_batches, 0, "buddy: free lists match their counters after every batch "
		"of random alloc/free (pinmm_check_zone)");
	is_uint(bad_inuse_batches, 0, "buddy: frames in use equal the frames the test holds + "
		"the zero page after every batch (__rmqueue/__free_one_page)");
	is_uint(bad_map_batches, 0, "buddy: every frame is in exactly one free block or one "
		"allocation at all times");
	is_uint(bad_pattern, 0, "buddy: no frame is handed to two owners (patterns intact "
		"until free)");
	is_uint(bad_place, 0, "buddy: GFP_KERNEL never lands in ZONE_MOVABLE or CMA, "
		"__GFP_MOVABLE alone never in ZONE_MOVABLE (gfp_zone, gfp_migratetype)");
	is_uint(global_vm_event(PGALLOC_NORMAL) - pgalloc_n0, alloc_normal,
		"vmstat: pgalloc_normal counts every page allocated from ZONE_NORMAL "
		"(__count_zid_vm_events)");
	is_uint(global_vm_event(PGALLOC_MOVABLE) - pgalloc_m0, alloc_movable,
		"vmstat: pgalloc_movable counts every page allocated from ZONE_MOVABLE");
	is_uint(global_vm_event(PGFREE) - pgfree0, freed,
		"vmstat: pgfree counts every page freed (free_one_page)");

	/* give everything back: the allocator must coalesce to whole pageblocks */
	for (int i = 0; i < NR_SLOTS; i++)
		if (held[i].page)
			held_free(&held[i]);
	{
		struct zone *normal = &pinmm_zones[ZONE_NORMAL], *movable = &pinmm_zones[ZONE_MOVABLE];
		bool low_orders_one = true;

		is_uint(normal->free_area[MAX_PAGE_ORDER].nr_free, zone_pageblocks(normal) - 1,
			"buddy: after freeing everything, ZONE_NORMAL has one MAX_PAGE_ORDER block "
			"per pageblock but the zero page's (__free_one_page coalesces)");
		for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
			low_orders_one &= normal->free_area[o].nr_free == 1;
		ok(low_orders_one, "buddy: the zero page's pageblock holds exactly one free block "
		   "of each order 0..8 (511 = 2^0 + ... + 2^8)");
		is_uint(movable->free_area[MAX_PAGE_ORDER].nr_free, zone_pageblocks(movable),
			"buddy: after freeing everything, ZONE_MOVABLE is all MAX_PAGE_ORDER blocks");
		is_uint(pinmm_frames_in_use(), 1, "buddy: after freeing everything only the zero "
			"page is in use");
	}
	test_shutdown_ok("random alloc/free");
}

/* ---- counters ----------------------------------------------------------------- */

static void test_counters(void)
{
	struct zone *normal = &pinmm_zones[ZONE_NORMAL], *movable = &pinmm_zones[ZONE_MOVABLE];
	unsigned long pgalloc_n, pgalloc_m, pgfree;
	struct page *a, *b, *c;
	long v = -1;
	bool sums = true;

	test_boot_buddy(MEM_MB, MOVABLE_MB, CMA_MB);
	is_int(zone_page_state_snapshot(normal, NR_FREE_PAGES),
	       (long)MB_PAGES(MEM_MB - MOVABLE_MB) - 1,
	       "vmstat: after boot ZONE_NORMAL's NR_FREE_PAGES is its size minus the zero page");
	is_int(zone_page_state_snapshot(movable, NR_FREE_PAGES), (long)MB_PAGES(MOVABLE_MB),
	       "vmstat: after boot ZONE_MOVABLE's NR_FREE_PAGES is its size");
	is_int(zone_page_state_snapshot(normal, NR_FREE_CMA_PAGES), (long)MB_PAGES(CMA_MB),
	       "vmstat: after boot NR_FREE_CMA_PAGES is the CMA area's size");
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES),
	       zone_page_state_snapshot(normal, NR_FREE_PAGES) + zone_page_state_snapshot(movable, NR_FREE_PAGES),
	       "vmstat: the global NR_FREE_PAGES is the sum over zones");
	ok(pinmm_vmstat_get("nr_free_pages", &v) == 0 &&
	   v == global_zone_page_state_snapshot(NR_FREE_PAGES),
	   "vmstat: /proc/vmstat nr_free_pages reads the global counter");
	is_uint(global_vm_event(PGALLOC_NORMAL), 1,
		"vmstat: after boot pgalloc_normal counts the zero page only");
	is_uint(global_vm_event(PGFREE), 0, "vmstat: boot-time freeing is not counted in pgfree "
		"(memblock_free_all hands pages over, it does not free them)");

	pgalloc_n = global_vm_event(PGALLOC_NORMAL);
	pgalloc_m = global_vm_event(PGALLOC_MOVABLE);
	pgfree = global_vm_event(PGFREE);
	a = alloc_pages(GFP_KERNEL, 3);
	b = alloc_pages(GFP_HIGHUSER_MOVABLE, 5);
	c = alloc_pages(__GFP_MOVABLE, 2);
	if (!a || !b || !c)
		bail_out("allocations on a fresh machine failed");
	is_int(zone_page_state_snapshot(normal, NR_FREE_PAGES), (long)MB_PAGES(MEM_MB - MOVABLE_MB) - 1 - 8 - 4,
	       "vmstat: NR_FREE_PAGES drops by 2^order per allocation (del_page_from_free_list)");
	is_int(zone_page_state_snapshot(movable, NR_FREE_PAGES), (long)MB_PAGES(MOVABLE_MB) - 32,
	       "vmstat: a GFP_HIGHUSER_MOVABLE allocation is taken from ZONE_MOVABLE's count");
	is_uint(global_vm_event(PGALLOC_NORMAL) - pgalloc_n, 8 + 4,
		"vmstat: pgalloc_normal rises by 2^order per ZONE_NORMAL allocation");
	is_uint(global_vm_event(PGALLOC_MOVABLE) - pgalloc_m, 32,
		"vmstat: pgalloc_movable rises by 2^order per ZONE_MOVABLE allocation");
	for (int z = ZONE_NORMAL; z <= ZONE_MOVABLE; z++) {
		struct zone *zone = &pinmm_zones[z];

		sums &= zone_free_recount(zone, -1) == (unsigned long)zone_page_state_snapshot(zone, NR_FREE_PAGES);
		sums &= zone_free_recount(zone, MIGRATE_CMA) ==
			(unsigned long)zone_page_state_snapshot(zone, NR_FREE_CMA_PAGES);
	}
	ok(sums, "vmstat: NR_FREE_PAGES and NR_FREE_CMA_PAGES equal a recount of the free lists");
	__free_pages(a, 3);
	__free_pages(b, 5);
	__free_pages(c, 2);
	is_uint(global_vm_event(PGFREE) - pgfree, 8 + 32 + 4,
		"vmstat: pgfree rises by 2^order per block freed");
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES),
	       (long)MB_PAGES(MEM_MB) - 1, "vmstat: NR_FREE_PAGES is back to its boot value");
	test_shutdown_ok("counters");
}

/* ---- loose blocks, __GFP_ZERO, order limits -------------------------------------- */

static void test_loose_block(void)
{
	struct page *page;
	bool tails_plain = true;
	long free0;

	test_boot_buddy(MEM_MB, 0, 0);
	free0 = global_zone_page_state_snapshot(NR_FREE_PAGES);
	page = alloc_pages(GFP_KERNEL, 3);
	if (!page)
		bail_out("alloc_pages(GFP_KERNEL, 3) failed on a fresh machine");
	ok(IS_ALIGNED(page_to_pfn(page), 8), "buddy: an order-3 block is naturally aligned");
	ok(!PageHead(page) && !PageCompound(page),
	   "alloc_pages: without __GFP_COMP the block is no folio (no PG_head, prep_compound_page "
	   "not run)");
	is_int(page_ref_count(page), 1, "alloc_pages: the first page holds the one reference "
	       "(set_page_refcounted)");
	for (int i = 1; i < 8; i++)
		tails_plain &= !PageTail(&page[i]) && page_ref_count(&page[i]) == 0;
	ok(tails_plain, "alloc_pages: the other pages of a loose block are not tails and have "
	   "refcount 0");
	__free_pages(page, 3);
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES), free0,
	       "__free_pages: the last reference frees the whole 2^order block");
	test_shutdown_ok("loose block");
}

static void test_gfp_zero(void)
{
	struct page *page;
	unsigned char *p;
	bool zero = true;

	test_boot_buddy(MEM_MB, 0, 0);
	/* dirty the lowest free order-2 block, free it, and get it back zeroed */
	page = alloc_pages(GFP_KERNEL, 2);
	if (!page)
		bail_out("alloc_pages failed");
	memset(page_address(page), 0xa5, 4 * PAGE_SIZE);
	__free_pages(page, 2);
	page = alloc_pages(GFP_KERNEL | __GFP_ZERO, 2);
	if (!page)
		bail_out("alloc_pages failed");
	p = page_address(page);
	for (size_t i = 0; i < 4 * PAGE_SIZE; i++)
		zero &= p[i] == 0;
	ok(zero, "alloc_pages: __GFP_ZERO hands out zeroed memory (kernel_init_pages)");
	__free_pages(page, 2);
	test_shutdown_ok("__GFP_ZERO");
}

static void test_order_limit(void)
{
	unsigned long warns, pgalloc;
	long free0;
	struct page *page;

	test_boot_buddy(MEM_MB, 0, 0);
	free0 = global_zone_page_state_snapshot(NR_FREE_PAGES);
	pgalloc = global_vm_event(PGALLOC_NORMAL);
	warns = pinmm_warn_count();
	quiet_stderr_begin();
	page = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER + 1);
	quiet_stderr_end();
	ok(page == NULL, "alloc_pages: order > MAX_PAGE_ORDER fails (__alloc_pages)");
	is_uint(pinmm_warn_count() - warns, 1, "alloc_pages: order > MAX_PAGE_ORDER WARNs "
		"(WARN_ON_ONCE_GFP)");
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES), free0,
	       "alloc_pages: a refused order takes nothing from the free lists");
	is_uint(global_vm_event(PGALLOC_NORMAL), pgalloc, "alloc_pages: a refused order counts "
		"no pgalloc");
	page = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
	ok(page != NULL, "alloc_pages: order == MAX_PAGE_ORDER is allowed");
	if (page)
		__free_pages(page, MAX_PAGE_ORDER);
	test_shutdown_ok("order limit");
}

/* ---- exhaustion ------------------------------------------------------------------ */

static void test_exhaustion(void)
{
	static struct held held[MB_PAGES(MEM_MB)];
	unsigned long n = 0, stall0;
	long free0;

	test_boot_buddy(MEM_MB, 0, 0);
	free0 = global_zone_page_state_snapshot(NR_FREE_PAGES);
	stall0 = global_vm_event(ALLOCSTALL);
	for (;;) {
		struct page *page = alloc_page(__GFP_MOVABLE);

		if (!page)
			break;
		held[n] = (struct held){ page, 0, false, n };
		n++;
	}
	is_uint(n, (unsigned long)free0, "buddy: order-0 allocations succeed until every free "
		"frame is handed out, then fail (no overcommit)");
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES), 0, "vmstat: NR_FREE_PAGES is 0 when the "
	       "machine is full");
	ok(global_vm_event(ALLOCSTALL) > stall0, "vmstat: a failed allocation counts allocstall");
	is_uint(frame_map_errors(held, n), 0, "buddy: a full machine still has every frame in "
		"exactly one place");
	for (unsigned long i = 0; i < n; i++)
		held_free(&held[i]);
	is_uint(pinmm_zones[ZONE_NORMAL].free_area[MAX_PAGE_ORDER].nr_free,
		zone_pageblocks(&pinmm_zones[ZONE_NORMAL]) - 1,
		"buddy: freeing 16k single frames in allocation order coalesces back to "
		"MAX_PAGE_ORDER blocks (__free_one_page)");
	test_shutdown_ok("exhaustion");
}

/* ---- fault injection ------------------------------------------------------------- */

#define SWEEP_ALLOCS	6

static void test_fail_nth(void)
{
	struct page *pages[SWEEP_ALLOCS];
	bool exact = true, clean = true;

	test_boot_buddy(MEM_MB, 0, 0);
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 3, 0);
	for (int i = 0; i < SWEEP_ALLOCS; i++)
		pages[i] = alloc_page(GFP_KERNEL);
	ok(pages[0] && pages[1] && !pages[2] && pages[3] && pages[4] && pages[5],
	   "fault injection: pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 3) fails exactly the third "
	   "allocation (should_fail_alloc_page)");
	for (int i = 0; i < SWEEP_ALLOCS; i++)
		if (pages[i])
			__free_pages(pages[i], 0);

	/* SQLite-style sweep: fail the n-th of a fixed sequence, for every n */
	for (int nth = 1; nth <= SWEEP_ALLOCS; nth++) {
		long free0 = global_zone_page_state_snapshot(NR_FREE_PAGES);

		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, nth, 0);
		for (int i = 0; i < SWEEP_ALLOCS; i++) {
			struct folio *f = folio_alloc(i & 1 ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL,
						      i % 3);

			pages[i] = f ? &f->page : NULL;
			if ((pages[i] == NULL) != (i + 1 == nth))
				exact = false;
		}
		for (int i = 0; i < SWEEP_ALLOCS; i++)
			if (pages[i])
				folio_put(page_folio(pages[i]));
		clean &= global_zone_page_state_snapshot(NR_FREE_PAGES) == free0 && all_zones_ok();
	}
	ok(exact, "fault injection: for every n, the sweep fails the n-th allocation and no other");
	ok(clean, "fault injection: after each failed run every counter and free list is back");
	test_shutdown_ok("fault injection");
}

int main(void)
{
	test_random_mix();
	test_counters();
	test_loose_block();
	test_gfp_zero();
	test_order_limit();
	test_exhaustion();
	test_fail_nth();
	return done_testing();
}
