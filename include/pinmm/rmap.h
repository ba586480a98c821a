/* SPDX-License-Identifier: MIT */
/*
 * Reverse mapping (src/mm/rmap.c): from a folio to every (vma, address) that
 * maps it, and the mapcounts that say how many such mappings exist.
 *
 * Anonymous memory follows Linux's anon_vma model. Each VMA that has faulted
 * anon memory owns an anon_vma; a child VMA made by fork gets its own
 * anon_vma whose root is the parent's root, and is linked (by one
 * anon_vma_chain per pair) to its own anon_vma and to every anon_vma of its
 * ancestors. A new anon folio points at its VMA's anon_vma (folio->mapping =
 * anon_vma | PAGE_MAPPING_ANON, folio->index = linear page index), so the VMAs
 * that can map it are exactly those chained to that anon_vma. One rwsem, the
 * root's, guards the chains of a whole family: fork and VMA teardown take it
 * for writing, rmap_walk() for reading.
 *
 * Mapcounts (Linux semantics):
 *   small folio  page->_mapcount: PTE mappings - 1
 *   large folio  per page _mapcount (PTE mappings of that page - 1),
 *                _entire_mapcount (PMD mappings - 1), _large_mapcount (all
 *                mappings - 1), _nr_pages_mapped (pages mapped by a PTE,
 *                plus ENTIRELY_MAPPED while any PMD maps the folio)
 * NR_ANON_MAPPED / NR_FILE_MAPPED count pages mapped at least once;
 * NR_ANON_THPS counts PMD-mapped anon THPs (one per folio, as
 * nr_anon_transparent_hugepages shows).
 *
 * Lock letters of the structures below: (r) root anon_vma rwsem held for
 * writing to change, for reading to walk; (a) atomic; (c) constant; (M) the
 * mmap_lock of the VMA's mm held for writing.
 */
#ifndef PINMM_RMAP_H
#define PINMM_RMAP_H

#include <pinmm/mm.h>
#include <pinmm/rcupdate.h>
#include <pinmm/swap.h>

struct anon_vma {
	struct anon_vma *root;		/* (c) the family's first anon_vma */
	struct rw_semaphore rwsem;	/* only the root's is used */
	atomic_int refcount;		/* (a) 1 while chained VMAs exist, +walkers, +children (root) */
	struct anon_vma *parent;	/* (c) the anon_vma forked from, or itself */
	struct list_head head;		/* (r) anon_vma_chains, by same_anon_vma */
	struct rcu_head rcu;		/* freed after a grace period (lockless folio lookups) */
};

struct anon_vma_chain {
	struct vm_area_struct *vma;	/* (c) */
	struct anon_vma *anon_vma;	/* (c) */
	struct list_head same_vma;	/* (M) in vma->anon_vma_chain */
	struct list_head same_anon_vma;	/* (r) in anon_vma->head */
};

/* rmap flags */
#define RMAP_NONE		0x0
#define RMAP_EXCLUSIVE		0x1	/* the new mapping is the only one: PageAnonExclusive */

/* In _nr_pages_mapped while the folio is mapped by a PMD. */
#define ENTIRELY_MAPPED		0x800000
#define FOLIO_PAGES_MAPPED	(ENTIRELY_MAPPED - 1)

/* ---- anon_vma life cycle (Part A calls these) ------------------------------ */

/**
 * anon_vma_prepare - give @vma an anon_vma before its first anon page.
 * @vma: the VMA.
 *
 * Context: mmap_lock held (read is enough: racing faults agree under
 * mm->page_table_lock).
 * Return: 0 or -ENOMEM.
 */
int anon_vma_prepare(struct vm_area_struct *vma);
/**
 * anon_vma_clone - link @dst to every anon_vma @src is linked to.
 * @dst: a new VMA (VMA split or copy) with an empty anon_vma_chain list.
 * @src: the VMA it comes from.
 *
 * @dst->anon_vma becomes @src->anon_vma if it was NULL.
 * Context: mmap_lock held for writing; takes the root anon_vma rwsem.
 * Return: 0, or -ENOMEM with @dst unlinked again.
 */
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src);
/**
 * anon_vma_fork - fork: link the child's @vma to the parent's anon_vmas and
 * give it an anon_vma of its own.
 * @vma: the child's VMA (anon_vma_chain list empty).
 * @pvma: the parent's VMA.
 *
 * Must run before copy_page_range() so rmap_walk() finds the child's
 * mappings as soon as they exist.
 * Context: both mmap locks held for writing; takes the root anon_vma rwsem.
 * Return: 0, or -ENOMEM with @vma unlinked again.
 */
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);
/**
 * unlink_anon_vmas - a VMA is going away: drop its anon_vma_chains.
 * @vma: the VMA, already unmapped (unmap_vma_range()).
 *
 * Call it before free_pgd_range() (as Linux's free_pgtables() does): an rmap
 * walker holding the anon_vma lock then never sees page tables being freed.
 * An anon_vma with no VMA left is freed (after a grace period).
 * Context: mmap_lock held for writing; takes the root anon_vma rwsem.
 */
