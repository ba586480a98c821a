/* SPDX-License-Identifier: MIT */
/*
 * The mmap level of an address space: the mmap_lock helpers, VMA lookup, and
 * the mmap family of calls (mmap, munmap, mprotect, madvise, mlock).
 *
 * The VMAs of an mm are kept twice, by the mmap_lock: in a red-black tree
 * keyed by vm_start (mm->mm_rb, O(log n) lookup) and in an address-ordered
 * list (mm->mmap_list, for walks). Readers of either hold mmap_lock in any
 * mode; anything that adds, removes or resizes a VMA holds it for writing.
 *
 * The calls without an mm argument act on current->mm, like the system calls
 * they model; they take mmap_lock themselves.
 */
#ifndef PINMM_MMAN_H
#define PINMM_MMAN_H

#include <pinmm/mm_types.h>
#include <sys/mman.h>

/* Linux uapi values the host header may lack. */
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MAP_POPULATE
#define MAP_POPULATE		0x008000
#endif
#ifndef MADV_DONTFORK
#define MADV_DONTFORK		10
#endif
#ifndef MADV_DOFORK
#define MADV_DOFORK		11
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE		14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE		15
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK		18
#endif
#ifndef MADV_KEEPONFORK
#define MADV_KEEPONFORK		19
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED	24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE	103
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT		0x01
#endif

/* ---- mmap_lock ------------------------------------------------------------ */

/* mmap_read_lock() - take @mm's mmap_lock for reading. Context: may sleep. */
static inline void mmap_read_lock(struct mm_struct *mm)
{
	down_read(&mm->mmap_lock);
}

/* mmap_read_lock_killable() - 0 with the lock read-held, or -EINTR on a fatal signal. */
static inline int __must_check mmap_read_lock_killable(struct mm_struct *mm)
{
	return down_read_killable(&mm->mmap_lock);
}

/* mmap_read_trylock() - true if the lock was read-acquired without waiting. */
static inline bool mmap_read_trylock(struct mm_struct *mm)
{
	return down_read_trylock(&mm->mmap_lock);
}

static inline void mmap_read_unlock(struct mm_struct *mm)
{
	up_read(&mm->mmap_lock);
}

/* mmap_write_lock() - take @mm's mmap_lock exclusively. Context: may sleep. */
static inline void mmap_write_lock(struct mm_struct *mm)
{
	down_write(&mm->mmap_lock);
}

/*
 * mmap_write_lock_nested() - exclusive, nesting under another mm's mmap_lock
 * (fork holds the parent's while it builds the child).
 */
static inline void mmap_write_lock_nested(struct mm_struct *mm, unsigned int subclass)
{
	down_write_nested(&mm->mmap_lock, subclass);
}

/* mmap_write_lock_killable() - 0 with the lock write-held, or -EINTR. */
static inline int __must_check mmap_write_lock_killable(struct mm_struct *mm)
{
	return down_write_killable(&mm->mmap_lock);
}

static inline void mmap_write_unlock(struct mm_struct *mm)
{
	up_write(&mm->mmap_lock);
}

/* mmap_write_downgrade() - keep the lock, for reading only; release with mmap_read_unlock(). */
static inline void mmap_write_downgrade(struct mm_struct *mm)
{
	downgrade_write(&mm->mmap_lock);
}

/* The current thread holds @mm's mmap_lock (any mode / for writing); debug builds check. */
static inline void mmap_assert_locked(struct mm_struct *mm)
{
	lockdep_assert_held(&mm->mmap_lock);
}

static inline void mmap_assert_write_locked(struct mm_struct *mm)
{
	lockdep_assert_held_write(&mm->mmap_lock);
}

/* ---- VMA lookup (mmap_lock held, any mode) -------------------------------- */

/**
 * find_vma() - the first VMA that ends above @addr.
 * @mm: the address space.
 * @addr: a user address.
 *
 * The VMA may start above @addr: check vm_start, or use vma_lookup().
 * Context: mmap_lock held. O(log n).
 * Return: the VMA, or NULL if none ends above @addr.
 */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);

/**
 * vma_lookup() - the VMA that contains @addr.
 * @mm: the address space.
 * @addr: a user address.
 *
 * Context: mmap_lock held. O(log n).
 * Return: the VMA with vm_start <= @addr < vm_end, or NULL.
 */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);

/**
 * find_vma_intersection() - the first VMA that overlaps [@start, @end).
 * @mm: the address space.
 * @start: first byte.
 * @end: first byte after.
 *
 * Context: mmap_lock held. O(log n).
 * Return: the lowest such VMA, or NULL.
 */
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, unsigned long start,
					     unsigned long end);

/**
 * vma_next() - the VMA after @vma in address order.
 * @vma: a VMA of an mm whose mmap_lock the caller holds.
 *
 * Return: the next VMA, or NULL at the end.
 */
