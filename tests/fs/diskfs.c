// SPDX-License-Identifier: MIT
/*
 * The disk file system (src/fs/diskfs.c) against Linux's rules for a block
 * file system with a page cache (mm/filemap.c, mm/page-writeback.c,
 * fs/sync.c, fs/open.c, lib/errseq.c):
 *  - open(2) semantics: O_CREAT, O_EXCL, O_TRUNC, access modes, bad names;
 *  - buffered writes dirty the cache (nr_dirty) and reach the disk only on
 *    writeback; fsync writes and waits; the blocks on disk carry checksums
 *    that catch a block changed behind the file system's back (-EIO);
 *  - writeback errors are reported by fsync once to each open file (errseq);
 *  - a missing or unusable file directory fails the boot.
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "helpers.h"

#include <sys/mman.h>
#include <sys/stat.h>

static void boot_errors(void)
{
	struct pinmm_config cfg;
	char path[] = "/tmp/pinmm-notdir-XXXXXX";
	int fd;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 32UL << 20;
	cfg.movable_bytes = 0;
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	cfg.file_dir = "/nonexistent/pinmm-dir";
	quiet_stderr_begin();
	is_int(pinmm_boot(&cfg), -ENOENT, "boot: a file directory that does not exist is -ENOENT");
	fd = mkstemp(path);
	cfg.file_dir = path;
	is_int(pinmm_boot(&cfg), -ENOTDIR, "boot: a file directory that is a file is -ENOTDIR");
	quiet_stderr_end();
	close(fd);
	unlink(path);
	ok(!pinmm_is_booted(), "boot: a failed boot leaves no machine up");
	cfg.file_dir = NULL;
	is_int(pinmm_boot(&cfg), 0, "boot: no file directory given: a fresh temporary one");
	ok(pinmm_file_dir() && access(pinmm_file_dir(), W_OK) == 0,
	   "boot: ... which exists and is writable");
	{
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s", pinmm_file_dir());
		test_shutdown_ok("boot_errors");
		ok(access(dir, F_OK) != 0, "boot: shutdown removes the temporary file directory");
	}
}

static void open_semantics(void)
{
	struct file *f, *g;
	char c;
	loff_t pos = 0;

	fs_boot();
	ok(PTR_ERR(filp_open("nofile", O_RDWR, 0)) == -ENOENT,
	   "open: a missing file without O_CREAT is -ENOENT");
	ok(PTR_ERR(filp_open("a/b", O_RDWR | O_CREAT, 0644)) == -EINVAL &&
	   PTR_ERR(filp_open(".hidden", O_RDWR | O_CREAT, 0644)) == -EINVAL &&
	   PTR_ERR(filp_open("", O_RDWR | O_CREAT, 0644)) == -EINVAL,
	   "open: a name with '/', a leading '.', or empty is -EINVAL");
	ok(PTR_ERR(filp_open("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			     O_RDWR | O_CREAT, 0644)) == -ENAMETOOLONG,
	   "open: a name longer than 63 bytes is -ENAMETOOLONG");
	f = fs_open("one", O_RDWR | O_CREAT | O_EXCL);
	ok(PTR_ERR(filp_open("one", O_RDWR | O_CREAT | O_EXCL, 0644)) == -EEXIST,
	   "open: O_CREAT|O_EXCL on an existing file is -EEXIST");
	g = fs_open("one", O_RDONLY);
	ok(file_inode(g) == file_inode(f) && g->f_mapping == f->f_mapping,
	   "open: two opens of one file share the inode and the page cache");
	is_int(kernel_write(g, "x", 1, &pos), -EBADF, "open: writing an O_RDONLY file is -EBADF");
	is_int(do_ftruncate(g, 0, 1), -EINVAL,
	       "open: ftruncate of a file not open for writing is -EINVAL (as Linux)");
	fput(g);
	g = fs_open("one", O_WRONLY);
	pos = 0;
	is_int(kernel_read(g, &c, 1, &pos), -EBADF, "open: reading an O_WRONLY file is -EBADF");
	fput(g);
	fs_kwrite(f, 0, 3 * PAGE_SIZE, 1);
	g = fs_open("one", O_RDWR | O_TRUNC);
	is_int(i_size_read(file_inode(f)), 0, "open: O_TRUNC empties the file");
	fput(g);
	fput(f);
	fs_teardown("open_semantics", NULL);
}

static void buffered_write_fsync(void)
{
	struct file *f;
	long dirty0, wb0, written0;
	unsigned long checked, bad, out0;
	long first;

	fs_boot();
	f = fs_open("data", O_RDWR | O_CREAT);
	dirty0 = fs_stat(NR_FILE_DIRTY);
	written0 = fs_stat(NR_WRITTEN);
	out0 = fs_event(PGPGOUT);
	is_int(fs_kwrite(f, 0, 8 * PAGE_SIZE + 123, 7), 8 * PAGE_SIZE + 123,
	       "write: nine pages' worth through the page cache");
	is_int(fs_stat(NR_FILE_DIRTY) - dirty0, 9,
	       "write: nine folios are dirty (nr_dirty), nothing is on the disk yet");
	ok(xa_marked(&f->f_mapping->i_pages, PAGECACHE_TAG_DIRTY),
	   "write: the cache carries PAGECACHE_TAG_DIRTY");
	is_int(fs_host_bad("data", 0, 123, 7), 123, "write: the host file has none of it before writeback");
	is_int(vfs_fsync(f, 0), 0, "fsync: writes back and waits");
	is_int(fs_stat(NR_FILE_DIRTY) - dirty0, 0, "fsync: nothing is dirty after it");
	wb0 = fs_stat(NR_WRITEBACK);
	is_int(wb0, 0, "fsync: nothing is under writeback after it (it waited)");
	is_int(fs_stat(NR_WRITTEN) - written0, 9, "fsync: nine pages written (nr_written)");
	ok(fs_event(PGPGOUT) - out0 >= 8 * 4, "fsync: pgpgout counted the kilobytes written");
	is_int(fs_host_bad("data", 0, 8 * PAGE_SIZE + 123, 7), 0,
	       "fsync: the host file holds exactly what was written");
	{
		struct stat st;
		int fd = fs_host_open("data");

		fstat(fd, &st);
		close(fd);
		is_int(st.st_size, 8 * PAGE_SIZE + 123, "fsync: the host file ends at i_size");
	}
	is_int(pinmm_diskfs_verify(f, &checked, &bad, &first), 0, "verify: runs");
	ok(checked == 9 && bad == 0, "verify: nine blocks, each matching its checksum (%lu/%lu)",
	   bad, checked);
	is_uint(pinmm_drop_caches(), 9, "drop_caches: the nine clean, unmapped folios are evicted");
	is_int(fs_kcheck(f, 0, 8 * PAGE_SIZE + 123, 7), 0,
	       "read: after drop_caches the data comes back from the disk, checksums verified");
	fput(f);
	fs_teardown("buffered_write_fsync", NULL);
}

static void csum_catches_corruption(void)
{
	unsigned long checked, bad, csum0;
	struct file *f;
	long first;
	char junk = 0x5a, buf[16];
	loff_t pos;
	int fd;

	fs_boot();
	f = fs_open("victim", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 4 * PAGE_SIZE, 8);
	vfs_fsync(f, 0);
	/* change one byte of block 2 on the disk, behind the file system */
	fd = fs_host_open("victim");
	pwrite(fd, &junk, 1, 2 * PAGE_SIZE + 77);
	close(fd);
	pinmm_diskfs_verify(f, &checked, &bad, &first);
	ok(bad == 1 && first == 2, "csum: verify finds the one changed block (block %ld)", first);
	pinmm_drop_caches();
	csum0 = diskfs_csum_failures();
	pos = 2 * PAGE_SIZE;
	quiet_stderr_begin();
	is_int(kernel_read(f, buf, sizeof(buf), &pos), -EIO,
	       "csum: reading the changed block is -EIO, not wrong data");
	quiet_stderr_end();
	ok(diskfs_csum_failures() > csum0, "csum: the failure is counted");
	is_int(fs_kcheck(f, PAGE_SIZE, PAGE_SIZE, 8), 0, "csum: the blocks around it read fine");
	fs_kwrite(f, 2 * PAGE_SIZE, PAGE_SIZE, 8);
	vfs_fsync(f, 0);
	pinmm_diskfs_verify(f, &checked, &bad, &first);
	is_uint(bad, 0, "csum: rewriting the block makes it good again");
	fput(f);
	fs_teardown("csum_catches_corruption", NULL);
}

