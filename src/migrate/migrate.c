// SPDX-License-Identifier: MIT
/*
 * Page migration (Linux: mm/migrate.c, and try_to_migrate() of mm/rmap.c).
 *
 * Moving a folio while it stays mapped, in the order Linux does it:
 *
 *   1. lock the source (trylock in MIGRATE_ASYNC), wait for writeback in
 *      MIGRATE_SYNC, allocate the destination;
 *   2. unmap the source from every mm through rmap: each PTE is cleared
 *      inside an MMU_NOTIFY_MIGRATE invalidation and replaced by a migration
 *      entry that remembers the pfn, whether the PTE was writable, whether
 *      the page was anon-exclusive, and its dirty/young/soft-dirty bits. An
 *      anon-exclusive page is first "shared" (folio_try_share_anon_rmap_pte),
 *      which fails if the folio may be pinned: then the PTE is put back and
 *      the folio is not migrated this time;
 *   3. freeze the refcount at exactly the references we can explain (our
 *      isolation reference; anon folios have no cache references). A GET or
 *      a pin taken meanwhile makes the freeze fail: the migration entries are
 *      turned back into PTEs of the source and the attempt fails (-EAGAIN:
 *      retried by the next pass, up to NR_MAX_MIGRATE_PAGES_RETRY);
 *   4. copy the data and the flags that travel, give the destination the
 *      source's mapping and index, replace every migration entry by a PTE of
 *      the destination with the old permissions (anon-exclusive again where
 *      the entry says so), unlock (which wakes the faults waiting on the
 *      migration entries) and free the source.
 *
 * Large folios. An anon THP mapped by a PMD leaf is unmapped into one PMD
 * migration entry (set_pmd_migration_entry) and comes back as one PMD leaf
 * of the destination (remove_migration_pmd), as Linux does with
 * CONFIG_ARCH_ENABLE_THP_MIGRATION: no split, no 512 PTEs each way. Where a
 * VMA maps it by PTEs, each PTE gets its own entry as for a small folio; a
 * PMD migration entry split meanwhile (mprotect or munmap of part of it)
 * becomes 512 PTE entries and is restored as such. A file THP is split at
 * the PMD first, as before. When no destination of the
 * same order exists, the folio is split at the destination instead: each of
 * its pages moves into its own order-0 folio, and the source is freed whole.
 * That is what Linux's split-then-migrate reaches (thp_migration_split),
 * without handing an unmapped, half-split folio around; its PMDs are split
 * first (a PMD entry cannot point at 512 separate folios).
 *
 * Page-cache folios move with their cache: the references the cache and
 * the file system's private data (a block map) hold are expected, the rmap
 * walk goes through the file's i_mmap, and the mapping's ->migrate_folio
 * puts the destination into the source's slots (lookups that meet the
 * frozen source retry). A pinned one fails the freeze like an anon one.
 *
 * Synchronisation:
 *   migrate vs fault     the fault sees the migration entry, takes a reference
 *                        on the source (fails while frozen: it retries) and
 *                        waits for the folio lock, then retries the access
 *   migrate vs zap/fork  page-table locks; zap drops migration entries, fork
 *                        copies them (writable ones become readable in both)
 *   migrate vs GUP-fast  GUP-fast cannot follow a migration entry; a pin taken
 *                        before the PTE was cleared is seen by
 *                        folio_try_share_anon_rmap_pte() or by the freeze
 *   migrate vs migrate   PG_lru isolation: one migrator per folio
 */
#include "internal.h"

#include <errno.h>
#include <pinmm/ksm.h>
#include <pinmm/fault-inject.h>
#include <pinmm/race.h>
#include <pinmm/slab.h>
#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/rmap.h>
#include <pinmm/swap.h>
#include <pinmm/sched.h>
#include <stdlib.h>
#include <string.h>
#ifdef __x86_64__
#include <immintrin.h>
#endif

#define NR_MAX_MIGRATE_PAGES_RETRY	10
#define MIGRATEPAGE_SUCCESS		0

static struct page *dst_page(const struct migrate_dst *d, unsigned long i)
{
	return d->split ? &d->pieces[i]->page : folio_page(d->whole, i);
}

static bool folio_is_thp(const struct folio *folio)
{
	return folio_test_large(folio) && folio_order(folio) == HPAGE_PMD_ORDER;
}

/* ---- unmap: PTEs -> migration entries ----------------------------------------------- */

/*
 * set_pmd_migration_entry(): the PMD leaf at @pvmw (locked) of the anon THP
 * @folio becomes one migration entry. -EBUSY, with the leaf put back as it
 * was, if the folio may be pinned. The entry is stored in place of the leaf
 * (never an empty PMD in between: lockless walkers such as zap's would take
 * an empty PMD for nothing to do), and GUP-fast, which re-reads the PMD after
 * its grab, either sees it or its pin is seen by the share below.
 */
static int set_pmd_migration_entry(struct page_vma_mapped_walk *pvmw, struct folio *folio)
{
	struct vm_area_struct *vma = pvmw->vma;
	pmd_t pmdval = pmdp_get(pvmw->pmd);
	struct page *page = pmd_page(pmdval);
	bool anon_exclusive = PageAnonExclusive(page);
	enum swp_type type;

	VM_BUG_ON_FOLIO(page != folio_page(folio, 0), folio);
	if (pmd_write(pmdval))
		type = SWP_MIGRATION_WRITE;
	else if (anon_exclusive)
		type = SWP_MIGRATION_READ_EXCLUSIVE;
	else
		type = SWP_MIGRATION_READ;
	/* the same bits as a PTE entry: young, dirty, soft-dirty travel too */
	set_pmd(pvmw->pmd, __pmd(pte_val(make_migration_pte(type, folio_pfn(folio),
							    __pte(pmd_val(pmdval))))));
	if (anon_exclusive && folio_try_share_anon_rmap_pmd(folio, page)) {
		set_pmd(pvmw->pmd, pmdval);
		return -EBUSY;
	}
	if (pmd_dirty(pmdval))
		folio_mark_dirty(folio);
	/* the entry keeps the rss charge and the deposited table; the mapping goes */
	folio_remove_rmap_pmd(folio, page, vma);
	folio_put(folio);	/* never the last: the isolation reference stays */
	return 0;
}

