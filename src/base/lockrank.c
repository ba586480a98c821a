// SPDX-License-Identifier: MIT
/*
 * The lock-order checker behind lockrank.h (debug builds only).
 *
 * Each thread keeps a small stack of the locks it holds. A blocking acquire
 * must rank strictly above every ranked lock on the stack; anything else could
 * deadlock against a thread that takes the same two locks in the documented
 * order, so it is reported with both sites and BUG()s at once, whether or not
 * the deadlock would have happened this time.
 */
#include <pinmm/lockrank.h>

#ifdef CONFIG_DEBUG_VM

#include <pinmm/bug.h>

#include <stdio.h>

#define LOCKRANK_MAX_HELD	64

struct held_lock {
	const void *lock;
	const char *file;
	int line;
	uint16_t rank;
	uint16_t subclass;
	bool shared;
	bool trylock;
};

/* Only this thread touches its stack, so no synchronisation is needed. */
static __thread struct held_lock held[LOCKRANK_MAX_HELD];
static __thread unsigned int nr_held;

/* (rank, subclass) as one number so the order check is a single comparison. */
static inline unsigned long rank_key(unsigned int rank, unsigned int subclass)
{
	return ((unsigned long)rank << 32) | subclass;
}

static void print_held(const char *why)
{
	fprintf(stderr, "pinmm: %s; locks held by this thread, oldest first:\n", why);
	for (unsigned int i = 0; i < nr_held; i++)
		fprintf(stderr, "pinmm:   #%u %p rank %u/%u %s%s at %s:%d\n", i,
			held[i].lock, held[i].rank, held[i].subclass,
			held[i].shared ? "shared" : "exclusive",
			held[i].trylock ? " (trylock)" : "", held[i].file,
			held[i].line);
}

static int find_held(const void *lock)
{
	/* Top down: a lock taken twice by trylock is released newest first. */
	for (int i = (int)nr_held - 1; i >= 0; i--)
		if (held[i].lock == lock)
			return i;
	return -1;
}

static void check_order(const void *lock, enum lock_rank rank, unsigned int subclass,
			const char *file, int line)
{
	const struct held_lock *worst = NULL;
	int again = find_held(lock);

	if (again >= 0) {
		fprintf(stderr,
			"pinmm: recursive locking: %p taken at %s:%d is already held since %s:%d\n",
			lock, file, line, held[again].file, held[again].line);
		print_held("self-deadlock");
		BUG();
	}
	if (rank == LOCK_RANK_NONE)
		return;
	for (unsigned int i = 0; i < nr_held; i++) {
		if (held[i].rank == LOCK_RANK_NONE)
			continue;
		if (!worst || rank_key(held[i].rank, held[i].subclass) >
			      rank_key(worst->rank, worst->subclass))
			worst = &held[i];
	}
	if (!worst || rank_key(rank, subclass) > rank_key(worst->rank, worst->subclass))
		return;
	fprintf(stderr,
		"pinmm: lock order violation: taking %p (rank %u/%u) at %s:%d\n"
		"pinmm:   while holding %p (rank %u/%u) taken at %s:%d\n",
		lock, (unsigned int)rank, subclass, file, line, worst->lock,
		worst->rank, worst->subclass, worst->file, worst->line);
	print_held("lock order violation");
	BUG();
}

void lockrank_acquire(const void *lock, enum lock_rank rank, unsigned int subclass,
		      bool trylock, bool shared, const char *file, int line)
{
	struct held_lock *h;

	if (!trylock)
		check_order(lock, rank, subclass, file, line);
	if (nr_held >= LOCKRANK_MAX_HELD) {
		fprintf(stderr, "pinmm: more than %d locks held, taking %p at %s:%d\n",
			LOCKRANK_MAX_HELD, lock, file, line);
		BUG();
	}
	h = &held[nr_held++];
	h->lock = lock;
	h->file = file;
	h->line = line;
	h->rank = (uint16_t)rank;
	h->subclass = (uint16_t)subclass;
	h->shared = shared;
	h->trylock = trylock;
}

void lockrank_release(const void *lock)
{
	int i = find_held(lock);

	if (i < 0) {
		fprintf(stderr, "pinmm: releasing %p, which this thread does not hold\n",
			lock);
		print_held("bad unlock");
		BUG();
	}
	for (unsigned int j = (unsigned int)i; j + 1 < nr_held; j++)
		held[j] = held[j + 1];
	nr_held--;
}

void lockrank_downgrade(const void *lock)
{
	int i = find_held(lock);

	if (i < 0 || held[i].shared) {
		fprintf(stderr, "pinmm: downgrading %p, which this thread does not hold "
			"for writing\n", lock);
		print_held("bad downgrade");
		BUG();
	}
	held[i].shared = true;
}

bool lockrank_held(const void *lock)
{
	return find_held(lock) >= 0;
}

bool lockrank_held_exclusive(const void *lock)
{
	int i = find_held(lock);

	return i >= 0 && !held[i].shared;
}

unsigned int lockrank_depth(void)
{
	return nr_held;
}

#endif /* CONFIG_DEBUG_VM */
