// SPDX-License-Identifier: MIT
/*
 * Regression (found by tests/fuzz): a buffered write(2) whose user buffer
 * becomes unreadable inside a page spun forever. The copy into a folio that
 * is not uptodate came up short, ->write_end() refused it (the rest of the
 * folio would be garbage), and generic_perform_write() asked for the same
 * whole folio again. Linux (mm/filemap.c) retries with bytes = copied, which
 * ->write_begin() reads around, then stops at the unreadable byte.
 * Rule: write(2) from a partly readable buffer writes the readable prefix
 * and returns its length (a short write), or -EFAULT if none is readable.
 */
#include "../fs/helpers.h"

#include <signal.h>

int main(void)
{
	struct task_struct *t;
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	alarm(30);	/* the bug was a livelock: SIGALRM fails the test instead */
	fs_boot();
	t = test_process("shortcopy");
	f = fs_open("short", O_RDWR | O_CREAT | O_TRUNC);
	test_mmap_fixed(FS_BASE, 2 * PAGE_SIZE, FS_RW, MAP_PRIVATE);
	fs_uwrite(FS_BASE, PAGE_SIZE, 7, 0);
	is_int(do_mprotect(FS_BASE + PAGE_SIZE, PAGE_SIZE, PROT_NONE), 0,
	       "setup: the buffer's second page is PROT_NONE");

	/* a whole new folio of the file, from 2 KiB readable then a fault */
	n = vfs_write(f, (const char __user *)(FS_BASE + PAGE_SIZE / 2), PAGE_SIZE, &pos);
	is_int(n, PAGE_SIZE / 2, "write(2) stops at the unreadable byte: a short write of 2 KiB");
	is_int(pos, PAGE_SIZE / 2, "the file position moved by what was written");
	{
		char buf[PAGE_SIZE / 2];
		loff_t rp = 0;

		is_int(kernel_read(f, buf, sizeof(buf), &rp), sizeof(buf), "the file holds 2 KiB");
		is_uint(fs_bad(buf, sizeof(buf), 7, PAGE_SIZE / 2), 0,
			"... exactly the readable half page of the buffer");
	}
	pos = 0;
	n = vfs_write(f, (const char __user *)(FS_BASE + PAGE_SIZE), 16, &pos);
	is_int(n, -EFAULT, "nothing readable: -EFAULT");

	vm_munmap(FS_BASE, 2 * PAGE_SIZE);
	fput(f);
	fs_teardown("short_copy_write_progress", t);
	return done_testing();
}
