/* SPDX-License-Identifier: MIT */
/*
 * Who a task is, for the accounting of pinned and locked memory: its uid and
 * user_struct (per-user counters such as locked_vm, which io_uring charges),
 * its effective capabilities (capable(CAP_IPC_LOCK) lifts RLIMIT_MEMLOCK)
 * and its resource limits (task->signal->rlim[], read by rlimit()).
 *
 * A new task is root: uid 0, every capability, RLIMIT_MEMLOCK 8 MiB (Linux's
 * default since 5.16); fork copies all three. Tests and tools change them
 * with the pinmm_task_set_*() controls, as setuid(2), capset(2) and
 * setrlimit(2) would.
 */
#ifndef PINMM_CRED_H
#define PINMM_CRED_H

#include <pinmm/atomic.h>
#include <pinmm/list.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct task_struct;

/* Capability numbers: Linux's (include/uapi/linux/capability.h, maybe already seen). */
#ifndef CAP_IPC_LOCK
#define CAP_IPC_LOCK		14
#endif
#ifndef CAP_SYS_PTRACE
#define CAP_SYS_PTRACE		19
#endif
#ifndef CAP_SYS_ADMIN
#define CAP_SYS_ADMIN		21
#endif
#ifndef CAP_LAST_CAP
#define CAP_LAST_CAP		40
#endif

typedef struct { uint64_t val; } kernel_cap_t;

/* Linux's default RLIMIT_MEMLOCK (MLOCK_LIMIT, 8 MiB since 5.16). */
#define MLOCK_LIMIT		(8UL << 20)

/* One per uid in use; root's is static and never freed. */
struct user_struct {
	atomic_t __count;		/* references: tasks, and holders such as io_uring */
	atomic_long_t locked_vm;	/* pages charged by io_uring, perf, iommufd ... */
	uid_t uid;
	struct list_head node;		/* (users_lock) */
};

struct signal_struct {
	struct rlimit rlim[RLIM_NLIMITS];
};

/**
 * get_uid - one more reference on @u. Return: @u.
 */
struct user_struct *get_uid(struct user_struct *u);
/**
 * free_uid - drop a reference; the last one frees a non-root user_struct.
 * Whatever is still charged to its locked_vm then is a WARN (a lost uncharge).
 */
void free_uid(struct user_struct *u);

/**
 * capable - does current have capability @cap in its effective set?
 * A thread with no task (a bare worker) is the kernel: always true.
 */
bool capable(int cap);

/**
 * task_rlimit - @t's soft limit for @resource (RLIM_INFINITY if unlimited).
 */
unsigned long task_rlimit(const struct task_struct *t, unsigned int resource);
/** rlimit - current's soft limit for @resource. */
unsigned long rlimit(unsigned int resource);

/**
 * pinmm_task_set_rlimit - setrlimit(2) for @t: soft @cur, hard @max.
 * Return: 0; -EINVAL for an unknown resource or @cur above @max.
 */
int pinmm_task_set_rlimit(struct task_struct *t, unsigned int resource, unsigned long cur,
			  unsigned long max);
/** pinmm_task_set_cap - add (@on) or drop capability @cap in @t's effective set. */
void pinmm_task_set_cap(struct task_struct *t, int cap, bool on);
/**
 * pinmm_task_set_uid - @t becomes @uid, with that uid's user_struct (shared
 * by every task of the uid, created on first use).
 * Return: 0 or -ENOMEM.
 */
int pinmm_task_set_uid(struct task_struct *t, uid_t uid);

/* Set up a new task's credentials, copied from @parent or root's. Return 0 or -ENOMEM. */
int pinmm_cred_init(struct task_struct *t, const struct task_struct *parent);
/* Drop a task's credentials (its user_struct reference). */
void pinmm_cred_exit(struct task_struct *t);
/* At shutdown: user_structs still referenced or holding charges. Return: how many. */
unsigned long pinmm_users_leaked(void);

#endif /* PINMM_CRED_H */
