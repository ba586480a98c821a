// SPDX-License-Identifier: MIT
/*
 * Large folios in shmem (Linux mm/shmem.c shmem_huge_global_enabled(),
 * mm/memory.c do_set_pmd(), mm/huge_memory.c __split_huge_pmd_locked() for
 * file PMDs; /sys/kernel/mm/transparent_hugepage/shmem_enabled):
 *  - with "always" a hole is filled by a PMD-sized folio and a fault maps it
 *    with one PMD; "within_size" only where the file covers the 2 MiB;
 *    "advise" only in MADV_HUGEPAGE mappings; "never" never;
 *  - a pin of a PMD-mapped shmem THP counts in the folio's pincount; a
 *    writable long-term pin is allowed (shmem);
 *  - splitting the PMD mapping (a partial munmap) just drops it: the rest
 *    refaults with PTEs from the same folio; a private mapping copies 4 KiB
 *    on a write;
 *  - truncation into a huge folio zeroes the cut part and unmaps it;
 *  - fork does not copy a file's PMD, even in a VMA fork copies (a private
 *    mapping with COWed pages): the child refaults it from the page cache
 *    (Linux mm/huge_memory.c copy_huge_pmd(): non-anonymous VMAs skipped).
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "helpers.h"

#include <pinmm/huge_mm.h>

static struct folio *cached_order(struct file *f, pgoff_t index, unsigned int *order)
{
	struct folio *folio = fs_cached(f, index);

	*order = folio ? folio_order(folio) : 0;
	return folio;
}

static void always(void)
{
	struct task_struct *t;
	struct folio *folio;
	struct page *pages[4];
	struct file *f;
	unsigned int order;
	unsigned long a;
	long thp0, shmem0, n;

	fs_boot();
	pinmm_shmem_set_huge(SHMEM_HUGE_ALWAYS);
	t = test_process("thp");
	f = fs_memfd("thp", 0);
	do_ftruncate(f, 2 * PMD_SIZE, 1);
	thp0 = fs_stat(NR_SHMEM_THPS);
	shmem0 = fs_stat(NR_SHMEM);
	a = fs_mmap(f, FS_BASE, 2 * PMD_SIZE, FS_RW, MAP_SHARED, 0);
	fs_uwrite(a + 5 * PAGE_SIZE, 64, 1, 0);
	folio = cached_order(f, 5, &order);
	is_uint(order, HPAGE_PMD_ORDER, "shmem THP [always]: the hole was filled by a PMD-sized folio");
	is_int(fs_stat(NR_SHMEM_THPS) - thp0, 1, "shmem THP: nr_shmem_hugepages counts it");
	is_int(fs_stat(NR_SHMEM) - shmem0, HPAGE_PMD_NR, "shmem THP: nr_shmem counts its 512 pages");
	ok(test_pmd_mapped(t->mm, a), "shmem THP: the fault mapped it with one PMD (do_set_pmd)");
	ok(fs_stat(NR_SHMEM_PMDMAPPED) == 1, "shmem THP: nr_shmem_pmdmapped counts the PMD mapping");
	is_int(get_mm_counter(t->mm, MM_SHMEMPAGES), HPAGE_PMD_NR, "shmem THP: rss_shmem is 512 pages");
	n = pin_user_pages_fast(a + 8 * PAGE_SIZE, 4, FOLL_WRITE | FOLL_LONGTERM, pages);
	is_int(n, 4, "shmem THP: a writable long-term GUP-fast pin of the PMD-mapped shmem THP");
	ok(n == 4 && page_folio(pages[0]) == folio && folio_pincount(folio) == 4,
	   "shmem THP: the pins are counted in the large folio's pincount");
	if (n > 0)
		unpin_user_pages(pages, (unsigned long)n);
	is_int(vm_munmap(a + PMD_SIZE - PAGE_SIZE, PAGE_SIZE), 0,
	       "shmem THP: munmap one page inside the PMD");
	ok(!test_pmd_mapped(t->mm, a), "shmem THP: the PMD mapping was dropped (split)");
	is_int(fs_ucheck(a + 5 * PAGE_SIZE, 64, 1, 0), 0,
	       "shmem THP: the data is intact, refaulted by PTEs");
	ok(test_pt_pfn(t->mm, a + 5 * PAGE_SIZE) == folio_pfn(folio) + 5,
	   "shmem THP: ... from the same huge folio, page by page");
	folio_put(folio);
	vm_munmap(a, 2 * PMD_SIZE);
	is_int(do_ftruncate(f, PMD_SIZE / 2, 1), 0, "shmem THP: truncate into the huge folio");
	folio = cached_order(f, 0, &order);
	ok(folio && order == HPAGE_PMD_ORDER, "shmem THP: the folio stays (partial), whole");
	{
		char c = 1;
		loff_t pos = PMD_SIZE / 2 - 1;

		ok(kernel_read(f, &c, 1, &pos) == 1 && c == 0, "shmem THP: ... and reads zeroes up "
		   "to EOF (its cut part was zeroed)");
	}
	if (folio)
		folio_put(folio);
	fput(f);
	pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);
	fs_teardown("always", t);
}

static void private_cow(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a;

	fs_boot();
	pinmm_shmem_set_huge(SHMEM_HUGE_ALWAYS);
	t = test_process("priv");
	f = fs_memfd("priv", 0);
	do_ftruncate(f, PMD_SIZE, 1);	/* sized first, so its first write fills a THP */
	fs_kwrite(f, 0, PMD_SIZE, 2);
	a = fs_mmap(f, FS_BASE, PMD_SIZE, FS_RW, MAP_PRIVATE, 0);
	is_int(fs_ucheck(a, 64, 2, 0), 0, "shmem THP private: reads the file");
	ok(test_pmd_mapped(t->mm, a) && !pte_write(__pte(test_pt_entry(t->mm, a, &(bool){ 0 }))),
	   "shmem THP private: a read maps the THP read-only by a PMD");
	fs_uwrite(a + 3 * PAGE_SIZE, 8, 3, 0);
	ok(!test_pmd_mapped(t->mm, a) && fs_anon_at(t->mm, a + 3 * PAGE_SIZE),
	   "shmem THP private: a write split the PMD and copied 4 KiB into anon memory");
	is_int(fs_kcheck(f, 3 * PAGE_SIZE, 8, 2), 0, "shmem THP private: the file is unchanged");
	vm_munmap(a, PMD_SIZE);
	fput(f);
	pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);
	fs_teardown("private_cow", t);
}

