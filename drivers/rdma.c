// SPDX-License-Identifier: MIT
/*
 * Case 2, RDMA: a memory region stays registered as long as user space
 * wants, so its pages are pinned long-term (ib_umem_get() in Linux).
 */
#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/slab.h>
#include <stdlib.h>
#include <string.h>

/* ib_umem_get pins a page's worth of page pointers per call */
#define RDMA_PIN_CHUNK	(PAGE_SIZE / sizeof(struct page *))

int rdma_reg_mr(unsigned long addr, size_t length, int access, struct rdma_mr **out)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long start = addr & PAGE_MASK, pinned = 0;
	struct mm_struct *mm = current->mm;
	struct rdma_mr *mr;

	if (!length || addr + length < addr)
		return -EINVAL;
	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return -ENOMEM;
	mr->addr = addr;
	mr->length = length;
	mr->npages = (PAGE_ALIGN(addr + length) - start) >> PAGE_SHIFT;
	mr->writable = access & (RDMA_ACCESS_LOCAL_WRITE | RDMA_ACCESS_REMOTE_WRITE);
	mr->pages = kcalloc(mr->npages, sizeof(*mr->pages), GFP_KERNEL);
	if (!mr->pages) {
		kfree(mr);
		return -ENOMEM;
	}
	if (mr->writable)
		gup_flags |= FOLL_WRITE;
	/* the driver, not GUP, charges long-term pins to the mm */
	atomic64_add((int64_t)mr->npages, &mm->pinned_vm);
	mmgrab(mm);
	mr->mm = mm;

	while (pinned < mr->npages) {
		unsigned long n = min(mr->npages - pinned, RDMA_PIN_CHUNK);
		long got = pin_user_pages_fast(start + (pinned << PAGE_SHIFT), (int)n, gup_flags,
					       mr->pages + pinned);

		if (got <= 0) {
			unpin_user_pages(mr->pages, pinned);
			atomic64_sub((int64_t)mr->npages, &mm->pinned_vm);
			mmdrop(mm);
			kfree(mr->pages);
			kfree(mr);
			return got < 0 ? (int)got : -EFAULT;
		}
		pinned += (unsigned long)got;
	}
	*out = mr;
	return 0;
}

void rdma_dereg_mr(struct rdma_mr *mr)
{
	unpin_user_pages_dirty_lock(mr->pages, mr->npages, mr->writable);
	atomic64_sub((int64_t)mr->npages, &mr->mm->pinned_vm);
	mmdrop(mr->mm);
	kfree(mr->pages);
	kfree(mr);
}

/* Walk [offset, offset+len) of the region page by page through the frames. */
static int rdma_dma(struct rdma_mr *mr, size_t offset, void *buf, size_t len, bool to_mem)
{
	size_t pos = (mr->addr & ~PAGE_MASK) + offset, done = 0;

	if (offset > mr->length || len > mr->length - offset)
		return -EINVAL;
	if (to_mem && !mr->writable)
		return -EPERM;
	while (done < len) {
		size_t in_page = pos & ~PAGE_MASK;
		size_t n = min(len - done, PAGE_SIZE - in_page);
		char *frame = (char *)page_address(mr->pages[pos >> PAGE_SHIFT]) + in_page;

		if (to_mem)
			memcpy(frame, (char *)buf + done, n);
		else
			memcpy((char *)buf + done, frame, n);
		done += n;
		pos += n;
	}
	return 0;
}

int rdma_dma_write(struct rdma_mr *mr, size_t offset, const void *src, size_t len)
{
	return rdma_dma(mr, offset, (void *)src, len, true);
}

int rdma_dma_read(struct rdma_mr *mr, size_t offset, void *dst, size_t len)
{
	return rdma_dma(mr, offset, dst, len, false);
}
