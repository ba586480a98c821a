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
 */
#include "internal.h"

#include <pinmm/fault-inject.h>
#include <pinmm/sched.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int get_pfnblock_migratetype(unsigned long pfn)
{
	return atomic_load_explicit(&pinmm_machine.pageblock_mt[pfn >> pageblock_order],
				    memory_order_relaxed);
}

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

static struct page *get_page_from_freelist(unsigned int order, int mt, unsigned int alloc_flags,
					   enum zone_type highest)
{
	for (int z = (int)highest; z >= ZONE_NORMAL; z--) {
		struct zone *zone = &pinmm_zones[z];
		struct page *page;

		if (!populated_zone(zone) || z == ZONE_DEVICE)
			continue;
		spin_lock(&zone->lock);
		page = __rmqueue(zone, order, mt, alloc_flags);
		spin_unlock(&zone->lock);
		if (page) {
			count_vm_events(z == ZONE_MOVABLE ? PGALLOC_MOVABLE : PGALLOC_NORMAL,
					1L << order);
			return page;
		}
	}
	return NULL;
}

unsigned long (*pinmm_direct_reclaim)(unsigned long nr_pages);

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
	 * src/fs: direct reclaim of clean page cache (the file layer installs
	 * the hook), then one more try, as __alloc_pages_direct_reclaim() does.
	 */
	if (!page && (gfp & __GFP_DIRECT_RECLAIM) && pinmm_direct_reclaim &&
	    pinmm_direct_reclaim(max(32UL, 1UL << order)))
		page = get_page_from_freelist(order, mt, alloc_flags, gfp_zone(gfp));
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
		for (unsigned long i = 1; i < min(nr, 3UL); i++) {
			struct page *p = &page[i];

			atomic_fetch_and_explicit(&p->flags, ~0xffUL, memory_order_relaxed);
			p->lru.next = p->lru.prev = NULL;
			atomic_store_explicit(&p->mapping, NULL, memory_order_relaxed);
			p->index = 0;
			p->private = 0;
		}
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
		atomic_store_explicit(&p->mapping, NULL, memory_order_relaxed);
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
		if (!WARN_ON_ONCE(!pinmm_device_folio_free))
			pinmm_device_folio_free(f);
		return;
	}
	/*
	 * The last reference also takes the folio off the LRU (Linux's
	 * __page_cache_release): nobody can isolate a folio with no references.
	 */
	if (folio_test_lru(f))
		__folio_clear_lru(f);
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
	if ((long)nr_free != zone_page_state(zone, NR_FREE_PAGES))
		CHECK_FAIL("NR_FREE_PAGES %ld, recount %lu\n", zone_page_state(zone, NR_FREE_PAGES),
			   nr_free);
	if ((long)nr_cma != zone_page_state(zone, NR_FREE_CMA_PAGES))
		CHECK_FAIL("NR_FREE_CMA_PAGES %ld, recount %lu\n",
			   zone_page_state(zone, NR_FREE_CMA_PAGES), nr_cma);
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
