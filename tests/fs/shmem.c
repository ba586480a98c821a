// SPDX-License-Identifier: MIT
/*
 * tmpfs/shmem and memfd (Linux mm/shmem.c, mm/memfd.c; man memfd_create(2),
 * fcntl(2) F_ADD_SEALS): the page cache is the file's only home; holes read
 * as zeroes without allocating; MAP_SHARED maps the cache pages themselves
 * and MAP_PRIVATE copies on write; truncation takes pages out of every
 * mapping (SIGBUS past EOF); seals refuse what they promise to refuse;
 * MAP_SHARED|MAP_ANONYMOUS is a shmem file (shmem_zero_setup) shared with
 * the child across fork; shmem is never dirty-accounted (no writeback).
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "helpers.h"

static void memfd_read_write(void)
{
	struct file *f;
	long shmem0, file0, dirty0;
	char buf[64];
	loff_t pos;

	fs_boot();
	f = fs_memfd("rw", 0);
	is_int((int)i_size_read(file_inode(f)), 0, "memfd: a new memfd is empty (i_size 0)");
	ok(shmem_mapping(f->f_mapping) && !mapping_can_writeback(f->f_mapping),
	   "memfd: it is shmem, and shmem does not write back (mapping_can_writeback false)");
	shmem0 = fs_stat(NR_SHMEM);
	file0 = fs_stat(NR_FILE_PAGES);
	dirty0 = fs_stat(NR_FILE_DIRTY);
	is_int(fs_kwrite(f, 3 * PAGE_SIZE + 100, 2 * PAGE_SIZE, 1), 2 * PAGE_SIZE,
	       "memfd: kernel_write of two pages at an unaligned offset");
	is_int(i_size_read(file_inode(f)), 5 * PAGE_SIZE + 100, "memfd: the write grew i_size");
	is_int(fs_stat(NR_SHMEM) - shmem0, 3, "memfd: three pages touched, three shmem pages "
	       "(nr_shmem), the hole before them allocates nothing");
	is_int(fs_stat(NR_FILE_PAGES) - file0, 3, "memfd: ... and they are page cache (nr_file_pages)");
	is_int(fs_stat(NR_FILE_DIRTY) - dirty0, 0, "memfd: shmem is not dirty-accounted (nr_dirty "
	       "unchanged: noop_dirty_folio)");
	is_int(fs_kcheck(f, 3 * PAGE_SIZE + 100, 2 * PAGE_SIZE, 1), 0,
	       "memfd: kernel_read returns what was written");
	pos = PAGE_SIZE;
	memset(buf, 0x55, sizeof(buf));
	is_int(kernel_read(f, buf, sizeof(buf), &pos), sizeof(buf), "memfd: a read of the hole");
	ok(buf[0] == 0 && buf[63] == 0 && pos == PAGE_SIZE + 64, "memfd: the hole reads as zeroes");
	is_int(fs_stat(NR_SHMEM) - shmem0, 3, "memfd: reading a hole allocates no page (SGP_READ)");
	pos = 5 * PAGE_SIZE + 100;
	is_int(kernel_read(f, buf, sizeof(buf), &pos), 0, "memfd: a read at EOF returns 0");
	fput(f);
	is_int(fs_stat(NR_SHMEM) - shmem0, 0, "memfd: the last fput frees the unlinked file's pages");
	fs_teardown("memfd_read_write", NULL);
}

static void memfd_mmap_shared_private(void)
{
	struct task_struct *t;
	struct folio *folio;
	struct file *f;
	unsigned long a, p;

	fs_boot();
	t = test_process("memfd");
	f = fs_memfd("map", 0);
	is_int(do_ftruncate(f, 4 * PAGE_SIZE, 1), 0, "memfd: ftruncate to four pages");
	a = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	p = fs_mmap(f, FS_BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	ok(a == FS_BASE && p == FS_BASE + 4 * PAGE_SIZE, "memfd: MAP_SHARED and MAP_PRIVATE mappings");
	is_uint(fs_uwrite(a + PAGE_SIZE, PAGE_SIZE, 2, PAGE_SIZE), 0,
		"memfd: a CPU store through the shared mapping");
	folio = fs_cached(f, 1);
	ok(folio && test_pt_pfn(t->mm, a + PAGE_SIZE) == folio_pfn(folio),
	   "memfd: MAP_SHARED maps the page-cache page itself");
	ok(folio && pte_write(__pte(test_pt_entry(t->mm, a + PAGE_SIZE, &(bool){ 0 }))),
	   "memfd: ... writable: shmem needs no write-notify (vma_wants_writenotify false)");
	is_int(fs_kcheck(f, PAGE_SIZE, PAGE_SIZE, 2), 0, "memfd: read(2) sees the store");
	is_int(fs_ucheck(p + PAGE_SIZE, PAGE_SIZE, 2, PAGE_SIZE), 0,
	       "memfd: the private mapping reads the same page-cache data");
	ok(folio && test_pt_pfn(t->mm, p + PAGE_SIZE) == folio_pfn(folio) &&
	   !pte_write(__pte(test_pt_entry(t->mm, p + PAGE_SIZE, &(bool){ 0 }))),
	   "memfd: MAP_PRIVATE maps the cache page read-only until a write");
	is_uint(fs_uwrite(p + PAGE_SIZE, 64, 3, 0), 0, "memfd: a store through the private mapping");
	ok(folio && test_pt_pfn(t->mm, p + PAGE_SIZE) != folio_pfn(folio) &&
	   fs_anon_at(t->mm, p + PAGE_SIZE),
	   "memfd: the private store COWed the page into an anonymous copy");
	is_int(fs_kcheck(f, PAGE_SIZE, PAGE_SIZE, 2), 0,
	       "memfd: the file is unchanged by the private store");
	if (folio)
		folio_put(folio);
	is_int(vm_munmap(FS_BASE, 8 * PAGE_SIZE), 0, "memfd: munmap both");
	fput(f);
	fs_teardown("memfd_mmap_shared_private", t);
}

static void truncate_sigbus(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a;
	long shmem0;
	char c;

	fs_boot();
	t = test_process("trunc");
	f = fs_memfd("trunc", 0);
	do_ftruncate(f, 4 * PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fs_uwrite(a, 4 * PAGE_SIZE, 4, 0);
	shmem0 = fs_stat(NR_SHMEM);
	is_int(do_ftruncate(f, PAGE_SIZE + 10, 1), 0, "truncate: shrink a mapped memfd");
	ok(test_pt_pfn(t->mm, a + 2 * PAGE_SIZE) == -1UL && test_pt_pfn(t->mm, a) != -1UL,
	   "truncate: the cut-off pages left every mapping (unmap_mapping_range), the rest stayed");
	is_int(shmem0 - fs_stat(NR_SHMEM), 2, "truncate: their page cache is gone");
	is_int(get_user(c, (char __user *)(a + 2 * PAGE_SIZE)), -EFAULT,
	       "truncate: an access past EOF is SIGBUS (-EFAULT to uaccess)");
	is_int(fs_ucheck(a, 10, 4, 0), 0, "truncate: the data before the cut is intact");
	ok(get_user(c, (char __user *)(a + PAGE_SIZE + 10)) == 0 && c == 0,
	   "truncate: the tail of the partial page past EOF reads as zeroes");
	is_int(do_ftruncate(f, -1, 1), -EINVAL, "truncate: a negative length is -EINVAL");
	vm_munmap(FS_BASE, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("truncate_sigbus", t);
}

static void seals(void)
{
	struct task_struct *t;
	struct file *f, *g;
	unsigned long a;
	loff_t pos = 0;
	char c = 'x';

	fs_boot();
	t = test_process("seals");
	g = fs_memfd("unsealable", 0);
	is_int((int)memfd_fcntl(g, F_GET_SEALS, 0), F_SEAL_SEAL,
	       "seals: without MFD_ALLOW_SEALING a memfd is born with F_SEAL_SEAL");
	is_int((int)memfd_fcntl(g, F_ADD_SEALS, F_SEAL_WRITE), -EPERM,
	       "seals: ... so adding a seal is -EPERM");
	fput(g);
	f = fs_memfd("sealed", MFD_ALLOW_SEALING);
	is_int((int)memfd_fcntl(f, F_GET_SEALS, 0), 0, "seals: MFD_ALLOW_SEALING starts unsealed");
	do_ftruncate(f, 2 * PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, 2 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_WRITE), -EBUSY,
	       "seals: F_SEAL_WRITE while a writable shared mapping exists is -EBUSY");
	vm_munmap(a, 2 * PAGE_SIZE);
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK), 0,
	       "seals: F_SEAL_WRITE|F_SEAL_SHRINK once it is unmapped");
	is_int(kernel_write(f, &c, 1, &pos), -EPERM, "seals: write(2) to a write-sealed memfd is -EPERM");
	ok(IS_ERR_VALUE(fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0)) &&
	   (long)fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0) == -EPERM,
	   "seals: a writable MAP_SHARED mapping of it is -EPERM");
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	is_uint(a, FS_BASE, "seals: a read-only shared mapping is allowed");
	is_int(do_mprotect(a, PAGE_SIZE, FS_RW), -EACCES,
	       "seals: ... and can never be made writable (VM_MAYWRITE dropped)");
	vm_munmap(a, PAGE_SIZE);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	ok(a == FS_BASE && fs_uwrite(a, 8, 5, 0) == 0,
	   "seals: a private writable mapping is fine (its writes are copies)");
	vm_munmap(a, PAGE_SIZE);
	is_int(do_ftruncate(f, PAGE_SIZE, 1), -EPERM, "seals: F_SEAL_SHRINK refuses a shrink");
	is_int(do_ftruncate(f, 4 * PAGE_SIZE, 1), 0, "seals: ... but not a grow (no F_SEAL_GROW)");
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL), 0, "seals: F_SEAL_GROW|SEAL");
	is_int(do_ftruncate(f, 8 * PAGE_SIZE, 1), -EPERM, "seals: F_SEAL_GROW refuses a grow");
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_EXEC), -EPERM,
	       "seals: nothing more after F_SEAL_SEAL");
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, 0x8000), -EINVAL,
	       "seals: unknown seal bits are -EINVAL (checked before F_SEAL_SEAL, as Linux does)");
	fput(f);
	fs_teardown("seals", t);
}

static void write_seal_vs_pin(void)
{
	struct task_struct *t;
	struct page *page;
	struct file *f;
	unsigned long a;
	long n;

	fs_boot();
	t = test_process("sealpin");
	f = fs_memfd("sealpin", MFD_ALLOW_SEALING);
	do_ftruncate(f, PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	n = pin_user_pages_fast(a, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	is_int(n, 1, "memfd pin: a writable long-term pin of a shared memfd mapping is allowed "
	       "(shmem: no dirty tracking)");
	vm_munmap(a, PAGE_SIZE);
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_WRITE), -EBUSY,
	       "memfd pin: F_SEAL_WRITE waits for pins and gives up with -EBUSY "
	       "(memfd_wait_for_pins: a device could still write)");
	if (n == 1)
		unpin_user_page(page);
	is_int((int)memfd_fcntl(f, F_ADD_SEALS, F_SEAL_WRITE), 0,
	       "memfd pin: after the unpin the write seal is granted");
	fput(f);
	fs_teardown("write_seal_vs_pin", t);
}

static void shared_anon_is_shmem(void)
{
	struct task_struct *t, *child = NULL;
	long shmem0;
	unsigned long v = 0;

	fs_boot();
	t = test_process("shanon");
	shmem0 = fs_stat(NR_SHMEM);
	test_mmap_fixed(FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED);
	put_user(1UL, (unsigned long __user *)(FS_BASE + PAGE_SIZE));
	is_int(fs_stat(NR_SHMEM) - shmem0, 1,
	       "shared anon: a store allocates one shmem page (shmem_zero_setup)");
	is_int(pinmm_fork(t, "child", &child), 0, "shared anon: fork");
	pinmm_task_attach(child);
	get_user(v, (unsigned long __user *)(FS_BASE + PAGE_SIZE));
	is_uint(v, 1, "shared anon: the child reads the parent's store");
	put_user(2UL, (unsigned long __user *)(FS_BASE + 2 * PAGE_SIZE));
	pinmm_task_attach(t);
	get_user(v, (unsigned long __user *)(FS_BASE + 2 * PAGE_SIZE));
	is_uint(v, 2, "shared anon: the parent reads the child's store (one page cache)");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	vm_munmap(FS_BASE, 4 * PAGE_SIZE);
	is_int(fs_stat(NR_SHMEM) - shmem0, 0, "shared anon: the last munmap frees the shmem file");
	fs_teardown("shared_anon_is_shmem", t);
}

static void punch_hole(void)
{
	struct file *f;
	long shmem0;

	fs_boot();
	f = fs_memfd("punch", 0);
	fs_kwrite(f, 0, 4 * PAGE_SIZE, 6);
	shmem0 = fs_stat(NR_SHMEM);
	is_int(vfs_fallocate(f, FALLOC_FL_PUNCH_HOLE, PAGE_SIZE, PAGE_SIZE), -EOPNOTSUPP,
	       "fallocate: PUNCH_HOLE without KEEP_SIZE is -EOPNOTSUPP");
	is_int(vfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE_SIZE + 100,
			     2 * PAGE_SIZE), 0, "fallocate: punch a hole across three pages");
	is_int(shmem0 - fs_stat(NR_SHMEM), 1, "fallocate: the one whole page inside is freed");
	is_int(fs_kcheck(f, 0, PAGE_SIZE + 100, 6), 0, "fallocate: data before the hole is intact");
	is_int(fs_kcheck(f, 3 * PAGE_SIZE + 100, PAGE_SIZE - 100, 6), 0,
	       "fallocate: data after the hole is intact");
	{
		char buf[2 * PAGE_SIZE];
		loff_t pos = PAGE_SIZE + 100;
		size_t nz = 0;

		kernel_read(f, buf, sizeof(buf), &pos);
		for (size_t i = 0; i < sizeof(buf); i++)
			nz += buf[i] != 0;
		is_uint(nz, 0, "fallocate: the punched range reads as zeroes");
	}
	is_int(i_size_read(file_inode(f)), 4 * PAGE_SIZE, "fallocate: KEEP_SIZE kept the size");
	is_int(vfs_fallocate(f, 0, 8 * PAGE_SIZE, 2 * PAGE_SIZE), 0, "fallocate: allocate past EOF");
	is_int(i_size_read(file_inode(f)), 10 * PAGE_SIZE, "fallocate: ... which grows i_size");
	is_int(fs_stat(NR_SHMEM) - shmem0, 1, "fallocate: two new pages allocated");
	fput(f);
	fs_teardown("punch_hole", NULL);
}

/*
 * Truncation takes a pinned folio out of the cache but the pin keeps the
 * frame: the device may go on writing it (ASan: no use after free), and the
 * last unpin frees it.
 */
