// SPDX-License-Identifier: MIT
/*
 * mmap-level calls and memory contents: munmap frees what it unmaps and
 * keeps the rest; mprotect changes what a CPU access may do and keeps the
 * data; splitting a VMA through a PMD-mapped THP splits the THP first
 * (vma_adjust_trans_huge) and keeps the data; MAP_FIXED over data gives
 * zeroed memory; pinmm_map_device maps device frames a CPU can reach.
 */
#include "vma_helpers.h"

#include <pinmm/memory.h>
#include <pinmm/rcupdate.h>
#include <pinmm/uaccess.h>

#include <string.h>

#define BASE	0x800000000UL
#define RW	(PROT_READ | PROT_WRITE)

static unsigned char buf[PMD_SIZE], want[PMD_SIZE];

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 13 + (i >> 12));
}

static bool readable_as(unsigned long addr, size_t n, int seed, size_t off)
{
	memset(buf, 0xaa, n);
	if (copy_from_user(buf, (const void __user *)addr, n))
		return false;
	if (seed < 0)
		memset(want, 0, off + n);
	else
		fill(want, off + n, (unsigned char)seed);
	return memcmp(buf, want + off, n) == 0;
}

static bool write_pattern(unsigned long addr, size_t n, unsigned char seed)
{
	fill(buf, n, seed);
	return copy_to_user((void __user *)addr, buf, n) == 0;
}

static void protect_and_unmap(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	const size_t len = 16 * PAGE_SIZE;
	unsigned char c = 0;

	vt_boot();
	t = vt_process("content");
	mm = t->mm;
	vt_mmap(BASE, len, RW, MAP_PRIVATE | MAP_FIXED);
	ok(write_pattern(BASE, len, 5), "uaccess: a write to fresh private memory faults pages in");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 16, "fault: every written page is resident");

	do_mprotect(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ);
	is_uint(copy_to_user((void __user *)(BASE + 4 * PAGE_SIZE), &c, 1), 1,
		"mprotect: a write to memory made read-only faults (-EFAULT)");
	ok(readable_as(BASE, len, 5, 0), "mprotect: the data stays readable and unchanged");
	do_mprotect(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_NONE);
	is_uint(copy_from_user(&c, (const void __user *)(BASE + 4 * PAGE_SIZE), 1), 1,
		"mprotect: PROT_NONE memory cannot even be read");
	do_mprotect(BASE, len, RW);
	ok(readable_as(BASE, len, 5, 0) && vt_nr_vmas(mm) == 1,
	   "mprotect: back to read-write, the data is all there and the VMAs merged");
	ok(write_pattern(BASE + 4 * PAGE_SIZE, PAGE_SIZE, 77),
	   "mprotect: the page is writable again");

	is_int(vm_munmap(BASE + 8 * PAGE_SIZE, 4 * PAGE_SIZE), 0, "munmap: four written pages");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 12, "munmap: the unmapped pages leave the rss");
	is_uint(copy_from_user(&c, (const void __user *)(BASE + 8 * PAGE_SIZE), 1), 1,
		"munmap: the range is gone (access faults)");
	ok(readable_as(BASE + 12 * PAGE_SIZE, 4 * PAGE_SIZE, 5, 12 * PAGE_SIZE) &&
	   readable_as(BASE, 4 * PAGE_SIZE, 5, 0),
	   "munmap: the data on both sides survives the split");

	vt_mmap(BASE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	ok(readable_as(BASE, 4 * PAGE_SIZE, -1, 0),
	   "mmap: MAP_FIXED over written memory gives fresh zeroed memory");
	pinmm_task_exit(t);
	test_shutdown_ok("mprotect/munmap contents");
}

static void thp_split(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long addr;
	pmd_t *pmd;
	bool was_huge;

	vt_boot();
	t = vt_process("thp");
	mm = t->mm;
	addr = vt_mmap(0, PMD_SIZE, RW, MAP_PRIVATE);
	do_madvise(mm, addr, PMD_SIZE, MADV_HUGEPAGE);
	ok(IS_ALIGNED(addr, PMD_SIZE) && write_pattern(addr, PMD_SIZE, 9),
	   "THP: a 2 MiB aligned MADV_HUGEPAGE mapping is written");
	mmap_read_lock(mm);
	pmd = mm_find_pmd(mm, addr);
	was_huge = pmd && pmd_trans_huge(pmdp_get(pmd));
	mmap_read_unlock(mm);
	if (!was_huge)
		diag("the write did not map a THP; the split below is then trivial");
	is_int(do_mprotect(addr + 5 * PAGE_SIZE, PAGE_SIZE, PROT_READ), 0,
	       "THP: mprotect of one page inside the THP");
	mmap_read_lock(mm);
	pmd = mm_find_pmd(mm, addr);
	ok(!pmd || !pmd_trans_huge(pmdp_get(pmd)),
	   "THP: splitting the VMA inside a PMD mapping splits the PMD first "
	   "(vma_adjust_trans_huge)");
	mmap_read_unlock(mm);
	ok(readable_as(addr, PMD_SIZE, 9, 0), "THP: every byte survives the split");
	is_int(vt_nr_vmas(mm), 3, "THP: the VMA is in three pieces");
	do_mprotect(addr + 5 * PAGE_SIZE, PAGE_SIZE, RW);
	ok(vt_nr_vmas(mm) == 1 && readable_as(addr, PMD_SIZE, 9, 0),
	   "THP: restoring the protection merges the VMA back; the data is intact");
	is_int(vm_munmap(addr + PMD_SIZE / 2, PMD_SIZE / 2), 0, "THP: munmap of the upper half");
	ok(readable_as(addr, PMD_SIZE / 2, 9, 0), "THP: the lower half keeps its data");
	pinmm_task_exit(t);
	test_shutdown_ok("THP split by VMA split");
}

static void device(void)
{
	struct task_struct *t;
	unsigned long addr;
	unsigned char *frame;

	vt_boot();
	t = vt_process("device");
	addr = pinmm_map_device(pinmm_mmio_pfn, 2 * PAGE_SIZE, RW);
	ok(!IS_ERR_VALUE(addr), "pinmm_map_device: maps the MMIO window");
	frame = pfn_to_virt(pinmm_mmio_pfn + 1);
	ok(write_pattern(addr + PAGE_SIZE, 64, 3), "pinmm_map_device: a CPU store to the mapping");
	fill(want, 64, 3);
	ok(memcmp(frame, want, 64) == 0,
	   "pinmm_map_device: the store reaches the device frame (remap_pfn_range)");
	is_int(get_mm_counter(t->mm, MM_ANONPAGES) + get_mm_counter(t->mm, MM_FILEPAGES), 0,
	       "pinmm_map_device: PFN mappings count no pages");
	pinmm_task_exit(t);
	test_shutdown_ok("device mapping");
}

int main(void)
{
	plan_no_plan();
	protect_and_unmap();
	thp_split();
	device();
	return done_testing();
}
