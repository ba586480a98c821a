// SPDX-License-Identifier: MIT
/*
 * Tasks, current, and the two reference counts of an mm_struct.
 *
 * A task is attached to at most one host thread at a time; the thread's
 * pinmm_current_ctx points at it, and at its fatal-signal word so that the
 * killable waits of src/base see pinmm_task_kill().
 */
#include "vma.h"

#include <pinmm/ksm.h>

#include <stdlib.h>
#include <string.h>
#include <pinmm/pin_owner.h>
#include <pinmm/slab.h>

static atomic_int next_pid = 1;

/* The kernel-thread task kthread_use_mm() made for this thread, if any. */
static __thread struct task_struct *kthread_task;

struct task_struct *pinmm_current(void)
{
	return pinmm_current_ctx.task;
}

/* ---- mm_struct ------------------------------------------------------------ */

/* A nonzero 31-bit id; reuse after 2^31 mms is harmless (it only makes "shared" likelier). */
static unsigned int mm_id_alloc(void)
{
	static atomic_uint next_mm_id;
	unsigned int id;

	do
		id = (atomic_fetch_add_explicit(&next_mm_id, 1, memory_order_relaxed) + 1) &
		     FOLIO_MM_ID_MASK;
	while (!id);
	return id;
}

struct mm_struct *mm_alloc(void)
{
	struct mm_struct *mm = kzalloc(sizeof(*mm), GFP_KERNEL);

	if (!mm)
		return NULL;
	mm->mm_rb = RB_ROOT;
	INIT_LIST_HEAD(&mm->mmap_list);
	init_rwsem(&mm->mmap_lock, LOCK_RANK_MMAP);
	spin_lock_init(&mm->page_table_lock, LOCK_RANK_PAGE_TABLE);
	seqcount_init(&mm->write_protect_seq);
	atomic_init(&mm->mm_users, 1);
	atomic_init(&mm->mm_count, 1);	/* held for all the users together */
	mm->mmap_base = PINMM_MMAP_BASE;
	mm->mm_id = mm_id_alloc();
	mmu_notifier_subscriptions_init(mm);
	if (pgd_alloc(mm)) {
		destroy_rwsem(&mm->mmap_lock);
		kfree(mm);
		return NULL;
	}
	return mm;
}

void mmgrab(struct mm_struct *mm)
{
	int old = atomic_fetch_add_explicit(&mm->mm_count, 1, memory_order_relaxed);

	VM_BUG_ON(old <= 0);
}

void mmdrop(struct mm_struct *mm)
{
	/* Release: every use of the mm happens before the free below. */
	if (atomic_fetch_sub_explicit(&mm->mm_count, 1, memory_order_acq_rel) != 1)
		return;
	VM_BUG_ON(atomic_load_explicit(&mm->mm_users, memory_order_relaxed) != 0);
	VM_BUG_ON(mm->map_count != 0);
	mmu_notifier_subscriptions_destroy(mm);
	pgd_free(mm);
	destroy_rwsem(&mm->mmap_lock);
	kfree(mm);
}

void mmget(struct mm_struct *mm)
{
	int old = atomic_fetch_add_explicit(&mm->mm_users, 1, memory_order_relaxed);

	VM_BUG_ON(old <= 0);
}

bool mmget_not_zero(struct mm_struct *mm)
{
	int old = atomic_load_explicit(&mm->mm_users, memory_order_relaxed);

	do {
		if (old == 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&mm->mm_users, &old, old + 1,
							memory_order_acquire,
							memory_order_relaxed));
	return true;
}

void mmput(struct mm_struct *mm)
{
	if (atomic_fetch_sub_explicit(&mm->mm_users, 1, memory_order_acq_rel) != 1)
		return;
	/* pins taken on this mm that nobody released yet: say whose they are */
	pin_owner_mm_exit(mm);
	exit_mmap(mm);
	/* after the pages went: the KSM pages only this mm mapped are freed */
	ksm_exit(mm);
	mmdrop(mm);
}

struct mm_struct *get_task_mm(struct task_struct *t)
{
	struct mm_struct *mm;

	spin_lock(&t->alloc_lock);
	mm = t->mm;
	/* A kernel thread's borrowed mm is not its own to hand out. */
	if (mm && (t->flags & PF_KTHREAD))
		mm = NULL;
	if (mm)
		mmget(mm);
	spin_unlock(&t->alloc_lock);
	return mm;
}

/* ---- tasks ------------------------------------------------------------------ */

/* Live tasks, for find_get_task_by_vpid(); a task leaves the list at exit. */
static LIST_HEAD(task_list);
static spinlock_t tasklist_lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF);

struct task_struct *get_task_struct(struct task_struct *t)
{
	atomic_inc(&t->usage);
	return t;
}

void put_task_struct(struct task_struct *t)
{
	if (!atomic_dec_and_test(&t->usage))
		return;
	pinmm_cred_exit(t);
	kfree(t);
}

struct task_struct *find_get_task_by_vpid(pid_t nr)
{
	struct task_struct *t, *found = NULL;

	spin_lock(&tasklist_lock);
	list_for_each_entry(t, &task_list, tasks) {
		if (t->pid == nr) {
			found = get_task_struct(t);
			break;
		}
	}
	spin_unlock(&tasklist_lock);
	return found;
}

