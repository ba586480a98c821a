/* SPDX-License-Identifier: MIT */
/*
 * <linux/highmem.h>: 64-bit, no highmem: every frame has a kernel address,
 * so kmap_local_page() is page_address() and unmapping is a no-op.
 */
#ifndef PINMM_LINUX_HIGHMEM_H
#define PINMM_LINUX_HIGHMEM_H

#include <linux/mm.h>
#include <string.h>

static inline void *kmap_local_page(struct page *page)
{
	return page_address(page);
}

static inline void *kmap_local_folio(struct folio *folio, size_t offset)
{
	return (char *)page_address(&folio->page) + offset;
}

static inline void kunmap_local(const void *addr)
{
	(void)addr;
}

#define kmap(page)		page_address(page)
#define kunmap(page)		((void)(page))

static inline void memcpy_from_page(char *to, struct page *page, size_t offset, size_t len)
{
	memcpy(to, (char *)page_address(page) + offset, len);
}

static inline void memcpy_to_page(struct page *page, size_t offset, const char *from, size_t len)
{
	memcpy((char *)page_address(page) + offset, from, len);
}

#endif
