/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd write-protect (Linux: fs/userfaultfd.c, mm/userfaultfd.c,
 * include/linux/userfaultfd_k.h), reduced to what meets pins:
 * UFFDIO_API, UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP,
 * UFFDIO_WRITEPROTECT, close(), the fork event, PTE markers for
 * unpopulated ranges (UFFD_FEATURE_WP_UNPOPULATED). Missing and minor
 * faults are not modelled.
 *
 * Linux's reader thread (read(uffd) + ioctl) is a handler callback here:
 * a write to a uffd-wp entry calls it, with mmap_lock dropped, in the
 * faulting thread, then the fault is retried (VM_FAULT_RETRY), as the
 * woken faulting thread of Linux retries. A fault that may not drop
 * mmap_lock (no FAULT_FLAG_ALLOW_RETRY), or a context with no handler,
 * gets VM_FAULT_SIGBUS (GUP: -EFAULT). docs/soft-dirty-uffd.md.
 */
#ifndef PINMM_USERFAULTFD_H
#define PINMM_USERFAULTFD_H

#include <pinmm/mm_types.h>
#include <pinmm/pgtable.h>

/* UFFDIO_API features (Linux's uapi values); others are refused. */
#define UFFD_FEATURE_EVENT_FORK		(1UL << 1)	/* the child keeps uffd-wp, a new context */
#define UFFD_FEATURE_WP_UNPOPULATED	(1UL << 13)	/* protect holes of anon memory: markers */
#define UFFD_API_FEATURES	(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_WP_UNPOPULATED)

#define UFFDIO_REGISTER_MODE_MISSING	(1UL << 0)	/* not modelled: -EINVAL */
#define UFFDIO_REGISTER_MODE_WP		(1UL << 1)
#define UFFDIO_REGISTER_MODE_MINOR	(1UL << 2)	/* not modelled: -EINVAL */

#define UFFDIO_WRITEPROTECT_MODE_WP		(1UL << 0)
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE	(1UL << 1)

#define UFFD_EVENT_PAGEFAULT	0x12
#define UFFD_EVENT_FORK		0x13
#define UFFD_PAGEFAULT_FLAG_WRITE	(1UL << 0)
#define UFFD_PAGEFAULT_FLAG_WP		(1UL << 1)

struct userfaultfd_ctx;

/* What the reader of the uffd would read: a fault, or a fork. */
struct uffd_msg {
	unsigned int event;
	union {
		struct {
			unsigned long flags;	/* UFFD_PAGEFAULT_FLAG_* */
			unsigned long address;
		} pagefault;
		struct {
			struct userfaultfd_ctx *ctx;	/* the child's: the handler owns it */
		} fork;
	} arg;
};

/*
 * The reader: resolve a fault (usually pinmm_uffd_writeprotect(..., 0)),
 * or take a fork's new context (release it with
 * pinmm_userfaultfd_release()). Called with no mm lock held.
 */
typedef void (*uffd_handler_t)(struct userfaultfd_ctx *ctx, const struct uffd_msg *msg,
			       void *arg);

/**
 * pinmm_userfaultfd_create() - userfaultfd(2) plus UFFDIO_API for @mm.
 * @mm: the address space the context serves.
 * @features: UFFD_FEATURE_* bits.
 * @handler: the reader, or NULL (write-protect faults then SIGBUS).
 * @arg: passed to @handler.
 *
 * Return: the context (release it with pinmm_userfaultfd_release()), or
 * NULL: unknown @features (Linux: -EINVAL) or out of memory.
 */
struct userfaultfd_ctx *pinmm_userfaultfd_create(struct mm_struct *mm, unsigned long features,
						 uffd_handler_t handler, void *arg);

/**
 * pinmm_userfaultfd_release() - close(uffd): every VMA registered with @ctx
 * is unregistered (its uffd-wp bits and markers removed), then @ctx freed.
 * Context: takes mmap_lock of @ctx's mm for writing.
 */
void pinmm_userfaultfd_release(struct userfaultfd_ctx *ctx);

/* The mm of @ctx (a fork event's context serves the child). */
struct mm_struct *pinmm_userfaultfd_mm(struct userfaultfd_ctx *ctx);

