// SPDX-License-Identifier: MIT
/*
 * madvise(): advice that drops pages (MADV_DONTNEED, MADV_FREE, and
 * MADV_REMOVE, which punches them out of the file), faults them in
 * (MADV_POPULATE_*), reads them in unmapped (MADV_WILLNEED), ages or
 * reclaims them (MADV_COLD, MADV_PAGEOUT), or changes vm_flags (fork, THP,
 * read-pattern and core-dump policy), with Linux's argument rules and
 * errors.
 */
#include "vma.h"

#include <pinmm/fs.h>
#include <pinmm/hugetlb.h>
#include <pinmm/migrate.h>
#include <pinmm/pagemap.h>
#include <pinmm/secretmem.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/swap.h>
#include <pinmm/vmstat.h>
#include <pinmm/ksm.h>

static bool madvise_behavior_valid(int behavior)
{
	switch (behavior) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_REMOVE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_COLLAPSE:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
		return true;
	default:
		return false;
	}
}

/* Advice that only reads the VMA tree can run beside faults. */
static bool madvise_need_mmap_write(int behavior)
{
	switch (behavior) {
	case MADV_WILLNEED:
	case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_REMOVE:
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_COLD:
	case MADV_PAGEOUT:
		return false;
	default:
		return true;
	}
}

