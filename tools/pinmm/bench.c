// SPDX-License-Identifier: MIT
/*
 * pinmm bench: the kernel's gup_test, run on pinmm.
 *
 * Same flags and the same output as tools/testing/selftests/mm/gup_test.c,
 * and the same driver: each of -j threads opens drivers/gup_test.c's file and
 * runs -r repeats of the chosen command through gup_test_ioctl() over a
 * private (or -S shared) anonymous mapping of -m MiB populated first, -n
 * pages per call, printing "<COMMAND>: Time: get:<us> put:<us> us" per repeat
 * (", truncated (size: <bytes>)" when the driver covered less). The driver
 * checks every pinned page outside the timed window - folio_maybe_dma_pinned(),
 * and folio_is_longterm_pinnable() for long-term pins - and WARNs as Linux's
 * does; here a WARN fails the run. -c runs DUMP_USER_PAGES_TEST once per thread
 * instead ("DUMP_USER_PAGES_TEST: done", dumps on stderr).
 *
 * --kernel registers the same amount of memory as an io_uring fixed buffer on
 * the live kernel in the same run (that is pin_user_pages_fast() with
 * FOLL_WRITE|FOLL_LONGTERM there), checks that /proc/vmstat's pin counters
 * moved, and prints both figures and the ratio. It skips cleanly where
 * io_uring is unavailable.
 */
#include "pinmm.h"

#include <errno.h>
#include <liburing.h>
#include <pinmm/bug.h>
#include <pinmm/gup.h>
#include <pinmm/gup_test.h>
#include <pinmm/hugetlb.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const char *cmd_name(unsigned int cmd)
{
	switch (cmd) {
	case GUP_FAST_BENCHMARK: return "GUP_FAST_BENCHMARK";
	case PIN_FAST_BENCHMARK: return "PIN_FAST_BENCHMARK";
	case PIN_LONGTERM_BENCHMARK: return "PIN_LONGTERM_BENCHMARK";
	case GUP_BASIC_TEST: return "GUP_BASIC_TEST";
	case PIN_BASIC_TEST: return "PIN_BASIC_TEST";
	case DUMP_USER_PAGES_TEST: return "DUMP_USER_PAGES_TEST";
	}
	return "Unknown command";
}

struct bench_run {
	struct bench_opts *o;
	struct task_struct *task;
	struct gup_test req;		/* the request every repeat starts from */
	pthread_mutex_t *print_lock;	/* one thread's line at a time, as gup_test's */
	int status;			/* the failing ioctl's errno, or 0 */
	unsigned long pages;		/* covered by the last repeat that covered any (0: none) */
	double get_ns_best, put_ns_best;	/* per page, fastest repeat */
	double get_ns_total, put_ns_total;	/* over all repeats */
	unsigned long pages_total;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The command as bench-report names it. */
static const char *cmd_short_name(unsigned int cmd)
{
	switch (cmd) {
	case GUP_FAST_BENCHMARK: return "gup-fast";
	case PIN_FAST_BENCHMARK: return "pin-fast";
	case PIN_LONGTERM_BENCHMARK: return "pin-longterm";
	case GUP_BASIC_TEST: return "gup-basic";
	case PIN_BASIC_TEST: return "pin-basic";
	}
	return "unknown";
}

/*
 * The lines make bench-report reads (bench/report.h's format): pin and unpin
 * per page, with the kernel's io_uring figures when --kernel ran ("n/a" when
 * it was asked for and unavailable).
 */
static void report_lines(const struct bench_opts *o, double pin_ns, double unpin_ns, int kret,
			 double kpin, double kunpin)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s-%s", cmd_short_name(o->cmd),
		 (o->gup_flags & FOLL_LONGTERM) && o->cmd != PIN_LONGTERM_BENCHMARK ?
		 "-longterm" : "", o->gigantic ? "hugetlb1g" : o->hugetlb ? "hugetlb" :
		 o->thp ? "thp" : "4k");
	for (int unpin = 0; unpin < 2; unpin++) {
		printf("REPORT name=%s-%s pinmm=%.3f", name, unpin ? "unpin" : "pin",
		       unpin ? unpin_ns : pin_ns);
		if (o->kernel && kret)
			printf(" kernel=n/a");
		else if (o->kernel)
			printf(" kernel=%.3f", unpin ? kunpin : kpin);
		printf(" unit=ns/page\n");
	}
}

