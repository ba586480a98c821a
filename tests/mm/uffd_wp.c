// SPDX-License-Identifier: MIT
/*
 * userfaultfd write-protect and pins (Linux: fs/userfaultfd.c,
 * mm/userfaultfd.c mwriteprotect_range(), mm/memory.c do_wp_page() ->
 * handle_userfault(), handle_pte_marker(), copy_present_pte() /
 * copy_nonpresent_pte(), mm/gup.c can_follow_write_pte(); the selftest
 * uffd-unit-tests.c wp-fork-pin / wp-fork-pin-with-event). The rules:
 *  - R-WP-FAULT: a write to a uffd-wp entry goes to the handler, then is
 *    retried; resolving reuses the same exclusive page (no COW);
 *  - R-WP-NOHANDLER: no handler, or a fault that cannot drop mmap_lock:
 *    VM_FAULT_SIGBUS (-EFAULT), nothing written;
 *  - R-WP-GUP: a write pin of a uffd-wp page faults to the handler (with
 *    FOLL_UNLOCKABLE) or fails, never writes through; FOLL_FORCE cannot
 *    follow a uffd-wp entry either;
 *  - R-WP-PIN: a pinned page can be write-protected; it stays the pinned
 *    page, and the CPU's resolved write lands in it;
 *  - R-WP-FORK: the child keeps uffd-wp bits and markers only with
 *    UFFD_FEATURE_EVENT_FORK, also on the pinned page fork copies and on
 *    a THP's PMD (copy_huge_pmd());
 *  - R-WP-MARKER: with UFFD_FEATURE_WP_UNPOPULATED a hole is protected by
 *    a PTE marker; the first write to it reaches the handler; fork copies
 *    the markers of a registered child even from a VMA that never faulted
 *    (no anon_vma: Linux vma_needs_copy() asks userfaultfd_wp() first);
 *  - R-WP-FORK-SHARED: a registered MAP_SHARED (shmem) VMA is copied at fork
 *    (vma_needs_copy()), but as a shared mapping: the parent's PTEs keep
 *    write permission (only COW mappings are write-protected), the child's
 *    copies are clean (the dirty bit is the parent's to account), as
 *    Linux copy_present_pte();
 *  - R-WP-ERRNO: bad ranges and modes as Linux, nothing changed;
 *  - R-WP-SWAP: swap-out keeps the bit on the swap entry and swap-in puts it
 *    back on a read-only PTE (try_to_unmap_one, do_swap_page), so a write
 *    after a swap round trip still reaches the handler; fork copies the
 *    swap entry's bit only to a registered child (copy_nonpresent_pte());
 *  - R-WP-FORK-FAIL: a fork that fails after dup_userfaultfd() duplicated
 *    the context sends no UFFD_EVENT_FORK (Linux dup_mmap() ends in
 *    dup_userfaultfd_fail() on error: the child never existed for the reader).
 */
#include "../gup/helpers.h"

#include <pinmm/task_mmu.h>
#include <pinmm/swap.h>
#include <pinmm/uaccess.h>
#include <pinmm/userfaultfd.h>
#include <pinmm/fault-inject.h>

#define A	GT_BASE
#define B	(GT_BASE + 64 * PMD_SIZE)

struct reader {
	int faults, forks;
	unsigned long last_addr;
	bool resolve;
	struct userfaultfd_ctx *child;
};

static void handler(struct userfaultfd_ctx *ctx, const struct uffd_msg *msg, void *arg)
{
	struct reader *r = arg;

	if (msg->event == UFFD_EVENT_FORK) {
		r->forks++;
		r->child = msg->arg.fork.ctx;
		return;
	}
	r->faults++;
	r->last_addr = msg->arg.pagefault.address;
	if (r->resolve)
		pinmm_uffd_writeprotect(ctx, msg->arg.pagefault.address & PAGE_MASK, PAGE_SIZE, 0);
}

