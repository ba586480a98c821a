/* SPDX-License-Identifier: MIT */
/*
 * Page-table entries: x86-64 four-level paging with 512 entries per table.
 *
 * Entries are 64-bit words in table pages allocated from the machine's own
 * frames. Everyone reads and writes them with atomic accesses (ptep_get(),
 * set_pte_at(), ...), so the lockless GUP-fast walk can read them while a
 * holder of the page-table lock changes them — the same contract as Linux's
 * READ_ONCE/WRITE_ONCE on x86.
 *
 * Bits follow x86: present, RW, user, accessed, dirty, PSE (a PMD leaf: THP),
 * plus the software bits Linux uses: special (no struct page behind it),
 * devmap, soft-dirty. A non-present, non-zero entry is a swap-style entry;
 * pinmm uses those only for migration entries (src/migrate).
 */
#ifndef PINMM_PGTABLE_H
#define PINMM_PGTABLE_H

#include <pinmm/types.h>

typedef struct { unsigned long pte; } pte_t;
typedef struct { unsigned long pmd; } pmd_t;
typedef struct { unsigned long pud; } pud_t;
typedef struct { unsigned long pgd; } pgd_t;
typedef struct { unsigned long pgprot; } pgprot_t;

#define _PAGE_PRESENT	(1UL << 0)
#define _PAGE_RW	(1UL << 1)
#define _PAGE_USER	(1UL << 2)
#define _PAGE_ACCESSED	(1UL << 5)
#define _PAGE_DIRTY	(1UL << 6)
#define _PAGE_PSE	(1UL << 7)	/* PMD/PUD leaf */
#define _PAGE_SPECIAL	(1UL << 9)	/* no struct page (VM_PFNMAP, zero pfn) */
#define _PAGE_SOFT_DIRTY (1UL << 11)
#define _PAGE_UFFD_WP	(1UL << 10)	/* userfaultfd write-protected (x86: bit 10) */
#define _PAGE_DEVMAP	(1UL << 58)	/* ZONE_DEVICE page (fsdax) */
#define _PAGE_NX	(1UL << 63)
#define PTE_PFN_MASK	0x000ffffffffff000UL
#define _PAGE_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)

#define PAGE_NONE	((pgprot_t){ 0 })
#define PAGE_READONLY	((pgprot_t){ _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED })
#define PAGE_SHARED	((pgprot_t){ _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_RW })

#define pte_val(x)	((x).pte)
#define pmd_val(x)	((x).pmd)
#define pud_val(x)	((x).pud)
#define pgd_val(x)	((x).pgd)
#define __pte(v)	((pte_t){ (v) })
#define __pmd(v)	((pmd_t){ (v) })
#define __pud(v)	((pud_t){ (v) })
#define __pgd(v)	((pgd_t){ (v) })

/* ---- atomic access to entries in tables ---------------------------------- */

static inline pte_t ptep_get(pte_t *ptep)
{
	return __pte(__atomic_load_n(&ptep->pte, __ATOMIC_RELAXED));
}

/* The lockless walker's read: acquire, so what the installer published is seen. */
static inline pte_t ptep_get_lockless(pte_t *ptep)
{
	return __pte(__atomic_load_n(&ptep->pte, __ATOMIC_ACQUIRE));
}

static inline void set_pte(pte_t *ptep, pte_t pte)
{
	__atomic_store_n(&ptep->pte, pte.pte, __ATOMIC_RELEASE);
}

static inline pte_t ptep_get_and_clear(pte_t *ptep)
{
	return __pte(__atomic_exchange_n(&ptep->pte, 0, __ATOMIC_ACQ_REL));
}

static inline pmd_t pmdp_get(pmd_t *pmdp)
{
	return __pmd(__atomic_load_n(&pmdp->pmd, __ATOMIC_RELAXED));
}

static inline pmd_t pmdp_get_lockless(pmd_t *pmdp)
{
	return __pmd(__atomic_load_n(&pmdp->pmd, __ATOMIC_ACQUIRE));
}

static inline void set_pmd(pmd_t *pmdp, pmd_t pmd)
{
	__atomic_store_n(&pmdp->pmd, pmd.pmd, __ATOMIC_RELEASE);
}

static inline pmd_t pmdp_get_and_clear(pmd_t *pmdp)
{
	return __pmd(__atomic_exchange_n(&pmdp->pmd, 0, __ATOMIC_ACQ_REL));
}

static inline pud_t pudp_get(pud_t *pudp)
{
	return __pud(__atomic_load_n(&pudp->pud, __ATOMIC_ACQUIRE));
}

