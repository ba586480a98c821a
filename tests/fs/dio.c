// SPDX-License-Identifier: MIT
/*
 * Direct I/O on disk files: case 1 of Documentation/core-api/pin_user_pages.rst
 * (Linux fs/iomap/direct-io.c, lib/iov_iter.c iov_iter_extract_pages(),
 * block/bio.c bio_release_pages(); man open(2) O_DIRECT):
 *  - the user buffer is pinned short-term (FOLL_PIN, FOLL_WRITE for a read
 *    into memory, never FOLL_LONGTERM), one pin per page, all released at
 *    completion — a read's pages dirtied as they are released;
 *  - alignment is the logical block size, 512 bytes, for the offset, the
 *    length and the buffer (not the page size): anything else is -EINVAL;
 *  - the page cache stays coherent: dirty cached data is written before a
 *    direct read or write, cached copies are dropped around a direct write,
 *    and a cache that will not let go (a pinned mapping) makes the write go
 *    through the cache instead;
 *  - reads stop at EOF; an extending write grows the file; checksums are
 *    checked on direct reads too.
 *
 * PINMM_TEST_CONCURRENT: the disk does the I/O on its own thread.
 */
#include "helpers.h"

static struct file *dio_open(const char *name)
{
	struct file *f = fs_open(name, O_RDWR | O_CREAT | O_DIRECT);

	ok(f->f_flags & O_DIRECT, "dio: %s opened with O_DIRECT", name);
	return f;
}

static void alignment(void)
{
	struct task_struct *t;
	struct file *f;
	loff_t pos;

	fs_boot();
	t = test_process("align");
	f = dio_open("align");
	test_mmap_fixed(FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_PRIVATE);
	fs_uwrite(FS_BASE, 4 * PAGE_SIZE, 1, 0);
	pos = 100;
	is_int(vfs_write(f, (const char __user *)FS_BASE, 512, &pos), -EINVAL,
	       "dio: a file offset that is not 512-aligned is -EINVAL");
	pos = 0;
	is_int(vfs_write(f, (const char __user *)FS_BASE, 700, &pos), -EINVAL,
	       "dio: a length that is not 512-aligned is -EINVAL");
	is_int(vfs_write(f, (const char __user *)(FS_BASE + 8), 512, &pos), -EINVAL,
	       "dio: a buffer that is not 512-aligned is -EINVAL");
	is_int(vfs_write(f, (const char __user *)(FS_BASE + 512), 1536, &pos), 1536,
	       "dio: 512-byte alignment is enough (not the page size): 1536 bytes at +512");
	is_int(pos, 1536, "dio: the file position moved by what was written");
	{
		char buf[1536];
		int fd = fs_host_open("align");

		pread(fd, buf, sizeof(buf), 0);
		close(fd);
		is_uint(fs_bad(buf, sizeof(buf), 1, 512), 0,
			"dio: ... exactly the 1536 bytes from buffer offset 512");
	}
	is_int(i_size_read(file_inode(f)), 1536, "dio: an extending direct write grows i_size");
	vm_munmap(FS_BASE, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("alignment", t);
}

static void read_pins_and_dirties(void)
{
	struct task_struct *t;
	struct file *f;
	struct folio *folio;
	long acq0, rel0;
	loff_t pos = 0;
	ssize_t n;

	fs_boot();
	t = test_process("dread");
	f = fs_open("src", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 8 * PAGE_SIZE, 2);
	vfs_fsync(f, 0);
	fput(f);
	pinmm_drop_caches();
	f = dio_open("src");
	test_mmap_fixed(FS_BASE, 8 * PAGE_SIZE, FS_RW, MAP_PRIVATE);
	fs_uwrite(FS_BASE, 8 * PAGE_SIZE, 0, 0);	/* present, then made clean below */
	for (int i = 0; i < 8; i++) {
		folio = pfn_folio(test_pt_pfn(t->mm, FS_BASE + i * PAGE_SIZE));
		folio_clear_dirty(folio);
	}
	acq0 = fs_stat(NR_FOLL_PIN_ACQUIRED);
	rel0 = fs_stat(NR_FOLL_PIN_RELEASED);
	n = vfs_read(f, (char __user *)FS_BASE, 8 * PAGE_SIZE, &pos);
	is_int(n, 8 * PAGE_SIZE, "dio read: eight pages straight from the disk");
	is_int(fs_ucheck(FS_BASE, 8 * PAGE_SIZE, 2, 0), 0, "dio read: the buffer holds the file");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - acq0, 8,
	       "dio read: one FOLL_PIN per page (iov_iter_extract_pages)");
	is_int(fs_stat(NR_FOLL_PIN_RELEASED) - rel0, 8, "dio read: all released at completion");
	folio = pfn_folio(test_pt_pfn(t->mm, FS_BASE + 3 * PAGE_SIZE));
	ok(folio_test_dirty(folio),
	   "dio read: the pages the device wrote were dirtied as they were unpinned "
	   "(unpin_user_pages_dirty_lock(make_dirty = true))");
	is_int(atomic_load(&f->f_mapping->nrpages), 0, "dio read: the page cache was not used");
	pos = 8 * PAGE_SIZE;
	is_int(vfs_read(f, (char __user *)FS_BASE, PAGE_SIZE, &pos), 0, "dio read: at EOF reads 0");
	pos = 8 * PAGE_SIZE + 1;
	is_int(vfs_read(f, (char __user *)(FS_BASE + 1), 7, &pos), 0,
	       "dio read: past EOF reads 0 before alignment is checked (iomap; the live kernel too)");
	pos = 4 * PAGE_SIZE;
	is_int(vfs_read(f, (char __user *)(FS_BASE + 1), PAGE_SIZE, &pos), -EINVAL,
	       "dio read: inside the file a misaligned buffer is still -EINVAL");
	vm_munmap(FS_BASE, 8 * PAGE_SIZE);
	fput(f);
	fs_teardown("read_pins_and_dirties", t);
}

