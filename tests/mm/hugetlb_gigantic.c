// SPDX-License-Identifier: MIT
/*
 * 1 GiB gigantic hugetlb pages (Linux mm/hugetlb.c with a second hstate,
 * hugepages-1048576kB): their own pool, taken from the CMA area
 * (hugetlb_cma) or by alloc_contig_range() (alloc_gigantic_folio), never
 * overcommitted; MAP_HUGE_1GB mappings (hstate_sizelog, hugetlb_reserve_pages:
 * -ENOMEM with an empty pool, a split inside a page -EINVAL); faults mapping
 * PUD leaves (hugetlb_no_page), COW of the whole GiB and reuse at mapcount 1
 * (hugetlb_wp), fork (copy_hugetlb_page_range, a maybe-pinned page copied for
 * the child), unshare for a R/O pin, mprotect; GUP on PUD leaves (the slow
 * path's follow_pud_mask leaf case, gup_fast_pud_leaf, _pincount on the
 * folio); FOLL_LONGTERM of a gigantic folio in CMA migrates it to a free
 * gigantic page outside CMA, or fails with -ENOMEM and nothing pinned when
 * there is none (alloc_migrate_hugetlb_folio gives up on gigantic pages).
 *
 * The machine: 3 GiB, the last GiB of ZONE_NORMAL a CMA area, so one
 * gigantic page comes from CMA and one from plain ZONE_NORMAL (4 GiB with
 * two in CMA for the long-term cases). Gigantic pages
 * are cleared by giving their host memory back, so the host backs only what
 * the test writes.
 */
#include "../gup/helpers.h"

#include "mem/internal.h"

#include <pinmm/drivers.h>
#include <pinmm/hugetlb.h>
#include <pinmm/task_mmu.h>

#define HB	GT_BASE			/* 28 GiB: 1 GiB aligned */
#define GIG	(1UL << 30)
#define GIG_NR	(GIG >> PAGE_SHIFT)
#define HFLAGS	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB)

static void gboot(void)
{
	test_boot(3072, 0, 1024);
}

static struct hugetlb_counts gc(void)
{
	struct hugetlb_counts c;

	hstate_read_counts(size_to_hstate(GIG), &c);
	return c;
}

static unsigned long gmap(unsigned long addr, unsigned long len, unsigned long flags)
{
	return vm_mmap(NULL, addr, len, GT_RW, flags | MAP_FIXED, 0);
}

static long gset(unsigned long n)
{
	return pinmm_hugepages_set_nr(GIG, n);
}

/* The PUD entry mapping @addr (0 if none), read under mmap_lock. */
static unsigned long pud_at(struct mm_struct *mm, unsigned long addr)
{
	unsigned long v = 0;
	pud_t *pud;

	mmap_read_lock(mm);
	pud = mm_find_pud(mm, addr);
	if (pud)
		v = pud_val(pudp_get(pud));
	mmap_read_unlock(mm);
	return v;
}

static bool pud_leaf_at(struct mm_struct *mm, unsigned long addr, bool *writable)
{
	pud_t pud = __pud(pud_at(mm, addr));

	*writable = pud_write(pud);
	return pud_leaf(pud);
}

static struct folio *gfolio(struct mm_struct *mm, unsigned long addr)
{
	pud_t pud = __pud(pud_at(mm, addr));

	return pud_leaf(pud) ? pfn_folio(pud_pfn(pud)) : NULL;
}

/* The VMA at @addr (under mmap_lock; valid while nothing unmaps it), or NULL. */
static struct vm_area_struct *gvma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start > addr)
		vma = NULL;
	mmap_read_unlock(mm);
	return vma;
}

static bool in_cma(struct folio *folio)
{
	return is_migrate_cma(get_pfnblock_migratetype(folio_pfn(folio)));
}

static void gteardown(const char *name, struct task_struct **tasks, int n)
{
	pinmm_task_detach();
	for (int i = 0; i < n; i++)
		if (tasks[i])
			pinmm_task_exit(tasks[i]);
	rcu_barrier();
	is_uint(gc().resv, 0, "%s: teardown: no 1 GiB reservation left", name);
	is_uint(gc().free, gc().nr, "%s: teardown: every gigantic page is free again", name);
	is_int(gset(0), 0, "%s: teardown: the 1 GiB pool empties", name);
	is_uint(pinmm_frames_in_use(), 1, "%s: teardown: only the zero page is still allocated", name);
	test_shutdown_ok(name);
}

