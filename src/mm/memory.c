// SPDX-License-Identifier: MIT
/*
 * Faults, copy-on-write, zap and fork's page copy (Linux: mm/memory.c).
 *
 * The rules this file keeps, Linux's:
 *  - A read of untouched private anon memory maps the shared zero page
 *    (special PTE, read-only) and allocates nothing.
 *  - A write fault on a read-only private anon PTE reuses the page in place
 *    only if it is PageAnonExclusive, or if this mapping holds the only
 *    reference (refcount 1: no other mapping, no GET, no pin); for a
 *    PTE-mapped large folio, if all its mappings are in this mm and are all
 *    its references (Linux 6.15+, the mm ids of rmap.c); otherwise it
 *    copies (COW). A page with an extra reference is never reused.
 *  - FAULT_FLAG_UNSHARE makes an anon page exclusive (reuse or copy) but
 *    leaves the PTE read-only: R/O pins use it.
 *  - fork shares private anon pages COW (both read-only, exclusivity
 *    cleared) but copies at once the pages that may be pinned, so the
 *    parent keeps the pinned page writable.
 *
 * Lock order here: mmap_lock > anon_vma rwsem > PMD-table lock > PTE lock;
 * MMU notifier callbacks run with no page-table lock held.
 */
#include <pinmm/huge_mm.h>
#include <pinmm/hugetlb.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/migrate.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>
#include <pinmm/fs.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <pinmm/userfaultfd.h>
#include <pinmm/swap.h>
#include <pinmm/vmstat.h>

#include <errno.h>
#include <string.h>

/* ---- normal pages ------------------------------------------------------------ */

struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	unsigned long pfn = pte_pfn(pte);

	(void)vma;
	(void)addr;
	/* PFNMAP frames, the zero page and device pages carry no refcount here */
	if (pte_special(pte) || is_zero_pfn(pfn) || !pfn_valid(pfn))
		return NULL;
	return pfn_to_page(pfn);
}

struct folio *vm_normal_folio(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	struct page *page = vm_normal_page(vma, addr, pte);

	return page ? page_folio(page) : NULL;
}

struct page *vm_normal_page_pmd(struct vm_area_struct *vma, unsigned long addr, pmd_t pmd)
{
	unsigned long pfn = pmd_pfn(pmd);

	(void)vma;
	(void)addr;
	if (pmd_special(pmd) || pmd_devmap(pmd) || !pfn_valid(pfn))
		return NULL;
	return pfn_to_page(pfn);
}

/* ---- migration entries --------------------------------------------------------- */

/* A fault met a migration entry: wait until the migrator unlocks the folio. */
static void migration_entry_wait(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t *pte;

	for (;;) {
		pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
		if (!pte)
			return;
		if (!pte_same(ptep_get(pte), vmf->orig_pte)) {
			pte_unmap_unlock(pte, ptl);
			return;
		}
		folio = pfn_folio(swp_offset(pte_to_swp_entry(vmf->orig_pte)));
		if (folio_try_get(folio))
			break;
		/*
		 * src/migrate: frozen, the migrator is copying. Wait that out
		 * here, re-checking the entry, rather than return at once and
		 * let the caller (uaccess: 16 tries) burn its retries meanwhile.
		 */
		pte_unmap_unlock(pte, ptl);
		cond_resched();
	}
	pte_unmap_unlock(pte, ptl);
	folio_wait_locked(folio);
	folio_put(folio);
}

void pmd_migration_entry_wait(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pmd_lock(mm, pmd);
	pmd_t val = pmdp_get(pmd);
	struct folio *folio;

	if (!is_swap_pmd(val) || !is_migration_entry(pmd_to_swp_entry(val))) {
		spin_unlock(ptl);
		return;
	}
	folio = pfn_folio(swp_offset(pmd_to_swp_entry(val)));
	if (!folio_try_get(folio)) {
		spin_unlock(ptl);
		cond_resched();
		return;
	}
	spin_unlock(ptl);
	folio_wait_locked(folio);
	folio_put(folio);
}

/* ---- device-private entries ------------------------------------------------------ */

/*
 * A CPU touched a page that lives in device-private memory (do_swap_page's
 * device-private branch): the CPU cannot map it, so its driver moves it
 * back to RAM (pgmap->ops->migrate_to_ram), and the access retries.
 */
static vm_fault_t do_device_private_fault(struct vm_fault *vmf)
{
	struct page *page = pfn_swap_entry_to_page(pte_to_swp_entry(vmf->orig_pte));
	struct folio *folio = page_folio(page);
	vm_fault_t ret;

	vmf->pte = pte_offset_map_lock(vmf->vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		return 0;
	if (!pte_same(ptep_get(vmf->pte), vmf->orig_pte)) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;
	}
	/* the entry holds a reference: ours can be taken under the lock */
	folio_get(folio);
	if (!folio_trylock(folio)) {
		/* another migration has it: wait for it, then look again */
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		folio_wait_locked(folio);
		folio_put(folio);
		return 0;
	}
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	vmf->page = page;
	ret = page_pgmap(page)->ops->migrate_to_ram(vmf);
	folio_unlock(folio);
	folio_put(folio);
	return ret;
}

/* ---- anonymous faults ---------------------------------------------------------- */

static vm_fault_t do_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	/* a uffd-wp marker: the new page is born protected (the write then faults to uffd) */
	bool uffd_wp = pte_marker_uffd_wp(vmf->orig_pte);
	struct folio *folio;
	spinlock_t *ptl;
	pte_t entry, *pte;

	/* Private and read: the shared zero page, no memory, no anon_vma. */
	if (!write && !(vma->vm_flags & VM_SHARED)) {
		entry = pte_wrprotect(pte_mkspecial(pfn_pte(pinmm_zero_pfn, vma_pte_prot(vma))));
		if (uffd_wp)
			entry = pte_mkuffd_wp(entry);
		pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
		if (!pte)
			return 0;
		/* empty, or the uffd-wp marker the fault came for */
		if (pte_same(ptep_get(pte), vmf->orig_pte))
			set_pte(pte, entry);
		pte_unmap_unlock(pte, ptl);
		return 0;
	}

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	/* memalloc_pin_save() scopes drop __GFP_MOVABLE here */
	folio = folio_alloc(current_gfp_context(GFP_HIGHUSER_MOVABLE | __GFP_ZERO), 0);
	if (!folio)
		return VM_FAULT_OOM;
	__folio_mark_uptodate(folio);

	entry = pte_mkyoung(mk_pte(&folio->page, vma_pte_prot(vma)));
	if (vma->vm_flags & VM_WRITE)
		entry = pte_mkwrite(pte_mkdirty(entry));
	if (uffd_wp)
		entry = pte_mkuffd_wp(entry);
	pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
	if (!pte || !pte_same(ptep_get(pte), vmf->orig_pte)) {
		/* another thread faulted it in first */
		if (pte)
			pte_unmap_unlock(pte, ptl);
		folio_put(folio);
		return 0;
	}
	inc_mm_counter(mm, MM_ANONPAGES);
	/*
	 * Shared anon memory (MAP_SHARED|MAP_ANONYMOUS, shmem in Linux) is
	 * never COWed; its pages keep the exclusive bit so R/O pins never
	 * ask to unshare them.
	 */
	folio_add_new_anon_rmap(folio, vma, vmf->address, RMAP_EXCLUSIVE);
	folio_add_lru(folio);	/* src/migrate: now visible to migration */
	set_pte(pte, entry);
	pte_unmap_unlock(pte, ptl);
	return 0;
}

