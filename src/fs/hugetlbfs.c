// SPDX-License-Identifier: MIT
/*
 * hugetlbfs: files whose page cache holds hugetlb folios of 2 MiB or 1 GiB
 * (Linux: fs/hugetlbfs/inode.c). They back memfd_create(MFD_HUGETLB) and
 * shared MAP_HUGETLB anonymous memory (hugetlb_file_setup()), and are mapped
 * by VM_HUGETLB VMAs whose faults src/mm/hugetlb.c handles.
 *
 * The page size is the super block's, as Linux's internal mount per hstate
 * (hugetlbfs_vfsmount[]): one super block per hstate, s_fs_info naming it;
 * hugetlb_file_setup() picks it by page_size_log.
 *
 * Reservations of shared mappings belong to the inode: one bit per huge page
 * index, set by mmap for each index with no folio in the cache yet, cleared
 * by the fault (or fallocate) that adds the folio; truncation and hole
 * punching give back the bits of their range, eviction what is left.
 * Sizes are whole huge pages (ftruncate to anything else is -EINVAL), so
 * truncation never splits a hugetlb folio; a punch zeroes the partial huge
 * pages at its ends in place. No write(2) (Linux: -EINVAL), no seals on
 * hugetlb memfds here.
 */
#include "internal.h"

#include <pinmm/hugetlb.h>
#include <pinmm/memory.h>
#include <pinmm/mman.h>
#include <pinmm/slab.h>

#include <errno.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hugetlbfs_inode_info {
	struct inode vfs_inode;
	unsigned int seals;		/* F_SEAL_*, under the inode lock (a memfd's) */
	spinlock_t resv_lock;		/* the fields below */
	unsigned long *resv;		/* bit per huge page index: reserved, not yet in cache */
	unsigned long resv_bits;	/* capacity of @resv */
};

/* One internal mount per page size (Linux: hugetlbfs_vfsmount[]). */
static struct super_block *hugetlbfs_sbs[HUGE_MAX_HSTATE];

static struct hugetlbfs_inode_info *HUGETLBFS_I(struct inode *inode)
{
	return container_of(inode, struct hugetlbfs_inode_info, vfs_inode);
}

#define RBITS	(8 * sizeof(unsigned long))

static bool resv_test(const struct hugetlbfs_inode_info *info, unsigned long i)
{
	return i < info->resv_bits && ((info->resv[i / RBITS] >> (i % RBITS)) & 1);
}

static void resv_assign(struct hugetlbfs_inode_info *info, unsigned long i, bool v)
{
	if (v)
		info->resv[i / RBITS] |= 1UL << (i % RBITS);
	else
		info->resv[i / RBITS] &= ~(1UL << (i % RBITS));
}

/* Room for indices below @nr (resv_lock held); false if no memory. */
static bool resv_grow(struct hugetlbfs_inode_info *info, unsigned long nr)
{
	unsigned long words = (nr + RBITS - 1) / RBITS, old = (info->resv_bits + RBITS - 1) / RBITS;
	unsigned long *n;

	if (nr <= info->resv_bits)
		return true;
	n = realloc(info->resv, words * sizeof(*n));
	if (!n)
		return false;
	memset(n + old, 0, (words - old) * sizeof(*n));
	info->resv = n;
	info->resv_bits = words * RBITS;
	return true;
}

struct hstate *hstate_inode(const struct inode *inode)
{
	return inode->i_sb->s_fs_info;
}

struct hstate *hstate_file(const struct file *file)
{
	return hstate_inode(file_inode(file));
}

/* Huge page @i of @inode is neither reserved nor in the cache. resv_lock held. */
static bool resv_wants_page(struct inode *inode, struct hugetlbfs_inode_info *info, pgoff_t i)
{
	struct folio *folio;

	if (resv_test(info, i))
		return false;
	folio = filemap_get_folio(inode->i_mapping, i << huge_page_order(hstate_inode(inode)));
	if (IS_ERR(folio))
		return true;
	folio_put(folio);
	return false;
}

/*
 * Reserve the huge pages [first, last] of @inode that are neither in the
 * cache nor reserved yet (Linux: hugetlb_reserve_pages for VM_MAYSHARE).
 */
