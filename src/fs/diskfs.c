// SPDX-License-Identifier: MIT
/*
 * diskfs: a disk file system on a host directory.
 *
 * Each file is a host file of the same name in the machine's file
 * directory; beside it, in ".pinmm-csum/", a second host file holds one
 * XXH3 checksum per 4 KiB block (0: none recorded). Reads go through the
 * page cache (or, with O_DIRECT, straight between the disk and pinned user
 * pages); writes dirty the page cache, and writeback carries the folios to
 * the host through the disk thread (src/fs/bio.c).
 *
 * Block maps play the part of ext4's buffer_heads. A folio gets one (its
 * folio->private) when it is dirtied the way a file system expects: by
 * write() (->write_begin) or by a write fault (->page_mkwrite). Writeback
 * finds the disk blocks there. Reclaim frees the map of a clean folio
 * (->release_folio). So a folio that becomes dirty without asking the file
 * system — set_page_dirty() on a page that was written by DMA through a
 * FOLL_GET reference, after writeback cleaned it and reclaim took its map —
 * is caught, as ext4 catches it: a WARN when it is dirtied (ext4_dirty_folio),
 * and at writeback a warning and the folio's data dropped
 * (mpage_prepare_extent_to_map). That is the 2018 failure the FOLL_PIN
 * series set out to end (docs/files.md).
 *
 * Checksummed blocks need stable pages (a block must not change between
 * its checksum and its write), so every diskfs mapping has
 * AS_STABLE_WRITES: CPU writers wait for writeback. Devices holding pins do
 * not; what writeback does about them is pinmm_set_wb_pin_policy()'s.
 */
#include "internal.h"

#include <pinmm/bio.h>
#include <pinmm/dma.h>
#include <pinmm/memory.h>
#include <pinmm/slab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSUM_DIR	".pinmm-csum"

struct diskfs_inode {
	int fd;				/* (c) the host data file */
	int csum_fd;			/* (c) its checksums */
	bool host_ro;			/* (c) the host file could only be opened read-only */
	struct inode vfs_inode;
};

static inline struct diskfs_inode *DISKFS_I(const struct inode *inode)
{
	return container_of(inode, struct diskfs_inode, vfs_inode);
}

/* Where each 4 KiB block of a folio lives on the disk (buffer_heads' b_blocknr). */
struct diskfs_blocks {
	unsigned long nr;
	unsigned long block[];
};

static struct {
	char dir[4096];
	int dir_fd, csum_dir_fd;
	struct mutex dir_lock;		/* name lookup and create */
	struct backing_dev_info bdi;
	atomic_ulong blocks_missing;	/* dirty folios found without a block map */
	atomic_ulong csum_failures;	/* reads that met a bad checksum */
} diskfs;

static const struct address_space_operations diskfs_aops;
static const struct file_operations diskfs_fops;
static const struct inode_operations diskfs_iops;
static const struct vm_operations_struct diskfs_vm_ops;

/* ---- block maps ----------------------------------------------------------------- */

/*
 * diskfs_map_blocks - give a locked folio its block map (allocate its disk
 * blocks). Files map block for block onto their host file, so the map is the
 * identity; what matters is that writeback cannot write a folio without it.
 */
