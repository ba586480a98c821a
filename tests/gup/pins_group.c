// SPDX-License-Identifier: MIT
/*
 * Pins groups (beyond Linux; issue 12 item 5: the pins cgroup RFC's
 * pins.max / pins.current, in pages). PINMM_TEST_CONCURRENT: the last case
 * runs threads against one limit, so this file also runs under TSan.
 *
 *   G-LIMIT    a long-term pin that would pass pins.max fails with -ENOMEM and
 *              leaves nothing pinned; the counters stay balanced;
 *   G-CHARGE   every long-term pin is charged (fast, slow, remote,
 *              memfd_pin_folios in pages of its folios); short-term pins are not;
 *   G-UNCHARGE the unpin uncharges, even after the pinning task exited;
 *   G-FORK     children inherit the group;
 *   G-MAX      lowering pins.max keeps what is pinned and refuses new pins;
 *   G-CONC     threads pinning against one limit never pass it together.
 */
#include "helpers.h"

#include <pinmm/fs.h>
#include <pinmm/pin_owner.h>
#include <pinmm/race.h>
#include <pinmm/shmem_fs.h>
#include <pthread.h>
#include <sched.h>

static long lt_pin(unsigned long addr, unsigned long n, struct page **pages)
{
	return pin_user_pages_fast(addr, (int)n, FOLL_WRITE | FOLL_LONGTERM, pages);
}

static unsigned long pinned_pages(unsigned long addr, unsigned long n)
{
	unsigned long nr = 0;

	for (unsigned long i = 0; i < n; i++)
		nr += folio_maybe_dma_pinned(page_folio(gt_page(current->mm, addr + i * PAGE_SIZE)));
	return nr;
}

/* G-LIMIT, G-CHARGE, G-MAX: one task, one group. */
static void limit(void)
{
	const unsigned long addr = GT_BASE, n = 32;
	struct page *pages[32], *more[32];
	struct pinmm_pins_group *g;
	struct task_struct *t;
	long acq0, rel0, r;
	int locked = 1;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("grp");
	g = pinmm_pins_group_create("g", 8);
	ok(!IS_ERR(g) && pinmm_pins_group_max(g) == 8 && pinmm_pins_group_current(g) == 0,
	   "G-LIMIT: a new group has pins.max 8, pins.current 0");
	is_int(pinmm_pins_group_attach(t, g), 0, "G-LIMIT: a task joins the group");
	is_int(pinmm_pins_group_tasks(g), 1, "G-LIMIT: the group counts its task");
	test_mmap_fixed(addr, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, n * PAGE_SIZE);

	acq0 = gt_acq();
	rel0 = gt_rel();
	r = lt_pin(addr, 16, pages);
	is_int(r, -ENOMEM, "G-LIMIT: a long-term pin of 16 pages over pins.max 8 is -ENOMEM");
	ok(pinned_pages(addr, n) == 0 && gt_acq() - acq0 == gt_rel() - rel0,
	   "G-LIMIT: the refused call leaves nothing pinned (counters balanced)");
	is_int(pinmm_pins_group_current(g), 0, "G-LIMIT: the refused call leaves nothing charged");
	is_int(pinmm_pins_group_failcnt(g), 1, "G-LIMIT: the refusal is counted");

	r = lt_pin(addr, 8, pages);
	ok(r == 8 && pinmm_pins_group_current(g) == 8,
	   "G-CHARGE: a long-term pin of 8 pages is charged 8 (pins.current %ld)",
	   pinmm_pins_group_current(g));
	is_int(lt_pin(addr + 8 * PAGE_SIZE, 1, more), -ENOMEM,
	       "G-LIMIT: one page more than pins.max is refused");
	mmap_read_lock(current->mm);
	is_int(pin_user_pages_remote(current->mm, addr + 8 * PAGE_SIZE, 1,
				     FOLL_WRITE | FOLL_LONGTERM, more, &locked), -ENOMEM,
	       "G-LIMIT: pin_user_pages_remote(FOLL_LONGTERM) is limited too");
	mmap_read_unlock(current->mm);
	r = pin_user_pages_fast(addr + 8 * PAGE_SIZE, 16, FOLL_WRITE, more);
	ok(r == 16 && pinmm_pins_group_current(g) == 8,
	   "G-CHARGE: a short-term pin is not charged (pins.current stays 8)");
	unpin_user_pages(more, 16);
	unpin_user_pages_dirty_lock(pages, 4, true);
	is_int(pinmm_pins_group_current(g), 4, "G-UNCHARGE: unpinning 4 pages uncharges 4");
	mmap_read_lock(current->mm);
	r = pin_user_pages(addr + 8 * PAGE_SIZE, 4, FOLL_WRITE | FOLL_LONGTERM, more);
	mmap_read_unlock(current->mm);
	ok(r == 4 && pinmm_pins_group_current(g) == 8,
	   "G-CHARGE: pin_user_pages(FOLL_LONGTERM) is charged (back to the limit)");
	is_int(pinmm_pins_group_set_max(g, 2), 0, "G-MAX: pins.max can be lowered below current");
	ok(pinmm_pins_group_current(g) == 8 && pinned_pages(addr, n) == 8,
	   "G-MAX: what is pinned stays pinned and charged");
	unpin_user_pages(more, 4);
	is_int(lt_pin(addr + 20 * PAGE_SIZE, 1, more), -ENOMEM,
	       "G-MAX: above the lowered limit new long-term pins fail");
	unpin_user_pages(pages + 4, 4);
	ok(pinmm_pins_group_current(g) == 0 && lt_pin(addr, 2, pages) == 2,
	   "G-MAX: once released below the limit, pins succeed again");
	unpin_user_pages(pages, 2);
	is_int(pinmm_pins_group_set_max(g, -2), -EINVAL, "G-MAX: pins.max below -1 is -EINVAL");
	is_int(pinmm_pins_group_current(g), 0, "G-UNCHARGE: pins.current back to 0");
	pinmm_pins_group_put(g);
	gt_teardown("limit", &t, 1);
}