/* The flags @behavior gives @vma, or -EINVAL where it does not apply. */
static int madvise_newflags(struct vm_area_struct *vma, vm_flags_t *flags, void *arg)
{
	int behavior = *(int *)arg;

	switch (behavior) {
	case MADV_NORMAL:
		*flags &= ~(VM_SEQ_READ | VM_RAND_READ);
		break;
	case MADV_SEQUENTIAL:
		*flags = (*flags & ~VM_RAND_READ) | VM_SEQ_READ;
		break;
	case MADV_RANDOM:
		*flags = (*flags & ~VM_SEQ_READ) | VM_RAND_READ;
		break;
	case MADV_DONTDUMP:
		*flags |= VM_DONTDUMP;
		break;
	case MADV_DODUMP:
		/* I/O and PFN maps stay out of core dumps */
		if (!(vma->vm_flags & VM_HUGETLB) && (*flags & VM_SPECIAL))
			return -EINVAL;
		*flags &= ~VM_DONTDUMP;
		break;
	case MADV_DONTFORK:
		*flags |= VM_DONTCOPY;
		break;
	case MADV_DOFORK:
		/* I/O memory never goes to a child once kept from it */
		if (vma->vm_flags & VM_IO)
			return -EINVAL;
		*flags &= ~VM_DONTCOPY;
		break;
	case MADV_WIPEONFORK:
		/*
		 * Only private anonymous memory can be wiped. Linux tests vm_file:
		 * MAP_HUGETLB and device mappings have one there; here they have
		 * vm_ops and no file, hence the anonymity test too.
		 */
		if (vma->vm_file || (vma->vm_flags & VM_SHARED) || !vma_is_anonymous(vma))
			return -EINVAL;
		*flags |= VM_WIPEONFORK;
		break;
	case MADV_KEEPONFORK:
		*flags &= ~VM_WIPEONFORK;
		break;
	case MADV_HUGEPAGE:
		*flags &= ~VM_NOHUGEPAGE;
		*flags |= VM_HUGEPAGE;
		break;
	case MADV_NOHUGEPAGE:
		*flags &= ~VM_HUGEPAGE;
		*flags |= VM_NOHUGEPAGE;
		break;
	case MADV_MERGEABLE:
		/* registers the mm; UNMERGEABLE broke COW before (madvise_unmerge) */
		return ksm_madvise(vma, vma->vm_start, vma->vm_end, behavior, flags);
	case MADV_UNMERGEABLE:
		*flags &= ~VM_MERGEABLE;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/*
 * MADV_UNMERGEABLE, first half: every KSM page of the range is copied back
 * (break_ksm) before any VMA loses VM_MERGEABLE, so a failure changes no flag.
 */
static int madvise_unmerge(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;

	for (vma = find_vma(mm, start); vma && vma->vm_start < end; vma = vma_next(vma)) {
		vm_flags_t flags = vma->vm_flags;
		int err = ksm_madvise(vma, max(start, vma->vm_start), min(end, vma->vm_end),
				      MADV_UNMERGEABLE, &flags);

		if (err)
			return err;
	}
	return 0;
}

/* One VMA's part [@start, @end) of the range; 0 or the error that ends the walk. */
typedef int (*madvise_visit_t)(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, void *arg);

/*
 * Linux's madvise_walk_vmas(): @visit runs on each VMA's part of [@start,
 * @end) in address order. A hole gives -ENOMEM at the end, the VMAs around
 * it visited all the same; the first error from @visit ends the walk. A
 * visit may drop and retake mmap_lock: the next VMA is looked up afresh
 * from where the last one ended.
 */
static int madvise_walk_vmas(struct mm_struct *mm, unsigned long start, unsigned long end,
			     madvise_visit_t visit, void *arg)
{
	bool hole = false;

	while (start < end) {
		struct vm_area_struct *vma = find_vma(mm, start);
		unsigned long e;
		int err;

		if (!vma || vma->vm_start >= end)
			return -ENOMEM;
		if (vma->vm_start > start) {
			hole = true;
			start = vma->vm_start;
		}
		e = min(end, vma->vm_end);
		err = visit(vma, start, e, arg);
		if (err)
			return err;
		start = e;
	}
	return hole ? -ENOMEM : 0;
}

/*
 * MADV_DONTNEED over every VMA of the range; holes give -ENOMEM at the end.
 * Locked memory is -EINVAL, except for MADV_DONTNEED_LOCKED (Linux 5.18),
 * which drops it all the same: the VMA stays locked and the next fault
 * brings a fresh page. A hugetlb VMA drops whole huge pages only (Linux's
 * madvise_dontneed_free_valid_vma()): its part of the range must start on
 * one (-EINVAL otherwise) and its end is rounded down, so a length shorter
 * than a huge page drops nothing. Linux tests VM_LOCKED only for VMAs that
 * are not hugetlb: mlock() and MAP_LOCKED never lock those.
 */
static int dontneed_vma(struct vm_area_struct *vma, unsigned long s, unsigned long e, void *arg)
{
	bool allow_locked = *(bool *)arg;

	if (vma->vm_flags & VM_PFNMAP)
		return -EINVAL;
	if (vma->vm_flags & VM_HUGETLB) {
		struct hstate *h = hstate_vma(vma);

		if (s & ~huge_page_mask(h))
			return -EINVAL;
		e &= huge_page_mask(h);
		if (e <= s)
			return 0;
	} else if ((vma->vm_flags & VM_LOCKED) && !allow_locked) {
		return -EINVAL;
	}
	zap_page_range_single(vma, s, e - s);
	return 0;
}

static int madvise_dontneed(struct mm_struct *mm, unsigned long start, unsigned long end,
			    bool allow_locked)
{
	return madvise_walk_vmas(mm, start, end, dontneed_vma, &allow_locked);
}

/*
 * MADV_REMOVE (Linux: madvise_remove()): punch the file's pages behind each
 * shared mapping of the range out of the file (vfs_fallocate(PUNCH_HOLE |
 * KEEP_SIZE)), which unmaps them from every mapping and frees the blocks.
 * A pinned page leaves the page cache with its pin, as on truncation: what
 * a device writes to it afterwards reaches neither the file nor a mapping.
 * Only a VMA that could be written through (VM_SHARED|VM_MAYWRITE) may
 * punch: others are -EACCES; anonymous and locked VMAs -EINVAL. mmap_lock
 * (held for read on entry and on return) is dropped around each punch:
 * i_rwsem ranks above it. Holes give -ENOMEM at the end; the first VMA
 * that fails ends the walk with its error, the VMAs before it punched.
 */
static int punch_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		     void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct file *file = vma->vm_file;
	loff_t offset;
	int err;

	(void)arg;
	if (vma->vm_flags & VM_LOCKED)
		return -EINVAL;
	/* Linux's private MAP_HUGETLB memory has a hugetlbfs file: -EACCES below */
	if ((!file || !file->f_mapping) && !is_vm_hugetlb_page(vma))
		return -EINVAL;
	if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE))
		return -EACCES;
	offset = (loff_t)(start - vma->vm_start) + ((loff_t)vma->vm_pgoff << PAGE_SHIFT);
	get_file(file);
	mmap_read_unlock(mm);
	err = vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset,
			    (loff_t)(end - start));
	fput(file);
	mmap_read_lock(mm);
	return err;
}

