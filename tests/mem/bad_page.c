// SPDX-License-Identifier: MIT
/*
 * Misuse the allocator must catch (Linux mm/page_alloc.c bad_page(),
 * free_page_is_bad(), free_tail_page_prepare()) and leaks the shutdown check
 * must report (page_owner names the allocation site). Each bad free must be
 * reported, counted, WARNed, and the frames kept out of circulation; the
 * shutdown that follows must then fail with -EBUSY, so these cases call
 * pinmm_shutdown() themselves instead of test_shutdown_ok().
 */
#include "helpers.h"

#include <errno.h>
#include <pinmm/gfp.h>
#include <pinmm/pagemap.h>
#include <pinmm/vmstat.h>

/* Take every free frame; true if none of them lies in [pfn, pfn + nr). */
static bool never_handed_out(unsigned long pfn, unsigned long nr)
{
	static struct held held[MB_PAGES(64)];
	static const gfp_t kinds[] = { GFP_KERNEL, __GFP_MOVABLE, GFP_HIGHUSER_MOVABLE };
	unsigned long n = 0;
	bool clear = true;

	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct page *page;

		while (n < ARRAY_SIZE(held) && (page = alloc_page(kinds[k]))) {
			held[n++] = (struct held){ page, 0, false, 0 };
			if (page_to_pfn(page) >= pfn && page_to_pfn(page) < pfn + nr)
				clear = false;
		}
	}
	if (global_zone_page_state_snapshot(NR_FREE_PAGES) != 0)
		bail_out("could not fill the machine");
	while (n)
		held_free(&held[--n]);
	return clear;
}

/*
 * Free @folio (order @order) in a state that is bad for @why; check that
 * it is reported and leaked, then that shutdown fails.
 */
static void check_bad_free(struct folio *folio, unsigned int order, const char *why)
{
	unsigned long pfn = folio_pfn(folio), nr = 1UL << order;
	unsigned long bad0 = pinmm_bad_page_count(), warn0 = pinmm_warn_count();
	unsigned long in_use = pinmm_frames_in_use();
	long free0 = global_zone_page_state_snapshot(NR_FREE_PAGES);
	char *report;
	int ret;

	quiet_stderr_begin();
	folio_put(folio);
	quiet_stderr_end();
	is_uint(pinmm_bad_page_count() - bad0, 1, "bad page (%s): freeing it is reported as a bad "
		"page (bad_page)", why);
	ok(pinmm_warn_count() > warn0, "bad page (%s): and WARNs", why);
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES), free0, "bad page (%s): none of its %lu "
	       "frames goes back on a free list", why, nr);
	is_uint(pinmm_frames_in_use(), in_use, "bad page (%s): its frames stay counted in use "
		"(leaked on purpose, as Linux does)", why);
	ok(!PageBuddy(pfn_to_page(pfn)), "bad page (%s): the head is not marked buddy", why);
	ok(all_zones_ok(), "bad page (%s): the free lists stay consistent", why);
	ok(never_handed_out(pfn, nr), "bad page (%s): the frames are never handed out again, "
	   "even when the machine is drained", why);

	capture_stderr_begin();
	ret = pinmm_shutdown();
	report = capture_stderr_end();
	is_int(ret, -EBUSY, "bad page (%s): shutdown reports the leaked frames with -EBUSY", why);
	{
		char line[96];

		snprintf(line, sizeof(line), "leaked %lu frame(s) at pfn %#lx", nr, pfn);
		ok(strstr(report, line) != NULL, "bad page (%s): the leak report names the whole "
		   "block: \"%s\"", why, line);
		if (!strstr(report, line))
			diag("report was:\n%s", report);
	}
	free(report);
}

static void test_free_pinned_large(void)
{
	struct folio *folio;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 2);
	if (!folio)
		bail_out("folio_alloc failed");
	atomic_store(&folio->_pincount, 1);
	check_bad_free(folio, 2, "large folio freed with _pincount 1");
}

static void test_free_locked_small(void)
{
	struct folio *folio;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 0);
	if (!folio)
		bail_out("folio_alloc failed");
	folio_lock(folio);
	check_bad_free(folio, 0, "small folio freed with PG_locked");
}

static void test_free_locked_large(void)
{
	struct folio *folio;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_HIGHUSER_MOVABLE, 3);
	if (!folio)
		bail_out("folio_alloc failed");
	folio_lock(folio);
	check_bad_free(folio, 3, "large folio freed with PG_locked");
}

static void test_free_mapped_large(void)
{
	struct folio *folio;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 4);
	if (!folio)
		bail_out("folio_alloc failed");
	atomic_store(&folio->_entire_mapcount, 0);	/* "mapped by one PMD" */
	check_bad_free(folio, 4, "large folio freed while PMD-mapped");
}

static void test_free_mapped_small(void)
{
	struct folio *folio;

	test_boot(64, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 0);
	if (!folio)
		bail_out("folio_alloc failed");
	atomic_store(&folio->_mapcount, 0);		/* "mapped once" */
	check_bad_free(folio, 0, "small folio freed while mapped");
}

/* ---- leak detection --------------------------------------------------------------- */

static void test_leak(void)
{
	struct page *page;
	struct folio *folio;
	char *report;
	int ret;

	test_boot(64, 0, 0);
	page = alloc_page(GFP_KERNEL);
	folio = folio_alloc(GFP_HIGHUSER_MOVABLE, 3);
	ok(page && folio, "leak: allocations succeed");
	capture_stderr_begin();
	ret = pinmm_shutdown();
	report = capture_stderr_end();
	is_int(ret, -EBUSY, "leak: pinmm_shutdown returns -EBUSY when frames were not freed");
	ok(strstr(report, "9 frame(s) not returned") != NULL,
	   "leak: the report counts the leaked frames (1 + 8)");
#ifdef CONFIG_DEBUG_VM
	ok(strstr(report, __FILE__) != NULL && strstr(report, "test_leak") != NULL,
	   "leak: the report names the allocation site (page_owner)");
#else
	skip(1, "page_owner is a CONFIG_DEBUG_VM feature");
#endif
	free(report);
	ok(!pinmm_is_booted(), "leak: the machine is torn down anyway");
	test_boot(64, 0, 0);
	ok(pinmm_is_booted(), "leak: a fresh machine boots after a leaky shutdown");
	is_uint(pinmm_frames_in_use(), 1, "leak: the fresh machine starts with only the zero page "
		"in use");
	test_shutdown_ok("boot after a leak");
}

static void test_pin_leak(void)
{
	char *report;
	int ret;

	test_boot(64, 0, 0);
	mod_node_page_state(NR_FOLL_PIN_ACQUIRED, 1);	/* a pin nobody releases */
	capture_stderr_begin();
	ret = pinmm_shutdown();
	report = capture_stderr_end();
	is_int(ret, -EBUSY, "leak: shutdown with nr_foll_pin_acquired != nr_foll_pin_released "
	       "returns -EBUSY");
	ok(strstr(report, "1 pin(s) outstanding") != NULL, "leak: the report says how many pins "
	   "are outstanding");
	free(report);
	test_boot(64, 0, 0);
	is_int(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED), 0, "leak: a fresh machine starts with "
	       "its pin counters at 0");
	test_shutdown_ok("boot after a pin leak");
}

int main(void)
{
	test_free_pinned_large();
	test_free_locked_small();
	test_free_locked_large();
	test_free_mapped_large();
	test_free_mapped_small();
	test_leak();
	test_pin_leak();
	return done_testing();
}
