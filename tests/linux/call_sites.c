// SPDX-License-Identifier: MIT
/*
 * Linux call sites, written in the kernel's idiom, built with -Iinclude and
 * nothing but <linux/...> headers (issue 12): an RDMA memory registration
 * (ib_umem_get()'s shape), io_uring fixed buffers (io_pin_pages(), folio
 * coalescing, io_account_mem()), a VFIO type1 remote long-term pin
 * (vaddr_get_pfns(), vfio_lock_acct()), a Direct I/O read through
 * iov_iter_extract_pages() and an HMM mirror (hmm_range_fault() under an
 * interval notifier). Everything above the test harness below uses only what
 * a driver's file would include. The rules each one is held to:
 *  - ib_umem_get(): mm->pinned_vm is charged before pinning and checked
 *    against RLIMIT_MEMLOCK unless capable(CAP_IPC_LOCK); over it, -ENOMEM
 *    with nothing pinned or charged; release unpins (dirty if writable) and
 *    uncharges (drivers/infiniband/core/umem.c);
 *  - io_uring: a THP-backed buffer keeps one pin per folio after coalescing,
 *    charges mm->pinned_vm always and user->locked_vm only without
 *    CAP_IPC_LOCK, per folio size (the live 6.18 kernel here: VmPin +2048 kB
 *    for a 2 MiB THP buffer, -ENOMEM without CAP_IPC_LOCK over the limit,
 *    VmPin back to 0 after unregister) (io_uring/rsrc.c);
 *  - VFIO: pin_user_pages_remote(FOLL_LONGTERM) under the target mm's
 *    mmap_lock, charged to mm->locked_vm with the task's RLIMIT_MEMLOCK
 *    unless the mapping task had CAP_IPC_LOCK (vfio_iommu_type1.c);
 *  - DIO: 512-byte alignment, short-term pins, pages unpinned dirty
 *    (iomap/direct-io.c, bio_release_pages());
 *  - HMM: no pins and no references; -EBUSY after an invalidation.
 */
#include <linux/bio.h>
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/user.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

/* ---- an RDMA memory region ---------------------------------------------- */

struct umem {
	struct mm_struct *owning_mm;
	unsigned long address;
	size_t length;
	bool writable;
	struct sg_table sgt;
	unsigned long npages;
};

static struct umem *umem_get(unsigned long addr, size_t size, bool writable)
{
	unsigned int gup_flags = FOLL_LONGTERM | (writable ? FOLL_WRITE : 0);
	unsigned long lock_limit, new_pinned, npages, pinned = 0, end;
	struct page **page_list;
	struct mm_struct *mm;
	struct umem *umem;
	int ret;

	if (check_add_overflow(addr, (unsigned long)size, &end) || PAGE_ALIGN(end) < end)
		return ERR_PTR(-EINVAL);
	umem = kzalloc(sizeof(*umem), GFP_KERNEL);
	if (!umem)
		return ERR_PTR(-ENOMEM);
	umem->address = addr;
	umem->length = size;
	umem->writable = writable;
	umem->owning_mm = mm = current->mm;
	mmgrab(mm);
	npages = (PAGE_ALIGN(end) - PAGE_ALIGN_DOWN(addr)) >> PAGE_SHIFT;
	page_list = kvmalloc_array(npages, sizeof(*page_list), GFP_KERNEL);
	if (!page_list) {
		ret = -ENOMEM;
		goto umem_kfree;
	}
	lock_limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	new_pinned = atomic64_add_return(npages, &mm->pinned_vm);
	if (new_pinned > lock_limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		ret = -ENOMEM;
		goto out;
	}
	while (pinned < npages) {
		unsigned long chunk = min_t(unsigned long, npages - pinned,
					    PAGE_SIZE / sizeof(struct page *));
		long got = pin_user_pages_fast(PAGE_ALIGN_DOWN(addr) + pinned * PAGE_SIZE,
					       (int)chunk, gup_flags, page_list + pinned);

		if (got <= 0) {
			ret = got ? (int)got : -EFAULT;
			goto umem_release;
		}
		pinned += got;
	}
	ret = sg_alloc_table_from_pages_segment(&umem->sgt, page_list, (unsigned int)npages,
						offset_in_page(addr), size, SZ_2M, GFP_KERNEL);
	if (ret)
		goto umem_release;
	umem->npages = npages;
	kvfree(page_list);
	return umem;

umem_release:
	unpin_user_pages(page_list, pinned);
	atomic64_sub(npages, &mm->pinned_vm);
out:
	kvfree(page_list);
umem_kfree:
	mmdrop(mm);
	kfree(umem);
	return ERR_PTR(ret);
}

