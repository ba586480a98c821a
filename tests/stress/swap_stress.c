// SPDX-License-Identifier: MIT
/*
 * Reclaim racing pins. PINMM_TEST_CONCURRENT: two processes on threads of
 * their own write, verify (XXH64 kept on the host side) and pin pages of
 * 12 MiB of anon memory each on a 24 MiB machine with a swap file, so the
 * allocator's direct reclaim swaps all the time; a "kswapd" thread runs the
 * reclaim scan and MADV_PAGEOUTs the processes' memory; a fork child of the
 * first process verifies the snapshot it inherited (shared swap slots).
 * A pinner takes long-term R/W pins with pin_user_pages_fast(), writes
 * through the pinned page as a device would, and checks that the pinned
 * page stays the mapped one while reclaim runs (Linux: shrink_folio_list()
 * keeps a maybe-pinned folio; try_to_unmap_one()'s
 * folio_try_share_anon_rmap_pte() refuses the pin that comes after that
 * check), then unpins. The workers also MADV_FREE runs of their own pages:
 * until written again such a page may read its data or zeroes (reclaim
 * discarding it), nothing else; a page pinned and written by the device
 * must keep what the device wrote (Linux's try_to_unmap_one() keeps a
 * lazyfree page with an extra reference). For $STRESS_SECONDS (default 2):
 * every checksum verifies, no pinned page was unmapped, swap-out, swap-in
 * and lazyfree discards happened, and at the end every slot and every frame
 * is back.
 */
#include "../gup/helpers.h"
#include "../base/helpers.h"
#include "../lib/soak.h"

#include <pinmm/swap.h>
#include <xxhash.h>

#define NWORKERS	2
#define NPAGES		3072		/* 12 MiB per process */
#define NPINS		8

struct worker {
	pthread_t thread;
	struct task_struct *task;
	uint64_t rng;
	uint64_t sum[NPAGES];
	bool lazy[NPAGES];	/* MADV_FREEd since the last write: zeroes allowed */
	unsigned long writes, verifies, pins, pin_fail, bad, efault, excused, pin_moved;
	unsigned long frees, zeroed;
	bool verify_only;
};

static struct worker workers[NWORKERS + 1];	/* the last: the fork child */
static atomic_int stop;
static uint64_t zero_sum;	/* XXH64 of a page of zeroes */

static unsigned long w_addr(unsigned long i)
{
	return GT_BASE + i * PAGE_SIZE;
}

/* The first failed CPU access, told once: which page, and what maps it now. */
static void efault_diag(struct worker *w, unsigned long i, const char *what)
{
	static atomic_flag told = ATOMIC_FLAG_INIT;
	bool leaf;
	unsigned long e;

	w->efault++;
	if (atomic_flag_test_and_set(&told))
		return;
	e = test_pt_entry(w->task->mm, w_addr(i), &leaf);
	diag("%s of page %lu failed; its entry now %#lx (leaf %d), free pages %lu", what, i, e,
	     leaf, global_zone_page_state(NR_FREE_PAGES));
}

static void fill_buf(struct worker *w, uint64_t *buf)
{
	for (unsigned long k = 0; k < GT_WORDS; k++)
		buf[k] = test_rand(&w->rng);
}

static void verify_page(struct worker *w, unsigned long i)
{
	static __thread uint8_t buf[PAGE_SIZE];
	unsigned long inj = soak_fail_mine();

	if (copy_from_user(buf, (const void __user *)w_addr(i), PAGE_SIZE)) {
		if (soak_excused(inj))
			w->excused++;
		else
			efault_diag(w, i, "read");
		return;
	}
	if (XXH64(buf, PAGE_SIZE, 0) == w->sum[i]) {
		w->verifies++;
		return;
	}
	if (w->lazy[i] && XXH64(buf, PAGE_SIZE, 0) == zero_sum) {
		w->zeroed++;	/* discarded: the page is a fresh one now */
		w->sum[i] = zero_sum;
		w->lazy[i] = false;
		return;
	}
	if (!w->bad++) {
		bool leaf;

		diag("first bad page: worker %ld page %lu (lazy %d, reads zeroes %d), entry %#lx",
		     (long)(w - workers), i, w->lazy[i], XXH64(buf, PAGE_SIZE, 0) == zero_sum,
		     test_pt_entry(w->task->mm, w_addr(i), &leaf));
	}
}

