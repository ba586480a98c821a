// SPDX-License-Identifier: MIT
/*
 * Fault-injection sweeps of the page cache (tests/fault/sweep.h):
 *
 * Insertion (Linux: mm/filemap.c __filemap_add_folio(), whose xas_store()
 * fails on a node allocation -> xas_nomem() -> -ENOMEM): a buffered write
 * to shmem (small folios and a PMD-sized one, 512 slots stored one by one)
 * and a read of an uncached disk-file range, with the N-th xarray node
 * allocation failing. After each failure the error is -ENOMEM or a short
 * count of what did get in, and nothing is half-inserted: the tree is
 * consistent (xa_check), every index holds a whole folio or nothing, the
 * cache's page count and NR_FILE_PAGES agree with what is there, the folios
 * hold exactly the cache's references, what was reported written reads back.
 *
 * Truncation and hole punching with pinned pages (mm/truncate.c
 * truncate_inode_pages_range(), shmem_fallocate() and a disk file's
 * ->fallocate(FALLOC_FL_PUNCH_HOLE)): every allocation site failing in turn.
 * Linux cannot fail to drop the page cache; a pin holder keeps its pages
 * and their data (the folio leaves the cache, the frame stays the pin's),
 * the file reads zeroes where the hole is, and unpinning frees the frames.
 */
#include "sweep.h"
#include "../fs/helpers.h"

#include <pinmm/shmem_fs.h>

#define NPAGES		8
#define FAR		(64UL * 64 * 3 + 5)	/* a page index that needs new xarray levels */

static struct file *file;
static long written, file0;

/* ---- insertion ------------------------------------------------------------------------- */

/* The cache of @f holds whole folios only and agrees with its counters. */
static bool cache_consistent(struct file *f, pgoff_t first, unsigned long n)
{
	struct address_space *m = f->f_mapping;
	unsigned long present = 0;
	bool ok = xa_check(&m->i_pages);

	for (pgoff_t i = first; i < first + n; i++) {
		struct folio *folio = xa_load(&m->i_pages, i);

		if (!folio)
			continue;
		present++;
		/*
		 * each index of a folio points at it; it holds the cache's references
		 * (and one for fs-private state, folio_attach_private()), nothing more
		 */
		if (folio->mapping != m || i - folio->index >= folio_nr_pages(folio) ||
		    folio_ref_count(folio) != (int)folio_nr_pages(folio) + folio_test_private(folio))
			ok = false;
	}
	if (present != (unsigned long)atomic_load(&m->nrpages) ||
	    fs_stat(NR_FILE_PAGES) - file0 != (long)present)
		ok = false;
	if (!ok)
		diag("page cache: %lu pages present, nrpages %ld, NR_FILE_PAGES %+ld, xa_check %d",
		     present, (long)atomic_load(&m->nrpages), fs_stat(NR_FILE_PAGES) - file0,
		     xa_check(&m->i_pages));
	return ok;
}

static void prepare_empty(void)
{
	do_ftruncate(file, 0, 1);
	file0 = fs_stat(NR_FILE_PAGES);
}

/* Empty, and sized over the huge folio's range (a huge folio is not made past EOF). */
static void prepare_empty_sized(void)
{
	prepare_empty();
	do_ftruncate(file, (loff_t)(FAR / 512 + 2) * PMD_SIZE, 1);
}

static long run_write(void)
{
	written = fs_kwrite(file, (loff_t)(FAR * PAGE_SIZE), NPAGES * PAGE_SIZE, 31);
	return written;
}

static long run_write_thp(void)
{
	written = fs_kwrite(file, (loff_t)(FAR / 512 + 1) * PMD_SIZE, PMD_SIZE, 32);
	return written;
}

static void undo_write(long ret)
{
	(void)ret;
}

static bool write_intact(void)
{
	bool ok = cache_consistent(file, 0, FAR + NPAGES + 2 * HPAGE_PMD_NR);

	if (written > 0 && fs_kcheck(file, (loff_t)(FAR * PAGE_SIZE), (size_t)written, 31))
		ok = false;
	return ok;
}

static bool write_thp_intact(void)
{
	bool ok = cache_consistent(file, (FAR / 512 + 1) * HPAGE_PMD_NR, HPAGE_PMD_NR);

	if (written > 0 && fs_kcheck(file, (loff_t)(FAR / 512 + 1) * PMD_SIZE, (size_t)written, 32))
		ok = false;
	return ok;
}

