// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * KSM against pins: ksmd (run=1, no sleep) and a second thread running
 * synchronous scans merge pages of one mm while pinner threads take
 * long-term pins (R/O and R/W, slow path and GUP-fast) on the same pages,
 * write through the pin and through the CPU, and unpin; writer threads keep
 * flipping pages between one common pattern (mergeable) and unique values;
 * a forker forks and exits children (registered with KSM, sharing the KSM
 * pages); an unmerger toggles MADV_UNMERGEABLE/MADV_MERGEABLE and run=2;
 * a migrator compacts the zones, moving KSM pages (rmap_walk_ksm) and others;
 * a reclaimer swaps anon pages out as kswapd would, KSM pages among them
 * (try_to_unmap through rmap_walk_ksm), never a pinned one, and the faults
 * bring them back (ksm_might_need_to_copy()).
 *
 * Checked while each pin is held (Linux mm/ksm.c write_protect_page,
 * mm/gup.c gup_must_unshare): the pinned page is never a KSM page, the
 * address still maps it (nothing merged it away), and what the device
 * wrote through the pin is what the CPU reads. At the end: pins balance,
 * every KSM record is gone once the mm exits, no frame leaked, and TSan
 * saw no race. Runs STRESS_SECONDS (make stress: 60).
 */
#include "../gup/helpers.h"

#include <pinmm/frame_state.h>
#include <pinmm/ksm.h>
#include <pinmm/migrate.h>
#include <pinmm/mmzone.h>
#include <pinmm/swap.h>
#include <pthread.h>
#include <unistd.h>

#define BASE		0x600000000UL
#define NPAGES		64
#define NPINNERS	2
#define NWRITERS	2
#define PATTERN		0x5a5a5a5a5a5a5a5aUL

static struct mm_struct *pmm;
static struct task_struct *parent;
static atomic_long failures, pins, merges_seen, forks, toggles, compactions, reclaimed;
static double seconds;

static void fail(const char *what, unsigned long v)
{
	if (atomic_fetch_add(&failures, 1) < 8)
		diag("FAIL: %s (%#lx)", what, v);
}

static unsigned long addr_of(int i)
{
	return BASE + (unsigned long)i * PAGE_SIZE;
}

static void *scanner_fn(void *arg)
{
	double end = now_sec() + seconds;

	(void)arg;
	while (now_sec() < end) {
		struct pinmm_ksm_stats st;

		pinmm_ksm_scan(16);
		pinmm_ksm_get_stats(&st);
		if (st.pages_sharing)
			atomic_fetch_add(&merges_seen, 1);
	}
	return NULL;
}

/* The frame the CPU sees at @addr now (the PTE; test_pt_pfn locks), or -1. */
static unsigned long mapped_pfn(unsigned long addr)
{
	return test_pt_pfn(pmm, addr);
}

static void *pinner_fn(void *arg)
{
	uint64_t rnd = 0x1234567ULL * (uintptr_t)arg + 1;
	double end = now_sec() + seconds;
	unsigned long id = (uintptr_t)arg;

	if (!mmget_not_zero(pmm))
		return NULL;
	kthread_use_mm(pmm);
	while (now_sec() < end) {
		uint64_t x = test_rand(&rnd);
		int i = (int)(x % NPAGES);
		bool write = x & 0x100, fast = x & 0x200;
		unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
		unsigned long a = addr_of(i), v = (x >> 16) | 1;
		struct page *pg;
		long r;

		if (fast) {
			r = pin_user_pages_fast(a, 1, flags, &pg);
		} else {
			mmap_read_lock(pmm);
			r = pin_user_pages(a, 1, flags, &pg);
			mmap_read_unlock(pmm);
		}
		if (r != 1)
			continue;	/* unmerge/fork/munmap in the way: fine */
		atomic_fetch_add(&pins, 1);
		for (int k = 0; k < 50; k++) {
			unsigned long got = ~0UL;

			if (folio_test_ksm(page_folio(pg)))
				fail("a pinned page is a KSM page", page_to_pfn(pg));
			if (mapped_pfn(a) != page_to_pfn(pg))
				fail("the pinned page was replaced in the page table", a);
			/* the device writes word 1 + id (each pinner its own), the CPU reads it */
			mmap_read_lock(pmm);
			atomic_store_explicit((atomic_ulong *)page_address(pg) + 1 + id, v + k,
					      memory_order_relaxed);
			mmap_read_unlock(pmm);
			if (get_user(got, (unsigned long __user *)(a + (1 + id) * sizeof(long))) == 0 &&
			    got != v + k && mapped_pfn(a) == page_to_pfn(pg))
				fail("the CPU does not see the device's write", a);
			sched_yield();
		}
		unpin_user_page(pg);
	}
	kthread_unuse_mm(pmm);
	mmput(pmm);
	return NULL;
}

