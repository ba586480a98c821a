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
#include <pinmm/memremap.h>
#include <pinmm/hugetlb.h>
#include <pinmm/migrate.h>

/*
 * A pinned array of pages (pin_user_pages) or of folios (memfd_pin_folios):
 * the same check serves both, as Linux's struct pages_or_folios does.
 */
struct pages_or_folios {
	union {
		struct page **pages;
		struct folio **folios;
	};
	bool has_folios;
	unsigned long nr_entries;
};

static struct folio *pofs_get_folio(const struct pages_or_folios *pofs, unsigned long i)
{
	return pofs->has_folios ? pofs->folios[i] : page_folio(pofs->pages[i]);
}

/* Unpin every entry left and clear it: nothing stays pinned while we migrate. */
static void pofs_unpin_all(struct pages_or_folios *pofs)
{
	for (unsigned long i = 0; i < pofs->nr_entries; i++) {
		if (pofs->has_folios ? !pofs->folios[i] : !pofs->pages[i])
			continue;
		if (pofs->has_folios) {
			unpin_folio(pofs->folios[i]);
			pofs->folios[i] = NULL;
		} else {
			unpin_user_page(pofs->pages[i]);
			pofs->pages[i] = NULL;
		}
	}
}

/*
 * Collect the distinct folios that may not stay long-term pinned, isolating
 * the ones that can be migrated onto @movable. Return how many such folios
 * there were, isolated or not: one that could not be isolated right now still
 * means "unpin and retry", as in Linux after the June 2025 revert.
 */
static unsigned long collect_longterm_unpinnable_folios(struct list_head *movable,
							 const struct pages_or_folios *pofs)
{
	struct folio *prev = NULL;
	unsigned long collected = 0;

	for (unsigned long i = 0; i < pofs->nr_entries; i++) {
		struct folio *folio = pofs_get_folio(pofs, i);

		if (folio == prev)
			continue;
		prev = folio;
		if (folio_is_longterm_pinnable(folio))
			continue;
		collected++;
		/* device-coherent memory is not on the LRU: it moves on its own below */
		if (folio_is_device_coherent(folio))
			continue;
		/* hugetlb folios are not on the LRU: isolate_hugetlb() (Linux does the same) */
		if (folio_test_hugetlb(folio)) {
			isolate_hugetlb(folio, movable);
			continue;
		}
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
 * Unpin the whole range (entries become NULL) and migrate @movable.
 * Return: -EAGAIN when the caller should pin again, or the error after which
 * nothing is left pinned.
 */
static long migrate_longterm_unpinnable_folios(struct list_head *movable,
					       struct pages_or_folios *pofs)
{
	struct migration_target_control mtc = {
		/* GFP_USER: not movable, so neither ZONE_MOVABLE nor CMA */
		.gfp_mask = GFP_USER | __GFP_NOWARN,
		.reason = MR_LONGTERM_PIN,
	};
	long ret = -EAGAIN;

	/*
	 * Device-coherent folios must leave device memory (Linux's
	 * migrate_device_coherent_folio()): a pin would make the migration
	 * fail, so each pin becomes a plain reference first, which the
	 * migration consumes.
	 */
	for (unsigned long i = 0; i < pofs->nr_entries; i++) {
		struct folio *folio;

		if (!(pofs->has_folios ? (void *)pofs->folios[i] : (void *)pofs->pages[i]))
			continue;
		folio = pofs_get_folio(pofs, i);
		if (!folio_is_device_coherent(folio))
			continue;
		folio_get(folio);
		if (pofs->has_folios) {
			unpin_folio(folio);
			pofs->folios[i] = NULL;
		} else {
			unpin_user_page(pofs->pages[i]);
			pofs->pages[i] = NULL;
		}
		if (migrate_device_coherent_folio(folio)) {
			ret = -EBUSY;
			break;
		}
	}
	pofs_unpin_all(pofs);
	if (ret != -EAGAIN) {
		putback_movable_pages(movable);
		return ret;
	}
	if (hugetlb_migrate_longterm(movable))
		ret = -ENOMEM;
	if (!list_empty(movable) &&
	    migrate_pages(movable, alloc_migration_target, NULL, (unsigned long)&mtc,
			  MIGRATE_SYNC, MR_LONGTERM_PIN, NULL))
		ret = -ENOMEM;
	putback_movable_pages(movable);
	return ret;
}

static long check_and_migrate_movable_pages_or_folios(struct pages_or_folios *pofs)
{
	LIST_HEAD(movable);

	if (!collect_longterm_unpinnable_folios(&movable, pofs))
		return 0;
	return migrate_longterm_unpinnable_folios(&movable, pofs);
}

long check_and_migrate_movable_pages(unsigned long nr_pages, struct page **pages)
{
	struct pages_or_folios pofs = {
		.pages = pages,
		.has_folios = false,
		.nr_entries = nr_pages,
	};

	return check_and_migrate_movable_pages_or_folios(&pofs);
}

long check_and_migrate_movable_folios(unsigned long nr_folios, struct folio **folios)
{
	struct pages_or_folios pofs = {
		.folios = folios,
		.has_folios = true,
		.nr_entries = nr_folios,
	};

	return check_and_migrate_movable_pages_or_folios(&pofs);
}