/* set_max_huge_pages on hugepages-1048576kB; alloc_gigantic_folio; no surplus. */
static void pool(void)
{
	struct hugetlb_counts c, c2;
	unsigned long used0;
	char *text = NULL;
	size_t len = 0;
	long got;
	FILE *f;

	gboot();
	used0 = pinmm_frames_in_use();
	is_int(gset(1), 1, "pool: nr_hugepages of hugepages-1048576kB set to 1 gives 1");
	c = gc();
	ok(c.nr == 1 && c.free == 1 && c.resv == 0 && c.surplus == 0 && c.free_cma == 1,
	   "pool: Total 1, Free 1; the page came from the CMA area first (hugetlb_cma)");
	is_uint(pinmm_frames_in_use() - used0, GIG_NR,
		"pool: its 262144 frames left the buddy allocator");
	is_int(gset(2), 2, "pool: a second one by alloc_contig_range() in ZONE_NORMAL");
	c = gc();
	ok(c.nr == 2 && c.free_cma == 1 && c.nr_zone[ZONE_NORMAL] == 2,
	   "pool: one in CMA, one outside it, both ZONE_NORMAL (gigantic pages are not movable-zone pages)");
	got = gset(100);
	c = gc();
	ok(got >= 2 && got < 3 + 1 && c.nr == (unsigned long)got && c.free == (unsigned long)got,
	   "pool: nr_hugepages beyond memory takes what fits (%ld of 100)", got);
	hugetlb_read_counts(&c2);
	is_uint(c2.nr, 0, "pool: the 2 MiB pool is a separate hstate (still empty)");
	f = open_memstream(&text, &len);
	pinmm_print_meminfo(f);
	fclose(f);
	ok(strstr(text, "HugePages_Total:       0\n") != NULL,
	   "pool: /proc/meminfo's HugePages_* are the default (2 MiB) hstate's");
	{
		char want[64];

		snprintf(want, sizeof(want), "Hugetlb:         %7lu kB\n", (unsigned long)got * 1048576);
		ok(strstr(text, want) != NULL, "pool: Hugetlb counts the gigantic pages (%lu kB)",
		   (unsigned long)got * 1048576);
	}
	free(text);
	is_int(pinmm_hugepages_set_overcommit(GIG, 1), -EINVAL,
	       "pool: nr_overcommit_hugepages of gigantic pages is -EINVAL (no surplus)");
	is_int(pinmm_hugepages_set_nr(4UL << 20, 1), -EINVAL, "pool: an unknown page size is -EINVAL");
	is_int(gset(1), 1, "pool: shrinking to 1");
	is_uint(pinmm_frames_in_use() - used0, GIG_NR, "pool: the freed pages' frames are back");
	is_int(gset(0), 0, "pool: back to 0");
	is_uint(pinmm_frames_in_use(), used0, "pool: every frame of the pool is back");
	is_int(pinmm_check_zone(&pinmm_zones[ZONE_NORMAL], true), 0,
	       "pool: ZONE_NORMAL's free lists match its counters after contiguous frees");
	test_shutdown_ok("pool");
}

