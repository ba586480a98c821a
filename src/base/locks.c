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
 * State lives under sem->m. A reader may enter when no writer holds the lock
 * and none waits (writer preference); a writer when nobody holds it. Readers
 * wait on readers_cv, writers on writers_cv. count mirrors the state for the
 * lock-free queries.
 */

void init_rwsem(struct rw_semaphore *sem, enum lock_rank rank)
{
	pthread_condattr_t attr;

	BUG_ON(pthread_mutex_init(&sem->m, NULL));
	/* Monotonic, so the killable polls do not jump with the wall clock. */
	BUG_ON(pthread_condattr_init(&attr));
	BUG_ON(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
	BUG_ON(pthread_cond_init(&sem->readers_cv, &attr));
	BUG_ON(pthread_cond_init(&sem->writers_cv, &attr));
	pthread_condattr_destroy(&attr);
	sem->readers = 0;
	sem->writer = false;
	sem->writers_waiting = 0;
	atomic_init(&sem->count, 0);
	sem->rank = rank;
}

void destroy_rwsem(struct rw_semaphore *sem)
{
	VM_BUG_ON(atomic_load_explicit(&sem->count, memory_order_relaxed) != 0);
	BUG_ON(pthread_cond_destroy(&sem->writers_cv));
	BUG_ON(pthread_cond_destroy(&sem->readers_cv));
	BUG_ON(pthread_mutex_destroy(&sem->m));
}

static inline bool rwsem_read_blocked(const struct rw_semaphore *sem)
{
	return sem->writer || sem->writers_waiting;
}

static inline bool rwsem_write_blocked(const struct rw_semaphore *sem)
{
	return sem->writer || sem->readers;
}

static void rwsem_set_count(struct rw_semaphore *sem)
{
	atomic_store_explicit(&sem->count, sem->writer ? -1 : sem->readers,
			      memory_order_relaxed);
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

static int rwsem_down_read(struct rw_semaphore *sem, bool killable)
{
	BUG_ON(pthread_mutex_lock(&sem->m));
	while (rwsem_read_blocked(sem)) {
		if (killable && fatal_signal_pending_current()) {
			BUG_ON(pthread_mutex_unlock(&sem->m));
			return -EINTR;
		}
		rwsem_wait(&sem->readers_cv, sem, killable);
	}
	sem->readers++;
	rwsem_set_count(sem);
	BUG_ON(pthread_mutex_unlock(&sem->m));
	return 0;
}

static int rwsem_down_write(struct rw_semaphore *sem, bool killable)
{
	BUG_ON(pthread_mutex_lock(&sem->m));
	sem->writers_waiting++;
	while (rwsem_write_blocked(sem)) {
		if (killable && fatal_signal_pending_current()) {
			sem->writers_waiting--;
			/*
			 * Readers may have queued only because we waited, and a
			 * wake-up meant for a writer may have come to us: pass
			 * both on so no one sleeps on a lock they could take.
			 */
			if (!sem->writers_waiting)
				pthread_cond_broadcast(&sem->readers_cv);
			else if (!rwsem_write_blocked(sem))
				pthread_cond_signal(&sem->writers_cv);
			BUG_ON(pthread_mutex_unlock(&sem->m));
			return -EINTR;
		}
		rwsem_wait(&sem->writers_cv, sem, killable);
	}
	sem->writers_waiting--;
	sem->writer = true;
	rwsem_set_count(sem);
	BUG_ON(pthread_mutex_unlock(&sem->m));
	return 0;
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
	bool taken = false;

	BUG_ON(pthread_mutex_lock(&sem->m));
	if (!rwsem_read_blocked(sem)) {
		sem->readers++;
		rwsem_set_count(sem);
		taken = true;
	}
	BUG_ON(pthread_mutex_unlock(&sem->m));
	if (taken)
		lockrank_acquire(sem, sem->rank, 0, true, true, file, line);
	return taken;
}

void up_read(struct rw_semaphore *sem)
{
	lockrank_release(sem);
	BUG_ON(pthread_mutex_lock(&sem->m));
	VM_BUG_ON(sem->writer || sem->readers <= 0);
	sem->readers--;
	rwsem_set_count(sem);
	/* Readers never wait for readers, so only a writer can be waiting on us. */
	if (!sem->readers && sem->writers_waiting)
		pthread_cond_signal(&sem->writers_cv);
	BUG_ON(pthread_mutex_unlock(&sem->m));
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
	bool taken = false;

	BUG_ON(pthread_mutex_lock(&sem->m));
	if (!rwsem_write_blocked(sem)) {
		sem->writer = true;
		rwsem_set_count(sem);
		taken = true;
	}
	BUG_ON(pthread_mutex_unlock(&sem->m));
	if (taken)
		lockrank_acquire(sem, sem->rank, 0, true, false, file, line);
	return taken;
}

void up_write(struct rw_semaphore *sem)
{
	lockrank_release(sem);
	BUG_ON(pthread_mutex_lock(&sem->m));
	VM_BUG_ON(!sem->writer || sem->readers);
	sem->writer = false;
	rwsem_set_count(sem);
	/* Writer preference: a waiting writer goes next, readers after it. */
	if (sem->writers_waiting)
		pthread_cond_signal(&sem->writers_cv);
	else
		pthread_cond_broadcast(&sem->readers_cv);
	BUG_ON(pthread_mutex_unlock(&sem->m));
}

void downgrade_write(struct rw_semaphore *sem)
{
	lockrank_downgrade(sem);
	BUG_ON(pthread_mutex_lock(&sem->m));
	VM_BUG_ON(!sem->writer || sem->readers);
	sem->writer = false;
	sem->readers = 1;
	rwsem_set_count(sem);
	/*
	 * Waiting readers may share with us now, unless a writer waits: then
	 * they stay behind it, as Linux's queue keeps them behind a writer.
	 */
	if (!sem->writers_waiting)
		pthread_cond_broadcast(&sem->readers_cv);
	BUG_ON(pthread_mutex_unlock(&sem->m));
}

bool rwsem_is_locked(struct rw_semaphore *sem)
{
	return atomic_load_explicit(&sem->count, memory_order_relaxed) != 0;
}

bool rwsem_is_write_locked(struct rw_semaphore *sem)
{
	return atomic_load_explicit(&sem->count, memory_order_relaxed) < 0;
}
