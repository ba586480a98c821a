/* SPDX-License-Identifier: MIT */
/*
 * Device memory in ZONE_DEVICE (Linux: include/linux/memremap.h,
 * mm/memremap.c): a driver registers a range of device frames with
 * memremap_pages() and gets a struct page for each, owned by its
 * struct dev_pagemap.
 *
 *   MEMORY_DEVICE_PRIVATE   memory the CPU cannot address (a GPU's VRAM). Its
 *                           pages are never mapped present: a page table
 *                           holds a device-private swap entry instead, and a
 *                           CPU touch faults into ->migrate_to_ram(), which
 *                           moves the data back to system RAM. Here the
 *                           frames' bytes are PROT_NONE on the host, so a
 *                           CPU access that slipped through would crash.
 *   MEMORY_DEVICE_COHERENT  memory the CPU can address coherently (CXL, an
 *                           APU's device memory): mapped by ordinary present
 *                           PTEs, usable by ordinary GUP, but never
 *                           long-term pinnable (it must stay evictable).
 *
 * The pages are refcounted like any folio (the ZONE_DEVICE refcount rework
 * of Linux 6.15): free while the count is 0, handed out by the driver with
 * zone_device_page_init(), and given back through ->page_free() when the
 * last reference goes. Anonymous memory reaches them only by migration
 * (migrate_vma_*, include/pinmm/migrate.h).
 *
 * The machine keeps a window of pfns for them after the pmem range
 * (pinmm_config.devmem_bytes); request_free_mem_region() finds free room in
 * it.
 */
#ifndef PINMM_MEMREMAP_H
#define PINMM_MEMREMAP_H

#include <pinmm/mm.h>
#include <pinmm/pgtable.h>

struct vm_fault;

/* Linux's struct range: an inclusive [start, end] of physical addresses. */
struct range {
	uint64_t start;
	uint64_t end;
};

static inline uint64_t range_len(const struct range *r)
{
	return r->end - r->start + 1;
}

enum memory_type {
	/* 0 is reserved to catch an uninitialised type */
	MEMORY_DEVICE_PRIVATE = 1,
	MEMORY_DEVICE_COHERENT,
	MEMORY_DEVICE_FS_DAX,		/* pinmm: the pmem of src/fs/dax.c, never registered here */
};

struct dev_pagemap_ops {
	/* The last reference to @page went: it is the driver's again. Required. */
	void (*page_free)(struct page *page);
	/*
	 * A CPU fault on a device-private entry: move vmf->page (locked and
	 * referenced by the caller) back to system RAM, with migrate_vma_*()
	 * and MIGRATE_VMA_SELECT_DEVICE_PRIVATE. Required for DEVICE_PRIVATE.
	 * Return 0, or VM_FAULT_SIGBUS / VM_FAULT_OOM.
	 */
	vm_fault_t (*migrate_to_ram)(struct vm_fault *vmf);
};

/*
 * struct dev_pagemap - one registered range of device frames.
 * Lock letters: (c) constant while registered, (a) atomic.
 */
struct dev_pagemap {
	struct range range;			/* (c) physical addresses */
	int nr_range;				/* (c) 1: pinmm registers one range */
	enum memory_type type;			/* (c) */
	unsigned int flags;
	const struct dev_pagemap_ops *ops;	/* (c) */
	void *owner;				/* (c) the driver's cookie (migrate, hmm) */
	atomic_long pinmm_in_use;		/* (a) pages handed out and not yet freed */
};

/**
 * request_free_mem_region - find free room for @size bytes in the device window.
 * @size: a multiple of PAGE_SIZE.
 * @range: filled with the physical range found.
 *
 * Nothing is reserved until memremap_pages() registers the range.
 * Return: 0; -EINVAL for a bad size; -ENOSPC when the window has no such room.
 */
int request_free_mem_region(unsigned long size, struct range *range);

/**
 * memremap_pages - give a range of device frames struct pages in ZONE_DEVICE.
 * @pgmap: type, range (inside the machine's device window, page aligned),
 *	ops and owner filled in by the caller; it must outlive the registration.
 * @nid: the node (ignored: one node).
 *
 * Every page starts free (refcount 0). DEVICE_PRIVATE frames become
 * inaccessible to the CPU.
 * Context: may sleep.
 * Return: the address of the first frame (not to be dereferenced for
 * DEVICE_PRIVATE); ERR_PTR(-EINVAL) for a bad type, range or missing op,
 * ERR_PTR(-EBUSY) if the range overlaps one registered, ERR_PTR(-ENOSPC)
 * when too many are registered.
 */
void *memremap_pages(struct dev_pagemap *pgmap, int nid);

