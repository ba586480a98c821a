// SPDX-License-Identifier: MIT
/*
 * Reclaim of anonymous memory: swap-out (Linux: the anon part of
 * mm/vmscan.c shrink_folio_list(), try_to_unmap_one() of mm/rmap.c,
 * folio_referenced()). The page-cache part is src/fs/vmscan.c.
 *
 * One isolated folio, in Linux's order:
 *   1. a folio that may be pinned gets no swap space and stays
 *      (shrink_folio_list: folio_maybe_dma_pinned -> keep);
 *   2. folio_alloc_swap(): slots (consecutive ones for a large folio: Linux
 *      with CONFIG_THP_SWAP swaps a THP out whole) and a place in the swap
 *      cache. A large folio that could not be split (can_split_folio(): a
 *      GET or a pin) is not tried at all; one that finds no room whole is
 *      split (split_folio_to_list(), THP_SWPOUT_FALLBACK) and its pages go
 *      out one by one, its tails taking their turn at the end of the list.
 *      With no room the folio stays, nothing lost;
 *   3. try_to_unmap(): every PTE becomes a swap entry (a PMD is split to
 *      PTEs first). An anon-exclusive page is shared first with
 *      folio_try_share_anon_rmap_pte(), which refuses a page that got
 *      pinned after step 1: the PTE goes back as it was, the walk stops and
 *      the folio stays mapped (the entries already made point into the swap
 *      cache, where a fault finds the folio);
 *   4. the folio is written to its slots and taken out of the swap cache
 *      if the cache and our isolation are its only references (the refcount
 *      freeze of __remove_mapping(): a fault that found it in the cache, a
 *      GUP, anything, keeps it), then freed.
 *
 * LRU aging. pinmm's LRU is PG_lru alone (src/migrate/lru.c), so kswapd-like
 * reclaim walks user folios in pfn order from where it last stopped, a
 * clock: an active folio becomes inactive; a referenced one (young PTEs,
 * PG_referenced from GUP or a fault) loses its reference bits and gets a
 * second chance; the rest are swapped out. MADV_COLD makes folios inactive
 * and unreferenced, so the clock takes them first; MADV_PAGEOUT reclaims
 * at once, ignoring references.
 *
 * Lazyfree folios (MADV_FREE: anon, PG_swapbacked clear; Linux keeps them
 * on the file LRU) need no swap: with or without an area, reclaim unmaps
 * them and frees them unwritten, unless try_to_unmap_one() finds one
 * redirtied (a dirty PTE or folio: it is swap-backed again and stays) or
 * holding a reference besides the mappings and the isolation (a GUP, a pin:
 * it stays, still lazyfree, for the next pass; Linux since 2025, seen on the
 * live kernel too). A DMA into a pinned lazyfree page is not lost, as it was
 * before Linux's 2022 fix for direct I/O reads.
 *
 * Direct reclaim (an allocation that failed) only try-locks folios and
 * anon_vmas: the allocating thread may hold one of them.
 */
#include <pinmm/swap.h>

#include <pinmm/gfp.h>
#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/mman.h>
#include <pinmm/mmzone.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <pinmm/vmstat.h>

/* src/migrate/lru.c: NR_ISOLATED_* of an isolation that ends by freeing. */
void folio_account_isolated(struct folio *folio, int sign);

/* ---- try_to_unmap ------------------------------------------------------------------ */

struct unmap_state {
	bool refused;		/* a page may be pinned, or a VMA forbids it */
};

/*
 * A lazyfree folio's PTE, just cleared to @pteval: may the page go? The
 * counts are read after the clear (full fence: a GUP-fast grab either
 * shows in the refcount here or finds the PTE gone at its re-check, as
 * Linux's smp_mb() pairs with gup_fast's). Dirty first: a redirtied folio
 * is an ordinary anon folio again (swap-backed); a held reference only
 * keeps it this time (its holder may be writing it: a pinned page's DMA).
 * Not discarded: the PTE is back as it was.
 */
