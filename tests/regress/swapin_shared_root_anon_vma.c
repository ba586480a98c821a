// SPDX-License-Identifier: MIT
/*
 * Regression (found by libFuzzer: a heap-use-after-free of an anon_vma in
 * folio_get_anon_vma(), from a long-term pin migrating a swapped-in page).
 *
 * Rule (mm/rmap.c __folio_set_anon()): a new anon folio that is not
 * exclusive to the VMA mapping it takes the root anon_vma of the VMA's
 * hierarchy, "the oldest possible", because other processes may map it
 * later and the VMA's own anon_vma may die first. Swap-in of a slot shared
 * after fork is such a folio: the child that swaps it in first must not
 * leave its own anon_vma in the folio, which stays in the swap cache for
 * the parent and is found there after the child has exited.
 */
#include "../gup/helpers.h"

#include <pinmm/migrate.h>
#include <pinmm/rmap.h>
#include <pinmm/swap.h>

#define A	GT_BASE

int main(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct anon_vma *root;
	struct folio *folio;
	unsigned int ok_moved = 0;
	LIST_HEAD(list);

	plan_no_plan();
	test_boot(TEST_MEM_MB, 0, 0);
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) < 0)
		bail_out("swapon");
	t[0] = test_process("parent");
	test_mmap_fixed(A, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(A, 1, 7);
	mmap_read_lock(current->mm);
	root = vma_lookup(current->mm, A)->anon_vma->root;
	mmap_read_unlock(current->mm);
	is_int(do_madvise(current->mm, A, PAGE_SIZE, MADV_PAGEOUT), 0, "setup: the page goes to swap");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");

	/* the child swaps the shared slot in first, then writes: COW leaves the folio cached */
	pinmm_task_attach(t[1]);
	is_int(gt_check(A, 1, 7), 0, "the child swaps in the data");
	folio = page_folio(gt_page(current->mm, A));
	ok(folio_anon_vma(folio) == root,
	   "__folio_set_anon: a swapped-in folio of a shared slot takes the root anon_vma, "
	   "not the child's own");
	gt_fill(A, 1, 8);
	pinmm_task_exit(t[1]);
	t[1] = NULL;
	synchronize_rcu();
	rcu_barrier();	/* the child's anon_vma is freed by now */

	/* the parent maps the cached folio; migration walks its anon_vma */
	pinmm_task_attach(t[0]);
	is_int(gt_check(A, 1, 7), 0, "the parent swaps in its own data from the swap cache");
	folio = page_folio(gt_page(current->mm, A));
	ok(folio_anon_vma(folio) == root, "the folio the parent maps names a live anon_vma (the root)");
	folio_get(folio);
	if (folio_isolate_lru(folio))
		list_add_tail(&folio->lru, &list);
	folio_put(folio);
	{
		struct migration_target_control mtc = { .gfp_mask = GFP_HIGHUSER_MOVABLE,
							.reason = MR_SYSCALL };

		migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc,
			      MIGRATE_SYNC, MR_SYSCALL, &ok_moved);
	}
	putback_movable_pages(&list);
	is_int(gt_check(A, 1, 7), 0, "migration walked the anon_vma (or refused the cached folio); data intact");
	gt_teardown("swapin root anon_vma", t, 2);
	return done_testing();
}
