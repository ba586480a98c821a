// SPDX-License-Identifier: MIT
/*
 * userfaultfd write-protect (Linux: fs/userfaultfd.c userfaultfd_register(),
 * userfaultfd_writeprotect(), handle_userfault(), dup_userfaultfd(); and
 * mm/userfaultfd.c mwriteprotect_range(), uffd_wp_range() over
 * change_protection(MM_CP_UFFD_WP[_RESOLVE])). See include/pinmm/userfaultfd.h.
 *
 * The rules that meet pins:
 *  - a uffd-wp entry is never writable; a write to it, by the CPU or by a
 *    write pin (GUP's write fault), goes to the handler and is retried;
 *    FOLL_FORCE cannot write through it (gup.c can_follow_write_pte);
 *  - protecting a pinned page write-protects it like any other: the page
 *    stays the pinned page, resolving makes the exclusive page writable
 *    again in place (no COW);
 *  - fork keeps uffd-wp bits and markers in the child only when the context
 *    asked for UFFD_FEATURE_EVENT_FORK (memory.c copy_present_pte(),
 *    copy_nonpresent_pte(), huge_memory.c copy_huge_pmd()), also for a
 *    pinned page copied at fork.
 */
#include "vma.h"

#include <pinmm/fs.h>
#include <pinmm/slab.h>
#include <pinmm/userfaultfd.h>

struct userfaultfd_ctx {
	atomic_int refcount;		/* (a) the "fd" and each fault being delivered */
	struct mm_struct *mm;		/* (c) mmgrab()ed */
	unsigned long features;		/* (c) */
	uffd_handler_t handler;		/* (c) */
	void *arg;			/* (c) */
};

struct uffd_fork_ctx {
	struct userfaultfd_ctx *orig, *new;
	struct uffd_fork_ctx *next;
};

static struct userfaultfd_ctx *uffd_ctx_alloc(struct mm_struct *mm, unsigned long features,
					      uffd_handler_t handler, void *arg)
{
	struct userfaultfd_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return NULL;
	atomic_init(&ctx->refcount, 1);
	mmgrab(mm);
	ctx->mm = mm;
	ctx->features = features;
	ctx->handler = handler;
	ctx->arg = arg;
	return ctx;
}

static void uffd_ctx_put(struct userfaultfd_ctx *ctx)
{
	if (atomic_fetch_sub_explicit(&ctx->refcount, 1, memory_order_acq_rel) != 1)
		return;
	mmdrop(ctx->mm);
	kfree(ctx);
}

struct userfaultfd_ctx *pinmm_userfaultfd_create(struct mm_struct *mm, unsigned long features,
						 uffd_handler_t handler, void *arg)
{
	if (!mm || (features & ~UFFD_API_FEATURES))
		return NULL;
	return uffd_ctx_alloc(mm, features, handler, arg);
}

struct mm_struct *pinmm_userfaultfd_mm(struct userfaultfd_ctx *ctx)
{
	return ctx->mm;
}

/* ---- the page-table side: uffd_wp_range() ------------------------------------------ */

/* May the resolved entry be writable at once (can_change_pte_writable())? */
static bool uffd_can_write(struct vm_area_struct *vma, struct page *page, bool dirty,
			   bool soft_dirty)
{
	if (!(vma->vm_flags & VM_WRITE))
		return false;
	if (vma_soft_dirty_enabled(vma) && !soft_dirty)
		return false;
	if (vma->vm_flags & VM_SHARED)
		return dirty && !vma_wants_writenotify(vma, vma->vm_page_prot);
	return page && PageAnon(page) && PageAnonExclusive(page);
}

static bool uffd_use_markers(struct vm_area_struct *vma, struct userfaultfd_ctx *ctx)
{
	return vma_is_anonymous(vma) && (ctx->features & UFFD_FEATURE_WP_UNPOPULATED);
}

static pte_t uffd_wp_pte(struct vm_area_struct *vma, unsigned long addr, pte_t pte, bool enable,
			 bool markers)
{
	if (pte_none(pte))
		return enable && markers ? make_pte_marker(PTE_MARKER_UFFD_WP) : pte;
	if (is_pte_marker(pte))
		return enable ? pte : pte_swp_drop_uffd_wp(pte, false);
	if (!pte_present(pte))
		return enable ? pte_swp_mkuffd_wp(pte) : pte_swp_clear_uffd_wp(pte);
	if (enable)
		return pte_mkuffd_wp(pte);
	pte = pte_clear_uffd_wp(pte);
	if (!pte_write(pte) && uffd_can_write(vma, vm_normal_page(vma, addr, pte), pte_dirty(pte),
					      pte_soft_dirty(pte)))
		pte = pte_mkwrite(pte);
	return pte;
}