/**
 * memunmap_pages - undo memremap_pages().
 *
 * Every page must be free: a page still referenced (mapped, pinned) is a
 * driver bug, warned about and counted as leaked at shutdown.
 * Context: may sleep.
 */
void memunmap_pages(struct dev_pagemap *pgmap);

/* The pgmap of a ZONE_DEVICE page registered here; NULL for pmem or RAM. */
struct dev_pagemap *page_pgmap(const struct page *page);

static inline bool is_device_private_page(const struct page *page)
{
	struct dev_pagemap *pgmap;

	if (page_zonenum(page) != ZONE_DEVICE)
		return false;
	pgmap = page_pgmap(page);
	return pgmap && pgmap->type == MEMORY_DEVICE_PRIVATE;
}

static inline bool folio_is_device_private(const struct folio *folio)
{
	return is_device_private_page(&folio->page);
}

static inline bool is_device_coherent_page(const struct page *page)
{
	struct dev_pagemap *pgmap;

	if (page_zonenum(page) != ZONE_DEVICE)
		return false;
	pgmap = page_pgmap(page);
	return pgmap && pgmap->type == MEMORY_DEVICE_COHERENT;
}

static inline bool folio_is_device_coherent(const struct folio *folio)
{
	return is_device_coherent_page(&folio->page);
}

/**
 * zone_device_page_init - the driver hands out a free device page.
 *
 * The page gets refcount 1 and is locked, as migrate_vma_pages() wants its
 * destinations. A page that is not free is a driver bug (WARN, left alone).
 */
void zone_device_page_init(struct page *page);

/*
 * The last reference to a ZONE_DEVICE folio went (from __folio_put()):
 * reset it and give it to its pgmap's ->page_free(), or to the pmem owner.
 */
void free_zone_device_folio(struct folio *folio);

/* Registered pgmaps and device pages still in use; reported at shutdown. */
unsigned long memremap_pages_in_use(bool report);

/* ---- device-private entries (Linux: swapops.h) ------------------------------------ */

static inline bool is_device_private_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_READ || swp_type(e) == SWP_DEVICE_WRITE;
}

static inline bool is_writable_device_private_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_WRITE;
}

static inline bool is_device_exclusive_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_EXCLUSIVE;
}

static inline swp_entry_t make_readable_device_private_entry(unsigned long pfn)
{
	return swp_entry(SWP_DEVICE_READ, pfn);
}

static inline swp_entry_t make_writable_device_private_entry(unsigned long pfn)
{
	return swp_entry(SWP_DEVICE_WRITE, pfn);
}

static inline bool is_device_exclusive_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_device_exclusive_entry(pte_to_swp_entry(pte));
}

static inline bool is_device_private_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_device_private_entry(pte_to_swp_entry(pte));
}

/* The page a device-private (or migration) entry names. */
static inline struct page *pfn_swap_entry_to_page(swp_entry_t e)
{
	return pfn_to_page(swp_offset(e));
}

/* ---- device-exclusive access (Linux: make_device_exclusive(), mm/rmap.c) ---------- */

/**
 * make_device_exclusive - take a page of @mm away from the CPU for a device.
 * @mm: the address space; its mmap_lock held for read.
 * @addr: the address (rounded down to its page).
 * @owner: the device; its own MMU-notifier subscription may skip this
 *	MMU_NOTIFY_EXCLUSIVE event (range->owner).
 * @foliop: set to the page's folio.
 *
 * The page is faulted in writable (and a PMD-mapped THP split), then its PTE
 * becomes a SWP_DEVICE_EXCLUSIVE entry that keeps the mapping, its mapcount
 * and its reference: the page neither moves nor is freed while the device
 * uses it, and nothing is pinned. The next CPU access faults, tells every
 * mirror (MMU_NOTIFY_EXCLUSIVE, no owner) and gets the PTE back; fork puts
 * the PTE back in the parent before copying it; zap drops the entry.
 * Context: may sleep.
 * Return: the page, its folio locked and referenced (the caller programs its
 * device, then folio_unlock() and folio_put()); ERR_PTR(-EFAULT) for an
 * address with no VMA or one that cannot be written; ERR_PTR(-EOPNOTSUPP)
 * for memory that is not private anonymous; ERR_PTR(-EBUSY) if the folio is
 * locked; ERR_PTR(-ENOMEM).
 */
struct page *make_device_exclusive(struct mm_struct *mm, unsigned long addr, void *owner,
				   struct folio **foliop);

/* The device-exclusive entry at @ptep (its PTE lock held) becomes a PTE again. */
void restore_exclusive_pte(struct vm_area_struct *vma, unsigned long addr, pte_t *ptep);

/* A CPU fault on a device-exclusive entry (do_swap_page's branch). */
vm_fault_t remove_device_exclusive_entry(struct vm_fault *vmf);

#endif /* PINMM_MEMREMAP_H */
