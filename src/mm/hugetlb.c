// SPDX-License-Identifier: MIT
/*
 * hugetlb: the pool of 2 MiB pages, MAP_HUGETLB mappings, their faults,
 * COW, fork, zap, mprotect and migration (Linux: mm/hugetlb.c).
 * The policy is in include/pinmm/hugetlb.h and docs/hugetlb.md.
 */
#include <pinmm/fs.h>
#include <pinmm/hugetlb.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mman.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/race.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <pinmm/slab.h>
#include <pinmm/task.h>
#include <pinmm/vmstat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct hstate hstates[HUGE_MAX_HSTATE];

/* Linux's hugetlb_fault_mutex_table: one fault per (mapping or mm, index) at a time. */
#define HUGETLB_FAULT_MUTEXES	64
static struct mutex hugetlb_fault_mutex_table[HUGETLB_FAULT_MUTEXES];

/* ---- folio->private flags ---------------------------------------------------------- */

static inline void hpg_set(struct folio *folio, enum hugetlb_page_flags f)
{
	__atomic_fetch_or((unsigned long *)&folio->private, 1UL << f, __ATOMIC_RELAXED);
}

static inline void hpg_clear(struct folio *folio, enum hugetlb_page_flags f)
{
	__atomic_fetch_and((unsigned long *)&folio->private, ~(1UL << f), __ATOMIC_RELAXED);
}

static inline bool hpg_test(const struct folio *folio, enum hugetlb_page_flags f)
{
	return (__atomic_load_n((unsigned long *)&folio->private, __ATOMIC_RELAXED) >> f) & 1;
}

static inline enum zone_type hfolio_zone(const struct folio *folio)
{
	return page_zonenum(&folio->page);
}

struct hstate *size_to_hstate(unsigned long size)
{
	for (int i = 0; i < HUGE_MAX_HSTATE; i++)
		if (huge_page_size(&hstates[i]) == size)
			return &hstates[i];
	return NULL;
}

struct hstate *folio_hstate(const struct folio *folio)
{
	return folio_order(folio) == GIGANTIC_PAGE_ORDER ? &hstates[1] : &hstates[0];
}

/* ---- host memory of gigantic pages ----------------------------------------------------- */

/*
 * A gigantic page is cleared by handing its frames' host memory back
 * (MADV_DONTNEED on the private arena reads back as zeroes): a memset would
 * make the host back the whole GiB. Small pages are cleared as usual.
 */
static void hugetlb_clear_folio(struct hstate *h, struct folio *folio)
{
	void *p = folio_address(folio);

	if (!hstate_is_gigantic(h) || madvise(p, huge_page_size(h), MADV_DONTNEED))
		memset(p, 0, huge_page_size(h));
}

static bool frame_is_zero(const unsigned long *p)
{
	for (unsigned long i = 0; i < PAGE_SIZE / sizeof(*p); i++)
		if (p[i])
			return false;
	return true;
}

/* Copy a huge page; a gigantic one copies only its non-zero frames into a cleared target. */
static void hugetlb_copy_folio(struct hstate *h, struct folio *dst, struct folio *src)
{
	char *d = folio_address(dst), *s = folio_address(src);

	if (!hstate_is_gigantic(h)) {
		memcpy(d, s, huge_page_size(h));
		return;
	}
	hugetlb_clear_folio(h, dst);
	for (unsigned long off = 0; off < huge_page_size(h); off += PAGE_SIZE)
		if (!frame_is_zero((const unsigned long *)(s + off)))
			memcpy(d + off, s + off, PAGE_SIZE);
}

/* ---- the pool ------------------------------------------------------------------------ */

/* GFP of pool pages: 2 MiB pages migrate, so they may live in movable memory. */
#define HTLB_ALLOC_GFP	(GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

/*
 * Might alloc_contig_range() empty [@start, @start + @nr)? Every frame free
 * (not a hugetlb pool page) or part of an LRU folio, every pageblock plain
 * MOVABLE (not CMA, not being isolated). Unlocked: a hint, the allocation
 * decides (Linux: pfn_range_valid_contig()).
 */
static bool gigantic_range_may_move(unsigned long start, unsigned long nr)
{
	for (unsigned long pfn = start; pfn < start + nr; pfn++) {
		struct page *page = pfn_to_page(pfn);

		if (IS_ALIGNED(pfn, pageblock_nr_pages) &&
		    get_pfnblock_migratetype(pfn) != MIGRATE_MOVABLE)
			return false;
		if (page_has_type(page, PGTY_hugetlb))
			return false;
		if (page_ref_count(page) && !folio_test_lru(page_folio(page)))
			return false;
	}
	return true;
}

/*
 * Frames for a gigantic page, each with one reference: the CMA area first
 * (Linux's hugetlb_cma), then a 1 GiB aligned range of ZONE_NORMAL that can
 * be emptied. Gigantic pages are not movable-zone pages (Linux's
 * hugepage_movable_supported() is false for them), so ZONE_MOVABLE is not tried.
 */
static struct page *alloc_gigantic_frames(struct hstate *h)
{
	unsigned long nr = pages_per_huge_page(h);
	struct zone *zone = &pinmm_zones[ZONE_NORMAL];
	unsigned long end = zone->zone_start_pfn + zone->spanned_pages;
	struct page *page = cma_alloc_pages(nr, huge_page_order(h));

	if (page)
		return page;
	for (unsigned long pfn = ALIGN(zone->zone_start_pfn, nr); pfn + nr <= end; pfn += nr) {
		if (!gigantic_range_may_move(pfn, nr))
			continue;
		if (!alloc_contig_range(pfn, pfn + nr, MIGRATE_MOVABLE, GFP_KERNEL | __GFP_NOWARN))
			return pfn_to_page(pfn);
	}
	return NULL;
}

/* A fresh hugetlb folio (order 9 from the buddy allocator, or gigantic), typed; refcount 1. */
static struct folio *alloc_fresh_hugetlb_folio(struct hstate *h, gfp_t gfp)
{
	struct folio *folio;

	if (hstate_is_gigantic(h)) {
		struct page *page = alloc_gigantic_frames(h);

		if (!page)
			return NULL;
		prep_compound_gigantic_folio(page, huge_page_order(h));
		folio = page_folio(page);
	} else {
		folio = folio_alloc(gfp, huge_page_order(h));
	}
	if (!folio)
		return NULL;
	folio->private = NULL;
	atomic_store_explicit(&folio->page.page_type, (unsigned int)PGTY_hugetlb << 24,
			      memory_order_release);
	return folio;
}

/* Give an unreferenced hugetlb folio that left the pool back to the buddy allocator. */
static void update_and_free_hugetlb_folio(struct folio *folio)
{
	VM_BUG_ON_FOLIO(folio_ref_count(folio), folio);
	folio->private = NULL;
	/* the page type shares the word with _mapcount: back to "unmapped" */
	atomic_store_explicit(&folio->page.page_type, UINT32_MAX, memory_order_relaxed);
	set_page_count(&folio->page, 1);
	if (folio_order(folio) > MAX_PAGE_ORDER) {
		struct page *page = &folio->page;
		unsigned long nr = folio_nr_pages(folio);

		/* the host need not keep a GiB of stale contents */
		madvise(folio_address(folio), nr << PAGE_SHIFT, MADV_DONTNEED);
		destroy_compound_gigantic_folio(folio);
		if (!cma_release_pages(page, nr))
			free_contig_range(page_to_pfn(page), nr);
		return;
	}
	folio_put(folio);
}

static void account_new_locked(struct hstate *h, struct folio *folio)
{
	lockdep_assert_held(&h->lock);
	h->nr_huge_pages++;
	h->nr_huge_pages_zone[hfolio_zone(folio)]++;
}

