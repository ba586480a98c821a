/* SPDX-License-Identifier: MIT */
/*
 * A process for a test to act as, and looks at what its page tables map.
 * Shared by the address-space, migration and pinning tests.
 */
#ifndef PINMM_TEST_PROCESS_H
#define PINMM_TEST_PROCESS_H

#include "tap.h"

#include <pinmm/memory.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>

/* A new process with an empty mm, attached to the calling thread as current. */
static inline struct task_struct *test_process(const char *comm)
{
	struct task_struct *t = pinmm_task_create(comm);

	if (!t)
		bail_out("pinmm_task_create(%s) failed", comm);
	pinmm_task_attach(t);
	return t;
}

/* Write one word at a user address of current through the CPU path (put_user). */
static inline int test_put_word(unsigned long addr, unsigned long v)
{
	return put_user(v, (unsigned long __user *)addr);
}

/* Read one word at a user address of current (get_user); ~0 when the access fails. */
static inline unsigned long test_get_word(unsigned long addr)
{
	unsigned long v = ~0UL;

	if (get_user(v, (unsigned long __user *)addr))
		return ~0UL;
	return v;
}

/* An anonymous mapping at exactly @addr in current->mm (MAP_FIXED). */
static inline unsigned long test_mmap_fixed(unsigned long addr, unsigned long len,
					    unsigned long prot, unsigned long flags)
{
	unsigned long a = vm_mmap(NULL, addr, len, prot, flags | MAP_ANONYMOUS | MAP_FIXED, 0);

	if (a != addr)
		bail_out("vm_mmap(%#lx, %#lx) = %#lx", addr, len, a);
	return a;
}

/* What maps @addr in @mm: the PTE, or the PMD leaf (then *@leaf); 0 if nothing. */
static inline unsigned long test_pt_entry(struct mm_struct *mm, unsigned long addr, bool *leaf)
{
	unsigned long val = 0;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;

	*leaf = false;
	mmap_read_lock(mm);
	pmd = mm_find_pmd(mm, addr);
	if (pmd && pmd_leaf(pmdp_get(pmd))) {
		*leaf = true;
		val = pmd_val(pmdp_get(pmd));
	} else if (pmd && (pte = pte_offset_map_lock(mm, pmd, addr, &ptl))) {
		val = pte_val(ptep_get(pte));
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mm);
	return val;
}

/* The pfn mapped at @addr (through a PTE or inside a PMD leaf), or -1UL. */
static inline unsigned long test_pt_pfn(struct mm_struct *mm, unsigned long addr)
{
	bool leaf;
	unsigned long v = test_pt_entry(mm, addr, &leaf);

	if (!(v & _PAGE_PRESENT))
		return -1UL;
	if (leaf)
		return pmd_pfn(__pmd(v)) + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
	return pte_pfn(__pte(v));
}

/* Is @addr mapped by a PMD leaf (a PMD-mapped THP)? */
static inline bool test_pmd_mapped(struct mm_struct *mm, unsigned long addr)
{
	bool leaf;

	return test_pt_entry(mm, addr, &leaf) && leaf;
}

#endif /* PINMM_TEST_PROCESS_H */