static int diskfs_map_blocks(struct folio *folio)
{
	unsigned long nr = folio_nr_pages(folio);
	struct diskfs_blocks *map;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (folio_test_private(folio))
		return 0;
	map = kmalloc(sizeof(*map) + nr * sizeof(map->block[0]), GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	map->nr = nr;
	for (unsigned long i = 0; i < nr; i++)
		map->block[i] = folio->index + i;
	folio_attach_private(folio, map);
	return 0;
}

static void diskfs_free_blocks(struct folio *folio)
{
	kfree(folio_detach_private(folio));
}

static bool diskfs_release_folio(struct folio *folio, gfp_t gfp)
{
	(void)gfp;
	/* a map under writeback or of dirty data is still needed */
	if (folio_test_dirty(folio) || folio_test_writeback(folio))
		return false;
	diskfs_free_blocks(folio);
	return true;
}

static void diskfs_invalidate_folio(struct folio *folio, size_t offset, size_t len)
{
	/* the whole folio leaves the cache: its blocks go with it */
	if (offset == 0 && len >= folio_size(folio))
		diskfs_free_blocks(folio);
}

static bool diskfs_dirty_folio(struct address_space *mapping, struct folio *folio)
{
	/*
	 * ext4_dirty_folio()'s check: dirtying a folio the file system has
	 * no blocks for means someone skipped ->page_mkwrite (GUP + DMA +
	 * set_page_dirty() after writeback and reclaim). Writeback will have
	 * nowhere to write it.
	 */
	WARN_ON_ONCE(!folio_test_private(folio));
	return filemap_dirty_folio(mapping, folio);
}

unsigned long diskfs_dirty_without_blocks(void)
{
	return atomic_load(&diskfs.blocks_missing);
}

unsigned long diskfs_csum_failures(void)
{
	return atomic_load(&diskfs.csum_failures);
}

/* ---- reading ----------------------------------------------------------------------- */

static struct bio *diskfs_read_bio(struct inode *inode, struct folio *folio)
{
	struct bio *bio = bio_alloc(1);

	if (!bio)
		return NULL;
	bio->bi_op = REQ_OP_READ;
	bio->bi_fd = DISKFS_I(inode)->fd;
	bio->bi_pos = folio_pos(folio);
	bio->bi_csum_fd = DISKFS_I(inode)->csum_fd;
	bio->bi_csum_verify = true;
	bio_add_folio(bio, folio, folio_size(folio), 0);
	return bio;
}

static void diskfs_read_done(struct bio *bio, struct folio *folio)
{
	if (!bio->bi_status) {
		folio_mark_uptodate(folio);
	} else if (bio->bi_csum_bad) {
		atomic_fetch_add(&diskfs.csum_failures, bio->bi_csum_bad);
		fprintf(stderr, "pinmm: diskfs: %s: checksum mismatch in block %lld (torn or "
			"stale on disk): -EIO\n", folio_mapping(folio)->host->i_name,
			(long long)(folio_pos(folio) / DISK_BLOCK_SIZE));
	}
}

static void diskfs_read_end_io(struct bio *bio)
{
	struct folio *folio = bio->bi_private;

	diskfs_read_done(bio, folio);
	folio_unlock(folio);
	bio_put(bio);
}

static int diskfs_read_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = folio_mapping(folio)->host;
	struct bio *bio;

	(void)file;
	if (folio_pos(folio) >= i_size_read(inode)) {
		/* wholly past EOF: nothing on the disk to read */
		memset(folio_address(folio), 0, folio_size(folio));
		folio_mark_uptodate(folio);
		folio_unlock(folio);
		return 0;
	}
	bio = diskfs_read_bio(inode, folio);
	if (!bio) {
		folio_unlock(folio);
		return -ENOMEM;
	}
	bio->bi_end_io = diskfs_read_end_io;
	bio->bi_private = folio;
	submit_bio(bio);
	return 0;
}

/* Read a locked folio and keep it locked (->write_begin of a partial block). */
static int diskfs_read_folio_sync(struct inode *inode, struct folio *folio)
{
	struct bio *bio = diskfs_read_bio(inode, folio);
	int err;

	if (!bio)
		return -ENOMEM;
	err = submit_bio_wait(bio);
	diskfs_read_done(bio, folio);
	bio_put(bio);
	return err;
}

/* ---- writeback ------------------------------------------------------------------------ */

struct diskfs_wb_io {
	struct folio *folio;
	struct folio *bounce;		/* the stable copy, or NULL */
};

static void diskfs_write_end_io(struct bio *bio)
{
	struct diskfs_wb_io *io = bio->bi_private;
	struct folio *folio = io->folio;

	if (bio->bi_status)
		mapping_set_error(folio_mapping(folio), bio->bi_status);
	folio_end_writeback(folio);
	if (io->bounce)
		folio_put(io->bounce);
	kfree(io);
	bio_put(bio);
}

