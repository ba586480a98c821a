// SPDX-License-Identifier: MIT
/*
 * Pageblock isolation (Linux: mm/page_isolation.c): fence off a range so it
 * can be emptied. An isolated pageblock has type MIGRATE_ISOLATE: the
 * allocator never takes from it, and whatever is freed inside it lands on the
 * isolate free lists (uncounted in NR_FREE_PAGES) instead of going back into
 * circulation. Once migration has moved every user out, the whole range is
 * free and can be taken off the lists in one go.
 *
 * The old pageblock types are remembered per block and restored exactly
 * (Linux now keeps the isolation as a separate pageblock bit for the same
 * reason: a range may mix MOVABLE and CMA blocks, or blocks the fallback
 * path claimed as UNMOVABLE).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <pinmm/slab.h>

int start_isolate_page_range(struct isolated_range *r, unsigned long start, unsigned long end)
{
	struct zone *zone = page_zone(pfn_to_page(start));
	unsigned long pfn, nr_blocks;

	r->zone = zone;
	r->start_pfn = ALIGN_DOWN(start, pageblock_nr_pages);
	r->end_pfn = ALIGN(end, pageblock_nr_pages);
	nr_blocks = (r->end_pfn - r->start_pfn) / pageblock_nr_pages;
	r->saved_mt = kmalloc(nr_blocks, GFP_KERNEL);
	if (!r->saved_mt)
		return -ENOMEM;

	spin_lock(&zone->lock);
	for (pfn = r->start_pfn; pfn < r->end_pfn; pfn += pageblock_nr_pages) {
		int mt = get_pfnblock_migratetype(pfn);

		/* someone else is emptying this block: theirs until they undo it */
		if (is_migrate_isolate(mt))
			break;
		r->saved_mt[(pfn - r->start_pfn) / pageblock_nr_pages] = (uint8_t)mt;
		set_pageblock_migratetype_locked(zone, pfn, MIGRATE_ISOLATE);
	}
	if (pfn < r->end_pfn) {
		unsigned long done = pfn;

		for (pfn = r->start_pfn; pfn < done; pfn += pageblock_nr_pages)
			set_pageblock_migratetype_locked(zone, pfn,
				r->saved_mt[(pfn - r->start_pfn) / pageblock_nr_pages]);
		spin_unlock(&zone->lock);
		kfree(r->saved_mt);
		r->saved_mt = NULL;
		return -EBUSY;
	}
	spin_unlock(&zone->lock);
	return 0;
}

void undo_isolate_page_range(struct isolated_range *r)
{
	struct zone *zone = r->zone;

	spin_lock(&zone->lock);
	for (unsigned long pfn = r->start_pfn; pfn < r->end_pfn; pfn += pageblock_nr_pages)
		set_pageblock_migratetype_locked(zone, pfn,
			r->saved_mt[(pfn - r->start_pfn) / pageblock_nr_pages]);
	spin_unlock(&zone->lock);
	kfree(r->saved_mt);
	r->saved_mt = NULL;
}

/* The free block that contains @pfn, if any: its first pfn, else ~0UL. */
static unsigned long free_block_containing(unsigned long pfn, struct zone *zone)
{
	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		unsigned long head = ALIGN_DOWN(pfn, 1UL << order);
		struct page *page = pfn_to_page(head);

		if (head < zone->zone_start_pfn)
			break;
		if (PageBuddy(page) && buddy_order_locked(page) >= order)
			return head;
	}
	return ~0UL;
}

unsigned long __first_busy_pfn(unsigned long start, unsigned long end)
{
	struct zone *zone = page_zone(pfn_to_page(start));
	unsigned long pfn = free_block_containing(start, zone);

	lockdep_assert_held(&zone->lock);
	if (pfn == ~0UL)
		return start;
	while (pfn < end) {
		struct page *page = pfn_to_page(pfn);

		if (!PageBuddy(page) || !is_migrate_isolate(get_pfnblock_migratetype(pfn)))
			return max(pfn, start);
		pfn += 1UL << buddy_order_locked(page);
	}
	return end;
}

void __take_free_range(unsigned long start, unsigned long end, bool prep,
		       unsigned long *outer_start, unsigned long *outer_end)
{
	struct zone *zone = page_zone(pfn_to_page(start));
	unsigned long pfn = free_block_containing(start, zone);

	lockdep_assert_held(&zone->lock);
	VM_BUG_ON(pfn == ~0UL);
	*outer_start = pfn;
	while (pfn < end) {
		struct page *page = pfn_to_page(pfn);
		unsigned int order = buddy_order_locked(page);

		VM_BUG_ON(!PageBuddy(page));
		__isolate_free_page(page, order);
		if (prep)
			prep_isolated_pages(page, order, PINMM_SITE);
		pfn += 1UL << order;
	}
	*outer_end = pfn;
}
