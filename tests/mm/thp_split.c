// SPDX-License-Identifier: MIT
/*
 * The split of a mapped anonymous THP (Linux mm/huge_memory.c
 * __folio_split(), split_huge_page_to_list_to_order()). The rules:
 *  R-CAN-SPLIT   mm/huge_memory.c can_split_folio(): refcount == mapcount +
 *                the caches' + the caller's, or -EAGAIN before anything is
 *                unmapped: a pin or a GET reference on any page keeps the
 *                whole folio, its PMD, its exclusivity and its data as they were.
 *  R-FREEZE-PMD  __split_huge_pmd_locked() with freeze: each PMD mapping
 *                becomes 512 PTE migration entries (thp_split_pmd counts it),
 *                and the pages come back PTE-mapped by their own folios.
 *  R-SPLIT       __split_folio_to_order(), remap_page(): every page becomes an
 *                order-0 folio with its data, its own PageAnonExclusive
 *                (carried by the migration entries), one mapcount per mapping
 *                mm, one reference per mapping (+ the caller's on its page's
 *                folio, still locked), on the LRU like the head; unmapped
 *                pages are freed; thp_split_page / thp_split_page_failed.
 *  R-SPLIT-FORK  a THP shared with a fork child: both mms get PTEs of the
 *                same small folios, read-only and not exclusive; a write then
 *                COWs one 4 KiB page only.
 *  R-SHARE-PMD   __split_huge_pmd_locked() with freeze asks
 *                folio_try_share_anon_rmap_pmd(): a pin taken after
 *                can_split_folio() (GUP-fast needs no lock) makes it split
 *                the PMD into ordinary PTEs instead; the split fails -EAGAIN
 *                and the pinned page stays mapped, exclusive and writable.
 *                The refcount freeze behind it would also stop the split:
 *                only the pair of mutants is seen (as in Linux).
 */
#include "../gup/helpers.h"

#include <pinmm/pagemap.h>
#include <pinmm/race.h>

#define B	GT_BASE
#define NR	HPAGE_PMD_NR

static struct task_struct *fork_child(struct task_struct *parent)
{
	struct task_struct *child = NULL;

	if (pinmm_fork(parent, "child", &child))
		bail_out("fork failed");
	pinmm_task_attach(parent);
	return child;
}

/* Split the folio mapping @addr as a caller would: lock, reference, split, unlock, put. */
static int split_at(unsigned long addr, struct folio **head)
{
	struct page *page = gt_page(current->mm, addr);
	struct folio *folio;
	int ret;

	if (!page)
		bail_out("nothing mapped at %#lx", addr);
	folio = page_folio(page);
	folio_get(folio);
	folio_lock(folio);
	ret = split_folio(folio);
	if (head)
		*head = folio;
	/* the caller's lock and reference stay on the head's (new) folio */
	folio_unlock(folio);
	folio_put(folio);
	return ret;
}

/* Is every page of [B, B + NR pages) PTE-mapped by its own order-0 folio, at pfn0 + i? */
static bool all_small(struct mm_struct *mm, unsigned long pfn0, unsigned long skip)
{
	for (unsigned long i = 0; i < NR; i++) {
		unsigned long a = B + i * PAGE_SIZE;
		struct page *p;

		if (i == skip)
			continue;
		if (test_pmd_mapped(mm, a) || test_pt_pfn(mm, a) != pfn0 + i)
			return false;
		p = pfn_to_page(pfn0 + i);
		if (folio_test_large(page_folio(p)) || page_folio(p) != (struct folio *)p)
			return false;
	}
	return true;
}

