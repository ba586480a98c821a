// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT (one case holds the mmap_lock from a second thread)
 *
 * fork (Linux dup_mmap): which VMAs the child gets and in what state.
 * VM_DONTCOPY VMAs are not copied; VM_WIPEONFORK VMAs are copied with no
 * anon_vma; mlock is not inherited; the child's mm->flags start fresh
 * (MMF_HAS_PINNED is not in MMF_INIT_MASK); fork runs with the parent's
 * write_protect_seq odd and leaves it even; a failed fork leaves nothing;
 * bad input is -EINVAL with a WARN, a killed parent -EINTR; a driver's VMA
 * is opened again for the child's copy.
 */
#include "vma_helpers.h"

#include <pinmm/fault-inject.h>

#include <pinmm/rcupdate.h>

#include <pthread.h>
#include <sched.h>
#include <string.h>

#define BASE	0x600000000UL
#define RW	(PROT_READ | PROT_WRITE)

static void vma_layout(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	struct vm_area_struct *pv, *cv;
	unsigned int seq0;
	int same = 1;

	vt_boot();
	t = vt_process("parent");
	mm = t->mm;
	vt_mmap(BASE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);		/* plain */
	vt_mmap(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + 8 * PAGE_SIZE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);	/* dontfork */
	vt_mmap(BASE + 12 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ | PROT_EXEC,
		MAP_PRIVATE | MAP_FIXED);						/* wipe */
	vt_mmap(BASE + 16 * PAGE_SIZE, 4 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED);	/* shared */
	do_madvise(mm, BASE + 8 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_DONTFORK);
	do_madvise(mm, BASE + 12 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_WIPEONFORK);
	atomic_fetch_or(&mm->flags, 1UL << MMF_HAS_PINNED);
	seq0 = atomic_load(&mm->write_protect_seq.sequence);

	is_int(pinmm_fork(t, "child", &child), 0, "fork: succeeds");
	if (!child)
		bail_out("fork failed");
	cmm = child->mm;
	ok(child->parent == t && cmm && cmm != mm && child->pid != t->pid &&
	   atomic_load(&cmm->mm_users) == 1,
	   "fork: the child is a new process with its own mm (one user)");
	is_uint(atomic_load(&mm->write_protect_seq.sequence), seq0 + 2,
		"fork: the parent's write_protect_seq went odd for the copy and is even again");
	ok(!mm_flags_test(MMF_HAS_PINNED, cmm) && mm_flags_test(MMF_HAS_PINNED, mm),
	   "fork: MMF_HAS_PINNED is not inherited (not in MMF_INIT_MASK)");
	is_int(vt_nr_vmas(cmm), vt_nr_vmas(mm) - 1,
	       "fork: the child has every VMA but the VM_DONTCOPY one");

	/* Both at once, in fork's order (same rank: the child's nested). */
	mmap_write_lock(mm);
	mmap_write_lock_nested(cmm, 1);
	ok(!find_vma_intersection(cmm, BASE + 8 * PAGE_SIZE, BASE + 12 * PAGE_SIZE),
	   "fork: MADV_DONTFORK memory is not mapped in the child");
	cv = vma_lookup(cmm, BASE + 12 * PAGE_SIZE);
	ok(cv && (cv->vm_flags & VM_WIPEONFORK) && !cv->anon_vma &&
	   cv->vm_start == BASE + 12 * PAGE_SIZE && cv->vm_end == BASE + 16 * PAGE_SIZE,
	   "fork: a VM_WIPEONFORK VMA is copied empty: same range and flags, no anon_vma");
	for (pv = vma_first(mm); pv; pv = vma_next(pv)) {
		if (pv->vm_flags & VM_DONTCOPY)
			continue;
		cv = vma_lookup(cmm, pv->vm_start);
		if (!cv || cv->vm_start != pv->vm_start || cv->vm_end != pv->vm_end ||
		    cv->vm_flags != pv->vm_flags || cv->vm_pgoff != pv->vm_pgoff ||
		    cv->vm_page_prot.pgprot != pv->vm_page_prot.pgprot || cv->vm_mm != cmm)
			same = 0;
	}
	ok(same, "fork: every copied VMA has the parent's range, flags, offset and protection");
	is_uint(cmm->total_vm, mm->total_vm - 4,
		"fork: the child's total_vm leaves out the VM_DONTCOPY pages");
	mmap_write_unlock(cmm);
	mmap_write_unlock(mm);

	pinmm_task_exit(child);
	is_int(vt_nr_vmas(mm), 5, "fork: the child's exit leaves the parent's VMAs alone");
	pinmm_task_exit(t);
	test_shutdown_ok("fork VMA layout");
}

/*
 * Fault injection: fail the n-th page allocation during fork, for every n
 * until fork no longer allocates that many. Each failure is -ENOMEM, leaves
 * the parent as it was and gives back every frame the half-built child took.
 */
