// SPDX-License-Identifier: MIT
/*
 * Pins and COW (Linux selftests/mm/cow.c, in our own words; the rules are
 * mm/internal.h gup_must_unshare(), mm/memory.c do_wp_page()/copy_present_pte(),
 * include/linux/rmap.h folio_try_dup_anon_rmap_*()): R-UNSHARE, R-FORK,
 * R-REUSE (a write reuses a non-exclusive page only when it holds the sole
 * reference, and a large folio is copied page by page, as Linux before 6.13).
 * Every case asks "what does the device see" by reading the pinned
 * page through page_address(), and "what does each process see" through
 * copy_from_user().
 *
 * Backings: a small page, a PMD-mapped THP, and cow.c's "partially
 * mremap()'ed THP" (THP_RUN_PARTIAL_MREMAP: the second half of a THP is
 * mremap()ed away, the tests use the first half, now PTE-mapped and part of
 * a folio mapped from two VMAs; mm/mremap.c splits the PMD).
 */
#include "helpers.h"

#include <pinmm/fault-inject.h>

enum mem_kind { SMALL, THP, THP_MREMAP };

static const char *kind_name(enum mem_kind k)
{
	return k == THP ? "PMD THP" : k == THP_MREMAP ? "partially mremap()'ed THP" : "small page";
}

/* The bytes the backing covers at GT_BASE. */
static unsigned long kind_len(enum mem_kind k)
{
	return k == THP ? PMD_SIZE : k == THP_MREMAP ? PMD_SIZE / 2 : PAGE_SIZE;
}

/* Map the backing at GT_BASE and fill it with @tag. Return pages, 0 to skip. */
static unsigned long setup_mem(enum mem_kind k, uint64_t tag)
{
	unsigned long n = kind_len(k) >> PAGE_SHIFT, half = PMD_SIZE / 2;

	if (k != SMALL) {
		if (!gt_thp(GT_BASE))
			return 0;
	} else {
		test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	}
	if (!gt_fill(GT_BASE, k == SMALL ? 1 : HPAGE_PMD_NR, tag))
		bail_out("fill");
	/* cow.c: mremap(mem + size/2, size/2, size/2, MREMAP_MAYMOVE | MREMAP_FIXED, other) */
	if (k == THP_MREMAP &&
	    vm_mremap(GT_BASE + half, half, half, MREMAP_MAYMOVE | MREMAP_FIXED,
		      GT_BASE + 16 * PMD_SIZE) != GT_BASE + 16 * PMD_SIZE)
		bail_out("mremap of half the THP");
	return n;
}

static struct task_struct *fork_child(struct task_struct *parent)
{
	struct task_struct *child = NULL;

	if (pinmm_fork(parent, "child", &child))
		bail_out("fork failed");
	pinmm_task_attach(parent);
	return child;
}

/* Does @t read @tag's pattern at [addr, +n pages)? */
static bool task_reads(struct task_struct *t, struct task_struct *back, unsigned long addr,
		       unsigned long n, uint64_t tag)
{
	unsigned long bad;

	pinmm_task_attach(t);
	bad = gt_check(addr, n, tag);
	pinmm_task_attach(back);
	return bad == 0;
}

/*
 * The cow.c matrix: pin, fork (child alive), parent writes. The pinned page
 * (what the device sees) shows the parent's new data; the child still sees
 * the old data. Fork must have copied the maybe-pinned page for the child.
 */
static const struct cow_row {
	enum mem_kind kind;
	bool write, fast;
} cow_rows[] = {
	{ SMALL, false, false }, { SMALL, false, true }, { SMALL, true, false },
	{ SMALL, true, true }, { THP, false, false }, { THP, false, true },
	{ THP, true, false }, { THP, true, true },
	{ THP_MREMAP, false, false }, { THP_MREMAP, false, true },
	{ THP_MREMAP, true, false }, { THP_MREMAP, true, true },
};

