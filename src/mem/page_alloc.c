// SPDX-License-Identifier: MIT
/*
 * The buddy allocator: per zone, per order, per migratetype free lists.
 *
 * Invariants (checked by pinmm_check_zone()):
 *  - a free block of order o starts at a pfn aligned to 2^o, carries the buddy
 *    page type and its order in its first page, and sits on
 *    zone->free_area[o].free_list[its pageblock's migratetype];
 *  - every frame of the zone is either in exactly one free block or allocated;
 *  - NR_FREE_PAGES counts free frames outside MIGRATE_ISOLATE blocks and
 *    NR_FREE_CMA_PAGES the free frames in MIGRATE_CMA blocks.
 *
 * In front of it, per-CPU page lists (struct per_cpu_pages, as Linux's):
 * order-0 pages and pageblock-order (THP) blocks are freed to, and allocated
 * from, the calling CPU's lists for the zone, which are refilled from and
 * trimmed to the free lists a batch at a time under zone->lock. As in Linux,
 * pages on those lists are not free to the buddy allocator (not PageBuddy,
 * not in NR_FREE_PAGES): whoever needs them merged — compaction,
 * alloc_contig_range(), offlining, shutdown, a failing allocation — drains
 * them first (drain_all_pages(), drain_local_pages()).
 */
#include "internal.h"

#include <pinmm/memremap.h>

#include <pinmm/fault-inject.h>
#include <pinmm/sched.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pinmm/huge_mm.h>
#include <pinmm/hugetlb.h>

#ifdef PINMM_ASAN
#include <sanitizer/asan_interface.h>
#endif

struct zone pinmm_zones[MAX_NR_ZONES];

/* The ZONE_DEVICE owner's page_free (Linux: pgmap->ops->page_free). */
void (*pinmm_device_folio_free)(struct folio *folio);

const char *const migratetype_names[MIGRATE_TYPES] = {
	[MIGRATE_UNMOVABLE] = "Unmovable",
	[MIGRATE_MOVABLE] = "Movable",
	[MIGRATE_RECLAIMABLE] = "Reclaimable",
	[MIGRATE_CMA] = "CMA",
	[MIGRATE_ISOLATE] = "Isolate",
};

/* Where an allocation of one type looks when its own lists are empty. */
static const int fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1] = {
	[MIGRATE_UNMOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE },
	[MIGRATE_MOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE },
	[MIGRATE_RECLAIMABLE] = { MIGRATE_UNMOVABLE, MIGRATE_MOVABLE },
};

#define ALLOC_CMA	0x1u	/* movable request: CMA pageblocks may serve it */

/* zone->per_cpu_pageset of each zone */
static struct per_cpu_pages pcp_sets[MAX_NR_ZONES][NR_CPUS];

static atomic_ulong bad_pages;

/* ---- gfp interpretation ------------------------------------------------- */

int gfp_migratetype(gfp_t gfp)
{
	if (gfp & __GFP_MOVABLE)
		return MIGRATE_MOVABLE;
	if (gfp & __GFP_RECLAIMABLE)
		return MIGRATE_RECLAIMABLE;
	return MIGRATE_UNMOVABLE;
}

enum zone_type gfp_zone(gfp_t gfp)
{
	if ((gfp & (__GFP_MOVABLE | __GFP_HIGHMEM)) == (__GFP_MOVABLE | __GFP_HIGHMEM))
		return ZONE_MOVABLE;
	return ZONE_NORMAL;
}

gfp_t current_gfp_context(gfp_t gfp)
{
	/* a long-term pin is faulting: only memory it may keep pinned */
	if (pinmm_current_ctx.flags & PF_MEMALLOC_PIN)
		gfp &= ~__GFP_MOVABLE;
	return gfp;
}


unsigned long pinmm_bad_page_count(void)
{
	return atomic_load(&bad_pages);
}

/* ---- pageblocks ----------------------------------------------------------- */

static void set_pfnblock_mt(unsigned long pfn, int mt)
{
	atomic_store_explicit(&pinmm_machine.pageblock_mt[pfn >> pageblock_order], (uint8_t)mt,
			      memory_order_relaxed);
}

/* ---- free lists -------------------------------------------------------------- */

static inline unsigned int buddy_order(const struct page *page)
{
	return (unsigned int)page->private;
}

static void account_freepages(struct zone *zone, long nr, int mt)
{
	if (is_migrate_isolate(mt))
		return;
	mod_zone_page_state(zone, NR_FREE_PAGES, nr);
	if (is_migrate_cma(mt))
		mod_zone_page_state(zone, NR_FREE_CMA_PAGES, nr);
}

static void add_to_free_list(struct page *page, struct zone *zone, unsigned int order,
			     int mt, bool tail)
{
	struct free_area *area = &zone->free_area[order];

	if (tail)
		list_add_tail(&page->lru, &area->free_list[mt]);
	else
		list_add(&page->lru, &area->free_list[mt]);
	page->private = order;
	__SetPageBuddy(page);
	area->nr_free++;
	area->nr_free_type[mt]++;
	account_freepages(zone, 1L << order, mt);
}

static void del_from_free_list(struct page *page, struct zone *zone, unsigned int order,
			       int mt)
{
	struct free_area *area = &zone->free_area[order];

	VM_BUG_ON(!PageBuddy(page) || buddy_order(page) != order);
	list_del(&page->lru);
	__ClearPageBuddy(page);
	page->private = 0;
	area->nr_free--;
	area->nr_free_type[mt]--;
	account_freepages(zone, -(1L << order), mt);
}

/* Split a block of order @high down to @low, returning the upper halves. */
static void expand(struct zone *zone, struct page *page, unsigned int low,
		   unsigned int high, int mt)
{
	unsigned long size = 1UL << high;

	while (high > low) {
		high--;
		size >>= 1;
		add_to_free_list(&page[size], zone, high, mt, false);
	}
}

/*
 * Move the free blocks of the pageblock at @pfn from @old_mt's lists to
 * @new_mt's and retype the block. Return the number of free pages moved.
 */
