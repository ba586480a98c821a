// SPDX-License-Identifier: MIT
/*
 * The Contiguous Memory Allocator (Linux: mm/cma.c) over the machine's one
 * CMA area: the last cma_bytes of ZONE_NORMAL, MIGRATE_CMA pageblocks.
 *
 * While nobody has claimed them, CMA frames serve movable allocations like
 * any other memory. A claim (cma_alloc_pages) picks a free run in the area's
 * bitmap and empties it with alloc_contig_range(); a run that cannot be
 * emptied (a pinned page in it) is skipped and the next one tried. That is
 * the whole reason a long-term pin must migrate out of CMA first.
 *
 * Synchronisation: the bitmap has its own lock (a leaf); one claim at a time
 * runs alloc_contig_range() (Linux's cma_mutex), because two claims inside
 * one pageblock would each find the other's isolation and fail.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <pinmm/slab.h>

#define BITS_PER_LONG		(sizeof(long) * CHAR_BIT)
#define BITS_TO_LONGS(n)	DIV_ROUND_UP(n, BITS_PER_LONG)

static struct cma {
	unsigned long base_pfn;
	unsigned long count;		/* pages */
	unsigned long *bitmap;		/* (lock) one bit per page: claimed */
	spinlock_t lock;
	struct mutex alloc_mutex;
	bool initialised;
} cma_area;

void cma_init_reserved_areas(void)
{
	struct zone *normal = &pinmm_zones[ZONE_NORMAL];
	struct cma *cma = &cma_area;
	size_t words;

	if (!cma->initialised) {
		spin_lock_init(&cma->lock, LOCK_RANK_LEAF);
		mutex_init(&cma->alloc_mutex, LOCK_RANK_NONE);
		cma->initialised = true;
	}
	kfree(cma->bitmap);
	cma->count = normal->cma_pages;
	cma->base_pfn = zone_end_pfn(normal) - cma->count;
	words = BITS_TO_LONGS(cma->count ? cma->count : 1);
	cma->bitmap = kcalloc(words, sizeof(unsigned long), GFP_KERNEL);
	if (!cma->bitmap)
		cma->count = 0;		/* no CMA rather than a broken one */
}

static bool cma_bit(const struct cma *cma, unsigned long i)
{
	return (cma->bitmap[i / BITS_PER_LONG] >> (i % BITS_PER_LONG)) & 1;
}

static void cma_set_range(struct cma *cma, unsigned long first, unsigned long nr, bool set)
{
	for (unsigned long i = first; i < first + nr; i++) {
		if (set)
			cma->bitmap[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
		else
			cma->bitmap[i / BITS_PER_LONG] &= ~(1UL << (i % BITS_PER_LONG));
	}
}

/* First unclaimed run of @count bits at a multiple of @align from @from; ~0UL if none. */
static unsigned long cma_find_run(struct cma *cma, unsigned long from, unsigned long count,
				  unsigned long align)
{
	for (unsigned long i = ALIGN(from, align); i + count <= cma->count; i += align) {
		unsigned long j;

		for (j = 0; j < count && !cma_bit(cma, i + j); j++)
			;
		if (j == count)
			return i;
	}
	return ~0UL;
}

/**
 * cma_alloc_pages - claim @count contiguous frames from the CMA area.
 * @count: pages, > 0.
 * @align_order: the first pfn is a multiple of 1 << @align_order (relative
 *               to pfn 0, like Linux's alignment of the physical address).
 *
 * Runs are tried in address order; one that cannot be emptied (-EBUSY) is
 * skipped. Counts cma_alloc_success or cma_alloc_fail.
 * Context: may sleep; no locks held.
 * Return: the first page (each page holds one reference), or NULL.
 */
struct page *cma_alloc_pages(unsigned long count, unsigned int align_order)
{
	struct cma *cma = &cma_area;
	unsigned long align = 1UL << align_order, offset, from = 0;
	struct page *page = NULL;

	/* gigantic hugetlb pages ask for PUD alignment (Linux: hugetlb_cma) */
	if (!count || !cma->count || align_order > PUD_ORDER)
		goto out;
	/* bitmap indices that land on aligned pfns */
	offset = (ALIGN(cma->base_pfn, align) - cma->base_pfn);
	for (;;) {
		unsigned long i;
		int ret;

		spin_lock(&cma->lock);
		i = cma_find_run(cma, max(from, offset), count, align);
		if (i != ~0UL)
			cma_set_range(cma, i, count, true);
		spin_unlock(&cma->lock);
		if (i == ~0UL)
			break;
		mutex_lock(&cma->alloc_mutex);
		ret = alloc_contig_range(cma->base_pfn + i, cma->base_pfn + i + count,
					 MIGRATE_CMA, GFP_KERNEL | __GFP_NOWARN);
		mutex_unlock(&cma->alloc_mutex);
		if (!ret) {
			page = pfn_to_page(cma->base_pfn + i);
			break;
		}
		spin_lock(&cma->lock);
		cma_set_range(cma, i, count, false);
		spin_unlock(&cma->lock);
		if (ret != -EBUSY)
			break;
		from = i + align;	/* past the busy run, as Linux retries */
	}
out:
	count_vm_event(page ? CMA_ALLOC_SUCCESS : CMA_ALLOC_FAIL);
	return page;
}

/**
 * cma_release_pages - give back frames from cma_alloc_pages().
 * @pages: the first page returned.
 * @count: the count it was called with.
 *
 * Context: takes zone->lock.
 * Return: false (and nothing freed) if the range is not a CMA claim.
 */
bool cma_release_pages(struct page *pages, unsigned long count)
{
	struct cma *cma = &cma_area;
	unsigned long pfn, i;
	bool claimed = true;

	if (!pages || !count)
		return false;
	pfn = page_to_pfn(pages);
	if (pfn < cma->base_pfn || pfn + count > cma->base_pfn + cma->count)
		return false;
	i = pfn - cma->base_pfn;
	spin_lock(&cma->lock);
	for (unsigned long j = i; j < i + count; j++)
		claimed &= cma_bit(cma, j);
	spin_unlock(&cma->lock);
	if (WARN_ON_ONCE(!claimed))
		return false;
	free_contig_range(pfn, count);
	spin_lock(&cma->lock);
	cma_set_range(cma, i, count, false);
	spin_unlock(&cma->lock);
	return true;
}
