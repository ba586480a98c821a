// SPDX-License-Identifier: MIT
/*
 * VMAs: the per-mm tree and list, lookup, split and merge.
 *
 * Each mm keeps its VMAs in a red-black tree keyed by vm_start (lookups in
 * O(log n)) and in an address-ordered list (neighbours and walks in O(1)).
 * VMAs never overlap, so ordering by vm_start also orders them by vm_end,
 * which is what lets find_vma() descend the tree by either bound.
 *
 * Every change holds mmap_lock for writing; lookups hold it in any mode.
 */
#include "vma.h"

#include <pinmm/fs.h>
#include <pinmm/slab.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation ----------------------------------------------------------- */

static void vma_init_links(struct vm_area_struct *vma)
{
	RB_CLEAR_NODE(&vma->vm_rb);
	INIT_LIST_HEAD(&vma->vm_list);
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->shared);
}

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = kzalloc(sizeof(*vma), GFP_KERNEL);

	if (!vma)
		return NULL;
	vma->vm_mm = mm;
	vma_init_links(vma);
	return vma;
}

struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *vma = kmalloc(sizeof(*vma), GFP_KERNEL);

	if (!vma)
		return NULL;
	*vma = *orig;
	/* The copy shares the anon_vma pointer but none of the links. */
	vma_init_links(vma);
	/* ... and holds its own reference on the file it maps */
	if (vma->vm_file)
		get_file(vma->vm_file);
	return vma;
}

void vm_area_undo_dup(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		fput(vma->vm_file);
	vm_area_free(vma);
}

void vm_area_free(struct vm_area_struct *vma)
{
	if (IS_ENABLED_DEBUG_VM)
		memset(vma, 0x6b, sizeof(*vma));	/* use-after-free shows as 0x6b6b... */
	kfree(vma);
}

/* ---- the file rmap: i_mmap ------------------------------------------------ */

static bool vma_is_shared_maywrite(const struct vm_area_struct *vma)
{
	return (vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) == (VM_SHARED | VM_MAYWRITE);
}

int mapping_map_writable(struct address_space *mapping)
{
	int v = atomic_load(&mapping->i_mmap_writable);

	/* negative: F_SEAL_WRITE denies writable shared mappings */
	do {
		if (v < 0)
			return -EPERM;
	} while (!atomic_compare_exchange_weak(&mapping->i_mmap_writable, &v, v + 1));
	return 0;
}

void mapping_unmap_writable(struct address_space *mapping)
{
	atomic_fetch_sub(&mapping->i_mmap_writable, 1);
}

void vma_link_file(struct vm_area_struct *vma)
{
	struct address_space *mapping;

	if (!vma->vm_file)
		return;
	mapping = vma->vm_file->f_mapping;
	i_mmap_lock_write(mapping);
	if (vma_is_shared_maywrite(vma))
		atomic_fetch_add(&mapping->i_mmap_writable, 1);
	list_add_tail(&vma->shared, &mapping->i_mmap);
	i_mmap_unlock_write(mapping);
}

void unlink_file_vma(struct vm_area_struct *vma)
{
	struct address_space *mapping;

	if (!vma->vm_file || list_empty(&vma->shared))
		return;
	mapping = vma->vm_file->f_mapping;
	i_mmap_lock_write(mapping);
	if (vma_is_shared_maywrite(vma))
		mapping_unmap_writable(mapping);
	list_del_init(&vma->shared);
	i_mmap_unlock_write(mapping);
}

/*
 * File rmap walkers read a VMA's bounds and offset under i_mmap_rwsem, not
 * mmap_lock: changing them takes it for writing (before the anon_vma lock,
 * as Linux's vma_prepare() does).
 */
static struct address_space *vma_file_lock(struct vm_area_struct *vma)
{
	struct address_space *mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;

	if (mapping)
		i_mmap_lock_write(mapping);
	return mapping;
}

static void vma_file_unlock(struct address_space *mapping)
{
	if (mapping)
		i_mmap_unlock_write(mapping);
}

/* ---- tree and list -------------------------------------------------------- */

