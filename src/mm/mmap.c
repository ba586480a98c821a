// SPDX-License-Identifier: MIT
/*
 * mmap, munmap, mprotect (the VMA side), exit_mmap, and device mappings.
 *
 * A MAP_PRIVATE anonymous mapping is private anon memory (COW across
 * fork). A file mapping holds a reference on its file, gets its vm_ops from
 * the file's ->mmap and sits on the file's i_mmap list; MAP_PRIVATE ones COW
 * page-cache pages into anon copies on write. MAP_SHARED|MAP_ANONYMOUS is
 * a mapping of a fresh shmem file (shmem_zero_setup()), as in Linux.
 *
 * Shared writable mappings of a file that tracks dirty pages (a ->page_mkwrite,
 * or a cache that writes back) start write-protected (vma_wants_writenotify()),
 * so the first store of each page reaches the file system.
 *
 * Two calls go up to src/fs, as Linux's mm does: fput() when a VMA goes,
 * and shmem_zero_setup() for shared anonymous memory (docs/overview.md).
 */
#include "vma.h"

#include <pinmm/hugetlb.h>
#include <pinmm/secretmem.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/writeback.h>

/* ---- protection ------------------------------------------------------------ */

pgprot_t vm_get_page_prot(vm_flags_t vm_flags)
{
	unsigned long prot;

	if (!(vm_flags & VM_ACCESS_FLAGS))
		return PAGE_NONE;
	prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
	/*
	 * x86 has no write-only pages: any access means readable. Private
	 * writable mappings start read-only so the first write faults and
	 * copies (PAGE_COPY); only shared ones are writable in the PTE.
	 */
	if ((vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED))
		prot |= _PAGE_RW;
	if (!(vm_flags & VM_EXEC))
		prot |= _PAGE_NX;
	return (pgprot_t){ prot };
}

/* Does a write to this shared mapping need a fault the file system sees? */
static bool vma_wants_writenotify_flags(const struct vm_area_struct *vma, vm_flags_t flags)
{
	if ((flags & (VM_WRITE | VM_SHARED)) != (VM_WRITE | VM_SHARED))
		return false;
	if (vma->vm_ops && (vma->vm_ops->page_mkwrite || vma->vm_ops->pfn_mkwrite))
		return true;
	/* a cache that writes back must see every folio get dirty */
	return vma->vm_file && mapping_can_writeback(vma->vm_file->f_mapping);
}

/*
 * Write faults wanted for tracking, not by the file: soft-dirty on (clear_refs
 * cleared VM_SOFTDIRTY) or uffd-wp registered. Not dirty tracking: a
 * long-term pin is still allowed (Linux keeps them out of
 * vma_needs_dirty_tracking()).
 */
static bool vma_tracks_writes(vm_flags_t flags)
{
	if ((flags & (VM_WRITE | VM_SHARED)) != (VM_WRITE | VM_SHARED))
		return false;
	return !(flags & VM_SOFTDIRTY) || (flags & VM_UFFD_WP);
}

bool vma_wants_writenotify(struct vm_area_struct *vma, pgprot_t vm_page_prot)
{
	(void)vm_page_prot;
	return vma_wants_writenotify_flags(vma, vma->vm_flags) || vma_tracks_writes(vma->vm_flags);
}

bool vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	return vma_wants_writenotify_flags(vma, vma->vm_flags | VM_WRITE) &&
	       (vma->vm_flags & VM_WRITE);
}

pgprot_t vma_get_page_prot(const struct vm_area_struct *vma, vm_flags_t flags)
{
	/* write-notify: the PTEs of a shared mapping start read-only, like private ones */
	if (vma_wants_writenotify_flags(vma, flags) || vma_tracks_writes(flags))
		flags &= ~VM_SHARED;
	return vm_get_page_prot(flags);
}

void vma_set_page_prot(struct vm_area_struct *vma)
{
	/* rmap walkers read it without mmap_lock (WRITE_ONCE in Linux) */
	__atomic_store_n(&vma->vm_page_prot.pgprot,
			 vma_get_page_prot(vma, vma->vm_flags).pgprot, __ATOMIC_RELAXED);
}

