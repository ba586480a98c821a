/* SPDX-License-Identifier: MIT */
/*
 * The folio lock, the folio waits, and the page cache's interface (Linux:
 * include/linux/pagemap.h; the code is in src/mem/folio_wait.c and
 * src/fs/filemap.c, src/fs/truncate.c).
 *
 * The folio lock is a sleeping bit lock, PG_locked, on the head page. Waiters
 * sleep on a hashed wait queue and announce themselves with PG_waiters, so an
 * uncontended unlock is one atomic operation.
 */
#ifndef PINMM_PAGEMAP_H
#define PINMM_PAGEMAP_H

#include <pinmm/mm.h>

void __folio_lock(struct folio *folio, const char *file, int line);
int __must_check __folio_lock_killable(struct folio *folio, const char *file, int line);
bool __folio_trylock(struct folio *folio, const char *file, int line);

/**
 * folio_lock - lock a folio, sleeping until it is free.
 * Context: may sleep; the caller holds a reference on the folio.
 */
#define folio_lock(f)		__folio_lock(f, __FILE__, __LINE__)
/* folio_lock_killable - as folio_lock(); -EINTR on a fatal signal, else 0. */
#define folio_lock_killable(f)	__folio_lock_killable(f, __FILE__, __LINE__)
/* folio_trylock - take the lock if free; true on success. Never sleeps. */
#define folio_trylock(f)	__folio_trylock(f, __FILE__, __LINE__)

/* folio_unlock - release the folio lock and wake whoever waits for it. */
void folio_unlock(struct folio *folio);

/* Sleep until the folio is unlocked (without taking the lock). */
void folio_wait_locked(struct folio *folio);

/* Sleep until writeback on the folio has ended. */
void folio_wait_writeback(struct folio *folio);
/* Clear PG_writeback and wake writeback waiters. */
void folio_end_writeback_wake(struct folio *folio);

static inline void lock_page(struct page *page)
{
	folio_lock(page_folio(page));
}

static inline void unlock_page(struct page *page)
{
	folio_unlock(page_folio(page));
}

/* ===========================================================================
 * The page cache (src/fs/filemap.c, src/fs/truncate.c)
 * ===========================================================================
 */
#include <pinmm/fs.h>

struct folio_batch;

/* The xarray marks of i_pages, as Linux names them. */
#define PAGECACHE_TAG_DIRTY	XA_MARK_0	/* PG_dirty folios */
#define PAGECACHE_TAG_WRITEBACK	XA_MARK_1	/* PG_writeback folios */
#define PAGECACHE_TAG_TOWRITE	XA_MARK_2	/* dirty when a sync pass began */

/*
 * folio_mapping - the address space of a page-cache folio; NULL for anon
 * folios, free or truncated ones. A snapshot unless the folio is locked.
 */
static inline struct address_space *folio_mapping(const struct folio *folio)
{
	unsigned long m = (unsigned long)atomic_load_explicit(
		&((struct folio *)folio)->mapping, memory_order_acquire);

	return (m & PAGE_MAPPING_FLAGS) ? NULL : (struct address_space *)m;
}

/*
 * Private data of a page-cache folio (buffer_heads in Linux; diskfs's block
 * map here), kept under the folio lock. Attaching takes a folio reference,
 * so the expected refcount of a cache folio is 1 + nr_pages + PG_private.
 */
static inline void *folio_get_private(const struct folio *folio)
{
	return folio->private;
}

static inline void folio_attach_private(struct folio *folio, void *data)
{
	folio_get(folio);
	folio->private = data;
	folio_set_private(folio);
}

static inline void *folio_detach_private(struct folio *folio)
{
	void *data = folio->private;

	if (!folio_test_private(folio))
		return NULL;
	folio_clear_private(folio);
	folio->private = NULL;
	folio_put(folio);
	return data;
}

/* folio_pos - the byte offset of a page-cache folio in its file. */
static inline loff_t folio_pos(const struct folio *folio)
{
	return (loff_t)folio->index << PAGE_SHIFT;
}

