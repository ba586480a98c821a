// SPDX-License-Identifier: MIT
/*
 * CPU access to user memory: copy_to_user(), copy_from_user(), clear_user(),
 * access_process_vm() (Linux: arch uaccess + the page-fault path, and
 * mm/memory.c's __access_remote_vm()).
 *
 * One page at a time: look the entry up under its page-table lock; if the
 * access is allowed, take a folio reference (frames without a struct page
 * are copied under the lock instead), drop the lock and copy through the
 * frame's arena address; if not, fault like the CPU would and look again.
 */
#include <pinmm/gup.h>
#include <pinmm/memory.h>
#include <pinmm/mman.h>
#include <pinmm/rmap.h>
#include <pinmm/secretmem.h>
#include <pinmm/task.h>
#include <pinmm/sched.h>
#include <pinmm/uaccess.h>

#include <string.h>

enum ua_op { UA_READ, UA_WRITE, UA_CLEAR };

struct ua_req {
	enum ua_op op;
	bool user;		/* a user-mode access: the PTE's bits decide */
	bool force;		/* FOLL_FORCE: a kernel access ignoring VMA protection */
	char *buf;		/* host side */
};

static void ua_copy(struct ua_req *r, void *frame, size_t off, size_t done, size_t n)
{
	char *p = (char *)frame + off;

	switch (r->op) {
	case UA_READ:
		memcpy(r->buf + done, p, n);
		break;
	case UA_WRITE:
		memcpy(p, r->buf + done, n);
		break;
	case UA_CLEAR:
		memset(p, 0, n);
		break;
	}
}

/* May this kernel-side access go through @pte without a fault? */
/*
 * A forced write into an entry that is not writable, in a VMA that is not
 * either: it lands only in a private page of our own (COW broken), and only
 * if no write fault is owed to soft-dirty tracking or uffd-wp (Linux's
 * can_follow_write_pte() and can_follow_write_pmd(); @page is a leaf's head).
 */
static bool forced_write_ok(struct vm_area_struct *vma, struct page *page, bool soft_dirty,
			    bool uffd_wp)
{
	if (vma->vm_flags & VM_WRITE)
		return false;
	if (vma_soft_dirty_enabled(vma) && !soft_dirty)
		return false;
	if ((vma->vm_flags & VM_UFFD_WP) && uffd_wp)
		return false;
	return page && PageAnon(page) && PageAnonExclusive(page);
}

/* May a kernel access (FOLL_FORCE aside, the VMA was checked) use this PTE? */
static bool kernel_access_ok(struct vm_area_struct *vma, unsigned long addr, pte_t pte,
			     bool write)
{
	if (!write || pte_write(pte))
		return true;
	return forced_write_ok(vma, vm_normal_page(vma, addr, pte), pte_soft_dirty(pte),
			       pte_uffd_wp(pte));
}

/* The same for a PMD or (gigantic hugetlb) PUD leaf. */
static bool kernel_access_ok_leaf(struct vm_area_struct *vma, pmd_t pmd, bool write)
{
	if (!write || pmd_write(pmd))
		return true;
	return forced_write_ok(vma, pmd_page(pmd), pmd_soft_dirty(pmd), pmd_uffd_wp(pmd));
}

/*
 * Copy @n bytes (inside one page) at @addr. Return true if done, false if
 * the page must be faulted in first.
 */
static bool ua_one(struct vm_area_struct *vma, unsigned long addr, size_t done, size_t n,
		   struct ua_req *r)
{
	struct mm_struct *mm = vma->vm_mm;
	bool write = r->op != UA_READ;
	size_t off = addr & ~PAGE_MASK;
	struct folio *folio;
	struct page *page;
	spinlock_t *ptl;
	pud_t *pud = mm_find_pud(mm, addr);
	unsigned long leaf_mask = PMD_MASK;
	pmd_t *pmd = mm_find_pmd(mm, addr);
	pmd_t pmdval;
	pte_t *pte, ptent;

