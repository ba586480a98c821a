// SPDX-License-Identifier: MIT
/*
 * Dirty accounting, the dirty thresholds, and the folio side of writeback
 * (Linux: mm/page-writeback.c, and folio_end_writeback() of mm/filemap.c).
 * The order of a folio's writeback is in include/pinmm/writeback.h.
 *
 * Counters, as Linux keeps them: nr_dirty counts PG_dirty folios of
 * writeback-capable caches (shmem's never are), nr_writeback those under
 * I/O, nr_zone_write_pending both; nr_dirtied/nr_written only grow.
 */
#include "internal.h"

#include <pinmm/sched.h>

#include <pinmm/rmap.h>
#include <unistd.h>

/* ---- tunables ------------------------------------------------------------------ */

static struct pinmm_dirty_limits dirty_limits;
static spinlock_t dirty_limits_lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF);
static _Atomic int wb_pin_policy = PINMM_WB_PIN_LINUX;

void writeback_reset(void)
{
	const struct pinmm_dirty_limits def = {
		.dirty_background_ratio = 10,
		.dirty_ratio = 20,
		.dirty_expire_centisecs = 3000,
		.dirty_writeback_centisecs = 500,
	};

	pinmm_set_dirty_limits(&def);
	atomic_store(&wb_pin_policy, PINMM_WB_PIN_LINUX);
}

void pinmm_get_dirty_limits(struct pinmm_dirty_limits *out)
{
	spin_lock(&dirty_limits_lock);
	*out = dirty_limits;
	spin_unlock(&dirty_limits_lock);
}

void pinmm_set_dirty_limits(const struct pinmm_dirty_limits *in)
{
	spin_lock(&dirty_limits_lock);
	dirty_limits = *in;
	if (dirty_limits.dirty_ratio > 100)
		dirty_limits.dirty_ratio = 100;
	if (dirty_limits.dirty_background_ratio >= dirty_limits.dirty_ratio)
		dirty_limits.dirty_background_ratio = dirty_limits.dirty_ratio / 2;
	spin_unlock(&dirty_limits_lock);
	/* the flusher's period or the thresholds may have changed */
	wakeup_flusher_threads();
}

enum pinmm_wb_pin_policy pinmm_set_wb_pin_policy(enum pinmm_wb_pin_policy policy)
{
	return (enum pinmm_wb_pin_policy)atomic_exchange(&wb_pin_policy, (int)policy);
}

enum pinmm_wb_pin_policy pinmm_get_wb_pin_policy(void)
{
	return (enum pinmm_wb_pin_policy)atomic_load_explicit(&wb_pin_policy,
							      memory_order_relaxed);
}

/*
 * What the thresholds are a percentage of: free memory plus the page cache
 * that writeback could make reclaimable (Linux's global_dirtyable_memory()).
 */
static unsigned long global_dirtyable_memory(void)
{
	long pages = global_zone_page_state(NR_FREE_PAGES) +
		     global_node_page_state(NR_FILE_PAGES) - global_node_page_state(NR_SHMEM);

	return pages > 0 ? (unsigned long)pages : 1;
}

void global_dirty_limits(unsigned long *background, unsigned long *dirty)
{
	unsigned long avail = global_dirtyable_memory();
	struct pinmm_dirty_limits l;

	pinmm_get_dirty_limits(&l);
	*dirty = max(avail * l.dirty_ratio / 100, 1UL);
	*background = max(avail * l.dirty_background_ratio / 100, 1UL);
}

/* ---- dirtying ------------------------------------------------------------------ */

static void folio_account_dirtied(struct folio *folio)
{
	long nr = (long)folio_nr_pages(folio);

	mod_node_page_state(NR_FILE_DIRTY, nr);
	mod_zone_page_state(folio_zone(folio), NR_ZONE_WRITE_PENDING, nr);
	mod_node_page_state(NR_DIRTIED, nr);
}

void folio_account_cleaned(struct folio *folio)
{
	long nr = (long)folio_nr_pages(folio);

	mod_node_page_state(NR_FILE_DIRTY, -nr);
	mod_zone_page_state(folio_zone(folio), NR_ZONE_WRITE_PENDING, -nr);
}

bool noop_dirty_folio(struct address_space *mapping, struct folio *folio)
{
	(void)mapping;
	return !folio_test_set_dirty(folio);
}

