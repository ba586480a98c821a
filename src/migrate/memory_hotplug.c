// SPDX-License-Identifier: MIT
/*
 * Memory offlining and onlining of ZONE_MOVABLE ranges (Linux:
 * offline_pages()/online_pages() in mm/memory_hotplug.c).
 *
 * ZONE_MOVABLE exists so that memory can be unplugged: everything in it is
 * movable, so offlining isolates the range, migrates every user out, and
 * takes the then-free frames away from the allocator (managed_pages shrinks).
 * A page that cannot move — typically one that is pinned — makes offlining
 * fail. Linux retries until a signal arrives; pinmm gives up after a few
 * rounds with -EBUSY and restores the range, so a test sees the failure.
 *
 * An offlined range stays MIGRATE_ISOLATE and its frames belong to nobody
 * until online_pages() frees them again. Shutdown counts offlined frames as
 * not returned: online what you offline.
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/sched.h>
#include <stdlib.h>

#define OFFLINE_ROUNDS	5

static bool range_in_movable(unsigned long start, unsigned long nr)
{
	struct zone *zone = &pinmm_zones[ZONE_MOVABLE];

	return nr && IS_ALIGNED(start, pageblock_nr_pages) && IS_ALIGNED(nr, pageblock_nr_pages) &&
	       populated_zone(zone) && zone_spans_pfn(zone, start) &&
	       start + nr <= zone_end_pfn(zone);
}

/**
 * offline_pages - empty [@start_pfn, @start_pfn + @nr_pages) of ZONE_MOVABLE
 * and take it away from the allocator.
 * @start_pfn: first pfn, pageblock aligned.
 * @nr_pages: pageblock multiple.
 *
 * Mapped data moves elsewhere (the mappings follow it). Counts nothing of
 * its own; the migrations count pgmigrate_*.
 * Context: may sleep; no locks held.
 * Return: 0 with the range offline; -EINVAL for a range that is not whole
 * pageblocks of ZONE_MOVABLE; -EBUSY (range restored, the pfn reported on
 * stderr) if a page would not move or the range is already (being) offlined;
 * -ENOMEM if there was still no room for what had to move in the last round
 * (a round that found no room is retried, as Linux does); -EINTR.
 */
int offline_pages(unsigned long start_pfn, unsigned long nr_pages)
{
	unsigned long end = start_pfn + nr_pages, busy = start_pfn, outer_start, outer_end;
	struct zone *zone = &pinmm_zones[ZONE_MOVABLE];
	struct isolated_range iso;
	int ret;

	if (!range_in_movable(start_pfn, nr_pages))
		return -EINVAL;
	ret = start_isolate_page_range(&iso, start_pfn, end);
	if (ret)
		return ret;
	/* as Linux: the zone's per-CPU lists hold nothing while it is offlined */
	zone_pcp_disable(zone);
	for (int round = 0; round < OFFLINE_ROUNDS; round++) {
		ret = migrate_range_out(start_pfn, end, GFP_HIGHUSER_MOVABLE, MR_MEMORY_HOTPLUG);
		if (ret == -EINTR)
			break;
		/* no room for a target is not the end: Linux's offline_pages() tries again */
		/* as Linux's offline_pages(): what sits on the CPUs' lists is free, not busy */
		drain_all_pages(zone);
		spin_lock(&zone->lock);
		busy = __first_busy_pfn(start_pfn, end);
		if (busy == end) {
			/* whole pageblocks: the taken blocks match the range exactly */
			__take_free_range(start_pfn, end, false, &outer_start, &outer_end);
			spin_unlock(&zone->lock);
			VM_BUG_ON(outer_start != start_pfn || outer_end != end);
			atomic_fetch_sub(&zone->managed_pages, (long)nr_pages);
			free(iso.saved_mt);	/* stays isolated while offline */
			zone_pcp_enable(zone);
			return 0;
		}
		spin_unlock(&zone->lock);
		if (ret != -ENOMEM)
			ret = -EBUSY;
		cond_resched();
	}
	undo_isolate_page_range(&iso);
	zone_pcp_enable(zone);
	if (ret == -EBUSY)
		fprintf(stderr, "pinmm: offline_pages: [%#lx, %#lx): pfn %#lx could not be "
			"migrated\n", start_pfn, end, busy);
	return ret;
}

/**
 * online_pages - give an offlined range back to the allocator.
 * @start_pfn: as passed to a successful offline_pages().
 * @nr_pages: likewise.
 *
 * The pageblocks become MIGRATE_MOVABLE again and every frame is free.
 * Context: takes zone->lock.
 */
void online_pages(unsigned long start_pfn, unsigned long nr_pages)
{
	struct zone *zone = &pinmm_zones[ZONE_MOVABLE];
	unsigned long pfn;

	if (WARN_ON_ONCE(!range_in_movable(start_pfn, nr_pages)))
		return;
	spin_lock(&zone->lock);
	for (pfn = start_pfn; pfn < start_pfn + nr_pages; pfn += pageblock_nr_pages)
		if (WARN_ON_ONCE(!is_migrate_isolate(get_pfnblock_migratetype(pfn))))
			break;
	if (pfn == start_pfn + nr_pages)
		for (pfn = start_pfn; pfn < start_pfn + nr_pages; pfn += pageblock_nr_pages)
			set_pageblock_migratetype_locked(zone, pfn, MIGRATE_MOVABLE);
	spin_unlock(&zone->lock);
	if (pfn != start_pfn + nr_pages)
		return;		/* not an offlined range */
	atomic_fetch_add(&zone->managed_pages, (long)nr_pages);
	for (pfn = start_pfn; pfn < start_pfn + nr_pages; pfn += pageblock_nr_pages) {
		struct page *page = pfn_to_page(pfn);

		/* the frames belong to nobody: this reference is the one we drop */
		set_page_count(page, 1);
		__free_pages(page, pageblock_order);
	}
}
