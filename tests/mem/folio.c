// SPDX-License-Identifier: MIT
/*
 * Folios and references (Linux include/linux/mm.h, page_ref.h, mm_types.h):
 * the large-folio layout in the tail pages, freeing a folio whole,
 * speculative grabs that fail on free or frozen folios and never pass the
 * ceiling, freezing, folio_maybe_dma_pinned(), and the shared zero page.
 */
#include "helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/vmstat.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- layout ----------------------------------------------------------------- */

static void check_layout(unsigned int order, gfp_t gfp)
{
	unsigned long nr = 1UL << order, bad_tails = 0;
	struct folio *folio;
	struct page *head;
	long free0, free_after;

	free0 = global_zone_page_state_snapshot(NR_FREE_PAGES);
	folio = folio_alloc(gfp, order);
	if (!folio)
		bail_out("folio_alloc(order %u) failed on a fresh machine", order);
	head = &folio->page;
	ok(folio_test_large(folio) && PageHead(head) && !PageTail(head),
	   "folio order %u: the head page has PG_head, is no tail (prep_compound_page)", order);
	is_uint(folio_order(folio), order, "folio order %u: folio_order() reads the order from "
		"page[1] (folio->_flags_1)", order);
	is_uint(folio_nr_pages(folio), nr, "folio order %u: folio_nr_pages() is 2^order", order);
	is_uint(folio->_folio_nr_pages, nr, "folio order %u: _folio_nr_pages in page[1] is 2^order",
		order);
	ok(IS_ALIGNED(folio_pfn(folio), nr), "folio order %u: naturally aligned pfn", order);
	is_int(folio_ref_count(folio), 1, "folio order %u: a new folio has refcount 1", order);
	is_int(folio_pincount(folio), 0, "folio order %u: _pincount starts at 0 (page[1])", order);
	is_int(atomic_load(&folio->_entire_mapcount), -1, "folio order %u: _entire_mapcount "
	       "starts at -1 (no PMD mapping)", order);
	is_int(atomic_load(&folio->_large_mapcount), -1, "folio order %u: _large_mapcount starts "
	       "at -1", order);
	is_int(atomic_load(&folio->_nr_pages_mapped), 0, "folio order %u: _nr_pages_mapped starts "
	       "at 0", order);
	ok(!folio_maybe_dma_pinned(folio), "folio order %u: a new folio is not maybe-DMA-pinned",
	   order);
	for (unsigned long i = 1; i < nr; i++) {
		struct page *tail = folio_page(folio, i);

		if (!PageTail(tail) || page_folio(tail) != folio || compound_head(tail) != head ||
		    page_ref_count(tail) != 0 || PageHead(tail) ||
		    (i >= 3 && atomic_load(&tail->_mapcount) != -1)) {
			if (bad_tails++ < 4)
				diag("tail %lu: compound_head %#lx refcount %d", i,
				     atomic_load(&tail->compound_head), page_ref_count(tail));
		}
	}
	is_uint(bad_tails, 0, "folio order %u: every tail points at the head (page_folio), has "
		"refcount 0 and no PG_head", order);

	folio_put(folio);
	free_after = global_zone_page_state_snapshot(NR_FREE_PAGES);
	is_int(free_after, free0, "folio order %u: folio_put of the last reference frees all "
	       "2^order pages (__folio_put)", order);
	bad_tails = 0;
	for (unsigned long i = 1; i < nr; i++)
		bad_tails += PageTail(pfn_to_page(folio_pfn(folio) + i));
	is_uint(bad_tails, 0, "folio order %u: the freed pages are no longer tails "
		"(free_pages_prepare clears compound_head)", order);
}

static void test_layout(void)
{
	test_boot_buddy(64, 16, 0);
	for (unsigned int order = 1; order <= MAX_PAGE_ORDER; order++)
		check_layout(order, order & 1 ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE);
	{
		struct folio *folio = folio_alloc(GFP_KERNEL, 0);

		ok(folio && !folio_test_large(folio) && folio_order(folio) == 0 &&
		   folio_nr_pages(folio) == 1, "folio order 0: a small folio is not large, order 0, "
		   "one page");
		if (folio)
			folio_put(folio);
	}
	{
		struct folio *folio = folio_alloc(GFP_HIGHUSER_MOVABLE, MAX_PAGE_ORDER);

		is_uint(pinmm_zones[ZONE_MOVABLE].free_area[MAX_PAGE_ORDER].nr_free,
			zone_pageblocks(&pinmm_zones[ZONE_MOVABLE]) - 1,
			"folio order 9: a PMD-sized folio takes one whole MAX_PAGE_ORDER block");
		if (folio)
			folio_put(folio);
		is_uint(pinmm_zones[ZONE_MOVABLE].free_area[MAX_PAGE_ORDER].nr_free,
			zone_pageblocks(&pinmm_zones[ZONE_MOVABLE]),
			"folio order 9: folio_put gives the block back whole");
	}
	test_shutdown_ok("folio layout");
}

