// SPDX-License-Identifier: MIT
/*
 * Allocator stress. PINMM_TEST_CONCURRENT: four threads allocate and free
 * blocks of mixed orders and gfp masks on one machine, each holding a random
 * working set; every frame of every allocation carries its owner's pattern,
 * checked just before the free, so a frame handed to two owners shows up as a
 * torn pattern. A fifth thread grabs random frames speculatively, as GUP-fast
 * and pfn walkers do (folio_try_get() on whatever page_folio() says, re-check,
 * put): the struct page array outlives every allocation, so such a grab must
 * fail cleanly on free frames and, when it wins, its put must free exactly
 * what the owner left to it. The main thread checks the free lists under the
 * zone lock (pinmm_check_zone). Runs for at least STRESS_OPS operations and
 * at least $STRESS_SECONDS seconds; then everything is freed and the machine
 * must be whole: free lists consistent, every block coalesced, clean shutdown.
 * Under make soak ($PINMM_FAIL_RATE) the workers' allocations also fail at
 * random; a refused allocation was always allowed here.
 */
#include "../mem/helpers.h"
#include "../base/helpers.h"
#include "../lib/soak.h"

#include <pinmm/gfp.h>
#include <pinmm/vmstat.h>

#define NTHREADS	4
#define NSLOTS		256
#define STRESS_OPS	1000000UL
#define CHUNK		256		/* operations between looks at the clock */

struct worker {
	unsigned int id;
	pthread_t thread;
	uint64_t rng;
	struct held slots[NSLOTS];
	unsigned long ops, allocs, frees, failed, torn, misplaced;
};

static struct worker workers[NTHREADS];
static atomic_ulong total_ops;
static atomic_int stop;

static const gfp_t kinds[] = {
	GFP_KERNEL, GFP_HIGHUSER_MOVABLE, __GFP_MOVABLE,
	GFP_KERNEL | __GFP_COMP, GFP_HIGHUSER_MOVABLE | __GFP_COMP,
};

/* Mostly order 0-2 (cheap, and where contention is); rarely up to a pageblock. */
static unsigned int pick_order(uint64_t *rng)
{
	unsigned int r = test_rand(rng) % 1000;

	if (r < 600)
		return 0;
	if (r < 950)
		return 1 + r % 2;
	if (r < 995)
		return 3 + r % 4;
	return 7 + r % 3;
}

static void one_op(struct worker *w)
{
	struct held *h = &w->slots[test_rand(&w->rng) % NSLOTS];

	if (h->page) {
		if (!held_intact(h))
			w->torn++;
		held_free(h);
		w->frees++;
		return;
	}
	{
		gfp_t gfp = kinds[test_rand(&w->rng) % ARRAY_SIZE(kinds)];
		unsigned int order = pick_order(&w->rng);
		struct page *page = alloc_pages(gfp, order);
		int mt;

		if (!page) {
			w->failed++;
			return;
		}
		mt = get_pfnblock_migratetype(page_to_pfn(page));
		if ((page_zonenum(page) == ZONE_MOVABLE && gfp_zone(gfp) != ZONE_MOVABLE) ||
		    (is_migrate_cma(mt) && !(gfp & __GFP_MOVABLE)))
			w->misplaced++;
		*h = (struct held){ page, order, (gfp & __GFP_COMP) != 0,
				    ((uint64_t)w->id << 56) | (w->ops << 12) };
		held_fill(h);
		w->allocs++;
	}
}

struct speculator {
	pthread_t thread;
	unsigned long tries, grabs, stale;
};

static struct speculator spec;

/* References the speculator keeps for a while, so owners free under it. */
#define SPEC_HELD	16

static void *speculator_fn(void *arg)
{
	struct speculator *sp = arg;
	struct folio *held_refs[SPEC_HELD] = { NULL };
	uint64_t rng = 0x13198a2e03707344ull;
	unsigned int next = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < CHUNK; i++) {
			struct page *page = pfn_to_page(test_rand(&rng) % pinmm_max_pfn);
			struct folio *folio = page_folio(page);

			sp->tries++;
			if (!folio_try_get(folio))
				continue;
			/* as try_get_folio(): the page may have moved to another folio */
			if (page_folio(page) != folio) {
				sp->stale++;
				folio_put(folio);
				continue;
			}
			sp->grabs++;
			if (held_refs[next])
				folio_put(held_refs[next]);
			held_refs[next] = folio;
			next = (next + 1) % SPEC_HELD;
		}
		sched_yield();
	}
	for (unsigned int i = 0; i < SPEC_HELD; i++)
		if (held_refs[i])
			folio_put(held_refs[i]);
	return NULL;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	soak_fail_arm();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < CHUNK; i++, w->ops++)
			one_op(w);
		atomic_fetch_add_explicit(&total_ops, CHUNK, memory_order_relaxed);
	}
	w->torn += held_release_all(w->slots, NSLOTS);
	return NULL;
}

