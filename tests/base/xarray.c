// SPDX-License-Identifier: MIT
/*
 * xarray, single-threaded: the API's contract (empty array, store/load at
 * small and huge indices, overwrite, erase and shrink, insert, cmpxchg,
 * marks and their propagation, xa_find/xa_find_after with marks and limits,
 * xa_extract and xa_extract_slots (a slot that no longer holds its entry),
 * the xa_for_each* loops, value and error entries, -ENOMEM), then a
 * randomized model test that checks the array against a reference after
 * every operation, and xa_destroy().
 */
#include "helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/xarray.h>

#include <stdlib.h>
#include <string.h>

/* Pointer entries: 8-byte aligned, so the low two bits are clear. */
static long objs[64];
#define P(i)	((void *)&objs[i])

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* ---- death tests (debug builds check the locking contract) ---- */

static struct xarray death_xa;

static void store_with_lock_held(void *arg)
{
	(void)arg;
	xa_init(&death_xa);
	xa_lock(&death_xa);
	xa_store(&death_xa, 1, P(1), GFP_KERNEL);
}

static void unlocked_dunder_store(void *arg)
{
	(void)arg;
	xa_init(&death_xa);
	__xa_store(&death_xa, 1, P(1), GFP_KERNEL);
}

static void test_death(void)
{
#ifdef CONFIG_DEBUG_VM
	expect_bug(store_with_lock_held, NULL,
		   "xarray: xa_store() with xa_lock already held BUG()s (it takes xa_lock itself)");
	expect_bug(unlocked_dunder_store, NULL,
		   "xarray: __xa_store() without xa_lock held BUG()s in debug builds");
#else
	skip(2, "lock assertions need CONFIG_DEBUG_VM");
#endif
}

/* ---- the basic contract ---- */

static void test_empty(void)
{
	struct xarray xa;
	unsigned long index = 5;

	xa_init(&xa);
	ok(xa_empty(&xa), "xarray: a new array is empty");
	ok(!xa_load(&xa, 0) && !xa_load(&xa, 1) && !xa_load(&xa, ULONG_MAX),
	   "xarray: an empty array has no entry at 0, 1 or ULONG_MAX");
	ok(!xa_find(&xa, &index, ULONG_MAX, XA_PRESENT) && index == 5,
	   "xarray: xa_find on an empty array returns NULL and leaves *indexp unchanged");
	ok(!xa_marked(&xa, XA_MARK_0) && !xa_marked(&xa, XA_MARK_1) && !xa_marked(&xa, XA_MARK_2),
	   "xarray: an empty array has no mark set");
	ok(!xa_get_mark(&xa, 0, XA_MARK_0), "xarray: no mark at an index without an entry");
	xa_set_mark(&xa, 7, XA_MARK_0);
	ok(!xa_marked(&xa, XA_MARK_0) && xa_empty(&xa),
	   "xarray: xa_set_mark on an absent index is a no-op");
	ok(xa_erase(&xa, 3) == NULL, "xarray: erasing an absent index returns NULL");
	is_uint(xa_nr_nodes(&xa), 0, "xarray: an empty array has no node");
	ok(xa_check(&xa), "xarray: an empty array passes xa_check");
	xa_destroy(&xa);
	ok(xa_empty(&xa), "xarray: xa_destroy of an empty array leaves it empty");
}