/* ---- references -------------------------------------------------------------- */

static void test_references(void)
{
	struct folio *folio, *big;
	unsigned long pfn;

	test_boot_buddy(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 0);
	if (!folio)
		bail_out("folio_alloc failed");
	pfn = folio_pfn(folio);
	ok(folio_try_get(folio), "folio_try_get: succeeds on a live folio");
	is_int(folio_ref_count(folio), 2, "folio_try_get: adds one reference");
	folio_get(folio);
	is_int(folio_ref_count(folio), 3, "folio_get: adds one reference");
	folio_put(folio);
	folio_put(folio);
	is_int(folio_ref_count(folio), 1, "folio_put: drops one reference; not the last, so the "
	       "folio stays allocated");
	ok(!PageBuddy(&folio->page), "folio_put: a folio with references left is not freed");

	/* freezing: only at the exact count */
	folio_get(folio);
	ok(!folio_ref_freeze(folio, 1), "folio_ref_freeze: fails while an extra reference is held "
	   "(the count is not the expected one)");
	is_int(folio_ref_count(folio), 2, "folio_ref_freeze: a failed freeze leaves the count alone");
	folio_put(folio);
	ok(folio_ref_freeze(folio, 1), "folio_ref_freeze: succeeds at the exact count");
	is_int(folio_ref_count(folio), 0, "folio_ref_freeze: a frozen folio has refcount 0");
	ok(!folio_try_get(folio), "folio_try_get: fails on a frozen folio (refcount 0)");
	folio_ref_unfreeze(folio, 1);
	is_int(folio_ref_count(folio), 1, "folio_ref_unfreeze: restores the count");

	/* the ceiling */
	folio_set_count(folio, PAGE_REF_CEILING - 1);
	ok(folio_ref_try_add(folio, 1), "folio_ref_try_add: may reach PAGE_REF_CEILING");
	is_int(folio_ref_count(folio), PAGE_REF_CEILING, "folio_ref_try_add: count at the ceiling");
	ok(!folio_ref_try_add(folio, 1), "folio_ref_try_add: refuses to pass PAGE_REF_CEILING "
	   "(a refcount never overflows; try_grab_folio returns -ENOMEM)");
	is_int(folio_ref_count(folio), PAGE_REF_CEILING, "folio_ref_try_add: a refused add leaves "
	       "the count unchanged");
	folio_set_count(folio, PAGE_REF_CEILING - 10);
	ok(!folio_ref_try_add(folio, (int)GUP_PIN_COUNTING_BIAS),
	   "folio_ref_try_add: a pin's GUP_PIN_COUNTING_BIAS near the ceiling is refused whole");
	is_int(folio_ref_count(folio), PAGE_REF_CEILING - 10, "folio_ref_try_add: nothing taken");
	folio_set_count(folio, 1);

	/* a free folio cannot be grabbed: the struct page stays valid */
	folio_put(folio);
	ok(PageBuddy(pfn_to_page(pfn)), "folio_put: the last reference frees the folio");
	ok(!folio_try_get(pfn_folio(pfn)), "folio_try_get: fails on a free folio (speculative "
	   "grab of a freed frame sees refcount 0)");
	is_int(page_ref_count(pfn_to_page(pfn)), 0, "folio_try_get: a failed grab leaves a free "
	       "page's refcount at 0");

	/* a speculative grab through a tail of a live large folio */
	big = folio_alloc(GFP_KERNEL, 4);
	if (!big)
		bail_out("folio_alloc failed");
	{
		struct folio *f = page_folio(folio_page(big, 5));

		ok(f == big && folio_try_get(f), "folio_try_get: a grab through a tail page lands "
		   "on the head (page_folio)");
		is_int(page_ref_count(folio_page(big, 5)), 0, "folio refs: tail refcounts stay 0");
		folio_put(f);
	}
	folio_put(big);

	/* a speculative reference on the first page of a loose (non-__GFP_COMP) block */
	{
		long free0 = global_zone_page_state_snapshot(NR_FREE_PAGES);
		struct page *page = alloc_pages(GFP_KERNEL, 3);

		if (!page)
			bail_out("alloc_pages failed");
		ok(folio_try_get(page_folio(page)), "speculative grab: succeeds on the first page "
		   "of a live loose block");
		__free_pages(page, 3);
		is_int(global_zone_page_state_snapshot(NR_FREE_PAGES), free0 - 1, "__free_pages: with a "
		       "speculative reference on the first page, the other 2^order - 1 pages are "
		       "freed at once (as Linux's __free_pages)");
		ok(!PageBuddy(page) && page_ref_count(page) == 1, "__free_pages: the first page "
		   "stays allocated for the speculative holder");
		folio_put(page_folio(page));
		is_int(global_zone_page_state_snapshot(NR_FREE_PAGES), free0, "__free_pages: the first page "
		       "is freed when the speculative reference is dropped; nothing leaks");
	}
	test_shutdown_ok("folio references");
}

