// SPDX-License-Identifier: MIT
/*
 * bench/reclaim: swap-out and swap-in throughput (docs/swap.md), against
 * the host file's raw speed.
 *
 * 128 MiB of anon memory, written, then MADV_PAGEOUT (swap-out: unmap,
 * write each folio to the swap file, free) and MADV_POPULATE_READ
 * (swap-in: a fault per page reads it back and maps it). 4 KiB pages and
 * THPs (a THP goes out whole, in one pwrite of 2 MiB; it comes back page
 * by page). The reference is the same host file written and read with raw
 * pwrite()/pread() of the same sizes at the same offsets, from and into a
 * 128 MiB buffer of the host's (as swap I/O goes from and into 128 MiB of
 * frames): what swap I/O would cost with nothing of mm around it. The host's page cache holds the
 * file either way (no fsync on either side), so both measure the mm and
 * syscall path, not a disk. Timed in the thread's CPU time (the host's
 * system time of the syscalls included), which the other jobs on a shared
 * machine disturb far less than the wall clock. Best of ROUNDS rounds each;
 * MB/s printed, ns per page in the REPORT lines (the raw I/O as the floor).
 */
#include "report.h"

#include <pinmm/fs.h>
#include <pinmm/machine.h>
#include <pinmm/mman.h>
#include <pinmm/swap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BYTES		(128UL << 20)
#define NR_PAGES	(BYTES >> PAGE_SHIFT)
#define ROUNDS		5

static void die(const char *what)
{
	fprintf(stderr, "bench/reclaim: %s\n", what);
	exit(1);
}

static double mbps(double ns)
{
	return (double)BYTES / (1 << 20) / (ns / 1e9);
}

struct figures {
	double out, in;		/* ns for BYTES */
};

static void run_swap(bool thp, struct figures *best)
{
	unsigned long addr = vm_mmap(NULL, 0, BYTES + PMD_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);
	long out0 = (long)global_vm_event(PSWPOUT);

	if (IS_ERR_VALUE(addr))
		die("vm_mmap failed");
	addr = (addr + PMD_SIZE - 1) & PMD_MASK;
	if (do_madvise(current->mm, addr, BYTES, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise failed");
	if (do_madvise(current->mm, addr, BYTES, MADV_POPULATE_WRITE))
		die("populate failed");
	best->out = best->in = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		double t0, t1, t2;

		/* touch every page: the data must really go out and come back */
		for (unsigned long a = addr; a < addr + BYTES; a += PAGE_SIZE)
			if (put_user((unsigned long)r ^ a, (unsigned long __user *)a))
				die("write failed");
		t0 = (double)bench_cpu_ns();
		if (do_madvise(current->mm, addr, BYTES, MADV_PAGEOUT))
			die("MADV_PAGEOUT failed");
		t1 = (double)bench_cpu_ns();
		if (do_madvise(current->mm, addr, BYTES, MADV_POPULATE_READ))
			die("swap-in failed");
		t2 = (double)bench_cpu_ns();
		if (t1 - t0 < best->out)
			best->out = t1 - t0;
		if (t2 - t1 < best->in)
			best->in = t2 - t1;
		if (r == 0 && thp)
			/* later rounds swap in small pages: keep THPs by mapping afresh */
			break;
	}
	if ((long)global_vm_event(PSWPOUT) - out0 < (long)NR_PAGES)
		die("not every page went out to swap");
	for (unsigned long a = addr; a < addr + BYTES; a += PAGE_SIZE) {
		unsigned long v;

		if (get_user(v, (unsigned long __user *)a) || (v ^ a) > ROUNDS)
			die("data did not survive swap");
	}
	vm_munmap(addr, BYTES);
}

/* The same file sizes and chunk, without mm: pwrite then pread, over a buffer of BYTES. */
static void run_raw(const char *dir, size_t chunk, struct figures *best)
{
	char path[4200];
	char *buf = aligned_alloc(PMD_SIZE, BYTES);
	int fd;

	snprintf(path, sizeof(path), "%s/raw-io", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !buf || ftruncate(fd, (off_t)BYTES))
		die("raw file");
	memset(buf, 0x5a, BYTES);
	best->out = best->in = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		double t0, t1, t2;

		t0 = (double)bench_cpu_ns();
		for (size_t off = 0; off < BYTES; off += chunk)
			if (pwrite(fd, buf + off, chunk, (off_t)off) != (ssize_t)chunk)
				die("pwrite");
		t1 = (double)bench_cpu_ns();
		for (size_t off = 0; off < BYTES; off += chunk)
			if (pread(fd, buf + off, chunk, (off_t)off) != (ssize_t)chunk)
				die("pread");
		t2 = (double)bench_cpu_ns();
		if (t1 - t0 < best->out)
			best->out = t1 - t0;
		if (t2 - t1 < best->in)
			best->in = t2 - t1;
	}
	close(fd);
	unlink(path);
	free(buf);
}

