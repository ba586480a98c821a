// SPDX-License-Identifier: MIT
/*
 * /proc/PID/clear_refs and /proc/PID/pagemap (Linux: fs/proc/task_mmu.c
 * clear_refs_write(), clear_refs_pte_range(), clear_soft_dirty(),
 * pte_is_pinned(), pagemap_pmd_range()).
 *
 * The rule that concerns pins: clearing soft-dirty write-protects entries so
 * the next write faults and marks them again; a pinned page in a COW mapping
 * is left writable (and soft-dirty), because a device writes it without any
 * fault and because, before PageAnonExclusive, write-protecting it let the
 * next write COW the page away from the pin (Linus, 9348b73c2e1b, 5.10).
 */
#include <pinmm/hugetlb.h>
#include <pinmm/memory.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <pinmm/task_mmu.h>

#include <errno.h>

/* Linux's pte_is_pinned(): a writable PTE of a maybe-pinned page in a COW mapping. */
static bool pte_is_pinned(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	struct folio *folio;

	if (!pte_write(pte))
		return false;
	if (!is_cow_mapping(vma->vm_flags))
		return false;
	if (!mm_flags_test(MMF_HAS_PINNED, vma->vm_mm))
		return false;
	folio = vm_normal_folio(vma, addr, pte);
	return folio && folio_maybe_dma_pinned(folio);
}

static void clear_soft_dirty(struct vm_area_struct *vma, unsigned long addr, pte_t *pte)
{
	pte_t ptent = ptep_get(pte);

	if (pte_present(ptent)) {
		if (pte_is_pinned(vma, addr, ptent))
			return;
		set_pte(pte, pte_clear_soft_dirty(pte_wrprotect(ptent)));
	} else if (is_swap_pte(ptent) && !is_pte_marker(ptent)) {
		set_pte(pte, pte_swp_clear_soft_dirty(ptent));
	}
}

/* No pinned check here: Linux's clear_soft_dirty_pmd() has none either. */
static void clear_soft_dirty_pmd(pmd_t *pmd)
{
	pmd_t val = pmdp_get(pmd);

	if (pmd_leaf(val))
		set_pmd(pmd, pmd_clear_soft_dirty(pmd_wrprotect(val)));
	else if (is_swap_pmd(val))
		set_pmd(pmd, __pmd(pte_val(pte_swp_clear_soft_dirty(__pte(pmd_val(val))))));
}

/* Age an entry (clear_refs 1..3): young bit off, the folio unreferenced. */
static void clear_young(struct vm_area_struct *vma, unsigned long addr, pte_t *pte, int type)
{
	pte_t ptent = ptep_get(pte);
	struct folio *folio;

	if (!pte_present(ptent))
		return;
	folio = vm_normal_folio(vma, addr, ptent);
	if (!folio)
		return;
	if ((type == CLEAR_REFS_ANON && !folio_test_anon(folio)) ||
	    (type == CLEAR_REFS_MAPPED && folio_test_anon(folio)))
		return;
	set_pte(pte, pte_mkold(ptent));
	folio_clear_referenced(folio);
}

static void clear_refs_pmd_range(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
				 unsigned long end, int type)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *pte;
	pmd_t val = pmdp_get_lockless(pmd);

	if (pmd_leaf(val) || is_swap_pmd(val)) {
		ptl = pmd_lock(mm, pmd);
		val = pmdp_get(pmd);
		if (pmd_leaf(val) || is_swap_pmd(val)) {
			if (type == CLEAR_REFS_SOFT_DIRTY)
				clear_soft_dirty_pmd(pmd);
			else if (pmd_leaf(val))
				set_pmd(pmd, pmd_mkold(val));
			spin_unlock(ptl);
			return;
		}
		spin_unlock(ptl);
	}
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return;
	for (; addr < end; addr += PAGE_SIZE, pte++) {
		if (type == CLEAR_REFS_SOFT_DIRTY)
			clear_soft_dirty(vma, addr, pte);
		else
			clear_young(vma, addr, pte, type);
	}
	pte_unmap_unlock(pte - 1, ptl);
}

static void clear_refs_vma(struct vm_area_struct *vma, int type)
{
	unsigned long addr = vma->vm_start, end = vma->vm_end;

	/* clear_refs_test_walk(): raw pfn mappings have nothing to track */
	if (vma->vm_flags & VM_PFNMAP)
		return;
	while (addr < end) {
		unsigned long next = pmd_addr_end(addr, end);
		pmd_t *pmd = mm_find_pmd(vma->vm_mm, addr);

		if (!pmd) {
			addr = pud_addr_end(addr, end);
			continue;
		}
		if (!pmd_none(pmdp_get_lockless(pmd)))
			clear_refs_pmd_range(vma, pmd, addr, next, type);
		addr = next;
		cond_resched();
	}
}

