// SPDX-License-Identifier: MIT
/*
 * bench/dio: O_DIRECT reads and writes, pinmm vs the live kernel, in one run:
 * 4 KiB random reads and writes, 1 MiB sequential reads and writes, over a
 * 64 MiB file that is preallocated and written once first.
 *
 * pinmm: a diskfs file opened O_RDWR|O_CREAT|O_DIRECT, vfs_read/vfs_write
 * with a populated anonymous buffer of a pinmm process: each call pins the
 * buffer (FOLL_PIN), hands the bios to the disk, waits, unpins.
 * kernel: a host file under $TMPDIR (or /tmp) opened O_DIRECT, pread/pwrite
 * with a posix_memalign() buffer; skipped if the host refuses O_DIRECT.
 * raw: the same pread/pwrite on the host file behind the diskfs file,
 * without O_DIRECT, as pinmm's disk opens it: the data transfers alone.
 * device: raw plus the rest of what the disk does per request (its
 * checksum-file calls, XXH3 of each block, the copy through its stage).
 * kvec: kernel_read()/kernel_write() of a host buffer on the same pinmm
 * file: all of pinmm's path and its disk except the pins (a kvec is not
 * pinned).
 * pinmm - raw is all pinmm adds; pinmm - device is what remains of it once
 * the disk's own work is taken out: the read(2)/write(2) path, the pins,
 * the bio, its issue, completion and the unpin; pinmm - kvec is the pins
 * and their release alone. A 4 KiB call is one page, so its figures are
 * that cost per call. Differences of two timings each carry the host's
 * noise: pin+unpin is also timed alone, on the same buffer, without I/O.
 *
 * Passes are short and interleaved across the sides, best of REPEATS kept,
 * and the host file system is synced before each write pass (untimed), so
 * host noise and writeback fall on no side in particular. Printed per 4 KiB
 * page; ratio = kernel / pinmm (>1: pinmm is faster).
 */
#include <pinmm/bio.h>
#include <pinmm/fs.h>
#include <pinmm/gup.h>
#include <pinmm/machine.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include "report.h"

#define FILE_BYTES	(64UL << 20)
#define BIG		(1UL << 20)
#define SMALL		4096UL
#define NR_SMALL	1024		/* random 4 KiB operations per pass */
#define REPEATS		15		/* short passes, best kept: the host is noisy */
#define NAME		"bench-dio"

enum { T_4K_READ, T_4K_WRITE, T_1M_READ, T_1M_WRITE, NR_TESTS };
static const char *const test_name[NR_TESTS] = { "4k-read", "4k-write", "1m-read", "1m-write" };
enum { S_PINMM, S_KERNEL, S_RAW, S_DEVICE, S_KVEC, NR_SIDES };

static loff_t small_pos[NR_SMALL];

static void die(const char *what, long err)
{
	fprintf(stderr, "bench/dio: %s: %ld\n", what, err);
	exit(1);
}

/* One side: how to move @len bytes at @pos, in which direction. */
struct side {
	struct file *f;			/* pinmm, kvec */
	unsigned long ubuf;		/* pinmm user buffer */
	int fd, csum_fd;		/* host */
	char *buf;			/* host buffer (kvec too) */
	char *stage;			/* S_DEVICE: the disk's stage */
	unsigned long matched;		/* S_DEVICE: checksums that matched (keeps the work) */
	int kind;
};

/*
 * What pinmm's disk does for its checksums besides the data transfer
 * (src/fs/bio.c): reads go through its stage a block at a time (whole
 * blocks read, the stored checksums read in one call per stage-full, each
 * block hashed, then copied out); writes are copied into the stage, each
 * block hashed, written a stage-full per call, the checksums stored in one
 * call. Raw I/O with this added is the "device" side.
 */
#define STAGE_BLOCKS	64

