/* SPDX-License-Identifier: MIT */
/*
 * The xarray: an RCU-safe radix tree mapping an unsigned long index to a
 * pointer, with three marks per entry. It is the page cache's index -> folio
 * map (mapping->i_pages). The interface is a subset of Linux's, with Linux's
 * names and semantics; no xa_state/xas_*() cursor, no multi-index entries,
 * no reserved (zero) entries, no allocating arrays (xa_alloc).
 *
 * Entries. A stored entry is a pointer with its two low bits clear, or a
 * tagged integer from xa_mk_value() (bit 0 set). NULL means "no entry":
 * storing NULL erases. Pointers whose low bits are 0b10 are internal to the
 * xarray (node links, the retry marker, error codes) and may not be stored;
 * the only internal entries a caller ever gets back are error entries from
 * the store family (test them with xa_is_err(), decode with xa_err()).
 *
 * Locking. Writers (store, erase, insert, cmpxchg, set/clear mark, destroy)
 * serialise on xa->xa_lock, a spinlock of rank LOCK_RANK_I_PAGES: the plain
 * names take it themselves, the __ names expect the caller to hold it (so it
 * can update other state, such as nrpages, in the same critical section).
 * Readers (xa_load, xa_get_mark, xa_find*, the xa_for_each* loops, xa_empty,
 * xa_marked) take no lock: they enter an RCU read-side section themselves and
 * may also be called with xa_lock held or inside rcu_read_lock(). A lockless
 * reader sees each entry as it was at some instant during its call; it never
 * sees a torn or freed node. Marks read locklessly are snapshots that may be
 * stale by the time the caller looks at them; under xa_lock they are exact.
 *
 * Memory. Nodes are malloc()ed by the store family, with xa_lock held (the
 * allocation never sleeps: the gfp arguments are accepted for fidelity with
 * Linux and otherwise unused) and freed through call_rcu() once unlinked.
 * An allocation failure returns an error entry for -ENOMEM (or -ENOMEM from
 * xa_insert()) and leaves the array as it was before the call. The entries
 * themselves belong to the caller.
 */
#ifndef PINMM_XARRAY_H
#define PINMM_XARRAY_H

#include <pinmm/bug.h>
#include <pinmm/locks.h>
#include <pinmm/rcupdate.h>
#include <pinmm/types.h>

#include <errno.h>
#include <limits.h>

/*
 * Lock letters on fields:
 *   (x) written only with xa_lock held
 *   (r) read locklessly by readers inside an RCU read-side section (an
 *       atomic: acquire loads for pointers, relaxed for mark bits)
 *   (c) constant once the array is initialised
 */
struct xarray {
	spinlock_t xa_lock;		/* rank LOCK_RANK_I_PAGES; serialises writers */
	unsigned int xa_flags;		/* (c) XA_FLAGS_* given at init; (x,r) the
					 * XA_FLAGS_MARK() summary bits, accessed
					 * with __atomic builtins */
	_Atomic(void *) xa_head;	/* (x,r) NULL, the entry at index 0, or a
					 * node link (xa_is_node()) */
};

typedef unsigned int xa_mark_t;
#define XA_MARK_0	0U
#define XA_MARK_1	1U
#define XA_MARK_2	2U
#define XA_PRESENT	8U	/* xa_find() filter: any present entry */
#define XA_MAX_MARKS	3

/*
 * xa_flags bits. XA_FLAGS_MARK(m) is kept by the array itself: set iff some
 * entry carries mark @m (xa_marked()). No caller-visible behaviour flags are
 * defined in pinmm; pass 0 to xa_init_flags().
 */
#define XA_FLAGS_MARK_SHIFT	8
#define XA_FLAGS_MARK(mark)	(1U << (XA_FLAGS_MARK_SHIFT + (mark)))
#define XA_FLAGS_MARK_MASK	(XA_FLAGS_MARK(XA_MARK_0) | XA_FLAGS_MARK(XA_MARK_1) | \
				 XA_FLAGS_MARK(XA_MARK_2))

/* ---- entries ------------------------------------------------------------- */

/**
 * xa_mk_value() - make an entry that stores an integer.
 * @v: the integer, 0 to LONG_MAX.
 *
 * The entry has bit 0 set, so it can never be mistaken for a pointer.
 * Context: any.
 * Return: an entry that may be stored in an xarray.
 */