/* Write back one locked folio whose dirty state writeback_iter() took. */
static int diskfs_write_folio(struct folio *folio, struct writeback_control *wbc)
{
	struct address_space *mapping = folio_mapping(folio);
	struct inode *inode = mapping->host;
	struct diskfs_blocks *map = folio_get_private(folio);
	loff_t isize = i_size_read(inode), pos = folio_pos(folio);
	size_t len = folio_size(folio);
	unsigned long nblocks;
	struct diskfs_wb_io *io;
	struct bio *bio;
	const char *src;

	if (pos >= isize) {
		/* truncated while we waited: nothing to write */
		folio_unlock(folio);
		return 0;
	}
	if (!folio_test_private(folio) || !map) {
		/*
		 * ext4's answer to set_page_dirty() behind its back: warn and
		 * drop the folio's dirty data, since there is nowhere to put it.
		 */
		atomic_fetch_add(&diskfs.blocks_missing, 1);
		fprintf(stderr, "pinmm: diskfs: %s: folio %lu is dirty but has no blocks (dirtied "
			"without ->page_mkwrite): its data is not written\n", inode->i_name,
			folio->index);
		folio_unlock(folio);
		return 0;
	}
	if ((loff_t)len > isize - pos) {
		/* the EOF block: what lies past i_size is written as zeroes (Linux zeroes it) */
		len = (size_t)(isize - pos);
		memset((char *)folio_address(folio) + len, 0, folio_size(folio) - len);
	}
	nblocks = DIV_ROUND_UP(len, DISK_BLOCK_SIZE);
	io = kzalloc(sizeof(*io), GFP_KERNEL);
	bio = bio_alloc(1);
	if (bio)
		bio->bi_csums = kcalloc(nblocks, sizeof(uint64_t), GFP_KERNEL);
	if (!io || !bio || !bio->bi_csums)
		goto redirty;
	io->folio = folio;
	src = folio_address(folio);
	if (folio_maybe_dma_pinned(folio) && pinmm_get_wb_pin_policy() == PINMM_WB_PIN_STABLE) {
		/*
		 * Beyond Linux: a device may be writing to this folio now. Write
		 * a snapshot, so the block on disk is consistent, and keep the
		 * folio dirty so what the device writes next goes out next time.
		 */
		/* no direct reclaim from writeback: it would wait for itself */
		io->bounce = folio_alloc(GFP_NOWAIT | __GFP_NOWARN | (folio_order(folio) ?
					 __GFP_COMP : 0), folio_order(folio));
		if (!io->bounce)
			goto redirty;
		pinmm_dma_copy(folio_address(io->bounce), src, len);
		src = folio_address(io->bounce);
		folio_redirty_for_writepage(wbc, folio);
		count_vm_event(PINMM_WB_PINNED_BOUNCE);
	} else if (folio_maybe_dma_pinned(folio)) {
		/* Linux today: written in place while the device may still write */
		count_vm_event(PINMM_WB_PINNED_INPLACE);
	}
	/* the checksums are taken now, at submission (btrfs computes them here too) */
	for (unsigned long b = 0; b < nblocks; b++) {
		char block[DISK_BLOCK_SIZE];
		size_t k = min((size_t)DISK_BLOCK_SIZE, len - b * DISK_BLOCK_SIZE);

		pinmm_dma_copy(block, src + b * DISK_BLOCK_SIZE, k);
		memset(block + k, 0, DISK_BLOCK_SIZE - k);
		bio->bi_csums[b] = disk_block_csum(block);
	}
	bio->bi_op = REQ_OP_WRITE;
	bio->bi_fd = DISKFS_I(inode)->fd;
	bio->bi_pos = (loff_t)map->block[0] * DISK_BLOCK_SIZE;
	bio->bi_csum_fd = DISKFS_I(inode)->csum_fd;
	if (io->bounce)
		bio_add_folio(bio, io->bounce, len, 0);
	else
		bio_add_folio(bio, folio, len, 0);
	bio->bi_end_io = diskfs_write_end_io;
	bio->bi_private = io;
	folio_start_writeback(folio);
	folio_unlock(folio);
	submit_bio(bio);
	return 0;

redirty:
	kfree(io);
	bio_put(bio);
	folio_redirty_for_writepage(wbc, folio);
	folio_unlock(folio);
	return -ENOMEM;
}

static int diskfs_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	struct folio *folio = NULL;
	int error = 0;

	while ((folio = writeback_iter(mapping, wbc, folio, &error)))
		error = diskfs_write_folio(folio, wbc);
	return error;
}

/* ---- buffered writes and write faults ---------------------------------------------------- */