static void device_io(struct side *s, bool write, size_t len, loff_t pos)
{
	uint64_t sums[BIG / DISK_BLOCK_SIZE + 1];
	unsigned long first = (unsigned long)(pos / DISK_BLOCK_SIZE), n = 0;
	ssize_t r = 0;

	for (size_t done = 0; done < len; done += STAGE_BLOCKS * DISK_BLOCK_SIZE) {
		size_t k = min(len - done, (size_t)STAGE_BLOCKS * DISK_BLOCK_SIZE);
		unsigned long nb = k / DISK_BLOCK_SIZE;

		if (write) {
			memcpy(s->stage, s->buf + done, k);
			for (unsigned long b = 0; b < nb; b++)
				sums[n++] = XXH3_64bits(s->stage + b * DISK_BLOCK_SIZE, DISK_BLOCK_SIZE);
			r = pwrite(s->fd, s->stage, k, pos + (loff_t)done);
		} else {
			r = pread(s->fd, s->stage, k, pos + (loff_t)done);
			if (r == (ssize_t)k)
				r = pread(s->csum_fd, sums, nb * sizeof(*sums),
					  (loff_t)((first + n) * sizeof(*sums)));
			for (unsigned long b = 0; b < nb; b++, n++)
				if (sums[b] == XXH3_64bits(s->stage + b * DISK_BLOCK_SIZE,
							    DISK_BLOCK_SIZE))
					s->matched++;
			memcpy(s->buf + done, s->stage, k);
		}
		if (r < 0)
			die("device I/O", errno);
	}
	if (write && pwrite(s->csum_fd, sums, n * sizeof(*sums),
			    (loff_t)(first * sizeof(*sums))) < 0)
		die("device checksum write", errno);
}

static void do_io(struct side *s, bool write, size_t len, loff_t pos)
{
	ssize_t n;

	switch (s->kind) {
	case S_PINMM:
		n = write ? vfs_write(s->f, (const char __user *)s->ubuf, len, &pos) :
			    vfs_read(s->f, (char __user *)s->ubuf, len, &pos);
		break;
	case S_DEVICE:
		device_io(s, write, len, pos);
		n = (ssize_t)len;
		break;
	case S_KVEC:
		n = write ? kernel_write(s->f, s->buf, len, &pos) :
			    kernel_read(s->f, s->buf, len, &pos);
		break;
	default:
		n = write ? pwrite(s->fd, s->buf, len, pos) : pread(s->fd, s->buf, len, pos);
		if (n < 0)
			n = -errno;
		break;
	}
	if (n != (ssize_t)len)
		die(write ? "write" : "read", (long)n);
}

/* ns per 4 KiB page for one pass of @test */
static double run(struct side *s, int test)
{
	bool write = test == T_4K_WRITE || test == T_1M_WRITE;
	double t0 = bench_now();

	if (test == T_4K_READ || test == T_4K_WRITE) {
		for (int i = 0; i < NR_SMALL; i++)
			do_io(s, write, SMALL, small_pos[i]);
		return (bench_now() - t0) / NR_SMALL;
	}
	for (loff_t pos = 0; pos < (loff_t)FILE_BYTES; pos += BIG)
		do_io(s, write, BIG, pos);
	return (bench_now() - t0) / (FILE_BYTES / SMALL);
}

/*
 * ns per page to pin @n pages of @ubuf for a device write into memory and
 * release them dirtied, as a Direct I/O read does, without the I/O.
 */
static double pin_alone(unsigned long ubuf, unsigned long n)
{
	struct page *pages[BIG / SMALL];
	int loops = (int)(65536 / n);
	double t0 = bench_now();

	for (int i = 0; i < loops; i++) {
		long got = pin_user_pages_fast(ubuf, n, FOLL_WRITE, pages);

		if (got != (long)n)
			die("pin_user_pages_fast", got);
		unpin_user_pages_dirty_lock(pages, n, true);
	}
	return (bench_now() - t0) / ((double)loops * (double)n);
}

/* Fill the file once, 1 MiB at a time, so every block has data (and a checksum). */
static void prefill(struct side *s)
{
	for (loff_t pos = 0; pos < (loff_t)FILE_BYTES; pos += BIG)
		do_io(s, true, BIG, pos);
}

