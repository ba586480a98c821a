/* SPDX-License-Identifier: MIT */
/*
 * The core memory vocabulary: pfn <-> page <-> address, folio geometry,
 * get/put, the shared zero page, and the pin-count queries every layer uses.
 */
#ifndef PINMM_MM_H
#define PINMM_MM_H

#include <pinmm/gfp.h>
#include <pinmm/mm_types.h>
#include <pinmm/mmzone.h>
#include <pinmm/page-flags.h>
#include <pinmm/page_ref.h>

/* The frame arena and its struct page array (Linux's vmemmap). */
extern struct page *pinmm_mem_map;
extern char *pinmm_arena;
extern unsigned long pinmm_max_pfn;

/*
 * The MMIO window: frames after the last pfn that have no struct page, like a
 * device BAR. Only VM_PFNMAP mappings (remap_pfn_range) point at them.
 */
extern unsigned long pinmm_mmio_pfn, pinmm_mmio_pages;
/* The device-memory window of ZONE_DEVICE (memremap_pages(), memremap.h). */
extern unsigned long pinmm_devmem_pfn, pinmm_devmem_pages;

/* The CPU address of any frame, with or without a struct page. */
static inline void *pfn_to_virt(unsigned long pfn)
{
	return pinmm_arena + (pfn << PAGE_SHIFT);
}

static inline bool pfn_valid(unsigned long pfn)
{
	return pfn < pinmm_max_pfn;
}

static inline struct page *pfn_to_page(unsigned long pfn)
{
	return pinmm_mem_map + pfn;
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - pinmm_mem_map);
}

static inline void *page_address(const struct page *page)
{
	return pinmm_arena + (page_to_pfn(page) << PAGE_SHIFT);
}

/* Only for addresses inside the arena (kernel direct map in Linux terms). */
static inline struct page *virt_to_page(const void *addr)
{
	return pfn_to_page((unsigned long)((const char *)addr - pinmm_arena) >> PAGE_SHIFT);
}

static inline unsigned long folio_pfn(const struct folio *f)
{
	return page_to_pfn(&f->page);
}

static inline struct folio *pfn_folio(unsigned long pfn)
{
	return page_folio(pfn_to_page(pfn));
}

static inline void *folio_address(const struct folio *f)
{
	return page_address(&f->page);
}

static inline unsigned int folio_order(const struct folio *f)
{
	if (!folio_test_large(f))
		return 0;
	return atomic_load_explicit(&((struct folio *)f)->_flags_1, memory_order_relaxed) & 0xff;
}

/*
 * A large anon folio some of whose pages are mapped and some not: it is on
 * the deferred-split queue (src/mm/huge_memory.c). Linux's
 * PG_partially_mapped, a flag of the folio's second page; here a bit of
 * _flags_1 above the order, set and cleared under the queue's lock, read
 * without it.
 */
#define FOLIO_PARTIALLY_MAPPED_1	(1UL << 8)

static inline bool folio_test_partially_mapped(const struct folio *f)
{
	return folio_test_large(f) &&
	       (atomic_load_explicit(&((struct folio *)f)->_flags_1, memory_order_acquire) &
		FOLIO_PARTIALLY_MAPPED_1);
}

static inline unsigned long folio_nr_pages(const struct folio *f)
{
	return 1UL << folio_order(f);
}

static inline size_t folio_size(const struct folio *f)
{
	return PAGE_SIZE << folio_order(f);
}

static inline enum zone_type page_zonenum(const struct page *p)
{
	return (enum zone_type)((atomic_load_explicit(&((struct page *)p)->flags,
						      memory_order_relaxed) >> ZONES_PGSHIFT) &
				ZONES_MASK);
}

static inline struct zone *page_zone(const struct page *p)
{
	return &pinmm_zones[page_zonenum(p)];
}

static inline struct zone *folio_zone(const struct folio *f)
{
	return page_zone(&f->page);
}

static inline bool folio_is_zone_movable(const struct folio *f)
{
	return page_zonenum(&f->page) == ZONE_MOVABLE;
}

static inline bool folio_is_zone_device(const struct folio *f)
{
	return page_zonenum(&f->page) == ZONE_DEVICE;
}

/* ---- references ----------------------------------------------------------- */

/* folio_get - one more reference on a folio the caller already holds. */
static inline void folio_get(struct folio *f)
{
	VM_BUG_ON(folio_ref_count(f) <= 0);
	folio_ref_inc(f);
}

void __folio_put(struct folio *f);

/*
 * Who gets a ZONE_DEVICE folio back when its last reference goes: the device
 * driver (Linux's dev_pagemap_ops.page_free). One pmem device per machine.
 */
extern void (*pinmm_device_folio_free)(struct folio *folio);

/**
 * folio_put - drop a reference; the last one frees the folio.
 * Context: any; the free takes zone->lock.
 */
