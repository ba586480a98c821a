/* SPDX-License-Identifier: MIT */
/*
 * The folio lock and the folio waits (Linux keeps them in pagemap.h/filemap.c).
 *
 * The folio lock is a sleeping bit lock, PG_locked, on the head page. Waiters
 * sleep on a hashed wait queue and announce themselves with PG_waiters, so an
 * uncontended unlock is one atomic operation.
 */
#ifndef PINMM_PAGEMAP_H
#define PINMM_PAGEMAP_H

#include <pinmm/mm.h>

void __folio_lock(struct folio *folio, const char *file, int line);
int __must_check __folio_lock_killable(struct folio *folio, const char *file, int line);
bool __folio_trylock(struct folio *folio, const char *file, int line);

/**
 * folio_lock - lock a folio, sleeping until it is free.
 * Context: may sleep; the caller holds a reference on the folio.
 */
#define folio_lock(f)		__folio_lock(f, __FILE__, __LINE__)
/* folio_lock_killable - as folio_lock(); -EINTR on a fatal signal, else 0. */
#define folio_lock_killable(f)	__folio_lock_killable(f, __FILE__, __LINE__)
/* folio_trylock - take the lock if free; true on success. Never sleeps. */
#define folio_trylock(f)	__folio_trylock(f, __FILE__, __LINE__)

/* folio_unlock - release the folio lock and wake whoever waits for it. */
void folio_unlock(struct folio *folio);

/* Sleep until the folio is unlocked (without taking the lock). */
void folio_wait_locked(struct folio *folio);

/* Sleep until writeback on the folio has ended. */
void folio_wait_writeback(struct folio *folio);
/* Clear PG_writeback and wake writeback waiters. */
void folio_end_writeback_wake(struct folio *folio);

static inline void lock_page(struct page *page)
{
	folio_lock(page_folio(page));
}

static inline void unlock_page(struct page *page)
{
	folio_unlock(page_folio(page));
}

#endif /* PINMM_PAGEMAP_H */