	/* a gigantic hugetlb page's PUD leaf has a PMD leaf's bits: one case for both */
	if (pud && pud_leaf(pudp_get(pud))) {
		pmd = (pmd_t *)pud;
		leaf_mask = PUD_MASK;
	}
	if (!pmd)
		return false;
	pmdval = pmdp_get_lockless(pmd);
	if (pmd_leaf(pmdval)) {
		ptl = pmd_lock(mm, pmd);
		pmdval = pmdp_get(pmd);
		if (!pmd_leaf(pmdval) ||
		    (r->user ? !pmd_access_permitted(pmdval, write) :
			       !kernel_access_ok_leaf(vma, pmdval, write))) {
			spin_unlock(ptl);
			return false;
		}
		if (write && !pmd_dirty(pmdval))
			set_pmd(pmd, pmd_mkyoung(pmd_mkdirty(pmdval)));
		page = pmd_page(pmdval) + ((addr & ~leaf_mask) >> PAGE_SHIFT);
		folio = page_folio(page);
		folio_get(folio);
		spin_unlock(ptl);
		ua_copy(r, page_address(page), off, done, n);
		folio_put(folio);
		return true;
	}
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return false;
	ptent = ptep_get(pte);
	if (!pte_present(ptent) ||
	    (r->user ? !pte_access_permitted(ptent, write) :
		       !kernel_access_ok(vma, addr, ptent, write))) {
		pte_unmap_unlock(pte, ptl);
		return false;
	}
	/* what the MMU does on an access */
	if (!pte_young(ptent) || (write && !pte_dirty(ptent)))
		set_pte(pte, write ? pte_mkdirty(pte_mkyoung(ptent)) : pte_mkyoung(ptent));
	page = vm_normal_page(vma, addr, ptent);
	if (!page) {
		/* the zero page (reads only) or a PFNMAP frame: copy under the lock */
		ua_copy(r, pfn_to_virt(pte_pfn(ptent)), off, done, n);
		pte_unmap_unlock(pte, ptl);
		return true;
	}
	folio = page_folio(page);
	if (write && !folio_test_anon(folio)) {
		/*
		 * A store into a page-cache page completes under the PTE lock,
		 * as a CPU's store completes before the TLB flush of a
		 * write-protect: folio_mkclean() takes this lock, so once
		 * writeback has cleaned the folio no earlier store can still
		 * be landing in it (stable pages).
		 */
		ua_copy(r, page_address(page), off, done, n);
		pte_unmap_unlock(pte, ptl);
		return true;
	}
	folio_get(folio);
	pte_unmap_unlock(pte, ptl);
	ua_copy(r, page_address(page), off, done, n);
	folio_put(folio);
	return true;
}

/* GUP's check_vma_flags() for a kernel access (access_process_vm). */
static bool kernel_vma_ok(struct vm_area_struct *vma, bool write, bool force)
{
	vm_flags_t f = vma->vm_flags;

	/* GUP never reaches secret memory; /proc/PID/mem is GUP (EIO to the reader) */
	if (vma_is_secretmem(vma))
		return false;
	if (write) {
		if (f & VM_WRITE)
			return true;
		/* FOLL_FORCE writes only COW: never into a shared mapping */
		return force && (f & VM_MAYWRITE) && is_cow_mapping(f);
	}
	if (f & VM_READ)
		return true;
	return force && (f & VM_MAYREAD);
}

#define UACCESS_MAX_FAULT_RETRIES	1000000

/* pagefault_disable() depth of this thread. */
static _Thread_local unsigned int pagefault_disable_depth;

void pagefault_disable(void)
{
	pagefault_disable_depth++;
}

void pagefault_enable(void)
{
	BUG_ON(!pagefault_disable_depth);
	pagefault_disable_depth--;
}

bool pagefault_disabled(void)
{
	return pagefault_disable_depth != 0;
}

