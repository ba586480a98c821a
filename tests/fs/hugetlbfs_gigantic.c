// SPDX-License-Identifier: MIT
/*
 * hugetlbfs files of 1 GiB pages: memfd_create(MFD_HUGETLB | MFD_HUGE_1GB)
 * and MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_1GB (Linux
 * fs/hugetlbfs/inode.c, mm/hugetlb.c, mm/memfd.c, mm/mmap.c).
 *
 * The rules, as Linux 6.18 keeps them (the live kernel here answers the same
 * for the errno and counter rows; docs/hugetlb.md):
 *  - the file's page size is its internal mount's, picked by the MFD_HUGE_*
 *    bits (hugetlb_file_setup(page_size_log)); a size no pool has is
 *    -ENODEV (get_hstate_idx() < 0), not -EINVAL;
 *  - ftruncate to anything but whole 1 GiB pages is -EINVAL
 *    (hugetlbfs_setattr); mmap's length is rounded up to 1 GiB
 *    (ksys_mmap_pgoff, for hugetlbfs files too), an offset inside a page is
 *    -EINVAL (hugetlbfs_file_mmap), munmap inside a page -EINVAL;
 *  - a shared mapping reserves per inode each page not yet in the cache
 *    (hugetlb_reserve_pages for VM_MAYSHARE): -ENOMEM with an empty pool,
 *    nothing reserved; the fault takes the reservation and maps the cache
 *    folio by a PUD leaf; every mapping and a forked child share it;
 *  - truncation and hole punching drop the pages (from every mapping) and
 *    the reservations of the range (remove_inode_hugepages ->
 *    hugetlb_unreserve_pages); a partial punch zeroes in place
 *    (hugetlbfs_zero_partial_page); fallocate puts pages in the cache,
 *    -ENOSPC with an empty pool (hugetlbfs_fallocate);
 *  - gup_longterm's memfd-hugetlb rows at 1 GiB: every long-term pin of a
 *    shared or private mapping works (hugetlbfs needs no dirty tracking:
 *    writable_file_mapping_allowed(), gup_fast_folio_allowed()), pinning the
 *    mapped subpage of the PUD leaf; a cache folio in CMA is migrated to a
 *    free gigantic page outside it first, the cache and every mapping
 *    following, or the pin fails with -ENOMEM and nothing pinned;
 *  - cow.c's non-anonymous rows for memfd hugetlb 1 GiB: a private write
 *    copies the cache page; a R/O long-term pin of the private mapping
 *    breaks COW first so the pin sees later writes (slow and fast).
 *
 * The machine: 3 GiB (4 GiB with a 2 GiB CMA area for the migration rows);
 * gigantic pages are cleared by giving host memory back, and the tests
 * write a few words per page, so the host backs little.
 */
#include "longterm_pin.h"

#include "gup/internal.h"
#include "mem/internal.h"

#include <pinmm/drivers.h>
#include <pinmm/hugetlb.h>

#include <linux/falloc.h>

#define HB	FS_BASE			/* 20 GiB: 1 GiB aligned */
#define GIG	(1UL << 30)
#define GIG_NR	(GIG >> PAGE_SHIFT)
#define MFD_1G	(MFD_HUGETLB | (30U << 26))

static struct hugetlb_counts gc(void)
{
	struct hugetlb_counts c;

	hstate_read_counts(size_to_hstate(GIG), &c);
	return c;
}

static long gset(unsigned long n)
{
	return pinmm_hugepages_set_nr(GIG, n);
}

static pud_t pud_at(struct mm_struct *mm, unsigned long addr)
{
	pud_t v = __pud(0);
	pud_t *pud;

	mmap_read_lock(mm);
	pud = mm_find_pud(mm, addr);
	if (pud)
		v = pudp_get(pud);
	mmap_read_unlock(mm);
	return v;
}

static unsigned long leaf_pfn(struct mm_struct *mm, unsigned long addr)
{
	pud_t pud = pud_at(mm, addr);

	return pud_leaf(pud) ? pud_pfn(pud) : 0;
}

static struct vm_area_struct *gvma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	mmap_read_unlock(mm);
	return vma;
}

static bool in_cma(struct folio *folio)
{
	return is_migrate_cma(get_pfnblock_migratetype(folio_pfn(folio)));
}

static long pins_acquired(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
}

static long pins_released(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
}

