/* SPDX-License-Identifier: MIT */
/*
 * Shared by the MMU notifier tests: a bare mm_struct for unit tests (no
 * machine, no page tables: the notifier API only needs the mmap_lock and the
 * reference counts), and recording subscribers that log what they are told.
 */
#ifndef PINMM_TESTS_MM_NOTIFIER_HELPERS_H
#define PINMM_TESTS_MM_NOTIFIER_HELPERS_H

#include "../base/helpers.h"
#include "../lib/machine.h"

#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * An mm built from the struct: one user, one mm_count reference held by the
 * test, so the mmdrop() of unregister/remove never frees it.
 */
static inline struct mm_struct *bare_mm_new(void)
{
	struct mm_struct *mm = calloc(1, sizeof(*mm));

	if (!mm)
		bail_out("calloc(mm_struct) failed");
	init_rwsem(&mm->mmap_lock, LOCK_RANK_MMAP);
	atomic_init(&mm->mm_users, 1);
	atomic_init(&mm->mm_count, 1);
	return mm;
}

/* What mmdrop() does on the last reference, minus the page tables. */
static inline void bare_mm_free(struct mm_struct *mm)
{
	mmu_notifier_subscriptions_destroy(mm);
	destroy_rwsem(&mm->mmap_lock);
	free(mm);
}

static inline int mm_count_of(struct mm_struct *mm)
{
	return atomic_load(&mm->mm_count);
}

static inline bool range_equal(const struct mmu_notifier_range *a,
			       const struct mmu_notifier_range *b)
{
	return a->mm == b->mm && a->start == b->start && a->end == b->end &&
	       a->event == b->event && a->owner == b->owner;
}

/* ---- a whole-mm subscriber that records its callbacks ------------------------ */

struct rec_notifier {
	struct mmu_notifier mn;
	atomic_int nr_start, nr_end, nr_release;
	struct mmu_notifier_range last_start, last_end;	/* written by one thread at a time */
	unsigned int last_start_flags;
	struct mm_struct *release_mm;
	int start_ret;			/* what invalidate_range_start returns */
	atomic_int *order_log;		/* optional: global event counter */
	int start_order, end_order;
	atomic_int gone;		/* set after unregister returned */
	atomic_int late_calls;		/* callbacks seen with gone set */
};

static inline struct rec_notifier *to_rec(struct mmu_notifier *mn)
{
	return container_of(mn, struct rec_notifier, mn);
}

static inline int rec_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct rec_notifier *r = to_rec(mn);

	if (atomic_load(&r->gone))
		atomic_fetch_add(&r->late_calls, 1);
	r->last_start = *range;
	r->last_start_flags = range->flags;
	if (r->order_log)
		r->start_order = atomic_fetch_add(r->order_log, 1);
	atomic_fetch_add(&r->nr_start, 1);
	return r->start_ret;
}

static inline void rec_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct rec_notifier *r = to_rec(mn);

	if (atomic_load(&r->gone))
		atomic_fetch_add(&r->late_calls, 1);
	r->last_end = *range;
	if (r->order_log)
		r->end_order = atomic_fetch_add(r->order_log, 1);
	atomic_fetch_add(&r->nr_end, 1);
}

static inline void rec_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct rec_notifier *r = to_rec(mn);

	if (atomic_load(&r->gone))
		atomic_fetch_add(&r->late_calls, 1);
	r->release_mm = mm;
	atomic_fetch_add(&r->nr_release, 1);
}

static const struct mmu_notifier_ops rec_ops = {
	.release = rec_release,
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
};

static inline void rec_init(struct rec_notifier *r)
{
	memset(r, 0, sizeof(*r));
	r->mn.ops = &rec_ops;
}

/* ---- an interval subscriber following the driver protocol -------------------- */

struct rec_interval {
	struct mmu_interval_notifier in;
	struct mutex lock;		/* the driver lock */
	atomic_int nr_invalidate;
	struct mmu_notifier_range last;	/* under lock */
	unsigned long last_seq;		/* under lock */
	bool refuse;			/* return false (non-blockable only) */
	atomic_int *order_log;
	int order;
	atomic_int gone;
	atomic_int late_calls;
};

static inline struct rec_interval *to_reci(struct mmu_interval_notifier *in)
{
	return container_of(in, struct rec_interval, in);
}

static inline bool reci_invalidate(struct mmu_interval_notifier *in,
				   const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct rec_interval *r = to_reci(in);

	if (atomic_load(&r->gone))
		atomic_fetch_add(&r->late_calls, 1);
	if (r->refuse && !mmu_notifier_range_blockable(range))
		return false;
	mutex_lock(&r->lock);
	mmu_interval_set_seq(in, cur_seq);
	r->last = *range;
	r->last_seq = cur_seq;
	if (r->order_log)
		r->order = atomic_fetch_add(r->order_log, 1);
	mutex_unlock(&r->lock);
	atomic_fetch_add(&r->nr_invalidate, 1);
	return true;
}

static const struct mmu_interval_notifier_ops reci_ops = {
	.invalidate = reci_invalidate,
};

static inline void reci_init(struct rec_interval *r)
{
	memset(r, 0, sizeof(*r));
	mutex_init(&r->lock, LOCK_RANK_NONE);
}

static inline void reci_destroy(struct rec_interval *r)
{
	mutex_destroy(&r->lock);
}

/* Bracket [start, end) of @mm with @event, as the mm code does. */
static inline void invalidate(struct mm_struct *mm, enum mmu_notifier_event event,
			      unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, event, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

#endif /* PINMM_TESTS_MM_NOTIFIER_HELPERS_H */
