// SPDX-License-Identifier: MIT
/*
 * MMU notifier API, single-threaded (Linux mm/mmu_notifier.c,
 * include/linux/mmu_notifier.h): registration, the start/end bracket and its
 * range, release, unregister, interval notifiers and their sequence protocol,
 * non-blocking refusal, and misuse. Uses a bare mm_struct: no machine needed.
 */
#include "notifier_helpers.h"

#define PG	4096UL

/* ---- no subscribers ------------------------------------------------------------ */

static void test_no_subscribers(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct mmu_notifier_range range;

	ok(!mm_has_notifiers(mm), "mmu_notifier: a new mm has no subscriptions (mm_has_notifiers)");
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x10000, 0x20000);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	ok(mm->notifier_subscriptions == NULL && range.flags == 0,
	   "mmu_notifier: start/end on an mm without subscriptions are a no-op "
	   "(mm_has_notifiers fast path)");
	is_int(mmu_notifier_invalidate_range_start_nonblock(&range), 0,
	       "mmu_notifier: start_nonblock without subscriptions returns 0");
	mmu_notifier_release(mm);
	ok(mm->notifier_subscriptions == NULL, "mmu_notifier: mmu_notifier_release without "
	   "subscriptions allocates nothing");
	bare_mm_free(mm);
}

static void test_range_init(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct mmu_notifier_range range;
	int owner;

	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, 0, mm, 0x1000, 0x5000);
	ok(range.mm == mm && range.start == 0x1000 && range.end == 0x5000 &&
	   range.event == MMU_NOTIFY_PROTECTION_VMA && range.flags == 0 && range.owner == NULL,
	   "mmu_notifier_range_init: fills mm, start, end, event, flags; no owner");
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0, mm, 0, PG, &owner);
	ok(range.owner == &owner && range.event == MMU_NOTIFY_MIGRATE,
	   "mmu_notifier_range_init_owner: records the owner of a MIGRATE event");
	bare_mm_free(mm);
}

/* ---- whole-mm subscribers ------------------------------------------------------- */

