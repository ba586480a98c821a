// SPDX-License-Identifier: MIT
/*
 * pinmm_frame_states(): what each frame is doing, for pictures of memory
 * (pinmm map). The rules and their order are in include/pinmm/frame_state.h.
 *
 * The walk goes a pageblock at a time under the zone lock: a free buddy
 * block never spans two pageblocks (MAX_PAGE_ORDER == pageblock_order), so
 * every free block is seen whole, and the lock is held for 512 frames at
 * most, never for a whole zone.
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/frame_state.h>
#include <string.h>

const char *const pinmm_frame_state_names[PINMM_NR_FRAME_STATES] = {
	[PINMM_FRAME_FREE] = "free",
	[PINMM_FRAME_MOVABLE] = "movable",
	[PINMM_FRAME_UNMOVABLE] = "unmovable",
	[PINMM_FRAME_PAGETABLE] = "pagetable",
	[PINMM_FRAME_PINNED_SHORT] = "pinned-short",
	[PINMM_FRAME_PINNED_LONG] = "pinned-long",
	[PINMM_FRAME_ISOLATED] = "isolated",
	[PINMM_FRAME_DEVICE] = "device",
};

/*
 * The state of the allocated (or device) frame @page and of the frames after
 * it that share its folio: *@nr is how many, at least 1.
 */
static int allocated_state(struct page *page, bool device, bool isolated, unsigned long *nr)
{
	unsigned long pfn = page_to_pfn(page), head;
	struct folio *folio;

	*nr = 1;
	if (PageTable(page))
		return PINMM_FRAME_PAGETABLE;
	folio = page_folio(page);
	head = folio_pfn(folio);
	if (folio_test_large(folio) && head + folio_nr_pages(folio) > pfn)
		*nr = head + folio_nr_pages(folio) - pfn;
	if (!is_zero_folio(folio) && folio_maybe_dma_pinned(folio))
		return folio_pinned_longterm(folio) ? PINMM_FRAME_PINNED_LONG :
						      PINMM_FRAME_PINNED_SHORT;
	if (device)
		return PINMM_FRAME_DEVICE;
	if (isolated)
		return PINMM_FRAME_ISOLATED;
	if (folio_test_lru(folio))
		return PINMM_FRAME_MOVABLE;
	/* a user folio off the LRU: a migrator holds it (folio_isolate_lru()) */
	if (atomic_load_explicit(&folio->mapping, memory_order_relaxed) && folio_ref_count(folio))
		return PINMM_FRAME_ISOLATED;
	return PINMM_FRAME_UNMOVABLE;
}

/* Classify the pageblock starting at @block_pfn into @out[pageblock_nr_pages]. */
static void classify_pageblock(unsigned long block_pfn, uint8_t *out)
{
	struct page *first = pfn_to_page(block_pfn);
	struct zone *zone = page_zone(first);
	bool device = zone->idx == ZONE_DEVICE;
	bool isolated = is_migrate_isolate(get_pfnblock_migratetype(block_pfn));
	unsigned long i = 0, n;
	int state;

	spin_lock(&zone->lock);
	while (i < pageblock_nr_pages) {
		struct page *page = first + i;

		if (!device && PageBuddy(page)) {
			n = 1UL << buddy_order_locked(page);
			state = isolated ? PINMM_FRAME_ISOLATED : PINMM_FRAME_FREE;
		} else {
			state = allocated_state(page, device, isolated, &n);
		}
		n = min(n, pageblock_nr_pages - i);
		memset(out + i, state, n);
		i += n;
	}
	spin_unlock(&zone->lock);
}

int pinmm_frame_states(unsigned long start_pfn, unsigned long nr, uint8_t *states)
{
	uint8_t block[pageblock_nr_pages];
	unsigned long pfn = start_pfn, end;

	if (!pinmm_is_booted() || __builtin_add_overflow(start_pfn, nr, &end) ||
	    end > pinmm_max_pfn)
		return -EINVAL;
	while (pfn < end) {
		unsigned long block_pfn = pfn & ~(pageblock_nr_pages - 1);
		unsigned long off = pfn - block_pfn;
		unsigned long n = min(pageblock_nr_pages - off, end - pfn);

		classify_pageblock(block_pfn, block);
		memcpy(states + (pfn - start_pfn), block + off, n);
		pfn += n;
	}
	return 0;
}

int pinmm_frame_state(unsigned long pfn)
{
	uint8_t state;
	int err = pinmm_frame_states(pfn, 1, &state);

	return err ? err : state;
}
