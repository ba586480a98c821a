// SPDX-License-Identifier: MIT
/*
 * The xarray (the interface of include/pinmm/xarray.h).
 *
 * Shape. A 64-way radix tree. A node's shift says which index bits choose
 * its slot: bits [shift, shift + 6); leaves have shift 0 and hold entries,
 * interior nodes hold links to nodes of shift - 6. The top node's shift is
 * the smallest that covers the largest index stored, so a tree holding only
 * small indices is short; eleven levels (shifts 0..60) cover ULONG_MAX.
 * The head is NULL (empty), a bare entry (only index 0 is in use), or a link
 * to the top node. Invariants, kept by every writer (xa_check() verifies
 * them):
 *   - a node's count is the number of its non-NULL slots, and is never 0 in
 *     a linked node: a node whose last slot empties is unlinked and freed;
 *   - the top node uses some slot other than 0 (otherwise the tree shrinks:
 *     its slot 0 becomes the head), so erasing everything frees every node;
 *   - marks: bit n of node->marks[m] is set iff the entry in slot n (leaf),
 *     or some entry below slot n (interior), carries mark m; the array's
 *     XA_FLAGS_MARK(m) is set iff any entry does. Erasing an entry clears
 *     its marks; overwriting one keeps them.
 *
 * Encoding. A link to a node is the node's address | 0b10 (an "internal"
 * entry above 4096). XA_RETRY_ENTRY, the small internal value 256, only
 * ever appears in slot 0 of a top node that was removed by a shrink.
 *
 * RCU. Writers hold xa_lock; readers hold only rcu_read_lock() and follow
 * the head and slots with acquire loads (rcu_dereference()). Writers obey:
 *   1. Build, then publish. New nodes (a path down to a new entry, or new
 *      levels above the old top) are filled completely while private and
 *      linked with one release store (rcu_assign_pointer()), so a reader
 *      sees either none of them or all of them, initialised.
 *   2. Unlink, then free after a grace period. A node leaves the tree by a
 *      store to its parent's slot or to the head, and is handed to
 *      call_rcu(); a reader that reached it before the unlink may keep
 *      reading it until its rcu_read_unlock().
 *   3. Dead nodes never give a wrong answer:
 *      - a node unlinked because it became empty has only NULL slots: a
 *        reader inside it reports "absent", which was true at some instant
 *        during its call (the erase that emptied it);
 *      - a top node removed by a shrink still had a live slot 0 (the new
 *        head). After publishing the new head, the writer overwrites that
 *        slot 0 with XA_RETRY_ENTRY (release). A reader that loads it goes
 *        back to the head and starts again, so it can never keep using a
 *        stale entry (or a stale subtree) through a node that is no longer
 *        in the tree. The head it then reads is the new one: the retry
 *        entry was stored after the head, with release ordering, and read
 *        with acquire. Its other slots are NULL, a correct "absent";
 *      - xa_destroy() empties every slot of the nodes it detaches.
 *   Node shifts are constant from creation, so readers read them plainly.
 *   Mark bitmaps are atomics read relaxed: a lockless reader sees each bit
 *   as it was at some point, and bits set leaf-first and cleared leaf-first
 *   only make it look into a subtree that then has nothing (it moves on).
 *
 * Allocation. Nodes come from calloc() under xa_lock. Every allocation of
 * an operation happens before that operation changes anything visible, or
 * (for a store needing new levels and a new path) the levels added are
 * taken off again by a shrink when the path cannot be allocated, so an
 * -ENOMEM leaves the tree exactly as it was.
 */
#include <pinmm/bitops.h>
#include <pinmm/fault-inject.h>
#include <pinmm/xarray.h>

#include <stdio.h>
#include <stdlib.h>

#define XA_CHUNK_SHIFT	6
#define XA_CHUNK_SIZE	(1U << XA_CHUNK_SHIFT)
#define XA_CHUNK_MASK	(XA_CHUNK_SIZE - 1)
#define XA_LONG_BITS	((unsigned int)(sizeof(unsigned long) * 8))
/* The shift of a top node covering every index, and the tallest tree. */
#define XA_MAX_SHIFT	(((XA_LONG_BITS - 1) / XA_CHUNK_SHIFT) * XA_CHUNK_SHIFT)
#define XA_MAX_HEIGHT	(XA_MAX_SHIFT / XA_CHUNK_SHIFT + 1)

#define XA_RETRY_ENTRY	xa_mk_internal(256)

/*
 * Lock letters as in xarray.h: (x) written under xa_lock, (r) read by
 * lockless readers, (c) constant once the node is linked.
 */
