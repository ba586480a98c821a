// SPDX-License-Identifier: MIT
/*
 * MMU notifiers across threads (Linux mm/mmu_notifier.c): read_begin waits
 * out an invalidation in progress, unregister/remove/release wait for
 * callbacks in flight, ->release runs once when exit races unregister, and a
 * randomised stress of invalidations against register/unregister,
 * insert/remove and a driver following the collision-retry protocol.
 * PINMM_TEST_CONCURRENT: every case runs its waiters on other threads.
 */
#include "notifier_helpers.h"

#define PG	4096UL

/* ---- a subscriber whose callbacks block until the test opens a gate -------------- */

struct gate {
	atomic_int entered;	/* a callback is inside */
	atomic_int open;	/* the test lets it return */
	atomic_int finished;	/* the callback returned */
	atomic_int nr_release;
};

static void gate_pass(struct gate *g)
{
	atomic_store(&g->entered, 1);
	if (!wait_for(&g->open, 1))
		diag("gate never opened");
	atomic_store(&g->finished, 1);
}

struct gate_notifier {
	struct mmu_notifier mn;
	struct gate g;
};

static int gate_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	(void)range;
	gate_pass(&container_of(mn, struct gate_notifier, mn)->g);
	return 0;
}

static void gate_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mm;
	atomic_fetch_add(&container_of(mn, struct gate_notifier, mn)->g.nr_release, 1);
}

static const struct mmu_notifier_ops gate_ops = {
	.invalidate_range_start = gate_start,
	.release = gate_release,
};

struct gate_interval {
	struct mmu_interval_notifier in;
	struct gate g;
};

static bool gate_invalidate(struct mmu_interval_notifier *in,
			    const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	(void)range;
	mmu_interval_set_seq(in, cur_seq);
	gate_pass(&container_of(in, struct gate_interval, in)->g);
	return true;
}

static const struct mmu_interval_notifier_ops gate_iops = { .invalidate = gate_invalidate };

/* ---- thread bodies --------------------------------------------------------------- */

struct job {
	struct mm_struct *mm;
	struct mmu_notifier_range range;	/* for JOB_START/JOB_END */
	struct mmu_notifier *mn;
	struct mmu_interval_notifier *in;
	struct gate *watch;		/* gate whose "finished" is sampled at return */
	atomic_int done;
	int finished_at_return;
	unsigned long seq;
};

static void job_done(struct job *j)
{
	if (j->watch)
		j->finished_at_return = atomic_load(&j->watch->finished);
	atomic_store(&j->done, 1);
}

static void *do_invalidate(void *arg)
{
	struct job *j = arg;

	mmu_notifier_invalidate_range_start(&j->range);
	mmu_notifier_invalidate_range_end(&j->range);
	job_done(j);
	return NULL;
}

static void *do_read_begin(void *arg)
{
	struct job *j = arg;

	j->seq = mmu_interval_read_begin(j->in);
	job_done(j);
	return NULL;
}

static void *do_unregister(void *arg)
{
	struct job *j = arg;

	mmu_notifier_unregister(j->mn, j->mm);
	job_done(j);
	return NULL;
}

static void *do_remove(void *arg)
{
	struct job *j = arg;

	mmu_interval_notifier_remove(j->in);
	job_done(j);
	return NULL;
}

static void *do_release(void *arg)
{
	struct job *j = arg;

	mmu_notifier_release(j->mm);
	job_done(j);
	return NULL;
}

/* ---- cases ------------------------------------------------------------------------ */