static void uffd_wp_pte_range(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
			      unsigned long end, bool enable, bool markers)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return;
	for (; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t old = ptep_get(pte), new = uffd_wp_pte(vma, addr, old, enable, markers);

		if (!pte_same(old, new))
			set_pte(pte, new);
	}
	pte_unmap_unlock(pte - 1, ptl);
}

/* A whole PMD leaf (or PMD migration entry). Return false if it is a table now. */
static bool uffd_wp_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
			     bool enable)
{
	spinlock_t *ptl = pmd_lock(vma->vm_mm, pmd);
	pmd_t old = pmdp_get(pmd), new;

	if (pmd_leaf(old)) {
		if (enable) {
			new = pmd_mkuffd_wp(old);
		} else {
			new = pmd_clear_uffd_wp(old);
			if (!pmd_write(new) &&
			    uffd_can_write(vma, vm_normal_page_pmd(vma, addr, old), pmd_dirty(old),
					   pmd_soft_dirty(old)))
				new = pmd_mkwrite(new);
		}
	} else if (is_swap_pmd(old)) {
		pte_t p = __pte(pmd_val(old));

		new = __pmd(pte_val(enable ? pte_swp_mkuffd_wp(p) : pte_swp_clear_uffd_wp(p)));
	} else {
		spin_unlock(ptl);
		return false;
	}
	if (!pmd_same(old, new))
		set_pmd(pmd, new);
	spin_unlock(ptl);
	return true;
}

/*
 * Set (@enable) or resolve uffd-wp over [@start, @end) of @vma. Return:
 * 0, or -ENOMEM when a table for markers could not be allocated.
 */
static int uffd_wp_range(struct vm_area_struct *vma, struct userfaultfd_ctx *ctx,
			 unsigned long start, unsigned long end, bool enable)
{
	struct mm_struct *mm = vma->vm_mm;
	bool markers = ctx && uffd_use_markers(vma, ctx);
	struct mmu_notifier_range range;
	unsigned long addr, next;
	int err = 0;

	vma_adjust_trans_huge(vma, start, end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	for (addr = start; addr < end; addr = next) {
		pmd_t *pmd;
		pmd_t val;

		next = pmd_addr_end(addr, end);
		pmd = (enable && markers) ? pmd_alloc_walk(mm, addr) : mm_find_pmd(mm, addr);
		if (!pmd) {
			if (enable && markers) {
				err = -ENOMEM;
				break;
			}
			next = pud_addr_end(addr, end);
			continue;
		}
		val = pmdp_get_lockless(pmd);
		if (pmd_leaf(val) || is_swap_pmd(val)) {
			if (IS_ALIGNED(addr, PMD_SIZE) && next - addr == PMD_SIZE &&
			    uffd_wp_huge_pmd(vma, pmd, addr, enable))
				continue;
			__split_huge_pmd(vma, pmd, addr);
		}
		if (pmd_none(pmdp_get_lockless(pmd))) {
			if (!(enable && markers))
				continue;
			if (__pte_alloc(mm, pmd)) {
				err = -ENOMEM;
				break;
			}
		}
		if (pmd_is_table(pmdp_get_lockless(pmd)))
			uffd_wp_pte_range(vma, pmd, addr, next, enable, markers);
		cond_resched();
	}
	mmu_notifier_invalidate_range_end(&range);
	return err;
}

/* ---- registration --------------------------------------------------------------- */

static bool vma_can_userfault_wp(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_PFNMAP | VM_IO | VM_MIXEDMAP | VM_HUGETLB))
		return false;
	/* private and shared anonymous memory (shmem in Linux) */
	return vma_is_anonymous(vma) || (vma->vm_file && shmem_mapping(vma->vm_file->f_mapping));
}

struct uffd_reg_arg {
	struct userfaultfd_ctx *ctx;
	bool reg;
};