bool filemap_dirty_folio(struct address_space *mapping, struct folio *folio)
{
	bool accounted = false;

	if (folio_test_set_dirty(folio))
		return false;
	xa_lock(&mapping->i_pages);
	/* truncation takes the folio out under this lock: count only if still here */
	if (folio_mapping(folio) == mapping) {
		folio_account_dirtied(folio);
		__xa_set_mark(&mapping->i_pages, folio->index, PAGECACHE_TAG_DIRTY);
		accounted = true;
	}
	xa_unlock(&mapping->i_pages);
	if (accounted)
		__mark_inode_dirty(mapping->host, I_DIRTY_PAGES);
	return true;
}

void folio_cancel_dirty(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (!folio_test_clear_dirty(folio))
		return;
	if (mapping && mapping_can_writeback(mapping)) {
		folio_account_cleaned(folio);
		xa_lock(&mapping->i_pages);
		__xa_clear_mark(&mapping->i_pages, folio->index, PAGECACHE_TAG_DIRTY);
		xa_unlock(&mapping->i_pages);
	}
}

bool folio_clear_dirty_for_io(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (!mapping || !mapping_can_writeback(mapping))
		return folio_test_clear_dirty(folio);
	/*
	 * Write-protect every mapping before clearing PG_dirty: a store
	 * between the two would otherwise dirty a PTE of a folio we then call
	 * clean. A PTE that was dirty hands its dirt to the folio first.
	 */
	if (folio_mkclean(folio))
		folio_mark_dirty(folio);
	if (!folio_test_clear_dirty(folio))
		return false;
	folio_account_cleaned(folio);
	return true;
}

bool folio_redirty_for_writepage(struct writeback_control *wbc, struct folio *folio)
{
	wbc->pages_skipped += (long)folio_nr_pages(folio);
	return folio_mark_dirty(folio);
}

/* ---- writeback state --------------------------------------------------------------- */

void folio_start_writeback(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);
	long nr = (long)folio_nr_pages(folio);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	xa_lock(&mapping->i_pages);
	VM_BUG_ON_FOLIO(folio_test_set_writeback(folio), folio);
	__xa_set_mark(&mapping->i_pages, folio->index, PAGECACHE_TAG_WRITEBACK);
	/* dirty again already (a pinned folio under the stable policy): keep the tag */
	if (!folio_test_dirty(folio))
		__xa_clear_mark(&mapping->i_pages, folio->index, PAGECACHE_TAG_DIRTY);
	/* an fsync pass has handled it: folios dirtied from now on are the next pass's */
	__xa_clear_mark(&mapping->i_pages, folio->index, PAGECACHE_TAG_TOWRITE);
	xa_unlock(&mapping->i_pages);
	mod_node_page_state(NR_WRITEBACK, nr);
	mod_zone_page_state(folio_zone(folio), NR_ZONE_WRITE_PENDING, nr);
}

void folio_end_writeback(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);
	long nr = (long)folio_nr_pages(folio);

	/* the waker may be the last to hold it (truncation waits, then frees) */
	folio_get(folio);
	/*
	 * Counted before the bit clears: whoever sees the writeback over
	 * (fsync's wait, a test of the bit) sees the counters say so too.
	 */
	mod_node_page_state(NR_WRITEBACK, -nr);
	mod_zone_page_state(folio_zone(folio), NR_ZONE_WRITE_PENDING, -nr);
	mod_node_page_state(NR_WRITTEN, nr);
	if (mapping)
		xa_lock(&mapping->i_pages);
	if (mapping)
		__xa_clear_mark(&mapping->i_pages, folio->index, PAGECACHE_TAG_WRITEBACK);
	/* the bit and the tag change together: a new writeback cannot slip in between */
	folio_end_writeback_wake(folio);
	if (mapping)
		xa_unlock(&mapping->i_pages);
	folio_put(folio);
}

/* ---- the writeback loop ---------------------------------------------------------------- */

static pgoff_t wbc_end(const struct writeback_control *wbc)
{
	if (wbc->range_end < 0 || (unsigned long long)wbc->range_end >= (ULLONG_MAX >> 1))
		return ~0UL;
	return (pgoff_t)(wbc->range_end >> PAGE_SHIFT);
}

/*
 * An fsync pass writes what was dirty when it began: tag those folios
 * TOWRITE and walk that tag, so a writer dirtying folios behind the pass
 * cannot keep it going forever (Linux's livelock avoidance).
 */
