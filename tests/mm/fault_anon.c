// SPDX-License-Identifier: MIT
/*
 * Anonymous faults (Linux do_anonymous_page / do_wp_page): the zero page for
 * reads, a zeroed exclusive folio for writes, reuse of a page only this mm
 * uses, and a copy of a page someone else holds a reference on.
 */
#include "pt_helpers.h"

#include <string.h>

static void zero_page_then_write(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long frames0, tables0, anon0, buf[PAGE_SIZE / sizeof(long)];
	struct folio *folio;
	bool zero = true;
	pte_t pte;

	pt_boot();
	t = test_process("fault");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, 4 * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	frames0 = pinmm_frames_in_use();
	tables0 = global_node_page_state_snapshot(NR_PAGETABLE);
	anon0 = global_node_page_state_snapshot(NR_ANON_MAPPED);

	for (int i = 0; i < 4; i++) {
		memset(buf, 0xaa, sizeof(buf));
		is_uint(copy_from_user(buf, (void __user *)(PT_BASE + i * PAGE_SIZE), PAGE_SIZE), 0,
			"fault: a read of untouched private anon memory succeeds (page %d)", i);
		for (size_t j = 0; j < ARRAY_SIZE(buf); j++)
			zero &= buf[j] == 0;
	}
	ok(zero, "fault: untouched private anon memory reads as zeroes");
	pte = pt_pte(mm, PT_BASE + PAGE_SIZE);
	ok(pte_present(pte) && pte_pfn(pte) == pinmm_zero_pfn && pte_special(pte) && !pte_write(pte),
	   "fault: a read maps the shared zero page, special and read-only (do_anonymous_page)");
	is_uint(pinmm_frames_in_use() - frames0,
		(unsigned long)(global_node_page_state_snapshot(NR_PAGETABLE) - tables0),
		"fault: reading untouched anon memory allocates nothing but page tables");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), (long)anon0,
	       "fault: zero-page mappings are not anon pages (nr_anon_pages unchanged)");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 0, "fault: zero-page mappings are not in rss");

	is_int(pt_put(PT_BASE + PAGE_SIZE, 0x1234), 0, "fault: a write succeeds");
	pte = pt_pte(mm, PT_BASE + PAGE_SIZE);
	folio = pt_folio(mm, PT_BASE + PAGE_SIZE);
	ok(pte_present(pte) && pte_write(pte) && pte_dirty(pte) && !is_zero_pfn(pte_pfn(pte)),
	   "fault: a write to the zero-page PTE replaces it by a writable, dirty page");
	ok(folio && folio_test_anon(folio) && PageAnonExclusive(&folio->page) &&
	   folio_mapcount(folio) == 1 && folio_ref_count(folio) == 1,
	   "fault: the new page is anon, PageAnonExclusive, mapped once, one reference");
	ok(folio && folio_anon_vma(folio) == pt_vma(mm, PT_BASE)->anon_vma &&
	   folio->index == linear_page_index(pt_vma(mm, PT_BASE), PT_BASE + PAGE_SIZE),
	   "fault: folio->mapping is the VMA's anon_vma, index the linear page index");
	ok(folio && folio_is_zone_movable(folio),
	   "fault: user pages are allocated movable (GFP_HIGHUSER_MOVABLE)");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 1, "fault: rss counts the new anon page");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), (long)anon0 + 1,
	       "fault: nr_anon_pages counts it");
	is_uint(pt_get(PT_BASE + PAGE_SIZE), 0x1234, "fault: the written value reads back");
	is_uint(pt_get(PT_BASE + 2 * PAGE_SIZE), 0, "fault: the neighbour still reads zero");
	pt_teardown("zero_page_then_write", &t, 1);
}

/* Fork, let the child exit: the parent's pages are left non-exclusive, read-only. */
static struct task_struct *fork_and_exit_child(struct task_struct *t)
{
	struct task_struct *child = NULL;

	if (pinmm_fork(t, "child", &child))
		bail_out("fork failed");
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	return t;
}