struct xa_node {
	unsigned char shift;			/* (c) index bits below one slot */
	unsigned char count;			/* (x) non-NULL slots */
	atomic_ulong marks[XA_MAX_MARKS];	/* (x,r) per-slot mark summary */
	_Atomic(void *) slots[XA_CHUNK_SIZE];	/* (x,r) entries (leaf), links
						 * (interior), NULL, or the retry
						 * entry (slot 0 of a dead top node) */
	struct rcu_head rcu;			/* the deferred free */
};

/* The nodes from the top down to the leaf for one index (writers only). */
struct xa_path {
	struct xa_node *node[XA_MAX_HEIGHT];
	unsigned int depth;
};

/* ---- encodings and index arithmetic ---------------------------------------- */

static inline bool xa_is_node(const void *entry)
{
	return xa_is_internal(entry) && (unsigned long)entry > 4096 && !xa_is_err(entry);
}

static inline struct xa_node *xa_to_node(const void *entry)
{
	return (struct xa_node *)((unsigned long)entry - 2);
}

static inline void *xa_mk_node(const struct xa_node *node)
{
	return (void *)((unsigned long)node | 2);
}

/* The index bits a node of @shift resolves, its own and those below it. */
static inline unsigned long xa_node_mask(unsigned int shift)
{
	if (shift + XA_CHUNK_SHIFT >= XA_LONG_BITS)
		return ULONG_MAX;
	return (1UL << (shift + XA_CHUNK_SHIFT)) - 1;
}

static inline unsigned int xa_offset(unsigned long index, unsigned int shift)
{
	return (index >> shift) & XA_CHUNK_MASK;
}

/* The shift of the smallest top node whose range includes @index. */
static unsigned int xa_shift_for(unsigned long index)
{
	unsigned int bits;

	if (index <= XA_CHUNK_MASK)
		return 0;
	bits = XA_LONG_BITS - (unsigned int)__builtin_clzl(index);
	return (bits - 1) / XA_CHUNK_SHIFT * XA_CHUNK_SHIFT;
}

/* ---- the array's mark summary bits (xa_flags) -------------------------------- */

static inline bool xa_summary(const struct xarray *xa, xa_mark_t mark)
{
	return __atomic_load_n(&xa->xa_flags, __ATOMIC_RELAXED) & XA_FLAGS_MARK(mark);
}

static inline void xa_summary_set(struct xarray *xa, xa_mark_t mark)
{
	__atomic_fetch_or(&xa->xa_flags, XA_FLAGS_MARK(mark), __ATOMIC_RELAXED);
}

static inline void xa_summary_clear(struct xarray *xa, unsigned int bits)
{
	__atomic_fetch_and(&xa->xa_flags, ~bits, __ATOMIC_RELAXED);
}

/* ---- nodes ------------------------------------------------------------------ */

static atomic_ulong xa_fail_nth;

void xa_fail_nth_alloc(unsigned long nth)
{
	atomic_store(&xa_fail_nth, nth);
}

static bool xa_should_fail(void)
{
	unsigned long n = atomic_load_explicit(&xa_fail_nth, memory_order_relaxed);

	while (n) {
		if (atomic_compare_exchange_weak(&xa_fail_nth, &n, n - 1))
			return n == 1;
	}
	return false;
}

/* A zeroed, private node: no slot used, no mark. */
static struct xa_node *xa_node_alloc(unsigned int shift)
{
	struct xa_node *node;

	/* the global one-shot of xa_fail_nth_alloc(), or this thread's named site */
	if (xa_should_fail() || should_fail(PINMM_FAIL_XA_NODE))
		return NULL;
	node = calloc(1, sizeof(*node));
	if (node)
		node->shift = (unsigned char)shift;
	return node;
}

static void xa_node_free_rcu(struct rcu_head *head)
{
	free(container_of(head, struct xa_node, rcu));
}

/* Free an unlinked node once every reader that might be inside has left. */
static void xa_node_free_deferred(struct xa_node *node)
{
	call_rcu(&node->rcu, xa_node_free_rcu);
}

/* Free nodes that were never linked: no reader can know them. */
static void xa_nodes_free_private(struct xa_node **nodes, unsigned int nr)
{
	while (nr)
		free(nodes[--nr]);
}

/*
 * Walk from the top node towards @index, recording the nodes passed in
 * @path. Return: true if the leaf for @index exists (it is the last node of
 * @path), false if the head is not a node, @index is beyond the top node's
 * range, or an interior slot on the way is empty.
 */
