// SPDX-License-Identifier: MIT
/*
 * Regression: a byte stored through a mapping past EOF (inside the last
 * page, which mmap allows) became file data when a later write, fallocate or
 * ftruncate extended the file. Rule: the extended range reads as zeroes
 * (POSIX; fstests generic/363): Linux zeroes the old EOF block's tail when
 * the size grows (pagecache_isize_extended(), xfs_file_write_checks()).
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "../fs/helpers.h"

enum grow { BY_WRITE, BY_FALLOCATE, BY_TRUNCATE };

static void one(bool shmem, enum grow how)
{
	static const char *const hows[] = { "write", "fallocate", "ftruncate" };
	const char *what = shmem ? "memfd" : "disk file";
	struct task_struct *t;
	struct file *f;
	unsigned long a;
	char c = 'z';
	loff_t pos;

	fs_boot();
	t = test_process("eof");
	f = shmem ? fs_memfd("eof", 0) : fs_open("eof", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 100, 1);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	put_user('x', (char __user *)(a + 200));	/* past EOF, inside the page */
	switch (how) {
	case BY_WRITE:
		pos = 2 * PAGE_SIZE;
		kernel_write(f, "y", 1, &pos);
		break;
	case BY_FALLOCATE:
		vfs_fallocate(f, 0, 0, 2 * PAGE_SIZE);
		break;
	case BY_TRUNCATE:
		do_ftruncate(f, 2 * PAGE_SIZE, 1);
		break;
	}
	pos = 200;
	ok(kernel_read(f, &c, 1, &pos) == 1 && c == 0,
	   "[%s, grown by %s] the byte stored past the old EOF reads as zero (got %#x)", what,
	   hows[how], (unsigned char)c);
	vm_munmap(a, PAGE_SIZE);
	fput(f);
	fs_teardown("extend_zeroes_post_eof", t);
}

int main(void)
{
	plan_no_plan();
	for (int s = 0; s < 2; s++)
		for (int h = BY_WRITE; h <= BY_TRUNCATE; h++)
			one(s, (enum grow)h);
	return done_testing();
}