static void run_cow_row(const struct cow_row *row)
{
	static struct page *pages[HPAGE_PMD_NR];
	struct task_struct *t[2] = { NULL, NULL };
	char name[96];
	unsigned long n, moved = 0;
	long r;

	snprintf(name, sizeof(name), "%s, %s pin, %s", kind_name(row->kind),
		 row->write ? "R/W" : "R/O", row->fast ? "pin_user_pages_fast" : "pin_user_pages");
	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("cow-parent");
	n = setup_mem(row->kind, 1);
	if (!n) {
		skip(6, "no THP");
		gt_teardown(name, t, 1);
		return;
	}
	r = gt_pin_any(row->fast, GT_BASE, n, row->write ? FOLL_WRITE : 0, pages);
	is_int(r, (long)n, "R-FORK [%s]: the pin takes all %lu pages", name, n);
	if (r != (long)n) {
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
		gt_teardown(name, t, 1);
		return;
	}
	t[1] = fork_child(t[0]);
	ok(gt_fill(GT_BASE, n, 2), "R-FORK [%s]: the parent writes new data after fork", name);
	is_uint(gt_pages_bad(pages, n, GT_BASE, 2), 0, "R-FORK [%s]: the pinned pages show the "
		"parent's new data (the device and the parent still share the page)", name);
	ok(task_reads(t[1], t[0], GT_BASE, n, 1), "R-FORK [%s]: the child still sees the old data "
	   "(fork copied the pinned page for it)", name);
	for (unsigned long i = 0; i < n; i++)
		moved += test_pt_pfn(current->mm, GT_BASE + i * PAGE_SIZE) != page_to_pfn(pages[i]);
	is_uint(moved, 0, "R-FORK [%s]: the parent still maps every pinned page", name);
	unpin_user_pages(pages, n);
	ok(gt_fill(GT_BASE, n, 3) && task_reads(t[1], t[0], GT_BASE, n, 1),
	   "R-FORK [%s]: after unpin the two processes stay independent", name);
	gt_teardown(name, t, 2);
}

/*
 * R/O pin of a page COW-shared with a live child: unshare first (cow.c #9/#10).
 * The pinned page ends up exclusive and mapped by the parent, so the parent's
 * later write is visible through the pin; the child keeps the old page.
 */
static void ro_pin_shared(enum mem_kind kind, bool fast)
{
	struct page *pages[4];
	struct task_struct *t[2] = { NULL, NULL };
	const unsigned long np = kind != SMALL ? 4 : 1;
	const unsigned long addr = GT_BASE + (kind != SMALL ? 10 * PAGE_SIZE : 0);
	char name[96];
	unsigned long mapped = 0, excl = 0, shared_with_child = 0;
	long r, only_fast;

	snprintf(name, sizeof(name), "%s, R/O pin of a shared page, %s", kind_name(kind),
		 fast ? "pin_user_pages_fast" : "pin_user_pages");
	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("unshare-parent");
	if (!setup_mem(kind, 1)) {
		skip(7, "no THP");
		gt_teardown(name, t, 1);
		return;
	}
	t[1] = fork_child(t[0]);
	only_fast = gt_fast_only(addr, np, FOLL_PIN, pages);
	is_int(only_fast, 0, "R-FAST/R-UNSHARE [%s]: the lockless walk refuses a R/O pin of a "
	       "non-exclusive anon page (gup_must_unshare)", name);
	if (only_fast > 0)
		unpin_user_pages(pages, (unsigned long)only_fast);
	r = gt_pin_any(fast, addr, np, 0, pages);
	is_int(r, (long)np, "R-UNSHARE [%s]: the R/O pin succeeds", name);
	for (long i = 0; i < (r > 0 ? r : 0); i++) {
		unsigned long a = addr + (unsigned long)i * PAGE_SIZE;

		mapped += test_pt_pfn(current->mm, a) == page_to_pfn(pages[i]);
		excl += gt_exclusive(pages[i]);
		shared_with_child += test_pt_pfn(t[1]->mm, a) == page_to_pfn(pages[i]);
	}
	is_uint(mapped, np, "R-UNSHARE [%s]: the pinned page is the one the parent maps now", name);
	is_uint(excl, np, "R-UNSHARE [%s]: the pinned page is exclusive (PageAnonExclusive)", name);
	is_uint(shared_with_child, 0, "R-UNSHARE [%s]: the child maps another page (unshare "
		"copied, since the child still uses the old one)", name);
	ok(gt_fill(addr, np, 2), "R-UNSHARE [%s]: the parent writes", name);
	is_uint(gt_pages_bad(pages, np, addr, 2), 0, "R-UNSHARE [%s]: the parent's write is "
		"visible through the R/O pin", name);
	ok(task_reads(t[1], t[0], addr, np, 1), "R-UNSHARE [%s]: the child still sees the old "
	   "data", name);
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown(name, t, 2);
}