static void *bench_thread(void *arg)
{
	struct bench_run *r = arg;
	struct bench_opts *o = r->o;
	struct gup_test_file *file;
	bool dump = o->cmd == DUMP_USER_PAGES_TEST;

	pinmm_task_attach(r->task);
	file = gup_test_open();
	if (!file) {
		r->status = -ENOMEM;
		goto out;
	}
	/* the dump is a test, run once; the benchmarks are timed per repeat */
	for (int rep = 0; rep < (dump ? 1 : o->repeats); rep++) {
		struct gup_test g = r->req;
		uint64_t get_ns, put_ns;
		unsigned long pages;

		r->status = (int)gup_test_ioctl(file, o->cmd, &g);
		if (r->status)
			break;
		pthread_mutex_lock(r->print_lock);
		if (dump) {
			printf("%s: done\n", cmd_name(o->cmd));
			if (g.size != o->size)
				printf("Truncated (size: %llu)\n", (unsigned long long)g.size);
		} else {
			printf("%s: Time: get:%llu put:%llu us", cmd_name(o->cmd),
			       (unsigned long long)g.get_delta_usec,
			       (unsigned long long)g.put_delta_usec);
			if (g.size != o->size)
				printf(", truncated (size: %llu)", (unsigned long long)g.size);
			printf("\n");
		}
		pthread_mutex_unlock(r->print_lock);

		/* the figures: ns per page covered, the driver's clock before rounding */
		pinmm_gup_test_times(file, &get_ns, &put_ns);
		pages = g.size >> PAGE_SHIFT;
		r->get_ns_total += get_ns;
		r->put_ns_total += put_ns;
		r->pages_total += pages;
		if (pages && (!r->pages || (double)get_ns / pages < r->get_ns_best))
			r->get_ns_best = (double)get_ns / pages;
		if (pages && (!r->pages || (double)put_ns / pages < r->put_ns_best))
			r->put_ns_best = (double)put_ns / pages;
		if (pages)
			r->pages = pages;
	}
	gup_test_release(file);
out:
	pinmm_task_detach();
	return NULL;
}

/* ---- the live kernel: io_uring fixed-buffer registration ------------------- */

static long vmstat_read(const char *name)
{
	char key[64];
	long val;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name)) {
			fclose(f);
			return val;
		}
	fclose(f);
	return -1;
}

#define NR_HUGEPAGES_PATH	"/proc/sys/vm/nr_hugepages"

