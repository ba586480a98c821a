// SPDX-License-Identifier: MIT
/*
 * mremap(): grow, shrink and move a mapping (Linux: mm/mremap.c).
 *
 * The rules kept, Linux's:
 *  - A move moves page-table entries, never data: the new range maps the
 *    very pages the old one did, with their mapcounts, PageAnonExclusive and
 *    pins untouched. A device holding a pin of a moved page keeps seeing
 *    what the process sees at the new address.
 *  - The moved VMA keeps its offset (vm_pgoff), so an anon folio's index
 *    still finds each page through the same anon_vma (rmap stays right).
 *  - A PMD-mapped THP moves as one PMD when the whole aligned 2 MiB moves to
 *    an aligned place (move_huge_pmd); otherwise its PMD is split and the
 *    PTEs move one by one, leaving the folio mapped from both VMAs.
 *  - Moved entries are marked soft-dirty (userspace sees "something changed
 *    here"); uffd-wp bits are dropped, as without UFFD_FEATURE_EVENT_REMAP.
 *  - MMU notifiers see the old range invalidated (MMU_NOTIFY_UNMAP).
 *
 * Linux 6.6 .. 6.14 behaviour: one VMA per call (the 6.17 multi-VMA move of
 * MREMAP_FIXED ranges is not modelled), no hugetlb (its own helper).
 */
#include "vma.h"

#include <pinmm/cred.h>
#include <pinmm/fs.h>
#include <pinmm/pagemap.h>

/* What an entry looks like at its new place. */
static pte_t move_pte_bits(pte_t pte)
{
	if (pte_present(pte))
		return __pte((pte_val(pte) | _PAGE_SOFT_DIRTY) & ~_PAGE_UFFD_WP);
	return pte_swp_drop_uffd_wp(pte, true);
}

/*
 * Move the PTEs of [@old_addr, @old_end), which lie in one PTE table of
 * @vma, to the table of @new_pmd at @new_addr. Return: false if the old PMD
 * is no longer a table (the caller looks again).
 */
static bool move_ptes(struct vm_area_struct *vma, pmd_t *old_pmd, unsigned long old_addr,
		      unsigned long old_end, struct vm_area_struct *new_vma, pmd_t *new_pmd,
		      unsigned long new_addr)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *old_ptl, *new_ptl;
	pte_t *old_pte, *new_pte;

	/* rmap walkers must find each page in the old place or the new one */
	vma_rmap_lock(vma);
	old_pte = pte_offset_map_lock(mm, old_pmd, old_addr, &old_ptl);
	if (!old_pte) {
		vma_rmap_unlock(vma);
		return false;
	}
	new_pte = pte_offset_map(new_pmd, new_addr, NULL);
	if (WARN_ON_ONCE(!new_pte)) {
		pte_unmap_unlock(old_pte, old_ptl);
		vma_rmap_unlock(vma);
		return false;
	}
	new_ptl = pte_lockptr(mm, new_pmd);
	if (new_ptl != old_ptl)
		spin_lock_nested(new_ptl, 1);
	for (; old_addr < old_end; old_addr += PAGE_SIZE, new_addr += PAGE_SIZE,
	     old_pte++, new_pte++) {
		pte_t pte;

		if (pte_none(ptep_get(old_pte)))
			continue;
		/* cleared first: GUP-fast re-checks the old entry and backs off */
		pte = ptep_get_and_clear(old_pte);
		pte = move_pte_bits(pte);
		if (pte_none(pte))
			continue;	/* a uffd-wp marker that does not follow */
		VM_BUG_ON(!pte_none(ptep_get(new_pte)));
		set_pte(new_pte, pte);
	}
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	pte_unmap(new_pte);
	pte_unmap_unlock(old_pte, old_ptl);
	vma_rmap_unlock(vma);
	(void)new_vma;
	return true;
}

/*
 * Move a whole PMD leaf (THP, or a PMD migration entry) and its deposited
 * table. Return: false if it cannot move as one (the destination holds a
 * table, or the old entry is a table now): the caller splits.
 */
