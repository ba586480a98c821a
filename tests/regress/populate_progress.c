// SPDX-License-Identifier: MIT
/*
 * Regression: populate_range() counted retries across pages instead of per
 * page, so MADV_POPULATE_WRITE (and MAP_POPULATE, mlock) of more than 1000
 * pages failed with -EFAULT after faulting in the first 1000.
 * Rule: madvise(MADV_POPULATE_WRITE) faults in the whole range
 * (mm/madvise.c madvise_populate -> faultin_page_range).
 */
#include "../lib/machine.h"
#include "../lib/process.h"

int main(void)
{
	const unsigned long len = 16UL << 20;	/* 4096 pages */
	struct task_struct *t;
	unsigned long addr, missing = 0;

	test_boot(128, 32, 16);
	t = test_process("populate");
	addr = vm_mmap(NULL, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	is_int(do_madvise(current->mm, addr, len, MADV_POPULATE_WRITE), 0,
	       "MADV_POPULATE_WRITE of 4096 pages succeeds");
	for (unsigned long a = addr; a < addr + len; a += PAGE_SIZE)
		missing += test_pt_pfn(current->mm, a) == -1UL;
	is_uint(missing, 0, "every page of the range is mapped afterwards");
	vm_munmap(addr, len);
	pinmm_task_detach();
	pinmm_task_exit(t);
	test_shutdown_ok("populate_progress");
	return done_testing();
}
