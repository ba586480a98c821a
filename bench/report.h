/* SPDX-License-Identifier: MIT */
/*
 * The machine-readable line each bench prints for `make bench-report`
 * (tools/bench-report reads them; docs/bench-report.md), beside its prose:
 *
 *   REPORT name=<id> pinmm=<number> [kernel=<number>|n/a] [ref=<number>
 *          ref_name=<word>] unit=<unit>
 *
 * kernel= is the live kernel doing the same work in the same run ("n/a":
 * the kernel side exists but was unavailable, e.g. no io_uring); without it
 * the figure has no kernel side. ref= is a floor to compare with instead
 * (memcpy for migration). Values are costs: lower is better.
 */
#ifndef PINMM_BENCH_REPORT_H
#define PINMM_BENCH_REPORT_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Wall-clock nanoseconds (CLOCK_MONOTONIC). */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The same as a double, for per-page arithmetic. */
static inline double bench_now(void)
{
	return (double)bench_now_ns();
}

/* The calling thread's CPU time: what the work cost, whoever else wants the CPUs. */
static inline uint64_t bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* kernel= values for bench_report(): no kernel side, or one that did not run */
#define BENCH_NO_KERNEL		(-1.0)
#define BENCH_KERNEL_NA		NAN

static inline void bench_report(const char *name, const char *unit, double pinmm, double kernel)
{
	printf("REPORT name=%s pinmm=%.3f", name, pinmm);
	if (isnan(kernel))
		printf(" kernel=n/a");
	else if (kernel >= 0)
		printf(" kernel=%.3f", kernel);
	printf(" unit=%s\n", unit);
}

/* A figure without a kernel side, next to the floor it is measured against. */
static inline void bench_report_ref(const char *name, const char *unit, double pinmm,
				    const char *ref_name, double ref)
{
	printf("REPORT name=%s pinmm=%.3f ref=%.3f ref_name=%s unit=%s\n", name, pinmm, ref,
	       ref_name, unit);
}

#endif
