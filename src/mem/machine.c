// SPDX-License-Identifier: MIT
/*
 * Boot and shutdown of the machine: the frame arena, the struct page array,
 * the zones and their pageblocks, the shared zero page, and the leak check.
 * (Linux spreads this over mm_init.c and memblock; here it is one step.)
 */
#include "internal.h"

#include <pinmm/swap.h>

#include <errno.h>
#include <limits.h>
#include <pinmm/cred.h>
#include <pinmm/huge_mm.h>
#include <pinmm/hugetlb.h>
#include <pinmm/ksm.h>
#include <pinmm/memory.h>
#include <pinmm/memremap.h>
#include <pinmm/rcupdate.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef PINMM_ASAN
#include <sanitizer/asan_interface.h>
#endif

struct pinmm_machine pinmm_machine;
struct page *pinmm_mem_map;
_Atomic uint8_t *pinmm_pin_longterm;
_Atomic uint8_t *pinmm_pageblock_mt;
char *pinmm_arena;
unsigned long pinmm_max_pfn;
struct page *pinmm_zero_page;
unsigned long pinmm_zero_pfn = ~0UL;
unsigned long pinmm_mmio_pfn;
unsigned long pinmm_mmio_pages;
unsigned long pinmm_devmem_pfn;
unsigned long pinmm_devmem_pages;

/* A device BAR's worth of frames past the last struct page (for VM_PFNMAP). */
#define MMIO_BYTES	(2UL << 20)

static const char *const zone_names[MAX_NR_ZONES] = {
	[ZONE_NORMAL] = "Normal",
	[ZONE_MOVABLE] = "Movable",
	[ZONE_DEVICE] = "Device",
};

/* the smallest ZONE_NORMAL that can hold page tables and kernel data */
#define MIN_NORMAL_NON_CMA	(8UL << 20)

void pinmm_config_default(struct pinmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = PINMM_DEFAULT_MEM;
	cfg->movable_bytes = PINMM_DEFAULT_MOVABLE;
	cfg->cma_bytes = PINMM_DEFAULT_CMA;
	cfg->pmem_bytes = PINMM_DEFAULT_PMEM;
	cfg->devmem_bytes = PINMM_DEFAULT_DEVMEM;
}

int pinmm_parse_size(const char *s, unsigned long *bytes)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || !*s)
		return -EINVAL;
	/* strtoull() would take "-1" as ULLONG_MAX: a size is never negative */
	if (s[strspn(s, " \t")] == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'T': case 't': shift += 10; /* fall through */
	case 'G': case 'g': shift += 10; /* fall through */
	case 'M': case 'm': shift += 10; /* fall through */
	case 'K': case 'k': shift += 10; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (v > (ULLONG_MAX >> shift))
		return -EINVAL;
	v <<= shift;
	if (*end && !(end[0] == 'i' && end[1] == 'B' && !end[2]) &&
	    !((end[0] == 'B') && !end[1]))
		return -EINVAL;
	*bytes = v;
	return 0;
}

bool pinmm_is_booted(void)
{
	return pinmm_machine.booted;
}

/* The largest machine: RAM and pmem together. */
#define MAX_MACHINE_BYTES	(64UL << 30)

const char *pinmm_config_error(const struct pinmm_config *c)
{
	const unsigned long pb = pageblock_nr_pages * PAGE_SIZE;

	if (!IS_ALIGNED(c->mem_bytes, pb) || !IS_ALIGNED(c->movable_bytes, pb) ||
	    !IS_ALIGNED(c->cma_bytes, pb) || !IS_ALIGNED(c->pmem_bytes, pb) ||
	    !IS_ALIGNED(c->devmem_bytes, pb))
		return "every size must be a multiple of 2 MiB (one pageblock)";
	/* each size alone first: a sum of two huge ones would wrap and pass */
	if (c->mem_bytes > MAX_MACHINE_BYTES || c->pmem_bytes > MAX_MACHINE_BYTES ||
	    c->cma_bytes > MAX_MACHINE_BYTES || c->devmem_bytes > MAX_MACHINE_BYTES ||
	    c->mem_bytes + c->pmem_bytes + c->devmem_bytes > MAX_MACHINE_BYTES)
		return "memory, pmem and device memory together must not exceed 64 GiB";
	if (c->movable_bytes > c->mem_bytes)
		return "ZONE_MOVABLE must fit inside memory";
	if (c->mem_bytes - c->movable_bytes < c->cma_bytes + MIN_NORMAL_NON_CMA)
		return "ZONE_NORMAL (memory - movable) must hold the CMA area plus 8 MiB of "
		       "non-CMA memory";
	return NULL;
}

