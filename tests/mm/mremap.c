// SPDX-License-Identifier: MIT
/*
 * mremap (Linux: mm/mremap.c do_mremap(), mremap_to(), vma_to_resize(),
 * move_vma(), move_page_tables(), move_ptes(), move_huge_pmd()). The rules:
 *  - R-MOVE-PTES: a move carries page-table entries, never data: the new
 *    address maps the same frames, PageAnonExclusive kept, no copy;
 *  - R-PIN: a page pinned before the move is the page mapped after it, so
 *    the device and the CPU keep seeing each other's writes;
 *  - R-THP: a whole aligned THP moves as one PMD; half of one splits the
 *    PMD and moves PTEs, the folio mapped from both VMAs;
 *  - R-RMAP: the moved VMA keeps vm_pgoff, so the anon rmap finds every
 *    page of a folio at its new address;
 *  - R-NOTIFY: the old range is invalidated (MMU_NOTIFY_UNMAP);
 *  - R-GROW/SHRINK: in place when the gap allows, -ENOMEM without MAYMOVE;
 *  - R-ERRNO: -EINVAL (flags, alignment, new_len 0, overlap), -EFAULT
 *    (unmapped, across VMAs, growing VM_PFNMAP), and nothing changed;
 *  - R-MULTI: a same-size MREMAP_FIXED move takes several VMAs and the gaps
 *    between them (Linux 6.17, multi_move() below);
 *  - R-UNDO: a move that runs out of memory halfway (a page table, a VMA)
 *    moves back what it moved: -ENOMEM and the old mapping as it was.
 */
#include "../gup/helpers.h"

#include "mm/vma.h"

#include <pinmm/fault-inject.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/pagemap.h>
#include <pinmm/userfaultfd.h>

#define A	GT_BASE			/* 2 MiB aligned */
#define B	(GT_BASE + 64 * PMD_SIZE)	/* another aligned place, far away */

static long mr(unsigned long addr, unsigned long old_len, unsigned long new_len,
	       unsigned long flags, unsigned long new_addr)
{
	return (long)vm_mremap(addr, old_len, new_len, flags, new_addr);
}

/* Is there a VMA at @addr? */
static bool mapped(unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	mmap_read_unlock(current->mm);
	return vma;
}

/* The VMAs of current->mm; -1 if the tree and the list disagree. */
static int nr_vmas(void)
{
	int n;

	mmap_read_lock(current->mm);
	n = vma_tree_consistent(current->mm) ? current->mm->map_count : -1;
	mmap_read_unlock(current->mm);
	return n;
}

/* The pfn a PTE maps at @addr, read under the PTE lock only (inside an rmap walk). */
static unsigned long pte_pfn_at(struct mm_struct *mm, unsigned long addr)
{
	unsigned long pfn = -1UL;
	spinlock_t *ptl;
	pmd_t *pmd = mm_find_pmd(mm, addr);
	pte_t *pte;

	if (pmd && (pte = pte_offset_map_lock(mm, pmd, addr, &ptl))) {
		if (pte_present(ptep_get(pte)))
			pfn = pte_pfn(ptep_get(pte));
		pte_unmap_unlock(pte, ptl);
	}
	return pfn;
}

/*
 * Pages at @now that do not hold what was written at @was (the patterns
 * name their address: moved data still names the old one).
 */
static unsigned long moved_bad(unsigned long now, unsigned long was, unsigned long n,
			       uint64_t tag)
{
	static uint64_t buf[GT_WORDS];
	unsigned long bad = 0;

	for (unsigned long i = 0; i < n; i++) {
		if (copy_from_user(buf, (const void __user *)(now + i * PAGE_SIZE), PAGE_SIZE)) {
			bad++;
			continue;
		}
		for (unsigned long w = 0; w < GT_WORDS; w++)
			if (buf[w] != gt_word(tag, was + i * PAGE_SIZE, w)) {
				bad++;
				break;
			}
	}
	return bad;
}

/* ---- the old range's invalidation ---------------------------------------------- */

