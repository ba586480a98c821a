// SPDX-License-Identifier: MIT
/*
 * struct mutex: mutual exclusion, trylock, and the killable lock.
 * PINMM_TEST_CONCURRENT: threads hammer a plain counter, and a killable
 * waiter is "killed" through its pinmm_current_ctx.sigpending word.
 */
#include "helpers.h"

#include <pinmm/locks.h>
#include <pinmm/sched.h>

#include <errno.h>

#define NTHREADS	4
#define ITERS		TEST_SCALE(100000)

static struct mutex counter_mutex;
static unsigned long counter;		/* plain on purpose: only the mutex protects it */
static atomic_int inside, overlaps;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		mutex_lock(&counter_mutex);
		if (atomic_fetch_add(&inside, 1) != 0)
			atomic_fetch_add(&overlaps, 1);
		counter++;
		atomic_fetch_sub(&inside, 1);
		mutex_unlock(&counter_mutex);
	}
	return NULL;
}

static struct mutex m;
static atomic_int trylock_result;

static void *try_from_other_thread(void *arg)
{
	bool got = mutex_trylock(&m);

	(void)arg;
	if (got)
		mutex_unlock(&m);
	atomic_store(&trylock_result, got);
	return NULL;
}

struct killable_waiter {
	atomic_int sig;		/* this thread's fatal-signal word */
	atomic_int started;
	atomic_int done;
	int ret;
	unsigned int depth_after;
	bool held_after;
};

static void *killable_waiter(void *arg)
{
	struct killable_waiter *w = arg;

	pinmm_current_ctx.sigpending = &w->sig;
	atomic_store(&w->started, 1);
	w->ret = mutex_lock_killable(&m);
	w->depth_after = lockrank_depth();
	w->held_after = lockrank_held(&m);
	if (!w->ret)
		mutex_unlock(&m);
	atomic_store(&w->done, 1);
	return NULL;
}

int main(void)
{
	struct killable_waiter w = { 0 };
	pthread_t t[NTHREADS];
	atomic_int sig = 1;

	plan(14);
	watchdog(30);

	mutex_init(&m, LOCK_RANK_FOLIO);
	ok(!mutex_is_locked(&m), "mutex: mutex_init() gives an unlocked mutex");
	mutex_lock(&m);
	ok(mutex_is_locked(&m) && lockrank_held_exclusive(&m),
	   "mutex: mutex_lock() holds it, recorded as an exclusive hold");
	join_thread(start_thread(try_from_other_thread, NULL));
	ok(!atomic_load(&trylock_result), "mutex: mutex_trylock() fails while another thread holds it");
	mutex_unlock(&m);
	ok(!mutex_is_locked(&m) && lockrank_depth() == 0, "mutex: mutex_unlock() frees it");
	join_thread(start_thread(try_from_other_thread, NULL));
	ok(atomic_load(&trylock_result), "mutex: mutex_trylock() takes a free mutex");

	/* Killable: a waiter gives up with -EINTR once its signal word is set. */
	mutex_lock(&m);
	pthread_t k = start_thread(killable_waiter, &w);
	ok(wait_for(&w.started, 1), "mutex: the killable waiter started");
	settle();
	ok(!atomic_load(&w.done), "mutex: mutex_lock_killable() waits while the mutex is held");
	atomic_store(&w.sig, 1);
	ok(wait_for(&w.done, 1), "mutex: a fatal signal ends a mutex_lock_killable() wait");
	join_thread(k);
	is_int(w.ret, -EINTR, "mutex: mutex_lock_killable() returns -EINTR on a fatal signal");
	ok(w.depth_after == 0 && !w.held_after && mutex_is_locked(&m) && lockrank_held(&m),
	   "mutex: a killed mutex_lock_killable() leaves the mutex not held by the waiter");
	mutex_unlock(&m);

	/* As Linux: the fatal signal is only checked once the waiter would sleep. */
	pinmm_current_ctx.sigpending = &sig;
	is_int(mutex_lock_killable(&m), 0,
	       "mutex: mutex_lock_killable() takes a free mutex even with a fatal signal pending");
	mutex_unlock(&m);
	pinmm_current_ctx.sigpending = NULL;
	mutex_destroy(&m);

	mutex_init(&counter_mutex, LOCK_RANK_LEAF);
	for (int i = 0; i < NTHREADS; i++)
		t[i] = start_thread(hammer, NULL);
	for (int i = 0; i < NTHREADS; i++)
		join_thread(t[i]);
	is_int(atomic_load(&overlaps), 0, "mutex: mutual exclusion: never two holders inside at once");
	is_uint(counter, (unsigned long)NTHREADS * ITERS,
		"mutex: mutual exclusion: %d threads x %d increments of a plain counter lose none",
		NTHREADS, ITERS);
	ok(!mutex_is_locked(&counter_mutex), "mutex: free again after the hammering");
	mutex_destroy(&counter_mutex);
	return done_testing();
}
