// SPDX-License-Identifier: MIT
/*
 * MADV_WILLNEED on anonymous memory, and the read-pattern advice's effect on
 * reclaim. The Linux rules, by kernel file and function:
 *  R-WILLNEED-SWAP  mm/madvise.c madvise_willneed(), swapin_walk_pmd_entry():
 *                   the swapped-out pages of the range are read into the swap
 *                   cache and not mapped (their PTEs stay swap entries); the
 *                   fault that comes later finds them there and is minor.
 *                   A page already in the cache is not read again; a hole is
 *                   -ENOMEM, the mapped part read in all the same; a locked
 *                   VMA may be advised (live 6.18: 0).
 *  R-RECENCY        mm/rmap.c invalid_folio_referenced_vma(),
 *                   include/linux/mm_inline.h vma_has_recency(): a mapping
 *                   advised MADV_RANDOM or MADV_SEQUENTIAL says nothing about
 *                   what is used next, so reclaim ignores its young bits: its
 *                   pages go before the young pages of a mapping with no such
 *                   advice, which get a second chance.
 */
#include "../gup/helpers.h"

#include <pinmm/swap.h>

#define WB	GT_BASE

static int madv(unsigned long addr, unsigned long len, int advice)
{
	return do_madvise(current->mm, addr, len, advice);
}

static bool swapped_at(unsigned long addr, swp_entry_t *entry)
{
	bool leaf;
	pte_t pte = __pte(test_pt_entry(current->mm, addr, &leaf));

	if (leaf || !is_swapfile_pte(pte))
		return false;
	*entry = pte_to_swp_entry(pte);
	return true;
}

/* Pages of [@addr, + @n pages) still swapped out, and how many of those the swap cache holds. */
static unsigned long nr_swapped(unsigned long addr, unsigned long n, unsigned long *cached)
{
	unsigned long c = 0;

	*cached = 0;
	for (unsigned long i = 0; i < n; i++) {
		swp_entry_t e;
		struct folio *folio;

		if (!swapped_at(addr + i * PAGE_SIZE, &e))
			continue;
		c++;
		folio = swap_cache_get_folio(e);
		if (folio) {
			*cached += folio_test_uptodate(folio);
			folio_put(folio);
		}
	}
	return c;
}

static void boot_with_swap(void)
{
	test_boot(TEST_MEM_MB, 0, 0);
	if (pinmm_swapon(NULL, 1024 * PAGE_SIZE) != 0)
		bail_out("pinmm_swapon");
}

