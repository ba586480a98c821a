// SPDX-License-Identifier: MIT
/*
 * get_user_pages() and pin_user_pages(): the slow path, the argument rules,
 * the entry points, and the release side.
 *
 * The slow path runs under mmap_lock (read): for each page it walks the page
 * tables (follow_page_mask), and when nothing suitable is mapped it faults
 * (faultin_page) and looks again. A pin (FOLL_PIN) differs from a reference
 * (FOLL_GET) only in how it is counted, so the rest of the system can ask
 * folio_maybe_dma_pinned() — see docs/pin_user_pages.md.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <pinmm/huge_mm.h>
#include <pinmm/hugetlb.h>
#include <pinmm/pagemap.h>
#include <pinmm/sched.h>
#include <pinmm/secretmem.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/uaccess.h>

/* ===========================================================================
 * Counting: references and pins
 * ===========================================================================
 */

void mm_set_has_pinned_flag(struct mm_struct *mm)
{
	/* test first: a pinning loop must not bounce the mm's cache line */
	if (!mm_flags_test(MMF_HAS_PINNED, mm))
		set_bit(MMF_HAS_PINNED, &mm->flags);
}

/**
 * try_grab_folio - take @refs references or pins on @folio (slow path).
 * @folio: a folio the caller keeps alive (page-table lock held on its mapping).
 * @refs: how many pages of it the caller takes.
 * @flags: FOLL_GET (+@refs references) or FOLL_PIN (+@refs pins, see below).
 *
 * FOLL_PIN on the shared zero page counts nothing: it can never change, so
 * nobody needs to know it is pinned. A pin of a large folio adds @refs to the
 * refcount and to the exact _pincount; of a small folio, @refs times
 * GUP_PIN_COUNTING_BIAS to the refcount. With FOLL_LONGTERM in @flags the
 * folio is noted as pinned long-term (folio_note_pin()).
 *
 * Return: 0; -ENOMEM if the refcount is not positive (WARN: the caller's
 * reference is missing) or the grab would pass PAGE_REF_CEILING.
 */
int try_grab_folio(struct folio *folio, int refs, unsigned int flags)
{
	bool was_pinned;
	int old;

	if (WARN_ON_ONCE(folio_ref_count(folio) <= 0))
		return -ENOMEM;
	/* refs * GUP_PIN_COUNTING_BIAS below must not overflow: refuse, never wrap */
	if (refs <= 0 || refs > PAGE_REF_CEILING / (int)GUP_PIN_COUNTING_BIAS)
		return -ENOMEM;
	if (flags & FOLL_GET)
		return folio_ref_try_add(folio, refs) ? 0 : -ENOMEM;
	if (!(flags & FOLL_PIN))
		return 0;
	if (is_zero_folio(folio))
		return 0;
	if (folio_has_pincount(folio)) {
		if (!folio_ref_try_add(folio, refs))
			return -ENOMEM;
		old = atomic_fetch_add_explicit(&folio->_pincount, refs, memory_order_relaxed);
		was_pinned = old > 0;
	} else if (!folio_ref_try_add_old(folio, refs * (int)GUP_PIN_COUNTING_BIAS, &old)) {
		return -ENOMEM;
	} else {
		was_pinned = (unsigned int)old >= GUP_PIN_COUNTING_BIAS;
	}
	folio_note_pin(folio, flags & FOLL_LONGTERM, was_pinned);
	if (pin_owner_is_on())
		pin_owner_add(folio, refs, !was_pinned);
	mod_node_page_state(NR_FOLL_PIN_ACQUIRED, refs);
	return 0;
}

/*
 * Undo of try_grab_folio*() without touching the counters: returns how many
 * pins it released, for the caller to add to nr_foll_pin_released in one go.
 * Releasing pins that the folio cannot be holding (a pincount or refcount too
 * small for them) is a caller bug: warn and leave the folio alone rather than
 * corrupt it.
 */
static __always_inline int gup_put_folio_refs(struct folio *folio, int refs, unsigned int flags)
{
	int pins = 0;

	if (flags & FOLL_PIN) {
		if (is_zero_folio(folio))
			return 0;
		if (folio_has_pincount(folio)) {
			if (WARN_ON_ONCE(folio_pincount(folio) < refs))
				return 0;
			atomic_fetch_sub_explicit(&folio->_pincount, refs, memory_order_relaxed);
			pins = refs;
		} else {
			if (WARN_ON_ONCE((unsigned int)folio_ref_count(folio) <
					 (unsigned int)refs * GUP_PIN_COUNTING_BIAS))
				return 0;
			pins = refs;
			refs *= GUP_PIN_COUNTING_BIAS;
		}
	}
	folio_put_refs(folio, refs);
	return pins;
}

int __gup_put_folio(struct folio *folio, int refs, unsigned int flags)
{
	return gup_put_folio_refs(folio, refs, flags);
}

void gup_put_folio(struct folio *folio, int refs, unsigned int flags)
{
	struct pin_release r;
	int pins;

	if (flags & FOLL_PIN) {
		pin_release_init(&r);
		pin_owner_release(&r, folio, refs);
		pin_release_done(&r);
	}
	pins = __gup_put_folio(folio, refs, flags);
	if (pins)
		mod_node_page_state(NR_FOLL_PIN_RELEASED, pins);
}

/*
 * Debug check of the rule that makes R/O pins coherent: a pinned anonymous
 * page is exclusive to its mm (for a PTE-mapped THP, the page or its head).
 */
void sanity_check_pinned_pages(struct page **pages, unsigned long npages)
{
	if (!IS_ENABLED_DEBUG_VM)
		return;
	for (; npages; npages--, pages++) {
		struct page *page = *pages;
		struct folio *folio;

		if (!page)
			continue;
		folio = page_folio(page);
		if (is_zero_page(page) || !folio_test_anon(folio))
			continue;
		if (!folio_test_large(folio))
			VM_WARN_ON_ONCE_FOLIO(!PageAnonExclusive(page), folio);
		else
			VM_WARN_ON_ONCE_FOLIO(!PageAnonExclusive(&folio->page) &&
					      !PageAnonExclusive(page), folio);
	}
}

/**
 * unpin_user_page - release one pin taken by pin_user_pages*().
 * A no-op for the shared zero page. Context: any; may free the folio.
 */
void unpin_user_page(struct page *page)
{
	sanity_check_pinned_pages(&page, 1);
	gup_put_folio(page_folio(page), 1, FOLL_PIN);
}

/** unpin_folio - release one pin of @folio (memfd_pin_folios, folio_add_pin). */
void unpin_folio(struct folio *folio)
{
	gup_put_folio(folio, 1, FOLL_PIN);
}

