// SPDX-License-Identifier: MIT
/*
 * memfd_secret(2) (Linux: mm/secretmem.c). A secretmem file's pages are
 * reachable through its own shared mappings and nothing else: Linux removes
 * them from the kernel's direct map, so GUP must refuse them (the checks
 * live in src/gup: check_vma_flags() and gup_fast_folio_allowed()), and
 * there is no read(2) or write(2). The mappings are locked and kept out of
 * core dumps; the size is set once; the pages are order 0, zeroed, in the
 * page cache, unevictable and never migrated.
 */
#include "internal.h"

#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/slab.h>
#include <pinmm/secretmem.h>
#include <pinmm/task.h>
#include <pinmm/writeback.h>

#include <errno.h>
#include <fcntl.h>

static struct super_block *secretmem_sb;

static vm_fault_t secretmem_fault(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct inode *inode = file_inode(vmf->vma->vm_file);
	pgoff_t index = vmf->pgoff;
	struct folio *folio;
	vm_fault_t ret = VM_FAULT_LOCKED;
	int err;

	if (((loff_t)index << PAGE_SHIFT) >= i_size_read(inode))
		return VM_FAULT_SIGBUS;
	filemap_invalidate_lock_shared(mapping);
	for (;;) {
		folio = filemap_lock_folio(mapping, index);
		if (!IS_ERR(folio))
			break;
		/* not movable: nothing may migrate it (secretmem_migrate_folio()) */
		folio = folio_alloc(GFP_HIGHUSER | __GFP_ZERO, 0);
		if (!folio) {
			ret = VM_FAULT_OOM;
			goto out;
		}
		__folio_mark_uptodate(folio);
		__folio_set_locked(folio);
		err = filemap_add_folio(mapping, folio, index, GFP_HIGHUSER);
		if (!err)
			break;	/* locked, our reference the fault's, as a lookup gives it */
		__folio_clear_locked(folio);
		folio_put(folio);
		if (err != -EEXIST) {
			ret = VM_FAULT_OOM;
			goto out;
		}
	}
	vmf->page = folio_file_page(folio, index);
out:
	filemap_invalidate_unlock_shared(mapping);
	return ret;
}

static const struct vm_operations_struct secretmem_vm_ops = {
	.fault = secretmem_fault,
};

bool vma_is_secretmem(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &secretmem_vm_ops;
}

/*
 * Shared mappings only, locked (so charged to RLIMIT_MEMLOCK, -EAGAIN past
 * it) and never dumped, as Linux's secretmem_mmap().
 */
static int secretmem_mmap_prepare(struct vm_area_desc *desc)
{
	if (!(desc->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;
	if (!mlock_future_ok(current->mm, VM_LOCKED, desc->end - desc->start))
		return -EAGAIN;
	desc->vm_flags |= VM_LOCKED | VM_DONTDUMP;
	desc->vm_ops = &secretmem_vm_ops;
	return 0;
}

/* The size is set once (Linux's secretmem_setattr()): a sized file cannot change. */
static int secretmem_setsize(struct inode *inode, loff_t newsize)
{
	struct address_space *mapping = inode->i_mapping;
	int err = 0;

	filemap_invalidate_lock(mapping);
	if (i_size_read(inode) && newsize != i_size_read(inode))
		err = -EINVAL;
	else
		truncate_setsize(inode, newsize);
	filemap_invalidate_unlock(mapping);
	return err;
}

/* Nothing moves a secret page: its one home is what its mappings point at. */
static int secretmem_migrate_folio(struct address_space *mapping, struct folio *dst,
				   struct folio *src, enum migrate_mode mode)
{
	(void)mapping;
	(void)dst;
	(void)src;
	(void)mode;
	return -EBUSY;
}

static const struct address_space_operations secretmem_aops = {
	.dirty_folio = noop_dirty_folio,
	.migrate_folio = secretmem_migrate_folio,
};

/* No read_iter, no write_iter: read(2) and write(2) are -EINVAL. */
static const struct file_operations secretmem_fops = {
	.mmap_prepare = secretmem_mmap_prepare,
};

static const struct inode_operations secretmem_iops = {
	.setsize = secretmem_setsize,
};

bool secretmem_mapping(const struct address_space *mapping)
{
	return mapping->a_ops == &secretmem_aops;
}

static struct inode *secretmem_alloc_inode(struct super_block *sb)
{
	(void)sb;
	return kzalloc(sizeof(struct inode), GFP_KERNEL);
}

static void secretmem_free_inode(struct inode *inode)
{
	kfree(inode);
}

static const struct super_operations secretmem_sops = {
	.alloc_inode = secretmem_alloc_inode,
	.free_inode = secretmem_free_inode,
};

struct file *memfd_secret_file(unsigned int flags)
{
	struct inode *inode;
	struct file *file;

	if (flags & ~O_CLOEXEC)
		return ERR_PTR(-EINVAL);
	if (!secretmem_sb)
		return ERR_PTR(-ENODEV);
	inode = secretmem_alloc_inode(secretmem_sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	snprintf(inode->i_name, sizeof(inode->i_name), "secretmem");
	inode_init(inode, secretmem_sb, S_IFREG | 0600, &secretmem_aops, &secretmem_fops,
		   &secretmem_iops);
	inode->i_nlink = 0;	/* unlinked from birth: the last reference evicts it */
	mapping_set_flag(inode->i_mapping, AS_UNEVICTABLE);
	file = alloc_file(inode, O_RDWR);
	if (IS_ERR(file))
		iput(inode);
	return file;
}

int secretmem_init(void)
{
	secretmem_sb = alloc_super("secretmem");
	if (!secretmem_sb)
		return -ENOMEM;
	secretmem_sb->s_op = &secretmem_sops;
	return 0;
}

unsigned long secretmem_exit(void)
{
	unsigned long left = 0;

	if (secretmem_sb)
		left = kill_super(secretmem_sb);
	secretmem_sb = NULL;
	return left;
}
