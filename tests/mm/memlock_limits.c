// SPDX-License-Identifier: MIT
/*
 * RLIMIT_MEMLOCK, CAP_IPC_LOCK and who is charged (include/pinmm/cred.h):
 *  - mlock(2) past the limit without CAP_IPC_LOCK is -ENOMEM, a limit of 0 is
 *    -EPERM (can_do_mlock), pages already locked are not counted twice
 *    (mm/mlock.c do_mlock, count_mm_mlocked_page_nr);
 *  - MAP_LOCKED past the limit is -EAGAIN (mm/mmap.c mlock_future_ok);
 *  - __account_locked_vm() checks the given task's limit unless told to
 *    bypass it, uncharges never below zero (WARN), account_locked_vm()
 *    bypasses for capable(CAP_IPC_LOCK) (mm/util.c);
 *  - fork copies uid, capabilities and limits; tasks of one uid share one
 *    user_struct, freed with its last reference (kernel/user.c).
 */
#include "vma_helpers.h"

#include <errno.h>
#include <pinmm/bug.h>

#define BASE	0x400000000UL
#define RW	(PROT_READ | PROT_WRITE)

static void mlock_limits(void)
{
	struct task_struct *t;
	struct mm_struct *mm;

	vt_boot();
	t = vt_process("memlock");
	mm = t->mm;
	vt_mmap(BASE, 64 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	ok(capable(CAP_IPC_LOCK) && rlimit(RLIMIT_MEMLOCK) == MLOCK_LIMIT,
	   "a new task is root: CAP_IPC_LOCK, RLIMIT_MEMLOCK 8 MiB (MLOCK_LIMIT)");
	is_int(pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 16 * PAGE_SIZE, 16 * PAGE_SIZE), 0,
	       "setrlimit(RLIMIT_MEMLOCK, 16 pages)");
	is_int(do_mlock(BASE, 32 * PAGE_SIZE, 0), 0,
	       "mlock: CAP_IPC_LOCK lifts the limit (32 pages over a 16-page limit)");
	do_munlock(BASE, 32 * PAGE_SIZE);
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	ok(!capable(CAP_IPC_LOCK), "capset: CAP_IPC_LOCK dropped");
	is_int(do_mlock(BASE, 17 * PAGE_SIZE, 0), -ENOMEM,
	       "mlock: 17 pages over a 16-page limit without CAP_IPC_LOCK is -ENOMEM");
	is_uint(mm->locked_vm, 0, "... and nothing was locked");
	is_int(do_mlock(BASE, 16 * PAGE_SIZE, 0), 0, "mlock: exactly the limit is allowed");
	is_int(do_mlock(BASE + 8 * PAGE_SIZE, 8 * PAGE_SIZE, 0), 0,
	       "mlock: pages already locked are not counted again against the limit");
	is_int(do_mlock(BASE + 16 * PAGE_SIZE, PAGE_SIZE, 0), -ENOMEM,
	       "mlock: one more page is over the limit");
	is_int((long)vm_mmap(NULL, BASE + 40 * PAGE_SIZE, PAGE_SIZE, RW,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_LOCKED, 0), -EAGAIN,
	       "mmap(MAP_LOCKED) over the limit is -EAGAIN (mlock_future_ok)");
	do_munlock(BASE, 16 * PAGE_SIZE);
	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 0, 0);
	is_int(do_mlock(BASE, PAGE_SIZE, 0), -EPERM,
	       "mlock with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK is -EPERM (can_do_mlock)");
	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
	is_int(do_mlock(BASE, 64 * PAGE_SIZE, 0), 0, "an unlimited RLIMIT_MEMLOCK locks anything");
	is_int(pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 2, 1), -EINVAL,
	       "setrlimit: a soft limit above the hard one is -EINVAL");
	pinmm_task_exit(t);
	test_shutdown_ok("mlock limits");
}

