/* SPDX-License-Identifier: MIT */
/*
 * Race points: named steps of the lockless protocols where a test can hold
 * the window open (issue 13). A race that takes a few instructions on real
 * hardware is almost never hit by random timing; here a test arms a point
 * with a hook, and the thread that reaches the point runs the hook there —
 * typically: let another thread do its whole operation, then go on. So a
 * test can drive fork, a zap or a split through exactly the window a
 * re-check or a sequence count exists for, and fail when that check is gone.
 *
 * Debug builds only (CONFIG_DEBUG_VM): in a release build every point
 * compiles to nothing and pinmm_race_arm() returns -EOPNOTSUPP. An unarmed
 * point costs one relaxed load.
 */
#ifndef PINMM_RACE_H
#define PINMM_RACE_H

#include <pinmm/compiler.h>

#include <errno.h>
#include <stdatomic.h>

enum pinmm_race {
	/* GUP-fast read a present entry (PTE or PMD leaf); nothing grabbed yet */
	PINMM_RACE_GUP_FAST_READ,
	/* GUP-fast grabbed the folio (GET or PIN); the entries are not re-read yet */
	PINMM_RACE_GUP_FAST_GRABBED,
	/* the walk is over, pins held; write_protect_seq not re-checked yet */
	PINMM_RACE_GUP_FAST_SEQ_RETRY,
	/*
	 * fork decided to share an anon page with the child (it did not look
	 * pinned) and cleared PageAnonExclusive; the parent's PTE is still
	 * writable
	 */
	PINMM_RACE_FORK_SHARE,
	/*
	 * migration unmapped the source (migration entries) and froze its
	 * refcount at 0; nothing copied yet. The point's "addr" is the
	 * source's pfn.
	 */
	PINMM_RACE_MIGRATE_FROZEN,
	/*
	 * a pins-group charge compared pins.current with pins.max and may
	 * charge; the new pins.current is not stored yet. "addr" is the
	 * number of pages.
	 */
	PINMM_RACE_PINS_CHARGE,
	/*
	 * MADV_COLLAPSE scanned the range (no page had references beyond
	 * its mappings) and holds the new THP; the PMD is not cleared yet,
	 * so GUP-fast can still pin a page of the range
	 */
	PINMM_RACE_COLLAPSE_SCANNED,
	/*
	 * split_huge_pmd() of an anon THP published the filled PTE table in
	 * the PMD (PMD lock held); the folio's PMD mapping is not removed yet.
	 * "addr" is the PMD's address.
	 */
	PINMM_RACE_THP_SPLIT_PMD,
	/*
	 * split_folio() found the (unmapped, locked) folio unpinned; its
	 * refcount is not frozen yet. "addr" is the folio's pfn.
	 */
	PINMM_RACE_THP_SPLIT_FOLIO,
	/*
	 * split_huge_page_to_list_to_order(): can_split_folio() found only
	 * mappings' and the caller's references; nothing is unmapped yet.
	 * "addr" is the folio's pfn.
	 */
	PINMM_RACE_THP_SPLIT_CHECKED,
	/*
	 * a page table was unlinked from its parent entry and is handed to
	 * RCU to be freed after a grace period. "addr" is the table's pfn.
	 */
	PINMM_RACE_PT_FREE,
	/*
	 * a write fault on a read-only THP PMD (do_huge_pmd_wp_page()) read
	 * the PMD without its lock and is about to take the lock. "addr" is
	 * the PMD's address.
	 */
	PINMM_RACE_HUGE_WP_FAULT,
	/*
	 * do_huge_pmd_wp_page() (PMD lock held) saw the folio's refcount at
	 * 1 and may reuse it; the folio is not locked, the count not re-read.
	 */
	PINMM_RACE_HUGE_WP_REUSE,
	/*
	 * wp_can_reuse_anon_folio() saw a small folio's refcount at 1 and is
	 * about to take the folio lock and read it again. "addr" is the
	 * folio's pfn (the function has no address).
	 */
	PINMM_RACE_WP_REUSE,
	/*
	 * KSM found an anon page mapped at "addr" and holds it (a reference,
	 * the folio lock, mmap_lock for reading); write_protect_page() has not
	 * taken the PTE lock to read the entry again yet
	 */
	PINMM_RACE_KSM_WRPROTECT,
	/*
	 * ksm_get_folio() read a stable node's kpfn and found that frame's
	 * ->mapping pointing at the node; no reference taken yet. "addr" is
	 * the kpfn.
	 */
	PINMM_RACE_KSM_GET_FOLIO,
	/*
	 * read_swap_cache_async() holds an entry's swap area
	 * (get_swap_device()) and has not looked at the slot yet. "addr" is
	 * the entry's value.
	 */
	PINMM_RACE_SWAPIN_HELD,
	/*
	 * Reclaim decided an anon folio goes (locked, isolated; in the swap
	 * cache, or lazyfree): try_to_unmap() has not looked at any of its
	 * mappings yet. "addr" is the folio's pfn.
	 */
	PINMM_RACE_RECLAIM_UNMAP,
	PINMM_RACE_NR
};

/* The hook: runs in the thread at @point, for the user address @addr there. */
typedef void (*pinmm_race_fn)(enum pinmm_race point, unsigned long addr, void *arg);

#ifdef CONFIG_DEBUG_VM
extern atomic_uint pinmm_races_armed;
void __pinmm_race_point(enum pinmm_race point, unsigned long addr);

/* A step of a lockless protocol: run the hook armed for it, if any. */
#define pinmm_race_point(point, addr)							\
	do {										\
		if (unlikely(atomic_load_explicit(&pinmm_races_armed,			\
						  memory_order_relaxed) & (1U << (point))))	\
			__pinmm_race_point((point), (addr));				\
	} while (0)

/**
 * pinmm_race_arm - run @fn(@point, addr, @arg) in every thread that reaches
 * @point from now on, until pinmm_race_disarm(). The hook filters (by
 * address, by thread, once) as it needs: it runs wherever the point is,
 * with whatever that code holds (GUP-fast: rcu_read_lock(); fork: both
 * mmap locks and the page-table locks), so it must not take those.
 * Return: 0, or -EINVAL for an unknown point.
 */
int pinmm_race_arm(enum pinmm_race point, pinmm_race_fn fn, void *arg);
/* Disarm @point; a hook already running finishes. */
void pinmm_race_disarm(enum pinmm_race point);
#else
#define pinmm_race_point(point, addr)	do { (void)(point); (void)(addr); } while (0)
static inline int pinmm_race_arm(enum pinmm_race point, pinmm_race_fn fn, void *arg)
{
	(void)point;
	(void)fn;
	(void)arg;
	return -EOPNOTSUPP;
}
static inline void pinmm_race_disarm(enum pinmm_race point)
{
	(void)point;
}
#endif

/* The point's name, for messages ("gup_fast_read", ...). */
const char *pinmm_race_name(enum pinmm_race point);

#endif /* PINMM_RACE_H */
