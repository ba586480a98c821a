/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of src/gup, headed by the file that owns each.
 */
#ifndef PINMM_GUP_INTERNAL_H
#define PINMM_GUP_INTERNAL_H

#include <pinmm/fs.h>
#include <pinmm/gup.h>
#include <pinmm/mman.h>
#include <pinmm/memory.h>
#include <pinmm/task.h>


/* ---- gup.c ---------------------------------------------------------------- */

/* Take @refs references or pins on a folio whose refcount is known stable. */
int __must_check try_grab_folio(struct folio *folio, int refs, unsigned int flags);
/*
 * Release what try_grab_folio*() took without touching the pin counters;
 * returns the pins released (GUP-fast undoes grabs it has not counted yet).
 */
int __gup_put_folio(struct folio *folio, int refs, unsigned int flags);
/* Release what try_grab_folio*() took. */
void gup_put_folio(struct folio *folio, int refs, unsigned int flags);
long __get_user_pages_locked(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, struct page **pages, int *locked,
			     unsigned int flags);
long __gup_longterm_locked(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   struct page **pages, int *locked, unsigned int gup_flags);
void mm_set_has_pinned_flag(struct mm_struct *mm);
void sanity_check_pinned_pages(struct page **pages, unsigned long npages);

/*
 * gup_must_unshare - must a FOLL_PIN without FOLL_WRITE unshare this page first?
 * @vma: the mapping, or NULL from GUP-fast (which cannot tell a COW mapping).
 *
 * A R/O pin of an anonymous page that is not known exclusive would keep
 * pinning the old page after the owner's next write COWs it away. For
 * non-anonymous pages only long-term R/O pins in COW mappings unshare, so the
 * pin sees the process's later writes (Linux >= 6.2).
 */
static inline bool gup_must_unshare(struct vm_area_struct *vma, unsigned int flags,
				    struct page *page)
{
	if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN)
		return false;
	if (!PageAnon(page)) {
		if (!(flags & FOLL_LONGTERM))
			return false;
		return !vma || is_cow_mapping(vma->vm_flags);
	}
	/* pairs with the barrier in folio_try_share_anon_rmap_*() */
	smp_rmb();
	return !PageAnonExclusive(page);
}

/* ---- gup_fast.c ------------------------------------------------------------- */

struct folio *try_grab_folio_fast(struct page *page, int refs, unsigned int flags);
int gup_fast_fallback(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		      struct page **pages);

/* ---- longterm.c -------------------------------------------------------------- */

/*
 * After a FOLL_LONGTERM pin of @nr_pages: 0 if every folio may stay pinned;
 * -EAGAIN after unpinning everything and migrating the unpinnable folios out
 * of ZONE_MOVABLE/CMA (the caller pins again); another error after unpinning
 * everything when migration failed.
 */
long check_and_migrate_movable_pages(unsigned long nr_pages, struct page **pages);
/* The same for an array of pinned folios, one pin each (memfd_pin_folios). */
long check_and_migrate_movable_folios(unsigned long nr_folios, struct folio **folios);

#endif /* PINMM_GUP_INTERNAL_H */
