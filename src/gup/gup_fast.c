// SPDX-License-Identifier: MIT
/*
 * GUP-fast: take references or pins without mmap_lock.
 *
 * The walk reads each page-table entry once, inside an RCU read-side section
 * (page-table pages are freed only after a grace period, so every table the
 * walk reaches stays readable), grabs the folio speculatively (add-unless-zero,
 * which fails on a free or frozen folio), then re-reads the entries and backs
 * off if anything changed. Whoever invalidates a mapping does the mirror
 * image: change the entry first, then check for pins. Between the two, either
 * GUP-fast sees the change or the other side sees the pin.
 *
 * Pins also sample mm->write_protect_seq: while fork write-protects COW
 * mappings the count is odd and GUP-fast gives up at once, and if it moved
 * during the walk everything taken is dropped. Anything the walk cannot decide
 * (not present, special, not writable, must unshare, not long-term pinnable)
 * ends the walk; the slow path finishes the rest unless FOLL_FAST_ONLY.
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/hugetlb.h>
#include <pinmm/race.h>
#include <pinmm/rcupdate.h>
#include <pinmm/secretmem.h>

/*
 * try_get_folio - speculative grab of @refs references on the folio of @page.
 * The page may be freed, split or reused under us: refuse a free or frozen
 * folio, and re-check after the grab that the page still belongs to it.
 */
static struct folio *try_get_folio(struct page *page, int refs)
{
	struct folio *folio;

retry:
	folio = page_folio(page);
	if (WARN_ON_ONCE(folio_ref_count(folio) < 0))
		return NULL;
	if (unlikely(!folio_ref_try_add(folio, refs)))
		return NULL;
	if (unlikely(page_folio(page) != folio)) {
		/* split or freed-and-reused in between: drop and look again */
		folio_put_refs(folio, refs);
		goto retry;
	}
	return folio;
}

/**
 * try_grab_folio_fast - speculative GET or PIN of @refs pages of one folio.
 *
 * Return: the folio, or NULL (the caller falls back to the slow path). For a
 * long-term pin a folio that may not stay pinned is refused here, so the slow
 * path can migrate it. A pin of a small folio is one atomic add of the whole
 * bias (the count taken in one step, then the folio re-checked), not two.
 */
static __always_inline struct folio *__try_grab_folio_fast(struct page *page, int refs,
							   unsigned int flags, bool *first)
{
	struct folio *folio;
	int old = 0;

	if (WARN_ON_ONCE((flags & (FOLL_GET | FOLL_PIN)) == 0))
		return NULL;
	if (flags & FOLL_GET)
		return try_get_folio(page, refs);

	/* FOLL_PIN: the zero page is pinned without counting */
	if (is_zero_page(page))
		return page_folio(page);
retry:
	folio = page_folio(page);
	if (folio_has_pincount(folio)) {
		folio = try_get_folio(page, refs);
		if (!folio)
			return NULL;
		if (!folio_has_pincount(folio)) {
			/* split under us: retake as a small folio */
			folio_put_refs(folio, refs);
			goto retry;
		}
	} else {
		if (unlikely(!folio_ref_try_add_old(folio, refs * (int)GUP_PIN_COUNTING_BIAS,
						    &old)))
			return NULL;
		if (unlikely(page_folio(page) != folio || folio_has_pincount(folio))) {
			folio_put_refs(folio, refs * (int)GUP_PIN_COUNTING_BIAS);
			goto retry;
		}
	}
	if (unlikely((flags & FOLL_LONGTERM) && !folio_is_longterm_pinnable(folio))) {
		folio_put_refs(folio, folio_has_pincount(folio) ?
			       refs : refs * (int)GUP_PIN_COUNTING_BIAS);
		return NULL;
	}
	/* the count before ours says whether this is the folio's first pin */
	if (folio_has_pincount(folio))
		*first = !atomic_fetch_add_explicit(&folio->_pincount, refs,
						    memory_order_relaxed);
	else
		*first = (unsigned int)old < GUP_PIN_COUNTING_BIAS;
	folio_note_pin(folio, flags & FOLL_LONGTERM, !*first);
	/* pairs with folio_try_share_anon_rmap_*(): unmap-then-check vs pin-then-check */
	smp_mb__after_atomic();
	return folio;
}