static void test_read_begin_waits(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct rec_interval ri;
	struct mmu_notifier_range range;
	struct job reader = { .mm = mm };
	pthread_t t;

	reci_init(&ri);
	mmu_interval_notifier_insert(&ri.in, mm, 0x100000, 8 * PG, &reci_ops);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x100000, 0x101000);
	mmu_notifier_invalidate_range_start(&range);
	reader.in = &ri.in;
	t = start_thread(do_read_begin, &reader);
	settle();
	ok(!atomic_load(&reader.done), "mmu_interval_read_begin: blocks while an invalidation "
	   "that hit the interval is in progress (invalidate_seq odd)");
	mmu_notifier_invalidate_range_end(&range);
	ok(wait_for(&reader.done, 1), "mmu_interval_read_begin: returns once "
	   "invalidate_range_end made the sequence even (wake-up)");
	join_thread(t);
	is_uint(reader.seq, ri.last_seq, "mmu_interval_read_begin: returns the sequence of the "
		"invalidation it waited for");
	ok(!mmu_interval_read_retry(&ri.in, reader.seq), "mmu_interval_read_retry: a read begun "
	   "after the end does not retry");

	/* A bracket that does not overlap the interval does not block its reader. */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0, PG);
	mmu_notifier_invalidate_range_start(&range);
	reader = (struct job){ .mm = mm, .in = &ri.in };
	t = start_thread(do_read_begin, &reader);
	ok(wait_for(&reader.done, 1), "mmu_interval_read_begin: an invalidation elsewhere in the "
	   "mm does not block it");
	join_thread(t);

	/* ...but a notifier inserted during it might be covered: it waits for the end. */
	struct rec_interval late;

	reci_init(&late);
	mmu_interval_notifier_insert(&late.in, mm, 0, PG, &reci_ops);
	reader = (struct job){ .mm = mm, .in = &late.in };
	t = start_thread(do_read_begin, &reader);
	settle();
	ok(!atomic_load(&reader.done), "mmu_interval_notifier_insert: during an invalidation the "
	   "new notifier counts as hit, read_begin waits for the end");
	mmu_notifier_invalidate_range_end(&range);
	ok(wait_for(&reader.done, 1), "mmu_interval_read_begin: the late notifier's reader is "
	   "released by the end");
	join_thread(t);

	mmu_interval_notifier_remove(&ri.in);
	mmu_interval_notifier_remove(&late.in);
	reci_destroy(&ri);
	reci_destroy(&late);
	bare_mm_free(mm);
}

static void test_unregister_waits(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct gate_notifier gn = { .mn.ops = &gate_ops };
	struct job inv = { .mm = mm }, unreg = { .mm = mm };
	pthread_t ti, tu;

	mmu_notifier_register(&gn.mn, mm);
	mmu_notifier_range_init(&inv.range, MMU_NOTIFY_UNMAP, 0, mm, 0, PG);
	ti = start_thread(do_invalidate, &inv);
	ok(wait_for(&gn.g.entered, 1), "mmu_notifier: the callback runs on the invalidating "
	   "thread");
	unreg.mn = &gn.mn;
	unreg.watch = &gn.g;
	tu = start_thread(do_unregister, &unreg);
	settle();
	ok(!atomic_load(&unreg.done), "mmu_notifier_unregister: waits while a callback of the "
	   "subscription is running (synchronize_srcu in Linux)");
	atomic_store(&gn.g.open, 1);
	ok(wait_for(&unreg.done, 1), "mmu_notifier_unregister: returns once the callback did");
	join_thread(tu);
	join_thread(ti);
	is_int(unreg.finished_at_return, 1, "mmu_notifier_unregister: when it returns no "
	       "callback is running: the subscription may be freed");
	is_int(atomic_load(&gn.g.nr_release), 1, "mmu_notifier_unregister: ->release ran once");
	bare_mm_free(mm);
}

static void test_remove_waits(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct gate_interval gi;
	struct rec_interval other;
	struct job inv = { .mm = mm }, rem = { .mm = mm };
	struct mmu_notifier_range range;
	pthread_t ti, tr;

	memset(&gi, 0, sizeof(gi));
	reci_init(&other);
	mmu_interval_notifier_insert(&gi.in, mm, 0, 4 * PG, &gate_iops);
	mmu_interval_notifier_insert(&other.in, mm, 0x100000, PG, &reci_ops);

	/* Remove while the notifier's own callback runs. */
	mmu_notifier_range_init(&inv.range, MMU_NOTIFY_CLEAR, 0, mm, 0, PG);
	ti = start_thread(do_invalidate, &inv);
	wait_for(&gi.g.entered, 1);
	rem.in = &gi.in;
	rem.watch = &gi.g;
	tr = start_thread(do_remove, &rem);
	settle();
	ok(!atomic_load(&rem.done), "mmu_interval_notifier_remove: waits while its "
	   "->invalidate is running");
	atomic_store(&gi.g.open, 1);
	ok(wait_for(&rem.done, 1), "mmu_interval_notifier_remove: returns after the "
	   "invalidation ended");
	join_thread(tr);
	join_thread(ti);
	is_int(rem.finished_at_return, 1, "mmu_interval_notifier_remove: no ->invalidate is "
	       "running when it returns");

	/* Remove during a bracket that hit another interval: queued until the end. */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, 0x100000, 0x101000);
	mmu_notifier_invalidate_range_start(&range);
	rem = (struct job){ .mm = mm, .in = &other.in };
	tr = start_thread(do_remove, &rem);
	settle();
	ok(!atomic_load(&rem.done), "mmu_interval_notifier_remove: while the interval list is "
	   "invalidating the removal is deferred and waited for (deferred_list)");
	mmu_notifier_invalidate_range_end(&range);
	ok(wait_for(&rem.done, 1), "mmu_interval_notifier_remove: done when the last "
	   "invalidation ends");
	join_thread(tr);
	is_int(mm_count_of(mm), 1, "mmu_interval_notifier_remove: references dropped");
	reci_destroy(&other);
	bare_mm_free(mm);
}