/* R/O pin of a previously shared page (the child exited): cow.c #11/#12. */
static void ro_pin_prev_shared(enum mem_kind kind, bool fast)
{
	struct page *pages[4];
	struct task_struct *t[2] = { NULL, NULL };
	const unsigned long np = kind != SMALL ? 4 : 1;
	const unsigned long addr = GT_BASE + (kind != SMALL ? 10 * PAGE_SIZE : 0);
	unsigned long pfn0 = 0, mapped = 0, excl = 0;
	char name[96];
	long r, cow0;

	snprintf(name, sizeof(name), "%s, R/O pin of a previously shared page, %s",
		 kind_name(kind), fast ? "pin_user_pages_fast" : "pin_user_pages");
	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("prev-shared");
	if (!setup_mem(kind, 1)) {
		skip(5, "no THP");
		gt_teardown(name, t, 1);
		return;
	}
	pfn0 = test_pt_pfn(current->mm, addr);
	t[1] = fork_child(t[0]);
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	pinmm_task_attach(t[0]);
	ok(!gt_writable(current->mm, addr) && !gt_exclusive(gt_page(current->mm, addr)),
	   "setup [%s]: after the child exited the page is still mapped R/O and not marked "
	   "exclusive", name);
	cow0 = gt_ev(COW_FAULT);
	r = gt_pin_any(fast, addr, np, 0, pages);
	is_int(r, (long)np, "R-UNSHARE [%s]: the R/O pin succeeds", name);
	for (long i = 0; i < (r > 0 ? r : 0); i++) {
		mapped += test_pt_pfn(current->mm, addr + (unsigned long)i * PAGE_SIZE) ==
			  page_to_pfn(pages[i]);
		excl += gt_exclusive(pages[i]);
	}
	is_uint(mapped + excl, 2 * np, "R-UNSHARE [%s]: the pinned pages are mapped by the "
		"process and exclusive", name);
	if (kind == SMALL)
		ok(r == 1 && page_to_pfn(pages[0]) == pfn0 && gt_ev(COW_FAULT) == cow0,
		   "R-REUSE [%s]: the sole owner's page is reused in place by the unshare (same "
		   "pfn, no copy)", name);
	ok(gt_fill(addr, np, 2), "R-UNSHARE [%s]: the process writes", name);
	is_uint(gt_pages_bad(pages, np, addr, 2), 0, "R-UNSHARE [%s]: the write is visible "
		"through the pin", name);
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown(name, t, 1);
}

/* R/O pin of an exclusive page: pinned as is; later writes reuse it (cow.c #13/#14). */
static void ro_pin_exclusive(enum mem_kind kind, bool fast)
{
	struct page *pages[4];
	struct task_struct *t = NULL;
	const unsigned long np = kind != SMALL ? 4 : 1;
	const unsigned long addr = GT_BASE + (kind != SMALL ? 10 * PAGE_SIZE : 0);
	char name[96];
	unsigned long pfn0;
	long r, only_fast, cow0;

	snprintf(name, sizeof(name), "%s, R/O pin of an exclusive page, %s", kind_name(kind),
		 fast ? "pin_user_pages_fast" : "pin_user_pages");
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("exclusive");
	if (!setup_mem(kind, 1)) {
		skip(5, "no THP");
		gt_teardown(name, &t, 1);
		return;
	}
	pfn0 = test_pt_pfn(current->mm, addr);
	only_fast = gt_fast_only(addr, np, FOLL_PIN, pages);
	is_int(only_fast, (long)np, "R-FAST [%s]: the lockless walk pins an exclusive anon page "
	       "R/O without falling back", name);
	if (only_fast > 0)
		unpin_user_pages(pages, (unsigned long)only_fast);
	cow0 = gt_ev(COW_FAULT);
	r = gt_pin_any(fast, addr, np, 0, pages);
	ok(r == (long)np && page_to_pfn(pages[0]) == pfn0, "R-UNSHARE [%s]: an exclusive page is "
	   "pinned as it is (no unshare)", name);
	/* R/O and back: the PTE may come back writable only because the page is exclusive */
	is_int(do_mprotect(GT_BASE, kind_len(kind), PROT_READ) +
	       do_mprotect(GT_BASE, kind_len(kind), GT_RW), 0,
	       "setup [%s]: mprotect R/O, then R/W", name);
	ok(gt_fill(addr, np, 2), "R-REUSE [%s]: the process writes after mprotect", name);
	is_uint(test_pt_pfn(current->mm, addr), pfn0, "R-REUSE [%s]: the write reused the pinned page "
		"(still mapped)", name);
	is_int(gt_ev(COW_FAULT) - cow0, 0, "R-REUSE [%s]: no COW copy happened", name);
	is_uint(gt_pages_bad(pages, np, addr, 2), 0, "R-REUSE [%s]: the write is visible through "
		"the pin", name);
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	gt_teardown(name, &t, 1);
}