/* G-CHARGE: memfd_pin_folios is charged in pages of its folios. */
static void memfd_charge(void)
{
	struct pinmm_pins_group *g;
	struct folio *folios[8];
	struct task_struct *t;
	struct file *f;
	pgoff_t off;
	long n;

	test_boot(64, 0, 0);
	t = test_process("grp-memfd");
	g = pinmm_pins_group_create("memfd", 6);
	pinmm_pins_group_attach(t, g);
	f = memfd_alloc_file("grp", 0);
	if (IS_ERR(f))
		bail_out("memfd_alloc_file");
	do_ftruncate(f, 8 * PAGE_SIZE, 1);
	n = memfd_pin_folios(f, 0, 8 * PAGE_SIZE - 1, folios, 8, &off);
	ok(n == -ENOMEM && pinmm_pins_group_current(g) == 0 &&
	   gt_acq() == gt_rel(), "G-LIMIT: memfd_pin_folios over pins.max is -ENOMEM, nothing "
	   "left pinned or charged");
	n = memfd_pin_folios(f, 0, 4 * PAGE_SIZE - 1, folios, 8, &off);
	ok(n == 4 && pinmm_pins_group_current(g) == 4,
	   "G-CHARGE: memfd_pin_folios of 4 pages is charged 4");
	unpin_folios(folios, (unsigned long)n);
	is_int(pinmm_pins_group_current(g), 0, "G-UNCHARGE: unpin_folios uncharges memfd pins");
	fput(f);

	/* one pin of a 2 MiB shmem folio is 512 pages against the limit */
	pinmm_shmem_set_huge(SHMEM_HUGE_ALWAYS);
	f = memfd_alloc_file("grp-thp", 0);
	if (IS_ERR(f))
		bail_out("memfd_alloc_file");
	do_ftruncate(f, PMD_SIZE, 1);
	n = memfd_pin_folios(f, 0, PMD_SIZE - 1, folios, 8, &off);
	is_int(n, -ENOMEM, "G-LIMIT: one pin of a 512-page shmem folio is over pins.max 6");
	pinmm_pins_group_set_max(g, 512);
	n = memfd_pin_folios(f, 0, PMD_SIZE - 1, folios, 8, &off);
	ok(n == 1 && folio_nr_pages(folios[0]) == HPAGE_PMD_NR &&
	   pinmm_pins_group_current(g) == HPAGE_PMD_NR,
	   "G-CHARGE: a memfd pin of a shmem THP is charged its 512 pages (n %ld, current %ld)",
	   n, pinmm_pins_group_current(g));
	if (n > 0)
		unpin_folio(folios[0]);
	is_int(pinmm_pins_group_current(g), 0, "G-UNCHARGE: unpin_folio uncharges its 512 pages");
	pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);
	fput(f);
	pinmm_pins_group_put(g);
	gt_teardown("memfd_charge", &t, 1);
}

