// SPDX-License-Identifier: MIT
/*
 * struct rw_semaphore under fire. PINMM_TEST_CONCURRENT: readers and writers
 * mix every entry (down_read, the trylocks, the killable waits, with fatal
 * signals raised and cleared under them) and exit (up_read, up_write,
 * downgrade_write()) on one rwsem, Linux's rules checked all along:
 * - a writer is alone: no reader and no other writer inside with it;
 * - readers never see a half-done write (two plain words kept equal);
 * - a downgraded writer keeps the data it wrote (no writer in between);
 * - no wake-up is lost: every thread finishes (the watchdog would fire);
 * - writers make progress while readers stream (writer preference);
 * - the count word ends at zero: no reader bias or flag left behind.
 * Runs for $STRESS_SECONDS seconds and at least STRESS_OPS operations.
 */
#include "../base/helpers.h"

#include <pinmm/locks.h>
#include <pinmm/sched.h>

#include <errno.h>

#define NREADERS	3
#define NWRITERS	2
#define STRESS_OPS	TEST_SCALE(200000UL)

static struct rw_semaphore sem;
static unsigned long da, db;		/* plain: only the rwsem guards them */
static atomic_int readers_in, writers_in, stop;
static atomic_ulong total_ops, writes, bad_excl, torn, lost_downgrade, killed;

struct worker {
	pthread_t thread;
	uint64_t rng;
	atomic_int sig;
	unsigned long ops;
};

static struct worker workers[NREADERS + NWRITERS];

static unsigned int rnd(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return (unsigned int)w->rng;
}

static void read_side(void)
{
	atomic_fetch_add(&readers_in, 1);
	if (atomic_load(&writers_in))
		atomic_fetch_add(&bad_excl, 1);
	if (da != db)
		atomic_fetch_add(&torn, 1);
	atomic_fetch_sub(&readers_in, 1);
}

/*
 * Take the lock as @r picks: trylock, killable (a fatal signal now and then:
 * the wait must end cleanly) or plain. Return: false if not taken.
 */
static bool take(struct worker *w, unsigned int r, bool write)
{
	switch (r % 4) {
	case 0:
		return write ? down_write_trylock(&sem) : down_read_trylock(&sem);
	case 1:
		atomic_store(&w->sig, (r >> 8) % 8 == 0);
		if (write ? down_write_killable(&sem) : down_read_killable(&sem)) {
			atomic_fetch_add(&killed, 1);
			atomic_store(&w->sig, 0);
			return false;
		}
		atomic_store(&w->sig, 0);
		return true;
	default:
		if (write)
			down_write(&sem);
		else
			down_read(&sem);
		return true;
	}
}

static void *reader_fn(void *arg)
{
	struct worker *w = arg;

	pinmm_current_ctx.sigpending = &w->sig;
	while (!atomic_load(&stop)) {
		unsigned int r = rnd(w);

		if (!take(w, r, false))
			goto next;
		read_side();
		up_read(&sem);
next:
		w->ops++;
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *writer_fn(void *arg)
{
	struct worker *w = arg;

	pinmm_current_ctx.sigpending = &w->sig;
	while (!atomic_load(&stop)) {
		unsigned int r = rnd(w);
		unsigned long mine;

		if (!take(w, r, true))
			goto next;
		if (atomic_fetch_add(&writers_in, 1) || atomic_load(&readers_in))
			atomic_fetch_add(&bad_excl, 1);
		mine = ++da;
		db++;
		atomic_fetch_add(&writes, 1);
		atomic_fetch_sub(&writers_in, 1);
		if (r & 0x10000) {
			downgrade_write(&sem);
			read_side();
			if (da != mine)
				atomic_fetch_add(&lost_downgrade, 1);
			up_read(&sem);
		} else {
			up_write(&sem);
		}
next:
		w->ops++;
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(void)
{
	double seconds = stress_seconds(0), t0;
	unsigned long writes_half = 0;
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int i;

	plan(6);
	watchdog((unsigned int)seconds + 300);
	init_rwsem(&sem, LOCK_RANK_MMAP);
	t0 = now_sec();
	for (i = 0; i < NREADERS + NWRITERS; i++) {
		workers[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		workers[i].thread = start_thread(i < NREADERS ? reader_fn : writer_fn,
						 &workers[i]);
	}
	while (atomic_load(&total_ops) < STRESS_OPS || now_sec() - t0 < seconds) {
		if (!writes_half && atomic_load(&total_ops) >= STRESS_OPS / 2)
			writes_half = atomic_load(&writes);
		nanosleep(&nap, NULL);
	}
	/* Writers kept getting in during the second half, with readers streaming. */
	writes_half = atomic_load(&writes) - writes_half;
	atomic_store(&stop, 1);
	for (i = 0; i < NREADERS + NWRITERS; i++)
		join_thread(workers[i].thread);

	diag("%d readers, %d writers, %lu operations, %lu writes, %lu killed waits in %.2f s",
	     NREADERS, NWRITERS, atomic_load(&total_ops), atomic_load(&writes),
	     atomic_load(&killed), now_sec() - t0);
	is_uint(atomic_load(&bad_excl), 0,
		"rwsem stress: a writer is alone: no reader or writer inside with it");
	is_uint(atomic_load(&torn), 0, "rwsem stress: readers never see a half-done write");
	is_uint(atomic_load(&lost_downgrade), 0,
		"rwsem stress: downgrade_write() lets no writer in between");
	ok(writes_half > 0, "rwsem stress: writers get in while readers stream (writer preference)");
	ok(da == db && da == atomic_load(&writes),
	   "rwsem stress: every write happened once (no wake-up lost: all threads finished)");
	is_int(atomic_load(&sem.count), 0,
	       "rwsem stress: the count word ends at zero: no reader bias or flag left behind");
	destroy_rwsem(&sem);
	return done_testing();
}