static bool xa_walk(struct xarray *xa, unsigned long index, struct xa_path *path)
{
	void *entry = rcu_access_pointer(xa->xa_head);
	struct xa_node *node;

	path->depth = 0;
	if (!xa_is_node(entry))
		return false;
	node = xa_to_node(entry);
	if (index > xa_node_mask(node->shift))
		return false;
	for (;;) {
		path->node[path->depth++] = node;
		if (node->shift == 0)
			return true;
		entry = rcu_access_pointer(node->slots[xa_offset(index, node->shift)]);
		if (!entry)
			return false;
		node = xa_to_node(entry);
	}
}

/* The entry at @index, read by a writer (xa_lock held, nothing moves). */
static void *xa_load_locked(struct xarray *xa, unsigned long index)
{
	void *head = rcu_access_pointer(xa->xa_head);
	struct xa_path path;

	if (!xa_is_node(head))
		return index == 0 ? head : NULL;
	if (!xa_walk(xa, index, &path))
		return NULL;
	return rcu_access_pointer(path.node[path.depth - 1]->slots[index & XA_CHUNK_MASK]);
}

/* ---- marks, writer side ------------------------------------------------------- */

/* Set @mark for the entry at @index (leaf of @path) and in every node above. */
static void xa_path_set_mark(struct xarray *xa, const struct xa_path *path,
			     unsigned long index, xa_mark_t mark)
{
	unsigned int d = path->depth;

	while (d--) {
		struct xa_node *node = path->node[d];
		unsigned int off = xa_offset(index, node->shift);

		if (test_bit(off, &node->marks[mark]))
			return;		/* already recorded above too */
		__set_bit(off, &node->marks[mark]);
	}
	xa_summary_set(xa, mark);
}

/* Clear @mark for the entry at @index, and above while nothing else below has it. */
static void xa_path_clear_mark(struct xarray *xa, const struct xa_path *path,
			       unsigned long index, xa_mark_t mark)
{
	unsigned int d = path->depth;

	while (d--) {
		struct xa_node *node = path->node[d];
		unsigned int off = xa_offset(index, node->shift);

		if (!test_bit(off, &node->marks[mark]))
			return;
		__clear_bit(off, &node->marks[mark]);
		if (atomic_load_explicit(&node->marks[mark], memory_order_relaxed))
			return;		/* another slot of this node still has it */
	}
	xa_summary_clear(xa, XA_FLAGS_MARK(mark));
}

/* ---- shrinking and growing ------------------------------------------------------ */

/*
 * While the top node uses only its slot 0, make that slot the head. The
 * removed node keeps readers safe with the retry entry (see the top of the
 * file) and is freed after a grace period.
 */
static void xa_shrink(struct xarray *xa)
{
	for (;;) {
		void *head = rcu_access_pointer(xa->xa_head);
		struct xa_node *node;
		void *child;

		if (!xa_is_node(head))
			return;
		node = xa_to_node(head);
		if (node->count != 1)
			return;
		child = rcu_access_pointer(node->slots[0]);
		if (!child)
			return;
		/*
		 * The mark summary does not change: the node's bit 0 of each
		 * mark was already the array's summary bit.
		 */
		rcu_assign_pointer(xa->xa_head, child);
		rcu_assign_pointer(node->slots[0], XA_RETRY_ENTRY);
		node->count = 0;
		xa_node_free_deferred(node);
	}
}

/*
 * Add levels above the current head (a bare entry or a top node) until the
 * top node has shift @shift. The new levels are built privately, each with
 * the level below in slot 0 and the array's mark summary as its bit 0, and
 * published with one store of the head. Return: false on -ENOMEM (nothing
 * changed).
 */
static bool xa_grow(struct xarray *xa, unsigned int shift)
{
	void *below = rcu_access_pointer(xa->xa_head);
	struct xa_node *fresh[XA_MAX_HEIGHT];
	unsigned int nr = 0, s;
	xa_mark_t mark;

	s = xa_is_node(below) ? xa_to_node(below)->shift + XA_CHUNK_SHIFT : 0;
	for (; s <= shift; s += XA_CHUNK_SHIFT) {
		struct xa_node *node = xa_node_alloc(s);

		if (!node) {
			xa_nodes_free_private(fresh, nr);
			return false;
		}
		fresh[nr++] = node;
		atomic_store_explicit(&node->slots[0], below, memory_order_relaxed);
		node->count = 1;
		for (mark = 0; mark < XA_MAX_MARKS; mark++)
			if (xa_summary(xa, mark))
				__set_bit(0, &node->marks[mark]);
		below = xa_mk_node(node);
	}
	rcu_assign_pointer(xa->xa_head, below);
	return true;
}

/*
 * Build, privately, the nodes from shift @top_shift down to a leaf holding
 * @entry at @index. Return: the top one, or NULL on -ENOMEM.
 */
