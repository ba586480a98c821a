// SPDX-License-Identifier: MIT
/*
 * The slow path (Linux mm/gup.c __get_user_pages(), check_vma_flags(),
 * follow_page_pte(), faultin_page(), __get_user_pages_locked(), the remote
 * forms, fixup_user_fault() and fault_in_*()): R-VMA, R-PART, R-REMOTE.
 * What each VMA kind allows, FOLL_FORCE semantics (break COW in private
 * mappings, never write shared ones, read PROT_NONE via VM_MAYREAD),
 * faulting in, partial success at a hole, FOLL_NOFAULT, FOLL_ANON,
 * FOLL_SPLIT_PMD, fatal signals, GUP on another process's mm from another
 * thread, and the fault-in helpers. R-DUMP: FOLL_DUMP (core dumps) refuses
 * holes and the zero page with -EFAULT and faults nothing in. R-TOUCH: a
 * lookup with FOLL_TOUCH (get_user_pages() adds it; pin_user_pages() does
 * not, as in Linux) marks the folio referenced, for PTEs and PMD-mapped THPs,
 * and a write lookup through a clean writable PTE marks the folio dirty.
 * R-HWPOISON: a lookup that meets a poisoned entry fails with -EHWPOISON
 * under FOLL_HWPOISON, else -EFAULT (vm_fault_to_errno()).
 * R-FORCE: in a writable mapping a FOLL_FORCE write pin of a read-only PTE
 * takes the write fault like any write pin (FOLL_FORCE only matters where
 * the VMA lacks VM_WRITE): the PTE ends up writable.
 */
#include "helpers.h"

#include <pthread.h>

/* VM_IO|VM_PFNMAP (a device BAR): no struct pages to hand out. */
static void test_pfnmap(void)
{
	struct task_struct *t;
	struct page *pages[2] = { GT_POISON, GT_POISON };
	unsigned long addr;
	long acq0 = 0, r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-pfnmap");
	addr = pinmm_map_device(pinmm_mmio_pfn, 2 * PAGE_SIZE, GT_RW);
	if (IS_ERR_VALUE(addr)) {
		skip(6, "pinmm_map_device failed");
		gt_teardown("VM_PFNMAP", &t, 1);
		return;
	}
	acq0 = gt_acq();
	r = gt_pin(addr, 2, FOLL_WRITE, pages);
	is_int(r, -EFAULT, "R-VMA: pin_user_pages() on a VM_IO|VM_PFNMAP mapping is -EFAULT "
	       "(check_vma_flags)");
	r = gt_get(addr, 2, 0, pages);
	is_int(r, -EFAULT, "R-VMA: get_user_pages() on VM_IO|VM_PFNMAP is -EFAULT");
	r = gt_get(addr, 2, 0, NULL);
	is_int(r, -EFAULT, "R-VMA: even without a pages array (check_vma_flags comes first)");
	r = pin_user_pages_fast(addr, 2, 0, pages);
	is_int(r, -EFAULT, "R-VMA/R-FAST: pin_user_pages_fast() on VM_PFNMAP: special PTEs make "
	       "GUP-fast fall back, the slow path refuses: -EFAULT");
	r = gt_fast_only(addr, 2, FOLL_GET, pages);
	is_int(r, 0, "R-FAST: the lockless walk takes nothing from special PTEs");
	ok(pages[0] == GT_POISON && pages[1] == GT_POISON && gt_acq() == acq0,
	   "R-VMA: nothing was pinned, pages[] untouched");
	gt_teardown("VM_PFNMAP", &t, 1);
}