static int madvise_remove(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	return madvise_walk_vmas(mm, start, end, punch_vma, NULL);
}

/* ---- MADV_WILLNEED (Linux: madvise_willneed) --------------------------------------- */

/*
 * The swapped-out pages of [@start, @end) of anonymous @vma are read into
 * the swap cache, not mapped: the fault that comes finds them there (Linux's
 * swapin_walk_pmd_entry()). Each page table's entries are gathered under
 * its lock and read after it; an entry gone meanwhile costs a read at most.
 */
static void willneed_swapin(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	swp_entry_t entries[PTRS_PER_TABLE];
	unsigned long addr, next;

	for (addr = start; addr < end; addr = next) {
		pmd_t *pmd = mm_find_pmd(mm, addr);
		unsigned int n = 0;
		spinlock_t *ptl;
		pte_t *pte;

		next = pmd_addr_end(addr, end);
		if (!pmd || pmd_leaf(pmdp_get(pmd)))
			continue;	/* nothing, or a THP: nothing swapped */
		pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte)
			continue;
		for (unsigned long a = addr; a < next; a += PAGE_SIZE) {
			pte_t ptent = ptep_get(pte + ((a - addr) >> PAGE_SHIFT));

			if (is_swapfile_pte(ptent))
				entries[n++] = pte_to_swp_entry(ptent);
		}
		pte_unmap_unlock(pte, ptl);
		for (unsigned int i = 0; i < n; i++) {
			struct folio *folio = read_swap_cache_async(entries[i]);

			if (folio)
				folio_put(folio);
		}
	}
}

/*
 * MADV_WILLNEED: what the range will need is brought in without mapping
 * it: swapped-out anonymous pages into the swap cache, a file's pages into
 * the page cache (force_page_cache_readahead(), mmap_lock dropped around
 * it as around Linux's vfs_fadvise()). shmem (which pinmm never swaps),
 * hugetlbfs and DAX files have nothing to read. Locked VMAs too are
 * advised. Called and returns with mmap_lock held for read. Return: 0, or
 * -ENOMEM for a hole (the mapped parts advised all the same).
 */
static int willneed_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct file *file = vma->vm_file;
	pgoff_t index;

	(void)arg;
	if (!file) {
		if (vma_is_anonymous(vma) && !(vma->vm_flags & VM_SHARED))
			willneed_swapin(vma, start, end);
		return 0;
	}
	if (shmem_mapping(file->f_mapping) || (vma->vm_flags & VM_HUGETLB) ||
	    IS_DAX(file_inode(file)))
		return 0;
	index = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT);
	get_file(file);
	mmap_read_unlock(mm);
	force_page_cache_readahead(file->f_mapping, file, index, (end - start) >> PAGE_SHIFT);
	fput(file);
	mmap_read_lock(mm);
	return 0;
}

static int madvise_willneed(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	return madvise_walk_vmas(mm, start, end, willneed_vma, NULL);
}

/* ---- MADV_GUARD_INSTALL, MADV_GUARD_REMOVE (Linux: madvise_guard_install) ---------- */

