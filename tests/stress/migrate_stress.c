// SPDX-License-Identifier: MIT
/*
 * Migration stress. PINMM_TEST_CONCURRENT: three processes, each on its own
 * thread, rewrite, verify and zap pages of their memory, every page's
 * contents checked against an XXH64 checksum kept on the host side; a forked
 * child of the first keeps verifying the snapshot it inherited. Meanwhile a
 * "kernel" thread compacts both zones, claims and releases CMA ranges
 * (writing and checking a pattern in what it claims), and offlines and
 * onlines ZONE_MOVABLE pageblocks — so the user pages are migrated over and
 * over under the writers. For $STRESS_SECONDS (default 2): every checksum
 * verifies, no write is lost, and at the end every frame is back.
 * Under make soak ($PINMM_FAIL_RATE) the threads' allocations fail at random:
 * a CPU access whose fault could not allocate fails whole (-EFAULT, nothing
 * copied), excused only when that access met an injected failure; the final
 * verification runs with injection off.
 */
#include "../migrate/helpers.h"
#include "../base/helpers.h"
#include "../lib/soak.h"

#include <xxhash.h>

#define NWORKERS	3
#define NPAGES		1024		/* 4 MiB per process */
#define NCLAIMS		4

struct worker {
	unsigned int id;
	pthread_t thread;
	struct task_struct *task;
	uint64_t rng;
	uint64_t sum[NPAGES];		/* XXH64 of what each page must hold */
	unsigned long writes, verifies, zaps, bad, efault, excused;
};

static struct worker workers[NWORKERS];
static struct worker child;		/* the fork child: verifies only */
static atomic_int stop;
static uint64_t zero_sum;

static unsigned long w_addr(unsigned long i)
{
	return MG_BASE + i * PAGE_SIZE;
}

static void verify_page(struct worker *w, unsigned long i)
{
	static __thread uint8_t buf[PAGE_SIZE];
	unsigned long inj = soak_fail_mine();

	if (copy_from_user(buf, (const void __user *)w_addr(i), PAGE_SIZE)) {
		if (soak_excused(inj))
			w->excused++;
		else
			w->efault++;
		return;
	}
	w->bad += XXH64(buf, PAGE_SIZE, 0) != w->sum[i];
	w->verifies++;
}

static void one_op(struct worker *w)
{
	static __thread uint64_t buf[PAGE_SIZE / 8];
	unsigned long i = test_rand(&w->rng) % NPAGES;
	unsigned int op = test_rand(&w->rng) % 100;

	if (op < 45) {
		unsigned long inj = soak_fail_mine();

		for (unsigned long k = 0; k < ARRAY_SIZE(buf); k++)
			buf[k] = test_rand(&w->rng);
		if (copy_to_user((void __user *)w_addr(i), buf, PAGE_SIZE)) {
			if (soak_excused(inj))
				w->excused++;	/* the fault failed before a byte moved */
			else
				w->efault++;
			return;
		}
		w->sum[i] = XXH64(buf, PAGE_SIZE, 0);
		w->writes++;
	} else if (op < 98) {
		verify_page(w, i);
	} else {
		if (do_madvise(w->task->mm, w_addr(i), PAGE_SIZE, MADV_DONTNEED) == 0) {
			w->sum[i] = zero_sum;
			w->zaps++;
		}
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	pinmm_task_attach(w->task);
	soak_fail_arm();
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		for (int k = 0; k < 64; k++)
			one_op(w);
	soak_fail_disarm();
	for (unsigned long i = 0; i < NPAGES; i++)
		verify_page(w, i);
	pinmm_task_detach();
	return NULL;
}

static void *child_fn(void *arg)
{
	struct worker *w = arg;

	pinmm_task_attach(w->task);
	soak_fail_arm();
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		verify_page(w, test_rand(&w->rng) % NPAGES);
	soak_fail_disarm();
	for (unsigned long i = 0; i < NPAGES; i++)
		verify_page(w, i);
	pinmm_task_detach();
	return NULL;
}

/* Progress the main thread may read while the kernel thread runs. */
static atomic_ulong claims_seen;

struct kernel_stats {
	unsigned long compactions, migrated, claims, claim_fail, claim_bad, offlines,
		offline_busy;
};

static void *kernel_fn(void *arg)
{
	struct kernel_stats *ks = arg;
	struct page *claims[NCLAIMS] = { NULL };
	unsigned long counts[NCLAIMS] = { 0 };
	struct zone *movable = &pinmm_zones[ZONE_MOVABLE];
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	soak_fail_arm();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned int op = test_rand(&rng) % 10, slot = test_rand(&rng) % NCLAIMS;

		if (op < 3) {
			int n = compact_zone_now(&pinmm_zones[op ? ZONE_MOVABLE : ZONE_NORMAL]);

			ks->compactions++;
			ks->migrated += n > 0 ? (unsigned long)n : 0;
		} else if (op < 9) {
			if (claims[slot]) {
				/* nobody else may have touched a claimed range */
				for (unsigned long k = 0; k < counts[slot]; k++) {
					uint64_t *p = page_address(claims[slot] + k);

					ks->claim_bad += p[0] != (uint64_t)k || p[511] != ~(uint64_t)k;
				}
				cma_release_pages(claims[slot], counts[slot]);
				claims[slot] = NULL;
				continue;
			}
			counts[slot] = 1 + test_rand(&rng) % 600;
			quiet_stderr_begin();	/* a busy run is reported, then skipped */
			claims[slot] = cma_alloc_pages(counts[slot], test_rand(&rng) % 5);
			quiet_stderr_end();
			if (!claims[slot]) {
				ks->claim_fail++;
				continue;
			}
			ks->claims++;
			atomic_fetch_add_explicit(&claims_seen, 1, memory_order_relaxed);
			for (unsigned long k = 0; k < counts[slot]; k++) {
				uint64_t *p = page_address(claims[slot] + k);

				p[0] = k;
				p[511] = ~(uint64_t)k;
			}
		} else {
			unsigned long blocks = movable->spanned_pages / pageblock_nr_pages;
			unsigned long start = movable->zone_start_pfn +
					      (test_rand(&rng) % blocks) * pageblock_nr_pages;
			int ret;

			quiet_stderr_begin();
			ret = offline_pages(start, pageblock_nr_pages);
			quiet_stderr_end();
			if (!ret) {
				ks->offlines++;
				online_pages(start, pageblock_nr_pages);
			} else {
				ks->offline_busy++;
			}
		}
	}
	for (unsigned int s = 0; s < NCLAIMS; s++)
		if (claims[s])
			cma_release_pages(claims[s], counts[s]);
	return NULL;
}