static void *writer_fn(void *arg)
{
	uint64_t rnd = 0xabcdefULL * (uintptr_t)arg + 7;
	double end = now_sec() + seconds;

	if (!mmget_not_zero(pmm))
		return NULL;
	kthread_use_mm(pmm);
	while (now_sec() < end) {
		uint64_t x = test_rand(&rnd);
		/* each writer its own words (8 * (2k + id)): CPU stores never race each other */
		unsigned long a = addr_of((int)(x % NPAGES)) +
				  64 * (2 * ((x >> 8) % 4) + (uintptr_t)arg);

		/* mostly the common pattern: mergeable pages keep appearing */
		put_user((x >> 12) % 4 ? PATTERN : x, (unsigned long __user *)a);
		if ((x & 0xff) == 0)
			usleep(100);
	}
	kthread_unuse_mm(pmm);
	mmput(pmm);
	return NULL;
}

static void *forker_fn(void *arg)
{
	double end = now_sec() + seconds;

	(void)arg;
	while (now_sec() < end) {
		struct task_struct *child = NULL;

		if (pinmm_fork(parent, "ksm-child", &child))
			continue;
		pinmm_task_attach(child);
		for (int i = 0; i < NPAGES; i += 8)
			put_user(PATTERN, (unsigned long __user *)addr_of(i));
		pinmm_task_detach();
		usleep(2000);
		pinmm_task_exit(child);
		atomic_fetch_add(&forks, 1);
	}
	return NULL;
}

/* Compaction moves KSM pages too (rmap_walk_ksm), never pinned ones. */
static void *migrator_fn(void *arg)
{
	double end = now_sec() + seconds;

	(void)arg;
	while (now_sec() < end) {
		compact_zone_now(&pinmm_zones[ZONE_MOVABLE]);
		compact_zone_now(&pinmm_zones[ZONE_NORMAL]);
		atomic_fetch_add(&compactions, 1);
		usleep(3000);
	}
	return NULL;
}

/* kswapd's part: reclaim takes KSM pages too, the pin check keeps pinned ones. */
static void *reclaimer_fn(void *arg)
{
	double end = now_sec() + seconds;
	long swapped0 = gt_ev(PSWPOUT);

	(void)arg;
	/*
	 * On a loaded host the writers can keep every page young for the
	 * whole run: go on (at most 30 s more) until something went out.
	 */
	while (now_sec() < end || (gt_ev(PSWPOUT) == swapped0 && now_sec() < end + 30)) {
		atomic_fetch_add(&reclaimed, (long)pinmm_reclaim_anon(32));
		usleep(2000);
	}
	return NULL;
}

static void *unmerger_fn(void *arg)
{
	double end = now_sec() + seconds;
	unsigned long n = 0;

	(void)arg;
	while (now_sec() < end) {
		unsigned long a = addr_of((int)(n % 4) * 16);

		if (do_madvise(pmm, a, 16 * PAGE_SIZE, MADV_UNMERGEABLE) ||
		    do_madvise(pmm, a, 16 * PAGE_SIZE, MADV_MERGEABLE))
			fail("MADV_(UN)MERGEABLE failed", a);
		if (++n % 8 == 0) {
			pinmm_ksm_set_run(KSM_RUN_UNMERGE);
			pinmm_ksm_set_run(KSM_RUN_MERGE);
		}
		atomic_fetch_add(&toggles, 1);
		usleep(5000);
	}
	return NULL;
}

/* A leak's evidence: every allocated frame but the zero page, with its owner. */
static void dump_frames_in_use(void)
{
	for (unsigned long pfn = 0; pfn < pinmm_max_pfn; pfn++) {
		int state = pinmm_frame_state(pfn);

		if (state != PINMM_FRAME_FREE && pfn != page_to_pfn(ZERO_PAGE(0)))
			dump_page(pfn_to_page(pfn), "allocated after every mm exited");
	}
}

