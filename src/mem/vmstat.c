// SPDX-License-Identifier: MIT
/*
 * Counters and their /proc views. Names are Linux's, so a `pinmm vmstat` line
 * can be put beside the same line of the live kernel's /proc/vmstat.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <pinmm/hugetlb.h>
#include <pinmm/sched.h>
#include <pinmm/swap.h>

static atomic_long vm_zone_stat[NR_VM_ZONE_STAT_ITEMS];
static atomic_long vm_node_stat[NR_VM_NODE_STAT_ITEMS];
static atomic_ulong vm_events[NR_VM_EVENT_ITEMS];

static const char *const zone_stat_names[NR_VM_ZONE_STAT_ITEMS] = {
	[NR_FREE_PAGES] = "nr_free_pages",
	[NR_ZONE_INACTIVE_ANON] = "nr_zone_inactive_anon",
	[NR_ZONE_ACTIVE_ANON] = "nr_zone_active_anon",
	[NR_ZONE_INACTIVE_FILE] = "nr_zone_inactive_file",
	[NR_ZONE_ACTIVE_FILE] = "nr_zone_active_file",
	[NR_ZONE_UNEVICTABLE] = "nr_zone_unevictable",
	[NR_ZONE_WRITE_PENDING] = "nr_zone_write_pending",
	[NR_MLOCK] = "nr_mlock",
	[NR_FREE_CMA_PAGES] = "nr_free_cma",
};

static const char *const node_stat_names[NR_VM_NODE_STAT_ITEMS] = {
	[NR_INACTIVE_ANON] = "nr_inactive_anon",
	[NR_ACTIVE_ANON] = "nr_active_anon",
	[NR_INACTIVE_FILE] = "nr_inactive_file",
	[NR_ACTIVE_FILE] = "nr_active_file",
	[NR_UNEVICTABLE] = "nr_unevictable",
	[NR_ISOLATED_ANON] = "nr_isolated_anon",
	[NR_ISOLATED_FILE] = "nr_isolated_file",
	[NR_ANON_MAPPED] = "nr_anon_pages",
	[NR_FILE_MAPPED] = "nr_mapped",
	[NR_FILE_PAGES] = "nr_file_pages",
	[NR_FILE_DIRTY] = "nr_dirty",
	[NR_WRITEBACK] = "nr_writeback",
	[NR_SHMEM] = "nr_shmem",
	[NR_SHMEM_THPS] = "nr_shmem_hugepages",
	[NR_SHMEM_PMDMAPPED] = "nr_shmem_pmdmapped",
	[NR_ANON_THPS] = "nr_anon_transparent_hugepages",
	[NR_PAGETABLE] = "nr_page_table_pages",
	[NR_DIRTIED] = "nr_dirtied",
	[NR_WRITTEN] = "nr_written",
	[NR_FOLL_PIN_ACQUIRED] = "nr_foll_pin_acquired",
	[NR_FOLL_PIN_RELEASED] = "nr_foll_pin_released",
	[NR_SWAPCACHE] = "nr_swapcached",
};

static const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
	[PGPGIN] = "pgpgin", [PGPGOUT] = "pgpgout",
	[PGALLOC_NORMAL] = "pgalloc_normal", [PGALLOC_MOVABLE] = "pgalloc_movable",
	[PGALLOC_DEVICE] = "pgalloc_device",
	[ALLOCSTALL] = "allocstall",
	[PGLAZYFREE] = "pglazyfree", [PGLAZYFREED] = "pglazyfreed",
	[PGFREE] = "pgfree", [PGACTIVATE] = "pgactivate", [PGDEACTIVATE] = "pgdeactivate",
	[PGFAULT] = "pgfault", [PGMAJFAULT] = "pgmajfault",
	[PSWPIN] = "pswpin", [PSWPOUT] = "pswpout",
	[PGSCAN_ANON] = "pgscan_anon", [PGSTEAL_ANON] = "pgsteal_anon",
	[PGMIGRATE_SUCCESS] = "pgmigrate_success", [PGMIGRATE_FAIL] = "pgmigrate_fail",
	[THP_MIGRATION_SUCCESS] = "thp_migration_success",
	[THP_MIGRATION_FAIL] = "thp_migration_fail",
	[THP_MIGRATION_SPLIT] = "thp_migration_split",
	[COMPACTMIGRATE_SCANNED] = "compact_migrate_scanned",
	[COMPACTFREE_SCANNED] = "compact_free_scanned",
	[COMPACTISOLATED] = "compact_isolated",
	[COMPACTSTALL] = "compact_stall", [COMPACTFAIL] = "compact_fail",
	[COMPACTSUCCESS] = "compact_success",
	[CMA_ALLOC_SUCCESS] = "cma_alloc_success", [CMA_ALLOC_FAIL] = "cma_alloc_fail",
	[KSM_SWPIN_COPY] = "ksm_swpin_copy",
	[THP_FAULT_ALLOC] = "thp_fault_alloc", [THP_FAULT_FALLBACK] = "thp_fault_fallback",
	[THP_SPLIT_PAGE] = "thp_split_page", [THP_SPLIT_PAGE_FAILED] = "thp_split_page_failed",
	[THP_SPLIT_PMD] = "thp_split_pmd",
	[THP_COLLAPSE_ALLOC] = "thp_collapse_alloc",
	[THP_COLLAPSE_ALLOC_FAILED] = "thp_collapse_alloc_failed",
	[THP_ZERO_PAGE_ALLOC] = "thp_zero_page_alloc",
	[THP_FILE_ALLOC] = "thp_file_alloc", [THP_FILE_MAPPED] = "thp_file_mapped",
	[THP_SWPOUT_FALLBACK] = "thp_swpout_fallback",
	[THP_DEFERRED_SPLIT_PAGE] = "thp_deferred_split_page",
	[PINMM_WB_PINNED_INPLACE] = "pinmm_wb_pinned_inplace",
	[PINMM_WB_PINNED_BOUNCE] = "pinmm_wb_pinned_bounce",
	[PGSCAN_FILE] = "pgscan_file", [PGSTEAL_FILE] = "pgsteal_file",
	[PINMM_RECLAIM_PINNED_SKIP] = "pinmm_reclaim_pinned_skip",
	[COW_FAULT] = "pinmm_cow_copy", [COW_REUSE] = "pinmm_cow_reuse",
};

/*
 * Per-CPU diffs (Linux's vm_stat_diff in struct per_cpu_zonestat and
 * per_cpu_nodestat): a CPU adds to its own diff and folds it into the
 * atomic counters only when it passes the threshold, so counting touches
 * no shared cache line. Only the owning thread writes its diffs (and
 * folds them when it exits); others read them to sum (relaxed atomics).
 * Events have no threshold: each CPU counts its own, readers sum them
 * (Linux's per-CPU vm_event_states and all_vm_events()).
 */
