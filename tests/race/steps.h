/* SPDX-License-Identifier: MIT */
/*
 * What the race tests share: a choreography of numbered steps (one thread
 * waits until another has reached a step, with a timeout so a point that is
 * never reached fails the test instead of hanging it), and the arming of
 * race points with a count of how often each fired.
 */
#ifndef PINMM_TESTS_RACE_STEPS_H
#define PINMM_TESTS_RACE_STEPS_H

#include "../gup/helpers.h"

#include <pinmm/race.h>

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <time.h>

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int step;
	bool timed_out;		/* a step_wait() gave up: the choreography broke */
} st = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* How often each race point fired since it was armed. */
static atomic_int hits[PINMM_RACE_NR];

static inline void step_reset(void)
{
	pthread_mutex_lock(&st.lock);
	st.step = 0;
	st.timed_out = false;
	pthread_mutex_unlock(&st.lock);
}

static inline void step_set(int n)
{
	pthread_mutex_lock(&st.lock);
	if (n > st.step)
		st.step = n;
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
}

/* Wait for step @n; false after 10 s (a point never reached: the test says so). */
static inline bool step_wait(int n)
{
	struct timespec until;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&st.lock);
	while (st.step < n && ok)
		ok = pthread_cond_timedwait(&st.cond, &st.lock, &until) == 0 || st.step >= n;
	if (!ok)
		st.timed_out = true;
	pthread_mutex_unlock(&st.lock);
	return ok;
}

/* The first time @point fires at @want (a callback's filter). */
static inline bool first_at(enum pinmm_race point, unsigned long addr, unsigned long want)
{
	return addr == want && atomic_fetch_add(&hits[point], 1) == 0;
}

static inline void arm(enum pinmm_race point, pinmm_race_fn fn)
{
	atomic_store(&hits[point], 0);
	if (pinmm_race_arm(point, fn, NULL))
		bail_out("pinmm_race_arm(%s)", pinmm_race_name(point));
}

static inline void disarm_all(void)
{
	for (int p = 0; p < PINMM_RACE_NR; p++)
		pinmm_race_disarm(p);
}

/*
 * The start of every race test's main(): in a build without race points
 * (release) say so in TAP and return true (the test is skipped); otherwise
 * begin the plan.
 */
static inline bool race_points_missing(void)
{
	/* no hook: a debug build refuses it (-EINVAL) and arms nothing */
	if (pinmm_race_arm(PINMM_RACE_GUP_FAST_READ, NULL, NULL) == -EOPNOTSUPP) {
		printf("1..0 # SKIP race points are compiled out (release build)\n");
		return true;
	}
	plan_no_plan();
	return false;
}

/* Run @fn on another thread and wait for it. */
static inline void run_beside(void *(*fn)(void *))
{
	pthread_t th;

	pthread_create(&th, NULL, fn, NULL);
	pthread_join(th, NULL);
}

#endif
