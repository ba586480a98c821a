// SPDX-License-Identifier: MIT
/*
 * hugetlb (Linux mm/hugetlb.c): the pool and its counters
 * (set_max_huge_pages, the HugePages_* lines of /proc/meminfo), MAP_HUGETLB
 * mappings and their reservations (hugetlb_reserve_pages: -ENOMEM when the
 * pool cannot back them), faults mapping PMD leaves (hugetlb_no_page), COW
 * of the whole 2 MiB (hugetlb_wp; a child's COW with the pool empty is
 * SIGBUS, the shared page left as it was; a fault whose page table cannot
 * be allocated is VM_FAULT_OOM, -ENOMEM for GUP, and nothing is mapped; a
 * read fault on a present old leaf marks it young, nothing else), fork
 * (a maybe-pinned page with the pool empty: -ENOMEM; each VMA copies its own
 * leaves only, also with another hugetlb VMA right after it, and skips its
 * holes, also one with no page table at all; a fork whose page table cannot
 * be allocated fails with -ENOMEM, the parent intact; fork meeting a leaf
 * frozen for migration makes the entry readable on both sides, and COW
 * holds once it lands; a copy of a pinned page that fails fails the fork,
 * even if a later one could be made; the write-protect of the parent's
 * leaves is one notifier range, begun and ended; a long-term pin's
 * migration keeps a written page's leaf dirty and writable),
 * fork (copy_hugetlb_page_range: shared
 * read-only, a maybe-pinned page copied for the child), unshare for R/O
 * pins (FAULT_FLAG_UNSHARE in hugetlb_wp), mprotect, munmap and exit giving
 * pages back to the pool (free_huge_folio), and bad input (a split inside a
 * huge page: hugetlb_vm_op_split -EINVAL; unknown huge page size -EINVAL;
 * 1 GiB pages are tests/mm/hugetlb_gigantic.c).
 */
#include "pt_helpers.h"
#include "notifier_helpers.h"

#include <pinmm/gup.h>
#include <pinmm/hugetlb.h>
#include <pinmm/uaccess.h>
#include <pinmm/fault-inject.h>
#include <pinmm/race.h>

#include <pthread.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HB	PT_BASE
#define HFLAGS	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)

static struct hugetlb_counts hc(void)
{
	struct hugetlb_counts c;

	hugetlb_read_counts(&c);
	return c;
}

static unsigned long hmap(unsigned long addr, unsigned long len, unsigned long flags)
{
	return vm_mmap(NULL, addr, len, PT_RW, flags | MAP_FIXED, 0);
}

static bool leaf_at(struct mm_struct *mm, unsigned long addr, bool *writable)
{
	bool leaf;
	unsigned long v = test_pt_entry(mm, addr, &leaf);

	*writable = v & _PAGE_RW;
	return leaf && (v & _PAGE_PRESENT);
}

/* Empty the pool and check the usual teardown. */
static void hteardown(const char *name, struct task_struct **tasks, int n)
{
	pinmm_task_detach();
	for (int i = 0; i < n; i++)
		if (tasks[i])
			pinmm_task_exit(tasks[i]);
	rcu_barrier();
	is_uint(hc().resv, 0, "%s: teardown: no reservation left (HugePages_Rsvd 0)", name);
	is_uint(hc().free, hc().nr, "%s: teardown: every huge page is free again", name);
	is_uint(pinmm_hugetlb_set_nr_hugepages(0), 0, "%s: teardown: the pool empties", name);
	is_uint(pinmm_frames_in_use(), 1, "%s: teardown: only the zero page is still allocated", name);
	test_shutdown_ok(name);
}

static void pool_accounting(void)
{
	unsigned long used0, got;
	struct hugetlb_counts c;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	pt_boot();
	used0 = pinmm_frames_in_use();
	is_uint(pinmm_hugetlb_set_nr_hugepages(4), 4, "pool: set_max_huge_pages(4) gives 4");
	c = hc();
	ok(c.nr == 4 && c.free == 4 && c.resv == 0 && c.surplus == 0,
	   "pool: HugePages_Total 4, Free 4, Rsvd 0, Surp 0");
	is_uint(pinmm_frames_in_use() - used0, 4 * HUGETLB_NR_PAGES,
		"pool: the pool's frames left the buddy allocator (2048 frames)");
	ok(c.nr_zone[ZONE_MOVABLE] == 4,
	   "pool: 2 MiB pages migrate, so the pool fills ZONE_MOVABLE first (htlb_alloc_mask)");
	f = open_memstream(&text, &len);
	pinmm_print_meminfo(f);
	fclose(f);
	ok(strstr(text, "HugePages_Total:       4\n") && strstr(text, "HugePages_Free:        4\n") &&
	   strstr(text, "Hugepagesize:       2048 kB\n") && strstr(text, "Hugetlb:            8192 kB\n"),
	   "pool: /proc/meminfo shows HugePages_Total/Free, Hugepagesize and Hugetlb");
	free(text);

	is_uint(pinmm_hugetlb_set_nr_hugepages(1), 1, "pool: shrinking to 1 frees 3 free pages");
	is_uint(pinmm_frames_in_use() - used0, HUGETLB_NR_PAGES, "pool: their frames are back");

	/* nr_hugepages beyond memory: Linux takes what it can and says so */
	got = pinmm_hugetlb_set_nr_hugepages(100000);
	c = hc();
	ok(got > 1 && got < 64 && c.nr == got && c.free == got,
	   "pool: nr_hugepages beyond memory takes what fits (%lu of 100000)", got);
	ok(c.nr_zone[ZONE_NORMAL] > 0 && c.nr_zone[ZONE_MOVABLE] > 0,
	   "pool: and spills from ZONE_MOVABLE into ZONE_NORMAL");
	is_uint(pinmm_hugetlb_set_nr_hugepages(0), 0, "pool: back to 0");
	is_uint(pinmm_frames_in_use(), used0, "pool: every frame of the pool is back in the buddy allocator");
	test_shutdown_ok("pool_accounting");
}