static bool lazyfree_may_discard(struct folio *folio, pte_t *ptep, pte_t pteval)
{
	int refs, maps;

	atomic_thread_fence(memory_order_seq_cst);
	refs = folio_ref_count(folio);
	maps = folio_mapcount(folio);
	if (folio_test_dirty(folio)) {
		set_pte(ptep, pteval);
		folio_set_swapbacked(folio);
		return false;
	}
	if (refs != 1 + maps) {
		set_pte(ptep, pteval);
		return false;
	}
	return true;
}

/* try_to_unmap_one(): one VMA; false (stop the walk) when it must stop. */
static bool try_to_unmap_one(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long address, void *arg)
{
	struct page_vma_mapped_walk pvmw = PVMW_INIT(folio, vma, address);
	struct unmap_state *st = arg;
	bool lazyfree = !folio_test_swapbacked(folio);
	swp_entry_t first = lazyfree ? (swp_entry_t){ 0 } : folio_swap_entry(folio);
	unsigned long end = min(address + folio_size(folio), vma->vm_end);
	struct mmu_notifier_range range;
	bool ret = true;

	/*
	 * Shared anon memory is not swapped (Linux's is shmem); mlocked
	 * memory stays resident.
	 */
	/* no mmap_lock here: mlock/madvise may be changing the flags (READ_ONCE) */
	if (__atomic_load_n(&vma->vm_flags, __ATOMIC_RELAXED) & (VM_SHARED | VM_LOCKED)) {
		st->refused = true;
		return false;
	}
	/* swap entries are per page: a THP mapped by a PMD is mapped by PTEs first */
	if (folio_test_large(folio))
		for (unsigned long a = address & PMD_MASK; a < end; a += PMD_SIZE)
			split_huge_pmd_address(vma, max(a, vma->vm_start));

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, address & PAGE_MASK, end);
	mmu_notifier_invalidate_range_start(&range);
	while (page_vma_mapped_walk(&pvmw)) {
		struct page *subpage;
		bool anon_exclusive, present;
		swp_entry_t entry;
		pte_t pteval, swp_pte;

		if (!pvmw.pte) {
			/* a PMD came back (a racing THP fault): not this time */
			page_vma_mapped_walk_done(&pvmw);
			st->refused = true;
			ret = false;
			break;
		}
		pteval = ptep_get(pvmw.pte);
		present = pte_present(pteval);
		if (present) {
			subpage = pte_page(pteval);
		} else {
			swp_entry_t e = pte_to_swp_entry(pteval);

			/*
			 * A device-exclusive entry maps its page as a PTE would
			 * (Linux 6.15+): it goes too; the device gave the page up
			 * at the notifier above and faults it back like the CPU.
			 */
			if (!is_device_exclusive_entry(e))
				continue;
			subpage = pfn_swap_entry_to_page(e);
		}
		anon_exclusive = PageAnonExclusive(subpage);
		pteval = ptep_get_and_clear(pvmw.pte);
		if (present && pte_dirty(pteval))
			folio_mark_dirty(folio);
		if (lazyfree) {
			if (!lazyfree_may_discard(folio, pvmw.pte, pteval)) {
				page_vma_mapped_walk_done(&pvmw);
				st->refused = true;
				ret = false;
				break;
			}
			/* discarded: the next touch finds a fresh zero-filled page */
			add_mm_counter(vma->vm_mm, MM_ANONPAGES, -1);
			folio_remove_rmap_pte(folio, subpage, vma);
			folio_put(folio);	/* never the last: the isolation holds it */
			continue;
		}
		entry = swp_entry(swp_type(first),
				  swp_offset(first) + (unsigned long)(subpage - &folio->page));
		/*
		 * The PTE is clear: GUP-fast cannot find the page any more, and
		 * if it pinned it before, sharing says so (Linux:
		 * folio_try_share_anon_rmap_pte() fails when maybe pinned).
		 */
		if (anon_exclusive && folio_try_share_anon_rmap_pte(folio, subpage)) {
			set_pte(pvmw.pte, pteval);
			page_vma_mapped_walk_done(&pvmw);
			st->refused = true;
			ret = false;
			break;
		}
		if (swap_duplicate(entry)) {
			if (anon_exclusive)
				SetPageAnonExclusive(subpage);
			set_pte(pvmw.pte, pteval);
			page_vma_mapped_walk_done(&pvmw);
			st->refused = true;
			ret = false;
			break;
		}
		swp_pte = swp_entry_to_pte(entry);
		if (anon_exclusive)
			swp_pte = pte_swp_mkexclusive(swp_pte);
		/* the tracking bits travel with the entry (try_to_unmap_one) */
		if (present ? pte_soft_dirty(pteval) : pte_swp_soft_dirty(pteval))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		if (present ? pte_uffd_wp(pteval) : pte_swp_uffd_wp(pteval))
			swp_pte = pte_swp_mkuffd_wp(swp_pte);
		set_pte(pvmw.pte, swp_pte);
		add_mm_counter(vma->vm_mm, MM_ANONPAGES, -1);
		add_mm_counter(vma->vm_mm, MM_SWAPENTS, 1);
		folio_remove_rmap_pte(folio, subpage, vma);
		folio_put(folio);	/* never the last: the cache and the isolation hold it */
	}
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/*
 * Unmap @folio (locked; in the swap cache, or lazyfree) from every mm. True
 * if nothing maps it now.
 */