/* ---- write-protect faults --------------------------------------------------------- */

/* Make the PTE writable (and dirty, young) in place. PTE lock held; dropped. */
static void wp_page_reuse(struct vm_fault *vmf)
{
	pte_t entry = pte_mkyoung(vmf->orig_pte);

	entry = maybe_mkwrite(pte_mkdirty(entry), vmf->vma);
	set_pte(vmf->pte, entry);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
}

/*
 * A PTE-mapped large anon folio (6.15+, CONFIG_MM_ID): reusable when every
 * mapping is in this mm and every reference is a mapping (no GUP reference,
 * no pin: a pinned folio is copied). A folio mapped by a single PTE is
 * copied instead, so the large folio can be freed.
 */
static bool wp_can_reuse_large_anon_folio(struct folio *folio, struct vm_area_struct *vma)
{
	int mapped = folio_large_mapcount(folio);

	if (mapped <= 1 || folio_maybe_mapped_shared(folio))
		return false;
	/* cheap test first; the bookkeeping's lock makes it exact */
	if (folio_ref_count(folio) != mapped)
		return false;
	return folio_large_mapped_only_by(folio, vma->vm_mm, folio_ref_count(folio));
}

/*
 * Linux's wp_can_reuse_anon_folio(): may a write reuse a non-exclusive anon
 * folio? Only when the mappings of this mm hold every reference: any other
 * mapping, GET or pin means someone may still see the old contents, so we
 * copy.
 */
static bool wp_can_reuse_anon_folio(struct folio *folio, struct vm_area_struct *vma)
{
	/* a KSM page is shared by design, whatever its counts say: never reused */
	if (folio_test_ksm(folio))
		return false;
	if (folio_test_large(folio))
		return wp_can_reuse_large_anon_folio(folio, vma);
	/* the swap cache's reference may go: the one we can explain */
	if (folio_ref_count(folio) > 1 + folio_test_swapcache(folio))
		return false;
	pinmm_race_point(PINMM_RACE_WP_REUSE, folio_pfn(folio));
	if (!folio_trylock(folio))
		return false;
	/* a swapped-in page whose slot nobody else holds: the slot goes, the page stays */
	if (folio_test_swapcache(folio))
		folio_free_swap(folio);
	/*
	 * Acquire: the last other holder dropped its reference with a release
	 * (folio_put), so its accesses to the page happen before our writes.
	 * The KSM test again: merging happens under the folio lock.
	 */
	if (atomic_load_explicit(&folio->_refcount, memory_order_acquire) != 1 ||
	    folio_test_ksm(folio)) {
		folio_unlock(folio);
		return false;
	}
	/* ours alone now: later rmap walks need look at this VMA's anon_vma only */
	folio_move_anon_rmap(folio, vma);
	folio_unlock(folio);
	return true;
}

/* Copy the page into a new exclusive anon folio and switch the PTE to it. */
static vm_fault_t wp_page_copy(struct vm_fault *vmf, struct folio *old_folio,
			       struct page *old_page)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	struct mmu_notifier_range range;
	unsigned long old_pfn = pte_pfn(vmf->orig_pte);
	bool zero = !old_page && is_zero_pfn(old_pfn);
	bool mapped_ref = false;
	struct folio *new;
	spinlock_t *ptl;
	vm_fault_t ret = 0;
	pte_t *pte;

	if (anon_vma_prepare(vma)) {
		ret = VM_FAULT_OOM;
		goto out;
	}
	new = folio_alloc(current_gfp_context(GFP_HIGHUSER_MOVABLE | (zero ? __GFP_ZERO : 0)), 0);
	if (!new) {
		ret = VM_FAULT_OOM;
		goto out;
	}
	if (old_page)
		memcpy(folio_address(new), page_address(old_page), PAGE_SIZE);
	else if (!zero)
		memcpy(folio_address(new), pfn_to_virt(old_pfn), PAGE_SIZE);
	__folio_mark_uptodate(new);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, vmf->address,
				vmf->address + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
	if (pte && pte_same(ptep_get(pte), vmf->orig_pte)) {
		pte_t entry = pte_mkyoung(mk_pte(&new->page, vma_pte_prot(vma)));

		if (unshare) {
			/* still read-only: what protected it stays */
			entry = pte_wrprotect(entry);
			if (pte_soft_dirty(vmf->orig_pte))
				entry = pte_mksoft_dirty(entry);
			if (pte_uffd_wp(vmf->orig_pte))
				entry = pte_mkuffd_wp(entry);
		} else
			entry = maybe_mkwrite(pte_mkdirty(entry), vma);
		if (old_folio && !folio_test_anon(old_folio)) {
			dec_mm_counter(mm, mm_counter(old_folio));
			inc_mm_counter(mm, MM_ANONPAGES);
		} else if (!old_folio) {
			inc_mm_counter(mm, MM_ANONPAGES);
		}
		/* clear first: a lockless walker must never see old and new mixed */
		ptep_get_and_clear(pte);
		folio_add_new_anon_rmap(new, vma, vmf->address, RMAP_EXCLUSIVE);
		folio_add_lru(new);	/* src/migrate: now visible to migration */
		set_pte(pte, entry);
		if (old_folio) {
			folio_remove_rmap_pte(old_folio, old_page, vma);
			mapped_ref = true;
		}
		new = NULL;
		count_vm_event(COW_FAULT);
	}
	if (pte)
		pte_unmap_unlock(pte, ptl);
	if (new)
		folio_put(new);
	mmu_notifier_invalidate_range_end(&range);
out:
	if (old_folio) {
		if (mapped_ref) {
			/* the last mapping of a swapped-in page gone: its slot too */
			free_swap_cache(old_folio);
			folio_put(old_folio);	/* the reference the old PTE held */
		}
		folio_put(old_folio);		/* ours, taken by do_wp_page() */
	}
	return ret;
}

