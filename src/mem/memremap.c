// SPDX-License-Identifier: MIT
/*
 * ZONE_DEVICE pages for device memory (Linux: mm/memremap.c); the contract is
 * in include/pinmm/memremap.h.
 *
 * The struct pages exist from boot (the device window of ZONE_DEVICE), so
 * registering a range only binds its frames to a pgmap: a small table,
 * searched by pfn, stands where Linux keeps page->pgmap. An entry is
 * published with a release store after the pgmap is filled in, and stays
 * until memunmap_pages(), which the driver calls only once its pages are
 * all free; so a lookup on a referenced page never races the removal.
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/memremap.h>
#include <pinmm/page-flags.h>
#include <pinmm/pagemap.h>
#include <pinmm/rmap.h>
#include <sys/mman.h>

#define MAX_PGMAPS	16

static _Atomic(struct dev_pagemap *) pgmaps[MAX_PGMAPS];
/* registration and removal; lookups are lockless */
static spinlock_t pgmap_lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF);

static unsigned long range_first_pfn(const struct range *r)
{
	return (unsigned long)(r->start >> PAGE_SHIFT);
}

static unsigned long range_nr_pages(const struct range *r)
{
	return (unsigned long)(range_len(r) >> PAGE_SHIFT);
}

static bool pgmap_spans(const struct dev_pagemap *pgmap, unsigned long pfn)
{
	unsigned long first = range_first_pfn(&pgmap->range);

	return pfn >= first && pfn < first + range_nr_pages(&pgmap->range);
}

struct dev_pagemap *page_pgmap(const struct page *page)
{
	unsigned long pfn = page_to_pfn(page);

	for (int i = 0; i < MAX_PGMAPS; i++) {
		struct dev_pagemap *pgmap = atomic_load_explicit(&pgmaps[i], memory_order_acquire);

		if (pgmap && pgmap_spans(pgmap, pfn))
			return pgmap;
	}
	return NULL;
}

/* Does [first, first + nr) overlap a registered range? pgmap_lock held. */
static bool overlaps_registered(unsigned long first, unsigned long nr)
{
	for (int i = 0; i < MAX_PGMAPS; i++) {
		struct dev_pagemap *p = atomic_load_explicit(&pgmaps[i], memory_order_relaxed);
		unsigned long pf;

		if (!p)
			continue;
		pf = range_first_pfn(&p->range);
		if (first < pf + range_nr_pages(&p->range) && pf < first + nr)
			return true;
	}
	return false;
}

int request_free_mem_region(unsigned long size, struct range *range)
{
	unsigned long nr = size >> PAGE_SHIFT, end = pinmm_devmem_pfn + pinmm_devmem_pages;
	int ret = -ENOSPC;

	if (!size || (size & ~PAGE_MASK))
		return -EINVAL;
	spin_lock(&pgmap_lock);
	for (unsigned long pfn = pinmm_devmem_pfn; pfn + nr <= end; pfn++) {
		if (overlaps_registered(pfn, nr))
			continue;
		range->start = (uint64_t)pfn << PAGE_SHIFT;
		range->end = range->start + size - 1;
		ret = 0;
		break;
	}
	spin_unlock(&pgmap_lock);
	return ret;
}

/* The frames' bytes: the CPU may touch coherent memory, never private memory. */
static void set_cpu_access(const struct dev_pagemap *pgmap, bool on)
{
	if (pgmap->type != MEMORY_DEVICE_PRIVATE)
		return;
	if (mprotect(pfn_to_virt(range_first_pfn(&pgmap->range)), range_len(&pgmap->range),
		     on ? PROT_READ | PROT_WRITE : PROT_NONE))
		WARN_ON_ONCE(1);
}