/* Onto the free list of its zone; refcount 0 so no speculative get succeeds. */
static void enqueue_hugetlb_folio(struct hstate *h, struct folio *folio)
{
	enum zone_type z = hfolio_zone(folio);

	lockdep_assert_held(&h->lock);
	VM_BUG_ON_FOLIO(folio_ref_count(folio), folio);
	list_add_tail(&folio->lru, &h->freelist[z]);
	h->free_huge_pages++;
	h->free_huge_pages_zone[z]++;
	hpg_set(folio, HPG_freed);
}

static void unlink_free_locked(struct hstate *h, struct folio *folio)
{
	enum zone_type z = hfolio_zone(folio);

	list_del_init(&folio->lru);
	h->free_huge_pages--;
	h->free_huge_pages_zone[z]--;
	hpg_clear(folio, HPG_freed);
}

/*
 * A free folio: movable memory first when @movable_ok (as the zonelist of a
 * movable allocation), else only folios that may stay pinned long-term.
 * Isolated pageblocks (CMA or offlining in progress) are skipped.
 */
static struct folio *dequeue_hugetlb_folio(struct hstate *h, bool movable_ok)
{
	static const enum zone_type order[] = { ZONE_MOVABLE, ZONE_NORMAL };

	lockdep_assert_held(&h->lock);
	for (unsigned int i = 0; i < ARRAY_SIZE(order); i++) {
		struct folio *folio;

		if (!movable_ok && order[i] == ZONE_MOVABLE)
			continue;
		list_for_each_entry(folio, &h->freelist[order[i]], lru) {
			if (get_pfnblock_migratetype(folio_pfn(folio)) == MIGRATE_ISOLATE)
				continue;
			if (!movable_ok && !folio_is_longterm_pinnable(folio))
				continue;
			unlink_free_locked(h, folio);
			/* release: the folio's state is published with the reference */
			atomic_store_explicit(&folio->_refcount, 1, memory_order_release);
			return folio;
		}
	}
	return NULL;
}

/* Take one free page out of the pool (to shrink it); NULL if none. */
static struct folio *remove_pool_free_folio(struct hstate *h, bool surplus)
{
	static const enum zone_type order[] = { ZONE_NORMAL, ZONE_MOVABLE };

	lockdep_assert_held(&h->lock);
	for (unsigned int i = 0; i < ARRAY_SIZE(order); i++) {
		enum zone_type z = order[i];
		struct folio *folio;

		if (list_empty(&h->freelist[z]) || (surplus && !h->surplus_huge_pages_zone[z]))
			continue;
		folio = list_first_entry(&h->freelist[z], struct folio, lru);
		unlink_free_locked(h, folio);
		h->nr_huge_pages--;
		h->nr_huge_pages_zone[z]--;
		if (surplus) {
			h->surplus_huge_pages--;
			h->surplus_huge_pages_zone[z]--;
		}
		return folio;
	}
	return NULL;
}

/* Move one page between persistent and surplus (@delta -1 or +1). */
static bool adjust_pool_surplus(struct hstate *h, int delta)
{
	lockdep_assert_held(&h->lock);
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		if (delta < 0 && h->surplus_huge_pages_zone[z]) {
			h->surplus_huge_pages_zone[z]--;
			h->surplus_huge_pages--;
			return true;
		}
		if (delta > 0 && h->surplus_huge_pages_zone[z] < h->nr_huge_pages_zone[z]) {
			h->surplus_huge_pages_zone[z]++;
			h->surplus_huge_pages++;
			return true;
		}
	}
	return false;
}

static unsigned long persistent_huge_pages(const struct hstate *h)
{
	return h->nr_huge_pages - h->surplus_huge_pages;
}

static unsigned long available_huge_pages(const struct hstate *h)
{
	return h->free_huge_pages - h->resv_huge_pages;
}

/* Linux's set_max_huge_pages() for one hstate. */
static unsigned long set_max_huge_pages(struct hstate *h, unsigned long count)
{
	unsigned long min_count, ret;

	spin_lock(&h->lock);
	h->max_huge_pages = count;
	/* surplus pages in use become persistent first (no allocation needed) */
	while (h->surplus_huge_pages && persistent_huge_pages(h) < count)
		if (!adjust_pool_surplus(h, -1))
			break;
	while (persistent_huge_pages(h) < count) {
		struct folio *folio;

		spin_unlock(&h->lock);
		folio = alloc_fresh_hugetlb_folio(h, HTLB_ALLOC_GFP);
		spin_lock(&h->lock);
		if (!folio)
			break;	/* beyond memory: keep what we got, as Linux */
		set_page_count(&folio->page, 0);
		account_new_locked(h, folio);
		enqueue_hugetlb_folio(h, folio);
	}
	/* never below what is in use or promised */
	min_count = h->resv_huge_pages + h->nr_huge_pages - h->free_huge_pages;
	min_count = max(min_count, count);
	while (persistent_huge_pages(h) > min_count && available_huge_pages(h)) {
		struct folio *folio = remove_pool_free_folio(h, false);

		if (!folio)
			break;
		spin_unlock(&h->lock);
		update_and_free_hugetlb_folio(folio);
		spin_lock(&h->lock);
	}
	/* what is left above @count is in use: surplus, freed on its last put */
	while (persistent_huge_pages(h) > count)
		if (!adjust_pool_surplus(h, 1))
			break;
	ret = persistent_huge_pages(h);
	spin_unlock(&h->lock);
	return ret;
}

unsigned long pinmm_hugetlb_set_nr_hugepages(unsigned long count)
{
	return set_max_huge_pages(&default_hstate, count);
}

long pinmm_hugepages_set_nr(unsigned long size, unsigned long count)
{
	struct hstate *h = size_to_hstate(size);

	if (!h)
		return -EINVAL;
	return (long)set_max_huge_pages(h, count);
}

int pinmm_hugepages_set_overcommit(unsigned long size, unsigned long count)
{
	struct hstate *h = size_to_hstate(size);

	/* gigantic pages cannot be allocated at fault time: no surplus (Linux: -EINVAL) */
	if (!h || hstate_is_gigantic(h))
		return -EINVAL;
	spin_lock(&h->lock);
	h->nr_overcommit_huge_pages = count;
	spin_unlock(&h->lock);
	return 0;
}

void pinmm_hugetlb_set_overcommit(unsigned long count)
{
	pinmm_hugepages_set_overcommit(HPAGE_SIZE, count);
}

void hugetlb_read_counts(struct hugetlb_counts *c)
{
	hstate_read_counts(&default_hstate, c);
}

void hstate_read_counts(struct hstate *h, struct hugetlb_counts *c)
{
	struct folio *folio;

	spin_lock(&h->lock);
	c->free_cma = 0;
	list_for_each_entry(folio, &h->freelist[ZONE_NORMAL], lru)
		c->free_cma += is_migrate_cma(get_pfnblock_migratetype(folio_pfn(folio)));
	c->nr = h->nr_huge_pages;
	c->free = h->free_huge_pages;
	c->resv = h->resv_huge_pages;
	c->surplus = h->surplus_huge_pages;
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		c->nr_zone[z] = h->nr_huge_pages_zone[z];
		c->free_zone[z] = h->free_huge_pages_zone[z];
	}
	spin_unlock(&h->lock);
}

void hugetlb_report_meminfo(FILE *out)
{
	unsigned long total_kb = 0;
	struct hugetlb_counts c;

	/* as Linux: HugePages_* of the default hstate; Hugetlb counts every size */
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		hstate_read_counts(&hstates[i], &c);
		total_kb += c.nr * (huge_page_size(&hstates[i]) / 1024);
	}
	hugetlb_read_counts(&c);
	fprintf(out, "HugePages_Total:   %5lu\nHugePages_Free:    %5lu\n"
		"HugePages_Rsvd:    %5lu\nHugePages_Surp:    %5lu\n",
		c.nr, c.free, c.resv, c.surplus);
	fprintf(out, "%-16s%8lu kB\n", "Hugepagesize:", HPAGE_SIZE / 1024);
	fprintf(out, "%-16s%8lu kB\n", "Hugetlb:", total_kb);
}

