// SPDX-License-Identifier: MIT
/*
 * Mapping disk files (Linux mm/mmap.c vma_wants_writenotify(),
 * mm/memory.c do_shared_fault()/wp_page_shared(), mm/rmap.c folio_mkclean(),
 * mm/filemap.c filemap_fault()):
 *  - a shared writable mapping of a file that writes back starts
 *    write-protected: a read fault maps the page read-only, the first store
 *    faults, ->page_mkwrite dirties the folio (and gives it blocks);
 *  - writeback write-protects every mapping again (folio_mkclean) before it
 *    writes, so the next store faults again and the folio is dirty again;
 *  - MAP_PRIVATE maps the cache read-only and copies on write; FOLL_FORCE
 *    on a read-only private mapping copies too, never writing the file;
 *  - past EOF a fault is SIGBUS;
 *  - truncation unmaps.
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "helpers.h"

static bool pte_rw(struct mm_struct *mm, unsigned long addr)
{
	bool leaf;
	unsigned long v = test_pt_entry(mm, addr, &leaf);

	return (v & (_PAGE_PRESENT | _PAGE_RW)) == (_PAGE_PRESENT | _PAGE_RW);
}

static bool pte_d(struct mm_struct *mm, unsigned long addr)
{
	bool leaf;

	return test_pt_entry(mm, addr, &leaf) & _PAGE_DIRTY;
}

static void writenotify(void)
{
	struct task_struct *t;
	struct folio *folio;
	struct vm_area_struct *vma;
	struct file *f;
	unsigned long a, dirty0;
	char c;

	fs_boot();
	t = test_process("wn");
	f = fs_open("mapped", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 4 * PAGE_SIZE, 1);
	vfs_fsync(f, 0);
	pinmm_drop_caches();
	a = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	is_uint(a, FS_BASE, "mmap: MAP_SHARED of a disk file");
	mmap_read_lock(t->mm);
	vma = vma_lookup(t->mm, a);
	ok(vma && vma_wants_writenotify(vma, vma->vm_page_prot) && !(vma->vm_page_prot.pgprot & _PAGE_RW),
	   "writenotify: a shared writable mapping of a file that writes back starts "
	   "write-protected (vma_wants_writenotify)");
	mmap_read_unlock(t->mm);
	{
		long mapped0 = fs_stat(NR_FILE_MAPPED), maj0 = (long)fs_event(PGMAJFAULT);
		long in0 = (long)fs_event(PGPGIN);

		ok(get_user(c, (char __user *)a) == 0 && c == (char)fs_pat(1, 0),
		   "fault: a read fault reads the file from the disk (filemap_fault)");
		is_int(fs_stat(NR_FILE_MAPPED) - mapped0, 1, "fault: nr_mapped counts the mapped page");
		is_int((long)fs_event(PGMAJFAULT) - maj0, 1, "fault: a major fault (pgmajfault)");
		is_int((long)fs_event(PGPGIN) - in0, 4, "fault: pgpgin counts the 4 KiB read");
	}
	ok(test_pt_pfn(t->mm, a) != -1UL && !pte_rw(t->mm, a),
	   "writenotify: the read fault maps the page read-only");
	folio = fs_cached(f, 0);
	ok(folio && !folio_test_dirty(folio) && !folio_test_private(folio),
	   "writenotify: the folio is clean and has no blocks mapped yet (read via mpage)");
	dirty0 = (unsigned long)fs_stat(NR_FILE_DIRTY);
	is_uint(fs_uwrite(a, 16, 2, 0), 0, "fault: a store through the mapping");
	ok(pte_rw(t->mm, a) && pte_d(t->mm, a), "writenotify: the write fault made the PTE "
	   "writable and dirty (wp_page_shared after ->page_mkwrite)");
	ok(folio && folio_test_dirty(folio) && folio_test_private(folio),
	   "page_mkwrite: the folio is dirty and has its blocks (buffer_heads' role)");
	is_int(fs_stat(NR_FILE_DIRTY) - (long)dirty0, 1, "page_mkwrite: nr_dirty counts it");
	is_int(vfs_fsync(f, 0), 0, "writeback: fsync of the mapped, dirty file");
	ok(!pte_rw(t->mm, a) && !pte_d(t->mm, a),
	   "folio_mkclean: writeback write-protected and cleaned the PTE before writing");
	ok(folio && !folio_test_dirty(folio), "writeback: the folio is clean");
	is_int(fs_host_bad("mapped", 0, 16, 2), 0, "writeback: the store reached the disk");
	is_uint(fs_uwrite(a, 16, 3, 0), 0, "fault: another store");
	ok(pte_rw(t->mm, a) && folio && folio_test_dirty(folio),
	   "writenotify: it faulted again and dirtied the folio again");
	is_int(do_mprotect(a, 4 * PAGE_SIZE, PROT_READ), 0, "mprotect: read-only");
	is_int(do_mprotect(a, 4 * PAGE_SIZE, FS_RW), 0, "mprotect: read-write again");
	ok(pte_rw(t->mm, a) && !pte_rw(t->mm, a + PAGE_SIZE),
	   "mprotect: only the dirty PTE becomes writable at once (can_change_pte_writable)");
	if (folio)
		folio_put(folio);
	vm_munmap(a, 4 * PAGE_SIZE);
	is_int(vfs_fsync(f, 0), 0, "munmap: the dirt of the unmapped PTE went to the folio: fsync writes it");
	is_int(fs_host_bad("mapped", 0, 16, 3), 0, "munmap: the last store is on the disk");
	fput(f);
	fs_teardown("writenotify", t);
}

static void private_mapping(void)
{
	struct task_struct *t;
	struct folio *folio;
	struct file *f;
	unsigned long a;
	char c = 'F';

	fs_boot();
	t = test_process("priv");
	f = fs_open("priv", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 2 * PAGE_SIZE, 4);
	vfs_fsync(f, 0);	/* clean: a private store must not dirty it again */
	a = fs_mmap(f, FS_BASE, 2 * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	is_int(fs_ucheck(a, 2 * PAGE_SIZE, 4, 0), 0, "private: reads the file");
	folio = fs_cached(f, 0);
	ok(folio && test_pt_pfn(t->mm, a) == folio_pfn(folio) && !pte_rw(t->mm, a),
	   "private: the page-cache page is mapped read-only");
	fs_uwrite(a, 8, 5, 0);
	ok(fs_anon_at(t->mm, a) && pte_rw(t->mm, a), "private: a store COWs into an anon page");
	is_int(fs_kcheck(f, 0, 8, 4), 0, "private: the file is untouched");
	ok(folio && !folio_test_dirty(folio), "private: the cache folio never got dirty");
	vm_munmap(a, 2 * PAGE_SIZE);
	a = fs_mmap(f, FS_BASE, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, 0);
	is_int(access_process_vm(t, a + PAGE_SIZE, &c, 1, FOLL_WRITE | FOLL_FORCE), 1,
	       "FOLL_FORCE: a forced write into a read-only private file mapping (ptrace)");
	ok(fs_anon_at(t->mm, a + PAGE_SIZE) && !pte_rw(t->mm, a + PAGE_SIZE),
	   "FOLL_FORCE: it broke COW into an anon page that stays read-only");
	is_int(fs_kcheck(f, PAGE_SIZE, 1, 4), 0, "FOLL_FORCE: the file is never written");
	if (folio)
		folio_put(folio);
	vm_munmap(a, 2 * PAGE_SIZE);
	fput(f);
	fs_teardown("private_mapping", t);
}