static void fault_map_and_free(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct folio *folio;
	bool w, zero = true;
	unsigned long pfn;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("hugetlb");
	mm = t->mm;
	is_uint(hmap(HB, 2 * HPAGE_SIZE, HFLAGS), HB, "fault: MAP_HUGETLB maps 4 MiB");
	ok(pt_vma(mm, HB) && (pt_vma(mm, HB)->vm_flags & VM_HUGETLB),
	   "fault: the VMA is VM_HUGETLB (no longer silently ordinary memory)");
	is_uint(hc().resv, 2, "fault: mmap reserved both huge pages (hugetlb_reserve_pages)");
	is_uint(hc().free, 4, "fault: nothing is taken from the pool before a fault");

	is_int(pt_put(HB + 5 * PAGE_SIZE, 0xabc), 0, "fault: a write faults");
	ok(leaf_at(mm, HB, &w) && w, "fault: a PMD leaf maps it, writable (hugetlb_no_page)");
	folio = pt_folio(mm, HB);
	ok(folio && folio_test_hugetlb(folio) && folio_order(folio) == HUGETLB_PAGE_ORDER,
	   "fault: an order-9 folio of type PGTY_hugetlb (folio_test_hugetlb)");
	ok(PageAnonExclusive(&folio->page) && folio_mapcount(folio) == 1 &&
	   folio_ref_count(folio) == 1, "fault: anon-exclusive, mapped once, one reference");
	ok(hc().resv == 1 && hc().free == 3, "fault: it consumed one reservation (Rsvd 1, Free 3)");
	is_uint(pt_get(HB + 5 * PAGE_SIZE), 0xabc, "fault: the write reads back");
	for (unsigned long i = 0; i < HUGETLB_NR_PAGES; i += 37)
		if (i != 5 && pt_get(HB + i * PAGE_SIZE) != 0)
			zero = false;
	ok(zero, "fault: the rest of the huge page is zeroed");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), 0,
	       "fault: hugetlb pages are not AnonPages (HugePages_* count them)");

	is_uint(pt_get(HB + HPAGE_SIZE), 0, "fault: a read fault on the second huge page");
	ok(leaf_at(mm, HB + HPAGE_SIZE, &w) && !w,
	   "fault: a private read fault maps the leaf read-only");
	pfn = test_pt_pfn(mm, HB + HPAGE_SIZE);
	pt_put(HB + HPAGE_SIZE, 7);
	ok(test_pt_pfn(mm, HB + HPAGE_SIZE) == pfn && leaf_at(mm, HB + HPAGE_SIZE, &w) && w,
	   "fault: the write reuses the exclusive page in place (hugetlb_wp)");
	ok(hc().resv == 0 && hc().free == 2, "fault: both reservations consumed");

	is_int(vm_munmap(HB, HPAGE_SIZE), 0, "fault: munmap of the first huge page");
	ok(hc().free == 3 && hc().nr == 4, "fault: its page went back to the pool (free_huge_folio)");
	is_int(do_mprotect(HB + HPAGE_SIZE, HPAGE_SIZE, PROT_READ), 0, "fault: mprotect(PROT_READ)");
	ok(leaf_at(mm, HB + HPAGE_SIZE, &w) && !w, "fault: the leaf is read-only now");
	is_int(pt_put(HB + HPAGE_SIZE, 8), -EFAULT, "fault: a write is refused");
	is_int(do_mprotect(HB + HPAGE_SIZE, HPAGE_SIZE, PT_RW), 0, "fault: mprotect back to RW");
	pt_put(HB + HPAGE_SIZE, 9);
	ok(test_pt_pfn(mm, HB + HPAGE_SIZE) == pfn && pt_get(HB + HPAGE_SIZE) == 9,
	   "fault: the write after mprotect reuses the same page");
	hteardown("fault_map_and_free", &t, 1);
}

static void bad_input(void)
{
	struct task_struct *t;
	unsigned long used, r;
	bool w;

	pt_boot();
	t = test_process("bad");
	used = pinmm_frames_in_use();
	is_int((long)hmap(HB, HPAGE_SIZE, HFLAGS), -ENOMEM,
	       "bad: an empty pool fails mmap with -ENOMEM (hugetlb_acct_memory)");
	ok(!pt_vma(t->mm, HB), "bad: and leaves no VMA");
	is_uint(pinmm_frames_in_use(), used, "bad: and no frame allocated");

	pinmm_hugetlb_set_nr_hugepages(1);
	is_int((long)hmap(HB, 2 * HPAGE_SIZE, HFLAGS), -ENOMEM,
	       "bad: 4 MiB from a pool of one huge page: -ENOMEM, nothing reserved");
	is_uint(hc().resv, 0, "bad: HugePages_Rsvd stays 0 after the refusal");
	is_int((long)hmap(HB + PAGE_SIZE, HPAGE_SIZE, HFLAGS), -EINVAL,
	       "bad: MAP_FIXED at an address not 2 MiB aligned is -EINVAL");
	is_int((long)vm_mmap(NULL, HB, HPAGE_SIZE, PT_RW, HFLAGS | MAP_FIXED | (34UL << MAP_HUGE_SHIFT), 0),
	       -EINVAL, "bad: MAP_HUGE_16GB, a size with no hstate, is -EINVAL (hstate_sizelog)");

	r = hmap(HB, PAGE_SIZE, HFLAGS);
	is_uint(r, HB, "bad: a 4 KiB MAP_HUGETLB length is rounded up to 2 MiB (ksys_mmap_pgoff)");
	ok(pt_vma(t->mm, HB) && pt_vma(t->mm, HB)->vm_end == HB + HPAGE_SIZE,
	   "bad: the VMA spans the whole huge page");
	is_int(vm_munmap(HB + PAGE_SIZE, PAGE_SIZE), -EINVAL,
	       "bad: munmap of 4 KiB inside a huge page is -EINVAL (hugetlb_vm_op_split)");
	is_int(do_mprotect(HB, PAGE_SIZE, PROT_READ), -EINVAL,
	       "bad: mprotect of 4 KiB of a huge page is -EINVAL");
	pt_put(HB, 1);
	ok(leaf_at(t->mm, HB, &w) && w && pt_get(HB) == 1, "bad: the mapping is unharmed");
	is_int(vm_munmap(HB, HPAGE_SIZE), 0, "bad: munmap of the whole huge page");

	/* MAP_NORESERVE: mmap succeeds, the fault finds no page: SIGBUS */
	pinmm_hugetlb_set_nr_hugepages(0);
	is_uint(hmap(HB, HPAGE_SIZE, HFLAGS | MAP_NORESERVE), HB,
		"bad: MAP_NORESERVE maps even with an empty pool");
	is_int(pt_put(HB, 1), -EFAULT, "bad: and the fault fails (SIGBUS: -EFAULT to uaccess)");
	hteardown("bad_input", &t, 1);
}