/* Free surplus pages nobody holds or was promised (Linux: return_unused_surplus_pages). */
static void return_unused_surplus_pages(struct hstate *h)
{
	spin_lock(&h->lock);
	while (h->surplus_huge_pages && available_huge_pages(h)) {
		struct folio *folio = remove_pool_free_folio(h, true);

		if (!folio)
			break;
		spin_unlock(&h->lock);
		update_and_free_hugetlb_folio(folio);
		spin_lock(&h->lock);
	}
	spin_unlock(&h->lock);
}

/*
 * Reserve @delta more pages (or give back -@delta). Beyond the free pages,
 * overcommit may add surplus pages (Linux: gather_surplus_pages).
 */
static int hugetlb_acct_memory(struct hstate *h, long delta)
{
	unsigned long needed;

	if (delta <= 0) {
		spin_lock(&h->lock);
		VM_BUG_ON(h->resv_huge_pages < (unsigned long)-delta);
		h->resv_huge_pages -= (unsigned long)-delta;
		spin_unlock(&h->lock);
		return_unused_surplus_pages(h);
		return 0;
	}
	spin_lock(&h->lock);
	for (;;) {
		if (available_huge_pages(h) >= (unsigned long)delta) {
			h->resv_huge_pages += (unsigned long)delta;
			spin_unlock(&h->lock);
			return 0;
		}
		needed = (unsigned long)delta - available_huge_pages(h);
		if (h->surplus_huge_pages + needed > h->nr_overcommit_huge_pages)
			break;
		spin_unlock(&h->lock);
		struct folio *folio = alloc_fresh_hugetlb_folio(h, HTLB_ALLOC_GFP);
		spin_lock(&h->lock);
		if (!folio)
			break;
		set_page_count(&folio->page, 0);
		account_new_locked(h, folio);
		h->surplus_huge_pages++;
		h->surplus_huge_pages_zone[hfolio_zone(folio)]++;
		enqueue_hugetlb_folio(h, folio);
	}
	spin_unlock(&h->lock);
	return_unused_surplus_pages(h);
	return -ENOMEM;
}

int hugetlb_acct_pages(struct hstate *h, long delta)
{
	return hugetlb_acct_memory(h, delta);
}

/*
 * A page for a fault or a copy: from a reservation (@use_reserve, always
 * there), else from the unreserved free pages, else a surplus page within
 * overcommit. Refcount 1.
 */
static struct folio *alloc_hugetlb_folio(struct hstate *h, bool use_reserve)
{
	/* under FOLL_LONGTERM (memalloc_pin_save) a fault takes pinnable memory first */
	bool movable_ok = current_gfp_context(GFP_HIGHUSER_MOVABLE) & __GFP_MOVABLE;
	struct folio *folio = NULL;

	spin_lock(&h->lock);
	if (use_reserve || available_huge_pages(h)) {
		folio = dequeue_hugetlb_folio(h, movable_ok);
		if (!folio && !movable_ok)	/* the pin migrates it afterwards */
			folio = dequeue_hugetlb_folio(h, true);
		if (folio && use_reserve) {
			h->resv_huge_pages--;
			hpg_set(folio, HPG_restore_reserve);
		}
	}
	if (!folio && h->surplus_huge_pages < h->nr_overcommit_huge_pages) {
		/* counted first, so racing faults cannot overshoot overcommit */
		h->surplus_huge_pages++;
		h->nr_huge_pages++;
		spin_unlock(&h->lock);
		folio = alloc_fresh_hugetlb_folio(h, current_gfp_context(HTLB_ALLOC_GFP));
		spin_lock(&h->lock);
		if (folio) {
			h->nr_huge_pages_zone[hfolio_zone(folio)]++;
			h->surplus_huge_pages_zone[hfolio_zone(folio)]++;
		} else {
			h->surplus_huge_pages--;
			h->nr_huge_pages--;
		}
	}
	spin_unlock(&h->lock);
	return folio;
}

void free_huge_folio(struct folio *folio)
{
	struct hstate *h = folio_hstate(folio);
	enum zone_type z = hfolio_zone(folio);
	bool restore = hpg_test(folio, HPG_restore_reserve);

	VM_BUG_ON_FOLIO(folio_pincount(folio), folio);
	VM_BUG_ON_FOLIO(folio_mapped(folio), folio);
	atomic_store_explicit(&folio->mapping, NULL, memory_order_relaxed);
	folio->index = 0;
	/* only the head, the zone and the order-carrying bits survive in the pool */
	atomic_fetch_and_explicit(&folio->flags, BIT(PG_head) | (ZONES_MASK << ZONES_PGSHIFT),
				  memory_order_relaxed);
	hpg_clear(folio, HPG_restore_reserve);
	hpg_clear(folio, HPG_isolated);

	spin_lock(&h->lock);
	if (restore)
		h->resv_huge_pages++;	/* allocated for a reservation, never mapped */
	if (hpg_test(folio, HPG_temporary)) {
		h->nr_huge_pages--;
		h->nr_huge_pages_zone[z]--;
		spin_unlock(&h->lock);
		update_and_free_hugetlb_folio(folio);
		return;
	}
	if (h->surplus_huge_pages_zone[z]) {
		h->nr_huge_pages--;
		h->nr_huge_pages_zone[z]--;
		h->surplus_huge_pages--;
		h->surplus_huge_pages_zone[z]--;
		spin_unlock(&h->lock);
		update_and_free_hugetlb_folio(folio);
		return;
	}
	enqueue_hugetlb_folio(h, folio);
	spin_unlock(&h->lock);
}

static void resv_boot(void);

void hugetlb_boot(unsigned long nr_hugepages)
{
	static const unsigned int orders[HUGE_MAX_HSTATE] = { HUGETLB_PAGE_ORDER,
							      GIGANTIC_PAGE_ORDER };

	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct hstate *h = &hstates[i];

		memset(h, 0, sizeof(*h));
		spin_lock_init(&h->lock, LOCK_RANK_LEAF);
		h->order = orders[i];
		for (int z = 0; z < MAX_NR_ZONES; z++)
			INIT_LIST_HEAD(&h->freelist[z]);
	}
	resv_boot();
	for (int i = 0; i < HUGETLB_FAULT_MUTEXES; i++)
		mutex_init(&hugetlb_fault_mutex_table[i], LOCK_RANK_HUGETLB_FAULT);
	if (nr_hugepages)
		pinmm_hugetlb_set_nr_hugepages(nr_hugepages);
}

void hugetlb_shutdown(void)
{
	/* free pages go home; pages still in use are leaks the machine reports */
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct hstate *h = &hstates[i];
		struct folio *folio;

		spin_lock(&h->lock);
		while ((folio = remove_pool_free_folio(h, false))) {
			spin_unlock(&h->lock);
			update_and_free_hugetlb_folio(folio);
			spin_lock(&h->lock);
		}
		h->max_huge_pages = 0;
		spin_unlock(&h->lock);
	}
}

/* ---- rmap of hugetlb folios (Linux: hugetlb_*_rmap in include/linux/rmap.h) -------- */

/*
 * A hugetlb folio is only ever mapped whole: _entire_mapcount and
 * _large_mapcount move together, and no vmstat counts it (HugePages_* do).
 */