/* Linux's is_valid_guard_vma(): not hugetlb, not a special mapping, not locked on install. */
static bool valid_guard_vma(struct vm_area_struct *vma, bool allow_locked)
{
	vm_flags_t disallowed = VM_SPECIAL | VM_HUGETLB | (allow_locked ? 0 : VM_LOCKED_MASK);

	return !(vma->vm_flags & disallowed);
}

/*
 * Guard markers into the empty entries of [@start, @end) of @vma, page
 * tables allocated as needed. Return 0 when every entry is a guard now,
 * 1 when a page (or anything else: a swap entry, a THP) is in the way and
 * must be zapped first (the markers set so far stay), -ENOMEM.
 */
static int guard_install_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr, next;

	for (addr = start; addr < end; addr = next) {
		pmd_t *pmd = pmd_alloc_walk(mm, addr);
		spinlock_t *ptl;
		pte_t *pte;

		next = pmd_addr_end(addr, end);
		if (!pmd)
			return -ENOMEM;
		if (pmd_none(pmdp_get_lockless(pmd)) && __pte_alloc(mm, pmd))
			return -ENOMEM;
		pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte)
			return 1;	/* a THP (or one came meanwhile): zap, then again */
		for (unsigned long a = addr; a < next; a += PAGE_SIZE) {
			pte_t *p = pte + ((a - addr) >> PAGE_SHIFT), old = ptep_get(p);

			if (pte_none(old)) {
				set_pte(p, make_pte_marker(PTE_MARKER_GUARD));
			} else if (!is_guard_pte_marker(old)) {
				pte_unmap_unlock(pte, ptl);
				return 1;
			}
		}
		pte_unmap_unlock(pte, ptl);
	}
	return 0;
}

/* Zap-and-walk rounds before the call starts over with mmap_lock let go (Linux's). */
#define MAX_MADVISE_GUARD_RETRIES	3

/*
 * One VMA's part of MADV_GUARD_INSTALL: what is mapped there is zapped (a
 * pinned page leaves the mapping and stays the pin holder's), and every
 * entry becomes a guard. The VMA gets an anon_vma, so that fork copies its
 * page tables and the child keeps the guards (Linux does the same). Faults
 * that keep refilling the range make it -ERESTARTNOINTR after a few
 * rounds: do_madvise() then drops mmap_lock and starts again, as Linux's
 * restart_syscall() does.
 */
static int guard_install_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			     void *arg)
{
	(void)arg;
	if (!valid_guard_vma(vma, false))
		return -EINVAL;
	if (anon_vma_prepare(vma))
		return -ENOMEM;
	for (int i = 0; i < MAX_MADVISE_GUARD_RETRIES; i++) {
		int err = guard_install_range(vma, start, end);

		if (err <= 0)
			return err;
		/* zap keeps the guards already set; a fault may refill a hole meanwhile */
		zap_page_range_single(vma, start, end - start);
	}
	return -ERESTARTNOINTR;
}

/* One VMA's part of MADV_GUARD_REMOVE: guard entries become empty again. */
static int guard_remove_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			    void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr, next;

	(void)arg;
	if (!valid_guard_vma(vma, true))
		return -EINVAL;
	for (addr = start; addr < end; addr = next) {
		pmd_t *pmd = mm_find_pmd(mm, addr);
		spinlock_t *ptl;
		pte_t *pte;

		next = pmd_addr_end(addr, end);
		if (!pmd || !pmd_is_table(pmdp_get_lockless(pmd)))
			continue;	/* no table, or a THP: no guard there */
		pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte)
			continue;
		for (unsigned long a = addr; a < next; a += PAGE_SIZE) {
			pte_t *p = pte + ((a - addr) >> PAGE_SHIFT);

			if (is_guard_pte_marker(ptep_get(p)))
				ptep_get_and_clear(p);
		}
		pte_unmap_unlock(pte, ptl);
	}
	return 0;
}

