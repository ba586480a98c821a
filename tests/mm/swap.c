// SPDX-License-Identifier: MIT
/*
 * Swap of anonymous memory and pins. The Linux rules, by kernel file and
 * function:
 *  R-SWAP-PIN     mm/vmscan.c shrink_folio_list(): a maybe-pinned anon folio
 *                 gets no swap space; it stays resident and mapped.
 *  R-UNMAP-SHARE  mm/rmap.c try_to_unmap_one() -> folio_try_share_anon_rmap_pte():
 *                 an anon-exclusive page that may be pinned is not unmapped
 *                 (even once it is in the swap cache).
 *  R-SWAPIN       mm/memory.c do_swap_page(): the page comes back from the
 *                 swap cache or the area with its data; a page that was
 *                 anon-exclusive comes back exclusive (and writable).
 *  R-GUP-SWAPIN   mm/gup.c faultin_page(): GUP of a swapped-out page faults it
 *                 in; a R/O long-term pin of it needs no unshare.
 *  R-FORK-SWAP    mm/memory.c copy_nonpresent_pte() -> swap_duplicate(): fork
 *                 shares the slot, clears the exclusive bit on both sides.
 *                 A slot whose count is full fails the fork with -ENOMEM
 *                 (pinmm has no count continuations, docs/swap.md; Linux
 *                 fails the same way only when the continuation page cannot
 *                 be allocated), the parent intact.
 *  R-ZAP-SWAP     mm/memory.c zap_nonpresent_ptes() -> free_swap_and_cache():
 *                 unmap and exit free the slots.
 *  R-SWAP-FULL    mm/swapfile.c folio_alloc_swap(): no slot, no swap-out,
 *                 the folio stays; no area, anon memory is not reclaimed.
 *  R-MADV-LRU     mm/madvise.c madvise_pageout()/can_madv_lru_vma(): locked
 *                 VMAs give -EINVAL, shared anon memory is left alone (0).
 *  R-THP-SWAP     mm/vmscan.c (CONFIG_THP_SWAP): an unpinned THP is swapped
 *                 out whole; a pinned one stays (it could not even be split).
 *  R-THP-SPLIT    mm/vmscan.c shrink_folio_list(): a THP the swap areas cannot
 *                 take whole is split (split_folio_to_list(), thp_swpout_fallback)
 *                 and its pages go out one by one; a THP that could not be
 *                 split (can_split_folio(): a GET or a pin) gets no swap space
 *                 at all, even where it would fit whole.
 *  R-THP-PART     mm/madvise.c madvise_cold_or_pageout_pte_range(): a THP the
 *                 range covers only in part is split first (PMD- or
 *                 PTE-mapped), so PAGEOUT writes out the pages in the range
 *                 and no others; a pinned THP cannot be split and stays
 *                 whole and resident.
 *  R-COLD         mm/madvise.c madvise_cold_or_pageout_pte_range() (cold): the
 *                 pages lose their young bits and go inactive, so reclaim
 *                 takes them before pages still in use (mm/vmscan.c
 *                 folio_referenced(): a referenced folio is kept a round).
 *  R-PRESSURE     mm/page_alloc.c __alloc_pages_direct_reclaim(): an
 *                 allocation that finds memory full swaps anon memory out.
 *  R-EXPECTED    include/linux/mm.h folio_expected_ref_count(): the swap
 *                 cache's references are explained, so MADV_COLLAPSE copies a
 *                 range holding a mapped swap-cache folio (khugepaged's
 *                 refcount check), while a pin on top of them still stops it;
 *                 migration of such a folio (whose cache slots pinmm does not
 *                 move) is refused with nothing changed.
 *  R-COLLAPSE-SWAPIN mm/khugepaged.c hpage_collapse_scan_pmd() and
 *                 __collapse_huge_page_swapin(): MADV_COLLAPSE (no
 *                 max_ptes_swap) reads a range's swapped-out pages back and
 *                 collapses it with every byte; a uffd-wp protected swap entry
 *                 stops it (-EINVAL), nothing read back.
 * Counters: pswpin/pswpout, SwapTotal/SwapFree; shutdown finds no slot in use.
 */
#include "../gup/helpers.h"

#include <pinmm/fault-inject.h>
#include <pinmm/pagemap.h>
#include <pinmm/migrate.h>
#include <pinmm/swap.h>
#include <pinmm/userfaultfd.h>

#define SW_BASE		GT_BASE

static bool is_swapped(unsigned long addr)
{
	bool leaf;
	unsigned long v = test_pt_entry(current->mm, addr, &leaf);

	return !leaf && is_swapfile_pte(__pte(v));
}

static unsigned long nr_swapped(unsigned long addr, unsigned long n)
{
	unsigned long c = 0;

	for (unsigned long i = 0; i < n; i++)
		c += is_swapped(addr + i * PAGE_SIZE);
	return c;
}

static unsigned long swap_free_pages(void)
{
	unsigned long total, free;

	si_swapinfo(&total, &free);
	return free;
}

static long meminfo_kb(const char *key)
{
	char *buf = NULL, *p;
	size_t len = 0;
	long kb = -1;
	FILE *f = open_memstream(&buf, &len);

	pinmm_print_meminfo(f);
	fclose(f);
	p = strstr(buf, key);
	if (p)
		kb = strtol(p + strlen(key) + 1, NULL, 10);
	free(buf);
	return kb;
}

static int pageout(unsigned long addr, unsigned long len)
{
	return do_madvise(current->mm, addr, len, MADV_PAGEOUT);
}

static void boot_with_swap(unsigned long mem_mb, unsigned long swap_pages, bool file)
{
	int type;

	test_boot(mem_mb, 0, 0);
	type = pinmm_swapon(file ? "swapfile" : NULL, swap_pages * PAGE_SIZE);
	if (type != 0)
		bail_out("pinmm_swapon = %d", type);
}

static void teardown(const char *name, struct task_struct **t, int n)
{
	gt_teardown(name, t, n);
}

/* ---- swapon, meminfo, bad input -------------------------------------------------- */