static long sysctl_read(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int sysctl_write(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", v) < 0)
		ret = -EIO;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/*
 * -H on the live kernel: raise vm.nr_hugepages by what @size needs; *@old
 * receives the value to restore. Return: 0, or -errno with nothing changed
 * (no permission, or the kernel could not find the memory).
 */
static int kernel_hugetlb_setup(unsigned long size, long *old)
{
	long want, got;
	int ret;

	*old = sysctl_read(NR_HUGEPAGES_PATH);
	if (*old < 0)
		return -ENOENT;
	want = *old + (long)(size / HPAGE_SIZE);
	ret = sysctl_write(NR_HUGEPAGES_PATH, want);
	got = sysctl_read(NR_HUGEPAGES_PATH);
	if (ret || got < want) {
		sysctl_write(NR_HUGEPAGES_PATH, *old);
		return ret ? ret : -ENOMEM;
	}
	return 0;
}

/*
 * Register @size bytes of populated anonymous memory (THP if @thp, MAP_HUGETLB
 * if @hugetlb) as one io_uring fixed buffer per GiB, and time registration
 * and unregistration.
 * Return: 0 with the two times set, or -errno (the caller prints a skip).
 */
static int kernel_register(unsigned long size, bool thp, bool hugetlb, double *get_ns,
			   double *put_ns, long *acquired, long *released)
{
	unsigned long nbuf = DIV_ROUND_UP(size, 1UL << 30), done = 0;
	struct io_uring ring;
	struct iovec *iov = calloc(nbuf, sizeof(*iov));
	char *raw, *mem;
	long a0, r0;
	double t0;
	int ret;

	if (hugetlb) {
		/* the kernel aligns MAP_HUGETLB memory itself */
		raw = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (raw == MAP_FAILED) {
			free(iov);
			return -errno;
		}
		mem = raw;
	} else {
		raw = mmap(NULL, size + PMD_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (raw == MAP_FAILED) {
			free(iov);
			return -ENOMEM;
		}
		mem = (char *)ALIGN((unsigned long)raw, PMD_SIZE);
		madvise(mem, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	}
	for (unsigned long off = 0; off < size; off += PAGE_SIZE)
		mem[off] = 1;
	for (unsigned long i = 0; i < nbuf; i++) {
		iov[i].iov_base = mem + done;
		iov[i].iov_len = min(1UL << 30, size - done);
		done += iov[i].iov_len;
	}
	ret = io_uring_queue_init(8, &ring, 0);
	if (ret < 0)
		goto out_unmap;
	a0 = vmstat_read("nr_foll_pin_acquired");
	r0 = vmstat_read("nr_foll_pin_released");
	t0 = now_ns();
	ret = io_uring_register_buffers(&ring, iov, (unsigned int)nbuf);
	*get_ns = now_ns() - t0;
	if (ret < 0)
		goto out_ring;
	*acquired = vmstat_read("nr_foll_pin_acquired") - a0;
	t0 = now_ns();
	io_uring_unregister_buffers(&ring);
	*put_ns = now_ns() - t0;
	*released = vmstat_read("nr_foll_pin_released") - r0;
	ret = 0;
out_ring:
	io_uring_queue_exit(&ring);
out_unmap:
	munmap(raw, hugetlb ? size : size + PMD_SIZE);
	free(iov);
	return ret;
}

/* ---- setup ----------------------------------------------------------------- */

int cmd_bench(struct tool_opts *to, int argc, char **argv)
{
	pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
	struct bench_opts o;
	struct task_struct *task;
	struct bench_run *runs;
	pthread_t *tids;
	unsigned long addr, nr_pages, warns;
	double pin_ns = 0, unpin_ns = 0, kget = 0, kput = 0, mean_get = 0, mean_put = 0;
	long kacq = 0, krel = 0;
	int ret, failed = 0, kret = -ENOSYS;
	bool dump;

	ret = bench_parse_opts(&o, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	if (o.hugetlb) {
		/* gup_test -H: the same range in 2 MiB hugetlb pages, the pool sized to it */
		o.size = ALIGN(o.size, o.gigantic ? PUD_SIZE : HPAGE_SIZE);
		o.thp = o.nothp = false;
	}
	dump = o.cmd == DUMP_USER_PAGES_TEST;
	nr_pages = o.size >> PAGE_SHIFT;
	/* room for the mapping plus its page tables, whatever the zones */
	if (to->cfg.mem_bytes < o.size + (512UL << 20)) {
		to->cfg.mem_bytes = ALIGN(o.size + (512UL << 20), PMD_SIZE);
		to->cfg.movable_bytes = min(to->cfg.movable_bytes, to->cfg.mem_bytes / 4);
	}
	if (o.gigantic) {
		/*
		 * 1 GiB pages come from 1 GiB aligned ZONE_NORMAL ranges that
		 * alloc_contig_range() can empty: the first GiB holds the boot
		 * allocations, the CMA area sits at the end.
		 */
		to->cfg.mem_bytes = max(to->cfg.mem_bytes, o.size + PUD_SIZE + to->cfg.cma_bytes +
					to->cfg.movable_bytes);
	} else if (o.hugetlb) {
		to->cfg.nr_hugepages = max(to->cfg.nr_hugepages, o.size / HPAGE_SIZE);
	}
	if (tool_boot(to, "pinmm bench"))
		return 1;
	if (o.gigantic && pinmm_hugepages_set_nr(PUD_SIZE, o.size / PUD_SIZE) <
			  (long)(o.size / PUD_SIZE)) {
		fprintf(stderr, "pinmm bench: no room for %lu gigantic pages\n", o.size / PUD_SIZE);
		return 1;
	}
	task = pinmm_task_create("gup_test");
	pinmm_task_attach(task);
	addr = vm_mmap(NULL, 0, o.size, PROT_READ | PROT_WRITE,
		       (o.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
		       (o.hugetlb ? MAP_HUGETLB : 0) | (o.gigantic ? MAP_HUGE_1GB : 0), 0);
	if (IS_ERR_VALUE(addr)) {
		fprintf(stderr, "pinmm bench: mmap of %lu MiB%s failed: %s\n", o.size >> 20,
			o.hugetlb ? " of hugetlb memory" : "", strerror((int)-(long)addr));
		return 1;
	}
	if (o.thp)
		do_madvise(current->mm, addr, o.size, MADV_HUGEPAGE);
	if (o.nothp)
		do_madvise(current->mm, addr, o.size, MADV_NOHUGEPAGE);
	/* gup_test touches every page first so GUP-fast can succeed */
	ret = do_madvise(current->mm, addr, o.size, MADV_POPULATE_WRITE);
	if (ret) {
		fprintf(stderr, "pinmm bench: populating failed: %s\n", strerror(-ret));
		return 1;
	}
	pinmm_task_detach();

	printf("TAP version 13\n1..%d\n", o.threads);
	runs = calloc((size_t)o.threads, sizeof(*runs));
	tids = calloc((size_t)o.threads, sizeof(*tids));
	warns = pinmm_warn_count();
	for (int i = 0; i < o.threads; i++) {
		runs[i] = (struct bench_run){
			.o = &o, .task = task, .print_lock = &print_lock,
			.req = {
				.addr = addr, .size = o.size,
				/* -n -1: the whole range in one call */
				.nr_pages_per_call = o.nr_pages_per_call < 0 ? (uint32_t)nr_pages :
						     (uint32_t)o.nr_pages_per_call,
				.gup_flags = o.gup_flags | (o.write ? FOLL_WRITE : 0),
				.test_flags = o.test_flags,
			},
		};
		memcpy(runs[i].req.which_pages, o.which_pages, sizeof(o.which_pages));
		pthread_create(&tids[i], NULL, bench_thread, &runs[i]);
	}
	for (int i = 0; i < o.threads; i++) {
		pthread_join(tids[i], NULL);
		printf("%sok %d ioctl status %d\n", runs[i].status ? "not " : "", i + 1,
		       runs[i].status);
		failed |= runs[i].status != 0;
	}
	if (pinmm_warn_count() != warns) {
		/* Linux's driver only WARNs when a pinned page fails its checks */
		fprintf(stderr, "pinmm bench: a WARN fired during the run (see above)\n");
		failed = 1;
	}
	pin_ns = runs[0].get_ns_best;
	unpin_ns = runs[0].put_ns_best;
	if (runs[0].pages_total) {
		mean_get = runs[0].get_ns_total / runs[0].pages_total;
		mean_put = runs[0].put_ns_total / runs[0].pages_total;
	}
	pinmm_task_attach(task);
	vm_munmap(addr, o.size);
	pinmm_task_detach();
	pinmm_task_exit(task);
	if (pinmm_shutdown())
		failed = 1;
	if (dump) {
		free(runs);
		free(tids);
		return failed ? 1 : 0;
	}

	if (o.kernel) {
		long old_nr = -1;

		kret = o.hugetlb ? kernel_hugetlb_setup(o.size, &old_nr) : 0;
		if (kret)
			printf("# kernel: cannot raise %s by %lu (%s): no hugetlb pool\n",
			       NR_HUGEPAGES_PATH, o.size / HPAGE_SIZE, strerror(-kret));
		/* as many tries as pinmm had, best of them, like pinmm's figure */
		for (int rep = 0; !kret && rep < o.repeats; rep++) {
			double g = 0, p = 0;

			kret = kernel_register(o.size, o.thp, o.hugetlb, &g, &p, &kacq, &krel);
			if (kret)
				break;
			kget = rep ? min(kget, g) : g;
			kput = rep ? min(kput, p) : p;
		}
		if (old_nr >= 0 && sysctl_write(NR_HUGEPAGES_PATH, old_nr))
			fprintf(stderr, "pinmm bench: could not restore %s to %ld\n",
				NR_HUGEPAGES_PATH, old_nr);
		if (kret) {
			printf("# kernel: io_uring fixed-buffer registration unavailable (%s): skipped\n",
			       strerror(-kret));
		} else {
			printf("# kernel: io_uring register %lu MiB: get:%.0f put:%.0f us "
			       "(nr_foll_pin_acquired +%ld, nr_foll_pin_released +%ld)\n",
			       o.size >> 20, kget / 1000, kput / 1000, kacq, krel);
			if (kacq < (long)nr_pages || krel < (long)nr_pages)
				printf("# kernel: pin counters moved less than one per page\n");
		}
	}
	if (runs[0].pages) {
		printf("# %s %s: best of %d: pin %.2f ns/page, unpin %.2f ns/page; mean pin %.2f, "
		       "unpin %.2f (%lu pages, %ld per call, %d thread(s))\n",
		       cmd_name(o.cmd), o.gigantic ? "hugetlb 1G" : o.hugetlb ? "hugetlb" :
		       o.thp ? "THP" : "4KiB", o.repeats, pin_ns, unpin_ns,
		       mean_get, mean_put, nr_pages, o.nr_pages_per_call, o.threads);
		report_lines(&o, pin_ns, unpin_ns, kret, kget / nr_pages, kput / nr_pages);
	} else {
		/* no REPORT line either: there is no figure to draw */
		printf("# %s %s: no page covered in %d repeat(s) (%ld per call): no figure\n",
		       cmd_name(o.cmd), o.hugetlb ? "hugetlb" : o.thp ? "THP" : "4KiB", o.repeats, o.nr_pages_per_call);
	}
	if (!kret) {
		double kp = kget / nr_pages, ku = kput / nr_pages;

		if (runs[0].pages) {
			printf("unpin ns/page: pinmm %.2f kernel %.2f ratio %.2f\n", unpin_ns, ku,
			       ku / unpin_ns);
			printf("pin ns/page: pinmm %.2f kernel %.2f ratio %.2f\n", pin_ns, kp,
			       kp / pin_ns);
		} else {
			printf("unpin ns/page: pinmm n/a kernel %.2f ratio n/a\n", ku);
			printf("pin ns/page: pinmm n/a kernel %.2f ratio n/a\n", kp);
		}
	} else if (runs[0].pages) {
		printf("pin ns/page: pinmm %.2f kernel n/a ratio n/a\n", pin_ns);
	} else {
		printf("pin ns/page: pinmm n/a kernel n/a ratio n/a\n");
	}
	free(runs);
	free(tids);
	return failed ? 1 : 0;
}
