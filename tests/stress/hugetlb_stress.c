// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * hugetlb migration racing pins (Linux mm/gup.c check_and_migrate_movable_folios
 * on hugetlb folios, mm/hugetlb.c isolate_hugetlb / move_hugetlb_state, and
 * the GUP-fast vs migration-entry protocol on PMD leaves). Pinner threads
 * (sharing one mm through kthread_use_mm) take short- and long-term pins of
 * MAP_HUGETLB memory through pin_user_pages_fast and pin_user_pages, write
 * and check a slot of each pinned page through page_address(), and unpin;
 * a long-term pin must hold a hugetlb page outside ZONE_MOVABLE, so it
 * migrates one whenever the fault took a movable pool page. Meanwhile a
 * remapper unmaps and maps the huge pages again (new faults, new movable
 * pages), a CPU thread reads and writes them, and a pool thread shrinks and
 * regrows vm.nr_hugepages so free pages move back into ZONE_MOVABLE. For
 * $STRESS_SECONDS (default 2): every pinned page stayed pinned and kept what
 * was written through the pin, long-term pins were never left movable,
 * migrations happened, pins balance, and every frame is back at the end.
 */
#include "../gup/helpers.h"
#include "../base/helpers.h"

#include <pinmm/hugetlb.h>
#include <pthread.h>

#define BASE		0x600000000UL
#define NHUGE		2
#define NPINNERS	2
#define POOL		10
/* in use at most: NHUGE mapped, one unmapped per pinner, one migration target */
#define POOL_LOW	(NHUGE + NPINNERS + 2)

static struct mm_struct *pmm;
static double seconds;
static atomic_int stop, failures;
static atomic_long pin_calls, pins_taken, remaps, pool_cycles, cpu_ops;

static void fail(const char *what)
{
	if (atomic_fetch_add(&failures, 1) < 5)
		diag("hugetlb stress: %s", what);
}

static void pin_round(int id, uint64_t *rnd)
{
	static __thread struct page *pages[64];
	unsigned long h = test_rand(rnd) % NHUGE;
	unsigned long start = BASE + h * HPAGE_SIZE + (test_rand(rnd) % 448) * PAGE_SIZE;
	unsigned long n = 1 + test_rand(rnd) % 64;
	bool longterm = test_rand(rnd) & 1, fast = test_rand(rnd) & 1;
	unsigned int flags = FOLL_WRITE | (longterm ? FOLL_LONGTERM : 0);
	long r;

	atomic_fetch_add(&pin_calls, 1);
	if (fast) {
		r = pin_user_pages_fast(start, (int)n, flags, pages);
	} else {
		mmap_read_lock(pmm);
		r = pin_user_pages(start, n, flags, pages);
		mmap_read_unlock(pmm);
	}
	if (r <= 0)
		return;	/* the range was being remapped, or the pool was short */
	atomic_fetch_add(&pins_taken, r);
	mmap_read_lock(pmm);
	for (long i = 0; i < r; i++) {
		struct folio *folio = page_folio(pages[i]);
		uint64_t *slot = (uint64_t *)page_address(pages[i]) + 8 + id;
		uint64_t tag = ((uint64_t)id << 56) | (uint64_t)i | ((uint64_t)start << 8);

		if (!folio_test_hugetlb(folio) || !folio_maybe_dma_pinned(folio))
			fail("a pinned page is not a pinned hugetlb folio");
		if (longterm && !folio_is_longterm_pinnable(folio))
			fail("a long-term pin holds a page in ZONE_MOVABLE");
		__atomic_store_n(slot, tag, __ATOMIC_RELAXED);
		if (__atomic_load_n(slot, __ATOMIC_RELAXED) != tag)
			fail("a write through the pin was lost");
	}
	mmap_read_unlock(pmm);
	unpin_user_pages(pages, (unsigned long)r);
}

static void *pinner_fn(void *arg)
{
	int id = (int)(long)arg;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
	double end = now_sec() + seconds;

	if (!mmget_not_zero(pmm))
		return NULL;
	kthread_use_mm(pmm);
	while (!atomic_load(&stop) && now_sec() < end)
		pin_round(id, &rnd);
	kthread_unuse_mm(pmm);
	mmput(pmm);
	return NULL;
}

/* Unmap a huge page and map it again: its next fault takes a fresh pool page. */
static void *remapper_fn(void *arg)
{
	uint64_t rnd = 0x1234567ULL;
	double end = now_sec() + seconds;

	(void)arg;
	if (!mmget_not_zero(pmm))
		return NULL;
	kthread_use_mm(pmm);
	while (!atomic_load(&stop) && now_sec() < end) {
		unsigned long a = BASE + (test_rand(&rnd) % NHUGE) * HPAGE_SIZE;

		if (vm_munmap(a, HPAGE_SIZE) ||
		    vm_mmap(NULL, a, HPAGE_SIZE, GT_RW,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, 0) != a)
			fail("munmap/mmap of a huge page failed");
		/* Word 1: cpu_fn owns word 0 of every 4 KiB page, and two CPUs
		 * storing to one word is a race in the program, not in mm. */
		put_user(1UL, (unsigned long __user *)a + 1);
		atomic_fetch_add(&remaps, 1);
		usleep(200);
	}
	kthread_unuse_mm(pmm);
	mmput(pmm);
	return NULL;
}