struct unmap_seen {
	struct mmu_notifier mn;
	unsigned long start, end;
	int n;
};

static int seen_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	struct unmap_seen *s = container_of(mn, struct unmap_seen, mn);

	if (r->event == MMU_NOTIFY_UNMAP && r->start <= s->start && r->end >= s->end)
		s->n++;
	return 0;
}

static const struct mmu_notifier_ops seen_ops = { .invalidate_range_start = seen_start };

/* ---- cases ------------------------------------------------------------------------- */

static void grow_shrink_in_place(void)
{
	struct task_struct *t;
	struct page *p0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-grow");
	test_mmap_fixed(A, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 4, 1);
	p0 = gt_page(current->mm, A);
	is_int(mr(A, 4 * PAGE_SIZE, 8 * PAGE_SIZE, 0, 0), (long)A,
	       "R-GROW: the gap above is free: grows in place, same address");
	ok(mapped(A + 7 * PAGE_SIZE) && gt_check(A, 4, 1) == 0 && gt_page(current->mm, A) == p0,
	   "R-GROW: the VMA covers the new length, the old pages stay where they were");
	test_mmap_fixed(A + 8 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	is_int(mr(A, 8 * PAGE_SIZE, 16 * PAGE_SIZE, 0, 0), -ENOMEM,
	       "R-GROW: a mapping right above and no MREMAP_MAYMOVE: -ENOMEM (vma_expandable)");
	ok(!mapped(A + 9 * PAGE_SIZE) && gt_check(A, 4, 1) == 0,
	   "R-GROW: the refused call changed nothing");
	is_int(mr(A, 8 * PAGE_SIZE, 2 * PAGE_SIZE, 0, 0), (long)A,
	       "R-SHRINK: shrinking stays in place");
	ok(mapped(A + PAGE_SIZE) && !mapped(A + 2 * PAGE_SIZE) && gt_check(A, 2, 1) == 0,
	   "R-SHRINK: the tail is unmapped, the head keeps its data");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 2,
	       "R-SHRINK: the tail's two pages were freed (nr_anon_mapped 2)");
	gt_teardown("grow/shrink", &t, 1);
}

static void move_keeps_pages(void)
{
	struct task_struct *t;
	struct page *before[8];
	unsigned long n;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-move");
	test_mmap_fixed(A, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 8, 2);
	for (int i = 0; i < 8; i++)
		before[i] = gt_page(current->mm, A + i * PAGE_SIZE);
	test_mmap_fixed(A + 8 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	r = mr(A, 8 * PAGE_SIZE, 16 * PAGE_SIZE, MREMAP_MAYMOVE, 0);
	ok(r > 0 && (unsigned long)r != A, "MREMAP_MAYMOVE: blocked above, the mapping moves");
	n = 0;
	for (int i = 0; i < 8; i++)
		n += gt_page(current->mm, r + i * PAGE_SIZE) == before[i] &&
		     PageAnonExclusive(before[i]);
	is_uint(n, 8, "R-MOVE-PTES: the new address maps the same 8 frames, still exclusive");
	is_uint(moved_bad(r, A, 8, 2), 0, "R-MOVE-PTES: the data reads back at the new address");
	ok(!mapped(A) && mapped(r + 15 * PAGE_SIZE), "the old range is gone, the new one is 16 pages");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 8,
	       "R-MOVE-PTES: no page was copied (nr_anon_mapped still 8)");
	ok(gt_fill(r + 8 * PAGE_SIZE, 8, 3) && gt_check(r + 8 * PAGE_SIZE, 8, 3) == 0,
	   "the grown part faults in fresh pages");
	gt_teardown("move", &t, 1);
}