static unsigned long move_freepages_block(struct zone *zone, unsigned long pfn, int old_mt,
					  int new_mt)
{
	unsigned long start = ALIGN_DOWN(pfn, pageblock_nr_pages);
	unsigned long end = start + pageblock_nr_pages, moved = 0;

	lockdep_assert_held(&zone->lock);
	for (pfn = start; pfn < end;) {
		struct page *page = pfn_to_page(pfn);

		if (PageBuddy(page)) {
			unsigned int order = buddy_order(page);

			del_from_free_list(page, zone, order, old_mt);
			add_to_free_list(page, zone, order, new_mt, false);
			moved += 1UL << order;
			pfn += 1UL << order;
		} else {
			pfn++;
		}
	}
	set_pfnblock_mt(start, new_mt);
	return moved;
}

void set_pageblock_migratetype_locked(struct zone *zone, unsigned long pfn, int mt)
{
	int old = get_pfnblock_migratetype(pfn);

	if (old != mt)
		move_freepages_block(zone, pfn, old, mt);
}

/* Free pages inside the pageblock of @pfn (zone->lock held). */
static unsigned long pageblock_free_pages(unsigned long pfn)
{
	unsigned long start = ALIGN_DOWN(pfn, pageblock_nr_pages);
	unsigned long end = start + pageblock_nr_pages, nr = 0;

	for (pfn = start; pfn < end;) {
		struct page *page = pfn_to_page(pfn);

		if (PageBuddy(page)) {
			nr += 1UL << buddy_order(page);
			pfn += 1UL << buddy_order(page);
		} else {
			pfn++;
		}
	}
	return nr;
}

/* ---- allocation ------------------------------------------------------------- */

static struct page *__rmqueue_smallest(struct zone *zone, unsigned int order, int mt)
{
	for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
		struct free_area *area = &zone->free_area[o];
		struct page *page = list_first_entry_or_null(&area->free_list[mt], struct page, lru);

		if (!page)
			continue;
		del_from_free_list(page, zone, o, mt);
		expand(zone, page, order, o, mt);
		return page;
	}
	return NULL;
}

/*
 * Our own lists are empty: take memory of another (mergeable) type. As Linux
 * does, first try to claim a whole pageblock for @start_mt, largest blocks
 * first, so unmovable allocations cluster instead of scattering over movable
 * blocks; failing that, take the smallest block that fits without retyping.
 * CMA and isolated blocks are never fallbacks.
 */
static struct page *__rmqueue_fallback(struct zone *zone, unsigned int order, int start_mt)
{
	bool claim_ok = order >= pageblock_order / 2 || start_mt != MIGRATE_MOVABLE;

	for (int o = MAX_PAGE_ORDER; claim_ok && o >= (int)order; o--) {
		for (unsigned int i = 0; i < ARRAY_SIZE(fallbacks[0]); i++) {
			int ft = fallbacks[start_mt][i];
			struct page *page = list_first_entry_or_null(
				&zone->free_area[o].free_list[ft], struct page, lru);
			unsigned long pfn;

			if (!page)
				continue;
			pfn = page_to_pfn(page);
			if (pageblock_free_pages(pfn) < pageblock_nr_pages / 2)
				continue;
			move_freepages_block(zone, pfn, ft, start_mt);
			return __rmqueue_smallest(zone, order, start_mt);
		}
	}
	for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(fallbacks[0]); i++) {
			int ft = fallbacks[start_mt][i];
			struct page *page = list_first_entry_or_null(
				&zone->free_area[o].free_list[ft], struct page, lru);

			if (!page)
				continue;
			del_from_free_list(page, zone, o, ft);
			expand(zone, page, order, o, ft);
			return page;
		}
	}
	return NULL;
}

static struct page *__rmqueue(struct zone *zone, unsigned int order, int mt,
			      unsigned int alloc_flags)
{
	struct page *page;

	/*
	 * Balance movable allocations between CMA and the rest, as Linux does:
	 * once more than half of the zone's free memory is CMA, use CMA first
	 * so unmovable requests keep the non-CMA memory.
	 */
	if ((alloc_flags & ALLOC_CMA) &&
	    zone_page_state(zone, NR_FREE_CMA_PAGES) > zone_page_state(zone, NR_FREE_PAGES) / 2) {
		page = __rmqueue_smallest(zone, order, MIGRATE_CMA);
		if (page)
			return page;
	}
	page = __rmqueue_smallest(zone, order, mt);
	if (page)
		return page;
	if (alloc_flags & ALLOC_CMA) {
		page = __rmqueue_smallest(zone, order, MIGRATE_CMA);
		if (page)
			return page;
	}
	return __rmqueue_fallback(zone, order, mt);
}

static void check_new_page(struct page *page)
{
	unsigned long flags = atomic_load_explicit(&page->flags, memory_order_relaxed);

	if (unlikely(page_ref_count(page) != 0 ||
		     atomic_load_explicit(&page->_mapcount, memory_order_relaxed) != -1 ||
		     atomic_load_explicit(&page->mapping, memory_order_relaxed) != NULL ||
		     atomic_load_explicit(&page->compound_head, memory_order_relaxed) != 0 ||
		     (flags & PAGE_FLAGS_CHECK_AT_PREP))) {
		dump_page(page, "allocator handed out a page in a bad state");
		BUG();
	}
}

static void prep_compound_page(struct page *page, unsigned int order)
{
	struct folio *folio = (struct folio *)page;
	unsigned long nr = 1UL << order;

	__set_bit(PG_head, &page->flags);
	for (unsigned long i = 1; i < nr; i++)
		atomic_store_explicit(&page[i].compound_head, (unsigned long)page | 1,
				      memory_order_relaxed);
	atomic_store_explicit(&folio->_flags_1,
			      (atomic_load_explicit(&folio->_flags_1, memory_order_relaxed) &
			       ~0xffUL) | order,
			      memory_order_relaxed);
	folio->_folio_nr_pages = nr;
	atomic_store_explicit(&folio->_large_mapcount, -1, memory_order_relaxed);
	atomic_store_explicit(&folio->_entire_mapcount, -1, memory_order_relaxed);
	atomic_store_explicit(&folio->_nr_pages_mapped, 0, memory_order_relaxed);
	atomic_store_explicit(&folio->_pincount, 0, memory_order_relaxed);
	atomic_store_explicit(&folio->_mm_ids, 0, memory_order_relaxed);
	folio->_mm_id_mapcount[0] = folio->_mm_id_mapcount[1] = 0;
	if (order >= 2)
		INIT_LIST_HEAD(&folio->_deferred_list);
}