static void test_register_and_bracket(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_notifier a, b;
	struct mmu_notifier_range range;
	atomic_int order = 0;

	rec_init(&a);
	rec_init(&b);
	a.order_log = &order;
	is_int(mmu_notifier_register(&a.mn, mm), 0, "mmu_notifier_register: returns 0");
	ok(mm_has_notifiers(mm), "mmu_notifier_register: allocates mm->notifier_subscriptions "
	   "on first use");
	is_int(mm_count_of(mm), 2, "mmu_notifier_register: takes an mm_count reference (mmgrab) "
	       "so unregister is safe after exit");
	ok(a.mn.mm == mm, "mmu_notifier_register: sets subscription->mm");
	ok(!rwsem_is_locked(&mm->mmap_lock), "mmu_notifier_register: takes and drops the mmap "
	   "write lock itself");
	is_int(mmu_notifier_register(&b.mn, mm), 0, "mmu_notifier_register: a second subscriber "
	       "on the same mm");

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x400000, 0x403000);
	mmu_notifier_invalidate_range_start(&range);
	is_int(atomic_load(&a.nr_start), 1, "mmu_notifier: invalidate_range_start reaches the "
	       "subscriber once (mmu_notifier_invalidate_range_start)");
	is_int(atomic_load(&a.nr_end), 0, "mmu_notifier: no end callback before "
	       "invalidate_range_end is called");
	ok(range_equal(&a.last_start, &range) && a.last_start.start == 0x400000 &&
	   a.last_start.end == 0x403000 && a.last_start.event == MMU_NOTIFY_CLEAR,
	   "mmu_notifier: invalidate_range_start/end bracket the change with the right range "
	   "(mmu_notifier_invalidate_range_start)");
	ok(a.last_start_flags & MMU_NOTIFIER_RANGE_BLOCKABLE, "mmu_notifier: the blocking start "
	   "marks the range MMU_NOTIFIER_RANGE_BLOCKABLE (callbacks may sleep)");
	mmu_notifier_invalidate_range_end(&range);
	is_int(atomic_load(&a.nr_end), 1, "mmu_notifier: invalidate_range_end reaches the "
	       "subscriber once (mmu_notifier_invalidate_range_end)");
	ok(range_equal(&a.last_end, &range), "mmu_notifier: invalidate_range_end gets the same "
	   "range as start");
	ok(a.start_order < a.end_order, "mmu_notifier: start is called before end");
	ok(atomic_load(&b.nr_start) == 1 && atomic_load(&b.nr_end) == 1 &&
	   range_equal(&b.last_start, &range), "mmu_notifier: every subscriber of the mm gets "
	   "start and end");

	/* Every event kind travels unchanged. */
	static const enum mmu_notifier_event events[] = {
		MMU_NOTIFY_UNMAP, MMU_NOTIFY_CLEAR, MMU_NOTIFY_PROTECTION_VMA,
		MMU_NOTIFY_PROTECTION_PAGE, MMU_NOTIFY_SOFT_DIRTY, MMU_NOTIFY_RELEASE,
		MMU_NOTIFY_MIGRATE, MMU_NOTIFY_EXCLUSIVE,
	};
	int bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(events); i++) {
		invalidate(mm, events[i], i * PG, (i + 1) * PG);
		if (a.last_start.event != events[i] || a.last_end.event != events[i] ||
		    a.last_start.start != i * PG || a.last_end.end != (i + 1) * PG)
			bad++;
	}
	is_int(bad, 0, "mmu_notifier: each enum mmu_notifier_event reaches the callbacks as given");

	/* Unregister: ->release once, then silence. */
	mmu_notifier_unregister(&a.mn, mm);
	atomic_store(&a.gone, 1);
	is_int(atomic_load(&a.nr_release), 1, "mmu_notifier_unregister: calls ->release when "
	       "mmu_notifier_release has not (the driver tears down in one place)");
	ok(a.release_mm == mm, "mmu_notifier: ->release gets the mm");
	is_int(mm_count_of(mm), 2, "mmu_notifier_unregister: drops the registration's mm_count "
	       "reference (mmdrop)");
	invalidate(mm, MMU_NOTIFY_UNMAP, 0, PG);
	is_int(atomic_load(&a.late_calls), 0, "mmu_notifier: an unregistered subscriber receives "
	       "no more callbacks (mmu_notifier_unregister)");
	is_int(atomic_load(&b.nr_start), (int)ARRAY_SIZE(events) + 2, "mmu_notifier: the other "
	       "subscriber keeps receiving");

	/* Re-registering the same struct works. */
	is_int(mmu_notifier_register(&a.mn, mm), 0, "mmu_notifier_register: a subscription can "
	       "be registered again after unregister");
	atomic_store(&a.gone, 0);
	invalidate(mm, MMU_NOTIFY_UNMAP, 0, PG);
	is_int(atomic_load(&a.nr_start), (int)ARRAY_SIZE(events) + 2, "mmu_notifier: a "
	       "re-registered subscriber receives again");
	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&b.mn, mm);
	is_int(mm_count_of(mm), 1, "mmu_notifier_unregister: every registration's reference "
	       "is back");
	bare_mm_free(mm);
}

static void test_optional_ops(void)
{
	static const struct mmu_notifier_ops empty_ops = { 0 };
	struct mm_struct *mm = bare_mm_new();
	struct mmu_notifier mn = { .ops = &empty_ops };

	is_int(mmu_notifier_register(&mn, mm), 0, "mmu_notifier: ops with no callbacks register");
	invalidate(mm, MMU_NOTIFY_CLEAR, 0, PG);
	mmu_notifier_release(mm);
	mmu_notifier_unregister(&mn, mm);
	ok(true, "mmu_notifier: every callback in mmu_notifier_ops is optional");
	bare_mm_free(mm);
}

