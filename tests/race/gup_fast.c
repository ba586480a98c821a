// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * GUP-fast's re-checks, each driven through the window it exists for with
 * race points (include/pinmm/race.h) held open; each case fails if its check
 * is removed (docs/race-points.md lists which case covers which check):
 *  - fork vs GUP-fast, write_protect_seq retry (Linux mm/gup.c gup_fast():
 *    read_seqcount_retry after the walk): the walk reads a writable PTE (or
 *    THP PMD) before fork write-protects it and pins after fork decided the
 *    page was not pinned; the moved count must make GUP-fast drop the pin,
 *    or the parent's pin lands on a page fork shares with the child (the
 *    dropped pin counts as taken and released, as Linux counts it);
 *  - fork vs GUP-fast, write_protect_seq begin (raw_seqcount_try_begin):
 *    a walk that starts while fork is copying must not pin at all;
 *  - zap vs GUP-fast, PTE re-check after the grab (gup_fast_pte_range()):
 *    MADV_DONTNEED between the grab and the re-check must make it back off,
 *    or the pin is on a page no longer mapped there;
 *  - zap vs GUP-fast on a PMD-mapped THP, the PMD re-check
 *    (gup_fast_pmd_leaf()): the same for the huge entry;
 *  - migration vs GUP-fast, the speculative grab (folio_ref_try_add(): add
 *    unless zero, mm/gup.c try_grab_folio_fast()): a walk that read the PTE
 *    before migration unmapped the page must not grab it once migration has
 *    frozen its refcount.
 * Every case ends with the pins balanced and every frame free.
 */
#include "steps.h"

#include <stdio.h>

#define A	(GT_BASE + 3 * PAGE_SIZE)
#define H	(GT_BASE + PMD_SIZE)		/* a 2 MiB aligned THP */

static struct task_struct *parent, *child;

/* A parent with one written anon page at A (exclusive, writable). */
static void setup_parent(const char *comm)
{
	test_boot(64, 0, 0);
	parent = test_process(comm);
	child = NULL;
	test_mmap_fixed(GT_BASE, 16 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, 16 * PAGE_SIZE);
	step_reset();
}

static void *forker(void *arg)
{
	int wait_for = (int)(long)arg;

	if (wait_for && !step_wait(wait_for))
		return NULL;
	pinmm_task_attach(parent);
	if (pinmm_fork(parent, "child", &child))
		child = NULL;
	pinmm_task_detach();
	step_set(100);		/* fork is over */
	return NULL;
}

/* ---- fork vs GUP-fast: the sequence count checked after the walk ------------------ */

/* Where the walk starts (and reads), and where fork shares (a THP: its PMD's address). */
static unsigned long walk_addr, share_addr;

static void seq_retry_read(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, walk_addr)) {
		step_set(1);		/* the entry is read: fork may start */
		step_wait(2);		/* until fork has decided to share the page */
	}
}

static void seq_retry_fork(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, share_addr)) {
		step_set(2);		/* shared, not write-protected yet */
		step_wait(3);		/* until GUP-fast pinned and re-checked the entry */
	}
}

static void seq_retry_end(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, walk_addr)) {
		step_set(3);
		step_wait(100);		/* until fork is over: the count has moved */
	}
}

