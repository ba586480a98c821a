/* SPDX-License-Identifier: MIT */
/*
 * memfd_secret(2) (Linux: mm/secretmem.c): memory only its own process's
 * page tables reach. Linux takes the pages out of the kernel's direct map;
 * what matters for pinning is the rule that follows: GUP refuses them, slow
 * path and fast (check_vma_flags(), gup_fast_folio_allowed()), so no device,
 * io_uring buffer, O_DIRECT or /proc/PID/mem ever reaches them. Mappings are
 * shared only, locked (VM_LOCKED, charged to RLIMIT_MEMLOCK) and kept out
 * of core dumps; pages are order 0, zeroed at fault, never migrated.
 */
#ifndef PINMM_SECRETMEM_H
#define PINMM_SECRETMEM_H

#include <pinmm/fs.h>

struct vm_area_struct;
struct folio;

/**
 * memfd_secret_file - a new, empty secretmem file (memfd_secret(2)).
 * @flags: 0 or O_CLOEXEC (kept for the caller; nothing to do here).
 * Size it with do_ftruncate(), then map it MAP_SHARED.
 * Return: the file (fput() it), ERR_PTR(-EINVAL) for other flags,
 * ERR_PTR(-ENOMEM), ERR_PTR(-ENODEV) before pinmm_fs_boot().
 */
struct file *memfd_secret_file(unsigned int flags);

bool secretmem_mapping(const struct address_space *mapping);
bool vma_is_secretmem(const struct vm_area_struct *vma);

int secretmem_init(void);
unsigned long secretmem_exit(void);

#endif /* PINMM_SECRETMEM_H */