/* Write pins of a read-only private mapping; FOLL_FORCE breaks COW. */
static void test_force_write_private(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	const unsigned long addr = GT_BASE, zaddr = GT_BASE + PMD_SIZE;
	struct page *pages[1] = { GT_POISON }, *orig;
	unsigned long child_pfn;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("slow-force");
	test_mmap_fixed(addr, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(gt_fill(addr, 1, 1), "setup: the parent writes a page");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	orig = gt_page(current->mm, addr);
	child_pfn = test_pt_pfn(t[1]->mm, addr);
	ok(page_to_pfn(orig) == child_pfn, "setup: after fork the page is COW-shared");
	is_int(do_mprotect(addr, PAGE_SIZE, PROT_READ), 0, "setup: mprotect(PROT_READ)");

	for (int fast = 0; fast < 2; fast++) {
		r = gt_pin_any(fast, addr, 1, FOLL_WRITE, pages);
		is_int(r, -EFAULT, "R-VMA: a FOLL_WRITE pin of a PROT_READ private mapping is "
		       "-EFAULT without FOLL_FORCE (%s)",
		       fast ? "pin_user_pages_fast" : "pin_user_pages");
	}
	r = gt_get(addr, 1, FOLL_WRITE, pages);
	is_int(r, -EFAULT, "R-VMA: get_user_pages(FOLL_WRITE) of PROT_READ: -EFAULT");

	r = gt_get(addr, 1, FOLL_FORCE | FOLL_WRITE, pages);
	is_int(r, 1, "R-VMA: get_user_pages(FOLL_FORCE|FOLL_WRITE) of a PROT_READ private "
	       "mapping works (ptrace: COW mapping, VM_MAYWRITE)");
	if (r == 1) {
		ok(pages[0] != orig && PageAnon(pages[0]) && PageAnonExclusive(pages[0]),
		   "R-VMA: the forced write broke COW: a new exclusive anon page, not the shared "
		   "original (can_follow_write_common)");
		is_uint(test_pt_pfn(current->mm, addr), page_to_pfn(pages[0]),
			"R-VMA: the parent's mapping now points at the new page");
		ok(!gt_writable(current->mm, addr), "R-VMA: ... and stays read-only (the VMA is "
		   "PROT_READ; only the forced access may write)");
		gt_page_write(pages[0], addr, 2);	/* the ptrace write */
		put_page(pages[0]);
		is_uint(gt_check(addr, 1, 2), 0, "R-VMA: the parent reads the forced write");
		pinmm_task_attach(t[1]);
		is_uint(gt_check(addr, 1, 1), 0, "R-VMA: the child still reads the original: the "
			"shared page was never written");
		is_uint(test_pt_pfn(t[1]->mm, addr), child_pfn, "R-VMA: the child's mapping is unchanged");
		pinmm_task_attach(t[0]);
	} else {
		skip(5, "forced write failed");
	}

	/* the zero page behind an untouched PROT_READ private mapping */
	test_mmap_fixed(zaddr, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	r = gt_get(zaddr, 1, 0, pages);
	ok(r == 1 && is_zero_page(pages[0]), "setup: a read of untouched PROT_READ memory maps "
	   "the zero page");
	if (r == 1)
		put_page(pages[0]);
	r = gt_pin(zaddr, 1, FOLL_FORCE | FOLL_WRITE, pages);
	ok(r == 1 && !is_zero_page(pages[0]) && PageAnonExclusive(pages[0]),
	   "R-VMA: pin_user_pages(FOLL_FORCE|FOLL_WRITE) of the zero page COWs a fresh anon page");
	if (r == 1) {
		const uint64_t *z = page_address(pinmm_zero_page);
		bool zeroes = true;

		gt_page_write(pages[0], zaddr, 3);
		for (unsigned long w = 0; w < GT_WORDS; w++)
			zeroes &= z[w] == 0;
		ok(zeroes, "R-VMA: the shared zero page is still all zeroes");
		is_uint(gt_check(zaddr, 1, 3), 0, "R-VMA: the process reads what was written "
			"through the pin");
		unpin_user_page(pages[0]);
	} else {
		skip(2, "forced pin failed");
	}
	gt_teardown("FOLL_FORCE private", t, 2);
}

/* FOLL_FORCE never writes a shared read-only mapping; PROT_NONE via VM_MAYREAD. */
static void test_force_shared_and_prot_none(void)
{
	struct task_struct *t;
	const unsigned long shared = GT_BASE, none = GT_BASE + PMD_SIZE;
	struct page *pages[2] = { GT_POISON, GT_POISON };
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-shared");
	test_mmap_fixed(shared, PAGE_SIZE, GT_RW, MAP_SHARED);
	ok(gt_fill(shared, 1, 4), "setup: write shared memory");
	is_int(do_mprotect(shared, PAGE_SIZE, PROT_READ), 0, "setup: mprotect(PROT_READ)");
	r = gt_get(shared, 1, FOLL_FORCE | FOLL_WRITE, pages);
	is_int(r, -EFAULT, "R-VMA: get_user_pages(FOLL_FORCE|FOLL_WRITE) of a shared read-only "
	       "mapping is -EFAULT (forced writes only break COW)");
	r = gt_pin(shared, 1, FOLL_FORCE | FOLL_WRITE, pages);
	is_int(r, -EFAULT, "R-VMA: pin_user_pages(FOLL_FORCE|FOLL_WRITE) likewise");
	r = pin_user_pages_fast(shared, 1, FOLL_FORCE | FOLL_WRITE, pages);
	is_int(r, -EFAULT, "R-VMA: pin_user_pages_fast(FOLL_FORCE|FOLL_WRITE) likewise (the fast "
	       "walk sees a R/O PTE and falls back)");
	r = gt_pin(shared, 1, 0, pages);
	ok(r == 1 && gt_page_holds(pages[0], shared, 4),
	   "R-VMA: a read pin of the shared read-only mapping is fine");
	if (r == 1)
		unpin_user_page(pages[0]);
	is_uint(gt_check(shared, 1, 4), 0, "R-VMA: the shared data was never written");

	test_mmap_fixed(none, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(gt_fill(none, 2, 5), "setup: write two private pages");
	is_int(do_mprotect(none, 2 * PAGE_SIZE, PROT_NONE), 0, "setup: mprotect(PROT_NONE)");
	for (int fast = 0; fast < 2; fast++) {
		const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";

		pages[0] = GT_POISON;
		r = gt_pin_any(fast, none, 2, 0, pages);
		is_int(r, -EFAULT, "R-VMA: a read pin of PROT_NONE is -EFAULT (no VM_READ) (%s)", how);
		r = gt_pin_any(fast, none, 2, FOLL_FORCE, pages);
		is_int(r, 2, "R-VMA: with FOLL_FORCE the read pin of PROT_NONE works (VM_MAYREAD) "
		       "(%s)", how);
		if (r == 2) {
			is_uint(gt_pages_bad(pages, 2, none, 5), 0, "R-VMA: the forced read pin sees "
				"the data (%s)", how);
			unpin_user_pages(pages, 2);
		} else {
			skip(1, "forced read failed");
		}
	}
	r = gt_fast_only(none, 2, FOLL_PIN | FOLL_FORCE, pages);
	is_int(r, 0, "R-FAST: the lockless walk never follows a PROT_NONE PTE (falls back)");
	gt_teardown("FOLL_FORCE shared / PROT_NONE", &t, 1);
}

/* Missing pages are faulted; a hole ends the range: partial success. */
static void test_fault_in_and_partial(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[8];
	unsigned long wrong = 0, untouched = 0;
	long r, acq0, faults0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-partial");
	test_mmap_fixed(addr, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(addr + 5 * PAGE_SIZE, 3 * PAGE_SIZE, GT_RW, MAP_PRIVATE);	/* hole at page 4 */

	faults0 = gt_ev(PGFAULT);
	r = gt_pin(addr, 4, FOLL_WRITE, pages);
	is_int(r, 4, "R-PART: pin_user_pages(FOLL_WRITE) of 4 unpopulated pages faults them in "
	       "and returns 4");
	for (long i = 0; i < r; i++)
		wrong += test_pt_pfn(current->mm, addr + i * PAGE_SIZE) != page_to_pfn(pages[i]) ||
			 is_zero_page(pages[i]);
	is_uint(wrong, 0, "R-PART: each pinned page is the one now mapped (a new anon page)");
	ok(gt_ev(PGFAULT) - faults0 >= 4, "R-PART: the pages came from faults (PGFAULT +%ld)",
	   gt_ev(PGFAULT) - faults0);
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);

	for (int fast = 0; fast < 2; fast++) {
		const char *how = fast ? "pin_user_pages_fast" : "pin_user_pages";

		for (int i = 0; i < 8; i++)
			pages[i] = GT_POISON;
		acq0 = gt_acq();
		r = gt_pin_any(fast, addr, 8, FOLL_WRITE, pages);
		untouched = 0;
		for (int i = 4; i < 8; i++)
			untouched += pages[i] == GT_POISON;
		is_int(r, 4, "R-PART: a range running into a hole returns the count so far (4) (%s)",
		       how);
		is_uint(untouched, 4, "R-PART: pages[] past the count is untouched (%s)", how);
		is_int(gt_acq() - acq0, 4, "R-PART: exactly 4 pins were taken (%s)", how);
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
		is_int(gt_acq(), gt_rel(), "R-PART: the caller unpins exactly the returned count and "
		       "the counters balance (%s)", how);
		r = gt_pin_any(fast, addr + 4 * PAGE_SIZE, 2, FOLL_WRITE, pages);
		is_int(r, -EFAULT, "R-PART: a range starting in the hole pins nothing: -EFAULT (%s)",
		       how);
	}
	r = gt_get(addr + 2 * PAGE_SIZE, 6, 0, pages);
	is_int(r, 2, "R-PART: get_user_pages() stops at the hole too (2)");
	if (r > 0)
		gt_put_pages(pages, r);
	gt_teardown("fault in / partial", &t, 1);
}

/* FOLL_NOFAULT, FOLL_ANON, FOLL_SPLIT_PMD. */
static void test_flags(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE, thp = GT_BASE + PMD_SIZE;
	static struct page *pages[HPAGE_PMD_NR];
	unsigned long dev;
	long r, faults0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-flags");
	test_mmap_fixed(addr, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	faults0 = gt_ev(PGFAULT);
	r = gt_pin(addr, 2, FOLL_NOFAULT, pages);
	is_int(r, -EFAULT, "R-VMA: FOLL_NOFAULT on unpopulated memory: -EFAULT (faultin_page "
	       "refuses)");
	r = pin_user_pages_fast(addr, 2, FOLL_NOFAULT, pages);
	is_int(r, -EFAULT, "R-VMA: pin_user_pages_fast(FOLL_NOFAULT) on unpopulated memory: "
	       "-EFAULT");
	ok(gt_ev(PGFAULT) == faults0 && test_pt_pfn(current->mm, addr) == -1UL,
	   "R-VMA: FOLL_NOFAULT did not fault anything in");
	gt_populate(addr, 2 * PAGE_SIZE);
	r = gt_pin(addr, 4, FOLL_NOFAULT | FOLL_WRITE, pages);
	is_int(r, 2, "R-VMA/R-PART: FOLL_NOFAULT returns what is mapped: 2 of 4");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);
	r = pin_user_pages_fast(addr, 2, FOLL_NOFAULT | FOLL_WRITE, pages);
	is_int(r, 2, "R-VMA: pin_user_pages_fast(FOLL_NOFAULT) on populated memory works");
	if (r > 0)
		unpin_user_pages(pages, (unsigned long)r);

	r = gt_get(addr, 2, FOLL_ANON, pages);
	is_int(r, 2, "R-VMA: FOLL_ANON on an anonymous VMA works");
	if (r > 0)
		gt_put_pages(pages, r);
	dev = pinmm_map_device(pinmm_mmio_pfn, PAGE_SIZE, GT_RW);
	if (!IS_ERR_VALUE(dev)) {
		r = gt_get(dev, 1, FOLL_ANON, pages);
		is_int(r, -EFAULT, "R-VMA: FOLL_ANON on a device (non-anonymous) VMA: -EFAULT");
	} else {
		skip(1, "no device mapping");
	}

	if (gt_thp(thp)) {
		struct folio *folio = page_folio(gt_page(current->mm, thp));
		long splits0 = gt_ev(THP_SPLIT_PMD);

		r = gt_pin(thp + 3 * PAGE_SIZE, 2, FOLL_SPLIT_PMD, pages);
		is_int(r, 2, "R-VMA: pin_user_pages(FOLL_SPLIT_PMD) of a PMD-mapped THP returns 2");
		ok(!test_pmd_mapped(current->mm, thp), "R-VMA: FOLL_SPLIT_PMD left the THP PTE-mapped");
		is_int(gt_ev(THP_SPLIT_PMD) - splits0, 1, "R-VMA: one PMD split (thp_split_pmd +1)");
		ok(r == 2 && page_folio(pages[0]) == folio && folio_test_large(folio) &&
		   pages[0] == folio_page(folio, 3),
		   "R-VMA: the folio itself stays large; the pin is on its subpage 3");
		is_int(folio_pincount(folio), 2, "R-CNT: two subpage pins on the PTE-mapped THP");
		is_uint(test_pt_pfn(current->mm, thp + 300 * PAGE_SIZE), folio_pfn(folio) + 300,
			"R-VMA: every subpage is still mapped by its PTE after the split");
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
		/* and a pin of a PTE-mapped THP subpage after the split (exclusive per page) */
		r = gt_pin(thp + 400 * PAGE_SIZE, 4, 0, pages);
		ok(r == 4 && pages[0] == folio_page(folio, 400) && folio_pincount(folio) == 4,
		   "R-UNSHARE: a R/O pin of a PTE-mapped exclusive THP subpage needs no unshare");
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
	} else {
		skip(7, "no THP");
	}
	gt_teardown("FOLL_NOFAULT/ANON/SPLIT_PMD", &t, 1);
}

/* A fatal signal pending: -EINTR from the per-page loop. */
static void test_fatal_signal(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	struct page *pages[2] = { GT_POISON, GT_POISON };
	long r, acq0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-signal");
	test_mmap_fixed(addr, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, 2 * PAGE_SIZE);
	pinmm_task_kill(t);
	acq0 = gt_acq();
	r = gt_pin(addr, 2, 0, pages);
	is_int(r, -EINTR, "R-PART: pin_user_pages() with a fatal signal pending: -EINTR "
	       "(__get_user_pages checks before each page)");
	r = gt_get(addr, 2, 0, pages);
	is_int(r, -EINTR, "R-PART: get_user_pages() likewise -EINTR");
	r = pin_user_pages_unlocked(addr, 2, pages, 0);
	ok(r == -EINTR || r == -EAGAIN, "R-PART: pin_user_pages_unlocked() with a fatal signal: "
	   "the killable lock or the loop refuses (%ld: -EAGAIN or -EINTR)", r);
	ok(pages[0] == GT_POISON && gt_acq() == acq0, "R-PART: nothing was pinned");
	{
		bool unlocked = false;

		mmap_read_lock(current->mm);
		is_int(fixup_user_fault(current->mm, addr, FAULT_FLAG_WRITE, &unlocked), -EINTR,
		       "R-PART: fixup_user_fault() with @unlocked is killable: a fatal signal "
		       "pending is -EINTR");
		is_int(fixup_user_fault(current->mm, addr, FAULT_FLAG_WRITE, NULL), 0,
		       "R-PART: fixup_user_fault() without @unlocked is not (no "
		       "FAULT_FLAG_KILLABLE): the fault is resolved, 0");
		mmap_read_unlock(current->mm);
	}
	gt_teardown("fatal signal", &t, 1);
}

/* ---- remote: another thread pins another process's memory ------------------------ */

struct remote_arg {
	struct mm_struct *mm;
	unsigned long addr;
	bool use_locked, pin, kthread;
	long ret;
	int locked;
	struct page *pages[4];
};

static void *remote_fn(void *p)
{
	struct remote_arg *a = p;
	struct task_struct *other = NULL;
	int *locked = a->use_locked ? &a->locked : NULL;

	if (a->kthread) {
		if (!mmget_not_zero(a->mm))
			return NULL;
		kthread_use_mm(a->mm);	/* a worker adopting the mm (but still "remote" GUP) */
	} else {
		other = pinmm_task_create("remote-pinner");
		pinmm_task_attach(other);
	}
	a->locked = 1;
	mmap_read_lock(a->mm);
	if (a->pin)
		a->ret = pin_user_pages_remote(a->mm, a->addr, 4, FOLL_WRITE, a->pages, locked);
	else
		a->ret = get_user_pages_remote(a->mm, a->addr, 4, FOLL_WRITE, a->pages, locked);
	/* *locked tells the truth: if still 1, the caller unlocks */
	if (!locked || a->locked)
		mmap_read_unlock(a->mm);
	if (a->kthread) {
		kthread_unuse_mm(a->mm);
		mmput(a->mm);
	} else {
		pinmm_task_exit(other);
	}
	return NULL;
}

static void test_remote(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-remote");
	test_mmap_fixed(addr, 16 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(gt_fill(addr, 2, 6), "setup: the target process writes its first two pages");
	for (int k = 0; k < 8; k++) {
		struct remote_arg a = {
			.mm = t->mm,
			.pin = k & 1, .use_locked = k & 2, .kthread = k & 4,
		};
		const char *fn = a.pin ? "pin_user_pages_remote" : "get_user_pages_remote";
		const char *how = a.kthread ? "from a kthread_use_mm worker" :
					      "from a thread running another task";
		pthread_t th;
		long acq0 = gt_acq();
		unsigned long wrong = 0;

		a.addr = addr + (unsigned long)(k % 4) * 3 * PAGE_SIZE;
		pthread_create(&th, NULL, remote_fn, &a);
		pthread_join(th, NULL);
		is_int(a.ret, 4, "R-REMOTE: %s(locked %s) %s returns 4 (faulting the target's "
		       "missing pages in)", fn, a.use_locked ? "= &1" : "NULL", how);
		for (long i = 0; i < (a.ret > 0 ? a.ret : 0); i++)
			wrong += test_pt_pfn(t->mm, a.addr + i * PAGE_SIZE) != page_to_pfn(a.pages[i]);
		is_uint(wrong, 0, "R-REMOTE: the pages are the target mm's mapped pages (%s, %s)",
			fn, how);
		if (a.use_locked)
			is_int(a.locked, 1, "R-REMOTE: anonymous faults never drop the lock: *locked "
			       "is still 1 and the caller unlocked (%s)", fn);
		is_int(gt_acq() - acq0, a.pin ? 4 : 0, "R-VMSTAT: %s counts %d pins", fn,
		       a.pin ? 4 : 0);
		if (a.ret == 4 && a.addr == addr)
			ok(gt_page_holds(a.pages[0], addr, 6), "R-REMOTE: the device sees the "
			   "target's data through the remote %s", a.pin ? "pin" : "reference");
		if (a.ret > 0) {
			if (a.pin)
				unpin_user_pages(a.pages, (unsigned long)a.ret);
			else
				gt_put_pages(a.pages, a.ret);
		}
		if (k == 1)
			ok(gt_has_pinned(t->mm), "R-HAS: a remote pin sets MMF_HAS_PINNED on the "
			   "target mm");
	}
	gt_teardown("remote", &t, 1);
}

/* fixup_user_fault() and fault_in_{writeable,readable,safe_writeable}(). */
static void test_fault_in_helpers(void)
{
	struct task_struct *t;
	const unsigned long addr = GT_BASE, ro = GT_BASE + PMD_SIZE, fresh = GT_BASE + 2 * PMD_SIZE;
	bool unlocked = false;
	size_t left;
	int r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-fixup");
	test_mmap_fixed(addr, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);		/* [addr, +4) then a hole */
	test_mmap_fixed(ro, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE);

	mmap_read_lock(current->mm);
	r = fixup_user_fault(current->mm, addr + 8, FAULT_FLAG_WRITE, &unlocked);
	mmap_read_unlock(current->mm);
	is_int(r, 0, "R-VMA: fixup_user_fault(WRITE) on writable memory resolves the fault (0)");
	ok(test_pt_pfn(current->mm, addr) != -1UL && !is_zero_pfn(test_pt_pfn(current->mm, addr)) &&
	   gt_writable(current->mm, addr), "R-VMA: ... a writable anon page is now mapped");
	ok(!unlocked, "R-VMA: ... without dropping the lock (*unlocked stays false)");
	mmap_read_lock(current->mm);
	r = fixup_user_fault(current->mm, addr + 5 * PAGE_SIZE, 0, NULL);
	mmap_read_unlock(current->mm);
	is_int(r, -EFAULT, "R-VMA: fixup_user_fault() in a hole: -EFAULT");
	mmap_read_lock(current->mm);
	r = fixup_user_fault(current->mm, ro, FAULT_FLAG_WRITE, NULL);
	mmap_read_unlock(current->mm);
	is_int(r, -EFAULT, "R-VMA: fixup_user_fault(WRITE) on a read-only VMA: -EFAULT");
	mmap_read_lock(current->mm);
	r = fixup_user_fault(current->mm, ro, 0, NULL);
	mmap_read_unlock(current->mm);
	is_int(r, 0, "R-VMA: fixup_user_fault(read) on a read-only VMA: 0");

	/* fault_in_*: bytes NOT faulted in */
	ok(gt_fill(addr + PAGE_SIZE, 1, 7), "setup: page 1 holds data");
	left = fault_in_safe_writeable((const char __user *)(addr + PAGE_SIZE), 3 * PAGE_SIZE);
	is_uint(left, 0, "R-VMA: fault_in_safe_writeable() over mapped memory: 0 bytes left");
	is_uint(gt_check(addr + PAGE_SIZE, 1, 7), 0, "R-VMA: fault_in_safe_writeable() is "
		"non-destructive (fixup_user_fault)");
	left = fault_in_safe_writeable((const char __user *)(addr + 3 * PAGE_SIZE + 100),
				       2 * PAGE_SIZE);
	is_uint(left, 2 * PAGE_SIZE - (PAGE_SIZE - 100), "R-VMA: fault_in_safe_writeable() "
		"into the hole returns the bytes from the hole on");
	left = fault_in_safe_writeable((const char __user *)ro, PAGE_SIZE);
	is_uint(left, PAGE_SIZE, "R-VMA: fault_in_safe_writeable() of read-only memory: nothing "
		"faulted");
	left = fault_in_safe_writeable((const char __user *)(ro + 100), 16);
	is_uint(left, 16, "R-VMA: fault_in_safe_writeable() from inside a read-only page: all "
		"16 bytes left, never more than asked");
	left = fault_in_writeable((char __user *)(addr + 3 * PAGE_SIZE + 100), 2 * PAGE_SIZE);
	is_uint(left, 2 * PAGE_SIZE - (PAGE_SIZE - 100), "R-VMA: fault_in_writeable() into the "
		"hole: the bytes from the hole on are left");
	left = fault_in_writeable((char __user *)(addr + 2 * PAGE_SIZE), PAGE_SIZE);
	is_uint(left, 0, "R-VMA: fault_in_writeable() of writable memory: 0 left");
	left = fault_in_writeable((char __user *)addr, PAGE_SIZE);
	ok(left == 0 && gt_check(addr + PAGE_SIZE, 1, 7) == 0,
	   "R-VMA: fault_in_writeable() of one page writes inside it only: the next page's "
	   "data is intact");
	left = fault_in_writeable((char __user *)ro, 16);
	is_uint(left, 16, "R-VMA: fault_in_writeable() of read-only memory: all left");
	left = fault_in_readable((const char __user *)ro, 2 * PAGE_SIZE);
	is_uint(left, 0, "R-VMA: fault_in_readable() of read-only memory: 0 left");
	left = fault_in_readable((const char __user *)(addr + 2 * PAGE_SIZE), 4 * PAGE_SIZE);
	is_uint(left, 2 * PAGE_SIZE, "R-VMA: fault_in_readable() runs into the hole: 2 pages left");
	is_uint(fault_in_readable((const char __user *)addr, 0), 0,
		"R-VMA: fault_in_readable(size 0): 0");
	is_uint(fault_in_writeable((char __user *)(~0UL - 10), 100), 100,
		"R-VMA: fault_in_writeable() of a wrapping range: all left");
	is_uint(fault_in_readable((const char __user *)(~0UL - 10), 100), 100,
		"R-VMA: fault_in_readable() of a wrapping range: all left");
	/* fault-in touches its range only: the page after it stays unmapped */
	test_mmap_fixed(fresh, 6 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(fault_in_readable((const char __user *)fresh, PAGE_SIZE) == 0 &&
	   test_pt_pfn(current->mm, fresh) != -1UL && test_pt_pfn(current->mm, fresh + PAGE_SIZE) == -1UL,
	   "R-VMA: fault_in_readable() of one page faults that page, not the next");
	ok(fault_in_safe_writeable((const char __user *)(fresh + 2 * PAGE_SIZE), PAGE_SIZE) == 0 &&
	   gt_writable(current->mm, fresh + 2 * PAGE_SIZE) &&
	   test_pt_pfn(current->mm, fresh + 3 * PAGE_SIZE) == -1UL,
	   "R-VMA: fault_in_safe_writeable() of one page faults that page, not the next");
	ok(fault_in_safe_writeable((const char __user *)(fresh + 4 * PAGE_SIZE + 100), 0) == 0 &&
	   test_pt_pfn(current->mm, fresh + 4 * PAGE_SIZE) == -1UL,
	   "R-VMA: fault_in_safe_writeable() of 0 bytes faults nothing");
	gt_teardown("fault-in helpers", &t, 1);
}

static void test_dump_and_touch(void)
{
	const unsigned long far = GT_BASE + PMD_SIZE, thp = GT_BASE + 2 * PMD_SIZE;
	struct page *pages[1] = { GT_POISON };
	struct task_struct *t;
	struct folio *folio;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-dump");
	test_mmap_fixed(GT_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(far, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, PAGE_SIZE);
	r = gt_get(GT_BASE + PAGE_SIZE, 1, FOLL_DUMP, pages);
	is_int(r, -EFAULT, "R-DUMP: FOLL_DUMP on a hole next to a present page is -EFAULT");
	ok(!gt_page(current->mm, GT_BASE + PAGE_SIZE), "R-DUMP: ... and faults nothing in");
	r = gt_get(far, 1, FOLL_DUMP, pages);
	is_int(r, -EFAULT, "R-DUMP: FOLL_DUMP on a hole with no page table is -EFAULT");
	ok(!gt_page(current->mm, far), "R-DUMP: ... and faults nothing in");
	if (do_madvise(current->mm, GT_BASE + 2 * PAGE_SIZE, PAGE_SIZE, MADV_POPULATE_READ))
		bail_out("MADV_POPULATE_READ");
	r = gt_get(GT_BASE + 2 * PAGE_SIZE, 1, FOLL_DUMP, pages);
	is_int(r, -EFAULT, "R-DUMP: FOLL_DUMP on the shared zero page is -EFAULT");

	folio = page_folio(gt_page(current->mm, GT_BASE));
	folio_clear_referenced(folio);
	r = gt_get(GT_BASE, 1, 0, pages);
	ok(r == 1 && folio_test_referenced(folio),
	   "R-TOUCH: get_user_pages() marks the folio it returns referenced");
	if (r == 1)
		put_page(pages[0]);
	if (gt_thp(thp)) {
		folio = page_folio(gt_page(current->mm, thp));
		folio_clear_referenced(folio);
		folio_clear_dirty(folio);
		r = gt_get(thp + PAGE_SIZE, 1, 0, pages);
		ok(r == 1 && folio_test_referenced(folio),
		   "R-TOUCH: get_user_pages() of a PMD-mapped THP marks it referenced");
		ok(!folio_test_dirty(folio), "R-TOUCH: ... and a read lookup does not dirty it");
		if (r == 1)
			put_page(pages[0]);
		r = gt_get(thp + PAGE_SIZE, 1, FOLL_WRITE, pages);
		ok(r == 1 && !folio_test_dirty(folio), "R-TOUCH: a write lookup through a dirty PMD "
		   "leaves the folio alone (the PMD records the write)");
		if (r == 1)
			put_page(pages[0]);
		/* the split leaves the page mapped by a PTE: nothing to fault */
		r = gt_get(thp + 2 * PAGE_SIZE, 1, FOLL_SPLIT_PMD | FOLL_NOFAULT, pages);
		ok(r == 1 && !test_pmd_mapped(current->mm, thp),
		   "FOLL_SPLIT_PMD with FOLL_NOFAULT: the THP is split and its page returned "
		   "without a fault");
		if (r == 1)
			put_page(pages[0]);
	} else {
		skip(4, "no THP");
	}
	gt_teardown("FOLL_DUMP and FOLL_TOUCH", &t, 1);
}

/*
 * A read-only, exclusive PTE in a writable mapping: a child shares the page,
 * the parent's R/O pin unshares it (a copy mapped read-only). Then: a forced
 * write pin must fault it writable; and after mprotect RO -> RW (which maps the
 * clean exclusive page writable as it is) a write lookup must dirty the folio.
 */
static void test_force_write_writable(void)
{
	struct page *pages[1] = { GT_POISON };
	struct task_struct *t[2] = { NULL, NULL };
	struct folio *folio;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("slow-force-w");
	test_mmap_fixed(GT_BASE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (!gt_fill(GT_BASE, 2, 11))
		bail_out("fill");
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("fork");
	pinmm_task_attach(t[0]);
	for (unsigned long a = GT_BASE; a < GT_BASE + 2 * PAGE_SIZE; a += PAGE_SIZE) {
		if (gt_pin(a, 1, 0, pages) != 1)
			bail_out("R/O pin");
		unpin_user_page(pages[0]);
	}
	ok(!gt_writable(current->mm, GT_BASE) && gt_exclusive(gt_page(current->mm, GT_BASE)),
	   "setup: the R/O pin left an exclusive copy mapped read-only");
	r = gt_pin(GT_BASE, 1, FOLL_WRITE | FOLL_FORCE, pages);
	ok(r == 1 && gt_writable(current->mm, GT_BASE),
	   "R-FORCE: a forced write pin in a VM_WRITE mapping faults the read-only PTE writable");
	if (r == 1)
		unpin_user_page(pages[0]);

	folio = page_folio(gt_page(current->mm, GT_BASE + PAGE_SIZE));
	if (do_mprotect(GT_BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ) ||
	    do_mprotect(GT_BASE + PAGE_SIZE, PAGE_SIZE, GT_RW))
		bail_out("mprotect");
	ok(gt_writable(current->mm, GT_BASE + PAGE_SIZE) && !folio_test_dirty(folio),
	   "setup: mprotect RO -> RW mapped the clean exclusive page writable");
	r = gt_get(GT_BASE + PAGE_SIZE, 1, FOLL_WRITE, pages);
	ok(r == 1 && folio_test_dirty(folio),
	   "R-TOUCH: a write lookup through a clean writable PTE marks the folio dirty");
	if (r == 1)
		put_page(pages[0]);
	gt_teardown("forced write in a writable mapping", t, 2);
}

static void test_hwpoison(void)
{
	struct page *pages[1] = { GT_POISON };
	struct task_struct *t;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("slow-hwpoison");
	test_mmap_fixed(GT_BASE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	if (do_madvise(current->mm, GT_BASE, PAGE_SIZE, MADV_POPULATE_READ))
		bail_out("MADV_POPULATE_READ");
	/* the zero page's PTE (no rmap, no rss) becomes a poisoned entry */
	pmd = mm_find_pmd(current->mm, GT_BASE);
	pte = pmd ? pte_offset_map_lock(current->mm, pmd, GT_BASE, &ptl) : NULL;
	if (!pte)
		bail_out("no PTE");
	set_pte(pte, swp_entry_to_pte(swp_entry(SWP_HWPOISON, pinmm_zero_pfn)));
	pte_unmap_unlock(pte, ptl);
	is_int(gt_get(GT_BASE, 1, FOLL_HWPOISON, pages), -EHWPOISON,
	       "R-HWPOISON: get_user_pages(FOLL_HWPOISON) of a poisoned page is -EHWPOISON");
	is_int(gt_get(GT_BASE, 1, 0, pages), -EFAULT,
	       "R-HWPOISON: without FOLL_HWPOISON it is -EFAULT");
	mmap_read_lock(current->mm);
	is_int(fixup_user_fault(current->mm, GT_BASE, 0, NULL), -EFAULT,
	       "R-HWPOISON: fixup_user_fault() of a poisoned page: the fault's error, "
	       "vm_fault_to_errno(), -EFAULT");
	mmap_read_unlock(current->mm);
	gt_teardown("hwpoison", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_pfnmap();
	test_force_write_private();
	test_force_shared_and_prot_none();
	test_fault_in_and_partial();
	test_flags();
	test_fatal_signal();
	test_remote();
	test_fault_in_helpers();
	test_dump_and_touch();
	test_force_write_writable();
	test_hwpoison();
	return done_testing();
}
