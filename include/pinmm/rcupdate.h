/* SPDX-License-Identifier: MIT */
/*
 * RCU for pinmm, on liburcu (the membarrier flavour, urcu-memb).
 *
 * Readers: rcu_read_lock()/rcu_read_unlock() nest and never block. A thread is
 * registered with liburcu on its first rcu_read_lock() and unregistered when
 * it exits, so callers need not register threads themselves.
 * Updaters: synchronize_rcu() waits for every reader that started before it;
 * call_rcu() runs a callback after such a grace period, on liburcu's worker
 * thread; rcu_barrier() waits for all queued callbacks.
 *
 * Published pointers are C11 atomics: rcu_assign_pointer() is a release
 * store, rcu_dereference() an acquire load (stronger than Linux's consume,
 * and visible to ThreadSanitizer). In TSan builds the grace period is also
 * annotated as a happens-before edge from every reader's unlock to the end of
 * synchronize_rcu() / the start of a callback, which is the guarantee RCU gives.
 *
 * Must not be called: synchronize_rcu() or rcu_barrier() inside a read-side
 * section (deadlock; BUG()s in debug builds).
 */
#ifndef PINMM_RCUPDATE_H
#define PINMM_RCUPDATE_H

#include <pinmm/bug.h>
#include <pinmm/compiler.h>

struct rcu_head {
	void *__urcu[2];			/* liburcu's queue node + its callback */
	void (*func)(struct rcu_head *head);	/* the pinmm callback */
};

/* Read-side nesting of this thread; only the outermost section enters liburcu. */
extern __thread unsigned int rcu_read_lock_nesting;
void __rcu_read_lock_outer(void);
void __rcu_read_unlock_outer(void);

/**
 * rcu_read_lock() - enter a read-side critical section.
 *
 * Sections nest. Objects reached through rcu_dereference() inside stay
 * allocated until the matching outermost rcu_read_unlock().
 * Context: any thread; never blocks (the first call in a thread registers it
 * with liburcu, which takes a mutex once). Do not wait for long inside: it
 * holds up every grace period, as sleeping in a Linux RCU reader would.
 * Inline: an inner section costs a thread-local increment, as Linux's
 * preempt count does; the outermost calls into liburcu's read side.
 */
static inline void rcu_read_lock(void)
{
	if (rcu_read_lock_nesting++ == 0)
		__rcu_read_lock_outer();
}

/* Leave the innermost read-side section (BUG()s in debug builds if none). */
static inline void rcu_read_unlock(void)
{
	VM_BUG_ON(!rcu_read_lock_nesting);
	if (--rcu_read_lock_nesting == 0)
		__rcu_read_unlock_outer();
}

/* Is the current thread inside a read-side section? */
static inline bool rcu_read_lock_held(void)
{
	return rcu_read_lock_nesting != 0;
}
/**
 * synchronize_rcu() - wait until every read-side section that began before
 * the call has ended.
 *
 * Full memory barrier on both sides.
 * Context: may sleep; not inside a read-side section.
 */
void synchronize_rcu(void);
/**
 * call_rcu() - run @func(@head) after a grace period.
 * @head: embedded in the object to free; untouched by the caller until @func runs.
 * @func: the callback; it runs on liburcu's callback thread, may take locks
 *        and call rcu_read_lock(), and must not call synchronize_rcu().
 *
 * Writes made before call_rcu() are visible to @func.
 * Context: any thread, inside a read-side section or not; never waits for a
 * grace period (the first call starts liburcu's callback thread).
 */
void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
/**
 * rcu_barrier() - wait until every callback queued by call_rcu() before this
 * call has returned.
 *
 * Context: may sleep; not inside a read-side section, nor in a callback.
 */
void rcu_barrier(void);

#define rcu_dereference(p)	atomic_load_explicit(&(p), memory_order_acquire)
#define rcu_access_pointer(p)	atomic_load_explicit(&(p), memory_order_relaxed)
#define rcu_assign_pointer(p, v) atomic_store_explicit(&(p), (v), memory_order_release)

#endif /* PINMM_RCUPDATE_H */
