/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of src/migrate, headed by the file that owns each
 * function (the header is a map of the code).
 */
#ifndef PINMM_MIGRATE_INTERNAL_H
#define PINMM_MIGRATE_INTERNAL_H

#include "mem/internal.h"

#include <pinmm/migrate.h>

/* ---- migrate.c ------------------------------------------------------------------ */

/* Where each page of the source goes: one folio of the same order, or one per page. */
struct migrate_dst {
	struct folio *src;
	bool split;			/* one order-0 destination per page */
	struct folio *whole;		/* !split: same order as src */
	struct folio **pieces;		/* split: one per page of src */
};

/*
 * Replace every mapping of the locked @folio, in every mm, by migration
 * entries (rmap walk); @anon_vma referenced by the caller, or NULL to look
 * it up; @pmd_entries: an anon THP mapped by a PMD gets a PMD migration
 * entry rather than a split. A page that may be pinned stays mapped.
 */
void try_to_migrate(struct folio *folio, struct anon_vma *anon_vma, bool pmd_entries);
/*
 * try_to_migrate() for a folio split (Linux's TTU_SPLIT_HUGE_PMD with
 * freeze): every PMD leaf of @folio becomes PTE migration entries
 * (split_huge_pmd_address_freeze()), every PTE one entry. A page that may
 * be pinned stays mapped (a PMD of a maybe-pinned folio is split into
 * ordinary PTEs instead).
 */
void try_to_migrate_split(struct folio *folio, struct anon_vma *anon_vma);
/*
 * Turn the migration entries naming the locked @src back into mappings: of
 * @d's destinations, or of @src itself when @d is NULL (the move failed). A
 * device-private destination gets a device-private entry, not a PTE.
 */
void remove_migration_ptes(struct folio *src, const struct migrate_dst *d,
			   struct anon_vma *anon_vma);
/* The flags that describe the contents move from @src to @dst. */
void folio_migrate_flags(struct folio *dst, struct folio *src);

/* ---- migrate_device.c ----------------------------------------------------------- */

/*
 * try_to_migrate() met the device-private or device-exclusive entry @ptep
 * (its PTE lock held) of the locked @folio in @vma: make it a migration
 * entry, drop its mapping. False, and nothing changed, for an exclusive
 * entry's page that may be pinned (as for a present PTE).
 */
bool try_to_migrate_device_private(struct folio *folio, struct vm_area_struct *vma, pte_t *ptep);
/* The device-private entry that maps @page as the present @pte would. */
pte_t device_private_pte(struct page *page, pte_t pte);

/* ---- lru.c ---------------------------------------------------------------------- */

/* NR_ISOLATED_ANON/FILE follow every isolated folio: +nr on isolation, -nr when it ends. */
void folio_account_isolated(struct folio *folio, int sign);

/* ---- page_isolation.c ----------------------------------------------------------- */

/*
 * The pageblocks [start, end) rounded out to pageblocks, switched to
 * MIGRATE_ISOLATE so nothing is allocated from them and whatever is freed
 * in them stays on the isolate free lists; their old types, to put back.
 */
struct isolated_range {
	struct zone *zone;
	unsigned long start_pfn;	/* pageblock aligned */
	unsigned long end_pfn;		/* pageblock aligned */
	uint8_t *saved_mt;		/* one per pageblock */
};

/*
 * Isolate the pageblocks covering [@start, @end) of one zone. -EBUSY if one
 * is isolated already (another alloc_contig_range or offline owns it),
 * -ENOMEM. Context: takes zone->lock.
 */
int start_isolate_page_range(struct isolated_range *r, unsigned long start, unsigned long end);
/* Give every pageblock of @r its old type back (free pages move lists with it). */
void undo_isolate_page_range(struct isolated_range *r);
/*
 * The first pfn of [@start, @end) that is not inside a free block of an
 * isolated pageblock, or @end if they all are. Context: zone->lock held.
 */
unsigned long __first_busy_pfn(unsigned long start, unsigned long end);
/*
 * Take every free block overlapping [@start, @end) off the free lists (all
 * must be free and isolated: check with __first_busy_pfn() under the same
 * hold of zone->lock). With @prep the frames become allocated order-0
 * pages with one reference each, else they stay unowned (offline).
 * *@outer_start / *@outer_end: the extent of the blocks taken, which may
 * overhang the range at both ends. Context: zone->lock held.
 */
void __take_free_range(unsigned long start, unsigned long end, bool prep,
		       unsigned long *outer_start, unsigned long *outer_end);

/* ---- compaction.c --------------------------------------------------------------- */

#define ISOLATE_NO_LARGE	0x1u	/* compaction: leave large folios alone */
#define ISOLATE_ASYNC		0x2u	/* only MOVABLE/CMA pageblocks */

/*
 * Isolate up to @max in-use LRU folios from [@pfn, @end) onto @list
 * (Linux isolate_migratepages_block). Free frames, non-LRU pages, isolated
 * folios and anon folios with more references than mappings (pinned or held:
 * migration would fail) are skipped. Adds the pfns looked at to *@scanned.
 * Return: the pfn to continue from.
 */
unsigned long isolate_migratepages_range(struct list_head *list, unsigned long pfn,
					 unsigned long end, unsigned int flags,
					 unsigned int max, unsigned long *scanned);

/* ---- contig.c ------------------------------------------------------------------- */

/*
 * Migrate every in-use folio of [@start, @end) (already isolated) somewhere
 * else, with @gfp for the destinations, a few rounds (Linux
 * __alloc_contig_migrate_range). Return: 0, or -EBUSY/-ENOMEM/-EINTR.
 */
int migrate_range_out(unsigned long start, unsigned long end, gfp_t gfp, int reason);

#endif /* PINMM_MIGRATE_INTERNAL_H */
