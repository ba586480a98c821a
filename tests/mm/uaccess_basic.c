// SPDX-License-Identifier: MIT
/*
 * CPU access to user memory (copy_to_user & co.) and access_process_vm():
 * faults like a CPU, -EFAULT on holes and read-only mappings, PFNMAP frames
 * readable without a struct page, FOLL_FORCE writes that COW private
 * read-only mappings and never touch shared ones.
 */
#include "pt_helpers.h"

#include <pinmm/gup.h>
#include <string.h>

static void rw_and_protection(void)
{
	struct task_struct *t;
	unsigned long v = 0, hole = PT_BASE + 16 * PAGE_SIZE;
	char buf[3 * PAGE_SIZE], back[3 * PAGE_SIZE];

	pt_boot();
	t = test_process("uaccess");
	test_mmap_fixed(PT_BASE, 4 * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	is_uint(copy_to_user((void __user *)(PT_BASE + 100), buf, sizeof(buf)), 0,
		"uaccess: copy_to_user across page boundaries copies everything (returns 0)");
	is_uint(copy_from_user(back, (void __user *)(PT_BASE + 100), sizeof(back)), 0,
		"uaccess: copy_from_user reads it back");
	ok(!memcmp(buf, back, sizeof(buf)), "uaccess: the bytes are the same");
	is_uint(clear_user((void __user *)(PT_BASE + 200), 10), 0, "uaccess: clear_user");
	is_uint(pt_get(PT_BASE + 200), 0, "uaccess: cleared bytes read zero");
	is_uint(copy_to_user((void __user *)(PT_BASE + 4 * PAGE_SIZE - 8), buf, 16), 8,
		"uaccess: a copy running into a hole stops there: bytes NOT copied returned");
	is_int(get_user(v, (unsigned long __user *)hole), -EFAULT, "uaccess: get_user on a hole is -EFAULT");
	is_uint(v, 0, "uaccess: get_user zeroes its target on failure");
	is_int(put_user(1UL, (unsigned long __user *)hole), -EFAULT, "uaccess: put_user on a hole is -EFAULT");

	is_int(do_mprotect(PT_BASE, 4 * PAGE_SIZE, PROT_READ), 0, "uaccess: mprotect(PROT_READ)");
	is_int(put_user(5UL, (unsigned long __user *)PT_BASE), -EFAULT,
	       "uaccess: a write to a PROT_READ mapping is -EFAULT (SIGSEGV fault)");
	is_uint(copy_to_user((void __user *)(PT_BASE + PAGE_SIZE), buf, 8), 8,
		"uaccess: copy_to_user to it copies nothing");
	is_int(get_user(v, (unsigned long __user *)(PT_BASE + 200)), 0,
	       "uaccess: reads still work");
	is_int(do_mprotect(PT_BASE, 4 * PAGE_SIZE, PROT_NONE), 0, "uaccess: mprotect(PROT_NONE)");
	is_int(get_user(v, (unsigned long __user *)(PT_BASE + 200)), -EFAULT,
	       "uaccess: a read of PROT_NONE memory is -EFAULT");
	is_int(do_mprotect(PT_BASE, 4 * PAGE_SIZE, PT_RW), 0, "uaccess: mprotect back to RW");
	is_uint(copy_from_user(back, (void __user *)(PT_BASE + 100), sizeof(back)), 0,
		"uaccess: the data survived PROT_NONE and back");
	ok(!memcmp(buf + 200 - 100 + 10, back + 200 - 100 + 10, 64),
	   "uaccess: ... unchanged");
	pt_teardown("rw_and_protection", &t, 1);
}

static void pfnmap_read(void)
{
	struct task_struct *t;
	unsigned long addr, v = 0, pattern = 0x5a5aa5a5deadbeefUL;
	struct vm_area_struct *vma;

	pt_boot();
	t = test_process("pfnmap");
	*(unsigned long *)pfn_to_virt(pinmm_mmio_pfn + 1) = pattern;
	addr = pinmm_map_device(pinmm_mmio_pfn, 2 * PAGE_SIZE, PT_RW);
	ok(!IS_ERR_VALUE(addr), "uaccess: a device BAR is mapped (remap_pfn_range)");
	vma = pt_vma(t->mm, addr);
	ok(vma && (vma->vm_flags & (VM_IO | VM_PFNMAP)) == (VM_IO | VM_PFNMAP) &&
	   pte_special(pt_pte(t->mm, addr)) &&
	   !vm_normal_page(vma, addr, pt_pte(t->mm, addr)),
	   "uaccess: its PTEs are special; vm_normal_page gives NULL");
	is_int(get_user(v, (unsigned long __user *)(addr + PAGE_SIZE)), 0,
	       "uaccess: a PFNMAP frame without a struct page is readable");
	is_uint(v, pattern, "uaccess: ... and holds what the device wrote");
	is_int(put_user(7UL, (unsigned long __user *)addr), 0, "uaccess: and writable");
	is_uint(*(unsigned long *)pfn_to_virt(pinmm_mmio_pfn), 7, "uaccess: the device sees the write");
	is_int(access_process_vm(t, addr + PAGE_SIZE, &v, sizeof(v), 0), sizeof(v),
	       "uaccess: access_process_vm reads PFNMAP memory too");
	pt_teardown("pfnmap_read", &t, 1);
}

static void forced_access(void)
{
	struct task_struct *t, *tracer;
	unsigned long v = 1234, r = 0, zero_before;
	struct folio *folio;

	pt_boot();
	tracer = pinmm_task_create("tracer");
	t = test_process("tracee");
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	test_mmap_fixed(PT_BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED);
	pt_get(PT_BASE);
	zero_before = test_pt_pfn(t->mm, PT_BASE);
	pinmm_task_attach(tracer);
	is_int(access_process_vm(t, PT_BASE, &v, sizeof(v), FOLL_WRITE), 0,
	       "uaccess: access_process_vm cannot write a read-only mapping without FOLL_FORCE");
	is_int(access_process_vm(t, PT_BASE, &v, sizeof(v), FOLL_WRITE | FOLL_FORCE), sizeof(v),
	       "uaccess: FOLL_FORCE writes a private read-only mapping (ptrace)");
	is_int(access_process_vm(t, PT_BASE + PAGE_SIZE, &v, sizeof(v), FOLL_WRITE | FOLL_FORCE), 0,
	       "uaccess: FOLL_FORCE never writes a shared read-only mapping");
	is_int(access_process_vm(t, PT_BASE, &r, sizeof(r), 0), sizeof(r),
	       "uaccess: access_process_vm reads it back");
	is_uint(r, 1234, "uaccess: the forced write is there");
	pinmm_task_attach(t);
	folio = pt_folio(t->mm, PT_BASE);
	ok(zero_before == pinmm_zero_pfn && folio && folio_test_anon(folio) &&
	   PageAnonExclusive(&folio->page) && !pte_write(pt_pte(t->mm, PT_BASE)),
	   "uaccess: the forced write COWed the zero page into a private page; the PTE stays read-only");
	is_int(put_user(1UL, (unsigned long __user *)PT_BASE), -EFAULT,
	       "uaccess: the tracee itself still cannot write there");
	pt_teardown("forced_access", (struct task_struct *[]){ t, tracer }, 2);
}

int main(void)
{
	plan_no_plan();
	rw_and_protection();
	pfnmap_read();
	forced_access();
	return done_testing();
}