static int kernel_open(char *path, size_t size, const char **why)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/bench-dio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		*why = "cannot create a file in $TMPDIR";
		return -1;
	}
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0) {
		*why = errno == EINVAL ? "the host file system refuses O_DIRECT" : strerror(errno);
		unlink(path);
		return -1;
	}
	if (fallocate(fd, 0, 0, FILE_BYTES) && ftruncate(fd, FILE_BYTES)) {
		*why = strerror(errno);
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

int main(void)
{
	struct pinmm_config cfg;
	struct task_struct *task;
	struct side side[NR_SIDES] = { { .kind = S_PINMM }, { .kind = S_KERNEL },
				       { .kind = S_RAW }, { .kind = S_DEVICE },
				       { .kind = S_KVEC } };
	double best[NR_TESTS][NR_SIDES], pin_best[2] = { 1e30, 1e30 };
	char kpath[4200], hpath[4200], cpath[4200];
	const char *kwhy = NULL;
	bool have_kernel;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	long err;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 512UL << 20;
	cfg.movable_bytes = 0;	/* nothing to migrate before a pin */
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	if (pinmm_boot(&cfg))
		die("boot", 0);
	task = pinmm_task_create("bench-dio");
	pinmm_task_attach(task);

	/* the same random 4 KiB blocks for every side */
	for (int i = 0; i < NR_SMALL; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		small_pos[i] = (loff_t)(seed % (FILE_BYTES / SMALL)) * (loff_t)SMALL;
	}

	/* pinmm: the file, preallocated and written once; a populated 1 MiB buffer */
	side[S_PINMM].f = filp_open(NAME, O_RDWR | O_CREAT | O_DIRECT, 0644);
	if (IS_ERR(side[S_PINMM].f))
		die("filp_open", PTR_ERR(side[S_PINMM].f));
	err = vfs_fallocate(side[S_PINMM].f, 0, 0, FILE_BYTES);
	if (err)
		die("vfs_fallocate", err);
	side[S_PINMM].ubuf = vm_mmap(NULL, 0, BIG, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(side[S_PINMM].ubuf))
		die("vm_mmap", (long)side[S_PINMM].ubuf);
	for (unsigned long off = 0; off < BIG; off += SMALL)
		if (put_user((char)(off >> 12), (char __user *)(side[S_PINMM].ubuf + off)))
			die("put_user", -EFAULT);
	prefill(&side[S_PINMM]);

	/* raw and device: pinmm's own host files, as its disk thread opens them */
	snprintf(hpath, sizeof(hpath), "%s/%s", pinmm_file_dir(), NAME);
	snprintf(cpath, sizeof(cpath), "%s/.pinmm-csum/%s", pinmm_file_dir(), NAME);
	for (int k = S_RAW; k <= S_DEVICE; k++) {
		side[k].fd = open(hpath, O_RDWR);
		side[k].csum_fd = k == S_DEVICE ? open(cpath, O_RDWR) : -1;
		if (side[k].fd < 0 || (k == S_DEVICE && side[k].csum_fd < 0))
			die("open the host file behind diskfs", errno);
		if (posix_memalign((void **)&side[k].buf, SMALL, BIG) ||
		    posix_memalign((void **)&side[k].stage, SMALL, STAGE_BLOCKS * DISK_BLOCK_SIZE))
			die("posix_memalign", -ENOMEM);
		memset(side[k].buf, 1, BIG);
	}

	/* kvec: the same pinmm file, a host buffer */
	side[S_KVEC].f = side[S_PINMM].f;
	if (posix_memalign((void **)&side[S_KVEC].buf, SMALL, BIG))
		die("posix_memalign", -ENOMEM);
	memset(side[S_KVEC].buf, 1, BIG);

	/* kernel: its own O_DIRECT file of the same size */
	side[S_KERNEL].fd = kernel_open(kpath, sizeof(kpath), &kwhy);
	have_kernel = side[S_KERNEL].fd >= 0;
	if (have_kernel) {
		if (posix_memalign((void **)&side[S_KERNEL].buf, SMALL, BIG))
			die("posix_memalign", -ENOMEM);
		memset(side[S_KERNEL].buf, 1, BIG);
		prefill(&side[S_KERNEL]);
	}

	for (int t = 0; t < NR_TESTS; t++)
		for (int k = 0; k < NR_SIDES; k++)
			best[t][k] = 1e30;
	/* interleaved, so a host hiccup hits every side alike */
	for (int r = 0; r < REPEATS; r++)
		for (int t = 0; t < NR_TESTS; t++)
			for (int k = 0; k < NR_SIDES; k++) {
				if (k == S_KERNEL && !have_kernel)
					continue;
				/* host writeback of the last pass is not this pass's cost */
				if (t == T_4K_WRITE || t == T_1M_WRITE)
					syncfs(side[S_RAW].fd);
				best[t][k] = min(best[t][k], run(&side[k], t));
			}
	for (int r = 0; r < REPEATS; r++) {
		pin_best[0] = min(pin_best[0], pin_alone(side[S_PINMM].ubuf, 1));
		pin_best[1] = min(pin_best[1], pin_alone(side[S_PINMM].ubuf, BIG / SMALL));
	}

	if (have_kernel) {
		close(side[S_KERNEL].fd);
		unlink(kpath);
		free(side[S_KERNEL].buf);
	}
	for (int k = S_RAW; k <= S_DEVICE; k++) {
		close(side[k].fd);
		if (side[k].csum_fd >= 0)
			close(side[k].csum_fd);
		free(side[k].buf);
		free(side[k].stage);
	}
	free(side[S_KVEC].buf);
	vm_munmap(side[S_PINMM].ubuf, BIG);
	fput(side[S_PINMM].f);
	pinmm_task_detach();
	pinmm_task_exit(task);
	if (pinmm_shutdown())
		return 1;

	printf("O_DIRECT on a %lu MiB file, ns per 4 KiB page, best of %d passes "
	       "(ratio = kernel/pinmm, >1: pinmm faster):\n", FILE_BYTES >> 20, REPEATS);
	for (int t = 0; t < NR_TESTS; t++) {
		double *b = best[t];

		printf("%-8s pinmm %7.1f  raw %7.1f  device %7.1f  kvec %7.1f  over raw %6.1f  "
		       "pin+completion %6.1f  pins %6.1f", test_name[t], b[S_PINMM], b[S_RAW],
		       b[S_DEVICE], b[S_KVEC], b[S_PINMM] - b[S_RAW], b[S_PINMM] - b[S_DEVICE],
		       b[S_PINMM] - b[S_KVEC]);
		if (have_kernel)
			printf("  kernel %8.1f  ratio %.2f\n", b[S_KERNEL], b[S_KERNEL] / b[S_PINMM]);
		else
			printf("\n");
	}
	if (!have_kernel)
		printf("kernel: skipped (%s)\n", kwhy);
	printf("(raw: the same pread/pwrite on the host file behind the diskfs file; device: raw "
	       "plus the disk's checksum work; kvec: pinmm's path from a host buffer, no pins; "
	       "over raw = pinmm - raw; pin+completion = pinmm - device; pins = pinmm - kvec)\n");
	printf("pin_user_pages_fast(FOLL_WRITE) + unpin_user_pages_dirty_lock(make_dirty), no I/O: "
	       "%.1f ns for 1 page, %.1f ns/page for %lu pages\n", pin_best[0], pin_best[1],
	       BIG / SMALL);
	printf("issue 9 goals: pin+completion < 100 ns/page; pinmm within 1.5x of the kernel's "
	       "O_DIRECT (ratio >= 0.67)\n");
	for (int t = 0; t < NR_TESTS; t++) {
		char name[64];

		snprintf(name, sizeof(name), "dio-%s", test_name[t]);
		bench_report(name, "ns/page", best[t][S_PINMM],
			     have_kernel ? best[t][S_KERNEL] : BENCH_KERNEL_NA);
	}
	printf("dio ns/page:");
	for (int t = 0; t < NR_TESTS; t++) {
		if (have_kernel)
			printf(" %s pinmm %.0f kernel %.0f ratio %.2f;", test_name[t],
			       best[t][S_PINMM], best[t][S_KERNEL],
			       best[t][S_KERNEL] / best[t][S_PINMM]);
		else
			printf(" %s pinmm %.0f kernel skipped;", test_name[t], best[t][S_PINMM]);
	}
	printf(" overhead 4k %.0f/%.0f ns/page, 1m %.0f/%.0f ns/page (read/write, over raw); "
	       "pin+completion 4k %.0f/%.0f, 1m %.0f/%.0f; pin+unpin alone %.0f (1 page), "
	       "%.0f ns/page (256)\n",
	       best[T_4K_READ][S_PINMM] - best[T_4K_READ][S_RAW],
	       best[T_4K_WRITE][S_PINMM] - best[T_4K_WRITE][S_RAW],
	       best[T_1M_READ][S_PINMM] - best[T_1M_READ][S_RAW],
	       best[T_1M_WRITE][S_PINMM] - best[T_1M_WRITE][S_RAW],
	       best[T_4K_READ][S_PINMM] - best[T_4K_READ][S_DEVICE],
	       best[T_4K_WRITE][S_PINMM] - best[T_4K_WRITE][S_DEVICE],
	       best[T_1M_READ][S_PINMM] - best[T_1M_READ][S_DEVICE],
	       best[T_1M_WRITE][S_PINMM] - best[T_1M_WRITE][S_DEVICE], pin_best[0], pin_best[1]);
	return 0;
}