/* Pin a few pages, write through them as a device, let reclaim run, check, unpin. */
static void pin_round(struct worker *w)
{
	static __thread uint64_t buf[GT_WORDS];
	struct page *pages[NPINS];
	unsigned long i = test_rand(&w->rng) % (NPAGES - NPINS);
	unsigned long inj = soak_fail_mine();
	long n;

	n = pin_user_pages_fast(w_addr(i), NPINS, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (n <= 0) {
		if (soak_excused(inj))
			w->excused++;
		else
			w->pin_fail++;
		return;
	}
	for (long k = 0; k < n; k++) {
		fill_buf(w, buf);
		memcpy(page_address(pages[k]), buf, PAGE_SIZE);
		w->sum[i + (unsigned long)k] = XXH64(buf, PAGE_SIZE, 0);
		w->lazy[i + (unsigned long)k] = false;
	}
	/* reclaim of our own range while pinned: the pinned pages must stay */
	do_madvise(w->task->mm, w_addr(i), NPINS * PAGE_SIZE, MADV_PAGEOUT);
	sched_yield();
	for (long k = 0; k < n; k++)
		w->pin_moved += test_pt_pfn(w->task->mm, w_addr(i + (unsigned long)k)) !=
				page_to_pfn(pages[k]);
	/* a device wrote: dirty them, or a clean swap-cache folio's write is lost */
	unpin_user_pages_dirty_lock(pages, (unsigned long)n, true);
	w->pins++;
}

static void one_op(struct worker *w)
{
	static __thread uint64_t buf[GT_WORDS];
	unsigned long i = test_rand(&w->rng) % NPAGES;
	unsigned int op = test_rand(&w->rng) % 100;

	if (w->verify_only || op < 50) {
		verify_page(w, i);
	} else if (op < 95) {
		unsigned long inj = soak_fail_mine();

		fill_buf(w, buf);
		if (copy_to_user((void __user *)w_addr(i), buf, PAGE_SIZE)) {
			if (soak_excused(inj))
				w->excused++;
			else
				efault_diag(w, i, "write");
			return;
		}
		w->sum[i] = XXH64(buf, PAGE_SIZE, 0);
		w->lazy[i] = false;
		w->writes++;
	} else if (op < 97) {
		unsigned long n = min(1 + test_rand(&w->rng) % 16, NPAGES - i);

		/* lazy first: reclaim may discard them as soon as the call cleans them */
		for (unsigned long k = 0; k < n; k++)
			w->lazy[i + k] = true;
		if (!do_madvise(w->task->mm, w_addr(i), n * PAGE_SIZE, MADV_FREE))
			w->frees++;
	} else {
		pin_round(w);
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	pinmm_task_attach(w->task);
	soak_fail_arm();
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		for (int k = 0; k < 32; k++)
			one_op(w);
	soak_fail_disarm();
	for (unsigned long i = 0; i < NPAGES; i++)
		verify_page(w, i);
	pinmm_task_detach();
	return NULL;
}

struct kswapd_stats {
	unsigned long scans, reclaimed, pageouts;
};

static void *kswapd_fn(void *arg)
{
	struct kswapd_stats *ks = arg;
	uint64_t rng = 0x13198a2e03707344ull;
	/* a task of its own: one thread runs a task at a time */
	struct task_struct *self = test_process("kswapd");

	soak_fail_arm();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct worker *w = &workers[test_rand(&rng) % (NWORKERS + 1)];
		unsigned long i = test_rand(&rng) % (NPAGES - 64);

		if (test_rand(&rng) % 2) {
			ks->reclaimed += pinmm_reclaim_anon(256);
			ks->scans++;
		} else {
			/* MADV_PAGEOUT from outside, as process_madvise() would */
			do_madvise(w->task->mm, w_addr(i), 64 * PAGE_SIZE, MADV_PAGEOUT);
			ks->pageouts++;
		}
		usleep(100);
	}
	soak_fail_disarm();
	pinmm_task_detach();
	pinmm_task_exit(self);
	return NULL;
}

int main(void)
{
	struct task_struct *tasks[NWORKERS + 1];
	double seconds = stress_seconds(2), t0;
	struct kswapd_stats ks = { 0 };
	unsigned long bad = 0, efault = 0, excused = 0, writes = 0, verifies = 0, pins = 0;
	unsigned long pin_fail = 0, moved = 0, total, free0, free1, frees = 0, zeroed = 0;
	long out0, in0, lfd0;
	pthread_t kthread;

	plan_no_plan();
	watchdog((unsigned int)seconds + 600);
	{
		static const uint8_t zero[PAGE_SIZE];

		zero_sum = XXH64(zero, PAGE_SIZE, 0);
	}
	test_boot(24, 0, 0);
	if (pinmm_swapon("swapfile", 64UL << 20) != 0)
		bail_out("swapon");
	si_swapinfo(&total, &free0);
	for (unsigned int i = 0; i < NWORKERS; i++) {
		struct worker *w = &workers[i];
		char comm[16];

		snprintf(comm, sizeof(comm), "swap%u", i);
		w->rng = 0x243f6a8885a308d3ull * (i + 1);
		w->task = test_process(comm);
		test_mmap_fixed(GT_BASE, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
		if (do_madvise(current->mm, GT_BASE, NPAGES * PAGE_SIZE, MADV_NOHUGEPAGE))
			bail_out("nohugepage");
		for (unsigned long p = 0; p < NPAGES; p++) {
			static uint64_t buf[GT_WORDS];

			fill_buf(w, buf);
			if (copy_to_user((void __user *)w_addr(p), buf, PAGE_SIZE))
				bail_out("initial fill failed");
			w->sum[p] = XXH64(buf, PAGE_SIZE, 0);
		}
		if (i == 0) {
			struct worker *c = &workers[NWORKERS];

			/* the child shares the first process's pages and swap slots */
			if (pinmm_fork(w->task, "swap-child", &c->task))
				bail_out("pinmm_fork failed");
			memcpy(c->sum, w->sum, sizeof(c->sum));
			c->rng = 0x452821e638d01377ull;
			c->verify_only = true;
		}
		pinmm_task_detach();
		tasks[i] = w->task;
	}
	tasks[NWORKERS] = workers[NWORKERS].task;
	out0 = gt_ev(PSWPOUT);
	in0 = gt_ev(PSWPIN);
	lfd0 = gt_ev(PGLAZYFREED);

	t0 = now_sec();
	for (unsigned int i = 0; i <= NWORKERS; i++)
		workers[i].thread = start_thread(worker_fn, &workers[i]);
	kthread = start_thread(kswapd_fn, &ks);
	while (now_sec() - t0 < seconds ||
	       (gt_ev(PSWPIN) == in0 && now_sec() - t0 < seconds + 60))
		usleep(10000);
	atomic_store(&stop, 1);
	join_thread(kthread);
	for (unsigned int i = 0; i <= NWORKERS; i++)
		join_thread(workers[i].thread);

	for (unsigned int i = 0; i <= NWORKERS; i++) {
		struct worker *w = &workers[i];

		bad += w->bad;
		efault += w->efault;
		excused += w->excused;
		writes += w->writes;
		verifies += w->verifies;
		pins += w->pins;
		pin_fail += w->pin_fail;
		moved += w->pin_moved;
		frees += w->frees;
		zeroed += w->zeroed;
	}
	diag("%.2f s: %lu writes, %lu verifies, %lu pin rounds (%lu refused); kswapd: %lu scans "
	     "(%lu pages), %lu MADV_PAGEOUTs; pswpout %ld, pswpin %ld", now_sec() - t0, writes,
	     verifies, pins, pin_fail, ks.scans, ks.reclaimed, ks.pageouts, gt_ev(PSWPOUT) - out0,
	     gt_ev(PSWPIN) - in0);
	diag("MADV_FREE: %lu calls, %ld pages discarded (pglazyfreed), %lu reads found a discarded "
	     "page", frees, gt_ev(PGLAZYFREED) - lfd0, zeroed);
	diag("soak: %lu operations failed on an injected failure", excused);
	soak_report("swap_stress", writes + verifies + pins + ks.scans + ks.pageouts);
	ok(gt_ev(PSWPOUT) > out0 && gt_ev(PSWPIN) > in0,
	   "swap stress: pages went out to swap and came back under the workers");
	ok(pins > 0, "swap stress: long-term pins were taken while reclaim ran");
	ok(frees > 0 && gt_ev(PGLAZYFREED) > lfd0,
	   "swap stress: MADV_FREE ran and reclaim discarded lazyfree pages");
	is_uint(moved, 0, "swap stress: no pinned page was unmapped or replaced "
		"(shrink_folio_list, folio_try_share_anon_rmap_pte)");
	is_uint(bad, 0, "swap stress: every XXH64 checksum verifies (no lost or stale page "
		"across swap-out, swap-in, fork and pins)");
	is_uint(efault, 0, "swap stress: no CPU access failed");
	is_uint(pin_fail, 0, "swap stress: no pin failed");
	for (unsigned int i = 0; i <= NWORKERS; i++) {
		pinmm_task_exit(tasks[i]);
		tasks[i] = NULL;
	}
	si_swapinfo(&total, &free1);
	is_uint(free1, free0, "swap stress: every slot is free after the processes exit");
	gt_teardown("swap stress", tasks, NWORKERS + 1);
	return done_testing();
}
