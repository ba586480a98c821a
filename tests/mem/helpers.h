/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the tests of tests/mem (which may reach src/mem internals):
 * what a test holds, an independent frame map (every frame in exactly one
 * place), and buddyinfo/pagetypeinfo-style counts read from the free lists.
 * Call these only while no other thread uses the machine.
 */
#ifndef PINMM_TESTS_MEM_HELPERS_H
#define PINMM_TESTS_MEM_HELPERS_H

#include "../lib/machine.h"

#include "mem/internal.h"

#include <pinmm/mm.h>
#include <pinmm/sched.h>
#include <stdlib.h>
#include <string.h>

#define MB_PAGES(mb)	((unsigned long)(mb) << (20 - PAGE_SHIFT))

/*
 * Boot a machine whose buddy allocator is tested by itself: every zone's
 * per-CPU lists disabled (zone_pcp_disable(), as offline_pages() does), so
 * each free reaches the free lists and NR_FREE_PAGES at once and each
 * allocation takes exactly its block. tests/mem/pcp.c tests the lists.
 */
static inline void test_boot_buddy(unsigned long mem_mb, unsigned long movable_mb,
				   unsigned long cma_mb)
{
	test_boot(mem_mb, movable_mb, cma_mb);
	for (int z = 0; z < MAX_NR_ZONES; z++)
		zone_pcp_disable(&pinmm_zones[z]);
}

/* One allocation a test holds. */
struct held {
	struct page *page;
	unsigned int order;
	bool folio;		/* from folio_alloc(): free with folio_put() */
	uint64_t tag;		/* written into every frame, checked before freeing */
};

static inline void held_fill(struct held *h)
{
	unsigned long nr = 1UL << h->order;

	for (unsigned long i = 0; i < nr; i++) {
		uint64_t *w = (uint64_t *)((char *)page_address(h->page) + i * PAGE_SIZE);

		w[0] = h->tag + i;
		w[PAGE_SIZE / sizeof(uint64_t) - 1] = ~(h->tag + i);
	}
}

/* True if every frame still carries this allocation's pattern. */
static inline bool held_intact(const struct held *h)
{
	unsigned long nr = 1UL << h->order;

	for (unsigned long i = 0; i < nr; i++) {
		uint64_t *w = (uint64_t *)((char *)page_address(h->page) + i * PAGE_SIZE);

		if (w[0] != h->tag + i || w[PAGE_SIZE / sizeof(uint64_t) - 1] != ~(h->tag + i))
			return false;
	}
	return true;
}

static inline void held_free(struct held *h)
{
	if (h->folio)
		folio_put(page_folio(h->page));
	else
		__free_pages(h->page, h->order);
	h->page = NULL;
}

/* Check and free every allocation still held in @slots; return how many were torn. */
static inline unsigned long held_release_all(struct held *slots, int n)
{
	unsigned long torn = 0;

	for (int i = 0; i < n; i++) {
		if (!slots[i].page)
			continue;
		torn += !held_intact(&slots[i]);
		held_free(&slots[i]);
	}
	return torn;
}

/* Free pages of @mt counted by the free-list counters of @zone. */
static inline unsigned long zone_free_of_type(struct zone *zone, int mt)
{
	unsigned long nr = 0;

	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		nr += zone->free_area[o].nr_free_type[mt] << o;
	return nr;
}

/* Free pages of @zone, recounted by walking every free list. */
static inline unsigned long zone_free_recount(struct zone *zone, int only_mt)
{
	unsigned long nr = 0;

	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			struct page *page;

			if (only_mt >= 0 && mt != only_mt)
				continue;
			list_for_each_entry(page, &zone->free_area[o].free_list[mt], lru)
				nr += 1UL << o;
		}
	return nr;
}

static inline unsigned long count_pageblocks(struct zone *zone, int mt)
{
	unsigned long n = 0;

	for (unsigned long pfn = zone->zone_start_pfn; pfn < zone_end_pfn(zone);
	     pfn += pageblock_nr_pages)
		if (get_pfnblock_migratetype(pfn) == mt)
			n++;
	return n;
}

static inline unsigned long zone_pageblocks(const struct zone *zone)
{
	return zone->spanned_pages / pageblock_nr_pages;
}

/*
 * The frame map: every frame of ZONE_NORMAL and ZONE_MOVABLE must be in
 * exactly one place: one free block, one allocation the test holds, or the
 * zero page. Returns the number of frames that are not (0 = all accounted).
 */
static inline unsigned long frame_map_errors(const struct held *held, size_t n)
{
	unsigned long nr_pfns = pinmm_max_pfn, errors = 0;
	unsigned char *map = calloc(nr_pfns, 1);
	struct zone *zone;

	if (!map)
		bail_out("frame_map_errors: out of memory");
	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
			for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
				struct page *page;

				list_for_each_entry(page, &zone->free_area[o].free_list[mt], lru)
					for (unsigned long i = 0; i < (1UL << o); i++)
						map[page_to_pfn(page) + i]++;
			}
	}
	for (size_t k = 0; k < n; k++) {
		if (!held[k].page)
			continue;
		for (unsigned long i = 0; i < (1UL << held[k].order); i++)
			map[page_to_pfn(held[k].page) + i]++;
	}
	map[pinmm_zero_pfn]++;
	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		for (unsigned long pfn = zone->zone_start_pfn; pfn < zone_end_pfn(zone); pfn++)
			if (map[pfn] != 1) {
				if (errors++ < 8)
					diag("pfn %#lx is in %d places", pfn, map[pfn]);
			}
	}
	free(map);
	return errors;
}

/* Every populated zone passes pinmm_check_zone(). */
static inline bool all_zones_ok(void)
{
	struct zone *zone;
	int errors = 0;

	for_each_populated_zone(zone)
		errors += pinmm_check_zone(zone, true);
	return errors == 0;
}

#endif /* PINMM_TESTS_MEM_HELPERS_H */
