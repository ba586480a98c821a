/* SPDX-License-Identifier: MIT */
/*
 * MMU notifiers: telling a secondary MMU (a device with its own page tables,
 * a hypervisor) that CPU page-table entries of an mm are about to change.
 *
 * Two kinds of subscriber, as in Linux:
 *
 *   struct mmu_notifier           hears about every invalidation of the mm
 *                                 (invalidate_range_start/_end) and about its
 *                                 teardown (release). KVM-style users.
 *   struct mmu_interval_notifier  covers one address interval and hears only
 *                                 about invalidations that overlap it, with a
 *                                 sequence number for the collision-retry
 *                                 protocol below. Page-faulting devices (HMM)
 *                                 use it instead of pinning pages.
 *
 * The code that changes page tables brackets each change:
 *
 *	struct mmu_notifier_range range;
 *
 *	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
 *	mmu_notifier_invalidate_range_start(&range);
 *	... clear or write-protect the entries in [start, end), flush ...
 *	mmu_notifier_invalidate_range_end(&range);
 *
 * Both calls are a pointer test when no one ever subscribed to the mm.
 *
 * Interval notifier protocol (a driver mirroring [start, start + length)):
 *
 *	again:
 *		seq = mmu_interval_read_begin(&sub);	// waits out an invalidation
 *		... read the CPU page tables, e.g. fault pages in ...
 *		mutex_lock(&driver_lock);
 *		if (mmu_interval_read_retry(&sub, seq)) {
 *			mutex_unlock(&driver_lock);
 *			goto again;
 *		}
 *		... program the device page tables ...
 *		mutex_unlock(&driver_lock);
 *
 *	bool invalidate(sub, range, cur_seq)	// the ops->invalidate callback
 *	{
 *		mutex_lock(&driver_lock);	// (a non-blockable range: trylock,
 *						//  return false if that fails)
 *		mmu_interval_set_seq(sub, cur_seq);
 *		... remove the device mappings of the range ...
 *		mutex_unlock(&driver_lock);
 *		return true;
 *	}
 *
 * The mm keeps one invalidate_seq, odd while any invalidation that hit an
 * interval notifier is in progress. set_seq() under the driver lock makes a
 * later read_retry() under the same lock fail, so the device never maps a
 * page that an invalidation has started to remove.
 *
 * Synchronisation table (which calls may run concurrently on one mm):
 *
 *                     register unregister insert remove start/end release
 *   register             yes      yes       yes    yes     (1)     (2)
 *   unregister                    yes       yes    yes     yes     yes
 *   insert                                  yes    yes     yes     (2)
 *   remove                                         yes     yes     yes
 *   start/end                                              yes     yes
 *   read_begin           yes      yes       yes    yes     yes     yes
 *
 *   (1) register takes the mmap_lock for writing, so it never lands between
 *       the start and end of a bracket made under the mmap_lock; brackets made
 *       without it (rmap walks) may give a new subscriber an end without its
 *       start, as in Linux.
 *   (2) the caller holds a user reference (mm_users), so the mm cannot be in
 *       exit_mmap(): registering after mmu_notifier_release() is refused.
 *
 * No notifier lock is held while a callback runs: callbacks of blockable
 * ranges may sleep and take their own locks. Callbacks must not call
 * unregister/remove for their own subscription (that waits for the callback).
 *
 * Lock letters on fields: (c) constant while subscribed, (s) the mm's
 * subscription lock (internal), (a) atomic, (d) the driver's own lock.
 */
#ifndef PINMM_MMU_NOTIFIER_H
#define PINMM_MMU_NOTIFIER_H

#include <pinmm/list.h>
#include <pinmm/mm_types.h>

struct mmu_notifier;
struct mmu_interval_notifier;

/**
 * enum mmu_notifier_event - why entries of the range are changing.
 * @MMU_NOTIFY_UNMAP: the range is unmapped (munmap, mremap, exit).
 * @MMU_NOTIFY_CLEAR: entries are cleared or replaced (MADV_DONTNEED, COW
 *	replacement of a page, THP split, reclaim).
 * @MMU_NOTIFY_PROTECTION_VMA: the VMA's protection changes (mprotect); the
 *	mapping stays, access rights shrink.
 * @MMU_NOTIFY_PROTECTION_PAGE: single pages are write-protected while the
 *	VMA is unchanged (fork's COW setup, writeback's mkclean).
 * @MMU_NOTIFY_SOFT_DIRTY: soft-dirty tracking write-protects entries.
 * @MMU_NOTIFY_RELEASE: the mm is being torn down (mmu_notifier_release());
 *	interval notifiers get it for [0, ULONG_MAX).
 * @MMU_NOTIFY_MIGRATE: pages move to other frames; range->owner names the
 *	device driver that asked, so it can skip its own migration.
 * @MMU_NOTIFY_EXCLUSIVE: entries become device-exclusive entries; owner as
 *	for MIGRATE.
 */
enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP = 0,
	MMU_NOTIFY_CLEAR,
	MMU_NOTIFY_PROTECTION_VMA,
	MMU_NOTIFY_PROTECTION_PAGE,
	MMU_NOTIFY_SOFT_DIRTY,
	MMU_NOTIFY_RELEASE,
	MMU_NOTIFY_MIGRATE,
	MMU_NOTIFY_EXCLUSIVE,
};

/* The callbacks may sleep; set by mmu_notifier_invalidate_range_start(). */
#define MMU_NOTIFIER_RANGE_BLOCKABLE	(1u << 0)

/**
 * struct mmu_notifier_range - one invalidation: [start, end) of mm.
 * @mm: the address space.
 * @start: first byte.
 * @end: first byte after.
 * @flags: MMU_NOTIFIER_RANGE_BLOCKABLE or 0.
 * @event: the reason.
 * @owner: for MIGRATE and EXCLUSIVE: the driver that started it, else NULL.
 * @itree_open: private: start opened an interval bracket that end closes.
 *
 * Lives on the caller's stack from mmu_notifier_range_init() to the end call;
 * callbacks get it const.
 */
struct mmu_notifier_range {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;
	unsigned int flags;
	enum mmu_notifier_event event;
	void *owner;
	bool itree_open;
};

/**
 * struct mmu_notifier_ops - callbacks of a whole-mm subscriber.
 * @release: the mm is going away (exit_mmap()), or the subscriber is being
 *	unregistered: tear down every secondary mapping and stop creating new
 *	ones. Runs exactly once per registration, by whichever of
 *	mmu_notifier_release() and mmu_notifier_unregister() comes first. May
 *	sleep. Optional.
 * @invalidate_range_start: entries of @range are about to change; drop the
 *	secondary mappings of the range and create none until the matching
 *	end. Return 0, or -EAGAIN (only allowed when the range is not
 *	blockable: then nothing stays started and no end follows). May sleep
 *	if mmu_notifier_range_blockable(). Optional.
 * @invalidate_range_end: the change is done; secondary mappings of the
 *	range may be re-created from the new entries. Optional.
 */
struct mmu_notifier_ops {
	void (*release)(struct mmu_notifier *subscription, struct mm_struct *mm);
	int (*invalidate_range_start)(struct mmu_notifier *subscription,
				      const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier *subscription,
				     const struct mmu_notifier_range *range);
};

/**
 * struct mmu_notifier - a whole-mm subscriber, embedded in the driver's object.
 * @ops: (c) set by the driver before mmu_notifier_register().
 * @mm: (c) set by registration.
 * @list: (s) in the mm's subscriber list.
 * @active: (a, changed under s) callbacks running on it, plus walkers parked on it.
 * @released: (s) ->release has been called (or claimed).
 * @dead: (s) unregistering or released by exit: no new callback starts.
 */
struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	struct mm_struct *mm;
	struct list_head list;
	atomic_int active;
	bool released;
	bool dead;
};

/**
 * struct mmu_interval_notifier_ops - callback of an interval subscriber.
 * @invalidate: an invalidation overlapping the interval starts. Take the
 *	driver lock, call mmu_interval_set_seq(@interval_sub, @cur_seq), remove
 *	the device mappings of the range, return true. For a range that is not
 *	blockable, return false instead of sleeping (then the whole
 *	invalidation is abandoned with -EAGAIN). There is no end callback: the
 *	end is seen by mmu_interval_read_begin().
 */
struct mmu_interval_notifier_ops {
	bool (*invalidate)(struct mmu_interval_notifier *interval_sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq);
};

/**
 * struct mmu_interval_notifier - a subscriber for [start, last] of one mm.
 * @start: (c) first byte.
 * @last: (c) last byte (inclusive, so an interval may end at ULONG_MAX).
 * @ops: (c)
 * @mm: (c)
 * @itree_node: (s) in the mm's interval list while @in_tree.
 * @deferred_item: (s) queued to be added or removed when invalidations end.
 * @in_tree: (s)
 * @deferred: (s)
 * @invalidate_seq: (a, written under d) odd sequence of the last
 *	invalidation that hit this interval.
 */
