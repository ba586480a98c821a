// SPDX-License-Identifier: MIT
/*
 * FOLL_LONGTERM (Linux mm/gup.c __gup_longterm_locked(),
 * check_and_migrate_movable_pages(); include/linux/mm.h
 * folio_is_longterm_pinnable(); include/linux/sched/mm.h
 * memalloc_pin_save()): R-LT. A long-term pin never leaves a folio in
 * ZONE_MOVABLE or a CMA pageblock: it migrates it to pinnable memory first
 * (slow and fast paths, small pages and THPs), memory faulted in under the
 * pin is allocated pinnable directly, failure leaves nothing pinned, and
 * short-term pins do not migrate — which is why a short-term pin makes
 * alloc_contig_range() and offline_pages() fail with -EBUSY (R-PINNED-SIDE).
 * A folio another migrator holds isolated is counted but never taken onto
 * the pin's own migration list (isolation owns folio->lru): the pin retries
 * until it comes back (Linux's collect_longterm_unpinnable_folios()).
 */
#include "helpers.h"

#include <pinmm/fault-inject.h>

#include <pinmm/gfp.h>
#include <pinmm/sched.h>

enum place { MOVABLE, CMA };

static const char *place_name(enum place p)
{
	return p == CMA ? "CMA pageblock" : "ZONE_MOVABLE";
}

/* A machine where movable user memory lands in @p. */
static void lt_boot(enum place p)
{
	if (p == CMA)
		test_boot(64, 0, 32);	/* CMA > half the free memory: served first */
	else
		test_boot(64, 32, 0);
}

static bool in_place(struct page *page, enum place p)
{
	unsigned long pfn = page_to_pfn(page);

	if (p == CMA)
		return get_pfnblock_migratetype(pfn) == MIGRATE_CMA;
	return page_zonenum(page) == ZONE_MOVABLE;
}

/* Pinned where a long-term pin may stay: NORMAL, not CMA, not isolated. */
static bool pinnable_here(struct page *page)
{
	int mt = get_pfnblock_migratetype(page_to_pfn(page));

	return folio_is_longterm_pinnable(page_folio(page)) && page_zonenum(page) == ZONE_NORMAL &&
	       mt != MIGRATE_CMA && mt != MIGRATE_ISOLATE;
}

static const char *lru_todo = "needs folio_add_lru in the fault path (issue 4)";

/* Is the folio mapped at @addr visible to migration (PG_lru)? */
static bool on_lru(unsigned long addr)
{
	struct page *p = gt_page(current->mm, addr);

	return p && folio_test_lru(page_folio(p));
}