/* G-UNCHARGE after exit, G-FORK. */
static void exit_and_fork(void)
{
	const unsigned long addr = GT_BASE, n = 8;
	struct page *pages[8], *cpages[8];
	struct pinmm_pins_group *g;
	struct task_struct *t, *child = NULL;
	char *err;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("grp-parent");
	g = pinmm_pins_group_create("fam", 100);
	pinmm_pins_group_attach(t, g);
	test_mmap_fixed(addr, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, n * PAGE_SIZE);
	is_int(pinmm_fork(t, "grp-child", &child), 0, "G-FORK: fork");
	ok(child && pinmm_pins_group_of(child) == g && pinmm_pins_group_tasks(g) == 2,
	   "G-FORK: the child inherits its parent's group (2 tasks)");
	pinmm_task_attach(child);
	r = lt_pin(addr, n, cpages);
	ok(r == (long)n && pinmm_pins_group_current(g) == (long)n,
	   "G-FORK: the child's long-term pins are charged to the inherited group");
	/* the child exits with its pins held: a driver keeps them */
	pinmm_task_detach();
	capture_stderr_begin();
	pinmm_task_exit(child);
	err = capture_stderr_end();
	free(err);
	ok(pinmm_pins_group_tasks(g) == 1 && pinmm_pins_group_current(g) == (long)n,
	   "G-UNCHARGE: after the pinning task exits, its pins stay charged");
	unpin_user_pages(cpages, n);
	is_int(pinmm_pins_group_current(g), 0,
	       "G-UNCHARGE: the unpin after the task exited uncharges its group");
	pinmm_task_attach(t);
	r = lt_pin(addr, n, pages);
	pinmm_pins_group_attach(t, NULL);
	ok(pinmm_pins_group_tasks(g) == 0 && pinmm_pins_group_current(g) == (long)n,
	   "G-UNCHARGE: leaving the group keeps the charge of pins taken in it");
	unpin_user_pages(pages, (unsigned long)r);
	is_int(pinmm_pins_group_current(g), 0,
	       "G-UNCHARGE: ... until they are released");
	pinmm_pins_group_put(g);
	gt_teardown("exit_and_fork", &t, 1);
}

/*
 * G-CONC, deterministic: a second charge lands inside the first one's window
 * (between its look at pins.current and its store). The first must see it
 * and refuse, not store a stale sum past pins.max.
 */
static struct page *race_pages[8];
static long race_inner;
static atomic_int race_once;

static void charge_race_hook(enum pinmm_race point, unsigned long pages, void *arg)
{
	(void)point;
	(void)pages;
	if (atomic_exchange(&race_once, 1))
		return;
	race_inner = lt_pin((unsigned long)arg, 8, race_pages);
}

static void charge_race(void)
{
	const unsigned long addr = GT_BASE;
	struct page *pages[8];
	struct pinmm_pins_group *g;
	struct task_struct *t;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("grp-race");
	g = pinmm_pins_group_create("race", 12);
	pinmm_pins_group_attach(t, g);
	test_mmap_fixed(addr, 16 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, 16 * PAGE_SIZE);
	atomic_store(&race_once, 0);
	if (pinmm_race_arm(PINMM_RACE_PINS_CHARGE, charge_race_hook,
			   (void *)(addr + 8 * PAGE_SIZE))) {
		skip(3, "race points need a debug build");
	} else {
		r = lt_pin(addr, 8, pages);
		pinmm_race_disarm(PINMM_RACE_PINS_CHARGE);
		is_int(race_inner, 8, "G-CONC: the charge inside the window succeeds (8 of 12)");
		is_int(r, -ENOMEM, "G-CONC: the charge whose window it was refuses: 8 + 8 > 12");
		is_int(pinmm_pins_group_current(g), 8,
		       "G-CONC: pins.current is the inner charge only, never past pins.max");
		if (race_inner > 0)
			unpin_user_pages(race_pages, (unsigned long)race_inner);
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
	}
	pinmm_pins_group_put(g);
	gt_teardown("charge_race", &t, 1);
}

