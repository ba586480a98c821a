// SPDX-License-Identifier: MIT
/*
 * pinmm run's kernel backend: the same steps as real system calls on the
 * live kernel, in a worker process forked per scenario (children are
 * fork(2)s of the worker, told which block to run through a pipe). Each
 * step is realised by what the kernel offers to user space:
 *
 *   register, rdma, pin rw longterm   io_uring fixed buffer (pin_user_pages_fast,
 *                                     FOLL_WRITE|FOLL_LONGTERM); device view by
 *                                     IORING_OP_WRITE_FIXED to a memfd, device
 *                                     writes by IORING_OP_READ_FIXED
 *   get                               vmsplice(2) into a pipe (FOLL_GET references);
 *                                     device view by tee(2) and reading the copy
 *   dio-read, dio-write               O_DIRECT read/write (short-term FOLL_PIN)
 *   force-write                       pwrite(2) to /proc/self/mem (FOLL_FORCE)
 *   frames, thp                       /proc/self/pagemap, /proc/kpageflags (root)
 *   acquired, released, vmpin         /proc/vmstat after vm/stat_refresh, VmPin
 *
 * What has no system call (a held R/O or short-term pin, ODP) is skipped
 * with the reason, never imitated.
 */
#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25	/* Linux 6.1; older C libraries lack the name */
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447	/* Linux 5.14, x86-64 */
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102	/* Linux 6.13 */
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24	/* Linux 5.18 */
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define KPAGE		4096UL
#define KPMD		(2UL << 20)
#define KPF_THP		22
#define KPF_KSM		21
#define KPIPE_MAX	(1UL << 20)	/* the default fs/pipe-max-size */
#define KPIPES		8

enum kh_kind { KH_NONE, KH_IOU, KH_GET, KH_SNAP };

struct khandle {
	enum kh_kind kind;
	unsigned long addr, len;
	struct io_uring ring;
	int pipe[KPIPES][2];	/* get: pipes of up to 1 MiB holding the references */
	int npipes;
	int map;		/* the mapping it was taken on */
	long vmpin_kb;		/* VmPin the registration charged, when it stands in for a pin */
	unsigned char *snap;
};

struct kchild {
	pid_t pid;
	int cmd, ack;		/* pipes: block index to run (-1: exit), one byte when done */
};

struct kstate {
	const struct scenario *s;
	int out;		/* result records */
	char dir[64];
	unsigned long addr[SCN_MAX_NAMES];
	int fd[SCN_MAX_NAMES];
	struct khandle h[SCN_MAX_NAMES];
	uint64_t label_pfn[SCN_MAX_NAMES];
	struct kchild child[SCN_MAX_NAMES];
	long acq0, rel0;
	int nfiles;
	bool is_child;
	/*
	 * A skipped step leaves its mapping (and the pin counters) where pinmm's
	 * are not: what follows on them is skipped too, naming the line.
	 */
	int map_skipped_at[SCN_MAX_NAMES];
	int counters_skipped_at;
	unsigned long next_place;	/* k_place()'s next address */
};

/* What a child is told: run this block (-1: exit), knowing what was skipped. */
struct kcmd {
	int block;
	int map_skipped_at[SCN_MAX_NAMES];
	int counters_skipped_at;
};

struct krecord {
	int idx;
	struct scn_result r;
};

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed;

static void on_fault(int sig)
{
	if (fault_armed)
		siglongjmp(fault_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* memcpy that turns SIGSEGV/SIGBUS into -EFAULT, as copy_to_user() would. */
static int cpu_copy(void *dst, const void *src, size_t n)
{
	/* volatile: the progress must survive the longjmp out of a fault */
	volatile size_t done = 0;

	if (sigsetjmp(fault_jmp, 1)) {
		fault_armed = 0;
		return -EFAULT;
	}
	fault_armed = 1;
	/*
	 * A page at a time, in order: a copy that faults partway leaves every
	 * page before the fault whole and none after it, as pinmm's does
	 * (memcpy() may store a block's tail first).
	 */
	while (done < n) {
		uintptr_t d = (uintptr_t)dst + done, s = (uintptr_t)src + done;
		size_t chunk = n - done;

		if (chunk > KPAGE - (d & (KPAGE - 1)))
			chunk = KPAGE - (d & (KPAGE - 1));
		if (chunk > KPAGE - (s & (KPAGE - 1)))
			chunk = KPAGE - (s & (KPAGE - 1));
		memcpy((void *)d, (const void *)s, chunk);
		done += chunk;
	}
	fault_armed = 0;
	return 0;
}

static void emit(struct kstate *k, int idx, const struct scn_result *r)
{
	struct krecord rec = { .idx = idx, .r = *r };

	if (write(k->out, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		_exit(3);
}

static long read_vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	long v, ret = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name))
			ret = v;
	fclose(f);
	return ret;
}

/* Fold the per-CPU counters into the global ones, so /proc/vmstat is exact. */
static void stat_refresh(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* not root: the counters lag by the per-CPU batch */
		}
		close(fd);
	}
}

/* A "Name:  N kB" line of /proc/self/status (VmPin, VmLck), or -1. */
static long status_kb(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = strlen(name);
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

static long vmpin_kb(void)
{
	return status_kb("VmPin");
}

/* pfn at @addr from pagemap, 0 when nothing is present. */
static uint64_t frame_at(unsigned long addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (off_t)(addr / KPAGE * 8)) != 8)
		e = 0;
	close(fd);
	if (!(e >> 63 & 1))
		return 0;
	return e & ((1ULL << 55) - 1);
}

/* Does this kernel have a swap area? (/proc/swaps has more than its header) */
static bool kernel_has_swap(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[256];
	int n = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;
}

