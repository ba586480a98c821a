// SPDX-License-Identifier: MIT
/*
 * MADV_FREE: lazily freed anonymous memory, and what pins do to it. The
 * Linux rules, by kernel file and function (each checked on the live 6.18
 * kernel by a probe program where it can be seen from user space):
 *  R-FREE-ARGS     mm/madvise.c madvise_dontneed_free_valid_vma(),
 *                  madvise_free_single_vma(): only private anonymous memory;
 *                  shared, file-backed, locked and hugetlb VMAs are -EINVAL;
 *                  a hole is -ENOMEM, the mapped parts freed all the same.
 *  R-FREE-LAZY     madvise_free_pte_range(), mm/swap.c folio_mark_lazyfree():
 *                  the PTEs are cleaned and made old, the folio loses
 *                  PG_swapbacked (pglazyfree counts it); the data stays
 *                  readable until reclaim comes.
 *  R-FREE-DISCARD  mm/vmscan.c shrink_folio_list(), mm/rmap.c
 *                  try_to_unmap_one(): reclaim drops a clean lazyfree folio
 *                  without writing it, swap or no swap (pglazyfreed); the
 *                  next touch finds a zero-filled page.
 *  R-FREE-REDIRTY  try_to_unmap_one(): a page written after MADV_FREE (dirty
 *                  PTE) is kept with its data and is swap-backed again.
 *  R-FREE-PIN      try_to_unmap_one(): a lazyfree page with a reference
 *                  besides its mappings and the isolation (a GUP, a pin: a
 *                  DMA may be writing it) is kept, and stays lazyfree (Linux
 *                  2022's direct-I/O fix, and 2025's "no swapbacked for an
 *                  extra reference": after a plain unpin the live kernel
 *                  drops it at the next MADV_PAGEOUT). Unpinned with
 *                  unpin_user_pages_dirty_lock() it is dirty, hence kept.
 *  R-FREE-GUPSLOW  mm/gup.c follow_page_pte(): a FOLL_WRITE|FOLL_TOUCH GUP
 *                  through the page tables (get_user_pages() sets FOLL_TOUCH;
 *                  plain pin_user_pages() does not) marks a clean folio
 *                  dirty, so it is not discarded after it.
 *  R-FREE-SWAP     madvise_free_pte_range(): a swapped-out page's slot is
 *                  freed at once (the data is not wanted); a swap-cache
 *                  folio mapped once loses its slot and becomes lazyfree.
 *  R-FREE-FORK     mm/memory.c copy_present_pte(): fork keeps a private
 *                  page's dirty bit in the child, so one process's MADV_FREE
 *                  cannot drop the data the other still uses: reclaim may
 *                  take the freeing process's mapping (its data was given
 *                  up) but stops at the child's dirty PTE and keeps the page.
 *  R-FREE-THP      madvise_free_huge_pmd(): a THP the range covers whole
 *                  becomes lazyfree as one folio; one covered in part is
 *                  split first, and only the pages in the range go.
 *  R-FREE-PRESSURE mm/page_alloc.c direct reclaim: an allocation that finds
 *                  memory full discards lazyfree pages, no swap needed.
 *  R-FREE-MIGRATE  mm/migrate.c __folio_migrate_mapping(): PG_swapbacked
 *                  moves with the folio, so a migrated lazyfree page is
 *                  still lazyfree (and a swap-backed one still swap-backed).
 */
#include "../gup/helpers.h"

#include <pinmm/fs.h>
#include <pinmm/migrate.h>
#include <pinmm/swap.h>

#define FB	GT_BASE

static int madv(unsigned long addr, unsigned long len, int advice)
{
	return do_madvise(current->mm, addr, len, advice);
}

static bool lazyfree_at(unsigned long addr)
{
	struct page *p = gt_page(current->mm, addr);

	return p && folio_test_anon(page_folio(p)) && !folio_test_swapbacked(page_folio(p));
}

static unsigned long nr_mapped(unsigned long addr, unsigned long n)
{
	unsigned long c = 0;

	for (unsigned long i = 0; i < n; i++)
		c += gt_page(current->mm, addr + i * PAGE_SIZE) != NULL;
	return c;
}

/* ---- R-FREE-ARGS ------------------------------------------------------------------- */