static void coherence(void)
{
	struct task_struct *t;
	struct file *b, *d;
	loff_t pos;

	fs_boot();
	t = test_process("coh");
	b = fs_open("coh", O_RDWR | O_CREAT);
	d = dio_open("coh");
	test_mmap_fixed(FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_PRIVATE);
	fs_kwrite(b, 0, 4 * PAGE_SIZE, 3);	/* dirty in the cache, not on the disk */
	pos = 0;
	is_int(vfs_read(d, (char __user *)FS_BASE, 4 * PAGE_SIZE, &pos), 4 * PAGE_SIZE,
	       "coherence: a direct read of a range dirty in the cache");
	is_int(fs_ucheck(FS_BASE, 4 * PAGE_SIZE, 3, 0), 0,
	       "coherence: it sees the cached data: written back first (kiocb_write_and_wait)");
	fs_uwrite(FS_BASE, 4 * PAGE_SIZE, 4, 0);
	pos = 0;
	is_int(vfs_write(d, (const char __user *)FS_BASE, 4 * PAGE_SIZE, &pos), 4 * PAGE_SIZE,
	       "coherence: a direct write over cached pages");
	is_int(fs_kcheck(b, 0, 4 * PAGE_SIZE, 4), 0,
	       "coherence: a buffered read afterwards sees the new data (cache invalidated)");
	vm_munmap(FS_BASE, 4 * PAGE_SIZE);
	fput(d);
	fput(b);
	fs_teardown("coherence", t);
}

