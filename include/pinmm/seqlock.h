/* SPDX-License-Identifier: MIT */
/*
 * Sequence counters (Linux seqcount_t): a writer makes the count odd while it
 * changes the protected state; a reader samples an even count, reads, and
 * retries (or backs off) if the count moved. Writers must exclude each other
 * by other means (for mm->write_protect_seq: the mmap write lock).
 */
#ifndef PINMM_SEQLOCK_H
#define PINMM_SEQLOCK_H

#include <pinmm/bug.h>

typedef struct {
	atomic_uint sequence;
} seqcount_t;

static inline void seqcount_init(seqcount_t *s)
{
	atomic_init(&s->sequence, 0);
}

/*
 * Make the count odd. The full fence orders the odd count before the writes
 * it covers (a reader that sees one of them sees the odd count on retry), and
 * before the writer's later loads too: fork makes write_protect_seq odd, then
 * reads pin counts, while GUP-fast takes a pin (a locked RMW: a full barrier
 * on x86, which smp_mb__after_atomic() relies on) and re-checks.
 *
 * Under -fsanitize=thread GCC rejects atomic_thread_fence() in a function that
 * gets inlined (-Wtsan, an error with -Werror), and TSan does not model fences
 * anyway; TSan builds use a seq_cst RMW instead, a full fence on x86, the only
 * target of those builds.
 */
static inline void raw_write_seqcount_begin(seqcount_t *s)
{
#ifdef PINMM_TSAN
	atomic_fetch_add_explicit(&s->sequence, 1, memory_order_seq_cst);
#else
	atomic_fetch_add_explicit(&s->sequence, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

static inline void raw_write_seqcount_end(seqcount_t *s)
{
	atomic_fetch_add_explicit(&s->sequence, 1, memory_order_release);
}

#define write_seqcount_begin(s)	raw_write_seqcount_begin(s)
#define write_seqcount_end(s)	raw_write_seqcount_end(s)

/* The count as it is, odd or even: for assertions about the writer's state. */
static inline unsigned int raw_read_seqcount(const seqcount_t *s)
{
	return atomic_load_explicit(&((seqcount_t *)s)->sequence, memory_order_relaxed);
}

/* Wait for an even count, then return it. */
static inline unsigned int read_seqcount_begin(const seqcount_t *s)
{
	unsigned int seq;

	while ((seq = atomic_load_explicit(&((seqcount_t *)s)->sequence,
					   memory_order_acquire)) & 1)
		cpu_relax();
	return seq;
}

/*
 * Sample the count without waiting: false if a writer is active. GUP-fast
 * uses this to back off immediately while fork write-protects.
 */
static inline bool raw_seqcount_try_begin(const seqcount_t *s, unsigned int *start)
{
	*start = atomic_load_explicit(&((seqcount_t *)s)->sequence, memory_order_acquire);
	return !(*start & 1);
}

/*
 * Did a writer run since @start? Orders the reader's loads before the check;
 * it does not order the reader's earlier stores (a reader that needs that, as
 * GUP-fast after taking a pin, whose locked RMW is the full barrier). The protected data must
 * be read with atomic (READ_ONCE) loads: a racing writer may be changing it.
 */
static inline bool read_seqcount_retry(const seqcount_t *s, unsigned int start)
{
#ifdef PINMM_TSAN
	/* An RMW that releases orders the loads before it (no fence under TSan). */
	return atomic_fetch_add_explicit(&((seqcount_t *)s)->sequence, 0,
					 memory_order_acq_rel) != start;
#else
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&((seqcount_t *)s)->sequence,
				    memory_order_relaxed) != start;
#endif
}

#endif /* PINMM_SEQLOCK_H */