/* A shared mapping's page becomes writable; the filesystem may refuse. */
static vm_fault_t wp_page_shared(struct vm_fault *vmf, struct folio *folio)
{
	struct vm_area_struct *vma = vmf->vma;
	bool file = folio && !folio_test_anon(folio);

	if (file && vma->vm_ops && vma->vm_ops->page_mkwrite) {
		vm_fault_t tmp;

		folio_get(folio);
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		vmf->flags |= FAULT_FLAG_MKWRITE;
		tmp = vma->vm_ops->page_mkwrite(vmf);
		if (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
			folio_put(folio);
			return tmp;
		}
		if (!(tmp & VM_FAULT_LOCKED))
			folio_lock(folio);
		vmf->pte = pte_offset_map_lock(vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
		if (!vmf->pte || !pte_same(ptep_get(vmf->pte), vmf->orig_pte)) {
			if (vmf->pte)
				pte_unmap_unlock(vmf->pte, vmf->ptl);
			folio_unlock(folio);
			folio_put(folio);
			return 0;
		}
		wp_page_reuse(vmf);
		folio_mark_dirty(folio);
		folio_unlock(folio);
		folio_put(folio);
		return 0;
	}
	if (file)
		folio_get(folio);
	wp_page_reuse(vmf);
	if (file) {
		folio_mark_dirty(folio);
		folio_put(folio);
	}
	return 0;
}

/*
 * A write (or unshare) fault on a present, read-only PTE. Called with the PTE
 * lock held and vmf->orig_pte checked; returns with it released.
 */
static vm_fault_t do_wp_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;
	struct folio *folio = NULL;
	struct page *page;

	/* a write to a uffd-wp entry is the reader's to resolve (not an unshare) */
	if (!unshare && userfaultfd_pte_wp(vma, vmf->orig_pte)) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return handle_userfault(vmf, VM_UFFD_WP);
	}
	page = vm_normal_page(vma, vmf->address, vmf->orig_pte);
	if (page)
		folio = page_folio(page);
	vmf->page = page;	/* ->page_mkwrite looks here */

	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) {
		if (unshare) {
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			return 0;
		}
		return wp_page_shared(vmf, folio);
	}

	if (folio && folio_test_anon(folio) &&
	    (PageAnonExclusive(page) || wp_can_reuse_anon_folio(folio, vma))) {
		if (!PageAnonExclusive(page))
			SetPageAnonExclusive(page);
		if (unshare) {
			pte_unmap_unlock(vmf->pte, vmf->ptl);
			return 0;
		}
		count_vm_event(COW_REUSE);
		wp_page_reuse(vmf);
		return 0;
	}

	/* Copy: hold the old folio across the copy, done without the lock. */
	if (folio)
		folio_get(folio);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return wp_page_copy(vmf, folio, page);
}

/* ---- file (vm_ops->fault) faults ---------------------------------------------------- */

/* ->fault() answered without handing back a locked, referenced page. */
#define VM_FAULT_NO_PAGE_BACK \
	(VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY | VM_FAULT_DONE_COW | VM_FAULT_COMPLETED)

static vm_fault_t __do_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret;

	vmf->page = NULL;
	ret = vma->vm_ops->fault(vmf);
	if (ret & VM_FAULT_NO_PAGE_BACK)
		return ret;
	if (WARN_ON_ONCE(!vmf->page))
		return VM_FAULT_SIGBUS;
	if (!(ret & VM_FAULT_LOCKED))
		folio_lock(page_folio(vmf->page));
	return ret | VM_FAULT_LOCKED;
}

void set_pte_range(struct vm_fault *vmf, struct folio *folio, struct page *page,
		   unsigned int nr, unsigned long addr)
{
	struct vm_area_struct *vma = vmf->vma;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	bool cow = write && !(vma->vm_flags & VM_SHARED);
	pte_t entry = pte_mkyoung(mk_pte(page, vma_pte_prot(vma)));

	if (write)
		entry = maybe_mkwrite(pte_mkdirty(entry), vma);
	else if (!(vma->vm_flags & VM_SHARED))
		entry = pte_wrprotect(entry);
	else if (pte_write(entry) && folio_test_dirty(folio))
		entry = pte_mkdirty(entry);	/* no write-notify: already dirty, say so */
	if (cow) {
		VM_BUG_ON(nr != 1);
		inc_mm_counter(vma->vm_mm, MM_ANONPAGES);
		folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
		folio_add_lru(folio);	/* src/migrate: now visible to migration */
	} else {
		add_mm_counter(vma->vm_mm, mm_counter(folio), nr);
		folio_add_file_rmap_ptes(folio, page, (int)nr, vma);
	}
	/* consecutive pages of one folio: consecutive frames */
	for (unsigned int i = 0; i < nr; i++, entry = pte_advance_pfn(entry, 1))
		set_pte(vmf->pte + i, entry);
}

/*
 * Map @page at vmf->address if the PTE is still empty: the page-cache page
 * ->fault() returned, or (a write fault on a private mapping) its new COW
 * copy. The reference the caller holds becomes the mapping's. Return true
 * if mapped.
 */
static bool finish_fault(struct vm_fault *vmf, struct page *page)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio = page_folio(page);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	bool cow = write && !(vma->vm_flags & VM_SHARED);

	if (pmd_none(pmdp_get_lockless(vmf->pmd))) {
		/* a PMD-sized page-cache folio (shmem THP) is mapped whole if it can be */
		if (!cow && folio_order(folio) == HPAGE_PMD_ORDER &&
		    do_set_pmd(vmf, folio, write) != VM_FAULT_FALLBACK)
			return true;
		if (vmf->prealloc_pte)
			pmd_install(mm, vmf->pmd, &vmf->prealloc_pte);
		else if (__pte_alloc(mm, vmf->pmd))
			return false;
	}
	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		return false;
	if (!pte_none(ptep_get(vmf->pte))) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return false;
	}
	set_pte_range(vmf, folio, page, 1, vmf->address);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return true;
}

/*
 * Map the locked page ->fault() returned (a write to a shared mapping also
 * dirties it), unlock it, and drop the reference if it did not get mapped.
 */
static void finish_fault_unlock(struct vm_fault *vmf, bool write)
{
	struct folio *folio = page_folio(vmf->page);

	if (finish_fault(vmf, vmf->page)) {
		/* the mapping's reference keeps the folio: mmap_lock stops munmap */
		if (write)
			folio_mark_dirty(folio);
		folio_unlock(folio);
	} else {
		folio_unlock(folio);
		folio_put(folio);
	}
}

/* ---- fault-around ------------------------------------------------------------------ */

static atomic_ulong fault_around_pages = FAULT_AROUND_BYTES_DEFAULT >> PAGE_SHIFT;

unsigned long pinmm_fault_around_bytes(void)
{
	return atomic_load_explicit(&fault_around_pages, memory_order_relaxed) << PAGE_SHIFT;
}

int pinmm_set_fault_around_bytes(unsigned long bytes)
{
	unsigned long pages = bytes >> PAGE_SHIFT;

	if (pages > PTRS_PER_TABLE)
		return -EINVAL;
	/* a power of two, so that windows align; below one page is off */
	pages = pages ? 1UL << (63 - __builtin_clzl(pages)) : 1;
	atomic_store_explicit(&fault_around_pages, pages, memory_order_relaxed);
	return 0;
}

static bool should_fault_around(const struct vm_fault *vmf)
{
	return vmf->vma->vm_ops->map_pages &&
	       atomic_load_explicit(&fault_around_pages, memory_order_relaxed) > 1;
}

/*
 * A read fault first maps what the cache already has around the address:
 * fault_around_pages entries from the aligned slot below it, or from the
 * VMA's start if that is later, cut to the VMA and to this PTE table.
 * (Probed on the live kernel: the window slides forward rather than
 * shrinks when the VMA starts inside the aligned block.) Return
 * VM_FAULT_NOPAGE if the faulting page was among what got mapped,
 * VM_FAULT_OOM, or 0: go on with ->fault().
 */