static void account(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long w;
	bool quiet;

	vt_boot();
	t = vt_process("account");
	mm = t->mm;
	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 8 * PAGE_SIZE, 8 * PAGE_SIZE);
	is_int(account_locked_vm(mm, 20, true), 0,
	       "account_locked_vm: capable(CAP_IPC_LOCK) bypasses the limit");
	is_uint(mm->locked_vm, 20, "... and charges locked_vm");
	is_int(account_locked_vm(mm, 20, false), 0, "account_locked_vm: uncharge");
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	is_int(account_locked_vm(mm, 9, true), -ENOMEM,
	       "account_locked_vm: 9 pages over an 8-page limit is -ENOMEM");
	is_uint(mm->locked_vm, 0, "... and nothing is charged");
	is_int(account_locked_vm(mm, 8, true), 0, "account_locked_vm: up to the limit is fine");
	is_int(account_locked_vm(NULL, 8, true), 0, "account_locked_vm: a NULL mm is a no-op");
	is_int(account_locked_vm(mm, 0, true), 0, "account_locked_vm: 0 pages is a no-op");
	mmap_write_lock(mm);
	is_int(__account_locked_vm(mm, 100, true, t, true), 0,
	       "__account_locked_vm: bypass_rlim charges past the limit (VFIO's lock_cap)");
	w = pinmm_warn_count();
	quiet = pinmm_warn_set_quiet(true);
	__account_locked_vm(mm, 1000, false, t, false);
	pinmm_warn_set_quiet(quiet);
	ok(pinmm_warn_count() > w && mm->locked_vm == 0,
	   "__account_locked_vm: uncharging more than is charged WARNs and stops at zero");
	mmap_write_unlock(mm);
	pinmm_task_exit(t);
	test_shutdown_ok("account_locked_vm");
}

static void inherit_and_users(void)
{
	struct task_struct *t, *child, *other;
	struct user_struct *u;

	vt_boot();
	t = vt_process("parent");
	is_int(pinmm_task_set_uid(t, 1000), 0, "setuid(1000)");
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 64 * PAGE_SIZE, 128 * PAGE_SIZE);
	u = t->user;
	ok(u && u->uid == 1000 && atomic_read(&u->__count) == 1,
	   "uid 1000 has its own user_struct, one reference");
	is_int(pinmm_fork(t, "child", &child), 0, "fork");
	ok(child->uid == 1000 && child->user == u && atomic_read(&u->__count) == 2,
	   "fork: the child is the same user (shared user_struct, one more reference)");
	ok(!(child->cap_effective.val & (1ULL << CAP_IPC_LOCK)) &&
	   task_rlimit(child, RLIMIT_MEMLOCK) == 64 * PAGE_SIZE &&
	   child->signal->rlim[RLIMIT_MEMLOCK].rlim_max == 128 * PAGE_SIZE,
	   "fork: capabilities and resource limits are copied");
	other = pinmm_task_create("other");
	is_int(pinmm_task_set_uid(other, 1000), 0, "a second task becomes uid 1000");
	ok(other->user == u && atomic_read(&u->__count) == 3,
	   "tasks of one uid share its user_struct");
	atomic_long_add(5, &u->locked_vm);
	pinmm_task_exit(child);
	pinmm_task_exit(other);
	ok(atomic_read(&u->__count) == 1 && atomic_long_read(&u->locked_vm) == 5,
	   "exits drop their references; a charge stays with the user");
	atomic_long_sub(5, &u->locked_vm);
	pinmm_task_exit(t);
	test_shutdown_ok("credentials inherited");
}

static void leaked_user_reported(void)
{
	struct task_struct *t;
	struct user_struct *u;

	vt_boot();
	t = vt_process("leaker");
	pinmm_task_set_uid(t, 77);
	u = get_uid(t->user);	/* a holder that never lets go */
	pinmm_task_exit(t);
	quiet_stderr_begin();
	ok(pinmm_shutdown() != 0, "shutdown reports a user_struct still referenced");
	quiet_stderr_end();
	free_uid(u);
}

int main(void)
{
	plan_no_plan();
	mlock_limits();
	account();
	inherit_and_users();
	leaked_user_reported();
	return done_testing();
}