static void swapon_rules(void)
{
	struct task_struct *t[1];
	int types[MAX_SWAPFILES];

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("swapon");
	is_int(meminfo_kb("SwapTotal:"), 0, "meminfo: SwapTotal 0 kB with no swap area");
	is_int(pinmm_swapon(NULL, 0), -EINVAL, "swapon: an empty area is -EINVAL");
	is_int(pinmm_swapon(NULL, PAGE_SIZE + 1), -EINVAL, "swapon: a size not in pages is -EINVAL");
	is_int(pinmm_swapon("a/b", PAGE_SIZE), -EINVAL, "swapon: a file name with a slash is -EINVAL");
	types[0] = pinmm_swapon("swap0", 64 * PAGE_SIZE);
	is_int(types[0], 0, "swapon: a host file in the file directory is area 0");
	is_int(pinmm_swapon("swap0", PAGE_SIZE), -EEXIST, "swapon: an existing file is refused (-EEXIST)");
	for (int i = 1; i < MAX_SWAPFILES; i++)
		types[i] = pinmm_swapon(NULL, 16 * PAGE_SIZE);
	is_int(types[MAX_SWAPFILES - 1], MAX_SWAPFILES - 1, "swapon: MAX_SWAPFILES areas");
	is_int(pinmm_swapon(NULL, PAGE_SIZE), -EPERM, "swapon: one more than MAX_SWAPFILES is -EPERM");
	is_int(meminfo_kb("SwapTotal:"), (64 + 16 * (MAX_SWAPFILES - 1)) * 4,
	       "meminfo: SwapTotal is the sum of the areas");
	is_int(meminfo_kb("SwapFree:"), meminfo_kb("SwapTotal:"), "meminfo: SwapFree = SwapTotal when unused");
	for (int i = 1; i < MAX_SWAPFILES; i++)
		pinmm_swapoff(types[i]);
	is_int(pinmm_swapoff(5), -EINVAL, "swapoff: no such area is -EINVAL");
	test_mmap_fixed(SW_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 4, 1);
	is_int(pageout(SW_BASE, 4 * PAGE_SIZE), 0, "MADV_PAGEOUT: 0");
	is_int(meminfo_kb("SwapFree:"), (64 - 4) * 4, "meminfo: SwapFree drops by what went out");
	is_int(pinmm_swapoff(types[0]), -EBUSY, "swapoff: slots held by page tables: -EBUSY (no try_to_unuse)");
	is_int(gt_check(SW_BASE, 4, 1), 0, "R-SWAPIN: the data reads back");
	is_int(pinmm_swapoff(types[0]), 0, "swapoff: once swap-in freed every slot, the area goes");
	teardown("swapon", t, 1);
}

/* ---- swap-out and swap-in -------------------------------------------------------------- */

static void pageout_and_back(bool file)
{
	const unsigned long n = 16;
	struct task_struct *t[1];
	long out0, in0;
	unsigned long free0;
	bool all_excl = true;

	boot_with_swap(TEST_MEM_MB, 256, file);
	t[0] = test_process("pageout");
	test_mmap_fixed(SW_BASE, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, n, 7);
	out0 = gt_ev(PSWPOUT);
	in0 = gt_ev(PSWPIN);
	free0 = swap_free_pages();
	is_int(pageout(SW_BASE, n * PAGE_SIZE), 0, "MADV_PAGEOUT [%s]: returns 0", file ? "file" : "mem");
	is_uint(nr_swapped(SW_BASE, n), n, "MADV_PAGEOUT [%s]: every PTE is a swap entry",
		file ? "file" : "mem");
	is_int(gt_ev(PSWPOUT) - out0, (long)n, "pswpout counts the %lu pages written", n);
	is_uint(free0 - swap_free_pages(), n, "SwapFree: %lu slots in use", n);
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 0, "nr_anon_pages: nothing mapped");
	is_int(get_mm_counter(current->mm, MM_SWAPENTS), (long)n, "MM_SWAPENTS counts the entries");
	is_uint(pinmm_frames_in_use(), 1 + 1 /* PTE table */ + 3 /* upper tables */,
		"the frames went back to the allocator");
	is_int(gt_check(SW_BASE, n, 7), 0, "R-SWAPIN: every page reads back its data");
	is_int(gt_ev(PSWPIN) - in0, (long)n, "pswpin counts the %lu pages read", n);
	is_uint(free0 - swap_free_pages(), n,
		"R-SWAPIN: a read fault keeps the folio in the swap cache with its slot "
		"(should_try_to_free_swap: swap not half full, not mlocked, not a write)");
	is_int(global_node_page_state_snapshot(NR_SWAPCACHE), (long)n,
	       "R-SWAPIN: nr_swapcached counts the %lu pages", n);
	for (unsigned long i = 0; i < n; i++) {
		struct page *p = gt_page(current->mm, SW_BASE + i * PAGE_SIZE);

		all_excl &= p && PageAnonExclusive(p) && gt_writable(current->mm, SW_BASE + i * PAGE_SIZE);
	}
	ok(all_excl, "R-SWAPIN: pages that left anon-exclusive come back exclusive and writable");
	is_int(get_mm_counter(current->mm, MM_SWAPENTS), 0, "MM_SWAPENTS back to 0");
	/* clean and still in the cache: reclaim drops them with no write */
	out0 = gt_ev(PSWPOUT);
	is_int(pageout(SW_BASE, n * PAGE_SIZE), 0, "MADV_PAGEOUT again [%s]", file ? "file" : "mem");
	is_uint(nr_swapped(SW_BASE, n), n, "... every PTE is a swap entry again");
	is_int(gt_ev(PSWPOUT) - out0, 0,
	       "R-SWAPCACHE: clean swap-cache folios go without a write (the slot holds their data)");
	/* a write fault of the only user frees the slot at once */
	gt_fill(SW_BASE, n, 9);
	is_uint(swap_free_pages(), free0,
		"R-SWAPIN: a write fault by the folio's only user frees its slot "
		"(should_try_to_free_swap)");
	is_int(global_node_page_state_snapshot(NR_SWAPCACHE), 0, "... and the swap cache is empty");
	is_int(gt_check(SW_BASE, n, 9), 0, "... the pages hold what was written");
	teardown("pageout", t, 1);
}

/* ---- pins ---------------------------------------------------------------------------- */

