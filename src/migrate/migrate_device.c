// SPDX-License-Identifier: MIT
/*
 * Moving anonymous memory between RAM and device memory (Linux:
 * mm/migrate_device.c); the driver's side of the contract is in
 * include/pinmm/migrate.h, the device pages in include/pinmm/memremap.h.
 *
 * The same three steps as migrate_pages(), split so a driver can copy with
 * its own engine in the middle:
 *
 *   collect  walk the VMA's page tables under each PTE lock: take every
 *            page that is wanted (locked, one reference), and replace its
 *            entry by a migration entry at once. An anon-exclusive page is
 *            shared first (folio_try_share_anon_rmap_pte), which refuses a
 *            page that may be pinned: that page keeps its mapping and stays.
 *   unmap    isolate RAM pages from the LRU; unmap what other mms still map
 *            (a COW-shared page after fork) through rmap; then every
 *            reference must be ours: a GET or a pin taken before the entry
 *            went, and the page is mapped again and left where it is.
 *   finalize every migration entry becomes a mapping of the destination:
 *            a device-private page gets a device-private entry (the CPU can
 *            never map it present), RAM and coherent pages a PTE.
 *
 * The migration entries do what they do for migrate_pages(): a CPU fault on
 * one waits for the folio lock; fork copies them; zap drops them; GUP-fast
 * cannot follow them.
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/fs.h>
#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/rmap.h>
#include <pinmm/slab.h>
#include <pinmm/swap.h>
#include <string.h>

pte_t device_private_pte(struct page *page, pte_t pte)
{
	unsigned long pfn = page_to_pfn(page);
	swp_entry_t e = pte_write(pte) ? make_writable_device_private_entry(pfn) :
					 make_readable_device_private_entry(pfn);
	unsigned long v = pte_val(swp_entry_to_pte(e));

	if (pte_soft_dirty(pte))
		v |= _PAGE_SWP_SOFT_DIRTY;
	return __pte(v);
}

/* The migration entry that replaces a device-private entry (PTE lock held). */
static pte_t device_private_to_migration(struct folio *folio, struct page *page, pte_t *ptep)
{
	pte_t old = ptep_get_and_clear(ptep);
	swp_entry_t e = pte_to_swp_entry(old);
	bool exclusive = PageAnonExclusive(page);
	enum swp_type type;

	/* GUP never returns a device-private page; an exclusive one was checked */
	if (exclusive && WARN_ON_ONCE(folio_try_share_anon_rmap_pte(folio, page)))
		ClearPageAnonExclusive(page);
	/* an exclusive entry was made from a writable PTE */
	if (is_writable_device_private_entry(e) || is_device_exclusive_entry(e))
		type = SWP_MIGRATION_WRITE;
	else if (exclusive)
		type = SWP_MIGRATION_READ_EXCLUSIVE;
	else
		type = SWP_MIGRATION_READ;
	return __pte(pte_val(swp_entry_to_pte(swp_entry(type, page_to_pfn(page)))) |
		     (pte_val(old) & _PAGE_SWP_SOFT_DIRTY));
}

bool try_to_migrate_device_private(struct folio *folio, struct vm_area_struct *vma, pte_t *ptep)
{
	pte_t old = ptep_get(ptep);
	struct page *page = pfn_swap_entry_to_page(pte_to_swp_entry(old));

	/* a device-exclusive page is a RAM page: GUP may have pinned it before */
	if (is_device_exclusive_pte(old) && PageAnonExclusive(page) &&
	    folio_maybe_dma_pinned(folio))
		return false;
	set_pte(ptep, device_private_to_migration(folio, page, ptep));
	/* the entry keeps the rss charge; the mapping and its reference go */
	folio_remove_rmap_pte(folio, page, vma);
	folio_put(folio);
	return true;
}

/* ---- collect ------------------------------------------------------------------------- */

/*
 * One entry of the range, PTE lock held: the src word for it. A page taken
 * is locked (unless it is the faulting page, locked by the fault), holds
 * one reference of ours, and is mapped here by a migration entry.
 */