static void hugetlb_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma,
				      unsigned long address)
{
	struct anon_vma *av = vma_anon_vma(vma);

	VM_BUG_ON(!av);
	folio->index = linear_page_index(vma, address);
	atomic_store_explicit(&folio->mapping,
			      (struct address_space *)((unsigned long)av | PAGE_MAPPING_ANON),
			      memory_order_release);
	atomic_store_explicit(&folio->_entire_mapcount, 0, memory_order_relaxed);
	atomic_store_explicit(&folio->_large_mapcount, 0, memory_order_relaxed);
	SetPageAnonExclusive(&folio->page);
	hpg_clear(folio, HPG_restore_reserve);
}

static void hugetlb_add_rmap(struct folio *folio)
{
	atomic_fetch_add_explicit(&folio->_entire_mapcount, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&folio->_large_mapcount, 1, memory_order_relaxed);
}

static void hugetlb_remove_rmap(struct folio *folio)
{
	atomic_fetch_sub_explicit(&folio->_entire_mapcount, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&folio->_large_mapcount, 1, memory_order_relaxed);
}

/* fork: -EBUSY if the folio must be copied for the child (maybe pinned). */
static int hugetlb_try_dup_anon_rmap(struct folio *folio, struct vm_area_struct *src)
{
	if (PageAnonExclusive(&folio->page)) {
		if (folio_needs_cow_for_dma(src, folio))
			return -EBUSY;
		ClearPageAnonExclusive(&folio->page);
	}
	hugetlb_add_rmap(folio);
	return 0;
}

/* ---- reservation maps of private mappings ----------------------------------------- */

/*
 * Huge-page indices [first, first + nr) of a private mapping, one bit each:
 * still reserved (set at mmap, cleared by the fault that consumes it or at
 * unmap). The halves of a split VMA share the map; the mm that created it
 * owns it, a forked child's copy of the VMA does not.
 */
struct resv_map {
	atomic_int refs;
	struct hstate *h;		/* the VMA's page size (Linux finds it by the file) */
	struct mm_struct *owner;
	spinlock_t lock;
	pgoff_t first;
	unsigned long nr;
	unsigned long bits[];
};

#define RESV_BITS	(8 * sizeof(unsigned long))

/* Under map->lock: plain bit operations on a bitmap of any length. */
static bool resv_test(const struct resv_map *map, unsigned long i)
{
	return (map->bits[i / RESV_BITS] >> (i % RESV_BITS)) & 1;
}

static void resv_assign(struct resv_map *map, unsigned long i, bool v)
{
	if (v)
		map->bits[i / RESV_BITS] |= 1UL << (i % RESV_BITS);
	else
		map->bits[i / RESV_BITS] &= ~(1UL << (i % RESV_BITS));
}

/*
 * An empty map per hstate, owned by nobody: what a MAP_NORESERVE VMA and a
 * forked child's VMA hold, so every anonymous hugetlb VMA names its hstate
 * (and VMAs of different sizes never merge).
 */
static struct resv_map no_resv_maps[HUGE_MAX_HSTATE];

static void resv_boot(void)
{
	for (int i = 0; i < HUGE_MAX_HSTATE; i++) {
		struct resv_map *map = &no_resv_maps[i];

		atomic_init(&map->refs, 1);
		map->h = &hstates[i];
		spin_lock_init(&map->lock, LOCK_RANK_LEAF);
	}
}

static bool is_no_resv_map(const struct resv_map *map)
{
	return map >= no_resv_maps && map < no_resv_maps + HUGE_MAX_HSTATE;
}

static struct resv_map *no_resv_map(struct hstate *h)
{
	return &no_resv_maps[h - hstates];
}

static struct resv_map *vma_resv_map(struct vm_area_struct *vma)
{
	return vma->vm_private_data;
}

struct hstate *hstate_vma(struct vm_area_struct *vma)
{
	struct resv_map *map = vma_resv_map(vma);

	/* a hugetlbfs file says its page size (its mount's); anon VMAs carry a map */
	if (vma->vm_file)
		return hstate_file(vma->vm_file);
	if (!map)
		return &default_hstate;
	return map->h;
}

static pgoff_t vma_hugecache_offset(struct vm_area_struct *vma, unsigned long addr)
{
	return linear_page_index(vma, addr) >> huge_page_order(hstate_vma(vma));
}

/* Consume the reservation of @idx if there is one. */
static bool resv_consume(struct resv_map *map, pgoff_t idx)
{
	bool had = false;

	if (!map || idx < map->first || idx >= map->first + map->nr)
		return false;
	spin_lock(&map->lock);
	had = resv_test(map, idx - map->first);
	resv_assign(map, idx - map->first, false);
	spin_unlock(&map->lock);
	return had;
}

/* A fault that consumed @idx lost its race: the reservation is the VMA's again. */
static void resv_restore(struct resv_map *map, pgoff_t idx)
{
	spin_lock(&map->lock);
	resv_assign(map, idx - map->first, true);
	spin_unlock(&map->lock);
}

/* Release the unconsumed reservations of [first, last]. */
static void resv_release_range(struct resv_map *map, pgoff_t first, pgoff_t last)
{
	long n = 0;

	spin_lock(&map->lock);
	for (pgoff_t i = max(first, map->first); i <= last && i < map->first + map->nr; i++) {
		if (resv_test(map, i - map->first)) {
			resv_assign(map, i - map->first, false);
			n++;
		}
	}
	spin_unlock(&map->lock);
	if (n)
		hugetlb_acct_memory(map->h, -n);
}

static void resv_map_put(struct resv_map *map)
{
	if (!is_no_resv_map(map) && atomic_fetch_sub(&map->refs, 1) == 1)
		free(map);
}

int hugetlb_reserve_pages(struct hstate *h, pgoff_t pgoff, unsigned long len,
			  vm_flags_t vm_flags, void **resv)
{
	unsigned long nr = len >> (PAGE_SHIFT + huge_page_order(h));
	struct resv_map *map;
	int err;

	*resv = no_resv_map(h);
	if (vm_flags & VM_NORESERVE)
		return 0;
	map = calloc(1, sizeof(*map) + (nr + RESV_BITS - 1) / RESV_BITS * sizeof(unsigned long));
	if (!map)
		return -ENOMEM;
	err = hugetlb_acct_memory(h, (long)nr);
	if (err) {
		free(map);
		*resv = NULL;
		return err;
	}
	atomic_init(&map->refs, 1);
	map->h = h;
	map->owner = current->mm;
	spin_lock_init(&map->lock, LOCK_RANK_LEAF);
	map->first = pgoff >> huge_page_order(h);
	map->nr = nr;
	for (unsigned long i = 0; i < nr; i++)
		resv_assign(map, i, true);
	*resv = map;
	return 0;
}

void hugetlb_unreserve_map(void *resv)
{
	struct resv_map *map = resv;

	if (!map)
		return;
	resv_release_range(map, map->first, map->first + map->nr - 1);
	resv_map_put(map);
}

static void hugetlb_vm_op_open(struct vm_area_struct *vma)
{
	struct resv_map *map = vma_resv_map(vma);

	if (!map || is_no_resv_map(map))
		return;
	/* fork: the child's VMA owns no reservation (Linux: hugetlb_dup_vma_private) */
	if (vma->vm_mm != map->owner) {
		vma->vm_private_data = vma->vm_file ? NULL : no_resv_map(map->h);
		return;
	}
	atomic_fetch_add(&map->refs, 1);	/* the other half of a split */
}

static void hugetlb_vm_op_close(struct vm_area_struct *vma)
{
	struct resv_map *map = vma_resv_map(vma);

	if (!map)
		return;
	resv_release_range(map, vma_hugecache_offset(vma, vma->vm_start),
			   vma_hugecache_offset(vma, vma->vm_end - 1));
	vma->vm_private_data = NULL;
	resv_map_put(map);
}