static long pin_slow(unsigned long start, unsigned int flags, struct page **page)
{
	long r;

	mmap_read_lock(current->mm);
	r = pin_user_pages(start, 1, flags, page);
	mmap_read_unlock(current->mm);
	return r;
}

static long pin_any(bool fast, unsigned long start, unsigned int flags, struct page **page)
{
	return fast ? pin_user_pages_fast(start, 1, flags, page) : pin_slow(start, flags, page);
}

static struct file *gmemfd(void)
{
	struct file *f = memfd_alloc_file("giga", MFD_1G);

	if (IS_ERR(f))
		bail_out("memfd_create(MFD_HUGE_1GB) = %ld", PTR_ERR(f));
	return f;
}

/* The end of one part: its process exits, its pages and reservations are back, the pool empties. */
static void gteardown(const char *name, struct task_struct *t)
{
	if (t) {
		pinmm_task_detach();
		pinmm_task_exit(t);
	}
	rcu_barrier();
	ok(gc().free == gc().nr && gc().resv == 0,
	   "%s: teardown: every gigantic page free, none reserved", name);
	is_int(gset(0), 0, "%s: teardown: the 1 GiB pool empties", name);
}

/* hugetlb_file_setup by page size, hugetlbfs_setattr, hugetlbfs_file_mmap, reservations. */
static void memfd_shared(void)
{
	struct task_struct *t;
	struct folio *folio;
	struct file *f;
	unsigned long pfn;

	t = test_process("gmemfd");
	is_int(PTR_ERR(memfd_alloc_file("x", MFD_HUGETLB | (24U << 26))), -ENODEV,
	       "memfd: MFD_HUGE_16MB (no such pool) is -ENODEV (hugetlb_file_setup)");
	f = gmemfd();
	ok(is_file_hugepages(f) && hstate_file(f) == size_to_hstate(GIG),
	   "memfd: MFD_HUGETLB|MFD_HUGE_1GB gives a hugetlbfs file of 1 GiB pages");
	is_int(do_ftruncate(f, 2UL << 20, 0), -EINVAL,
	       "memfd: ftruncate to 2 MiB (not whole 1 GiB pages) is -EINVAL");
	is_int(do_ftruncate(f, GIG, 0), 0, "memfd: ftruncate to 1 GiB");
	is_int((long)fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0), -ENOMEM,
	       "memfd: MAP_SHARED with an empty 1 GiB pool is -ENOMEM (the inode's reservation)");
	ok(!gvma(t->mm, HB) && gc().resv == 0, "memfd: no VMA, nothing reserved");
	is_int(gset(2), 2, "memfd: a pool of two gigantic pages");
	is_int((long)fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, (2UL << 20) >> PAGE_SHIFT), -EINVAL,
	       "memfd: an offset inside a 1 GiB page is -EINVAL");
	is_uint(fs_mmap(f, HB, 2UL << 20, FS_RW, MAP_SHARED, 0), HB,
		"memfd: MAP_SHARED of 2 MiB maps (the length is rounded up, as ksys_mmap_pgoff)");
	ok(gvma(t->mm, HB) && gvma(t->mm, HB)->vm_end == HB + GIG &&
	   (gvma(t->mm, HB)->vm_flags & VM_HUGETLB) && hstate_vma(gvma(t->mm, HB)) == size_to_hstate(GIG),
	   "memfd: a VM_HUGETLB VMA of the whole GiB, 1 GiB hstate (hstate_vma by the file)");
	is_uint(gc().resv, 1, "memfd: mmap reserved the file's page (HugePages_Rsvd 1)");
	is_uint(fs_mmap(f, HB + 2 * GIG, GIG, FS_RW, MAP_SHARED, 0), HB + 2 * GIG,
		"memfd: a second shared mapping");
	is_uint(gc().resv, 1, "memfd: it reserves nothing more");
	is_int(test_put_word(HB + 8, 0x1234), 0, "memfd: a write faults");
	is_int(test_put_word(HB + GIG - 8, 0x5678), 0, "memfd: and one at the last word");
	folio = fs_cached(f, 0);
	pfn = leaf_pfn(t->mm, HB);
	ok(folio && folio_test_hugetlb(folio) && folio_order(folio) == PUD_ORDER &&
	   pfn == folio_pfn(folio) && pud_write(pud_at(t->mm, HB)),
	   "memfd: an order-18 hugetlb folio in the cache, mapped writable by a PUD leaf");
	ok(gc().resv == 0 && gc().free == 1, "memfd: the fault consumed the reservation");
	ok(test_get_word(HB + 2 * GIG + 8) == 0x1234 && test_get_word(HB + 3 * GIG - 8) == 0x5678,
	   "memfd: the other mapping sees both writes");
	is_uint(leaf_pfn(t->mm, HB + 2 * GIG), pfn, "memfd: it maps the same folio");
	if (folio) {
		is_int(folio_mapcount(folio), 2, "memfd: mapcount 2 (two PUD mappings)");
		folio_put(folio);
	}
	is_int(vm_munmap(HB, 2UL << 20), -EINVAL, "memfd: munmap inside the gigantic page is -EINVAL");
	is_int(vm_munmap(HB, GIG), 0, "memfd: munmap");
	is_int(vm_munmap(HB + 2 * GIG, GIG), 0, "memfd: munmap the other");
	ok(gc().free == 1 && gc().resv == 0, "memfd: the page stays in the cache after munmap");
	is_uint(fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0), HB, "memfd: mapped again");
	ok(gc().resv == 0 && test_get_word(HB + 8) == 0x1234,
	   "memfd: nothing to reserve (cached), the data is still there");
	vm_munmap(HB, GIG);
	fput(f);
	ok(gc().free == 2 && gc().resv == 0, "memfd: the last fput evicts the file: its page goes back");
	gteardown("memfd_shared", t);
}

