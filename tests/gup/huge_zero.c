// SPDX-License-Identifier: MIT
/*
 * The huge zero folio and pins (Linux: mm/huge_memory.c,
 * do_huge_pmd_anonymous_page() read faults, do_huge_zero_wp_pmd(),
 * __split_huge_zero_page_pmd(), copy_huge_pmd(); mm/gup.c follow_huge_pmd()
 * and gup_must_unshare(); tools/testing/selftests/mm/cow.c "with huge
 * zeropage"). The rules held:
 *  - a read fault in a THP range maps one shared zero-filled 2 MiB folio by
 *    a read-only special PMD; every mapping and mm shares the same one;
 *  - a write (or a FOLL_FORCE write) replaces it by a zeroed THP of the
 *    mm's own; without a THP the PMD splits into small zero pages and only
 *    the written 4 KiB is copied;
 *  - cow.c 3.4: a R/O long-term pin (slow or fast) of it in a private
 *    mapping unshares first, so the pinned page is the one the process goes
 *    on writing; a R/O short-term pin pins the huge zero folio itself;
 *  - GUP-fast leaves the special PMD to the slow path; FOLL_DUMP refuses it;
 *  - mprotect never makes it writable; fork shares it; a partial
 *    MADV_DONTNEED splits it into small zero pages;
 *  - it lives while an mm uses it (or a pin holds it) and is freed after.
 */
#include "helpers.h"

#include <pinmm/fault-inject.h>

#define A	GT_BASE
#define B	(GT_BASE + 4 * PMD_SIZE)

static struct folio *hz(void)
{
	return atomic_load(&pinmm_huge_zero_folio);
}

static bool maps_huge_zero(unsigned long addr)
{
	bool leaf;
	unsigned long v = test_pt_entry(current->mm, addr, &leaf);

	return leaf && is_huge_zero_pfn(test_pt_pfn(current->mm, addr)) && !(v & _PAGE_RW);
}

static uint64_t read_word(unsigned long addr)
{
	uint64_t w = ~0ull;

	if (copy_from_user(&w, (void __user *)addr, sizeof(w)))
		bail_out("read %#lx", addr);
	return w;
}

/* A 2 MiB THP-eligible mapping at @addr, read so it maps the huge zero folio. */
static void zero_map(unsigned long addr, int prot)
{
	test_mmap_fixed(addr, PMD_SIZE, prot, MAP_PRIVATE);
	if (do_madvise(current->mm, addr, PMD_SIZE, MADV_HUGEPAGE) ||
	    do_madvise(current->mm, addr, PMD_SIZE, MADV_POPULATE_READ))
		bail_out("huge zero map at %#lx", addr);
}

static void read_and_write(void)
{
	struct task_struct *t;
	unsigned long used;
	long allocs;
	uint64_t w = 0x77;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("hz-basic");
	allocs = gt_ev(THP_ZERO_PAGE_ALLOC);
	used = pinmm_frames_in_use();
	zero_map(A, GT_RW);
	ok(maps_huge_zero(A), "a read fault maps the huge zero folio by a read-only PMD");
	ok(pmd_special(__pmd(test_pt_entry(current->mm, A, &(bool){ 0 }))),
	   "... a special PMD (vm_normal_page_pmd() has no page for it)");
	zero_map(B, PROT_READ);
	ok(maps_huge_zero(B) && test_pt_pfn(current->mm, B) == test_pt_pfn(current->mm, A),
	   "a second mapping maps the same huge zero folio");
	is_int(gt_ev(THP_ZERO_PAGE_ALLOC) - allocs, 1, "thp_zero_page_alloc: allocated once");
	/* 512 frames, plus two tables deposited and the tables of the walk */
	ok(pinmm_frames_in_use() - used < HPAGE_PMD_NR + 16, "it costs its 2 MiB once, not per mapping");
	is_int(get_mm_counter(current->mm, MM_ANONPAGES), 0, "it is nobody's anon memory (no RSS)");
	is_uint(read_word(A + 12345 * 8), 0, "it reads as zeroes");

	ok(!copy_to_user((void __user *)(A + 3 * PAGE_SIZE), &w, sizeof(w)),
	   "a write to it succeeds");
	ok(test_pmd_mapped(current->mm, A) && !maps_huge_zero(A) && gt_writable(current->mm, A) &&
	   gt_exclusive(gt_page(current->mm, A)),
	   "do_huge_zero_wp_pmd: the mm gets a THP of its own, exclusive and writable");
	ok(read_word(A + 3 * PAGE_SIZE) == 0x77 && read_word(A) == 0 &&
	   read_word(A + PMD_SIZE - 8) == 0, "... zeroed but for the write");
	ok(maps_huge_zero(B) && read_word(B + 3 * PAGE_SIZE) == 0,
	   "the other mapping still maps the huge zero folio and reads zeroes");
	is_int(get_mm_counter(current->mm, MM_ANONPAGES), HPAGE_PMD_NR, "the new THP counts");
	gt_teardown("huge zero read and write", &t, 1);
	ok(hz() == NULL, "the last mm gone, the huge zero folio is freed");
}

