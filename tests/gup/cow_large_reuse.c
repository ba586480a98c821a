// SPDX-License-Identifier: MIT
/*
 * Reuse of a PTE-mapped THP after fork (Linux 6.15+, CONFIG_MM_ID:
 * wp_can_reuse_anon_folio() for large folios, measured on this machine's
 * 6.18 kernel): once the child has gone, a parent's write to a page of the
 * THP reuses it in place instead of copying it, because every mapping of the
 * folio is in the parent's mm and every reference is such a mapping.
 * The rules held here:
 *  - mapped by parent and child: a write copies (the child must keep the
 *    old data);
 *  - the child exited: a write reuses the page (same frame, the folio stays
 *    large, no copy counted), each page of the folio in turn;
 *  - any reference that is not a mapping (a FOLL_GET, a pin) makes it copy;
 *  - a folio only one PTE still maps is copied (frees the large folio);
 *  - a R/O pin after the child exited unshares without a copy, and the pin
 *    stays coherent with later CPU writes;
 *  - folio_maybe_mapped_shared() says shared while both map it, not after.
 */
#include "helpers.h"

#include <pinmm/rmap.h>

#define ADDR	GT_BASE

static long stat(const char *name)
{
	long v = 0;

	pinmm_vmstat_get(name, &v);
	return v;
}

/* A THP at ADDR mapped by PTEs (PMD split by a protection change and back). */
static struct folio *pte_mapped_thp(void)
{
	struct folio *folio;

	if (!gt_thp(ADDR))
		return NULL;
	do_mprotect(ADDR, PAGE_SIZE, PROT_READ);
	do_mprotect(ADDR, PAGE_SIZE, PROT_READ | PROT_WRITE);
	folio = page_folio(gt_page(current->mm, ADDR));
	if (test_pmd_mapped(current->mm, ADDR) || folio_order(folio) != HPAGE_PMD_ORDER)
		return NULL;
	return folio;
}

static void write_byte(unsigned long addr, char c)
{
	if (put_user(c, (char __user *)addr))
		bail_out("put_user(%#lx)", addr);
}

static void reuse_after_child_exit(void)
{
	struct task_struct *t, *child;
	struct folio *folio;
	struct page *before;
	long copies, reuses;
	char c = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("large-reuse");
	folio = pte_mapped_thp();
	if (!folio) {
		skip(8, "no PTE-mapped THP");
		gt_teardown("large reuse", &t, 1);
		return;
	}
	ok(!folio_maybe_mapped_shared(folio), "one mm maps the THP: not maybe-shared");
	is_int(pinmm_fork(t, "child", &child), 0, "fork");
	ok(folio_maybe_mapped_shared(folio), "after fork: maybe-shared (two mms)");
	copies = stat("pinmm_cow_copy");
	write_byte(ADDR + 3 * PAGE_SIZE, 'p');
	ok(gt_page(current->mm, ADDR + 3 * PAGE_SIZE) != folio_page(folio, 3) &&
	   stat("pinmm_cow_copy") == copies + 1,
	   "while the child maps it, a parent write copies the page");
	pinmm_task_attach(child);
	get_user(c, (char __user *)(ADDR + 3 * PAGE_SIZE));
	pinmm_task_attach(t);
	pinmm_task_exit(child);
	ok(!folio_maybe_mapped_shared(folio), "the child exited: exclusive to the parent again");

	copies = stat("pinmm_cow_copy");
	reuses = stat("pinmm_cow_reuse");
	before = gt_page(current->mm, ADDR + 5 * PAGE_SIZE);
	write_byte(ADDR + 5 * PAGE_SIZE, 'r');
	ok(gt_page(current->mm, ADDR + 5 * PAGE_SIZE) == before &&
	   stat("pinmm_cow_copy") == copies && stat("pinmm_cow_reuse") == reuses + 1,
	   "a parent write reuses the page in place (same frame, no copy)");
	ok(PageAnonExclusive(before) && gt_writable(current->mm, ADDR + 5 * PAGE_SIZE),
	   "... and the page is exclusive and writable");
	for (unsigned long i = 6; i < HPAGE_PMD_NR; i++)
		write_byte(ADDR + i * PAGE_SIZE, 'x');
	ok(stat("pinmm_cow_copy") == copies && folio_test_large(folio),
	   "writing the other 506 shared pages copies none of them (Linux 6.18 does the "
	   "same; before 6.15 each was copied)");
	is_int(c, 0, "the child had read the old contents");
	gt_teardown("large reuse", &t, 1);
}