struct task_struct *pinmm_task_alloc(const char *comm, struct mm_struct *mm,
				     struct task_struct *parent, gfp_t gfp)
{
	struct task_struct *t = kzalloc(sizeof(*t), gfp);

	if (!t)
		return NULL;
	t->pid = atomic_fetch_add_explicit(&next_pid, 1, memory_order_relaxed);
	strncpy(t->comm, comm ? comm : "", sizeof(t->comm) - 1);
	t->mm = mm;
	t->parent = parent;
	atomic_init(&t->sigpending, 0);
	spin_lock_init(&t->alloc_lock, LOCK_RANK_LEAF);
	pinmm_cred_init(t, parent);
	atomic_set(&t->usage, 1);
	if (mm)
		mm->owner = t;
	spin_lock(&tasklist_lock);
	list_add_tail(&t->tasks, &task_list);
	spin_unlock(&tasklist_lock);
	pins_group_task_inherit(t, parent);
	return t;
}

struct task_struct *pinmm_task_create(const char *comm)
{
	struct mm_struct *mm = mm_alloc();
	struct task_struct *t;

	if (!mm)
		return NULL;
	t = pinmm_task_alloc(comm, mm, NULL, GFP_KERNEL);
	if (!t)
		mmput(mm);
	return t;
}

void pinmm_task_attach(struct task_struct *t)
{
	pinmm_current_ctx.task = t;
	pinmm_current_ctx.sigpending = t ? &t->sigpending : NULL;
}

void pinmm_task_detach(void)
{
	pinmm_current_ctx.task = NULL;
	pinmm_current_ctx.sigpending = NULL;
}

void pinmm_task_kill(struct task_struct *t)
{
	atomic_store_explicit(&t->sigpending, 1, memory_order_relaxed);
}

static struct pid *alloc_pid_ref(pid_t nr)
{
	struct pid *pid = kmalloc(sizeof(*pid), GFP_KERNEL);

	if (pid) {
		atomic_set(&pid->count, 1);
		pid->nr = nr;
	}
	return pid;
}

struct pid *find_get_pid(pid_t nr)
{
	struct task_struct *t = find_get_task_by_vpid(nr);

	if (!t)
		return NULL;
	put_task_struct(t);
	return alloc_pid_ref(nr);
}

struct pid *get_task_pid(struct task_struct *t, enum pid_type type)
{
	(void)type;	/* one thread per process: a PID is its TGID */
	return alloc_pid_ref(t->pid);
}

struct task_struct *get_pid_task(struct pid *pid, enum pid_type type)
{
	(void)type;
	return pid ? find_get_task_by_vpid(pid->nr) : NULL;
}

struct pid *get_pid(struct pid *pid)
{
	if (pid)
		atomic_inc(&pid->count);
	return pid;
}

void put_pid(struct pid *pid)
{
	if (pid && atomic_dec_and_test(&pid->count))
		kfree(pid);
}

/* exit_mm(): the task lets go of its address space. */
static void exit_mm(struct task_struct *t)
{
	struct mm_struct *mm;

	spin_lock(&t->alloc_lock);
	mm = t->mm;
	t->mm = NULL;
	spin_unlock(&t->alloc_lock);
	if (!mm)
		return;
	if (mm->owner == t)
		mm->owner = NULL;
	mmput(mm);
}

void pinmm_task_exit(struct task_struct *t)
{
	if (!t)
		return;
	if (pinmm_current() == t)
		pinmm_task_detach();
	spin_lock(&tasklist_lock);
	list_del_init(&t->tasks);
	spin_unlock(&tasklist_lock);
	if (t->flags & PF_KTHREAD) {
		/* A worker still borrowing an mm gives it back (a bug, but don't leak). */
		if (WARN_ON_ONCE(t->mm)) {
			mmdrop(t->mm);
			t->mm = NULL;
		}
	} else {
		exit_mm(t);
	}
	if (kthread_task == t)
		kthread_task = NULL;
	pins_group_task_exit(t);
	put_task_struct(t);
}

/* ---- kernel threads borrowing an mm ---------------------------------------- */

void kthread_use_mm(struct mm_struct *mm)
{
	struct task_struct *tsk = pinmm_current();

	if (!tsk) {
		tsk = pinmm_task_alloc("kworker", NULL, NULL, GFP_KERNEL | __GFP_NOFAIL);
		BUG_ON(!tsk);	/* a few bytes; Linux's kthreads exist before they work */
		tsk->flags |= PF_KTHREAD;
		kthread_task = tsk;
		pinmm_task_attach(tsk);
	}
	if (WARN_ON_ONCE(!(tsk->flags & PF_KTHREAD)) || WARN_ON_ONCE(tsk->mm))
		return;
	/* The struct must outlive our use; the caller holds the mappings (mmget). */
	mmgrab(mm);
	spin_lock(&tsk->alloc_lock);
	tsk->mm = mm;
	spin_unlock(&tsk->alloc_lock);
}

void kthread_unuse_mm(struct mm_struct *mm)
{
	struct task_struct *tsk = pinmm_current();

	if (WARN_ON_ONCE(!tsk || tsk->mm != mm || !(tsk->flags & PF_KTHREAD)))
		return;
	spin_lock(&tsk->alloc_lock);
	tsk->mm = NULL;
	spin_unlock(&tsk->alloc_lock);
	mmdrop(mm);
	if (kthread_task == tsk) {
		/* The task existed only to carry the mm: the thread goes back to none. */
		pinmm_task_exit(tsk);
	}
}
