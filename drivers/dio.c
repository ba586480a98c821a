// SPDX-License-Identifier: MIT
/*
 * Case 1, Direct I/O on a host file: the block layer's way of reaching user
 * memory. iov_iter_extract_pages() pins a batch of the buffer short-term
 * (FOLL_WRITE when the device writes it), the device transfers through the
 * frames, the batch is released (dirty when written) before the next:
 * iomap_dio_bio_iter() and bio_release_pages(). The alignment rule is the
 * logical block size, 512 bytes, for buffer, length and offset.
 */
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uio.h>
#include <pinmm/drivers.h>
#include <unistd.h>

#define DIO_ALIGN	512
#define DIO_BATCH	64	/* pages per "bio" */

static ssize_t dio_rw(int fd, unsigned long uaddr, size_t len, off_t off, bool to_mem)
{
	struct page *batch[DIO_BATCH], **pages = batch;
	struct iov_iter iter;
	ssize_t done = 0;

	if (!len || (uaddr | len | (unsigned long)off) & (DIO_ALIGN - 1))
		return -EINVAL;
	iov_iter_ubuf(&iter, to_mem ? ITER_DEST : ITER_SOURCE, (void __user *)uaddr, len);
	while (iov_iter_count(&iter)) {
		size_t offset, left;
		ssize_t bytes = iov_iter_extract_pages(&iter, &pages, iov_iter_count(&iter),
						       DIO_BATCH, 0, &offset);
		unsigned int n;
		bool short_io = false;

		if (bytes <= 0)
			return done ? done : bytes;
		n = DIV_ROUND_UP(offset + (size_t)bytes, PAGE_SIZE);
		left = (size_t)bytes;
		for (unsigned int i = 0; i < n && !short_io; i++) {
			size_t chunk = min(left, PAGE_SIZE - offset);
			char *frame = (char *)kmap_local_page(pages[i]) + offset;
			/* the device reads or writes the frame, not the user mapping */
			ssize_t got = to_mem ? pread(fd, frame, chunk, off + done) :
					       pwrite(fd, frame, chunk, off + done);

			kunmap_local(frame);
			if (got > 0)
				done += got;
			short_io = got < (ssize_t)chunk;
			left -= chunk;
			offset = 0;
		}
		/* what a device wrote must reach writeback: dirty under the folio lock */
		if (iov_iter_extract_will_pin(&iter))
			unpin_user_pages_dirty_lock(pages, n, to_mem);
		if (short_io)
			break;
	}
	return done;
}

ssize_t dio_pread(int fd, unsigned long uaddr, size_t len, off_t off)
{
	return dio_rw(fd, uaddr, len, off, true);
}

ssize_t dio_pwrite(int fd, unsigned long uaddr, size_t len, off_t off)
{
	return dio_rw(fd, uaddr, len, off, false);
}
