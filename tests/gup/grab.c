// SPDX-License-Identifier: MIT
/*
 * The grab and release primitives under the pin entry points (Linux mm/gup.c
 * try_grab_folio(), gup_put_folio(), unpin_user_pages(),
 * sanity_check_pinned_pages()), at their edges — written for mutants of
 * src/gup/gup.c that the scenario tests let through (docs/mutation.md):
 *
 * R-GRAB: a grab needs a folio someone holds (refcount > 0; else WARN and
 *   -ENOMEM) and 1 .. PAGE_REF_CEILING / GUP_PIN_COUNTING_BIAS references;
 *   the largest grab is allowed on a folio with an exact pincount.
 * R-ZERO: pins of the shared zero page count nothing (folio_add_pin() too).
 * R-FAST: GUP-fast's speculative grab backs off quietly from a folio being
 *   freed, and warns on a negative refcount; it takes a run of read-only
 *   PTEs of a large folio in one grab when no page of it must be unshared
 *   (Linux gup_fast_pte_range(): the unshare test is per page).
 * R-UNSHARE: only a R/O pin unshares a page shared with a child; FOLL_GET,
 *   slow or fast, never does.
 * R-UNPIN: unpin_user_pages(pages, n) releases exactly the first n entries,
 *   one pin each, whatever the array holds beyond n and whatever mix of
 *   folios it holds within; it reads nothing past pages[n - 1] (an exact heap
 *   array: ASan sees any read beyond).
 * R-EXCL (CONFIG_DEBUG_VM): a pinned anonymous page is exclusive; for a
 *   PMD-mapped THP exclusivity lives on the head page, so a pinned tail page
 *   of an exclusive THP is fine, and a non-exclusive page is reported.
 */
#include "helpers.h"

#include <pinmm/gfp.h>

#define SMALL_BASE	(GT_BASE + PMD_SIZE)

static void grab_needs_a_reference(void)
{
	struct folio *folio = page_folio(alloc_page(GFP_KERNEL));
	unsigned long warns;
	bool saved;
	long acq = gt_acq();

	ok(folio_ref_freeze(folio, 1), "setup: the folio's refcount frozen at 0");
	warns = gt_warn_begin(&saved);
	is_int(try_grab_folio(folio, 1, FOLL_PIN), -ENOMEM,
	       "R-GRAB: FOLL_PIN on a folio nobody holds (refcount 0) fails with -ENOMEM");
	is_int(try_grab_folio(folio, 1, FOLL_GET), -ENOMEM,
	       "R-GRAB: FOLL_GET on a folio nobody holds fails with -ENOMEM");
	is_uint(gt_warn_end(saved, warns), 2,
		"R-GRAB: each grab of a folio with no reference WARNs (the caller's reference "
		"is missing)");
	is_int(folio_ref_count(folio), 0, "R-GRAB: the refcount stays 0");
	is_int(gt_acq(), acq, "R-GRAB: nr_foll_pin_acquired unchanged");
	folio_ref_unfreeze(folio, 1);
	folio_put(folio);
}

static void grab_refs_range(void)
{
	struct folio *small = page_folio(alloc_page(GFP_KERNEL));
	struct folio *large = folio_alloc(GFP_KERNEL, 2);
	int max = PAGE_REF_CEILING / (int)GUP_PIN_COUNTING_BIAS;
	long acq = gt_acq(), rel = gt_rel();

	if (!large)
		bail_out("order-2 folio");
	is_int(try_grab_folio(small, 0, FOLL_PIN), -ENOMEM,
	       "R-GRAB: a grab of 0 references is refused (-ENOMEM)");
	is_int(folio_ref_count(small), 1, "R-GRAB: ... and takes nothing");
	is_int(try_grab_folio(large, max, FOLL_PIN), 0,
	       "R-GRAB: the largest grab (PAGE_REF_CEILING / GUP_PIN_COUNTING_BIAS pins) succeeds "
	       "on a large folio (exact pincount)");
	is_int(folio_pincount(large), max, "R-GRAB: ... its pincount is that many");
	is_int(folio_ref_count(large), 1 + max, "R-GRAB: ... and so is its extra refcount");
	gup_put_folio(large, max, FOLL_PIN);
	is_int(try_grab_folio(large, max + 1, FOLL_PIN), -ENOMEM,
	       "R-GRAB: one more than the largest grab is refused (-ENOMEM), never wraps");
	ok(folio_pincount(large) == 0 && folio_ref_count(large) == 1,
	   "R-GRAB: the large folio is back to one reference, no pin");
	is_int(gt_acq() - acq, gt_rel() - rel, "R-GRAB: acquired == released");
	folio_put(small);
	folio_put(large);
}

