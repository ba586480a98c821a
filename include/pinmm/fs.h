/* SPDX-License-Identifier: MIT */
/*
 * The file layer's objects (Linux: include/linux/fs.h): super blocks, inodes,
 * their address spaces (the page cache of one file), open files, and the
 * calls a driver or a test makes on them (filp_open, kernel_read, vfs_write,
 * vfs_fsync, do_ftruncate, vfs_fallocate, ...).
 *
 * Three file systems live here (src/fs):
 *   diskfs  a disk file system on a host directory (pinmm_config.file_dir):
 *           page cache, dirty tracking through ->page_mkwrite, writeback of
 *           4 KiB blocks with a checksum each, so a torn or stale block is
 *           visible on read-back; per-folio block maps play buffer_heads;
 *   shmem   tmpfs: memfd, shmem_file_setup(), MAP_SHARED|MAP_ANONYMOUS;
 *           swap-backed page cache with no writeback (no dirty tracking);
 *   dax     filesystem DAX on the machine's pmem: no page cache at all.
 *
 * Lock letters on fields (see docs/locking.md for the order):
 *   (c) constant after creation   (a) atomic
 *   (r) inode->i_rwsem            (v) mapping->invalidate_lock
 *   (x) mapping->i_pages.xa_lock  (m) mapping->i_mmap_rwsem
 *   (f) the folio lock            (w) the backing device's writeback lock
 *   (s) sb->s_inode_list_lock
 */
#ifndef PINMM_FS_H
#define PINMM_FS_H

#include <pinmm/errseq.h>
#include <pinmm/locks.h>
#include <pinmm/mm_types.h>
#include <pinmm/xarray.h>

#include <fcntl.h>

struct address_space;
struct backing_dev_info;
struct file;
struct folio;
struct inode;
struct iov_iter;
struct kiocb;
struct super_block;
struct writeback_control;
enum migrate_mode;

/* ---- inode flags and modes ------------------------------------------------- */

#define S_DAX		0x2000u		/* direct access: no page cache (fsdax) */
#define S_IMMUTABLE	0x0008u

/* open file mode bits (f_mode) */
#define FMODE_READ	0x1u
#define FMODE_WRITE	0x2u

/* ---- the address space: one file's page cache ------------------------------ */

/*
 * What a file system does with the folios of its page cache. Every
 * operation is optional; missing ones get Linux's defaults (see filemap.c).
 */
struct address_space_operations {
	/* Fill a locked, !uptodate folio from storage; unlock it when done. */
	int (*read_folio)(struct file *file, struct folio *folio);
	/* Write back dirty folios of the range @wbc describes. */
	int (*writepages)(struct address_space *mapping, struct writeback_control *wbc);
	/* Mark a folio dirty (PG_dirty, the xarray tag, the counters). */
	bool (*dirty_folio)(struct address_space *mapping, struct folio *folio);
	/* Prepare [pos, pos + len) of one folio for a buffered write: *foliop locked. */
	int (*write_begin)(struct file *file, struct address_space *mapping, loff_t pos,
			   unsigned int len, struct folio **foliop, void **fsdata);
	/* After the copy: @copied bytes landed; unlock and release the folio. */
	int (*write_end)(struct file *file, struct address_space *mapping, loff_t pos,
			 unsigned int len, unsigned int copied, struct folio *folio,
			 void *fsdata);
	/* Part of a folio is being truncated or punched: drop fs state there. */
	void (*invalidate_folio)(struct folio *folio, size_t offset, size_t len);
	/* May the fs state attached to a clean folio go (reclaim)? true if gone. */
	bool (*release_folio)(struct folio *folio, gfp_t gfp);
	/* Move @src's data, page-cache slot and fs state to @dst. */
	int (*migrate_folio)(struct address_space *mapping, struct folio *dst,
			     struct folio *src, enum migrate_mode mode);
};

