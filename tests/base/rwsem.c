// SPDX-License-Identifier: MIT
/*
 * struct rw_semaphore: sharing, exclusion, trylock, writer preference,
 * downgrade_write() and the killable variants, with Linux's rules
 * (kernel/locking/rwsem.c): readers share and take an uncontended rwsem with
 * one atomic add on the count word, never the wait lock; a writer excludes
 * everyone; once a writer waits, new readers queue behind it, so a relay of
 * overlapping readers cannot starve it; downgrade_write() lets no writer in
 * between; trylocks never wait.
 * PINMM_TEST_CONCURRENT: every case runs its waiters on other threads.
 */
#include "helpers.h"

#include <pinmm/locks.h>
#include <pinmm/sched.h>

#include <errno.h>

static struct rw_semaphore sem, sem2;

/* A helper thread: takes @sem as told, reports, holds it until released. */
enum op { OP_READ, OP_WRITE, OP_READ_KILLABLE, OP_WRITE_KILLABLE };

struct actor {
	enum op op;
	atomic_int sig;		/* the actor's fatal-signal word */
	atomic_int started;	/* about to take the lock */
	atomic_int acquired;	/* took it (or gave up: see ret) */
	atomic_int release;	/* main says: drop it */
	int ret;
	unsigned int depth_after;
	int order;		/* when it got the lock, from acquire_seq */
	pthread_t thread;
};

static atomic_int acquire_seq;

static void *actor_fn(void *arg)
{
	struct actor *a = arg;

	pinmm_current_ctx.sigpending = &a->sig;
	atomic_store(&a->started, 1);
	switch (a->op) {
	case OP_READ:
		down_read(&sem);
		break;
	case OP_WRITE:
		down_write(&sem);
		break;
	case OP_READ_KILLABLE:
		a->ret = down_read_killable(&sem);
		break;
	case OP_WRITE_KILLABLE:
		a->ret = down_write_killable(&sem);
		break;
	}
	a->order = atomic_fetch_add(&acquire_seq, 1);
	a->depth_after = lockrank_depth();
	atomic_store(&a->acquired, 1);
	if (a->ret)
		return NULL;
	wait_for(&a->release, 1);
	if (a->op == OP_READ || a->op == OP_READ_KILLABLE)
		up_read(&sem);
	else
		up_write(&sem);
	return NULL;
}

static void actor_start(struct actor *a, enum op op)
{
	*a = (struct actor){ .op = op };
	a->thread = start_thread(actor_fn, a);
	wait_for(&a->started, 1);
}

static void actor_finish(struct actor *a)
{
	atomic_store(&a->release, 1);
	join_thread(a->thread);
}

/* Trylocks run on another thread: this one may hold the rwsem already. */
static atomic_int try_read_ok, try_write_ok;

static void *try_both(void *arg)
{
	(void)arg;
	atomic_store(&try_read_ok, down_read_trylock(&sem));
	if (atomic_load(&try_read_ok))
		up_read(&sem);
	atomic_store(&try_write_ok, down_write_trylock(&sem));
	if (atomic_load(&try_write_ok))
		up_write(&sem);
	return NULL;
}

static void try_from_other_thread(void)
{
	join_thread(start_thread(try_both, NULL));
}

/* Wait until a writer is queued: down_read_trylock() then fails (writer preference). */
static atomic_int writer_seen;

static void *probe_writer_waiting(void *arg)
{
	double until = now_sec() + TEST_WAIT_SECONDS;

	(void)arg;
	while (now_sec() < until) {
		if (!down_read_trylock(&sem)) {
			atomic_store(&writer_seen, 1);
			break;
		}
		up_read(&sem);
		sched_yield();
	}
	return NULL;
}

static bool writer_is_waiting(void)
{
	atomic_store(&writer_seen, 0);
	join_thread(start_thread(probe_writer_waiting, NULL));
	return atomic_load(&writer_seen);
}

/*
 * While we hold the write lock no trylock can tell a queued writer, so look
 * at the (m)-protected count itself, under m, as the rwsem code does.
 */
static bool wait_writers_queued(int n)
{
	double until = now_sec() + TEST_WAIT_SECONDS;
	int seen;

	do {
		pthread_mutex_lock(&sem.m);
		seen = sem.writers_waiting;
		pthread_mutex_unlock(&sem.m);
		if (seen == n)
			return true;
		sched_yield();
	} while (now_sec() < until);
	return false;
}

/*
 * Linux's rwsem fast path: an uncontended down_read()/up_read() or
 * down_write()/up_write() is one atomic operation on the count word and never
 * takes the wait lock. Holding sem.m (the slow path's lock) proves it: the
 * other thread's round trips finish anyway.
 */
static atomic_int fast_done;

