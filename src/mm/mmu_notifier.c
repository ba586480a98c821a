// SPDX-License-Identifier: MIT
/*
 * MMU notifiers (see include/pinmm/mmu_notifier.h for the API and the
 * synchronisation table).
 *
 * One struct mmu_notifier_subscriptions per mm, allocated on the first
 * subscription under the mmap write lock and published with a release store,
 * freed by the last mmdrop(). Its spinlock is a leaf: nothing else is taken
 * under it and no callback runs under it, so invalidations may be started
 * with folio, anon_vma or i_mmap locks held (rmap walks) and callbacks may
 * sleep.
 *
 * Whole-mm subscribers: a list walked with a hand-over-hand reference
 * instead of Linux's SRCU. A walker takes the lock, pins the next live
 * subscriber (sub->active++), drops the lock and runs the callback, then
 * re-takes the lock to step on and unpin. A pinned subscriber stays linked,
 * so its ->next is valid under the lock. Unregister marks the subscriber
 * dead (walkers skip it from then on), waits for active to drain and unlinks
 * it. A waiter that cannot own the subscriber's memory (exit's release
 * racing an unregister) pins it itself while it waits.
 *
 * Interval subscribers: Linux's collision-retry protocol with a linear list
 * instead of an interval tree (O(interval subscribers) per invalidation;
 * the count per mm is small here). While any invalidation is active
 * (active_invalidate_ranges > 0) and one of them hit an interval
 * (invalidate_seq odd), the list is frozen: walkers read it without the lock,
 * and inserts and removals are queued on deferred_list and applied by the
 * last invalidation to end, which then makes invalidate_seq even and wakes
 * mmu_interval_read_begin() and mmu_interval_notifier_remove() waiters.
 * Unlike Linux, every start/end bracket is counted (not only once an
 * interval exists), so an insert that races a bracket already in progress
 * always sees it and makes the new notifier wait for its end.
 */
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/task.h>
#include <pinmm/wait.h>
#include <pinmm/slab.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/*
 * Lock letters: (s) lock, (a) atomic, (S) lock to write, atomic to read
 * without it.
 */
struct mmu_notifier_subscriptions {
	spinlock_t lock;
	struct list_head list;			/* (s) struct mmu_notifier */
	bool released;				/* (s) mmu_notifier_release() ran */
	/* interval notifiers */
	struct list_head itree;			/* (s, frozen while seq odd) */
	struct list_head deferred_list;		/* (s) queued inserts/removals */
	unsigned long active_invalidate_ranges;	/* (s) open start/end brackets */
	atomic_ulong invalidate_seq;		/* (S) odd: an interval was hit */
};

static struct mmu_notifier_subscriptions *mn_subscriptions(struct mm_struct *mm)
{
	return __atomic_load_n(&mm->notifier_subscriptions, __ATOMIC_ACQUIRE);
}

/* Allocate and publish the subscription object of @mm if it has none. */
static int mn_subscriptions_get_locked(struct mm_struct *mm,
				       struct mmu_notifier_subscriptions **out)
{
	struct mmu_notifier_subscriptions *subs;

	mmap_assert_write_locked(mm);
	subs = __atomic_load_n(&mm->notifier_subscriptions, __ATOMIC_RELAXED);
	if (!subs) {
		subs = kzalloc(sizeof(*subs), GFP_KERNEL);
		if (!subs)
			return -ENOMEM;
		spin_lock_init(&subs->lock, LOCK_RANK_LEAF);
		INIT_LIST_HEAD(&subs->list);
		INIT_LIST_HEAD(&subs->itree);
		INIT_LIST_HEAD(&subs->deferred_list);
		/* Even, and above 1 so that "seq - 1" of a new interval is odd and unused. */
		atomic_init(&subs->invalidate_seq, 2);
		__atomic_store_n(&mm->notifier_subscriptions, subs, __ATOMIC_RELEASE);
	}
	*out = subs;
	return 0;
}