static int check_config(const struct pinmm_config *c)
{
	return pinmm_config_error(c) ? -EINVAL : 0;
}

static void init_zone(enum zone_type idx, unsigned long start, unsigned long nr)
{
	struct zone *zone = &pinmm_zones[idx];

	memset(zone, 0, sizeof(*zone));
	spin_lock_init(&zone->lock, LOCK_RANK_ZONE);
	zone->name = zone_names[idx];
	zone->idx = idx;
	zone->zone_start_pfn = start;
	zone->spanned_pages = nr;
	zone->present_pages = nr;
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		for (int mt = 0; mt < MIGRATE_TYPES; mt++)
			INIT_LIST_HEAD(&zone->free_area[o].free_list[mt]);
	for (unsigned long pfn = start; pfn < start + nr; pfn++) {
		struct page *page = pfn_to_page(pfn);

		atomic_store_explicit(&page->flags, (unsigned long)idx << ZONES_PGSHIFT,
				      memory_order_relaxed);
		atomic_store_explicit(&page->_mapcount, -1, memory_order_relaxed);
	}
}

/* Pageblock types at boot: MOVABLE everywhere (as Linux), CMA for the CMA area. */
static void init_pageblocks(unsigned long start, unsigned long nr, int mt)
{
	for (unsigned long pfn = start; pfn < start + nr; pfn += pageblock_nr_pages)
		atomic_store(&pinmm_machine.pageblock_mt[pfn >> pageblock_order], (uint8_t)mt);
}

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap_all(void)
{
	struct pinmm_machine *m = &pinmm_machine;

	if (pinmm_arena) {
#ifdef PINMM_ASAN
		/*
		 * Free frames are poisoned, and ASan keeps shadow state across
		 * munmap(): whatever the host maps here next (a thread stack, the
		 * next machine's memmap) would fault as use-after-poison.
		 */
		ASAN_UNPOISON_MEMORY_REGION(pinmm_arena, m->arena_bytes);
#endif
		munmap(pinmm_arena, m->arena_bytes);
	}
	if (pinmm_mem_map)
		munmap(pinmm_mem_map, m->mem_map_bytes);
	free((void *)m->pageblock_mt);
	free((void *)pinmm_pin_longterm);
	page_owner_exit();
	pin_owner_shutdown();
	pinmm_arena = NULL;
	pinmm_mem_map = NULL;
	m->pageblock_mt = NULL;
	pinmm_pageblock_mt = NULL;
	pinmm_pin_longterm = NULL;
	pinmm_max_pfn = 0;
	pinmm_mmio_pfn = 0;
	pinmm_mmio_pages = 0;
	pinmm_devmem_pfn = 0;
	pinmm_devmem_pages = 0;
}

static int setup_zero_page(void)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

	if (!page)
		return -ENOMEM;
	folio_set_reserved(page_folio(page));
	pinmm_zero_page = page;
	pinmm_zero_pfn = page_to_pfn(page);
	/* a write to the zero page is a bug: make it fault on the host */
	mprotect(page_address(page), PAGE_SIZE, PROT_READ);
	return 0;
}

