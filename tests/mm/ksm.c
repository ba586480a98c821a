// SPDX-License-Identifier: MIT
/*
 * KSM (Linux mm/ksm.c) and the pins it must respect. Each case names the
 * Linux rule and function it checks:
 *  - identical anon pages merge into one write-protected KSM page and the
 *    frames come back (cmp_and_merge_page, try_to_merge_one_page,
 *    replace_page; tools/testing/selftests/mm/ksm_tests.c "merge");
 *  - a page with a pin or a GUP reference is never merged
 *    (write_protect_page's expected-refcount check and
 *    folio_try_share_anon_rmap_pte()), also a page no longer exclusive
 *    whose PTE is read-only but dirty (after a fork, in the parent or the
 *    child: fork keeps a private PTE's dirty bit): write_protect_page
 *    checks whenever the PTE is writable, dirty or the page exclusive;
 *  - a CPU write to a KSM page copies it, even when one mapping is left
 *    (do_wp_page / wp_can_reuse_anon_folio: KSM folios are never reused);
 *  - a R/O pin of a KSM page unshares it first, a write pin breaks COW, and
 *    the device then sees the CPU's writes (mm/gup.c gup_must_unshare;
 *    cow.c's R/O long-term pin rows on KSM pages);
 *  - fork shares KSM pages and registers the child (ksm_fork); exit drops
 *    the mm's records and the stable nodes of freed pages (ksm_exit);
 *  - MADV_UNMERGEABLE and run=2 copy every KSM page back (break_ksm,
 *    unmerge_and_remove_all_rmap_items);
 *  - merging sends MMU_NOTIFY_CLEAR invalidations (write_protect_page,
 *    replace_page);
 *  - bad input: MADV_MERGEABLE where KSM cannot go is ignored with 0, as
 *    Linux 6.18 answers (vma_ksm_compatible); misaligned or unmapped ranges
 *    are -EINVAL / -ENOMEM; bad controls -EINVAL;
 *  - a page of a THP merges after try_to_merge_one_page() splits the THP
 *    (split_huge_page(): only that page becomes the KSM page, the other 511
 *    stay where they are, PTE-mapped small folios); a THP with a pin on any
 *    page is neither split (can_split_folio()) nor merged, and stays
 *    PMD-mapped;
 *  - ksmd, the scanner thread, merges on its own (run=1): PINMM_TEST_CONCURRENT;
 *  - MADV_PAGEOUT with a swap area: the unique pages go to swap, the KSM page
 *    stays (pinmm's reclaim does not swap KSM pages, docs/swap.md; Linux swaps
 *    them through rmap_walk_ksm) and reads the same after the others come back.
 */
#include "pt_helpers.h"
#include "notifier_helpers.h"

#include <pinmm/fault-inject.h>
#include <pinmm/gup.h>
#include <pinmm/ksm.h>
#include <pinmm/migrate.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/swap.h>

#define NP 8

static struct pinmm_ksm_stats stats(void)
{
	struct pinmm_ksm_stats st;

	pinmm_ksm_get_stats(&st);
	return st;
}

/* Fill page @i of the range with @v (every word), through the CPU. */
static void fill(unsigned long base, int i, unsigned long v)
{
	for (unsigned long off = 0; off < PAGE_SIZE; off += 512)
		pt_put(base + i * PAGE_SIZE + off, v);
}

static bool page_is(unsigned long base, int i, unsigned long v)
{
	for (unsigned long off = 0; off < PAGE_SIZE; off += 512)
		if (pt_get(base + i * PAGE_SIZE + off) != v)
			return false;
	return true;
}

static bool is_ksm_at(struct mm_struct *mm, unsigned long addr)
{
	struct folio *f = pt_folio(mm, addr);

	return f && folio_test_ksm(f);
}

/* A process with NP pages at PT_BASE: pages 0..same-1 hold 0x5a.., the rest unique. */
static struct task_struct *setup(int same, bool mergeable)
{
	struct task_struct *t;

