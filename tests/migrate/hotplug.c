// SPDX-License-Identifier: MIT
/*
 * Memory offlining (Linux mm/memory_hotplug.c offline_pages): ZONE_MOVABLE
 * can be emptied because everything in it can move — until something in it
 * is held (pinned): then offlining fails with -EBUSY and the range is left
 * as it was.
 */
#include "helpers.h"

#define NPAGES	512

static bool range_free_of_users(struct mm_struct *mm, unsigned long start, unsigned long nr,
				unsigned long npages)
{
	for (unsigned long i = 0; i < npages; i++) {
		unsigned long p = test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE);

		if (p == -1UL || (p >= start && p < start + nr))
			return false;
	}
	return true;
}

static void test_offline_online(void)
{
	struct zone *zone = &pinmm_zones[ZONE_MOVABLE];
	struct task_struct *t;
	unsigned long start, nr = 4 * pageblock_nr_pages;
	long managed0, succ0;
	struct page *page;
	bool none_inside = true;
	int ret;

	mg_boot();
	t = test_process("offline");
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 31);
	start = zone->zone_start_pfn;
	ok(test_pt_pfn(t->mm, MG_BASE) >= start && test_pt_pfn(t->mm, MG_BASE) < start + nr,
	   "offline: the user pages sit in the range to offline");
	managed0 = atomic_load(&zone->managed_pages);
	succ0 = ev(PGMIGRATE_SUCCESS);
	ret = offline_pages(start, nr);
	is_int(ret, 0, "offline: a ZONE_MOVABLE range holding mapped anon pages goes offline");
	ok(range_free_of_users(t->mm, start, nr, NPAGES),
	   "offline: every user page was migrated out of the range");
	is_uint(mg_check(MG_BASE, NPAGES, 31), 0, "offline: the data is intact elsewhere");
	ok(ev(PGMIGRATE_SUCCESS) - succ0 >= NPAGES, "offline: pgmigrate_success counts the moves");
	is_int(atomic_load(&zone->managed_pages), managed0 - (long)nr,
	       "offline: the range no longer counts as managed memory");
	/* nothing can be allocated there now */
	for (int i = 0; i < 64; i++) {
		page = alloc_page(GFP_HIGHUSER_MOVABLE);
		if (page_to_pfn(page) >= start && page_to_pfn(page) < start + nr)
			none_inside = false;
		__free_pages(page, 0);
	}
	ok(none_inside, "offline: the allocator never hands out offline frames");
	is_int(offline_pages(start, nr), -EBUSY,
	       "offline: offlining an offline range again is -EBUSY (it is isolated)");
	online_pages(start, nr);
	is_int(atomic_load(&zone->managed_pages), managed0, "online: managed memory is back");
	is_int(get_pfnblock_migratetype(start), MIGRATE_MOVABLE,
	       "online: the pageblocks are MIGRATE_MOVABLE again");
	is_int(pinmm_check_zone(zone, true), 0, "online: free lists consistent");
	is_int(offline_pages(start + 1, nr), -EINVAL,
	       "offline: a range that is not whole pageblocks is -EINVAL");
	is_int(offline_pages(0, nr), -EINVAL, "offline: a range outside ZONE_MOVABLE is -EINVAL");
	mg_teardown("offline/online", &t, 1);
}

static void test_offline_busy(void)
{
	struct zone *zone = &pinmm_zones[ZONE_MOVABLE];
	struct task_struct *t;
	unsigned long start, nr = 4 * pageblock_nr_pages, pfn;
	struct folio *folio;
	char *err, want[64];
	long managed0;
	int ret;

	mg_boot();
	t = test_process("offline-busy");
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 32);
	start = zone->zone_start_pfn;
	folio = mg_folio(t->mm, MG_BASE + 100 * PAGE_SIZE);
	pfn = folio_pfn(folio);
	folio_get(folio);	/* stands in for a pin */
	managed0 = atomic_load(&zone->managed_pages);
	capture_stderr_begin();
	ret = offline_pages(start, nr);
	err = capture_stderr_end();
	is_int(ret, -EBUSY, "offline: a held page in the range makes offlining fail with -EBUSY");
	snprintf(want, sizeof(want), "pfn %#lx", pfn);
	ok(strstr(err, want) != NULL, "offline: the report names the held page (%s)", want);
	free(err);
	is_int(atomic_load(&zone->managed_pages), managed0,
	       "offline: on failure nothing is taken away");
	is_int(get_pfnblock_migratetype(start), MIGRATE_MOVABLE,
	       "offline: on failure the pageblocks are restored");
	is_uint(test_pt_pfn(t->mm, MG_BASE + 100 * PAGE_SIZE), pfn, "offline: the held page stayed");
	is_uint(mg_check(MG_BASE, NPAGES, 32), 0, "offline: all data intact");
	folio_put(folio);
	is_int(offline_pages(start, nr), 0, "offline: without the reference the range goes offline");
	online_pages(start, nr);
	mg_teardown("offline busy", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_offline_online();
	test_offline_busy();
	return done_testing();
}