static struct xa_node *xa_new_path(unsigned int top_shift, unsigned long index, void *entry)
{
	struct xa_node *fresh[XA_MAX_HEIGHT];
	unsigned int nr = 0, s;

	for (s = 0;; s += XA_CHUNK_SHIFT) {
		struct xa_node *node = xa_node_alloc(s);

		if (!node) {
			xa_nodes_free_private(fresh, nr);
			return NULL;
		}
		fresh[nr++] = node;
		atomic_store_explicit(&node->slots[xa_offset(index, s)], entry,
				      memory_order_relaxed);
		node->count = 1;
		if (s == top_shift)
			return node;
		entry = xa_mk_node(node);
	}
}

/* ---- store and erase (xa_lock held) ------------------------------------------------ */

static void *xa_erase_locked(struct xarray *xa, unsigned long index)
{
	void *head = rcu_access_pointer(xa->xa_head);
	struct xa_path path;
	struct xa_node *leaf;
	unsigned int off, d;
	xa_mark_t mark;
	void *old;

	if (!xa_is_node(head)) {
		if (!head || index != 0)
			return NULL;
		rcu_assign_pointer(xa->xa_head, NULL);
		xa_summary_clear(xa, XA_FLAGS_MARK_MASK);
		return head;
	}
	if (!xa_walk(xa, index, &path))
		return NULL;
	leaf = path.node[path.depth - 1];
	off = index & XA_CHUNK_MASK;
	old = rcu_access_pointer(leaf->slots[off]);
	if (!old)
		return NULL;

	for (mark = 0; mark < XA_MAX_MARKS; mark++)
		xa_path_clear_mark(xa, &path, index, mark);
	rcu_assign_pointer(leaf->slots[off], NULL);
	leaf->count--;

	/* Unlink and free the nodes this emptied, bottom up. */
	for (d = path.depth; d-- > 0 && path.node[d]->count == 0;) {
		if (d == 0) {
			rcu_assign_pointer(xa->xa_head, NULL);
			VM_WARN_ON_ONCE(__atomic_load_n(&xa->xa_flags, __ATOMIC_RELAXED) &
					XA_FLAGS_MARK_MASK);
		} else {
			struct xa_node *parent = path.node[d - 1];

			rcu_assign_pointer(parent->slots[xa_offset(index, parent->shift)], NULL);
			parent->count--;
		}
		xa_node_free_deferred(path.node[d]);
	}
	xa_shrink(xa);
	return old;
}

static void *xa_store_locked(struct xarray *xa, unsigned long index, void *entry)
{
	void *head = rcu_access_pointer(xa->xa_head);
	struct xa_node *node, *path_top;
	unsigned int off;
	void *old;

	if (!entry)
		return xa_erase_locked(xa, index);
	if (WARN_ON_ONCE(xa_is_internal(entry)))
		return XA_ERROR(-EINVAL);

	if (index == 0 && !xa_is_node(head)) {
		/* The head itself holds index 0; its marks (if any) stay. */
		rcu_assign_pointer(xa->xa_head, entry);
		return head;
	}
	if (!head) {
		path_top = xa_new_path(xa_shift_for(index), index, entry);
		if (!path_top)
			return XA_ERROR(-ENOMEM);
		rcu_assign_pointer(xa->xa_head, xa_mk_node(path_top));
		return NULL;
	}
	if (!xa_is_node(head) || index > xa_node_mask(xa_to_node(head)->shift)) {
		if (!xa_grow(xa, xa_shift_for(index)))
			return XA_ERROR(-ENOMEM);
		head = rcu_access_pointer(xa->xa_head);
	}

	node = xa_to_node(head);
	for (;;) {
		off = xa_offset(index, node->shift);
		old = rcu_access_pointer(node->slots[off]);
		if (node->shift == 0)
			break;
		if (!old) {
			path_top = xa_new_path(node->shift - XA_CHUNK_SHIFT, index, entry);
			if (!path_top) {
				xa_shrink(xa);	/* undo a xa_grow() above, if any */
				return XA_ERROR(-ENOMEM);
			}
			rcu_assign_pointer(node->slots[off], xa_mk_node(path_top));
			node->count++;
			return NULL;
		}
		node = xa_to_node(old);
	}
	if (!old) {
		node->count++;
		VM_WARN_ON_ONCE(test_bit(off, &node->marks[XA_MARK_0]) ||
				test_bit(off, &node->marks[XA_MARK_1]) ||
				test_bit(off, &node->marks[XA_MARK_2]));
	}
	rcu_assign_pointer(node->slots[off], entry);
	return old;
}

