// SPDX-License-Identifier: MIT
/*
 * The folio lock and writeback waits (Linux: mm/filemap.c).
 *
 * A sleeper takes the hashed bucket lock, sets PG_waiters, re-checks the bit
 * it waits on, and sleeps. The releaser clears the bit and, only if
 * PG_waiters is set, takes the bucket lock, clears PG_waiters and wakes all
 * sleepers of the bucket; those still waiting set PG_waiters again. Both
 * sides modify the same flags word with atomic read-modify-writes (the
 * releaser learns PG_waiters from its clear), so either the releaser sees
 * PG_waiters or the sleeper sees the bit clear: no lost wake-up.
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/pagemap.h>
#include <pinmm/sched.h>
#include <pinmm/wait.h>

/*
 * The folio lock may be released by another thread than its taker (I/O
 * completion unlocks what submission locked), so, like lockdep, we do not
 * track it as held; but a blocking folio_lock() is still checked against the
 * locks its caller holds (no folio_lock() under a page-table lock).
 */
static inline void folio_lock_check_order(struct folio *folio, const char *file, int line)
{
	lockrank_acquire(folio, LOCK_RANK_FOLIO, 0, false, false, file, line);
	lockrank_release(folio);
}

/* Sleep until @bit of @folio is clear; with @killable, -EINTR on a fatal signal. */
static int folio_wait_bit_common(struct folio *folio, int bit, bool killable)
{
	struct wait_bucket *b;
	int ret = 0;

	if (!test_bit(bit, &folio->flags))
		return 0;
	b = __wait_var_lock(folio);
	for (;;) {
		set_bit(PG_waiters, &folio->flags);
		atomic_thread_fence(memory_order_seq_cst);
		if (!test_bit(bit, &folio->flags))
			break;
		if (killable && fatal_signal_pending_current()) {
			ret = -EINTR;
			break;
		}
		if (killable)
			__wait_var_sleep_timeout(b, 1);
		else
			__wait_var_sleep(b);
	}
	__wait_var_unlock(b);
	return ret;
}

/*
 * Clear @bit of @folio and wake its sleepers, if any. The clear returns the
 * flags as they were in the same atomic step (Linux: folio_xor_flags_has_waiters()),
 * so no fence is needed: a sleeper's set_bit(PG_waiters) on this word comes
 * either before it (we see PG_waiters) or after it (its re-check sees @bit clear).
 */
static void folio_clear_bit_wake(struct folio *folio, int bit)
{
	struct wait_bucket *b;
	unsigned long old = atomic_fetch_and_explicit(&folio->flags, ~(1UL << bit),
						      memory_order_seq_cst);

	if (!(old & (1UL << PG_waiters)))
		return;
	b = __wait_var_lock(folio);
	clear_bit(PG_waiters, &folio->flags);
	__wait_var_unlock(b);
	wake_up_var(folio);
}

bool __folio_trylock(struct folio *folio, const char *file, int line)
{
	VM_BUG_ON(PageTail(&folio->page));
	(void)file;
	(void)line;
	return !test_and_set_bit_lock(PG_locked, &folio->flags);
}

void __folio_lock(struct folio *folio, const char *file, int line)
{
	VM_BUG_ON(PageTail(&folio->page));
	folio_lock_check_order(folio, file, line);
	while (test_and_set_bit_lock(PG_locked, &folio->flags))
		folio_wait_bit_common(folio, PG_locked, false);
}

int __folio_lock_killable(struct folio *folio, const char *file, int line)
{
	VM_BUG_ON(PageTail(&folio->page));
	folio_lock_check_order(folio, file, line);
	while (test_and_set_bit_lock(PG_locked, &folio->flags)) {
		if (folio_wait_bit_common(folio, PG_locked, true))
			return -EINTR;
	}
	return 0;
}

void folio_unlock(struct folio *folio)
{
	VM_BUG_ON(!folio_test_locked(folio));
	folio_clear_bit_wake(folio, PG_locked);
}

void folio_wait_locked(struct folio *folio)
{
	folio_wait_bit_common(folio, PG_locked, false);
}

void folio_wait_writeback(struct folio *folio)
{
	folio_wait_bit_common(folio, PG_writeback, false);
}

void folio_end_writeback_wake(struct folio *folio)
{
	VM_BUG_ON(!folio_test_writeback(folio));
	folio_clear_bit_wake(folio, PG_writeback);
}