struct folio *try_grab_folio_fast(struct page *page, int refs, unsigned int flags)
{
	bool first;

	return __try_grab_folio_fast(page, refs, flags, &first);
}

/*
 * Give back what __try_grab_folio_fast() took when a re-check fails. Linux
 * counts a fast pin in nr_foll_pin_acquired as soon as it is taken and its
 * release in nr_foll_pin_released, so a pin dropped here shows in both (seen
 * on the live 6.18 kernel: a refused io_uring registration of a shared ext4
 * page moves each by one). The successful pins are counted once, in bulk.
 */
static void gup_fast_undo(struct folio *folio, int refs, unsigned int flags)
{
	int pins = __gup_put_folio(folio, refs, flags);

	if (pins) {
		mod_node_page_state(NR_FOLL_PIN_ACQUIRED, pins);
		mod_node_page_state(NR_FOLL_PIN_RELEASED, pins);
	}
}

/*
 * May GUP-fast hand out this folio for these flags? It cannot see the VMA,
 * so it looks at the folio: writable long-term pins of file pages that need
 * dirty tracking must be refused, and only the slow path can tell, so
 * everything but anonymous (and shmem-like) folios falls back.
 */
static __always_inline bool gup_fast_folio_allowed(struct folio *folio, unsigned int flags)
{
	bool reject_file = (flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) ==
			   (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE);
	unsigned long mapping;

	/* secret memory is order 0: a large folio can only be a file's to look at */
	if (!reject_file && folio_test_large(folio))
		return true;
	/* anon first: the common answer, from the one word it needs */
	mapping = (unsigned long)atomic_load_explicit(&folio->mapping, memory_order_acquire);
	if (mapping & PAGE_MAPPING_ANON)
		return true;
	/* hugetlb needs no dirty tracking, and is never secret */
	if (folio_test_hugetlb(folio))
		return true;
	if (!mapping)
		return false;	/* truncated under us: let the slow path decide */
	/*
	 * A file folio: never a secretmem one (Linux 5.14+), and for a
	 * writable long-term pin only shmem's. The address space is freed
	 * after an RCU grace period, and we are inside rcu_read_lock():
	 * reading it is safe even if the folio was truncated meanwhile.
	 */
	if (secretmem_mapping((struct address_space *)mapping))
		return false;
	return !reject_file || shmem_mapping((struct address_space *)mapping);
}

/* How many entries ahead the walk and the unpin loop prefetch struct pages. */
#define GUP_PREFETCH_AHEAD	8

/*
 * Fill @dst with @page, @page + 1, ... @page + @n - 1.
 */
#if defined(__x86_64__) && !defined(PINMM_ASAN) && !defined(PINMM_TSAN)
/* Four entries per 32-byte store, where the CPU has AVX2 (chosen at run time). */
__attribute__((target("avx2"))) __attribute__((noinline))
static void fill_pages_avx2(struct page **dst, struct page *page, int n)
{
	typedef long long v4ll __attribute__((vector_size(32), aligned(8)));
	const long long sz = sizeof(struct page);
	v4ll v = { (long long)page, (long long)(page + 1), (long long)(page + 2),
		   (long long)(page + 3) };
	const v4ll step = { 4 * sz, 4 * sz, 4 * sz, 4 * sz };
	int i = 0;

	for (; i + 4 <= n; i += 4, v += step)
		*(v4ll *)(dst + i) = v;
	for (; i < n; i++)
		dst[i] = page + i;
}
#endif

