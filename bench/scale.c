// SPDX-License-Identifier: MIT
/*
 * bench/scale: does pinmm scale across CPUs? Each row runs the same loop on
 * one thread, then on two threads at once, and prints the cost per operation
 * and the throughput of two threads over one (2.00 = perfect scaling on two
 * CPUs; below 1 = a second CPU makes the machine slower).
 *
 * Two ways of being two threads:
 *   tasks  each thread is its own task (own mm) working on its own memory:
 *          nothing is shared but the machine (zones, counters, allocator);
 *   one mm two threads of one process (kthread_use_mm() workers, as io_uring's
 *          are) on disjoint ranges: they share mmap_lock and the page-table
 *          root as well.
 *
 * Rows: order-0 alloc+free pair; 4 KiB anonymous write fault; pin+unpin of a
 * populated range with pin_user_pages_fast() in 512-page calls, 4 KiB and THP,
 * and one page per call (pin, then unpin_user_page(): the per-call part, pin
 * owner records included); the slow path pin_user_pages() under mmap_read_lock; the same with
 * FOLL_LONGTERM (the machine has no ZONE_MOVABLE and no CMA here, so this is
 * the long-term checks without migration; bench/migrate times migration).
 * The first row is no pinmm at all, a loop that shares nothing: on a quiet
 * machine it shows 2.00x; less means other processes had the CPUs during the
 * run, and the other rows should be read against it.
 * Every timed phase starts behind a barrier; a round's time is from the first
 * thread's start to the last thread's end. Best of SWEEPS x ROUNDS rounds: a
 * sweep runs ROUNDS rounds of one thread, then of two tasks, then of two
 * threads of one mm, and the sweeps repeat, so a slow spell of the host falls
 * on all three alike instead of on whichever ran during it (a VM's CPUs here
 * change speed from second to second: the host row read anything from 1.1x
 * to 3.9x when each configuration ran its rounds in one block). A phase
 * repeats its loop until it lasts about PHASE_MS on one thread (the count is
 * found by a first one-thread run and kept for the row): a loop of a few
 * hundred microseconds would measure the barrier's wake-up skew and the
 * scheduler more than the row. On a
 * shared host the wall-clock ratio says as much about the neighbours as about
 * pinmm, so each row also gives the ratio from the threads' own CPU time
 * (CLOCK_THREAD_CPUTIME_ID): the cost of an operation with a second CPU at
 * work against it alone — contention on shared lines and spinning locks shows
 * there, the neighbours do not.
 * Prints figures only; the headline is the last line.
 */
#include <pinmm/gfp.h>
#include <pinmm/gup.h>
#include <pinmm/huge_mm.h>
#include <pinmm/machine.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define MAX_THREADS	2
#define SWEEPS		8
#define ROUNDS		2		/* per configuration per sweep */
#define ALLOC_OPS	200000UL
#define FAULT_PAGES	8192UL		/* 32 MiB per thread */
#define PIN_PAGES	8192UL		/* 32 MiB per thread */
#define THP_PAGES	(16 * HPAGE_PMD_NR)	/* 32 MiB of THPs per thread */
#define PIN_CHUNK	512UL
#define PHASE_MS	20
#define MAX_REPS	4096UL
#define FAULT_MAX_REPS	4UL		/* each repeat faults fresh memory: 32 MiB */

enum row { R_SPIN, R_ALLOC, R_FAULT, R_PIN4K, R_PIN1, R_PINTHP, R_SLOW, R_LONGTERM, NR_ROWS };

static const char *const row_names[NR_ROWS] = {
	[R_SPIN] = "(host: spin loop)",
	[R_ALLOC] = "order-0 alloc+free",
	[R_FAULT] = "4 KiB write fault",
	[R_PIN4K] = "pin+unpin fast 4 KiB",
	[R_PIN1] = "pin+unpin 1 page/call",
	[R_PINTHP] = "pin+unpin fast THP",
	[R_SLOW] = "pin+unpin slow 4 KiB",
	[R_LONGTERM] = "pin+unpin longterm",
};

/* The rows' names in the headline, and on the command line to run some only. */
static const char *const row_keys[NR_ROWS] = {
	"host", "alloc", "fault", "pin4k", "pin1", "pinthp", "slow", "longterm",
};

