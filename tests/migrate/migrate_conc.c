// SPDX-License-Identifier: MIT
/*
 * Migration under concurrent access. PINMM_TEST_CONCURRENT: one thread runs
 * the process and keeps writing and re-reading its pages through the CPU
 * path, while another migrates the same pages back and forth between
 * ZONE_MOVABLE and ZONE_NORMAL. An access that meets a migration entry
 * faults, waits for the migration (the folio lock) and retries, so no
 * write is ever lost and no read ever sees stale data (Linux:
 * migration_entry_wait()). A second pair does the same with a forked child
 * that shares the pages read-only.
 */
#include "helpers.h"

#include <pthread.h>

#define NPAGES		32
#define MIN_MIGRATIONS	200

struct shared {
	struct task_struct *task;
	struct mm_struct *mm;
	atomic_int stop;
	atomic_ulong migrated;
	unsigned long rounds;
	unsigned long lost;	/* a read that did not return what was just written */
};

static void *writer(void *arg)
{
	struct shared *s = arg;

	pinmm_task_attach(s->task);
	for (uint64_t r = 1; !atomic_load(&s->stop) || r < 4; r++) {
		for (unsigned long i = 0; i < NPAGES; i++) {
			uint64_t __user *p = (uint64_t __user *)(MG_BASE + i * PAGE_SIZE +
								  (r % 64) * 64);
			uint64_t v = 0;

			if (put_user(r ^ (i << 40), p) || get_user(v, p) || v != (r ^ (i << 40)))
				s->lost++;
		}
		s->rounds = r;
	}
	pinmm_task_detach();
	return NULL;
}

static void *migrator(void *arg)
{
	struct shared *s = arg;
	unsigned int round = 0;

	while (atomic_load(&s->migrated) < MIN_MIGRATIONS || round < 200) {
		LIST_HEAD(list);
		unsigned int succ = 0;
		gfp_t gfp = (round++ & 1) ? GFP_USER : GFP_HIGHUSER_MOVABLE;

		for (unsigned long i = 0; i < NPAGES; i++)
			mg_isolate(s->mm, MG_BASE + i * PAGE_SIZE, &list);
		mg_migrate(&list, gfp, &succ);
		putback_movable_pages(&list);
		atomic_fetch_add(&s->migrated, succ);
		if (round > 20000)
			break;
	}
	atomic_store(&s->stop, 1);
	return NULL;
}

static void test_fault_waits(void)
{
	struct shared s = { 0 };
	pthread_t w, m;
	unsigned long bad = 0;

	mg_boot();
	s.task = test_process("conc");
	s.mm = s.task->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 41);
	pinmm_task_detach();

	pthread_create(&w, NULL, writer, &s);
	pthread_create(&m, NULL, migrator, &s);
	pthread_join(m, NULL);
	pthread_join(w, NULL);

	ok(atomic_load(&s.migrated) >= MIN_MIGRATIONS,
	   "migrate conc: pages were migrated while being written (%lu migrations, %lu rounds)",
	   atomic_load(&s.migrated), s.rounds);
	is_uint(s.lost, 0, "migrate conc: a fault during migration waits for it and no write "
		"is lost (every read returns the value just written)");
	pinmm_task_attach(s.task);
	for (unsigned long i = 0; i < NPAGES; i++) {
		uint64_t r = s.rounds, v = 0;
		uint64_t __user *p = (uint64_t __user *)(MG_BASE + i * PAGE_SIZE + (r % 64) * 64);

		if (get_user(v, p) || v != (r ^ (i << 40)))
			bad++;
	}
	is_uint(bad, 0, "migrate conc: the last round's values are all there");
	mg_teardown("migrate conc", &s.task, 1);
}

/* A parent writes (COW-breaking) while its shared pages migrate; the child's view is fixed. */
static void test_fork_conc(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct shared s = { 0 };
	pthread_t w, m;
	unsigned long bad = 0;

	mg_boot();
	t[0] = test_process("conc-parent");
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 42);
	if (pinmm_fork(t[0], "conc-child", &t[1]))
		bail_out("pinmm_fork failed");
	pinmm_task_detach();
	s.task = t[0];
	s.mm = t[1]->mm;	/* migrate the child's view: the shared, then the old pages */

	pthread_create(&w, NULL, writer, &s);
	pthread_create(&m, NULL, migrator, &s);
	pthread_join(m, NULL);
	pthread_join(w, NULL);
	ok(atomic_load(&s.migrated) > 0, "migrate conc fork: the child's pages migrated (%lu)",
	   atomic_load(&s.migrated));
	is_uint(s.lost, 0, "migrate conc fork: the parent's writes are never lost");
	pinmm_task_attach(t[1]);
	bad = mg_check(MG_BASE, NPAGES, 42);
	is_uint(bad, 0, "migrate conc fork: the child still reads what was there at fork");
	mg_teardown("migrate conc fork", t, 2);
}

int main(void)
{
	plan_no_plan();
	test_fault_waits();
	test_fork_conc();
	return done_testing();
}