static void test_release(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_notifier a, b;
	struct rec_interval ri;
	unsigned long warns;

	rec_init(&a);
	rec_init(&b);
	reci_init(&ri);
	mmu_notifier_register(&a.mn, mm);
	mmu_notifier_register(&b.mn, mm);
	is_int(mmu_interval_notifier_insert(&ri.in, mm, 0x700000, 16 * PG, &reci_ops), 0,
	       "mmu_interval_notifier_insert: returns 0");

	/* exit_mmap(): the last user is gone, then release. */
	atomic_store(&mm->mm_users, 0);
	mmu_notifier_release(mm);
	ok(atomic_load(&a.nr_release) == 1 && atomic_load(&b.nr_release) == 1,
	   "mmu_notifier_release: every subscriber's ->release runs once (exit_mmap)");
	is_int(atomic_load(&ri.nr_invalidate), 1, "mmu_notifier_release: an interval notifier "
	       "gets one invalidation");
	ok(ri.last.event == MMU_NOTIFY_RELEASE && ri.last.start == 0 && ri.last.end == ULONG_MAX &&
	   (ri.last.flags & MMU_NOTIFIER_RANGE_BLOCKABLE), "mmu_notifier_release: the interval "
	   "invalidation is MMU_NOTIFY_RELEASE over [0, ULONG_MAX), blockable (mn_itree_release)");

	atomic_store(&a.gone, 1);
	atomic_store(&b.gone, 1);
	invalidate(mm, MMU_NOTIFY_UNMAP, 0, ULONG_MAX);
	ok(atomic_load(&a.late_calls) == 0 && atomic_load(&b.late_calls) == 0,
	   "mmu_notifier_release: afterwards no callback reaches the released subscribers");
	is_int(atomic_load(&ri.nr_invalidate), 2, "mmu_notifier_release: interval notifiers stay "
	       "inserted and see the teardown's UNMAP, as in Linux");

	mmu_notifier_release(mm);
	is_int(atomic_load(&a.nr_release), 1, "mmu_notifier_release: a second call does not "
	       "release again");
	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&b.mn, mm);
	is_int(atomic_load(&a.nr_release), 1, "mmu_notifier_unregister after exit: ->release "
	       "is not called a second time");
	mmu_interval_notifier_remove(&ri.in);
	is_int(mm_count_of(mm), 1, "mmu_notifier: unregister and remove after exit drop their "
	       "mm_count references");

	/* Registering on a dead mm is refused at the door. */
	struct rec_notifier c;
	struct rec_interval rj;

	rec_init(&c);
	reci_init(&rj);
	warns = pinmm_warn_count();
	pinmm_warn_set_quiet(true);
	is_int(mmu_notifier_register(&c.mn, mm), -EINVAL, "mmu_notifier_register: an mm with no "
	       "users left is refused (Linux: BUG_ON(mm_users <= 0))");
	is_int(mmu_interval_notifier_insert(&rj.in, mm, 0, PG, &reci_ops), -EINVAL,
	       "mmu_interval_notifier_insert: an mm with no users left is refused");
	pinmm_warn_set_quiet(false);
	ok(pinmm_warn_count() - warns >= 2, "mmu_notifier: both refusals WARN");
	is_int(mm_count_of(mm), 1, "mmu_notifier: a refused registration holds no reference");
	reci_destroy(&ri);
	reci_destroy(&rj);
	bare_mm_free(mm);
}

static void test_register_misuse(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct mmu_notifier no_ops = { .ops = NULL };
	unsigned long warns = pinmm_warn_count();

	pinmm_warn_set_quiet(true);
	is_int(mmu_notifier_register(&no_ops, mm), -EINVAL, "mmu_notifier_register: a "
	       "subscription without ops is rejected with -EINVAL");
	is_int(mmu_notifier_register(NULL, mm), -EINVAL, "mmu_notifier_register: a NULL "
	       "subscription is rejected with -EINVAL");
	pinmm_warn_set_quiet(false);
	is_uint(pinmm_warn_count() - warns, 2, "mmu_notifier_register: misuse WARNs");
	mmap_write_lock(mm);
	struct rec_notifier r;

	rec_init(&r);
	is_int(__mmu_notifier_register(&r.mn, mm), 0, "__mmu_notifier_register: registers with "
	       "the caller holding the mmap write lock");
	mmap_write_unlock(mm);
	mmu_notifier_unregister(&r.mn, mm);
	bare_mm_free(mm);
}