static void policies(void)
{
	static const struct {
		enum shmem_huge mode;
		bool madvise, small_file, want_thp;
		const char *what;
	} rows[] = {
		{ SHMEM_HUGE_NEVER, true, false, false, "never: no THP even with MADV_HUGEPAGE" },
		{ SHMEM_HUGE_ADVISE, false, false, false, "advise: no THP without MADV_HUGEPAGE" },
		{ SHMEM_HUGE_ADVISE, true, false, true, "advise: a THP with MADV_HUGEPAGE" },
		{ SHMEM_HUGE_WITHIN_SIZE, false, true, false,
		  "within_size: no THP where the file does not cover the 2 MiB" },
		{ SHMEM_HUGE_WITHIN_SIZE, false, false, true, "within_size: a THP where it does" },
		{ SHMEM_HUGE_ALWAYS, false, false, true, "always: a THP" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct task_struct *t;
		struct file *f;
		unsigned int order;
		struct folio *folio;
		unsigned long a;

		fs_boot();
		pinmm_shmem_set_huge(rows[i].mode);
		t = test_process("pol");
		f = fs_memfd("pol", 0);
		do_ftruncate(f, rows[i].small_file ? PMD_SIZE - PAGE_SIZE : PMD_SIZE, 1);
		a = fs_mmap(f, FS_BASE, PMD_SIZE, FS_RW, MAP_SHARED, 0);
		if (rows[i].madvise)
			do_madvise(t->mm, a, PMD_SIZE, MADV_HUGEPAGE);
		fs_uwrite(a, 8, 4, 0);
		folio = cached_order(f, 0, &order);
		ok((order == HPAGE_PMD_ORDER) == rows[i].want_thp, "shmem_enabled %s (order %u)",
		   rows[i].what, order);
		if (folio)
			folio_put(folio);
		vm_munmap(a, PMD_SIZE);
		fput(f);
		pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);
		fs_teardown("policies", t);
	}
}