static void test_store_load(void)
{
	struct xarray xa;
	static const unsigned long idx[] = {
		1, 63, 64, 4095, 4096, 262143, 262144, 1UL << 40, (1UL << 40) + 1,
		1UL << 62, ULONG_MAX - 64, ULONG_MAX - 1, ULONG_MAX,
	};
	bool all = true, neighbours = true;
	unsigned int i;

	xa_init(&xa);
	ok(xa_store(&xa, 0, P(0), GFP_KERNEL) == NULL, "xarray: storing at 0 in an empty array returns NULL");
	ok(xa_load(&xa, 0) == P(0), "xarray: the entry stored at 0 is loaded back");
	is_uint(xa_nr_nodes(&xa), 0, "xarray: a lone entry at index 0 lives in the head, no node");
	ok(!xa_load(&xa, 1), "xarray: with only index 0 stored, index 1 is absent");

	ok(xa_store(&xa, 1, P(1), GFP_KERNEL) == NULL, "xarray: storing at 1 returns NULL (no old entry)");
	is_uint(xa_nr_nodes(&xa), 1, "xarray: indices 0 and 1 share one leaf node");
	ok(xa_load(&xa, 0) == P(0) && xa_load(&xa, 1) == P(1),
	   "xarray: growing from a head entry keeps index 0 and adds index 1");
	ok(xa_store(&xa, 64, P(2), GFP_KERNEL) == NULL && xa_nr_nodes(&xa) == 3,
	   "xarray: index 64 needs a second level: a root over two leaves (3 nodes)");
	ok(xa_erase(&xa, 64) == P(2) && xa_nr_nodes(&xa) == 1,
	   "xarray: erasing 64 frees its leaf and shrinks the tree back to one node");
	ok(xa_erase(&xa, 1) == P(1) && xa_nr_nodes(&xa) == 0 && xa_load(&xa, 0) == P(0),
	   "xarray: erasing 1 shrinks to a head entry, index 0 still loads");
	ok(xa_check(&xa), "xarray: the tree is consistent after grow and shrink");

	ok(xa_store(&xa, ULONG_MAX, P(3), GFP_KERNEL) == NULL && xa_load(&xa, ULONG_MAX) == P(3),
	   "xarray: an entry at ULONG_MAX is stored and loaded back");
	is_uint(xa_nr_nodes(&xa), 21,
		"xarray: 0 and ULONG_MAX need an 11-level tree: the root and two 10-node paths");
	ok(xa_erase(&xa, ULONG_MAX) == P(3) && xa_nr_nodes(&xa) == 0,
	   "xarray: erasing ULONG_MAX frees its path and shrinks all the way to the head");
	xa_erase(&xa, 0);
	ok(xa_empty(&xa), "xarray: erasing the last entry empties the array");

	for (i = 0; i < ARRAY_SIZE(idx); i++)
		if (xa_store(&xa, idx[i], xa_mk_value(i), GFP_KERNEL) != NULL)
			all = false;
	ok(all, "xarray: stores at fresh small and huge indices return NULL");
	for (i = 0; i < ARRAY_SIZE(idx); i++) {
		if (xa_load(&xa, idx[i]) != xa_mk_value(i))
			all = false;
		if (idx[i] > 1 && xa_load(&xa, idx[i] - 2) && idx[i] - 2 != idx[i - 1])
			neighbours = false;
	}
	ok(all, "xarray: every index (1, 63, 64, 4095, 4096, 2^18, 2^40, 2^62, ULONG_MAX...) "
	   "loads what was stored there");
	ok(neighbours && !xa_load(&xa, (1UL << 40) - 1) && !xa_load(&xa, (1UL << 40) + 2) &&
	   !xa_load(&xa, 2),
	   "xarray: indices next to stored ones stay absent");
	ok(xa_check(&xa), "xarray: a sparse tree over the whole index space is consistent");

	ok(xa_store(&xa, 1UL << 40, P(4), GFP_KERNEL) == xa_mk_value(7) &&
	   xa_load(&xa, 1UL << 40) == P(4),
	   "xarray: overwriting returns the old entry and the new one loads");
	ok(xa_store(&xa, 1UL << 40, NULL, GFP_KERNEL) == P(4) && !xa_load(&xa, 1UL << 40),
	   "xarray: storing NULL erases and returns the old entry");
	ok(xa_erase(&xa, 1UL << 40) == NULL, "xarray: erasing an erased index returns NULL");
	for (i = 0; i < ARRAY_SIZE(idx); i++)
		xa_erase(&xa, idx[i]);
	ok(xa_empty(&xa) && xa_nr_nodes(&xa) == 0,
	   "xarray: erasing every entry frees every node (xa_nr_nodes back to 0)");
	xa_destroy(&xa);
}

static void test_insert_cmpxchg(void)
{
	struct xarray xa;
	void *ret;
	unsigned long warns;
	bool quiet;

	xa_init(&xa);
	is_int(xa_insert(&xa, 100, P(1), GFP_KERNEL), 0, "xarray: xa_insert into a free index returns 0");
	ok(xa_load(&xa, 100) == P(1), "xarray: the inserted entry loads back");
	is_int(xa_insert(&xa, 100, P(2), GFP_KERNEL), -EBUSY,
	       "xarray: xa_insert into an occupied index returns -EBUSY");
	ok(xa_load(&xa, 100) == P(1), "xarray: a failed xa_insert leaves the old entry");
	is_int(xa_insert(&xa, 101, NULL, GFP_KERNEL), -EINVAL,
	       "xarray: xa_insert of NULL returns -EINVAL (no reserved entries in pinmm)");
	is_int(xa_insert(&xa, 0, xa_mk_value(0), GFP_KERNEL), 0,
	       "xarray: xa_insert at index 0 works with a tree present");

	ok(xa_cmpxchg(&xa, 100, P(1), P(3), GFP_KERNEL) == P(1) && xa_load(&xa, 100) == P(3),
	   "xarray: xa_cmpxchg with the right old entry replaces it and returns the old one");
	ok(xa_cmpxchg(&xa, 100, P(1), P(4), GFP_KERNEL) == P(3) && xa_load(&xa, 100) == P(3),
	   "xarray: xa_cmpxchg with a wrong old entry returns the current one and changes nothing");
	ok(xa_cmpxchg(&xa, 5000, NULL, P(5), GFP_KERNEL) == NULL && xa_load(&xa, 5000) == P(5),
	   "xarray: xa_cmpxchg from NULL stores into a free index");
	ok(xa_cmpxchg(&xa, 5000, P(5), NULL, GFP_KERNEL) == P(5) && !xa_load(&xa, 5000),
	   "xarray: xa_cmpxchg to NULL erases");
	ok(xa_cmpxchg(&xa, 6000, P(6), P(7), GFP_KERNEL) == NULL && !xa_load(&xa, 6000),
	   "xarray: xa_cmpxchg on an absent index with a non-NULL old stores nothing");

	xa_lock(&xa);
	ret = __xa_store(&xa, 7, P(7), GFP_KERNEL);
	__xa_set_mark(&xa, 7, XA_MARK_2);
	ok(ret == NULL && xa_load(&xa, 7) == P(7) && xa_get_mark(&xa, 7, XA_MARK_2),
	   "xarray: __xa_store/__xa_set_mark under xa_lock; xa_load/xa_get_mark work with it held");
	{
		unsigned long i = 1;

		ok(xa_find(&xa, &i, ULONG_MAX, XA_MARK_2) == P(7) && i == 7,
		   "xarray: xa_find is valid with xa_lock held");
	}
	is_int(__xa_insert(&xa, 7, P(8), GFP_KERNEL), -EBUSY, "xarray: __xa_insert sees the occupied index");
	ok(__xa_cmpxchg(&xa, 7, P(7), P(8), GFP_KERNEL) == P(7), "xarray: __xa_cmpxchg under xa_lock");
	__xa_clear_mark(&xa, 7, XA_MARK_2);
	ok(__xa_erase(&xa, 7) == P(8) && !xa_marked(&xa, XA_MARK_2),
	   "xarray: __xa_clear_mark and __xa_erase under xa_lock");
	xa_unlock(&xa);

	quiet = pinmm_warn_set_quiet(true);
	warns = pinmm_warn_count();
	ret = xa_store(&xa, 9, xa_mk_internal(5), GFP_KERNEL);
	ok(xa_is_err(ret) && xa_err(ret) == -EINVAL && !xa_load(&xa, 9) &&
	   pinmm_warn_count() > warns,
	   "xarray: storing an internal entry WARNs and returns an -EINVAL error entry");
	pinmm_warn_set_quiet(quiet);

	xa_destroy(&xa);
	ok(xa_empty(&xa) && xa_nr_nodes(&xa) == 0, "xarray: xa_destroy empties the array");
}