static size_t access_mm(struct mm_struct *mm, unsigned long addr, size_t len, struct ua_req *r)
{
	bool write = r->op != UA_READ;
	bool nofault = pagefault_disabled();
	size_t done = 0;

	if (!len)
		return 0;
	/*
	 * With faults disabled the caller may hold a folio lock (below
	 * mmap_lock in the order): the page-table walk must not wait for it.
	 * A hardware walk takes no lock at all; a busy lock here is a "fault".
	 */
	if (nofault ? !mmap_read_trylock(mm) : mmap_read_lock_killable(mm))
		return 0;
	while (done < len) {
		unsigned long a = addr + done;
		size_t n = min(len - done, PAGE_SIZE - (a & ~PAGE_MASK));
		struct vm_area_struct *vma;
		int tries = 0;

		if (a < addr || a >= TASK_SIZE)
			break;
		vma = vma_lookup(mm, a);
		if (!vma)
			break;		/* a hole: -EFAULT */
		if (!r->user && !kernel_vma_ok(vma, write, r->force))
			break;
		while (!ua_one(vma, a, done, n, r)) {
			unsigned int flags = write ? FAULT_FLAG_WRITE : 0;
			vm_fault_t ret;

			if (nofault)
				goto out;	/* the caller faults in and retries */

			if (r->user)
				flags |= FAULT_FLAG_USER;
			if (!current || mm != current->mm)
				flags |= FAULT_FLAG_REMOTE;
			/* a fault may drop mmap_lock to wait (a userfaultfd reader) */
			flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
			ret = handle_mm_fault(vma, a, flags, NULL);
			if (ret & (VM_FAULT_RETRY | VM_FAULT_COMPLETED)) {
				if (mmap_read_lock_killable(mm))
					return done;
				vma = vma_lookup(mm, a);
				if (!vma || (!r->user && !kernel_vma_ok(vma, write, r->force)))
					goto out;
				if (++tries > UACCESS_MAX_FAULT_RETRIES)
					goto out;
				continue;
			}
			/* SIGSEGV (no permission), SIGBUS (PFNMAP hole), OOM: stop here */
			if (ret & VM_FAULT_ERROR)
				goto out;
			/*
			 * Like a CPU, retry as long as the fault makes no error:
			 * a migration or a racing zap can undo it many times over.
			 * Give the other side the CPU, stop for a fatal signal, and
			 * only a fault handler that never converges trips the WARN.
			 */
			if (++tries > 16)
				cond_resched();
			if (fatal_signal_pending_current() ||
			    WARN_ON_ONCE(tries > UACCESS_MAX_FAULT_RETRIES))
				goto out;
		}
		done += n;
	}
out:
	mmap_read_unlock(mm);
	return done;
}

static struct mm_struct *current_mm(void)
{
	struct task_struct *t = current;

	return t ? t->mm : NULL;
}

unsigned long copy_to_user(void __user *to, const void *from, unsigned long n)
{
	struct mm_struct *mm = current_mm();
	struct ua_req r = { .op = UA_WRITE, .user = true, .buf = (char *)from };

	if (!mm)
		return n;
	return n - access_mm(mm, (unsigned long)to, n, &r);
}

unsigned long copy_from_user(void *to, const void __user *from, unsigned long n)
{
	struct mm_struct *mm = current_mm();
	struct ua_req r = { .op = UA_READ, .user = true, .buf = to };
	size_t done = mm ? access_mm(mm, (unsigned long)from, n, &r) : 0;

	/* Linux zeroes what could not be read, so no stale kernel data leaks */
	if (done < n)
		memset((char *)to + done, 0, n - done);
	return n - done;
}

unsigned long __copy_from_user_inatomic(void *to, const void __user *from, unsigned long n)
{
	struct mm_struct *mm = current_mm();
	struct ua_req r = { .op = UA_READ, .user = true, .buf = to };

	/* no zeroing: @to may be a page-cache folio whose other bytes count */
	return n - (mm ? access_mm(mm, (unsigned long)from, n, &r) : 0);
}

unsigned long clear_user(void __user *to, unsigned long n)
{
	struct mm_struct *mm = current_mm();
	struct ua_req r = { .op = UA_CLEAR, .user = true };

	if (!mm)
		return n;
	return n - access_mm(mm, (unsigned long)to, n, &r);
}

int access_process_vm(struct task_struct *tsk, unsigned long addr, void *buf, int len,
		      unsigned int gup_flags)
{
	struct ua_req r = {
		.op = (gup_flags & FOLL_WRITE) ? UA_WRITE : UA_READ,
		.user = false,
		.force = gup_flags & FOLL_FORCE,
		.buf = buf,
	};
	struct mm_struct *mm;
	size_t done;

	if (len <= 0)
		return 0;
	mm = get_task_mm(tsk);
	if (!mm)
		return 0;
	done = access_mm(mm, addr, (size_t)len, &r);
	mmput(mm);
	return (int)done;
}
