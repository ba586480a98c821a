/* SPDX-License-Identifier: MIT */
/*
 * Swap of anonymous memory (Linux: mm/swapfile.c, mm/swap_state.c,
 * mm/page_io.c, the anon part of mm/vmscan.c, do_swap_page() of
 * mm/memory.c). docs/swap.md tells the whole story.
 *
 * A swap area is a host file in the machine's file directory, or plain
 * memory outside the arena; up to MAX_SWAPFILES of them, area n being swap
 * type SWP_SWAPFILE + n in page tables (pgtable.h). Each slot of an area has
 * a count in its swap map: how many page-table entries hold it, plus
 * SWAP_HAS_CACHE while a folio for it is in the swap cache (an xarray per
 * area, slot -> folio). A PTE that points to a slot carries
 * _PAGE_SWP_EXCLUSIVE when the page was anon-exclusive as it left.
 *
 * Pins: swap-out unmaps a page only through folio_try_share_anon_rmap_pte(),
 * which refuses a maybe-pinned anon-exclusive page, and shrink_folio_list()
 * gives no swap space to a maybe-pinned folio at all; a pinned page stays
 * resident and mapped. A GUP of a swapped-out page faults it back in.
 *
 * Locks (docs/locking.md): the area's lock (LOCK_RANK_LEAF) guards its map
 * and counters; the swap cache's xa_lock (LOCK_RANK_I_PAGES) its xarray.
 * Both may be taken under a page-table lock (zap frees slots there).
 */
#ifndef PINMM_SWAP_H
#define PINMM_SWAP_H

#include <pinmm/locks.h>
#include <pinmm/mm_types.h>
#include <pinmm/page-flags.h>
#include <pinmm/pgtable.h>
#include <pinmm/xarray.h>

/* Linux x86 keeps a swap PTE's "was anon-exclusive" bit in the PSE bit. */
#define _PAGE_SWP_EXCLUSIVE	_PAGE_PSE

static inline bool is_swapfile_entry(swp_entry_t e)
{
	return swp_type(e) >= SWP_SWAPFILE && swp_type(e) <= SWP_TYPE_LAST;
}
static inline bool is_swapfile_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_swapfile_entry(pte_to_swp_entry(pte));
}
static inline bool pte_swp_exclusive(pte_t pte) { return pte_val(pte) & _PAGE_SWP_EXCLUSIVE; }
static inline pte_t pte_swp_mkexclusive(pte_t pte) { return __pte(pte_val(pte) | _PAGE_SWP_EXCLUSIVE); }
static inline pte_t pte_swp_clear_exclusive(pte_t pte)
{
	return __pte(pte_val(pte) & ~_PAGE_SWP_EXCLUSIVE);
}

/*
 * PG_swapcache: as in Linux, PG_owner_priv_1 of a swap-backed folio (a file
 * folio's PG_checked is the same bit, never swap-backed).
 */
#define PG_swapcache	PG_owner_priv_1

static inline bool folio_test_swapcache(const struct folio *folio)
{
	return folio_test_swapbacked(folio) && test_bit(PG_swapcache, &folio->flags);
}

/* The first slot of a swap-cache folio (Linux folio->swap, kept in ->private). */
static inline swp_entry_t folio_swap_entry(const struct folio *folio)
{
	return (swp_entry_t){ (unsigned long)folio->private };
}

/* A slot's count: entries that hold it (up to SWAP_MAP_MAX), plus the cache bit. */
#define SWAP_HAS_CACHE	0x8000u
#define SWAP_MAP_MAX	0x7fffu

enum swap_backing { SWAP_BACKING_FILE, SWAP_BACKING_MEM };

struct swap_info_struct {
	spinlock_t lock;		/* the map, the counters, cluster_next */
	unsigned int type;		/* n: entries say SWP_SWAPFILE + n */
	bool active;			/* (l) between swapon and swapoff */
	enum swap_backing backing;
	unsigned long max;		/* (c) slots */
	unsigned long inuse_pages;	/* (l) slots with a count or a cache folio */
	unsigned long cluster_next;	/* (l) where the next allocation looks first */
	unsigned short *swap_map;	/* (l) per slot: count | SWAP_HAS_CACHE */
	int fd;				/* file backing: the host file */
	bool unlink_at_off;		/* we created the file: remove it at swapoff */
	char path[4096];
	unsigned char *mem;		/* memory backing */
	struct xarray cache;		/* the swap cache: slot -> folio */
	atomic_long users;		/* get_swap_device() holders, +1 while on */
};

/* ---- swapfile.c: areas, slots, counts, I/O --------------------------------- */

/**
 * pinmm_swapon - add a swap area of @bytes (whole pages).
 * @name: a file name in the machine's file directory (created, truncated to
 *        @bytes, removed again at swapoff), or NULL for an area in memory.
 * @bytes: size; at least one page.
 *
 * Areas are used in the order they were added (Linux: equal priorities
 * would round-robin; pinmm keeps the lowest type first, deterministic).
 * Context: may sleep; no locks held.
 * Return: the area's type index n (0..MAX_SWAPFILES-1), -EINVAL for a bad
 * size or name, -EPERM with MAX_SWAPFILES areas on, -ENOENT without a file
 * directory, -ENOMEM, or the host's errno for the file.
 */