/* MAP_SHARED|MAP_ANONYMOUS|MAP_HUGE_1GB: a hugetlbfs file shared across fork. */
static void shared_anon_fork(void)
{
	struct task_struct *t, *child = NULL;
	unsigned long pfn;

	t = test_process("gshanon");
	is_int((long)vm_mmap(NULL, HB, GIG, FS_RW,
			     MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED, 0),
	       -ENOMEM, "shanon: MAP_SHARED|MAP_ANONYMOUS|MAP_HUGE_1GB with an empty pool is -ENOMEM");
	gset(1);
	is_uint(vm_mmap(NULL, HB, GIG, FS_RW,
			MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED, 0), HB,
		"shanon: with one gigantic page it maps (a hugetlbfs file of 1 GiB pages)");
	ok(gvma(t->mm, HB) && gvma(t->mm, HB)->vm_file && hstate_vma(gvma(t->mm, HB)) == size_to_hstate(GIG),
	   "shanon: the VMA's file has the 1 GiB page size");
	test_put_word(HB, 1);
	pfn = leaf_pfn(t->mm, HB);
	ok(pfn && gc().free == 0 && gc().resv == 0, "shanon: the write faulted the pool's page in");
	is_int(pinmm_fork(t, "child", &child), 0, "shanon: fork");
	pinmm_task_attach(t);
	test_put_word(HB, 2);
	pinmm_task_attach(child);
	is_uint(test_get_word(HB), 2, "shanon: the child sees the parent's later write (shared, no COW)");
	is_uint(leaf_pfn(child->mm, HB), pfn, "shanon: the child maps the same gigantic page");
	test_put_word(HB + GIG - 8, 3);
	pinmm_task_attach(t);
	is_uint(test_get_word(HB + GIG - 8), 3, "shanon: the parent sees the child's write");
	pinmm_task_attach(child);
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	is_uint(test_get_word(HB), 2, "shanon: the child's exit leaves the parent's mapping");
	gteardown("shared_anon_fork", t);
}

