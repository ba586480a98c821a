/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the tests of tests/base: thread start/join, bounded waits
 * on flags, and a watchdog so a lost wake-up fails the test instead of
 * hanging prove.
 */
#ifndef PINMM_TESTS_BASE_HELPERS_H
#define PINMM_TESTS_BASE_HELPERS_H

#include "../lib/tap.h"

#include <pinmm/compiler.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Every wait for another thread gives up after this long: a failure, not a hang. */
#define TEST_WAIT_SECONDS	5.0

static inline pthread_t start_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg))
		bail_out("pthread_create failed");
	return t;
}

static inline void join_thread(pthread_t t)
{
	pthread_join(t, NULL);
}

/* Kill the process with SIGALRM if it is still running after @seconds. */
static inline void watchdog(unsigned int seconds)
{
	alarm(seconds);
}

/* Wait, yielding, until *@flag == @want; false if it never does. */
static inline bool wait_for(atomic_int *flag, int want)
{
	double until = now_sec() + TEST_WAIT_SECONDS;

	while (atomic_load(flag) != want) {
		if (now_sec() > until)
			return false;
		sched_yield();
	}
	return true;
}

/*
 * Give another thread time to reach the call it will block in. Used only
 * before asserting that something has NOT happened yet, so a slow machine can
 * make such a check weaker, never make it fail wrongly.
 */
static inline void settle(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	for (int i = 0; i < 5; i++) {
		sched_yield();
		nanosleep(&ts, NULL);
	}
}

/* Iteration counts are smaller under ThreadSanitizer, which is ~10x slower. */
#ifdef PINMM_TSAN
#define TEST_SCALE(n)	((n) / 10)
#else
#define TEST_SCALE(n)	(n)
#endif

#endif /* PINMM_TESTS_BASE_HELPERS_H */