static bool move_huge_pmd(struct vm_area_struct *vma, pmd_t *old_pmd, pmd_t *new_pmd)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *old_ptl, *new_ptl;
	struct page *table;
	pmd_t pmd;

	vma_rmap_lock(vma);
	old_ptl = pmd_lock(mm, old_pmd);
	new_ptl = pmd_lockptr(mm, new_pmd);
	if (new_ptl != old_ptl)
		spin_lock_nested(new_ptl, 1);
	pmd = pmdp_get(old_pmd);
	if (!pmd_none(pmdp_get(new_pmd)) || (!pmd_leaf(pmd) && !is_swap_pmd(pmd))) {
		if (new_ptl != old_ptl)
			spin_unlock(new_ptl);
		spin_unlock(old_ptl);
		vma_rmap_unlock(vma);
		return false;
	}
	pmd = pmdp_get_and_clear(old_pmd);
	table = pgtable_trans_huge_withdraw(mm, old_pmd);
	if (table)
		pgtable_trans_huge_deposit(mm, new_pmd, table);
	if (pmd_leaf(pmd))
		pmd = __pmd((pmd_val(pmd) | _PAGE_SOFT_DIRTY) & ~_PAGE_UFFD_WP);
	else
		pmd = __pmd(pte_val(pte_swp_drop_uffd_wp(__pte(pmd_val(pmd)), true)));
	set_pmd(new_pmd, pmd);
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	spin_unlock(old_ptl);
	vma_rmap_unlock(vma);
	return true;
}

/*
 * move_page_tables - move the entries of [@old_addr, +@len) of @vma to
 * @new_addr of @new_vma (same mm). Return: the length moved; short only
 * when a page table could not be allocated.
 */
static unsigned long move_page_tables(struct vm_area_struct *vma, unsigned long old_addr,
				      struct vm_area_struct *new_vma, unsigned long new_addr,
				      unsigned long len)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long old_end = old_addr + len, start = old_addr, extent;
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, old_addr, old_end);
	mmu_notifier_invalidate_range_start(&range);
	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		pmd_t *old_pmd, *new_pmd;
		pmd_t val;

		/* up to the next PMD boundary of either side */
		extent = min(pmd_addr_end(old_addr, old_end) - old_addr,
			     pmd_addr_end(new_addr, new_addr + (old_end - old_addr)) - new_addr);
		cond_resched();
		old_pmd = mm_find_pmd(mm, old_addr);
		if (!old_pmd)
			continue;
		val = pmdp_get_lockless(old_pmd);
		if (pmd_none(val))
			continue;
		new_pmd = pmd_alloc_walk(mm, new_addr);
		if (!new_pmd)
			break;
		if (pmd_leaf(val) || is_swap_pmd(val)) {
			if (extent == PMD_SIZE && move_huge_pmd(vma, old_pmd, new_pmd))
				continue;
			/* only part of this THP moves: its PTEs go one by one */
			split_huge_pmd(vma, old_pmd, old_addr);
		}
		if (!pmd_is_table(pmdp_get_lockless(old_pmd)))
			continue;
		if (pmd_none(pmdp_get_lockless(new_pmd)) && __pte_alloc(mm, new_pmd))
			break;
		if (WARN_ON_ONCE(!pmd_is_table(pmdp_get_lockless(new_pmd))))
			break;
		if (!move_ptes(vma, old_pmd, old_addr, old_addr + extent, new_vma, new_pmd,
			       new_addr)) {
			extent = 0;	/* the old PMD changed under us: look again */
			continue;
		}
	}
	mmu_notifier_invalidate_range_end(&range);
	return min(old_addr, old_end) - start;
}

/* Linux's vma_to_resize(): the VMA of [@addr, +@old_len), checked for growing. */
static struct vm_area_struct *vma_to_resize(struct mm_struct *mm, unsigned long addr,
					    unsigned long old_len, unsigned long new_len,
					    unsigned long flags, long *err)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	pgoff_t pgoff;

	*err = -EFAULT;
	if (!vma)
		return NULL;
	/* no remapping across VMA boundaries */
	if (old_len > vma->vm_end - addr)
		return NULL;
	*err = -EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
		return NULL;
	if (vma->vm_flags & VM_HUGETLB)
		return NULL;	/* hugetlb's own rules: not modelled here */
	if (new_len == old_len)
		return vma;
	pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		return NULL;
	*err = -EFAULT;
	if (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))
		return NULL;
	*err = -EAGAIN;
	if (!mlock_future_ok(mm, vma->vm_flags, new_len - old_len))
		return NULL;
	*err = 0;
	return vma;
}

