/* SPDX-License-Identifier: MIT */
/*
 * Page and folio flags, with Linux's names and policies.
 *
 * Most flags describe the whole folio and live in the head page's flags
 * ("folio flags": folio_test_dirty(), and PageDirty() on any page of the
 * folio). A few describe one page of the folio and live in that page
 * (PageAnonExclusive, PageHWPoison). The low byte of page[1].flags holds the
 * folio order, so per-page flags are all above bit 7. The zone index sits in
 * the top bits of every page's flags and never changes.
 *
 * Page types (buddy, page table) are not flags: like Linux they are written
 * into the top byte of page_type, which shares the word with _mapcount.
 */
#ifndef PINMM_PAGE_FLAGS_H
#define PINMM_PAGE_FLAGS_H

#include <pinmm/bitops.h>
#include <pinmm/mm_types.h>

enum pageflags {
	PG_locked,		/* folio lock held (sleeping lock) */
	PG_writeback,		/* folio under writeback I/O */
	PG_referenced,
	PG_uptodate,		/* contents valid */
	PG_dirty,		/* contents newer than backing store */
	PG_lru,			/* on an LRU list */
	PG_head,		/* head of a large folio */
	PG_waiters,		/* someone sleeps on this folio's lock/writeback */
	PG_active,
	PG_workingset,
	PG_owner_priv_1,	/* filesystem use (PG_checked) */
	PG_owner_2,		/* per page: anon-exclusive on anon pages */
	PG_reserved,		/* never freed to the buddy allocator */
	PG_private,		/* folio->private holds fs data */
	PG_reclaim,
	PG_swapbacked,		/* backed by swap/shmem rather than a file */
	PG_unevictable,
	PG_mlocked,
	PG_hwpoison,		/* per page: poisoned frame */
	PG_isolated,		/* taken off the LRU for migration */
	__NR_PAGEFLAGS,

	/* aliases, as in Linux */
	PG_anon_exclusive = PG_owner_2,
	PG_checked = PG_owner_priv_1,
	/* page[1] of a large folio */
	PG_large_rmappable = PG_workingset,
};

_Static_assert(PG_anon_exclusive >= 8 && PG_hwpoison >= 8,
	       "per-page flags must not overlap the folio order byte of page[1]");

#define ZONES_PGSHIFT	60
#define ZONES_MASK	0x3UL

/* Flags that must be clear when a page is freed; set means a bug. */
#define PAGE_FLAGS_CHECK_AT_FREE					\
	(BIT(PG_locked) | BIT(PG_writeback) | BIT(PG_lru) | BIT(PG_active) | \
	 BIT(PG_unevictable) | BIT(PG_mlocked) | BIT(PG_private) |	\
	 BIT(PG_isolated) | BIT(PG_reserved))
/* Flags that must be clear on a page handed out by the allocator. */
#define PAGE_FLAGS_CHECK_AT_PREP	(BIT(__NR_PAGEFLAGS) - 1)

/* ---- page types, top byte of page_type ------------------------------------ */

enum pagetype {
	PGTY_buddy = 0xf0,	/* free, on a buddy list; order in private */
	PGTY_table = 0xf2,	/* a page-table page */
	PGTY_hugetlb = 0xf4,	/* head of a hugetlb folio (folio_test_hugetlb) */
	PGTY_mapcount_underflow = 0xff,
};

static inline bool page_has_type_value(unsigned int v, enum pagetype t)
{
	return (v >> 24) == (unsigned int)t;
}

static inline bool page_has_type(const struct page *page, enum pagetype t)
{
	return page_has_type_value(atomic_load_explicit(&((struct page *)page)->page_type,
							memory_order_relaxed), t);
}

static inline bool PageBuddy(const struct page *page)
{
	return page_has_type(page, PGTY_buddy);
}

static inline void __SetPageBuddy(struct page *page)
{
	atomic_store_explicit(&page->page_type, (unsigned int)PGTY_buddy << 24,
			      memory_order_relaxed);
}

static inline void __ClearPageBuddy(struct page *page)
{
	atomic_store_explicit(&page->page_type, UINT32_MAX, memory_order_relaxed);
}

static inline bool PageTable(const struct page *page)
{
	return page_has_type(page, PGTY_table);
}

static inline void __SetPageTable(struct page *page)
{
	atomic_store_explicit(&page->page_type, (unsigned int)PGTY_table << 24,
			      memory_order_relaxed);
}

static inline void __ClearPageTable(struct page *page)
{
	atomic_store_explicit(&page->page_type, UINT32_MAX, memory_order_relaxed);
}

/* ---- compound structure --------------------------------------------------- */

static inline bool PageTail(const struct page *page)
{
	return atomic_load_explicit(&((struct page *)page)->compound_head,
				    memory_order_relaxed) & 1;
}

static inline struct page *compound_head(const struct page *page)
{
	unsigned long head = atomic_load_explicit(&((struct page *)page)->compound_head,
						  memory_order_relaxed);

	if (head & 1)
		return (struct page *)(head - 1);
	return (struct page *)page;
}

/**
 * page_folio - the folio a page belongs to.
 * @p: any page, head or tail.
 *
 * Safe to call speculatively (without a reference): the answer may be stale
 * if the folio is being split or freed, so a lockless caller must re-check
 * after grabbing a reference (as try_get_folio does).
 */
#define page_folio(p)	((struct folio *)compound_head(p))

