// SPDX-License-Identifier: MIT
/*
 * Per-CPU page lists (Linux mm/page_alloc.c: struct per_cpu_pages,
 * free_unref_page / rmqueue_pcplist / rmqueue_bulk / free_pcppages_bulk,
 * drain_all_pages). Rules checked:
 *  - a freed order-0 page goes to the freeing CPU's list: not PageBuddy, not
 *    in NR_FREE_PAGES (Linux's accounting), yet not "in use" either;
 *  - the next allocation of that type on that CPU gets it back (hot, LIFO);
 *  - an empty list is refilled with pcp->batch pages in one zone->lock round;
 *  - past pcp->high the lists are trimmed back to the buddy lists; high is
 *    tuned as in Linux 6.7 (raised by a CPU freeing or refilling in a row up
 *    to high_max, lowered below the zone's high watermark and by
 *    decay_pcp_high());
 *  - a THP-sized block has lists of its own when high allows one;
 *  - drain_local_pages()/drain_all_pages() give pages back, including another
 *    live CPU's; a thread that exits (a CPU going away) leaves nothing behind;
 *  - a page freed in an isolated pageblock skips the lists;
 *  - alloc_contig_range() drains before judging a range busy, and a failing
 *    allocation drains other CPUs' lists before giving up;
 *  - each live thread has its own CPU id; an exited thread's id is reused.
 * PINMM_TEST_CONCURRENT: threads park holding per-CPU lists.
 */
#include "helpers.h"
#include "../base/helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/migrate.h>
#include <pinmm/vmstat.h>

static long nr_free(void)
{
	return global_zone_page_state_snapshot(NR_FREE_PAGES);
}

static struct per_cpu_pages *my_pcp(struct zone *zone)
{
	return &zone->per_cpu_pageset[smp_processor_id()];
}

static void test_free_and_reuse(void)
{
	struct zone *normal;
	struct per_cpu_pages *pcp;
	struct page *page, *again;
	unsigned long used0;
	long free0;
	int count0, refill;

	test_boot(256, 0, 0);
	normal = &pinmm_zones[ZONE_NORMAL];
	pcp = my_pcp(normal);
	drain_all_pages(NULL);
	free0 = nr_free();
	used0 = pinmm_frames_in_use();

	/* nr_pcp_alloc(): batch << alloc_factor, as far as high (raised by it) leaves room */
	refill = pcp->batch << pcp->alloc_factor;
	refill = min(refill, max(min(pcp->high + refill, pcp->high_max) - pcp->batch, pcp->batch));
	page = alloc_page(GFP_KERNEL);
	is_int(nr_free(), free0 - refill, "refill: an allocation on an empty list takes "
	       "pcp->batch << alloc_factor (%d) pages off the free lists at once (rmqueue_bulk)",
	       refill);
	is_int(pcp->count, refill - 1, "refill: the rest of the batch waits on the CPU's list");
	ok(pcp->batch > 1 && pcp->high >= 4 * pcp->batch, "sizes: batch %d, high %d (at least "
	   "four batches, as zone_highsize())", pcp->batch, pcp->high);

	count0 = pcp->count;
	__free_pages(page, 0);
	is_int(nr_free(), free0 - refill, "free: an order-0 page goes to the CPU's list, not "
	       "to NR_FREE_PAGES (free_unref_page)");
	is_int(pcp->count, count0 + 1, "free: the CPU's list holds it");
	ok(!PageBuddy(page) && page_ref_count(page) == 0, "free: a page on a per-CPU list is not "
	   "PageBuddy and has no reference");
	is_uint(pinmm_frames_in_use(), used0, "free: per-CPU pages are free to "
		"pinmm_frames_in_use()");
	again = alloc_page(GFP_KERNEL);
	ok(again == page, "reuse: the next allocation of that type gets the page just freed (hot)");
	__free_pages(again, 0);

	drain_local_pages(NULL);
	is_int(pcp->count, 0, "drain_local_pages: the CPU's lists are empty");
	is_int(nr_free(), free0, "drain_local_pages: every page is back in NR_FREE_PAGES");
	ok(all_zones_ok(), "drain_local_pages: free lists consistent");
	test_shutdown_ok("pcp free and reuse");
}

/* Run decay_pcp_high() rounds on this CPU's lists of @zone until it has nothing left to do. */
static int decay_fully(struct zone *zone)
{
	int rounds = 0;

	while (decay_pcp_high(zone, my_pcp(zone)) && rounds < 1000)
		rounds++;
	return rounds;
}