/**
 * pinmm_uffd_register() - UFFDIO_REGISTER of [@start, +@len) with @mode.
 * @ctx: the context.
 * @start: page-aligned start.
 * @len: page-aligned length.
 * @mode: UFFDIO_REGISTER_MODE_WP (MISSING and MINOR are not modelled).
 *
 * VMAs are split at the ends and get VM_UFFD_WP. Only anonymous memory
 * (private or shared) can be registered.
 * Context: takes mmap_lock for writing.
 * Return: 0; -EINVAL for a bad range or mode, a hole, or a VMA that cannot
 * be registered; -EBUSY if another context has part of it; -ENOMEM.
 */
int pinmm_uffd_register(struct userfaultfd_ctx *ctx, unsigned long start, unsigned long len,
			unsigned long mode);

/* UFFDIO_UNREGISTER: as release, for [@start, +@len). Return: 0, -EINVAL, -ENOMEM. */
int pinmm_uffd_unregister(struct userfaultfd_ctx *ctx, unsigned long start, unsigned long len);

/**
 * pinmm_uffd_writeprotect() - UFFDIO_WRITEPROTECT of [@start, +@len).
 * @ctx: the context the range is registered with.
 * @start: page-aligned start.
 * @len: page-aligned length.
 * @mode: UFFDIO_WRITEPROTECT_MODE_WP to protect, 0 to resolve.
 *
 * Protecting sets the uffd-wp bit on each entry and write-protects it
 * (PMD leaves whole, THPs across the ends split), and with
 * UFFD_FEATURE_WP_UNPOPULATED puts a uffd-wp PTE marker in each hole of
 * anon memory. Resolving clears bits and markers and makes an entry
 * writable again where no COW can be pending (exclusive anon page).
 * Pinned pages are protected like any other: a later write faults to the
 * handler, a write pin waits for it, never writes through.
 * Context: takes mmap_lock for reading.
 * Return: 0; -EINVAL for a bad range or mode; -ENOENT if part of the range
 * is not registered for WP with @ctx; -ENOMEM.
 */
int pinmm_uffd_writeprotect(struct userfaultfd_ctx *ctx, unsigned long start, unsigned long len,
			    unsigned long mode);

/* ---- the kernel side: faults, fork ------------------------------------------ */

static inline bool userfaultfd_wp(const struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_UFFD_WP;
}

static inline bool userfaultfd_pte_wp(const struct vm_area_struct *vma, pte_t pte)
{
	return userfaultfd_wp(vma) && pte_uffd_wp(pte);
}

static inline bool userfaultfd_huge_pmd_wp(const struct vm_area_struct *vma, pmd_t pmd)
{
	return userfaultfd_wp(vma) && pmd_uffd_wp(pmd);
}

/*
 * handle_userfault() - a write met a uffd-wp entry: hand it to the reader.
 * mmap_lock (read) held; dropped when the handler runs (VM_FAULT_RETRY).
 * Return: VM_FAULT_RETRY, or VM_FAULT_SIGBUS when it cannot be delivered.
 */
vm_fault_t handle_userfault(struct vm_fault *vmf, unsigned long reason);

/* A fork in progress: the child contexts made so far (dup_mmap()). */
struct uffd_fork_list {
	struct uffd_fork_ctx *head;
};

/*
 * dup_userfaultfd() - the child's copy @vma of a registered VMA: with
 * UFFD_FEATURE_EVENT_FORK it joins a new context of the child, else it
 * loses the registration (and copy_page_range() drops uffd-wp bits and
 * markers). Both mmap locks held for writing. Return: 0 or -ENOMEM.
 */
int dup_userfaultfd(struct vm_area_struct *vma, struct uffd_fork_list *fl);
/* After the fork, locks dropped: deliver UFFD_EVENT_FORK for each new context. */
void dup_userfaultfd_complete(struct uffd_fork_list *fl);
/* The fork failed: free the new contexts (the child mm goes away). */
void dup_userfaultfd_fail(struct uffd_fork_list *fl);

#endif /* PINMM_USERFAULTFD_H */
