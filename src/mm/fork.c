// SPDX-License-Identifier: MIT
/*
 * fork: a child process whose address space copies its parent's (dup_mm).
 *
 * The rules are Linux's:
 *  - VM_DONTCOPY (MADV_DONTFORK) VMAs are left out of the child.
 *  - VM_WIPEONFORK VMAs are copied as empty VMAs: the child reads zeroes.
 *  - mlock is not inherited: the child's VMAs lose VM_LOCKED/VM_LOCKONFAULT
 *    and its locked_vm is 0.
 *  - mm->flags start fresh except the bits of MMF_INIT_MASK; MMF_HAS_PINNED
 *    is not one of them (a child has pinned nothing).
 *  - While the page tables are copied, the parent's write_protect_seq is
 *    odd, so a GUP-fast pin in the parent backs off instead of racing the
 *    write-protection that sets up COW (copy_page_range copies pages that
 *    may be pinned instead of sharing them).
 */
#include "vma.h"

#include <pinmm/userfaultfd.h>
#include <pinmm/ksm.h>

/* Linux's MMF_INIT_MASK holds dump and THP policy bits; pinmm has none of them. */
#define MMF_INIT_MASK	0UL

/*
 * Copy @oldmm's VMAs and page tables into the new @mm. Both mmap locks are
 * held for writing. On failure what was built stays linked in @mm, in a
 * state exit_mmap() can tear down.
 */
static int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm, struct uffd_fork_list *uf)
{
	struct vm_area_struct *mpnt, *tmp;
	int err = 0;

	mmap_assert_write_locked(oldmm);
	mmap_assert_write_locked(mm);

	raw_write_seqcount_begin(&oldmm->write_protect_seq);
	list_for_each_entry(mpnt, &oldmm->mmap_list, vm_list) {
		if (mpnt->vm_flags & VM_DONTCOPY)
			continue;
		tmp = vm_area_dup(mpnt);
		if (!tmp) {
			err = -ENOMEM;
			break;
		}
		tmp->vm_mm = mm;
		tmp->vm_flags &= ~VM_LOCKED_MASK;
		/* before the copy: it decides whether uffd-wp bits follow */
		if (dup_userfaultfd(tmp, uf)) {
			vm_area_undo_dup(tmp);
			err = -ENOMEM;
			break;
		}
		if (tmp->vm_flags & VM_WIPEONFORK) {
			/* No anon_vma: the child faults in fresh zeroed pages. */
			tmp->anon_vma = NULL;
		} else if (anon_vma_fork(tmp, mpnt)) {
			vm_area_undo_dup(tmp);
			err = -ENOMEM;
			break;
		}
		vma_link(mm, tmp);
		/* the child's mapping of a file is found by truncation and writeback too */
		vma_link_file(tmp);
		mm->total_vm += vma_pages(tmp);
		if (tmp->vm_ops && tmp->vm_ops->open)
			tmp->vm_ops->open(tmp);
		if (!(tmp->vm_flags & VM_WIPEONFORK)) {
			err = copy_page_range(tmp, mpnt);
			if (err)
				break;
		}
	}
	raw_write_seqcount_end(&oldmm->write_protect_seq);
	return err;
}

/* dup_mm(): a new mm that copies @oldmm; NULL on failure, with nothing left. */
static struct mm_struct *dup_mm(struct mm_struct *oldmm, int *errp)
{
	struct uffd_fork_list uf = { NULL };
	struct mm_struct *mm;
	int err;

	err = mmap_write_lock_killable(oldmm);
	if (err) {
		*errp = err;
		return NULL;
	}
	mm = mm_alloc();
	if (!mm) {
		mmap_write_unlock(oldmm);
		*errp = -ENOMEM;
		return NULL;
	}
	/* Same rank as the parent's: nested, and only ever parent first. */
	mmap_write_lock_nested(mm, 1);
	mm->mmap_base = oldmm->mmap_base;
	mm->def_flags = oldmm->def_flags;
	atomic_store_explicit(&mm->flags,
			      atomic_load_explicit(&oldmm->flags, memory_order_relaxed) &
			      MMF_INIT_MASK, memory_order_relaxed);

	err = ksm_fork(mm, oldmm);
	if (!err)
		err = dup_mmap(mm, oldmm, &uf);

	mmap_write_unlock(mm);
	mmap_write_unlock(oldmm);
	if (err)
		dup_userfaultfd_fail(&uf);
	else
		dup_userfaultfd_complete(&uf);	/* UFFD_EVENT_FORK, no lock held */
	if (err) {
		/* The one user reference: tears down whatever was copied. */
		mmput(mm);
		*errp = -ENOMEM;
		return NULL;
	}
	return mm;
}

int pinmm_fork(struct task_struct *parent, const char *comm, struct task_struct **child)
{
	struct mm_struct *mm;
	struct task_struct *t;
	int err = 0;

	*child = NULL;
	if (WARN_ON_ONCE(!parent || !parent->mm))
		return -EINVAL;
	mm = dup_mm(parent->mm, &err);
	if (!mm)
		return err;
	t = pinmm_task_alloc(comm ? comm : parent->comm, mm, parent, GFP_KERNEL);
	if (!t) {
		mmput(mm);
		return -ENOMEM;
	}
	*child = t;
	return 0;
}
