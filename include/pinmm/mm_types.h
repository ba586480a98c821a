/* SPDX-License-Identifier: MIT */
/*
 * struct page and struct folio.
 *
 * One struct page per 4 KiB frame, in one array indexed by pfn that lives as
 * long as the machine (Linux's vmemmap), so a speculative look at the struct
 * page of a frame that was just freed is always a valid memory access and a
 * speculative reference grab on it fails cleanly.
 *
 * A folio is a power-of-two run of pages, naturally aligned, treated as one
 * unit. Its head page is page[0]; the large-folio fields live in the tail
 * pages page[1] and page[2], exactly where Linux keeps them, by overlaying
 * struct folio on the struct page array.
 *
 * Lock letters on fields (FreeBSD vm_page.h style):
 *   (a) atomic, no lock needed        (z) zone->lock while the page is free
 *   (f) folio lock                    (p) page-table lock of the mapping
 *   (l) lru lock                      (c) constant while the page is allocated
 */
#ifndef PINMM_MM_TYPES_H
#define PINMM_MM_TYPES_H

#include <pinmm/bug.h>
#include <pinmm/list.h>
#include <pinmm/types.h>

struct address_space;
struct anon_vma;

struct page {
	atomic_ulong flags;			/* (a) PG_* bits, zone in the top bits */
	union {
		struct {
			union {
				struct list_head lru;	/* (z) buddy list, (l) LRU */
				struct {
					void *__filler;
					unsigned int mlock_count;
				};
			};
			/* (a) file mapping, or anon_vma | PAGE_MAPPING_ANON */
			_Atomic(struct address_space *) mapping;
			pgoff_t index;			/* (f) offset in mapping */
			unsigned long private;		/* (z) buddy order; fs data */
		};
		struct {				/* page-table pages */
			unsigned long __pt_pad;
			struct list_head pt_list;	/* deferred-free list */
			unsigned long pt_index;		/* which table level, debug */
			unsigned long ptl_space;	/* holds a spinlock_t */
		};
	};
	/*
	 * (a) tail pages: address of the head page with bit 0 set; 0 otherwise.
	 * Read speculatively by page_folio() during lockless walks.
	 */
	atomic_ulong compound_head;
	union {
		atomic_int _mapcount;		/* (a) mappings of this page - 1 */
		atomic_uint page_type;		/* PGTY_* in the top byte when typed */
	};
	atomic_int _refcount;			/* (a) see page_ref.h */
};

_Static_assert(sizeof(struct page) == 64, "struct page must stay at 64 bytes");

struct folio {
	/* page[0]: the head */
	union {
		struct {
			atomic_ulong flags;
			union {
				struct list_head lru;
				struct {
					void *__filler;
					unsigned int mlock_count;
				};
			};
			_Atomic(struct address_space *) mapping;
			pgoff_t index;
			void *private;
			atomic_ulong __compound_head;	/* always 0 on a head */
			atomic_int _mapcount;
			atomic_int _refcount;
		};
		struct page page;
	};
	/* page[1]: large folios only */
	union {
		struct {
			atomic_ulong _flags_1;		/* order in the low byte */
			atomic_int _large_mapcount;	/* (a) all mappings - 1 */
			atomic_int _entire_mapcount;	/* (a) PMD mappings - 1 */
			atomic_int _nr_pages_mapped;	/* (a) pages with _mapcount >= 0 */
			atomic_int _pincount;		/* (a) FOLL_PIN pins, exact */
			unsigned long _folio_nr_pages;	/* (c) */
			unsigned long __pad_1[2];
			atomic_ulong _head_1;
			atomic_int _mapcount_1;
			atomic_int _refcount_1;
		};
		struct page __page_1;
	};
	/* page[2]: order >= 2 only */
	union {
		struct {
			atomic_ulong _flags_2;
			struct list_head _deferred_list;	/* THP split queue */
			unsigned long __pad_2[3];
			atomic_ulong _head_2;
			atomic_int _mapcount_2;
			atomic_int _refcount_2;
		};
		struct page __page_2;
	};
};

#define FOLIO_MATCH(pg, fl) \
	_Static_assert(offsetof(struct page, pg) == offsetof(struct folio, fl), \
		       "folio field " #fl " must overlay page field " #pg)
FOLIO_MATCH(flags, flags);
FOLIO_MATCH(lru, lru);
FOLIO_MATCH(mapping, mapping);
FOLIO_MATCH(index, index);
FOLIO_MATCH(private, private);
FOLIO_MATCH(compound_head, __compound_head);
FOLIO_MATCH(_mapcount, _mapcount);
FOLIO_MATCH(_refcount, _refcount);
#undef FOLIO_MATCH
#define FOLIO_MATCH(pg, fl, n) \
	_Static_assert(offsetof(struct folio, fl) == \
		       (n) * sizeof(struct page) + offsetof(struct page, pg), \
		       "folio field " #fl " must overlay page[" #n "]." #pg)
FOLIO_MATCH(flags, _flags_1, 1);
FOLIO_MATCH(compound_head, _head_1, 1);
FOLIO_MATCH(_mapcount, _mapcount_1, 1);
FOLIO_MATCH(_refcount, _refcount_1, 1);
FOLIO_MATCH(flags, _flags_2, 2);
FOLIO_MATCH(compound_head, _head_2, 2);
FOLIO_MATCH(_mapcount, _mapcount_2, 2);
FOLIO_MATCH(_refcount, _refcount_2, 2);
#undef FOLIO_MATCH
_Static_assert(sizeof(struct folio) == 3 * sizeof(struct page), "struct folio overlays 3 pages");

/* Bits in folio->mapping (the low bits of a pointer are free). */
#define PAGE_MAPPING_ANON	0x1UL
#define PAGE_MAPPING_MOVABLE	0x2UL
#define PAGE_MAPPING_KSM	(PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE)
#define PAGE_MAPPING_FLAGS	(PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE)

#endif /* PINMM_MM_TYPES_H */
