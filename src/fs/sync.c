// SPDX-License-Identifier: MIT
/*
 * fsync(2), fdatasync(2) and sync_file_range(2) (Linux: fs/sync.c).
 */
#include "internal.h"

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