static inline void *xa_mk_value(unsigned long v)
{
	VM_WARN_ON_ONCE((long)v < 0);
	return (void *)((v << 1) | 1UL);
}

/**
 * xa_to_value() - the integer an xa_mk_value() entry stores.
 * @entry: an entry for which xa_is_value() is true.
 *
 * Context: any.
 * Return: the integer given to xa_mk_value().
 */
static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}

/**
 * xa_is_value() - is @entry an integer made by xa_mk_value()?
 * @entry: any entry.
 *
 * Context: any.
 * Return: true for value entries, false for pointers and NULL.
 */
static inline bool xa_is_value(const void *entry)
{
	return (unsigned long)entry & 1UL;
}

/**
 * xa_mk_internal() - encode @v as an internal entry (low bits 0b10).
 * @v: the payload.
 *
 * For the xarray's own use (node links, retry marker, errors); never stored
 * by callers.
 * Context: any.
 * Return: the internal entry.
 */
static inline void *xa_mk_internal(unsigned long v)
{
	return (void *)((v << 2) | 2UL);
}

/**
 * xa_to_internal() - the payload of an internal entry.
 * @entry: an entry for which xa_is_internal() is true.
 *
 * Context: any.
 * Return: the value given to xa_mk_internal().
 */
static inline unsigned long xa_to_internal(const void *entry)
{
	return (unsigned long)entry >> 2;
}

/**
 * xa_is_internal() - is @entry an internal entry (low bits 0b10)?
 * @entry: any entry.
 *
 * Context: any.
 * Return: true for internal entries (including error entries).
 */
static inline bool xa_is_internal(const void *entry)
{
	return ((unsigned long)entry & 3UL) == 2UL;
}

/* The error entry for @err (a negative errno): an internal entry in the top 4095 slots. */
#define XA_ERROR(err)	xa_mk_internal((unsigned long)(long)(err))

/**
 * xa_is_err() - does @entry report an error?
 * @entry: a value returned by xa_store(), xa_erase(), xa_cmpxchg() or their
 *         __ forms.
 *
 * Context: any.
 * Return: true if @entry is an error entry (decode it with xa_err()).
 */
static inline bool xa_is_err(const void *entry)
{
	return unlikely(xa_is_internal(entry) &&
			(unsigned long)entry >= (unsigned long)XA_ERROR(-MAX_ERRNO));
}

/**
 * xa_err() - turn an entry into an errno.
 * @entry: a value returned by the store family.
 *
 * Context: any.
 * Return: the negative errno an error entry carries, 0 for any other entry.
 */
static inline int xa_err(void *entry)
{
	if (xa_is_err(entry))
		return (int)((long)entry >> 2);	/* arithmetic shift keeps the sign */
	return 0;
}

/* ---- the array ----------------------------------------------------------- */

#define xa_lock(xa)		spin_lock(&(xa)->xa_lock)
#define xa_unlock(xa)		spin_unlock(&(xa)->xa_lock)
#define xa_trylock(xa)		spin_trylock(&(xa)->xa_lock)

/**
 * xa_init_flags() - initialise an empty xarray.
 * @xa: the array.
 * @flags: XA_FLAGS_* behaviour bits; none are defined in pinmm, pass 0
 *         (mark summary bits passed here are ignored, with a warning).
 *
 * Context: any; @xa must not be in use by another thread.
 */
void xa_init_flags(struct xarray *xa, unsigned int flags);

/**
 * xa_init() - initialise an empty xarray: xa_init_flags(@xa, 0).
 * @xa: the array.
 *
 * Context: any; @xa must not be in use by another thread.
 */
static inline void xa_init(struct xarray *xa)
{
	xa_init_flags(xa, 0);
}

/**
 * xa_destroy() - free every node of @xa and leave it empty.
 * @xa: the array.
 *
 * The entries themselves are the caller's to free. Nodes are unlinked under
 * xa_lock and freed after an RCU grace period, so a lockless reader still
 * inside the array is safe; it sees each entry as present or absent.
 * Context: takes xa_lock; does not sleep.
 */
void xa_destroy(struct xarray *xa);