/*
 * The folio of pages[i] and how many entries from i on belong to it. The
 * folio is pinned, so it cannot be split: an entry belongs to it exactly when
 * it points inside its run of struct pages, and that test needs no look at
 * the tail pages themselves (unpinning a THP reads 8 bytes per page, not 64).
 */
static __always_inline struct folio *gup_folio_next(struct page **pages, unsigned long npages,
						    unsigned long i, unsigned long *ntails)
{
	struct folio *folio = page_folio(pages[i]);
	unsigned long nr = 1;

	if (folio_test_large(folio)) {
		unsigned long first = (unsigned long)&folio->page;
		unsigned long span = folio_nr_pages(folio) * sizeof(struct page);

		/* eight entries per step, branch-free: a THP is 64 steps */
		while (i + nr + 8 <= npages) {
			unsigned long out = 0;

			for (int k = 0; k < 8; k++)
				out |= ((unsigned long)pages[i + nr + k] - first) >= span;
			if (out)
				break;
			nr += 8;
		}
		while (i + nr < npages &&
		       (unsigned long)pages[i + nr] - first < span)
			nr++;
	}
	*ntails = nr;
	return folio;
}

/* The folio of page + i in a physically contiguous run, and its share of it. */
static struct folio *gup_folio_range_next(struct page *start, unsigned long npages,
					  unsigned long i, unsigned long *ntails)
{
	struct page *next = start + i;
	struct folio *folio = page_folio(next);
	unsigned long nr = 1;

	if (folio_test_large(folio))
		nr = min(npages - i, folio_nr_pages(folio) - (unsigned long)(next - &folio->page));
	*ntails = nr;
	return folio;
}

/**
 * unpin_user_pages - release the pins of an array of pages.
 * @pages: as filled by pin_user_pages*(); NULL entries are skipped.
 * @npages: entries; a negative errno passed here by mistake is a WARN and a no-op.
 *
 * Consecutive entries of one folio are released with one atomic operation.
 */
void unpin_user_pages(struct page **pages, unsigned long npages)
{
	unsigned long i, nr;
	struct pin_release r;
	long released = 0;

	if (WARN_ON_ONCE(IS_ERR_VALUE(npages)))
		return;
	sanity_check_pinned_pages(pages, npages);
	pin_release_init(&r);
	for (i = 0; i < npages; i += nr) {
		struct folio *folio;

		if (!pages[i]) {
			nr = 1;
			continue;
		}
		/* the struct pages are cache misses: start the next ones early */
		if (i + 8 < npages && pages[i + 8]) {
			__builtin_prefetch(pages[i + 8], 1);
			pin_owner_prefetch(&r, pages[i + 8]);
		}
		folio = gup_folio_next(pages, npages, i, &nr);
		/* a large folio: the next entry starts the next folio, likely its head */
		if (nr > 1 && i + nr < npages && pages[i + nr])
			pin_owner_prefetch(&r, pages[i + nr]);
		pin_owner_release(&r, folio, (int)nr);
		released += gup_put_folio_refs(folio, (int)nr, FOLL_PIN);
	}
	/* one update of the owner's and the shared counter per call, not per page */
	pin_release_done(&r);
	if (released)
		mod_node_page_state(NR_FOLL_PIN_RELEASED, released);
}

/* Dirty under the folio lock, as Linux does (writeback may be cleaning it). */
static void gup_folio_mark_dirty_locked(struct folio *folio)
{
	if (folio_test_dirty(folio))
		return;
	folio_lock(folio);
	folio_mark_dirty(folio);
	folio_unlock(folio);
}

/**
 * unpin_user_pages_dirty_lock - mark pages dirty, then release their pins.
 * @pages: the pinned pages (NULL entries are not allowed here, as in Linux).
 * @npages: entries.
 * @make_dirty: false: same as unpin_user_pages().
 *
 * For what a device wrote: each folio not already dirty is dirtied under its
 * folio lock, once per run of entries of the same folio.
 * Context: may sleep (folio lock).
 */
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages, bool make_dirty)
{
	unsigned long i, nr;

	if (!make_dirty) {
		unpin_user_pages(pages, npages);
		return;
	}
	if (WARN_ON_ONCE(IS_ERR_VALUE(npages)))
		return;
	sanity_check_pinned_pages(pages, npages);
	for (i = 0; i < npages; i += nr) {
		struct folio *folio = gup_folio_next(pages, npages, i, &nr);

		gup_folio_mark_dirty_locked(folio);
		gup_put_folio(folio, (int)nr, FOLL_PIN);
	}
}

/**
 * unpin_user_page_range_dirty_lock - the same for a physically contiguous run.
 * @page: first page of the run; @npages: its length; @make_dirty: as above.
 */
void unpin_user_page_range_dirty_lock(struct page *page, unsigned long npages, bool make_dirty)
{
	unsigned long i, nr;

	/* a negative errno as the count would walk (and free) pages far past the run */
	if (WARN_ON_ONCE(IS_ERR_VALUE(npages)))
		return;
	for (i = 0; i < npages; i += nr) {
		struct folio *folio = gup_folio_range_next(page, npages, i, &nr);

		if (make_dirty)
			gup_folio_mark_dirty_locked(folio);
		gup_put_folio(folio, (int)nr, FOLL_PIN);
	}
}

/**
 * unpin_folios - release one pin per entry; NULL entries skipped, identical
 * neighbours released together.
 */
void unpin_folios(struct folio **folios, unsigned long nfolios)
{
	unsigned long i = 0, j;

	if (WARN_ON_ONCE(IS_ERR_VALUE(nfolios)))
		return;
	while (i < nfolios) {
		if (!folios[i]) {
			i++;
			continue;
		}
		for (j = i + 1; j < nfolios && folios[j] == folios[i]; j++)
			;
		gup_put_folio(folios[i], (int)(j - i), FOLL_PIN);
		i = j;
	}
}

/**
 * memfd_pin_folios - pin the folios of a memfd's range [@start, @end].
 * @memfd: a shmem file (memfd, tmpfs); a hugetlb memfd is -EINVAL here (not built).
 * @start: first byte; @end: last byte, inclusive, below i_size.
 * @folios: out: one pin per distinct folio, in file order.
 * @max_folios: room in @folios.
 * @offset: out: the offset of @start in the first folio.
 *
 * Not page-table based: the memfd's page cache is looked up directly (udmabuf,
 * VFIO, iommufd use it), holes are filled with new folios, and the pins are
 * always long-term: folios in ZONE_MOVABLE or CMA are migrated first, with
 * allocations inside memalloc_pin_save(), exactly as FOLL_LONGTERM does.
 * Release each with unpin_folio() (or unpin_folios()).
 * Context: may sleep.
 * Return: the number of folios pinned (may be less than the range needs if
 * @max_folios is reached), or -EINVAL (bad range, not shmem), -ENOMEM; on
 * error nothing is left pinned.
 */
