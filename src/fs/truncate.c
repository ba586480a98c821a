// SPDX-License-Identifier: MIT
/*
 * Taking folios out of the page cache: truncation, hole punching, Direct
 * I/O invalidation and drop_caches (Linux: mm/truncate.c, mm/vmscan.c
 * __remove_mapping()).
 *
 * Two kinds of removal, as in Linux:
 *  - truncation must succeed: the range is gone from the file. Each folio
 *    is locked, waited for (writeback), unmapped, its fs state invalidated,
 *    its dirty state cancelled, and removed — even if someone holds a
 *    reference or a pin. A pin holder keeps a valid frame (the pin is a
 *    reference) that no longer belongs to the file; what it writes there
 *    is lost, as Linux documents.
 *  - invalidation is polite: a folio that is dirty, mapped (drop_caches),
 *    under writeback or held by anyone else stays. The refcount is frozen
 *    at exactly what the cache and the caller account for, so a reference
 *    or pin taken at the same moment makes it fail instead of racing.
 */
#include "internal.h"

#include <pinmm/sched.h>

#include <pinmm/memory.h>
#include <pinmm/rmap.h>
#include <string.h>

/* ---- removal that must succeed ------------------------------------------------- */

/* Drop the whole of a locked @folio from its cache (truncate_inode_folio()). */
static void truncate_inode_folio(struct address_space *mapping, struct folio *folio)
{
	if (folio_mapped(folio))
		unmap_mapping_folio(folio);
	if (folio_test_private(folio) && mapping->a_ops->invalidate_folio)
		mapping->a_ops->invalidate_folio(folio, 0, folio_size(folio));
	/* whatever was dirty in it is not written: the range no longer exists */
	folio_cancel_dirty(folio);
	filemap_remove_folio(folio);
}

/*
 * Zero the part of a locked @folio that lies in [@lstart, @lend]; true if
 * that is the whole folio (the caller then removes it instead).
 */
static bool truncate_inode_partial_folio(struct address_space *mapping, struct folio *folio,
					 loff_t lstart, loff_t lend)
{
	loff_t pos = folio_pos(folio);
	size_t size = folio_size(folio);
	size_t offset = lstart > pos ? (size_t)(lstart - pos) : 0;
	size_t end = lend < pos + (loff_t)size - 1 ? (size_t)(lend - pos + 1) : size;

	if (!offset && end == size)
		return true;
	/* the bytes go in place: mappings of the folio see zeroes, as in Linux */
	memset((char *)folio_address(folio) + offset, 0, end - offset);
	if (folio_test_private(folio) && mapping->a_ops->invalidate_folio)
		mapping->a_ops->invalidate_folio(folio, offset, end - offset);
	return false;
}