static inline void fill_pages(struct page **dst, struct page *page, int n)
{
	int i = 0;

#if defined(__x86_64__) && !defined(PINMM_ASAN) && !defined(PINMM_TSAN)
	if (n >= 16 && __builtin_cpu_supports("avx2")) {
		fill_pages_avx2(dst, page, n);
		return;
	}
#endif

#if defined(__SSE2__) && !defined(PINMM_ASAN) && !defined(PINMM_TSAN)
	typedef long long v2ll __attribute__((vector_size(16)));
	const long long sz = sizeof(struct page);

	/*
	 * A large folio fills its entries four (AVX2, above) or two at a
	 * time. Plain stores, not streaming ones: the caller's array is read
	 * back soon (by unpin), and on this class of machine streaming 4 KiB
	 * costs 3-6x as much as writing it into the caches (bench/fill.c).
	 * Not in sanitizer builds: ASan must see every store to the caller's
	 * array to catch one that is too short.
	 */
	if (n >= 16) {
		v2ll v, step = { 2 * sz, 2 * sz };

		if ((unsigned long)dst & 15) {
			dst[0] = page;
			i = 1;
		}
		v = (v2ll){ (long long)(page + i), (long long)(page + i + 1) };
		for (; i + 2 <= n; i += 2, v += step)
			*(v2ll *)(dst + i) = v;
	}
#endif
	for (; i < n; i++)
		dst[i] = page + i;
}

/* What one lockless walk has taken so far. */
struct gup_fast_ctx {
	struct page **pages;
	int nr;			/* entries filled in pages[] */
	int nr_zero;		/* of which the shared zero page: pinned without counting */
	bool owner;		/* record pin owners (read once per walk) */
	uint32_t owner_ev;	/* the pin call's owner event, 0 if none */
	long owner_pending;	/* pins recorded by the walk, added to the call at its end */
};

/*
 * The walk's owner record of a kept pin (@pfn: the folio's): a folio's first
 * pin stores the call's event id in its owner word and counts locally (no
 * shared line touched per page); anything else takes the general path.
 */
static __always_inline void gup_fast_owner_add(struct gup_fast_ctx *ctx, struct folio *folio,
					       unsigned long pfn, int refs, bool first)
{
	if (likely(first && ctx->owner_ev)) {
		atomic_store_explicit(&pin_owner_map[pfn], ctx->owner_ev,
				      memory_order_release);
		ctx->owner_pending += refs;
		return;
	}
	pin_owner_add(folio, refs, first);
}

/*
 * How many PTEs from @ptep on map consecutive pages of @folio with the same
 * bits as @pte, so one atomic grabs them all (Linux's folio_pte_batch idea).
 * Per-page state (PageAnonExclusive) is still checked page by page.
 */
static int gup_fast_pte_batch(pte_t *ptep, pte_t pte, struct folio *folio, struct page *page,
			      unsigned long addr, unsigned long end)
{
	unsigned long left_in_folio = folio_nr_pages(folio) - (unsigned long)(page - &folio->page);
	unsigned long max = min((end - addr) >> PAGE_SHIFT, left_in_folio);
	unsigned long expect = pte_val(pte);
	int nr = 1;

	while ((unsigned long)nr < max) {
		expect += PAGE_SIZE;
		if (pte_val(ptep_get_lockless(ptep + nr)) != expect)
			break;
		nr++;
	}
	return nr;
}

/*
 * After the grab: do the @batch PTEs from @ptep still map @page on with the
 * bits of @pte, and may a R/O pin keep each page? Same entry bits do not mean
 * same answer: exclusivity is per page (PageAnonExclusive), so a R/O pin asks
 * for each. A batch of one (every small folio) takes no loop.
 */
static __always_inline bool gup_fast_ptes_kept(pte_t *ptep, pte_t pte, struct page *page,
					       int batch, unsigned int flags)
{
	if (batch == 1)
		return pte_val(ptep_get_lockless(ptep)) == pte_val(pte) &&
		       (pte_write(pte) || !gup_must_unshare(NULL, flags, page));
	for (int i = 0; i < batch; i++) {
		if (pte_val(ptep_get_lockless(ptep + i)) !=
		    pte_val(pte) + ((unsigned long)i << PAGE_SHIFT) ||
		    (!pte_write(pte) && gup_must_unshare(NULL, flags, page + i)))
			return false;
	}
	return true;
}

/*
 * The pin of one PTE-mapped small folio, most of a 4 KiB walk:
 * __try_grab_folio_fast() and the re-checks of gup_fast_pte_range() in the
 * same order, with no batch to size and no pincount field to ask about.
 * Return 1: pinned and recorded; -1: back off (the walk ends here); 0: the
 * folio became part of a large one before anything was kept, the general
 * path looks again.
 */