/* try_to_migrate_one()'s @arg: what becomes of a PMD leaf (NULL: split it first) */
#define TTM_PMD_ENTRIES		((void *)1)	/* one PMD migration entry */
#define TTM_SPLIT_FREEZE	((void *)2)	/* PTE migration entries (a folio split) */

/*
 * try_to_migrate_one(): one VMA. False (stop the walk) if a page may be
 * pinned. @arg non-NULL: PMD leaves of an anon THP become PMD migration
 * entries; else they are split first (a file THP, or a destination split
 * into pages).
 */
static bool try_to_migrate_one(struct folio *folio, struct vm_area_struct *vma,
			       unsigned long address, void *arg)
{
	struct page_vma_mapped_walk pvmw = PVMW_INIT(folio, vma, address);
	struct mmu_notifier_range range;
	unsigned long end = min(address + folio_size(folio), vma->vm_end);
	bool pmd_entries = arg == TTM_PMD_ENTRIES;
	bool ret = true;

	if (folio_test_large(folio) && !pmd_entries)
		for (unsigned long a = address & PMD_MASK; a < end; a += PMD_SIZE) {
			/* a folio split: PMD leaves become PTE migration entries at once */
			if (arg == TTM_SPLIT_FREEZE)
				split_huge_pmd_address_freeze(vma, max(a, vma->vm_start), folio);
			else
				split_huge_pmd_address(vma, max(a, vma->vm_start));
		}

	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0, vma->vm_mm,
				      address & PAGE_MASK, end, NULL);
	mmu_notifier_invalidate_range_start(&range);
	while (page_vma_mapped_walk(&pvmw)) {
		struct page *subpage;
		bool anon_exclusive;
		enum swp_type type;
		pte_t pteval;

		if (!pvmw.pte) {
			/*
			 * A PMD leaf (or a PMD entry already: nothing to do).
			 * Without PMD entries it came back after the split (a
			 * racing THP fault): try again later.
			 */
			if (is_swap_pmd(pmdp_get(pvmw.pmd)))
				continue;
			if (pmd_entries && !set_pmd_migration_entry(&pvmw, folio))
				continue;
			page_vma_mapped_walk_done(&pvmw);
			ret = false;
			break;
		}
		pteval = ptep_get(pvmw.pte);
		if (is_device_private_pte(pteval) || is_device_exclusive_pte(pteval)) {
			/* migrate_device.c: a device-private or device-exclusive entry */
			if (!try_to_migrate_device_private(folio, vma, pvmw.pte)) {
				/* an exclusive page that may be pinned: it stays */
				page_vma_mapped_walk_done(&pvmw);
				ret = false;
				break;
			}
			continue;
		}
		if (!pte_present(pteval))
			continue;	/* already a migration entry */
		subpage = pte_page(pteval);
		anon_exclusive = folio_test_anon(folio) && PageAnonExclusive(subpage);
		pteval = ptep_get_and_clear(pvmw.pte);
		if (pte_dirty(pteval))
			folio_mark_dirty(folio);
		/*
		 * The PTE is clear, so GUP-fast can no longer find the page; if it
		 * pinned before, share says so and the mapping goes back as it was.
		 */
		if (anon_exclusive && folio_try_share_anon_rmap_pte(folio, subpage)) {
			set_pte(pvmw.pte, pteval);
			page_vma_mapped_walk_done(&pvmw);
			ret = false;
			break;
		}
		if (pte_write(pteval))
			type = SWP_MIGRATION_WRITE;
		else if (anon_exclusive)
			type = SWP_MIGRATION_READ_EXCLUSIVE;
		else
			type = SWP_MIGRATION_READ;
		set_pte(pvmw.pte, make_migration_pte(type, page_to_pfn(subpage), pteval));
		/* the entry keeps the rss charge; the mapping and its reference go */
		folio_remove_rmap_pte(folio, subpage, vma);
		folio_put(folio);	/* never the last: the isolation reference stays */
	}
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}

void try_to_migrate(struct folio *folio, struct anon_vma *anon_vma, bool pmd_entries)
{
	struct rmap_walk_control rwc = {
		.rmap_one = try_to_migrate_one,
		.arg = pmd_entries ? TTM_PMD_ENTRIES : NULL,
		.anon_vma = anon_vma,
	};

	rmap_walk(folio, &rwc);
}

void try_to_migrate_split(struct folio *folio, struct anon_vma *anon_vma)
{
	struct rmap_walk_control rwc = {
		.rmap_one = try_to_migrate_one,
		.arg = TTM_SPLIT_FREEZE,
		.anon_vma = anon_vma,
	};

	rmap_walk(folio, &rwc);
}

/* ---- remap: migration entries -> PTEs ------------------------------------------------ */

/* The protection a restored entry starts from (mprotect stores it without our locks). */
static pgprot_t migration_prot(struct vm_area_struct *vma)
{
	pgprot_t prot;

	/*
	 * READ_ONCE (vma.c). pgprot_entry(): a PROT_NONE VMA still gets a
	 * present (non-user) entry, never one that reads as a swap entry.
	 */
	prot.pgprot = __atomic_load_n(&vma->vm_page_prot.pgprot, __ATOMIC_RELAXED);
	return pgprot_entry(prot);
}

/*
 * remove_migration_pmd(): the PMD migration entry at @pvmw (locked) becomes
 * a PMD leaf of @new (the destination, or the source put back), with the
 * permission, anon-exclusivity and young/dirty/soft-dirty/uffd-wp bits it
 * recorded.
 */