static void bad_input(void)
{
	struct task_struct *t;
	unsigned long used;

	gboot();
	t = test_process("gbad");
	used = pinmm_frames_in_use();
	is_int((long)gmap(HB, GIG, HFLAGS), -ENOMEM,
	       "bad: MAP_HUGE_1GB with an empty 1 GiB pool is -ENOMEM (hugetlb_acct_memory)");
	ok(!gvma(t->mm, HB), "bad: no VMA left");
	is_uint(pinmm_frames_in_use(), used, "bad: and no frame allocated");
	gset(1);
	is_int((long)gmap(HB, 2 * GIG, HFLAGS), -ENOMEM,
	       "bad: 2 GiB from a pool of one gigantic page: -ENOMEM");
	is_uint(gc().resv, 0, "bad: nothing reserved after the refusal");
	is_int((long)gmap(HB + (2UL << 20), GIG, HFLAGS), -EINVAL,
	       "bad: MAP_FIXED 2 MiB aligned but not 1 GiB aligned is -EINVAL");
	is_uint(gmap(HB, PAGE_SIZE, HFLAGS), HB,
		"bad: a 4 KiB MAP_HUGE_1GB length is rounded up to 1 GiB (ksys_mmap_pgoff)");
	ok(gvma(t->mm, HB) && gvma(t->mm, HB)->vm_end == HB + GIG,
	   "bad: the VMA spans the whole gigantic page");
	is_uint(gc().resv, 1, "bad: and reserves it");
	is_int(vm_munmap(HB, 2UL << 20), -EINVAL,
	       "bad: munmap of 2 MiB inside a gigantic page is -EINVAL (hugetlb_vm_op_split)");
	is_int(do_mprotect(HB + (2UL << 20), 2UL << 20, PROT_READ), -EINVAL,
	       "bad: so is mprotect of a part");
	is_int(vm_munmap(HB, GIG), 0, "bad: munmap of the whole page");
	is_uint(gc().resv, 0, "bad: gives its reservation back");
	{
		bool w;

		gmap(HB, GIG, HFLAGS);
		is_int(do_madvise(t->mm, HB, GIG, MADV_POPULATE_WRITE), 0,
		       "populate: MADV_POPULATE_WRITE of a gigantic page (a PUD leaf is populated)");
		ok(pud_leaf_at(t->mm, HB, &w) && w && gc().free == 0, "populate: it is mapped writable");
		vm_munmap(HB, GIG);
	}
	is_uint(gmap(HB, GIG, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB), HB,
		"shared: MAP_SHARED|MAP_HUGE_1GB maps (a hugetlbfs file of 1 GiB pages: "
		"tests/fs/hugetlbfs_gigantic.c)");
	is_uint(gc().resv, 1, "shared: and reserves the page");
	vm_munmap(HB, GIG);
	gteardown("bad_input", &t, 1);
}

