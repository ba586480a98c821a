// SPDX-License-Identifier: MIT
/*
 * Memory compaction (Linux: mm/compaction.c): make high-order free blocks by
 * moving movable folios out of the way.
 *
 * Within one zone, two scanners walk towards each other a pageblock at a
 * time. The migrate scanner starts at the zone's first pfn and isolates the
 * in-use LRU folios it meets; the free scanner starts at the zone's last
 * pageblock and takes free frames off the buddy lists to serve as their
 * destinations. Used memory thus gathers at the top of the zone and the
 * bottom becomes whole free pageblocks. They stop when they meet.
 *
 * Run on demand when a high-order allocation that may sleep fails (direct
 * compaction from __alloc_pages_site(): asynchronous, deferred after
 * failures as Linux's defer_compaction() does) and by command
 * (compact_zone_now(), "echo 1 > /proc/sys/vm/compact_memory": synchronous,
 * the whole zone). Large folios are left where they are (a destination of
 * their size is what compaction is trying to make).
 *
 * Counters: compact_migrate_scanned, compact_free_scanned, compact_isolated
 * (folios' and free pages' frames), compact_stall/_fail/_success (direct
 * compaction attempts and outcomes).
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>

#define COMPACT_CLUSTER_MAX	32	/* folios migrated per batch */

struct compact_control {
	struct zone *zone;
	int order;			/* the order wanted; -1: the whole zone */
	enum migrate_mode mode;
	unsigned long migrate_pfn;	/* next pfn of the migrate scanner (going up) */
	long free_pfn;			/* next pageblock of the free scanner (going down) */
	struct list_head migratepages;
	struct list_head freepages;	/* order-0 pages, one reference each */
	unsigned long nr_freepages;
	unsigned long nr_migrated;	/* pages moved */
};

static bool suitable_block(int mt, unsigned int flags)
{
	if (is_migrate_isolate(mt))
		return false;		/* alloc_contig_range or offline owns it */
	if (flags & ISOLATE_ASYNC)
		return mt == MIGRATE_MOVABLE || is_migrate_cma(mt);
	return true;
}

unsigned long isolate_migratepages_range(struct list_head *list, unsigned long pfn,
					 unsigned long end, unsigned int flags,
					 unsigned int max, unsigned long *scanned)
{
	unsigned int isolated = 0;

	for (; pfn < end && isolated < max; pfn++) {
		struct page *page = pfn_to_page(pfn);
		struct folio *folio;

		if (scanned)
			(*scanned)++;
		if (PageBuddy(page))
			continue;
		folio = page_folio(page);
		/* a cheap look first, so kernel pages are never grabbed */
		if (!folio_test_lru(folio))
			continue;
		if (!folio_try_get(folio))
			continue;
		if (unlikely(page_folio(page) != folio))
			goto put;
		if (folio_test_large(folio)) {
			/* look at a large folio once, from its head */
			unsigned long last = folio_pfn(folio) + folio_nr_pages(folio) - 1;

			if (last > pfn)
				pfn = last;
			if (flags & ISOLATE_NO_LARGE)
				goto put;
		}
		/*
		 * Racy but cheap (Linux does the same): an anon folio with more
		 * references than mappings is pinned or held, and migration would
		 * only fail on it. The -1 is our own reference.
		 */
		if ((folio_test_anon(folio) || !atomic_load(&folio->mapping)) &&
		    folio_ref_count(folio) - 1 > folio_expected_ref_count(folio))
			goto put;
		if (!folio_isolate_lru(folio))
			goto put;
		folio_put(folio);	/* the isolation holds its own reference */
		list_add_tail(&folio->lru, list);
		isolated++;
		count_vm_events(COMPACTISOLATED, (long)folio_nr_pages(folio));
		continue;
put:
		folio_put(folio);
	}
	return pfn;
}

/* ---- the free scanner ------------------------------------------------------------ */

/*
 * Take the free frames of pageblocks below cc->free_pfn, going down, until
 * there are some or the free scanner reaches the migrate scanner. A
 * pageblock that is entirely free is skipped: it is already what compaction
 * is for (Linux suitable_migration_target()).
 */