static long __memfd_pin_folios(struct file *memfd, loff_t start, loff_t end,
			       struct folio **folios, unsigned int max_folios, pgoff_t *offset);

long memfd_pin_folios_site(struct file *memfd, loff_t start, loff_t end, struct folio **folios,
			   unsigned int max_folios, pgoff_t *offset, const struct pin_site *site)
{
	struct pin_call call;
	long ret;

	if (start < 0 || start > end || !max_folios)
		return -EINVAL;
	if (!memfd || (!shmem_mapping(memfd->f_mapping) && !is_file_hugepages(memfd)))
		return -EINVAL;
	if (end >= i_size_read(file_inode(memfd)))
		return -EINVAL;
	pin_call_begin(&call, site, FOLL_PIN | FOLL_LONGTERM);
	call.flags |= PIN_EV_PER_FOLIO;
	ret = __memfd_pin_folios(memfd, start, end, folios, max_folios, offset);
	return pin_call_end_folios(&call, ret, folios);
}

static const struct pin_site memfd_pin_folios_site_fn = {
	__FILE__, "memfd_pin_folios", __LINE__
};

long (memfd_pin_folios)(struct file *memfd, loff_t start, loff_t end, struct folio **folios,
			unsigned int max_folios, pgoff_t *offset)
{
	return memfd_pin_folios_site(memfd, start, end, folios, max_folios, offset,
				     &memfd_pin_folios_site_fn);
}

/*
 * The hugetlb memfd's folio of huge page @hidx, referenced, allocated into its
 * cache (from the file's reservation, as fallocate would) if it is a hole:
 * Linux's memfd_alloc_folio() for hugetlbfs. Return: the folio, or an
 * ERR_PTR (-ENOMEM: the pool has no page for it, as Linux answers).
 */
static struct folio *memfd_hugetlb_folio(struct file *memfd, pgoff_t hidx)
{
	struct inode *inode = file_inode(memfd);
	pgoff_t index = hidx << huge_page_order(hstate_file(memfd));
	struct folio *folio = filemap_get_folio(memfd->f_mapping, index);
	int err;

	if (!IS_ERR(folio))
		return folio;
	err = hugetlb_add_file_page(inode, hidx);
	if (err)
		return ERR_PTR(err == -ENOSPC ? -ENOMEM : err);
	folio = filemap_get_folio(memfd->f_mapping, index);
	/* a hole punched at once: nothing to pin there now */
	return IS_ERR(folio) ? ERR_PTR(-EAGAIN) : folio;
}

static long __memfd_pin_folios(struct file *memfd, loff_t start, loff_t end,
			       struct folio **folios, unsigned int max_folios, pgoff_t *offset)
{
	bool hugetlb = is_file_hugepages(memfd);
	unsigned int pin_scope, nr_folios = 0;
	unsigned int shift = hugetlb ? PAGE_SHIFT + huge_page_order(hstate_file(memfd)) :
				       PAGE_SHIFT;
	long ret;

	pin_scope = memalloc_pin_save();
	do {
		/* in pages for shmem, in huge pages for a hugetlb memfd */
		pgoff_t index = (pgoff_t)(start >> shift), last = (pgoff_t)(end >> shift);

		nr_folios = 0;
		while (index <= last && nr_folios < max_folios) {
			struct folio *folio;
			int err;

			if (hugetlb) {
				folio = memfd_hugetlb_folio(memfd, index);
				err = IS_ERR(folio) ? (int)PTR_ERR(folio) : 0;
			} else {
				err = shmem_get_folio(file_inode(memfd), index, &folio, SGP_CACHE);
				if (!err)
					folio_unlock(folio);
			}
			if (hugetlb && err == -EAGAIN)
				continue;
			if (err) {
				ret = err;
				goto err;
			}
			err = try_grab_folio(folio, 1, FOLL_PIN | FOLL_LONGTERM);
			folio_put(folio);	/* the pin keeps it now */
			if (err) {
				ret = -EINVAL;
				goto err;
			}
			if (!nr_folios)
				*offset = (pgoff_t)(start - folio_pos(folio));
			folios[nr_folios++] = folio;
			index = hugetlb ? index + 1 : folio_next_index(folio);
		}
		ret = check_and_migrate_movable_folios(nr_folios, folios);
		if (ret == -EAGAIN)
			pin_call_note_migrated();
	} while (ret == -EAGAIN);
	memalloc_pin_restore(pin_scope);
	return ret ? ret : (long)nr_folios;
err:
	memalloc_pin_restore(pin_scope);
	unpin_folios(folios, nr_folios);
	return ret;
}

/**
 * unpin_user_folio - release @npages pins of one folio (coalesced buffers).
 *
 * A count no folio can hold (above INT_MAX, which includes a negative errno
 * passed by mistake) is a WARN and a no-op: truncated to int it would add
 * pins (-1) or release none (2^32) and move nr_foll_pin_released wrongly.
 */
void unpin_user_folio(struct folio *folio, unsigned long npages)
{
	if (WARN_ON_ONCE(npages > INT_MAX))
		return;
	gup_put_folio(folio, (int)npages, FOLL_PIN);
}

/**
 * folio_add_pin - one more pin on a folio the caller has already pinned.
 *
 * Counted in nr_foll_pin_acquired (Linux does not; pinmm does, so the two
 * counters balance when the added pin is released with unpin_folio()).
 */
void folio_add_pin_site(struct folio *folio, const struct pin_site *site)
{
	struct pin_call call;

	if (is_zero_folio(folio))
		return;
	WARN_ON_ONCE(!folio_maybe_dma_pinned(folio));
	pin_call_begin(&call, site, FOLL_PIN);
	/* through the checked grab: the refcount ceiling holds here too */
	WARN_ON_ONCE(try_grab_folio(folio, 1, FOLL_PIN));
	pin_call_end_pages(&call, 0, NULL);
}

/** folio_add_pins - @pins more pins on an already pinned folio. Return: 0 or -ENOMEM. */
int folio_add_pins_site(struct folio *folio, unsigned int pins, const struct pin_site *site)
{
	struct pin_call call;
	int ret;

	VM_WARN_ON_ONCE(!folio_maybe_dma_pinned(folio));
	if (pins > INT_MAX)
		return -ENOMEM;
	pin_call_begin(&call, site, FOLL_PIN);
	ret = try_grab_folio(folio, (int)pins, FOLL_PIN);
	pin_call_end_pages(&call, 0, NULL);
	return ret;
}

