// SPDX-License-Identifier: MIT
/*
 * Case 4: vmsplice(2) into a pipe (fs/splice.c). The user's pages themselves
 * become pipe buffers, each holding a plain FOLL_GET reference taken by
 * get_user_pages_fast(): the pipe keeps the struct page alive, no device
 * touches it, so it is not a pin (folio_maybe_dma_pinned() stays false). A
 * reader later copies whatever the page holds then.
 */
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <pinmm/drivers.h>
#include <string.h>

struct pipe_inode_info *pipe_create(unsigned int slots)
{
	struct pipe_inode_info *pipe;

	if (!slots || (slots & (slots - 1)))
		return NULL;
	pipe = kzalloc(sizeof(*pipe), GFP_KERNEL);
	if (!pipe)
		return NULL;
	pipe->bufs = kcalloc(slots, sizeof(*pipe->bufs), GFP_KERNEL);
	if (!pipe->bufs) {
		kfree(pipe);
		return NULL;
	}
	pipe->ring_size = slots;
	return pipe;
}

void pipe_destroy(struct pipe_inode_info *pipe)
{
	for (; pipe->tail != pipe->head; pipe->tail++)
		put_page(pipe->bufs[pipe->tail & (pipe->ring_size - 1)].page);
	kfree(pipe->bufs);
	kfree(pipe);
}

ssize_t vmsplice_to_pipe(struct pipe_inode_info *pipe, const struct iovec *iov,
			 unsigned long nr_segs)
{
	ssize_t total = 0;

	if (nr_segs > UIO_MAXIOV)
		return -EINVAL;
	for (unsigned long s = 0; s < nr_segs; s++) {
		unsigned long addr = (unsigned long)iov[s].iov_base;
		size_t left = iov[s].iov_len;

		while (left) {
			struct pipe_buffer *buf;
			struct page *page;
			size_t off = offset_in_page(addr), n = min(left, PAGE_SIZE - off);

			if (pipe->head - pipe->tail == pipe->ring_size)
				return total ? total : -EAGAIN;
			if (get_user_pages_fast(PAGE_ALIGN_DOWN(addr), 1, 0, &page) != 1)
				return total ? total : -EFAULT;
			buf = &pipe->bufs[pipe->head++ & (pipe->ring_size - 1)];
			*buf = (struct pipe_buffer){ page, (unsigned int)off, (unsigned int)n };
			total += n;
			addr += n;
			left -= n;
		}
	}
	return total;
}

ssize_t pipe_read(struct pipe_inode_info *pipe, void *dst, size_t len)
{
	size_t done = 0;

	while (done < len && pipe->tail != pipe->head) {
		struct pipe_buffer *buf = &pipe->bufs[pipe->tail & (pipe->ring_size - 1)];
		size_t n = min(len - done, (size_t)buf->len);
		char *src = kmap_local_page(buf->page);

		memcpy((char *)dst + done, src + buf->offset, n);
		kunmap_local(src);
		done += n;
		buf->offset += n;
		buf->len -= n;
		if (!buf->len) {
			put_page(buf->page);
			pipe->tail++;
		}
	}
	return done;
}
