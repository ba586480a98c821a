// SPDX-License-Identifier: MIT
/*
 * Dirtying folios (Linux: folio_mark_dirty() of mm/page-writeback.c). An
 * anonymous folio only carries the flag; a page-cache folio is dirtied
 * through its mapping's ->dirty_folio, which the file layer provides (the
 * tag, the counters, the inode's place on the dirty list; src/fs).
 */
#include "internal.h"

#include <pinmm/fs.h>
#include <pinmm/pagemap.h>

bool folio_mark_dirty(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);

	if (mapping && mapping->a_ops && mapping->a_ops->dirty_folio)
		return mapping->a_ops->dirty_folio(mapping, folio);
	/* anon, or a page-cache folio truncated meanwhile: the flag alone */
	return !folio_test_set_dirty(folio);
}