static const struct pin_site folio_add_pin_site_fn = { __FILE__, "folio_add_pin", __LINE__ };
static const struct pin_site folio_add_pins_site_fn = { __FILE__, "folio_add_pins", __LINE__ };

void (folio_add_pin)(struct folio *folio)
{
	folio_add_pin_site(folio, &folio_add_pin_site_fn);
}

int (folio_add_pins)(struct folio *folio, unsigned int pins)
{
	return folio_add_pins_site(folio, pins, &folio_add_pins_site_fn);
}

/* ===========================================================================
 * Following the page tables (slow path, mmap_lock held)
 * ===========================================================================
 */

struct follow_page_context {
	unsigned int page_mask;		/* a leaf covers page_mask + 1 pages */
};

/* A hole: FOLL_DUMP wants an error rather than a page to be allocated. */
static struct page *no_page_table(struct vm_area_struct *vma, unsigned int flags)
{
	if ((flags & FOLL_DUMP) && vma_is_anonymous(vma))
		return ERR_PTR(-EFAULT);
	return NULL;
}

/*
 * May a write-intent lookup use a present entry that is not writable? Only a
 * FOLL_FORCE write into a private mapping that is not writable now, and only
 * once COW has given this mm an exclusive anonymous page: anything else must
 * go through a write fault (this is the Dirty-COW / CVE-2022-2590 rule).
 * can_follow_write_pte/pmd add Linux 6.x's last two conditions: no write
 * fault is owed to soft-dirty tracking (a clean entry) or to uffd-wp.
 */
static bool can_follow_write_common(struct page *page, struct vm_area_struct *vma,
				    unsigned int flags)
{
	if (!(flags & FOLL_FORCE))
		return false;
	if (vma->vm_flags & (VM_MAYSHARE | VM_SHARED))
		return false;
	if (!(vma->vm_flags & VM_MAYWRITE))
		return false;
	if (vma->vm_flags & VM_WRITE)
		return false;
	return page && PageAnon(page) && PageAnonExclusive(page);
}

static bool can_follow_write_pte(pte_t pte, struct page *page, struct vm_area_struct *vma,
				 unsigned int flags)
{
	if (pte_write(pte))
		return true;
	if (!can_follow_write_common(page, vma, flags))
		return false;
	if (vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte))
		return false;
	return !((vma->vm_flags & VM_UFFD_WP) && pte_uffd_wp(pte));
}

static bool can_follow_write_pmd(pmd_t pmd, struct page *page, struct vm_area_struct *vma,
				 unsigned int flags)
{
	if (pmd_write(pmd))
		return true;
	if (!can_follow_write_common(page, vma, flags))
		return false;
	if (vma_soft_dirty_enabled(vma) && !pmd_soft_dirty(pmd))
		return false;
	return !((vma->vm_flags & VM_UFFD_WP) && pmd_uffd_wp(pmd));
}

static struct page *follow_page_pte(struct vm_area_struct *vma, unsigned long address,
				    pmd_t *pmd, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page;
	struct folio *folio;
	spinlock_t *ptl;
	pte_t *ptep, pte;
	int ret;

	ptep = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!ptep)
		return no_page_table(vma, flags);
	pte = ptep_get(ptep);
	if (!pte_present(pte))
		goto no_page;
	page = vm_normal_page(vma, address, pte);
	if ((flags & FOLL_WRITE) && !can_follow_write_pte(pte, page, vma, flags)) {
		page = NULL;	/* a write fault will COW or make it writable */
		goto out;
	}
	if (!page) {
		/* core dumps skip every special page, the zero page included */
		if (flags & FOLL_DUMP) {
			page = ERR_PTR(-EFAULT);
			goto out;
		}
		if (is_zero_pfn(pte_pfn(pte))) {
			page = pfn_to_page(pte_pfn(pte));
		} else {
			/* a special PTE with no struct page behind it */
			page = ERR_PTR(-EEXIST);
			goto out;
		}
	}
	folio = page_folio(page);
	if (!pte_write(pte) && gup_must_unshare(vma, flags, page)) {
		page = ERR_PTR(-EMLINK);
		goto out;
	}
	VM_BUG_ON_PAGE((flags & FOLL_PIN) && PageAnon(page) && !PageAnonExclusive(page) &&
		       !PageAnonExclusive(&folio->page), page);
	ret = try_grab_folio(folio, 1, flags);
	if (ret) {
		page = ERR_PTR(ret);
		goto out;
	}
	if (flags & FOLL_TOUCH) {
		if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !folio_test_dirty(folio))
			folio_mark_dirty(folio);
		folio_set_referenced(folio);
	}
out:
	pte_unmap_unlock(ptep, ptl);
	return page;
no_page:
	pte_unmap_unlock(ptep, ptl);
	if (!pte_none(pte))
		return NULL;	/* a migration entry: the fault path waits for it */
	return no_page_table(vma, flags);
}

/* A PMD leaf (THP), PMD lock held. */
static struct page *follow_huge_pmd(struct vm_area_struct *vma, unsigned long addr,
				    pmd_t pmdval, unsigned int flags,
				    struct follow_page_context *ctx)
{
	/*
	 * A PMD-mapped THP keeps PageAnonExclusive on its head page only (the
	 * subpages get it when the PMD is split): ask the head, as Linux does
	 * with pmd_page(), and step to the subpage only at the end.
	 */
	struct page *head = pfn_to_page(pmd_pfn(pmdval));
	struct page *page = head + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
	struct folio *folio = page_folio(page);
	int ret;

	if ((flags & FOLL_WRITE) && !can_follow_write_pmd(pmdval, head, vma, flags))
		return NULL;
	/* core dumps skip the huge zero folio as they skip the small one */
	if ((flags & FOLL_DUMP) && is_huge_zero_pmd(pmdval))
		return ERR_PTR(-EFAULT);
	if (!pmd_write(pmdval) && gup_must_unshare(vma, flags, head))
		return ERR_PTR(-EMLINK);
	VM_BUG_ON_PAGE((flags & FOLL_PIN) && PageAnon(head) && !PageAnonExclusive(head), page);
	ret = try_grab_folio(folio, 1, flags);
	if (ret)
		return ERR_PTR(ret);
	if (flags & FOLL_TOUCH) {
		if ((flags & FOLL_WRITE) && !pmd_dirty(pmdval) && !folio_test_dirty(folio))
			folio_mark_dirty(folio);
		folio_set_referenced(folio);
	}
	ctx->page_mask = HPAGE_PMD_NR - 1;
	return page;
}