static uint64_t pm(unsigned long addr)
{
	uint64_t e = 0;

	pinmm_pagemap_read(current->mm, addr, 1, &e);
	return e;
}

static bool wp(unsigned long addr)
{
	return pm(addr) & PM_UFFD_WP;
}

static bool cpu_write(unsigned long addr, char c)
{
	return put_user(c, (char __user *)addr) == 0;
}

static struct userfaultfd_ctx *setup(struct reader *r, unsigned long features, unsigned long n)
{
	struct userfaultfd_ctx *ctx;

	test_mmap_fixed(A, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ctx = pinmm_userfaultfd_create(current->mm, features, r ? handler : NULL, r);
	if (!ctx)
		bail_out("userfaultfd");
	if (pinmm_uffd_register(ctx, A, n * PAGE_SIZE, UFFDIO_REGISTER_MODE_WP))
		bail_out("UFFDIO_REGISTER");
	return ctx;
}

static void fault_and_resolve(void)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t;
	struct page *p;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-wp");
	ctx = setup(&r, 0, 4);
	gt_fill(A, 4, 1);
	p = gt_page(current->mm, A + PAGE_SIZE);
	is_int(pinmm_uffd_writeprotect(ctx, A, 4 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), 0,
	       "UFFDIO_WRITEPROTECT the range");
	ok(wp(A) && !gt_writable(current->mm, A), "a protected PTE is read-only and uffd-wp (pagemap bit 57)");
	ok(cpu_write(A + PAGE_SIZE + 8, 'x'), "the CPU write completes ...");
	ok(r.faults == 1 && r.last_addr == A + PAGE_SIZE + 8,
	   "R-WP-FAULT: ... after the handler got the wp fault at that address");
	ok(gt_page(current->mm, A + PAGE_SIZE) == p && gt_writable(current->mm, A + PAGE_SIZE) &&
	   !wp(A + PAGE_SIZE), "R-WP-FAULT: resolved in place: same page, writable, no uffd-wp");
	ok(wp(A + 2 * PAGE_SIZE), "the neighbours stay protected");
	is_int(pinmm_uffd_unregister(ctx, B, PAGE_SIZE), -EINVAL,
	       "R-WP-ERRNO: UFFDIO_UNREGISTER of a range with nothing mapped: -EINVAL");
	is_int(pinmm_uffd_unregister(ctx, A, 4 * PAGE_SIZE), 0, "UFFDIO_UNREGISTER");
	ok(!wp(A + 2 * PAGE_SIZE) && cpu_write(A + 2 * PAGE_SIZE, 'y') && r.faults == 1,
	   "unregistered: the bits are gone, writes need no handler");
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd wp", &t, 1);
}

