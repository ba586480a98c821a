// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * Address-space stress: worker threads (sharing one mm through
 * kthread_use_mm) fault pages in by writing a per-page pattern and verify
 * it, mprotect their regions read-only and back, and munmap/re-mmap them,
 * while another thread forks the process in a loop; each child reads some
 * pages and checks they hold data that was there at fork (a whole pattern of
 * the right page, or zeroes), then exits. One worker uses a THP region whose
 * PMD gets split by partial munmap. At the end every frame must be free.
 *
 * Under make soak ($PINMM_FAIL_RATE) the threads' allocations fail at random.
 * A call that then fails as Linux may (-ENOMEM; a fault that cannot allocate:
 * -EFAULT before a byte of the page moved) is excused only when it met an
 * injected failure, and a step whose outcome is then unknown (an mmap, an
 * mprotect, a zap) is redone with injection off, so each page's expected
 * pattern stays exact.
 */
#include "../lib/machine.h"
#include "../lib/soak.h"

#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/rcupdate.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BASE		0x600000000UL
#define NWORKERS	3
#define REGIONS		12		/* small regions, owned round-robin */
#define RPAGES		8
#define RSTRIDE		(64 * PAGE_SIZE)
#define HUGE_BASE	(BASE + 0x40000000UL)	/* 1 GiB up, 2 MiB aligned */
#define WORDS		(PAGE_SIZE / sizeof(uint64_t))

static struct task_struct *parent;
static struct mm_struct *pmm;
static atomic_bool stop;
static atomic_long failures, forks, checks, ops, excused;
static double seconds;

static unsigned long region_addr(int r)
{
	return BASE + (unsigned long)r * RSTRIDE;
}

/* A page's pattern: its address in the top bits, a generation below. */
static uint64_t tag_of(unsigned long addr, uint64_t gen)
{
	return ((uint64_t)addr << 16) | (gen & 0xffff);
}

static bool page_ok(const uint64_t *w, unsigned long addr, uint64_t want_gen, bool any_gen)
{
	if (w[0] == 0 && w[WORDS - 1] == 0)
		return any_gen || want_gen == 0;
	if ((w[0] >> 16) != addr || w[WORDS - 1] != ~w[0] || w[WORDS / 2] != w[0])
		return false;
	return any_gen || (w[0] & 0xffff) == (want_gen & 0xffff);
}

static void fill(uint64_t *w, unsigned long addr, uint64_t gen)
{
	uint64_t t = tag_of(addr, gen);

	for (size_t i = 0; i < WORDS; i++)
		w[i] = t;
	w[WORDS - 1] = ~t;
}

static void fail(const char *what, unsigned long addr)
{
	if (atomic_fetch_add(&failures, 1) < 5)
		diag("FAIL: %s at %#lx", what, addr);
}

struct worker {
	int id;
	uint64_t rnd;
	uint64_t gen[REGIONS][RPAGES];
	uint64_t hgen[16];
};

/*
 * Soak: @failed after an injected failure is excused (counted); the caller
 * redoes the step with injection off. Not excused: a failure of the test.
 */
static bool soak_redo(bool failed, unsigned long inj, const char *what, unsigned long addr)
{
	if (!failed)
		return false;
	if (!soak_excused(inj)) {
		fail(what, addr);
		return false;
	}
	atomic_fetch_add(&excused, 1);
	return true;
}

static bool remap(unsigned long base, unsigned long len, bool huge)
{
	return vm_munmap(base, len) ||
	       vm_mmap(NULL, base, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0) != base ||
	       (huge && do_madvise(pmm, base, len, MADV_HUGEPAGE));
}