/* munmap/mprotect may only cut a hugetlb VMA at a huge page boundary. */
static int hugetlb_vm_op_split(struct vm_area_struct *vma, unsigned long addr)
{
	return (addr & ~huge_page_mask(hstate_vma(vma))) ? -EINVAL : 0;
}

static vm_fault_t hugetlb_vm_op_fault(struct vm_fault *vmf)
{
	/* handle_mm_fault() sends hugetlb VMAs to hugetlb_fault(); never here */
	(void)vmf;
	WARN_ON_ONCE(1);
	return VM_FAULT_SIGBUS;
}

static const char *hugetlb_vm_op_name(struct vm_area_struct *vma)
{
	(void)vma;
	return "anon_hugepage";
}

const struct vm_operations_struct hugetlb_vm_ops = {
	.open = hugetlb_vm_op_open,
	.close = hugetlb_vm_op_close,
	.may_split = hugetlb_vm_op_split,
	.fault = hugetlb_vm_op_fault,
	.name = hugetlb_vm_op_name,
};

int hugetlb_mmap_check(struct file *file, unsigned long flags, unsigned long *len,
		       struct hstate **hp)
{
	unsigned int log = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
	struct hstate *h;

	/* a file's page size is its own; MAP_HUGE_* bits only choose for anon */
	if (file)
		h = hstate_file(file);
	else
		h = log ? size_to_hstate(1UL << log) : &default_hstate;

	if (!h)
		return -EINVAL;	/* Linux's hstate_sizelog(): no pool of that size */
	*len = ALIGN(*len, huge_page_size(h));
	if (!*len)
		return -ENOMEM;
	*hp = h;
	return 0;
}

/*
 * The entry that maps @addr with a huge page of @h: a PMD, or for gigantic
 * pages a PUD seen through the same type (the leaf bits are the same, and
 * pmd_lock() of it takes its table's lock, the PUD table's here).
 */
static pmd_t *huge_pte_offset(struct mm_struct *mm, struct hstate *h, unsigned long addr)
{
	if (hstate_is_gigantic(h))
		return (pmd_t *)mm_find_pud(mm, addr);
	return mm_find_pmd(mm, addr);
}

static pmd_t *huge_pte_alloc(struct mm_struct *mm, struct hstate *h, unsigned long addr)
{
	if (hstate_is_gigantic(h))
		return (pmd_t *)pud_alloc_walk(mm, addr);
	return pmd_alloc_walk(mm, addr);
}

/* ---- faults ----------------------------------------------------------------------------- */

static struct mutex *hugetlb_fault_mutex(const void *key, pgoff_t idx)
{
	unsigned long h = ((unsigned long)key >> 6) ^ (idx * 0x9e3779b97f4a7c15UL);

	return &hugetlb_fault_mutex_table[(h >> 32) % HUGETLB_FAULT_MUTEXES];
}

static pmd_t make_huge_pmd(struct vm_area_struct *vma, struct folio *folio, bool writable)
{
	pmd_t entry = pmd_mkyoung(pmd_mkhuge(pfn_pmd(folio_pfn(folio), vma_pte_prot(vma))));

	if (writable)
		return pmd_mkwrite(pmd_mkdirty(entry));
	return pmd_wrprotect(entry);
}

static vm_fault_t hugetlb_wp(struct mm_struct *mm, struct vm_area_struct *vma, pmd_t *pmd,
			     unsigned long haddr, pmd_t orig, unsigned int flags);

/*
 * A new zeroed folio for huge page @idx of @inode's cache, added to it,
 * locked, referenced: the inode's reservation of @idx if it has one, else
 * an unreserved free page. Caller holds the fault mutex of (mapping, idx).
 * Return: the folio, or an ERR_PTR: -ENOSPC when the pool has no page,
 * -EEXIST when one appeared meanwhile, -ENOMEM.
 */
static struct folio *hugetlb_new_cache_folio(struct inode *inode, pgoff_t idx)
{
	struct address_space *mapping = inode->i_mapping;
	struct hstate *h = hstate_inode(inode);
	bool use_reserve = hugetlbfs_resv_consume(inode, idx);
	struct folio *folio = alloc_hugetlb_folio(h, use_reserve);
	int err;

	if (!folio) {
		if (use_reserve)
			hugetlbfs_resv_restore(inode, idx);
		return ERR_PTR(-ENOSPC);
	}
	hugetlb_clear_folio(h, folio);
	__folio_mark_uptodate(folio);
	__folio_set_locked(folio);
	/* in the cache it is the file's: no reservation to restore on a later free */
	hpg_clear(folio, HPG_restore_reserve);
	err = filemap_add_folio(mapping, folio, idx << huge_page_order(h), GFP_KERNEL);
	if (err) {
		/* the fault mutex serialises faults on @idx: only a racing read(2) could */
		__folio_clear_locked(folio);
		if (use_reserve)
			hugetlbfs_resv_restore(inode, idx);
		folio_put(folio);
		return ERR_PTR(err);
	}
	return folio;
}

/*
 * The folio of a hugetlbfs file at @idx, locked and referenced: found in the
 * cache, or (shared mappings only) a new zeroed one added to it. NULL when a
 * private mapping finds a hole (it takes an anonymous page instead).
 */
static struct folio *hugetlb_file_folio(struct vm_area_struct *vma, pgoff_t idx, vm_fault_t *ret)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	struct hstate *h = hstate_vma(vma);
	pgoff_t index = idx << huge_page_order(h);
	struct folio *folio;

	*ret = 0;
	if ((loff_t)index << PAGE_SHIFT >= i_size_read(inode)) {
		*ret = VM_FAULT_SIGBUS;	/* beyond EOF */
		return NULL;
	}
	folio = filemap_lock_folio(mapping, index);
	if (!IS_ERR(folio))
		return folio;
	if (!(vma->vm_flags & VM_SHARED))
		return NULL;
	folio = hugetlb_new_cache_folio(inode, idx);
	if (IS_ERR(folio)) {
		*ret = PTR_ERR(folio) == -ENOSPC ? VM_FAULT_SIGBUS :
		       PTR_ERR(folio) == -ENOMEM ? VM_FAULT_OOM : 0;
		return NULL;
	}
	return folio;
}

int hugetlb_add_file_page(struct inode *inode, pgoff_t idx)
{
	struct address_space *mapping = inode->i_mapping;
	struct mutex *mutex = hugetlb_fault_mutex(mapping, idx);
	struct folio *folio;
	int err = 0;

	mutex_lock(mutex);
	folio = filemap_get_folio(mapping, idx << huge_page_order(hstate_inode(inode)));
	if (!IS_ERR(folio)) {
		folio_put(folio);	/* already there */
		goto out;
	}
	folio = hugetlb_new_cache_folio(inode, idx);
	if (IS_ERR(folio)) {
		err = (int)PTR_ERR(folio);
		goto out;
	}
	folio_unlock(folio);
	folio_put(folio);	/* the cache holds its own references */
out:
	mutex_unlock(mutex);
	return err;
}

/* Map the cache folio of a hugetlbfs file (shared, or private before its first write). */
static vm_fault_t hugetlb_map_file_folio(struct mm_struct *mm, struct vm_area_struct *vma,
					 pmd_t *pmd, unsigned long haddr, struct folio *folio,
					 unsigned int flags)
{
	bool shared = vma->vm_flags & VM_SHARED;
	spinlock_t *ptl;
	pmd_t entry;

	ptl = pmd_lock(mm, pmd);
	if (!pmd_none(pmdp_get(pmd))) {
		spin_unlock(ptl);
		folio_unlock(folio);
		folio_put(folio);
		return 0;
	}
	hugetlb_add_rmap(folio);
	/* the lookup's reference becomes the mapping's */
	entry = make_huge_pmd(vma, folio, shared && (vma->vm_flags & VM_WRITE));
	set_pmd(pmd, entry);
	spin_unlock(ptl);
	if (shared && (flags & FAULT_FLAG_WRITE))
		folio_mark_dirty(folio);
	folio_unlock(folio);
	/* a private write copies the cache page into an anonymous one */
	if (!shared && (flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)))
		return hugetlb_wp(mm, vma, pmd, haddr, entry, flags);
	return 0;
}