	pt_boot();
	t = test_process("ksm");
	test_mmap_fixed(PT_BASE, NP * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	for (int i = 0; i < NP; i++)
		fill(PT_BASE, i, i < same ? 0x5a5a5a5aUL : 0x1000UL + i);
	if (mergeable)
		is_int(do_madvise(t->mm, PT_BASE, NP * PAGE_SIZE, MADV_MERGEABLE), 0,
		       "madvise(MADV_MERGEABLE) on private anon memory: 0");
	return t;
}

static void identical_pages_merge(void)
{
	struct task_struct *t = setup(6, true);
	struct mm_struct *mm = t->mm;
	unsigned long used0 = pinmm_frames_in_use(), kpfn;
	struct pinmm_ksm_stats st;
	bool same = true, ro = true, data = true;

	ok(mm_flags_test(MMF_VM_MERGEABLE, mm) && (pt_vma(mm, PT_BASE)->vm_flags & VM_MERGEABLE),
	   "ksm_madvise: VM_MERGEABLE set and the mm registered (MMF_VM_MERGEABLE, __ksm_enter)");
	pinmm_ksm_scan_full(1);
	st = stats();
	is_uint(st.pages_shared + st.pages_sharing, 0,
		"cmp_and_merge_page: a first look only records checksums (calc_checksum)");
	pinmm_ksm_scan_full(1);
	st = stats();
	is_uint(st.pages_shared, 1, "ksm_tests merge: 6 equal pages make one KSM page (pages_shared 1)");
	is_uint(st.pages_sharing, 5, "ksm_tests merge: 5 more sites share it (pages_sharing 5)");
	is_uint(st.pages_unshared, 2, "the 2 unique pages wait in the unstable tree (pages_unshared 2)");
	kpfn = test_pt_pfn(mm, PT_BASE);
	for (int i = 0; i < 6; i++) {
		unsigned long a = PT_BASE + i * PAGE_SIZE;

		same &= test_pt_pfn(mm, a) == kpfn;
		ro &= !pte_write(pt_pte(mm, a));
		data &= page_is(PT_BASE, i, 0x5a5a5a5aUL);
	}
	ok(same && is_ksm_at(mm, PT_BASE),
	   "replace_page: every equal page maps the one KSM folio (PAGE_MAPPING_KSM)");
	ok(ro, "write_protect_page: every mapping of the KSM page is read-only");
	ok(data, "merged pages read what was written");
	ok(!PageAnonExclusive(pfn_to_page(kpfn)), "a KSM page is never PageAnonExclusive");
	is_int(folio_mapcount(pfn_folio(kpfn)), 6, "the KSM folio is mapped 6 times");
	is_uint(used0 - pinmm_frames_in_use(), 5, "merging gave 5 frames back to the allocator");
	ok(!is_ksm_at(mm, PT_BASE + 6 * PAGE_SIZE) && !is_ksm_at(mm, PT_BASE + 7 * PAGE_SIZE),
	   "unique pages are not merged");
	pt_teardown("identical_pages_merge", (struct task_struct *[]){ t }, 1);
}

static void cpu_write_copies_ksm_page(void)
{
	struct task_struct *t = setup(3, true);
	struct mm_struct *mm = t->mm;
	unsigned long kpfn, cows;

	pinmm_ksm_scan_full(2);
	kpfn = test_pt_pfn(mm, PT_BASE);
	ok(is_ksm_at(mm, PT_BASE + PAGE_SIZE) && test_pt_pfn(mm, PT_BASE + PAGE_SIZE) == kpfn,
	   "three equal pages merged");
	cows = ev(COW_FAULT);
	fill(PT_BASE, 1, 0x77);
	ok(test_pt_pfn(mm, PT_BASE + PAGE_SIZE) != kpfn && pte_write(pt_pte(mm, PT_BASE + PAGE_SIZE)),
	   "do_wp_page: a write to a KSM page gets a private writable copy");
	is_uint(ev(COW_FAULT) - cows, 1, "do_wp_page: it is a COW fault");
	ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL) && page_is(PT_BASE, 2, 0x5a5a5a5aUL) &&
	   page_is(PT_BASE, 1, 0x77), "the other sharers still read the old contents");
	/* one mapping left, refcount 1: still copied, never reused */
	is_int(vm_munmap(PT_BASE + 2 * PAGE_SIZE, PAGE_SIZE), 0, "munmap one sharer");
	ok(folio_mapcount(pfn_folio(kpfn)) == 1 && folio_ref_count(pfn_folio(kpfn)) == 1,
	   "the KSM page is mapped once, refcount 1");
	fill(PT_BASE, 0, 0x88);
	ok(test_pt_pfn(mm, PT_BASE) != kpfn && page_is(PT_BASE, 0, 0x88),
	   "wp_can_reuse_anon_folio: a KSM folio is copied even with one mapping left");
	pinmm_ksm_scan_full(1);
	is_uint(stats().stable_nodes, 0, "the freed KSM page's stable node is dropped (stale)");
	pt_teardown("cpu_write_copies_ksm_page", (struct task_struct *[]){ t }, 1);
}

#define P2 (PT_BASE + 2 * PAGE_SIZE)

static void pinned_page_is_not_merged(bool fast)
{
	struct task_struct *t = setup(3, true);
	struct mm_struct *mm = t->mm;
	struct page *pg = NULL;
	const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";
	long got;

	if (fast) {
		got = pin_user_pages_fast(P2, 1, FOLL_WRITE | FOLL_LONGTERM, &pg);
	} else {
		mmap_read_lock(mm);
		got = pin_user_pages(P2, 1, FOLL_WRITE | FOLL_LONGTERM, &pg);
		mmap_read_unlock(mm);
	}
	is_int(got, 1, "%s(FOLL_WRITE|FOLL_LONGTERM) pins page 2 (equal to pages 0 and 1)", how);
	pinmm_ksm_scan_full(3);
	ok(!is_ksm_at(mm, P2) && test_pt_pfn(mm, P2) == page_to_pfn(pg) &&
	   pte_write(pt_pte(mm, P2)),
	   "write_protect_page (%s): a pinned page is not merged and stays writable", how);
	ok(is_ksm_at(mm, PT_BASE) && stats().pages_sharing == 1,
	   "the two unpinned equal pages merged beside it (%s; sharing %lu)", how,
	   stats().pages_sharing);
	fill(PT_BASE, 2, 0x99);
	ok(page_address(pg) == pfn_to_virt(test_pt_pfn(mm, P2)) &&
	   *(unsigned long *)page_address(pg) == 0x99,
	   "the device sees the CPU's write through the pin (%s)", how);
	fill(PT_BASE, 2, 0x5a5a5a5aUL);
	unpin_user_page(pg);
	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(mm, P2) && stats().pages_sharing == 2,
	   "after unpin the page merges (%s)", how);
	pt_teardown(fast ? "pinned_page_is_not_merged_fast" : "pinned_page_is_not_merged",
		    (struct task_struct *[]){ t }, 1);
}

static void referenced_page_is_not_merged(void)
{
	struct task_struct *t = setup(2, true);
	struct mm_struct *mm = t->mm;
	struct page *pg = NULL;

	mmap_read_lock(mm);
	is_int(get_user_pages(PT_BASE, 1, 0, &pg), 1, "get_user_pages (FOLL_GET) on page 0");
	mmap_read_unlock(mm);
	pinmm_ksm_scan_full(3);
	ok(!is_ksm_at(mm, PT_BASE) && !is_ksm_at(mm, PT_BASE + PAGE_SIZE),
	   "write_protect_page: mapcount + 1 != refcount (a GUP reference) refuses the merge");
	put_page(pg);
	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(mm, PT_BASE) && test_pt_pfn(mm, PT_BASE) == test_pt_pfn(mm, PT_BASE + PAGE_SIZE),
	   "after put_page the two pages merge");
	pt_teardown("referenced_page_is_not_merged", (struct task_struct *[]){ t }, 1);
}

