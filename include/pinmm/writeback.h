/* SPDX-License-Identifier: MIT */
/*
 * Dirty page-cache folios and their writeback (Linux: include/linux/
 * writeback.h, backing-dev-defs.h; the code is in src/fs/page-writeback.c
 * and src/fs/fs-writeback.c).
 *
 * A folio of a file system that can write back (mapping_can_writeback())
 * is dirtied through its mapping's ->dirty_folio: PG_dirty, the
 * PAGECACHE_TAG_DIRTY mark, nr_dirty, and the inode on its device's dirty
 * list. Writeback cleans it in this order, as Linux does:
 *
 *   folio_lock -> folio_clear_dirty_for_io() (folio_mkclean(): every PTE
 *   write-protected and its dirty bit moved to the folio) ->
 *   folio_start_writeback() -> unlock -> the I/O -> folio_end_writeback().
 *
 * A CPU store after folio_mkclean() faults, reaching ->page_mkwrite, which
 * dirties the folio again (and, for stable-writes mappings, first waits for
 * the writeback to end). A device holding a pin does not fault: that is the
 * hazard FOLL_PIN was introduced to expose (docs/files.md).
 */
#ifndef PINMM_WRITEBACK_H
#define PINMM_WRITEBACK_H

#include <pinmm/fs.h>
#include <pinmm/pagevec.h>

#include <pthread.h>

enum writeback_sync_modes {
	WB_SYNC_NONE,	/* do what can be done without waiting (background) */
	WB_SYNC_ALL,	/* every folio dirty when the pass began: fsync */
};

struct writeback_control {
	long nr_to_write;		/* folios still to write; decremented */
	long pages_skipped;		/* folios left dirty (busy, pinned and redirtied) */
	loff_t range_start;		/* bytes, inclusive */
	loff_t range_end;
	enum writeback_sync_modes sync_mode;
	bool for_background;		/* the flusher, above the background threshold */
	bool for_kupdate;		/* the flusher, for expired inodes */
	bool for_reclaim;
	/* writeback_iter()'s state */
	struct folio_batch fbatch;
	pgoff_t index;
	int saved_err;
};

/* ---- the backing device and its flusher ---------------------------------- */

#define BDI_CAP_WRITEBACK	0x1u	/* dirty folios are written to storage */

struct bdi_writeback {
	spinlock_t list_lock;		/* (w) b_dirty, inode->i_state/i_io_list */
	struct list_head b_dirty;	/* inodes with dirty folios, oldest first */
	pthread_t flusher;		/* the "kworker/flush" thread */
	bool flusher_running;		/* (w) */
	bool stop;			/* (w) shutdown asked */
	atomic_int work_pending;	/* (a) wakeups not yet served */
	atomic_ulong passes;		/* (a) flusher passes, for tests */
	void *flusher_wait;		/* the variable the flusher sleeps on */
};

struct backing_dev_info {
	const char *name;
	unsigned int capabilities;	/* BDI_CAP_* */
	struct bdi_writeback wb;
};

/* mapping_can_writeback - does this cache have storage to write dirty folios to? */
static inline bool mapping_can_writeback(const struct address_space *mapping)
{
	const struct super_block *sb = mapping->host->i_sb;

	return sb->s_bdi && (sb->s_bdi->capabilities & BDI_CAP_WRITEBACK);
}

/* ---- dirtying ------------------------------------------------------------- */

/**
 * filemap_dirty_folio - the generic ->dirty_folio of a writeback-capable fs.
 * @mapping: the folio's mapping.
 * @folio: the folio; locked, or mapped by a PTE whose lock the caller holds.
 *
 * Sets PG_dirty; if this dirtied it, tags it PAGECACHE_TAG_DIRTY, counts it
 * in nr_dirty and puts the inode on its device's dirty list.
 * Context: any; takes the xa_lock (rank 65) and the bdi list lock.
 * Return: true if the folio was clean before.
 */
bool filemap_dirty_folio(struct address_space *mapping, struct folio *folio);
/* noop_dirty_folio - for caches without writeback (shmem): PG_dirty only. */
bool noop_dirty_folio(struct address_space *mapping, struct folio *folio);

/**
 * folio_clear_dirty_for_io - writeback takes the dirty state of a locked folio.
 *
 * Write-protects every mapping of it (folio_mkclean()) first, so the next
 * CPU store faults and dirties it again, then clears PG_dirty.
 * Context: folio locked; may sleep (rmap walk).
 * Return: true if it was dirty (the caller writes it).
 */
