// SPDX-License-Identifier: MIT
/*
 * Fault-around (Linux mm/memory.c do_read_fault() -> do_fault_around(),
 * mm/filemap.c filemap_map_pages(); /sys/kernel/debug/fault_around_bytes):
 *  - a read fault on a file maps, besides its own page, every page of its
 *    window that the page cache already holds uptodate and unlocked: 16
 *    pages (64 KiB) from the aligned slot below the address, or from the
 *    VMA's start if that is later, never past the VMA, the PTE table or EOF;
 *  - it reads nothing and waits for nothing: an uncached page or a locked
 *    folio is left for its own fault; one PGFAULT for the whole window;
 *  - each page it maps is mapped as a read fault maps it: one folio
 *    reference, one mapcount, rss and nr_mapped; read-only behind
 *    write-notify in a shared writable mapping (the first store still goes
 *    through ->page_mkwrite) and in a private one (a store still COWs);
 *  - write faults do not fault around; shmem faults around too, and maps a
 *    PMD-sized folio under an empty PMD with the PMD, but never a page past
 *    EOF (a huge folio may reach past it: a fault there stays SIGBUS);
 *  - fault_around_bytes: a power of two, rounded down, PAGE_SIZE turns it
 *    off, above 2 MiB is -EINVAL.
 * Shapes checked against the live kernel (6.18, ext4) with /proc/self/pagemap.
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "helpers.h"

#include <pinmm/huge_mm.h>

#define NPAGES	64

/* 'P' for each of the @n pages from @addr that has a present entry, '.' otherwise. */
static const char *mapped(struct mm_struct *mm, unsigned long addr, unsigned int n)
{
	static char buf[NPAGES + 1];

	for (unsigned int i = 0; i < n && i < NPAGES; i++)
		buf[i] = test_pt_pfn(mm, addr + i * PAGE_SIZE) == -1UL ? '.' : 'P';
	buf[min(n, (unsigned int)NPAGES)] = '\0';
	return buf;
}

/* Touch (load) one byte at @addr; the byte, or -1 on a fault that failed. */
static int touch(unsigned long addr)
{
	unsigned char c;

	return copy_from_user(&c, (const void __user *)addr, 1) ? -1 : c;
}

/* A clean, fully cached diskfs file of NPAGES pages except @hole (not cached). */
static struct file *cached_file(const char *name, long hole)
{
	struct file *f = fs_open(name, O_RDWR | O_CREAT);
	char buf[PAGE_SIZE];

	fs_kwrite(f, 0, NPAGES * PAGE_SIZE, 3);
	vfs_fsync(f, 0);
	pinmm_drop_caches();
	for (long i = 0; i < NPAGES; i++) {
		loff_t pos = i * (loff_t)PAGE_SIZE;

		if (i != hole)
			kernel_read(f, buf, PAGE_SIZE, &pos);
	}
	return f;
}