static void no_handler(void)
{
	struct userfaultfd_ctx *ctx;
	struct task_struct *t;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-nohandler");
	ctx = setup(NULL, 0, 2);
	gt_fill(A, 2, 2);
	pinmm_uffd_writeprotect(ctx, A, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	ok(!cpu_write(A, 'z') && gt_check(A, 2, 2) == 0,
	   "R-WP-NOHANDLER: nobody reads the uffd: the write fails (SIGBUS), nothing written");
	pinmm_userfaultfd_release(ctx);
	ok(!wp(A) && cpu_write(A, 'z'), "close(uffd) unregisters: the bits are gone, writes work");
	gt_teardown("uffd no handler", &t, 1);
}

static void gup_and_force(void)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t;
	struct page *pages[2], *p;
	long before;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-gup");
	ctx = setup(&r, 0, 2);
	gt_fill(A, 2, 3);
	p = gt_page(current->mm, A);
	pinmm_uffd_writeprotect(ctx, A, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	before = gt_acq();
	is_int(gt_pin(A, 1, FOLL_WRITE | FOLL_LONGTERM, pages), -EFAULT,
	       "R-WP-GUP: a write pin with mmap_lock held by the caller cannot wait: -EFAULT");
	ok(r.faults == 0 && gt_acq() == before && wp(A), "... nothing pinned, still protected");
	is_int(pin_user_pages_fast(A, 1, FOLL_WRITE | FOLL_LONGTERM, pages), 1,
	       "R-WP-GUP: pin_user_pages_fast(FOLL_WRITE) of a uffd-wp page succeeds ...");
	ok(r.faults == 1 && pages[0] == p && !wp(A),
	   "... through the handler (handle_userfault), same page, resolved first");
	unpin_user_pages(pages, 1);
	is_int(do_mprotect(A, 2 * PAGE_SIZE, PROT_READ), 0, "mprotect R/O (the pages stay exclusive)");
	r.resolve = false;
	is_int(gt_get(A + PAGE_SIZE, 1, FOLL_FORCE | FOLL_WRITE, pages), -EFAULT,
	       "R-WP-GUP: FOLL_FORCE cannot write through a uffd-wp entry (can_follow_write_pte)");
	ok(wp(A + PAGE_SIZE) && gt_check(A + PAGE_SIZE, 1, 3) == 0, "... the page is untouched");
	{
		/* the same through /proc/PID/mem's path, access_process_vm() */
		unsigned long v = 0x5151;

		ok(access_process_vm(t, A + PAGE_SIZE, &v, sizeof(v), FOLL_FORCE | FOLL_WRITE) !=
		   sizeof(v) && wp(A + PAGE_SIZE) && gt_check(A + PAGE_SIZE, 1, 3) == 0,
		   "R-WP-GUP: a forced write through access_process_vm() does not land either");
		ok(!wp(A) &&
		   access_process_vm(t, A, &v, sizeof(v), FOLL_FORCE | FOLL_WRITE) == sizeof(v),
		   "R-WP-GUP: ... while one into the registered VMA's unprotected page does");
	}
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd gup", &t, 1);
}

static void pinned_page(void)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t;
	struct page *pages[2];

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-pin");
	ctx = setup(&r, 0, 2);
	gt_fill(A, 2, 4);
	is_int(gt_pin(A, 2, FOLL_WRITE | FOLL_LONGTERM, pages), 2, "pin two pages R/W long-term");
	is_int(pinmm_uffd_writeprotect(ctx, A, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), 0,
	       "R-WP-PIN: a pinned page can be write-protected");
	ok(wp(A) && !gt_writable(current->mm, A) && gt_page(current->mm, A) == pages[0],
	   "R-WP-PIN: read-only, uffd-wp, still the pinned page");
	gt_page_write(pages[0], A, 5);
	is_uint(gt_check(A, 1, 5), 0, "R-WP-PIN: the device's writes still show to the CPU");
	gt_fill(A, 1, 6);
	ok(r.faults == 1 && gt_page_holds(pages[0], A, 6) && gt_page(current->mm, A) == pages[0],
	   "R-WP-PIN: the CPU write went through the handler into the pinned page (no COW)");
	unpin_user_pages(pages, 2);
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd pin", &t, 1);
}

