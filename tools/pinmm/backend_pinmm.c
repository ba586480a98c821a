// SPDX-License-Identifier: MIT
/*
 * pinmm run's pinmm backend: each scenario boots its own machine in this
 * process, runs the steps as a task (children are pinmm_fork()ed tasks the
 * thread switches to), and shuts the machine down; a leak at shutdown fails
 * the scenario. The device is what the drivers of drivers/ are: it reads and
 * writes frames through the pages it holds, never through page tables.
 */
#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <pinmm/secretmem.h>
#include <pinmm/ksm.h>
#include <pinmm/drivers.h>
#include <pinmm/fs.h>
#include <pinmm/hugetlb.h>
#include <pinmm/machine.h>
#include <pinmm/memory.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/swap.h>
#include <pinmm/task.h>
#include <pinmm/task_mmu.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum pm_handle_kind { HK_NONE, HK_PIN, HK_GET, HK_IOU, HK_RDMA, HK_ODP, HK_SNAP };

struct pm_handle {
	enum pm_handle_kind kind;
	struct task_struct *owner;
	unsigned long addr, len;	/* the user range it covers */
	struct page **pages;
	long npages;
	struct iou_buffer *iou;
	struct rdma_mr *mr;
	struct odp_mr *odp;
	unsigned char *snap;		/* dio-write: what the disk got */
};

struct pm_run {
	const struct scenario *s;
	struct scn_result *res;
	struct task_struct *main;
	struct task_struct *child[SCN_MAX_NAMES];
	unsigned long addr[SCN_MAX_NAMES];
	bool mapped[SCN_MAX_NAMES];
	struct file *file[SCN_MAX_NAMES];
	struct pm_handle h[SCN_MAX_NAMES];
	unsigned long label_pfn[SCN_MAX_NAMES];
	long acq0, rel0;
	int dio_files;
	unsigned long next_place;	/* scn_place()'s cursor */
};

/* Boot and shutdown times of the last scenarios (run.c prints them). */
double scn_pinmm_boot_ns, scn_pinmm_shutdown_ns;
unsigned long scn_pinmm_boots;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long stat_get(const char *name)
{
	long v = 0;

	pinmm_vmstat_get(name, &v);
	return v;
}

static unsigned long step_addr(struct pm_run *r, const struct scn_step *st, int m)
{
	return r->addr[m] + st->at;
}