static inline void folio_put(struct folio *f)
{
	if (folio_ref_dec_and_test(f))
		__folio_put(f);
}

/* folio_put_refs - drop @refs references at once (batched unpin, unmap). */
static inline void folio_put_refs(struct folio *f, int refs)
{
	if (folio_ref_sub_and_test(f, refs))
		__folio_put(f);
}

static inline void get_page(struct page *p)
{
	folio_get(page_folio(p));
}

static inline void put_page(struct page *p)
{
	folio_put(page_folio(p));
}

/* ---- the shared zero page -------------------------------------------------- */

/*
 * One zeroed, reserved, read-only frame that backs every read of untouched
 * private anonymous memory. Its frame is write-protected on the host, so a
 * bug that writes to it faults instead of leaking data.
 */
extern struct page *pinmm_zero_page;
extern unsigned long pinmm_zero_pfn;
#define ZERO_PAGE(vaddr)	((void)(vaddr), pinmm_zero_page)

static inline bool is_zero_pfn(unsigned long pfn)
{
	return pfn == pinmm_zero_pfn;
}

static inline bool is_zero_page(const struct page *p)
{
	return p == pinmm_zero_page;
}

static inline bool is_zero_folio(const struct folio *f)
{
	return is_zero_page(&f->page);
}

/* ---- pin counting (the rules of ARCHITECTURE.md "Pin accounting") --------- */

/*
 * A FOLL_PIN on a folio without a pincount field adds this much to _refcount.
 * A power of two, so pins show in the high bits of a refcount printed in hex.
 */
#define GUP_PIN_COUNTING_BIAS	(1U << 10)

/* Large folios keep an exact pincount in page[1] (64-bit Linux: order >= 1). */
static inline bool folio_has_pincount(const struct folio *f)
{
	return folio_test_large(f);
}

static inline int folio_pincount(const struct folio *f)
{
	return atomic_load_explicit(&((struct folio *)f)->_pincount, memory_order_relaxed);
}

/**
 * folio_maybe_dma_pinned - might this folio be pinned with FOLL_PIN?
 *
 * Exact for large folios (pincount > 0). For small folios the answer comes
 * from the refcount (>= GUP_PIN_COUNTING_BIAS): "false" is certain, "true" can
 * be a false positive when a folio has that many ordinary references. Read as
 * unsigned so even a refcount that overflowed answers "pinned".
 * Never a false negative. A snapshot: a pin may be taken right after.
 */
static inline bool folio_maybe_dma_pinned(const struct folio *f)
{
	if (folio_has_pincount(f))
		return folio_pincount(f) > 0;
	return (unsigned int)folio_ref_count(f) >= GUP_PIN_COUNTING_BIAS;
}

static inline bool page_maybe_dma_pinned(const struct page *p)
{
	return folio_maybe_dma_pinned(page_folio(p));
}

/*
 * Long-term or short-term? Linux does not record which kind of pin a folio
 * holds; pinmm keeps one byte per pfn, at the head pfn, for its pictures of
 * memory (pinmm map, pinmm_frame_state()). Written on the pin side only, so
 * unpinning costs nothing: every FOLL_LONGTERM pin sets it, and a short-term
 * pin clears it when it is the folio's first pin (stale from an earlier life
 * of the frame). Read only while the folio is pinned. A folio holding both
 * kinds says long-term; one whose long-term pins are gone while short-term
 * ones remain keeps saying long-term until it is unpinned; a first short-term
 * pin racing a long-term one may lose the mark. It is a picture, not a rule:
 * nothing decides anything on it.
 */
extern _Atomic uint8_t *pinmm_pin_longterm;

/* folio_note_pin() by the folio's pfn, for a caller that has it at hand. */
static inline void __folio_note_pin(unsigned long pfn, bool longterm, bool was_pinned)
{
	_Atomic uint8_t *mark = &pinmm_pin_longterm[pfn];

	/* a test before the store: repeated pins must not dirty the line */
	if (longterm) {
		if (!atomic_load_explicit(mark, memory_order_relaxed))
			atomic_store_explicit(mark, 1, memory_order_relaxed);
	} else if (!was_pinned && atomic_load_explicit(mark, memory_order_relaxed)) {
		atomic_store_explicit(mark, 0, memory_order_relaxed);
	}
}

/* Record a pin just taken on @folio; @was_pinned: it held a pin before. */
static inline void folio_note_pin(struct folio *folio, bool longterm, bool was_pinned)
{
	__folio_note_pin(folio_pfn(folio), longterm, was_pinned);
}

/* Is pinned @folio held by a long-term pin (as far as folio_note_pin() knows)? */
static inline bool folio_pinned_longterm(const struct folio *folio)
{
	return atomic_load_explicit(&pinmm_pin_longterm[folio_pfn(folio)], memory_order_relaxed);
}

