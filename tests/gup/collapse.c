// SPDX-License-Identifier: MIT
/*
 * MADV_COLLAPSE and pins (Linux: mm/khugepaged.c, madvise_collapse(),
 * hpage_collapse_scan_pmd(), collapse_huge_page(), is_refcount_suitable();
 * the collapse rows of tools/testing/selftests/mm/cow.c). The rules held:
 *  - a 2 MiB range mapped by small pages is copied into a new THP that one
 *    PMD maps; data, holes (zero-filled) and the mm's anon count survive;
 *  - a page with a reference beyond its mappings (a FOLL_PIN, a FOLL_GET)
 *    stops the collapse with -EAGAIN and nothing changes: the pinned page
 *    stays mapped, so the device and the CPU still see the same memory;
 *    after the unpin the same collapse succeeds; the scan sees it (and a
 *    locked folio, or one off the LRU) before a THP is allocated;
 *  - a pin that arrives after the scan is still caught: the refcounts are
 *    read again once the PMD is cleared (race point collapse_scanned);
 *  - after fork, collapsing the parent's shared pages leaves the child its
 *    own (cow.c: "collapse after fork", whole and half shared), and a
 *    collapse before fork leaves an exclusive THP;
 *  - read-only entries do not stop it (6.18 dropped SCAN_PAGE_RO): an
 *    mprotect(PROT_READ) range collapses into a read-only PMD;
 *  - Linux's errors (each probed on this machine's 6.18 kernel): -EINVAL
 *    for an ineligible VMA (VM_NOHUGEPAGE, shared), no whole aligned 2 MiB
 *    in the range, an empty PMD, a range of zero-page reads only (no
 *    anon_vma); -ENOMEM for a hole in the range; an already PMD-mapped THP
 *    counts as done; none and zero-page entries in a VMA with an anon_vma
 *    collapse into a THP of zeroes (MADV_COLLAPSE ignores max_ptes_none).
 */
#include "helpers.h"

#include <pinmm/migrate.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>

#define ADDR	GT_BASE

static long stat(const char *name)
{
	long v = 0;

	pinmm_vmstat_get(name, &v);
	return v;
}

static int collapse(unsigned long addr, unsigned long len)
{
	return do_madvise(current->mm, addr, len, MADV_COLLAPSE);
}

/* 2 MiB at ADDR of small pages, each written with @tag (THP kept off while filling). */
static void small_pages(uint64_t tag, unsigned long npages)
{
	test_mmap_fixed(ADDR, PMD_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, ADDR, PMD_SIZE, MADV_NOHUGEPAGE) ||
	    !gt_fill(ADDR, npages, tag) ||
	    do_madvise(current->mm, ADDR, PMD_SIZE, MADV_HUGEPAGE))
		bail_out("small pages at %#lx", ADDR);
}

static void collapse_copies(void)
{
	struct task_struct *t;
	struct page *old;
	long rss, allocs;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("collapse");
	small_pages(1, 500);	/* the last 12 pages are holes */
	old = gt_page(current->mm, ADDR + 7 * PAGE_SIZE);
	rss = get_mm_counter(current->mm, MM_ANONPAGES);
	allocs = stat("thp_collapse_alloc");
	ok(!test_pmd_mapped(current->mm, ADDR) && rss == 500, "before: 500 small pages");
	is_int(collapse(ADDR, PMD_SIZE), 0, "MADV_COLLAPSE of 2 MiB of small pages succeeds");
	ok(test_pmd_mapped(current->mm, ADDR) &&
	   folio_order(page_folio(gt_page(current->mm, ADDR))) == HPAGE_PMD_ORDER,
	   "collapse_huge_page: one PMD maps a THP now");
	ok(gt_page(current->mm, ADDR + 7 * PAGE_SIZE) != old,
	   "collapse_huge_page copies into a new folio (anon collapse is never in place)");
	is_uint(gt_check(ADDR, 500, 1), 0, "__collapse_huge_page_copy: the data is intact");
	{
		uint64_t w = 1;

		ok(!copy_from_user(&w, (void __user *)(ADDR + 510 * PAGE_SIZE), sizeof(w)) &&
		   w == 0, "a hole in the range reads as zeroes (clear_user_highpage)");
	}
	is_int(get_mm_counter(current->mm, MM_ANONPAGES), HPAGE_PMD_NR,
	       "MM_ANONPAGES: the holes count now, the copied pages still count once");
	is_int(stat("thp_collapse_alloc") - allocs, 1, "thp_collapse_alloc counts the THP");
	ok(gt_exclusive(gt_page(current->mm, ADDR)) && gt_writable(current->mm, ADDR),
	   "the new THP is exclusive and writable (folio_add_new_anon_rmap RMAP_EXCLUSIVE)");
	is_int(collapse(ADDR, PMD_SIZE), 0, "a range already PMD-mapped counts as done");
	gt_teardown("collapse copies", &t, 1);
}

