// SPDX-License-Identifier: MIT
/*
 * fork's page copy (Linux copy_page_range / copy_present_pte) and the rmap
 * that sees both sides afterwards: COW sharing, private later writes, the
 * early copy of a page that may be pinned, and rmap_walk finding mappers.
 * A maybe-pinned page fork shares anyway: one that is not exclusive (Linux
 * folio_try_dup_anon_rmap_ptes() refuses only exclusive pages, a pin having
 * made its page exclusive first), whatever the next page in memory is.
 * When the child's copy cannot be allocated, fork fails with -ENOMEM (Linux
 * copy_pte_range(): folio_prealloc() failing ends the copy) and the parent
 * keeps its pinned page as it was.
 */
#include "pt_helpers.h"

#include <pinmm/fault-inject.h>

#define NPAGES 4

static void each_side_sees_its_own_writes(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	struct folio *folio;
	bool same = true, ro = true;

	pt_boot();
	t = test_process("parent");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, NPAGES * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	for (int i = 0; i < NPAGES; i++)
		pt_put(PT_BASE + i * PAGE_SIZE, 100 + i);
	is_int(pinmm_fork(t, "child", &child), 0, "fork: succeeds");
	cmm = child->mm;
	for (int i = 0; i < NPAGES; i++) {
		unsigned long a = PT_BASE + i * PAGE_SIZE;

		same &= test_pt_pfn(mm, a) == test_pt_pfn(cmm, a);
		ro &= !pte_write(pt_pte(mm, a)) && !pte_write(pt_pte(cmm, a));
	}
	ok(same, "fork: the child maps the parent's anon pages (COW sharing, no copy)");
	ok(ro, "fork: both sides' PTEs are write-protected (copy_present_pte)");
	folio = pt_folio(mm, PT_BASE);
	ok(!PageAnonExclusive(&folio->page) && folio_mapcount(folio) == 2 &&
	   folio_ref_count(folio) == 2,
	   "fork: a shared page is not exclusive, mapcount 2, refcount 2");
	is_int(get_mm_counter(cmm, MM_ANONPAGES), NPAGES, "fork: the child's rss counts them");

	pinmm_task_attach(child);
	is_uint(pt_get(PT_BASE), 100, "fork: the child reads the data there was at fork");
	pt_put(PT_BASE, 200);
	pinmm_task_attach(t);
	is_uint(pt_get(PT_BASE), 100, "fork: the parent does not see the child's later write");
	pt_put(PT_BASE + PAGE_SIZE, 300);
	pinmm_task_attach(child);
	is_uint(pt_get(PT_BASE + PAGE_SIZE), 101,
		"fork: the child does not see the parent's later write");
	is_uint(pt_get(PT_BASE), 200, "fork: the child sees its own write");
	pinmm_task_attach(t);
	ok(test_pt_pfn(mm, PT_BASE) != test_pt_pfn(cmm, PT_BASE) &&
	   test_pt_pfn(mm, PT_BASE + PAGE_SIZE) != test_pt_pfn(cmm, PT_BASE + PAGE_SIZE) &&
	   test_pt_pfn(mm, PT_BASE + 2 * PAGE_SIZE) == test_pt_pfn(cmm, PT_BASE + 2 * PAGE_SIZE),
	   "fork: only the written pages were copied");
	pt_teardown("each_side_sees_its_own_writes", (struct task_struct *[]){ t, child }, 2);
}

