// SPDX-License-Identifier: MIT
/*
 * RCU on liburcu's membarrier flavour (see rcupdate.h).
 *
 * liburcu names its callback node "struct rcu_head" too, and defines
 * rcu_dereference()/rcu_assign_pointer() macros of its own. Its headers are
 * read with its rcu_head renamed and its pointer macros dropped afterwards,
 * so that nothing of it leaks into pinmm's names; our rcu_head carries its
 * node in __urcu.
 */
#include <pinmm/compiler.h>	/* PINMM_TSAN */

#define rcu_head urcu_rcu_head
/*
 * liburcu's read side inline (its static functions, a few lines each, which
 * its headers offer to LGPL-compatible code): no call into the shared library
 * and no TLS lookup through __tls_get_addr for every outermost section. Not
 * under TSan: inlined, its plain accesses to the grace-period word would be
 * instrumented and reported; the library's own copy is not instrumented.
 */
#ifndef PINMM_TSAN
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>
#undef rcu_head
#undef rcu_dereference
#undef rcu_assign_pointer

#include <pinmm/bug.h>
#include <pinmm/rcupdate.h>
#include <pinmm/wait.h>

#include <pthread.h>

_Static_assert(sizeof(struct urcu_rcu_head) <= sizeof(((struct rcu_head *)0)->__urcu),
	       "struct rcu_head::__urcu cannot hold liburcu's callback node");
_Static_assert(_Alignof(struct urcu_rcu_head) <= _Alignof(void *),
	       "struct rcu_head::__urcu is under-aligned for liburcu's node");

#ifdef PINMM_TSAN
/*
 * TSan cannot see liburcu's grace periods (the library is not instrumented).
 * We tell it what RCU guarantees: every read-side section that ends has
 * happened before any later end of synchronize_rcu() or start of a callback
 * (rcu_gp_sync), and every callback that ran has happened before rcu_barrier()
 * returns (rcu_cb_sync). A call_rcu() happens before its own callback.
 */
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(p)	__tsan_acquire(p)
#define tsan_release(p)	__tsan_release(p)
#else
#define tsan_acquire(p)	((void)(p))
#define tsan_release(p)	((void)(p))
#endif

/* Only their addresses matter: they name the two edges for TSan. */
static char rcu_gp_sync, rcu_cb_sync;

enum rcu_thread_state {
	RCU_THREAD_UNREGISTERED,
	RCU_THREAD_OURS,	/* we registered it; unregistered at thread exit */
	RCU_THREAD_URCU,	/* liburcu's callback thread: it registers itself */
};

static __thread unsigned char rcu_thread_state;
__thread unsigned int rcu_read_lock_nesting;

static pthread_key_t rcu_exit_key;
static pthread_once_t rcu_exit_key_once = PTHREAD_ONCE_INIT;

/* pthread key destructor: runs at the exit of every thread we registered. */
static void rcu_thread_exit(void *unused)
{
	(void)unused;
	VM_BUG_ON(rcu_read_lock_nesting);
	urcu_memb_unregister_thread();
	rcu_thread_state = RCU_THREAD_UNREGISTERED;
}

static void rcu_make_exit_key(void)
{
	BUG_ON(pthread_key_create(&rcu_exit_key, rcu_thread_exit));
}

static __noinline void rcu_register_current(void)
{
	pthread_once(&rcu_exit_key_once, rcu_make_exit_key);
	urcu_memb_register_thread();
	/* Any non-NULL value makes the destructor run. */
	BUG_ON(pthread_setspecific(rcu_exit_key, &rcu_thread_state));
	rcu_thread_state = RCU_THREAD_OURS;
}

static inline void rcu_ensure_registered(void)
{
	if (unlikely(rcu_thread_state == RCU_THREAD_UNREGISTERED))
		rcu_register_current();
}

/*
 * The outermost section (rcupdate.h counts the nesting inline): an inner one
 * is inside it already, and a grace period waits for the outermost.
 */
void __rcu_read_lock_outer(void)
{
	rcu_ensure_registered();
	urcu_memb_read_lock();
}

void __rcu_read_unlock_outer(void)
{
	/* Before liburcu's unlock: once that runs, the grace period may end. */
	tsan_release(&rcu_gp_sync);
	urcu_memb_read_unlock();
}

void synchronize_rcu(void)
{
	/* A reader waiting for its own grace period never returns. */
	VM_BUG_ON(rcu_read_lock_nesting);
	urcu_memb_synchronize_rcu();
	tsan_acquire(&rcu_gp_sync);
}

static void rcu_callback(struct urcu_rcu_head *node)
{
	struct rcu_head *head = container_of((void *)node, struct rcu_head, __urcu);

	/* liburcu registered this thread; rcu_read_lock() must not do it again. */
	if (rcu_thread_state == RCU_THREAD_UNREGISTERED)
		rcu_thread_state = RCU_THREAD_URCU;
	tsan_acquire(&rcu_gp_sync);
	tsan_acquire(head);
	head->func(head);
	tsan_release(&rcu_cb_sync);
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	/* liburcu's call_rcu() enters a read-side section of its own. */
	rcu_ensure_registered();
	/*
	 * Atomic: the head often lives in a struct page (a page table's), whose
	 * fields a PFN scanner (compaction, reclaim's clock) reads speculatively.
	 */
	__atomic_store_n(&head->func, func, __ATOMIC_RELAXED);
	tsan_release(head);
	urcu_memb_call_rcu((struct urcu_rcu_head *)(void *)head->__urcu, rcu_callback);
}

/*
 * rcu_barrier() queues a callback of its own and waits for it, instead of
 * calling urcu_memb_barrier(): that one allocates its marker here and frees it
 * on the uninstrumented callback thread, which TSan reports as a race that no
 * annotation of ours can cover. pinmm never sets per-CPU or per-thread
 * call_rcu workers, so every callback is on liburcu's default queue, which
 * runs them in the order they were queued.
 */
struct rcu_barrier_waiter {
	struct rcu_head head;
	atomic_int done;
};

static void rcu_barrier_done(struct rcu_head *head)
{
	struct rcu_barrier_waiter *w = container_of(head, struct rcu_barrier_waiter, head);

	atomic_store_explicit(&w->done, 1, memory_order_release);
	/* Only hashes the address: the waiter's frame may already be gone. */
	wake_up_var(&w->done);
}

void rcu_barrier(void)
{
	struct rcu_barrier_waiter w = { .done = 0 };

	VM_BUG_ON(rcu_read_lock_nesting);
	call_rcu(&w.head, rcu_barrier_done);
	wait_var_event(&w.done, atomic_load_explicit(&w.done, memory_order_acquire));
	tsan_acquire(&rcu_cb_sync);
	tsan_acquire(&rcu_gp_sync);
}
