/* SPDX-License-Identifier: MIT */
/*
 * The three lock kinds Linux mm uses, with its names:
 *
 *  spinlock_t           short critical sections (zone->lock, page-table locks).
 *                       8 bytes, so it fits in a struct page of a page table.
 *                       Spins briefly, then yields the CPU: pinmm threads can be
 *                       preempted while holding one.
 *  struct mutex         a sleeping lock.
 *  struct rw_semaphore  a sleeping reader/writer lock (mmap_lock, i_mmap_rwsem)
 *                       with trylock, killable and downgrade_write(). Writers
 *                       are preferred once waiting, so readers cannot starve
 *                       them (as Linux's rwsem hand-off does). Uncontended,
 *                       each side is one atomic on a count word, as Linux's.
 *
 * "Killable" waits give up with -EINTR when the current task has a fatal
 * signal pending (fatal_signal_pending(), see sched.h).
 *
 * Every lock has a rank (lockrank.h) checked in debug builds.
 *
 * Synchronisation: all operations are safe to call concurrently on the same
 * lock; acquire has acquire ordering, release has release ordering.
 */
#ifndef PINMM_LOCKS_H
#define PINMM_LOCKS_H

#include <pinmm/bug.h>
#include <pinmm/lockrank.h>
#include <pthread.h>

/* ---- spinlock_t ---------------------------------------------------------- */