/*
 * G-CONC: forked children, each on its own thread, pin long-term against one
 * limit; two worker threads borrowing the parent's mm pin one page over and
 * over, so owner records of a shared folio race too.
 */
#define CONC_THREADS	4
#define CONC_PAGES	16
#define CONC_MAX	12

static atomic_int conc_go;

struct conc_arg {
	struct pinmm_pins_group *g;
	struct task_struct *task;	/* NULL: a worker on the parent's mm */
	struct mm_struct *mm;
	int id;
	int iters;
	long refused, over, bad;
};

static void *conc_fn(void *p)
{
	struct conc_arg *a = p;
	struct page *pages[CONC_PAGES];
	uint64_t rnd = (uint64_t)a->id * 7919 + 1;

	/* start together, so the chargers really race */
	while (!atomic_load(&conc_go))
		sched_yield();
	if (!a->task) {
		kthread_use_mm(a->mm);
		for (int i = 0; i < a->iters * 4; i++) {
			int r = pin_user_pages_fast(GT_BASE, 2, FOLL_WRITE, pages);

			a->bad += r != 2;
			if (r > 0)
				unpin_user_pages(pages, (unsigned long)r);
		}
		kthread_unuse_mm(a->mm);
		return NULL;
	}
	pinmm_task_attach(a->task);
	for (int i = 0; i < a->iters; i++) {
		unsigned long n = 1 + test_rand(&rnd) % CONC_PAGES;
		long r = lt_pin(GT_BASE, n, pages);

		a->over += pinmm_pins_group_current(a->g) > CONC_MAX;
		if (r == -ENOMEM)
			a->refused++;
		else if (r != (long)n)
			a->bad++;
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
	}
	pinmm_task_detach();
	return NULL;
}

static void concurrent(void)
{
	struct conc_arg args[CONC_THREADS + 2];
	pthread_t th[CONC_THREADS + 2];
	struct task_struct *t, *tasks[CONC_THREADS + 1];
	struct pinmm_pins_group *g;
	long refused = 0, over = 0, bad = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("grp-conc");
	g = pinmm_pins_group_create("conc", CONC_MAX);
	pinmm_pins_group_attach(t, g);
	test_mmap_fixed(GT_BASE, CONC_PAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, CONC_PAGES * PAGE_SIZE);
	tasks[0] = t;
	for (int i = 0; i < CONC_THREADS; i++) {
		if (pinmm_fork(t, "conc-child", &tasks[i + 1]))
			bail_out("pinmm_fork");
		args[i] = (struct conc_arg){ .g = g, .task = tasks[i + 1], .id = i, .iters = 1000 };
	}
	for (int i = CONC_THREADS; i < CONC_THREADS + 2; i++)
		args[i] = (struct conc_arg){ .g = g, .mm = t->mm, .id = i, .iters = 250 };
	pinmm_task_detach();
	atomic_store(&conc_go, 0);
	for (int i = 0; i < CONC_THREADS + 2; i++)
		pthread_create(&th[i], NULL, conc_fn, &args[i]);
	atomic_store(&conc_go, 1);
	for (int i = 0; i < CONC_THREADS + 2; i++) {
		pthread_join(th[i], NULL);
		refused += args[i].refused;
		over += args[i].over;
		bad += args[i].bad;
	}
	pinmm_task_attach(t);
	is_int(over, 0, "G-CONC: pins.current never seen above pins.max (%d) by %d children",
	       CONC_MAX, CONC_THREADS);
	is_int(bad, 0, "G-CONC: every call pinned all it asked for or was refused whole");
	ok(refused > 0, "G-CONC: the limit was reached (%ld refusals)", refused);
	is_int(pinmm_pins_group_tasks(g), CONC_THREADS + 1, "G-FORK: every child joined the group");
	is_int(pinmm_pins_group_current(g), 0, "G-CONC: pins.current back to 0 at the end");
	is_int(pinmm_pins_sites(NULL, 0), 0,
	       "G-CONC: no owner record left (a shared folio's racing pins all released)");
	pinmm_pins_group_put(g);
	gt_teardown("concurrent", tasks, CONC_THREADS + 1);
}

int main(void)
{
	plan_no_plan();
	limit();
	memfd_charge();
	exit_and_fork();
	charge_race();
	concurrent();
	return done_testing();
}