/* A pin or a GET of one page keeps the whole range as it is. */
static void collapse_refused_by_reference(bool pin)
{
	const char *what = pin ? "FOLL_PIN" : "FOLL_GET";
	unsigned long a = ADDR + 33 * PAGE_SIZE;
	struct task_struct *t;
	struct page *page;
	uint64_t word = 0;
	long allocs;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("collapse-ref");
	small_pages(2, HPAGE_PMD_NR);
	if (pin)
		is_int(pin_user_pages_fast(a, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
		       "[%s] a long-term R/W pin of one page", what);
	else
		is_int(get_user_pages_fast(a, 1, FOLL_WRITE, &page), 1, "[%s] a reference", what);
	allocs = stat("thp_collapse_alloc");
	is_int(collapse(ADDR, PMD_SIZE), -EAGAIN,
	       "[%s] is_refcount_suitable: a referenced page stops the collapse, -EAGAIN", what);
	is_int(stat("thp_collapse_alloc") - allocs, 0,
	       "[%s] ... seen by hpage_collapse_scan_pmd, before a THP is allocated", what);
	ok(!test_pmd_mapped(current->mm, ADDR) && gt_page(current->mm, a) == page,
	   "[%s] ... the range stays as it was; the page is still the one mapped", what);
	((uint64_t *)page_address(page))[0] = 0xd3a;	/* the device writes */
	ok(!copy_from_user(&word, (void __user *)a, sizeof(word)) && word == 0xd3a,
	   "[%s] ... and the CPU sees what the device wrote through it", what);
	is_uint(gt_check(ADDR, 33, 2) + gt_check(a + PAGE_SIZE, HPAGE_PMD_NR - 34, 2), 0,
		"[%s] ... the other pages are intact", what);
	if (pin)
		unpin_user_page(page);
	else
		put_page(page);
	is_int(collapse(ADDR, PMD_SIZE), 0, "[%s] once released, the same collapse succeeds", what);
	ok(!copy_from_user(&word, (void __user *)a, sizeof(word)) && word == 0xd3a &&
	   test_pmd_mapped(current->mm, ADDR), "[%s] ... keeping the device's write", what);
	gt_teardown("collapse vs reference", &t, 1);
}

/*
 * hpage_collapse_scan_pmd() refuses a locked folio (SCAN_PAGE_LOCK) and one
 * off the LRU (SCAN_PAGE_LRU: isolated by a migrator) with -EAGAIN, before it
 * allocates a THP; once the folio is back, the same collapse succeeds.
 */
static void collapse_scan_refuses(void)
{
	unsigned long a = ADDR + 77 * PAGE_SIZE;
	struct task_struct *t;
	struct folio *folio;
	long allocs;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("collapse-scan");
	small_pages(4, HPAGE_PMD_NR);
	folio = page_folio(gt_page(current->mm, a));
	folio_lock(folio);
	allocs = stat("thp_collapse_alloc");
	is_int(collapse(ADDR, PMD_SIZE), -EAGAIN,
	       "hpage_collapse_scan_pmd: a locked folio in the range is SCAN_PAGE_LOCK, -EAGAIN");
	is_int(stat("thp_collapse_alloc") - allocs, 0, "... refused before a THP is allocated");
	folio_unlock(folio);
	ok(folio_isolate_lru(folio), "a folio of the range isolated, as a migrator would");
	allocs = stat("thp_collapse_alloc");
	is_int(collapse(ADDR, PMD_SIZE), -EAGAIN,
	       "hpage_collapse_scan_pmd: a folio off the LRU is SCAN_PAGE_LRU, -EAGAIN");
	is_int(stat("thp_collapse_alloc") - allocs, 0, "... refused before a THP is allocated");
	folio_putback_lru(folio);
	is_int(collapse(ADDR, PMD_SIZE), 0, "back on the LRU and unlocked: the collapse succeeds");
	ok(test_pmd_mapped(current->mm, ADDR) && gt_check(ADDR, HPAGE_PMD_NR, 4) == 0,
	   "... one PMD, data intact");
	gt_teardown("collapse scan refuses", &t, 1);
}

/*
 * A PTE-mapped THP (its PMD split by MADV_DONTNEED of one page) collapses
 * into a new THP: __collapse_huge_page_isolate() locks and isolates the large
 * folio once for its 511 PTEs (cow.c's "PTE-mapped THP" shapes).
 */
static void collapse_of_pte_mapped_thp(void)
{
	struct task_struct *t;
	struct folio *old;
	uint64_t w = 1;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("collapse-ptethp");
	test_mmap_fixed(ADDR, PMD_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, ADDR, PMD_SIZE, MADV_HUGEPAGE) ||
	    !gt_fill(ADDR, HPAGE_PMD_NR, 6))
		bail_out("THP at %#lx", ADDR);
	ok(test_pmd_mapped(current->mm, ADDR), "a THP mapped by one PMD");
	is_int(do_madvise(current->mm, ADDR + 3 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED), 0,
	       "MADV_DONTNEED of one page splits the PMD");
	old = page_folio(gt_page(current->mm, ADDR));
	ok(!test_pmd_mapped(current->mm, ADDR) && folio_test_large(old) &&
	   page_folio(gt_page(current->mm, ADDR + 400 * PAGE_SIZE)) == old,
	   "... leaving a PTE-mapped THP");
	is_int(collapse(ADDR, PMD_SIZE), 0,
	       "MADV_COLLAPSE of a PTE-mapped THP succeeds (the large folio taken once)");
	ok(test_pmd_mapped(current->mm, ADDR) && page_folio(gt_page(current->mm, ADDR)) != old,
	   "... one PMD maps a new THP");
	ok(gt_check(ADDR, 3, 6) == 0 && gt_check(ADDR + 4 * PAGE_SIZE, HPAGE_PMD_NR - 4, 6) == 0 &&
	   !copy_from_user(&w, (void __user *)(ADDR + 3 * PAGE_SIZE), sizeof(w)) && w == 0,
	   "... the data intact, the dropped page zero");
	gt_teardown("collapse PTE-mapped THP", &t, 1);
}