static void test_values(void)
{
	void *e = xa_mk_value(0), *m = xa_mk_value(LONG_MAX), *err = XA_ERROR(-ENOMEM);
	bool round = true;
	unsigned long v;

	for (v = 0; v < 100000; v += 7)
		if (xa_to_value(xa_mk_value(v)) != v || !xa_is_value(xa_mk_value(v)))
			round = false;
	ok(round && xa_is_value(e) && xa_to_value(e) == 0 && xa_to_value(m) == LONG_MAX,
	   "xarray: xa_mk_value/xa_to_value round-trip 0..LONG_MAX and are xa_is_value");
	ok(!xa_is_value(P(0)) && !xa_is_value(NULL), "xarray: pointers and NULL are not value entries");
	ok(!xa_is_err(e) && !xa_is_err(m) && !xa_is_err(P(0)) && !xa_is_err(NULL) &&
	   xa_err(P(0)) == 0 && xa_err(NULL) == 0,
	   "xarray: values, pointers and NULL are not errors (xa_err 0)");
	ok(xa_is_err(err) && xa_err(err) == -ENOMEM && xa_err(XA_ERROR(-EBUSY)) == -EBUSY &&
	   xa_is_internal(err),
	   "xarray: an error entry is internal and carries its -errno");
}

static void test_marks(void)
{
	struct xarray xa;
	unsigned long i;

	xa_init(&xa);
	xa_store(&xa, 0, P(0), GFP_KERNEL);
	xa_set_mark(&xa, 0, XA_MARK_1);
	ok(xa_get_mark(&xa, 0, XA_MARK_1) && xa_marked(&xa, XA_MARK_1) &&
	   !xa_get_mark(&xa, 0, XA_MARK_0),
	   "xarray: a mark on the head entry (index 0) is kept and reported by xa_marked");
	xa_store(&xa, 1000, P(1), GFP_KERNEL);
	ok(xa_get_mark(&xa, 0, XA_MARK_1) && !xa_get_mark(&xa, 1000, XA_MARK_1),
	   "xarray: growing the tree from a head entry carries its mark into the new nodes");
	ok(xa_check(&xa), "xarray: marks are consistent after the grow");
	xa_erase(&xa, 1000);
	ok(xa_get_mark(&xa, 0, XA_MARK_1) && xa_marked(&xa, XA_MARK_1) && xa_nr_nodes(&xa) == 0,
	   "xarray: shrinking back to a head entry keeps its mark");
	xa_store(&xa, 0, P(2), GFP_KERNEL);
	ok(xa_get_mark(&xa, 0, XA_MARK_1), "xarray: overwriting an entry keeps its marks");
	xa_erase(&xa, 0);
	ok(!xa_marked(&xa, XA_MARK_1), "xarray: erasing the head entry clears its marks");
	xa_store(&xa, 0, P(0), GFP_KERNEL);
	ok(!xa_get_mark(&xa, 0, XA_MARK_1), "xarray: an entry stored after an erase has no old marks");

	/* Propagation through a tall tree. */
	xa_store(&xa, 1UL << 40, P(3), GFP_KERNEL);
	xa_store(&xa, (1UL << 40) + 1, P(4), GFP_KERNEL);
	xa_store(&xa, 70, P(5), GFP_KERNEL);
	xa_set_mark(&xa, 1UL << 40, XA_MARK_0);
	ok(xa_get_mark(&xa, 1UL << 40, XA_MARK_0) && xa_marked(&xa, XA_MARK_0) &&
	   !xa_get_mark(&xa, (1UL << 40) + 1, XA_MARK_0),
	   "xarray: a mark set deep in the tree is seen on its entry only, and by xa_marked");
	xa_set_mark(&xa, (1UL << 40) + 1, XA_MARK_0);
	xa_clear_mark(&xa, 1UL << 40, XA_MARK_0);
	ok(xa_marked(&xa, XA_MARK_0) && xa_get_mark(&xa, (1UL << 40) + 1, XA_MARK_0),
	   "xarray: clearing one of two marks in a leaf keeps the mark recorded above");
	xa_clear_mark(&xa, (1UL << 40) + 1, XA_MARK_0);
	ok(!xa_marked(&xa, XA_MARK_0), "xarray: clearing the last mark clears it up to the array");
	xa_set_mark(&xa, 70, XA_MARK_2);
	xa_set_mark(&xa, 1UL << 40, XA_MARK_2);
	xa_erase(&xa, 1UL << 40);
	ok(xa_marked(&xa, XA_MARK_2) && xa_get_mark(&xa, 70, XA_MARK_2),
	   "xarray: erasing one marked entry leaves another's mark");
	xa_erase(&xa, 70);
	ok(!xa_marked(&xa, XA_MARK_2), "xarray: erasing the last marked entry clears xa_marked");
	xa_store(&xa, 1UL << 40, P(3), GFP_KERNEL);
	ok(!xa_get_mark(&xa, 1UL << 40, XA_MARK_2),
	   "xarray: re-storing at an erased index does not bring its mark back");
	xa_set_mark(&xa, 12345, XA_MARK_0);
	ok(!xa_marked(&xa, XA_MARK_0) && !xa_get_mark(&xa, 12345, XA_MARK_0),
	   "xarray: setting a mark where there is no entry does nothing");
	ok(xa_check(&xa), "xarray: mark bitmaps agree with the entries below them");
	xa_destroy(&xa);
	ok(!xa_marked(&xa, XA_MARK_0) && !xa_marked(&xa, XA_MARK_1) && !xa_marked(&xa, XA_MARK_2),
	   "xarray: xa_destroy clears the mark summary");
	i = 0;
	ok(!xa_find(&xa, &i, ULONG_MAX, XA_PRESENT), "xarray: nothing is found after xa_destroy");
}

