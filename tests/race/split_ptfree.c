// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * THP splitting and page-table freeing against GUP-fast, each race held open
 * with race points (include/pinmm/race.h, docs/race-points.md); each case
 * fails when the check it is about is removed:
 *  - split_huge_pmd vs GUP-fast (Linux mm/gup.c gup_fast_pmd_leaf(): the
 *    PMD re-read after the grab): between the grab of a PMD-mapped THP and
 *    the re-check, mprotect() splits the PMD (__split_huge_pmd_locked()) and
 *    makes one of its pages read-only; the re-check must see the PMD changed
 *    and back off, or a write pin holds a page the process can only read;
 *  - split_folio's refcount freeze vs a concurrent pin (mm/huge_memory.c
 *    __folio_split(): folio_ref_freeze() against the speculative grab of
 *    try_grab_folio_fast()): GUP-fast read the PMD before the splitter
 *    unmapped the folio and grabs after split_folio() saw no pin but before
 *    it froze the refcount; the freeze must fail (-EAGAIN, the folio stays
 *    whole), or the split tears a folio that is being pinned and the
 *    refcounts go wrong;
 *  - munmap freeing a PTE table while GUP-fast walks it (mm/mmap_lock.c and
 *    mm/pgtable-generic.c: page tables are freed after an RCU grace period,
 *    tlb_remove_table() / pte_free_defer(); GUP-fast walks inside
 *    rcu_read_lock() in place of Linux's disabled interrupts): the table
 *    must still be a page table, not a free frame, until the walker leaves
 *    its read-side section.
 */
#include "steps.h"

#include <pinmm/pagemap.h>

#include <stdio.h>

#define H	(GT_BASE + PMD_SIZE)		/* a 2 MiB aligned THP */
#define A	(GT_BASE + 3 * PAGE_SIZE)

static struct task_struct *proc;

static void setup(const char *comm)
{
	test_boot(64, 0, 0);
	proc = test_process(comm);
	pthread_mutex_lock(&st.lock);
	st.step = 0;
	st.timed_out = false;
	pthread_mutex_unlock(&st.lock);
}

/* ---- split_huge_pmd vs GUP-fast: the PMD re-check after the grab ------------------- */

#define SPLIT_AT	(H + 5 * PAGE_SIZE)

static void count_hit(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	(void)addr;
	atomic_fetch_add(&hits[point], 1);
}

static void *protector(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	if (do_mprotect(SPLIT_AT, PAGE_SIZE, PROT_READ))
		diag("split_pmd: mprotect failed");
	pinmm_task_detach();
	return NULL;
}

/* After the grab, before the re-check: mprotect splits the PMD and write-protects a page. */
static void split_in_window(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, SPLIT_AT)) {
		run_beside(protector);
		step_set(1);
	}
}

static void split_pmd_vs_recheck(void)
{
	struct page *page = GT_POISON;
	long n;

	setup("split_pmd");
	if (!gt_thp(H)) {
		skip(5, "no PMD-mapped THP");
		gt_teardown("split_pmd", &proc, 1);
		return;
	}
	arm(PINMM_RACE_THP_SPLIT_PMD, count_hit);
	arm(PINMM_RACE_GUP_FAST_GRABBED, split_in_window);
	n = gt_fast_only(SPLIT_AT, 1, FOLL_PIN | FOLL_WRITE, &page);
	disarm_all();
	ok(st.step == 1 && atomic_load(&hits[PINMM_RACE_THP_SPLIT_PMD]) == 1,
	   "split_pmd: split_huge_pmd ran between GUP-fast's grab of the THP and its re-check");
	ok(!test_pmd_mapped(proc->mm, H) && !gt_writable(proc->mm, SPLIT_AT),
	   "split_pmd: the THP is PTE-mapped now and the page read-only");
	is_int(n, 0, "split_pmd: gup_fast_pmd_leaf() saw the PMD change and backed off");
	ok(n != 1 || gt_writable(proc->mm, SPLIT_AT),
	   "split_pmd: no write pin on a page the process can only read");
	if (n == 1)
		unpin_user_page(page);
	n = pin_user_pages_fast(SPLIT_AT, 1, FOLL_WRITE, &page);
	is_int(n, -EFAULT, "split_pmd: the slow path then refuses the write pin (-EFAULT, the "
	       "mapping is read-only)");
	if (n == 1)
		unpin_user_page(page);
	gt_teardown("split_pmd", &proc, 1);
}

/* ---- split_folio's refcount freeze vs a pin that read the entry before the unmap ------- */

static struct folio *thp;
static int split_ret;
static bool split_left_large;

static void *splitter(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	folio_get(thp);		/* the splitter's reference: the only one once unmapped */
	do_madvise(proc->mm, H, PMD_SIZE, MADV_DONTNEED);
	folio_lock(thp);
	split_ret = split_folio(thp);
	split_left_large = folio_test_large(thp);
	folio_unlock(thp);
	folio_put(thp);
	pinmm_task_detach();
	step_set(100);
	return NULL;
}

static pthread_t split_th;