/* mapping->flags bits (Linux's AS_*) */
enum mapping_flags {
	AS_EIO,			/* a writeback error not yet reported (legacy) */
	AS_ENOSPC,
	AS_UNEVICTABLE,		/* never reclaimed (ramfs-like) */
	AS_STABLE_WRITES,	/* folios must not change while under writeback */
	AS_LARGE_FOLIO_SUPPORT,	/* the fs may put large folios in this cache */
	AS_SHMEM,		/* pinmm: this is shmem's cache (shmem_mapping()) */
};

/*
 * struct address_space - the page cache of one inode.
 *
 * Readers find folios by index under RCU (filemap_get_folio()); a folio's
 * place in i_pages, ->mapping and ->index change only under its folio lock
 * and the xa_lock together, which is what makes folio_try_get() + "is it
 * still at this index of this mapping?" a complete check against truncation.
 * Freed after an RCU grace period (GUP-fast reads folio->mapping with no
 * reference to the inode: gup_fast_folio_allowed()).
 */
struct address_space {
	struct inode *host;			/* (c) */
	struct xarray i_pages;			/* (x) index -> folio; dirty/writeback tags */
	struct rw_semaphore invalidate_lock;	/* truncate/punch vs faults and reads */
	gfp_t gfp_mask;				/* (c) how its folios are allocated */
	atomic_long nrpages;			/* (x) pages in the cache */
	struct list_head i_mmap;		/* (m) VMAs mapping this file (vma->shared) */
	struct rw_semaphore i_mmap_rwsem;
	atomic_int i_mmap_writable;		/* (a) VM_SHARED|VM_MAYWRITE mappings */
	atomic_ulong flags;			/* (a) AS_* */
	errseq_t wb_err;			/* (a) the last writeback error */
	const struct address_space_operations *a_ops;	/* (c) */
	void *private_data;			/* (c) the file system's */
};

static inline bool mapping_test_flag(const struct address_space *m, enum mapping_flags f)
{
	return (atomic_load_explicit(&((struct address_space *)m)->flags,
				     memory_order_relaxed) >> f) & 1;
}

static inline void mapping_set_flag(struct address_space *m, enum mapping_flags f)
{
	atomic_fetch_or_explicit(&m->flags, 1UL << f, memory_order_relaxed);
}

static inline bool mapping_stable_writes(const struct address_space *m)
{
	return mapping_test_flag(m, AS_STABLE_WRITES);
}

static inline bool mapping_large_folio_support(const struct address_space *m)
{
	return mapping_test_flag(m, AS_LARGE_FOLIO_SUPPORT);
}

static inline bool mapping_unevictable(const struct address_space *m)
{
	return mapping_test_flag(m, AS_UNEVICTABLE);
}

/* shmem_mapping - is @m a tmpfs/shmem/memfd page cache? (lockless, any context) */
static inline bool shmem_mapping(const struct address_space *m)
{
	return m && mapping_test_flag(m, AS_SHMEM);
}

/*
 * mapping_set_error - record a writeback error on @m for fsync to report:
 * each open file sees it once (errseq), as Linux's filemap_set_wb_err().
 */
static inline void mapping_set_error(struct address_space *m, int error)
{
	if (likely(!error))
		return;
	errseq_set(&m->wb_err, error);
	mapping_set_flag(m, error == -ENOSPC ? AS_ENOSPC : AS_EIO);
}

static inline bool mapping_mapped(struct address_space *m)
{
	/* a snapshot, as Linux's RB_EMPTY_ROOT check without the lock */
	return !list_empty(&m->i_mmap);
}

static inline void i_mmap_lock_write(struct address_space *m)
{
	down_write(&m->i_mmap_rwsem);
}

static inline void i_mmap_unlock_write(struct address_space *m)
{
	up_write(&m->i_mmap_rwsem);
}

static inline void i_mmap_lock_read(struct address_space *m)
{
	down_read(&m->i_mmap_rwsem);
}

static inline void i_mmap_unlock_read(struct address_space *m)
{
	up_read(&m->i_mmap_rwsem);
}

static inline void filemap_invalidate_lock(struct address_space *m)
{
	down_write(&m->invalidate_lock);
}

static inline void filemap_invalidate_unlock(struct address_space *m)
{
	up_write(&m->invalidate_lock);
}

static inline void filemap_invalidate_lock_shared(struct address_space *m)
{
	down_read(&m->invalidate_lock);
}

