/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the VMA layer (src/mm, Part A): what task.c, fork.c,
 * mmap.c, madvise.c and mlock.c share. Sections are headed by the file that
 * owns the functions. Not a public header.
 */
#ifndef PINMM_SRC_MM_VMA_H
#define PINMM_SRC_MM_VMA_H

#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/rmap.h>

#include <errno.h>

/* Linux's default vm.max_map_count: more VMAs than this and splits fail. */
#define DEFAULT_MAX_MAP_COUNT	65530

/* free_pgd_range()'s ceiling for "up to the top of the address space". */
#define USER_PGTABLES_CEILING	0UL

/* Where the mmap area of a new mm starts; it grows down from here. */
#define PINMM_MMAP_BASE		0x7f0000000000UL

/* ---- vma.c ---------------------------------------------------------------- */

/* A zeroed VMA of @mm, not linked; NULL on -ENOMEM. */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
/* A copy of @orig (same mm, range, flags, anon_vma pointer), not linked, no chains. */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);
/* Free a vm_area_dup() copy that was never linked (drops its file reference). */
void vm_area_undo_dup(struct vm_area_struct *vma);

/*
 * The file rmap: a VMA that maps a file is on the file's i_mmap list while
 * it is linked in its mm (vma_link_file() after vma_link(); unlink_file_vma()
 * after its pages are zapped), so truncation and writeback find every PTE.
 * Shared writable ones are counted in i_mmap_writable (memfd write seals).
 */
void vma_link_file(struct vm_area_struct *vma);
void unlink_file_vma(struct vm_area_struct *vma);
/* One more writable shared mapping: -EPERM if F_SEAL_WRITE denies them. */
int mapping_map_writable(struct address_space *mapping);
void mapping_unmap_writable(struct address_space *mapping);

/* Link @vma into @mm's tree and list (mmap_lock held for writing); map_count++. */
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma);
/* Take @vma out of the tree and list; map_count--. */
void vma_unlink(struct mm_struct *mm, struct vm_area_struct *vma);

/* The VMA before @vma in address order, or NULL. */
struct vm_area_struct *vma_prev(struct vm_area_struct *vma);
/* The highest VMA of @mm, or NULL. */
struct vm_area_struct *vma_last(struct mm_struct *mm);

int __split_vma(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long addr,
		int new_below);
int split_vma(struct mm_struct *mm, struct vm_area_struct *vma, unsigned long addr,
	      int new_below);
struct vm_area_struct *vma_isolate_range(struct mm_struct *mm, struct vm_area_struct *vma,
					 unsigned long start, unsigned long end, int *err);
struct vm_area_struct *vma_merge_prev(struct mm_struct *mm, struct vm_area_struct *vma);
struct vm_area_struct *vma_merge_next(struct mm_struct *mm, struct vm_area_struct *vma);
/* Move @vma's end to @end (mremap growing or shrinking in place), rmap locks held meanwhile. */
void vma_set_end(struct vm_area_struct *vma, unsigned long end);
/* Take / drop the rmap locks of @vma (i_mmap, then anon_vma root) for writing. */
void vma_rmap_lock(struct vm_area_struct *vma);
void vma_rmap_unlock(struct vm_area_struct *vma);

/*
 * A walk that changes vm_flags over a range (mprotect, madvise, mlock): for
 * each VMA, ->newflags computes its flags (or refuses with an errno);
 * VMAs whose flags change are split to the range, updated, passed to
 * ->apply, and merged with their neighbours.
 */
struct vma_flags_op {
	int (*newflags)(struct vm_area_struct *vma, vm_flags_t *flags, void *arg);
	int (*apply)(struct vm_area_struct *vma, vm_flags_t oldflags, void *arg);
	void *arg;
	bool holes_at_end;	/* madvise: finish the range, then report -ENOMEM */
};
int vma_modify_flags_range(struct mm_struct *mm, unsigned long start, unsigned long end,
			   const struct vma_flags_op *op);

/* Check the tree, the list and map_count against each other (debug, tests). */
bool vma_tree_consistent(struct mm_struct *mm);

/* ---- mmap.c --------------------------------------------------------------- */

int do_munmap(struct mm_struct *mm, unsigned long start, size_t len);
/*
 * A free range of @len bytes for a new mapping: @addr if it is free, else
 * top-down from mmap_base; PMD-aligned when @thp_align and @len >= 2 MiB.
 * Return: the address, or -ENOMEM as an IS_ERR_VALUE() address.
 */
unsigned long get_unmapped_area(struct mm_struct *mm, bool thp_align,
				unsigned long addr, unsigned long len);
/* Fault in [start, end) of @mm as mlock/MAP_POPULATE do; mmap_lock held for reading. */
int mm_populate_locked(struct mm_struct *mm, unsigned long start, unsigned long end,
		       bool ignore_errors);
/* Free one detached VMA whose anon_vma chains are gone: ->close, free. */
void remove_vma(struct vm_area_struct *vma);

/* ---- task.c --------------------------------------------------------------- */

/* A task around @mm (whose user reference it takes over), or NULL (@gfp: kzalloc's). */
struct task_struct *pinmm_task_alloc(const char *comm, struct mm_struct *mm,
				     struct task_struct *parent, gfp_t gfp);

#endif /* PINMM_SRC_MM_VMA_H */