enum mode { M_TASKS, M_ONE_MM };

struct worker {
	enum row row;
	enum mode mode;
	struct mm_struct *shared_mm;	/* M_ONE_MM */
	pthread_barrier_t *barrier;
	int nthreads;
	uint64_t t0[ROUNDS], t1[ROUNDS];
	uint64_t cpu_ns[ROUNDS];	/* the thread's own CPU time in the timed phase */
	unsigned long reps;		/* the loop's repeats per phase */
	unsigned long ops;		/* per round: the loop's operations x reps */
};

static void die(const char *what)
{
	fprintf(stderr, "bench/scale: %s failed\n", what);
	exit(1);
}

static unsigned long map_range(unsigned long pages, bool thp, bool populate)
{
	unsigned long bytes = pages * PAGE_SIZE;
	unsigned long addr = vm_mmap(NULL, 0, bytes + (thp ? HPAGE_PMD_SIZE : 0),
				     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);

	if (IS_ERR_VALUE(addr))
		die("vm_mmap");
	if (thp) {
		/* keep the aligned part only, so every folio is PMD-mapped */
		unsigned long a = ALIGN(addr, HPAGE_PMD_SIZE);

		if (a > addr)
			vm_munmap(addr, a - addr);
		vm_munmap(a + bytes, addr + bytes + HPAGE_PMD_SIZE - (a + bytes));
		addr = a;
	}
	if (do_madvise(current->mm, addr, bytes, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise");
	if (populate && do_madvise(current->mm, addr, bytes, MADV_POPULATE_WRITE))
		die("populate");
	return addr;
}

static long pin_range(enum row row, unsigned long addr, unsigned long pages,
		      struct page **array)
{
	struct mm_struct *mm = current->mm;
	unsigned long done = 0;

	while (done < pages) {
		unsigned long n = min(PIN_CHUNK, pages - done);
		unsigned long start = addr + done * PAGE_SIZE;
		long got;

		if (row == R_PIN4K || row == R_PINTHP) {
			got = pin_user_pages_fast(start, (int)n, FOLL_WRITE, array + done);
		} else {
			mmap_read_lock(mm);
			got = pin_user_pages(start, n, FOLL_WRITE |
					     (row == R_LONGTERM ? FOLL_LONGTERM : 0),
					     array + done);
			mmap_read_unlock(mm);
		}
		if (got != (long)n)
			die("pin");
		done += n;
	}
	return (long)done;
}

/* One loop of @w's row: the unit a phase repeats (@rep: which repeat). */
static void one_loop(struct worker *w, unsigned long rep, unsigned long addr,
		     unsigned long pages, struct page **array)
{
	switch (w->row) {
	case R_SPIN:
		/* no shared state at all: what two CPUs give right now */
		for (unsigned long i = 0; i < ALLOC_OPS * 16; i++)
			__asm__ __volatile__("" : : "r"(i) : "memory");
		break;
	case R_ALLOC:
		for (unsigned long i = 0; i < ALLOC_OPS; i++) {
			struct page *page = alloc_pages(GFP_KERNEL, 0);

			if (!page)
				die("alloc_pages");
			__free_pages(page, 0);
		}
		break;
	case R_FAULT:
		for (unsigned long i = rep * pages; i < (rep + 1) * pages; i++)
			if (put_user((char)1, (char __user *)(addr + i * PAGE_SIZE)))
				die("fault");
		break;
	case R_PIN1:
		/* a call per page, both ways: what a call costs beside its pages */
		for (unsigned long i = 0; i < pages; i++) {
			if (pin_user_pages_fast(addr + i * PAGE_SIZE, 1, FOLL_WRITE, array) != 1)
				die("pin");
			unpin_user_page(array[0]);
		}
		break;
	default:
		pin_range(w->row, addr, pages, array);
		unpin_user_pages(array, pages);
		break;
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct task_struct *task = NULL;
	struct page **array = NULL;
	unsigned long addr = 0, pages = 0, addr_size = 0;

	if (w->mode == M_TASKS) {
		task = pinmm_task_create("scale");
		if (!task)
			die("pinmm_task_create");
		pinmm_task_attach(task);
	} else {
		mmget(w->shared_mm);
		kthread_use_mm(w->shared_mm);
	}
	switch (w->row) {
	case R_SPIN:
	case R_ALLOC:
		w->ops = ALLOC_OPS;
		break;
	case R_FAULT:
		w->ops = pages = FAULT_PAGES;
		/* fresh memory for every repeat, mapped before the phase */
		addr_size = pages * w->reps;
		break;
	case R_PINTHP:
		w->ops = pages = THP_PAGES;
		addr = map_range(pages, true, true);
		break;
	default:
		w->ops = pages = PIN_PAGES;
		addr = map_range(pages, false, true);
		break;
	}
	if (pages)
		array = calloc(pages, sizeof(*array));
	w->ops *= w->reps;

	for (int r = 0; r < ROUNDS; r++) {
		if (w->row == R_FAULT)
			addr = map_range(addr_size, false, false);
		pthread_barrier_wait(w->barrier);
		w->cpu_ns[r] = bench_cpu_ns();
		w->t0[r] = bench_now_ns();
		for (unsigned long rep = 0; rep < w->reps; rep++)
			one_loop(w, rep, addr, pages, array);
		w->t1[r] = bench_now_ns();
		w->cpu_ns[r] = bench_cpu_ns() - w->cpu_ns[r];
		pthread_barrier_wait(w->barrier);
		if (w->row == R_FAULT)
			vm_munmap(addr, addr_size * PAGE_SIZE);
	}
	if (addr && w->row != R_FAULT)
		vm_munmap(addr, pages * PAGE_SIZE);
	free(array);
	if (w->mode == M_TASKS) {
		pinmm_task_detach();
		pinmm_task_exit(task);
	} else {
		kthread_unuse_mm(w->shared_mm);
		mmput(w->shared_mm);
	}
	return NULL;
}

struct result {
	double wall;	/* ns per op as each thread sees it: the round's wall time / ops */
	double cpu;	/* CPU ns per op, summed over the threads, per thread's op */
};

/* Run @row on @n threads, @reps loops per phase; the best round's figures. */
static struct result run(enum row row, enum mode mode, int n, struct mm_struct *shared,
			 unsigned long reps)
{
	uint64_t best_cpu = UINT64_MAX;
	struct worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	pthread_barrier_t barrier;
	uint64_t best = UINT64_MAX;

	pthread_barrier_init(&barrier, NULL, (unsigned int)n);
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){ .row = row, .mode = mode, .shared_mm = shared,
					.barrier = &barrier, .nthreads = n, .reps = reps };
		if (pthread_create(&tid[i], NULL, worker_fn, &w[i]))
			die("pthread_create");
	}
	for (int i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = UINT64_MAX, t1 = 0;

		for (int i = 0; i < n; i++) {
			t0 = min(t0, w[i].t0[r]);
			t1 = max(t1, w[i].t1[r]);
		}
		best = min(best, t1 - t0);
		t0 = 0;
		for (int i = 0; i < n; i++)
			t0 += w[i].cpu_ns[r];
		best_cpu = min(best_cpu, t0 / (uint64_t)n);
	}
	return (struct result){ (double)best / (double)w[0].ops,
				(double)best_cpu / (double)w[0].ops };
}

/* Keep in *@best the better of each figure (sweep 0: the first one). */
static void best_of(struct result *best, struct result r, int sweep)
{
	if (!sweep || r.wall < best->wall)
		best->wall = r.wall;
	if (!sweep || r.cpu < best->cpu)
		best->cpu = r.cpu;
}

/* The repeats that make one thread's phase of @row last about PHASE_MS. */
static unsigned long phase_reps(enum row row)
{
	struct result once = run(row, M_TASKS, 1, NULL, 1);
	double per_loop = once.wall * (double)(row == R_SPIN || row == R_ALLOC ? ALLOC_OPS :
					       row == R_FAULT ? FAULT_PAGES :
					       row == R_PINTHP ? THP_PAGES : PIN_PAGES);
	unsigned long reps = (unsigned long)(PHASE_MS * 1e6 / per_loop) + 1;

	return min(reps, row == R_FAULT ? FAULT_MAX_REPS : MAX_REPS);
}

/* Rows named on the command line (all without arguments); exits on a bad name. */
static void pick_rows(int argc, char **argv, bool *want)
{
	for (int row = 0; row < NR_ROWS; row++)
		want[row] = argc < 2;
	for (int i = 1; i < argc; i++) {
		int row = 0;

		while (row < NR_ROWS && strcmp(argv[i], row_keys[row]))
			row++;
		if (row == NR_ROWS) {
			fprintf(stderr, "usage: scale [ROW...]; rows:");
			for (row = 0; row < NR_ROWS; row++)
				fprintf(stderr, " %s", row_keys[row]);
			fprintf(stderr, "\n");
			exit(2);
		}
		want[row] = true;
	}
}

int main(int argc, char **argv)
{
	struct pinmm_config cfg;
	struct task_struct *owner;
	struct result one[NR_ROWS], two[NR_ROWS], mm2[NR_ROWS];
	bool want[NR_ROWS];

	pick_rows(argc, argv, want);
	pinmm_config_default(&cfg);
	cfg.mem_bytes = 1UL << 30;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	if (pinmm_boot(&cfg))
		die("pinmm_boot");
	owner = pinmm_task_create("scale-mm");
	if (!owner)
		die("pinmm_task_create");

	printf("%-22s %9s %9s %6s %6s %9s %6s %6s\n", "row", "1 thr", "2 tasks", "x2",
	       "x2cpu", "2 thr/mm", "x2", "x2cpu");
	for (int row = 0; row < NR_ROWS; row++) {
		unsigned long reps;

		if (!want[row])
			continue;
		reps = phase_reps(row);
		for (int sweep = 0; sweep < SWEEPS; sweep++) {
			best_of(&one[row], run(row, M_TASKS, 1, NULL, reps), sweep);
			best_of(&two[row], run(row, M_TASKS, 2, NULL, reps), sweep);
			best_of(&mm2[row], run(row, M_ONE_MM, 2, owner->mm, reps), sweep);
		}
		printf("%-22s %9.1f %9.1f %5.2fx %5.2fx %9.1f %5.2fx %5.2fx\n", row_names[row],
		       one[row].wall, two[row].wall, 2 * one[row].wall / two[row].wall,
		       2 * one[row].cpu / two[row].cpu, mm2[row].wall,
		       2 * one[row].wall / mm2[row].wall, 2 * one[row].cpu / mm2[row].cpu);
	}
	pinmm_task_exit(owner);
	if (pinmm_shutdown())
		die("pinmm_shutdown");
	printf("\n%-22s %9s %9s %9s   (CPU ns per op, each thread's own CPU time)\n", "row",
	       "1 thr", "2 tasks", "2 thr/mm");
	for (int row = 0; row < NR_ROWS; row++)
		if (want[row])
			printf("%-22s %9.1f %9.1f %9.1f\n", row_names[row], one[row].cpu,
			       two[row].cpu, mm2[row].cpu);
	printf("(ns per op as each thread sees it; x2: throughput of two threads over one, "
	       "wall clock; x2cpu: the same from each thread's CPU time, what two CPUs of "
	       "their own would give - read it when the host row's x2 is below 2; "
	       "%ld CPUs online)\n", sysconf(_SC_NPROCESSORS_ONLN));
	/* for make bench-report: two threads' cost per op against one thread's */
	for (int row = 0; row < NR_ROWS; row++) {
		if (!want[row])
			continue;
		printf("REPORT name=scale-%s-2tasks pinmm=%.3f ref=%.3f ref_name=1-thread "
		       "unit=ns/op x2=%.2f\n", row_keys[row], two[row].wall, one[row].wall,
		       2 * one[row].wall / two[row].wall);
		printf("REPORT name=scale-%s-1mm pinmm=%.3f ref=%.3f ref_name=1-thread "
		       "unit=ns/op x2=%.2f\n", row_keys[row], mm2[row].wall, one[row].wall,
		       2 * one[row].wall / mm2[row].wall);
	}
	printf("scale x2 (tasks/one mm):");
	for (int row = 0, sep = 0; row < NR_ROWS; row++)
		if (want[row])
			printf("%s %s %.2f/%.2f", sep++ ? ";" : "", row_keys[row],
			       2 * one[row].wall / two[row].wall, 2 * one[row].wall / mm2[row].wall);
	printf("\n");
	return 0;
}