/*
 * A write pin through a clean PMD dirties the folio (mm/gup.c
 * follow_huge_pmd() -> touch_pmd() with FOLL_TOUCH | FOLL_WRITE): a read
 * fault maps a shmem THP writable but clean, and the pin's writes must not
 * be lost to a later writeback or reclaim that trusts the clean state.
 */
static void write_pin_dirties(void)
{
	struct task_struct *t;
	struct folio *folio;
	struct page *page;
	struct file *f;
	unsigned int order;
	unsigned long a;
	char c;
	long n;

	fs_boot();
	pinmm_shmem_set_huge(SHMEM_HUGE_ALWAYS);
	t = test_process("thp-dirty");
	f = fs_memfd("thp-dirty", 0);
	do_ftruncate(f, PMD_SIZE, 1);
	a = fs_mmap(f, FS_BASE, PMD_SIZE, FS_RW, MAP_SHARED, 0);
	if (copy_from_user(&c, (const void __user *)(a + 3 * PAGE_SIZE), 1))
		bail_out("write_pin_dirties: read");
	folio = cached_order(f, 3, &order);
	ok(folio && order == HPAGE_PMD_ORDER && test_pmd_mapped(t->mm, a),
	   "shmem THP: a read fault maps a PMD-sized folio with one PMD");
	if (folio && !folio_test_dirty(folio) && !pmd_dirty(pmdp_get(mm_find_pmd(t->mm, a)))) {
		n = pin_user_pages_unlocked(a + 9 * PAGE_SIZE, 1, &page, FOLL_WRITE);
		ok(n == 1 && folio_test_dirty(folio), "shmem THP: a write pin through the clean "
		   "PMD (slow path, FOLL_TOUCH) marks the folio dirty");
		if (n == 1)
			unpin_user_page(page);
	} else {
		ok(0, "shmem THP: the read fault left the folio and PMD clean (dirty %d)",
		   folio ? folio_test_dirty(folio) : -1);
	}
	if (folio)
		folio_put(folio);
	vm_munmap(a, PMD_SIZE);
	fput(f);
	pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);
	fs_teardown("thp write pin dirties", t);
}

/* fork of a private shmem mapping with an anon_vma: the file's PMD is left for the child to refault */
static void fork_refaults_file_pmd(void)
{
	struct task_struct *t, *child = NULL;
	struct file *f;
	unsigned long a;

	fs_boot();
	pinmm_shmem_set_huge(SHMEM_HUGE_ALWAYS);
	t = test_process("thp-fork");
	f = fs_memfd("thp-fork", 0);
	do_ftruncate(f, 2 * PMD_SIZE, 1);
	fs_kwrite(f, 0, 2 * PMD_SIZE, 4);
	a = fs_mmap(f, FS_BASE, 2 * PMD_SIZE, FS_RW, MAP_PRIVATE, 0);
	is_int(fs_ucheck(a, 64, 4, 0), 0, "shmem THP fork: the first 2 MiB read");
	fs_uwrite(a + PMD_SIZE + PAGE_SIZE, 8, 5, 0);	/* a COWed page: the VMA gets an anon_vma */
	ok(test_pmd_mapped(t->mm, a) && fs_anon_at(t->mm, a + PMD_SIZE + PAGE_SIZE),
	   "shmem THP fork: the file THP is PMD-mapped, a COWed page beside it");
	is_int(pinmm_fork(t, "child", &child), 0, "shmem THP fork: fork");
	ok(!test_pmd_mapped(child->mm, a) && test_pt_pfn(child->mm, a) == -1UL &&
	   fs_anon_at(child->mm, a + PMD_SIZE + PAGE_SIZE),
	   "shmem THP fork: the child got the anon page but not the file's PMD (copy_huge_pmd "
	   "skips a non-anonymous VMA: refaulted from the cache)");
	pinmm_task_attach(child);
	is_int(fs_ucheck(a + 7 * PAGE_SIZE, 64, 4, 7 * PAGE_SIZE), 0,
	       "shmem THP fork: the child reads the file there, refaulted");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	ok(test_pmd_mapped(t->mm, a), "shmem THP fork: the parent keeps its PMD");
	vm_munmap(a, 2 * PMD_SIZE);
	fput(f);
	pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);
	fs_teardown("fork refaults file pmd", t);
}

int main(void)
{
	plan_no_plan();
	always();
	write_pin_dirties();
	private_cow();
	fork_refaults_file_pmd();
	policies();
	return done_testing();
}
