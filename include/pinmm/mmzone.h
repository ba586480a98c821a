/* SPDX-License-Identifier: MIT */
/*
 * Zones, migratetypes and pageblocks.
 *
 * The machine has one node and three zones, in pfn order:
 *   ZONE_NORMAL   kernel and user memory; holds the CMA area (MIGRATE_CMA
 *                 pageblocks, which serve only movable allocations)
 *   ZONE_MOVABLE  movable allocations only: user pages, so it can be emptied
 *                 (hot-unplugged) by migration — unless something is pinned
 *   ZONE_DEVICE   the pmem range for fsdax, then the device-memory window
 *                 (memremap.h); never on the buddy allocator
 *
 * Every 2 MiB pageblock has a migratetype. A free buddy block always sits on
 * the free list of its pageblock's migratetype (the modern Linux invariant);
 * when a pageblock changes type its free blocks move lists with it.
 * MAX_PAGE_ORDER equals pageblock_order here, so a free block never spans two
 * pageblocks. (x86 Linux allows one order more; nothing in pinning depends on
 * 4 MiB blocks, and one type per block keeps the invariant exact.)
 */
#ifndef PINMM_MMZONE_H
#define PINMM_MMZONE_H

#include <pinmm/bitops.h>
#include <pinmm/list.h>
#include <pinmm/locks.h>
#include <pinmm/vmstat.h>
#include <pinmm/types.h>

#define MAX_PAGE_ORDER		9
#define NR_PAGE_ORDERS		(MAX_PAGE_ORDER + 1)
#define MAX_ORDER_NR_PAGES	(1UL << MAX_PAGE_ORDER)
#define pageblock_order		9
#define pageblock_nr_pages	(1UL << pageblock_order)

enum zone_type {
	ZONE_NORMAL,
	ZONE_MOVABLE,
	ZONE_DEVICE,
	MAX_NR_ZONES
};

enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES,
	MIGRATE_CMA = MIGRATE_PCPTYPES,	/* movable-only, contiguous on demand */
	MIGRATE_ISOLATE,		/* being emptied; no allocation from it */
	MIGRATE_TYPES
};

struct free_area {
	struct list_head free_list[MIGRATE_TYPES];	/* (z) */
	unsigned long nr_free;				/* (z) blocks, all types */
	unsigned long nr_free_type[MIGRATE_TYPES];	/* (z) blocks per type */
};

/*
 * Per-CPU page lists (Linux's struct per_cpu_pages): each CPU keeps a few
 * free order-0 pages per migratetype, and free THP-sized (pageblock-order)
 * blocks, out of the buddy allocator, so most allocations and frees touch
 * no shared cache line and take no zone->lock. Pages on these lists are
 * allocated as far as the buddy allocator and NR_FREE_PAGES are concerned
 * (not PageBuddy, refcount 0); drain_all_pages() gives them back.
 * Lock letters: (l) pcp->lock (taken by the owning CPU, and by a drainer
 * from another CPU), (c) set at boot.
 */
#define NR_PCP_ORDER0_LISTS	MIGRATE_PCPTYPES
#define NR_PCP_LISTS		(NR_PCP_ORDER0_LISTS + 2)	/* + THP: other, movable */

/*
 * pcp->high is tuned at run time, as in Linux 6.7 and later: it lies between
 * high_min (the boot mark: the zone's low watermark shared out between the
 * CPUs) and high_max (an eighth of the zone shared out). A CPU that frees in
 * bulk raises it to hold what it frees in a row (free_count) and one batch
 * more; one that refills its lists raises it by the refill; a zone below its
 * high watermark lowers it; decay_pcp_high() lowers it by an eighth a round.
 */
#define PCP_BATCH_SCALE_MAX	5	/* Linux's CONFIG_PCP_BATCH_SCALE_MAX default */

struct per_cpu_pages {
	spinlock_t lock;
	int count;				/* (l) pages on all the lists */
	int high;				/* (l) free down below this ... */
	int high_min, high_max;			/* (l) ... tuned between these */
	int batch;				/* (l) ... this many at a time; refill as many */
	int free_count;				/* (l) pages freed lately with few allocations */
	int alloc_factor;			/* (l) refill batch << this (refills in a row) */
	struct list_head lists[NR_PCP_LISTS];	/* (l) */
} __attribute__((aligned(64)));

/* zone->flags bits */
enum zone_flags {
	ZONE_BELOW_HIGH,	/* free pages fell below the high watermark: shrink pcp->high */
};

struct zone {
	spinlock_t lock;		/* protects free_area and buddy pages */
	struct per_cpu_pages *per_cpu_pageset;	/* (c) [NR_CPUS] */
	int pcp_batch, pcp_high;	/* (c) the per-CPU lists' marks when enabled */
	int pcp_high_max;		/* (c) how far pcp->high may be raised */
	unsigned long high_wmark;	/* (c) Linux's high_wmark_pages() */
	atomic_ulong flags;		/* enum zone_flags */
	int stat_threshold;		/* (c) per-CPU counter diff folded past this */
	const char *name;
	enum zone_type idx;
	unsigned long zone_start_pfn;	/* (c) */
	unsigned long spanned_pages;	/* (c) */
	unsigned long present_pages;	/* (c) */
	atomic_long managed_pages;	/* pages handed to the buddy allocator */
	unsigned long cma_pages;	/* (c) MIGRATE_CMA pages in this zone */
	struct free_area free_area[NR_PAGE_ORDERS];
	atomic_long vm_stat[NR_VM_ZONE_STAT_ITEMS];
};

static inline unsigned long zone_end_pfn(const struct zone *z)
{
	return z->zone_start_pfn + z->spanned_pages;
}

static inline bool zone_spans_pfn(const struct zone *z, unsigned long pfn)
{
	return pfn >= z->zone_start_pfn && pfn < zone_end_pfn(z);
}

static inline bool populated_zone(const struct zone *z)
{
	return z->present_pages != 0;
}

static inline bool is_migrate_cma(int mt)
{
	return mt == MIGRATE_CMA;
}

static inline bool is_migrate_isolate(int mt)
{
	return mt == MIGRATE_ISOLATE;
}

extern const char *const migratetype_names[MIGRATE_TYPES];

/* The machine's zones, indexed by enum zone_type. */
extern struct zone pinmm_zones[MAX_NR_ZONES];

#define for_each_zone(z) \
	for ((z) = pinmm_zones; (z) < pinmm_zones + MAX_NR_ZONES; (z)++)
#define for_each_populated_zone(z) \
	for_each_zone(z) if (!populated_zone(z)) ; else

/* One migratetype byte per pageblock, allocated at boot (src/mem/machine.c). */
extern _Atomic uint8_t *pinmm_pageblock_mt;

/*
 * Migratetype of the pageblock holding @pfn; a lockless read is allowed.
 * Inline: every long-term GUP-fast pin asks it once per folio.
 */
static inline int get_pfnblock_migratetype(unsigned long pfn)
{
	return atomic_load_explicit(&pinmm_pageblock_mt[pfn >> pageblock_order],
				    memory_order_relaxed);
}
/* Set it (zone->lock held): the free blocks in it move to the new type's lists. */
void set_pageblock_migratetype_locked(struct zone *zone, unsigned long pfn, int mt);

#endif /* PINMM_MMZONE_H */