static bool mm_has_users(struct mm_struct *mm)
{
	return atomic_load_explicit(&mm->mm_users, memory_order_relaxed) > 0;
}

/* ---- whole-mm subscribers ------------------------------------------------ */

/*
 * The first subscriber at list position @pos or after it that callbacks may
 * still reach (or, with @unreleased, whose ->release has not been claimed);
 * NULL at the end of the list or on reaching @stop.
 */
static struct mmu_notifier *mn_next_from(struct mmu_notifier_subscriptions *subs,
					 struct list_head *pos, struct mmu_notifier *stop,
					 bool unreleased)
{
	lockdep_assert_held(&subs->lock);
	for (; pos != &subs->list; pos = pos->next) {
		struct mmu_notifier *sub = list_entry(pos, struct mmu_notifier, list);

		if (sub == stop)
			return NULL;
		if (unreleased ? !sub->released : !sub->dead)
			return sub;
	}
	return NULL;
}

static struct mmu_notifier *mn_live_from(struct mmu_notifier_subscriptions *subs,
					 struct list_head *pos, struct mmu_notifier *stop)
{
	return mn_next_from(subs, pos, stop, false);
}

static void mn_pin_locked(struct mmu_notifier *sub)
{
	atomic_fetch_add_explicit(&sub->active, 1, memory_order_relaxed);
}

/*
 * Drop a pin. Return true if someone may be waiting for the pins of @sub to
 * drain: then wake_up_var(subs) once the lock is dropped. @sub itself may be
 * freed as soon as the lock is dropped, so waits are keyed on @subs.
 */
static bool mn_unpin_locked(struct mmu_notifier *sub)
{
	atomic_fetch_sub_explicit(&sub->active, 1, memory_order_relaxed);
	return sub->dead;
}

static int mn_active(struct mmu_notifier *sub)
{
	return atomic_load_explicit(&sub->active, memory_order_relaxed);
}

/*
 * Wait, lock held, until @sub has at most @own pins (the caller's own).
 * Drops and re-takes the lock. @sub is dead, so no new pin appears.
 */
static void mn_wait_pins_locked(struct mmu_notifier_subscriptions *subs,
				struct mmu_notifier *sub, int own)
{
	while (mn_active(sub) > own) {
		spin_unlock(&subs->lock);
		wait_var_event(subs, mn_active(sub) <= own);
		spin_lock(&subs->lock);
	}
}

/*
 * Call ->invalidate_range_end of live subscribers from the head of the list
 * up to, not including, @stop (NULL: all of them).
 */
static void mn_list_invalidate_end(struct mmu_notifier_subscriptions *subs,
				   const struct mmu_notifier_range *range,
				   struct mmu_notifier *stop)
{
	struct mmu_notifier *sub, *next;
	bool wake = false;

	spin_lock(&subs->lock);
	sub = mn_live_from(subs, subs->list.next, stop);
	while (sub) {
		mn_pin_locked(sub);
		spin_unlock(&subs->lock);
		if (sub->ops->invalidate_range_end)
			sub->ops->invalidate_range_end(sub, range);
		spin_lock(&subs->lock);
		next = mn_live_from(subs, sub->list.next, stop);
		wake |= mn_unpin_locked(sub);
		sub = next;
	}
	spin_unlock(&subs->lock);
	if (wake)
		wake_up_var(subs);
}

