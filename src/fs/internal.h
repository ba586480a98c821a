/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of src/fs, headed by the file that owns each (the
 * header is a map of the code). Not a public header.
 */
#ifndef PINMM_FS_INTERNAL_H
#define PINMM_FS_INTERNAL_H

#include <pinmm/fs.h>
#include <pinmm/machine.h>
#include <pinmm/pagemap.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/uio.h>
#include <pinmm/vmstat.h>
#include <pinmm/writeback.h>

#include <errno.h>
#include <sys/stat.h>

/* ---- super.c ------------------------------------------------------------------ */

/* The machine's file systems, mounted at boot. */
extern struct super_block *pinmm_diskfs_sb, *pinmm_shmem_sb;

/*
 * Boot: check or create the file directory, mount diskfs, tmpfs.
 * Return 0 or -errno (with a message on stderr).
 */
int pinmm_fs_boot(const struct pinmm_config *cfg);
/*
 * Shutdown: write back everything, stop the flusher and the disk, evict
 * every inode. Return the number of inodes still referenced (leaked files).
 */
unsigned long pinmm_fs_shutdown(void);

/* A new super block; the caller fills s_op, s_bdi, s_fs_info. */
struct super_block *alloc_super(const char *id);
/* Evict its unused inodes, call ->put_super, free it. Return inodes left in use. */
unsigned long kill_super(struct super_block *sb);

/* ---- inode.c ------------------------------------------------------------------ */

/* Fill the generic part of a new inode (count 1, its page cache) and list it. */
void inode_init(struct inode *inode, struct super_block *sb, umode_t mode,
		const struct address_space_operations *a_ops,
		const struct file_operations *fop, const struct inode_operations *iop);
/* One more reference on an inode the caller holds (or finds under s_inode_list_lock). */
void ihold(struct inode *inode);
/*
 * iput - drop a reference. At zero an unlinked inode (i_nlink == 0) is
 * evicted now; a linked one (a diskfs file) stays cached, unused, until
 * drop_caches or shutdown, as Linux keeps unused inodes.
 */
void iput(struct inode *inode);
/* Evict now: truncate the page cache, ->evict_inode, free after RCU. */
void evict(struct inode *inode);
/* A reference on a listed inode unless it is being evicted (s_inode_list_lock held). */
bool __igrab(struct inode *inode);
/* Find a linked, cached inode of @sb by name and take a reference; NULL if none. */
struct inode *ilookup_name(struct super_block *sb, const char *name);
/*
 * iterate_cached_inodes - call @fn(inode, @arg) on every inode of @sb that
 * has page cache, holding a reference on it (never one being evicted);
 * stop early when @fn returns true. Context: @fn may sleep; the last iput()
 * of an unlinked inode evicts it.
 */
void iterate_cached_inodes(struct super_block *sb, bool (*fn)(struct inode *inode, void *arg),
			   void *arg);
/* Evict the unused inodes of @sb that have no page cache left (drop_caches 2). */
unsigned long prune_unused_inodes(struct super_block *sb, bool all);

/* ---- file_table.c -------------------------------------------------------------- */

/*
 * alloc_file - an open file of @inode (whose reference it takes over).
 * @flags: O_* flags; the access mode sets f_mode.
 * Return: the file (count 1) or ERR_PTR(-ENOMEM).
 */
struct file *alloc_file(struct inode *inode, int flags);

/* ---- filemap.c ------------------------------------------------------------------- */

/* Account a folio entering/leaving the page cache (nr_file_pages, nr_shmem). */
void filemap_account_folio(struct folio *folio, struct address_space *mapping, long sign);
/* Start writeback of the dirty folios of [start, end] in @sync_mode. */
int __filemap_fdatawrite_range(struct address_space *mapping, loff_t start, loff_t end,
			       enum writeback_sync_modes sync_mode);

/* ---- iov_iter.c ------------------------------------------------------------------- */

/* The OR of every address and length the iterator covers (alignment checks). */
unsigned long iov_iter_alignment(const struct iov_iter *i);

/* ---- direct-io.c ------------------------------------------------------------------ */

/* Where a file's blocks are: the host file and its checksum file (-1: none). */
struct dio_target {
	int fd;
	int csum_fd;
};

