// SPDX-License-Identifier: MIT
/*
 * Booting and shutting down the machine: argument checks (sizes are
 * pageblock multiples and fit), one machine at a time, the default machine's
 * layout, and the size parser behind --mem/--movable/--cma/--pmem
 * (Linux's memparse()).
 */
#include "helpers.h"

#include <errno.h>
#include <pinmm/gfp.h>
#include <pinmm/vmstat.h>

#define MiB	(1UL << 20)
#define PB	(pageblock_nr_pages * PAGE_SIZE)

static int boot_with(unsigned long mem, unsigned long movable, unsigned long cma,
		     unsigned long pmem)
{
	struct pinmm_config cfg = {
		.mem_bytes = mem, .movable_bytes = movable, .cma_bytes = cma, .pmem_bytes = pmem,
	};

	return pinmm_boot(&cfg);
}

static void test_bad_configs(void)
{
	static const struct {
		unsigned long mem, movable, cma, pmem;
		const char *why;
	} bad[] = {
		{ 63 * MiB, 0, 0, 0, "memory not a multiple of the 2 MiB pageblock" },
		{ 64 * MiB + PAGE_SIZE, 0, 0, 0, "memory one page past a pageblock" },
		{ 64 * MiB, 3 * MiB, 0, 0, "ZONE_MOVABLE not a pageblock multiple" },
		{ 64 * MiB, 0, 1 * MiB, 0, "CMA not a pageblock multiple" },
		{ 64 * MiB, 0, 0, 5 * MiB, "pmem not a pageblock multiple" },
		{ 64 * MiB, 66 * MiB, 0, 0, "ZONE_MOVABLE larger than memory" },
		{ 64 * MiB, 64 * MiB, 0, 0, "ZONE_MOVABLE leaves ZONE_NORMAL empty" },
		{ 64 * MiB, 58 * MiB, 0, 0, "ZONE_NORMAL under 8 MiB" },
		{ 64 * MiB, 0, 58 * MiB, 0, "CMA leaves under 8 MiB of ordinary ZONE_NORMAL" },
		{ 64 * MiB, 0, 66 * MiB, 0, "CMA larger than memory" },
		{ 64 * MiB, 32 * MiB, 26 * MiB, 0, "CMA too large for what ZONE_MOVABLE leaves" },
		{ 0, 0, 0, 0, "no memory at all" },
		{ 60UL << 30, 0, 0, 6UL << 30, "more than 64 GiB in all" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = boot_with(bad[i].mem, bad[i].movable, bad[i].cma, bad[i].pmem);

		is_int(err, -EINVAL, "pinmm_boot: -EINVAL for %s", bad[i].why);
		if (!err)
			pinmm_shutdown();
	}
	ok(!pinmm_is_booted(), "pinmm_boot: a refused configuration leaves no machine behind");
	is_int(boot_with(64 * MiB, 0, 56 * MiB, 0), 0,
	       "pinmm_boot: CMA leaving exactly 8 MiB of ordinary ZONE_NORMAL is accepted");
	test_shutdown_ok("smallest ordinary ZONE_NORMAL");
	is_int(boot_with(16 * MiB, 8 * MiB, 0, 2 * MiB), 0,
	       "pinmm_boot: a 16 MiB machine with 8 MiB ZONE_MOVABLE and 2 MiB pmem boots");
	test_shutdown_ok("small machine with pmem");
}

static void test_double_boot(void)
{
	struct page *page;

	test_boot(64, 16, 16);
	page = alloc_page(GFP_KERNEL);
	is_int(boot_with(64 * MiB, 0, 0, 0), -EBUSY, "pinmm_boot: -EBUSY while a machine is up "
	       "(one machine per process)");
	is_int(pinmm_boot(NULL), -EBUSY, "pinmm_boot(NULL): -EBUSY while a machine is up");
	ok(pinmm_is_booted() && pinmm_frames_in_use() == 2 && all_zones_ok(),
	   "pinmm_boot: the refused second boot leaves the running machine alone");
	ok(page && page_zone(page) == &pinmm_zones[ZONE_NORMAL] &&
	   pinmm_zones[ZONE_MOVABLE].present_pages == MB_PAGES(16),
	   "pinmm_boot: the running machine keeps its own layout");
	if (page)
		__free_pages(page, 0);
	test_shutdown_ok("double boot");
	is_int(pinmm_shutdown(), -EINVAL, "pinmm_shutdown: -EINVAL with no machine up");
	ok(!pinmm_is_booted(), "pinmm_is_booted: false after shutdown");
}

static void test_default_machine(void)
{
	struct zone *normal = &pinmm_zones[ZONE_NORMAL], *movable = &pinmm_zones[ZONE_MOVABLE];
	struct zone *device = &pinmm_zones[ZONE_DEVICE];
	struct pinmm_config cfg;
	unsigned long normal_pages;

	pinmm_config_default(&cfg);
	ok(cfg.mem_bytes == PINMM_DEFAULT_MEM && cfg.movable_bytes == PINMM_DEFAULT_MOVABLE &&
	   cfg.cma_bytes == PINMM_DEFAULT_CMA && cfg.pmem_bytes == PINMM_DEFAULT_PMEM &&
	   cfg.devmem_bytes == PINMM_DEFAULT_DEVMEM,
	   "pinmm_config_default: 1 GiB, 256 MiB movable, 128 MiB CMA, 64 MiB pmem, "
	   "16 MiB device memory");
	if (pinmm_boot(NULL))
		bail_out("pinmm_boot(NULL) failed");
	normal_pages = (PINMM_DEFAULT_MEM - PINMM_DEFAULT_MOVABLE) >> PAGE_SHIFT;
	ok(normal->zone_start_pfn == 0 && normal->spanned_pages == normal_pages,
	   "default machine: ZONE_NORMAL first, 768 MiB");
	ok(movable->zone_start_pfn == normal_pages &&
	   movable->spanned_pages == PINMM_DEFAULT_MOVABLE >> PAGE_SHIFT,
	   "default machine: ZONE_MOVABLE right after it, 256 MiB");
	ok(device->zone_start_pfn == zone_end_pfn(movable) &&
	   device->spanned_pages == (PINMM_DEFAULT_PMEM + PINMM_DEFAULT_DEVMEM) >> PAGE_SHIFT,
	   "default machine: ZONE_DEVICE last: 64 MiB of pmem, then 16 MiB of device-memory window");
	ok(pinmm_devmem_pfn == device->zone_start_pfn + (PINMM_DEFAULT_PMEM >> PAGE_SHIFT) &&
	   pinmm_devmem_pages == PINMM_DEFAULT_DEVMEM >> PAGE_SHIFT,
	   "default machine: the device-memory window (memremap_pages) follows the pmem");
	is_uint(pinmm_max_pfn, zone_end_pfn(device), "default machine: the struct page array "
		"covers every zone (pfn_valid)");
	is_uint(normal->cma_pages, PINMM_DEFAULT_CMA >> PAGE_SHIFT,
		"default machine: the CMA area is in ZONE_NORMAL");
	is_uint(count_pageblocks(normal, MIGRATE_CMA), PINMM_DEFAULT_CMA / PB,
		"default machine: the CMA area is MIGRATE_CMA pageblocks");
	ok(get_pfnblock_migratetype(zone_end_pfn(normal) - 1) == MIGRATE_CMA,
	   "default machine: the CMA area is the end of ZONE_NORMAL");
	is_int(zone_page_state_snapshot(device, NR_FREE_PAGES), 0, "default machine: pmem frames are not "
	       "on the buddy allocator");
	is_int(atomic_load(&device->managed_pages), 0, "default machine: ZONE_DEVICE manages no "
	       "pages");
	/* free pages on the CPUs' lists are not in NR_FREE_PAGES until drained (Linux) */
	drain_all_pages(NULL);
	is_int(global_zone_page_state_snapshot(NR_FREE_PAGES),
	       (long)(PINMM_DEFAULT_MEM >> PAGE_SHIFT) - 1,
	       "default machine: all RAM but the zero page is free (after drain_all_pages())");
	test_shutdown_ok("default machine");
}

static void test_reboot_many(void)
{
	bool all = true;

	for (int i = 0; i < 20; i++) {
		struct page *page;

		test_boot(16 + 2 * (i % 4), 2 * (i % 3), 2 * (i % 2));
		page = alloc_pages(GFP_HIGHUSER_MOVABLE, i % 10);
		all &= page != NULL;
		if (page)
			__free_pages(page, i % 10);
		all &= pinmm_shutdown() == 0;
	}
	ok(all, "pinmm_boot/pinmm_shutdown: twenty machines of different shapes in a row, each "
	   "clean");
	test_boot(16, 0, 0);
	test_shutdown_ok("after many reboots");
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		unsigned long v;
	} good[] = {
		{ "1G", 1UL << 30 }, { "1g", 1UL << 30 }, { "256M", 256UL << 20 },
		{ "64k", 64UL << 10 }, { "64K", 64UL << 10 }, { "4096", 4096 },
		{ "1GiB", 1UL << 30 }, { "2MB", 2UL << 20 }, { "0x200000", 2UL << 20 },
		{ "0", 0 }, { "16G", 16UL << 30 },
	};
	static const char *const bad[] = {
		"", "G", "abc", "12X", "1Gx", "1.5G", "1 G", "-1", "-2M",
		"99999999999999999999", "17179869184G",
	};
	unsigned long v;

	test_boot(16, 0, 0);	/* every case runs on a machine and ends with the teardown check */
	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++) {
		v = 12345;
		ok(pinmm_parse_size(good[i].s, &v) == 0 && v == good[i].v,
		   "pinmm_parse_size(\"%s\") = %lu (memparse)", good[i].s, good[i].v);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		ok(pinmm_parse_size(bad[i], &v) == -EINVAL && v == 12345,
		   "pinmm_parse_size(\"%s\") = -EINVAL and leaves the result alone", bad[i]);
	}
	is_int(pinmm_parse_size(NULL, &v), -EINVAL, "pinmm_parse_size(NULL) = -EINVAL");
	test_shutdown_ok("pinmm_parse_size");
}

int main(void)
{
	test_bad_configs();
	test_double_boot();
	test_default_machine();
	test_reboot_many();
	test_parse_size();
	return done_testing();
}