static void pinned_page_stays(void)
{
	struct task_struct *t[1];
	struct page *page;
	unsigned long pfn;
	long r;

	boot_with_swap(TEST_MEM_MB, 256, true);
	t[0] = test_process("pinned");
	test_mmap_fixed(SW_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 4, 3);
	r = gt_pin(SW_BASE + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (r != 1)
		bail_out("pin = %ld", r);
	pfn = page_to_pfn(page);
	is_int(pageout(SW_BASE, 4 * PAGE_SIZE), 0, "MADV_PAGEOUT over a pinned page: 0");
	ok(test_pt_pfn(current->mm, SW_BASE + PAGE_SIZE) == pfn,
	   "R-SWAP-PIN: the pinned page stays resident and mapped (shrink_folio_list)");
	is_uint(nr_swapped(SW_BASE, 4), 3, "R-SWAP-PIN: the three unpinned pages went out");
	ok(!folio_test_swapcache(page_folio(page)) && swap_free_pages() == 256 - 3,
	   "R-SWAP-PIN: the pinned folio was given no swap space (shrink_folio_list)");
	pinmm_reclaim_anon(1000);
	ok(test_pt_pfn(current->mm, SW_BASE + PAGE_SIZE) == pfn,
	   "R-SWAP-PIN: ... and under reclaim pressure (the kswapd-like scan)");
	gt_page_write(page, SW_BASE + PAGE_SIZE, 9);
	is_int(gt_check(SW_BASE + PAGE_SIZE, 1, 9), 0,
	       "R-SWAP-PIN: what the device writes, the process reads (same page)");
	unpin_user_page(page);
	is_int(pageout(SW_BASE, 4 * PAGE_SIZE), 0, "MADV_PAGEOUT after unpin: 0");
	ok(is_swapped(SW_BASE + PAGE_SIZE), "R-SWAP-PIN: after unpin the page is paged out");
	is_int(gt_check(SW_BASE + PAGE_SIZE, 1, 9), 0,
	       "R-SWAPIN: the device's data survives swap-out and swap-in");
	is_int(gt_check(SW_BASE, 1, 3) + gt_check(SW_BASE + 2 * PAGE_SIZE, 2, 3), 0,
	       "R-SWAPIN: so does the rest");
	teardown("pinned", t, 1);
}

/*
 * A folio already in the swap cache skips shrink_folio_list()'s pin check:
 * only try_to_unmap_one()'s folio_try_share_anon_rmap_pte() stands between
 * a pinned page and its unmapping.
 */
static void swapcache_pinned_not_unmapped(void)
{
	struct task_struct *t[1];
	struct folio *folio;
	struct page *page;
	LIST_HEAD(list);
	long r;

	boot_with_swap(TEST_MEM_MB, 256, false);
	t[0] = test_process("share");
	test_mmap_fixed(SW_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 1, 4);
	r = gt_pin(SW_BASE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (r != 1)
		bail_out("pin = %ld", r);
	folio = page_folio(page);
	folio_lock(folio);
	is_int(folio_alloc_swap(folio), 0, "setup: the pinned folio is put in the swap cache");
	folio_unlock(folio);
	ok(folio_isolate_lru(folio), "setup: isolated for reclaim");
	list_add(&folio->lru, &list);
	is_uint(shrink_folio_list(&list, true), 0, "R-UNMAP-SHARE: reclaim frees nothing");
	ok(test_pt_pfn(current->mm, SW_BASE) == page_to_pfn(page) && PageAnonExclusive(page),
	   "R-UNMAP-SHARE: the pinned page stays mapped and exclusive "
	   "(folio_try_share_anon_rmap_pte refused)");
	gt_page_write(page, SW_BASE, 5);
	is_int(gt_check(SW_BASE, 1, 5), 0, "R-UNMAP-SHARE: the device and the process share the page");
	unpin_user_page(page);
	teardown("swapcache pinned", t, 1);
}

static void gup_swaps_in(bool fast)
{
	struct task_struct *t[1];
	struct page *page;
	long r;
	const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";

	boot_with_swap(TEST_MEM_MB, 256, true);
	t[0] = test_process("gup");
	test_mmap_fixed(SW_BASE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 2, 6);
	pageout(SW_BASE, 2 * PAGE_SIZE);
	if (!is_swapped(SW_BASE))
		bail_out("not swapped");
	/* R/O long-term: what io_uring or a read-only RDMA MR does */
	r = gt_pin_any(fast, SW_BASE, 1, FOLL_LONGTERM, &page);
	is_int(r, 1, "R-GUP-SWAPIN [%s]: a R/O long-term pin of a swapped-out page swaps it in", how);
	ok(r == 1 && test_pt_pfn(current->mm, SW_BASE) == page_to_pfn(page) && PageAnonExclusive(page),
	   "R-GUP-SWAPIN [%s]: the pinned page is the mapped one, exclusive (no unshare needed)", how);
	ok(r == 1 && gt_page_holds(page, SW_BASE, 6), "R-GUP-SWAPIN [%s]: it holds the data", how);
	gt_fill(SW_BASE, 1, 8);
	ok(r == 1 && gt_page_holds(page, SW_BASE, 8),
	   "R-GUP-SWAPIN [%s]: the process's later write reaches the pinned page (no COW away)", how);
	is_int(pageout(SW_BASE, 2 * PAGE_SIZE), 0, "MADV_PAGEOUT: 0");
	ok(!is_swapped(SW_BASE) && is_swapped(SW_BASE + PAGE_SIZE),
	   "R-SWAP-PIN [%s]: the pinned page stays, its neighbour goes", how);
	if (r == 1)
		unpin_user_page(page);
	r = gt_pin_any(fast, SW_BASE + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	ok(r == 1 && gt_page_holds(page, SW_BASE + PAGE_SIZE, 6),
	   "R-GUP-SWAPIN [%s]: a R/W long-term pin swaps in the data too", how);
	if (r == 1)
		unpin_user_page(page);
	teardown("gup swapin", t, 1);
}

/* ---- fork ---------------------------------------------------------------------------- */

static void fork_with_swap_entries(void)
{
	const unsigned long n = 8;
	struct task_struct *t[2];
	unsigned long total, free0;
	swp_entry_t e;
	bool leaf;

	boot_with_swap(TEST_MEM_MB, 256, true);
	si_swapinfo(&total, &free0);
	t[0] = test_process("parent");
	test_mmap_fixed(SW_BASE, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, n, 11);
	pageout(SW_BASE, n * PAGE_SIZE);
	e = pte_to_swp_entry(__pte(test_pt_entry(current->mm, SW_BASE, &leaf)));
	ok(pte_swp_exclusive(__pte(test_pt_entry(current->mm, SW_BASE, &leaf))),
	   "setup: the parent's entry says exclusive");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[0]);
	is_int(__swap_count(e), 2, "R-FORK-SWAP: fork duplicates the slot's count (swap_duplicate)");
	ok(!pte_swp_exclusive(__pte(test_pt_entry(current->mm, SW_BASE, &leaf))),
	   "R-FORK-SWAP: the parent's entry is no longer exclusive");
	pinmm_task_attach(t[1]);
	is_uint(nr_swapped(SW_BASE, n), n, "R-FORK-SWAP: the child has the swap entries");
	is_int(gt_check(SW_BASE, n, 11), 0, "R-FORK-SWAP: the child reads the data");
	ok(!gt_writable(current->mm, SW_BASE),
	   "R-SWAPIN: a shared slot's page comes back read-only (not exclusive)");
	pinmm_task_attach(t[0]);
	is_int(gt_check(SW_BASE, 1, 11), 0, "R-FORK-SWAP: the parent reads the data");
	ok(test_pt_pfn(t[0]->mm, SW_BASE) == test_pt_pfn(t[1]->mm, SW_BASE),
	   "R-FORK-SWAP: both map the one folio the swap cache kept");
	gt_fill(SW_BASE, n, 12);
	pinmm_task_attach(t[1]);
	is_int(gt_check(SW_BASE, n, 11), 0, "R-FORK-SWAP: the parent's writes do not reach the child");
	pageout(SW_BASE, n * PAGE_SIZE);
	pinmm_task_attach(t[0]);
	is_int(gt_check(SW_BASE, n, 12), 0, "R-FORK-SWAP: the parent keeps its own data");
	pinmm_task_detach();
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	is_uint(swap_free_pages(), free0,
		"R-ZAP-SWAP: the child's exit freed the slots its entries held");
	pinmm_task_attach(t[0]);
	pageout(SW_BASE, n * PAGE_SIZE);
	is_uint(free0 - swap_free_pages(), n, "setup: the parent's pages are out again");
	pinmm_task_detach();
	pinmm_task_exit(t[0]);
	t[0] = NULL;
	is_uint(swap_free_pages(), free0, "R-ZAP-SWAP: when both have exited every slot is free");
	is_int(global_node_page_state_snapshot(NR_SWAPCACHE), 0, "nr_swapcached: the swap cache is empty");
	teardown("fork", t, 2);
}

/* R-FORK-SWAP: a slot with SWAP_MAP_MAX holders cannot take the child's: -ENOMEM. */
static void fork_swap_count_full(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	unsigned int extra = 0;
	swp_entry_t e;
	bool leaf;
	int err;

	boot_with_swap(TEST_MEM_MB, 64, true);
	t[0] = test_process("parent");
	test_mmap_fixed(SW_BASE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 2, 14);
	pageout(SW_BASE + PAGE_SIZE, PAGE_SIZE);
	e = pte_to_swp_entry(__pte(test_pt_entry(current->mm, SW_BASE + PAGE_SIZE, &leaf)));
	/* stand-ins for SWAP_MAP_MAX - 1 other holders (a long line of forks) */
	while (__swap_count(e) < (int)SWAP_MAP_MAX && !swap_duplicate(e))
		extra++;
	is_int(__swap_count(e), (int)SWAP_MAP_MAX, "count full: the slot has SWAP_MAP_MAX holders");
	err = pinmm_fork(t[0], "child", &t[1]);
	pinmm_task_attach(t[0]);
	ok(err == -ENOMEM && !t[1], "R-FORK-SWAP: fork over a full slot count fails with -ENOMEM");
	ok(__swap_count(e) == (int)SWAP_MAP_MAX && is_swapped(SW_BASE + PAGE_SIZE) &&
	   gt_check(SW_BASE, 1, 14) == 0,
	   "R-FORK-SWAP: the parent intact (count unchanged, entry still there, data)");
	while (extra--)
		swap_free(e);
	is_int(pinmm_fork(t[0], "child", &t[1]), 0, "R-FORK-SWAP: with the count back, fork succeeds");
	pinmm_task_attach(t[1]);
	is_int(gt_check(SW_BASE, 2, 14), 0, "R-FORK-SWAP: the child reads both pages");
	teardown("count full", t, 2);
}

/*
 * A folio mapped by the parent and still in the swap cache: the parent
 * swaps it in by a read while the child still holds the slot.
 */
static struct folio *mapped_swapcache_folio(struct task_struct **t, unsigned long addr)
{
	struct folio *folio;

	pageout(addr, PAGE_SIZE);
	if (!is_swapped(addr) || pinmm_fork(t[0], "child", &t[1]))
		bail_out("swap-out and fork");
	pinmm_task_attach(t[0]);
	if (gt_check(addr, 1, 13))
		bail_out("swap-in");
	folio = page_folio(gt_page(current->mm, addr));
	if (!folio_test_swapcache(folio) || folio_mapcount(folio) != 1)
		bail_out("a mapped swap-cache folio");
	return folio;
}

/*
 * Linux's wp_can_reuse_anon_folio(): the swap cache's reference is one a
 * write fault can explain and drop. A page shared with a fork child through
 * the swap cache, once the child is gone, is reused in place by the parent's
 * write (its slot freed), not copied.
 */
static void reuse_after_child_exit(void)
{
	struct task_struct *t[2];
	unsigned long pfn, free0;
	struct folio *folio;

	boot_with_swap(TEST_MEM_MB, 256, true);
	t[0] = test_process("parent");
	test_mmap_fixed(SW_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 1, 13);
	free0 = swap_free_pages();
	folio = mapped_swapcache_folio(t, SW_BASE);
	pfn = folio_pfn(folio);
	ok(!PageAnonExclusive(folio_page(folio, 0)) && !gt_writable(current->mm, SW_BASE),
	   "setup: the parent maps the shared slot's folio read-only, not exclusive");
	pinmm_task_detach();
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	pinmm_task_attach(t[0]);
	is_uint(free0 - swap_free_pages(), 1, "setup: the cache still holds the slot");
	gt_fill(SW_BASE, 1, 14);
	is_uint(test_pt_pfn(current->mm, SW_BASE), pfn,
		"R-REUSE-SWAPCACHE: the write reuses the page in place (wp_can_reuse_anon_folio "
		"frees the slot and finds the mapping's reference alone)");
	ok(PageAnonExclusive(pfn_to_page(pfn)), "R-REUSE-SWAPCACHE: ... which is exclusive now");
	is_uint(swap_free_pages(), free0, "R-REUSE-SWAPCACHE: ... and its slot is free");
	is_int(gt_check(SW_BASE, 1, 14), 0, "R-REUSE-SWAPCACHE: the page holds the write");
	teardown("reuse", t, 2);
}

static void expected_refs_swapcache(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	const unsigned long a = SW_BASE + 3 * PAGE_SIZE;
	struct folio *folio;
	struct page *page;
	LIST_HEAD(list);

	boot_with_swap(TEST_MEM_MB, 256, false);
	t[0] = test_process("expected");
	test_mmap_fixed(SW_BASE, PMD_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_NOHUGEPAGE) ||
	    !gt_fill(SW_BASE, HPAGE_PMD_NR, 13) ||
	    do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_HUGEPAGE))
		bail_out("small pages");
	folio = mapped_swapcache_folio(t, a);
	is_int(folio_ref_count(folio), folio_expected_ref_count(folio),
	       "R-EXPECTED: refcount = mapping + swap cache = folio_expected_ref_count()");

	/* migration: the destination takes the folio's slot in the swap cache */
	{
		struct migration_target_control mtc = { .gfp_mask = GFP_HIGHUSER_MOVABLE,
							.reason = MR_SYSCALL };
		swp_entry_t entry = folio_swap_entry(folio);
		struct folio *moved;

		folio_get(folio);
		ok(folio_isolate_lru(folio), "setup: the swap-cache folio is isolated");
		folio_put(folio);
		list_add_tail(&folio->lru, &list);
		is_int(migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc,
				     MIGRATE_SYNC, MR_SYSCALL, NULL), 0,
		       "R-MIGRATE-SWAPCACHE: a swap-cache folio migrates (folio_migrate_mapping)");
		putback_movable_pages(&list);	/* nothing left, unless it failed */
		moved = page_folio(gt_page(current->mm, a));
		ok(moved != folio && folio_test_swapcache(moved) &&
		   folio_swap_entry(moved).val == entry.val && gt_check(a, 1, 13) == 0,
		   "R-MIGRATE-SWAPCACHE: the new folio is mapped, holds the data and took the slot");
		folio = swap_cache_get_folio(entry);
		ok(folio == moved, "R-MIGRATE-SWAPCACHE: a lookup of the slot finds the new folio");
		if (folio)
			folio_put(folio);
		folio = moved;
		is_int(folio_ref_count(folio), folio_expected_ref_count(folio),
		       "R-MIGRATE-SWAPCACHE: its references are the mapping's and the cache's");
	}

	/* collapse: a pin on top of the cache's references stops it */
	if (gt_pin(a, 1, 0, &page) != 1)
		bail_out("pin");
	is_int(do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_COLLAPSE), -EAGAIN,
	       "R-EXPECTED: a pinned swap-cache page stops MADV_COLLAPSE (-EAGAIN)");
	unpin_user_page(page);
	is_int(do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_COLLAPSE), 0,
	       "R-EXPECTED: unpinned, the swap cache's reference does not stop MADV_COLLAPSE");
	ok(test_pmd_mapped(current->mm, SW_BASE) && gt_check(SW_BASE, HPAGE_PMD_NR, 13) == 0,
	   "R-EXPECTED: the range is one THP with the data");
	pinmm_task_attach(t[1]);
	is_int(gt_check(a, 1, 13), 0, "R-EXPECTED: the child swaps in its page from the cache");
	teardown("expected refs", t, 2);
}