struct mmu_interval_notifier {
	unsigned long start;
	unsigned long last;
	const struct mmu_interval_notifier_ops *ops;
	struct mm_struct *mm;
	struct list_head itree_node;
	struct list_head deferred_item;
	bool in_tree;
	bool deferred;
	atomic_ulong invalidate_seq;
};

/**
 * mm_has_notifiers() - has anyone ever subscribed to @mm?
 * @mm: the address space.
 *
 * An acquire load, pairing with the release store that publishes the
 * subscription object (its lock and lists are then initialised). The field
 * is a plain pointer in struct mm_struct, hence the builtin.
 * Context: any.
 * Return: true once the first register/insert on @mm succeeded.
 */
static inline bool mm_has_notifiers(struct mm_struct *mm)
{
	return unlikely(__atomic_load_n(&mm->notifier_subscriptions, __ATOMIC_ACQUIRE) != NULL);
}

/* mm_alloc(): a new mm has no subscriptions. */
static inline void mmu_notifier_subscriptions_init(struct mm_struct *mm)
{
	mm->notifier_subscriptions = NULL;
}

/**
 * __mmu_notifier_subscriptions_destroy() - free the subscription object of @mm.
 * @mm: an mm whose last mm_count reference is being dropped.
 *
 * Every subscriber is gone by then: each holds an mm_count reference until
 * its unregister/remove returns. Leftovers are reported (WARN) and leaked.
 * Context: the last mmdrop(); no concurrent user of @mm.
 */
void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm);

/* mmdrop() on the last reference calls this before freeing the mm_struct. */
static inline void mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	if (mm_has_notifiers(mm))
		__mmu_notifier_subscriptions_destroy(mm);
}

/**
 * mmu_notifier_range_init() - describe an invalidation of [@start, @end) of @mm.
 * @range: the caller's range.
 * @event: why.
 * @flags: 0 (mmu_notifier_invalidate_range_start() sets BLOCKABLE itself).
 * @mm: the address space.
 * @start: first byte.
 * @end: first byte after.
 *
 * Context: any.
 */
static inline void mmu_notifier_range_init(struct mmu_notifier_range *range,
					   enum mmu_notifier_event event, unsigned int flags,
					   struct mm_struct *mm, unsigned long start,
					   unsigned long end)
{
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->flags = flags;
	range->event = event;
	range->owner = NULL;
	range->itree_open = false;
}

/* mmu_notifier_range_init() plus the owner of a MIGRATE/EXCLUSIVE event. */
static inline void mmu_notifier_range_init_owner(struct mmu_notifier_range *range,
						 enum mmu_notifier_event event,
						 unsigned int flags, struct mm_struct *mm,
						 unsigned long start, unsigned long end,
						 void *owner)
{
	mmu_notifier_range_init(range, event, flags, mm, start, end);
	range->owner = owner;
}

/* May the callbacks of @range sleep? */
static inline bool mmu_notifier_range_blockable(const struct mmu_notifier_range *range)
{
	return range->flags & MMU_NOTIFIER_RANGE_BLOCKABLE;
}

/* The out-of-line halves of the inline calls below; call those instead. */
int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range);
void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range);
void __mmu_notifier_release(struct mm_struct *mm);

/**
 * mmu_notifier_invalidate_range_start() - the entries of @range are about to change.
 * @range: from mmu_notifier_range_init(); marked BLOCKABLE here.
 *
 * Calls, in this order, ops->invalidate of every interval notifier that
 * overlaps [start, end) (the mm's invalidate_seq turns odd first if one
 * does), then ops->invalidate_range_start of every whole-mm subscriber.
 * Until the matching mmu_notifier_invalidate_range_end(), read_begin on an
 * interval notifier that was hit waits. A no-op if no one ever subscribed.
 * Context: may sleep (the callbacks may); no spinlock held. The caller
 * holds the mmap_lock or, on rmap paths, the folio lock and keeps @mm
 * alive. Takes and drops the internal subscription lock.
 */
static inline void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	if (mm_has_notifiers(range->mm)) {
		range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
		__mmu_notifier_invalidate_range_start(range);
	}
}

