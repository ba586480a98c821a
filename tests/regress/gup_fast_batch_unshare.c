// SPDX-License-Identifier: MIT
/*
 * Regression: GUP-fast grabbed a run of PTEs of one large folio with one
 * atomic and asked gup_must_unshare() only for the first page. Exclusivity
 * is per page (PageAnonExclusive), so a R/O pin could land on a page shared
 * COW with a child; the parent's next write copied it away from the pin.
 * Rule: R-UNSHARE (gup_must_unshare, per page, in gup_fast_pte_range).
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <pinmm/gup.h>
#include <pinmm/huge_mm.h>
#include <pinmm/uaccess.h>

int main(void)
{
	const unsigned long base = 0x200000000UL, mid = base + PMD_SIZE / 2;
	struct task_struct *parent, *child;
	struct page *pages[2];
	char seen = 0;
	long n;

	test_boot(128, 32, 16);
	parent = test_process("parent");
	test_mmap_fixed(base, PMD_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	do_madvise(current->mm, base, PMD_SIZE, MADV_HUGEPAGE);
	do_madvise(current->mm, base, PMD_SIZE, MADV_POPULATE_WRITE);
	ok(test_pmd_mapped(current->mm, base), "setup: a PMD-mapped THP");
	/* split VMA and PMD: one large folio, PTE-mapped across two VMAs */
	do_madvise(current->mm, base, PMD_SIZE / 2, MADV_DONTFORK);
	if (pinmm_fork(parent, "child", &child))
		bail_out("fork");
	/* the first half stays exclusive and is made read-only by mprotect;
	 * the second is read-only because it is COW-shared with the child:
	 * the PTEs at mid - 1 and mid now carry identical bits */
	do_mprotect(base, PMD_SIZE / 2, PROT_READ);

	/* R/O pin across the boundary where exclusivity changes page by page */
	n = pin_user_pages_fast(mid - PAGE_SIZE, 2, 0, pages);
	is_int(n, 2, "R/O pin of two pages of one folio, first exclusive, second not");
	do_mprotect(base, PMD_SIZE / 2, PROT_READ | PROT_WRITE);
	ok(PageAnonExclusive(pages[0]) && PageAnonExclusive(pages[1]),
	   "R-UNSHARE: every R/O-pinned anon page is exclusive, not only the first of a batch");
	put_user((char)'N', (char __user *)mid);
	seen = *(char *)page_address(pages[1]);
	is_int(seen, 'N', "R-UNSHARE: the pin sees the parent's later write (no COW away from it)");
	unpin_user_pages(pages, (unsigned long)(n > 0 ? n : 0));

	pinmm_task_exit(child);
	vm_munmap(base, PMD_SIZE);
	pinmm_task_detach();
	pinmm_task_exit(parent);
	test_shutdown_ok("gup_fast_batch_unshare");
	return done_testing();
}