static void reuse_and_copy(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long pfn0, pfn1, reuse0, copy0;
	struct folio *folio;

	pt_boot();
	t = test_process("cow");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, 2 * PAGE_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE, 1);
	pt_put(PT_BASE + PAGE_SIZE, 2);
	pfn0 = test_pt_pfn(mm, PT_BASE);
	pfn1 = test_pt_pfn(mm, PT_BASE + PAGE_SIZE);
	fork_and_exit_child(t);

	folio = pt_folio(mm, PT_BASE);
	ok(!pte_write(pt_pte(mm, PT_BASE)) && !PageAnonExclusive(&folio->page) &&
	   folio_ref_count(folio) == 1,
	   "cow: after fork (child gone) the page is read-only, not exclusive, one reference");
	reuse0 = ev(COW_REUSE);
	copy0 = ev(COW_FAULT);
	pt_put(PT_BASE, 11);
	is_uint(test_pt_pfn(mm, PT_BASE), pfn0,
		"cow: a page only this mm references is reused on write: same pfn (wp_can_reuse_anon_folio)");
	is_uint(ev(COW_REUSE) - reuse0, 1, "cow: the reuse is counted (pinmm_cow_reuse)");
	is_uint(ev(COW_FAULT) - copy0, 0, "cow: no copy was made");
	ok(PageAnonExclusive(&folio->page) && pte_write(pt_pte(mm, PT_BASE)),
	   "cow: the reused page is exclusive again and mapped writable");

	/* an extra reference (a GET, or a pin) forbids reuse */
	folio = pt_folio(mm, PT_BASE + PAGE_SIZE);
	folio_get(folio);
	reuse0 = ev(COW_REUSE);
	copy0 = ev(COW_FAULT);
	pt_put(PT_BASE + PAGE_SIZE, 22);
	ok(test_pt_pfn(mm, PT_BASE + PAGE_SIZE) != pfn1,
	   "cow: a page with an extra folio_get is copied on write, never reused (refcount > 1)");
	is_uint(ev(COW_FAULT) - copy0, 1, "cow: the copy is counted (pinmm_cow_copy)");
	is_uint(ev(COW_REUSE) - reuse0, 0, "cow: and no reuse");
	is_uint(pt_get(PT_BASE + PAGE_SIZE), 22, "cow: the write landed in the copy");
	is_uint(*(unsigned long *)folio_address(folio), 2,
		"cow: the old page, held by the extra reference, keeps the old data");
	ok(folio_mapcount(folio) == 0 && folio_ref_count(folio) == 1,
	   "cow: the old page is unmapped and only the extra reference keeps it");
	folio_put(folio);

	/* an exclusive page behind a read-only PTE (mprotect) is reused by a forced write */
	do_mprotect(PT_BASE, PAGE_SIZE, PROT_READ);
	ok(!pte_write(pt_pte(mm, PT_BASE)), "cow: mprotect(PROT_READ) write-protects the PTE");
	reuse0 = ev(COW_REUSE);
	copy0 = ev(COW_FAULT);
	mmap_read_lock(mm);
	is_uint(handle_mm_fault(vma_lookup(mm, PT_BASE), PT_BASE, FAULT_FLAG_WRITE, NULL), 0,
		"cow: a kernel (forced) write fault on the read-only PTE succeeds");
	mmap_read_unlock(mm);
	is_uint(test_pt_pfn(mm, PT_BASE), pfn0,
		"cow: a PageAnonExclusive page is reused in place even behind a read-only PTE");
	is_uint(ev(COW_REUSE) - reuse0, 1, "cow: counted as a reuse, not a copy");
	is_uint(ev(COW_FAULT) - copy0, 0, "cow: no copy");
	ok(!pte_write(pt_pte(mm, PT_BASE)) && pte_dirty(pt_pte(mm, PT_BASE)),
	   "cow: without VM_WRITE the reused PTE is dirty but stays read-only (maybe_mkwrite)");
	{
		unsigned long v = 77;

		is_int(access_process_vm(t, PT_BASE, &v, sizeof(v), 0x1 | 0x8), sizeof(v),
		       "cow: a FOLL_FORCE write reaches the exclusive page of a read-only private mapping");
	}
	is_uint(test_pt_pfn(mm, PT_BASE), pfn0, "cow: ... in place (can_follow_write_pte)");
	do_mprotect(PT_BASE, PAGE_SIZE, PT_RW);
	ok(pte_write(pt_pte(mm, PT_BASE)),
	   "cow: mprotect(RW) maps an exclusive anon page writable at once (can_change_pte_writable)");
	is_uint(pt_get(PT_BASE), 77, "cow: the forced write is visible");
	pt_teardown("reuse_and_copy", &t, 1);
}

