// SPDX-License-Identifier: MIT
/*
 * Direct I/O: case 1 of pin_user_pages.rst on its real ground (Linux:
 * fs/iomap/direct-io.c, block/bio.c bio_release_pages()).
 *
 * The user buffer is pinned short-term, the way iov_iter_extract_pages()
 * pins it (FOLL_PIN, FOLL_WRITE when the disk writes into memory, never
 * FOLL_LONGTERM); the disk thread moves data between the pinned frames and
 * the host file while the caller waits; then the pins are released — with
 * the pages dirtied for a read, since the device wrote them behind every
 * page table: unpin_user_pages_dirty_lock(pages, n, true).
 *
 * Alignment is the disk's logical block size, 512 bytes (not the page
 * size): the file offset, the length and the buffer address. The page cache
 * is kept coherent as Linux keeps it: dirty cached data over the range is
 * written back before a read or write; before a write the cached folios are
 * invalidated (if that fails the write falls back to buffered I/O, as
 * -ENOTBLK does in iomap), and after it invalidated again, warning if a
 * folio could not go (a racing buffered reader or a pinned mapping).
 *
 * The pin is the only thing making this safe: the user may munmap() or
 * fork() while the disk works; the frames stay the buffer's until unpin.
 */
#include "internal.h"

#include <pinmm/bio.h>
#include <pinmm/gup.h>
#include <pinmm/slab.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIO_PAGES_PER_BIO	256

struct dio {
	pthread_mutex_t lock;
	pthread_cond_t done;
	atomic_uint in_flight;		/* bios not completed */
	int error;			/* the first failure */
	pthread_t submitter;
	unsigned int inline_done;	/* (submitter) bios it served and completed itself */
	struct page **pages;		/* every page pinned, for the release */
	unsigned long nr_pages, max_pages;
	struct page **inline_pages;	/* the submitter's on-stack array */
};

/*
 * The completions of one dio never run concurrently: the device serves one
 * request at a time, whoever holds it, so ->error needs no lock. A bio the
 * submitter issued directly completes in its own thread, where nobody waits
 * yet; one served by the device thread wakes the submitter under the lock,
 * which the submitter then takes before the dio leaves its stack.
 */
static void dio_bio_end_io(struct bio *bio)
{
	struct dio *dio = bio->bi_private;

	if (bio->bi_status && !dio->error)
		dio->error = bio->bi_status;
	bio_put(bio);
	if (pthread_equal(pthread_self(), dio->submitter)) {
		dio->inline_done++;
		atomic_fetch_sub_explicit(&dio->in_flight, 1, memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&dio->lock);
	if (atomic_fetch_sub_explicit(&dio->in_flight, 1, memory_order_relaxed) == 1)
		pthread_cond_signal(&dio->done);
	pthread_mutex_unlock(&dio->lock);
}

/* Make room to pin @n more pages straight into dio->pages. */
static bool dio_reserve_pages(struct dio *dio, unsigned long n)
{
	unsigned long want;
	struct page **p;

	if (dio->nr_pages + n <= dio->max_pages)
		return true;
	want = max(dio->max_pages * 2, dio->nr_pages + n);
	if (dio->pages == dio->inline_pages) {
		p = kmalloc_array(want, sizeof(*p), GFP_KERNEL);
		if (p)
			memcpy(p, dio->pages, dio->nr_pages * sizeof(*p));
	} else {
		p = krealloc_array(dio->pages, want, sizeof(*p), GFP_KERNEL);
	}
	if (!p)
		return false;
	dio->pages = p;
	dio->max_pages = want;
	return true;
}

/*
 * Build, submit and wait for the bios of @len bytes at iocb->ki_pos.
 * Return: bytes moved, or -errno (nothing is counted done after a failure).
 */
static ssize_t dio_submit(struct kiocb *iocb, struct iov_iter *iter, size_t len,
			  const struct dio_target *t, enum req_op op)
{
	/* one full bio's pages, left uninitialised: most calls allocate nothing */
	struct page *inline_pages[DIO_PAGES_PER_BIO];
	struct dio dio = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.done = PTHREAD_COND_INITIALIZER,
		.pages = inline_pages,
		.max_pages = DIO_PAGES_PER_BIO,
		.inline_pages = inline_pages,
		.submitter = pthread_self(),
	};
	unsigned int submitted = 0;
	bool will_pin = iov_iter_extract_will_pin(iter);
	loff_t pos = iocb->ki_pos;
	size_t done = 0;
	int err = 0;

	while (done < len) {
		struct bio *bio;
		size_t n;

		if (will_pin) {
			struct page **pages;
			size_t off0 = 0;
			unsigned short nr;
			ssize_t got;

			if (!dio_reserve_pages(&dio, DIO_PAGES_PER_BIO)) {
				err = -ENOMEM;
				break;
			}
			/* pinned straight into the release list */
			pages = dio.pages + dio.nr_pages;
			got = iov_iter_extract_pages(iter, &pages, len - done, DIO_PAGES_PER_BIO, 0,
						     &off0);
			if (got <= 0) {
				err = got ? (int)got : -EFAULT;
				break;
			}
			n = (size_t)got;
			nr = (unsigned short)DIV_ROUND_UP(off0 + n, PAGE_SIZE);
			dio.nr_pages += nr;
			/* sized to what it carries: a 4 KiB I/O needs one vector, not 256 */
			bio = bio_alloc(nr);
			if (!bio) {
				/* the device never saw them: released clean */
				dio.nr_pages -= nr;
				unpin_user_pages(pages, nr);
				err = -ENOMEM;
				break;
			}
			for (size_t left = n, i = 0; left; i++) {
				size_t k = min(left, PAGE_SIZE - off0);

				bio_add_page(bio, pages[i], (unsigned int)k, (unsigned int)off0);
				left -= k;
				off0 = 0;
			}
		} else {
			/* host memory (kernel_read of an O_DIRECT file): nothing to pin */
			const struct kvec *kv = iter->kvec;

			bio = bio_alloc(1);
			if (!bio) {
				err = -ENOMEM;
				break;
			}
			n = min(len - done, kv->iov_len - iter->iov_offset);
			bio_add_buf(bio, (char *)kv->iov_base + iter->iov_offset, (unsigned int)n);
			iov_iter_advance(iter, n);
		}
		bio->bi_op = op;
		bio->bi_fd = t->fd;
		bio->bi_pos = pos + (loff_t)done;
		bio->bi_csum_fd = t->csum_fd;
		bio->bi_csum_verify = op == REQ_OP_READ;
		bio->bi_csum_after = op == REQ_OP_WRITE;
		bio->bi_end_io = dio_bio_end_io;
		bio->bi_private = &dio;
		atomic_fetch_add_explicit(&dio.in_flight, 1, memory_order_relaxed);
		submitted++;
		/* we wait for it anyway: an idle disk serves it in this thread */
		submit_bio_sync(bio);
		done += n;
	}

	if (dio.inline_done != submitted) {
		/* some went to the device thread: its last wake-up must be over */
		pthread_mutex_lock(&dio.lock);
		while (atomic_load_explicit(&dio.in_flight, memory_order_relaxed))
			pthread_cond_wait(&dio.done, &dio.lock);
		pthread_mutex_unlock(&dio.lock);
	}
	if (!err)
		err = dio.error;
	/* completion: the device wrote what it read from the disk into the pages */
	if (dio.nr_pages)
		unpin_user_pages_dirty_lock(dio.pages, dio.nr_pages, op == REQ_OP_READ);
	if (dio.pages != dio.inline_pages)
		kfree(dio.pages);
	pthread_mutex_destroy(&dio.lock);
	pthread_cond_destroy(&dio.done);
	return err ? err : (ssize_t)done;
}