static struct page *follow_pmd_mask(struct vm_area_struct *vma, unsigned long address,
				    pud_t *pudp, unsigned int flags,
				    struct follow_page_context *ctx)
{
	struct mm_struct *mm = vma->vm_mm;
	pmd_t *pmd = pmd_offset(pudp, address), pmdval;
	struct page *page;
	spinlock_t *ptl;

	pmdval = pmdp_get_lockless(pmd);
	if (pmd_none(pmdval) || !pmd_present(pmdval))
		return no_page_table(vma, flags);
	if (!pmd_leaf(pmdval))
		return follow_page_pte(vma, address, pmd, flags);
	if (flags & FOLL_SPLIT_PMD) {
		split_huge_pmd(vma, pmd, address);
		/* split left a PTE table (or nothing, if it raced with a zap) */
		pmdval = pmdp_get_lockless(pmd);
		if (pmd_none(pmdval) || !pmd_present(pmdval))
			return no_page_table(vma, flags);
		if (!pmd_leaf(pmdval))
			return follow_page_pte(vma, address, pmd, flags);
	}
	ptl = pmd_lockptr(mm, pmd);
	spin_lock(ptl);
	pmdval = pmdp_get(pmd);
	if (unlikely(!pmd_leaf(pmdval))) {
		spin_unlock(ptl);
		if (pmd_none(pmdval) || !pmd_present(pmdval))
			return no_page_table(vma, flags);
		return follow_page_pte(vma, address, pmd, flags);
	}
	page = follow_huge_pmd(vma, address, pmdval, flags, ctx);
	spin_unlock(ptl);
	return page;
}

/*
 * A PUD leaf: a gigantic hugetlb folio (Linux: follow_huge_pud()). The same
 * rules as a PMD leaf — write only through a writable entry (or an
 * exclusive anon page for FOLL_FORCE), unshare a R/O pin of a shared page —
 * and one grab of the folio; page_mask tells the caller how far it reaches.
 */
static struct page *follow_pud_leaf(struct vm_area_struct *vma, unsigned long addr,
				    pud_t *pudp, unsigned int flags,
				    struct follow_page_context *ctx)
{
	spinlock_t *ptl = pmd_lock(vma->vm_mm, (pmd_t *)pudp);	/* the PUD table's lock */
	pud_t pud = pudp_get(pudp);
	struct page *head, *page;
	struct folio *folio;
	int ret;

	if (!pud_leaf(pud)) {
		spin_unlock(ptl);
		return NULL;	/* zapped or being migrated: fault and look again */
	}
	head = pfn_to_page(pud_pfn(pud));
	page = head + ((addr & ~PUD_MASK) >> PAGE_SHIFT);
	folio = page_folio(head);
	if ((flags & FOLL_WRITE) && !can_follow_write_pmd(__pmd(pud_val(pud)), head, vma, flags)) {
		page = NULL;
		goto out;
	}
	if (!pud_write(pud) && gup_must_unshare(vma, flags, head)) {
		page = ERR_PTR(-EMLINK);
		goto out;
	}
	ret = try_grab_folio(folio, 1, flags);
	if (ret) {
		page = ERR_PTR(ret);
		goto out;
	}
	if ((flags & FOLL_TOUCH) && (flags & FOLL_WRITE) && !folio_test_dirty(folio))
		folio_mark_dirty(folio);
	ctx->page_mask = (PUD_SIZE >> PAGE_SHIFT) - 1;
out:
	spin_unlock(ptl);
	return page;
}

/*
 * follow_page_mask - the page mapped at @address, grabbed per @flags.
 *
 * Return: the page (with a reference or pin if FOLL_GET/FOLL_PIN); NULL if
 * nothing suitable is mapped (fault it in); ERR_PTR(-EMLINK) if the page must
 * be unshared first; ERR_PTR(-EEXIST) for a pfn with no struct page; another
 * ERR_PTR on errors. ctx->page_mask tells how far a huge leaf reaches.
 */
static struct page *follow_page_mask(struct vm_area_struct *vma, unsigned long address,
				     unsigned int flags, struct follow_page_context *ctx)
{
	struct mm_struct *mm = vma->vm_mm;
	pgd_t *pgd = pgd_offset(mm, address);
	pud_t *pud;

	ctx->page_mask = 0;
	if (pgd_none(pgdp_get(pgd)))
		return no_page_table(vma, flags);
	pud = pud_offset(pgd, address);
	if (pud_none(pudp_get(pud)) || !pud_present(pudp_get(pud)))
		return no_page_table(vma, flags);
	/* follow_pud_mask()'s leaf case: only gigantic hugetlb maps by a PUD */
	if (pud_leaf(pudp_get(pud)))
		return follow_pud_leaf(vma, address, pud, flags, ctx);
	return follow_pmd_mask(vma, address, pud, flags, ctx);
}

/* ===========================================================================
 * Faulting in, and the per-page loop
 * ===========================================================================
 */

static int vm_fault_to_errno(vm_fault_t ret, unsigned int foll_flags)
{
	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & VM_FAULT_HWPOISON)
		return (foll_flags & FOLL_HWPOISON) ? -EHWPOISON : -EFAULT;
	if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
		return -EFAULT;
	return 0;
}

/*
 * Fault one page in, as the access @flags describes. Return: 0 to look again;
 * -EBUSY when the fault dropped mmap_lock (VM_FAULT_RETRY; *locked is 0 unless
 * it was FOLL_NOWAIT); -EAGAIN when it completed with the lock dropped; or
 * the fault's error.
 */
static int faultin_page(struct vm_area_struct *vma, unsigned long address, unsigned int flags,
			bool unshare, int *locked)
{
	unsigned int fault_flags = 0;
	vm_fault_t ret;

	if (flags & FOLL_NOFAULT)
		return -EFAULT;
	if (flags & FOLL_WRITE)
		fault_flags |= FAULT_FLAG_WRITE;
	if (flags & FOLL_REMOTE)
		fault_flags |= FAULT_FLAG_REMOTE;
	if (flags & FOLL_UNLOCKABLE) {
		fault_flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
		if (flags & FOLL_INTERRUPTIBLE)
			fault_flags |= FAULT_FLAG_INTERRUPTIBLE;
	}
	if (flags & FOLL_NOWAIT)
		fault_flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT;
	if (flags & FOLL_TRIED)
		fault_flags |= FAULT_FLAG_TRIED;
	if (unshare) {
		fault_flags |= FAULT_FLAG_UNSHARE;
		/* an unshare never writes, and a write needs no unshare */
		VM_BUG_ON(fault_flags & FAULT_FLAG_WRITE);
	}

	ret = handle_mm_fault(vma, address, fault_flags, NULL);
	if (ret & VM_FAULT_COMPLETED) {
		*locked = 0;
		return -EAGAIN;
	}
	if (ret & VM_FAULT_ERROR) {
		int err = vm_fault_to_errno(ret, flags);

		if (err)
			return err;
		BUG();
	}
	if (ret & VM_FAULT_RETRY) {
		if (!(fault_flags & FAULT_FLAG_RETRY_NOWAIT))
			*locked = 0;
		return -EBUSY;
	}
	return 0;
}

