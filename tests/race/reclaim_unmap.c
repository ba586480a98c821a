// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * What reclaim's unmap must look at again after it chose a folio (Linux
 * mm/rmap.c try_to_unmap_one()), with the window held open by the race point
 * reclaim_unmap (include/pinmm/race.h): the folio is locked, isolated and in
 * the swap cache, the scan found it unreferenced, nothing is unmapped yet.
 *
 *  R-UNMAP-MLOCK    mm/rmap.c try_to_unmap_one(): a VMA that became VM_LOCKED
 *                   since the scan keeps its page (mlock() does not take the
 *                   folio lock, so nothing else stops it); the page stays
 *                   mapped, with its data, in the swap cache.
 *  R-UNMAP-SWAPDUP  the same: when the entry's count cannot be raised
 *                   (swap_duplicate() fails: Linux's count continuation page
 *                   could not be allocated), the PTE is put back as it was,
 *                   the page exclusive again (a later pin needs no copy), and
 *                   nothing is swapped out. Here the count is held at
 *                   SWAP_MAP_MAX from the hook, as 32767 other holders would.
 */
#include "steps.h"

#include <pinmm/swap.h>

#include <stdio.h>
#include <unistd.h>

static struct task_struct *proc;
static unsigned long want_pfn;
static unsigned short saved_count;
static swp_entry_t held_entry;

static void *mlocker(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	if (do_mlock(GT_BASE, PAGE_SIZE, 0))
		diag("mlock failed");
	pinmm_task_detach();
	return NULL;
}

/* R-UNMAP-MLOCK: the process locks the page while reclaim holds it. */
static void lock_it(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, want_pfn))
		run_beside(mlocker);
}

/* R-UNMAP-SWAPDUP: the slot's count at its ceiling. */
static void fill_count(enum pinmm_race point, unsigned long addr, void *arg)
{
	struct folio *folio = pfn_folio(addr);
	struct swap_info_struct *si;

	(void)arg;
	if (!first_at(point, addr, want_pfn))
		return;
	held_entry = folio_swap_entry(folio);
	si = swp_swap_info(held_entry);
	spin_lock(&si->lock);
	saved_count = si->swap_map[swp_offset(held_entry)];
	si->swap_map[swp_offset(held_entry)] = (unsigned short)(SWAP_MAP_MAX | SWAP_HAS_CACHE);
	spin_unlock(&si->lock);
}

static void restore_count(void)
{
	struct swap_info_struct *si = swp_swap_info(held_entry);

	spin_lock(&si->lock);
	si->swap_map[swp_offset(held_entry)] = saved_count;
	spin_unlock(&si->lock);
}

/* Scan until the hook fired (a fresh page is young: the first round only ages it). */
static void reclaim_until_hit(enum pinmm_race point)
{
	for (int round = 0; round < 8 && !atomic_load(&hits[point]); round++)
		pinmm_reclaim_anon(64);
}

static void setup(const char *name)
{
	test_boot(64, 0, 0);
	proc = test_process(name);
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) != 0)
		bail_out("swapon");
	test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 1, 0x5a))
		bail_out("fill");
	want_pfn = test_pt_pfn(proc->mm, GT_BASE);
}

static void mlock_after_scan(void)
{
	unsigned long warns;

	setup("reclaim_mlock");
	warns = pinmm_warn_count();
	arm(PINMM_RACE_RECLAIM_UNMAP, lock_it);
	reclaim_until_hit(PINMM_RACE_RECLAIM_UNMAP);
	pinmm_race_disarm(PINMM_RACE_RECLAIM_UNMAP);
	is_int(atomic_load(&hits[PINMM_RACE_RECLAIM_UNMAP]), 1,
	       "reclaim_unmap: reclaim chose the page and the process mlocked it there");
	is_uint(test_pt_pfn(proc->mm, GT_BASE), want_pfn,
	       "R-UNMAP-MLOCK: the locked page stayed mapped (not swapped out)");
	ok(gt_check(GT_BASE, 1, 0x5a) == 0 && proc->mm->locked_vm == 1,
	   "R-UNMAP-MLOCK: with its data; the VMA is locked and counted");
	for (int round = 0; round < 4; round++)
		pinmm_reclaim_anon(64);
	is_uint(test_pt_pfn(proc->mm, GT_BASE), want_pfn,
	       "R-UNMAP-MLOCK: later scans pass the locked page by");
	is_uint(pinmm_warn_count() - warns, 0, "R-UNMAP-MLOCK: no WARN");
	gt_teardown("reclaim_mlock", &proc, 1);
}

static void swap_count_full(void)
{
	struct page *page;
	unsigned long warns;

	setup("reclaim_swapdup");
	warns = pinmm_warn_count();
	arm(PINMM_RACE_RECLAIM_UNMAP, fill_count);
	reclaim_until_hit(PINMM_RACE_RECLAIM_UNMAP);
	pinmm_race_disarm(PINMM_RACE_RECLAIM_UNMAP);
	if (atomic_load(&hits[PINMM_RACE_RECLAIM_UNMAP]))
		restore_count();
	is_int(atomic_load(&hits[PINMM_RACE_RECLAIM_UNMAP]), 1,
	       "reclaim_unmap: reclaim chose the page; its slot's count is held at the ceiling");
	is_uint(test_pt_pfn(proc->mm, GT_BASE), want_pfn,
	       "R-UNMAP-SWAPDUP: swap_duplicate() failed: the PTE maps the page again");
	page = pfn_to_page(want_pfn);
	ok(gt_exclusive(page) && gt_check(GT_BASE, 1, 0x5a) == 0,
	   "R-UNMAP-SWAPDUP: the page is exclusive again and keeps its data");
	is_int(gt_pin(GT_BASE, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "R-UNMAP-SWAPDUP: a long-term pin ...");
	ok(page_to_pfn(page) == want_pfn, "R-UNMAP-SWAPDUP: ... gets that page, no copy");
	unpin_user_page(page);
	for (int round = 0; round < 8 && test_pt_pfn(proc->mm, GT_BASE) != -1UL; round++)
		pinmm_reclaim_anon(64);
	ok(test_pt_pfn(proc->mm, GT_BASE) == -1UL && gt_check(GT_BASE, 1, 0x5a) == 0,
	   "R-UNMAP-SWAPDUP: with the count back, reclaim swaps it out and in again intact");
	is_uint(pinmm_warn_count() - warns, 0, "R-UNMAP-SWAPDUP: no WARN (the counts add up)");
	gt_teardown("reclaim_swapdup", &proc, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	mlock_after_scan();
	swap_count_full();
	return done_testing();
}