int pinmm_swapon(const char *name, unsigned long bytes);
/**
 * pinmm_swapoff - remove area @type.
 * @type: what pinmm_swapon() returned.
 *
 * Folios kept only by the swap cache are dropped from it first. Unlike
 * Linux's try_to_unuse(), pinmm does not fault swapped-out pages back in:
 * an area whose slots are still held by page tables stays on.
 * Context: may sleep; no locks held.
 * Return: 0, -EINVAL for no such area, -EBUSY while slots are in use.
 */
int pinmm_swapoff(int type);
/* Swap off every area at shutdown; the slots leaked (held by nobody we could free). */
unsigned long pinmm_swap_shutdown(void);

/* The area of @entry, or NULL (not a swap-file entry, or no such area/slot). */
struct swap_info_struct *swp_swap_info(swp_entry_t entry);
/* SwapTotal and SwapFree, in pages (/proc/meminfo). */
void si_swapinfo(unsigned long *total, unsigned long *free);
/* Is any area on? (Without one, anon memory is not reclaimed.) */
bool pinmm_swap_active(void);
/* More than half of all swap slots in use? Then swap-in frees slots at once (Linux's vm_swap_full()). */
bool vm_swap_full(void);

/**
 * folio_alloc_swap - give a locked anon folio swap slots and put it in the swap cache.
 * @folio: locked, anon, not in the swap cache; large folios get consecutive slots.
 *
 * Slots are taken with SWAP_HAS_CACHE and count 0; the cache holds one
 * reference per page. Context: folio locked. Return: 0, -ENOMEM when no
 * area has room (the folio stays as it was).
 */
int folio_alloc_swap(struct folio *folio);
/**
 * swap_duplicate - one more page-table entry holds @entry (fork).
 * Context: page-table locks may be held. Return: 0, -ENOENT for a dead
 * entry, -ENOMEM when the count would pass SWAP_MAP_MAX.
 */
int swap_duplicate(swp_entry_t entry);
/**
 * swap_free - a page-table entry that held @entry is gone (swap-in mapped the page).
 * A slot with neither a count nor a cache folio is free again.
 * Context: page-table locks may be held.
 */
void swap_free(swp_entry_t entry);
/**
 * free_swap_and_cache - zap dropped an entry that held @entry: swap_free(),
 * and if nothing holds the slot but the swap cache, drop the cache's folio
 * too when its lock can be had without waiting (Linux: free_swap_and_cache_nr).
 * Context: page-table lock may be held; never sleeps.
 */
void free_swap_and_cache(swp_entry_t entry);
/* Entries that hold @entry's slot (without the cache bit). */
int __swap_count(swp_entry_t entry);
/* Does any slot of @folio (in the swap cache) have a count? */
bool folio_swapped(struct folio *folio);
/**
 * swapcache_prepare - claim @entry's cache bit before reading it in.
 * Return: 0 (ours: add the folio to the cache), -EEXIST (someone else is
 * adding or removing a folio: look again), -ENOENT (the slot is free).
 */
int swapcache_prepare(swp_entry_t entry);
/* Undo swapcache_prepare()/drop the cache bits of @nr slots from @entry. */
void put_swap_folio_entries(swp_entry_t entry, unsigned long nr);

/* Host I/O of one folio (Linux: swap_writepage/swap_read_folio). 0 or -EIO. */
int swap_write_folio(struct folio *folio);
int swap_read_folio(struct folio *folio, swp_entry_t entry);
/**
 * get_swap_device - hold @entry's swap area against swapoff (Linux's).
 * For a thread that read @entry and let go of what kept its slot in use
 * (the PTE lock): a swapoff that finds every slot free meanwhile waits for
 * put_swap_device() before it frees the area. The slot itself may be free
 * or reused: the caller looks again (swapcache_prepare()).
 * Context: any; does not sleep.
 * Return: the area, or NULL if @entry names none (or it is going away).
 */
struct swap_info_struct *get_swap_device(swp_entry_t entry);
/* Let go of get_swap_device()'s hold. */
void put_swap_device(struct swap_info_struct *si);

/**
 * read_swap_cache_async - bring @entry's data into the swap cache, unmapped
 * (Linux's read_swap_cache_async(), for MADV_WILLNEED).
 * The read is synchronous here. A slot freed meanwhile, or one another
 * thread is adding to or taking from the cache, is left alone.
 * Context: may sleep; holds the area with get_swap_device() while it works.
 * Return: the cache's folio with a reference the caller puts, or NULL.
 */
struct folio *read_swap_cache_async(swp_entry_t entry);

/* ---- swap_state.c: the swap cache ------------------------------------------ */

/*
 * add_to_swap_cache - put locked @folio at @entry's slots (one per page),
 * with a reference each; PG_swapcache, ->private = @entry.
 * Return: 0, -EEXIST if a slot holds a folio, -ENOMEM.
 */