static void tag_pages_for_writeback(struct address_space *mapping, pgoff_t start, pgoff_t end)
{
	unsigned long index = start;

	xa_lock(&mapping->i_pages);
	while (index <= end) {
		unsigned long at = index;

		if (!xa_find(&mapping->i_pages, &at, end, PAGECACHE_TAG_DIRTY))
			break;
		__xa_set_mark(&mapping->i_pages, at, PAGECACHE_TAG_TOWRITE);
		if (at == ~0UL)
			break;
		index = at + 1;
	}
	xa_unlock(&mapping->i_pages);
}

/* May writeback take @folio (locked) now? Cleans it if so. */
static bool folio_prepare_writeback(struct address_space *mapping,
				    struct writeback_control *wbc, struct folio *folio)
{
	if (unlikely(folio_mapping(folio) != mapping))
		return false;	/* truncated */
	if (!folio_test_dirty(folio))
		return false;	/* someone else wrote it */
	if (folio_test_writeback(folio)) {
		if (wbc->sync_mode == WB_SYNC_NONE)
			return false;
		folio_wait_writeback(folio);
	}
	return folio_clear_dirty_for_io(folio);
}

static struct folio *writeback_get_folio(struct address_space *mapping,
					 struct writeback_control *wbc)
{
	xa_mark_t tag = wbc->sync_mode == WB_SYNC_ALL ? PAGECACHE_TAG_TOWRITE :
			PAGECACHE_TAG_DIRTY;
	struct folio *folio;

	for (;;) {
		folio = folio_batch_next(&wbc->fbatch);
		if (!folio) {
			folio_batch_release(&wbc->fbatch);
			cond_resched();
			if (wbc->index > wbc_end(wbc))
				return NULL;
			filemap_get_folios_tag(mapping, &wbc->index, wbc_end(wbc), tag,
					       &wbc->fbatch);
			folio = folio_batch_next(&wbc->fbatch);
			if (!folio)
				return NULL;
		}
		folio_lock(folio);
		if (likely(folio_prepare_writeback(mapping, wbc, folio)))
			return folio;
		folio_unlock(folio);
	}
}

struct folio *writeback_iter(struct address_space *mapping, struct writeback_control *wbc,
			     struct folio *folio, int *error)
{
	if (!folio) {
		folio_batch_init(&wbc->fbatch);
		wbc->saved_err = *error = 0;
		wbc->index = (pgoff_t)(wbc->range_start >> PAGE_SHIFT);
		if (wbc->sync_mode == WB_SYNC_ALL)
			tag_pages_for_writeback(mapping, wbc->index, wbc_end(wbc));
	} else {
		wbc->nr_to_write -= (long)folio_nr_pages(folio);
		/*
		 * An error stops background writeback; fsync goes on (every
		 * folio it can write reaches the disk) and reports the first.
		 */
		if (*error && !wbc->saved_err)
			wbc->saved_err = *error;
		if (wbc->sync_mode == WB_SYNC_NONE && (*error || wbc->nr_to_write <= 0))
			goto done;
	}
	folio = writeback_get_folio(mapping, wbc);
	if (folio)
		return folio;
done:
	folio_batch_release(&wbc->fbatch);
	*error = wbc->saved_err;
	return NULL;
}

int do_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	int ret;

	if (wbc->nr_to_write <= 0)
		return 0;
	if (!mapping->a_ops->writepages || !mapping_can_writeback(mapping))
		return 0;
	for (;;) {
		ret = mapping->a_ops->writepages(mapping, wbc);
		/*
		 * Out of memory for the I/O: an fsync must not give up, nor
		 * spin; give reclaim and the disk a moment (reclaim_throttle()).
		 */
		if (ret != -ENOMEM || wbc->sync_mode != WB_SYNC_ALL)
			return ret;
		usleep(1000);
	}
}

/* ---- throttling writers ------------------------------------------------------------------ */

void balance_dirty_pages_ratelimited(struct address_space *mapping)
{
	unsigned long background, limit, dirty;

	if (!mapping_can_writeback(mapping))
		return;
	global_dirty_limits(&background, &limit);
	dirty = (unsigned long)max(0L, global_node_page_state(NR_FILE_DIRTY));
	if (dirty <= background)
		return;
	wakeup_flusher_threads();
	if (dirty > limit) {
		/*
		 * Over the hard limit: the writer pays. Linux sleeps until the
		 * flusher has brought the count down; writing this mapping's
		 * folios here has the same effect on the count, and needs no
		 * timer to be fair to it.
		 */
		struct writeback_control wbc = {
			.sync_mode = WB_SYNC_NONE,
			.nr_to_write = (long)(dirty - limit) + 32,
			.range_start = 0,
			.range_end = LLONG_MAX,
		};

		do_writepages(mapping, &wbc);
	}
}
