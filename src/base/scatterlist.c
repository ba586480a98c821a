// SPDX-License-Identifier: MIT
/*
 * Scatter-gather tables (include/pinmm/scatterlist.h): one flat array per
 * table; contiguous frames merged up to the segment limit.
 */
#include <errno.h>
#include <pinmm/scatterlist.h>
#include <pinmm/slab.h>
#include <string.h>

void sg_init_table(struct scatterlist *sgl, unsigned int nents)
{
	memset(sgl, 0, sizeof(*sgl) * nents);
	if (nents)
		sg_mark_end(&sgl[nents - 1]);
}

int sg_alloc_table(struct sg_table *table, unsigned int nents, gfp_t gfp)
{
	memset(table, 0, sizeof(*table));
	if (!nents)
		return -EINVAL;
	table->sgl = kmalloc_array(nents, sizeof(*table->sgl), gfp);
	if (!table->sgl)
		return -ENOMEM;
	sg_init_table(table->sgl, nents);
	table->nents = table->orig_nents = nents;
	return 0;
}

void sg_free_table(struct sg_table *table)
{
	kfree(table->sgl);
	memset(table, 0, sizeof(*table));
}

int sg_nents(struct scatterlist *sg)
{
	int n = 0;

	for (; sg; sg = sg_next(sg))
		n++;
	return n;
}

/* Pages from @i on that continue @pages[i]'s frame and fit in @max pages. */
static unsigned int sg_run(struct page **pages, unsigned int i, unsigned int n,
			   unsigned long max)
{
	unsigned int run = 1;

	while (i + run < n && run < max &&
	       page_to_pfn(pages[i + run]) == page_to_pfn(pages[i]) + run)
		run++;
	return run;
}

int sg_alloc_table_from_pages_segment(struct sg_table *sgt, struct page **pages,
				      unsigned int n_pages, unsigned int offset,
				      unsigned long size, unsigned int max_segment, gfp_t gfp)
{
	unsigned long max_pages = (max_segment & PAGE_MASK) >> PAGE_SHIFT, left = size, used;
	unsigned int i, chunks = 0;
	struct scatterlist *sg;
	int err;

	if (WARN_ON_ONCE(max_segment < PAGE_SIZE) || !n_pages || offset >= PAGE_SIZE ||
	    !size || size > ((unsigned long)n_pages << PAGE_SHIFT) - offset)
		return -EINVAL;
	/* only the pages the bytes reach make entries */
	used = (offset + size + PAGE_SIZE - 1) >> PAGE_SHIFT;
	for (i = 0; i < used; i += sg_run(pages, i, (unsigned int)used, max_pages))
		chunks++;
	err = sg_alloc_table(sgt, chunks, gfp);
	if (err)
		return err;
	sg = sgt->sgl;
	for (i = 0; i < used; sg++) {
		unsigned int run = sg_run(pages, i, (unsigned int)used, max_pages);
		unsigned long bytes = min(left, ((unsigned long)run << PAGE_SHIFT) - offset);

		sg_set_page(sg, pages[i], (unsigned int)bytes, offset);
		left -= bytes;
		offset = 0;
		i += run;
	}
	return 0;
}

int dma_map_sgtable(void *dev, struct sg_table *sgt, int dir, unsigned long attrs)
{
	struct scatterlist *sg;
	unsigned int i;

	(void)dev;
	(void)dir;
	(void)attrs;
	for_each_sgtable_sg(sgt, sg, i) {
		sg->dma_address = ((dma_addr_t)page_to_pfn(sg->page) << PAGE_SHIFT) + sg->offset;
		sg->dma_length = sg->length;
	}
	sgt->nents = sgt->orig_nents;
	return 0;
}

void dma_unmap_sgtable(void *dev, struct sg_table *sgt, int dir, unsigned long attrs)
{
	struct scatterlist *sg;
	unsigned int i;

	(void)dev;
	(void)dir;
	(void)attrs;
	for_each_sgtable_sg(sgt, sg, i)
		sg->dma_address = sg->dma_length = 0;
}
