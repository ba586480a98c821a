// SPDX-License-Identifier: MIT
/*
 * tmpfs/shmem (Linux: mm/shmem.c): memfd, shmem_file_setup() and shared
 * anonymous memory.
 *
 * A shmem file's data lives only in its page cache: swap-backed folios
 * (PG_swapbacked, counted in nr_shmem), zeroed when a hole is first touched,
 * never written back (->dirty_folio only sets the flag; no nr_dirty), so a
 * shared writable mapping needs no write-notify and a writable long-term
 * pin of shmem is allowed. A hole reads as zeroes without allocating.
 *
 * Huge pages: with the shmem huge policy on (pinmm_shmem_set_huge()), a
 * hole is filled by a PMD-sized folio where the aligned 2 MiB of the file
 * fits the policy (within i_size for "within_size", MADV_HUGEPAGE for
 * "advise"), and a fault maps it with one PMD when the VMA covers it.
 *
 * Truncation and hole punching hold invalidate_lock for writing; the fault
 * path re-checks i_size under the folio lock, so no folio is created past
 * EOF behind a truncation's back.
 */
#include "internal.h"

#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/slab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int shmem_huge = SHMEM_HUGE_NEVER;

enum shmem_huge pinmm_shmem_set_huge(enum shmem_huge mode)
{
	return (enum shmem_huge)atomic_exchange(&shmem_huge, (int)mode);
}

enum shmem_huge pinmm_shmem_get_huge(void)
{
	return (enum shmem_huge)atomic_load_explicit(&shmem_huge, memory_order_relaxed);
}

static const struct address_space_operations shmem_aops;
static const struct file_operations shmem_fops;
static const struct inode_operations shmem_iops;
static const struct vm_operations_struct shmem_vm_ops;

static pgoff_t size_in_pages(const struct inode *inode)
{
	return (pgoff_t)DIV_ROUND_UP((unsigned long long)i_size_read(inode), PAGE_SIZE);
}

/* ---- folios ------------------------------------------------------------------------ */