/* ---- the public writers ---------------------------------------------------------------- */

void xa_init_flags(struct xarray *xa, unsigned int flags)
{
	spin_lock_init(&xa->xa_lock, LOCK_RANK_I_PAGES);
	(void)WARN_ON_ONCE(flags & XA_FLAGS_MARK_MASK);
	xa->xa_flags = flags & ~XA_FLAGS_MARK_MASK;
	atomic_init(&xa->xa_head, NULL);
}

void *__xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	(void)gfp;
	lockdep_assert_held(&xa->xa_lock);
	return xa_store_locked(xa, index, entry);
}

void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	void *ret;

	xa_lock(xa);
	ret = __xa_store(xa, index, entry, gfp);
	xa_unlock(xa);
	return ret;
}

void *__xa_erase(struct xarray *xa, unsigned long index)
{
	lockdep_assert_held(&xa->xa_lock);
	return xa_erase_locked(xa, index);
}

void *xa_erase(struct xarray *xa, unsigned long index)
{
	void *ret;

	xa_lock(xa);
	ret = __xa_erase(xa, index);
	xa_unlock(xa);
	return ret;
}

int __xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	(void)gfp;
	lockdep_assert_held(&xa->xa_lock);
	if (!entry || WARN_ON_ONCE(xa_is_internal(entry)))
		return -EINVAL;
	if (xa_load_locked(xa, index))
		return -EBUSY;
	return xa_err(xa_store_locked(xa, index, entry));
}

int xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp)
{
	int ret;

	xa_lock(xa);
	ret = __xa_insert(xa, index, entry, gfp);
	xa_unlock(xa);
	return ret;
}

void *__xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry, gfp_t gfp)
{
	void *curr;

	(void)gfp;
	lockdep_assert_held(&xa->xa_lock);
	if (WARN_ON_ONCE(xa_is_internal(entry)))
		return XA_ERROR(-EINVAL);
	curr = xa_load_locked(xa, index);
	if (curr == old) {
		void *ret = xa_store_locked(xa, index, entry);

		if (xa_is_err(ret))
			return ret;
	}
	return curr;
}

void *xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry, gfp_t gfp)
{
	void *ret;

	xa_lock(xa);
	ret = __xa_cmpxchg(xa, index, old, entry, gfp);
	xa_unlock(xa);
	return ret;
}

/* __xa_set_mark() and __xa_clear_mark(): the mark of a present entry, and above it. */
static void __xa_change_mark(struct xarray *xa, unsigned long index, xa_mark_t mark, bool set)
{
	void *head = rcu_access_pointer(xa->xa_head);
	struct xa_path path;

	lockdep_assert_held(&xa->xa_lock);
	if (WARN_ON_ONCE(mark >= XA_MAX_MARKS))
		return;
	if (!xa_is_node(head)) {
		if (head && index == 0 && set)
			xa_summary_set(xa, mark);
		else if (head && index == 0)
			xa_summary_clear(xa, XA_FLAGS_MARK(mark));
		return;
	}
	if (!xa_walk(xa, index, &path) ||
	    !rcu_access_pointer(path.node[path.depth - 1]->slots[index & XA_CHUNK_MASK]))
		return;
	if (set)
		xa_path_set_mark(xa, &path, index, mark);
	else
		xa_path_clear_mark(xa, &path, index, mark);
}

void __xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	__xa_change_mark(xa, index, mark, true);
}

void __xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	__xa_change_mark(xa, index, mark, false);
}

void xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	xa_lock(xa);
	__xa_set_mark(xa, index, mark);
	xa_unlock(xa);
}

void xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	xa_lock(xa);
	__xa_clear_mark(xa, index, mark);
	xa_unlock(xa);
}

/*
 * Detach the subtree under @node: empty every slot (release stores, so a
 * reader still inside finds "absent" or a child that is itself being
 * emptied) and free each node after a grace period.
 */
static void xa_free_subtree(struct xa_node *node)
{
	unsigned int off;
	xa_mark_t mark;

	for (off = 0; off < XA_CHUNK_SIZE; off++) {
		void *entry = rcu_access_pointer(node->slots[off]);

		if (!entry)
			continue;
		rcu_assign_pointer(node->slots[off], NULL);
		if (node->shift)
			xa_free_subtree(xa_to_node(entry));
	}
	for (mark = 0; mark < XA_MAX_MARKS; mark++)
		atomic_store_explicit(&node->marks[mark], 0, memory_order_relaxed);
	node->count = 0;
	xa_node_free_deferred(node);
}