static vm_fault_t do_fault_around(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long nr = atomic_load_explicit(&fault_around_pages, memory_order_relaxed);
	unsigned long slot = pte_index(vmf->address);
	/* the VMA's pages before and after the faulting one */
	unsigned long below = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	unsigned long above = (vma->vm_end - vmf->address) / PAGE_SIZE - 1;
	unsigned long lo = max(ALIGN_DOWN(slot, nr), slot - min(slot, below));
	unsigned long hi = min(min(lo + nr, (unsigned long)PTRS_PER_TABLE) - 1, slot + above);
	vm_fault_t ret;

	if (pmd_none(pmdp_get_lockless(vmf->pmd))) {
		/* ->map_pages runs under RCU and cannot allocate: a table ready for it */
		vmf->prealloc_pte = pte_table_alloc(vma->vm_mm);
		if (!vmf->prealloc_pte)
			return VM_FAULT_OOM;
	}
	rcu_read_lock();
	ret = vma->vm_ops->map_pages(vmf, vmf->pgoff - (slot - lo), vmf->pgoff + (hi - slot));
	rcu_read_unlock();
	return ret;
}

static vm_fault_t do_read_fault(struct vm_fault *vmf)
{
	vm_fault_t ret;

	if (should_fault_around(vmf)) {
		ret = do_fault_around(vmf);
		if (ret)
			return ret;
	}
	ret = __do_fault(vmf);
	if (ret & VM_FAULT_NO_PAGE_BACK)
		return ret;
	finish_fault_unlock(vmf, false);
	return 0;
}

static vm_fault_t do_cow_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct folio *new, *src;
	vm_fault_t ret;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	new = folio_alloc(current_gfp_context(GFP_HIGHUSER_MOVABLE), 0);
	if (!new)
		return VM_FAULT_OOM;
	ret = __do_fault(vmf);
	if (ret & VM_FAULT_NO_PAGE_BACK) {
		folio_put(new);
		return ret;
	}
	src = page_folio(vmf->page);
	memcpy(folio_address(new), page_address(vmf->page), PAGE_SIZE);
	__folio_mark_uptodate(new);
	/*
	 * Map the copy while the source is still locked: a truncation waits
	 * for that lock, so its second unmap sees our PTE and zaps it (a copy
	 * mapped after the unlock could outlive the end of the file).
	 */
	if (!finish_fault(vmf, &new->page))
		folio_put(new);
	else
		count_vm_event(COW_FAULT);
	folio_unlock(src);
	folio_put(src);
	return 0;
}

static vm_fault_t do_shared_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct folio *folio;
	vm_fault_t ret = __do_fault(vmf);

	if (ret & VM_FAULT_NO_PAGE_BACK)
		return ret;
	folio = page_folio(vmf->page);
	if (vma->vm_ops->page_mkwrite) {
		vm_fault_t tmp;

		folio_unlock(folio);
		vmf->flags |= FAULT_FLAG_MKWRITE;
		tmp = vma->vm_ops->page_mkwrite(vmf);
		if (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
			folio_put(folio);
			return tmp;
		}
		if (!(tmp & VM_FAULT_LOCKED))
			folio_lock(folio);
	}
	finish_fault_unlock(vmf, true);
	return 0;
}

static vm_fault_t do_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret;

	if (!vma->vm_ops->fault)
		return VM_FAULT_SIGBUS;
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		ret = do_read_fault(vmf);
	else if (!(vma->vm_flags & VM_SHARED))
		ret = do_cow_fault(vmf);
	else
		ret = do_shared_fault(vmf);
	/* a table fault-around prepared that nobody needed in the end */
	if (vmf->prealloc_pte) {
		pte_table_free(vma->vm_mm, vmf->prealloc_pte);
		vmf->prealloc_pte = NULL;
	}
	/* ->fault() may drop mmap_lock only when the caller allowed it */
	if ((ret & (VM_FAULT_RETRY | VM_FAULT_COMPLETED)) &&
	    WARN_ON_ONCE(!(vmf->flags & FAULT_FLAG_ALLOW_RETRY)))
		return VM_FAULT_SIGBUS;
	return ret;
}

/* ---- the fault entry ------------------------------------------------------------- */

/* The slot holds a marker that no longer means anything: empty it, fault again. */
static vm_fault_t pte_marker_clear(struct vm_fault *vmf)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(vmf->vma->vm_mm, vmf->pmd, vmf->address, &ptl);

	if (!pte)
		return 0;
	if (pte_same(ptep_get(pte), vmf->orig_pte))
		ptep_get_and_clear(pte);
	pte_unmap_unlock(pte, ptl);
	return 0;
}

/*
 * Linux's handle_pte_marker(): a guard page is never mapped (SIGSEGV, and
 * -EFAULT to GUP); a uffd-wp marker is a hole that is born protected.
 */
static vm_fault_t handle_pte_marker(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;

	if (is_guard_pte_marker(vmf->orig_pte))
		return VM_FAULT_SIGSEGV;
	if (pte_marker_uffd_wp(vmf->orig_pte) && userfaultfd_wp(vma) && vma_is_anonymous(vma))
		return do_anonymous_page(vmf);
	return pte_marker_clear(vmf);
}

static vm_fault_t handle_pte_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	pte_t entry, *pte;

	if (pmd_none(pmdp_get_lockless(vmf->pmd))) {
		/* a file fault maps its own table, or a PMD (finish_fault()) */
		if (!vma_is_anonymous(vma) && !(vma->vm_flags & (VM_PFNMAP | VM_IO)))
			return do_fault(vmf);
		if (__pte_alloc(mm, vmf->pmd))
			return VM_FAULT_OOM;
	}
	pte = pte_offset_map(vmf->pmd, vmf->address, NULL);
	if (!pte)
		return 0;	/* the PMD changed (THP raced in): the access retries */
	vmf->orig_pte = ptep_get(pte);
	pte_unmap(pte);

	if (pte_none(vmf->orig_pte)) {
		if (vma->vm_flags & (VM_PFNMAP | VM_IO))
			return VM_FAULT_SIGBUS;
		if (vma_is_anonymous(vma))
			return do_anonymous_page(vmf);
		return do_fault(vmf);
	}
	if (!pte_present(vmf->orig_pte)) {
		swp_entry_t e = pte_to_swp_entry(vmf->orig_pte);

		if (is_pte_marker(vmf->orig_pte))
			return handle_pte_marker(vmf);

		if (is_migration_entry(e)) {
			migration_entry_wait(vmf);
			return 0;
		}
		if (is_swapfile_entry(e))
			return do_swap_page(vmf);	/* src/mm/swap_fault.c */
		if (is_device_private_entry(e))
			return do_device_private_fault(vmf);
		if (is_device_exclusive_entry(e))
			return remove_device_exclusive_entry(vmf);
		return swp_type(e) == SWP_HWPOISON ? VM_FAULT_HWPOISON : VM_FAULT_SIGBUS;
	}

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		return 0;
	entry = ptep_get(vmf->pte);
	if (!pte_same(entry, vmf->orig_pte)) {
		pte_unmap_unlock(vmf->pte, vmf->ptl);
		return 0;
	}
	if (vmf->flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
		if (!pte_write(entry))
			return do_wp_page(vmf);
		if (vmf->flags & FAULT_FLAG_WRITE)
			entry = pte_mkdirty(entry);
	}
	entry = pte_mkyoung(entry);
	if (!pte_same(entry, vmf->orig_pte))
		set_pte(vmf->pte, entry);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