/* hugetlb_no_page, hugetlb_wp (copy, reuse), copy_hugetlb_page_range, mprotect, exit. */
static void fault_cow_fork(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	unsigned long pfn, cow0, reuse0;
	struct folio *folio;
	bool w, cw, zero = true;

	gboot();
	gset(2);
	t = test_process("gparent");
	mm = t->mm;
	is_uint(gmap(HB, GIG, HFLAGS), HB, "fault: MAP_HUGETLB|MAP_HUGE_1GB maps 1 GiB");
	ok(gvma(mm, HB) && (gvma(mm, HB)->vm_flags & VM_HUGETLB) &&
	   hstate_vma(gvma(mm, HB)) == size_to_hstate(GIG),
	   "fault: a VM_HUGETLB VMA of the 1 GiB hstate (hstate_vma)");
	ok(gc().resv == 1 && gc().free == 2, "fault: mmap reserved the page, nothing taken yet");
	is_int(test_put_word(HB + 5 * PAGE_SIZE, 0xabc), 0, "fault: a write faults");
	is_int(test_put_word(HB + GIG - 8, 0xdef), 0, "fault: and one at the last word");
	ok(pud_leaf_at(mm, HB, &w) && w, "fault: a PUD leaf maps it, writable");
	folio = gfolio(mm, HB);
	ok(folio && folio_test_hugetlb(folio) && folio_order(folio) == PUD_ORDER,
	   "fault: an order-18 hugetlb folio");
	ok(folio && PageAnonExclusive(&folio->page) && folio_mapcount(folio) == 1 &&
	   folio_ref_count(folio) == 1, "fault: anon-exclusive, mapped once, one reference");
	ok(gc().resv == 0 && gc().free == 1, "fault: it consumed the reservation");
	ok(test_get_word(HB + 5 * PAGE_SIZE) == 0xabc && test_get_word(HB + GIG - 8) == 0xdef,
	   "fault: both writes read back through the PUD leaf");
	for (unsigned long i = 0; i < GIG_NR; i += 4099)
		if (i != 5 && test_get_word(HB + i * PAGE_SIZE) != 0)
			zero = false;
	ok(zero, "fault: the rest of the gigantic page reads zero");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 0,
	       "fault: hugetlb pages are not AnonPages");
	pfn = folio_pfn(folio);
	{
		/* fs/proc/task_mmu.c pagemap_hugetlb_range(): the PUD leaf's page, per 4 KiB */
		uint64_t pm[2];

		is_int(pinmm_pagemap_read(mm, HB + 5 * PAGE_SIZE, 2, pm), 0, "pagemap: read");
		ok((pm[0] & PM_PRESENT) && (pm[0] & PM_PFRAME_MASK) == pfn + 5 &&
		   (pm[1] & PM_PFRAME_MASK) == pfn + 6 && (pm[0] & PM_MMAP_EXCLUSIVE) &&
		   !(pm[0] & PM_FILE),
		   "pagemap: a 1 GiB page reads present, each 4 KiB its own pfn, exclusive, anon");
	}

	is_int(pinmm_fork(t, "gchild", &child), 0, "cow: fork succeeds");
	cmm = child->mm;
	ok(pud_leaf_at(mm, HB, &w) && !w && pud_leaf_at(cmm, HB, &cw) && !cw &&
	   pud_pfn(__pud(pud_at(cmm, HB))) == pfn,
	   "cow: the child maps the same page by a PUD leaf, both read-only (copy_hugetlb_page_range)");
	ok(!PageAnonExclusive(&folio->page) && folio_mapcount(folio) == 2 &&
	   folio_ref_count(folio) == 2, "cow: shared: not exclusive, mapcount 2, refcount 2");
	{
		struct page *wp = NULL;
		long r = gt_fast_only(HB + 5 * PAGE_SIZE, 1, FOLL_PIN | FOLL_WRITE, &wp);

		is_int(r, 0, "cow: GUP-fast alone takes no write pin through the read-only PUD leaf "
		       "(gup_fast_pud_leaf: pud_access_permitted; the slow path must COW)");
		if (r == 1)
			unpin_user_page(wp);
	}
	cow0 = gt_ev(COW_FAULT);
	test_put_word(HB + 5 * PAGE_SIZE, 0x111);
	ok(pud_leaf_at(mm, HB, &w) && w && pud_pfn(__pud(pud_at(mm, HB))) != pfn,
	   "cow: the parent's write copies the whole GiB into a new page (hugetlb_wp)");
	is_uint(gt_ev(COW_FAULT) - cow0, 1, "cow: one COW copy");
	ok(test_get_word(HB + 5 * PAGE_SIZE) == 0x111 && test_get_word(HB + GIG - 8) == 0xdef,
	   "cow: the copy holds the parent's write and the data from before");
	pinmm_task_attach(child);
	is_uint(test_get_word(HB + 5 * PAGE_SIZE), 0xabc, "cow: the child still reads the data from fork time");
	reuse0 = gt_ev(COW_REUSE);
	test_put_word(HB + 5 * PAGE_SIZE, 0x222);
	ok(pud_pfn(__pud(pud_at(cmm, HB))) == pfn && gt_ev(COW_REUSE) - reuse0 == 1,
	   "cow: the child, now the only mapper, reuses the old page (folio_mapcount == 1)");
	pinmm_task_attach(t);
	is_uint(test_get_word(HB + 5 * PAGE_SIZE), 0x111, "cow: the parent does not see the child's write");
	pinmm_task_exit(child);
	child = NULL;
	pinmm_task_attach(t);
	is_uint(gc().free, 1, "cow: the child's exit gave its page back to the pool");

	is_int(do_mprotect(HB, GIG, PROT_READ), 0, "mprotect: PROT_READ on the gigantic page");
	ok(pud_leaf_at(mm, HB, &w) && !w, "mprotect: the PUD leaf is read-only");
	is_int(test_put_word(HB, 1), -EFAULT, "mprotect: a write is refused");
	is_int(do_mprotect(HB, GIG, GT_RW), 0, "mprotect: back to read-write");
	pfn = pud_pfn(__pud(pud_at(mm, HB)));
	reuse0 = gt_ev(COW_REUSE);
	is_int(test_put_word(HB, 2), 0, "mprotect: the write faults");
	ok(pud_pfn(__pud(pud_at(mm, HB))) == pfn && gt_ev(COW_REUSE) - reuse0 == 1,
	   "mprotect: and reuses the exclusive page");
	is_int(vm_munmap(HB, GIG), 0, "munmap: of the gigantic page");
	ok(pud_at(mm, HB) == 0 && gc().free == 2, "munmap: the PUD is clear, the page back in the pool");
	gteardown("fault_cow_fork", (struct task_struct *[]){ t, child }, 2);
}

