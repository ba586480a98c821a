// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * The split of a mapped THP racing pins and CPU access (Linux:
 * mm/huge_memory.c __folio_split(): can_split_folio(), the mappings frozen
 * into migration entries, folio_ref_freeze(); a GUP-fast pin taken between
 * the checks is seen by folio_try_share_anon_rmap_pmd/pte() or by the
 * freeze, and the split backs off with -EAGAIN). One thread splits the THPs
 * of a range and collapses them again (MADV_COLLAPSE) in a loop; a pinner
 * pins random pages with pin_user_pages_fast(FOLL_WRITE) and writes word 1
 * of each through the pin; a writer writes word 0 of random pages through
 * the CPU (faulting on the migration entries, waiting for the split). Three
 * THPs of four are PTE-mapped first (their PMD split by an mprotect() of one
 * page), so GUP-fast also meets a large folio's PTEs while it is split:
 * it must re-check page_folio() of the PTE's page after its grab, as
 * Linux's try_grab_folio_fast() does (gup_fast_pin_small() once took
 * &folio->page and pinned the head for a tail's address). The
 * rules checked: a split returns 0 (every page of the folio now its own
 * folio) or -EAGAIN (the folio whole); a pinned page is the page the process
 * maps (a split never moves a frame, a collapse never copies a pinned page),
 * so what the pinner wrote through it reads back through the CPU; no write
 * is lost; nothing leaks. STRESS_SECONDS long (2 in make check); TSan in
 * make check.
 */
#include "../gup/helpers.h"

#include <pinmm/pagemap.h>

#include <pthread.h>

#define NTHP	4
#define NPAGES	(NTHP * HPAGE_PMD_NR)

static struct mm_struct *pmm;
static atomic_bool stop;
static atomic_long failures, pinned, writes, splits, refused, collapses;
static double seconds;
/* the last value each thread wrote to word 0 (writer) and word 1 (pinner) of each page */
static uint64_t word0[NPAGES], word1[NPAGES];

static void fail(const char *what, unsigned long v)
{
	if (atomic_fetch_add(&failures, 1) < 8)
		diag("FAIL: %s (%#lx)", what, v);
}

static unsigned long addr_of(unsigned long i)
{
	return GT_BASE + i * PAGE_SIZE;
}

/* Split every THP of the range once (retrying -EAGAIN a little), then collapse them back. */
static void *splitter_fn(void *arg)
{
	double end = now_sec() + seconds;

	(void)arg;
	kthread_use_mm(pmm);
	while (now_sec() < end) {
		for (unsigned long t = 0; t < NTHP; t++) {
			unsigned long pfn = test_pt_pfn(pmm, addr_of(t * HPAGE_PMD_NR));
			struct folio *folio;
			int ret;

			if (pfn == -1UL)
				continue;
			folio = page_folio(pfn_to_page(pfn));
			if (!folio_test_large(folio) || !folio_try_get(folio))
				continue;
			if (page_folio(pfn_to_page(pfn)) != folio || !folio_test_large(folio)) {
				folio_put(folio);
				continue;
			}
			/*
			 * Three THPs of four have their PMD split first (mprotect of
			 * one page): GUP-fast then walks the large folio's PTEs
			 * while it is split, where the page_folio() re-check matters.
			 */
			if (t & 3) {
				unsigned long a = addr_of(t * HPAGE_PMD_NR + 1);

				do_mprotect(a, PAGE_SIZE, PROT_READ);
				do_mprotect(a, PAGE_SIZE, PROT_READ | PROT_WRITE);
			}
			folio_lock(folio);
			ret = split_folio(folio);
			if (ret == 0) {
				atomic_fetch_add(&splits, 1);
				if (folio_test_large(folio) ||
				    page_folio(pfn_to_page(pfn + HPAGE_PMD_NR - 1)) ==
				    page_folio(pfn_to_page(pfn)))
					fail("a split left a large folio", pfn);
			} else if (ret == -EAGAIN) {
				atomic_fetch_add(&refused, 1);
				if (!folio_test_large(folio))
					fail("-EAGAIN, but the folio was split", pfn);
			} else {
				fail("split_folio: neither 0 nor -EAGAIN", (unsigned long)-ret);
			}
			folio_unlock(folio);
			folio_put(folio);
		}
		/* a pinned page keeps its range small: -EAGAIN is fine here */
		if (do_madvise(pmm, GT_BASE, NTHP * PMD_SIZE, MADV_COLLAPSE) == 0)
			atomic_fetch_add(&collapses, 1);
		sched_yield();
	}
	atomic_store(&stop, true);
	kthread_unuse_mm(pmm);
	return NULL;
}

