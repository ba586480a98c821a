// SPDX-License-Identifier: MIT
/*
 * Case 4: looking at struct page only. The data is never touched, so a plain
 * reference is what Linux prescribes: get_user_pages(), not a pin.
 */
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/rmap.h>
#include <linux/sched.h>
#include <pinmm/drivers.h>

long page_info_get(unsigned long addr, unsigned long npages, struct page_info *out)
{
	struct mm_struct *mm = current->mm;
	long got;

	/*
	 * One page per call: a THP range in one call would hold a reference
	 * per subpage, and each report would count the ones not yet put.
	 */
	for (got = 0; got < (long)npages; got++) {
		struct page *page;
		struct folio *folio;
		unsigned long pfn;
		long ret;

		mmap_read_lock(mm);
		ret = get_user_pages(addr + ((unsigned long)got << PAGE_SHIFT), 1, 0, &page);
		mmap_read_unlock(mm);
		if (ret != 1) {
			if (!got)
				got = ret < 0 ? ret : -EFAULT;
			break;
		}
		folio = page_folio(page);
		pfn = page_to_pfn(page);
		out[got] = (struct page_info){
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
	return got;
}