/*
 * Linux 6.7's pcp->high tuning (free_unref_page_commit, nr_pcp_high,
 * nr_pcp_free, nr_pcp_alloc, decay_pcp_high): a CPU freeing in a row
 * raises high to what it freed in a row (capped at batch << 5) plus a batch,
 * up to high_max; a free that reaches high gives back what was freed in a
 * row, leaving at least a batch; the decay brings high back to high_min an
 * eighth at a time and trims the lists to it.
 */
static void test_high_mark(void)
{
	struct zone *normal;
	struct per_cpu_pages *pcp;
	struct page **pages;
	int n, k, m, peak = 0, want_high, rounds;
	long free0, free1;

	test_boot(256, 0, 0);
	normal = &pinmm_zones[ZONE_NORMAL];
	pcp = my_pcp(normal);
	ok(pcp->high_min < pcp->high_max && pcp->high_min <= pcp->high &&
	   pcp->high <= pcp->high_max, "high: tuned between high_min %d (low watermark shared "
	   "out) and high_max %d (an eighth of the zone shared out)", pcp->high_min,
	   pcp->high_max);
	n = pcp->high_max + 4 * pcp->batch;
	pages = calloc((size_t)n, sizeof(*pages));
	for (int i = 0; i < n; i++)
		pages[i] = alloc_page(GFP_KERNEL);
	ok(pcp->high > pcp->high_min, "high: refills in a row raise high (%d) above high_min "
	   "(nr_pcp_alloc)", pcp->high);
	is_int(pcp->free_count, 0, "high: allocations halve free_count to nothing");
	rounds = decay_fully(normal);
	is_int(pcp->high, pcp->high_min, "decay: decay_pcp_high() brings high back to high_min "
	       "(%d rounds of an eighth)", rounds);
	ok(pcp->count <= pcp->high, "decay: and trims the lists to it (%d)", pcp->count);
	drain_all_pages(NULL);
	free0 = nr_free();

	/* a run of frees, no allocation between */
	for (int i = 0; i < n; i++) {
		__free_pages(pages[i], 0);
		peak = max(peak, pcp->count);
	}
	want_high = min((pcp->batch << PCP_BATCH_SCALE_MAX) + pcp->batch, pcp->high_max);
	is_int(pcp->free_count, pcp->batch << PCP_BATCH_SCALE_MAX, "bulk free: free_count counts "
	       "the run, capped at batch << PCP_BATCH_SCALE_MAX");
	is_int(pcp->high, want_high, "bulk free: high rose to free_count + batch (%d), capped at "
	       "high_max (nr_pcp_high)", want_high);
	ok(peak <= pcp->high, "bulk free: the lists never held more than high (peak %d)", peak);
	ok(pcp->count >= pcp->batch, "bulk free: a trim leaves at least a batch (%d)", pcp->count);
	is_int(nr_free() + pcp->count, free0 + n, "bulk free: every page is on the free lists or "
	       "the CPU's list");

	/* the point: a run of frees past high_min, below the raised high, stays on the list */
	drain_local_pages(normal);
	k = want_high - 2 * pcp->batch;
	for (int i = 0; i < k; i++)
		pages[i] = alloc_page(GFP_KERNEL);
	free1 = nr_free();
	m = min(k, pcp->high - pcp->count - 1);
	for (int i = 0; i < m; i++)
		__free_pages(pages[i], 0);
	ok(m > pcp->high_min, "bulk free: a run of %d frees is longer than high_min %d", m,
	   pcp->high_min);
	is_int(nr_free(), free1, "bulk free: a run of frees below the raised high stays on the "
	       "CPU's list, none reaches the buddy lists");
	for (int i = m; i < k; i++)
		__free_pages(pages[i], 0);
	drain_all_pages(NULL);
	is_int(pcp->count, 0, "drain_all_pages: the raised lists are empty");
	is_int(nr_free(), free0 + n, "drain_all_pages: every page is back in NR_FREE_PAGES");
	for (rounds = 0; refresh_pcp_high() && rounds < 1000; rounds++)
		;
	is_int(pcp->high, pcp->high_min, "decay: an idle CPU's high falls back to high_min in "
	       "refresh_pcp_high() rounds (%d)", rounds);
	free(pages);
	test_shutdown_ok("pcp high");
}

/*
 * Linux's ZONE_BELOW_HIGH: an allocation that finds the zone below its high
 * watermark marks it; frees then shrink high instead of raising it, so the
 * lists do not sit on pages the zone is short of; a free that trims with the
 * zone back above the watermark clears the mark.
 */
