// SPDX-License-Identifier: MIT
/*
 * Case 3, hardware that can fault (RDMA on-demand paging, HMM, SVA): no pins
 * at all. The device keeps its own page table of pfns for the range; an
 * interval notifier tells it when the mm takes a page away (munmap, COW,
 * migration, ...), and it drops the entry and faults again on next access.
 *
 * The protocol is Linux's (Documentation/mm/hmm.rst): sample the notifier
 * sequence, look the page up without holding anything, then take the device
 * lock and install the entry only if no invalidation ran in between. The
 * invalidate callback takes the same lock, so a page cannot be freed while
 * the device is using it — which is what a pin would otherwise be for.
 */
#include <linux/errno.h>
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/slab.h>
#include <pinmm/drivers.h>
#include <string.h>

/* A device page-table entry: pfn << 2 | ODP_PRESENT | ODP_WRITE (0: none). */
#define ODP_PRESENT	0x1UL
#define ODP_WRITE	0x2UL

static bool odp_invalidate(struct mmu_interval_notifier *sub,
			   const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct odp_mr *mr = container_of(sub, struct odp_mr, notifier);
	unsigned long start = max(range->start, mr->addr);
	unsigned long end = min(range->end, mr->addr + (mr->npages << PAGE_SHIFT));

	if (!mmu_notifier_range_blockable(range))
		return false;
	mutex_lock(&mr->lock);
	mmu_interval_set_seq(sub, cur_seq);
	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned long i = (a - mr->addr) >> PAGE_SHIFT;

		if (mr->dev_pfn[i]) {
			mr->dev_pfn[i] = 0;
			atomic_fetch_add(&mr->invalidations, 1);
		}
	}
	mutex_unlock(&mr->lock);
	return true;
}

static const struct mmu_interval_notifier_ops odp_ops = {
	.invalidate = odp_invalidate,
};

int odp_reg_mr(struct mm_struct *mm, unsigned long addr, size_t length, struct odp_mr **out)
{
	struct odp_mr *mr;
	int err;

	if (!length || (addr | length) & ~PAGE_MASK)
		return -EINVAL;
	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return -ENOMEM;
	mr->mm = mm;
	mr->addr = addr;
	mr->npages = length >> PAGE_SHIFT;
	mr->dev_pfn = kcalloc(mr->npages, sizeof(*mr->dev_pfn), GFP_KERNEL);
	mutex_init(&mr->lock, LOCK_RANK_LEAF);
	if (!mr->dev_pfn) {
		kfree(mr);
		return -ENOMEM;
	}
	err = mmu_interval_notifier_insert(&mr->notifier, mm, addr, length, &odp_ops);
	if (err) {
		kfree(mr->dev_pfn);
		kfree(mr);
		return err;
	}
	*out = mr;
	return 0;
}

void odp_dereg_mr(struct odp_mr *mr)
{
	mmu_interval_notifier_remove(&mr->notifier);
	mutex_destroy(&mr->lock);
	kfree(mr->dev_pfn);
	kfree(mr);
}

/*
 * Make page @i present on the device; return with mr->lock held and the
 * entry valid. A device page fault, as mlx5's ODP takes one: sample the
 * notifier sequence, hmm_range_fault() the page (no reference, no pin), then
 * install it under the device lock unless an invalidation ran meanwhile.
 */
static int odp_fault_locked(struct odp_mr *mr, unsigned long i, bool write)
{
	unsigned long addr = mr->addr + (i << PAGE_SHIFT), pfn;
	struct hmm_range range = {
		.notifier = &mr->notifier,
		.start = addr,
		.end = addr + PAGE_SIZE,
		.hmm_pfns = &pfn,
		.default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
	};
	int ret;

	for (;;) {
		range.notifier_seq = mmu_interval_read_begin(&mr->notifier);
		mmap_read_lock(mr->mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mr->mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			return ret;
		mutex_lock(&mr->lock);
		if (mmu_interval_read_retry(&mr->notifier, range.notifier_seq)) {
			mutex_unlock(&mr->lock);
			continue;
		}
		mr->dev_pfn[i] = page_to_pfn(hmm_pfn_to_page(pfn)) << 2 | ODP_PRESENT |
				 ((pfn & HMM_PFN_WRITE) ? ODP_WRITE : 0);
		atomic_fetch_add(&mr->device_faults, 1);
		return 0;
	}
}

static int odp_dma(struct odp_mr *mr, size_t offset, void *buf, size_t len, bool to_mem)
{
	size_t done = 0;

	if (offset > mr->npages << PAGE_SHIFT || len > (mr->npages << PAGE_SHIFT) - offset)
		return -EINVAL;
	while (done < len) {
		size_t pos = offset + done, in = pos & ~PAGE_MASK;
		size_t n = min(len - done, PAGE_SIZE - in);
		unsigned long i = pos >> PAGE_SHIFT;
		char *frame;

		mutex_lock(&mr->lock);
		/* no entry, or a read-only one for a write: a device page fault */
		if (!mr->dev_pfn[i] || (to_mem && !(mr->dev_pfn[i] & ODP_WRITE))) {
			int err;

			mutex_unlock(&mr->lock);
			err = odp_fault_locked(mr, i, to_mem);
			if (err)
				return err;
		}
		frame = (char *)pfn_to_virt(mr->dev_pfn[i] >> 2) + in;
		if (to_mem)
			memcpy(frame, (char *)buf + done, n);
		else
			memcpy((char *)buf + done, frame, n);
		mutex_unlock(&mr->lock);
		done += n;
	}
	return 0;
}

int odp_dma_write(struct odp_mr *mr, size_t offset, const void *src, size_t len)
{
	return odp_dma(mr, offset, (void *)src, len, true);
}

int odp_dma_read(struct odp_mr *mr, size_t offset, void *dst, size_t len)
{
	return odp_dma(mr, offset, dst, len, false);
}