/**
 * xa_empty() - does @xa hold no entry at all?
 * @xa: the array.
 *
 * Context: any; lockless (a snapshot unless xa_lock is held).
 * Return: true if no entry is present.
 */
bool xa_empty(const struct xarray *xa);

/**
 * xa_marked() - does any entry of @xa carry @mark?
 * @xa: the array.
 * @mark: XA_MARK_0, XA_MARK_1 or XA_MARK_2.
 *
 * Context: any; lockless (a snapshot unless xa_lock is held).
 * Return: true if some entry has @mark set.
 */
bool xa_marked(const struct xarray *xa, xa_mark_t mark);

/**
 * xa_load() - the entry at @index.
 * @xa: the array.
 * @index: any index.
 *
 * Context: any; takes rcu_read_lock() itself, no lock; may also be called
 * with xa_lock held or inside an RCU read-side section. Never sleeps.
 * Return: the entry (as it was at some instant during the call), or NULL.
 */
void *xa_load(struct xarray *xa, unsigned long index);

/**
 * xa_store() - store @entry at @index, returning what was there.
 * @xa: the array.
 * @index: any index, up to ULONG_MAX.
 * @entry: a pointer with the low two bits clear or an xa_mk_value(); NULL
 *         erases (as xa_erase()).
 * @gfp: accepted for fidelity with Linux; unused (allocations never sleep).
 *
 * Overwriting an entry keeps its marks; erasing clears them. The tree grows
 * as needed; on an allocation failure nothing changes.
 * Context: takes xa_lock (rank 65): not with a lock of a higher rank held,
 * nor with xa_lock itself held. Does not sleep.
 * Return: the old entry (NULL if none), or an error entry: -ENOMEM if a
 * node could not be allocated, -EINVAL if @entry is an internal entry.
 */
void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * __xa_store() - xa_store() with xa_lock already held.
 * @xa: the array.
 * @index: any index.
 * @entry: the new entry, or NULL to erase.
 * @gfp: unused.
 *
 * Context: xa_lock held (checked in debug builds); does not sleep.
 * Return: as xa_store().
 */
void *__xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * xa_erase() - remove the entry at @index and its marks.
 * @xa: the array.
 * @index: any index.
 *
 * Nodes left empty are freed (after a grace period) and the tree shrinks
 * back when only index range 0 of the top node is in use.
 * Context: takes xa_lock; does not sleep; never allocates.
 * Return: the entry that was there, or NULL.
 */
void *xa_erase(struct xarray *xa, unsigned long index);

/**
 * __xa_erase() - xa_erase() with xa_lock already held.
 * @xa: the array.
 * @index: any index.
 *
 * Context: xa_lock held; does not sleep.
 * Return: the entry that was there, or NULL.
 */
void *__xa_erase(struct xarray *xa, unsigned long index);

/**
 * xa_insert() - store @entry at @index only if nothing is there.
 * @xa: the array.
 * @index: any index.
 * @entry: the new entry; must not be NULL (pinmm has no reserved entries).
 * @gfp: unused.
 *
 * Context: takes xa_lock; does not sleep.
 * Return: 0 if stored, -EBUSY if @index was occupied, -ENOMEM if a node
 * could not be allocated, -EINVAL if @entry is NULL or internal.
 */
int xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * __xa_insert() - xa_insert() with xa_lock already held.
 * @xa: the array.
 * @index: any index.
 * @entry: the new entry, not NULL.
 * @gfp: unused.
 *
 * Context: xa_lock held; does not sleep.
 * Return: as xa_insert().
 */
int __xa_insert(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);

/**
 * xa_cmpxchg() - replace the entry at @index if it is @old.
 * @xa: the array.
 * @index: any index.
 * @old: the entry expected (NULL: expect no entry).
 * @entry: the replacement (NULL: erase).
 * @gfp: unused.
 *
 * The comparison and the store happen in one xa_lock critical section.
 * Context: takes xa_lock; does not sleep.
 * Return: the entry found at @index (equal to @old on success), or an error
 * entry (-ENOMEM, -EINVAL) if the store was attempted and failed.
 */
void *xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry, gfp_t gfp);

/**
 * __xa_cmpxchg() - xa_cmpxchg() with xa_lock already held.
 * @xa: the array.
 * @index: any index.
 * @old: the entry expected.
 * @entry: the replacement.
 * @gfp: unused.
 *
 * Context: xa_lock held; does not sleep.
 * Return: as xa_cmpxchg().
 */