struct vm_area_struct *vma_next(struct vm_area_struct *vma);

/* vma_first() - the lowest VMA of @mm, or NULL. Context: mmap_lock held. */
struct vm_area_struct *vma_first(struct mm_struct *mm);

/* Every VMA of @mm in address order; mmap_lock held; the body must not unlink @vma. */
#define for_each_vma(mm, vma) \
	for ((vma) = vma_first(mm); (vma); (vma) = vma_next(vma))

/* Anonymous memory: no vm_ops (private, or VM_SHARED anon shared across fork). */
static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return !vma->vm_ops;
}

/*
 * Do accesses through @vma say anything about what is used next? Not where
 * the process said it reads once in order or at random (MADV_SEQUENTIAL,
 * MADV_RANDOM): reclaim ignores its young bits (Linux's vma_has_recency()).
 */
static inline bool vma_has_recency(const struct vm_area_struct *vma)
{
	/* rmap walkers ask without mmap_lock (READ_ONCE in Linux) */
	return !(__atomic_load_n(&vma->vm_flags, __ATOMIC_RELAXED) & (VM_SEQ_READ | VM_RAND_READ));
}

/* A private mapping that may become writable: writes copy (COW). */
static inline bool is_cow_mapping(vm_flags_t flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}

/* Number of pages @vma spans. */
static inline unsigned long vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}

/**
 * vm_get_page_prot() - PTE protection bits for a VMA with @vm_flags.
 * @vm_flags: VM_READ/WRITE/EXEC/SHARED.
 *
 * x86's protection_map: a private writable mapping gets read-only PTEs, so
 * the first write faults and copies (COW); a shared writable one gets RW
 * PTEs; no access gives PAGE_NONE; no VM_EXEC sets NX.
 * Return: the protection.
 */
pgprot_t vm_get_page_prot(vm_flags_t vm_flags);

/*
 * vma_wants_writenotify - must writes to this shared mapping fault first, so
 * the file system sees each page become dirty (->page_mkwrite, or a cache
 * that writes back)? Then its PTEs start read-only (Linux's rule).
 */
bool vma_wants_writenotify(struct vm_area_struct *vma, pgprot_t vm_page_prot);
/*
 * vma_needs_dirty_tracking - a shared writable mapping of such a file: what
 * a writable FOLL_LONGTERM pin must not be taken on (gup.c).
 */
bool vma_needs_dirty_tracking(struct vm_area_struct *vma);
/* The PTE protection for @vma with @flags, write-notify included. */
pgprot_t vma_get_page_prot(const struct vm_area_struct *vma, vm_flags_t flags);
/* Set vma->vm_page_prot from its flags (mmap, mprotect). mmap_lock held for writing. */
void vma_set_page_prot(struct vm_area_struct *vma);

/*
 * Soft-dirty tracking is on for a VMA once clear_refs cleared its
 * VM_SOFTDIRTY (every new VMA is born with it: "all of it is dirty").
 * Then a clean entry must take a write fault before it is written.
 */
static inline bool vma_soft_dirty_enabled(const struct vm_area_struct *vma)
{
	return !(vma->vm_flags & VM_SOFTDIRTY);
}

/* ---- the mmap family: current->mm, mmap_lock taken inside ---------------- */

/**
 * vm_mmap() - map memory into current->mm (mmap(2)).
 * @file: the file to map, or NULL for anonymous memory.
 * @addr: a hint, or the exact address with MAP_FIXED / MAP_FIXED_NOREPLACE.
 * @len: length in bytes, rounded up to pages.
 * @prot: PROT_NONE or PROT_READ|PROT_WRITE|PROT_EXEC.
 * @flags: MAP_PRIVATE or MAP_SHARED, plus MAP_ANONYMOUS, MAP_FIXED,
 *	   MAP_FIXED_NOREPLACE, MAP_POPULATE.
 * @pgoff: offset in the file, in pages (0 for anonymous memory).
 *
 * MAP_FIXED first unmaps whatever overlaps the range; MAP_FIXED_NOREPLACE
 * fails instead. Without either, the range is chosen top-down below
 * mm->mmap_base, 2 MiB aligned for anonymous mappings of 2 MiB or more so
 * transparent huge pages can back them. MAP_POPULATE faults the range in.
 * Context: may sleep; takes current->mm's mmap_lock for writing.
 * Return: the start address, or -EINVAL (zero or overflowing length, bad
 * flags, unaligned MAP_FIXED address), -ENOMEM (no room), -EEXIST
 * (MAP_FIXED_NOREPLACE over a mapping), -ENODEV (file mappings, not yet)
 * as an unsigned long; test with IS_ERR_VALUE().
 */