/* The uffd-unit-tests wp-fork-pin rows: pinned + protected, then fork. */
static void fork_rows(bool event)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t, *child = NULL;
	struct page *pages[1];
	const char *k = event ? "with EVENT_FORK" : "without EVENT_FORK";
	char name[64];

	snprintf(name, sizeof(name), "fork %s", k);
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-fork");
	ctx = setup(&r, (event ? UFFD_FEATURE_EVENT_FORK : 0) | UFFD_FEATURE_WP_UNPOPULATED, 4);
	gt_fill(A, 2, 7);	/* pages 2 and 3 stay holes */
	is_int(gt_pin(A, 1, FOLL_LONGTERM, pages), 1, "%s: pin page 0 R/O long-term", k);
	pinmm_uffd_writeprotect(ctx, A, 4 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	ok(wp(A + 3 * PAGE_SIZE), "R-WP-MARKER %s: a hole reads uffd-wp (PTE marker)", k);
	is_int(pinmm_fork(t, "child", &child), 0, "%s: fork", k);
	pinmm_task_attach(t);
	is_int(r.forks, event ? 1 : 0, "%s: the reader got %s UFFD_EVENT_FORK", k, event ? "one" : "no");
	pinmm_task_attach(child);
	ok(gt_page(current->mm, A) != pages[0], "%s: the pinned page was copied for the child", k);
	is_int(wp(A), event, "R-WP-FORK %s: the child's copy of the pinned page %s uffd-wp", k,
	       event ? "keeps" : "drops");
	is_int(wp(A + PAGE_SIZE), event, "R-WP-FORK %s: the child's shared page %s uffd-wp", k,
	       event ? "keeps" : "drops");
	is_int(wp(A + 3 * PAGE_SIZE), event, "R-WP-FORK %s: the child %s the marker", k,
	       event ? "keeps" : "drops");
	r.faults = 0;
	ok(cpu_write(A + PAGE_SIZE, 'c') && cpu_write(A + 3 * PAGE_SIZE, 'd'),
	   "%s: the child's writes complete", k);
	is_int(r.faults, event ? 2 : 0, "%s: %s", k,
	       event ? "each went to the reader of the child's context (page and marker)"
		     : "no reader involved: the child is not registered");
	pinmm_task_attach(t);
	ok(wp(A) && wp(A + PAGE_SIZE) && wp(A + 3 * PAGE_SIZE) && gt_page(current->mm, A) == pages[0],
	   "%s: the parent is still protected, its pinned page still mapped", k);
	unpin_user_pages(pages, 1);
	if (r.child)
		pinmm_userfaultfd_release(r.child);
	pinmm_userfaultfd_release(ctx);
	{
		struct task_struct *ts[2] = { t, child };

		gt_teardown(name, ts, 2);
	}
}

/* R-WP-FORK on a PMD-mapped THP: the child's PMD keeps the bit only with EVENT_FORK. */
static void fork_thp(bool event)
{
	const char *k = event ? "with EVENT_FORK" : "without EVENT_FORK";
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t, *child = NULL;
	char name[64];

	snprintf(name, sizeof(name), "fork thp %s", k);
	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-fork-thp");
	if (!gt_thp(A)) {
		skip(2, "no THP");
		gt_teardown(name, &t, 1);
		return;
	}
	ctx = pinmm_userfaultfd_create(current->mm, event ? UFFD_FEATURE_EVENT_FORK : 0, handler, &r);
	if (!ctx || pinmm_uffd_register(ctx, A, PMD_SIZE, UFFDIO_REGISTER_MODE_WP) ||
	    pinmm_uffd_writeprotect(ctx, A, PMD_SIZE, UFFDIO_WRITEPROTECT_MODE_WP))
		bail_out("fork thp: protect");
	is_int(pinmm_fork(t, "child", &child), 0, "THP %s: fork", k);
	pinmm_task_attach(child);
	ok(test_pmd_mapped(current->mm, A) && wp(A) == event,
	   "R-WP-FORK THP %s: the child's PMD %s uffd-wp (copy_huge_pmd)", k,
	   event ? "keeps" : "drops");
	pinmm_task_attach(t);
	ok(test_pmd_mapped(current->mm, A) && wp(A), "THP %s: the parent's PMD is still uffd-wp", k);
	if (r.child)
		pinmm_userfaultfd_release(r.child);
	pinmm_userfaultfd_release(ctx);
	{
		struct task_struct *ts[2] = { t, child };

		gt_teardown(name, ts, 2);
	}
}

