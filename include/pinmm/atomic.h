/* SPDX-License-Identifier: MIT */
/*
 * Linux's atomic_t, atomic64_t and atomic_long_t on C11 atomics.
 *
 * pinmm's own code uses C11 atomics directly; these types exist for the
 * fields Linux call sites touch by their Linux names (mm->pinned_vm is an
 * atomic64_t, user_struct->locked_vm an atomic_long_t) and for the
 * <linux/atomic.h> of include/linux. The ordering follows Linux's rules:
 * plain operations (read, set, add, sub, inc, dec) are relaxed; operations
 * that return a value (*_return, fetch_*, *_and_test, cmpxchg) are fully
 * ordered.
 */
#ifndef PINMM_ATOMIC_H
#define PINMM_ATOMIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct { _Atomic int counter; } atomic_t;
typedef struct { _Atomic int64_t counter; } atomic64_t;
typedef struct { _Atomic long counter; } atomic_long_t;

#define ATOMIC_INIT(i)		{ (i) }
#define ATOMIC64_INIT(i)	{ (i) }
#define ATOMIC_LONG_INIT(i)	{ (i) }

#define relaxed__	memory_order_relaxed
#define ordered__	memory_order_seq_cst

/* One family per type: prefix, atomic type, value type. */
#define PINMM_ATOMIC_OPS(pfx, atype, vtype)						\
static inline vtype pfx##_read(const atype *v)						\
{ return atomic_load_explicit(&((atype *)v)->counter, relaxed__); }			\
static inline void pfx##_set(atype *v, vtype i)						\
{ atomic_store_explicit(&v->counter, i, relaxed__); }					\
static inline void pfx##_add(vtype i, atype *v)						\
{ atomic_fetch_add_explicit(&v->counter, i, relaxed__); }				\
static inline void pfx##_sub(vtype i, atype *v)						\
{ atomic_fetch_sub_explicit(&v->counter, i, relaxed__); }				\
static inline void pfx##_inc(atype *v) { pfx##_add(1, v); }				\
static inline void pfx##_dec(atype *v) { pfx##_sub(1, v); }				\
static inline vtype pfx##_add_return(vtype i, atype *v)				\
{ return atomic_fetch_add_explicit(&v->counter, i, ordered__) + i; }			\
static inline vtype pfx##_sub_return(vtype i, atype *v)				\
{ return atomic_fetch_sub_explicit(&v->counter, i, ordered__) - i; }			\
static inline vtype pfx##_inc_return(atype *v) { return pfx##_add_return(1, v); }	\
static inline vtype pfx##_dec_return(atype *v) { return pfx##_sub_return(1, v); }	\
static inline bool pfx##_dec_and_test(atype *v) { return pfx##_dec_return(v) == 0; }	\
static inline bool pfx##_sub_and_test(vtype i, atype *v)				\
{ return pfx##_sub_return(i, v) == 0; }							\
static inline vtype pfx##_xchg(atype *v, vtype i)					\
{ return atomic_exchange_explicit(&v->counter, i, ordered__); }			\
/* Return the old value; the store happened when it equals @old. */			\
static inline vtype pfx##_cmpxchg(atype *v, vtype old, vtype new_)			\
{											\
	atomic_compare_exchange_strong_explicit(&v->counter, &old, new_, ordered__,	\
						relaxed__);				\
	return old;									\
}											\
/* On failure *@old is updated to the current value, for a retry loop. */		\
static inline bool pfx##_try_cmpxchg(atype *v, vtype *old, vtype new_)		\
{											\
	return atomic_compare_exchange_strong_explicit(&v->counter, old, new_,		\
						       ordered__, relaxed__);		\
}

PINMM_ATOMIC_OPS(atomic, atomic_t, int)
PINMM_ATOMIC_OPS(atomic64, atomic64_t, int64_t)
PINMM_ATOMIC_OPS(atomic_long, atomic_long_t, long)

/*
 * fetch_add/fetch_sub for the wide types only: C11's <stdatomic.h> owns the
 * names atomic_fetch_add() and atomic_fetch_sub(), and pinmm uses them.
 */
static inline int64_t atomic64_fetch_add(int64_t i, atomic64_t *v)
{ return atomic_fetch_add_explicit(&v->counter, i, memory_order_seq_cst); }
static inline int64_t atomic64_fetch_sub(int64_t i, atomic64_t *v)
{ return atomic_fetch_sub_explicit(&v->counter, i, memory_order_seq_cst); }
static inline long atomic_long_fetch_add(long i, atomic_long_t *v)
{ return atomic_fetch_add_explicit(&v->counter, i, memory_order_seq_cst); }
static inline long atomic_long_fetch_sub(long i, atomic_long_t *v)
{ return atomic_fetch_sub_explicit(&v->counter, i, memory_order_seq_cst); }

#undef PINMM_ATOMIC_OPS
#undef relaxed__
#undef ordered__

#endif /* PINMM_ATOMIC_H */
