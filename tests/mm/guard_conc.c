// SPDX-License-Identifier: MIT
/*
 * Guard regions against faults and pins in other threads of the same mm
 * (PINMM_TEST_CONCURRENT: also under ThreadSanitizer). Linux's rules:
 *  R-GUARD-RACE  mm/madvise.c madvise_guard_install(): a fault that refills
 *                the range between the walk and the zap sends the walk round
 *                again; after MAX_MADVISE_GUARD_RETRIES rounds the call
 *                starts over with mmap_lock let go (restart_syscall()), so
 *                writers that keep faulting cannot hold it forever, and the
 *                call still ends with every entry of the range a guard.
 *  R-GUARD-PIN   a page pinned in another thread leaves the mapping under a
 *                new guard and stays the pin holder's: its data is intact
 *                until the unpin, which frees it (the teardown's frame and
 *                pin counts check that).
 * Duration: STRESS_SECONDS (default 2).
 */
#include "../gup/helpers.h"

#include <pthread.h>

#define NPAGES		64
#define NWRITERS	2

static struct mm_struct *gmm;
static atomic_bool stop;
static atomic_long failures, rounds, writes, pins;
static double seconds;

static void fail(const char *what, long v)
{
	if (atomic_fetch_add(&failures, 1) < 8)
		diag("FAIL: %s (%ld)", what, v);
}

static bool guard_at(unsigned long addr)
{
	bool leaf;
	pte_t pte = __pte(test_pt_entry(gmm, addr, &leaf));

	return !leaf && is_guard_pte_marker(pte);
}

static void *installer_fn(void *arg)
{
	double end = now_sec() + seconds;

	(void)arg;
	kthread_use_mm(gmm);
	while (now_sec() < end) {
		int r = do_madvise(gmm, GT_BASE, NPAGES * PAGE_SIZE, MADV_GUARD_INSTALL);
		unsigned long n = 0;

		if (r)
			fail("MADV_GUARD_INSTALL", r);
		/* nothing can replace a guard: a fault on one is SIGSEGV */
		for (unsigned long i = 0; i < NPAGES; i++)
			n += guard_at(GT_BASE + i * PAGE_SIZE);
		if (n != NPAGES)
			fail("guards after the install returned", (long)n);
		r = do_madvise(gmm, GT_BASE, NPAGES * PAGE_SIZE, MADV_GUARD_REMOVE);
		if (r)
			fail("MADV_GUARD_REMOVE", r);
		atomic_fetch_add(&rounds, 1);
	}
	atomic_store(&stop, true);
	kthread_unuse_mm(gmm);
	return NULL;
}

/* Writes its pages of the range, and pins them now and then, writing through the pin. */
static void *writer_fn(void *arg)
{
	uint64_t rnd = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 7;
	static __thread uint64_t buf[GT_WORDS];

	kthread_use_mm(gmm);
	while (!atomic_load(&stop)) {
		uint64_t x = test_rand(&rnd);
		/* each writer its own pages: only a guard may come between */
		unsigned long idx = (x % (NPAGES / NWRITERS)) * NWRITERS + (uintptr_t)arg - 1;
		unsigned long addr = GT_BASE + idx * PAGE_SIZE;
		struct page *page;

		if (x & 0x100) {
			if (!copy_to_user((void __user *)addr, buf, PAGE_SIZE))
				atomic_fetch_add(&writes, 1);
			continue;
		}
		if (pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_LONGTERM, &page) != 1)
			continue;	/* a guard is there now */
		atomic_fetch_add(&pins, 1);
		gt_page_write(page, addr, (x >> 32) & 0xff);
		sched_yield();	/* a guard may come meanwhile: the page stays ours */
		if (!gt_page_holds(page, addr, (x >> 32) & 0xff))
			fail("a pinned page changed under its pin", (long)addr);
		unpin_user_pages_dirty_lock(&page, 1, true);
	}
	kthread_unuse_mm(gmm);
	return NULL;
}

int main(void)
{
	pthread_t th[NWRITERS + 1];
	struct task_struct *t;

	plan_no_plan();
	seconds = stress_seconds(2);
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("guard-conc");
	gmm = t->mm;
	test_mmap_fixed(GT_BASE, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	pinmm_task_detach();
	pthread_create(&th[0], NULL, installer_fn, NULL);
	for (int i = 0; i < NWRITERS; i++)
		pthread_create(&th[i + 1], NULL, writer_fn, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < NWRITERS + 1; i++)
		pthread_join(th[i], NULL);
	pinmm_task_attach(t);
	diag("%ld install/remove rounds, %ld CPU writes and %ld pins got through",
	     atomic_load(&rounds), atomic_load(&writes), atomic_load(&pins));
	ok(atomic_load(&rounds) > 0 && atomic_load(&writes) > 0,
	   "R-GUARD-RACE: guards went in and out while writers and pinners ran");
	is_int(atomic_load(&failures), 0,
	       "R-GUARD-RACE, R-GUARD-PIN: every install ended with 64 guards; pinned pages kept "
	       "their data");
	gt_teardown("guard conc", &t, 1);
	return done_testing();
}
