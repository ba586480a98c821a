/* SPDX-License-Identifier: MIT */
/* The basic scalar types of the Linux mm vocabulary. */
#ifndef PINMM_TYPES_H
#define PINMM_TYPES_H

#include <pinmm/compiler.h>
#include <sys/types.h>

typedef unsigned int gfp_t;
typedef unsigned long pgoff_t;
typedef unsigned long vm_flags_t;
typedef unsigned short umode_t;

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x)	ALIGN((unsigned long)(x), PAGE_SIZE)

/* x86-64 four-level paging: 512 entries per table, PMD leaves are 2 MiB. */
#define PMD_SHIFT	21
#define PMD_SIZE	(1UL << PMD_SHIFT)
#define PMD_MASK	(~(PMD_SIZE - 1))
#define PUD_SHIFT	30
#define PUD_SIZE	(1UL << PUD_SHIFT)
#define PUD_MASK	(~(PUD_SIZE - 1))
#define PUD_ORDER	(PUD_SHIFT - PAGE_SHIFT)	/* a 1 GiB leaf: 262144 pages */
#define PGDIR_SHIFT	39
#define PTRS_PER_TABLE	512

#define HPAGE_PMD_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define HPAGE_PMD_NR	(1UL << HPAGE_PMD_ORDER)
#define HPAGE_PMD_SIZE	PMD_SIZE

#endif /* PINMM_TYPES_H */