/* cow.c "hugetlb" rows: fork shares, a write copies 2 MiB, the other keeps its data. */
static void cow_after_fork(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	unsigned long pfn, copies0, reuse0;
	struct folio *folio;
	bool w, cw;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(3);
	t = test_process("parent");
	mm = t->mm;
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB + 9 * PAGE_SIZE, 100);
	pfn = test_pt_pfn(mm, HB);
	is_int(pinmm_fork(t, "child", &child), 0, "cow: fork succeeds");
	cmm = child->mm;
	folio = pfn_folio(pfn);
	ok(test_pt_pfn(cmm, HB) == pfn && leaf_at(mm, HB, &w) && !w && leaf_at(cmm, HB, &cw) && !cw,
	   "cow: the child maps the same huge page, both read-only (copy_hugetlb_page_range)");
	ok(!PageAnonExclusive(&folio->page) && folio_mapcount(folio) == 2 &&
	   folio_ref_count(folio) == 2, "cow: shared: not exclusive, mapcount 2, refcount 2");
	is_uint(hc().resv, 0, "cow: the child owns no reservation (HPAGE_RESV_OWNER stays)");

	copies0 = ev(COW_FAULT);
	pt_put(HB + 9 * PAGE_SIZE, 200);
	ok(test_pt_pfn(mm, HB) != pfn && leaf_at(mm, HB, &w) && w,
	   "cow: the parent's write copies the whole huge page (hugetlb_wp)");
	is_uint(ev(COW_FAULT) - copies0, 1, "cow: one COW copy");
	is_uint(pt_get(HB + 9 * PAGE_SIZE), 200, "cow: the parent sees its write");
	pinmm_task_attach(child);
	is_uint(pt_get(HB + 9 * PAGE_SIZE), 100, "cow: the child still reads the data from fork time");
	reuse0 = ev(COW_REUSE);
	pt_put(HB + 9 * PAGE_SIZE, 300);
	ok(test_pt_pfn(cmm, HB) == pfn && ev(COW_REUSE) - reuse0 == 1,
	   "cow: the child, now the only mapper, reuses the old page (folio_mapcount == 1)");
	pinmm_task_attach(t);
	is_uint(pt_get(HB + 9 * PAGE_SIZE), 200, "cow: the parent does not see the child's write");
	ok(hc().free == 1, "cow: two pages in use, one free");
	pinmm_task_exit(child);
	child = NULL;
	pinmm_task_attach(t);
	is_uint(hc().free, 2, "cow: the child's exit gave its page back to the pool");
	hteardown("cow_after_fork", (struct task_struct *[]){ t, child }, 2);
}

/*
 * A child's COW of a private huge page needs a page the parent's reservation
 * does not cover: with the pool empty, hugetlb_wp() answers VM_FAULT_SIGBUS
 * (Linux: only the reservation's owner may take the page from its children),
 * and both sides still map the shared page with its data.
 */
static void child_cow_pool_empty(void)
{
	struct task_struct *t, *child = NULL;
	unsigned long pfn, v = 0;
	bool w;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(1);
	t = test_process("parent");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB + 5 * PAGE_SIZE, 41);
	pfn = test_pt_pfn(t->mm, HB);
	is_int(pinmm_fork(t, "child", &child), 0, "cow pool empty: fork");
	pinmm_task_attach(child);
	is_uint(hc().free, 0, "cow pool empty: no free huge page");
	ok(put_user(42UL, (unsigned long __user *)(HB + 5 * PAGE_SIZE)) != 0,
	   "cow pool empty: the child's write fails (hugetlb_wp: no page for the copy, SIGBUS)");
	ok(test_pt_pfn(child->mm, HB) == pfn && leaf_at(child->mm, HB, &w) && !w &&
	   !get_user(v, (unsigned long __user *)(HB + 5 * PAGE_SIZE)) && v == 41,
	   "cow pool empty: the child still maps the shared page read-only, its data unchanged");
	pinmm_task_attach(t);
	is_uint(pt_get(HB + 5 * PAGE_SIZE), 41, "cow pool empty: the parent reads its data");
	pinmm_task_exit(child);
	child = NULL;
	pinmm_task_attach(t);
	hteardown("child_cow_pool_empty", (struct task_struct *[]){ t, child }, 2);
}

/* hugetlb_fault(): huge_pte_alloc() failing is VM_FAULT_OOM (GUP: -ENOMEM); a retry maps it */
static void fault_table_alloc_fails(void)
{
	struct task_struct *t;
	struct page *page = NULL;
	long r;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(1);
	t = test_process("htable");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pinmm_fail_nth(PINMM_FAIL_PAGE_TABLE, 1, PINMM_FAIL_PERSIST);
	mmap_read_lock(t->mm);
	r = get_user_pages(HB, 1, FOLL_WRITE, &page);
	mmap_read_unlock(t->mm);
	pinmm_fail_nth(PINMM_FAIL_PAGE_TABLE, 0, 0);
	is_int(r, -ENOMEM, "fault: no page table for the leaf: VM_FAULT_OOM, -ENOMEM (hugetlb_fault)");
	ok(pinmm_fail_failures(PINMM_FAIL_PAGE_TABLE) > 0 && test_pt_pfn(t->mm, HB) == -1UL &&
	   hc().free == 1, "fault: the table allocation was failed, nothing mapped, the page free");
	mmap_read_lock(t->mm);
	r = get_user_pages(HB, 1, FOLL_WRITE, &page);
	mmap_read_unlock(t->mm);
	is_int(r, 1, "fault: the retry maps the huge page");
	if (r == 1)
		put_page(page);
	hteardown("fault_table_alloc_fails", &t, 1);
}

