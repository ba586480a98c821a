/* SPDX-License-Identifier: MIT */
/*
 * tmpfs/shmem and memfd (Linux: include/linux/shmem_fs.h, memfd.h; the code
 * is in src/fs/shmem.c and src/fs/memfd.c).
 *
 * A shmem file's page cache is its only home: swap-backed folios (pinmm swaps
 * anonymous memory only, so they stay resident), never written back, so no dirty tracking
 * and no ->page_mkwrite — which is why a writable long-term pin of shmem is
 * allowed where one of a disk file is refused. MAP_SHARED|MAP_ANONYMOUS
 * memory is a shmem file too (shmem_zero_setup()), as in Linux.
 */
#ifndef PINMM_SHMEM_FS_H
#define PINMM_SHMEM_FS_H

#include <pinmm/fs.h>

/* memfd_create() flags (glibc's sys/mman.h has the older ones) */
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC		0x0001U
#define MFD_ALLOW_SEALING	0x0002U
#define MFD_HUGETLB		0x0004U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL		0x0008U
#define MFD_EXEC		0x0010U
#endif
/* with MFD_HUGETLB: log2 of the page size in bits 26..31 (linux/memfd.h) */
#ifndef MFD_HUGE_1GB
#define MFD_HUGE_2MB		(21U << 26)
#define MFD_HUGE_1GB		(30U << 26)
#endif

/* seals (fcntl F_ADD_SEALS / F_GET_SEALS) */
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL		0x0001u	/* no more seals */
#define F_SEAL_SHRINK		0x0002u	/* size may not shrink */
#define F_SEAL_GROW		0x0004u	/* size may not grow */
#define F_SEAL_WRITE		0x0008u	/* no writes, no writable shared mappings */
#define F_SEAL_FUTURE_WRITE	0x0010u	/* no new writes; existing mappings stay */
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC		0x0020	/* the exec bits may not change */
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS		1033
#define F_GET_SEALS		1034
#endif

/* shmem's huge-page policy (/sys/kernel/mm/transparent_hugepage/shmem_enabled) */
enum shmem_huge {
	SHMEM_HUGE_NEVER,	/* the default, as on most systems */
	SHMEM_HUGE_ALWAYS,	/* PMD-sized folios wherever they fit */
	SHMEM_HUGE_WITHIN_SIZE,	/* only where the file is large enough */
	SHMEM_HUGE_ADVISE,	/* only in VMAs with MADV_HUGEPAGE */
};

enum shmem_huge pinmm_shmem_set_huge(enum shmem_huge mode);
enum shmem_huge pinmm_shmem_get_huge(void);

/**
 * shmem_file_setup - an unlinked tmpfs file of @size bytes.
 * @name: for messages ("dev/zero", "memfd:NAME").
 * @size: the initial size (a hole: reads as zeroes, allocates nothing).
 * @flags: VM_NORESERVE or 0 (accepted; there is no overcommit accounting).
 *
 * Context: may sleep. Return: the file (fput() it) or ERR_PTR(-ENOMEM/-EINVAL).
 */
struct file *shmem_file_setup(const char *name, loff_t size, unsigned long flags);

/*
 * shmem_zero_setup - make a MAP_SHARED|MAP_ANONYMOUS VMA a mapping of a new
 * shmem file of its size. Return 0 or -ENOMEM.
 */
int shmem_zero_setup(struct vm_area_struct *vma);

/* vma_is_shmem - is @vma a mapping of a shmem file (memfd, tmpfs, shared anon)? */
bool vma_is_shmem(const struct vm_area_struct *vma);

/* shmem_get_folio() modes (Linux's sgp_type) */
enum sgp_type {
	SGP_READ,	/* look up only: a hole gives no folio */
	SGP_NOALLOC,	/* likewise, used by pins that must not fill holes */
	SGP_CACHE,	/* allocate a folio for a hole */
	SGP_WRITE,	/* as SGP_CACHE; the caller will write it */
	SGP_FALLOC,	/* as SGP_CACHE, for fallocate */
};

/**
 * shmem_get_folio - the folio at @index of a shmem inode, locked.
 * @inode: a shmem inode.
 * @index: page offset; beyond EOF gives -EINVAL unless @sgp is SGP_FALLOC
 *         or SGP_WRITE (which may extend the file).
 * @foliop: the referenced, locked folio, or NULL for a hole with SGP_READ.
 * @sgp: what to do about a hole.
 *
 * New folios are zeroed, uptodate, swap-backed and on the LRU; PMD-sized
 * where the huge policy allows and the aligned range fits.
 * Return: 0, -EINVAL (beyond EOF), -ENOMEM, -ENOSPC.
 */
int shmem_get_folio(struct inode *inode, pgoff_t index, struct folio **foliop,
		    enum sgp_type sgp);

/* shmem_truncate_range - free the cache of bytes [@lstart, @lend] (a punch). */
void shmem_truncate_range(struct inode *inode, loff_t lstart, loff_t lend);

/**
 * memfd_alloc_file - what the memfd_create(2) system call does, returning
 * the file itself (Linux's kernel-side name for it).
 * @name: at most 249 bytes; the file is named "memfd:NAME".
 * @flags: MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_NOEXEC_SEAL, MFD_EXEC;
 *	   MFD_HUGETLB (with MFD_HUGE_2MB or no size) makes a hugetlbfs file
 *	   (src/fs/hugetlbfs.c, no seals).
 *
 * Without MFD_ALLOW_SEALING the file is sealed with F_SEAL_SEAL (no seals
 * may be added), as in Linux.
 * Return: the file (fput() it) or ERR_PTR(): -EINVAL (unknown flags, name
 * too long, MFD_EXEC with MFD_NOEXEC_SEAL, a huge page size other than
 * 2 MiB or without MFD_HUGETLB), -ENOMEM.
 */
struct file *memfd_alloc_file(const char *name, unsigned int flags);

/**
 * memfd_fcntl - F_ADD_SEALS / F_GET_SEALS on a memfd.
 *
 * F_SEAL_WRITE while a writable shared mapping exists: -EBUSY. Adding a
 * seal after F_SEAL_SEAL: -EPERM. A file that is not a memfd: -EINVAL.
 * Return: the seals (F_GET_SEALS), 0, or -errno.
 */
long memfd_fcntl(struct file *file, unsigned int cmd, unsigned int arg);

/* The seals of a shmem file (0 for one that is not sealable). */
unsigned int memfd_file_seals(const struct file *file);

#endif /* PINMM_SHMEM_FS_H */
