// SPDX-License-Identifier: MIT
/*
 * bench/alloc: the cost of one allocate+free pair from the buddy allocator,
 * for order 0 (a page) and order 9 (a PMD-sized block), on one thread and on
 * two threads that each run their own loop against the same zone (so the
 * second figure includes zone->lock contention; pinmm has no per-CPU page
 * lists). Prints figures only; the headline is the last line.
 */
#include <pinmm/gfp.h>
#include <pinmm/machine.h>
#include <pinmm/mm.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "report.h"

#define ORDER0_ITERS	1000000UL
#define ORDER9_ITERS	100000UL
#define MAX_THREADS	2

struct run {
	unsigned int order;
	unsigned long iters;
	pthread_barrier_t *start;
	unsigned long failed;
	uint64_t ns;
};

static void *loop(void *arg)
{
	struct run *r = arg;
	uint64_t t0;

	pthread_barrier_wait(r->start);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < r->iters; i++) {
		struct page *page = alloc_pages(GFP_KERNEL, r->order);

		if (!page) {
			r->failed++;
			continue;
		}
		__free_pages(page, r->order);
	}
	r->ns = bench_now_ns() - t0;
	return NULL;
}

/* ns per allocate+free pair as each of @nthreads threads sees it; @print the figures. */
static double measure(unsigned int order, unsigned long iters, int nthreads, bool print)
{
	struct run runs[MAX_THREADS];
	pthread_t threads[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t worst = 0;
	unsigned long failed = 0;

	pthread_barrier_init(&start, NULL, (unsigned int)nthreads);
	for (int i = 0; i < nthreads; i++) {
		runs[i] = (struct run){ .order = order, .iters = iters, .start = &start };
		if (pthread_create(&threads[i], NULL, loop, &runs[i])) {
			fprintf(stderr, "alloc: pthread_create failed\n");
			exit(1);
		}
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(threads[i], NULL);
		if (runs[i].ns > worst)
			worst = runs[i].ns;
		failed += runs[i].failed;
	}
	pthread_barrier_destroy(&start);
	if (failed) {
		fprintf(stderr, "alloc: %lu allocations failed\n", failed);
		exit(1);
	}
	if (print)
		printf("order %u, %d thread%s: %lu pairs per thread in %.3f s: %.1f ns/op, "
		       "%.2f M pairs/s in all\n", order, nthreads, nthreads > 1 ? "s" : "",
		       iters, worst / 1e9, (double)worst / iters,
		       nthreads * iters / (worst / 1e3));
	return (double)worst / iters;
}

int main(void)
{
	struct pinmm_config cfg;
	double o0_1, o9_1, o0_2, o9_2;
	int err;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 256UL << 20;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	err = pinmm_boot(&cfg);
	if (err) {
		fprintf(stderr, "alloc: pinmm_boot failed: %d\n", err);
		return 1;
	}
	measure(0, ORDER0_ITERS / 10, 1, false);	/* warm up caches and free lists */
	o0_1 = measure(0, ORDER0_ITERS, 1, true);
	o9_1 = measure(9, ORDER9_ITERS, 1, true);
	o0_2 = measure(0, ORDER0_ITERS, 2, true);
	o9_2 = measure(9, ORDER9_ITERS, 2, true);
	err = pinmm_shutdown();
	if (err) {
		fprintf(stderr, "alloc: pinmm_shutdown failed: %d\n", err);
		return 1;
	}
	bench_report("alloc-order0", "ns/op", o0_1, BENCH_NO_KERNEL);
	bench_report("alloc-order9", "ns/op", o9_1, BENCH_NO_KERNEL);
	bench_report("alloc-order0-2threads", "ns/op", o0_2, BENCH_NO_KERNEL);
	bench_report("alloc-order9-2threads", "ns/op", o9_2, BENCH_NO_KERNEL);
	printf("alloc ns/op: order0 %.1f order9 %.1f (1 thread) order0 %.1f order9 %.1f "
	       "(2 threads)\n", o0_1, o9_1, o0_2, o9_2);
	return 0;
}
