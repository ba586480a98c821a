// SPDX-License-Identifier: MIT
/*
 * xarray under concurrency: one writer stores, overwrites, marks and
 * erases a window of indices that moves between index regions from 1 to
 * ULONG_MAX (so the tree keeps growing to full height and shrinking back to
 * a lone head entry, leaving dead top nodes behind), while lockless readers
 * load and search. Every entry is xa_mk_value(hash(index) << 32 | generation):
 * a reader checks that whatever it finds belongs at the index it was found
 * at, and that two loads of one index never go back in time. "Anchor"
 * entries that are present (or absent) for whole phases, announced through a
 * sequence count, must always be found (or never be). ASan would catch a
 * reader touching a freed node, TSan an unpublished one.
 * PINMM_TEST_CONCURRENT
 */
#include "helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/rcupdate.h>
#include <pinmm/xarray.h>

#define NR_READERS	2
#define WINDOW		40	/* live entries behind the writer's cursor */
#define REGION_LEN	120	/* indices the cursor crosses per region */
#define BUMP_INDEX	70000UL	/* toggled to grow/shrink a small tree by two levels */

static struct xarray xa;

/* Where the window moves: across leaf, level and top-of-range boundaries. */
static const unsigned long regions[] = {
	1, 60, 4030, 262100, (1UL << 30) - 20, (1UL << 40) - 50, (1UL << 62) - 30,
	ULONG_MAX - (REGION_LEN - 1),
};

/* Present for whole phases, with XA_MARK_2 (nothing else ever carries it). */
static const unsigned long anchors[] = { 1000, (1UL << 50) + 7, ULONG_MAX - 1000 };

/* Odd while the writer changes the anchors; anchors present iff (seq / 2) is odd. */
static atomic_ulong anchor_seq;
static atomic_int stop;
static atomic_ulong reader_ops, anchor_checks;
static atomic_ulong bad_value, bad_order, bad_range, bad_anchor;

static unsigned long fold(unsigned long index)
{
	return (index * 0x9e3779b97f4a7c15UL) >> 33;	/* 31 bits */
}

static void *mk_entry(unsigned long index, unsigned long gen)
{
	return xa_mk_value((fold(index) << 32) | (gen & 0xffffffffUL));
}

static unsigned long entry_gen(const void *e)
{
	return xa_to_value(e) & 0xffffffffUL;
}

/* Could the writer have stored @e at @index? */
static bool entry_fits(unsigned long index, const void *e)
{
	return xa_is_value(e) && (xa_to_value(e) >> 32) == fold(index);
}

/* ---- the writer ---- */

struct writer_stats {
	unsigned long ops, cycles, anchor_flips;
	unsigned long min_nodes, max_nodes;
	bool check_failed;
};

static unsigned long gen = 1;	/* writer-private: bumped by every store */

static void w_store(unsigned long index, bool locked_variant)
{
	void *e = mk_entry(index, gen++);

	if (locked_variant) {
		/* The page-cache pattern: store and tag in one critical section. */
		xa_lock(&xa);
		__xa_store(&xa, index, e, GFP_KERNEL);
		if (index % 3 == 0)
			__xa_set_mark(&xa, index, XA_MARK_0);
		xa_unlock(&xa);
	} else {
		xa_store(&xa, index, e, GFP_KERNEL);
	}
}

static void w_toggle(unsigned long index)
{
	if (xa_load(&xa, index))
		xa_erase(&xa, index);
	else
		w_store(index, false);
}

static void w_sample(struct writer_stats *ws)
{
	unsigned long n = xa_nr_nodes(&xa);

	if (n < ws->min_nodes)
		ws->min_nodes = n;
	if (n > ws->max_nodes)
		ws->max_nodes = n;
}

static void flip_anchors(struct writer_stats *ws)
{
	unsigned long seq = atomic_load(&anchor_seq);
	bool present = (seq / 2) & 1;
	unsigned int a;

	atomic_store_explicit(&anchor_seq, seq + 1, memory_order_release);	/* odd: changing */
	for (a = 0; a < ARRAY_SIZE(anchors); a++) {
		if (present) {
			xa_erase(&xa, anchors[a]);
		} else {
			w_store(anchors[a], false);
			xa_set_mark(&xa, anchors[a], XA_MARK_2);
		}
	}
	atomic_store_explicit(&anchor_seq, seq + 2, memory_order_release);	/* even: stable */
	ws->anchor_flips++;
}

