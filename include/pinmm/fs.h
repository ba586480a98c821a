/* SPDX-License-Identifier: MIT */
/*
 * The little of the file layer that the rest needs to know now: a file has
 * an inode, and an inode may be DAX (its pages are the storage itself, pmem
 * in ZONE_DEVICE, with no page cache in between). The page cache, writeback
 * and shmem come with src/fs.
 */
#ifndef PINMM_FS_H
#define PINMM_FS_H

#include <pinmm/mm_types.h>

#define S_DAX		0x2000u		/* direct access: no page cache (fsdax) */

struct inode {
	unsigned int i_flags;
	unsigned long i_size;
};

struct file {
	struct inode *f_inode;
	void *private_data;
};

static inline struct inode *file_inode(const struct file *f)
{
	return f->f_inode;
}

static inline bool IS_DAX(const struct inode *inode)
{
	return inode->i_flags & S_DAX;
}

/*
 * vma_is_fsdax - a shared mapping of a DAX file: a long-term pin would pin
 * filesystem blocks, which the 2019 thread already ruled out (case 2's note).
 */
static inline bool vma_is_fsdax(const struct vm_area_struct *vma)
{
	return vma->vm_file && IS_DAX(file_inode(vma->vm_file));
}

#endif /* PINMM_FS_H */