/* ---- non-blocking starts --------------------------------------------------------- */

static void test_nonblock(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_notifier a, b, c;
	struct rec_interval ri;
	struct mmu_notifier_range range;
	unsigned long seq;

	rec_init(&a);
	rec_init(&b);
	rec_init(&c);
	reci_init(&ri);
	mmu_notifier_register(&a.mn, mm);
	mmu_notifier_register(&b.mn, mm);
	mmu_notifier_register(&c.mn, mm);
	mmu_interval_notifier_insert(&ri.in, mm, 0, 4 * PG, &reci_ops);

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0, 8 * PG);
	is_int(mmu_notifier_invalidate_range_start_nonblock(&range), 0,
	       "mmu_notifier: start_nonblock succeeds when no callback refuses");
	ok(!(a.last_start_flags & MMU_NOTIFIER_RANGE_BLOCKABLE), "mmu_notifier: start_nonblock "
	   "passes a range without MMU_NOTIFIER_RANGE_BLOCKABLE");
	mmu_notifier_invalidate_range_end(&range);

	b.start_ret = -EAGAIN;
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0, 8 * PG);
	is_int(mmu_notifier_invalidate_range_start_nonblock(&range), -EAGAIN,
	       "mmu_notifier: a callback's -EAGAIN fails start_nonblock with -EAGAIN");
	ok(atomic_load(&a.nr_start) == 2 && atomic_load(&a.nr_end) == 2,
	   "mmu_notifier: on -EAGAIN the subscribers that had started get their end "
	   "(the caller will not call end)");
	ok(atomic_load(&b.nr_end) == 1 && atomic_load(&c.nr_start) == 1 &&
	   atomic_load(&c.nr_end) == 1, "mmu_notifier: on -EAGAIN the refusing subscriber and "
	   "those after it get no end, those after it no start");
	seq = mmu_interval_read_begin(&ri.in);
	is_uint(seq, ri.last_seq, "mmu_interval_read_begin: returns at once after a refused "
		"start (the interval bracket was closed again)");
	b.start_ret = 0;

	/* An interval refusing stops everything before the whole-mm subscribers. */
	ri.refuse = true;
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0, 8 * PG);
	is_int(mmu_notifier_invalidate_range_start_nonblock(&range), -EAGAIN,
	       "mmu_interval_notifier: invalidate returning false fails start_nonblock with "
	       "-EAGAIN");
	is_int(atomic_load(&a.nr_start), 2, "mmu_notifier: interval notifiers run first; "
	       "after their refusal no whole-mm subscriber is called");
	ok(mmu_interval_read_begin(&ri.in) == seq, "mmu_interval_notifier: a refused "
	   "invalidation leaves no bracket open");

	/* A blockable range must not be refused: WARN and carry on. */
	unsigned long warns = pinmm_warn_count();

	pinmm_warn_set_quiet(true);
	ri.refuse = false;
	b.start_ret = -EAGAIN;
	int a_start = atomic_load(&a.nr_start), a_end = atomic_load(&a.nr_end);
	int c_start = atomic_load(&c.nr_start), c_end = atomic_load(&c.nr_end);

	invalidate(mm, MMU_NOTIFY_UNMAP, 0, 8 * PG);
	pinmm_warn_set_quiet(false);
	ok(pinmm_warn_count() > warns, "mmu_notifier: -EAGAIN from a blockable start WARNs "
	   "(only non-blockable ranges may fail)");
	ok(atomic_load(&a.nr_start) == a_start + 1 && atomic_load(&a.nr_end) == a_end + 1 &&
	   atomic_load(&c.nr_start) == c_start + 1 && atomic_load(&c.nr_end) == c_end + 1,
	   "mmu_notifier: a blockable start goes on past a failing callback: every subscriber "
	   "gets exactly one start and one end");
	b.start_ret = 0;

	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&b.mn, mm);
	mmu_notifier_unregister(&c.mn, mm);
	mmu_interval_notifier_remove(&ri.in);
	reci_destroy(&ri);
	bare_mm_free(mm);
}

