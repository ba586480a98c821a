// SPDX-License-Identifier: MIT
/*
 * Dirty inodes and the flusher thread (Linux: fs/fs-writeback.c,
 * mm/backing-dev.c).
 *
 * An inode gets on its device's b_dirty list (oldest first) when its first
 * folio is dirtied, and leaves it when writeback finds it clean. The flusher
 * wakes every dirty_writeback_centisecs, or when a writer crosses the
 * background threshold, and writes back:
 *   - while nr_dirty is above the background threshold, inodes in list
 *     order (WB_SYNC_NONE, for_background);
 *   - inodes dirtied more than dirty_expire_centisecs ago (for_kupdate).
 * It works on an inode with a reference of its own (never on one being
 * evicted) and I_SYNC set, so eviction and the flusher never meet halfway.
 */
#include "internal.h"

#include <pinmm/wait.h>
#include <pthread.h>
#include <time.h>

static unsigned long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000 + (unsigned long)ts.tv_nsec / 1000000;
}

static struct bdi_writeback *inode_to_wb(const struct inode *inode)
{
	struct backing_dev_info *bdi = inode->i_sb->s_bdi;

	return bdi && (bdi->capabilities & BDI_CAP_WRITEBACK) ? &bdi->wb : NULL;
}

void __mark_inode_dirty(struct inode *inode, unsigned int flags)
{
	struct bdi_writeback *wb = inode_to_wb(inode);

	if (!wb)
		return;
	spin_lock(&wb->list_lock);
	if ((inode->i_state & flags) != flags) {
		bool was_dirty = inode->i_state & I_DIRTY_PAGES;

		inode->i_state |= flags;
		/* under writeback (I_SYNC) the flusher requeues it when done */
		if (!was_dirty && !(inode->i_state & I_SYNC) && !inode->i_freeing) {
			inode->dirtied_when = now_ms();
			list_move_tail(&inode->i_io_list, &wb->b_dirty);
		}
	}
	spin_unlock(&wb->list_lock);
}

void inode_io_list_del(struct inode *inode)
{
	struct bdi_writeback *wb = inode_to_wb(inode);

	if (!wb)
		return;
	spin_lock(&wb->list_lock);
	list_del_init(&inode->i_io_list);
	inode->i_state &= ~I_DIRTY_PAGES;
	spin_unlock(&wb->list_lock);
	/* the flusher may be working on it: eviction waits for it to finish */
	wait_var_event(&inode->i_state, !(__atomic_load_n(&inode->i_state, __ATOMIC_ACQUIRE) &
					  I_SYNC));
}

int writeback_single_inode(struct inode *inode, struct writeback_control *wbc)
{
	struct bdi_writeback *wb = inode_to_wb(inode);
	struct address_space *mapping = inode->i_mapping;
	int ret;

	if (!wb)
		return 0;
	spin_lock(&wb->list_lock);
	while (inode->i_state & I_SYNC) {
		spin_unlock(&wb->list_lock);
		/* background work does not wait for another writer of the same inode */
		if (wbc->sync_mode == WB_SYNC_NONE)
			return 0;
		wait_var_event(&inode->i_state,
			       !(__atomic_load_n(&inode->i_state, __ATOMIC_ACQUIRE) & I_SYNC));
		spin_lock(&wb->list_lock);
	}
	__atomic_store_n(&inode->i_state, (inode->i_state | I_SYNC) & ~I_DIRTY_PAGES,
			 __ATOMIC_RELAXED);
	list_del_init(&inode->i_io_list);
	spin_unlock(&wb->list_lock);

	ret = do_writepages(mapping, wbc);

	spin_lock(&wb->list_lock);
	/* dirtied again meanwhile, or not all written: back on the list */
	if (xa_marked(&mapping->i_pages, PAGECACHE_TAG_DIRTY) && !inode->i_freeing) {
		if (!(inode->i_state & I_DIRTY_PAGES))
			inode->dirtied_when = now_ms();
		inode->i_state |= I_DIRTY_PAGES;
		list_move_tail(&inode->i_io_list, &wb->b_dirty);
	}
	__atomic_store_n(&inode->i_state, inode->i_state & ~I_SYNC, __ATOMIC_RELEASE);
	spin_unlock(&wb->list_lock);
	wake_up_var(&inode->i_state);
	return ret;
}

/*
 * The oldest dirty inode of @wb that matches, with a reference; NULL if none.
 * @expired_before: only inodes dirtied before this time (ms), or 0 for any.
 */
static struct inode *wb_next_inode(struct bdi_writeback *wb, unsigned long expired_before,
				   struct list_head *done)
{
	struct inode *inode, *found = NULL;

	spin_lock(&wb->list_lock);
	list_for_each_entry(inode, &wb->b_dirty, i_io_list) {
		if (expired_before && inode->dirtied_when >= expired_before)
			continue;	/* not old enough for this pass */
		if (inode->i_state & I_SYNC)
			continue;
		spin_lock(&inode->i_sb->s_inode_list_lock);
		if (__igrab(inode))
			found = inode;
		spin_unlock(&inode->i_sb->s_inode_list_lock);
		if (found) {
			/* one visit per round: move it where the loop will not see it */
			list_move_tail(&inode->i_io_list, done);
			break;
		}
	}
	spin_unlock(&wb->list_lock);
	return found;
}

