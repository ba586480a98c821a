/* SPDX-License-Identifier: MIT */
/*
 * Page tables, faults, COW, zap, fork's page copy (src/mm/pgtable.c,
 * src/mm/memory.c, src/mm/mprotect.c): "Part B" of docs/mm-interfaces.md.
 *
 * Page tables are four levels of 512 entries, each table one unmovable frame
 * marked PageTable. Every PMD and PTE table has its own spinlock, kept in the
 * table's struct page (ptl_space): the PMD-table lock guards the PMD entries
 * (THP leaves) and installing PTE tables, the PTE-table lock guards the PTEs
 * of that table. mm->page_table_lock installs PUD and PMD tables. Tables are
 * freed after an RCU grace period, so a lockless walker inside
 * rcu_read_lock() (GUP-fast, pte_offset_map()) never reads a freed table.
 *
 * Reference and mapcount rules (Linux's): every PTE that maps a page of a
 * folio holds one folio reference and one mapcount of that page; a PMD leaf
 * holds one reference and one entire mapcount. The zero page and VM_PFNMAP
 * pfns are mapped by special PTEs that hold nothing.
 *
 * Synchronisation:
 *   fault  vs fault    on one mm: both under mmap_lock (read); PTE/PMD locks
 *   fault  vs munmap   excluded by mmap_lock (munmap holds it for write)
 *   fault  vs rmap walk (migration, split) PTE/PMD locks; walker holds the
 *                      folio lock and the anon_vma lock
 *   zap    vs GUP-fast GUP-fast re-checks the entry after its speculative grab
 *   fork   vs GUP-fast mm->write_protect_seq (odd while fork copies)
 */
#ifndef PINMM_MEMORY_H
#define PINMM_MEMORY_H

#include <pinmm/mm.h>
#include <pinmm/rcupdate.h>

struct task_struct;

/* ---- mm counters (Linux: get_mm_counter & co. in mm.h) -------------------- */

static inline long get_mm_counter(struct mm_struct *mm, int member)
{
	return atomic_load_explicit(&mm->rss_stat[member], memory_order_relaxed);
}

static inline void add_mm_counter(struct mm_struct *mm, int member, long value)
{
	atomic_fetch_add_explicit(&mm->rss_stat[member], value, memory_order_relaxed);
}

static inline void inc_mm_counter(struct mm_struct *mm, int member)
{
	add_mm_counter(mm, member, 1);
}

static inline void dec_mm_counter(struct mm_struct *mm, int member)
{
	add_mm_counter(mm, member, -1);
}

/* Which counter a mapped folio is charged to: anon, shmem (swap-backed) or file. */
static inline int mm_counter(const struct folio *folio)
{
	if (folio_test_anon(folio))
		return MM_ANONPAGES;
	return folio_test_swapbacked(folio) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

static inline unsigned long get_mm_rss(struct mm_struct *mm)
{
	return (unsigned long)(get_mm_counter(mm, MM_FILEPAGES) +
			       get_mm_counter(mm, MM_ANONPAGES) +
			       get_mm_counter(mm, MM_SHMEMPAGES));
}

static inline unsigned long mm_pgtables_bytes(struct mm_struct *mm)
{
	return (unsigned long)atomic_load_explicit(&mm->pgtables_bytes, memory_order_relaxed);
}

/* ---- entries <-> tables and pages ------------------------------------------ */

/* The table an upper-level entry points to (its frame seen through the arena). */
static inline void *pt_table_va(unsigned long entry)
{
	return pfn_to_virt((entry & PTE_PFN_MASK) >> PAGE_SHIFT);
}

/* A PMD that points to a PTE table (present, not a leaf). */
static inline bool pmd_is_table(pmd_t pmd)
{
	return pmd_present(pmd) && !(pmd_val(pmd) & _PAGE_PSE);
}

static inline bool pud_is_table(pud_t pud)
{
	return pud_present(pud) && !(pud_val(pud) & _PAGE_PSE);
}

static inline struct page *pte_page(pte_t pte)
{
	return pfn_to_page(pte_pfn(pte));
}

static inline struct page *pmd_page(pmd_t pmd)
{
	return pfn_to_page(pmd_pfn(pmd));
}

static inline pte_t mk_pte(struct page *page, pgprot_t prot)
{
	return pfn_pte(page_to_pfn(page), prot);
}

/*
 * The protection bits an entry really gets. PAGE_NONE (PROT_NONE) stays
 * present but without _PAGE_USER, as x86 keeps PROT_NONE entries present
 * (its PROTNONE): the mapping and its page survive mprotect(PROT_NONE) and
 * back, and every user access (uaccess, GUP-fast's pte_access_permitted)
 * faults. A plain zero would read as a swap entry.
 */
static inline pgprot_t pgprot_entry(pgprot_t prot)
{
	if (!(prot.pgprot & _PAGE_PRESENT))
		return (pgprot_t){ _PAGE_PRESENT | _PAGE_ACCESSED | (prot.pgprot & _PAGE_NX) };
	return prot;
}

static inline pgprot_t vma_pte_prot(const struct vm_area_struct *vma)
{
	return pgprot_entry(vma->vm_page_prot);
}

/* May a user-mode access of this kind go through @pte without a fault? */
static inline bool pte_access_permitted(pte_t pte, bool write)
{
	unsigned long need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);

	return (pte_val(pte) & need) == need;
}

