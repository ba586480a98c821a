// SPDX-License-Identifier: MIT
/*
 * Dirtying folios (Linux: mm/page-writeback.c). Anonymous folios only carry
 * the flag; a file folio also moves the node's dirty counter and lets its
 * address space track it, through the hook the file layer installs.
 */
#include "internal.h"

/* Set by the file layer: account a newly dirtied file folio. */
void (*pinmm_account_dirty_folio)(struct folio *folio);

bool folio_mark_dirty(struct folio *folio)
{
	if (folio_test_set_dirty(folio))
		return false;
	if (!folio_test_anon(folio) && atomic_load(&folio->mapping) && pinmm_account_dirty_folio)
		pinmm_account_dirty_folio(folio);
	return true;
}