static inline pgoff_t folio_next_index(const struct folio *folio)
{
	return folio->index + folio_nr_pages(folio);
}

static inline bool folio_contains(const struct folio *folio, pgoff_t index)
{
	return index - folio->index < folio_nr_pages(folio);
}

/* folio_file_page - the page of @folio that holds file index @index. */
static inline struct page *folio_file_page(struct folio *folio, pgoff_t index)
{
	return folio_page(folio, index & (folio_nr_pages(folio) - 1));
}

static inline gfp_t mapping_gfp_mask(const struct address_space *mapping)
{
	return mapping->gfp_mask;
}

/* __filemap_get_folio() flags (Linux's FGP_*) */
typedef unsigned int fgf_t;
#define FGP_ACCESSED	0x0001u	/* mark the folio accessed */
#define FGP_LOCK	0x0002u	/* return it locked */
#define FGP_CREAT	0x0004u	/* allocate and insert one if absent */
#define FGP_WRITE	0x0008u	/* the caller will write to it */
#define FGP_NOWAIT	0x0010u	/* do not sleep on the folio lock */
#define FGP_STABLE	0x0020u	/* wait for writeback if the mapping wants stable writes */
#define FGP_ORDER_SHIFT	26	/* the order FGP_CREAT may allocate, in the top bits */
#define FGP_WRITEBEGIN	(FGP_LOCK | FGP_WRITE | FGP_CREAT | FGP_STABLE)

/* fgf_set_order - let FGP_CREAT allocate a folio of up to @size bytes. */
static inline fgf_t fgf_set_order(size_t size)
{
	unsigned int order = 0;

	while (order < HPAGE_PMD_ORDER && (PAGE_SIZE << (order + 1)) <= size)
		order++;
	return (fgf_t)order << FGP_ORDER_SHIFT;
}

/**
 * __filemap_get_folio - find (and maybe create) the folio at @index.
 * @mapping: the page cache.
 * @index: file offset in pages.
 * @fgp_flags: FGP_*.
 * @gfp: for FGP_CREAT allocations.
 *
 * The lookup is lockless: folio_try_get() under RCU, then a recheck that the
 * folio is still at @index (truncation may remove it between the two). With
 * FGP_LOCK the folio comes back locked and still in @mapping. A folio made
 * by FGP_CREAT is locked, !uptodate and on the LRU; large ones only where
 * the mapping supports them, aligned, inside the order fgf_set_order() gave.
 * Context: may sleep (FGP_LOCK without FGP_NOWAIT, FGP_STABLE).
 * Return: a referenced folio (the caller folio_put()s it) or
 * ERR_PTR(-ENOENT) (absent, or FGP_NOWAIT would wait), ERR_PTR(-ENOMEM).
 */
struct folio *__filemap_get_folio(struct address_space *mapping, pgoff_t index,
				  fgf_t fgp_flags, gfp_t gfp);

static inline struct folio *filemap_get_folio(struct address_space *mapping, pgoff_t index)
{
	return __filemap_get_folio(mapping, index, 0, 0);
}

static inline struct folio *filemap_lock_folio(struct address_space *mapping, pgoff_t index)
{
	return __filemap_get_folio(mapping, index, FGP_LOCK, 0);
}

static inline struct folio *filemap_grab_folio(struct address_space *mapping, pgoff_t index)
{
	return __filemap_get_folio(mapping, index, FGP_LOCK | FGP_ACCESSED | FGP_CREAT,
				   mapping_gfp_mask(mapping));
}

/**
 * filemap_add_folio - insert a locked, new folio into the page cache.
 * @folio: locked, not in any mapping; its refcount is the caller's.
 * @index: where; aligned to the folio's size.
 *
 * The cache takes folio_nr_pages() references of its own; the folio goes on
 * the LRU (migration may find it) and into nr_file_pages (and nr_shmem).
 * Return: 0; -EEXIST if any slot of the range is taken (nothing changed);
 * -ENOMEM.
 */