static void pinned_cache_falls_back(void)
{
	struct task_struct *t;
	struct page *page;
	struct file *b, *d;
	unsigned long m;
	loff_t pos = 0;

	fs_boot();
	t = test_process("fallback");
	b = fs_open("pinned", O_RDWR | O_CREAT);
	d = dio_open("pinned");
	fs_kwrite(b, 0, PAGE_SIZE, 5);
	vfs_fsync(b, 0);
	m = fs_mmap(b, FS_BASE, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	is_int(pin_user_pages_fast(m, 1, 0, &page), 1, "fallback: a R/O pin of the cached page");
	test_mmap_fixed(FS_BASE + PAGE_SIZE, PAGE_SIZE, FS_RW, MAP_PRIVATE);
	fs_uwrite(FS_BASE + PAGE_SIZE, PAGE_SIZE, 6, 0);
	is_int(vfs_write(d, (const char __user *)(FS_BASE + PAGE_SIZE), PAGE_SIZE, &pos), PAGE_SIZE,
	       "fallback: a direct write over the pinned cached page still succeeds");
	is_uint(fs_bad(page_address(page), PAGE_SIZE, 6, 0), 0,
		"fallback: it went through the cache (the pinned page could not be dropped), so "
		"the pinned page holds the new data instead of going stale");
	is_int(vfs_fsync(d, 0), 0, "fallback: fsync");
	is_int(fs_host_bad("pinned", 0, PAGE_SIZE, 6), 0, "fallback: the disk has it too");
	unpin_user_page(page);
	vm_munmap(FS_BASE, 2 * PAGE_SIZE);
	fput(d);
	fput(b);
	fs_teardown("pinned_cache_falls_back", t);
}

static void read_into_shared_file_mapping(void)
{
	struct task_struct *t;
	struct file *src, *dst;
	unsigned long m;
	struct folio *folio;
	loff_t pos = 0;

	fs_boot();
	t = test_process("into");
	src = fs_open("from", O_RDWR | O_CREAT);
	fs_kwrite(src, 0, 2 * PAGE_SIZE, 7);
	vfs_fsync(src, 0);
	fput(src);
	src = dio_open("from");
	dst = fs_open("to", O_RDWR | O_CREAT);
	do_ftruncate(dst, 2 * PAGE_SIZE, 1);
	vfs_fsync(dst, 0);
	m = fs_mmap(dst, FS_BASE, 2 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	is_int(vfs_read(src, (char __user *)m, 2 * PAGE_SIZE, &pos), 2 * PAGE_SIZE,
	       "into: a direct read into a MAP_SHARED mapping of another disk file");
	folio = fs_cached(dst, 1);
	ok(folio && folio_test_dirty(folio) && folio_test_private(folio),
	   "into: the destination page is dirty and has its blocks: the FOLL_WRITE pin went "
	   "through ->page_mkwrite (the rule that makes case 1 safe on file pages)");
	if (folio)
		folio_put(folio);
	is_int(vfs_fsync(dst, 0), 0, "into: fsync the destination file");
	is_int(fs_host_bad("to", 0, 2 * PAGE_SIZE, 7), 0,
	       "into: what the device wrote into the page cache reached the destination's disk");
	vm_munmap(m, 2 * PAGE_SIZE);
	fput(dst);
	fput(src);
	fs_teardown("read_into_shared_file_mapping", t);
}

static void kernel_buffers_and_eof(void)
{
	struct file *f;
	char *buf = aligned_alloc(512, 4096);
	long acq0;
	loff_t pos = 0;
	unsigned long csum0;

	fs_boot();
	f = dio_open("kbuf");
	fs_fill(buf, 4096, 8, 0);
	acq0 = fs_stat(NR_FOLL_PIN_ACQUIRED);
	is_int(kernel_write(f, buf, 1024, &pos), 1024, "dio kvec: kernel_write of an O_DIRECT file");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED), acq0,
	       "dio kvec: a kernel buffer is not pinned (iov_iter_extract_will_pin() is false)");
	memset(buf, 0, 4096);
	pos = 0;
	is_int(kernel_read(f, buf, 4096, &pos), 1024,
	       "dio kvec: a read past EOF stops at EOF (1024 of 4096)");
	is_uint(fs_bad(buf, 1024, 8, 0), 0, "dio kvec: the bytes read back");
	{
		int fd = fs_host_open("kbuf");
		char junk = 1;

		pwrite(fd, &junk, 1, 10);
		close(fd);
	}
	csum0 = diskfs_csum_failures();
	pos = 0;
	quiet_stderr_begin();
	is_int(kernel_read(f, buf, 512, &pos), -EIO,
	       "dio: a direct read of a block that fails its checksum is -EIO");
	quiet_stderr_end();
	ok(diskfs_csum_failures() >= csum0, "dio: (counted)");
	free(buf);
	fput(f);
	fs_teardown("kernel_buffers_and_eof", NULL);
}

static void failing_disk(void)
{
	struct task_struct *t;
	struct file *f;
	long acq0, rel0;
	loff_t pos = 0;

	fs_boot();
	t = test_process("fail");
	f = dio_open("failing");
	test_mmap_fixed(FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_PRIVATE);
	fs_uwrite(FS_BASE, 4 * PAGE_SIZE, 9, 0);
	is_int(vfs_write(f, (const char __user *)FS_BASE, 4 * PAGE_SIZE, &pos), 4 * PAGE_SIZE,
	       "failing disk: a direct write while the disk works");
	acq0 = fs_stat(NR_FOLL_PIN_ACQUIRED);
	rel0 = fs_stat(NR_FOLL_PIN_RELEASED);
	pinmm_disk_fail_nth(PINMM_DISK_FAIL_READ, 1, 0, EIO);
	pos = 0;
	is_int(vfs_read(f, (char __user *)FS_BASE, 4 * PAGE_SIZE, &pos), -EIO,
	       "failing disk: a direct read the disk fails is -EIO");
	is_int(pos, 0, "failing disk: the file position did not move");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - acq0, fs_stat(NR_FOLL_PIN_RELEASED) - rel0,
	       "failing disk: every pin taken for it was released (no leaked pin)");
	pinmm_disk_fail_nth(PINMM_DISK_FAIL_WRITE, 1, 0, ENOSPC);
	pos = 0;
	is_int(vfs_write(f, (const char __user *)FS_BASE, 4 * PAGE_SIZE, &pos), -ENOSPC,
	       "failing disk: a direct write to a full disk is -ENOSPC");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - acq0, fs_stat(NR_FOLL_PIN_RELEASED) - rel0,
	       "failing disk: ... and its pins were released too");
	pos = 0;
	is_int(vfs_read(f, (char __user *)FS_BASE, 4 * PAGE_SIZE, &pos), 4 * PAGE_SIZE,
	       "failing disk: once it works again the data written before is intact");
	is_int(fs_ucheck(FS_BASE, 4 * PAGE_SIZE, 9, 0), 0, "failing disk: (no corrupted state)");
	vm_munmap(FS_BASE, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("failing_disk", t);
}

int main(void)
{
	plan_no_plan();
	alignment();
	read_pins_and_dirties();
	coherence();
	pinned_cache_falls_back();
	read_into_shared_file_mapping();
	kernel_buffers_and_eof();
	failing_disk();
	return done_testing();
}
