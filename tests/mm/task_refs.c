// SPDX-License-Identifier: MIT
/*
 * Tasks and mm reference counts (Linux kernel/fork.c, kernel/exit.c,
 * kernel/kthread.c): mm_users keeps the mappings, mm_count the struct;
 * get_task_mm() refuses kernel threads; a fatal signal makes the killable
 * mmap_lock waits give up; kthread_use_mm() lets a worker act on another
 * process's mm; an exiting task gives every frame back.
 *
 * PINMM_TEST_CONCURRENT: a second thread holds mmap_lock while a killed task
 * waits for it, and a worker thread adopts a process's mm.
 */
#include "vma_helpers.h"

#include <pinmm/rcupdate.h>

#include <pthread.h>
#include <string.h>

#define BASE	0x500000000UL
#define RW	(PROT_READ | PROT_WRITE)

static int users(struct mm_struct *mm)
{
	return atomic_load(&mm->mm_users);
}

static int count(struct mm_struct *mm)
{
	return atomic_load(&mm->mm_count);
}

static void refcounts(void)
{
	struct task_struct *t, *u;
	struct mm_struct *mm, *got;

	vt_boot();
	t = pinmm_task_create("a-rather-long-process-name");
	ok(t && t->mm && !pinmm_current(), "task: pinmm_task_create makes a process with an mm, "
	   "not attached to any thread");
	ok(strlen(t->comm) == 15 && t->comm[15] == '\0', "task: comm is truncated to 15 characters");
	mm = t->mm;
	ok(users(mm) == 1 && count(mm) == 1 && mm->pgd && mm->map_count == 0 &&
	   mm->mmap_base == PINMM_MMAP_BASE,
	   "mm_alloc: mm_users 1, mm_count 1, a page-table root, no VMAs");
	u = pinmm_task_create("other");
	ok(u && u->pid != t->pid && u->mm != mm, "task: each process has its own pid and mm");
	pinmm_task_exit(u);

	pinmm_task_attach(t);
	ok(current == t && current->mm == mm, "task: attach makes the task current");
	got = get_task_mm(t);
	ok(got == mm && users(mm) == 2, "get_task_mm: returns the mm with mm_users raised");
	mmput(got);
	is_int(users(mm), 1, "mmput: drops mm_users");
	mmget(mm);
	ok(mmget_not_zero(mm) && users(mm) == 3, "mmget/mmget_not_zero: raise mm_users");
	mmput(mm);
	mmput(mm);

	vt_mmap(BASE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	mmgrab(mm);
	is_int(count(mm), 2, "mmgrab: raises mm_count only");
	pinmm_task_exit(t);
	ok(!pinmm_current(), "task exit: an exiting current task is detached");
	ok(users(mm) == 0 && mm->map_count == 0 && mm->total_vm == 0 && count(mm) == 1,
	   "mmput: the last user runs exit_mmap (no VMA left) and drops the users' mm_count; "
	   "mmgrab keeps the struct");
	ok(!mmget_not_zero(mm), "mmget_not_zero: fails once the last user is gone");
	mmdrop(mm);
	test_shutdown_ok("refcounts");
}

static void frames_back(void)
{
	struct task_struct *t;
	unsigned long before, after;

	vt_boot();
	rcu_barrier();
	before = pinmm_frames_in_use();
	t = vt_process("frames");
	vt_mmap(BASE, 64 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + PMD_SIZE, PMD_SIZE, RW, MAP_SHARED | MAP_FIXED | MAP_POPULATE);
	vt_mmap(BASE + 4 * PMD_SIZE, 16 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE);
	ok(pinmm_frames_in_use() > before, "task: an mm with mappings uses frames (tables, pages)");
	pinmm_task_exit(t);
	rcu_barrier();
	after = pinmm_frames_in_use();
	is_uint(after, before, "task exit: exit_mmap and mmdrop give every frame back "
		"(pages, page tables, the pgd)");
	test_shutdown_ok("frames back");
}

/* ---- a fatal signal and the killable mmap_lock ----------------------------- */

struct holder {
	struct mm_struct *mm;
	atomic_int holding, release;
};

static void *hold_read(void *arg)
{
	struct holder *h = arg;

	mmap_read_lock(h->mm);
	atomic_store(&h->holding, 1);
	while (!atomic_load(&h->release))
		sched_yield();
	mmap_read_unlock(h->mm);
	return NULL;
}

static void killable(void)
{
	struct task_struct *t;
	struct holder h = { 0 };
	pthread_t th;
	unsigned long r;

	vt_boot();
	t = vt_process("killable");
	vt_mmap(BASE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	h.mm = t->mm;
	pthread_create(&th, NULL, hold_read, &h);
	while (!atomic_load(&h.holding))
		sched_yield();
	ok(!fatal_signal_pending_current(), "kill: no fatal signal pending at first");
	pinmm_task_kill(t);
	ok(fatal_signal_pending_current(), "kill: pinmm_task_kill makes a fatal signal pending "
	   "for the thread running the task");
	is_int(vm_munmap(BASE, PAGE_SIZE), -EINTR,
	       "kill: munmap waiting for mmap_lock gives up with -EINTR (mmap_write_lock_killable)");
	r = vt_mmap(0, PAGE_SIZE, RW, MAP_PRIVATE);
	is_int((long)r, -EINTR, "kill: mmap waiting for mmap_lock gives up with -EINTR");
	atomic_store(&h.release, 1);
	pthread_join(th, NULL);
	ok(vt_vma(BASE) != NULL, "kill: the interrupted munmap changed nothing");
	pinmm_task_exit(t);
	test_shutdown_ok("killable");
}

/* ---- kthread_use_mm ---------------------------------------------------------- */

struct worker_arg {
	struct mm_struct *mm;
	unsigned long mapped;
	bool had_task, was_kthread, saw_mm, task_gone_after;
	int count_during;
};

static void *worker(void *arg)
{
	struct worker_arg *w = arg;

	w->had_task = pinmm_current() != NULL;
	kthread_use_mm(w->mm);
	w->was_kthread = current && (current->flags & PF_KTHREAD);
	w->saw_mm = current && current->mm == w->mm;
	w->count_during = count(w->mm);
	/* Remote work on the borrowed mm: a driver mapping a buffer for its user. */
	w->mapped = vt_mmap(BASE + 16 * PAGE_SIZE, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	kthread_unuse_mm(w->mm);
	w->task_gone_after = pinmm_current() == NULL;
	return NULL;
}

static void kthread_mm(void)
{
	struct task_struct *t;
	struct worker_arg w = { 0 };
	pthread_t th;

	vt_boot();
	t = vt_process("kthread-user");
	w.mm = t->mm;
	if (!mmget_not_zero(w.mm))
		bail_out("mmget_not_zero failed on a live mm");
	pthread_create(&th, NULL, worker, &w);
	pthread_join(th, NULL);
	ok(!w.had_task && w.was_kthread && w.saw_mm,
	   "kthread_use_mm: a worker thread gets a kernel-thread task whose mm is the process's");
	is_int(w.count_during, 2, "kthread_use_mm: the worker holds an mm_count reference");
	is_uint(w.mapped, BASE + 16 * PAGE_SIZE,
		"kthread_use_mm: the worker's mmap acts on the borrowed mm");
	ok(vt_vma(BASE + 16 * PAGE_SIZE) != NULL, "kthread_use_mm: the process sees the mapping");
	ok(w.task_gone_after && count(w.mm) == 1,
	   "kthread_unuse_mm: the reference is dropped and the temporary task goes away");
	mmput(w.mm);
	pinmm_task_exit(t);
	test_shutdown_ok("kthread_use_mm");
}

int main(void)
{
	plan_no_plan();
	refcounts();
	frames_back();
	killable();
	kthread_mm();
	return done_testing();
}