void *__xa_cmpxchg(struct xarray *xa, unsigned long index, void *old, void *entry, gfp_t gfp);

/**
 * xa_get_mark() - does the entry at @index carry @mark?
 * @xa: the array.
 * @index: any index.
 * @mark: XA_MARK_0..XA_MARK_2 (others WARN and return false).
 *
 * Context: any; lockless under RCU like xa_load(), so the answer is a
 * snapshot that a concurrent writer may already have changed; exact with
 * xa_lock held.
 * Return: true if an entry is present at @index and has @mark set.
 */
bool xa_get_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * xa_set_mark() - set @mark on the entry at @index.
 * @xa: the array.
 * @index: any index.
 * @mark: XA_MARK_0..XA_MARK_2 (others WARN and do nothing).
 *
 * A no-op if no entry is present at @index. The mark is also recorded in
 * every node above the entry and in the array (xa_marked()).
 * Context: takes xa_lock; does not sleep; never allocates.
 */
void xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * xa_clear_mark() - clear @mark on the entry at @index.
 * @xa: the array.
 * @index: any index.
 * @mark: XA_MARK_0..XA_MARK_2 (others WARN and do nothing).
 *
 * A no-op if no entry is present. Nodes above forget the mark once no entry
 * below them carries it.
 * Context: takes xa_lock; does not sleep.
 */
void xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * __xa_set_mark() - xa_set_mark() with xa_lock already held.
 * @xa: the array.
 * @index: any index.
 * @mark: the mark.
 *
 * Context: xa_lock held; does not sleep.
 */
void __xa_set_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * __xa_clear_mark() - xa_clear_mark() with xa_lock already held.
 * @xa: the array.
 * @index: any index.
 * @mark: the mark.
 *
 * Context: xa_lock held; does not sleep.
 */
void __xa_clear_mark(struct xarray *xa, unsigned long index, xa_mark_t mark);

/**
 * xa_find() - the first entry at or after *@indexp, up to @max, that
 * matches @filter.
 * @xa: the array.
 * @indexp: in: the first index to look at; out: the index of the entry found.
 * @max: the last index to look at (inclusive).
 * @filter: XA_PRESENT for any entry, or a mark for entries carrying it.
 *
 * Skips subtrees with no entry (XA_PRESENT) or without the mark, so each
 * call costs O(tree height), not O(indices scanned).
 * Context: any; takes rcu_read_lock() itself, no lock; also valid with
 * xa_lock held. Locklessly, an entry present for the whole call is found,
 * one stored or erased meanwhile may or may not be, and a mark is matched
 * against a snapshot of it.
 * Return: the entry, with *@indexp set to its index; or NULL if none, with
 * *@indexp left unchanged (also when *@indexp > @max).
 */
void *xa_find(struct xarray *xa, unsigned long *indexp, unsigned long max, xa_mark_t filter);

/**
 * xa_find_after() - xa_find() strictly after *@indexp.
 * @xa: the array.
 * @indexp: in: the index last returned; out: the index of the entry found.
 * @max: the last index to look at (inclusive).
 * @filter: XA_PRESENT or a mark.
 *
 * Context: as xa_find().
 * Return: the first matching entry in (*@indexp, @max] with *@indexp set to
 * its index, or NULL with *@indexp unchanged (always NULL when *@indexp is
 * ULONG_MAX).
 */
void *xa_find_after(struct xarray *xa, unsigned long *indexp, unsigned long max,
		    xa_mark_t filter);

/**
 * xa_extract() - copy the entries of [@start, @max] into an array.
 * @xa: the array.
 * @dst: where to put them, room for @n.
 * @start: the first index to look at.
 * @max: the last (inclusive).
 * @n: at most this many.
 * @filter: XA_PRESENT or a mark.
 *
 * The entries go to @dst in index order, without their indices (a folio
 * knows its own). One descent per 64 indices, not one per entry.
 * Context: as xa_find(); the entries are a lockless snapshot, as xa_find()'s:
 * a caller that needs one to still be there must check it under its own lock.
 * Return: how many were copied.
 */