static void test_find(void)
{
	static const unsigned long idx[] = {
		5, 63, 64, 70, 4095, 4096, 12288, 262144, 1UL << 40, ULONG_MAX - 1, ULONG_MAX,
	};
	struct xarray xa;
	unsigned long i, n;
	void *e;
	bool good;

	xa_init(&xa);
	for (n = 0; n < ARRAY_SIZE(idx); n++)
		xa_store(&xa, idx[n], xa_mk_value(n), GFP_KERNEL);

	i = 0;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(0) && i == 5,
	   "xarray: xa_find(XA_PRESENT) from 0 finds the first entry and its index");
	i = 6;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(1) && i == 63,
	   "xarray: xa_find from the middle of a leaf finds the next entry in it");
	i = 71;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(4) && i == 4095,
	   "xarray: xa_find crosses leaf boundaries to the next populated leaf");
	i = 4096 + 1;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(6) && i == 12288,
	   "xarray: xa_find skips empty subtrees");
	i = 262145;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(8) && i == 1UL << 40,
	   "xarray: xa_find jumps a wide gap to 2^40");
	i = 71;
	ok(!xa_find(&xa, &i, 4094, XA_PRESENT) && i == 71,
	   "xarray: xa_find returns NULL when the next entry is past max, *indexp unchanged");
	i = 71;
	ok(xa_find(&xa, &i, 4095, XA_PRESENT) == xa_mk_value(4) && i == 4095,
	   "xarray: max is inclusive");
	i = 100;
	ok(!xa_find(&xa, &i, 99, XA_PRESENT) && i == 100,
	   "xarray: xa_find with *indexp > max returns NULL");
	i = ULONG_MAX;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(10) && i == ULONG_MAX,
	   "xarray: xa_find from ULONG_MAX finds the entry at ULONG_MAX");

	i = 5;
	ok(xa_find_after(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(1) && i == 63,
	   "xarray: xa_find_after finds the next entry strictly after *indexp");
	i = ULONG_MAX - 1;
	ok(xa_find_after(&xa, &i, ULONG_MAX, XA_PRESENT) == xa_mk_value(10) && i == ULONG_MAX,
	   "xarray: xa_find_after reaches ULONG_MAX");
	ok(!xa_find_after(&xa, &i, ULONG_MAX, XA_PRESENT) && i == ULONG_MAX,
	   "xarray: xa_find_after(ULONG_MAX) returns NULL without wrapping to 0");
	i = 64;
	ok(!xa_find_after(&xa, &i, 69, XA_PRESENT) && i == 64,
	   "xarray: xa_find_after respects max and leaves *indexp unchanged on NULL");

	/* Marks across node boundaries. */
	xa_set_mark(&xa, 70, XA_MARK_1);
	xa_set_mark(&xa, 262144, XA_MARK_1);
	xa_set_mark(&xa, ULONG_MAX, XA_MARK_1);
	xa_set_mark(&xa, 4096, XA_MARK_0);
	i = 0;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_MARK_1) == xa_mk_value(3) && i == 70,
	   "xarray: a mark set on an entry is found by xa_find from an earlier index");
	i = 71;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_MARK_1) == xa_mk_value(7) && i == 262144,
	   "xarray: xa_find(mark) skips unmarked entries and subtrees");
	ok(xa_find_after(&xa, &i, ULONG_MAX, XA_MARK_1) == xa_mk_value(10) && i == ULONG_MAX,
	   "xarray: xa_find_after(mark) jumps to the next marked entry at ULONG_MAX");
	i = 71;
	ok(!xa_find(&xa, &i, 262143, XA_MARK_1) && i == 71,
	   "xarray: xa_find(mark) honours max");
	i = 0;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_MARK_0) == xa_mk_value(5) && i == 4096,
	   "xarray: marks are independent (XA_MARK_0 finds only its entry)");
	i = 0;
	ok(!xa_find(&xa, &i, ULONG_MAX, XA_MARK_2), "xarray: xa_find of an unused mark finds nothing");
	xa_clear_mark(&xa, 262144, XA_MARK_1);
	i = 71;
	ok(xa_find(&xa, &i, ULONG_MAX, XA_MARK_1) == xa_mk_value(10) && i == ULONG_MAX,
	   "xarray: a cleared mark is no longer found");

	/* The loops. */
	n = 0;
	good = true;
	xa_for_each(&xa, i, e) {
		if (n >= ARRAY_SIZE(idx) || i != idx[n] || e != xa_mk_value(n))
			good = false;
		n++;
	}
	ok(good && n == ARRAY_SIZE(idx), "xarray: xa_for_each visits exactly the stored entries in index order");
	n = 0;
	good = true;
	xa_for_each_range(&xa, i, e, 64, 4096) {
		if (i != idx[2 + n] || e != xa_mk_value(2 + n))
			good = false;
		n++;
	}
	ok(good && n == 4, "xarray: xa_for_each_range visits the entries in [start, last] only");
	n = 0;
	good = true;
	xa_for_each_start(&xa, i, e, 1UL << 40) {
		if (i != idx[8 + n])
			good = false;
		n++;
	}
	ok(good && n == 3, "xarray: xa_for_each_start begins at start and runs to ULONG_MAX");
	n = 0;
	good = true;
	xa_for_each_marked(&xa, i, e, XA_MARK_1) {
		if ((n == 0 && i != 70) || (n == 1 && i != ULONG_MAX))
			good = false;
		n++;
	}
	ok(good && n == 2, "xarray: xa_for_each_marked visits only the marked entries, in order");
	n = 0;
	xa_for_each(&xa, i, e) {
		xa_erase(&xa, i);	/* the body may modify the array */
		n++;
	}
	ok(n == ARRAY_SIZE(idx) && xa_empty(&xa) && xa_nr_nodes(&xa) == 0,
	   "xarray: erasing inside xa_for_each visits everything and empties the array");
	xa_destroy(&xa);
}