static void fsync_error_once(void)
{
	struct file *f, *g, *h;
	int e1, e2, e3;

	fs_boot();
	f = fs_open("err", O_RDWR | O_CREAT);
	g = fs_open("err", O_RDWR);
	fs_kwrite(f, 0, 2 * PAGE_SIZE, 9);
	pinmm_disk_fail_nth(PINMM_DISK_FAIL_WRITE, 1, 0, EIO);
	e1 = vfs_fsync(f, 0);
	is_int(e1, -EIO, "fsync: a failed disk write is reported as -EIO");
	is_uint(pinmm_disk_failures(PINMM_DISK_FAIL_WRITE), 1, "fsync: exactly one injected failure");
	e2 = vfs_fsync(f, 0);
	is_int(e2, 0, "fsync: ... once: the same file's next fsync is 0 (errseq seen)");
	e3 = vfs_fsync(g, 0);
	is_int(e3, -EIO, "fsync: another file open before the error is told too, once");
	is_int(vfs_fsync(g, 0), 0, "fsync: ... and then not again");
	h = fs_open("err", O_RDWR);
	is_int(vfs_fsync(h, 0), 0, "fsync: a file opened after the error was seen is not told");
	/* the failed folio was not written: Linux leaves it clean; a rewrite fixes the disk */
	fs_kwrite(f, 0, 2 * PAGE_SIZE, 9);
	is_int(vfs_fsync(f, 0), 0, "fsync: after a rewrite the data goes out");
	is_int(fs_host_bad("err", 0, 2 * PAGE_SIZE, 9), 0, "fsync: and is on the disk");
	fput(h);
	fput(g);
	fput(f);
	fs_teardown("fsync_error_once", NULL);
}

