// SPDX-License-Identifier: MIT
/*
 * Guard regions (MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, Linux 6.13; file
 * mappings 6.15), and what they do to pins. The Linux rules, by kernel file
 * and function, each seen on the live 6.18 kernel by a probe program first:
 *  R-GUARD-ARGS  mm/madvise.c is_valid_guard_vma(): hugetlb and special
 *                (VM_IO/VM_PFNMAP) VMAs are -EINVAL, locked ones too on
 *                install (not on remove); PROT_NONE is fine; a hole is
 *                -ENOMEM, the VMAs around it done all the same.
 *  R-GUARD-FAULT mm/memory.c handle_pte_marker(): a guard is never mapped:
 *                the CPU's access faults (SIGSEGV: copy_*_user fail), and
 *                so does MADV_POPULATE_* (-EFAULT); the pages beside it are
 *                untouched.
 *  R-GUARD-GUP   mm/gup.c: GUP faults at a guard and gets -EFAULT; a pin of
 *                a range that runs into one pins the pages before it; GUP-fast
 *                falls back and fails the same; FOLL_FORCE (/proc/PID/mem)
 *                cannot write through one either (live: EIO).
 *  R-GUARD-PIN   madvise_guard_install() zaps what is mapped first: a pinned
 *                page leaves the mapping but not the device, which keeps the
 *                frame until the unpin frees it (live: an io_uring fixed
 *                buffer under a new guard, install 0).
 *  R-GUARD-KEEP  mm/memory.c zap_nonpresent_ptes(): MADV_DONTNEED and
 *                MADV_FREE leave guards, mprotect too; mremap moves them;
 *                fork copies them (the VMA was given an anon_vma at
 *                install, so even an untouched one is copied); munmap takes
 *                them; MADV_GUARD_REMOVE empties them (anon reads zeroes).
 *  R-GUARD-THP   a guard inside a THP splits it; the other pages keep their
 *                data; MADV_COLLAPSE over a guard is -EINVAL.
 *  R-GUARD-FILE  a guard on a shared file mapping hides the page from this
 *                mapping only: the file and other mappings keep it; removed,
 *                the mapping faults the file's page in again.
 *  R-GUARD-PAGEMAP fs/proc/task_mmu.c: a guard reads as PM_SWAP |
 *                PM_GUARD_REGION in /proc/PID/pagemap.
 *  R-GUARD-MLOCK mm/mlock.c: mlock() of a range holding a guard locks the
 *                VMA but its populate faults on the guard: -ENOMEM; with
 *                MLOCK_ONFAULT nothing is populated: 0 (live 6.18 both).
 */
#include "../gup/helpers.h"

#include <pinmm/fs.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/task_mmu.h>

#define GB	GT_BASE

static int madv(unsigned long addr, unsigned long len, int advice)
{
	return do_madvise(current->mm, addr, len, advice);
}

static bool guard_at(unsigned long addr)
{
	bool leaf;
	pte_t pte = __pte(test_pt_entry(current->mm, addr, &leaf));

	return !leaf && is_guard_pte_marker(pte);
}

static unsigned long nr_guards(unsigned long addr, unsigned long n)
{
	unsigned long c = 0;

	for (unsigned long i = 0; i < n; i++)
		c += guard_at(addr + i * PAGE_SIZE);
	return c;
}

/* Bytes the CPU cannot read at @addr (one page). */
static unsigned long cpu_unreadable(unsigned long addr)
{
	static char buf[PAGE_SIZE];

	return copy_from_user(buf, (const void __user *)addr, PAGE_SIZE);
}