static void umem_release(struct umem *umem)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(&umem->sgt, sg, i)
		unpin_user_page_range_dirty_lock(sg_page(sg),
						 DIV_ROUND_UP(sg->offset + sg->length, PAGE_SIZE),
						 umem->writable);
	sg_free_table(&umem->sgt);
	atomic64_sub(umem->npages, &umem->owning_mm->pinned_vm);
	mmdrop(umem->owning_mm);
	kfree(umem);
}

/* ---- io_uring fixed buffers ----------------------------------------------- */

struct iou_ctx {
	struct user_struct *user;	/* charged only without CAP_IPC_LOCK */
	struct mm_struct *mm_account;
};

struct iou_mapped_buf {
	unsigned long ubuf;
	size_t len;
	unsigned long acct_pages;
	unsigned int nr_bvecs;
	unsigned int folio_shift;
	struct bio_vec bvec[];
};

static void iou_ctx_init(struct iou_ctx *ctx)
{
	ctx->user = capable(CAP_IPC_LOCK) ? NULL : get_uid(current_user());
	mmgrab(current->mm);
	ctx->mm_account = current->mm;
}

static void iou_ctx_exit(struct iou_ctx *ctx)
{
	if (ctx->user)
		free_uid(ctx->user);
	mmdrop(ctx->mm_account);
}

static int iou_account_mem(struct iou_ctx *ctx, unsigned long nr_pages)
{
	if (ctx->user) {
		unsigned long page_limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		long cur = atomic_long_read(&ctx->user->locked_vm), want;

		do {
			want = cur + (long)nr_pages;
			if ((unsigned long)want > page_limit)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(&ctx->user->locked_vm, &cur, want));
	}
	atomic64_add(nr_pages, &ctx->mm_account->pinned_vm);
	return 0;
}

static void iou_unaccount_mem(struct iou_ctx *ctx, unsigned long nr_pages)
{
	if (ctx->user)
		atomic_long_sub(nr_pages, &ctx->user->locked_vm);
	atomic64_sub(nr_pages, &ctx->mm_account->pinned_vm);
}

static struct page **iou_pin_pages(unsigned long uaddr, unsigned long len, int *npages)
{
	unsigned long end, nr_pages;
	struct page **pages;
	long ret;