/* hugetlb_fault() on a present leaf the access allows: it only marks the entry young */
static void spurious_fault_marks_young(void)
{
	struct task_struct *t, *child = NULL;
	struct vm_area_struct *vma;
	unsigned long pfn;
	vm_fault_t ret;
	bool leaf;
	pmd_t pmd;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(2);
	t = test_process("hyoung");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	is_uint(pt_get(HB), 0, "young: a read maps a zeroed huge page");
	pfn = test_pt_pfn(t->mm, HB);
	is_int(pinmm_fork(t, "child", &child), 0, "young: fork");
	pmd = __pmd(test_pt_entry(child->mm, HB, &leaf));
	ok(leaf && !pmd_young(pmd) && !pmd_dirty(pmd),
	   "young: the child's copy of the read-faulted leaf is old and clean (copy_hugetlb_page_range)");
	mmap_read_lock(child->mm);
	vma = vma_lookup(child->mm, HB);
	ret = handle_mm_fault(vma, HB + 3 * PAGE_SIZE, FAULT_FLAG_USER, NULL);
	mmap_read_unlock(child->mm);
	pmd = __pmd(test_pt_entry(child->mm, HB, &leaf));
	ok(!(ret & VM_FAULT_ERROR) && leaf && pmd_young(pmd) && !pmd_dirty(pmd) && !pmd_write(pmd) &&
	   test_pt_pfn(child->mm, HB) == pfn,
	   "young: a read fault on it marks it young, not dirty, the same page, still read-only "
	   "(hugetlb_fault)");
	pinmm_task_exit(child);
	child = NULL;
	pinmm_task_attach(t);
	hteardown("spurious_fault_marks_young", (struct task_struct *[]){ t, child }, 2);
}

/*
 * gup_longterm / cow.c: a maybe-pinned private hugetlb page is copied for
 * the child at fork (folio_needs_cow_for_dma); the parent keeps its page
 * writable, and the device sees the parent's later writes.
 */
static void fork_with_pin(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm, *cmm;
	struct page *page;
	unsigned long pfn;
	bool w, cw;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(3);
	t = test_process("pinner");
	mm = t->mm;
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB + PAGE_SIZE, 42);
	pfn = test_pt_pfn(mm, HB);
	mmap_read_lock(mm);
	is_int(pin_user_pages(HB + PAGE_SIZE, 1, FOLL_WRITE, &page), 1, "fork_pin: FOLL_PIN of a hugetlb page");
	mmap_read_unlock(mm);
	ok(page == pfn_to_page(pfn + 1) && folio_maybe_dma_pinned(page_folio(page)),
	   "fork_pin: the subpage is pinned (folio_maybe_dma_pinned)");
	is_int(pinmm_fork(t, "child", &child), 0, "fork_pin: fork succeeds");
	cmm = child->mm;
	ok(test_pt_pfn(cmm, HB) != pfn && test_pt_pfn(cmm, HB) != -1UL && leaf_at(cmm, HB, &cw) && cw,
	   "fork_pin: the child gets its own copy at once (copy_hugetlb_page_range)");
	ok(test_pt_pfn(mm, HB) == pfn && leaf_at(mm, HB, &w) && w && PageAnonExclusive(pfn_to_page(pfn)),
	   "fork_pin: the parent keeps the pinned page, writable and exclusive");
	pt_put(HB + PAGE_SIZE, 43);
	is_uint(*(unsigned long *)page_address(page), 43,
		"fork_pin: the device sees the parent's write after fork");
	pinmm_task_attach(child);
	is_uint(pt_get(HB + PAGE_SIZE), 42, "fork_pin: the child's copy holds the data from fork time");
	pinmm_task_attach(t);
	unpin_user_page(page);
	hteardown("fork_with_pin", (struct task_struct *[]){ t, child }, 2);
}

/*
 * A R/O long-term pin of a shared hugetlb page unshares it first
 * (FAULT_FLAG_UNSHARE in hugetlb_wp), so the pinned page stays the parent's
 * and sees its later writes (cow.c: "R/O longterm GUP pin ... hugetlb").
 */
static void unshare_ro_pin(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm;
	struct page *page;
	unsigned long pfn;
	bool w;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(3);
	t = test_process("ro");
	mm = t->mm;
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB, 5);
	pfn = test_pt_pfn(mm, HB);
	pinmm_fork(t, "child", &child);
	pinmm_task_attach(t);
	mmap_read_lock(mm);
	is_int(pin_user_pages(HB, 1, FOLL_LONGTERM, &page), 1, "unshare: R/O long-term pin");
	mmap_read_unlock(mm);
	ok(page_to_pfn(page) != pfn && PageAnonExclusive(compound_head(page)),
	   "unshare: the shared page was unshared: the pin holds an exclusive copy");
	ok(test_pt_pfn(mm, HB) == page_to_pfn(page) && leaf_at(mm, HB, &w) && !w,
	   "unshare: the parent maps the copy read-only (unshare does not make it writable)");
	pt_put(HB, 6);
	is_uint(*(unsigned long *)page_address(page), 6,
		"unshare: the parent's write reuses the pinned page: the pin sees it");
	pinmm_task_attach(child);
	is_uint(pt_get(HB), 5, "unshare: the child keeps the old data");
	pinmm_task_attach(t);
	unpin_user_page(page);
	hteardown("unshare_ro_pin", (struct task_struct *[]){ t, child }, 2);
}

static void exit_returns_pages(void)
{
	struct task_struct *t;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("exit");
	hmap(HB, 4 * HPAGE_SIZE, HFLAGS);
	pt_put(HB, 1);
	pt_put(HB + 2 * HPAGE_SIZE, 1);
	ok(hc().free == 2 && hc().resv == 2, "exit: two faulted, two still reserved");
	is_int(vm_munmap(HB + 3 * HPAGE_SIZE, HPAGE_SIZE), 0, "exit: munmap of an unfaulted huge page");
	is_uint(hc().resv, 1, "exit: its reservation is given back (hugetlb_vm_op_close)");
	pinmm_task_detach();
	pinmm_task_exit(t);
	ok(hc().free == 4 && hc().resv == 0, "exit: exit_mmap gives every page and reservation back");
	hteardown("exit_returns_pages", NULL, 0);
}