static bool try_to_unmap(struct folio *folio)
{
	struct unmap_state st = { .refused = false };
	struct rmap_walk_control rwc = {
		.rmap_one = try_to_unmap_one,
		.arg = &st,
		.try_lock = true,
	};

	/* the mappings may change until each is looked at under its PTE lock */
	pinmm_race_point(PINMM_RACE_RECLAIM_UNMAP, folio_pfn(folio));
	rmap_walk(folio, &rwc);
	return !st.refused && !rwc.contended && !folio_mapped(folio);
}

/* ---- folio_referenced --------------------------------------------------------------- */

static bool folio_referenced_one(struct folio *folio, struct vm_area_struct *vma,
				 unsigned long address, void *arg)
{
	struct page_vma_mapped_walk pvmw = PVMW_INIT(folio, vma, address);
	int *referenced = arg;

	while (page_vma_mapped_walk(&pvmw)) {
		if (__atomic_load_n(&vma->vm_flags, __ATOMIC_RELAXED) & VM_LOCKED) {
			/* mlocked: never reclaimed, always "referenced" */
			page_vma_mapped_walk_done(&pvmw);
			*referenced += 1;
			return false;
		}
		if (pvmw.pte) {
			pte_t pte = ptep_get(pvmw.pte);

			if (pte_present(pte) && pte_young(pte)) {
				set_pte(pvmw.pte, pte_mkold(pte));
				*referenced += 1;
			}
		} else {
			pmd_t pmd = pmdp_get(pvmw.pmd);

			if (pmd_young(pmd)) {
				set_pmd(pvmw.pmd, pmd_mkold(pmd));
				*referenced += 1;
			}
		}
	}
	return true;
}

/*
 * A mapping with no recency (MADV_SEQUENTIAL, MADV_RANDOM) is skipped, young
 * bits and all: if the folio is in use elsewhere, that mapping says so
 * (Linux's invalid_folio_referenced_vma()). A locked one is still looked at:
 * Linux keeps mlocked folios off the scanned lists, pinmm by this walk.
 */
static bool invalid_folio_referenced_vma(struct vm_area_struct *vma, void *arg)
{
	(void)arg;
	return !vma_has_recency(vma) &&
	       !(__atomic_load_n(&vma->vm_flags, __ATOMIC_RELAXED) & VM_LOCKED);
}

/* Young entries of locked @folio, cleared as they are counted (Linux folio_referenced). */
static int folio_referenced(struct folio *folio)
{
	int referenced = 0;
	struct rmap_walk_control rwc = {
		.rmap_one = folio_referenced_one,
		.arg = &referenced,
		.invalid_vma = invalid_folio_referenced_vma,
		.try_lock = true,
	};

	if (!folio_mapped(folio))
		return 0;
	rmap_walk(folio, &rwc);
	return rwc.contended ? 1 : referenced;
}

/* ---- shrink_folio_list ------------------------------------------------------------ */