static void run_region(unsigned long base, struct writer_stats *ws, uint64_t *rng)
{
	unsigned long pos;

	for (pos = 0; pos < REGION_LEN; pos++) {
		unsigned long idx = base + pos;

		*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
		w_store(idx, pos & 1);
		if (pos % 4 == 1)
			xa_set_mark(&xa, idx, XA_MARK_1);
		if (pos >= WINDOW) {
			unsigned long old = base + pos - WINDOW;

			if ((*rng >> 40) % 4 == 0)
				xa_cmpxchg(&xa, old, xa_load(&xa, old), NULL, GFP_KERNEL);
			else
				xa_erase(&xa, old);
		}
		if (pos >= 1) {
			/* Overwrite or re-mark a live entry behind the cursor. */
			unsigned long back = base + pos - 1 - (*rng >> 33) % min(pos, (unsigned long)WINDOW - 1);

			switch ((*rng >> 20) % 4) {
			case 0:
				w_store(back, false);
				break;
			case 1:
				xa_clear_mark(&xa, back, XA_MARK_0);
				break;
			case 2:
				xa_clear_mark(&xa, back, XA_MARK_1);
				break;
			default:
				if (xa_insert(&xa, back, mk_entry(back, gen), GFP_KERNEL) == 0)
					gen++;
				break;
			}
		}
		if (pos % 8 == 0)
			w_toggle(0);
		if (pos % 4 == 2)
			w_toggle(BUMP_INDEX);
		ws->ops++;
	}
	w_sample(ws);
	for (pos = REGION_LEN - WINDOW; pos < REGION_LEN; pos++)
		xa_erase(&xa, base + pos);
	xa_erase(&xa, BUMP_INDEX);
	w_sample(ws);
	if (!xa_check(&xa))
		ws->check_failed = true;
}

static void *writer_fn(void *arg)
{
	struct writer_stats *ws = arg;
	double until = now_sec() + stress_seconds(1.0);
	uint64_t rng = 12345;
	unsigned int r;

	ws->min_nodes = ULONG_MAX;
	/* At least two full cycles, so the anchors are seen both present and absent. */
	while (ws->cycles < 2 || (now_sec() < until && !atomic_load(&stop))) {
		for (r = 0; r < ARRAY_SIZE(regions); r++)
			run_region(regions[r], ws, &rng);
		flip_anchors(ws);
		ws->cycles++;
		if (now_sec() > until + TEST_WAIT_SECONDS)
			break;
	}
	return NULL;
}

/* ---- the readers ---- */

static unsigned long pick_index(uint64_t *rng)
{
	unsigned long r;

	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	r = *rng >> 8;
	switch (*rng % 10) {
	case 0: case 1: case 2: case 3:
		return r % 200;					/* small: head and retry paths */
	case 4:
		return anchors[r % ARRAY_SIZE(anchors)];
	case 5:
		return BUMP_INDEX;
	default:
		return regions[r % ARRAY_SIZE(regions)] + (r >> 8) % REGION_LEN;
	}
}

static void check_load(unsigned long index)
{
	void *e1 = xa_load(&xa, index), *e2;

	if (!e1)
		return;
	if (!entry_fits(index, e1))
		atomic_fetch_add(&bad_value, 1);
	e2 = xa_load(&xa, index);
	if (e2 && (!entry_fits(index, e2) || entry_gen(e2) < entry_gen(e1)))
		atomic_fetch_add(&bad_order, 1);
	(void)xa_get_mark(&xa, index, (xa_mark_t)(index % 3));
}

static void check_find(unsigned long start, uint64_t r)
{
	unsigned long max = (r & 1) ? ULONG_MAX : start + 300, i = start, last;
	xa_mark_t filter = (r >> 1) % 3 == 0 ? XA_PRESENT : (xa_mark_t)((r >> 3) % 2);
	unsigned int n = 0;
	void *e;

	if (max < start)
		max = ULONG_MAX;
	e = xa_find(&xa, &i, max, filter);
	if (e && (i < start || i > max || !entry_fits(i, e)))
		atomic_fetch_add(&bad_range, 1);
	if (!e)
		return;
	/* A few steps of xa_find_after: strictly increasing, each entry fits. */
	for (last = i; n < 8; n++, last = i) {
		e = xa_find_after(&xa, &i, max, filter);
		if (!e)
			break;
		if (i <= last || i > max || !entry_fits(i, e))
			atomic_fetch_add(&bad_range, 1);
	}
}

static void check_region_walk(unsigned long base)
{
	unsigned long i, last = 0;
	bool first = true;
	void *e;

	xa_for_each_range(&xa, i, e, base, base + REGION_LEN - 1) {
		if (!entry_fits(i, e) || i < base || i > base + REGION_LEN - 1 ||
		    (!first && i <= last))
			atomic_fetch_add(&bad_range, 1);
		first = false;
		last = i;
	}
}

