// SPDX-License-Identifier: MIT
/*
 * The lock-order checker: wrong orders, bad releases and recursion BUG();
 * the legal patterns (in order, trylock, _nested, any release order) pass.
 * Single-threaded: each BUG() case dies in a forked child (expect_bug()).
 */
#include "helpers.h"

#include <pinmm/locks.h>

static spinlock_t zone_lock, pte_a, pte_b, untracked;
static struct rw_semaphore mmap_lock, i_mmap_a, i_mmap_b;
static struct mutex folio_lock;

static void init_locks(void)
{
	spin_lock_init(&zone_lock, LOCK_RANK_ZONE);
	spin_lock_init(&pte_a, LOCK_RANK_PTE);
	spin_lock_init(&pte_b, LOCK_RANK_PTE);
	spin_lock_init(&untracked, LOCK_RANK_NONE);
	init_rwsem(&mmap_lock, LOCK_RANK_MMAP);
	init_rwsem(&i_mmap_a, LOCK_RANK_I_MMAP);
	init_rwsem(&i_mmap_b, LOCK_RANK_I_MMAP);
	mutex_init(&folio_lock, LOCK_RANK_FOLIO);
}

/* ---- the cases that must BUG() ---- */

static void zone_then_mmap(void *arg)
{
	(void)arg;
	spin_lock(&zone_lock);
	down_write(&mmap_lock);
}

static void zone_then_mmap_read(void *arg)
{
	(void)arg;
	spin_lock(&zone_lock);
	down_read(&mmap_lock);
}

static void trylocked_zone_then_folio(void *arg)
{
	(void)arg;
	if (!spin_trylock(&zone_lock))
		return;
	mutex_lock(&folio_lock);
}

static void equal_rank_unnested(void *arg)
{
	(void)arg;
	spin_lock(&pte_a);
	spin_lock(&pte_b);
}

static void nested_subclass_not_above(void *arg)
{
	(void)arg;
	down_write_nested(&i_mmap_a, 1);
	down_write_nested(&i_mmap_b, 1);
}

static void release_unheld_spin(void *arg)
{
	(void)arg;
	spin_unlock(&zone_lock);
}

static void release_unheld_rwsem(void *arg)
{
	(void)arg;
	up_read(&mmap_lock);
}

static void release_other_lock(void *arg)
{
	(void)arg;
	mutex_lock(&folio_lock);
	spin_unlock(&zone_lock);
}

static void recursive_mutex(void *arg)
{
	(void)arg;
	mutex_lock(&folio_lock);
	mutex_lock(&folio_lock);
}

static void recursive_down_read(void *arg)
{
	(void)arg;
	down_read(&mmap_lock);
	down_read(&mmap_lock);
}

static void recursive_untracked_spin(void *arg)
{
	(void)arg;
	spin_lock(&untracked);
	spin_lock(&untracked);
}

static void too_many_locks(void *arg)
{
	static spinlock_t many[65];

	(void)arg;
	for (unsigned int i = 0; i < ARRAY_SIZE(many); i++) {
		spin_lock_init(&many[i], LOCK_RANK_NONE);
		spin_lock(&many[i]);
	}
}

static void assert_held_unheld(void *arg)
{
	(void)arg;
	lockdep_assert_held(&folio_lock);
}

static void assert_write_held_on_read(void *arg)
{
	(void)arg;
	down_read(&mmap_lock);
	rwsem_assert_held_write(&mmap_lock);
}

static void downgrade_read_hold(void *arg)
{
	(void)arg;
	down_read(&mmap_lock);
	downgrade_write(&mmap_lock);
}