/* Populated memory in @p is migrated out by a long-term pin. */
static void lt_migrates(enum place p, bool thp, bool fast, bool write)
{
	static struct page *pages[HPAGE_PMD_NR];
	static unsigned long pfn0[HPAGE_PMD_NR];
	struct task_struct *t;
	const unsigned long n = thp ? HPAGE_PMD_NR : 4;
	unsigned long bad = 0, stayed = 0, unmapped = 0, was_there = 0;
	char name[128];
	long r, mig0, acq0;
	bool todo;

	snprintf(name, sizeof(name), "%s %s, %s FOLL_LONGTERM pin, %s", place_name(p),
		 thp ? "THP" : "small pages", write ? "R/W" : "R/O",
		 fast ? "pin_user_pages_fast" : "pin_user_pages");
	lt_boot(p);
	t = test_process("lt");
	if (thp) {
		if (!gt_thp(GT_BASE)) {
			skip(9, "no THP");
			gt_teardown(name, &t, 1);
			return;
		}
	} else {
		test_mmap_fixed(GT_BASE, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	}
	if (!gt_fill(GT_BASE, n, 1))
		bail_out("fill");
	for (unsigned long i = 0; i < n; i++) {
		pfn0[i] = test_pt_pfn(current->mm, GT_BASE + i * PAGE_SIZE);
		was_there += in_place(pfn_to_page(pfn0[i]), p) &&
			     !folio_is_longterm_pinnable(pfn_folio(pfn0[i]));
	}
	is_uint(was_there, n, "setup [%s]: the user pages are in %s, not long-term pinnable", name,
		place_name(p));
	todo = !on_lru(GT_BASE);
	if (todo)
		todo_start(lru_todo);
	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	acq0 = gt_acq();
	r = gt_pin_any(fast, GT_BASE, n, FOLL_LONGTERM | (write ? FOLL_WRITE : 0), pages);
	is_int(r, (long)n, "R-LT [%s]: the long-term pin succeeds", name);
	for (long i = 0; i < (r > 0 ? r : 0); i++) {
		unsigned long a = GT_BASE + (unsigned long)i * PAGE_SIZE;

		bad += !pinnable_here(pages[i]);
		stayed += page_to_pfn(pages[i]) == pfn0[i];
		unmapped += test_pt_pfn(current->mm, a) != page_to_pfn(pages[i]);
	}
	ok(r == (long)n && bad == 0, "R-LT [%s]: every pinned page is long-term pinnable: "
	   "ZONE_NORMAL, not CMA (%lu bad)", name, bad);
	ok(r == (long)n && stayed == 0, "R-LT [%s]: every page moved to a new frame", name);
	ok(r == (long)n && unmapped == 0, "R-LT [%s]: the process maps the new frames (migration "
	   "rewrote its page tables)", name);
	is_uint(r == (long)n ? gt_pages_bad(pages, n, GT_BASE, 1) : n, 0,
		"R-LT [%s]: the data came along (read through the pins)", name);
	ok(gt_ev(PGMIGRATE_SUCCESS) > mig0, "R-LT [%s]: pgmigrate_success moved (%+ld)", name,
	   gt_ev(PGMIGRATE_SUCCESS) - mig0);
	ok(r == (long)n && gt_acq() - acq0 >= (long)n && folio_maybe_dma_pinned(page_folio(pages[0])),
	   "R-LT [%s]: the kept pins are counted (the first pass's pins were released)", name);
	if (thp) {
		struct folio *f = r == (long)n ? page_folio(pages[0]) : NULL;

		/* migration splits the PMD to move the THP, then maps it by a PMD again */
		ok(f && test_pmd_mapped(current->mm, GT_BASE) && folio_order(f) == HPAGE_PMD_ORDER &&
		   folio_is_longterm_pinnable(f) && page_folio(pages[n - 1]) == f,
		   "R-LT [%s]: the address is PMD-mapped by one pinnable THP", name);
		is_int(f ? folio_pincount(f) : -1, (int)HPAGE_PMD_NR,
		       "R-LT [%s]: 512 pins on that one folio", name);
	}
	if (todo)
		todo_end();
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	is_uint(gt_check(GT_BASE, n, 1), 0, "R-LT [%s]: the process still reads its data", name);
	gt_teardown(name, &t, 1);
}

/* Memory faulted in under a long-term pin is allocated pinnable directly. */
static void lt_memalloc_pin(bool fast, bool thp)
{
	static struct page *pages[HPAGE_PMD_NR];
	struct task_struct *t;
	const unsigned long n = thp ? HPAGE_PMD_NR : 8;
	unsigned long bad = 0;
	char name[96];
	long r, mig0;

	snprintf(name, sizeof(name), "faulted under FOLL_LONGTERM, %s, %s",
		 thp ? "THP range" : "small pages", fast ? "pin_user_pages_fast" : "pin_user_pages");
	lt_boot(MOVABLE);
	t = test_process("lt-memalloc");
	test_mmap_fixed(GT_BASE, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (thp)
		do_madvise(current->mm, GT_BASE, PMD_SIZE, MADV_HUGEPAGE);
	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	r = gt_pin_any(fast, GT_BASE, n, FOLL_LONGTERM | FOLL_WRITE, pages);
	is_int(r, (long)n, "R-LT [%s]: the pin faults the range in", name);
	for (long i = 0; i < (r > 0 ? r : 0); i++)
		bad += !pinnable_here(pages[i]);
	is_uint(bad, 0, "R-LT [%s]: the faulted pages are pinnable at once (memalloc_pin_save "
		"dropped __GFP_MOVABLE)", name);
	is_int(gt_ev(PGMIGRATE_SUCCESS) - mig0, 0, "R-LT [%s]: so nothing had to migrate", name);
	is_uint(pinmm_current_ctx.flags & PF_MEMALLOC_PIN, 0, "R-LT [%s]: the PF_MEMALLOC_PIN "
		"scope ends with the call (memalloc_pin_restore)", name);
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	/* a later ordinary fault is movable again */
	test_mmap_fixed(GT_BASE + PMD_SIZE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE + PMD_SIZE, PAGE_SIZE);
	ok(page_zonenum(gt_page(current->mm, GT_BASE + PMD_SIZE)) == ZONE_MOVABLE,
	   "R-LT [%s]: an ordinary fault afterwards uses ZONE_MOVABLE again", name);
	gt_teardown(name, &t, 1);
}

/* Migration impossible: the call fails and nothing is left pinned. */
static void lt_failure(bool extra_ref, bool fast)
{
	struct page *pages[4];
	struct task_struct *t;
	struct folio *folio;
	char name[96];
	unsigned long pfn0;
	long r, acq0, rel0;
	int ref0;
	bool todo;

	snprintf(name, sizeof(name), "migration impossible (%s), %s",
		 extra_ref ? "an extra folio reference" : "destination allocation fails",
		 fast ? "pin_user_pages_fast" : "pin_user_pages");
	lt_boot(MOVABLE);
	t = test_process("lt-fail");
	test_mmap_fixed(GT_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 4, 1))
		bail_out("fill");
	pfn0 = test_pt_pfn(current->mm, GT_BASE);
	folio = pfn_folio(pfn0);
	/* only page 0 is held: the pages that can move must not stay pinned either */
	todo = !on_lru(GT_BASE);
	if (extra_ref)
		folio_get(folio);
	ref0 = folio_ref_count(folio);
	acq0 = gt_acq();
	rel0 = gt_rel();
	if (!extra_ref)
		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 1, 0);
	r = gt_pin_any(fast, GT_BASE, 1, FOLL_LONGTERM, pages);
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
	if (todo)
		todo_start(lru_todo);
	is_int(r, -ENOMEM, "R-LT [%s]: the long-term pin fails with -ENOMEM (migrate_pages "
	       "failed)", name);
	if (todo)
		todo_end();
	ok(r <= 0, "R-LT [%s]: it does not report success for a page it could not move", name);
	is_int(gt_acq() - acq0, gt_rel() - rel0, "R-LT [%s]: nothing is left pinned (acquired "
	       "== released across the call)", name);
	is_int(folio_ref_count(folio), ref0, "R-LT [%s]: the folio's refcount is back", name);
	ok(!folio_maybe_dma_pinned(folio) && !folio_test_isolated(folio),
	   "R-LT [%s]: not maybe-pinned, not left isolated", name);
	ok(test_pt_pfn(current->mm, GT_BASE) == pfn0 && gt_check(GT_BASE, 4, 1) == 0,
	   "R-LT [%s]: the page stays mapped where it was, data intact", name);
	is_int(global_node_page_state_snapshot(NR_ISOLATED_ANON), 0, "R-LT [%s]: nr_isolated_anon back "
	       "to 0", name);
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	if (extra_ref)
		folio_put(folio);
	gt_teardown(name, &t, 1);
}