/* folio_needs_cow_for_dma at fork: the child gets a copy, the parent keeps the pinned page. */
static void fork_with_pin(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	struct page *page;
	unsigned long pfn;
	bool w, cw;

	gboot();
	gset(2);
	t = test_process("gpin");
	mm = t->mm;
	gmap(HB, GIG, HFLAGS);
	test_put_word(HB + PAGE_SIZE, 42);
	pfn = pud_pfn(__pud(pud_at(mm, HB)));
	is_int(gt_pin(HB + PAGE_SIZE, 1, FOLL_WRITE, &page), 1, "fork_pin: FOLL_PIN of a gigantic page");
	ok(page == pfn_to_page(pfn + 1) && folio_maybe_dma_pinned(page_folio(page)),
	   "fork_pin: the subpage is pinned (folio_maybe_dma_pinned)");
	is_int(pinmm_fork(t, "gchild", &child), 0, "fork_pin: fork succeeds");
	cmm = child->mm;
	ok(pud_leaf_at(cmm, HB, &cw) && cw && pud_pfn(__pud(pud_at(cmm, HB))) != pfn,
	   "fork_pin: the child gets its own copy at once (copy_hugetlb_page_range)");
	ok(pud_leaf_at(mm, HB, &w) && w && pud_pfn(__pud(pud_at(mm, HB))) == pfn &&
	   PageAnonExclusive(pfn_to_page(pfn)),
	   "fork_pin: the parent keeps the pinned page, writable and exclusive");
	test_put_word(HB + PAGE_SIZE, 43);
	is_uint(*(unsigned long *)page_address(page), 43,
		"fork_pin: the device sees the parent's write after fork");
	pinmm_task_attach(child);
	is_uint(test_get_word(HB + PAGE_SIZE), 42, "fork_pin: the child's copy holds the data from fork time");
	pinmm_task_attach(t);
	unpin_user_page(page);
	gteardown("fork_with_pin", (struct task_struct *[]){ t, child }, 2);
}

/* A R/O long-term pin of a shared gigantic page unshares it (FAULT_FLAG_UNSHARE). */
static void unshare_ro_pin(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm;
	struct page *page;
	unsigned long pfn;
	bool w;

	gboot();
	gset(2);
	t = test_process("gro");
	mm = t->mm;
	gmap(HB, GIG, HFLAGS);
	test_put_word(HB, 5);
	pfn = pud_pfn(__pud(pud_at(mm, HB)));
	pinmm_fork(t, "gchild", &child);
	pinmm_task_attach(t);
	is_int(gt_pin(HB, 1, FOLL_LONGTERM, &page), 1, "unshare: R/O long-term pin");
	ok(page_to_pfn(page) != pfn && PageAnonExclusive(compound_head(page)) &&
	   folio_is_longterm_pinnable(page_folio(page)),
	   "unshare: the shared page was unshared: the pin holds an exclusive copy, outside CMA");
	ok(pud_pfn(__pud(pud_at(mm, HB))) == page_to_pfn(page) && pud_leaf_at(mm, HB, &w) && !w,
	   "unshare: the parent maps the copy read-only");
	test_put_word(HB, 6);
	is_uint(*(unsigned long *)page_address(page), 6,
		"unshare: the parent's write reuses the pinned page: the pin sees it");
	pinmm_task_attach(child);
	is_uint(test_get_word(HB), 5, "unshare: the child keeps the old data");
	pinmm_task_attach(t);
	unpin_user_page(page);
	gteardown("unshare_ro_pin", (struct task_struct *[]){ t, child }, 2);
}

