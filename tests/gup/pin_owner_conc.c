// SPDX-License-Identifier: MIT
/*
 * Pin owner records under concurrency (beyond Linux; docs/pin-owners.md).
 * The records are taken and freed without a shared lock (per-CPU caches of
 * free record ids, a sequence count per record that the listings check), so
 * this file carries PINMM_TEST_CONCURRENT and runs under TSan too. Rules:
 *
 *   OC-CHURN  threads of two processes pin and unpin one page per call, the
 *             two threads of a process the same pages (a page pinned twice has
 *             a bucket entry; an unpin may end the other thread's record), each
 *             holding more pins than a CPU caches records, while a reader lists
 *             the sites: a listing names only the sites that pin, each with
 *             pins > 0, a call and a task, and an age that is not in the
 *             future (no bound on the count: a listing reads the records one
 *             after the other while calls come and go, so it may add records
 *             that never lived at once); once the pinners hold still, each
 *             site counts exactly what its threads hold, and after the unpins
 *             no record is left;
 *   OC-EXIT   an mm exiting with pins still held marks its site "outlived its
 *             mm" while the other threads go on pinning; the sites of live
 *             mms are not marked;
 *   OC-REUSE  a record freed by an unpin on another thread, and taken again
 *             by that thread's next pin, names the new call and task.
 */
#include "helpers.h"

#include <pinmm/pin_owner.h>
#include <pthread.h>
#include <sched.h>

#define PINNERS		4	/* two per process */
#define HOLD		40	/* pins each pinner keeps: more than a CPU caches */
#define RANGE		64	/* pages of each process's range */
#define MAX_SITES	16
#define LISTINGS	200	/* before and after the mm exit */

struct pinner {
	struct task_struct *task;
	int id;
	struct page *held[HOLD];
	long calls, bad;
};

static atomic_int go, stop, still;

/* Two call sites, one per process: the listing must name them apart. */
static long pin_site_even(unsigned long addr, struct page **p)
{
	return pin_user_pages_fast(addr, 1, FOLL_WRITE, p);
}

static long pin_site_odd(unsigned long addr, struct page **p)
{
	return pin_user_pages_fast(addr, 1, FOLL_WRITE, p);
}

static void *pinner_fn(void *arg)
{
	struct pinner *a = arg;
	unsigned long i = 0;
	int n = 0;

	pinmm_task_attach(a->task);
	while (!atomic_load(&go))
		sched_yield();
	while (!atomic_load(&stop) || n < HOLD) {
		/* a process's two threads walk the same pages, half a range apart */
		unsigned long addr = GT_BASE + ((i++ + (unsigned long)(a->id / 2) * RANGE / 2) %
						RANGE) * PAGE_SIZE;
		struct page *p;
		long r = (a->id & 1) ? pin_site_odd(addr, &p) : pin_site_even(addr, &p);

		a->calls++;
		if (r != 1) {
			a->bad++;
			continue;
		}
		if (n == HOLD) {
			unpin_user_page(a->held[0]);
			memmove(a->held, a->held + 1, (HOLD - 1) * sizeof(a->held[0]));
			n--;
		}
		a->held[n++] = p;
	}
	/* hold HOLD pins until the main thread has counted them */
	atomic_fetch_add(&still, 1);
	while (atomic_load(&still) <= PINNERS)
		sched_yield();
	unpin_user_pages(a->held, HOLD);
	pinmm_task_detach();
	return NULL;
}

static bool is_pinner_site(const struct pin_site *s)
{
	return !strcmp(s->file, __FILE__) &&
	       (!strcmp(s->func, "pin_site_even") || !strcmp(s->func, "pin_site_odd"));
}

struct reader {
	struct task_struct *exiter;	/* pins HOLD pages, then its mm exits */
	atomic_long listings;
	long bad, live_marked;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	struct pinmm_pin_site_info info[MAX_SITES];
	FILE *null = fopen("/dev/null", "w");