static void window(void)
{
	struct task_struct *t;
	struct folio *f3, *f30;
	struct file *f;
	unsigned long a, disk0, flt0, maj0;
	long mapped0, ref3, ref30;

	fs_boot();
	t = test_process("window");
	f = cached_file("window", 20);
	ok(!fs_cached(f, 20), "setup: page 20 is not cached, the other 63 are");
	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	f3 = fs_cached(f, 3);
	f30 = fs_cached(f, 30);
	ref3 = folio_ref_count(f3);
	ref30 = folio_ref_count(f30);
	disk0 = pinmm_disk_completed();
	flt0 = fs_event(PGFAULT);
	maj0 = fs_event(PGMAJFAULT);
	mapped0 = fs_stat(NR_FILE_MAPPED);

	is_int(touch(a + 5 * PAGE_SIZE), fs_pat(3, 5 * PAGE_SIZE), "a load from page 5 reads the file");
	is_str(mapped(t->mm, a, 32), "PPPPPPPPPPPPPPPP................",
	       "one read fault mapped the 16 cached pages of its aligned 64 KiB window");
	is_uint(fs_event(PGFAULT) - flt0, 1, "... in one fault (PGFAULT +1)");
	is_uint(fs_event(PGMAJFAULT) - maj0, 0, "... a minor one");
	is_uint(pinmm_disk_completed() - disk0, 0, "... that read nothing from the disk");
	is_int(get_mm_counter(t->mm, MM_FILEPAGES), 16, "every page it mapped counts in rss_file");
	is_int(fs_stat(NR_FILE_MAPPED) - mapped0, 16, "... and in nr_mapped");
	is_int(folio_ref_count(f3) - ref3, 1, "a page mapped around holds one folio reference");
	is_int(folio_mapcount(f3), 1, "... and one mapcount");

	/* the next window holds an uncached page (20) and a locked folio (22) */
	{
		struct folio *f22 = fs_cached(f, 22);

		folio_lock(f22);
		is_int(touch(a + 18 * PAGE_SIZE), fs_pat(3, 18 * PAGE_SIZE), "a load from page 18");
		is_str(mapped(t->mm, a, 32), "PPPPPPPPPPPPPPPPPPPP.P.PPPPPPPPP",
		       "its window mapped what is cached and unlocked: not page 20 (not cached), "
		       "not page 22 (locked: fault-around never waits)");
		folio_unlock(f22);
		folio_put(f22);
	}
	ok(!fs_cached(f, 20), "fault-around did not read page 20");
	is_uint(pinmm_disk_completed() - disk0, 0, "... nor anything else");
	is_int(touch(a + 22 * PAGE_SIZE), fs_pat(3, 22 * PAGE_SIZE),
	       "page 22, unlocked, maps on its own fault");
	is_int(touch(a + 20 * PAGE_SIZE), fs_pat(3, 20 * PAGE_SIZE),
	       "page 20 is read from the disk by its own fault");
	is_uint(fs_event(PGMAJFAULT) - maj0, 1, "... a major fault");
	is_int(folio_ref_count(f30) - ref30, 1, "page 30, mapped around, holds its reference");

	vm_munmap(a, NPAGES * PAGE_SIZE);
	is_int(folio_ref_count(f3), ref3, "munmap dropped the references fault-around took");
	is_int(fs_stat(NR_FILE_MAPPED), mapped0, "... and nr_mapped");
	folio_put(f3);
	folio_put(f30);
	fput(f);
	fs_teardown("window", t);
}