/*
 * GUP-fast's grab may meet a folio being freed (refcount 0): it backs off
 * quietly; a negative refcount is corruption (WARN); a grab asking for
 * neither a reference nor a pin is a caller bug (WARN).
 */
static void grab_fast_edges(void)
{
	struct folio *folio = page_folio(alloc_page(GFP_KERNEL));
	unsigned long warns;
	bool saved;

	ok(folio_ref_freeze(folio, 1), "setup: the folio's refcount frozen at 0");
	warns = gt_warn_begin(&saved);
	ok(!try_grab_folio_fast(&folio->page, 1, FOLL_GET) &&
	   !try_grab_folio_fast(&folio->page, 1, FOLL_PIN),
	   "R-FAST: GUP-fast's grab of a folio being freed (refcount 0) fails");
	is_uint(gt_warn_end(saved, warns), 0, "R-FAST: ... quietly: that race is expected");
	folio_set_count(folio, -1);
	warns = gt_warn_begin(&saved);
	ok(!try_grab_folio_fast(&folio->page, 1, FOLL_GET),
	   "R-FAST: a folio with a negative refcount is not grabbed");
	is_uint(gt_warn_end(saved, warns), 1, "R-FAST: ... and that is reported (WARN)");
	folio_set_count(folio, 1);
	warns = gt_warn_begin(&saved);
	ok(!try_grab_folio_fast(&folio->page, 1, 0), "R-GRAB: a fast grab without FOLL_GET or "
	   "FOLL_PIN is refused");
	is_uint(gt_warn_end(saved, warns), 1, "R-GRAB: ... with a WARN");
	is_int(folio_ref_count(folio), 1, "R-FAST: the refcount is back to ours alone");
	folio_put(folio);

	folio = folio_alloc(GFP_KERNEL, 2);
	if (!folio || !folio_ref_freeze(folio, 1))
		bail_out("order-2 folio");
	warns = gt_warn_begin(&saved);
	ok(!try_grab_folio_fast(folio_page(folio, 1), 1, FOLL_PIN),
	   "R-FAST: a pin of a large folio being freed (refcount 0) fails");
	is_uint(gt_warn_end(saved, warns), 0, "R-FAST: ... quietly");
	ok(folio_pincount(folio) == 0, "R-FAST: ... and counts no pin");
	folio_ref_unfreeze(folio, 1);
	folio_put(folio);
}

/*
 * After fork a page is shared and not exclusive. A R/O pin must unshare it
 * (gup_must_unshare()); a FOLL_GET never does, slow or fast: the parent keeps
 * mapping the page the child maps.
 */