int main(void)
{
	struct pinmm_config cfg;
	struct task_struct *t;
	struct figures small, thp, thp_more, raw4k, raw2m;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = BYTES + (128UL << 20);
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	if (pinmm_boot(&cfg))
		die("boot failed");
	t = pinmm_task_create("bench-reclaim");
	if (!t)
		die("out of memory");
	pinmm_task_attach(t);
	if (pinmm_swapon("swapfile", 2 * BYTES) != 0)
		die("swapon failed");

	run_swap(false, &small);
	run_swap(true, &thp);
	for (int r = 1; r < ROUNDS; r++) {
		run_swap(true, &thp_more);
		if (thp_more.out < thp.out)
			thp.out = thp_more.out;
		if (thp_more.in < thp.in)
			thp.in = thp_more.in;
	}
	run_raw(pinmm_file_dir(), PAGE_SIZE, &raw4k);
	run_raw(pinmm_file_dir(), PMD_SIZE, &raw2m);

	printf("swap file in %s, %lu MiB, best of %d, CPU time\n", pinmm_file_dir(), BYTES >> 20, ROUNDS);
	printf("swap-out 4k   %8.0f MB/s   raw pwrite 4 KiB %8.0f MB/s   (%.0f%%)\n",
	       mbps(small.out), mbps(raw4k.out), 100 * raw4k.out / small.out);
	printf("swap-in  4k   %8.0f MB/s   raw pread  4 KiB %8.0f MB/s   (%.0f%%)\n",
	       mbps(small.in), mbps(raw4k.in), 100 * raw4k.in / small.in);
	printf("swap-out THP  %8.0f MB/s   raw pwrite 2 MiB %8.0f MB/s   (%.0f%%)\n",
	       mbps(thp.out), mbps(raw2m.out), 100 * raw2m.out / thp.out);
	printf("swap-in  THP  %8.0f MB/s   raw pread  4 KiB %8.0f MB/s   (%.0f%%, page by page)\n",
	       mbps(thp.in), mbps(raw4k.in), 100 * raw4k.in / thp.in);
	bench_report_ref("swapout-4k", "ns/page", small.out / NR_PAGES, "pwrite", raw4k.out / NR_PAGES);
	bench_report_ref("swapin-4k", "ns/page", small.in / NR_PAGES, "pread", raw4k.in / NR_PAGES);
	bench_report_ref("swapout-2m-thp", "ns/page", thp.out / NR_PAGES, "pwrite",
			 raw2m.out / NR_PAGES);
	bench_report_ref("swapin-2m-thp", "ns/page", thp.in / NR_PAGES, "pread", raw4k.in / NR_PAGES);
	printf("swap MB/s: out %.0f (raw %.0f), in %.0f (raw %.0f)\n", mbps(small.out),
	       mbps(raw4k.out), mbps(small.in), mbps(raw4k.in));

	pinmm_task_detach();
	pinmm_task_exit(t);
	if (pinmm_shutdown())
		die("shutdown found leaks");
	return 0;
}