static inline void set_pud(pud_t *pudp, pud_t pud)
{
	__atomic_store_n(&pudp->pud, pud.pud, __ATOMIC_RELEASE);
}

static inline pgd_t pgdp_get(pgd_t *pgdp)
{
	return __pgd(__atomic_load_n(&pgdp->pgd, __ATOMIC_ACQUIRE));
}

static inline void set_pgd(pgd_t *pgdp, pgd_t pgd)
{
	__atomic_store_n(&pgdp->pgd, pgd.pgd, __ATOMIC_RELEASE);
}

/* ---- indices ------------------------------------------------------------- */

static inline unsigned long pgd_index(unsigned long addr) { return (addr >> PGDIR_SHIFT) & 511; }
static inline unsigned long pud_index(unsigned long addr) { return (addr >> PUD_SHIFT) & 511; }
static inline unsigned long pmd_index(unsigned long addr) { return (addr >> PMD_SHIFT) & 511; }
static inline unsigned long pte_index(unsigned long addr) { return (addr >> PAGE_SHIFT) & 511; }

/* ---- PTE predicates and modifiers ------------------------------------------ */

static inline bool pte_none(pte_t p)	{ return p.pte == 0; }
static inline bool pte_present(pte_t p)	{ return p.pte & _PAGE_PRESENT; }
static inline bool pte_write(pte_t p)	{ return p.pte & _PAGE_RW; }
static inline bool pte_dirty(pte_t p)	{ return p.pte & _PAGE_DIRTY; }
static inline bool pte_young(pte_t p)	{ return p.pte & _PAGE_ACCESSED; }
static inline bool pte_special(pte_t p)	{ return p.pte & _PAGE_SPECIAL; }
static inline bool pte_devmap(pte_t p)	{ return p.pte & _PAGE_DEVMAP; }
static inline bool pte_soft_dirty(pte_t p) { return p.pte & _PAGE_SOFT_DIRTY; }
static inline unsigned long pte_pfn(pte_t p) { return (p.pte & PTE_PFN_MASK) >> PAGE_SHIFT; }
static inline bool pte_same(pte_t a, pte_t b) { return a.pte == b.pte; }

static inline pte_t pte_mkwrite(pte_t p)	{ return __pte(p.pte | _PAGE_RW); }
static inline pte_t pte_wrprotect(pte_t p)	{ return __pte(p.pte & ~_PAGE_RW); }
static inline pte_t pte_mkdirty(pte_t p)	{ return __pte(p.pte | _PAGE_DIRTY | _PAGE_SOFT_DIRTY); }
static inline pte_t pte_mkclean(pte_t p)	{ return __pte(p.pte & ~_PAGE_DIRTY); }
static inline pte_t pte_mkyoung(pte_t p)	{ return __pte(p.pte | _PAGE_ACCESSED); }
static inline pte_t pte_mkold(pte_t p)		{ return __pte(p.pte & ~_PAGE_ACCESSED); }
static inline pte_t pte_mkspecial(pte_t p)	{ return __pte(p.pte | _PAGE_SPECIAL); }
static inline pte_t pte_mkdevmap(pte_t p)	{ return __pte(p.pte | _PAGE_SPECIAL | _PAGE_DEVMAP); }

static inline pte_t pfn_pte(unsigned long pfn, pgprot_t prot)
{
	return __pte((pfn << PAGE_SHIFT) | prot.pgprot);
}

/* The same entry for the frame @nr further on (consecutive pages of a folio). */
static inline pte_t pte_advance_pfn(pte_t p, unsigned long nr)
{
	return __pte(p.pte + (nr << PAGE_SHIFT));
}

/* Keep the pfn and the software state, take the new protection bits. */
static inline pte_t pte_modify(pte_t p, pgprot_t prot)
{
	const unsigned long keep = PTE_PFN_MASK | _PAGE_DIRTY | _PAGE_ACCESSED |
				   _PAGE_SPECIAL | _PAGE_DEVMAP | _PAGE_SOFT_DIRTY | _PAGE_UFFD_WP;

	return __pte((p.pte & keep) | (prot.pgprot & ~keep));
}

/* ---- PMD predicates and modifiers ------------------------------------------- */