static int uffd_reg_newflags(struct vm_area_struct *vma, vm_flags_t *flags, void *arg)
{
	struct uffd_reg_arg *a = arg;

	if (a->reg)
		*flags |= VM_UFFD_WP;
	else if (vma->vm_userfaultfd_ctx == a->ctx)
		*flags &= ~VM_UFFD_WP;
	return 0;
}

static int uffd_reg_apply(struct vm_area_struct *vma, vm_flags_t oldflags, void *arg)
{
	struct uffd_reg_arg *a = arg;

	(void)oldflags;
	if (a->reg) {
		vma->vm_userfaultfd_ctx = a->ctx;
		return 0;
	}
	/* the bits and markers go with the registration (Linux 6.x) */
	uffd_wp_range(vma, NULL, vma->vm_start, vma->vm_end, false);
	vma->vm_userfaultfd_ctx = NULL;
	return 0;
}

static int uffd_check_range(struct mm_struct *mm, unsigned long start, unsigned long len)
{
	if (!IS_ALIGNED(start, PAGE_SIZE) || !IS_ALIGNED(len, PAGE_SIZE) || !len)
		return -EINVAL;
	if (start < FIRST_USER_ADDRESS || start >= TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	(void)mm;
	return 0;
}

int pinmm_uffd_register(struct userfaultfd_ctx *ctx, unsigned long start, unsigned long len,
			unsigned long mode)
{
	struct mm_struct *mm = ctx->mm;
	struct uffd_reg_arg a = { .ctx = ctx, .reg = true };
	const struct vma_flags_op op = { uffd_reg_newflags, uffd_reg_apply, &a, false };
	struct vm_area_struct *vma;
	unsigned long end = start + len, cur = start;
	int err;

	err = uffd_check_range(mm, start, len);
	if (err)
		return err;
	if (mode != UFFDIO_REGISTER_MODE_WP)
		return -EINVAL;	/* only write-protect is modelled */
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	/* check first, change nothing on a refusal */
	for (vma = find_vma(mm, start); cur < end; vma = vma_next(vma)) {
		err = -EINVAL;
		if (!vma || vma->vm_start > cur || !vma_can_userfault_wp(vma))
			goto out;
		err = -EBUSY;
		if (vma->vm_userfaultfd_ctx && vma->vm_userfaultfd_ctx != ctx)
			goto out;
		cur = vma->vm_end;
	}
	err = vma_modify_flags_range(mm, start, end, &op);
out:
	mmap_write_unlock(mm);
	return err;
}

int pinmm_uffd_unregister(struct userfaultfd_ctx *ctx, unsigned long start, unsigned long len)
{
	struct mm_struct *mm = ctx->mm;
	struct uffd_reg_arg a = { .ctx = ctx, .reg = false };
	const struct vma_flags_op op = { uffd_reg_newflags, uffd_reg_apply, &a, true };
	int err = uffd_check_range(mm, start, len);
	bool any;

	if (err)
		return err;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	any = find_vma_intersection(mm, start, start + len);
	err = vma_modify_flags_range(mm, start, start + len, &op);
	mmap_write_unlock(mm);
	/* holes are fine when unregistering, a range with nothing at all is not */
	if (err == -ENOMEM)
		err = any ? 0 : -EINVAL;
	return err;
}

void pinmm_userfaultfd_release(struct userfaultfd_ctx *ctx)
{
	struct mm_struct *mm = ctx->mm;
	struct uffd_reg_arg a = { .ctx = ctx, .reg = false };
	const struct vma_flags_op op = { uffd_reg_newflags, uffd_reg_apply, &a, true };
	struct vm_area_struct *vma;

	mmap_write_lock(mm);
	/* a merge may free the VMA we stand on: start over after each range */
	for (;;) {
		unsigned long start = 0, end = 0;

		for_each_vma(mm, vma)
			if (vma->vm_userfaultfd_ctx == ctx) {
				start = vma->vm_start;
				end = vma->vm_end;
				break;
			}
		if (!end || vma_modify_flags_range(mm, start, end, &op))
			break;
	}
	mmap_write_unlock(mm);
	uffd_ctx_put(ctx);
}

/* ---- UFFDIO_WRITEPROTECT ----------------------------------------------------------- */

int pinmm_uffd_writeprotect(struct userfaultfd_ctx *ctx, unsigned long start, unsigned long len,
			    unsigned long mode)
{
	struct mm_struct *mm = ctx->mm;
	bool enable = mode & UFFDIO_WRITEPROTECT_MODE_WP;
	struct vm_area_struct *vma;
	unsigned long end = start + len, cur = start;
	int err = uffd_check_range(mm, start, len);

	if (err)
		return err;
	if (mode & ~(UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE))
		return -EINVAL;
	if (enable && (mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE))
		return -EINVAL;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for (vma = find_vma(mm, start); cur < end; vma = vma_next(vma)) {
		err = -ENOENT;
		if (!vma || vma->vm_start > cur || !userfaultfd_wp(vma) ||
		    vma->vm_userfaultfd_ctx != ctx)
			goto out;
		cur = vma->vm_end;
	}
	err = 0;
	for (vma = find_vma(mm, start); vma && vma->vm_start < end && !err; vma = vma_next(vma))
		err = uffd_wp_range(vma, ctx, max(start, vma->vm_start), min(end, vma->vm_end),
				    enable);
out:
	mmap_read_unlock(mm);
	return err;
}

/* ---- the fault --------------------------------------------------------------------- */

vm_fault_t handle_userfault(struct vm_fault *vmf, unsigned long reason)
{
	struct vm_area_struct *vma = vmf->vma;
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx;
	struct uffd_msg msg = { .event = UFFD_EVENT_PAGEFAULT };

	if (WARN_ON_ONCE(reason != VM_UFFD_WP) || !ctx || !ctx->handler)
		return VM_FAULT_SIGBUS;
	/* the reader must run without our mmap_lock: only a retryable fault may wait */
	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
		return VM_FAULT_SIGBUS;
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;
	msg.arg.pagefault.flags = UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE;
	msg.arg.pagefault.address = vmf->real_address;
	atomic_fetch_add_explicit(&ctx->refcount, 1, memory_order_relaxed);
	mmap_read_unlock(vma->vm_mm);
	ctx->handler(ctx, &msg, ctx->arg);
	uffd_ctx_put(ctx);
	return VM_FAULT_RETRY;
}

/* ---- fork ----------------------------------------------------------------------------- */

int dup_userfaultfd(struct vm_area_struct *vma, struct uffd_fork_list *fl)
{
	struct userfaultfd_ctx *ctx = vma->vm_userfaultfd_ctx;
	struct uffd_fork_ctx *f;

	if (!ctx)
		return 0;
	if (!(ctx->features & UFFD_FEATURE_EVENT_FORK)) {
		/* nobody would hear the child's faults: it is not registered */
		vma->vm_userfaultfd_ctx = NULL;
		vma->vm_flags &= ~(VM_UFFD_WP | VM_UFFD_MISSING);
		vma_set_page_prot(vma);
		return 0;
	}
	for (f = fl->head; f; f = f->next)
		if (f->orig == ctx)
			break;
	if (!f) {
		f = kzalloc(sizeof(*f), GFP_KERNEL);
		if (!f)
			return -ENOMEM;
		f->new = uffd_ctx_alloc(vma->vm_mm, ctx->features, ctx->handler, ctx->arg);
		if (!f->new) {
			kfree(f);
			return -ENOMEM;
		}
		atomic_fetch_add_explicit(&ctx->refcount, 1, memory_order_relaxed);
		f->orig = ctx;
		f->next = fl->head;
		fl->head = f;
	}
	vma->vm_userfaultfd_ctx = f->new;
	return 0;
}

void dup_userfaultfd_complete(struct uffd_fork_list *fl)
{
	struct uffd_fork_ctx *f, *next;

	for (f = fl->head; f; f = next) {
		struct uffd_msg msg = { .event = UFFD_EVENT_FORK, .arg.fork.ctx = f->new };

		next = f->next;
		/* the reader now owns the child's context (Linux: a new fd) */
		if (f->orig->handler)
			f->orig->handler(f->orig, &msg, f->orig->arg);
		else
			pinmm_userfaultfd_release(f->new);
		uffd_ctx_put(f->orig);
		kfree(f);
	}
	fl->head = NULL;
}

void dup_userfaultfd_fail(struct uffd_fork_list *fl)
{
	struct uffd_fork_ctx *f, *next;

	for (f = fl->head; f; f = next) {
		next = f->next;
		uffd_ctx_put(f->new);
		uffd_ctx_put(f->orig);
		kfree(f);
	}
	fl->head = NULL;
}
