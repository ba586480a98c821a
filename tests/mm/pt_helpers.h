/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the page-table, fault, COW, THP, rmap and uaccess tests
 * (tests/mm/{pt,fault,cow,thp,rmap,uaccess}_*.c): a machine and a process per
 * case, a look at the entry that maps an address, and the teardown check.
 */
#ifndef PINMM_TESTS_MM_PT_HELPERS_H
#define PINMM_TESTS_MM_PT_HELPERS_H

#include "../lib/process.h"
#include "../lib/machine.h"

#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/pagemap.h>
#include <pinmm/rcupdate.h>
#include <pinmm/rmap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>

#define PT_BASE	0x600000000UL		/* 2 MiB (and 1 GiB) aligned */
#define PT_RW	(PROT_READ | PROT_WRITE)

static inline void pt_boot(void)
{
	test_boot(128, 32, 16);
}

/* The VMA of @addr (looked up under mmap_lock; valid while nothing unmaps it). */
static inline struct vm_area_struct *pt_vma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	mmap_read_unlock(mm);
	return vma;
}

static inline pte_t pt_pte(struct mm_struct *mm, unsigned long addr)
{
	bool leaf;

	return __pte(test_pt_entry(mm, addr, &leaf));
}

static inline struct folio *pt_folio(struct mm_struct *mm, unsigned long addr)
{
	unsigned long pfn = test_pt_pfn(mm, addr);

	return pfn == -1UL || is_zero_pfn(pfn) ? NULL : pfn_folio(pfn);
}

/* Write / read one word at a user address through the CPU path. */
#define pt_put	test_put_word
#define pt_get	test_get_word

static inline unsigned long ev(enum vm_event_item e)
{
	return global_vm_event(e);
}

/*
 * The end of every case: the tasks exit, tables come back after a grace
 * period, only the zero page stays allocated, then the standard teardown.
 */
static inline void pt_teardown(const char *name, struct task_struct **tasks, int n)
{
	pinmm_task_detach();
	for (int i = 0; i < n; i++)
		if (tasks[i])
			pinmm_task_exit(tasks[i]);
	rcu_barrier();
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 0,
	       "%s: teardown: nr_anon_pages back to 0 (every mapping dropped)", name);
	is_int(global_node_page_state_snapshot(NR_PAGETABLE), 0,
	       "%s: teardown: every page table freed (nr_page_table_pages 0)", name);
	is_uint(pinmm_frames_in_use(), 1,
		"%s: teardown: only the zero page is still allocated", name);
	test_shutdown_ok(name);
}

#endif /* PINMM_TESTS_MM_PT_HELPERS_H */
