// SPDX-License-Identifier: MIT
/*
 * Size changes of open files: ftruncate(2), truncate(2), fallocate(2)
 * (Linux: fs/open.c). The file system does the work (->setsize,
 * ->fallocate) under i_rwsem; these check the arguments as Linux does.
 */
#include "internal.h"

/* The largest file offset (MAX_LFS_FILESIZE on 64-bit). */
#define MAX_LFS_FILESIZE	((loff_t)LLONG_MAX)

int do_ftruncate(struct file *file, loff_t length, int small)
{
	struct inode *inode = file_inode(file);
	int err;

	(void)small;
	if (length < 0)
		return -EINVAL;
	if (!S_ISREG(inode->i_mode) || !(file->f_mode & FMODE_WRITE))
		return -EINVAL;
	if (inode->i_flags & S_IMMUTABLE)
		return -EPERM;
	if (!inode->i_op || !inode->i_op->setsize)
		return -EINVAL;
	/* inode_newsize_ok(): checked before anything changes */
	if (length > inode->i_sb->s_maxbytes)
		return -EFBIG;
	inode_lock(inode);
	err = inode->i_op->setsize(inode, length);
	inode_unlock(inode);
	return err;
}

int vfs_truncate(const char *path, loff_t length)
{
	struct file *file;
	int err;

	if (length < 0)
		return -EINVAL;
	file = filp_open(path, O_WRONLY, 0);
	if (IS_ERR(file))
		return (int)PTR_ERR(file);
	err = do_ftruncate(file, length, 0);
	fput(file);
	return err;
}

int vfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);

	if (offset < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	/* punching must keep the size: Linux refuses it otherwise */
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (inode->i_flags & S_IMMUTABLE)
		return -EPERM;
	if (!S_ISREG(inode->i_mode))
		return -ENODEV;
	if (offset > MAX_LFS_FILESIZE - len || offset + len > inode->i_sb->s_maxbytes)
		return -EFBIG;
	if (!file->f_op || !file->f_op->fallocate)
		return -EOPNOTSUPP;
	return (int)file->f_op->fallocate(file, mode, offset, len);
}