static void test_release_waits(void)
{
	struct mm_struct *mm = bare_mm_new();
	struct gate_notifier gn = { .mn.ops = &gate_ops };
	struct rec_notifier r;
	struct job inv = { .mm = mm }, rel = { .mm = mm };
	pthread_t ti, tr;

	rec_init(&r);
	mmu_notifier_register(&gn.mn, mm);
	mmu_notifier_register(&r.mn, mm);
	/* An rmap-style invalidation from another thread is in its callback... */
	mmu_notifier_range_init(&inv.range, MMU_NOTIFY_CLEAR, 0, mm, 0, PG);
	ti = start_thread(do_invalidate, &inv);
	wait_for(&gn.g.entered, 1);
	/* ...when the last user exits. */
	atomic_store(&mm->mm_users, 0);
	rel.watch = &gn.g;
	tr = start_thread(do_release, &rel);
	settle();
	ok(!atomic_load(&rel.done), "mmu_notifier_release: waits for callbacks in flight on "
	   "other threads");
	atomic_store(&gn.g.open, 1);
	ok(wait_for(&rel.done, 1), "mmu_notifier_release: returns once they finished");
	join_thread(tr);
	join_thread(ti);
	is_int(rel.finished_at_return, 1, "mmu_notifier_release: then no callback is running, "
	       "exit_mmap may free the pages");
	ok(atomic_load(&gn.g.nr_release) == 1 && atomic_load(&r.nr_release) == 1,
	   "mmu_notifier_release: ->release ran once per subscriber");
	mmu_notifier_unregister(&gn.mn, mm);
	mmu_notifier_unregister(&r.mn, mm);
	bare_mm_free(mm);
}

/* exit's release racing drivers' unregister: ->release exactly once each. */
#define RACE_SUBS	8

static void test_release_races_unregister(void)
{
	int rounds = TEST_SCALE(200), twice = 0, never = 0, late = 0;

	for (int round = 0; round < rounds; round++) {
		struct mm_struct *mm = bare_mm_new();
		struct rec_notifier *r = calloc(RACE_SUBS, sizeof(*r));
		struct job unreg[RACE_SUBS], rel = { .mm = mm };
		pthread_t t[RACE_SUBS], tr;

		for (int i = 0; i < RACE_SUBS; i++) {
			rec_init(&r[i]);
			mmu_notifier_register(&r[i].mn, mm);
		}
		atomic_store(&mm->mm_users, 0);
		for (int i = 0; i < RACE_SUBS / 2; i++) {
			unreg[i] = (struct job){ .mm = mm, .mn = &r[i].mn };
			t[i] = start_thread(do_unregister, &unreg[i]);
		}
		tr = start_thread(do_release, &rel);
		for (int i = 0; i < RACE_SUBS / 2; i++)
			join_thread(t[i]);
		join_thread(tr);
		for (int i = 0; i < RACE_SUBS; i++)
			atomic_store(&r[i].gone, 1);
		for (int i = RACE_SUBS / 2; i < RACE_SUBS; i++)
			mmu_notifier_unregister(&r[i].mn, mm);
		invalidate(mm, MMU_NOTIFY_UNMAP, 0, ULONG_MAX);
		for (int i = 0; i < RACE_SUBS; i++) {
			int n = atomic_load(&r[i].nr_release);

			twice += n > 1;
			never += n < 1;
			late += atomic_load(&r[i].late_calls);
		}
		if (mm_count_of(mm) != 1)
			bail_out("round %d: mm_count %d after every unregister", round,
				 mm_count_of(mm));
		free(r);
		bare_mm_free(mm);
	}
	ok(twice == 0 && never == 0, "mmu_notifier: exit's mmu_notifier_release racing "
	   "mmu_notifier_unregister calls ->release exactly once per subscriber (%d rounds)",
	   rounds);
	is_int(late, 0, "mmu_notifier: no callback after both returned");
}