/* CPU accesses: faults, and the migration-entry wait when they meet one. */
static void *cpu_fn(void *arg)
{
	uint64_t rnd = 0xabcdefULL;
	double end = now_sec() + seconds;

	(void)arg;
	if (!mmget_not_zero(pmm))
		return NULL;
	kthread_use_mm(pmm);
	while (!atomic_load(&stop) && now_sec() < end) {
		unsigned long a = BASE + (test_rand(&rnd) % (NHUGE * HUGETLB_NR_PAGES)) * PAGE_SIZE;
		unsigned long v;

		put_user(a, (unsigned long __user *)a);
		if (!get_user(v, (unsigned long __user *)a) && v != a && v != 0 && v != 1)
			fail("a CPU write did not read back");
		atomic_fetch_add(&cpu_ops, 1);
	}
	kthread_unuse_mm(pmm);
	mmput(pmm);
	return NULL;
}

/*
 * Shrink the pool and grow it again: free pages leave ZONE_NORMAL first and
 * come back in ZONE_MOVABLE. Never below what may be in use, so a remap's
 * reservation always finds a page.
 */
static void *pool_fn(void *arg)
{
	double end = now_sec() + seconds;

	(void)arg;
	while (!atomic_load(&stop) && now_sec() < end) {
		pinmm_hugetlb_set_nr_hugepages(POOL_LOW);
		pinmm_hugetlb_set_nr_hugepages(POOL);
		atomic_fetch_add(&pool_cycles, 1);
		usleep(1000);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[NPINNERS + 3];
	struct task_struct *parent;
	struct hugetlb_counts c;
	long mig0;
	unsigned long warns;
	bool saved;

	plan_no_plan();
	seconds = stress_seconds(2);
	watchdog((unsigned int)seconds + 600);
	test_boot(96, 16, 0);
	pinmm_hugetlb_set_nr_hugepages(POOL);
	parent = pinmm_task_create("hugetlb-stress");
	if (!parent)
		bail_out("setup");
	pmm = parent->mm;
	pinmm_task_attach(parent);
	if (vm_mmap(NULL, BASE, NHUGE * HPAGE_SIZE, GT_RW,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, 0) != BASE)
		bail_out("MAP_HUGETLB mmap failed");
	for (int h = 0; h < NHUGE; h++)
		put_user(1UL, (unsigned long __user *)(BASE + h * HPAGE_SIZE));
	pinmm_task_detach();

	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	warns = gt_warn_begin(&saved);
	for (long i = 0; i < NPINNERS; i++)
		th[i] = start_thread(pinner_fn, (void *)i);
	th[NPINNERS] = start_thread(remapper_fn, NULL);
	th[NPINNERS + 1] = start_thread(cpu_fn, NULL);
	th[NPINNERS + 2] = start_thread(pool_fn, NULL);
	for (int i = 0; i < NPINNERS + 3; i++)
		join_thread(th[i]);
	warns = gt_warn_end(saved, warns);

	is_int(atomic_load(&failures), 0, "hugetlb stress: every pinned page was a pinned hugetlb "
	       "folio, long-term ones outside ZONE_MOVABLE, and kept what was written through the "
	       "pin while migration, munmap/mmap, faults and pool resizing raced");
	ok(atomic_load(&pins_taken) > 0 && atomic_load(&remaps) > 0 && atomic_load(&pool_cycles) > 0,
	   "hugetlb stress: the threads ran (%ld pin calls, %ld pages pinned, %ld remaps, %ld pool "
	   "cycles, %ld CPU accesses)", atomic_load(&pin_calls), atomic_load(&pins_taken),
	   atomic_load(&remaps), atomic_load(&pool_cycles), atomic_load(&cpu_ops));
	ok(gt_ev(PGMIGRATE_SUCCESS) > mig0,
	   "hugetlb stress: long-term pins migrated hugetlb folios out of ZONE_MOVABLE (%ld)",
	   gt_ev(PGMIGRATE_SUCCESS) - mig0);
	is_uint(warns, 0, "hugetlb stress: no WARN fired during the run");
	is_int(gt_acq(), gt_rel(), "hugetlb stress: no pin lost or doubled");
	pinmm_task_exit(parent);
	rcu_barrier();
	hugetlb_read_counts(&c);
	ok(c.free == c.nr && c.resv == 0, "hugetlb stress: every huge page is free, none reserved");
	pinmm_hugetlb_set_nr_hugepages(0);
	is_uint(pinmm_frames_in_use(), 1, "hugetlb stress: every frame is back but the zero page");
	test_shutdown_ok("hugetlb_stress");
	return done_testing();
}