void prep_compound_gigantic_folio(struct page *page, unsigned int order)
{
	unsigned long nr = 1UL << order;

	/* the tails give up the reference alloc_contig_range() gave each frame */
	for (unsigned long i = 1; i < nr; i++)
		set_page_count(&page[i], 0);
	prep_compound_page(page, order);
}

/* The folio fields a large folio keeps in page[1] and page[2]: gone at free. */
static void wipe_folio_fields(struct page *page, unsigned long nr)
{
	for (unsigned long i = 1; i < min(nr, 3UL); i++) {
		struct page *p = &page[i];

		atomic_fetch_and_explicit(&p->flags, ~0xffUL, memory_order_relaxed);
		p->lru.next = p->lru.prev = NULL;
		atomic_store_explicit(&p->mapping, NULL, memory_order_relaxed);
		p->index = 0;
		p->private = 0;
	}
}

void destroy_compound_gigantic_folio(struct folio *folio)
{
	struct page *page = &folio->page;
	unsigned long nr = folio_nr_pages(folio);

	/* what free_pages_prepare() wipes of a head's folio fields, then the tails */
	wipe_folio_fields(page, nr);
	for (unsigned long i = 1; i < nr; i++) {
		atomic_store_explicit(&page[i].compound_head, 0, memory_order_relaxed);
		set_page_count(&page[i], 1);
	}
	atomic_fetch_and_explicit(&page->flags, ~BIT(PG_head), memory_order_relaxed);
}

static void prep_new_page(struct page *page, unsigned int order, gfp_t gfp,
			  const struct alloc_site *site)
{
	unsigned long nr = 1UL << order;

	if (IS_ENABLED_DEBUG_VM)
		for (unsigned long i = 0; i < nr; i++)
			check_new_page(&page[i]);
#ifdef PINMM_ASAN
	ASAN_UNPOISON_MEMORY_REGION(page_address(page), PAGE_SIZE << order);
#endif
	if (gfp & __GFP_ZERO)
		memset(page_address(page), 0, PAGE_SIZE << order);
	if ((gfp & __GFP_COMP) && order)
		prep_compound_page(page, order);
	set_page_owner(page, order, site);
	/* publish the prepared page with the reference (release) */
	atomic_store_explicit(&page->_refcount, 1, memory_order_release);
}

static void __free_one_page(unsigned long pfn, struct zone *zone, unsigned int order);

/* ---- per-CPU page lists ------------------------------------------------------ */

/* Orders the per-CPU lists hold: single pages and THP-sized blocks (Linux's pcp_allowed_order()). */
static inline bool pcp_allowed_order(unsigned int order)
{
	return order == 0 || order == pageblock_order;
}

/* The list of @mt (a MIGRATE_PCPTYPES type) for @order: THPs in two lists, movable or not. */
static inline int order_to_pindex(int mt, unsigned int order)
{
	if (order)
		return NR_PCP_ORDER0_LISTS + (mt == MIGRATE_MOVABLE);
	return mt;
}

static inline unsigned int pindex_to_order(int pindex)
{
	return pindex < NR_PCP_ORDER0_LISTS ? 0 : pageblock_order;
}

/* The calling CPU's lists for @zone, or NULL (no lists in this zone, or no CPU id). */
static inline struct per_cpu_pages *this_cpu_pcp(struct zone *zone)
{
	int cpu;

	if (unlikely(!zone->per_cpu_pageset))
		return NULL;
	cpu = smp_processor_id();
	return likely(cpu >= 0) ? &zone->per_cpu_pageset[cpu] : NULL;
}

/* Move up to @count blocks of @order from the free lists to @list; return how many. */
static int rmqueue_bulk(struct zone *zone, unsigned int order, int count, struct list_head *list,
			int mt, unsigned int alloc_flags)
{
	int i;

	spin_lock(&zone->lock);
	for (i = 0; i < count; i++) {
		struct page *page = __rmqueue(zone, order, mt, alloc_flags);

		if (!page)
			break;
		list_add_tail(&page->lru, list);
	}
	spin_unlock(&zone->lock);
	return i;
}

/*
 * Give @to_free pages (at least; a THP counts 512) from @pcp back to the
 * free lists, oldest first, taking the lists in turn from @pindex (Linux's
 * free_pcppages_bulk()). Each block merges under the type its pageblock has
 * now: one isolated since it was listed lands on the isolate list, uncounted.
 */
static void free_pcppages_bulk(struct zone *zone, int to_free, struct per_cpu_pages *pcp,
			       int pindex)
{

	lockdep_assert_held(&pcp->lock);
	to_free = min(to_free, pcp->count);
	if (to_free <= 0)
		return;
	spin_lock(&zone->lock);
	while (to_free > 0) {
		struct list_head *list;
		unsigned int order;
		struct page *page;

		while (list_empty(&pcp->lists[pindex]))
			pindex = (pindex + 1) % NR_PCP_LISTS;
		list = &pcp->lists[pindex];
		order = pindex_to_order(pindex);
		page = list_last_entry(list, struct page, lru);
		list_del(&page->lru);
		pcp->count -= 1 << order;
		to_free -= 1 << order;
		__free_one_page(page_to_pfn(page), zone, order);
		pindex = (pindex + 1) % NR_PCP_LISTS;
	}
	spin_unlock(&zone->lock);
}