/* No THP for the write: split into small zero pages, copy only the one written. */
static void write_without_thp(void)
{
	struct task_struct *t;
	uint64_t w = 0x99;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("hz-nothp");
	zero_map(A, GT_RW);
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 1, 0);	/* the THP */
	ok(!copy_to_user((void __user *)(A + 5 * PAGE_SIZE), &w, sizeof(w)),
	   "with no THP to be had, the write still succeeds");
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
	ok(!test_pmd_mapped(current->mm, A) &&
	   test_pt_pfn(current->mm, A) == pinmm_zero_pfn &&
	   test_pt_pfn(current->mm, A + 5 * PAGE_SIZE) != pinmm_zero_pfn,
	   "__split_huge_zero_page_pmd: small zero pages, and one copied page");
	ok(read_word(A + 5 * PAGE_SIZE) == 0x99 && read_word(A + 6 * PAGE_SIZE) == 0,
	   "... data as written, zeroes elsewhere");
	gt_teardown("huge zero write without THP", &t, 1);
}

/* cow.c 3.4 with huge zeropage: R/O long-term pins must see later writes. */
static void ro_longterm_pin(bool fast)
{
	const char *how = fast ? "GUP-fast" : "GUP";
	struct task_struct *t;
	struct page *page;
	uint64_t w = 0xabc;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("hz-ro-pin");
	zero_map(A, GT_RW);
	is_int(gt_pin_any(fast, A + PAGE_SIZE, 1, FOLL_LONGTERM, &page), 1,
	       "[%s] a R/O long-term pin of the huge zero folio", how);
	ok(!is_huge_zero_folio(page_folio(page)) && gt_page(current->mm, A + PAGE_SIZE) == page,
	   "[%s] gup_must_unshare: it unshared first: the pinned page is the mm's own", how);
	ok(!copy_to_user((void __user *)(A + PAGE_SIZE), &w, sizeof(w)) &&
	   ((uint64_t *)page_address(page))[0] == 0xabc,
	   "[%s] a later CPU write shows through the pin (R/O long-term pin is reliable)", how);
	unpin_user_page(page);
	gt_teardown("huge zero R/O long-term pin", &t, 1);
}