/*
 * Another migrator has the folio isolated and never puts it back: the pin
 * must not take it (its lru belongs to the other list); it retries, then gives
 * up with -ENOMEM after GUP_LONGTERM_MAX_PASSES, the folio untouched.
 */
static void lt_isolated_elsewhere(bool fast)
{
	const char *name = fast ? "pin_user_pages_fast" : "pin_user_pages";
	struct page *pages[1];
	struct task_struct *t;
	struct folio *folio;
	unsigned long pfn0, warns;
	long r, acq0, rel0;
	bool saved;
	int ref0;

	lt_boot(MOVABLE);
	t = test_process("lt-isolated");
	test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 1, 7))
		bail_out("fill");
	pfn0 = test_pt_pfn(current->mm, GT_BASE);
	folio = pfn_folio(pfn0);
	ok(in_place(&folio->page, MOVABLE) && folio_isolate_lru(folio),
	   "setup [%s]: the page is in ZONE_MOVABLE, and another migrator isolates it", name);
	ref0 = folio_ref_count(folio);
	acq0 = gt_acq();
	rel0 = gt_rel();
	warns = gt_warn_begin(&saved);
	r = gt_pin_any(fast, GT_BASE, 1, FOLL_LONGTERM, pages);
	gt_warn_end(saved, warns);
	is_int(r, -ENOMEM, "R-LT [%s]: a folio isolated by another migrator is not taken: the "
	       "pin retries, and fails (-ENOMEM) when it never comes back", name);
	ok(test_pt_pfn(current->mm, GT_BASE) == pfn0 && folio_ref_count(folio) == ref0 &&
	   !folio_test_lru(folio), "R-LT [%s]: the folio stays mapped, isolated, its refcount "
	   "the other migrator's", name);
	is_int(gt_acq() - acq0, gt_rel() - rel0, "R-LT [%s]: nothing is left pinned", name);
	folio_putback_lru(folio);
	is_int(global_node_page_state_snapshot(NR_ISOLATED_ANON), 0, "R-LT [%s]: nr_isolated_anon "
	       "back to 0 after the other migrator puts it back", name);
	ok(gt_check(GT_BASE, 1, 7) == 0, "R-LT [%s]: data intact", name);
	gt_teardown(name, &t, 1);
}