/*
 * The zero page in a private writable mapping: a R/O FOLL_LONGTERM pin
 * unshares it into a fresh anon page (so the pin follows later writes); a
 * short-term R/O pin may return the zero page itself.
 */
static void zero_page_pins(bool fast)
{
	struct page *pages[2];
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("zero");
	test_mmap_fixed(addr, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	is_int(do_madvise(current->mm, addr, 2 * PAGE_SIZE, MADV_POPULATE_READ), 0,
	       "setup: MADV_POPULATE_READ");
	ok(is_zero_pfn(test_pt_pfn(current->mm, addr)), "setup: read-populated memory maps the zero "
	   "page");
	r = gt_pin_any(fast, addr, 1, 0, pages);
	ok(r == 1 && is_zero_page(pages[0]), "R-UNSHARE: a short-term R/O pin returns the zero "
	   "page itself (%s)", how);
	if (r == 1)
		unpin_user_page(pages[0]);
	r = gt_pin_any(fast, addr, 1, FOLL_LONGTERM, pages);
	is_int(r, 1, "R-UNSHARE: a R/O FOLL_LONGTERM pin of the zero page succeeds (%s)", how);
	if (r == 1) {
		ok(!is_zero_page(pages[0]) && PageAnon(pages[0]) && PageAnonExclusive(pages[0]),
		   "R-UNSHARE: ... and pins a fresh exclusive anon page, not the zero page (non-anon "
		   "page, LONGTERM, COW mapping) (%s)", how);
		is_uint(test_pt_pfn(current->mm, addr), page_to_pfn(pages[0]), "R-UNSHARE: the process "
			"maps the pinned page (%s)", how);
		ok(folio_is_longterm_pinnable(page_folio(pages[0])), "R-LT: the new page is long-term "
		   "pinnable (%s)", how);
		ok(gt_fill(addr, 1, 9), "R-UNSHARE: the process writes (%s)", how);
		ok(gt_page_holds(pages[0], addr, 9), "R-UNSHARE: the later write is seen through "
		   "the long-term R/O pin (%s)", how);
		unpin_user_page(pages[0]);
	} else {
		skip(4, "long-term pin failed");
	}
	gt_teardown(fast ? "zero page pins, fast" : "zero page pins", &t, 1);
}

/*
 * Fork copies a pinned page for the child at once: the child's pfn differs,
 * the parent keeps its page, writable, and its next write takes no fault.
 */
static void fork_copies_pinned(enum mem_kind kind)
{
	static struct page *pages[HPAGE_PMD_NR];
	struct task_struct *t[2] = { NULL, NULL };
	char name[64];
	unsigned long n, same = 0, moved = 0, ro = 0;
	long r, reuse0, cow0;

	snprintf(name, sizeof(name), "fork of a pinned %s", kind_name(kind));
	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("fork-pinned");
	n = setup_mem(kind, 1);
	if (!n) {
		skip(7, "no THP");
		gt_teardown(name, t, 1);
		return;
	}
	r = gt_pin(GT_BASE, n, FOLL_WRITE | FOLL_LONGTERM, pages);
	is_int(r, (long)n, "R-FORK [%s]: pinned (FOLL_LONGTERM)", name);
	if (r != (long)n) {
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
		gt_teardown(name, t, 1);
		return;
	}
	reuse0 = gt_ev(COW_REUSE);
	cow0 = gt_ev(COW_FAULT);
	t[1] = fork_child(t[0]);
	for (unsigned long i = 0; i < n; i++) {
		unsigned long a = GT_BASE + i * PAGE_SIZE;

		same += test_pt_pfn(t[1]->mm, a) == page_to_pfn(pages[i]);
		moved += test_pt_pfn(t[0]->mm, a) != page_to_pfn(pages[i]);
		ro += !gt_writable(t[0]->mm, a);
	}
	is_uint(same, 0, "R-FORK [%s]: the child got its own copy of every pinned page at fork",
		name);
	is_uint(moved, 0, "R-FORK [%s]: the parent still maps the pinned pages", name);
	is_uint(ro, 0, "R-FORK [%s]: the parent's entries stayed writable (not write-protected "
		"for COW)", name);
	ok(gt_exclusive(pages[0]), "R-FORK [%s]: the pinned page stays exclusive", name);
	ok(gt_fill(GT_BASE, n, 2), "R-FORK [%s]: the parent writes", name);
	ok(gt_ev(COW_REUSE) == reuse0 && gt_ev(COW_FAULT) == cow0,
	   "R-FORK [%s]: ... without any write fault (COW_REUSE %+ld, COW_FAULT %+ld)", name,
	   gt_ev(COW_REUSE) - reuse0, gt_ev(COW_FAULT) - cow0);
	ok(task_reads(t[1], t[0], GT_BASE, n, 1) && gt_pages_bad(pages, n, GT_BASE, 2) == 0,
	   "R-FORK [%s]: the child keeps the old data, the pin sees the new", name);
	unpin_user_pages(pages, n);
	gt_teardown(name, t, 2);
}

/*
 * A PTE-mapped THP shared with a child that has exited, then unmapped but for
 * one page: its folio has a single reference, but it is large, so the write
 * copies that page rather than reusing it (wp_can_reuse_anon_folio()).
 */
static void large_folio_write_copies(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct page *page;
	struct folio *folio;
	unsigned long pfn;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("cow-large");
	if (!gt_thp(GT_BASE) || !gt_fill(GT_BASE, 4, 21)) {
		skip(2, "no THP");
		gt_teardown("large folio COW", t, 1);
		return;
	}
	if (gt_get(GT_BASE, 1, FOLL_SPLIT_PMD, &page) != 1)
		bail_out("FOLL_SPLIT_PMD");
	put_page(page);
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	pinmm_task_attach(t[0]);
	rcu_barrier();
	if (do_madvise(current->mm, GT_BASE + PAGE_SIZE, PMD_SIZE - PAGE_SIZE, MADV_DONTNEED))
		bail_out("MADV_DONTNEED");
	pfn = test_pt_pfn(current->mm, GT_BASE);
	folio = pfn_folio(pfn);
	ok(folio_test_large(folio) && folio_ref_count(folio) == 1 &&
	   !PageAnonExclusive(pfn_to_page(pfn)),
	   "setup: one PTE left of a large folio, its only reference, not exclusive");
	if (!gt_fill(GT_BASE, 1, 23))
		bail_out("write");
	ok(test_pt_pfn(current->mm, GT_BASE) != pfn && gt_check(GT_BASE, 1, 23) == 0,
	   "R-REUSE: the write copies the page of a large folio, even with its only reference");
	gt_teardown("large folio COW", t, 1);
}

/*
 * Boot, map one private page at GT_BASE filled with @seed's pattern in a new
 * process t[0], and fork it into t[1]: the page is then shared R/O by both.
 */
static void fork_one_filled_page(const char *name, int seed, struct task_struct *t[2])
{
	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process(name);
	test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 1, seed))
		bail_out("fill");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
}