static bool dio_misaligned(const struct kiocb *iocb, const struct iov_iter *iter)
{
	return ((unsigned long)iocb->ki_pos | iov_iter_alignment(iter)) & (DISK_LOGICAL_BLOCK - 1);
}

ssize_t direct_io_read(struct kiocb *iocb, struct iov_iter *iter, const struct dio_target *t)
{
	struct address_space *mapping = iocb->ki_filp->f_mapping;
	loff_t isize = i_size_read(mapping->host), pos = iocb->ki_pos;
	size_t count = iov_iter_count(iter), want, len;
	ssize_t ret;
	int err;

	/*
	 * At or past EOF there is nothing to read, aligned or not: checked
	 * first, as iomap does (the live kernel returns 0 for a read at EOF
	 * into a misaligned buffer, at a misaligned offset).
	 */
	if (!count || pos >= isize)
		return 0;
	if (dio_misaligned(iocb, iter))
		return -EINVAL;
	/* whole logical blocks are read; only what lies before EOF is reported */
	want = min(count, (size_t)(isize - pos));
	len = ALIGN(want, (size_t)DISK_LOGICAL_BLOCK);
	/* what the cache holds dirty is newer than the disk: write it first */
	err = filemap_write_and_wait_range(mapping, pos, pos + (loff_t)len - 1);
	if (err)
		return err;
	ret = dio_submit(iocb, iter, len, t, REQ_OP_READ);
	if (ret < 0)
		return ret;
	if ((size_t)ret > want) {
		iov_iter_revert(iter, (size_t)ret - want);
		ret = (ssize_t)want;
	}
	iocb->ki_pos += ret;
	return ret;
}

static void dio_warn_stale_pagecache(struct inode *inode)
{
	static atomic_bool warned;

	if (!atomic_exchange(&warned, true))
		fprintf(stderr, "pinmm: %s: page cache invalidation failure on Direct I/O. "
			"Possible data corruption due to collision with buffered I/O!\n",
			inode->i_name);
}

ssize_t direct_io_write(struct kiocb *iocb, struct iov_iter *iter, const struct dio_target *t)
{
	struct address_space *mapping = iocb->ki_filp->f_mapping;
	struct inode *inode = mapping->host;
	loff_t pos = iocb->ki_pos;
	size_t count = iov_iter_count(iter);
	pgoff_t first, last;
	ssize_t ret;
	int err;

	if (!count)
		return 0;
	if (dio_misaligned(iocb, iter))
		return -EINVAL;
	first = (pgoff_t)(pos >> PAGE_SHIFT);
	last = (pgoff_t)((pos + (loff_t)count - 1) >> PAGE_SHIFT);
	err = filemap_write_and_wait_range(mapping, pos, pos + (loff_t)count - 1);
	if (err)
		return err;
	/* cached copies would go stale: they must leave, or we write through the cache */
	if (invalidate_inode_pages2_range(mapping, first, last))
		return -ENOTBLK;
	ret = dio_submit(iocb, iter, count, t, REQ_OP_WRITE);
	if (ret > 0) {
		/* a reader may have cached the old data meanwhile */
		if (invalidate_inode_pages2_range(mapping, first, last))
			dio_warn_stale_pagecache(inode);
		if (pos + ret > i_size_read(inode))
			i_size_write(inode, pos + ret);
		iocb->ki_pos += ret;
	}
	return ret;
}
