// SPDX-License-Identifier: MIT
/*
 * MMU notifiers on a real process: the mm code brackets each change to the
 * page tables with the event and range Linux uses (mm/memory.c, mm/mprotect.c,
 * mm/madvise.c, mm/mmap.c): munmap -> MMU_NOTIFY_UNMAP, MADV_DONTNEED ->
 * MMU_NOTIFY_CLEAR, mprotect -> MMU_NOTIFY_PROTECTION_VMA, fork's
 * write-protection of the parent -> MMU_NOTIFY_PROTECTION_PAGE, a COW write
 * fault (wp_page_copy) -> MMU_NOTIFY_CLEAR on the page, exit -> release
 * first, then nothing for the released subscriber.
 */
#include "notifier_helpers.h"
#include "vma_helpers.h"

#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>

#define BASE	0x500000000UL
#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)

/* ---- an event log shared by a whole-mm and an interval subscriber --------------- */

enum ev_kind { EV_START, EV_END, EV_RELEASE, EV_INTERVAL };

struct ev {
	enum ev_kind kind;
	enum mmu_notifier_event event;
	unsigned long start, end;
	unsigned int flags;
	struct mm_struct *mm;
	const void *who;	/* the interval notifier, for EV_INTERVAL */
};

#define LOG_MAX	256

static struct {
	struct ev ev[LOG_MAX];
	int n;
	int dropped;
} evlog;

static void log_ev(enum ev_kind kind, const struct mmu_notifier_range *r, struct mm_struct *mm,
		   const void *who)
{
	struct ev *e;

	if (evlog.n == LOG_MAX) {
		evlog.dropped++;
		return;
	}
	e = &evlog.ev[evlog.n++];
	*e = (struct ev){ .kind = kind, .mm = mm, .who = who };
	if (r) {
		e->event = r->event;
		e->start = r->start;
		e->end = r->end;
		e->flags = r->flags;
		e->mm = r->mm;
	}
}

static void log_reset(void)
{
	evlog.n = 0;
	evlog.dropped = 0;
}

static int log_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	(void)mn;
	log_ev(EV_START, r, NULL, NULL);
	return 0;
}

static void log_end(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	(void)mn;
	log_ev(EV_END, r, NULL, NULL);
}

static void log_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mn;
	log_ev(EV_RELEASE, NULL, mm, NULL);
}

static const struct mmu_notifier_ops log_ops = {
	.release = log_release,
	.invalidate_range_start = log_start,
	.invalidate_range_end = log_end,
};

static bool log_invalidate(struct mmu_interval_notifier *in, const struct mmu_notifier_range *r,
			   unsigned long cur_seq)
{
	mmu_interval_set_seq(in, cur_seq);	/* single-threaded: no driver lock needed */
	log_ev(EV_INTERVAL, r, NULL, in);
	return true;
}

static const struct mmu_interval_notifier_ops log_iops = { .invalidate = log_invalidate };

/* Number of @kind entries with @event whose range is exactly [start, end). */
static int count_exact(enum ev_kind kind, enum mmu_notifier_event event,
		       unsigned long start, unsigned long end)
{
	int n = 0;

	for (int i = 0; i < evlog.n; i++)
		n += evlog.ev[i].kind == kind && evlog.ev[i].event == event &&
		     evlog.ev[i].start == start && evlog.ev[i].end == end;
	return n;
}

static int count_kind(enum ev_kind kind)
{
	int n = 0;

	for (int i = 0; i < evlog.n; i++)
		n += evlog.ev[i].kind == kind;
	return n;
}

/* Every start/end lies inside [lo, hi), comes for @mm and starts pair up with ends. */
static bool brackets_within(struct mm_struct *mm, unsigned long lo, unsigned long hi)
{
	int open = 0;

	for (int i = 0; i < evlog.n; i++) {
		const struct ev *e = &evlog.ev[i];

		if (e->kind != EV_START && e->kind != EV_END)
			continue;
		if (e->mm != mm || e->start < lo || e->end > hi || e->start >= e->end)
			return false;
		open += e->kind == EV_START ? 1 : -1;
		if (open < 0)
			return false;
	}
	return open == 0;
}

/* ---- a process with notifiers on it -------------------------------------------- */