/* Take locked @folio, written and unmapped, out of the swap cache and free it. */
static bool remove_swap_mapping(struct folio *folio)
{
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long nr = folio_nr_pages(folio);
	int refs = 1 + (int)nr;	/* the isolation's and the cache's */

	xa_lock(&si->cache);
	/*
	 * Freeze, as __remove_mapping() does: a fault that found the folio in
	 * the cache, a GUP-fast grab or anything else holding a reference
	 * makes it fail, and the folio stays in the cache for them.
	 */
	if (!folio_ref_freeze(folio, refs)) {
		xa_unlock(&si->cache);
		return false;
	}
	if (folio_test_dirty(folio) || folio_mapped(folio)) {
		folio_ref_unfreeze(folio, refs);
		xa_unlock(&si->cache);
		return false;
	}
	__delete_from_swap_cache(folio, entry);
	xa_unlock(&si->cache);
	put_swap_folio_entries(entry, nr);
	folio_ref_unfreeze(folio, 1);
	return true;
}

/*
 * Discard one locked, isolated lazyfree folio, as Linux's
 * shrink_folio_list() does: unmapped from every mm (try_to_unmap_one()
 * keeps it where it was redirtied or referenced), then freed if the
 * isolation is its last reference and it is still clean. True if freed
 * (unlocked then).
 */
static bool discard_lazyfree_folio(struct folio *folio)
{
	unsigned long nr = folio_nr_pages(folio);

	if (folio_mapped(folio) && !try_to_unmap(folio))
		return false;
	/* a GET that came before the unmap, or a redirtying, keeps it */
	if (!folio_ref_freeze(folio, 1))
		return false;
	if (folio_test_dirty(folio)) {
		folio_ref_unfreeze(folio, 1);
		return false;
	}
	folio_ref_unfreeze(folio, 1);
	count_vm_events(PGLAZYFREED, (long)nr);
	folio_unlock(folio);
	folio_account_isolated(folio, -1);
	folio_put(folio);	/* the isolation's: the last one, the folio is free */
	return true;
}

/*
 * Swap out one locked, isolated anon folio. True if it was freed (unlocked
 * then). A large folio the swap areas cannot take whole is split first, its
 * tails going on @folio_list (isolated) and *@nr becoming 1.
 */
static bool pageout_anon_folio(struct folio *folio, struct list_head *folio_list,
			       unsigned long *nr)
{
	if (!folio_test_anon(folio) || folio_test_mlocked(folio) ||
	    folio_test_unevictable(folio))
		return false;
	/* lazyfree (MADV_FREE): no swap, no pin test; try_to_unmap_one() decides */
	if (!folio_test_swapbacked(folio))
		return discard_lazyfree_folio(folio);
	if (!folio_test_swapcache(folio)) {
		/*
		 * Linux's shrink_folio_list(): a maybe-pinned anon folio is
		 * given no swap space. A device may be writing to it: its data
		 * must stay where the device writes.
		 */
		if (folio_maybe_dma_pinned(folio)) {
			count_vm_event(PINMM_RECLAIM_PINNED_SKIP);
			return false;
		}
		/*
		 * Linux's shrink_folio_list(): a large folio that could not be
		 * split is not tried at all (a GET or a pin on any page).
		 */
		if (folio_test_large(folio) && !can_split_folio(folio, 1, NULL))
			return false;
		/*
		 * Linux's shrink_folio_list(): a partly unmapped folio (on the
		 * deferred-split queue) is split first: its unmapped pages are
		 * freed without being written, the mapped ones go out alone.
		 */
		if (folio_test_large(folio) && folio_test_partially_mapped(folio)) {
			if (split_folio_to_list(folio, folio_list))
				return false;
			*nr = 1;
		}
		if (folio_alloc_swap(folio)) {
			if (!folio_test_large(folio))
				return false;	/* no area, or full: the folio stays as it is */
			/* no room for it whole: its pages go out one by one */
			if (split_folio_to_list(folio, folio_list))
				return false;
			*nr = 1;
			count_vm_event(THP_SWPOUT_FALLBACK);
			if (folio_alloc_swap(folio))
				return false;
		}
		/* the area's copy is yet to be written */
		folio_mark_dirty(folio);
	}
	if (folio_mapped(folio) && !try_to_unmap(folio))
		return false;	/* stays in the swap cache; mapped entries fault it back */
	if (folio_test_dirty(folio)) {
		/*
		 * A CPU store that found the page before the unmap may still be
		 * landing: pinmm's uaccess copies after the PTE lock with a
		 * reference, as a CPU with a TLB entry does, and Linux's TLB
		 * flush is what waits such stores out before writeback. Here
		 * the count does: write only what nobody else holds (acquire:
		 * the last store's folio_put() happens before the read).
		 */
		if (atomic_load_explicit(&folio->_refcount, memory_order_acquire) !=
		    1 + (int)folio_nr_pages(folio))
			return false;	/* stays dirty in the swap cache: next time */
		folio_clear_dirty(folio);
		if (swap_write_folio(folio)) {
			folio_mark_dirty(folio);
			return false;
		}
	}
	if (!remove_swap_mapping(folio))
		return false;
	folio_unlock(folio);
	folio_account_isolated(folio, -1);
	folio_put(folio);	/* the isolation's: the last one, the folio is free */
	return true;
}