static inline bool pmd_access_permitted(pmd_t pmd, bool write)
{
	unsigned long need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);

	return (pmd_val(pmd) & need) == need;
}

/* A writable PTE only where the VMA allows writing (Linux maybe_mkwrite). */
static inline pte_t maybe_mkwrite(pte_t pte, struct vm_area_struct *vma)
{
	if (likely(vma->vm_flags & VM_WRITE))
		pte = pte_mkwrite(pte);
	return pte;
}

static inline bool pud_access_permitted(pud_t pud, bool write)
{
	unsigned long need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);

	return (pud_val(pud) & need) == need;
}

static inline pmd_t maybe_pmd_mkwrite(pmd_t pmd, struct vm_area_struct *vma)
{
	if (likely(vma->vm_flags & VM_WRITE))
		pmd = pmd_mkwrite(pmd);
	return pmd;
}

/* Linear page index of @address in @vma's object: what folio->index holds. */
static inline pgoff_t linear_page_index(const struct vm_area_struct *vma,
					unsigned long address)
{
	return ((address - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
}

/* The next PMD boundary after @addr, or @end if sooner (Linux pmd_addr_end). */
static inline unsigned long pmd_addr_end(unsigned long addr, unsigned long end)
{
	unsigned long b = (addr + PMD_SIZE) & PMD_MASK;

	return (b - 1 < end - 1) ? b : end;
}

static inline unsigned long pud_addr_end(unsigned long addr, unsigned long end)
{
	unsigned long b = (addr + PUD_SIZE) & ~(PUD_SIZE - 1);

	return (b - 1 < end - 1) ? b : end;
}

static inline unsigned long pgd_addr_end(unsigned long addr, unsigned long end)
{
	unsigned long b = (addr + (1UL << PGDIR_SHIFT)) & ~((1UL << PGDIR_SHIFT) - 1);

	return (b - 1 < end - 1) ? b : end;
}

/*
 * A full memory barrier (Linux smp_mb()) that also builds under TSan, where
 * GCC rejects atomic_thread_fence(): there a seq_cst RMW stands in (a full
 * fence on x86, the only TSan target).
 */
static inline void pinmm_smp_mb(void)
{
#ifdef PINMM_TSAN
	static atomic_int fence_word;

	atomic_fetch_add_explicit(&fence_word, 0, memory_order_seq_cst);
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* vma->anon_vma is set once under page_table_lock and read without it. */
static inline struct anon_vma *vma_anon_vma(const struct vm_area_struct *vma)
{
	return __atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE);
}

/**
 * folio_needs_cow_for_dma - must fork copy this folio rather than share it?
 * @vma: the parent's VMA.
 * @folio: a folio it maps.
 *
 * True when the mm has ever pinned (MMF_HAS_PINNED) and the folio may be
 * pinned: sharing it COW would let the parent's next write move the parent
 * away from the page a device is still using.
 * Context: fork, both mmap locks held for write, write_protect_seq odd.
 * Return: true if fork must copy the page for the child now.
 */
static inline bool folio_needs_cow_for_dma(struct vm_area_struct *vma, struct folio *folio)
{
	/*
	 * The answer holds only while GUP-fast backs off: a pin taken after
	 * the test would miss both the copy and the write-protect.
	 */
	VM_WARN_ON_ONCE(!(raw_read_seqcount(&vma->vm_mm->write_protect_seq) & 1));
	if (!mm_flags_test(MMF_HAS_PINNED, vma->vm_mm))
		return false;
	return folio_maybe_dma_pinned(folio);
}

/* ---- pgtable.c ------------------------------------------------------------- */

/**
 * pgd_alloc - allocate @mm's top-level table.
 * @mm: a new mm.
 *
 * Also initialises mm->page_table_lock.
 * Context: any; allocates one unmovable frame.
 * Return: 0 with mm->pgd set, or -ENOMEM.
 */
int pgd_alloc(struct mm_struct *mm);
/**
 * pgd_free - free @mm's top-level table and any table still below it.
 * @mm: an mm with no users left; every mapping must already be zapped.
 *
 * Tables still linked (free_pgd_range leaves the ones bordering
 * FIRST_USER_ADDRESS) are freed too; a leaf entry still present WARNs.
 * Context: no other thread uses @mm; tables go back after a grace period.
 */
void pgd_free(struct mm_struct *mm);
/**
 * free_pgd_range - free the page tables that cover only [@addr, @end).
 * @mm: the mm, mmap_lock held for write.
 * @addr: start of the range whose mappings are gone (zapped).
 * @end: end of that range.
 * @floor: lowest address another VMA may still use below (prev->vm_end, or
 *         FIRST_USER_ADDRESS).
 * @ceiling: first address another VMA may use above (next->vm_start), or 0
 *           for the top of the address space.
 *
 * A table is freed when the whole span it maps lies inside [@floor, @ceiling)
 * and meets [@addr, @end); its entry in the level above is cleared first and
 * the frame returns after an RCU grace period. Tables must be empty.
 * Context: mmap_lock held for write; takes page-table locks.
 */
void free_pgd_range(struct mm_struct *mm, unsigned long addr, unsigned long end,
		    unsigned long floor, unsigned long ceiling);

/* Install a table below an empty entry; 0 or -ENOMEM (racing installs are fine). */
int __pud_alloc(struct mm_struct *mm, pgd_t *pgd);
int __pmd_alloc(struct mm_struct *mm, pud_t *pud);
int __pte_alloc(struct mm_struct *mm, pmd_t *pmd);
/*
 * pmd_install - link the table *@prealloc below @pmd if it is still empty,
 * and clear *@prealloc (the table is the mm's now); if a racing fault
 * installed one first, *@prealloc stays with the caller to free.
 * Context: mmap_lock held; takes the PMD-table lock.
 */
void pmd_install(struct mm_struct *mm, pmd_t *pmd, struct page **prealloc);

/**
 * pmd_alloc_walk - the PMD entry for @addr, allocating PUD/PMD tables.
 * @mm: the mm, mmap_lock held.
 * @addr: a user address.
 * Return: the PMD entry, or NULL on -ENOMEM.
 */
pmd_t *pmd_alloc_walk(struct mm_struct *mm, unsigned long addr);

/**
 * pud_alloc_walk - the PUD entry for @addr, allocating the PUD table.
 * @mm: the mm, mmap_lock held.
 * @addr: a user address.
 * Return: the PUD entry (none, a table, a leaf or a migration entry), or
 * NULL on -ENOMEM. Only hugetlb maps at this level (gigantic folios).
 */
pud_t *pud_alloc_walk(struct mm_struct *mm, unsigned long addr);

/**
 * mm_find_pud - the PUD entry for @address, without allocating.
 * @mm: the mm; the caller keeps its tables alive (mmap_lock or RCU).
 * @address: a user address.
 * Return: the entry, or NULL when no PUD table covers @address.
 */
pud_t *mm_find_pud(struct mm_struct *mm, unsigned long address);

/**
 * mm_find_pmd - the PMD entry for @address, without allocating.
 * @mm: the mm; the caller keeps its tables alive (mmap_lock or RCU).
 * @address: a user address.
 * Return: the entry (which may be none, a table or a leaf), or NULL when
 * no PMD table covers @address.
 */
pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long address);
/* The lock of the PTE table @pmd points to (@pmd must be a table). */
spinlock_t *pte_lockptr(struct mm_struct *mm, pmd_t *pmd);
/* The lock of the PMD table that holds @pmd. */
spinlock_t *pmd_lockptr(struct mm_struct *mm, pmd_t *pmd);

/* pmd_lock - take the PMD-table lock of @pmd; return it for spin_unlock(). */
static inline spinlock_t *pmd_lock(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pmd_lockptr(mm, pmd);

	spin_lock(ptl);
	return ptl;
}

/**
 * pte_offset_map - map the PTE for @addr for a lockless look.
 * @pmd: the PMD entry.
 * @addr: the address.
 * @pmdvalp: if not NULL, receives the PMD value the table was found through.
 *
 * Enters an RCU read-side section so the table cannot be freed under the
 * caller; pte_unmap() leaves it.
 * Return: the PTE, or NULL (no section held) when @pmd is not a table.
 */
pte_t *pte_offset_map(pmd_t *pmd, unsigned long addr, pmd_t *pmdvalp);

/**
 * pmd_migration_entry_wait - a fault met a PMD migration entry (THP or
 * hugetlb): wait until the migrator unlocks the folio, then return for the
 * fault to be retried.
 * Context: mmap_lock held (read); takes the PMD lock, sleeps on the folio lock.
 */
void pmd_migration_entry_wait(struct mm_struct *mm, pmd_t *pmd);

void pte_unmap(pte_t *pte);
/**
 * pte_offset_map_lock - map and lock the PTE for @addr.
 * @mm: the mm.
 * @pmd: the PMD entry.
 * @addr: the address.
 * @ptlp: receives the lock taken.
 *
 * Re-checks under the lock that @pmd still points to the same table, so a
 * racing split, collapse or table free is never missed.
 * Context: takes the PTE-table lock and an RCU read-side section.
 * Return: the PTE (release with pte_unmap_unlock()), or NULL when @pmd is not
 * a PTE table.
 */
pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
			   spinlock_t **ptlp);