/*
 * Linux's move_vma(): a new VMA at @new_addr takes over the entries of
 * [@old_addr, +@old_len) of @vma; the old range is unmapped unless
 * MREMAP_DONTUNMAP. Return: @new_addr or -errno (nothing changed).
 */
static long move_vma(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long old_addr,
		     unsigned long old_len, unsigned long new_len, unsigned long new_addr,
		     unsigned long flags)
{
	struct vm_area_struct *new_vma;
	unsigned long moved;
	pgoff_t pgoff;
	int err;

	/* a split at each end of both ranges may be needed */
	if (mm->map_count >= DEFAULT_MAX_MAP_COUNT - 3)
		return -ENOMEM;
	pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	/* never-faulted anon memory takes the offset of its new place */
	if (vma_is_anonymous(vma) && !vma->anon_vma && !(vma->vm_flags & VM_SHARED))
		pgoff = new_addr >> PAGE_SHIFT;
	new_vma = vm_area_dup(vma);
	if (!new_vma)
		return -ENOMEM;
	new_vma->vm_start = new_addr;
	new_vma->vm_end = new_addr + new_len;
	new_vma->vm_pgoff = pgoff;
	/* the uffd registration does not follow without the remap event */
	new_vma->vm_userfaultfd_ctx = NULL;
	new_vma->vm_flags &= ~(VM_UFFD_WP | VM_UFFD_MISSING);
	vma_set_page_prot(new_vma);
	err = anon_vma_clone(new_vma, vma);
	if (err) {
		vm_area_undo_dup(new_vma);
		return err;
	}
	if (new_vma->vm_ops && new_vma->vm_ops->open)
		new_vma->vm_ops->open(new_vma);
	vma_link(mm, new_vma);
	vma_link_file(new_vma);
	mm->total_vm += new_len >> PAGE_SHIFT;
	if (new_vma->vm_flags & VM_LOCKED)
		mm->locked_vm += new_len >> PAGE_SHIFT;

	moved = move_page_tables(vma, old_addr, new_vma, new_addr, old_len);
	if (moved < old_len) {
		/* out of page tables: put back what moved, drop the new VMA */
		move_page_tables(new_vma, new_addr, vma, old_addr, moved);
		do_munmap(mm, new_addr, new_len);
		return -ENOMEM;
	}
	if (flags & MREMAP_DONTUNMAP) {
		/* the old range stays, empty, and is never locked */
		if (vma->vm_flags & VM_LOCKED) {
			struct vm_area_struct *old;

			old = vma_isolate_range(mm, vma, old_addr, old_addr + old_len, &err);
			if (old) {
				__atomic_store_n(&old->vm_flags, old->vm_flags & ~VM_LOCKED_MASK,
						 __ATOMIC_RELAXED);
				mm->locked_vm -= old_len >> PAGE_SHIFT;
			}
		}
	} else {
		err = do_munmap(mm, old_addr, old_len);
		WARN_ON_ONCE(err);	/* the range is empty: only a split can fail */
	}
	new_vma = vma_merge_prev(mm, new_vma);
	vma_merge_next(mm, new_vma);
	return (long)new_addr;
}

/* Linux's vma_expandable(): is [vm_end, +@delta) free? */
static bool vma_expandable(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long delta)
{
	unsigned long end = vma->vm_end + delta;

	if (end < vma->vm_end || end > TASK_SIZE)
		return false;
	return !find_vma_intersection(mm, vma->vm_end, end);
}

/*
 * Linux's check_mremap_params() for a new address: aligned, below TASK_SIZE
 * with the new length, and not overlapping the old range. 0 or -EINVAL.
 */