static inline struct vm_area_struct *rb_vma(struct rb_node *n)
{
	return rb_entry_safe(n, struct vm_area_struct, vm_rb);
}

/*
 * rmap walkers (migration, THP split) read a VMA's bounds and offset under
 * the anon_vma lock, not mmap_lock: moving a boundary of a VMA with an
 * anon_vma takes that lock for writing, as Linux's vma_prepare() does.
 */
static struct anon_vma *vma_anon_lock(struct vm_area_struct *vma)
{
	struct anon_vma *av = vma->anon_vma;

	if (av)
		down_write(&av->root->rwsem);
	return av;
}

static void vma_anon_unlock(struct anon_vma *av)
{
	if (av)
		up_write(&av->root->rwsem);
}

void vma_link(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct rb_node **link = &mm->mm_rb.rb_node, *parent = NULL;
	struct vm_area_struct *prev = NULL, *cur;

	mmap_assert_write_locked(mm);
	VM_BUG_ON(vma->vm_start >= vma->vm_end);
	VM_BUG_ON(!IS_ALIGNED(vma->vm_start, PAGE_SIZE) || !IS_ALIGNED(vma->vm_end, PAGE_SIZE));
	while (*link) {
		parent = *link;
		cur = rb_vma(parent);
		if (vma->vm_start < cur->vm_start) {
			VM_BUG_ON(vma->vm_end > cur->vm_start);
			link = &parent->rb_left;
		} else {
			VM_BUG_ON(vma->vm_start < cur->vm_end);
			prev = cur;	/* the last node we passed on the left is the predecessor */
			link = &parent->rb_right;
		}
	}
	rb_link_node(&vma->vm_rb, parent, link);
	rb_insert_color(&vma->vm_rb, &mm->mm_rb);
	list_add(&vma->vm_list, prev ? &prev->vm_list : &mm->mmap_list);
	/*
	 * Every caller made the VMA for @mm already (vm_area_alloc, or a dup in
	 * fork/split that set it), and fork/split have linked it into its
	 * anon_vma first, so rmap walkers may read vm_mm now without any lock
	 * of ours: do not store it again (TSan: race with try_to_migrate_one).
	 */
	if (WARN_ON_ONCE(vma->vm_mm != mm))
		vma->vm_mm = mm;
	mm->map_count++;
}

void vma_unlink(struct mm_struct *mm, struct vm_area_struct *vma)
{
	mmap_assert_write_locked(mm);
	rb_erase(&vma->vm_rb, &mm->mm_rb);
	RB_CLEAR_NODE(&vma->vm_rb);
	list_del_init(&vma->vm_list);
	mm->map_count--;
}

struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	struct rb_node *node = mm->mm_rb.rb_node;
	struct vm_area_struct *found = NULL;

	mmap_assert_locked(mm);
	while (node) {
		struct vm_area_struct *vma = rb_vma(node);

		if (vma->vm_end > addr) {
			found = vma;
			if (vma->vm_start <= addr)
				break;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, unsigned long start,
					     unsigned long end)
{
	struct vm_area_struct *vma = find_vma(mm, start);

	return vma && vma->vm_start < end ? vma : NULL;
}

struct vm_area_struct *vma_next(struct vm_area_struct *vma)
{
	struct list_head *head = &vma->vm_mm->mmap_list;

	return vma->vm_list.next == head ? NULL :
		list_entry(vma->vm_list.next, struct vm_area_struct, vm_list);
}

struct vm_area_struct *vma_prev(struct vm_area_struct *vma)
{
	struct list_head *head = &vma->vm_mm->mmap_list;

	return vma->vm_list.prev == head ? NULL :
		list_entry(vma->vm_list.prev, struct vm_area_struct, vm_list);
}

struct vm_area_struct *vma_first(struct mm_struct *mm)
{
	mmap_assert_locked(mm);
	return list_first_entry_or_null(&mm->mmap_list, struct vm_area_struct, vm_list);
}

struct vm_area_struct *vma_last(struct mm_struct *mm)
{
	return list_empty(&mm->mmap_list) ? NULL :
		list_last_entry(&mm->mmap_list, struct vm_area_struct, vm_list);
}

bool vma_tree_consistent(struct mm_struct *mm)
{
	struct rb_node *node = rb_first(&mm->mm_rb);
	struct vm_area_struct *vma;
	unsigned long last_end = 0;
	int n = 0;

	list_for_each_entry(vma, &mm->mmap_list, vm_list) {
		if (!node || rb_vma(node) != vma || vma->vm_mm != mm)
			return false;
		if (vma->vm_start >= vma->vm_end || vma->vm_start < last_end ||
		    !IS_ALIGNED(vma->vm_start, PAGE_SIZE) || !IS_ALIGNED(vma->vm_end, PAGE_SIZE))
			return false;
		last_end = vma->vm_end;
		node = rb_next(node);
		n++;
	}
	return !node && n == mm->map_count;
}

void vma_set_end(struct vm_area_struct *vma, unsigned long end)
{
	struct address_space *mapping;
	struct anon_vma *av;

	mmap_assert_write_locked(vma->vm_mm);
	VM_BUG_ON(end <= vma->vm_start || !IS_ALIGNED(end, PAGE_SIZE));
	mapping = vma_file_lock(vma);
	av = vma_anon_lock(vma);
	vma->vm_end = end;
	vma_anon_unlock(av);
	vma_file_unlock(mapping);
}

void vma_rmap_lock(struct vm_area_struct *vma)
{
	vma_file_lock(vma);
	vma_anon_lock(vma);
}

void vma_rmap_unlock(struct vm_area_struct *vma)
{
	vma_anon_unlock(vma->anon_vma);
	vma_file_unlock(vma->vm_file ? vma->vm_file->f_mapping : NULL);
}

/* ---- split ------------------------------------------------------------------ */

/**
 * __split_vma() - cut @vma in two at @addr.
 * @mm: the mm of @vma.
 * @vma: the VMA; @addr must lie strictly inside it.
 * @addr: page-aligned split point.
 * @new_below: 1: the new VMA is the part below @addr; 0: the part above.
 *
 * The new VMA shares the anon_vma (anon_vma_clone()), its vm_pgoff follows
 * the offset of its start, and PMD-mapped THPs across @addr are split first
 * (vma_adjust_trans_huge()), since no PMD can map across a VMA boundary.
 * Context: mmap_lock held for writing.
 * Return: 0, or -ENOMEM with @vma unchanged.
 */
int __split_vma(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long addr,
		int new_below)
{
	struct address_space *mapping;
	struct vm_area_struct *new;
	struct anon_vma *av;
	int err;

	mmap_assert_write_locked(mm);
	VM_BUG_ON(addr <= vma->vm_start || addr >= vma->vm_end);
	VM_BUG_ON(!IS_ALIGNED(addr, PAGE_SIZE));
	if (vma->vm_ops && vma->vm_ops->may_split) {
		err = vma->vm_ops->may_split(vma, addr);
		if (err)
			return err;
	}

	new = vm_area_dup(vma);
	if (!new)
		return -ENOMEM;
	if (new_below) {
		new->vm_end = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
	}
	err = anon_vma_clone(new, vma);
	if (err) {
		vm_area_undo_dup(new);
		return err;
	}
	if (new->vm_ops && new->vm_ops->open)
		new->vm_ops->open(new);

	/* While @vma still spans both halves: split huge PMDs across @addr. */
	if (new_below)
		vma_adjust_trans_huge(vma, addr, vma->vm_end);
	else
		vma_adjust_trans_huge(vma, vma->vm_start, addr);

	/*
	 * Moving vm_start up keeps @vma's place in the tree: no other VMA
	 * starts in the range it gives up, and @new is linked after.
	 */
	mapping = vma_file_lock(vma);
	av = vma_anon_lock(vma);
	if (new_below) {
		vma->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
		vma->vm_start = addr;
	} else {
		vma->vm_end = addr;
	}
	vma_anon_unlock(av);
	vma_file_unlock(mapping);
	vma_link(mm, new);
	vma_link_file(new);
	return 0;
}

/**
 * split_vma() - __split_vma(), refused when the mm already has the most VMAs
 * it may have (vm.max_map_count).
 * @mm: the mm of @vma.
 * @vma: the VMA.
 * @addr: split point inside @vma.
 * @new_below: which half is new.
 *
 * Context: mmap_lock held for writing.
 * Return: 0 or -ENOMEM.
 */
int split_vma(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long addr,
	      int new_below)
{
	if (mm->map_count >= DEFAULT_MAX_MAP_COUNT)
		return -ENOMEM;
	return __split_vma(mm, vma, addr, new_below);
}

/**
 * vma_isolate_range() - split @vma so that a VMA covers exactly its part
 * inside [@start, @end).
 * @mm: the mm.
 * @vma: a VMA that overlaps [@start, @end).
 * @start: first byte.
 * @end: first byte after.
 * @err: the error when NULL is returned.
 *
 * Context: mmap_lock held for writing.
 * Return: the VMA covering max(@start, vm_start) .. min(@end, vm_end), or
 * NULL with *@err = -ENOMEM (a split made before the failure stays).
 */
struct vm_area_struct *vma_isolate_range(struct mm_struct *mm, struct vm_area_struct *vma,
					 unsigned long start, unsigned long end, int *err)
{
	if (vma->vm_start < start) {
		*err = split_vma(mm, vma, start, 0);
		if (*err)
			return NULL;
		vma = vma_next(vma);
	}
	if (vma->vm_end > end) {
		*err = split_vma(mm, vma, end, 0);
		if (*err)
			return NULL;
	}
	*err = 0;
	return vma;
}

/* ---- merge -------------------------------------------------------------------- */

/*
 * May @a and the VMA @b right above it become one? Linux's rules: the same
 * flags, object and operations, contiguous offsets, and anon_vmas that are
 * the same or can be adopted (one side has none, and the other's anon_vma is
 * its only one, i.e. it is not an anon_vma inherited through fork).
 */
static bool vma_can_merge(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
	if (a->vm_end != b->vm_start)
		return false;
	/* soft-dirty state does not keep VMAs apart (the merge is all dirty) */
	if (((a->vm_flags ^ b->vm_flags) & ~VM_SOFTDIRTY) || (a->vm_flags & VM_SPECIAL))
		return false;
	if (a->vm_file != b->vm_file || a->vm_ops != b->vm_ops ||
	    a->vm_private_data != b->vm_private_data ||
	    a->vm_userfaultfd_ctx != b->vm_userfaultfd_ctx)
		return false;
	if (a->vm_ops && a->vm_ops->close)
		return false;
	if (a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) != b->vm_pgoff)
		return false;
	if (a->anon_vma == b->anon_vma)
		return true;
	if (!a->anon_vma)
		return list_is_singular(&b->anon_vma_chain);
	if (!b->anon_vma)
		return list_is_singular(&a->anon_vma_chain);
	return false;
}

