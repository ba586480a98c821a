// SPDX-License-Identifier: MIT
/*
 * Open files (Linux: fs/file_table.c). A file holds one reference on its
 * inode; every VMA that maps it holds one on the file (get_file() in mmap,
 * fork and VMA splits), so a file outlives its last close while mapped.
 * Linux defers the final __fput() to task work; here it runs at once, in
 * the caller of the last fput(), which may sleep.
 */
#include "internal.h"

#include <stdlib.h>
#include <pinmm/slab.h>

struct file *alloc_file(struct inode *inode, int flags)
{
	struct file *file = kzalloc(sizeof(*file), GFP_KERNEL);
	int err;

	if (!file)
		return ERR_PTR(-ENOMEM);
	file->f_inode = inode;
	file->f_mapping = inode->i_mapping;
	file->f_op = inode->i_fop;
	file->f_flags = (unsigned int)flags & ~(O_CREAT | O_EXCL | O_TRUNC);
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		file->f_mode = FMODE_READ;
		break;
	case O_WRONLY:
		file->f_mode = FMODE_WRITE;
		break;
	default:
		file->f_mode = FMODE_READ | FMODE_WRITE;
		break;
	}
	atomic_init(&file->f_count, 1);
	/* errors before the open are not this file's to report */
	file->f_wb_err = errseq_sample(&inode->i_mapping->wb_err);
	if (file->f_op && file->f_op->open) {
		err = file->f_op->open(inode, file);
		if (err) {
			kfree(file);
			return ERR_PTR(err);
		}
	}
	return file;
}

void fput(struct file *file)
{
	long old = atomic_fetch_sub_explicit(&file->f_count, 1, memory_order_acq_rel);
	struct inode *inode = file->f_inode;

	if (WARN_ON_ONCE(old <= 0) || old > 1)
		return;
	if (file->f_op && file->f_op->release)
		file->f_op->release(inode, file);
	iput(inode);
	kfree(file);
}

int filp_close(struct file *file, void *id)
{
	(void)id;
	fput(file);
	return 0;
}