/*
 * After a fork and the child's exit the parent's PTE is read-only but still
 * dirty, its page not exclusive: a GUP reference (FOLL_GET never unshares)
 * still refuses the merge. write_protect_page() takes the PTE down and
 * checks the refcount when the PTE is writable, or dirty, or the page
 * exclusive (Linux mm/ksm.c write_protect_page()). The same holds for the
 * child's side (@child: the parent exits instead): fork copies a private
 * PTE with its dirty bit (Linux copy_present_pte() cleans only shared ones).
 */
static void referenced_shared_page_is_not_merged(bool in_child)
{
	struct task_struct *t = setup(2, true), *child = NULL, *left;
	const char *k = in_child ? "child" : "parent";
	struct page *pg = NULL;
	struct mm_struct *mm;
	unsigned long pfn;

	is_int(pinmm_fork(t, "child", &child), 0, "fork (%s kept)", k);
	pinmm_task_attach(in_child ? t : child);
	pinmm_task_exit(in_child ? t : child);
	left = in_child ? child : t;
	pinmm_task_attach(left);
	mm = left->mm;
	pfn = test_pt_pfn(mm, PT_BASE);
	ok(!pte_write(pt_pte(mm, PT_BASE)) && pte_dirty(pt_pte(mm, PT_BASE)) &&
	   !PageAnonExclusive(pfn_to_page(pfn)),
	   "after fork and the %s's exit: the %s's PTE read-only and dirty, page not exclusive",
	   in_child ? "parent" : "child", k);
	mmap_read_lock(mm);
	is_int(get_user_pages(PT_BASE, 1, 0, &pg), 1, "get_user_pages (FOLL_GET) on page 0 (%s)", k);
	mmap_read_unlock(mm);
	ok(pg == pfn_to_page(pfn) && !PageAnonExclusive(pg), "FOLL_GET did not unshare it (%s)", k);
	pinmm_ksm_scan_full(3);
	ok(!is_ksm_at(mm, PT_BASE) && test_pt_pfn(mm, PT_BASE) == pfn,
	   "write_protect_page: a read-only dirty PTE of a shared page is checked too: "
	   "the GUP reference refuses the merge (%s)", k);
	put_page(pg);
	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(mm, PT_BASE) && test_pt_pfn(mm, PT_BASE) == test_pt_pfn(mm, PT_BASE + PAGE_SIZE),
	   "after put_page it merges too (%s)", k);
	pt_teardown("referenced_shared_page_is_not_merged", (struct task_struct *[]){ left }, 1);
}

static void pin_of_ksm_page_unshares(bool write, bool fast)
{
	struct task_struct *t = setup(3, true);
	struct mm_struct *mm = t->mm;
	unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	const char *how = write ? (fast ? "R/W fast" : "R/W") : (fast ? "R/O fast" : "R/O");
	struct page *pg = NULL;
	unsigned long kpfn;
	long got;

	pinmm_ksm_scan_full(2);
	kpfn = test_pt_pfn(mm, PT_BASE);
	ok(is_ksm_at(mm, PT_BASE), "page 0 is a KSM page before the %s pin", how);
	if (fast) {
		got = pin_user_pages_fast(PT_BASE, 1, flags, &pg);
	} else {
		mmap_read_lock(mm);
		got = pin_user_pages(PT_BASE, 1, flags, &pg);
		mmap_read_unlock(mm);
	}
	is_int(got, 1, "%s long-term pin of a KSM page succeeds", how);
	ok(page_to_pfn(pg) != kpfn && !folio_test_ksm(page_folio(pg)) && PageAnonExclusive(pg),
	   write ? "FOLL_WRITE pin of a KSM page breaks COW: an exclusive private copy is pinned (%s)"
		 : "gup_must_unshare: a R/O pin of a KSM page unshares it first (%s)", how);
	is_uint(test_pt_pfn(mm, PT_BASE), page_to_pfn(pg), "the PTE maps the pinned copy (%s)", how);
	ok(folio_test_ksm(pfn_folio(kpfn)) && test_pt_pfn(mm, PT_BASE + PAGE_SIZE) == kpfn,
	   "the other sharers keep the KSM page (%s)", how);
	fill(PT_BASE, 0, 0xabcd);
	is_uint(test_pt_pfn(mm, PT_BASE), page_to_pfn(pg),
		"cow.c: a CPU write after the %s pin goes to the pinned page", how);
	is_uint(*(unsigned long *)page_address(pg), 0xabcd,
		"cow.c: the device sees the CPU's write after the pin (%s)", how);
	fill(PT_BASE, 0, 0x5a5a5a5aUL);
	pinmm_ksm_scan_full(3);
	ok(!is_ksm_at(mm, PT_BASE) && test_pt_pfn(mm, PT_BASE) == page_to_pfn(pg),
	   "the pinned copy is never merged back while pinned (%s)", how);
	unpin_user_page(pg);
	pt_teardown("pin_of_ksm_page_unshares", (struct task_struct *[]){ t }, 1);
}

static void fork_and_exit(void)
{
	struct task_struct *t = setup(4, true), *child = NULL;
	struct mm_struct *mm = t->mm;
	struct pinmm_ksm_stats st;
	unsigned long kpfn;

	pinmm_ksm_scan_full(2);
	kpfn = test_pt_pfn(mm, PT_BASE);
	is_int(pinmm_fork(t, "child", &child), 0, "fork with KSM pages");
	ok(test_pt_pfn(child->mm, PT_BASE + 3 * PAGE_SIZE) == kpfn &&
	   mm_flags_test(MMF_VM_MERGEABLE, child->mm),
	   "ksm_fork: the child maps the KSM page and is registered");
	is_uint(stats().mm_slots, 2, "two mm slots");
	pinmm_ksm_scan_full(2);
	st = stats();
	ok(st.pages_shared == 1 && st.pages_sharing == 7,
	   "the child's mappings join the stable node (shared 1, sharing 7; got %lu, %lu)",
	   st.pages_shared, st.pages_sharing);
	pinmm_task_attach(child);
	fill(PT_BASE, 0, 0x42);
	ok(page_is(PT_BASE, 0, 0x42) && test_pt_pfn(child->mm, PT_BASE) != kpfn,
	   "the child's write copies the KSM page");
	pinmm_task_attach(t);
	ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL), "the parent still reads the old contents");
	pinmm_task_detach();
	pinmm_task_exit(child);
	st = stats();
	ok(st.mm_slots == 1 && st.pages_shared == 1 && st.pages_sharing == 3,
	   "ksm_exit: the child's records go with it (slots 1, shared 1, sharing 3)");
	pinmm_task_exit(t);
	st = stats();
	ok(st.mm_slots == 0 && st.stable_nodes == 0 && st.rmap_items == 0 &&
	   st.pages_shared == 0 && st.pages_sharing == 0 && st.pages_unshared == 0,
	   "ksm_exit: the last mapper's exit frees the stable node and every rmap item");
	pt_teardown("fork_and_exit", (struct task_struct *[]){ NULL }, 0);
}

