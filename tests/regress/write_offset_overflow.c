// SPDX-License-Identifier: MIT
/*
 * Regression: write(2) near LLONG_MAX wrapped the file position and left a
 * folio at a negative index (a crash at eviction); ftruncate() past what the
 * host allows left i_size changed after failing. Rules: rw_verify_area()
 * refuses a range that overflows loff_t (-EINVAL); generic_write_checks()
 * refuses to start past s_maxbytes (-EFBIG); inode_newsize_ok() before
 * truncation changes anything (-EFBIG, size unchanged).
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "../fs/helpers.h"

int main(void)
{
	struct file *f;
	char buf[100] = { 1 };
	loff_t pos;

	plan_no_plan();
	fs_boot();
	f = fs_open("big", O_RDWR | O_CREAT);
	pos = LLONG_MAX - 10;
	is_int(kernel_write(f, buf, sizeof(buf), &pos), -EINVAL,
	       "a write whose end overflows loff_t is -EINVAL (rw_verify_area)");
	is_int(pos, LLONG_MAX - 10, "... and the position did not move");
	pos = file_inode(f)->i_sb->s_maxbytes;
	is_int(kernel_write(f, buf, sizeof(buf), &pos), -EFBIG,
	       "a write at s_maxbytes is -EFBIG (generic_write_checks)");
	pos = file_inode(f)->i_sb->s_maxbytes - 10;
	is_int(kernel_write(f, buf, sizeof(buf), &pos), 10,
	       "a write that crosses s_maxbytes is cut to fit");
	do_ftruncate(f, 4096, 1);
	is_int(do_ftruncate(f, LLONG_MAX, 1), -EFBIG, "ftruncate past s_maxbytes is -EFBIG");
	is_int(i_size_read(file_inode(f)), 4096, "... and i_size is unchanged");
	is_int(vfs_fallocate(f, 0, LLONG_MAX - 100, 50), -EFBIG,
	       "fallocate past s_maxbytes is -EFBIG");
	fput(f);
	fs_teardown("write_offset_overflow", NULL);
	return done_testing();
}