static unsigned long collect_one(struct migrate_vma *args, unsigned long addr, pte_t *ptep,
				 unsigned long i)
{
	struct vm_area_struct *vma = args->vma;
	pte_t pte = ptep_get(ptep);
	struct anon_vma *av;
	struct folio *folio;
	struct page *page;
	bool writable, exclusive;

	if (pte_none(pte)) {
		/* a hole of an anonymous VMA can take a new page */
		if (!vma_is_anonymous(vma))
			return 0;
		args->cpages++;
		return MIGRATE_PFN_MIGRATE;
	}
	if (!pte_present(pte)) {
		swp_entry_t e = pte_to_swp_entry(pte);

		if (!is_device_private_entry(e) || !(args->flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE))
			return 0;
		page = pfn_swap_entry_to_page(e);
		if (page_pgmap(page)->owner != args->pgmap_owner)
			return 0;	/* another device's memory */
		writable = is_writable_device_private_entry(e);
	} else {
		page = vm_normal_page(vma, addr, pte);
		if (!page) {
			/* the zero page is a hole that holds nothing */
			if (is_zero_pfn(pte_pfn(pte)) && vma_is_anonymous(vma) &&
			    (args->flags & MIGRATE_VMA_SELECT_SYSTEM)) {
				args->cpages++;
				return MIGRATE_PFN_MIGRATE;
			}
			return 0;
		}
		if (folio_is_zone_device(page_folio(page))) {
			if (!(args->flags & MIGRATE_VMA_SELECT_DEVICE_COHERENT) ||
			    !is_device_coherent_page(page) ||
			    page_pgmap(page)->owner != args->pgmap_owner)
				return 0;
		} else if (!(args->flags & MIGRATE_VMA_SELECT_SYSTEM)) {
			return 0;
		}
		writable = pte_write(pte);
	}
	folio = page_folio(page);
	/* anonymous order-0 folios only (Linux splits large ones first) */
	if (!folio_test_anon(folio) || folio_test_large(folio))
		return 0;
	folio_get(folio);	/* the entry holds one: never the first */
	if (page != args->fault_page && !folio_trylock(folio)) {
		folio_put(folio);
		return 0;
	}
	av = folio_get_anon_vma(folio);
	if (!av)
		goto out_put;
	exclusive = PageAnonExclusive(page);
	if (pte_present(pte)) {
		pte = ptep_get_and_clear(ptep);
		/* GUP-fast pinned before the clear: share sees the pin, the page stays */
		if (exclusive && folio_try_share_anon_rmap_pte(folio, page)) {
			set_pte(ptep, pte);
			put_anon_vma(av);
			goto out_put;
		}
		if (pte_dirty(pte))
			folio_mark_dirty(folio);
		set_pte(ptep, make_migration_pte(writable ? SWP_MIGRATION_WRITE :
						 exclusive ? SWP_MIGRATION_READ_EXCLUSIVE :
						 SWP_MIGRATION_READ, page_to_pfn(page), pte));
	} else {
		set_pte(ptep, device_private_to_migration(folio, page, ptep));
	}
	folio_remove_rmap_pte(folio, page, vma);
	folio_put(folio);	/* the mapping's reference; ours stays */
	args->pinmm_anon_vma[i] = av;
	args->cpages++;
	return migrate_pfn(page_to_pfn(page)) | MIGRATE_PFN_MIGRATE |
	       (writable ? MIGRATE_PFN_WRITE : 0);

out_put:
	if (page != args->fault_page)
		folio_unlock(folio);
	folio_put(folio);
	return 0;
}