/*
 * Fold @b into @a (the VMA right below it); @b is freed. Returns false if
 * @a could not adopt @b's anon_vma, leaving both as they were.
 */
static bool vma_merge_pair(struct mm_struct *mm, struct vm_area_struct *a,
			   struct vm_area_struct *b)
{
	struct address_space *mapping;
	struct anon_vma *av;

	if (!a->anon_vma && b->anon_vma) {
		/* @b's pages are found through its anon_vma: @a must reach it too. */
		__atomic_store_n(&a->anon_vma, b->anon_vma, __ATOMIC_RELEASE);
		if (anon_vma_clone(a, b)) {
			__atomic_store_n(&a->anon_vma, NULL, __ATOMIC_RELEASE);
			return false;
		}
	}
	vma_unlink(mm, b);
	mapping = vma_file_lock(a);
	av = vma_anon_lock(a);
	a->vm_end = b->vm_end;
	if ((b->vm_flags & VM_SOFTDIRTY) && !(a->vm_flags & VM_SOFTDIRTY)) {
		__atomic_store_n(&a->vm_flags, a->vm_flags | VM_SOFTDIRTY, __ATOMIC_RELAXED);
		vma_set_page_prot(a);
	}
	vma_anon_unlock(av);
	vma_file_unlock(mapping);
	unlink_anon_vmas(b);
	unlink_file_vma(b);
	remove_vma(b);
	return true;
}