/* A PMD-mapped THP: protected whole, a write faults to the reader (the PMD's check). */
static void thp_pmd(void)
{
	static struct page *pages[HPAGE_PMD_NR];
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t;
	struct folio *folio;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-thp");
	if (!gt_thp(A)) {
		skip(5, "no THP");
		gt_teardown("uffd thp", &t, 1);
		return;
	}
	folio = page_folio(gt_page(current->mm, A));
	is_int(gt_pin(A, HPAGE_PMD_NR, FOLL_WRITE | FOLL_LONGTERM, pages), HPAGE_PMD_NR,
	       "pin the THP R/W long-term");
	ctx = pinmm_userfaultfd_create(current->mm, 0, handler, &r);
	pinmm_uffd_register(ctx, A, PMD_SIZE, UFFDIO_REGISTER_MODE_WP);
	is_int(pinmm_uffd_writeprotect(ctx, A, PMD_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), 0,
	       "protect the whole THP");
	ok(test_pmd_mapped(current->mm, A) && wp(A) && !gt_writable(current->mm, A),
	   "R-WP-PIN: still one PMD, uffd-wp, read-only (the pinned THP is not split or copied)");
	ok(cpu_write(A + 3 * PAGE_SIZE, 't') && r.faults == 1,
	   "R-WP-FAULT: a write to the protected PMD reached the reader (userfaultfd_huge_pmd_wp)");
	ok(gt_page(current->mm, A + 3 * PAGE_SIZE) == pages[3] && folio_test_large(folio) &&
	   gt_writable(current->mm, A + 3 * PAGE_SIZE) && wp(A + 4 * PAGE_SIZE),
	   "resolving one page split the PMD: that page writable in place, the rest protected");
	gt_fill(A + 3 * PAGE_SIZE, 1, 12);
	is_uint(gt_pages_bad(pages + 3, 1, A + 3 * PAGE_SIZE, 12), 0,
		"R-WP-PIN: the CPU's write landed in the pinned subpage");
	unpin_user_pages(pages, HPAGE_PMD_NR);
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd thp", &t, 1);
}

