// SPDX-License-Identifier: MIT
/*
 * A device with memory of its own, the ground of case 3 (Linux's
 * lib/test_hmm.c "dmirror", driven by tools/testing/selftests/mm/
 * hmm-tests.c). It pins nothing: anonymous pages move into its memory with
 * migrate_vma_*(), and it reads the CPU's page tables with hmm_range_fault().
 *
 * Two kinds of device (include/pinmm/memremap.h):
 *   private   the bytes live in the device (here: a buffer of its own, the
 *             "VRAM"); the CPU reaches such a page only by faulting, and
 *             ->migrate_to_ram() then brings it back to system RAM;
 *   coherent  the bytes are machine frames the CPU may map and touch; ordinary
 *             GUP may take them, FOLL_LONGTERM moves them to RAM first.
 */
#include <linux/errno.h>
#include <linux/hmm.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/slab.h>
#include <pinmm/drivers.h>
#include <string.h>

/* Pages the device holds exclusively (make_device_exclusive), one range at a time. */
struct dmirror_exclusive {
	struct mmu_interval_notifier notifier;
	struct mutex lock;		/* the table; taken by invalidate */
	unsigned long addr;		/* (c) while active */
	unsigned long npages;		/* (c) */
	unsigned long *pfn;		/* (lock) 0: not held (NULL: not active) */
};

struct dmirror_device {
	struct dev_pagemap pgmap;
	struct dmirror_exclusive excl;
	unsigned long first_pfn;	/* (c) */
	unsigned long npages;		/* (c) */
	char *vram;			/* (c) private: the device's own bytes */
	spinlock_t lock;		/* the free list */
	unsigned long *free;		/* (lock) pfns of free device pages, a stack */
	unsigned long nr_free;		/* (lock) */
};

static struct dmirror_device *to_dmirror(struct dev_pagemap *pgmap)
{
	return container_of(pgmap, struct dmirror_device, pgmap);
}

/* Where the device keeps the bytes of its page @page. */
static void *dmirror_page_mem(struct dmirror_device *mdev, struct page *page)
{
	if (mdev->pgmap.type == MEMORY_DEVICE_PRIVATE)
		return mdev->vram + ((page_to_pfn(page) - mdev->first_pfn) << PAGE_SHIFT);
	return page_address(page);
}

/* Where anyone's page @page keeps its bytes, as this device sees them. */
static void *dmirror_any_page_mem(struct dmirror_device *mdev, struct page *page)
{
	struct dev_pagemap *pgmap = page_pgmap(page);

	/* hmm_range_fault() reports only our own private pages */
	if (pgmap && pgmap->type == MEMORY_DEVICE_PRIVATE && !WARN_ON_ONCE(pgmap->owner != mdev))
		return dmirror_page_mem(mdev, page);
	return page_address(page);
}

static struct page *dmirror_alloc_page(struct dmirror_device *mdev)
{
	struct page *page = NULL;

	spin_lock(&mdev->lock);
	if (mdev->nr_free)
		page = pfn_to_page(mdev->free[--mdev->nr_free]);
	spin_unlock(&mdev->lock);
	if (page)
		zone_device_page_init(page);	/* one reference, locked */
	return page;
}

static void dmirror_page_free(struct page *page)
{
	struct dmirror_device *mdev = to_dmirror(page_pgmap(page));

	spin_lock(&mdev->lock);
	mdev->free[mdev->nr_free++] = page_to_pfn(page);
	spin_unlock(&mdev->lock);
}

/*
 * For every page the migration took: a destination from @alloc, the data
 * copied by @copy. A page without a destination stays where it is.
 */