struct vm_cpu_stat {
	atomic_int zone_diff[MAX_NR_ZONES][NR_VM_ZONE_STAT_ITEMS];
	atomic_int node_diff[NR_VM_NODE_STAT_ITEMS];
	atomic_ulong events[NR_VM_EVENT_ITEMS];
} __attribute__((aligned(64)));

static struct vm_cpu_stat vm_cpu_stats[NR_CPUS];
static int node_stat_threshold;

/*
 * Add @delta to this CPU's diff @p; past +-@t fold the whole diff into the
 * counters (Linux's __mod_zone_page_state()/__mod_node_page_state()).
 */
static inline void mod_diff(atomic_int *p, long delta, int t, atomic_long *zone_counter,
			    atomic_long *global)
{
	long x = atomic_load_explicit(p, memory_order_relaxed) + delta;

	if (unlikely(x > t || x < -t)) {
		if (zone_counter)
			atomic_fetch_add_explicit(zone_counter, x, memory_order_relaxed);
		atomic_fetch_add_explicit(global, x, memory_order_relaxed);
		x = 0;
	}
	atomic_store_explicit(p, (int)x, memory_order_relaxed);
}

void mod_zone_page_state(struct zone *zone, enum zone_stat_item item, long delta)
{
	int cpu = smp_processor_id();

	if (unlikely(cpu < 0)) {
		atomic_fetch_add_explicit(&zone->vm_stat[item], delta, memory_order_relaxed);
		atomic_fetch_add_explicit(&vm_zone_stat[item], delta, memory_order_relaxed);
		return;
	}
	mod_diff(&vm_cpu_stats[cpu].zone_diff[zone->idx][item], delta, zone->stat_threshold,
		 &zone->vm_stat[item], &vm_zone_stat[item]);
}