unsigned int xa_extract(struct xarray *xa, void **dst, unsigned long start, unsigned long max,
			unsigned int n, xa_mark_t filter);

/* Where an entry sits: a slot of a node, or the array's head. */
typedef _Atomic(void *) xa_slot_t;

/**
 * xa_extract_slots() - xa_extract() that also says where each entry was.
 * @slots: room for @n; slots[i] is where dst[i] was found.
 *
 * For a caller that must look again at an entry before trusting it, as
 * Linux does with xas_reload() on its cursor (pinmm has no xa_state):
 * xa_slot_reload(slots[i]) is what that slot holds now, without a descent.
 * A slot that was erased, replaced, or left behind by a shrink or a grow of
 * the tree no longer holds the entry, so a reload that still returns it
 * means the entry is still in the array.
 * Context: inside rcu_read_lock(), which must last as long as @slots are
 * used (WARN and 0 outside one).
 * Return: how many were copied.
 */
unsigned int xa_extract_slots(struct xarray *xa, void **dst, xa_slot_t **slots,
			      unsigned long start, unsigned long max, unsigned int n,
			      xa_mark_t filter);

/* The entry @slot (from xa_extract_slots(), same RCU section) holds now. */
static inline void *xa_slot_reload(xa_slot_t *slot)
{
	return rcu_dereference(*slot);
}

/*
 * xa_for_each_range() - loop over the present entries with an index in
 * [@start, @last], in index order: @index and @entry are set for each. The
 * body may modify the array (each step is a fresh lockless xa_find_after()
 * from @index); entries it adds after @index may or may not be visited.
 * @entry is NULL after the loop ends normally.
 */
#define xa_for_each_range(xa, index, entry, start, last)			\
	for ((index) = (start),							\
	     (entry) = xa_find((xa), &(index), (last), XA_PRESENT);		\
	     (entry) != NULL;							\
	     (entry) = xa_find_after((xa), &(index), (last), XA_PRESENT))

/* xa_for_each_start() - present entries from @start to ULONG_MAX. */
#define xa_for_each_start(xa, index, entry, start)				\
	xa_for_each_range(xa, index, entry, start, ULONG_MAX)

/* xa_for_each() - every present entry, in index order. */
#define xa_for_each(xa, index, entry)						\
	xa_for_each_start(xa, index, entry, 0)

/* xa_for_each_marked() - every entry carrying mark @filter (or XA_PRESENT). */
#define xa_for_each_marked(xa, index, entry, filter)				\
	for ((index) = 0,							\
	     (entry) = xa_find((xa), &(index), ULONG_MAX, (filter));		\
	     (entry) != NULL;							\
	     (entry) = xa_find_after((xa), &(index), ULONG_MAX, (filter)))

/* ---- pinmm extras, for tests ---------------------------------------------- */

/**
 * xa_nr_nodes() - how many nodes @xa's tree has now.
 * @xa: the array.
 *
 * Counts the nodes reachable from the head (unlinked nodes waiting for their
 * RCU grace period are not counted): 0 for an empty array or one holding a
 * single entry at index 0.
 * Context: any; takes rcu_read_lock(). Exact only when no writer runs
 * concurrently (or with xa_lock held). O(number of nodes).
 * Return: the number of nodes.
 */
unsigned long xa_nr_nodes(const struct xarray *xa);

/**
 * xa_check() - verify @xa's internal invariants.
 * @xa: the array.
 *
 * Checks that node heights decrease by one level per step, that every
 * node's entry count matches its slots, that no node is empty, that the top
 * node uses more than its slot 0, that every node's mark bitmaps are exactly
 * the OR of what lies below, and that the array's mark summary bits agree.
 * Context: takes xa_lock; does not sleep. O(number of nodes).
 * Return: true if the tree is consistent (a diagnostic line is printed to
 * stderr for the first violation found otherwise).
 */
bool xa_check(struct xarray *xa);

/**
 * xa_fail_nth_alloc() - make the @nth next node allocation fail.
 * @nth: 1 for the very next allocation (of any xarray); 0 disables.
 *
 * Fault injection for the -ENOMEM paths, like pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC) for
 * the page allocator. One-shot: it disarms itself after the failure.
 * Context: any.
 */
void xa_fail_nth_alloc(unsigned long nth);

#endif /* PINMM_XARRAY_H */
