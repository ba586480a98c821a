// SPDX-License-Identifier: MIT
/*
 * Soft-dirty tracking and pins (Linux: fs/proc/task_mmu.c clear_refs_write(),
 * clear_soft_dirty(), pte_is_pinned(), clear_soft_dirty_pmd(),
 * pte_to_pagemap_entry(); mm/gup.c can_follow_write_pte/pmd();
 * mm/mprotect.c can_change_pte_writable(); mm/mremap.c move_soft_dirty_pte()):
 *  - R-SD-CLEAR: writing 4 to clear_refs write-protects every PTE and clears
 *    its soft-dirty bit (pagemap bit 55), and VM_SOFTDIRTY of every VMA;
 *  - R-SD-PINNED: a writable PTE of a maybe-pinned page in a COW mapping of
 *    an MMF_HAS_PINNED mm is left alone: writable and soft-dirty; without
 *    any one of those gates (a shared mapping, an mm that never pinned but
 *    holds 1024 GET references) the page is write-protected like any other;
 *  - R-SD-PMD: a PMD-mapped THP is write-protected pinned or not (Linux has
 *    no pinned check there); the next write reuses the exclusive THP, so the
 *    pin stays coherent;
 *  - R-SD-FAULT: the next write faults, reuses the exclusive page and sets
 *    soft-dirty again;
 *  - R-SD-FORCE: a FOLL_FORCE write may not follow a clean entry under
 *    soft-dirty tracking: it faults, which marks it soft-dirty;
 *  - R-SD-MPROTECT: mprotect does not make a clean entry writable;
 *  - R-SD-MREMAP: moved entries are soft-dirty;
 *  - R-SD-SWAP: swap-out keeps the bit on the swap entry, swap-in puts it
 *    back, and a clean page swapped in by a write fault still faults once
 *    more to be marked (try_to_unmap_one, do_swap_page's
 *    pte_needs_soft_dirty_wp()).
 */
#include "../gup/helpers.h"

#include <pinmm/swap.h>
#include <pinmm/uaccess.h>
#include <pinmm/task_mmu.h>

#define A	GT_BASE
#define B	(GT_BASE + 64 * PMD_SIZE)

static uint64_t pm(unsigned long addr)
{
	uint64_t e = 0;

	if (pinmm_pagemap_read(current->mm, addr, 1, &e))
		bail_out("pagemap_read(%#lx)", addr);
	return e;
}

static bool sd(unsigned long addr)
{
	return pm(addr) & PM_SOFT_DIRTY;
}

static unsigned long vma_lookup_start(unsigned long addr)
{
	struct vm_area_struct *vma;
	unsigned long start;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	start = vma ? vma->vm_start : 0;
	mmap_read_unlock(current->mm);
	return start;
}

static void write_byte(unsigned long addr, char c)
{
	if (put_user(c, (char __user *)addr))
		bail_out("put_user(%#lx)", addr);
}

static void pinned_pte_stays_writable(void)
{
	struct task_struct *t;
	struct page *pin[1], *p0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("sd-pte");
	test_mmap_fixed(A, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 4, 1);
	p0 = gt_page(current->mm, A);
	ok(sd(A) && sd(A + 3 * PAGE_SIZE), "a fresh written page reads soft-dirty (pagemap bit 55)");
	is_int(gt_pin(A + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, pin), 1,
	       "pin page 1 R/W long-term (the mm becomes MMF_HAS_PINNED)");
	is_int(pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY), 0, "clear_refs 4");
	ok(!sd(A) && !gt_writable(current->mm, A) && !sd(A + 2 * PAGE_SIZE) &&
	   !gt_writable(current->mm, A + 2 * PAGE_SIZE),
	   "R-SD-CLEAR: unpinned pages are write-protected and soft-dirty clean");
	ok(gt_writable(current->mm, A + PAGE_SIZE) && sd(A + PAGE_SIZE),
	   "R-SD-PINNED: the pinned page stays writable and soft-dirty (pte_is_pinned)");
	write_byte(A, 'w');
	ok(sd(A) && gt_writable(current->mm, A) && gt_page(current->mm, A) == p0,
	   "R-SD-FAULT: a write faults, reuses the same page, sets soft-dirty again");
	ok(!sd(A + 2 * PAGE_SIZE), "R-SD-FAULT: an unwritten page stays clean");
	gt_page_write(pin[0], A + PAGE_SIZE, 2);
	is_uint(gt_check(A + PAGE_SIZE, 1, 2), 0, "the device's write through the pin is seen by the CPU");
	gt_fill(A + PAGE_SIZE, 1, 3);
	ok(gt_page(current->mm, A + PAGE_SIZE) == pin[0] && gt_page_holds(pin[0], A + PAGE_SIZE, 3),
	   "the CPU's write lands in the pinned page (no COW)");
	unpin_user_pages(pin, 1);
	is_int(pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY), 0, "clear_refs 4 after unpin");
	ok(!gt_writable(current->mm, A + PAGE_SIZE) && !sd(A + PAGE_SIZE),
	   "R-SD-CLEAR: unpinned, the page is write-protected like any other");
	is_int(pinmm_clear_refs(current->mm, 0), -EINVAL, "clear_refs 0: -EINVAL");
	is_int(pinmm_clear_refs(current->mm, CLEAR_REFS_LAST), -EINVAL, "clear_refs 6: -EINVAL");
	gt_teardown("sd pte", &t, 1);
}