int main(void)
{
	static uint8_t zeros[PAGE_SIZE];
	struct task_struct *tasks[NWORKERS + 1];
	double seconds = stress_seconds(2), t0;
	struct kernel_stats ks = { 0 };
	unsigned long bad = 0, efault = 0, excused = 0, writes = 0, verifies = 0, zaps = 0;
	long succ0, fail0;
	pthread_t kthread;

	plan_no_plan();
	watchdog((unsigned int)seconds + 600);
	zero_sum = XXH64(zeros, PAGE_SIZE, 0);
	/* ZONE_MOVABLE fills first; the rest lands in ZONE_NORMAL, much of it CMA */
	test_boot(64, 8, 24);
	for (unsigned int i = 0; i < NWORKERS; i++) {
		struct worker *w = &workers[i];
		char comm[16];

		snprintf(comm, sizeof(comm), "stress%u", i);
		w->id = i;
		w->rng = 0x243f6a8885a308d3ull * (i + 1);
		w->task = test_process(comm);
		mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
		for (unsigned long p = 0; p < NPAGES; p++) {
			static uint64_t buf[PAGE_SIZE / 8];

			for (unsigned long k = 0; k < ARRAY_SIZE(buf); k++)
				buf[k] = test_rand(&w->rng);
			if (copy_to_user((void __user *)w_addr(p), buf, PAGE_SIZE))
				bail_out("initial fill failed");
			w->sum[p] = XXH64(buf, PAGE_SIZE, 0);
		}
		if (i == 0) {
			/* the child shares the first process's pages, COW */
			if (pinmm_fork(w->task, "stress-child", &child.task))
				bail_out("pinmm_fork failed");
			memcpy(child.sum, w->sum, sizeof(child.sum));
			child.rng = 0x452821e638d01377ull;
		}
		pinmm_task_detach();
		tasks[i] = w->task;
	}
	tasks[NWORKERS] = child.task;
	succ0 = ev(PGMIGRATE_SUCCESS);
	fail0 = ev(PGMIGRATE_FAIL);

	t0 = now_sec();
	for (unsigned int i = 0; i < NWORKERS; i++)
		workers[i].thread = start_thread(worker_fn, &workers[i]);
	child.thread = start_thread(child_fn, &child);
	kthread = start_thread(kernel_fn, &ks);
	/*
	 * The run lasts @seconds, and longer (up to a minute) until the
	 * kernel thread has claimed CMA and migrated at least once: on a
	 * loaded machine under TSan two seconds may not be enough for either.
	 */
	while (now_sec() - t0 < seconds ||
	       ((!atomic_load(&claims_seen) || ev(PGMIGRATE_SUCCESS) == succ0) &&
		now_sec() - t0 < seconds + 60))
		usleep(10000);
	atomic_store(&stop, 1);
	join_thread(kthread);
	join_thread(child.thread);
	for (unsigned int i = 0; i < NWORKERS; i++)
		join_thread(workers[i].thread);

	for (unsigned int i = 0; i <= NWORKERS; i++) {
		struct worker *w = i < NWORKERS ? &workers[i] : &child;

		bad += w->bad;
		efault += w->efault;
		excused += w->excused;
		writes += w->writes;
		verifies += w->verifies;
		zaps += w->zaps;
	}
	diag("%.2f s: %lu writes, %lu verifies, %lu zaps; kernel: %lu compactions (%lu pages), "
	     "%lu CMA claims (%lu refused), %lu offlines (%lu busy); pgmigrate_success %ld, "
	     "pgmigrate_fail %ld", now_sec() - t0, writes, verifies, zaps, ks.compactions,
	     ks.migrated, ks.claims, ks.claim_fail, ks.offlines, ks.offline_busy,
	     ev(PGMIGRATE_SUCCESS) - succ0, ev(PGMIGRATE_FAIL) - fail0);
	diag("soak: %lu CPU accesses failed on an injected allocation failure", excused);
	soak_report("migrate_stress", writes + verifies + zaps + ks.compactions + ks.claims +
		    ks.claim_fail + ks.offlines + ks.offline_busy);
	ok(ev(PGMIGRATE_SUCCESS) > succ0, "migrate stress: pages were migrated under the writers");
	/* under a soak, injected failures may refuse every claim: tried is progress then */
	ok(ks.claims > 0 || (soak_enabled() && ks.claim_fail > 0),
	   "migrate stress: CMA ranges were claimed while user pages lived in CMA");
	is_uint(bad, 0, "migrate stress: every XXH64 checksum verifies (no torn, lost or stale "
		"page across migration, compaction, CMA and offlining)");
	is_uint(efault, 0, "migrate stress: no CPU access failed on a page under migration");
	is_uint(ks.claim_bad, 0, "migrate stress: no one touched a claimed CMA range");
	mg_teardown("migrate stress", tasks, NWORKERS + 1);
	return done_testing();
}