static int mn_list_invalidate_start(struct mmu_notifier_subscriptions *subs,
				    const struct mmu_notifier_range *range)
{
	struct mmu_notifier *sub, *next;
	bool wake = false;
	int ret = 0;

	spin_lock(&subs->lock);
	sub = mn_live_from(subs, subs->list.next, NULL);
	while (sub) {
		mn_pin_locked(sub);
		spin_unlock(&subs->lock);
		if (sub->ops->invalidate_range_start) {
			ret = sub->ops->invalidate_range_start(sub, range);
			/* A blockable start cannot fail: its caller will call end. */
			if (ret && WARN_ON_ONCE(mmu_notifier_range_blockable(range)))
				ret = 0;
			if (ret) {
				WARN_ON_ONCE(ret != -EAGAIN);
				ret = -EAGAIN;
				break;	/* keep @sub pinned: it marks where to stop */
			}
		}
		spin_lock(&subs->lock);
		next = mn_live_from(subs, sub->list.next, NULL);
		wake |= mn_unpin_locked(sub);
		sub = next;
	}
	if (!ret) {
		spin_unlock(&subs->lock);
		if (wake)
			wake_up_var(subs);
		return 0;
	}
	/*
	 * A non-blockable start was refused: the caller will not call end, so
	 * end those that started. @sub stays pinned (hence linked) meanwhile;
	 * subscribers are appended, so all that started come before it.
	 */
	if (wake)
		wake_up_var(subs);
	mn_list_invalidate_end(subs, range, sub);
	spin_lock(&subs->lock);
	wake = mn_unpin_locked(sub);
	spin_unlock(&subs->lock);
	if (wake)
		wake_up_var(subs);
	return ret;
}

/* ---- interval subscribers -------------------------------------------------- */

static bool mn_itree_is_invalidating(struct mmu_notifier_subscriptions *subs)
{
	return atomic_load_explicit(&subs->invalidate_seq, memory_order_relaxed) & 1;
}

static bool mn_interval_overlaps(const struct mmu_interval_notifier *isub,
				 const struct mmu_notifier_range *range)
{
	return isub->start < range->end && isub->last >= range->start;
}

/* The first interval at or after @pos that overlaps @range. */
static struct mmu_interval_notifier *
mn_itree_overlap_from(struct mmu_notifier_subscriptions *subs, struct list_head *pos,
		      const struct mmu_notifier_range *range)
{
	for (; pos != &subs->itree; pos = pos->next) {
		struct mmu_interval_notifier *isub =
			list_entry(pos, struct mmu_interval_notifier, itree_node);

		if (mn_interval_overlaps(isub, range))
			return isub;
	}
	return NULL;
}

/*
 * Open a bracket. If an interval overlaps, the sequence turns odd, which
 * freezes the list until the last bracket closes: the caller then walks it
 * without the lock from the returned interval on.
 */
static struct mmu_interval_notifier *
mn_itree_inv_start_range(struct mmu_notifier_subscriptions *subs,
			 const struct mmu_notifier_range *range, unsigned long *seq)
{
	struct mmu_interval_notifier *first;
	unsigned long cur;

	spin_lock(&subs->lock);
	subs->active_invalidate_ranges++;
	first = mn_itree_overlap_from(subs, subs->itree.next, range);
	cur = atomic_load_explicit(&subs->invalidate_seq, memory_order_relaxed);
	if (first && !(cur & 1)) {
		cur |= 1;
		atomic_store_explicit(&subs->invalidate_seq, cur, memory_order_relaxed);
	}
	*seq = cur;
	spin_unlock(&subs->lock);
	return first;
}

/*
 * Close a bracket. The last one to close after an interval was hit applies
 * the queued inserts and removals, then turns the sequence even (release:
 * a waiter that sees it finds the list updated, and a removed notifier is
 * no longer touched here) and wakes the waiters.
 */
static void mn_itree_inv_end(struct mmu_notifier_subscriptions *subs)
{
	struct mmu_interval_notifier *isub, *tmp;
	unsigned long seq;

	spin_lock(&subs->lock);
	VM_BUG_ON(subs->active_invalidate_ranges == 0);
	if (--subs->active_invalidate_ranges || !mn_itree_is_invalidating(subs)) {
		spin_unlock(&subs->lock);
		return;
	}
	list_for_each_entry_safe(isub, tmp, &subs->deferred_list, deferred_item) {
		if (isub->in_tree)
			list_del_init(&isub->itree_node);
		else
			list_add_tail(&isub->itree_node, &subs->itree);
		isub->in_tree = !isub->in_tree;
		isub->deferred = false;
		list_del_init(&isub->deferred_item);
	}
	seq = atomic_load_explicit(&subs->invalidate_seq, memory_order_relaxed);
	atomic_store_explicit(&subs->invalidate_seq, seq + 1, memory_order_release);
	spin_unlock(&subs->lock);
	wake_up_var(&subs->invalidate_seq);
}