/**
 * mmu_notifier_invalidate_range_start_nonblock() - start, for a caller that
 * cannot sleep (the OOM reaper).
 * @range: from mmu_notifier_range_init(); BLOCKABLE is cleared here.
 *
 * Callbacks must not sleep and may refuse (-EAGAIN / false). On refusal,
 * what had been started is ended again and the caller must NOT call
 * mmu_notifier_invalidate_range_end().
 * Context: any; takes the internal subscription lock.
 * Return: 0, or -EAGAIN.
 */
static inline int __must_check
mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range)
{
	if (!mm_has_notifiers(range->mm))
		return 0;
	range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
	return __mmu_notifier_invalidate_range_start(range);
}

/**
 * mmu_notifier_invalidate_range_end() - the change announced by start is done.
 * @range: the range passed to the successful start call.
 *
 * Ends the interval bracket (the last active invalidation makes
 * invalidate_seq even, applies queued inserts/removals and wakes
 * read_begin() waiters), then calls ops->invalidate_range_end of every
 * whole-mm subscriber.
 * Context: as for the start call.
 */
static inline void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	if (mm_has_notifiers(range->mm))
		__mmu_notifier_invalidate_range_end(range);
}

/**
 * mmu_notifier_release() - the mm is being torn down: exit_mmap() calls this
 * before unmapping anything.
 * @mm: the mm; its last user is gone.
 *
 * Interval notifiers get one MMU_NOTIFY_RELEASE invalidation of
 * [0, ULONG_MAX) (they stay inserted until the driver removes them, and see
 * the UNMAP invalidations of the teardown like any other). Every whole-mm
 * subscriber whose ->release has not run gets it, once; then all of them
 * are unlinked and, when this returns, no callback of theirs is running or
 * will run again.
 * Context: may sleep (waits for running callbacks); must not be called from
 * a callback. Locks: takes only the internal subscription lock.
 */
static inline void mmu_notifier_release(struct mm_struct *mm)
{
	if (mm_has_notifiers(mm))
		__mmu_notifier_release(mm);
}

/**
 * mmu_notifier_register() - subscribe @subscription to every invalidation of @mm.
 * @subscription: with ->ops set; not registered anywhere.
 * @mm: the address space; the caller holds a user reference (mm_users).
 *
 * Allocates the mm's subscription object on first use. Takes an mm_count
 * reference (mmgrab()) that mmu_notifier_unregister() drops, so unregister
 * is safe before or after the mm's exit; it must always be called.
 * Context: may sleep; takes @mm's mmap_lock for writing, then the internal
 * subscription lock. The caller must not hold the mmap_lock.
 * Return: 0; -ENOMEM; -EINVAL (and a WARN) for a NULL subscription or ops,
 * or an mm whose users are all gone.
 */
int mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm);

/**
 * __mmu_notifier_register() - mmu_notifier_register() for a caller that
 * already holds @mm's mmap_lock for writing.
 * @subscription: as for mmu_notifier_register().
 * @mm: as for mmu_notifier_register().
 *
 * Context: may sleep; mmap_lock held for writing (checked in debug builds).
 * Return: as for mmu_notifier_register().
 */
int __mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm);

/**
 * mmu_notifier_unregister() - stop @subscription's callbacks for good.
 * @subscription: registered on @mm.
 * @mm: the mm it was registered on.
 *
 * Calls ->release if mmu_notifier_release() has not (so the driver tears
 * down in one place), stops new callbacks, waits for running ones, unlinks,
 * and drops the registration's mm_count reference. When it returns, no
 * callback for @subscription is running or will run: the caller may free it.
 * Context: may sleep; must not be called from one of @subscription's own
 * callbacks, nor holding a lock they take. Takes the internal subscription
 * lock; may free @mm (last mmdrop()).
 */
void mmu_notifier_unregister(struct mmu_notifier *subscription, struct mm_struct *mm);

/**
 * mmu_interval_notifier_insert() - subscribe @interval_sub to invalidations
 * of [@start, @start + @length) of @mm.
 * @interval_sub: the caller's notifier, not inserted anywhere.
 * @mm: the address space; the caller holds a user reference (mm_users).
 * @start: first byte.
 * @length: bytes, at least 1.
 * @ops: its callback.
 *
 * While an invalidation is in progress, the new notifier counts as hit by
 * it: the first mmu_interval_read_begin() waits until it ends. Takes an
 * mm_count reference that mmu_interval_notifier_remove() drops.
 * Context: may sleep; takes @mm's mmap_lock for writing the first time
 * anyone subscribes to @mm (so must not be called holding it: use
 * mmu_interval_notifier_insert_locked()), then the internal lock.
 * Return: 0; -EINVAL for a zero length or an interval past ULONG_MAX
 * (Linux returns -EOVERFLOW there), or misuse (WARN); -ENOMEM.
 */