static void test_extract_slots(void)
{
	struct xarray xa;
	void *dst[8];
	xa_slot_t *slots[8];
	unsigned int n;

	xa_init(&xa);
	xa_store(&xa, 0, P(0), GFP_KERNEL);
	rcu_read_lock();
	n = xa_extract_slots(&xa, dst, slots, 0, 100, 8, XA_PRESENT);
	ok(n == 1 && dst[0] == P(0) && xa_slot_reload(slots[0]) == P(0),
	   "xarray: xa_extract_slots of a lone head entry; its slot reloads it");
	xa_store(&xa, 70, P(1), GFP_KERNEL);	/* the tree grows: the entry moves into a node */
	ok(xa_slot_reload(slots[0]) != P(0),
	   "xarray: after the tree grew, the old head slot no longer holds the entry");
	rcu_read_unlock();

	for (unsigned long i = 1; i < 6; i++)
		xa_store(&xa, i, P(i + 10), GFP_KERNEL);
	rcu_read_lock();
	n = xa_extract_slots(&xa, dst, slots, 2, 70, 8, XA_PRESENT);
	ok(n == 5 && dst[0] == P(12) && dst[3] == P(15) && dst[4] == P(1),
	   "xarray: xa_extract_slots copies [2, 70] in index order");
	{
		bool same = true;

		for (unsigned int i = 0; i < n; i++)
			same &= xa_slot_reload(slots[i]) == dst[i];
		ok(same, "xarray: each slot reloads its entry while nothing changed");
	}
	xa_erase(&xa, 3);
	xa_store(&xa, 4, P(40), GFP_KERNEL);
	ok(xa_slot_reload(slots[1]) == NULL, "xarray: an erased entry's slot reloads NULL");
	ok(xa_slot_reload(slots[2]) == P(40), "xarray: a replaced entry's slot reloads the new one");
	ok(xa_slot_reload(slots[0]) == P(12), "xarray: the others still reload theirs");
	rcu_read_unlock();
	ok(xa_extract(&xa, dst, 0, ULONG_MAX, 8, XA_PRESENT) == 6,
	   "xarray: xa_extract counts what is left (0, 1, 2, 4, 5, 70)");
	ok(xa_extract(&xa, dst, 0, ULONG_MAX, 3, XA_PRESENT) == 3 && dst[2] == P(12),
	   "xarray: xa_extract stops at @n");
	xa_destroy(&xa);
}

