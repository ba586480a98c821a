// SPDX-License-Identifier: MIT
/*
 * RCU: read-side nesting, grace periods wait for pre-existing readers,
 * call_rcu() callbacks run after them and before rcu_barrier() returns, and
 * objects freed after a grace period are never seen by readers (ASan would
 * report the use-after-free, TSan the race, if they were).
 * PINMM_TEST_CONCURRENT
 */
#include "helpers.h"

#include <pinmm/rcupdate.h>

#include <stdlib.h>

/* ---- death tests first: fork before any liburcu thread exists ---- */

static void sync_in_reader(void *arg)
{
	(void)arg;
	rcu_read_lock();
	synchronize_rcu();
}

static void barrier_in_reader(void *arg)
{
	(void)arg;
	rcu_read_lock();
	rcu_barrier();
}

static void unbalanced_unlock(void *arg)
{
	(void)arg;
	rcu_read_unlock();
}

/* ---- a reader keeps a grace period open ---- */

static atomic_int reader_inside, reader_release, sync_started, sync_done;

static void *reader_fn(void *arg)
{
	(void)arg;
	rcu_read_lock();
	atomic_store(&reader_inside, 1);
	wait_for(&reader_release, 1);
	rcu_read_unlock();
	return NULL;
}

static void *syncer_fn(void *arg)
{
	(void)arg;
	atomic_store(&sync_started, 1);
	synchronize_rcu();
	atomic_store(&sync_done, 1);
	return NULL;
}

/* ---- call_rcu ---- */

struct cb_obj {
	int payload;			/* plain: written before call_rcu() */
	struct rcu_head rcu;
};

static atomic_int cb_runs, cb_payload_seen, cb_read_lock_ok;
static atomic_uintptr_t cb_head_seen;

static void cb_fn(struct rcu_head *head)
{
	struct cb_obj *o = container_of(head, struct cb_obj, rcu);

	atomic_store(&cb_head_seen, (uintptr_t)head);
	atomic_store(&cb_payload_seen, o->payload);
	/* A callback may read RCU-protected data too. */
	rcu_read_lock();
	atomic_store(&cb_read_lock_ok, rcu_read_lock_held());
	rcu_read_unlock();
	atomic_fetch_add(&cb_runs, 1);
}

/* ---- lazily registered threads exit cleanly ---- */

static void *short_reader(void *arg)
{
	(void)arg;
	rcu_read_lock();
	rcu_read_unlock();
	return NULL;
}

/* ---- stress: replace and free under readers ---- */

#define STRESS_READERS	2
#define MAGIC		0x5eedf00dU

struct node {
	unsigned int magic;		/* plain: readers read it, the freer clears it */
	struct rcu_head rcu;
};

static struct node *_Atomic gp;
static atomic_int stress_stop, stress_bad;
static atomic_long stress_reads;

static void free_node(struct rcu_head *head)
{
	struct node *n = container_of(head, struct node, rcu);

	n->magic = 0;
	free(n);
}

static struct node *new_node(void)
{
	struct node *n = malloc(sizeof(*n));

	if (!n)
		bail_out("malloc");
	n->magic = MAGIC;
	return n;
}

static void *stress_reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stress_stop)) {
		rcu_read_lock();
		struct node *n = rcu_dereference(gp);

		if (n->magic != MAGIC)
			atomic_fetch_add(&stress_bad, 1);
		rcu_read_unlock();
		atomic_fetch_add(&stress_reads, 1);
	}
	return NULL;
}