static struct page *race_pinned;
static long race_ret;

/* At the window: GUP-fast pins a page of the scanned range (no mmap_lock needed). */
static void pin_in_window(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)point;
	(void)arg;
	race_ret = gt_fast_only(addr + 5 * PAGE_SIZE, 1, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM,
				&race_pinned);
}

/*
 * @thp: the range is a PTE-mapped THP (one page zapped), whose large folio
 * the isolation takes once: its refcount is read again all the same.
 */
static void collapse_vs_late_pin(bool thp)
{
	const char *k = thp ? " (PTE-mapped THP)" : "";
	struct task_struct *t;
	uint64_t word = 0;
	int r;

	if (pinmm_race_arm(PINMM_RACE_COLLAPSE_SCANNED, pin_in_window, NULL) == -EOPNOTSUPP) {
		skip(4, "race points are compiled out");
		return;
	}
	pinmm_race_disarm(PINMM_RACE_COLLAPSE_SCANNED);
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("collapse-race");
	if (!thp) {
		small_pages(3, HPAGE_PMD_NR);
	} else {
		test_mmap_fixed(ADDR, PMD_SIZE, GT_RW, MAP_PRIVATE);
		if (do_madvise(current->mm, ADDR, PMD_SIZE, MADV_HUGEPAGE) ||
		    !gt_fill(ADDR, HPAGE_PMD_NR, 3) ||
		    do_madvise(current->mm, ADDR + 3 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED) ||
		    test_pmd_mapped(current->mm, ADDR) ||
		    !folio_test_large(page_folio(gt_page(current->mm, ADDR))))
			bail_out("no PTE-mapped THP at %#lx", ADDR);
	}
	race_ret = 0;
	if (pinmm_race_arm(PINMM_RACE_COLLAPSE_SCANNED, pin_in_window, NULL))
		bail_out("arm");
	r = collapse(ADDR, PMD_SIZE);
	pinmm_race_disarm(PINMM_RACE_COLLAPSE_SCANNED);
	is_int(race_ret, 1, "GUP-fast pinned a page after the scan, before the PMD was cleared%s", k);
	is_int(r, -EAGAIN, "__collapse_huge_page_isolate reads the refcount again: -EAGAIN%s", k);
	ok(gt_page(current->mm, ADDR + 5 * PAGE_SIZE) == race_pinned,
	   "... the pinned page is still mapped (the PMD was put back)%s", k);
	((uint64_t *)page_address(race_pinned))[1] = 0xfee1;
	ok(!copy_from_user(&word, (void __user *)(ADDR + 5 * PAGE_SIZE + 8), sizeof(word)) &&
	   word == 0xfee1, "... and stays coherent with the CPU%s", k);
	unpin_user_page(race_pinned);
	gt_teardown("collapse vs late pin", &t, 1);
}

