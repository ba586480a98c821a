// SPDX-License-Identifier: MIT
/*
 * bench/filemap: the cost of a fault on a shared file mapping, per page, in
 * pinmm and on the live kernel in the same run.
 *
 * memfd write fault: a fresh memfd (memfd_alloc_file + do_ftruncate; the
 * kernel: memfd_create + ftruncate) mapped MAP_SHARED and stored to once
 * per page (put_user in pinmm), so every fault allocates a page-cache folio.
 * A new memfd and mapping each repeat.
 * cached read fault: a disk file whose pages are all in the page cache
 * (pinmm: a diskfs file written and fsynced; the kernel: a file in $TMPDIR
 * or /tmp, written, fsynced and read), mapped MAP_SHARED read-only and
 * loaded from once per page: a minor fault. A fresh mapping each repeat.
 *
 * Per page touched, best of REPEATS; ratio = kernel/pinmm (>1: pinmm is
 * faster). Both map up to 16 cached pages per read fault (fault-around),
 * so the read figure is also given per fault, touching one page per
 * 64 KiB: 16 pages mapped per fault. Also printed: pinmm's put_user/get_user on pages already
 * mapped, the part of each figure that is the access and not the fault.
 */
#include <pinmm/fs.h>
#include <pinmm/machine.h>
#include <pinmm/mman.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define MEMFD_BYTES	(128UL << 20)
#define FILE_BYTES	(64UL << 20)
#define AROUND		(64UL << 10)	/* Linux's default fault_around_bytes */
#define REPEATS		7
#define NAME		"bench-filemap"

static volatile long sink;

static void die(const char *what, long err)
{
	fprintf(stderr, "bench/filemap: %s: %ld\n", what, err);
	exit(1);
}

/* ns per page: a fresh memfd, mapped shared, one store per page */
static double pinmm_memfd(double *access)
{
	double best = 1e30;

	*access = 1e30;
	for (int r = 0; r < REPEATS; r++) {
		struct file *f = memfd_alloc_file(NAME, 0);
		unsigned long addr;
		double t0, t1, t2;
		int err;

		if (IS_ERR(f))
			die("memfd_alloc_file", PTR_ERR(f));
		err = do_ftruncate(f, MEMFD_BYTES, 0);
		if (err)
			die("do_ftruncate", err);
		addr = vm_mmap(f, 0, MEMFD_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
		if (IS_ERR_VALUE(addr))
			die("vm_mmap memfd", (long)addr);
		t0 = bench_now();
		for (unsigned long off = 0; off < MEMFD_BYTES; off += PAGE_SIZE)
			if (put_user((char)1, (char __user *)(addr + off)))
				die("put_user", -EFAULT);
		t1 = bench_now();
		/* the same stores again: mapped now, so this is the access alone */
		for (unsigned long off = 0; off < MEMFD_BYTES; off += PAGE_SIZE)
			if (put_user((char)2, (char __user *)(addr + off)))
				die("put_user", -EFAULT);
		t2 = bench_now();
		vm_munmap(addr, MEMFD_BYTES);
		fput(f);
		best = min(best, (t1 - t0) / (MEMFD_BYTES / PAGE_SIZE));
		*access = min(*access, (t2 - t1) / (MEMFD_BYTES / PAGE_SIZE));
	}
	return best;
}

static double kernel_memfd(void)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		int fd = memfd_create(NAME, 0);
		char *p;
		double t0, t1;

		if (fd < 0 || ftruncate(fd, MEMFD_BYTES))
			return -1;
		p = mmap(NULL, MEMFD_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return -1;
		t0 = bench_now();
		for (unsigned long off = 0; off < MEMFD_BYTES; off += PAGE_SIZE)
			*(volatile char *)(p + off) = 1;
		t1 = bench_now();
		munmap(p, MEMFD_BYTES);
		close(fd);
		best = min(best, (t1 - t0) / (MEMFD_BYTES / PAGE_SIZE));
	}
	return best;
}

/* ns per page touched (one load per @stride): a fresh mapping of a cached file */
static double pinmm_cached(struct file *f, unsigned long stride, double *access)
{
	double best = 1e30;

	if (access)
		*access = 1e30;
	for (int r = 0; r < REPEATS; r++) {
		unsigned long addr = vm_mmap(f, 0, FILE_BYTES, PROT_READ, MAP_SHARED, 0);
		double t0, t1, t2;
		char c;

		if (IS_ERR_VALUE(addr))
			die("vm_mmap file", (long)addr);
		/* the loads are the work: keep their values alive */
		t0 = bench_now();
		for (unsigned long off = 0; off < FILE_BYTES; off += stride)
			if (get_user(c, (const char __user *)(addr + off)))
				die("get_user", -EFAULT);
			else
				sink += c;
		t1 = bench_now();
		for (unsigned long off = 0; off < FILE_BYTES; off += stride)
			if (get_user(c, (const char __user *)(addr + off)))
				die("get_user", -EFAULT);
			else
				sink += c;
		t2 = bench_now();
		vm_munmap(addr, FILE_BYTES);
		best = min(best, (t1 - t0) / (FILE_BYTES / stride));
		if (access)
			*access = min(*access, (t2 - t1) / (FILE_BYTES / stride));
	}
	return best;
}

