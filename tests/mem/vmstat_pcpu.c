// SPDX-License-Identifier: MIT
/*
 * Per-CPU counters (Linux mm/vmstat.c: vm_stat_diff, __mod_zone_page_state,
 * __mod_node_page_state, the *_snapshot readers, cpu_vm_stats_fold and the
 * per-CPU vm_event_states). Rules checked:
 *  - a change within the threshold stays in the CPU's diff: the folded
 *    counter (zone_page_state(), global_node_page_state()) does not move, the
 *    snapshot (counter + every CPU's diff) is exact;
 *  - passing the threshold folds the whole diff into the counter;
 *  - another CPU's diffs count in the snapshot, and fold when its thread
 *    exits (the CPU-dead callback), so nothing is lost;
 *  - events are per CPU with no threshold: global_vm_event() sums them all,
 *    exited CPUs included;
 *  - nr_foll_pin_acquired/released are exact at quiescence after pins and
 *    unpins on several CPUs, and the folded reads never go below zero.
 * PINMM_TEST_CONCURRENT: a second thread counts while this one reads.
 */
#include "helpers.h"
#include "../base/helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/vmstat.h>

static void test_threshold(void)
{
	struct zone *normal;
	long z0, zs0, n0, ns0;
	int t;

	test_boot(256, 0, 0);
	normal = &pinmm_zones[ZONE_NORMAL];
	t = normal->stat_threshold;
	ok(t >= 2 && t <= 125, "threshold: ZONE_NORMAL's stat_threshold is %d (2..125, "
	   "calculate_normal_threshold)", t);

	z0 = zone_page_state(normal, NR_MLOCK);
	zs0 = zone_page_state_snapshot(normal, NR_MLOCK);
	mod_zone_page_state(normal, NR_MLOCK, 1);
	is_int(zone_page_state(normal, NR_MLOCK), z0, "zone diff: +1 stays in this CPU's diff "
	       "(the folded counter does not move)");
	is_int(zone_page_state_snapshot(normal, NR_MLOCK), zs0 + 1, "zone diff: the snapshot "
	       "adds the CPU's diff (zone_page_state_snapshot)");
	mod_zone_page_state(normal, NR_MLOCK, t);
	is_int(zone_page_state(normal, NR_MLOCK), zs0 + t + 1, "zone diff: past the threshold "
	       "the whole diff folds into the counter");
	is_int(zone_page_state_snapshot(normal, NR_MLOCK), zs0 + t + 1, "zone diff: after the "
	       "fold the snapshot and the counter agree");
	is_int(global_zone_page_state(NR_MLOCK), zs0 + t + 1, "zone diff: the global counter "
	       "folds with the zone's");
	mod_zone_page_state(normal, NR_MLOCK, -(long)(t + 1));

	n0 = global_node_page_state(NR_WRITTEN);
	ns0 = global_node_page_state_snapshot(NR_WRITTEN);
	mod_node_page_state(NR_WRITTEN, 1);
	is_int(global_node_page_state(NR_WRITTEN), n0, "node diff: +1 stays on the CPU");
	is_int(global_node_page_state_snapshot(NR_WRITTEN), ns0 + 1, "node diff: "
	       "global_node_page_state_snapshot is exact");
	mod_node_page_state(NR_WRITTEN, -2);
	mod_node_page_state(NR_WRITTEN, 1);
	test_shutdown_ok("vmstat threshold");
}

struct counter_thread {
	pthread_barrier_t *step;
	long zone_delta, node_delta, events;
};

static void *count_fn(void *arg)
{
	struct counter_thread *c = arg;

	mod_zone_page_state(&pinmm_zones[ZONE_NORMAL], NR_MLOCK, c->zone_delta);
	mod_node_page_state(NR_DIRTIED, c->node_delta);
	count_vm_events(PGACTIVATE, c->events);
	pthread_barrier_wait(c->step);	/* counted */
	pthread_barrier_wait(c->step);	/* may exit */
	return NULL;
}