static void isolate_freepages(struct compact_control *cc)
{
	struct zone *zone = cc->zone;
	long low = (long)max(ALIGN(cc->migrate_pfn, pageblock_nr_pages), zone->zone_start_pfn);
	long block = cc->free_pfn;

	for (; block >= low && !cc->nr_freepages; block -= (long)pageblock_nr_pages) {
		unsigned long end = min((unsigned long)block + pageblock_nr_pages,
					zone_end_pfn(zone));
		unsigned long taken = 0;
		struct page *first = pfn_to_page((unsigned long)block);

		count_vm_events(COMPACTFREE_SCANNED, (long)end - block);
		spin_lock(&zone->lock);
		if (!suitable_block(get_pfnblock_migratetype((unsigned long)block), ISOLATE_ASYNC) ||
		    (PageBuddy(first) && buddy_order_locked(first) >= pageblock_order)) {
			spin_unlock(&zone->lock);
			continue;
		}
		for (unsigned long pfn = (unsigned long)block; pfn < end;) {
			struct page *page = pfn_to_page(pfn);
			unsigned int order;

			if (!PageBuddy(page)) {
				pfn++;
				continue;
			}
			order = buddy_order_locked(page);
			__isolate_free_page(page, order);
			prep_isolated_pages(page, order, PINMM_SITE);
			for (unsigned long i = 0; i < (1UL << order); i++)
				list_add_tail(&page[i].lru, &cc->freepages);
			taken += 1UL << order;
			pfn += 1UL << order;
		}
		spin_unlock(&zone->lock);
		cc->nr_freepages += taken;
		count_vm_events(COMPACTISOLATED, (long)taken);
	}
	cc->free_pfn = block;
}

/* get_new_folio for compaction: a page from the free scanner. */
static struct folio *compaction_alloc(struct folio *src, unsigned long data)
{
	struct compact_control *cc = (struct compact_control *)data;
	struct page *page;

	if (folio_order(src))
		return NULL;
	if (!cc->nr_freepages)
		isolate_freepages(cc);
	page = list_first_entry_or_null(&cc->freepages, struct page, lru);
	if (!page)
		return NULL;
	list_del(&page->lru);
	cc->nr_freepages--;
	return page_folio(page);
}

/* put_new_folio for compaction: an unused destination goes back to the pool. */
static void compaction_free(struct folio *dst, unsigned long data)
{
	struct compact_control *cc = (struct compact_control *)data;

	list_add(&dst->lru, &cc->freepages);
	cc->nr_freepages++;
}

static void release_freepages(struct compact_control *cc)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &cc->freepages, lru) {
		list_del(&page->lru);
		__free_pages(page, 0);
	}
	cc->nr_freepages = 0;
}

/* ---- one zone -------------------------------------------------------------------- */

/* Is there a free block of cc->order that an allocation could use? */
static bool compact_finished(struct compact_control *cc)
{
	struct zone *zone = cc->zone;
	bool done = false;

	if (cc->order < 0)
		return false;
	spin_lock(&zone->lock);
	for (unsigned int o = (unsigned int)cc->order; o < NR_PAGE_ORDERS && !done; o++)
		done = zone->free_area[o].nr_free > zone->free_area[o].nr_free_type[MIGRATE_ISOLATE];
	spin_unlock(&zone->lock);
	return done;
}

static void compact_zone(struct compact_control *cc)
{
	struct zone *zone = cc->zone;
	unsigned int flags = ISOLATE_NO_LARGE | (cc->mode == MIGRATE_ASYNC ? ISOLATE_ASYNC : 0);

	INIT_LIST_HEAD(&cc->migratepages);
	INIT_LIST_HEAD(&cc->freepages);
	cc->nr_freepages = 0;
	cc->nr_migrated = 0;
	cc->migrate_pfn = zone->zone_start_pfn;
	cc->free_pfn = (long)ALIGN_DOWN(zone_end_pfn(zone) - 1, pageblock_nr_pages);

	/* the migrate scanner never enters a pageblock the free scanner took from */
	while ((long)cc->migrate_pfn < cc->free_pfn + (long)pageblock_nr_pages) {
		unsigned long block_end = min(ALIGN(cc->migrate_pfn + 1, pageblock_nr_pages),
					      zone_end_pfn(zone));
		unsigned long scanned = 0;

		if (fatal_signal_pending_current())
			break;
		if (!suitable_block(get_pfnblock_migratetype(cc->migrate_pfn), flags)) {
			cc->migrate_pfn = block_end;
			continue;
		}
		cc->migrate_pfn = isolate_migratepages_range(&cc->migratepages, cc->migrate_pfn,
							     block_end, flags,
							     COMPACT_CLUSTER_MAX, &scanned);
		count_vm_events(COMPACTMIGRATE_SCANNED, (long)scanned);
		if (!list_empty(&cc->migratepages)) {
			struct folio *folio;
			unsigned long before = 0, after = 0;

			list_for_each_entry(folio, &cc->migratepages, lru)
				before += folio_nr_pages(folio);
			if (migrate_pages(&cc->migratepages, compaction_alloc, compaction_free,
					  (unsigned long)cc, cc->mode, MR_COMPACTION, NULL)) {
				list_for_each_entry(folio, &cc->migratepages, lru)
					after += folio_nr_pages(folio);
				putback_movable_pages(&cc->migratepages);
			}
			cc->nr_migrated += before - after;
			/*
			 * The sources went to this CPU's lists: put them on the
			 * free lists so they merge (Linux drains the local lists
			 * as the migrate scanner leaves a block).
			 */
			drain_local_pages(zone);
		}
		if (compact_finished(cc))
			break;
		cond_resched();
	}
	release_freepages(cc);
}

