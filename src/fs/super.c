// SPDX-License-Identifier: MIT
/*
 * The machine's file systems: mounted at boot, unmounted at shutdown
 * (Linux: fs/super.c, fs/drop_caches.c).
 *
 * diskfs lives in a host directory: pinmm_config.file_dir if given (it must
 * exist and be writable: anything else is a clear error at boot, not a
 * surprise at the first write), else a fresh temporary directory that
 * shutdown removes. tmpfs needs no storage.
 */
#include "internal.h"

#include <pinmm/secretmem.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pinmm/hugetlb.h>
#include <pinmm/slab.h>

struct super_block *pinmm_diskfs_sb, *pinmm_shmem_sb;

static char file_dir[4096];
static bool file_dir_is_temp;

const char *pinmm_file_dir(void)
{
	return file_dir[0] ? file_dir : NULL;
}

struct super_block *alloc_super(const char *id)
{
	struct super_block *sb = kzalloc(sizeof(*sb), GFP_KERNEL);

	if (!sb)
		return NULL;
	sb->s_id = id;
	sb->s_maxbytes = LLONG_MAX;	/* MAX_LFS_FILESIZE on 64-bit */
	spin_lock_init(&sb->s_inode_list_lock, LOCK_RANK_LEAF);
	INIT_LIST_HEAD(&sb->s_inodes);
	return sb;
}

unsigned long kill_super(struct super_block *sb)
{
	unsigned long left = 0;
	struct inode *inode;

	prune_unused_inodes(sb, true);
	/* the evicted inodes are freed by RCU callbacks that read sb->s_op */
	rcu_barrier();
	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		fprintf(stderr, "pinmm: %s: inode %lu (%s) still has %d reference(s) at shutdown "
			"(a file not closed, or still mapped)\n", sb->s_id, inode->i_ino,
			inode->i_name, atomic_load(&inode->i_count));
		left++;
	}
	spin_unlock(&sb->s_inode_list_lock);
	/* leaked inodes stay allocated: their pages then show as leaked frames too */
	if (!left) {
		if (sb->s_op && sb->s_op->put_super)
			sb->s_op->put_super(sb);
		kfree(sb);
	}
	return left;
}

static int check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st)) {
		int err = -errno;

		fprintf(stderr, "pinmm: file directory %s: %s\n", dir, strerror(errno));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pinmm: file directory %s: not a directory\n", dir);
		return -ENOTDIR;
	}
	if (access(dir, W_OK | X_OK)) {
		int err = -errno;

		fprintf(stderr, "pinmm: file directory %s: not writable: %s\n", dir,
			strerror(errno));
		return err;
	}
	return 0;
}

static int setup_file_dir(const char *dir)
{
	const char *tmp = getenv("TMPDIR");
	int err;

	file_dir_is_temp = false;
	if (dir) {
		if (strlen(dir) >= sizeof(file_dir) - 128) {
			fprintf(stderr, "pinmm: file directory %s: name too long\n", dir);
			return -ENAMETOOLONG;
		}
		err = check_dir(dir);
		if (err)
			return err;
		if (!realpath(dir, file_dir))
			return -errno;
		return 0;
	}
	snprintf(file_dir, sizeof(file_dir), "%s/pinmm-files-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(file_dir)) {
		err = -errno;
		fprintf(stderr, "pinmm: cannot create a file directory in %s: %s\n",
			tmp && *tmp ? tmp : "/tmp", strerror(errno));
		file_dir[0] = '\0';
		return err;
	}
	file_dir_is_temp = true;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown_file_dir(void)
{
	if (file_dir_is_temp && file_dir[0])
		nftw(file_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	file_dir[0] = '\0';
	file_dir_is_temp = false;
}

int pinmm_fs_boot(const struct pinmm_config *cfg)
{
	int err;

	writeback_reset();
	err = setup_file_dir(cfg->file_dir);
	if (err)
		return err;
	err = shmem_init();
	if (err)
		goto out_dir;
	err = hugetlbfs_init();	/* src/fs/hugetlbfs.c */
	if (err)
		goto out_shmem;
	err = dax_init();
	if (err)
		goto out_dax;
	err = secretmem_init();
	if (err)
		goto out_dax;
	err = diskfs_init(file_dir);
	if (err)
		goto out_secret;
	return 0;
out_secret:
	secretmem_exit();
out_dax:
	dax_exit();
	hugetlbfs_exit();
out_shmem:
	kill_super(pinmm_shmem_sb);
	shmem_exit();
out_dir:
	teardown_file_dir();
	return err;
}

unsigned long pinmm_fs_shutdown(void)
{
	unsigned long left = 0;

	/* what is dirty reaches the host files before they are closed */
	if (pinmm_diskfs_sb)
		pinmm_writeback_flush();
	if (pinmm_diskfs_sb) {
		diskfs_exit();	/* stops the flusher and the disk, kills the super block */
		left += kill_super(pinmm_diskfs_sb);
		pinmm_diskfs_sb = NULL;
	}
	if (pinmm_shmem_sb) {
		left += kill_super(pinmm_shmem_sb);
		shmem_exit();
		pinmm_shmem_sb = NULL;
	}
	left += hugetlbfs_exit();
	left += secretmem_exit();
	left += dax_exit();
	teardown_file_dir();
	return left;
}

/* drop_caches on one inode: evict what can go from its cache. */
static bool drop_pagecache_inode(struct inode *inode, void *arg)
{
	*(unsigned long *)arg += invalidate_mapping_pages(inode->i_mapping, 0, ~0UL);
	return false;
}

static unsigned long drop_pagecache_sb(struct super_block *sb)
{
	unsigned long freed = 0;

	iterate_cached_inodes(sb, drop_pagecache_inode, &freed);
	return freed;
}

unsigned long pinmm_drop_caches(void)
{
	unsigned long freed = 0;

	if (pinmm_diskfs_sb) {
		freed += drop_pagecache_sb(pinmm_diskfs_sb);
		prune_unused_inodes(pinmm_diskfs_sb, false);
	}
	if (pinmm_shmem_sb)
		freed += drop_pagecache_sb(pinmm_shmem_sb);
	return freed;
}