static void split_pmd_mapped(bool readonly)
{
	const char *name = readonly ? "pmd, read-only" : "pmd";
	struct task_struct *t[1];
	unsigned long pfn0, used;
	long split0, pmd0, fail0;
	bool excl = true, counts = true, lru = true, wr = true;
	struct folio *head;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("split");
	if (!gt_thp(B)) {
		skip(9, "no THP");
		gt_teardown(name, t, 1);
		return;
	}
	gt_fill(B, NR, 1);
	pfn0 = test_pt_pfn(current->mm, B);
	/* still one PMD, exclusive but read-only: the entries say READ_EXCLUSIVE */
	if (readonly && do_mprotect(B, PMD_SIZE, PROT_READ))
		bail_out("mprotect");
	split0 = gt_ev(THP_SPLIT_PAGE);
	pmd0 = gt_ev(THP_SPLIT_PMD);
	fail0 = gt_ev(THP_SPLIT_PAGE_FAILED);
	used = pinmm_frames_in_use();

	ok(test_pmd_mapped(current->mm, B), "R-FREEZE-PMD [%s]: one PMD maps the THP", name);
	is_int(split_at(B + 7 * PAGE_SIZE, &head), 0,
	       "R-FREEZE-PMD [%s]: split of an unpinned PMD-mapped THP succeeds", name);
	ok(all_small(current->mm, pfn0, -1UL),
	   "R-FREEZE-PMD [%s]: every page is PTE-mapped at its pfn by its own order-0 folio", name);
	for (unsigned long i = 0; i < NR; i++) {
		struct page *p = pfn_to_page(pfn0 + i);
		struct folio *f = page_folio(p);

		excl &= PageAnonExclusive(p);
		wr &= gt_writable(current->mm, B + i * PAGE_SIZE) == !readonly;
		counts &= folio_mapcount(f) == 1 && folio_ref_count(f) == 1 && !folio_test_locked(f);
		lru &= folio_test_lru(f) && folio_test_anon(f) && f->index == (B >> PAGE_SHIFT) + i;
	}
	ok(excl, "R-SPLIT [%s]: PageAnonExclusive on every page (the PMD's exclusivity, carried "
	   "by the migration entries)", name);
	ok(wr, "R-SPLIT [%s]: every PTE keeps the PMD's permission (%s)", name,
	   readonly ? "read-only" : "writable");
	ok(counts, "R-SPLIT [%s]: each new folio: mapcount 1, one reference (its PTE's), unlocked",
	   name);
	ok(lru, "R-SPLIT [%s]: each new folio is anon, on the LRU, at its own index", name);
	is_int(gt_check(B, NR, 1), 0, "R-SPLIT [%s]: the data of all 512 pages reads back", name);
	is_uint(gt_ev(THP_SPLIT_PAGE) - split0, 1, "R-SPLIT [%s]: thp_split_page counts one split",
		name);
	is_uint(gt_ev(THP_SPLIT_PMD) - pmd0, 1, "R-FREEZE-PMD [%s]: thp_split_pmd counts the PMD",
		name);
	is_uint(gt_ev(THP_SPLIT_PAGE_FAILED) - fail0, 0,
		"R-SPLIT [%s]: thp_split_page_failed stays", name);
	ok(global_node_page_state_snapshot(NR_ANON_THPS) == 0 &&
	   global_node_page_state_snapshot(NR_ANON_MAPPED) == NR &&
	   get_mm_counter(current->mm, MM_ANONPAGES) == NR && pinmm_frames_in_use() == used,
	   "R-SPLIT [%s]: nr_anon_transparent_hugepages 0, nr_anon_pages and rss 512, no frame "
	   "gained or lost", name);
	if (readonly) {
		/* exclusive pages: mprotect back to writable maps them writable at once */
		do_mprotect(B, PMD_SIZE, PROT_READ | PROT_WRITE);
		gt_fill(B + 9 * PAGE_SIZE, 1, 6);
		ok(test_pt_pfn(current->mm, B + 9 * PAGE_SIZE) == pfn0 + 9,
		   "R-SPLIT [%s]: a write after mprotect reuses the exclusive page (no COW)", name);
	}
	gt_teardown(name, t, 1);
}