struct fixture {
	struct task_struct *t;
	struct mm_struct *mm;
	struct mmu_notifier mn;
	struct mmu_interval_notifier in_hit;	/* [BASE + 2 pages, BASE + 4 pages) */
	struct mmu_interval_notifier in_far;	/* far away from every change */
};

static void fixture_setup(struct fixture *f, const char *name, unsigned long pages)
{
	unsigned long addr;

	vt_boot();
	f->t = vt_process(name);
	f->mm = f->t->mm;
	addr = vt_mmap(BASE, pages * PG, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE);
	if (addr != BASE)
		bail_out("%s: vm_mmap failed: %ld", name, (long)addr);
	f->mn.ops = &log_ops;
	if (mmu_notifier_register(&f->mn, f->mm))
		bail_out("%s: mmu_notifier_register failed", name);
	if (mmu_interval_notifier_insert(&f->in_hit, f->mm, BASE + 2 * PG, 2 * PG, &log_iops) ||
	    mmu_interval_notifier_insert(&f->in_far, f->mm, BASE + 1024 * PG, PG, &log_iops))
		bail_out("%s: mmu_interval_notifier_insert failed", name);
	log_reset();
}

static void fixture_teardown(struct fixture *f, const char *name)
{
	if (f->t) {
		pinmm_task_exit(f->t);
		f->t = NULL;
	}
	/* The mm_struct outlives the exit: each subscription holds mm_count. */
	mmu_notifier_unregister(&f->mn, f->mm);
	mmu_interval_notifier_remove(&f->in_hit);
	mmu_interval_notifier_remove(&f->in_far);
	test_shutdown_ok(name);
}

static int interval_hits(struct mmu_interval_notifier *in, enum mmu_notifier_event event)
{
	int n = 0;

	for (int i = 0; i < evlog.n; i++)
		n += evlog.ev[i].kind == EV_INTERVAL && evlog.ev[i].who == in &&
		     evlog.ev[i].event == event;
	return n;
}

/* ---- cases ------------------------------------------------------------------------ */

static void test_munmap(void)
{
	struct fixture f = { 0 };
	unsigned long seq;

	fixture_setup(&f, "notifier munmap", 8);
	seq = mmu_interval_read_begin(&f.in_hit);
	is_int(vm_munmap(BASE + 2 * PG, 2 * PG), 0, "munmap: succeeds");
	ok(count_exact(EV_START, MMU_NOTIFY_UNMAP, BASE + 2 * PG, BASE + 4 * PG) >= 1 &&
	   count_exact(EV_END, MMU_NOTIFY_UNMAP, BASE + 2 * PG, BASE + 4 * PG) >= 1,
	   "munmap: invalidate_range_start/end bracket the unmap with MMU_NOTIFY_UNMAP and the "
	   "unmapped range (unmap_vmas)");
	ok(brackets_within(f.mm, BASE + 2 * PG, BASE + 4 * PG), "munmap: every bracket is for "
	   "this mm, inside the unmapped range, and each start has its end");
	ok(evlog.n > 0 && (evlog.ev[0].flags & MMU_NOTIFIER_RANGE_BLOCKABLE),
	   "munmap: the range is blockable (mmu_notifier_invalidate_range_start)");
	ok(interval_hits(&f.in_hit, MMU_NOTIFY_UNMAP) >= 1 &&
	   mmu_interval_read_retry(&f.in_hit, seq), "munmap: the overlapping interval notifier "
	   "is invalidated and its reader must retry (mmu_interval_read_retry)");
	is_int(interval_hits(&f.in_far, MMU_NOTIFY_UNMAP), 0,
	       "munmap: a distant interval notifier is not called");
	fixture_teardown(&f, "notifier munmap");
}

static void test_dontneed(void)
{
	struct fixture f = { 0 };

	fixture_setup(&f, "notifier dontneed", 8);
	is_int(do_madvise(f.mm, BASE, 4 * PG, MADV_DONTNEED), 0, "MADV_DONTNEED: succeeds");
	ok(count_exact(EV_START, MMU_NOTIFY_CLEAR, BASE, BASE + 4 * PG) >= 1 &&
	   count_exact(EV_END, MMU_NOTIFY_CLEAR, BASE, BASE + 4 * PG) >= 1,
	   "MADV_DONTNEED: zap_page_range_single brackets the zap with MMU_NOTIFY_CLEAR and the "
	   "advised range");
	ok(brackets_within(f.mm, BASE, BASE + 4 * PG), "MADV_DONTNEED: no bracket outside the "
	   "advised range; starts and ends pair up");
	ok(interval_hits(&f.in_hit, MMU_NOTIFY_CLEAR) >= 1, "MADV_DONTNEED: the overlapping "
	   "interval notifier is invalidated");
	fixture_teardown(&f, "notifier dontneed");
}

