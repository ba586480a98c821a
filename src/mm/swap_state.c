// SPDX-License-Identifier: MIT
/*
 * The swap cache (Linux: mm/swap_state.c): an xarray per swap area, slot ->
 * folio, one entry and one folio reference per page of the folio.
 *
 * A folio is in the cache while its data and the area's copy may differ or
 * while both are valid: from swap-out (folio_alloc_swap) until it is
 * written and freed, and from swap-in until no page-table entry holds its
 * slot any more. The cache is what lets a fault racing swap-out, or a second
 * process that shares the slot after fork, find the folio instead of
 * reading a slot that is not written yet.
 *
 * Lookups are lockless (RCU, then folio_try_get() and a re-check of the
 * slot); changes hold the xarray's lock and the folio lock.
 */
#include <pinmm/swap.h>

#include <pinmm/mm.h>
#include <pinmm/pagemap.h>
#include <pinmm/rcupdate.h>
#include <pinmm/rmap.h>
#include <pinmm/vmstat.h>

#include <errno.h>

int add_to_swap_cache(struct folio *folio, swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry), nr = folio_nr_pages(folio), i;
	int err = 0;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(folio_test_swapcache(folio), folio);
	if (WARN_ON_ONCE(!si))
		return -ENOENT;
	folio_ref_add(folio, (int)nr);
	/* atomic: reclaim adds a live folio, on whose lock others may be waiting */
	if (!folio_test_swapbacked(folio))
		folio_set_swapbacked(folio);
	folio->private = (void *)entry.val;
	xa_lock(&si->cache);
	for (i = 0; i < nr; i++) {
		err = __xa_insert(&si->cache, off + i, folio, GFP_NOWAIT);
		if (err)
			break;
	}
	if (err) {
		while (i--)
			__xa_erase(&si->cache, off + i);
		xa_unlock(&si->cache);
		folio->private = NULL;
		folio_ref_sub(folio, (int)nr);
		return err == -EBUSY ? -EEXIST : err;
	}
	set_bit(PG_swapcache, &folio->flags);
	xa_unlock(&si->cache);
	mod_node_page_state(NR_SWAPCACHE, (long)nr);
	return 0;
}

void __delete_from_swap_cache(struct folio *folio, swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry), nr = folio_nr_pages(folio);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(!folio_test_swapcache(folio), folio);
	for (unsigned long i = 0; i < nr; i++) {
		void *old = __xa_erase(&si->cache, off + i);

		VM_WARN_ON_ONCE(old != folio);
		(void)old;
	}
	clear_bit(PG_swapcache, &folio->flags);
	folio->private = NULL;
	mod_node_page_state(NR_SWAPCACHE, -(long)nr);
}

void delete_from_swap_cache(struct folio *folio)
{
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long nr = folio_nr_pages(folio);

	if (WARN_ON_ONCE(!si))
		return;
	xa_lock(&si->cache);
	__delete_from_swap_cache(folio, entry);
	xa_unlock(&si->cache);
	put_swap_folio_entries(entry, nr);
	folio_ref_sub(folio, (int)nr);	/* never the last: the caller holds one */
}

void swap_cache_migrate(struct folio *dst, struct folio *src)
{
	swp_entry_t entry = folio_swap_entry(src);
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry), nr = folio_nr_pages(src);

	VM_BUG_ON_FOLIO(!folio_test_locked(dst) || !folio_test_locked(src), src);
	VM_BUG_ON_FOLIO(folio_ref_count(src) != 0 || folio_nr_pages(dst) != nr, src);
	folio_ref_add(dst, (int)nr);
	dst->private = (void *)entry.val;
	xa_lock(&si->cache);
	for (unsigned long i = 0; i < nr; i++) {
		void *old = __xa_store(&si->cache, off + i, dst, GFP_NOWAIT);

		VM_WARN_ON_ONCE(old != src);
		(void)old;
	}
	set_bit(PG_swapcache, &dst->flags);
	clear_bit(PG_swapcache, &src->flags);
	xa_unlock(&si->cache);
	src->private = NULL;
}

struct folio *swap_cache_get_folio(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	struct folio *folio;

	if (!si)
		return NULL;
	rcu_read_lock();
	for (;;) {
		folio = xa_load(&si->cache, swp_offset(entry));
		if (!folio)
			break;
		if (!folio_try_get(folio)) {
			/* frozen by reclaim, or being freed: look again */
			cpu_relax();
			continue;
		}
		if (xa_load(&si->cache, swp_offset(entry)) == folio)
			break;
		folio_put(folio);
	}
	rcu_read_unlock();
	return folio;
}

bool folio_free_swap(struct folio *folio)
{
	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (!folio_test_swapcache(folio) || folio_test_writeback(folio))
		return false;
	if (folio_swapped(folio))
		return false;
	delete_from_swap_cache(folio);
	/* the area's copy is gone: the folio is the only one */
	folio_mark_dirty(folio);
	return true;
}

void free_swap_cache(struct folio *folio)
{
	if (folio_test_swapcache(folio) && !folio_mapped(folio) && folio_trylock(folio)) {
		folio_free_swap(folio);
		folio_unlock(folio);
	}
}