static void test_enomem(void)
{
	struct xarray xa;
	unsigned long before;
	unsigned int nth;
	void *ret;
	bool unchanged = true, errs = true;

	xa_init(&xa);
	xa_fail_nth_alloc(1);
	ret = xa_store(&xa, 1000, P(1), GFP_KERNEL);
	ok(xa_is_err(ret) && xa_err(ret) == -ENOMEM && xa_empty(&xa) && xa_nr_nodes(&xa) == 0,
	   "xarray: a failed node allocation returns an -ENOMEM error entry, array unchanged");

	xa_store(&xa, 0, P(0), GFP_KERNEL);
	xa_store(&xa, 5, P(5), GFP_KERNEL);
	xa_set_mark(&xa, 5, XA_MARK_0);
	before = xa_nr_nodes(&xa);
	/* 2^40 needs 6 new levels above and a 6-node path: fail each in turn. */
	for (nth = 1; nth <= 12; nth++) {
		xa_fail_nth_alloc(nth);
		ret = xa_store(&xa, 1UL << 40, P(9), GFP_KERNEL);
		if (!xa_is_err(ret) || xa_err(ret) != -ENOMEM)
			errs = false;
		if (xa_nr_nodes(&xa) != before || xa_load(&xa, 1UL << 40) ||
		    xa_load(&xa, 0) != P(0) || xa_load(&xa, 5) != P(5) ||
		    !xa_get_mark(&xa, 5, XA_MARK_0) || !xa_check(&xa))
			unchanged = false;
	}
	xa_fail_nth_alloc(0);
	ok(errs, "xarray: failing any of the 12 allocations of a growing store returns -ENOMEM");
	ok(unchanged, "xarray: after each -ENOMEM the tree is exactly as before (grown levels undone)");
	xa_fail_nth_alloc(1);
	is_int(xa_insert(&xa, 1UL << 30, P(2), GFP_KERNEL), -ENOMEM,
	       "xarray: xa_insert returns -ENOMEM when a node cannot be allocated");
	xa_fail_nth_alloc(1);
	ret = xa_cmpxchg(&xa, 1UL << 30, NULL, P(2), GFP_KERNEL);
	ok(xa_is_err(ret) && xa_err(ret) == -ENOMEM && !xa_load(&xa, 1UL << 30),
	   "xarray: xa_cmpxchg returns an -ENOMEM error entry and stores nothing");
	xa_fail_nth_alloc(0);
	ok(xa_store(&xa, 1UL << 40, P(9), GFP_KERNEL) == NULL && xa_load(&xa, 1UL << 40) == P(9) &&
	   xa_check(&xa),
	   "xarray: with memory back, the same store succeeds");
	xa_destroy(&xa);
}

/* ---- randomized model test ---- */

#define MODEL_OPS	4000
#define MODEL_MAX_KEYS	400

static unsigned long keys[MODEL_MAX_KEYS];	/* sorted, unique */
static unsigned int nkeys;
static void *model[MODEL_MAX_KEYS];
static bool model_mark[MODEL_MAX_KEYS][XA_MAX_MARKS];

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static void add_range(unsigned long first, unsigned int n)
{
	for (unsigned int i = 0; i < n && nkeys < MODEL_MAX_KEYS; i++)
		keys[nkeys++] = first + i;
}

static void model_keys(void)
{
	unsigned int i, j;

	add_range(0, 100);			/* one or two leaves under the head */
	add_range(4096 - 40, 80);		/* a second-level boundary */
	add_range((1UL << 40) - 40, 80);	/* deep */
	add_range(ULONG_MAX - 63, 64);		/* the very top */
	while (nkeys < MODEL_MAX_KEYS)
		keys[nkeys++] = next_rand() >> (next_rand() % 64);
	qsort(keys, nkeys, sizeof(keys[0]), cmp_ul);
	for (i = j = 1; i < nkeys; i++)
		if (keys[i] != keys[j - 1])
			keys[j++] = keys[i];
	nkeys = j;
}

static void *random_entry(void)
{
	if (next_rand() & 1)
		return P(next_rand() % ARRAY_SIZE(objs));
	return xa_mk_value(next_rand() >> 2);
}

/* The model's answer to xa_find(start, max, filter). */
static int model_find(unsigned long start, unsigned long max, xa_mark_t filter)
{
	for (unsigned int k = 0; k < nkeys; k++) {
		if (keys[k] < start || !model[k])
			continue;
		if (keys[k] > max)
			return -1;
		if (filter == XA_PRESENT || model_mark[k][filter])
			return (int)k;
	}
	return -1;
}

static xa_mark_t random_filter(void)
{
	unsigned int f = next_rand() % 4;

	return f == 3 ? XA_PRESENT : f;
}

static unsigned long random_index(void)
{
	unsigned long k = keys[next_rand() % nkeys];

	switch (next_rand() % 4) {
	case 0:
		return k;
	case 1:
		return k + 1;
	case 2:
		return k - 1;
	default:
		return next_rand();
	}
}

/* Windows of keys the fill phases store into. */
static bool key_in_window(unsigned int k, unsigned int window)
{
	switch (window) {
	case 1:
		return keys[k] < 3;			/* the head entry and one leaf */
	case 2:
		return keys[k] < 100;			/* one or two leaves, one level */
	case 3:
		return keys[k] == 0 || keys[k] > ULONG_MAX - 64;	/* tall and thin */
	default:
		return true;
	}
}

/*
 * A key for the next op: in a drain phase usually a present one (so the
 * array does empty), otherwise one of the current window.
 */