/* GUP-fast read the PMD: start the splitter, and grab once split_folio() saw no pin. */
static void freeze_read(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, SPLIT_AT)) {
		pthread_create(&split_th, NULL, splitter, NULL);
		step_wait(1);
	}
}

/* Grabbed: let the split go on to its freeze, and finish, before the re-check. */
static void freeze_grabbed(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, SPLIT_AT)) {
		step_set(2);
		step_wait(100);
	}
}

static void freeze_split_point(enum pinmm_race point, unsigned long pfn, void *arg)
{
	(void)arg;
	if (first_at(point, pfn, folio_pfn(thp))) {
		step_set(1);		/* unmapped, no pin seen: GUP-fast grabs now */
		step_wait(2);
	}
}

static void split_folio_vs_pin(void)
{
	struct page *page = GT_POISON;
	unsigned long warns;
	long n;

	setup("split_folio");
	if (!gt_thp(H)) {
		skip(5, "no PMD-mapped THP");
		gt_teardown("split_folio", &proc, 1);
		return;
	}
	thp = page_folio(gt_page(proc->mm, H));
	split_ret = 1;
	warns = pinmm_warn_count();
	arm(PINMM_RACE_GUP_FAST_READ, freeze_read);
	arm(PINMM_RACE_GUP_FAST_GRABBED, freeze_grabbed);
	arm(PINMM_RACE_THP_SPLIT_FOLIO, freeze_split_point);
	n = gt_fast_only(SPLIT_AT, 1, FOLL_PIN | FOLL_WRITE, &page);
	step_set(100);
	pthread_join(split_th, NULL);
	disarm_all();
	ok(!st.timed_out && atomic_load(&hits[PINMM_RACE_THP_SPLIT_FOLIO]) == 1 &&
	   atomic_load(&hits[PINMM_RACE_GUP_FAST_GRABBED]) == 1,
	   "split_folio: GUP-fast grabbed the THP after split_folio() saw it unpinned and before "
	   "it froze the refcount");
	is_int(split_ret, -EAGAIN, "split_folio: the refcount freeze failed on the grab: -EAGAIN");
	ok(split_left_large, "split_folio: the folio stayed whole");
	is_int(n, 0, "split_folio: GUP-fast then saw the PMD gone and backed off");
	is_uint(pinmm_warn_count() - warns, 0, "split_folio: no WARN (no refcount went wrong)");
	if (n == 1)
		unpin_user_page(page);
	gt_teardown("split_folio", &proc, 1);
}

/* ---- munmap frees a PTE table while GUP-fast walks it ------------------------------- */

static unsigned long table_pfn, freed_pfn;
static bool table_alive_in_walk;

static void *unmapper(void *arg)
{
	(void)arg;
	pinmm_task_attach(proc);
	vm_munmap(GT_BASE, 16 * PAGE_SIZE);
	pinmm_task_detach();
	return NULL;
}

static void note_free(enum pinmm_race point, unsigned long pfn, void *arg)
{
	(void)arg;
	if (pfn == table_pfn)
		atomic_fetch_add(&hits[point], 1);
	freed_pfn = pfn;
}

/* A free frame: no reference, on the free lists (or a CPU's list). */
static bool frame_is_free(unsigned long pfn)
{
	struct page *p = pfn_to_page(pfn);

	return page_ref_count(p) == 0 && !PageTable(p);
}

/* The walk read the PTE (inside rcu_read_lock()): munmap everything, tables too. */
static void unmap_in_walk(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, A)) {
		run_beside(unmapper);
		table_alive_in_walk = !frame_is_free(table_pfn);
		step_set(1);
	}
}

static void ptfree_vs_walk(void)
{
	struct page *page = GT_POISON;
	pmd_t *pmd;
	long n;

	setup("pt_free");
	test_mmap_fixed(GT_BASE, 16 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(GT_BASE, 16, 3);
	pmd = mm_find_pmd(proc->mm, A);
	if (!pmd || !pmd_is_table(pmdp_get(pmd)))
		bail_out("pt_free: no PTE table");
	table_pfn = pmd_pfn(pmdp_get(pmd));
	table_alive_in_walk = false;
	arm(PINMM_RACE_PT_FREE, note_free);
	arm(PINMM_RACE_GUP_FAST_READ, unmap_in_walk);
	n = gt_fast_only(A, 1, FOLL_PIN | FOLL_WRITE, &page);
	disarm_all();
	ok(st.step == 1 && atomic_load(&hits[PINMM_RACE_PT_FREE]) == 1,
	   "pt_free: munmap unlinked and freed the PTE table while GUP-fast was walking it");
	ok(table_alive_in_walk, "pt_free: the table's frame is not free while the walker is "
	   "inside rcu_read_lock() (freed after a grace period, as tlb_remove_table())");
	is_int(n, 0, "pt_free: GUP-fast saw the PMD change (re-check) and backed off");
	if (n == 1)
		unpin_user_page(page);
	rcu_barrier();
	ok(frame_is_free(table_pfn), "pt_free: after the grace period the table's frame is free");
	gt_teardown("pt_free", &proc, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	split_pmd_vs_recheck();
	split_folio_vs_pin();
	ptfree_vs_walk();
	return done_testing();
}