	if (check_add_overflow(uaddr, len, &end) ||
	    check_add_overflow(end, PAGE_SIZE - 1, &end))
		return ERR_PTR(-EOVERFLOW);
	nr_pages = (end >> PAGE_SHIFT) - (uaddr >> PAGE_SHIFT);
	if (WARN_ON_ONCE(!nr_pages) || nr_pages > INT_MAX)
		return ERR_PTR(-EINVAL);
	pages = kvmalloc_array(nr_pages, sizeof(struct page *), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	ret = pin_user_pages_fast(uaddr, (int)nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (ret == (long)nr_pages) {
		*npages = (int)nr_pages;
		return pages;
	}
	if (ret > 0)
		unpin_user_pages(pages, ret);
	kvfree(pages);
	return ERR_PTR(ret < 0 ? ret : -EFAULT);
}

/*
 * Can the pages become one bvec per folio? Every folio the same size, the
 * pages of each consecutive within it, whole folios except at the two ends.
 */
static bool iou_can_coalesce(struct page **pages, int nr, unsigned int *shift)
{
	struct folio *folio = page_folio(pages[0]);
	unsigned long size = folio_size(folio);
	int i = 0;

	if (!folio_test_large(folio))
		return false;
	while (i < nr) {
		struct folio *f = page_folio(pages[i]);
		int first = (int)folio_page_idx(f, pages[i]), run = 1;

		if (folio_size(f) != size || (i && first))
			return false;
		while (i + run < nr && pages[i + run] == nth_page(pages[i], run) &&
		       page_folio(pages[i + run]) == f)
			run++;
		if (i + run < nr && first + run != (int)folio_nr_pages(f))
			return false;
		i += run;
	}
	*shift = (unsigned int)__builtin_ctzl(size);
	return true;
}

static struct iou_mapped_buf *iou_register(struct iou_ctx *ctx, unsigned long uaddr,
					   unsigned long len)
{
	struct iou_mapped_buf *imu;
	struct page **pages;
	unsigned int shift = PAGE_SHIFT, nr_bvecs = 0;
	int nr = 0, i, ret;

	pages = iou_pin_pages(uaddr, len, &nr);
	if (IS_ERR(pages))
		return ERR_CAST(pages);
	imu = kvmalloc(struct_size(imu, bvec, nr), GFP_KERNEL);
	if (!imu) {
		unpin_user_pages(pages, nr);
		kvfree(pages);
		return ERR_PTR(-ENOMEM);
	}
	imu->acct_pages = 0;
	if (iou_can_coalesce(pages, nr, &shift)) {
		/* one pin per folio: the rest of the folio's pins go now */
		for (i = 0; i < nr;) {
			struct folio *folio = page_folio(pages[i]);
			size_t first = folio_page_idx(folio, pages[i]);
			int run = (int)min_t(unsigned long, nr - i, folio_nr_pages(folio) - first);

			if (run > 1)
				unpin_user_folio(folio, run - 1);
			bvec_set_page(&imu->bvec[nr_bvecs++], pages[i], run * PAGE_SIZE, 0);
			imu->acct_pages += folio_nr_pages(folio);
			i += run;
		}
	} else {
		for (i = 0; i < nr; i++) {
			bvec_set_page(&imu->bvec[nr_bvecs++], pages[i], PAGE_SIZE, 0);
			imu->acct_pages += 1;
		}
	}
	kvfree(pages);
	imu->ubuf = uaddr;
	imu->len = len;
	imu->nr_bvecs = nr_bvecs;
	imu->folio_shift = shift;
	ret = iou_account_mem(ctx, imu->acct_pages);
	if (ret) {
		for (i = 0; i < (int)nr_bvecs; i++)
			unpin_user_page(imu->bvec[i].bv_page);
		kvfree(imu);
		return ERR_PTR(ret);
	}
	return imu;
}

static void iou_unregister(struct iou_ctx *ctx, struct iou_mapped_buf *imu)
{
	for (unsigned int i = 0; i < imu->nr_bvecs; i++)
		unpin_user_page(imu->bvec[i].bv_page);
	iou_unaccount_mem(ctx, imu->acct_pages);
	kvfree(imu);
}

/* ---- VFIO type1 ------------------------------------------------------------- */

struct vfio_dma {
	struct task_struct *task;
	struct mm_struct *mm;
	bool lock_cap;
};

static long vaddr_get_pfns(struct mm_struct *mm, unsigned long vaddr, long npages, bool write,
			   struct page **pages)
{
	int locked = 1;
	long ret;

	mmap_read_lock(mm);
	ret = pin_user_pages_remote(mm, vaddr, npages, FOLL_LONGTERM | (write ? FOLL_WRITE : 0),
				    pages, &locked);
	if (locked)
		mmap_read_unlock(mm);
	return ret;
}

static int vfio_lock_acct(struct vfio_dma *dma, long npage)
{
	int ret;

	if (!npage)
		return 0;
	ret = mmap_write_lock_killable(dma->mm);
	if (!ret) {
		ret = __account_locked_vm(dma->mm, npage > 0 ? npage : -npage, npage > 0, dma->task,
					  dma->lock_cap);
		mmap_write_unlock(dma->mm);
	}
	return ret;
}

/* Map a range of the task @pid's memory for the device: pin, then charge. */
static long vfio_pin_range(struct vfio_dma *dma, pid_t pid, unsigned long vaddr, long npages,
			   struct page **pages)
{
	struct pid *p = find_get_pid(pid);
	long pinned;
	int ret;

	if (!p)
		return -ESRCH;
	dma->task = get_pid_task(p, PIDTYPE_PID);
	put_pid(p);
	if (!dma->task)
		return -ESRCH;
	dma->mm = get_task_mm(dma->task);
	if (!dma->mm) {
		put_task_struct(dma->task);
		return -ESRCH;
	}
	dma->lock_cap = capable(CAP_IPC_LOCK);
	pinned = vaddr_get_pfns(dma->mm, vaddr, npages, true, pages);
	if (pinned != npages) {
		if (pinned > 0)
			unpin_user_pages(pages, pinned);
		pinned = pinned < 0 ? pinned : -EFAULT;
		goto out;
	}
	ret = vfio_lock_acct(dma, npages);
	if (ret) {
		unpin_user_pages(pages, npages);
		pinned = ret;
	}
out:
	if (pinned < 0) {
		mmput(dma->mm);
		put_task_struct(dma->task);
	}
	return pinned;
}

static void vfio_unpin_range(struct vfio_dma *dma, struct page **pages, long npages)
{
	unpin_user_pages_dirty_lock(pages, npages, true);
	vfio_lock_acct(dma, -npages);
	mmput(dma->mm);
	put_task_struct(dma->task);
}

/* ---- Direct I/O --------------------------------------------------------------- */

/* "Read" @len bytes of @disk at @pos into user memory at @ubuf, as O_DIRECT does. */
static ssize_t dio_read(const char *disk, loff_t pos, char __user *ubuf, size_t len)
{
	struct page *stack_pages[16], **pages = stack_pages;
	struct iov_iter iter;
	ssize_t done = 0;

	if (((unsigned long)ubuf | len | pos) & (SZ_512 - 1))
		return -EINVAL;
	iov_iter_ubuf(&iter, ITER_DEST, ubuf, len);
	while (iov_iter_count(&iter)) {
		size_t offset, left;
		ssize_t bytes = iov_iter_extract_pages(&iter, &pages, iov_iter_count(&iter),
						       ARRAY_SIZE(stack_pages), 0, &offset);
		unsigned int n;

		if (bytes <= 0)
			return done ? done : bytes;
		n = DIV_ROUND_UP(offset + bytes, PAGE_SIZE);
		left = bytes;
		for (unsigned int i = 0; i < n; i++) {
			size_t chunk = min(left, PAGE_SIZE - offset);
			char *dst = kmap_local_page(pages[i]);

			memcpy(dst + offset, disk + pos + done, chunk);	/* the device's DMA */
			kunmap_local(dst);
			done += chunk;
			left -= chunk;
			offset = 0;
		}
		if (iov_iter_extract_will_pin(&iter))
			unpin_user_pages_dirty_lock(pages, n, true);
	}
	return done;
}

/* ---- an HMM mirror ---------------------------------------------------------------- */

struct mirror {
	struct mmu_interval_notifier notifier;
	struct mutex lock;
	unsigned long invalidations;
};

static bool mirror_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct mirror *m = container_of(mni, struct mirror, notifier);

	if (!mmu_notifier_range_blockable(range))
		return false;
	mutex_lock(&m->lock);
	mmu_interval_set_seq(mni, cur_seq);
	m->invalidations++;
	mutex_unlock(&m->lock);
	return true;
}

static const struct mmu_interval_notifier_ops mirror_ops = {
	.invalidate = mirror_invalidate,
};

/* Snapshot the range for the device, faulting it in for writing. */
static int mirror_fault(struct mirror *m, unsigned long start, unsigned long npages,
			unsigned long *pfns)
{
	struct hmm_range range = {
		.notifier = &m->notifier,
		.start = start,
		.end = start + npages * PAGE_SIZE,
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
	};
	int ret;

	for (;;) {
		range.notifier_seq = mmu_interval_read_begin(&m->notifier);
		mmap_read_lock(m->notifier.mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(m->notifier.mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			return ret;
		mutex_lock(&m->lock);
		if (!mmu_interval_read_retry(&m->notifier, range.notifier_seq))
			return 0;	/* with m->lock held: the pfns are good until unlock */
		mutex_unlock(&m->lock);
	}
}

/* ======== the test harness: not part of the call sites ======================== */

#include "../lib/machine.h"
#include "../lib/process.h"

#include <pinmm/huge_mm.h>
#include <pinmm/vmstat.h>
#include <string.h>

#define BASE	0x600000000UL

static long acq(void)
{
	return global_node_page_state(NR_FOLL_PIN_ACQUIRED);
}

static long rel(void)
{
	return global_node_page_state(NR_FOLL_PIN_RELEASED);
}

static void populate(unsigned long addr, unsigned long len, bool thp)
{
	test_mmap_fixed(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (thp)
		do_madvise(current->mm, addr, len, MADV_HUGEPAGE);
	do_madvise(current->mm, addr, len, MADV_POPULATE_WRITE);
}

static void rdma(void)
{
	struct task_struct *t;
	struct umem *umem;
	struct scatterlist *sg;
	unsigned int i, pages_in_sg = 0;
	long a0, r0;

	test_boot(128, 32, 16);
	t = test_process("umem");
	populate(BASE, 64 * PAGE_SIZE, false);
	a0 = acq();
	r0 = rel();
	umem = umem_get(BASE + 100, 64 * PAGE_SIZE - 200, true);
	ok(!IS_ERR(umem), "umem_get: 64 pages registered");
	if (IS_ERR(umem))
		bail_out("umem_get: %ld", PTR_ERR(umem));
	is_int(atomic64_read(&t->mm->pinned_vm), 64, "umem_get: mm->pinned_vm charged 64 pages");
	is_int((acq() - a0) - (rel() - r0), 64, "umem_get: 64 pins held (a long-term pin that migrates counts its first pins as taken and released)");
	for_each_sgtable_sg(&umem->sgt, sg, i) {
		pages_in_sg += DIV_ROUND_UP(sg->offset + sg->length, PAGE_SIZE);
		ok(folio_maybe_dma_pinned(page_folio(sg_page(sg))) &&
		   folio_is_longterm_pinnable(page_folio(sg_page(sg))),
		   "umem_get: sg entry %u is pinned outside ZONE_MOVABLE/CMA", i);
	}
	ok(umem->sgt.sgl[0].offset == 100 && pages_in_sg == 64,
	   "umem_get: the table starts 100 bytes in and covers 64 pages in %u entries",
	   umem->sgt.orig_nents);
	umem_release(umem);
	ok(atomic64_read(&t->mm->pinned_vm) == 0 && acq() == rel(),
	   "umem_release: pins released, pinned_vm back to 0");

	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 32 * PAGE_SIZE, 32 * PAGE_SIZE);
	umem = umem_get(BASE, 64 * PAGE_SIZE, true);
	ok(!IS_ERR(umem), "umem_get: over RLIMIT_MEMLOCK with CAP_IPC_LOCK is allowed");
	if (!IS_ERR(umem))
		umem_release(umem);
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	a0 = acq();
	umem = umem_get(BASE, 64 * PAGE_SIZE, true);
	ok(PTR_ERR(umem) == -ENOMEM && acq() == a0 && atomic64_read(&t->mm->pinned_vm) == 0,
	   "umem_get: over RLIMIT_MEMLOCK without CAP_IPC_LOCK is -ENOMEM, nothing pinned "
	   "or charged");
	umem = umem_get(BASE, 32 * PAGE_SIZE, false);
	ok(!IS_ERR(umem), "umem_get: exactly the limit is allowed");
	if (!IS_ERR(umem))
		umem_release(umem);
	ok(PTR_ERR(umem_get(~0UL - 10, 100, false)) == -EINVAL, "umem_get: a wrapping range is -EINVAL");
	pinmm_task_exit(t);
	test_shutdown_ok("rdma umem");
}

static void io_uring(void)
{
	struct task_struct *t;
	struct iou_mapped_buf *imu;
	struct iou_ctx ctx;
	struct folio *folio;
	long a0, r0;

	test_boot(128, 0, 0);
	t = test_process("iou");
	populate(BASE, PMD_SIZE, true);
	folio = page_folio(pfn_to_page(test_pt_pfn(t->mm, BASE)));
	iou_ctx_init(&ctx);
	a0 = acq();
	r0 = rel();
	imu = iou_register(&ctx, BASE, PMD_SIZE);
	ok(!IS_ERR(imu), "io_uring: a 2 MiB THP buffer registers");
	if (IS_ERR(imu))
		bail_out("iou_register: %ld", PTR_ERR(imu));
	if (folio_test_large(folio)) {
		ok(imu->nr_bvecs == 1 && imu->folio_shift == PMD_SHIFT,
		   "io_uring: the THP coalesces into one bvec (folio_shift 21)");
		is_int(folio_pincount(folio), 1, "io_uring: one pin kept per folio, not 512");
		is_int((acq() - a0) - (rel() - r0), 1, "io_uring: net one pin in the counters");
	} else {
		skip(3, "no THP");
	}
	is_int(atomic64_read(&t->mm->pinned_vm), 512,
	       "io_uring: mm->pinned_vm + 512 (the live kernel: VmPin 2048 kB)");
	ok(!ctx.user, "io_uring: with CAP_IPC_LOCK user->locked_vm is not charged");
	iou_unregister(&ctx, imu);
	ok(atomic64_read(&t->mm->pinned_vm) == 0 && acq() == rel() && !folio_pincount(folio),
	   "io_uring: unregister unpins and returns pinned_vm to 0");

	/* 32 KiB of the THP: the whole folio is charged (io_buffer_account_pin) */
	imu = iou_register(&ctx, BASE, 8 * PAGE_SIZE);
	ok(!IS_ERR(imu) && atomic64_read(&t->mm->pinned_vm) == 512,
	   "io_uring: 8 pages of a THP charge the whole folio, 512 pages, to pinned_vm");
	if (!IS_ERR(imu))
		iou_unregister(&ctx, imu);
	iou_ctx_exit(&ctx);

	/* without CAP_IPC_LOCK: user->locked_vm, limited by RLIMIT_MEMLOCK */
	pinmm_task_set_uid(t, 1000);
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, SZ_64K, SZ_64K);
	populate(BASE + PMD_SIZE, 16 * PAGE_SIZE, false);
	iou_ctx_init(&ctx);
	ok(ctx.user == t->user, "io_uring: without CAP_IPC_LOCK the ring holds the user_struct");
	imu = iou_register(&ctx, BASE, PMD_SIZE);
	ok(PTR_ERR(imu) == -ENOMEM && atomic64_read(&t->mm->pinned_vm) == 0 &&
	   atomic_long_read(&t->user->locked_vm) == 0 && acq() == rel(),
	   "io_uring: 2 MiB over a 64 KiB RLIMIT_MEMLOCK without CAP_IPC_LOCK is -ENOMEM, "
	   "nothing pinned or charged (live kernel: -12)");
	imu = iou_register(&ctx, BASE, 8 * PAGE_SIZE);
	ok(PTR_ERR(imu) == -ENOMEM && acq() == rel(),
	   "io_uring: so is 32 KiB of the THP: it counts as 512 pages (live kernel: -12)");
	imu = iou_register(&ctx, BASE + PMD_SIZE, 8 * PAGE_SIZE);
	ok(!IS_ERR(imu) && atomic_long_read(&t->user->locked_vm) == 8 &&
	   atomic64_read(&t->mm->pinned_vm) == 8,
	   "io_uring: 32 KiB of small pages fits: user->locked_vm and pinned_vm + 8 "
	   "(live kernel: 0, VmPin 32 kB)");
	if (!IS_ERR(imu))
		iou_unregister(&ctx, imu);
	ok(atomic_long_read(&t->user->locked_vm) == 0 && atomic64_read(&t->mm->pinned_vm) == 0,
	   "io_uring: unregister uncharges both");
	populate(BASE + PMD_SIZE + 16 * PAGE_SIZE, PAGE_SIZE, false);
	imu = iou_register(&ctx, BASE + PMD_SIZE, 17 * PAGE_SIZE);
	ok(PTR_ERR(imu) == -ENOMEM && acq() == rel(),
	   "io_uring: 17 pages over a 16-page limit is -ENOMEM (the live kernel also charges "
	   "the rings' own pages, so there even 64 KiB fails)");
	iou_ctx_exit(&ctx);
	pinmm_task_exit(t);
	test_shutdown_ok("io_uring");
}

static void vfio(void)
{
	struct task_struct *owner, *vmm;
	struct page *pages[32];
	struct vfio_dma dma;
	long got;

	test_boot(128, 32, 16);
	owner = test_process("guest");
	populate(BASE, 32 * PAGE_SIZE, false);
	vmm = test_process("vmm");
	got = vfio_pin_range(&dma, owner->pid, BASE, 32, pages);
	is_int(got, 32, "vfio: 32 pages of another task pinned by pid (pin_user_pages_remote)");
	ok(got == 32 && owner->mm->locked_vm == 32 && vmm->mm->locked_vm == 0,
	   "vfio: the pinned pages are charged to the target mm's locked_vm");
	ok(got == 32 && folio_maybe_dma_pinned(page_folio(pages[0])) &&
	   folio_is_longterm_pinnable(page_folio(pages[31])),
	   "vfio: FOLL_LONGTERM pins, outside ZONE_MOVABLE/CMA");
	if (got == 32)
		vfio_unpin_range(&dma, pages, 32);
	ok(owner->mm->locked_vm == 0 && acq() == rel(), "vfio: unpin uncharges locked_vm");
	pinmm_task_set_rlimit(owner, RLIMIT_MEMLOCK, 16 * PAGE_SIZE, 16 * PAGE_SIZE);
	pinmm_task_set_cap(vmm, CAP_IPC_LOCK, false);
	got = vfio_pin_range(&dma, owner->pid, BASE, 32, pages);
	ok(got == -ENOMEM && owner->mm->locked_vm == 0 && acq() == rel(),
	   "vfio: over the target task's RLIMIT_MEMLOCK without CAP_IPC_LOCK: -ENOMEM, pins "
	   "dropped, nothing charged");
	is_int(vfio_pin_range(&dma, 999999, BASE, 1, pages), -ESRCH, "vfio: an unknown pid is -ESRCH");
	pinmm_task_exit(vmm);
	pinmm_task_attach(owner);
	pinmm_task_exit(owner);
	test_shutdown_ok("vfio");
}

static void dio(void)
{
	static char disk[64 * 1024];
	struct task_struct *t;
	char buf[600];
	long a0;

	test_boot(64, 0, 0);
	t = test_process("dio");
	for (unsigned int i = 0; i < sizeof(disk); i++)
		disk[i] = (char)(i * 7 + 3);
	populate(BASE, 16 * PAGE_SIZE, false);
	a0 = acq();
	is_int(dio_read(disk, 1024, (char __user *)(BASE + 512), 3 * PAGE_SIZE), 3 * PAGE_SIZE,
	       "dio: a 512-byte aligned read of 3 pages into a buffer 512 bytes into a page");
	copy_from_user(buf, (void __user *)(BASE + 512), sizeof(buf));
	ok(!memcmp(buf, disk + 1024, sizeof(buf)), "dio: the bytes landed through the pins");
	ok(acq() - a0 == 4 && acq() == rel(), "dio: 4 pages pinned short-term and released");
	ok(folio_test_dirty(page_folio(pfn_to_page(test_pt_pfn(t->mm, BASE + PAGE_SIZE)))),
	   "dio: pages the device wrote are unpinned dirty");
	is_int(dio_read(disk, 0, (char __user *)(BASE + 256), 512), -EINVAL,
	       "dio: a buffer on a 256-byte boundary is -EINVAL (512 is the rule)");
	pinmm_task_exit(t);
	test_shutdown_ok("dio");
}

static void hmm(void)
{
	struct task_struct *t;
	unsigned long pfns[8];
	struct mirror m = { .invalidations = 0 };
	long a0;
	int refs;

	test_boot(64, 0, 0);
	t = test_process("hmm");
	test_mmap_fixed(BASE, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	mutex_init(&m.lock, LOCK_RANK_LEAF);
	is_int(mmu_interval_notifier_insert(&m.notifier, t->mm, BASE, 8 * PAGE_SIZE,
					    &mirror_ops), 0, "hmm: interval notifier inserted");
	a0 = acq();
	is_int(mirror_fault(&m, BASE, 8, pfns), 0, "hmm: hmm_range_fault faults in 8 pages");
	refs = folio_ref_count(page_folio(hmm_pfn_to_page(pfns[0])));
	mutex_unlock(&m.lock);	/* test_pt_pfn() takes mmap_lock, ranked before it */
	ok((pfns[0] & HMM_PFN_VALID) && (pfns[7] & HMM_PFN_WRITE) &&
	   hmm_pfn_to_page(pfns[3]) == pfn_to_page(test_pt_pfn(t->mm, BASE + 3 * PAGE_SIZE)),
	   "hmm: valid, writable pfns, the frames the CPU maps");
	ok(acq() == a0 && refs == 1, "hmm: no pin and no reference taken (refcount %d)", refs);
	do_madvise(t->mm, BASE, PAGE_SIZE, MADV_DONTNEED);
	ok(m.invalidations >= 1, "hmm: MADV_DONTNEED invalidates the mirror");
	{
		struct hmm_range range = { .notifier = &m.notifier, .start = BASE,
					   .end = BASE + PAGE_SIZE, .hmm_pfns = pfns,
					   .default_flags = HMM_PFN_REQ_FAULT };

		range.notifier_seq = mmu_interval_read_begin(&m.notifier);
		do_madvise(t->mm, BASE + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
		mmap_read_lock(t->mm);
		is_int(hmm_range_fault(&range), -EBUSY,
		       "hmm: an invalidation after the sequence was read makes it -EBUSY");
		mmap_read_unlock(t->mm);
		range.start = BASE + 64 * PAGE_SIZE;
		range.end = range.start + PAGE_SIZE;
		range.notifier_seq = mmu_interval_read_begin(&m.notifier);
		mmap_read_lock(t->mm);
		is_int(hmm_range_fault(&range), -EFAULT, "hmm: a required page in a hole is -EFAULT");
		mmap_read_unlock(t->mm);
	}
	mmu_interval_notifier_remove(&m.notifier);
	mutex_destroy(&m.lock);
	pinmm_task_exit(t);
	test_shutdown_ok("hmm");
}

int main(void)
{
	plan_no_plan();
	rdma();
	io_uring();
	vfio();
	dio();
	hmm();
	return done_testing();
}