/* Fill file @fi with its bytes (the page cache holds them, as after write(2)). */
static int make_file(struct pm_run *r, int fi)
{
	const struct scn_file *sf = &r->s->files[fi];
	struct file *f;
	char *buf;
	loff_t pos = 0;
	ssize_t n;

	if (sf->kind == FK_DISK)
		f = filp_open(sf->name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	else if (sf->kind == FK_SECRET)
		f = memfd_secret_file(0);
	else
		f = memfd_alloc_file(sf->name, sf->kind != FK_MEMFD_HUGETLB ? 0 :
				     MFD_HUGETLB | (sf->gigantic ? MFD_HUGE_1GB : 0));
	if (IS_ERR(f))
		return (int)PTR_ERR(f);
	if (sf->kind == FK_MEMFD_HUGETLB || sf->kind == FK_SECRET) {
		/* no write(2) on hugetlbfs or secretmem: the size alone, zeroes on first touch */
		int err = do_ftruncate(f, (loff_t)sf->size, 0);

		if (err) {
			fput(f);
			return err;
		}
		r->file[fi] = f;
		return 0;
	}
	buf = malloc(sf->size);
	if (!buf) {
		fput(f);
		return -ENOMEM;
	}
	memset(buf, sf->fill, sf->size);
	n = kernel_write(f, buf, sf->size, &pos);
	free(buf);
	if (n != (ssize_t)sf->size) {
		fput(f);
		return n < 0 ? (int)n : -EIO;
	}
	if (sf->kind == FK_DISK && vfs_fsync(f, 0)) {
		fput(f);
		return -EIO;
	}
	r->file[fi] = f;
	return 0;
}

static int do_map(struct pm_run *r, const struct scn_step *st, struct scn_result *res)
{
	const struct scn_map *m = &r->s->maps[st->a];
	unsigned long prot = 0, flags, addr, align;
	struct file *file = NULL;

	if (m->prot & SCN_PROT_READ)
		prot |= PROT_READ;
	if (m->prot & SCN_PROT_WRITE)
		prot |= PROT_WRITE;
	switch (m->kind) {
	case MK_ANON: flags = MAP_PRIVATE | MAP_ANONYMOUS; break;
	case MK_SHARED_ANON: flags = MAP_SHARED | MAP_ANONYMOUS; break;
	case MK_HUGETLB:
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (m->gigantic ? MAP_HUGE_1GB : 0);
		break;
	case MK_PRIVATE_FILE: flags = MAP_PRIVATE; file = r->file[m->file]; break;
	default: flags = MAP_SHARED; file = r->file[m->file]; break;
	}
	/* PMD-aligned from 2M up (THP, hugetlb), a hugetlbfs file at its page size */
	if (m->kind == MK_HUGETLB || (file && is_file_hugepages(file)))
		align = m->gigantic || (file && huge_page_size(hstate_file(file)) > PMD_SIZE) ?
			PUD_SIZE : PMD_SIZE;
	else
		align = m->size >= PMD_SIZE ? PMD_SIZE : PAGE_SIZE;
	/* pinmm's vm_mmap() takes a page offset (do_mmap's pgoff), not bytes */
	addr = vm_mmap(file, scn_place(&r->next_place, ALIGN(m->size, align), align), m->size, prot,
		       flags | MAP_FIXED_NOREPLACE, file ? m->offset >> PAGE_SHIFT : 0);
	if (IS_ERR_VALUE(addr)) {
		scn_check_ret(st, (int)(long)addr, res);
		return 0;
	}
	r->addr[st->a] = addr;
	r->mapped[st->a] = true;
	if (m->thp && do_madvise(current->mm, addr, m->size,
				 m->thp > 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
		scn_fail(res, "EINVAL", "madvise(MADV_%sHUGEPAGE) failed", m->thp > 0 ? "" : "NO");
		return 0;
	}
	scn_check_ret(st, 0, res);
	return 0;
}

/* The frame mapped at @addr (pfn + 1; 0: none), without faulting, as pagemap. */
static unsigned long frame_at(unsigned long addr, unsigned int *order)
{
	unsigned long pfn;
	struct folio *folio;
	uint64_t e;

	/*
	 * /proc/self/pagemap, as the kernel backend reads it: a present entry
	 * counts even where the VMA is PROT_NONE (GUP would refuse it).
	 */
	if (pinmm_pagemap_read(current->mm, addr & PAGE_MASK, 1, &e) || !(e & PM_PRESENT))
		return 0;
	pfn = (unsigned long)(e & PM_PFRAME_MASK);
	if (order) {
		folio = pfn_folio(pfn);
		*order = 0;
		if (folio_try_get(folio)) {
			*order = folio_order(folio);
			folio_put(folio);
		}
	}
	return pfn + 1;	/* the zero page may be pfn 0: 0 means none */
}

/* Pages of [@addr, +@len) whose PTE holds a swap-area entry. */
static unsigned long pages_swapped(unsigned long addr, unsigned long len)
{
	struct mm_struct *mm = current->mm;
	unsigned long n = 0;

	mmap_read_lock(mm);
	for (unsigned long a = addr; a < addr + len; a += PAGE_SIZE) {
		pmd_t *pmd = mm_find_pmd(mm, a);
		spinlock_t *ptl;
		pte_t *pte;

		if (!pmd || pmd_leaf(pmdp_get(pmd)))
			continue;
		pte = pte_offset_map_lock(mm, pmd, a, &ptl);
		if (!pte)
			continue;
		n += is_swapfile_pte(ptep_get(pte));
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mm);
	return n;
}

/* Device access through handle @h: read (@write false) or write @len bytes at @off. */
static int device_rw(struct pm_handle *h, unsigned long off, unsigned char *buf,
		     unsigned long len, bool write)
{
	unsigned long pos = (h->addr & ~PAGE_MASK) + off;

	switch (h->kind) {
	case HK_PIN:
	case HK_GET:
		for (unsigned long done = 0; done < len;) {
			unsigned long pi = (pos + done) >> PAGE_SHIFT;
			unsigned long in = (pos + done) & ~PAGE_MASK;
			unsigned long n = min(len - done, PAGE_SIZE - in);
			char *frame;

			if ((long)pi >= h->npages)
				return -EINVAL;
			frame = (char *)page_address(h->pages[pi]) + in;
			if (write)
				memcpy(frame, buf + done, n);
			else
				memcpy(buf + done, frame, n);
			done += n;
		}
		return 0;
	case HK_IOU:
		if (!write)
			return iou_buffer_copy_out(h->iou, off, buf, len);
		/* READ_FIXED: the same walk as iou_buffer_copy_out(), the other way */
		for (unsigned long done = 0, b = 0, base = 0; done < len;) {
			struct iou_bvec *bv;
			unsigned long in, n;

			while (b < h->iou->nr_bvecs && pos + done >= base + (h->iou->bvec[b].nr << PAGE_SHIFT))
				base += h->iou->bvec[b++].nr << PAGE_SHIFT;
			if (b == h->iou->nr_bvecs)
				return -EINVAL;
			bv = &h->iou->bvec[b];
			in = pos + done - base;
			n = min(len - done, (bv->nr << PAGE_SHIFT) - in);
			memcpy((char *)page_address(folio_page(bv->folio, bv->first)) + in, buf + done, n);
			done += n;
		}
		return 0;
	case HK_RDMA:
		return write ? rdma_dma_write(h->mr, off, buf, len) : rdma_dma_read(h->mr, off, buf, len);
	case HK_ODP:
		return write ? odp_dma_write(h->odp, off, buf, len) : odp_dma_read(h->odp, off, buf, len);
	case HK_SNAP:
		if (write)
			return -EINVAL;
		memcpy(buf, h->snap + off, len);
		return 0;
	default:
		return -EINVAL;
	}
}

static void release(struct pm_handle *h)
{
	struct task_struct *cur = current;

	switch (h->kind) {
	case HK_PIN:
		unpin_user_pages(h->pages, (unsigned long)h->npages);
		break;
	case HK_GET:
		for (long i = 0; i < h->npages; i++)
			put_page(h->pages[i]);
		break;
	case HK_IOU:
		iou_unregister_buffer(h->iou);
		break;
	case HK_RDMA:
		rdma_dereg_mr(h->mr);
		break;
	case HK_ODP:
		if (cur != h->owner)
			pinmm_task_attach(h->owner);
		odp_dereg_mr(h->odp);
		if (cur != h->owner)
			pinmm_task_attach(cur);
		break;
	default:
		break;
	}
	free(h->pages);
	free(h->snap);
	memset(h, 0, sizeof(*h));
}

static void run_steps(struct pm_run *r, int first, int nr);

static int take(struct pm_run *r, const struct scn_step *st, struct scn_result *res)
{
	struct pm_handle *h = &r->h[st->a];
	unsigned long len = scn_len(r->s, st, st->b);
	unsigned long addr = step_addr(r, st, st->b);
	long npages = (long)((PAGE_ALIGN(addr + len) - (addr & PAGE_MASK)) >> PAGE_SHIFT), got;
	unsigned int flags;
	int err = 0;

	if (h->kind != HK_NONE) {
		scn_fail(res, "busy", "handle %s is held: unpin it first", r->s->handles[st->a]);
		return 0;
	}
	h->owner = current;
	h->addr = addr;
	h->len = len;
	switch (st->op) {
	case SK_PIN:
	case SK_GET:
		h->pages = calloc((size_t)npages, sizeof(*h->pages));
		if (!h->pages)
			return -ENOMEM;
		if (st->op == SK_GET) {
			got = get_user_pages_fast(addr, (int)npages, 0, h->pages);
			h->kind = HK_GET;
		} else {
			flags = (st->num & PF_WRITE ? FOLL_WRITE : 0) |
				(st->num & PF_LONGTERM ? FOLL_LONGTERM : 0);
			if (st->num & PF_FAST) {
				got = pin_user_pages_fast(addr, (int)npages, flags, h->pages);
			} else {
				mmap_read_lock(current->mm);
				got = pin_user_pages(addr, (unsigned long)npages, flags, h->pages);
				mmap_read_unlock(current->mm);
			}
			h->kind = HK_PIN;
		}
		if (got > 0 && got < npages) {
			/* all or nothing, as a registration: give the partial pins back */
			h->npages = got;
			release(h);
			got = -EFAULT;
		}
		if (got <= 0) {
			free(h->pages);
			memset(h, 0, sizeof(*h));
			err = got ? (int)got : -EFAULT;
		} else {
			h->npages = got;
		}
		break;
	case SK_REGISTER:
		err = iou_register_buffer(addr, len, &h->iou);
		if (!err)
			h->kind = HK_IOU;
		break;
	case SK_RDMA:
		err = rdma_reg_mr(addr, len, RDMA_ACCESS_LOCAL_WRITE | RDMA_ACCESS_REMOTE_WRITE,
				  &h->mr);
		if (!err)
			h->kind = HK_RDMA;
		break;
	case SK_ODP:
		err = odp_reg_mr(current->mm, addr, len, &h->odp);
		if (!err)
			h->kind = HK_ODP;
		break;
	default:
		break;
	}
	if (err)
		memset(h, 0, sizeof(*h));
	scn_check_ret(st, err, res);
	return 0;
}

/* An O_DIRECT transfer between a disk file and the range (the real DIO path). */
static int dio(struct pm_run *r, const struct scn_step *st, struct scn_result *res)
{
	bool to_mem = st->op == SK_DIO_READ;
	int m = to_mem ? st->a : st->b;
	unsigned long len = scn_len(r->s, st, m), addr = step_addr(r, st, m);
	size_t flen = PAGE_ALIGN(len);
	char name[32], *buf = malloc(flen);
	struct file *f, *fd;
	loff_t pos = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	snprintf(name, sizeof(name), "dio-%d", r->dio_files++);
	memset(buf, to_mem ? (int)st->num : 0, flen);
	f = filp_open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (IS_ERR(f)) {
		free(buf);
		return (int)PTR_ERR(f);
	}
	n = kernel_write(f, buf, flen, &pos);
	if (n != (ssize_t)flen || vfs_fsync(f, 0)) {
		fput(f);
		free(buf);
		return -EIO;
	}
	fd = filp_open(name, O_RDWR | O_DIRECT, 0);
	if (IS_ERR(fd)) {
		fput(f);
		free(buf);
		return (int)PTR_ERR(fd);
	}
	pos = 0;
	if (to_mem)
		n = vfs_read(fd, (char __user *)addr, len, &pos);
	else
		n = vfs_write(fd, (const char __user *)addr, len, &pos);
	fput(fd);
	if (n >= 0 && n != (ssize_t)len)
		n = -EIO;
	if (scn_check_ret(st, n < 0 ? (int)n : 0, res) && !to_mem) {
		struct pm_handle *h = &r->h[st->a];

		release(h);
		pos = 0;
		if (kernel_read(f, buf, len, &pos) != (ssize_t)len) {
			scn_fail(res, "EIO", "reading back what the disk got failed");
		} else {
			h->kind = HK_SNAP;
			h->owner = current;
			h->addr = addr;
			h->len = len;
			h->snap = (unsigned char *)buf;
			buf = NULL;
		}
	}
	fput(f);
	free(buf);
	return 0;
}

static int exec(struct pm_run *r, const struct scn_step *st, struct scn_result *res)
{
	const struct scenario *s = r->s;
	unsigned char *buf;
	unsigned long len, addr;
	int m = -1, err;

	/* steps on a mapping that could not be made are skipped with it */
	m = scn_step_mapping(st);
	if (m >= 0) {
		len = scn_len(s, st, m);
		addr = step_addr(r, st, m);
	} else {
		len = addr = 0;
	}
	switch (st->op) {
	case SK_FILE:
		scn_check_ret(st, make_file(r, st->a), res);
		return 0;
	case SK_MAP:
		return do_map(r, st, res);
	case SK_POPULATE:
		scn_check_ret(st, do_madvise(current->mm, addr, len,
					     st->num ? MADV_POPULATE_WRITE : MADV_POPULATE_READ), res);
		return 0;
	case SK_WRITE:
	case SK_FORCE_WRITE:
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		memset(buf, (int)st->num, len);
		if (st->op == SK_WRITE) {
			err = copy_to_user((void __user *)addr, buf, len) ? -EFAULT : 0;
		} else {
			/* /proc/self/mem: nothing written is -EIO, part of it a short count */
			int n = access_process_vm(current, addr, buf, (int)len, FOLL_FORCE | FOLL_WRITE);

			err = n == (int)len ? 0 : n <= 0 ? -EIO : -EFAULT;
		}
		free(buf);
		scn_check_ret(st, err, res);
		return 0;
	case SK_MPROTECT: {
		unsigned long prot = (st->num & SCN_PROT_READ ? PROT_READ : 0) |
				     (st->num & SCN_PROT_WRITE ? PROT_WRITE : 0);

		scn_check_ret(st, do_mprotect(addr, len, prot), res);
		return 0;
	}
	case SK_MUNMAP:
		scn_check_ret(st, vm_munmap(addr, len), res);
		return 0;
	case SK_MLOCK:
		scn_check_ret(st, do_mlock(addr, len, st->num ? VM_LOCKONFAULT : 0), res);
		return 0;
	case SK_MUNLOCK:
		scn_check_ret(st, do_munlock(addr, len), res);
		return 0;
	case SK_MREMAP: {
		/* as cow.c: a PROT_NONE place to go, then MREMAP_MAYMOVE|MREMAP_FIXED onto it */
		unsigned long to = vm_mmap(NULL, scn_place(&r->next_place, len, PAGE_SIZE), len, PROT_NONE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);

		if (IS_ERR_VALUE(to)) {
			scn_check_ret(st, (int)(long)to, res);
			return 0;
		}
		to = vm_mremap(addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (!IS_ERR_VALUE(to)) {
			r->addr[st->b] = to;
			r->mapped[st->b] = true;
		}
		scn_check_ret(st, IS_ERR_VALUE(to) ? (int)(long)to : 0, res);
		return 0;
	}
	case SK_MADVISE: {
		static const int adv[] = {
			[ADV_DONTNEED] = MADV_DONTNEED, [ADV_HUGEPAGE] = MADV_HUGEPAGE,
			[ADV_NOHUGEPAGE] = MADV_NOHUGEPAGE, [ADV_DONTFORK] = MADV_DONTFORK,
			[ADV_DOFORK] = MADV_DOFORK, [ADV_POPULATE_READ] = MADV_POPULATE_READ,
			[ADV_POPULATE_WRITE] = MADV_POPULATE_WRITE,
			[ADV_COLLAPSE] = MADV_COLLAPSE, [ADV_COLD] = MADV_COLD,
			[ADV_PAGEOUT] = MADV_PAGEOUT,
			[ADV_MERGEABLE] = MADV_MERGEABLE,
			[ADV_UNMERGEABLE] = MADV_UNMERGEABLE,
			[ADV_FREE] = MADV_FREE, [ADV_REMOVE] = MADV_REMOVE,
			[ADV_WILLNEED] = MADV_WILLNEED, [ADV_NORMAL] = MADV_NORMAL,
			[ADV_RANDOM] = MADV_RANDOM, [ADV_SEQUENTIAL] = MADV_SEQUENTIAL,
			[ADV_GUARD_INSTALL] = MADV_GUARD_INSTALL,
			[ADV_GUARD_REMOVE] = MADV_GUARD_REMOVE,
			[ADV_DONTNEED_LOCKED] = MADV_DONTNEED_LOCKED,
		};

		err = do_madvise(current->mm, addr, len, adv[st->num]);
		/* MADV_COLLAPSE's -EAGAIN is retried, as on the kernel backend */
		for (int tries = 1; err == -EAGAIN && st->num == ADV_COLLAPSE &&
		     tries < SCN_COLLAPSE_TRIES; tries++)
			err = do_madvise(current->mm, addr, len, adv[st->num]);
		scn_check_ret(st, err, res);
		return 0;
	}
	case SK_FORK:
		if (r->child[st->a]) {
			scn_fail(res, "busy", "child %s is alive", s->children[st->a]);
			return 0;
		}
		err = pinmm_fork(r->main, s->children[st->a], &r->child[st->a]);
		if (err)
			r->child[st->a] = NULL;
		if (scn_check_ret(st, err, res) && st->b >= 0) {
			pinmm_task_attach(r->child[st->a]);
			run_steps(r, s->blocks[st->b].first, s->blocks[st->b].nr);
			pinmm_task_attach(r->main);
		}
		return 0;
	case SK_IN:
		if (!r->child[st->a]) {
			scn_fail(res, "no child", "child %s is not alive", s->children[st->a]);
			return 0;
		}
		scn_pass(res, "ok");
		pinmm_task_attach(r->child[st->a]);
		run_steps(r, s->blocks[st->b].first, s->blocks[st->b].nr);
		pinmm_task_attach(r->main);
		return 0;
	case SK_EXIT:
		if (!r->child[st->a]) {
			scn_fail(res, "no child", "child %s is not alive", s->children[st->a]);
			return 0;
		}
		for (int i = 0; i < s->nr_handles; i++)
			if (r->h[i].kind != HK_NONE && r->h[i].owner == r->child[st->a] &&
			    r->h[i].kind != HK_SNAP)
				release(&r->h[i]);
		pinmm_task_exit(r->child[st->a]);
		pinmm_task_attach(r->main);
		r->child[st->a] = NULL;
		scn_pass(res, "ok");
		return 0;
	case SK_PIN: case SK_GET: case SK_REGISTER: case SK_RDMA: case SK_ODP:
		return take(r, st, res);
	case SK_UNPIN:
		if (r->h[st->a].kind == HK_NONE) {
			scn_fail(res, "not held", "handle %s is not held", s->handles[st->a]);
			return 0;
		}
		release(&r->h[st->a]);
		scn_check_ret(st, 0, res);
		return 0;
	case SK_DEVICE_WRITE:
	case SK_EXPECT_DEVICE: {
		struct pm_handle *h = &r->h[st->a];

		if (h->kind == HK_NONE) {
			scn_fail(res, "not held", "handle %s is not held", s->handles[st->a]);
			return 0;
		}
		len = st->len ? st->len : (st->at < h->len ? h->len - st->at : 0);
		if (!len || st->at + len > h->len) {
			scn_fail(res, "EINVAL", "range outside handle %s", s->handles[st->a]);
			return 0;
		}
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		if (st->op == SK_DEVICE_WRITE) {
			memset(buf, (int)st->num, len);
			scn_check_ret(st, device_rw(h, st->at, buf, len, true), res);
		} else if ((err = device_rw(h, st->at, buf, len, false))) {
			scn_fail(res, scn_errno_name(-err), "the device could not read");
		} else {
			scn_check_bytes(st, buf, len, res);
		}
		free(buf);
		return 0;
	}
	case SK_DIO_READ:
	case SK_DIO_WRITE:
		return dio(r, st, res);
	case SK_MARK:
		r->label_pfn[st->a] = frame_at(addr, NULL);
		if (!r->label_pfn[st->a])
			scn_fail(res, "none", "nothing is mapped at %s+%lu", s->maps[m].name, st->at);
		else
			scn_pass(res, "ok");
		return 0;
	case SK_KSM_MERGE:
		/* a first pass records checksums, the second merges (src/mm/ksm.c) */
		pinmm_ksm_scan_full(2);
		scn_pass(res, "ok");
		return 0;
	case SK_COUNTERS:
		r->acq0 = stat_get("nr_foll_pin_acquired");
		r->rel0 = stat_get("nr_foll_pin_released");
		scn_pass(res, "ok");
		return 0;
	case SK_EXPECT_DATA:
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		if (copy_from_user(buf, (const void __user *)addr, len))
			scn_fail(res, "EFAULT", "the CPU read faulted");
		else
			scn_check_bytes(st, buf, len, res);
		free(buf);
		return 0;
	case SK_EXPECT_FRAME: {
		unsigned long pfn = frame_at(addr, NULL);
		bool same = pfn && pfn == r->label_pfn[st->a];

		if (!pfn)
			scn_fail(res, "none", "nothing mapped");
		else if (same == (st->num == 1))
			scn_pass(res, "%s", same ? "same" : "new");
		else
			scn_fail(res, same ? "same" : "new", "expected a %s frame",
				 st->num ? "same" : "new");
		return 0;
	}
	case SK_EXPECT_ACQUIRED:
	case SK_EXPECT_RELEASED: {
		long d = st->op == SK_EXPECT_ACQUIRED ? stat_get("nr_foll_pin_acquired") - r->acq0
						      : stat_get("nr_foll_pin_released") - r->rel0;

		char obs[24];

		snprintf(obs, sizeof(obs), "%ld", d);
		if (d == st->num)
			scn_pass(res, "%s", obs);
		else
			scn_fail(res, obs, "expected %ld", st->num);
		return 0;
	}
	case SK_EXPECT_VMPIN:
	case SK_EXPECT_VMLCK: {
		long kb = st->op == SK_EXPECT_VMPIN ? (long)atomic64_read(&current->mm->pinned_vm) :
			  (long)READ_ONCE(current->mm->locked_vm);
		char obs[24];

		kb *= (long)(PAGE_SIZE / 1024);

		snprintf(obs, sizeof(obs), "%ldK", kb);
		if (kb == st->num)
			scn_pass(res, "%s", obs);
		else
			scn_fail(res, obs, "expected %ldK", st->num);
		return 0;
	}
	case SK_EXPECT_SWAPPED: {
		unsigned long n = pages_swapped(addr, len), all = len >> PAGE_SHIFT;
		bool want = st->num == 1;

		if (want ? n == all : n == 0)
			scn_pass(res, "%s", want ? "yes" : "no");
		else
			scn_fail(res, n == all ? "yes" : n ? "part" : "no", "%lu of %lu pages swapped",
				 n, all);
		return 0;
	}
	case SK_EXPECT_THP: {
		unsigned int order = 0;
		bool thp;

		if (!frame_at(addr, &order)) {
			scn_fail(res, "none", "nothing mapped");
			return 0;
		}
		thp = order == PMD_SHIFT - PAGE_SHIFT;
		if (thp == (st->num == 1))
			scn_pass(res, "%s", thp ? "yes" : "no");
		else
			scn_fail(res, thp ? "yes" : "no", "folio order %u", order);
		return 0;
	}
	case SK_EXPECT_KSM: {
		unsigned long pfn = frame_at(addr, NULL);
		bool ksm = pfn && folio_test_ksm(pfn_folio(pfn - 1));

		if (!pfn)
			scn_fail(res, "none", "nothing mapped");
		else if (ksm == (st->num == 1))
			scn_pass(res, "%s", ksm ? "yes" : "no");
		else
			scn_fail(res, ksm ? "yes" : "no", "PAGE_MAPPING_KSM of the folio");
		return 0;
	}
	default:
		scn_fail(res, "?", "step not handled");
		return 0;
	}
}

static void run_steps(struct pm_run *r, int first, int nr)
{
	for (int i = first; i < first + nr; i++) {
		int err = exec(r, &r->s->steps[i], &r->res[i]);

		if (err)
			scn_fail(&r->res[i], scn_errno_name(-err), "the backend ran out of memory");
	}
}

static int pm_run(const struct scenario *s, struct scn_result *res, char *err, size_t errlen)
{
	unsigned long gig = scn_gigantic_pages(s);
	struct pinmm_config cfg;
	struct pm_run *r = calloc(1, sizeof(*r));
	double t0;
	long got;
	int e;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pinmm_config_default(&cfg);
	cfg.mem_bytes = s->mem;
	if (gig) {
		/*
		 * 1 GiB pages come from 1 GiB aligned ranges of ZONE_NORMAL that
		 * alloc_contig_range() can empty: the scenario's memory in the
		 * first GiB, one more GiB per page (and one more when ZONE_MOVABLE
		 * or CMA sit at the end of memory).
		 */
		cfg.mem_bytes = ALIGN(s->mem, 1UL << 30) + (gig + ((s->movable || s->cma) ? 1 : 0)) *
								 (1UL << 30);
	}
	cfg.movable_bytes = s->movable;
	cfg.cma_bytes = s->cma;
	cfg.pmem_bytes = 0;
	cfg.nr_hugepages = scn_hugetlb_pages(s);
	t0 = now_ns();
	e = pinmm_boot(&cfg);
	scn_pinmm_boot_ns += now_ns() - t0;
	if (e) {
		snprintf(err, errlen, "%s: pinmm_boot: %s", s->path, strerror(-e));
		free(r);
		return e;
	}
	scn_pinmm_boots++;
	if (gig && (got = pinmm_hugepages_set_nr(1UL << 30, gig)) != (long)gig) {
		snprintf(err, errlen, "%s: the 1 GiB pool reached %ld of %lu pages", s->path, got, gig);
		pinmm_shutdown();
		free(r);
		return -ENOMEM;
	}
	if (s->swap && (e = pinmm_swapon(NULL, s->swap)) < 0) {
		snprintf(err, errlen, "%s: swapon: %s", s->path, strerror(-e));
		pinmm_shutdown();
		free(r);
		return e;
	}
	r->s = s;
	r->res = res;
	r->main = pinmm_task_create("scenario");
	pinmm_task_attach(r->main);
	r->acq0 = stat_get("nr_foll_pin_acquired");
	r->rel0 = stat_get("nr_foll_pin_released");
	run_steps(r, 0, s->main_nr);
	/* tear down: pins, children, the task, files */
	for (int i = 0; i < s->nr_handles; i++)
		release(&r->h[i]);
	for (int i = 0; i < s->nr_children; i++)
		if (r->child[i])
			pinmm_task_exit(r->child[i]);
	pinmm_task_attach(r->main);
	pinmm_task_detach();
	pinmm_task_exit(r->main);
	for (int i = 0; i < s->nr_files; i++)
		if (r->file[i])
			fput(r->file[i]);
	t0 = now_ns();
	e = pinmm_shutdown();
	scn_pinmm_shutdown_ns += now_ns() - t0;
	free(r);
	if (e) {
		snprintf(err, errlen, "%s: pinmm_shutdown found leaks (above)", s->path);
		return -EUCLEAN;
	}
	return 0;
}

static const char *pm_unavailable(void)
{
	return NULL;
}

const struct scn_backend scn_backend_pinmm = {
	.name = "pinmm",
	.run = pm_run,
	.unavailable = pm_unavailable,
};