static vm_fault_t hugetlb_no_page(struct mm_struct *mm, struct vm_area_struct *vma,
				  pmd_t *pmd, unsigned long haddr, pgoff_t idx, unsigned int flags)
{
	struct resv_map *map = vma_resv_map(vma);
	struct hstate *h = hstate_vma(vma);
	struct folio *folio;
	bool use_reserve;
	spinlock_t *ptl;

	if (vma->vm_file) {
		vm_fault_t ret;

		folio = hugetlb_file_folio(vma, idx, &ret);
		if (folio)
			return hugetlb_map_file_folio(mm, vma, pmd, haddr, folio, flags);
		if (ret || (vma->vm_flags & VM_SHARED))
			return ret;
		/* a private hole: an anonymous page, as below */
	}

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	use_reserve = resv_consume(map, idx);
	folio = alloc_hugetlb_folio(h, use_reserve);
	if (!folio) {
		if (use_reserve)
			resv_restore(map, idx);
		return VM_FAULT_SIGBUS;	/* Linux: -ENOSPC from alloc_hugetlb_folio() */
	}
	hugetlb_clear_folio(h, folio);
	__folio_mark_uptodate(folio);

	ptl = pmd_lock(mm, pmd);
	if (!pmd_none(pmdp_get(pmd))) {
		spin_unlock(ptl);
		if (use_reserve)
			resv_restore(map, idx);
		folio_put(folio);	/* HPG_restore_reserve gives resv_huge_pages back */
		return 0;
	}
	hugetlb_add_new_anon_rmap(folio, vma, haddr);
	/* a read fault maps it read-only: a write then reuses it (anon-exclusive) */
	set_pmd(pmd, make_huge_pmd(vma, folio, (flags & FAULT_FLAG_WRITE) &&
				   (vma->vm_flags & VM_WRITE)));
	spin_unlock(ptl);
	return 0;
}

/*
 * Write (or unshare) fault on a read-only leaf (Linux: hugetlb_wp). An
 * anon-exclusive folio, or one mapped only here, is reused; otherwise the
 * whole 2 MiB is copied. Unshare leaves the result read-only.
 */
static vm_fault_t hugetlb_wp(struct mm_struct *mm, struct vm_area_struct *vma, pmd_t *pmd,
			     unsigned long haddr, pmd_t orig, unsigned int flags)
{
	bool unshare = flags & FAULT_FLAG_UNSHARE, use_reserve;
	struct hstate *h = hstate_vma(vma);
	struct mmu_notifier_range range;
	struct folio *folio, *new;
	spinlock_t *ptl;

	ptl = pmd_lock(mm, pmd);
	if (!pmd_same(pmdp_get(pmd), orig)) {
		spin_unlock(ptl);
		return 0;
	}
	folio = page_folio(pmd_page(orig));
	if (vma->vm_flags & VM_SHARED) {
		if (!unshare)
			set_pmd(pmd, pmd_mkwrite(pmd_mkdirty(pmd_mkyoung(orig))));
		spin_unlock(ptl);
		return 0;
	}
	if (folio_test_anon(folio)) {
		if (PageAnonExclusive(&folio->page))
			goto reuse;
		/* Linux's hugetlb rule: mapped once is ours (a mapcount test, not refcount) */
		if (folio_mapcount(folio) == 1) {
			struct anon_vma *av = vma_anon_vma(vma);

			atomic_store_explicit(&folio->mapping,
					      (struct address_space *)((unsigned long)av |
								       PAGE_MAPPING_ANON),
					      memory_order_release);
			SetPageAnonExclusive(&folio->page);
			goto reuse;
		}
	}
	folio_get(folio);
	spin_unlock(ptl);

	if (anon_vma_prepare(vma)) {
		folio_put(folio);
		return VM_FAULT_OOM;
	}
	/* a private copy of a file's cache page takes the VMA's reservation */
	use_reserve = !folio_test_anon(folio) &&
		      resv_consume(vma_resv_map(vma), vma_hugecache_offset(vma, haddr));
	new = alloc_hugetlb_folio(h, use_reserve);
	if (!new) {
		if (use_reserve)
			resv_restore(vma_resv_map(vma), vma_hugecache_offset(vma, haddr));
		/* Linux's owner would unmap the page from its children; not modelled */
		folio_put(folio);
		return VM_FAULT_SIGBUS;
	}
	hugetlb_copy_folio(h, new, folio);
	__folio_mark_uptodate(new);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr, haddr + huge_page_size(h));
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(mm, pmd);
	if (pmd_same(pmdp_get(pmd), orig)) {
		pmdp_get_and_clear(pmd);
		hugetlb_remove_rmap(folio);
		hugetlb_add_new_anon_rmap(new, vma, haddr);
		set_pmd(pmd, make_huge_pmd(vma, new, !unshare && (vma->vm_flags & VM_WRITE)));
		count_vm_event(COW_FAULT);
		spin_unlock(ptl);
		folio_put(folio);	/* the old mapping's reference */
		new = NULL;
	} else {
		spin_unlock(ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	if (new)
		folio_put(new);
	folio_put(folio);
	return 0;

reuse:
	if (!unshare) {
		pmd_t entry = pmd_mkyoung(pmd_mkdirty(orig));

		set_pmd(pmd, maybe_pmd_mkwrite(entry, vma));
		count_vm_event(COW_REUSE);
	}
	spin_unlock(ptl);
	return 0;
}

vm_fault_t hugetlb_fault(struct mm_struct *mm, struct vm_area_struct *vma,
			 unsigned long address, unsigned int flags)
{
	struct hstate *h = hstate_vma(vma);
	unsigned long haddr = address & huge_page_mask(h);
	pgoff_t idx = vma_hugecache_offset(vma, haddr);
	struct mutex *mutex;
	vm_fault_t ret = 0;
	spinlock_t *ptl;
	pmd_t *pmd, val;

	/* a PMD, or a PUD for a gigantic page: the same leaf bits from here on */
	pmd = huge_pte_alloc(mm, h, haddr);
	if (!pmd)
		return VM_FAULT_OOM;
	mutex = hugetlb_fault_mutex((vma->vm_flags & VM_SHARED) && vma->vm_file ?
				    (void *)vma->vm_file->f_mapping : (void *)mm, idx);
	mutex_lock(mutex);
	val = pmdp_get_lockless(pmd);
	if (is_swap_pmd(val)) {
		mutex_unlock(mutex);
		pmd_migration_entry_wait(mm, pmd);	/* memory.c: the same wait as a THP's */
		return 0;
	}
	if (pmd_none(val)) {
		ret = hugetlb_no_page(mm, vma, pmd, haddr, idx, flags);
		goto out;
	}
	if (WARN_ON_ONCE(!pmd_leaf(val))) {
		ret = VM_FAULT_SIGBUS;	/* a PTE table inside a hugetlb VMA */
		goto out;
	}
	if ((flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !pmd_write(val)) {
		ret = hugetlb_wp(mm, vma, pmd, haddr, val, flags);
		goto out;
	}
	ptl = pmd_lock(mm, pmd);
	if (pmd_same(pmdp_get(pmd), val)) {
		pmd_t entry = pmd_mkyoung(val);

		if (flags & FAULT_FLAG_WRITE)
			entry = pmd_mkdirty(entry);
		if (!pmd_same(entry, val))
			set_pmd(pmd, entry);
	}
	spin_unlock(ptl);
out:
	mutex_unlock(mutex);
	return ret;
}

/* ---- zap, fork, mprotect ------------------------------------------------------------------ */

void __unmap_hugepage_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct hstate *h = hstate_vma(vma);

	for (unsigned long haddr = start & huge_page_mask(h); haddr < end;
	     haddr += huge_page_size(h)) {
		struct folio *folio = NULL;
		pmd_t *pmd = huge_pte_offset(mm, h, haddr);
		spinlock_t *ptl;
		pmd_t old;

		if (!pmd)
			continue;
		ptl = pmd_lock(mm, pmd);
		old = pmdp_get(pmd);
		if (pmd_none(old) || WARN_ON_ONCE(pmd_is_table(old))) {
			spin_unlock(ptl);
			continue;
		}
		pmdp_get_and_clear(pmd);
		if (pmd_leaf(old)) {
			folio = page_folio(pmd_page(old));
			hugetlb_remove_rmap(folio);
			if (!folio_test_anon(folio) && pmd_dirty(old))
				folio_mark_dirty(folio);
		}
		spin_unlock(ptl);
		if (folio)
			folio_put(folio);
		cond_resched();
	}
}

/* The child's copy of a maybe-pinned private page (Linux: hugetlb_install_folio). */
static int copy_pinned_hugetlb(struct vm_area_struct *dst_vma, pmd_t *dst_pmd,
			       unsigned long haddr, struct folio *src_folio, pmd_t src_val)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm;
	struct hstate *h = hstate_vma(dst_vma);
	struct folio *new = alloc_hugetlb_folio(h, false);
	spinlock_t *ptl;

	if (!new)
		return -ENOMEM;
	hugetlb_copy_folio(h, new, src_folio);
	__folio_mark_uptodate(new);
	ptl = pmd_lock(dst_mm, dst_pmd);
	hugetlb_add_new_anon_rmap(new, dst_vma, haddr);
	/* the child's copy is its own: writable if the parent's was */
	set_pmd(dst_pmd, make_huge_pmd(dst_vma, new, pmd_write(src_val)));
	spin_unlock(ptl);
	return 0;
}

