// SPDX-License-Identifier: MIT
/*
 * alloc_contig_range() and CMA (Linux mm/page_alloc.c, mm/page_isolation.c,
 * mm/cma.c): the free-page side (free ranges are taken whole, unaligned ends
 * are given back, pageblock types survive), what makes a range busy (a page
 * that is not a movable user page; a user page with an extra reference, the
 * stand-in for a pin), that mapped user pages are migrated out of the way
 * with their data, and the CMA allocator over the machine's CMA area.
 */
#include "helpers.h"

static struct zone *movable_zone(void)
{
	return &pinmm_zones[ZONE_MOVABLE];
}

static unsigned long cma_base(void)
{
	struct zone *n = &pinmm_zones[ZONE_NORMAL];

	return zone_end_pfn(n) - n->cma_pages;
}

static bool all_refcount_one(unsigned long pfn, unsigned long nr)
{
	for (unsigned long i = 0; i < nr; i++)
		if (page_ref_count(pfn_to_page(pfn + i)) != 1 || PageBuddy(pfn_to_page(pfn + i)))
			return false;
	return true;
}

static void test_free_range(void)
{
	struct zone *z;
	unsigned long start, free0;
	int ret;

	test_boot(MG_MEM_MB, MG_MOVABLE_MB, MG_CMA_MB);
	z = movable_zone();
	start = z->zone_start_pfn + 3 * pageblock_nr_pages + 100;	/* unaligned on purpose */
	free0 = (unsigned long)nr_free_pages();

	ret = alloc_contig_range(start, start + 700, MIGRATE_MOVABLE, GFP_KERNEL);
	is_int(ret, 0, "contig: a free range is allocated (alloc_contig_range returns 0)");
	ok(all_refcount_one(start, 700),
	   "contig: every frame of the range is an allocated page with one reference");
	is_int((long)free0 - nr_free_pages(), 700,
	       "contig: exactly the range left the free lists; the unaligned ends were freed back");
	is_int(get_pfnblock_migratetype(start), MIGRATE_MOVABLE,
	       "contig: the pageblocks get their type back (MIGRATE_ISOLATE undone)");
	is_int(pinmm_check_zone(z, true), 0, "contig: the free lists stay consistent");
	free_contig_range(start, 700);
	is_int(nr_free_pages(), (long)free0, "contig: free_contig_range gives every frame back");
	test_shutdown_ok("contig free range");
}

static void test_bad_args(void)
{
	struct zone *n;

	test_boot(MG_MEM_MB, MG_MOVABLE_MB, MG_CMA_MB);
	n = &pinmm_zones[ZONE_NORMAL];
	is_int(alloc_contig_range(10, 10, MIGRATE_MOVABLE, GFP_KERNEL), -EINVAL,
	       "contig: an empty range is -EINVAL");
	is_int(alloc_contig_range(zone_end_pfn(n) - 1, zone_end_pfn(n) + 1, MIGRATE_MOVABLE,
				  GFP_KERNEL), -EINVAL,
	       "contig: a range across two zones is -EINVAL (Linux: one zone only)");
	is_int(alloc_contig_range(pinmm_max_pfn - 1, pinmm_max_pfn + 1, MIGRATE_MOVABLE,
				  GFP_KERNEL), -EINVAL,
	       "contig: a range past the last pfn is -EINVAL");
	is_int(alloc_contig_range(0, 1, MIGRATE_UNMOVABLE, GFP_KERNEL), -EINVAL,
	       "contig: only MOVABLE or CMA ranges can be emptied");
	test_shutdown_ok("contig bad args");
}

static void test_unmovable_page_busy(void)
{
	struct page *page;
	unsigned long pfn, start;
	char *err;
	char want[64];
	int ret;

	test_boot(MG_MEM_MB, MG_MOVABLE_MB, MG_CMA_MB);
	/* a kernel page in CMA: CMA serves only movable requests, so use a movable one */
	page = alloc_page(GFP_HIGHUSER_MOVABLE);
	pfn = page_to_pfn(page);
	start = ALIGN_DOWN(pfn, pageblock_nr_pages);
	capture_stderr_begin();
	ret = alloc_contig_range(start, start + pageblock_nr_pages, MIGRATE_MOVABLE, GFP_KERNEL);
	err = capture_stderr_end();
	is_int(ret, -EBUSY, "contig: a page that is not on the LRU cannot be moved: -EBUSY");
	snprintf(want, sizeof(want), "pfn %#lx", pfn);
	ok(strstr(err, want) != NULL, "contig: the -EBUSY report names the first busy pfn (%s)",
	   want);
	free(err);
	is_int(get_pfnblock_migratetype(pfn), MIGRATE_MOVABLE,
	       "contig: on failure the pageblock types are restored");
	ok(page_ref_count(page) == 1, "contig: the busy page is untouched");
	is_int(pinmm_check_zone(page_zone(page), true), 0,
	       "contig: on failure every free frame is back on its proper list");
	__free_pages(page, 0);
	ret = alloc_contig_range(start, start + pageblock_nr_pages, MIGRATE_MOVABLE, GFP_KERNEL);
	is_int(ret, 0, "contig: once the page is freed the same range is allocated");
	if (!ret)
		free_contig_range(start, pageblock_nr_pages);
	test_shutdown_ok("contig unmovable page");
}

