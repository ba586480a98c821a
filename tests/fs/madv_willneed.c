// SPDX-License-Identifier: MIT
/*
 * MADV_WILLNEED on file mappings. The Linux rules, by kernel file and
 * function:
 *  R-WILLNEED-FILE  mm/madvise.c madvise_willneed() -> vfs_fadvise(
 *                   POSIX_FADV_WILLNEED) -> mm/readahead.c
 *                   force_page_cache_ra(): the file pages behind the range
 *                   (at the mapping's offset) are read into the page cache,
 *                   not mapped; nothing past the end of the file is read;
 *                   pages already cached stay as they are. One call reads at
 *                   most max(bdi->io_pages, ra_pages) pages from its start:
 *                   the live 6.18 kernel on this machine's disk caches the
 *                   first 2048 pages (8 MiB) of a 64 MiB MADV_WILLNEED.
 *  R-WILLNEED-SHMEM madvise_willneed(): shmem has no storage to read from
 *                   (pinmm never swaps it): holes stay holes, nothing is
 *                   allocated, and the call succeeds.
 */
#include "helpers.h"

#include <sys/mman.h>

static int madv(unsigned long addr, unsigned long len)
{
	return do_madvise(current->mm, addr, len, MADV_WILLNEED);
}

/* Which of the file's pages [0, @n) are cached: a bit each. */
static unsigned long cached_mask(struct file *f, unsigned long n)
{
	unsigned long mask = 0;

	for (unsigned long i = 0; i < n; i++) {
		struct folio *folio = fs_cached(f, i);

		if (folio) {
			mask |= folio_test_uptodate(folio) ? 1UL << i : 0;
			folio_put(folio);
		}
	}
	return mask;
}

static void willneed_file(void)
{
	const size_t size = 8 * PAGE_SIZE + 100;	/* 9 pages, the last in part */
	struct task_struct *t;
	unsigned long a, b;
	struct file *f;

	fs_boot();
	t = test_process("wnfile");
	f = fs_open("wnfile", O_RDWR | O_CREAT);
	is_int(fs_kwrite(f, 0, size, 11), (long)size, "setup: a disk file of 9 pages");
	is_int(vfs_fsync(f, 0), 0, "setup: on the disk");
	pinmm_drop_caches();
	is_int((long)cached_mask(f, 16), 0, "setup: nothing of it cached (drop_caches)");

	a = fs_mmap(f, FS_BASE, 16 * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	is_int(madv(a + 2 * PAGE_SIZE, 4 * PAGE_SIZE), 0, "R-WILLNEED-FILE: MADV_WILLNEED of pages 2-5");
	is_int((long)cached_mask(f, 16), 0x3c, "R-WILLNEED-FILE: exactly pages 2-5 are cached");
	ok(test_pt_pfn(t->mm, a + 2 * PAGE_SIZE) == -1UL && test_pt_pfn(t->mm, a + 5 * PAGE_SIZE) == -1UL,
	   "R-WILLNEED-FILE: ... and not mapped");
	is_int(madv(a, 16 * PAGE_SIZE), 0,
	       "R-WILLNEED-FILE: MADV_WILLNEED of the whole mapping, past the end of the file");
	is_int((long)cached_mask(f, 16), 0x1ff,
	       "R-WILLNEED-FILE: the file's 9 pages are cached, nothing past its end");
	is_int(fs_kcheck(f, 0, size, 11), 0, "R-WILLNEED-FILE: with the file's data");
	vm_munmap(a, 16 * PAGE_SIZE);

	pinmm_drop_caches();
	b = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, 4);
	is_int(madv(b + PAGE_SIZE, PAGE_SIZE), 0,
	       "R-WILLNEED-FILE: MADV_WILLNEED of page 1 of a private mapping at file page 4");
	is_int((long)cached_mask(f, 16), 1L << 5, "R-WILLNEED-FILE: file page 5 is the one read");
	is_int(madv(b + 3 * PAGE_SIZE, 2 * PAGE_SIZE), -ENOMEM,
	       "R-WILLNEED-FILE: a range running into a hole is -ENOMEM ...");
	is_int((long)cached_mask(f, 16), 1L << 5 | 1L << 7,
	       "R-WILLNEED-FILE: ... the mapped page read in all the same");
	vm_munmap(b, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("willneed_file", t);
}

static void willneed_cap(void)
{
	const unsigned long n = 2100;
	struct task_struct *t;
	unsigned long a, cached = 0, last = 0;
	struct file *f;

	fs_boot();
	t = test_process("wncap");
	f = fs_open("wncap", O_RDWR | O_CREAT);
	is_int(fs_kwrite(f, 0, n * PAGE_SIZE, 13), (long)(n * PAGE_SIZE), "setup: a file of 2100 pages");
	is_int(vfs_fsync(f, 0), 0, "setup: on the disk");
	pinmm_drop_caches();
	a = fs_mmap(f, FS_BASE, n * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	is_int(madv(a, n * PAGE_SIZE), 0, "R-WILLNEED-FILE: MADV_WILLNEED of all 2100 pages");
	for (unsigned long i = 0; i < n; i++) {
		struct folio *folio = fs_cached(f, i);

		if (folio) {
			cached++;
			last = i;
			folio_put(folio);
		}
	}
	ok(cached == 2048 && last == 2047,
	   "R-WILLNEED-FILE: one call reads the first 2048 pages (8 MiB), no more (%lu, last %lu)",
	   cached, last);
	vm_munmap(a, n * PAGE_SIZE);
	fput(f);
	fs_teardown("willneed_cap", t);
}

static void willneed_shmem(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a;
	long shmem0;

	fs_boot();
	t = test_process("wnshm");
	f = fs_memfd("wnshm", 0);
	do_ftruncate(f, 8 * PAGE_SIZE, 1);
	fs_kwrite(f, 0, PAGE_SIZE, 12);
	a = fs_mmap(f, FS_BASE, 8 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	shmem0 = fs_stat(NR_SHMEM);
	is_int(madv(a, 8 * PAGE_SIZE), 0, "R-WILLNEED-SHMEM: MADV_WILLNEED of a memfd mapping");
	is_int(fs_stat(NR_SHMEM) - shmem0, 0, "R-WILLNEED-SHMEM: nothing allocated for its holes");
	is_int(fs_kcheck(f, 0, PAGE_SIZE, 12), 0, "R-WILLNEED-SHMEM: its page keeps its data");
	vm_munmap(a, 8 * PAGE_SIZE);
	fput(f);
	fs_teardown("willneed_shmem", t);
}

int main(void)
{
	plan_no_plan();
	willneed_file();
	willneed_cap();
	willneed_shmem();
	return done_testing();
}