static void fork_failures(void)
{
	struct task_struct *t, *child;
	unsigned long frames, n;
	int err, bad = 0, failures = 0;

	vt_boot();
	t = vt_process("failing");
	vt_mmap(BASE, 64 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE);
	vt_mmap(BASE + PMD_SIZE, 8 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED | MAP_POPULATE);
	vt_mmap(BASE + 4 * PMD_SIZE, PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE);
	rcu_barrier();
	frames = pinmm_frames_in_use();
	for (n = 1; n < 64; n++) {
		child = NULL;
		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, n, 0);
		err = pinmm_fork(t, "child", &child);
		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
		if (!err) {
			pinmm_task_exit(child);
			break;
		}
		failures++;
		rcu_barrier();
		if (err != -ENOMEM || child || pinmm_frames_in_use() != frames ||
		    vt_nr_vmas(t->mm) != 3)
			bad++;
	}
	ok(failures > 0, "fork: page allocations during fork can fail (%d did)", failures);
	is_int(bad, 0, "fork: every failed allocation makes fork return -ENOMEM with the parent "
	       "unchanged and every frame of the half-built child freed");
	pinmm_task_exit(t);
	test_shutdown_ok("fork failures");
}

/*
 * Bad input and a killed parent (kernel/fork.c copy_process(), dup_mmap()):
 * no parent or no mm is -EINVAL with a WARN; the child is named as asked,
 * or after its parent; a fatal signal while fork waits for the parent's
 * mmap_lock is -EINTR (mmap_write_lock_killable()) and makes no child.
 */
static struct task_struct *holder_task;
static atomic_int holder_step;

static void *hold_mmap_read(void *arg)
{
	(void)arg;
	mmap_read_lock(holder_task->mm);
	atomic_store(&holder_step, 1);
	while (atomic_load(&holder_step) != 2)
		sched_yield();
	mmap_read_unlock(holder_task->mm);
	return NULL;
}

static void fork_bad_input(void)
{
	struct task_struct *t, *child = (struct task_struct *)1;
	unsigned long warns;
	pthread_t th;
	int err;

	vt_boot();
	t = vt_process("parent");
	vt_mmap(BASE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE);
	warns = pinmm_warn_count();
	quiet_stderr_begin();
	err = pinmm_fork(NULL, "child", &child);
	quiet_stderr_end();
	is_int(err, -EINVAL, "fork: no parent is -EINVAL");
	ok(child == NULL, "fork: ... and no child");
	is_uint(pinmm_warn_count() - warns, 1, "fork: ... with a WARN");

	err = pinmm_fork(t, "kid", &child);
	ok(!err && child && !strcmp(child->comm, "kid"), "fork: the child has the name asked for");
	if (!err)
		pinmm_task_exit(child);
	err = pinmm_fork(t, NULL, &child);
	ok(!err && child && !strcmp(child->comm, t->comm),
	   "fork: with no name the child is named after its parent");
	if (!err)
		pinmm_task_exit(child);

	/* a reader holds the parent's mmap_lock; the parent, killed, forks */
	holder_task = t;
	atomic_store(&holder_step, 0);
	pthread_create(&th, NULL, hold_mmap_read, NULL);
	while (!atomic_load(&holder_step))
		sched_yield();
	pinmm_task_kill(t);
	child = (struct task_struct *)1;
	err = pinmm_fork(t, "child", &child);
	atomic_store(&holder_step, 2);
	pthread_join(th, NULL);
	is_int(err, -EINTR, "fork: a fatal signal while waiting for the parent's mmap_lock is "
	       "-EINTR (mmap_write_lock_killable())");
	ok(child == NULL, "fork: ... and no child");
	pinmm_task_exit(t);
	test_shutdown_ok("fork bad input");
}

/*
 * A driver's mapping is opened once more for the child's copy of it (Linux
 * dup_mmap(): vm_ops->open() for each VMA copied), and closed when the child
 * exits: a driver counting its users sees both.
 */
static atomic_int drv_users;

static void drv_open(struct vm_area_struct *vma)
{
	(void)vma;
	atomic_fetch_add(&drv_users, 1);
}

static void drv_close(struct vm_area_struct *vma)
{
	(void)vma;
	atomic_fetch_sub(&drv_users, 1);
}

static const struct vm_operations_struct drv_ops = { .open = drv_open, .close = drv_close };

static void fork_opens_driver_vma(void)
{
	struct task_struct *t, *child;
	unsigned long a;

	vt_boot();
	t = vt_process("driver");
	atomic_store(&drv_users, 0);
	a = vm_mmap_driver(4 * PAGE_SIZE, RW, MAP_PRIVATE, 0, &drv_ops, NULL, NULL);
	ok(!IS_ERR_VALUE(a) && atomic_load(&drv_users) == 1, "fork: (the driver's mmap opened "
	   "its VMA once)");
	if (pinmm_fork(t, "child", &child))
		bail_out("fork_opens_driver_vma: fork");
	is_int(atomic_load(&drv_users), 2, "fork: the child's copy of a driver VMA is opened "
	       "(vm_ops->open, dup_mmap())");
	pinmm_task_exit(child);
	is_int(atomic_load(&drv_users), 1, "fork: ... and closed when the child exits");
	pinmm_task_exit(t);
	is_int(atomic_load(&drv_users), 0, "fork: ... and the parent's at its exit");
	test_shutdown_ok("fork driver vma");
}

int main(void)
{
	plan_no_plan();
	vma_layout();
	fork_failures();
	fork_bad_input();
	fork_opens_driver_vma();
	return done_testing();
}