void mod_node_page_state(enum node_stat_item item, long delta)
{
	int cpu = smp_processor_id();

	if (unlikely(cpu < 0)) {
		atomic_fetch_add_explicit(&vm_node_stat[item], delta, memory_order_relaxed);
		return;
	}
	mod_diff(&vm_cpu_stats[cpu].node_diff[item], delta, node_stat_threshold, NULL,
		 &vm_node_stat[item]);
}

void count_vm_events(enum vm_event_item item, long delta)
{
	int cpu = smp_processor_id();
	atomic_ulong *p;

	if (unlikely(cpu < 0)) {
		atomic_fetch_add_explicit(&vm_events[item], (unsigned long)delta,
					  memory_order_relaxed);
		return;
	}
	p = &vm_cpu_stats[cpu].events[item];
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) +
			      (unsigned long)delta, memory_order_relaxed);
}

/* Linux clamps the approximate reads: diffs not yet folded may leave them below zero. */
static inline long clamp_zero(long x)
{
	return x < 0 ? 0 : x;
}

long zone_page_state(const struct zone *zone, enum zone_stat_item item)
{
	return clamp_zero(atomic_load_explicit(&((struct zone *)zone)->vm_stat[item],
					       memory_order_relaxed));
}

long zone_page_state_snapshot(const struct zone *zone, enum zone_stat_item item)
{
	long x = atomic_load_explicit(&((struct zone *)zone)->vm_stat[item], memory_order_relaxed);
	int nr = pinmm_nr_cpu_ids();

	for (int cpu = 0; cpu < nr; cpu++)
		x += atomic_load_explicit(&vm_cpu_stats[cpu].zone_diff[zone->idx][item],
					  memory_order_relaxed);
	return clamp_zero(x);
}

long global_zone_page_state(enum zone_stat_item item)
{
	return clamp_zero(atomic_load_explicit(&vm_zone_stat[item], memory_order_relaxed));
}

long global_zone_page_state_snapshot(enum zone_stat_item item)
{
	long x = atomic_load_explicit(&vm_zone_stat[item], memory_order_relaxed);
	int nr = pinmm_nr_cpu_ids();

	for (int cpu = 0; cpu < nr; cpu++)
		for (int z = 0; z < MAX_NR_ZONES; z++)
			x += atomic_load_explicit(&vm_cpu_stats[cpu].zone_diff[z][item],
						  memory_order_relaxed);
	return clamp_zero(x);
}

long global_node_page_state(enum node_stat_item item)
{
	return clamp_zero(atomic_load_explicit(&vm_node_stat[item], memory_order_relaxed));
}

long global_node_page_state_snapshot(enum node_stat_item item)
{
	long x = atomic_load_explicit(&vm_node_stat[item], memory_order_relaxed);
	int nr = pinmm_nr_cpu_ids();

	for (int cpu = 0; cpu < nr; cpu++)
		x += atomic_load_explicit(&vm_cpu_stats[cpu].node_diff[item], memory_order_relaxed);
	return clamp_zero(x);
}

unsigned long global_vm_event(enum vm_event_item item)
{
	unsigned long x = atomic_load_explicit(&vm_events[item], memory_order_relaxed);
	int nr = pinmm_nr_cpu_ids();

	for (int cpu = 0; cpu < nr; cpu++)
		x += atomic_load_explicit(&vm_cpu_stats[cpu].events[item], memory_order_relaxed);
	return x;
}

/* Move one diff into the counters: zeroed first, so a sum never counts it twice. */
static void fold_diff(atomic_int *p, atomic_long *zone_counter, atomic_long *global)
{
	long x = atomic_exchange_explicit(p, 0, memory_order_relaxed);

	if (!x)
		return;
	if (zone_counter)
		atomic_fetch_add_explicit(zone_counter, x, memory_order_relaxed);
	atomic_fetch_add_explicit(global, x, memory_order_relaxed);
}

void vm_stats_fold_cpu(int cpu)
{
	struct vm_cpu_stat *s = &vm_cpu_stats[cpu];

	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pinmm_zones[z];

		/* under zone->lock, where NR_FREE_PAGES changes: pinmm_check_zone() sees it whole */
		spin_lock(&zone->lock);
		for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
			fold_diff(&s->zone_diff[z][i], &zone->vm_stat[i], &vm_zone_stat[i]);
		spin_unlock(&zone->lock);
	}
	for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
		fold_diff(&s->node_diff[i], NULL, &vm_node_stat[i]);
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++) {
		unsigned long x = atomic_exchange_explicit(&s->events[i], 0, memory_order_relaxed);

		if (x)
			atomic_fetch_add_explicit(&vm_events[i], x, memory_order_relaxed);
	}
}

