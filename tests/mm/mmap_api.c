// SPDX-License-Identifier: MIT
/*
 * mmap, munmap, mprotect: placement, MAP_FIXED / MAP_FIXED_NOREPLACE,
 * argument errors, splits and merges, vm_flags and vm_page_prot, as Linux's
 * do_mmap(), mmap_region(), do_vmi_munmap() and do_mprotect_pkey() behave.
 */
#include "vma_helpers.h"

#include <pinmm/shmem_fs.h>

#define BASE	0x200000000UL
#define RW	(PROT_READ | PROT_WRITE)

static void placement(void)
{
	struct task_struct *t;
	unsigned long a, b, c, h;
	struct vm_area_struct *vma;

	vt_boot();
	t = vt_process("placement");

	a = vt_mmap(0, 3 * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(!IS_ERR_VALUE(a) && a + 3 * PAGE_SIZE <= t->mm->mmap_base &&
	   a >= t->mm->mmap_base - 16 * PAGE_SIZE,
	   "mmap: without a hint the mapping goes right below mmap_base (top-down)");
	b = vt_mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	is_uint(b, a - PAGE_SIZE, "mmap: the next mapping goes right below the last (top-down)");
	c = vt_mmap(0, 4 * PMD_SIZE + PAGE_SIZE, RW, MAP_PRIVATE);
	ok(!IS_ERR_VALUE(c) && IS_ALIGNED(c, PMD_SIZE),
	   "mmap: an anonymous mapping of 2 MiB or more is 2 MiB aligned so THPs can back it");
	h = vt_mmap(BASE + 5 * PAGE_SIZE, PAGE_SIZE, RW, MAP_PRIVATE);
	is_uint(h, BASE + 5 * PAGE_SIZE, "mmap: a free hint address is used as given");
	h = vt_mmap(BASE + 5 * PAGE_SIZE, PAGE_SIZE, RW, MAP_PRIVATE);
	ok(h != BASE + 5 * PAGE_SIZE && !IS_ERR_VALUE(h),
	   "mmap: a hint that overlaps a mapping is ignored, not replaced");
	vma = vt_vma(a);
	ok(vma && vma->vm_flags == (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC |
				 VM_SOFTDIRTY),
	   "mmap: MAP_PRIVATE PROT_READ|PROT_WRITE gives VM_READ|VM_WRITE|VM_MAY{READ,WRITE,EXEC}, "
	   "and VM_SOFTDIRTY as every new VMA");
	ok(vma && vma_is_anonymous(vma) && is_cow_mapping(vma->vm_flags) &&
	   vma->vm_pgoff == a >> PAGE_SHIFT,
	   "mmap: private anonymous memory is a COW mapping with vm_pgoff = address >> PAGE_SHIFT");
	ok(vma && !(vma->vm_page_prot.pgprot & _PAGE_RW) &&
	   (vma->vm_page_prot.pgprot & _PAGE_PRESENT),
	   "mmap: private writable memory gets read-only PTE protection (the first write COWs)");
	pinmm_task_exit(t);
	test_shutdown_ok("placement");
}

static void arguments(void)
{
	struct task_struct *t;
	unsigned long r;

	vt_boot();
	t = vt_process("args");
	is_int((long)vt_mmap(0, 0, RW, MAP_PRIVATE), -EINVAL, "mmap: length 0 is -EINVAL");
	is_int((long)vt_mmap(0, -(PAGE_SIZE / 2), RW, MAP_PRIVATE), -ENOMEM,
	       "mmap: a length that overflows when page-aligned is -ENOMEM (do_mmap)");
	is_int((long)vt_mmap(0, TASK_SIZE, RW, MAP_PRIVATE), -ENOMEM,
	       "mmap: no room for the length is -ENOMEM");
	is_int((long)vt_mmap(BASE + 1, PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED), -EINVAL,
	       "mmap: MAP_FIXED at an unaligned address is -EINVAL");
	is_int((long)vt_mmap(0, PAGE_SIZE, RW, 0), -EINVAL,
	       "mmap: neither MAP_PRIVATE nor MAP_SHARED is -EINVAL");
	is_int((long)vt_mmap(TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED),
	       -ENOMEM, "mmap: MAP_FIXED past TASK_SIZE is -ENOMEM");
	is_int((long)vm_mmap((struct file *)t, 0, PAGE_SIZE, RW, MAP_PRIVATE, 0), -ENODEV,
	       "mmap: file mappings are not there yet (-ENODEV)");
	is_int(vm_munmap(BASE + 1, PAGE_SIZE), -EINVAL, "munmap: an unaligned start is -EINVAL");
	is_int(vm_munmap(BASE, 0), -EINVAL, "munmap: length 0 is -EINVAL");
	is_int(vm_munmap(BASE, PAGE_SIZE), 0, "munmap: unmapping nothing succeeds");
	is_int(do_mprotect(BASE + 1, PAGE_SIZE, PROT_READ), -EINVAL,
	       "mprotect: an unaligned start is -EINVAL");
	is_int(do_mprotect(BASE, 0, PROT_READ), 0, "mprotect: length 0 succeeds");
	is_int(do_mprotect(BASE, PAGE_SIZE, PROT_READ), -ENOMEM,
	       "mprotect: an unmapped range is -ENOMEM");
	is_int(do_mprotect(BASE, PAGE_SIZE, 0x100), -EINVAL, "mprotect: unknown PROT bits are -EINVAL");
	r = vt_mmap(BASE, PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	is_int(do_mprotect(BASE, 2 * PAGE_SIZE, PROT_READ), -ENOMEM,
	       "mprotect: a range running into a hole is -ENOMEM");
	ok(r == BASE && (vt_vma(BASE)->vm_flags & VM_ACCESS_FLAGS) == VM_READ,
	   "mprotect: the part before the hole was changed anyway (as Linux)");
	pinmm_task_detach();
	pinmm_warn_set_quiet(true);
	is_int((long)vt_mmap(0, PAGE_SIZE, RW, MAP_PRIVATE), -EINVAL,
	       "mmap: a thread without a task has no mm (WARN, -EINVAL)");
	pinmm_warn_set_quiet(false);
	pinmm_task_exit(t);
	test_shutdown_ok("arguments");
}

static void fixed(void)
{
	struct task_struct *t;
	struct vm_area_struct *vma;
	unsigned long r;
	int n;

	vt_boot();
	t = vt_process("fixed");
	vt_mmap(BASE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	r = vt_mmap(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED);
	is_uint(r, BASE + 2 * PAGE_SIZE, "mmap: MAP_FIXED over a mapping succeeds");
	n = vt_nr_vmas(t->mm);
	vma = vt_vma(BASE + 2 * PAGE_SIZE);
	ok(n == 3 && vma && vma->vm_start == BASE + 2 * PAGE_SIZE &&
	   vma->vm_end == BASE + 4 * PAGE_SIZE && (vma->vm_flags & VM_ACCESS_FLAGS) == VM_READ,
	   "mmap: MAP_FIXED replaces the part of the mapping it overlaps (mmap_region), "
	   "leaving the two ends as separate VMAs");
	r = vt_mmap(BASE + 6 * PAGE_SIZE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED_NOREPLACE);
	is_int((long)r, -EEXIST, "mmap: MAP_FIXED_NOREPLACE over a mapping is -EEXIST");
	is_int(vt_nr_vmas(t->mm), 3, "mmap: a refused MAP_FIXED_NOREPLACE changes nothing");
	r = vt_mmap(BASE + 8 * PAGE_SIZE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED_NOREPLACE);
	is_uint(r, BASE + 8 * PAGE_SIZE, "mmap: MAP_FIXED_NOREPLACE in a free range maps there");
	vma = vt_vma(BASE + 8 * PAGE_SIZE);
	ok(vma && vma->vm_start == BASE + 4 * PAGE_SIZE && vma->vm_end == BASE + 12 * PAGE_SIZE,
	   "mmap: ... and merges with the compatible VMA below it");
	r = vt_mmap(BASE, 12 * PAGE_SIZE, PROT_NONE, MAP_SHARED | MAP_FIXED);
	vma = vt_vma(BASE);
	ok(r == BASE && vt_nr_vmas(t->mm) == 1 && vma->vm_end == BASE + 12 * PAGE_SIZE &&
	   (vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) == (VM_SHARED | VM_MAYSHARE),
	   "mmap: MAP_SHARED|MAP_FIXED over three VMAs replaces them with one shared VMA");
	ok(vma->vm_page_prot.pgprot == PAGE_NONE.pgprot,
	   "mmap: PROT_NONE gives PAGE_NONE PTE protection");
	ok(!vma_is_anonymous(vma) && vma_is_shmem(vma) && vma->vm_file &&
	   shmem_mapping(vma->vm_file->f_mapping) && vma->vm_pgoff == 0 &&
	   !is_cow_mapping(vma->vm_flags),
	   "mmap: shared anonymous memory is a shmem file mapped from offset 0, not anon and "
	   "not COW (Linux: shmem_zero_setup)");
	pinmm_task_exit(t);
	test_shutdown_ok("MAP_FIXED");
}

static void munmap_split(void)
{
	struct task_struct *t;
	struct vm_area_struct *lo, *hi;

	vt_boot();
	t = vt_process("munmap");
	vt_mmap(BASE, 10 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	is_int(vm_munmap(BASE + 4 * PAGE_SIZE, 2 * PAGE_SIZE), 0, "munmap: a middle piece");
	lo = vt_vma(BASE);
	hi = vt_vma(BASE + 6 * PAGE_SIZE);
	ok(vt_nr_vmas(t->mm) == 2 && lo && hi && lo != hi && lo->vm_end == BASE + 4 * PAGE_SIZE &&
	   hi->vm_start == BASE + 6 * PAGE_SIZE && hi->vm_end == BASE + 10 * PAGE_SIZE,
	   "munmap: unmapping the middle of a VMA splits it into two VMAs");
	is_uint(hi->vm_pgoff, lo->vm_pgoff + 6,
		"munmap: the upper piece's vm_pgoff moves with its start (__split_vma)");
	ok(!vt_vma(BASE + 4 * PAGE_SIZE) && !vt_vma(BASE + 5 * PAGE_SIZE),
	   "munmap: the middle is unmapped");
	is_uint(t->mm->total_vm, 8, "munmap: total_vm drops by the pages unmapped");
	is_int(vm_munmap(BASE + 3 * PAGE_SIZE, 4 * PAGE_SIZE), 0,
	       "munmap: a range across a hole and two VMA ends");
	ok(vt_nr_vmas(t->mm) == 2 && vt_vma(BASE)->vm_end == BASE + 3 * PAGE_SIZE &&
	   vt_vma(BASE + 7 * PAGE_SIZE)->vm_start == BASE + 7 * PAGE_SIZE,
	   "munmap: both VMAs are trimmed at the range ends");
	is_int(vm_munmap(BASE, 10 * PAGE_SIZE), 0, "munmap: everything");
	ok(vt_nr_vmas(t->mm) == 0 && t->mm->total_vm == 0, "munmap: no VMA and total_vm 0 left");
	pinmm_task_exit(t);
	test_shutdown_ok("munmap split");
}

static void mprotect_split_merge(void)
{
	struct task_struct *t;
	struct vm_area_struct *vma;
	struct mm_struct *mm;

	vt_boot();
	t = vt_process("mprotect");
	mm = t->mm;
	vt_mmap(BASE, 10 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	is_int(do_mprotect(BASE + 4 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ), 0,
	       "mprotect: the middle of a VMA read-only");
	vma = vt_vma(BASE + 4 * PAGE_SIZE);
	ok(vt_nr_vmas(mm) == 3 && vma->vm_start == BASE + 4 * PAGE_SIZE &&
	   vma->vm_end == BASE + 6 * PAGE_SIZE && (vma->vm_flags & VM_ACCESS_FLAGS) == VM_READ &&
	   (vma->vm_flags & VM_MAYWRITE),
	   "mprotect: the VMA splits in three; the middle has VM_READ and keeps VM_MAYWRITE");
	is_int(do_mprotect(BASE + 4 * PAGE_SIZE, 2 * PAGE_SIZE, RW), 0,
	       "mprotect: the middle back to read-write");
	vma = vt_vma(BASE);
	ok(vt_nr_vmas(mm) == 1 && vma->vm_end == BASE + 10 * PAGE_SIZE,
	   "mprotect: restoring the protection merges the three VMAs back into one");
	is_int(do_mprotect(BASE, 10 * PAGE_SIZE, PROT_READ | PROT_EXEC), 0, "mprotect: all r-x");
	vma = vt_vma(BASE);
	ok(vt_nr_vmas(mm) == 1 && (vma->vm_flags & VM_ACCESS_FLAGS) == (VM_READ | VM_EXEC) &&
	   !(vma->vm_page_prot.pgprot & _PAGE_NX),
	   "mprotect: a whole VMA changes in place; VM_EXEC clears NX in vm_page_prot");

	/* A shared mapping that may never be written (a read-only file in Linux). */
	vt_mmap(BASE + 16 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED);
	mmap_write_lock(mm);
	vma_lookup(mm, BASE + 16 * PAGE_SIZE)->vm_flags &= ~VM_MAYWRITE;
	mmap_write_unlock(mm);
	is_int(do_mprotect(BASE + 16 * PAGE_SIZE, PAGE_SIZE, RW), -EACCES,
	       "mprotect: PROT_WRITE on a shared mapping without VM_MAYWRITE is -EACCES");
	is_int(do_mprotect(BASE + 16 * PAGE_SIZE, PAGE_SIZE, PROT_NONE), 0,
	       "mprotect: ... while PROT_NONE on it is fine");
	vt_mmap(BASE + 20 * PAGE_SIZE, 2 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED);
	vma = vt_vma(BASE + 20 * PAGE_SIZE);
	ok((vma->vm_page_prot.pgprot & _PAGE_RW) && vma_pages(vma) == 2,
	   "mprotect: shared writable memory gets writable PTE protection (protection_map)");
	pinmm_task_exit(t);
	test_shutdown_ok("mprotect split/merge");
}

int main(void)
{
	plan_no_plan();
	placement();
	arguments();
	fixed();
	munmap_split();
	mprotect_split_merge();
	return done_testing();
}