/* follow_pud_mask's leaf case and gup_fast_pud_leaf: subpages, _pincount, counters. */
static void pin_slow_fast(void)
{
	static struct page *pages[1024];
	struct task_struct *t;
	struct folio *folio;
	bool seq = true;
	long acq0;

	gboot();
	gset(2);
	t = test_process("gup");
	gmap(HB, 2 * GIG, HFLAGS);
	is_int(gt_fast_only(HB, 1024, FOLL_PIN | FOLL_WRITE, pages), 0,
	       "fast: GUP-fast alone pins nothing where no page is mapped yet");
	test_put_word(HB, 1);
	folio = gfolio(t->mm, HB);
	acq0 = gt_acq();
	is_int(gt_fast_only(HB + GIG - 1024 * PAGE_SIZE, 1024, FOLL_PIN | FOLL_WRITE, pages), 1024,
	       "fast: GUP-fast pins 1024 subpages through the PUD leaf (gup_fast_pud_leaf)");
	for (unsigned long i = 0; i < 1024; i++)
		seq &= pages[i] == folio_page(folio, GIG_NR - 1024 + i);
	ok(seq, "fast: the folio's last 1024 pages, in order");
	is_int(folio_pincount(folio), 1024, "fast: _pincount counts 1024 pins");
	is_int(folio_ref_count(folio), 1 + 1024, "fast: one reference per pin on a large folio");
	is_int(gt_acq() - acq0, 1024, "fast: nr_foll_pin_acquired +1024");
	unpin_user_pages(pages, 1024);
	ok(folio_pincount(folio) == 0 && folio_ref_count(folio) == 1, "fast: unpin gives all back");

	is_int(gt_fast_only(HB + 3 * PAGE_SIZE, 2, FOLL_GET, pages), 2,
	       "fast: FOLL_GET through the PUD leaf");
	ok(pages[0] == folio_page(folio, 3) && folio_ref_count(folio) == 3 && !folio_pincount(folio),
	   "fast: two references, no pin");
	gt_put_pages(pages, 2);

	is_int(gt_pin(HB + 7 * PAGE_SIZE, 2, FOLL_WRITE, pages), 2,
	       "slow: pin_user_pages on a PUD leaf (follow_pud_mask's leaf case)");
	ok(pages[0] == folio_page(folio, 7) && pages[1] == folio_page(folio, 8) &&
	   folio_pincount(folio) == 2, "slow: the subpages at the right offset, _pincount 2");
	unpin_user_pages(pages, 2);
	is_int(gt_pin(HB + GIG, 1, FOLL_WRITE, pages), 1,
	       "slow: pin_user_pages faults a missing gigantic page in");
	ok(folio_test_hugetlb(page_folio(pages[0])) && folio_order(page_folio(pages[0])) == PUD_ORDER &&
	   gc().free == 0, "slow: it pinned the second pool page");
	unpin_user_pages(pages, 1);
	is_int(gt_fast_only(HB + GIG - 2 * PAGE_SIZE, 4, FOLL_PIN | FOLL_WRITE, pages), 4,
	       "fast: GUP-fast alone goes on from one PUD leaf to the next (4 pages across them)");
	ok(pages[1] == folio_page(folio, GIG_NR - 1) && pages[2] == folio_page(gfolio(t->mm, HB + GIG), 0),
	   "fast: the last page of the first, the first of the second");
	unpin_user_pages(pages, 4);
	gteardown("pin_slow_fast", &t, 1);
}

/*
 * gup_longterm's hugetlb rows with 1 GiB pages: a gigantic folio in CMA is
 * migrated to a free gigantic page outside it, or the pin fails with -ENOMEM
 * and nothing pinned when there is none.
 */
