// SPDX-License-Identifier: MIT
/*
 * Case 2: io_uring fixed buffers. Registration pins the whole buffer with
 * FOLL_WRITE | FOLL_LONGTERM and keeps one entry per folio run, so a buffer
 * backed by THPs unregisters with one unpin per 2 MiB (unpin_user_folio).
 */
#include <errno.h>
#include <pinmm/drivers.h>
#include <stdlib.h>
#include <string.h>

int iou_register_buffer(unsigned long addr, size_t len, struct iou_buffer **out)
{
	unsigned long start = addr & PAGE_MASK;
	unsigned long npages = (PAGE_ALIGN(addr + len) - start) >> PAGE_SHIFT, nr = 0;
	struct iou_buffer *buf;
	struct page **pages;
	long got;

	if (!len || addr + len < addr)
		return -EINVAL;
	pages = calloc(npages, sizeof(*pages));
	buf = calloc(1, sizeof(*buf) + npages * sizeof(buf->bvec[0]));
	if (!pages || !buf) {
		free(pages);
		free(buf);
		return -ENOMEM;
	}
	got = pin_user_pages_fast(start, (int)npages, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (got != (long)npages) {
		if (got > 0)
			unpin_user_pages(pages, (unsigned long)got);
		free(pages);
		free(buf);
		return got < 0 ? (int)got : -EFAULT;
	}
	/* coalesce: consecutive pages of one folio become one entry */
	for (unsigned long i = 0; i < npages; i++) {
		struct folio *folio = page_folio(pages[i]);
		unsigned long idx = (unsigned long)(pages[i] - &folio->page);
		struct iou_bvec *last = nr ? &buf->bvec[nr - 1] : NULL;

		if (last && last->folio == folio && last->first + last->nr == idx)
			last->nr++;
		else
			buf->bvec[nr++] = (struct iou_bvec){ folio, idx, 1 };
	}
	buf->addr = addr;
	buf->len = len;
	buf->nr_bvecs = nr;
	free(pages);
	*out = buf;
	return 0;
}

void iou_unregister_buffer(struct iou_buffer *buf)
{
	for (unsigned long i = 0; i < buf->nr_bvecs; i++)
		unpin_user_folio(buf->bvec[i].folio, buf->bvec[i].nr);
	free(buf);
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