void *memremap_pages(struct dev_pagemap *pgmap, int nid)
{
	unsigned long first, nr, end = pinmm_devmem_pfn + pinmm_devmem_pages;
	int slot = -1;

	(void)nid;
	if (WARN_ON_ONCE(!pgmap || !pgmap->ops || !pgmap->ops->page_free))
		return ERR_PTR(-EINVAL);
	switch (pgmap->type) {
	case MEMORY_DEVICE_PRIVATE:
		if (WARN_ON_ONCE(!pgmap->ops->migrate_to_ram))
			return ERR_PTR(-EINVAL);
		/* fall through */
	case MEMORY_DEVICE_COHERENT:
		/* migration and hmm tell devices apart by owner */
		if (WARN_ON_ONCE(!pgmap->owner))
			return ERR_PTR(-EINVAL);
		break;
	default:
		WARN_ON_ONCE(1);
		return ERR_PTR(-EINVAL);
	}
	if (pgmap->nr_range > 1 || pgmap->range.end < pgmap->range.start ||
	    (pgmap->range.start & ~PAGE_MASK) || ((pgmap->range.end + 1) & ~PAGE_MASK))
		return ERR_PTR(-EINVAL);
	first = range_first_pfn(&pgmap->range);
	nr = range_nr_pages(&pgmap->range);
	if (first < pinmm_devmem_pfn || first + nr > end || first + nr < first)
		return ERR_PTR(-EINVAL);

	spin_lock(&pgmap_lock);
	if (overlaps_registered(first, nr)) {
		spin_unlock(&pgmap_lock);
		return ERR_PTR(-EBUSY);
	}
	for (int i = 0; i < MAX_PGMAPS; i++)
		if (!atomic_load_explicit(&pgmaps[i], memory_order_relaxed)) {
			slot = i;
			break;
		}
	if (slot < 0) {
		spin_unlock(&pgmap_lock);
		return ERR_PTR(-ENOSPC);
	}
	pgmap->nr_range = 1;
	atomic_store_explicit(&pgmap->pinmm_in_use, 0, memory_order_relaxed);
	/* free device pages: no references, no mappings, only the zone bits */
	for (unsigned long pfn = first; pfn < first + nr; pfn++) {
		struct page *page = pfn_to_page(pfn);

		atomic_store_explicit(&page->flags, (unsigned long)ZONE_DEVICE << ZONES_PGSHIFT,
				      memory_order_relaxed);
		atomic_store_explicit(&page->mapping, NULL, memory_order_relaxed);
		atomic_store_explicit(&page->compound_head, 0, memory_order_relaxed);
		atomic_store_explicit(&page->_mapcount, -1, memory_order_relaxed);
		atomic_store_explicit(&page->_refcount, 0, memory_order_relaxed);
		page->index = 0;
		page->private = 0;
	}
	set_cpu_access(pgmap, false);
	atomic_store_explicit(&pgmaps[slot], pgmap, memory_order_release);
	spin_unlock(&pgmap_lock);
	return pfn_to_virt(first);
}

void memunmap_pages(struct dev_pagemap *pgmap)
{
	long in_use = atomic_load(&pgmap->pinmm_in_use);
	int slot = -1;

	/* Linux waits for the last page; a page never freed would wait forever */
	if (WARN_ON_ONCE(in_use)) {
		fprintf(stderr, "pinmm: memunmap_pages: %ld device page(s) of [%#llx-%#llx] "
			"still in use\n", in_use, (unsigned long long)pgmap->range.start,
			(unsigned long long)pgmap->range.end);
		return;		/* stays registered: the leak shows at shutdown */
	}
	spin_lock(&pgmap_lock);
	for (int i = 0; i < MAX_PGMAPS; i++)
		if (atomic_load_explicit(&pgmaps[i], memory_order_relaxed) == pgmap)
			slot = i;
	if (!WARN_ON_ONCE(slot < 0)) {
		atomic_store_explicit(&pgmaps[slot], NULL, memory_order_release);
		set_cpu_access(pgmap, true);
	}
	spin_unlock(&pgmap_lock);
}

void zone_device_page_init(struct page *page)
{
	struct dev_pagemap *pgmap = page_pgmap(page);
	struct folio *folio = page_folio(page);

	if (WARN_ON_ONCE(!pgmap || folio_ref_count(folio)))
		return;
	atomic_fetch_add(&pgmap->pinmm_in_use, 1);
	folio_set_count(folio, 1);
	/* nobody else can know this page yet */
	if (!folio_trylock(folio))
		BUG();
}

void free_zone_device_folio(struct folio *folio)
{
	struct dev_pagemap *pgmap = page_pgmap(&folio->page);

	if (!pgmap) {
		/* the pmem of fsdax */
		if (!WARN_ON_ONCE(!pinmm_device_folio_free))
			pinmm_device_folio_free(folio);
		return;
	}
	VM_BUG_ON_FOLIO(folio_mapped(folio), folio);
	/* only the zone bits stay: anon-exclusive, dirty, uptodate end here */
	atomic_store(&folio->flags, (unsigned long)ZONE_DEVICE << ZONES_PGSHIFT);
	atomic_store(&folio->mapping, NULL);
	folio->index = 0;
	folio->private = NULL;
	atomic_store(&folio->_mapcount, -1);
	atomic_fetch_sub(&pgmap->pinmm_in_use, 1);
	pgmap->ops->page_free(&folio->page);
}

unsigned long memremap_pages_in_use(bool report)
{
	unsigned long left = 0;

	for (int i = 0; i < MAX_PGMAPS; i++) {
		struct dev_pagemap *pgmap = atomic_load(&pgmaps[i]);
		long in_use;

		if (!pgmap)
			continue;
		in_use = atomic_load(&pgmap->pinmm_in_use);
		if (report)
			fprintf(stderr, "pinmm: device memory [%#llx-%#llx] still registered, "
				"%ld page(s) in use\n", (unsigned long long)pgmap->range.start,
				(unsigned long long)pgmap->range.end, in_use);
		left += 1 + (unsigned long)in_use;
		/* the next machine starts with an empty table */
		atomic_store(&pgmaps[i], NULL);
		set_cpu_access(pgmap, true);
	}
	return left;
}
