// SPDX-License-Identifier: MIT
/*
 * Pin accounting (Linux mm/gup.c try_grab_folio(), gup_put_folio(),
 * unpin_user_page*(), folio_add_pin(); include/linux/mm.h
 * folio_maybe_dma_pinned()): R-CNT, R-VMSTAT, R-ZERO, R-UNPIN, R-DIRTY,
 * R-HAS, R-OVF. Each case reads the refcount, _pincount and the
 * nr_foll_pin_{acquired,released} counters before and after every step.
 */
#include "helpers.h"

/* GET +1; PIN of a small folio +GUP_PIN_COUNTING_BIAS; both paths. */
static void test_small(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[4], *p;
	struct folio *folio;
	long acq0, rel0, r;
	int ref0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("acct-small");
	test_mmap_fixed(addr, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, 4 * PAGE_SIZE);
	p = gt_page(current->mm, addr);
	folio = page_folio(p);
	ref0 = folio_ref_count(folio);
	is_int(ref0, 1, "R-CNT: a mapped small anon folio has refcount 1 (its PTE)");

	acq0 = gt_acq();
	r = gt_get(addr, 1, 0, pages);
	is_int(r, 1, "R-CNT: get_user_pages() of one page returns 1");
	ok(pages[0] == p, "R-CNT: get_user_pages() returns the mapped page");
	is_int(folio_ref_count(folio), ref0 + 1, "R-CNT: FOLL_GET adds exactly 1 reference "
	       "(try_grab_folio)");
	ok(!folio_maybe_dma_pinned(folio), "R-CNT: a GET reference is not a pin "
	   "(folio_maybe_dma_pinned false)");
	is_int(gt_acq() - acq0, 0, "R-VMSTAT: FOLL_GET does not move nr_foll_pin_acquired");
	put_page(pages[0]);
	is_int(folio_ref_count(folio), ref0, "R-CNT: put_page() drops the GET reference");

	for (int fast = 0; fast < 2; fast++) {
		const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";

		acq0 = gt_acq();
		rel0 = gt_rel();
		r = gt_pin_any(fast, addr, 1, 0, pages);
		is_int(r, 1, "R-CNT: %s() of one page returns 1", how);
		ok(pages[0] == p, "R-CNT: %s() pins the mapped page", how);
		is_int(folio_ref_count(folio), ref0 + (int)GUP_PIN_COUNTING_BIAS,
		       "R-CNT: %s() on a small folio adds GUP_PIN_COUNTING_BIAS (1024) to the "
		       "refcount", how);
		ok(folio_maybe_dma_pinned(folio), "R-CNT: folio_maybe_dma_pinned() is true while "
		   "pinned (%s)", how);
		is_int(gt_acq() - acq0, 1, "R-VMSTAT: %s() of one page: nr_foll_pin_acquired +1",
		       how);
		r = gt_pin_any(fast, addr, 1, 0, pages + 1);
		is_int(folio_ref_count(folio), ref0 + 2 * (int)GUP_PIN_COUNTING_BIAS,
		       "R-CNT: a second pin of the same small folio adds another 1024 (%s)", how);
		unpin_user_page(pages[1]);
		unpin_user_page(pages[0]);
		is_int(folio_ref_count(folio), ref0, "R-UNPIN: unpin_user_page() removes the bias "
		       "(gup_put_folio, %s)", how);
		ok(!folio_maybe_dma_pinned(folio), "R-CNT: folio_maybe_dma_pinned() is false after "
		   "unpin (%s)", how);
		is_int(gt_rel() - rel0, 2, "R-VMSTAT: two unpins: nr_foll_pin_released +2 (%s)", how);
		is_int(gt_acq() - acq0, 2, "R-VMSTAT: two pins: nr_foll_pin_acquired +2 (%s)", how);
	}

	/* several pages in one call: one per page */
	acq0 = gt_acq();
	r = gt_pin(addr, 4, FOLL_WRITE, pages);
	is_int(r, 4, "R-PART: pin_user_pages() of 4 populated pages returns 4");
	is_int(gt_acq() - acq0, 4, "R-VMSTAT: 4 small pages pinned: nr_foll_pin_acquired +4");
	unpin_user_pages(pages, 4);
	is_int(gt_rel() - gt_acq(), 0, "R-VMSTAT: after unpin_user_pages() acquired == released");
	gt_teardown("small folio accounting", &t, 1);
}