/*
 * MADV_DONTNEED on hugetlb (Linux 5.18, madvise_dontneed_free_valid_vma()):
 * whole huge pages only: an unaligned start is -EINVAL, the end rounds down
 * (a length under 2 MiB drops nothing); a dropped page goes back to the
 * pool unless pinned: the pin keeps it, the next fault maps a new zeroed
 * one. MADV_FREE, MADV_COLD and MADV_PAGEOUT refuse hugetlb (-EINVAL);
 * MADV_WIPEONFORK too (the VMA has a hugetlbfs file). mlock() never locks
 * a hugetlb VMA, so MADV_DONTNEED works after it. All seen on the live 6.18
 * kernel first (a MAP_HUGETLB buffer registered with io_uring).
 */
static void dontneed_huge(void)
{
	struct task_struct *t;
	struct page *page;
	unsigned long pfn;
	bool w;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("dontneed");
	hmap(HB, 2 * HPAGE_SIZE, HFLAGS);
	pt_put(HB, 7);
	pt_put(HB + HPAGE_SIZE, 7);
	is_uint(hc().free, 2, "dontneed: two huge pages faulted in");
	is_int(do_madvise(t->mm, HB + PAGE_SIZE, HPAGE_SIZE, MADV_DONTNEED), -EINVAL,
	       "dontneed: a start inside a huge page is -EINVAL");
	is_int(do_madvise(t->mm, HB, PAGE_SIZE, MADV_DONTNEED), 0,
	       "dontneed: 4 KiB at a huge page's start: 0 ...");
	ok(leaf_at(t->mm, HB, &w) && pt_get(HB) == 7 && hc().free == 2,
	   "dontneed: ... and nothing dropped (the end rounds down to the start)");
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE + HPAGE_SIZE / 2, MADV_DONTNEED), 0,
	       "dontneed: one and a half huge pages: 0");
	ok(!leaf_at(t->mm, HB, &w) && leaf_at(t->mm, HB + HPAGE_SIZE, &w) &&
	   pt_get(HB + HPAGE_SIZE) == 7 && hc().free == 3,
	   "dontneed: the first went back to the pool, the half-covered second stayed");
	is_uint(pt_get(HB), 0, "dontneed: the dropped one reads zeroes, a new page");
	pt_put(HB, 9);
	is_int(pin_user_pages_fast(HB, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "dontneed: a long-term pin of the first, as io_uring registers a buffer");
	pfn = page_to_pfn(page);
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE, MADV_DONTNEED), 0,
	       "dontneed: MADV_DONTNEED of the pinned huge page: 0");
	ok(!leaf_at(t->mm, HB, &w) && folio_maybe_dma_pinned(page_folio(page)) && hc().free == 2,
	   "dontneed: it left the mapping, still pinned: not back in the pool");
	ok(pt_get(HB) == 0 && test_pt_pfn(t->mm, HB) != pfn,
	   "dontneed: the next fault maps a new, zeroed huge page");
	unpin_user_page(page);
	is_uint(hc().free, 2, "dontneed: the unpin gave the old page back (two mapped now)");
	is_int(do_mlock(HB, 2 * HPAGE_SIZE, 0), 0, "dontneed: mlock of both huge pages: 0 ...");
	mmap_read_lock(t->mm);
	w = vma_lookup(t->mm, HB)->vm_flags & VM_LOCKED_MASK;
	mmap_read_unlock(t->mm);
	ok(!w && t->mm->locked_vm == 0,
	   "dontneed: ... which leaves the hugetlb VMA unlocked and uncounted (mlock_fixup())");
	is_int(do_madvise(t->mm, HB + HPAGE_SIZE, HPAGE_SIZE, MADV_DONTNEED), 0,
	       "dontneed: so plain MADV_DONTNEED still drops there (live 6.18 too) ...");
	ok(!leaf_at(t->mm, HB + HPAGE_SIZE, &w) && hc().free == 3,
	   "dontneed: ... and the huge page went back to the pool");
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE, MADV_DONTNEED_LOCKED), 0,
	       "dontneed: MADV_DONTNEED_LOCKED of the other: 0, the page dropped");
	ok(!leaf_at(t->mm, HB, &w) && hc().free == 4, "dontneed: the pool has all four again");
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE, MADV_FREE), -EINVAL, "MADV_FREE of hugetlb: -EINVAL");
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE, MADV_COLD), -EINVAL, "MADV_COLD of hugetlb: -EINVAL");
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE, MADV_PAGEOUT), -EINVAL,
	       "MADV_PAGEOUT of hugetlb: -EINVAL");
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE, MADV_WIPEONFORK), -EINVAL,
	       "MADV_WIPEONFORK of hugetlb: -EINVAL (a hugetlbfs file behind it)");
	is_int(do_madvise(t->mm, HB, HPAGE_SIZE, MADV_REMOVE), -EACCES,
	       "MADV_REMOVE of private hugetlb: -EACCES (a file, but no shared mapping of it; "
	       "live 6.18)");
	pinmm_task_detach();
	pinmm_task_exit(t);
	hteardown("dontneed_huge", NULL, 0);
}

/* copy_hugetlb_page_range(): the copy of a maybe-pinned page cannot be allocated: fork fails */
static void fork_pin_pool_empty(void)
{
	struct task_struct *t, *child = NULL;
	struct page *page;
	unsigned long pfn;
	bool w;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(1);
	t = test_process("pin-empty");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB, 5);
	pfn = test_pt_pfn(t->mm, HB);
	mmap_read_lock(t->mm);
	is_int(pin_user_pages(HB, 1, FOLL_WRITE, &page), 1, "fork_pin empty: pin the only huge page");
	mmap_read_unlock(t->mm);
	is_int(pinmm_fork(t, "child", &child), -ENOMEM,
	       "fork_pin empty: no page for the child's copy: fork fails with -ENOMEM");
	pinmm_task_attach(t);
	ok(!child && test_pt_pfn(t->mm, HB) == pfn && leaf_at(t->mm, HB, &w) && w &&
	   pt_get(HB) == 5, "fork_pin empty: the parent keeps its pinned page, writable, its data");
	unpin_user_page(page);
	hteardown("fork_pin_pool_empty", &t, 1);
}