/* A page freed while its range is isolated lands on the isolate list, not in use. */
static void test_busy_twice(void)
{
	struct zone *z;
	unsigned long start;

	test_boot(MG_MEM_MB, MG_MOVABLE_MB, MG_CMA_MB);
	z = movable_zone();
	start = z->zone_start_pfn;
	is_int(alloc_contig_range(start, start + 16, MIGRATE_MOVABLE, GFP_KERNEL), 0,
	       "contig: 16 pages at the start of ZONE_MOVABLE");
	quiet_stderr_begin();
	is_int(alloc_contig_range(start, start + 16, MIGRATE_MOVABLE, GFP_KERNEL), -EBUSY,
	       "contig: the same frames cannot be allocated twice (-EBUSY)");
	quiet_stderr_end();
	is_int(alloc_contig_range(start + 16, start + 32, MIGRATE_MOVABLE, GFP_KERNEL), 0,
	       "contig: the frames next to them can");
	free_contig_range(start, 32);
	test_shutdown_ok("contig twice");
}

/* ---- user pages are moved out of the way ------------------------------------------ */

#define NPAGES	64

static void test_mapped_pages_move(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long pfn0, start, moved_pfn, succ0, pages_in_range = 0;
	int ret;

	mg_boot();
	t = test_process("contig");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 1);
	pfn0 = test_pt_pfn(mm, MG_BASE);
	ok(pfn0 != -1UL && page_zonenum(pfn_to_page(pfn0)) == ZONE_MOVABLE,
	   "contig: user memory comes from ZONE_MOVABLE (GFP_HIGHUSER_MOVABLE)");
	start = ALIGN_DOWN(pfn0, pageblock_nr_pages);
	for (unsigned long i = 0; i < NPAGES; i++) {
		unsigned long p = test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE);

		pages_in_range += p >= start && p < start + pageblock_nr_pages;
	}
	succ0 = ev(PGMIGRATE_SUCCESS);
	ret = alloc_contig_range(start, start + pageblock_nr_pages, MIGRATE_MOVABLE, GFP_KERNEL);
	is_int(ret, 0, "contig: a pageblock holding mapped anon pages is emptied by migration");
	moved_pfn = test_pt_pfn(mm, MG_BASE);
	ok(moved_pfn != pfn0 && (moved_pfn < start || moved_pfn >= start + pageblock_nr_pages),
	   "contig: the mapping now points outside the range (pfn %#lx -> %#lx)", pfn0,
	   moved_pfn);
	is_uint(mg_check(MG_BASE, NPAGES, 1), 0,
		"contig: every byte reads back the same after the move");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, (long)pages_in_range,
	       "contig: pgmigrate_success counts the %lu pages that moved", pages_in_range);
	if (!ret)
		free_contig_range(start, pageblock_nr_pages);
	mg_teardown("contig mapped", &t, 1);
}

static void test_extra_ref_busy(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct folio *folio;
	unsigned long pfn;
	long fail0;
	char *err, want[64];
	int ret;

	mg_boot();
	t = test_process("contig-ref");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 2);
	folio = mg_folio(mm, MG_BASE + 5 * PAGE_SIZE);
	pfn = folio_pfn(folio);
	/* a GET reference, standing in for a pin until src/gup exists */
	folio_get(folio);
	fail0 = ev(PGMIGRATE_FAIL);
	capture_stderr_begin();
	ret = alloc_contig_range(pfn, pfn + 1, MIGRATE_MOVABLE, GFP_KERNEL);
	err = capture_stderr_end();
	is_int(ret, -EBUSY, "contig: a folio with an extra reference cannot be emptied: -EBUSY "
	       "(migration refuses references its mappings do not explain)");
	snprintf(want, sizeof(want), "pfn %#lx", pfn);
	ok(strstr(err, want) != NULL, "contig: the report names the held page (%s)", want);
	free(err);
	is_uint(test_pt_pfn(mm, MG_BASE + 5 * PAGE_SIZE), pfn,
		"contig: the held page stays mapped where it was");
	is_uint(mg_check(MG_BASE, NPAGES, 2), 0, "contig: and its data is intact");
	is_int(ev(PGMIGRATE_FAIL), fail0,
	       "contig: the held folio is not even isolated (Linux skips folios with more "
	       "references than mappings), so nothing counts as a failed migration");
	folio_put(folio);
	ret = alloc_contig_range(pfn, pfn + 1, MIGRATE_MOVABLE, GFP_KERNEL);
	is_int(ret, 0, "contig: after the reference is dropped the same allocation succeeds");
	ok(test_pt_pfn(mm, MG_BASE + 5 * PAGE_SIZE) != pfn, "contig: the page was moved away");
	is_uint(mg_check(MG_BASE, NPAGES, 2), 0, "contig: data intact after the move");
	if (!ret)
		free_contig_range(pfn, 1);
	mg_teardown("contig extra ref", &t, 1);
}