void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl);
/* Like pte_offset_map_lock() but with a subclass for the second lock (fork). */
pte_t *pte_offset_map_lock_nested(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
				  spinlock_t **ptlp, unsigned int subclass);

/*
 * Deposit a preallocated PTE table with a THP PMD (so a later split needs no
 * allocation) and take it back. PMD-table lock held.
 */
void pgtable_trans_huge_deposit(struct mm_struct *mm, pmd_t *pmd, struct page *table);
struct page *pgtable_trans_huge_withdraw(struct mm_struct *mm, pmd_t *pmd);
/* A fresh, zeroed, accounted PTE table not yet linked anywhere; NULL if none. */
struct page *pte_table_alloc(struct mm_struct *mm);
/* Free a PTE table that was never reachable by a walker (or was withdrawn). */
void pte_table_free(struct mm_struct *mm, struct page *table);
/* Free a withdrawn PTE table a lockless walker may still read: after a grace period. */
void pte_table_free_rcu(struct mm_struct *mm, struct page *table);
/* The PMD value that points to the PTE table @table. */
static inline pmd_t pmd_mktable(struct page *table)
{
	return __pmd((page_to_pfn(table) << PAGE_SHIFT) | _PAGE_TABLE);
}

/* ---- memory.c -------------------------------------------------------------- */