int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops);

/**
 * mmu_interval_notifier_insert_locked() - insert, the caller holding @mm's
 * mmap_lock for writing.
 * @interval_sub: as for mmu_interval_notifier_insert().
 * @mm: as for mmu_interval_notifier_insert().
 * @start: as for mmu_interval_notifier_insert().
 * @length: as for mmu_interval_notifier_insert().
 * @ops: as for mmu_interval_notifier_insert().
 *
 * Context: may sleep; mmap_lock held for writing (checked in debug builds).
 * Return: as for mmu_interval_notifier_insert().
 */
int mmu_interval_notifier_insert_locked(struct mmu_interval_notifier *interval_sub,
					struct mm_struct *mm, unsigned long start,
					unsigned long length,
					const struct mmu_interval_notifier_ops *ops);

/**
 * mmu_interval_notifier_remove() - unsubscribe @interval_sub.
 * @interval_sub: inserted with mmu_interval_notifier_insert().
 *
 * If invalidations are in progress, the removal is queued and this waits
 * until the last of them ends. When it returns, ops->invalidate is not
 * running for @interval_sub and will not be called again: it may be freed.
 * Context: may sleep; must not be called from @interval_sub's own callback
 * nor holding a lock it takes. May free the mm (last mmdrop()).
 */
void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub);

/**
 * mmu_interval_read_begin() - start a read of the CPU page tables covered by
 * @interval_sub.
 * @interval_sub: an inserted notifier.
 *
 * If an invalidation that hit @interval_sub is still in progress, waits
 * until every active invalidation of the mm has ended (invalidate_seq turns
 * even). Pair with mmu_interval_read_retry() under the driver lock.
 * Context: may sleep; must not hold the driver lock (the invalidate callback
 * takes it) nor any lock held across start/end by the mm code (mmap_lock).
 * Return: the sequence to pass to mmu_interval_read_retry().
 */
unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub);

/**
 * mmu_interval_read_retry() - did an invalidation hit @interval_sub since
 * mmu_interval_read_begin() returned @seq?
 * @interval_sub: the notifier.
 * @seq: from mmu_interval_read_begin().
 *
 * Exact when called under the driver lock that the invalidate callback takes
 * around mmu_interval_set_seq(): false means the pages read since @seq may be
 * mapped into the device before the lock is dropped.
 * Context: driver lock held.
 * Return: true if the read must be retried.
 */
static inline bool mmu_interval_read_retry(struct mmu_interval_notifier *interval_sub,
					   unsigned long seq)
{
	return atomic_load_explicit(&interval_sub->invalidate_seq, memory_order_relaxed) != seq;
}

/**
 * mmu_interval_check_retry() - mmu_interval_read_retry() without the driver
 * lock, to give up early on a read that is already stale.
 * @interval_sub: the notifier.
 * @seq: from mmu_interval_read_begin().
 *
 * True is reliable; false is only a hint (an invalidation may start right
 * after): the final check must be mmu_interval_read_retry() under the lock.
 * Context: any.
 * Return: true if an invalidation hit the interval since @seq.
 */
static inline bool mmu_interval_check_retry(struct mmu_interval_notifier *interval_sub,
					    unsigned long seq)
{
	return atomic_load_explicit(&interval_sub->invalidate_seq, memory_order_relaxed) != seq;
}

/**
 * mmu_interval_set_seq() - record, from the invalidate callback, that the
 * invalidation with @cur_seq hit @interval_sub.
 * @interval_sub: the notifier passed to the callback.
 * @cur_seq: the callback's cur_seq argument.
 *
 * Makes every later read_retry() with an older sequence return true, and
 * read_begin() wait until this invalidation ends.
 * Context: inside ops->invalidate, under the driver lock.
 */
static inline void mmu_interval_set_seq(struct mmu_interval_notifier *interval_sub,
					unsigned long cur_seq)
{
	atomic_store_explicit(&interval_sub->invalidate_seq, cur_seq, memory_order_relaxed);
}

#endif /* PINMM_MMU_NOTIFIER_H */