/* hugetlb_setattr / hugetlbfs_punch_hole / hugetlbfs_fallocate at 1 GiB. */
static void truncate_punch_fallocate(void)
{
	struct task_struct *t;
	struct file *f;
	struct folio *folio;
	unsigned long pfn;

	gset(1);
	t = test_process("gpunch");
	f = gmemfd();
	do_ftruncate(f, GIG, 0);
	fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0);
	is_uint(gc().resv, 1, "truncate: the unfaulted shared mapping holds a reservation");
	is_int(do_ftruncate(f, 0, 0), 0, "truncate: ftruncate to 0 while mapped");
	is_uint(gc().resv, 0, "truncate: gives the reservation back (hugetlb_unreserve_pages)");
	is_uint(test_get_word(HB), ~0UL, "truncate: a fault beyond EOF fails (SIGBUS)");
	vm_munmap(HB, GIG);
	do_ftruncate(f, GIG, 0);
	fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0);
	test_put_word(HB + PAGE_SIZE, 0x11);
	test_put_word(HB + 3 * PAGE_SIZE, 0x33);
	test_put_word(HB + GIG - 8, 0x44);
	pfn = leaf_pfn(t->mm, HB);
	is_int(vfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE_SIZE, 2 * PAGE_SIZE),
	       0, "punch: a hole of 8 KiB inside the gigantic page");
	ok(leaf_pfn(t->mm, HB) == pfn && gc().free == 0,
	   "punch: the page stays, mapped (hugetlbfs_zero_partial_page)");
	ok(test_get_word(HB + PAGE_SIZE) == 0 && test_get_word(HB + 3 * PAGE_SIZE) == 0x33 && test_get_word(HB + GIG - 8) == 0x44,
	   "punch: the hole's bytes read zero, the rest is kept");
	is_int(vfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, GIG), 0,
	       "punch: a hole over the whole gigantic page, while mapped");
	ok(!pud_present(pud_at(t->mm, HB)) && gc().free == 1 && !fs_cached(f, 0),
	   "punch: the PUD is cleared, the page left the cache and is back in the pool");
	is_uint(test_get_word(HB + 3 * PAGE_SIZE), 0, "punch: the next fault maps a fresh zeroed page");
	ok(gc().free == 0 && gc().resv == 0, "punch: (taken without a reservation)");
	vm_munmap(HB, GIG);
	is_int(do_ftruncate(f, 0, 0), 0, "truncate: ftruncate to 0 of a faulted file");
	is_uint(gc().free, 1, "truncate: its page is back in the pool");

	is_int(vfs_fallocate(f, 0, 0, 1), 0, "fallocate: one byte allocates a whole gigantic page");
	folio = fs_cached(f, 0);
	ok(folio && folio_order(folio) == PUD_ORDER && gc().free == 0,
	   "fallocate: the whole page is in the cache");
	is_int(i_size_read(file_inode(f)), 1,
	       "fallocate: i_size is offset + len, 1, not rounded (hugetlbfs_fallocate, as the live kernel)");
	if (folio)
		folio_put(folio);
	is_int(vfs_fallocate(f, 0, GIG, GIG), -ENOSPC,
	       "fallocate: a second page with an empty pool is -ENOSPC");
	is_int(do_ftruncate(f, GIG, 0), 0, "fallocate: ftruncate up to 1 GiB (a grow moves i_size only)");
	is_uint(fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0), HB,
		"fallocate: a mapping of the allocated page reserves nothing");
	is_uint(gc().resv, 0, "fallocate: HugePages_Rsvd 0");
	vm_munmap(HB, GIG);
	do_ftruncate(f, 0, 0);
	fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0);
	is_int(do_ftruncate(f, GIG, 0), 0, "fallocate: a fresh 1 GiB file");
	vm_munmap(HB, GIG);
	fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0);
	is_uint(gc().resv, 1, "fallocate: a mapping reserves its page");
	is_int(vfs_fallocate(f, FALLOC_FL_KEEP_SIZE, 0, GIG), 0, "fallocate: of the reserved page");
	ok(gc().resv == 0 && gc().free == 0, "fallocate: it consumed the inode's reservation");
	vm_munmap(HB, GIG);
	fput(f);
	gteardown("truncate_punch_fallocate", t);
}

/*
 * gup_longterm's cells for "memfd hugetlb" at 1 GiB: ftruncate + fallocate
 * one page, mmap shared or private, write (private: COW-broken), R/O pins
 * after mprotect(PROT_READ); every cell is expected to work.
 */
