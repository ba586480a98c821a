// SPDX-License-Identifier: MIT
/*
 * Regression: a hole punched in a disk file zapped the private COW copies
 * made from it (truncate_pagecache_range() passed even_cows = 1). Rule: "hole
 * punching should not remove private COWed pages from the hole" (mm/truncate.c
 * truncate_pagecache_range()); only truncation past EOF does.
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "../fs/helpers.h"

static void punch(bool shmem)
{
	const char *what = shmem ? "memfd" : "disk file";
	struct task_struct *t;
	struct file *f;
	unsigned long p;

	fs_boot();
	t = test_process("punch");
	f = shmem ? fs_memfd("punch", 0) : fs_open("punch", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 4 * PAGE_SIZE, 1);
	p = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	fs_uwrite(p + PAGE_SIZE, PAGE_SIZE, 2, 0);	/* a private COW copy of page 1 */
	is_int(vfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4 * PAGE_SIZE), 0,
	       "[%s] punch the whole file", what);
	is_int(fs_ucheck(p + PAGE_SIZE, PAGE_SIZE, 2, 0), 0,
	       "[%s] the private COW copy of a punched page is still the process's", what);
	vm_munmap(p, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("punch_keeps_private_cow", t);
}

int main(void)
{
	plan_no_plan();
	punch(false);
	punch(true);
	return done_testing();
}