/*
 * pte_is_pinned() asks the folio only behind its gates: a shared mapping's
 * write fault makes the same page writable again (no COW can separate it
 * from the device), and an mm that never pinned has no pin to protect, even
 * when 1024 GET references make folio_maybe_dma_pinned() say yes.
 */
static void pinned_gates(void)
{
	static struct page *refs[GUP_PIN_COUNTING_BIAS];
	struct task_struct *t[2];
	struct page *pin[1];

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("sd-shared");
	test_mmap_fixed(A, 2 * PAGE_SIZE, GT_RW, MAP_SHARED);
	gt_fill(A, 2, 4);
	is_int(gt_pin(A, 1, FOLL_WRITE | FOLL_LONGTERM, pin), 1,
	       "pin a page of a shared mapping R/W long-term");
	is_int(pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY), 0, "clear_refs 4");
	ok(!gt_writable(current->mm, A) && !sd(A),
	   "R-SD-PINNED: in a shared mapping the pinned page is write-protected and clean "
	   "(pte_is_pinned asks only in COW mappings)");
	write_byte(A, 'w');
	ok(gt_page(current->mm, A) == pin[0] && sd(A) && gt_writable(current->mm, A),
	   "R-SD-FAULT: the shared write fault reuses the pinned page and marks it");
	unpin_user_pages(pin, 1);

	t[1] = test_process("sd-gets");
	test_mmap_fixed(A, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 1, 5);
	for (unsigned int i = 0; i < GUP_PIN_COUNTING_BIAS; i++)
		if (get_user_pages_fast(A, 1, FOLL_WRITE, &refs[i]) != 1)
			bail_out("get %u", i);
	ok(folio_maybe_dma_pinned(page_folio(refs[0])) && !gt_has_pinned(current->mm),
	   "setup: 1024 GETs make the page look pinned in an mm that never pinned");
	pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY);
	ok(!gt_writable(current->mm, A) && !sd(A),
	   "R-SD-PINNED: without MMF_HAS_PINNED the page is write-protected and clean "
	   "(pte_is_pinned asks the folio only in an mm that has pinned)");
	gt_put_pages(refs, GUP_PIN_COUNTING_BIAS);
	gt_teardown("sd gates", t, 2);
}

static void vma_softdirty(void)
{
	struct task_struct *t;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("sd-vma");
	test_mmap_fixed(A, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(sd(A), "a hole of a new VMA reads soft-dirty (VM_SOFTDIRTY)");
	pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY);
	ok(!sd(A), "after clear_refs the hole reads clean (VM_SOFTDIRTY cleared)");
	test_mmap_fixed(A + 2 * PAGE_SIZE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(sd(A + 2 * PAGE_SIZE) && sd(A) && vma_lookup_start(A + 2 * PAGE_SIZE) == A,
	   "a new VMA is soft-dirty; merged with a clean one, the whole VMA is (VM_SOFTDIRTY kept)");
	gt_teardown("sd vma", &t, 1);
}

static void pinned_thp(void)
{
	static struct page *pages[HPAGE_PMD_NR];
	struct task_struct *t;
	struct folio *folio;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("sd-thp");
	if (!gt_thp(A)) {
		skip(5, "no THP");
		gt_teardown("sd thp", &t, 1);
		return;
	}
	folio = page_folio(gt_page(current->mm, A));
	is_int(gt_pin(A, HPAGE_PMD_NR, FOLL_WRITE | FOLL_LONGTERM, pages), HPAGE_PMD_NR,
	       "pin the THP R/W long-term");
	pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY);
	ok(test_pmd_mapped(current->mm, A) && !gt_writable(current->mm, A) && !sd(A),
	   "R-SD-PMD: the pinned THP's PMD is write-protected and clean (clear_soft_dirty_pmd)");
	write_byte(A + 5, 'x');
	ok(test_pmd_mapped(current->mm, A) && gt_page(current->mm, A) == &folio->page &&
	   gt_writable(current->mm, A) && sd(A),
	   "R-SD-PMD: the write reuses the exclusive THP in place and sets soft-dirty");
	gt_fill(A, 2, 4);
	is_uint(gt_pages_bad(pages, 2, A, 4), 0, "the pin still sees the CPU's writes");
	unpin_user_pages(pages, HPAGE_PMD_NR);
	gt_teardown("sd thp", &t, 1);
}