/* Two hugetlb VMAs back to back (not merged: different protections): each copies its own. */
static void fork_adjacent_vmas(void)
{
	struct task_struct *t, *child = NULL;
	struct folio *a, *b;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("adjacent");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	vm_mmap(NULL, HB + HPAGE_SIZE, HPAGE_SIZE, PROT_READ, HFLAGS | MAP_FIXED, 0);
	pt_put(HB, 1);
	is_uint(pt_get(HB + HPAGE_SIZE), 0, "adjacent: the read-only VMA after it reads zeroes");
	a = pfn_folio(test_pt_pfn(t->mm, HB));
	b = pfn_folio(test_pt_pfn(t->mm, HB + HPAGE_SIZE));
	ok(pt_vma(t->mm, HB) != pt_vma(t->mm, HB + HPAGE_SIZE), "adjacent: two VMAs");
	is_int(pinmm_fork(t, "child", &child), 0, "adjacent: fork");
	ok(folio_mapcount(a) == 2 && folio_mapcount(b) == 2 && folio_ref_count(b) == 2,
	   "adjacent: each huge page mapped twice, once per side (copy_hugetlb_page_range "
	   "stops at the VMA's end)");
	pinmm_task_attach(child);
	ok(pt_get(HB) == 1 && pt_get(HB + HPAGE_SIZE) == 0, "adjacent: the child reads both");
	pinmm_task_attach(t);
	hteardown("fork_adjacent_vmas", (struct task_struct *[]){ t, child }, 2);
}

/* A VMA across a 1 GiB boundary, only its first huge page faulted: no table under the second. */
static void fork_vma_with_tableless_hole(void)
{
	const unsigned long base = HB + PUD_SIZE - HPAGE_SIZE;
	struct task_struct *t, *child = NULL;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(3);
	t = test_process("hole");
	hmap(base, 2 * HPAGE_SIZE, HFLAGS);
	pt_put(base, 9);
	ok(test_pt_pfn(t->mm, base + HPAGE_SIZE) == -1UL, "hole: the second huge page is not faulted");
	is_int(pinmm_fork(t, "child", &child), 0, "hole: fork");
	pinmm_task_attach(child);
	ok(pt_get(base) == 9 && test_pt_pfn(child->mm, base + HPAGE_SIZE) == -1UL,
	   "hole: the child has the first page and a hole after it (copy_hugetlb_page_range "
	   "skips entries with no table)");
	pinmm_task_attach(t);
	hteardown("fork_vma_with_tableless_hole", (struct task_struct *[]){ t, child }, 2);
}

/* copy_hugetlb_page_range(): the child's table cannot be allocated: every failed fork is -ENOMEM */
static void fork_table_sweep(void)
{
	struct task_struct *t, *child;
	unsigned long n, failed = 0, bad = 0, pfn;
	bool reached = true;
	int err = 0;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(2);
	t = test_process("hfork-sweep");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB, 3);
	pfn = test_pt_pfn(t->mm, HB);
	for (n = 1; n < 100 && reached; n++) {
		unsigned long f0 = pinmm_fail_failures(PINMM_FAIL_PAGE_TABLE);

		child = NULL;
		pinmm_fail_nth(PINMM_FAIL_PAGE_TABLE, n, 0);
		err = pinmm_fork(t, "child", &child);
		pinmm_fail_nth(PINMM_FAIL_PAGE_TABLE, 0, 0);
		pinmm_task_attach(t);
		reached = pinmm_fail_failures(PINMM_FAIL_PAGE_TABLE) != f0;
		if (err) {
			failed++;
			bad += err != -ENOMEM || test_pt_pfn(t->mm, HB) != pfn || pt_get(HB) != 3;
			continue;
		}
		pinmm_task_attach(child);
		bad += pt_get(HB) != 3;
		pinmm_task_exit(child);
		pinmm_task_attach(t);
	}
	ok(!err && failed > 0, "fork sweep: %lu forks failed at a page table, then one went through",
	   failed);
	is_uint(bad, 0, "fork sweep: each failed with -ENOMEM, the parent's page mapped with its data "
		"(copy_hugetlb_page_range: no table, -ENOMEM)");
	hteardown("fork_table_sweep", &t, 1);
}

/* fork in another thread while a private huge page is frozen for the long-term pin's migration */
static struct task_struct *frozen_parent, *frozen_child;
static unsigned long frozen_pfn;
static int frozen_hits, frozen_fork_ret;

static void *fork_frozen(void *arg)
{
	(void)arg;
	pinmm_task_attach(frozen_parent);
	frozen_fork_ret = pinmm_fork(frozen_parent, "child", &frozen_child);
	pinmm_task_detach();
	return NULL;
}

static void at_hugetlb_frozen(enum pinmm_race point, unsigned long pfn, void *arg)
{
	pthread_t th;

	(void)point;
	(void)arg;
	if (pfn != frozen_pfn || frozen_hits++)
		return;
	pthread_create(&th, NULL, fork_frozen, NULL);
	pthread_join(th, NULL);
}

static void fork_while_frozen(void)
{
	struct task_struct *t;
	struct page *page = NULL;
	unsigned long cpfn, v = 0;
	long r;
	bool w;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(18);
	t = test_process("hfrozen");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB + PAGE_SIZE, 61);
	frozen_pfn = test_pt_pfn(t->mm, HB);
	ok(folio_is_zone_movable(pfn_folio(frozen_pfn)), "frozen: the huge page is in ZONE_MOVABLE");
	frozen_parent = t;
	frozen_child = NULL;
	frozen_hits = 0;
	if (pinmm_race_arm(PINMM_RACE_MIGRATE_FROZEN, at_hugetlb_frozen, NULL))
		bail_out("arm");
	r = pin_user_pages_unlocked(HB + PAGE_SIZE, 1, &page, FOLL_WRITE | FOLL_LONGTERM);
	pinmm_race_disarm(PINMM_RACE_MIGRATE_FROZEN);
	pinmm_task_attach(t);
	ok(r == 1 && frozen_hits == 1 && frozen_fork_ret == 0 && frozen_child,
	   "frozen: fork ran while the long-term pin's migration held the page frozen; the pin done");
	if (!frozen_child) {
		if (r == 1)
			unpin_user_page(page);
		hteardown("fork_while_frozen", &t, 1);
		return;
	}
	cpfn = test_pt_pfn(frozen_child->mm, HB);
	ok(cpfn != frozen_pfn && cpfn != -1UL && leaf_at(frozen_child->mm, HB, &w) && !w,
	   "frozen: the child maps the migrated page read-only (its entry was made readable: "
	   "copy_hugetlb_page_range)");
	ok(page_folio(page) != pfn_folio(cpfn) && test_pt_pfn(t->mm, HB + PAGE_SIZE) == page_to_pfn(page),
	   "frozen: the parent's pinned page is its own (the write pin broke COW)");
	*(unsigned long *)page_address(page) = 62;
	pinmm_task_attach(frozen_child);
	ok(!get_user(v, (unsigned long __user *)(HB + PAGE_SIZE)) && v == 61,
	   "frozen: the child still reads the data from fork time, not the device's write");
	ok(!put_user(63UL, (unsigned long __user *)(HB + PAGE_SIZE)), "frozen: the child writes");
	pinmm_task_attach(t);
	is_uint(pt_get(HB + PAGE_SIZE), 62, "frozen: the parent does not see the child's write");
	unpin_user_page(page);
	hteardown("fork_while_frozen", (struct task_struct *[]){ t, frozen_child }, 2);
}