/*
 * The last mapping of a swapped-in page goes, the slot goes with it: Linux
 * frees the swap cache of the page a COW fault replaced (wp_page_copy():
 * free_swap_cache()) and of the pages a collapse copied
 * (__collapse_huge_page_copy_succeeded(): free_folio_and_swap_cache()).
 * Without that, a page that stays in the swap cache after a read fault
 * would hold its slot until reclaim came by.
 */
static void swapcache_freed_with_last_mapping(void)
{
	struct task_struct *t[2];
	unsigned long free0;
	struct page *page;
	struct folio *folio;

	/* COW: the parent is the last mapper, but a GET reference makes it copy */
	boot_with_swap(TEST_MEM_MB, 256, true);
	t[0] = test_process("parent");
	test_mmap_fixed(SW_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 1, 13);	/* mapped_swapcache_folio() reads tag 13 */
	free0 = swap_free_pages();
	folio = mapped_swapcache_folio(t, SW_BASE);
	pinmm_task_detach();
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	pinmm_task_attach(t[0]);
	if (gt_get(SW_BASE, 1, 0, &page) != 1 || page_folio(page) != folio)
		bail_out("get");
	gt_fill(SW_BASE, 1, 22);
	ok(test_pt_pfn(current->mm, SW_BASE) != folio_pfn(folio),
	   "setup: with a GET reference on it, the write copied the page");
	ok(!folio_test_swapcache(folio) && swap_free_pages() == free0,
	   "R-COW-SWAPCACHE: the copied page left the swap cache and its slot is free "
	   "(wp_page_copy: free_swap_cache)");
	put_page(page);
	is_int(gt_check(SW_BASE, 1, 22), 0, "R-COW-SWAPCACHE: the copy holds the write");
	teardown("cow swapcache", t, 2);

	/* collapse: a page read back in, the only user: the THP copies it, the slot goes */
	boot_with_swap(TEST_MEM_MB, 256, true);
	t[0] = test_process("collapse");
	t[1] = NULL;
	test_mmap_fixed(SW_BASE, PMD_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_NOHUGEPAGE) ||
	    !gt_fill(SW_BASE, HPAGE_PMD_NR, 23) ||
	    do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_HUGEPAGE))
		bail_out("small pages");
	free0 = swap_free_pages();
	pageout(SW_BASE + 5 * PAGE_SIZE, PAGE_SIZE);
	is_int(gt_check(SW_BASE + 5 * PAGE_SIZE, 1, 23), 0, "setup: page 5 out and read back");
	folio = page_folio(gt_page(current->mm, SW_BASE + 5 * PAGE_SIZE));
	ok(folio_test_swapcache(folio) && swap_free_pages() == free0 - 1,
	   "setup: ... it keeps its slot in the swap cache");
	is_int(do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_COLLAPSE), 0,
	       "setup: MADV_COLLAPSE of the range");
	is_uint(swap_free_pages(), free0,
		"R-COLLAPSE-SWAPCACHE: the collapsed page's slot is free "
		"(free_folio_and_swap_cache)");
	ok(test_pmd_mapped(current->mm, SW_BASE) && gt_check(SW_BASE, HPAGE_PMD_NR, 23) == 0,
	   "R-COLLAPSE-SWAPCACHE: one THP with the data");
	teardown("collapse swapcache", t, 2);
}