/*
 * Can GUP take a writable long-term pin of a file mapping? Not if the file
 * system tracks dirtying through write faults (vma_needs_dirty_tracking():
 * a ->page_mkwrite, or a cache that writes back): writeback write-protects
 * the page and expects a fault before the next write, and a device writing
 * through a long-term pin never faults. shmem and hugetlbfs do not write
 * back, so they are allowed (Lorenzo Stoakes, Linux 6.5).
 */
static bool writable_file_mapping_allowed(struct vm_area_struct *vma, unsigned long gup_flags)
{
	if ((gup_flags & (FOLL_PIN | FOLL_LONGTERM)) != (FOLL_PIN | FOLL_LONGTERM))
		return true;
	return !vma_needs_dirty_tracking(vma);
}

/* What the VMA allows, per Linux's check_vma_flags(). Return: 0 or -errno. */
static int check_vma_flags(struct vm_area_struct *vma, unsigned long gup_flags)
{
	vm_flags_t vm_flags = vma->vm_flags;
	bool write = gup_flags & FOLL_WRITE;

	if (vm_flags & (VM_IO | VM_PFNMAP))
		return -EFAULT;
	if ((gup_flags & FOLL_ANON) && !vma_is_anonymous(vma))
		return -EFAULT;
	if ((gup_flags & FOLL_LONGTERM) && vma_is_fsdax(vma))
		return -EOPNOTSUPP;
	/* no GUP of any kind reaches secret memory (memfd_secret(2)) */
	if (vma_is_secretmem(vma))
		return -EFAULT;
	if (write) {
		if (!vma_is_anonymous(vma) && !writable_file_mapping_allowed(vma, gup_flags))
			return -EFAULT;
		if (!(vm_flags & VM_WRITE)) {
			if (!(gup_flags & FOLL_FORCE))
				return -EFAULT;
			/* forced writes only break COW; never into a shared mapping */
			if (!is_cow_mapping(vm_flags))
				return -EFAULT;
		}
	} else if (!(vm_flags & VM_READ)) {
		if (!(gup_flags & FOLL_FORCE))
			return -EFAULT;
		if (!(vm_flags & VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

/*
 * __get_user_pages - the per-page loop (mmap_lock held for read).
 *
 * Return: pages done from @start if any, else the error (or 0 when a fault
 * dropped the lock before anything was done; *locked then says so).
 */
static long __get_user_pages(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **pages, int *locked)
{
	struct follow_page_context ctx = { 0 };
	struct vm_area_struct *vma = NULL;
	long ret = 0, i = 0;

	if (!nr_pages)
		return 0;
	start &= PAGE_MASK;
	VM_WARN_ON_ONCE(!!pages != !!(gup_flags & (FOLL_GET | FOLL_PIN)));

	do {
		unsigned long page_increm;
		struct page *page;

		if (!vma || start >= vma->vm_end) {
			vma = vma_lookup(mm, start);
			if (gup_flags & FOLL_MADV_POPULATE) {
				if (!vma) {
					ret = -ENOMEM;
					goto out;
				}
				if (check_vma_flags(vma, gup_flags)) {
					ret = -EINVAL;
					goto out;
				}
				goto retry;
			}
			/* GUP never expands a stack: no VMA is simply a fault */
			if (!vma) {
				ret = -EFAULT;
				goto out;
			}
			ret = check_vma_flags(vma, gup_flags);
			if (ret)
				goto out;
		}
retry:
		if (fatal_signal_pending_current()) {
			ret = -EINTR;
			goto out;
		}
		page = follow_page_mask(vma, start, gup_flags, &ctx);
		if (!page || PTR_ERR(page) == -EMLINK) {
			ret = faultin_page(vma, start, gup_flags, PTR_ERR(page) == -EMLINK, locked);
			switch (ret) {
			case 0:
				goto retry;
			case -EBUSY:
			case -EAGAIN:
				ret = 0;
				/* fall through */
			case -EFAULT:
			case -ENOMEM:
			case -EHWPOISON:
			case -EINTR:
				goto out;
			}
			BUG();
		} else if (PTR_ERR(page) == -EEXIST) {
			/* a pfn without struct page: an error only if pages are wanted */
			if (pages) {
				ret = -EEXIST;
				goto out;
			}
		} else if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			goto out;
		}

		page_increm = 1 + (~(start >> PAGE_SHIFT) & ctx.page_mask);
		if (page_increm > nr_pages)
			page_increm = nr_pages;
		if (pages && !IS_ERR(page)) {
			/* one grab for the rest of a huge leaf, not one per page */
			if (page_increm > 1 &&
			    try_grab_folio(page_folio(page), (int)page_increm - 1, gup_flags)) {
				gup_put_folio(page_folio(page), 1, gup_flags);
				ret = -EFAULT;
				goto out;
			}
			for (unsigned long j = 0; j < page_increm; j++)
				pages[i + j] = page + j;
		}
		i += page_increm;
		start += page_increm << PAGE_SHIFT;
		nr_pages -= page_increm;
	} while (nr_pages);
out:
	return i ? i : ret;
}

/*
 * __get_user_pages_locked - the locking and retry driver.
 *
 * With *locked == 0 the mmap_lock is taken here and released before
 * returning; with *locked == 1 the caller holds it. If FOLL_UNLOCKABLE lets a
 * fault drop the lock, the loop re-takes it and retries the page that faulted
 * (FOLL_TRIED), and *locked tells the caller whether it still holds the lock.
 */
long __get_user_pages_locked(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, struct page **pages, int *locked,
			     unsigned int flags)
{
	bool must_unlock = false;
	long ret, pages_done;

	if (!nr_pages)
		return 0;
	if (!*locked) {
		if (mmap_read_lock_killable(mm))
			return -EAGAIN;
		must_unlock = true;
		*locked = 1;
	} else {
		mmap_assert_locked(mm);
	}
	if (flags & FOLL_PIN)
		mm_set_has_pinned_flag(mm);
	/* callers that want pages but no pin get references (historical rule) */
	if (pages && !(flags & FOLL_PIN))
		flags |= FOLL_GET;

	pages_done = 0;
	for (;;) {
		ret = __get_user_pages(mm, start, nr_pages, flags, pages, locked);
		if (!(flags & FOLL_UNLOCKABLE)) {
			pages_done = ret;
			break;
		}
		/* a fault that dropped the lock never reports an error */
		if (!*locked)
			BUG_ON(ret < 0 || (unsigned long)ret >= nr_pages);
		if (ret > 0) {
			nr_pages -= ret;
			pages_done += ret;
			if (!nr_pages)
				break;
		}
		if (*locked) {
			/* no VM_FAULT_RETRY, or it was FOLL_NOWAIT */
			if (!pages_done)
				pages_done = ret;
			break;
		}
		/* the lock was dropped: retry the page that faulted */
		if (pages)
			pages += ret;
		start += (unsigned long)ret << PAGE_SHIFT;
		must_unlock = true;
retry:
		if (fatal_signal_pending_current()) {
			if (!pages_done)
				pages_done = -EINTR;
			break;
		}
		ret = mmap_read_lock_killable(mm);
		if (ret) {
			if (!pages_done)
				pages_done = ret;
			break;
		}
		*locked = 1;
		ret = __get_user_pages(mm, start, 1, flags | FOLL_TRIED, pages, locked);
		if (!*locked) {
			BUG_ON(ret != 0);
			goto retry;
		}
		if (ret != 1) {
			if (!pages_done)
				pages_done = ret;
			break;
		}
		nr_pages--;
		pages_done++;
		if (!nr_pages)
			break;
		if (pages)
			pages++;
		start += PAGE_SIZE;
	}
	if (must_unlock && *locked) {
		mmap_read_unlock(mm);
		*locked = 0;
	}
	/* pinning nothing without FOLL_NOWAIT means something went wrong */
	if (WARN_ON_ONCE(pages_done == 0 && !(flags & FOLL_NOWAIT)))
		return -EFAULT;
	return pages_done;
}

/* passes of migrate-and-pin-again before giving up (see __gup_longterm_locked) */
#define GUP_LONGTERM_MAX_PASSES	100000

/*
 * __gup_longterm_locked - a pin that may have to move the pages first.
 *
 * Without FOLL_LONGTERM this is __get_user_pages_locked(). With it, faults
 * allocate pinnable memory only (memalloc_pin_save), and pages found in
 * ZONE_MOVABLE or CMA are migrated and the whole range pinned again until
 * every folio may stay pinned, as Linux's loop does.
 */
long __gup_longterm_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   struct page **pages, int *locked, unsigned int gup_flags)
{
	unsigned int pin_scope, passes = 0;
	long rc, nr_pinned;

	if (!(gup_flags & FOLL_LONGTERM))
		return __get_user_pages_locked(mm, start, nr_pages, pages, locked, gup_flags);

	pin_scope = memalloc_pin_save();
	do {
		nr_pinned = __get_user_pages_locked(mm, start, nr_pages, pages, locked, gup_flags);
		if (nr_pinned <= 0) {
			rc = nr_pinned;
			break;
		}
		rc = check_and_migrate_movable_pages((unsigned long)nr_pinned, pages);
		if (rc != -EAGAIN)
			break;
		pin_call_note_migrated();
		/*
		 * Nothing is pinned now. Linux retries without bound; a folio
		 * that another migrator holds isolated comes back soon, so
		 * yield to it. A fatal signal ends the wait, and so (with
		 * -ENOMEM, as a failed migration does) does a folio that never
		 * becomes isolatable — the driver-inserted CMA page case that
		 * Linux leaves open.
		 */
		cond_resched();
		if (fatal_signal_pending_current())
			rc = -EINTR;
		else if (++passes > GUP_LONGTERM_MAX_PASSES)
			rc = -ENOMEM;
	} while (rc == -EAGAIN);
	memalloc_pin_restore(pin_scope);
	return rc ? rc : nr_pinned;
}

/* ===========================================================================
 * The entry points
 * ===========================================================================
 */

/*
 * The argument rules of Linux's is_valid_gup_args(), in its order. Every
 * refusal is a WARN_ON_ONCE: these are programming errors at the call site.
 */
static bool is_valid_gup_args(struct page **pages, int *locked, unsigned int *gup_flags_p,
			      unsigned int to_set)
{
	unsigned int gup_flags = *gup_flags_p;

	if (WARN_ON_ONCE(gup_flags & INTERNAL_GUP_FLAGS))
		return false;
	gup_flags |= to_set;
	if (locked) {
		if (WARN_ON_ONCE(*locked != 1))
			return false;
		gup_flags |= FOLL_UNLOCKABLE;
	}
	if (WARN_ON_ONCE((gup_flags & (FOLL_PIN | FOLL_GET)) == (FOLL_PIN | FOLL_GET)))
		return false;
	if (WARN_ON_ONCE(!(gup_flags & FOLL_PIN) && (gup_flags & FOLL_LONGTERM)))
		return false;
	if (WARN_ON_ONCE((gup_flags & (FOLL_GET | FOLL_PIN)) && !pages))
		return false;
	if (WARN_ON_ONCE((gup_flags & FOLL_LONGTERM) && (gup_flags & FOLL_PCI_P2PDMA)))
		return false;
	*gup_flags_p = gup_flags;
	return true;
}

long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked)
{
	int local_locked = 1;

	if (!is_valid_gup_args(pages, locked, &gup_flags, FOLL_TOUCH | FOLL_REMOTE))
		return -EINVAL;
	return __get_user_pages_locked(mm, start, nr_pages, pages,
				       locked ? locked : &local_locked, gup_flags);
}

long get_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages)
{
	int locked = 1;

	if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_TOUCH))
		return -EINVAL;
	return __get_user_pages_locked(current->mm, start, nr_pages, pages, &locked, gup_flags);
}