int pinmm_clear_refs(struct mm_struct *mm, int type)
{
	struct mmu_notifier_range range;
	struct vm_area_struct *vma;

	if (type < CLEAR_REFS_ALL || type >= CLEAR_REFS_LAST)
		return -EINVAL;
	if (type == CLEAR_REFS_MM_HIWATER_RSS)
		return 0;	/* pinmm keeps no high-water mark */
	if (type != CLEAR_REFS_SOFT_DIRTY) {
		if (mmap_read_lock_killable(mm))
			return -EINTR;
		for_each_vma(mm, vma)
			clear_refs_vma(vma, type);
		mmap_read_unlock(mm);
		return 0;
	}
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	/* from now on a new write to any VMA must fault to be noticed */
	for_each_vma(mm, vma) {
		if (!(vma->vm_flags & VM_SOFTDIRTY))
			continue;
		__atomic_store_n(&vma->vm_flags, vma->vm_flags & ~VM_SOFTDIRTY, __ATOMIC_RELAXED);
		vma_set_page_prot(vma);
	}
	mmu_notifier_range_init(&range, MMU_NOTIFY_SOFT_DIRTY, 0, mm, 0, TASK_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	for_each_vma(mm, vma)
		clear_refs_vma(vma, type);
	mmu_notifier_invalidate_range_end(&range);
	mmap_write_unlock(mm);
	return 0;
}

/* ---- pagemap ------------------------------------------------------------------- */

static uint64_t pte_to_pagemap_entry(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	uint64_t e = 0;

	if (pte_present(pte)) {
		struct page *page = vm_normal_page(vma, addr, pte);

		e = PM_PRESENT | (pte_pfn(pte) & PM_PFRAME_MASK);
		if (pte_soft_dirty(pte))
			e |= PM_SOFT_DIRTY;
		if (pte_uffd_wp(pte))
			e |= PM_UFFD_WP;
		if (page && !PageAnon(page))
			e |= PM_FILE;
		if (page && page_mapcount(page) == 1)
			e |= PM_MMAP_EXCLUSIVE;
	} else if (is_pte_marker(pte)) {
		/* a marker is a swap-type entry to pagemap (live 6.18: a guard reads 0x44...) */
		e = PM_SWAP;
		if (pte_marker_uffd_wp(pte))
			e |= PM_UFFD_WP;
		if (is_guard_pte_marker(pte))
			e |= PM_GUARD_REGION;
		if (pte_swp_soft_dirty(pte))
			e |= PM_SOFT_DIRTY;
	} else if (is_swap_pte(pte)) {
		e = PM_SWAP;
		if (pte_swp_soft_dirty(pte))
			e |= PM_SOFT_DIRTY;
		if (pte_swp_uffd_wp(pte))
			e |= PM_UFFD_WP;
	}
	if (vma->vm_flags & VM_SOFTDIRTY)
		e |= PM_SOFT_DIRTY;
	return e;
}

static uint64_t pagemap_entry(struct vm_area_struct *vma, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t e = (vma->vm_flags & VM_SOFTDIRTY) ? PM_SOFT_DIRTY : 0;
	unsigned long leaf_mask = PMD_MASK;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;
	pmd_t val;

	/*
	 * A 1 GiB hugetlb page is a PUD leaf, read through the PMD type as
	 * hugetlb does (Linux: pagemap_hugetlb_range()).
	 */
	if (is_vm_hugetlb_page(vma) && hstate_is_gigantic(hstate_vma(vma))) {
		pmd = (pmd_t *)mm_find_pud(mm, addr);
		leaf_mask = huge_page_mask(hstate_vma(vma));
	} else {
		pmd = mm_find_pmd(mm, addr);
	}
	if (!pmd)
		return e;
	val = pmdp_get_lockless(pmd);
	if (pmd_leaf(val)) {
		ptl = pmd_lock(mm, pmd);
		val = pmdp_get(pmd);
		if (pmd_leaf(val)) {
			unsigned long i = (addr & ~leaf_mask) >> PAGE_SHIFT;
			struct page *page = vm_normal_page_pmd(vma, addr, val);

			e |= PM_PRESENT | ((pmd_pfn(val) + i) & PM_PFRAME_MASK);
			if (pmd_soft_dirty(val))
				e |= PM_SOFT_DIRTY;
			if (pmd_uffd_wp(val))
				e |= PM_UFFD_WP;
			if (page && !PageAnon(page))
				e |= PM_FILE;
			if (page && folio_mapcount(page_folio(page)) == 1)
				e |= PM_MMAP_EXCLUSIVE;
			spin_unlock(ptl);
			return e;
		}
		spin_unlock(ptl);
	}
	if (is_swap_pmd(val))
		return e | pte_to_pagemap_entry(vma, addr, __pte(pmd_val(val)));
	if (leaf_mask != PMD_MASK)
		return e;	/* a gigantic page's PUD is a leaf or nothing */
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return e;
	e = pte_to_pagemap_entry(vma, addr, ptep_get(pte));
	pte_unmap_unlock(pte, ptl);
	return e;
}

int pinmm_pagemap_read(struct mm_struct *mm, unsigned long addr, unsigned long nr,
		       uint64_t *out)
{
	struct vm_area_struct *vma;

	if (!IS_ALIGNED(addr, PAGE_SIZE))
		return -EINVAL;
	mmap_read_lock(mm);
	for (unsigned long i = 0; i < nr; i++, addr += PAGE_SIZE) {
		vma = vma_lookup(mm, addr);
		out[i] = vma ? pagemap_entry(vma, addr) : 0;
	}
	mmap_read_unlock(mm);
	return 0;
}