/*
 * Two pinned huge pages, surplus pages only for their copies; a sweep fails
 * the fork's 1st, 2nd, ... page allocation: a fork that returns 0 made a
 * whole child, one that fails (a copy among them) is -ENOMEM.
 */
static void fork_pin_copy_sweep(void)
{
	struct task_struct *t, *child;
	struct page *pages[2] = { NULL, NULL };
	unsigned long n, failed = 0, bad = 0;
	bool reached = true;
	int err = 0;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(2);
	pinmm_hugetlb_set_overcommit(2);
	t = test_process("pin-2");
	hmap(HB, 2 * HPAGE_SIZE, HFLAGS);
	pt_put(HB, 1);
	pt_put(HB + HPAGE_SIZE, 2);
	mmap_read_lock(t->mm);
	if (pin_user_pages(HB, 1, FOLL_WRITE, &pages[0]) != 1 ||
	    pin_user_pages(HB + HPAGE_SIZE, 1, FOLL_WRITE, &pages[1]) != 1)
		bail_out("pin");
	mmap_read_unlock(t->mm);
	for (n = 1; n < 200 && reached; n++) {
		unsigned long f0 = pinmm_fail_failures(PINMM_FAIL_PAGE_ALLOC);

		child = NULL;
		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, n, 0);
		err = pinmm_fork(t, "child", &child);
		pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
		pinmm_task_attach(t);
		reached = pinmm_fail_failures(PINMM_FAIL_PAGE_ALLOC) != f0;
		if (err) {
			failed++;
			bad += err != -ENOMEM || pt_get(HB) != 1 || pt_get(HB + HPAGE_SIZE) != 2;
			continue;
		}
		pinmm_task_attach(child);
		bad += test_pt_pfn(child->mm, HB) == -1UL || test_pt_pfn(child->mm, HB + HPAGE_SIZE) == -1UL ||
		       pt_get(HB) != 1 || pt_get(HB + HPAGE_SIZE) != 2;
		pinmm_task_exit(child);
		pinmm_task_attach(t);
	}
	ok(!err && failed > 0, "fork_pin sweep: %lu forks failed at a page allocation, then one "
	   "went through", failed);
	is_uint(bad, 0, "fork_pin sweep: a fork that returned 0 gave the child both pages, one that "
		"failed is -ENOMEM (copy_hugetlb_page_range stops at the copy that failed)");
	unpin_user_pages(pages, 2);
	pinmm_hugetlb_set_overcommit(0);
	hteardown("fork_pin_copy_sweep", &t, 1);
}

/* copy_hugetlb_page_range() of a COW mapping: an MMU notifier sees its invalidation begin and end */
static void fork_notifier_balanced(void)
{
	struct task_struct *t, *child = NULL;
	struct rec_notifier r;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(2);
	t = test_process("hnotify");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB, 4);
	rec_init(&r);
	if (mmu_notifier_register(&r.mn, t->mm))
		bail_out("mmu_notifier_register");
	is_int(pinmm_fork(t, "child", &child), 0, "notifier: fork");
	ok(atomic_load(&r.nr_start) >= 1 && atomic_load(&r.nr_start) == atomic_load(&r.nr_end),
	   "notifier: the parent's subscriber saw %d invalidation start(s) and as many ends "
	   "(around the write-protect of its leaves)", atomic_load(&r.nr_start));
	mmu_notifier_unregister(&r.mn, t->mm);
	pinmm_task_attach(t);
	hteardown("fork_notifier_balanced", (struct task_struct *[]){ t, child }, 2);
}

/* hugetlb_migrate_folio(): the new page is dirty as the old one was; its leaf too */
static void longterm_migration_keeps_dirty(void)
{
	struct task_struct *t;
	struct page *page = NULL;
	unsigned long pfn0;
	bool leaf;
	pmd_t pmd;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(18);
	t = test_process("hdirty");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	pt_put(HB + PAGE_SIZE, 71);
	pfn0 = test_pt_pfn(t->mm, HB);
	ok(folio_is_zone_movable(pfn_folio(pfn0)) && pmd_dirty(__pmd(test_pt_entry(t->mm, HB, &leaf))),
	   "dirty: a written huge page in ZONE_MOVABLE, its leaf dirty");
	is_int(pin_user_pages_unlocked(HB, 1, &page, FOLL_WRITE | FOLL_LONGTERM), 1,
	       "dirty: a long-term pin migrates it");
	pinmm_task_attach(t);
	pmd = __pmd(test_pt_entry(t->mm, HB, &leaf));
	ok(leaf && pmd_pfn(pmd) != pfn0 && pmd_dirty(pmd) && pmd_write(pmd) &&
	   folio_test_dirty(page_folio(page)),
	   "dirty: the new page and its leaf are dirty and writable (hugetlb_migrate_folio)");
	is_uint(pt_get(HB + PAGE_SIZE), 71, "dirty: the data moved with it");
	if (page)
		unpin_user_page(page);
	hteardown("longterm_migration_keeps_dirty", &t, 1);
}

