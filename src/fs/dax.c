// SPDX-License-Identifier: MIT
/*
 * Filesystem DAX on the machine's pmem (ZONE_DEVICE) (Linux: fs/dax.c, and
 * the pmem driver's dev_pagemap). A DAX file has no page cache: its pages
 * are the storage itself, mapped straight into user space. As in Linux
 * since the ZONE_DEVICE refcount rework, they are ordinary refcounted
 * folios: the file holds one reference per page, each mapping and each pin
 * one more, and when the last goes the page returns to the pmem allocator,
 * not to the buddy allocator.
 *
 * This is why FOLL_LONGTERM refuses fsdax (-EOPNOTSUPP, check_vma_flags()):
 * pinning such a page pins a filesystem block, which truncate or hole-punch
 * would then have to wait for forever (the unmerged layout-lease proposals
 * of 2019 tried to solve that; Linux refuses instead). Short-term pins (DIO
 * to DAX) work.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pinmm/slab.h>

struct dax_inode {
	unsigned long npages;		/* (c) */
	struct page **pages;		/* (c) the blocks: one file reference each */
	struct inode vfs_inode;
};

static inline struct dax_inode *DAX_I(const struct inode *inode)
{
	return container_of(inode, struct dax_inode, vfs_inode);
}

static struct super_block *dax_sb;

/* ---- the pmem allocator: one bit per ZONE_DEVICE frame (leaf lock) ------------------- */

static struct {
	spinlock_t lock;
	unsigned long *used;
	unsigned long start, nr, in_use;
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

unsigned long dax_pages_in_use(void)
{
	unsigned long n;

	spin_lock(&pmem.lock);
	n = pmem.used ? pmem.in_use : 0;
	spin_unlock(&pmem.lock);
	return n;
}

/* ---- DAX files ----------------------------------------------------------------------------- */

/* The DAX fault: the page is the block itself, found by offset. */
static vm_fault_t dax_fault(struct vm_fault *vmf)
{
	struct dax_inode *di = DAX_I(file_inode(vmf->vma->vm_file));

	if (vmf->pgoff >= di->npages)
		return VM_FAULT_SIGBUS;
	vmf->page = di->pages[vmf->pgoff];
	folio_get(page_folio(vmf->page));	/* becomes the mapping's reference */
	return 0;
}

static const char *dax_vma_name(struct vm_area_struct *vma)
{
	(void)vma;
	return "[fsdax]";
}

static const struct vm_operations_struct dax_vm_ops = {
	.fault = dax_fault,
	.name = dax_vma_name,
};

static int dax_mmap_prepare(struct vm_area_desc *desc)
{
	desc->vm_ops = &dax_vm_ops;
	return 0;
}

static const struct file_operations dax_fops = {
	.mmap_prepare = dax_mmap_prepare,
};

static struct inode *dax_alloc_inode(struct super_block *sb)
{
	struct dax_inode *di = kzalloc(sizeof(*di), GFP_KERNEL);

	(void)sb;
	return di ? &di->vfs_inode : NULL;
}

static void dax_free_inode(struct inode *inode)
{
	kfree(DAX_I(inode)->pages);
	kfree(DAX_I(inode));
}

/* The file lets go of its blocks; mapped or pinned ones return at their last put. */
static void dax_evict_inode(struct inode *inode)
{
	struct dax_inode *di = DAX_I(inode);

	for (unsigned long i = 0; di->pages && i < di->npages; i++)
		if (di->pages[i])
			put_page(di->pages[i]);
}

static const struct super_operations dax_sops = {
	.alloc_inode = dax_alloc_inode,
	.free_inode = dax_free_inode,
	.evict_inode = dax_evict_inode,
};

struct file *dax_file_create(size_t size, struct page ***pages, unsigned long *npages)
{
	struct dax_inode *di;
	struct inode *inode;
	struct file *file;

	if (!size || !dax_sb)
		return ERR_PTR(-EINVAL);
	inode = dax_alloc_inode(dax_sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	di = DAX_I(inode);
	di->npages = PAGE_ALIGN(size) >> PAGE_SHIFT;
	di->pages = kcalloc(di->npages, sizeof(*di->pages), GFP_KERNEL);
	snprintf(inode->i_name, sizeof(inode->i_name), "dax");
	atomic_init(&inode->i_size, (long long)size);
	inode_init(inode, dax_sb, S_IFREG | 0600, NULL, &dax_fops, NULL);
	inode->i_flags = S_DAX;
	inode->i_nlink = 0;
	for (unsigned long i = 0; di->pages && i < di->npages; i++) {
		di->pages[i] = pmem_alloc_page();
		if (!di->pages[i]) {
			iput(inode);
			return ERR_PTR(-ENOSPC);
		}
	}
	if (!di->pages) {
		iput(inode);
		return ERR_PTR(-ENOMEM);
	}
	file = alloc_file(inode, O_RDWR);
	if (IS_ERR(file)) {
		iput(inode);
		return file;
	}
	*pages = di->pages;
	*npages = di->npages;
	return file;
}

int dax_init(void)
{
	struct zone *dev = &pinmm_zones[ZONE_DEVICE];
	/* ZONE_DEVICE starts with the pmem; the device-memory window follows it */
	unsigned long nr = dev->spanned_pages - pinmm_devmem_pages;

	dax_sb = NULL;
	kfree(pmem.used);
	pmem.used = NULL;
	pmem.in_use = 0;
	if (!nr)
		return 0;	/* a machine without pmem: no DAX files */
	pmem.used = kcalloc(DIV_ROUND_UP(nr, 64), sizeof(unsigned long), GFP_KERNEL);
	if (!pmem.used)
		return -ENOMEM;
	pmem.start = dev->zone_start_pfn;
	pmem.nr = nr;
	pinmm_device_folio_free = pmem_page_free;
	dax_sb = alloc_super("dax");
	if (!dax_sb)
		return -ENOMEM;
	dax_sb->s_op = &dax_sops;
	return 0;
}

unsigned long dax_exit(void)
{
	unsigned long left = 0;

	if (dax_sb)
		left = kill_super(dax_sb);
	dax_sb = NULL;
	return left;
}
