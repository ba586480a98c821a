// SPDX-License-Identifier: MIT
/*
 * madvise(): argument rules and the advice that changes vm_flags, with
 * Linux's errors (madvise_behavior_valid, madvise_walk_vmas,
 * madvise_vma_behavior, madvise_populate). The read-pattern and core-dump
 * advice (MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTDUMP,
 * MADV_DODUMP) as the live 6.18 kernel shows it in /proc/self/smaps
 * VmFlags: "rr" and "sr" exclude each other, NORMAL clears both; "dd".
 */
#include "vma_helpers.h"

#define BASE	0x300000000UL
#define RW	(PROT_READ | PROT_WRITE)

static int madv(unsigned long start, size_t len, int advice)
{
	return do_madvise(current->mm, start, len, advice);
}

static vm_flags_t flags_at(unsigned long addr)
{
	struct vm_area_struct *vma = vt_vma(addr);

	return vma ? vma->vm_flags : 0;
}

static void arguments(void)
{
	struct task_struct *t;

	vt_boot();
	t = vt_process("madv-args");
	vt_mmap(BASE, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	is_int(madv(BASE, PAGE_SIZE, 12345), -EINVAL, "madvise: unknown advice is -EINVAL");
	is_int(madv(BASE, PAGE_SIZE, MADV_REMOVE), -EINVAL,
	       "madvise: MADV_REMOVE of private anonymous memory (no file to punch) is -EINVAL");
	is_int(madv(BASE, PAGE_SIZE, MADV_HWPOISON), -EINVAL,
	       "madvise: advice pinmm does not implement (MADV_HWPOISON) is -EINVAL");
	is_int(madv(BASE + 1, PAGE_SIZE, MADV_DONTNEED), -EINVAL,
	       "madvise: an unaligned start is -EINVAL");
	is_int(madv(BASE, 0, MADV_DONTNEED), 0, "madvise: length 0 succeeds");
	is_int(madv(BASE, (size_t)-1, MADV_DONTNEED), -EINVAL,
	       "madvise: a length that overflows when page-aligned is -EINVAL");
	is_int(madv(BASE + 8 * PAGE_SIZE, PAGE_SIZE, MADV_DONTFORK), -ENOMEM,
	       "madvise: advice on an unmapped range is -ENOMEM");
	is_int(madv(BASE + 2 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_DONTFORK), -ENOMEM,
	       "madvise: a range that runs past the mapping is -ENOMEM ...");
	ok((flags_at(BASE + 2 * PAGE_SIZE) & VM_DONTCOPY) && !(flags_at(BASE) & VM_DONTCOPY),
	   "madvise: ... after advising the mapped part (madvise_walk_vmas)");
	is_int(madv(BASE, 4 * PAGE_SIZE, MADV_DONTNEED), 0, "madvise: MADV_DONTNEED on anon memory");
	is_int(madv(BASE + 5 * PAGE_SIZE, PAGE_SIZE, MADV_POPULATE_READ), -ENOMEM,
	       "madvise: MADV_POPULATE_READ of an unmapped range is -ENOMEM");
	pinmm_task_exit(t);
	test_shutdown_ok("madvise arguments");
}

static void fork_flags(void)
{
	struct task_struct *t;
	struct mm_struct *mm;

	vt_boot();
	t = vt_process("madv-fork");
	mm = t->mm;
	vt_mmap(BASE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + 8 * PAGE_SIZE, 2 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED);

	is_int(madv(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_DONTFORK), 0, "madvise: MADV_DONTFORK");
	ok((flags_at(BASE + 2 * PAGE_SIZE) & VM_DONTCOPY) && vt_nr_vmas(mm) == 4,
	   "madvise: MADV_DONTFORK sets VM_DONTCOPY on just the range (split)");
	is_int(madv(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_DOFORK), 0, "madvise: MADV_DOFORK");
	ok(!(flags_at(BASE + 2 * PAGE_SIZE) & VM_DONTCOPY) && vt_nr_vmas(mm) == 2,
	   "madvise: MADV_DOFORK clears it and the pieces merge back");

	is_int(madv(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_WIPEONFORK), 0,
	       "madvise: MADV_WIPEONFORK on private anonymous memory");
	ok((flags_at(BASE + 4 * PAGE_SIZE) & VM_WIPEONFORK) && !(flags_at(BASE) & VM_WIPEONFORK),
	   "madvise: MADV_WIPEONFORK sets VM_WIPEONFORK on the range");
	is_int(madv(BASE + 8 * PAGE_SIZE, PAGE_SIZE, MADV_WIPEONFORK), -EINVAL,
	       "madvise: MADV_WIPEONFORK on a shared mapping is -EINVAL");
	is_int(madv(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_KEEPONFORK), 0,
	       "madvise: MADV_KEEPONFORK");
	ok(!(flags_at(BASE + 4 * PAGE_SIZE) & VM_WIPEONFORK) && vt_nr_vmas(mm) == 2,
	   "madvise: MADV_KEEPONFORK clears VM_WIPEONFORK and the VMAs merge back");

	is_int(madv(BASE, 2 * PAGE_SIZE, MADV_HUGEPAGE), 0, "madvise: MADV_HUGEPAGE");
	ok((flags_at(BASE) & VM_HUGEPAGE) && !(flags_at(BASE) & VM_NOHUGEPAGE) &&
	   !(flags_at(BASE + 2 * PAGE_SIZE) & VM_HUGEPAGE) && vt_nr_vmas(mm) == 3,
	   "madvise: MADV_HUGEPAGE sets VM_HUGEPAGE on the range only");
	is_int(madv(BASE, 8 * PAGE_SIZE, MADV_NOHUGEPAGE), 0, "madvise: MADV_NOHUGEPAGE");
	ok((flags_at(BASE) & VM_NOHUGEPAGE) && !(flags_at(BASE) & VM_HUGEPAGE) &&
	   vt_nr_vmas(mm) == 2,
	   "madvise: MADV_NOHUGEPAGE replaces VM_HUGEPAGE; equal flags merge into one VMA");
	pinmm_task_exit(t);
	test_shutdown_ok("madvise fork/THP flags");
}

static void read_and_dump_flags(void)
{
	const vm_flags_t rw = VM_SEQ_READ | VM_RAND_READ;
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long dev;

	vt_boot();
	t = vt_process("madv-read");
	mm = t->mm;
	vt_mmap(BASE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	is_int(madv(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_RANDOM), 0, "madvise: MADV_RANDOM");
	ok((flags_at(BASE + 2 * PAGE_SIZE) & rw) == VM_RAND_READ && !(flags_at(BASE) & rw) &&
	   vt_nr_vmas(mm) == 3, "madvise: MADV_RANDOM sets VM_RAND_READ on the range only (split)");
	is_int(madv(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, MADV_SEQUENTIAL), 0,
	       "madvise: MADV_SEQUENTIAL");
	is_int((long)(flags_at(BASE + 2 * PAGE_SIZE) & rw), (long)VM_SEQ_READ,
	       "madvise: MADV_SEQUENTIAL replaces VM_RAND_READ with VM_SEQ_READ");
	is_int(madv(BASE, 8 * PAGE_SIZE, MADV_NORMAL), 0, "madvise: MADV_NORMAL");
	ok(!(flags_at(BASE + 2 * PAGE_SIZE) & rw) && vt_nr_vmas(mm) == 1,
	   "madvise: MADV_NORMAL clears both; the pieces merge back");
	is_int(madv(BASE + 6 * PAGE_SIZE, 4 * PAGE_SIZE, MADV_RANDOM), -ENOMEM,
	       "madvise: MADV_RANDOM running into a hole is -ENOMEM ...");
	ok(flags_at(BASE + 7 * PAGE_SIZE) & VM_RAND_READ,
	   "madvise: ... the mapped part advised all the same");
	is_int(madv(BASE, 8 * PAGE_SIZE, MADV_DONTDUMP), 0, "madvise: MADV_DONTDUMP");
	ok((flags_at(BASE) & VM_DONTDUMP) && (flags_at(BASE + 7 * PAGE_SIZE) & VM_DONTDUMP),
	   "madvise: MADV_DONTDUMP sets VM_DONTDUMP");
	is_int(madv(BASE, 8 * PAGE_SIZE, MADV_DODUMP), 0, "madvise: MADV_DODUMP");
	ok(!(flags_at(BASE) & VM_DONTDUMP) && (flags_at(BASE + 7 * PAGE_SIZE) & VM_RAND_READ),
	   "madvise: MADV_DODUMP clears it (and leaves the read advice)");
	dev = pinmm_map_device(pinmm_mmio_pfn, PAGE_SIZE, PROT_READ | PROT_WRITE);
	if (!IS_ERR_VALUE(dev)) {
		ok(flags_at(dev) & VM_DONTDUMP, "madvise: a device mapping is VM_DONTDUMP");
		is_int(madv(dev, PAGE_SIZE, MADV_DODUMP), -EINVAL,
		       "madvise: MADV_DODUMP of a VM_IO|VM_PFNMAP mapping is -EINVAL (never dumped)");
		ok(flags_at(dev) & VM_DONTDUMP, "madvise: ... and it stays VM_DONTDUMP");
		is_int(madv(dev, PAGE_SIZE, MADV_DONTDUMP), 0,
		       "madvise: MADV_DONTDUMP of it is allowed (nothing changes)");
		vm_munmap(dev, PAGE_SIZE);
	} else {
		ok(false, "pinmm_map_device: %ld", (long)dev);
	}
	pinmm_task_exit(t);
	test_shutdown_ok("madvise read and dump flags");
}

static void populate_rules(void)
{
	struct task_struct *t;
	unsigned long dev;

	vt_boot();
	t = vt_process("madv-pop");
	vt_mmap(BASE, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_FIXED);
	is_int(madv(BASE, 4 * PAGE_SIZE, MADV_POPULATE_WRITE), -EINVAL,
	       "madvise: MADV_POPULATE_WRITE on a read-only mapping is -EINVAL");
	is_int(madv(BASE + 4 * PAGE_SIZE, PAGE_SIZE, MADV_POPULATE_READ), -EINVAL,
	       "madvise: MADV_POPULATE_READ on PROT_NONE is -EINVAL");
	is_int(madv(BASE, 4 * PAGE_SIZE, MADV_POPULATE_READ), 0,
	       "madvise: MADV_POPULATE_READ on a readable mapping succeeds");
	dev = pinmm_map_device(pinmm_mmio_pfn, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	ok(!IS_ERR_VALUE(dev), "pinmm_map_device: maps the MMIO window");
	if (!IS_ERR_VALUE(dev)) {
		struct vm_area_struct *vma = vt_vma(dev);

		ok(vma && (vma->vm_flags & (VM_IO | VM_PFNMAP)) == (VM_IO | VM_PFNMAP) &&
		   !vma_is_anonymous(vma) && (vma->vm_flags & VM_SHARED),
		   "pinmm_map_device: a shared VM_IO|VM_PFNMAP VMA that is not anonymous");
		is_int(madv(dev, PAGE_SIZE, MADV_POPULATE_READ), -EINVAL,
		       "madvise: MADV_POPULATE_READ on VM_PFNMAP|VM_IO is -EINVAL");
		is_int(madv(dev, PAGE_SIZE, MADV_DONTFORK), 0,
		       "madvise: MADV_DONTFORK on VM_IO is allowed (Linux's madvise_update_vma)");
		ok(flags_at(dev) & VM_DONTCOPY, "madvise: ... and sets VM_DONTCOPY");
		is_int(madv(dev, PAGE_SIZE, MADV_DOFORK), -EINVAL,
		       "madvise: MADV_DOFORK on VM_IO is -EINVAL");
		is_int(madv(dev, PAGE_SIZE, MADV_DONTNEED), -EINVAL,
		       "madvise: MADV_DONTNEED on VM_PFNMAP is -EINVAL");
		is_int(vm_munmap(dev, 2 * PAGE_SIZE), 0, "munmap: a device mapping");
	}
	pinmm_task_exit(t);
	test_shutdown_ok("madvise populate rules");
}

int main(void)
{
	plan_no_plan();
	arguments();
	fork_flags();
	read_and_dump_flags();
	populate_rules();
	return done_testing();
}