static void unmerge(void)
{
	struct task_struct *t = setup(4, true);
	struct mm_struct *mm = t->mm;
	unsigned long used;
	struct pinmm_ksm_stats st;
	bool distinct = true;

	pinmm_ksm_scan_full(2);
	used = pinmm_frames_in_use();
	is_int(do_madvise(mm, PT_BASE, 2 * PAGE_SIZE, MADV_UNMERGEABLE), 0,
	       "MADV_UNMERGEABLE on two of the pages: 0");
	ok(!is_ksm_at(mm, PT_BASE) && !is_ksm_at(mm, PT_BASE + PAGE_SIZE) &&
	   is_ksm_at(mm, PT_BASE + 2 * PAGE_SIZE),
	   "break_ksm: the range's KSM pages are copied back, the rest stay merged");
	ok(!(pt_vma(mm, PT_BASE)->vm_flags & VM_MERGEABLE) &&
	   (pt_vma(mm, PT_BASE + 2 * PAGE_SIZE)->vm_flags & VM_MERGEABLE),
	   "MADV_UNMERGEABLE clears VM_MERGEABLE on the range only");
	is_uint(pinmm_frames_in_use() - used, 2, "two frames are taken again");
	ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL) && page_is(PT_BASE, 1, 0x5a5a5a5aUL),
	   "the copies hold the data");
	pinmm_ksm_scan_full(1);
	st = stats();
	ok(st.pages_shared == 1 && st.pages_sharing == 1,
	   "the next scan forgets the unmerged sites (shared 1, sharing 1)");

	is_int(pinmm_ksm_set_run(KSM_RUN_UNMERGE), 0, "run=2");
	for (int i = 0; i < NP; i++)
		distinct &= !is_ksm_at(mm, PT_BASE + i * PAGE_SIZE) &&
			    page_is(PT_BASE, i, i < 4 ? 0x5a5a5a5aUL : 0x1000UL + i);
	ok(distinct, "run=2: every KSM page of every mm is copied back, data intact");
	st = stats();
	ok(st.stable_nodes == 0 && st.rmap_items == 0 && st.pages_shared == 0 &&
	   st.pages_sharing == 0 && st.pages_unshared == 0,
	   "run=2: every stable node and rmap item is dropped");
	is_int(pinmm_ksm_set_run(KSM_RUN_STOP), 0, "run=0");
	pt_teardown("unmerge", (struct task_struct *[]){ t }, 1);
}

/* ksm_functional_tests.c test_prot_none / test_unmerge_discarded */
static void unmerge_prot_none_and_discarded(void)
{
	struct task_struct *t = setup(4, true);
	struct mm_struct *mm = t->mm;
	bool none = true;

	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(mm, PT_BASE) && is_ksm_at(mm, PT_BASE + 3 * PAGE_SIZE), "four pages merged");
	is_int(do_madvise(mm, PT_BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTNEED), 0,
	       "MADV_DONTNEED drops two of the KSM mappings");
	is_int(do_mprotect(PT_BASE, 2 * PAGE_SIZE, PROT_NONE), 0, "mprotect(PROT_NONE) the others");
	is_int(do_madvise(mm, PT_BASE, NP * PAGE_SIZE, MADV_UNMERGEABLE), 0,
	       "MADV_UNMERGEABLE over PROT_NONE and discarded KSM pages: 0");
	for (int i = 0; i < 4; i++)
		none &= !is_ksm_at(mm, PT_BASE + i * PAGE_SIZE);
	ok(none, "ksm_functional_tests prot_none/unmerge_discarded: no KSM page is mapped any more "
	   "(break_ksm unshares without the access rights a CPU fault needs)");
	is_int(do_mprotect(PT_BASE, 2 * PAGE_SIZE, PT_RW), 0, "mprotect back");
	ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL) && page_is(PT_BASE, 1, 0x5a5a5a5aUL) &&
	   page_is(PT_BASE, 2, 0) && page_is(PT_BASE, 3, 0),
	   "unmerged pages keep their data; the discarded ones read zero");
	pt_teardown("unmerge_prot_none_and_discarded", (struct task_struct *[]){ t }, 1);
}

/*
 * Migration of a KSM page (mm/ksm.c rmap_walk_ksm, folio_migrate_ksm): every
 * mapping — the merged sites and a fork child that maps it without an rmap
 * item of its own — follows the page to its new frame, and it stays KSM.
 */