static void remove_migration_pmd(struct page_vma_mapped_walk *pvmw, struct folio *new)
{
	struct vm_area_struct *vma = pvmw->vma;
	pmd_t old = pmdp_get(pvmw->pmd);
	swp_entry_t entry = pmd_to_swp_entry(old);
	pmd_t pmd = pmd_mkhuge(pfn_pmd(folio_pfn(new), migration_prot(vma)));

	pmd = (pmd_val(old) & _PAGE_SWP_YOUNG) ? pmd_mkyoung(pmd) : pmd_mkold(pmd);
	if ((pmd_val(old) & _PAGE_SWP_DIRTY) && folio_test_dirty(new))
		pmd = pmd_mkdirty(pmd);
	if (pmd_val(old) & _PAGE_SWP_SOFT_DIRTY)
		pmd = __pmd(pmd_val(pmd) | _PAGE_SOFT_DIRTY);
	pmd = is_writable_migration_entry(entry) ? pmd_mkwrite(pmd) : pmd_wrprotect(pmd);
	if (pmd_val(old) & _PAGE_SWP_UFFD_WP)
		pmd = pmd_mkuffd_wp(pmd);	/* still protected, still read-only */
	folio_get(new);
	folio_add_anon_rmap_pmd(new, folio_page(new, 0), vma, pvmw->address,
				is_readable_migration_entry(entry) ? RMAP_NONE : RMAP_EXCLUSIVE);
	set_pmd(pvmw->pmd, pmd);
}

/* remove_migration_pte(): one VMA; @folio is the (locked) source being walked. */
static bool remove_migration_pte(struct folio *folio, struct vm_area_struct *vma,
				 unsigned long address, void *arg)
{
	const struct migrate_dst *d = arg;
	struct page_vma_mapped_walk pvmw = PVMW_INIT(folio, vma, address);
	unsigned long src_pfn = folio_pfn(folio);

	while (page_vma_mapped_walk(&pvmw)) {
		pte_t old, pte;
		swp_entry_t entry;
		struct folio *new;
		struct page *page;
		unsigned long idx;
		int rmap_flags = RMAP_NONE;

		if (!pvmw.pte) {
			pmd_t pmdval = pmdp_get(pvmw.pmd);

			/* a PMD leaf of the source (its walk back stopped before it): as it is */
			if (is_swap_pmd(pmdval) && is_migration_entry(pmd_to_swp_entry(pmdval)))
				remove_migration_pmd(&pvmw, d ? d->whole : folio);
			continue;
		}
		old = ptep_get(pvmw.pte);
		if (!is_migration_pte(old))
			continue;
		entry = pte_to_swp_entry(old);
		idx = swp_offset(entry) - src_pfn;
		page = d ? dst_page(d, idx) : folio_page(folio, idx);
		new = page_folio(page);

		pte = mk_pte(page, migration_prot(vma));
		if (!(pte_val(old) & _PAGE_SWP_YOUNG))
			pte = pte_mkold(pte);
		else
			pte = pte_mkyoung(pte);
		if ((pte_val(old) & _PAGE_SWP_DIRTY) && folio_test_dirty(new))
			pte = pte_mkdirty(pte);
		if (pte_val(old) & _PAGE_SWP_SOFT_DIRTY)
			pte = __pte(pte_val(pte) | _PAGE_SOFT_DIRTY);
		if (is_writable_migration_entry(entry))
			pte = pte_mkwrite(pte);
		else
			pte = pte_wrprotect(pte);	/* the old permission, not the VMA's */
		if (pte_swp_uffd_wp(old))
			pte = pte_mkuffd_wp(pte);	/* still protected, still read-only */

		/* device-private memory is never mapped present (migrate_device.c) */
		if (folio_is_device_private(new))
			pte = device_private_pte(page, pte);
		folio_get(new);
		if (folio_test_anon(new)) {
			if (!is_readable_migration_entry(entry))
				rmap_flags |= RMAP_EXCLUSIVE;
			folio_add_anon_rmap_pte(new, page, vma, pvmw.address, rmap_flags);
		} else {
			folio_add_file_rmap_pte(new, page, vma);
		}
		set_pte(pvmw.pte, pte);
	}
	return true;
}

/*
 * Replace the migration entries that point at @src by PTEs of @d's
 * destinations, or of @src itself when @d is NULL (the migration failed).
 */
void remove_migration_ptes(struct folio *src, const struct migrate_dst *d,
			   struct anon_vma *anon_vma)
{
	struct rmap_walk_control rwc = {
		.arg = (void *)d,
		.rmap_one = remove_migration_pte,
		.anon_vma = anon_vma,
	};

	if (!anon_vma && folio_test_anon(src) && !folio_test_ksm(src))
		return;		/* never mapped anon: no entries to restore */
	rmap_walk(src, &rwc);
}

/* ---- the move itself ----------------------------------------------------------------- */

/*
 * Flags that describe the contents travel with them (Linux folio_migrate_flags):
 * referenced, uptodate, workingset, checked, swapbacked and dirty are copied;
 * active, mlocked and (unless active) unevictable move, leaving the source.
 * Both folios are ours alone (the source frozen, the destination unknown to
 * anyone): one atomic read-and-clear of the source and one atomic or into
 * the destination (release: uptodate publishes the copied data) instead of
 * a locked operation per flag.
 */
void folio_migrate_flags(struct folio *dst, struct folio *src)
{
	const unsigned long copy = BIT(PG_referenced) | BIT(PG_uptodate) | BIT(PG_workingset) |
				   BIT(PG_checked) | BIT(PG_swapbacked) | BIT(PG_dirty);
	unsigned long move = BIT(PG_active) | BIT(PG_mlocked) | BIT(PG_unevictable);
	unsigned long old;

	if (folio_test_active(src))
		move &= ~BIT(PG_unevictable);	/* an active folio was not unevictable */
	old = atomic_fetch_and_explicit(&src->flags, ~move, memory_order_relaxed);
	if (old & (copy | move))
		atomic_fetch_or_explicit(&dst->flags, old & (copy | move), memory_order_release);
}