/*
 * The copy of a COW write cannot be allocated: the write fails (the fault
 * returns VM_FAULT_OOM), both processes keep the shared page and its data,
 * and the next write copies.
 */
static void cow_copy_oom(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	uint64_t word = 0x5eed;
	unsigned long pfn, left;

	fork_one_filled_page("cow-oom", 31, t);
	pinmm_task_attach(t[0]);
	pfn = test_pt_pfn(current->mm, GT_BASE);
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 1, PINMM_FAIL_PERSIST);
	left = copy_to_user((void *)GT_BASE, &word, sizeof(word));
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
	ok(left == sizeof(word), "R-COW: a write whose copy cannot be allocated fails");
	ok(test_pt_pfn(current->mm, GT_BASE) == pfn && gt_check(GT_BASE, 1, 31) == 0,
	   "R-COW: ... the parent still maps the shared page, data intact");
	ok(copy_to_user((void *)GT_BASE, &word, sizeof(word)) == 0 &&
	   test_pt_pfn(current->mm, GT_BASE) != pfn, "R-COW: the next write copies");
	gt_teardown("COW copy without memory", t, 2);
}

/*
 * An unshare fault that may reuse the page (its only reference, the child
 * gone) marks it exclusive but leaves the PTE read-only: unsharing is not a
 * write (do_wp_page() with FAULT_FLAG_UNSHARE).
 */