static unsigned int pick_key(unsigned int window, bool draining)
{
	static unsigned int cand[MODEL_MAX_KEYS];
	bool present = draining && next_rand() % 4;
	unsigned int k, n = 0;

	for (k = 0; k < nkeys; k++)
		if (present ? model[k] != NULL : key_in_window(k, window))
			cand[n++] = k;
	if (!n)
		return (unsigned int)(next_rand() % nkeys);
	return cand[next_rand() % n];
}

struct model_stats {
	unsigned long ops, bad_load, bad_mark, bad_find, bad_extract, bad_check, bad_ret, bad_absent;
	unsigned long max_nodes, emptied, head_only;
	long first_bad_op;
};

static void model_note_bad(struct model_stats *st, unsigned long *counter)
{
	(*counter)++;
	if (st->first_bad_op < 0)
		st->first_bad_op = (long)st->ops;
}

static void model_verify(struct xarray *xa, struct model_stats *st)
{
	bool any[XA_MAX_MARKS] = { false, false, false }, empty = true;
	unsigned int k, q;
	xa_mark_t m;

	for (k = 0; k < nkeys; k++) {
		if (xa_load(xa, keys[k]) != model[k])
			model_note_bad(st, &st->bad_load);
		for (m = 0; m < XA_MAX_MARKS; m++) {
			if (xa_get_mark(xa, keys[k], m) != model_mark[k][m])
				model_note_bad(st, &st->bad_mark);
			any[m] |= model_mark[k][m];
		}
		if (model[k])
			empty = false;
	}
	for (m = 0; m < XA_MAX_MARKS; m++)
		if (xa_marked(xa, m) != any[m])
			model_note_bad(st, &st->bad_mark);
	if (xa_empty(xa) != empty)
		model_note_bad(st, &st->bad_load);
	for (q = 0; q < 3; q++) {
		unsigned long idx = random_index();
		unsigned long *hit = bsearch(&idx, keys, nkeys, sizeof(keys[0]), cmp_ul);

		if (!hit && xa_load(xa, idx))
			model_note_bad(st, &st->bad_absent);
	}
	for (q = 0; q < 4; q++) {
		unsigned long start = random_index(), max, i = start;
		xa_mark_t f = random_filter();
		int want;
		void *got;

		max = (next_rand() & 1) ? ULONG_MAX : start + (next_rand() % 100000);
		if (max < start)
			max = ULONG_MAX;
		want = model_find(start, max, f);
		got = xa_find(xa, &i, max, f);
		if (want < 0 ? (got || i != start) : (got != model[want] || i != keys[want]))
			model_note_bad(st, &st->bad_find);
		if (want >= 0) {
			int after = model_find(keys[want] + 1, max, f);

			if (keys[want] == ULONG_MAX)
				after = -1;
			got = xa_find_after(xa, &i, max, f);
			if (after < 0 ? (got || i != keys[want])
				      : (got != model[after] || i != keys[after]))
				model_note_bad(st, &st->bad_find);
		}
	}
	for (q = 0; q < 2; q++) {
		/* xa_extract() returns exactly what xa_find()/xa_find_after() walk through */
		unsigned long start = random_index(), max, i;
		unsigned int n = 1 + (unsigned int)(next_rand() % 150), got, k2 = 0;
		xa_mark_t f = random_filter();
		void *dst[150];
		void *e;

		max = (next_rand() & 1) ? ULONG_MAX : start + (next_rand() % 100000);
		if (max < start)
			max = ULONG_MAX;
		got = xa_extract(xa, dst, start, max, n, f);
		i = start;
		for (e = xa_find(xa, &i, max, f); e && k2 < n; e = xa_find_after(xa, &i, max, f)) {
			if (k2 >= got || dst[k2] != e)
				break;
			k2++;
		}
		if (k2 != got || (got < n && e))
			model_note_bad(st, &st->bad_extract);
	}
	if (!xa_check(xa))
		model_note_bad(st, &st->bad_check);
	if (xa_nr_nodes(xa) > st->max_nodes)
		st->max_nodes = xa_nr_nodes(xa);
}

