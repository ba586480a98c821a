/* SPDX-License-Identifier: MIT */
/*
 * The page allocator's interface: gfp flags, alloc_pages(), folio_alloc(),
 * __free_pages(). Flag names and meanings follow Linux's gfp_types.h.
 *
 * Where an allocation may come from:
 *   zone        __GFP_HIGHMEM|__GFP_MOVABLE together may use ZONE_MOVABLE
 *               (tried first), everything may use ZONE_NORMAL.
 *   migratetype __GFP_MOVABLE -> MIGRATE_MOVABLE (and may use CMA),
 *               __GFP_RECLAIMABLE -> MIGRATE_RECLAIMABLE, else UNMOVABLE.
 * Inside memalloc_pin_save() (sched.h) __GFP_MOVABLE is dropped, so nothing
 * comes from ZONE_MOVABLE or CMA: what a long-term pin faults in is pinnable.
 */
#ifndef PINMM_GFP_H
#define PINMM_GFP_H

#include <pinmm/mm_types.h>
#include <pinmm/mmzone.h>

#define __GFP_HIGHMEM		0x02u	/* may use the highest zone (ZONE_MOVABLE) */
#define __GFP_MOVABLE		0x08u	/* the page can be migrated */
#define __GFP_RECLAIMABLE	0x10u
#define __GFP_NOWARN		0x200u	/* no message on failure */
#define __GFP_RETRY_MAYFAIL	0x400u
#define __GFP_NOFAIL		0x800u	/* must not fail (nor be failed by injection) */
#define __GFP_NORETRY		0x1000u
#define __GFP_COMP		0x4000u	/* a large folio, not order-N loose pages */
#define __GFP_ZERO		0x8000u	/* zero the memory */
#define __GFP_DIRECT_RECLAIM	0x40000u /* may compact to satisfy the request */
#define __GFP_KSWAPD_RECLAIM	0x80000u

#define GFP_MOVABLE_MASK	(__GFP_RECLAIMABLE | __GFP_MOVABLE)
#define __GFP_RECLAIM		(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL		__GFP_RECLAIM
#define GFP_NOWAIT		__GFP_KSWAPD_RECLAIM
#define GFP_USER		__GFP_RECLAIM
#define GFP_HIGHUSER		(GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE	(GFP_HIGHUSER | __GFP_MOVABLE)
#define GFP_TRANSHUGE_LIGHT	((GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOWARN) & \
				 ~__GFP_RECLAIM)
#define GFP_TRANSHUGE		(GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM)

/* Where each allocation was made, for leak reports (page_owner). */
struct alloc_site {
	const char *file;
	int line;
	const char *func;
};
#define PINMM_SITE ({							\
	static const struct alloc_site __site = { __FILE__, __LINE__, __func__ }; \
	&__site;							\
})

/*
 * Direct reclaim: what a failed allocation that may sleep calls before it
 * gives up (the file layer installs it: clean page cache). Pages wanted in,
 * pages freed out.
 */
extern unsigned long (*pinmm_direct_reclaim)(unsigned long nr_pages);
/* ... and anon memory, when page cache gave nothing (installed while swap is on). */
extern unsigned long (*pinmm_direct_reclaim_anon)(unsigned long nr_pages);

int gfp_migratetype(gfp_t gfp);
enum zone_type gfp_zone(gfp_t gfp);
/* The gfp mask after applying the current thread's scope (memalloc_pin). */
gfp_t current_gfp_context(gfp_t gfp);

/**
 * alloc_pages - allocate 2^@order contiguous frames.
 * @gfp: where from and how (see above); __GFP_COMP makes a large folio.
 * @order: 0..MAX_PAGE_ORDER.
 *
 * Return: the first page with a reference count of 1 (tails 0), or NULL when
 * no zone allowed by @gfp has a free block big enough (an order above
 * MAX_PAGE_ORDER WARNs and fails). Release with __free_pages(page, order), or
 * with folio_put() for __GFP_COMP allocations.
 * Context: takes zone->lock; does not sleep.
 */
struct page *__alloc_pages_site(gfp_t gfp, unsigned int order, const struct alloc_site *site);
struct folio *__folio_alloc_site(gfp_t gfp, unsigned int order, const struct alloc_site *site);
#define alloc_pages(gfp, order)	__alloc_pages_site(gfp, order, PINMM_SITE)
#define alloc_page(gfp)		__alloc_pages_site(gfp, 0, PINMM_SITE)
/* folio_alloc - a folio of 2^@order pages (large if order > 0), refcount 1. */
#define folio_alloc(gfp, order)	__folio_alloc_site(gfp, order, PINMM_SITE)

/**
 * __free_pages - drop a reference on pages from alloc_pages(); free on the last.
 * For an order > 0 allocation without __GFP_COMP, only the first page holds the
 * reference; the whole 2^@order block is freed together. If someone else still
 * holds a (speculative) reference on the first page, every other page is freed
 * now and the first one when that reference is dropped.
 */
void __free_pages(struct page *page, unsigned int order);

/**
 * drain_all_pages - give every CPU's per-CPU free pages back to the buddy allocator.
 * @zone: only this zone's lists, or NULL for every zone.
 *
 * Pages on the per-CPU lists are free but not on the free lists, so they do
 * not merge and look busy to a pfn walk: call this before concluding that a
 * range cannot be emptied (alloc_contig_range(), offlining, compaction do).
 * A page freed on another CPU while this runs may land on its list again.
 * Context: takes each CPU's pcp lock, then zone->lock; may not hold either.
 */
void drain_all_pages(struct zone *zone);

/**
 * drain_local_pages - drain the calling CPU's per-CPU lists (of @zone, or all if NULL).
 * @zone: the zone or NULL.
 *
 * Context: as drain_all_pages().
 */
void drain_local_pages(struct zone *zone);

struct per_cpu_pages;
/**
 * decay_pcp_high - lower a CPU's raised pcp->high by an eighth and trim to it.
 * @zone: the zone.
 * @pcp: one of its per-CPU list sets (any CPU's).
 *
 * Linux runs it once a second per CPU from the vmstat worker, so pages a
 * bulk free parked on the lists go back when the CPU stops using them; the
 * fall is capped so one round frees at most batch << PCP_BATCH_SCALE_MAX
 * pages. pinmm has no such worker: refresh_pcp_high() is the round.
 * Context: takes @pcp->lock, then zone->lock.
 * Return: nonzero while there is more to decay or drain.
 */
int decay_pcp_high(struct zone *zone, struct per_cpu_pages *pcp);
/* One decay_pcp_high() round over the calling CPU's lists of every zone; nonzero if more to do. */
int refresh_pcp_high(void);

/*
 * Fault injection: pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, n, 0) makes the
 * calling thread's @n-th next alloc_pages()/folio_alloc() fail
 * (include/pinmm/fault-inject.h).
 */

#endif /* PINMM_GFP_H */