#ifdef __x86_64__
/*
 * 32-byte non-temporal stores (chosen at run time: the build is baseline
 * x86-64). No fence: the caller's sfence orders them before what publishes
 * the copy.
 */
__attribute__((target("avx2")))
static void copy_nt_avx2_nofence(void *dst, const void *src, size_t len)
{
	__m256i *d = dst;
	const __m256i *s = src;

	for (size_t i = 0; i < len / sizeof(*d); i += 4) {
		__m256i a = _mm256_load_si256(s + i), b = _mm256_load_si256(s + i + 1);
		__m256i c = _mm256_load_si256(s + i + 2), e = _mm256_load_si256(s + i + 3);

		_mm256_stream_si256(d + i, a);
		_mm256_stream_si256(d + i + 1, b);
		_mm256_stream_si256(d + i + 2, c);
		_mm256_stream_si256(d + i + 3, e);
	}
}

static void copy_nt_avx2(void *dst, const void *src, size_t len)
{
	copy_nt_avx2_nofence(dst, src, len);
	_mm_sfence();
}
#endif

/*
 * Copy a large folio's bytes with non-temporal stores where the CPU has
 * AVX2 (else memcpy). Nothing reads the destination soon (the migrating CPU
 * never does; the mappings come back after), so writing around the caches
 * saves reading each destination line in first and evicting 2 MiB of what
 * the caches hold: a THP copies in about 0.6-0.7x the time of memcpy()
 * (bench/migrate). Linux copies with copy_page() (rep movs); an order-0
 * folio copied alone uses memcpy() (one 4 KiB of streaming stores measured
 * no faster), a batch's run of them streams (migrate_folio_copy_early). Both addresses
 * are page aligned, @len a multiple of 128. The sfence orders the stores
 * before the unfreeze and the new mappings that publish them.
 */
static void copy_large_folio_data(void *dst, const void *src, size_t len)
{
#ifdef __x86_64__
	if (__builtin_cpu_supports("avx2")) {
		copy_nt_avx2(dst, src, len);
		return;
	}
#endif
	memcpy(dst, src, len);
}

/*
 * Copy contents, flags, mapping and index of @src's pages to @d. Both
 * frozen/locked. @data_copied: the batch copied the bytes already.
 */
static void migrate_contents(const struct migrate_dst *d, bool data_copied)
{
	struct folio *src = d->src;
	struct address_space *mapping = atomic_load_explicit(&src->mapping, memory_order_relaxed);
	unsigned long nr = folio_nr_pages(src);

	if (!d->split) {
		if (data_copied)
			;
		else if (folio_test_large(src))
			copy_large_folio_data(folio_address(d->whole), folio_address(src),
					      folio_size(src));
		else	/* glibc's copy for the CPU (gcc would inline rep movsq for PAGE_SIZE) */
			memcpy(folio_address(d->whole), folio_address(src), folio_size(src));
		d->whole->index = src->index;
		folio_migrate_flags(d->whole, src);
		if (folio_test_anon(src) && folio_test_swapcache(src))
			swap_cache_migrate(d->whole, src);	/* src/mm/swap_state.c */
		atomic_store_explicit(&d->whole->mapping, mapping, memory_order_release);
		folio_migrate_ksm(d->whole, src);	/* src/mm/ksm.c: the node follows */
		return;
	}
	for (unsigned long i = 0; i < nr; i++) {
		struct folio *piece = d->pieces[i];

		memcpy(folio_address(piece), page_address(folio_page(src, i)), PAGE_SIZE);
		piece->index = src->index + i;
		if (folio_test_referenced(src))
			folio_set_referenced(piece);
		if (folio_test_uptodate(src))
			folio_mark_uptodate(piece);
		if (folio_test_swapbacked(src))
			folio_set_swapbacked(piece);
		if (folio_test_dirty(src))
			folio_set_dirty(piece);
		atomic_store_explicit(&piece->mapping, mapping, memory_order_release);
	}
	/* flags the free check refuses: they moved to the pieces' side or end here */
	folio_clear_active(src);
	folio_clear_unevictable(src);
	folio_clear_mlocked(src);
}

/*
 * A partly mapped source (on the deferred-split queue) makes a partly mapped
 * destination: queue it once its mappings are back, as Linux's
 * migrate_folio_move() does. The source leaves the queue when it is freed.
 */
static void migrate_deferred_split(struct folio *src, const struct migrate_dst *d)
{
	if (!d->split && folio_test_partially_mapped(src))
		deferred_split_folio(d->whole, true);
}

static void dst_for_each(const struct migrate_dst *d, void (*fn)(struct folio *))
{
	if (!d->split) {
		fn(d->whole);
		return;
	}
	for (unsigned long i = 0; i < folio_nr_pages(d->src); i++)
		fn(d->pieces[i]);
}

static void dst_lock(struct folio *f)
{
	/* nobody else knows the destination yet */
	if (!folio_trylock(f))
		BUG();
}

/* Give unused destinations back (the allocator's callback, or folio_put()). */
static void put_dsts(struct migrate_dst *d, free_folio_t put_new_folio, unsigned long private)
{
	unsigned long nr = d->split ? folio_nr_pages(d->src) : 1;

	for (unsigned long i = 0; i < nr; i++) {
		struct folio *f = d->split ? (d->pieces ? d->pieces[i] : NULL) : d->whole;

		if (!f)
			continue;
		if (put_new_folio)
			put_new_folio(f, private);
		else
			folio_put(f);
	}
}

/*
 * Allocate the destinations of @src: one folio of its order, or with @split
 * one order-0 folio per page.
 */