/* The page @n pages after the head of @folio. */
#define folio_page(folio, n)	(&(folio)->page + (n))

/* ---- folio flag accessors --------------------------------------------------- */

#define FOLIO_FLAG(name, bit)						\
static inline bool folio_test_##name(const struct folio *f)		\
{ return test_bit(bit, &f->flags); }					\
static inline void folio_set_##name(struct folio *f)			\
{ set_bit(bit, &f->flags); }						\
static inline void folio_clear_##name(struct folio *f)			\
{ clear_bit(bit, &f->flags); }						\
static inline void __folio_set_##name(struct folio *f)			\
{ __set_bit(bit, &f->flags); }						\
static inline void __folio_clear_##name(struct folio *f)		\
{ __clear_bit(bit, &f->flags); }					\
static inline bool folio_test_set_##name(struct folio *f)		\
{ return test_and_set_bit(bit, &f->flags); }				\
static inline bool folio_test_clear_##name(struct folio *f)		\
{ return test_and_clear_bit(bit, &f->flags); }

FOLIO_FLAG(locked, PG_locked)
FOLIO_FLAG(writeback, PG_writeback)
FOLIO_FLAG(referenced, PG_referenced)
FOLIO_FLAG(dirty, PG_dirty)
FOLIO_FLAG(lru, PG_lru)
FOLIO_FLAG(head, PG_head)
FOLIO_FLAG(waiters, PG_waiters)
FOLIO_FLAG(active, PG_active)
FOLIO_FLAG(workingset, PG_workingset)
FOLIO_FLAG(checked, PG_checked)
FOLIO_FLAG(reserved, PG_reserved)
FOLIO_FLAG(private, PG_private)
FOLIO_FLAG(reclaim, PG_reclaim)
FOLIO_FLAG(swapbacked, PG_swapbacked)
FOLIO_FLAG(unevictable, PG_unevictable)
FOLIO_FLAG(mlocked, PG_mlocked)
FOLIO_FLAG(isolated, PG_isolated)
#undef FOLIO_FLAG

/*
 * Uptodate is published with release/acquire ordering: the data written into
 * the folio must be visible to whoever sees the flag (as Linux's smp_wmb()).
 */
static inline bool folio_test_uptodate(const struct folio *f)
{
	return test_bit_acquire(PG_uptodate, &f->flags);
}

static inline void folio_mark_uptodate(struct folio *f)
{
	atomic_fetch_or_explicit(&f->flags, BIT(PG_uptodate), memory_order_release);
}

static inline void __folio_mark_uptodate(struct folio *f)
{
	folio_mark_uptodate(f);
}

static inline void folio_clear_uptodate(struct folio *f)
{
	clear_bit(PG_uptodate, &f->flags);
}

static inline bool folio_test_large(const struct folio *f)
{
	return folio_test_head(f);
}

static inline bool folio_test_anon(const struct folio *f)
{
	return ((unsigned long)atomic_load_explicit(&((struct folio *)f)->mapping,
						    memory_order_relaxed) & PAGE_MAPPING_ANON) != 0;
}

static inline bool folio_test_ksm(const struct folio *f)
{
	return ((unsigned long)atomic_load_explicit(&((struct folio *)f)->mapping,
						    memory_order_relaxed) & PAGE_MAPPING_FLAGS) ==
		PAGE_MAPPING_KSM;
}

/* ---- page (any page of a folio) accessors -------------------------------- */

#define PAGE_HEAD_FLAG(Name, name)					\
static inline bool Page##Name(const struct page *p)			\
{ return folio_test_##name(page_folio(p)); }
PAGE_HEAD_FLAG(Locked, locked)
PAGE_HEAD_FLAG(Writeback, writeback)
PAGE_HEAD_FLAG(Uptodate, uptodate)
PAGE_HEAD_FLAG(Dirty, dirty)
PAGE_HEAD_FLAG(LRU, lru)
PAGE_HEAD_FLAG(Reserved, reserved)
PAGE_HEAD_FLAG(Private, private)
PAGE_HEAD_FLAG(SwapBacked, swapbacked)
PAGE_HEAD_FLAG(Anon, anon)
#undef PAGE_HEAD_FLAG

static inline bool PageHead(const struct page *p)
{
	return test_bit(PG_head, &p->flags);
}

static inline bool PageCompound(const struct page *p)
{
	return PageHead(p) || PageTail(p);
}

/*
 * PageAnonExclusive: this page of an anon folio is mapped by exactly one mm
 * and may be written in place. Per page, not per folio. Only meaningful on
 * anon pages; the bit is the filesystem's owner_2 bit elsewhere.
 */
static inline bool PageAnonExclusive(const struct page *p)
{
	VM_BUG_ON(!PageAnon(p));
	return test_bit(PG_anon_exclusive, &p->flags);
}

static inline void SetPageAnonExclusive(struct page *p)
{
	VM_BUG_ON(!PageAnon(p));
	set_bit(PG_anon_exclusive, &((struct page *)p)->flags);
}

static inline void ClearPageAnonExclusive(struct page *p)
{
	VM_BUG_ON(!PageAnon(p));
	clear_bit(PG_anon_exclusive, &p->flags);
}

static inline bool PageHWPoison(const struct page *p)
{
	return test_bit(PG_hwpoison, &p->flags);
}

static inline void SetPageHWPoison(struct page *p)
{
	set_bit(PG_hwpoison, &p->flags);
}

#endif /* PINMM_PAGE_FLAGS_H */