int copy_hugetlb_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	bool cow = is_cow_mapping(src_vma->vm_flags);
	struct hstate *h = hstate_vma(src_vma);
	struct mmu_notifier_range range;
	int ret = 0;

	if (cow) {
		mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0, src_mm,
					src_vma->vm_start, src_vma->vm_end);
		mmu_notifier_invalidate_range_start(&range);
	}
	for (unsigned long haddr = src_vma->vm_start; haddr < src_vma->vm_end;
	     haddr += huge_page_size(h)) {
		pmd_t *src_pmd = huge_pte_offset(src_mm, h, haddr), *dst_pmd, val;
		spinlock_t *src_ptl, *dst_ptl;
		struct folio *folio;

		if (!src_pmd || pmd_none(pmdp_get_lockless(src_pmd)))
			continue;
		dst_pmd = huge_pte_alloc(dst_mm, h, haddr);
		if (!dst_pmd) {
			ret = -ENOMEM;
			break;
		}
		dst_ptl = pmd_lock(dst_mm, dst_pmd);
		src_ptl = pmd_lockptr(src_mm, src_pmd);
		spin_lock_nested(src_ptl, 1);
		val = pmdp_get(src_pmd);
		if (pmd_none(val) || WARN_ON_ONCE(pmd_is_table(val))) {
			/* nothing */
		} else if (is_swap_pmd(val)) {
			swp_entry_t e = pmd_to_swp_entry(val);

			/* both sides must fault before writing: a read-only entry */
			if (cow && swp_type(e) != SWP_MIGRATION_READ) {
				val = swp_entry_to_pmd(swp_entry(SWP_MIGRATION_READ, swp_offset(e)));
				set_pmd(src_pmd, val);
			}
			set_pmd(dst_pmd, val);
		} else {
			folio = page_folio(pmd_page(val));
			if (!folio_test_anon(folio)) {
				hugetlb_add_rmap(folio);
			} else if (hugetlb_try_dup_anon_rmap(folio, src_vma)) {
				/* maybe pinned: the child gets a copy now, the parent keeps its page */
				folio_get(folio);
				spin_unlock(src_ptl);
				spin_unlock(dst_ptl);
				ret = copy_pinned_hugetlb(dst_vma, dst_pmd, haddr, folio, val);
				folio_put(folio);
				if (ret)
					break;
				continue;
			}
			folio_get(folio);
			if (cow && pmd_write(val)) {
				val = pmd_wrprotect(val);
				set_pmd(src_pmd, val);
			}
			set_pmd(dst_pmd, pmd_mkold(val));
		}
		spin_unlock(src_ptl);
		spin_unlock(dst_ptl);
	}
	if (cow)
		mmu_notifier_invalidate_range_end(&range);
	return ret;
}

long hugetlb_change_protection(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, pgprot_t newprot)
{
	struct mm_struct *mm = vma->vm_mm;
	struct hstate *h = hstate_vma(vma);
	long pages = 0;

	for (unsigned long haddr = start & huge_page_mask(h); haddr < end;
	     haddr += huge_page_size(h)) {
		pmd_t *pmd = huge_pte_offset(mm, h, haddr), old;
		spinlock_t *ptl;

		if (!pmd)
			continue;
		ptl = pmd_lock(mm, pmd);
		old = pmdp_get(pmd);
		if (is_swap_pmd(old)) {
			swp_entry_t e = pmd_to_swp_entry(old);

			if (is_writable_migration_entry(e)) {
				bool anon = folio_test_anon(pfn_folio(swp_offset(e)));

				set_pmd(pmd, swp_entry_to_pmd(swp_entry(anon ?
					SWP_MIGRATION_READ_EXCLUSIVE : SWP_MIGRATION_READ,
					swp_offset(e))));
			}
			pages += pages_per_huge_page(h);
		} else if (pmd_leaf(old)) {
			pmd_t entry = pmd_modify(old, newprot);

			/* private: the next write faults and reuses or copies */
			if (!(vma->vm_flags & VM_SHARED))
				entry = pmd_wrprotect(entry);
			set_pmd(pmd, entry);
			pages += pages_per_huge_page(h);
		}
		spin_unlock(ptl);
	}
	return pages;
}

/* ---- migration ------------------------------------------------------------------------------ */

bool isolate_hugetlb(struct folio *folio, struct list_head *list)
{
	struct hstate *h = folio_hstate(folio);
	bool ok = false;

	spin_lock(&h->lock);
	/* a folio freed and reused meanwhile has another order: the lock was the wrong one */
	if (folio_test_hugetlb(folio) && folio_hstate(folio) == h && !hpg_test(folio, HPG_freed) &&
	    !hpg_test(folio, HPG_isolated) && folio_try_get(folio)) {
		hpg_set(folio, HPG_isolated);
		list_add_tail(&folio->lru, list);
		ok = true;
	}
	spin_unlock(&h->lock);
	return ok;
}

static void putback_hugetlb(struct folio *folio)
{
	hpg_clear(folio, HPG_isolated);
	folio_put(folio);
}

struct hugetlb_migrate_arg {
	struct folio *dst;	/* NULL while unmapping */
	bool failed;
};