static void test_below_high(void)
{
	struct zone *normal;
	struct per_cpu_pages *pcp;
	struct page *page, *list = NULL;
	int high0, frees = 0, raised = 0;

	test_boot(64, 0, 0);
	normal = &pinmm_zones[ZONE_NORMAL];
	pcp = my_pcp(normal);
	ok(!test_bit(ZONE_BELOW_HIGH, &normal->flags), "below high: a fresh zone is above its "
	   "high watermark (%lu pages)", normal->high_wmark);
	while ((page = alloc_page(GFP_KERNEL))) {
		page->private = (unsigned long)list;
		list = page;
	}
	ok(test_bit(ZONE_BELOW_HIGH, &normal->flags), "below high: allocating the zone empty marks "
	   "it ZONE_BELOW_HIGH");
	high0 = pcp->high;
	ok(high0 > pcp->high_min, "below high: the refills before it raised high (%d)", high0);
	while (list && test_bit(ZONE_BELOW_HIGH, &normal->flags)) {
		int before = pcp->high;

		page = (struct page *)list->private;
		list->private = 0;
		__free_pages(list, 0);
		list = page;
		frees++;
		if (pcp->high > before)
			raised++;
		if (frees == 1)
			is_int(pcp->high, max(high0 - max(pcp->free_count, pcp->batch), pcp->high_min),
			       "below high: a free with the zone short lowers high by what was freed "
			       "in a row, at least a batch (nr_pcp_high)");
	}
	is_int(raised, 0, "below high: no free raises high while the zone is short (%d frees)",
	       frees);
	ok(!test_bit(ZONE_BELOW_HIGH, &normal->flags), "below high: a trim with the zone above its "
	   "high watermark again clears the mark");
	while (list) {
		page = (struct page *)list->private;
		list->private = 0;
		__free_pages(list, 0);
		list = page;
	}
	drain_all_pages(NULL);
	test_shutdown_ok("pcp below high");
}

static void test_thp_list(void)
{
	struct zone *normal;
	struct per_cpu_pages *pcp;
	struct folio *folio, *again;
	long free0;

	test_boot(1024, 0, 0);
	normal = &pinmm_zones[ZONE_NORMAL];
	pcp = my_pcp(normal);
	drain_all_pages(NULL);
	free0 = nr_free();
	folio = folio_alloc(GFP_HIGHUSER_MOVABLE, HPAGE_PMD_ORDER);
	is_int(nr_free(), free0 - (long)HPAGE_PMD_NR, "THP: an allocation takes one block (no "
	       "batch of THPs)");
	folio_put(folio);
	if (pcp->high_max > (int)HPAGE_PMD_NR) {
		is_int(nr_free(), free0 - (long)HPAGE_PMD_NR, "THP: a freed THP waits on the CPU's "
		       "THP list (high_max %d > 512)", pcp->high_max);
		again = folio_alloc(GFP_HIGHUSER_MOVABLE, HPAGE_PMD_ORDER);
		ok(again == folio, "THP: the next THP allocation gets it back");
		folio_put(again);
	} else {
		is_int(nr_free(), free0, "THP: with high %d below a THP the block goes straight "
		       "back to the buddy lists", pcp->high_max);
		skip(1, "no THP list at this size");
	}
	drain_all_pages(NULL);
	is_int(nr_free(), free0, "THP: drained, the block is free again");
	test_shutdown_ok("pcp THP");
}

/* ---- other CPUs ------------------------------------------------------------- */

struct parked {
	pthread_t thread;
	pthread_barrier_t *step;
	int cpu;
	unsigned int nr;	/* pages to allocate and free (onto its list) */
};

/* Allocate and free @nr pages, then wait (lists full) until told to exit. */
static void *parked_fn(void *arg)
{
	struct parked *p = arg;
	struct page **pages = calloc(p->nr, sizeof(*pages));

	p->cpu = smp_processor_id();
	for (unsigned int i = 0; i < p->nr; i++)
		pages[i] = alloc_page(GFP_HIGHUSER_MOVABLE);
	for (unsigned int i = 0; i < p->nr; i++)
		if (pages[i])
			__free_pages(pages[i], 0);
	free(pages);
	pthread_barrier_wait(p->step);	/* lists filled */
	pthread_barrier_wait(p->step);	/* may exit */
	return NULL;
}

static void park(struct parked *p, pthread_barrier_t *step, unsigned int nr)
{
	*p = (struct parked){ .step = step, .nr = nr };
	p->thread = start_thread(parked_fn, p);
	pthread_barrier_wait(step);
}