static void clipping(void)
{
	struct task_struct *t;
	struct file *f, *s;
	unsigned long a;

	fs_boot();
	t = test_process("clip");
	f = cached_file("clip", -1);

	/* a VMA starting at slot 9 of its table: the window slides to start with it */
	a = fs_mmap(f, FS_BASE + 9 * PAGE_SIZE, 40 * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	touch(a + 5 * PAGE_SIZE);
	is_str(mapped(t->mm, a, 24), "PPPPPPPPPPPPPPPP........",
	       "VMA at slot 9, load at its page 5: 16 pages from the VMA's start (as the live "
	       "kernel does)");
	touch(a + 18 * PAGE_SIZE);
	is_str(mapped(t->mm, a, 40), "PPPPPPPPPPPPPPPPPPPPPPP.................",
	       "... its page 18 (slot 27): the aligned window, slots 16-31");
	vm_munmap(a, 40 * PAGE_SIZE);

	/* a small VMA in the middle of the file: never past its ends */
	a = fs_mmap(f, FS_BASE + PMD_SIZE, 6 * PAGE_SIZE, PROT_READ, MAP_SHARED, 3);
	touch(a);
	is_str(mapped(t->mm, a, 6), "PPPPPP", "a 6-page VMA at file page 3: all six");
	is_int(get_mm_counter(t->mm, MM_FILEPAGES), 6, "... and nothing outside it");
	{
		struct folio *f3 = fs_cached(f, 3);

		ok(f3 && test_pt_pfn(t->mm, a) == folio_pfn(f3), "... its first page is file page 3");
		if (f3)
			folio_put(f3);
	}
	vm_munmap(a, 6 * PAGE_SIZE);

	/* across a PTE-table boundary: the window stops at the table's end */
	a = fs_mmap(f, FS_BASE + 2 * PMD_SIZE - 8 * PAGE_SIZE, 32 * PAGE_SIZE, PROT_READ,
		    MAP_SHARED, 0);
	touch(a + 2 * PAGE_SIZE);
	is_str(mapped(t->mm, a, 16), "PPPPPPPP........",
	       "8 pages before a 2 MiB boundary: the window ends with the PTE table");
	vm_munmap(a, 32 * PAGE_SIZE);

	/* a VMA longer than the file: nothing is mapped past EOF, and no SIGBUS */
	s = fs_open("short", O_RDWR | O_CREAT);
	fs_kwrite(s, 0, 20 * PAGE_SIZE - 100, 4);
	a = fs_mmap(s, FS_BASE + 3 * PMD_SIZE, 32 * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	touch(a + 17 * PAGE_SIZE);
	is_str(mapped(t->mm, a, 32), "................PPPP............",
	       "20-page file in a 32-page VMA, load at 17: its window stops at EOF");
	vm_munmap(a, 32 * PAGE_SIZE);
	fput(s);
	fput(f);
	fs_teardown("clipping", t);
}

static void protections(void)
{
	struct task_struct *t;
	struct folio *f9;
	struct file *f;
	unsigned long a;
	bool leaf;

	fs_boot();
	t = test_process("prot");
	f = cached_file("prot", -1);

	/* shared writable diskfs mapping: write-notify stays in force */
	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	touch(a);
	is_str(mapped(t->mm, a, 16), "PPPPPPPPPPPPPPPP", "shared writable: a load maps the window");
	ok(!pte_write(__pte(test_pt_entry(t->mm, a + 9 * PAGE_SIZE, &leaf))),
	   "... read-only: the file needs dirty tracking (write-notify)");
	f9 = fs_cached(f, 9);
	ok(!folio_test_dirty(f9), "... and the folios stay clean");
	is_uint(fs_uwrite(a + 9 * PAGE_SIZE, 8, 5, 0), 0, "a store to page 9, mapped around");
	ok(folio_test_dirty(f9) && pte_write(__pte(test_pt_entry(t->mm, a + 9 * PAGE_SIZE, &leaf))),
	   "... went through ->page_mkwrite: the folio is dirty, the entry writable");
	folio_put(f9);
	is_uint(fs_uwrite(a + 40 * PAGE_SIZE, 8, 5, 0), 0, "a store to an unmapped page (40)");
	is_str(mapped(t->mm, a + 32 * PAGE_SIZE, 16), "........P.......",
	       "... maps that page alone: write faults do not fault around (the live kernel too)");
	vm_munmap(a, NPAGES * PAGE_SIZE);

	/* private mapping: read-only around, a store copies */
	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	touch(a + 33 * PAGE_SIZE);
	is_str(mapped(t->mm, a + 32 * PAGE_SIZE, 16), "PPPPPPPPPPPPPPPP",
	       "private: a load maps the window");
	ok(!pte_write(__pte(test_pt_entry(t->mm, a + 34 * PAGE_SIZE, &leaf))) &&
	   !fs_anon_at(t->mm, a + 34 * PAGE_SIZE),
	   "... the page-cache pages, read-only");
	is_uint(fs_uwrite(a + 34 * PAGE_SIZE, 8, 6, 0), 0, "a store to page 34, mapped around");
	ok(fs_anon_at(t->mm, a + 34 * PAGE_SIZE) && !fs_anon_at(t->mm, a + 35 * PAGE_SIZE),
	   "... copied it (COW); its neighbours are still the cache's");
	is_int(fs_kcheck(f, 34 * PAGE_SIZE, PAGE_SIZE, 3), 0, "... and the file did not change");
	vm_munmap(a, NPAGES * PAGE_SIZE);
	fput(f);
	fs_teardown("protections", t);
}

static void shmem(void)
{
	struct task_struct *t;
	struct file *m;
	unsigned long a;

	fs_boot();
	t = test_process("shm");
	m = fs_memfd("shm", 0);
	fs_kwrite(m, 0, NPAGES * PAGE_SIZE, 7);
	a = fs_mmap(m, FS_BASE, NPAGES * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	touch(a + 40 * PAGE_SIZE);
	is_str(mapped(t->mm, a, NPAGES),
	       "................................PPPPPPPPPPPPPPPP................",
	       "shmem: a load maps its window of the cache too (shmem_vm_ops.map_pages)");
	is_int(get_mm_counter(t->mm, MM_SHMEMPAGES), 16, "... counted in rss_shmem");
	vm_munmap(a, NPAGES * PAGE_SIZE);
	fput(m);

	/* a PMD-sized folio under an empty PMD: the PMD maps it */
	pinmm_shmem_set_huge(SHMEM_HUGE_ALWAYS);
	m = fs_memfd("shm-thp", 0);
	do_ftruncate(m, PMD_SIZE, 1);
	fs_kwrite(m, 0, PMD_SIZE, 8);
	{
		struct folio *folio = fs_cached(m, 0);

		ok(folio && folio_order(folio) == HPAGE_PMD_ORDER, "shmem THP: a PMD-sized folio");
		if (folio)
			folio_put(folio);
	}
	a = fs_mmap(m, FS_BASE, PMD_SIZE, PROT_READ, MAP_SHARED, 0);
	touch(a + 100 * PAGE_SIZE);
	ok(test_pmd_mapped(t->mm, a), "shmem THP: a load maps it with one PMD through fault-around");
	is_int(fs_ucheck(a, PMD_SIZE, 8, 0), 0, "shmem THP: ... all of it right");
	vm_munmap(a, PMD_SIZE);

	/* cut to two pages: the huge folio stays whole, reaching past EOF */
	do_ftruncate(m, 2 * PAGE_SIZE, 1);
	a = fs_mmap(m, FS_BASE, PMD_SIZE, PROT_READ, MAP_SHARED, 0);
	is_int(touch(a + 5 * PAGE_SIZE), -1,
	       "shmem THP past EOF, PMD-aligned: a load at page 5 is still SIGBUS (no PMD for "
	       "a fault past EOF)");
	ok(!test_pmd_mapped(t->mm, a), "... nothing was mapped");
	vm_munmap(a, PMD_SIZE);
	a = fs_mmap(m, FS_BASE + PMD_SIZE + PAGE_SIZE, PMD_SIZE, PROT_READ, MAP_SHARED, 0);
	is_int(touch(a), fs_pat(8, 0), "... not aligned: a load at page 0 reads the file");
	is_str(mapped(t->mm, a, 8), "PP......",
	       "... and maps only the pages before EOF, not the rest of the large folio");
	is_int(touch(a + 5 * PAGE_SIZE), -1, "... a load at page 5 is SIGBUS");
	vm_munmap(a, PMD_SIZE);
	fput(m);
	pinmm_shmem_set_huge(SHMEM_HUGE_NEVER);
	fs_teardown("shmem", t);
}

static void knob(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a, flt0;

	fs_boot();
	is_uint(pinmm_fault_around_bytes(), 65536, "fault_around_bytes is 64 KiB at boot");
	is_int(pinmm_set_fault_around_bytes(4UL << 20), -EINVAL, "above 2 MiB is -EINVAL");
	is_uint(pinmm_fault_around_bytes(), 65536, "... and changes nothing");
	is_int(pinmm_set_fault_around_bytes(100 << 10), 0, "100 KiB is accepted");
	is_uint(pinmm_fault_around_bytes(), 65536, "... rounded down to a power of two: 64 KiB");
	pinmm_set_fault_around_bytes(32 << 10);
	t = test_process("knob");
	f = cached_file("knob", -1);
	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	touch(a + 9 * PAGE_SIZE);
	is_str(mapped(t->mm, a, 16), "........PPPPPPPP", "32 KiB: an 8-page window");
	is_int(pinmm_set_fault_around_bytes(PAGE_SIZE), 0, "PAGE_SIZE turns it off");
	flt0 = fs_event(PGFAULT);
	is_int(fs_ucheck(a + 32 * PAGE_SIZE, 4 * PAGE_SIZE, 3, 32 * PAGE_SIZE), 0,
	       "four loads on four pages read the file");
	is_str(mapped(t->mm, a + 32 * PAGE_SIZE, 8), "PPPP....", "... each mapped its own page");
	is_uint(fs_event(PGFAULT) - flt0, 4, "... in four faults");
	vm_munmap(a, NPAGES * PAGE_SIZE);
	fput(f);
	fs_teardown("knob", t);
	fs_boot();
	is_uint(pinmm_fault_around_bytes(), 65536, "a new boot starts again at 64 KiB");
	test_shutdown_ok("knob-reboot");
}

int main(void)
{
	plan_no_plan();
	window();
	clipping();
	protections();
	shmem();
	knob();
	return done_testing();
}