/*
 * cow.c's collapse rows: the parent collapses pages it shares with a child
 * (all, or the lower half with the upper half MADV_DONTFORK), writes; the
 * child must still read the old data.
 */
static void collapse_after_fork(bool half)
{
	const char *name = half ? "lower half shared" : "all shared";
	unsigned long shared = half ? HPAGE_PMD_NR / 2 : HPAGE_PMD_NR;
	struct task_struct *t[2] = { NULL, NULL };
	uint64_t w = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("collapse-fork");
	small_pages(4, HPAGE_PMD_NR);
	if (half && do_madvise(current->mm, ADDR + PMD_SIZE / 2, PMD_SIZE / 2, MADV_DONTFORK))
		bail_out("MADV_DONTFORK");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	if (half && do_madvise(current->mm, ADDR + PMD_SIZE / 2, PMD_SIZE / 2, MADV_DOFORK))
		bail_out("MADV_DOFORK");
	is_int(collapse(ADDR, PMD_SIZE), 0, "[%s] the parent collapses pages it shares", name);
	ok(test_pmd_mapped(current->mm, ADDR) && gt_exclusive(gt_page(current->mm, ADDR)),
	   "[%s] ... into a THP of its own, exclusive", name);
	if (!gt_fill(ADDR, HPAGE_PMD_NR, 5))
		bail_out("parent write");
	pinmm_task_attach(t[1]);
	is_uint(gt_check(ADDR, shared, 4), 0,
		"[%s] the child still reads the old data of every page it shared", name);
	if (half)
		ok(copy_from_user(&w, (void __user *)(ADDR + PMD_SIZE / 2), sizeof(w)) != 0,
		   "[%s] (the DONTFORK half is not mapped in the child)", name);
	pinmm_task_attach(t[0]);
	is_uint(gt_check(ADDR, HPAGE_PMD_NR, 5), 0, "[%s] the parent reads its own writes", name);
	gt_teardown("collapse after fork", t, 2);
}

/* Collapse, then fork, then the parent writes: the child keeps the old THP data. */
static void collapse_before_fork(void)
{
	struct task_struct *t[2] = { NULL, NULL };

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("collapse-prefork");
	small_pages(6, HPAGE_PMD_NR);
	is_int(collapse(ADDR, PMD_SIZE), 0, "[before fork] collapse");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	if (!gt_fill(ADDR, 3, 7))
		bail_out("parent write");
	pinmm_task_attach(t[1]);
	is_uint(gt_check(ADDR, HPAGE_PMD_NR, 6), 0,
		"[before fork] the child reads the collapsed data, not the parent's new writes");
	pinmm_task_attach(t[0]);
	is_uint(gt_check(ADDR, 3, 7), 0, "[before fork] the parent reads its writes");
	gt_teardown("collapse before fork", t, 2);
}