static void fork_vs_seq_retry(bool thp)
{
	const char *name = thp ? "seq retry (THP)" : "seq retry";
	struct page *page = GT_POISON, *theirs;
	pthread_t th;
	long n, acq0, rel0;

	setup_parent(name);
	walk_addr = thp ? H + 5 * PAGE_SIZE : A;
	share_addr = thp ? H : A;
	if (thp && !gt_thp(H)) {
		skip(5, "no PMD-mapped THP");
		gt_teardown(name, (struct task_struct *[]){ parent }, 1);
		return;
	}
	arm(PINMM_RACE_GUP_FAST_READ, seq_retry_read);
	arm(PINMM_RACE_FORK_SHARE, seq_retry_fork);
	arm(PINMM_RACE_GUP_FAST_SEQ_RETRY, seq_retry_end);
	acq0 = gt_acq();
	rel0 = gt_rel();
	pthread_create(&th, NULL, forker, (void *)1L);
	n = pin_user_pages_fast(walk_addr, 1, FOLL_WRITE, &page);
	pthread_join(th, NULL);
	disarm_all();
	ok(gt_acq() - acq0 == 2 && gt_rel() - rel0 == 1,
	   "%s: the pin GUP-fast dropped is counted taken and released (Linux counts each fast "
	   "pin when taken), the slow path's taken: acquired +2, released +1", name);
	ok(!st.timed_out && atomic_load(&hits[PINMM_RACE_FORK_SHARE]) == 1,
	   "%s: GUP-fast read the entry, fork shared the page, GUP-fast pinned it, "
	   "then fork write-protected it: the window was held open", name);
	ok(child != NULL, "%s: fork succeeded", name);
	is_int(n, 1, "%s: the pin succeeded (through the slow path)", name);
	theirs = child ? gt_page(child->mm, walk_addr) : NULL;
	ok(n == 1 && page != theirs,
	   "%s: the pinned page is not the page the child maps (the moved "
	   "write_protect_seq made GUP-fast drop its pin; the slow path broke COW)", name);
	ok(n == 1 && page == gt_page(parent->mm, walk_addr) && gt_writable(parent->mm, walk_addr),
	   "%s: the parent maps the pinned page, writable", name);
	if (n == 1)
		unpin_user_page(page);
	gt_teardown(name, (struct task_struct *[]){ child, parent }, 2);
}

/* ---- fork vs GUP-fast: a walk that starts while fork copies ----------------------- */

static long during_fork_n = -1;
static struct page *during_fork_page;

static void during_fork(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, A)) {
		step_set(1);		/* fork is copying: the count is odd */
		step_wait(2);		/* until the other thread tried GUP-fast */
	}
}

static void fork_vs_seq_begin(void)
{
	pthread_t th;

	setup_parent("seq-begin");
	during_fork_n = -1;
	arm(PINMM_RACE_FORK_SHARE, during_fork);
	pthread_create(&th, NULL, forker, (void *)0L);
	if (step_wait(1)) {
		/* this thread's walk, in the middle of fork's copy */
		during_fork_n = gt_fast_only(A, 1, FOLL_PIN | FOLL_WRITE, &during_fork_page);
		step_set(2);
	}
	pthread_join(th, NULL);
	disarm_all();
	ok(!st.timed_out, "seq begin: GUP-fast ran while fork held the page shared, "
	   "not yet write-protected");
	is_int(during_fork_n, 0,
	       "seq begin: it pinned nothing: write_protect_seq was odd (fork copying)");
	ok(during_fork_n != 1 || !child || during_fork_page != gt_page(child->mm, A),
	   "seq begin: no page the parent pinned is shared with the child");
	if (during_fork_n == 1)
		unpin_user_page(during_fork_page);
	gt_teardown("seq_begin", (struct task_struct *[]){ child, parent }, 2);
}

/* ---- zap vs GUP-fast: the entry re-checked after the grab ------------------------- */

static unsigned long zap_at, zap_len, window_addr;

static void *zapper(void *arg)
{
	(void)arg;
	pinmm_task_attach(parent);
	do_madvise(parent->mm, zap_at, zap_len, MADV_DONTNEED);
	pinmm_task_detach();
	return NULL;
}

/* After the grab, before the re-check: another thread zaps the range, completely. */
static void zap_in_window(enum pinmm_race point, unsigned long addr, void *arg)
{
	pthread_t th;

	(void)arg;
	if (first_at(point, addr, window_addr)) {
		pthread_create(&th, NULL, zapper, NULL);
		pthread_join(th, NULL);
		step_set(1);
	}
}