void xa_destroy(struct xarray *xa)
{
	void *head;

	xa_lock(xa);
	head = rcu_access_pointer(xa->xa_head);
	rcu_assign_pointer(xa->xa_head, NULL);
	xa_summary_clear(xa, XA_FLAGS_MARK_MASK);
	if (xa_is_node(head))
		xa_free_subtree(xa_to_node(head));
	xa_unlock(xa);
}

/* ---- readers ------------------------------------------------------------------------- */

bool xa_empty(const struct xarray *xa)
{
	return atomic_load_explicit(&((struct xarray *)xa)->xa_head, memory_order_relaxed) == NULL;
}

bool xa_marked(const struct xarray *xa, xa_mark_t mark)
{
	if (WARN_ON_ONCE(mark >= XA_MAX_MARKS))
		return false;
	return xa_summary(xa, mark);
}

/* xa_load() inside a read-side section. */
static void *xa_load_rcu(struct xarray *xa, unsigned long index)
{
	struct xa_node *node;
	void *entry;

restart:
	entry = rcu_dereference(xa->xa_head);
	if (!xa_is_node(entry))
		return index == 0 ? entry : NULL;
	node = xa_to_node(entry);
	if (index > xa_node_mask(node->shift))
		return NULL;
	for (;;) {
		entry = rcu_dereference(node->slots[xa_offset(index, node->shift)]);
		if (entry == XA_RETRY_ENTRY)
			goto restart;	/* a shrink removed this node */
		if (!entry || node->shift == 0)
			return entry;
		node = xa_to_node(entry);
	}
}

void *xa_load(struct xarray *xa, unsigned long index)
{
	void *entry;

	rcu_read_lock();
	entry = xa_load_rcu(xa, index);
	rcu_read_unlock();
	return entry;
}

bool xa_get_mark(struct xarray *xa, unsigned long index, xa_mark_t mark)
{
	struct xa_node *node;
	bool ret = false;
	void *entry;

	if (WARN_ON_ONCE(mark >= XA_MAX_MARKS))
		return false;
	rcu_read_lock();
restart:
	entry = rcu_dereference(xa->xa_head);
	if (!xa_is_node(entry)) {
		ret = entry && index == 0 && xa_summary(xa, mark);
		goto out;
	}
	node = xa_to_node(entry);
	if (index > xa_node_mask(node->shift))
		goto out;
	for (;;) {
		unsigned int off = xa_offset(index, node->shift);

		entry = rcu_dereference(node->slots[off]);
		if (entry == XA_RETRY_ENTRY)
			goto restart;
		if (!entry || !test_bit(off, &node->marks[mark]))
			break;
		if (node->shift == 0) {
			ret = true;
			break;
		}
		node = xa_to_node(entry);
	}
out:
	rcu_read_unlock();
	return ret;
}

/*
 * The first slot of @node at or after @off that is used (XA_PRESENT) or
 * whose mark bit for @filter is set; XA_CHUNK_SIZE if none.
 */
static unsigned int xa_next_slot(struct xa_node *node, unsigned int off, xa_mark_t filter)
{
	if (filter != XA_PRESENT) {
		unsigned long bits = atomic_load_explicit(&node->marks[filter],
							  memory_order_relaxed) >> off;

		return bits ? off + (unsigned int)__builtin_ctzl(bits) : XA_CHUNK_SIZE;
	}
	for (; off < XA_CHUNK_SIZE; off++)
		if (atomic_load_explicit(&node->slots[off], memory_order_relaxed))
			return off;
	return XA_CHUNK_SIZE;
}

/*
 * xa_find() inside a read-side section: descend towards *@indexp, moving to
 * the next matching slot at each level. When a node turns out to have
 * nothing at or after the index (only possible when it changed under us, or
 * when the index pointed into the middle of a slot's range), continue from
 * the head with the first index after that node. Each step down or restart
 * costs O(1) per level, and the index only moves forward.
 */