static void collapse_errors(void)
{
	struct task_struct *t;
	uint64_t w;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("collapse-errors");
	small_pages(8, HPAGE_PMD_NR);
	do_madvise(current->mm, ADDR, PMD_SIZE, MADV_NOHUGEPAGE);
	is_int(collapse(ADDR, PMD_SIZE), -EINVAL,
	       "thp_vma_allowable_order: VM_NOHUGEPAGE refuses MADV_COLLAPSE, -EINVAL");
	do_madvise(current->mm, ADDR, PMD_SIZE, MADV_HUGEPAGE);
	is_int(collapse(ADDR + PAGE_SIZE, PMD_SIZE - 2 * PAGE_SIZE), -EINVAL,
	       "a range holding no whole aligned 2 MiB is -EINVAL (6.18 here)");
	ok(!test_pmd_mapped(current->mm, ADDR), "... and nothing was done");
	do_mprotect(ADDR, PMD_SIZE, PROT_READ);
	is_int(collapse(ADDR, PMD_SIZE), 0, "read-only entries collapse (no SCAN_PAGE_RO in 6.18)");
	ok(test_pmd_mapped(current->mm, ADDR) && !gt_writable(current->mm, ADDR) &&
	   gt_check(ADDR, HPAGE_PMD_NR, 8) == 0, "... into a read-only PMD, data intact");
	do_mprotect(ADDR, PMD_SIZE, GT_RW);

	test_mmap_fixed(ADDR + PMD_SIZE, PMD_SIZE, GT_RW, MAP_PRIVATE);
	is_int(collapse(ADDR + PMD_SIZE, PMD_SIZE), -EINVAL,
	       "find_pmd_or_thp_or_none: a range never touched (no PTE table), -EINVAL");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (copy_from_user(&w, (void __user *)(ADDR + PMD_SIZE + i * PAGE_SIZE), 1))
			bail_out("read");
	is_int(collapse(ADDR + PMD_SIZE, PMD_SIZE), -EINVAL,
	       "a range of zero-page reads only (no anon_vma yet) is -EINVAL (6.18 here)");
	{
		long allocs = stat("thp_collapse_alloc");

		w = 7;
		if (copy_to_user((void __user *)(ADDR + PMD_SIZE), &w, sizeof(w)) ||
		    do_madvise(current->mm, ADDR + PMD_SIZE, PAGE_SIZE, MADV_DONTNEED))
			bail_out("write and zap");
		is_int(collapse(ADDR + PMD_SIZE, PMD_SIZE), 0,
		       "none and zero-page entries only, with an anon_vma: MADV_COLLAPSE ignores "
		       "max_ptes_none and collapses (6.18 here)");
		ok(test_pmd_mapped(current->mm, ADDR + PMD_SIZE) &&
		   stat("thp_collapse_alloc") - allocs == 1 &&
		   !copy_from_user(&w, (void __user *)(ADDR + PMD_SIZE), sizeof(w)) && w == 0,
		   "... into a THP of zeroes");
	}

	if (vm_munmap(ADDR + PMD_SIZE, PMD_SIZE))
		bail_out("munmap");
	is_int(collapse(ADDR, 2 * PMD_SIZE), -ENOMEM,
	       "madvise: a hole in the range is -ENOMEM (after collapsing what is mapped)");
	ok(test_pmd_mapped(current->mm, ADDR), "... the mapped 2 MiB before the hole collapsed");

	test_mmap_fixed(ADDR + 2 * PMD_SIZE, PMD_SIZE, GT_RW, MAP_SHARED | MAP_ANONYMOUS);
	gt_populate(ADDR + 2 * PMD_SIZE, PMD_SIZE);
	is_int(collapse(ADDR + 2 * PMD_SIZE, PMD_SIZE), -EINVAL,
	       "shared anonymous memory (shmem in Linux) is not an anon collapse target, -EINVAL");
	is_int(do_madvise(current->mm, ADDR + 1, PMD_SIZE, MADV_COLLAPSE), -EINVAL,
	       "a misaligned start is -EINVAL");
	gt_teardown("collapse errors", &t, 1);
}

int main(void)
{
	plan_no_plan();
	collapse_copies();
	collapse_refused_by_reference(true);
	collapse_refused_by_reference(false);
	collapse_scan_refuses();
	collapse_of_pte_mapped_thp();
	collapse_vs_late_pin(false);
	collapse_vs_late_pin(true);
	collapse_after_fork(false);
	collapse_after_fork(true);
	collapse_before_fork();
	collapse_errors();
	return done_testing();
}