static void get_does_not_unshare(void)
{
	struct task_struct *t, *child = NULL;
	struct page *page = NULL;
	unsigned long pfn;
	long r;

	test_boot(64, 0, 0);
	t = test_process("get-shared");
	test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, PAGE_SIZE);
	if (pinmm_fork(t, "child", &child))
		bail_out("fork");
	pinmm_task_attach(t);
	pfn = test_pt_pfn(current->mm, GT_BASE);
	r = gt_get(GT_BASE, 1, 0, &page);
	ok(r == 1 && test_pt_pfn(current->mm, GT_BASE) == pfn && page_to_pfn(page) == pfn,
	   "R-UNSHARE: get_user_pages() (FOLL_GET) of a page shared with a child does not "
	   "unshare it");
	if (r == 1)
		put_page(page);
	r = gt_fast_only(GT_BASE, 1, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE, &page);
	ok(r == 0, "R-UNSHARE: GUP-fast alone leaves a writable pin of a shared page to the "
	   "slow path (it must fault)");
	r = get_user_pages_fast(GT_BASE, 1, 0, &page);
	ok(r == 1 && test_pt_pfn(current->mm, GT_BASE) == pfn && page_to_pfn(page) == pfn,
	   "R-UNSHARE: get_user_pages_fast() neither");
	if (r == 1)
		put_page(page);
	r = gt_pin(GT_BASE, 1, 0, &page);
	ok(r == 1 && test_pt_pfn(current->mm, GT_BASE) != pfn && page_to_pfn(page) != pfn,
	   "R-UNSHARE: a R/O pin does (the parent now maps and pins its own copy)");
	if (r == 1)
		unpin_user_page(page);
	gt_populate(GT_BASE, PAGE_SIZE);	/* the copy, writable now */
	r = gt_fast_only(GT_BASE, 1, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE, &page);
	ok(r == 1, "R-FAST: GUP-fast alone takes a writable long-term pin of an exclusive "
	   "anonymous page (anonymous folios need no dirty tracking)");
	if (r == 1)
		unpin_user_page(page);
	struct task_struct *tasks[2] = { child, t };
	gt_teardown("FOLL_GET does not unshare", tasks, 2);
}

/*
 * GUP-fast fills a THP's 512 entries with streaming stores; they start at
 * pages[1] here (a small page first), not 16-byte aligned: every entry right.
 */
static void fast_thp_unaligned(void)
{
	struct task_struct *t;
	struct page **pages;
	unsigned long bad = 0;
	long r;

	test_boot(64, 0, 0);
	t = test_process("fast-unaligned");
	test_mmap_fixed(GT_BASE - PAGE_SIZE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE - PAGE_SIZE, PAGE_SIZE);
	if (!gt_thp(GT_BASE))
		bail_out("no THP");
	pages = malloc(513 * sizeof(*pages));	/* 16-byte aligned: pages + 1 is not */
	if (!pages)
		bail_out("malloc");
	r = pin_user_pages_fast(GT_BASE - PAGE_SIZE, 513, FOLL_WRITE, pages);
	for (long i = 0; i < r; i++)
		bad += pages[i] != gt_page(current->mm,
					   GT_BASE - PAGE_SIZE + (unsigned long)i * PAGE_SIZE);
	ok(r == 513 && bad == 0, "R-FAST: a small page then a THP: 513 entries, each the page "
	   "mapped there");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	free(pages);
	gt_teardown("GUP-fast THP entries not 16-byte aligned", &t, 1);
}

/*
 * GUP-fast grabs a run of PTEs of one folio at once, but only while they map
 * its consecutive pages: a PTE-mapped THP with a hole at page 3 gives 3.
 */
static void fast_batch_stops_at_hole(void)
{
	struct task_struct *t;
	struct page *pages[8];
	long r;

	test_boot(64, 0, 0);
	t = test_process("fast-batch");
	if (!gt_thp(GT_BASE))
		bail_out("no THP");
	if (gt_get(GT_BASE, 1, FOLL_SPLIT_PMD, pages) != 1)
		bail_out("FOLL_SPLIT_PMD");
	put_page(pages[0]);
	if (do_madvise(current->mm, GT_BASE + 3 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED))
		bail_out("MADV_DONTNEED");
	r = gt_fast_only(GT_BASE, 8, FOLL_PIN, pages);
	is_int(r, 3, "R-FAST/R-PART: GUP-fast over a PTE-mapped THP stops at the hole at page 3");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown("GUP-fast batch and a hole", &t, 1);
}

/*
 * R-FAST: a PTE-mapped THP made read-only, its pages still exclusive: a R/O
 * pin needs no unshare, so GUP-fast alone takes all eight.
 */