static void marker_write(void)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-marker");
	ctx = setup(&r, UFFD_FEATURE_WP_UNPOPULATED, 2);
	pinmm_uffd_writeprotect(ctx, A, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	ok(wp(A) && !(pm(A) & PM_PRESENT) && (pm(A) & PM_SWAP),
	   "R-WP-MARKER: an untouched page is a uffd-wp marker (pagemap: a swap-type entry, bit 57)");
	{
		char c = 1;

		ok(get_user(c, (char __user *)(A + PAGE_SIZE)) == 0 && c == 0 &&
		   (pm(A + PAGE_SIZE) & PM_PRESENT) && wp(A + PAGE_SIZE) && r.faults == 0,
		   "R-WP-MARKER: a read of a marker maps the zero page, still uffd-wp, no fault to the reader");
	}
	ok(cpu_write(A + 5, 'm') && r.faults == 1,
	   "R-WP-MARKER: the first write to it reaches the handler, then completes");
	ok((pm(A) & PM_PRESENT) && !wp(A) && gt_writable(current->mm, A), "... a writable page now");
	pinmm_userfaultfd_release(ctx);
	ok(!wp(A + PAGE_SIZE), "release removed the other marker");
	r.faults = 0;
	ctx = setup(&r, 0, 2);
	pinmm_uffd_writeprotect(ctx, A + PAGE_SIZE, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	ok(!wp(A + PAGE_SIZE) && cpu_write(A + PAGE_SIZE, 'n') && r.faults == 0,
	   "without UFFD_FEATURE_WP_UNPOPULATED a hole is not protected (no marker)");
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd marker", &t, 1);
}

/*
 * R-WP-MARKER at fork: a VMA protected before any page was touched holds only
 * markers and has no anon_vma, which alone would let fork skip the copy
 * (faults fill the child); a child registered by EVENT_FORK must get the
 * markers all the same, and its first write must reach its reader.
 */
static void fork_markers_only(void)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t, *child = NULL;
	bool no_anon_vma;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-fork-markers");
	ctx = setup(&r, UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_WP_UNPOPULATED, 2);
	pinmm_uffd_writeprotect(ctx, A, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	mmap_read_lock(current->mm);
	no_anon_vma = !find_vma(current->mm, A)->anon_vma;
	mmap_read_unlock(current->mm);
	ok(wp(A) && wp(A + PAGE_SIZE) && no_anon_vma,
	   "markers only: two markers, and the VMA has no anon_vma (nothing faulted)");
	is_int(pinmm_fork(t, "child", &child), 0, "markers only: fork");
	pinmm_task_attach(child);
	ok(r.child && wp(A) && wp(A + PAGE_SIZE),
	   "R-WP-MARKER: the registered child has the markers (vma_needs_copy: uffd-wp first)");
	r.faults = 0;
	ok(cpu_write(A + 8, 'k') && r.faults == 1,
	   "R-WP-MARKER: the child's first write reaches its reader");
	pinmm_task_attach(t);
	ok(wp(A) && wp(A + PAGE_SIZE), "markers only: the parent keeps its markers");
	if (r.child)
		pinmm_userfaultfd_release(r.child);
	pinmm_userfaultfd_release(ctx);
	{
		struct task_struct *ts[2] = { t, child };

		gt_teardown("uffd fork markers", ts, 2);
	}
}

/* R-WP-FORK-SHARED: fork copies a registered shmem VMA's PTEs as shared ones. */
static void fork_shared_shmem(void)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t, *child = NULL;
	unsigned long pte;
	long faults;
	bool leaf;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-fork-shmem");
	test_mmap_fixed(A, 2 * PAGE_SIZE, GT_RW, MAP_SHARED);
	ctx = pinmm_userfaultfd_create(current->mm, UFFD_FEATURE_EVENT_FORK, handler, &r);
	if (!ctx || pinmm_uffd_register(ctx, A, 2 * PAGE_SIZE, UFFDIO_REGISTER_MODE_WP))
		bail_out("shmem: UFFDIO_REGISTER");
	ok(cpu_write(A, 'p') && cpu_write(A + PAGE_SIZE, 'q'), "shmem: the parent writes both pages");
	is_int(pinmm_fork(t, "child", &child), 0, "shmem: fork");
	pinmm_task_attach(t);
	pte = test_pt_entry(current->mm, A, &leaf);
	ok(gt_writable(current->mm, A) && (pte & _PAGE_DIRTY),
	   "R-WP-FORK-SHARED: the parent's shared PTE stays writable and dirty (not a COW mapping)");
	faults = gt_ev(PGFAULT);
	ok(cpu_write(A + 1, 'r') && gt_ev(PGFAULT) == faults,
	   "R-WP-FORK-SHARED: the parent's next write takes no fault");
	pinmm_task_attach(child);
	pte = test_pt_entry(current->mm, A + PAGE_SIZE, &leaf);
	ok(r.child && (pte & _PAGE_PRESENT) && !(pte & _PAGE_DIRTY) &&
	   gt_page(current->mm, A + PAGE_SIZE) == gt_page(t->mm, A + PAGE_SIZE),
	   "R-WP-FORK-SHARED: the child maps the same page by a clean PTE");
	ok(cpu_write(A + PAGE_SIZE + 1, 's') && r.faults == 0, "shmem: the child writes, no wp fault");
	pinmm_task_attach(t);
	{
		char c = 0;

		ok(get_user(c, (char __user *)(A + PAGE_SIZE + 1)) == 0 && c == 's',
		   "shmem: the parent sees the child's write (one shared page)");
	}
	if (r.child)
		pinmm_userfaultfd_release(r.child);
	pinmm_userfaultfd_release(ctx);
	{
		struct task_struct *ts[2] = { t, child };

		gt_teardown("uffd fork shmem", ts, 2);
	}
}

