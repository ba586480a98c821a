// SPDX-License-Identifier: MIT
/*
 * FOLL_LONGTERM: a folio that will be pinned indefinitely must not sit where
 * memory has to stay movable — ZONE_MOVABLE (hot-unplug), CMA or isolated
 * pageblocks (contiguous allocations), ZONE_DEVICE. After pinning, look at what
 * was pinned; if anything is in such a place, unpin everything, migrate those
 * folios to pinnable memory, and let the caller pin again (Linux's
 * check_and_migrate_movable_pages()).
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/migrate.h>

/*
 * Collect the distinct folios that may not stay long-term pinned, isolating
 * the ones that can be migrated onto @movable. Return how many such folios
 * there were, isolated or not: one that could not be isolated right now still
 * means "unpin and retry", as in Linux after the June 2025 revert.
 */
static unsigned long collect_longterm_unpinnable_folios(struct list_head *movable,
							 unsigned long nr_pages,
							 struct page **pages)
{
	struct folio *prev = NULL;
	unsigned long collected = 0;

	for (unsigned long i = 0; i < nr_pages; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (folio == prev)
			continue;
		prev = folio;
		if (folio_is_longterm_pinnable(folio))
			continue;
		collected++;
		/*
		 * Fails if the folio is already isolated, by another migrator or
		 * by us for an earlier page: it is still counted, so we retry.
		 * folio_isolate_lru() counts nr_isolated_*; migrate_pages() and
		 * putback_movable_pages() uncount it (Linux's caller counts).
		 */
		if (!folio_isolate_lru(folio))
			continue;
		list_add_tail(&folio->lru, movable);
	}
	return collected;
}

/*
 * Unpin the whole range (pages[] entries become NULL) and migrate @movable.
 * Return: -EAGAIN when the caller should pin again, or the error after which
 * nothing is left pinned.
 */
static long migrate_longterm_unpinnable_folios(struct list_head *movable,
					       unsigned long nr_pages, struct page **pages)
{
	struct migration_target_control mtc = {
		/* GFP_USER: not movable, so neither ZONE_MOVABLE nor CMA */
		.gfp_mask = GFP_USER | __GFP_NOWARN,
		.reason = MR_LONGTERM_PIN,
	};
	long ret = -EAGAIN;

	for (unsigned long i = 0; i < nr_pages; i++) {
		unpin_user_page(pages[i]);
		pages[i] = NULL;
	}
	if (!list_empty(movable) &&
	    migrate_pages(movable, alloc_migration_target, NULL, (unsigned long)&mtc,
			  MIGRATE_SYNC, MR_LONGTERM_PIN, NULL))
		ret = -ENOMEM;
	putback_movable_pages(movable);
	return ret;
}

long check_and_migrate_movable_pages(unsigned long nr_pages, struct page **pages)
{
	LIST_HEAD(movable);

	if (!collect_longterm_unpinnable_folios(&movable, nr_pages, pages))
		return 0;
	return migrate_longterm_unpinnable_folios(&movable, nr_pages, pages);
}