static vm_flags_t calc_vm_prot_bits(unsigned long prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) |
	       ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0);
}

/* ---- finding room ------------------------------------------------------------ */

/*
 * The highest address in [@low, @high) where @len bytes aligned to @align
 * fit between the VMAs, or -ENOMEM. A walk of the list from the top: Linux
 * finds the gap in O(log n) with the maple tree's gap tracking; a walk is
 * enough for the VMA counts of pinmm's scenarios.
 */
static unsigned long unmapped_area_topdown(struct mm_struct *mm, unsigned long len,
					   unsigned long align, unsigned long low,
					   unsigned long high)
{
	struct vm_area_struct *vma = vma_last(mm);
	unsigned long top = high, bottom, cand;

	while (vma && vma->vm_start >= top)
		vma = vma_prev(vma);
	for (;;) {
		bottom = vma ? max(vma->vm_end, low) : low;
		if (top > bottom && top - bottom >= len) {
			cand = ALIGN_DOWN(top - len, align);
			if (cand >= bottom)
				return cand;
		}
		if (!vma || vma->vm_start <= low)
			return -ENOMEM;
		top = vma->vm_start;
		vma = vma_prev(vma);
	}
}

/* A free range of @len, aligned to @align_to when there is such a hole. */
static unsigned long get_unmapped_area_aligned(struct mm_struct *mm, unsigned long align_to,
					       unsigned long addr, unsigned long len)
{
	unsigned long align = PAGE_SIZE, ret;

	if (len > TASK_SIZE - FIRST_USER_ADDRESS)
		return -ENOMEM;
	if (addr) {
		addr = PAGE_ALIGN(addr);
		if (addr >= FIRST_USER_ADDRESS && addr <= TASK_SIZE - len &&
		    !find_vma_intersection(mm, addr, addr + len))
			return addr;
	}
	if (len >= align_to)
		align = align_to;
	for (;;) {
		ret = unmapped_area_topdown(mm, len, align, FIRST_USER_ADDRESS, mm->mmap_base);
		if (IS_ERR_VALUE(ret))
			ret = unmapped_area_topdown(mm, len, align, FIRST_USER_ADDRESS, TASK_SIZE);
		if (!IS_ERR_VALUE(ret) || align == PAGE_SIZE)
			return ret;
		align = PAGE_SIZE;	/* no aligned hole: an unaligned one still works */
	}
}

/*
 * Where a new mapping of @len bytes goes: the hint if it is free, else
 * top-down from mmap_base (then anywhere below TASK_SIZE). Anonymous
 * mappings of 2 MiB or more are PMD-aligned so huge pages can map them.
 */
unsigned long get_unmapped_area(struct mm_struct *mm, bool thp_align,
				unsigned long addr, unsigned long len)
{
	return get_unmapped_area_aligned(mm, thp_align ? PMD_SIZE : PAGE_SIZE, addr, len);
}

/* ---- unmapping ------------------------------------------------------------- */

void remove_vma(struct vm_area_struct *vma)
{
	if (vma->vm_ops && vma->vm_ops->close)
		vma->vm_ops->close(vma);
	if (vma->vm_file)
		fput(vma->vm_file);
	vm_area_free(vma);
}

/*
 * Tear down the VMAs on @detached (already out of the tree, in address
 * order, on their vm_list): their pages, then the page tables that only
 * they used (bounded by @prev and @next, which stay), then the VMAs.
 */
static void unmap_region(struct mm_struct *mm, struct list_head *detached,
			 struct vm_area_struct *prev, struct vm_area_struct *next)
{
	struct vm_area_struct *vma, *tmp;
	unsigned long start, end;

