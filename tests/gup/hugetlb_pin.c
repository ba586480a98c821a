// SPDX-License-Identifier: MIT
/*
 * Pinning hugetlb memory (Linux mm/gup.c on hugetlb PMD leaves since 6.7:
 * follow_page_mask -> follow_huge_pmd, gup_fast_pmd_leaf; mm/gup.c
 * check_and_migrate_movable_folios with isolate_hugetlb; mm/hugetlb.c
 * alloc_hugetlb_folio_nodemask / alloc_migrate_hugetlb_folio /
 * move_hugetlb_state; gup_longterm's hugetlb rows): GUP-fast takes all 512
 * subpages of a leaf in one walk, the slow path faults a missing huge page
 * in; FOLL_LONGTERM moves a hugetlb folio out of ZONE_MOVABLE to a free pool
 * page that may be pinned (or a temporary one from outside movable memory,
 * the pool keeping its size), and fails with -ENOMEM and nothing pinned when
 * there is none; a hugetlb folio another pin already holds is not migrated
 * (try_to_migrate_one's hugetlb_try_share_anon_rmap(), then the refcount
 * freeze of the unmapped folio): the long-term pin fails -ENOMEM, the first
 * pin keeps the mapped page.
 */
#include "helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/hugetlb.h>

#define HB	GT_BASE
#define HFLAGS	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED)

static struct hugetlb_counts hc(void)
{
	struct hugetlb_counts c;

	hugetlb_read_counts(&c);
	return c;
}

static void hmap(unsigned long len)
{
	if (vm_mmap(NULL, HB, len, GT_RW, HFLAGS, 0) != HB)
		bail_out("MAP_HUGETLB mmap failed");
}

static void hteardown(const char *name, struct task_struct *t)
{
	pinmm_task_detach();
	pinmm_task_exit(t);
	rcu_barrier();
	is_uint(hc().free, hc().nr, "%s: teardown: every huge page is back in the pool", name);
	pinmm_hugetlb_set_nr_hugepages(0);
	is_uint(pinmm_frames_in_use(), 1, "%s: teardown: the pool is empty, no frame kept", name);
	test_shutdown_ok(name);
}

static void gup_fast_on_leaf(void)
{
	static struct page *pages[HUGETLB_NR_PAGES];
	struct task_struct *t;
	struct folio *folio;
	bool seq = true;
	long acq0;

	test_boot(64, 0, 0);
	pinmm_hugetlb_set_nr_hugepages(2);
	t = test_process("fast");
	hmap(2 * HPAGE_SIZE);
	is_int(gt_fast_only(HB, HUGETLB_NR_PAGES, FOLL_PIN | FOLL_WRITE, pages), 0,
	       "fast: GUP-fast alone pins nothing where no huge page is mapped yet");
	gt_fill(HB, 1, 7);
	acq0 = gt_acq();
	is_int(gt_fast_only(HB, HUGETLB_NR_PAGES, FOLL_PIN | FOLL_WRITE, pages), HUGETLB_NR_PAGES,
	       "fast: GUP-fast pins all 512 subpages of the PMD leaf (gup_fast_pmd_leaf)");
	folio = page_folio(pages[0]);
	for (unsigned long i = 0; i < HUGETLB_NR_PAGES; i++)
		seq &= pages[i] == folio_page(folio, i);
	ok(seq && folio_test_hugetlb(folio), "fast: the pages are the hugetlb folio's, in order");
	is_int(folio_pincount(folio), HUGETLB_NR_PAGES, "fast: _pincount counts 512 pins");
	is_int(gt_acq() - acq0, HUGETLB_NR_PAGES, "fast: nr_foll_pin_acquired +512");
	unpin_user_pages(pages, HUGETLB_NR_PAGES);
	ok(folio_pincount(folio) == 0 && folio_ref_count(folio) == 1, "fast: unpin gives all back");

	/* the slow path faults the second huge page in and pins it */
	is_int(pin_user_pages_fast(HB + HPAGE_SIZE, HUGETLB_NR_PAGES, FOLL_WRITE, pages),
	       HUGETLB_NR_PAGES, "fast: pin_user_pages_fast falls back and faults a missing huge page in");
	ok(folio_test_hugetlb(page_folio(pages[0])) && hc().free == 0,
	   "fast: it pinned a pool page");
	unpin_user_pages(pages, HUGETLB_NR_PAGES);
	is_int(gt_pin(HB + 3 * PAGE_SIZE, 2, FOLL_WRITE, pages), 2,
	       "slow: pin_user_pages on a hugetlb leaf (follow_huge_pmd)");
	ok(pages[0] == folio_page(folio, 3) && pages[1] == folio_page(folio, 4),
	   "slow: the subpages at the right offset");
	unpin_user_pages(pages, 2);
	hteardown("gup_fast_on_leaf", t);
}

