/* SPDX-License-Identifier: MIT */
/*
 * <linux/ktime.h>: ktime_t as nanoseconds of the host's CLOCK_MONOTONIC
 * (Linux's ktime_get() clock), and the deltas callers take of it.
 */
#ifndef PINMM_LINUX_KTIME_H
#define PINMM_LINUX_KTIME_H

#include <linux/types.h>
#include <time.h>

typedef s64 ktime_t;

static inline ktime_t ktime_get(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline ktime_t ktime_sub(ktime_t later, ktime_t earlier)
{
	return later - earlier;
}

static inline s64 ktime_to_ns(ktime_t kt)
{
	return kt;
}

/* Microseconds from @earlier to @later, rounded toward zero as Linux's. */
static inline s64 ktime_us_delta(ktime_t later, ktime_t earlier)
{
	return (later - earlier) / 1000;
}

#endif
