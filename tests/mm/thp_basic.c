// SPDX-License-Identifier: MIT
/*
 * Transparent huge pages (Linux mm/huge_memory.c): a PMD-mapped order-9 folio
 * for a write fault in an aligned MADV_HUGEPAGE range, PMD split on a partial
 * munmap/mprotect, COW of one 4 KiB after fork, folio split refused while
 * extra references exist. A read fault on a read-only PMD leaf only marks it
 * accessed: only a write or unshare fault goes to do_huge_pmd_wp_page()
 * (Linux mm/memory.c __handle_mm_fault()).
 */
#include "pt_helpers.h"

#include <pinmm/pagemap.h>

static void fault_and_partial_munmap(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct folio *folio;
	unsigned long pfn0, alloc0 = ev(THP_FAULT_ALLOC), split0;
	bool leaf, pfns = true, data = true;
	unsigned long v __maybe_unused;

	pt_boot();
	t = test_process("thp");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, 2 * PMD_SIZE, PT_RW, MAP_PRIVATE);
	is_int(do_madvise(mm, PT_BASE, 2 * PMD_SIZE, MADV_HUGEPAGE), 0, "thp: MADV_HUGEPAGE");
	pt_put(PT_BASE + 5 * PAGE_SIZE, 0xabc);
	test_pt_entry(mm, PT_BASE, &leaf);
	folio = pt_folio(mm, PT_BASE);
	ok(leaf && folio && folio_order(folio) == HPAGE_PMD_ORDER,
	   "thp: a write fault in an aligned VM_HUGEPAGE range maps an order-9 folio by a PMD leaf");
	is_uint(ev(THP_FAULT_ALLOC) - alloc0, 1, "thp: thp_fault_alloc counts it");
	is_int(global_node_page_state_snapshot(NR_ANON_THPS), 1, "thp: nr_anon_transparent_hugepages is 1");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), HPAGE_PMD_NR,
	       "thp: nr_anon_pages counts its 512 pages");
	is_int(get_mm_counter(mm, MM_ANONPAGES), HPAGE_PMD_NR, "thp: rss counts 512 pages");
	ok(folio_entire_mapcount(folio) == 1 && folio_mapcount(folio) == 1 &&
	   folio_ref_count(folio) == 1 && PageAnonExclusive(&folio->page),
	   "thp: entire mapcount 1, one reference, exclusive (head page)");
	is_uint(pt_get(PT_BASE + 5 * PAGE_SIZE), 0xabc, "thp: the write reads back");
	is_uint(pt_get(PT_BASE + 6 * PAGE_SIZE), 0, "thp: the rest is zeroed");

	pfn0 = folio_pfn(folio);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		pt_put(PT_BASE + i * PAGE_SIZE, 0x1000 + i);
	split0 = ev(THP_SPLIT_PMD);
	is_int(vm_munmap(PT_BASE + 100 * PAGE_SIZE, PAGE_SIZE), 0,
	       "thp: munmap of one 4 KiB in the middle succeeds");
	test_pt_entry(mm, PT_BASE, &leaf);
	ok(!leaf, "thp: the PMD was split into a PTE table (split_huge_pmd)");
	is_uint(ev(THP_SPLIT_PMD) - split0, 1, "thp: thp_split_pmd counts it");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		if (i == 100)
			continue;
		pfns &= test_pt_pfn(mm, PT_BASE + i * PAGE_SIZE) == pfn0 + i;
		data &= pt_get(PT_BASE + i * PAGE_SIZE) == 0x1000 + i;
	}
	ok(pfns, "thp: the other 511 pages keep their pfns");
	ok(data, "thp: and their data");
	ok(pte_write(pt_pte(mm, PT_BASE)) && pte_dirty(pt_pte(mm, PT_BASE)) &&
	   PageAnonExclusive(pfn_to_page(pfn0 + 7)),
	   "thp: the PTEs keep the PMD's write and dirty bits, the pages their exclusivity");
	is_uint(test_pt_pfn(mm, PT_BASE + 100 * PAGE_SIZE), -1UL, "thp: the unmapped page has no PTE");
	is_int(get_user(v, (unsigned long __user *)(PT_BASE + 100 * PAGE_SIZE)), -EFAULT,
	       "thp: an access to the unmapped page faults as missing (-EFAULT)");
	ok(folio_mapcount(folio) == HPAGE_PMD_NR - 1 && folio_entire_mapcount(folio) == 0 &&
	   folio_ref_count(folio) == HPAGE_PMD_NR - 1,
	   "thp: the folio is mapped by 511 PTEs, no PMD, one reference per PTE");
	is_int(global_node_page_state_snapshot(NR_ANON_THPS), 0, "thp: no PMD-mapped THP any more");
	is_int(get_mm_counter(mm, MM_ANONPAGES), HPAGE_PMD_NR - 1, "thp: rss is 511 pages");

	/* mprotect of 4 KiB inside a second THP also splits only its PMD */
	pt_put(PT_BASE + PMD_SIZE, 1);
	test_pt_entry(mm, PT_BASE + PMD_SIZE, &leaf);
	ok(leaf, "thp: the second 2 MiB gets its own THP");
	do_mprotect(PT_BASE + PMD_SIZE + 3 * PAGE_SIZE, PAGE_SIZE, PROT_READ);
	test_pt_entry(mm, PT_BASE + PMD_SIZE, &leaf);
	ok(!leaf && !pte_write(pt_pte(mm, PT_BASE + PMD_SIZE + 3 * PAGE_SIZE)) &&
	   pte_write(pt_pte(mm, PT_BASE + PMD_SIZE + 4 * PAGE_SIZE)),
	   "thp: mprotect of one 4 KiB splits the PMD and write-protects only that page");
	pt_teardown("fault_and_partial_munmap", &t, 1);
}

