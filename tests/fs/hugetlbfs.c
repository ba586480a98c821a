// SPDX-License-Identifier: MIT
/*
 * hugetlbfs and memfd_create(MFD_HUGETLB) (Linux fs/hugetlbfs/inode.c,
 * mm/hugetlb.c hugetlb_no_page / hugetlb_add_to_page_cache, mm/memfd.c):
 * shared mappings map the file's 2 MiB cache folio, reserved per inode at
 * mmap (hugetlb_reserve_pages for VM_MAYSHARE) and given back at eviction;
 * a private mapping maps the cache folio read-only and copies it on write;
 * MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB is a hugetlbfs file shared across
 * fork; sizes are whole huge pages (hugetlbfs_setattr -EINVAL); GUP-fast
 * takes a writable long-term pin of a shared hugetlb page (no dirty
 * tracking: gup_fast_folio_allowed) and FOLL_LONGTERM migrates a cache
 * folio out of ZONE_MOVABLE, the cache and every mapping following it;
 * memfd_pin_folios() (mm/gup.c, the udmabuf path) pins a hugetlb memfd's
 * folios by range in huge-page steps, allocating holes from the pool as
 * memfd_alloc_folio() does (-ENOMEM when the pool has none), long-term
 * (out of ZONE_MOVABLE), with *offset inside the first huge page; seals on a
 * hugetlb memfd (mm/memfd.c memfd_add_seals() with HUGETLBFS_I()->seals):
 * F_SEAL_SEAL without MFD_ALLOW_SEALING, SHRINK/GROW refuse ftruncate and a
 * growing fallocate (-EPERM), WRITE is refused while a writable shared
 * mapping exists or a pin holds a folio (memfd_wait_for_pins(): -EBUSY),
 * and once set refuses writable shared mappings and hole punching; read(2)
 * of a hugetlbfs file (hugetlbfs_read_iter(): the cache's folios, zeroes
 * for holes, up to i_size) sees what a mapping and a pin wrote, and write(2)
 * is -EINVAL (no ->write_iter), as the live kernel answers.
 */
#include "helpers.h"

#include "gup/internal.h"

#include <pinmm/hugetlb.h>

#define HB	FS_BASE

static struct hugetlb_counts hc(void)
{
	struct hugetlb_counts c;

	hugetlb_read_counts(&c);
	return c;
}

static vm_flags_t pt_vma_flags(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;
	vm_flags_t f = 0;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma)
		f = vma->vm_flags;
	mmap_read_unlock(mm);
	return f;
}

static void hb_teardown(const char *name, struct task_struct *t)
{
	if (t) {
		pinmm_task_detach();
		pinmm_task_exit(t);
	}
	rcu_barrier();
	ok(hc().free == hc().nr && hc().resv == 0, "%s: teardown: every huge page free, none reserved",
	   name);
	pinmm_hugetlb_set_nr_hugepages(0);
	test_shutdown_ok(name);
}