/* ---- interval notifiers ------------------------------------------------------------ */

static void test_interval_overlap(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_interval ri, rtop;
	const unsigned long s = 0x800000, len = 4 * PG, last = s + len - 1;
	struct { unsigned long start, end; bool hit; const char *what; } cases[] = {
		{ s - 2 * PG, s, false, "a range ending at the interval's start" },
		{ s - PG, s + 1, true, "a range covering the first byte" },
		{ s + PG, s + 2 * PG, true, "a range inside" },
		{ s - PG, s + len + PG, true, "a range covering it all" },
		{ last, last + PG, true, "a range starting at the last byte" },
		{ last + 1, last + 1 + PG, false, "a range starting after the last byte" },
		{ 0, PG, false, "a distant range" },
	};

	reci_init(&ri);
	reci_init(&rtop);
	is_int(mmu_interval_notifier_insert(&ri.in, mm, s, len, &reci_ops), 0,
	       "mmu_interval_notifier_insert: [start, start + length) inserted");
	ok(ri.in.start == s && ri.in.last == last, "mmu_interval_notifier_insert: stores start "
	   "and the inclusive last byte");
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int before = atomic_load(&ri.nr_invalidate);

		invalidate(mm, MMU_NOTIFY_CLEAR, cases[i].start, cases[i].end);
		is_int(atomic_load(&ri.nr_invalidate) - before, cases[i].hit,
		       "mmu_interval_notifier: %s %s the notifier (only overlapping ranges fire)",
		       cases[i].what, cases[i].hit ? "hits" : "misses");
	}
	invalidate(mm, MMU_NOTIFY_PROTECTION_VMA, s + PG, s + 3 * PG);
	ok(ri.last.start == s + PG && ri.last.end == s + 3 * PG &&
	   ri.last.event == MMU_NOTIFY_PROTECTION_VMA && ri.last.mm == mm,
	   "mmu_interval_notifier: ->invalidate gets the whole range, not clipped, with its event");
	ok(ri.last_seq & 1, "mmu_interval_notifier: cur_seq passed to ->invalidate is odd "
	   "(an invalidation is in progress)");

	/* An interval may end at the very top of the address space. */
	is_int(mmu_interval_notifier_insert(&rtop.in, mm, ULONG_MAX - PG + 1, PG, &reci_ops), 0,
	       "mmu_interval_notifier_insert: an interval ending at ULONG_MAX is fine");
	invalidate(mm, MMU_NOTIFY_UNMAP, ULONG_MAX - PG + 1, ULONG_MAX);
	is_int(atomic_load(&rtop.nr_invalidate), 1, "mmu_interval_notifier: a range at the top "
	       "of the address space hits it");

	struct rec_interval bad;

	reci_init(&bad);
	is_int(mmu_interval_notifier_insert(&bad.in, mm, s, 0, &reci_ops), -EINVAL,
	       "mmu_interval_notifier_insert: length 0 is -EINVAL");
	is_int(mmu_interval_notifier_insert(&bad.in, mm, ULONG_MAX - PG + 1, 2 * PG, &reci_ops),
	       -EINVAL, "mmu_interval_notifier_insert: start + length past ULONG_MAX is -EINVAL "
	       "(Linux: -EOVERFLOW)");
	is_int(mm_count_of(mm), 3, "mmu_interval_notifier_insert: each insert holds an mm_count "
	       "reference, failed ones none");

	mmu_interval_notifier_remove(&ri.in);
	atomic_store(&ri.gone, 1);
	invalidate(mm, MMU_NOTIFY_UNMAP, 0, ULONG_MAX);
	is_int(atomic_load(&ri.late_calls), 0, "mmu_interval_notifier_remove: a removed notifier "
	       "gets no more invalidations");
	mmu_interval_notifier_remove(&rtop.in);
	is_int(mm_count_of(mm), 1, "mmu_interval_notifier_remove: drops the insert's reference");
	reci_destroy(&ri);
	reci_destroy(&rtop);
	reci_destroy(&bad);
	bare_mm_free(mm);
}