/*
 * Open a bracket and call every overlapping interval. On a refusal (only
 * legal for non-blockable ranges) the bracket is closed again.
 */
static int mn_itree_invalidate(struct mmu_notifier_subscriptions *subs,
			       struct mmu_notifier_range *range)
{
	struct mmu_interval_notifier *isub;
	unsigned long cur_seq;

	range->itree_open = true;
	for (isub = mn_itree_inv_start_range(subs, range, &cur_seq); isub;
	     isub = mn_itree_overlap_from(subs, isub->itree_node.next, range)) {
		if (isub->ops->invalidate(isub, range, cur_seq))
			continue;
		if (WARN_ON_ONCE(mmu_notifier_range_blockable(range)))
			continue;
		range->itree_open = false;
		mn_itree_inv_end(subs);
		return -EAGAIN;
	}
	return 0;
}

/* ---- start / end / release --------------------------------------------------- */

int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subs = mn_subscriptions(range->mm);
	int ret;

	if (WARN_ON_ONCE(range->itree_open))	/* started twice */
		return 0;
	ret = mn_itree_invalidate(subs, range);
	if (ret)
		return ret;
	ret = mn_list_invalidate_start(subs, range);
	if (ret) {
		range->itree_open = false;
		mn_itree_inv_end(subs);
	}
	return ret;
}

void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subs = mn_subscriptions(range->mm);

	/* A start that found no subscriptions (they came later) opened nothing. */
	if (range->itree_open) {
		range->itree_open = false;
		mn_itree_inv_end(subs);
	}
	mn_list_invalidate_end(subs, range, NULL);
}

static void mn_itree_release(struct mmu_notifier_subscriptions *subs, struct mm_struct *mm)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_RELEASE, MMU_NOTIFIER_RANGE_BLOCKABLE,
				mm, 0, ULONG_MAX);
	mn_itree_invalidate(subs, &range);
	mn_itree_inv_end(subs);
}

void __mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mn_subscriptions(mm);
	struct mmu_notifier *sub, *next;
	bool wake = false;

	mn_itree_release(subs, mm);

	/* Every subscriber not yet released gets ->release, once. */
	spin_lock(&subs->lock);
	subs->released = true;
	sub = mn_next_from(subs, subs->list.next, NULL, true);
	while (sub) {
		sub->released = true;
		mn_pin_locked(sub);
		spin_unlock(&subs->lock);
		if (sub->ops->release)
			sub->ops->release(sub, mm);
		spin_lock(&subs->lock);
		next = mn_next_from(subs, sub->list.next, NULL, true);
		wake |= mn_unpin_locked(sub);
		sub = next;
	}

	/*
	 * Then no callback may start any more; wait for running ones and
	 * unlink. The pin keeps a subscriber that unregister is waiting for
	 * from being freed under our wait.
	 */
	while (!list_empty(&subs->list)) {
		sub = list_first_entry(&subs->list, struct mmu_notifier, list);
		sub->dead = true;
		mn_pin_locked(sub);
		if (wake) {
			spin_unlock(&subs->lock);
			wake_up_var(subs);
			wake = false;
			spin_lock(&subs->lock);
		}
		mn_wait_pins_locked(subs, sub, 1);
		list_del_init(&sub->list);
		wake |= mn_unpin_locked(sub);
	}
	spin_unlock(&subs->lock);
	if (wake)
		wake_up_var(subs);
}

/* ---- registration ------------------------------------------------------------ */

