// SPDX-License-Identifier: MIT
/*
 * Case 1, Direct I/O: the buffer is pinned for the duration of one I/O and
 * the "disk" (a host file) reads or writes the frames directly, as a DMA
 * engine would. Short-term: FOLL_PIN without FOLL_LONGTERM.
 */
#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/slab.h>
#include <stdlib.h>
#include <unistd.h>

/* Pin @len bytes at @uaddr (all or nothing). Return pages pinned or -errno. */
static long dio_pin(unsigned long uaddr, size_t len, unsigned int gup_flags, struct page ***out)
{
	unsigned long npages = len >> PAGE_SHIFT;
	struct page **pages;
	long got;

	if (!len || (uaddr | len) & ~PAGE_MASK)
		return -EINVAL;
	pages = kcalloc(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	got = pin_user_pages_fast(uaddr, (int)npages, gup_flags, pages);
	if (got != (long)npages) {
		/* the block layer would submit what it got; keep this all-or-nothing */
		if (got > 0)
			unpin_user_pages(pages, (unsigned long)got);
		kfree(pages);
		return got < 0 ? got : -EFAULT;
	}
	*out = pages;
	return got;
}

ssize_t dio_pread(int fd, unsigned long uaddr, size_t len, off_t off)
{
	struct page **pages;
	long npages = dio_pin(uaddr, len, FOLL_WRITE, &pages);
	ssize_t done = 0;

	if (npages < 0)
		return npages;
	for (long i = 0; i < npages; i++) {
		/* the device writes the frame, not the user mapping */
		ssize_t n = pread(fd, page_address(pages[i]), PAGE_SIZE, off + done);

		if (n <= 0)
			break;
		done += n;
		if (n < (ssize_t)PAGE_SIZE)
			break;
	}
	/* what a device wrote must reach writeback: dirty under the folio lock */
	unpin_user_pages_dirty_lock(pages, (unsigned long)npages, true);
	kfree(pages);
	return done;
}

ssize_t dio_pwrite(int fd, unsigned long uaddr, size_t len, off_t off)
{
	struct page **pages;
	long npages = dio_pin(uaddr, len, 0, &pages);
	ssize_t done = 0;

	if (npages < 0)
		return npages;
	for (long i = 0; i < npages; i++) {
		ssize_t n = pwrite(fd, page_address(pages[i]), PAGE_SIZE, off + done);

		if (n <= 0)
			break;
		done += n;
	}
	unpin_user_pages(pages, (unsigned long)npages);
	kfree(pages);
	return done;
}