/* Pages of [@addr, +@len) that pagemap reports swapped (bit 62); -1 without pagemap. */
static long pages_swapped(unsigned long addr, unsigned long len)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	long n = 0;

	if (fd < 0)
		return -1;
	for (unsigned long a = addr; a < addr + len; a += KPAGE) {
		uint64_t e = 0;

		if (pread(fd, &e, 8, (off_t)(a / KPAGE * 8)) != 8) {
			close(fd);
			return -1;
		}
		/* PM_SWAP, but not a guard marker (PM_GUARD_REGION, bit 58): it is no swap */
		n += ((e >> 62) & 1) && !((e >> 58) & 1);
	}
	close(fd);
	return n;
}

static int kpageflag(uint64_t pfn, int bit)
{
	int fd = open("/proc/kpageflags", O_RDONLY);
	uint64_t e = 0;

	if (fd < 0)
		return -1;
	if (pread(fd, &e, 8, (off_t)(pfn * 8)) != 8) {
		close(fd);
		return -1;
	}
	close(fd);
	return (int)(e >> bit & 1);
}

/*
 * @len bytes of @byte at the start of a file, one page per pwrite(): the
 * page cache then holds order-0 folios, as pinmm's does. One large write() lets ext4 (Linux
 * 6.16+) build large folios, and a fault on one page of such a folio maps
 * all of it, even a write fault on a shared mapping (seen on 6.18): a
 * difference of folio size, not of the rules scenarios compare.
 */
static int write_pages(int fd, int byte, unsigned long len)
{
	unsigned char buf[KPAGE];

	memset(buf, byte, sizeof(buf));
	for (unsigned long off = 0; off < len; off += KPAGE) {
		size_t n = len - off < KPAGE ? len - off : KPAGE;

		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			return -EIO;
	}
	return 0;
}

/* linux/memfd.h's and linux/mman.h's 1 GiB size bits (log2 of the size << 26) */
#define K_MFD_HUGE_1GB	(30U << 26)
#define K_MAP_HUGE_1GB	(30 << 26)

/* Why hugetlb mappings are skipped in this run ("" when the pool was set up). */
static char k_hugetlb_unavailable[128];
/* The same for 1 GiB pages (hugepages-1048576kB). */
static char k_gigantic_unavailable[160];

/* Why mapping @m cannot run here (its pool was not set up), or NULL. */
static const char *k_map_hugetlb_why(const struct scenario *s, int m)
{
	const char *why = s->maps[m].gigantic ? k_gigantic_unavailable : k_hugetlb_unavailable;

	return scn_map_hugetlb(s, m) && why[0] ? why : NULL;
}

static const char *k_file_hugetlb_why(const struct scn_file *f)
{
	const char *why = f->gigantic ? k_gigantic_unavailable : k_hugetlb_unavailable;

	return f->kind == FK_MEMFD_HUGETLB && why[0] ? why : NULL;
}

static int make_file(struct kstate *k, int fi)
{
	const struct scn_file *f = &k->s->files[fi];
	char path[128];
	int fd;

	if (f->kind == FK_MEMFD_HUGETLB || f->kind == FK_SECRET) {
		/* k_run() raised the pool; hugetlbfs and secretmem have no write(2) */
		if (k_file_hugetlb_why(f))
			return -ENOMEM;
		if (f->kind == FK_SECRET)
			fd = (int)syscall(SYS_memfd_secret, 0);
		else
			fd = memfd_create(f->name, MFD_HUGETLB | (f->gigantic ? K_MFD_HUGE_1GB : 0));
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)f->size)) {
			close(fd);
			return -errno;
		}
		k->fd[fi] = fd;
		return 0;
	}
	if (f->kind == FK_MEMFD) {
		fd = memfd_create(f->name, 0);
	} else {
		snprintf(path, sizeof(path), "%s/%s", k->dir, f->name);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	}
	if (fd < 0)
		return -errno;
	if (write_pages(fd, f->fill, f->size) || (f->kind == FK_DISK && fsync(fd))) {
		close(fd);
		return -EIO;
	}
	k->fd[fi] = fd;
	return 0;
}


#define K_NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

