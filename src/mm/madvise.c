// SPDX-License-Identifier: MIT
/*
 * madvise(): advice that drops pages (MADV_DONTNEED), faults them in
 * (MADV_POPULATE_*), or changes vm_flags (fork and THP policy), with Linux's
 * argument rules and errors.
 */
#include "vma.h"

#include <pinmm/ksm.h>

static bool madvise_behavior_valid(int behavior)
{
	switch (behavior) {
	case MADV_DONTNEED:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_COLLAPSE:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
		return true;
	default:
		return false;
	}
}

/* Advice that only reads the VMA tree can run beside faults. */
static bool madvise_need_mmap_write(int behavior)
{
	switch (behavior) {
	case MADV_DONTNEED:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		return false;
	default:
		return true;
	}
}

/* The flags @behavior gives @vma, or -EINVAL where it does not apply. */
static int madvise_newflags(struct vm_area_struct *vma, vm_flags_t *flags, void *arg)
{
	int behavior = *(int *)arg;

	switch (behavior) {
	case MADV_DONTFORK:
		if (vma->vm_flags & VM_IO)
			return -EINVAL;
		*flags |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		if (vma->vm_flags & VM_IO)
			return -EINVAL;
		*flags &= ~VM_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		/* Only private anonymous memory can be wiped. */
		if (vma->vm_file || (vma->vm_flags & VM_SHARED) || !vma_is_anonymous(vma))
			return -EINVAL;
		*flags |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		*flags &= ~VM_WIPEONFORK;
		break;
	case MADV_HUGEPAGE:
		*flags &= ~VM_NOHUGEPAGE;
		*flags |= VM_HUGEPAGE;
		break;
	case MADV_NOHUGEPAGE:
		*flags &= ~VM_HUGEPAGE;
		*flags |= VM_NOHUGEPAGE;
		break;
	case MADV_MERGEABLE:
		/* registers the mm; UNMERGEABLE broke COW before (madvise_unmerge) */
		return ksm_madvise(vma, vma->vm_start, vma->vm_end, behavior, flags);
	case MADV_UNMERGEABLE:
		*flags &= ~VM_MERGEABLE;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/*
 * MADV_UNMERGEABLE, first half: every KSM page of the range is copied back
 * (break_ksm) before any VMA loses VM_MERGEABLE, so a failure changes no flag.
 */
static int madvise_unmerge(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;

	for (vma = find_vma(mm, start); vma && vma->vm_start < end; vma = vma_next(vma)) {
		vm_flags_t flags = vma->vm_flags;
		int err = ksm_madvise(vma, max(start, vma->vm_start), min(end, vma->vm_end),
				      MADV_UNMERGEABLE, &flags);

		if (err)
			return err;
	}
	return 0;
}

/* MADV_DONTNEED over every VMA of the range; holes give -ENOMEM at the end. */
static int madvise_dontneed(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;
	bool hole = false;
	unsigned long s, e, prev_end = start;

	for (vma = find_vma(mm, start); vma && vma->vm_start < end; vma = vma_next(vma)) {
		if (vma->vm_start > prev_end)
			hole = true;
		prev_end = vma->vm_end;
		/* Locked and PFN-mapped memory cannot be dropped. */
		if (vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB))
			return -EINVAL;
		s = max(start, vma->vm_start);
		e = min(end, vma->vm_end);
		zap_page_range_single(vma, s, e - s);
	}
	if (prev_end < end)
		hole = true;
	return hole ? -ENOMEM : 0;
}

/*
 * MADV_POPULATE_READ/WRITE: fault the range in. A hole is -ENOMEM at once;
 * VM_IO/VM_PFNMAP or a missing permission is -EINVAL (GUP's refusal,
 * reported as Linux's madvise does); fault errors pass through.
 */
static int madvise_populate(struct mm_struct *mm, unsigned long start, unsigned long end,
			    bool write)
{
	struct vm_area_struct *vma;
	int err;

	while (start < end) {
		vma = vma_lookup(mm, start);
		if (!vma)
			return -ENOMEM;
		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			return -EINVAL;
		if (!(vma->vm_flags & (write ? VM_WRITE : VM_READ)))
			return -EINVAL;
		err = populate_range(vma, start, min(end, vma->vm_end), write);
		if (err)
			return err;
		start = min(end, vma->vm_end);
	}
	return 0;
}

/*
 * MADV_COLLAPSE over each VMA of the range, as Linux's madvise_walk_vmas():
 * the first VMA's error ends it; a hole is -ENOMEM, reported at the end.
 */
static int madvise_collapse_range(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	int unmapped = 0;

	while (start < end) {
		struct vm_area_struct *vma = find_vma(mm, start);
		int err;

		if (!vma || vma->vm_start >= end)
			return -ENOMEM;
		if (vma->vm_start > start) {
			unmapped = -ENOMEM;
			start = vma->vm_start;
		}
		err = madvise_collapse(vma, start, min(end, vma->vm_end));
		if (err)
			return err;
		start = min(end, vma->vm_end);
	}
	return unmapped;
}

int do_madvise(struct mm_struct *mm, unsigned long start, size_t len_in, int behavior)
{
	struct vma_flags_op op = {
		.newflags = madvise_newflags,
		.arg = &behavior,
		.holes_at_end = true,
	};
	unsigned long end, len;
	bool write;
	int err;

	if (!madvise_behavior_valid(behavior))
		return -EINVAL;
	if (!IS_ALIGNED(start, PAGE_SIZE))
		return -EINVAL;
	len = PAGE_ALIGN(len_in);
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	write = madvise_need_mmap_write(behavior);
	if (write) {
		if (mmap_write_lock_killable(mm))
			return -EINTR;
	} else {
		if (mmap_read_lock_killable(mm))
			return -EINTR;
	}

	switch (behavior) {
	case MADV_DONTNEED:
		err = madvise_dontneed(mm, start, end);
		break;
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		err = madvise_populate(mm, start, end, behavior == MADV_POPULATE_WRITE);
		break;
	case MADV_COLLAPSE:
		err = madvise_collapse_range(mm, start, end);
		break;
	case MADV_UNMERGEABLE:
		err = madvise_unmerge(mm, start, end);
		if (!err)
			err = vma_modify_flags_range(mm, start, end, &op);
		break;
	default:
		err = vma_modify_flags_range(mm, start, end, &op);
		break;
	}

	if (write)
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	return err;
}