long get_user_pages_unlocked(unsigned long start, unsigned long nr_pages,
			     struct page **pages, unsigned int gup_flags)
{
	int locked = 0;

	if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_TOUCH | FOLL_UNLOCKABLE))
		return -EINVAL;
	return __get_user_pages_locked(current->mm, start, nr_pages, pages, &locked, gup_flags);
}

/*
 * The pinning entry points: each *_site() variant runs the call inside a pin
 * call (pin_owner.c), which records the owner of every pin it takes and, for
 * FOLL_LONGTERM, charges the task's pins group at the end.
 */
long pin_user_pages_remote_site(struct mm_struct *mm, unsigned long start,
				unsigned long nr_pages, unsigned int gup_flags,
				struct page **pages, int *locked, const struct pin_site *site)
{
	int local_locked = 1;
	struct pin_call call;
	long ret;

	if (!is_valid_gup_args(pages, locked, &gup_flags, FOLL_PIN | FOLL_TOUCH | FOLL_REMOTE))
		return 0;
	pin_call_begin(&call, site, gup_flags);
	pin_call_set_mm(&call, mm);
	ret = __gup_longterm_locked(mm, start, nr_pages, pages,
				    locked ? locked : &local_locked, gup_flags);
	return pin_call_end_pages(&call, ret, pages);
}

