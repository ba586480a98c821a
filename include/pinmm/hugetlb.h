/* SPDX-License-Identifier: MIT */
/*
 * hugetlb: a pool of preallocated 2 MiB pages (Linux: mm/hugetlb.c,
 * include/linux/hugetlb.h), handed to MAP_HUGETLB mappings and never to the
 * buddy allocator while they belong to the pool.
 *
 * Two pools (struct hstate, one per page size: hstates[0] 2 MiB, the default,
 * and hstates[1] 1 GiB "gigantic" pages) keep free folios per zone. Counters,
 * as /proc/meminfo shows them:
 *   nr_huge_pages       HugePages_Total: every hugetlb folio, free or in use
 *   free_huge_pages     HugePages_Free
 *   resv_huge_pages     HugePages_Rsvd: promised to mappings, not yet faulted
 *   surplus_huge_pages  HugePages_Surp: above nr_hugepages (overcommit, or
 *                       in use when the pool was shrunk); freed to the buddy
 *                       allocator on their last put
 * and "persistent" pages = nr - surplus is what nr_hugepages reads back.
 *
 * A hugetlb folio is an order-9 folio whose head carries the page type
 * PGTY_hugetlb (folio_test_hugetlb()); its last folio_put() gives it back
 * to the pool (free_huge_folio()). Its flags (restore-reserve, temporary,
 * isolated) live in folio->private, as Linux's HPG_* bits.
 *
 * Gigantic pages (order 18) are beyond the buddy allocator: the pool takes
 * them with cma_alloc_pages() (pinmm's CMA area plays Linux's hugetlb_cma) or
 * alloc_contig_range() in ZONE_NORMAL (Linux: alloc_gigantic_folio(); they
 * are not movable-zone pages, hugepage_movable_supported() says no), and
 * gives them back the same way. They are never surplus: no overcommit.
 *
 * Mappings: MAP_HUGETLB private anonymous memory (VM_HUGETLB VMAs with
 * hugetlb_vm_ops, aligned and sized to their hstate's page; a length is
 * rounded up as Linux's ksys_mmap_pgoff() does), mapped by PMD leaves (2 MiB)
 * or PUD leaves (1 GiB). hugetlb code reaches either through one entry
 * pointer (huge_pte_offset(): a pmd_t * that may point into a PUD table; the
 * leaf bits are the same). Each private VMA
 * owns a reservation map: mmap reserves every huge page of the range (or
 * fails with -ENOMEM); a fault consumes the reservation of its index; munmap
 * and exit give back what was never consumed. A child after fork owns no
 * reservation (Linux: HPAGE_RESV_OWNER stays with the parent).
 * Shared mappings are hugetlbfs files (src/fs/hugetlbfs.c) of either page
 * size, the file's super block naming it (hstate_file()); their
 * reservations belong to the inode.
 *
 * Lock order: mmap_lock > hugetlb fault mutex > folio lock > ptl > hugetlb_lock
 * (hugetlb_lock is a leaf: nothing is allocated or freed to the buddy
 * allocator under it).
 */
#ifndef PINMM_HUGETLB_H
#define PINMM_HUGETLB_H

#include <pinmm/list.h>
#include <pinmm/locks.h>
#include <pinmm/mm_types.h>
#include <pinmm/mmzone.h>
#include <pinmm/page-flags.h>

#include <stdio.h>

#define HUGETLB_PAGE_ORDER	9
#define HPAGE_SIZE		(PAGE_SIZE << HUGETLB_PAGE_ORDER)
#define HPAGE_MASK		(~(HPAGE_SIZE - 1))
#define HUGETLB_NR_PAGES	(1UL << HUGETLB_PAGE_ORDER)

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#ifndef MAP_HUGE_MASK
#define MAP_HUGE_MASK	0x3f
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21U << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB	(30U << MAP_HUGE_SHIFT)
#endif

/* 2 MiB (PMD leaves) and 1 GiB (PUD leaves), as x86-64. */
#define HUGE_MAX_HSTATE		2
#define GIGANTIC_PAGE_ORDER	PUD_ORDER

/* folio->private bits of a hugetlb folio (Linux's enum hugetlb_page_flags) */
enum hugetlb_page_flags {
	HPG_restore_reserve = 0,	/* allocated from a reservation, not yet mapped */
	HPG_temporary,			/* not part of the pool: freed to the buddy allocator */
	HPG_isolated,			/* taken by a migrator (isolate_hugetlb) */
	HPG_freed,			/* on a free list */
};

