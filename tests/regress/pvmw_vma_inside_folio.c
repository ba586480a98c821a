// SPDX-License-Identifier: MIT
/*
 * Regression (found by tests/fuzz): page_vma_mapped_walk() computed where a
 * folio starts in a VMA as a signed page offset shifted left. When the VMA
 * starts inside the folio (mprotect split a PMD-mapped THP's VMA), the offset
 * is negative and the shift is undefined: UBSan aborted a legal sequence, a
 * long-term pin in the second VMA that migrates the THP out of ZONE_MOVABLE.
 * Linux's vma_address() handles a folio that begins before vm_start.
 * Rule: rmap walks find every mapping of a folio, whichever VMA it starts in;
 * FOLL_LONGTERM migrates out of ZONE_MOVABLE/CMA first.
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <pinmm/gup.h>
#include <pinmm/huge_mm.h>
#include <pinmm/uaccess.h>

int main(void)
{
	const unsigned long base = 0x200000000UL, at = base + 488 * PAGE_SIZE;
	struct task_struct *t;
	struct page *page;
	unsigned long v = 0;
	long n;

	test_boot(128, 32, 16);
	t = test_process("split");
	test_mmap_fixed(base, PMD_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	do_madvise(current->mm, base, PMD_SIZE, MADV_HUGEPAGE);
	do_madvise(current->mm, base, PMD_SIZE, MADV_POPULATE_WRITE);
	put_user(0x5eedUL, (unsigned long __user *)at);
	ok(test_pmd_mapped(current->mm, base), "setup: a PMD-mapped THP");
	ok(!folio_is_longterm_pinnable(page_folio(pfn_to_page(test_pt_pfn(current->mm, at)))),
	   "setup: it sits where a long-term pin may not stay (ZONE_MOVABLE or CMA)");
	/* the second VMA starts 488 pages into the folio */
	is_int(do_mprotect(base, 488 * PAGE_SIZE, PROT_READ), 0, "mprotect splits the VMA in the THP");

	mmap_read_lock(current->mm);
	n = pin_user_pages(at, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	mmap_read_unlock(current->mm);
	is_int(n, 1, "FOLL_LONGTERM pin in the second VMA succeeds (the rmap walk migrates the THP)");
	if (n == 1) {
		ok(folio_is_longterm_pinnable(page_folio(page)), "the pinned page was moved out first");
		get_user(v, (unsigned long __user *)at);
		is_uint(v, 0x5eed, "the data moved with it and the mapping follows");
		is_uint(test_pt_pfn(current->mm, at), page_to_pfn(page), "the PTE maps the pinned page");
		unpin_user_page(page);
	}
	pinmm_task_detach();
	pinmm_task_exit(t);
	test_shutdown_ok("pvmw_vma_inside_folio");
	return done_testing();
}
