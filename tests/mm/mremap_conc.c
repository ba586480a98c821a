// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * mremap racing GUP-fast (Linux: mm/mremap.c move_ptes() clears each old
 * entry before it sets the new one, under both PTE locks; GUP-fast re-reads
 * the entry after grabbing the folio and backs off if it changed). One thread
 * moves a PMD-mapped THP and a run of small pages back and forth between two
 * places (whole, or only the THP's second half, splitting it), while pinner
 * threads pin at either place with pin_user_pages_fast(). The rule checked on
 * every page a pinner gets: it is the very frame that held that index before
 * any move (a move never copies, never maps a fresh page), and it still holds
 * the data written there at the start. At the end every pin is released and
 * nothing leaked. STRESS_SECONDS long (2 in make check); TSan in make check.
 */
#include "../gup/helpers.h"

#include <pthread.h>

#define NPINNERS	2
#define SMALL_PAGES	16
#define PLACE(i)	(GT_BASE + (unsigned long)(i) * 8 * PMD_SIZE)	/* 0, 1: THP; 2, 3: small */

static struct mm_struct *pmm;
static unsigned long thp_pfn[HPAGE_PMD_NR], small_pfn[SMALL_PAGES];
static atomic_bool stop;
static atomic_long failures, pinned, moves;
static double seconds;

static void fail(const char *what, unsigned long v)
{
	if (atomic_fetch_add(&failures, 1) < 8)
		diag("FAIL: %s (%#lx)", what, v);
}

static long mv(unsigned long from, unsigned long len, unsigned long to)
{
	return (long)vm_mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
}

static void *mover_fn(void *arg)
{
	double end = now_sec() + seconds;
	unsigned long thp = 0, small = 2, half = PMD_SIZE / 2;
	uint64_t rnd = 0x5eed;

	(void)arg;
	kthread_use_mm(pmm);
	while (now_sec() < end) {
		uint64_t x = test_rand(&rnd);

		if (x & 1) {
			/* sometimes the second half first: the PMD splits, PTEs move */
			if ((x & 6) == 0 && mv(PLACE(thp) + half, half, PLACE(thp ^ 1) + half) < 0)
				fail("half THP move", PLACE(thp));
			else if (mv(PLACE(thp), (x & 6) == 0 ? half : PMD_SIZE, PLACE(thp ^ 1)) < 0)
				fail("THP move", PLACE(thp));
			thp ^= 1;
		} else {
			if (mv(PLACE(small), SMALL_PAGES * PAGE_SIZE, PLACE(small ^ 1)) < 0)
				fail("small move", PLACE(small));
			small ^= 1;
		}
		atomic_fetch_add(&moves, 1);
		sched_yield();
	}
	atomic_store(&stop, true);
	kthread_unuse_mm(pmm);
	return NULL;
}

static void *pinner_fn(void *arg)
{
	static __thread struct page *pages[HPAGE_PMD_NR];
	uint64_t rnd = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;

	kthread_use_mm(pmm);
	while (!atomic_load(&stop)) {
		uint64_t x = test_rand(&rnd);
		int place = (int)(x & 3);
		bool thp = place < 2;
		unsigned long max = thp ? HPAGE_PMD_NR : SMALL_PAGES;
		unsigned long first = (x >> 8) % max, n = 1 + (x >> 24) % (max - first);
		unsigned long addr = PLACE(place) + first * PAGE_SIZE;
		const unsigned long *pfn = thp ? thp_pfn : small_pfn;
		long r = pin_user_pages_fast(addr, (int)n, (x & 4) ? FOLL_WRITE : 0, pages);

		if (r <= 0)
			continue;	/* the mapping is elsewhere right now */
		atomic_fetch_add(&pinned, r);
		for (long i = 0; i < r; i++) {
			unsigned long idx = first + (unsigned long)i;
			unsigned long was = (thp ? PLACE(0) : PLACE(2)) + idx * PAGE_SIZE;

			if (page_to_pfn(pages[i]) != pfn[idx])
				fail("a pin got another frame than the index's own", addr);
			else if (!gt_page_holds(pages[i], was, 1))
				fail("a pinned page lost its data", addr);
		}
		unpin_user_pages(pages, (unsigned long)r);
	}
	kthread_unuse_mm(pmm);
	return NULL;
}

int main(void)
{
	pthread_t th[NPINNERS + 1];
	struct task_struct *t;

	plan_no_plan();
	seconds = stress_seconds(2);
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-conc");
	pmm = t->mm;
	if (!gt_thp(PLACE(0))) {
		skip(3, "no THP");
		gt_teardown("mremap conc", &t, 1);
		return done_testing();
	}
	test_mmap_fixed(PLACE(2), SMALL_PAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(PLACE(0), HPAGE_PMD_NR, 1);
	gt_fill(PLACE(2), SMALL_PAGES, 1);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		thp_pfn[i] = test_pt_pfn(pmm, PLACE(0) + i * PAGE_SIZE);
	for (unsigned long i = 0; i < SMALL_PAGES; i++)
		small_pfn[i] = test_pt_pfn(pmm, PLACE(2) + i * PAGE_SIZE);
	pinmm_task_detach();

	pthread_create(&th[0], NULL, mover_fn, NULL);
	for (int i = 0; i < NPINNERS; i++)
		pthread_create(&th[i + 1], NULL, pinner_fn, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < NPINNERS + 1; i++)
		pthread_join(th[i], NULL);

	pinmm_task_attach(t);
	is_int(atomic_load(&failures), 0, "mremap vs GUP-fast: every page pinned mid-move was the "
	       "index's own frame with its data (moves carry entries, never copy)");
	ok(atomic_load(&moves) > 0 && atomic_load(&pinned) > 0,
	   "the threads ran (%ld moves, %ld pages pinned)", atomic_load(&moves),
	   atomic_load(&pinned));
	gt_teardown("mremap conc", &t, 1);
	return done_testing();
}