static void test_interval_seq(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_interval ri;
	struct mmu_notifier_range range;
	const unsigned long s = 0x900000, len = 8 * PG;
	unsigned long seq, seq2;

	reci_init(&ri);
	mmu_interval_notifier_insert(&ri.in, mm, s, len, &reci_ops);
	seq = mmu_interval_read_begin(&ri.in);
	ok(seq & 1, "mmu_interval_read_begin: the sequence of a new notifier is odd, never the "
	   "mm's current even one");
	ok(!mmu_interval_read_retry(&ri.in, seq), "mmu_interval_read_retry: false when nothing "
	   "was invalidated since read_begin");
	invalidate(mm, MMU_NOTIFY_CLEAR, s + len, s + 2 * len);
	ok(!mmu_interval_read_retry(&ri.in, seq), "mmu_interval_read_retry: a non-overlapping "
	   "invalidation does not force a retry");
	invalidate(mm, MMU_NOTIFY_CLEAR, s, s + PG);
	ok(mmu_interval_read_retry(&ri.in, seq), "mmu_interval_read_retry: true after an "
	   "overlapping invalidation since read_begin (collision-retry)");
	ok(mmu_interval_check_retry(&ri.in, seq), "mmu_interval_check_retry: also sees it "
	   "without the driver lock");
	seq2 = mmu_interval_read_begin(&ri.in);
	ok(seq2 != seq && !mmu_interval_read_retry(&ri.in, seq2), "mmu_interval_read_begin: "
	   "after the invalidation ended, a new sequence that does not retry");
	is_uint(seq2, ri.last_seq, "mmu_interval_read_begin: returns the sequence the last "
		"invalidation recorded with mmu_interval_set_seq");

	/* Inside an overlapping bracket. */
	seq = mmu_interval_read_begin(&ri.in);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, s, s + len);
	mmu_notifier_invalidate_range_start(&range);
	ok(mmu_interval_check_retry(&ri.in, seq), "mmu_interval_check_retry: true as soon as "
	   "->invalidate ran, before invalidate_range_end");
	mmu_notifier_invalidate_range_end(&range);
	ok(mmu_interval_read_retry(&ri.in, seq), "mmu_interval_read_retry: still true after end");

	/* A callback that never calls set_seq is never asked to retry: set_seq is the signal. */
	mmu_interval_notifier_remove(&ri.in);
	reci_destroy(&ri);
	bare_mm_free(mm);
}

/*
 * While an overlapping invalidation is in progress the interval list is
 * frozen: an insert is queued and takes effect when the last bracket ends.
 */