static void ksm_page_migrates(void)
{
	static struct migration_target_control to_any = { .gfp_mask = GFP_USER,
							  .reason = MR_SYSCALL };
	struct task_struct *t = setup(3, true), *child = NULL;
	struct mm_struct *mm = t->mm;
	unsigned long kpfn, npfn;
	unsigned int succ = 0;
	struct folio *kf;
	LIST_HEAD(list);
	bool follow = true;

	pinmm_ksm_scan_full(2);
	kpfn = test_pt_pfn(mm, PT_BASE);
	is_int(pinmm_fork(t, "child", &child), 0, "fork: the child maps the KSM page, no item yet");
	kf = pfn_folio(kpfn);
	ok(folio_test_ksm(kf) && folio_isolate_lru(kf), "the KSM folio is isolated for migration");
	list_add_tail(&kf->lru, &list);
	is_int(migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&to_any,
			     MIGRATE_SYNC, MR_SYSCALL, &succ), 0,
	       "migrate_pages() moves a KSM page (rmap_walk_ksm finds its mappings)");
	if (!list_empty(&list)) {
		diag("not moved: mapcount %d refcount %d", folio_mapcount(kf), folio_ref_count(kf));
		putback_movable_pages(&list);
	}
	npfn = test_pt_pfn(mm, PT_BASE);
	for (int i = 0; i < 3; i++)
		follow &= test_pt_pfn(mm, PT_BASE + i * PAGE_SIZE) == npfn &&
			  test_pt_pfn(child->mm, PT_BASE + i * PAGE_SIZE) == npfn &&
			  !pte_write(pt_pte(mm, PT_BASE + i * PAGE_SIZE));
	ok(npfn != kpfn && follow,
	   "every mapping, the fork child's too, follows to the new frame, read-only");
	ok(is_ksm_at(mm, PT_BASE) && folio_mapcount(pfn_folio(npfn)) == 6,
	   "the new frame is the KSM page (folio_migrate_ksm), mapped 6 times");
	ok(page_is(PT_BASE, 2, 0x5a5a5a5aUL), "the data moved with it");
	pinmm_ksm_scan_full(2);
	ok(stats().pages_shared == 1 && stats().pages_sharing == 5 && stats().stable_nodes == 1,
	   "the stable node follows the page: the scanner finds it (shared 1, sharing 5)");
	fill(PT_BASE, 0, 0x66);
	ok(test_pt_pfn(mm, PT_BASE) != npfn && page_is(PT_BASE, 1, 0x5a5a5a5aUL),
	   "a write after the move still copies");
	pt_teardown("ksm_page_migrates", (struct task_struct *[]){ t, child }, 2);
}

static void notifier_sees_merge(void)
{
	struct task_struct *t = setup(2, true);
	struct rec_notifier r;

	rec_init(&r);
	is_int(mmu_notifier_register(&r.mn, t->mm), 0, "a secondary MMU subscribes");
	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(t->mm, PT_BASE), "the pages merged");
	/* write_protect_page twice (both pages) and replace_page once */
	is_int(atomic_load(&r.nr_start), 3,
	       "write_protect_page and replace_page each invalidate the secondary MMU");
	is_int(atomic_load(&r.nr_end), 3, "every start has its end");
	ok(r.last_start.event == MMU_NOTIFY_CLEAR && r.last_start.end - r.last_start.start == PAGE_SIZE,
	   "the invalidation is MMU_NOTIFY_CLEAR of one page, as Linux");
	mmu_notifier_unregister(&r.mn, t->mm);
	pt_teardown("notifier_sees_merge", (struct task_struct *[]){ t }, 1);
}

static void ksmd_thread_merges(void)
{
	struct task_struct *t = setup(5, true);
	double deadline = now_sec() + 30;

	is_int(pinmm_ksm_set_sleep_millisecs(1), 0, "sleep_millisecs=1");
	is_int(pinmm_ksm_set_pages_to_scan(3), 0, "pages_to_scan=3");
	is_int(pinmm_ksm_set_run(KSM_RUN_MERGE), 0, "run=1 starts ksmd");
	while (stats().pages_sharing < 4 && now_sec() < deadline)
		usleep(1000);
	ok(stats().pages_sharing == 4 && is_ksm_at(t->mm, PT_BASE),
	   "ksmd merges on its own, pages_to_scan at a time");
	is_int(pinmm_ksm_set_run(KSM_RUN_STOP), 0, "run=0 stops it");
	pt_teardown("ksmd_thread_merges", (struct task_struct *[]){ t }, 1);
}

static void bad_input(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long dev;
	struct pinmm_ksm_stats st;

	pt_boot();
	t = test_process("bad");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, 2 * PAGE_SIZE, PT_RW, MAP_SHARED);
	fill(PT_BASE, 0, 0x33);
	fill(PT_BASE, 1, 0x33);
	is_int(do_madvise(mm, PT_BASE, 2 * PAGE_SIZE, MADV_MERGEABLE), 0,
	       "vma_ksm_compatible: MADV_MERGEABLE on shared anon memory is ignored, 0 (Linux 6.18)");
	ok(!(pt_vma(mm, PT_BASE)->vm_flags & VM_MERGEABLE) && !mm_flags_test(MMF_VM_MERGEABLE, mm),
	   "... VM_MERGEABLE is not set, the mm not registered");
	dev = pinmm_map_device(pinmm_mmio_pfn, PAGE_SIZE, PT_RW);
	ok(!IS_ERR_VALUE(dev), "a VM_PFNMAP device mapping");
	is_int(do_madvise(mm, dev, PAGE_SIZE, MADV_MERGEABLE), 0,
	       "MADV_MERGEABLE on a VM_PFNMAP|VM_IO mapping is ignored, 0");
	ok(!(pt_vma(mm, dev)->vm_flags & VM_MERGEABLE), "... and not marked");
	test_mmap_fixed(PT_BASE + 16 * PAGE_SIZE, 2 * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	is_int(do_madvise(mm, PT_BASE + 16 * PAGE_SIZE + 1, PAGE_SIZE, MADV_MERGEABLE), -EINVAL,
	       "madvise: a misaligned start is -EINVAL");
	is_int(do_madvise(mm, PT_BASE + 17 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_MERGEABLE), -ENOMEM,
	       "madvise: a range running into a hole is -ENOMEM");
	is_int(do_madvise(mm, PT_BASE + 16 * PAGE_SIZE, PAGE_SIZE, MADV_UNMERGEABLE), 0,
	       "MADV_UNMERGEABLE on memory never merged: 0");
	is_int(pinmm_ksm_set_run(3), -EINVAL, "run=3: -EINVAL");
	is_int(pinmm_ksm_set_pages_to_scan(0), -EINVAL, "pages_to_scan=0: -EINVAL");
	pinmm_ksm_scan_full(3);
	st = stats();
	ok(st.pages_shared == 0 && page_is(PT_BASE, 0, 0x33) && page_is(PT_BASE, 1, 0x33) &&
	   pt_folio(mm, PT_BASE) != pt_folio(mm, PT_BASE + PAGE_SIZE),
	   "nothing was merged or damaged");
	pt_teardown("bad_input", (struct task_struct *[]){ t }, 1);
}