/* ---- stress ----------------------------------------------------------------------- */

#define ST_SPAN		(128 * PG)		/* invalidations fall in [0, ST_SPAN) */
#define ST_DRV_START	(32 * PG)		/* the driver mirrors [32, 64) pages */
#define ST_DRV_LEN	(32 * PG)
#define ST_INVALIDATORS	3

/* Counting subscriber: only atomics, so callbacks on many threads are fine. */
struct cnt_notifier {
	struct mmu_notifier mn;
	atomic_int nr_start, nr_end, gone, late;
};

static int cnt_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct cnt_notifier *c = container_of(mn, struct cnt_notifier, mn);

	(void)range;
	if (atomic_load(&c->gone))
		atomic_fetch_add(&c->late, 1);
	atomic_fetch_add(&c->nr_start, 1);
	return 0;
}

static void cnt_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct cnt_notifier *c = container_of(mn, struct cnt_notifier, mn);

	(void)range;
	if (atomic_load(&c->gone))
		atomic_fetch_add(&c->late, 1);
	atomic_fetch_add(&c->nr_end, 1);
}

static const struct mmu_notifier_ops cnt_ops = {
	.invalidate_range_start = cnt_start,
	.invalidate_range_end = cnt_end,
};

struct cnt_interval {
	struct mmu_interval_notifier in;
	atomic_int gone, late;
};

static bool cnt_invalidate(struct mmu_interval_notifier *in,
			   const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct cnt_interval *c = container_of(in, struct cnt_interval, in);

	(void)range;
	(void)cur_seq;
	if (atomic_load(&c->gone))
		atomic_fetch_add(&c->late, 1);
	return true;
}

static const struct mmu_interval_notifier_ops cnt_iops = { .invalidate = cnt_invalidate };

/*
 * The mirror: a "device page table" with one entry for the driver's
 * interval, filled from pt_version, the "CPU page table" that invalidators
 * change between start and end. The rule the protocol gives: whenever the
 * device entry is valid, it holds the current CPU value.
 */
static struct {
	struct mm_struct *mm;
	atomic_int stop;
	atomic_ulong pt_version;	/* bumped inside overlapping brackets */
	struct mmu_interval_notifier drv;
	struct mutex drv_lock;
	bool dev_valid;			/* drv_lock */
	unsigned long dev_version;	/* drv_lock */
	atomic_long stale, installs, retries, invalidations, hits;
	atomic_long late_cnt, late_int, unbalanced;
} st;

static bool drv_invalidate(struct mmu_interval_notifier *in,
			   const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	(void)range;
	mutex_lock(&st.drv_lock);
	mmu_interval_set_seq(in, cur_seq);
	if (st.dev_valid && st.dev_version != atomic_load(&st.pt_version))
		atomic_fetch_add(&st.stale, 1);
	st.dev_valid = false;
	mutex_unlock(&st.drv_lock);
	atomic_fetch_add(&st.hits, 1);
	return true;
}

static const struct mmu_interval_notifier_ops drv_ops = { .invalidate = drv_invalidate };

static void *st_invalidator(void *arg)
{
	uint64_t rnd = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

	while (!atomic_load(&st.stop)) {
		unsigned long a = (test_rand(&rnd) % (ST_SPAN / PG)) * PG;
		unsigned long len = (1 + test_rand(&rnd) % 16) * PG;
		struct mmu_notifier_range range;

		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, st.mm, a, a + len);
		mmu_notifier_invalidate_range_start(&range);
		if (a < ST_DRV_START + ST_DRV_LEN && a + len > ST_DRV_START)
			atomic_fetch_add(&st.pt_version, 1);	/* "clear the PTEs" */
		mmu_notifier_invalidate_range_end(&range);
		atomic_fetch_add(&st.invalidations, 1);
	}
	return NULL;
}

static void *st_driver(void *arg)
{
	(void)arg;
	while (!atomic_load(&st.stop)) {
		unsigned long seq = mmu_interval_read_begin(&st.drv);
		unsigned long v = atomic_load(&st.pt_version);	/* "hmm_range_fault" */

		mutex_lock(&st.drv_lock);
		if (mmu_interval_read_retry(&st.drv, seq)) {
			mutex_unlock(&st.drv_lock);
			atomic_fetch_add(&st.retries, 1);
			continue;
		}
		if (v != atomic_load(&st.pt_version))
			atomic_fetch_add(&st.stale, 1);
		st.dev_valid = true;
		st.dev_version = v;
		mutex_unlock(&st.drv_lock);
		atomic_fetch_add(&st.installs, 1);
	}
	return NULL;
}