int add_to_swap_cache(struct folio *folio, swp_entry_t entry);
/*
 * __delete_from_swap_cache - take locked @folio out of the cache (the
 * caller drops the cache's references and the slots' cache bits).
 * Context: xa_lock of the area's cache held.
 */
void __delete_from_swap_cache(struct folio *folio, swp_entry_t entry);
/* Take locked @folio out of the cache: references and cache bits too. */
void delete_from_swap_cache(struct folio *folio);
/**
 * swap_cache_migrate - migration hands @src's swap-cache slots to @dst
 * (Linux: folio_migrate_mapping() for a folio in the swap cache).
 * @dst: the destination, locked, of @src's order.
 * @src: locked, unmapped, in the swap cache, its count frozen.
 *
 * @dst takes the slots, one reference per page, PG_swapcache and the entry
 * in ->private; @src keeps none of them, so the caller unfreezes it at its
 * own reference alone. Lookups that found @src retry on its frozen count
 * and then find @dst.
 */
void swap_cache_migrate(struct folio *dst, struct folio *src);
/**
 * swap_cache_get_folio - the folio in the swap cache for @entry, referenced.
 * Return: the folio (folio_put() it) or NULL. It may have left the cache
 * by the time the caller locks it: check folio_test_swapcache() and
 * ->private under the lock.
 */
struct folio *swap_cache_get_folio(swp_entry_t entry);
/**
 * folio_free_swap - free a locked swap-cache folio's slots if no entry holds them.
 * Return: true if the folio left the cache (it is then dirty: its only copy).
 */
bool folio_free_swap(struct folio *folio);
/* zap's batch: a swap-cache folio that lost its last mapping leaves the cache (trylock). */
void free_swap_cache(struct folio *folio);

/* ---- swap_fault.c ------------------------------------------------------------ */

/**
 * do_swap_page - a fault on a PTE that holds a swap-area entry.
 * @vmf: the fault; vmf->orig_pte is the entry.
 *
 * Reads the page in (or finds it in the swap cache) and maps it.
 * Context: mmap_lock held; may sleep (folio lock, host I/O).
 * Return: 0 (also when a race means the access must simply be retried),
 * VM_FAULT_MAJOR if it read the area, VM_FAULT_OOM, or VM_FAULT_SIGBUS for
 * an I/O error or an entry of no area.
 */
vm_fault_t do_swap_page(struct vm_fault *vmf);

/* ---- vmscan.c (src/mm): reclaim of anon memory ------------------------------- */

/**
 * shrink_folio_list - try to swap out every folio on @folio_list.
 * @folio_list: isolated anon folios (folio_isolate_lru()), through ->lru.
 * @ignore_references: MADV_PAGEOUT: young PTEs do not save a folio.
 *
 * Each folio: kept if it may be pinned or no slot is free, else put in the
 * swap cache, unmapped from every mm (try_to_unmap: an anon-exclusive page
 * that got pinned meanwhile is refused and stays mapped), written to its
 * area and freed. What is kept goes back to the LRU; the list ends empty.
 * Context: may sleep; no locks held, or (direct reclaim) only what the
 * allocating thread holds: folios and anon_vmas are only try-locked.
 * Return: pages freed.
 */
unsigned long shrink_folio_list(struct list_head *folio_list, bool ignore_references);
/**
 * pinmm_reclaim_anon - reclaim up to @nr_to_reclaim anon pages, as kswapd would.
 * Scans the LRU (user folios, in pfn order from where the last scan
 * stopped): an active folio becomes inactive, a referenced one gets a
 * second chance, the rest are swapped out, and lazyfree ones (MADV_FREE)
 * are discarded. Without a swap area only lazyfree folios are taken.
 * Context: may sleep. Return: pages freed.
 */
unsigned long pinmm_reclaim_anon(unsigned long nr_to_reclaim);
/* The clock goes back to the lowest pfn (swapon of the first area). */
void pinmm_reclaim_reset(void);
/*
 * The allocator's direct reclaim hook for anon (installed while swap is on,
 * and from the first MADV_FREE on).
 */
unsigned long anon_direct_reclaim(unsigned long nr_pages);

/**
 * folio_mark_lazyfree - MADV_FREE: reclaim may discard @folio's contents.
 * @folio: an anon folio mapped by the caller's locked page table (a
 *         reference held), its PTEs cleaned by the caller.
 *
 * Clears PG_swapbacked (and the active and referenced bits: reclaim takes
 * it first), as Linux moves it to the inactive file LRU; counts
 * pglazyfree. Nothing happens to a folio in the swap cache, an unevictable
 * one, or one isolated by someone else (Linux's LRU batch skips those too).
 * A write (a dirty PTE or folio) before reclaim makes it swap-backed again
 * (try_to_unmap_one()).
 * Context: may be called with a page-table lock held; does not sleep.
 */
void folio_mark_lazyfree(struct folio *folio);

#endif /* PINMM_SWAP_H */
