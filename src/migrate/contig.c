// SPDX-License-Identifier: MIT
/*
 * Contiguous allocation of a given pfn range (Linux: alloc_contig_range() in
 * mm/page_alloc.c): what CMA and memory offlining are built on.
 *
 *   1. isolate the pageblocks of the range (MIGRATE_ISOLATE): nothing new is
 *      allocated there, and whatever is freed there stays there;
 *   2. migrate every in-use folio of the range somewhere else;
 *      (and the free pages of the range on the CPUs' lists are drained);
 *   3. with zone->lock held, check that every frame of the range is now free
 *      (the first one that is not is named in the -EBUSY report), and take
 *      the free blocks off the free lists;
 *   4. give the pageblocks their old types back, and free the parts of the
 *      taken blocks that stick out of the range.
 *
 * A page that cannot move — pinned, held by a GET reference, or not a user
 * page at all — makes the whole allocation fail with -EBUSY and the range is
 * left as it was. That is why long-term pins must not stay in ZONE_MOVABLE
 * or CMA.
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/sched.h>

#define CONTIG_BATCH	32	/* folios isolated per migrate_pages() call */
#define CONTIG_TRIES	5	/* migrate_pages() calls on one batch before -EBUSY */

int migrate_range_out(unsigned long start, unsigned long end, gfp_t gfp, int reason)
{
	struct migration_target_control mtc = {
		/* the folios stay user memory: movable again, wherever they land */
		.gfp_mask = gfp | __GFP_MOVABLE,
		.reason = reason,
	};
	unsigned long pfn = start;
	unsigned int tries = 0;
	LIST_HEAD(list);
	int ret = 0;

	while (pfn < end || !list_empty(&list)) {
		if (fatal_signal_pending_current()) {
			ret = -EINTR;
			break;
		}
		if (list_empty(&list)) {
			pfn = isolate_migratepages_range(&list, pfn, end, 0, CONTIG_BATCH, NULL);
			tries = 0;
			if (list_empty(&list))
				continue;
		} else if (++tries == CONTIG_TRIES) {
			ret = -EBUSY;
			break;
		}
		ret = migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc,
				    MIGRATE_SYNC, reason, NULL);
		if (ret == -ENOMEM)
			break;
		cond_resched();
	}
	putback_movable_pages(&list);
	return ret < 0 ? ret : 0;
}

/*
 * Steps 3 and 4's first half: with zone->lock held, take the range if it is
 * all free, else say which pfn is not. Return 0 or -EBUSY (*@busy set).
 */
static int take_range(struct zone *zone, unsigned long start, unsigned long end,
		      unsigned long *outer_start, unsigned long *outer_end, unsigned long *busy)
{
	spin_lock(&zone->lock);
	*busy = __first_busy_pfn(start, end);
	if (*busy < end) {
		spin_unlock(&zone->lock);
		return -EBUSY;
	}
	__take_free_range(start, end, true, outer_start, outer_end);
	spin_unlock(&zone->lock);
	return 0;
}

static void free_pfn_range(unsigned long start, unsigned long end)
{
	for (unsigned long pfn = start; pfn < end; pfn++)
		__free_pages(pfn_to_page(pfn), 0);
}

/**
 * alloc_contig_range - take the frames [@start, @end) for the caller.
 * @start: first pfn.
 * @end: pfn after the last.
 * @migratetype: MIGRATE_MOVABLE, or MIGRATE_CMA for a CMA area.
 * @gfp: how to allocate the destinations of what must move out.
 *
 * The range must lie in one zone that has a buddy allocator. Every frame
 * comes back as an order-0 page with one reference; free them with
 * free_contig_range(). Pageblocks keep their types (a CMA range stays CMA).
 * Context: may sleep; no locks held.
 * Return: 0; -EINVAL for a bad range; -EBUSY if a pageblock of the range is
 * being isolated by someone else or a frame could not be emptied (reported
 * on stderr with its pfn; the range is restored); -ENOMEM if the moved
 * folios found no room; -EINTR on a fatal signal.
 */
int alloc_contig_range(unsigned long start, unsigned long end, int migratetype, gfp_t gfp)
{
	unsigned long outer_start, outer_end, busy = start;
	struct isolated_range iso;
	struct zone *zone;
	int ret;

	if (start >= end || !pfn_valid(start) || !pfn_valid(end - 1))
		return -EINVAL;
	zone = page_zone(pfn_to_page(start));
	if (zone != page_zone(pfn_to_page(end - 1)) || zone->idx == ZONE_DEVICE)
		return -EINVAL;
	if (migratetype != MIGRATE_MOVABLE && !is_migrate_cma(migratetype))
		return -EINVAL;

	ret = start_isolate_page_range(&iso, start, end);
	if (ret)
		return ret;
	/*
	 * Free pages of the range on the CPUs' lists would look busy and be
	 * handed out again: back to the (now isolate) free lists with them.
	 */
	drain_all_pages(zone);
	ret = migrate_range_out(start, end, current_gfp_context(gfp), MR_CONTIG_RANGE);
	/* even after a failed migration, name the first frame still in use */
	if (ret != -ENOMEM && ret != -EINTR) {
		int taken = take_range(zone, start, end, &outer_start, &outer_end, &busy);

		/* a page freed to a CPU's list just before its block was isolated */
		if (taken == -EBUSY) {
			drain_all_pages(zone);
			taken = take_range(zone, start, end, &outer_start, &outer_end, &busy);
		}
		ret = taken ? taken : 0;
	}
	undo_isolate_page_range(&iso);
	if (ret) {
		if (ret == -EBUSY)
			fprintf(stderr, "pinmm: alloc_contig_range: [%#lx, %#lx) PFNs busy: "
				"pfn %#lx could not be emptied\n", start, end, busy);
		return ret;
	}
	free_pfn_range(outer_start, start);
	free_pfn_range(end, outer_end);
	return 0;
}

/**
 * free_contig_range - free frames from alloc_contig_range().
 * @pfn: first pfn.
 * @nr_pages: how many.
 *
 * Drops the one reference alloc_contig_range() gave each page. A page that
 * holds more (someone still uses it) WARNs, as in Linux; it is freed by its
 * last user.
 * Context: takes zone->lock.
 */
void free_contig_range(unsigned long pfn, unsigned long nr_pages)
{
	unsigned long busy = 0;

	for (unsigned long i = 0; i < nr_pages; i++) {
		struct page *page = pfn_to_page(pfn + i);

		busy += page_ref_count(page) != 1;
		__free_pages(page, 0);
	}
	WARN_ON_ONCE(busy);
}