/* Short-term pins do not migrate; and they block contiguous allocation. */
static void st_no_migrate_contig(void)
{
	struct page *pages[2];
	struct task_struct *t;
	unsigned long pfn, start;
	long r, mig0;
	int err;
	bool todo;

	lt_boot(CMA);
	t = test_process("st-contig");
	test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 1, 1))
		bail_out("fill");
	pfn = test_pt_pfn(current->mm, GT_BASE);
	ok(get_pfnblock_migratetype(pfn) == MIGRATE_CMA, "setup: the user page sits in a CMA "
	   "pageblock");
	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	r = gt_pin(GT_BASE, 1, FOLL_WRITE, pages);
	ok(r == 1 && page_to_pfn(pages[0]) == pfn && gt_ev(PGMIGRATE_SUCCESS) == mig0,
	   "R-LT: a short-term pin does not migrate (the page stays in CMA)");
	start = pfn & ~(pageblock_nr_pages - 1);
	quiet_stderr_begin();
	err = alloc_contig_range(start, start + pageblock_nr_pages, MIGRATE_CMA, GFP_KERNEL);
	quiet_stderr_end();
	is_int(err, -EBUSY, "R-PINNED-SIDE: alloc_contig_range() over the CMA block fails with "
	       "-EBUSY while a short-term pin is held there");
	if (!err)
		free_contig_range(start, pageblock_nr_pages);
	ok(test_pt_pfn(current->mm, GT_BASE) == pfn && gt_page_holds(pages[0], GT_BASE, 1),
	   "R-PINNED-SIDE: the pinned page was not moved: still mapped, data intact");
	if (r == 1)
		unpin_user_page(pages[0]);
	todo = !on_lru(GT_BASE);
	if (todo)
		todo_start(lru_todo);
	quiet_stderr_begin();
	err = alloc_contig_range(start, start + pageblock_nr_pages, MIGRATE_CMA, GFP_KERNEL);
	quiet_stderr_end();
	is_int(err, 0, "R-PINNED-SIDE: after unpin alloc_contig_range() succeeds (the page "
	       "migrates out)");
	if (!err)
		free_contig_range(start, pageblock_nr_pages);
	is_uint(gt_check(GT_BASE, 1, 1), 0, "R-PINNED-SIDE: the process still reads its data");
	if (todo)
		todo_end();
	gt_teardown("short-term pin vs alloc_contig_range", &t, 1);
}