static void short_pin_and_gup_fast(void)
{
	struct task_struct *t;
	struct page *page = NULL;
	bool saved;
	unsigned long warns;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("hz-short");
	zero_map(A, GT_RW);
	is_int(gt_fast_only(A, 1, FOLL_PIN, &page), 0,
	       "GUP-fast leaves a special PMD to the slow path (gup_fast_pmd_leaf)");
	is_int(gt_pin(A + 2 * PAGE_SIZE, 1, 0, &page), 1, "a R/O short-term pin");
	ok(is_huge_zero_folio(page_folio(page)) && folio_maybe_dma_pinned(page_folio(page)) &&
	   maps_huge_zero(A), "... pins the huge zero folio itself, which stays mapped");
	warns = gt_warn_begin(&saved);
	is_int(gt_get(A, 1, FOLL_DUMP, &(struct page *){ NULL }), -EFAULT,
	       "FOLL_DUMP refuses the huge zero folio (core dumps skip it)");
	gt_warn_end(saved, warns);
	/* the pin outlives the mm: the folio must wait for the unpin */
	pinmm_task_detach();
	pinmm_task_exit(t);
	rcu_barrier();
	ok(hz() == NULL && folio_ref_count(page_folio(page)) > 0,
	   "the last mm gone: unpublished, but the pin still holds the folio");
	unpin_user_page(page);
	is_uint(pinmm_frames_in_use(), 1, "the unpin frees it: only the small zero page is left");
	test_shutdown_ok("huge zero short pin");
}

static void mprotect_fork_dontneed(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	uint64_t w = 0x55;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("hz-misc");
	zero_map(A, GT_RW);
	do_mprotect(A, PMD_SIZE, PROT_READ);
	do_mprotect(A, PMD_SIZE, GT_RW);
	ok(maps_huge_zero(A), "mprotect R/O then R/W: still the huge zero folio, still read-only");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[1]);
	ok(maps_huge_zero(A), "fork: the child maps the huge zero folio too");
	ok(!copy_to_user((void __user *)A, &w, sizeof(w)) && read_word(A) == 0x55,
	   "the child writes: a THP of its own");
	pinmm_task_attach(t[0]);
	ok(maps_huge_zero(A) && read_word(A) == 0, "the parent still reads zeroes from it");
	is_int(do_madvise(current->mm, A + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED), 0,
	       "MADV_DONTNEED of one page of it");
	ok(!test_pmd_mapped(current->mm, A) && test_pt_pfn(current->mm, A) == pinmm_zero_pfn &&
	   test_pt_pfn(current->mm, A + PAGE_SIZE) == -1UL,
	   "... splits it into small zero pages and drops the one");
	is_uint(read_word(A + PAGE_SIZE), 0, "... which faults back as zeroes");
	gt_teardown("huge zero mprotect/fork/dontneed", t, 2);
}

/* copy_huge_pmd(): the child takes its own use of the huge zero folio; the parent's exit leaves it */
static void child_outlives_parent(void)
{
	struct task_struct *t[2] = { NULL, NULL };

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("hz-fork");
	zero_map(A, GT_RW);
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[1]);
	pinmm_task_exit(t[0]);
	t[0] = NULL;
	pinmm_task_attach(t[1]);
	ok(maps_huge_zero(A) && read_word(A + 5 * PAGE_SIZE) == 0 && hz() != NULL,
	   "fork: the parent gone, the child still maps the huge zero folio, published, "
	   "reading zeroes (copy_huge_pmd took the child's own use: mm_get_huge_zero_folio)");
	gt_teardown("huge zero child outlives parent", &t[1], 1);
}

static void use_zero_page_off(void)
{
	struct task_struct *t;
	bool was;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("hz-off");
	was = pinmm_thp_set_use_zero_page(false);
	zero_map(A, GT_RW);
	pinmm_thp_set_use_zero_page(was);
	ok(!test_pmd_mapped(current->mm, A) && test_pt_pfn(current->mm, A) == pinmm_zero_pfn &&
	   hz() == NULL, "use_zero_page off: reads map small zero pages, no huge zero folio");
	gt_teardown("huge zero off", &t, 1);
}

int main(void)
{
	plan_no_plan();
	read_and_write();
	write_without_thp();
	ro_longterm_pin(false);
	ro_longterm_pin(true);
	short_pin_and_gup_fast();
	mprotect_fork_dontneed();
	child_outlives_parent();
	use_zero_page_off();
	return done_testing();
}
