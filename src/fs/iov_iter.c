// SPDX-License-Identifier: MIT
/*
 * iov_iter (Linux: lib/iov_iter.c), for the two kinds of memory the file
 * layer moves data to and from: one user buffer of current->mm (read(2) and
 * write(2)) and host memory (kernel_read()/kernel_write()).
 */
#include "internal.h"

#include <pinmm/gup.h>
#include <pinmm/uaccess.h>
#include <string.h>

void iov_iter_ubuf(struct iov_iter *i, unsigned int direction, void __user *buf, size_t count)
{
	*i = (struct iov_iter){
		.iter_type = ITER_UBUF,
		.data_source = direction == ITER_SOURCE,
		.count = count,
		.ubuf = buf,
		.nr_segs = 1,
	};
}

void iov_iter_kvec(struct iov_iter *i, unsigned int direction, const struct kvec *kvec,
		   unsigned long nr_segs, size_t count)
{
	*i = (struct iov_iter){
		.iter_type = ITER_KVEC,
		.data_source = direction == ITER_SOURCE,
		.count = count,
		.kvec = kvec,
		.nr_segs = nr_segs,
	};
}

void iov_iter_advance(struct iov_iter *i, size_t bytes)
{
	bytes = min(bytes, i->count);
	i->count -= bytes;
	if (i->iter_type == ITER_UBUF) {
		i->iov_offset += bytes;
		return;
	}
	while (bytes) {
		size_t left = i->kvec->iov_len - i->iov_offset;

		if (bytes < left) {
			i->iov_offset += bytes;
			return;
		}
		bytes -= left;
		i->kvec++;
		i->nr_segs--;
		i->iov_offset = 0;
	}
	/* skip empty segments so the cursor is on data */
	while (i->count && i->nr_segs && i->kvec->iov_len == i->iov_offset) {
		i->kvec++;
		i->nr_segs--;
		i->iov_offset = 0;
	}
}

void iov_iter_revert(struct iov_iter *i, size_t bytes)
{
	i->count += bytes;
	if (i->iter_type == ITER_UBUF) {
		i->iov_offset -= bytes;
		return;
	}
	while (bytes) {
		if (bytes <= i->iov_offset) {
			i->iov_offset -= bytes;
			return;
		}
		bytes -= i->iov_offset;
		i->kvec--;
		i->nr_segs++;
		i->iov_offset = i->kvec->iov_len;
	}
}

/*
 * Move @bytes between host memory @addr and the iterator; @to_iter says
 * which way. User memory goes through uaccess, which faults like a CPU.
 */
static size_t iter_copy(void *addr, size_t bytes, struct iov_iter *i, bool to_iter)
{
	size_t done = 0;

	bytes = min(bytes, i->count);
	if (i->iter_type == ITER_UBUF) {
		char __user *u = (char __user *)i->ubuf + i->iov_offset;
		unsigned long left = to_iter ? copy_to_user(u, addr, bytes) :
					       copy_from_user(addr, u, bytes);

		done = bytes - left;
		iov_iter_advance(i, done);
		return done;
	}
	while (done < bytes) {
		size_t k = min(bytes - done, i->kvec->iov_len - i->iov_offset);
		char *k_addr = (char *)i->kvec->iov_base + i->iov_offset;

		if (to_iter)
			memcpy(k_addr, (char *)addr + done, k);
		else
			memcpy((char *)addr + done, k_addr, k);
		done += k;
		iov_iter_advance(i, k);
	}
	return done;
}

size_t copy_to_iter(const void *addr, size_t bytes, struct iov_iter *i)
{
	if (WARN_ON_ONCE(i->data_source))
		return 0;
	return iter_copy((void *)addr, bytes, i, true);
}

size_t copy_from_iter(void *addr, size_t bytes, struct iov_iter *i)
{
	if (WARN_ON_ONCE(!i->data_source))
		return 0;
	return iter_copy(addr, bytes, i, false);
}

size_t copy_folio_to_iter(struct folio *folio, size_t offset, size_t bytes, struct iov_iter *i)
{
	VM_BUG_ON_FOLIO(offset + bytes > folio_size(folio), folio);
	return copy_to_iter((char *)folio_address(folio) + offset, bytes, i);
}

size_t copy_folio_from_iter_atomic(struct folio *folio, size_t offset, size_t bytes,
				   struct iov_iter *i)
{
	char *dst = (char *)folio_address(folio) + offset;
	size_t done;

	VM_BUG_ON_FOLIO(offset + bytes > folio_size(folio), folio);
	bytes = min(bytes, i->count);
	if (i->iter_type != ITER_UBUF)
		return iter_copy(dst, bytes, i, false);
	pagefault_disable();
	done = bytes - __copy_from_user_inatomic(dst, (char __user *)i->ubuf + i->iov_offset,
						 bytes);
	pagefault_enable();
	iov_iter_advance(i, done);
	return done;
}

size_t iov_iter_zero(size_t bytes, struct iov_iter *i)
{
	static const char zeroes[PAGE_SIZE];
	size_t done = 0;

	bytes = min(bytes, i->count);
	while (done < bytes) {
		size_t k = min(bytes - done, sizeof(zeroes)), n;

		n = iter_copy((void *)zeroes, k, i, true);
		done += n;
		if (n < k)
			break;
	}
	return done;
}

size_t fault_in_iov_iter_readable(const struct iov_iter *i, size_t bytes)
{
	bytes = min(bytes, i->count);
	if (i->iter_type != ITER_UBUF)
		return 0;
	return fault_in_readable((const char __user *)i->ubuf + i->iov_offset, bytes);
}

unsigned long iov_iter_alignment(const struct iov_iter *i)
{
	unsigned long res = 0;
	size_t left = i->count, off = i->iov_offset;

	if (i->iter_type == ITER_UBUF)
		return ((unsigned long)i->ubuf + i->iov_offset) | i->count;
	for (const struct kvec *k = i->kvec; left; k++, off = 0) {
		size_t n = min(left, k->iov_len - off);

		res |= ((unsigned long)k->iov_base + off) | n;
		left -= n;
	}
	return res;
}

ssize_t iov_iter_extract_pages(struct iov_iter *i, struct page ***pages, size_t maxsize,
			       unsigned int maxpages, iov_iter_extraction_t extraction_flags,
			       size_t *offset0)
{
	unsigned long addr;
	unsigned int gup_flags = 0;
	size_t off;
	long npages, got;

	(void)extraction_flags;
	if (WARN_ON_ONCE(i->iter_type != ITER_UBUF))
		return -EINVAL;
	maxsize = min(maxsize, i->count);
	if (!maxsize)
		return 0;
	addr = (unsigned long)i->ubuf + i->iov_offset;
	off = addr & ~PAGE_MASK;
	npages = (long)DIV_ROUND_UP(off + maxsize, PAGE_SIZE);
	if (npages > (long)maxpages) {
		npages = maxpages;
		maxsize = (size_t)npages * PAGE_SIZE - off;
	}
	/* the device writes into memory we read into: the pin must be writable */
	if (!i->data_source)
		gup_flags |= FOLL_WRITE;
	got = pin_user_pages_fast(addr & PAGE_MASK, (int)npages, gup_flags, *pages);
	if (got <= 0)
		return got < 0 ? got : -EFAULT;
	if (got < npages)
		maxsize = (size_t)got * PAGE_SIZE - off;
	*offset0 = off;
	iov_iter_advance(i, maxsize);
	return (ssize_t)maxsize;
}