int main(void)
{
	double seconds = stress_seconds(0), t0, elapsed;
	unsigned long checks = 0, check_errors = 0, torn = 0, misplaced = 0, failed = 0;
	unsigned long allocs = 0, frees = 0, ops;
	struct timespec nap = { 0, 20 * 1000 * 1000 };

	watchdog((unsigned int)seconds + 600);
	test_boot(16, 4, 4);
	t0 = now_sec();
	for (unsigned int i = 0; i < NTHREADS; i++) {
		workers[i].id = i;
		workers[i].rng = 0x243f6a8885a308d3ull * (i + 1);
		workers[i].thread = start_thread(worker_fn, &workers[i]);
	}
	spec.thread = start_thread(speculator_fn, &spec);
	while (atomic_load(&total_ops) < STRESS_OPS || now_sec() - t0 < seconds) {
		struct zone *zone;

		/* the free lists stay consistent under the zone lock while others work */
		for_each_populated_zone(zone)
			check_errors += pinmm_check_zone(zone, true) != 0;
		checks++;
		nanosleep(&nap, NULL);
	}
	atomic_store(&stop, 1);
	join_thread(spec.thread);
	for (unsigned int i = 0; i < NTHREADS; i++) {
		join_thread(workers[i].thread);
		torn += workers[i].torn;
		misplaced += workers[i].misplaced;
		failed += workers[i].failed;
		allocs += workers[i].allocs;
		frees += workers[i].frees;
	}
	elapsed = now_sec() - t0;
	ops = atomic_load(&total_ops);
	diag("%d threads, %lu operations in %.2f s: %.0f ops/s (%lu allocations, %lu refused, "
	     "%lu frees, %lu concurrent zone checks)", NTHREADS, ops, elapsed, ops / elapsed,
	     allocs, failed, frees, checks);

	soak_report("alloc_stress", ops);
	diag("speculator: %lu grabs tried, %lu won, %lu won on a folio that had changed",
	     spec.tries, spec.grabs, spec.stale);

	ok(ops >= STRESS_OPS && elapsed >= seconds, "stress: ran at least %lu operations and "
	   "%.0f s", STRESS_OPS, seconds);
	is_uint(torn, 0, "stress: no frame was handed to two owners at once (every pattern intact "
		"until its owner freed it)");
	is_uint(misplaced, 0, "stress: no allocation landed where its gfp forbids (ZONE_MOVABLE "
		"needs __GFP_HIGHMEM|__GFP_MOVABLE, CMA needs __GFP_MOVABLE)");
	is_uint(check_errors, 0, "stress: the free lists matched their counters at every "
		"concurrent check (pinmm_check_zone under zone->lock)");
	ok(spec.grabs > 0, "stress: speculative grabs won on live folios (folio_try_get) and "
	   "were dropped with folio_put");
	ok(all_zones_ok(), "stress: free lists consistent after all threads freed everything");
	is_uint(pinmm_frames_in_use(), 1, "stress: only the zero page is in use at the end: "
		"speculative references never leaked a frame (__free_pages frees the rest of a "
		"loose block, the last folio_put the rest)");
	is_uint(frame_map_errors(NULL, 0), 0, "stress: every frame is in exactly one free block");
	is_uint(pinmm_zones[ZONE_MOVABLE].free_area[MAX_PAGE_ORDER].nr_free,
		zone_pageblocks(&pinmm_zones[ZONE_MOVABLE]),
		"stress: ZONE_MOVABLE coalesced back to MAX_PAGE_ORDER blocks (__free_one_page)");
	is_uint(pinmm_zones[ZONE_NORMAL].free_area[MAX_PAGE_ORDER].nr_free,
		zone_pageblocks(&pinmm_zones[ZONE_NORMAL]) - 1,
		"stress: ZONE_NORMAL coalesced back to MAX_PAGE_ORDER blocks but the zero page's");
	is_uint(global_vm_event(PGALLOC_NORMAL) + global_vm_event(PGALLOC_MOVABLE) - 1,
		global_vm_event(PGFREE), "stress: pgalloc and pgfree balance (every page allocated "
		"was freed, the zero page aside)");
	test_shutdown_ok("allocator stress");
	return done_testing();
}
