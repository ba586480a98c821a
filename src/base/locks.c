// SPDX-License-Identifier: MIT
/*
 * spinlock_t, struct mutex and struct rw_semaphore (see locks.h).
 *
 * Every acquire tells lockrank before it may wait, so a lock-order bug is
 * reported at the first wrong acquisition instead of as a rare hang; every
 * release tells it first, so a bad unlock BUG()s before the lock is touched.
 */
#include <pinmm/locks.h>
#include <pinmm/sched.h>

#include <errno.h>
#include <sched.h>
#include <time.h>

/* Pauses before a waiter starts yielding: the holder may have been preempted. */
#define SPIN_PAUSES_BEFORE_YIELD	128

/* Killable waits re-check the fatal-signal word this often. */
#define KILLABLE_POLL_NS		1000000L

static void deadline_after(struct timespec *ts, clockid_t clock, long ns)
{
	clock_gettime(clock, ts);
	ts->tv_nsec += ns;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* ---- spinlock_t ---------------------------------------------------------- */

void spin_lock_init(spinlock_t *lock, enum lock_rank rank)
{
	atomic_init(&lock->val, 0);
	lock->rank = (uint16_t)rank;
	lock->__pad = 0;
}

void __spin_lock(spinlock_t *lock, unsigned int subclass, const char *file, int line)
{
	lockrank_acquire(lock, (enum lock_rank)lock->rank, subclass, false, false,
			 file, line);
	for (;;) {
		unsigned int pauses = 0;

		if (!atomic_exchange_explicit(&lock->val, 1, memory_order_acquire))
			return;
		/* Wait on a plain load so waiters do not bounce the line between them. */
		while (atomic_load_explicit(&lock->val, memory_order_relaxed)) {
			if (++pauses < SPIN_PAUSES_BEFORE_YIELD) {
				cpu_relax();
			} else {
				sched_yield();
				pauses = 0;
			}
		}
	}
}

bool __spin_trylock(spinlock_t *lock, const char *file, int line)
{
	if (atomic_load_explicit(&lock->val, memory_order_relaxed) ||
	    atomic_exchange_explicit(&lock->val, 1, memory_order_acquire))
		return false;
	lockrank_acquire(lock, (enum lock_rank)lock->rank, 0, true, false, file, line);
	return true;
}

void spin_unlock(spinlock_t *lock)
{
	lockrank_release(lock);
	VM_BUG_ON(!atomic_load_explicit(&lock->val, memory_order_relaxed));
	atomic_store_explicit(&lock->val, 0, memory_order_release);
}

bool spin_is_locked(spinlock_t *lock)
{
	return atomic_load_explicit(&lock->val, memory_order_relaxed) != 0;
}

/* ---- struct mutex -------------------------------------------------------- */

void mutex_init(struct mutex *lock, enum lock_rank rank)
{
	BUG_ON(pthread_mutex_init(&lock->m, NULL));
	atomic_init(&lock->locked, false);
	lock->rank = rank;
}

void mutex_destroy(struct mutex *lock)
{
	VM_BUG_ON(atomic_load_explicit(&lock->locked, memory_order_relaxed));
	BUG_ON(pthread_mutex_destroy(&lock->m));
}

void __mutex_lock(struct mutex *lock, unsigned int subclass, const char *file, int line)
{
	lockrank_acquire(lock, lock->rank, subclass, false, false, file, line);
	BUG_ON(pthread_mutex_lock(&lock->m));
	atomic_store_explicit(&lock->locked, true, memory_order_relaxed);
}

int __mutex_lock_killable(struct mutex *lock, const char *file, int line)
{
	struct timespec ts;
	int err;

	lockrank_acquire(lock, lock->rank, 0, false, false, file, line);
	/* As in Linux, a free mutex is taken even with a fatal signal pending. */
	err = pthread_mutex_trylock(&lock->m);
	while (err == EBUSY || err == ETIMEDOUT) {
		if (fatal_signal_pending_current()) {
			lockrank_release(lock);
			return -EINTR;
		}
		/* timedlock only takes CLOCK_REALTIME; a clock step just moves one poll */
		deadline_after(&ts, CLOCK_REALTIME, KILLABLE_POLL_NS);
		err = pthread_mutex_timedlock(&lock->m, &ts);
	}
	BUG_ON(err);
	atomic_store_explicit(&lock->locked, true, memory_order_relaxed);
	return 0;
}

bool __mutex_trylock(struct mutex *lock, const char *file, int line)
{
	int err = pthread_mutex_trylock(&lock->m);

	if (err == EBUSY)
		return false;
	BUG_ON(err);
	atomic_store_explicit(&lock->locked, true, memory_order_relaxed);
	lockrank_acquire(lock, lock->rank, 0, true, false, file, line);
	return true;
}

void mutex_unlock(struct mutex *lock)
{
	lockrank_release(lock);
	atomic_store_explicit(&lock->locked, false, memory_order_relaxed);
	BUG_ON(pthread_mutex_unlock(&lock->m));
}

bool mutex_is_locked(struct mutex *lock)
{
	return atomic_load_explicit(&lock->locked, memory_order_relaxed);
}

/* ---- struct rw_semaphore ------------------------------------------------- */

/*
 * The count word (locks.h) is the truth about who holds the lock; m guards
 * only the waiter counts, the two flags that say someone waits, and sleeping.
 *
 * A reader adds RWSEM_READER_BIAS and owns the lock if the old word had no
 * writer holding or waiting; otherwise it takes the add back and sleeps. A
 * writer sets RWSEM_WRITER_LOCKED on a word with no readers and no writer.
 * Writer preference: a sleeping writer sets RWSEM_FLAG_WRITER_WAIT, which
 * turns every new reader away until the writers are done, so a stream of
 * readers cannot starve it (Linux gets the same from its FIFO wait queue and
 * hand-off).
 *
 * No lost wake-up: a waiter sets RWSEM_FLAG_WAITERS with an atomic
 * read-modify-write under m, then reads the word again before sleeping on a
 * condition variable (which drops m atomically). A releaser's own
 * read-modify-write of the word comes before or after the waiter's in the
 * word's single modification order: before, and the waiter's re-read sees the
 * lock free; after, and the releaser sees the flag and takes m to wake it,
 * which it cannot do until the waiter sleeps.
 *
 * Every change to the word is a read-modify-write, so an acquire on it
 * synchronises with every earlier release (C11 release sequences; TSan sees
 * the same), whichever thread's add came between.
 */

#define RWSEM_READ_BLOCKED	(RWSEM_WRITER_LOCKED | RWSEM_FLAG_WRITER_WAIT)
#define RWSEM_WRITE_BLOCKED	(RWSEM_WRITER_LOCKED | RWSEM_READER_MASK)

void init_rwsem(struct rw_semaphore *sem, enum lock_rank rank)
{
	pthread_condattr_t attr;

	atomic_init(&sem->count, 0);
	sem->rank = rank;
	sem->readers_waiting = 0;
	sem->writers_waiting = 0;
	BUG_ON(pthread_mutex_init(&sem->m, NULL));
	/* Monotonic, so the killable polls do not jump with the wall clock. */
	BUG_ON(pthread_condattr_init(&attr));
	BUG_ON(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
	BUG_ON(pthread_cond_init(&sem->readers_cv, &attr));
	BUG_ON(pthread_cond_init(&sem->writers_cv, &attr));
	pthread_condattr_destroy(&attr);
}

void destroy_rwsem(struct rw_semaphore *sem)
{
	VM_BUG_ON(atomic_load_explicit(&sem->count, memory_order_relaxed) != 0);
	BUG_ON(pthread_cond_destroy(&sem->writers_cv));
	BUG_ON(pthread_cond_destroy(&sem->readers_cv));
	BUG_ON(pthread_mutex_destroy(&sem->m));
}

/*
 * Wake whoever can run now, after a release left RWSEM_FLAG_WAITERS set:
 * one writer if the lock is free, else, with no writer waiting and no writer
 * holding it, every reader. Called without m.
 */
static void rwsem_wake(struct rw_semaphore *sem)
{
	long c;

	BUG_ON(pthread_mutex_lock(&sem->m));
	c = atomic_load_explicit(&sem->count, memory_order_relaxed);
	if (sem->writers_waiting) {
		if (!(c & RWSEM_WRITE_BLOCKED))
			pthread_cond_signal(&sem->writers_cv);
	} else if (sem->readers_waiting && !(c & RWSEM_WRITER_LOCKED)) {
		pthread_cond_broadcast(&sem->readers_cv);
	}
	BUG_ON(pthread_mutex_unlock(&sem->m));
}

/* Drop one reader's bias; @mo release for up_read(), relaxed to undo a failed entry. */
static inline void rwsem_sub_reader(struct rw_semaphore *sem, memory_order mo)
{
	long old = atomic_fetch_sub_explicit(&sem->count, RWSEM_READER_BIAS, mo);
	long c = old - RWSEM_READER_BIAS;

	VM_BUG_ON(old < RWSEM_READER_BIAS);
	/* The last reader out wakes a waiting writer (and readers a failed entry held off). */
	if (unlikely(c & RWSEM_FLAG_WAITERS) &&
	    !(c & (RWSEM_READER_MASK | RWSEM_WRITER_LOCKED)))
		rwsem_wake(sem);
}

/* Clear the flags no waiter needs any more. Called with m held. */
static void rwsem_update_flags(struct rw_semaphore *sem)
{
	long clear = 0;

	if (!sem->writers_waiting)
		clear |= RWSEM_FLAG_WRITER_WAIT;
	if (!sem->writers_waiting && !sem->readers_waiting)
		clear |= RWSEM_FLAG_WAITERS;
	if (clear)
		atomic_fetch_and_explicit(&sem->count, ~clear, memory_order_relaxed);
}

static void rwsem_wait(pthread_cond_t *cv, struct rw_semaphore *sem, bool killable)
{
	struct timespec ts;
	int err;

	if (!killable) {
		BUG_ON(pthread_cond_wait(cv, &sem->m));
		return;
	}
	deadline_after(&ts, CLOCK_MONOTONIC, KILLABLE_POLL_NS);
	err = pthread_cond_timedwait(cv, &sem->m, &ts);
	BUG_ON(err && err != ETIMEDOUT);
}

/* Add a reader if no writer holds or waits; the fast path's test, looped on races. */
static inline bool rwsem_read_trylock_cas(struct rw_semaphore *sem)
{
	long c = atomic_load_explicit(&sem->count, memory_order_relaxed);

	while (!(c & RWSEM_READ_BLOCKED)) {
		if (atomic_compare_exchange_weak_explicit(&sem->count, &c,
							  c + RWSEM_READER_BIAS,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

/* Set RWSEM_WRITER_LOCKED if nobody holds it (waiters' flags are left as they are). */
static inline bool rwsem_write_trylock_cas(struct rw_semaphore *sem)
{
	long c = atomic_load_explicit(&sem->count, memory_order_relaxed);

	while (!(c & RWSEM_WRITE_BLOCKED)) {
		if (atomic_compare_exchange_weak_explicit(&sem->count, &c,
							  c | RWSEM_WRITER_LOCKED,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

static int rwsem_down_read_slowpath(struct rw_semaphore *sem, bool killable)
{
	int ret = 0;

	BUG_ON(pthread_mutex_lock(&sem->m));
	sem->readers_waiting++;
	atomic_fetch_or_explicit(&sem->count, RWSEM_FLAG_WAITERS, memory_order_relaxed);
	while (!rwsem_read_trylock_cas(sem)) {
		if (killable && fatal_signal_pending_current()) {
			ret = -EINTR;
			break;
		}
		rwsem_wait(&sem->readers_cv, sem, killable);
	}
	sem->readers_waiting--;
	rwsem_update_flags(sem);
	BUG_ON(pthread_mutex_unlock(&sem->m));
	return ret;
}

static int rwsem_down_read(struct rw_semaphore *sem, bool killable)
{
	long old = atomic_fetch_add_explicit(&sem->count, RWSEM_READER_BIAS,
					     memory_order_acquire);

	if (likely(!(old & RWSEM_READ_BLOCKED)))
		return 0;
	/* A writer holds it or waits: take the add back and queue. */
	rwsem_sub_reader(sem, memory_order_relaxed);
	return rwsem_down_read_slowpath(sem, killable);
}

static int rwsem_down_write_slowpath(struct rw_semaphore *sem, bool killable)
{
	int ret = 0;

	BUG_ON(pthread_mutex_lock(&sem->m));
	sem->writers_waiting++;
	atomic_fetch_or_explicit(&sem->count, RWSEM_FLAG_WAITERS | RWSEM_FLAG_WRITER_WAIT,
				 memory_order_relaxed);
	while (!rwsem_write_trylock_cas(sem)) {
		if (killable && fatal_signal_pending_current()) {
			ret = -EINTR;
			break;
		}
		rwsem_wait(&sem->writers_cv, sem, killable);
	}
	sem->writers_waiting--;
	rwsem_update_flags(sem);
	if (ret) {
		long c = atomic_load_explicit(&sem->count, memory_order_relaxed);

		/*
		 * Readers may have queued only because we waited, and a
		 * wake-up meant for a writer may have come to us: pass both
		 * on so no one sleeps on a lock they could take.
		 */
		if (!sem->writers_waiting && !(c & RWSEM_WRITER_LOCKED))
			pthread_cond_broadcast(&sem->readers_cv);
		else if (sem->writers_waiting && !(c & RWSEM_WRITE_BLOCKED))
			pthread_cond_signal(&sem->writers_cv);
	}
	BUG_ON(pthread_mutex_unlock(&sem->m));
	return ret;
}

static int rwsem_down_write(struct rw_semaphore *sem, bool killable)
{
	long c = 0;

	if (likely(atomic_compare_exchange_strong_explicit(&sem->count, &c,
							   RWSEM_WRITER_LOCKED,
							   memory_order_acquire,
							   memory_order_relaxed)))
		return 0;
	return rwsem_down_write_slowpath(sem, killable);
}

void __down_read(struct rw_semaphore *sem, const char *file, int line)
{
	lockrank_acquire(sem, sem->rank, 0, false, true, file, line);
	rwsem_down_read(sem, false);
}

int __down_read_killable(struct rw_semaphore *sem, const char *file, int line)
{
	lockrank_acquire(sem, sem->rank, 0, false, true, file, line);
	if (rwsem_down_read(sem, true)) {
		lockrank_release(sem);
		return -EINTR;
	}
	return 0;
}

bool __down_read_trylock(struct rw_semaphore *sem, const char *file, int line)
{
	if (!rwsem_read_trylock_cas(sem))
		return false;
	lockrank_acquire(sem, sem->rank, 0, true, true, file, line);
	return true;
}

void up_read(struct rw_semaphore *sem)
{
	lockrank_release(sem);
	VM_BUG_ON(atomic_load_explicit(&sem->count, memory_order_relaxed) &
		  RWSEM_WRITER_LOCKED);
	rwsem_sub_reader(sem, memory_order_release);
}

void __down_write(struct rw_semaphore *sem, unsigned int subclass, const char *file,
		  int line)
{
	lockrank_acquire(sem, sem->rank, subclass, false, false, file, line);
	rwsem_down_write(sem, false);
}

int __down_write_killable(struct rw_semaphore *sem, const char *file, int line)
{
	lockrank_acquire(sem, sem->rank, 0, false, false, file, line);
	if (rwsem_down_write(sem, true)) {
		lockrank_release(sem);
		return -EINTR;
	}
	return 0;
}

bool __down_write_trylock(struct rw_semaphore *sem, const char *file, int line)
{
	if (!rwsem_write_trylock_cas(sem))
		return false;
	lockrank_acquire(sem, sem->rank, 0, true, false, file, line);
	return true;
}

void up_write(struct rw_semaphore *sem)
{
	long old;

	lockrank_release(sem);
	old = atomic_fetch_sub_explicit(&sem->count, RWSEM_WRITER_LOCKED,
					memory_order_release);
	VM_BUG_ON(!(old & RWSEM_WRITER_LOCKED));
	/* Writer preference is rwsem_wake()'s: a waiting writer goes next, readers after it. */
	if (unlikely(old & RWSEM_FLAG_WAITERS))
		rwsem_wake(sem);
}

void downgrade_write(struct rw_semaphore *sem)
{
	long old;

	lockrank_downgrade(sem);
	/* One add: no other writer can get in between the two holds. */
	old = atomic_fetch_add_explicit(&sem->count,
					RWSEM_READER_BIAS - RWSEM_WRITER_LOCKED,
					memory_order_release);
	VM_BUG_ON(!(old & RWSEM_WRITER_LOCKED));
	/*
	 * Waiting readers may share with us now, unless a writer waits: then
	 * they stay behind it (rwsem_wake() lets them in only with no writer
	 * waiting), as Linux's queue keeps them behind a writer.
	 */
	if (unlikely(old & RWSEM_FLAG_WAITERS))
		rwsem_wake(sem);
}

bool rwsem_is_locked(struct rw_semaphore *sem)
{
	return atomic_load_explicit(&sem->count, memory_order_relaxed) &
	       (RWSEM_WRITER_LOCKED | RWSEM_READER_MASK);
}

bool rwsem_is_write_locked(struct rw_semaphore *sem)
{
	return atomic_load_explicit(&sem->count, memory_order_relaxed) & RWSEM_WRITER_LOCKED;
}