static void enospc(void)
{
	struct file *f;

	fs_boot();
	f = fs_open("full", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, PAGE_SIZE, 10);
	pinmm_disk_fail_nth(PINMM_DISK_FAIL_WRITE, 1, 0, ENOSPC);
	is_int(vfs_fsync(f, 0), -ENOSPC, "fsync: a full disk is -ENOSPC");
	fput(f);
	fs_teardown("enospc", NULL);
}

static void truncate_file(void)
{
	struct file *f;
	long file0;
	struct stat st;
	int fd;

	fs_boot();
	f = fs_open("trunc", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 4 * PAGE_SIZE, 11);
	vfs_fsync(f, 0);
	file0 = fs_stat(NR_FILE_PAGES);
	is_int(do_ftruncate(f, PAGE_SIZE + 1, 1), 0, "truncate: shrink to a page and a byte");
	is_int(file0 - fs_stat(NR_FILE_PAGES), 2, "truncate: two folios leave the cache");
	fd = fs_host_open("trunc");
	fstat(fd, &st);
	close(fd);
	is_int(st.st_size, PAGE_SIZE + 1, "truncate: the host file is cut too");
	{
		unsigned long checked, bad;
		long first;

		pinmm_diskfs_verify(f, &checked, &bad, &first);
		is_uint(bad, 0, "truncate: the cut block's checksum is redone (no false -EIO)");
	}
	is_int(do_ftruncate(f, 3 * PAGE_SIZE, 1), 0, "truncate: grow again");
	{
		char buf[PAGE_SIZE];
		loff_t pos = PAGE_SIZE + 1;
		size_t nz = 0;

		kernel_read(f, buf, sizeof(buf), &pos);
		for (size_t i = 0; i < sizeof(buf); i++)
			nz += buf[i] != 0;
		is_uint(nz, 0, "truncate: what was cut and grown back reads as zeroes");
	}
	is_int(vfs_truncate("trunc", 0), 0, "truncate: truncate(2) by name");
	is_int(i_size_read(file_inode(f)), 0, "truncate: ... empties it");
	fput(f);
	fs_teardown("truncate_file", NULL);
}