/*
 * Linux's calculate_normal_threshold(): larger zones and more CPUs allow
 * larger diffs, 2 * fls(CPUs) * (1 + fls(MiB / 128)), at most 125. The node
 * counters use the largest zone threshold, as Linux's per-node one does.
 */
void refresh_zone_stat_thresholds(void)
{
	long ncpus = max(1L, sysconf(_SC_NPROCESSORS_ONLN));
	int fls_cpus = 64 - __builtin_clzl((unsigned long)ncpus), node_t = 0;

	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pinmm_zones[z];
		unsigned long mb128 = (unsigned long)atomic_load(&zone->managed_pages) >>
				      (27 - PAGE_SHIFT);
		int fls_mem = mb128 ? 64 - __builtin_clzl(mb128) : 0;

		zone->stat_threshold = min(2 * fls_cpus * (1 + fls_mem), 125);
		if (!atomic_load(&zone->managed_pages))
			zone->stat_threshold = 0;	/* no buddy allocator: exact counters */
		node_t = max(node_t, zone->stat_threshold);
	}
	node_stat_threshold = node_t;
}

const char *zone_stat_name(enum zone_stat_item item)
{
	return zone_stat_names[item];
}

const char *node_stat_name(enum node_stat_item item)
{
	return node_stat_names[item];
}

const char *vm_event_name(enum vm_event_item item)
{
	return vm_event_names[item];
}

int pinmm_vmstat_get(const char *name, long *value)
{
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		if (!strcmp(name, zone_stat_names[i]))
			return *value = global_zone_page_state_snapshot(i), 0;
	for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
		if (!strcmp(name, node_stat_names[i]))
			return *value = global_node_page_state_snapshot(i), 0;
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		if (!strcmp(name, vm_event_names[i]))
			return *value = (long)global_vm_event(i), 0;
	return -ENOENT;
}

void vmstat_reset(void)
{
	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		struct vm_cpu_stat *c = &vm_cpu_stats[cpu];

		for (int z = 0; z < MAX_NR_ZONES; z++)
			for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
				atomic_store_explicit(&c->zone_diff[z][i], 0, memory_order_relaxed);
		for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
			atomic_store_explicit(&c->node_diff[i], 0, memory_order_relaxed);
		for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
			atomic_store_explicit(&c->events[i], 0, memory_order_relaxed);
	}
	node_stat_threshold = 0;
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		atomic_store(&vm_zone_stat[i], 0);
	for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
		atomic_store(&vm_node_stat[i], 0);
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		atomic_store(&vm_events[i], 0);
}

void pinmm_print_vmstat(FILE *out)
{
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		fprintf(out, "%s %ld\n", zone_stat_names[i], global_zone_page_state_snapshot(i));
	for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
		fprintf(out, "%s %ld\n", node_stat_names[i], global_node_page_state_snapshot(i));
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		fprintf(out, "%s %lu\n", vm_event_names[i], global_vm_event(i));
}

/*
 * /proc/meminfo (Linux: fs/proc/meminfo.c), the lines that mean something
 * here, in kB. MemAvailable is free memory plus the page cache that could
 * be written back and dropped (not shmem: without swap it cannot go).
 */
void pinmm_print_meminfo(FILE *out)
{
	const unsigned long kb = PAGE_SIZE / 1024;
	long total = 0, cma_total = 0, free_pages = global_zone_page_state_snapshot(NR_FREE_PAGES);
	long file = global_node_page_state_snapshot(NR_FILE_PAGES), shmem = global_node_page_state_snapshot(NR_SHMEM);
	struct zone *zone;

	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		total += atomic_load(&zone->managed_pages);
		cma_total += (long)zone->cma_pages;
	}
	unsigned long swap_total, swap_free;