static void gup_longterm_rows(void)
{
	struct task_struct *t;

	gset(2);
	t = test_process("ggl");
	for (int shared = 1; shared >= 0; shared--) {
		for (int kind = 0; kind < P_GET_RW; kind++) {
			bool ro = kind == P_RO_SLOW || kind == P_RO_FAST;
			struct file *f = gmemfd();
			struct page *page = NULL;
			long n, acq = pins_acquired(), rel = pins_released();
			unsigned long a;

			do_ftruncate(f, GIG, 0);
			vfs_fallocate(f, 0, 0, GIG);
			a = fs_mmap(f, HB, GIG, FS_RW, shared ? MAP_SHARED : MAP_PRIVATE, 0);
			if (a != HB || test_put_word(HB + 16, 0))
				bail_out("set-up of the memfd hugetlb 1 GiB cell");
			if (ro)
				do_mprotect(HB, GIG, PROT_READ);
			n = pin_one(HB + 3 * PAGE_SIZE, kind, &page);
			ok(n == 1 && page && page_to_pfn(page) == leaf_pfn(t->mm, HB) + 3,
			   "gup_longterm [memfd hugetlb (1048576 kB), %s, %s]: works, pins subpage 3 of "
			   "the mapped PUD leaf (got %ld)", shared ? "MAP_SHARED" : "MAP_PRIVATE",
			   pin_name[kind], n);
			ok(page && folio_test_hugetlb(page_folio(page)) &&
			   folio_test_anon(page_folio(page)) == !shared,
			   "gup_longterm [memfd hugetlb (1048576 kB), %s, %s]: %s", shared ? "MAP_SHARED" :
			   "MAP_PRIVATE", pin_name[kind],
			   shared ? "the file's own cache page" : "the private anonymous copy");
			is_int((pins_acquired() - acq) - (pins_released() - rel), 0, "gup_longterm [memfd hugetlb (1048576 kB), %s, %s]: "
			       "pins acquired = released", shared ? "MAP_SHARED" : "MAP_PRIVATE",
			       pin_name[kind]);
			vm_munmap(HB, GIG);
			fput(f);
		}
	}
	gteardown("gup_longterm_rows", t);
}

/*
 * A long-term pin of a shared memfd page in CMA migrates the cache folio to
 * a free gigantic page outside CMA (the cache and every mapping follow), or
 * fails with -ENOMEM and nothing pinned when there is none.
 */