/**
 * handle_mm_fault - resolve a fault on @address as a CPU would.
 * @vma: the VMA containing @address.
 * @address: the faulting user address.
 * @flags: FAULT_FLAG_*: WRITE for a store, UNSHARE (never with WRITE) to make
 *         an anon page exclusive without making it writable, USER for a user
 *         access, ALLOW_RETRY/RETRY_NOWAIT/KILLABLE/TRIED for ->fault().
 * @regs: unused (Linux's register frame).
 *
 * Missing PTEs are filled (anon: the zero page for reads, a zeroed folio for
 * writes, a THP where the VMA allows; files: vm_ops->fault()); write faults
 * on read-only anon PTEs reuse the page when this mm is its only user and
 * copy it otherwise (COW). A write to a VMA without VM_WRITE is a SIGSEGV
 * unless it is a FOLL_FORCE-style fault (no FAULT_FLAG_USER) on a private,
 * may-write mapping, which COWs without making the PTE writable.
 * Counts PGFAULT.
 * Context: mmap_lock held for reading. With ALLOW_RETRY and without
 * RETRY_NOWAIT, a VM_FAULT_RETRY (or VM_FAULT_COMPLETED) return means
 * ->fault() released mmap_lock and @vma must not be touched again.
 * Return: 0 or VM_FAULT_* bits (VM_FAULT_ERROR bits on failure).
 */
vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
			   unsigned int flags, void *regs);
/**
 * set_pte_range - map @nr consecutive pages of @folio, from @page, at @addr.
 * @vmf: the fault; vmf->pte points at @addr's entry, every one of the @nr
 *       entries is none, and vmf->ptl is held.
 * @folio: a page-cache folio (or, for a write fault on a private mapping,
 *         the new COW copy, which becomes anon here).
 * @page: its first page to map.
 * @nr: how many.
 * @addr: the user address of @page.
 *
 * Builds the entries from the VMA's protection: read-only in a private
 * mapping, writable and dirty for a write fault the VMA allows, dirty where
 * a writable shared mapping maps a folio that already is. Adds the rmap and
 * the rss counters; the caller hands over one folio reference per page.
 */
void set_pte_range(struct vm_fault *vmf, struct folio *folio, struct page *page,
		   unsigned int nr, unsigned long addr);
/*
 * Fault-around (Linux's debugfs fault_around_bytes): how much a read fault
 * on a file maps of what the page cache already holds, aligned, within the
 * VMA and the PTE table. A power of two from PAGE_SIZE (off) to 2 MiB;
 * 64 KiB by default (and at every boot). pinmm_set_fault_around_bytes()
 * rounds down; -EINVAL above 2 MiB.
 */
#define FAULT_AROUND_BYTES_DEFAULT	(64UL << 10)
unsigned long pinmm_fault_around_bytes(void);
int pinmm_set_fault_around_bytes(unsigned long bytes);
/**
 * zap_page_range_single - unmap the pages of [@address, @address + @size).
 * @vma: the VMA; the range must lie inside it.
 * @address: page-aligned start.
 * @size: bytes.
 *
 * MADV_DONTNEED: the next touch faults in fresh memory. MMU notifiers see a
 * CLEAR event around the change. PMD THPs not fully covered are split first.
 * Guard markers (MADV_GUARD_INSTALL) stay.
 * Context: mmap_lock held (read or write); takes page-table locks.
 */
void zap_page_range_single(struct vm_area_struct *vma, unsigned long address,
			   unsigned long size);
/**
 * unmap_vma_range - clear every PTE/PMD of @vma in [@start, @end).
 * @vma: the VMA being unmapped (munmap, exit).
 * @start: page-aligned start, inside @vma.
 * @end: page-aligned end.
 *
 * Drops the rmap and the reference each entry held and the rss counters,
 * and every marker, guards included. MMU notifiers see an UNMAP event
 * around the change.
 * Context: mmap_lock held for write (or the mm has no users); takes
 * page-table locks.
 */
void unmap_vma_range(struct vm_area_struct *vma, unsigned long start, unsigned long end);

struct address_space;
/**
 * unmap_mapping_range - unmap a byte range of a file from every process.
 * @mapping: the file's page cache.
 * @holebegin: first byte (rounded down to a page).
 * @holelen: bytes (rounded up); 0: to the end of the file.
 * @even_cows: also zap private COW copies (truncation: the file ends here);
 *             0 leaves them (invalidation: the copies are the process's).
 *
 * Walks the file's i_mmap list; MMU notifiers fire for each range zapped.
 * Context: may sleep; takes i_mmap_rwsem (read), then page-table locks.
 * Needs no mmap_lock; callers usually hold invalidate_lock or the folio
 * lock, which both rank above i_mmap_rwsem.
 */
void unmap_mapping_range(struct address_space *mapping, loff_t const holebegin,
			 loff_t const holelen, int even_cows);
/* The same in pages: [@start, @start + @nr); @nr == 0: to the end. */
void unmap_mapping_pages(struct address_space *mapping, pgoff_t start, pgoff_t nr,
			 bool even_cows);