/*
 * Direct I/O at iocb->ki_pos (512-byte aligned position, length and
 * buffer, else -EINVAL). The write is called with i_rwsem held; -ENOTBLK
 * means the page cache would not let go of the range: fall back to buffered.
 */
ssize_t direct_io_read(struct kiocb *iocb, struct iov_iter *iter, const struct dio_target *t);
ssize_t direct_io_write(struct kiocb *iocb, struct iov_iter *iter, const struct dio_target *t);

/* ---- page-writeback.c ------------------------------------------------------------ */

/* A dirty folio stops counting in nr_dirty/nr_zone_write_pending. */
void folio_account_cleaned(struct folio *folio);

/* Reset the writeback tunables and policy to Linux's defaults (boot). */
void writeback_reset(void);

/* ---- fs-writeback.c --------------------------------------------------------------- */

/* Put a newly dirty inode on its bdi's dirty list (called by ->dirty_folio). */
void __mark_inode_dirty(struct inode *inode, unsigned int flags);
/* Take an inode off the dirty list (eviction). */
void inode_io_list_del(struct inode *inode);
/* Write back one inode's dirty folios (sync_mode from @wbc); clears I_DIRTY_PAGES if done. */
int writeback_single_inode(struct inode *inode, struct writeback_control *wbc);
/* Start/stop the flusher thread of @bdi. */
int bdi_register(struct backing_dev_info *bdi, const char *name);
void bdi_unregister(struct backing_dev_info *bdi);

/* ---- read(2) of memory file systems (shmem.c, hugetlbfs.c) --------------------------- */

/*
 * One piece of a read: @bytes of @folio from @offset (zeroes for a hole,
 * @folio NULL) into @to, moving the file position and *@done. Return: true
 * to go on; false after a short copy (*@done is -EFAULT if nothing was read).
 */
static inline bool read_iter_piece(struct folio *folio, size_t offset, size_t bytes,
				   struct iov_iter *to, struct kiocb *iocb, ssize_t *done)
{
	size_t n = folio ? copy_folio_to_iter(folio, offset, bytes, to) : iov_iter_zero(bytes, to);

	*done += (ssize_t)n;
	iocb->ki_pos += (loff_t)n;
	if (n == bytes)
		return true;
	if (!*done)
		*done = -EFAULT;
	return false;
}

/* ---- hugetlbfs.c ------------------------------------------------------------------- */

/* A hugetlbfs file's seals (F_SEAL_SEAL unless memfd_create() allowed sealing). */
unsigned int *hugetlbfs_file_seals(const struct file *file);

/* ---- shmem.c ----------------------------------------------------------------------- */

int shmem_init(void);
void shmem_exit(void);
/* shmem's own inode information, around the generic inode. */
struct shmem_inode_info {
	unsigned int seals;		/* (r) F_SEAL_* */
	bool sealable;			/* (c) a memfd made with MFD_ALLOW_SEALING */
	bool memfd;			/* (c) */
	struct inode vfs_inode;
};

static inline struct shmem_inode_info *SHMEM_I(const struct inode *inode)
{
	return container_of(inode, struct shmem_inode_info, vfs_inode);
}

/* ---- bio.c -------------------------------------------------------------------------- */

/* Start/stop the device thread (diskfs mount/unmount). */
int disk_start(void);
void disk_stop(void);

/* ---- vmscan.c --------------------------------------------------------------------- */

/*
 * __remove_mapping - take an unmapped, locked, clean @folio out of the cache
 * if nobody but the cache and the caller (one reference) holds it: the
 * refcount is frozen, so a racing lookup or pin fails instead.
 * Return: true if removed; the caller's reference is then the only one.
 */
bool __remove_mapping(struct address_space *mapping, struct folio *folio);
/* The allocator's direct reclaim hook: clean, unmapped disk page cache. */
unsigned long diskfs_direct_reclaim(unsigned long nr_pages);

/* ---- dax.c ---------------------------------------------------------------------------- */

/* Mount the DAX file system on the machine's pmem (none: no DAX files). */
int dax_init(void);
/* Unmount; return the DAX inodes still referenced. */
unsigned long dax_exit(void);

/* ---- diskfs.c ----------------------------------------------------------------------- */

int diskfs_init(const char *dir);
void diskfs_exit(void);

#endif /* PINMM_FS_INTERNAL_H */
