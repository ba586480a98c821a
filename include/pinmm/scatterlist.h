/* SPDX-License-Identifier: MIT */
/*
 * Scatter-gather tables (lib/scatterlist.c): how drivers hand pinned pages to
 * a DMA engine, physically contiguous runs merged into one segment. One flat
 * array per table here (Linux chains arrays of a page each; nothing a call
 * site sees depends on it). DMA addresses are physical addresses: pinmm has
 * no IOMMU, so a "mapped" entry's dma_address is the frame's address.
 */
#ifndef PINMM_SCATTERLIST_H
#define PINMM_SCATTERLIST_H

#include <pinmm/gfp.h>
#include <pinmm/mm.h>

typedef uint64_t dma_addr_t;

struct scatterlist {
	struct page *page;
	unsigned int offset;		/* into the first page */
	unsigned int length;		/* bytes, may span contiguous pages */
	dma_addr_t dma_address;
	unsigned int dma_length;
	bool end;			/* the last entry of its list */
};

struct sg_table {
	struct scatterlist *sgl;
	unsigned int nents;		/* entries after DMA mapping */
	unsigned int orig_nents;	/* entries of the CPU list */
};

static inline struct page *sg_page(struct scatterlist *sg)
{
	return sg->page;
}

static inline void sg_set_page(struct scatterlist *sg, struct page *page, unsigned int len,
			       unsigned int offset)
{
	sg->page = page;
	sg->offset = offset;
	sg->length = len;
}

static inline void sg_mark_end(struct scatterlist *sg)
{
	sg->end = true;
}

/* The entry after @sg, or NULL after the last one. */
static inline struct scatterlist *sg_next(struct scatterlist *sg)
{
	return sg->end ? NULL : sg + 1;
}

#define sg_dma_address(sg)	((sg)->dma_address)
#define sg_dma_len(sg)		((sg)->dma_length)

#define for_each_sg(sglist, sg, nr, __i) \
	for ((__i) = 0, (sg) = (sglist); (__i) < (nr); (__i)++, (sg) = sg_next(sg))
#define for_each_sgtable_sg(sgt, sg, i)		for_each_sg((sgt)->sgl, sg, (sgt)->orig_nents, i)
#define for_each_sgtable_dma_sg(sgt, sg, i)	for_each_sg((sgt)->sgl, sg, (sgt)->nents, i)

/* Zero @nents entries and mark the last as the end. */
void sg_init_table(struct scatterlist *sgl, unsigned int nents);
/**
 * sg_alloc_table - a table of @nents entries. Return: 0, -EINVAL (0 entries), -ENOMEM.
 * Release with sg_free_table().
 */
int sg_alloc_table(struct sg_table *table, unsigned int nents, gfp_t gfp);
void sg_free_table(struct sg_table *table);

/**
 * sg_alloc_table_from_pages_segment - a table for @size bytes of @pages,
 * starting @offset bytes into the first.
 * @sgt: the table to fill (its previous contents are not freed).
 * @pages: @n_pages pages, e.g. from pin_user_pages().
 * @offset: into the first page (below PAGE_SIZE).
 * @size: bytes in all.
 * @max_segment: the longest entry in bytes (at least PAGE_SIZE).
 * @gfp: for the table.
 *
 * Pages whose frames follow each other are merged into one entry as long
 * as it stays within @max_segment. Return: 0, -EINVAL, -ENOMEM.
 */
int sg_alloc_table_from_pages_segment(struct sg_table *sgt, struct page **pages,
				      unsigned int n_pages, unsigned int offset,
				      unsigned long size, unsigned int max_segment, gfp_t gfp);

static inline int sg_alloc_table_from_pages(struct sg_table *sgt, struct page **pages,
					    unsigned int n_pages, unsigned int offset,
					    unsigned long size, gfp_t gfp)
{
	return sg_alloc_table_from_pages_segment(sgt, pages, n_pages, offset, size,
						 UINT32_MAX & PAGE_MASK, gfp);
}

/* Entries in the list starting at @sg. */
int sg_nents(struct scatterlist *sg);

/**
 * dma_map_sgtable - "map" the table for a device: dma_address = the
 * physical address of each entry, nents = orig_nents. Return: 0.
 */
int dma_map_sgtable(void *dev, struct sg_table *sgt, int dir, unsigned long attrs);
void dma_unmap_sgtable(void *dev, struct sg_table *sgt, int dir, unsigned long attrs);

#endif /* PINMM_SCATTERLIST_H */