static void zap_vs_recheck(bool thp)
{
	const char *name = thp ? "pmd_recheck" : "pte_recheck";
	unsigned long at = thp ? H + 5 * PAGE_SIZE : A;
	struct page *page = GT_POISON;
	long n;

	setup_parent(name);
	if (thp && !gt_thp(H)) {
		skip(4, "no PMD-mapped THP");
		gt_teardown(name, (struct task_struct *[]){ parent }, 1);
		return;
	}
	zap_at = thp ? H : A;
	zap_len = thp ? PMD_SIZE : PAGE_SIZE;
	window_addr = at;
	arm(PINMM_RACE_GUP_FAST_GRABBED, zap_in_window);
	n = gt_fast_only(at, 1, FOLL_PIN | FOLL_WRITE, &page);
	disarm_all();
	ok(st.step == 1, "%s: MADV_DONTNEED ran between the grab and the re-check", name);
	is_int(n, 0, "%s: GUP-fast saw the %s change and backed off", name, thp ? "PMD" : "PTE");
	ok(n != 1 || page == gt_page(parent->mm, at),
	   "%s: no pin on a page that is no longer mapped there", name);
	if (n == 1)
		unpin_user_page(page);
	/* with the fallback: the slow path faults in the new page and pins that */
	n = pin_user_pages_fast(at, 1, FOLL_WRITE, &page);
	ok(n == 1 && page == gt_page(parent->mm, at),
	   "%s: then pin_user_pages_fast pins the page mapped now", name);
	if (n == 1)
		unpin_user_page(page);
	gt_teardown(name, (struct task_struct *[]){ parent }, 1);
}

/* ---- migration vs GUP-fast: a frozen refcount cannot be grabbed --------------------- */

static unsigned long frozen_pfn;
static int migrate_ret = -1;

static void *migrator(void *arg)
{
	struct migration_target_control mtc = { .gfp_mask = GFP_HIGHUSER_MOVABLE,
						.reason = MR_SYSCALL };
	struct folio *folio = arg;
	LIST_HEAD(list);

	if (!step_wait(1))
		return NULL;
	if (folio_isolate_lru(folio)) {
		list_add_tail(&folio->lru, &list);
		migrate_ret = migrate_pages(&list, alloc_migration_target, NULL,
					    (unsigned long)&mtc, MIGRATE_SYNC, MR_SYSCALL, NULL);
		putback_movable_pages(&list);
	}
	step_set(100);
	return NULL;
}

static void frozen_read(enum pinmm_race point, unsigned long addr, void *arg)
{
	(void)arg;
	if (first_at(point, addr, A)) {
		step_set(1);		/* the PTE is read: migrate the page */
		step_wait(2);		/* until its refcount is frozen */
	}
}

static void frozen_hold(enum pinmm_race point, unsigned long pfn, void *arg)
{
	(void)arg;
	if (first_at(point, pfn, frozen_pfn)) {
		step_set(2);
		step_wait(3);		/* until GUP-fast tried to grab it */
	}
}

static void migrate_vs_grab(void)
{
	struct page *page = GT_POISON;
	struct folio *folio;
	unsigned long warns;
	pthread_t th;
	long n;

	setup_parent("frozen");
	folio = page_folio(gt_page(parent->mm, A));
	frozen_pfn = folio_pfn(folio);
	migrate_ret = -1;
	gt_fill(A, 1, 7);
	warns = pinmm_warn_count();
	arm(PINMM_RACE_GUP_FAST_READ, frozen_read);
	arm(PINMM_RACE_MIGRATE_FROZEN, frozen_hold);
	pthread_create(&th, NULL, migrator, folio);
	n = gt_fast_only(A, 1, FOLL_PIN | FOLL_WRITE, &page);
	step_set(3);
	pthread_join(th, NULL);
	disarm_all();
	ok(!st.timed_out && atomic_load(&hits[PINMM_RACE_MIGRATE_FROZEN]) == 1,
	   "frozen: GUP-fast read the PTE, then migration unmapped the page and froze its "
	   "refcount before GUP-fast grabbed it");
	is_int(n, 0, "frozen: the grab failed on the frozen refcount (add unless zero): "
	       "GUP-fast backed off");
	is_int(migrate_ret, 0, "frozen: the migration went through");
	ok(test_pt_pfn(parent->mm, A) != frozen_pfn && gt_check(A, 1, 7) == 0,
	   "frozen: the page moved, with its data");
	is_uint(pinmm_warn_count() - warns, 0, "frozen: no WARN (no refcount went wrong)");
	if (n == 1)
		unpin_user_page(page);
	gt_teardown("frozen", (struct task_struct *[]){ parent }, 1);
}

int main(void)
{
	if (race_points_missing())
		return 0;
	fork_vs_seq_retry(false);
	fork_vs_seq_retry(true);
	fork_vs_seq_begin();
	zap_vs_recheck(false);
	zap_vs_recheck(true);
	migrate_vs_grab();
	return done_testing();
}
