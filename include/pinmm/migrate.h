/* SPDX-License-Identifier: MIT */
/*
 * Migration, isolation, compaction and contiguous allocation: moving the
 * contents of user folios to other frames while their mappings stay valid.
 *
 * A folio can move only if every reference to it is explained by its
 * mappings, its cache and the migrator's own: a GET reference or a pin makes
 * the refcount freeze fail, and the folio stays where it is. That is why a
 * long-term pin must move its pages out of ZONE_MOVABLE/CMA *before* pinning
 * (src/gup/longterm.c), and why a pinned page makes alloc_contig_range() and
 * memory offlining fail with -EBUSY.
 */
#ifndef PINMM_MIGRATE_H
#define PINMM_MIGRATE_H

#include <pinmm/mm.h>

enum migrate_mode {
	MIGRATE_ASYNC,		/* never block: trylock, skip writeback */
	MIGRATE_SYNC_LIGHT,
	MIGRATE_SYNC,		/* may block on folio locks and writeback */
};

enum migrate_reason {
	MR_COMPACTION,
	MR_MEMORY_FAILURE,
	MR_MEMORY_HOTPLUG,
	MR_SYSCALL,
	MR_CONTIG_RANGE,
	MR_LONGTERM_PIN,
	MR_TYPES
};

typedef struct folio *new_folio_t(struct folio *src, unsigned long private);
typedef void free_folio_t(struct folio *dst, unsigned long private);

/* For alloc_migration_target(): where and how to allocate the destination. */
struct migration_target_control {
	gfp_t gfp_mask;
	enum migrate_reason reason;
};

/**
 * migrate_pages - move the contents of isolated folios to new folios.
 * @from: list (through folio->lru) of folios isolated with folio_isolate_lru().
 * @get_new_folio: allocates a destination for a source folio (NULL: -ENOMEM).
 * @put_new_folio: frees an unused destination, or NULL for folio_put().
 * @private: passed to both callbacks.
 * @mode: how hard to try.
 * @reason: MR_*, for the counters.
 * @ret_succeeded: if non-NULL, the number of folios migrated.
 *
 * Each folio is locked, unmapped from every mm through rmap (its PTEs/PMDs
 * replaced by migration entries, with MMU-notifier invalidations), frozen at
 * its expected refcount, copied with the flags that travel, and remapped at
 * the new place. A folio with unexplained references (GET or pin) is put back
 * mapped as it was and counted as failed. Faults that meet a migration entry
 * wait for the migration and then see the new folio.
 * Context: may sleep; no mmap_lock held.
 * Return: 0 if all moved; the number that did not move; or -errno. Folios
 * that did not move stay on @from for the caller's putback_movable_pages().
 */
int migrate_pages(struct list_head *from, new_folio_t get_new_folio,
		  free_folio_t put_new_folio, unsigned long private,
		  enum migrate_mode mode, int reason, unsigned int *ret_succeeded);

/* get_new_folio for migrate_pages(): same order, @private is a migration_target_control. */
struct folio *alloc_migration_target(struct folio *src, unsigned long private);

/* Return isolated folios on @l to the LRU and drop the isolation references. */
void putback_movable_pages(struct list_head *l);

/*
 * The LRU-like state of user folios: PG_lru says "a movable user folio that
 * nobody has isolated". folio_add_lru() sets it when a user folio is first
 * mapped; folio_isolate_lru() clears it atomically and takes a reference, so
 * two migrators never race for one folio; folio_putback_lru() undoes that.
 */
void folio_add_lru(struct folio *folio);
bool folio_isolate_lru(struct folio *folio);
void folio_putback_lru(struct folio *folio);

/**
 * alloc_contig_range - take the frames [start, end) for a caller, moving out
 * whatever is in them.
 * Return: 0 with every frame allocated (release with free_contig_range());
 * -EBUSY if a frame could not be emptied (a pinned or otherwise held page,
 * reported on stderr with its pfn); -EINVAL for a bad range.
 */
