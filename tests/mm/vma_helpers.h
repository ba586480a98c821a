/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the address-space tests (tests/mm/{vma,mmap,task,fork,madvise,
 * mlock}_*.c): a machine per case, a process attached to the test thread,
 * and short ways to map memory and look at the VMAs.
 */
#ifndef PINMM_TESTS_MM_VMA_HELPERS_H
#define PINMM_TESTS_MM_VMA_HELPERS_H

#include "../lib/machine.h"

#include "mm/vma.h"

#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>

/* The machine every case boots: 128 MiB, 32 MiB movable, 16 MiB CMA. */
static inline void vt_boot(void)
{
	test_boot(128, 32, 16);
}

/* A new process, attached to this thread as current. */
static inline struct task_struct *vt_process(const char *comm)
{
	struct task_struct *t = pinmm_task_create(comm);

	if (!t)
		bail_out("pinmm_task_create(%s) failed", comm);
	pinmm_task_attach(t);
	return t;
}

static inline unsigned long vt_mmap(unsigned long addr, unsigned long len, unsigned long prot,
				    unsigned long flags)
{
	return vm_mmap(NULL, addr, len, prot, flags | MAP_ANONYMOUS, 0);
}

/* The VMA containing @addr in current->mm, looked up under mmap_lock. */
static inline struct vm_area_struct *vt_vma(unsigned long addr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	mmap_read_unlock(mm);
	return vma;
}

/* Number of VMAs of @mm; -1 if its tree, list and map_count disagree. */
static inline int vt_nr_vmas(struct mm_struct *mm)
{
	int n;

	mmap_read_lock(mm);
	n = vma_tree_consistent(mm) ? mm->map_count : -1;
	mmap_read_unlock(mm);
	return n;
}

#endif /* PINMM_TESTS_MM_VMA_HELPERS_H */
