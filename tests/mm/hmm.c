// SPDX-License-Identifier: MIT
/*
 * hmm_range_fault() (mm/hmm.c, Documentation/mm/hmm.rst): a device's
 * snapshot of the CPU page tables, with no pin and no reference, valid until
 * the interval notifier's sequence moves.
 *  - pages the caller requires are faulted in (for writing if required);
 *    the result is pfn | VALID (| WRITE when the CPU may write), with the
 *    mapping order for a THP;
 *  - a page not required and not present is 0; a read-only requirement on
 *    an untouched anon page gives the zero page, not writable;
 *  - an invalidation after the sequence was read: -EBUSY;
 *  - a required page in a hole: -EFAULT; a required write to a VMA without
 *    VM_WRITE: -EPERM; a VM_PFNMAP/VM_IO mapping is HMM_PFN_ERROR or -EFAULT.
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <errno.h>
#include <pinmm/hmm.h>
#include <pinmm/vmstat.h>

#define BASE	0x600000000UL

struct mirror {
	struct mmu_interval_notifier notifier;
	unsigned long invalidations;
};

static bool mirror_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct mirror *m = container_of(mni, struct mirror, notifier);

	(void)range;
	mmu_interval_set_seq(mni, cur_seq);
	m->invalidations++;
	return true;
}

static const struct mmu_interval_notifier_ops mirror_ops = {
	.invalidate = mirror_invalidate,
};

static int fault(struct mirror *m, unsigned long start, unsigned long n, unsigned long *pfns,
		 unsigned long flags, bool fresh_seq)
{
	struct hmm_range range = {
		.notifier = &m->notifier, .start = start, .end = start + n * PAGE_SIZE,
		.hmm_pfns = pfns, .default_flags = flags,
	};
	int ret;

	/* a driver's loop: a fault that replaces a page invalidates, then -EBUSY */
	do {
		if (fresh_seq)
			range.notifier_seq = mmu_interval_read_begin(&m->notifier);
		mmap_read_lock(m->notifier.mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(m->notifier.mm);
	} while (ret == -EBUSY && fresh_seq);
	return ret;
}

int main(void)
{
	struct task_struct *t;
	struct mirror m = { .invalidations = 0 };
	unsigned long pfns[8] = { 0 };
	long acq0;
	int refs;

	plan_no_plan();
	test_boot(64, 0, 0);
	t = test_process("hmm");
	test_mmap_fixed(BASE, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	test_mmap_fixed(BASE + 8 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	is_int(mmu_interval_notifier_insert(&m.notifier, t->mm, BASE, 16 * PAGE_SIZE, &mirror_ops),
	       0, "interval notifier inserted");
	acq0 = global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);

	is_int(fault(&m, BASE, 4, pfns, 0, true), 0, "no requirement: nothing faulted");
	ok(!pfns[0] && !pfns[3], "... and absent pages are 0");
	is_int(fault(&m, BASE, 4, pfns, HMM_PFN_REQ_FAULT, true), 0, "read requirement");
	ok((pfns[0] & HMM_PFN_VALID) && !(pfns[0] & HMM_PFN_WRITE) &&
	   is_zero_pfn(pfns[0] & ~HMM_PFN_FLAGS),
	   "a read fault on untouched anon memory gives the zero page, not writable");
	is_int(fault(&m, BASE, 8, pfns, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, true), 0,
	       "write requirement on 8 pages");
	refs = folio_ref_count(page_folio(hmm_pfn_to_page(pfns[2])));
	ok((pfns[2] & HMM_PFN_WRITE) && !is_zero_pfn(pfns[2] & ~HMM_PFN_FLAGS) &&
	   (pfns[2] & ~HMM_PFN_FLAGS) == test_pt_pfn(t->mm, BASE + 2 * PAGE_SIZE) &&
	   hmm_pfn_to_map_order(pfns[2]) == 0,
	   "writable pfns of the frames the CPU maps, order 0");
	ok(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED) == acq0 && refs == 1,
	   "no pin and no reference taken (refcount %d)", refs);

	do_madvise(t->mm, BASE, PAGE_SIZE, MADV_DONTNEED);
	ok(m.invalidations >= 1, "MADV_DONTNEED invalidates the mirror");
	{
		struct hmm_range range = { .notifier = &m.notifier, .start = BASE,
					   .end = BASE + PAGE_SIZE, .hmm_pfns = pfns,
					   .default_flags = HMM_PFN_REQ_FAULT };

		range.notifier_seq = mmu_interval_read_begin(&m.notifier);
		do_madvise(t->mm, BASE + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
		mmap_read_lock(t->mm);
		is_int(hmm_range_fault(&range), -EBUSY,
		       "an invalidation after the sequence was read makes it -EBUSY");
		mmap_read_unlock(t->mm);
	}
	is_int(fault(&m, BASE + 8 * PAGE_SIZE, 1, pfns, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, true),
	       -EPERM, "a required write to a read-only VMA is -EPERM");
	is_int(fault(&m, BASE + 8 * PAGE_SIZE, 1, pfns, HMM_PFN_REQ_FAULT, true), 0,
	       "a read of it is fine");
	is_int(fault(&m, BASE + 12 * PAGE_SIZE, 1, pfns, HMM_PFN_REQ_FAULT, true), -EFAULT,
	       "a required page in a hole is -EFAULT");
	pfns[0] = 123;
	is_int(fault(&m, BASE + 12 * PAGE_SIZE, 1, pfns, 0, true), 0,
	       "an unrequired page in a hole is fine");
	is_int((long)pfns[0], 0, "... and reads 0");
	mmu_interval_notifier_remove(&m.notifier);
	pinmm_task_exit(t);
	test_shutdown_ok("hmm_range_fault");
	return done_testing();
}