static void worker_region_op(struct worker *w, int r)
{
	unsigned long base = region_addr(r), a, inj = soak_fail_mine();
	uint64_t page[WORDS];
	int op = (int)(test_rand(&w->rnd) % 16);
	int p = (int)(test_rand(&w->rnd) % RPAGES);

	a = base + (unsigned long)p * PAGE_SIZE;
	if (op == 0) {
		if (soak_redo(remap(base, RPAGES * PAGE_SIZE, false), inj, "munmap/mmap", base)) {
			soak_fail_disarm();
			if (remap(base, RPAGES * PAGE_SIZE, false))
				fail("munmap/mmap without injection", base);
			soak_fail_arm();
		}
		memset(w->gen[r], 0, sizeof(w->gen[r]));
	} else if (op == 1) {
		unsigned long v __maybe_unused = 0;

		if (soak_redo(do_mprotect(base, RPAGES * PAGE_SIZE, PROT_READ), inj, "mprotect(R)",
			      base)) {
			soak_fail_disarm();
			if (do_mprotect(base, RPAGES * PAGE_SIZE, PROT_READ))
				fail("mprotect(R) without injection", base);
			soak_fail_arm();
		}
		if (put_user(1UL, (unsigned long __user *)a) != -EFAULT)
			fail("write to PROT_READ succeeded", a);
		inj = soak_fail_mine();
		if (get_user(v, (unsigned long __user *)a) && !soak_excused(inj))
			fail("read of PROT_READ failed", a);
		inj = soak_fail_mine();
		if (soak_redo(do_mprotect(base, RPAGES * PAGE_SIZE, PROT_READ | PROT_WRITE), inj,
			      "mprotect(RW)", base)) {
			soak_fail_disarm();
			if (do_mprotect(base, RPAGES * PAGE_SIZE, PROT_READ | PROT_WRITE))
				fail("mprotect(RW) without injection", base);
			soak_fail_arm();
		}
	} else if (op < 8) {
		w->gen[r][p]++;
		fill(page, a, w->gen[r][p]);
		if (soak_redo(copy_to_user((void __user *)a, page, PAGE_SIZE), inj, "copy_to_user", a))
			w->gen[r][p]--;		/* nothing of the page was written */
	}
	inj = soak_fail_mine();
	if (copy_from_user(page, (void __user *)a, PAGE_SIZE)) {
		soak_redo(true, inj, "worker read-back", a);
		return;
	}
	if (!page_ok(page, a, w->gen[r][p], false))
		fail("worker read-back", a);
}

static void worker_huge_op(struct worker *w)
{
	int p = (int)(test_rand(&w->rnd) % 16);
	unsigned long a = HUGE_BASE + (unsigned long)p * 32 * PAGE_SIZE, inj = soak_fail_mine();
	uint64_t page[WORDS];
	int op = (int)(test_rand(&w->rnd) % 32);

	if (op == 0) {
		/* unmap the whole 2 MiB and start a fresh THP */
		if (soak_redo(remap(HUGE_BASE, PMD_SIZE, true), inj, "huge remap", HUGE_BASE)) {
			soak_fail_disarm();
			if (remap(HUGE_BASE, PMD_SIZE, true))
				fail("huge remap without injection", HUGE_BASE);
			soak_fail_arm();
		}
		memset(w->hgen, 0, sizeof(w->hgen));
	} else if (op == 1) {
		/* a 4 KiB hole in the middle: split the PMD */
		if (soak_redo(do_madvise(pmm, a, PAGE_SIZE, MADV_DONTNEED), inj, "MADV_DONTNEED", a)) {
			soak_fail_disarm();
			if (do_madvise(pmm, a, PAGE_SIZE, MADV_DONTNEED))
				fail("MADV_DONTNEED without injection", a);
			soak_fail_arm();
		}
		w->hgen[p] = 0;
	} else {
		w->hgen[p]++;
		fill(page, a, w->hgen[p]);
		if (soak_redo(copy_to_user((void __user *)a, page, PAGE_SIZE), inj,
			      "huge copy_to_user", a))
			w->hgen[p]--;
	}
	inj = soak_fail_mine();
	if (copy_from_user(page, (void __user *)a, PAGE_SIZE)) {
		soak_redo(true, inj, "huge read-back", a);
		return;
	}
	if (!page_ok(page, a, w->hgen[p], false))
		fail("huge read-back", a);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	double end = now_sec() + seconds;

	kthread_use_mm(pmm);
	soak_fail_arm();
	while (!atomic_load(&stop) && now_sec() < end) {
		int r = w->id + NWORKERS * (int)(test_rand(&w->rnd) % (REGIONS / NWORKERS));

		worker_region_op(w, r);
		if (w->id == 0)
			worker_huge_op(w);
		atomic_fetch_add(&ops, 1);
	}
	kthread_unuse_mm(pmm);
	return NULL;
}