static int hugetlbfs_reserve_shared(struct inode *inode, pgoff_t first, pgoff_t last)
{
	struct hugetlbfs_inode_info *info = HUGETLBFS_I(inode);
	struct hstate *h = hstate_inode(inode);
	long need = 0;
	int err;

	spin_lock(&info->resv_lock);
	if (!resv_grow(info, last + 1)) {
		spin_unlock(&info->resv_lock);
		return -ENOMEM;
	}
	for (pgoff_t i = first; i <= last; i++)
		need += resv_wants_page(inode, info, i);
	spin_unlock(&info->resv_lock);
	err = hugetlb_acct_pages(h, need);
	if (err)
		return err;
	spin_lock(&info->resv_lock);
	for (pgoff_t i = first; i <= last && need; i++) {
		if (!resv_wants_page(inode, info, i))
			continue;
		resv_assign(info, i, true);
		need--;
	}
	spin_unlock(&info->resv_lock);
	if (need)	/* a racing fault filled some: give their share back */
		hugetlb_acct_pages(h, -need);
	return 0;
}

/*
 * Give back the reservations of huge pages [first, last] never faulted:
 * the range left the file (Linux: hugetlb_unreserve_pages() from
 * remove_inode_hugepages()).
 */
static void hugetlbfs_unreserve_range(struct inode *inode, pgoff_t first, pgoff_t last)
{
	struct hugetlbfs_inode_info *info = HUGETLBFS_I(inode);
	long n = 0;

	spin_lock(&info->resv_lock);
	for (pgoff_t i = first; i <= last && i < info->resv_bits; i++) {
		if (resv_test(info, i)) {
			resv_assign(info, i, false);
			n++;
		}
	}
	spin_unlock(&info->resv_lock);
	if (n)
		hugetlb_acct_pages(hstate_inode(inode), -n);
}

bool hugetlbfs_resv_consume(struct inode *inode, pgoff_t idx)
{
	struct hugetlbfs_inode_info *info = HUGETLBFS_I(inode);
	bool had;

	spin_lock(&info->resv_lock);
	had = resv_test(info, idx);
	if (had)
		resv_assign(info, idx, false);
	spin_unlock(&info->resv_lock);
	return had;
}

void hugetlbfs_resv_restore(struct inode *inode, pgoff_t idx)
{
	struct hugetlbfs_inode_info *info = HUGETLBFS_I(inode);

	spin_lock(&info->resv_lock);
	resv_assign(info, idx, true);
	spin_unlock(&info->resv_lock);
}

unsigned int *hugetlbfs_file_seals(const struct file *file)
{
	return &HUGETLBFS_I(file_inode(file))->seals;
}

static int hugetlbfs_mmap_prepare(struct vm_area_desc *desc)
{
	struct inode *inode = file_inode(desc->file);
	struct hstate *h = hstate_inode(inode);
	unsigned long len = desc->end - desc->start;
	loff_t end = ((loff_t)desc->pgoff << PAGE_SHIFT) + (loff_t)len;
	unsigned int seals = HUGETLBFS_I(inode)->seals;
	int err;

	/* a memfd's seals, before anything is reserved (Linux's memfd_check_seals_mmap()) */
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		if ((desc->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE))
			return -EPERM;
		if (desc->vm_flags & VM_SHARED)
			desc->vm_flags &= ~VM_MAYWRITE;
	}
	/* a huge page maps a whole folio: offset and bounds on its size */
	if ((desc->pgoff & (pages_per_huge_page(h) - 1)) ||
	    ((desc->start | desc->end) & ~huge_page_mask(h)))
		return -EINVAL;
	desc->vm_flags |= VM_HUGETLB | VM_DONTEXPAND;
	desc->vm_ops = &hugetlb_vm_ops;
	if (desc->vm_flags & VM_SHARED) {
		if (!(desc->vm_flags & VM_NORESERVE)) {
			err = hugetlbfs_reserve_shared(inode, desc->pgoff >> huge_page_order(h),
						       ((unsigned long)end >> (PAGE_SHIFT +
									      huge_page_order(h))) - 1);
			if (err)
				return err;
		}
	} else {
		err = hugetlb_reserve_pages(h, desc->pgoff, len, desc->vm_flags,
					    &desc->private_data);
		if (err)
			return err;
	}
	/*
	 * Linux: a writable mapping extends the file to cover it. Under
	 * mmap_lock, i_rwsem (which ranks above it) cannot be taken: i_size
	 * only grows here, with a compare-and-swap.
	 */
	if (desc->vm_flags & VM_WRITE) {
		long long cur = i_size_read(inode);

		while (cur < end && !atomic_compare_exchange_weak(&inode->i_size, &cur, end))
			;
	}
	return 0;
}

/*
 * ftruncate: whole huge pages only, so no hugetlb folio is ever split. A
 * shrink drops the pages beyond (from every mapping, private copies too:
 * the file ends there) and their reservations.
 */