static void cow_after_fork(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	struct folio *folio;
	bool leaf, cleaf, shared = true;

	pt_boot();
	t = test_process("thpfork");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, PMD_SIZE, PT_RW, MAP_PRIVATE);
	do_madvise(mm, PT_BASE, PMD_SIZE, MADV_HUGEPAGE);
	pt_put(PT_BASE, 7);
	folio = pt_folio(mm, PT_BASE);
	pinmm_fork(t, "child", &child);
	cmm = child->mm;
	pinmm_task_attach(t);
	test_pt_entry(mm, PT_BASE, &leaf);
	test_pt_entry(cmm, PT_BASE, &cleaf);
	ok(leaf && cleaf && test_pt_pfn(cmm, PT_BASE) == test_pt_pfn(mm, PT_BASE),
	   "thp: fork shares the THP: both map it by a PMD leaf (copy_huge_pmd)");
	ok(folio_entire_mapcount(folio) == 2 && !PageAnonExclusive(&folio->page) &&
	   !pmd_write(__pmd(test_pt_entry(mm, PT_BASE, &leaf))),
	   "thp: entire mapcount 2, not exclusive, both PMDs write-protected");
	{
		struct vm_area_struct *vma;
		vm_fault_t ret;
		pmd_t pmd;

		/* a spurious read fault (fixup_user_fault() for reading, say) */
		mmap_read_lock(mm);
		vma = vma_lookup(mm, PT_BASE);
		ret = handle_mm_fault(vma, PT_BASE + 3 * PAGE_SIZE, FAULT_FLAG_USER, NULL);
		mmap_read_unlock(mm);
		pmd = __pmd(test_pt_entry(mm, PT_BASE, &leaf));
		ok(!(ret & VM_FAULT_ERROR) && leaf && !pmd_write(pmd) &&
		   test_pt_pfn(mm, PT_BASE) == folio_pfn(folio) && folio_entire_mapcount(folio) == 2,
		   "thp: a read fault on the read-only PMD leaves it: the same THP, shared, read-only "
		   "(__handle_mm_fault: only write and unshare faults COW)");
	}
	pt_put(PT_BASE + 9 * PAGE_SIZE, 99);
	test_pt_entry(mm, PT_BASE, &leaf);
	ok(!leaf && test_pt_pfn(mm, PT_BASE + 9 * PAGE_SIZE) != folio_pfn(folio) + 9,
	   "thp: a write splits the parent's PMD and COWs only the written 4 KiB");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (i != 9)
			shared &= test_pt_pfn(mm, PT_BASE + i * PAGE_SIZE) == folio_pfn(folio) + i;
	ok(shared, "thp: the other 511 pages stay shared with the child");
	pinmm_task_attach(child);
	is_uint(pt_get(PT_BASE + 9 * PAGE_SIZE), 0, "thp: the child still sees the old data");
	is_uint(pt_get(PT_BASE), 7, "thp: ... and what was there at fork");
	pinmm_task_attach(t);
	pt_teardown("cow_after_fork", (struct task_struct *[]){ t, child }, 2);
}