static vm_fault_t __handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
				    unsigned int flags)
{
	struct vm_fault vmf = {
		.vma = vma,
		.address = address & PAGE_MASK,
		.real_address = address,
		.flags = flags,
		.pgoff = linear_page_index(vma, address & PAGE_MASK),
		.gfp_mask = GFP_HIGHUSER_MOVABLE,
	};
	struct mm_struct *mm = vma->vm_mm;
	vm_fault_t ret;
	pmd_t pmdval;

	vmf.pmd = pmd_alloc_walk(mm, address);
	if (!vmf.pmd)
		return VM_FAULT_OOM;
retry_pmd:
	pmdval = pmdp_get_lockless(vmf.pmd);
	if (pmd_none(pmdval) && thp_vma_allowable(vma, address)) {
		ret = do_huge_pmd_anonymous_page(&vmf);
		if (!(ret & VM_FAULT_FALLBACK))
			return ret;
		pmdval = pmdp_get_lockless(vmf.pmd);
	}
	if (pmd_leaf(pmdval)) {
		vmf.orig_pmd = pmdval;
		if ((flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !pmd_write(pmdval)) {
			if (!(flags & FAULT_FLAG_UNSHARE) && userfaultfd_huge_pmd_wp(vma, pmdval))
				return handle_userfault(&vmf, VM_UFFD_WP);
			ret = do_huge_pmd_wp_page(&vmf);
			if (!(ret & VM_FAULT_FALLBACK))
				return ret;
			goto retry_pmd;		/* split: go on with the PTEs */
		}
		huge_pmd_set_accessed(&vmf);
		return 0;
	}
	if (is_swap_pmd(pmdval)) {
		pmd_migration_entry_wait(mm, vmf.pmd);
		return 0;
	}
	return handle_pte_fault(&vmf);
}

/* Linux's sanitize_fault_flags() plus the access check of the arch fault path. */
static vm_fault_t check_fault_access(struct vm_area_struct *vma, unsigned int *flags)
{
	vm_flags_t vm_flags = vma->vm_flags;

	if (*flags & FAULT_FLAG_UNSHARE) {
		if (WARN_ON_ONCE(*flags & FAULT_FLAG_WRITE))
			return VM_FAULT_SIGSEGV;
		/* only COW mappings have anything to unshare */
		if (!is_cow_mapping(vm_flags))
			*flags &= ~FAULT_FLAG_UNSHARE;
	} else if (*flags & FAULT_FLAG_WRITE) {
		if (!(vm_flags & VM_WRITE)) {
			/*
			 * A CPU store needs VM_WRITE. A kernel-side forced write
			 * (FOLL_FORCE, ptrace) may COW a private may-write mapping,
			 * never a shared or never-writable one.
			 */
			if ((*flags & FAULT_FLAG_USER) || !(vm_flags & VM_MAYWRITE) ||
			    !is_cow_mapping(vm_flags))
				return VM_FAULT_SIGSEGV;
		}
	}
	if ((*flags & FAULT_FLAG_USER) && !(vm_flags & VM_ACCESS_FLAGS))
		return VM_FAULT_SIGSEGV;	/* PROT_NONE */
	if (*flags & FAULT_FLAG_USER && (*flags & FAULT_FLAG_INSTRUCTION) &&
	    !(vm_flags & VM_EXEC))
		return VM_FAULT_SIGSEGV;
	return 0;
}

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
			   unsigned int flags, void *regs)
{
	vm_fault_t ret;

	(void)regs;
	mmap_assert_locked(vma->vm_mm);
	count_vm_event(PGFAULT);
	if (address < vma->vm_start || address >= vma->vm_end)
		return VM_FAULT_SIGSEGV;
	ret = check_fault_access(vma, &flags);
	if (ret)
		return ret;
	if (is_vm_hugetlb_page(vma))
		return hugetlb_fault(vma->vm_mm, vma, address, flags);
	return __handle_mm_fault(vma, address, flags);
}

/* ---- zap --------------------------------------------------------------------------- */

#define ZAP_BATCH 64

struct zap_batch {
	struct folio *folios[ZAP_BATCH];
	int nr;
	/* Linux's zap_details: which entries an unmap_mapping_range() takes */
	struct folio *single_folio;	/* only the PTEs of this folio */
	bool skip_cows;			/* leave private COW copies (anon) alone */
	bool drop_markers;		/* guard markers go too (munmap, exit) */
};

/* Does the zap described by @b leave the entry that maps @folio? */
static bool zap_skip_folio(const struct zap_batch *b, struct folio *folio)
{
	if (b->single_folio && folio != b->single_folio)
		return true;
	return b->skip_cows && folio_test_anon(folio);
}

static void zap_batch_flush(struct zap_batch *b)
{
	for (int i = 0; i < b->nr; i++) {
		/* a swap-cache folio that lost its last mapping leaves the cache */
		free_swap_cache(b->folios[i]);
		folio_put(b->folios[i]);
	}
	b->nr = 0;
}

/* Returns the address where it stopped (the batch filled up), or @end. */
static unsigned long zap_pte_range(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
				   unsigned long end, struct zap_batch *batch)
{
	struct mm_struct *mm = vma->vm_mm;
	long rss[NR_MM_COUNTERS] = { 0 };
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return addr;	/* not a table now: the caller looks again */
	for (; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t ptent = ptep_get(pte);
		struct folio *folio;
		struct page *page;

		if (pte_none(ptent))
			continue;
		/* a guard outlives MADV_DONTNEED; unmapping the VMA takes it (ZAP_FLAG_DROP_MARKER) */
		if (is_guard_pte_marker(ptent) && !batch->drop_markers)
			continue;
		if (batch->nr == ZAP_BATCH)
			break;
		if (batch->single_folio || batch->skip_cows) {
			/* unmap_mapping_range(): look before clearing */
			unsigned long pfn;

			if (pte_present(ptent))
				pfn = pte_pfn(ptent);
			else if (is_migration_entry(pte_to_swp_entry(ptent)))
				pfn = swp_offset(pte_to_swp_entry(ptent));
			else
				continue;
			if (!pfn_valid(pfn) || (pte_present(ptent) && pte_special(ptent)) ||
			    zap_skip_folio(batch, pfn_folio(pfn)))
				continue;
		}
		ptent = ptep_get_and_clear(pte);
		if (!pte_present(ptent)) {
			swp_entry_t e = pte_to_swp_entry(ptent);

			/* a migration entry holds the rss charge, not a reference */
			if (is_migration_entry(e)) {
				rss[mm_counter(pfn_folio(swp_offset(e)))]--;
			} else if (is_swapfile_entry(e)) {
				/* the slot loses a holder (src/mm/swapfile.c) */
				rss[MM_SWAPENTS]--;
				free_swap_and_cache(e);
			} else if (is_device_private_entry(e) || is_device_exclusive_entry(e)) {
				/* a device-private or -exclusive entry is a mapping: rmap and a reference */
				page = pfn_swap_entry_to_page(e);
				folio = page_folio(page);
				rss[mm_counter(folio)]--;
				folio_remove_rmap_pte(folio, page, vma);
				batch->folios[batch->nr++] = folio;
			}
			continue;
		}
		page = vm_normal_page(vma, addr, ptent);
		if (!page)
			continue;
		folio = page_folio(page);
		if (!folio_test_anon(folio) && pte_dirty(ptent))
			folio_mark_dirty(folio);
		rss[mm_counter(folio)]--;
		folio_remove_rmap_pte(folio, page, vma);
		/* freed after the lock: GUP-fast re-checks the PTE and backs off */
		batch->folios[batch->nr++] = folio;
	}
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		if (rss[i])
			add_mm_counter(mm, i, rss[i]);
	pte_unmap_unlock(pte - 1, ptl);
	zap_batch_flush(batch);
	return addr;
}

