/* SPDX-License-Identifier: MIT */
/*
 * iov_iter: one cursor over the memory of an I/O, whatever kind it is
 * (Linux: include/linux/uio.h, lib/iov_iter.c). The file layer reads and
 * writes through it, so the same code serves read(2) on user memory
 * (ITER_UBUF: user addresses of current->mm, reached by copy_*_user() or
 * pinned for Direct I/O) and kernel_read() on a host buffer (ITER_KVEC).
 */
#ifndef PINMM_UIO_H
#define PINMM_UIO_H

#include <pinmm/mm.h>

/* Which way the data goes, seen from the iterator's memory. */
#define ITER_DEST	0	/* data is written into the memory (READ) */
#define ITER_SOURCE	1	/* data is read from the memory (WRITE) */
#define READ		ITER_DEST
#define WRITE		ITER_SOURCE

enum iter_type {
	ITER_UBUF,	/* one user buffer in current->mm */
	ITER_KVEC,	/* host (kernel) memory */
};

struct kvec {
	void *iov_base;
	size_t iov_len;
};

struct iov_iter {
	uint8_t iter_type;
	bool data_source;	/* ITER_SOURCE */
	size_t iov_offset;	/* into the current segment */
	size_t count;		/* bytes left */
	union {
		void __user *ubuf;
		const struct kvec *kvec;
	};
	unsigned long nr_segs;
};

void iov_iter_ubuf(struct iov_iter *i, unsigned int direction, void __user *buf, size_t count);
void iov_iter_kvec(struct iov_iter *i, unsigned int direction, const struct kvec *kvec,
		   unsigned long nr_segs, size_t count);

static inline size_t iov_iter_count(const struct iov_iter *i)
{
	return i->count;
}

static inline bool user_backed_iter(const struct iov_iter *i)
{
	return i->iter_type == ITER_UBUF;
}

static inline bool iov_iter_is_kvec(const struct iov_iter *i)
{
	return i->iter_type == ITER_KVEC;
}

/* Shrink the iterator to at most @count bytes (a short read at EOF). */
static inline void iov_iter_truncate(struct iov_iter *i, size_t count)
{
	if (i->count > count)
		i->count = count;
}

static inline void iov_iter_reexpand(struct iov_iter *i, size_t count)
{
	i->count = count;
}

void iov_iter_advance(struct iov_iter *i, size_t bytes);
void iov_iter_revert(struct iov_iter *i, size_t bytes);

/*
 * copy_to_iter / copy_from_iter - move @bytes between host memory @addr and
 * the iterator, advancing it. User memory faults like a CPU would.
 * Return: bytes moved (short on a fault).
 */
size_t copy_to_iter(const void *addr, size_t bytes, struct iov_iter *i);
size_t copy_from_iter(void *addr, size_t bytes, struct iov_iter *i);
/* The same for [@offset, @offset + @bytes) of a folio the caller holds. */
size_t copy_folio_to_iter(struct folio *folio, size_t offset, size_t bytes, struct iov_iter *i);
/*
 * copy_folio_from_iter_atomic - copy into a folio the caller holds locked,
 * without taking a page fault (the user buffer may be a mapping of this very
 * folio: faulting would lock it again). Advances the iterator by what it
 * copied (Linux >= 6.4); the caller reverts what ->write_end refuses.
 * Return: bytes copied; short if the source was not mapped.
 */
size_t copy_folio_from_iter_atomic(struct folio *folio, size_t offset, size_t bytes,
				   struct iov_iter *i);
/* Zero @bytes of the destination iterator (a hole read). Return bytes zeroed. */
size_t iov_iter_zero(size_t bytes, struct iov_iter *i);

/*
 * fault_in_iov_iter_readable - fault in the source's next @bytes (a CPU
 * read of each page) so an atomic copy can succeed. Return bytes NOT faulted in.
 */
size_t fault_in_iov_iter_readable(const struct iov_iter *i, size_t bytes);

typedef unsigned int iov_iter_extraction_t;

/* Are the pages iov_iter_extract_pages() returns pinned (unpin) or not? */
static inline bool iov_iter_extract_will_pin(const struct iov_iter *i)
{
	return user_backed_iter(i);
}

/**
 * iov_iter_extract_pages - the pages behind the iterator's next bytes, for
 * Direct I/O (case 1 of pin_user_pages.rst).
 * @i: a user-backed iterator (ITER_UBUF).
 * @pages: *@pages is an array of @maxpages entries the caller provides.
 * @maxsize: bytes wanted at most.
 * @maxpages: entries in *@pages.
 * @extraction_flags: 0 (accepted for Linux's signature).
 * @offset0: the offset of the first byte in the first page.
 *
 * User memory is pinned with pin_user_pages_fast(): FOLL_WRITE when the
 * device will write into it (ITER_DEST), never FOLL_LONGTERM. The iterator
 * advances by what was pinned. Release with unpin_user_pages() (dirty if
 * the device wrote: unpin_user_pages_dirty_lock(..., true)).
 * Return: bytes covered by the pinned pages, or -errno (-EFAULT: nothing
 * could be pinned; -EINVAL: not user-backed).
 */
ssize_t iov_iter_extract_pages(struct iov_iter *i, struct page ***pages, size_t maxsize,
			       unsigned int maxpages, iov_iter_extraction_t extraction_flags,
			       size_t *offset0);

#endif /* PINMM_UIO_H */