static void *st_register_churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&st.stop)) {
		struct cnt_notifier *c = calloc(1, sizeof(*c));

		c->mn.ops = &cnt_ops;
		if (mmu_notifier_register(&c->mn, st.mm))
			bail_out("mmu_notifier_register failed under stress");
		sched_yield();
		mmu_notifier_unregister(&c->mn, st.mm);
		atomic_store(&c->gone, 1);
		/* Freed at once: a late callback would be a use-after-free (ASan). */
		atomic_fetch_add(&st.late_cnt, atomic_load(&c->late));
		free(c);
	}
	return NULL;
}

static void *st_interval_churn(void *arg)
{
	uint64_t rnd = (uintptr_t)arg + 7;

	while (!atomic_load(&st.stop)) {
		struct cnt_interval *c = calloc(1, sizeof(*c));
		unsigned long a = (test_rand(&rnd) % (ST_SPAN / PG)) * PG;

		if (mmu_interval_notifier_insert(&c->in, st.mm, a, 4 * PG, &cnt_iops))
			bail_out("mmu_interval_notifier_insert failed under stress");
		(void)mmu_interval_read_begin(&c->in);
		mmu_interval_notifier_remove(&c->in);
		atomic_store(&c->gone, 1);
		atomic_fetch_add(&st.late_int, atomic_load(&c->late));
		free(c);
	}
	return NULL;
}

static void test_stress(void)
{
	pthread_t inv[ST_INVALIDATORS], drv, reg, ins;
	struct cnt_notifier steady = { .mn.ops = &cnt_ops };
	double until = now_sec() + stress_seconds(0.5);
	unsigned long warns = pinmm_warn_count();

	memset(&st, 0, sizeof(st));
	st.mm = bare_mm_new();
	mutex_init(&st.drv_lock, LOCK_RANK_NONE);
	mmu_notifier_register(&steady.mn, st.mm);
	mmu_interval_notifier_insert(&st.drv, st.mm, ST_DRV_START, ST_DRV_LEN, &drv_ops);

	for (int i = 0; i < ST_INVALIDATORS; i++)
		inv[i] = start_thread(st_invalidator, (void *)(uintptr_t)(i + 1));
	drv = start_thread(st_driver, NULL);
	reg = start_thread(st_register_churn, NULL);
	ins = start_thread(st_interval_churn, NULL);
	while (now_sec() < until)
		usleep(10 * 1000);
	atomic_store(&st.stop, 1);
	for (int i = 0; i < ST_INVALIDATORS; i++)
		join_thread(inv[i]);
	join_thread(drv);
	join_thread(reg);
	join_thread(ins);

	diag("stress: %ld invalidations, %ld hit the driver, %ld installs, %ld retries",
	     atomic_load(&st.invalidations), atomic_load(&st.hits), atomic_load(&st.installs),
	     atomic_load(&st.retries));
	ok(atomic_load(&st.invalidations) > 0 && atomic_load(&st.installs) > 0,
	   "stress: invalidations and driver reads both made progress");
	is_int(atomic_load(&st.stale), 0, "mmu_interval_read_begin/read_retry: a device entry "
	       "installed under the driver lock never holds a value an invalidation already "
	       "replaced (collision-retry protocol)");
	is_int(atomic_load(&steady.nr_start), atomic_load(&steady.nr_end),
	       "mmu_notifier: a subscriber present throughout got one end per start");
	is_int(atomic_load(&st.late_cnt) + atomic_load(&st.late_int), 0,
	       "mmu_notifier: no callback after unregister/remove returned, under concurrent "
	       "invalidations");
	is_uint(pinmm_warn_count() - warns, 0, "stress: no WARN (bookkeeping stayed consistent)");

	/* Every bracket closed: a fresh reader does not wait. */
	(void)mmu_interval_read_begin(&st.drv);
	mmu_interval_notifier_remove(&st.drv);
	mmu_notifier_unregister(&steady.mn, st.mm);
	is_int(mm_count_of(st.mm), 1, "stress: every registration's mm_count reference is back");
	mutex_destroy(&st.drv_lock);
	bare_mm_free(st.mm);
}

int main(void)
{
	watchdog(120);
	test_read_begin_waits();
	test_unregister_waits();
	test_remove_waits();
	test_release_waits();
	test_release_races_unregister();
	test_stress();
	return done_testing();
}