static int check_mremap_target(unsigned long addr, unsigned long old_len,
			       unsigned long new_addr, unsigned long new_len)
{
	if (!IS_ALIGNED(new_addr, PAGE_SIZE))
		return -EINVAL;
	if (new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len)
		return -EINVAL;
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -EINVAL;
	return 0;
}

static long mremap_to(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
		      unsigned long new_addr, unsigned long new_len, unsigned long flags)
{
	struct vm_area_struct *vma;
	long err;

	if (check_mremap_target(addr, old_len, new_addr, new_len))
		return -EINVAL;
	if (flags & MREMAP_FIXED) {
		if (new_addr < FIRST_USER_ADDRESS)
			return -EPERM;
		err = do_munmap(mm, new_addr, new_len);
		if (err)
			return err;
	}
	if (old_len > new_len) {
		err = do_munmap(mm, addr + new_len, old_len - new_len);
		if (err)
			return err;
		old_len = new_len;
	}
	vma = vma_to_resize(mm, addr, old_len, new_len, flags, &err);
	if (!vma)
		return err;
	if (!(flags & MREMAP_FIXED)) {
		new_addr = get_unmapped_area(mm, vma_is_anonymous(vma), new_addr, new_len);
		if (IS_ERR_VALUE(new_addr))
			return (long)new_addr;
	}
	return move_vma(mm, vma, addr, old_len, new_len, new_addr, flags);
}

/*
 * May this VMA be one of several a move takes (Linux 6.17's
 * vma_multi_allowed())? Not if userfaultfd watches it (the remap event
 * needs mmap_lock dropped between VMAs), nor a driver's mapping, which may
 * place itself where it likes.
 */
static bool vma_multi_allowed(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_UFFD_WP | VM_UFFD_MISSING | VM_IO | VM_PFNMAP | VM_MIXEDMAP));
}

/*
 * A same-size MREMAP_FIXED move (Linux 6.17's remap_move()): every VMA in
 * [@addr, +@len) moves, each split to the range as needed, the gaps between
 * them kept in the new place. The range must start in a VMA. VMAs already
 * moved stay moved if a later one fails. mmap_lock held for writing.
 * Return: @new_addr; -EFAULT if the range starts in a hole (nothing mapped
 * at all included) or a VMA that may not move with others is met with
 * others; -EINVAL for a bad or overlapping @new_addr; a single move's error.
 */
static long remap_move(struct mm_struct *mm, unsigned long addr, unsigned long len,
		       unsigned long new_addr, unsigned long flags)
{
	unsigned long end = addr + len, target = new_addr, last_end = 0, cursor = addr;
	struct vm_area_struct *vma;
	long res = -EFAULT;
	bool seen = false;

	/* the whole range first: nothing moves if any of it could not */
	if (check_mremap_target(addr, len, new_addr, len))
		return -EINVAL;
	while ((vma = find_vma_intersection(mm, cursor, end))) {
		unsigned long s = max(vma->vm_start, cursor), n = min(end, vma->vm_end) - s;
		unsigned long to = target + (seen ? vma->vm_start - last_end : 0);
		long moved;

		/* no hole at the start: the first VMA sets where the rest go */
		if (!seen && vma->vm_start > addr)
			return -EFAULT;
		if (!vma_multi_allowed(vma) && (seen || vma->vm_end < end))
			return -EFAULT;
		last_end = vma->vm_end;
		moved = mremap_to(mm, s, n, to, n, flags);
		if (moved < 0)
			return moved;
		if (!seen)
			res = moved;
		seen = true;
		target = (unsigned long)moved + n;
		cursor = s + n;
	}
	return res;
}

