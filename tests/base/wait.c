// SPDX-License-Identifier: MIT
/*
 * wait_var_event()/wake_up_var(): a sleeper wakes when its condition is made
 * true, no wake-up is lost in a long ping-pong, and sleepers on other
 * variables of the same bucket are not released by mistake.
 * PINMM_TEST_CONCURRENT
 */
#include "helpers.h"

#include <pinmm/sched.h>
#include <pinmm/wait.h>

#include <errno.h>

/* ---- one sleeper ---- */

static atomic_int var, woke;

static void *sleeper(void *arg)
{
	(void)arg;
	wait_var_event(&var, atomic_load(&var) == 1);
	atomic_store(&woke, 1);
	return NULL;
}

/* ---- ping-pong ---- */

#define HANDOFFS	10000

static atomic_int turn;		/* whose move: 0 or 1 */

static void *player(void *arg)
{
	int me = (int)(intptr_t)arg;

	for (int i = 0; i < HANDOFFS; i++) {
		wait_var_event(&turn, atomic_load(&turn) == me);
		atomic_store(&turn, !me);
		wake_up_var(&turn);
	}
	return NULL;
}

/* ---- many variables, shared buckets ---- */

#define NVARS	64

static atomic_int vars[NVARS], done[NVARS];

static void *var_sleeper(void *arg)
{
	int i = (int)(intptr_t)arg;

	wait_var_event(&vars[i], atomic_load(&vars[i]) != 0);
	atomic_store(&done[i], 1);
	return NULL;
}

/* ---- killable ---- */

struct killable {
	atomic_int sig, cond, started, finished;
	int ret;
};

static void *killable_sleeper(void *arg)
{
	struct killable *k = arg;

	pinmm_current_ctx.sigpending = &k->sig;
	atomic_store(&k->started, 1);
	k->ret = wait_var_event_killable(&k->cond, atomic_load(&k->cond) != 0);
	atomic_store(&k->finished, 1);
	return NULL;
}

int main(void)
{
	pthread_t t, p[2], vs[NVARS];
	struct killable k = { 0 };
	uint64_t t0;

	plan(10);
	watchdog(60);

	atomic_store(&var, 1);
	wait_var_event(&var, atomic_load(&var) == 1);
	ok(true, "wait: wait_var_event() on a true condition returns at once");
	atomic_store(&var, 0);

	t = start_thread(sleeper, NULL);
	settle();
	ok(!atomic_load(&woke), "wait: wait_var_event() sleeps while the condition is false");
	atomic_store(&var, 1);
	wake_up_var(&var);
	ok(wait_for(&woke, 1), "wait: wake_up_var() after making the condition true wakes the sleeper");
	join_thread(t);

	t0 = now_ns();
	p[0] = start_thread(player, (void *)0);
	p[1] = start_thread(player, (void *)1);
	join_thread(p[0]);
	join_thread(p[1]);
	diag("%d handoffs in %.3f s", 2 * HANDOFFS, (now_ns() - t0) / 1e9);
	ok(atomic_load(&turn) == 0,
	   "wait: %d ping-pong handoffs complete: no wake-up is lost", 2 * HANDOFFS);

	for (int i = 0; i < NVARS; i++)
		vs[i] = start_thread(var_sleeper, (void *)(intptr_t)i);
	settle();
	/* Wake the odd ones; a bucket broadcast also rouses the even ones, which must sleep on. */
	for (int i = 1; i < NVARS; i += 2) {
		atomic_store(&vars[i], 1);
		wake_up_var(&vars[i]);
	}
	bool odd_ok = true, even_ok = true;

	for (int i = 1; i < NVARS; i += 2)
		odd_ok &= wait_for(&done[i], 1);
	settle();
	for (int i = 0; i < NVARS; i += 2)
		even_ok &= !atomic_load(&done[i]);
	ok(odd_ok, "wait: each woken variable's sleeper proceeds");
	ok(even_ok, "wait: sleepers on other variables (sharing buckets) keep sleeping");
	for (int i = 0; i < NVARS; i += 2) {
		atomic_store(&vars[i], 1);
		wake_up_var(&vars[i]);
	}
	for (int i = 0; i < NVARS; i++)
		join_thread(vs[i]);

	t = start_thread(killable_sleeper, &k);
	wait_for(&k.started, 1);
	settle();
	ok(!atomic_load(&k.finished), "wait: wait_var_event_killable() sleeps while the condition is false");
	atomic_store(&k.sig, 1);
	ok(wait_for(&k.finished, 1), "wait: a fatal signal ends wait_var_event_killable() without a wake-up");
	join_thread(t);
	is_int(k.ret, -EINTR, "wait: wait_var_event_killable() returns -EINTR on a fatal signal");

	atomic_store(&k.sig, 0);
	atomic_store(&k.cond, 1);
	pinmm_current_ctx.sigpending = &k.sig;
	is_int(wait_var_event_killable(&k.cond, atomic_load(&k.cond) != 0), 0,
	       "wait: wait_var_event_killable() returns 0 once the condition holds");
	pinmm_current_ctx.sigpending = NULL;
	return done_testing();
}
