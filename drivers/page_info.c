// SPDX-License-Identifier: MIT
/*
 * Case 4: looking at struct page only. The data is never touched, so a plain
 * reference is what Linux prescribes: get_user_pages(), not a pin.
 */
#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/mman.h>
#include <pinmm/rmap.h>
#include <pinmm/task.h>
#include <stdlib.h>

long page_info_get(unsigned long addr, unsigned long npages, struct page_info *out)
{
	struct mm_struct *mm = current->mm;
	struct page **pages = calloc(npages, sizeof(*pages));
	long got;

	if (!pages)
		return -ENOMEM;
	mmap_read_lock(mm);
	got = get_user_pages(addr, npages, 0, pages);
	mmap_read_unlock(mm);
	for (long i = 0; i < got; i++) {
		struct page *page = pages[i];
		struct folio *folio = page_folio(page);
		unsigned long pfn = page_to_pfn(page);

		out[i] = (struct page_info){
			.pfn = pfn,
			.zone = page_zone(page)->name,
			.migratetype = migratetype_names[get_pfnblock_migratetype(pfn)],
			/* not counting our own look */
			.refcount = folio_ref_count(folio) - 1,
			.mapcount = folio_mapcount(folio),
			.pincount = folio_has_pincount(folio) ? folio_pincount(folio) : -1,
			.order = folio_order(folio),
			.maybe_dma_pinned = folio_maybe_dma_pinned(folio),
			.anon = folio_test_anon(folio),
			.anon_exclusive = folio_test_anon(folio) && PageAnonExclusive(page),
			.dirty = folio_test_dirty(folio),
		};
		put_page(page);
	}
	free(pages);
	return got;
}