static void migrate_vma_collect(struct migrate_vma *args)
{
	struct vm_area_struct *vma = args->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	unsigned long addr = args->start;

	/* the owner's own mirror may skip what it started (hmm.rst) */
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0, mm, args->start, args->end,
				      args->pgmap_owner);
	mmu_notifier_invalidate_range_start(&range);
	while (addr < args->end) {
		unsigned long next = min(pmd_addr_end(addr, args->end), args->end);
		pmd_t *pmd = mm_find_pmd(mm, addr);
		spinlock_t *ptl;
		bool hole;
		pte_t *pte;

		if (pmd && pmd_leaf(pmdp_get_lockless(pmd))) {
			/* a THP: its pages are collected one by one, after a split */
			split_huge_pmd_address(vma, addr);
		}
		pte = pmd && pmd_is_table(pmdp_get_lockless(pmd)) ?
		      pte_offset_map_lock(mm, pmd, addr, &ptl) : NULL;
		/* a PMD migration entry (a THP moving): not a hole, left alone */
		hole = !pmd || pmd_none(pmdp_get_lockless(pmd));
		for (; addr < next; addr += PAGE_SIZE, pte = pte ? pte + 1 : NULL) {
			unsigned long i = (addr - args->start) >> PAGE_SHIFT;

			if (!pte) {
				/* no table: a hole */
				hole = hole && vma_is_anonymous(vma);
				args->src[i] = hole ? MIGRATE_PFN_MIGRATE : 0;
				args->cpages += hole;
			} else {
				args->src[i] = collect_one(args, addr, pte, i);
			}
			args->dst[i] = 0;
			args->npages++;
		}
		if (pte)
			pte_unmap_unlock(pte - 1, ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
}

/* ---- unmap and restore ----------------------------------------------------------------- */

/* A page the migration took goes back as it was; its src word becomes 0. */
static void restore_one(unsigned long *src, struct anon_vma **avp, struct page *fault_page,
			bool isolated)
{
	struct page *page = migrate_pfn_to_page(*src);
	struct folio *folio = page_folio(page);

	remove_migration_ptes(folio, NULL, *avp);
	if (page != fault_page)
		folio_unlock(folio);
	if (isolated)
		folio_putback_lru(folio);	/* the isolation reference */
	else
		folio_put(folio);		/* the collect reference */
	put_anon_vma(*avp);
	*avp = NULL;
	*src = 0;
}

/*
 * Make sure nothing but us holds each page: return how many entries
 * (holes included) are still to migrate. Linux's migrate_device_unmap().
 */
static unsigned long migrate_device_unmap(unsigned long *src, struct anon_vma **av,
					  unsigned long npages, struct page *fault_page)
{
	unsigned long unmapped = 0;

	for (unsigned long i = 0; i < npages; i++) {
		struct page *page = migrate_pfn_to_page(src[i]);
		struct folio *folio;
		bool isolated = false;
		int expected;

		if (!(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (!page) {
			unmapped++;
			continue;
		}
		folio = page_folio(page);
		if (!folio_is_zone_device(folio)) {
			/* a compactor holds it: it stays this time */
			if (!folio_isolate_lru(folio)) {
				restore_one(&src[i], &av[i], fault_page, false);
				continue;
			}
			folio_put(folio);	/* the isolation reference replaces ours */
			isolated = true;
		}
		/* mapped by other mms too (fork): their entries become migration entries */
		if (folio_mapped(folio))
			try_to_migrate(folio, av[i], false);	/* order-0 only */
		/*
		 * Ours, the fault's, and the swap cache's: a folio swapped back
		 * in keeps its slot until nothing refers to it (Linux's
		 * migrate_vma_check_page() counts folio_mapping()'s reference).
		 */
		expected = folio_expected_ref_count(folio) + 1 + (page == fault_page);
		if (folio_mapped(folio) || folio_ref_count(folio) != expected) {
			/* a GET or a pin from before the collect: the page stays */
			restore_one(&src[i], &av[i], fault_page, isolated);
			continue;
		}
		unmapped++;
	}
	return unmapped;
}

int migrate_vma_setup(struct migrate_vma *args)
{
	struct vm_area_struct *vma = args->vma;
	long nr_pages = (long)(args->end - args->start) >> PAGE_SHIFT;

	/* as Linux: the ends are rounded down to pages, the length counted first */
	args->start &= PAGE_MASK;
	args->end &= PAGE_MASK;
	if (!vma || (vma->vm_flags & (VM_HUGETLB | VM_SPECIAL)) ||
	    vma_is_fsdax(vma))
		return -EINVAL;
	if (nr_pages <= 0 || args->end < args->start)
		return -EINVAL;
	if (args->start < vma->vm_start || args->start >= vma->vm_end)
		return -EINVAL;
	if (args->end <= vma->vm_start || args->end > vma->vm_end)
		return -EINVAL;
	if (!args->src || !args->dst)
		return -EINVAL;
	if (args->fault_page && !is_device_private_page(args->fault_page))
		return -EINVAL;
	mmap_assert_locked(vma->vm_mm);

	memset(args->src, 0, sizeof(*args->src) * (unsigned long)nr_pages);
	args->cpages = 0;
	args->npages = 0;
	args->pinmm_anon_vma = kcalloc((unsigned long)nr_pages, sizeof(*args->pinmm_anon_vma),
				       GFP_KERNEL);
	if (!args->pinmm_anon_vma)
		return -ENOMEM;
	migrate_vma_collect(args);
	if (args->cpages)
		args->cpages = migrate_device_unmap(args->src, args->pinmm_anon_vma, args->npages,
						    args->fault_page);
	if (!args->cpages) {
		/* nothing to do: the caller will not call finalize */
		kfree(args->pinmm_anon_vma);
		args->pinmm_anon_vma = NULL;
	}
	return 0;
}

/* ---- pages ------------------------------------------------------------------------------- */

/* A hole (or the zero page) of the range gets the new page @page (locked, ours). */
static void migrate_vma_insert_page(struct migrate_vma *args, unsigned long addr,
				    struct page *page, unsigned long *src)
{
	struct vm_area_struct *vma = args->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio = page_folio(page);
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *ptep, orig, entry;

	if (!vma_is_anonymous(vma) || anon_vma_prepare(vma))
		goto abort;
	pmd = pmd_alloc_walk(mm, addr);
	if (!pmd || pmd_leaf(pmdp_get_lockless(pmd)))
		goto abort;
	if (pmd_none(pmdp_get_lockless(pmd)) && __pte_alloc(mm, pmd))
		goto abort;
	__folio_mark_uptodate(folio);
	entry = mk_pte(page, vma_pte_prot(vma));
	if (vma->vm_flags & VM_WRITE)
		entry = pte_mkwrite(pte_mkdirty(entry));
	if (folio_is_device_private(folio))
		entry = device_private_pte(page, entry);
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		goto abort;
	orig = ptep_get(ptep);
	/* filled meanwhile by a fault: the page stays unused */
	if (!pte_none(orig) && !(pte_present(orig) && is_zero_pfn(pte_pfn(orig)))) {
		pte_unmap_unlock(ptep, ptl);
		goto abort;
	}
	inc_mm_counter(mm, MM_ANONPAGES);
	folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
	if (!folio_is_zone_device(folio))
		folio_add_lru(folio);
	folio_get(folio);	/* the mapping's */
	if (!pte_none(orig))
		ptep_get_and_clear(ptep);	/* the zero page holds no reference */
	set_pte(ptep, entry);
	pte_unmap_unlock(ptep, ptl);
	return;
abort:
	*src &= ~MIGRATE_PFN_MIGRATE;
}

void migrate_vma_pages(struct migrate_vma *migrate)
{
	struct mmu_notifier_range range;
	bool notified = false;

	for (unsigned long i = 0; i < migrate->npages; i++) {
		struct page *newpage = migrate_pfn_to_page(migrate->dst[i]);
		struct page *page = migrate_pfn_to_page(migrate->src[i]);
		struct folio *folio, *newfolio;
		int expected;

		if (!newpage) {
			migrate->src[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}
		if (!(migrate->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (!page) {
			if (!notified) {
				/* the zero page a mirror may hold is about to go */
				notified = true;
				mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0,
							      migrate->vma->vm_mm, migrate->start,
							      migrate->end, migrate->pgmap_owner);
				mmu_notifier_invalidate_range_start(&range);
			}
			migrate_vma_insert_page(migrate, migrate->start + (i << PAGE_SHIFT),
						newpage, &migrate->src[i]);
			continue;
		}
		folio = page_folio(page);
		newfolio = page_folio(newpage);
		/*
		 * A device page has no swap slot: the swap cache lets go of the
		 * folio if nothing else holds its slot (a forked mm's swap entry
		 * does), else the page stays, as Linux's migrate_device_pages()
		 * does. pinmm does not move a slot to a RAM destination either
		 * (folio_migrate_mapping() would): the page stays.
		 */
		if (folio_test_swapcache(folio) &&
		    (!folio_is_zone_device(newfolio) || !folio_free_swap(folio))) {
			migrate->src[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}
		expected = 1 + (page == migrate->fault_page);
		if (WARN_ON_ONCE(folio_test_large(newfolio)) ||
		    folio_ref_count(folio) != expected) {
			migrate->src[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}
		/* the driver copied the data; the struct page state travels here */
		newfolio->index = folio->index;
		folio_migrate_flags(newfolio, folio);
		atomic_store_explicit(&newfolio->mapping,
				      atomic_load_explicit(&folio->mapping, memory_order_relaxed),
				      memory_order_release);
	}
	if (notified)
		mmu_notifier_invalidate_range_end(&range);
}

/* ---- finalize ---------------------------------------------------------------------------- */

static void migrate_device_finalize(unsigned long *src, unsigned long *dst,
				    struct anon_vma **av, unsigned long npages,
				    struct page *fault_page)
{
	for (unsigned long i = 0; i < npages; i++) {
		struct page *newpage = migrate_pfn_to_page(dst[i]);
		struct page *page = migrate_pfn_to_page(src[i]);
		struct migrate_dst d;
		struct folio *folio, *newfolio;
		bool moved;

		if (!page) {
			/* a hole: the new page is mapped now, or unused */
			if (newpage) {
				folio_unlock(page_folio(newpage));
				folio_put(page_folio(newpage));
			}
			continue;
		}
		folio = page_folio(page);
		moved = (src[i] & MIGRATE_PFN_MIGRATE) && newpage;
		if (!moved && newpage) {
			/* an unused destination goes back to its owner */
			folio_unlock(page_folio(newpage));
			folio_put(page_folio(newpage));
		}
		d = (struct migrate_dst){ .src = folio, .whole = moved ? page_folio(newpage) : NULL };
		remove_migration_ptes(folio, moved ? &d : NULL, av[i]);
		if (page != fault_page)
			folio_unlock(folio);
		if (folio_is_zone_device(folio)) {
			folio_put(folio);
		} else if (moved) {
			/* migrate_folio_done(): the isolation ends with the page */
			folio_account_isolated(folio, -1);
			folio_put(folio);
		} else {
			folio_putback_lru(folio);
		}
		if (moved) {
			newfolio = page_folio(newpage);
			folio_unlock(newfolio);
			if (!folio_is_zone_device(newfolio))
				folio_add_lru(newfolio);
			folio_put(newfolio);	/* the allocation's; the mappings hold theirs */
		}
		if (av[i])
			put_anon_vma(av[i]);
		av[i] = NULL;
	}
}

void migrate_vma_finalize(struct migrate_vma *migrate)
{
	if (WARN_ON_ONCE(!migrate->pinmm_anon_vma))
		return;		/* setup collected nothing, or finalize ran twice */
	migrate_device_finalize(migrate->src, migrate->dst, migrate->pinmm_anon_vma,
				migrate->npages, migrate->fault_page);
	kfree(migrate->pinmm_anon_vma);
	migrate->pinmm_anon_vma = NULL;
}

/* ---- FOLL_LONGTERM: device-coherent memory back to RAM ---------------------------------- */

int migrate_device_coherent_folio(struct folio *folio)
{
	unsigned long src, dst = 0;
	struct anon_vma *av;
	struct folio *dfolio;

	VM_BUG_ON_FOLIO(!folio_is_device_coherent(folio), folio);
	folio_lock(folio);
	av = folio_test_anon(folio) ? folio_get_anon_vma(folio) : NULL;
	if (!av) {
		folio_unlock(folio);
		folio_put(folio);
		return -EBUSY;
	}
	/* no VMA to walk: the caller's reference stands for collect's */
	src = migrate_pfn(folio_pfn(folio)) | MIGRATE_PFN_MIGRATE;
	if (!migrate_device_unmap(&src, &av, 1, NULL))
		return -EBUSY;	/* restored and released */
	dfolio = folio_alloc(GFP_USER | __GFP_NOWARN, 0);
	if (dfolio) {
		if (!folio_trylock(dfolio))
			BUG();
		memcpy(folio_address(dfolio), folio_address(folio), PAGE_SIZE);
		dst = migrate_pfn(folio_pfn(dfolio));
		if (folio_ref_count(folio) == 1) {
			dfolio->index = folio->index;
			folio_migrate_flags(dfolio, folio);
			atomic_store_explicit(&dfolio->mapping,
					      atomic_load_explicit(&folio->mapping,
								   memory_order_relaxed),
					      memory_order_release);
		} else {
			src &= ~MIGRATE_PFN_MIGRATE;
		}
	} else {
		src &= ~MIGRATE_PFN_MIGRATE;
	}
	migrate_device_finalize(&src, &dst, &av, 1, NULL);
	return (src & MIGRATE_PFN_MIGRATE) ? 0 : -EBUSY;
}