static int get_dsts(struct migrate_dst *d, bool split, new_folio_t get_new_folio,
		    unsigned long private)
{
	struct folio *src = d->src;
	unsigned long nr = folio_nr_pages(src);

	d->split = split;
	d->whole = NULL;
	d->pieces = NULL;
	if (!split) {
		d->whole = should_fail(PINMM_FAIL_MIGRATE_TARGET) ? NULL :
			   get_new_folio(src, private);
		return d->whole ? 0 : -ENOMEM;
	}
	d->pieces = kcalloc(nr, sizeof(*d->pieces), GFP_KERNEL);
	if (!d->pieces)
		return -ENOMEM;
	for (unsigned long i = 0; i < nr; i++) {
		/*
		 * What the callback gets describes the piece: a tail page of
		 * the source reads as an order-0 folio of the source's zone.
		 */
		d->pieces[i] = should_fail(PINMM_FAIL_MIGRATE_TARGET) ? NULL :
			       get_new_folio((struct folio *)folio_page(src, 1), private);
		if (!d->pieces[i])
			return -ENOMEM;
	}
	return 0;
}

/* The migration of @src is over, one way or the other: drop the isolation. */
static void migrate_folio_done(struct folio *src)
{
	list_del(&src->lru);
	folio_account_isolated(src, -1);
	folio_put(src);
}

/*
 * Replace @src's mappings by migration entries. An anon folio's anon_vma is
 * referenced first and returned (the caller puts it): it keeps the walk back
 * possible while nothing maps the folio; NULL means it is mapped nowhere (and
 * an isolated, locked anon folio cannot gain a first mapping).
 */
static struct anon_vma *migrate_unmap_src(struct folio *src, bool file, bool split)
{
	struct anon_vma *anon_vma = folio_test_anon(src) ? folio_get_anon_vma(src) : NULL;

	/*
	 * PMD entries for a THP that moves whole into one anon THP; a KSM
	 * folio has no anon_vma of its own: its stable node is walked
	 */
	if (anon_vma || (file && folio_mapped(src)) || folio_test_ksm(src))
		try_to_migrate(src, anon_vma, !file && !split && folio_is_thp(src));
	return anon_vma;
}

/* migrate_folio_unmap(): unmapped, to be moved; migrate_folio_begin(): nothing to move */
#define MIGRATEPAGE_UNMAP		1

/*
 * The start of migrating @src, either way: done already if every user let
 * go while it was isolated (the folio is freed; returns MIGRATEPAGE_UNMAP as
 * "nothing to move"), else lock it — not waiting in MIGRATE_ASYNC (-EAGAIN),
 * nor while @batch_held (-EDEADLK: sleeping on a lock while holding the
 * batch's could deadlock; the caller moves the batch first) — and wait for
 * writeback (MIGRATE_SYNC only, else -EBUSY). Return 0 with @src locked.
 */
static int migrate_folio_begin(struct folio *src, enum migrate_mode mode, bool batch_held)
{
	if (folio_ref_count(src) == 1) {
		folio_clear_active(src);
		folio_clear_unevictable(src);
		migrate_folio_done(src);
		return MIGRATEPAGE_UNMAP;
	}
	if (!folio_trylock(src)) {
		if (mode == MIGRATE_ASYNC)
			return -EAGAIN;
		if (batch_held)
			return -EDEADLK;
		folio_lock(src);
	}
	if (folio_test_writeback(src)) {
		if (mode != MIGRATE_SYNC) {
			folio_unlock(src);
			return -EBUSY;
		}
		folio_wait_writeback(src);
	}
	return 0;
}

/*
 * Migrate one isolated folio in one go (unmap, then move): the path of a
 * large folio split at the destination, which the batch does not take.
 * Return: MIGRATEPAGE_SUCCESS (the folio left @from and is freed), -EAGAIN
 * (transient: locked, extra reference, a page maybe pinned), -ENOMEM (no
 * destination), or another -errno (permanent for this call).
 */
static int migrate_folio_one(struct folio *src, bool split, new_folio_t get_new_folio,
			     free_folio_t put_new_folio, unsigned long private,
			     enum migrate_mode mode)
{
	struct migrate_dst d = { .src = src };
	struct address_space *mapping = NULL;
	struct anon_vma *anon_vma = NULL;
	bool file, cached;
	int expected;
	int rc;

	rc = migrate_folio_begin(src, mode, false);
	if (rc)
		return rc == MIGRATEPAGE_UNMAP ? MIGRATEPAGE_SUCCESS : rc;
	/*
	 * A page-cache folio: the cache and the file system's private data
	 * (a block map) hold references we can explain, and ->migrate_folio
	 * moves both to the destination. Its slots in the cache are one folio
	 * each: it moves whole or not at all.
	 */
	file = !folio_test_anon(src);
	/*
	 * A swap-cache folio moves with its slots, to one destination of its
	 * order: Linux splits such a folio before it migrates the pieces,
	 * which pinmm does not (stable under the folio lock).
	 */
	if (!file && split && folio_test_swapcache(src)) {
		rc = -EBUSY;
		goto out_unlock_src;
	}
	if (file) {
		mapping = folio_mapping(src);
		if (!mapping) {
			rc = -EBUSY;	/* truncated, but still held by someone */
			goto out_unlock_src;
		}
		if (!mapping->a_ops->migrate_folio || split) {
			rc = -EBUSY;
			goto out_unlock_src;
		}
	}
	rc = get_dsts(&d, split, get_new_folio, private);
	if (rc)
		goto out_put_dst;
	dst_for_each(&d, dst_lock);

