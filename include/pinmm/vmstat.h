/* SPDX-License-Identifier: MIT */
/*
 * Memory statistics, printed in /proc/vmstat format by `pinmm vmstat`.
 *
 * Zone counters (per zone, summed for the global view), node counters (one
 * node: global) and event counters, with Linux's names.
 *
 * As in Linux, each CPU (thread, sched.h) counts into its own diffs and folds
 * a diff into the shared atomic counters only when it passes the zone's
 * threshold (stat_threshold, a few dozen pages), so counting bounces no cache
 * line. Two ways to read:
 *   zone_page_state(), global_zone_page_state(), global_node_page_state():
 *     the folded counters alone — cheap, off by up to threshold x CPUs,
 *     clamped at 0 (what allocation heuristics and dirty limits use);
 *   ..._snapshot(): the counters plus every CPU's diff — exact when the
 *     machine is quiet (tests, `pinmm vmstat`, the shutdown pin balance).
 * Events have no threshold: global_vm_event() sums every CPU's count.
 * Neither gives a consistent snapshot of several counters, as in Linux.
 */
#ifndef PINMM_VMSTAT_H
#define PINMM_VMSTAT_H

#include <pinmm/compiler.h>
#include <stdio.h>

struct zone;

enum zone_stat_item {
	NR_FREE_PAGES,
	NR_ZONE_INACTIVE_ANON,
	NR_ZONE_ACTIVE_ANON,
	NR_ZONE_INACTIVE_FILE,
	NR_ZONE_ACTIVE_FILE,
	NR_ZONE_UNEVICTABLE,
	NR_ZONE_WRITE_PENDING,
	NR_MLOCK,
	NR_FREE_CMA_PAGES,
	NR_VM_ZONE_STAT_ITEMS
};

enum node_stat_item {
	NR_INACTIVE_ANON,
	NR_ACTIVE_ANON,
	NR_INACTIVE_FILE,
	NR_ACTIVE_FILE,
	NR_UNEVICTABLE,
	NR_ISOLATED_ANON,
	NR_ISOLATED_FILE,
	NR_ANON_MAPPED,		/* nr_anon_pages */
	NR_FILE_MAPPED,		/* nr_mapped */
	NR_FILE_PAGES,
	NR_FILE_DIRTY,		/* nr_dirty */
	NR_WRITEBACK,
	NR_SHMEM,
	NR_SHMEM_THPS,		/* nr_shmem_hugepages (in THPs, as Linux prints it) */
	NR_SHMEM_PMDMAPPED,	/* nr_shmem_pmdmapped (in THPs) */
	NR_ANON_THPS,		/* nr_anon_transparent_hugepages */
	NR_PAGETABLE,		/* nr_page_table_pages */
	NR_DIRTIED,		/* pages dirtied, ever */
	NR_WRITTEN,		/* pages written back, ever */
	NR_FOLL_PIN_ACQUIRED,
	NR_FOLL_PIN_RELEASED,
	NR_SWAPCACHE,		/* pages in the swap cache */
	NR_VM_NODE_STAT_ITEMS
};

enum vm_event_item {
	PGPGIN, PGPGOUT,
	PGALLOC_NORMAL, PGALLOC_MOVABLE, PGALLOC_DEVICE,
	ALLOCSTALL,
	PGFREE, PGACTIVATE, PGDEACTIVATE,
	PGFAULT, PGMAJFAULT,
	PSWPIN, PSWPOUT,		/* pages read from / written to swap */
	PGSCAN_ANON, PGSTEAL_ANON,	/* anon pages scanned / reclaimed (swapped out) */
	PGLAZYFREE, PGLAZYFREED,	/* pages MADV_FREE marked lazyfree / reclaim discarded */
	PGMIGRATE_SUCCESS, PGMIGRATE_FAIL,
	THP_MIGRATION_SUCCESS, THP_MIGRATION_FAIL, THP_MIGRATION_SPLIT,
	COMPACTMIGRATE_SCANNED, COMPACTFREE_SCANNED, COMPACTISOLATED,
	COMPACTSTALL, COMPACTFAIL, COMPACTSUCCESS,
	CMA_ALLOC_SUCCESS, CMA_ALLOC_FAIL,
	KSM_SWPIN_COPY,		/* swap-ins that copied another mm's folio (ksm_might_need_to_copy) */
	THP_FAULT_ALLOC, THP_FAULT_FALLBACK,
	THP_COLLAPSE_ALLOC, THP_COLLAPSE_ALLOC_FAILED,
	THP_SPLIT_PAGE, THP_SPLIT_PAGE_FAILED, THP_SPLIT_PMD,
	THP_ZERO_PAGE_ALLOC,
	THP_FILE_ALLOC, THP_FILE_MAPPED,
	THP_SWPOUT_FALLBACK,	/* THPs split for swap-out: no room for them whole */
	THP_DEFERRED_SPLIT_PAGE,	/* large anon folios queued partially mapped */
	PINMM_WB_PINNED_INPLACE,	/* pinmm: pinned folios written in place (linux policy) */
	PINMM_WB_PINNED_BOUNCE,		/* pinmm: pinned folios written from a bounce copy */
	PGSCAN_FILE, PGSTEAL_FILE,
	PINMM_RECLAIM_PINNED_SKIP,	/* pinmm: reclaim left a maybe-pinned folio alone */
	COW_FAULT,		/* pinmm: write faults that copied */
	COW_REUSE,		/* pinmm: write faults that reused in place */
	NR_VM_EVENT_ITEMS
};

/* Add @delta on this CPU; folded into the counters past the threshold. Context: any. */
void mod_zone_page_state(struct zone *zone, enum zone_stat_item item, long delta);
long zone_page_state(const struct zone *zone, enum zone_stat_item item);
long zone_page_state_snapshot(const struct zone *zone, enum zone_stat_item item);
long global_zone_page_state(enum zone_stat_item item);
long global_zone_page_state_snapshot(enum zone_stat_item item);

void mod_node_page_state(enum node_stat_item item, long delta);
long global_node_page_state(enum node_stat_item item);
long global_node_page_state_snapshot(enum node_stat_item item);

void count_vm_events(enum vm_event_item item, long delta);
static inline void count_vm_event(enum vm_event_item item)
{
	count_vm_events(item, 1);
}
unsigned long global_vm_event(enum vm_event_item item);

const char *zone_stat_name(enum zone_stat_item item);
const char *node_stat_name(enum node_stat_item item);
const char *vm_event_name(enum vm_event_item item);

/* Look a counter up by its /proc/vmstat name; -ENOENT if unknown. */
int pinmm_vmstat_get(const char *name, long *value);

/* The /proc/vmstat, /proc/zoneinfo and /proc/buddyinfo views. */
void pinmm_print_vmstat(FILE *out);
void pinmm_print_zoneinfo(FILE *out);
void pinmm_print_buddyinfo(FILE *out);
void pinmm_print_pagetypeinfo(FILE *out);
/* /proc/meminfo: totals, the page cache (Cached, Dirty, Writeback, Shmem, Mapped), THPs, CMA. */
void pinmm_print_meminfo(FILE *out);

#endif /* PINMM_VMSTAT_H */
