/* SPDX-License-Identifier: MIT */
/*
 * What a frame is doing, in one word: the classification behind `pinmm map`.
 *
 * Linux has no such call; its nearest are /proc/kpageflags and page_owner,
 * which give the raw flags. pinmm folds them into the states a reader of a
 * memory picture asks about: is it free, can it move, who pins it.
 */
#ifndef PINMM_FRAME_STATE_H
#define PINMM_FRAME_STATE_H

#include <pinmm/types.h>

/*
 * One state per frame. The first that applies wins, in this order:
 *   ZONE_DEVICE frames are DEVICE unless pinned (then a pin state);
 *   free (in a buddy block): FREE, or ISOLATED in a MIGRATE_ISOLATE pageblock;
 *   a page-table page: PAGETABLE;
 *   a folio folio_maybe_dma_pinned() reports (not the zero page): PINNED_LONG
 *     if a long-term pin holds it (folio_pinned_longterm()), else PINNED_SHORT;
 *   in a MIGRATE_ISOLATE pageblock, or a user folio (anon or file) taken off
 *     the LRU for migration: ISOLATED;
 *   on the LRU (PG_lru): MOVABLE;
 *   anything else allocated (kernel memory, the zero page, cma_alloc()ed
 *     buffers, raw alloc_pages()): UNMOVABLE.
 * Every frame of a folio has the folio's state (a THP pinned through one of
 * its pages shows all 512 frames pinned: none of them can move).
 */
enum pinmm_frame_state {
	PINMM_FRAME_FREE,
	PINMM_FRAME_MOVABLE,
	PINMM_FRAME_UNMOVABLE,
	PINMM_FRAME_PAGETABLE,
	PINMM_FRAME_PINNED_SHORT,
	PINMM_FRAME_PINNED_LONG,
	PINMM_FRAME_ISOLATED,
	PINMM_FRAME_DEVICE,
	PINMM_NR_FRAME_STATES
};

/* Short names ("free", "pinned-long", ...), usable as identifiers. */
extern const char *const pinmm_frame_state_names[PINMM_NR_FRAME_STATES];

/**
 * pinmm_frame_states - classify the frames [@start_pfn, @start_pfn + @nr).
 * @start_pfn: first frame; any pfn with a struct page.
 * @nr: how many; the range may cross pageblocks and zones.
 * @states: out: one enum pinmm_frame_state per frame.
 *
 * Each pageblock is read under its zone's lock, so a free block is seen
 * whole; allocated folios are read without their locks, so a frame being
 * pinned, freed or migrated meanwhile may show its state from either side.
 * At quiescence the counts equal the counters (docs/map.md says which).
 * Context: may not be called with a zone lock held.
 * Return: 0; -EINVAL if the machine is down or the range passes the last pfn.
 */
int pinmm_frame_states(unsigned long start_pfn, unsigned long nr, uint8_t *states);

/**
 * pinmm_frame_state - the state of one frame (see pinmm_frame_states()).
 * Return: an enum pinmm_frame_state, or -EINVAL for a pfn without a struct
 * page (or no machine).
 */
int pinmm_frame_state(unsigned long pfn);

#endif /* PINMM_FRAME_STATE_H */