static void unshare_reuse_stays_readonly(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct page *page = NULL;
	unsigned long pfn;
	long r;

	fork_one_filled_page("unshare-reuse", 41, t);
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	pinmm_task_attach(t[0]);
	rcu_barrier();
	pfn = test_pt_pfn(current->mm, GT_BASE);
	ok(!gt_writable(current->mm, GT_BASE) && !PageAnonExclusive(pfn_to_page(pfn)),
	   "setup: after the child's exit the page is read-only and not exclusive");
	r = gt_pin(GT_BASE, 1, 0, &page);
	ok(r == 1 && page_to_pfn(page) == pfn && PageAnonExclusive(page),
	   "R-REUSE: the R/O pin's unshare reuses the page (its only reference) and marks it "
	   "exclusive");
	ok(!gt_writable(current->mm, GT_BASE), "R-UNSHARE: ... and leaves the PTE read-only");
	if (r == 1)
		unpin_user_page(page);
	gt_teardown("unshare reuse", t, 1);
}

/*
 * folio_needs_cow_for_dma() asks folio_maybe_dma_pinned() only in an mm that
 * has pinned (MMF_HAS_PINNED): 1024 FOLL_GET references make a small folio
 * look pinned (a false positive of the refcount bias), which fork must
 * ignore in an mm that never pinned (the page is shared COW) and honour in
 * one that did (the child gets a copy).
 */
static void fork_false_positive_gate(bool has_pinned)
{
	const char *name = has_pinned ? "an mm that has pinned" : "an mm that never pinned";
	struct task_struct *t[2] = { NULL, NULL };
	static struct page *refs[GUP_PIN_COUNTING_BIAS];
	struct page *other;
	unsigned long pfn;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("cow-gate");
	test_mmap_fixed(GT_BASE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 2, 51))
		bail_out("fill");
	if (has_pinned) {	/* pin and unpin another page: MMF_HAS_PINNED is sticky */
		if (pin_user_pages_fast(GT_BASE + PAGE_SIZE, 1, FOLL_WRITE, &other) != 1)
			bail_out("pin");
		unpin_user_page(other);
	}
	for (unsigned int i = 0; i < GUP_PIN_COUNTING_BIAS; i++)
		if (get_user_pages_fast(GT_BASE, 1, FOLL_WRITE, &refs[i]) != 1)
			bail_out("get %u", i);
	pfn = test_pt_pfn(current->mm, GT_BASE);
	ok(folio_maybe_dma_pinned(pfn_folio(pfn)) && gt_has_pinned(current->mm) == has_pinned,
	   "[%s] setup: 1024 GETs make the page look pinned", name);
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[1]);
	if (has_pinned)
		ok(test_pt_pfn(current->mm, GT_BASE) != pfn && gt_check(GT_BASE, 1, 51) == 0,
		   "R-FORK-PIN [%s]: maybe pinned, so the child gets a copy", name);
	else
		ok(test_pt_pfn(current->mm, GT_BASE) == pfn,
		   "R-FORK-PIN [%s]: MMF_HAS_PINNED clear, so the page is shared COW", name);
	pinmm_task_attach(t[0]);
	if (has_pinned) {
		struct vm_area_struct *vma;
		unsigned long warns;
		bool saved;

		mmap_read_lock(current->mm);
		vma = vma_lookup(current->mm, GT_BASE);
		warns = gt_warn_begin(&saved);
		(void)folio_needs_cow_for_dma(vma, pfn_folio(pfn));
		is_uint(gt_warn_end(saved, warns), 1,
			"R-FORK-PIN: asked outside fork (write_protect_seq even), "
			"folio_needs_cow_for_dma() warns: its answer would not hold");
		mmap_read_unlock(current->mm);
	}
	gt_put_pages(refs, GUP_PIN_COUNTING_BIAS);
	gt_teardown("fork false positive gate", t, 2);
}

