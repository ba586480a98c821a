/* SPDX-License-Identifier: MIT */
/*
 * get_user_pages() / pin_user_pages(): taking references and pins on the pages
 * behind user addresses. Names, flags, signatures and return values are
 * Linux's (mm/gup.c as of 6.x); docs/pin_user_pages.md says which call each
 * kind of caller should use.
 *
 *   get_user_pages*()  FOLL_GET: +1 reference each; release with put_page().
 *   pin_user_pages*()  FOLL_PIN: a DMA pin; release with unpin_user_page*().
 *
 * Return values of the counted entry points: the number of pages taken,
 * counted from @start (the caller must release exactly that many; pages[]
 * beyond it are untouched); a negative errno only if none was taken.
 * Argument misuse is a WARN_ON_ONCE and -EINVAL — except pin_user_pages(),
 * pin_user_pages_remote() and pin_user_pages_unlocked(), which return 0 for
 * invalid arguments, as Linux does.
 */
#ifndef PINMM_GUP_H
#define PINMM_GUP_H

#include <pinmm/mm.h>
#include <pinmm/pin_owner.h>

struct mm_struct;

/* Flags a caller may pass. */
enum {
	FOLL_WRITE = 1 << 0,		/* the pages will be written: break COW first */
	FOLL_GET = 1 << 1,		/* take a reference (set by get_* wrappers) */
	FOLL_DUMP = 1 << 2,		/* core dump: refuse holes and zero pages */
	FOLL_FORCE = 1 << 3,		/* ignore VMA permissions (ptrace) */
	FOLL_NOWAIT = 1 << 4,		/* start I/O, do not wait; 0 is a valid result */
	FOLL_NOFAULT = 1 << 5,		/* never fault: only what is mapped */
	FOLL_HWPOISON = 1 << 6,		/* -EHWPOISON instead of -EFAULT */
	FOLL_ANON = 1 << 7,		/* anonymous VMAs only */
	FOLL_LONGTERM = 1 << 8,		/* held indefinitely: only with FOLL_PIN */
	FOLL_SPLIT_PMD = 1 << 9,	/* split PMD-mapped THPs first */
	FOLL_PCI_P2PDMA = 1 << 10,	/* allow P2P device pages */
	FOLL_INTERRUPTIBLE = 1 << 11,	/* any signal interrupts a retried fault; pinmm
					   has only fatal signals, so same as without */
	FOLL_HONOR_NUMA_FAULT = 1 << 12,
};

/* Internal flags: set by the wrappers only; a caller passing one is refused. */
enum {
	FOLL_TOUCH = 1 << 16,		/* mark accessed, and dirty on write */
	FOLL_TRIED = 1 << 17,		/* retry after VM_FAULT_RETRY */
	FOLL_REMOTE = 1 << 18,		/* the mm is not current's */
	FOLL_PIN = 1 << 19,		/* a DMA pin, counted apart */
	FOLL_FAST_ONLY = 1 << 20,	/* GUP-fast must not fall back */
	FOLL_UNLOCKABLE = 1 << 21,	/* GUP may drop mmap_lock */
	FOLL_MADV_POPULATE = 1 << 22,	/* MADV_POPULATE_* error semantics */
};

#define INTERNAL_GUP_FLAGS						\
	(FOLL_TOUCH | FOLL_TRIED | FOLL_REMOTE | FOLL_PIN | FOLL_FAST_ONLY | \
	 FOLL_UNLOCKABLE | FOLL_MADV_POPULATE)

/* ---- taking references (FOLL_GET) ---------------------------------------- */

/**
 * get_user_pages - references on the pages of current->mm at [start, +nr_pages).
 * @start: user address (rounded down to a page).
 * @nr_pages: pages wanted.
 * @gup_flags: FOLL_WRITE, FOLL_FORCE, FOLL_NOFAULT, ... (no internal flags).
 * @pages: filled with referenced pages, or NULL just to fault them in.
 *
 * Context: the caller holds current->mm's mmap_lock (read); it is never dropped.
 * Return: pages taken (release each with put_page()), or -errno if none.
 */
long get_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages);

/**
 * get_user_pages_remote - the same on another task's mm.
 * @locked: NULL (the lock is never dropped), or points to 1: GUP may drop the
 *          lock to wait for a fault and then sets *@locked to 0.
 * Context: the caller holds @mm's mmap_lock (read) and a reference on @mm.
 */
long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked);

/** get_user_pages_unlocked - takes and releases mmap_lock itself. */
long get_user_pages_unlocked(unsigned long start, unsigned long nr_pages,
			     struct page **pages, unsigned int gup_flags);

/**
 * get_user_pages_fast - lockless first (GUP-fast), then the slow path.
 * Context: must not hold mmap_lock. Return: pages taken from @start, the
 * fast count if the slow rest failed, or -errno (-EOVERFLOW for a wrapping
 * range, -EFAULT past the top of user space, -EINVAL for bad flags).
 */
int get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages);

/** get_user_pages_fast_only - lockless only: never sleeps, may return fewer (0). */
int get_user_pages_fast_only(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages);

/* ---- taking pins (FOLL_PIN) ------------------------------------------------- */

/**
 * pin_user_pages - DMA pins on pages of current->mm.
 * @gup_flags: may include FOLL_LONGTERM (then pages in ZONE_MOVABLE or CMA are
 *             migrated to pinnable memory first) and FOLL_WRITE.
 * Context: the caller holds mmap_lock (read); never dropped.
 * Return: pages pinned (release with unpin_user_page*()), -errno if none, and
 * 0 — not -EINVAL — for invalid arguments, as Linux.
 */
