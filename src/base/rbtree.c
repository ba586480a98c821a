// SPDX-License-Identifier: MIT
/*
 * Red-black trees (the interface of include/pinmm/rbtree.h).
 *
 * Invariants: every node is red or black; the root is black; a red node has
 * no red child; every path from a node down to a missing child crosses the
 * same number of black nodes. Together they bound the height by 2*log2(n+1),
 * so lookups, inserts and erases are O(log n).
 *
 * The colour lives in bit 0 of __rb_parent_color: 0 is red, 1 is black, so
 * rb_link_node(), which stores the bare parent pointer, links a red node.
 */
#include <pinmm/rbtree.h>

#define RB_RED		0UL
#define RB_BLACK	1UL

static inline unsigned long rb_colour(const struct rb_node *n)
{
	return n->__rb_parent_color & 1UL;
}

/* Missing children count as black. */
static inline bool rb_is_red(const struct rb_node *n)
{
	return n && rb_colour(n) == RB_RED;
}

static inline bool rb_is_black(const struct rb_node *n)
{
	return !n || rb_colour(n) == RB_BLACK;
}

static inline void rb_set_parent(struct rb_node *n, struct rb_node *parent)
{
	n->__rb_parent_color = (n->__rb_parent_color & 1UL) | (unsigned long)parent;
}

static inline void rb_set_colour(struct rb_node *n, unsigned long colour)
{
	n->__rb_parent_color = (n->__rb_parent_color & ~1UL) | colour;
}

/* Make @parent (or the root) point at @new where it pointed at @old. */
static inline void rb_replace_child(struct rb_root *root, struct rb_node *parent,
				    struct rb_node *old, struct rb_node *new)
{
	if (!parent)
		root->rb_node = new;
	else if (parent->rb_left == old)
		parent->rb_left = new;
	else
		parent->rb_right = new;
}

/*
 *     x                y
 *    / \              / \
 *   a   y    ==>     x   c
 *      / \          / \
 *     b   c        a   b
 */
static void rb_rotate_left(struct rb_root *root, struct rb_node *x)
{
	struct rb_node *y = x->rb_right;
	struct rb_node *parent = rb_parent(x);

	x->rb_right = y->rb_left;
	if (y->rb_left)
		rb_set_parent(y->rb_left, x);
	rb_set_parent(y, parent);
	rb_replace_child(root, parent, x, y);
	y->rb_left = x;
	rb_set_parent(x, y);
}

/* The mirror image of rb_rotate_left(). */
static void rb_rotate_right(struct rb_root *root, struct rb_node *x)
{
	struct rb_node *y = x->rb_left;
	struct rb_node *parent = rb_parent(x);

	x->rb_left = y->rb_right;
	if (y->rb_right)
		rb_set_parent(y->rb_right, x);
	rb_set_parent(y, parent);
	rb_replace_child(root, parent, x, y);
	y->rb_right = x;
	rb_set_parent(x, y);
}

void rb_insert_color(struct rb_node *node, struct rb_root *root)
{
	struct rb_node *parent, *gparent, *uncle;

	/* The only possible violation is a red node under a red parent. */
	while ((parent = rb_parent(node)) && rb_is_red(parent)) {
		/* A red parent is never the root, so the grandparent exists. */
		gparent = rb_parent(parent);
		if (parent == gparent->rb_left) {
			uncle = gparent->rb_right;
			if (rb_is_red(uncle)) {
				/* Push the blackness down one level; recheck higher up. */
				rb_set_colour(parent, RB_BLACK);
				rb_set_colour(uncle, RB_BLACK);
				rb_set_colour(gparent, RB_RED);
				node = gparent;
				continue;
			}
			if (node == parent->rb_right) {
				/* Bring the inner grandchild to the outside first. */
				rb_rotate_left(root, parent);
				node = parent;
				parent = rb_parent(node);
			}
			rb_set_colour(parent, RB_BLACK);
			rb_set_colour(gparent, RB_RED);
			rb_rotate_right(root, gparent);
		} else {
			uncle = gparent->rb_left;
			if (rb_is_red(uncle)) {
				rb_set_colour(parent, RB_BLACK);
				rb_set_colour(uncle, RB_BLACK);
				rb_set_colour(gparent, RB_RED);
				node = gparent;
				continue;
			}
			if (node == parent->rb_left) {
				rb_rotate_right(root, parent);
				node = parent;
				parent = rb_parent(node);
			}
			rb_set_colour(parent, RB_BLACK);
			rb_set_colour(gparent, RB_RED);
			rb_rotate_left(root, gparent);
		}
	}
	rb_set_colour(root->rb_node, RB_BLACK);
}

/*
 * After removing a black node, the subtree at @node (possibly NULL, a child
 * of @parent) is one black short: borrow from the sibling or move the deficit
 * up towards the root.
 */