static void policy_and_fallback(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	bool leaf;

	pt_boot();
	t = test_process("policy");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, 3 * PMD_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE, 1);
	test_pt_entry(mm, PT_BASE, &leaf);
	ok(!leaf, "thp: \"madvise\" mode (default): no THP without MADV_HUGEPAGE");
	pinmm_thp_set_mode(THP_MODE_ALWAYS);
	pt_put(PT_BASE + PMD_SIZE, 1);
	test_pt_entry(mm, PT_BASE + PMD_SIZE, &leaf);
	ok(leaf, "thp: \"always\" mode: a THP without madvise");
	pt_get(PT_BASE + 2 * PMD_SIZE);
	test_pt_entry(mm, PT_BASE + 2 * PMD_SIZE, &leaf);
	ok(leaf && is_huge_zero_pfn(test_pt_pfn(mm, PT_BASE + 2 * PMD_SIZE)),
	   "thp: a read fault maps the huge zero folio by a PMD (do_huge_pmd_anonymous_page)");
	pinmm_thp_set_mode(THP_MODE_NEVER);
	zap_page_range_single(pt_vma(mm, PT_BASE + PMD_SIZE), PT_BASE + PMD_SIZE, PMD_SIZE);
	pt_put(PT_BASE + PMD_SIZE, 1);
	test_pt_entry(mm, PT_BASE + PMD_SIZE, &leaf);
	ok(!leaf, "thp: \"never\" mode: small pages only");
	pinmm_thp_set_mode(THP_MODE_MADVISE);
	pt_teardown("policy_and_fallback", &t, 1);
}

static void split_folio_refs(void)
{
	struct folio *folio;
	unsigned long used;

	pt_boot();
	folio = folio_alloc(GFP_HIGHUSER_MOVABLE, HPAGE_PMD_ORDER);
	used = pinmm_frames_in_use();
	folio_lock(folio);
	folio_get(folio);
	is_int(split_folio(folio), -EAGAIN,
	       "thp: split_folio fails with -EAGAIN while an extra reference (GET/pin) exists");
	ok(folio_test_large(folio) && folio_order(folio) == HPAGE_PMD_ORDER,
	   "thp: ... and leaves the folio whole");
	folio_put(folio);
	is_int(split_folio(folio), 0, "thp: split_folio succeeds once only the caller's reference is left");
	ok(!folio_test_large(folio) && folio_ref_count(folio) == 1 && folio_test_locked(folio),
	   "thp: the caller keeps an order-0 folio, referenced and locked");
	is_uint(pinmm_frames_in_use(), used - (HPAGE_PMD_NR - 1),
		"thp: the 511 unreferenced pages went back to the allocator");
	folio_unlock(folio);
	folio_put(folio);
	is_uint(pinmm_frames_in_use(), 1, "thp: teardown: only the zero page is still allocated");
	test_shutdown_ok("split_folio_refs");
}

int main(void)
{
	plan_no_plan();
	fault_and_partial_munmap();
	cow_after_fork();
	policy_and_fallback();
	split_folio_refs();
	return done_testing();
}