	if (list_empty(detached))
		return;
	start = list_first_entry(detached, struct vm_area_struct, vm_list)->vm_start;
	end = list_last_entry(detached, struct vm_area_struct, vm_list)->vm_end;
	list_for_each_entry(vma, detached, vm_list)
		unmap_vma_range(vma, vma->vm_start, vma->vm_end);
	/* Before the tables go: an rmap walker must not reach them through us. */
	list_for_each_entry(vma, detached, vm_list) {
		unlink_anon_vmas(vma);
		unlink_file_vma(vma);
	}
	free_pgd_range(mm, start, end, prev ? prev->vm_end : FIRST_USER_ADDRESS,
		       next ? next->vm_start : USER_PGTABLES_CEILING);
	list_for_each_entry_safe(vma, tmp, detached, vm_list) {
		list_del_init(&vma->vm_list);
		remove_vma(vma);
	}
}

/**
 * do_munmap() - unmap [@start, @start + @len) of @mm.
 * @mm: the mm.
 * @start: page-aligned start.
 * @len: length, rounded up to pages.
 *
 * VMAs across either end are split first, so only the range goes.
 * Context: mmap_lock held for writing.
 * Return: 0, -EINVAL for a bad range, -ENOMEM if a split failed.
 */
int do_munmap(struct mm_struct *mm, unsigned long start, size_t len)
{
	struct vm_area_struct *vma, *next, *prev;
	unsigned long end;
	LIST_HEAD(detached);
	int err;

	mmap_assert_write_locked(mm);
	if (!IS_ALIGNED(start, PAGE_SIZE) || start > TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (!len)
		return -EINVAL;

	vma = find_vma(mm, start);
	if (!vma || vma->vm_start >= end)
		return 0;
	if (vma->vm_start < start) {
		/* A hole punched in the middle leaves one more VMA than before. */
		if (end < vma->vm_end && mm->map_count >= DEFAULT_MAX_MAP_COUNT)
			return -ENOMEM;
		err = __split_vma(mm, vma, start, 0);
		if (err)
			return err;
		vma = vma_next(vma);
	}
	prev = vma_prev(vma);

	for (next = vma; next && next->vm_start < end; next = vma_next(next)) {
		if (next->vm_end > end) {
			err = __split_vma(mm, next, end, 0);
			if (err)
				return err;
		}
	}
	while (vma && vma->vm_start < end) {
		next = vma_next(vma);
		vma_unlink(mm, vma);
		list_add_tail(&vma->vm_list, &detached);
		mm->total_vm -= vma_pages(vma);
		if (vma->vm_flags & VM_LOCKED)
			mm->locked_vm -= vma_pages(vma);
		vma = next;
	}
	unmap_region(mm, &detached, prev, vma);
	return 0;
}

int vm_munmap(unsigned long start, size_t len)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk ? tsk->mm : NULL;
	int err;

	if (WARN_ON_ONCE(!mm))
		return -EINVAL;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	err = do_munmap(mm, start, len);
	mmap_write_unlock(mm);
	return err;
}

/* ---- mapping --------------------------------------------------------------- */

/*
 * Create the VMA for [@addr, @addr + @len), replacing whatever was there
 * (MAP_FIXED), and merge it with compatible neighbours.
 */