static inline int pcp_clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * How many blocks to refill an empty list with (Linux's nr_pcp_alloc()):
 * pcp->batch, doubled for each refill in a row without a free (alloc_factor,
 * up to PCP_BATCH_SCALE_MAX), but never past high less what is listed. A
 * refill also raises high by the batch, up to high_max, unless the zone is
 * short of free pages: a CPU that keeps refilling would rather keep more.
 * A THP list takes one block at a time (Linux takes two): a 2 MiB block held
 * back from the buddy lists is not worth more.
 */
static int nr_pcp_alloc(struct per_cpu_pages *pcp, struct zone *zone, unsigned int order)
{
	int base = pcp->batch, batch, high;

	high = pcp->high = pcp_clamp(pcp->high, pcp->high_min, pcp->high_max);
	if (unlikely(high < base))	/* lists disabled */
		return 1;
	batch = order ? base : base << pcp->alloc_factor;
	if (pcp->high_min != pcp->high_max && !test_bit(ZONE_BELOW_HIGH, &zone->flags))
		high = pcp->high = min(high + batch, pcp->high_max);
	if (order)
		return 1;
	{
		int max_nr = max(high - pcp->count - base, base);

		if (batch <= max_nr && pcp->alloc_factor < PCP_BATCH_SCALE_MAX)
			pcp->alloc_factor++;
		return min(batch, max_nr);
	}
}

/* Is @zone's free count at or above its high watermark? (zone_watermark_ok() for order 0) */
static inline bool zone_above_high_wmark(struct zone *zone)
{
	return zone_page_state(zone, NR_FREE_PAGES) >= (long)zone->high_wmark;
}

/*
 * Mark @zone ZONE_BELOW_HIGH if its free pages fell below the high
 * watermark: frees then shrink pcp->high instead of raising it. Linux looks
 * on every allocation, off the hotter free path; pinmm looks when an
 * allocation goes to the zone itself (a refill, or a block the lists do not
 * hold), which is when NR_FREE_PAGES moves under this CPU, and keeps an
 * allocation served from the lists to the list operation alone.
 */
static inline void zone_check_below_high(struct zone *zone)
{
	if (!test_bit(ZONE_BELOW_HIGH, &zone->flags) && !zone_above_high_wmark(zone))
		set_bit(ZONE_BELOW_HIGH, &zone->flags);
}

/* Take a block of @order and type @mt from this CPU's list, refilling it if empty. */
static struct page *rmqueue_pcplist(struct zone *zone, struct per_cpu_pages *pcp,
				    unsigned int order, int mt, unsigned int alloc_flags)
{
	struct list_head *list = &pcp->lists[order_to_pindex(mt, order)];
	struct page *page;

	spin_lock(&pcp->lock);
	/* An allocation ends a run of frees: halve what counts as freed in a row. */
	pcp->free_count >>= 1;
	if (list_empty(list)) {
		zone_check_below_high(zone);
		pcp->count += rmqueue_bulk(zone, order, nr_pcp_alloc(pcp, zone, order), list,
					   mt, alloc_flags) << order;
	}
	page = list_first_entry_or_null(list, struct page, lru);
	if (page) {
		list_del(&page->lru);
		pcp->count -= 1 << order;
	}
	spin_unlock(&pcp->lock);
	return page;
}

/*
 * The mark a free is measured against (Linux's nr_pcp_high()), tuning
 * pcp->high on the way. Below the zone's high watermark, high shrinks by
 * what was freed in a row and the lists keep no more than they hold (or
 * high_min). Otherwise a free that finds the lists full raises high to hold
 * the pages freed in a row plus a batch, so a CPU freeing in bulk (a
 * migration batch, an munmap) keeps them for its next allocations instead
 * of spilling them into the buddy lists. The caller trims against the mark
 * as it was, so the raise takes effect from the next free. pinmm has no
 * kswapd, so Linux's ZONE_RECLAIM_ACTIVE cut does not arise; and its lists
 * hold no order 1-3 blocks, so neither does the free_high rule for them.
 */
static int nr_pcp_high(struct per_cpu_pages *pcp, struct zone *zone, int batch)
{
	int high = pcp->high = pcp_clamp(pcp->high, pcp->high_min, pcp->high_max);

	if (unlikely(!high) || pcp->high_min == pcp->high_max)
		return high;
	if (test_bit(ZONE_BELOW_HIGH, &zone->flags)) {
		pcp->high = max(high - max(pcp->free_count, batch), pcp->high_min);
		return max(pcp->count, pcp->high_min);
	}
	if (pcp->count >= high && pcp->high < pcp->free_count + batch)
		pcp->high = pcp_clamp(pcp->free_count + batch, pcp->high_min, pcp->high_max);
	return high;
}

/*
 * How many pages a free past the mark gives back (Linux's nr_pcp_free()):
 * the pages freed in a row, at least a batch, leaving at least a batch.
 */
static int nr_pcp_free(struct per_cpu_pages *pcp, int batch, int high)
{
	if (unlikely(high < batch))	/* lists disabled */
		return 1;
	return pcp_clamp(pcp->free_count, batch, high - batch);
}

/* Put a prepared block on this CPU's list; trim the lists past pcp->high. */
static bool free_to_pcp(struct zone *zone, struct page *page, unsigned int order)
{
	struct per_cpu_pages *pcp;
	int mt, pindex, batch, high;

	if (!pcp_allowed_order(order))
		return false;
	pcp = this_cpu_pcp(zone);
	if (!pcp)
		return false;
	mt = get_pfnblock_migratetype(page_to_pfn(page));
	if (unlikely(mt >= MIGRATE_PCPTYPES)) {
		/* an isolated block keeps what is freed in it, at once */
		if (is_migrate_isolate(mt))
			return false;
		mt = MIGRATE_MOVABLE;	/* CMA pages serve movable requests */
	}
	spin_lock(&pcp->lock);
	/* a block the lists can never hold (a THP past high_max; lists disabled) */
	if ((1 << order) >= pcp->high_max) {
		spin_unlock(&pcp->lock);
		return false;
	}
	/* A free ends a run of refills (Linux's free_unref_page_commit()). */
	pcp->alloc_factor >>= 1;
	pindex = order_to_pindex(mt, order);
	list_add(&page->lru, &pcp->lists[pindex]);
	pcp->count += 1 << order;
	batch = pcp->batch;
	if (pcp->free_count < (batch << PCP_BATCH_SCALE_MAX))
		pcp->free_count += 1 << order;
	/* Below high with the zone above its watermark, nr_pcp_high() would change nothing. */
	if (likely(pcp->count < pcp->high) && !test_bit(ZONE_BELOW_HIGH, &zone->flags)) {
		spin_unlock(&pcp->lock);
		return true;
	}
	high = nr_pcp_high(pcp, zone, batch);
	if (pcp->count >= high) {
		/* the list just added to goes first */
		free_pcppages_bulk(zone, nr_pcp_free(pcp, batch, high), pcp, pindex);
		if (test_bit(ZONE_BELOW_HIGH, &zone->flags) && zone_above_high_wmark(zone))
			clear_bit(ZONE_BELOW_HIGH, &zone->flags);
	}
	spin_unlock(&pcp->lock);
	return true;
}

int decay_pcp_high(struct zone *zone, struct per_cpu_pages *pcp)
{
	int todo = 0, to_drain;

	spin_lock(&pcp->lock);
	/* An eighth a round, at most what frees a full free_count's batch. */
	if (pcp->high > pcp->high_min) {
		pcp->high = max(max(pcp->count - (pcp->batch << PCP_BATCH_SCALE_MAX),
				    pcp->high - (pcp->high >> 3)), pcp->high_min);
		if (pcp->high > pcp->high_min)
			todo++;
	}
	to_drain = pcp->count - pcp->high;
	if (to_drain > 0) {
		free_pcppages_bulk(zone, to_drain, pcp, 0);
		todo++;
	}
	spin_unlock(&pcp->lock);
	return todo;
}

int refresh_pcp_high(void)
{
	int cpu = smp_processor_id(), todo = 0;

	if (cpu < 0)
		return 0;
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (pinmm_zones[z].per_cpu_pageset)
			todo += decay_pcp_high(&pinmm_zones[z],
					       &pinmm_zones[z].per_cpu_pageset[cpu]);
	return todo;
}

static void drain_pages_zone(int cpu, struct zone *zone)
{
	struct per_cpu_pages *pcp = &zone->per_cpu_pageset[cpu];

	spin_lock(&pcp->lock);
	free_pcppages_bulk(zone, pcp->count, pcp, 0);
	spin_unlock(&pcp->lock);
}

static void drain_pages(int cpu, struct zone *zone)
{
	if (zone) {
		if (zone->per_cpu_pageset)
			drain_pages_zone(cpu, zone);
		return;
	}
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (pinmm_zones[z].per_cpu_pageset)
			drain_pages_zone(cpu, &pinmm_zones[z]);
}

void drain_local_pages(struct zone *zone)
{
	int cpu = smp_processor_id();

	if (cpu >= 0)
		drain_pages(cpu, zone);
}

void drain_all_pages(struct zone *zone)
{
	int nr = pinmm_nr_cpu_ids();

	for (int cpu = 0; cpu < nr; cpu++)
		drain_pages(cpu, zone);
}

unsigned long zone_pcp_pages(struct zone *zone)
{
	unsigned long nr = 0;
	int nr_cpus = pinmm_nr_cpu_ids();

	if (!zone->per_cpu_pageset)
		return 0;
	for (int cpu = 0; cpu < nr_cpus; cpu++) {
		struct per_cpu_pages *pcp = &zone->per_cpu_pageset[cpu];

		spin_lock(&pcp->lock);
		nr += (unsigned long)pcp->count;
		spin_unlock(&pcp->lock);
	}
	return nr;
}

/*
 * Linux's zone_batchsize() and zone_highsize() for a zone of @managed pages
 * on @ncpus CPUs: a batch of about a quarter of managed/1024 (at most 63);
 * high_min the zone's low watermark shared out between the CPUs, high_max an
 * eighth of the zone shared out (MIN_PERCPU_PAGELIST_HIGH_FRACTION), each at
 * least four batches. The watermarks are Linux's for a zone alone:
 * min_free_kbytes = 4 * sqrt(KiB), low = min + max(min / 4, 0.1% of managed),
 * high = min + twice that step.
 */
static void zone_pcp_sizes(unsigned long managed, int ncpus, int *batch, int *high,
			   int *high_max, unsigned long *high_wmark)
{
	unsigned long b = min(managed >> 10, (1UL << 20) / PAGE_SIZE) / 4, min_pages, low, h;
	unsigned long kb = managed * (PAGE_SIZE / 1024), root = 1;

	b = max(b, 1UL);
	b = (1UL << (63 - __builtin_clzl(b + b / 2))) - 1;
	b = max(b, 1UL);
	while ((root + 1) * (root + 1) <= kb)
		root++;
	min_pages = 4 * root / (PAGE_SIZE / 1024);
	low = min_pages + max(min_pages / 4, managed / 1000);
	h = max(low / (unsigned long)max(ncpus, 1), 4 * b);
	*batch = (int)b;
	*high = (int)h;
	*high_max = (int)max(managed / 8 / (unsigned long)max(ncpus, 1), h);
	*high_wmark = min_pages + 2 * (low - min_pages);
}

static void zone_pcp_init(struct zone *zone, unsigned long managed)
{
	zone_pcp_sizes(managed, (int)max(1L, sysconf(_SC_NPROCESSORS_ONLN)), &zone->pcp_batch,
		       &zone->pcp_high, &zone->pcp_high_max, &zone->high_wmark);
	atomic_store_explicit(&zone->flags, 0, memory_order_relaxed);
	zone->per_cpu_pageset = pcp_sets[zone->idx];
	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		struct per_cpu_pages *pcp = &zone->per_cpu_pageset[cpu];

		spin_lock_init(&pcp->lock, LOCK_RANK_PCP);
		pcp->count = 0;
		pcp->batch = zone->pcp_batch;
		pcp->high = pcp->high_min = zone->pcp_high;
		pcp->high_max = zone->pcp_high_max;
		pcp->free_count = 0;
		pcp->alloc_factor = 0;
		for (int i = 0; i < NR_PCP_LISTS; i++)
			INIT_LIST_HEAD(&pcp->lists[i]);
	}
}