/* R-PIN for 4 KiB pages and for a whole THP moved by its PMD. */
static void move_pinned(bool thp)
{
	static struct page *pages[HPAGE_PMD_NR];
	unsigned long n = thp ? HPAGE_PMD_NR : 4, len = n * PAGE_SIZE, bad;
	struct unmap_seen seen = { .mn.ops = &seen_ops, .start = A, .end = A + len };
	struct task_struct *t;
	const char *k = thp ? "THP" : "4K";
	char name[64];

	snprintf(name, sizeof(name), "pinned %s move", k);
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-pin");
	if (thp) {
		if (!gt_thp(A)) {
			skip(9, "no THP");
			gt_teardown(name, &t, 1);
			return;
		}
	} else {
		test_mmap_fixed(A, len, GT_RW, MAP_PRIVATE);
	}
	gt_fill(A, n, 4);
	is_int(gt_pin(A, n, FOLL_WRITE | FOLL_LONGTERM, pages), (long)n, "%s: pin R/W long-term", k);
	is_int(mmu_notifier_register(&seen.mn, current->mm), 0, "%s: notifier registered", k);
	is_int(mr(A, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, B), (long)B,
	       "%s: MREMAP_FIXED moves to the given address", k);
	ok(seen.n >= 1, "R-NOTIFY %s: the old range was invalidated with MMU_NOTIFY_UNMAP", k);
	if (thp)
		ok(test_pmd_mapped(current->mm, B),
		   "R-THP: a whole aligned THP moved as one PMD (move_huge_pmd)");
	bad = 0;
	for (unsigned long i = 0; i < n; i++)
		bad += gt_page(current->mm, B + i * PAGE_SIZE) != pages[i];
	is_uint(bad, 0, "R-PIN %s: every pinned page is the page mapped at the new address", k);
	for (unsigned long i = 0; i < n; i++)
		gt_page_write(pages[i], B + i * PAGE_SIZE, 5);
	is_uint(gt_check(B, n, 5), 0, "R-PIN %s: the CPU reads at B what the device wrote", k);
	gt_fill(B, n, 6);
	is_uint(gt_pages_bad(pages, n, B, 6), 0,
		"R-PIN %s: the device sees the CPU's writes at B (no COW broke the pin)", k);
	unpin_user_pages(pages, n);
	mmu_notifier_unregister(&seen.mn, current->mm);
	gt_teardown(name, &t, 1);
}

struct rmap_count {
	struct folio *folio;
	unsigned long found;
};

/* Count the folio's pages that the VMA found by rmap really maps. */
static bool count_one(struct folio *folio, struct vm_area_struct *vma, unsigned long addr,
		      void *arg)
{
	struct rmap_count *c = arg;

	(void)addr;
	for (unsigned long i = 0; i < folio_nr_pages(folio); i++) {
		unsigned long a = vma->vm_start + ((folio->index + i - vma->vm_pgoff) << PAGE_SHIFT);

		if (a >= vma->vm_start && a < vma->vm_end &&
		    pte_pfn_at(vma->vm_mm, a) == folio_pfn(folio) + i)
			c->found++;
	}
	return true;
}

