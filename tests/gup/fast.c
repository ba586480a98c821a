// SPDX-License-Identifier: MIT
/*
 * GUP-fast (Linux mm/gup.c gup_fast(), gup_fast_fallback(),
 * gup_fast_pte_range(), gup_fast_pmd_leaf(), try_grab_folio_fast()): R-FAST.
 * The lockless walk takes what it can decide alone and leaves the rest to the
 * slow path; get_user_pages_fast_only() never falls back; the fast and slow
 * paths hand out the same pages; a pin backs off while fork holds
 * mm->write_protect_seq odd; a write pin of a read-only PTE falls back and
 * COWs. What the walk alone did is observed through gup_fast_fallback() with
 * FOLL_FAST_ONLY (src/gup/internal.h).
 */
#include "helpers.h"

/* get_user_pages_fast_only(): never faults, never falls back. */
static void test_fast_only(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[8];
	unsigned long right = 0;
	long r, faults0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("fast-only");
	test_mmap_fixed(addr, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	faults0 = gt_ev(PGFAULT);
	r = get_user_pages_fast_only(addr, 8, FOLL_WRITE, pages);
	is_int(r, 0, "R-FAST: get_user_pages_fast_only() on unpopulated memory returns 0 (no "
	       "fallback)");
	ok(gt_ev(PGFAULT) == faults0 && test_pt_pfn(current->mm, addr) == -1UL,
	   "R-FAST: ... and faulted nothing in");
	gt_populate(addr, 4 * PAGE_SIZE);
	r = get_user_pages_fast_only(addr, 4, FOLL_WRITE, pages);
	is_int(r, 4, "R-FAST: get_user_pages_fast_only() on populated memory returns the full "
	       "count");
	for (long i = 0; i < (r > 0 ? r : 0); i++)
		right += test_pt_pfn(current->mm, addr + (unsigned long)i * PAGE_SIZE) ==
			 page_to_pfn(pages[i]) && folio_ref_count(page_folio(pages[i])) == 2;
	is_uint(right, 4, "R-FAST: the mapped pages, each with one more reference (FOLL_GET)");
	gt_put_pages(pages, r);
	r = get_user_pages_fast_only(addr + 2 * PAGE_SIZE, 6, FOLL_WRITE, pages);
	is_int(r, 2, "R-FAST: a range half populated: the leading 2 pages, nothing after the gap");
	gt_put_pages(pages, r);
	is_int(gt_ev(PGFAULT) - faults0, 4, "R-FAST: only MADV_POPULATE_WRITE faulted (4)");
	/* get_user_page_fast_only-style single page: a read-only zero-page PTE is special */
	is_int(do_madvise(current->mm, addr + 6 * PAGE_SIZE, PAGE_SIZE, MADV_POPULATE_READ), 0,
	       "setup: read-populate one page (zero page)");
	r = get_user_pages_fast_only(addr + 6 * PAGE_SIZE, 1, 0, pages);
	is_int(r, 0, "R-FAST: the zero page's special PTE makes the walk stop (fast_only: 0)");
	r = get_user_pages_fast(addr + 6 * PAGE_SIZE, 1, 0, pages);
	ok(r == 1 && is_zero_page(pages[0]), "R-FAST: get_user_pages_fast() falls back and the "
	   "slow path returns the zero page");
	if (r == 1)
		put_page(pages[0]);
	gt_teardown("get_user_pages_fast_only", &t, 1);
}

/* Fast and slow pin the same pages (the "exclusive GUP" acceptance check). */
/*
 * R-FAST across page tables: the walk goes on from one PTE table to the next
 * (gup_fast_pmd_range()), also across a PUD or a PGD boundary (gup_fast_pgd_range()),
 * and stops for good at the first hole, even when the next table is populated.
 */
static void test_fast_across_tables(void)
{
	const unsigned long a = GT_BASE + PMD_SIZE - 2 * PAGE_SIZE;
	const unsigned long b = GT_BASE + PUD_SIZE - 2 * PAGE_SIZE;
	const unsigned long c = (1UL << PGDIR_SHIFT) - 2 * PAGE_SIZE;
	struct task_struct *t;
	struct page *pages[4];
	bool right = true;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("fast-tables");
	test_mmap_fixed(a, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(a, 4 * PAGE_SIZE);
	r = gt_fast_only(a, 4, FOLL_PIN, pages);
	is_int(r, 4, "R-FAST: GUP-fast alone pins 4 pages across two PTE tables");
	for (long i = 0; i < r; i++)
		right &= page_to_pfn(pages[i]) == test_pt_pfn(t->mm, a + (unsigned long)i * PAGE_SIZE);
	ok(right, "R-FAST: each the page mapped at its address");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	if (do_madvise(t->mm, a + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED))
		bail_out("MADV_DONTNEED");
	r = gt_fast_only(a, 4, FOLL_PIN, pages);
	is_int(r, 1, "R-FAST: a hole in the first table ends the walk there, the next table "
	       "is not walked");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	/* and from one PMD table to the next across a PUD (1 GiB) boundary */
	test_mmap_fixed(b, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(b, 4 * PAGE_SIZE);
	r = gt_fast_only(b, 4, FOLL_PIN, pages);
	is_int(r, 4, "R-FAST: GUP-fast alone pins 4 pages across a PUD boundary (two PMD tables)");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	/* and across a PGD (512 GiB) boundary */
	test_mmap_fixed(c, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(c, 4 * PAGE_SIZE);
	r = gt_fast_only(c, 4, FOLL_PIN, pages);
	is_int(r, 4, "R-FAST: GUP-fast alone pins 4 pages across a PGD boundary");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown("fast across tables", &t, 1);
}

static void test_same_pages(void)
{
	static struct page *slow[HPAGE_PMD_NR + 16], *fast[HPAGE_PMD_NR + 16],
		*walk[HPAGE_PMD_NR + 16];
	struct task_struct *t;
	const unsigned long thp = GT_BASE, small = GT_BASE + PMD_SIZE;
	const unsigned long start = thp + 100 * PAGE_SIZE;
	const unsigned long n = HPAGE_PMD_NR - 100 + 16;
	unsigned long diff = 0, diff_walk = 0;
	long rs, rf, rw;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("fast-same");
	if (!gt_thp(thp)) {
		skip(4, "no THP");
		gt_teardown("fast and slow agree", &t, 1);
		return;
	}
	test_mmap_fixed(small, 16 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(small, 16 * PAGE_SIZE);
	rs = gt_pin(start, n, FOLL_WRITE, slow);
	rf = pin_user_pages_fast(start, (int)n, FOLL_WRITE, fast);
	rw = gt_fast_only(start, n, FOLL_PIN | FOLL_WRITE, walk);
	ok(rs == (long)n && rf == (long)n, "R-FAST: pin_user_pages and pin_user_pages_fast both "
	   "pin the THP tail + small pages (%ld, %ld of %lu)", rs, rf, n);
	is_int(rw, (long)n, "R-FAST: the lockless walk alone covers the whole populated range "
	       "(PMD leaf + PTEs)");
	for (unsigned long i = 0; i < n && rs == (long)n && rf == (long)n; i++) {
		diff += slow[i] != fast[i];
		diff_walk += rw == (long)n && slow[i] != walk[i];
	}
	ok(rs == (long)n && rf == (long)n && diff == 0 && diff_walk == 0,
	   "R-FAST: all three return identical page arrays (%lu, %lu differ)", diff, diff_walk);
	is_int(folio_pincount(page_folio(slow[0])), 3 * (HPAGE_PMD_NR - 100),
	       "R-CNT: the THP counts 3 x 412 subpage pins");
	if (rs > 0)
		unpin_user_pages(slow, (unsigned long)rs);
	if (rf > 0)
		unpin_user_pages(fast, (unsigned long)rf);
	if (rw > 0)
		unpin_user_pages(walk, (unsigned long)rw);
	gt_teardown("fast and slow agree", &t, 1);
}

/* A pin backs off while fork holds write_protect_seq odd. */
static void test_write_protect_seq(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[4];
	long r, acq0;
	unsigned int seq0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("fast-seq");
	test_mmap_fixed(addr, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, 4 * PAGE_SIZE);
	r = gt_fast_only(addr, 4, FOLL_PIN, pages);
	is_int(r, 4, "R-FAST: with write_protect_seq even the walk pins populated pages");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);

	seq0 = atomic_load(&current->mm->write_protect_seq.sequence);
	raw_write_seqcount_begin(&current->mm->write_protect_seq);	/* "fork is copying" */
	acq0 = gt_acq();
	r = gt_fast_only(addr, 4, FOLL_PIN, pages);
	is_int(r, 0, "R-FAST: while write_protect_seq is odd the lockless walk takes no pin at "
	       "all (raw_seqcount_try_begin fails)");
	is_int(gt_acq() - acq0, 0, "R-FAST: ... and counts none");
	r = get_user_pages_fast_only(addr, 4, 0, pages);
	is_int(r, 4, "R-FAST: FOLL_GET is not affected by write_protect_seq (only pins race "
	       "fork's COW setup)");
	gt_put_pages(pages, r);
	r = pin_user_pages_fast(addr, 4, 0, pages);
	is_int(r, 4, "R-FAST: pin_user_pages_fast() still succeeds: the slow path (under "
	       "mmap_lock) does the work");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	raw_write_seqcount_end(&current->mm->write_protect_seq);
	is_uint(atomic_load(&current->mm->write_protect_seq.sequence), seq0 + 2,
		"setup: write_protect_seq even again");
	r = gt_fast_only(addr, 4, FOLL_PIN, pages);
	is_int(r, 4, "R-FAST: once it is even again the walk pins");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown("write_protect_seq", &t, 1);
}

/* A write pin on a read-only PTE falls back and COWs. */
static void test_write_ro_pte(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	const unsigned long addr = GT_BASE, zaddr = GT_BASE + PMD_SIZE;
	struct page *pages[2];
	unsigned long pfn0;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("fast-cow");
	test_mmap_fixed(addr, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(gt_fill(addr, 1, 1), "setup: write a page");
	pfn0 = test_pt_pfn(current->mm, addr);
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[0]);
	ok(!gt_writable(current->mm, addr), "setup: after fork the parent's PTE is read-only");
	r = gt_fast_only(addr, 1, FOLL_PIN | FOLL_WRITE, pages);
	is_int(r, 0, "R-FAST: the walk refuses a write pin of a read-only PTE "
	       "(pte_access_permitted)");
	r = get_user_pages_fast_only(addr, 1, FOLL_WRITE, pages);
	is_int(r, 0, "R-FAST: so does get_user_pages_fast_only(FOLL_WRITE)");
	r = pin_user_pages_fast(addr, 1, FOLL_WRITE, pages);
	is_int(r, 1, "R-FAST: pin_user_pages_fast(FOLL_WRITE) falls back and succeeds");
	if (r == 1) {
		ok(page_to_pfn(pages[0]) != pfn0 && test_pt_pfn(current->mm, addr) == page_to_pfn(pages[0]),
		   "R-FAST: the slow path's write fault broke COW: a new page, mapped by the parent");
		ok(gt_writable(current->mm, addr), "R-FAST: ... writable now");
		is_uint(test_pt_pfn(t[1]->mm, addr), pfn0, "R-FAST: the child keeps the old page");
		ok(gt_page_holds(pages[0], addr, 1), "R-FAST: the copy holds the data");
		gt_page_write(pages[0], addr, 2);
		unpin_user_page(pages[0]);
		is_uint(gt_check(addr, 1, 2), 0, "R-FAST: the parent reads the device's write");
		pinmm_task_attach(t[1]);
		is_uint(gt_check(addr, 1, 1), 0, "R-FAST: the child does not");
		pinmm_task_attach(t[0]);
	} else {
		skip(6, "pin failed");
	}
	/* the zero page: a write pin never returns it */
	test_mmap_fixed(zaddr, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	do_madvise(current->mm, zaddr, PAGE_SIZE, MADV_POPULATE_READ);
	r = pin_user_pages_fast(zaddr, 1, FOLL_WRITE, pages);
	ok(r == 1 && !is_zero_page(pages[0]) && test_pt_pfn(current->mm, zaddr) == page_to_pfn(pages[0]),
	   "R-FAST: a write pin over the zero page falls back and gets a fresh anon page");
	if (r == 1)
		unpin_user_page(pages[0]);
	gt_teardown("write pin of a R/O PTE", t, 2);
}

/* What else makes the walk stop (the slow path decides). */
static void test_fallback_reasons(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[4];
	long r;

	test_boot(64, 32, 0);
	t = test_process("fast-reasons");
	test_mmap_fixed(addr, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, 4 * PAGE_SIZE);
	ok(!folio_is_longterm_pinnable(page_folio(gt_page(current->mm, addr))),
	   "setup: the pages are in ZONE_MOVABLE");
	r = gt_fast_only(addr, 4, FOLL_PIN | FOLL_LONGTERM, pages);
	is_int(r, 0, "R-FAST/R-LT: the walk refuses a long-term pin of a not-long-term-pinnable "
	       "folio (try_grab_folio_fast drops it)");
	ok(gt_acq() == gt_rel() && folio_ref_count(page_folio(gt_page(current->mm, addr))) == 1,
	   "R-FAST: the refused speculative grab left no reference and no pin");
	r = gt_fast_only(addr, 4, FOLL_PIN, pages);
	is_int(r, 4, "R-FAST: a short-term pin of the same pages is taken by the walk");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	is_int(do_mprotect(addr + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ), 0, "setup: page 2 R/O");
	r = gt_fast_only(addr, 4, FOLL_PIN | FOLL_WRITE, pages);
	is_int(r, 2, "R-FAST: a write walk stops at the read-only PTE and returns the 2 before it");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	r = gt_fast_only(addr, 4, FOLL_PIN, pages);
	is_int(r, 4, "R-FAST: a read walk passes it (exclusive anon page, no unshare needed)");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown("fast fallback reasons", &t, 1);
}

/*
 * GUP-fast marks what it takes referenced, as the slow path's FOLL_TOUCH
 * does (gup_fast_pte_range() / gup_fast_pmd_leaf() folio_set_referenced()):
 * pinned pages look in use to reclaim.
 */
static void test_fast_touch(void)
{
	struct task_struct *t;
	struct folio *folio;
	struct page *page;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("fast-touch");
	test_mmap_fixed(GT_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, 4 * PAGE_SIZE);
	folio = page_folio(gt_page(t->mm, GT_BASE + PAGE_SIZE));
	folio_clear_referenced(folio);
	r = gt_fast_only(GT_BASE + PAGE_SIZE, 1, FOLL_PIN | FOLL_WRITE, &page);
	ok(r == 1 && folio_test_referenced(folio),
	   "R-FAST: the lockless walk marks a small folio it pins referenced");
	if (r == 1)
		unpin_user_page(page);
	folio = page_folio(gt_page(t->mm, GT_BASE + 2 * PAGE_SIZE));
	folio_clear_referenced(folio);
	r = gt_fast_only(GT_BASE + 2 * PAGE_SIZE, 1, FOLL_GET, &page);
	ok(r == 1 && folio_test_referenced(folio),
	   "R-FAST: ... and one it takes a reference on (FOLL_GET)");
	if (r == 1)
		put_page(page);
	if (gt_thp(GT_BASE + PMD_SIZE)) {
		folio = page_folio(gt_page(t->mm, GT_BASE + PMD_SIZE));
		folio_clear_referenced(folio);
		r = gt_fast_only(GT_BASE + PMD_SIZE + 3 * PAGE_SIZE, 1, FOLL_PIN | FOLL_WRITE, &page);
		ok(r == 1 && folio_test_referenced(folio),
		   "R-FAST: ... and a PMD-mapped THP it pins");
		if (r == 1)
			unpin_user_page(page);
	} else {
		skip(1, "no PMD-mapped THP");
	}
	gt_teardown("fast touch", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_fast_only();
	test_fast_across_tables();
	test_same_pages();
	test_write_protect_seq();
	test_write_ro_pte();
	test_fallback_reasons();
	test_fast_touch();
	return done_testing();
}
