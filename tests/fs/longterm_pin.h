/* SPDX-License-Identifier: MIT */
/*
 * gup_longterm.c's ways to take one pin of a page (Linux's
 * tools/testing/selftests/mm/gup_longterm.c: R/W and R/O long-term pins,
 * slow and fast, an io_uring fixed buffer, and a plain FOLL_GET), shared by
 * the tests of file-backed memory that run its cells.
 */
#ifndef PINMM_TESTS_FS_LONGTERM_PIN_H
#define PINMM_TESTS_FS_LONGTERM_PIN_H

#include "helpers.h"

#include <pinmm/drivers.h>

/* The long-term kinds first: P_GET_RW ends them. */
enum pin_kind { P_RW_SLOW, P_RW_FAST, P_RO_SLOW, P_RO_FAST, P_IOURING, P_GET_RW, NR_PINS };

static const char *const pin_name[] = {
	[P_RW_SLOW] = "R/W pin_user_pages(LONGTERM)",
	[P_RW_FAST] = "R/W pin_user_pages_fast(LONGTERM)",
	[P_RO_SLOW] = "R/O pin_user_pages(LONGTERM)",
	[P_RO_FAST] = "R/O pin_user_pages_fast(LONGTERM)",
	[P_IOURING] = "io_uring fixed buffer (R/W LONGTERM)",
	[P_GET_RW] = "R/W get_user_pages (FOLL_GET)",
};

/*
 * Pin (or GET) the page at @a as @kind says and release it at once;
 * *@pagep is the page it got. Return: the number pinned, or -errno.
 */
static inline long pin_one(unsigned long a, enum pin_kind kind, struct page **pagep)
{
	bool write = kind == P_RW_SLOW || kind == P_RW_FAST;
	struct iou_buffer *buf;
	struct page *page = NULL;
	long n;
	int err;

	switch (kind) {
	case P_RW_SLOW:
	case P_RO_SLOW:
		mmap_read_lock(current->mm);
		n = pin_user_pages(a, 1, FOLL_LONGTERM | (write ? FOLL_WRITE : 0), &page);
		mmap_read_unlock(current->mm);
		break;
	case P_RW_FAST:
	case P_RO_FAST:
		n = pin_user_pages_fast(a, 1, FOLL_LONGTERM | (write ? FOLL_WRITE : 0), &page);
		break;
	case P_IOURING:
		err = iou_register_buffer(a, PAGE_SIZE, &buf);
		if (err)
			return err;
		*pagep = folio_page(buf->bvec[0].folio, buf->bvec[0].first);
		iou_unregister_buffer(buf);
		return 1;
	case P_GET_RW:
		mmap_read_lock(current->mm);
		n = get_user_pages(a, 1, FOLL_WRITE, &page);
		mmap_read_unlock(current->mm);
		if (n == 1) {
			*pagep = page;
			put_page(page);
		}
		return n;
	default:
		return -EINVAL;
	}
	if (n == 1) {
		*pagep = page;
		unpin_user_page(page);
	}
	return n;
}

#endif /* PINMM_TESTS_FS_LONGTERM_PIN_H */