/* May the hole at @index be filled by a PMD-sized folio? @vma: the faulting mapping, or NULL. */
static bool shmem_huge_allowed(struct inode *inode, pgoff_t index, struct vm_area_struct *vma)
{
	pgoff_t start = ALIGN_DOWN(index, HPAGE_PMD_NR);

	switch (pinmm_shmem_get_huge()) {
	case SHMEM_HUGE_NEVER:
		return false;
	case SHMEM_HUGE_ADVISE:
		if (!vma || !(vma->vm_flags & VM_HUGEPAGE))
			return false;
		break;
	case SHMEM_HUGE_WITHIN_SIZE:
		if (start + HPAGE_PMD_NR > size_in_pages(inode))
			return false;
		break;
	case SHMEM_HUGE_ALWAYS:
		break;
	}
	if (vma && (vma->vm_flags & VM_NOHUGEPAGE))
		return false;
	/* a mapping must be able to hold it: the same 2 MiB alignment in both */
	if (vma && ((vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff) % HPAGE_PMD_NR)
		return false;
	/* a huge folio past EOF would be truncated at once (SGP_WRITE may grow) */
	return start < size_in_pages(inode);
}

/* A new zeroed folio for the hole at @index, in the cache and locked; or ERR_PTR. */
static struct folio *shmem_alloc_and_add_folio(struct inode *inode, pgoff_t index,
					       struct vm_area_struct *vma, bool huge)
{
	struct address_space *mapping = inode->i_mapping;
	gfp_t gfp = current_gfp_context(mapping_gfp_mask(mapping) | __GFP_ZERO);
	unsigned int order = huge && shmem_huge_allowed(inode, index, vma) ? HPAGE_PMD_ORDER : 0;
	struct folio *folio;
	int err;

	for (;;) {
		folio = folio_alloc(gfp | (order ? __GFP_COMP | __GFP_NOWARN : 0), order);
		if (folio)
			break;
		if (!order)
			return ERR_PTR(-ENOMEM);
		order = 0;	/* no huge page free: a small one will do */
	}
	__folio_set_locked(folio);
	__folio_set_swapbacked(folio);
	folio_mark_uptodate(folio);
	err = filemap_add_folio(mapping, folio, ALIGN_DOWN(index, folio_nr_pages(folio)), gfp);
	if (err) {
		__folio_clear_locked(folio);
		folio_put(folio);
		if (err == -EEXIST && order) {
			/* some small folio is there already: fill our page alone */
			return shmem_alloc_and_add_folio(inode, index, vma, false);
		}
		return ERR_PTR(err);
	}
	if (order)
		count_vm_event(THP_FILE_ALLOC);
	return folio;
}

static int shmem_get_folio_vma(struct inode *inode, pgoff_t index, struct folio **foliop,
			       enum sgp_type sgp, struct vm_area_struct *vma)
{
	struct address_space *mapping = inode->i_mapping;
	struct folio *folio;

	bool alloced = false;

	*foliop = NULL;
	if (sgp <= SGP_CACHE && index >= size_in_pages(inode))
		return -EINVAL;
	for (;;) {
		folio = filemap_lock_folio(mapping, index);
		if (!IS_ERR(folio))
			break;
		if (sgp == SGP_READ || sgp == SGP_NOALLOC)
			return 0;	/* a hole, and nobody asked to fill it */
		folio = shmem_alloc_and_add_folio(inode, index, vma, true);
		if (!IS_ERR(folio)) {
			alloced = true;
			break;
		}
		if (PTR_ERR(folio) != -EEXIST)
			return (int)PTR_ERR(folio);
	}
	/* truncated below us while we allocated? (SGP_WRITE/FALLOC may extend it) */
	if (sgp <= SGP_CACHE && index >= size_in_pages(inode)) {
		/* only a folio we made goes: one we found is truncation's to take */
		if (alloced && folio->index >= size_in_pages(inode)) {
			folio_cancel_dirty(folio);
			filemap_remove_folio(folio);
		}
		folio_unlock(folio);
		folio_put(folio);
		return -EINVAL;
	}
	*foliop = folio;
	return 0;
}

int shmem_get_folio(struct inode *inode, pgoff_t index, struct folio **foliop,
		    enum sgp_type sgp)
{
	return shmem_get_folio_vma(inode, index, foliop, sgp, NULL);
}

void shmem_truncate_range(struct inode *inode, loff_t lstart, loff_t lend)
{
	truncate_inode_pages_range(inode->i_mapping, lstart, lend);
}

/* ---- faults and mmap -------------------------------------------------------------------- */

static vm_fault_t shmem_fault(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct folio *folio;
	int err;

	err = shmem_get_folio_vma(inode, vmf->pgoff, &folio, SGP_CACHE, vmf->vma);
	if (err == -EINVAL)
		return VM_FAULT_SIGBUS;	/* beyond EOF */
	if (err)
		return VM_FAULT_OOM;
	vmf->page = folio_file_page(folio, vmf->pgoff);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct shmem_vm_ops = {
	.fault = shmem_fault,
	.map_pages = filemap_map_pages,
};

bool vma_is_shmem(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &shmem_vm_ops;
}

/* memfd seals, checked before the mapping exists (Linux's memfd_check_seals_mmap()) */
static int shmem_mmap_prepare(struct vm_area_desc *desc)
{
	struct shmem_inode_info *info = SHMEM_I(file_inode(desc->file));

	if (info->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		if ((desc->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE))
			return -EPERM;
		/* a read-only shared mapping of it may never become writable */
		if (desc->vm_flags & VM_SHARED)
			desc->vm_flags &= ~VM_MAYWRITE;
	}
	desc->vm_ops = &shmem_vm_ops;
	return 0;
}

/* ---- read(2), write(2) ---------------------------------------------------------------------- */

static ssize_t shmem_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t done = 0;

	while (iov_iter_count(to)) {
		loff_t pos = iocb->ki_pos, isize = i_size_read(inode);
		pgoff_t index = (pgoff_t)(pos >> PAGE_SHIFT);
		struct folio *folio;
		size_t bytes;
		bool more;
		int err;

		if (pos >= isize)
			break;
		err = shmem_get_folio(inode, index, &folio, SGP_READ);
		if (err == -EINVAL)
			break;	/* truncated under us: that is EOF, not an error */
		if (err) {
			if (!done)
				done = err;
			break;
		}
		bytes = min((size_t)(PAGE_SIZE - (pos & (PAGE_SIZE - 1))), iov_iter_count(to));
		bytes = min(bytes, (size_t)(isize - pos));
		if (folio)
			folio_unlock(folio);
		/* a hole (no folio): zeroes, nothing allocated */
		more = read_iter_piece(folio, folio ? (size_t)(pos - folio_pos(folio)) : 0, bytes, to,
				       iocb, &done);
		if (folio)
			folio_put(folio);
		if (!more)
			break;
	}
	return done;
}

static int shmem_write_begin(struct file *file, struct address_space *mapping, loff_t pos,
			     unsigned int len, struct folio **foliop, void **fsdata)
{
	struct inode *inode = mapping->host;
	struct shmem_inode_info *info = SHMEM_I(inode);

	(void)file;
	(void)fsdata;
	if (info->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return -EPERM;
	if ((info->seals & F_SEAL_GROW) && pos + len > i_size_read(inode))
		return -EPERM;
	return shmem_get_folio(inode, (pgoff_t)(pos >> PAGE_SHIFT), foliop, SGP_WRITE);
}

static int shmem_write_end(struct file *file, struct address_space *mapping, loff_t pos,
			   unsigned int len, unsigned int copied, struct folio *folio,
			   void *fsdata)
{
	struct inode *inode = mapping->host;

	(void)file;
	(void)len;
	(void)fsdata;
	if (copied) {
		if (pos + copied > i_size_read(inode))
			i_size_write(inode, pos + copied);
		folio_mark_dirty(folio);
	}
	folio_unlock(folio);
	folio_put(folio);
	return (int)copied;
}

/* tmpfs has no storage: fsync only reports errors, and shmem has none */
static int shmem_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	(void)start;
	(void)end;
	(void)datasync;
	return file_check_and_advance_wb_err(file);
}

/* ---- size changes ------------------------------------------------------------------------------ */

static int shmem_setsize(struct inode *inode, loff_t newsize)
{
	struct shmem_inode_info *info = SHMEM_I(inode);
	loff_t oldsize = i_size_read(inode);

	if ((newsize < oldsize && (info->seals & F_SEAL_SHRINK)) ||
	    (newsize > oldsize && (info->seals & F_SEAL_GROW)))
		return -EPERM;
	filemap_invalidate_lock(inode->i_mapping);
	truncate_setsize(inode, newsize);
	filemap_invalidate_unlock(inode->i_mapping);
	return 0;
}

static long shmem_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct shmem_inode_info *info = SHMEM_I(inode);
	struct address_space *mapping = inode->i_mapping;
	loff_t end = offset + len;
	long err = 0;

	inode_lock(inode);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		loff_t unmap_start = (loff_t)PAGE_ALIGN(offset);
		loff_t unmap_end = (end & (loff_t)PAGE_MASK) - 1;

		if (info->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
			err = -EPERM;
			goto out;
		}
		filemap_invalidate_lock(mapping);
		/* private COW copies stay: a punch is not a truncation (Linux: even_cows 0) */
		if (unmap_end > unmap_start)
			unmap_mapping_range(mapping, unmap_start, 1 + unmap_end - unmap_start, 0);
		shmem_truncate_range(inode, offset, end - 1);
		filemap_invalidate_unlock(mapping);
		goto out;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > i_size_read(inode) &&
	    (info->seals & F_SEAL_GROW)) {
		err = -EPERM;
		goto out;
	}
	for (pgoff_t index = (pgoff_t)(offset >> PAGE_SHIFT);
	     (loff_t)index << PAGE_SHIFT < end; index++) {
		struct folio *folio;

		err = shmem_get_folio(inode, index, &folio, SGP_FALLOC);
		if (err)
			break;
		index = folio_next_index(folio) - 1;
		folio_unlock(folio);
		folio_put(folio);
	}
	if (!err && !(mode & FALLOC_FL_KEEP_SIZE) && end > i_size_read(inode)) {
		pagecache_isize_extended(inode, i_size_read(inode), end);
		i_size_write(inode, end);
	}