void unlink_anon_vmas(struct vm_area_struct *vma);

/* ---- adding and removing mappings (page-table lock held) --------------------- */

/**
 * folio_add_new_anon_rmap - a folio no one else sees is mapped for the first time.
 * @folio: freshly allocated, locked or unreachable by others.
 * @vma: the VMA (with an anon_vma).
 * @address: the user address of the folio's first page.
 * @flags: RMAP_EXCLUSIVE, or RMAP_NONE for a folio other processes of the
 *         hierarchy may map too (a swap-in of a slot shared by fork).
 *
 * Sets mapping and index: @vma's anon_vma for an exclusive folio, the root
 * of its hierarchy otherwise (it outlives every anon_vma below it). An
 * order-HPAGE_PMD_ORDER folio is taken as mapped by
 * a PMD (entire mapcount; PageAnonExclusive on the head page); any other
 * folio as mapped by PTEs, one per page.
 * Context: page-table lock held.
 */
void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long address, int flags);
/**
 * folio_add_anon_rmap_ptes - @nr pages of an anon folio get one more PTE mapping each.
 * @folio: the folio.
 * @page: the first page.
 * @nr: pages.
 * @vma: the VMA.
 * @address: user address of @page.
 * @flags: RMAP_EXCLUSIVE to mark the pages PageAnonExclusive.
 * Context: page-table lock held.
 */
void folio_add_anon_rmap_ptes(struct folio *folio, struct page *page, int nr,
			      struct vm_area_struct *vma, unsigned long address, int flags);
#define folio_add_anon_rmap_pte(folio, page, vma, address, flags) \
	folio_add_anon_rmap_ptes(folio, page, 1, vma, address, flags)
/* folio_add_anon_rmap_pmd - the whole folio gets one more PMD mapping. */
void folio_add_anon_rmap_pmd(struct folio *folio, struct page *page,
			     struct vm_area_struct *vma, unsigned long address, int flags);
/* File (page-cache) folios: the same, counted in NR_FILE_MAPPED. */
void folio_add_file_rmap_ptes(struct folio *folio, struct page *page, int nr,
			      struct vm_area_struct *vma);
#define folio_add_file_rmap_pte(folio, page, vma) \
	folio_add_file_rmap_ptes(folio, page, 1, vma)
void folio_add_file_rmap_pmd(struct folio *folio, struct page *page,
			     struct vm_area_struct *vma);
/**
 * folio_remove_rmap_ptes - @nr pages lose one PTE mapping each.
 * @folio: the folio (anon or file).
 * @page: first page.
 * @nr: pages.
 * @vma: the VMA they were mapped in.
 *
 * The references the PTEs held are the caller's to drop.
 * Context: page-table lock held.
 */
void folio_remove_rmap_ptes(struct folio *folio, struct page *page, int nr,
			    struct vm_area_struct *vma);
#define folio_remove_rmap_pte(folio, page, vma) \
	folio_remove_rmap_ptes(folio, page, 1, vma)
void folio_remove_rmap_pmd(struct folio *folio, struct page *page,
			   struct vm_area_struct *vma);

/**
 * folio_try_dup_anon_rmap_ptes - fork: the child maps @nr pages too.
 * @folio: the folio.
 * @page: first page.
 * @nr: pages.
 * @dst: the child's VMA.
 * @src: the parent's VMA.
 *
 * Anon pages lose PageAnonExclusive (both sides will COW), unless the folio
 * may be pinned in an mm that pinned (folio_needs_cow_for_dma) and a page is
 * exclusive: then nothing changes and the caller must copy.
 * The caller adds the references.
 * Context: the parent's page-table lock held; write_protect_seq odd.
 * Return: 0, or -EBUSY: copy the pages for the child.
 */
int folio_try_dup_anon_rmap_ptes(struct folio *folio, struct page *page, int nr,
				 struct vm_area_struct *dst, struct vm_area_struct *src);
#define folio_try_dup_anon_rmap_pte(folio, page, dst, src) \
	folio_try_dup_anon_rmap_ptes(folio, page, 1, dst, src)
int folio_try_dup_anon_rmap_pmd(struct folio *folio, struct page *page,
				struct vm_area_struct *dst, struct vm_area_struct *src);