static void bad_input_and_mremap(void)
{
	struct reader r = { 0 };
	struct userfaultfd_ctx *ctx, *other;
	struct task_struct *t;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-bad");
	ok(!pinmm_userfaultfd_create(current->mm, 1UL << 30, handler, &r),
	   "R-WP-ERRNO: UFFDIO_API with an unknown feature is refused");
	ctx = setup(&r, 0, 2);
	other = pinmm_userfaultfd_create(current->mm, 0, handler, &r);
	is_int(pinmm_uffd_register(other, A, PAGE_SIZE, UFFDIO_REGISTER_MODE_WP), -EBUSY,
	       "R-WP-ERRNO: a range another uffd registered: -EBUSY");
	is_int(pinmm_uffd_register(other, A + 1, PAGE_SIZE, UFFDIO_REGISTER_MODE_WP), -EINVAL,
	       "R-WP-ERRNO: misaligned start: -EINVAL");
	is_int(pinmm_uffd_register(other, B, PAGE_SIZE, UFFDIO_REGISTER_MODE_WP), -EINVAL,
	       "R-WP-ERRNO: nothing mapped: -EINVAL");
	is_int(pinmm_uffd_register(other, A, PAGE_SIZE, UFFDIO_REGISTER_MODE_MISSING), -EINVAL,
	       "R-WP-ERRNO: MODE_MISSING is not modelled: -EINVAL");
	is_int(pinmm_uffd_writeprotect(other, A, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP), -ENOENT,
	       "R-WP-ERRNO: write-protecting a range not registered with this uffd: -ENOENT");
	is_int(pinmm_uffd_writeprotect(ctx, A, PAGE_SIZE,
				       UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE),
	       -EINVAL, "R-WP-ERRNO: MODE_WP with MODE_DONTWAKE: -EINVAL");
	pinmm_userfaultfd_release(other);
	gt_fill(A, 2, 8);
	pinmm_uffd_writeprotect(ctx, A, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	is_int((long)vm_mremap(A, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, B),
	       (long)B, "mremap the protected pages");
	ok(!wp(B) && cpu_write(B, 'r') && r.faults == 0,
	   "mremap without UFFD_FEATURE_EVENT_REMAP: the bits are dropped, the new VMA unregistered");
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd bad input", &t, 1);
}

static void swap_round_trip(void)
{
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t;
	unsigned long v = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) < 0)
		bail_out("swapon");
	t = test_process("uffd-swap");
	ctx = setup(&r, 0, 2);
	gt_fill(A, 2, 4);
	pinmm_uffd_writeprotect(ctx, A, 2 * PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	is_int(do_madvise(current->mm, A, 2 * PAGE_SIZE, MADV_PAGEOUT), 0, "MADV_PAGEOUT of the protected range");
	ok((pm(A) & PM_SWAP) && wp(A), "R-WP-SWAP: the swap entry carries uffd-wp (pagemap bits 62 and 57)");
	ok(get_user(v, (unsigned long __user *)A) == 0 && v == gt_word(4, A, 0) &&
	   (pm(A) & PM_PRESENT) && wp(A) && !gt_writable(current->mm, A),
	   "R-WP-SWAP: a read swaps in the data, read-only and still uffd-wp");
	ok(cpu_write(A + 8, 'q') && r.faults == 1 && r.last_addr == A + 8,
	   "R-WP-SWAP: the write after swap-in reaches the handler first");
	ok(cpu_write(A + PAGE_SIZE, 'q') && r.faults == 2,
	   "R-WP-SWAP: so does a write fault that swaps in (the entry was exclusive)");
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd swap", &t, 1);
}