static void teardown_zero_page(void)
{
	struct page *page = pinmm_zero_page;

	if (!page)
		return;
	mprotect(page_address(page), PAGE_SIZE, PROT_READ | PROT_WRITE);
	folio_clear_reserved(page_folio(page));
	pinmm_zero_page = NULL;
	pinmm_zero_pfn = ~0UL;
	__free_pages(page, 0);
}

int pinmm_boot(const struct pinmm_config *cfg)
{
	struct pinmm_machine *m = &pinmm_machine;
	struct pinmm_config def;
	unsigned long normal, movable, cma, pmem, devmem;
	int err;

	if (m->booted)
		return -EBUSY;
	if (!cfg) {
		pinmm_config_default(&def);
		cfg = &def;
	}
	err = check_config(cfg);
	if (err)
		return err;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	normal = (cfg->mem_bytes - cfg->movable_bytes) >> PAGE_SHIFT;
	movable = cfg->movable_bytes >> PAGE_SHIFT;
	cma = cfg->cma_bytes >> PAGE_SHIFT;
	pmem = cfg->pmem_bytes >> PAGE_SHIFT;
	devmem = cfg->devmem_bytes >> PAGE_SHIFT;
	m->nr_pfns = normal + movable + pmem + devmem;
	m->arena_bytes = (m->nr_pfns << PAGE_SHIFT) + MMIO_BYTES;
	m->mem_map_bytes = m->nr_pfns * sizeof(struct page);
	m->nr_pageblocks = m->nr_pfns >> pageblock_order;

	pinmm_arena = map_anon(m->arena_bytes);
	pinmm_mem_map = map_anon(m->mem_map_bytes);
	m->pageblock_mt = calloc(m->nr_pageblocks, 1);
	pinmm_pageblock_mt = m->pageblock_mt;
	pinmm_pin_longterm = calloc(m->nr_pfns, 1);
	if (!pinmm_arena || !pinmm_mem_map || !m->pageblock_mt || !pinmm_pin_longterm ||
	    page_owner_init(m->nr_pfns) ||
	    pin_owner_boot(m->nr_pfns)) {
		unmap_all();
		return -ENOMEM;
	}
	pinmm_max_pfn = m->nr_pfns;
	pinmm_mmio_pfn = m->nr_pfns;
	pinmm_mmio_pages = MMIO_BYTES >> PAGE_SHIFT;
	pinmm_devmem_pfn = normal + movable + pmem;
	pinmm_devmem_pages = devmem;
	vmstat_reset();
	pinmm_page_alloc_reset();
	pinmm_set_fault_around_bytes(FAULT_AROUND_BYTES_DEFAULT);
	ksm_init();	/* src/mm/ksm.c: empty trees, run=0, no ksmd yet */
	deferred_split_reset();	/* src/mm/huge_memory.c */

	init_zone(ZONE_NORMAL, 0, normal);
	init_zone(ZONE_MOVABLE, normal, movable);
	init_zone(ZONE_DEVICE, normal + movable, pmem + devmem);
	init_pageblocks(0, normal - cma, MIGRATE_MOVABLE);
	init_pageblocks(normal - cma, cma, MIGRATE_CMA);
	init_pageblocks(normal, movable, MIGRATE_MOVABLE);
	pinmm_zones[ZONE_NORMAL].cma_pages = cma;
	/* pmem frames belong to their device: typed, never handed to the buddy */
	init_pageblocks(normal + movable, pmem + devmem, MIGRATE_UNMOVABLE);

	m->booted = true;
	pinmm_free_area_init(&pinmm_zones[ZONE_NORMAL], 0, normal);
	if (movable)
		pinmm_free_area_init(&pinmm_zones[ZONE_MOVABLE], normal, movable);
	cma_init_reserved_areas();	/* src/migrate: an empty CMA bitmap per boot */
	hugetlb_boot(cfg->nr_hugepages);	/* src/mm/hugetlb.c: the pool */
	err = setup_zero_page();
	if (err) {
		m->booted = false;
		unmap_all();
		return err;
	}
	/* src/fs: a file directory that is missing or read-only fails the boot here */
	err = pinmm_fs_boot(cfg);
	if (err) {
		teardown_zero_page();
		rcu_barrier();
		m->booted = false;
		unmap_all();
		return err;
	}
	return 0;
}