static void test_interval_deferred_insert(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_interval ri, rn, rc;
	struct mmu_notifier_range outer, inner;

	reci_init(&ri);
	reci_init(&rn);
	reci_init(&rc);
	mmu_interval_notifier_insert(&ri.in, mm, 0, 4 * PG, &reci_ops);

	mmu_notifier_range_init(&outer, MMU_NOTIFY_CLEAR, 0, mm, 0, 4 * PG);
	mmu_notifier_invalidate_range_start(&outer);
	is_int(mmu_interval_notifier_insert(&rn.in, mm, 0, 4 * PG, &reci_ops), 0,
	       "mmu_interval_notifier_insert: inserting during an invalidation succeeds");
	mmu_notifier_range_init(&inner, MMU_NOTIFY_CLEAR, 0, mm, 0, 4 * PG);
	mmu_notifier_invalidate_range_start(&inner);
	is_int(atomic_load(&rn.nr_invalidate), 0, "mmu_interval_notifier_insert: a notifier "
	       "inserted while the interval tree is invalidating is queued until the last "
	       "invalidation ends (deferred_list)");
	is_int(atomic_load(&ri.nr_invalidate), 2, "mmu_interval_notifier: nested invalidations "
	       "each reach the existing notifier");
	/* Insert and remove both while queued: the insert is cancelled. */
	mmu_interval_notifier_insert(&rc.in, mm, 0, 4 * PG, &reci_ops);
	mmu_interval_notifier_remove(&rc.in);
	ok(true, "mmu_interval_notifier_remove: removing a notifier whose insert is still "
	   "queued returns at once");
	mmu_notifier_invalidate_range_end(&inner);
	mmu_notifier_invalidate_range_end(&outer);

	invalidate(mm, MMU_NOTIFY_CLEAR, 0, PG);
	is_int(atomic_load(&rn.nr_invalidate), 1, "mmu_interval_notifier_insert: the queued "
	       "notifier is live once the invalidations ended");
	is_int(atomic_load(&rc.nr_invalidate), 0, "mmu_interval_notifier_remove: the cancelled "
	       "insert never became live");
	mmu_interval_notifier_remove(&ri.in);
	mmu_interval_notifier_remove(&rn.in);
	is_int(mm_count_of(mm), 1, "mmu_interval_notifier: every reference is back");
	reci_destroy(&ri);
	reci_destroy(&rn);
	reci_destroy(&rc);
	bare_mm_free(mm);
}

/* Linux calls the interval notifiers before the whole-mm subscribers. */
static void test_order(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_notifier a;
	struct rec_interval ri;
	atomic_int order = 0;

	rec_init(&a);
	reci_init(&ri);
	a.order_log = &order;
	ri.order_log = &order;
	mmu_notifier_register(&a.mn, mm);
	mmu_interval_notifier_insert(&ri.in, mm, 0, PG, &reci_ops);
	invalidate(mm, MMU_NOTIFY_CLEAR, 0, PG);
	ok(ri.order < a.start_order && a.start_order < a.end_order,
	   "mmu_notifier: interval ->invalidate, then whole-mm start, then end "
	   "(__mmu_notifier_invalidate_range_start order)");
	mmu_notifier_unregister(&a.mn, mm);
	mmu_interval_notifier_remove(&ri.in);
	reci_destroy(&ri);
	bare_mm_free(mm);
}

/* A subscriber that appears between start and end gets only the end: harmless. */
static void test_bracket_straddles_register(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_notifier a;
	struct rec_interval ri;
	struct mmu_notifier_range range;

	rec_init(&a);
	reci_init(&ri);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0, PG);
	mmu_notifier_invalidate_range_start(&range);	/* nothing subscribed yet */
	mmu_notifier_register(&a.mn, mm);
	mmu_interval_notifier_insert(&ri.in, mm, 0, PG, &reci_ops);
	mmu_notifier_invalidate_range_end(&range);
	is_uint(mmu_interval_read_begin(&ri.in) & 1, 1, "mmu_notifier: an end whose start saw no "
		"subscriptions leaves the interval bookkeeping balanced (read_begin returns)");
	invalidate(mm, MMU_NOTIFY_CLEAR, 0, PG);
	is_int(atomic_load(&ri.nr_invalidate), 1, "mmu_notifier: later brackets work normally");
	mmu_notifier_unregister(&a.mn, mm);
	mmu_interval_notifier_remove(&ri.in);
	reci_destroy(&ri);
	bare_mm_free(mm);
}

int main(void)
{
	watchdog(60);	/* a bracket left open would hang read_begin: fail instead */
	test_no_subscribers();
	test_range_init();
	test_register_and_bracket();
	test_optional_ops();
	test_release();
	test_register_misuse();
	test_nonblock();
	test_interval_overlap();
	test_interval_seq();
	test_interval_deferred_insert();
	test_order();
	test_bracket_straddles_register();
	return done_testing();
}