static void pinned_page_is_copied_for_child(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	struct folio *folio;
	unsigned long pfn, copies0;

	pt_boot();
	t = test_process("pinner");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, 2 * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE, 42);
	pt_put(PT_BASE + PAGE_SIZE, 43);
	pfn = test_pt_pfn(mm, PT_BASE);
	folio = pfn_folio(pfn);
	/* stand-in for a FOLL_PIN: the mm has pinned, the folio looks pinned */
	atomic_fetch_or(&mm->flags, 1UL << MMF_HAS_PINNED);
	folio_ref_add(folio, GUP_PIN_COUNTING_BIAS);
	copies0 = ev(COW_FAULT);
	is_int(pinmm_fork(t, "child", &child), 0, "fork: succeeds with a maybe-pinned page");
	cmm = child->mm;
	ok(test_pt_pfn(cmm, PT_BASE) != pfn && test_pt_pfn(cmm, PT_BASE) != -1UL,
	   "fork: a maybe-pinned page is copied for the child at once (copy_present_page)");
	ok(pte_write(pt_pte(mm, PT_BASE)) && PageAnonExclusive(&folio->page) &&
	   test_pt_pfn(mm, PT_BASE) == pfn,
	   "fork: the parent keeps the pinned page, writable and exclusive");
	ok(test_pt_pfn(cmm, PT_BASE + PAGE_SIZE) == test_pt_pfn(mm, PT_BASE + PAGE_SIZE) &&
	   !pte_write(pt_pte(mm, PT_BASE + PAGE_SIZE)),
	   "fork: an unpinned page next to it is shared COW as usual");
	pt_put(PT_BASE, 4242);
	is_uint(test_pt_pfn(mm, PT_BASE), pfn,
		"fork: the parent's later write goes to the same (pinned) pfn, no COW");
	is_uint(ev(COW_FAULT) - copies0, 0, "fork: and takes no COW fault");
	is_uint(*(unsigned long *)folio_address(folio), 4242,
		"fork: the device's view of the pinned page sees the parent's write");
	pinmm_task_attach(child);
	is_uint(pt_get(PT_BASE), 42, "fork: the child's copy holds the data from fork time");
	pinmm_task_attach(t);
	folio_ref_sub(folio, GUP_PIN_COUNTING_BIAS);
	pt_teardown("pinned_page_is_copied_for_child", (struct task_struct *[]){ t, child }, 2);
}

/*
 * Every page allocation fails from the nth on (PINMM_FAIL_PERSIST), n = 1,
 * 2, ...: the forks that fail at the copy of the maybe-pinned page say
 * -ENOMEM and leave the parent's page pinned, writable and its own; never a
 * retry that waits for memory forever.
 */
static void pinned_copy_alloc_fails(void)
{
	struct task_struct *t, *child;
	struct mm_struct *mm;
	struct folio *folio;
	unsigned long pfn, n, failed = 0;
	bool intact = true;
	int err = -1;

	pt_boot();
	t = test_process("pinner-nomem");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE, 77);
	pfn = test_pt_pfn(mm, PT_BASE);
	folio = pfn_folio(pfn);
	atomic_fetch_or(&mm->flags, 1UL << MMF_HAS_PINNED);
	folio_ref_add(folio, GUP_PIN_COUNTING_BIAS);
	for (n = 1; n < 64 && err; n++) {
		child = NULL;
		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, n, PINMM_FAIL_PERSIST);
		err = pinmm_fork(t, "child", &child);
		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
		pinmm_task_attach(t);
		if (err) {
			failed++;
			intact &= err == -ENOMEM && !child && test_pt_pfn(mm, PT_BASE) == pfn &&
				  pte_write(pt_pte(mm, PT_BASE)) && PageAnonExclusive(&folio->page) &&
				  pt_get(PT_BASE) == 77;
		}
	}
	ok(failed >= 1 && !err, "fork: %lu forks failed with page allocation failing, then one got "
	   "through", failed);
	ok(intact, "fork: each failed with -ENOMEM, the parent's pinned page writable, exclusive, "
	   "its own, its data intact");
	ok(child && test_pt_pfn(child->mm, PT_BASE) != pfn, "fork: the child that got through has a copy");
	folio_ref_sub(folio, GUP_PIN_COUNTING_BIAS);
	pt_teardown("pinned_copy_alloc_fails", (struct task_struct *[]){ t, child }, 2);
}

struct mappers {
	int n;
	struct mm_struct *mms[4];
};

static bool count_mapper(struct folio *folio, struct vm_area_struct *vma, unsigned long addr,
			 void *arg)
{
	struct page_vma_mapped_walk pvmw = PVMW_INIT(folio, vma, addr);
	struct mappers *m = arg;

	while (page_vma_mapped_walk(&pvmw)) {
		if (m->n < 4)
			m->mms[m->n] = vma->vm_mm;
		m->n++;
	}
	return true;
}

