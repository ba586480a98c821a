// SPDX-License-Identifier: MIT
/*
 * Reclaim of clean page cache (Linux: the file-folio part of mm/vmscan.c
 * shrink_folio_list(), __remove_mapping()).
 *
 * pinmm has no LRU lists, so reclaim walks the disk file system's inodes and
 * their caches. For each clean folio, in Linux's order: unmap it from every
 * process (try_to_unmap), let the file system release its private state
 * (->release_folio: the block map), then take it out of the cache if the
 * cache and we are the only holders (the refcount freeze of
 * __remove_mapping()). shmem is never reclaimed: without swap its cache is
 * its only copy.
 *
 * Pins: Linux's reclaim has no pin check for file folios. A folio that a
 * device holds through FOLL_GET is unmapped and loses its buffers here,
 * then fails to be freed (the extra reference) and stays in the cache with
 * no blocks — the 2018 ext4 failure once the device's set_page_dirty()
 * comes. pinmm's reclaim skips folios that folio_maybe_dma_pinned() reports,
 * before touching them, which is the decision FOLL_PIN exists to allow: a
 * pinned folio keeps its mappings and its blocks. A FOLL_GET reference
 * cannot be told apart from any other, so that case still fails, as it did.
 */
#include "internal.h"

#include <pinmm/bio.h>
#include <pinmm/memory.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <unistd.h>

bool __remove_mapping(struct address_space *mapping, struct folio *folio)
{
	int refs = 1 + (int)folio_nr_pages(folio);

	xa_lock(&mapping->i_pages);
	/*
	 * Freeze, not just look: a lookup, a GUP-fast grab or a pin racing
	 * us fails on the frozen count (and retries) instead of taking a
	 * folio that is leaving. An extra holder makes the freeze fail.
	 */
	if (!folio_ref_freeze(folio, refs)) {
		xa_unlock(&mapping->i_pages);
		return false;
	}
	if (folio_test_dirty(folio)) {
		folio_ref_unfreeze(folio, refs);
		xa_unlock(&mapping->i_pages);
		return false;
	}
	__filemap_remove_folio(folio, NULL);
	xa_unlock(&mapping->i_pages);
	/* the cache's references are dropped by unfreezing at the caller's one */
	folio_ref_unfreeze(folio, 1);
	return true;
}

/* Reclaim one locked, referenced folio of @mapping. True if it left the cache. */
static bool reclaim_folio(struct address_space *mapping, struct folio *folio, bool may_unmap)
{
	if (folio_test_dirty(folio) || folio_test_writeback(folio))
		return false;	/* the flusher's to clean first */
	if (folio_maybe_dma_pinned(folio)) {
		/* a device may be writing it: keep its mappings and its blocks */
		count_vm_event(PINMM_RECLAIM_PINNED_SKIP);
		return false;
	}
	if (folio_mapped(folio)) {
		if (!may_unmap)
			return false;
		unmap_mapping_folio(folio);
		/* a dirty PTE made it dirty, or a racing fault mapped it again */
		if (folio_mapped(folio) || folio_test_dirty(folio))
			return false;
	}
	/* Linux's order: the buffers go before the last check of the refcount */
	if (folio_test_private(folio) &&
	    (!mapping->a_ops->release_folio || !mapping->a_ops->release_folio(folio, 0)))
		return false;
	return __remove_mapping(mapping, folio);
}

static unsigned long reclaim_mapping(struct address_space *mapping, unsigned long nr_to_reclaim,
				     bool may_unmap)
{
	struct folio_batch fbatch;
	unsigned long reclaimed = 0;
	pgoff_t index = 0;

	folio_batch_init(&fbatch);
	while (reclaimed < nr_to_reclaim &&
	       filemap_get_folios(mapping, &index, ~0UL, &fbatch)) {
		for (unsigned int i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			count_vm_events(PGSCAN_FILE, (long)folio_nr_pages(folio));
			/* never wait here: the allocator may be calling us with locks held */
			if (!folio_trylock(folio))
				continue;
			if (folio_mapping(folio) == mapping &&
			    reclaim_folio(mapping, folio, may_unmap)) {
				reclaimed += folio_nr_pages(folio);
				count_vm_events(PGSTEAL_FILE, (long)folio_nr_pages(folio));
			}
			folio_unlock(folio);
		}
		folio_batch_release(&fbatch);
	}
	return reclaimed;
}

struct reclaim_control {
	unsigned long nr_to_reclaim, reclaimed;
	bool may_unmap;
};

/* One inode (a linked disk file: its iput() never evicts, nothing sleeps). */
static bool reclaim_inode(struct inode *inode, void *arg)
{
	struct reclaim_control *rc = arg;

	rc->reclaimed += reclaim_mapping(inode->i_mapping, rc->nr_to_reclaim - rc->reclaimed,
					 rc->may_unmap);
	return rc->reclaimed >= rc->nr_to_reclaim;
}

unsigned long pinmm_reclaim_page_cache(unsigned long nr_to_reclaim, bool may_unmap)
{
	struct reclaim_control rc = { .nr_to_reclaim = nr_to_reclaim, .may_unmap = may_unmap };

	if (pinmm_diskfs_sb && nr_to_reclaim)
		iterate_cached_inodes(pinmm_diskfs_sb, reclaim_inode, &rc);
	return rc.reclaimed;
}

/*
 * The allocator's direct reclaim (installed at mount): clean, unmapped folios
 * only — its caller may hold page-table locks. With nothing clean but data
 * dirty or under writeback, wake the flusher and wait a little for the disk
 * to make progress, as Linux's reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK)
 * does; bounded, since the caller may hold a folio the flusher wants.
 */
unsigned long diskfs_direct_reclaim(unsigned long nr_pages)
{
	for (int tries = 0; tries < 10; tries++) {
		unsigned long got = pinmm_reclaim_page_cache(nr_pages, false), done0;

		if (got)
			return got;
		if (global_node_page_state(NR_WRITEBACK) <= 0 &&
		    global_node_page_state(NR_FILE_DIRTY) <= 0)
			return 0;
		if (fatal_signal_pending_current())
			return 0;
		wakeup_flusher_threads();
		done0 = pinmm_disk_completed();
		for (int i = 0; i < 10 && pinmm_disk_completed() == done0; i++)
			usleep(1000);
	}
	return 0;
}