	anon_vma = migrate_unmap_src(src, file, split);
	if (folio_mapped(src)) {
		rc = -EAGAIN;	/* maybe pinned, or a PMD could not be split */
		goto out_remap;
	}
	/* unmapped now: the cache's references, and our isolation's */
	expected = folio_expected_ref_count(src) + 1;
	if (!folio_ref_freeze(src, expected)) {
		rc = -EAGAIN;	/* a reference we cannot explain: a GET or a pin */
		goto out_remap;
	}
	pinmm_race_point(PINMM_RACE_MIGRATE_FROZEN, folio_pfn(src));
	if (file) {
		/* the destination takes the source's slots (lookups retry on the frozen source) */
		rc = mapping->a_ops->migrate_folio(mapping, d.whole, src, mode);
		if (rc) {
			folio_ref_unfreeze(src, expected);
			goto out_remap;
		}
	}
	/* a cache's source keeps only our isolation reference: the rest move */
	cached = file || folio_test_swapcache(src);
	migrate_contents(&d, false);
	folio_ref_unfreeze(src, cached ? 1 : expected);

	dst_for_each(&d, folio_add_lru);
	remove_migration_ptes(src, &d, anon_vma);
	folio_migrate_ksm_done(src);	/* src/mm/ksm.c: the node is the new folio's alone */
	migrate_deferred_split(src, &d);
	if (file) {
		/* the walk above needed the source's mapping; now it is nobody's */
		folio_clear_dirty(src);	/* its dirt is the destination's now */
		atomic_store_explicit(&src->mapping, NULL, memory_order_release);
	}
	dst_for_each(&d, folio_unlock);
	folio_unlock(src);
	if (anon_vma)
		put_anon_vma(anon_vma);
	/* the allocation references (the new mappings hold their own), then the source */
	dst_for_each(&d, folio_put);
	kfree(d.pieces);
	migrate_folio_done(src);
	return MIGRATEPAGE_SUCCESS;

out_remap:
	remove_migration_ptes(src, NULL, anon_vma);
	if (anon_vma)
		put_anon_vma(anon_vma);
	dst_for_each(&d, folio_unlock);
out_put_dst:
	put_dsts(&d, put_new_folio, private);
	kfree(d.pieces);
out_unlock_src:
	folio_unlock(src);
	return rc;
}

/*
 * Batched migration (Linux's migrate_pages_batch()): first every folio of a
 * batch is locked, given its destination and unmapped (migrate_folio_unmap),
 * then the small anon ones are frozen and copied back to back with
 * streaming stores and one fence (migrate_folio_copy_early), then each is
 * mapped again, unlocked and freed (migrate_folio_move; it freezes and
 * copies whatever the copy phase left). One lock round and one rmap walk
 * each way per folio, as before; what the batch saves is the interleaving:
 * the unmap walks run back to back, and so do the copies and the remaps. Between the phases the destination carries
 * the source's anon_vma in ->private (Linux records its state in the
 * destination too), so a batch needs no memory of its own. Large folios
 * whose destination must be split (no folio of their order) and folios
 * that would have to wait for a lock while the batch holds others go
 * through the one-at-a-time path instead.
 */
#define NR_MAX_BATCHED_MIGRATION	HPAGE_PMD_NR	/* pages unmapped before they move */

/*
 * Phase one for @src: lock it (without waiting if @batch_held: the folios
 * already unmapped are locked by us), allocate one destination of its order,
 * replace its mappings by migration entries. Return MIGRATEPAGE_UNMAP with
 * *@dstp locked and recording the anon_vma; MIGRATEPAGE_SUCCESS if every
 * user had let go (the source is freed); -EDEADLK if the lock is busy while
 * @batch_held; else as migrate_folio_one().
 */
static int migrate_folio_unmap(struct folio *src, new_folio_t get_new_folio,
			       free_folio_t put_new_folio, unsigned long private,
			       enum migrate_mode mode, bool batch_held, struct folio **dstp)
{
	struct migrate_dst d = { .src = src };
	struct anon_vma *anon_vma = NULL;
	bool file;
	int rc;

	rc = migrate_folio_begin(src, mode, batch_held);
	if (rc)
		return rc == MIGRATEPAGE_UNMAP ? MIGRATEPAGE_SUCCESS : rc;
	file = !folio_test_anon(src);
	if (file && (!folio_mapping(src) || !folio_mapping(src)->a_ops->migrate_folio)) {
		rc = -EBUSY;
		goto out_unlock_src;
	}
	rc = get_dsts(&d, false, get_new_folio, private);
	if (rc)
		goto out_unlock_src;
	dst_lock(d.whole);
	anon_vma = migrate_unmap_src(src, file, false);
	if (folio_mapped(src)) {
		remove_migration_ptes(src, NULL, anon_vma);
		if (anon_vma)
			put_anon_vma(anon_vma);
		folio_unlock(d.whole);
		put_dsts(&d, put_new_folio, private);
		rc = -EAGAIN;
		goto out_unlock_src;
	}
	d.whole->private = anon_vma;
	*dstp = d.whole;
	return MIGRATEPAGE_UNMAP;

out_unlock_src:
	folio_unlock(src);
	return rc;
}

/*
 * Phase two, the batch's copy: freeze @src (locked, unmapped) and copy its
 * bytes to @dst with streaming stores, which the caller fences once for the
 * whole batch. Anon folios only, and not KSM or swap-cache ones: their
 * lookups wait out a frozen count, and a zap holding a PTE lock would spin
 * in free_swap_and_cache() on a folio frozen here while this thread waits
 * for that lock to remap an earlier folio of the batch (a deadlock
 * ksm_stress met). Freezing first, as the one-at-a-time path does: nothing can
 * take a reference and write the source after its bytes are read. Return
 * true if frozen and copied; false leaves it all to migrate_folio_move().
 */
static bool migrate_folio_copy_early(struct folio *src, struct folio *dst)
{
	if (!folio_test_anon(src) || folio_test_ksm(src) || folio_test_large(src) ||
	    folio_test_swapcache(src))
		return false;
#ifdef __x86_64__
	if (!__builtin_cpu_supports("avx2"))
		return false;
	/* unmapped: the swap cache's references, and our isolation's */
	if (!folio_ref_freeze(src, folio_expected_ref_count(src) + 1))
		return false;
	pinmm_race_point(PINMM_RACE_MIGRATE_FROZEN, folio_pfn(src));
	copy_nt_avx2_nofence(folio_address(dst), folio_address(src), PAGE_SIZE);
	return true;
#else
	(void)dst;
	return false;
#endif
}