static int diskfs_write_begin(struct file *file, struct address_space *mapping, loff_t pos,
			      unsigned int len, struct folio **foliop, void **fsdata)
{
	struct inode *inode = mapping->host;
	struct folio *folio;
	size_t off;
	int err;

	(void)file;
	(void)fsdata;
	folio = __filemap_get_folio(mapping, (pgoff_t)(pos >> PAGE_SHIFT), FGP_WRITEBEGIN,
				    mapping_gfp_mask(mapping));
	if (IS_ERR(folio))
		return (int)PTR_ERR(folio);
	off = (size_t)(pos - folio_pos(folio));
	if (!folio_test_uptodate(folio) && (off || len < folio_size(folio))) {
		/* a partial block: the rest of it comes from the disk (or is a hole) */
		if (folio_pos(folio) >= i_size_read(inode)) {
			memset(folio_address(folio), 0, folio_size(folio));
			folio_mark_uptodate(folio);
		} else {
			err = diskfs_read_folio_sync(inode, folio);
			if (err)
				goto fail;
		}
	}
	err = diskfs_map_blocks(folio);
	if (err)
		goto fail;
	*foliop = folio;
	return 0;
fail:
	folio_unlock(folio);
	folio_put(folio);
	return err;
}

static int diskfs_write_end(struct file *file, struct address_space *mapping, loff_t pos,
			    unsigned int len, unsigned int copied, struct folio *folio,
			    void *fsdata)
{
	struct inode *inode = mapping->host;

	(void)file;
	(void)fsdata;
	if (!folio_test_uptodate(folio)) {
		/* a short copy into a folio that was never read: redo it all */
		if (copied < len) {
			copied = 0;
			goto out;
		}
		folio_mark_uptodate(folio);
	}
	if (!copied)
		goto out;
	if (pos + copied > i_size_read(inode))
		i_size_write(inode, pos + copied);
	folio_mark_dirty(folio);
out:
	folio_unlock(folio);
	folio_put(folio);
	return (int)copied;
}

/* ext4_page_mkwrite()'s shape: the write fault allocates the blocks. */
static vm_fault_t diskfs_page_mkwrite(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct folio *folio = page_folio(vmf->page);
	int err;

	balance_dirty_pages_ratelimited(mapping);
	folio_lock(folio);
	if (folio_mapping(folio) != mapping || folio_pos(folio) >= i_size_read(mapping->host)) {
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;	/* truncated: the fault retries */
	}
	err = diskfs_map_blocks(folio);
	if (err) {
		folio_unlock(folio);
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	}
	folio_mark_dirty(folio);
	/* stable pages: the store waits for a writeback in flight */
	folio_wait_stable(folio);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct diskfs_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
	.page_mkwrite = diskfs_page_mkwrite,
};

static int diskfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	(void)file;
	vma->vm_ops = &diskfs_vm_ops;
	return 0;
}

/* ---- size changes ---------------------------------------------------------------------------- */

/*
 * Re-checksum block @blk from what the host file holds now (after a cut or a
 * punch). A cached folio over it may be under writeback, whose bio stores
 * its own checksum: lock the folio and wait, so neither overwrites the
 * other's answer (no new writeback starts while we hold the lock).
 */
static int diskfs_recsum_block(struct inode *inode, unsigned long blk)
{
	struct diskfs_inode *di = DISKFS_I(inode);
	struct folio *folio = filemap_lock_folio(inode->i_mapping, blk);
	char block[DISK_BLOCK_SIZE];
	uint64_t v;
	ssize_t n;
	int err = 0;

	if (!IS_ERR(folio))
		folio_wait_writeback(folio);
	n = pread(di->fd, block, sizeof(block), (off_t)blk * DISK_BLOCK_SIZE);
	if (n < 0) {
		err = -errno;
	} else {
		memset(block + n, 0, sizeof(block) - (size_t)n);
		v = disk_block_csum(block);
		if (pwrite(di->csum_fd, &v, sizeof(v), (off_t)(blk * sizeof(v))) != sizeof(v))
			err = -EIO;
	}
	if (!IS_ERR(folio)) {
		folio_unlock(folio);
		folio_put(folio);
	}
	return err;
}