unsigned long vm_mmap(struct file *file, unsigned long addr, unsigned long len,
		      unsigned long prot, unsigned long flags, unsigned long pgoff);

/**
 * vm_munmap() - remove the mappings in [@start, @start + @len) (munmap(2)).
 * @start: page-aligned start.
 * @len: length, rounded up to pages.
 *
 * VMAs that straddle an end are split; holes are fine.
 * Context: may sleep; takes current->mm's mmap_lock for writing.
 * Return: 0, -EINVAL (unaligned, zero or overflowing range), -ENOMEM (a
 * split would need memory that is not there).
 */
int vm_munmap(unsigned long start, size_t len);

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE		1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED		2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif

/* mremap(2) on @mm: see src/mm/mremap.c and docs/mremap.md. Address or -errno. */
long do_mremap(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
	       unsigned long new_len, unsigned long flags, unsigned long new_addr);

/**
 * vm_mremap() - mremap(2) on current->mm: grow, shrink or move a mapping.
 * @addr: page-aligned start of the old range.
 * @old_len: its length.
 * @new_len: the new length.
 * @flags: MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP.
 * @new_addr: the destination with MREMAP_FIXED.
 *
 * A move carries page-table entries, never data: pinned pages stay pinned.
 * Context: takes mmap_lock for writing.
 * Return: the (new) address, or -errno as an IS_ERR_VALUE() address
 * (do_mremap() lists them).
 */
unsigned long vm_mremap(unsigned long addr, unsigned long old_len, unsigned long new_len,
			unsigned long flags, unsigned long new_addr);

/**
 * do_mprotect() - change the protection of [@start, @start + @len) (mprotect(2)).
 * @start: page-aligned start.
 * @len: length, rounded up to pages.
 * @prot: PROT_NONE or PROT_READ|PROT_WRITE|PROT_EXEC.
 *
 * Splits VMAs at the ends, updates their flags and page protection, rewrites
 * the PTEs (change_protection()), and merges neighbours that became equal.
 * Context: may sleep; takes current->mm's mmap_lock for writing.
 * Return: 0, -EINVAL (bad arguments), -ENOMEM (part of the range is not
 * mapped; the part before the hole is changed, as in Linux), -EACCES (a
 * protection the mapping may never have, e.g. PROT_WRITE on a shared
 * mapping without VM_MAYWRITE).
 */
int do_mprotect(unsigned long start, size_t len, unsigned long prot);

/**
 * do_madvise() - give advice about [@start, @start + @len) of @mm (madvise(2)).
 * @mm: the address space.
 * @start: page-aligned start.
 * @len: length, rounded up to pages.
 * @behavior: MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL (VM_RAND_READ,
 *	      VM_SEQ_READ: reclaim ignores such a mapping's young bits),
 *	      MADV_WILLNEED (swapped-out anon pages into the swap cache, file
 *	      pages into the page cache; nothing mapped), MADV_DONTDUMP,
 *	      MADV_DODUMP (-EINVAL on VM_SPECIAL mappings), MADV_GUARD_INSTALL,
 *	      MADV_GUARD_REMOVE (guard pages; -EINVAL on hugetlb, VM_SPECIAL
 *	      and, on install, locked VMAs; docs/guard.md),
 *	      MADV_DONTNEED (-EINVAL on locked VMAs but hugetlb ones; whole
 *	      huge pages on hugetlb: -EINVAL for a start inside one),
 *	      MADV_DONTNEED_LOCKED (the same on locked VMAs too), MADV_HUGEPAGE,
 *	      MADV_NOHUGEPAGE, MADV_DONTFORK,
 *	      MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
 *	      MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_COLLAPSE, MADV_COLD,
 *	      MADV_PAGEOUT (src/mm/madvise.c: -EINVAL on locked, PFN-mapped or
 *	      hugetlb VMAs, as Linux's can_madv_lru_vma(); shared mappings are
 *	      skipped), MADV_FREE (private anonymous memory only, else -EINVAL;
 *	      docs/swap.md), MADV_REMOVE (punches the file behind a shared
 *	      mapping; -EACCES without VM_SHARED|VM_MAYWRITE, -EINVAL on
 *	      anonymous private or locked VMAs; drops mmap_lock around the punch).
 *
 * Advice that changes vm_flags splits and merges VMAs like mprotect.
 * Context: may sleep; takes @mm's mmap_lock (read or write, per advice).
 * Return: 0, -EINVAL (unknown advice, bad range, advice that does not apply
 * to the mapping), -ENOMEM (part of the range is not mapped), the error of
 * populating (-EFAULT, -ENOMEM, -EINTR), or of punching (-EACCES, -EPERM
 * on a sealed memfd, the file system's).
 */
int do_madvise(struct mm_struct *mm, unsigned long start, size_t len, int behavior);