static void zone_pcp_set(struct zone *zone, int batch, int high_min, int high_max)
{
	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		struct per_cpu_pages *pcp = &zone->per_cpu_pageset[cpu];

		spin_lock(&pcp->lock);
		pcp->batch = batch;
		pcp->high = pcp->high_min = high_min;
		pcp->high_max = high_max;
		spin_unlock(&pcp->lock);
	}
}

void zone_pcp_disable(struct zone *zone)
{
	if (!zone->per_cpu_pageset)
		return;
	/* high 0: every free goes to the buddy lists; batch 1: an allocation takes one page */
	zone_pcp_set(zone, 1, 0, 0);
	drain_all_pages(zone);
}

void zone_pcp_enable(struct zone *zone)
{
	if (zone->per_cpu_pageset)
		zone_pcp_set(zone, zone->pcp_batch, zone->pcp_high, zone->pcp_high_max);
}

/* A thread exits (its CPU goes offline): nothing may stay on its lists. */
static void page_alloc_cpu_dead(int cpu)
{
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pinmm_zones[z];

		if (zone->per_cpu_pageset)
			drain_pages_zone(cpu, zone);
	}
	vm_stats_fold_cpu(cpu);
}

/* ---- allocation from the zones ------------------------------------------------ */

static struct page *get_page_from_freelist(unsigned int order, int mt, unsigned int alloc_flags,
					   enum zone_type highest)
{
	for (int z = (int)highest; z >= ZONE_NORMAL; z--) {
		struct zone *zone = &pinmm_zones[z];
		struct per_cpu_pages *pcp;
		struct page *page;

		if (!populated_zone(zone) || z == ZONE_DEVICE)
			continue;
		if (pcp_allowed_order(order) && (pcp = this_cpu_pcp(zone))) {
			page = rmqueue_pcplist(zone, pcp, order, mt, alloc_flags);
		} else {
			zone_check_below_high(zone);
			spin_lock(&zone->lock);
			page = __rmqueue(zone, order, mt, alloc_flags);
			spin_unlock(&zone->lock);
		}
		if (page) {
			count_vm_events(z == ZONE_MOVABLE ? PGALLOC_MOVABLE : PGALLOC_NORMAL,
					1L << order);
			return page;
		}
	}
	return NULL;
}