static void rb_erase_fixup(struct rb_root *root, struct rb_node *node, struct rb_node *parent)
{
	struct rb_node *sibling;

	while (node != root->rb_node && rb_is_black(node)) {
		if (node == parent->rb_left) {
			sibling = parent->rb_right;
			if (rb_is_red(sibling)) {
				/* Make the sibling black, so the cases below apply. */
				rb_set_colour(sibling, RB_BLACK);
				rb_set_colour(parent, RB_RED);
				rb_rotate_left(root, parent);
				sibling = parent->rb_right;
			}
			if (rb_is_black(sibling->rb_left) && rb_is_black(sibling->rb_right)) {
				/* Both sides lose one black; the deficit moves up. */
				rb_set_colour(sibling, RB_RED);
				node = parent;
				parent = rb_parent(node);
				continue;
			}
			if (rb_is_black(sibling->rb_right)) {
				rb_set_colour(sibling->rb_left, RB_BLACK);
				rb_set_colour(sibling, RB_RED);
				rb_rotate_right(root, sibling);
				sibling = parent->rb_right;
			}
			rb_set_colour(sibling, rb_colour(parent));
			rb_set_colour(parent, RB_BLACK);
			rb_set_colour(sibling->rb_right, RB_BLACK);
			rb_rotate_left(root, parent);
			node = root->rb_node;
			break;
		} else {
			sibling = parent->rb_left;
			if (rb_is_red(sibling)) {
				rb_set_colour(sibling, RB_BLACK);
				rb_set_colour(parent, RB_RED);
				rb_rotate_right(root, parent);
				sibling = parent->rb_left;
			}
			if (rb_is_black(sibling->rb_left) && rb_is_black(sibling->rb_right)) {
				rb_set_colour(sibling, RB_RED);
				node = parent;
				parent = rb_parent(node);
				continue;
			}
			if (rb_is_black(sibling->rb_left)) {
				rb_set_colour(sibling->rb_right, RB_BLACK);
				rb_set_colour(sibling, RB_RED);
				rb_rotate_left(root, sibling);
				sibling = parent->rb_left;
			}
			rb_set_colour(sibling, rb_colour(parent));
			rb_set_colour(parent, RB_BLACK);
			rb_set_colour(sibling->rb_left, RB_BLACK);
			rb_rotate_right(root, parent);
			node = root->rb_node;
			break;
		}
	}
	if (node)
		rb_set_colour(node, RB_BLACK);
}

/* Put @new where @old hangs (parent link and colour kept by the caller). */
static void rb_transplant(struct rb_root *root, struct rb_node *old, struct rb_node *new)
{
	struct rb_node *parent = rb_parent(old);

	rb_replace_child(root, parent, old, new);
	if (new)
		rb_set_parent(new, parent);
}

void rb_erase(struct rb_node *node, struct rb_root *root)
{
	struct rb_node *child, *parent, *succ;
	unsigned long removed_colour;

	if (!node->rb_left || !node->rb_right) {
		/* At most one child: it takes the node's place. */
		child = node->rb_left ? node->rb_left : node->rb_right;
		parent = rb_parent(node);
		removed_colour = rb_colour(node);
		rb_transplant(root, node, child);
	} else {
		/*
		 * Two children: the in-order successor (leftmost of the right
		 * subtree, which has no left child) takes the node's place and
		 * colour; the tree loses a node where the successor was.
		 */
		succ = node->rb_right;
		while (succ->rb_left)
			succ = succ->rb_left;
		removed_colour = rb_colour(succ);
		child = succ->rb_right;
		if (rb_parent(succ) == node) {
			parent = succ;
		} else {
			parent = rb_parent(succ);
			rb_transplant(root, succ, child);
			succ->rb_right = node->rb_right;
			rb_set_parent(succ->rb_right, succ);
		}
		rb_transplant(root, node, succ);
		succ->rb_left = node->rb_left;
		rb_set_parent(succ->rb_left, succ);
		rb_set_colour(succ, rb_colour(node));
	}
	if (removed_colour == RB_BLACK)
		rb_erase_fixup(root, child, parent);
}

struct rb_node *rb_first(const struct rb_root *root)
{
	struct rb_node *n = root->rb_node;

	if (!n)
		return NULL;
	while (n->rb_left)
		n = n->rb_left;
	return n;
}

struct rb_node *rb_last(const struct rb_root *root)
{
	struct rb_node *n = root->rb_node;

	if (!n)
		return NULL;
	while (n->rb_right)
		n = n->rb_right;
	return n;
}

struct rb_node *rb_next(const struct rb_node *node)
{
	struct rb_node *parent;

	if (RB_EMPTY_NODE(node))
		return NULL;
	if (node->rb_right) {
		node = node->rb_right;
		while (node->rb_left)
			node = node->rb_left;
		return (struct rb_node *)node;
	}
	/* Climb until we arrive from a left child: that parent comes next. */
	while ((parent = rb_parent(node)) && node == parent->rb_right)
		node = parent;
	return parent;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	struct rb_node *parent;

	if (RB_EMPTY_NODE(node))
		return NULL;
	if (node->rb_left) {
		node = node->rb_left;
		while (node->rb_right)
			node = node->rb_right;
		return (struct rb_node *)node;
	}
	while ((parent = rb_parent(node)) && node == parent->rb_left)
		node = parent;
	return parent;
}