int main(void)
{
	struct cb_obj obj = { .payload = 1234 };
	pthread_t r, s, t[STRESS_READERS];

	plan(16);
	watchdog(60);

	expect_bug(sync_in_reader, NULL, "rcu: synchronize_rcu() inside a read-side section BUG()s");
	expect_bug(barrier_in_reader, NULL, "rcu: rcu_barrier() inside a read-side section BUG()s");
	expect_bug(unbalanced_unlock, NULL, "rcu: rcu_read_unlock() without rcu_read_lock() BUG()s");

	ok(!rcu_read_lock_held(), "rcu: rcu_read_lock_held() is false outside a section");
	rcu_read_lock();
	rcu_read_lock();
	rcu_read_unlock();
	ok(rcu_read_lock_held(), "rcu: read-side sections nest (inner unlock keeps the outer)");
	rcu_read_unlock();
	ok(!rcu_read_lock_held(), "rcu: the outermost rcu_read_unlock() ends the section");
	synchronize_rcu();
	ok(true, "rcu: synchronize_rcu() with no reader returns");

	/* A pre-existing reader holds synchronize_rcu() back. */
	r = start_thread(reader_fn, NULL);
	wait_for(&reader_inside, 1);
	s = start_thread(syncer_fn, NULL);
	wait_for(&sync_started, 1);
	settle();
	ok(!atomic_load(&sync_done),
	   "rcu: synchronize_rcu() does not return while a reader that began before it is inside");
	atomic_store(&reader_release, 1);
	ok(wait_for(&sync_done, 1), "rcu: synchronize_rcu() returns once that reader leaves");
	join_thread(r);
	join_thread(s);

	/* call_rcu() waits for the same reader, and rcu_barrier() for the callback. */
	atomic_store(&reader_inside, 0);
	atomic_store(&reader_release, 0);
	r = start_thread(reader_fn, NULL);
	wait_for(&reader_inside, 1);
	call_rcu(&obj.rcu, cb_fn);
	settle();
	ok(!atomic_load(&cb_runs), "rcu: a call_rcu() callback does not run while a pre-existing reader is inside");
	atomic_store(&reader_release, 1);
	join_thread(r);
	rcu_barrier();
	is_int(atomic_load(&cb_runs), 1, "rcu: the call_rcu() callback has run once rcu_barrier() returns");
	ok(atomic_load(&cb_head_seen) == (uintptr_t)&obj.rcu && atomic_load(&cb_payload_seen) == 1234,
	   "rcu: the callback gets its rcu_head and sees the writes made before call_rcu()");
	ok(atomic_load(&cb_read_lock_ok), "rcu: a callback may enter a read-side section");

	/* Threads registered by their first rcu_read_lock() unregister at exit. */
	for (int round = 0; round < 4; round++) {
		pthread_t sr[8];

		for (int i = 0; i < 8; i++)
			sr[i] = start_thread(short_reader, NULL);
		for (int i = 0; i < 8; i++)
			join_thread(sr[i]);
	}
	synchronize_rcu();
	ok(true, "rcu: synchronize_rcu() after 32 reader threads exited neither hangs nor crashes");

	/* Replace-and-free under readers: half by synchronize_rcu(), half by call_rcu(). */
	double until = now_sec() + 0.3;
	long replaced = 0;

	atomic_store(&gp, new_node());
	for (int i = 0; i < STRESS_READERS; i++)
		t[i] = start_thread(stress_reader, NULL);
	while (now_sec() < until || atomic_load(&stress_reads) < 100) {
		struct node *old = rcu_access_pointer(gp);

		rcu_assign_pointer(gp, new_node());
		if (replaced++ & 1) {
			call_rcu(&old->rcu, free_node);
		} else {
			synchronize_rcu();
			old->magic = 0;
			free(old);
		}
		if (now_sec() > until + TEST_WAIT_SECONDS)
			break;
	}
	atomic_store(&stress_stop, 1);
	for (int i = 0; i < STRESS_READERS; i++)
		join_thread(t[i]);
	rcu_barrier();
	free(rcu_access_pointer(gp));
	diag("replaced %ld objects under %ld reads", replaced, atomic_load(&stress_reads));
	is_int(atomic_load(&stress_bad), 0,
	       "rcu: stress: no reader ever saw an object freed after a grace period");
	ok(replaced > 10 && atomic_load(&stress_reads) >= 100,
	   "rcu: stress: objects were replaced while readers ran");
	return done_testing();
}