	while (!atomic_load(&go))
		sched_yield();
	do {
		int nr = pinmm_pins_sites(info, MAX_SITES);

		for (int i = 0; i < nr && i < MAX_SITES; i++) {
			bool exiter = !strcmp(info[i].site->func, "exiter_pins");

			if ((!exiter && !is_pinner_site(info[i].site)) || info[i].pins <= 0 ||
			    info[i].calls <= 0 || info[i].tasks < 1 ||
			    info[i].held_ns > 60000000000UL) {	/* a minute */
				if (!r->bad++)
					diag("listing: %s() pins %ld calls %ld tasks %d held %lu ns",
					     info[i].site->func, info[i].pins, info[i].calls,
					     info[i].tasks, info[i].held_ns);
			}
			/* only the exiting mm's site may say so */
			if (info[i].mm_exited && !exiter && !r->live_marked++)
				diag("listing: %s() marked as outliving its mm", info[i].site->func);
		}
		if (null)
			pinmm_pins_show(null);
		atomic_fetch_add(&r->listings, 1);
	} while (!atomic_load(&stop));
	if (null)
		fclose(null);
	return NULL;
}

static long exiter_pins(unsigned long addr, struct page **pages)
{
	return pin_user_pages_fast(addr, HOLD, FOLL_WRITE, pages);
}

/* Let the reader list @n times in all (however slow the machine), then go on. */
static void wait_listings(struct reader *r, long n)
{
	while (atomic_load(&r->listings) < n)
		sched_yield();
}

static struct task_struct *process_with_range(const char *comm)
{
	struct task_struct *t = test_process(comm);

	test_mmap_fixed(GT_BASE, RANGE * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, RANGE * PAGE_SIZE);
	pinmm_task_detach();
	return t;
}

static void churn_and_exit(void)
{
	struct task_struct *tasks[2], *exiter;
	struct pinmm_pin_site_info info[MAX_SITES];
	struct pinner p[PINNERS];
	struct reader rd = { 0 };
	pthread_t th[PINNERS], rt;
	struct page *ex_pages[HOLD];
	long calls = 0, bad = 0, counted = 0, ex_r;
	int nr, pinner_sites = 0, exiter_sites = 0;
	bool exact = true;

	test_boot(TEST_MEM_MB, 0, 0);
	tasks[0] = process_with_range("oc-even");
	tasks[1] = process_with_range("oc-odd");
	exiter = process_with_range("oc-exiter");
	for (int i = 0; i < PINNERS; i++) {
		p[i] = (struct pinner){ .task = tasks[i & 1], .id = i };
		pthread_create(&th[i], NULL, pinner_fn, &p[i]);
	}
	pthread_create(&rt, NULL, reader_fn, &rd);
	atomic_store(&go, 1);

	/* OC-EXIT: pins outlive their mm while the others churn and the reader lists */
	pinmm_task_attach(exiter);
	ex_r = exiter_pins(GT_BASE, ex_pages);
	pinmm_task_detach();
	wait_listings(&rd, LISTINGS);
	pinmm_task_exit(exiter);
	wait_listings(&rd, 2 * LISTINGS);
	atomic_store(&stop, 1);
	pthread_join(rt, NULL);
	while (atomic_load(&still) < PINNERS)
		sched_yield();

	/* every pinner holds HOLD pins, the exiter HOLD more */
	nr = pinmm_pins_sites(info, MAX_SITES);
	for (int i = 0; i < nr && i < MAX_SITES; i++) {
		if (is_pinner_site(info[i].site)) {
			pinner_sites++;
			counted += info[i].pins;
			exact &= info[i].pins == HOLD * PINNERS / 2 && info[i].tasks == 1 &&
				 !info[i].mm_exited;
		} else if (!strcmp(info[i].site->func, "exiter_pins")) {
			exiter_sites++;
			exact &= info[i].pins == HOLD && info[i].mm_exited;
		}
	}
	atomic_fetch_add(&still, 1);	/* let the pinners unpin */
	for (int i = 0; i < PINNERS; i++) {
		pthread_join(th[i], NULL);
		calls += p[i].calls;
		bad += p[i].bad;
	}
	is_int(bad, 0, "OC-CHURN: every one-page pin of %ld succeeded", calls);
	ok(rd.bad == 0,
	   "OC-CHURN: %ld listings during the churn named only the pinning sites, each with "
	   "pins, calls, a task and a sane age (%ld bad)",
	   atomic_load(&rd.listings), rd.bad);
	ok(pinner_sites == 2 && exiter_sites == 1 && exact && counted == HOLD * PINNERS,
	   "OC-CHURN: held still, each site counts exactly its threads' pins (%ld), one task "
	   "each", counted);
	is_int(ex_r, HOLD, "OC-EXIT: the exiting process pinned its pages");
	ok(rd.live_marked == 0, "OC-EXIT: no site of a live mm was ever listed as having "
	   "outlived its mm (%ld)", rd.live_marked);
	ok(exact, "OC-EXIT: the exited mm's site is marked, the live ones are not");
	unpin_user_pages(ex_pages, HOLD);
	is_int(pinmm_pins_sites(NULL, 0), 0, "OC-CHURN: no record left after the last unpin");
	gt_teardown("churn", tasks, 2);
}