typedef struct {
	atomic_uint val;	/* 0 unlocked, 1 locked */
	uint16_t rank;		/* enum lock_rank */
	uint16_t __pad;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED(r) { .val = 0, .rank = (r) }

/**
 * spin_lock_init() - initialise an unlocked spinlock of rank @rank.
 * @lock: the lock.
 * @rank: its place in the lock order.
 */
void spin_lock_init(spinlock_t *lock, enum lock_rank rank);
/**
 * __spin_lock() - take @lock, spinning then yielding until it is free.
 * @lock: the lock.
 * @subclass: 0, or a larger number to nest locks of equal rank (spin_lock_nested()).
 * @file: call site, for the lock-order checker.
 * @line: call site line.
 *
 * Acquire ordering. Not recursive.
 * Context: any thread; the caller must not sleep until spin_unlock().
 */
void __spin_lock(spinlock_t *lock, unsigned int subclass, const char *file, int line);
/**
 * __spin_trylock() - take @lock if it is free, without waiting.
 * @lock: the lock.
 * @file: call site.
 * @line: call site line.
 *
 * Exempt from the lock order (it cannot deadlock).
 * Return: true if the lock was taken (acquire ordering), false otherwise.
 */
bool __spin_trylock(spinlock_t *lock, const char *file, int line);
/**
 * spin_unlock() - release @lock, which the current thread holds.
 * @lock: the lock.
 *
 * Release ordering. BUG()s in debug builds if the thread does not hold it.
 */
void spin_unlock(spinlock_t *lock);
/* Is @lock held by anyone? A snapshot, for assertions only. */
bool spin_is_locked(spinlock_t *lock);

#define spin_lock(l)			__spin_lock(l, 0, __FILE__, __LINE__)
#define spin_lock_nested(l, sub)	__spin_lock(l, sub, __FILE__, __LINE__)
#define spin_trylock(l)			__spin_trylock(l, __FILE__, __LINE__)
#define assert_spin_locked(l)		lockdep_assert_held(l)

/* ---- struct mutex -------------------------------------------------------- */

struct mutex {
	pthread_mutex_t m;
	atomic_bool locked;	/* for mutex_is_locked() */
	enum lock_rank rank;
};

/* mutex_init() - initialise an unlocked mutex; mutex_destroy() - free an unlocked one. */
void mutex_init(struct mutex *lock, enum lock_rank rank);
void mutex_destroy(struct mutex *lock);
/**
 * __mutex_lock() - take @lock, sleeping until it is free.
 * @lock: the mutex.
 * @subclass: 0, or larger to nest mutexes of equal rank (mutex_lock_nested()).
 * @file: call site, for the lock-order checker.
 * @line: call site line.
 *
 * Acquire ordering. Not recursive.
 * Context: may sleep.
 */
void __mutex_lock(struct mutex *lock, unsigned int subclass, const char *file, int line);
/**
 * __mutex_lock_killable() - like __mutex_lock(), but give up on a fatal signal.
 * @lock: the mutex.
 * @file: call site.
 * @line: call site line.
 *
 * A free mutex is taken even if a signal is pending; while waiting, the
 * signal word is polled about every millisecond.
 * Context: may sleep.
 * Return: 0 with @lock held, or -EINTR with @lock not held.
 */
int __must_check __mutex_lock_killable(struct mutex *lock, const char *file, int line);
/**
 * __mutex_trylock() - take @lock if it is free, without sleeping.
 * @lock: the mutex.
 * @file: call site.
 * @line: call site line.
 *
 * Return: true if taken (acquire ordering). Exempt from the lock order.
 */
bool __mutex_trylock(struct mutex *lock, const char *file, int line);
/* Release a mutex the current thread holds (release ordering). */
void mutex_unlock(struct mutex *lock);
/* Is @lock held by anyone? A snapshot, for assertions only. */
bool mutex_is_locked(struct mutex *lock);

#define mutex_lock(l)			__mutex_lock(l, 0, __FILE__, __LINE__)
#define mutex_lock_nested(l, sub)	__mutex_lock(l, sub, __FILE__, __LINE__)
#define mutex_lock_killable(l)		__mutex_lock_killable(l, __FILE__, __LINE__)
#define mutex_trylock(l)		__mutex_trylock(l, __FILE__, __LINE__)

/* ---- struct rw_semaphore ------------------------------------------------- */

/*
 * One count word carries the state, as in Linux's rwsem: the readers in the
 * high bits (RWSEM_READER_BIAS each) and three flags in the low ones. Readers
 * enter with one atomic add when no writer holds the lock or waits for it; a
 * writer with one compare-and-swap on a free word. Only a thread that must
 * wait, or wake a waiter, takes m.
 */
#define RWSEM_WRITER_LOCKED	(1L << 0)	/* a writer holds it */
#define RWSEM_FLAG_WAITERS	(1L << 1)	/* someone sleeps in the slow path */
#define RWSEM_FLAG_WRITER_WAIT	(1L << 2)	/* a writer sleeps: readers queue */
#define RWSEM_READER_SHIFT	8
#define RWSEM_READER_BIAS	(1L << RWSEM_READER_SHIFT)
#define RWSEM_READER_MASK	(~(RWSEM_READER_BIAS - 1))

struct rw_semaphore {
	atomic_long count;		/* readers, RWSEM_WRITER_LOCKED, flags */
	enum lock_rank rank;
	int readers_waiting;		/* (m) */
	int writers_waiting;		/* (m) */
	pthread_mutex_t m;		/* the slow path: waiters and wake-ups */
	pthread_cond_t readers_cv;	/* readers wait here */
	pthread_cond_t writers_cv;	/* writers wait here */
};

/* init_rwsem() - initialise an unlocked rwsem; destroy_rwsem() - free an unlocked one. */
void init_rwsem(struct rw_semaphore *sem, enum lock_rank rank);
void destroy_rwsem(struct rw_semaphore *sem);

/**
 * __down_read() - take @sem for reading, sleeping while a writer holds it or
 * waits for it.
 * @sem: the rwsem.
 * @file: call site, for the lock-order checker.
 * @line: call site line.
 *
 * Readers share. Once a writer waits, new readers queue behind it, so a
 * thread must not take the same rwsem for reading twice (it BUG()s in debug
 * builds): the second down_read() could wait for a writer that waits for the
 * first.
 * Context: may sleep. Acquire ordering.
 */
void __down_read(struct rw_semaphore *sem, const char *file, int line);
/**
 * __down_read_killable() - __down_read(), giving up on a fatal signal.
 * @sem: the rwsem.
 * @file: call site.
 * @line: call site line.
 *
 * Context: may sleep; polls the signal word about every millisecond.
 * Return: 0 with @sem read-held, or -EINTR with @sem not held.
 */
int __must_check __down_read_killable(struct rw_semaphore *sem, const char *file, int line);
/**
 * __down_read_trylock() - take @sem for reading if that needs no wait.
 * @sem: the rwsem.
 * @file: call site.
 * @line: call site line.
 *
 * Fails while a writer holds @sem or waits for it. Exempt from the lock order.
 * Return: true if read-held (acquire ordering).
 */
bool __down_read_trylock(struct rw_semaphore *sem, const char *file, int line);
/* Drop a read hold of the current thread (release ordering); may wake a writer. */
void up_read(struct rw_semaphore *sem);

/**
 * __down_write() - take @sem exclusively, sleeping until no one holds it.
 * @sem: the rwsem.
 * @subclass: 0, or larger to nest rwsems of equal rank (down_write_nested()).
 * @file: call site.
 * @line: call site line.
 *
 * While it waits, new readers are held back (writer preference).
 * Context: may sleep. Acquire ordering.
 */
void __down_write(struct rw_semaphore *sem, unsigned int subclass, const char *file, int line);
/**
 * __down_write_killable() - __down_write(), giving up on a fatal signal.
 * @sem: the rwsem.
 * @file: call site.
 * @line: call site line.
 *
 * A writer that gives up lets in the readers it was holding back.
 * Context: may sleep; polls the signal word about every millisecond.
 * Return: 0 with @sem write-held, or -EINTR with @sem not held.
 */
int __must_check __down_write_killable(struct rw_semaphore *sem, const char *file, int line);
/**
 * __down_write_trylock() - take @sem exclusively if no one holds it.
 * @sem: the rwsem.
 * @file: call site.
 * @line: call site line.
 *
 * Return: true if write-held (acquire ordering). Exempt from the lock order.
 */
bool __down_write_trylock(struct rw_semaphore *sem, const char *file, int line);
/* Drop the current thread's write hold (release ordering); wakes a writer, else readers. */
void up_write(struct rw_semaphore *sem);
/**
 * downgrade_write() - turn the current thread's write hold into a read hold.
 * @sem: the rwsem, write-held by the caller.
 *
 * No other writer can get in between. Waiting readers enter at once and
 * share with the caller, unless a writer is also waiting: then they stay
 * queued behind it (the caller keeps reading either way). Release up_read().
 * Context: never waits for another holder.
 */
void downgrade_write(struct rw_semaphore *sem);

/* Snapshots for assertions: held in any mode / held by a writer. */
bool rwsem_is_locked(struct rw_semaphore *sem);
bool rwsem_is_write_locked(struct rw_semaphore *sem);

#define down_read(s)			__down_read(s, __FILE__, __LINE__)
#define down_read_killable(s)		__down_read_killable(s, __FILE__, __LINE__)
#define down_read_trylock(s)		__down_read_trylock(s, __FILE__, __LINE__)
#define down_write(s)			__down_write(s, 0, __FILE__, __LINE__)
#define down_write_nested(s, sub)	__down_write(s, sub, __FILE__, __LINE__)
#define down_write_killable(s)		__down_write_killable(s, __FILE__, __LINE__)
#define down_write_trylock(s)		__down_write_trylock(s, __FILE__, __LINE__)
#define rwsem_assert_held(s)		lockdep_assert_held(s)
#define rwsem_assert_held_write(s)	lockdep_assert_held_write(s)

#endif /* PINMM_LOCKS_H */