static void *fast_paths(void *arg)
{
	(void)arg;
	down_read(&sem);
	down_read(&sem2);
	up_read(&sem2);
	up_read(&sem);
	down_write(&sem);
	downgrade_write(&sem);
	up_read(&sem);
	atomic_store(&fast_done, 1);
	return NULL;
}

/*
 * Writer not starved: two readers pass the read hold between them so that
 * one is always inside (each leaves only once the other is in again, or
 * after RELAY_WAIT seconds without it). A writer that queues must still get
 * in while the relay runs: its waiting turns the next reader away, so the one
 * inside leaves alone. Without writer preference the relay would shut it out
 * until the readers gave up after RELAY_ROUNDS hand-offs. Only the hand-offs
 * made while the writer is queued count: on a loaded machine the writer's
 * thread may start long after the relay, and rounds spent before it queued
 * say nothing about starvation (they once used up the budget under TSan).
 */
#define RELAY_ROUNDS	TEST_SCALE(20000)
#define RELAY_WAIT	0.02

static atomic_int relay_in[2], relay_stop, relay_writer_in, relay_rounds_left;

/* Is a writer queued on sem? (the (m)-protected count, as wait_writers_queued()) */
static bool relay_writer_queued(void)
{
	bool queued;

	pthread_mutex_lock(&sem.m);
	queued = sem.writers_waiting > 0;
	pthread_mutex_unlock(&sem.m);
	return queued;
}

static void *relay_reader(void *arg)
{
	int me = (int)(intptr_t)arg, other = !me;
	double give_up = now_sec() + 6 * TEST_WAIT_SECONDS;

	while (!atomic_load(&relay_stop) && atomic_load(&relay_rounds_left) > 0 &&
	       now_sec() < give_up) {
		int seen = atomic_load(&relay_in[other]);
		double until;

		down_read(&sem);
		atomic_fetch_add(&relay_in[me], 1);
		if (relay_writer_queued())
			atomic_fetch_sub(&relay_rounds_left, 1);
		until = now_sec() + RELAY_WAIT;
		while (atomic_load(&relay_in[other]) == seen && !atomic_load(&relay_stop) &&
		       atomic_load(&relay_rounds_left) > 0 && now_sec() < until)
			sched_yield();
		up_read(&sem);
	}
	return NULL;
}

static void *relay_writer(void *arg)
{
	(void)arg;
	down_write(&sem);
	/* Did we get in while the readers were still relaying? */
	atomic_store(&relay_writer_in, atomic_load(&relay_rounds_left) > 0 ? 1 : 2);
	up_write(&sem);
	return NULL;
}

/* ---- stress: writers keep a == b, readers check it ------------------------ */

#define STRESS_READERS	3
#define STRESS_WRITERS	2
#define STRESS_ITERS	TEST_SCALE(20000)

static struct rw_semaphore stress_sem;
static unsigned long sa, sb;		/* plain: only the rwsem protects them */
static atomic_int torn, stress_readers_inside, stress_writer_with_readers;

static void *stress_reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < STRESS_ITERS; i++) {
		down_read(&stress_sem);
		atomic_fetch_add(&stress_readers_inside, 1);
		if (sa != sb)
			atomic_fetch_add(&torn, 1);
		atomic_fetch_sub(&stress_readers_inside, 1);
		up_read(&stress_sem);
	}
	return NULL;
}

static void *stress_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < STRESS_ITERS; i++) {
		down_write(&stress_sem);
		if (atomic_load(&stress_readers_inside))
			atomic_fetch_add(&stress_writer_with_readers, 1);
		sa++;
		sb++;
		if (i & 1) {
			up_write(&stress_sem);
		} else {
			downgrade_write(&stress_sem);
			if (sa != sb)
				atomic_fetch_add(&torn, 1);
			up_read(&stress_sem);
		}
	}
	return NULL;
}