/* A swap area for the KSM swap tests; it goes at shutdown (the teardown). */
static void ksm_swapon(void)
{
	int type = pinmm_swapon(NULL, 64 * PAGE_SIZE);

	if (type < 0)
		bail_out("pinmm_swapon = %d", type);
}

/*
 * Linux reclaims a KSM page like any anon page: try_to_unmap() finds each
 * mapping through rmap_walk_ksm(), each becomes a swap entry (never an
 * exclusive one: a KSM page is shared by design), and the stable node goes
 * stale once the page is freed. Swap-in brings back an ordinary anon page.
 */
static void pageout_swaps_ksm_page(void)
{
	struct task_struct *t = setup(6, true);
	struct mm_struct *mm = t->mm;
	struct pinmm_ksm_stats st;
	bool data = true;
	pte_t pte;

	ksm_swapon();
	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(mm, PT_BASE), "setup: 6 equal pages merged");
	/* MADV_PAGEOUT passes over a folio mapped more than once: leave one mapping */
	is_int(do_madvise(mm, PT_BASE + PAGE_SIZE, 5 * PAGE_SIZE, MADV_DONTNEED), 0,
	       "MADV_DONTNEED of 5 of the 6 sharing pages");
	is_int(do_madvise(mm, PT_BASE, NP * PAGE_SIZE, MADV_PAGEOUT), 0,
	       "madvise(MADV_PAGEOUT) over the KSM page and unique pages: 0");
	pte = pt_pte(mm, PT_BASE);
	ok(!pte_none(pte) && !pte_present(pte) && is_swap_pte(pte),
	   "shrink_folio_list: the KSM page went to swap like any anon page "
	   "(try_to_unmap through rmap_walk_ksm)");
	ok(!pte_swp_exclusive(pte), "... its swap entry is not exclusive (a KSM page never is)");
	ok(!pte_present(pt_pte(mm, PT_BASE + 6 * PAGE_SIZE)) &&
	   !pte_present(pt_pte(mm, PT_BASE + 7 * PAGE_SIZE)),
	   "shrink_folio_list: the unique pages went to swap too");
	for (int i = 0; i < NP; i++)
		data &= page_is(PT_BASE, i, i == 0 ? 0x5a5a5a5aUL : i < 6 ? 0 : 0x1000UL + i);
	ok(data, "every page reads what was written, after swap-in");
	ok(!is_ksm_at(mm, PT_BASE), "swap-in: page 0 is an ordinary anon page now");
	pinmm_ksm_scan_full(1);
	st = stats();
	is_uint(st.pages_shared + st.stable_nodes, 0,
		"the stable node of the freed KSM page is gone (ksm_get_folio finds it stale)");
	pt_teardown("pageout_swaps_ksm_page", (struct task_struct *[]){ t }, 1);
}

/* Fill page 0 of the second mm like setup()'s equal pages, the rest unlike anything. */
static struct task_struct *second_mm(void)
{
	struct task_struct *t = test_process("ksm-b");

	test_mmap_fixed(PT_BASE, NP * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	for (int i = 0; i < NP; i++)
		fill(PT_BASE, i, i == 0 ? 0x5a5a5a5aUL : 0x2000UL + i);
	if (do_madvise(t->mm, PT_BASE, NP * PAGE_SIZE, MADV_MERGEABLE))
		bail_out("MADV_MERGEABLE");
	return t;
}

/*
 * A KSM page that two unrelated mms share goes to one swap slot. Back in,
 * the first fault reads the slot into a folio of its own anon_vma tree; the
 * other mm must not map that folio (its rmap would never find the mapping):
 * Linux's ksm_might_need_to_copy() gives it a copy. If the write to the slot
 * failed, the KSM folio is still in the swap cache and both map it again.
 */
static void ksm_page_of_two_mms_swaps(bool write_fails)
{
	const char *n = write_fails ? "write fails" : "written";
	struct task_struct *a = setup(1, true), *b = second_mm();
	struct folio *kfolio;
	unsigned long kpfn, pa, pb, copies0;
	bool out = false;

	ksm_swapon();
	pinmm_ksm_scan_full(2);
	kpfn = test_pt_pfn(a->mm, PT_BASE);
	ok(is_ksm_at(a->mm, PT_BASE) && test_pt_pfn(b->mm, PT_BASE) == kpfn,
	   "%s: setup: page 0 of two mms merged into one KSM page", n);
	kfolio = pfn_folio(kpfn);
	copies0 = ev(KSM_SWPIN_COPY);
	if (write_fails)
		pinmm_fail_nth(PINMM_FAIL_SWAP_IO, 1, PINMM_FAIL_PERSIST);
	for (int i = 0; i < 64 && !out; i++) {
		pinmm_reclaim_anon(64);
		out = !pte_present(pt_pte(a->mm, PT_BASE)) && !pte_present(pt_pte(b->mm, PT_BASE));
	}
	pinmm_fail_nth(PINMM_FAIL_SWAP_IO, 0, 0);
	ok(out, "%s: reclaim unmapped the KSM page from both mms (rmap_walk_ksm)", n);
	ok(pte_to_swp_entry(pt_pte(a->mm, PT_BASE)).val ==
	   pte_to_swp_entry(pt_pte(b->mm, PT_BASE)).val, "%s: ... both entries name one slot", n);
	if (!write_fails) {
		pinmm_task_attach(a);
		ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL), "written: the first mm reads its data back");
		pa = test_pt_pfn(a->mm, PT_BASE);
		pinmm_task_attach(b);
		ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL), "written: so does the second");
		pb = test_pt_pfn(b->mm, PT_BASE);
		ok(pa != pb, "written: the second mm got a copy, not the first mm's folio "
		   "(ksm_might_need_to_copy: another anon_vma tree)");
		is_int(ev(KSM_SWPIN_COPY) - copies0, 1, "written: ksm_swpin_copy counts the copy");
		ok(PageAnonExclusive(pfn_to_page(pb)) && pte_write(pt_pte(b->mm, PT_BASE)),
		   "written: the copy is the second mm's own: exclusive and writable");
		ok(folio_anon_vma(pfn_folio(pb))->root == pt_vma(b->mm, PT_BASE)->anon_vma->root &&
		   folio_anon_vma(pfn_folio(pa))->root == pt_vma(a->mm, PT_BASE)->anon_vma->root,
		   "written: each folio belongs to its own mm's anon_vma tree (the rmap finds it)");
	} else {
		ok(folio_test_ksm(kfolio) && folio_test_swapcache(kfolio) && !folio_mapped(kfolio),
		   "write fails: the KSM folio stays in the swap cache, unmapped");
		pinmm_task_attach(a);
		ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL), "write fails: the first mm reads its data");
		pinmm_task_attach(b);
		ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL), "write fails: so does the second");
		ok(test_pt_pfn(a->mm, PT_BASE) == kpfn && test_pt_pfn(b->mm, PT_BASE) == kpfn &&
		   is_ksm_at(b->mm, PT_BASE),
		   "write fails: both map the KSM page again (ksm_might_need_to_copy: still a KSM "
		   "page)");
		ok(!pte_write(pt_pte(b->mm, PT_BASE)), "write fails: read-only, as a KSM page is");
		is_int(ev(KSM_SWPIN_COPY) - copies0, 0, "write fails: no swap-in copied");
	}
	pinmm_task_attach(b);
	pt_put(PT_BASE, 0x77UL);
	pinmm_task_attach(a);
	ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL), "%s: the second mm's write stays its own", n);
	pt_teardown(n, (struct task_struct *[]){ a, b }, 2);
}