static int diskfs_setsize(struct inode *inode, loff_t newsize)
{
	struct diskfs_inode *di = DISKFS_I(inode);
	struct address_space *mapping = inode->i_mapping;
	unsigned long nblocks = (unsigned long)DIV_ROUND_UP((unsigned long long)newsize,
							    DISK_BLOCK_SIZE);
	loff_t oldsize = i_size_read(inode);
	int err = 0;

	filemap_invalidate_lock(mapping);
	/*
	 * Growing may fail on the host (-EFBIG): try it there first, so a
	 * failure changes nothing. Shrinking cuts the cache first, so no
	 * writeback of a cut folio can extend the host file again after.
	 */
	if (newsize > oldsize && ftruncate(di->fd, newsize)) {
		err = -errno;
		goto out;
	}
	truncate_setsize(inode, newsize);
	if (ftruncate(di->fd, newsize) || ftruncate(di->csum_fd, (off_t)(nblocks * 8)))
		err = -errno;
	else if (newsize % DISK_BLOCK_SIZE && newsize < oldsize)
		err = diskfs_recsum_block(inode, nblocks - 1);
out:
	filemap_invalidate_unlock(mapping);
	return err;
}

static long diskfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct diskfs_inode *di = DISKFS_I(inode);
	struct address_space *mapping = inode->i_mapping;
	loff_t end = offset + len;
	long err = 0;

	inode_lock(inode);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		loff_t isize = i_size_read(inode);

		if (end > isize)
			end = isize;
		if (offset >= end)
			goto out;
		filemap_invalidate_lock(mapping);
		/* the range leaves every mapping and the cache; partial folios are zeroed */
		truncate_pagecache_range(inode, offset, end - 1);
		if (fallocate(di->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset,
			      end - offset))
			err = -errno;
		for (unsigned long blk = (unsigned long)(offset / DISK_BLOCK_SIZE);
		     !err && (loff_t)blk * DISK_BLOCK_SIZE < end; blk++)
			err = diskfs_recsum_block(inode, blk);
		filemap_invalidate_unlock(mapping);
		goto out;
	}
	if (fallocate(di->fd, mode & FALLOC_FL_KEEP_SIZE, offset, len)) {
		err = -errno;
		goto out;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > i_size_read(inode)) {
		pagecache_isize_extended(inode, i_size_read(inode), end);
		i_size_write(inode, end);
	}
out:
	inode_unlock(inode);
	return err;
}

/* ---- read(2), write(2), fsync(2) --------------------------------------------------------------- */

static ssize_t diskfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);

	if (iocb->ki_flags & IOCB_DIRECT) {
		struct dio_target t = {
			.fd = DISKFS_I(inode)->fd,
			.csum_fd = DISKFS_I(inode)->csum_fd,
		};

		return direct_io_read(iocb, to, &t);
	}
	return filemap_read(iocb, to, 0);
}

static ssize_t diskfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret;

	if (iocb->ki_flags & IOCB_DIRECT) {
		struct dio_target t = {
			.fd = DISKFS_I(inode)->fd,
			.csum_fd = DISKFS_I(inode)->csum_fd,
		};

		inode_lock(inode);
		ret = generic_write_checks(iocb, from);
		if (ret > 0)
			ret = direct_io_write(iocb, from, &t);
		if (ret == -ENOTBLK) {
			/*
			 * The cache would not let go: write through it, then
			 * push that out and drop it (direct_write_fallback()).
			 */
			loff_t pos = iocb->ki_pos;

			ret = generic_perform_write(iocb, from);
			if (ret > 0 && !filemap_write_and_wait_range(inode->i_mapping, pos,
								     pos + ret - 1))
				invalidate_inode_pages2_range(inode->i_mapping,
							      (pgoff_t)(pos >> PAGE_SHIFT),
							      (pgoff_t)((pos + ret - 1) >> PAGE_SHIFT));
		}
		inode_unlock(inode);
		return ret;
	}
	return generic_file_write_iter(iocb, from);
}

static int diskfs_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file_inode(file);
	int err = generic_file_fsync(file, start, end, datasync);
	loff_t isize;

	if (err)
		return err;
	/* the size is metadata: the host file ends where the file does (no truncation now) */
	inode_lock_shared(inode);
	isize = i_size_read(inode);
	if (isize > lseek(DISKFS_I(inode)->fd, 0, SEEK_END) && ftruncate(DISKFS_I(inode)->fd, isize))
		err = -errno;
	inode_unlock_shared(inode);
	return err;
}

