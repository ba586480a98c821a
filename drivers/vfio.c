// SPDX-License-Identifier: MIT
/*
 * Case 2, remote: VFIO type1 pins a guest's memory for the IOMMU long-term,
 * on the mm it holds a reference to (drivers/vfio/vfio_iommu_type1.c):
 * vaddr_get_pfns() pins under that mm's mmap_lock with a @locked word, and
 * vfio_lock_acct() charges mm->locked_vm (not pinned_vm: the inconsistency
 * Linux has) with __account_locked_vm() under the mmap_lock held for writing.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched.h>
#include <pinmm/drivers.h>

/* Pin what it can of [vaddr, +npages); GUP may drop the lock (then locked = 0). */
static long vaddr_get_pfns(struct mm_struct *mm, unsigned long vaddr, unsigned long npages,
			   bool write, struct page **pages)
{
	unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	int locked = 1;
	long ret;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ret = pin_user_pages_remote(mm, vaddr, npages, flags, pages, &locked);
	if (locked)
		mmap_read_unlock(mm);
	return ret;
}

/* Charge (@npage > 0) or uncharge @mm's locked_vm; the limit is current's. */
static int vfio_lock_acct(struct mm_struct *mm, long npage, bool lock_cap)
{
	int ret;

	if (!npage)
		return 0;
	ret = mmap_write_lock_killable(mm);
	if (ret)
		return ret;
	ret = __account_locked_vm(mm, npage > 0 ? npage : -npage, npage > 0, current, lock_cap);
	mmap_write_unlock(mm);
	return ret;
}

long vfio_pin_pages_remote(struct mm_struct *mm, unsigned long vaddr, unsigned long npages,
			   bool write, struct page **pages)
{
	unsigned long done = 0;
	long ret;

	while (done < npages) {
		long got = vaddr_get_pfns(mm, vaddr + (done << PAGE_SHIFT), npages - done, write,
					  pages + done);

		if (got <= 0) {
			ret = got < 0 ? got : -EFAULT;
			goto unpin;
		}
		done += (unsigned long)got;
	}
	ret = vfio_lock_acct(mm, (long)npages, capable(CAP_IPC_LOCK));
	if (ret)
		goto unpin;
	return (long)npages;
unpin:
	unpin_user_pages(pages, done);
	return ret;
}

void vfio_unpin_pages_remote(struct mm_struct *mm, struct page **pages, unsigned long npages,
			     bool dirty)
{
	unpin_user_pages_dirty_lock(pages, npages, dirty);
	/* an uncharge is never refused; mmap_write_lock() cannot be interrupted */
	mmap_write_lock(mm);
	__account_locked_vm(mm, npages, false, current, true);
	mmap_write_unlock(mm);
}