unsigned long shrink_folio_list(struct list_head *folio_list, bool ignore_references)
{
	unsigned long reclaimed = 0;

	/* a split THP's tails join the end of the list: taken in turn */
	while (!list_empty(folio_list)) {
		struct folio *folio = list_first_entry(folio_list, struct folio, lru);
		unsigned long nr = folio_nr_pages(folio);

		list_del(&folio->lru);
		/* never wait: direct reclaim may run under a folio lock */
		if (!folio_trylock(folio)) {
			count_vm_events(PGSCAN_ANON, (long)nr);
			folio_putback_lru(folio);
			continue;
		}
		if (!ignore_references && folio_referenced(folio)) {
			count_vm_events(PGSCAN_ANON, (long)nr);
			folio_unlock(folio);
			folio_putback_lru(folio);
			continue;
		}
		/* after: a split leaves one page here, its tails are scanned in turn */
		if (pageout_anon_folio(folio, folio_list, &nr)) {
			count_vm_events(PGSCAN_ANON, (long)nr);
			reclaimed += nr;
			count_vm_events(PGSTEAL_ANON, (long)nr);
			continue;
		}
		count_vm_events(PGSCAN_ANON, (long)nr);
		folio_unlock(folio);
		folio_putback_lru(folio);
	}
	return reclaimed;
}

/* ---- the clock --------------------------------------------------------------------- */

#define SCAN_BATCH	32

static atomic_ulong scan_hand;	/* the pfn where the last scan stopped */

/* swapon of the first area: the clock starts from the lowest pfn. */
void pinmm_reclaim_reset(void)
{
	atomic_store_explicit(&scan_hand, 0, memory_order_relaxed);
}

/*
 * Isolate @pfn's folio for reclaim if it is an inactive, unreferenced anon
 * LRU folio (@lazyfree_only: without swap, a lazyfree one).
 */
static struct folio *scan_one(unsigned long pfn, unsigned long *step, bool lazyfree_only)
{
	struct page *page = pfn_to_page(pfn);
	struct folio *folio;

	*step = 1;
	if (PageBuddy(page) || PageTable(page) || PageTail(page))
		return NULL;
	folio = page_folio(page);
	/*
	 * A cheap look at the flags only, as compaction's: the frame may be
	 * freed and become a page table meanwhile, whose set-up writes the
	 * other fields; ->mapping is read once the reference holds it.
	 */
	if (!folio_test_lru(folio) || !folio_try_get(folio))
		return NULL;
	if (page_folio(page) != folio || !folio_test_lru(folio) || !folio_test_anon(folio)) {
		folio_put(folio);
		return NULL;
	}
	*step = folio_nr_pages(folio);
	if (lazyfree_only && folio_test_swapbacked(folio)) {
		folio_put(folio);	/* no swap: nowhere to put it */
		return NULL;
	}
	if (folio_test_clear_active(folio)) {
		count_vm_event(PGDEACTIVATE);	/* aged: reclaimable next time round */
		folio_put(folio);
		return NULL;
	}
	if (folio_test_clear_referenced(folio) || !folio_trylock(folio)) {
		folio_put(folio);	/* second chance (or busy) */
		return NULL;
	}
	if (folio_referenced(folio)) {
		folio_unlock(folio);
		folio_put(folio);
		return NULL;
	}
	folio_unlock(folio);
	if (!folio_isolate_lru(folio)) {
		folio_put(folio);
		return NULL;
	}
	folio_put(folio);	/* the isolation holds its own */
	return folio;
}