int __mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs;
	int ret;

	mmap_assert_write_locked(mm);
	if (WARN_ON_ONCE(!subscription || !subscription->ops) || WARN_ON_ONCE(!mm_has_users(mm)))
		return -EINVAL;
	ret = mn_subscriptions_get_locked(mm, &subs);
	if (ret)
		return ret;

	mmgrab(mm);
	subscription->mm = mm;
	atomic_init(&subscription->active, 0);
	subscription->released = false;
	subscription->dead = false;
	spin_lock(&subs->lock);
	if (WARN_ON_ONCE(subs->released)) {
		spin_unlock(&subs->lock);
		mmdrop(mm);
		return -EINVAL;
	}
	/* At the tail: a walk's refusal path relies on that order. */
	list_add_tail(&subscription->list, &subs->list);
	spin_unlock(&subs->lock);
	return 0;
}

int mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm)
{
	int ret;

	mmap_write_lock(mm);
	ret = __mmu_notifier_register(subscription, mm);
	mmap_write_unlock(mm);
	return ret;
}

void mmu_notifier_unregister(struct mmu_notifier *subscription, struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mn_subscriptions(mm);
	bool call_release, wake;

	if (WARN_ON_ONCE(!subs || subscription->mm != mm))
		return;

	spin_lock(&subs->lock);
	subscription->dead = true;
	call_release = !subscription->released;
	subscription->released = true;
	if (call_release)
		mn_pin_locked(subscription);	/* exit's release waits for it */
	spin_unlock(&subs->lock);

	if (call_release) {
		if (subscription->ops->release)
			subscription->ops->release(subscription, mm);
		spin_lock(&subs->lock);
		wake = mn_unpin_locked(subscription);
		spin_unlock(&subs->lock);
		if (wake)
			wake_up_var(subs);
	}

	spin_lock(&subs->lock);
	mn_wait_pins_locked(subs, subscription, 0);
	if (!list_empty(&subscription->list))
		list_del_init(&subscription->list);
	spin_unlock(&subs->lock);

	mmdrop(mm);	/* the registration's reference; may free @mm */
}

static int __mmu_interval_notifier_insert(struct mmu_interval_notifier *isub,
					  struct mm_struct *mm,
					  struct mmu_notifier_subscriptions *subs,
					  unsigned long start, unsigned long length,
					  const struct mmu_interval_notifier_ops *ops)
{
	unsigned long seq;

	isub->mm = mm;
	isub->ops = ops;
	isub->start = start;
	isub->last = start + (length - 1);
	INIT_LIST_HEAD(&isub->itree_node);
	INIT_LIST_HEAD(&isub->deferred_item);
	isub->in_tree = false;
	isub->deferred = false;

	mmgrab(mm);
	spin_lock(&subs->lock);
	seq = atomic_load_explicit(&subs->invalidate_seq, memory_order_relaxed);
	if (subs->active_invalidate_ranges) {
		/*
		 * A bracket in progress may cover the interval without having
		 * seen it: count the new notifier as hit, so read_begin waits
		 * for the end. A frozen list gets the insert queued.
		 */
		if (seq & 1) {
			list_add_tail(&isub->deferred_item, &subs->deferred_list);
			isub->deferred = true;
		} else {
			seq |= 1;
			atomic_store_explicit(&subs->invalidate_seq, seq, memory_order_relaxed);
			list_add_tail(&isub->itree_node, &subs->itree);
			isub->in_tree = true;
		}
		atomic_init(&isub->invalidate_seq, seq);
	} else {
		WARN_ON_ONCE(seq & 1);
		/* Odd, and not a value the mm's sequence will reach soon. */
		atomic_init(&isub->invalidate_seq, seq - 1);
		list_add_tail(&isub->itree_node, &subs->itree);
		isub->in_tree = true;
	}
	spin_unlock(&subs->lock);
	return 0;
}