static long k_sysctl_read(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool k_sysctl_write(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

/*
 * Raise vm.nr_hugepages by what the scenario's hugetlb mappings need; return
 * the value to restore (-1: nothing changed, k_hugetlb_unavailable says why).
 */
static long k_hugetlb_setup(const struct scenario *s)
{
	unsigned long need = scn_hugetlb_pages(s);
	long old;

	k_hugetlb_unavailable[0] = 0;
	if (!need)
		return -1;
	old = k_sysctl_read(K_NR_HUGEPAGES);
	if (old < 0) {
		snprintf(k_hugetlb_unavailable, sizeof(k_hugetlb_unavailable),
			 "no %s on this kernel", K_NR_HUGEPAGES);
		return -1;
	}
	if (!k_sysctl_write(K_NR_HUGEPAGES, old + (long)need) ||
	    k_sysctl_read(K_NR_HUGEPAGES) < old + (long)need) {
		k_sysctl_write(K_NR_HUGEPAGES, old);
		snprintf(k_hugetlb_unavailable, sizeof(k_hugetlb_unavailable),
			 "the kernel could not raise vm.nr_hugepages by %lu", need);
		return -1;
	}
	return old;
}

#define K_NR_GIGANTIC	"/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"

/* The sysfs file of the 1 GiB pool; tests stand in another (PINMM_RUN_GIGANTIC_SYSFS). */
static const char *k_gigantic_path(void)
{
	const char *p = getenv("PINMM_RUN_GIGANTIC_SYSFS");

	return p && *p ? p : K_NR_GIGANTIC;
}

/*
 * The same for 1 GiB pages: raise hugepages-1048576kB/nr_hugepages by what
 * the scenario needs (the kernel takes them at runtime from
 * alloc_contig_pages(), or hugetlb_cma); return the value to restore, -1
 * when nothing changed (k_gigantic_unavailable says why: no such pool, not
 * root, or no free 1 GiB range — then the pages it did get go back at once).
 */
static long k_gigantic_setup(const struct scenario *s)
{
	unsigned long need = scn_gigantic_pages(s);
	long old, got;

	k_gigantic_unavailable[0] = 0;
	if (!need)
		return -1;
	old = k_sysctl_read(k_gigantic_path());
	if (old < 0) {
		snprintf(k_gigantic_unavailable, sizeof(k_gigantic_unavailable),
			 "no 1 GiB hugetlb pool on this kernel (%s)", k_gigantic_path());
		return -1;
	}
	if (!k_sysctl_write(k_gigantic_path(), old + (long)need)) {
		snprintf(k_gigantic_unavailable, sizeof(k_gigantic_unavailable),
			 "cannot write %s (%s)", k_gigantic_path(), strerror(errno));
		return -1;
	}
	got = k_sysctl_read(k_gigantic_path());
	if (got < old + (long)need) {
		k_sysctl_write(k_gigantic_path(), old);
		snprintf(k_gigantic_unavailable, sizeof(k_gigantic_unavailable),
			 "the kernel found %ld of the %lu free 1 GiB ranges the scenario needs "
			 "(hugepages-1048576kB)", got - old, need);
		return -1;
	}
	return old;
}

/*
 * Scenario mappings live in a window of their own (scn_place()): no io_uring
 * ring of the backend's lands in the hole a scenario's munmap leaves, where
 * later steps on that mapping would write into it. (A ring overwritten that
 * way left io_uring_enter() spinning, unkillable, on 6.18.)
 */
static void *k_place(struct kstate *k, unsigned long len, unsigned long align)
{
	return (void *)scn_place(&k->next_place, len, align);
}

static int do_map(struct kstate *k, const struct scn_step *st)
{
	const struct scn_map *m = &k->s->maps[st->a];
	int prot = (m->prot & SCN_PROT_READ ? PROT_READ : 0) |
		   (m->prot & SCN_PROT_WRITE ? PROT_WRITE : 0);
	unsigned long len = m->size;
	char *p;

	switch (m->kind) {
	case MK_ANON:
		/* PMD-aligned from 2M up, as pinmm places them */
		p = mmap(k_place(k, len, len >= KPMD ? KPMD : KPAGE), len, prot,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		break;
	case MK_SHARED_ANON:
		p = mmap(k_place(k, len, KPAGE), len, prot,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		break;
	case MK_HUGETLB: {
		/* k_run() raised the pool for the run */
		unsigned long hsz = m->gigantic ? 1UL << 30 : KPMD;

		len = (len + hsz - 1) & ~(hsz - 1);
		p = mmap(k_place(k, len, hsz), len, prot,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED_NOREPLACE |
			 (m->gigantic ? K_MAP_HUGE_1GB : 0), -1, 0);
		break;
	}
	case MK_PRIVATE_FILE:
	case MK_SHARED_FILE: {
		/* a hugetlbfs file maps at its page size's alignment only */
		const struct scn_file *f = &k->s->files[m->file];
		unsigned long align = f->kind != FK_MEMFD_HUGETLB ? KPAGE :
				      f->gigantic ? 1UL << 30 : KPMD;

		p = mmap(k_place(k, len, align), len, prot,
			 (m->kind == MK_SHARED_FILE ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED_NOREPLACE,
			 k->fd[m->file], (off_t)m->offset);
		break;
	}
	default:
		return -EOPNOTSUPP;
	}
	if (p == MAP_FAILED)
		return -errno;
	k->addr[st->a] = (unsigned long)p;
	if (m->thp && madvise(p, len, m->thp > 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return -errno;
	return 0;
}

static void release(struct khandle *h)
{
	switch (h->kind) {
	case KH_IOU:
		/* unregister first: a ring's exit drops its buffers later, from a worker */
		io_uring_unregister_buffers(&h->ring);
		io_uring_queue_exit(&h->ring);
		break;
	case KH_GET:
		for (int i = 0; i < h->npipes; i++) {
			close(h->pipe[i][0]);
			close(h->pipe[i][1]);
		}
		break;
	default:
		break;
	}
	free(h->snap);
	memset(h, 0, sizeof(*h));
}

/* One fixed-buffer transfer between the registration and a memfd; 0 or -errno. */
static int iou_rw(struct khandle *h, int fd, unsigned long off, unsigned long len, bool to_file)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&h->ring);
	struct io_uring_cqe *cqe;
	void *buf = (char *)h->addr + off;
	int ret;

	if (!sqe)
		return -EBUSY;
	if (to_file)
		io_uring_prep_write_fixed(sqe, fd, buf, (unsigned int)len, 0, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, (unsigned int)len, 0, 0);
	ret = io_uring_submit(&h->ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&h->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&h->ring, cqe);
	if (ret < 0)
		return ret;
	return (unsigned long)ret == len ? 0 : -EIO;
}

static int device_read(struct khandle *h, unsigned long off, unsigned char *buf,
		       unsigned long len)
{
	int fd, ret, tp[2];
	unsigned long total;

	switch (h->kind) {
	case KH_IOU:
		fd = memfd_create("device-view", 0);
		if (fd < 0)
			return -errno;
		ret = iou_rw(h, fd, off, len, true);
		if (!ret && pread(fd, buf, len, 0) != (ssize_t)len)
			ret = -EIO;
		close(fd);
		return ret;
	case KH_GET: {
		/* tee() copies the pipes' page references; reading the copy reads the pages */
		unsigned char *all = malloc(h->len);

		ret = all ? 0 : -ENOMEM;
		total = 0;
		for (int i = 0; !ret && i < h->npipes; i++) {
			unsigned long chunk = h->len - total < KPIPE_MAX ? h->len - total : KPIPE_MAX;
			ssize_t n;

			if (pipe(tp)) {
				ret = -errno;
				break;
			}
			fcntl(tp[1], F_SETPIPE_SZ, (int)KPIPE_MAX);
			n = tee(h->pipe[i][0], tp[1], chunk, 0);
			if (n != (ssize_t)chunk || read(tp[0], all + total, chunk) != (ssize_t)chunk)
				ret = -EIO;
			total += chunk;
			close(tp[0]);
			close(tp[1]);
		}
		if (!ret)
			memcpy(buf, all + off, len);
		free(all);
		return ret;
	}
	case KH_SNAP:
		memcpy(buf, h->snap + off, len);
		return 0;
	default:
		return -EINVAL;
	}
}

static int device_write(struct khandle *h, unsigned long off, int byte, unsigned long len)
{
	int fd, ret;

	if (h->kind != KH_IOU)
		return -EOPNOTSUPP;
	fd = memfd_create("device-data", 0);
	if (fd < 0)
		return -errno;
	ret = write_pages(fd, byte, len);
	if (!ret)
		ret = iou_rw(h, fd, off, len, false);
	close(fd);
	return ret;
}

static void run_steps(struct kstate *k, int first, int nr);

static long ksm_read(const char *name)
{
	char path[96], buf[32];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, 10);
	fclose(f);
	return v;
}

static int ksm_write(const char *name, long v)
{
	char path[96];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	err = fprintf(f, "%ld\n", v) < 0;
	return fclose(f) || err ? -EIO : 0;
}

/*
 * ksm-merge on the live kernel: ksmd runs (run=1, a large pages_to_scan,
 * 1 ms sleeps) until full_scans moved by 3 (a pass records checksums, the
 * next merges), then /sys/kernel/mm/ksm is put back as it was. Needs root;
 * 0, or -1 with the reason in @why.
 */
static int ksm_merge_now(char *why, size_t len)
{
	long run = ksm_read("run"), pages = ksm_read("pages_to_scan");
	long sleep_ms = ksm_read("sleep_millisecs"), f0 = ksm_read("full_scans");
	struct timespec ts = { 0, 1000000 };
	int err, tries;

	if (run < 0 || pages < 0 || sleep_ms < 0 || f0 < 0) {
		snprintf(why, len, "no /sys/kernel/mm/ksm (a kernel without CONFIG_KSM)");
		return -1;
	}
	err = ksm_write("pages_to_scan", 10000);
	if (!err)
		err = ksm_write("sleep_millisecs", 1);
	if (!err)
		err = ksm_write("run", 1);
	if (err) {
		snprintf(why, len, "cannot drive KSM: writing /sys/kernel/mm/ksm needs root (%s)",
			 strerror(-err));
		ksm_write("pages_to_scan", pages);
		ksm_write("sleep_millisecs", sleep_ms);
		return -1;
	}
	for (tries = 0; tries < 20000 && ksm_read("full_scans") < f0 + 3; tries++)
		nanosleep(&ts, NULL);
	ksm_write("run", run);
	ksm_write("pages_to_scan", pages);
	ksm_write("sleep_millisecs", sleep_ms);
	if (tries == 20000) {
		snprintf(why, len, "ksmd did not finish 3 full scans in 20 s");
		return -1;
	}
	return 0;
}

static void take(struct kstate *k, const struct scn_step *st, struct scn_result *res)
{
	struct khandle *h = &k->h[st->a];
	unsigned long addr = k->addr[st->b] + st->at, len = scn_len(k->s, st, st->b);
	struct iovec iov = { (void *)addr, len };
	int err;

	(void)iov;

	if (h->kind != KH_NONE) {
		scn_fail(res, "busy", "handle %s is held: unpin it first", k->s->handles[st->a]);
		return;
	}
	h->addr = addr;
	h->len = len;
	h->map = st->b;
	switch (st->op) {
	case SK_PIN:
		if (!(st->num & PF_LONGTERM)) {
			scn_skip(res, "no system call holds a short-term pin (O_DIRECT drops it "
				 "before returning; gup_test needs CONFIG_GUP_TEST)");
			return;
		}
		if (!(st->num & PF_WRITE)) {
			scn_skip(res, "a held R/O long-term pin needs gup_test's "
				 "PIN_LONGTERM_TEST_START (CONFIG_GUP_TEST)");
			return;
		}
		if (!(st->num & PF_FAST)) {
			scn_skip(res, "no system call pins through the slow path alone "
				 "(io_uring uses pin_user_pages_fast)");
			return;
		}
		/* FOLL_WRITE|FOLL_LONGTERM is what io_uring takes */
		/* fall through */
	case SK_REGISTER:
	case SK_RDMA: {
		long before = vmpin_kb();

		err = io_uring_queue_init(4, &h->ring, 0);
		if (err) {
			scn_fail(res, scn_errno_name(-err), "io_uring_queue_init");
			return;
		}
		err = io_uring_register_buffers(&h->ring, &iov, 1);
		if (err) {
			io_uring_queue_exit(&h->ring);
			memset(h, 0, sizeof(*h));
		} else {
			h->kind = KH_IOU;
			/*
			 * A pin charges no VmPin in Linux; its io_uring stand-in
			 * does. An RDMA registration charges one page per 4 KiB
			 * page (ib_umem_get()), where io_uring charges a huge
			 * page whole: what differs is taken off again.
			 */
			if (st->op == SK_PIN)
				h->vmpin_kb = vmpin_kb() - before;
			else if (st->op == SK_RDMA)
				h->vmpin_kb = vmpin_kb() - before -
					      (long)(((addr + len + KPAGE - 1) & ~(KPAGE - 1)) -
						     (addr & ~(KPAGE - 1))) / 1024;
		}
		scn_check_ret(st, err, res);
		return;
	}
	case SK_GET: {
		unsigned long done = 0;

		/* vmsplice(2): FOLL_GET references, one pipe buffer per page, 1 MiB a pipe */
		err = len > KPIPES * KPIPE_MAX ? -E2BIG : 0;
		while (!err && done < len) {
			unsigned long chunk = len - done < KPIPE_MAX ? len - done : KPIPE_MAX;
			struct iovec part = { (void *)(addr + done), chunk };
			int *pp = h->pipe[h->npipes];
			ssize_t n;

			if (pipe(pp)) {
				err = -errno;
				break;
			}
			h->npipes++;
			fcntl(pp[1], F_SETPIPE_SZ, (int)KPIPE_MAX);
			n = vmsplice(pp[1], &part, 1, 0);
			err = n == (ssize_t)chunk ? 0 : n < 0 ? -errno : -EFAULT;
			done += chunk;
		}
		h->kind = KH_GET;
		if (err)
			release(h);
		scn_check_ret(st, err, res);
		return;
	}
	case SK_ODP:
		scn_skip(res, "no on-demand-paging device on the live kernel");
		return;
	default:
		return;
	}
}

static void dio(struct kstate *k, const struct scn_step *st, struct scn_result *res)
{
	bool to_mem = st->op == SK_DIO_READ;
	int m = to_mem ? st->a : st->b, fd, dfd, err = 0;
	unsigned long addr = k->addr[m] + st->at, len = scn_len(k->s, st, m);
	unsigned long flen = (len + KPAGE - 1) & ~(KPAGE - 1);
	char path[128];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/dio-%d", k->dir, k->nfiles++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_pages(fd, to_mem ? (int)st->num : 0, flen) || fsync(fd)) {
		scn_fail(res, "EIO", "setting up %s failed", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	dfd = open(path, O_RDWR | O_DIRECT);
	if (dfd < 0) {
		scn_fail(res, scn_errno_name(errno), "open O_DIRECT");
		close(fd);
		return;
	}
	n = to_mem ? pread(dfd, (void *)addr, len, 0) : pwrite(dfd, (void *)addr, len, 0);
	if (n < 0)
		err = -errno;
	else if ((unsigned long)n != len)
		err = -EIO;
	close(dfd);
	if (scn_check_ret(st, err, res) && !to_mem) {
		struct khandle *h = &k->h[st->a];

		release(h);
		h->snap = malloc(len);
		if (!h->snap || pread(fd, h->snap, len, 0) != (ssize_t)len) {
			scn_fail(res, "EIO", "reading back what the disk got failed");
		} else {
			h->kind = KH_SNAP;
			h->addr = addr;
			h->len = len;
		}
	}
	close(fd);
}

static void child_loop(struct kstate *k, int cmd, int ack)
{
	int b;

	struct kcmd c;

	k->is_child = true;
	/*
	 * The parent's pins stay the parent's: close the inherited ring and pipe
	 * fds without unregistering (the ring is the parent's too).
	 */
	for (int i = 0; i < k->s->nr_handles; i++) {
		struct khandle *h = &k->h[i];

		if (h->kind == KH_IOU)
			io_uring_queue_exit(&h->ring);
		for (int j = 0; h->kind == KH_GET && j < h->npipes; j++) {
			close(h->pipe[j][0]);
			close(h->pipe[j][1]);
		}
		if (h->kind == KH_IOU || h->kind == KH_GET)
			memset(h, 0, sizeof(*h));
	}
	while (read(cmd, &c, sizeof(c)) == (ssize_t)sizeof(c) && c.block >= 0) {
		char ok = 1;

		/* what the parent skipped since the fork is skipped here too */
		for (int i = 0; i < SCN_MAX_NAMES; i++)
			if (!k->map_skipped_at[i])
				k->map_skipped_at[i] = c.map_skipped_at[i];
		if (!k->counters_skipped_at)
			k->counters_skipped_at = c.counters_skipped_at;
		b = c.block;
		run_steps(k, k->s->blocks[b].first, k->s->blocks[b].nr);
		if (write(ack, &ok, 1) != 1)
			break;
	}
	for (int i = 0; i < k->s->nr_handles; i++)
		release(&k->h[i]);
	_exit(0);
}

static int child_run(struct kstate *k, struct kchild *c, int block)
{
	struct kcmd cmd = { .block = block, .counters_skipped_at = k->counters_skipped_at };
	char ack;

	memcpy(cmd.map_skipped_at, k->map_skipped_at, sizeof(cmd.map_skipped_at));
	if (write(c->cmd, &cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd))
		return -EPIPE;
	if (read(c->ack, &ack, 1) != 1)
		return -EPIPE;
	return 0;
}

static void child_exit(struct kchild *c)
{
	struct kcmd stop = { .block = -1 };
	int status;

	if (write(c->cmd, &stop, sizeof(stop)) < 0) {
		/* it is gone already: waitpid() reaps it */
	}
	close(c->cmd);
	close(c->ack);
	waitpid(c->pid, &status, 0);
	memset(c, 0, sizeof(*c));
}

static void exec(struct kstate *k, int idx)
{
	const struct scenario *s = k->s;
	const struct scn_step *st = &s->steps[idx];
	struct scn_result res = { 0 };
	unsigned long addr = 0, len = 0;
	unsigned char *buf;
	int m = -1, err;

	m = scn_step_mapping(st);
	if (m >= 0) {
		addr = k->addr[m] + st->at;
		len = scn_len(s, st, m);
	}
	if (m >= 0 && k_map_hugetlb_why(s, m)) {
		scn_skip(&res, "%s", k_map_hugetlb_why(s, m));
		goto out;
	}
	if ((st->op == SK_DEVICE_WRITE || st->op == SK_EXPECT_DEVICE || st->op == SK_UNPIN) &&
	    k->h[st->a].kind != KH_NONE)
		m = k->h[st->a].map;
	if (m >= 0 && k->map_skipped_at[m]) {
		scn_skip(&res, "follows the skipped step at line %d on mapping %s",
			 k->map_skipped_at[m], s->maps[m].name);
		goto out;
	}
	if ((st->op == SK_EXPECT_ACQUIRED || st->op == SK_EXPECT_RELEASED) &&
	    k->counters_skipped_at) {
		scn_skip(&res, "a pin step at line %d was skipped", k->counters_skipped_at);
		goto out;
	}
	if (st->op == SK_COUNTERS)
		k->counters_skipped_at = 0;
	switch (st->op) {
	case SK_FILE:
		if (k_file_hugetlb_why(&s->files[st->a]))
			scn_skip(&res, "%s", k_file_hugetlb_why(&s->files[st->a]));
		else
			scn_check_ret(st, make_file(k, st->a), &res);
		break;
	case SK_MAP:
		if (k_map_hugetlb_why(s, st->a))
			scn_skip(&res, "%s", k_map_hugetlb_why(s, st->a));
		else
			scn_check_ret(st, do_map(k, st), &res);
		break;
	case SK_POPULATE:
		err = madvise((void *)addr, len, st->num ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
		scn_check_ret(st, err ? -errno : 0, &res);
		break;
	case SK_WRITE:
		buf = malloc(len);
		if (!buf)
			_exit(3);
		memset(buf, (int)st->num, len);
		scn_check_ret(st, cpu_copy((void *)addr, buf, len), &res);
		free(buf);
		break;
	case SK_FORCE_WRITE: {
		int fd = open("/proc/self/mem", O_RDWR);
		ssize_t n;

		buf = malloc(len);
		if (!buf || fd < 0)
			_exit(3);
		memset(buf, (int)st->num, len);
		n = pwrite(fd, buf, len, (off_t)addr);
		err = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EFAULT;
		close(fd);
		free(buf);
		scn_check_ret(st, err, &res);
		break;
	}
	case SK_MPROTECT:
		err = mprotect((void *)addr, len, (st->num & SCN_PROT_READ ? PROT_READ : 0) |
						 (st->num & SCN_PROT_WRITE ? PROT_WRITE : 0));
		scn_check_ret(st, err ? -errno : 0, &res);
		break;
	case SK_MUNMAP:
		scn_check_ret(st, munmap((void *)addr, len) ? -errno : 0, &res);
		break;
	case SK_MLOCK:
		err = (int)syscall(SYS_mlock2, addr, len, st->num ? MLOCK_ONFAULT : 0);
		scn_check_ret(st, err ? -errno : 0, &res);
		break;
	case SK_MUNLOCK:
		scn_check_ret(st, munlock((void *)addr, len) ? -errno : 0, &res);
		break;
	case SK_MREMAP: {
		/* cow.c's "partially mremap()'ed THP": a PROT_NONE place, MREMAP_FIXED onto it */
		void *to = mmap(k_place(k, len, KPAGE), len, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (to != MAP_FAILED)
			to = mremap((void *)addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (to != MAP_FAILED)
			k->addr[st->b] = (unsigned long)to;
		scn_check_ret(st, to == MAP_FAILED ? -errno : 0, &res);
		break;
	}
	case SK_MADVISE: {
		static const int adv[] = {
			[ADV_DONTNEED] = MADV_DONTNEED, [ADV_HUGEPAGE] = MADV_HUGEPAGE,
			[ADV_NOHUGEPAGE] = MADV_NOHUGEPAGE, [ADV_DONTFORK] = MADV_DONTFORK,
			[ADV_DOFORK] = MADV_DOFORK, [ADV_POPULATE_READ] = MADV_POPULATE_READ,
			[ADV_POPULATE_WRITE] = MADV_POPULATE_WRITE,
			[ADV_COLLAPSE] = MADV_COLLAPSE, [ADV_COLD] = MADV_COLD,
			[ADV_PAGEOUT] = MADV_PAGEOUT,
			[ADV_MERGEABLE] = MADV_MERGEABLE,
			[ADV_UNMERGEABLE] = MADV_UNMERGEABLE,
			[ADV_FREE] = MADV_FREE, [ADV_REMOVE] = MADV_REMOVE,
			[ADV_WILLNEED] = MADV_WILLNEED, [ADV_NORMAL] = MADV_NORMAL,
			[ADV_RANDOM] = MADV_RANDOM, [ADV_SEQUENTIAL] = MADV_SEQUENTIAL,
			[ADV_GUARD_INSTALL] = MADV_GUARD_INSTALL,
			[ADV_GUARD_REMOVE] = MADV_GUARD_REMOVE,
			[ADV_DONTNEED_LOCKED] = MADV_DONTNEED_LOCKED,
		};

		err = madvise((void *)addr, len, adv[st->num]);
		/*
		 * MADV_COLLAPSE's EAGAIN means "retry": the kernel reads swapped-out
		 * pages asynchronously and answers it while the read is in flight.
		 * A few tries, as a program told to retry does (docs/scenarios.md).
		 */
		for (int tries = 1; err && errno == EAGAIN && st->num == ADV_COLLAPSE &&
		     tries < SCN_COLLAPSE_TRIES; tries++) {
			usleep(10000);
			err = madvise((void *)addr, len, adv[st->num]);
		}
		scn_check_ret(st, err ? -errno : 0, &res);
		break;
	}
	case SK_FORK: {
		struct kchild *c = &k->child[st->a];
		int cmd[2], ack[2];
		pid_t pid;

		if (c->pid) {
			scn_fail(&res, "busy", "child %s is alive", s->children[st->a]);
			break;
		}
		if (pipe(cmd) || pipe(ack))
			_exit(3);
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			scn_fail(&res, scn_errno_name(errno), "fork");
			break;
		}
		if (!pid) {
			close(cmd[1]);
			close(ack[0]);
			for (int i = 0; i < s->nr_children; i++)
				if (k->child[i].pid) {
					close(k->child[i].cmd);
					close(k->child[i].ack);
					k->child[i].pid = 0;
				}
			child_loop(k, cmd[0], ack[1]);
		}
		close(cmd[0]);
		close(ack[1]);
		c->pid = pid;
		c->cmd = cmd[1];
		c->ack = ack[0];
		scn_check_ret(st, 0, &res);
		/* the child's block reports its own rows; ours is the fork */
		emit(k, idx, &res);
		if (st->b >= 0 && child_run(k, c, st->b))
			child_exit(c);
		return;
	}
	case SK_IN:
		if (!k->child[st->a].pid) {
			scn_fail(&res, "no child", "child %s is not alive", s->children[st->a]);
			break;
		}
		scn_pass(&res, "ok");
		emit(k, idx, &res);
		if (child_run(k, &k->child[st->a], st->b))
			child_exit(&k->child[st->a]);
		return;
	case SK_EXIT:
		if (!k->child[st->a].pid) {
			scn_fail(&res, "no child", "child %s is not alive", s->children[st->a]);
			break;
		}
		child_exit(&k->child[st->a]);
		scn_pass(&res, "ok");
		break;
	case SK_PIN: case SK_GET: case SK_REGISTER: case SK_RDMA: case SK_ODP:
		take(k, st, &res);
		break;
	case SK_UNPIN:
		if (k->h[st->a].kind == KH_NONE) {
			/* a handle whose taking was skipped is skipped with it */
			scn_skip(&res, "handle %s is not held here", s->handles[st->a]);
			break;
		}
		release(&k->h[st->a]);
		scn_check_ret(st, 0, &res);
		break;
	case SK_DEVICE_WRITE:
	case SK_EXPECT_DEVICE: {
		struct khandle *h = &k->h[st->a];

		if (h->kind == KH_NONE) {
			scn_skip(&res, "handle %s is not held here", s->handles[st->a]);
			break;
		}
		len = st->len ? st->len : (st->at < h->len ? h->len - st->at : 0);
		if (!len || st->at + len > h->len) {
			scn_fail(&res, "EINVAL", "range outside handle %s", s->handles[st->a]);
			break;
		}
		if (st->op == SK_DEVICE_WRITE) {
			if (h->kind == KH_GET) {
				scn_skip(&res, "vmsplice's references are read-only: no device write");
				break;
			}
			scn_check_ret(st, device_write(h, st->at, (int)st->num, len), &res);
			break;
		}
		buf = malloc(len);
		if (!buf)
			_exit(3);
		err = device_read(h, st->at, buf, len);
		if (err)
			scn_fail(&res, scn_errno_name(-err), "the device could not read");
		else
			scn_check_bytes(st, buf, len, &res);
		free(buf);
		break;
	}
	case SK_DIO_READ:
	case SK_DIO_WRITE:
		dio(k, st, &res);
		break;
	case SK_MARK:
		k->label_pfn[st->a] = frame_at(addr);
		if (!k->label_pfn[st->a])
			scn_fail(&res, "none", "nothing is mapped at %s+%lu", s->maps[m].name, st->at);
		else
			scn_pass(&res, "ok");
		break;
	case SK_KSM_MERGE: {
		char why[160];

		if (ksm_merge_now(why, sizeof(why))) {
			/* nothing merged: every mapping's later rows are not pinmm's state */
			for (int i = 0; i < s->nr_maps; i++)
				if (!k->map_skipped_at[i])
					k->map_skipped_at[i] = st->line;
			scn_skip(&res, "%s", why);
		} else
			scn_pass(&res, "ok");
		break;
	}
	case SK_COUNTERS:
		stat_refresh();
		k->acq0 = read_vmstat("nr_foll_pin_acquired");
		k->rel0 = read_vmstat("nr_foll_pin_released");
		scn_pass(&res, "ok");
		break;
	case SK_EXPECT_DATA:
		buf = malloc(len);
		if (!buf)
			_exit(3);
		if (cpu_copy(buf, (void *)addr, len))
			scn_fail(&res, "EFAULT", "the CPU read faulted");
		else
			scn_check_bytes(st, buf, len, &res);
		free(buf);
		break;
	case SK_EXPECT_FRAME: {
		uint64_t pfn = frame_at(addr);
		bool same = pfn && pfn == k->label_pfn[st->a];

		if (!pfn)
			scn_fail(&res, "none", "nothing mapped");
		else if (same == (st->num == 1))
			scn_pass(&res, "%s", same ? "same" : "new");
		else
			scn_fail(&res, same ? "same" : "new", "expected a %s frame",
				 st->num ? "same" : "new");
		break;
	}
	case SK_EXPECT_ACQUIRED:
	case SK_EXPECT_RELEASED: {
		char obs[24];
		long d;

		stat_refresh();
		d = st->op == SK_EXPECT_ACQUIRED ? read_vmstat("nr_foll_pin_acquired") - k->acq0
						 : read_vmstat("nr_foll_pin_released") - k->rel0;
		snprintf(obs, sizeof(obs), "%ld", d);
		if (d == st->num)
			scn_pass(&res, "%s", obs);
		else
			scn_fail(&res, obs, "expected %ld (global counter: other processes count too)",
				 st->num);
		break;
	}
	case SK_EXPECT_VMLCK:
	case SK_EXPECT_VMPIN: {
		long kb = st->op == SK_EXPECT_VMLCK ? status_kb("VmLck") : vmpin_kb();
		char obs[24];

		for (int i = 0; st->op == SK_EXPECT_VMPIN && i < s->nr_handles; i++)
			if (k->h[i].kind == KH_IOU)
				kb -= k->h[i].vmpin_kb;
		snprintf(obs, sizeof(obs), "%ldK", kb);
		if (kb == st->num)
			scn_pass(&res, "%s", obs);
		else
			scn_fail(&res, obs, "expected %ldK", st->num);
		break;
	}
	case SK_EXPECT_SWAPPED: {
		long n = pages_swapped(addr, len), all = (long)(len / KPAGE);
		bool want = st->num == 1;

		/* cow.c skips its swap rows when MADV_PAGEOUT could not swap */
		if (!kernel_has_swap())
			scn_skip(&res, "no swap area on this kernel");
		else if (n < 0)
			scn_fail(&res, "none", "no /proc/self/pagemap");
		else if (want ? n == all : n == 0)
			scn_pass(&res, "%s", want ? "yes" : "no");
		else
			scn_fail(&res, n == all ? "yes" : n ? "part" : "no", "%ld of %ld pages swapped",
				 n, all);
		break;
	}
	case SK_EXPECT_KSM: {
		uint64_t pfn = frame_at(addr);
		int ksm = pfn ? kpageflag(pfn, KPF_KSM) : -1;

		if (ksm < 0)
			scn_fail(&res, "none", "nothing mapped, or no /proc/kpageflags");
		else if (ksm == (st->num == 1))
			scn_pass(&res, "%s", ksm ? "yes" : "no");
		else
			scn_fail(&res, ksm ? "yes" : "no", "KSM bit of /proc/kpageflags");
		break;
	}
	case SK_EXPECT_THP: {
		uint64_t pfn = frame_at(addr);
		int thp = pfn ? kpageflag(pfn, KPF_THP) : -1;

		if (thp < 0)
			scn_fail(&res, "none", "nothing mapped, or no /proc/kpageflags");
		else if (thp == (st->num == 1))
			scn_pass(&res, "%s", thp ? "yes" : "no");
		else
			scn_fail(&res, thp ? "yes" : "no", "THP bit of /proc/kpageflags");
		break;
	}
	default:
		scn_fail(&res, "?", "step not handled");
		break;
	}
out:
	if (res.verdict == SV_SKIP && !scn_is_expectation(st->op)) {
		if (m >= 0 && !k->map_skipped_at[m])
			k->map_skipped_at[m] = st->line;
		/* the moved part is as skipped as the mapping it came from */
		if (st->op == SK_MREMAP && !k->map_skipped_at[st->b])
			k->map_skipped_at[st->b] = st->line;
		if (st->op >= SK_PIN && st->op <= SK_FORCE_WRITE && !k->counters_skipped_at)
			k->counters_skipped_at = st->line;
	}
	emit(k, idx, &res);
}

static void run_steps(struct kstate *k, int first, int nr)
{
	for (int i = first; i < first + nr; i++)
		exec(k, i);
}

static void worker(const struct scenario *s, int out)
{
	struct kstate *k = calloc(1, sizeof(*k));
	struct sigaction sa = { .sa_handler = on_fault };
	const char *tmp = getenv("PINMM_RUN_DIR");

	if (!k)
		_exit(3);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	k->s = s;
	k->out = out;
	/* disk files belong on a disk file system: /var/tmp, not a tmpfs /tmp */
	snprintf(k->dir, sizeof(k->dir), "%s/pinmm-run-XXXXXX", tmp ? tmp : "/var/tmp");
	if (!mkdtemp(k->dir))
		_exit(4);
	stat_refresh();
	k->acq0 = read_vmstat("nr_foll_pin_acquired");
	k->rel0 = read_vmstat("nr_foll_pin_released");
	run_steps(k, 0, s->main_nr);
	for (int i = 0; i < s->nr_children; i++)
		if (k->child[i].pid)
			child_exit(&k->child[i]);
	for (int i = 0; i < s->nr_handles; i++)
		release(&k->h[i]);
	for (int i = 0; i < s->nr_files; i++)
		if (k->fd[i] > 0)
			close(k->fd[i]);
	/* remove what the scenario made in its directory */
	for (int i = 0; i < s->nr_files; i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/%s", k->dir, s->files[i].name);
		unlink(path);
	}
	for (int i = 0; i < k->nfiles; i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/dio-%d", k->dir, i);
		unlink(path);
	}
	rmdir(k->dir);
	_exit(0);
}

static int k_run(const struct scenario *s, struct scn_result *res, char *err, size_t errlen)
{
	struct krecord rec;
	int p[2], status;
	long old_nr, old_gig;
	pid_t pid;

	if (pipe(p)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	old_nr = k_hugetlb_setup(s);
	old_gig = k_gigantic_setup(s);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		if (old_nr >= 0)
			k_sysctl_write(K_NR_HUGEPAGES, old_nr);
		if (old_gig >= 0)
			k_sysctl_write(k_gigantic_path(), old_gig);
		return -EAGAIN;
	}
	if (!pid) {
		close(p[0]);
		worker(s, p[1]);
	}
	close(p[1]);
	while (read(p[0], &rec, sizeof(rec)) == (ssize_t)sizeof(rec))
		if (rec.idx >= 0 && rec.idx < s->nr_steps)
			res[rec.idx] = rec.r;
	close(p[0]);
	waitpid(pid, &status, 0);
	/* the worker's hugetlb pages are free again: give the pool back */
	if (old_nr >= 0 && !k_sysctl_write(K_NR_HUGEPAGES, old_nr))
		fprintf(stderr, "pinmm run: could not restore %s to %ld\n", K_NR_HUGEPAGES, old_nr);
	if (old_gig >= 0 && (!k_sysctl_write(k_gigantic_path(), old_gig) ||
			     k_sysctl_read(k_gigantic_path()) != old_gig))
		fprintf(stderr, "pinmm run: could not restore %s to %ld\n", k_gigantic_path(), old_gig);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, errlen, "%s: the kernel worker died (status %#x)", s->path, status);
		return -ECHILD;
	}
	return 0;
}

static const char *k_unavailable(void)
{
	static char why[160];
	struct io_uring ring;
	int e;

	/* tests stand in for a kernel built or configured without io_uring */
	if (getenv("PINMM_RUN_NO_IO_URING"))
		return "io_uring is disabled (PINMM_RUN_NO_IO_URING)";
	if (geteuid())
		return "not root (pagemap PFNs, kpageflags and vm/stat_refresh need it)";
	e = io_uring_queue_init(4, &ring, 0);
	if (e) {
		snprintf(why, sizeof(why), "io_uring_queue_init: %s (io_uring disabled?)",
			 strerror(-e));
		return why;
	}
	io_uring_queue_exit(&ring);
	if (!frame_at((unsigned long)why) && !frame_at((unsigned long)&ring))
		return "/proc/self/pagemap shows no PFNs";
	return NULL;
}

const struct scn_backend scn_backend_kernel = {
	.name = "kernel",
	.run = k_run,
	.unavailable = k_unavailable,
};