static void *pinner_fn(void *arg)
{
	uint64_t rnd = 0x9e3779b97f4a7c15ULL, v = 1;

	(void)arg;
	kthread_use_mm(pmm);
	while (!atomic_load(&stop)) {
		unsigned long i = test_rand(&rnd) % NPAGES;
		struct page *page;
		uint64_t *w, back;

		if (pin_user_pages_fast(addr_of(i), 1, FOLL_WRITE, &page) != 1) {
			/* page 1 of each THP is read-only for a moment (the mprotect) */
			if (i % HPAGE_PMD_NR != 1)
				fail("pin_user_pages_fast failed", addr_of(i));
			continue;
		}
		atomic_fetch_add(&pinned, 1);
		w = (uint64_t *)page_address(page) + 1;
		if (__atomic_load_n(w, __ATOMIC_RELAXED) != word1[i])
			fail("the pinned page lost what was written through an earlier pin", addr_of(i));
		/* the device's write, then the process's read: the same frame */
		__atomic_store_n(w, ++v, __ATOMIC_RELAXED);
		word1[i] = v;
		if (copy_from_user(&back, (const void __user *)(addr_of(i) + 8), 8) || back != v)
			fail("the process does not read what was written through its pin", addr_of(i));
		unpin_user_page(page);
	}
	kthread_unuse_mm(pmm);
	return NULL;
}

static void *writer_fn(void *arg)
{
	uint64_t rnd = 0x5eed, v = 1;

	(void)arg;
	kthread_use_mm(pmm);
	while (!atomic_load(&stop)) {
		unsigned long i = test_rand(&rnd) % NPAGES;
		uint64_t back;

		if (copy_from_user(&back, (const void __user *)addr_of(i), 8) || back != word0[i])
			fail("a CPU write was lost", addr_of(i));
		++v;
		if (copy_to_user((void __user *)addr_of(i), &v, 8)) {
			if (i % HPAGE_PMD_NR != 1)
				fail("copy_to_user failed", addr_of(i));
			continue;
		}
		word0[i] = v;
		atomic_fetch_add(&writes, 1);
	}
	kthread_unuse_mm(pmm);
	return NULL;
}

int main(void)
{
	pthread_t th[3];
	struct task_struct *t;
	bool thps = true;

	plan_no_plan();
	seconds = stress_seconds(2);
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("split-conc");
	pmm = t->mm;
	for (unsigned long i = 0; i < NTHP; i++)
		thps &= gt_thp(GT_BASE + i * PMD_SIZE);
	if (!thps) {
		skip(2, "no THP");
		gt_teardown("split conc", &t, 1);
		return done_testing();
	}
	/* zero words 0 and 1 everywhere: what the threads expect before their first write */
	for (unsigned long i = 0; i < NPAGES; i++)
		if (clear_user((void __user *)addr_of(i), 16))
			bail_out("clear_user");
	pinmm_task_detach();

	pthread_create(&th[0], NULL, splitter_fn, NULL);
	pthread_create(&th[1], NULL, pinner_fn, NULL);
	pthread_create(&th[2], NULL, writer_fn, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);

	pinmm_task_attach(t);
	is_int(atomic_load(&failures), 0, "split vs pins and faults: every split was 0 (all small) "
	       "or -EAGAIN (whole); every pinned page was the mapped one; no write lost");
	ok(atomic_load(&splits) + atomic_load(&refused) > 0 && atomic_load(&pinned) > 0 &&
	   atomic_load(&writes) > 0,
	   "the threads ran (%ld splits, %ld refused, %ld collapses, %ld pins, %ld writes)",
	   atomic_load(&splits), atomic_load(&refused), atomic_load(&collapses),
	   atomic_load(&pinned), atomic_load(&writes));
	gt_teardown("split conc", &t, 1);
	return done_testing();
}