static __always_inline int gup_fast_pin_small(pmd_t pmd, pmd_t *pmdp, pte_t *ptep, pte_t pte,
					      struct folio *folio, unsigned long addr,
					      unsigned int flags, struct gup_fast_ctx *ctx)
{
	/*
	 * The PTE's page, not &folio->page: @folio was read as this page's
	 * before a split of a mapped THP may have made the page a folio of its
	 * own and left @folio small (the re-check below then sees they differ;
	 * the same PTE is back after the split, so the PTE re-check cannot).
	 */
	unsigned long pfn = pte_pfn(pte);
	struct page *page = pfn_to_page(pfn);
	bool first;
	int old;

	pinmm_race_point(PINMM_RACE_GUP_FAST_READ, addr);
	/* the whole bias in one add, then the folio re-checked under it */
	if (unlikely(!folio_ref_try_add_old(folio, (int)GUP_PIN_COUNTING_BIAS, &old)))
		return -1;
	if (unlikely(page_folio(page) != folio || folio_test_large(folio))) {
		folio_put_refs(folio, (int)GUP_PIN_COUNTING_BIAS);
		return 0;
	}
	if (unlikely((flags & FOLL_LONGTERM) && !__folio_is_longterm_pinnable(folio, pfn))) {
		folio_put_refs(folio, (int)GUP_PIN_COUNTING_BIAS);
		return -1;
	}
	first = (unsigned int)old < GUP_PIN_COUNTING_BIAS;
	__folio_note_pin(pfn, flags & FOLL_LONGTERM, !first);
	/* pairs with folio_try_share_anon_rmap_*(): unmap-then-check vs pin-then-check */
	smp_mb__after_atomic();
	pinmm_race_point(PINMM_RACE_GUP_FAST_GRABBED, addr);
	if (unlikely(pmd_val(pmd) != pmd_val(pmdp_get_lockless(pmdp))) ||
	    unlikely(!gup_fast_ptes_kept(ptep, pte, page, 1, flags)) ||
	    !gup_fast_folio_allowed(folio, flags)) {
		gup_fast_undo(folio, 1, flags);
		return -1;
	}
	if (!folio_test_referenced(folio))
		folio_set_referenced(folio);
	if (ctx->owner)
		gup_fast_owner_add(ctx, folio, pfn, 1, first);
	ctx->pages[ctx->nr++] = page;
	return 1;
}

static __always_inline bool gup_fast_pte_range(pmd_t pmd, pmd_t *pmdp, unsigned long addr,
					       unsigned long end, unsigned int flags,
					       struct gup_fast_ctx *ctx)
{
	pte_t *ptep = pte_offset_lockless(pmd, addr);
	bool write = flags & FOLL_WRITE;