/*
 * MADV_GUARD_INSTALL / MADV_GUARD_REMOVE over every VMA of [@start, @end),
 * mmap_lock held for read: -EINVAL from the first VMA that cannot have
 * guards (the VMAs before it done), -ENOMEM for holes (the rest done).
 */
static int madvise_guard(struct mm_struct *mm, unsigned long start, unsigned long end,
			 bool install)
{
	return madvise_walk_vmas(mm, start, end, install ? guard_install_vma : guard_remove_vma,
				 NULL);
}

/* ---- MADV_COLD, MADV_PAGEOUT (Linux: madvise_cold_or_pageout_pte_range) ---------- */

/* Linux's can_madv_lru_vma(): memory that reclaim never takes. */
static bool can_madv_lru_vma(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB));
}

/* May MADV_COLD/PAGEOUT touch @folio at all: anon, on the LRU, this mm's alone? */
static bool cold_or_pageout_candidate(struct folio *folio)
{
	if (!folio_test_anon(folio) || !folio_test_lru(folio))
		return false;
	/* Linux leaves folios others map to their own reclaim */
	return folio_test_large(folio) ? !folio_maybe_mapped_shared(folio) :
					 folio_mapcount(folio) == 1;
}

/*
 * One present entry's folio, which the range holds whole (the caller split
 * a large one it holds only in part, split_part(), or passed it by): it
 * loses its reference bits; COLD makes it inactive, PAGEOUT isolates it
 * onto @list.
 */
static void cold_or_pageout_folio(struct folio *folio, bool pageout, struct list_head *list)
{
	if (!cold_or_pageout_candidate(folio))
		return;
	folio_clear_referenced(folio);
	if (!pageout) {
		if (folio_test_clear_active(folio))
			count_vm_event(PGDEACTIVATE);
		return;
	}
	if (folio_isolate_lru(folio))
		list_add_tail(&folio->lru, list);
}

/*
 * A large folio the range covers only in part (the caller's test): split
 * it, as Linux's madvise_cold_or_pageout_pte_range() does, so that
 * the pages in the range can age or go to swap alone. Called with the
 * page-table lock @ptl held, which it drops (the split walks the rmap);
 * the caller walks the entries again; @pte (a PTE-mapped folio's entry, or
 * NULL under a PMD lock) is unmapped after the unlock. Return: split.
 */
static bool split_part(struct folio *folio, spinlock_t *ptl, pte_t *pte)
{
	bool split = false, locked;

	locked = cold_or_pageout_candidate(folio) && folio_trylock(folio);
	if (locked)
		folio_get(folio);
	spin_unlock(ptl);
	if (pte)
		pte_unmap(pte);
	if (!locked)
		return false;
	split = !split_folio(folio);
	folio_unlock(folio);
	folio_put(folio);
	return split;
}

/*
 * What an advice does to the entries of a range (madvise_walk_range()).
 * Each callback runs under the page-table lock of the entry.
 */
struct madvise_walk_ops {
	/* a PMD-mapped THP the range covers whole (PMD lock) */
	void (*pmd_folio)(pmd_t *pmd, pmd_t pmdval, struct folio *folio, void *arg);
	/* a present PTE's normal page, its folio covered whole by the range */
	void (*pte_folio)(pte_t *pte, pte_t ptent, struct folio *folio, void *arg);
	/* a non-present PTE (NULL: left alone) */
	void (*nonpresent)(struct mm_struct *mm, pte_t *pte, pte_t ptent);
};

/*
 * Walk [@start, @end) of @vma for @ops, as Linux's madvise page-table
 * walks: a large folio the range covers only in part is split first
 * (split_part(): not one others map, not one held by a GET or a pin) and
 * its entries looked at again; left whole, it is passed by. The huge zero
 * folio is left alone. mmap_lock held for reading.
 */