static unsigned long mmap_region(struct mm_struct *mm, struct file *file, unsigned long addr,
				 unsigned long len, vm_flags_t vm_flags, pgoff_t pgoff,
				 const struct vm_operations_struct *ops, void *private_data)
{
	struct address_space *writable = NULL;
	struct vm_area_struct *vma;
	int err;

	struct vm_area_desc desc = {
		.start = addr,
		.end = addr + len,
		.pgoff = pgoff,
		.file = file,
		.vm_flags = vm_flags,
		.vm_ops = ops,
		.private_data = private_data,
	};

	/* the file system looks first, before anything exists (memfd seals) */
	if (file && file->f_op->mmap_prepare) {
		err = file->f_op->mmap_prepare(&desc);
		if (err)
			return (unsigned long)(long)err;
		vm_flags = desc.vm_flags;
		ops = desc.vm_ops;
	}
	/* a shared writable mapping of a write-sealed memfd is refused */
	if (file && (vm_flags & (VM_SHARED | VM_MAYWRITE)) == (VM_SHARED | VM_MAYWRITE)) {
		err = mapping_map_writable(file->f_mapping);
		if (err)
			return err;
		writable = file->f_mapping;
	}
	/* Allocate first: a failure must not have unmapped the old mapping. */
	vma = vm_area_alloc(mm);
	if (!vma) {
		err = -ENOMEM;
		goto out;
	}
	if (find_vma_intersection(mm, addr, addr + len)) {
		err = do_munmap(mm, addr, len);
		if (err)
			goto free_vma;
	}
	if (mm->map_count >= DEFAULT_MAX_MAP_COUNT) {
		err = -ENOMEM;
		goto free_vma;
	}
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	/* a new VMA is all soft-dirty until clear_refs says otherwise */
	vma->vm_flags = vm_flags | VM_SOFTDIRTY;
	vma->vm_pgoff = pgoff;
	vma->vm_ops = ops;
	vma->vm_private_data = desc.private_data;
	if (file) {
		vma->vm_file = get_file(file);
		/* the older hook: the file system's ->mmap sets the operations */
		if (!file->f_op->mmap_prepare) {
			err = file->f_op->mmap(file, vma);
			if (err)
				goto free_vma;
		}
	} else if (vm_flags & VM_SHARED) {
		err = shmem_zero_setup(vma);
		if (err)
			goto free_vma;
	}
	vma_set_page_prot(vma);
	vma_link(mm, vma);
	vma_link_file(vma);
	mm->total_vm += len >> PAGE_SHIFT;
	if (vm_flags & VM_LOCKED)
		mm->locked_vm += len >> PAGE_SHIFT;
	vma = vma_merge_prev(mm, vma);
	vma_merge_next(mm, vma);
	err = 0;
	goto out;

free_vma:
	if (vma->vm_file)
		fput(vma->vm_file);
	vm_area_free(vma);
out:
	/* the VMA holds its own count now (vma_link_file()); drop the check's */
	if (writable)
		mapping_unmap_writable(writable);
	return err ? (unsigned long)(long)err : addr;
}

/*
 * do_mmap() with mmap_lock held for writing. *@populate receives the number
 * of bytes the caller should fault in after dropping the lock.
 */