/* Zap [addr, end), which lies within one PMD, or the whole PMD leaf. */
static void zap_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
		    unsigned long end, struct zap_batch *batch)
{
	while (addr < end) {
		pmd_t val = pmdp_get_lockless(pmd);

		if (pmd_leaf(val) && (batch->single_folio || batch->skip_cows) &&
		    zap_skip_folio(batch, page_folio(pmd_page(val))))
			break;	/* unmap_mapping_range(): not this one */
		if (pmd_leaf(val) || is_swap_pmd(val)) {
			/*
			 * src/migrate: migration splits PMDs from rmap, without
			 * mmap_lock. If that split won the race, zap_huge_pmd()
			 * finds a table and does nothing: look again and zap its
			 * PTEs (as Linux's zap_pmd_range() does when
			 * zap_huge_pmd() returns 0).
			 */
			if (IS_ALIGNED(addr, PMD_SIZE) && end - addr == PMD_SIZE)
				zap_huge_pmd(vma, pmd, addr);
			else	/* a THP that faulted in after the caller split the ends */
				__split_huge_pmd(vma, pmd, addr);
			continue;
		}
		if (!pmd_is_table(val))
			break;
		/*
		 * Returns @addr unchanged if the table became a leaf meanwhile
		 * (migration remaps a THP by a PMD under mmap_lock for reading,
		 * as MADV_DONTNEED holds it): the loop then zaps the leaf.
		 */
		addr = zap_pte_range(vma, pmd, addr, end, batch);
	}
}

static void __unmap_page_range(struct vm_area_struct *vma, unsigned long addr,
			       unsigned long end, struct zap_batch *batch)
{
	struct mm_struct *mm = vma->vm_mm;

	if (is_vm_hugetlb_page(vma)) {
		__unmap_hugepage_range(vma, addr, end);
		return;
	}
	while (addr < end) {
		unsigned long next = pmd_addr_end(addr, end);
		pmd_t *pmd = mm_find_pmd(mm, addr);

		if (!pmd) {
			addr = pud_addr_end(addr, end);
			continue;
		}
		zap_pmd(vma, pmd, addr, next, batch);
		addr = next;
		cond_resched();
	}
}

static void unmap_page_range(struct vm_area_struct *vma, unsigned long addr, unsigned long end,
			     bool drop_markers)
{
	struct zap_batch batch = { .nr = 0, .drop_markers = drop_markers };

	__unmap_page_range(vma, addr, end, &batch);
}

void unmap_vma_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	start = max(start, vma->vm_start);
	end = min(end, vma->vm_end);
	if (start >= end)
		return;
	/* THPs straddling the ends become PTEs first; only the range goes */
	vma_adjust_trans_huge(vma, start, end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, vma->vm_mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	unmap_page_range(vma, start, end, true);
	mmu_notifier_invalidate_range_end(&range);
}

void zap_page_range_single(struct vm_area_struct *vma, unsigned long address,
			   unsigned long size)
{
	struct mmu_notifier_range range;
	unsigned long start = max(address, vma->vm_start);
	unsigned long end = min(address + size, vma->vm_end);

	if (start >= end)
		return;
	if (!is_vm_hugetlb_page(vma))
		vma_adjust_trans_huge(vma, start, end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	unmap_page_range(vma, start, end, false);
	mmu_notifier_invalidate_range_end(&range);
}

/* ---- unmapping a file's range from every mm (truncation, invalidation) -------------- */

/* Zap the part of @vma that maps file pages [@first, @last], as @details says. */
static void unmap_mapping_range_vma(struct vm_area_struct *vma, pgoff_t first, pgoff_t last,
				    struct zap_batch *details)
{
	pgoff_t vstart = vma->vm_pgoff, vend = vma->vm_pgoff + vma_pages(vma) - 1;
	unsigned long start, end;
	struct mmu_notifier_range range;

	if (last < vstart || first > vend)
		return;
	start = vma->vm_start + ((max(first, vstart) - vstart) << PAGE_SHIFT);
	end = vma->vm_start + ((min(last, vend) - vstart + 1) << PAGE_SHIFT);
	/* a PMD-mapped folio straddling the range is split; its PTEs go one by one */
	vma_adjust_trans_huge(vma, start, end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, vma->vm_mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	__unmap_page_range(vma, start, end, details);
	mmu_notifier_invalidate_range_end(&range);
}

static void unmap_mapping_pages_details(struct address_space *mapping, pgoff_t first,
					pgoff_t last, struct zap_batch *details)
{
	struct vm_area_struct *vma;

	/*
	 * The file rmap: every VMA of every mm that maps the file. No
	 * mmap_lock: i_mmap_rwsem keeps the VMAs and their bounds stable.
	 */
	i_mmap_lock_read(mapping);
	list_for_each_entry(vma, &mapping->i_mmap, shared)
		unmap_mapping_range_vma(vma, first, last, details);
	i_mmap_unlock_read(mapping);
}

void unmap_mapping_pages(struct address_space *mapping, pgoff_t start, pgoff_t nr,
			 bool even_cows)
{
	struct zap_batch details = { .nr = 0, .skip_cows = !even_cows };
	pgoff_t last = nr ? start + nr - 1 : ~0UL;

	if (last < start)
		last = ~0UL;
	unmap_mapping_pages_details(mapping, start, last, &details);
}

void unmap_mapping_range(struct address_space *mapping, loff_t const holebegin,
			 loff_t const holelen, int even_cows)
{
	pgoff_t hba = (pgoff_t)((unsigned long long)holebegin >> PAGE_SHIFT);
	pgoff_t hlen = (pgoff_t)(((unsigned long long)holelen + PAGE_SIZE - 1) >> PAGE_SHIFT);

	/* a length past the top of the offset space means "to the end" */
	if (holelen && hba + hlen < hba)
		hlen = 0;
	unmap_mapping_pages(mapping, hba, hlen, even_cows);
}

void unmap_mapping_folio(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);
	struct zap_batch details = { .nr = 0, .single_folio = folio, .skip_cows = true };

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (!mapping)
		return;
	unmap_mapping_pages_details(mapping, folio->index,
				    folio->index + folio_nr_pages(folio) - 1, &details);
}

/* ---- fork ------------------------------------------------------------------------ */

/* Does fork need to copy this VMA's entries, or will faults fill them? */
static bool vma_needs_copy(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	if (dst_vma->vm_flags & VM_WIPEONFORK)
		return false;
	/* uffd-wp markers must follow even where no page was ever faulted */
	if (userfaultfd_wp(dst_vma))
		return true;
	if (src_vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP))
		return true;
	return src_vma->anon_vma != NULL;
}