static inline bool pmd_none(pmd_t p)	{ return p.pmd == 0; }
static inline bool pmd_present(pmd_t p)	{ return p.pmd & _PAGE_PRESENT; }
/* A PMD that maps 2 MiB directly (THP) rather than pointing to a PTE table. */
static inline bool pmd_leaf(pmd_t p)	{ return (p.pmd & (_PAGE_PRESENT | _PAGE_PSE)) == (_PAGE_PRESENT | _PAGE_PSE); }
static inline bool pmd_trans_huge(pmd_t p) { return pmd_leaf(p) && !(p.pmd & _PAGE_DEVMAP); }
static inline bool pmd_write(pmd_t p)	{ return p.pmd & _PAGE_RW; }
static inline bool pmd_dirty(pmd_t p)	{ return p.pmd & _PAGE_DIRTY; }
static inline bool pmd_young(pmd_t p)	{ return p.pmd & _PAGE_ACCESSED; }
static inline bool pmd_special(pmd_t p)	{ return p.pmd & _PAGE_SPECIAL; }
static inline bool pmd_devmap(pmd_t p)	{ return p.pmd & _PAGE_DEVMAP; }
static inline unsigned long pmd_pfn(pmd_t p) { return (p.pmd & PTE_PFN_MASK) >> PAGE_SHIFT; }
static inline bool pmd_same(pmd_t a, pmd_t b) { return a.pmd == b.pmd; }

static inline pmd_t pmd_mkwrite(pmd_t p)	{ return __pmd(p.pmd | _PAGE_RW); }
static inline pmd_t pmd_wrprotect(pmd_t p)	{ return __pmd(p.pmd & ~_PAGE_RW); }
static inline pmd_t pmd_mkdirty(pmd_t p)	{ return __pmd(p.pmd | _PAGE_DIRTY | _PAGE_SOFT_DIRTY); }
static inline pmd_t pmd_mkclean(pmd_t p)	{ return __pmd(p.pmd & ~_PAGE_DIRTY); }
static inline pmd_t pmd_mkyoung(pmd_t p)	{ return __pmd(p.pmd | _PAGE_ACCESSED); }
static inline pmd_t pmd_mkold(pmd_t p)		{ return __pmd(p.pmd & ~_PAGE_ACCESSED); }
static inline pmd_t pmd_mkhuge(pmd_t p)		{ return __pmd(p.pmd | _PAGE_PSE); }
static inline pmd_t pmd_mkspecial(pmd_t p)	{ return __pmd(p.pmd | _PAGE_SPECIAL); }
static inline pmd_t pfn_pmd(unsigned long pfn, pgprot_t prot)
{
	return __pmd((pfn << PAGE_SHIFT) | prot.pgprot);
}
static inline pmd_t pmd_modify(pmd_t p, pgprot_t prot)
{
	const unsigned long keep = PTE_PFN_MASK | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_PSE |
				   _PAGE_SPECIAL | _PAGE_DEVMAP | _PAGE_SOFT_DIRTY | _PAGE_UFFD_WP;

	return __pmd((p.pmd & keep) | (prot.pgprot & ~keep));
}

/*
 * PUD entries: a table pointer, or (with PSE) a leaf mapping 1 GiB directly —
 * only gigantic hugetlb folios are mapped that way. A leaf has the PMD leaf's
 * bit layout, so hugetlb code handles both through one "huge pte" pointer, as
 * Linux's hugetlb code does with its pte_t *.
 */
static inline bool pud_none(pud_t p)	{ return p.pud == 0; }
static inline bool pud_present(pud_t p)	{ return p.pud & _PAGE_PRESENT; }
static inline bool pud_leaf(pud_t p)	{ return (p.pud & (_PAGE_PRESENT | _PAGE_PSE)) == (_PAGE_PRESENT | _PAGE_PSE); }
static inline bool pud_write(pud_t p)	{ return p.pud & _PAGE_RW; }
static inline bool pud_dirty(pud_t p)	{ return p.pud & _PAGE_DIRTY; }
static inline bool pud_special(pud_t p)	{ return p.pud & _PAGE_SPECIAL; }
static inline unsigned long pud_pfn(pud_t p) { return (p.pud & PTE_PFN_MASK) >> PAGE_SHIFT; }
static inline bool pud_same(pud_t a, pud_t b) { return a.pud == b.pud; }
static inline pud_t pud_mkdirty(pud_t p)	{ return __pud(p.pud | _PAGE_DIRTY | _PAGE_SOFT_DIRTY); }
static inline pud_t pud_mkyoung(pud_t p)	{ return __pud(p.pud | _PAGE_ACCESSED); }
static inline pud_t pud_mkhuge(pud_t p)		{ return __pud(p.pud | _PAGE_PSE); }
static inline pud_t pfn_pud(unsigned long pfn, pgprot_t prot)
{
	return __pud((pfn << PAGE_SHIFT) | prot.pgprot);
}
static inline bool is_swap_pud(pud_t p)	{ return !pud_none(p) && !pud_present(p); }
static inline bool pgd_none(pgd_t p)	{ return p.pgd == 0; }
static inline bool pgd_present(pgd_t p)	{ return p.pgd & _PAGE_PRESENT; }
static inline unsigned long pgd_pfn(pgd_t p) { return (p.pgd & PTE_PFN_MASK) >> PAGE_SHIFT; }