struct hstate {
	spinlock_t lock;			/* hugetlb_lock: every field below */
	unsigned int order;
	unsigned long max_huge_pages;		/* what nr_hugepages was last set to */
	unsigned long nr_huge_pages;
	unsigned long free_huge_pages;
	unsigned long resv_huge_pages;
	unsigned long surplus_huge_pages;
	unsigned long nr_overcommit_huge_pages;
	unsigned long nr_huge_pages_zone[MAX_NR_ZONES];
	unsigned long free_huge_pages_zone[MAX_NR_ZONES];
	unsigned long surplus_huge_pages_zone[MAX_NR_ZONES];
	struct list_head freelist[MAX_NR_ZONES];
};

/* hstates[0] is 2 MiB (default_hstate: what a size-less MAP_HUGETLB gets), hstates[1] 1 GiB. */
extern struct hstate hstates[HUGE_MAX_HSTATE];
#define default_hstate	(hstates[0])

static inline unsigned int huge_page_order(const struct hstate *h) { return h->order; }
static inline unsigned long huge_page_size(const struct hstate *h) { return PAGE_SIZE << h->order; }
static inline unsigned long huge_page_mask(const struct hstate *h) { return ~(huge_page_size(h) - 1); }
static inline unsigned long pages_per_huge_page(const struct hstate *h) { return 1UL << h->order; }
/* Beyond the buddy allocator's largest order: taken by contiguous allocation. */
static inline bool hstate_is_gigantic(const struct hstate *h) { return h->order > MAX_PAGE_ORDER; }

/**
 * size_to_hstate - the hstate of pages of @size bytes.
 * Return: &hstates[i], or NULL when no pool has that page size (Linux's
 * size_to_hstate()).
 */
struct hstate *size_to_hstate(unsigned long size);

/* The hstate of a VM_HUGETLB VMA (Linux: hstate_vma(), through its hugetlbfs file). */
struct hstate *hstate_vma(struct vm_area_struct *vma);

/* The hstate of a hugetlb folio, by its order. */
struct hstate *folio_hstate(const struct folio *folio);

static inline bool folio_test_hugetlb(const struct folio *folio)
{
	return folio_test_large(folio) && page_has_type(&folio->page, PGTY_hugetlb);
}

static inline bool is_vm_hugetlb_page(const struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_HUGETLB;
}

static inline bool folio_test_hugetlb_flag(const struct folio *folio, enum hugetlb_page_flags f)
{
	return test_bit(f, (atomic_ulong *)&folio->private);
}

/* ---- the pool ------------------------------------------------------------------- */

/**
 * pinmm_hugetlb_set_nr_hugepages - write /proc/sys/vm/nr_hugepages.
 * @count: the wanted number of persistent huge pages.
 *
 * Grows the pool from the buddy allocator (movable memory first, as Linux's
 * htlb_alloc_mask() for migratable 2 MiB pages) and takes what it can when
 * memory runs out; shrinks it by freeing free pages not held for a
 * reservation, and turns in-use pages beyond @count into surplus pages.
 * Context: may sleep; takes hugetlb_lock and the zone locks.
 * Return: the number of persistent huge pages afterwards (what reading
 * nr_hugepages gives), which may be below @count.
 */
unsigned long pinmm_hugetlb_set_nr_hugepages(unsigned long count);

/**
 * pinmm_hugepages_set_nr - write /sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages.
 * @size: the page size in bytes (2 MiB or 1 GiB).
 * @count: the wanted number of persistent huge pages of that size.
 *
 * As pinmm_hugetlb_set_nr_hugepages() for that hstate. Gigantic pages come
 * from the CMA area first (hugetlb_cma), then from 1 GiB aligned ranges of
 * ZONE_NORMAL that alloc_contig_range() can empty; shrinking gives them back.
 * Context: may sleep (migrates what is in the way); no locks held.
 * Return: the persistent count reached, or -EINVAL for an unknown size.
 */
long pinmm_hugepages_set_nr(unsigned long size, unsigned long count);

/* nr_overcommit_hugepages: how many surplus pages mmap/faults may add. */
void pinmm_hugetlb_set_overcommit(unsigned long count);

/*
 * nr_overcommit_hugepages of the @size pool. Return: 0, or -EINVAL for an
 * unknown size and for gigantic pages (Linux: they cannot be overcommitted).
 */