static double kernel_cached(int fd, unsigned long stride)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		char *p = mmap(NULL, FILE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
		double t0, t1;

		if (p == MAP_FAILED)
			return -1;
		t0 = bench_now();
		for (unsigned long off = 0; off < FILE_BYTES; off += stride)
			(void)*(volatile char *)(p + off);
		t1 = bench_now();
		munmap(p, FILE_BYTES);
		best = min(best, (t1 - t0) / (FILE_BYTES / stride));
	}
	return best;
}

/* A host file of FILE_BYTES in $TMPDIR or /tmp, written, synced and read: cached. */
static int kernel_file(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[4200], *buf = malloc(1UL << 20);
	int fd;

	snprintf(path, sizeof(path), "%s/bench-filemap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || !buf)
		return -1;
	unlink(path);
	memset(buf, 7, 1UL << 20);
	for (unsigned long off = 0; off < FILE_BYTES; off += 1UL << 20)
		if (pwrite(fd, buf, 1UL << 20, (off_t)off) != (ssize_t)(1UL << 20))
			return -1;
	fsync(fd);
	for (unsigned long off = 0; off < FILE_BYTES; off += 1UL << 20)
		if (pread(fd, buf, 1UL << 20, (off_t)off) != (ssize_t)(1UL << 20))
			return -1;
	free(buf);
	return fd;
}

int main(void)
{
	struct pinmm_config cfg;
	struct task_struct *task;
	struct file *f;
	char *buf = malloc(1UL << 20);
	double pw, pw_access, kw, pr, pr_access, kr, pr64, kr64;
	int kfd;
	long err;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 1UL << 30;
	cfg.movable_bytes = 0;	/* no migration, no CMA: the fault alone */
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	if (!buf || pinmm_boot(&cfg))
		die("boot", 0);
	task = pinmm_task_create("bench-filemap");
	pinmm_task_attach(task);

	pw = pinmm_memfd(&pw_access);
	kw = kernel_memfd();

	/* a diskfs file written through the cache and made clean: every page cached */
	f = filp_open(NAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (IS_ERR(f))
		die("filp_open", PTR_ERR(f));
	memset(buf, 7, 1UL << 20);
	for (loff_t pos = 0; pos < (loff_t)FILE_BYTES;)
		if ((err = kernel_write(f, buf, 1UL << 20, &pos)) != (long)(1UL << 20))
			die("kernel_write", err);
	err = vfs_fsync(f, 0);
	if (err)
		die("vfs_fsync", err);
	if ((unsigned long)atomic_load(&f->f_mapping->nrpages) != FILE_BYTES / PAGE_SIZE)
		die("not all cached", atomic_load(&f->f_mapping->nrpages));
	kfd = kernel_file();

	pr = pinmm_cached(f, PAGE_SIZE, &pr_access);
	pr64 = pinmm_cached(f, AROUND, NULL);
	kr = kfd >= 0 ? kernel_cached(kfd, PAGE_SIZE) : -1;
	kr64 = kfd >= 0 ? kernel_cached(kfd, AROUND) : -1;
	if (kfd >= 0)
		close(kfd);
	free(buf);
	fput(f);
	pinmm_task_detach();
	pinmm_task_exit(task);
	if (pinmm_shutdown())
		return 1;

	printf("memfd MAP_SHARED write fault (allocates): pinmm %7.1f ns/page  kernel %7.1f "
	       "ns/page  ratio %.2f\n", pw, kw, kw / pw);
	printf("cached file MAP_SHARED read fault:        pinmm %7.1f ns/page  kernel %7.1f "
	       "ns/page  ratio %.2f\n", pr, kr, kr / pr);
	printf("  one page per 64 KiB (per fault):        pinmm %7.1f ns/fault kernel %7.1f "
	       "ns/fault ratio %.2f\n", pr64, kr64, kr64 / pr64);
	printf("(pinmm's access alone, on pages already mapped: put_user %.1f ns, get_user %.1f "
	       "ns; both map up to 16 cached pages per read fault: fault-around)\n",
	       pw_access, pr_access);
	printf("issue 9 goal: shared file fault ns/page at or under the kernel (ratio >= 1)\n");
	bench_report("filemap-memfd-write", "ns/page", pw, kw);
	bench_report("filemap-cached-read", "ns/page", pr, kr >= 0 ? kr : BENCH_KERNEL_NA);
	bench_report("filemap-cached-read-per-fault", "ns/fault", pr64,
		     kr64 >= 0 ? kr64 : BENCH_KERNEL_NA);
	printf("filemap ns/page: memfd-write pinmm %.0f kernel %.0f ratio %.2f; cached-read pinmm "
	       "%.0f kernel %.0f ratio %.2f\n", pw, kw, kw / pw, pr, kr, kr / pr);
	return 0;
}
