// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * A swap area's lifetime against a reader that let go of the PTE lock
 * (Linux mm/swapfile.c get_swap_device(), mm/swap_state.c
 * read_swap_cache_async(), mm/madvise.c swapin_walk_pmd_entry()): the
 * window held open with the race point swapin_held (include/pinmm/race.h).
 * MADV_WILLNEED read a swap entry under the PTE lock, let go of it, and holds
 * the entry's area; meanwhile another thread zaps the entry (MADV_DONTNEED:
 * the last slot in use is freed) and swapoff, finding every slot free, takes
 * the area down. Linux's rule: swapoff waits for the holder (the percpu
 * reference of get_swap_device()), and the holder then finds the slot free
 * and reads nothing. Without the hold swapoff frees the area under the reader
 * (a use after free ASan reports; here it shows as swapoff finishing while
 * the reader is still inside).
 */
#include "steps.h"

#include <pinmm/swap.h>

#include <stdio.h>
#include <unistd.h>

#define NP	4

static struct task_struct *proc;
static unsigned long entry_val;
static atomic_bool swapoff_done, done_while_held;
static atomic_int swapoff_ret = 1;
static pthread_t offer;

static void *zapper(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	if (do_madvise(proc->mm, GT_BASE, NP * PAGE_SIZE, MADV_DONTNEED))
		diag("MADV_DONTNEED failed");
	pinmm_task_detach();
	return NULL;
}

static void *swapoffer(void *arg)
{
	(void)arg;
	atomic_store(&swapoff_ret, pinmm_swapoff(0));
	atomic_store(&swapoff_done, true);
	return NULL;
}

/* At the reader's hold: the entry goes, swapoff starts; the reader goes on 100 ms later. */
static void zap_and_swapoff(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (!first_at(point, addr, entry_val))
		return;
	run_beside(zapper);
	pthread_create(&offer, NULL, swapoffer, NULL);
	usleep(100 * 1000);
	atomic_store(&done_while_held, atomic_load(&swapoff_done));
}

static void swapoff_waits_for_holder(void)
{
	unsigned long warns;
	bool leaf;
	pte_t pte;
	int r;

	test_boot(64, 0, 0);
	proc = test_process("swapoff_willneed");
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) != 0)
		bail_out("swapon");
	test_mmap_fixed(GT_BASE, NP * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, NP, 0x5a) ||
	    do_madvise(proc->mm, GT_BASE, NP * PAGE_SIZE, MADV_PAGEOUT))
		bail_out("fill, pageout");
	pte = __pte(test_pt_entry(proc->mm, GT_BASE + PAGE_SIZE, &leaf));
	ok(!leaf && is_swapfile_pte(pte), "setup: the pages are swapped out");
	entry_val = pte_to_swp_entry(pte).val;
	warns = pinmm_warn_count();

	arm(PINMM_RACE_SWAPIN_HELD, zap_and_swapoff);
	r = do_madvise(proc->mm, GT_BASE + PAGE_SIZE, PAGE_SIZE, MADV_WILLNEED);
	pinmm_race_disarm(PINMM_RACE_SWAPIN_HELD);
	if (atomic_load(&hits[PINMM_RACE_SWAPIN_HELD]))
		pthread_join(offer, NULL);
	ok(atomic_load(&hits[PINMM_RACE_SWAPIN_HELD]) == 1 && r == 0,
	   "swapin_held: MADV_WILLNEED held the area when the entry was zapped and swapoff began");
	ok(!atomic_load(&done_while_held),
	   "get_swap_device: swapoff waited while the reader held the area (100 ms)");
	is_int(atomic_load(&swapoff_ret), 0,
	       "get_swap_device: ... and finished once it let go: no slot was in use");
	ok(!pinmm_swap_active() && gt_check(GT_BASE, NP, 0x5a) == NP,
	   "swapin_held: the area is gone; the zapped pages read zeroes, nothing was read in");
	is_uint(pinmm_warn_count() - warns, 0, "swapin_held: no WARN");
	gt_teardown("swapoff_willneed", &proc, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	swapoff_waits_for_holder();
	return done_testing();
}