/* A maybe-pinned exclusive page: the child gets its own copy now. */
static void copy_present_page(struct vm_area_struct *dst_vma, pte_t *dst_pte, unsigned long addr,
			      struct page *page, struct folio *new, long *rss, pte_t src)
{
	pte_t entry;

	memcpy(folio_address(new), page_address(page), PAGE_SIZE);
	__folio_mark_uptodate(new);
	folio_add_new_anon_rmap(new, dst_vma, addr, RMAP_EXCLUSIVE);
	folio_add_lru(new);	/* src/migrate: now visible to migration */
	rss[MM_ANONPAGES]++;
	entry = mk_pte(&new->page, vma_pte_prot(dst_vma));
	entry = maybe_mkwrite(pte_mkdirty(entry), dst_vma);
	/* the child's copy stays protected when the child is registered */
	if (userfaultfd_pte_wp(dst_vma, src))
		entry = pte_mkuffd_wp(entry);
	set_pte(dst_pte, entry);
}

/* Return 0, or -EAGAIN when a copy is needed and *@prealloc is empty. */
static int copy_present_pte(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			    pte_t *dst_pte, pte_t *src_pte, unsigned long addr, long *rss,
			    struct folio **prealloc)
{
	vm_flags_t vm_flags = src_vma->vm_flags;
	pte_t pte = ptep_get(src_pte);
	struct page *page = vm_normal_page(src_vma, addr, pte);
	struct folio *folio;

	if (page) {
		folio = page_folio(page);
		folio_get(folio);
		if (folio_test_anon(folio) && !(vm_flags & VM_SHARED)) {
			if (folio_try_dup_anon_rmap_pte(folio, page, dst_vma, src_vma)) {
				/* maybe pinned: the parent keeps its page writable */
				folio_put(folio);
				if (!*prealloc)
					return -EAGAIN;
				copy_present_page(dst_vma, dst_pte, addr, page, *prealloc, rss, pte);
				*prealloc = NULL;
				return 0;
			}
			/* shared with the child, not yet write-protected in the parent */
			pinmm_race_point(PINMM_RACE_FORK_SHARE, addr);
		} else {
			folio_dup_file_rmap_pte(folio, page);
		}
		rss[mm_counter(folio)]++;
	}
	/* COW: both sides read-only, the next write on either copies */
	if (is_cow_mapping(vm_flags) && pte_write(pte)) {
		set_pte(src_pte, pte_wrprotect(pte));
		pte = pte_wrprotect(pte);
	}
	if (vm_flags & VM_SHARED)
		pte = pte_mkclean(pte);
	/* without the fork event the child is not registered: no uffd-wp */
	if (!userfaultfd_wp(dst_vma))
		pte = pte_clear_uffd_wp(pte);
	set_pte(dst_pte, pte_mkold(pte));
	return 0;
}

/* Return 0, or -ENOMEM when a swap slot's count is full. */
static int copy_nonpresent_pte(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			       pte_t *dst_pte, pte_t *src_pte, long *rss)
{
	pte_t pte = ptep_get(src_pte);
	swp_entry_t e = pte_to_swp_entry(pte);

	if (is_pte_marker(pte)) {
		if (!userfaultfd_wp(dst_vma))
			pte = pte_swp_drop_uffd_wp(pte, false);
		if (!pte_none(pte))
			set_pte(dst_pte, pte);
		return 0;
	}
	if (is_swapfile_entry(e)) {
		/* both mms hold the slot now; neither page is exclusive any more */
		if (swap_duplicate(e))
			return -ENOMEM;
		rss[MM_SWAPENTS]++;
		if (pte_swp_exclusive(pte)) {
			pte = pte_swp_clear_exclusive(pte);
			set_pte(src_pte, pte);
		}
	} else if (is_migration_entry(e)) {
		rss[mm_counter(pfn_folio(swp_offset(e)))]++;
		/*
		 * COW mappings: both sides must come back read-only and shared;
		 * the accessed and dirty bits stay (Linux keeps them in the offset)
		 */
		if (swp_type(e) != SWP_MIGRATION_READ && is_cow_mapping(src_vma->vm_flags)) {
			const unsigned long keep = _PAGE_SOFT_DIRTY | _PAGE_SWP_UFFD_WP |
						   _PAGE_SWP_YOUNG | _PAGE_SWP_DIRTY;

			pte = __pte(pte_val(swp_entry_to_pte(swp_entry(SWP_MIGRATION_READ,
								       swp_offset(e)))) |
				    (pte_val(pte) & keep));
			set_pte(src_pte, pte);
		}
	} else if (is_device_private_entry(e)) {
		struct page *page = pfn_swap_entry_to_page(e);
		struct folio *folio = page_folio(page);

		folio_get(folio);
		rss[mm_counter(folio)]++;
		/* never pinned (GUP cannot return it), so sharing cannot fail */
		WARN_ON_ONCE(folio_try_dup_anon_rmap_pte(folio, page, dst_vma, src_vma));
		/* COW: both sides read-only; a write faults it back to RAM, then copies */
		if (is_writable_device_private_entry(e) && is_cow_mapping(src_vma->vm_flags)) {
			pte = __pte(pte_val(swp_entry_to_pte(make_readable_device_private_entry(
				swp_offset(e)))) |
				    (pte_val(pte) & (_PAGE_SOFT_DIRTY | _PAGE_SWP_UFFD_WP)));
			set_pte(src_pte, pte);
		}
	}
	/* without the fork event the child is not registered: no uffd-wp */
	if (!userfaultfd_wp(dst_vma))
		pte = pte_swp_clear_uffd_wp(pte);
	set_pte(dst_pte, pte);
	return 0;
}