	while (addr != end) {
		pte_t pte = ptep_get_lockless(ptep);
		struct folio *folio;
		struct page *page;
		bool first = false;
		int batch = 1;

		if (!pte_access_permitted(pte, write) || pte_special(pte))
			return false;
		page = pfn_to_page(pte_pfn(pte));
		/*
		 * The struct page of each small folio is a cache miss: start the
		 * next few now (same table page, so the entries are mapped). A
		 * hint only: whatever the entry holds, a prefetch cannot fault,
		 * so the address is plain arithmetic, with no test of the entry.
		 */
		if (addr + GUP_PREFETCH_AHEAD * PAGE_SIZE < end)
			__builtin_prefetch((void *)((uintptr_t)pinmm_mem_map + sizeof(struct page) *
				pte_pfn(ptep_get_lockless(ptep + GUP_PREFETCH_AHEAD))), 1);
		/* the folio as it looks now; try_grab re-checks it under a reference */
		folio = page_folio(page);
		if ((flags & FOLL_PIN) && !folio_test_large(folio) && !is_zero_page(page)) {
			int r = gup_fast_pin_small(pmd, pmdp, ptep, pte, folio, addr, flags, ctx);

			if (r < 0)
				return false;
			if (r > 0) {
				ptep++;
				addr += PAGE_SIZE;
				continue;
			}
			folio = page_folio(page);
		}
		if (folio_test_large(folio))
			batch = gup_fast_pte_batch(ptep, pte, folio, page, addr, end);
		pinmm_race_point(PINMM_RACE_GUP_FAST_READ, addr);
		folio = __try_grab_folio_fast(page, batch, flags, &first);
		if (!folio)
			return false;
		/* held now, so it cannot be split: is the batch still inside it? */
		if (unlikely(batch > 1 && page_folio(page + batch - 1) != folio)) {
			gup_fast_undo(folio, batch, flags);
			return false;
		}
		pinmm_race_point(PINMM_RACE_GUP_FAST_GRABBED, addr);
		/* re-check: the PMD (table freed?) and every PTE we grabbed for */
		if (unlikely(pmd_val(pmd) != pmd_val(pmdp_get_lockless(pmdp)))) {
			gup_fast_undo(folio, batch, flags);
			return false;
		}
		if (unlikely(!gup_fast_ptes_kept(ptep, pte, page, batch, flags)) ||
		    !gup_fast_folio_allowed(folio, flags)) {
			gup_fast_undo(folio, batch, flags);
			return false;
		}
		if (!folio_test_referenced(folio))
			folio_set_referenced(folio);
		/* kept: whose it is (after every back-off, which owes no record) */
		if (ctx->owner && (flags & FOLL_PIN) && !is_zero_page(page))
			gup_fast_owner_add(ctx, folio, folio_pfn(folio), batch, first);
		if (batch == 1) {
			ctx->pages[ctx->nr] = page;
		} else {
			for (int i = 0; i < batch; i++)
				ctx->pages[ctx->nr + i] = page + i;
		}
		ctx->nr += batch;
		ctx->nr_zero += is_zero_page(page);
		ptep += batch;
		addr += (unsigned long)batch << PAGE_SHIFT;
	}
	return true;
}

/*
 * The end of a leaf's grab, PMD or PUD: @changed is the entry's re-read,
 * made after the grab. Give the references back if it changed or the folio
 * may not be taken here; else record the pages.
 */
static __always_inline bool gup_fast_leaf_finish(struct gup_fast_ctx *ctx, struct folio *folio,
						 struct page *page, int refs, unsigned int flags,
						 bool first, bool changed, bool writable)
{
	if (unlikely(changed) || !gup_fast_folio_allowed(folio, flags) ||
	    (!writable && gup_must_unshare(NULL, flags, &folio->page))) {
		gup_fast_undo(folio, refs, flags);
		return false;
	}
	if (ctx->owner && (flags & FOLL_PIN))
		gup_fast_owner_add(ctx, folio, folio_pfn(folio), refs, first);
	fill_pages(ctx->pages + ctx->nr, page, refs);
	ctx->nr += refs;
	if (!folio_test_referenced(folio))
		folio_set_referenced(folio);
	return true;
}

static __always_inline bool gup_fast_pmd_leaf(pmd_t orig, pmd_t *pmdp, unsigned long addr,
					      unsigned long end, unsigned int flags,
					      struct gup_fast_ctx *ctx)
{
	struct page *page;
	struct folio *folio;
	bool first = false;
	int refs;

	if (!pmd_access_permitted(orig, flags & FOLL_WRITE) || pmd_special(orig))
		return false;
	page = pfn_to_page(pmd_pfn(orig)) + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
	refs = (int)((end - addr) >> PAGE_SHIFT);
	pinmm_race_point(PINMM_RACE_GUP_FAST_READ, addr);
	/* one atomic for the whole sub-range: the historical 5.12 speed-up */
	folio = __try_grab_folio_fast(page, refs, flags, &first);
	if (!folio)
		return false;
	pinmm_race_point(PINMM_RACE_GUP_FAST_GRABBED, addr);
	return gup_fast_leaf_finish(ctx, folio, page, refs, flags, first,
				    pmd_val(orig) != pmd_val(pmdp_get_lockless(pmdp)), pmd_write(orig));
}

