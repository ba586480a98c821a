// SPDX-License-Identifier: MIT
/*
 * bench/pin_owner: what pin owner records cost (docs/pin-owners.md).
 *
 * The pin bench's case (pinmm bench -a -F 0x100 -m 1024 -n -1, and -t):
 * pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM) of 1 GiB in one call, then
 * unpin_user_pages(), 4 KiB pages and THPs, with owner records off and on.
 * Off and on alternate round by round (the machine is shared, its load
 * drifts) and the best round of each is kept. Printed in ns per page, with
 * the difference; the goal is at most 1 ns/page on, nothing off.
 */
#include "report.h"

#include <pinmm/gup.h>
#include <pinmm/machine.h>
#include <pinmm/mman.h>
#include <pinmm/pin_owner.h>
#include <pinmm/task.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BYTES		(1UL << 30)
#define NR_PAGES	(BYTES >> PAGE_SHIFT)
#define ROUNDS		41

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct best {
	double pin[2], unpin[2];	/* [owner off, on], ns per page */
};

static void die(const char *what)
{
	fprintf(stderr, "bench/pin_owner: %s\n", what);
	exit(1);
}

static void run(bool thp, struct page **pages, struct best *b)
{
	unsigned long addr = vm_mmap(NULL, 0, BYTES, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);

	if (IS_ERR_VALUE(addr))
		die("vm_mmap failed");
	if (thp && do_madvise(current->mm, addr, BYTES, MADV_HUGEPAGE))
		die("MADV_HUGEPAGE failed");
	if (do_madvise(current->mm, addr, BYTES, MADV_POPULATE_WRITE))
		die("populate failed");
	for (int i = 0; i < 2; i++)
		b->pin[i] = b->unpin[i] = 1e30;
	/* round 0 is a warm-up (and where a long-term pin would migrate) */
	for (int r = 0; r <= ROUNDS; r++) {
		for (int on = 0; on < 2; on++) {
			double t0, t1, t2;
			long n;

			if (pinmm_pin_owner_enable(on))
				die("pinmm_pin_owner_enable refused");
			t0 = now();
			n = pin_user_pages_fast(addr, (int)NR_PAGES, FOLL_WRITE | FOLL_LONGTERM, pages);
			t1 = now();
			if (n != (long)NR_PAGES)
				die("pin_user_pages_fast pinned less than asked");
			unpin_user_pages(pages, (unsigned long)n);
			t2 = now();
			if (!r)
				continue;
			if ((t1 - t0) / NR_PAGES < b->pin[on])
				b->pin[on] = (t1 - t0) / NR_PAGES;
			if ((t2 - t1) / NR_PAGES < b->unpin[on])
				b->unpin[on] = (t2 - t1) / NR_PAGES;
		}
	}
	vm_munmap(addr, BYTES);
}

static void print(const char *what, const struct best *b)
{
	printf("%-6s pin   off %6.2f  on %6.2f  (%+.2f) ns/page\n", what, b->pin[0], b->pin[1],
	       b->pin[1] - b->pin[0]);
	printf("%-6s unpin off %6.2f  on %6.2f  (%+.2f) ns/page\n", what, b->unpin[0],
	       b->unpin[1], b->unpin[1] - b->unpin[0]);
}

int main(void)
{
	struct pinmm_config cfg;
	struct task_struct *t;
	struct page **pages;
	struct best small, thp;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = BYTES + (256UL << 20);
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	if (pinmm_boot(&cfg))
		die("boot failed");
	t = pinmm_task_create("bench-owner");
	pages = malloc(NR_PAGES * sizeof(*pages));
	if (!t || !pages)
		die("out of memory");
	pinmm_task_attach(t);
	printf("pin owner records off/on: pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM) of "
	       "1 GiB in one call, then unpin_user_pages(); best of %d alternating rounds\n",
	       ROUNDS);
	run(false, pages, &small);
	print("4 KiB", &small);
	run(true, pages, &thp);
	print("THP", &thp);
	pinmm_task_detach();
	pinmm_task_exit(t);
	free(pages);
	if (pinmm_shutdown())
		return 1;
	/* records on, against the same work with records off */
	bench_report_ref("pin-owner-4k-pin", "ns/page", small.pin[1], "records-off", small.pin[0]);
	bench_report_ref("pin-owner-4k-unpin", "ns/page", small.unpin[1], "records-off",
			 small.unpin[0]);
	bench_report_ref("pin-owner-thp-pin", "ns/page", thp.pin[1], "records-off", thp.pin[0]);
	bench_report_ref("pin-owner-thp-unpin", "ns/page", thp.unpin[1], "records-off",
			 thp.unpin[0]);
	printf("pin owner ns/page (on - off): 4k pin %+.2f unpin %+.2f; thp pin %+.2f unpin "
	       "%+.2f\n", small.pin[1] - small.pin[0], small.unpin[1] - small.unpin[0],
	       thp.pin[1] - thp.pin[0], thp.unpin[1] - thp.unpin[0]);
	return 0;
}
