/* SPDX-License-Identifier: MIT */
/* <linux/mm_types.h>: struct page, struct folio, struct mm_struct, VMAs. */
#ifndef PINMM_LINUX_MM_TYPES_H
#define PINMM_LINUX_MM_TYPES_H

#include <linux/atomic.h>
#include <linux/types.h>
#include <pinmm/mm_types.h>

#endif