/**
 * do_mremap() - mremap(2) on @mm.
 * @mm: the address space.
 * @addr: page-aligned start of the old range.
 * @old_len: its length (rounded up to pages).
 * @new_len: the new length (rounded up to pages), not 0.
 * @flags: MREMAP_MAYMOVE, MREMAP_FIXED (needs MAYMOVE), MREMAP_DONTUNMAP
 *	(needs MAYMOVE and @old_len == @new_len).
 * @new_addr: where to go with MREMAP_FIXED (a hint with DONTUNMAP alone).
 *
 * Shrinks in place, grows in place when the gap above allows, else moves
 * (MAYMOVE). A same-size MREMAP_FIXED move may take several VMAs and the
 * gaps between them (Linux 6.17, remap_move() above); a same-size call
 * without FIXED or DONTUNMAP returns @addr at once. A move carries the
 * page-table entries over, never the data, so pinned pages stay pinned and
 * mapped at the new address.
 * Context: takes mmap_lock for writing.
 * Return: the new address; -EINVAL for bad flags, a misaligned @addr or
 * @new_addr, a zero @new_len, overlapping ranges with FIXED, or @old_len 0
 * on a private mapping; -EFAULT if @addr is unmapped, the range crosses a
 * VMA's end, or a VM_DONTEXPAND/VM_PFNMAP mapping would grow; -ENOMEM if
 * it cannot grow in place without MAYMOVE or memory ran out; -EAGAIN past
 * RLIMIT_MEMLOCK; -EINTR if killed while waiting for mmap_lock.
 */
long do_mremap(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
	       unsigned long new_len, unsigned long flags, unsigned long new_addr)
{
	struct vm_area_struct *vma;
	unsigned long delta;
	long ret;

	if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len))
		return -EINVAL;
	if (!IS_ALIGNED(addr, PAGE_SIZE))
		return -EINVAL;
	if (old_len > TASK_SIZE || new_len > TASK_SIZE)
		return -EINVAL;	/* PAGE_ALIGN would wrap: Linux's aligned length is 0 */
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	if (!new_len)
		return -EINVAL;

	/* Linux 6.17+: a same-size call that moves nothing is done, mapped or not */
	if (old_len == new_len && !(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)))
		return (long)addr;

	if (mmap_write_lock_killable(mm))
		return -EINTR;
	if ((flags & MREMAP_FIXED) && old_len == new_len) {
		ret = remap_move(mm, addr, old_len, new_addr, flags);
		goto out;
	}
	vma = vma_lookup(mm, addr);
	if (!vma) {
		ret = -EFAULT;
		goto out;
	}
	/* old_len 0 duplicates a shared mapping; a private one has nothing to share */
	if (!old_len) {
		ret = -EINVAL;
		goto out;
	}
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		ret = mremap_to(mm, addr, old_len, new_addr, new_len, flags);
		goto out;
	}
	if (old_len >= new_len) {
		ret = old_len == new_len ? 0 : do_munmap(mm, addr + new_len, old_len - new_len);
		if (!ret)
			ret = (long)addr;
		goto out;
	}
	vma = vma_to_resize(mm, addr, old_len, new_len, flags, &ret);
	if (!vma)
		goto out;
	delta = new_len - old_len;
	if (old_len == vma->vm_end - addr && vma_expandable(mm, vma, delta)) {
		vma_set_end(vma, vma->vm_end + delta);
		mm->total_vm += delta >> PAGE_SHIFT;
		if (vma->vm_flags & VM_LOCKED) {
			mm->locked_vm += delta >> PAGE_SHIFT;
			mm_populate_locked(mm, addr + old_len, addr + new_len, true);
		}
		vma_merge_next(mm, vma);
		ret = (long)addr;
		goto out;
	}
	ret = -ENOMEM;
	if (flags & MREMAP_MAYMOVE) {
		new_addr = get_unmapped_area(mm, vma_is_anonymous(vma), 0, new_len);
		if (IS_ERR_VALUE(new_addr)) {
			ret = (long)new_addr;
			goto out;
		}
		bool locked = vma->vm_flags & VM_LOCKED;

		ret = move_vma(mm, vma, addr, old_len, new_len, new_addr, flags);
		if (ret > 0 && locked)
			mm_populate_locked(mm, new_addr + old_len, new_addr + new_len, true);
	}
out:
	mmap_write_unlock(mm);
	return ret;
}

unsigned long vm_mremap(unsigned long addr, unsigned long old_len, unsigned long new_len,
			unsigned long flags, unsigned long new_addr)
{
	struct task_struct *tsk = current;

	if (WARN_ON_ONCE(!tsk || !tsk->mm))
		return -EINVAL;
	return (unsigned long)do_mremap(tsk->mm, addr, old_len, new_len, flags, new_addr);
}