static unsigned long do_mmap(struct mm_struct *mm, struct file *file, unsigned long addr,
			     unsigned long len, unsigned long prot, unsigned long flags,
			     pgoff_t pgoff, unsigned long *populate)
{
	const struct vm_operations_struct *ops = NULL;
	struct hstate *hs = NULL;	/* a hugetlb mapping's page size */
	void *resv = NULL;
	vm_flags_t vm_flags;
	int err;

	*populate = 0;
	if (!len)
		return -EINVAL;
	if (file && (!file->f_op || (!file->f_op->mmap && !file->f_op->mmap_prepare)))
		return -ENODEV;
	len = PAGE_ALIGN(len);
	if (!len)
		return -ENOMEM;
	if ((flags & MAP_HUGETLB) && file && !is_file_hugepages(file))
		return -EINVAL;	/* MAP_HUGETLB on a file that is not hugetlbfs */
	if ((flags & MAP_HUGETLB) || is_file_hugepages(file)) {
		/* src/mm/hugetlb.c: 2 MiB or 1 GiB pages, whole and aligned */
		err = hugetlb_mmap_check(file, flags, &len, &hs);
		if (err)
			return err;
		if ((flags & MAP_FIXED) && !IS_ALIGNED(addr, huge_page_size(hs)))
			return -EINVAL;
		addr = ALIGN(addr, huge_page_size(hs));
		if (!file && (flags & MAP_TYPE) != MAP_PRIVATE) {
			/* shared anonymous hugetlb: a hugetlbfs file of that size (hugetlb_file_setup) */
			struct file *hf = hugetlb_file_setup("anon_hugepage", len, 0,
							     PAGE_SHIFT + (int)huge_page_order(hs));
			unsigned long ret;

			if (IS_ERR(hf))
				return PTR_ERR(hf);
			ret = do_mmap(mm, hf, addr, len, prot, flags & ~MAP_ANONYMOUS, 0, populate);
			fput(hf);	/* the VMA holds its own reference */
			return ret;
		}
	}
	if (pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (mm->map_count >= DEFAULT_MAX_MAP_COUNT)
		return -ENOMEM;

	vm_flags = calc_vm_prot_bits(prot) | mm->def_flags |
		   VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
	case MAP_SHARED_VALIDATE:
		vm_flags |= VM_SHARED | VM_MAYSHARE;
		if (file) {
			/* writing through the mapping needs a file open for writing */
			if ((prot & PROT_WRITE) && !(file->f_mode & FMODE_WRITE))
				return -EACCES;
			if (!(file->f_mode & FMODE_WRITE))
				vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
			if (!(file->f_mode & FMODE_READ))
				return -EACCES;
		}
		break;
	case MAP_PRIVATE:
		if (file && !(file->f_mode & FMODE_READ))
			return -EACCES;
		break;
	default:
		return -EINVAL;
	}
	if (flags & MAP_LOCKED) {
		/* MAP_LOCKED is held to RLIMIT_MEMLOCK as mlock is */
		if (!mlock_future_ok(mm, VM_LOCKED, len))
			return -EAGAIN;
		vm_flags |= VM_LOCKED;
	}
	if (flags & MAP_NORESERVE)
		vm_flags |= VM_NORESERVE;

	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	if (flags & MAP_FIXED) {
		if (!IS_ALIGNED(addr, PAGE_SIZE))
			return -EINVAL;
		if (len > TASK_SIZE || addr > TASK_SIZE - len)
			return -ENOMEM;
		if (addr < FIRST_USER_ADDRESS)
			return -EPERM;	/* below mmap_min_addr */
		if ((flags & MAP_FIXED_NOREPLACE) && find_vma_intersection(mm, addr, addr + len))
			return -EEXIST;
	} else {
		/* THP-capable memory gets a PMD-aligned place: anon, shmem, memfd */
		if (hs)
			addr = get_unmapped_area_aligned(mm, huge_page_size(hs), addr, len);
		else
			addr = get_unmapped_area(mm, !file || shmem_mapping(file->f_mapping),
						 addr, len);
		if (IS_ERR_VALUE(addr))
			return addr;
	}
	if (!file) {
		/*
		 * Private anon: the offset is the address, so split halves
		 * line up. Shared anon is a new shmem file mapped from 0.
		 */
		pgoff = (vm_flags & VM_SHARED) ? 0 : addr >> PAGE_SHIFT;
	}
	if (hs && !IS_ALIGNED(addr, huge_page_size(hs)))
		return -ENOMEM;	/* no hole aligned to the huge page size */
	if ((flags & MAP_HUGETLB) && !file) {
		vm_flags |= VM_HUGETLB | VM_DONTEXPAND;
		ops = &hugetlb_vm_ops;
		/* mmap fails now, not a fault later, when the pool cannot back it */
		err = hugetlb_reserve_pages(hs, pgoff, len, vm_flags, &resv);
		if (err)
			return err;
	}

	addr = mmap_region(mm, file, addr, len, vm_flags, pgoff, ops, resv);
	if (IS_ERR_VALUE(addr))
		hugetlb_unreserve_map(resv);
	if (!IS_ERR_VALUE(addr) &&
	    ((vm_flags & VM_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE))
		*populate = len;
	return addr;
}

/**
 * mm_populate_locked() - fault in the VMAs of [@start, @end) (Linux's
 * __mm_populate()).
 * @mm: the mm.
 * @start: page-aligned start.
 * @end: page-aligned end.
 * @ignore_errors: carry on past a failure (MAP_POPULATE) or stop (mlock).
 *
 * Private writable memory is faulted for writing, to break COW now; the rest
 * for reading. VM_IO and VM_PFNMAP VMAs are skipped, and so are VMAs locked
 * on fault (Linux's populate_vma_page_range() returns early for them). Every
 * other VMA of the range is faulted in, locked or not: mlock() leaves a
 * hugetlb VMA unlocked but still faults it in. PROT_NONE VMAs are skipped
 * where errors are ignored; otherwise a PROT_NONE VMA is -EFAULT.
 * Context: mmap_lock held for reading.
 * Return: 0 or the first error of populate_range() (or -EFAULT, above).
 */
int mm_populate_locked(struct mm_struct *mm, unsigned long start, unsigned long end,
		       bool ignore_errors)
{
	struct vm_area_struct *vma;
	int err;

	mmap_assert_locked(mm);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end; vma = vma_next(vma)) {
		if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_LOCKONFAULT))
			continue;
		if (!(vma->vm_flags & VM_ACCESS_FLAGS) || vma_is_secretmem(vma)) {
			/*
			 * Linux populates through GUP, which refuses PROT_NONE
			 * memory (populate_vma_page_range() forces no access
			 * there) and secret memory: mlock() locks such a VMA
			 * and fails (-ENOMEM, live 6.18).
			 */
			if (!ignore_errors)
				return -EFAULT;
			continue;
		}
		err = populate_range(vma, max(start, vma->vm_start), min(end, vma->vm_end),
				     (vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE);
		if (err && !ignore_errors)
			return err;
	}
	return 0;
}