static void madvise_walk_range(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, const struct madvise_walk_ops *ops, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr = start;

	while (addr < end) {
		pmd_t *pmd = mm_find_pmd(mm, addr);
		unsigned long next = pmd_addr_end(addr, end);
		spinlock_t *ptl;
		pte_t *pte;
		pmd_t pmdval;

		if (!pmd) {
			addr = next;
			continue;
		}
		pmdval = pmdp_get(pmd);
		if (pmd_leaf(pmdval)) {
			ptl = pmd_lock(mm, pmd);
			pmdval = pmdp_get(pmd);
			if (pmd_trans_huge(pmdval) && !is_huge_zero_pmd(pmdval)) {
				struct folio *folio = page_folio(pmd_page(pmdval));

				/* part of the THP: split it, then its PTEs below */
				if (next - addr != PMD_SIZE) {
					if (split_part(folio, ptl, NULL))
						continue;
					addr = next;
					continue;
				}
				ops->pmd_folio(pmd, pmdval, folio, arg);
			}
			spin_unlock(ptl);
			addr = next;
			continue;
		}
		pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte) {
			addr = next;
			continue;
		}
		while (addr < next) {
			pte_t ptent = ptep_get(pte);
			struct folio *folio;
			struct page *page;
			unsigned long first;

			if (!pte_present(ptent) || !(page = vm_normal_page(vma, addr, ptent))) {
				if (!pte_present(ptent) && ops->nonpresent)
					ops->nonpresent(mm, pte, ptent);
				addr += PAGE_SIZE;
				pte++;
				continue;
			}
			folio = page_folio(page);
			first = addr - ((unsigned long)(page - &folio->page) << PAGE_SHIFT);
			if (folio_test_large(folio) &&
			    (start > first || first + folio_size(folio) > end)) {
				/* the lock goes: a split (or not) and the same entry again */
				if (!split_part(folio, ptl, pte)) {
					/* left whole: past its pages in this table */
					addr = min(next, first + folio_size(folio));
				}
				pte = addr < next ? pte_offset_map_lock(mm, pmd, addr, &ptl) : NULL;
				if (!pte) {
					addr = next;
					break;
				}
				continue;
			}
			ops->pte_folio(pte, ptent, folio, arg);
			addr += PAGE_SIZE;
			pte++;
		}
		if (pte)
			pte_unmap_unlock(pte - 1, ptl);
		cond_resched();
	}
}

struct cold_walk {
	bool pageout;
	struct list_head *list;
};

static void cold_pmd_folio(pmd_t *pmd, pmd_t pmdval, struct folio *folio, void *arg)
{
	struct cold_walk *cw = arg;

	if (pmd_young(pmdval))
		set_pmd(pmd, pmd_mkold(pmdval));
	cold_or_pageout_folio(folio, cw->pageout, cw->list);
}

static void cold_pte_folio(pte_t *pte, pte_t ptent, struct folio *folio, void *arg)
{
	struct cold_walk *cw = arg;

	if (pte_young(ptent))
		set_pte(pte, pte_mkold(ptent));
	cold_or_pageout_folio(folio, cw->pageout, cw->list);
}

static const struct madvise_walk_ops cold_walk_ops = {
	.pmd_folio = cold_pmd_folio,
	.pte_folio = cold_pte_folio,
};

/*
 * MADV_COLD / MADV_PAGEOUT over every VMA of the range. A locked, PFN-mapped
 * or hugetlb VMA is -EINVAL (Linux's can_madv_lru_vma()); shared mappings
 * and file pages are left alone (pinmm reclaims anon memory here; the
 * page cache has its own reclaim). Without a swap area PAGEOUT isolates
 * and puts back, reclaiming nothing, as Linux does.
 */
static int cold_or_pageout_vma(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, void *arg)
{
	if (!can_madv_lru_vma(vma))
		return -EINVAL;
	if ((vma->vm_flags & VM_SHARED) || !vma->anon_vma)
		return 0;	/* nothing private and anonymous in it */
	madvise_walk_range(vma, start, end, &cold_walk_ops, arg);
	return 0;
}

