// SPDX-License-Identifier: MIT
/*
 * Reading a file's pages into the page cache ahead of use (Linux:
 * mm/readahead.c force_page_cache_ra(), for POSIX_FADV_WILLNEED and
 * MADV_WILLNEED). pinmm reads each missing folio synchronously through the
 * file system's ->read_folio; what Linux would start asynchronously is here
 * done by the time the call returns, which no caller can tell apart except
 * by the time it takes.
 */
#include "internal.h"

/*
 * The most one call reads, from its first index: Linux's
 * max(bdi->io_pages, ra_pages), which the live 6.18 kernel shows as 8 MiB
 * for this machine's virtio disk (MADV_WILLNEED or POSIX_FADV_WILLNEED of
 * 64 MiB caches the first 2048 pages; of 8 MiB, all of it). pinmm's disk is
 * a host file with no queue limits of its own: it takes that figure.
 */
#define RA_MAX_PAGES	2048UL

unsigned long force_page_cache_readahead(struct address_space *mapping, struct file *file,
					 pgoff_t index, unsigned long nr_to_read)
{
	loff_t isize = i_size_read(mapping->host);
	unsigned long read = 0;
	pgoff_t end, eof;

	if (!isize || !nr_to_read || !mapping->a_ops->read_folio)
		return 0;
	nr_to_read = min(nr_to_read, RA_MAX_PAGES);
	eof = (pgoff_t)((isize - 1) >> PAGE_SHIFT);
	if (index > eof)
		return 0;
	/* not past the end of the file, as Linux's do_page_cache_ra() */
	end = nr_to_read - 1 > eof - index ? eof : index + nr_to_read - 1;
	while (index <= end) {
		struct folio *folio = filemap_get_folio(mapping, index);

		if (IS_ERR(folio)) {
			folio = read_mapping_folio(mapping, index, file);
			/* advice: a failed read or allocation ends it, quietly */
			if (IS_ERR(folio))
				break;
			read += folio_nr_pages(folio);
		}
		index = folio_next_index(folio);
		folio_put(folio);
	}
	return read;
}