static void willneed_swap(void)
{
	const unsigned long n = 16;
	struct task_struct *t[1];
	unsigned long cached;
	long in0, maj0;

	boot_with_swap();
	t[0] = test_process("willneed");
	test_mmap_fixed(WB, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(WB, n, 31);
	is_int(madv(WB, n * PAGE_SIZE, MADV_PAGEOUT), 0, "setup: MADV_PAGEOUT of 16 pages");
	is_uint(nr_swapped(WB, n, &cached), n, "setup: all 16 swapped out");
	is_uint(cached, 0, "setup: ... none left in the swap cache");

	in0 = gt_ev(PSWPIN);
	maj0 = gt_ev(PGMAJFAULT);
	is_int(madv(WB + 4 * PAGE_SIZE, 8 * PAGE_SIZE, MADV_WILLNEED), 0,
	       "R-WILLNEED-SWAP: MADV_WILLNEED of pages 4-11");
	is_int(gt_ev(PSWPIN) - in0, 8, "R-WILLNEED-SWAP: eight pages read from swap (pswpin)");
	is_uint(nr_swapped(WB, n, &cached), n, "R-WILLNEED-SWAP: none mapped: 16 PTEs still swap entries");
	is_uint(cached, 8, "R-WILLNEED-SWAP: the eight are in the swap cache, uptodate");
	is_int(gt_ev(PGMAJFAULT) - maj0, 0, "R-WILLNEED-SWAP: the advice is no fault (pgmajfault)");
	is_int(madv(WB, 8 * PAGE_SIZE, MADV_WILLNEED), 0, "R-WILLNEED-SWAP: MADV_WILLNEED of pages 0-7");
	is_int(gt_ev(PSWPIN) - in0, 12, "R-WILLNEED-SWAP: only the four not yet cached were read");

	is_uint(gt_check(WB + 4 * PAGE_SIZE, 8, 31), 0, "R-WILLNEED-SWAP: pages 4-11 read back right");
	is_int(gt_ev(PGMAJFAULT) - maj0, 0,
	       "R-WILLNEED-SWAP: ... through minor faults: they were in the swap cache");
	is_int(gt_ev(PSWPIN) - in0, 12, "R-WILLNEED-SWAP: ... with no read from swap");
	is_uint(gt_check(WB + 12 * PAGE_SIZE, 4, 31), 0, "R-WILLNEED-SWAP: pages 12-15 read back right");
	is_int(gt_ev(PGMAJFAULT) - maj0, 4, "R-WILLNEED-SWAP: ... through major faults (not advised)");

	is_int(madv(WB, n * PAGE_SIZE, MADV_PAGEOUT), 0, "setup: out again");
	in0 = gt_ev(PSWPIN);
	is_int(madv(WB + 12 * PAGE_SIZE, 8 * PAGE_SIZE, MADV_WILLNEED), -ENOMEM,
	       "R-WILLNEED-SWAP: a range running into a hole is -ENOMEM ...");
	is_int(gt_ev(PSWPIN) - in0, 4, "R-WILLNEED-SWAP: ... the mapped four read in all the same");
	test_mmap_fixed(WB + 32 * PAGE_SIZE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE | MAP_LOCKED);
	is_int(madv(WB + 32 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_WILLNEED), 0,
	       "R-WILLNEED-SWAP: a locked VMA may be advised");
	is_uint(gt_check(WB, n, 31), 0, "R-WILLNEED-SWAP: every page intact");
	gt_teardown("willneed", t, 1);
}

/*
 * Two regions, the advised one above the other: the scan (from the lowest
 * pfn) meets the plain one's young pages first and gives them a second
 * chance; the advised one's young bits do not count.
 */
static void recency(int advice, const char *name)
{
	const unsigned long n = 64;
	const unsigned long adv = WB + PMD_SIZE;
	struct task_struct *t[1];
	unsigned long cached;

	boot_with_swap();
	t[0] = test_process("recency");
	test_mmap_fixed(WB, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(adv, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	is_int(madv(adv, n * PAGE_SIZE, advice), 0, "R-RECENCY [%s]: advise the upper region", name);
	gt_fill(WB, n, 40);
	gt_fill(adv, n, 41);
	ok(test_pt_pfn(current->mm, WB + (n - 1) * PAGE_SIZE) < test_pt_pfn(current->mm, adv),
	   "setup [%s]: the plain pages lie below the advised ones", name);
	is_uint(pinmm_reclaim_anon(n), n, "R-RECENCY [%s]: the scan frees the %lu pages asked", name, n);
	is_uint(nr_swapped(adv, n, &cached), n,
		"R-RECENCY [%s]: all of them the advised region's, young as they were", name);
	is_uint(nr_swapped(WB, n, &cached), 0,
		"R-RECENCY [%s]: the plain region's young pages got their second chance", name);
	is_uint(gt_check(WB, n, 40) + gt_check(adv, n, 41), 0, "R-RECENCY [%s]: nothing lost", name);
	gt_teardown("recency", t, 1);
}

int main(void)
{
	plan_no_plan();
	willneed_swap();
	recency(MADV_RANDOM, "MADV_RANDOM");
	recency(MADV_SEQUENTIAL, "MADV_SEQUENTIAL");
	return done_testing();
}
