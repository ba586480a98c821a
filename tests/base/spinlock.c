// SPDX-License-Identifier: MIT
/*
 * spinlock_t: mutual exclusion, trylock, and the queries.
 * PINMM_TEST_CONCURRENT: threads hammer a plain counter (TSan checks the
 * lock's acquire/release ordering as well as the count).
 */
#include "helpers.h"

#include <pinmm/locks.h>

#define NTHREADS	4
#define ITERS		TEST_SCALE(200000)

static spinlock_t counter_lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF);
static unsigned long counter;		/* plain on purpose: only the lock protects it */
static atomic_int inside, overlaps;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		spin_lock(&counter_lock);
		if (atomic_fetch_add(&inside, 1) != 0)
			atomic_fetch_add(&overlaps, 1);
		counter++;
		atomic_fetch_sub(&inside, 1);
		spin_unlock(&counter_lock);
	}
	return NULL;
}

static atomic_int trylock_result;

static void *try_from_other_thread(void *arg)
{
	spinlock_t *l = arg;
	bool got = spin_trylock(l);

	if (got)
		spin_unlock(l);
	atomic_store(&trylock_result, got);
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	spinlock_t l;

	plan(11);
	watchdog(30);

	spin_lock_init(&l, LOCK_RANK_ZONE);
	ok(!spin_is_locked(&l), "spinlock: spin_lock_init() gives an unlocked lock");
	spin_lock(&l);
	ok(spin_is_locked(&l), "spinlock: spin_is_locked() sees a held lock");
	ok(lockrank_held(&l) && lockrank_held_exclusive(&l),
	   "spinlock: the holder is recorded as holding it exclusively (assert_spin_locked works)");
	join_thread(start_thread(try_from_other_thread, &l));
	ok(!atomic_load(&trylock_result), "spinlock: spin_trylock() fails while another thread holds it");
	spin_unlock(&l);
	ok(!spin_is_locked(&l) && lockrank_depth() == 0,
	   "spinlock: spin_unlock() frees it and forgets the hold");
	join_thread(start_thread(try_from_other_thread, &l));
	ok(atomic_load(&trylock_result), "spinlock: spin_trylock() takes a free lock");
	ok(spin_trylock(&l) && lockrank_held(&l), "spinlock: a successful trylock is recorded as held");
	ok(!spin_trylock(&l), "spinlock: spin_trylock() of a lock this thread holds fails (no recursion)");
	spin_unlock(&l);
	is_int(lockrank_depth(), 0, "spinlock: trylock + unlock leaves no lock recorded");

	for (int i = 0; i < NTHREADS; i++)
		t[i] = start_thread(hammer, NULL);
	for (int i = 0; i < NTHREADS; i++)
		join_thread(t[i]);
	is_int(atomic_load(&overlaps), 0,
	       "spinlock: mutual exclusion: never two holders inside at once");
	is_uint(counter, (unsigned long)NTHREADS * ITERS,
		"spinlock: mutual exclusion: %d threads x %d increments of a plain counter lose none",
		NTHREADS, ITERS);
	return done_testing();
}
