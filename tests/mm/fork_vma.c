// SPDX-License-Identifier: MIT
/*
 * fork (Linux dup_mmap): which VMAs the child gets and in what state.
 * VM_DONTCOPY VMAs are not copied; VM_WIPEONFORK VMAs are copied with no
 * anon_vma; mlock is not inherited; the child's mm->flags start fresh
 * (MMF_HAS_PINNED is not in MMF_INIT_MASK); fork runs with the parent's
 * write_protect_seq odd and leaves it even; a failed fork leaves nothing.
 */
#include "vma_helpers.h"

#include <pinmm/fault-inject.h>

#include <pinmm/rcupdate.h>

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

int main(void)
{
	plan_no_plan();
	vma_layout();
	fork_failures();
	return done_testing();
}
