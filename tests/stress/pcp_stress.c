// SPDX-License-Identifier: MIT
/*
 * Per-CPU page lists under fire. PINMM_TEST_CONCURRENT: three threads (three
 * CPUs) allocate and free order-0 pages and THP-sized blocks, refilling and
 * trimming their per-CPU lists, while a fourth calls drain_all_pages() and
 * drain_local_pages() in a loop, emptying the others' lists under their
 * feet (Linux's remote drain through pcp->lock), and the main thread checks
 * the free lists under zone->lock. Every frame carries its owner's pattern,
 * checked before its free: a frame on a list and handed out twice, or
 * drained while allocated, tears it. Then, with the workers parked holding
 * their pages and their lists, every page must be accounted for: after
 * drain_all_pages(), NR_FREE_PAGES + the pages held + the zero page = the
 * managed total. Last, the workers free everything and exit: their lists
 * drain at thread exit and the machine is whole again with no drain call.
 * Runs for $STRESS_SECONDS seconds and at least STRESS_OPS operations.
 */
#include "../mem/helpers.h"
#include "../base/helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/vmstat.h>

#define NWORKERS	3
#define NSLOTS		128
#define STRESS_OPS	300000UL
#define CHUNK		128

struct worker {
	unsigned int id;
	pthread_t thread;
	uint64_t rng;
	struct held slots[NSLOTS];
	unsigned long ops, failed, torn;
};

static struct worker workers[NWORKERS];
static atomic_ulong total_ops, drains;
static atomic_int stop, parked, may_exit;

static const gfp_t kinds[] = { GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_HIGHUSER_MOVABLE | __GFP_COMP };

static void one_op(struct worker *w)
{
	struct held *h = &w->slots[test_rand(&w->rng) % NSLOTS];
	unsigned int order;
	struct page *page;
	gfp_t gfp;

	if (h->page) {
		if (!held_intact(h))
			w->torn++;
		held_free(h);
		return;
	}
	gfp = kinds[test_rand(&w->rng) % ARRAY_SIZE(kinds)];
	order = test_rand(&w->rng) % 64 ? 0 : pageblock_order;
	page = alloc_pages(gfp, order);
	if (!page) {
		w->failed++;
		return;
	}
	*h = (struct held){ page, order, (gfp & __GFP_COMP) != 0,
			    ((uint64_t)(w->id + 1) << 56) | (w->ops << 12) };
	held_fill(h);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < CHUNK; i++, w->ops++)
			one_op(w);
		atomic_fetch_add_explicit(&total_ops, CHUNK, memory_order_relaxed);
	}
	/* park with the pages held and the lists as they are */
	atomic_fetch_add(&parked, 1);
	while (!atomic_load(&may_exit))
		sched_yield();
	w->torn += held_release_all(w->slots, NSLOTS);
	return NULL;
}

static void *drainer_fn(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		drain_all_pages(NULL);
		drain_all_pages(&pinmm_zones[ZONE_MOVABLE]);
		drain_local_pages(NULL);
		atomic_fetch_add_explicit(&drains, 1, memory_order_relaxed);
		sched_yield();
	}
	return NULL;
}

int main(void)
{
	double seconds = stress_seconds(0), t0;
	unsigned long checks = 0, check_errors = 0, torn = 0, failed = 0, held_pages = 0;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	struct held all[NWORKERS * NSLOTS];
	size_t nheld = 0;
	pthread_t drainer;
	long managed = 0;
	struct zone *zone;

	watchdog((unsigned int)seconds + 600);
	test_boot(64, 16, 8);
	for_each_populated_zone(zone)
		if (zone->idx != ZONE_DEVICE)
			managed += atomic_load(&zone->managed_pages);
	t0 = now_sec();
	for (unsigned int i = 0; i < NWORKERS; i++) {
		workers[i].id = i;
		workers[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		workers[i].thread = start_thread(worker_fn, &workers[i]);
	}
	drainer = start_thread(drainer_fn, NULL);
	while (atomic_load(&total_ops) < STRESS_OPS || now_sec() - t0 < seconds) {
		for_each_populated_zone(zone)
			check_errors += pinmm_check_zone(zone, true) != 0;
		checks++;
		nanosleep(&nap, NULL);
	}
	atomic_store(&stop, 1);
	join_thread(drainer);
	while (atomic_load(&parked) < NWORKERS)
		sched_yield();

	diag("%d workers, %lu operations, %lu drain rounds, %lu zone checks in %.2f s",
	     NWORKERS, atomic_load(&total_ops), atomic_load(&drains), checks, now_sec() - t0);
	ok(atomic_load(&drains) > 0, "pcp stress: drain_all_pages() ran while the CPUs allocated "
	   "and freed");
	is_uint(check_errors, 0, "pcp stress: the free lists matched their counters at every "
		"concurrent check");

	/* the workers are parked: their lists hold pages, their slots the rest */
	for (unsigned int i = 0; i < NWORKERS; i++)
		for (int s = 0; s < NSLOTS; s++)
			if (workers[i].slots[s].page) {
				all[nheld++] = workers[i].slots[s];
				held_pages += 1UL << workers[i].slots[s].order;
			}
	drain_all_pages(NULL);
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES) + (long)held_pages + 1, managed,
	       "pcp stress: after drain_all_pages() from another CPU, free + held + the zero page "
	       "= every managed frame (%lu held)", held_pages);
	is_uint(frame_map_errors(all, nheld), 0, "pcp stress: every frame is in exactly one free "
		"block or one held allocation (none left on a list, none twice)");
	is_uint(pinmm_frames_in_use(), held_pages + 1, "pcp stress: pinmm_frames_in_use() counts "
		"exactly the held pages and the zero page");

	atomic_store(&may_exit, 1);
	for (unsigned int i = 0; i < NWORKERS; i++) {
		join_thread(workers[i].thread);
		torn += workers[i].torn;
		failed += workers[i].failed;
	}
	is_uint(torn, 0, "pcp stress: no frame was handed to two owners (every pattern intact "
		"until its free)");
	diag("%lu allocations refused (memory full)", failed);
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES) + 1, managed, "pcp stress: the workers freed "
	       "everything and exited: their lists drained at thread exit, every frame is free");
	ok(all_zones_ok(), "pcp stress: free lists consistent at the end");
	test_shutdown_ok("pcp stress");
	return done_testing();
}