/* A PMD THP: +n refcount, +n _pincount; a part counts only its pages. */
static void test_thp(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	static struct page *pages[HPAGE_PMD_NR];
	struct folio *folio;
	long acq0, rel0, r;
	int ref0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("acct-thp");
	if (!gt_thp(addr)) {
		skip(1, "no PMD THP could be faulted in");
		gt_teardown("THP accounting", &t, 1);
		return;
	}
	folio = page_folio(gt_page(current->mm, addr));
	ref0 = folio_ref_count(folio);
	is_int(folio_pincount(folio), 0, "R-CNT: a new THP has _pincount 0");
	for (int fast = 0; fast < 2; fast++) {
		const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";
		unsigned long wrong = 0;

		acq0 = gt_acq();
		rel0 = gt_rel();
		r = gt_pin_any(fast, addr, HPAGE_PMD_NR, FOLL_WRITE, pages);
		is_int(r, HPAGE_PMD_NR, "R-CNT: %s() of a whole THP returns 512", how);
		for (unsigned long i = 0; i < (unsigned long)(r > 0 ? r : 0); i++)
			wrong += pages[i] != folio_page(folio, i);
		is_uint(wrong, 0, "R-CNT: %s() returns every subpage in order", how);
		is_int(folio_ref_count(folio), ref0 + HPAGE_PMD_NR, "R-CNT: %s() of a whole THP "
		       "adds 1 reference per page (+512), not the bias", how);
		is_int(folio_pincount(folio), HPAGE_PMD_NR, "R-CNT: %s() of a whole THP adds 1 "
		       "_pincount per page (512)", how);
		ok(folio_maybe_dma_pinned(folio), "R-CNT: the THP is maybe-DMA-pinned (exact: "
		   "_pincount > 0) (%s)", how);
		is_int(gt_acq() - acq0, HPAGE_PMD_NR, "R-VMSTAT: nr_foll_pin_acquired moves by one "
		       "per base page: +512 (%s)", how);
		unpin_user_pages(pages, HPAGE_PMD_NR);
		is_int(folio_pincount(folio), 0, "R-UNPIN: unpin_user_pages() of the THP run takes "
		       "_pincount back to 0 (%s)", how);
		is_int(folio_ref_count(folio), ref0, "R-UNPIN: ... and the refcount back (%s)", how);
		is_int(gt_rel() - rel0, HPAGE_PMD_NR, "R-VMSTAT: nr_foll_pin_released +512 (%s)",
		       how);
		ok(!folio_maybe_dma_pinned(folio), "R-CNT: not maybe-pinned after unpin (%s)", how);

		/* a part of the THP: 10 pages from subpage 100 */
		acq0 = gt_acq();
		r = gt_pin_any(fast, addr + 100 * PAGE_SIZE, 10, 0, pages);
		is_int(r, 10, "R-CNT: %s() of 10 subpages of a THP returns 10", how);
		ok(r == 10 && pages[0] == folio_page(folio, 100) && pages[9] == folio_page(folio, 109),
		   "R-CNT: the part starts and ends at the right subpages (%s)", how);
		is_int(folio_pincount(folio), 10, "R-CNT: pinning part of a THP counts only that "
		       "part: _pincount 10 (%s)", how);
		is_int(folio_ref_count(folio), ref0 + 10, "R-CNT: ... refcount +10 (%s)", how);
		is_int(gt_acq() - acq0, 10, "R-VMSTAT: ... nr_foll_pin_acquired +10 (%s)", how);
		/* release one by one: each unpin releases exactly one */
		for (int i = 0; i < 10; i++)
			unpin_user_page(pages[i]);
		is_int(folio_pincount(folio), 0, "R-UNPIN: ten unpin_user_page() calls release the "
		       "ten subpage pins (%s)", how);
		is_int(folio_ref_count(folio), ref0, "R-UNPIN: refcount back (%s)", how);
	}
	/* a range that spans a THP tail and small pages after it */
	test_mmap_fixed(addr + PMD_SIZE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr + PMD_SIZE, 4 * PAGE_SIZE);
	acq0 = gt_acq();
	r = gt_pin(addr + PMD_SIZE - 2 * PAGE_SIZE, 6, 0, pages);
	is_int(r, 6, "R-PART: a pin across the end of a THP into small pages returns 6");
	is_int(folio_pincount(folio), 2, "R-CNT: only the 2 THP subpages count in _pincount");
	is_int(folio_ref_count(page_folio(pages[2])), 1 + (int)GUP_PIN_COUNTING_BIAS,
	       "R-CNT: the small pages after it are biased");
	is_int(gt_acq() - acq0, 6, "R-VMSTAT: nr_foll_pin_acquired +6");
	unpin_user_pages(pages, 6);
	ok(folio_pincount(folio) == 0 && folio_ref_count(folio) == ref0 &&
	   folio_ref_count(page_folio(gt_page(current->mm, addr + PMD_SIZE))) == 1,
	   "R-UNPIN: the mixed run is released (THP pincount 0 and refcount back, small refcount 1)");
	gt_teardown("THP accounting", &t, 1);
}

