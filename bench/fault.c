// SPDX-License-Identifier: MIT
/*
 * bench/fault: the cost of an anonymous write fault, 4 KiB and 2 MiB (THP),
 * in pinmm and on the live kernel in the same run.
 *
 * pinmm: a task maps private anonymous memory and writes one byte per page
 * (per 2 MiB for THP) with put_user(), which walks the page tables and faults
 * like a CPU. The kernel: mmap + one store per page, timed the same way.
 * Printed per fault, with the ratio kernel/pinmm (>1: pinmm is faster).
 */
#include <pinmm/huge_mm.h>
#include <pinmm/machine.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "report.h"

#define SMALL_BYTES	(256UL << 20)
#define THP_BYTES	(512UL << 20)
#define REPEATS		3

/* ns per fault touching @bytes with a stride of @stride; best of REPEATS */
static double pinmm_faults(unsigned long bytes, unsigned long stride, bool thp)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		unsigned long addr = vm_mmap(NULL, 0, bytes, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, 0);
		double t0, t1;

		if (IS_ERR_VALUE(addr)) {
			fprintf(stderr, "bench/fault: vm_mmap failed\n");
			exit(1);
		}
		if (thp && do_madvise(current->mm, addr, bytes, MADV_HUGEPAGE)) {
			fprintf(stderr, "bench/fault: MADV_HUGEPAGE failed\n");
			exit(1);
		}
		t0 = bench_now();
		for (unsigned long off = 0; off < bytes; off += stride)
			if (put_user((char)1, (char __user *)(addr + off))) {
				fprintf(stderr, "bench/fault: fault failed at %#lx\n", addr + off);
				exit(1);
			}
		t1 = bench_now();
		vm_munmap(addr, bytes);
		best = min(best, (t1 - t0) / (bytes / stride));
	}
	return best;
}

static double kernel_faults(unsigned long bytes, unsigned long stride, bool thp)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		/* over-map so the THP case can start on a 2 MiB boundary */
		char *raw = mmap(NULL, bytes + (2UL << 20), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *p;
		double t0, t1;

		if (raw == MAP_FAILED)
			return -1;
		p = (char *)ALIGN((unsigned long)raw, 2UL << 20);
		madvise(p, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		t0 = bench_now();
		for (unsigned long off = 0; off < bytes; off += stride)
			*(volatile char *)(p + off) = 1;
		t1 = bench_now();
		munmap(raw, bytes + (2UL << 20));
		best = min(best, (t1 - t0) / (bytes / stride));
	}
	return best;
}

int main(void)
{
	struct pinmm_config cfg;
	struct task_struct *task;
	double p4k, k4k, p2m, k2m;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 2UL << 30;
	cfg.movable_bytes = 1UL << 30;
	if (pinmm_boot(&cfg)) {
		fprintf(stderr, "bench/fault: boot failed\n");
		return 1;
	}
	task = pinmm_task_create("bench-fault");
	pinmm_task_attach(task);

	p4k = pinmm_faults(SMALL_BYTES, PAGE_SIZE, false);
	k4k = kernel_faults(SMALL_BYTES, PAGE_SIZE, false);
	p2m = pinmm_faults(THP_BYTES, PMD_SIZE, true);
	k2m = kernel_faults(THP_BYTES, PMD_SIZE, true);

	printf("4 KiB anon write fault: pinmm %8.1f ns   kernel %8.1f ns   ratio %.2f\n",
	       p4k, k4k, k4k / p4k);
	printf("2 MiB THP write fault:  pinmm %8.1f ns   kernel %8.1f ns   ratio %.2f\n",
	       p2m, k2m, k2m / p2m);
	printf("(kernel: mmap + first store per page on this machine's Linux; THP there needs "
	       "transparent_hugepage=madvise or always)\n");

	pinmm_task_detach();
	pinmm_task_exit(task);
	if (pinmm_shutdown())
		return 1;
	bench_report("fault-4k", "ns/fault", p4k, k4k);
	bench_report("fault-2m-thp", "ns/fault", p2m, k2m);
	printf("fault ns: 4k pinmm %.0f kernel %.0f ratio %.2f; 2m pinmm %.0f kernel %.0f ratio %.2f\n",
	       p4k, k4k, k4k / p4k, p2m, k2m, k2m / p2m);
	return 0;
}