static int hugetlbfs_setsize(struct inode *inode, loff_t newsize)
{
	struct hstate *h = hstate_inode(inode);
	loff_t oldsize = i_size_read(inode);

	if (newsize & ~(loff_t)huge_page_mask(h))
		return -EINVAL;
	if ((newsize < oldsize && (HUGETLBFS_I(inode)->seals & F_SEAL_SHRINK)) ||
	    (newsize > oldsize && (HUGETLBFS_I(inode)->seals & F_SEAL_GROW)))
		return -EPERM;
	filemap_invalidate_lock(inode->i_mapping);
	if (newsize < oldsize) {
		truncate_setsize(inode, newsize);
		hugetlbfs_unreserve_range(inode, (pgoff_t)newsize >> (PAGE_SHIFT + huge_page_order(h)),
					  ~0UL);
	} else {
		/* no bytes past an old EOF to clear: a grow only moves i_size (Linux) */
		i_size_write(inode, newsize);
	}
	filemap_invalidate_unlock(inode->i_mapping);
	return 0;
}

/*
 * Punch [offset, offset + len): the partial huge pages at either end are
 * zeroed in place, the whole ones leave every mapping (private copies
 * too, as Linux's hugetlb_vmdelete_list() zaps whole VMAs' ranges), the
 * cache and the reservations (Linux: hugetlbfs_punch_hole()).
 */
static void hugetlbfs_punch_hole(struct inode *inode, loff_t offset, loff_t len)
{
	struct address_space *mapping = inode->i_mapping;
	struct hstate *h = hstate_inode(inode);
	loff_t hole_start = ALIGN(offset, (loff_t)huge_page_size(h));
	loff_t hole_end = (offset + len) & (loff_t)huge_page_mask(h);

	filemap_invalidate_lock(mapping);
	if (hole_end > hole_start)
		unmap_mapping_range(mapping, hole_start, hole_end - hole_start, 1);
	truncate_inode_pages_range(mapping, offset, offset + len - 1);
	if (hole_end > hole_start)
		hugetlbfs_unreserve_range(inode, (pgoff_t)hole_start >> (PAGE_SHIFT + huge_page_order(h)),
					  ((pgoff_t)hole_end >> (PAGE_SHIFT + huge_page_order(h))) - 1);
	filemap_invalidate_unlock(mapping);
}

/*
 * fallocate: punch a hole, or put zeroed huge pages in the cache for
 * [offset, offset + len), taking the inode's reservation where mmap made
 * one, else an unreserved free page: -ENOSPC when the pool has none
 * (Linux: hugetlbfs_fallocate()). Without FALLOC_FL_KEEP_SIZE the file
 * grows to offset + len, which need not be whole huge pages (the live
 * kernel reports st_size 1 after fallocate(fd, 0, 0, 1)).
 */
static long hugetlbfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct hstate *h = hstate_inode(inode);
	unsigned int shift = PAGE_SHIFT + huge_page_order(h);
	loff_t end = offset + len;
	long err = 0;

	inode_lock(inode);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if (HUGETLBFS_I(inode)->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
			err = -EPERM;
			goto out;
		}
		hugetlbfs_punch_hole(inode, offset, len);
		goto out;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > i_size_read(inode) &&
	    (HUGETLBFS_I(inode)->seals & F_SEAL_GROW)) {
		err = -EPERM;
		goto out;
	}
	for (pgoff_t idx = (pgoff_t)offset >> shift; ((loff_t)idx << shift) < end; idx++) {
		err = hugetlb_add_file_page(inode, idx);
		if (err)
			goto out;
	}
	/* offset + len exactly, as Linux: the only way to a size off the page size */
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > i_size_read(inode))
		i_size_write(inode, end);
out:
	inode_unlock(inode);
	return err;
}

static int hugetlbfs_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	(void)file;
	(void)start;
	(void)end;
	(void)datasync;
	return 0;
}

/*
 * read(2) (Linux's hugetlbfs_read_iter()): the cache's huge folios a piece
 * at a time, zeroes for a hole (nothing is allocated), up to i_size. There
 * is no write(2): hugetlbfs has no ->write_iter, so it is -EINVAL, as in
 * Linux.
 */
static ssize_t hugetlbfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	unsigned int shift = PAGE_SHIFT + huge_page_order(hstate_inode(inode));
	ssize_t done = 0;

	while (iov_iter_count(to)) {
		loff_t pos = iocb->ki_pos, isize = i_size_read(inode);
		pgoff_t index = (pgoff_t)(pos >> shift) << (shift - PAGE_SHIFT);
		size_t in_page = (size_t)(pos & ((1LL << shift) - 1)), bytes;
		struct folio *folio;
		bool more;

		if (pos >= isize)
			break;
		bytes = min((size_t)(1UL << shift) - in_page, iov_iter_count(to));
		bytes = min(bytes, (size_t)(isize - pos));
		folio = filemap_get_folio(inode->i_mapping, index);
		if (IS_ERR(folio))
			folio = NULL;	/* a hole */
		more = read_iter_piece(folio, in_page, bytes, to, iocb, &done);
		if (folio)
			folio_put(folio);
		if (!more)
			break;
	}
	return done;
}

