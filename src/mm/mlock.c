// SPDX-License-Identifier: MIT
/*
 * mlock/munlock: VM_LOCKED (and VM_LOCKONFAULT) on VMAs, mm->locked_vm, and
 * faulting locked memory in.
 *
 * Simplification: anon reclaim (src/mm/vmscan.c) leaves locked memory alone
 * by looking at the VMA (try_to_unmap_one, folio_referenced), so what mlock
 * changes is the VMA state, the accounting and the populate; folios are not
 * moved to an unevictable list nor marked PG_mlocked.
 */
#include "vma.h"

#include <pinmm/secretmem.h>

static int mlock_newflags(struct vm_area_struct *vma, vm_flags_t *flags, void *arg)
{
	vm_flags_t lock = *(vm_flags_t *)arg;

	/*
	 * Special, I/O and PFN mappings are never locked (nor counted), and
	 * secret memory stays as it is, locked from its mmap on (Linux's
	 * mlock_fixup(): munlock() leaves it locked too).
	 */
	if ((vma->vm_flags & VM_SPECIAL) || vma_is_secretmem(vma))
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
	err = mm_populate_locked(mm, start, end, false);
	mmap_read_unlock(mm);
	/* mlock(2)'s errors for a failed populate (Linux __mlock_posix_error_return). */
	if (err == -EFAULT)
		err = -ENOMEM;
	else if (err == -ENOMEM)
		err = -EAGAIN;
	return err;
}

/* can_do_mlock(): a limit of zero means no mlock at all without the capability */
static bool can_do_mlock(void)
{
	return rlimit(RLIMIT_MEMLOCK) != 0 || capable(CAP_IPC_LOCK);
}

bool mlock_future_ok(struct mm_struct *mm, vm_flags_t flags, unsigned long bytes)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK);

	if (!(flags & VM_LOCKED) || capable(CAP_IPC_LOCK) || limit == RLIM_INFINITY)
		return true;
	return mm->locked_vm + (bytes >> PAGE_SHIFT) <= limit >> PAGE_SHIFT;
}

/*
 * Would locking [start, end) keep current->mm under RLIMIT_MEMLOCK? Pages
 * already locked in the range are not counted twice (Linux's
 * count_mm_mlocked_page_nr()). Called with mmap_lock held.
 */
static bool mlock_within_limit(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK), locked = (end - start) >> PAGE_SHIFT;
	struct vm_area_struct *vma;

	if (limit == RLIM_INFINITY || capable(CAP_IPC_LOCK))
		return true;
	for (vma = find_vma(mm, start); vma && vma->vm_start < end; vma = vma_next(vma))
		if (vma->vm_flags & VM_LOCKED)
			locked -= (min(end, vma->vm_end) - max(start, vma->vm_start)) >> PAGE_SHIFT;
	return mm->locked_vm + locked <= limit >> PAGE_SHIFT;
}

int do_mlock(unsigned long start, size_t len, vm_flags_t flags)
{
	struct mm_struct *mm = current ? current->mm : NULL;
	vm_flags_t lock = VM_LOCKED;
	unsigned long s, e;
	bool ok;

	if (flags & ~VM_LOCKONFAULT)
		return -EINVAL;
	if (!can_do_mlock())
		return -EPERM;
	if (flags & VM_LOCKONFAULT)
		lock |= VM_LOCKONFAULT;
	s = start & PAGE_MASK;
	e = PAGE_ALIGN(start + len);
	if (mm && e > s) {
		if (mmap_read_lock_killable(mm))
			return -EINTR;
		ok = mlock_within_limit(mm, s, e);
		mmap_read_unlock(mm);
		if (!ok)
			return -ENOMEM;
	}
	/*
	 * MLOCK_ONFAULT populates too, as Linux's do_mlock(): the VMAs it
	 * locked are passed by, what it could not lock (hugetlb) is faulted in.
	 */
	return apply_vma_lock_flags(start, len, lock, true);
}

int __account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc,
			struct task_struct *task, bool bypass_rlim)
{
	mmap_assert_write_locked(mm);
	if (!inc) {
		if (WARN_ON_ONCE(pages > mm->locked_vm))
			pages = mm->locked_vm;
		mm->locked_vm -= pages;
		return 0;
	}
	if (!bypass_rlim && mm->locked_vm + pages > task_rlimit(task, RLIMIT_MEMLOCK) >> PAGE_SHIFT)
		return -ENOMEM;
	mm->locked_vm += pages;
	return 0;
}

int account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc)
{
	int ret;

	if (!pages || !mm)
		return 0;
	mmap_write_lock(mm);
	ret = __account_locked_vm(mm, pages, inc, current, capable(CAP_IPC_LOCK));
	mmap_write_unlock(mm);
	return ret;
}

int do_munlock(unsigned long start, size_t len)
{
	return apply_vma_lock_flags(start, len, 0, false);
}
