// SPDX-License-Identifier: MIT
/*
 * The folio lock (Linux mm/filemap.c: folio_lock, __folio_lock_killable,
 * folio_unlock, folio_wait_locked).
 * PINMM_TEST_CONCURRENT: a second thread blocks on a held folio lock and is
 * released by folio_unlock(); a killable waiter gives up with -EINTR when its
 * pinmm_current_ctx.sigpending word is set; threads hammer a counter that
 * only the folio lock protects. Every handshake is an atomic flag; the fact
 * that a waiter is asleep is read from PG_waiters, which it sets itself.
 */
#include "helpers.h"
#include "../base/helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/pagemap.h>
#include <pinmm/sched.h>

#include <errno.h>

struct locker {
	struct folio *folio;
	bool killable;
	atomic_int sig;		/* this thread's fatal-signal word */
	atomic_int started;
	atomic_int acquired;
	atomic_int release;	/* main tells it to unlock */
	atomic_int done;
	int ret;
};

static void *locker_thread(void *arg)
{
	struct locker *l = arg;

	pinmm_current_ctx.sigpending = &l->sig;
	atomic_store(&l->started, 1);
	if (l->killable) {
		l->ret = folio_lock_killable(l->folio);
	} else {
		folio_lock(l->folio);
		l->ret = 0;
	}
	if (l->ret == 0) {
		atomic_store(&l->acquired, 1);
		while (!atomic_load(&l->release))
			sched_yield();
		folio_unlock(l->folio);
	}
	atomic_store(&l->done, 1);
	pinmm_current_ctx.sigpending = NULL;
	return NULL;
}

/* True once a thread sleeps on @folio: a waiter sets PG_waiters before sleeping. */
static bool wait_for_waiter(struct folio *folio)
{
	double until = now_sec() + TEST_WAIT_SECONDS;

	while (!folio_test_waiters(folio)) {
		if (now_sec() > until)
			return false;
		sched_yield();
	}
	return true;
}

static atomic_int trylock_result;

static void *trylock_thread(void *arg)
{
	struct folio *folio = arg;
	bool got = folio_trylock(folio);

	if (got)
		folio_unlock(folio);
	atomic_store(&trylock_result, got);
	return NULL;
}

static void test_lock_blocks(void)
{
	struct locker l = { 0 };
	struct folio *folio;
	pthread_t t;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 0);
	if (!folio)
		bail_out("folio_alloc failed");
	ok(folio_trylock(folio), "folio_trylock: takes a free folio lock");
	ok(folio_test_locked(folio), "folio_trylock: sets PG_locked");
	ok(!folio_trylock(folio), "folio_trylock: fails while the lock is held");
	atomic_store(&trylock_result, -1);
	join_thread(start_thread(trylock_thread, folio));
	is_int(atomic_load(&trylock_result), 0, "folio_trylock: fails from another thread while "
	       "the lock is held");

	l.folio = folio;
	t = start_thread(locker_thread, &l);
	ok(wait_for(&l.started, 1) && wait_for_waiter(folio),
	   "folio_lock: a second thread goes to sleep on a held lock (sets PG_waiters)");
	is_int(atomic_load(&l.acquired), 0, "folio_lock: the second thread does not get the lock "
	       "while the first holds it");
	folio_unlock(folio);
	ok(wait_for(&l.acquired, 1), "folio_unlock: wakes the sleeper, which then takes the lock "
	   "(folio_wake_bit)");
	ok(folio_test_locked(folio) && !folio_trylock(folio),
	   "folio_lock: the woken thread holds the lock");
	atomic_store(&l.release, 1);
	join_thread(t);
	ok(!folio_test_locked(folio) && !folio_test_waiters(folio),
	   "folio_unlock: leaves neither PG_locked nor PG_waiters behind");
	folio_put(folio);
	test_shutdown_ok("folio_lock blocks");
}

static void test_lock_large(void)
{
	struct locker l = { 0 };
	struct folio *folio;
	pthread_t t;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_HIGHUSER_MOVABLE, 4);
	if (!folio)
		bail_out("folio_alloc failed");
	lock_page(folio_page(folio, 7));
	ok(folio_test_locked(folio) && !test_bit(PG_locked, &folio_page(folio, 7)->flags),
	   "lock_page: locking a tail page locks its folio (PG_locked lives in the head)");
	l.folio = folio;
	t = start_thread(locker_thread, &l);
	ok(wait_for(&l.started, 1) && wait_for_waiter(folio) && !atomic_load(&l.acquired),
	   "folio_lock: a large folio locked through a tail blocks a locker of the head");
	unlock_page(folio_page(folio, 3));
	ok(wait_for(&l.acquired, 1), "unlock_page: unlocking through a tail wakes the waiter");
	atomic_store(&l.release, 1);
	join_thread(t);
	folio_put(folio);
	test_shutdown_ok("folio_lock on a large folio");
}