int filemap_add_folio(struct address_space *mapping, struct folio *folio, pgoff_t index,
		      gfp_t gfp);

/*
 * filemap_remove_folio - take a locked folio out of its page cache and drop
 * the cache's references. Dirty state must have been dealt with
 * (folio_cancel_dirty() or writeback). Mappings must be gone.
 */
void filemap_remove_folio(struct folio *folio);
/* The xa_lock-held part of it; the caller then puts the cache's references. */
void __filemap_remove_folio(struct folio *folio, void *shadow);

/*
 * read_mapping_folio - the uptodate folio at @index, read from storage if
 * needed (->read_folio). Return: referenced, unlocked folio or ERR_PTR(-EIO...).
 */
struct folio *read_mapping_folio(struct address_space *mapping, pgoff_t index,
				 struct file *file);

/**
 * force_page_cache_readahead - read [@index, @index + @nr_to_read) of @file
 * into the page cache, up to the end of the file and at most 2048 pages
 * (8 MiB, Linux's max(bdi->io_pages, ra_pages) as this machine's kernel
 * shows it) from @index (POSIX_FADV_WILLNEED, MADV_WILLNEED). Folios already cached are left as they are; a read or
 * allocation that fails ends it (advice: no error to report). A mapping
 * with no ->read_folio (shmem, hugetlbfs) has nothing to read.
 * Context: may sleep; no mmap_lock (it may take i_rwsem's peers).
 * Return: pages read in.
 */
unsigned long force_page_cache_readahead(struct address_space *mapping, struct file *file,
					 pgoff_t index, unsigned long nr_to_read);

/**
 * filemap_migrate_folio - ->migrate_folio of page-cache files: @dst takes
 * @src's place in the cache (every slot, the cache's references, its
 * mapping and index) and its private data (block map).
 * @src: locked, its refcount frozen at what the cache, the private data and
 * the migrator's isolation account for; @dst: locked, new.
 * Contents and flags are the caller's to copy. Return 0.
 */
int filemap_migrate_folio(struct address_space *mapping, struct folio *dst, struct folio *src,
			  enum migrate_mode mode);

/* Wait for writeback to end, if the mapping needs stable pages (FGP_STABLE). */
void folio_wait_stable(struct folio *folio);

/*
 * filemap_get_folios_tag - up to a batch of referenced folios from *@start
 * to @end whose head carries @tag; *@start moves past the last one.
 */
unsigned int filemap_get_folios_tag(struct address_space *mapping, pgoff_t *start,
				    pgoff_t end, xa_mark_t tag, struct folio_batch *fbatch);
/* The same for every present folio (no tag). */
unsigned int filemap_get_folios(struct address_space *mapping, pgoff_t *start, pgoff_t end,
				struct folio_batch *fbatch);

/* ->fault of page-cache files: find or read the folio, return it locked. */
vm_fault_t filemap_fault(struct vm_fault *vmf);
/**
 * filemap_map_pages - ->map_pages of page-cache files: fault-around.
 * @vmf: the read fault (vmf->pmd set; vmf->prealloc_pte if it was empty).
 * @start_pgoff: first file page of the window.
 * @end_pgoff: last.
 *
 * Maps each page of the window whose PTE is empty and whose folio is cached,
 * uptodate, unlocked (trylock: it never waits) and inside i_size, as a read
 * fault would (set_pte_range(): read-only in private mappings, behind
 * write-notify in shared ones), taking one folio reference per entry. A
 * PMD-sized folio under an empty PMD is mapped by the PMD. Reads nothing.
 * Context: mmap_lock held, rcu_read_lock() held; takes the PTE lock.
 * Return: VM_FAULT_NOPAGE if the faulting page is now mapped, else 0.
 */