int main(void)
{
	struct actor r1, r2, w1;
	atomic_int sig = 1;

	plan(47);
	watchdog(60);
	init_rwsem(&sem, LOCK_RANK_MMAP);

	ok(!rwsem_is_locked(&sem), "rwsem: init_rwsem() gives an unlocked rwsem");

	/* ---- modes and queries ---- */
	down_read(&sem);
	ok(rwsem_is_locked(&sem) && !rwsem_is_write_locked(&sem),
	   "rwsem: down_read() holds it for reading");
	ok(lockrank_held(&sem) && !lockrank_held_exclusive(&sem),
	   "rwsem: a read hold is recorded as shared (rwsem_assert_held passes, _write would not)");
	try_from_other_thread();
	ok(atomic_load(&try_read_ok), "rwsem: down_read_trylock() succeeds while only readers hold it");
	ok(!atomic_load(&try_write_ok), "rwsem: down_write_trylock() fails while a reader holds it");
	up_read(&sem);
	ok(!rwsem_is_locked(&sem) && lockrank_depth() == 0, "rwsem: up_read() releases the read hold");

	down_write(&sem);
	ok(rwsem_is_write_locked(&sem) && lockrank_held_exclusive(&sem),
	   "rwsem: down_write() holds it exclusively");
	try_from_other_thread();
	ok(!atomic_load(&try_read_ok), "rwsem: down_read_trylock() fails while a writer holds it");
	ok(!atomic_load(&try_write_ok), "rwsem: down_write_trylock() fails while a writer holds it");
	up_write(&sem);
	try_from_other_thread();
	ok(atomic_load(&try_read_ok) && atomic_load(&try_write_ok),
	   "rwsem: both trylocks succeed on a free rwsem");
	ok(!rwsem_is_locked(&sem), "rwsem: trylock + release leaves it free");

	/* ---- readers share ---- */
	down_read(&sem);
	actor_start(&r1, OP_READ);
	ok(wait_for(&r1.acquired, 1), "rwsem: readers share: a second reader gets in while one reads");
	actor_finish(&r1);
	up_read(&sem);

	/* ---- a writer excludes readers and writers ---- */
	down_write(&sem);
	actor_start(&r1, OP_READ);
	actor_start(&w1, OP_WRITE);
	wait_writers_queued(1);
	settle();
	ok(!atomic_load(&r1.acquired), "rwsem: a writer excludes readers");
	ok(!atomic_load(&w1.acquired), "rwsem: a writer excludes other writers");
	up_write(&sem);
	ok(wait_for(&w1.acquired, 1) && wait_for(&r1.acquired, 0),
	   "rwsem: after up_write() the waiting writer goes first (writer preference)");
	actor_finish(&w1);
	ok(wait_for(&r1.acquired, 1), "rwsem: the reader gets in once the writer is done");
	actor_finish(&r1);

	/* ---- writer preference: a waiting writer holds new readers back ---- */
	atomic_store(&acquire_seq, 0);
	down_read(&sem);
	actor_start(&w1, OP_WRITE);
	ok(writer_is_waiting(),
	   "rwsem: down_read_trylock() fails while a writer waits (Linux: RWSEM_FLAG_WAITERS)");
	actor_start(&r1, OP_READ);
	settle();
	ok(!atomic_load(&r1.acquired),
	   "rwsem: a waiting writer blocks new readers (writer preference, as Linux's rwsem hand-off)");
	up_read(&sem);
	ok(wait_for(&w1.acquired, 1), "rwsem: the writer gets the lock when the last reader leaves");
	actor_finish(&w1);
	ok(wait_for(&r1.acquired, 1) && w1.order < r1.order,
	   "rwsem: the reader queued behind the writer enters after it");
	actor_finish(&r1);

	/* ---- downgrade_write ---- */
	down_write(&sem);
	actor_start(&r1, OP_READ);
	settle();
	ok(!atomic_load(&r1.acquired), "rwsem: the reader waits while we hold it for writing");
	downgrade_write(&sem);
	ok(wait_for(&r1.acquired, 1),
	   "rwsem: downgrade_write() lets a waiting reader in while the downgrader still reads");
	ok(rwsem_is_locked(&sem) && !rwsem_is_write_locked(&sem) && lockrank_held(&sem) &&
	   !lockrank_held_exclusive(&sem),
	   "rwsem: after downgrade_write() the caller holds it for reading only");
	actor_finish(&r1);
	up_read(&sem);
	ok(!rwsem_is_locked(&sem) && lockrank_depth() == 0,
	   "rwsem: up_read() ends a downgraded hold");

	down_write(&sem);
	actor_start(&w1, OP_WRITE);
	ok(wait_writers_queued(1), "rwsem: a writer queues behind our write hold");
	downgrade_write(&sem);
	settle();
	ok(!atomic_load(&w1.acquired),
	   "rwsem: downgrade_write() lets no writer in between (the caller still reads)");
	up_read(&sem);
	ok(wait_for(&w1.acquired, 1), "rwsem: the writer gets in after the downgraded reader leaves");
	actor_finish(&w1);

	/* ---- killable: -EINTR, lock not held ---- */
	down_write(&sem);
	actor_start(&r1, OP_READ_KILLABLE);
	settle();
	ok(!atomic_load(&r1.acquired), "rwsem: down_read_killable() waits while a writer holds it");
	atomic_store(&r1.sig, 1);
	ok(wait_for(&r1.acquired, 1), "rwsem: a fatal signal ends a down_read_killable() wait");
	actor_finish(&r1);
	is_int(r1.ret, -EINTR, "rwsem: down_read_killable() returns -EINTR on a fatal signal");
	ok(r1.depth_after == 0 && rwsem_is_write_locked(&sem),
	   "rwsem: a killed down_read_killable() leaves the lock not held by the waiter");
	up_write(&sem);
	ok(!rwsem_is_locked(&sem), "rwsem: no read count is left behind by the killed reader");

	down_read(&sem);
	actor_start(&w1, OP_WRITE_KILLABLE);
	ok(writer_is_waiting(), "rwsem: down_write_killable() waits while a reader holds it");
	actor_start(&r2, OP_READ);
	settle();
	ok(!atomic_load(&r2.acquired), "rwsem: a reader queues behind the killable writer");
	atomic_store(&w1.sig, 1);
	ok(wait_for(&w1.acquired, 1), "rwsem: a fatal signal ends a down_write_killable() wait");
	actor_finish(&w1);
	is_int(w1.ret, -EINTR, "rwsem: down_write_killable() returns -EINTR on a fatal signal");
	ok(w1.depth_after == 0 && !rwsem_is_write_locked(&sem),
	   "rwsem: a killed down_write_killable() leaves the lock not held by the waiter");
	ok(wait_for(&r2.acquired, 1),
	   "rwsem: a killed writer lets in the readers it was holding back");
	actor_finish(&r2);
	up_read(&sem);
	ok(!rwsem_is_locked(&sem), "rwsem: free after the killed writer and both readers");

	/* Linux takes a free rwsem in the fast path without looking at signals. */
	pinmm_current_ctx.sigpending = &sig;
	ok(down_read_killable(&sem) == 0, "rwsem: down_read_killable() takes a free rwsem even with a fatal signal pending");
	up_read(&sem);
	ok(down_write_killable(&sem) == 0, "rwsem: down_write_killable() takes a free rwsem even with a fatal signal pending");
	up_write(&sem);
	pinmm_current_ctx.sigpending = NULL;
	/* ---- fast paths never touch the wait lock ---- */
	init_rwsem(&sem2, LOCK_RANK_I_MMAP);
	pthread_mutex_lock(&sem.m);
	pthread_mutex_lock(&sem2.m);
	{
		pthread_t t = start_thread(fast_paths, NULL);

		ok(wait_for(&fast_done, 1),
		   "rwsem: uncontended down_read/up_read/down_write/downgrade_write take no wait lock (one atomic on the count)");
		pthread_mutex_unlock(&sem2.m);
		pthread_mutex_unlock(&sem.m);
		join_thread(t);
	}
	destroy_rwsem(&sem2);

	/* ---- a relay of readers cannot starve a writer ---- */
	{
		pthread_t rt[2], wt;

		atomic_store(&relay_rounds_left, RELAY_ROUNDS);
		rt[0] = start_thread(relay_reader, (void *)(intptr_t)0);
		rt[1] = start_thread(relay_reader, (void *)(intptr_t)1);
		/* Let the relay get going, so the writer meets a held rwsem. */
		while (atomic_load(&relay_in[0]) + atomic_load(&relay_in[1]) < 4 &&
		       atomic_load(&relay_rounds_left) > 0)
			sched_yield();
		wt = start_thread(relay_writer, NULL);
		join_thread(wt);
		atomic_store(&relay_stop, 1);
		join_thread(rt[0]);
		join_thread(rt[1]);
		is_int(atomic_load(&relay_writer_in), 1,
		       "rwsem: a waiting writer turns new readers away: overlapping readers cannot starve it");
		ok(!rwsem_is_locked(&sem), "rwsem: free after the relay");
	}

	destroy_rwsem(&sem);

	/* ---- stress ---- */
	pthread_t t[STRESS_READERS + STRESS_WRITERS];

	init_rwsem(&stress_sem, LOCK_RANK_I_MMAP);
	for (int i = 0; i < STRESS_READERS; i++)
		t[i] = start_thread(stress_reader, NULL);
	for (int i = 0; i < STRESS_WRITERS; i++)
		t[STRESS_READERS + i] = start_thread(stress_writer, NULL);
	for (int i = 0; i < STRESS_READERS + STRESS_WRITERS; i++)
		join_thread(t[i]);
	is_int(atomic_load(&torn), 0,
	       "rwsem: stress: readers (and downgraded writers) never see a half-done write");
	is_int(atomic_load(&stress_writer_with_readers), 0,
	       "rwsem: stress: a writer never runs while a reader is inside");
	ok(sa == (unsigned long)STRESS_WRITERS * STRESS_ITERS && sa == sb && !rwsem_is_locked(&stress_sem),
	   "rwsem: stress: every write happened and the rwsem ends free");
	destroy_rwsem(&stress_sem);
	return done_testing();
}