/* Linux's page_alloc.c: rounds of direct reclaim without progress before giving up. */
#define MAX_RECLAIM_RETRIES	16

unsigned long (*pinmm_direct_reclaim)(unsigned long nr_pages);
unsigned long (*pinmm_direct_reclaim_anon)(unsigned long nr_pages);

/*
 * Page cache first, then the deferred-split shrinker (a partly unmapped THP
 * split frees its unmapped pages, Linux's shrink_slab() in the same pass),
 * then anon memory if swap is on (Linux scans both LRUs). A folio split
 * counts as one page of progress: it freed at least one.
 */
static unsigned long direct_reclaim(unsigned long nr_pages)
{
	unsigned long (*anon)(unsigned long) =
		__atomic_load_n(&pinmm_direct_reclaim_anon, __ATOMIC_ACQUIRE);
	unsigned long got = 0;

	if (pinmm_direct_reclaim)
		got = pinmm_direct_reclaim(nr_pages);
	if (got < nr_pages)
		got += deferred_split_scan(nr_pages - got);
	if (got < nr_pages && anon)
		got += anon(nr_pages - got);
	return got;
}

struct page *__alloc_pages_site(gfp_t gfp, unsigned int order, const struct alloc_site *site)
{
	unsigned int alloc_flags = 0;
	struct page *page;
	int mt;

	if (WARN_ON_ONCE(order > MAX_PAGE_ORDER))
		return NULL;
	if (WARN_ON_ONCE(!pinmm_machine.booted))
		return NULL;
	if (!(gfp & __GFP_NOFAIL) && should_fail(PINMM_FAIL_PAGE_ALLOC))
		return NULL;
	gfp = current_gfp_context(gfp);
	mt = gfp_migratetype(gfp);
	if (mt == MIGRATE_MOVABLE)
		alloc_flags |= ALLOC_CMA;
	page = get_page_from_freelist(order, mt, alloc_flags, gfp_zone(gfp));
	/*
	 * Free pages may sit on the CPUs' lists (another type's list of this
	 * CPU, or another CPU's): give them back and try again.
	 */
	if (!page) {
		drain_all_pages(NULL);
		page = get_page_from_freelist(order, mt, alloc_flags, gfp_zone(gfp));
	}
	/*
	 * src/fs: direct reclaim of clean page cache (the file layer installs
	 * the hook), and of anon memory while swap is on (src/mm/vmscan.c),
	 * then one more try, as __alloc_pages_direct_reclaim() does;
	 * what reclaim freed went to this CPU's lists, so drain them if that
	 * try fails, as Linux does after reclaim. As __alloc_pages_slowpath()
	 * (should_reclaim_retry()), again while reclaim makes progress (another
	 * CPU may have taken what it freed), and up to MAX_RECLAIM_RETRIES
	 * rounds without (the pages it wants are locked or referenced now).
	 */
	if (!page && (gfp & __GFP_DIRECT_RECLAIM) && direct_reclaim(max(32UL, 1UL << order))) {
		int no_progress = 0, rounds = 0;

		for (;;) {
			page = get_page_from_freelist(order, mt, alloc_flags, gfp_zone(gfp));
			if (!page) {
				drain_all_pages(NULL);
				page = get_page_from_freelist(order, mt, alloc_flags, gfp_zone(gfp));
			}
			if (page || no_progress >= MAX_RECLAIM_RETRIES ||
			    ++rounds > 4 * MAX_RECLAIM_RETRIES)
				break;
			cond_resched();
			if (direct_reclaim(max(32UL, 1UL << order)))
				no_progress = 0;
			else
				no_progress++;
		}
	}
	/*
	 * src/migrate: a high-order request that may sleep compacts the zones
	 * it may use once and tries again (Linux's __alloc_pages_direct_compact).
	 */
	if (!page && order > 0 && (gfp & __GFP_DIRECT_RECLAIM) &&
	    try_to_compact_pages(gfp, order))
		page = get_page_from_freelist(order, mt, alloc_flags, gfp_zone(gfp));
	if (!page) {
		count_vm_event(ALLOCSTALL);
		return NULL;
	}
	prep_new_page(page, order, gfp, site);
	return page;
}

/* ---- taking free blocks directly (src/migrate) ------------------------------ */

unsigned long __isolate_free_page(struct page *page, unsigned int order)
{
	struct zone *zone = page_zone(page);

	lockdep_assert_held(&zone->lock);
	VM_BUG_ON(!PageBuddy(page) || buddy_order(page) != order);
	del_from_free_list(page, zone, order, get_pfnblock_migratetype(page_to_pfn(page)));
	return 1UL << order;
}