/* A PUD leaf (a gigantic hugetlb folio): the PMD leaf's steps, one level up. */
static bool gup_fast_pud_leaf(pud_t orig, pud_t *pudp, unsigned long addr, unsigned long end,
			      unsigned int flags, struct gup_fast_ctx *ctx)
{
	struct page *page;
	struct folio *folio;
	bool first = false;
	int refs;

	if (!pud_access_permitted(orig, flags & FOLL_WRITE) || pud_special(orig))
		return false;
	page = pfn_to_page(pud_pfn(orig)) + ((addr & ~PUD_MASK) >> PAGE_SHIFT);
	refs = (int)((end - addr) >> PAGE_SHIFT);
	pinmm_race_point(PINMM_RACE_GUP_FAST_READ, addr);
	folio = __try_grab_folio_fast(page, refs, flags, &first);
	if (!folio)
		return false;
	pinmm_race_point(PINMM_RACE_GUP_FAST_GRABBED, addr);
	return gup_fast_leaf_finish(ctx, folio, page, refs, flags, first,
				    pud_val(orig) != pud_val(pudp_get(pudp)), pud_write(orig));
}

static unsigned long level_end(unsigned long addr, unsigned long end, unsigned long size)
{
	unsigned long boundary = (addr + size) & ~(size - 1);

	return boundary - 1 < end - 1 ? boundary : end;
}

static __always_inline bool gup_fast_pmd_range(pud_t pud, unsigned long addr,
					       unsigned long end, unsigned int flags,
					       struct gup_fast_ctx *ctx)
{
	pmd_t *pmdp = pmd_offset_lockless(pud, addr);

	do {
		pmd_t pmd = pmdp_get_lockless(pmdp);
		unsigned long next = level_end(addr, end, PMD_SIZE);

		if (!pmd_present(pmd))
			return false;
		if (pmd_leaf(pmd)) {
			if (!gup_fast_pmd_leaf(pmd, pmdp, addr, next, flags, ctx))
				return false;
		} else if (!gup_fast_pte_range(pmd, pmdp, addr, next, flags, ctx)) {
			return false;
		}
		addr = next;
		pmdp++;
	} while (addr != end);
	return true;
}

static __always_inline void gup_fast_pgd_range(unsigned long addr, unsigned long end,
					       unsigned int flags, struct gup_fast_ctx *ctx)
{
	pgd_t *pgdp = pgd_offset(current->mm, addr);

	do {
		pgd_t pgd = pgdp_get(pgdp);
		unsigned long pgd_next = level_end(addr, end, 1UL << PGDIR_SHIFT);
		pud_t *pudp;

		if (!pgd_present(pgd))
			return;
		pudp = pud_offset_lockless(pgd, addr);
		do {
			pud_t pud = pudp_get(pudp);
			unsigned long next = level_end(addr, pgd_next, PUD_SIZE);

			if (!pud_present(pud))
				return;
			if (pud_leaf(pud)) {
				if (!gup_fast_pud_leaf(pud, pudp, addr, next, flags, ctx))
					return;
			} else if (!gup_fast_pmd_range(pud, addr, next, flags, ctx)) {
				return;
			}
			addr = next;
			pudp++;
		} while (addr != pgd_next);
		pgdp++;
	} while (addr != end);
}

/* Release what a walk took, when fork's write-protect raced with it. */
static void gup_fast_unpin_user_pages(struct page **pages, int nr, unsigned int flags)
{
	struct pin_release r;

	pin_release_init(&r);
	for (int i = 0; i < nr;) {
		struct folio *folio = page_folio(pages[i]);
		int run = 1;

		while (i + run < nr && page_folio(pages[i + run]) == folio)
			run++;
		/* the walk recorded owners for what it kept: forget them too */
		pin_owner_release(&r, folio, run);
		__gup_put_folio(folio, run, flags);
		i += run;
	}
	pin_release_done(&r);
}

/* The only flags the walk below reads (pte_access_permitted, grab, unshare, allowed). */
#define GUP_FAST_WALK_FLAGS	(FOLL_PIN | FOLL_GET | FOLL_WRITE | FOLL_LONGTERM)

/* The lockless walk over [start, end). Return: pages taken from start. */
static int gup_fast(unsigned long start, unsigned long end, unsigned int flags,
		    struct page **pages)
{
	struct gup_fast_ctx ctx = { .pages = pages, .owner = pin_owner_is_on() };
	struct pin_call *call = pin_call_current;

