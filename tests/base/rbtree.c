// SPDX-License-Identifier: MIT
/*
 * Red-black tree: random inserts and erases, checked after every batch
 * against the red-black invariants and a sorted reference array.
 */
#include "../lib/tap.h"

#include <pinmm/rbtree.h>

#include <stdlib.h>
#include <string.h>

#define NKEYS	4096

struct item {
	struct rb_node node;
	unsigned long key;
	bool in_tree;
};

static struct item items[NKEYS];
static struct rb_root root = RB_ROOT;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static bool is_black(const struct rb_node *n)
{
	return !n || (n->__rb_parent_color & 1);
}

/* Black height of @n, or -1 if an invariant is broken below it. */
static int check_subtree(const struct rb_node *n, const struct rb_node *parent,
			 unsigned long lo, unsigned long hi, int *count)
{
	int lh, rh;
	unsigned long key;

	if (!n)
		return 1;
	if (rb_parent(n) != parent)
		return -1;
	key = rb_entry(n, struct item, node)->key;
	if (key < lo || key > hi)
		return -1;
	if (!is_black(n) && (!is_black(n->rb_left) || !is_black(n->rb_right)))
		return -1;	/* red node with a red child */
	(*count)++;
	lh = check_subtree(n->rb_left, n, lo, key ? key - 1 : 0, count);
	rh = check_subtree(n->rb_right, n, key + 1, hi, count);
	if (lh < 0 || rh < 0 || lh != rh)
		return -1;
	return lh + is_black(n);
}

static int tree_height(const struct rb_node *n)
{
	int l, r;

	if (!n)
		return 0;
	l = tree_height(n->rb_left);
	r = tree_height(n->rb_right);
	return 1 + (l > r ? l : r);
}

static bool insert(struct item *it)
{
	struct rb_node **link = &root.rb_node, *parent = NULL;

	while (*link) {
		struct item *cur = rb_entry(*link, struct item, node);

		parent = *link;
		if (it->key < cur->key)
			link = &(*link)->rb_left;
		else if (it->key > cur->key)
			link = &(*link)->rb_right;
		else
			return false;
	}
	rb_link_node(&it->node, parent, link);
	rb_insert_color(&it->node, &root);
	it->in_tree = true;
	return true;
}

static struct item *search(unsigned long key)
{
	struct rb_node *n = root.rb_node;

	while (n) {
		struct item *cur = rb_entry(n, struct item, node);

		if (key < cur->key)
			n = n->rb_left;
		else if (key > cur->key)
			n = n->rb_right;
		else
			return cur;
	}
	return NULL;
}

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Invariants, in-order walk both ways against the sorted keys of the members. */
static bool check_tree(int *nr_out, int *height_out)
{
	static unsigned long want[NKEYS];
	int n = 0, count = 0, i;
	struct rb_node *node;

	for (i = 0; i < NKEYS; i++)
		if (items[i].in_tree)
			want[n++] = items[i].key;
	qsort(want, n, sizeof(want[0]), cmp_ul);
	*nr_out = n;
	*height_out = tree_height(root.rb_node);

	if (root.rb_node && !is_black(root.rb_node))
		return false;
	if (check_subtree(root.rb_node, NULL, 0, ~0UL, &count) < 0 || count != n)
		return false;
	i = 0;
	for (node = rb_first(&root); node; node = rb_next(node), i++)
		if (i >= n || rb_entry(node, struct item, node)->key != want[i])
			return false;
	if (i != n)
		return false;
	for (node = rb_last(&root); node; node = rb_prev(node))
		if (--i < 0 || rb_entry(node, struct item, node)->key != want[i])
			return false;
	return i == 0;
}

int main(void)
{
	int nr, height, bad = 0, worst_ratio_bad = 0, i, round;
	bool lookups_ok = true;

	plan_no_plan();

	ok(rb_first(&root) == NULL && rb_last(&root) == NULL,
	   "rbtree: an empty tree has no first or last node");

	/* Ascending keys: the worst case for an unbalanced tree. */
	for (i = 0; i < NKEYS; i++) {
		items[i].key = (unsigned long)i * 3;
		insert(&items[i]);
	}
	ok(check_tree(&nr, &height), "rbtree: sorted inserts keep the red-black invariants");
	is_int(nr, NKEYS, "rbtree: every inserted key is in the tree");
	ok(height <= 2 * 13, "rbtree: height %d of %d sorted keys is within 2*log2(n+1)",
	   height, NKEYS);
	for (i = 0; i < NKEYS; i += 2) {
		rb_erase(&items[i].node, &root);
		items[i].in_tree = false;
	}
	ok(check_tree(&nr, &height), "rbtree: erasing every other key keeps the invariants");
	for (i = 1; i < NKEYS; i += 2) {
		rb_erase(&items[i].node, &root);
		items[i].in_tree = false;
	}
	ok(RB_EMPTY_ROOT(&root), "rbtree: erasing every key empties the tree");

	/* Random keys, random erases, checked after every round. */
	memset(items, 0, sizeof(items));
	for (round = 0; round < 200; round++) {
		for (i = 0; i < 64; i++) {
			struct item *it = &items[next_rand() % NKEYS];

			if (it->in_tree) {
				rb_erase(&it->node, &root);
				it->in_tree = false;
			} else {
				it->key = next_rand() % (NKEYS * 16);
				if (!insert(it))
					it->in_tree = false;
			}
		}
		if (!check_tree(&nr, &height))
			bad++;
		/* A red-black tree of n nodes is at most 2*log2(n+1) high. */
		if (nr && height > 2 * (64 - __builtin_clzl((unsigned long)nr + 1)))
			worst_ratio_bad++;
		for (i = 0; i < NKEYS; i += 97)
			if (items[i].in_tree && search(items[i].key) != &items[i])
				lookups_ok = false;
	}
	is_int(bad, 0, "rbtree: random insert/erase rounds keep the invariants, the black "
	       "height and the in-order walk");
	is_int(worst_ratio_bad, 0, "rbtree: height stays within 2*log2(n+1) (O(log n))");
	ok(lookups_ok, "rbtree: every member is found by a descent from the root");

	/* Drain in random order. */
	for (i = 0; i < NKEYS; i++) {
		struct item *it = &items[(i * 2654435761u) % NKEYS];

		if (it->in_tree) {
			rb_erase(&it->node, &root);
			it->in_tree = false;
			if ((i & 255) == 0 && !check_tree(&nr, &height))
				bad++;
		}
	}
	for (i = 0; i < NKEYS; i++)
		if (items[i].in_tree) {
			rb_erase(&items[i].node, &root);
			items[i].in_tree = false;
		}
	ok(bad == 0 && RB_EMPTY_ROOT(&root), "rbtree: draining in random order ends empty");

	return done_testing();
}