static int walk_mappers(struct folio *folio, struct mappers *m)
{
	struct rmap_walk_control rwc = { .arg = m, .rmap_one = count_mapper };

	m->n = 0;
	folio_lock(folio);
	rmap_walk(folio, &rwc);
	folio_unlock(folio);
	return m->n;
}

static void rmap_after_fork_and_munmap(void)
{
	struct task_struct *t, *child = NULL, *grandchild = NULL;
	struct mm_struct *mm, *cmm, *gmm;
	struct folio *folio;
	struct mappers m;

	pt_boot();
	t = test_process("rmap");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, 2 * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE + PAGE_SIZE, 9);
	folio = pt_folio(mm, PT_BASE + PAGE_SIZE);
	folio_get(folio);	/* keep it to look at after every mapping is gone */
	is_int(walk_mappers(folio, &m), 1, "rmap: a private page has one mapper");
	pinmm_fork(t, "child", &child);
	cmm = child->mm;
	pinmm_fork(child, "grandchild", &grandchild);
	gmm = grandchild->mm;
	pinmm_task_attach(t);
	is_int(walk_mappers(folio, &m), 3,
	       "rmap: after two forks rmap_walk finds parent, child and grandchild (anon_vma chains)");
	ok(m.n == 3 && ((m.mms[0] == mm) + (m.mms[1] == mm) + (m.mms[2] == mm)) == 1 &&
	   ((m.mms[0] == cmm) + (m.mms[1] == cmm) + (m.mms[2] == cmm)) == 1 &&
	   ((m.mms[0] == gmm) + (m.mms[1] == gmm) + (m.mms[2] == gmm)) == 1,
	   "rmap: each mm is found exactly once");
	is_int(folio_mapcount(folio), 3, "rmap: folio_mapcount agrees");

	pinmm_task_attach(child);
	is_int(vm_munmap(PT_BASE, 2 * PAGE_SIZE), 0, "rmap: the child unmaps the range");
	pinmm_task_attach(t);
	is_int(walk_mappers(folio, &m), 2, "rmap: after the child's munmap two mappers remain");
	pinmm_task_attach(grandchild);
	pt_put(PT_BASE + PAGE_SIZE, 10);	/* COW: the grandchild leaves the page */
	pinmm_task_attach(t);
	is_int(walk_mappers(folio, &m), 1, "rmap: after the grandchild's COW one mapper remains");
	is_int(vm_munmap(PT_BASE, 2 * PAGE_SIZE), 0, "rmap: the parent unmaps it too");
	is_int(walk_mappers(folio, &m), 0, "rmap: rmap_walk finds no mapper after munmap");
	ok(!folio_mapped(folio) && folio_ref_count(folio) == 1,
	   "rmap: the unmapped page is held only by our reference");
	folio_put(folio);
	pt_teardown("rmap_after_fork_and_munmap",
		    (struct task_struct *[]){ t, child, grandchild }, 3);
}