int alloc_contig_range(unsigned long start, unsigned long end, int migratetype, gfp_t gfp);
void free_contig_range(unsigned long pfn, unsigned long nr_pages);

/* The machine's CMA area as one allocator (Linux's cma_alloc()/cma_release()). */
struct page *cma_alloc_pages(unsigned long count, unsigned int align_order);
bool cma_release_pages(struct page *pages, unsigned long count);

/* Run compaction on @zone until no more progress (the "echo 1 > compact_memory"). */
int compact_zone_now(struct zone *zone);

/**
 * offline_pages - empty a ZONE_MOVABLE range for hot-unplug.
 * Return: 0 with the range isolated and empty; -EBUSY (range restored) if a
 * page could not be migrated, e.g. because it is pinned.
 */
int offline_pages(unsigned long start_pfn, unsigned long nr_pages);
/* Give an offlined range back to the allocator. */
void online_pages(unsigned long start_pfn, unsigned long nr_pages);

/* ---- migration entries ----------------------------------------------------------- */

/*
 * While a page moves, each PTE that mapped it holds a migration entry
 * (pgtable.h: SWP_MIGRATION_WRITE if the PTE was writable,
 * SWP_MIGRATION_READ_EXCLUSIVE if the page was anon-exclusive, else
 * SWP_MIGRATION_READ; offset = the pfn of the old page). A non-present entry
 * leaves bits 6..11 free: the entry keeps the PTE's dirty, young and
 * soft-dirty bits there (Linux keeps dirty/young in the offset), so the new
 * PTE comes back with them. Code that copies an entry (fork) may drop them:
 * they are hints, the folio's own flags carry what matters.
 */
#define _PAGE_SWP_DIRTY		_PAGE_DIRTY		/* bit 6 */
#define _PAGE_SWP_YOUNG		(1UL << 8)
#define _PAGE_SWP_SOFT_DIRTY	_PAGE_SOFT_DIRTY	/* bit 11 */

/* A plain read entry: neither writable nor exclusive (pgtable.h has the other two). */
static inline bool is_readable_migration_entry(swp_entry_t entry)
{
	return swp_type(entry) == SWP_MIGRATION_READ;
}

static inline bool is_migration_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_migration_entry(pte_to_swp_entry(pte));
}

/* The migration entry that replaces the present PTE @pte of the page at @pfn. */
static inline pte_t make_migration_pte(enum swp_type type, unsigned long pfn, pte_t pte)
{
	unsigned long v = pte_val(swp_entry_to_pte(swp_entry(type, pfn)));

	if (pte_dirty(pte))
		v |= _PAGE_SWP_DIRTY;
	if (pte_young(pte))
		v |= _PAGE_SWP_YOUNG;
	if (pte_soft_dirty(pte))
		v |= _PAGE_SWP_SOFT_DIRTY;
	if (pte_uffd_wp(pte))
		v |= _PAGE_SWP_UFFD_WP;
	return __pte(v);
}

/* ---- device memory: migrate_vma (Linux: mm/migrate_device.c) ------------------------ */

/*
 * A driver moves anonymous pages of one VMA to its device memory and back
 * (include/pinmm/memremap.h). Each page of the range has a src and a dst
 * word: a pfn shifted left by MIGRATE_PFN_SHIFT and MIGRATE_PFN_* bits.
 *
 *   migrate_vma_setup()     collect: for each page, take it (locked, one
 *                           reference) and replace its entry by a migration
 *                           entry; a hole or the zero page of an anonymous
 *                           VMA is collected as MIGRATE_PFN_MIGRATE with no
 *                           page. Pages that may be pinned, are locked by
 *                           someone else, belong to another device or are
 *                           not anonymous stay as they are (src word 0, or
 *                           without MIGRATE_PFN_MIGRATE).
 *   the driver              for each src with MIGRATE_PFN_MIGRATE: allocates
 *                           a destination (zone_device_page_init() for device
 *                           memory, a locked folio for RAM), copies the data,
 *                           and sets dst = migrate_pfn(pfn); leaves dst 0 to
 *                           keep the page where it is (out of memory).
 *   migrate_vma_pages()     moves struct page state (mapping, index, flags)
 *                           to each destination; a hole gets its new page.
 *   migrate_vma_finalize()  maps the destinations where the sources were (a
 *                           device-private page by a device-private entry,
 *                           anything else by a present PTE) or the sources
 *                           again where the move did not happen; unlocks and
 *                           drops every reference the migration took.
 *
 * The caller holds mmap_lock (read) from setup to finalize.
 */