static void test_model(void)
{
	struct model_stats st = { .first_bad_op = -1 };
	struct xarray xa;
	bool walk_ok = true;

	model_keys();
	xa_init(&xa);
	for (st.ops = 0; st.ops < MODEL_OPS; st.ops++) {
		/*
		 * Phases of 250 ops: fill (stores dominate) into a window of
		 * keys, then drain (erases of present keys dominate), so the
		 * tree keeps growing, shrinking, emptying, and passing through
		 * the "lone entry at index 0 in the head" state.
		 */
		unsigned int phase = (unsigned int)(st.ops / 250);
		bool draining = phase & 1;
		unsigned int window = (phase / 2) % 4;
		unsigned int k = pick_key(window, draining);
		unsigned long idx = keys[k];
		unsigned int op = next_rand() % 100;
		xa_mark_t m = next_rand() % XA_MAX_MARKS;
		void *e = random_entry(), *ret;

		if (op < (draining ? 15u : 40u)) {			/* store */
			ret = xa_store(&xa, idx, e, GFP_KERNEL);
			if (ret != model[k])
				model_note_bad(&st, &st.bad_ret);
			model[k] = e;
		} else if (op < 65) {					/* erase */
			ret = xa_erase(&xa, idx);
			if (ret != model[k])
				model_note_bad(&st, &st.bad_ret);
			model[k] = NULL;
			memset(model_mark[k], 0, sizeof(model_mark[k]));
		} else if (op < 72) {					/* insert */
			int r = xa_insert(&xa, idx, e, GFP_KERNEL);

			if (r != (model[k] ? -EBUSY : 0))
				model_note_bad(&st, &st.bad_ret);
			if (!model[k])
				model[k] = e;
		} else if (op < 80) {					/* cmpxchg */
			void *old = (next_rand() & 1) ? model[k] : random_entry();
			void *new = (next_rand() % 4) ? e : NULL;

			ret = xa_cmpxchg(&xa, idx, old, new, GFP_KERNEL);
			if (ret != model[k])
				model_note_bad(&st, &st.bad_ret);
			if (model[k] == old) {
				model[k] = new;
				if (!new)
					memset(model_mark[k], 0, sizeof(model_mark[k]));
			}
		} else if (op < 92) {					/* set mark */
			xa_set_mark(&xa, idx, m);
			if (model[k])
				model_mark[k][m] = true;
		} else {						/* clear mark */
			xa_clear_mark(&xa, idx, m);
			model_mark[k][m] = false;
		}
		if (xa_empty(&xa))
			st.emptied++;
		else if (xa_nr_nodes(&xa) == 0)
			st.head_only++;
		model_verify(&xa, &st);
	}

	is_uint(st.bad_ret, 0, "xarray: model: store/erase/insert/cmpxchg return what the "
		"reference map says was there");
	is_uint(st.bad_load, 0, "xarray: model: xa_load of every key agrees with the reference "
		"after every op");
	is_uint(st.bad_absent, 0, "xarray: model: indices never stored stay absent");
	is_uint(st.bad_mark, 0, "xarray: model: xa_get_mark and xa_marked agree with the "
		"reference marks after every op");
	is_uint(st.bad_find, 0, "xarray: model: xa_find/xa_find_after (any filter, random start "
		"and max) find what the reference finds");
	is_uint(st.bad_extract, 0, "xarray: model: xa_extract (any filter, random start, max "
		"and count) copies what xa_find/xa_find_after walk through, in order");
	is_uint(st.bad_check, 0, "xarray: model: counts, mark bitmaps and tree shape stay "
		"consistent (xa_check) after every op");
	if (st.first_bad_op >= 0)
		diag("first bad op: %ld", st.first_bad_op);
	diag("model: %u keys, %lu ops, at most %lu nodes, empty after %lu ops, "
	     "a lone head entry after %lu", nkeys, st.ops, st.max_nodes, st.emptied, st.head_only);
	ok(st.max_nodes >= 21 && st.emptied > 0 && st.head_only > 0,
	   "xarray: model: the tree grew to full height, emptied, and shrank to a head "
	   "entry along the way");

	{
		unsigned long i;
		unsigned int k = 0;
		void *e;

		xa_for_each(&xa, i, e) {
			while (k < nkeys && !model[k])
				k++;
			if (k >= nkeys || keys[k] != i || model[k] != e)
				walk_ok = false;
			k++;
		}
		while (k < nkeys && !model[k])
			k++;
		ok(walk_ok && k >= nkeys,
		   "xarray: model: xa_for_each at the end walks exactly the reference entries");
	}
	for (unsigned int k = 0; k < nkeys; k++)
		if (model[k])
			xa_erase(&xa, keys[k]);
	ok(xa_empty(&xa) && xa_nr_nodes(&xa) == 0 && !xa_marked(&xa, XA_MARK_0) &&
	   !xa_marked(&xa, XA_MARK_1) && !xa_marked(&xa, XA_MARK_2),
	   "xarray: model: erasing every remaining entry frees every node and every mark");
	xa_destroy(&xa);
}

static void test_destroy(void)
{
	struct xarray xa;
	unsigned long i;
	bool reuse;

	xa_init(&xa);
	for (i = 0; i < 5000; i++)
		xa_store(&xa, i * 37, xa_mk_value(i), GFP_KERNEL);
	xa_store(&xa, ULONG_MAX, P(1), GFP_KERNEL);
	xa_set_mark(&xa, 37 * 100, XA_MARK_0);
	ok(xa_nr_nodes(&xa) > 50, "xarray: a dense tree of 5000 entries has many nodes (%lu)",
	   xa_nr_nodes(&xa));
	xa_destroy(&xa);
	ok(xa_empty(&xa) && xa_nr_nodes(&xa) == 0 && !xa_marked(&xa, XA_MARK_0) &&
	   !xa_load(&xa, 37) && !xa_load(&xa, ULONG_MAX),
	   "xarray: xa_destroy frees every node and leaves the array empty");
	xa_store(&xa, 42, P(2), GFP_KERNEL);
	reuse = xa_load(&xa, 42) == P(2) && xa_check(&xa);
	xa_destroy(&xa);
	ok(reuse, "xarray: the array is usable again after xa_destroy");
}

int main(void)
{
	plan_no_plan();
	watchdog(120);

	test_death();
	test_empty();
	test_store_load();
	test_insert_cmpxchg();
	test_values();
	test_marks();
	test_find();
	test_extract_slots();
	test_enomem();
	test_model();
	test_destroy();

	/* Let the call_rcu() frees of every removed node run before exit. */
	rcu_barrier();
	ok(true, "xarray: rcu_barrier() returns after all deferred node frees");
	return done_testing();
}