/**
 * do_mlock() - lock [@start, @start + @len) of current->mm in memory (mlock2(2)).
 * @start: start, rounded down to a page.
 * @len: length, rounded up to pages.
 * @flags: 0 (VM_LOCKED: fault everything in now) or VM_LOCKONFAULT
 *	   (VM_LOCKED|VM_LOCKONFAULT: lock pages as they are faulted).
 *
 * mm->locked_vm counts the locked pages; without CAP_IPC_LOCK the total
 * may not pass RLIMIT_MEMLOCK (-ENOMEM), and a limit of 0 refuses mlock
 * altogether (-EPERM), as can_do_mlock() does.
 * Context: may sleep; takes current->mm's mmap_lock for writing, then for
 * reading to populate.
 * Return: 0, -EINVAL, -EPERM, -ENOMEM (over the limit, part of the range is
 * not mapped, or a page could not be faulted in: PROT_NONE, a guard, past
 * the end of a file; the VMAs stay locked), -EAGAIN (populating ran out of
 * memory).
 */
int do_mlock(unsigned long start, size_t len, vm_flags_t flags);

/**
 * mlock_future_ok() - may @mm lock @bytes more (Linux's)? Always for
 * @flags without VM_LOCKED, with CAP_IPC_LOCK or RLIMIT_MEMLOCK infinite.
 * For mappings that come locked: MAP_LOCKED, a locked VMA's growth
 * (mremap), secretmem. Context: current's limits and capabilities.
 */
bool mlock_future_ok(struct mm_struct *mm, vm_flags_t flags, unsigned long bytes);

/**
 * __account_locked_vm() - charge or uncharge @pages to @mm->locked_vm.
 * @mm: the mm; its mmap_lock is held for writing.
 * @pages: how many.
 * @inc: charge (true) or uncharge.
 * @task: whose RLIMIT_MEMLOCK a charge is checked against.
 * @bypass_rlim: skip that check (the caller is capable(CAP_IPC_LOCK)).
 *
 * For drivers that pin long-term and account it as locked memory (VFIO
 * type1, vDPA). An uncharge of more than is charged is a WARN, and clamps.
 * Return: 0, or -ENOMEM when the charge would pass the limit (nothing charged).
 */
int __account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc,
			struct task_struct *task, bool bypass_rlim);

/**
 * account_locked_vm() - __account_locked_vm() for current, taking @mm's
 * mmap_lock for writing and bypassing the limit if capable(CAP_IPC_LOCK).
 * @mm: NULL, or the mm to charge; @pages 0 or a NULL @mm is a no-op.
 * Context: may sleep.
 * Return: 0 or -ENOMEM.
 */
int account_locked_vm(struct mm_struct *mm, unsigned long pages, bool inc);

/**
 * do_munlock() - unlock [@start, @start + @len) of current->mm (munlock(2)).
 * @start: start, rounded down to a page.
 * @len: length, rounded up to pages.
 *
 * Context: may sleep; takes current->mm's mmap_lock for writing.
 * Return: 0, -EINVAL, -ENOMEM (part of the range is not mapped).
 */
int do_munlock(unsigned long start, size_t len);

/**
 * pinmm_map_device() - map device memory (a BAR) into current->mm, as a
 * driver's mmap() does.
 * @pfn: first frame of the device memory (the MMIO window, see mm.h).
 * @size: bytes, rounded up to pages.
 * @prot: PROT_READ|PROT_WRITE.
 *
 * The VMA is VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP and shared; its PTEs
 * are installed at once with remap_pfn_range(). GUP refuses such VMAs.
 * Context: may sleep; takes current->mm's mmap_lock for writing.
 * Return: the user address, or a negative errno as an unsigned long.
 */
/**
 * vm_mmap_driver - what a driver's ->mmap sets up: a VMA of current->mm with
 * the driver's operations, file and private data; pages come from ->fault.
 * @len: bytes; @prot: PROT_*; @flags: MAP_SHARED or MAP_PRIVATE.
 * @pgoff: offset in the object, in pages.
 * Context: takes current->mm's mmap_lock for writing.
 * Return: the address, or -errno.
 */
unsigned long vm_mmap_driver(unsigned long len, unsigned long prot, unsigned long flags,
			     unsigned long pgoff, const struct vm_operations_struct *ops,
			     struct file *file, void *private_data);

unsigned long pinmm_map_device(unsigned long pfn, unsigned long size, unsigned long prot);

/**
 * exit_mmap() - tear down every mapping of @mm.
 * @mm: an mm whose last user is gone (called by mmput()).
 *
 * Releases MMU notifiers first, then unmaps every VMA, frees the page
 * tables below the top level and frees the VMAs.
 * Context: may sleep; takes @mm's mmap_lock for writing.
 */
void exit_mmap(struct mm_struct *mm);

#endif /* PINMM_MMAN_H */