/* Replace @folio's PMD in @vma by a migration entry. */
static bool hugetlb_try_to_migrate_one(struct folio *folio, struct vm_area_struct *vma,
				       unsigned long address, void *arg)
{
	struct hugetlb_migrate_arg *a = arg;
	struct mm_struct *mm = vma->vm_mm;
	struct hstate *h = folio_hstate(folio);
	unsigned long haddr = address & huge_page_mask(h);
	struct mmu_notifier_range range;
	pmd_t *pmd = huge_pte_offset(mm, h, haddr), old;
	enum swp_type type;
	spinlock_t *ptl;

	if (!pmd)
		return true;
	mmu_notifier_range_init(&range, MMU_NOTIFY_MIGRATE, 0, mm, haddr, haddr + huge_page_size(h));
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(mm, pmd);
	old = pmdp_get(pmd);
	if (!pmd_leaf(old) || pmd_pfn(old) != folio_pfn(folio))
		goto out;
	pmdp_get_and_clear(pmd);
	if (folio_test_anon(folio) && PageAnonExclusive(&folio->page)) {
		/* a pin keeps it: GUP-fast pins first and re-reads the cleared entry */
		if (folio_try_share_anon_rmap_pmd(folio, &folio->page)) {
			set_pmd(pmd, old);
			a->failed = true;
			spin_unlock(ptl);
			mmu_notifier_invalidate_range_end(&range);
			return false;
		}
		type = pmd_write(old) ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ_EXCLUSIVE;
	} else {
		type = pmd_write(old) ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ;
	}
	if (pmd_dirty(old))
		folio_set_dirty(folio);
	set_pmd(pmd, swp_entry_to_pmd(swp_entry(type, folio_pfn(folio))));
	hugetlb_remove_rmap(folio);
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
	folio_put(folio);
	return true;
out:
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
	return true;
}

/* Turn the migration entries for @folio back into PMDs of a->dst. */
static bool hugetlb_remove_migration_one(struct folio *folio, struct vm_area_struct *vma,
					 unsigned long address, void *arg)
{
	struct hugetlb_migrate_arg *a = arg;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = address & huge_page_mask(folio_hstate(folio));
	pmd_t *pmd = huge_pte_offset(mm, folio_hstate(folio), haddr), old, entry;
	struct folio *dst = a->dst;
	swp_entry_t e;
	spinlock_t *ptl;

	if (!pmd)
		return true;
	ptl = pmd_lock(mm, pmd);
	old = pmdp_get(pmd);
	if (!is_swap_pmd(old))
		goto out;
	e = pmd_to_swp_entry(old);
	if (!is_migration_entry(e) || swp_offset(e) != folio_pfn(folio))
		goto out;
	folio_get(dst);
	hugetlb_add_rmap(dst);
	if (folio_test_anon(dst) && swp_type(e) != SWP_MIGRATION_READ)
		SetPageAnonExclusive(&dst->page);
	entry = pmd_mkyoung(pmd_mkhuge(pfn_pmd(folio_pfn(dst), vma_pte_prot(vma))));
	if (folio_test_dirty(dst))
		entry = pmd_mkdirty(entry);
	entry = is_writable_migration_entry(e) ? maybe_pmd_mkwrite(entry, vma) :
						 pmd_wrprotect(entry);
	set_pmd(pmd, entry);
out:
	spin_unlock(ptl);
	return true;
}

/*
 * A page to migrate to: a free pool page that may be pinned long-term, else
 * a temporary one from the buddy allocator outside movable memory — never
 * for gigantic pages (Linux's alloc_migrate_hugetlb_folio() gives up on
 * them: only a free gigantic page can be the target).
 */
static struct folio *alloc_hugetlb_longterm_target(struct hstate *h)
{
	struct folio *folio;

	spin_lock(&h->lock);
	folio = available_huge_pages(h) ? dequeue_hugetlb_folio(h, false) : NULL;
	spin_unlock(&h->lock);
	if (folio || hstate_is_gigantic(h))
		return folio;
	folio = alloc_fresh_hugetlb_folio(h, GFP_USER | __GFP_COMP | __GFP_NOWARN |
					  __GFP_RETRY_MAYFAIL);
	if (!folio)
		return NULL;
	if (WARN_ON_ONCE(!folio_is_longterm_pinnable(folio))) {	/* GFP_USER stays out */
		set_page_count(&folio->page, 0);
		update_and_free_hugetlb_folio(folio);
		return NULL;
	}
	hpg_set(folio, HPG_temporary);
	spin_lock(&h->lock);
	account_new_locked(h, folio);
	spin_unlock(&h->lock);
	return folio;
}

/*
 * The pool keeps its size: if the new page was temporary, the old one takes
 * that role and goes back to the buddy allocator (Linux: move_hugetlb_state).
 */
static void move_hugetlb_state(struct folio *src, struct folio *dst)
{
	if (hpg_test(dst, HPG_temporary)) {
		hpg_clear(dst, HPG_temporary);
		hpg_set(src, HPG_temporary);
	}
}

/* Migrate one isolated anon hugetlb folio. Return 0 or -errno. */
static int hugetlb_migrate_folio(struct folio *src)
{
	struct hugetlb_migrate_arg a = { .dst = NULL };
	struct rmap_walk_control rwc = { .arg = &a };
	struct address_space *mapping = NULL;
	struct hstate *h = folio_hstate(src);
	bool anon = folio_test_anon(src);
	struct folio *dst;
	int ret = 0, expected = 1;

	dst = alloc_hugetlb_longterm_target(h);
	if (!dst)
		return -ENOMEM;
	folio_lock(src);
	if (anon) {
		/* unmapped, the folio no longer leads to its anon_vma: hold it for the way back */
		rwc.anon_vma = folio_get_anon_vma(src);
		if (!rwc.anon_vma) {
			ret = -EAGAIN;
			goto out_unlock;
		}
	} else {
		mapping = folio_mapping(src);
		if (!mapping) {
			ret = -EAGAIN;	/* truncated meanwhile */
			goto out_unlock;
		}
		/* the page cache holds one reference per page */
		expected += (int)pages_per_huge_page(h);
	}
	rwc.rmap_one = hugetlb_try_to_migrate_one;
	rmap_walk(src, &rwc);
	/* only the isolation (and cache) references may be left; a pin keeps it */
	if (a.failed || folio_mapped(src) || !folio_ref_freeze(src, expected)) {
		ret = -EAGAIN;
		a.dst = src;	/* put the source back where it was */
	} else {
		/* unmapped (migration entries), frozen, nothing copied: as migrate.c's */
		pinmm_race_point(PINMM_RACE_MIGRATE_FROZEN, folio_pfn(src));
		hugetlb_copy_folio(h, dst, src);
		if (folio_test_dirty(src))
			folio_set_dirty(dst);
		__folio_mark_uptodate(dst);
		if (anon) {
			atomic_store_explicit(&dst->mapping,
					      atomic_load_explicit(&src->mapping, memory_order_relaxed),
					      memory_order_release);
			dst->index = src->index;
		} else {
			/* the cache's slots and references move to the new folio */
			__folio_set_locked(dst);
			filemap_migrate_folio(mapping, dst, src, MIGRATE_SYNC);
		}
		move_hugetlb_state(src, dst);
		folio_ref_unfreeze(src, 1);
		a.dst = dst;
	}
	rwc.rmap_one = hugetlb_remove_migration_one;
	rmap_walk(src, &rwc);
	if (!ret && !anon) {
		/* the file's folio is @dst now: @src keeps only the isolation reference */
		atomic_store_explicit(&src->mapping, NULL, memory_order_relaxed);
		folio_unlock(dst);
	}
	count_vm_event(ret ? PGMIGRATE_FAIL : PGMIGRATE_SUCCESS);
	if (rwc.anon_vma)
		put_anon_vma(rwc.anon_vma);
out_unlock:
	folio_unlock(src);
	folio_put(dst);		/* the allocation's reference; the mappings hold theirs */
	return ret;
}

unsigned long hugetlb_migrate_longterm(struct list_head *list)
{
	struct folio *folio, *tmp;
	unsigned long failed = 0;

	list_for_each_entry_safe(folio, tmp, list, lru) {
		if (!folio_test_hugetlb(folio))
			continue;
		list_del_init(&folio->lru);
		if (hugetlb_migrate_folio(folio))
			failed++;
		putback_hugetlb(folio);
	}
	return failed;
}
