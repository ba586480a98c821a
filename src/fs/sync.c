// SPDX-License-Identifier: MIT
/*
 * fsync(2), fdatasync(2) and sync_file_range(2) (Linux: fs/sync.c).
 */
#include "internal.h"

#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <sys/mman.h>

int vfs_fsync_range(struct file *file, loff_t start, loff_t end, int datasync)
{
	if (!file->f_op || !file->f_op->fsync)
		return -EINVAL;
	return file->f_op->fsync(file, start, end, datasync);
}

int vfs_fsync(struct file *file, int datasync)
{
	return vfs_fsync_range(file, 0, LLONG_MAX, datasync);
}

int sync_file_range(struct file *file, loff_t offset, loff_t nbytes, unsigned int flags)
{
	struct address_space *mapping = file->f_mapping;
	loff_t endbyte;
	int ret = 0;

	if (flags & ~(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		      SYNC_FILE_RANGE_WAIT_AFTER))
		return -EINVAL;
	if (offset < 0 || nbytes < 0)
		return -EINVAL;
	endbyte = offset + nbytes;
	if (endbyte < offset || !nbytes)
		endbyte = LLONG_MAX;	/* to the end of the file */
	else
		endbyte--;		/* inclusive */
	if (!S_ISREG(file_inode(file)->i_mode))
		return -ESPIPE;
	if (flags & SYNC_FILE_RANGE_WAIT_BEFORE) {
		ret = filemap_fdatawait_range(mapping, offset, endbyte);
		if (ret)
			return ret;
	}
	if (flags & SYNC_FILE_RANGE_WRITE) {
		/* WAIT_AFTER asks for the data to be out: an integrity pass */
		ret = __filemap_fdatawrite_range(mapping, offset, endbyte,
						 (flags & SYNC_FILE_RANGE_WAIT_AFTER) ?
						 WB_SYNC_ALL : WB_SYNC_NONE);
		if (ret)
			return ret;
	}
	if (flags & SYNC_FILE_RANGE_WAIT_AFTER)
		ret = filemap_fdatawait_range(mapping, offset, endbyte);
	return ret;
}

/*
 * msync(2) (Linux: mm/msync.c): MS_SYNC writes back and waits for the file
 * range behind each shared file mapping of [start, start + len); MS_ASYNC
 * does nothing (the flusher will); MS_INVALIDATE on locked memory is -EBUSY.
 * An unmapped hole in the range is -ENOMEM after the rest was done.
 */
int do_msync(unsigned long start, size_t len, int flags)
{
	struct mm_struct *mm = current ? current->mm : NULL;
	unsigned long end;
	int err = 0, unmapped = 0;

	if (WARN_ON_ONCE(!mm))
		return -EINVAL;
	if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	if ((flags & MS_ASYNC) && (flags & MS_SYNC))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end < start)
		return -ENOMEM;
	if (end == start)
		return 0;
	mmap_read_lock(mm);
	while (start < end) {
		struct vm_area_struct *vma = find_vma(mm, start);
		struct file *file;
		loff_t fstart, fend;

		if (!vma) {
			unmapped = -ENOMEM;
			break;
		}
		if (start < vma->vm_start) {
			unmapped = -ENOMEM;	/* a hole: keep going, report it */
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		if ((flags & MS_INVALIDATE) && (vma->vm_flags & VM_LOCKED)) {
			err = -EBUSY;
			break;
		}
		file = vma->vm_file;
		fstart = (loff_t)(start - vma->vm_start) + ((loff_t)vma->vm_pgoff << PAGE_SHIFT);
		fend = fstart + (loff_t)(min(end, vma->vm_end) - start) - 1;
		start = vma->vm_end;
		if ((flags & MS_SYNC) && file && (vma->vm_flags & VM_SHARED)) {
			/* the file, not the mm, is written: drop mmap_lock while we wait */
			get_file(file);
			mmap_read_unlock(mm);
			err = vfs_fsync_range(file, fstart, fend, 1);
			fput(file);
			if (err)
				return err;
			mmap_read_lock(mm);
		}
	}
	mmap_read_unlock(mm);
	return err ? err : unmapped;
}
