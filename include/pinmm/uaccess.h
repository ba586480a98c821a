/* SPDX-License-Identifier: MIT */
/*
 * Access to user memory by the CPU (src/mm/uaccess.c): copy_to_user() and
 * friends walk current->mm's page tables like an MMU, fault like a CPU
 * (a missing page is faulted in, a write to a read-only COW page copies it,
 * a write to a read-only mapping or an access to a hole fails), and copy
 * through the frame's arena address. Devices never come here: they use the
 * pages GUP gave them.
 *
 * Each page is copied while a folio reference (or, for frames without a
 * struct page, the PTE lock) keeps its frame from being freed under the copy,
 * with mmap_lock held for reading.
 */
#ifndef PINMM_UACCESS_H
#define PINMM_UACCESS_H

#include <errno.h>
#include <pinmm/compiler.h>

struct task_struct;

/**
 * copy_to_user - copy @n bytes from kernel memory @from to user address @to.
 * @to: user address in current->mm.
 * @from: kernel (host) memory.
 * @n: bytes.
 *
 * Stops at the first byte whose page cannot be made writable (hole,
 * read-only or PROT_NONE mapping: the fault is a SIGSEGV).
 * Context: may sleep; takes current->mm's mmap_lock for reading; the caller
 * must not hold it.
 * Return: the number of bytes NOT copied (0 on success).
 */
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
/* copy_from_user - the reverse; the bytes not copied are zeroed in @to. */
unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);
/*
 * __copy_from_user_inatomic - copy_from_user() that leaves the bytes it
 * could not copy untouched (for copies into a page-cache folio, which must
 * not be zeroed); meant for use under pagefault_disable(). Bytes NOT copied.
 */
unsigned long __copy_from_user_inatomic(void *to, const void __user *from, unsigned long n);
/* clear_user - write @n zero bytes at user address @to; bytes NOT cleared. */
unsigned long clear_user(void __user *to, unsigned long n);

/* get_user(x, ptr) - read one value from user pointer @ptr: 0, or -EFAULT (x = 0). */
#define get_user(x, ptr) ({						\
	union {								\
		__typeof__(*(ptr)) __v;					\
		unsigned char __b[sizeof(*(ptr))];			\
	} __gu;								\
	int __gu_err = copy_from_user(__gu.__b, (ptr), sizeof(*(ptr))) ? -EFAULT : 0; \
	(x) = __gu_err ? (__typeof__(*(ptr)))0 : __gu.__v;		\
	__gu_err;							\
})

/* put_user(x, ptr) - write one value to user pointer @ptr: 0, or -EFAULT. */
#define put_user(x, ptr) ({						\
	__typeof__(*(ptr)) __pu_val = (x);				\
	copy_to_user((ptr), &__pu_val, sizeof(__pu_val)) ? -EFAULT : 0;	\
})

/*
 * pagefault_disable / pagefault_enable - while disabled (they nest), user
 * accesses of this thread never fault and never wait for mmap_lock: an
 * access that would need either stops short, as Linux's do inside
 * pagefault_disable(). For copies made under a folio lock.
 */
void pagefault_disable(void);
void pagefault_enable(void);
bool pagefault_disabled(void);

/**
 * access_process_vm - read or write another process's memory (ptrace, /proc/pid/mem).
 * @tsk: the task whose mm is accessed.
 * @addr: user address in it.
 * @buf: kernel buffer.
 * @len: bytes.
 * @gup_flags: FOLL_WRITE to write @buf into the process; FOLL_FORCE to
 *             ignore the VMA's current protection as ptrace does: a forced
 *             write to a private read-only mapping COWs a private copy (the
 *             PTE stays read-only); a shared read-only mapping is never
 *             written.
 *
 * VM_PFNMAP memory (device BARs) is read and written through its pfns.
 * Context: may sleep; takes the mm's mmap_lock for reading.
 * Return: the number of bytes transferred (short at a hole or a refusal).
 */
int access_process_vm(struct task_struct *tsk, unsigned long addr, void *buf, int len,
		      unsigned int gup_flags);

#endif /* PINMM_UACCESS_H */