/* A THP shared with a fork child, PMD-mapped in both, or PTE-mapped with a hole. */
static void split_shared_with_child(bool pte_mapped)
{
	const char *name = pte_mapped ? "PTE-mapped" : "PMD-mapped";
	unsigned long hole = pte_mapped ? 100 : -1UL, pfn0, used;
	long pmd0;
	struct task_struct *t[2];
	bool excl = false, counts = true, ro = true;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("parent");
	t[1] = NULL;
	if (!gt_thp(B)) {
		skip(8, "no THP");
		gt_teardown(name, t, 1);
		return;
	}
	gt_fill(B, NR, 2);
	pfn0 = test_pt_pfn(current->mm, B);
	if (pte_mapped)
		do_madvise(current->mm, B + hole * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
	t[1] = fork_child(t[0]);
	pmd0 = gt_ev(THP_SPLIT_PMD);
	used = pinmm_frames_in_use();

	is_int(split_at(B, NULL), 0, "R-SPLIT-FORK [%s]: the split succeeds", name);
	ok(all_small(t[0]->mm, pfn0, hole) && all_small(t[1]->mm, pfn0, hole),
	   "R-SPLIT-FORK [%s]: parent and child map every page by PTEs of the same order-0 folios",
	   name);
	for (unsigned long i = 0; i < NR; i++) {
		struct page *p = pfn_to_page(pfn0 + i);
		struct folio *f = page_folio(p);

		if (i == hole)
			continue;
		excl |= PageAnonExclusive(p);
		ro &= !gt_writable(t[0]->mm, B + i * PAGE_SIZE) &&
		      !gt_writable(t[1]->mm, B + i * PAGE_SIZE);
		counts &= folio_mapcount(f) == 2 && folio_ref_count(f) == 2;
	}
	ok(!excl && ro, "R-SPLIT-FORK [%s]: no page is exclusive, every PTE read-only", name);
	ok(counts, "R-SPLIT-FORK [%s]: each new folio: mapcount 2, two references", name);
	is_uint(gt_ev(THP_SPLIT_PMD) - pmd0, pte_mapped ? 0 : 2,
		"R-FREEZE-PMD [%s]: thp_split_pmd counts each PMD mapping (%d)", name,
		pte_mapped ? 0 : 2);
	is_uint(pinmm_frames_in_use(), used - (pte_mapped ? 1 : 0),
		"R-SPLIT [%s]: %s", name,
		pte_mapped ? "the page no one mapped was freed" : "no frame gained or lost");
	/* a write COWs one small page now, not the THP */
	gt_fill(B + 3 * PAGE_SIZE, 1, 3);
	ok(test_pt_pfn(t[0]->mm, B + 3 * PAGE_SIZE) != pfn0 + 3 &&
	   test_pt_pfn(t[0]->mm, B + 4 * PAGE_SIZE) == pfn0 + 4,
	   "R-SPLIT-FORK [%s]: the parent's write copies only the written page", name);
	pinmm_task_attach(t[1]);
	ok(gt_check(B, 3, 2) == 0 && gt_check(B + 3 * PAGE_SIZE, 1, 2) == 0,
	   "R-SPLIT-FORK [%s]: the child still reads the old data", name);
	pinmm_task_attach(t[0]);
	gt_teardown(name, t, 2);
}

/*
 * A pin (or a GET) on one page of the THP: can_split_folio() says no before
 * anything is unmapped: the PMD (or every PTE), the exclusivity and the data
 * stay as they were.
 */
static void split_refused(bool pte_mapped, bool pin)
{
	const char *name = pin ? (pte_mapped ? "pin, PTE-mapped" : "pin, PMD-mapped") :
				 (pte_mapped ? "GET, PTE-mapped" : "GET, PMD-mapped");
	unsigned long pfn0, hole = pte_mapped ? 300 : -1UL;
	long pmd0, fail0, split0;
	struct task_struct *t[1];
	struct page *page = GT_POISON;
	bool same = true;
	struct folio *folio;
	long n;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("refused");
	if (!gt_thp(B)) {
		skip(7, "no THP");
		gt_teardown(name, t, 1);
		return;
	}
	gt_fill(B, NR, 4);
	pfn0 = test_pt_pfn(current->mm, B);
	if (pte_mapped)
		do_madvise(current->mm, B + hole * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
	n = pin ? gt_pin(B + 77 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page) :
		  gt_get(B + 77 * PAGE_SIZE, 1, FOLL_WRITE, &page);
	if (n != 1)
		bail_out("%s of one page: %ld", pin ? "pin" : "get", n);
	folio = page_folio(page);
	pmd0 = gt_ev(THP_SPLIT_PMD);
	fail0 = gt_ev(THP_SPLIT_PAGE_FAILED);
	split0 = gt_ev(THP_SPLIT_PAGE);

	is_int(split_at(B, NULL), -EAGAIN, "R-CAN-SPLIT [%s]: the split fails with -EAGAIN", name);
	ok(folio_test_large(folio) && folio_order(folio) == HPAGE_PMD_ORDER &&
	   page_folio(pfn_to_page(pfn0 + 300)) == folio,
	   "R-CAN-SPLIT [%s]: the folio stays whole", name);
	ok(test_pmd_mapped(current->mm, B) == !pte_mapped,
	   "R-CAN-SPLIT [%s]: %s", name,
	   pte_mapped ? "still PTE-mapped" : "still mapped by its PMD (nothing was unmapped)");
	for (unsigned long i = 0; i < NR; i++) {
		unsigned long a = B + i * PAGE_SIZE;

		if (i == hole)
			continue;
		same &= test_pt_pfn(current->mm, a) == pfn0 + i && gt_writable(current->mm, a) &&
			(pte_mapped ? PageAnonExclusive(pfn_to_page(pfn0 + i)) :
				      PageAnonExclusive(&folio->page));
	}
	ok(same, "R-CAN-SPLIT [%s]: every page still mapped where it was, writable, exclusive",
	   name);
	is_int(gt_check(B, hole == -1UL ? NR : hole, 4), 0, "R-CAN-SPLIT [%s]: the data is intact",
	       name);
	ok(gt_ev(THP_SPLIT_PMD) == pmd0 && gt_ev(THP_SPLIT_PAGE) == split0 &&
	   gt_ev(THP_SPLIT_PAGE_FAILED) - fail0 == 1,
	   "R-CAN-SPLIT [%s]: thp_split_page_failed 1, no thp_split_page, no thp_split_pmd", name);
	/* the device's write lands in the page the process reads */
	gt_page_write(page, B + 77 * PAGE_SIZE, 5);
	ok(gt_check(B + 77 * PAGE_SIZE, 1, 5) == 0,
	   "R-CAN-SPLIT [%s]: the process reads what was written through the reference", name);
	if (pin)
		unpin_user_page(page);
	else
		put_page(page);
	gt_teardown(name, t, 1);
}

static struct page *late_page = GT_POISON;
static long late_n;

/* Between can_split_folio() and the unmap: a GUP-fast pin of page 77. */
static void pin_late(enum pinmm_race point, unsigned long pfn, void *arg)
{
	(void)point;
	(void)pfn;
	(void)arg;
	pinmm_race_disarm(PINMM_RACE_THP_SPLIT_CHECKED);
	late_n = pin_user_pages_fast(B + 77 * PAGE_SIZE, 1, FOLL_WRITE, &late_page);
}

static void split_pin_after_check(void)
{
	struct task_struct *t[1];
	unsigned long pfn0;
	long pmd0, fail0;
	bool same = true;
	struct folio *folio;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("late");
	if (!gt_thp(B)) {
		skip(6, "no THP");
		gt_teardown("late pin", t, 1);
		return;
	}
	gt_fill(B, NR, 7);
	pfn0 = test_pt_pfn(current->mm, B);
	folio = page_folio(pfn_to_page(pfn0));
	pmd0 = gt_ev(THP_SPLIT_PMD);
	fail0 = gt_ev(THP_SPLIT_PAGE_FAILED);
	if (pinmm_race_arm(PINMM_RACE_THP_SPLIT_CHECKED, pin_late, NULL)) {
		skip(6, "no race points in this build");
		gt_teardown("late pin", t, 1);
		return;
	}
	is_int(split_at(B, NULL), -EAGAIN,
	       "R-SHARE-PMD: a pin taken after can_split_folio(): the split fails -EAGAIN");
	is_int(late_n, 1, "R-SHARE-PMD: GUP-fast pinned page 77 in that window");
	ok(folio_test_large(folio) && folio_maybe_dma_pinned(folio),
	   "R-SHARE-PMD: the folio stays whole, pinned");
	ok(!test_pmd_mapped(current->mm, B) && gt_ev(THP_SPLIT_PMD) - pmd0 == 1 &&
	   gt_ev(THP_SPLIT_PAGE_FAILED) - fail0 == 1,
	   "R-SHARE-PMD: folio_try_share_anon_rmap_pmd() refused: the PMD was split into "
	   "PTEs (thp_split_pmd 1, thp_split_page_failed 1)");
	for (unsigned long i = 0; i < NR; i++)
		same &= test_pt_pfn(current->mm, B + i * PAGE_SIZE) == pfn0 + i &&
			gt_writable(current->mm, B + i * PAGE_SIZE) &&
			PageAnonExclusive(pfn_to_page(pfn0 + i));
	ok(same, "R-SHARE-PMD: every page mapped where it was, writable and exclusive");
	gt_page_write(late_page, B + 77 * PAGE_SIZE, 8);
	ok(gt_check(B + 77 * PAGE_SIZE, 1, 8) == 0 && gt_check(B, 77, 7) == 0,
	   "R-SHARE-PMD: the device's write reaches the page the process maps; the data stays");
	if (late_n == 1)
		unpin_user_page(late_page);
	gt_teardown("late pin", t, 1);
}

int main(void)
{
	plan_no_plan();
	split_pmd_mapped(false);
	split_pmd_mapped(true);
	split_shared_with_child(false);
	split_shared_with_child(true);
	split_refused(false, true);
	split_refused(true, true);
	split_refused(false, false);
	split_refused(true, false);
	split_pin_after_check();
	return done_testing();
}
