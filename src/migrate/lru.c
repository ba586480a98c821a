// SPDX-License-Identifier: MIT
/*
 * The LRU, reduced to what migration and reclaim need (Linux: mm/swap.c
 * folio_add_lru, mm/vmscan.c folio_isolate_lru, mm/migrate.c
 * putback_movable_pages).
 *
 * There are no LRU lists: PG_lru alone says "a movable user folio that
 * nobody has taken for migration or reclaim"; anon reclaim (src/mm/vmscan.c)
 * finds folios by a clock over the pfns instead of walking lists. A migrator takes
 * a folio by clearing PG_lru atomically (whoever clears it owns the folio's
 * isolation; a second migrator sees it clear and leaves the folio alone) and
 * holding one more reference, which keeps the folio alive while it is
 * unmapped. The last folio_put() clears PG_lru (__folio_put), so a free frame
 * never looks isolatable.
 *
 * Synchronisation: PG_lru is changed only by atomic bit operations (setting
 * it is a release, clearing it by isolation an acquire: folio->lru passes
 * from one isolator to the next); every function here needs a reference on
 * the folio, never a lock.
 */
#include "internal.h"

#include <pinmm/vmstat.h>

void folio_account_isolated(struct folio *folio, int sign)
{
	enum node_stat_item item = folio_test_anon(folio) || folio_test_swapbacked(folio) ?
				   NR_ISOLATED_ANON : NR_ISOLATED_FILE;

	mod_node_page_state(item, sign * (long)folio_nr_pages(folio));
}

/**
 * folio_add_lru - a user folio becomes visible to migration.
 * @folio: a folio just mapped for the first time (anon fault, COW copy, THP),
 *         or one whose isolation ends.
 *
 * Context: any; the caller holds a reference.
 */
void folio_add_lru(struct folio *folio)
{
	VM_BUG_ON_FOLIO(folio_ref_count(folio) <= 0, folio);
	VM_WARN_ON_ONCE_FOLIO(folio_test_lru(folio), folio);
	/*
	 * Release, pairing with the test-and-clear of folio_isolate_lru():
	 * the next isolator reuses folio->lru, so it must see our last use of
	 * it (a putback's list_del) done. Linux gets this from the lru_lock.
	 */
	atomic_fetch_or_explicit(&folio->flags, BIT(PG_lru), memory_order_release);
}

/**
 * folio_isolate_lru - take @folio for migration.
 * @folio: a folio the caller holds a reference on.
 *
 * Clears PG_lru atomically and takes a reference for the isolation; the
 * folio is then the caller's to put on a migration list (folio->lru) and to
 * hand back with folio_putback_lru() or migrate_pages().
 * Context: any.
 * Return: true if the caller isolated it; false if it was not on the LRU
 * (never added, already isolated by someone else, or being freed).
 */
bool folio_isolate_lru(struct folio *folio)
{
	VM_BUG_ON_FOLIO(folio_ref_count(folio) <= 0, folio);
	if (!folio_test_clear_lru(folio))
		return false;
	folio_get(folio);
	folio_account_isolated(folio, 1);
	return true;
}

/**
 * folio_putback_lru - end an isolation that did not migrate @folio.
 * @folio: a folio isolated by folio_isolate_lru(), off any list.
 *
 * PG_lru again, and the isolation reference dropped (the last one frees the
 * folio, if everything else let go meanwhile).
 * Context: any.
 */
void folio_putback_lru(struct folio *folio)
{
	folio_account_isolated(folio, -1);
	folio_add_lru(folio);
	folio_put(folio);
}

/**
 * putback_movable_pages - folio_putback_lru() every folio on @l.
 * @l: a list of isolated folios (through folio->lru), left empty.
 *
 * Context: any.
 */
void putback_movable_pages(struct list_head *l)
{
	struct folio *folio, *next;

	list_for_each_entry_safe(folio, next, l, lru) {
		list_del(&folio->lru);
		folio_putback_lru(folio);
	}
}