/* Unmap every PTE of a locked page-cache folio from every process. */
void unmap_mapping_folio(struct folio *folio);
/**
 * copy_page_range - fork: copy @src_vma's page-table entries into @dst_vma.
 * @dst_vma: the child's VMA (same range), already linked by anon_vma_fork().
 * @src_vma: the parent's VMA.
 *
 * Shared mappings share the folio. Private anon pages become COW: both sides
 * read-only, PageAnonExclusive cleared, except pages that may be pinned in an
 * mm that has pinned (folio_needs_cow_for_dma): those are copied for the
 * child now and the parent keeps its page writable and exclusive. Zero-page
 * and PFNMAP entries are copied as they are. PMD THPs are shared COW-style,
 * or split and copied per page when they may be pinned.
 * Context: both mmap locks held for write; @src_vma's mm->write_protect_seq
 * held odd by the caller (GUP-fast backs off meanwhile).
 * Return: 0, or -ENOMEM (what was copied stays; the caller tears it down).
 */
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);
/**
 * remap_pfn_range - map raw pfns (a device BAR) into @vma.
 * @vma: the VMA; becomes VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP.
 * @addr: page-aligned start inside @vma.
 * @pfn: first pfn.
 * @size: bytes, page multiple.
 * @prot: protection of the PTEs.
 *
 * The PTEs are special: vm_normal_page() gives NULL for them and no
 * reference or mapcount is taken.
 * Context: mmap_lock held for write.
 * Return: 0, -EINVAL for a bad range, -EACCES if a PTE is already there,
 * -ENOMEM.
 */
int remap_pfn_range(struct vm_area_struct *vma, unsigned long addr, unsigned long pfn,
		    unsigned long size, pgprot_t prot);
/**
 * vm_normal_page - the struct page a PTE maps, if it is a normal one.
 * @vma: the VMA.
 * @addr: the address.
 * @pte: a present PTE value.
 * Return: the page, or NULL for special PTEs (PFNMAP pfns, the zero page).
 */
struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte);
struct folio *vm_normal_folio(struct vm_area_struct *vma, unsigned long addr, pte_t pte);
/* vm_normal_page_pmd - the head page of a PMD leaf, NULL for special ones. */
struct page *vm_normal_page_pmd(struct vm_area_struct *vma, unsigned long addr, pmd_t pmd);
/**
 * populate_range - fault in every page of [@start, @end) in @vma.
 * @vma: the VMA.
 * @start: page-aligned start.
 * @end: page-aligned end, inside @vma.
 * @write: fault for writing (breaks COW, allocates) rather than reading.
 *
 * MAP_POPULATE, mlock and MADV_POPULATE_*. Pages already mapped suitably are
 * left alone.
 * Context: mmap_lock held for reading (never dropped: no ALLOW_RETRY).
 * Return: 0, -ENOMEM, -EFAULT (SIGSEGV: e.g. a write to a read-only VMA) or
 * -EFAULT/-EIO for SIGBUS.
 */
int populate_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
		   bool write);

/* Locked-PTE lookup for @address (uaccess, tests): NULL if nothing is mapped. */
pte_t *get_locked_pte(struct mm_struct *mm, unsigned long address, spinlock_t **ptlp);

/* ---- mprotect.c ------------------------------------------------------------ */

/**
 * change_protection - rewrite the PTE/PMD protection of [@start, @end).
 * @vma: the VMA, already carrying @newflags in vm_flags and the matching
 *       vm_page_prot (mprotect_fixup sets them first).
 * @start: page-aligned start inside @vma.
 * @end: page-aligned end.
 * @newflags: the new vm_flags.
 *
 * Entries take vma->vm_page_prot. Write permission is given directly only
 * where no COW is pending (Linux can_change_pte_writable): exclusive anon
 * pages of private mappings, and dirty pages of shared mappings; everything
 * else stays read-only and takes a write fault first. PMD THPs straddling
 * the range are split. MMU notifiers see PROTECTION_VMA.
 * Context: mmap_lock held for write.
 * Return: the number of entries changed.
 */
long change_protection(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, unsigned long newflags);

#endif /* PINMM_MEMORY_H */
