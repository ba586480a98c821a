// SPDX-License-Identifier: MIT
/*
 * Regression: unpin_user_pages() passed the run length to gup_put_folio() in
 * the same call that computed it (unspecified evaluation order), so the first
 * folio was released with a stale length: a WARN and a pin left behind.
 * Rule: R-UNPIN — every pinned entry is released exactly once.
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <pinmm/gup.h>
#include <pinmm/vmstat.h>

int main(void)
{
	struct task_struct *t;
	struct page *pages[8];
	unsigned long addr, warns;
	bool all_one = true;
	long n;

	test_boot(64, 16, 8);
	t = test_process("unpin");
	addr = vm_mmap(NULL, 0, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	n = pin_user_pages_fast(addr, 8, FOLL_WRITE, pages);
	is_int(n, 8, "pin eight small pages");
	warns = pinmm_warn_count();
	unpin_user_pages(pages, 8);
	is_uint(pinmm_warn_count(), warns, "R-UNPIN: unpinning eight small folios warns nothing");
	for (int i = 0; i < 8; i++)
		all_one &= page_ref_count(pages[i]) == 1;
	ok(all_one, "R-UNPIN: every page is back to its mapping's single reference");
	is_int(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED),
	       global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED), "R-VMSTAT: acquired == released");
	vm_munmap(addr, 8 * PAGE_SIZE);
	pinmm_task_detach();
	pinmm_task_exit(t);
	test_shutdown_ok("unpin_eval_order");
	return done_testing();
}