static inline void filemap_invalidate_unlock_shared(struct address_space *m)
{
	up_read(&m->invalidate_lock);
}

/* ---- inodes ---------------------------------------------------------------- */

struct inode_operations {
	/* Change the size: the fs truncates its page cache and storage. */
	int (*setsize)(struct inode *inode, loff_t newsize);
};

/*
 * What ->mmap_prepare sees and may change before a file's VMA is made
 * (Linux 6.16's struct vm_area_desc): refusing here leaves nothing to undo.
 */
struct vm_area_desc {
	unsigned long start, end;
	pgoff_t pgoff;
	struct file *file;
	vm_flags_t vm_flags;			/* may drop VM_MAYWRITE (sealed memfd) */
	const struct vm_operations_struct *vm_ops;	/* set by the file system */
	void *private_data;
};

struct file_operations {
	ssize_t (*read_iter)(struct kiocb *iocb, struct iov_iter *to);
	ssize_t (*write_iter)(struct kiocb *iocb, struct iov_iter *from);
	int (*mmap_prepare)(struct vm_area_desc *desc);
	int (*mmap)(struct file *file, struct vm_area_struct *vma);
	int (*fsync)(struct file *file, loff_t start, loff_t end, int datasync);
	long (*fallocate)(struct file *file, int mode, loff_t offset, loff_t len);
	int (*open)(struct inode *inode, struct file *file);
	int (*release)(struct inode *inode, struct file *file);
};

/* inode->i_state bits */
#define I_DIRTY_PAGES	0x1u	/* has dirty page-cache folios: on the bdi's list */
#define I_SYNC		0x2u	/* the flusher is writing this inode back */

struct inode {
	umode_t i_mode;				/* (c) S_IFREG | permissions */
	unsigned int i_flags;			/* (c) S_DAX, S_IMMUTABLE */
	unsigned long i_ino;			/* (c) */
	_Atomic long long i_size;		/* (r) written; read locklessly: i_size_read() */
	atomic_int i_count;			/* (a) references: open files, mappings, lookups */
	unsigned int i_nlink;			/* (r) 0: unlinked, gone at the last iput() */
	unsigned int i_state;			/* (w) I_* */
	bool i_freeing;				/* (s) being evicted: lookups skip it */
	struct super_block *i_sb;		/* (c) */
	struct rw_semaphore i_rwsem;		/* writes, truncation, fallocate */
	struct address_space *i_mapping;	/* (c) &i_data */
	struct address_space i_data;
	const struct inode_operations *i_op;	/* (c) */
	const struct file_operations *i_fop;	/* (c) */
	struct list_head i_io_list;		/* (w) on the bdi's dirty list */
	unsigned long dirtied_when;		/* (w) ms, when it first got dirty */
	struct list_head i_sb_list;		/* (s) the super block's list of inodes */
	char i_name[64];			/* (c) its name (diskfs, memfd: "memfd:NAME") */
	void *i_private;			/* (c) the file system's */
	struct rcu_head i_rcu;
};

static inline loff_t i_size_read(const struct inode *inode)
{
	return atomic_load_explicit(&((struct inode *)inode)->i_size, memory_order_acquire);
}

/* i_size_write - the caller holds i_rwsem (or is creating the inode). */
static inline void i_size_write(struct inode *inode, loff_t size)
{
	atomic_store_explicit(&inode->i_size, size, memory_order_release);
}

static inline bool IS_DAX(const struct inode *inode)
{
	return inode->i_flags & S_DAX;
}

static inline void inode_lock(struct inode *inode)
{
	down_write(&inode->i_rwsem);
}

static inline void inode_unlock(struct inode *inode)
{
	up_write(&inode->i_rwsem);
}

static inline void inode_lock_shared(struct inode *inode)
{
	down_read(&inode->i_rwsem);
}

static inline void inode_unlock_shared(struct inode *inode)
{
	up_read(&inode->i_rwsem);
}

/* ---- super blocks ------------------------------------------------------------ */