/* fork of a file/shared mapping: mapcounts only. */
void folio_dup_file_rmap_ptes(struct folio *folio, struct page *page, int nr);
#define folio_dup_file_rmap_pte(folio, page) folio_dup_file_rmap_ptes(folio, page, 1)
void folio_dup_file_rmap_pmd(struct folio *folio, struct page *page);

/**
 * folio_try_share_anon_rmap_pte - an exclusive anon page is about to become
 * possibly shared (unmapped for migration or swap, KSM).
 * @folio: the folio.
 * @page: the page, whose PTE the caller has already cleared.
 *
 * Issues a full barrier pairing with GUP-fast (which pins, then re-checks the
 * PTE): either GUP-fast sees the cleared PTE and backs off, or we see its pin.
 * Context: page-table lock held.
 * Return: 0 with PageAnonExclusive cleared, or -EBUSY if the folio may be
 * pinned (the caller restores the PTE).
 */
int folio_try_share_anon_rmap_pte(struct folio *folio, struct page *page);
int folio_try_share_anon_rmap_pmd(struct folio *folio, struct page *page);

/* Make the folio point at @vma's anon_vma (exclusive reuse). Folio locked. */
void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma);

/* ---- mapcount queries --------------------------------------------------------- */

/* folio_mapcount - all mappings of the folio (PTE + PMD). */
int folio_mapcount(const struct folio *folio);
/* folio_mapped - is any page of the folio mapped anywhere? */
bool folio_mapped(const struct folio *folio);

/**
 * folio_expected_ref_count - the references a folio's owners account for.
 * @folio: a folio; not a free page or a page table (WARN, 0).
 *
 * One per mapping (folio_mapcount()); for an anon folio one per page while
 * it is in the swap cache; for a file folio one per page while the page
 * cache holds it, and one for PG_private (the file system's data). A
 * refcount above this is someone else's: a GUP reference, a pin, an
 * isolation, a lookup in flight. Callers add the references they hold.
 *
 * Context: any. A snapshot unless the caller has locked or frozen what it
 * relies on (Linux 6.16's helper of the same name, the one question behind
 * migration, collapse, KSM and memfd sealing).
 */
static inline int folio_expected_ref_count(const struct folio *folio)
{
	const int nr = (int)folio_nr_pages(folio);
	int refs = 0;

	if (WARN_ON_ONCE(PageBuddy(&folio->page) || PageTable(&folio->page)))
		return 0;
	if (folio_test_anon(folio)) {
		if (folio_test_swapcache(folio))
			refs += nr;
	} else {
		if (atomic_load_explicit(&((struct folio *)folio)->mapping, memory_order_acquire))
			refs += nr;
		if (folio_test_private(folio))
			refs++;
	}
	return refs + folio_mapcount(folio);
}

static inline int folio_entire_mapcount(const struct folio *folio)
{
	return atomic_load_explicit(&((struct folio *)folio)->_entire_mapcount,
				    memory_order_relaxed) + 1;
}

static inline int folio_nr_pages_mapped(const struct folio *folio)
{
	return atomic_load_explicit(&((struct folio *)folio)->_nr_pages_mapped,
				    memory_order_relaxed) & FOLIO_PAGES_MAPPED;
}

/* PTE mappings of this one page (not counting PMD mappings of its folio). */
static inline int page_pte_mapcount(const struct page *page)
{
	int v = atomic_load_explicit(&((struct page *)page)->_mapcount, memory_order_relaxed);

	/* a typed page (hugetlb head) holds its type in this word, not a mapcount */
	return v < -1 ? 0 : v + 1;
}

/* Mappings of this page: its PTE mappings plus the folio's PMD mappings. */
static inline int page_mapcount(const struct page *page)
{
	struct folio *folio = page_folio(page);
	int n = page_pte_mapcount(page);

	if (folio_test_large(folio))
		n += folio_entire_mapcount(folio);
	return n;
}

