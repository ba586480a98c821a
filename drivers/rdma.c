// SPDX-License-Identifier: MIT
/*
 * Case 2, RDMA: a memory region stays registered as long as user space
 * wants, so its pages are pinned long-term. Written as ib_umem_get() and
 * ib_umem_release() are (drivers/infiniband/core/umem.c): pinned_vm charged
 * before pinning against RLIMIT_MEMLOCK, a page of page pointers per
 * pin_user_pages_fast() call, an sg table of the contiguous runs.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <pinmm/drivers.h>
#include <string.h>

/* the largest sg entry the "HCA" takes */
#define RDMA_MAX_SEG	SZ_2M

int rdma_reg_mr(unsigned long addr, size_t length, int access, struct rdma_mr **out)
{
	unsigned long npages, pinned = 0, end, lock_limit, first;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = current->mm;
	struct page **page_list;
	struct rdma_mr *mr;
	int ret;

	if (!length || check_add_overflow(addr, (unsigned long)length, &end) ||
	    PAGE_ALIGN(end) < end)
		return -EINVAL;
	first = PAGE_ALIGN_DOWN(addr);
	npages = (PAGE_ALIGN(end) - first) >> PAGE_SHIFT;
	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return -ENOMEM;
	mr->addr = addr;
	mr->length = length;
	mr->npages = npages;
	mr->writable = access & (RDMA_ACCESS_LOCAL_WRITE | RDMA_ACCESS_REMOTE_WRITE);
	if (mr->writable)
		gup_flags |= FOLL_WRITE;
	page_list = kvcalloc(npages, sizeof(*page_list), GFP_KERNEL);
	if (!page_list) {
		ret = -ENOMEM;
		goto free_mr;
	}
	mmgrab(mm);
	mr->mm = mm;

	/* the driver, not GUP, charges long-term pins to the mm */
	lock_limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	if ((unsigned long)atomic64_add_return(npages, &mm->pinned_vm) > lock_limit &&
	    !capable(CAP_IPC_LOCK)) {
		ret = -ENOMEM;
		goto uncharge;
	}
	while (pinned < npages) {
		unsigned long n = min_t(unsigned long, npages - pinned,
					PAGE_SIZE / sizeof(struct page *));
		long got = pin_user_pages_fast(first + (pinned << PAGE_SHIFT), (int)n, gup_flags,
					       page_list + pinned);

		if (got <= 0) {
			ret = got ? (int)got : -EFAULT;
			goto unpin;
		}
		pinned += got;
	}
	ret = sg_alloc_table_from_pages_segment(&mr->sgt, page_list, (unsigned int)npages,
						offset_in_page(addr), length, RDMA_MAX_SEG,
						GFP_KERNEL);
	if (ret)
		goto unpin;
	/* the device's translation table keeps the page list itself */
	mr->pages = page_list;
	*out = mr;
	return 0;

unpin:
	unpin_user_pages(page_list, pinned);
uncharge:
	atomic64_sub(npages, &mm->pinned_vm);
	mmdrop(mm);
	kvfree(page_list);
free_mr:
	kfree(mr);
	return ret;
}

void rdma_dereg_mr(struct rdma_mr *mr)
{
	struct scatterlist *sg;
	unsigned int i;

	/* ib_umem_release(): each contiguous run unpinned (dirtied) in one call */
	for_each_sgtable_sg(&mr->sgt, sg, i)
		unpin_user_page_range_dirty_lock(sg_page(sg),
						 DIV_ROUND_UP(sg->offset + sg->length, PAGE_SIZE),
						 mr->writable);
	sg_free_table(&mr->sgt);
	atomic64_sub(mr->npages, &mr->mm->pinned_vm);
	mmdrop(mr->mm);
	kvfree(mr->pages);
	kfree(mr);
}

/* Walk [offset, offset+len) of the region page by page through the frames. */
static int rdma_dma(struct rdma_mr *mr, size_t offset, void *buf, size_t len, bool to_mem)
{
	size_t pos = offset_in_page(mr->addr) + offset, done = 0;

	if (offset > mr->length || len > mr->length - offset)
		return -EINVAL;
	if (to_mem && !mr->writable)
		return -EPERM;
	while (done < len) {
		size_t in_page = offset_in_page(pos);
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