static int madvise_cold_or_pageout(struct mm_struct *mm, unsigned long start, unsigned long end,
				   bool pageout)
{
	LIST_HEAD(list);
	struct cold_walk cw = { pageout, &list };
	int err = madvise_walk_vmas(mm, start, end, cold_or_pageout_vma, &cw);

	/* what was isolated before an error or a hole goes to reclaim all the same */
	if (pageout && !list_empty(&list))
		shrink_folio_list(&list, true);
	return err;
}

/* ---- MADV_FREE (Linux: madvise_free_single_vma, madvise_free_pte_range) ------------ */

/*
 * The folio-wide part of MADV_FREE, once per folio the range holds whole:
 * a dirty folio (or one in the swap cache) is cleaned, and its slot freed,
 * only if this mapping is its only one; then it becomes lazyfree. The
 * caller has cleaned the entries that map it.
 */
static void free_folio_lazily(struct folio *folio)
{
	if (folio_test_swapcache(folio) || folio_test_dirty(folio)) {
		if (!folio_trylock(folio))
			return;
		/* fully mapped here: as many mappings as pages means ours alone */
		if (folio_mapcount(folio) != (int)folio_nr_pages(folio) ||
		    (folio_test_swapcache(folio) && !folio_free_swap(folio))) {
			folio_unlock(folio);
			return;
		}
		folio_clear_dirty(folio);
		folio_unlock(folio);
	}
	folio_mark_lazyfree(folio);	/* src/mm/vmscan.c */
}

/*
 * A swap entry's data is dropped at once (the slot freed, the entry
 * cleared); other non-present entries (migration, device, markers) stay.
 * PTE lock held.
 */
static void free_swap_entry(struct mm_struct *mm, pte_t *pte, pte_t ptent)
{
	if (!is_swapfile_pte(ptent))
		return;
	ptep_get_and_clear(pte);
	add_mm_counter(mm, MM_SWAPENTS, -1);
	free_swap_and_cache(pte_to_swp_entry(ptent));
}

/* Linux's madvise_free_huge_pmd(): a THP this mm alone maps, covered whole. */
static void free_pmd_folio(pmd_t *pmd, pmd_t pmdval, struct folio *folio, void *arg)
{
	(void)arg;
	if (!folio_test_anon(folio) || folio_maybe_mapped_shared(folio))
		return;
	if (pmd_young(pmdval) || pmd_dirty(pmdval))
		set_pmd(pmd, pmd_mkold(pmd_mkclean(pmdval)));
	free_folio_lazily(folio);
}

static void free_pte_folio(pte_t *pte, pte_t ptent, struct folio *folio, void *arg)
{
	(void)arg;
	if (!folio_test_anon(folio))
		return;
	if (pte_young(ptent) || pte_dirty(ptent))
		set_pte(pte, pte_mkold(pte_mkclean(ptent)));
	/*
	 * A large folio's first page does the folio's part (the rest then
	 * find it lazyfree already); reclaim needs this table's lock, so it
	 * sees all its entries cleaned.
	 */
	free_folio_lazily(folio);
}

static const struct madvise_walk_ops free_walk_ops = {
	.pmd_folio = free_pmd_folio,
	.pte_folio = free_pte_folio,
	.nonpresent = free_swap_entry,
};

/* MADV_FREE over [@start, @end) of anonymous @vma. mmap_lock held for reading. */
static void madvise_free_range(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	madvise_walk_range(vma, start, end, &free_walk_ops, NULL);
	mmu_notifier_invalidate_range_end(&range);
}

/*
 * MADV_FREE over every VMA of the range: private anonymous memory only
 * (Linux's vma_is_anonymous(): shared, file and special mappings are
 * -EINVAL, as are locked, PFN-mapped and hugetlb ones); holes give -ENOMEM
 * at the end, the mapped parts freed all the same.
 */
static int free_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		    void *arg)
{
	(void)arg;
	if (!can_madv_lru_vma(vma) || !vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->anon_vma)
		madvise_free_range(vma, start, end);
	return 0;
}