/* The anon_vma of an anon folio (NULL otherwise); valid while it is mapped. */
static inline struct anon_vma *folio_anon_vma(const struct folio *folio)
{
	unsigned long m = (unsigned long)atomic_load_explicit(
		&((struct folio *)folio)->mapping, memory_order_acquire);

	if ((m & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_ANON)
		return NULL;
	return (struct anon_vma *)(m - PAGE_MAPPING_ANON);
}

/* ---- the walk ------------------------------------------------------------------- */

struct rmap_walk_control {
	void *arg;
	/* One mapping VMA: @addr is where the folio (or its first page in @vma) is. */
	bool (*rmap_one)(struct folio *folio, struct vm_area_struct *vma,
			 unsigned long addr, void *arg);	/* false: stop */
	bool (*invalid_vma)(struct vm_area_struct *vma, void *arg);	/* true: skip */
	/*
	 * Optional: an anon_vma the caller holds a reference on (from
	 * folio_get_anon_vma()), to walk a folio that is no longer mapped
	 * (migration entries). NULL: the folio must still be mapped.
	 */
	struct anon_vma *anon_vma;
	/*
	 * Reclaim: take the anon_vma lock only if free, and say so in
	 * @contended (Linux's rwc->try_lock): direct reclaim may run in an
	 * allocation made under that very lock.
	 */
	bool try_lock;
	bool contended;
};

/*
 * folio_get_anon_vma - a reference on a mapped anon folio's anon_vma that
 * outlives the mapping (migration keeps it while the folio is unmapped).
 * Return: the anon_vma (release with put_anon_vma()), or NULL.
 */
struct anon_vma *folio_get_anon_vma(struct folio *folio);
void put_anon_vma(struct anon_vma *anon_vma);

/**
 * rmap_walk - call rwc->rmap_one for every VMA that may map @folio.
 * @folio: a locked anon folio (file folios: not yet, nothing is called).
 * @rwc: the callbacks.
 *
 * Holds the root anon_vma rwsem for reading during the walk, so fork and
 * munmap cannot change the set of VMAs under it. rmap_one finds the actual
 * entries with page_vma_mapped_walk().
 * Context: may sleep; folio locked; no page-table lock held.
 */
void rmap_walk(struct folio *folio, struct rmap_walk_control *rwc);

/*
 * page_vma_mapped_walk: find, one by one, the PTEs (or the PMD) of @vma that
 * map pages of @pvmw->folio, each returned locked.
 *
 *   struct page_vma_mapped_walk pvmw = PVMW_INIT(folio, vma, addr);
 *   while (page_vma_mapped_walk(&pvmw)) {
 *           pvmw.pte (locked, pvmw.ptl) or pvmw.pmd (a PMD leaf, locked)
 *   }
 * Breaking out early: call page_vma_mapped_walk_done().
 * The walk holds an RCU read-side section and re-checks every table under
 * its lock, so it is safe against racing splits and table frees.
 */
struct page_vma_mapped_walk {
	struct folio *folio;
	struct vm_area_struct *vma;
	unsigned long address;		/* in: first address to look at; out: of the hit */
	unsigned long end;		/* internal */
	pmd_t *pmd;
	pte_t *pte;
	spinlock_t *ptl;
	bool started;
};

#define PVMW_INIT(f, v, a) \
	((struct page_vma_mapped_walk){ .folio = (f), .vma = (v), .address = (a) })

bool page_vma_mapped_walk(struct page_vma_mapped_walk *pvmw);
void page_vma_mapped_walk_done(struct page_vma_mapped_walk *pvmw);

/**
 * folio_mkclean - write-protect and clean every shared mapping of a locked
 * page-cache folio (the rmap walk over i_mmap), so the next store faults
 * and reaches ->page_mkwrite. Writeback calls it before it writes.
 * Return: how many entries were dirty or writable (the caller then treats
 * the folio as dirty: a dirty PTE's data is the folio's).
 * Context: folio locked; takes i_mmap_rwsem (read) and page-table locks.
 */
int folio_mkclean(struct folio *folio);

/* Where @page of @vma's mapping would be (Linux vma_address); -EFAULT if outside. */
unsigned long vma_address(struct vm_area_struct *vma, pgoff_t pgoff, unsigned long nr_pages);

/* All page-table mappings of large @folio (a PMD counts one). */
static inline int folio_large_mapcount(const struct folio *folio)
{
	return atomic_load_explicit(&((struct folio *)folio)->_large_mapcount,
				    memory_order_relaxed) + 1;
}

/**
 * folio_maybe_mapped_shared - might more than one mm map @folio?
 * Small folios: more than one mapping. Large anon folios: the _mm_ids
 * bookkeeping (a third mm, or two mms at once); false positives possible,
 * never a false negative. Context: any; a snapshot.
 */
bool folio_maybe_mapped_shared(struct folio *folio);

/**
 * folio_large_mapped_only_by - are all mappings of large anon @folio in @mm,
 * and is every one of its @refs references such a mapping?
 * @folio: a large anon folio, mapped by the caller's page table (its PTL held).
 * @mm: the faulting mm.
 * @refs: folio_ref_count() as the caller read it.
 *
 * Linux's test in wp_can_reuse_anon_folio() for large folios (6.15+): if so,
 * a write fault may reuse the page in place instead of copying it — nobody
 * else can see it, no GUP reference or pin is held.
 */
bool folio_large_mapped_only_by(struct folio *folio, struct mm_struct *mm, int refs);

#endif /* PINMM_RMAP_H */