/* gup_longterm hugetlb rows: a FOLL_LONGTERM pin never leaves a hugetlb folio movable. */
static void longterm_to_pool_page(bool fast)
{
	const char *name = fast ? "longterm_fast" : "longterm_slow";
	struct hugetlb_counts c0, c1;
	struct task_struct *t;
	struct page *page;
	unsigned long old, mig0;
	long r;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(18);
	c0 = hc();
	if (!c0.nr_zone[ZONE_MOVABLE] || !c0.nr_zone[ZONE_NORMAL])
		bail_out("%s: the pool should span both zones", name);
	t = test_process("lt");
	hmap(HPAGE_SIZE);
	gt_fill(HB, HUGETLB_NR_PAGES, 11);
	old = test_pt_pfn(t->mm, HB);
	ok(folio_is_zone_movable(pfn_folio(old)), "%s: the fault took a pool page in ZONE_MOVABLE", name);
	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	r = gt_pin_any(fast, HB + 2 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	is_int(r, 1, "%s: the long-term pin succeeds", name);
	ok(!folio_is_zone_movable(page_folio(page)) && folio_test_hugetlb(page_folio(page)) &&
	   folio_is_longterm_pinnable(page_folio(page)),
	   "%s: it pins a hugetlb page outside ZONE_MOVABLE (migrated first)", name);
	ok(test_pt_pfn(t->mm, HB + 2 * PAGE_SIZE) == page_to_pfn(page),
	   "%s: the mapping now maps the pinned page", name);
	is_uint(gt_check(HB, HUGETLB_NR_PAGES, 11), 0, "%s: all 2 MiB of data came along", name);
	is_uint(gt_ev(PGMIGRATE_SUCCESS) - mig0, 1, "%s: one migration", name);
	c1 = hc();
	ok(c1.nr == c0.nr && c1.free_zone[ZONE_MOVABLE] == c0.free_zone[ZONE_MOVABLE] &&
	   c1.free_zone[ZONE_NORMAL] == c0.free_zone[ZONE_NORMAL] - 1,
	   "%s: the target came from the pool's free pages outside movable, the old page is free again",
	   name);
	unpin_user_page(page);
	hteardown(name, t);
}

static void longterm_to_temporary_page(void)
{
	struct task_struct *t;
	struct page *page;
	struct hugetlb_counts c;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(2);
	if (hc().nr_zone[ZONE_NORMAL])
		bail_out("the pool should be in ZONE_MOVABLE only");
	t = test_process("tmp");
	hmap(HPAGE_SIZE);
	gt_fill(HB, HUGETLB_NR_PAGES, 3);
	is_int(gt_pin(HB, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
		"temporary: the long-term pin succeeds with no pool page outside movable");
	ok(!folio_is_zone_movable(page_folio(page)), "temporary: it pins a page outside ZONE_MOVABLE");
	is_uint(gt_check(HB, HUGETLB_NR_PAGES, 3), 0, "temporary: the data came along");
	c = hc();
	ok(c.nr == 2 && c.nr_zone[ZONE_NORMAL] == 1 && c.nr_zone[ZONE_MOVABLE] == 1 && c.surplus == 0,
	   "temporary: the pool keeps its size: the new page joined it, the old one left "
	   "(move_hugetlb_state)");
	unpin_user_page(page);
	hteardown("longterm_to_temporary_page", t);
}

static void longterm_enomem(void)
{
	static struct page *hold[128];
	struct task_struct *t;
	struct page *page = GT_POISON;
	unsigned long pfn;
	int n = 0;
	long acq0, rel0;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(1);
	t = test_process("nomem");
	hmap(HPAGE_SIZE);
	gt_fill(HB, HUGETLB_NR_PAGES, 5);
	pfn = test_pt_pfn(t->mm, HB);
	/* no 2 MiB of pinnable memory left anywhere */
	while (n < (int)ARRAY_SIZE(hold) &&
	       (hold[n] = alloc_pages(GFP_USER | __GFP_NOWARN | __GFP_NORETRY, HUGETLB_PAGE_ORDER)))
		n++;
	acq0 = gt_acq();
	rel0 = gt_rel();
	is_int(gt_pin(HB, 1, FOLL_WRITE | FOLL_LONGTERM, &page), -ENOMEM,
		"enomem: no huge page outside movable memory: the long-term pin fails -ENOMEM");
	is_int((gt_acq() - acq0) - (gt_rel() - rel0), 0, "enomem: nothing is left pinned");
	ok(test_pt_pfn(t->mm, HB) == pfn && gt_check(HB, HUGETLB_NR_PAGES, 5) == 0,
	   "enomem: the mapping keeps its page and data");
	ok(hc().nr == 1 && hc().free == 0, "enomem: the pool is unchanged");
	while (n--)
		__free_pages(hold[n], HUGETLB_PAGE_ORDER);
	hteardown("longterm_enomem", t);
}

/* gup_longterm: a short-term pin holds the movable hugetlb page; migration must not move it. */
static void longterm_pinned_source(void)
{
	struct task_struct *t;
	struct page *first, *page = GT_POISON;
	unsigned long pfn;
	long acq0, rel0, fail0;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(18);
	t = test_process("pinned-src");
	hmap(HPAGE_SIZE);
	gt_fill(HB, HUGETLB_NR_PAGES, 7);
	pfn = test_pt_pfn(t->mm, HB);
	if (!folio_is_zone_movable(pfn_folio(pfn)))
		bail_out("the fault should take a pool page in ZONE_MOVABLE");
	is_int(gt_pin_any(false, HB + PAGE_SIZE, 1, FOLL_WRITE, &first), 1,
	       "pinned source: a short-term pin of the movable hugetlb page");
	acq0 = gt_acq();
	rel0 = gt_rel();
	fail0 = gt_ev(PGMIGRATE_FAIL);
	is_int(gt_pin(HB, 1, FOLL_WRITE | FOLL_LONGTERM, &page), -ENOMEM,
	       "pinned source: a long-term pin of the same page fails -ENOMEM: its migration "
	       "fails (hugetlb_try_share_anon_rmap / the refcount freeze see the first pin)");
	ok(gt_ev(PGMIGRATE_FAIL) > fail0, "pinned source: the migration was tried and failed");
	is_int((gt_acq() - acq0) - (gt_rel() - rel0), 0, "pinned source: the failed call left no pin");
	ok(test_pt_pfn(t->mm, HB) == pfn && PageAnonExclusive(pfn_to_page(pfn)) &&
	   gt_writable(t->mm, HB),
	   "pinned source: the mapping keeps the pinned page, exclusive and writable");
	gt_page_write(first, HB + PAGE_SIZE, 8);
	is_uint(gt_check(HB + PAGE_SIZE, 1, 8), 0,
		"pinned source: the CPU reads what the first pin's device wrote (same page)");
	unpin_user_page(first);
	is_int(gt_pin(HB, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "pinned source: once unpinned, the long-term pin migrates it and succeeds");
	ok(!folio_is_zone_movable(page_folio(page)), "pinned source: ... out of ZONE_MOVABLE");
	unpin_user_page(page);
	hteardown("longterm_pinned_source", t);
}

int main(void)
{
	plan_no_plan();
	gup_fast_on_leaf();
	longterm_to_pool_page(false);
	longterm_to_pool_page(true);
	longterm_to_temporary_page();
	longterm_enomem();
	longterm_pinned_source();
	return done_testing();
}