static void memfd_shared(void)
{
	struct task_struct *t;
	struct file *f;
	struct folio *folio;
	long file0;

	fs_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("hmemfd");
	f = memfd_alloc_file("huge", MFD_HUGETLB);
	ok(!IS_ERR(f) && is_file_hugepages(f), "memfd: MFD_HUGETLB gives a hugetlbfs file");
	is_int(do_ftruncate(f, PAGE_SIZE, 0), -EINVAL,
	       "memfd: ftruncate to a size that is not whole huge pages is -EINVAL");
	is_int(do_ftruncate(f, 2 * HPAGE_SIZE, 0), 0, "memfd: ftruncate to 4 MiB");
	is_uint(fs_mmap(f, HB, 2 * HPAGE_SIZE, FS_RW, MAP_SHARED, 0), HB, "memfd: MAP_SHARED of 4 MiB");
	ok(pt_vma_flags(t->mm, HB) & VM_HUGETLB, "memfd: the VMA is VM_HUGETLB");
	is_uint(hc().resv, 2, "memfd: mmap reserved the file's two huge pages (inode reservation)");
	is_uint(fs_mmap(f, HB + 4 * HPAGE_SIZE, HPAGE_SIZE, FS_RW, MAP_SHARED, 0), HB + 4 * HPAGE_SIZE,
		"memfd: a second shared mapping of the first huge page");
	is_uint(hc().resv, 2, "memfd: it reserves nothing more (already reserved)");
	file0 = fs_stat(NR_FILE_PAGES);
	put_user(0x1234UL, (unsigned long __user *)(HB + 8));
	folio = fs_cached(f, 0);
	ok(folio && folio_test_hugetlb(folio) && test_pt_pfn(t->mm, HB) == folio_pfn(folio),
	   "memfd: the fault put a hugetlb folio in the cache and mapped it");
	{
		unsigned long v = 0;

		get_user(v, (unsigned long __user *)(HB + 4 * HPAGE_SIZE + 8));
		is_uint(v, 0x1234, "memfd: the other mapping sees the write");
	}
	is_uint(test_pt_pfn(t->mm, HB + 4 * HPAGE_SIZE + 8), folio_pfn(folio) + 0,
		"memfd: it maps the same folio");
	ok(hc().resv == 1 && hc().free == 3, "memfd: the fault consumed one reservation");
	is_int(fs_stat(NR_FILE_PAGES) - file0, 0, "memfd: hugetlb cache pages are not Cached");
	is_int(folio_mapcount(folio), 2, "memfd: mapcount 2 (two PMD mappings)");
	folio_put(folio);
	is_int(vm_munmap(HB, 2 * HPAGE_SIZE), 0, "memfd: munmap");
	is_int(vm_munmap(HB + 4 * HPAGE_SIZE, HPAGE_SIZE), 0, "memfd: munmap the other");
	ok(hc().free == 3 && hc().resv == 1, "memfd: the page stays in the cache after munmap");
	fput(f);
	ok(hc().free == 4 && hc().resv == 0,
	   "memfd: the last fput evicts the file: its page and its reservation go back");
	hb_teardown("memfd_shared", t);
}

static void private_cow_of_cache(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long v = 0, cache_pfn;

	fs_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("hpriv");
	f = memfd_alloc_file("huge", MFD_HUGETLB);
	do_ftruncate(f, HPAGE_SIZE, 0);
	fs_mmap(f, HB, HPAGE_SIZE, FS_RW, MAP_SHARED, 0);
	put_user(7UL, (unsigned long __user *)HB);
	cache_pfn = test_pt_pfn(t->mm, HB);
	is_uint(fs_mmap(f, HB + 2 * HPAGE_SIZE, HPAGE_SIZE, FS_RW, MAP_PRIVATE, 0), HB + 2 * HPAGE_SIZE,
		"private: MAP_PRIVATE of the same file");
	get_user(v, (unsigned long __user *)(HB + 2 * HPAGE_SIZE));
	ok(v == 7 && test_pt_pfn(t->mm, HB + 2 * HPAGE_SIZE) == cache_pfn,
	   "private: a read maps the cache folio (read-only)");
	put_user(8UL, (unsigned long __user *)(HB + 2 * HPAGE_SIZE));
	ok(test_pt_pfn(t->mm, HB + 2 * HPAGE_SIZE) != cache_pfn && fs_anon_at(t->mm, HB + 2 * HPAGE_SIZE),
	   "private: a write copies it into an anonymous huge page (hugetlb_wp)");
	get_user(v, (unsigned long __user *)HB);
	is_uint(v, 7, "private: the file keeps its data");
	fput(f);
	hb_teardown("private_cow_of_cache", t);
}

static void shared_anon_fork(void)
{
	struct task_struct *t, *child = NULL;
	unsigned long v = 0;

	fs_boot();
	pinmm_hugetlb_set_nr_hugepages(2);
	t = test_process("hshanon");
	is_uint(vm_mmap(NULL, HB, HPAGE_SIZE, FS_RW,
			MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, 0), HB,
		"shanon: MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB maps (a hugetlbfs file)");
	put_user(1UL, (unsigned long __user *)HB);
	is_int(pinmm_fork(t, "child", &child), 0, "shanon: fork");
	pinmm_task_attach(t);
	put_user(2UL, (unsigned long __user *)HB);
	pinmm_task_attach(child);
	get_user(v, (unsigned long __user *)HB);
	is_uint(v, 2, "shanon: the child sees the parent's later write (shared, no COW)");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	hb_teardown("shared_anon_fork", t);
}

