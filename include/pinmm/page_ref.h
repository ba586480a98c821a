/* SPDX-License-Identifier: MIT */
/*
 * Folio reference counts.
 *
 * folio->_refcount counts everything that keeps the folio alive: its page-table
 * mappings, the page cache, FOLL_GET references (+1 each) and FOLL_PIN pins
 * (+GUP_PIN_COUNTING_BIAS each on a small folio, +1 on a large one). Tail pages
 * keep 0. A free folio has 0, and a "frozen" one (being migrated or split) has
 * 0 too, so every speculative grab is add-unless-zero.
 *
 * Grabs that can be driven from outside (GUP, speculative lookups) go through
 * folio_ref_try_add(), which refuses to pass PAGE_REF_CEILING: a refcount
 * never wraps, and the refusal is an error the caller returns (-ENOMEM in GUP),
 * not a corrupted folio. The headroom above the ceiling absorbs the unchecked
 * folio_get() calls of mapping and cache code.
 */
#ifndef PINMM_PAGE_REF_H
#define PINMM_PAGE_REF_H

#include <limits.h>
#include <pinmm/mm_types.h>

#define PAGE_REF_CEILING	(INT_MAX - (1 << 20))

static inline int folio_ref_count(const struct folio *f)
{
	return atomic_load_explicit(&((struct folio *)f)->_refcount, memory_order_relaxed);
}

static inline int page_ref_count(const struct page *p)
{
	return atomic_load_explicit(&((struct page *)p)->_refcount, memory_order_relaxed);
}

static inline void set_page_count(struct page *p, int v)
{
	atomic_store_explicit(&p->_refcount, v, memory_order_relaxed);
}

static inline void folio_set_count(struct folio *f, int v)
{
	set_page_count(&f->page, v);
}

static inline void folio_ref_add(struct folio *f, int nr)
{
	atomic_fetch_add_explicit(&f->_refcount, nr, memory_order_relaxed);
}

static inline void folio_ref_inc(struct folio *f)
{
	folio_ref_add(f, 1);
}

/* Dropping references orders the holder's accesses before the release. */
static inline void folio_ref_sub(struct folio *f, int nr)
{
	atomic_fetch_sub_explicit(&f->_refcount, nr, memory_order_release);
}

static inline void folio_ref_dec(struct folio *f)
{
	folio_ref_sub(f, 1);
}

/* True when this drop took the count to zero; acquire so the freer sees all. */
static inline bool folio_ref_sub_and_test(struct folio *f, int nr)
{
	int old = atomic_fetch_sub_explicit(&f->_refcount, nr, memory_order_acq_rel);

	return old == nr;
}

static inline bool folio_ref_dec_and_test(struct folio *f)
{
	return folio_ref_sub_and_test(f, 1);
}

static inline int folio_ref_sub_return(struct folio *f, int nr)
{
	return atomic_fetch_sub_explicit(&f->_refcount, nr, memory_order_acq_rel) - nr;
}

/* folio_ref_try_add() that also tells the count it found (*@oldp) on success. */
static inline bool folio_ref_try_add_old(struct folio *f, int nr, int *oldp)
{
	int old = atomic_load_explicit(&f->_refcount, memory_order_relaxed);

	do {
		if (unlikely(old <= 0 || old > PAGE_REF_CEILING - nr))
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&f->_refcount, &old, old + nr,
							memory_order_acquire,
							memory_order_relaxed));
	*oldp = old;
	return true;
}

/**
 * folio_ref_try_add - take @nr references unless the folio is free or full.
 * @f: the folio; may be free, frozen or reused (the struct stays valid).
 * @nr: references to add, > 0.
 *
 * Return: true with @nr references taken; false if the count was zero (free
 * or frozen) or the result would pass PAGE_REF_CEILING. Acquire ordering on
 * success, so the caller's later checks see the state the holder published.
 */
static inline bool folio_ref_try_add(struct folio *f, int nr)
{
	int old;

	return folio_ref_try_add_old(f, nr, &old);
}

/* folio_try_get - one reference unless the folio is free, frozen or full. */
static inline bool folio_try_get(struct folio *f)
{
	return folio_ref_try_add(f, 1);
}

/**
 * folio_ref_freeze - take the refcount from @count to 0 if it is exactly @count.
 *
 * A frozen folio cannot be grabbed by anyone (try_get sees 0). Migration and
 * split freeze at the number of references they can account for; any extra
 * reference (a GET or a pin) makes the freeze fail.
 */
static inline bool folio_ref_freeze(struct folio *f, int count)
{
	int expected = count;

	return atomic_compare_exchange_strong_explicit(&f->_refcount, &expected, 0,
						       memory_order_acq_rel,
						       memory_order_relaxed);
}

static inline void folio_ref_unfreeze(struct folio *f, int count)
{
	VM_BUG_ON(folio_ref_count(f) != 0);
	atomic_store_explicit(&f->_refcount, count, memory_order_release);
}

#endif /* PINMM_PAGE_REF_H */
