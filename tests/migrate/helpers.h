/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the migration, compaction, CMA and offlining tests: a machine
 * and a process per case, user memory filled with a pattern that names each
 * page, a look at which frame backs an address, and the teardown check.
 */
#ifndef PINMM_TESTS_MIGRATE_HELPERS_H
#define PINMM_TESTS_MIGRATE_HELPERS_H

#include "../lib/process.h"
#include "../lib/machine.h"

#include "mem/internal.h"

#include <pinmm/huge_mm.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/pagemap.h>
#include <pinmm/rcupdate.h>
#include <pinmm/rmap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MG_BASE		0x700000000UL	/* 2 MiB aligned */
#define MG_RW		(PROT_READ | PROT_WRITE)
#define MG_MEM_MB	96
#define MG_MOVABLE_MB	32
#define MG_CMA_MB	16
#define MB_PAGES(mb)	((unsigned long)(mb) << (20 - PAGE_SHIFT))

static inline void mg_boot(void)
{
	test_boot(MG_MEM_MB, MG_MOVABLE_MB, MG_CMA_MB);
}

/* A private anonymous mapping at @addr in current's mm. */
static inline unsigned long mg_mmap(unsigned long addr, unsigned long len)
{
	unsigned long a = vm_mmap(NULL, addr, len, MG_RW,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);

	if (a != addr)
		bail_out("vm_mmap(%#lx, %#lx) = %#lx", addr, len, a);
	return a;
}

/* The word written at offset @off of page @i of a pattern tagged @tag. */
static inline uint64_t mg_word(uint64_t tag, unsigned long i, unsigned long off)
{
	return (tag << 32) ^ (i << 12) ^ off ^ 0x5a5a5a5a00000000ull;
}

/* Fill @npages pages at @addr through the CPU path (faulting them in). */
static inline void mg_fill(unsigned long addr, unsigned long npages, uint64_t tag)
{
	static uint64_t buf[PAGE_SIZE / sizeof(uint64_t)];

	for (unsigned long i = 0; i < npages; i++) {
		for (unsigned long w = 0; w < ARRAY_SIZE(buf); w++)
			buf[w] = mg_word(tag, i, w);
		if (copy_to_user((void __user *)(addr + i * PAGE_SIZE), buf, PAGE_SIZE))
			bail_out("copy_to_user(%#lx) failed", addr + i * PAGE_SIZE);
	}
}

/* Read the pattern back through the CPU path; the number of bad pages. */
static inline unsigned long mg_check(unsigned long addr, unsigned long npages, uint64_t tag)
{
	static uint64_t buf[PAGE_SIZE / sizeof(uint64_t)];
	unsigned long bad = 0;

	for (unsigned long i = 0; i < npages; i++) {
		if (copy_from_user(buf, (const void __user *)(addr + i * PAGE_SIZE), PAGE_SIZE)) {
			bad++;
			continue;
		}
		for (unsigned long w = 0; w < ARRAY_SIZE(buf); w++)
			if (buf[w] != mg_word(tag, i, w)) {
				bad++;
				break;
			}
	}
	return bad;
}

static inline struct folio *mg_folio(struct mm_struct *mm, unsigned long addr)
{
	unsigned long pfn = test_pt_pfn(mm, addr);

	return pfn == -1UL || is_zero_pfn(pfn) ? NULL : pfn_folio(pfn);
}

/* Isolate the folio mapped at @addr onto @list; false if it could not be. */
static inline bool mg_isolate(struct mm_struct *mm, unsigned long addr, struct list_head *list)
{
	struct folio *folio = mg_folio(mm, addr);
	bool ok;

	if (!folio || !folio_try_get(folio))
		return false;
	ok = folio_isolate_lru(folio);
	if (ok)
		list_add_tail(&folio->lru, list);
	folio_put(folio);
	return ok;
}

static inline long ev(enum vm_event_item e)
{
	return (long)global_vm_event(e);
}

/* Every free frame: the CPUs' lists are drained first (they are not in NR_FREE_PAGES). */
static inline long nr_free_pages(void)
{
	drain_all_pages(NULL);
	return global_zone_page_state_snapshot(NR_FREE_PAGES);
}

/* Migrate what is on @list with alloc_migration_target(@gfp), synchronously. */
static inline int mg_migrate(struct list_head *list, gfp_t gfp, unsigned int *succeeded)
{
	struct migration_target_control mtc = { .gfp_mask = gfp, .reason = MR_SYSCALL };

	return migrate_pages(list, alloc_migration_target, NULL, (unsigned long)&mtc,
			     MIGRATE_SYNC, MR_SYSCALL, succeeded);
}

/* The end of every case: tasks exit, tables come back, then the standard teardown. */
static inline void mg_teardown(const char *name, struct task_struct **tasks, int n)
{
	pinmm_task_detach();
	for (int i = 0; i < n; i++)
		if (tasks[i])
			pinmm_task_exit(tasks[i]);
	rcu_barrier();
	is_int(global_node_page_state_snapshot(NR_ISOLATED_ANON) + global_node_page_state_snapshot(NR_ISOLATED_FILE),
	       0, "%s: teardown: no folio left isolated (nr_isolated_* 0)", name);
	is_uint(pinmm_frames_in_use(), 1, "%s: teardown: only the zero page is still allocated",
		name);
	test_shutdown_ok(name);
}

#endif /* PINMM_TESTS_MIGRATE_HELPERS_H */
