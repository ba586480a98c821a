/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of src/mem, headed by the file that owns each function
 * (the header is a map of the code).
 */
#ifndef PINMM_MEM_INTERNAL_H
#define PINMM_MEM_INTERNAL_H

#include <pinmm/machine.h>
#include <pinmm/mm.h>

/* ---- machine.c ------------------------------------------------------------ */

struct pinmm_machine {
	bool booted;
	struct pinmm_config cfg;
	unsigned long nr_pfns;		/* arena frames, all zones */
	size_t arena_bytes;
	size_t mem_map_bytes;
	_Atomic uint8_t *pageblock_mt;	/* migratetype per 2 MiB pageblock */
	size_t nr_pageblocks;
};

extern struct pinmm_machine pinmm_machine;

/* ---- page_alloc.c ----------------------------------------------------------- */

/* Hand the frames [start, start + nr) of @zone to the buddy allocator (boot). */
void pinmm_free_area_init(struct zone *zone, unsigned long start, unsigned long nr);
/* Recount the free lists of @zone; compare with its counters. 0 if they agree. */
int pinmm_check_zone(struct zone *zone, bool verbose);
void pinmm_page_alloc_reset(void);
/* Free pages counted on @zone's free lists (zone->lock held or quiescent). */
unsigned long zone_free_pages_locked(struct zone *zone);
/* Pages on the CPUs' per-CPU lists of @zone: allocated to the buddy allocator, free to everyone else. */
unsigned long zone_pcp_pages(struct zone *zone);
/*
 * Linux's zone_pcp_disable()/zone_pcp_enable() (mm/internal.h): while
 * disabled, @zone's per-CPU lists hold nothing (frees go straight to the
 * buddy lists, allocations take one page); disabling drains them. Offlining
 * uses it; so do the tests of the buddy allocator itself.
 */
void zone_pcp_disable(struct zone *zone);
void zone_pcp_enable(struct zone *zone);

/*
 * For src/migrate (Linux keeps these in mm/internal.h too): take a free block
 * of @order off its free list (zone->lock held, @page a buddy of that order;
 * returns the pages taken, not counted as allocated), the order of a free
 * block (zone->lock held; 0 if @page is not a buddy), and turn taken pages
 * into allocated order-0 pages with a reference each (Linux split_page()).
 */
unsigned long __isolate_free_page(struct page *page, unsigned int order);
unsigned int buddy_order_locked(struct page *page);
void prep_isolated_pages(struct page *page, unsigned int order, const struct alloc_site *site);

/* ---- src/migrate/compaction.c ------------------------------------------------ */

/*
 * Direct compaction for a failed allocation of @order with @gfp: compact the
 * zones @gfp may use. True if a block of @order may now be free.
 */
bool try_to_compact_pages(gfp_t gfp, unsigned int order);

/* ---- src/migrate/cma.c ------------------------------------------------------- */

/* Boot: the CMA area of ZONE_NORMAL becomes one empty cma_alloc_pages() area. */
void cma_init_reserved_areas(void);

/* ---- src/fs/super.c ---------------------------------------------------------- */

/*
 * Boot: the file directory and the file systems (0 or -errno, reported on
 * stderr). Shutdown: everything written back and evicted; the number of
 * inodes still referenced (files left open or mapped) is returned.
 */
int pinmm_fs_boot(const struct pinmm_config *cfg);
/* src/gup/pin_owner.c: the owner records live as long as the machine */
int pin_owner_boot(unsigned long nr_pfns);
void pin_owner_shutdown(void);
void pin_owner_report_leaks(FILE *out);
unsigned long pin_owner_check_released(FILE *out);
void pin_owner_dump_folio(FILE *out, const struct folio *folio);
unsigned long pinmm_fs_shutdown(void);

/* ---- page_owner.c ----------------------------------------------------------- */

#ifdef CONFIG_DEBUG_VM
int page_owner_init(unsigned long nr_pfns);
void page_owner_exit(void);
void set_page_owner(struct page *page, unsigned int order, const struct alloc_site *site);
void reset_page_owner(struct page *page, unsigned int order);
void print_page_owner(FILE *out, const struct page *page);
#else
static inline int page_owner_init(unsigned long n) { (void)n; return 0; }
static inline void page_owner_exit(void) {}
static inline void set_page_owner(struct page *p, unsigned int o, const struct alloc_site *s)
{ (void)p; (void)o; (void)s; }
static inline void reset_page_owner(struct page *p, unsigned int o) { (void)p; (void)o; }
static inline void print_page_owner(FILE *out, const struct page *p) { (void)out; (void)p; }
#endif

/* ---- vmstat.c --------------------------------------------------------------- */

void vmstat_reset(void);
/* Boot: each zone's per-CPU diff threshold from its size (Linux's calculate_normal_threshold). */
void refresh_zone_stat_thresholds(void);
/* @cpu goes away (runs on its own thread): its diffs and events into the counters. */
void vm_stats_fold_cpu(int cpu);

#endif /* PINMM_MEM_INTERNAL_H */