/* ---- direct compaction and its deferral ------------------------------------------- */

/*
 * After a failure, skip the next 1 << defer_shift attempts at this order or
 * above (up to 64), as Linux's defer_compaction()/compaction_deferred().
 */
#define COMPACT_MAX_DEFER_SHIFT	6

static struct {
	atomic_uint considered;
	atomic_uint defer_shift;
	atomic_int order_failed;
} defer[MAX_NR_ZONES];

static bool compaction_deferred(struct zone *zone, unsigned int order)
{
	unsigned int shift = atomic_load_explicit(&defer[zone->idx].defer_shift,
						  memory_order_relaxed);

	if ((int)order < atomic_load_explicit(&defer[zone->idx].order_failed,
					      memory_order_relaxed) || !shift)
		return false;
	return atomic_fetch_add_explicit(&defer[zone->idx].considered, 1,
					 memory_order_relaxed) + 1 < (1U << shift);
}

static void defer_compaction(struct zone *zone, unsigned int order)
{
	unsigned int shift = atomic_load_explicit(&defer[zone->idx].defer_shift,
						  memory_order_relaxed);

	atomic_store_explicit(&defer[zone->idx].considered, 0, memory_order_relaxed);
	if (shift < COMPACT_MAX_DEFER_SHIFT)
		atomic_store_explicit(&defer[zone->idx].defer_shift, shift + 1,
				      memory_order_relaxed);
	atomic_store_explicit(&defer[zone->idx].order_failed, (int)order, memory_order_relaxed);
}

static void compaction_defer_reset(struct zone *zone)
{
	atomic_store_explicit(&defer[zone->idx].considered, 0, memory_order_relaxed);
	atomic_store_explicit(&defer[zone->idx].defer_shift, 0, memory_order_relaxed);
	atomic_store_explicit(&defer[zone->idx].order_failed, 0, memory_order_relaxed);
}

/* Direct compaction must not recurse through the allocations it makes. */
static __thread bool in_direct_compaction;

bool try_to_compact_pages(gfp_t gfp, unsigned int order)
{
	bool progress = false;

	if (in_direct_compaction)
		return false;
	gfp = current_gfp_context(gfp);
	in_direct_compaction = true;
	count_vm_event(COMPACTSTALL);
	for (int z = (int)gfp_zone(gfp); z >= ZONE_NORMAL && !progress; z--) {
		struct zone *zone = &pinmm_zones[z];
		struct compact_control cc = {
			.zone = zone,
			.order = (int)order,
			.mode = MIGRATE_ASYNC,	/* the caller may hold mmap_lock */
		};

		if (!populated_zone(zone) || z == ZONE_DEVICE || compaction_deferred(zone, order))
			continue;
		compact_zone(&cc);
		if (compact_finished(&cc)) {
			compaction_defer_reset(zone);
			progress = true;
		} else {
			defer_compaction(zone, order);
		}
	}
	count_vm_event(progress ? COMPACTSUCCESS : COMPACTFAIL);
	in_direct_compaction = false;
	return progress;
}

/**
 * compact_zone_now - compact all of @zone ("echo 1 > compact_memory").
 * @zone: a populated zone with a buddy allocator (not ZONE_DEVICE).
 *
 * Synchronous passes over the whole zone until a pass moves nothing (at most
 * four: each pass packs the used memory further up).
 * Context: may sleep; no locks held.
 * Return: the number of pages migrated, or -EINVAL for a zone that cannot be
 * compacted.
 */
int compact_zone_now(struct zone *zone)
{
	unsigned long total = 0;

	if (!zone || zone < pinmm_zones || zone >= pinmm_zones + MAX_NR_ZONES ||
	    !populated_zone(zone) || zone->idx == ZONE_DEVICE)
		return -EINVAL;
	/* every CPU's free pages on the free lists, where the free scanner finds them */
	drain_all_pages(zone);
	for (int pass = 0; pass < 4; pass++) {
		struct compact_control cc = { .zone = zone, .order = -1, .mode = MIGRATE_SYNC };

		compact_zone(&cc);
		total += cc.nr_migrated;
		if (!cc.nr_migrated)
			break;
	}
	compaction_defer_reset(zone);
	return (int)min(total, (unsigned long)INT_MAX);
}