static void beyond_eof(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a;
	char c;

	fs_boot();
	t = test_process("eof");
	f = fs_open("short", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 100, 6);
	a = fs_mmap(f, FS_BASE, 3 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	is_uint(a, FS_BASE, "eof: mmap may extend past EOF");
	ok(get_user(c, (char __user *)(a + 99)) == 0 && c == (char)fs_pat(6, 99),
	   "eof: the last byte is readable");
	ok(get_user(c, (char __user *)(a + 200)) == 0 && c == 0,
	   "eof: the rest of the last page reads as zeroes");
	is_int(get_user(c, (char __user *)(a + PAGE_SIZE)), -EFAULT,
	       "eof: the next page is SIGBUS (-EFAULT)");
	is_int(put_user('x', (char __user *)(a + 2 * PAGE_SIZE)), -EFAULT,
	       "eof: a store past EOF is SIGBUS too");
	vm_munmap(a, 3 * PAGE_SIZE);
	fput(f);
	fs_teardown("beyond_eof", t);
}

static void truncate_unmaps(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a, p;
	char c;

	fs_boot();
	t = test_process("trunc");
	f = fs_open("tr", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 4 * PAGE_SIZE, 7);
	a = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	p = fs_mmap(f, FS_BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	fs_uwrite(a, 4 * PAGE_SIZE, 7, 0);
	fs_uwrite(p + 3 * PAGE_SIZE, 8, 8, 0);	/* a private COW copy of page 3 */
	is_int(do_ftruncate(f, 2 * PAGE_SIZE, 1), 0, "truncate: to two pages while mapped");
	ok(test_pt_pfn(t->mm, a + 3 * PAGE_SIZE) == -1UL && test_pt_pfn(t->mm, a + PAGE_SIZE) != -1UL,
	   "truncate: the shared mapping lost the cut pages");
	ok(test_pt_pfn(t->mm, p + 3 * PAGE_SIZE) == -1UL,
	   "truncate: even the private COW copy past EOF is zapped (even_cows)");
	is_int(get_user(c, (char __user *)(p + 3 * PAGE_SIZE)), -EFAULT,
	       "truncate: and the private mapping is SIGBUS there now");
	(void)c;
	vm_munmap(FS_BASE, 8 * PAGE_SIZE);
	fput(f);
	fs_teardown("truncate_unmaps", t);
}

static void fork_shared_file(void)
{
	struct task_struct *t, *child = NULL;
	struct file *f;
	unsigned long a;

	fs_boot();
	t = test_process("fork");
	f = fs_open("fork", O_RDWR | O_CREAT);
	do_ftruncate(f, PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fput(f);	/* the mapping keeps the file */
	pinmm_fork(t, "child", &child);
	pinmm_task_attach(child);
	fs_uwrite(a, 32, 9, 0);
	pinmm_task_attach(t);
	is_int(fs_ucheck(a, 32, 9, 0), 0, "fork: the parent sees the child's store to the shared file");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);
	f = fs_open("fork", O_RDWR);
	is_int(vfs_fsync(f, 0), 0, "fork: fsync after the child is gone");
	is_int(fs_host_bad("fork", 0, 32, 9), 0, "fork: the child's store reached the disk");
	vm_munmap(a, PAGE_SIZE);
	fput(f);
	fs_teardown("fork_shared_file", t);
}

int main(void)
{
	plan_no_plan();
	writenotify();
	private_mapping();
	beyond_eof();
	truncate_unmaps();
	fork_shared_file();
	return done_testing();
}