bool folio_clear_dirty_for_io(struct folio *folio);

/* Set PG_writeback and its tag; the folio is locked and was just cleaned. */
void folio_start_writeback(struct folio *folio);
/* The I/O of a folio ended: clear PG_writeback and its tag, wake waiters. */
void folio_end_writeback(struct folio *folio);
/* Writeback skipped a folio it had cleaned: make it dirty again. */
bool folio_redirty_for_writepage(struct writeback_control *wbc, struct folio *folio);

/**
 * writeback_iter - hand out the dirty folios of @wbc's range one by one.
 * @mapping: the cache.
 * @wbc: what to write; for WB_SYNC_ALL, folios dirtied during the pass are
 *       left for the next one (the TOWRITE tag), so fsync terminates.
 * @folio: NULL on the first call, then the folio just handled.
 * @error: in: the result of handling @folio; out: the pass's result.
 *
 * Each folio returned is locked, was dirty, and is no longer: its
 * folio_clear_dirty_for_io() was done. The caller starts writeback and
 * unlocks it (or redirties it).
 * Return: the next folio, or NULL when done (*@error holds the result).
 */
struct folio *writeback_iter(struct address_space *mapping, struct writeback_control *wbc,
			     struct folio *folio, int *error);

/* do_writepages - ->writepages(), or nothing for a cache without writeback. */
int do_writepages(struct address_space *mapping, struct writeback_control *wbc);

/**
 * balance_dirty_pages_ratelimited - a writer just dirtied folios of @mapping.
 *
 * Over the background threshold, wake the flusher; over the dirty limit,
 * write back this mapping's dirty folios before returning (Linux throttles
 * the writer by sleeping while the flusher works; the effect on the dirty
 * count is the same).
 * Context: may sleep; no locks held.
 */
void balance_dirty_pages_ratelimited(struct address_space *mapping);

/* Wake the flusher: write back everything that is dirty (sync, memory pressure). */
void wakeup_flusher_threads(void);

/*
 * pinmm_writeback_flush - write back every dirty inode now and wait (sync(2)).
 * Return: the first error met.
 */
int pinmm_writeback_flush(void);

/* ---- tunables (/proc/sys/vm) ---------------------------------------------- */

struct pinmm_dirty_limits {
	unsigned int dirty_background_ratio;	/* % of memory: the flusher starts */
	unsigned int dirty_ratio;		/* %: writers write back themselves */
	unsigned int dirty_expire_centisecs;	/* older dirty inodes are written */
	unsigned int dirty_writeback_centisecs;	/* the flusher's period; 0: only on demand */
};

/*
 * global_dirty_limits - the thresholds now, in pages: a share of the memory
 * writeback could make free (free pages + page cache - shmem).
 */
void global_dirty_limits(unsigned long *background, unsigned long *dirty);

/* Read/replace the limits (Linux's defaults: 10, 20, 3000, 500). */
void pinmm_get_dirty_limits(struct pinmm_dirty_limits *out);
void pinmm_set_dirty_limits(const struct pinmm_dirty_limits *in);

/* ---- writeback of pinned folios: the policy ------------------------------- */

/*
 * What writeback does with a folio that folio_maybe_dma_pinned() reports.
 *
 *   PINMM_WB_PIN_LINUX   as Linux today: write it from the folio while the
 *                        device may be writing to it; the block on disk can
 *                        be torn (its checksum, taken when the I/O was
 *                        submitted, does not match the bytes that landed).
 *   PINMM_WB_PIN_STABLE  beyond Linux (Documentation/core-api/pin_user_pages.rst
 *                        still lists it as open): write a bounce copy, so the
 *                        block is a consistent snapshot, and leave the folio
 *                        dirty, so the device's later bytes go out next pass.
 *
 * Folios that are not pinned behave the same under both: a CPU store waits
 * for writeback (stable pages) on mappings that ask for it.
 */
enum pinmm_wb_pin_policy {
	PINMM_WB_PIN_LINUX,
	PINMM_WB_PIN_STABLE,
};

/* Set the policy (machine-wide); return the old one. Default: LINUX. */
enum pinmm_wb_pin_policy pinmm_set_wb_pin_policy(enum pinmm_wb_pin_policy policy);
enum pinmm_wb_pin_policy pinmm_get_wb_pin_policy(void);

#endif /* PINMM_WRITEBACK_H */
