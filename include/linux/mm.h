/* SPDX-License-Identifier: MIT */
/*
 * <linux/mm.h>: pages and folios, the pinning API (FOLL_*, pin_user_pages*,
 * unpin_user_pages*), get_user_pages*, VMAs and mmap, account_locked_vm().
 * Nothing in pinmm's src/ includes this; it is for Linux call sites.
 */
#ifndef PINMM_LINUX_MM_H
#define PINMM_LINUX_MM_H

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/mm_types.h>
#include <linux/mmap_lock.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <pinmm/gfp.h>
#include <pinmm/gup.h>
#include <pinmm/memory.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/page-flags.h>
#include <pinmm/page_ref.h>
#include <pinmm/pagemap.h>
#include <pinmm/uaccess.h>

/* struct pages of a physically contiguous range are one array here */
#define nth_page(page, n)	((page) + (n))
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)
#define PAGE_ALIGNED(addr)	IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)
#define PAGE_ALIGN_DOWN(addr)	ALIGN_DOWN((unsigned long)(addr), PAGE_SIZE)

/* The index of @page inside @folio. */
static inline size_t folio_page_idx(const struct folio *folio, const struct page *page)
{
	return (size_t)(page - &folio->page);
}

static inline unsigned long page_size(struct page *page)
{
	return folio_size(page_folio(page));
}

#endif