static const struct file_operations diskfs_fops = {
	.read_iter = diskfs_read_iter,
	.write_iter = diskfs_write_iter,
	.mmap = diskfs_mmap,
	.fsync = diskfs_fsync,
	.fallocate = diskfs_fallocate,
};

static const struct inode_operations diskfs_iops = {
	.setsize = diskfs_setsize,
};

static const struct address_space_operations diskfs_aops = {
	.read_folio = diskfs_read_folio,
	.writepages = diskfs_writepages,
	.dirty_folio = diskfs_dirty_folio,
	.write_begin = diskfs_write_begin,
	.write_end = diskfs_write_end,
	.invalidate_folio = diskfs_invalidate_folio,
	.release_folio = diskfs_release_folio,
	.migrate_folio = filemap_migrate_folio,
};

/* ---- fsck of the data --------------------------------------------------------------------- */

int pinmm_diskfs_verify(struct file *file, unsigned long *checked, unsigned long *bad,
			long *first_bad)
{
	struct inode *inode = file_inode(file);
	struct diskfs_inode *di;
	char block[DISK_BLOCK_SIZE];
	struct stat st;

	*checked = *bad = 0;
	*first_bad = -1;
	if (inode->i_sb != pinmm_diskfs_sb)
		return -EINVAL;
	di = DISKFS_I(inode);
	if (fstat(di->fd, &st))
		return -errno;
	for (unsigned long blk = 0; (off_t)blk * DISK_BLOCK_SIZE < st.st_size; blk++) {
		uint64_t want = 0;
		ssize_t n;

		if (pread(di->csum_fd, &want, sizeof(want), (off_t)(blk * sizeof(want))) !=
		    (ssize_t)sizeof(want) || !want)
			continue;	/* no checksum recorded: a hole, or written by someone else */
		n = pread(di->fd, block, sizeof(block), (off_t)blk * DISK_BLOCK_SIZE);
		if (n < 0)
			return -errno;
		memset(block + n, 0, sizeof(block) - (size_t)n);
		(*checked)++;
		if (disk_block_csum(block) != want) {
			if (!(*bad)++)
				*first_bad = (long)blk;
		}
	}
	return 0;
}

/* ---- inodes and names ---------------------------------------------------------------------- */

static struct inode *diskfs_alloc_inode(struct super_block *sb)
{
	struct diskfs_inode *di = kzalloc(sizeof(*di), GFP_KERNEL);

	(void)sb;
	if (!di)
		return NULL;
	di->fd = -1;
	di->csum_fd = -1;
	return &di->vfs_inode;
}

static void diskfs_free_inode(struct inode *inode)
{
	kfree(DISKFS_I(inode));
}

static void diskfs_evict_inode(struct inode *inode)
{
	struct diskfs_inode *di = DISKFS_I(inode);

	if (di->fd >= 0)
		close(di->fd);
	if (di->csum_fd >= 0)
		close(di->csum_fd);
	di->fd = di->csum_fd = -1;
}

static const struct super_operations diskfs_sops = {
	.alloc_inode = diskfs_alloc_inode,
	.free_inode = diskfs_free_inode,
	.evict_inode = diskfs_evict_inode,
};

static int check_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (!len || name[0] == '.' || strchr(name, '/'))
		return -EINVAL;
	if (len >= sizeof(((struct inode *)0)->i_name))
		return -ENAMETOOLONG;
	return 0;
}

/* Open the host files of @name and make its inode. dir_lock held. */
static struct inode *diskfs_new_inode(const char *name, int flags, umode_t mode)
{
	int hflags = O_RDWR | O_CLOEXEC | (flags & (O_CREAT | O_EXCL));
	struct diskfs_inode *di;
	struct inode *inode;
	struct stat st;
	int fd, csum_fd;