/* ---- swap-style (non-present) entries -------------------------------------- */

/*
 * A non-present, non-zero PTE/PMD: bits 1..5 hold the type, bits 12..51 the
 * offset (for migration entries: the pfn of the folio being migrated), bit 6
 * "exclusive" (the page was PageAnonExclusive when it was unmapped) and bit 11
 * soft-dirty. Never has _PAGE_PRESENT.
 */
typedef struct { unsigned long val; } swp_entry_t;

enum swp_type {
	SWP_NONE,
	SWP_MIGRATION_READ,		/* was mapped read-only */
	SWP_MIGRATION_READ_EXCLUSIVE,	/* read-only, page was anon-exclusive */
	SWP_MIGRATION_WRITE,		/* was mapped writable */
	SWP_HWPOISON,
	/* device-private pages (ZONE_DEVICE, mm/migrate_device.c): offset = pfn */
	SWP_DEVICE_READ,
	SWP_DEVICE_WRITE,
	SWP_DEVICE_EXCLUSIVE,
	/* a PTE marker (uffd-wp, guard, poisoned): offset holds the marker bits */
	SWP_PTE_MARKER,
	/* swap areas: type SWP_SWAPFILE + n is area n, offset = slot in it */
	SWP_SWAPFILE,
	SWP_TYPE_LAST = SWP_SWAPFILE + 7,
};
#define MAX_SWAPFILES	(SWP_TYPE_LAST - SWP_SWAPFILE + 1)
_Static_assert(SWP_TYPE_LAST <= 0x1f, "a swap type must fit bits 1..5 of a non-present entry");

#define SWP_TYPE_SHIFT	1
#define SWP_TYPE_MASK	0x1fUL

static inline swp_entry_t swp_entry(enum swp_type type, unsigned long offset)
{
	return (swp_entry_t){ ((unsigned long)type << 58) | offset };
}
static inline enum swp_type swp_type(swp_entry_t e) { return (enum swp_type)(e.val >> 58); }
static inline unsigned long swp_offset(swp_entry_t e) { return e.val & ((1UL << 58) - 1); }

static inline pte_t swp_entry_to_pte(swp_entry_t e)
{
	return __pte(((unsigned long)swp_type(e) << SWP_TYPE_SHIFT) |
		     (swp_offset(e) << PAGE_SHIFT));
}
static inline swp_entry_t pte_to_swp_entry(pte_t p)
{
	return swp_entry((enum swp_type)((p.pte >> SWP_TYPE_SHIFT) & SWP_TYPE_MASK),
			 (p.pte & PTE_PFN_MASK) >> PAGE_SHIFT);
}
static inline pmd_t swp_entry_to_pmd(swp_entry_t e)
{
	return __pmd(swp_entry_to_pte(e).pte);
}
static inline swp_entry_t pmd_to_swp_entry(pmd_t p)
{
	return pte_to_swp_entry(__pte(p.pmd));
}
static inline bool is_swap_pte(pte_t p)	{ return !pte_none(p) && !pte_present(p); }
static inline bool is_swap_pmd(pmd_t p)	{ return !pmd_none(p) && !pmd_present(p); }
static inline bool is_migration_entry(swp_entry_t e)
{
	return swp_type(e) >= SWP_MIGRATION_READ && swp_type(e) <= SWP_MIGRATION_WRITE;
}
static inline bool is_writable_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_WRITE;
}
static inline bool is_readable_exclusive_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE;
}

/* ---- soft-dirty and uffd-wp bits (docs/soft-dirty-uffd.md) ------------------ */

/*
 * Present entries: _PAGE_SOFT_DIRTY (bit 11) and _PAGE_UFFD_WP (bit 10).
 * Non-present entries keep both at the same bits: _PAGE_SWP_SOFT_DIRTY
 * (migrate.h) and _PAGE_SWP_UFFD_WP. A uffd-wp PTE is never writable.
 */
#define _PAGE_SWP_UFFD_WP	_PAGE_UFFD_WP	/* bit 10 of a non-present entry */