long pin_user_pages_site(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
			 struct page **pages, const struct pin_site *site)
{
	int locked = 1;
	struct pin_call call;
	long ret;

	if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_PIN))
		return 0;
	pin_call_begin(&call, site, gup_flags);
	ret = __gup_longterm_locked(current->mm, start, nr_pages, pages, &locked, gup_flags);
	return pin_call_end_pages(&call, ret, pages);
}

long pin_user_pages_unlocked_site(unsigned long start, unsigned long nr_pages,
				  struct page **pages, unsigned int gup_flags,
				  const struct pin_site *site)
{
	int locked = 0;
	struct pin_call call;
	long ret;

	if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_PIN | FOLL_TOUCH | FOLL_UNLOCKABLE))
		return 0;
	pin_call_begin(&call, site, gup_flags);
	ret = __gup_longterm_locked(current->mm, start, nr_pages, pages, &locked, gup_flags);
	return pin_call_end_pages(&call, ret, pages);
}

/* Pins taken through the functions themselves are owned by the entry point. */
#define ENTRY_SITE(fn) \
	static const struct pin_site fn##_site_fn = { __FILE__, #fn " (no call site)", __LINE__ }
ENTRY_SITE(pin_user_pages_remote);
ENTRY_SITE(pin_user_pages);
ENTRY_SITE(pin_user_pages_unlocked);
ENTRY_SITE(pin_user_pages_fast);

long (pin_user_pages_remote)(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			     unsigned int gup_flags, struct page **pages, int *locked)
{
	return pin_user_pages_remote_site(mm, start, nr_pages, gup_flags, pages, locked,
					  &pin_user_pages_remote_site_fn);
}

long (pin_user_pages)(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		      struct page **pages)
{
	return pin_user_pages_site(start, nr_pages, gup_flags, pages, &pin_user_pages_site_fn);
}

long (pin_user_pages_unlocked)(unsigned long start, unsigned long nr_pages,
			       struct page **pages, unsigned int gup_flags)
{
	return pin_user_pages_unlocked_site(start, nr_pages, pages, gup_flags,
					    &pin_user_pages_unlocked_site_fn);
}

int get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages)
{
	if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_GET))
		return -EINVAL;
	return gup_fast_fallback(start, (unsigned long)(long)nr_pages, gup_flags, pages);
}

int get_user_pages_fast_only(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages)
{
	if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_GET | FOLL_FAST_ONLY))
		return -EINVAL;
	return gup_fast_fallback(start, (unsigned long)(long)nr_pages, gup_flags, pages);
}

int pin_user_pages_fast_site(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages, const struct pin_site *site)
{
	struct pin_call call;
	long ret;

	if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_PIN))
		return -EINVAL;
	pin_call_begin(&call, site, gup_flags);
	ret = gup_fast_fallback(start, (unsigned long)(long)nr_pages, gup_flags, pages);
	return (int)pin_call_end_pages(&call, ret, pages);
}

int (pin_user_pages_fast)(unsigned long start, int nr_pages, unsigned int gup_flags,
			  struct page **pages)
{
	return pin_user_pages_fast_site(start, nr_pages, gup_flags, pages,
					&pin_user_pages_fast_site_fn);
}

/* ===========================================================================
 * Faulting without keeping anything: fixup_user_fault() and fault_in_*()
 * ===========================================================================
 */

static bool vma_permits_fault(struct vm_area_struct *vma, unsigned int fault_flags)
{
	bool write = fault_flags & FAULT_FLAG_WRITE;
	vm_flags_t need = write ? VM_WRITE : VM_READ;

	return (vma->vm_flags & need) != 0;
}

int fixup_user_fault(struct mm_struct *mm, unsigned long address, unsigned int fault_flags,
		     bool *unlocked)
{
	struct vm_area_struct *vma;
	vm_fault_t ret;

	if (unlocked)
		fault_flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
retry:
	vma = vma_lookup(mm, address);
	if (!vma)
		return -EFAULT;
	if (!vma_permits_fault(vma, fault_flags))
		return -EFAULT;
	if ((fault_flags & FAULT_FLAG_KILLABLE) && fatal_signal_pending_current())
		return -EINTR;
	ret = handle_mm_fault(vma, address, fault_flags, NULL);
	if (ret & VM_FAULT_COMPLETED) {
		/* completed with the lock dropped: hand it back locked, as promised */
		mmap_read_lock(mm);
		*unlocked = true;
		return 0;
	}
	if (ret & VM_FAULT_ERROR) {
		int err = vm_fault_to_errno(ret, 0);

		if (err)
			return err;
		BUG();
	}
	if (ret & VM_FAULT_RETRY) {
		mmap_read_lock(mm);
		*unlocked = true;
		fault_flags |= FAULT_FLAG_TRIED;
		goto retry;
	}
	return 0;
}

size_t fault_in_writeable(char __user *uaddr, size_t size)
{
	unsigned long start = (unsigned long)uaddr, end, addr;

	if (!size)
		return 0;
	if (start + size < start)
		return size;
	end = start + size;
	/* one write of zero per page, as Linux: destructive by design */
	for (addr = start; addr < end; addr = (addr & PAGE_MASK) + PAGE_SIZE)
		if (put_user((char)0, (char __user *)addr))
			return end - addr;
	return 0;
}

size_t fault_in_readable(const char __user *uaddr, size_t size)
{
	unsigned long start = (unsigned long)uaddr, end, addr;
	char c;

	if (!size)
		return 0;
	if (start + size < start)
		return size;
	end = start + size;
	for (addr = start; addr < end; addr = (addr & PAGE_MASK) + PAGE_SIZE)
		if (get_user(c, (char __user *)addr))
			return end - addr;
	(void)c;
	return 0;
}

size_t fault_in_safe_writeable(const char __user *uaddr, size_t size)
{
	unsigned long start = (unsigned long)uaddr, end, addr;
	struct mm_struct *mm = current->mm;
	bool unlocked = false;

	if (!size)
		return 0;
	if (start + size < start)
		return size;
	end = PAGE_ALIGN(start + size);
	mmap_read_lock(mm);
	for (addr = start & PAGE_MASK; addr < end; addr += PAGE_SIZE)
		if (fixup_user_fault(mm, addr, FAULT_FLAG_WRITE, &unlocked))
			break;
	mmap_read_unlock(mm);
	if (addr <= start)
		return size;
	return addr < start + size ? start + size - addr : 0;
}