#define MI(name, pages) fprintf(out, "%-16s%8ld kB\n", name ":", (long)(pages) * (long)kb)
	MI("MemTotal", total);
	MI("MemFree", free_pages);
	MI("MemAvailable", free_pages + file - shmem);
	MI("Buffers", 0);
	MI("Cached", file);
	MI("SwapCached", global_node_page_state_snapshot(NR_SWAPCACHE));
	MI("Unevictable", global_node_page_state_snapshot(NR_UNEVICTABLE));
	MI("Mlocked", global_zone_page_state_snapshot(NR_MLOCK));
	si_swapinfo(&swap_total, &swap_free);
	MI("SwapTotal", swap_total);
	MI("SwapFree", swap_free);
	MI("Dirty", global_node_page_state_snapshot(NR_FILE_DIRTY));
	MI("Writeback", global_node_page_state_snapshot(NR_WRITEBACK));
	MI("AnonPages", global_node_page_state_snapshot(NR_ANON_MAPPED));
	MI("Mapped", global_node_page_state_snapshot(NR_FILE_MAPPED));
	MI("Shmem", shmem);
	MI("PageTables", global_node_page_state_snapshot(NR_PAGETABLE));
	MI("AnonHugePages", global_node_page_state_snapshot(NR_ANON_THPS) * HPAGE_PMD_NR);
	MI("ShmemHugePages", global_node_page_state_snapshot(NR_SHMEM_THPS) * HPAGE_PMD_NR);
	MI("ShmemPmdMapped", global_node_page_state_snapshot(NR_SHMEM_PMDMAPPED) * HPAGE_PMD_NR);
	MI("CmaTotal", cma_total);
	MI("CmaFree", global_zone_page_state_snapshot(NR_FREE_CMA_PAGES));
#undef MI
	hugetlb_report_meminfo(out);	/* HugePages_*, Hugepagesize, Hugetlb */
}

void pinmm_print_zoneinfo(FILE *out)
{
	struct zone *zone;

	for_each_populated_zone(zone) {
		fprintf(out, "Node 0, zone %8s\n", zone->name);
		fprintf(out, "  pages free     %ld\n", zone_page_state_snapshot(zone, NR_FREE_PAGES));
		fprintf(out, "        spanned  %lu\n", zone->spanned_pages);
		fprintf(out, "        present  %lu\n", zone->present_pages);
		fprintf(out, "        managed  %ld\n", atomic_load(&zone->managed_pages));
		fprintf(out, "        cma      %lu\n", zone->cma_pages);
		for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
			fprintf(out, "      %s %ld\n", zone_stat_names[i], zone_page_state_snapshot(zone, i));
		fprintf(out, "  start_pfn:           %lu\n", zone->zone_start_pfn);
	}
}

void pinmm_print_buddyinfo(FILE *out)
{
	struct zone *zone;

	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		fprintf(out, "Node 0, zone %8s ", zone->name);
		spin_lock(&zone->lock);
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			fprintf(out, "%6lu ", zone->free_area[o].nr_free);
		spin_unlock(&zone->lock);
		fprintf(out, "\n");
	}
}

void pinmm_print_pagetypeinfo(FILE *out)
{
	struct zone *zone;

	fprintf(out, "Page block order: %d\nPages per block:  %lu\n\n", pageblock_order,
		pageblock_nr_pages);
	fprintf(out, "Free pages count per migrate type at order ");
	for (int o = 0; o < NR_PAGE_ORDERS; o++)
		fprintf(out, "%6d ", o);
	fprintf(out, "\n");
	for_each_populated_zone(zone) {
		if (zone->idx == ZONE_DEVICE)
			continue;
		spin_lock(&zone->lock);
		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			fprintf(out, "Node    0, zone %8s, type %12s ", zone->name,
				migratetype_names[mt]);
			for (int o = 0; o < NR_PAGE_ORDERS; o++)
				fprintf(out, "%6lu ", zone->free_area[o].nr_free_type[mt]);
			fprintf(out, "\n");
		}
		spin_unlock(&zone->lock);
	}
	fprintf(out, "\nNumber of blocks type    ");
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		fprintf(out, "%12s ", migratetype_names[mt]);
	fprintf(out, "\n");
	for_each_populated_zone(zone) {
		unsigned long count[MIGRATE_TYPES] = { 0 };

		if (zone->idx == ZONE_DEVICE)
			continue;
		for (unsigned long pfn = zone->zone_start_pfn; pfn < zone_end_pfn(zone);
		     pfn += pageblock_nr_pages)
			count[get_pfnblock_migratetype(pfn)]++;
		fprintf(out, "Node 0, zone %8s ", zone->name);
		for (int mt = 0; mt < MIGRATE_TYPES; mt++)
			fprintf(out, "%12lu ", count[mt]);
		fprintf(out, "\n");
	}
}
