/* SPDX-License-Identifier: MIT */
/*
 * Waiting for a condition on a memory word: Linux's wait_var_event() /
 * wake_up_var(), on a hashed table of wait queues so no object needs to carry
 * one (the folio lock, writeback and migration-entry waits all use it).
 *
 * Protocol: the waker first makes the condition true with an atomic store,
 * then calls wake_up_var(); the waiter re-checks the condition under the
 * bucket lock, so no wake-up is lost.
 */
#ifndef PINMM_WAIT_H
#define PINMM_WAIT_H

#include <pinmm/compiler.h>
#include <pinmm/sched.h>	/* wait_var_event_killable() */
#include <errno.h>		/* wait_var_event_killable() */

struct wait_bucket;

/* The building blocks of the wait_var_event*() macros; use those. */
/* Lock and return the bucket of @var (a mutex; the caller will sleep on it). */
struct wait_bucket *__wait_var_lock(const void *var);
/* Sleep on the bucket (lock held; dropped while sleeping, retaken before return). */
void __wait_var_sleep(struct wait_bucket *b);
/* Like __wait_var_sleep() but wakes after @ms milliseconds at most. */
void __wait_var_sleep_timeout(struct wait_bucket *b, unsigned int ms);
void __wait_var_unlock(struct wait_bucket *b);
/**
 * wake_up_var() - wake every thread in wait_var_event*() on @var.
 * @var: the address the waiters passed.
 *
 * Call it after making the condition true (an atomic store): the waiters
 * re-check it. Threads waiting on other variables of the same bucket wake
 * too and go back to sleep.
 * Context: may block briefly on the bucket mutex; not under a bucket lock.
 */
void wake_up_var(const void *var);

/*
 * Sleep until @cond (an expression re-evaluated under the bucket lock) holds.
 * @cond must not take locks nor sleep: it runs with the bucket mutex held.
 */
#define wait_var_event(var, cond)					\
	do {								\
		if (cond)						\
			break;						\
		struct wait_bucket *__b = __wait_var_lock(var);		\
		while (!(cond))						\
			__wait_var_sleep(__b);				\
		__wait_var_unlock(__b);					\
	} while (0)

/*
 * Same, but give up with -EINTR when a fatal signal is pending; evaluates
 * to 0 once @cond holds.
 */
#define wait_var_event_killable(var, cond) ({				\
	int __ret = 0;							\
	if (!(cond)) {							\
		struct wait_bucket *__b = __wait_var_lock(var);		\
		while (!(cond)) {					\
			if (fatal_signal_pending_current()) {		\
				__ret = -EINTR;				\
				break;					\
			}						\
			__wait_var_sleep_timeout(__b, 1);		\
		}							\
		__wait_var_unlock(__b);					\
	}								\
	__ret;								\
})

#endif /* PINMM_WAIT_H */