static void longterm_migrates_cache_folio(bool fast)
{
	const char *name = fast ? "lt_fast" : "lt_slow";
	struct task_struct *t;
	struct folio *folio, *cached;
	struct page *page = NULL;
	struct file *f;
	long acq0, rel0;

	is_int(gset(1), 1, "%s: one gigantic page (from CMA)", name);
	t = test_process("glt");
	f = gmemfd();
	do_ftruncate(f, GIG, 0);
	fs_mmap(f, HB, GIG, FS_RW, MAP_SHARED, 0);
	fs_mmap(f, HB + 2 * GIG, GIG, FS_RW, MAP_SHARED, 0);
	test_put_word(HB + PAGE_SIZE, 0x55);
	test_put_word(HB + GIG - 8, 0x56);
	test_get_word(HB + 2 * GIG);
	folio = pfn_folio(leaf_pfn(t->mm, HB));
	ok(in_cma(folio) && leaf_pfn(t->mm, HB + 2 * GIG) == folio_pfn(folio),
	   "%s: the cache folio is in CMA, mapped twice", name);
	acq0 = pins_acquired();
	rel0 = pins_released();
	is_int(pin_any(fast, HB + PAGE_SIZE, FOLL_WRITE | FOLL_LONGTERM, &page), -ENOMEM,
	       "%s: no free gigantic page outside CMA: -ENOMEM", name);
	ok(folio_pincount(folio) == 0 && leaf_pfn(t->mm, HB) == folio_pfn(folio) &&
	   leaf_pfn(t->mm, HB + 2 * GIG) == folio_pfn(folio),
	   "%s: nothing pinned, both mappings unchanged", name);
	is_int((pins_acquired() - acq0) - (pins_released() - rel0), 0,
	       "%s: every pin taken was released", name);
	is_int(gset(3), 3, "%s: two more pages: one in CMA, one outside", name);
	is_int(pin_any(fast, HB + PAGE_SIZE, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "%s: the writable long-term pin of the shared page succeeds", name);
	ok(page && !in_cma(page_folio(page)) && folio_test_hugetlb(page_folio(page)) &&
	   page == folio_page(page_folio(page), 1),
	   "%s: it pins subpage 1 of a gigantic page outside CMA (migrated first)", name);
	cached = fs_cached(f, 0);
	ok(page && cached == page_folio(page), "%s: the page cache holds the new folio", name);
	if (cached)
		folio_put(cached);
	ok(page && leaf_pfn(t->mm, HB) == page_to_pfn(page) - 1 &&
	   leaf_pfn(t->mm, HB + 2 * GIG) == page_to_pfn(page) - 1,
	   "%s: both PUD leaves map it", name);
	ok(test_get_word(HB + PAGE_SIZE) == 0x55 && test_get_word(HB + 3 * GIG - 8) == 0x56,
	   "%s: the data came along", name);
	if (page) {
		*(unsigned long *)page_address(page) = 0x66;
		is_uint(test_get_word(HB + 2 * GIG + PAGE_SIZE), 0x66,
			"%s: the other mapping sees the device's write", name);
		unpin_user_page(page);
	}
	ok(gc().free == 2 && gc().free_cma == 2, "%s: the old page is free in the pool, in CMA", name);
	vm_munmap(HB, GIG);
	vm_munmap(HB + 2 * GIG, GIG);
	fput(f);
	gteardown(name, t);
}

/*
 * cow.c's "non-anonymous memory in private mappings" rows for memfd hugetlb
 * 1 GiB: a private write copies; a R/O long-term pin of the private mapping
 * unshares first, so the pin sees what the process writes afterwards.
 */
static void cow_private_rows(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long cache_pfn;

	gset(2);
	t = test_process("gcow");
	for (int row = 0; row < 3; row++) {
		static const char *const rname[] = { "basic COW", "R/O longterm GUP pin",
						     "R/O longterm GUP-fast pin" };
		struct page *page = NULL;
		long n;

		f = gmemfd();
		do_ftruncate(f, GIG, 0);
		vfs_fallocate(f, 0, 0, GIG);
		fs_mmap(f, HB, GIG, PROT_READ, MAP_SHARED, 0);
		fs_mmap(f, HB + 2 * GIG, GIG, FS_RW, MAP_PRIVATE, 0);
		test_get_word(HB + 2 * GIG);
		cache_pfn = leaf_pfn(t->mm, HB + 2 * GIG);
		ok(cache_pfn && cache_pfn == folio_pfn(fs_cached(f, 0)) &&
		   !pud_write(pud_at(t->mm, HB + 2 * GIG)),
		   "cow [memfd hugetlb (1048576 kB), %s]: the private mapping maps the cache page read-only",
		   rname[row]);
		folio_put(pfn_folio(cache_pfn));	/* fs_cached()'s reference */
		if (row == 0) {
			test_put_word(HB + 2 * GIG, 0xff);
			ok(test_get_word(HB) == 0 && test_get_word(HB + 2 * GIG) == 0xff &&
			   leaf_pfn(t->mm, HB + 2 * GIG) != cache_pfn,
			   "cow [memfd hugetlb (1048576 kB), basic COW]: the write copied; the shared view "
			   "is unchanged");
		} else {
			n = row == 1 ? pin_slow(HB + 2 * GIG, FOLL_LONGTERM, &page) :
				       pin_user_pages_fast(HB + 2 * GIG, 1, FOLL_LONGTERM, &page);
			ok(n == 1 && page_to_pfn(page) != cache_pfn && folio_test_anon(page_folio(page)),
			   "cow [memfd hugetlb (1048576 kB), %s]: the pin broke COW first (an anon copy)",
			   rname[row]);
			test_put_word(HB + 2 * GIG, 0xfe);
			is_uint(n == 1 ? *(unsigned long *)page_address(page) : 0, 0xfe,
				"cow [memfd hugetlb (1048576 kB), %s]: the pin sees the later write",
				rname[row]);
			is_uint(test_get_word(HB), 0, "cow [memfd hugetlb (1048576 kB), %s]: the file is unchanged",
				rname[row]);
			if (n == 1)
				unpin_user_page(page);
		}
		vm_munmap(HB, GIG);
		vm_munmap(HB + 2 * GIG, GIG);
		fput(f);
	}
	gteardown("cow_private_rows", t);
}

int main(void)
{
	plan_no_plan();
	/* 3 GiB: two gigantic pages by alloc_contig_range(); the parts share the machine */
	test_boot(3072, 0, 0);
	memfd_shared();
	shared_anon_fork();
	truncate_punch_fallocate();
	gup_longterm_rows();
	cow_private_rows();
	test_shutdown_ok("3 GiB machine");
	/* 4 GiB, the last two CMA: pages 1 and 2 of the pool in CMA, page 3 outside */
	test_boot(4096, 0, 2048);
	longterm_migrates_cache_folio(false);
	longterm_migrates_cache_folio(true);
	test_shutdown_ok("4 GiB machine with CMA");
	return done_testing();
}