struct super_operations {
	/* A zeroed inode, usually inside the fs's own structure. */
	struct inode *(*alloc_inode)(struct super_block *sb);
	/* Free it: runs after an RCU grace period (lockless readers are gone). */
	void (*free_inode)(struct inode *inode);
	/* The inode is being evicted: its page cache is gone; release storage. */
	void (*evict_inode)(struct inode *inode);
	/* Called once at shutdown, after every inode of the super block is gone. */
	void (*put_super)(struct super_block *sb);
};

struct super_block {
	const char *s_id;			/* (c) "diskfs", "tmpfs", "dax" */
	const struct super_operations *s_op;	/* (c) */
	struct backing_dev_info *s_bdi;		/* (c) NULL: no writeback */
	loff_t s_maxbytes;			/* (c) the largest file size (-EFBIG past it) */
	spinlock_t s_inode_list_lock;		/* s_inodes */
	struct list_head s_inodes;
	atomic_ulong s_next_ino;
	void *s_fs_info;			/* (c) */
};

/* ---- open files --------------------------------------------------------------- */

struct file {
	struct inode *f_inode;			/* (c) */
	struct address_space *f_mapping;	/* (c) */
	const struct file_operations *f_op;	/* (c) */
	unsigned int f_flags;			/* O_* as opened; O_APPEND/O_DIRECT may change */
	unsigned int f_mode;			/* (c) FMODE_* */
	atomic_long f_count;			/* (a) open reference + one per mapping */
	loff_t f_pos;
	errseq_val_t f_wb_err;			/* the wb_err this file has seen */
	void *private_data;
};

static inline struct inode *file_inode(const struct file *f)
{
	return f->f_inode;
}

/* get_file - one more reference on an open file (a VMA, a request). */
static inline struct file *get_file(struct file *f)
{
	atomic_fetch_add_explicit(&f->f_count, 1, memory_order_relaxed);
	return f;
}

/**
 * fput - drop a reference to an open file; the last one releases it
 * (->release, the inode reference) and frees it.
 * Context: may sleep (the final iput() may truncate the page cache).
 */
void fput(struct file *file);

/*
 * vma_is_fsdax - a mapping of a DAX file: a long-term pin would pin
 * filesystem blocks, which the 2019 thread already ruled out (case 2's note).
 */
static inline bool vma_is_fsdax(const struct vm_area_struct *vma)
{
	return vma->vm_file && IS_DAX(file_inode(vma->vm_file));
}

/* ---- iocb --------------------------------------------------------------------- */

#define IOCB_APPEND	0x01u
#define IOCB_DIRECT	0x02u
#define IOCB_DSYNC	0x04u
#define IOCB_NOWAIT	0x08u
#define IOCB_SYNC	0x10u

struct kiocb {
	struct file *ki_filp;
	loff_t ki_pos;
	unsigned int ki_flags;			/* IOCB_* */
};

static inline void init_sync_kiocb(struct kiocb *kiocb, struct file *filp)
{
	kiocb->ki_filp = filp;
	kiocb->ki_pos = 0;
	kiocb->ki_flags = ((filp->f_flags & O_APPEND) ? IOCB_APPEND : 0) |
			  ((filp->f_flags & O_DIRECT) ? IOCB_DIRECT : 0) |
			  ((filp->f_flags & O_DSYNC) ? IOCB_DSYNC : 0) |
			  (((filp->f_flags & O_SYNC) == O_SYNC) ? IOCB_SYNC : 0);
}

/* ---- the calls ------------------------------------------------------------------- */

/**
 * filp_open - open (or with O_CREAT create) a diskfs file.
 * @path: a name relative to the machine's file directory; no '/' and no
 *        leading '.', at most 63 bytes.
 * @flags: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 *         O_DIRECT, O_DSYNC/O_SYNC.
 * @mode: permissions for a new file.
 *
 * Files opened twice share one inode and one page cache, as in Linux.
 * Context: may sleep; takes no mm lock.
 * Return: the file (release with filp_close() or fput()), or ERR_PTR():
 * -ENOENT (no such file, no O_CREAT), -EEXIST (O_CREAT|O_EXCL),
 * -EINVAL (bad name or flags), -ENAMETOOLONG, -ENODEV (no machine), -ENOMEM,
 * or the host's error.
 */
