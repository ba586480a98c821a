// SPDX-License-Identifier: MIT
/*
 * Case 2: io_uring fixed buffers. Registration pins the whole buffer with
 * FOLL_WRITE | FOLL_LONGTERM and keeps one entry per folio run, so a buffer
 * backed by THPs unregisters with one unpin per 2 MiB (unpin_user_folio).
 */
#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/slab.h>
#include <stdlib.h>
#include <string.h>

int iou_register_buffer(unsigned long addr, size_t len, struct iou_buffer **out)
{
	unsigned long start = addr & PAGE_MASK;
	unsigned long npages = (PAGE_ALIGN(addr + len) - start) >> PAGE_SHIFT, nr = 0;
	struct iou_buffer *buf, *shrunk;
	struct page **pages;
	long got;

	if (!len || addr + len < addr)
		return -EINVAL;
	/* both arrays are written before they are read: no need to zero them */
	pages = kmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	buf = kmalloc(sizeof(*buf) + npages * sizeof(buf->bvec[0]), GFP_KERNEL);
	if (!pages || !buf) {
		kfree(pages);
		kfree(buf);
		return -ENOMEM;
	}
	got = pin_user_pages_fast(start, (int)npages, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (got != (long)npages) {
		if (got > 0)
			unpin_user_pages(pages, (unsigned long)got);
		kfree(pages);
		kfree(buf);
		return got < 0 ? (int)got : -EFAULT;
	}
	/*
	 * Coalesce: consecutive pages of one folio become one entry. The folio
	 * is pinned, so "the next struct page, still inside it" is a pointer
	 * test: no tail struct page is read (16 MiB per GiB otherwise).
	 */
	for (unsigned long i = 0; i < npages;) {
		struct folio *folio = page_folio(pages[i]);
		struct page *first = &folio->page, *end = first + folio_nr_pages(folio);
		unsigned long run = 1;

		while (i + run < npages && pages[i + run] == pages[i] + run &&
		       pages[i + run] < end)
			run++;
		buf->bvec[nr++] = (struct iou_bvec){ folio, (unsigned long)(pages[i] - first), run };
		i += run;
	}
	buf->addr = addr;
	buf->len = len;
	buf->nr_bvecs = nr;
	kfree(pages);
	shrunk = krealloc(buf, sizeof(*buf) + nr * sizeof(buf->bvec[0]), GFP_KERNEL);
	*out = shrunk ? shrunk : buf;
	return 0;
}

void iou_unregister_buffer(struct iou_buffer *buf)
{
	for (unsigned long i = 0; i < buf->nr_bvecs; i++)
		unpin_user_folio(buf->bvec[i].folio, buf->bvec[i].nr);
	kfree(buf);
}

int iou_buffer_copy_out(struct iou_buffer *buf, size_t offset, void *dst, size_t len)
{
	size_t pos = (buf->addr & ~PAGE_MASK) + offset, done = 0, base = 0;
	unsigned long b = 0;

	if (offset > buf->len || len > buf->len - offset)
		return -EINVAL;
	while (done < len) {
		struct iou_bvec *bv;
		size_t in, n;

		while (b < buf->nr_bvecs && pos >= base + (buf->bvec[b].nr << PAGE_SHIFT))
			base += buf->bvec[b++].nr << PAGE_SHIFT;
		bv = &buf->bvec[b];
		in = pos - base;
		n = min(len - done, (bv->nr << PAGE_SHIFT) - in);
		memcpy((char *)dst + done,
		       (char *)page_address(folio_page(bv->folio, bv->first)) + in, n);
		done += n;
		pos += n;
	}
	return 0;
}
