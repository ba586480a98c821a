/* SPDX-License-Identifier: MIT */
/* <linux/bvec.h>: struct bio_vec, a (page, length, offset) triple. */
#ifndef PINMM_LINUX_BVEC_H
#define PINMM_LINUX_BVEC_H

#include <linux/mm.h>
#include <pinmm/bio.h>

static inline void bvec_set_page(struct bio_vec *bv, struct page *page, unsigned int len,
				 unsigned int offset)
{
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = offset;
}

static inline void bvec_set_folio(struct bio_vec *bv, struct folio *folio, unsigned int len,
				  unsigned int offset)
{
	bvec_set_page(bv, &folio->page, len, offset);
}

#endif