struct file *filp_open(const char *path, int flags, umode_t mode);

/* filp_close - close @file (fput); @id is unused, as in kernel callers. Return 0. */
int filp_close(struct file *file, void *id);

/**
 * kernel_read - read from @file into a host buffer, as the kernel itself does.
 * @file: open for reading.
 * @buf: host memory.
 * @count: bytes wanted.
 * @pos: file offset, advanced by what was read.
 *
 * Buffered through the page cache (O_DIRECT files too: a host buffer has no
 * pages to pin, as in Linux where kernel_read of an O_DIRECT file needs an
 * aligned kvec).
 * Context: may sleep.
 * Return: bytes read (0 at EOF) or -errno (-EBADF if not open for reading,
 * -EIO if a block failed its checksum).
 */
ssize_t kernel_read(struct file *file, void *buf, size_t count, loff_t *pos);

/* kernel_write - the reverse: from a host buffer into @file (-EBADF if not writable). */
ssize_t kernel_write(struct file *file, const void *buf, size_t count, loff_t *pos);

/**
 * vfs_read - the read(2) system call: into @buf, a user address of current->mm.
 *
 * Buffered reads copy with copy_to_user() (a fault on @buf is a CPU fault).
 * On an O_DIRECT file this is case 1 of pin_user_pages.rst: @buf is pinned
 * (FOLL_WRITE), the disk writes the frames, and the pages are unpinned dirty.
 * O_DIRECT needs @buf, @count and *@pos aligned to 512 bytes (-EINVAL).
 * Context: may sleep; current->mm's mmap_lock must not be held.
 * Return: bytes read or -errno.
 */
ssize_t vfs_read(struct file *file, char __user *buf, size_t count, loff_t *pos);

/*
 * vfs_write - the write(2) system call from user memory; O_DIRECT pins @buf
 * read-only for the disk to read. Writes to a sealed memfd: -EPERM.
 */
ssize_t vfs_write(struct file *file, const char __user *buf, size_t count, loff_t *pos);

/**
 * vfs_fsync_range - write back [@start, @end] of @file and wait for it.
 * @datasync: accepted; diskfs has no metadata to spare.
 *
 * Context: may sleep.
 * Return: 0, or the writeback error this file has not seen yet (-EIO,
 * -ENOSPC): each open file is told of each error once (errseq).
 */
int vfs_fsync_range(struct file *file, loff_t start, loff_t end, int datasync);
int vfs_fsync(struct file *file, int datasync);

/* sync_file_range flags (Linux's SYNC_FILE_RANGE_*; glibc's fcntl.h has them too) */
#ifndef SYNC_FILE_RANGE_WAIT_BEFORE
#define SYNC_FILE_RANGE_WAIT_BEFORE	1
#define SYNC_FILE_RANGE_WRITE		2
#define SYNC_FILE_RANGE_WAIT_AFTER	4
#endif
/*
 * The kernel function and glibc's system-call wrapper share the name; this
 * one takes a struct file, so the host's declaration is renamed away.
 */
#define sync_file_range pinmm_sync_file_range

/*
 * sync_file_range - start and/or wait for writeback of a byte range, without
 * the error reporting and flushing fsync promises. Return 0 or -EINVAL/-ESPIPE.
 */
int sync_file_range(struct file *file, loff_t offset, loff_t nbytes, unsigned int flags);

/**
 * do_ftruncate - ftruncate(2): set the size of @file.
 * @small: accepted for Linux's signature (large-file checks); unused.
 *
 * Shrinking zaps every mapping of the cut-off part and drops its page cache;
 * a folio still pinned stays valid for the pin holder until unpinned (it is
 * only taken out of the cache). Growing leaves a hole that reads as zeroes.
 * Context: may sleep.
 * Return: 0; -EINVAL (negative length, not a regular file, or not open for
 * writing, as Linux's ftruncate answers), -EPERM (sealed), -EFBIG.
 */
int do_ftruncate(struct file *file, loff_t length, int small);
/* vfs_truncate - truncate(2) by name in the machine's file directory. */
int vfs_truncate(const char *path, loff_t length);