int pinmm_hugepages_set_overcommit(unsigned long size, unsigned long count);

/* Counters under hugetlb_lock, for tests and tools. */
struct hugetlb_counts {
	unsigned long nr, free, resv, surplus;
	unsigned long nr_zone[MAX_NR_ZONES], free_zone[MAX_NR_ZONES];
	unsigned long free_cma;		/* free pages in CMA pageblocks */
};
void hugetlb_read_counts(struct hugetlb_counts *c);

/* The counters of one pool (the sysfs files of hugepages-<size>kB). */
void hstate_read_counts(struct hstate *h, struct hugetlb_counts *c);

/* The HugePages_* and Hugetlb lines of /proc/meminfo. */
void hugetlb_report_meminfo(FILE *out);

/* Machine boot (pool from pinmm_config.nr_hugepages) and shutdown (pool freed). */
void hugetlb_boot(unsigned long nr_hugepages);
void hugetlb_shutdown(void);

/**
 * free_huge_folio - the last reference to a hugetlb folio is gone.
 * @folio: a hugetlb folio with refcount 0, unmapped, unpinned.
 *
 * Back on the pool's free list of its zone, or to the buddy allocator when it
 * is a surplus or temporary page. Called by __folio_put().
 * Context: any; takes hugetlb_lock.
 */
void free_huge_folio(struct folio *folio);

/* ---- mappings ------------------------------------------------------------------- */

extern const struct vm_operations_struct hugetlb_vm_ops;

/**
 * hugetlb_mmap_check - the hugetlb part of mmap's argument checks.
 * @file: a hugetlbfs file (its page size rules, the size bits are ignored),
 *	  or NULL for anonymous MAP_HUGETLB.
 * @flags: mmap flags; for anonymous memory the MAP_HUGE_* size bits choose
 *	   the page size (0 or MAP_HUGE_2MB: 2 MiB; MAP_HUGE_1GB: 1 GiB;
 *	   anything else: no such hstate, Linux's hstate_sizelog()).
 * @len: rounded up to the huge page size, as ksys_mmap_pgoff() does (for
 *	 hugetlbfs files too).
 * @hp: the chosen hstate.
 *
 * Return: 0 or -EINVAL (an unknown huge page size).
 */
int hugetlb_mmap_check(struct file *file, unsigned long flags, unsigned long *len,
		       struct hstate **hp);

/**
 * hugetlb_reserve_pages - reserve the huge pages of a new private mapping.
 * @h: its hstate.
 * @pgoff: the mapping's first page offset (PAGE_SIZE units, huge page aligned).
 * @len: its length (a multiple of the huge page size).
 * @vm_flags: VM_NORESERVE skips the reservation, as Linux does.
 * @resv: the reservation map for the VMA's vm_private_data (with
 *	  VM_NORESERVE an empty one; it also says the VMA's hstate).
 *
 * Return: 0, or -ENOMEM when the pool (with overcommit) cannot promise them;
 * nothing is reserved then.
 */
int hugetlb_reserve_pages(struct hstate *h, pgoff_t pgoff, unsigned long len,
			  vm_flags_t vm_flags, void **resv);

/* Give back a reservation made by hugetlb_reserve_pages() that was never mapped. */
void hugetlb_unreserve_map(void *resv);

/**
 * hugetlb_fault - handle_mm_fault() for a VM_HUGETLB VMA.
 *
 * A missing page is taken from the pool (its reservation, if the VMA owns one
 * for this index) and mapped by a PMD leaf; a write or unshare fault on a
 * read-only leaf goes to hugetlb_wp(): reuse when the folio is anon-exclusive
 * or mapped once, else copy the whole 2 MiB. A migration entry is waited for.
 * Context: mmap_lock held (read).
 * Return: 0 or VM_FAULT_* (SIGBUS when the pool has no page, as Linux's
 * -ENOSPC; OOM when a page table cannot be allocated).
 */
vm_fault_t hugetlb_fault(struct mm_struct *mm, struct vm_area_struct *vma,
			 unsigned long address, unsigned int flags);

/* Zap [start, end) of a VM_HUGETLB VMA: its folios go back (to the pool on the last put). */
void __unmap_hugepage_range(struct vm_area_struct *vma, unsigned long start, unsigned long end);

