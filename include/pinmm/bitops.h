/* SPDX-License-Identifier: MIT */
/*
 * Bit operations on an atomic word, Linux-style: set_bit()/clear_bit() and the
 * test_and_* forms are atomic read-modify-writes; the __ forms are for words
 * no other thread can touch at that moment (a page being allocated or freed)
 * and are a relaxed load plus store.
 */
#ifndef PINMM_BITOPS_H
#define PINMM_BITOPS_H

#include <pinmm/compiler.h>

static inline bool test_bit(unsigned int nr, const atomic_ulong *w)
{
	return (atomic_load_explicit((atomic_ulong *)w, memory_order_relaxed) >> nr) & 1;
}

static inline bool test_bit_acquire(unsigned int nr, const atomic_ulong *w)
{
	return (atomic_load_explicit((atomic_ulong *)w, memory_order_acquire) >> nr) & 1;
}

static inline void set_bit(unsigned int nr, atomic_ulong *w)
{
	atomic_fetch_or_explicit(w, 1UL << nr, memory_order_relaxed);
}

static inline void clear_bit(unsigned int nr, atomic_ulong *w)
{
	atomic_fetch_and_explicit(w, ~(1UL << nr), memory_order_relaxed);
}

/* Release ordering: everything before is visible to whoever sees the bit clear. */
static inline void clear_bit_unlock(unsigned int nr, atomic_ulong *w)
{
	atomic_fetch_and_explicit(w, ~(1UL << nr), memory_order_seq_cst);
}

static inline bool test_and_set_bit(unsigned int nr, atomic_ulong *w)
{
	return (atomic_fetch_or_explicit(w, 1UL << nr, memory_order_seq_cst) >> nr) & 1;
}

/* Acquire ordering: the bit lock's critical section cannot float above it. */
static inline bool test_and_set_bit_lock(unsigned int nr, atomic_ulong *w)
{
	return (atomic_fetch_or_explicit(w, 1UL << nr, memory_order_acquire) >> nr) & 1;
}

static inline bool test_and_clear_bit(unsigned int nr, atomic_ulong *w)
{
	return (atomic_fetch_and_explicit(w, ~(1UL << nr), memory_order_seq_cst) >> nr) & 1;
}

static inline void __set_bit(unsigned int nr, atomic_ulong *w)
{
	atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) | (1UL << nr),
			      memory_order_relaxed);
}

static inline void __clear_bit(unsigned int nr, atomic_ulong *w)
{
	atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) & ~(1UL << nr),
			      memory_order_relaxed);
}

#endif /* PINMM_BITOPS_H */