/**
 * do_msync - msync(2) on current->mm: MS_SYNC writes back and waits for the
 * file ranges behind the shared file mappings of [@start, @start + @len).
 * Return: 0, -EINVAL (unaligned start, bad flags, MS_SYNC|MS_ASYNC),
 * -ENOMEM (part of the range unmapped), -EBUSY (MS_INVALIDATE on mlocked
 * memory), or the writeback error fsync reports.
 */
int do_msync(unsigned long start, size_t len, int flags);

/* fallocate modes */
#define FALLOC_FL_KEEP_SIZE	0x01
#define FALLOC_FL_PUNCH_HOLE	0x02

/**
 * vfs_fallocate - allocate or punch a hole in [@offset, @offset + @len).
 * @mode: 0 (allocate, may grow the file), FALLOC_FL_KEEP_SIZE, or
 *        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE (the only punch Linux allows).
 *
 * Punching zaps the range in every mapping and frees its page cache and
 * blocks; the range reads as zeroes after.
 * Return: 0 or -EINVAL, -EBADF, -EPERM (sealed), -EOPNOTSUPP, -ENOSPC.
 */
int vfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len);

/**
 * filemap_write_and_wait_range - write back the dirty folios of
 * [@lstart, @lend] and wait for all writeback there.
 * Return: 0 or the first error met (also recorded for fsync).
 */
int filemap_write_and_wait_range(struct address_space *mapping, loff_t lstart, loff_t lend);

/*
 * pinmm_drop_caches - /proc/sys/vm/drop_caches = 1: write nothing, evict every
 * clean, unmapped, unpinned page-cache folio of every file. Return folios freed.
 */
unsigned long pinmm_drop_caches(void);

/**
 * pinmm_reclaim_page_cache - reclaim clean disk page cache, as kswapd would.
 * @nr_to_reclaim: pages wanted.
 * @may_unmap: also take mapped folios (unmapping them from every process).
 *
 * Dirty folios and folios under writeback stay (the flusher cleans them);
 * maybe-pinned folios stay untouched (pinmm's rule; Linux would release
 * their buffers); a folio someone else holds loses its block map (Linux's
 * order) but stays in the cache. shmem is not reclaimed (only anon memory is swapped).
 * Context: may sleep (with @may_unmap). Return: pages reclaimed.
 */
unsigned long pinmm_reclaim_page_cache(unsigned long nr_to_reclaim, bool may_unmap);

/* The machine's file directory (absolute), or NULL before boot. */
const char *pinmm_file_dir(void);

/* ---- filesystem DAX on pmem ------------------------------------------------ */

/**
 * dax_file_create - an unlinked DAX file of @size bytes on the machine's
 * pmem: zeroed pmem pages, one file reference each, no page cache.
 * @pages, @npages: its blocks, for a driver to look at (valid while open).
 * Return: the file (fput() it), or ERR_PTR(-EINVAL) (no pmem, or @size 0),
 * ERR_PTR(-ENOSPC), ERR_PTR(-ENOMEM).
 */
struct file *dax_file_create(size_t size, struct page ***pages, unsigned long *npages);
/* pmem pages allocated now (files, plus pages kept alive by mappings or pins). */
unsigned long dax_pages_in_use(void);

/* ---- diskfs's own counters and checks (machine controls) ------------------ */

/* Dirty folios writeback found without a block map (their data was dropped). */
unsigned long diskfs_dirty_without_blocks(void);
/* Blocks that failed their checksum on a read. */
unsigned long diskfs_csum_failures(void);
/**
 * pinmm_diskfs_verify - check every block of @file on the disk against its
 * checksum, bypassing the page cache (an fsck of the data).
 * @checked: blocks that carry a checksum; @bad: of those, how many fail.
 * @first_bad: the first failing block (or -1).
 * Return: 0, or -EINVAL if @file is not a diskfs file.
 */
int pinmm_diskfs_verify(struct file *file, unsigned long *checked, unsigned long *bad,
			long *first_bad);

#endif /* PINMM_FS_H */