long pin_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages);

/**
 * pin_user_pages_remote - pins on another mm (VFIO type1, RDMA ODP fallback).
 * FOLL_LONGTERM works here too (the 2019 review thread's open question).
 * @locked: as get_user_pages_remote(). Invalid arguments return 0.
 */
long pin_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked);

/** pin_user_pages_unlocked - takes and releases mmap_lock; invalid arguments return 0. */
long pin_user_pages_unlocked(unsigned long start, unsigned long nr_pages,
			     struct page **pages, unsigned int gup_flags);

/**
 * pin_user_pages_fast - lockless pins, falling back to the slow path.
 * Context: must not hold mmap_lock. Return: as get_user_pages_fast().
 */
int pin_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages);

/* ---- releasing pins ----------------------------------------------------------- */

void unpin_user_page(struct page *page);
void unpin_user_pages(struct page **pages, unsigned long npages);
/* Dirty each folio under its lock (if @make_dirty), then unpin; batches per folio. */
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages, bool make_dirty);
void unpin_user_page_range_dirty_lock(struct page *page, unsigned long npages, bool make_dirty);
void unpin_folio(struct folio *folio);
void unpin_folios(struct folio **folios, unsigned long nfolios);
struct file;
/* Pin a memfd's folios by file range (see gup.c); long-term, migrating first. */
long memfd_pin_folios(struct file *memfd, loff_t start, loff_t end, struct folio **folios,
		      unsigned int max_folios, pgoff_t *offset);
void unpin_user_folio(struct folio *folio, unsigned long npages);
void folio_add_pin(struct folio *folio);
int folio_add_pins(struct folio *folio, unsigned int pins);

/*
 * ---- pin owners: the call site goes with every pin ----------------------------
 *
 * Each pinning entry point above is also a macro of the same name that passes
 * a static descriptor of its call site (file, line, function) to the *_site()
 * variant, so a call written in Linux's idiom compiles unchanged and every pin
 * knows who took it (<pinmm/pin_owner.h>). The functions themselves remain
 * (for a function pointer, or a call written as (pin_user_pages)(...)); their
 * pins are owned by a site naming the entry point.
 */
long pin_user_pages_site(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
			 struct page **pages, const struct pin_site *site);
long pin_user_pages_remote_site(struct mm_struct *mm, unsigned long start,
				unsigned long nr_pages, unsigned int gup_flags,
				struct page **pages, int *locked, const struct pin_site *site);
long pin_user_pages_unlocked_site(unsigned long start, unsigned long nr_pages,
				  struct page **pages, unsigned int gup_flags,
				  const struct pin_site *site);
int pin_user_pages_fast_site(unsigned long start, int nr_pages, unsigned int gup_flags,
			     struct page **pages, const struct pin_site *site);
long memfd_pin_folios_site(struct file *memfd, loff_t start, loff_t end, struct folio **folios,
			   unsigned int max_folios, pgoff_t *offset, const struct pin_site *site);
void folio_add_pin_site(struct folio *folio, const struct pin_site *site);
int folio_add_pins_site(struct folio *folio, unsigned int pins, const struct pin_site *site);

#define pin_user_pages(start, nr_pages, gup_flags, pages)			\
	pin_user_pages_site(start, nr_pages, gup_flags, pages, PINMM_PIN_SITE)
#define pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked)	\
	pin_user_pages_remote_site(mm, start, nr_pages, gup_flags, pages, locked,	\
				   PINMM_PIN_SITE)
#define pin_user_pages_unlocked(start, nr_pages, pages, gup_flags)		\
	pin_user_pages_unlocked_site(start, nr_pages, pages, gup_flags, PINMM_PIN_SITE)
#define pin_user_pages_fast(start, nr_pages, gup_flags, pages)			\
	pin_user_pages_fast_site(start, nr_pages, gup_flags, pages, PINMM_PIN_SITE)
#define memfd_pin_folios(memfd, start, end, folios, max_folios, offset)		\
	memfd_pin_folios_site(memfd, start, end, folios, max_folios, offset, PINMM_PIN_SITE)
#define folio_add_pin(folio)	folio_add_pin_site(folio, PINMM_PIN_SITE)
#define folio_add_pins(folio, pins) folio_add_pins_site(folio, pins, PINMM_PIN_SITE)

/* ---- faulting without keeping references ---------------------------------- */

/**
 * fixup_user_fault - resolve one fault at @address in @mm (futex-style).
 * @unlocked: NULL, or set to true if the lock was dropped and retaken.
 * Context: @mm's mmap_lock held (read); held again on return.
 * Return: 0, -EFAULT, -EINTR, -ENOMEM.
 */
int fixup_user_fault(struct mm_struct *mm, unsigned long address, unsigned int fault_flags,
		     bool *unlocked);
/* Fault in by writing a zero per page / reading; return bytes NOT faulted in. */
size_t fault_in_writeable(char __user *uaddr, size_t size);
size_t fault_in_readable(const char __user *uaddr, size_t size);
/* Non-destructive: fixup_user_fault(FAULT_FLAG_WRITE) per page. */
size_t fault_in_safe_writeable(const char __user *uaddr, size_t size);

#endif /* PINMM_GUP_H */