unsigned int buddy_order_locked(struct page *page)
{
	lockdep_assert_held(&page_zone(page)->lock);
	return PageBuddy(page) ? buddy_order(page) : 0;
}

void prep_isolated_pages(struct page *page, unsigned int order, const struct alloc_site *site)
{
	for (unsigned long i = 0; i < (1UL << order); i++)
		prep_new_page(&page[i], 0, 0, site);
}

struct folio *__folio_alloc_site(gfp_t gfp, unsigned int order, const struct alloc_site *site)
{
	struct page *page = __alloc_pages_site(gfp | __GFP_COMP, order, site);

	return page ? (struct folio *)page : NULL;
}

/* ---- freeing ---------------------------------------------------------------- */

static __cold void bad_page(struct page *page, const char *reason)
{
	atomic_fetch_add(&bad_pages, 1);
	fprintf(stderr, "pinmm: BUG: Bad page state: pfn %#lx: %s\n", page_to_pfn(page), reason);
	dump_page(page, reason);
	WARN_ON_ONCE(1);
}

static bool free_page_is_bad(struct page *page, const char **why)
{
	unsigned long flags = atomic_load_explicit(&page->flags, memory_order_relaxed);
	unsigned long mapping = (unsigned long)atomic_load_explicit(&page->mapping,
								     memory_order_relaxed);

	if (atomic_load_explicit(&page->_mapcount, memory_order_relaxed) != -1)
		*why = "nonzero mapcount";
	else if (page_ref_count(page) != 0)
		*why = "nonzero _refcount";
	else if (mapping && !(mapping & PAGE_MAPPING_FLAGS))
		*why = "non-NULL mapping";
	else if (flags & PAGE_FLAGS_CHECK_AT_FREE)
		*why = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set";
	else
		return false;
	return true;
}

/*
 * Check and reset the pages of a block about to be freed. A page in a bad
 * state is reported and the whole block is leaked, as Linux does: freeing it
 * would hand corrupted state to the next user.
 */
static bool free_pages_prepare(struct page *page, unsigned int order)
{
	unsigned long nr = 1UL << order;
	const char *why;

	/*
	 * The head first, while the folio fields in page[1] and page[2] are
	 * intact: a bad folio is leaked whole, with its order, so the shutdown
	 * report shows one folio rather than 2^order stray frames.
	 */
	if (free_page_is_bad(page, &why)) {
		bad_page(page, why);
		return false;
	}
	if (PageHead(page)) {
		struct folio *folio = (struct folio *)page;

		if (folio_pincount(folio)) {
			bad_page(page, "freeing a folio that is still pinned (_pincount)");
			return false;
		}
		if (atomic_load_explicit(&folio->_entire_mapcount, memory_order_relaxed) != -1 ||
		    atomic_load_explicit(&folio->_nr_pages_mapped, memory_order_relaxed) != 0) {
			bad_page(page, "freeing a folio that is still mapped");
			return false;
		}
		for (unsigned long i = 1; i < nr; i++) {
			if (compound_head(&page[i]) != page) {
				bad_page(&page[i], "corrupted compound_head");
				return false;
			}
		}
		/* the folio fields in page[1] and page[2] are checked: wipe them */
		wipe_folio_fields(page, nr);
	}
	for (unsigned long i = 1; i < nr; i++) {
		struct page *p = &page[i];

		if (free_page_is_bad(p, &why)) {
			bad_page(p, why);
			return false;
		}
	}
	for (unsigned long i = 0; i < nr; i++) {
		struct page *p = &page[i];
		unsigned long zone_bits = atomic_load_explicit(&p->flags, memory_order_relaxed) &
					  (ZONES_MASK << ZONES_PGSHIFT);

		atomic_store_explicit(&p->flags, zone_bits, memory_order_relaxed);
		atomic_store_explicit(&p->compound_head, 0, memory_order_relaxed);
		/*
		 * Release: whoever sees the mapping gone (KSM's ksm_get_folio()
		 * finding its node stale, then freeing it) sees everything done
		 * with the folio before, such as an rmap walk of that node.
		 */
		atomic_store_explicit(&p->mapping, NULL, memory_order_release);
		p->index = 0;
		p->private = 0;
		p->lru.next = p->lru.prev = NULL;
	}
	reset_page_owner(page, order);
#ifdef PINMM_ASAN
	/* a device or CPU touching a freed frame is an ASan report, not silence */
	ASAN_POISON_MEMORY_REGION(page_address(page), PAGE_SIZE << order);
#endif
	return true;
}

static void __free_one_page(unsigned long pfn, struct zone *zone, unsigned int order)
{
	int mt = get_pfnblock_migratetype(pfn);

	lockdep_assert_held(&zone->lock);
	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_pfn = pfn ^ (1UL << order);
		struct page *buddy = pfn_to_page(buddy_pfn);

		if (!zone_spans_pfn(zone, buddy_pfn) || !PageBuddy(buddy) ||
		    buddy_order(buddy) != order)
			break;
		del_from_free_list(buddy, zone, order, mt);
		pfn &= buddy_pfn;
		order++;
	}
	add_to_free_list(pfn_to_page(pfn), zone, order, mt, false);
}

static void free_one_block(struct page *page, unsigned int order)
{
	struct zone *zone = page_zone(page);

	if (!free_pages_prepare(page, order))
		return;
	if (free_to_pcp(zone, page, order)) {
		count_vm_events(PGFREE, 1L << order);
		return;
	}
	spin_lock(&zone->lock);
	__free_one_page(page_to_pfn(page), zone, order);
	spin_unlock(&zone->lock);
	count_vm_events(PGFREE, 1L << order);
}

void __free_pages(struct page *page, unsigned int order)
{
	struct folio *folio = (struct folio *)page;
	/* read before the put: once our reference is gone the page may be reused */
	bool head = PageHead(page);

	VM_BUG_ON(PageTail(page));
	if (folio_ref_dec_and_test(folio)) {
		free_one_block(page, order);
	} else if (!head) {
		/*
		 * Someone holds a speculative reference on the first page of a
		 * loose block (a pfn walk, a lockless lookup); its folio_put()
		 * will free that page alone. Free the rest now, as Linux does,
		 * or it would leak.
		 */
		while (order-- > 0)
			free_one_block(page + (1UL << order), order);
	}
}