static void fast_batch_read_only(void)
{
	struct task_struct *t;
	struct page *pages[8];
	long r;

	test_boot(64, 0, 0);
	t = test_process("fast-batch-ro");
	if (!gt_thp(GT_BASE))
		bail_out("no THP");
	if (gt_get(GT_BASE, 1, FOLL_SPLIT_PMD, pages) != 1)
		bail_out("FOLL_SPLIT_PMD");
	put_page(pages[0]);
	if (do_mprotect(GT_BASE, PMD_SIZE, PROT_READ))
		bail_out("mprotect");
	ok(!gt_writable(current->mm, GT_BASE) && gt_exclusive(gt_page(current->mm, GT_BASE)),
	   "setup: a read-only PTE of an exclusive page of the THP");
	r = gt_fast_only(GT_BASE, 8, FOLL_PIN, pages);
	is_int(r, 8, "R-FAST: GUP-fast alone pins eight read-only PTEs of a large folio "
	       "(exclusive pages: nothing to unshare)");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown("GUP-fast read-only batch", &t, 1);
}

/* A THP whose refcount cannot take one more pin fails the slow pin, nothing taken. */
static void thp_ceiling(void)
{
	struct task_struct *t;
	struct page *page = NULL;
	struct folio *thp;
	long r, acq;
	int ref;

	test_boot(64, 0, 0);
	t = test_process("thp-ceiling");
	if (!gt_thp(GT_BASE))
		bail_out("no THP");
	thp = page_folio(gt_page(current->mm, GT_BASE));
	ref = folio_ref_count(thp);
	acq = gt_acq();
	folio_ref_add(thp, PAGE_REF_CEILING - ref);
	r = gt_pin(GT_BASE + PAGE_SIZE, 1, 0, &page);
	folio_ref_sub(thp, PAGE_REF_CEILING - ref);
	is_int(r, -ENOMEM, "R-OVF: a pin of a THP whose refcount is at the ceiling fails "
	       "(-ENOMEM)");
	ok(folio_ref_count(thp) == ref && folio_pincount(thp) == 0 && gt_acq() == acq,
	   "R-OVF: ... and takes nothing");
	if (r == 1)
		unpin_user_page(page);
	gt_teardown("THP at the refcount ceiling", &t, 1);
}

/* folio_add_pin() of the zero folio: counts nothing, warns nothing. */
static void add_pin_zero(void)
{
	struct folio *zero = page_folio(pinmm_zero_page);
	long acq = gt_acq();
	int ref = folio_ref_count(zero);
	unsigned long warns;
	bool saved;

	warns = gt_warn_begin(&saved);
	folio_add_pin(zero);
	is_uint(gt_warn_end(saved, warns), 0, "R-ZERO: folio_add_pin() of the zero folio (never "
		"counted as pinned) does not warn");
	ok(gt_acq() == acq && folio_ref_count(zero) == ref,
	   "R-ZERO: ... and counts nothing");
}

/* Pin @n pages from @addr, one call per page (so the array mixes at will). */
static void pin_each(unsigned long addr, int n, struct page **pages)
{
	for (int i = 0; i < n; i++)
		if (gt_pin(addr + (unsigned long)i * PAGE_SIZE, 1, FOLL_WRITE, pages + i) != 1)
			bail_out("pin %#lx", addr + (unsigned long)i * PAGE_SIZE);
}