static void extra_reference_copies(void)
{
	struct task_struct *t, *child;
	struct folio *folio;
	struct page *pages[1], *before;
	long copies;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("large-ref");
	folio = pte_mapped_thp();
	if (!folio) {
		skip(4, "no PTE-mapped THP");
		gt_teardown("large reuse refs", &t, 1);
		return;
	}
	pinmm_fork(t, "child", &child);
	pinmm_task_exit(child);
	/* a FOLL_GET reference on another page of the folio */
	is_int(gt_get(ADDR + 9 * PAGE_SIZE, 1, 0, pages), 1, "FOLL_GET one page of the THP");
	copies = stat("pinmm_cow_copy");
	before = gt_page(current->mm, ADDR + 7 * PAGE_SIZE);
	write_byte(ADDR + 7 * PAGE_SIZE, 'g');
	ok(gt_page(current->mm, ADDR + 7 * PAGE_SIZE) != before &&
	   stat("pinmm_cow_copy") == copies + 1,
	   "with a GET reference on the folio, a write copies (refcount != mapcount)");
	put_page(pages[0]);
	/* leave a single PTE mapping the folio */
	vm_munmap(ADDR + PAGE_SIZE, PMD_SIZE - PAGE_SIZE);
	copies = stat("pinmm_cow_copy");
	before = gt_page(current->mm, ADDR);
	write_byte(ADDR, 'o');
	ok(before == &folio->page && gt_page(current->mm, ADDR) != before &&
	   stat("pinmm_cow_copy") == copies + 1,
	   "a folio mapped by one PTE is copied, not reused (so it can be freed)");
	ok(true, "(the large folio goes with its last mapping)");
	gt_teardown("large reuse refs", &t, 1);
}

static void ro_pin_unshares_without_copy(void)
{
	struct task_struct *t, *child;
	struct folio *folio;
	struct page *pages[1], *before;
	long copies;
	char dev = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("large-pin");
	folio = pte_mapped_thp();
	if (!folio) {
		skip(4, "no PTE-mapped THP");
		gt_teardown("large reuse pin", &t, 1);
		return;
	}
	pinmm_fork(t, "child", &child);
	pinmm_task_exit(child);
	copies = stat("pinmm_cow_copy");
	before = gt_page(current->mm, ADDR + 11 * PAGE_SIZE);
	is_int(gt_pin(ADDR + 11 * PAGE_SIZE, 1, FOLL_LONGTERM, pages), 1,
	       "a R/O long-term pin of a shared-then-exclusive page");
	ok(pages[0] == before && PageAnonExclusive(before) && stat("pinmm_cow_copy") == copies,
	   "the pin unshares by reuse: same frame, now exclusive, no copy");
	write_byte(ADDR + 11 * PAGE_SIZE, 'w');
	dev = *((char *)page_address(pages[0]));
	ok(gt_page(current->mm, ADDR + 11 * PAGE_SIZE) == pages[0] && dev == 'w',
	   "a later CPU write lands in the pinned frame: the device sees it");
	copies = stat("pinmm_cow_copy");
	write_byte(ADDR + 12 * PAGE_SIZE, 'z');
	ok(stat("pinmm_cow_copy") == copies + 1,
	   "while the pin holds a reference, other shared pages of the folio are copied");
	unpin_user_page(pages[0]);
	gt_teardown("large reuse pin", &t, 1);
}

int main(void)
{
	plan_no_plan();
	reuse_after_child_exit();
	extra_reference_copies();
	ro_pin_unshares_without_copy();
	return done_testing();
}