/* ---- folio_maybe_dma_pinned ------------------------------------------------------ */

static void test_maybe_dma_pinned(void)
{
	struct folio *small, *large;

	test_boot_buddy(64, 0, 0);
	small = folio_alloc(GFP_KERNEL, 0);
	large = folio_alloc(GFP_KERNEL, 2);
	if (!small || !large)
		bail_out("folio_alloc failed");
	ok(!folio_maybe_dma_pinned(small), "folio_maybe_dma_pinned: false for a fresh small folio");
	folio_ref_add(small, (int)GUP_PIN_COUNTING_BIAS - 2);
	ok(!folio_maybe_dma_pinned(small), "folio_maybe_dma_pinned: false below "
	   "GUP_PIN_COUNTING_BIAS references");
	folio_ref_inc(small);
	ok(folio_maybe_dma_pinned(small), "folio_maybe_dma_pinned: true once a small folio's "
	   "refcount reaches GUP_PIN_COUNTING_BIAS (a false positive here: no pin, 1024 refs)");
	ok(page_maybe_dma_pinned(&small->page), "page_maybe_dma_pinned: the same answer through "
	   "the page");
	folio_ref_sub(small, (int)GUP_PIN_COUNTING_BIAS - 1);

	folio_ref_add(large, (int)GUP_PIN_COUNTING_BIAS * 2);
	ok(!folio_maybe_dma_pinned(large), "folio_maybe_dma_pinned: a large folio answers from "
	   "_pincount, exactly: many references are not a pin");
	atomic_fetch_add(&large->_pincount, 1);
	ok(folio_maybe_dma_pinned(large), "folio_maybe_dma_pinned: true for a large folio with "
	   "_pincount > 0");
	ok(page_maybe_dma_pinned(folio_page(large, 3)), "page_maybe_dma_pinned: a tail page "
	   "answers for its folio");
	atomic_fetch_sub(&large->_pincount, 1);
	ok(!folio_maybe_dma_pinned(large), "folio_maybe_dma_pinned: false again at _pincount 0");
	folio_ref_sub(large, (int)GUP_PIN_COUNTING_BIAS * 2);

	folio_put(small);
	folio_put(large);
	test_shutdown_ok("folio_maybe_dma_pinned");
}

/* ---- the zero page ---------------------------------------------------------------- */

static void test_zero_page(void)
{
	struct page *zp;
	const unsigned char *p;
	bool zero = true;
	long free_normal;
	int status;
	pid_t pid;

	test_boot_buddy(64, 0, 0);
	zp = ZERO_PAGE(0);
	ok(zp != NULL && is_zero_page(zp) && is_zero_pfn(page_to_pfn(zp)) &&
	   is_zero_folio(page_folio(zp)), "zero page: ZERO_PAGE(0) is the zero page "
	   "(is_zero_page, is_zero_pfn, is_zero_folio)");
	ok(!is_zero_pfn(page_to_pfn(zp) + 1), "zero page: its neighbour is not");
	p = page_address(zp);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		zero &= p[i] == 0;
	ok(zero, "zero page: reads as zeroes");
	ok(PageReserved(zp), "zero page: is PG_reserved (never freed to the buddy allocator)");
	ok(page_zonenum(zp) == ZONE_NORMAL, "zero page: lives in ZONE_NORMAL");
	ok(!PageBuddy(zp) && page_ref_count(zp) > 0, "zero page: is not on a free list");
	free_normal = zone_page_state_snapshot(&pinmm_zones[ZONE_NORMAL], NR_FREE_PAGES);
	is_int(free_normal, (long)MB_PAGES(64) - 1, "zero page: not counted as free "
	       "(NR_FREE_PAGES)");
	is_uint(pinmm_frames_in_use(), 1, "zero page: the one frame in use on an idle machine");

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		bail_out("fork failed");
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		*(volatile unsigned char *)page_address(zp) = 1;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	   "zero page: a write to it faults (SIGSEGV): its frame is read-only on the host");
	ok(p[0] == 0, "zero page: still zero after the faulting write");
	test_shutdown_ok("zero page");
	ok(pinmm_zero_page == NULL && pinmm_zero_pfn == ~0UL,
	   "zero page: gone after shutdown");
}

int main(void)
{
	test_layout();
	test_references();
	test_maybe_dma_pinned();
	test_zero_page();
	return done_testing();
}