static void test_mprotect(void)
{
	struct fixture f = { 0 };

	fixture_setup(&f, "notifier mprotect", 8);
	is_int(do_mprotect(BASE, 4 * PG, PROT_READ), 0, "mprotect: succeeds");
	ok(count_exact(EV_START, MMU_NOTIFY_PROTECTION_VMA, BASE, BASE + 4 * PG) >= 1 &&
	   count_exact(EV_END, MMU_NOTIFY_PROTECTION_VMA, BASE, BASE + 4 * PG) >= 1,
	   "mprotect: change_protection brackets the PTE rewrite with MMU_NOTIFY_PROTECTION_VMA "
	   "and the range");
	ok(brackets_within(f.mm, BASE, BASE + 4 * PG), "mprotect: no bracket outside the range; "
	   "starts and ends pair up");
	ok(interval_hits(&f.in_hit, MMU_NOTIFY_PROTECTION_VMA) >= 1, "mprotect: the overlapping "
	   "interval notifier is invalidated (write access is being revoked)");
	fixture_teardown(&f, "notifier mprotect");
}

static void test_fork_cow(void)
{
	struct fixture f = { 0 };
	struct task_struct *child = NULL;
	struct vm_area_struct *vma;
	vm_fault_t ret;

	fixture_setup(&f, "notifier cow", 8);
	is_int(pinmm_fork(f.t, "child", &child), 0, "fork: succeeds");
	if (!child)
		bail_out("fork failed");
	ok(count_exact(EV_START, MMU_NOTIFY_PROTECTION_PAGE, BASE, BASE + 8 * PG) >= 1 &&
	   count_exact(EV_END, MMU_NOTIFY_PROTECTION_PAGE, BASE, BASE + 8 * PG) >= 1,
	   "fork: write-protecting the parent's private memory for COW is bracketed with "
	   "MMU_NOTIFY_PROTECTION_PAGE over the VMA (copy_page_range)");

	/* A write to the now shared page makes the parent copy it. */
	log_reset();
	mmap_read_lock(f.mm);
	vma = vma_lookup(f.mm, BASE + 3 * PG);
	ret = vma ? handle_mm_fault(vma, BASE + 3 * PG + 8, FAULT_FLAG_WRITE | FAULT_FLAG_USER,
				    NULL) : VM_FAULT_SIGSEGV;
	mmap_read_unlock(f.mm);
	ok(!(ret & VM_FAULT_ERROR), "COW: the write fault after fork is resolved");
	ok(count_exact(EV_START, MMU_NOTIFY_CLEAR, BASE + 3 * PG, BASE + 4 * PG) == 1 &&
	   count_exact(EV_END, MMU_NOTIFY_CLEAR, BASE + 3 * PG, BASE + 4 * PG) == 1,
	   "COW: replacing the shared page is bracketed with MMU_NOTIFY_CLEAR over that one page "
	   "(wp_page_copy)");
	ok(brackets_within(f.mm, BASE + 3 * PG, BASE + 4 * PG), "COW: nothing else of the "
	   "parent's mm is invalidated");
	is_int(interval_hits(&f.in_hit, MMU_NOTIFY_CLEAR), 1, "COW: the interval notifier "
	       "covering the page is invalidated once");

	pinmm_task_exit(child);
	fixture_teardown(&f, "notifier cow");
}

