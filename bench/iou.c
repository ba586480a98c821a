// SPDX-License-Identifier: MIT
/*
 * bench/iou: io_uring fixed-buffer registration, pinmm vs the live kernel,
 * doing the same work: pin 1 GiB of populated anonymous memory with
 * FOLL_WRITE|FOLL_LONGTERM, coalesce into one entry per folio run, and on
 * unregistration unpin once per folio (drivers/io_uring.c on pinmm,
 * IORING_REGISTER_BUFFERS on Linux). 4 KiB pages and 2 MiB THPs; best of 5.
 * The kernel side skips cleanly where io_uring is unavailable.
 */
#include <liburing.h>
#include <pinmm/drivers.h>
#include <pinmm/machine.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "report.h"

#define SIZE		(1UL << 30)
#define REPEATS		5

static void pinmm_side(bool thp, double *reg, double *unreg)
{
	unsigned long addr = vm_mmap(NULL, 0, SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);

	do_madvise(current->mm, addr, SIZE, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	do_madvise(current->mm, addr, SIZE, MADV_POPULATE_WRITE);
	*reg = *unreg = 1e30;
	for (int r = 0; r < REPEATS; r++) {
		struct iou_buffer *buf;
		double t0 = bench_now(), t1, t2;

		if (iou_register_buffer(addr, SIZE, &buf)) {
			fprintf(stderr, "bench/iou: pinmm registration failed\n");
			break;
		}
		t1 = bench_now();
		iou_unregister_buffer(buf);
		t2 = bench_now();
		*reg = min(*reg, t1 - t0);
		*unreg = min(*unreg, t2 - t1);
	}
	vm_munmap(addr, SIZE);
}

static int kernel_side(bool thp, double *reg, double *unreg)
{
	char *raw = mmap(NULL, SIZE + PMD_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *mem;
	struct io_uring ring;
	int ret = -1;

	if (raw == MAP_FAILED)
		return -1;
	mem = (char *)ALIGN((unsigned long)raw, PMD_SIZE);
	madvise(mem, SIZE, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (unsigned long off = 0; off < SIZE; off += PAGE_SIZE)
		mem[off] = 1;
	if (io_uring_queue_init(8, &ring, 0) == 0) {
		struct iovec iov = { .iov_base = mem, .iov_len = SIZE };

		*reg = *unreg = 1e30;
		for (int r = 0; r < REPEATS; r++) {
			double t0 = bench_now(), t1, t2;

			ret = io_uring_register_buffers(&ring, &iov, 1);
			if (ret)
				break;
			t1 = bench_now();
			io_uring_unregister_buffers(&ring);
			t2 = bench_now();
			*reg = min(*reg, t1 - t0);
			*unreg = min(*unreg, t2 - t1);
		}
		io_uring_queue_exit(&ring);
	}
	munmap(raw, SIZE + PMD_SIZE);
	return ret;
}

int main(void)
{
	const double pages = SIZE >> PAGE_SHIFT;
	struct pinmm_config cfg;
	struct task_struct *task;
	double pr[2], pu[2], kr[2], ku[2];
	int kret[2];

	pinmm_config_default(&cfg);
	cfg.mem_bytes = SIZE + (512UL << 20);
	cfg.movable_bytes = 0;	/* no migration: measure the pin, as the kernel does here */
	cfg.cma_bytes = 0;
	if (pinmm_boot(&cfg))
		return 1;
	task = pinmm_task_create("bench-iou");
	pinmm_task_attach(task);
	for (int thp = 0; thp < 2; thp++) {
		pinmm_side(thp, &pr[thp], &pu[thp]);
		kret[thp] = kernel_side(thp, &kr[thp], &ku[thp]);
	}
	pinmm_task_detach();
	pinmm_task_exit(task);
	if (pinmm_shutdown())
		return 1;
	for (int thp = 0; thp < 2; thp++) {
		const char *what = thp ? "2 MiB THP" : "4 KiB";

		if (kret[thp]) {
			printf("%-9s register: pinmm %.2f ns/page; kernel io_uring unavailable (skipped)\n",
			       what, pr[thp] / pages);
			continue;
		}
		printf("%-9s register:   pinmm %6.2f ns/page  kernel %6.2f ns/page  ratio %.2f\n",
		       what, pr[thp] / pages, kr[thp] / pages, kr[thp] / pr[thp]);
		printf("%-9s unregister: pinmm %6.3f ns/page  kernel %6.3f ns/page  ratio %.2f\n",
		       what, pu[thp] / pages, ku[thp] / pages, ku[thp] / pu[thp]);
	}
	for (int thp = 0; thp < 2; thp++) {
		bench_report(thp ? "iou-register-2m" : "iou-register-4k", "ns/page",
			     pr[thp] / pages, kret[thp] ? BENCH_KERNEL_NA : kr[thp] / pages);
		bench_report(thp ? "iou-unregister-2m" : "iou-unregister-4k", "ns/page",
			     pu[thp] / pages, kret[thp] ? BENCH_KERNEL_NA : ku[thp] / pages);
	}
	if (!kret[0] && !kret[1])
		printf("iou ns/page: 4k reg %.2f/%.2f unreg %.2f/%.2f; 2m reg %.2f/%.2f unreg %.3f/%.3f "
		       "(pinmm/kernel)\n", pr[0] / pages, kr[0] / pages, pu[0] / pages, ku[0] / pages,
		       pr[1] / pages, kr[1] / pages, pu[1] / pages, ku[1] / pages);
	return 0;
}