#define MIGRATE_PFN_VALID	(1UL << 0)
#define MIGRATE_PFN_MIGRATE	(1UL << 1)
#define MIGRATE_PFN_WRITE	(1UL << 3)
#define MIGRATE_PFN_SHIFT	6

static inline struct page *migrate_pfn_to_page(unsigned long mpfn)
{
	if (!(mpfn & MIGRATE_PFN_VALID))
		return NULL;
	return pfn_to_page(mpfn >> MIGRATE_PFN_SHIFT);
}

static inline unsigned long migrate_pfn(unsigned long pfn)
{
	return (pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID;
}

enum migrate_vma_direction {
	MIGRATE_VMA_SELECT_SYSTEM = 1 << 0,		/* pages in RAM */
	MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1,	/* this owner's private pages */
	MIGRATE_VMA_SELECT_DEVICE_COHERENT = 1 << 2,	/* this owner's coherent pages */
};

struct anon_vma;

struct migrate_vma {
	struct vm_area_struct *vma;
	unsigned long *dst;		/* npages entries, filled by the driver */
	unsigned long *src;		/* npages entries, filled by setup */
	unsigned long cpages;		/* pages collected and unmapped */
	unsigned long npages;		/* pages of the range */
	unsigned long start;
	unsigned long end;
	void *pgmap_owner;		/* which device's pages to select */
	unsigned long flags;		/* MIGRATE_VMA_SELECT_* */
	/* migrate_to_ram(): the faulting page, locked and referenced by the fault */
	struct page *fault_page;
	/* pinmm: each collected folio's anon_vma, referenced; setup to finalize */
	struct anon_vma **pinmm_anon_vma;
};

/**
 * migrate_vma_setup - collect and unmap the pages of @args' range.
 * @args: vma, start, end (inside the one VMA), src and dst arrays of
 *	(end - start) >> PAGE_SHIFT entries, flags, pgmap_owner, fault_page.
 *
 * As Linux, start and end are rounded down to pages; a range shorter than a
 * page, outside @args->vma or crossing its end is -EINVAL, and so are a
 * hugetlb, VM_SPECIAL or DAX VMA, missing arrays, and a fault_page that is
 * not device-private.
 * Context: mmap_lock held for read; may sleep.
 * Return: 0 with args->src filled and args->cpages pages collected (the
 * caller must go on with migrate_vma_pages() and migrate_vma_finalize()
 * when cpages is not 0); -EINVAL; -ENOMEM.
 */
int migrate_vma_setup(struct migrate_vma *args);

/**
 * migrate_vma_pages - move struct page state to the destinations.
 * Clears MIGRATE_PFN_MIGRATE in src for each page that stays.
 * Context: mmap_lock held for read; may sleep.
 */
void migrate_vma_pages(struct migrate_vma *migrate);

/**
 * migrate_vma_finalize - map the result and release what the migration held.
 * Context: mmap_lock held for read; may sleep.
 */
void migrate_vma_finalize(struct migrate_vma *migrate);

/**
 * migrate_device_coherent_folio - move a device-coherent folio to RAM.
 * @folio: the caller holds one reference (not a pin) and not the lock.
 *
 * For FOLL_LONGTERM: device-coherent memory is never long-term pinnable.
 * Return: 0 when it moved (every mapping now maps a RAM copy); -EBUSY when
 * it could not be unmapped (another reference or pin) or no RAM was free.
 */
int migrate_device_coherent_folio(struct folio *folio);

#endif /* PINMM_MIGRATE_H */
