/* SPDX-License-Identifier: MIT */
/*
 * Lock ranks: the lock order of docs/locking.md as numbers.
 *
 * Every pinmm lock is created with a rank. In debug builds (CONFIG_DEBUG_VM)
 * each thread keeps a stack of the locks it holds; taking a blocking lock whose
 * rank is lower than, or equal to, the rank of a lock already held is a
 * lock-order violation and BUG()s with both acquisition sites (jemalloc's
 * "witness"). Equal ranks may nest only through the *_nested() variants with
 * a larger subclass. Trylocks cannot deadlock, so they are recorded as held
 * but never checked against the order.
 */
#ifndef PINMM_LOCKRANK_H
#define PINMM_LOCKRANK_H

#include <pinmm/bug.h>	/* lockdep_assert_*() expand to BUG_ON() */
#include <pinmm/compiler.h>

enum lock_rank {
	LOCK_RANK_NONE = 0,		/* not order-checked (still recorded) */
	LOCK_RANK_DIR = 3,		/* a directory's lock: name lookup and create */
	LOCK_RANK_I_RWSEM = 5,		/* inode->i_rwsem (write/truncate; faults under it) */
	LOCK_RANK_KSM = 8,		/* ksm_thread_mutex: the scanner, above every mmap_lock */
	LOCK_RANK_MMAP = 10,		/* mm->mmap_lock */
	LOCK_RANK_INVALIDATE = 12,	/* mapping->invalidate_lock (truncate vs fault) */
	LOCK_RANK_HUGETLB_FAULT = 13,	/* hugetlb fault mutex (one fault per huge page index) */
	LOCK_RANK_MMU_NOTIFIER = 15,	/* notifier subscription list */
	LOCK_RANK_FOLIO = 20,		/* folio lock (PG_locked) */
	LOCK_RANK_I_MMAP = 30,		/* mapping->i_mmap_rwsem */
	LOCK_RANK_ANON_VMA = 40,	/* anon_vma->rwsem */
	LOCK_RANK_PAGE_TABLE = 50,	/* mm->page_table_lock, PMD-level ptl */
	LOCK_RANK_PTE = 55,		/* PTE-table ptl */
	LOCK_RANK_LRU = 60,		/* lruvec lock */
	LOCK_RANK_I_PAGES = 65,		/* xa_lock of mapping->i_pages (dirty tags under ptl) */
	LOCK_RANK_WB_LIST = 67,		/* bdi_writeback.list_lock (dirty inode list) */
	LOCK_RANK_PCP = 68,		/* per_cpu_pages.lock (pages freed under ptl, lru, xa_lock) */
	LOCK_RANK_ZONE = 70,		/* zone->lock */
	LOCK_RANK_PIN_OWNER = 90,	/* pin owner records: a folio's shared pins */
	LOCK_RANK_LEAF = 100,		/* takes no other lock while held */
};

struct lockrank_site {
	const char *file;
	int line;
};

/*
 * Locks of rank LOCK_RANK_NONE are recorded (so lockdep_assert_held(), the
 * release check and the recursion check work on them) but take no part in
 * the order check, neither as the lock being taken nor as a lock held.
 */
#ifdef CONFIG_DEBUG_VM
/**
 * lockrank_acquire() - record that the current thread takes @lock.
 * @lock: the lock, as an identity only.
 * @rank: its rank.
 * @subclass: orders locks of equal rank (the *_nested() variants).
 * @trylock: a trylock that succeeded; recorded but not order-checked.
 * @shared: taken for reading.
 * @file: acquisition site, printed on a violation.
 * @line: acquisition site line.
 *
 * A blocking acquire (called before waiting, so a deadlock is reported
 * rather than hit) BUG()s if (@rank, @subclass) is not above every ranked
 * lock the thread holds, or if the thread already holds @lock.
 *
 * Context: any; touches only thread-local state. BUG()s past 64 held locks.
 */
void lockrank_acquire(const void *lock, enum lock_rank rank, unsigned int subclass,
		      bool trylock, bool shared, const char *file, int line);
/**
 * lockrank_release() - record the release of @lock by the current thread.
 * @lock: a lock the thread holds; releases may come in any order.
 *
 * Context: any. BUG()s if the thread does not hold @lock.
 */
void lockrank_release(const void *lock);
/**
 * lockrank_downgrade() - the thread's exclusive hold of @lock becomes shared.
 * @lock: a lock the thread holds exclusively (downgrade_write()).
 *
 * Context: any. BUG()s if the thread does not hold @lock exclusively.
 */
void lockrank_downgrade(const void *lock);
/**
 * lockrank_held() - does the current thread hold @lock, in any mode?
 * @lock: the lock.
 *
 * Return: true if held; lockrank_held_exclusive() only if held for writing.
 */
bool lockrank_held(const void *lock);
bool lockrank_held_exclusive(const void *lock);
/* Number of locks, of any rank, the current thread holds. */
unsigned int lockrank_depth(void);
#define lockdep_assert_held(l)		BUG_ON(!lockrank_held(l))
#define lockdep_assert_held_write(l)	BUG_ON(!lockrank_held_exclusive(l))
#define lockdep_assert_none_held()	BUG_ON(lockrank_depth() != 0)
#else
static inline void lockrank_acquire(const void *l, enum lock_rank r, unsigned int s,
				    bool t, bool sh, const char *f, int n)
{ (void)l; (void)r; (void)s; (void)t; (void)sh; (void)f; (void)n; }
static inline void lockrank_release(const void *l) { (void)l; }
static inline void lockrank_downgrade(const void *l) { (void)l; }
#define lockdep_assert_held(l)		((void)(l))
#define lockdep_assert_held_write(l)	((void)(l))
#define lockdep_assert_none_held()	((void)0)
#endif

#endif /* PINMM_LOCKRANK_H */