static void longterm(bool fast)
{
	const char *name = fast ? "longterm_fast" : "longterm_slow";
	struct hugetlb_counts c;
	struct task_struct *t;
	struct folio *folio;
	struct page *page;
	unsigned long mig0, pfn;
	long acq0, rel0;

	/* 4 GiB, CMA the last two: two gigantic pages in CMA, one outside */
	test_boot(4096, 0, 2048);
	gset(1);
	t = test_process("glt");
	gmap(HB, GIG, HFLAGS);
	gt_fill(HB, 4, 11);
	gt_fill(HB + GIG - 4 * PAGE_SIZE, 4, 12);
	folio = gfolio(t->mm, HB);
	pfn = folio_pfn(folio);
	ok(in_cma(folio) && !folio_is_longterm_pinnable(folio),
	   "%s: the fault took the pool's page in CMA", name);
	acq0 = gt_acq();
	rel0 = gt_rel();
	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	is_int(gt_pin_any(fast, HB + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page), -ENOMEM,
	       "%s: no free gigantic page outside CMA: -ENOMEM", name);
	ok(folio_pincount(folio) == 0 && folio_ref_count(folio) == 1 &&
	   pud_pfn(__pud(pud_at(t->mm, HB))) == pfn,
	   "%s: nothing pinned, the page still mapped where it was", name);
	is_int(gt_acq() - acq0, gt_rel() - rel0, "%s: every pin taken was released", name);
	is_int(gset(2), 2, "%s: a second gigantic page, also in CMA", name);
	ok(gc().free_cma == 1, "%s: (it is free, in CMA)", name);
	is_int(gt_pin_any(fast, HB + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page), -ENOMEM,
	       "%s: a free gigantic page in CMA is no target: -ENOMEM again", name);
	ok(folio_pincount(folio) == 0 && pud_pfn(__pud(pud_at(t->mm, HB))) == pfn,
	   "%s: and again nothing pinned or moved", name);
	is_uint(gt_ev(PGMIGRATE_SUCCESS) - mig0, 0,
		"%s: no migration was done (none into CMA, none back)", name);

	is_int(gset(3), 3, "%s: a third gigantic page, outside CMA", name);
	mig0 = gt_ev(PGMIGRATE_SUCCESS);
	is_int(gt_pin_any(fast, HB + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "%s: now the long-term pin succeeds", name);
	ok(!in_cma(page_folio(page)) && folio_is_longterm_pinnable(page_folio(page)) &&
	   folio_order(page_folio(page)) == PUD_ORDER && page == folio_page(page_folio(page), 1),
	   "%s: it pins subpage 1 of a gigantic page outside CMA (migrated first)", name);
	ok(pud_pfn(__pud(pud_at(t->mm, HB))) == folio_pfn(page_folio(page)),
	   "%s: the PUD leaf maps the new page", name);
	is_uint(gt_ev(PGMIGRATE_SUCCESS) - mig0, 1, "%s: one migration", name);
	ok(gt_check(HB, 4, 11) == 0 && gt_check(HB + GIG - 4 * PAGE_SIZE, 4, 12) == 0,
	   "%s: the data came along, first and last pages", name);
	c = gc();
	ok(c.nr == 3 && c.free == 2 && c.free_cma == 2,
	   "%s: the old page is free in the pool again, in CMA", name);
	unpin_user_page(page);
	gteardown(name, &t, 1);
}

/*
 * cow.c's anonymous rows for hugetlb 1048576 kB not covered above (the
 * vmsplice rows 3-6 are XFAIL for hugetlb in cow.c itself): 2 (mprotect
 * R/O then R/W before the parent's write), 7 (an io_uring buffer survives
 * mprotect R/O-R/W: the write reuses the pinned page), 10 (R/O long-term
 * GUP-fast pin of a shared page unshares), 11/12 (R/O pin of a previously
 * shared page: the child exited, the page is mapped once but not exclusive),
 * 13/14 (R/O pin of an exclusive page mapped R/O). Must hold: no party sees
 * data it must not see, the pin sees every later write (Linux: hugetlb_wp's
 * reuse at mapcount 1 and FAULT_FLAG_UNSHARE, gup_must_unshare).
 */
static void cow_rows(void)
{
	struct task_struct *t, *child = NULL;
	struct iou_buffer *buf;
	struct folio *folio;
	struct page *page;
	unsigned long v = 0;

	/* no CMA: the pages may stay pinned where they are, so GUP-fast itself must unshare */
	test_boot(3072, 0, 0);
	is_int(gset(2), 2, "cow: two gigantic pages, outside CMA");
	t = test_process("gcow");

	/* 2: mprotect optimisation */
	gmap(HB, GIG, HFLAGS);
	test_put_word(HB, 0x11);
	pinmm_fork(t, "c2", &child);
	pinmm_task_attach(t);
	do_mprotect(HB, GIG, PROT_READ);
	do_mprotect(HB, GIG, GT_RW);
	test_put_word(HB, 0xff);
	pinmm_task_attach(child);
	is_uint(test_get_word(HB), 0x11, "cow [hugetlb (1048576 kB), 2 basic COW with mprotect optimisation]: "
		"the child still reads the old bytes");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	vm_munmap(HB, GIG);

	/* 7: R/O-mapping an io_uring fixed buffer */
	gmap(HB, GIG, HFLAGS);
	test_put_word(HB, 0x21);
	is_int(iou_register_buffer(HB, 2UL << 20, &buf), 0,
	       "cow [hugetlb (1048576 kB), 7 io_uring R/O mapping]: register 2 MiB of the page");
	do_mprotect(HB, GIG, PROT_READ);
	do_mprotect(HB, GIG, GT_RW);
	test_put_word(HB, 0x22);
	iou_buffer_copy_out(buf, 0, &v, sizeof(v));
	is_uint(v, 0x22, "cow [hugetlb (1048576 kB), 7 io_uring R/O mapping]: the buffer holds what "
		"the process wrote after mprotect (the pinned page was reused)");
	iou_unregister_buffer(buf);
	vm_munmap(HB, GIG);

	/* 10: R/O long-term GUP-fast pin on a R/O-mapped shared page */
	gmap(HB, GIG, HFLAGS);
	test_put_word(HB, 0x31);
	pinmm_fork(t, "c10", &child);
	pinmm_task_attach(t);
	is_int(pin_user_pages_fast(HB, 1, FOLL_LONGTERM, &page), 1,
	       "cow [hugetlb (1048576 kB), 10 R/O GUP-fast pin on a shared page]: pinned");
	test_put_word(HB, 0x32);
	is_uint(*(unsigned long *)page_address(page), 0x32,
		"cow [hugetlb (1048576 kB), 10 R/O GUP-fast pin on a shared page]: the pin sees the "
		"parent's write (unshared first)");
	unpin_user_page(page);
	pinmm_task_attach(child);
	is_uint(test_get_word(HB), 0x31, "cow [hugetlb (1048576 kB), 10]: the child keeps the old bytes");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	vm_munmap(HB, GIG);

	/* 11/12: previously shared */
	for (int fast = 0; fast < 2; fast++) {
		gmap(HB, GIG, HFLAGS);
		test_put_word(HB, 0x41);
		pinmm_fork(t, "c11", &child);
		pinmm_task_attach(child);
		pinmm_task_detach();
		pinmm_task_exit(child);
		pinmm_task_attach(t);
		folio = gfolio(t->mm, HB);
		ok(folio && !PageAnonExclusive(&folio->page) && folio_mapcount(folio) == 1,
		   "cow [hugetlb (1048576 kB), %d R/O pin on a previously shared page]: mapped once, "
		   "not exclusive", fast ? 12 : 11);
		is_int(gt_pin_any(fast, HB, 1, FOLL_LONGTERM, &page), 1,
		       "cow [hugetlb (1048576 kB), %d]: R/O long-term %s pin", fast ? 12 : 11,
		       fast ? "GUP-fast" : "GUP");
		test_put_word(HB, 0x42);
		is_uint(*(unsigned long *)page_address(page), 0x42,
			"cow [hugetlb (1048576 kB), %d]: the pin sees the later write", fast ? 12 : 11);
		unpin_user_page(page);
		vm_munmap(HB, GIG);
	}

	/* 13/14: exclusive, mapped R/O */
	for (int fast = 0; fast < 2; fast++) {
		gmap(HB, GIG, HFLAGS);
		test_put_word(HB, 0x51);
		do_mprotect(HB, GIG, PROT_READ);
		is_int(gt_pin_any(fast, HB, 1, FOLL_LONGTERM, &page), 1,
		       "cow [hugetlb (1048576 kB), %d R/O pin on a R/O-mapped exclusive page]: pinned",
		       fast ? 14 : 13);
		do_mprotect(HB, GIG, GT_RW);
		test_put_word(HB, 0x52);
		is_uint(*(unsigned long *)page_address(page), 0x52,
			"cow [hugetlb (1048576 kB), %d]: the write reused the pinned page: the pin sees it",
			fast ? 14 : 13);
		unpin_user_page(page);
		vm_munmap(HB, GIG);
	}
	gteardown("cow_rows", &t, 1);
}

int main(void)
{
	plan_no_plan();
	pool();
	bad_input();
	fault_cow_fork();
	fork_with_pin();
	unshare_ro_pin();
	pin_slow_fast();
	longterm(false);
	longterm(true);
	cow_rows();
	return done_testing();
}
