// SPDX-License-Identifier: MIT
/*
 * Inodes: creation, references, lookup by name, eviction (Linux: fs/inode.c).
 *
 * An inode lives while anything refers to it: open files, the VMAs that map
 * it (through their file), the flusher while it writes it back. When the
 * count reaches zero an unlinked inode (shmem, memfd) is evicted at once; a
 * diskfs file stays cached, unused, with its page cache, so the flusher can
 * still write it back and a later open finds its cached data — as Linux
 * keeps unused inodes until memory pressure or unmount. Eviction drops the
 * page cache (truncate_inode_pages_final()) and frees the inode after an RCU
 * grace period, because GUP-fast and page-cache lookups read folio->mapping,
 * and so the address space inside the inode, with no reference to it.
 *
 * Synchronisation: i_count is atomic; the step to and from zero, i_freeing
 * and the super block's inode list are under sb->s_inode_list_lock (a leaf
 * lock), so a lookup never revives an inode that is being evicted.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

void inode_init(struct inode *inode, struct super_block *sb, umode_t mode,
		const struct address_space_operations *a_ops,
		const struct file_operations *fop, const struct inode_operations *iop)
{
	struct address_space *mapping = &inode->i_data;

	inode->i_sb = sb;
	inode->i_mode = mode;
	inode->i_ino = atomic_fetch_add_explicit(&sb->s_next_ino, 1, memory_order_relaxed) + 1;
	atomic_init(&inode->i_count, 1);
	inode->i_nlink = 1;
	init_rwsem(&inode->i_rwsem, LOCK_RANK_I_RWSEM);
	INIT_LIST_HEAD(&inode->i_io_list);
	INIT_LIST_HEAD(&inode->i_sb_list);
	inode->i_op = iop;
	inode->i_fop = fop;

	mapping->host = inode;
	xa_init(&mapping->i_pages);
	init_rwsem(&mapping->invalidate_lock, LOCK_RANK_INVALIDATE);
	init_rwsem(&mapping->i_mmap_rwsem, LOCK_RANK_I_MMAP);
	INIT_LIST_HEAD(&mapping->i_mmap);
	mapping->gfp_mask = GFP_HIGHUSER_MOVABLE;
	mapping->a_ops = a_ops;
	inode->i_mapping = mapping;

	spin_lock(&sb->s_inode_list_lock);
	list_add_tail(&inode->i_sb_list, &sb->s_inodes);
	spin_unlock(&sb->s_inode_list_lock);
}

void ihold(struct inode *inode)
{
	int old = atomic_fetch_add_explicit(&inode->i_count, 1, memory_order_relaxed);

	WARN_ON_ONCE(old <= 0);
}

/* Take a reference on a cached inode unless it is being evicted; s_inode_list_lock held. */
bool __igrab(struct inode *inode)
{
	if (inode->i_freeing)
		return false;
	atomic_fetch_add_explicit(&inode->i_count, 1, memory_order_relaxed);
	return true;
}

struct inode *ilookup_name(struct super_block *sb, const char *name)
{
	struct inode *inode, *found = NULL;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		if (inode->i_nlink && !strcmp(inode->i_name, name) && __igrab(inode)) {
			found = inode;
			break;
		}
	}
	spin_unlock(&sb->s_inode_list_lock);
	return found;
}

static void inode_free_rcu(struct rcu_head *head)
{
	struct inode *inode = container_of(head, struct inode, i_rcu);

	xa_destroy(&inode->i_data.i_pages);
	destroy_rwsem(&inode->i_rwsem);
	destroy_rwsem(&inode->i_data.invalidate_lock);
	destroy_rwsem(&inode->i_data.i_mmap_rwsem);
	inode->i_sb->s_op->free_inode(inode);
}

void evict(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;

	VM_BUG_ON(atomic_load(&inode->i_count) != 0 || !inode->i_freeing);
	inode_io_list_del(inode);
	/* nothing maps it (a mapping holds a file reference): the cache can go */
	VM_WARN_ON_ONCE(!list_empty(&inode->i_data.i_mmap));
	truncate_inode_pages_final(&inode->i_data);
	if (sb->s_op->evict_inode)
		sb->s_op->evict_inode(inode);
	VM_WARN_ON_ONCE(atomic_load(&inode->i_data.nrpages) != 0);
	call_rcu(&inode->i_rcu, inode_free_rcu);
}

void iput(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	int old = atomic_load_explicit(&inode->i_count, memory_order_relaxed);

	/* not the last reference: no lock (atomic_add_unless(-1, 1)) */
	while (old > 1)
		if (atomic_compare_exchange_weak_explicit(&inode->i_count, &old, old - 1,
							  memory_order_release,
							  memory_order_relaxed))
			return;
	spin_lock(&sb->s_inode_list_lock);
	old = atomic_fetch_sub_explicit(&inode->i_count, 1, memory_order_acq_rel);
	if (WARN_ON_ONCE(old <= 0) || old > 1 || inode->i_nlink) {
		/* a linked inode stays cached, unused (see the top of the file) */
		spin_unlock(&sb->s_inode_list_lock);
		return;
	}
	inode->i_freeing = true;
	list_del_init(&inode->i_sb_list);
	spin_unlock(&sb->s_inode_list_lock);
	evict(inode);
}

unsigned long prune_unused_inodes(struct super_block *sb, bool all)
{
	unsigned long pruned = 0;
	struct inode *inode;

	for (;;) {
		struct inode *victim = NULL;

		spin_lock(&sb->s_inode_list_lock);
		list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
			if (atomic_load(&inode->i_count) || inode->i_freeing)
				continue;
			/* drop_caches 2 evicts only inodes whose cache is gone */
			if (!all && atomic_load(&inode->i_data.nrpages))
				continue;
			inode->i_freeing = true;
			list_del_init(&inode->i_sb_list);
			victim = inode;
			break;
		}
		spin_unlock(&sb->s_inode_list_lock);
		if (!victim)
			return pruned;
		evict(victim);
		pruned++;
	}
}

void iterate_cached_inodes(struct super_block *sb, bool (*fn)(struct inode *inode, void *arg),
			   void *arg)
{
	struct inode *inode, *toput = NULL;
	bool stop = false;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		if (!atomic_load(&inode->i_data.nrpages) || !__igrab(inode))
			continue;
		spin_unlock(&sb->s_inode_list_lock);
		stop = fn(inode, arg);
		/*
		 * Our reference kept @inode on the list, so the walk may go on
		 * from it; the previous one is released only now (Linux's
		 * toput_inode): never stand on an inode evicted meanwhile.
		 */
		if (toput)
			iput(toput);
		toput = inode;
		spin_lock(&sb->s_inode_list_lock);
		if (stop)
			break;
	}
	spin_unlock(&sb->s_inode_list_lock);
	if (toput)
		iput(toput);
}