static void sync_calls(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a;
	long dirty0;

	fs_boot();
	t = test_process("sync");
	f = fs_open("sync", O_RDWR | O_CREAT);
	do_ftruncate(f, 8 * PAGE_SIZE, 1);
	vfs_fsync(f, 0);
	a = fs_mmap(f, FS_BASE, 8 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	dirty0 = fs_stat(NR_FILE_DIRTY);
	fs_uwrite(a, 8 * PAGE_SIZE, 14, 0);
	is_int(fs_stat(NR_FILE_DIRTY) - dirty0, 8, "msync: eight pages dirtied through the mapping");
	is_int(do_msync(a + 1, PAGE_SIZE, MS_SYNC), -EINVAL, "msync: an unaligned start is -EINVAL");
	is_int(do_msync(a, PAGE_SIZE, MS_SYNC | MS_ASYNC), -EINVAL,
	       "msync: MS_SYNC|MS_ASYNC together is -EINVAL");
	is_int(do_msync(a, 2 * PAGE_SIZE, MS_SYNC), 0, "msync: MS_SYNC of the first two pages");
	is_int(fs_host_bad("sync", 0, 2 * PAGE_SIZE, 14), 0, "msync: they are on the disk");
	is_int(fs_stat(NR_FILE_DIRTY) - dirty0, 6, "msync: only the range was written");
	is_int(sync_file_range(f, -1, 10, SYNC_FILE_RANGE_WRITE), -EINVAL,
	       "sync_file_range: a negative offset is -EINVAL");
	is_int(sync_file_range(f, 0, 10, 0x80), -EINVAL, "sync_file_range: unknown flags are -EINVAL");
	is_int(sync_file_range(f, 2 * PAGE_SIZE, 2 * PAGE_SIZE,
			       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			       SYNC_FILE_RANGE_WAIT_AFTER), 0,
	       "sync_file_range: write and wait for pages 2-3");
	is_int(fs_host_bad("sync", 2 * PAGE_SIZE, 2 * PAGE_SIZE, 14), 0,
	       "sync_file_range: they are on the disk");
	is_int(fs_stat(NR_FILE_DIRTY) - dirty0, 4, "sync_file_range: the rest is still dirty");
	is_int(do_msync(a, 16 * PAGE_SIZE, MS_SYNC), -ENOMEM,
	       "msync: a range running past the mapping is -ENOMEM ...");
	is_int(fs_stat(NR_FILE_DIRTY) - dirty0, 0, "msync: ... after the mapped part was written");
	is_int(fs_host_bad("sync", 0, 8 * PAGE_SIZE, 14), 0, "msync: all eight pages on the disk");
	vm_munmap(a, 8 * PAGE_SIZE);
	fput(f);
	fs_teardown("sync_calls", t);
}

int main(void)
{
	plan_no_plan();
	boot_errors();
	open_semantics();
	buffered_write_fsync();
	csum_catches_corruption();
	fsync_error_once();
	enospc();
	truncate_file();
	sync_calls();
	return done_testing();
}