static void args(void)
{
	struct task_struct *t[1];
	unsigned long dev;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("gargs");
	test_mmap_fixed(GB, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE | MAP_LOCKED);
	is_int(madv(GB, PAGE_SIZE, MADV_GUARD_INSTALL), -EINVAL,
	       "R-GUARD-ARGS: install on a locked VMA is -EINVAL");
	is_int(madv(GB, PAGE_SIZE, MADV_GUARD_REMOVE), 0,
	       "R-GUARD-ARGS: remove on a locked VMA is allowed");
	test_mmap_fixed(GB + 8 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE);
	is_int(madv(GB + 8 * PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL), 0,
	       "R-GUARD-ARGS: install on PROT_NONE memory is fine");
	test_mmap_fixed(GB + 16 * PAGE_SIZE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(GB + 20 * PAGE_SIZE, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	is_int(madv(GB + 17 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_GUARD_INSTALL), -ENOMEM,
	       "R-GUARD-ARGS: a range with a hole is -ENOMEM ...");
	ok(guard_at(GB + 17 * PAGE_SIZE) && guard_at(GB + 20 * PAGE_SIZE) &&
	   !guard_at(GB + 16 * PAGE_SIZE) && !guard_at(GB + 21 * PAGE_SIZE),
	   "R-GUARD-ARGS: ... the mapped pages of the range got their guards all the same");
	test_mmap_fixed(GB + 32 * PAGE_SIZE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	test_mmap_fixed(GB + 40 * PAGE_SIZE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	madv(GB + 33 * PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL);
	madv(GB + 41 * PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL);
	is_int(do_mlock(GB + 32 * PAGE_SIZE, 4 * PAGE_SIZE, 0), -ENOMEM,
	       "R-GUARD-MLOCK: mlock() over a guard: -ENOMEM (its populate faults there)");
	is_int(do_mlock(GB + 40 * PAGE_SIZE, 4 * PAGE_SIZE, VM_LOCKONFAULT), 0,
	       "R-GUARD-MLOCK: MLOCK_ONFAULT over a guard: 0 (nothing populated)");
	ok(guard_at(GB + 33 * PAGE_SIZE) && guard_at(GB + 41 * PAGE_SIZE),
	   "R-GUARD-MLOCK: the guards stay");
	dev = pinmm_map_device(pinmm_mmio_pfn, PAGE_SIZE, GT_RW);
	ok(!IS_ERR_VALUE(dev), "setup: a device (VM_IO|VM_PFNMAP) mapping");
	is_int(madv(dev, PAGE_SIZE, MADV_GUARD_INSTALL), -EINVAL,
	       "R-GUARD-ARGS: install on a VM_PFNMAP mapping is -EINVAL");
	is_int(madv(dev, PAGE_SIZE, MADV_GUARD_REMOVE), -EINVAL,
	       "R-GUARD-ARGS: ... and so is remove");
	gt_teardown("args", t, 1);
}

static void fault_and_gup(void)
{
	struct task_struct *t[1];
	struct page *pages[4];
	char buf[8] = "written";
	long acq0, rel0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("gfault");
	test_mmap_fixed(GB, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(GB, 8, 1);
	is_int(madv(GB + 2 * PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL), 0,
	       "R-GUARD-FAULT: install a guard over page 2");
	ok(guard_at(GB + 2 * PAGE_SIZE), "R-GUARD-FAULT: its entry is a guard marker");
	is_int((long)cpu_unreadable(GB + 2 * PAGE_SIZE), PAGE_SIZE,
	       "R-GUARD-FAULT: the CPU cannot read it (SIGSEGV: copy_from_user fails)");
	ok(copy_to_user((void __user *)(GB + 2 * PAGE_SIZE), buf, sizeof(buf)) == sizeof(buf),
	   "R-GUARD-FAULT: ... nor write it");
	is_uint(gt_check(GB, 2, 1) + gt_check(GB + 3 * PAGE_SIZE, 5, 1), 0,
		"R-GUARD-FAULT: the pages beside it keep their data");
	is_int(madv(GB, 4 * PAGE_SIZE, MADV_POPULATE_READ), -EFAULT,
	       "R-GUARD-FAULT: MADV_POPULATE_READ over it is -EFAULT");
	is_int(madv(GB, 4 * PAGE_SIZE, MADV_POPULATE_WRITE), -EFAULT,
	       "R-GUARD-FAULT: MADV_POPULATE_WRITE over it is -EFAULT");

	acq0 = gt_acq();
	rel0 = gt_rel();
	is_int(pin_user_pages_fast(GB + 2 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, pages), -EFAULT,
	       "R-GUARD-GUP: pin_user_pages_fast of the guard is -EFAULT");
	is_int(gt_pin(GB + 2 * PAGE_SIZE, 1, FOLL_WRITE, pages), -EFAULT,
	       "R-GUARD-GUP: pin_user_pages of it is -EFAULT");
	is_int(gt_pin(GB + 2 * PAGE_SIZE, 1, 0, pages), -EFAULT,
	       "R-GUARD-GUP: ... read-only too");
	is_int(gt_pin(GB, 4, FOLL_WRITE, pages), 2,
	       "R-GUARD-GUP: a pin of pages 0-3 stops at the guard: the two before it");
	unpin_user_pages(pages, 2);
	is_int(gt_acq() - acq0, 2, "R-GUARD-GUP: only those two were pinned (nr_foll_pin_acquired)");
	is_int(gt_rel() - rel0, 2, "R-GUARD-GUP: ... and released");
	is_int(access_process_vm(current, GB + 2 * PAGE_SIZE, buf, sizeof(buf),
				 FOLL_WRITE | FOLL_FORCE), 0,
	       "R-GUARD-GUP: FOLL_FORCE (/proc/PID/mem) writes nothing through a guard");
	ok(guard_at(GB + 2 * PAGE_SIZE), "R-GUARD-GUP: the guard is still there after all that");
	{
		uint64_t e = 0;

		is_int(pinmm_pagemap_read(current->mm, GB + 2 * PAGE_SIZE, 1, &e), 0,
		       "R-GUARD-PAGEMAP: read its pagemap entry");
		ok((e & (PM_SWAP | PM_GUARD_REGION | PM_PRESENT)) == (PM_SWAP | PM_GUARD_REGION),
		   "R-GUARD-PAGEMAP: PM_SWAP | PM_GUARD_REGION, not present (%#llx)",
		   (unsigned long long)e);
	}
	gt_teardown("fault", t, 1);
}

static void over_a_pin(void)
{
	struct task_struct *t[1];
	struct page *page;
	unsigned long before;
	long rss0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("gpin");
	test_mmap_fixed(GB, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(GB, 4, 2);
	is_int(pin_user_pages_fast(GB + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "R-GUARD-PIN: a long-term pin of page 1, as io_uring registers a buffer");
	before = pinmm_frames_in_use();
	rss0 = get_mm_counter(current->mm, MM_ANONPAGES);
	is_int(madv(GB, 2 * PAGE_SIZE, MADV_GUARD_INSTALL), 0,
	       "R-GUARD-PIN: a guard over pages 0-1 succeeds, the pinned page under it");
	ok(guard_at(GB) && guard_at(GB + PAGE_SIZE), "R-GUARD-PIN: both entries are guards");
	is_int(rss0 - get_mm_counter(current->mm, MM_ANONPAGES), 2,
	       "R-GUARD-PIN: the two pages left the process (MM_ANONPAGES)");
	is_uint(before - pinmm_frames_in_use(), 1,
		"R-GUARD-PIN: only the unpinned page's frame was freed");
	ok(folio_maybe_dma_pinned(page_folio(page)) && !folio_mapped(page_folio(page)),
	   "R-GUARD-PIN: the pinned page is still pinned, mapped nowhere");
	ok(gt_page_holds(page, GB + PAGE_SIZE, 2),
	   "R-GUARD-PIN: the device still sees the data it was given");
	gt_page_write(page, GB + PAGE_SIZE, 3);		/* and goes on writing, safely */
	is_int((long)cpu_unreadable(GB + PAGE_SIZE), PAGE_SIZE,
	       "R-GUARD-PIN: the process cannot reach the page any more");
	unpin_user_pages_dirty_lock(&page, 1, true);
	is_uint(before - pinmm_frames_in_use(), 2, "R-GUARD-PIN: the unpin frees the frame");
	is_int(madv(GB, 2 * PAGE_SIZE, MADV_GUARD_REMOVE), 0, "R-GUARD-KEEP: remove the guards");
	ok(!guard_at(GB) && !guard_at(GB + PAGE_SIZE), "R-GUARD-KEEP: the entries are empty again");
	is_uint(gt_zero_pages(GB, 2), 2, "R-GUARD-KEEP: anon memory there reads zeroes now");
	is_uint(gt_check(GB + 2 * PAGE_SIZE, 2, 2), 0, "R-GUARD-KEEP: pages 2-3 untouched");
	gt_teardown("pin", t, 1);
}

static void what_keeps_them(void)
{
	struct task_struct *t[1], *child;
	unsigned long moved = GB + 64 * PAGE_SIZE;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("gkeep");
	test_mmap_fixed(GB, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	is_int(madv(GB + PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL), 0,
	       "R-GUARD-KEEP: a guard in memory never touched");
	mmap_read_lock(current->mm);
	ok(find_vma(current->mm, GB)->anon_vma,
	   "R-GUARD-KEEP: the VMA has an anon_vma now, so that fork copies its tables");
	mmap_read_unlock(current->mm);
	is_int(pinmm_fork(t[0], "gchild", &child), 0, "R-GUARD-KEEP: fork");
	pinmm_task_attach(child);
	ok(guard_at(GB + PAGE_SIZE) && cpu_unreadable(GB + PAGE_SIZE) == PAGE_SIZE,
	   "R-GUARD-KEEP: the child has the guard (live: the child's access is SIGSEGV)");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t[0]);
	gt_fill(GB, 1, 5);
	gt_fill(GB + 2 * PAGE_SIZE, 6, 5);
	is_int(madv(GB, 8 * PAGE_SIZE, MADV_DONTNEED), 0, "R-GUARD-KEEP: MADV_DONTNEED over it");
	ok(guard_at(GB + PAGE_SIZE) && !guard_at(GB), "R-GUARD-KEEP: ... keeps the guard");
	is_int(madv(GB, 8 * PAGE_SIZE, MADV_FREE), 0, "R-GUARD-KEEP: MADV_FREE over it");
	ok(guard_at(GB + PAGE_SIZE), "R-GUARD-KEEP: ... keeps it");
	is_int(do_mprotect(GB, 8 * PAGE_SIZE, PROT_READ), 0, "R-GUARD-KEEP: mprotect(PROT_READ)");
	ok(guard_at(GB + PAGE_SIZE) && cpu_unreadable(GB + PAGE_SIZE) == PAGE_SIZE,
	   "R-GUARD-KEEP: ... keeps it");
	is_int(do_mprotect(GB, 8 * PAGE_SIZE, GT_RW), 0, "setup: writable again");
	is_int(do_mremap(current->mm, GB, 8 * PAGE_SIZE, 8 * PAGE_SIZE,
			 MREMAP_MAYMOVE | MREMAP_FIXED, moved), (long)moved,
	       "R-GUARD-KEEP: mremap the region away");
	ok(guard_at(moved + PAGE_SIZE) && cpu_unreadable(moved + PAGE_SIZE) == PAGE_SIZE,
	   "R-GUARD-KEEP: the guard moved with it");
	is_int(vm_munmap(moved, 8 * PAGE_SIZE), 0, "R-GUARD-KEEP: munmap");
	test_mmap_fixed(moved, 8 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	ok(!guard_at(moved + PAGE_SIZE) && cpu_unreadable(moved + PAGE_SIZE) == 0,
	   "R-GUARD-KEEP: munmap took it: a new mapping there has no guard");
	gt_teardown("keep", t, 1);
}

static void in_a_thp(void)
{
	struct task_struct *t[1];

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("gthp");
	if (!gt_thp(GB)) {	/* maps, advises and populates the 2 MiB */
		ok(false, "setup: the region is a THP");
		gt_teardown("thp", t, 1);
		return;
	}
	gt_fill(GB, HPAGE_PMD_NR, 6);
	is_int(madv(GB + 5 * PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL), 0,
	       "R-GUARD-THP: a guard on one page of a THP");
	ok(!test_pmd_mapped(current->mm, GB) && guard_at(GB + 5 * PAGE_SIZE),
	   "R-GUARD-THP: the PMD was split; the page is a guard");
	is_uint(gt_check(GB, 5, 6) + gt_check(GB + 6 * PAGE_SIZE, HPAGE_PMD_NR - 6, 6), 0,
		"R-GUARD-THP: the other 511 pages keep their data");
	is_int(madv(GB, HPAGE_PMD_SIZE, MADV_COLLAPSE), -EINVAL,
	       "R-GUARD-THP: MADV_COLLAPSE over the guard is -EINVAL");
	ok(guard_at(GB + 5 * PAGE_SIZE), "R-GUARD-THP: ... and the guard stays");
	is_int(madv(GB, HPAGE_PMD_SIZE, MADV_GUARD_INSTALL), 0,
	       "R-GUARD-THP: a guard over the whole 2 MiB");
	is_uint(nr_guards(GB, HPAGE_PMD_NR), HPAGE_PMD_NR, "R-GUARD-THP: 512 guards, no page left");
	is_int(get_mm_counter(current->mm, MM_ANONPAGES), 0, "R-GUARD-THP: MM_ANONPAGES is 0");
	is_int(madv(GB, HPAGE_PMD_SIZE, MADV_GUARD_REMOVE), 0, "R-GUARD-THP: remove them all");
	is_uint(nr_guards(GB, HPAGE_PMD_NR), 0, "R-GUARD-THP: no guard left");
	is_uint(gt_zero_pages(GB, 4), 4, "R-GUARD-THP: the memory reads zeroes");
	gt_teardown("thp", t, 1);
}

static void on_a_file(void)
{
	struct task_struct *t[1];
	unsigned long a, b;
	struct file *f;
	char buf[PAGE_SIZE];
	loff_t pos = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t[0] = test_process("gfile");
	f = memfd_alloc_file("guard", 0);
	if (IS_ERR(f))
		bail_out("memfd_alloc_file");
	memset(buf, 0x6b, sizeof(buf));
	for (int i = 0; i < 4; i++)
		kernel_write(f, buf, sizeof(buf), &pos);
	a = vm_mmap(f, GB, 4 * PAGE_SIZE, GT_RW, MAP_SHARED | MAP_FIXED, 0);
	b = vm_mmap(f, GB + 64 * PAGE_SIZE, 4 * PAGE_SIZE, GT_RW, MAP_SHARED | MAP_FIXED, 0);
	ok(a == GB && b == GB + 64 * PAGE_SIZE, "setup: two shared mappings of a 4-page memfd");
	is_uint(gt_zero_pages(a, 4), 0, "setup: the first maps the data");
	is_int(madv(a + PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL), 0,
	       "R-GUARD-FILE: a guard on page 1 of the first mapping");
	is_int((long)cpu_unreadable(a + PAGE_SIZE), PAGE_SIZE, "R-GUARD-FILE: that mapping cannot reach it");
	ok(!cpu_unreadable(b + PAGE_SIZE) && !gt_zero_pages(b + PAGE_SIZE, 1),
	   "R-GUARD-FILE: the other mapping still reads the data");
	pos = PAGE_SIZE;
	memset(buf, 0, sizeof(buf));
	ok(kernel_read(f, buf, sizeof(buf), &pos) == PAGE_SIZE && buf[0] == 0x6b,
	   "R-GUARD-FILE: ... and so does the file: the page stayed in the cache");
	is_int(madv(a + PAGE_SIZE, PAGE_SIZE, MADV_GUARD_REMOVE), 0, "R-GUARD-FILE: remove it");
	ok(!cpu_unreadable(a + PAGE_SIZE) && !gt_zero_pages(a + PAGE_SIZE, 1),
	   "R-GUARD-FILE: the mapping faults the file's page in again");
	vm_munmap(a, 4 * PAGE_SIZE);
	vm_munmap(b, 4 * PAGE_SIZE);
	fput(f);
	gt_teardown("file", t, 1);
}

int main(void)
{
	plan_no_plan();
	args();
	fault_and_gup();
	over_a_pin();
	what_keeps_them();
	in_a_thp();
	on_a_file();
	return done_testing();
}