/* R-WP-SWAP and R-WP-FORK: a protected page in swap, forked: the child's entry has the bit iff registered. */
static void swap_fork(bool event)
{
	const char *k = event ? "with EVENT_FORK" : "without EVENT_FORK";
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t, *child = NULL;
	char name[64];

	snprintf(name, sizeof(name), "uffd swap fork %s", k);
	test_boot(TEST_MEM_MB, 0, 0);
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) < 0)
		bail_out("swapon");
	t = test_process("uffd-swap-fork");
	ctx = setup(&r, event ? UFFD_FEATURE_EVENT_FORK : 0, 1);
	gt_fill(A, 1, 9);
	pinmm_uffd_writeprotect(ctx, A, PAGE_SIZE, UFFDIO_WRITEPROTECT_MODE_WP);
	is_int(do_madvise(current->mm, A, PAGE_SIZE, MADV_PAGEOUT), 0, "swap fork %s: MADV_PAGEOUT", k);
	ok((pm(A) & PM_SWAP) && wp(A), "swap fork %s: a uffd-wp swap entry", k);
	is_int(pinmm_fork(t, "child", &child), 0, "swap fork %s: fork", k);
	pinmm_task_attach(child);
	ok((pm(A) & PM_SWAP) && wp(A) == event,
	   "R-WP-FORK %s: the child's swap entry %s uffd-wp", k, event ? "keeps" : "drops");
	r.faults = 0;
	ok(cpu_write(A + 8, 'w') && r.faults == (event ? 1 : 0),
	   "swap fork %s: the child's write %s", k,
	   event ? "reaches the reader of the child's context" : "needs no reader");
	pinmm_task_attach(t);
	ok(wp(A), "swap fork %s: the parent's entry keeps uffd-wp", k);
	if (r.child)
		pinmm_userfaultfd_release(r.child);
	pinmm_userfaultfd_release(ctx);
	{
		struct task_struct *ts[2] = { t, child };

		gt_teardown(name, ts, 2);
	}
}

/*
 * R-WP-FORK-FAIL: fail the fork at each page-table allocation in turn; the
 * registered VMA comes first, a second VMA after it, so some failures come
 * after its context was duplicated (the second VMA's tables). Page tables
 * only: a task allocation failing after dup_mm() fails the fork once the
 * event is sent, as in Linux (copy_process() failing after copy_mm()).
 */
static void fork_fails_no_event(void)
{
	const enum pinmm_fail_site site = PINMM_FAIL_PAGE_TABLE;
	struct reader r = { .resolve = true };
	struct userfaultfd_ctx *ctx;
	struct task_struct *t, *child;
	unsigned long n, failed = 0, events = 0;
	bool reached = true;
	int err = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("uffd-fork-fail");
	ctx = setup(&r, UFFD_FEATURE_EVENT_FORK, 2);
	gt_fill(A, 2, 5);
	test_mmap_fixed(B, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(B, 2, 6);
	for (n = 1; n < 1000 && reached; n++) {
		unsigned long f0 = pinmm_fail_failures(site);

		r.forks = 0;
		r.child = NULL;
		child = NULL;
		pinmm_fail_nth(site, n, 0);
		err = pinmm_fork(t, "child", &child);
		pinmm_fail_nth(site, 0, 0);
		pinmm_task_attach(t);
		reached = pinmm_fail_failures(site) != f0;
		/* the reader owns a child context it was sent */
		if (r.child)
			pinmm_userfaultfd_release(r.child);
		if (err) {
			failed++;
			events += r.forks;
			continue;
		}
		/* through (the nth attempt not reached, or a failure got around) */
		pinmm_task_attach(child);
		pinmm_task_exit(child);
		pinmm_task_attach(t);
	}
	ok(!err && r.forks == 1, "once the fork gets through, the reader gets one UFFD_EVENT_FORK");
	ok(failed >= 2, "the sweeps failed %lu forks, some after the registered VMA's copy", failed);
	is_uint(events, 0, "R-WP-FORK-FAIL: no failed fork sent UFFD_EVENT_FORK "
		"(dup_mmap() -> dup_userfaultfd_fail())");
	ok(gt_check(A, 2, 5) == 0 && gt_check(B, 2, 6) == 0, "the parent's data is intact");
	pinmm_userfaultfd_release(ctx);
	gt_teardown("uffd fork fail", &t, 1);
}

int main(void)
{
	plan_no_plan();
	fault_and_resolve();
	no_handler();
	gup_and_force();
	pinned_page();
	fork_rows(false);
	fork_rows(true);
	fork_thp(false);
	fork_thp(true);
	fork_fails_no_event();
	marker_write();
	fork_markers_only();
	fork_shared_shmem();
	thp_pmd();
	bad_input_and_mremap();
	swap_round_trip();
	swap_fork(false);
	swap_fork(true);
	return done_testing();
}