out:
	inode_unlock(inode);
	return err;
}

static const struct file_operations shmem_fops = {
	.read_iter = shmem_file_read_iter,
	.write_iter = generic_file_write_iter,
	.mmap_prepare = shmem_mmap_prepare,
	.fsync = shmem_fsync,
	.fallocate = shmem_fallocate,
};

static const struct inode_operations shmem_iops = {
	.setsize = shmem_setsize,
};

static const struct address_space_operations shmem_aops = {
	.dirty_folio = noop_dirty_folio,
	.write_begin = shmem_write_begin,
	.write_end = shmem_write_end,
	.migrate_folio = filemap_migrate_folio,
};

/* ---- files ---------------------------------------------------------------------------------- */

static struct inode *shmem_alloc_inode(struct super_block *sb)
{
	struct shmem_inode_info *info = kzalloc(sizeof(*info), GFP_KERNEL);

	(void)sb;
	return info ? &info->vfs_inode : NULL;
}

static void shmem_free_inode(struct inode *inode)
{
	kfree(SHMEM_I(inode));
}

static const struct super_operations shmem_sops = {
	.alloc_inode = shmem_alloc_inode,
	.free_inode = shmem_free_inode,
};

struct file *shmem_file_setup(const char *name, loff_t size, unsigned long flags)
{
	struct inode *inode;
	struct file *file;