vm_fault_t filemap_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff, pgoff_t end_pgoff);
/* ->page_mkwrite for simple file systems: lock, check, dirty, wait stable. */
vm_fault_t filemap_page_mkwrite(struct vm_fault *vmf);

ssize_t filemap_read(struct kiocb *iocb, struct iov_iter *to, ssize_t already_read);
ssize_t generic_file_read_iter(struct kiocb *iocb, struct iov_iter *to);
ssize_t generic_perform_write(struct kiocb *iocb, struct iov_iter *from);
/*
 * generic_write_checks - before a write (i_rwsem held): O_APPEND's position,
 * -EFBIG past s_maxbytes (or the count cut to fit), and the old EOF's tail
 * zeroed when the write leaves a gap. Return: bytes to write, 0, or -errno.
 */
ssize_t generic_write_checks(struct kiocb *iocb, struct iov_iter *from);
ssize_t generic_file_write_iter(struct kiocb *iocb, struct iov_iter *from);
int generic_file_mmap(struct file *file, struct vm_area_struct *vma);

int filemap_fdatawrite_range(struct address_space *mapping, loff_t start, loff_t end);
int filemap_fdatawait_range(struct address_space *mapping, loff_t start, loff_t end);
int filemap_fdatawrite(struct address_space *mapping);
int filemap_write_and_wait(struct address_space *mapping);
/* The writeback error @file has not seen yet (and it is seen now), or 0. */
int file_check_and_advance_wb_err(struct file *file);
int file_write_and_wait_range(struct file *file, loff_t start, loff_t end);
/* A hook fsync implementations share: write, wait, report once per file. */
int generic_file_fsync(struct file *file, loff_t start, loff_t end, int datasync);

/* ---- truncation and invalidation (src/fs/truncate.c) ---------------------- */

/*
 * truncate_inode_pages_range - drop the page cache of bytes [@lstart, @lend]:
 * whole folios leave the cache (waiting for writeback, dirty state
 * cancelled), partial ones have the range zeroed. Mappings of the range
 * must have been zapped (truncate_pagecache() does both). Pinned folios
 * leave the cache like the others; their frames live on until unpinned.
 * Context: may sleep; the caller holds invalidate_lock (or i_rwsem).
 */
void truncate_inode_pages_range(struct address_space *mapping, loff_t lstart, loff_t lend);
void truncate_inode_pages(struct address_space *mapping, loff_t lstart);
/* The inode is going away: everything, including what is under writeback. */
void truncate_inode_pages_final(struct address_space *mapping);
/* Set i_size to @newsize and drop what lies beyond (zap mappings, cache). */
void truncate_setsize(struct inode *inode, loff_t newsize);
/*
 * pagecache_isize_extended - the file is about to grow from @from to @to:
 * zero what the cached folio holding the old EOF has past it (a store
 * through a mapping past EOF is not file data), write-protecting it first.
 * Context: i_rwsem held; the folio at @from must not be locked by the caller.
 */
void pagecache_isize_extended(struct inode *inode, loff_t from, loff_t to);
void truncate_pagecache(struct inode *inode, loff_t newsize);
void truncate_pagecache_range(struct inode *inode, loff_t lstart, loff_t lend);
/*
 * invalidate_mapping_pages - evict the clean, unmapped, unlocked folios of
 * [@start, @end] that nobody else holds (drop_caches). Return how many.
 */
unsigned long invalidate_mapping_pages(struct address_space *mapping, pgoff_t start,
				       pgoff_t end);
/*
 * invalidate_inode_pages2_range - remove every folio of [@start, @end],
 * unmapping it, so the next read comes from storage (after Direct I/O).
 * Return: 0, or -EBUSY if some folio could not go (dirty again, or held).
 */
int invalidate_inode_pages2_range(struct address_space *mapping, pgoff_t start, pgoff_t end);

/* Remove the dirty state of a folio that is leaving the cache unwritten. */
void folio_cancel_dirty(struct folio *folio);

#endif /* PINMM_PAGEMAP_H */