/*
 * Phase three: @src is locked and unmapped, @dst its locked destination.
 * Freeze and copy (unless @prepared: migrate_folio_copy_early() did both),
 * map the destination where the source was, unlock, free the source. On
 * -EAGAIN (a reference appeared) the source is mapped again, unlocked and
 * left for the next pass, the destination given back.
 */
static int migrate_folio_move(struct folio *src, struct folio *dst, free_folio_t put_new_folio,
			      unsigned long private, enum migrate_mode mode, bool prepared)
{
	struct migrate_dst d = { .src = src, .whole = dst };
	struct anon_vma *anon_vma = dst->private;
	struct address_space *mapping = NULL;
	bool file = !folio_test_anon(src), cached;
	int expected, rc;

	dst->private = NULL;
	if (file)
		mapping = folio_mapping(src);
	/* unmapped: the cache's references, and our isolation's */
	expected = folio_expected_ref_count(src) + 1;
	if (!prepared) {
		if (!folio_ref_freeze(src, expected)) {
			rc = -EAGAIN;
			goto out_remap;
		}
		pinmm_race_point(PINMM_RACE_MIGRATE_FROZEN, folio_pfn(src));
	}
	if (file) {
		rc = mapping->a_ops->migrate_folio(mapping, dst, src, mode);
		if (rc) {
			folio_ref_unfreeze(src, expected);
			goto out_remap;
		}
	}
	cached = file || folio_test_swapcache(src);
	migrate_contents(&d, prepared);
	folio_ref_unfreeze(src, cached ? 1 : expected);
	folio_add_lru(dst);
	remove_migration_ptes(src, &d, anon_vma);
	folio_migrate_ksm_done(src);	/* src/mm/ksm.c: the node is the new folio's alone */
	migrate_deferred_split(src, &d);
	if (file) {
		folio_clear_dirty(src);
		atomic_store_explicit(&src->mapping, NULL, memory_order_release);
	}
	folio_unlock(dst);
	folio_unlock(src);
	if (anon_vma)
		put_anon_vma(anon_vma);
	folio_put(dst);
	migrate_folio_done(src);
	return MIGRATEPAGE_SUCCESS;

out_remap:
	remove_migration_ptes(src, NULL, anon_vma);
	if (anon_vma)
		put_anon_vma(anon_vma);
	folio_unlock(dst);
	put_dsts(&d, put_new_folio, private);
	folio_unlock(src);
	return rc;
}

struct migrate_stats {
	unsigned long nr_succeeded_pages, nr_failed_pages;
	unsigned int nr_succeeded, nr_failed;
	long thp_succeeded, thp_failed, thp_split;
};

static void count_success(struct migrate_stats *st, bool is_thp, bool split, unsigned long nr)
{
	st->nr_succeeded++;
	st->nr_succeeded_pages += nr;
	if (is_thp && split)
		st->thp_split++;
	else if (is_thp)
		st->thp_succeeded++;
}

static void count_failure(struct migrate_stats *st, bool is_thp, unsigned long nr)
{
	st->nr_failed++;
	st->nr_failed_pages += nr;
	st->thp_failed += is_thp;
}

/*
 * Phase two over the batch: @unmapped and @dsts in step. Folios that must be
 * tried again go to @retry_list, failures to @ret_folios. Return the retries.
 */
static int move_batch(struct list_head *unmapped, struct list_head *dsts,
		      struct list_head *retry_list, struct list_head *ret_folios,
		      free_folio_t put_new_folio, unsigned long private, enum migrate_mode mode,
		      struct migrate_stats *st)
{
	bool prepared[NR_MAX_BATCHED_MIGRATION] = { false };	/* frozen and copied */
	struct folio *src, *next, *dst;
	unsigned int i = 0;
	int retry = 0;

	/*
	 * The copies back to back (Linux's batch: unmap all, copy all, remap
	 * all): a run of streaming stores, one fence for all of them, before
	 * any unfreeze or mapping publishes a destination.
	 */
	dst = list_first_entry(dsts, struct folio, lru);
	list_for_each_entry(src, unmapped, lru) {
		if (i < NR_MAX_BATCHED_MIGRATION)
			prepared[i] = migrate_folio_copy_early(src, dst);
		dst = list_next_entry(dst, lru);
		i++;
	}
#ifdef __x86_64__
	_mm_sfence();
#endif
	i = 0;
	list_for_each_entry_safe(src, next, unmapped, lru) {
		bool is_thp = folio_is_thp(src);
		unsigned long nr = folio_nr_pages(src);
		bool ready = i < NR_MAX_BATCHED_MIGRATION && prepared[i];
		int r;

		i++;
		dst = list_first_entry(dsts, struct folio, lru);
		list_del(&dst->lru);
		r = migrate_folio_move(src, dst, put_new_folio, private, mode, ready);
		if (r == MIGRATEPAGE_SUCCESS) {
			count_success(st, is_thp, false, nr);
		} else if (r == -EAGAIN) {
			list_move_tail(&src->lru, retry_list);
			retry++;
		} else {
			count_failure(st, is_thp, nr);
			list_move_tail(&src->lru, ret_folios);
		}
	}
	return retry;
}