static void longterm_migrates_cache_folio(void)
{
	static struct page *pages[HUGETLB_NR_PAGES];
	struct task_struct *t;
	struct file *f;
	struct folio *folio;
	struct page *page;
	unsigned long old, v = 0;
	long r;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(18);
	t = test_process("hlt");
	f = memfd_alloc_file("huge", MFD_HUGETLB);
	do_ftruncate(f, HPAGE_SIZE, 0);
	fs_mmap(f, HB, HPAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fs_mmap(f, HB + 2 * HPAGE_SIZE, HPAGE_SIZE, FS_RW, MAP_SHARED, 0);
	put_user(0x55UL, (unsigned long __user *)(HB + PAGE_SIZE));
	old = test_pt_pfn(t->mm, HB);
	ok(folio_is_zone_movable(pfn_folio(old)), "lt: the cache folio is a movable pool page");
	r = pin_user_pages_fast(HB + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	is_int(r, 1, "lt: a writable long-term pin of a shared hugetlb page succeeds");
	folio = page_folio(page);
	ok(!folio_is_zone_movable(folio) && folio_test_hugetlb(folio),
	   "lt: it pins a hugetlb folio outside ZONE_MOVABLE (migrated first)");
	ok(fs_cached(f, 0) == folio, "lt: the page cache holds the new folio");
	folio_put(folio);	/* fs_cached()'s reference */
	*(unsigned long *)page_address(page) = 0x66;
	get_user(v, (unsigned long __user *)(HB + 2 * HPAGE_SIZE + PAGE_SIZE));
	is_uint(v, 0x66, "lt: the other mapping follows the cache: it sees the device's write");
	unpin_user_page(page);
	is_int(gup_fast_fallback(HB, HUGETLB_NR_PAGES, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM |
				 FOLL_FAST_ONLY, pages), HUGETLB_NR_PAGES,
	       "lt: GUP-fast alone takes a writable long-term pin of the shared leaf "
	       "(hugetlb needs no dirty tracking)");
	unpin_user_pages(pages, HUGETLB_NR_PAGES);
	fput(f);
	hb_teardown("longterm_migrates_cache_folio", t);
}

static void memfd_pin_hugetlb(void)
{
	struct folio *folios[4], *cached;
	struct task_struct *t;
	struct file *f, *g;
	pgoff_t off = 0;
	long acq0, n;
	unsigned long v = 0;

	test_boot(128, 32, 0);
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("hpin");
	f = memfd_alloc_file("huge", MFD_HUGETLB);
	do_ftruncate(f, 3 * HPAGE_SIZE, 0);
	fs_mmap(f, HB, 3 * HPAGE_SIZE, FS_RW, MAP_SHARED, 0);
	/* huge page 1 is in the cache (a fault), pages 0 and 2 are holes */
	put_user(0x77UL, (unsigned long __user *)(HB + HPAGE_SIZE + 16));
	acq0 = fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED);
	n = memfd_pin_folios(f, HPAGE_SIZE / 2, 3 * HPAGE_SIZE - 1, folios, 4, &off);
	is_int(n, 3, "memfd_pin_folios: a hugetlb memfd's range is three huge folios, holes filled");
	is_uint(off, HPAGE_SIZE / 2, "memfd_pin_folios: *offset is inside the first huge page");
	ok(n == 3 && folio_test_hugetlb(folios[0]) && folio_test_hugetlb(folios[2]) &&
	   folio_maybe_dma_pinned(folios[1]) && folio_is_longterm_pinnable(folios[1]),
	   "memfd_pin_folios: hugetlb folios, pinned, long-term pinnable");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED) - acq0, 3,
	       "memfd_pin_folios: one pin per huge folio");
	cached = fs_cached(f, HUGETLB_NR_PAGES);
	ok(n == 3 && cached == folios[1] &&
	   *(unsigned long *)((char *)folio_address(folios[1]) + 16) == 0x77,
	   "memfd_pin_folios: the second is the cache's folio, with what the process wrote");
	if (cached)
		folio_put(cached);
	*(unsigned long *)folio_address(folios[2]) = 0x88;
	get_user(v, (unsigned long __user *)(HB + 2 * HPAGE_SIZE));
	is_uint(v, 0x88, "memfd_pin_folios: a hole it filled is what the mapping faults in");
	/* a second memfd with no page left in the pool */
	g = memfd_alloc_file("huge2", MFD_HUGETLB);
	do_ftruncate(g, 2 * HPAGE_SIZE, 0);
	is_int(memfd_pin_folios(g, 0, 2 * HPAGE_SIZE - 1, folios + 3, 1, &off), 1,
	       "memfd_pin_folios: max_folios caps it (the pool's last page)");
	is_int(memfd_pin_folios(g, HPAGE_SIZE, 2 * HPAGE_SIZE - 1, folios, 1, &off), -ENOMEM,
	       "memfd_pin_folios: a hole the pool cannot fill is -ENOMEM");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED) - acq0, 4,
	       "memfd_pin_folios: the refused call left no pin behind");
	unpin_folios(folios, 3);
	unpin_folio(folios[3]);
	vm_munmap(HB, 3 * HPAGE_SIZE);
	fput(g);
	fput(f);
	hb_teardown("memfd_pin_hugetlb", t);
}

