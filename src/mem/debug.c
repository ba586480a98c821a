// SPDX-License-Identifier: MIT
/* dump_page(): the state of a page and its folio, for bug reports. */
#include "internal.h"

static const char *const pageflag_names[__NR_PAGEFLAGS] = {
	[PG_locked] = "locked", [PG_writeback] = "writeback", [PG_referenced] = "referenced",
	[PG_uptodate] = "uptodate", [PG_dirty] = "dirty", [PG_lru] = "lru",
	[PG_head] = "head", [PG_waiters] = "waiters", [PG_active] = "active",
	[PG_workingset] = "workingset", [PG_owner_priv_1] = "owner_priv_1",
	[PG_owner_2] = "owner_2", [PG_reserved] = "reserved", [PG_private] = "private",
	[PG_reclaim] = "reclaim", [PG_swapbacked] = "swapbacked",
	[PG_unevictable] = "unevictable", [PG_mlocked] = "mlocked",
	[PG_hwpoison] = "hwpoison", [PG_isolated] = "isolated",
};

void dump_page(const struct page *page, const char *reason)
{
	unsigned long pfn = page_to_pfn(page);
	const struct folio *folio = page_folio(page);
	/*
	 * The folio's flags, as Linux prints them: a tail's own word holds
	 * only per-page bits, and page[1]'s low byte is the folio order.
	 */
	unsigned long flags = atomic_load(&((struct folio *)folio)->flags);

	fprintf(stderr, "page: pfn:%#lx refcount:%d mapcount:%d mapping:%p index:%#lx",
		pfn, page_ref_count(page),
		atomic_load(&((struct page *)page)->_mapcount) + 1,
		(void *)atomic_load(&((struct folio *)folio)->mapping), folio->index);
	if (&folio->page != page)
		fprintf(stderr, " head pfn:%#lx", folio_pfn(folio));
	fprintf(stderr, "\n");
	if (folio_test_large(folio))
		fprintf(stderr, "  folio: order:%u refcount:%d entire_mapcount:%d nr_pages_mapped:%d pincount:%d\n",
			folio_order(folio), folio_ref_count(folio),
			atomic_load(&((struct folio *)folio)->_entire_mapcount) + 1,
			atomic_load(&((struct folio *)folio)->_nr_pages_mapped),
			folio_pincount(folio));
	fprintf(stderr, "  flags: %#lx(", flags & (BIT(__NR_PAGEFLAGS) - 1));
	for (int i = 0, first = 1; i < __NR_PAGEFLAGS; i++)
		if (flags & BIT(i)) {
			fprintf(stderr, "%s%s", first ? "" : "|", pageflag_names[i]);
			first = 0;
		}
	fprintf(stderr, ") zone:%s migratetype:%s%s\n", page_zone(page)->name,
		pfn < pinmm_max_pfn ? migratetype_names[get_pfnblock_migratetype(pfn)] : "?",
		PageBuddy(page) ? " buddy" : PageTable(page) ? " pagetable" : "");
	if (folio_maybe_dma_pinned(folio))
		fprintf(stderr, "  maybe DMA-pinned\n");
	print_page_owner(stderr, &folio->page);
	if (reason)
		fprintf(stderr, "  page dumped because: %s\n", reason);
}