/* The child checks pages: whole patterns of the right address, or zeroes. */
static void child_checks(struct task_struct *child, uint64_t *rnd)
{
	uint64_t page[WORDS];

	pinmm_task_attach(child);
	for (int i = 0; i < 6; i++) {
		int r = (int)(test_rand(rnd) % REGIONS), p = (int)(test_rand(rnd) % RPAGES);
		unsigned long a = region_addr(r) + (unsigned long)p * PAGE_SIZE;

		/* a region being re-mmapped at fork time may be a hole: fine */
		if (copy_from_user(page, (void __user *)a, PAGE_SIZE))
			continue;
		if (!page_ok(page, a, 0, true))
			fail("child saw a torn or foreign page", a);
		atomic_fetch_add(&checks, 1);
	}
	{
		unsigned long a = HUGE_BASE + (test_rand(rnd) % 16) * 32 * PAGE_SIZE;

		if (!copy_from_user(page, (void __user *)a, PAGE_SIZE) && !page_ok(page, a, 0, true))
			fail("child saw a torn huge page", a);
	}
	/* and writes its own copy: the parent must never see it */
	page[0] = 0xbad;
	copy_to_user((void __user *)region_addr(0), page, 8);
	pinmm_task_detach();
}

static void *forker_fn(void *arg)
{
	double end = now_sec() + seconds;
	uint64_t rnd = 0x1234567;

	(void)arg;
	soak_fail_arm();
	while (!atomic_load(&stop) && now_sec() < end) {
		struct task_struct *child = NULL;
		unsigned long inj = soak_fail_mine();
		int err;

		pinmm_task_attach(parent);
		err = pinmm_fork(parent, "child", &child);
		if (err) {
			if (!(err == -ENOMEM && soak_excused(inj)))
				fail("fork", (unsigned long)(long)err);
			pinmm_task_detach();
			continue;
		}
		pinmm_task_detach();
		child_checks(child, &rnd);
		pinmm_task_exit(child);
		atomic_fetch_add(&forks, 1);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[NWORKERS + 1];
	struct worker *w = calloc(NWORKERS, sizeof(*w));

	plan_no_plan();
	seconds = stress_seconds(2);
	test_boot(128, 32, 16);
	parent = pinmm_task_create("stress");
	if (!parent || !w)
		bail_out("setup");
	pmm = parent->mm;
	pinmm_task_attach(parent);
	for (int r = 0; r < REGIONS; r++)
		if (vm_mmap(NULL, region_addr(r), RPAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0) != region_addr(r))
			bail_out("mmap");
	if (vm_mmap(NULL, HUGE_BASE, PMD_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0) != HUGE_BASE ||
	    do_madvise(pmm, HUGE_BASE, PMD_SIZE, MADV_HUGEPAGE))
		bail_out("mmap huge");
	pinmm_task_detach();

	for (int i = 0; i < NWORKERS; i++) {
		w[i].id = i;
		w[i].rnd = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		pthread_create(&th[i], NULL, worker_fn, &w[i]);
	}
	pthread_create(&th[NWORKERS], NULL, forker_fn, NULL);
	for (int i = 0; i <= NWORKERS; i++)
		pthread_join(th[i], NULL);

	if (soak_enabled())
		diag("soak: %ld calls failed on an injected allocation failure", atomic_load(&excused));
	soak_report("mm_stress", (unsigned long)(atomic_load(&ops) + atomic_load(&forks)));
	is_int(atomic_load(&failures), 0,
	       "stress: faults, COW, mprotect, munmap and fork kept every page's data consistent");
	ok(atomic_load(&forks) > 0, "stress: the forker forked (%ld times, %ld child checks)",
	   atomic_load(&forks), atomic_load(&checks));
	pinmm_task_exit(parent);
	rcu_barrier();
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 0, "stress: nr_anon_pages back to 0");
	is_int(global_node_page_state_snapshot(NR_PAGETABLE), 0, "stress: every page table freed");
	is_uint(pinmm_frames_in_use(), 1, "stress: no leaked frame (only the zero page)");
	test_shutdown_ok("mm_stress");
	free(w);
	return done_testing();
}
