// SPDX-License-Identifier: MIT
/*
 * Page-table pages (Linux pgtable-generic / free_pgtables): tables are
 * PageTable frames accounted in nr_page_table_pages and mm->pgtables_bytes,
 * allocated on first touch, freed (after an RCU grace period) when munmap
 * leaves them covering nothing, kept while a neighbour still uses them.
 */
#include "pt_helpers.h"

static void alloc_account_free(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	long tables0;
	pmd_t *pmd;

	pt_boot();
	t = test_process("pt");
	mm = t->mm;
	tables0 = global_node_page_state_snapshot(NR_PAGETABLE);
	is_uint(mm_pgtables_bytes(mm), 0, "pt: a new mm has only its PGD (not in pgtables_bytes)");
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PT_RW, MAP_PRIVATE);
	test_mmap_fixed(PT_BASE + PMD_SIZE, PAGE_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE, 1);
	is_int(global_node_page_state_snapshot(NR_PAGETABLE) - tables0, 3,
	       "pt: the first touch allocates a PUD, a PMD and a PTE table");
	is_uint(mm_pgtables_bytes(mm), 3 * PAGE_SIZE, "pt: pgtables_bytes counts them");
	pmd = mm_find_pmd(mm, PT_BASE);
	ok(pmd && pmd_is_table(pmdp_get(pmd)) &&
	   PageTable(pfn_to_page(pmd_pfn(pmdp_get(pmd)))) &&
	   page_zonenum(pfn_to_page(pmd_pfn(pmdp_get(pmd)))) == ZONE_NORMAL,
	   "pt: a table is a PageTable frame from ZONE_NORMAL (unmovable)");
	pt_put(PT_BASE + PMD_SIZE, 1);
	is_int(global_node_page_state_snapshot(NR_PAGETABLE) - tables0, 4,
	       "pt: a touch 2 MiB away needs one more PTE table only");
	vm_munmap(PT_BASE + PMD_SIZE, PAGE_SIZE);
	rcu_barrier();
	is_int(global_node_page_state_snapshot(NR_PAGETABLE) - tables0, 3,
	       "pt: munmap frees the PTE table that covered nothing else");
	vm_munmap(PT_BASE, PAGE_SIZE);
	rcu_barrier();
	is_uint(mm_pgtables_bytes(mm), PAGE_SIZE,
		"pt: unmapping the last VMA frees the PTE and PMD tables; the PUD table that also "
		"covers FIRST_USER_ADDRESS (the floor) stays until the mm goes (pgd_free)");
	pt_teardown("alloc_account_free", &t, 1);
}

static void lockless_walk_under_rcu(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	pmd_t pmdval, *pmd;
	pte_t *pte;

	pt_boot();
	t = test_process("rcuwalk");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE, 3);
	pmd = mm_find_pmd(mm, PT_BASE);
	pte = pte_offset_map(pmd, PT_BASE, &pmdval);
	ok(pte && pte_present(ptep_get_lockless(pte)),
	   "pt: pte_offset_map maps the PTE inside an RCU read-side section");
	/* munmap clears and frees the table; our section keeps the frame alive */
	vm_munmap(PT_BASE, PAGE_SIZE);
	ok(PageTable(pfn_to_page(pmd_pfn(pmdval))) && pte_none(ptep_get_lockless(pte)),
	   "pt: a table unlinked under a lockless walker is still a table (freed after the grace period)");
	pte_unmap(pte);
	rcu_barrier();
	ok(!PageTable(pfn_to_page(pmd_pfn(pmdval))),
	   "pt: after the grace period the frame went back to the allocator");
	pt_teardown("lockless_walk_under_rcu", &t, 1);
}

int main(void)
{
	plan_no_plan();
	alloc_account_free();
	lockless_walk_under_rcu();
	return done_testing();
}
