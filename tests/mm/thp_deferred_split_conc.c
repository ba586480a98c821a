// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * The deferred-split queue under concurrency (Linux mm/huge_memory.c
 * deferred_split_folio(), deferred_split_scan(), folio_unqueue_deferred_split()).
 * An unmapper maps THPs, writes every page, drops a random part of each
 * (MADV_DONTNEED: the folio goes on the queue), checks that the pages it
 * kept still hold what it wrote, and unmaps the rest (the folio, split or
 * not, is freed and leaves the queue); a scanner runs the shrinker in a loop
 * (splits that free the dropped pages); a pinner pins and unpins random pages
 * with pin_user_pages_fast() (a pinned folio is not split: it goes back on
 * the queue). The rules checked: the kept pages keep their data whatever the
 * scan does to their folio; a folio leaves the queue when it is split or
 * freed (after the threads stop, one scan leaves the queue empty and
 * teardown finds every frame back); TSan sees no race on the queue, the flag
 * or the folio's link. STRESS_SECONDS long (1 in make check).
 */
#include "../gup/helpers.h"

#include <pinmm/pagemap.h>

#include <pthread.h>

#define NTHP	4
#define NPAGES	(NTHP * HPAGE_PMD_NR)

static struct mm_struct *pmm;
static atomic_bool stop;
static atomic_long failures, cycles, scans, splits, pins;
static double seconds;

static void fail(const char *what, unsigned long v)
{
	if (atomic_fetch_add(&failures, 1) < 8)
		diag("FAIL: %s (%#lx)", what, v);
}

static unsigned long addr_of(unsigned long i)
{
	return GT_BASE + i * PAGE_SIZE;
}

static uint64_t tag_of(unsigned long i, unsigned long cycle)
{
	return (cycle << 20) ^ (i * 0x9e3779b97f4a7c15ULL);
}

static void *unmapper_fn(void *arg)
{
	double end = now_sec() + seconds;
	uint64_t rnd = 0x51ed;
	unsigned long cycle = 0;

	(void)arg;
	kthread_use_mm(pmm);
	while (now_sec() < end) {
		unsigned long t = cycle % NTHP, base = t * HPAGE_PMD_NR;
		unsigned long lo = 1 + test_rand(&rnd) % (HPAGE_PMD_NR - 2);
		unsigned long hi = lo + 1 + test_rand(&rnd) % (HPAGE_PMD_NR - 1 - lo);

		cycle++;
		if (vm_mmap(NULL, addr_of(base), PMD_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0) != addr_of(base) ||
		    do_madvise(pmm, addr_of(base), PMD_SIZE, MADV_HUGEPAGE)) {
			fail("map", addr_of(base));
			break;
		}
		for (unsigned long i = base; i < base + HPAGE_PMD_NR; i++) {
			uint64_t v = tag_of(i, cycle);

			if (copy_to_user((void __user *)addr_of(i), &v, sizeof(v)))
				fail("write", addr_of(i));
		}
		/* pages [lo, hi) go: the folio is partly mapped, queued */
		if (do_madvise(pmm, addr_of(base + lo), (hi - lo) * PAGE_SIZE, MADV_DONTNEED))
			fail("MADV_DONTNEED", addr_of(base + lo));
		for (int round = 0; round < 3; round++) {
			sched_yield();
			for (unsigned long i = base; i < base + HPAGE_PMD_NR; i++) {
				uint64_t v = 0;

				if (i >= base + lo && i < base + hi)
					continue;
				if (copy_from_user(&v, (const void __user *)addr_of(i), sizeof(v)) ||
				    v != tag_of(i, cycle))
					fail("a kept page lost its data", addr_of(i));
			}
		}
		vm_munmap(addr_of(base), PMD_SIZE);
		atomic_fetch_add(&cycles, 1);
	}
	atomic_store(&stop, true);
	kthread_unuse_mm(pmm);
	return NULL;
}

static void *scanner_fn(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&splits, (long)deferred_split_scan(0));
		atomic_fetch_add(&scans, 1);
		sched_yield();
	}
	return NULL;
}

static void *pinner_fn(void *arg)
{
	uint64_t rnd = 0x9e37;

	(void)arg;
	kthread_use_mm(pmm);
	while (!atomic_load(&stop)) {
		unsigned long i = test_rand(&rnd) % NPAGES;
		struct page *page;

		/* the page may be dropped or unmapped right now: then there is no pin */
		if (pin_user_pages_fast(addr_of(i), 1, FOLL_WRITE, &page) != 1)
			continue;
		atomic_fetch_add(&pins, 1);
		for (int k = 0; k < 16; k++)
			sched_yield();
		unpin_user_page(page);
	}
	kthread_unuse_mm(pmm);
	return NULL;
}

int main(void)
{
	struct task_struct *t[1];
	pthread_t th[3];

	plan_no_plan();
	seconds = stress_seconds(1);
	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("ds-conc");
	pmm = t[0]->mm;
	if (!gt_thp(GT_BASE)) {
		skip(3, "no THP");
		gt_teardown("ds-conc", t, 1);
		return done_testing();
	}
	vm_munmap(GT_BASE, PMD_SIZE);
	pinmm_task_detach();
	pthread_create(&th[0], NULL, unmapper_fn, NULL);
	pthread_create(&th[1], NULL, scanner_fn, NULL);
	pthread_create(&th[2], NULL, pinner_fn, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	pinmm_task_attach(t[0]);
	is_int(atomic_load(&failures), 0,
	       "R-DS-CONC: kept pages kept their data through %ld cycles, %ld scans (%ld splits), "
	       "%ld pins", atomic_load(&cycles), atomic_load(&scans), atomic_load(&splits),
	       atomic_load(&pins));
	ok(atomic_load(&cycles) > 0 && atomic_load(&scans) > 0, "R-DS-CONC: the threads ran");
	deferred_split_scan(0);
	is_uint(deferred_split_count(), 0,
		"R-DS-CONC: every folio left the queue (split or freed) once nothing is pinned");
	gt_teardown("ds-conc", t, 1);
	return done_testing();
}