/*
 * FOLL_FORCE into private hugetlb memory the process may not write (Linux
 * check_vma_flags(): a COW mapping; /proc/PID/mem, ptrace): the write
 * faults a private copy in (hugetlb_wp()) and lands there; the mapping
 * stays read-only, the process reads what was written. PROT_NONE too.
 * Seen on the live 6.18 kernel (scn-diff: /proc/self/mem into MAP_HUGETLB).
 */
static void force_write_ro(void)
{
	struct task_struct *t;
	unsigned long v = 0x5a5a;
	bool w;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("force");
	vm_mmap(NULL, HB, HPAGE_SIZE, PROT_READ, HFLAGS | MAP_FIXED, 0);
	vm_mmap(NULL, HB + HPAGE_SIZE, HPAGE_SIZE, PROT_NONE, HFLAGS | MAP_FIXED, 0);
	is_int(access_process_vm(t, HB + 8, &v, sizeof(v), FOLL_FORCE | FOLL_WRITE), sizeof(v),
	       "force: FOLL_FORCE write into a read-only private huge page: written ...");
	ok(leaf_at(t->mm, HB, &w) && !w && pt_get(HB + 8) == 0x5a5a,
	   "force: ... into a private copy the still read-only mapping shows");
	v = 0x6b6b;
	is_int(access_process_vm(t, HB + HPAGE_SIZE + 16, &v, sizeof(v), FOLL_FORCE | FOLL_WRITE),
	       sizeof(v), "force: and into a PROT_NONE one");
	v = 0;
	ok(access_process_vm(t, HB + HPAGE_SIZE + 16, &v, sizeof(v), FOLL_FORCE) == sizeof(v) &&
	   v == 0x6b6b, "force: a FOLL_FORCE read gets it back");
	{
		struct task_struct *child = NULL;
		unsigned long w2 = 0x7c7c;

		/* shared with a child now: a read goes through, a write copies again */
		is_int(pinmm_fork(t, "force-child", &child), 0, "force: fork (the copy is shared)");
		v = 0;
		ok(access_process_vm(t, HB + 8, &v, sizeof(v), FOLL_FORCE) == sizeof(v) &&
		   v == 0x5a5a, "force: a FOLL_FORCE read of the shared, read-only leaf");
		is_int(access_process_vm(t, HB + 8, &w2, sizeof(w2), FOLL_FORCE | FOLL_WRITE),
		       sizeof(w2), "force: a FOLL_FORCE write breaks COW again ...");
		v = 0;
		ok(child && access_process_vm(child, HB + 8, &v, sizeof(v), FOLL_FORCE) == sizeof(v) &&
		   v == 0x5a5a && pt_get(HB + 8) == 0x7c7c,
		   "force: ... the child keeps the old bytes, the parent reads the new");
		if (child)
			pinmm_task_exit(child);
		pinmm_task_attach(t);
	}
	{
		struct page *page;
		long got;

		mmap_read_lock(t->mm);
		got = get_user_pages(HB + PAGE_SIZE, 1, FOLL_FORCE | FOLL_WRITE, &page);
		mmap_read_unlock(t->mm);
		ok(got == 1 && page_to_pfn(page) == test_pt_pfn(t->mm, HB + PAGE_SIZE),
		   "force: get_user_pages(FOLL_FORCE|FOLL_WRITE) takes the private copy");
		if (got == 1)
			put_page(page);
	}
	pinmm_task_detach();
	pinmm_task_exit(t);
	hteardown("force_write_ro", NULL, 0);
}

/*
 * mlock() over hugetlb (mm/mlock.c mlock_fixup(), mm/gup.c __mm_populate()):
 * the VMA is not locked, but the populate that follows faults it in all the
 * same, MLOCK_ONFAULT's included (it skips only the VMAs it locked on
 * fault); PROT_NONE cannot be faulted: -ENOMEM. As the live 6.18 kernel.
 */
static void mlock_huge(void)
{
	struct task_struct *t;
	bool w;

	pt_boot();
	pinmm_hugetlb_set_nr_hugepages(3);
	t = test_process("mlock-huge");
	hmap(HB, HPAGE_SIZE, HFLAGS);
	hmap(HB + HPAGE_SIZE, HPAGE_SIZE, HFLAGS);
	vm_mmap(NULL, HB + 2 * HPAGE_SIZE, HPAGE_SIZE, PROT_NONE, HFLAGS | MAP_FIXED, 0);
	is_int(do_mlock(HB, HPAGE_SIZE, 0), 0, "mlock-huge: mlock of a hugetlb VMA: 0 ...");
	ok(leaf_at(t->mm, HB, &w) && w && hc().free == 2 && t->mm->locked_vm == 0,
	   "mlock-huge: ... faults its page in (writable) without locking it");
	is_int(do_mlock(HB + HPAGE_SIZE, HPAGE_SIZE, VM_LOCKONFAULT), 0,
	       "mlock-huge: MLOCK_ONFAULT of another: 0 ...");
	ok(leaf_at(t->mm, HB + HPAGE_SIZE, &w) && hc().free == 1,
	   "mlock-huge: ... faults it in too (only VMAs locked on fault are passed by)");
	is_int(do_mlock(HB + 2 * HPAGE_SIZE, HPAGE_SIZE, VM_LOCKONFAULT), -ENOMEM,
	       "mlock-huge: a PROT_NONE one cannot be faulted: -ENOMEM");
	pinmm_task_detach();
	pinmm_task_exit(t);
	hteardown("mlock_huge", NULL, 0);
}

int main(void)
{
	plan_no_plan();
	force_write_ro();
	mlock_huge();
	pool_accounting();
	fault_map_and_free();
	bad_input();
	cow_after_fork();
	child_cow_pool_empty();
	fault_table_alloc_fails();
	spurious_fault_marks_young();
	fork_with_pin();
	fork_pin_pool_empty();
	fork_adjacent_vmas();
	fork_vma_with_tableless_hole();
	fork_table_sweep();
	fork_while_frozen();
	fork_pin_copy_sweep();
	fork_notifier_balanced();
	longterm_migration_keeps_dirty();
	unshare_ro_pin();
	exit_returns_pages();
	dontneed_huge();
	return done_testing();
}