/*
 * A long-term pin must leave ZONE_MOVABLE, and a page read back from swap
 * keeps its slot in the swap cache: the migration moves the slot with it
 * (Linux's folio_migrate_mapping()), so the pin succeeds.
 */
static void longterm_pin_of_swapcache_page(void)
{
	struct task_struct *t[1];
	struct page *page;
	struct folio *folio;
	swp_entry_t entry;

	test_boot(TEST_MEM_MB, TEST_MEM_MB / 2, 0);
	if (pinmm_swapon(NULL, 256 * PAGE_SIZE) != 0)
		bail_out("swapon");
	t[0] = test_process("longterm");
	test_mmap_fixed(SW_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 1, 31);
	pageout(SW_BASE, PAGE_SIZE);
	is_int(gt_check(SW_BASE, 1, 31), 0, "setup: the page went out and came back by a read");
	folio = page_folio(gt_page(current->mm, SW_BASE));
	entry = folio_swap_entry(folio);
	if (!folio_test_swapcache(folio) || page_zonenum(&folio->page) != ZONE_MOVABLE)
		bail_out("setup: a swap-cache page in ZONE_MOVABLE");
	is_int(gt_pin(SW_BASE, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "R-MIGRATE-SWAPCACHE: a long-term pin of a swap-cache page in ZONE_MOVABLE succeeds");
	ok(page_zonenum(page) != ZONE_MOVABLE && page_folio(page) != folio,
	   "R-MIGRATE-SWAPCACHE: ... on a page migrated out of ZONE_MOVABLE");
	ok(folio_test_swapcache(page_folio(page)) && folio_swap_entry(page_folio(page)).val == entry.val,
	   "R-MIGRATE-SWAPCACHE: ... which took the slot in the swap cache");
	ok(gt_page_holds(page, SW_BASE, 31), "R-MIGRATE-SWAPCACHE: ... and the data");
	unpin_user_page(page);
	teardown("longterm swapcache", t, 1);
}

/*
 * A CPU store that found the page before reclaim unmapped it may still be
 * landing (pinmm's uaccess copies after the PTE lock with a reference, as a
 * CPU does through its TLB entry). Linux's TLB flush waits such stores out
 * before the write to swap; pinmm's reclaim writes only a folio nobody else
 * holds, or the late store would be lost with the folio.
 */
static void late_store_not_lost(void)
{
	struct task_struct *t[1];
	struct folio *folio;
	swp_entry_t entry;
	long out0;
	bool leaf;

	boot_with_swap(TEST_MEM_MB, 256, true);
	t[0] = test_process("late store");
	test_mmap_fixed(SW_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 1, 41);
	folio = page_folio(gt_page(current->mm, SW_BASE));
	folio_get(folio);	/* the store in flight holds the page, as ua_one() does */
	out0 = gt_ev(PSWPOUT);
	is_int(pageout(SW_BASE, PAGE_SIZE), 0, "setup: MADV_PAGEOUT with a store in flight");
	ok(is_swap_pte(__pte(test_pt_entry(current->mm, SW_BASE, &leaf))),
	   "R-SWAP-INFLIGHT: the page is unmapped (a later access faults)");
	ok(gt_ev(PSWPOUT) == out0 && folio_test_swapcache(folio) && folio_test_dirty(folio),
	   "R-SWAP-INFLIGHT: but not written while another reference may still be storing: "
	   "it waits, dirty, in the swap cache");
	entry = pte_to_swp_entry(__pte(test_pt_entry(current->mm, SW_BASE, &leaf)));
	gt_page_write(folio_page(folio, 0), SW_BASE, 42);	/* the store lands */
	folio_put(folio);
	/* reclaim until the swap cache lets the folio go: its data then lives in the slot alone */
	for (int i = 0; i < 16; i++) {
		struct folio *cached = swap_cache_get_folio(entry);

		if (!cached)
			break;
		folio_put(cached);
		pinmm_reclaim_anon(64);
	}
	ok(gt_ev(PSWPOUT) == out0 + 1 && !swap_cache_get_folio(entry),
	   "R-SWAP-INFLIGHT: once the store is done, reclaim writes it and frees the folio");
	is_int(gt_check(SW_BASE, 1, 42), 0, "R-SWAP-INFLIGHT: the late store is in the data read back");
	teardown("late store", t, 1);
}

/* ---- bad input ---------------------------------------------------------------------- */

static void area_full_and_no_area(void)
{
	struct task_struct *t[1];

	boot_with_swap(TEST_MEM_MB, 4, false);
	t[0] = test_process("full");
	test_mmap_fixed(SW_BASE, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 8, 13);
	is_int(pageout(SW_BASE, 8 * PAGE_SIZE), 0, "R-SWAP-FULL: MADV_PAGEOUT with room for 4 of 8: 0");
	is_uint(nr_swapped(SW_BASE, 8), 4, "R-SWAP-FULL: four pages went out, four stay mapped");
	is_uint(swap_free_pages(), 0, "R-SWAP-FULL: the area is full");
	is_int(gt_check(SW_BASE, 8, 13), 0, "R-SWAP-FULL: nothing lost");
	teardown("full", t, 1);

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("noswap");
	test_mmap_fixed(SW_BASE, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 8, 14);
	is_int(pageout(SW_BASE, 8 * PAGE_SIZE), 0, "R-SWAP-FULL: MADV_PAGEOUT with no swap area: 0");
	is_uint(nr_swapped(SW_BASE, 8) + (gt_page(current->mm, SW_BASE) ? 0 : 1), 0,
		"R-SWAP-FULL: with no area, anon memory is not reclaimed");
	is_uint(pinmm_reclaim_anon(100), 0, "R-SWAP-FULL: nor by the reclaim scan");
	is_int(gt_check(SW_BASE, 8, 14), 0, "R-SWAP-FULL: nothing lost");
	teardown("no area", t, 1);
}

static void madvise_bad_vmas(void)
{
	struct task_struct *t[1];
	unsigned long a;

	boot_with_swap(TEST_MEM_MB, 64, false);
	t[0] = test_process("vmas");
	test_mmap_fixed(SW_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE | MAP_LOCKED);
	gt_fill(SW_BASE, 4, 15);
	is_int(pageout(SW_BASE, 4 * PAGE_SIZE), -EINVAL,
	       "R-MADV-LRU: MADV_PAGEOUT on a locked VMA is -EINVAL (can_madv_lru_vma)");
	is_int(do_madvise(current->mm, SW_BASE, 4 * PAGE_SIZE, MADV_COLD), -EINVAL,
	       "R-MADV-LRU: so is MADV_COLD");
	is_uint(nr_swapped(SW_BASE, 4), 0, "R-MADV-LRU: the locked pages stay");
	a = vm_mmap(NULL, SW_BASE + PMD_SIZE, 4 * PAGE_SIZE, GT_RW,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 0);
	gt_fill(a, 4, 16);
	is_int(pageout(a, 4 * PAGE_SIZE), 0, "R-MADV-LRU: MADV_PAGEOUT on shared anon memory: 0");
	is_uint(nr_swapped(a, 4), 0, "R-MADV-LRU: ... and skipped");
	is_int(pageout(SW_BASE + 2 * PMD_SIZE, PAGE_SIZE), -ENOMEM, "MADV_PAGEOUT on a hole: -ENOMEM");
	is_int(gt_check(a, 4, 16) + gt_check(SW_BASE, 4, 15), 0, "nothing lost");
	teardown("bad vmas", t, 1);
}

static void io_errors(void)
{
	struct task_struct *t[1];
	char buf[8];

	boot_with_swap(TEST_MEM_MB, 64, true);
	t[0] = test_process("eio");
	test_mmap_fixed(SW_BASE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE, 2, 17);
	pinmm_fail_nth(PINMM_FAIL_SWAP_IO, 1, 0);
	pageout(SW_BASE, PAGE_SIZE);
	pinmm_fail_nth(PINMM_FAIL_SWAP_IO, 0, 0);
	is_int(gt_check(SW_BASE, 1, 17), 0, "a failed swap write loses nothing (the folio stays in the cache)");
	pageout(SW_BASE, 2 * PAGE_SIZE);
	ok(is_swapped(SW_BASE + PAGE_SIZE), "setup: swapped out");
	pinmm_fail_nth(PINMM_FAIL_SWAP_IO, 1, 0);
	ok(copy_from_user(buf, (const void __user *)(SW_BASE + PAGE_SIZE), sizeof(buf)) != 0,
	   "a failed swap read faults with SIGBUS (the access fails)");
	pinmm_fail_nth(PINMM_FAIL_SWAP_IO, 0, 0);
	is_int(gt_check(SW_BASE + PAGE_SIZE, 1, 17), 0, "the slot is intact: the next fault reads it");
	teardown("io errors", t, 1);
}

/* ---- THP -------------------------------------------------------------------------- */

static void thp_pinned_and_not(void)
{
	struct task_struct *t[1];
	struct page *page;
	long out0, r;

	boot_with_swap(TEST_MEM_MB, 1024, false);
	t[0] = test_process("thp");
	if (!gt_thp(SW_BASE)) {
		skip(4, "no THP");
		teardown("thp", t, 1);
		return;
	}
	gt_fill(SW_BASE, HPAGE_PMD_NR, 18);
	r = gt_pin(SW_BASE + 5 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (r != 1)
		bail_out("pin");
	pageout(SW_BASE, PMD_SIZE);
	ok(test_pmd_mapped(current->mm, SW_BASE),
	   "R-THP-SWAP: a pinned THP stays, mapped by its PMD (no swap, no split)");
	unpin_user_page(page);
	out0 = gt_ev(PSWPOUT);
	pageout(SW_BASE, PMD_SIZE);
	is_int(gt_ev(PSWPOUT) - out0, HPAGE_PMD_NR, "R-THP-SWAP: after unpin all 512 pages go out");
	is_uint(nr_swapped(SW_BASE, HPAGE_PMD_NR), HPAGE_PMD_NR, "R-THP-SWAP: 512 swap entries");
	is_int(gt_check(SW_BASE, HPAGE_PMD_NR, 18), 0, "R-THP-SWAP: the data comes back (as small pages)");
	teardown("thp", t, 1);
}

static void thp_split_fallback(void)
{
	struct task_struct *t[1];
	struct page *page = GT_POISON, *last;
	long out0, fb0, split0, fail0;
	unsigned long warn0;
	bool quiet;

	/* 200 slots: no room for 512 pages in a row */
	boot_with_swap(TEST_MEM_MB, 200, false);
	t[0] = test_process("thp split");
	if (!gt_thp(SW_BASE)) {
		skip(12, "no THP");
		teardown("thp split", t, 1);
		return;
	}
	gt_fill(SW_BASE, HPAGE_PMD_NR, 30);
	/* a pinned THP first: never split, never swapped */
	if (gt_pin(SW_BASE + 9 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page) != 1)
		bail_out("pin");
	split0 = gt_ev(THP_SPLIT_PAGE);
	fail0 = gt_ev(THP_SPLIT_PAGE_FAILED);
	pageout(SW_BASE, PMD_SIZE);
	ok(test_pmd_mapped(current->mm, SW_BASE) && gt_ev(THP_SPLIT_PAGE) == split0 &&
	   gt_ev(THP_SPLIT_PAGE_FAILED) == fail0 && swap_free_pages() == 200,
	   "R-THP-SPLIT: a pinned THP is not split, not swapped: still PMD-mapped");
	unpin_user_page(page);

	out0 = gt_ev(PSWPOUT);
	fb0 = gt_ev(THP_SWPOUT_FALLBACK);
	is_int(pageout(SW_BASE, PMD_SIZE), 0, "R-THP-SPLIT: MADV_PAGEOUT of the unpinned THP: 0");
	is_int(gt_ev(THP_SWPOUT_FALLBACK) - fb0, 1,
	       "R-THP-SPLIT: no room for it whole: thp_swpout_fallback 1");
	is_int(gt_ev(THP_SPLIT_PAGE) - split0, 1, "R-THP-SPLIT: thp_split_page 1 (split to order 0)");
	is_int(gt_ev(PSWPOUT) - out0, 200, "R-THP-SPLIT: 200 pages went out one by one");
	is_uint(nr_swapped(SW_BASE, HPAGE_PMD_NR), 200, "R-THP-SPLIT: 200 swap entries");
	is_uint(swap_free_pages(), 0, "R-THP-SPLIT: the area is full");
	last = gt_page(current->mm, SW_BASE + (HPAGE_PMD_NR - 1) * PAGE_SIZE);
	ok(last && !folio_test_large(page_folio(last)) && !test_pmd_mapped(current->mm, SW_BASE),
	   "R-THP-SPLIT: the pages that stayed are small folios, PTE-mapped");
	is_int(gt_check(SW_BASE, HPAGE_PMD_NR, 30), 0,
	       "R-THP-SPLIT: all 512 pages read back (swapped in or never out)");
	teardown("thp split", t, 1);

	/*
	 * An area already full: the THP is split for the fallback and its
	 * pages find no slot either (the second folio_alloc_swap()): all stay.
	 */
	boot_with_swap(TEST_MEM_MB, 4, false);
	t[0] = test_process("thp full");
	test_mmap_fixed(SW_BASE + 2 * PMD_SIZE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(SW_BASE + 2 * PMD_SIZE, 4, 32);
	pageout(SW_BASE + 2 * PMD_SIZE, 4 * PAGE_SIZE);
	if (!gt_thp(SW_BASE) || swap_free_pages() != 0) {
		skip(4, "no THP, or the area did not fill");
		teardown("thp full", t, 1);
		return;
	}
	gt_fill(SW_BASE, HPAGE_PMD_NR, 33);
	out0 = gt_ev(PSWPOUT);
	fb0 = gt_ev(THP_SWPOUT_FALLBACK);
	warn0 = gt_warn_begin(&quiet);
	is_int(pageout(SW_BASE, PMD_SIZE), 0, "R-THP-SPLIT: MADV_PAGEOUT of a THP, the area full: 0");
	is_uint(gt_warn_end(quiet, warn0), 0,
		"R-THP-SPLIT: no warning (no page tried to go out without a slot)");
	is_int(gt_ev(THP_SWPOUT_FALLBACK) - fb0, 1, "R-THP-SPLIT: it was split for the fallback");
	ok(gt_ev(PSWPOUT) == out0 && nr_swapped(SW_BASE, HPAGE_PMD_NR) == 0,
	   "R-THP-SPLIT: no page found a slot: none went out, all 512 mapped");
	is_int(gt_check(SW_BASE, HPAGE_PMD_NR, 33) + gt_check(SW_BASE + 2 * PMD_SIZE, 4, 32), 0,
	       "R-THP-SPLIT: nothing lost, here or in the four pages that filled the area");
	teardown("thp full", t, 1);

	/* room for it whole, but a GET reference: can_split_folio() keeps it out */
	boot_with_swap(TEST_MEM_MB, 1024, false);
	t[0] = test_process("thp get");
	if (!gt_thp(SW_BASE)) {
		skip(3, "no THP");
		teardown("thp get", t, 1);
		return;
	}
	gt_fill(SW_BASE, HPAGE_PMD_NR, 31);
	if (gt_get(SW_BASE + 9 * PAGE_SIZE, 1, 0, &page) != 1)
		bail_out("get");
	out0 = gt_ev(PSWPOUT);
	pageout(SW_BASE, PMD_SIZE);
	ok(test_pmd_mapped(current->mm, SW_BASE) && swap_free_pages() == 1024 &&
	   gt_ev(PSWPOUT) == out0,
	   "R-THP-SPLIT: a THP with a GET reference gets no swap space (can_split_folio), "
	   "still PMD-mapped");
	put_page(page);
	pageout(SW_BASE, PMD_SIZE);
	is_int(gt_ev(PSWPOUT) - out0, HPAGE_PMD_NR, "R-THP-SPLIT: after put_page it goes out whole");
	is_int(gt_check(SW_BASE, HPAGE_PMD_NR, 31), 0, "R-THP-SPLIT: and comes back");
	teardown("thp get", t, 1);
}

/* ---- aging ------------------------------------------------------------------------ */

/* MADV_PAGEOUT of part of a THP (@pte_mapped: its PMD split first, by an mprotect). */
static void thp_partial_pageout(bool pte_mapped, bool pinned)
{
	const char *name = pinned ? "pinned" : pte_mapped ? "PTE-mapped" : "PMD-mapped";
	struct task_struct *t[1];
	struct page *page = NULL;
	unsigned long lo = 100, hi = 300;
	long out0, split0;

	boot_with_swap(TEST_MEM_MB, 1024, false);
	t[0] = test_process("thp-part");
	if (!gt_thp(SW_BASE)) {
		skip(3, "no THP");
		teardown("thp-part", t, 1);
		return;
	}
	gt_fill(SW_BASE, HPAGE_PMD_NR, 21);
	if (pte_mapped && (do_mprotect(SW_BASE, PAGE_SIZE, PROT_READ) ||
			   do_mprotect(SW_BASE, PAGE_SIZE, PROT_READ | PROT_WRITE)))
		bail_out("mprotect");
	if (pinned && gt_pin(SW_BASE + 7 * PAGE_SIZE, 1, FOLL_WRITE, &page) != 1)
		bail_out("pin");
	out0 = gt_ev(PSWPOUT);
	split0 = gt_ev(THP_SPLIT_PAGE);
	is_int(pageout(SW_BASE + lo * PAGE_SIZE, (hi - lo) * PAGE_SIZE), 0,
	       "R-THP-PART [%s]: MADV_PAGEOUT of pages %lu-%lu of a THP: 0", name, lo, hi - 1);
	if (pinned) {
		ok(gt_ev(PSWPOUT) == out0 && gt_ev(THP_SPLIT_PAGE) == split0 &&
		   nr_swapped(SW_BASE, HPAGE_PMD_NR) == 0 &&
		   folio_test_large(page_folio(page)),
		   "R-THP-PART [%s]: a pinned THP is not split and nothing goes out", name);
		unpin_user_page(page);
	} else {
		ok(gt_ev(THP_SPLIT_PAGE) - split0 == 1 && gt_ev(PSWPOUT) - out0 == (long)(hi - lo) &&
		   nr_swapped(SW_BASE, HPAGE_PMD_NR) == hi - lo &&
		   nr_swapped(SW_BASE + lo * PAGE_SIZE, hi - lo) == hi - lo,
		   "R-THP-PART [%s]: the THP is split and exactly the %lu pages of the range go "
		   "out (%ld)", name, hi - lo, gt_ev(PSWPOUT) - out0);
	}
	is_int(gt_check(SW_BASE, HPAGE_PMD_NR, 21), 0, "R-THP-PART [%s]: every page reads back", name);
	teardown("thp-part", t, 1);
}

static void collapse_swaps_in(bool uffd_wp)
{
	const char *name = uffd_wp ? "uffd-wp" : "plain";
	struct userfaultfd_ctx *ctx = NULL;
	struct task_struct *t[1];
	long in0;

	boot_with_swap(TEST_MEM_MB, 1024, false);
	t[0] = test_process("collapse-in");
	test_mmap_fixed(SW_BASE, PMD_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_NOHUGEPAGE))
		bail_out("MADV_NOHUGEPAGE");
	gt_fill(SW_BASE, HPAGE_PMD_NR, 23);
	if (uffd_wp) {
		ctx = pinmm_userfaultfd_create(current->mm, 0, NULL, NULL);
		if (!ctx || pinmm_uffd_register(ctx, SW_BASE, PMD_SIZE, UFFDIO_REGISTER_MODE_WP) ||
		    pinmm_uffd_writeprotect(ctx, SW_BASE, PMD_SIZE, UFFDIO_WRITEPROTECT_MODE_WP))
			bail_out("uffd-wp");
	}
	is_int(pageout(SW_BASE + 10 * PAGE_SIZE, 20 * PAGE_SIZE), 0, "R-COLLAPSE-SWAPIN [%s]: "
	       "20 pages out", name);
	if (do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_HUGEPAGE))
		bail_out("MADV_HUGEPAGE");
	in0 = gt_ev(PSWPIN);
	if (!uffd_wp) {
		is_int(do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_COLLAPSE), 0,
		       "R-COLLAPSE-SWAPIN [%s]: MADV_COLLAPSE of a range with swapped-out pages: 0",
		       name);
		ok(test_pmd_mapped(current->mm, SW_BASE) && gt_ev(PSWPIN) - in0 == 20 &&
		   nr_swapped(SW_BASE, HPAGE_PMD_NR) == 0,
		   "R-COLLAPSE-SWAPIN [%s]: the 20 pages were read back and the range is one THP",
		   name);
	} else {
		is_int(do_madvise(current->mm, SW_BASE, PMD_SIZE, MADV_COLLAPSE), -EINVAL,
		       "R-COLLAPSE-SWAPIN [%s]: a uffd-wp protected swap entry: -EINVAL", name);
		ok(!test_pmd_mapped(current->mm, SW_BASE) && gt_ev(PSWPIN) == in0 &&
		   nr_swapped(SW_BASE, HPAGE_PMD_NR) == 20,
		   "R-COLLAPSE-SWAPIN [%s]: nothing read back, nothing collapsed", name);
		pinmm_uffd_writeprotect(ctx, SW_BASE, PMD_SIZE, 0);
	}
	is_int(gt_check(SW_BASE, HPAGE_PMD_NR, 23), 0, "R-COLLAPSE-SWAPIN [%s]: every byte kept",
	       name);
	if (ctx)
		pinmm_userfaultfd_release(ctx);
	teardown("collapse-in", t, 1);
}