static void move_half_thp(void)
{
	static struct page *pages[HPAGE_PMD_NR];
	const unsigned long half = PMD_SIZE / 2, hn = HPAGE_PMD_NR / 2;
	struct rmap_walk_control rwc = { .rmap_one = count_one };
	struct rmap_count c = { 0 };
	struct task_struct *t;
	struct folio *folio;
	unsigned long bad = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-half");
	if (!gt_thp(A)) {
		skip(7, "no THP");
		gt_teardown("half THP", &t, 1);
		return;
	}
	gt_fill(A, HPAGE_PMD_NR, 7);
	folio = page_folio(gt_page(current->mm, A));
	is_int(gt_pin(A + half, hn, FOLL_WRITE | FOLL_LONGTERM, pages), (long)hn,
	       "pin the second half R/W long-term");
	is_int(mr(A + half, half, half, MREMAP_MAYMOVE | MREMAP_FIXED, B + PAGE_SIZE),
	       (long)(B + PAGE_SIZE), "mremap the second half of the THP elsewhere");
	ok(!test_pmd_mapped(current->mm, A) && folio_test_large(folio) &&
	   gt_page(current->mm, A) == folio_page(folio, 0),
	   "R-THP: the PMD was split; the first half stays mapped by PTEs, same folio");
	for (unsigned long i = 0; i < hn; i++)
		bad += gt_page(current->mm, B + PAGE_SIZE + i * PAGE_SIZE) != folio_page(folio, hn + i) ||
		       pages[i] != folio_page(folio, hn + i);
	is_uint(bad, 0, "R-MOVE-PTES: the moved half maps the same subpages, the pins on them");
	is_int(folio_mapcount(folio), HPAGE_PMD_NR, "the folio is still mapped 512 times");
	folio_lock(folio);
	c.folio = folio;
	rwc.arg = &c;
	rmap_walk(folio, &rwc);
	folio_unlock(folio);
	is_uint(c.found, HPAGE_PMD_NR,
		"R-RMAP: the anon rmap finds all 512 pages, half in each VMA (vm_pgoff kept)");
	for (unsigned long i = 0; i < hn; i++)
		gt_page_write(pages[i], B + PAGE_SIZE + i * PAGE_SIZE, 8);
	ok(gt_check(B + PAGE_SIZE, hn, 8) == 0 && gt_check(A, hn, 7) == 0,
	   "R-PIN: the device's writes show at the new address; the other half is untouched");
	unpin_user_pages(pages, hn);
	gt_teardown("half THP", &t, 1);
}

static void dontunmap(void)
{
	struct task_struct *t;
	struct page *p;
	char c = 1;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-dontunmap");
	test_mmap_fixed(A, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 2, 9);
	p = gt_page(current->mm, A);
	is_int(mr(A, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED,
		  B), (long)B, "MREMAP_DONTUNMAP moves the pages");
	ok(gt_page(current->mm, B) == p && moved_bad(B, A, 2, 9) == 0, "... to B, the same frames");
	ok(mapped(A) && !gt_page(current->mm, A), "the old VMA stays, with nothing mapped");
	get_user(c, (char __user *)A);
	is_int(c, 0, "a read of the old range sees a fresh zero page");
	gt_teardown("dontunmap", &t, 1);
}