/* Swap slots in use, all areas. */
static unsigned long swap_used(void)
{
	unsigned long total, free;

	si_swapinfo(&total, &free);
	return total - free;
}

/*
 * Two equal pages read back from swap each keep their slot in the swap
 * cache; merging maps the KSM page in place of the other, and Linux's
 * replace_page() frees the swap cache of the page it unmapped last.
 */
static void merge_frees_replaced_slot(void)
{
	struct task_struct *t = setup(2, true);
	struct mm_struct *mm = t->mm;

	ksm_swapon();
	is_int(do_madvise(mm, PT_BASE, 2 * PAGE_SIZE, MADV_PAGEOUT), 0, "setup: pages 0-1 out");
	ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL) && page_is(PT_BASE, 1, 0x5a5a5a5aUL),
	   "setup: ... and read back in");
	ok(folio_test_swapcache(pt_folio(mm, PT_BASE)) &&
	   folio_test_swapcache(pt_folio(mm, PT_BASE + PAGE_SIZE)) && swap_used() == 2,
	   "setup: both stay in the swap cache, two slots in use");
	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(mm, PT_BASE) && test_pt_pfn(mm, PT_BASE) == test_pt_pfn(mm, PT_BASE + PAGE_SIZE),
	   "the two swap-cache pages merged into one KSM page");
	is_uint(swap_used(), 1,
		"replace_page: the replaced page's slot went with its last mapping; the KSM page "
		"keeps its own");
	pt_teardown("merge_frees_replaced_slot", (struct task_struct *[]){ t }, 1);
}

/*
 * A THP at PT_BASE + PMD_SIZE (every page its own value, page 5 = @v) and one
 * small page at PT_BASE holding @v, both mergeable. Return the THP's pfn, 0 if
 * no THP could be had (the caller skips).
 */
static unsigned long setup_thp(struct task_struct **tp, unsigned long v)
{
	const unsigned long thp = PT_BASE + PMD_SIZE;
	struct mm_struct *mm;
	bool leaf;

	pt_boot();
	*tp = test_process("ksm thp");
	mm = (*tp)->mm;
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PT_RW, MAP_PRIVATE);
	test_mmap_fixed(thp, PMD_SIZE, PT_RW, MAP_PRIVATE);
	if (do_madvise(mm, thp, PMD_SIZE, MADV_HUGEPAGE))
		bail_out("MADV_HUGEPAGE");
	fill(PT_BASE, 0, v);
	for (int i = 0; i < (int)HPAGE_PMD_NR; i++)
		fill(thp, i, i == 5 ? v : 0x7000UL + i);
	test_pt_entry(mm, thp, &leaf);
	if (!leaf)
		return 0;
	if (do_madvise(mm, PT_BASE, PAGE_SIZE, MADV_MERGEABLE) ||
	    do_madvise(mm, thp, PMD_SIZE, MADV_MERGEABLE))
		bail_out("MADV_MERGEABLE");
	return test_pt_pfn(mm, thp);
}

static void thp_page_merges_after_split(void)
{
	const unsigned long thp = PT_BASE + PMD_SIZE;
	unsigned long pfn0, split0, used;
	struct task_struct *t;
	struct pinmm_ksm_stats st;
	bool rest = true;

	pfn0 = setup_thp(&t, 0x5a5a5a5aUL);
	if (!pfn0) {
		skip(6, "no THP");
		pt_teardown("thp_page_merges_after_split", (struct task_struct *[]){ t }, 1);
		return;
	}
	split0 = ev(THP_SPLIT_PAGE);
	used = pinmm_frames_in_use();
	pinmm_ksm_scan_full(2);
	st = stats();
	ok(st.pages_shared == 1 && st.pages_sharing == 1,
	   "try_to_merge_one_page: a THP's page merges with an equal small page (shared 1, sharing 1)");
	is_uint(ev(THP_SPLIT_PAGE) - split0, 1, "try_to_merge_one_page: split_huge_page() split the THP");
	ok(is_ksm_at(t->mm, thp + 5 * PAGE_SIZE) &&
	   test_pt_pfn(t->mm, PT_BASE) == test_pt_pfn(t->mm, thp + 5 * PAGE_SIZE) &&
	   !pte_write(pt_pte(t->mm, thp + 5 * PAGE_SIZE)),
	   "try_to_merge_one_page: both addresses map one read-only KSM page");
	for (int i = 0; i < (int)HPAGE_PMD_NR; i++) {
		unsigned long a = thp + i * PAGE_SIZE;
		struct folio *f = pt_folio(t->mm, a);

		if (i == 5)
			continue;
		rest &= f && !folio_test_large(f) && !folio_test_ksm(f) &&
			test_pt_pfn(t->mm, a) == pfn0 + i && page_is(thp, i, 0x7000UL + i) &&
			PageAnonExclusive(&f->page) && pte_write(pt_pte(t->mm, a));
	}
	ok(rest, "split_huge_page: the other 511 pages stay at their pfns, small, exclusive, "
	   "writable, with their data");
	ok(page_is(PT_BASE, 0, 0x5a5a5a5aUL) && page_is(thp, 5, 0x5a5a5a5aUL),
	   "the merged page reads what was written");
	is_uint(used - pinmm_frames_in_use(), 1, "merging gave the small page's frame back");
	pt_teardown("thp_page_merges_after_split", (struct task_struct *[]){ t }, 1);
}