static void force_write_and_mprotect(void)
{
	struct task_struct *t;
	struct page *pages[1];

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("sd-force");
	test_mmap_fixed(A, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 2, 5);
	is_int(do_mprotect(A, 2 * PAGE_SIZE, PROT_READ), 0, "mprotect R/O (pages stay exclusive)");
	pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY);
	ok(!sd(A) && PageAnonExclusive(gt_page(current->mm, A)), "clean, exclusive, R/O");
	is_int(gt_get(A, 1, FOLL_FORCE | FOLL_WRITE, pages), 1,
	       "a FOLL_FORCE write lookup (ptrace-style) succeeds");
	ok(sd(A), "R-SD-FORCE: it went through a write fault, which marked the page soft-dirty "
		  "(can_follow_write_pte refused the clean entry)");
	gt_put_pages(pages, 1);
	is_int(do_mprotect(A, 2 * PAGE_SIZE, GT_RW), 0, "mprotect R/W");
	ok(!gt_writable(current->mm, A + PAGE_SIZE) && !sd(A + PAGE_SIZE),
	   "R-SD-MPROTECT: the clean exclusive page is not made writable (can_change_pte_writable)");
	ok(gt_writable(current->mm, A), "... the soft-dirty one is");
	pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY);
	is_int((long)vm_mremap(A, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, B),
	       (long)B, "mremap the two pages");
	ok(sd(B) && sd(B + PAGE_SIZE), "R-SD-MREMAP: moved entries are soft-dirty");
	{
		/* the same through /proc/PID/mem's path (access_process_vm) */
		unsigned long v = 0x1234, w = 0;

		test_mmap_fixed(B + PMD_SIZE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
		gt_fill(B + PMD_SIZE, 1, 6);
		do_mprotect(B + PMD_SIZE, PAGE_SIZE, PROT_READ);
		pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY);
		ok(!sd(B + PMD_SIZE), "clean, exclusive, R/O (a second mapping)");
		is_int(access_process_vm(t, B + PMD_SIZE, &v, sizeof(v), FOLL_FORCE | FOLL_WRITE),
		       sizeof(v), "a forced write through access_process_vm ...");
		ok(sd(B + PMD_SIZE) &&
		   access_process_vm(t, B + PMD_SIZE, &w, sizeof(w), FOLL_FORCE) == sizeof(w) && w == v,
		   "R-SD-FORCE: ... went through a write fault too: soft-dirty, and written");
		/* a read of a page that is not ours alone (the zero page) needs no write rule */
		test_mmap_fixed(B + 2 * PMD_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
		w = 1;
		ok(test_get_word(B + 2 * PMD_SIZE) == 0 &&
		   access_process_vm(t, B + 2 * PMD_SIZE, &w, sizeof(w), FOLL_FORCE) == sizeof(w) &&
		   w == 0, "a FOLL_FORCE read of the zero page mapped read-only: zeroes");
		vm_munmap(B + PMD_SIZE, PAGE_SIZE);
		vm_munmap(B + 2 * PMD_SIZE, PAGE_SIZE);
	}
	gt_teardown("sd force", &t, 1);
}

static void swap_round_trip(void)
{
	struct task_struct *t;
	unsigned long v = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) < 0)
		bail_out("swapon");
	t = test_process("sd-swap");
	test_mmap_fixed(A, 3 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 3, 5);
	pinmm_clear_refs(current->mm, CLEAR_REFS_SOFT_DIRTY);
	write_byte(A + PAGE_SIZE, 'd');
	ok(!sd(A) && sd(A + PAGE_SIZE), "setup: page 0 clean, page 1 written since clear_refs");
	is_int(do_madvise(current->mm, A, 3 * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT");
	ok((pm(A) & PM_SWAP) && !sd(A) && (pm(A + PAGE_SIZE) & PM_SWAP) && sd(A + PAGE_SIZE),
	   "R-SD-SWAP: the swap entries keep each page's soft-dirty bit");
	ok(get_user(v, (unsigned long __user *)A) == 0 && v == gt_word(5, A, 0) && !sd(A) &&
	   !gt_writable(current->mm, A), "R-SD-SWAP: a read swaps a clean page in clean and read-only");
	ok(get_user(v, (unsigned long __user *)(A + PAGE_SIZE)) == 0 && sd(A + PAGE_SIZE),
	   "R-SD-SWAP: a dirty one comes back soft-dirty");
	write_byte(A + 2 * PAGE_SIZE, 'w');
	ok(sd(A + 2 * PAGE_SIZE) && gt_writable(current->mm, A + 2 * PAGE_SIZE),
	   "R-SD-SWAP: a write that swaps in a clean page ends writable and soft-dirty");
	write_byte(A, 'w');
	ok(sd(A), "R-SD-FAULT: the write after a read swap-in marks it");
	gt_teardown("sd swap", &t, 1);
}

int main(void)
{
	plan_no_plan();
	pinned_pte_stays_writable();
	pinned_gates();
	vma_softdirty();
	pinned_thp();
	force_write_and_mprotect();
	swap_round_trip();
	return done_testing();
}