static void seals(void)
{
	struct folio *folio;
	struct task_struct *t;
	struct file *f, *g;
	pgoff_t off;

	fs_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("hseal");
	g = memfd_alloc_file("noseal", MFD_HUGETLB);
	is_int((int)memfd_fcntl(g, F_GET_SEALS, 0), F_SEAL_SEAL,
	       "seals: a hugetlb memfd without MFD_ALLOW_SEALING is sealed against seals");
	is_int((int)memfd_fcntl(g, F_ADD_SEALS, F_SEAL_WRITE), -EPERM,
	       "seals: so F_ADD_SEALS is -EPERM");
	fput(g);
	f = memfd_alloc_file("seal", MFD_HUGETLB | MFD_ALLOW_SEALING);
	is_int((int)memfd_fcntl(f, F_GET_SEALS, 0), 0, "seals: MFD_ALLOW_SEALING starts unsealed");
	do_ftruncate(f, 2 * HPAGE_SIZE, 0);
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0,
	       "seals: F_SEAL_SHRINK | F_SEAL_GROW");
	ok(do_ftruncate(f, HPAGE_SIZE, 0) == -EPERM && do_ftruncate(f, 3 * HPAGE_SIZE, 0) == -EPERM,
	   "seals: ftruncate smaller or larger is -EPERM");
	is_int(vfs_fallocate(f, 0, 2 * HPAGE_SIZE, HPAGE_SIZE), -EPERM,
	       "seals: fallocate past the end is -EPERM (F_SEAL_GROW)");
	is_uint(fs_mmap(f, HB, HPAGE_SIZE, FS_RW, MAP_SHARED, 0), HB, "seals: a writable shared mapping");
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_WRITE), -EBUSY,
	       "seals: F_SEAL_WRITE is -EBUSY while a writable shared mapping exists");
	vm_munmap(HB, HPAGE_SIZE);
	if (memfd_pin_folios(f, 0, HPAGE_SIZE - 1, &folio, 1, &off) != 1)
		bail_out("memfd_pin_folios");
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_WRITE), -EBUSY,
	       "seals: F_SEAL_WRITE is -EBUSY while a pin holds a huge folio (memfd_wait_for_pins)");
	unpin_folio(folio);
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_WRITE), 0, "seals: after the unpin it is set");
	is_int((long)fs_mmap(f, HB, HPAGE_SIZE, FS_RW, MAP_SHARED, 0), -EPERM,
	       "seals: a writable shared mapping of a write-sealed file is -EPERM");
	is_uint(fs_mmap(f, HB, HPAGE_SIZE, PROT_READ, MAP_SHARED, 0), HB,
		"seals: a read-only shared mapping is allowed");
	is_int(do_mprotect(HB, HPAGE_SIZE, PROT_READ | PROT_WRITE), -EACCES,
	       "seals: and cannot be made writable (-EACCES, as the live kernel answers)");
	is_int(vfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, HPAGE_SIZE), -EPERM,
	       "seals: punching a hole in a write-sealed file is -EPERM");
	vm_munmap(HB, HPAGE_SIZE);
	fput(f);
	hb_teardown("seals", t);
}