static void unpin_exact_entries(void)
{
	struct task_struct *t;
	struct page *pages[32], **heap;
	struct folio *thp;
	unsigned long warns;
	bool saved;
	int pins = 0;

	test_boot(64, 0, 0);
	t = test_process("unpin-edges");
	if (!gt_thp(GT_BASE))
		bail_out("no THP");
	test_mmap_fixed(SMALL_BASE, 16 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(SMALL_BASE, 16 * PAGE_SIZE);
	thp = page_folio(gt_page(current->mm, GT_BASE));
	warns = gt_warn_begin(&saved);

	/* 32 entries of one THP, release the first 3 */
	pin_each(GT_BASE, 32, pages);
	unpin_user_pages(pages, 3);
	is_int(folio_pincount(thp), 29, "R-UNPIN: unpin_user_pages(pages, 3) releases 3 pins of "
	       "a THP whose pages fill the array beyond");
	unpin_user_pages(pages + 3, 29);
	is_int(folio_pincount(thp), 0, "R-UNPIN: ... and the other 29 release the rest");

	/* 4 THP entries, then 5 small pages: 9 entries, two kinds of folio */
	pin_each(GT_BASE, 4, pages);
	pin_each(SMALL_BASE, 5, pages + 4);
	unpin_user_pages(pages, 9);
	is_int(folio_pincount(thp), 0, "R-UNPIN: a THP run followed by small pages: the THP's "
	       "4 pins released, no more");
	for (int i = 4; i < 9; i++)
		pins += folio_maybe_dma_pinned(page_folio(pages[i]));
	is_int(pins, 0, "R-UNPIN: ... and each of the 5 small pages after it is unpinned");

	/* exact heap arrays: ASan reports a read of pages[n] */
	heap = malloc(9 * sizeof(*heap));
	if (!heap)
		bail_out("malloc");
	pin_each(GT_BASE, 9, heap);
	unpin_user_pages(heap, 9);
	is_int(folio_pincount(thp), 0, "R-UNPIN: 9 THP entries in a 9-entry array released");
	pin_each(SMALL_BASE, 9, heap);
	unpin_user_pages(heap, 9);
	pins = 0;
	for (int i = 0; i < 9; i++)
		pins += folio_maybe_dma_pinned(page_folio(heap[i]));
	is_int(pins, 0, "R-UNPIN: 9 small pages in a 9-entry array released");
	free(heap);
	is_uint(gt_warn_end(saved, warns), 0, "R-UNPIN: no WARN on the way");
	gt_teardown("unpin_user_pages edges", &t, 1);
}

static void sanity_check_exclusive(void)
{
	struct task_struct *t, *child = NULL;
	struct page *page, *tail;
	unsigned long warns;
	bool saved;

	test_boot(64, 0, 0);
	t = test_process("sanity");
	if (!gt_thp(GT_BASE))
		bail_out("no THP");
	test_mmap_fixed(SMALL_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(SMALL_BASE, PAGE_SIZE);

	warns = gt_warn_begin(&saved);
	if (gt_pin(GT_BASE + 5 * PAGE_SIZE, 1, 0, &tail) != 1)
		bail_out("pin THP tail");
	ok(!PageAnonExclusive(tail) && PageAnonExclusive(&page_folio(tail)->page),
	   "setup: the pinned tail page is not marked exclusive, the THP's head is");
	unpin_user_page(tail);
	is_uint(gt_warn_end(saved, warns), 0, "R-EXCL: unpinning a tail page of an exclusive "
		"PMD-mapped THP does not warn (exclusivity lives on the head)");

	if (pinmm_fork(t, "child", &child))
		bail_out("fork");
	pinmm_task_attach(t);
	page = gt_page(current->mm, SMALL_BASE);
	ok(!PageAnonExclusive(page), "setup: after fork the small page is shared, not exclusive");
	warns = gt_warn_begin(&saved);
	sanity_check_pinned_pages(&page, 1);
	is_uint(gt_warn_end(saved, warns), 1, "R-EXCL: the debug check reports a 'pinned' "
		"anonymous page that is not exclusive");
	tail = gt_page(current->mm, GT_BASE + 5 * PAGE_SIZE);
	warns = gt_warn_begin(&saved);
	sanity_check_pinned_pages(&tail, 1);
	is_uint(gt_warn_end(saved, warns), 1, "R-EXCL: ... and a tail page of a THP whose head "
		"is not exclusive either");
	struct task_struct *tasks[2] = { child, t };
	gt_teardown("sanity_check_pinned_pages", tasks, 2);
}

int main(void)
{
	plan_no_plan();
	test_boot(64, 0, 0);
	grab_needs_a_reference();
	grab_refs_range();
	add_pin_zero();
	grab_fast_edges();
	test_shutdown_ok("try_grab_folio edges");
	unpin_exact_entries();
	sanity_check_exclusive();
	get_does_not_unshare();
	thp_ceiling();
	fast_thp_unaligned();
	fast_batch_stops_at_hole();
	fast_batch_read_only();
	return done_testing();
}