/**
 * copy_hugetlb_page_range - fork of a VM_HUGETLB VMA.
 *
 * Private: the folio is shared read-only and loses PageAnonExclusive, except
 * a folio that may be pinned in an mm that has pinned
 * (folio_needs_cow_for_dma()): the child gets a copy now and the parent keeps
 * its page writable. Migration entries become read-only ones.
 * Context: both mmap locks held for writing.
 * Return: 0 or -ENOMEM (no huge page for the child's copy).
 */
int copy_hugetlb_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);

/* mprotect of a VM_HUGETLB VMA; returns the base pages changed. */
long hugetlb_change_protection(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, pgprot_t newprot);

/* ---- gigantic folios (src/mem/page_alloc.c) -------------------------------------------- */

/*
 * Make the 2^@order frames from a contiguous allocation (each with one
 * reference) one folio with refcount 1 (Linux: __prep_compound_gigantic_folio),
 * and back (the frames get their references back for free_contig_range()).
 */
void prep_compound_gigantic_folio(struct page *page, unsigned int order);
void destroy_compound_gigantic_folio(struct folio *folio);

/* ---- hugetlbfs (src/fs/hugetlbfs.c) --------------------------------------------------- */

struct file;
struct inode;

/* Reserve @delta more huge pages of @h (or give back -@delta). Return: 0 or -ENOMEM. */
int hugetlb_acct_pages(struct hstate *h, long delta);

/**
 * hugetlb_file_setup - an unlinked hugetlbfs file of @size bytes (rounded up
 * to its page size), for memfd_create(MFD_HUGETLB) and shared MAP_HUGETLB memory.
 * @name: its name; @acctflag: VM_NORESERVE or 0 (reservations come at mmap).
 * @page_size_log: log2 of the page size (MFD_HUGE_* / MAP_HUGE_* >> 26), 0
 *		   for the default 2 MiB: the internal mount of that size.
 * Return: the file (one reference), ERR_PTR(-ENODEV) when no pool has that
 * page size (Linux's get_hstate_idx() < 0), or ERR_PTR(-ENOMEM).
 */
struct file *hugetlb_file_setup(const char *name, size_t size, vm_flags_t acctflag,
				int page_size_log);

/* The page size of a hugetlbfs inode or file (Linux: hstate_inode(), hstate_file()). */
struct hstate *hstate_inode(const struct inode *inode);
struct hstate *hstate_file(const struct file *file);

/**
 * hugetlb_add_file_page - fallocate's step: huge page @idx (in huge pages)
 * of hugetlbfs @inode into its cache, zeroed, unless one is there.
 *
 * Takes the inode's reservation of @idx if mmap made one, else an unreserved
 * free page of the pool.
 * Context: i_rwsem held; takes the hugetlb fault mutex of (mapping, @idx).
 * Return: 0, -ENOSPC when the pool has no page (Linux's hugetlbfs_fallocate),
 * or -ENOMEM.
 */
int hugetlb_add_file_page(struct inode *inode, pgoff_t idx);

/* Is @file a hugetlbfs file? */
bool is_file_hugepages(const struct file *file);

/* A shared mapping's fault consumes the inode's reservation of huge page @idx. */
bool hugetlbfs_resv_consume(struct inode *inode, pgoff_t idx);
void hugetlbfs_resv_restore(struct inode *inode, pgoff_t idx);

/* The hugetlbfs super block, at file-layer boot; exit returns inodes left in use. */
int hugetlbfs_init(void);
unsigned long hugetlbfs_exit(void);

/* ---- migration --------------------------------------------------------------------- */

/**
 * isolate_hugetlb - take an in-use hugetlb folio for migration.
 * @folio: a hugetlb folio.
 * @list: where to put it (on success it holds a reference there).
 *
 * Return: false if it is free, already isolated, or being freed.
 */
bool isolate_hugetlb(struct folio *folio, struct list_head *list);

/**
 * hugetlb_migrate_longterm - migrate the hugetlb folios of @list out of
 * ZONE_MOVABLE and CMA (FOLL_LONGTERM).
 *
 * Each goes to a free pool page that may be pinned long-term, or else to a
 * temporary page from the buddy allocator outside movable memory (Linux's
 * alloc_migrate_hugetlb_folio()); the pool keeps its size (the old page
 * becomes the temporary one when the new one was temporary). Every folio
 * leaves @list and loses the isolation reference.
 * Context: may sleep; no locks held.
 * Return: how many could not be migrated (0 when all were).
 */
unsigned long hugetlb_migrate_longterm(struct list_head *list);

#endif /* PINMM_HUGETLB_H */