unsigned long pinmm_frames_in_use(void)
{
	unsigned long used = 0;
	struct zone *zone;

	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		unsigned long free_pages;

		/*
		 * Then the per-CPU lists, which hold free pages too: a page
		 * drained in between is counted used, never free twice.
		 */
		spin_lock(&zone->lock);
		free_pages = zone_free_pages_locked(zone);
		spin_unlock(&zone->lock);
		free_pages += zone_pcp_pages(zone);
		used += (unsigned long)atomic_load(&zone->managed_pages) - free_pages;
	}
	return used;
}

#define MAX_LEAKS_REPORTED 16

/* Report frames that are not free; return how many there are. */
static unsigned long report_leaks(void)
{
	unsigned long leaked = 0, reported = 0;
	struct zone *zone;

	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		for (unsigned long pfn = zone->zone_start_pfn; pfn < zone_end_pfn(zone);) {
			struct page *page = pfn_to_page(pfn);
			unsigned long nr = 1;

			if (PageBuddy(page)) {
				pfn += 1UL << page->private;
				continue;
			}
			if (PageHead(page))
				nr = folio_nr_pages(page_folio(page));
			leaked += nr;
			if (reported++ < MAX_LEAKS_REPORTED) {
				fprintf(stderr, "pinmm: leaked %lu frame(s) at pfn %#lx:\n", nr, pfn);
				dump_page(page, NULL);
				pin_owner_dump_folio(stderr, page_folio(page));
			}
			pfn += nr;
		}
	}
	if (reported > MAX_LEAKS_REPORTED)
		fprintf(stderr, "pinmm: ... and %lu more leaked allocations\n",
			reported - MAX_LEAKS_REPORTED);
	return leaked;
}

int pinmm_shutdown(void)
{
	struct pinmm_machine *m = &pinmm_machine;
	long acquired, released;
	unsigned long leaked;
	struct zone *zone;
	int errors = 0;

	if (!m->booted)
		return -EINVAL;
	/* ksmd stops; its trees must be empty once every mm has exited */
	ksm_shutdown();
	/* swap areas go before the files (a swap file lives in the file directory) */
	if (pinmm_swap_shutdown())
		errors++;
	/* the page cache is written back and dropped; files still open leak */
	leaked = pinmm_fs_shutdown();
	if (leaked) {
		fprintf(stderr, "pinmm: shutdown with %lu file(s) still open or mapped\n", leaked);
		errors++;
	}
	/* page tables and other RCU-freed memory must be back first */
	rcu_barrier();
	teardown_zero_page();
	/* the hugetlb pool's free pages go home; pages still in use are leaks */
	hugetlb_shutdown();
	/* free pages on the CPUs' lists go home before the free lists are checked */
	drain_all_pages(NULL);

	/* exact sums: every CPU's unfolded diffs count */
	acquired = global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
	released = global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
	if (acquired != released) {
		fprintf(stderr, "pinmm: shutdown with %ld pin(s) outstanding "
			"(nr_foll_pin_acquired %ld, nr_foll_pin_released %ld)\n",
			acquired - released, acquired, released);
		pin_owner_report_leaks(stderr);
		errors++;
	} else if (pin_owner_check_released(stderr)) {
		errors++;
	}
	if (pinmm_users_leaked())
		errors++;
	/* device memory: every pgmap unregistered, every device page given back */
	if (memremap_pages_in_use(true))
		errors++;
	leaked = report_leaks();
	if (leaked) {
		fprintf(stderr, "pinmm: %lu frame(s) not returned to the allocator at shutdown\n",
			leaked);
		errors++;
	}
	for_each_populated_zone(zone)
		if (pinmm_check_zone(zone, true))
			errors++;

	m->booted = false;
	unmap_all();
	return errors ? -EBUSY : 0;
}