/**
 * migrate_pages - move the contents of isolated folios to new folios.
 * @from: isolated folios, through folio->lru.
 * @get_new_folio: allocates a destination for a source folio.
 * @put_new_folio: frees an unused destination, or NULL for folio_put().
 * @private: for both callbacks.
 * @mode: MIGRATE_ASYNC never sleeps on a folio lock or writeback.
 * @reason: MR_*.
 * @ret_succeeded: if not NULL, set to the number of folios migrated.
 *
 * Up to NR_MAX_MIGRATE_PAGES_RETRY passes over the list: a folio that failed
 * for a transient reason (-EAGAIN: locked, an extra reference, maybe pinned)
 * is tried again in the next pass, the others leave the list's working part
 * at once. A large folio with no destination of its order is split at the
 * destination (thp_migration_split). No destination for a small folio stops
 * everything (-ENOMEM), as in Linux. Counts pgmigrate_success/_fail (pages)
 * and thp_migration_success/_fail/_split.
 * Context: may sleep; no mmap_lock or page-table lock held.
 * Return: 0 if every folio moved; else the number that did not, or -ENOMEM.
 * Folios that did not move are on @from again for putback_movable_pages().
 */
int migrate_pages(struct list_head *from, new_folio_t get_new_folio,
		  free_folio_t put_new_folio, unsigned long private,
		  enum migrate_mode mode, int reason, unsigned int *ret_succeeded)
{
	struct migrate_stats st = { 0 };
	struct folio *folio, *next;
	LIST_HEAD(ret_folios);
	LIST_HEAD(retry_list);
	LIST_HEAD(unmapped);
	LIST_HEAD(dsts);
	int retry = 1, rc = 0;

	(void)reason;
	for (int pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && retry; pass++) {
		unsigned long batched = 0;

		retry = 0;
		list_for_each_entry_safe(folio, next, from, lru) {
			bool is_thp = folio_is_thp(folio);
			unsigned long nr = folio_nr_pages(folio);
			struct folio *dst = NULL;
			bool split = false;
			int r;

again:
			r = migrate_folio_unmap(folio, get_new_folio, put_new_folio, private, mode,
						batched > 0, &dst);
			if (r == -EDEADLK) {
				retry += move_batch(&unmapped, &dsts, &retry_list, &ret_folios,
						    put_new_folio, private, mode, &st);
				batched = 0;
				goto again;
			}
			if (r == -ENOMEM && folio_test_large(folio)) {
				/*
				 * No folio of its order: each page into its own, one
				 * at a time, which may sleep on the lock: batch first.
				 */
				if (batched) {
					retry += move_batch(&unmapped, &dsts, &retry_list,
							    &ret_folios, put_new_folio, private,
							    mode, &st);
					batched = 0;
				}
				split = true;
				r = migrate_folio_one(folio, true, get_new_folio, put_new_folio,
						      private, mode);
			}
			switch (r) {
			case MIGRATEPAGE_UNMAP:
				list_move_tail(&folio->lru, &unmapped);
				list_add_tail(&dst->lru, &dsts);
				batched += nr;
				if (batched >= NR_MAX_BATCHED_MIGRATION) {
					retry += move_batch(&unmapped, &dsts, &retry_list,
							    &ret_folios, put_new_folio, private,
							    mode, &st);
					batched = 0;
				}
				break;
			case MIGRATEPAGE_SUCCESS:
				count_success(&st, is_thp, split, nr);
				break;
			case -EAGAIN:
				retry++;
				break;
			case -ENOMEM:
				count_failure(&st, is_thp, nr);
				list_move_tail(&folio->lru, &ret_folios);
				rc = -ENOMEM;
				goto out;
			default:
				count_failure(&st, is_thp, nr);
				list_move_tail(&folio->lru, &ret_folios);
				break;
			}
		}
		retry += move_batch(&unmapped, &dsts, &retry_list, &ret_folios, put_new_folio,
				    private, mode, &st);
		list_splice_tail_init(&retry_list, from);
		if (retry)
			cond_resched();
	}
out:
	/* an allocation failure stops the unmapping, not the moves already prepared */
	move_batch(&unmapped, &dsts, &retry_list, &ret_folios, put_new_folio, private, mode, &st);
	list_splice_tail_init(&retry_list, from);
	/* what is still on @from gave -EAGAIN every time, or was not reached */
	list_for_each_entry(folio, from, lru)
		count_failure(&st, folio_is_thp(folio), folio_nr_pages(folio));
	list_splice_init(&ret_folios, from);

	count_vm_events(PGMIGRATE_SUCCESS, (long)st.nr_succeeded_pages);
	count_vm_events(PGMIGRATE_FAIL, (long)st.nr_failed_pages);
	count_vm_events(THP_MIGRATION_SUCCESS, st.thp_succeeded);
	count_vm_events(THP_MIGRATION_FAIL, st.thp_failed);
	count_vm_events(THP_MIGRATION_SPLIT, st.thp_split);
	if (ret_succeeded)
		*ret_succeeded = st.nr_succeeded;
	return rc ? rc : (int)st.nr_failed;
}

/**
 * alloc_migration_target - the usual get_new_folio for migrate_pages().
 * @src: the folio to be moved (its order and zone matter).
 * @private: a struct migration_target_control *, or 0 for GFP_HIGHUSER_MOVABLE.
 *
 * A folio of @src's order. A source in ZONE_MOVABLE may go to ZONE_MOVABLE
 * again (__GFP_HIGHMEM) if the mask is movable; a long-term pin passes a mask
 * without __GFP_MOVABLE so the destination is pinnable. Large destinations
 * never compact on their own (the caller is already moving memory around).
 * Context: may take zone->lock.
 * Return: the folio with one reference, or NULL.
 */
struct folio *alloc_migration_target(struct folio *src, unsigned long private)
{
	const struct migration_target_control *mtc = (const void *)private;
	gfp_t gfp = mtc ? mtc->gfp_mask : GFP_HIGHUSER_MOVABLE;
	unsigned int order = folio_order(src);

	if (folio_is_zone_movable(src))
		gfp |= __GFP_HIGHMEM;
	if (order)
		gfp = (gfp | __GFP_NOWARN) & ~__GFP_DIRECT_RECLAIM;
	return folio_alloc(gfp, order);
}