static void bad_vmas(void)
{
	struct task_struct *t[1];
	unsigned long lf0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("args");
	test_mmap_fixed(FB, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, 4, 1);
	is_int(madv(FB + 1, PAGE_SIZE, MADV_FREE), -EINVAL, "R-FREE-ARGS: an unaligned start is -EINVAL");
	test_mmap_fixed(FB + 8 * PAGE_SIZE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE | MAP_LOCKED);
	is_int(madv(FB + 8 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_FREE), -EINVAL,
	       "R-FREE-ARGS: a locked VMA is -EINVAL");
	if (IS_ERR_VALUE(vm_mmap(NULL, FB + 16 * PAGE_SIZE, 2 * PAGE_SIZE, GT_RW,
				 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 0)))
		bail_out("shared mmap");
	is_int(madv(FB + 16 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_FREE), -EINVAL,
	       "R-FREE-ARGS: shared anonymous memory is -EINVAL (not vma_is_anonymous)");
	lf0 = gt_ev(PGLAZYFREE);
	is_int(madv(FB, 6 * PAGE_SIZE, MADV_FREE), -ENOMEM,
	       "R-FREE-ARGS: a range running into a hole is -ENOMEM");
	is_int(gt_ev(PGLAZYFREE) - (long)lf0, 4, "R-FREE-ARGS: ... the 4 mapped pages were freed all the same");
	is_int(gt_check(FB, 4, 1), 0, "R-FREE-LAZY: their data is still there before reclaim");
	gt_teardown("args", t, 1);
}

/* ---- R-FREE-LAZY, R-FREE-DISCARD, R-FREE-REDIRTY --------------------------------------- */

