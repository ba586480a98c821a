/* SPDX-License-Identifier: MIT */
/*
 * Tasks and the life cycle of an mm_struct.
 *
 * A task is a thread of the host process that runs as a "process" of the
 * machine: pinmm_task_attach() makes it `current` on the calling thread.
 * Two counts keep an mm alive, as in Linux:
 *   mm_users  users of the address space (tasks, get_task_mm(), mmget());
 *             the last mmput() tears the mappings down (exit_mmap()).
 *   mm_count  references to the struct itself (one held on behalf of all
 *             users together, plus mmgrab()); the last mmdrop() frees the
 *             page-table root and the struct.
 *
 * Lock letters: (c) constant after creation, (a) atomic, (t) written only
 * by the thread running the task (or its owner at exit) under alloc_lock.
 */
#ifndef PINMM_TASK_H
#define PINMM_TASK_H

#include <pinmm/cred.h>
#include <pinmm/mm_types.h>
#include <pinmm/sched.h>

/* task->flags bits beyond sched.h's memalloc scopes */
#define PF_KTHREAD		0x00200000u	/* a kernel thread: no mm of its own */

struct task_struct {
	pid_t pid;			/* (c) */
	char comm[16];			/* (c) */
	struct mm_struct *mm;		/* (t) NULL for a kernel thread */
	atomic_int sigpending;		/* (a) fatal signal: pinmm_current_ctx.sigpending points here */
	unsigned int flags;		/* (t) PF_* (sched.h) */
	struct task_struct *parent;	/* (c) */
	/* Linux's task_lock(): guards ->mm against get_task_mm() racing exit. */
	spinlock_t alloc_lock;
	/* credentials (cred.h): (t) */
	uid_t uid;
	kernel_cap_t cap_effective;
	struct user_struct *user;
	struct signal_struct *signal;	/* points at signal_s: Linux's spelling */
	struct signal_struct signal_s;
	atomic_t usage;			/* get_task_struct(); the task itself holds one until exit */
	struct list_head tasks;		/* (tasklist_lock) live tasks, for lookups by pid */
	/* (t) long-term pins are charged here (<pinmm/pin_owner.h>); inherited at fork */
	struct pinmm_pins_group *pins_group;
};

#define current_user()	(current->user)

/**
 * pinmm_current() - the task the calling thread runs as.
 *
 * Context: any thread.
 * Return: the task attached to this thread, or NULL if it has none.
 */
struct task_struct *pinmm_current(void);
#define current pinmm_current()

/**
 * pinmm_task_create() - create a process with a new, empty address space.
 * @comm: its name (truncated to 15 characters).
 *
 * The task is not attached to any thread; pinmm_task_attach() runs it.
 * Context: may sleep; the machine must be booted.
 * Return: the task, or NULL when memory for it or its page tables ran out.
 */
struct task_struct *pinmm_task_create(const char *comm);

/**
 * pinmm_task_attach() - run the calling thread as @t (current = @t).
 * @t: the task; one thread at a time should run a task.
 *
 * Killable waits on this thread now see pinmm_task_kill(@t).
 * Context: any thread.
 */
void pinmm_task_attach(struct task_struct *t);

/**
 * pinmm_task_detach() - the calling thread stops running as its task.
 *
 * Context: any thread; current becomes NULL. The task is not freed.
 */
void pinmm_task_detach(void);

/**
 * pinmm_fork() - create a child process whose address space is a copy of
 * @parent's (dup_mm()).
 * @parent: the parent task; must have an mm.
 * @comm: the child's name.
 * @child: where the child is stored on success.
 *
 * VM_DONTCOPY VMAs are not copied; VM_WIPEONFORK VMAs are copied empty;
 * private memory is shared copy-on-write, except pages that may be DMA
 * pinned, which are copied at once; mlock is not inherited.
 * Context: may sleep; takes the parent's and the child's mmap_lock for write.
 * Return: 0, or -ENOMEM with nothing left behind.
 */
int pinmm_fork(struct task_struct *parent, const char *comm, struct task_struct **child);

/**
 * pinmm_task_exit() - the task exits: drop its mm (exit_mm()) and free it.
 * @t: the task; detached from the calling thread if attached there.
 *
 * Context: may sleep; must not hold @t's mmap_lock.
 */
void pinmm_task_exit(struct task_struct *t);