/* @pfn if a user zone spans it, else the start of the next one (wrapping round). */
static unsigned long clock_pfn(unsigned long pfn)
{
	unsigned long next = ULONG_MAX, lowest = ULONG_MAX;
	struct zone *zone;

	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		if (zone_spans_pfn(zone, pfn))
			return pfn;
		if (zone->zone_start_pfn > pfn)
			next = min(next, zone->zone_start_pfn);
		lowest = min(lowest, zone->zone_start_pfn);
	}
	return next != ULONG_MAX ? next : lowest;
}

unsigned long pinmm_reclaim_anon(unsigned long nr_to_reclaim)
{
	unsigned long reclaimed = 0, scanned = 0, total = 0;
	struct zone *zone;
	bool swap = pinmm_swap_active();
	LIST_HEAD(batch);
	int nr_batch = 0;

	/* without swap only lazyfree folios can go: none if MADV_FREE never ran */
	if (!nr_to_reclaim || (!swap && !global_vm_event(PGLAZYFREE)))
		return 0;
	for_each_populated_zone(zone)
		if (zone->idx != ZONE_DEVICE)
			total += zone->spanned_pages;
	/* two turns of the clock: the first may only clear reference bits */
	while (reclaimed < nr_to_reclaim && scanned < 2 * total) {
		unsigned long pfn = atomic_load_explicit(&scan_hand, memory_order_relaxed);
		unsigned long step = 1;
		struct folio *folio = NULL;

		pfn = clock_pfn(pfn);
		folio = scan_one(pfn, &step, !swap);
		atomic_store_explicit(&scan_hand, pfn + step, memory_order_relaxed);
		scanned += step;
		if (folio) {
			list_add_tail(&folio->lru, &batch);
			if (++nr_batch == SCAN_BATCH) {
				reclaimed += shrink_folio_list(&batch, true);
				nr_batch = 0;
			}
		}
		if (!(scanned & 511))
			cond_resched();
	}
	if (nr_batch)
		reclaimed += shrink_folio_list(&batch, true);
	return reclaimed;
}

unsigned long anon_direct_reclaim(unsigned long nr_pages)
{
	return pinmm_reclaim_anon(nr_pages);
}

/* ---- MADV_FREE ------------------------------------------------------------------------ */

void folio_mark_lazyfree(struct folio *folio)
{
	if (!folio_test_anon(folio) || !folio_test_swapbacked(folio) ||
	    folio_test_swapcache(folio) || folio_test_unevictable(folio))
		return;
	/*
	 * Linux moves it from the anon LRU to the file LRU under the LRU
	 * lock, skipping a folio someone isolated; here the isolation itself
	 * is that exclusion: reclaim and migration, which read PG_swapbacked
	 * to decide what to do, hold the folio isolated while they do it.
	 */
	if (!folio_isolate_lru(folio))
		return;
	if (folio_test_swapbacked(folio) && !folio_test_swapcache(folio)) {
		folio_clear_active(folio);
		folio_clear_referenced(folio);
		folio_clear_swapbacked(folio);
		count_vm_events(PGLAZYFREE, (long)folio_nr_pages(folio));
		/* an allocation that fails may discard it now, swap or not */
		if (!__atomic_load_n(&pinmm_direct_reclaim_anon, __ATOMIC_ACQUIRE))
			__atomic_store_n(&pinmm_direct_reclaim_anon, anon_direct_reclaim,
					 __ATOMIC_RELEASE);
	}
	folio_putback_lru(folio);
}