/* Write back dirty inodes of @wb; @background: until under the threshold. */
static void wb_writeback(struct bdi_writeback *wb, bool background, unsigned long expired_before)
{
	LIST_HEAD(done);
	struct inode *inode;

	for (;;) {
		struct writeback_control wbc = {
			.sync_mode = WB_SYNC_NONE,
			.nr_to_write = 1024,
			.range_start = 0,
			.range_end = LLONG_MAX,
			.for_background = background,
			.for_kupdate = !background,
		};

		if (background) {
			unsigned long bg, limit;

			global_dirty_limits(&bg, &limit);
			if ((unsigned long)max(0L, global_node_page_state(NR_FILE_DIRTY)) <= bg)
				break;
		}
		inode = wb_next_inode(wb, expired_before, &done);
		if (!inode)
			break;
		writeback_single_inode(inode, &wbc);
		/*
		 * Still dirty (requeued on b_dirty): once per pass is enough. A
		 * folio that stays dirty — pinned, under the stable policy —
		 * must not keep the flusher spinning.
		 */
		spin_lock(&wb->list_lock);
		if (!list_empty(&inode->i_io_list))
			list_move_tail(&inode->i_io_list, &done);
		spin_unlock(&wb->list_lock);
		iput(inode);
	}
	/* the inodes visited but still dirty go back on b_dirty */
	spin_lock(&wb->list_lock);
	list_splice_init(&done, &wb->b_dirty);
	spin_unlock(&wb->list_lock);
}

static void *flusher_main(void *arg)
{
	struct backing_dev_info *bdi = arg;
	struct bdi_writeback *wb = &bdi->wb;

	for (;;) {
		struct pinmm_dirty_limits l;
		unsigned long period_ms, expire;

		pinmm_get_dirty_limits(&l);
		period_ms = l.dirty_writeback_centisecs * 10UL;
		{
			struct wait_bucket *b = __wait_var_lock(&wb->work_pending);

			while (!atomic_load(&wb->work_pending) &&
			       !__atomic_load_n(&wb->stop, __ATOMIC_ACQUIRE)) {
				if (period_ms) {
					__wait_var_sleep_timeout(b, (unsigned int)period_ms);
					break;	/* the periodic pass */
				}
				__wait_var_sleep(b);
			}
			__wait_var_unlock(b);
		}
		if (__atomic_load_n(&wb->stop, __ATOMIC_ACQUIRE))
			break;
		atomic_store(&wb->work_pending, 0);
		wb_writeback(wb, true, 0);
		expire = l.dirty_expire_centisecs * 10UL;
		if (period_ms)
			wb_writeback(wb, false, now_ms() - min(expire, now_ms()) + 1);
		atomic_fetch_add(&wb->passes, 1);
		wake_up_var(&wb->passes);
	}
	return NULL;
}

int bdi_register(struct backing_dev_info *bdi, const char *name)
{
	struct bdi_writeback *wb = &bdi->wb;

	bdi->name = name;
	spin_lock_init(&wb->list_lock, LOCK_RANK_WB_LIST);
	INIT_LIST_HEAD(&wb->b_dirty);
	atomic_init(&wb->work_pending, 0);
	atomic_init(&wb->passes, 0);
	wb->stop = false;
	if (!(bdi->capabilities & BDI_CAP_WRITEBACK))
		return 0;
	if (pthread_create(&wb->flusher, NULL, flusher_main, bdi))
		return -ENOMEM;
	wb->flusher_running = true;
	return 0;
}

void bdi_unregister(struct backing_dev_info *bdi)
{
	struct bdi_writeback *wb = &bdi->wb;

	if (!wb->flusher_running)
		return;
	__atomic_store_n(&wb->stop, true, __ATOMIC_RELEASE);
	wake_up_var(&wb->work_pending);
	pthread_join(wb->flusher, NULL);
	wb->flusher_running = false;
}

void wakeup_flusher_threads(void)
{
	struct super_block *sb = pinmm_diskfs_sb;
	struct bdi_writeback *wb;

	if (!sb || !sb->s_bdi)
		return;
	wb = &sb->s_bdi->wb;
	if (atomic_fetch_add(&wb->work_pending, 1) == 0)
		wake_up_var(&wb->work_pending);
}

/* sync(2) on one inode: write back and wait; keep the first error. */
static bool flush_inode(struct inode *inode, void *arg)
{
	int *err = arg, ret = filemap_write_and_wait(inode->i_mapping);

	if (ret && !*err)
		*err = ret;
	return false;
}

int pinmm_writeback_flush(void)
{
	int err = 0;

	/* every inode with a cache, not only the listed ones: sync(2) waits for all I/O */
	if (pinmm_diskfs_sb)
		iterate_cached_inodes(pinmm_diskfs_sb, flush_inode, &err);
	return err;
}