static void test_other_cpus(void)
{
	struct zone *movable;
	pthread_barrier_t step;
	struct parked a, b;
	long free0;
	int held;

	test_boot(256, 64, 0);
	movable = &pinmm_zones[ZONE_MOVABLE];
	drain_all_pages(NULL);
	free0 = nr_free();
	pthread_barrier_init(&step, NULL, 2);

	park(&a, &step, 8);
	held = movable->per_cpu_pageset[a.cpu].count;
	ok(a.cpu >= 0 && a.cpu != smp_processor_id(), "cpu: a second thread is another CPU "
	   "(%d, we are %d)", a.cpu, smp_processor_id());
	ok(held > 0 && nr_free() == free0 - held, "other CPU: its freed pages sit on its list "
	   "(%d), out of NR_FREE_PAGES", held);
	drain_all_pages(NULL);
	is_int(movable->per_cpu_pageset[a.cpu].count, 0, "drain_all_pages: a live CPU's lists "
	       "are emptied from here");
	is_int(nr_free(), free0, "drain_all_pages: its pages are free again");
	pthread_barrier_wait(&step);
	join_thread(a.thread);

	park(&b, &step, 8);
	is_int(b.cpu, a.cpu, "cpu: an exited thread's CPU id is given to the next thread");
	ok(movable->per_cpu_pageset[b.cpu].count > 0, "thread exit: the new thread has pages on "
	   "its list");
	pthread_barrier_wait(&step);
	join_thread(b.thread);
	is_int(movable->per_cpu_pageset[b.cpu].count, 0, "thread exit: an exiting thread drains "
	       "its lists (the CPU-dead callback)");
	is_int(nr_free(), free0, "thread exit: nothing stays behind: NR_FREE_PAGES is back without "
	       "a drain");
	pthread_barrier_destroy(&step);
	test_shutdown_ok("pcp other CPUs");
}

/* An allocation that finds the free lists empty drains other CPUs' lists and succeeds. */
static void test_failure_drains(void)
{
	pthread_barrier_t step;
	struct parked a;
	struct page *page, *list = NULL;
	unsigned long got = 0;
	long free0;

	test_boot(64, 0, 0);
	drain_all_pages(NULL);
	free0 = nr_free();
	pthread_barrier_init(&step, NULL, 2);
	park(&a, &step, 64);
	while ((page = alloc_page(GFP_KERNEL))) {
		page->private = (unsigned long)list;
		list = page;
		got++;
	}
	is_uint(got, (unsigned long)free0, "exhaustion: every free page was allocated, those "
		"on another CPU's list too (drained when the free lists ran dry)");
	while (list) {
		page = (struct page *)list->private;
		list->private = 0;
		__free_pages(list, 0);
		list = page;
	}
	pthread_barrier_wait(&step);
	join_thread(a.thread);
	pthread_barrier_destroy(&step);
	test_shutdown_ok("pcp exhaustion");
}

static void test_isolation(void)
{
	struct zone *movable;
	struct page *page;
	unsigned long pfn, start;
	int ret;

	test_boot(256, 64, 0);
	movable = &pinmm_zones[ZONE_MOVABLE];
	/* a page on this CPU's list, inside the range about to be taken */
	page = alloc_page(GFP_HIGHUSER_MOVABLE);
	pfn = page_to_pfn(page);
	__free_pages(page, 0);
	ok(my_pcp(movable)->count > 0, "contig: the page waits on this CPU's list");
	start = ALIGN_DOWN(pfn, pageblock_nr_pages);
	ret = alloc_contig_range(start, start + pageblock_nr_pages, MIGRATE_MOVABLE, GFP_KERNEL);
	is_int(ret, 0, "contig: alloc_contig_range drains the CPUs' lists before judging the "
	       "range busy");
	if (!ret)
		free_contig_range(start, pageblock_nr_pages);
	drain_all_pages(NULL);

	/* freed while its block is isolated: straight to the isolate free list */
	page = alloc_page(GFP_HIGHUSER_MOVABLE);
	pfn = page_to_pfn(page);
	spin_lock(&movable->lock);
	set_pageblock_migratetype_locked(movable, pfn, MIGRATE_ISOLATE);
	spin_unlock(&movable->lock);
	drain_all_pages(NULL);
	__free_pages(page, 0);
	ok(PageBuddy(page), "isolated block: a page freed there skips the per-CPU lists "
	   "(free_unref_page checks is_migrate_isolate)");
	spin_lock(&movable->lock);
	set_pageblock_migratetype_locked(movable, pfn, MIGRATE_MOVABLE);
	spin_unlock(&movable->lock);
	test_shutdown_ok("pcp isolation");
}

int main(void)
{
	watchdog(120);
	test_free_and_reuse();
	test_high_mark();
	test_below_high();
	test_thp_list();
	test_other_cpus();
	test_failure_drains();
	test_isolation();
	return done_testing();
}