static void test_lock_killable(void)
{
	struct locker l = { 0 }, l2 = { 0 };
	struct folio *folio;
	atomic_int mysig = 1;
	pthread_t t;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 0);
	if (!folio)
		bail_out("folio_alloc failed");
	folio_lock(folio);

	l.folio = folio;
	l.killable = true;
	t = start_thread(locker_thread, &l);
	ok(wait_for(&l.started, 1) && wait_for_waiter(folio),
	   "folio_lock_killable: the waiter sleeps on the held lock");
	is_int(atomic_load(&l.done), 0, "folio_lock_killable: and stays asleep with no signal");
	atomic_store(&l.sig, 1);
	ok(wait_for(&l.done, 1), "folio_lock_killable: a fatal signal wakes the waiter");
	join_thread(t);
	is_int(l.ret, -EINTR, "folio_lock_killable: returns -EINTR on a fatal signal "
	       "(fatal_signal_pending)");
	is_int(atomic_load(&l.acquired), 0, "folio_lock_killable: -EINTR means the lock was not "
	       "taken");
	ok(folio_test_locked(folio), "folio_lock_killable: the holder still holds the lock");

	/*
	 * No signal: the killable waiter gets the lock when it is released.
	 * The killed waiter may leave PG_waiters behind (as in Linux); nobody
	 * sleeps now, so clear it to make the next handshake meaningful.
	 */
	folio_clear_waiters(folio);
	l2.folio = folio;
	l2.killable = true;
	t = start_thread(locker_thread, &l2);
	ok(wait_for(&l2.started, 1) && wait_for_waiter(folio), "folio_lock_killable: a second "
	   "waiter sleeps");
	folio_unlock(folio);
	ok(wait_for(&l2.acquired, 1), "folio_lock_killable: without a signal it takes the lock once "
	   "released");
	atomic_store(&l2.release, 1);
	join_thread(t);
	is_int(l2.ret, 0, "folio_lock_killable: returns 0 with the lock taken");

	/* a free lock is taken even with a signal pending (as Linux: try first) */
	pinmm_current_ctx.sigpending = &mysig;
	is_int(folio_lock_killable(folio), 0, "folio_lock_killable: a free lock is taken even with "
	       "a fatal signal pending");
	pinmm_current_ctx.sigpending = NULL;
	folio_unlock(folio);
	folio_put(folio);
	test_shutdown_ok("folio_lock_killable");
}

struct waiter {
	struct folio *folio;
	atomic_int started;
	atomic_int done;
};

static void *wait_locked_thread(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->started, 1);
	folio_wait_locked(w->folio);
	atomic_store(&w->done, 1);
	return NULL;
}

static void test_wait_locked(void)
{
	struct waiter w = { 0 };
	struct folio *folio;
	pthread_t t;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 0);
	if (!folio)
		bail_out("folio_alloc failed");
	folio_lock(folio);
	w.folio = folio;
	t = start_thread(wait_locked_thread, &w);
	ok(wait_for(&w.started, 1) && wait_for_waiter(folio) && !atomic_load(&w.done),
	   "folio_wait_locked: sleeps while the folio is locked");
	folio_unlock(folio);
	ok(wait_for(&w.done, 1), "folio_wait_locked: returns once the folio is unlocked");
	join_thread(t);
	ok(!folio_test_locked(folio), "folio_wait_locked: does not take the lock");
	folio_put(folio);
	test_shutdown_ok("folio_wait_locked");
}

/* ---- mutual exclusion ------------------------------------------------------------- */

#define NTHREADS	4
#define ITERS		TEST_SCALE(20000)

static struct folio *shared_folio;
static unsigned long counter;		/* plain on purpose: only the folio lock protects it */
static atomic_int inside, overlaps;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		if (i & 1) {
			folio_lock(shared_folio);
		} else {
			while (!folio_trylock(shared_folio))
				sched_yield();
		}
		if (atomic_fetch_add(&inside, 1) != 0)
			atomic_fetch_add(&overlaps, 1);
		counter++;
		atomic_fetch_sub(&inside, 1);
		folio_unlock(shared_folio);
	}
	return NULL;
}

static void test_mutual_exclusion(void)
{
	pthread_t t[NTHREADS];

	test_boot(64, 0, 0);
	shared_folio = folio_alloc(GFP_KERNEL, 2);
	if (!shared_folio)
		bail_out("folio_alloc failed");
	for (int i = 0; i < NTHREADS; i++)
		t[i] = start_thread(hammer, NULL);
	for (int i = 0; i < NTHREADS; i++)
		join_thread(t[i]);
	is_int(atomic_load(&overlaps), 0, "folio_lock: never two holders at once");
	is_uint(counter, (unsigned long)NTHREADS * ITERS, "folio_lock: acquire/release order "
		"makes every increment under the lock visible to the next holder");
	ok(!folio_test_locked(shared_folio) && !folio_test_waiters(shared_folio),
	   "folio_lock: no PG_locked or PG_waiters left after the storm");
	folio_put(shared_folio);
	test_shutdown_ok("folio_lock mutual exclusion");
}

int main(void)
{
	watchdog(120);
	test_lock_blocks();
	test_lock_large();
	test_lock_killable();
	test_wait_locked();
	test_mutual_exclusion();
	return done_testing();
}