void truncate_inode_pages_range(struct address_space *mapping, loff_t lstart, loff_t lend)
{
	pgoff_t index = (pgoff_t)(lstart >> PAGE_SHIFT);
	pgoff_t last = lend < 0 ? ~0UL : (pgoff_t)(lend >> PAGE_SHIFT);
	struct folio_batch fbatch;

	if (lend < 0)
		lend = LLONG_MAX;
	if (!atomic_load(&mapping->nrpages) || lstart > lend)
		return;
	folio_batch_init(&fbatch);
	while (index <= last && filemap_get_folios(mapping, &index, last, &fbatch)) {
		for (unsigned int i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			folio_lock(folio);
			if (folio_mapping(folio) != mapping) {
				folio_unlock(folio);
				continue;	/* someone else took it out */
			}
			folio_wait_writeback(folio);
			if (truncate_inode_partial_folio(mapping, folio, lstart, lend))
				truncate_inode_folio(mapping, folio);
			folio_unlock(folio);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
}

void truncate_inode_pages(struct address_space *mapping, loff_t lstart)
{
	truncate_inode_pages_range(mapping, lstart, -1);
}

void truncate_inode_pages_final(struct address_space *mapping)
{
	truncate_inode_pages_range(mapping, 0, -1);
}

void truncate_pagecache(struct inode *inode, loff_t newsize)
{
	struct address_space *mapping = inode->i_mapping;
	loff_t holebegin = (loff_t)PAGE_ALIGN(newsize);

	/*
	 * Unmap first (private COW copies too: the file ends here), then drop
	 * the cache; a second unmap catches a COW copy made from a folio the
	 * cache was dropping (Linux does the same dance).
	 */
	unmap_mapping_range(mapping, holebegin, 0, 1);
	truncate_inode_pages(mapping, newsize);
	unmap_mapping_range(mapping, holebegin, 0, 1);
}

void pagecache_isize_extended(struct inode *inode, loff_t from, loff_t to)
{
	struct folio *folio;
	size_t off, end;

	if (from >= to || !(from & (PAGE_SIZE - 1)))
		return;
	folio = filemap_lock_folio(inode->i_mapping, (pgoff_t)(from >> PAGE_SHIFT));
	if (IS_ERR(folio))
		return;		/* not cached: on the disk, past EOF reads as zeroes */
	/*
	 * What a mapping stored past the old EOF is not file data: clean it
	 * away. Write-protect first, so a store racing us faults and waits
	 * for the folio lock instead of landing under the memset.
	 */
	folio_mkclean(folio);
	folio_wait_stable(folio);
	off = (size_t)(from - folio_pos(folio));
	end = min((loff_t)folio_size(folio), to - folio_pos(folio));
	memset((char *)folio_address(folio) + off, 0, end - off);
	folio_unlock(folio);
	folio_put(folio);
}

void truncate_setsize(struct inode *inode, loff_t newsize)
{
	loff_t oldsize = i_size_read(inode);

	if (newsize > oldsize)
		pagecache_isize_extended(inode, oldsize, newsize);
	i_size_write(inode, newsize);
	if (newsize < oldsize)
		truncate_pagecache(inode, newsize);
}

void truncate_pagecache_range(struct inode *inode, loff_t lstart, loff_t lend)
{
	struct address_space *mapping = inode->i_mapping;
	loff_t unmap_start = (loff_t)PAGE_ALIGN(lstart);
	loff_t unmap_end = ((lend + 1) & (loff_t)PAGE_MASK) - 1;

	/*
	 * Only whole pages leave the mappings; partial ones are zeroed in
	 * place. A hole is not the end of the file: private COW copies of it
	 * stay (even_cows 0), as Linux keeps them. Unsigned: lend may be -1.
	 */
	if ((unsigned long long)unmap_end > (unsigned long long)unmap_start)
		unmap_mapping_range(mapping, unmap_start, 1 + unmap_end - unmap_start, 0);
	truncate_inode_pages_range(mapping, lstart, lend);
}

/* ---- removal that may fail ------------------------------------------------------ */

/*
 * The fs state of a clean folio goes first (->release_folio: the block
 * map); then the folio itself if nobody holds it. Locked, referenced folio.
 */
static bool mapping_evict_folio(struct address_space *mapping, struct folio *folio)
{
	if (folio_test_dirty(folio) || folio_test_writeback(folio))
		return false;
	/* held by anyone else (a GET, a pin, a mapping): not ours to take */
	if (folio_ref_count(folio) > (int)folio_nr_pages(folio) + folio_test_private(folio) + 1)
		return false;
	if (folio_test_private(folio)) {
		if (!mapping->a_ops->release_folio ||
		    !mapping->a_ops->release_folio(folio, GFP_KERNEL))
			return false;
	}
	return __remove_mapping(mapping, folio);
}

unsigned long invalidate_mapping_pages(struct address_space *mapping, pgoff_t start,
				       pgoff_t end)
{
	struct folio_batch fbatch;
	unsigned long count = 0;
	pgoff_t index = start;

	folio_batch_init(&fbatch);
	while (index <= end && filemap_get_folios(mapping, &index, end, &fbatch)) {
		for (unsigned int i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			if (!folio_trylock(folio))
				continue;
			if (folio_mapping(folio) == mapping && !folio_mapped(folio) &&
			    mapping_evict_folio(mapping, folio))
				count += folio_nr_pages(folio);
			folio_unlock(folio);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	return count;
}

int invalidate_inode_pages2_range(struct address_space *mapping, pgoff_t start, pgoff_t end)
{
	struct folio_batch fbatch;
	pgoff_t index = start;
	int ret = 0;

	if (!atomic_load(&mapping->nrpages))
		return 0;
	folio_batch_init(&fbatch);
	while (index <= end && filemap_get_folios(mapping, &index, end, &fbatch)) {
		for (unsigned int i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			folio_lock(folio);
			if (folio_mapping(folio) != mapping) {
				folio_unlock(folio);
				continue;
			}
			folio_wait_writeback(folio);
			/* the next access must come from the disk: no mapping may keep it */
			if (folio_mapped(folio))
				unmap_mapping_folio(folio);
			/*
			 * Held by anyone else (a pin, a GET): it cannot go, so its
			 * block map must not go either — a device's later
			 * set_page_dirty() would find a folio without blocks.
			 */
			if (folio_test_dirty(folio) || folio_ref_count(folio) >
			    (int)folio_nr_pages(folio) + folio_test_private(folio) + 1 ||
			    (folio_test_private(folio) &&
			     (!mapping->a_ops->release_folio ||
			      !mapping->a_ops->release_folio(folio, GFP_KERNEL))) ||
			    !__remove_mapping(mapping, folio))
				ret = -EBUSY;	/* dirtied again, or held (pinned, say) */
			folio_unlock(folio);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	return ret;
}