static void truncate_under_pin(void)
{
	struct task_struct *t;
	struct page *page;
	struct file *f;
	unsigned long a, before;
	long n;

	fs_boot();
	t = test_process("trpin");
	f = fs_memfd("trpin", 0);
	do_ftruncate(f, 2 * PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, 2 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	n = pin_user_pages_fast(a + PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	is_int(n, 1, "truncate under pin: a long-term pin of page 1");
	before = pinmm_frames_in_use();
	is_int(do_ftruncate(f, 0, 1), 0, "truncate under pin: truncate the file to 0");
	ok(folio_mapping(page_folio(page)) == NULL && test_pt_pfn(t->mm, a + PAGE_SIZE) == -1UL,
	   "truncate under pin: the pinned folio left the cache and every mapping");
	ok(folio_maybe_dma_pinned(page_folio(page)),
	   "truncate under pin: it is still pinned: the frame is the device's until unpin");
	memset(page_address(page), 0x5a, PAGE_SIZE);	/* the device writes on, safely */
	is_uint(pinmm_frames_in_use(), before,
		"truncate under pin: the pinned frame was not freed by the truncation");
	unpin_user_pages_dirty_lock(&page, 1, true);
	is_uint(pinmm_frames_in_use(), before - 1,
		"truncate under pin: the unpin freed the frame (a dirty, truncated folio: no crash)");
	vm_munmap(a, 2 * PAGE_SIZE);
	fput(f);
	fs_teardown("truncate_under_pin", t);
}

int main(void)
{
	plan_no_plan();
	memfd_read_write();
	memfd_mmap_shared_private();
	truncate_sigbus();
	seals();
	write_seal_vs_pin();
	shared_anon_is_shmem();
	punch_hole();
	truncate_under_pin();
	return done_testing();
}