static void *xa_find_rcu(struct xarray *xa, unsigned long *indexp, unsigned long max,
			 xa_mark_t filter, struct xa_node **leafp)
{
	unsigned long index = *indexp, mask;
	struct xa_node *node;
	void *entry;

restart:
	entry = rcu_dereference(xa->xa_head);
	if (!xa_is_node(entry)) {
		if (!entry || index != 0)
			return NULL;
		if (filter != XA_PRESENT && !xa_summary(xa, filter))
			return NULL;
		*indexp = 0;
		if (leafp)
			*leafp = NULL;
		return entry;
	}
	node = xa_to_node(entry);
	if (index > xa_node_mask(node->shift))
		return NULL;
	for (;;) {
		unsigned int cur = xa_offset(index, node->shift);
		unsigned int off = xa_next_slot(node, cur, filter);

		if (off == XA_CHUNK_SIZE) {
			/* Nothing left in this node: go on after its range. */
			mask = xa_node_mask(node->shift);
			if ((index | mask) >= max)
				return NULL;
			index = (index | mask) + 1;
			goto restart;
		}
		if (off != cur) {
			index &= ~xa_node_mask(node->shift);
			index |= (unsigned long)off << node->shift;
			if (index > max)
				return NULL;
		}
		entry = rcu_dereference(node->slots[off]);
		if (entry == XA_RETRY_ENTRY)
			goto restart;
		if (!entry) {
			/* Erased since it was seen: go on with the next slot. */
			mask = (1UL << node->shift) - 1;
			if ((index | mask) >= max)
				return NULL;
			index = (index | mask) + 1;
			if (off == XA_CHUNK_MASK)
				goto restart;	/* past this node's range */
			continue;
		}
		if (node->shift == 0) {
			*indexp = index;
			if (leafp)
				*leafp = node;
			return entry;
		}
		node = xa_to_node(entry);
	}
}

static bool xa_filter_valid(xa_mark_t filter)
{
	return filter == XA_PRESENT || filter < XA_MAX_MARKS;
}

void *xa_find(struct xarray *xa, unsigned long *indexp, unsigned long max, xa_mark_t filter)
{
	void *entry;

	if (WARN_ON_ONCE(!xa_filter_valid(filter)) || *indexp > max)
		return NULL;
	rcu_read_lock();
	entry = xa_find_rcu(xa, indexp, max, filter, NULL);
	rcu_read_unlock();
	return entry;
}

void *xa_find_after(struct xarray *xa, unsigned long *indexp, unsigned long max,
		    xa_mark_t filter)
{
	unsigned long index = *indexp;
	void *entry;

	if (index == ULONG_MAX || index >= max)
		return NULL;
	index++;
	entry = xa_find(xa, &index, max, filter);
	if (entry)
		*indexp = index;
	return entry;
}

/* xa_extract() and xa_extract_slots(): @slots may be NULL. Inside a read-side section. */
static unsigned int xa_extract_rcu(struct xarray *xa, void **dst, xa_slot_t **slots,
				   unsigned long start, unsigned long max, unsigned int n,
				   xa_mark_t filter)
{
	unsigned long index = start;
	unsigned int got = 0;

	while (got < n) {
		struct xa_node *leaf;
		void *entry = xa_find_rcu(xa, &index, max, filter, &leaf);
		unsigned long base;

		if (!entry)
			break;
		if (slots)
			slots[got] = leaf ? &leaf->slots[xa_offset(index, 0)] : &xa->xa_head;
		dst[got++] = entry;
		if (!leaf)
			break;		/* the head itself: index 0, nothing else */
		/* the rest of the leaf straight from it: one descent per 64 slots */
		base = index & ~(unsigned long)XA_CHUNK_MASK;
		for (unsigned int off = xa_offset(index, 0) + 1; off < XA_CHUNK_SIZE && got < n;
		     off++) {
			if ((base | off) > max)
				return got;
			if (filter != XA_PRESENT &&
			    !test_bit(off, &leaf->marks[filter]))
				continue;
			entry = rcu_dereference(leaf->slots[off]);
			/* (the retry entry only ever sits in slot 0) */
			if (!entry)
				continue;
			if (slots)
				slots[got] = &leaf->slots[off];
			dst[got++] = entry;
		}
		if ((base | XA_CHUNK_MASK) >= max)
			break;
		index = (base | XA_CHUNK_MASK) + 1;
	}
	return got;
}

unsigned int xa_extract(struct xarray *xa, void **dst, unsigned long start, unsigned long max,
			unsigned int n, xa_mark_t filter)
{
	unsigned int got;

	if (WARN_ON_ONCE(!xa_filter_valid(filter)) || start > max)
		return 0;
	rcu_read_lock();
	got = xa_extract_rcu(xa, dst, NULL, start, max, n, filter);
	rcu_read_unlock();
	return got;
}

unsigned int xa_extract_slots(struct xarray *xa, void **dst, xa_slot_t **slots,
			      unsigned long start, unsigned long max, unsigned int n,
			      xa_mark_t filter)
{
	if (WARN_ON_ONCE(!rcu_read_lock_held()) || WARN_ON_ONCE(!xa_filter_valid(filter)) ||
	    start > max)
		return 0;
	return xa_extract_rcu(xa, dst, slots, start, max, n, filter);
}

/* ---- test support ----------------------------------------------------------------------- */