/**
 * vma_merge_prev() - merge @vma into the VMA right below it if they are
 * compatible.
 * @mm: the mm.
 * @vma: the VMA.
 *
 * Context: mmap_lock held for writing.
 * Return: the VMA that now covers @vma's range (@vma may be freed).
 */
struct vm_area_struct *vma_merge_prev(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct vm_area_struct *prev = vma_prev(vma);

	if (prev && vma_can_merge(prev, vma) && vma_merge_pair(mm, prev, vma))
		return prev;
	return vma;
}

/**
 * vma_merge_next() - merge the VMA right above @vma into it if compatible.
 * @mm: the mm.
 * @vma: the VMA.
 *
 * Context: mmap_lock held for writing.
 * Return: @vma, which may have grown.
 */
struct vm_area_struct *vma_merge_next(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct vm_area_struct *next = vma_next(vma);

	if (next && vma_can_merge(vma, next))
		vma_merge_pair(mm, vma, next);
	return vma;
}

/**
 * vma_modify_flags_range() - change vm_flags over [@start, @end) as @op says.
 * @mm: the mm.
 * @start: page-aligned first byte.
 * @end: page-aligned first byte after.
 * @op: the callbacks (see struct vma_flags_op).
 *
 * VMAs whose flags change are split at @start and @end, updated (vm_flags and
 * vm_page_prot), passed to @op->apply and merged with compatible neighbours,
 * as mprotect_fixup(), madvise_update_vma() and mlock_fixup() do.
 * Context: mmap_lock held for writing.
 * Return: 0; -ENOMEM for a hole in the range (at once, or, with
 * @op->holes_at_end, after the rest was done), or for a failed split; or
 * the first error of a callback. VMAs done before an error stay done.
 */
int vma_modify_flags_range(struct mm_struct *mm, unsigned long start, unsigned long end,
			   const struct vma_flags_op *op)
{
	struct vm_area_struct *vma, *next;
	unsigned long nstart = start, tmp;
	bool hole = false;
	int err = 0;

	mmap_assert_write_locked(mm);
	vma = find_vma(mm, start);
	if (!vma || vma->vm_start >= end)
		return -ENOMEM;
	if (vma->vm_start > start) {
		if (!op->holes_at_end)
			return -ENOMEM;
		hole = true;
		nstart = vma->vm_start;
	}

	for (;;) {
		vm_flags_t flags = vma->vm_flags, old;

		err = op->newflags(vma, &flags, op->arg);
		if (err)
			break;
		tmp = min(vma->vm_end, end);
		if (flags != vma->vm_flags) {
			vma = vma_isolate_range(mm, vma, nstart, tmp, &err);
			if (!vma)
				break;
			old = vma->vm_flags;
			/* rmap walkers read these without mmap_lock (READ_ONCE in Linux). */
			__atomic_store_n(&vma->vm_flags, flags, __ATOMIC_RELAXED);
			vma_set_page_prot(vma);
			if (op->apply)
				err = op->apply(vma, old, op->arg);
			/*
			 * Merge both ways, as vma_merge() does: a neighbour
			 * that already has the new flags needs no change, so
			 * folding one still ahead of the walk is safe.
			 */
			vma = vma_merge_prev(mm, vma);
			vma = vma_merge_next(mm, vma);
			tmp = min(vma->vm_end, end);
			if (err)
				break;
		}
		if (tmp >= end)
			break;
		next = vma_next(vma);
		if (!next || next->vm_start != tmp) {
			if (!op->holes_at_end) {
				err = -ENOMEM;
				break;
			}
			hole = true;
			if (!next || next->vm_start >= end)
				break;
		}
		vma = next;
		nstart = vma->vm_start;
	}
	if (err)
		return err;
	return hole ? -ENOMEM : 0;
}