static void cold_goes_first(void)
{
	const unsigned long n = 64;
	const unsigned long hot = SW_BASE + PMD_SIZE;
	struct task_struct *t[1];
	unsigned long got;

	boot_with_swap(TEST_MEM_MB, 1024, false);
	t[0] = test_process("cold");
	test_mmap_fixed(SW_BASE, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(hot, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	/* the hot pages first: the clock (from the lowest pfn) meets them first */
	gt_fill(hot, n, 21);
	gt_fill(SW_BASE, n, 20);
	ok(test_pt_pfn(current->mm, hot + (n - 1) * PAGE_SIZE) < test_pt_pfn(current->mm, SW_BASE),
	   "setup: the hot pages lie below the cold ones");
	is_int(do_madvise(current->mm, SW_BASE, n * PAGE_SIZE, MADV_COLD), 0, "MADV_COLD: 0");
	is_uint(nr_swapped(SW_BASE, n), 0, "R-COLD: MADV_COLD reclaims nothing itself");
	got = pinmm_reclaim_anon(n);
	is_uint(got, n, "R-COLD: the reclaim scan frees the %lu pages asked", n);
	is_uint(nr_swapped(SW_BASE, n), n, "R-COLD: ... all of them the cold ones");
	is_uint(nr_swapped(hot, n), 0, "R-COLD: the pages in use (young PTEs) get a second chance");
	is_int(gt_check(SW_BASE, n, 20) + gt_check(hot, n, 21), 0, "R-SWAPIN: nothing lost");
	teardown("cold", t, 1);
}

/* ---- pressure --------------------------------------------------------------------- */

static void pressure(void)
{
	/* 32 MiB of memory, 48 MiB of anon data: the allocator must swap */
	const unsigned long n = 48UL << (20 - PAGE_SHIFT);
	struct task_struct *t[1];
	struct page *page;
	unsigned long pfn;
	long out0, r;

	boot_with_swap(32, 16384, true);
	t[0] = test_process("pressure");
	test_mmap_fixed(SW_BASE, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, SW_BASE, n * PAGE_SIZE, MADV_NOHUGEPAGE))
		bail_out("nohugepage");
	gt_fill(SW_BASE, 1, 19);
	r = gt_pin(SW_BASE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (r != 1)
		bail_out("pin");
	pfn = page_to_pfn(page);
	out0 = gt_ev(PSWPOUT);
	ok(gt_fill(SW_BASE + PAGE_SIZE, n - 1, 19),
	   "R-PRESSURE: 48 MiB of anon data fit a 32 MiB machine (direct reclaim swaps)");
	ok(gt_ev(PSWPOUT) - out0 > 0, "R-PRESSURE: pswpout counts the pages swapped out");
	ok(test_pt_pfn(current->mm, SW_BASE) == pfn, "R-SWAP-PIN: the pinned page stayed resident and mapped");
	is_uint(gt_check(SW_BASE, n, 19), 0, "R-PRESSURE: every page reads back");
	unpin_user_page(page);
	teardown("pressure", t, 1);
}

int main(void)
{
	plan_no_plan();
	swapon_rules();
	pageout_and_back(true);
	pageout_and_back(false);
	pinned_page_stays();
	swapcache_pinned_not_unmapped();
	gup_swaps_in(false);
	gup_swaps_in(true);
	fork_with_swap_entries();
	fork_swap_count_full();
	expected_refs_swapcache();
	reuse_after_child_exit();
	swapcache_freed_with_last_mapping();
	longterm_pin_of_swapcache_page();
	late_store_not_lost();
	area_full_and_no_area();
	madvise_bad_vmas();
	io_errors();
	thp_pinned_and_not();
	thp_split_fallback();
	thp_partial_pageout(false, false);
	thp_partial_pageout(true, false);
	thp_partial_pageout(false, true);
	collapse_swaps_in(false);
	collapse_swaps_in(true);
	cold_goes_first();
	pressure();
	return done_testing();
}