/*
 * do_huge_pmd_wp_page(): a PMD-mapped THP that is not exclusive but whose
 * only reference is the faulting mapping (the child exited) is reused in
 * place, the PMD kept: no copy and no split.
 */
static void thp_sole_owner_reuse(bool unshare)
{
	const char *name = unshare ? "R/O pin's unshare" : "write";
	struct task_struct *t[2] = { NULL, NULL };
	struct page *page = NULL;
	unsigned long pfn;
	long splits, reuses;
	char c = 'w';

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("thp-reuse");
	if (!gt_thp(GT_BASE))
		bail_out("no THP");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	pinmm_task_attach(t[0]);
	rcu_barrier();
	pfn = test_pt_pfn(current->mm, GT_BASE);
	ok(!gt_writable(current->mm, GT_BASE) && !gt_exclusive(pfn_to_page(pfn)),
	   "[%s] setup: after the child's exit the THP is read-only and not exclusive", name);
	splits = gt_ev(THP_SPLIT_PMD);
	reuses = gt_ev(COW_REUSE);
	if (unshare) {
		ok(gt_pin(GT_BASE + 5 * PAGE_SIZE, 1, FOLL_LONGTERM, &page) == 1 &&
		   page_to_pfn(page) == pfn + 5, "[%s] the pin takes the THP's own page", name);
	} else {
		ok(!put_user(c, (char __user *)(GT_BASE + 5 * PAGE_SIZE)), "[%s] a write", name);
	}
	ok(test_pmd_mapped(current->mm, GT_BASE) && test_pt_pfn(current->mm, GT_BASE) == pfn &&
	   gt_exclusive(pfn_to_page(pfn)) && gt_ev(THP_SPLIT_PMD) == splits,
	   "R-REUSE [%s]: the sole owner's THP is reused in place, the PMD kept (no split)", name);
	ok(gt_writable(current->mm, GT_BASE) == !unshare && (unshare || gt_ev(COW_REUSE) == reuses + 1),
	   "[%s] ... %s", name, unshare ? "and stays read-only" : "and becomes writable");
	if (page)
		unpin_user_page(page);
	gt_teardown("THP sole owner reuse", t, 1);
}

int main(void)
{
	plan_no_plan();
	for (size_t i = 0; i < ARRAY_SIZE(cow_rows); i++)
		run_cow_row(&cow_rows[i]);
	for (int k = SMALL; k <= THP_MREMAP; k++)
		for (int fast = 0; fast < 2; fast++) {
			ro_pin_shared((enum mem_kind)k, fast);
			ro_pin_prev_shared((enum mem_kind)k, fast);
			ro_pin_exclusive((enum mem_kind)k, fast);
		}
	zero_page_pins(false);
	zero_page_pins(true);
	fork_copies_pinned(SMALL);
	fork_copies_pinned(THP);
	fork_copies_pinned(THP_MREMAP);
	large_folio_write_copies();
	cow_copy_oom();
	unshare_reuse_stays_readonly();
	fork_false_positive_gate(false);
	fork_false_positive_gate(true);
	thp_sole_owner_reuse(false);
	thp_sole_owner_reuse(true);
	return done_testing();
}
