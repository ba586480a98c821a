// SPDX-License-Identifier: MIT
/*
 * Batched migration (Linux mm/migrate.c: migrate_pages_batch(),
 * migrate_folio_unmap(), migrate_folio_move()). Rules checked:
 *  - a list longer than one batch (NR_MAX_BATCHED_MIGRATION pages) moves
 *    whole: every folio, every byte, pgmigrate_success per page, the sources
 *    freed;
 *  - one folio that may be pinned fails alone: the rest of its batch moves,
 *    it stays mapped where it was and is left on the list;
 *  - MIGRATE_SYNC never sleeps on a folio lock while it holds the batch's
 *    (-EDEADLOCK in Linux): it moves the batch first, so a folio unmapped
 *    before the busy one is mapped at its destination while the busy one's
 *    lock is still held elsewhere.
 * PINMM_TEST_CONCURRENT: a second thread holds a folio lock.
 */
#include "helpers.h"
#include "../base/helpers.h"

#include <pinmm/gup.h>
#include <pinmm/pagemap.h>

#define NPAGES		600	/* more than one batch of 512 */

static struct migration_target_control to_normal = { .gfp_mask = GFP_USER, .reason = MR_SYSCALL };

static unsigned long isolate_range(struct mm_struct *mm, unsigned long n, struct list_head *l)
{
	unsigned long got = 0;

	for (unsigned long i = 0; i < n; i++)
		got += mg_isolate(mm, MG_BASE + i * PAGE_SIZE, l);
	return got;
}

static void test_many(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long moved = 0, in_normal = 0, inuse0;
	unsigned int succ = 0;
	long succ0;
	LIST_HEAD(list);
	int ret;

	mg_boot();
	t = test_process("batch");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 21);
	is_uint(isolate_range(mm, NPAGES, &list), NPAGES, "batch: %d folios isolated", NPAGES);
	drain_all_pages(NULL);
	inuse0 = pinmm_frames_in_use();
	succ0 = ev(PGMIGRATE_SUCCESS);
	ret = migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&to_normal,
			    MIGRATE_SYNC, MR_SYSCALL, &succ);
	is_int(ret, 0, "batch: migrate_pages() of more than one batch returns 0");
	is_uint(succ, NPAGES, "batch: every folio counted in *ret_succeeded");
	ok(list_empty(&list), "batch: the list is empty");
	for (unsigned long i = 0; i < NPAGES; i++) {
		unsigned long pfn = test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE);

		moved += pfn != -1UL;
		in_normal += pfn != -1UL && page_zonenum(pfn_to_page(pfn)) == ZONE_NORMAL;
	}
	is_uint(in_normal, NPAGES, "batch: every PTE maps a destination in ZONE_NORMAL (GFP_USER)");
	is_uint(mg_check(MG_BASE, NPAGES, 21), 0, "batch: every byte reads back the same");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, NPAGES, "batch: pgmigrate_success + one per page");
	is_uint(pinmm_frames_in_use(), inuse0, "batch: every source was freed");
	mg_teardown("batch many", &t, 1);
}

static void test_one_pinned(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long pinned_addr = MG_BASE + 300 * PAGE_SIZE, pfn0, stayed = 0;
	struct page *page;
	unsigned int succ = 0;
	LIST_HEAD(list);
	int ret;

	mg_boot();
	t = test_process("batch-pin");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 22);
	if (pin_user_pages_fast(pinned_addr, 1, FOLL_WRITE, &page) != 1)
		bail_out("pin_user_pages_fast failed");
	pfn0 = page_to_pfn(page);
	isolate_range(mm, NPAGES, &list);
	ret = migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&to_normal,
			    MIGRATE_SYNC, MR_SYSCALL, &succ);
	is_int(ret, 1, "batch: one pinned folio: migrate_pages() reports one failure");
	is_uint(succ, NPAGES - 1, "batch: the rest of its batch moved");
	ok(!list_empty(&list) && list_first_entry(&list, struct folio, lru) == page_folio(page) &&
	   list_is_singular(&list), "batch: the pinned folio alone is left on the list");
	ok(test_pt_pfn(mm, pinned_addr) == pfn0, "batch: the pinned page is still mapped where "
	   "it was");
	for (unsigned long i = 0; i < NPAGES; i++)
		stayed += page_zonenum(pfn_to_page(test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE))) ==
			  ZONE_MOVABLE;
	is_uint(stayed, 1, "batch: only the pinned page stayed in ZONE_MOVABLE");
	putback_movable_pages(&list);
	unpin_user_page(page);
	is_uint(mg_check(MG_BASE, NPAGES, 22), 0, "batch: data intact");
	mg_teardown("batch one pinned", &t, 1);
}

struct locker {
	struct mm_struct *mm;
	struct folio *busy;
	atomic_int locked, saw_first_moved;
	unsigned long first_pfn0;
};

/* Hold the busy folio's lock until the first folio shows up at its destination (2 s at most). */
static void *locker_fn(void *arg)
{
	struct locker *l = arg;
	double t0;

	folio_lock(l->busy);
	atomic_store(&l->locked, 1);
	t0 = now_sec();
	while (now_sec() - t0 < 2) {
		unsigned long pfn = test_pt_pfn(l->mm, MG_BASE);

		if (pfn != -1UL && pfn != l->first_pfn0) {
			atomic_store(&l->saw_first_moved, 1);
			break;
		}
		usleep(1000);
	}
	folio_unlock(l->busy);
	return NULL;
}

static void test_lock_flushes_batch(void)
{
	struct locker l = { 0 };
	struct task_struct *t;
	pthread_t locker;
	unsigned int succ = 0;
	LIST_HEAD(list);
	int ret;

	mg_boot();
	t = test_process("batch-lock");
	l.mm = t->mm;
	mg_mmap(MG_BASE, 3 * PAGE_SIZE);
	mg_fill(MG_BASE, 3, 23);
	l.first_pfn0 = test_pt_pfn(l.mm, MG_BASE);
	l.busy = mg_folio(l.mm, MG_BASE + PAGE_SIZE);
	isolate_range(l.mm, 3, &list);
	locker = start_thread(locker_fn, &l);
	while (!atomic_load(&l.locked))
		sched_yield();
	ret = migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&to_normal,
			    MIGRATE_SYNC, MR_SYSCALL, &succ);
	join_thread(locker);
	is_int(ret, 0, "batch lock: MIGRATE_SYNC waits for the busy folio and moves all three");
	is_uint(succ, 3, "batch lock: three folios moved");
	ok(atomic_load(&l.saw_first_moved), "batch lock: the folio unmapped before the busy one "
	   "was moved while the busy one's lock was held elsewhere (no sleeping on a lock "
	   "with the batch's locks held)");
	is_uint(mg_check(MG_BASE, 3, 23), 0, "batch lock: data intact");
	mg_teardown("batch lock", &t, 1);
}

int main(void)
{
	watchdog(120);
	test_many();
	test_one_pinned();
	test_lock_flushes_batch();
	return done_testing();
}
