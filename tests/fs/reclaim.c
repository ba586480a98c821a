// SPDX-License-Identifier: MIT
/*
 * Reclaim of page cache and the dirty limits (Linux mm/vmscan.c
 * shrink_folio_list(), mm/page-writeback.c balance_dirty_pages(),
 * fs/drop_caches.c):
 *  - reclaim frees clean page cache, unmapping it from processes if asked;
 *    dirty folios and folios under writeback stay for the flusher; shmem
 *    stays (no swap); a maybe-pinned folio is not touched (pinmm's rule);
 *  - drop_caches frees clean, unmapped, unheld folios only;
 *  - a writer that dirties more than the dirty limit writes back itself,
 *    and an allocation that finds memory full reclaims clean page cache:
 *    a file twice the size of memory can be written, and reads back right.
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "helpers.h"

static void reclaim_rules(void)
{
	struct task_struct *t;
	struct page *page;
	struct file *f, *m;
	unsigned long a, got, shmem0;
	long file0;

	fs_boot();
	t = test_process("rec");
	f = fs_open("rec", O_RDWR | O_CREAT);
	m = fs_memfd("rec", 0);
	fs_kwrite(f, 0, 8 * PAGE_SIZE, 1);
	fs_kwrite(m, 0, 4 * PAGE_SIZE, 2);
	shmem0 = (unsigned long)fs_stat(NR_SHMEM);
	is_uint(pinmm_reclaim_page_cache(1000, true), 0,
		"reclaim: dirty page cache is not reclaimed (the flusher cleans it first)");
	vfs_fsync(f, 0);
	a = fs_mmap(f, FS_BASE, 8 * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	/* one page per fault (no fault-around), so the test says which are mapped */
	pinmm_set_fault_around_bytes(PAGE_SIZE);
	fs_ucheck(a, 2 * PAGE_SIZE, 1, 0);	/* pages 0 and 1 mapped */
	pin_user_pages_fast(a + 6 * PAGE_SIZE, 1, 0, &page);	/* page 6 pinned (and mapped) */
	pinmm_set_fault_around_bytes(FAULT_AROUND_BYTES_DEFAULT);
	file0 = fs_stat(NR_FILE_PAGES);
	got = pinmm_reclaim_page_cache(1000, false);
	is_uint(got, 5, "reclaim: without unmapping, the five clean unmapped, unpinned folios go");
	got = pinmm_reclaim_page_cache(1000, true);
	is_uint(got, 2, "reclaim: with unmapping, the two mapped ones go too");
	ok(test_pt_pfn(t->mm, a) == -1UL, "reclaim: their PTEs are gone (try_to_unmap)");
	is_int(file0 - fs_stat(NR_FILE_PAGES), 7, "reclaim: nr_file_pages dropped by seven");
	ok(test_pt_pfn(t->mm, a + 6 * PAGE_SIZE) == page_to_pfn(page) &&
	   folio_mapping(page_folio(page)) == f->f_mapping,
	   "reclaim: the pinned folio stays cached and mapped (folio_maybe_dma_pinned)");
	is_uint(fs_stat(NR_SHMEM), shmem0, "reclaim: shmem is never reclaimed (no swap)");
	is_int(fs_ucheck(a, 8 * PAGE_SIZE, 1, 0), 0, "reclaim: a refault reads it all back from disk");
	is_uint(pinmm_drop_caches(), 0,
		"drop_caches: nothing to drop now: what is cached is mapped or pinned");
	unpin_user_page(page);
	vm_munmap(a, 8 * PAGE_SIZE);
	is_uint(pinmm_drop_caches(), 8, "drop_caches: unmapped and unpinned, all eight go");
	fput(m);
	fput(f);
	fs_teardown("reclaim_rules", t);
}

static void bigger_than_memory(void)
{
	const size_t chunk = 64 * PAGE_SIZE;
	struct file *f;
	loff_t size = 0;
	char *buf = malloc(chunk);
	long peak = 0, bad = 0;
	unsigned long bg, limit;
	ssize_t n = 0;

	test_boot(32, 0, 0);
	global_dirty_limits(&bg, &limit);
	f = fs_open("big", O_RDWR | O_CREAT);
	/* 64 MiB through a 32 MiB machine */
	for (size = 0; size < (64L << 20); size += (loff_t)chunk) {
		loff_t pos = size;

		fs_fill(buf, chunk, 12, (unsigned long)size);
		n = kernel_write(f, buf, chunk, &pos);
		if (n != (ssize_t)chunk)
			break;
		peak = max(peak, fs_stat(NR_FILE_DIRTY));
	}
	is_int(size, 64L << 20, "pressure: a 64 MiB file written through a 32 MiB machine (last %zd)",
	       n);
	ok(peak <= (long)limit + 64,
	   "pressure: nr_dirty never went far past the dirty limit (peak %ld, limit %lu)", peak, limit);
	ok(fs_event(PGSTEAL_FILE) > 0, "pressure: allocations reclaimed clean page cache (pgsteal_file %lu)",
	   fs_event(PGSTEAL_FILE));
	is_int(vfs_fsync(f, 0), 0, "pressure: fsync");
	for (loff_t pos = 0; pos < size; pos += (loff_t)chunk)
		bad += fs_kcheck(f, pos, chunk, 12);
	is_int(bad, 0, "pressure: the whole file reads back right");
	free(buf);
	fput(f);
	fs_teardown("bigger_than_memory", NULL);
}

static void flusher_background(void)
{
	struct pinmm_dirty_limits l;
	struct file *f;
	unsigned long bg, limit;
	long dirty;

	fs_boot();
	pinmm_get_dirty_limits(&l);
	l.dirty_writeback_centisecs = 10;	/* a pass every 100 ms */
	l.dirty_expire_centisecs = 10;
	pinmm_set_dirty_limits(&l);
	global_dirty_limits(&bg, &limit);
	f = fs_open("bg", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 16 * PAGE_SIZE, 13);
	dirty = fs_stat(NR_FILE_DIRTY);
	ok(dirty >= 16 && (unsigned long)dirty < bg,
	   "flusher: 16 dirty pages, under the background threshold (%lu)", bg);
	/*
	 * Dirty is cleared when writeback starts (folio_clear_dirty_for_io), the
	 * data is on the disk only when it ends: wait for both, as sync does.
	 */
	for (int i = 0; i < 500 && (fs_stat(NR_FILE_DIRTY) || fs_stat(NR_WRITEBACK)); i++)
		usleep(10000);
	is_int(fs_stat(NR_FILE_DIRTY), 0,
	       "flusher: expired dirty data is written back by the flusher on its own "
	       "(dirty_expire_centisecs)");
	is_int(fs_stat(NR_WRITEBACK), 0, "flusher: ... and its writeback has ended");
	is_int(fs_host_bad("bg", 0, 16 * PAGE_SIZE, 13), 0, "flusher: it is on the disk");
	fput(f);
	fs_teardown("flusher_background", NULL);
}

int main(void)
{
	plan_no_plan();
	reclaim_rules();
	bigger_than_memory();
	flusher_background();
	return done_testing();
}