int main(void)
{
	pthread_t th[NPINNERS + NWRITERS + 6];
	long migrated0, swapped0, cached;
	struct pinmm_ksm_stats st;
	int n = 0;

	plan_no_plan();
	seconds = stress_seconds(2);
	test_boot(128, 32, 16);
	if (pinmm_swapon(NULL, 16UL << 20) != 0)
		bail_out("swapon");
	parent = pinmm_task_create("ksm-stress");
	if (!parent)
		bail_out("setup");
	pmm = parent->mm;
	pinmm_task_attach(parent);
	if (vm_mmap(NULL, BASE, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		    0) != BASE)
		bail_out("mmap");
	for (int i = 0; i < NPAGES; i++)
		for (unsigned long off = 0; off < PAGE_SIZE; off += sizeof(long))
			put_user(PATTERN, (unsigned long __user *)(addr_of(i) + off));
	is_int(do_madvise(pmm, BASE, NPAGES * PAGE_SIZE, MADV_MERGEABLE), 0, "MADV_MERGEABLE");
	pinmm_task_detach();
	pinmm_ksm_set_sleep_millisecs(0);
	pinmm_ksm_set_pages_to_scan(32);
	pinmm_ksm_set_run(KSM_RUN_MERGE);

	pthread_create(&th[n++], NULL, scanner_fn, NULL);
	for (long i = 0; i < NPINNERS; i++)
		pthread_create(&th[n++], NULL, pinner_fn, (void *)i);
	for (long i = 0; i < NWRITERS; i++)
		pthread_create(&th[n++], NULL, writer_fn, (void *)i);
	pthread_create(&th[n++], NULL, forker_fn, NULL);
	pthread_create(&th[n++], NULL, unmerger_fn, NULL);
	migrated0 = gt_ev(PGMIGRATE_SUCCESS);
	pthread_create(&th[n++], NULL, migrator_fn, NULL);
	swapped0 = gt_ev(PSWPOUT);
	pthread_create(&th[n++], NULL, reclaimer_fn, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pinmm_ksm_set_run(KSM_RUN_STOP);

	is_int(atomic_load(&failures), 0, "ksm stress: a pinned page was never merged or replaced "
	       "(write_protect_page), and the device and the CPU saw each other's writes, while "
	       "ksmd, scans, writes, fork, MADV_UNMERGEABLE and run=2 raced");
	ok(atomic_load(&pins) > 0 && atomic_load(&merges_seen) > 0 && atomic_load(&forks) > 0 &&
	   atomic_load(&toggles) > 0 && atomic_load(&compactions) > 0 &&
	   gt_ev(PSWPOUT) > swapped0,
	   "ksm stress: the threads ran (%ld pins, %ld scans that saw merged pages, %ld forks, "
	   "%ld unmerge toggles, %ld compactions moving %ld pages, %ld pages reclaimed, %ld "
	   "swapped out)", atomic_load(&pins), atomic_load(&merges_seen), atomic_load(&forks),
	   atomic_load(&toggles), atomic_load(&compactions), gt_ev(PGMIGRATE_SUCCESS) - migrated0,
	   atomic_load(&reclaimed), gt_ev(PSWPOUT) - swapped0);
	is_int(gt_acq(), gt_rel(), "ksm stress: nr_foll_pin_acquired == nr_foll_pin_released");
	pinmm_task_exit(parent);
	pinmm_ksm_get_stats(&st);
	ok(st.mm_slots == 0 && st.rmap_items == 0 && st.pages_sharing == 0,
	   "ksm stress: exit leaves no mm slot, no rmap item, no sharer (ksm_exit)");
	rcu_barrier();
	/*
	 * A swap-cache folio whose last entry was zapped while someone held
	 * its lock stays cached (free_swap_and_cache() only try-locks), in
	 * Linux too, until reclaim or swapoff drops it; a KSM one keeps its
	 * stable node alive until then. Reclaim first, then run=2, which
	 * drops the stale nodes as writing 2 to /sys/kernel/mm/ksm/run does.
	 */
	cached = global_node_page_state_snapshot(NR_SWAPCACHE);
	pinmm_reclaim_anon(4 * NPAGES);
	diag("%ld folios left in the swap cache after the exits; %ld after a reclaim pass", cached,
	     global_node_page_state_snapshot(NR_SWAPCACHE));
	pinmm_ksm_set_run(KSM_RUN_UNMERGE);
	pinmm_ksm_set_run(KSM_RUN_STOP);
	pinmm_ksm_get_stats(&st);
	ok(st.stable_nodes == 0 && st.pages_shared == 0,
	   "ksm stress: then no stable node is left (every KSM page is gone)");
	if (!is_uint(pinmm_frames_in_use(), 1, "ksm stress: no leaked frame (only the zero page)"))
		dump_frames_in_use();
	test_shutdown_ok("ksm_stress");
	return done_testing();
}