static bool mn_interval_args_bad(struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops)
{
	if (length == 0 || start + (length - 1) < start)
		return true;
	return WARN_ON_ONCE(!ops || !ops->invalidate) || WARN_ON_ONCE(!mm_has_users(mm));
}

int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs;
	int ret;

	if (mn_interval_args_bad(mm, start, length, ops))
		return -EINVAL;
	subs = mn_subscriptions(mm);
	if (!subs) {
		/* The first subscription of an mm is published under the mmap_lock. */
		mmap_write_lock(mm);
		ret = mn_subscriptions_get_locked(mm, &subs);
		mmap_write_unlock(mm);
		if (ret)
			return ret;
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subs, start, length, ops);
}

int mmu_interval_notifier_insert_locked(struct mmu_interval_notifier *interval_sub,
					struct mm_struct *mm, unsigned long start,
					unsigned long length,
					const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs;
	int ret;

	mmap_assert_write_locked(mm);
	if (mn_interval_args_bad(mm, start, length, ops))
		return -EINVAL;
	ret = mn_subscriptions_get_locked(mm, &subs);
	if (ret)
		return ret;
	return __mmu_interval_notifier_insert(interval_sub, mm, subs, start, length, ops);
}

void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub)
{
	struct mm_struct *mm = interval_sub->mm;
	struct mmu_notifier_subscriptions *subs = mn_subscriptions(mm);
	unsigned long wait_seq = 0;

	spin_lock(&subs->lock);
	if (mn_itree_is_invalidating(subs)) {
		if (interval_sub->deferred) {
			/* Its insert is still queued: cancel it, nothing ran on it. */
			WARN_ON_ONCE(interval_sub->in_tree);
			list_del_init(&interval_sub->deferred_item);
			interval_sub->deferred = false;
		} else {
			WARN_ON_ONCE(!interval_sub->in_tree);
			list_add_tail(&interval_sub->deferred_item, &subs->deferred_list);
			interval_sub->deferred = true;
			wait_seq = atomic_load_explicit(&subs->invalidate_seq,
							memory_order_relaxed);
		}
	} else {
		WARN_ON_ONCE(!interval_sub->in_tree || interval_sub->deferred);
		list_del_init(&interval_sub->itree_node);
		interval_sub->in_tree = false;
	}
	spin_unlock(&subs->lock);

	/* Callbacks run only inside brackets; the queued removal lands when they end. */
	if (wait_seq)
		wait_var_event(&subs->invalidate_seq,
			       atomic_load_explicit(&subs->invalidate_seq,
						    memory_order_acquire) != wait_seq);

	mmdrop(mm);	/* the insert's reference; may free @mm */
}

unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub)
{
	struct mmu_notifier_subscriptions *subs = mn_subscriptions(interval_sub->mm);
	unsigned long seq;
	bool is_invalidating;

	/*
	 * The notifier's sequence equals the mm's odd sequence exactly when an
	 * invalidation still in progress hit it (set_seq) or it was inserted
	 * during one.
	 */
	spin_lock(&subs->lock);
	seq = atomic_load_explicit(&interval_sub->invalidate_seq, memory_order_relaxed);
	is_invalidating = seq == atomic_load_explicit(&subs->invalidate_seq,
						      memory_order_relaxed);
	spin_unlock(&subs->lock);

	if (is_invalidating)
		wait_var_event(&subs->invalidate_seq,
			       atomic_load_explicit(&subs->invalidate_seq,
						    memory_order_acquire) != seq);
	return seq;
}

void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mn_subscriptions(mm);

	/* Every subscriber held an mm_count reference: none can be left. */
	if (WARN_ON_ONCE(!list_empty(&subs->list) || !list_empty(&subs->itree) ||
			 !list_empty(&subs->deferred_list) ||
			 subs->active_invalidate_ranges))
		return;
	__atomic_store_n(&mm->notifier_subscriptions, NULL, __ATOMIC_RELAXED);
	kfree(subs);
}
