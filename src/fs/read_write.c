// SPDX-License-Identifier: MIT
/*
 * read(2) and write(2) on user memory, and the kernel's own kernel_read()
 * and kernel_write() on host buffers (Linux: fs/read_write.c). Both build an
 * iov_iter and call the file's ->read_iter/->write_iter, so the buffered
 * path, the O_DIRECT path (user pages pinned) and the checks are shared.
 */
#include "internal.h"

/* Linux caps one call at this many bytes (MAX_RW_COUNT). */
#define MAX_RW_COUNT	((size_t)(INT32_MAX & PAGE_MASK))

static bool access_ok(const void __user *addr, size_t size)
{
	unsigned long a = (unsigned long)addr;

	return size <= TASK_SIZE && a <= TASK_SIZE - size;
}

/* Linux's rw_verify_area(): the range must not pass the end of loff_t. */
static int rw_verify_area(loff_t pos, size_t count)
{
	if (pos < 0 || (loff_t)count > LLONG_MAX - pos)
		return -EINVAL;
	return 0;
}

static ssize_t do_read(struct file *file, struct iov_iter *iter, loff_t *pos)
{
	struct kiocb kiocb;
	ssize_t ret;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	if (!file->f_op || !file->f_op->read_iter)
		return -EINVAL;
	if (rw_verify_area(*pos, iov_iter_count(iter)))
		return -EINVAL;
	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = *pos;
	ret = file->f_op->read_iter(&kiocb, iter);
	if (ret > 0)
		*pos = kiocb.ki_pos;
	return ret;
}

static ssize_t do_write(struct file *file, struct iov_iter *iter, loff_t *pos)
{
	struct kiocb kiocb;
	ssize_t ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (!file->f_op || !file->f_op->write_iter)
		return -EINVAL;
	if (rw_verify_area(*pos, iov_iter_count(iter)))
		return -EINVAL;
	if (file_inode(file)->i_flags & S_IMMUTABLE)
		return -EPERM;
	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = *pos;
	ret = file->f_op->write_iter(&kiocb, iter);
	if (ret > 0)
		*pos = kiocb.ki_pos;
	return ret;
}

ssize_t vfs_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	struct iov_iter iter;

	if (!access_ok(buf, count))
		return -EFAULT;
	if (!count)
		return 0;
	iov_iter_ubuf(&iter, ITER_DEST, buf, min(count, MAX_RW_COUNT));
	return do_read(file, &iter, pos);
}

ssize_t vfs_write(struct file *file, const char __user *buf, size_t count, loff_t *pos)
{
	struct iov_iter iter;

	if (!access_ok(buf, count))
		return -EFAULT;
	if (!count)
		return 0;
	iov_iter_ubuf(&iter, ITER_SOURCE, (void __user *)buf, min(count, MAX_RW_COUNT));
	return do_write(file, &iter, pos);
}

ssize_t kernel_read(struct file *file, void *buf, size_t count, loff_t *pos)
{
	struct kvec kv = { .iov_base = buf, .iov_len = min(count, MAX_RW_COUNT) };
	struct iov_iter iter;

	if (!count)
		return 0;
	iov_iter_kvec(&iter, ITER_DEST, &kv, 1, kv.iov_len);
	return do_read(file, &iter, pos);
}

ssize_t kernel_write(struct file *file, const void *buf, size_t count, loff_t *pos)
{
	struct kvec kv = { .iov_base = (void *)buf, .iov_len = min(count, MAX_RW_COUNT) };
	struct iov_iter iter;

	if (!count)
		return 0;
	iov_iter_kvec(&iter, ITER_SOURCE, &kv, 1, kv.iov_len);
	return do_write(file, &iter, pos);
}
