/* SPDX-License-Identifier: MIT */
/*
 * folio_batch: a small array of referenced folios that a page-cache walk
 * fills and its caller releases in one go (Linux: include/linux/pagevec.h).
 */
#ifndef PINMM_PAGEVEC_H
#define PINMM_PAGEVEC_H

#include <pinmm/mm.h>

#define PAGEVEC_SIZE	31

struct folio_batch {
	unsigned char nr;
	unsigned char i;	/* folio_batch_next()'s cursor */
	struct folio *folios[PAGEVEC_SIZE];
};

static inline void folio_batch_init(struct folio_batch *fbatch)
{
	fbatch->nr = 0;
	fbatch->i = 0;
}

static inline unsigned int folio_batch_count(const struct folio_batch *fbatch)
{
	return fbatch->nr;
}

static inline unsigned int folio_batch_space(const struct folio_batch *fbatch)
{
	return PAGEVEC_SIZE - fbatch->nr;
}

/* Add a referenced folio; return the space left (0: the batch is full). */
static inline unsigned int folio_batch_add(struct folio_batch *fbatch, struct folio *folio)
{
	fbatch->folios[fbatch->nr++] = folio;
	return folio_batch_space(fbatch);
}

static inline struct folio *folio_batch_next(struct folio_batch *fbatch)
{
	return fbatch->i < fbatch->nr ? fbatch->folios[fbatch->i++] : NULL;
}

/* Drop the batch's references and empty it. */
static inline void folio_batch_release(struct folio_batch *fbatch)
{
	for (unsigned int i = 0; i < fbatch->nr; i++)
		folio_put(fbatch->folios[i]);
	folio_batch_init(fbatch);
}

#endif /* PINMM_PAGEVEC_H */
