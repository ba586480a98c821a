// SPDX-License-Identifier: MIT
/*
 * pinmm bench: the kernel's gup_test, run on pinmm.
 *
 * Same flags and the same output as tools/testing/selftests/mm/gup_test.c:
 * a private (or -S shared) anonymous mapping of -m MiB is populated, then each
 * of -j threads runs -r repeats of the chosen command over it, -n pages per
 * call, printing "<COMMAND>: Time: get:<us> put:<us> us" per repeat. Outside
 * the timed window every page is checked: pinned pages must report
 * folio_maybe_dma_pinned() and long-term pins folio_is_longterm_pinnable()
 * (the live driver only WARNs; here it fails the run).
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
#include <pinmm/gup.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const char *const cmd_names[] = {
	[GUP_FAST_BENCHMARK] = "GUP_FAST_BENCHMARK",
	[PIN_FAST_BENCHMARK] = "PIN_FAST_BENCHMARK",
	[PIN_LONGTERM_BENCHMARK] = "PIN_LONGTERM_BENCHMARK",
	[GUP_BASIC_TEST] = "GUP_BASIC_TEST",
	[PIN_BASIC_TEST] = "PIN_BASIC_TEST",
};

struct bench_run {
	struct bench_opts *o;
	struct task_struct *task;
	unsigned long addr;
	int id;
	int failed;
	double get_ns_total, put_ns_total;	/* over all repeats */
	double get_ns_best, put_ns_best;	/* fastest repeat */
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static bool cmd_is_pin(enum gup_cmd c)
{
	return c == PIN_FAST_BENCHMARK || c == PIN_LONGTERM_BENCHMARK || c == PIN_BASIC_TEST;
}

/* One GUP call of @nr pages at @addr, as the gup_test driver makes it. */
static long gup_call(enum gup_cmd cmd, unsigned long addr, unsigned long nr,
		     unsigned int flags, struct page **pages)
{
	struct mm_struct *mm = current->mm;
	long ret;

	switch (cmd) {
	case GUP_FAST_BENCHMARK:
		return get_user_pages_fast(addr, (int)nr, flags, pages);
	case PIN_FAST_BENCHMARK:
		return pin_user_pages_fast(addr, (int)nr, flags, pages);
	case PIN_LONGTERM_BENCHMARK:
		mmap_read_lock(mm);
		ret = pin_user_pages(addr, nr, flags | FOLL_LONGTERM, pages);
		mmap_read_unlock(mm);
		return ret;
	case GUP_BASIC_TEST:
		mmap_read_lock(mm);
		ret = get_user_pages(addr, nr, flags, pages);
		mmap_read_unlock(mm);
		return ret;
	case PIN_BASIC_TEST:
		mmap_read_lock(mm);
		ret = pin_user_pages(addr, nr, flags, pages);
		mmap_read_unlock(mm);
		return ret;
	}
	return -EINVAL;
}

static void release(enum gup_cmd cmd, struct page **pages, unsigned long nr)
{
	if (cmd_is_pin(cmd)) {
		unpin_user_pages(pages, nr);
		return;
	}
	for (unsigned long i = 0; i < nr; i++)
		put_page(pages[i]);
}

/*
 * The lines make bench-report reads (bench/report.h's format): pin and unpin
 * per page, with the kernel's io_uring figures when --kernel ran ("n/a" when
 * it was asked for and unavailable).
 */