static void zero_and_shared(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	struct folio *folio;

	pt_boot();
	t = test_process("shared");
	mm = t->mm;
	test_mmap_fixed(PT_BASE - PAGE_SIZE, 2 * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	test_mmap_fixed(PT_BASE + PAGE_SIZE, PAGE_SIZE, PT_RW, MAP_SHARED);
	pt_get(PT_BASE);
	pt_put(PT_BASE - PAGE_SIZE, 1);	/* an anon_vma: fork copies this VMA's PTEs */
	pt_put(PT_BASE + PAGE_SIZE, 1);
	pinmm_fork(t, "child", &child);
	cmm = child->mm;
	ok(test_pt_pfn(cmm, PT_BASE) == pinmm_zero_pfn && pte_special(pt_pte(cmm, PT_BASE)),
	   "fork: a zero-page PTE is copied as it is (special, same pfn)");
	folio = pt_folio(mm, PT_BASE + PAGE_SIZE);
	ok(test_pt_pfn(cmm, PT_BASE + PAGE_SIZE) == -1UL && pte_write(pt_pte(mm, PT_BASE + PAGE_SIZE)),
	   "fork: a MAP_SHARED (shmem) mapping's PTEs are not copied: the child refaults "
	   "(vma_needs_copy), the parent's stays writable");
	pinmm_task_attach(child);
	pt_put(PT_BASE + PAGE_SIZE, 2);
	ok(test_pt_pfn(cmm, PT_BASE + PAGE_SIZE) == folio_pfn(folio) &&
	   pte_write(pt_pte(cmm, PT_BASE + PAGE_SIZE)),
	   "fork: the child's fault maps the same shmem page, writable");
	pinmm_task_attach(t);
	is_uint(pt_get(PT_BASE + PAGE_SIZE), 2, "fork: the parent sees the child's write to shared memory");
	pt_teardown("zero_and_shared", (struct task_struct *[]){ t, child }, 2);
}

/*
 * A maybe-pinned (false positive: many references) small folio whose page is
 * not exclusive, the page after it in memory exclusive: fork shares the first
 * (folio_try_dup_anon_rmap_ptes() looks at the run's own pages only).
 */
static void shared_maybe_pinned_page_stays_shared(void)
{
	struct task_struct *t, *child = NULL;
	unsigned long x = 0, y = 0, pfn;
	struct mm_struct *mm;
	struct folio *folio;

	pt_boot();
	t = test_process("maybe-pinned");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, NPAGES * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	for (int i = 0; i < NPAGES; i++)
		pt_put(PT_BASE + i * PAGE_SIZE, 500 + i);
	/* two pages whose frames are next to each other: x, then y */
	for (int i = 0; i < NPAGES && !x; i++)
		for (int j = 0; j < NPAGES; j++)
			if (test_pt_pfn(mm, PT_BASE + j * PAGE_SIZE) ==
			    test_pt_pfn(mm, PT_BASE + i * PAGE_SIZE) + 1) {
				x = PT_BASE + i * PAGE_SIZE;
				y = PT_BASE + j * PAGE_SIZE;
				break;
			}
	if (!x)
		bail_out("no two anon pages in adjacent frames");
	/* a fork makes both non-exclusive; after the child exits, a write reuses y */
	is_int(pinmm_fork(t, "child", &child), 0, "fork: succeeds");
	pinmm_task_attach(child);
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	pt_put(y, 777);
	pfn = test_pt_pfn(mm, x);
	folio = pfn_folio(pfn);
	ok(!PageAnonExclusive(&folio->page) && PageAnonExclusive(pfn_to_page(pfn + 1)) &&
	   test_pt_pfn(mm, y) == pfn + 1,
	   "the page is not exclusive, the next frame's page is (reused by a write)");
	atomic_fetch_or(&mm->flags, 1UL << MMF_HAS_PINNED);
	folio_ref_add(folio, GUP_PIN_COUNTING_BIAS);
	is_int(pinmm_fork(t, "child", &child), 0, "fork: succeeds with a maybe-pinned shared page");
	ok(test_pt_pfn(child->mm, x) == pfn && !pte_write(pt_pte(mm, x)),
	   "fork: a maybe-pinned page that is not exclusive is shared COW, not copied "
	   "(folio_try_dup_anon_rmap_ptes looks at its own pages only)");
	ok(test_pt_pfn(child->mm, y) == pfn + 1,
	   "fork: the exclusive page next to it, not pinned, is shared COW as usual");
	folio_ref_sub(folio, GUP_PIN_COUNTING_BIAS);
	pt_teardown("shared_maybe_pinned_page_stays_shared", (struct task_struct *[]){ t, child }, 2);
}

int main(void)
{
	plan_no_plan();
	each_side_sees_its_own_writes();
	pinned_page_is_copied_for_child();
	pinned_copy_alloc_fails();
	shared_maybe_pinned_page_stays_shared();
	rmap_after_fork_and_munmap();
	zero_and_shared();
	return done_testing();
}