static const struct file_operations hugetlbfs_fops = {
	.read_iter = hugetlbfs_read_iter,
	.mmap_prepare = hugetlbfs_mmap_prepare,
	.fsync = hugetlbfs_fsync,
	.fallocate = hugetlbfs_fallocate,
};

static const struct inode_operations hugetlbfs_iops = {
	.setsize = hugetlbfs_setsize,
};

static const struct address_space_operations hugetlbfs_aops = {
	.dirty_folio = noop_dirty_folio,
};

bool is_file_hugepages(const struct file *file)
{
	return file && file->f_op == &hugetlbfs_fops;
}

static struct inode *hugetlbfs_alloc_inode(struct super_block *sb)
{
	struct hugetlbfs_inode_info *info = kzalloc(sizeof(*info), GFP_KERNEL);

	(void)sb;
	if (!info)
		return NULL;
	/* sealed against seals, until memfd_create(MFD_ALLOW_SEALING) says otherwise */
	info->seals = F_SEAL_SEAL;
	spin_lock_init(&info->resv_lock, LOCK_RANK_LEAF);
	return &info->vfs_inode;
}

/* The cache is gone (truncate_inode_pages_final): give back what was never faulted. */
static void hugetlbfs_evict_inode(struct inode *inode)
{
	struct hugetlbfs_inode_info *info = HUGETLBFS_I(inode);
	long left = 0;

	spin_lock(&info->resv_lock);
	for (unsigned long i = 0; i < info->resv_bits; i++)
		left += resv_test(info, i);
	spin_unlock(&info->resv_lock);
	if (left)
		hugetlb_acct_pages(hstate_inode(inode), -left);
}

static void hugetlbfs_free_inode(struct inode *inode)
{
	struct hugetlbfs_inode_info *info = HUGETLBFS_I(inode);

	free(info->resv);
	kfree(info);
}

static const struct super_operations hugetlbfs_sops = {
	.alloc_inode = hugetlbfs_alloc_inode,
	.evict_inode = hugetlbfs_evict_inode,
	.free_inode = hugetlbfs_free_inode,
};

struct file *hugetlb_file_setup(const char *name, size_t size, vm_flags_t acctflag,
				int page_size_log)
{
	struct hstate *h = &default_hstate;
	struct super_block *sb;
	struct inode *inode;
	struct file *file;

	(void)acctflag;	/* reservations are taken at mmap, as Linux's VM_NORESERVE setup */
	/* no pool of that size: Linux's get_hstate_idx() < 0 is -ENODEV */
	if (page_size_log < 0 || page_size_log >= (int)(8 * sizeof(long)))
		return ERR_PTR(-ENODEV);
	if (page_size_log && !(h = size_to_hstate(1UL << page_size_log)))
		return ERR_PTR(-ENODEV);
	sb = hugetlbfs_sbs[h - hstates];
	if (!sb)
		return ERR_PTR(-ENODEV);
	inode = hugetlbfs_alloc_inode(sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	snprintf(inode->i_name, sizeof(inode->i_name), "%s", name);
	atomic_init(&inode->i_size, (loff_t)ALIGN(size, huge_page_size(h)));
	inode_init(inode, sb, S_IFREG | 0777, &hugetlbfs_aops, &hugetlbfs_fops,
		   &hugetlbfs_iops);
	inode->i_nlink = 0;	/* unlinked from birth: the last reference evicts it */
	mapping_set_flag(inode->i_mapping, AS_LARGE_FOLIO_SUPPORT);
	file = alloc_file(inode, O_RDWR);
	if (IS_ERR(file))
		iput(inode);
	return file;
}

int hugetlbfs_init(void)
{
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct super_block *sb = alloc_super("hugetlbfs");

		if (!sb) {
			hugetlbfs_exit();
			return -ENOMEM;
		}
		sb->s_op = &hugetlbfs_sops;
		sb->s_fs_info = &hstates[i];	/* the mount's pagesize= */
		hugetlbfs_sbs[i] = sb;
	}
	return 0;
}

unsigned long hugetlbfs_exit(void)
{
	unsigned long left = 0;

	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		if (hugetlbfs_sbs[i])
			left += kill_super(hugetlbfs_sbs[i]);
		hugetlbfs_sbs[i] = NULL;
	}
	return left;
}
