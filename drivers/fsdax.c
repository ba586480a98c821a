// SPDX-License-Identifier: MIT
/*
 * A filesystem-DAX file on the machine's pmem (ZONE_DEVICE): its pages are the
 * storage itself, mapped straight into user space with no page cache. As in
 * Linux since the ZONE_DEVICE refcount rework, they are ordinary refcounted
 * folios: the file holds one reference per page, each mapping and each pin
 * one more, and when the last goes the page returns to the pmem allocator,
 * not to the buddy allocator.
 *
 * This is why FOLL_LONGTERM refuses fsdax (-EOPNOTSUPP): pinning such a page
 * pins a filesystem block, which truncate or hole-punch would then have to
 * wait for forever (the unmerged layout-lease proposals of 2019 tried to
 * solve that; Linux refuses instead). Short-term pins (DIO to DAX) work.
 */
#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/fs.h>
#include <pinmm/mman.h>
#include <stdlib.h>
#include <string.h>

/* The pmem allocator: one bit per ZONE_DEVICE frame (leaf lock). */
static struct {
	spinlock_t lock;
	unsigned long *used;
	unsigned long start, nr, in_use;
	const struct page *mem_map;	/* which machine the bitmap describes */
} pmem = { .lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF) };

/* The last reference to a pmem page went: give it back (dev_pagemap page_free). */
static void pmem_page_free(struct folio *folio)
{
	unsigned long i = folio_pfn(folio) - pmem.start;
	unsigned long zone_bits = atomic_load(&folio->flags) & (ZONES_MASK << ZONES_PGSHIFT);

	atomic_store(&folio->flags, zone_bits);
	atomic_store(&folio->mapping, NULL);
	atomic_store(&folio->_mapcount, -1);
	spin_lock(&pmem.lock);
	WARN_ON_ONCE(!(pmem.used[i / 64] & (1UL << (i % 64))));
	pmem.used[i / 64] &= ~(1UL << (i % 64));
	pmem.in_use--;
	spin_unlock(&pmem.lock);
}

/* Set the allocator up for the machine that is booted now. */
static bool pmem_ready(void)
{
	struct zone *dev = &pinmm_zones[ZONE_DEVICE];

	if (pmem.used && pmem.mem_map == pinmm_mem_map && pmem.start == dev->zone_start_pfn &&
	    pmem.nr == dev->spanned_pages)
		return true;
	if (!dev->spanned_pages)
		return false;
	free(pmem.used);
	pmem.used = calloc(DIV_ROUND_UP(dev->spanned_pages, 64), sizeof(unsigned long));
	pmem.start = dev->zone_start_pfn;
	pmem.nr = dev->spanned_pages;
	pmem.in_use = 0;
	pmem.mem_map = pinmm_mem_map;
	pinmm_device_folio_free = pmem_page_free;
	return pmem.used != NULL;
}

static struct page *pmem_alloc_page(void)
{
	struct page *page = NULL;

	spin_lock(&pmem.lock);
	for (unsigned long i = 0; i < pmem.nr; i++) {
		if (pmem.used[i / 64] & (1UL << (i % 64)))
			continue;
		pmem.used[i / 64] |= 1UL << (i % 64);
		pmem.in_use++;
		page = pfn_to_page(pmem.start + i);
		break;
	}
	spin_unlock(&pmem.lock);
	if (page) {
		memset(page_address(page), 0, PAGE_SIZE);
		folio_set_count(page_folio(page), 1);	/* the file's reference */
	}
	return page;
}

unsigned long fsdax_pages_in_use(void)
{
	unsigned long n;

	spin_lock(&pmem.lock);
	n = pmem.used ? pmem.in_use : 0;
	spin_unlock(&pmem.lock);
	return n;
}

int fsdax_create(size_t size, struct fsdax_file **out)
{
	struct fsdax_file *f;

	if (!size || !pmem_ready())
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->npages = PAGE_ALIGN(size) >> PAGE_SHIFT;
	f->pages = calloc(f->npages, sizeof(*f->pages));
	f->inode.i_flags = S_DAX;
	f->inode.i_size = size;
	f->file.f_inode = &f->inode;
	f->file.private_data = f;
	for (unsigned long i = 0; f->pages && i < f->npages; i++) {
		f->pages[i] = pmem_alloc_page();
		if (!f->pages[i]) {
			fsdax_destroy(f);
			return -ENOSPC;
		}
	}
	if (!f->pages) {
		free(f);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

void fsdax_destroy(struct fsdax_file *f)
{
	/* pages still mapped or pinned stay allocated until their last put */
	for (unsigned long i = 0; f->pages && i < f->npages; i++)
		if (f->pages[i])
			put_page(f->pages[i]);
	free(f->pages);
	free(f);
}

/* The DAX fault: the page is the block itself, found by offset. */
static vm_fault_t fsdax_fault(struct vm_fault *vmf)
{
	struct fsdax_file *f = vmf->vma->vm_private_data;

	if (vmf->pgoff >= f->npages)
		return VM_FAULT_SIGBUS;
	vmf->page = f->pages[vmf->pgoff];
	folio_get(page_folio(vmf->page));	/* becomes the mapping's reference */
	return 0;
}

static const char *fsdax_vma_name(struct vm_area_struct *vma)
{
	(void)vma;
	return "[fsdax]";
}

static const struct vm_operations_struct fsdax_vm_ops = {
	.fault = fsdax_fault,
	.name = fsdax_vma_name,
};

unsigned long fsdax_mmap(struct fsdax_file *f, size_t len, unsigned long prot,
			 unsigned long flags)
{
	if (len > f->npages << PAGE_SHIFT)
		return (unsigned long)-EINVAL;
	return vm_mmap_driver(len, prot, flags, 0, &fsdax_vm_ops, &f->file, f);
}