/* offline_pages() on ZONE_MOVABLE fails with -EBUSY while a page there is pinned. */
static void st_offline(void)
{
	struct page *pages[1];
	struct task_struct *t;
	unsigned long pfn, start;
	long r;
	int err;
	bool todo;

	lt_boot(MOVABLE);
	t = test_process("st-offline");
	test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 1, 1))
		bail_out("fill");
	pfn = test_pt_pfn(current->mm, GT_BASE);
	ok(page_zonenum(pfn_to_page(pfn)) == ZONE_MOVABLE, "setup: the page is in ZONE_MOVABLE");
	r = pin_user_pages_fast(GT_BASE, 1, 0, pages);
	start = pfn & ~(pageblock_nr_pages - 1);
	quiet_stderr_begin();
	err = offline_pages(start, pageblock_nr_pages);
	quiet_stderr_end();
	is_int(err, -EBUSY, "R-PINNED-SIDE: offline_pages() over a pinned ZONE_MOVABLE page fails "
	       "with -EBUSY");
	if (!err)
		online_pages(start, pageblock_nr_pages);
	ok(r == 1 && test_pt_pfn(current->mm, GT_BASE) == pfn && gt_page_holds(pages[0], GT_BASE, 1),
	   "R-PINNED-SIDE: the pinned page stayed, data intact");
	if (r == 1)
		unpin_user_page(pages[0]);
	todo = !on_lru(GT_BASE);
	if (todo)
		todo_start(lru_todo);
	quiet_stderr_begin();
	err = offline_pages(start, pageblock_nr_pages);
	quiet_stderr_end();
	is_int(err, 0, "R-PINNED-SIDE: after unpin the range offlines (the page migrates out)");
	if (!err)
		online_pages(start, pageblock_nr_pages);
	is_uint(gt_check(GT_BASE, 1, 1), 0, "R-PINNED-SIDE: the process still reads its data");
	if (todo)
		todo_end();
	gt_teardown("short-term pin vs offline_pages", &t, 1);
}

/* A long-term pin of memory that is already pinnable changes nothing. */
static void lt_already_pinnable(void)
{
	struct page *pages[4];
	struct task_struct *t;
	unsigned long moved = 0;
	long r, mig0;

	test_boot(64, 0, 0);	/* everything is ZONE_NORMAL, MIGRATE_MOVABLE */
	t = test_process("lt-normal");
	test_mmap_fixed(GT_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, 4 * PAGE_SIZE);
	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	for (int fast = 0; fast < 2; fast++) {
		r = gt_pin_any(fast, GT_BASE, 4, FOLL_LONGTERM | FOLL_WRITE, pages);
		for (long i = 0; i < (r > 0 ? r : 0); i++)
			moved += test_pt_pfn(current->mm, GT_BASE + (unsigned long)i * PAGE_SIZE) !=
				 page_to_pfn(pages[i]) || !pinnable_here(pages[i]);
		ok(r == 4 && moved == 0, "R-LT: a long-term pin of ZONE_NORMAL memory pins it in "
		   "place (%s)", fast ? "pin_user_pages_fast" : "pin_user_pages");
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
	}
	is_int(gt_ev(PGMIGRATE_SUCCESS) - mig0, 0, "R-LT: nothing migrated");
	r = gt_fast_only(GT_BASE, 4, FOLL_PIN | FOLL_LONGTERM, pages);
	is_int(r, 4, "R-FAST/R-LT: GUP-fast takes long-term pins of pinnable folios itself");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown("long-term pin of pinnable memory", &t, 1);
}

int main(void)
{
	plan_no_plan();
	for (int p = MOVABLE; p <= CMA; p++)
		for (int thp = 0; thp < 2; thp++)
			for (int fast = 0; fast < 2; fast++)
				lt_migrates((enum place)p, thp, fast, !fast || thp);
	lt_migrates(MOVABLE, false, false, false);
	lt_migrates(CMA, false, true, false);
	lt_memalloc_pin(false, false);
	lt_memalloc_pin(true, false);
	lt_memalloc_pin(false, true);
	lt_failure(true, false);
	lt_failure(true, true);
	lt_failure(false, false);
	lt_failure(false, true);
	lt_isolated_elsewhere(false);
	lt_isolated_elsewhere(true);
	st_no_migrate_contig();
	st_offline();
	lt_already_pinnable();
	return done_testing();
}