int main(void)
{
	plan(28);
	init_locks();

	expect_bug(zone_then_mmap, NULL,
		   "lockrank: taking mmap_lock (rank 10) while holding zone->lock (rank 70) BUG()s");
	expect_bug(zone_then_mmap_read, NULL,
		   "lockrank: the order applies to read locks too (down_read under zone->lock BUG()s)");
	expect_bug(trylocked_zone_then_folio, NULL,
		   "lockrank: a lock got by trylock still counts as held for later blocking acquires");
	expect_bug(equal_rank_unnested, NULL,
		   "lockrank: two locks of equal rank without _nested() BUG() (could ABBA)");
	expect_bug(nested_subclass_not_above, NULL,
		   "lockrank: _nested() must use a larger subclass than the held lock of that rank");
	expect_bug(release_unheld_spin, NULL, "lockrank: spin_unlock() of a lock not held BUG()s");
	expect_bug(release_unheld_rwsem, NULL, "lockrank: up_read() of an rwsem not held BUG()s");
	expect_bug(release_other_lock, NULL,
		   "lockrank: releasing a lock other than the ones held BUG()s");
	expect_bug(recursive_mutex, NULL,
		   "lockrank: re-taking a mutex this thread holds BUG()s instead of self-deadlocking");
	expect_bug(recursive_down_read, NULL,
		   "lockrank: recursive down_read() BUG()s (it deadlocks once a writer queues between)");
	expect_bug(recursive_untracked_spin, NULL,
		   "lockrank: recursion is caught for LOCK_RANK_NONE locks too");
	expect_bug(too_many_locks, NULL, "lockrank: holding more than 64 locks BUG()s");
	expect_bug(assert_held_unheld, NULL, "lockrank: lockdep_assert_held() of a lock not held BUG()s");
	expect_bug(assert_write_held_on_read, NULL,
		   "lockrank: rwsem_assert_held_write() on a read hold BUG()s");
	expect_bug(downgrade_read_hold, NULL,
		   "lockrank: downgrade_write() of an rwsem held for reading BUG()s");

	/* ---- the legal patterns ---- */
	down_write(&mmap_lock);
	mutex_lock(&folio_lock);
	spin_lock(&pte_a);
	spin_lock(&zone_lock);
	is_int(lockrank_depth(), 4,
	       "lockrank: mmap_lock -> folio lock -> PTE lock -> zone->lock in rank order passes");
	lockdep_assert_held(&folio_lock);
	rwsem_assert_held_write(&mmap_lock);
	ok(lockrank_held_exclusive(&mmap_lock) && lockrank_held(&zone_lock),
	   "lockrank: lockrank_held*() report the locks held");
	/* Out-of-order release, as Linux allows: drop the oldest first. */
	up_write(&mmap_lock);
	ok(!lockrank_held(&mmap_lock) && lockrank_held(&folio_lock) && lockrank_depth() == 3,
	   "lockrank: a release from the middle of the stack keeps the other holds");
	spin_unlock(&pte_a);
	spin_unlock(&zone_lock);
	mutex_unlock(&folio_lock);
	is_int(lockrank_depth(), 0, "lockrank: all released, in any order");

	spin_lock(&zone_lock);
	ok(down_read_trylock(&mmap_lock) && lockrank_held(&mmap_lock),
	   "lockrank: a trylock out of order passes (a trylock cannot deadlock) and is recorded");
	ok(mutex_trylock(&folio_lock), "lockrank: mutex_trylock() out of order passes");
	mutex_unlock(&folio_lock);
	up_read(&mmap_lock);
	spin_unlock(&zone_lock);

	spin_lock(&pte_a);
	spin_lock_nested(&pte_b, 1);
	ok(lockrank_depth() == 2, "lockrank: spin_lock_nested() with a higher subclass passes");
	spin_unlock(&pte_b);
	spin_unlock(&pte_a);
	down_write(&i_mmap_a);
	down_write_nested(&i_mmap_b, 1);
	ok(lockrank_held_exclusive(&i_mmap_b), "lockrank: down_write_nested() with a higher subclass passes");
	up_write(&i_mmap_a);
	up_write(&i_mmap_b);
	spin_lock(&zone_lock);
	spin_unlock(&zone_lock);
	down_read(&mmap_lock);
	ok(lockrank_depth() == 1, "lockrank: a released lock no longer constrains the order");
	up_read(&mmap_lock);

	spin_lock(&zone_lock);
	spin_lock(&untracked);
	ok(lockrank_held(&untracked),
	   "lockrank: a LOCK_RANK_NONE lock may be taken under any lock, and is recorded");
	spin_unlock(&zone_lock);
	down_read(&mmap_lock);
	ok(lockrank_depth() == 2,
	   "lockrank: a held LOCK_RANK_NONE lock does not constrain later acquires");
	up_read(&mmap_lock);
	spin_unlock(&untracked);

	down_write(&mmap_lock);
	downgrade_write(&mmap_lock);
	ok(lockrank_held(&mmap_lock) && !lockrank_held_exclusive(&mmap_lock),
	   "lockrank: downgrade_write() turns the recorded hold into a shared one");
	up_read(&mmap_lock);
	lockdep_assert_none_held();
	is_int(lockrank_depth(), 0, "lockrank: nothing left held at the end");
	return done_testing();
}
