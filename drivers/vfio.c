// SPDX-License-Identifier: MIT
/*
 * Case 2, remote: VFIO type1 pins a process's memory for a device from a
 * context that is not that process, long-term. The 2019 review thread found
 * VFIO unable to combine FOLL_LONGTERM with the remote call; today it can,
 * and this is what it looks like.
 */
#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/mman.h>

long vfio_pin_pages_remote(struct mm_struct *mm, unsigned long vaddr, unsigned long npages,
			   bool write, struct page **pages)
{
	unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	unsigned long done = 0;

	while (done < npages) {
		int locked = 1;
		long got;

		if (mmap_read_lock_killable(mm))
			break;
		got = pin_user_pages_remote(mm, vaddr + (done << PAGE_SHIFT), npages - done, flags,
					    pages + done, &locked);
		/* GUP may have dropped the lock to wait for a fault: locked says so */
		if (locked)
			mmap_read_unlock(mm);
		if (got <= 0) {
			unpin_user_pages(pages, done);
			return got < 0 ? got : -EFAULT;
		}
		done += (unsigned long)got;
	}
	if (done < npages) {
		unpin_user_pages(pages, done);
		return -EINTR;
	}
	/* type1 charges locked_vm, not pinned_vm (the inconsistency Linux has) */
	mmap_write_lock(mm);
	mm->locked_vm += npages;
	mmap_write_unlock(mm);
	return (long)npages;
}

void vfio_unpin_pages_remote(struct mm_struct *mm, struct page **pages, unsigned long npages,
			     bool dirty)
{
	unpin_user_pages_dirty_lock(pages, npages, dirty);
	mmap_write_lock(mm);
	mm->locked_vm -= npages;
	mmap_write_unlock(mm);
}