unsigned long vm_mmap(struct file *file, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, unsigned long pgoff)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk ? tsk->mm : NULL;
	unsigned long ret, populate;

	if (WARN_ON_ONCE(!mm))
		return -EINVAL;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	ret = do_mmap(mm, file, addr, len, prot, flags, pgoff, &populate);
	mmap_write_unlock(mm);
	if (populate) {
		/* Errors do not undo the mapping: a later touch faults normally. */
		mmap_read_lock(mm);
		mm_populate_locked(mm, ret, ret + populate, true);
		mmap_read_unlock(mm);
	}
	return ret;
}

/* ---- device memory ----------------------------------------------------------- */

static const char *device_vma_name(struct vm_area_struct *vma)
{
	(void)vma;
	return "[device]";
}

/* A device mapping has operations, so it is never taken for anonymous memory. */
static const struct vm_operations_struct device_vm_ops = {
	.name = device_vma_name,
};

unsigned long pinmm_map_device(unsigned long pfn, unsigned long size, unsigned long prot)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk ? tsk->mm : NULL;
	struct vm_area_struct *vma;
	unsigned long addr, len = PAGE_ALIGN(size);
	vm_flags_t vm_flags;
	int err;

	if (WARN_ON_ONCE(!mm))
		return -EINVAL;
	if (!len || len < size)
		return -EINVAL;
	vm_flags = calc_vm_prot_bits(prot) | VM_SHARED | VM_MAYSHARE | VM_MAYREAD | VM_MAYWRITE |
		   VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	addr = get_unmapped_area(mm, false, 0, len);
	if (IS_ERR_VALUE(addr))
		goto out;
	addr = mmap_region(mm, NULL, addr, len, vm_flags, pfn, &device_vm_ops, NULL);
	if (IS_ERR_VALUE(addr))
		goto out;
	vma = vma_lookup(mm, addr);
	err = remap_pfn_range(vma, addr, pfn, len, vma->vm_page_prot);
	if (err) {
		do_munmap(mm, addr, len);
		addr = err;
	}
out:
	mmap_write_unlock(mm);
	return addr;
}