static unsigned long xa_count_nodes(struct xa_node *node)
{
	unsigned long nr = 1;
	unsigned int off;

	if (node->shift == 0)
		return nr;
	for (off = 0; off < XA_CHUNK_SIZE; off++) {
		void *entry = rcu_dereference(node->slots[off]);

		if (xa_is_node(entry))
			nr += xa_count_nodes(xa_to_node(entry));
	}
	return nr;
}

unsigned long xa_nr_nodes(const struct xarray *xa)
{
	unsigned long nr = 0;
	void *head;

	rcu_read_lock();
	head = rcu_dereference(((struct xarray *)xa)->xa_head);
	if (xa_is_node(head))
		nr = xa_count_nodes(xa_to_node(head));
	rcu_read_unlock();
	return nr;
}

#define XA_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "xa_check: " __VA_ARGS__);	\
			fputc('\n', stderr);				\
			return false;					\
		}							\
	} while (0)

/*
 * Check the subtree under @node (expected shift @shift, covering indices
 * from @base); set @any[m] if some entry in it carries mark m.
 */
static bool xa_check_node(struct xa_node *node, unsigned int shift, unsigned long base,
			  bool any[XA_MAX_MARKS])
{
	unsigned int off, used = 0;
	xa_mark_t mark;

	XA_CHECK(node->shift == shift, "node for %#lx has shift %u, expected %u",
		 base, node->shift, shift);
	for (mark = 0; mark < XA_MAX_MARKS; mark++)
		any[mark] = atomic_load_explicit(&node->marks[mark], memory_order_relaxed) != 0;
	for (off = 0; off < XA_CHUNK_SIZE; off++) {
		void *entry = rcu_access_pointer(node->slots[off]);
		unsigned long index = base + ((unsigned long)off << shift);
		bool below[XA_MAX_MARKS];

		if (!entry) {
			for (mark = 0; mark < XA_MAX_MARKS; mark++)
				XA_CHECK(!test_bit(off, &node->marks[mark]),
					 "empty slot at %#lx has mark %u", index, mark);
			continue;
		}
		used++;
		if (shift == 0) {
			XA_CHECK(!xa_is_internal(entry), "internal entry %p at %#lx",
				 entry, index);
			continue;
		}
		XA_CHECK(xa_is_node(entry), "interior slot at %#lx holds %p", index, entry);
		if (!xa_check_node(xa_to_node(entry), shift - XA_CHUNK_SHIFT, index, below))
			return false;
		for (mark = 0; mark < XA_MAX_MARKS; mark++)
			XA_CHECK(test_bit(off, &node->marks[mark]) == below[mark],
				 "mark %u of the slot for %#lx (shift %u) is %d, the subtree says %d",
				 mark, index, shift, test_bit(off, &node->marks[mark]),
				 below[mark]);
	}
	XA_CHECK(used == node->count, "node for %#lx (shift %u) counts %u slots, uses %u",
		 base, shift, node->count, used);
	XA_CHECK(used > 0, "empty node for %#lx (shift %u) is still linked", base, shift);
	return true;
}

bool xa_check(struct xarray *xa)
{
	bool any[XA_MAX_MARKS] = { false, false, false };
	bool ok = true;
	struct xa_node *top;
	xa_mark_t mark;
	void *head;

	xa_lock(xa);
	head = rcu_access_pointer(xa->xa_head);
	if (!head) {
		ok = !(__atomic_load_n(&xa->xa_flags, __ATOMIC_RELAXED) & XA_FLAGS_MARK_MASK);
		if (!ok)
			fprintf(stderr, "xa_check: an empty array has mark summary bits\n");
		goto out;
	}
	if (!xa_is_node(head)) {
		ok = !xa_is_internal(head);
		if (!ok)
			fprintf(stderr, "xa_check: internal entry %p in the head\n", head);
		goto out;
	}
	top = xa_to_node(head);
	if (top->shift % XA_CHUNK_SHIFT || top->shift > XA_MAX_SHIFT ||
	    !xa_check_node(top, top->shift, 0, any)) {
		ok = false;
		goto out;
	}
	if (top->count == 1 && rcu_access_pointer(top->slots[0])) {
		fprintf(stderr, "xa_check: the top node (shift %u) uses only slot 0\n", top->shift);
		ok = false;
		goto out;
	}
	for (mark = 0; mark < XA_MAX_MARKS; mark++) {
		if (xa_summary(xa, mark) != any[mark]) {
			fprintf(stderr, "xa_check: summary of mark %u is %d, the tree says %d\n",
				mark, xa_summary(xa, mark), any[mark]);
			ok = false;
		}
	}
out:
	xa_unlock(xa);
	return ok;
}
