// SPDX-License-Identifier: MIT
/*
 * mlock/munlock: VM_LOCKED and VM_LOCKONFAULT on exactly the range,
 * mm->locked_vm accounting through splits, merges, munmap and MAP_LOCKED,
 * and Linux's errors (apply_vma_lock_flags, mlock_fixup).
 */
#include "vma_helpers.h"

#include <pinmm/memory.h>

#define BASE	0x400000000UL
#define RW	(PROT_READ | PROT_WRITE)

static vm_flags_t flags_at(unsigned long addr)
{
	struct vm_area_struct *vma = vt_vma(addr);

	return vma ? vma->vm_flags : 0;
}

static void accounting(void)
{
	struct task_struct *t;
	struct mm_struct *mm;

	vt_boot();
	t = vt_process("mlock");
	mm = t->mm;
	vt_mmap(BASE, 16 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);

	is_int(do_mlock(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, 0), 0, "mlock: four pages");
	ok((flags_at(BASE + 4 * PAGE_SIZE) & VM_LOCKED_MASK) == VM_LOCKED &&
	   !(flags_at(BASE) & VM_LOCKED) && vt_nr_vmas(mm) == 3,
	   "mlock: VM_LOCKED on exactly the range (the VMA splits)");
	is_uint(mm->locked_vm, 4, "mlock: locked_vm counts the locked pages");
	is_int(do_mlock(BASE + 2 * PAGE_SIZE + 100, 4 * PAGE_SIZE, 0), 0,
	       "mlock: an overlapping, unaligned range (pages 2..6)");
	is_uint(mm->locked_vm, 6, "mlock: pages already locked are not counted twice; the "
		"range is widened to whole pages");
	ok(vt_nr_vmas(mm) == 3, "mlock: the newly locked piece merges with the locked VMA");
	is_int(do_mlock(BASE + 12 * PAGE_SIZE, 2 * PAGE_SIZE, VM_LOCKONFAULT), 0,
	       "mlock2: MLOCK_ONFAULT");
	ok((flags_at(BASE + 12 * PAGE_SIZE) & VM_LOCKED_MASK) == VM_LOCKED_MASK,
	   "mlock2: MLOCK_ONFAULT sets VM_LOCKED|VM_LOCKONFAULT");
	is_uint(mm->locked_vm, 8, "mlock2: lock-on-fault pages count in locked_vm");
	is_int(do_mlock(BASE + 12 * PAGE_SIZE, 2 * PAGE_SIZE, 0), 0,
	       "mlock: the lock-on-fault range, now fully");
	is_uint(mm->locked_vm, 8, "mlock: turning VM_LOCKONFAULT into VM_LOCKED counts nothing new");
	is_int(do_mlock(BASE, PAGE_SIZE, 0x40), -EINVAL, "mlock2: unknown flags are -EINVAL");

	is_int(do_munlock(BASE + 3 * PAGE_SIZE, 2 * PAGE_SIZE), 0, "munlock: two pages");
	is_uint(mm->locked_vm, 6, "munlock: locked_vm drops by the pages unlocked");
	is_int(vm_munmap(BASE + 6 * PAGE_SIZE, 2 * PAGE_SIZE), 0, "munmap: two locked pages");
	is_uint(mm->locked_vm, 4, "munmap: unmapping locked pages drops locked_vm");
	is_int(do_mlock(BASE + 5 * PAGE_SIZE, 4 * PAGE_SIZE, 0), -ENOMEM,
	       "mlock: a range with a hole is -ENOMEM");
	is_int(do_munlock(BASE, 16 * PAGE_SIZE), -ENOMEM, "munlock: a range with a hole is -ENOMEM");
	is_uint(mm->locked_vm, 2, "munlock: ... having unlocked the part before the hole");
	is_int(do_munlock(BASE + 8 * PAGE_SIZE, 8 * PAGE_SIZE), 0, "munlock: the rest");
	is_uint(mm->locked_vm, 0, "munlock: locked_vm back to 0");
	ok(vt_nr_vmas(mm) == 2, "munlock: unlocked neighbours merge again (one VMA each side "
	   "of the hole)");

	vt_mmap(BASE + 32 * PAGE_SIZE, 3 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED | MAP_LOCKED);
	ok((flags_at(BASE + 32 * PAGE_SIZE) & VM_LOCKED) && mm->locked_vm == 3,
	   "mmap: MAP_LOCKED maps VM_LOCKED memory counted in locked_vm");
	pinmm_task_exit(t);
	test_shutdown_ok("mlock accounting");
}