static void pinned_thp_not_split(void)
{
	const unsigned long thp = PT_BASE + PMD_SIZE;
	unsigned long pfn0, split0;
	struct task_struct *t;
	struct page *pg = NULL;
	struct pinmm_ksm_stats st;
	bool leaf;

	pfn0 = setup_thp(&t, 0x6b6b6b6bUL);
	if (!pfn0) {
		skip(4, "no THP");
		pt_teardown("pinned_thp_not_split", (struct task_struct *[]){ t }, 1);
		return;
	}
	split0 = ev(THP_SPLIT_PAGE);
	is_int(pin_user_pages_fast(thp + 77 * PAGE_SIZE, 1, FOLL_WRITE, &pg), 1,
	       "pin one page of the THP (not the equal one)");
	pinmm_ksm_scan_full(3);
	st = stats();
	test_pt_entry(t->mm, thp, &leaf);
	ok(st.pages_shared + st.pages_sharing == 0 && !is_ksm_at(t->mm, thp + 5 * PAGE_SIZE),
	   "try_to_merge_one_page: a page of a pinned THP is not merged");
	ok(leaf && folio_test_large(pfn_folio(pfn0)) && ev(THP_SPLIT_PAGE) == split0,
	   "can_split_folio: the pinned THP is not split, still PMD-mapped");
	ok(page_is(thp, 5, 0x6b6b6b6bUL) && page_is(thp, 77, 0x7000UL + 77),
	   "its data stays");
	unpin_user_page(pg);
	pinmm_ksm_scan_full(1);
	ok(is_ksm_at(t->mm, thp + 5 * PAGE_SIZE), "after the unpin the page merges");
	pt_teardown("pinned_thp_not_split", (struct task_struct *[]){ t }, 1);
}

/*
 * Linux's write_protect_page() moves a dirty PTE's bit to the folio before it
 * cleans the PTE. A page read back from swap keeps its slot, and the CPU may
 * then have written it through a writable PTE: the folio flag is clean, the
 * PTE dirty. Merged into a KSM page, that folio must still be written before
 * reclaim drops it, or every sharer reads the slot's old data back.
 */
static void merge_keeps_dirt_of_swapcache_page(void)
{
	struct task_struct *t = setup(0, true);
	struct mm_struct *mm = t->mm;
	bool out = false;

	ksm_swapon();
	fill(PT_BASE, 1, 0x1111UL);
	is_int(do_madvise(mm, PT_BASE + PAGE_SIZE, PAGE_SIZE, MADV_PAGEOUT), 0, "setup: page 1 out");
	ok(page_is(PT_BASE, 1, 0x1111UL) && folio_test_swapcache(pt_folio(mm, PT_BASE + PAGE_SIZE)),
	   "setup: read back, it keeps its slot in the swap cache");
	fill(PT_BASE, 1, 0x2222UL);
	fill(PT_BASE, 0, 0x2222UL);
	ok(pte_dirty(pt_pte(mm, PT_BASE + PAGE_SIZE)) &&
	   !folio_test_dirty(pt_folio(mm, PT_BASE + PAGE_SIZE)),
	   "setup: the CPU wrote it again: the PTE is dirty, the folio flag clean");
	pinmm_ksm_scan_full(2);
	ok(is_ksm_at(mm, PT_BASE) && test_pt_pfn(mm, PT_BASE) == test_pt_pfn(mm, PT_BASE + PAGE_SIZE),
	   "the two equal pages merged");
	for (int i = 0; i < 64 && !out; i++) {
		pinmm_reclaim_anon(64);
		out = !pte_present(pt_pte(mm, PT_BASE)) && !pte_present(pt_pte(mm, PT_BASE + PAGE_SIZE));
	}
	ok(out, "reclaim swapped the KSM page out");
	ok(page_is(PT_BASE, 0, 0x2222UL) && page_is(PT_BASE, 1, 0x2222UL),
	   "write_protect_page: the PTE's dirt went to the folio, so the newer data was written "
	   "and reads back");
	pt_teardown("merge_keeps_dirt", (struct task_struct *[]){ t }, 1);
}

int main(void)
{
	plan_no_plan();
	identical_pages_merge();
	cpu_write_copies_ksm_page();
	pinned_page_is_not_merged(false);
	pinned_page_is_not_merged(true);
	referenced_page_is_not_merged();
	referenced_shared_page_is_not_merged(false);
	referenced_shared_page_is_not_merged(true);
	pin_of_ksm_page_unshares(false, false);
	pin_of_ksm_page_unshares(false, true);
	pin_of_ksm_page_unshares(true, false);
	pin_of_ksm_page_unshares(true, true);
	fork_and_exit();
	unmerge();
	unmerge_prot_none_and_discarded();
	ksm_page_migrates();
	notifier_sees_merge();
	ksmd_thread_merges();
	bad_input();
	pageout_swaps_ksm_page();
	ksm_page_of_two_mms_swaps(false);
	ksm_page_of_two_mms_swaps(true);
	merge_frees_replaced_slot();
	merge_keeps_dirt_of_swapcache_page();
	thp_page_merges_after_split();
	pinned_thp_not_split();
	return done_testing();
}
