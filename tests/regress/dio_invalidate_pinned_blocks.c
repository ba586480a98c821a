// SPDX-License-Identifier: MIT
/*
 * Regression: invalidate_inode_pages2_range() (Direct I/O's cache
 * invalidation) released a pinned folio's block map before finding that the
 * pin kept the folio in the cache, so the pin holder's later
 * set_page_dirty() met a folio without blocks: the 2018 failure, with
 * FOLL_PIN. Rule: a folio that cannot leave the cache keeps its buffers
 * (Linux's invalidate_complete_folio2() removes it outright; either way no
 * folio stays cached without them).
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "../fs/helpers.h"

int main(void)
{
	struct task_struct *t;
	struct page *page;
	struct file *f, *d;
	unsigned long a, warns0;
	loff_t pos = 0;

	plan_no_plan();
	fs_boot();
	t = test_process("inval2");
	f = fs_open("inval2", O_RDWR | O_CREAT);
	d = fs_open("inval2", O_RDWR | O_DIRECT);
	fs_kwrite(f, 0, 2 * PAGE_SIZE, 1);
	vfs_fsync(f, 0);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	is_int(pin_user_pages_fast(a, 1, FOLL_WRITE, &page), 1, "a writable short-term pin (DIO target)");
	vfs_fsync(f, 0);	/* writeback cleans it while pinned */
	test_mmap_fixed(FS_BASE + PMD_SIZE, PAGE_SIZE, FS_RW, MAP_PRIVATE);
	fs_uwrite(FS_BASE + PMD_SIZE, PAGE_SIZE, 2, 0);
	pos = 0;
	is_int(vfs_write(d, (const char __user *)(FS_BASE + PMD_SIZE), PAGE_SIZE, &pos), PAGE_SIZE,
	       "a direct write over the pinned, cached page (falls back through the cache)");
	ok(folio_test_private(page_folio(page)),
	   "the pinned folio kept its block map through the failed invalidation");
	warns0 = pinmm_warn_count();
	fs_fill(page_address(page), PAGE_SIZE, 3, 0);	/* the device writes */
	unpin_user_pages_dirty_lock(&page, 1, true);
	is_uint(pinmm_warn_count(), warns0, "unpin_user_pages_dirty_lock(): no 'dirty folio without "
		"blocks' WARN");
	is_int(vfs_fsync(f, 0), 0, "fsync");
	is_int(fs_host_bad("inval2", 0, PAGE_SIZE, 3), 0, "the device's data reached the disk");
	vm_munmap(a, PAGE_SIZE);
	vm_munmap(FS_BASE + PMD_SIZE, PAGE_SIZE);
	fput(d);
	fput(f);
	fs_teardown("dio_invalidate_pinned_blocks", t);
	return done_testing();
}