static void dmirror_alloc_and_copy(struct dmirror_device *mdev, struct migrate_vma *args,
				   bool to_device)
{
	for (unsigned long i = 0; i < args->npages; i++) {
		struct page *spage = migrate_pfn_to_page(args->src[i]);
		struct page *dpage;

		args->dst[i] = 0;
		if (!(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (to_device) {
			dpage = dmirror_alloc_page(mdev);
			if (!dpage)
				continue;	/* out of device memory: stays in RAM */
			if (spage)
				memcpy(dmirror_page_mem(mdev, dpage), page_address(spage), PAGE_SIZE);
			else
				memset(dmirror_page_mem(mdev, dpage), 0, PAGE_SIZE);
		} else {
			if (!spage)
				continue;	/* a hole stays a hole */
			dpage = alloc_page(GFP_HIGHUSER_MOVABLE);
			if (!dpage)
				continue;
			folio_lock(page_folio(dpage));
			memcpy(page_address(dpage), dmirror_page_mem(mdev, spage), PAGE_SIZE);
		}
		args->dst[i] = migrate_pfn(page_to_pfn(dpage)) |
			       (args->src[i] & MIGRATE_PFN_WRITE);
	}
}

static int dmirror_migrate(struct dmirror_device *mdev, struct vm_area_struct *vma,
			   unsigned long start, unsigned long end, unsigned long flags,
			   struct page *fault_page, unsigned long *moved)
{
	unsigned long n = (end - start) >> PAGE_SHIFT;
	unsigned long *src = kcalloc(n, sizeof(*src), GFP_KERNEL);
	unsigned long *dst = kcalloc(n, sizeof(*dst), GFP_KERNEL);
	struct migrate_vma args = {
		.vma = vma, .src = src, .dst = dst, .start = start, .end = end,
		.pgmap_owner = mdev, .flags = flags, .fault_page = fault_page,
	};
	int ret = -ENOMEM;

	if (!src || !dst)
		goto out;
	ret = migrate_vma_setup(&args);
	if (ret || !args.cpages)
		goto out;
	dmirror_alloc_and_copy(mdev, &args, flags == MIGRATE_VMA_SELECT_SYSTEM);
	migrate_vma_pages(&args);
	for (unsigned long i = 0; i < args.npages; i++)
		if ((args.src[i] & MIGRATE_PFN_MIGRATE) && args.dst[i])
			(*moved)++;
	migrate_vma_finalize(&args);
out:
	kfree(src);
	kfree(dst);
	return ret;
}

/* A CPU touched one of our private pages: bring that page back to RAM. */
static vm_fault_t dmirror_devmem_fault(struct vm_fault *vmf)
{
	struct dmirror_device *mdev = to_dmirror(page_pgmap(vmf->page));
	unsigned long moved = 0;

	if (dmirror_migrate(mdev, vmf->vma, vmf->address, vmf->address + PAGE_SIZE,
			    MIGRATE_VMA_SELECT_DEVICE_PRIVATE, vmf->page, &moved))
		return VM_FAULT_SIGBUS;
	/* not moved (no RAM): the access faults again */
	return 0;
}

static const struct dev_pagemap_ops dmirror_devmem_ops = {
	.page_free = dmirror_page_free,
	.migrate_to_ram = dmirror_devmem_fault,
};

int dmirror_device_create(enum memory_type type, unsigned long npages,
			  struct dmirror_device **out)
{
	struct dmirror_device *mdev;
	void *addr;
	int err;

	if ((type != MEMORY_DEVICE_PRIVATE && type != MEMORY_DEVICE_COHERENT) || !npages)
		return -EINVAL;
	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return -ENOMEM;
	mdev->npages = npages;
	spin_lock_init(&mdev->lock, LOCK_RANK_LEAF);
	mdev->free = kcalloc(npages, sizeof(*mdev->free), GFP_KERNEL);
	if (type == MEMORY_DEVICE_PRIVATE)
		mdev->vram = kzalloc(npages << PAGE_SHIFT, GFP_KERNEL);
	err = -ENOMEM;
	if (!mdev->free || (type == MEMORY_DEVICE_PRIVATE && !mdev->vram))
		goto fail;
	err = request_free_mem_region(npages << PAGE_SHIFT, &mdev->pgmap.range);
	if (err)
		goto fail;
	mdev->pgmap.type = type;
	mdev->pgmap.nr_range = 1;
	mdev->pgmap.ops = &dmirror_devmem_ops;
	mdev->pgmap.owner = mdev;
	addr = memremap_pages(&mdev->pgmap, 0);
	if (IS_ERR(addr)) {
		err = (int)PTR_ERR(addr);
		goto fail;
	}
	mdev->first_pfn = mdev->pgmap.range.start >> PAGE_SHIFT;
	/* lowest pfn on top: handed out in address order */
	for (unsigned long i = 0; i < npages; i++)
		mdev->free[i] = mdev->first_pfn + npages - 1 - i;
	mdev->nr_free = npages;
	*out = mdev;
	return 0;
fail:
	kfree(mdev->vram);
	kfree(mdev->free);
	kfree(mdev);
	return err;
}

unsigned long dmirror_device_pages_in_use(struct dmirror_device *mdev)
{
	unsigned long n;

	spin_lock(&mdev->lock);
	n = mdev->npages - mdev->nr_free;
	spin_unlock(&mdev->lock);
	return n;
}

int dmirror_device_destroy(struct dmirror_device *mdev)
{
	if (dmirror_device_pages_in_use(mdev))
		return -EBUSY;
	dmirror_exclusive_release(mdev);
	memunmap_pages(&mdev->pgmap);
	kfree(mdev->vram);
	kfree(mdev->free);
	kfree(mdev);
	return 0;
}

/* Run @fn on each VMA piece of [addr, addr + npages pages) (Linux's loop). */
static int dmirror_migrate_range(struct dmirror_device *mdev, struct mm_struct *mm,
				 unsigned long addr, unsigned long npages, unsigned long flags,
				 unsigned long *moved)
{
	unsigned long end = addr + (npages << PAGE_SHIFT);
	int ret = 0;

	*moved = 0;
	mmap_read_lock(mm);
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long next;

		if (!vma || vma->vm_start > addr) {
			ret = -EINVAL;
			break;
		}
		next = min(end, vma->vm_end);
		ret = dmirror_migrate(mdev, vma, addr, next, flags, NULL, moved);
		if (ret)
			break;
		addr = next;
	}
	mmap_read_unlock(mm);
	return ret;
}

int dmirror_migrate_to_device(struct dmirror_device *mdev, struct mm_struct *mm,
			      unsigned long addr, unsigned long npages, unsigned long *moved)
{
	return dmirror_migrate_range(mdev, mm, addr, npages, MIGRATE_VMA_SELECT_SYSTEM, moved);
}

int dmirror_migrate_to_system(struct dmirror_device *mdev, struct mm_struct *mm,
			      unsigned long addr, unsigned long npages, unsigned long *moved)
{
	unsigned long flags = mdev->pgmap.type == MEMORY_DEVICE_PRIVATE ?
			      MIGRATE_VMA_SELECT_DEVICE_PRIVATE : MIGRATE_VMA_SELECT_DEVICE_COHERENT;

	return dmirror_migrate_range(mdev, mm, addr, npages, flags, moved);
}

/* ---- the device's view of the CPU page tables: hmm_range_fault() ---------------------- */

struct dmirror_mirror {
	struct mmu_interval_notifier notifier;
	struct mutex lock;	/* the device's use of the pfns; taken by invalidate */
};

static bool dmirror_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct dmirror_mirror *m = container_of(mni, struct dmirror_mirror, notifier);

	if (!mmu_notifier_range_blockable(range))
		return false;
	mutex_lock(&m->lock);
	mmu_interval_set_seq(mni, cur_seq);
	mutex_unlock(&m->lock);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_mirror_ops = {
	.invalidate = dmirror_invalidate,
};

/*
 * hmm_range_fault() the range with @flags and call @use on the result under
 * the mirror lock, so no invalidation (no page freed) runs meanwhile.
 */
static int dmirror_range(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
			 unsigned long npages, unsigned long flags,
			 void (*use)(struct dmirror_device *, unsigned long *, unsigned long, void *),
			 void *arg)
{
	struct dmirror_mirror m;
	unsigned long *pfns = kcalloc(npages, sizeof(*pfns), GFP_KERNEL);
	struct hmm_range range = {
		.notifier = &m.notifier, .start = addr, .end = addr + (npages << PAGE_SHIFT),
		.hmm_pfns = pfns, .default_flags = flags, .dev_private_owner = mdev,
	};
	int ret;

	if (!pfns)
		return -ENOMEM;
	mutex_init(&m.lock, LOCK_RANK_LEAF);
	ret = mmu_interval_notifier_insert(&m.notifier, mm, addr, npages << PAGE_SHIFT,
					   &dmirror_mirror_ops);
	if (ret)
		goto out;
	for (;;) {
		range.notifier_seq = mmu_interval_read_begin(&m.notifier);
		mmap_read_lock(mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			break;
		mutex_lock(&m.lock);
		if (mmu_interval_read_retry(&m.notifier, range.notifier_seq)) {
			mutex_unlock(&m.lock);
			continue;
		}
		use(mdev, pfns, npages, arg);
		mutex_unlock(&m.lock);
		break;
	}
	mmu_interval_notifier_remove(&m.notifier);
out:
	mutex_destroy(&m.lock);
	kfree(pfns);
	return ret;
}

static void dmirror_copy_out(struct dmirror_device *mdev, unsigned long *pfns,
			     unsigned long npages, void *buf)
{
	for (unsigned long i = 0; i < npages; i++)
		memcpy((char *)buf + (i << PAGE_SHIFT),
		       dmirror_any_page_mem(mdev, hmm_pfn_to_page(pfns[i])), PAGE_SIZE);
}

static void dmirror_copy_in(struct dmirror_device *mdev, unsigned long *pfns,
			    unsigned long npages, void *buf)
{
	for (unsigned long i = 0; i < npages; i++)
		memcpy(dmirror_any_page_mem(mdev, hmm_pfn_to_page(pfns[i])),
		       (char *)buf + (i << PAGE_SHIFT), PAGE_SIZE);
}

int dmirror_read(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		 unsigned long npages, void *buf)
{
	return dmirror_range(mdev, mm, addr, npages, HMM_PFN_REQ_FAULT, dmirror_copy_out, buf);
}

int dmirror_write(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		  unsigned long npages, const void *buf)
{
	return dmirror_range(mdev, mm, addr, npages, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
			     dmirror_copy_in, (void *)buf);
}

static void dmirror_perm(struct dmirror_device *mdev, unsigned long *pfns,
			 unsigned long npages, void *arg)
{
	unsigned char *perm = arg;

	for (unsigned long i = 0; i < npages; i++) {
		struct page *page;
		struct dev_pagemap *pgmap;
		unsigned char p;

		if (pfns[i] & HMM_PFN_ERROR) {
			perm[i] = HMM_DMIRROR_PROT_ERROR;
			continue;
		}
		if (!(pfns[i] & HMM_PFN_VALID)) {
			perm[i] = HMM_DMIRROR_PROT_NONE;
			continue;
		}
		page = hmm_pfn_to_page(pfns[i]);
		pgmap = page_pgmap(page);
		if (is_zero_pfn(page_to_pfn(page)))
			p = HMM_DMIRROR_PROT_ZERO;
		else if (pgmap && pgmap->type == MEMORY_DEVICE_PRIVATE)
			p = pgmap->owner == mdev ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL :
						   HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
		else if (pgmap && pgmap->type == MEMORY_DEVICE_COHERENT)
			p = pgmap->owner == mdev ? HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL :
						   HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE;
		else
			p = HMM_DMIRROR_PROT_NONE;
		p |= (pfns[i] & HMM_PFN_WRITE) ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
		perm[i] = p;
	}
}

int dmirror_snapshot(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		     unsigned long npages, unsigned char *perm)
{
	return dmirror_range(mdev, mm, addr, npages, 0, dmirror_perm, perm);
}

/* ---- exclusive access: atomics the bus cannot share with the CPU ------------------- */

static bool dmirror_excl_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct dmirror_exclusive *x = container_of(mni, struct dmirror_exclusive, notifier);
	struct dmirror_device *mdev = container_of(x, struct dmirror_device, excl);
	unsigned long end = x->addr + (x->npages << PAGE_SHIFT);

	/* our own make_device_exclusive(): nothing to drop (Linux's dmirror skips it) */
	if (range->event == MMU_NOTIFY_EXCLUSIVE && range->owner == mdev)
		return true;
	if (!mmu_notifier_range_blockable(range))
		return false;
	mutex_lock(&x->lock);
	mmu_interval_set_seq(mni, cur_seq);
	for (unsigned long a = max(range->start, x->addr); a < min(range->end, end); a += PAGE_SIZE)
		x->pfn[(a - x->addr) >> PAGE_SHIFT] = 0;
	mutex_unlock(&x->lock);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_excl_ops = {
	.invalidate = dmirror_excl_invalidate,
};

int dmirror_exclusive(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		      unsigned long npages, unsigned long *cpages)
{
	struct dmirror_exclusive *x = &mdev->excl;
	int ret = 0;

	*cpages = 0;
	if (x->pfn)
		return -EBUSY;
	if (!npages || (addr & ~PAGE_MASK))
		return -EINVAL;
	x->pfn = kcalloc(npages, sizeof(*x->pfn), GFP_KERNEL);
	if (!x->pfn)
		return -ENOMEM;
	x->addr = addr;
	x->npages = npages;
	mutex_init(&x->lock, LOCK_RANK_LEAF);
	ret = mmu_interval_notifier_insert(&x->notifier, mm, addr, npages << PAGE_SHIFT,
					   &dmirror_excl_ops);
	if (ret) {
		mutex_destroy(&x->lock);
		kfree(x->pfn);
		x->pfn = NULL;
		return ret;
	}
	mmap_read_lock(mm);
	for (unsigned long i = 0; i < npages; i++) {
		struct folio *folio;
		struct page *page = make_device_exclusive(mm, addr + (i << PAGE_SHIFT), mdev, &folio);

		if (IS_ERR(page)) {
			ret = (int)PTR_ERR(page);
			break;
		}
		/* the folio lock keeps the entry in place while the device takes it */
		mutex_lock(&x->lock);
		x->pfn[i] = page_to_pfn(page);
		mutex_unlock(&x->lock);
		folio_unlock(folio);
		folio_put(folio);
		(*cpages)++;
	}
	mmap_read_unlock(mm);
	return ret;
}

unsigned long dmirror_exclusive_held(struct dmirror_device *mdev)
{
	struct dmirror_exclusive *x = &mdev->excl;
	unsigned long n = 0;

	if (!x->pfn)
		return 0;
	mutex_lock(&x->lock);
	for (unsigned long i = 0; i < x->npages; i++)
		n += x->pfn[i] != 0;
	mutex_unlock(&x->lock);
	return n;
}

int dmirror_exclusive_read(struct dmirror_device *mdev, void *buf)
{
	struct dmirror_exclusive *x = &mdev->excl;
	int ret = 0;

	if (!x->pfn)
		return -EINVAL;
	mutex_lock(&x->lock);
	for (unsigned long i = 0; i < x->npages && !ret; i++) {
		if (!x->pfn[i])
			ret = -EBUSY;	/* the CPU took it back */
		else
			memcpy((char *)buf + (i << PAGE_SHIFT), pfn_to_virt(x->pfn[i]), PAGE_SIZE);
	}
	mutex_unlock(&x->lock);
	return ret;
}

void dmirror_exclusive_release(struct dmirror_device *mdev)
{
	struct dmirror_exclusive *x = &mdev->excl;

	if (!x->pfn)
		return;
	mmu_interval_notifier_remove(&x->notifier);
	mutex_destroy(&x->lock);
	kfree(x->pfn);
	x->pfn = NULL;
}