/* ---- CMA ----------------------------------------------------------------------- */

static void test_cma(void)
{
	unsigned long cma_pages, succ0, fail0;
	struct page *a, *b, *c;

	test_boot(MG_MEM_MB, MG_MOVABLE_MB, MG_CMA_MB);
	cma_pages = pinmm_zones[ZONE_NORMAL].cma_pages;
	succ0 = ev(CMA_ALLOC_SUCCESS);
	fail0 = ev(CMA_ALLOC_FAIL);

	a = cma_alloc_pages(100, 0);
	ok(a && page_to_pfn(a) >= cma_base() && page_to_pfn(a) + 100 <= cma_base() + cma_pages,
	   "cma: cma_alloc_pages returns frames of the CMA area");
	b = cma_alloc_pages(pageblock_nr_pages, pageblock_order);
	ok(b && IS_ALIGNED(page_to_pfn(b), pageblock_nr_pages),
	   "cma: align_order aligns the first pfn");
	ok(a && b && (page_to_pfn(b) >= page_to_pfn(a) + 100 ||
		      page_to_pfn(b) + pageblock_nr_pages <= page_to_pfn(a)),
	   "cma: two claims never overlap");
	c = cma_alloc_pages(cma_pages, 0);
	ok(!c, "cma: a claim larger than what is left fails");
	is_int(ev(CMA_ALLOC_SUCCESS) - (long)succ0, 2, "cma: cma_alloc_success counts claims");
	is_int(ev(CMA_ALLOC_FAIL) - (long)fail0, 1, "cma: cma_alloc_fail counts failures");
	is_int(get_pfnblock_migratetype(page_to_pfn(a)), MIGRATE_CMA,
	       "cma: claimed pageblocks stay MIGRATE_CMA");
	ok(cma_release_pages(a, 100), "cma: cma_release_pages gives a claim back");
	ok(cma_release_pages(b, pageblock_nr_pages), "cma: the aligned claim too");
	quiet_stderr_begin();
	ok(!cma_release_pages(a, 100), "cma: releasing twice is refused (WARN)");
	quiet_stderr_end();
	c = cma_alloc_pages(cma_pages, 0);
	ok(c && page_to_pfn(c) == cma_base(), "cma: after release the whole area can be claimed");
	if (c)
		cma_release_pages(c, cma_pages);
	test_shutdown_ok("cma");
}

/* Movable allocations use CMA while it is unclaimed; a claim moves them out. */
static void test_cma_moves_user_pages(void)
{
	unsigned long cma_pages, in_cma = 0, total = 0;
	struct task_struct *t;
	struct mm_struct *mm;
	struct page *all;
	unsigned long npages;

	/* no ZONE_MOVABLE: user memory lands in ZONE_NORMAL, half of it CMA */
	test_boot(64, 0, 32);
	cma_pages = pinmm_zones[ZONE_NORMAL].cma_pages;
	t = test_process("cma-user");
	mm = t->mm;
	npages = MB_PAGES(12);
	mg_mmap(MG_BASE, npages * PAGE_SIZE);
	mg_fill(MG_BASE, npages, 3);
	for (unsigned long i = 0; i < npages; i++) {
		unsigned long p = test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE);

		total++;
		in_cma += p >= cma_base() && p < cma_base() + cma_pages;
	}
	ok(in_cma > 0, "cma: unclaimed CMA frames serve movable user allocations (%lu of %lu)",
	   in_cma, total);
	all = cma_alloc_pages(cma_pages, 0);
	ok(all != NULL, "cma: claiming the whole area migrates the user pages out of it");
	in_cma = 0;
	for (unsigned long i = 0; i < npages; i++) {
		unsigned long p = test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE);

		in_cma += p >= cma_base() && p < cma_base() + cma_pages;
	}
	is_uint(in_cma, 0, "cma: no user page is left in the claimed area");
	is_uint(mg_check(MG_BASE, npages, 3), 0, "cma: the user data moved intact");
	if (all)
		cma_release_pages(all, cma_pages);
	mg_teardown("cma user pages", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_free_range();
	test_bad_args();
	test_unmovable_page_busy();
	test_busy_twice();
	test_mapped_pages_move();
	test_extra_ref_busy();
	test_cma();
	test_cma_moves_user_pages();
	return done_testing();
}