static void report_lines(const struct bench_opts *o, double pin_ns, double unpin_ns, int kret,
			 double kpin, double kunpin)
{
	static const char *const short_names[] = {
		[GUP_FAST_BENCHMARK] = "gup-fast", [PIN_FAST_BENCHMARK] = "pin-fast",
		[PIN_LONGTERM_BENCHMARK] = "pin-longterm", [GUP_BASIC_TEST] = "gup-basic",
		[PIN_BASIC_TEST] = "pin-basic",
	};
	char name[64];

	snprintf(name, sizeof(name), "%s%s-%s", short_names[o->cmd],
		 (o->gup_flags & FOLL_LONGTERM) && o->cmd != PIN_LONGTERM_BENCHMARK ?
		 "-longterm" : "", o->thp ? "thp" : "4k");
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
	unsigned long nr_pages = o->size >> PAGE_SHIFT;
	unsigned long per_call = o->nr_pages_per_call < 0 ? nr_pages :
				 (unsigned long)o->nr_pages_per_call;
	unsigned int flags = o->gup_flags | (o->write ? FOLL_WRITE : 0);
	struct page **pages = calloc(nr_pages, sizeof(*pages));

	/* the driver's array is allocated and mapped before it starts the clock */
	memset(pages, 0xff, nr_pages * sizeof(*pages));
	pinmm_task_attach(r->task);
	for (int rep = 0; rep < o->repeats && !r->failed; rep++) {
		unsigned long done = 0;
		double t0, t1, t2;

		t0 = now_ns();
		while (done < nr_pages) {
			unsigned long n = min(per_call, nr_pages - done);
			long got = gup_call(o->cmd, r->addr + (done << PAGE_SHIFT), n, flags,
					    pages + done);

			if (got <= 0)
				break;
			done += (unsigned long)got;
			if ((unsigned long)got < n)
				break;
		}
		t1 = now_ns();
		/* outside the timed window: what the driver checks, as an assertion */
		for (unsigned long i = 0; i < done; i++) {
			struct folio *folio = page_folio(pages[i]);

			if (cmd_is_pin(o->cmd) && !folio_maybe_dma_pinned(folio)) {
				fprintf(stderr, "pinmm bench: page %lu not reported pinned\n", i);
				r->failed = 1;
				break;
			}
			if (o->cmd == PIN_LONGTERM_BENCHMARK && !folio_is_longterm_pinnable(folio)) {
				fprintf(stderr, "pinmm bench: long-term pinned page %lu is not pinnable\n", i);
				r->failed = 1;
				break;
			}
		}
		t2 = now_ns();
		release(o->cmd, pages, done);
		t2 = now_ns() - t2;
		r->get_ns_total += t1 - t0;
		r->put_ns_total += t2;
		if (!rep || t1 - t0 < r->get_ns_best)
			r->get_ns_best = t1 - t0;
		if (!rep || t2 < r->put_ns_best)
			r->put_ns_best = t2;
		printf("%s: Time: get:%.0f put:%.0f us", cmd_names[o->cmd], (t1 - t0) / 1000,
		       t2 / 1000);
		if (done != nr_pages)
			printf(", truncated (size: %lu)", done << PAGE_SHIFT);
		printf("\n");
	}
	free(pages);
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

/*
 * Register @size bytes of populated anonymous memory (THP if @thp) as one
 * io_uring fixed buffer per GiB, and time registration and unregistration.
 * Return: 0 with the two times set, or -errno (the caller prints a skip).
 */
static int kernel_register(unsigned long size, bool thp, double *get_ns, double *put_ns,
			   long *acquired, long *released)
{
	unsigned long nbuf = DIV_ROUND_UP(size, 1UL << 30), done = 0;
	struct io_uring ring;
	struct iovec *iov = calloc(nbuf, sizeof(*iov));
	char *raw, *mem;
	long a0, r0;
	double t0;
	int ret;

	raw = mmap(NULL, size + PMD_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (raw == MAP_FAILED) {
		free(iov);
		return -ENOMEM;
	}
	mem = (char *)ALIGN((unsigned long)raw, PMD_SIZE);
	madvise(mem, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
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
	munmap(raw, size + PMD_SIZE);
	free(iov);
	return ret;
}

/* ---- setup ----------------------------------------------------------------- */

int cmd_bench(struct tool_opts *to, int argc, char **argv)
{
	struct bench_opts o;
	struct task_struct *task;
	struct bench_run *runs;
	pthread_t *tids;
	unsigned long addr, nr_pages;
	double pin_ns, unpin_ns, kget = 0, kput = 0, runs_mean_get, runs_mean_put;
	long kacq = 0, krel = 0;
	int ret, failed = 0, kret = -ENOSYS;

	ret = bench_parse_opts(&o, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	if (o.hugetlb) {
		printf("1..0 # SKIP hugetlb (-H) is not modelled by pinmm\n");
		return 0;
	}
	nr_pages = o.size >> PAGE_SHIFT;
	/* room for the mapping plus its page tables, whatever the zones */
	if (to->cfg.mem_bytes < o.size + (512UL << 20)) {
		to->cfg.mem_bytes = ALIGN(o.size + (512UL << 20), PMD_SIZE);
		to->cfg.movable_bytes = min(to->cfg.movable_bytes, to->cfg.mem_bytes / 4);
	}
	if (tool_boot(to, "pinmm bench"))
		return 1;
	task = pinmm_task_create("gup_test");
	pinmm_task_attach(task);
	addr = vm_mmap(NULL, 0, o.size, PROT_READ | PROT_WRITE,
		       (o.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr)) {
		fprintf(stderr, "pinmm bench: mmap of %lu MiB failed\n", o.size >> 20);
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
	for (int i = 0; i < o.threads; i++) {
		runs[i] = (struct bench_run){ .o = &o, .task = task, .addr = addr, .id = i };
		pthread_create(&tids[i], NULL, bench_thread, &runs[i]);
	}
	for (int i = 0; i < o.threads; i++) {
		pthread_join(tids[i], NULL);
		printf("%sok %d ioctl status 0\n", runs[i].failed ? "not " : "", i + 1);
		failed |= runs[i].failed;
	}
	pin_ns = runs[0].get_ns_best / nr_pages;
	unpin_ns = runs[0].put_ns_best / nr_pages;

	runs_mean_get = runs[0].get_ns_total / o.repeats / nr_pages;
	runs_mean_put = runs[0].put_ns_total / o.repeats / nr_pages;
	pinmm_task_attach(task);
	vm_munmap(addr, o.size);
	pinmm_task_detach();
	pinmm_task_exit(task);
	free(runs);
	free(tids);
	if (pinmm_shutdown())
		failed = 1;

	if (o.kernel) {
		/* as many tries as pinmm had, best of them, like pinmm's figure */
		for (int rep = 0; rep < o.repeats; rep++) {
			double g, p;

			kret = kernel_register(o.size, o.thp, &g, &p, &kacq, &krel);
			if (kret)
				break;
			kget = rep ? min(kget, g) : g;
			kput = rep ? min(kput, p) : p;
		}
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
	printf("# %s %s: best of %d: pin %.2f ns/page, unpin %.2f ns/page; mean pin %.2f, unpin %.2f "
	       "(%lu pages, %ld per call, %d thread(s))\n",
	       cmd_names[o.cmd], o.thp ? "THP" : "4KiB", o.repeats, pin_ns, unpin_ns,
	       runs_mean_get, runs_mean_put, nr_pages, o.nr_pages_per_call, o.threads);
	report_lines(&o, pin_ns, unpin_ns, kret, kget / nr_pages, kput / nr_pages);
	if (!kret) {
		double kp = kget / nr_pages, ku = kput / nr_pages;

		printf("unpin ns/page: pinmm %.2f kernel %.2f ratio %.2f\n", unpin_ns, ku, ku / unpin_ns);
		printf("pin ns/page: pinmm %.2f kernel %.2f ratio %.2f\n", pin_ns, kp, kp / pin_ns);
	} else {
		printf("pin ns/page: pinmm %.2f kernel n/a ratio n/a\n", pin_ns);
	}
	return failed ? 1 : 0;
}