/* OC-REUSE: pins of task A released on B's thread; B's next pin reuses the record. */
struct reuse_arg {
	struct task_struct *task;
	struct page **pages;
	long r;
};

static long reuse_pin_a(unsigned long addr, struct page **pages)
{
	return pin_user_pages_fast(addr, HOLD, FOLL_WRITE, pages);
}

static long reuse_pin_b(unsigned long addr, struct page **pages)
{
	return pin_user_pages_fast(addr, HOLD, FOLL_WRITE | FOLL_LONGTERM, pages);
}

static void *reuse_b_fn(void *arg)
{
	struct reuse_arg *a = arg;

	pinmm_task_attach(a->task);
	unpin_user_pages(a->pages, HOLD);	/* A's pins, released here */
	a->r = reuse_pin_b(GT_BASE, a->pages);	/* B's own */
	pinmm_task_detach();
	return NULL;
}

static void reuse(void)
{
	struct task_struct *tasks[2];
	struct pinmm_pin_site_info info[MAX_SITES];
	struct page *pages[HOLD];
	struct reuse_arg b;
	pthread_t th;
	long ra;
	int nr;

	test_boot(TEST_MEM_MB, 0, 0);
	tasks[0] = process_with_range("oc-reuse-a");
	tasks[1] = process_with_range("oc-reuse-b");
	pinmm_task_attach(tasks[0]);
	ra = reuse_pin_a(GT_BASE, pages);
	pinmm_task_detach();
	b = (struct reuse_arg){ .task = tasks[1], .pages = pages };
	pthread_create(&th, NULL, reuse_b_fn, &b);
	pthread_join(th, NULL);
	nr = pinmm_pins_sites(info, MAX_SITES);
	ok(ra == HOLD && b.r == HOLD && nr == 1 && !strcmp(info[0].site->func, "reuse_pin_b") &&
	   info[0].pins == HOLD && info[0].longterm == HOLD && info[0].pid == tasks[1]->pid &&
	   !strcmp(info[0].comm, "oc-reuse-b"),
	   "OC-REUSE: after A's pins were released on B's thread, B's pin is listed as B's "
	   "(site, task, long-term), nothing of A's is left");
	unpin_user_pages(pages, HOLD);
	is_int(pinmm_pins_sites(NULL, 0), 0, "OC-REUSE: no record left");
	gt_teardown("reuse", tasks, 2);
}

int main(void)
{
	plan_no_plan();
	pinmm_pin_owner_enable(true);	/* whatever PINMM_PIN_OWNER says */
	churn_and_exit();
	reuse();
	return done_testing();
}