static void test_other_cpu(void)
{
	struct counter_thread c = { .zone_delta = 1, .node_delta = 1, .events = 3 };
	struct zone *normal;
	pthread_barrier_t step;
	long zs0, ns0, e0;
	pthread_t thread;

	test_boot(256, 0, 0);
	normal = &pinmm_zones[ZONE_NORMAL];
	zs0 = zone_page_state_snapshot(normal, NR_MLOCK);
	ns0 = global_node_page_state_snapshot(NR_DIRTIED);
	e0 = (long)global_vm_event(PGACTIVATE);
	pthread_barrier_init(&step, NULL, 2);
	c.step = &step;
	thread = start_thread(count_fn, &c);
	pthread_barrier_wait(&step);
	is_int(zone_page_state_snapshot(normal, NR_MLOCK), zs0 + 1, "other CPU: its zone diff "
	       "counts in the snapshot");
	is_int(global_node_page_state(NR_DIRTIED), ns0, "other CPU: its node diff is not folded "
	       "yet");
	is_int(global_node_page_state_snapshot(NR_DIRTIED), ns0 + 1, "other CPU: its node diff "
	       "counts in the snapshot");
	is_int((long)global_vm_event(PGACTIVATE), e0 + 3, "other CPU: its events count in "
	       "global_vm_event() (all_vm_events)");
	pthread_barrier_wait(&step);
	join_thread(thread);
	is_int(zone_page_state(normal, NR_MLOCK), zs0 + 1, "CPU exit: its zone diff was folded "
	       "into the counter (cpu_vm_stats_fold)");
	is_int(global_node_page_state(NR_DIRTIED), ns0 + 1, "CPU exit: its node diff was folded");
	is_int((long)global_vm_event(PGACTIVATE), e0 + 3, "CPU exit: its events stay counted "
	       "(vm_events_fold_cpu)");
	pthread_barrier_destroy(&step);
	mod_zone_page_state(normal, NR_MLOCK, -1);
	test_shutdown_ok("vmstat other CPU");
}

#define PIN_THREADS	2
#define PIN_ROUNDS	2000

static void *alloc_count_fn(void *arg)
{
	(void)arg;
	/* allocation and free counters: pgalloc, pgfree, NR_FREE_PAGES */
	for (int i = 0; i < PIN_ROUNDS; i++) {
		struct page *p = alloc_pages(GFP_KERNEL, (unsigned int)(i % 3));

		if (p)
			__free_pages(p, (unsigned int)(i % 3));
		mod_node_page_state(NR_FOLL_PIN_ACQUIRED, 1 + i % 5);
		mod_node_page_state(NR_FOLL_PIN_RELEASED, 1 + i % 5);
	}
	return NULL;
}

static void test_exact_at_quiescence(void)
{
	pthread_t threads[PIN_THREADS];
	long a0, r0;

	test_boot(256, 0, 0);
	a0 = global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
	r0 = global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
	for (int i = 0; i < PIN_THREADS; i++)
		threads[i] = start_thread(alloc_count_fn, NULL);
	/* this CPU reads while the others count: sums of relaxed diffs, never torn */
	for (int i = 0; i < 200; i++)
		(void)global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
	for (int i = 0; i < PIN_THREADS; i++)
		join_thread(threads[i]);
	is_int(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED) - a0,
	       global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED) - r0,
	       "quiescence: nr_foll_pin_acquired == nr_foll_pin_released, exactly");
	is_int(global_node_page_state(NR_FOLL_PIN_ACQUIRED) - a0,
	       (long)PIN_THREADS * (PIN_ROUNDS / 5) * 15, "quiescence: the exited CPUs' pin "
	       "diffs were folded: the folded counter is exact too");
	is_uint(global_vm_event(PGALLOC_NORMAL) - 1, global_vm_event(PGFREE),
		"quiescence: pgalloc and pgfree balance across CPUs (the zero page aside)");
	drain_all_pages(NULL);
	ok(all_zones_ok(), "quiescence: NR_FREE_PAGES (snapshot) matches the free lists");
	test_shutdown_ok("vmstat quiescence");
}

int main(void)
{
	watchdog(120);
	test_threshold();
	test_other_cpu();
	test_exact_at_quiescence();
	return done_testing();
}