	fd = openat(diskfs.dir_fd, name, hflags, mode & 0777);
	if (fd < 0 && errno == EACCES && (flags & O_ACCMODE) == O_RDONLY)
		fd = openat(diskfs.dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_PTR(-errno);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		int err = S_ISREG(st.st_mode) ? -errno : -EINVAL;

		close(fd);
		return ERR_PTR(err);
	}
	csum_fd = openat(diskfs.csum_dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (csum_fd < 0) {
		int err = -errno;

		close(fd);
		return ERR_PTR(err);
	}
	inode = diskfs_alloc_inode(pinmm_diskfs_sb);
	if (!inode) {
		close(fd);
		close(csum_fd);
		return ERR_PTR(-ENOMEM);
	}
	di = DISKFS_I(inode);
	di->fd = fd;
	di->csum_fd = csum_fd;
	di->host_ro = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY;
	snprintf(inode->i_name, sizeof(inode->i_name), "%s", name);
	atomic_init(&inode->i_size, st.st_size);
	inode_init(inode, pinmm_diskfs_sb, S_IFREG | (st.st_mode & 0777), &diskfs_aops,
		   &diskfs_fops, &diskfs_iops);
	/* checksummed blocks must not change under writeback */
	mapping_set_flag(inode->i_mapping, AS_STABLE_WRITES);
	return inode;
}

struct file *filp_open(const char *path, int flags, umode_t mode)
{
	struct inode *inode;
	struct file *file;
	int err;

	if (!pinmm_diskfs_sb)
		return ERR_PTR(-ENODEV);
	err = check_name(path);
	if (err)
		return ERR_PTR(err);
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return ERR_PTR(-EINVAL);
	mutex_lock(&diskfs.dir_lock);
	inode = ilookup_name(pinmm_diskfs_sb, path);
	if (inode && (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		mutex_unlock(&diskfs.dir_lock);
		iput(inode);
		return ERR_PTR(-EEXIST);
	}
	if (!inode)
		inode = diskfs_new_inode(path, flags, mode);
	mutex_unlock(&diskfs.dir_lock);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	if ((flags & O_ACCMODE) != O_RDONLY && DISKFS_I(inode)->host_ro) {
		iput(inode);
		return ERR_PTR(-EACCES);
	}
	file = alloc_file(inode, flags);
	if (IS_ERR(file)) {
		iput(inode);
		return file;
	}
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		err = do_ftruncate(file, 0, 1);
		if (err) {
			fput(file);
			return ERR_PTR(err);
		}
	}
	return file;
}

/* ---- mount ---------------------------------------------------------------------------------- */

int diskfs_init(const char *dir)
{
	struct super_block *sb;
	int err;

	snprintf(diskfs.dir, sizeof(diskfs.dir), "%s", dir);
	diskfs.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (diskfs.dir_fd < 0)
		return -errno;
	if (mkdirat(diskfs.dir_fd, CSUM_DIR, 0700) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "pinmm: diskfs: cannot make %s/%s: %s\n", dir, CSUM_DIR,
			strerror(errno));
		goto out_dir;
	}
	diskfs.csum_dir_fd = openat(diskfs.dir_fd, CSUM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (diskfs.csum_dir_fd < 0) {
		err = -errno;
		goto out_dir;
	}
	mutex_init(&diskfs.dir_lock, LOCK_RANK_DIR);
	atomic_store(&diskfs.blocks_missing, 0);
	atomic_store(&diskfs.csum_failures, 0);
	sb = alloc_super("diskfs");
	if (!sb) {
		err = -ENOMEM;
		goto out_csum;
	}
	sb->s_op = &diskfs_sops;
	/* ext4's limit with 4 KiB blocks: 16 TiB less a block */
	sb->s_maxbytes = (16LL << 40) - DISK_BLOCK_SIZE;
	diskfs.bdi.capabilities = BDI_CAP_WRITEBACK;
	sb->s_bdi = &diskfs.bdi;
	err = disk_start();
	if (err)
		goto out_sb;
	pinmm_diskfs_sb = sb;
	pinmm_direct_reclaim = diskfs_direct_reclaim;
	err = bdi_register(&diskfs.bdi, "diskfs");
	if (err) {
		pinmm_direct_reclaim = NULL;
		pinmm_diskfs_sb = NULL;
		disk_stop();
		goto out_sb;
	}
	return 0;
out_sb:
	kfree(sb);
out_csum:
	mutex_destroy(&diskfs.dir_lock);
	close(diskfs.csum_dir_fd);
out_dir:
	close(diskfs.dir_fd);
	return err;
}

void diskfs_exit(void)
{
	/* the caller flushed: stop the flusher first, then the disk it feeds */
	pinmm_direct_reclaim = NULL;
	bdi_unregister(&diskfs.bdi);
	disk_stop();
	mutex_destroy(&diskfs.dir_lock);
	close(diskfs.csum_dir_fd);
	close(diskfs.dir_fd);
}