static void bad_input(void)
{
	struct task_struct *t;
	unsigned long before;
	int vmas;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-bad");
	test_mmap_fixed(A, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(A + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	gt_fill(A, 4, 10);
	before = global_node_page_state_snapshot(NR_ANON_MAPPED);
	vmas = nr_vmas();
	is_int(mr(A + 1, PAGE_SIZE, PAGE_SIZE, 0, 0), -EINVAL, "R-ERRNO: misaligned old address: -EINVAL");
	is_int(mr(A, PAGE_SIZE, PAGE_SIZE, 8, 0), -EINVAL, "R-ERRNO: unknown flag: -EINVAL");
	is_int(mr(A, PAGE_SIZE, 0, MREMAP_MAYMOVE, 0), -EINVAL, "R-ERRNO: new_len 0: -EINVAL");
	is_int(mr(A, PAGE_SIZE, PAGE_SIZE, MREMAP_FIXED, B), -EINVAL,
	       "R-ERRNO: MREMAP_FIXED without MREMAP_MAYMOVE: -EINVAL");
	is_int(mr(A, PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), -EINVAL,
	       "R-ERRNO: MREMAP_DONTUNMAP with old_len != new_len: -EINVAL");
	is_int(mr(A, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, A + PAGE_SIZE),
	       -EINVAL, "R-ERRNO: MREMAP_FIXED onto an overlapping range: -EINVAL");
	is_int(mr(A, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, B + 1), -EINVAL,
	       "R-ERRNO: misaligned new address: -EINVAL");
	is_int(mr(B, PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE, 0), -EFAULT,
	       "R-ERRNO: nothing mapped at the old address: -EFAULT");
	is_int(mr(A, 6 * PAGE_SIZE, 12 * PAGE_SIZE, MREMAP_MAYMOVE, 0), -EFAULT,
	       "R-ERRNO: an old range across two VMAs: -EFAULT (vma_to_resize)");
	is_int(mr(A, 6 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, B), -EFAULT,
	       "R-ERRNO: moving and growing a range across two VMAs: -EFAULT");
	is_int(mr(A, 6 * PAGE_SIZE, 6 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, B), -EFAULT,
	       "R-ERRNO: MREMAP_DONTUNMAP across two VMAs without MREMAP_FIXED: -EFAULT");
	is_int(mr(A, 0, PAGE_SIZE, MREMAP_MAYMOVE, 0), -EINVAL,
	       "R-ERRNO: old_len 0 of a private mapping: -EINVAL");
	ok(nr_vmas() == vmas && gt_check(A, 4, 10) == 0 && !mapped(B) &&
	   global_node_page_state_snapshot(NR_ANON_MAPPED) == (long)before,
	   "R-ERRNO: after every refusal the VMAs, pages and data are as before");
	gt_teardown("bad input", &t, 1);
}

/*
 * R-MULTI (Linux 6.17 remap_move(); each case seen on the live 6.18 kernel):
 * a same-size MREMAP_FIXED move takes every VMA of the range, split at its
 * ends, and keeps the gaps between them; pages move as entries (a pinned
 * one stays the pinned one); what is mapped in the target's gaps stays. A
 * same-size call that moves nothing returns the address, mapped or not. A
 * VMA userfaultfd watches cannot move with others: -EFAULT, those before it
 * moved already.
 */
static void multi_move(void)
{
	struct userfaultfd_ctx *ctx = NULL;
	struct task_struct *t;
	struct page *pinned, *p;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-multi");
	test_mmap_fixed(A, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 8, 40);
	is_int(do_mprotect(A + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ), 0, "setup: three VMAs");
	is_int(vm_munmap(A + 5 * PAGE_SIZE, PAGE_SIZE), 0, "setup: and a hole at page 5");
	is_int(gt_pin(A + 3 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &pinned), 1,
	       "setup: page 3 pinned long-term");
	test_mmap_fixed(B, 8 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE);
	r = mr(A + PAGE_SIZE, 6 * PAGE_SIZE, 6 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, B);
	is_int(r, (long)B, "R-MULTI: pages 1-6 over three VMAs and a hole move to B");
	ok(!mapped(A + PAGE_SIZE) && !mapped(A + 4 * PAGE_SIZE) && mapped(A) && mapped(A + 7 * PAGE_SIZE),
	   "R-MULTI: the source range is unmapped, what lay outside it stays");
	ok(moved_bad(B, A + PAGE_SIZE, 4, 40) == 0 && moved_bad(B + 5 * PAGE_SIZE, A + 6 * PAGE_SIZE, 1, 40) == 0,
	   "R-MULTI: every moved page reads its data at its offset in B");
	p = gt_page(current->mm, B + 2 * PAGE_SIZE);
	ok(p == pinned && folio_maybe_dma_pinned(page_folio(pinned)),
	   "R-MULTI: the pinned page is the page mapped at its new place");
	ok(gt_page(current->mm, B + 4 * PAGE_SIZE) == NULL && mapped(B + 4 * PAGE_SIZE) &&
	   !gt_writable(current->mm, B + 4 * PAGE_SIZE),
	   "R-MULTI: the gap is kept: B's own PROT_NONE mapping is still there");
	ok(gt_writable(current->mm, B) && !gt_writable(current->mm, B + PAGE_SIZE),
	   "R-MULTI: each piece keeps its protection (page 2 was read-only)");
	unpin_user_page(pinned);
	is_int(mr(B + 64 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, 0, 0), (long)(B + 64 * PAGE_SIZE),
	       "R-MULTI: a same-size call without FIXED returns the address, even unmapped");
	is_int(mr(B + 64 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		  B + 128 * PAGE_SIZE), -EFAULT, "R-MULTI: a move of a range with nothing mapped: -EFAULT");
	is_int(mr(A - PAGE_SIZE, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		  B + 128 * PAGE_SIZE), -EFAULT,
	       "R-MULTI: a range that starts in a hole: -EFAULT, nothing moved ...");
	ok(mapped(A) && !mapped(B + 129 * PAGE_SIZE), "R-MULTI: ... page 0 still at A");

	/* a VMA userfaultfd watches may move alone, not with others */
	test_mmap_fixed(A + 16 * PAGE_SIZE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(A + 20 * PAGE_SIZE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE | MAP_NORESERVE);
	ctx = pinmm_userfaultfd_create(current->mm, 0, NULL, NULL);
	ok(ctx && pinmm_uffd_register(ctx, A + 20 * PAGE_SIZE, 4 * PAGE_SIZE,
				      UFFDIO_REGISTER_MODE_WP) == 0,
	   "setup: the second of two VMAs registered for uffd-wp");
	r = mr(A + 16 * PAGE_SIZE, 8 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
	       B + 256 * PAGE_SIZE);
	is_int(r, -EFAULT, "R-MULTI: a uffd-armed VMA after another: -EFAULT ...");
	ok(mapped(B + 256 * PAGE_SIZE) && !mapped(A + 16 * PAGE_SIZE) && mapped(A + 20 * PAGE_SIZE),
	   "R-MULTI: ... the first VMA moved, the watched one stayed");
	if (ctx)
		pinmm_userfaultfd_release(ctx);

	/*
	 * The whole range is checked before anything moves (Linux's
	 * check_mremap_params()): a target that overlaps the range, or runs
	 * past TASK_SIZE, is -EINVAL even where the first VMA alone would fit.
	 */
	test_mmap_fixed(A + 32 * PAGE_SIZE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(A + 35 * PAGE_SIZE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	is_int(mr(A + 32 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		  A + 34 * PAGE_SIZE), -EINVAL,
	       "R-MULTI: a target overlapping the range (not the first VMA's part): -EINVAL");
	is_int(mr(A + 32 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		  TASK_SIZE - 2 * PAGE_SIZE), -EINVAL,
	       "R-MULTI: a target running past TASK_SIZE (its first page would fit): -EINVAL");
	ok(mapped(A + 32 * PAGE_SIZE) && mapped(A + 35 * PAGE_SIZE) && !mapped(A + 34 * PAGE_SIZE) &&
	   !mapped(TASK_SIZE - 2 * PAGE_SIZE), "R-MULTI: ... and nothing moved");
	/* the bounds themselves are allowed: right after the range, ending at TASK_SIZE */
	is_int(mr(A + 32 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		  A + 36 * PAGE_SIZE), (long)(A + 36 * PAGE_SIZE),
	       "R-MULTI: a target starting where the range ends: moved");
	is_int(mr(A + 36 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		  A + 32 * PAGE_SIZE), (long)(A + 32 * PAGE_SIZE),
	       "R-MULTI: and back, to end where the range starts: moved");
	is_int(mr(A + 32 * PAGE_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		  TASK_SIZE - 4 * PAGE_SIZE), (long)(TASK_SIZE - 4 * PAGE_SIZE),
	       "R-MULTI: a target ending exactly at TASK_SIZE: moved");
	ok(mapped(TASK_SIZE - 4 * PAGE_SIZE) && mapped(TASK_SIZE - PAGE_SIZE) &&
	   !mapped(A + 32 * PAGE_SIZE), "R-MULTI: ... both VMAs, the gap kept");
	gt_teardown("multi move", &t, 1);
}

/*
 * R-MULTI under failing allocations: each allocation of a two-VMA move
 * failing in turn. The call either moves both or says it failed (the first
 * may have moved: Linux's move is not undone either); it never reports
 * success with a VMA left behind.
 */
static void multi_move_fails(void)
{
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_PAGE_TABLE, PINMM_FAIL_SLAB };
	unsigned long lied = 0, failed = 0;
	struct task_struct *t;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-multi-enomem");
	for (size_t si = 0; si < ARRAY_SIZE(sites); si++)
		for (unsigned long nth = 1; nth < 64; nth++) {
			unsigned long fails;
			long r;

			vm_munmap(A, 8 * PAGE_SIZE);
			vm_munmap(B, 8 * PAGE_SIZE);
			test_mmap_fixed(A, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
			test_mmap_fixed(A + 3 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE);
			gt_fill(A, 2, 50);
			pinmm_fail_nth(sites[si], nth, 0);
			r = mr(A, 5 * PAGE_SIZE, 5 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, B);
			fails = pinmm_fail_failures(sites[si]);
			pinmm_fail_nth(sites[si], 0, 0);
			if (r == (long)B && (mapped(A + 3 * PAGE_SIZE) || !mapped(B + 3 * PAGE_SIZE)))
				lied++;
			failed += r < 0;
			if (!fails)
				break;	/* the move got through without reaching the armed one */
		}
	ok(failed > 0, "R-MULTI: some injected failures stopped the move (%lu)", failed);
	is_uint(lied, 0, "R-MULTI: no move reported success with a VMA left behind");
	gt_teardown("multi move enomem", &t, 1);
}

/* Every allocation of a move failing in turn: -ENOMEM, nothing moved, no leak. */
static void move_fails_cleanly(void)
{
	static unsigned long pfn[3 * HPAGE_PMD_NR];
	const unsigned long n = 3 * HPAGE_PMD_NR, len = n * PAGE_SIZE;
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_PAGE_TABLE, PINMM_FAIL_SLAB };
	struct task_struct *t;
	unsigned long failed = 0, bad = 0, now = A;
	int vmas;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-enomem");
	test_mmap_fixed(A, len, GT_RW, MAP_PRIVATE);
	gt_fill(A, n, 11);
	for (unsigned long i = 0; i < n; i++)
		pfn[i] = test_pt_pfn(current->mm, A + i * PAGE_SIZE);
	vmas = nr_vmas();
	for (size_t s = 0; s < ARRAY_SIZE(sites); s++) {
		unsigned long to = now == A ? B : A;

		for (unsigned long nth = 1; nth < 64; nth++) {
			long r;

			pinmm_fail_nth(sites[s], nth, 0);
			r = mr(now, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
			pinmm_fail_reset();
			if (r == (long)to) {
				now = to;
				break;
			}
			failed++;
			if (r != -ENOMEM || mapped(to) || nr_vmas() != vmas)
				bad++;
			for (unsigned long i = 0; i < n; i++)
				bad += test_pt_pfn(current->mm, now + i * PAGE_SIZE) != pfn[i];
		}
	}
	ok(failed >= 3, "R-UNDO: %lu moves failed on an allocation (page tables, VMA)", failed);
	is_uint(bad, 0, "R-UNDO: each failed with -ENOMEM, its pages back in place, no new VMA");
	is_uint(moved_bad(now, A, n, 11), 0, "R-UNDO: the data is intact after the last, good move");
	gt_teardown("mremap enomem", &t, 1);
}

static void pfnmap_grow(void)
{
	struct task_struct *t;
	unsigned long addr, r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("mremap-pfnmap");
	addr = pinmm_map_device(pinmm_mmio_pfn, 2 * PAGE_SIZE, GT_RW);
	if (IS_ERR_VALUE(addr)) {
		skip(2, "no MMIO window");
		gt_teardown("pfnmap", &t, 1);
		return;
	}
	is_int(mr(addr, PAGE_SIZE, 4 * PAGE_SIZE, MREMAP_MAYMOVE, 0), -EFAULT,
	       "R-ERRNO: growing a VM_PFNMAP mapping: -EFAULT");
	r = vm_mremap(addr, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, B);
	ok(r == B && test_pt_pfn(current->mm, B) == pinmm_mmio_pfn,
	   "a VM_PFNMAP mapping moves at its size, its pfns with it");
	gt_teardown("pfnmap", &t, 1);
}

int main(void)
{
	plan_no_plan();
	grow_shrink_in_place();
	move_keeps_pages();
	move_pinned(false);
	move_pinned(true);
	move_half_thp();
	dontunmap();
	bad_input();
	move_fails_cleanly();
	multi_move();
	multi_move_fails();
	pfnmap_grow();
	return done_testing();
}