/* The zero page is pinned without counting; unpinning it is a no-op. */
static void test_zero_page(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[4];
	int zref;
	long acq0, rel0, r;

	test_boot(TEST_MEM_MB, 0, 0);
	zref = folio_ref_count(page_folio(pinmm_zero_page));
	t = test_process("acct-zero");
	test_mmap_fixed(addr, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	for (int fast = 0; fast < 2; fast++) {
		const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";
		unsigned long zeros = 0;

		acq0 = gt_acq();
		rel0 = gt_rel();
		r = gt_pin_any(fast, addr, 4, 0, pages);
		is_int(r, 4, "R-ZERO: a short-term read pin of untouched memory succeeds (%s)", how);
		for (long i = 0; i < r; i++)
			zeros += is_zero_page(pages[i]);
		is_uint(zeros, 4, "R-ZERO: ... and returns the shared zero page (read fault maps it; "
			"no FOLL_LONGTERM so no unshare) (%s)", how);
		is_int(folio_ref_count(page_folio(pinmm_zero_page)), zref,
		       "R-ZERO: pinning the zero page changes no refcount (%s)", how);
		is_int(gt_acq() - acq0, 0, "R-ZERO: nor nr_foll_pin_acquired (%s)", how);
		unpin_user_pages(pages, 4);
		unpin_user_page(pages[0]);	/* once more: still a no-op */
		is_int(folio_ref_count(page_folio(pinmm_zero_page)), zref,
		       "R-ZERO: unpinning the zero page is a no-op, even one time too many (%s)",
		       how);
		is_int(gt_rel() - rel0, 0, "R-ZERO: nr_foll_pin_released unchanged (%s)", how);
	}
	/* folio_add_pin on the zero folio: a no-op too */
	acq0 = gt_acq();
	folio_add_pin(page_folio(pinmm_zero_page));
	unpin_folio(page_folio(pinmm_zero_page));
	ok(gt_acq() == acq0 && folio_ref_count(page_folio(pinmm_zero_page)) == zref,
	   "R-ZERO: folio_add_pin()/unpin_folio() of the zero folio count nothing");
	/* GET takes a normal reference on it (Linux: only PIN is exempt) */
	r = gt_get(addr, 1, 0, pages);
	ok(r == 1 && is_zero_page(pages[0]) &&
	   folio_ref_count(page_folio(pinmm_zero_page)) == zref + 1,
	   "R-ZERO: FOLL_GET of the zero page takes an ordinary reference (only pins are exempt)");
	if (r == 1)
		put_page(pages[0]);
	ok(gt_has_pinned(current->mm), "R-HAS: MMF_HAS_PINNED is set by the FOLL_PIN call even "
	   "though only the zero page was returned (set before the walk)");
	gt_teardown("zero page", &t, 1);
}

/* unpin_user_pages(): NULL entries skipped; a negative errno as count WARNs. */
static void test_unpin_rules(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE, small = GT_BASE + PMD_SIZE;
	static struct page *pages[HPAGE_PMD_NR + 8];
	struct page *mixed[8];
	struct folio *thp = NULL, *f0, *f1;
	long acq0, rel0, r;
	unsigned long w;
	bool saved, have_thp;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("acct-unpin");
	have_thp = gt_thp(addr);
	test_mmap_fixed(small, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(small, 4 * PAGE_SIZE);
	f0 = page_folio(gt_page(current->mm, small));
	f1 = page_folio(gt_page(current->mm, small + PAGE_SIZE));

	/* NULL entries are skipped */
	r = gt_pin(small, 2, 0, pages);
	mixed[0] = pages[0];
	mixed[1] = NULL;
	mixed[2] = pages[1];
	mixed[3] = NULL;
	rel0 = gt_rel();
	unpin_user_pages(mixed, 4);
	ok(r == 2 && folio_ref_count(f0) == 1 && folio_ref_count(f1) == 1,
	   "R-UNPIN: unpin_user_pages() skips NULL entries and releases the others");
	is_int(gt_rel() - rel0, 2, "R-UNPIN: two real entries: nr_foll_pin_released +2");

	/* a THP run in the middle of small pages, interleaved with NULL */
	if (have_thp) {
		int ref0;

		thp = page_folio(gt_page(current->mm, addr));
		ref0 = folio_ref_count(thp);
		r = gt_pin(addr, HPAGE_PMD_NR, 0, pages);
		r += gt_pin(small, 2, 0, pages + HPAGE_PMD_NR + 1);
		pages[HPAGE_PMD_NR] = NULL;
		rel0 = gt_rel();
		unpin_user_pages(pages, HPAGE_PMD_NR + 3);
		is_int(r, HPAGE_PMD_NR + 2, "R-UNPIN: pinned a THP and two small pages");
		ok(folio_pincount(thp) == 0 && folio_ref_count(thp) == ref0 &&
		   folio_ref_count(f0) == 1 && folio_ref_count(f1) == 1,
		   "R-UNPIN: unpin_user_pages() releases a 512-entry THP run (batched per folio by "
		   "gup_folio_next), skips the NULL and releases the small pages after it");
		is_int(gt_rel() - rel0, HPAGE_PMD_NR + 2, "R-VMSTAT: nr_foll_pin_released +514");
	} else {
		skip(3, "no THP");
	}

	/* an errno passed as the count: WARN and nothing */
	folio_clear_dirty(f0);
	r = gt_pin(small, 2, 0, pages);
	acq0 = gt_acq();
	rel0 = gt_rel();
	w = gt_warn_begin(&saved);
	unpin_user_pages(pages, (unsigned long)(long)-EFAULT);
	unpin_user_pages_dirty_lock(pages, (unsigned long)(long)-ENOMEM, true);
	unpin_folios((struct folio **)pages, (unsigned long)(long)-EINVAL);
	unpin_user_page_range_dirty_lock(pages[0], (unsigned long)(long)-EFAULT, true);
	w = gt_warn_end(saved, w);
	ok(w >= 4, "R-UNPIN: unpin_user_pages / unpin_user_pages_dirty_lock / unpin_folios / "
	   "unpin_user_page_range_dirty_lock with a negative errno as npages WARN (%lu WARNs)", w);
	/* unpin_user_folio(): the count is unsigned long, pins are int */
	if (thp) {
		int tref = folio_ref_count(thp), tpin = folio_pincount(thp);

		w = gt_warn_begin(&saved);
		unpin_user_folio(thp, (unsigned long)-1L);
		unpin_user_folio(thp, 1UL << 32);
		w = gt_warn_end(saved, w);
		ok(w >= 1 && folio_pincount(thp) == tpin && folio_ref_count(thp) == tref &&
		   gt_rel() == rel0, "R-UNPIN: unpin_user_folio() of -1 or 2^32 pins WARNs and changes "
		   "nothing (truncated to int, -1 would add a pin to the THP's _pincount)");
	} else {
		skip(1, "no THP");
	}
	ok(folio_ref_count(f0) == 1 + (int)GUP_PIN_COUNTING_BIAS &&
	   folio_ref_count(f1) == 1 + (int)GUP_PIN_COUNTING_BIAS && gt_rel() == rel0 &&
	   gt_acq() == acq0 && !folio_test_dirty(f0), "R-UNPIN: ... and do nothing: pins kept, no release counted (-1 truncated to int "
	   "would have added a pin), nothing dirtied");
	unpin_user_pages(pages, (unsigned long)r);

	/* unpin of a page that was never pinned: WARN, no change */
	{
		struct page *p = gt_page(current->mm, small + 2 * PAGE_SIZE);
		struct folio *f = page_folio(p);
		int ref = folio_ref_count(f);

		rel0 = gt_rel();
		w = gt_warn_begin(&saved);
		unpin_user_page(p);
		w = gt_warn_end(saved, w);
		ok(w >= 1, "R-UNPIN: unpin_user_page() of a never-pinned small page WARNs "
		   "(gup_put_folio: refcount below the bias)");
		ok(folio_ref_count(f) == ref && gt_rel() == rel0,
		   "R-UNPIN: ... and changes nothing (refcount %d, nr_foll_pin_released unchanged)",
		   folio_ref_count(f));
		/* a GET reference is not a pin either */
		r = gt_get(small + 2 * PAGE_SIZE, 1, 0, pages);
		w = gt_warn_begin(&saved);
		unpin_user_page(pages[0]);
		w = gt_warn_end(saved, w);
		ok(w >= 1 && folio_ref_count(f) == ref + 1 && gt_rel() == rel0,
		   "R-UNPIN: unpin of a page held only by FOLL_GET WARNs and keeps the reference");
		put_page(pages[0]);
		if (thp) {
			int tref = folio_ref_count(thp);

			w = gt_warn_begin(&saved);
			unpin_user_page(folio_page(thp, 7));
			w = gt_warn_end(saved, w);
			ok(w >= 1 && folio_ref_count(thp) == tref && folio_pincount(thp) == 0 &&
			   gt_rel() == rel0, "R-UNPIN: unpin of a never-pinned THP subpage WARNs "
			   "(_pincount 0) and changes nothing");
		} else {
			skip(1, "no THP");
		}
	}
	gt_teardown("unpin rules", &t, 1);
}

/* unpin_user_pages_dirty_lock() and unpin_user_page_range_dirty_lock(). */
static void test_dirty(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE, small = GT_BASE + PMD_SIZE;
	static struct page *pages[HPAGE_PMD_NR];
	struct folio *f[4];
	unsigned long dirty;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("acct-dirty");
	test_mmap_fixed(small, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(small, 4 * PAGE_SIZE);
	for (int i = 0; i < 4; i++) {
		f[i] = page_folio(gt_page(current->mm, small + i * PAGE_SIZE));
		folio_clear_dirty(f[i]);
	}
	/* pin_user_pages() has no FOLL_TOUCH: pinning itself dirties nothing */
	r = gt_pin(small, 4, FOLL_WRITE, pages);
	dirty = 0;
	for (int i = 0; i < 4; i++)
		dirty += folio_test_dirty(f[i]);
	is_int(r, 4, "R-DIRTY: pinned 4 clean pages");
	is_uint(dirty, 0, "R-DIRTY: pin_user_pages() does not dirty (no FOLL_TOUCH)");
	unpin_user_pages_dirty_lock(pages, 2, false);
	unpin_user_pages_dirty_lock(pages + 2, 2, true);
	ok(!folio_test_dirty(f[0]) && !folio_test_dirty(f[1]),
	   "R-DIRTY: unpin_user_pages_dirty_lock(make_dirty=false) leaves the folios clean");
	ok(folio_test_dirty(f[2]) && folio_test_dirty(f[3]),
	   "R-DIRTY: unpin_user_pages_dirty_lock(make_dirty=true) marks each folio dirty");
	ok(!folio_test_locked(f[2]) && !folio_test_locked(f[3]),
	   "R-DIRTY: ... under the folio lock, released again");
	ok(folio_ref_count(f[0]) == 1 && folio_ref_count(f[3]) == 1 && gt_acq() == gt_rel(),
	   "R-DIRTY: both forms release the pins");

	if (gt_thp(addr)) {
		struct folio *thp = page_folio(gt_page(current->mm, addr));
		int ref0 = folio_ref_count(thp);
		long rel0 = gt_rel();

		folio_clear_dirty(thp);
		r = gt_pin(addr + 8 * PAGE_SIZE, 100, FOLL_WRITE, pages);
		unpin_user_page_range_dirty_lock(pages[0], 40, false);
		ok(!folio_test_dirty(thp) && folio_pincount(thp) == 60,
		   "R-DIRTY: unpin_user_page_range_dirty_lock(40, false) releases 40 subpage pins of "
		   "the THP, dirtying nothing");
		unpin_user_page_range_dirty_lock(pages[40], 60, true);
		ok(folio_test_dirty(thp), "R-DIRTY: unpin_user_page_range_dirty_lock(60, true) "
		   "dirties the THP");
		ok(r == 100 && folio_pincount(thp) == 0 && folio_ref_count(thp) == ref0 &&
		   gt_rel() - rel0 == 100, "R-DIRTY: ... and the whole run is released (pincount 0, "
		   "refcount back, nr_foll_pin_released +100)");
	} else {
		skip(3, "no THP");
	}
	gt_teardown("dirty on unpin", &t, 1);
}

/* A grab that would pass PAGE_REF_CEILING fails with -ENOMEM, changing nothing. */
static void test_ceiling(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[2] = { GT_POISON, GT_POISON };
	struct folio *folio;
	long acq0, r;
	unsigned long w;
	bool saved;
	int high;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("acct-ceiling");
	test_mmap_fixed(addr, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, PAGE_SIZE);
	folio = page_folio(gt_page(current->mm, addr));

	/* room for a GET (+1) but not for a pin (+1024) */
	high = PAGE_REF_CEILING - 10;
	folio_set_count(folio, high);
	for (int fast = 0; fast < 2; fast++) {
		const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";

		acq0 = gt_acq();
		w = gt_warn_begin(&saved);
		r = gt_pin_any(fast, addr, 1, 0, pages);
		gt_warn_end(saved, w);
		is_int(r, -ENOMEM, "R-OVF: %s() near PAGE_REF_CEILING fails with -ENOMEM "
		       "(try_grab_folio: folio_ref_try_add refuses)", how);
		ok(folio_ref_count(folio) == high && gt_acq() == acq0 && pages[0] == GT_POISON,
		   "R-OVF: ... and changes nothing: refcount %d, no pin counted, pages[] untouched "
		   "(%s)", folio_ref_count(folio), how);
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
	}
	r = gt_get(addr, 1, 0, pages);
	ok(r == 1 && folio_ref_count(folio) == high + 1,
	   "R-OVF: a GET (+1) still fits below the ceiling");
	if (r == 1)
		put_page(pages[0]);
	folio_set_count(folio, PAGE_REF_CEILING);
	pages[0] = GT_POISON;
	r = gt_get(addr, 1, 0, pages);
	is_int(r, -ENOMEM, "R-OVF: get_user_pages() at PAGE_REF_CEILING fails with -ENOMEM");
	ok(folio_ref_count(folio) == PAGE_REF_CEILING && pages[0] == GT_POISON,
	   "R-OVF: ... and the refcount did not move");
	r = get_user_pages_fast(addr, 1, 0, pages);
	is_int(r, -ENOMEM, "R-OVF: get_user_pages_fast() at the ceiling: the fast grab fails, "
	       "the slow path answers -ENOMEM");
	folio_set_count(folio, 1);
	r = gt_pin(addr, 1, 0, pages);
	ok(r == 1 && folio_ref_count(folio) == 1 + (int)GUP_PIN_COUNTING_BIAS,
	   "R-OVF: with the refcount restored the same pin succeeds");
	if (r == 1)
		unpin_user_page(pages[0]);
	gt_teardown("refcount ceiling", &t, 1);
}

/* MMF_HAS_PINNED: set by the first pin (slow or fast, or remote), sticky. */
static void test_has_pinned(void)
{
	struct task_struct *t[2];
	const unsigned long addr = GT_BASE;
	struct page *pages[1];
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	for (int fast = 0; fast < 2; fast++) {
		const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";

		t[fast] = test_process(fast ? "has-fast" : "has-slow");
		test_mmap_fixed(addr, PAGE_SIZE, GT_RW, MAP_PRIVATE);
		gt_populate(addr, PAGE_SIZE);
		ok(!gt_has_pinned(current->mm), "R-HAS: a new mm has MMF_HAS_PINNED clear (%s case)",
		   how);
		r = gt_get(addr, 1, 0, pages);
		put_page(pages[0]);
		ok(r == 1 && !gt_has_pinned(current->mm), "R-HAS: a GET does not set MMF_HAS_PINNED");
		r = gt_pin_any(fast, addr, 1, 0, pages);
		ok(r == 1 && gt_has_pinned(current->mm), "R-HAS: the first %s() sets "
		   "MMF_HAS_PINNED", how);
		unpin_user_page(pages[0]);
		ok(gt_has_pinned(current->mm), "R-HAS: MMF_HAS_PINNED stays set after the unpin "
		   "(sticky) (%s)", how);
		pinmm_task_detach();
	}
	pinmm_task_attach(t[0]);
	gt_teardown("MMF_HAS_PINNED", t, 2);
}

/* folio_add_pin()/folio_add_pins() and unpin_folio()/unpin_user_folio() balance. */
static void test_add_pin(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE, small = GT_BASE + PMD_SIZE;
	struct page *pages[1];
	struct folio *f;
	long acq0, rel0;
	int ref0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("acct-addpin");
	test_mmap_fixed(small, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(small, PAGE_SIZE);
	f = page_folio(gt_page(current->mm, small));
	gt_pin(small, 1, 0, pages);
	ref0 = folio_ref_count(f);
	acq0 = gt_acq();
	rel0 = gt_rel();
	folio_add_pin(f);
	is_int(folio_ref_count(f), ref0 + (int)GUP_PIN_COUNTING_BIAS,
	       "R-CNT: folio_add_pin() on a pinned small folio adds another bias");
	is_int(gt_acq() - acq0, 1, "R-VMSTAT: folio_add_pin() counts in nr_foll_pin_acquired "
	       "(pinmm, so that unpin_folio() balances)");
	is_int(folio_add_pins(f, 3), 0, "R-CNT: folio_add_pins(3) succeeds on a pinned folio");
	is_int(folio_ref_count(f), ref0 + 4 * (int)GUP_PIN_COUNTING_BIAS,
	       "R-CNT: folio_add_pins(3) adds 3 biases");
	unpin_user_folio(f, 3);
	unpin_folio(f);
	is_int(folio_ref_count(f), ref0, "R-UNPIN: unpin_user_folio(3) + unpin_folio() give the "
	       "four added pins back");
	is_int((gt_acq() - acq0) - (gt_rel() - rel0), 0,
	       "R-VMSTAT: added and released pins balance");
	unpin_user_page(pages[0]);
	is_int(folio_ref_count(f), 1, "R-UNPIN: and the original pin is released last");

	if (gt_thp(addr)) {
		struct folio *thp = page_folio(gt_page(current->mm, addr));
		int tref = folio_ref_count(thp);

		gt_pin(addr + 5 * PAGE_SIZE, 1, 0, pages);
		folio_add_pin(thp);
		ok(folio_pincount(thp) == 2 && folio_ref_count(thp) == tref + 2,
		   "R-CNT: folio_add_pin() on a THP adds 1 to _pincount and 1 to the refcount");
		is_int(folio_add_pins(thp, 5), 0, "R-CNT: folio_add_pins(5) on a pinned THP");
		is_int(folio_pincount(thp), 7, "R-CNT: ... _pincount 7");
		unpin_user_folio(thp, 5);
		unpin_folio(thp);
		unpin_user_page(pages[0]);
		ok(folio_pincount(thp) == 0 && folio_ref_count(thp) == tref,
		   "R-UNPIN: unpin_user_folio/unpin_folio/unpin_user_page release all 7 THP pins");
	} else {
		skip(4, "no THP");
	}
	gt_teardown("folio_add_pin", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_small();
	test_thp();
	test_zero_page();
	test_unpin_rules();
	test_dirty();
	test_ceiling();
	test_has_pinned();
	test_add_pin();
	return done_testing();
}