/**
 * folio_is_longterm_pinnable - may this folio stay pinned indefinitely?
 *
 * No for folios in CMA or isolated pageblocks (CMA must stay allocatable),
 * in ZONE_MOVABLE (must stay hot-unpluggable) and in ZONE_DEVICE (fsdax
 * blocks belong to the filesystem). The shared zero page is always fine: it is
 * "pinned" without being counted. A FOLL_LONGTERM pin migrates the others first.
 */
static inline bool __folio_is_longterm_pinnable(const struct folio *folio, unsigned long pfn)
{
	int mt = get_pfnblock_migratetype(pfn);
	enum zone_type zone;

	if (mt == MIGRATE_CMA || mt == MIGRATE_ISOLATE)
		return false;
	if (is_zero_folio(folio))
		return true;
	zone = page_zonenum(&folio->page);	/* one read of the flags word */
	return zone != ZONE_DEVICE && zone != ZONE_MOVABLE;
}

/* The same, by @folio's pfn (folio_pfn()) for a caller that has it at hand. */
static inline bool folio_is_longterm_pinnable(const struct folio *folio)
{
	return __folio_is_longterm_pinnable(folio, folio_pfn(folio));
}

/**
 * folio_mark_dirty - the folio's contents are newer than its backing store.
 * Return: true if this call dirtied it. Context: the caller holds the folio
 * lock, or otherwise keeps the folio's mapping alive (as Linux requires).
 */
bool folio_mark_dirty(struct folio *folio);

static inline bool set_page_dirty(struct page *page)
{
	return folio_mark_dirty(page_folio(page));
}

/* ---- page-table walking (offsets only: no locking, no allocation) --------- */

/*
 * Linux's pgd_offset()/pud_offset()/pmd_offset()/pte_offset_kernel(): the
 * entry for @addr in the next-level table an entry points to. Table pages
 * are machine frames, reached through pfn_to_virt(). The caller makes sure the
 * upper entry is present and points to a table (not a leaf), and holds
 * whatever keeps that table alive (mmap_lock, or rcu_read_lock() for GUP-fast).
 */
static inline pgd_t *pgd_offset(struct mm_struct *mm, unsigned long addr)
{
	return mm->pgd + pgd_index(addr);
}

static inline pud_t *pud_offset(pgd_t *pgd, unsigned long addr)
{
	return (pud_t *)pfn_to_virt(pgd_pfn(pgdp_get(pgd))) + pud_index(addr);
}

static inline pmd_t *pmd_offset(pud_t *pud, unsigned long addr)
{
	return (pmd_t *)pfn_to_virt(pud_pfn(pudp_get(pud))) + pmd_index(addr);
}

static inline pte_t *pte_offset_kernel(pmd_t *pmd, unsigned long addr)
{
	return (pte_t *)pfn_to_virt(pmd_pfn(pmdp_get_lockless(pmd))) + pte_index(addr);
}

/* The same, from an entry value already read (the lockless walk reads once). */
static inline pud_t *pud_offset_lockless(pgd_t pgd, unsigned long addr)
{
	return (pud_t *)pfn_to_virt(pgd_pfn(pgd)) + pud_index(addr);
}

static inline pmd_t *pmd_offset_lockless(pud_t pud, unsigned long addr)
{
	return (pmd_t *)pfn_to_virt(pud_pfn(pud)) + pmd_index(addr);
}

static inline pte_t *pte_offset_lockless(pmd_t pmd, unsigned long addr)
{
	return (pte_t *)pfn_to_virt(pmd_pfn(pmd)) + pte_index(addr);
}

/* ---- debugging ------------------------------------------------------------- */

/* Print the state of @page (and its folio) to stderr, with @reason. */
void dump_page(const struct page *page, const char *reason);

#define VM_BUG_ON_PAGE(cond, page)					\
	do {								\
		if (IS_ENABLED_DEBUG_VM && unlikely(cond)) {		\
			dump_page(page, "VM_BUG_ON_PAGE(" #cond ")");	\
			BUG();						\
		}							\
	} while (0)
#define VM_BUG_ON_FOLIO(cond, folio)	VM_BUG_ON_PAGE(cond, &(folio)->page)
#define VM_WARN_ON_ONCE_FOLIO(cond, folio) ({				\
	bool __w = IS_ENABLED_DEBUG_VM && (cond);			\
	if (WARN_ON_ONCE(__w))						\
		dump_page(&(folio)->page, "VM_WARN_ON_ONCE_FOLIO(" #cond ")"); \
	__w;								\
})

#ifdef CONFIG_DEBUG_VM
#define IS_ENABLED_DEBUG_VM 1
#else
#define IS_ENABLED_DEBUG_VM 0
#endif

#endif /* PINMM_MM_H */