/* The last reference to @f is gone: give its frames back. (Linux: mm/swap.c) */
void __folio_put(struct folio *f)
{
	if (unlikely(folio_is_zone_device(f))) {
		/* device pages return to their driver, not the buddy allocator */
		free_zone_device_folio(f);
		return;
	}
	/* hugetlb folios go back to their pool (src/mm/hugetlb.c) */
	if (folio_test_hugetlb(f)) {
		free_huge_folio(f);
		return;
	}
	/*
	 * The last reference also takes the folio off the LRU (Linux's
	 * __page_cache_release): nobody can isolate a folio with no references.
	 */
	if (folio_test_lru(f))
		__folio_clear_lru(f);
	/* a partly unmapped THP's last reference: off the deferred-split queue */
	folio_unqueue_deferred_split(f);
	free_one_block(&f->page, folio_order(f));
}

/* ---- boot, accounting and checking ---------------------------------------- */

void pinmm_free_area_init(struct zone *zone, unsigned long start, unsigned long nr)
{
	VM_BUG_ON(!IS_ALIGNED(start, pageblock_nr_pages) || !IS_ALIGNED(nr, pageblock_nr_pages));
	spin_lock(&zone->lock);
	for (unsigned long pfn = start; pfn < start + nr; pfn += pageblock_nr_pages) {
		int mt = get_pfnblock_migratetype(pfn);

		add_to_free_list(pfn_to_page(pfn), zone, pageblock_order, mt, true);
#ifdef PINMM_ASAN
		ASAN_POISON_MEMORY_REGION(page_address(pfn_to_page(pfn)),
					  PAGE_SIZE * pageblock_nr_pages);
#endif
	}
	spin_unlock(&zone->lock);
	atomic_fetch_add(&zone->managed_pages, (long)nr);
	zone_pcp_init(zone, nr);
	refresh_zone_stat_thresholds();
	pinmm_cpuhp_set_dead(page_alloc_cpu_dead);
}


unsigned long zone_free_pages_locked(struct zone *zone)
{
	unsigned long nr = 0;

	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		nr += zone->free_area[o].nr_free << o;
	return nr;
}

/*
 * Walk every free list of @zone and check the allocator's invariants: each
 * block well-formed, on the list of its pageblock type, counted once, no frame
 * in two blocks, and the counters equal to the recount. Returns the number of
 * problems found (0 = consistent).
 */
int pinmm_check_zone(struct zone *zone, bool verbose)
{
	unsigned long span = zone->spanned_pages, nr_free = 0, nr_cma = 0;
	unsigned char *seen;
	int errors = 0;

#define CHECK_FAIL(fmt, ...) do { errors++; if (verbose) fprintf(stderr, "pinmm: zone %s: " fmt, zone->name, ##__VA_ARGS__); } while (0)
	if (!populated_zone(zone) || zone->idx == ZONE_DEVICE)
		return 0;
	seen = calloc(span, 1);
	if (!seen)
		return -ENOMEM;
	spin_lock(&zone->lock);
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
		struct free_area *area = &zone->free_area[o];
		unsigned long blocks = 0;

		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			unsigned long n = 0;
			struct page *page;

			list_for_each_entry(page, &area->free_list[mt], lru) {
				unsigned long pfn = page_to_pfn(page);

				n++;
				if (!zone_spans_pfn(zone, pfn) || !IS_ALIGNED(pfn, 1UL << o) ||
				    !zone_spans_pfn(zone, pfn + (1UL << o) - 1)) {
					CHECK_FAIL("block pfn %#lx order %u misplaced\n", pfn, o);
					continue;
				}
				if (!PageBuddy(page) || buddy_order(page) != o)
					CHECK_FAIL("pfn %#lx on order-%u list is not a buddy of that order\n",
						   pfn, o);
				if (get_pfnblock_migratetype(pfn) != mt)
					CHECK_FAIL("pfn %#lx on %s list but pageblock is %s\n", pfn,
						   migratetype_names[mt],
						   migratetype_names[get_pfnblock_migratetype(pfn)]);
				for (unsigned long i = 0; i < (1UL << o); i++) {
					unsigned long idx = pfn + i - zone->zone_start_pfn;

					if (seen[idx]++)
						CHECK_FAIL("pfn %#lx is in two free blocks\n", pfn + i);
					if (i && PageBuddy(pfn_to_page(pfn + i)))
						CHECK_FAIL("pfn %#lx inside a free block is marked buddy\n",
							   pfn + i);
				}
				if (!is_migrate_isolate(mt))
					nr_free += 1UL << o;
				if (is_migrate_cma(mt))
					nr_cma += 1UL << o;
			}
			if (n != area->nr_free_type[mt])
				CHECK_FAIL("order %u %s: %lu blocks listed, %lu counted\n", o,
					   migratetype_names[mt], n, area->nr_free_type[mt]);
			blocks += n;
		}
		if (blocks != area->nr_free)
			CHECK_FAIL("order %u: %lu blocks listed, nr_free %lu\n", o, blocks,
				   area->nr_free);
	}
	if ((long)nr_free != zone_page_state_snapshot(zone, NR_FREE_PAGES))
		CHECK_FAIL("NR_FREE_PAGES %ld, recount %lu\n", zone_page_state_snapshot(zone, NR_FREE_PAGES),
			   nr_free);
	if ((long)nr_cma != zone_page_state_snapshot(zone, NR_FREE_CMA_PAGES))
		CHECK_FAIL("NR_FREE_CMA_PAGES %ld, recount %lu\n",
			   zone_page_state_snapshot(zone, NR_FREE_CMA_PAGES), nr_cma);
	/* a frame not in a free block must not look free */
	for (unsigned long i = 0; i < span; i++)
		if (!seen[i] && PageBuddy(pfn_to_page(zone->zone_start_pfn + i)))
			CHECK_FAIL("pfn %#lx marked buddy but on no free list\n",
				   zone->zone_start_pfn + i);
	spin_unlock(&zone->lock);
	free(seen);
#undef CHECK_FAIL
	return errors;
}

void pinmm_page_alloc_reset(void)
{
	pinmm_fail_reset();	/* the booting thread's sites */
	atomic_store(&bad_pages, 0);
}
