// SPDX-License-Identifier: MIT
/*
 * mlock/munlock: VM_LOCKED (and VM_LOCKONFAULT) on VMAs, mm->locked_vm, and
 * faulting locked memory in.
 *
 * Simplification: pinmm never reclaims, so what mlock changes is the VMA
 * state, the accounting and the populate; folios are not moved to an
 * unevictable list nor marked PG_mlocked.
 */
#include "vma.h"

static int mlock_newflags(struct vm_area_struct *vma, vm_flags_t *flags, void *arg)
{
	vm_flags_t lock = *(vm_flags_t *)arg;

	/* Special, I/O and PFN mappings are never locked (nor counted). */
	if (vma->vm_flags & VM_SPECIAL)
		return 0;
	*flags = (vma->vm_flags & ~VM_LOCKED_MASK) | lock;
	return 0;
}

static int mlock_apply(struct vm_area_struct *vma, vm_flags_t oldflags, void *arg)
{
	long nr = (long)vma_pages(vma);

	(void)arg;
	if (!(vma->vm_flags & VM_LOCKED))
		nr = -nr;
	else if (oldflags & VM_LOCKED)
		nr = 0;		/* only VM_LOCKONFAULT changed */
	vma->vm_mm->locked_vm += nr;
	return 0;
}

static int apply_vma_lock_flags(unsigned long start, size_t len, vm_flags_t flags,
				bool populate)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk ? tsk->mm : NULL;
	struct vma_flags_op op = {
		.newflags = mlock_newflags,
		.apply = mlock_apply,
		.arg = &flags,
	};
	unsigned long end;
	int err;

	if (WARN_ON_ONCE(!mm))
		return -EINVAL;
	/* Whole pages: the one holding @start to the one holding the last byte. */
	len = PAGE_ALIGN(len + (start & ~PAGE_MASK));
	start &= PAGE_MASK;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	if (mmap_write_lock_killable(mm))
		return -EINTR;
	err = vma_modify_flags_range(mm, start, end, &op);
	mmap_write_unlock(mm);
	if (err || !populate)
		return err;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	err = mm_populate_locked(mm, start, end, false, true);
	mmap_read_unlock(mm);
	/* mlock(2)'s errors for a failed populate (Linux __mlock_posix_error_return). */
	if (err == -EFAULT)
		err = -ENOMEM;
	else if (err == -ENOMEM)
		err = -EAGAIN;
	return err;
}

int do_mlock(unsigned long start, size_t len, vm_flags_t flags)
{
	vm_flags_t lock = VM_LOCKED;

	if (flags & ~VM_LOCKONFAULT)
		return -EINVAL;
	if (flags & VM_LOCKONFAULT)
		lock |= VM_LOCKONFAULT;
	return apply_vma_lock_flags(start, len, lock, !(flags & VM_LOCKONFAULT));
}

int do_munlock(unsigned long start, size_t len)
{
	return apply_vma_lock_flags(start, len, 0, false);
}