static struct file *dfile;

/* A disk file whose pages are on disk and not in the cache. */
static void prepare_uncached(void)
{
	invalidate_mapping_pages(dfile->f_mapping, 0, ~0UL);
	if (atomic_load(&dfile->f_mapping->nrpages))
		bail_out("insertion sweep: the disk file's cache did not empty");
	file0 = fs_stat(NR_FILE_PAGES);
}

static long run_read(void)
{
	char buf[NPAGES * PAGE_SIZE];
	loff_t pos = (loff_t)(FAR * PAGE_SIZE);
	ssize_t n = kernel_read(dfile, buf, sizeof(buf), &pos);

	if (n > 0 && fs_bad(buf, (size_t)n, 33, FAR * PAGE_SIZE))
		return -EIO;	/* wrong bytes: not an errno the sweep accepts */
	return n;
}

static bool read_intact(void)
{
	return cache_consistent(dfile, 0, FAR + NPAGES);
}

static void insertion_sweeps(void)
{
	static const struct sweep_op shm = { "shmem write (page-cache insertion)", prepare_empty,
					     run_write, undo_write, write_intact, 0 };
	static const struct sweep_op thp = { "shmem THP write (512 slots)", prepare_empty_sized,
					     run_write_thp, undo_write, write_thp_intact, 0 };
	static const struct sweep_op rd = { "disk-file read (page-cache insertion)",
					    prepare_uncached, run_read, undo_write, read_intact, 0 };

	fs_boot();
	proc = test_process("cache-insert");
	file = fs_memfd("sweep-shm", 0);
	ok(sweep(&shm, PINMM_FAIL_XA_NODE) > 0, "shmem write [xa_node]: the site was reached");
	fput(file);
	pinmm_shmem_set_huge(SHMEM_HUGE_ALWAYS);
	file = fs_memfd("sweep-thp", 0);
	ok(sweep(&thp, PINMM_FAIL_XA_NODE) > 0, "shmem THP write [xa_node]: the site was reached");
	prepare_empty_sized();
	ok(run_write_thp() == (long)PMD_SIZE &&
	   folio_test_large(xa_load(&file->f_mapping->i_pages, (FAR / 512 + 1) * HPAGE_PMD_NR)),
	   "shmem THP write: (the write made one PMD-sized folio)");
	fput(file);
	pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);

	dfile = fs_open("sweep-read", O_RDWR | O_CREAT);
	if (fs_kwrite(dfile, (loff_t)(FAR * PAGE_SIZE), NPAGES * PAGE_SIZE, 33) !=
	    (ssize_t)(NPAGES * PAGE_SIZE) || vfs_fsync(dfile, 0))
		bail_out("insertion sweep: disk file");
	ok(sweep(&rd, PINMM_FAIL_XA_NODE) > 0, "disk-file read [xa_node]: the site was reached");
	fput(dfile);
	fs_teardown("insertion_sweeps", proc);
}

/* ---- truncation and hole punching with pinned pages ------------------------------------- */

#define PIN0	2		/* the pinned pages: 2 and 3 */
#define NPIN	2

static struct page *pinned[NPIN];
static long npinned;
static bool pin_ok;
static unsigned long seed;

/* The file holds NPAGES pages of a pattern, mapped shared; pages 2 and 3 pinned. */
static void prepare_pinned(void)
{
	do_ftruncate(file, 0, 1);
	if (fs_kwrite(file, 0, NPAGES * PAGE_SIZE, seed) != (ssize_t)(NPAGES * PAGE_SIZE))
		bail_out("truncate sweep: write");
	npinned = pin_user_pages_fast(FS_BASE + PIN0 * PAGE_SIZE, NPIN, FOLL_WRITE, pinned);
	if (npinned != NPIN)
		bail_out("truncate sweep: pin = %ld", npinned);
	file0 = fs_stat(NR_FILE_PAGES) - NPAGES;
}

static long run_truncate(void)
{
	return do_ftruncate(file, PAGE_SIZE, 1);
}

static long run_punch(void)
{
	return vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE_SIZE,
			     4 * PAGE_SIZE);
}

