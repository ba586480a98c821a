// SPDX-License-Identifier: MIT
/*
 * Compaction (Linux mm/compaction.c): from a zone where user pages are
 * scattered so that no pageblock is free, compaction moves them to the top
 * of the zone and builds whole free order-9 blocks at the bottom; a failed
 * high-order allocation that may sleep compacts on its own and succeeds on
 * the retry; the compact_* counters say what happened.
 */
#include "helpers.h"

static unsigned long free_blocks(struct zone *zone, unsigned int order)
{
	unsigned long n;

	spin_lock(&zone->lock);
	n = zone->free_area[order].nr_free;
	spin_unlock(&zone->lock);
	return n;
}

/*
 * Fill ZONE_MOVABLE with user pages, then zap three of every four, so every
 * pageblock keeps a quarter of its pages in use. Returns the mapped length.
 */
static unsigned long fragment_movable(struct mm_struct *mm, uint64_t tag)
{
	unsigned long len = MG_MOVABLE_MB << 20;

	mg_mmap(MG_BASE, len);
	mg_fill(MG_BASE, len >> PAGE_SHIFT, tag);
	for (unsigned long off = 0; off < len; off += 4 * PAGE_SIZE)
		if (do_madvise(mm, MG_BASE + off + PAGE_SIZE, 3 * PAGE_SIZE, MADV_DONTNEED))
			bail_out("MADV_DONTNEED failed");
	return len;
}

/* The kept pages still hold their pattern. */
static unsigned long check_kept(unsigned long len, uint64_t tag)
{
	unsigned long bad = 0;

	for (unsigned long off = 0; off < len; off += 4 * PAGE_SIZE) {
		uint64_t v = 0;

		if (get_user(v, (uint64_t __user *)(MG_BASE + off)) ||
		    v != mg_word(tag, off >> PAGE_SHIFT, 0))
			bad++;
	}
	return bad;
}

static void test_compact_zone_now(void)
{
	struct task_struct *t;
	struct zone *zone = &pinmm_zones[ZONE_MOVABLE];
	unsigned long len, before, after;
	long scanned0, free_scanned0, isolated0, succ0;
	int moved;

	mg_boot();
	t = test_process("compact");
	len = fragment_movable(t->mm, 21);
	before = free_blocks(zone, pageblock_order);
	is_uint(before, 0, "compaction: the fragmented zone has no free order-9 block");
	scanned0 = ev(COMPACTMIGRATE_SCANNED);
	free_scanned0 = ev(COMPACTFREE_SCANNED);
	isolated0 = ev(COMPACTISOLATED);
	succ0 = ev(PGMIGRATE_SUCCESS);

	moved = compact_zone_now(zone);
	after = free_blocks(zone, pageblock_order);
	ok(moved > 0, "compaction: compact_zone_now migrated pages (%d)", moved);
	ok(after >= 8, "compaction: it built free order-9 blocks out of the fragmented zone "
	   "(%lu of %lu pageblocks)", after, zone->spanned_pages / pageblock_nr_pages);
	is_uint(check_kept(len, 21), 0, "compaction: every kept page reads back the same");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, moved,
	       "compaction: pgmigrate_success counts exactly the pages it reported");
	ok(ev(COMPACTMIGRATE_SCANNED) > scanned0, "compaction: compact_migrate_scanned moved");
	ok(ev(COMPACTFREE_SCANNED) > free_scanned0, "compaction: compact_free_scanned moved");
	ok(ev(COMPACTISOLATED) - isolated0 >= 2L * moved,
	   "compaction: compact_isolated counts both the folios and the free pages taken");
	is_int(pinmm_check_zone(zone, true), 0, "compaction: free lists consistent afterwards");
	is_int(compact_zone_now(&pinmm_zones[ZONE_DEVICE]), -EINVAL,
	       "compaction: ZONE_DEVICE cannot be compacted (-EINVAL)");
	mg_teardown("compact_zone_now", &t, 1);
}

/* A failed order-9 allocation that may sleep compacts and retries. */
static void test_direct_compaction(void)
{
	struct page *held[64];
	unsigned int nheld = 0;
	struct task_struct *t;
	struct zone *normal = &pinmm_zones[ZONE_NORMAL];
	struct page *page;
	unsigned long len;
	long stall0, success0;

	mg_boot();
	t = test_process("direct");
	len = fragment_movable(t->mm, 22);
	/* take every free order-9 block of ZONE_NORMAL, without compacting for them */
	while (nheld < ARRAY_SIZE(held) && (page = alloc_pages(GFP_NOWAIT | __GFP_MOVABLE, 9)))
		held[nheld++] = page;
	ok(free_blocks(normal, 9) == 0 && free_blocks(&pinmm_zones[ZONE_MOVABLE], 9) == 0,
	   "direct compaction: no free order-9 block anywhere (%u taken)", nheld);
	page = alloc_pages(GFP_NOWAIT | __GFP_MOVABLE | __GFP_HIGHMEM, 9);
	ok(!page, "direct compaction: without __GFP_DIRECT_RECLAIM an order-9 request fails");
	if (page)
		__free_pages(page, 9);
	stall0 = ev(COMPACTSTALL);
	success0 = ev(COMPACTSUCCESS);
	page = alloc_pages(GFP_HIGHUSER_MOVABLE, 9);
	ok(page != NULL, "direct compaction: with __GFP_DIRECT_RECLAIM it compacts and succeeds");
	is_int(ev(COMPACTSTALL) - stall0, 1, "direct compaction: compact_stall +1");
	is_int(ev(COMPACTSUCCESS) - success0, 1, "direct compaction: compact_success +1");
	is_uint(check_kept(len, 22), 0, "direct compaction: the user data is intact");
	if (page)
		__free_pages(page, 9);
	while (nheld)
		__free_pages(held[--nheld], 9);
	mg_teardown("direct compaction", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_compact_zone_now();
	test_direct_compaction();
	return done_testing();
}