static void populate(void)
{
	struct task_struct *t;
	struct mm_struct *mm;

	vt_boot();
	t = vt_process("mlock-populate");
	mm = t->mm;
	vt_mmap(BASE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + 16 * PAGE_SIZE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	is_int(get_mm_counter(mm, MM_ANONPAGES), 0, "mlock: fresh anonymous memory has no pages");
	do_mlock(BASE + 16 * PAGE_SIZE, 8 * PAGE_SIZE, VM_LOCKONFAULT);
	is_int(get_mm_counter(mm, MM_ANONPAGES), 0, "mlock2: MLOCK_ONFAULT faults nothing in");
	do_mlock(BASE, 8 * PAGE_SIZE, 0);
	is_int(get_mm_counter(mm, MM_ANONPAGES), 8, "mlock: faults every page of the range in "
	       "(private writable: write faults, so real pages, not the zero page)");
	vt_mmap(BASE + 32 * PAGE_SIZE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE);
	is_int(get_mm_counter(mm, MM_ANONPAGES), 12, "mmap: MAP_POPULATE faults the mapping in");
	/*
	 * R-MLOCK-PROTNONE (mm/gup.c populate_vma_page_range(): no FOLL_FORCE
	 * for PROT_NONE): the lock goes on, the populate fails, mlock() is
	 * -ENOMEM and faults nothing after it (live 6.18 the same).
	 */
	vt_mmap(BASE + 40 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + 42 * PAGE_SIZE, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	is_int(do_mlock(BASE + 40 * PAGE_SIZE, 4 * PAGE_SIZE, 0), -ENOMEM,
	       "R-MLOCK-PROTNONE: mlock of PROT_NONE memory (and what follows) is -ENOMEM ...");
	ok((flags_at(BASE + 40 * PAGE_SIZE) & VM_LOCKED) && (flags_at(BASE + 42 * PAGE_SIZE) & VM_LOCKED),
	   "R-MLOCK-PROTNONE: ... both VMAs locked all the same ...");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 12,
	       "R-MLOCK-PROTNONE: ... and the populate stopped there: nothing faulted in");
	vt_mmap(BASE + 48 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_NONE,
		MAP_PRIVATE | MAP_FIXED | MAP_LOCKED);
	ok(flags_at(BASE + 48 * PAGE_SIZE) & VM_LOCKED,
	   "mmap: MAP_LOCKED of PROT_NONE succeeds (its populate ignores errors)");

	/*
	 * R-MPROTECT-LOCKED (mm/mprotect.c mprotect_fixup()): a locked private
	 * VMA made writable is faulted in for writing at once; one locked on
	 * fault is not (populate_vma_page_range() returns early for
	 * VM_LOCKONFAULT). Both as the live 6.18 kernel.
	 */
	vt_mmap(BASE + 56 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + 60 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED);
	do_mlock(BASE + 56 * PAGE_SIZE, 2 * PAGE_SIZE, VM_LOCKONFAULT);
	do_mlock(BASE + 60 * PAGE_SIZE, 2 * PAGE_SIZE, 0);
	is_int(get_mm_counter(mm, MM_ANONPAGES), 12,
	       "R-MPROTECT-LOCKED: (the read-only locked VMA maps the zero page: nothing allocated)");
	is_int(do_mprotect(BASE + 56 * PAGE_SIZE, 2 * PAGE_SIZE, RW), 0,
	       "R-MPROTECT-LOCKED: mprotect RW of memory locked on fault");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 12,
	       "R-MPROTECT-LOCKED: ... faults nothing in");
	is_int(do_mprotect(BASE + 60 * PAGE_SIZE, 2 * PAGE_SIZE, RW), 0,
	       "R-MPROTECT-LOCKED: mprotect RW of locked memory ...");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 14,
	       "R-MPROTECT-LOCKED: ... write-faults both pages in (COW from the zero page)");
	pinmm_task_exit(t);
	test_shutdown_ok("mlock populate");
}

static void not_inherited(void)
{
	struct task_struct *t, *child = NULL;
	struct vm_area_struct *vma;

	vt_boot();
	t = vt_process("mlock-parent");
	vt_mmap(BASE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	do_mlock(BASE, 8 * PAGE_SIZE, 0);
	is_int(pinmm_fork(t, "mlock-child", &child), 0, "fork: of a process with locked memory");
	if (child) {
		mmap_read_lock(child->mm);
		vma = vma_lookup(child->mm, BASE);
		ok(vma && !(vma->vm_flags & VM_LOCKED_MASK) && child->mm->locked_vm == 0,
		   "fork: mlock is not inherited: the child's VMA has no VM_LOCKED and its "
		   "locked_vm is 0");
		mmap_read_unlock(child->mm);
		pinmm_task_exit(child);
	}
	ok((flags_at(BASE) & VM_LOCKED) && t->mm->locked_vm == 8,
	   "fork: the parent keeps its locked memory");
	pinmm_task_exit(t);
	test_shutdown_ok("mlock not inherited");
}

int main(void)
{
	plan_no_plan();
	accounting();
	populate();
	not_inherited();
	return done_testing();
}