static void unshare_fault(void)
{
	struct task_struct *t, *child = NULL;
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	unsigned long pfn0;
	vm_fault_t ret;

	pt_boot();
	t = test_process("unshare");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PT_RW, MAP_PRIVATE);
	pt_put(PT_BASE, 5);
	pfn0 = test_pt_pfn(mm, PT_BASE);
	pinmm_fork(t, "child", &child);
	pinmm_task_attach(t);
	mmap_read_lock(mm);
	vma = vma_lookup(mm, PT_BASE);
	ret = handle_mm_fault(vma, PT_BASE, FAULT_FLAG_UNSHARE, NULL);
	mmap_read_unlock(mm);
	is_uint(ret, 0, "unshare: FAULT_FLAG_UNSHARE on a shared anon page succeeds");
	ok(test_pt_pfn(mm, PT_BASE) != pfn0 && PageAnonExclusive(pfn_to_page(test_pt_pfn(mm, PT_BASE))),
	   "unshare: a page the child still maps is copied into an exclusive page");
	ok(!pte_write(pt_pte(mm, PT_BASE)),
	   "unshare: the PTE stays read-only (unshare is not a write)");
	is_uint(pt_get(PT_BASE), 5, "unshare: the copy holds the data");
	quiet_stderr_begin();
	mmap_read_lock(mm);
	ret = handle_mm_fault(vma, PT_BASE, FAULT_FLAG_UNSHARE | FAULT_FLAG_WRITE, NULL);
	mmap_read_unlock(mm);
	quiet_stderr_end();
	ok(ret & VM_FAULT_SIGSEGV, "unshare: UNSHARE together with WRITE is refused");
	pt_teardown("unshare_fault", (struct task_struct *[]){ t, child }, 2);
}

static void sigsegv_sigbus(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	vm_fault_t ret;

	pt_boot();
	t = test_process("sig");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	test_mmap_fixed(PT_BASE + PAGE_SIZE, PAGE_SIZE, PT_RW, MAP_SHARED);
	do_mprotect(PT_BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ);
	mmap_read_lock(mm);
	vma = vma_lookup(mm, PT_BASE);
	ret = handle_mm_fault(vma, PT_BASE, FAULT_FLAG_WRITE | FAULT_FLAG_USER, NULL);
	ok(ret & VM_FAULT_SIGSEGV, "fault: a user write to a VMA without VM_WRITE is SIGSEGV");
	vma = vma_lookup(mm, PT_BASE + PAGE_SIZE);
	ret = handle_mm_fault(vma, PT_BASE + PAGE_SIZE, FAULT_FLAG_WRITE, NULL);
	ok(ret & VM_FAULT_SIGSEGV,
	   "fault: even a forced write never goes into a shared read-only mapping");
	mmap_read_unlock(mm);
	pt_teardown("sigsegv_sigbus", &t, 1);
}

/*
 * A write fault on a PTE that is already writable (another thread raced the
 * fault, or shmem's read fault mapped it writable and clean): Linux's
 * handle_pte_fault() marks the entry dirty and young, nothing more.
 */
static void spurious_write_fault(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	unsigned long pfn;
	uint64_t w = 0;
	vm_fault_t ret;
	pte_t pte;

	pt_boot();
	t = test_process("spurious");
	mm = t->mm;
	test_mmap_fixed(PT_BASE, PAGE_SIZE, PT_RW, MAP_SHARED);
	if (copy_from_user(&w, (void __user *)PT_BASE, sizeof(w)))
		bail_out("read");
	pte = pt_pte(mm, PT_BASE);
	pfn = pte_pfn(pte);
	if (!pte_present(pte) || !pte_write(pte) || pte_dirty(pte)) {
		skip(1, "the read fault did not map a writable clean PTE");
		pt_teardown("spurious_write_fault", &t, 1);
		return;
	}
	mmap_read_lock(mm);
	vma = vma_lookup(mm, PT_BASE);
	ret = handle_mm_fault(vma, PT_BASE, FAULT_FLAG_WRITE | FAULT_FLAG_USER, NULL);
	mmap_read_unlock(mm);
	pte = pt_pte(mm, PT_BASE);
	ok(!(ret & VM_FAULT_ERROR) && pte_present(pte) && pte_pfn(pte) == pfn && pte_write(pte) &&
	   pte_dirty(pte) && pte_young(pte),
	   "fault: a write fault on a writable clean PTE marks it dirty and young "
	   "(handle_pte_fault), the same page");
	pt_teardown("spurious_write_fault", &t, 1);
}

int main(void)
{
	plan_no_plan();
	spurious_write_fault();
	zero_page_then_write();
	reuse_and_copy();
	unshare_fault();
	sigsegv_sigbus();
	return done_testing();
}