/**
 * pinmm_task_kill() - make a fatal signal pending for @t.
 * @t: the task.
 *
 * Killable waits of the thread running @t return -EINTR from now on.
 * Context: any thread.
 */
void pinmm_task_kill(struct task_struct *t);

/**
 * get_task_struct() - keep @t's struct alive (not its mm) past its exit.
 * Return: @t. Release with put_task_struct().
 */
struct task_struct *get_task_struct(struct task_struct *t);
/* put_task_struct() - drop a reference; the last one frees the task. */
void put_task_struct(struct task_struct *t);
/**
 * find_get_task_by_vpid() - the live task with pid @nr, referenced.
 * Return: the task (put_task_struct() it) or NULL if no live task has @nr.
 */
struct task_struct *find_get_task_by_vpid(pid_t nr);

/*
 * struct pid: a reference to a process number that outlives lookups
 * (kernel/pid.c). pinmm never reuses a number, so a pid names at most one
 * task for ever; get_pid_task() finds it while it lives.
 */
struct pid {
	atomic_t count;
	pid_t nr;
};

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID };

/* find_get_pid() - a referenced pid for @nr if a live task has it, else NULL. */
struct pid *find_get_pid(pid_t nr);
/* get_task_pid() - a referenced pid for @t. Return: NULL on -ENOMEM. */
struct pid *get_task_pid(struct task_struct *t, enum pid_type type);
/* get_pid_task() - the live task of @pid, referenced (put_task_struct()), or NULL. */
struct task_struct *get_pid_task(struct pid *pid, enum pid_type type);
struct pid *get_pid(struct pid *pid);
void put_pid(struct pid *pid);
static inline pid_t pid_nr(const struct pid *pid)
{
	return pid ? pid->nr : 0;
}

/**
 * mm_alloc() - allocate and initialise an empty mm_struct.
 *
 * mm_users and mm_count are 1; the page-table root is allocated.
 * Context: may sleep.
 * Return: the mm, or NULL on -ENOMEM.
 */
struct mm_struct *mm_alloc(void);

/**
 * get_task_mm() - take a user reference on @t's address space.
 * @t: the task.
 *
 * Context: any; the caller keeps @t alive.
 * Return: the mm with mm_users raised (release with mmput()), or NULL for a
 * task without an mm or whose mm is already being torn down.
 */
struct mm_struct *get_task_mm(struct task_struct *t);

/**
 * mmget() - one more user of an mm the caller already uses.
 * @mm: the mm; mm_users must be above zero.
 *
 * Context: any.
 */
void mmget(struct mm_struct *mm);

/**
 * mmget_not_zero() - become a user of @mm unless its last user is gone.
 * @mm: an mm the caller keeps alive with mmgrab() (or otherwise).
 *
 * Context: any.
 * Return: true if mm_users was raised (release with mmput()).
 */
bool mmget_not_zero(struct mm_struct *mm);

/**
 * mmput() - drop a user of @mm; the last one unmaps everything.
 * @mm: the mm.
 *
 * The last user runs exit_mmap() and then drops the users' mm_count.
 * Context: may sleep; must not hold @mm's mmap_lock.
 */
void mmput(struct mm_struct *mm);

/**
 * mmgrab() - keep the struct mm_struct alive (not its mappings).
 * @mm: the mm; mm_count must be above zero.
 *
 * Context: any.
 */
void mmgrab(struct mm_struct *mm);

/**
 * mmdrop() - drop a reference from mmgrab(); the last one frees @mm.
 * @mm: the mm.
 *
 * The last reference frees the top-level page table and the struct.
 * Context: may sleep.
 */
void mmdrop(struct mm_struct *mm);

/**
 * kthread_use_mm() - the calling worker thread adopts @mm as current->mm.
 * @mm: an mm the caller holds a user reference on (mmget_not_zero()).
 *
 * A thread without a task gets a kernel-thread task first. Faults and
 * copy_to_user() on this thread then act on @mm. Undo with kthread_unuse_mm().
 * Context: a thread whose task is a kernel thread (or that has none).
 */
void kthread_use_mm(struct mm_struct *mm);

/**
 * kthread_unuse_mm() - stop using @mm adopted with kthread_use_mm().
 * @mm: the mm passed to kthread_use_mm().
 *
 * The caller still owns its user reference on @mm.
 * Context: the thread that called kthread_use_mm().
 */
void kthread_unuse_mm(struct mm_struct *mm);

#endif /* PINMM_TASK_H */
