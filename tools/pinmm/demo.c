// SPDX-License-Identifier: MIT
/*
 * pinmm demo: the story of the machine, told by running it.
 * Chapter 1 (physical memory): boot, allocate a mix of orders and
 * migratetypes, show where they came from, free them, show they coalesced.
 */
#include "pinmm.h"

#include <pinmm/mm.h>
#include <pinmm/vmstat.h>
#include <stdio.h>
#include <string.h>

#define say(o, ...) do { if (!(o)->quiet) printf(__VA_ARGS__); } while (0)

static const char *block_type(struct page *page)
{
	return migratetype_names[get_pfnblock_migratetype(page_to_pfn(page))];
}

static int chapter_physical_memory(struct tool_opts *o)
{
	static const struct {
		const char *what;
		gfp_t gfp;
		unsigned int order;
		int count;
	} mix[] = {
		{ "page-table pages (GFP_KERNEL, order 0)", GFP_KERNEL, 0, 64 },
		{ "user pages (GFP_HIGHUSER_MOVABLE, order 0)", GFP_HIGHUSER_MOVABLE, 0, 256 },
		{ "THPs (GFP_TRANSHUGE, order 9)", GFP_TRANSHUGE | __GFP_COMP, 9, 8 },
		{ "kernel buffers (GFP_KERNEL, order 3)", GFP_KERNEL, 3, 32 },
		{ "movable, not highmem: ZONE_NORMAL or CMA (order 2)", __GFP_MOVABLE, 2, 64 },
	};
	struct page *pages[ARRAY_SIZE(mix)][256];

	say(o, "== 1. Physical memory\n\n");
	say(o, "Booted: %lu MiB of memory (%lu MiB ZONE_MOVABLE, %lu MiB CMA inside ZONE_NORMAL),\n"
	       "plus %lu MiB of pmem as ZONE_DEVICE. One struct page (%zu bytes) per 4 KiB frame.\n\n",
	    o->cfg.mem_bytes >> 20, o->cfg.movable_bytes >> 20, o->cfg.cma_bytes >> 20,
	    o->cfg.pmem_bytes >> 20, sizeof(struct page));
	say(o, "Allocating a mix:\n");
	for (unsigned int i = 0; i < ARRAY_SIZE(mix); i++) {
		int in_cma = 0, in_movable = 0;

		for (int n = 0; n < mix[i].count; n++) {
			struct page *p = alloc_pages(mix[i].gfp, mix[i].order);

			pages[i][n] = p;
			if (!p) {
				printf("pinmm demo: allocation failed\n");
				return 1;
			}
			in_cma += is_migrate_cma(get_pfnblock_migratetype(page_to_pfn(p)));
			in_movable += page_zonenum(p) == ZONE_MOVABLE;
		}
		say(o, "  %3d x %-52s zone %-7s pageblock %-9s (%d in CMA, %d in ZONE_MOVABLE)\n",
		    mix[i].count, mix[i].what, page_zone(pages[i][0])->name,
		    block_type(pages[i][0]), in_cma, in_movable);
	}
	say(o, "\nFrames in use: %lu. Free blocks per order (/proc/buddyinfo):\n",
	    pinmm_frames_in_use());
	if (!o->quiet)
		pinmm_print_buddyinfo(stdout);
	for (unsigned int i = 0; i < ARRAY_SIZE(mix); i++)
		for (int n = 0; n < mix[i].count; n++) {
			if (mix[i].gfp & __GFP_COMP)
				folio_put(page_folio(pages[i][n]));
			else
				__free_pages(pages[i][n], mix[i].order);
		}
	say(o, "\nAll freed: frames in use %lu; the buddies coalesced back into 2 MiB blocks:\n",
	    pinmm_frames_in_use());
	if (!o->quiet) {
		pinmm_print_buddyinfo(stdout);
		printf("\n");
		pinmm_print_pagetypeinfo(stdout);
	}
	return 0;
}

static void print_counters(struct tool_opts *o)
{
	static const char *const names[] = {
		"nr_free_pages", "nr_free_cma", "pgalloc_normal", "pgalloc_movable", "pgfree",
		"nr_foll_pin_acquired", "nr_foll_pin_released",
	};

	say(o, "\nCounters (/proc/vmstat names):\n");
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		long v = 0;

		pinmm_vmstat_get(names[i], &v);
		printf("  %-22s %ld\n", names[i], v);
	}
}

int cmd_demo(struct tool_opts *o, int argc, char **argv)
{
	int err, ret = 0;

	(void)argc;
	(void)argv;
	err = pinmm_boot(&o->cfg);
	if (err) {
		fprintf(stderr, "pinmm: boot failed: %s\n", strerror(-err));
		return 1;
	}
	ret |= chapter_physical_memory(o);
	print_counters(o);
	err = pinmm_shutdown();
	say(o, "\nShutdown: %s\n", err ? "LEAKS (see above)" : "every frame is back on a free list");
	return ret || err ? 1 : 0;
}