unsigned long vm_mmap_driver(unsigned long len, unsigned long prot, unsigned long flags,
			     unsigned long pgoff, const struct vm_operations_struct *ops,
			     struct file *file, void *private_data)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk ? tsk->mm : NULL;
	bool shared = (flags & MAP_TYPE) == MAP_SHARED;
	struct vm_area_struct *vma;
	unsigned long addr;
	vm_flags_t vm_flags;

	if (WARN_ON_ONCE(!mm || !ops))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len)
		return -EINVAL;
	vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	if (shared)
		vm_flags |= VM_SHARED | VM_MAYSHARE;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	addr = get_unmapped_area(mm, false, 0, len);
	if (!IS_ERR_VALUE(addr))
		addr = mmap_region(mm, NULL, addr, len, vm_flags, pgoff, ops, NULL);
	if (!IS_ERR_VALUE(addr)) {
		vma = vma_lookup(mm, addr);
		if (file) {
			/* the driver's file, referenced and on its i_mmap like any other */
			vma->vm_file = get_file(file);
			vma_link_file(vma);
		}
		vma->vm_private_data = private_data;
		vma_set_page_prot(vma);
		if (ops->open)
			ops->open(vma);
	}
	mmap_write_unlock(mm);
	return addr;
}

/* ---- mprotect ---------------------------------------------------------------- */

static int mprotect_newflags(struct vm_area_struct *vma, vm_flags_t *flags, void *arg)
{
	vm_flags_t newflags = (vma->vm_flags & ~VM_ACCESS_FLAGS) | *(vm_flags_t *)arg;

	/* Every VM_READ/WRITE/EXEC needs its VM_MAY* (four bits higher). */
	if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS)
		return -EACCES;
	*flags = newflags;
	return 0;
}

static int mprotect_apply(struct vm_area_struct *vma, vm_flags_t oldflags, void *arg)
{
	(void)arg;
	change_protection(vma, vma->vm_start, vma->vm_end, vma->vm_flags);
	/*
	 * A locked private mapping made writable: break COW now, as mlock
	 * would; not one locked on fault (Linux's populate_vma_page_range()
	 * leaves VM_LOCKONFAULT alone, the live 6.18 kernel maps nothing).
	 */
	if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED &&
	    !(oldflags & VM_LOCKONFAULT) && (vma->vm_flags & VM_WRITE))
		populate_range(vma, vma->vm_start, vma->vm_end, true);
	return 0;
}

int do_mprotect(unsigned long start, size_t len, unsigned long prot)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk ? tsk->mm : NULL;
	vm_flags_t want;
	struct vma_flags_op op = {
		.newflags = mprotect_newflags,
		.apply = mprotect_apply,
		.arg = &want,
	};
	unsigned long end;
	int err;

	if (WARN_ON_ONCE(!mm))
		return -EINVAL;
	if (!IS_ALIGNED(start, PAGE_SIZE))
		return -EINVAL;
	if (prot & ~(unsigned long)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	want = calc_vm_prot_bits(prot);

	if (mmap_write_lock_killable(mm))
		return -EINTR;
	err = vma_modify_flags_range(mm, start, end, &op);
	mmap_write_unlock(mm);
	return err;
}

/* ---- exit ------------------------------------------------------------------ */

void exit_mmap(struct mm_struct *mm)
{
	struct vm_area_struct *vma, *tmp;

	/* Secondary MMUs drop their view of the mm before the pages go. */
	mmu_notifier_release(mm);

	mmap_write_lock(mm);
	list_for_each_entry(vma, &mm->mmap_list, vm_list)
		unmap_vma_range(vma, vma->vm_start, vma->vm_end);
	list_for_each_entry(vma, &mm->mmap_list, vm_list) {
		unlink_anon_vmas(vma);
		unlink_file_vma(vma);
	}
	if (!list_empty(&mm->mmap_list))
		free_pgd_range(mm, vma_first(mm)->vm_start, vma_last(mm)->vm_end,
			       FIRST_USER_ADDRESS, USER_PGTABLES_CEILING);
	list_for_each_entry_safe(vma, tmp, &mm->mmap_list, vm_list) {
		vma_unlink(mm, vma);
		remove_vma(vma);
	}
	mm->total_vm = 0;
	mm->locked_vm = 0;
	mmap_write_unlock(mm);
	mm_put_huge_zero_folio(mm);
}