/* With the anchors stable (seq even and unchanged around the checks). */
static void check_anchors(void)
{
	unsigned long seq = atomic_load_explicit(&anchor_seq, memory_order_acquire);
	bool present = (seq / 2) & 1, bad = false;
	unsigned long i = 0;
	unsigned int a;
	void *e;

	if (seq & 1)
		return;
	for (a = 0; a < ARRAY_SIZE(anchors); a++) {
		e = xa_load(&xa, anchors[a]);
		if (present ? !e || !entry_fits(anchors[a], e) : e != NULL)
			bad = true;
		if (xa_get_mark(&xa, anchors[a], XA_MARK_2) != present)
			bad = true;
	}
	if (xa_marked(&xa, XA_MARK_2) != present)
		bad = true;
	/* A mark search from 0 crosses the whole (changing) tree. */
	e = xa_find(&xa, &i, ULONG_MAX, XA_MARK_2);
	if (present ? (e == NULL || i != anchors[0]) : e != NULL)
		bad = true;
	for (a = 1; present && a < ARRAY_SIZE(anchors); a++) {
		e = xa_find_after(&xa, &i, ULONG_MAX, XA_MARK_2);
		if (!e || i != anchors[a])
			bad = true;
	}
	if (present) {
		/* An entry present throughout is found by an XA_PRESENT search too. */
		i = anchors[1] - 5000;
		e = xa_find(&xa, &i, anchors[1], XA_PRESENT);
		if (!e || i < anchors[1] - 5000 || !entry_fits(i, e))
			bad = true;
		i = anchors[2] - 3;
		e = xa_find(&xa, &i, ULONG_MAX - 200, XA_PRESENT);
		if (!e || i != anchors[2])
			bad = true;
	}
	if (atomic_load_explicit(&anchor_seq, memory_order_acquire) != seq)
		return;		/* the writer moved: the answers prove nothing */
	atomic_fetch_add(&anchor_checks, 1);
	if (bad)
		atomic_fetch_add(&bad_anchor, 1);
}

static void *reader_fn(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
	unsigned long n = 0;

	while (!atomic_load(&stop)) {
		/* Half the time inside an outer read-side section (they nest). */
		bool outer = n & 1;

		if (outer)
			rcu_read_lock();
		for (int k = 0; k < 16; k++) {
			unsigned long idx = pick_index(&rng);

			check_load(idx);
			check_find(idx, rng >> 3);
		}
		if (outer)
			rcu_read_unlock();
		if (n % 8 == 0)
			check_region_walk(regions[n / 8 % ARRAY_SIZE(regions)]);
		if (n % 4 == 0)
			check_anchors();
		n++;
	}
	atomic_fetch_add(&reader_ops, n * 16);
	return NULL;
}

int main(void)
{
	struct writer_stats ws = { 0 };
	pthread_t readers[NR_READERS], writer;
	unsigned long i;
	void *e;

	plan_no_plan();
	watchdog(120);

	xa_init(&xa);
	for (i = 0; i < NR_READERS; i++)
		readers[i] = start_thread(reader_fn, (void *)i);
	writer = start_thread(writer_fn, &ws);
	join_thread(writer);
	atomic_store(&stop, 1);
	for (i = 0; i < NR_READERS; i++)
		join_thread(readers[i]);

	diag("writer: %lu ops in %lu cycles, %lu anchor flips, nodes %lu..%lu; readers: %lu ops, "
	     "%lu stable anchor checks", ws.ops, ws.cycles, ws.anchor_flips, ws.min_nodes,
	     ws.max_nodes, atomic_load(&reader_ops), atomic_load(&anchor_checks));
	is_uint(atomic_load(&bad_value), 0,
		"xarray: conc: xa_load under concurrent growth/shrink only returns entries stored at that index");
	is_uint(atomic_load(&bad_order), 0,
		"xarray: conc: two loads of one index never see an older generation after a newer one");
	is_uint(atomic_load(&bad_range), 0,
		"xarray: conc: xa_find/xa_find_after/xa_for_each_range return fitting entries in "
		"[start, max], in increasing index order");
	is_uint(atomic_load(&bad_anchor), 0,
		"xarray: conc: entries present (absent) for a whole phase are always (never) found "
		"by load, get_mark, marked and find");
	ok(atomic_load(&anchor_checks) > 0, "xarray: conc: readers checked the anchors while stable");
	ok(ws.max_nodes >= 11 && ws.min_nodes == 0,
	   "xarray: conc: the tree grew to full height (%lu nodes) and shrank to no node",
	   ws.max_nodes);
	ok(!ws.check_failed, "xarray: conc: xa_check passed after every region (under live readers)");
	ok(ws.cycles >= 2 && atomic_load(&reader_ops) > 100,
	   "xarray: conc: the writer and the readers both made progress");

	xa_for_each(&xa, i, e)
		xa_erase(&xa, i);
	ok(xa_empty(&xa) && xa_nr_nodes(&xa) == 0 && xa_check(&xa),
	   "xarray: conc: erasing what is left frees every node");
	xa_destroy(&xa);
	rcu_barrier();
	ok(true, "xarray: conc: rcu_barrier() ran every deferred node free");
	return done_testing();
}