/* mprotect of part of a PMD-mapped THP splits the PMD first (vma_adjust_trans_huge). */
static void test_thp_split(void)
{
	const unsigned long huge = BASE + 64 * PMD_SIZE;
	struct fixture f = { 0 };
	pmd_t *pmd;
	bool mapped_huge;

	fixture_setup(&f, "notifier thp split", 8);
	if (IS_ERR_VALUE(vt_mmap(huge, PMD_SIZE, RW, MAP_PRIVATE | MAP_FIXED)) ||
	    do_madvise(f.mm, huge, PMD_SIZE, MADV_HUGEPAGE) ||
	    do_madvise(f.mm, huge, PMD_SIZE, MADV_POPULATE_WRITE))
		bail_out("notifier thp split: mapping the THP region failed");
	mmap_read_lock(f.mm);
	pmd = mm_find_pmd(f.mm, huge);
	mapped_huge = pmd && pmd_trans_huge(pmdp_get(pmd));
	mmap_read_unlock(f.mm);
	if (!mapped_huge) {
		skip(3, "the populate did not produce a PMD-mapped THP");
		fixture_teardown(&f, "notifier thp split");
		return;
	}
	log_reset();
	is_int(do_mprotect(huge + 4 * PG, 4 * PG, PROT_READ), 0, "mprotect inside a THP: "
	       "succeeds");
	ok(count_exact(EV_START, MMU_NOTIFY_CLEAR, huge, huge + PMD_SIZE) >= 1 &&
	   count_exact(EV_END, MMU_NOTIFY_CLEAR, huge, huge + PMD_SIZE) >= 1,
	   "THP split: splitting the PMD is bracketed with MMU_NOTIFY_CLEAR over the whole "
	   "2 MiB (__split_huge_pmd)");
	ok(count_exact(EV_START, MMU_NOTIFY_PROTECTION_VMA, huge + 4 * PG, huge + 8 * PG) >= 1,
	   "THP split: then the PTE rewrite is bracketed with MMU_NOTIFY_PROTECTION_VMA over "
	   "the mprotected pages only");
	fixture_teardown(&f, "notifier thp split");
}

static void test_exit(void)
{
	struct fixture f = { 0 };
	int release_at = -1, late = 0, first_interval = -1;

	fixture_setup(&f, "notifier exit", 8);
	pinmm_task_exit(f.t);	/* the subscriptions' mm_count keeps f.mm readable */
	f.t = NULL;
	for (int i = 0; i < evlog.n; i++) {
		if (evlog.ev[i].kind == EV_RELEASE && release_at < 0)
			release_at = i;
		if (evlog.ev[i].kind == EV_INTERVAL && first_interval < 0)
			first_interval = i;
		if ((evlog.ev[i].kind == EV_START || evlog.ev[i].kind == EV_END) &&
		    release_at >= 0)
			late++;
	}
	is_int(count_kind(EV_RELEASE), 1, "exit: ->release runs once (exit_mmap -> "
	       "mmu_notifier_release)");
	ok(release_at >= 0 && evlog.ev[release_at].mm == f.mm, "exit: ->release gets the "
	   "exiting mm");
	is_int(late, 0, "exit: after ->release the subscriber gets no start/end, though "
	       "exit_mmap unmaps everything after it");
	ok(first_interval >= 0 && evlog.ev[first_interval].event == MMU_NOTIFY_RELEASE &&
	   evlog.ev[first_interval].start == 0 && evlog.ev[first_interval].end == ULONG_MAX,
	   "exit: interval notifiers first get MMU_NOTIFY_RELEASE over [0, ULONG_MAX) "
	   "(mn_itree_release)");
	ok(interval_hits(&f.in_hit, MMU_NOTIFY_UNMAP) >= 1, "exit: interval notifiers stay "
	   "inserted and also see the teardown's MMU_NOTIFY_UNMAP, as in Linux");
	is_int(atomic_load(&f.mm->mm_users), 0, "exit: the mm has no users left");
	is_int(atomic_load(&f.mm->mm_count), 3, "exit: the mm_struct lives on: each of the "
	       "three subscriptions holds mm_count (mmgrab in register/insert)");
	mmu_notifier_unregister(&f.mn, f.mm);
	is_int(count_kind(EV_RELEASE), 1, "exit: unregister after exit does not release again");
	mmu_interval_notifier_remove(&f.in_hit);
	mmu_interval_notifier_remove(&f.in_far);	/* the last mmdrop frees the mm */
	test_shutdown_ok("notifier exit");
}

int main(void)
{
	watchdog(60);
	test_munmap();
	test_dontneed();
	test_mprotect();
	test_fork_cow();
	test_thp_split();
	test_exit();
	return done_testing();
}
