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

/* ---- pin_owner.c ------------------------------------------------------------ */

/* PIN_EV_*: what kind of pins an owner record (a pin call's event) holds */
#define PIN_EV_LONGTERM		(1u << 0)
#define PIN_EV_MIGRATED		(1u << 1)	/* had to migrate out of MOVABLE/CMA */
#define PIN_EV_PER_FOLIO	(1u << 2)	/* one pin per folio (memfd_pin_folios) */
#define PIN_EV_USED		(1u << 4)

/*
 * The owner record of a pinned folio, indexed by its head pfn: the id of the
 * call (struct pin_event) that took the folio's first pin of the current
 * pinned period. Written by that pinner alone, after its count add saw no
 * pin before it, and never cleared (the next period's first pinner
 * overwrites it): 4 bytes per frame, so a 1 GiB pin stores 1 MiB. Pins taken
 * while the folio was already pinned go to the bucket lists instead, and a
 * bit per pfn in pin_owner_shared says the folio has such entries (set and
 * cleared under the bucket lock, with atomic bit operations).
 */
extern _Atomic uint32_t *pin_owner_map;
extern atomic_ulong *pin_owner_shared;
#define PIN_SHARED_BITS		(8 * sizeof(unsigned long))

static inline bool pin_owner_has_shared(unsigned long pfn)
{
	return atomic_load_explicit(&pin_owner_shared[pfn / PIN_SHARED_BITS],
				    memory_order_relaxed) & (1UL << (pfn % PIN_SHARED_BITS));
}

/* One pin call in progress on this thread (the entry points set it up). */
struct pin_call {
	uint32_t ev;			/* its event, 0 with records off */
	unsigned int flags;		/* PIN_EV_* */
	long pending;			/* pins recorded, not yet added to the event */
	struct pinmm_pins_group *group;	/* to charge at the end (long-term) */
	struct pin_call *prev;
};

/* An unpin in progress: consecutive folios of one event released together. */
struct pin_release {
	bool on;
	bool per_folio;			/* @ev's pins are one per folio (memfd) */
	uint32_t ev;
	long pins;
	long pages;			/* the same in pages, for per-folio pins */
};

extern atomic_bool pin_owner_on;
extern __thread struct pin_call *pin_call_current;

static inline bool pin_owner_is_on(void)
{
	return atomic_load_explicit(&pin_owner_on, memory_order_relaxed);
}

void pin_call_begin(struct pin_call *c, const struct pin_site *site, unsigned int gup_flags);
void pin_call_set_mm(struct pin_call *c, struct mm_struct *mm);
/* Charge and close the call; on a refused charge unpin what it took. */
long pin_call_end_pages(struct pin_call *c, long ret, struct page **pages);
long pin_call_end_folios(struct pin_call *c, long ret, struct folio **folios);
/* The long-term loop had to migrate: the call's pins are listed as such. */
static inline void pin_call_note_migrated(void)
{
	if (pin_call_current)
		pin_call_current->flags |= PIN_EV_MIGRATED;
}

void __pin_owner_add_slow(struct folio *folio, int refs, bool first);

/*
 * pin_owner_add - record @refs pins just taken on @folio by this thread's call.
 * @first: the count add saw no pin before it (this is the folio's first).
 * Context: any; the caller holds the pins.
 */
static __always_inline void pin_owner_add(struct folio *folio, int refs, bool first)
{
	struct pin_call *c = pin_call_current;

	if (unlikely(!c || !c->ev || !first)) {
		__pin_owner_add_slow(folio, refs, first);
		return;
	}
	atomic_store_explicit(&pin_owner_map[folio_pfn(folio)], c->ev, memory_order_release);
	c->pending += refs;
}

static inline void pin_release_init(struct pin_release *r)
{
	r->on = pin_owner_is_on();
	r->per_folio = false;
	r->ev = 0;
	r->pins = 0;
	r->pages = 0;
}

void __pin_release_flush(struct pin_release *r);
bool __pin_event_per_folio(uint32_t id);
void __pin_owner_release_shared(struct pin_release *r, struct folio *folio, int refs);

/*
 * pin_owner_release - @refs pins of @folio are about to be released: find
 * whose they were. Must run before the pins are dropped (after that, the
 * folio may be pinned again and its record rewritten).
 */
static __always_inline void pin_owner_release(struct pin_release *r, struct folio *folio,
					      int refs)
{
	unsigned long pfn;
	uint32_t id;

	if (!r->on || is_zero_folio(folio))
		return;
	pfn = folio_pfn(folio);
	if (unlikely(pin_owner_has_shared(pfn))) {
		__pin_owner_release_shared(r, folio, refs);
		return;
	}
	id = atomic_load_explicit(&pin_owner_map[pfn], memory_order_acquire);
	if (id != r->ev) {
		if (r->pins)
			__pin_release_flush(r);
		r->ev = id;
		r->per_folio = __pin_event_per_folio(id);
	}
	r->pins += refs;
	if (unlikely(r->per_folio))
		r->pages += (long)refs << folio_order(folio);
}

/* Start loading the owner word of a page a few entries ahead of an unpin loop. */
static inline void pin_owner_prefetch(const struct pin_release *r, const struct page *page)
{
	if (r->on)
		__builtin_prefetch(&pin_owner_map[page_to_pfn(page)]);
}

static inline void pin_release_done(struct pin_release *r)
{
	if (r->pins)
		__pin_release_flush(r);
}

/* ---- pins_group.c ------------------------------------------------------------ */

/* Charge @pages to @g unless that passes pins.max. Return: 0 or -ENOMEM. */
int pins_group_try_charge(struct pinmm_pins_group *g, long pages);
void pins_group_uncharge(struct pinmm_pins_group *g, long pages);
struct pinmm_pins_group *pins_group_get(struct pinmm_pins_group *g);
bool pins_group_any(void);
void pins_group_show(FILE *out);

#endif /* PINMM_GUP_INTERNAL_H */