static void discard_and_redirty(void)
{
	const unsigned long n = 16;
	struct task_struct *t[1];
	long lf0, lfd0, rss0;
	bool all_lazy = true, clean = true;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("discard");
	test_mmap_fixed(FB, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, n, 2);
	lf0 = gt_ev(PGLAZYFREE);
	lfd0 = gt_ev(PGLAZYFREED);
	rss0 = get_mm_counter(current->mm, MM_ANONPAGES);
	/* old but dirty entries: MADV_FREE must clean what is dirty, young or not */
	is_int(madv(FB, n * PAGE_SIZE, MADV_COLD), 0, "MADV_COLD first: the PTEs old, still dirty");
	is_int(madv(FB, n * PAGE_SIZE, MADV_FREE), 0, "MADV_FREE: 0");
	for (unsigned long i = 0; i < n; i++) {
		bool leaf;
		pte_t pte = __pte(test_pt_entry(current->mm, FB + i * PAGE_SIZE, &leaf));

		all_lazy &= lazyfree_at(FB + i * PAGE_SIZE);
		clean &= pte_present(pte) && !pte_dirty(pte) && !pte_young(pte);
	}
	ok(all_lazy, "R-FREE-LAZY: every folio lost PG_swapbacked (folio_mark_lazyfree)");
	ok(clean, "R-FREE-LAZY: every PTE is still present, cleaned and old");
	is_int(gt_ev(PGLAZYFREE) - lf0, (long)n, "R-FREE-LAZY: pglazyfree counts %lu pages", n);
	is_int(madv(FB, n * PAGE_SIZE, MADV_FREE), 0, "MADV_FREE again: 0");
	is_int(gt_ev(PGLAZYFREE) - lf0, (long)n,
	       "R-FREE-LAZY: pages already lazyfree are not counted again (folio_mark_lazyfree)");
	/* written again: a dirty PTE */
	gt_fill(FB + 3 * PAGE_SIZE, 1, 3);
	is_int(madv(FB, n * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT with no swap area: 0");
	is_int(gt_ev(PGLAZYFREED) - lfd0, (long)n - 1,
	       "R-FREE-DISCARD: reclaim discarded the %lu clean pages (pglazyfreed), no swap needed", n - 1);
	is_uint(nr_mapped(FB, n), 1, "R-FREE-DISCARD: their PTEs are gone");
	is_int(rss0 - get_mm_counter(current->mm, MM_ANONPAGES), (long)n - 1,
	       "R-FREE-DISCARD: MM_ANONPAGES dropped by as much");
	is_int(gt_check(FB + 3 * PAGE_SIZE, 1, 3), 0, "R-FREE-REDIRTY: the page written after MADV_FREE kept its data");
	ok(!lazyfree_at(FB + 3 * PAGE_SIZE),
	   "R-FREE-REDIRTY: ... and is swap-backed again (set by try_to_unmap_one)");
	is_uint(gt_zero_pages(FB, n), n - 1, "R-FREE-DISCARD: the discarded pages read zero");
	is_uint(nr_mapped(FB, n), n, "R-FREE-DISCARD: ... each a fresh page");
	gt_teardown("discard", t, 1);
}

/* ---- R-FREE-PIN, R-FREE-GUPSLOW --------------------------------------------------------- */

static void pinned_kept(bool dirty_unpin)
{
	struct task_struct *t[1];
	struct page *page;
	long lfd0;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("pinned");
	test_mmap_fixed(FB, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, 4, 4);
	/* io_uring's registration: GUP-fast, which dirties nothing */
	r = pin_user_pages_fast(FB + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (r != 1)
		bail_out("pin = %ld", r);
	lfd0 = gt_ev(PGLAZYFREED);
	is_int(madv(FB, 4 * PAGE_SIZE, MADV_FREE), 0, "MADV_FREE over a pinned page: 0");
	ok(lazyfree_at(FB + PAGE_SIZE), "R-FREE-PIN: the pinned page is marked lazyfree like the rest");
	is_int(madv(FB, 4 * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT: 0");
	is_int(gt_ev(PGLAZYFREED) - lfd0, 3, "R-FREE-PIN: the 3 unpinned pages were discarded");
	ok(gt_page(current->mm, FB + PAGE_SIZE) == page,
	   "R-FREE-PIN: the pinned page stays mapped (its refcount is above mapcount + 1)");
	ok(lazyfree_at(FB + PAGE_SIZE), "R-FREE-PIN: ... and still lazyfree (an extra reference is not a write)");
	/* the device's DMA lands where the process will read */
	gt_page_write(page, FB + PAGE_SIZE, 5);
	is_int(gt_check(FB + PAGE_SIZE, 1, 5), 0, "R-FREE-PIN: what the device wrote, the process reads");
	if (dirty_unpin) {
		unpin_user_pages_dirty_lock(&page, 1, true);
		is_int(madv(FB, 4 * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT after a dirtying unpin");
		is_int(gt_check(FB + PAGE_SIZE, 1, 5), 0,
		       "R-FREE-PIN: unpin_user_pages_dirty_lock() made it dirty: kept with the DMA's data");
		ok(!lazyfree_at(FB + PAGE_SIZE), "R-FREE-PIN: ... and swap-backed again");
	} else {
		unpin_user_page(page);
		lfd0 = gt_ev(PGLAZYFREED);
		is_int(madv(FB, 4 * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT after a plain unpin");
		is_int(gt_ev(PGLAZYFREED) - lfd0, 1,
		       "R-FREE-PIN: after a plain unpin it is discarded at the next reclaim (the live kernel "
		       "does the same: a driver must unpin DMA targets dirty)");
		is_uint(gt_zero_pages(FB + PAGE_SIZE, 1), 1, "R-FREE-PIN: ... and reads zero");
	}
	gt_teardown(dirty_unpin ? "pinned-dirty" : "pinned", t, 1);
}

static void slow_gup_dirties(void)
{
	struct task_struct *t[1];
	struct page *page;
	long lfd0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("gupslow");
	test_mmap_fixed(FB, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, 2, 6);
	is_int(madv(FB, 2 * PAGE_SIZE, MADV_FREE), 0, "MADV_FREE: 0");
	if (gt_pin(FB, 1, FOLL_WRITE, &page) != 1)
		bail_out("pin");
	ok(!folio_test_dirty(page_folio(page)),
	   "R-FREE-GUPSLOW: pin_user_pages(FOLL_WRITE) has no FOLL_TOUCH: the folio stays clean");
	unpin_user_page(page);
	if (gt_get(FB, 1, FOLL_WRITE, &page) != 1)
		bail_out("get");
	ok(folio_test_dirty(page_folio(page)),
	   "R-FREE-GUPSLOW: get_user_pages(FOLL_WRITE) marked the clean lazyfree folio dirty");
	put_page(page);
	lfd0 = gt_ev(PGLAZYFREED);
	is_int(madv(FB, 2 * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT: 0");
	is_int(gt_ev(PGLAZYFREED) - lfd0, 1, "R-FREE-GUPSLOW: only the other page was discarded");
	is_int(gt_check(FB, 1, 6), 0, "R-FREE-GUPSLOW: the page GUP wrote through keeps its data");
	gt_teardown("gupslow", t, 1);
}

/* ---- R-FREE-SWAP -------------------------------------------------------------------- */

static void swap_entries(void)
{
	const unsigned long n = 8;
	struct task_struct *t[1];
	unsigned long total, free0, free1;

	test_boot(TEST_MEM_MB, 0, 0);
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) != 0)
		bail_out("swapon");
	si_swapinfo(&total, &free0);
	t[0] = test_process("swap");
	test_mmap_fixed(FB, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, n, 7);
	is_int(madv(FB, n * PAGE_SIZE, MADV_PAGEOUT), 0, "setup: MADV_PAGEOUT swaps the pages out");
	/* page 0 comes back by a read: in the swap cache, its slot kept */
	is_int(gt_check(FB, 1, 7), 0, "setup: page 0 read back");
	si_swapinfo(&total, &free1);
	is_uint(free0 - free1, n, "setup: %lu slots in use (page 0's kept by the swap cache)", n);
	is_int(madv(FB, n * PAGE_SIZE, MADV_FREE), 0, "MADV_FREE: 0");
	si_swapinfo(&total, &free1);
	is_uint(free1, free0, "R-FREE-SWAP: every slot is free again");
	is_int(get_mm_counter(current->mm, MM_SWAPENTS), 0, "R-FREE-SWAP: MM_SWAPENTS 0: the entries are cleared");
	ok(lazyfree_at(FB) && !folio_test_swapcache(page_folio(gt_page(current->mm, FB))),
	   "R-FREE-SWAP: the swap-cache folio left the cache and is lazyfree");
	is_uint(gt_zero_pages(FB + PAGE_SIZE, n - 1), n - 1, "R-FREE-SWAP: the swapped-out pages read zero");
	gt_teardown("swap", t, 1);
}

/* ---- R-FREE-FORK ---------------------------------------------------------------------- */

static void fork_keeps_child_data(void)
{
	const unsigned long n = 4;
	struct task_struct *t[2] = { NULL, NULL };
	long lfd0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("parent");
	test_mmap_fixed(FB, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, n, 8);
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[0]);
	is_int(madv(FB, n * PAGE_SIZE, MADV_FREE), 0, "the parent's MADV_FREE of pages it shares with its child");
	lfd0 = gt_ev(PGLAZYFREED);
	pinmm_reclaim_anon(64);
	is_uint(gt_check(FB, n, 8) - gt_zero_pages(FB, n), 0,
		"R-FREE-FORK: each of the parent's pages reads its data or zero (it gave them up)");
	pinmm_task_attach(t[1]);
	is_int(gt_check(FB, n, 8), 0, "R-FREE-FORK: the child reads its data (its dirty PTEs kept the folios)");
	is_int(gt_ev(PGLAZYFREED) - lfd0, 0, "R-FREE-FORK: no folio was freed");
	ok(!lazyfree_at(FB), "R-FREE-FORK: the child's dirty PTE made the folio swap-backed again");
	gt_teardown("fork", t, 2);
}

/* ---- R-FREE-THP --------------------------------------------------------------------- */

static void thp_whole_and_part(void)
{
	struct task_struct *t[1];
	long lf0, lfd0, sp0, sf0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("thp");
	if (!gt_thp(FB) || !gt_thp(FB + PMD_SIZE)) {
		skip(6, "no THP");
		gt_teardown("thp", t, 1);
		return;
	}
	gt_fill(FB, 2 * HPAGE_PMD_NR, 9);
	lf0 = gt_ev(PGLAZYFREE);
	lfd0 = gt_ev(PGLAZYFREED);
	/* the first THP whole (its PMD made old first, still dirty), half of the second */
	is_int(madv(FB, PMD_SIZE, MADV_COLD), 0, "MADV_COLD of the first THP");
	is_int(madv(FB, PMD_SIZE + PMD_SIZE / 2, MADV_FREE), 0, "MADV_FREE of 1.5 THPs: 0");
	ok(test_pmd_mapped(current->mm, FB) && lazyfree_at(FB),
	   "R-FREE-THP: the THP covered whole stays PMD-mapped and is lazyfree as one folio");
	ok(!test_pmd_mapped(current->mm, FB + PMD_SIZE) && lazyfree_at(FB + PMD_SIZE) &&
	   !lazyfree_at(FB + PMD_SIZE + PMD_SIZE / 2),
	   "R-FREE-THP: the one covered in half was split; only its first half is lazyfree");
	is_int(gt_ev(PGLAZYFREE) - lf0, (long)(HPAGE_PMD_NR + HPAGE_PMD_NR / 2),
	       "R-FREE-THP: pglazyfree counts 768 pages");
	sp0 = gt_ev(THP_SPLIT_PMD);
	sf0 = gt_ev(THP_SPLIT_PAGE);
	is_int(madv(FB, 2 * PMD_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT of both: 0");
	is_int(gt_ev(PGLAZYFREED) - lfd0, (long)(HPAGE_PMD_NR + HPAGE_PMD_NR / 2),
	       "R-FREE-THP: 768 pages discarded");
	ok(gt_ev(THP_SPLIT_PMD) - sp0 == 1 && gt_ev(THP_SPLIT_PAGE) == sf0,
	   "R-FREE-THP: the whole THP went as one folio: its PMD split to PTEs, the folio not "
	   "(thp_split_pmd +1, thp_split_page +0: the live 6.18 kernel's counts too)");
	is_int(gt_check(FB + PMD_SIZE + PMD_SIZE / 2, HPAGE_PMD_NR / 2, 9), 0,
	       "R-FREE-THP: the half outside the range keeps its data");
	gt_teardown("thp", t, 1);
}

/*
 * R-FREE-THP: reclaim of one lazyfree THP splits its own PMD and no other:
 * the THP right after it stays PMD-mapped and whole.
 */
static void thp_neighbour_untouched(void)
{
	struct task_struct *t[1];
	long lfd0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("thp-next");
	if (!gt_thp(FB) || !gt_thp(FB + PMD_SIZE)) {
		skip(3, "no THP");
		gt_teardown("thp-next", t, 1);
		return;
	}
	is_int(madv(FB, 2 * PMD_SIZE, MADV_FREE), 0, "MADV_FREE of two THPs side by side");
	lfd0 = gt_ev(PGLAZYFREED);
	is_int(madv(FB, PMD_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT of the first only");
	ok(gt_ev(PGLAZYFREED) - lfd0 == HPAGE_PMD_NR && test_pmd_mapped(current->mm, FB + PMD_SIZE) &&
	   lazyfree_at(FB + PMD_SIZE),
	   "R-FREE-THP: the first was discarded; the second is still PMD-mapped and lazyfree");
	gt_teardown("thp-next", t, 1);
}

/*
 * R-FREE-THP: a THP mapped by PTEs that the range covers exactly is not split
 * (madvise_free_pte_range() and madvise_cold_or_pageout_pte_range() split a
 * large folio only when the range holds part of it): it stays one folio,
 * lazyfree (or deactivated) whole. Live 6.18: thp_split_page +0, pglazyfree
 * +512 for such a THP.
 */
static void thp_pte_mapped_exact(int advice, const char *name)
{
	struct task_struct *t[1];
	struct folio *folio;
	long sf0;
	bool all = true;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("thp-pte");
	if (!gt_thp(FB)) {
		skip(4, "no THP");
		gt_teardown("thp-pte", t, 1);
		return;
	}
	gt_fill(FB, HPAGE_PMD_NR, 14);
	/* mprotect of one page splits the PMD (not the folio); the VMAs merge back */
	do_mprotect(FB, PAGE_SIZE, PROT_READ);
	do_mprotect(FB, PAGE_SIZE, GT_RW);
	folio = page_folio(gt_page(current->mm, FB));
	ok(!test_pmd_mapped(current->mm, FB) && folio_test_large(folio),
	   "setup [%s]: a whole THP mapped by PTEs", name);
	sf0 = gt_ev(THP_SPLIT_PAGE);
	is_int(madv(FB, PMD_SIZE, advice), 0, "%s of exactly its 2 MiB: 0", name);
	ok(gt_ev(THP_SPLIT_PAGE) == sf0 && page_folio(gt_page(current->mm, FB)) == folio &&
	   folio_test_large(folio),
	   "R-FREE-THP [%s]: covered exactly, the PTE-mapped THP is not split", name);
	for (unsigned long i = 0; advice == MADV_FREE && i < HPAGE_PMD_NR; i++)
		all &= lazyfree_at(FB + i * PAGE_SIZE);
	ok(advice == MADV_FREE ? all && !folio_test_swapbacked(folio) : !folio_test_active(folio),
	   "R-FREE-THP [%s]: %s", name, advice == MADV_FREE ? "the whole folio is lazyfree" :
	   "the whole folio is inactive");
	is_int(gt_check(FB, HPAGE_PMD_NR, 14), 0, "R-FREE-THP [%s]: its data is still there", name);
	gt_teardown("thp-pte", t, 1);
}

/*
 * R-FREE-THP: a THP mapped by PTEs that the range covers in part, at its
 * start or at its end, is split first: only the pages in the range become
 * lazyfree (live 6.18, the second half of one: thp_split_page +1, pglazyfree
 * +248 at once, the last 8 of 256 still in the CPU's batch of 31).
 */
static void thp_pte_mapped_part(bool tail)
{
	const char *name = tail ? "second half" : "first half";
	unsigned long half = HPAGE_PMD_NR / 2, in = tail ? FB + PMD_SIZE / 2 : FB;
	unsigned long out = tail ? FB : FB + PMD_SIZE / 2, lazy_in = 0, lazy_out = 0;
	struct task_struct *t[1];
	long sf0, lf0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("thp-part");
	if (!gt_thp(FB)) {
		skip(4, "no THP");
		gt_teardown("thp-part", t, 1);
		return;
	}
	gt_fill(FB, HPAGE_PMD_NR, 15);
	do_mprotect(FB, PAGE_SIZE, PROT_READ);
	do_mprotect(FB, PAGE_SIZE, GT_RW);
	ok(!test_pmd_mapped(current->mm, FB) && folio_test_large(page_folio(gt_page(current->mm, FB))),
	   "setup [%s]: a whole THP mapped by PTEs", name);
	sf0 = gt_ev(THP_SPLIT_PAGE);
	lf0 = gt_ev(PGLAZYFREE);
	is_int(madv(in, PMD_SIZE / 2, MADV_FREE), 0, "MADV_FREE of its %s: 0", name);
	for (unsigned long i = 0; i < half; i++) {
		lazy_in += lazyfree_at(in + i * PAGE_SIZE);
		lazy_out += lazyfree_at(out + i * PAGE_SIZE);
	}
	ok(gt_ev(THP_SPLIT_PAGE) - sf0 == 1 && !folio_test_large(page_folio(gt_page(current->mm, FB))),
	   "R-FREE-THP [%s]: covered in part, the PTE-mapped THP was split", name);
	ok(lazy_in == half && lazy_out == 0 && gt_ev(PGLAZYFREE) - lf0 == (long)half,
	   "R-FREE-THP [%s]: only the %lu pages in the range are lazyfree (%lu in, %lu out)", name,
	   half, lazy_in, lazy_out);
	is_int(gt_check(FB, HPAGE_PMD_NR, 15), 0, "R-FREE-THP [%s]: the data is all there", name);
	gt_teardown("thp-part", t, 1);
}

/*
 * The huge zero folio mapped by a read fault is nobody's to age or free:
 * madvise_cold_or_pageout_pte_range() and madvise_free_huge_pmd() pass its
 * PMD by (is_huge_zero_pmd()), leaving even its young bit as it was.
 */
static void huge_zero_left_alone(void)
{
	static const int advice[] = { MADV_COLD, MADV_PAGEOUT, MADV_FREE };
	static const char *const names[] = { "MADV_COLD", "MADV_PAGEOUT", "MADV_FREE" };
	struct task_struct *t[1];
	uint64_t word;
	bool leaf;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("hzp");
	test_mmap_fixed(FB, PMD_SIZE, GT_RW, MAP_PRIVATE);
	madv(FB, PMD_SIZE, MADV_HUGEPAGE);
	copy_from_user(&word, (const void __user *)FB, sizeof(word));	/* a read fault */
	ok(is_huge_zero_pfn(test_pt_pfn(current->mm, FB)) &&
	   pmd_young(__pmd(test_pt_entry(current->mm, FB, &leaf))) && leaf,
	   "setup: a read fault mapped the huge zero folio by a young PMD");
	for (int k = 0; k < 3; k++) {
		is_int(madv(FB, PMD_SIZE, advice[k]), 0, "%s over it: 0", names[k]);
		ok(is_huge_zero_pfn(test_pt_pfn(current->mm, FB)) &&
		   pmd_young(__pmd(test_pt_entry(current->mm, FB, &leaf))) && leaf,
		   "R-FREE-THP [%s]: the huge zero PMD is passed by, still mapped and young", names[k]);
	}
	gt_teardown("hzp", t, 1);
}

/* R-FREE-THP: a THP a fork child maps too is left as it is (madvise_free_huge_pmd). */
static void thp_shared_left(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	long lf0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("thp-shared");
	if (!gt_thp(FB)) {
		skip(3, "no THP");
		gt_teardown("thp-shared", t, 1);
		return;
	}
	gt_fill(FB, HPAGE_PMD_NR, 13);
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[0]);
	lf0 = gt_ev(PGLAZYFREE);
	is_int(madv(FB, PMD_SIZE, MADV_FREE), 0, "MADV_FREE of a THP shared with a fork child: 0");
	ok(test_pmd_mapped(current->mm, FB) && !lazyfree_at(FB) && gt_ev(PGLAZYFREE) == lf0,
	   "R-FREE-THP: a THP others map stays PMD-mapped and swap-backed (folio_maybe_mapped_shared)");
	pinmm_task_attach(t[1]);
	is_int(gt_check(FB, HPAGE_PMD_NR, 13), 0, "R-FREE-THP: the child reads its data");
	gt_teardown("thp-shared", t, 2);
}

/* ---- R-FREE-PRESSURE -------------------------------------------------------------------- */

/*
 * Without a swap area the scan takes lazyfree folios only: swap-backed ones
 * are not even aged (Linux does not scan the anon LRU it cannot reclaim), so
 * their young bits stay as the last access left them.
 */
static void noswap_scan_leaves_swapbacked(void)
{
	struct task_struct *t[1];
	unsigned long young = 0, file_page;
	char word[8] = "pagecch";
	struct file *f;
	loff_t pos = 0;
	long lfd0;
	bool leaf;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("noswap-scan");
	test_mmap_fixed(FB, 16 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, 16, 16);
	f = filp_open("noswap-scan", O_RDWR | O_CREAT, 0644);
	if (IS_ERR(f) || kernel_write(f, word, sizeof(word), &pos) != sizeof(word))
		bail_out("a disk file");
	file_page = vm_mmap(f, FB + PMD_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, 0);
	is_int(madv(FB, 8 * PAGE_SIZE, MADV_FREE), 0, "MADV_FREE of the first 8 of 16 pages");
	gt_check(FB + 8 * PAGE_SIZE, 8, 16);	/* the other 8: accessed, young */
	copy_from_user(word, (const void __user *)file_page, sizeof(word));	/* and a file page */
	lfd0 = gt_ev(PGLAZYFREED);
	is_uint(pinmm_reclaim_anon(16), 8, "R-FREE-PRESSURE: with no swap the scan frees the 8 lazyfree pages");
	is_int(gt_ev(PGLAZYFREED) - lfd0, 8, "R-FREE-PRESSURE: ... discarded (pglazyfreed)");
	for (unsigned long i = 8; i < 16; i++)
		young += pte_young(__pte(test_pt_entry(current->mm, FB + i * PAGE_SIZE, &leaf)));
	is_uint(young, 8, "R-FREE-PRESSURE: the swap-backed pages were not aged: still young");
	is_int(gt_check(FB + 8 * PAGE_SIZE, 8, 16), 0, "R-FREE-PRESSURE: and hold their data");
	ok(pte_young(__pte(test_pt_entry(current->mm, file_page, &leaf))),
	   "R-FREE-PRESSURE: nor was the mapped file page: the anon scan leaves page cache alone");
	vm_munmap(file_page, PAGE_SIZE);
	vfs_fsync(f, 0);
	fput(f);
	pinmm_drop_caches();	/* the teardown counts frames: the file's page goes */
	gt_teardown("noswap-scan", t, 1);
}

static void pressure_discards(void)
{
	/* 32 MiB of memory: 24 MiB freed lazily, then 24 MiB more written */
	const unsigned long n = 24UL << (20 - PAGE_SHIFT);
	struct task_struct *t[1];
	long lfd0;

	test_boot(32, 0, 0);
	t[0] = test_process("pressure");
	test_mmap_fixed(FB, 2 * n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (madv(FB, 2 * n * PAGE_SIZE, MADV_NOHUGEPAGE))
		bail_out("nohugepage");
	gt_fill(FB, n, 10);
	is_int(madv(FB, n * PAGE_SIZE, MADV_FREE), 0, "MADV_FREE of 24 MiB");
	lfd0 = gt_ev(PGLAZYFREED);
	ok(gt_fill(FB + n * PAGE_SIZE, n, 11),
	   "R-FREE-PRESSURE: 24 MiB more fit the 32 MiB machine with no swap area");
	ok(gt_ev(PGLAZYFREED) - lfd0 > 0, "R-FREE-PRESSURE: direct reclaim discarded lazyfree pages (pglazyfreed)");
	is_int(gt_check(FB + n * PAGE_SIZE, n, 11), 0, "R-FREE-PRESSURE: the new data reads back");
	gt_teardown("pressure", t, 1);
}

/* ---- R-FREE-MIGRATE ------------------------------------------------------------------- */

static void migrate_keeps_lazyfree(void)
{
	static struct migration_target_control to_any = { .gfp_mask = GFP_USER,
							  .reason = MR_SYSCALL };
	struct task_struct *t[1];
	unsigned long old0, old1;
	unsigned int succ = 0;
	LIST_HEAD(list);
	long lfd0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("migrate");
	test_mmap_fixed(FB, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FB, 2, 12);
	is_int(madv(FB, PAGE_SIZE, MADV_FREE), 0, "MADV_FREE of page 0 only");
	old0 = test_pt_pfn(current->mm, FB);
	old1 = test_pt_pfn(current->mm, FB + PAGE_SIZE);
	for (int i = 0; i < 2; i++) {
		struct folio *f = page_folio(gt_page(current->mm, FB + i * PAGE_SIZE));

		if (!folio_isolate_lru(f))
			bail_out("isolate");
		list_add_tail(&f->lru, &list);
	}
	is_int(migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&to_any,
			     MIGRATE_SYNC, MR_SYSCALL, &succ), 0, "migrate_pages() moves both");
	ok(test_pt_pfn(current->mm, FB) != old0 && test_pt_pfn(current->mm, FB + PAGE_SIZE) != old1,
	   "both pages are on new frames");
	ok(lazyfree_at(FB) && !lazyfree_at(FB + PAGE_SIZE),
	   "R-FREE-MIGRATE: the lazyfree page is still lazyfree, the other still swap-backed");
	lfd0 = gt_ev(PGLAZYFREED);
	is_int(madv(FB, 2 * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT, no swap area");
	is_int(gt_ev(PGLAZYFREED) - lfd0, 1, "R-FREE-MIGRATE: the moved lazyfree page is discarded");
	is_int(gt_check(FB + PAGE_SIZE, 1, 12), 0, "R-FREE-MIGRATE: the other keeps its data");
	gt_teardown("migrate", t, 1);
}

int main(void)
{
	plan_no_plan();
	bad_vmas();
	discard_and_redirty();
	pinned_kept(false);
	pinned_kept(true);
	slow_gup_dirties();
	noswap_scan_leaves_swapbacked();	/* no swap area on yet either */
	pressure_discards();	/* before any swapon: no swap area ever on */
	swap_entries();
	fork_keeps_child_data();
	thp_whole_and_part();
	thp_shared_left();
	thp_neighbour_untouched();
	thp_pte_mapped_exact(MADV_FREE, "MADV_FREE");
	thp_pte_mapped_exact(MADV_COLD, "MADV_COLD");
	thp_pte_mapped_part(false);
	thp_pte_mapped_part(true);
	huge_zero_left_alone();
	migrate_keeps_lazyfree();
	return done_testing();
}