static inline pte_t pte_mksoft_dirty(pte_t p)	{ return __pte(p.pte | _PAGE_SOFT_DIRTY); }
static inline pte_t pte_clear_soft_dirty(pte_t p) { return __pte(p.pte & ~_PAGE_SOFT_DIRTY); }
static inline bool pte_uffd_wp(pte_t p)		{ return p.pte & _PAGE_UFFD_WP; }
static inline pte_t pte_mkuffd_wp(pte_t p)	{ return pte_wrprotect(__pte(p.pte | _PAGE_UFFD_WP)); }
static inline pte_t pte_clear_uffd_wp(pte_t p)	{ return __pte(p.pte & ~_PAGE_UFFD_WP); }
static inline bool pmd_soft_dirty(pmd_t p)	{ return p.pmd & _PAGE_SOFT_DIRTY; }
static inline pmd_t pmd_mksoft_dirty(pmd_t p)	{ return __pmd(p.pmd | _PAGE_SOFT_DIRTY); }
static inline pmd_t pmd_clear_soft_dirty(pmd_t p) { return __pmd(p.pmd & ~_PAGE_SOFT_DIRTY); }
static inline bool pmd_uffd_wp(pmd_t p)		{ return p.pmd & _PAGE_UFFD_WP; }
static inline pmd_t pmd_mkuffd_wp(pmd_t p)	{ return pmd_wrprotect(__pmd(p.pmd | _PAGE_UFFD_WP)); }
static inline pmd_t pmd_clear_uffd_wp(pmd_t p)	{ return __pmd(p.pmd & ~_PAGE_UFFD_WP); }

static inline bool pte_swp_soft_dirty(pte_t p)	{ return p.pte & _PAGE_SOFT_DIRTY; }
static inline pte_t pte_swp_mksoft_dirty(pte_t p) { return __pte(p.pte | _PAGE_SOFT_DIRTY); }
static inline pte_t pte_swp_clear_soft_dirty(pte_t p) { return __pte(p.pte & ~_PAGE_SOFT_DIRTY); }
static inline bool pte_swp_uffd_wp(pte_t p)	{ return p.pte & _PAGE_SWP_UFFD_WP; }
static inline pte_t pte_swp_mkuffd_wp(pte_t p)	{ return __pte(p.pte | _PAGE_SWP_UFFD_WP); }
static inline pte_t pte_swp_clear_uffd_wp(pte_t p) { return __pte(p.pte & ~_PAGE_SWP_UFFD_WP); }

/*
 * PTE markers (SWP_PTE_MARKER): a non-present entry that maps nothing and
 * records something about the empty slot; the offset holds marker bits.
 * PTE_MARKER_UFFD_WP: the range is uffd-wp protected though unpopulated.
 * PTE_MARKER_GUARD: a guard page (MADV_GUARD_INSTALL): every access to it,
 * the CPU's or GUP's, faults with SIGSEGV/-EFAULT; only MADV_GUARD_REMOVE,
 * munmap and exit take it away. Linux's values.
 */
#define PTE_MARKER_UFFD_WP	(1UL << 0)
#define PTE_MARKER_GUARD	(1UL << 2)
#define PTE_MARKER_MASK		(PTE_MARKER_UFFD_WP | PTE_MARKER_GUARD)

static inline pte_t make_pte_marker(unsigned long marker)
{
	return swp_entry_to_pte(swp_entry(SWP_PTE_MARKER, marker));
}
static inline bool is_pte_marker(pte_t p)
{
	return is_swap_pte(p) && swp_type(pte_to_swp_entry(p)) == SWP_PTE_MARKER;
}
static inline unsigned long pte_marker_get(pte_t p)
{
	return swp_offset(pte_to_swp_entry(p)) & PTE_MARKER_MASK;
}
static inline bool pte_marker_uffd_wp(pte_t p)
{
	return is_pte_marker(p) && (pte_marker_get(p) & PTE_MARKER_UFFD_WP);
}
static inline bool is_guard_pte_marker(pte_t p)
{
	return is_pte_marker(p) && (pte_marker_get(p) & PTE_MARKER_GUARD);
}

/*
 * A non-present entry taken elsewhere without its uffd-wp state (mremap,
 * fork without the event): the bit goes, and a marker that was only
 * uffd-wp becomes pte_none. Soft-dirty is set when @mksd (mremap: "moved"),
 * on a marker that stays too (Linux's move_soft_dirty_pte()).
 */
static inline pte_t pte_swp_drop_uffd_wp(pte_t p, bool mksd)
{
	if (is_pte_marker(p)) {
		unsigned long m = pte_marker_get(p) & ~PTE_MARKER_UFFD_WP;

		if (!m)
			return __pte(0);
		p = make_pte_marker(m);
		return mksd ? pte_swp_mksoft_dirty(p) : p;
	}
	p = pte_swp_clear_uffd_wp(p);
	return mksd ? pte_swp_mksoft_dirty(p) : p;
}

#endif /* PINMM_PGTABLE_H */