static int madvise_free(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	return madvise_walk_vmas(mm, start, end, free_vma, NULL);
}

/*
 * MADV_POPULATE_READ/WRITE: fault the range in. A hole is -ENOMEM at once;
 * VM_IO/VM_PFNMAP or a missing permission is -EINVAL (GUP's refusal,
 * reported as Linux's madvise does); fault errors pass through.
 */
static int madvise_populate(struct mm_struct *mm, unsigned long start, unsigned long end,
			    bool write)
{
	struct vm_area_struct *vma;
	int err;

	while (start < end) {
		vma = vma_lookup(mm, start);
		if (!vma)
			return -ENOMEM;
		/*
		 * Linux populates through GUP, whose VMA checks answer
		 * MADV_POPULATE_* with -EINVAL: I/O and PFN mappings, a missing
		 * permission, and secret memory (the live 6.18 kernel).
		 */
		if ((vma->vm_flags & (VM_IO | VM_PFNMAP)) || vma_is_secretmem(vma))
			return -EINVAL;
		if (!(vma->vm_flags & (write ? VM_WRITE : VM_READ)))
			return -EINVAL;
		err = populate_range(vma, start, min(end, vma->vm_end), write);
		if (err)
			return err;
		start = min(end, vma->vm_end);
	}
	return 0;
}

static int collapse_vma(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			void *arg)
{
	(void)arg;
	return madvise_collapse(vma, start, end);
}

/* MADV_COLLAPSE over each VMA of the range: the first VMA's error ends it. */
static int madvise_collapse_range(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	return madvise_walk_vmas(mm, start, end, collapse_vma, NULL);
}

int do_madvise(struct mm_struct *mm, unsigned long start, size_t len_in, int behavior)
{
	struct vma_flags_op op = {
		.newflags = madvise_newflags,
		.arg = &behavior,
		.holes_at_end = true,
	};
	unsigned long end, len;
	bool write;
	int err;

	if (!madvise_behavior_valid(behavior))
		return -EINVAL;
	if (!IS_ALIGNED(start, PAGE_SIZE))
		return -EINVAL;
	len = PAGE_ALIGN(len_in);
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	write = madvise_need_mmap_write(behavior);
restart:
	if (write) {
		if (mmap_write_lock_killable(mm))
			return -EINTR;
	} else {
		if (mmap_read_lock_killable(mm))
			return -EINTR;
	}

	switch (behavior) {
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
		err = madvise_dontneed(mm, start, end, behavior == MADV_DONTNEED_LOCKED);
		break;
	case MADV_FREE:
		err = madvise_free(mm, start, end);
		break;
	case MADV_REMOVE:
		err = madvise_remove(mm, start, end);
		break;
	case MADV_WILLNEED:
		err = madvise_willneed(mm, start, end);
		break;
	case MADV_GUARD_INSTALL:
	case MADV_GUARD_REMOVE:
		err = madvise_guard(mm, start, end, behavior == MADV_GUARD_INSTALL);
		break;
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		err = madvise_populate(mm, start, end, behavior == MADV_POPULATE_WRITE);
		break;
	case MADV_COLLAPSE:
		err = madvise_collapse_range(mm, start, end);
		break;
	case MADV_COLD:
	case MADV_PAGEOUT:
		err = madvise_cold_or_pageout(mm, start, end, behavior == MADV_PAGEOUT);
		break;
	case MADV_UNMERGEABLE:
		err = madvise_unmerge(mm, start, end);
		if (!err)
			err = vma_modify_flags_range(mm, start, end, &op);
		break;
	default:
		err = vma_modify_flags_range(mm, start, end, &op);
		break;
	}

	if (write)
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	if (err == -ERESTARTNOINTR) {
		/* the call is made again, as a restarted syscall is (idempotent advice only) */
		cond_resched();
		goto restart;
	}
	return err;
}