	(void)flags;	/* VM_NORESERVE: no overcommit accounting here */
	if (!pinmm_shmem_sb)
		return ERR_PTR(-ENODEV);
	if (size < 0)
		return ERR_PTR(-EINVAL);
	inode = shmem_alloc_inode(pinmm_shmem_sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	snprintf(inode->i_name, sizeof(inode->i_name), "%s", name);
	atomic_init(&inode->i_size, size);
	inode_init(inode, pinmm_shmem_sb, S_IFREG | 0777, &shmem_aops, &shmem_fops, &shmem_iops);
	/* unlinked from birth: the last reference evicts it */
	inode->i_nlink = 0;
	mapping_set_flag(inode->i_mapping, AS_SHMEM);
	mapping_set_flag(inode->i_mapping, AS_LARGE_FOLIO_SUPPORT);
	/* only memfds may be sealed, and only when asked (memfd.c) */
	SHMEM_I(inode)->seals = F_SEAL_SEAL;
	file = alloc_file(inode, O_RDWR);
	if (IS_ERR(file))
		iput(inode);
	return file;
}

int shmem_zero_setup(struct vm_area_struct *vma)
{
	struct file *file = shmem_file_setup("dev/zero", (loff_t)(vma->vm_end - vma->vm_start),
					     VM_NORESERVE);

	if (IS_ERR(file))
		return (int)PTR_ERR(file);
	/* the VMA takes over the one reference: the file lives while it is mapped */
	vma->vm_file = file;
	vma->vm_ops = &shmem_vm_ops;
	return 0;
}

int shmem_init(void)
{
	struct super_block *sb = alloc_super("tmpfs");

	if (!sb)
		return -ENOMEM;
	sb->s_op = &shmem_sops;
	pinmm_shmem_sb = sb;
	atomic_store(&shmem_huge, SHMEM_HUGE_NEVER);
	return 0;
}

void shmem_exit(void)
{
	pinmm_shmem_sb = NULL;
}