static int copy_pte_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			  pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long addr, unsigned long end)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	struct folio *prealloc = NULL;
	int ret = 0;

	while (addr < end) {
		long rss[NR_MM_COUNTERS] = { 0 };
		spinlock_t *dst_ptl, *src_ptl;
		pte_t *dst_pte, *src_pte;
		bool need_page = false;

		if (pmd_none(pmdp_get(dst_pmd)) && __pte_alloc(dst_mm, dst_pmd)) {
			ret = -ENOMEM;
			break;
		}
		dst_pte = pte_offset_map_lock(dst_mm, dst_pmd, addr, &dst_ptl);
		if (!dst_pte) {
			ret = -ENOMEM;
			break;
		}
		src_pte = pte_offset_map_lock_nested(src_mm, src_pmd, addr, &src_ptl, 1);
		if (!src_pte) {
			pte_unmap_unlock(dst_pte, dst_ptl);
			break;
		}
		for (; addr < end; addr += PAGE_SIZE, src_pte++, dst_pte++) {
			pte_t ptent = ptep_get(src_pte);

			if (pte_none(ptent))
				continue;
			if (is_device_exclusive_pte(ptent)) {
				/* the parent gets its PTE back, then it is copied as one */
				restore_exclusive_pte(src_vma, addr, src_pte);
				ptent = ptep_get(src_pte);
			} else if (!pte_present(ptent)) {
				if (copy_nonpresent_pte(dst_vma, src_vma, dst_pte, src_pte, rss)) {
					ret = -ENOMEM;
					break;
				}
				continue;
			}
			if (copy_present_pte(dst_vma, src_vma, dst_pte, src_pte, addr, rss,
					     &prealloc) == -EAGAIN) {
				need_page = true;
				break;
			}
		}
		pte_unmap_unlock(src_pte, src_ptl);
		pte_unmap_unlock(dst_pte, dst_ptl);
		for (int i = 0; i < NR_MM_COUNTERS; i++)
			if (rss[i])
				add_mm_counter(dst_mm, i, rss[i]);
		if (ret)
			break;
		if (need_page) {
			/* allocate outside the locks, then retry this PTE */
			prealloc = folio_alloc(GFP_HIGHUSER_MOVABLE, 0);
			if (!prealloc) {
				ret = -ENOMEM;
				break;
			}
		}
	}
	if (prealloc)
		folio_put(prealloc);
	return ret;
}

int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	unsigned long addr = src_vma->vm_start, end = src_vma->vm_end;
	bool is_cow = is_cow_mapping(src_vma->vm_flags);
	struct mmu_notifier_range range;
	int ret = 0;

	if (!vma_needs_copy(dst_vma, src_vma))
		return 0;
	if (is_vm_hugetlb_page(src_vma))
		return copy_hugetlb_page_range(dst_vma, src_vma);
	if (is_cow) {
		/* the parent's PTEs lose write permission */
		mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, src_mm, addr, end);
		mmu_notifier_invalidate_range_start(&range);
	}
	while (addr < end) {
		unsigned long next = pmd_addr_end(addr, end);
		pmd_t *src_pmd = mm_find_pmd(src_mm, addr), *dst_pmd;
		pmd_t val;

		if (!src_pmd) {
			addr = pud_addr_end(addr, end);
			continue;
		}
		val = pmdp_get_lockless(src_pmd);
		if (pmd_none(val)) {
			addr = next;
			continue;
		}
		dst_pmd = pmd_alloc_walk(dst_mm, addr);
		if (!dst_pmd) {
			ret = -ENOMEM;
			break;
		}
		if (pmd_leaf(val) || is_swap_pmd(val)) {
			ret = copy_huge_pmd(dst_vma, src_vma, dst_pmd, src_pmd, addr);
			if (ret == -ENOMEM)
				break;
			ret = 0;
			if (!pmd_is_table(pmdp_get_lockless(src_pmd))) {
				addr = next;
				continue;
			}
		}
		if (pmd_is_table(pmdp_get_lockless(src_pmd))) {
			ret = copy_pte_range(dst_vma, src_vma, dst_pmd, src_pmd, addr, next);
			if (ret)
				break;
		}
		addr = next;
	}
	if (is_cow)
		mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/* ---- remap_pfn_range, populate ------------------------------------------------------ */

int remap_pfn_range(struct vm_area_struct *vma, unsigned long addr, unsigned long pfn,
		    unsigned long size, pgprot_t prot)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long start = addr, end = addr + size;
	int err = 0;

	if (!IS_ALIGNED(addr, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) || !size ||
	    addr < vma->vm_start || end > vma->vm_end || end < addr)
		return -EINVAL;
	/* a private pfn map must know its first pfn to COW it (Linux's rule) */
	if (is_cow_mapping(vma->vm_flags)) {
		if (addr != vma->vm_start || end != vma->vm_end)
			return -EINVAL;
		vma->vm_pgoff = pfn;
	}
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	prot = pgprot_entry(prot);
	for (; addr < end; addr += PAGE_SIZE, pfn++) {
		pmd_t *pmd = pmd_alloc_walk(mm, addr);
		spinlock_t *ptl;
		pte_t *pte;

		if (!pmd || (pmd_none(pmdp_get(pmd)) && __pte_alloc(mm, pmd))) {
			err = -ENOMEM;
			break;
		}
		pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte) {
			err = -ENOMEM;
			break;
		}
		if (!pte_none(ptep_get(pte))) {
			pte_unmap_unlock(pte, ptl);
			err = -EACCES;
			break;
		}
		set_pte(pte, pte_mkspecial(pfn_pte(pfn, prot)));
		pte_unmap_unlock(pte, ptl);
	}
	if (err && addr > start)
		unmap_page_range(vma, start, addr, true);
	return err;
}

/* Is @addr mapped well enough that populating it needs no fault? */
static bool populated(struct vm_area_struct *vma, unsigned long addr, bool write)
{
	pud_t *pud = mm_find_pud(vma->vm_mm, addr);
	pmd_t *pmd = mm_find_pmd(vma->vm_mm, addr);
	bool ok = false;
	pmd_t pmdval;
	pte_t *pte;

	/* a gigantic hugetlb page: a PUD leaf */
	if (pud && pud_leaf(pudp_get(pud)))
		return !write || pud_write(pudp_get(pud));
	if (!pmd)
		return false;
	pmdval = pmdp_get_lockless(pmd);
	if (pmd_leaf(pmdval))
		return !write || pmd_write(pmdval);
	pte = pte_offset_map(pmd, addr, NULL);
	if (pte) {
		pte_t ptent = ptep_get(pte);

		ok = pte_present(ptent) && (!write || pte_write(ptent));
		pte_unmap(pte);
	}
	return ok;
}

int populate_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		   bool write)
{
	unsigned int flags = write ? FAULT_FLAG_WRITE : 0;
	unsigned long addr;
	int tries = 0;

	mmap_assert_locked(vma->vm_mm);
	start = max(start & PAGE_MASK, vma->vm_start);
	end = min(PAGE_ALIGN(end), vma->vm_end);
	if (!(vma->vm_flags & VM_ACCESS_FLAGS))
		return 0;	/* PROT_NONE: nothing may be touched */
	if (write && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	if (vma->vm_flags & (VM_IO | VM_PFNMAP))
		return 0;	/* already mapped by the driver, or nothing to fault */
	for (addr = start; addr < end;) {
		vm_fault_t ret;

		if (populated(vma, addr, write)) {
			addr += PAGE_SIZE;
			tries = 0;
			continue;
		}
		if (++tries > 1000)
			return -EFAULT;	/* ->fault() keeps answering without a page */
		ret = handle_mm_fault(vma, addr, flags, NULL);
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & (VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS | VM_FAULT_HWPOISON))
			return -EFAULT;
		if (fatal_signal_pending_current())
			return -EINTR;
		/* a racing change may undo us: look at the same page again */
		if (populated(vma, addr, write)) {
			addr += PAGE_SIZE;
			tries = 0;	/* progress: the bound is per page */
		}
	}
	return 0;
}