/*
 * Before the pins go: each pinned page still holds the data the pin holder
 * saw; after a successful call it has left the cache (the pin owns the frame).
 */
static void undo_pinned(long ret)
{
	pin_ok = true;
	for (int i = 0; i < NPIN; i++) {
		const unsigned char *p = page_address(pinned[i]);
		struct folio *folio = page_folio(pinned[i]);

		if (fs_bad(p, PAGE_SIZE, seed, (PIN0 + (unsigned long)i) * PAGE_SIZE) ||
		    !folio_maybe_dma_pinned(folio) || (!ret && folio->mapping))
			pin_ok = false;
	}
	if (!pin_ok)
		diag("truncate sweep (ret %ld): a pinned page lost its data or stayed in the cache",
		     ret);
	unpin_user_pages(pinned, NPIN);
}

/* Pages [1, 5) read as zeroes and the rest as the pattern; the cache is consistent. */
static bool punch_intact(void)
{
	char buf[NPAGES * PAGE_SIZE];
	loff_t pos = 0;
	bool ok = pin_ok;

	if (kernel_read(file, buf, sizeof(buf), &pos) != (ssize_t)sizeof(buf) ||
	    fs_bad(buf, PAGE_SIZE, seed, 0) ||
	    fs_bad(buf + 5 * PAGE_SIZE, 3 * PAGE_SIZE, seed, 5 * PAGE_SIZE))
		ok = false;
	for (size_t i = PAGE_SIZE; i < 5 * PAGE_SIZE; i++)
		ok &= !buf[i];
	return cache_consistent(file, 0, NPAGES) && ok;
}

static bool truncate_intact(void)
{
	bool ok = pin_ok && i_size_read(file_inode(file)) == (loff_t)PAGE_SIZE &&
		  fs_kcheck(file, 0, PAGE_SIZE, seed) == 0;

	return cache_consistent(file, 0, NPAGES) && ok;
}

static void truncate_sweeps(const char *what, struct file *(*open)(void))
{
	const struct sweep_op ops[] = {
		{ "truncate over pinned pages", prepare_pinned, run_truncate, undo_pinned,
		  truncate_intact, 0 },
		{ "punch a hole over pinned pages", prepare_pinned, run_punch, undo_pinned,
		  punch_intact, 0 },
	};
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_SLAB, PINMM_FAIL_PAGE_ALLOC,
						      PINMM_FAIL_PAGE_TABLE, PINMM_FAIL_XA_NODE };

	fs_boot();
	proc = test_process("truncate");
	file = open();
	seed = 40;
	if (fs_mmap(file, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_SHARED, 0) != FS_BASE)
		bail_out("truncate sweep: mmap");
	for (unsigned int o = 0; o < ARRAY_SIZE(ops); o++) {
		unsigned long hits = 0;
		long ret;

		for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++) {
			seed++;
			hits += sweep(&ops[o], sites[i]);
		}
		/* dropping small folios from the cache allocates nothing, as in Linux */
		is_uint(hits, 0, "%s, %s: no allocation site is reached: it cannot fail for want "
			"of memory (truncate_inode_pages_range() returns nothing)", ops[o].name, what);
		seed++;
		ops[o].prepare();
		ret = ops[o].run();
		is_int(ret, 0, "%s, %s: returns 0", ops[o].name, what);
		ops[o].undo(ret);
		ok(pin_ok, "%s, %s: the pinned pages left the cache and kept their data: the pin "
		   "holder owns them (truncate_inode_folio(), Linux leaves pinned data alone)",
		   ops[o].name, what);
		ok(ops[o].intact(), "%s, %s: the file reads zeroes in the cut range and the rest as "
		   "written; after the unpin the cache and NR_FILE_PAGES agree", ops[o].name, what);
	}
	vm_munmap(FS_BASE, NPAGES * PAGE_SIZE);
	fput(file);
	fs_teardown(what, proc);
}

static struct file *open_shmem(void)
{
	return fs_memfd("sweep-trunc", 0);
}

static struct file *open_disk(void)
{
	return fs_open("sweep-trunc", O_RDWR | O_CREAT);
}

int main(void)
{
	plan_no_plan();
	insertion_sweeps();
	truncate_sweeps("shmem", open_shmem);
	truncate_sweeps("disk file", open_disk);
	return done_testing();
}
