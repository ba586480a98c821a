// SPDX-License-Identifier: MIT
/*
 * The hashed wait table behind wait_var_event()/wake_up_var() (see wait.h).
 *
 * Variables that hash to the same bucket share its mutex and condvar; a
 * wake-up is a broadcast, and every sleeper re-checks its own condition, so
 * sharing costs spurious wake-ups, never lost ones.
 */
#include <pinmm/bug.h>
#include <pinmm/wait.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#define WAIT_TABLE_BITS	8
#define WAIT_TABLE_SIZE	(1u << WAIT_TABLE_BITS)

struct wait_bucket {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* CLOCK_MONOTONIC, for the timed sleeps */
} __attribute__((aligned(128)));	/* own cache lines: buckets are unrelated */

static struct wait_bucket wait_table[WAIT_TABLE_SIZE];
static pthread_once_t wait_table_once = PTHREAD_ONCE_INIT;

/* A condvar's clock can only be set at init, so the table is set up on first use. */
static void wait_table_init(void)
{
	pthread_condattr_t attr;

	BUG_ON(pthread_condattr_init(&attr));
	BUG_ON(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
	for (unsigned int i = 0; i < WAIT_TABLE_SIZE; i++) {
		BUG_ON(pthread_mutex_init(&wait_table[i].lock, NULL));
		BUG_ON(pthread_cond_init(&wait_table[i].cond, &attr));
	}
	pthread_condattr_destroy(&attr);
}

static struct wait_bucket *wait_bucket_of(const void *var)
{
	/* Fibonacci hashing; the low bits of an address are mostly alignment. */
	uint64_t h = (uint64_t)(uintptr_t)var * 0x9e3779b97f4a7c15ull;

	pthread_once(&wait_table_once, wait_table_init);
	return &wait_table[h >> (64 - WAIT_TABLE_BITS)];
}

struct wait_bucket *__wait_var_lock(const void *var)
{
	struct wait_bucket *b = wait_bucket_of(var);

	BUG_ON(pthread_mutex_lock(&b->lock));
	return b;
}

void __wait_var_sleep(struct wait_bucket *b)
{
	BUG_ON(pthread_cond_wait(&b->cond, &b->lock));
}

void __wait_var_sleep_timeout(struct wait_bucket *b, unsigned int ms)
{
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	err = pthread_cond_timedwait(&b->cond, &b->lock, &ts);
	BUG_ON(err && err != ETIMEDOUT);
}

void __wait_var_unlock(struct wait_bucket *b)
{
	BUG_ON(pthread_mutex_unlock(&b->lock));
}

void wake_up_var(const void *var)
{
	struct wait_bucket *b = wait_bucket_of(var);

	/*
	 * Taking the lock orders us after any waiter that has checked its
	 * condition but not yet slept: it is then asleep and gets the broadcast.
	 */
	BUG_ON(pthread_mutex_lock(&b->lock));
	pthread_cond_broadcast(&b->cond);
	BUG_ON(pthread_mutex_unlock(&b->lock));
}