	if (ctx.owner && call)
		ctx.owner_ev = call->ev;
	struct mm_struct *mm = current->mm;
	unsigned int seq = 0;

	/* fork is write-protecting: a pin now could race the COW setup */
	if ((flags & FOLL_PIN) && !raw_seqcount_try_begin(&mm->write_protect_seq, &seq))
		return 0;
	rcu_read_lock();
	/*
	 * The walk looks at four flag bits only: give the common pin calls a
	 * copy compiled for their constant flags (no flag tests per page).
	 */
	switch (flags & GUP_FAST_WALK_FLAGS) {
	case FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM:	/* io_uring, RDMA, VFIO */
		gup_fast_pgd_range(start, end, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, &ctx);
		break;
	case FOLL_PIN | FOLL_WRITE:			/* O_DIRECT read, short DMA */
		gup_fast_pgd_range(start, end, FOLL_PIN | FOLL_WRITE, &ctx);
		break;
	default:
		gup_fast_pgd_range(start, end, flags & GUP_FAST_WALK_FLAGS, &ctx);
		break;
	}
	rcu_read_unlock();
	/* the walk's owner counts join the call's (a back-off below releases them) */
	if (ctx.owner_pending)
		call->pending += ctx.owner_pending;
	if (flags & FOLL_PIN) {
		pinmm_race_point(PINMM_RACE_GUP_FAST_SEQ_RETRY, start);
		if (read_seqcount_retry(&mm->write_protect_seq, seq)) {
			gup_fast_unpin_user_pages(pages, ctx.nr, flags);
			/* taken and given back: Linux counts both */
			if (ctx.nr > ctx.nr_zero) {
				mod_node_page_state(NR_FOLL_PIN_ACQUIRED, ctx.nr - ctx.nr_zero);
				mod_node_page_state(NR_FOLL_PIN_RELEASED, ctx.nr - ctx.nr_zero);
			}
			return 0;
		}
		/* counted only once kept: one atomic per call, not per page */
		if (ctx.nr > ctx.nr_zero)
			mod_node_page_state(NR_FOLL_PIN_ACQUIRED, ctx.nr - ctx.nr_zero);
		sanity_check_pinned_pages(pages, (unsigned long)ctx.nr);
	}
	return ctx.nr;
}

/**
 * gup_fast_fallback - lockless first, then the slow path for what is left.
 *
 * Return: pages taken from @start (the fast part's count if the slow part
 * then failed), or -EINVAL (flags the fast API does not take), -EOVERFLOW
 * (range wraps), -EFAULT (past the top of user space), or the slow path's
 * error when nothing was taken.
 */
int gup_fast_fallback(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		      struct page **pages)
{
	unsigned long len, end;
	int nr_pinned, locked = 0;
	long ret;

	if (WARN_ON_ONCE(gup_flags & ~(FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN |
				       FOLL_GET | FOLL_FAST_ONLY | FOLL_NOFAULT |
				       FOLL_PCI_P2PDMA | FOLL_HONOR_NUMA_FAULT)))
		return -EINVAL;
	if (gup_flags & FOLL_PIN)
		mm_set_has_pinned_flag(current->mm);

	start &= PAGE_MASK;
	if (__builtin_mul_overflow(nr_pages, PAGE_SIZE, &len) ||
	    __builtin_add_overflow(start, len, &end))
		return -EOVERFLOW;
	if (end > TASK_SIZE_MAX)
		return -EFAULT;
	if (!nr_pages)
		return 0;

	nr_pinned = gup_fast(start, end, gup_flags, pages);
	if ((unsigned long)nr_pinned == nr_pages || (gup_flags & FOLL_FAST_ONLY))
		return nr_pinned;

	start += (unsigned long)nr_pinned << PAGE_SHIFT;
	pages += nr_pinned;
	ret = __gup_longterm_locked(current->mm, start, nr_pages - (unsigned long)nr_pinned, pages,
				    &locked, gup_flags | FOLL_TOUCH | FOLL_UNLOCKABLE);
	if (ret < 0)
		return nr_pinned ? nr_pinned : (int)ret;
	return (int)ret + nr_pinned;
}