static void read_and_write(void)
{
	struct task_struct *t;
	struct folio *folio;
	unsigned char buf[32];
	struct file *f;
	pgoff_t off;
	loff_t pos;
	bool across;

	fs_boot();
	pinmm_hugetlb_set_nr_hugepages(4);
	t = test_process("hrw");
	f = memfd_alloc_file("rw", MFD_HUGETLB);
	do_ftruncate(f, 3 * HPAGE_SIZE, 0);
	fs_mmap(f, HB, HPAGE_SIZE, FS_RW, MAP_SHARED, 0);
	for (int i = 0; i < 8; i++)
		put_user((char)0x41, (char __user *)(HB + HPAGE_SIZE - 8 + i));
	/* the second huge page is written by a device through a pin */
	if (memfd_pin_folios(f, HPAGE_SIZE, HPAGE_SIZE, &folio, 1, &off) != 1)
		bail_out("memfd_pin_folios");
	memset(folio_address(folio), 0x42, 8);
	pos = HPAGE_SIZE - 8;
	memset(buf, 0xff, sizeof(buf));
	across = kernel_read(f, buf, 16, &pos) == 16 && pos == HPAGE_SIZE + 8;
	for (int i = 0; i < 16; i++)
		across &= buf[i] == (i < 8 ? 0x41 : 0x42);
	ok(across, "read: across two huge pages, what the CPU and the device wrote");
	pos = 2 * HPAGE_SIZE + 100;
	ok(kernel_read(f, buf, 16, &pos) == 16 && buf[0] == 0 && buf[15] == 0,
	   "read: a hole reads zeroes");
	ok(hc().free == 2, "read: and allocates nothing (two pool pages used, two free)");
	pos = 3 * HPAGE_SIZE - 4;
	is_int(kernel_read(f, buf, 16, &pos), 4, "read: stops at i_size");
	is_int(kernel_read(f, buf, 16, &pos), 0, "read: at i_size reads 0 bytes");
	pos = 0;
	is_int(kernel_write(f, buf, 16, &pos), -EINVAL, "write: hugetlbfs has no write(2): -EINVAL");
	unpin_folio(folio);
	vm_munmap(HB, HPAGE_SIZE);
	fput(f);
	hb_teardown("read_and_write", t);
}

static void bad_input(void)
{
	struct task_struct *t;
	struct file *f;

	fs_boot();
	pinmm_hugetlb_set_nr_hugepages(1);
	t = test_process("hbad");
	ok(IS_ERR(memfd_alloc_file("x", 21U << 26)) &&
	   PTR_ERR(memfd_alloc_file("x", 21U << 26)) == -EINVAL,
	   "bad: a huge page size without MFD_HUGETLB is -EINVAL");
	ok(PTR_ERR(memfd_alloc_file("x", MFD_HUGETLB | (24U << 26))) == -ENODEV,
	   "bad: MFD_HUGE_16MB (no pool of that size) is -ENODEV (hugetlb_file_setup)");
	f = memfd_alloc_file("huge", MFD_HUGETLB);
	do_ftruncate(f, 4 * HPAGE_SIZE, 0);
	is_int((long)fs_mmap(f, HB, HPAGE_SIZE, FS_RW, MAP_SHARED, 1), -EINVAL,
	       "bad: an offset inside a huge page is -EINVAL (hugetlbfs_file_mmap)");
	is_int((long)fs_mmap(f, HB, 2 * HPAGE_SIZE, FS_RW, MAP_SHARED, 0), -ENOMEM,
	       "bad: a shared mapping the pool cannot back is -ENOMEM, nothing reserved");
	is_uint(hc().resv, 0, "bad: HugePages_Rsvd 0");
	fput(f);
	hb_teardown("bad_input", t);
}

int main(void)
{
	plan_no_plan();
	memfd_shared();
	private_cow_of_cache();
	shared_anon_fork();
	longterm_migrates_cache_folio();
	memfd_pin_hugetlb();
	seals();
	read_and_write();
	bad_input();
	return done_testing();
}
