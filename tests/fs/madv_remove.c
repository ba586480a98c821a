// SPDX-License-Identifier: MIT
/*
 * MADV_REMOVE: a hole punched in a file through a mapping of it, and what a
 * pin does to it. The Linux rules, by kernel file and function (each seen on
 * the live 6.18 kernel by a probe program first):
 *  R-REMOVE-ARGS  mm/madvise.c madvise_remove(): a locked VMA is -EINVAL, an
 *                 anonymous private one (no file) -EINVAL, one that could
 *                 never be written through (private, or a shared mapping of
 *                 a file opened read-only: no VM_SHARED|VM_MAYWRITE) -EACCES;
 *                 a read-only shared mapping of a file opened read-write may
 *                 punch. A hole is -ENOMEM, the VMAs around it punched all
 *                 the same.
 *  R-REMOVE-PUNCH madvise_remove() -> vfs_fallocate(FALLOC_FL_PUNCH_HOLE |
 *                 FALLOC_FL_KEEP_SIZE) at the mapping's file offset: the
 *                 pages leave the page cache and every shared mapping, the
 *                 file reads zeroes there and keeps its size; a private
 *                 mapping's COW copy is not the file's and stays. Shared
 *                 anonymous memory is a shmem file: it works there too.
 *  R-REMOVE-PIN   mm/shmem.c shmem_undo_range(), mm/truncate.c: a punch does
 *                 not wait for pins. The pinned page leaves the cache and
 *                 the mappings with its pin; the frame stays the device's
 *                 until the unpin frees it; what the device writes then
 *                 reaches neither the file nor the next fault's new page.
 */
#include "helpers.h"

#include <sys/mman.h>

#define NPAGES	8

static int madv(unsigned long addr, unsigned long len)
{
	return do_madvise(current->mm, addr, len, MADV_REMOVE);
}

/* Non-zero bytes of the file at [pos, pos + len) read through the page cache. */
static long nonzero(struct file *f, loff_t pos, size_t len)
{
	char *buf = calloc(1, len);
	ssize_t n;
	long nz = 0;

	if (!buf)
		bail_out("calloc");
	n = kernel_read(f, buf, len, &pos);
	if (n != (ssize_t)len)
		nz = -1;
	for (ssize_t i = 0; i < n; i++)
		nz += buf[i] != 0;
	free(buf);
	return nz;
}

/* Non-zero bytes of user memory at @addr (unreadable bytes count). */
static long unonzero(unsigned long addr, size_t len)
{
	char *buf = calloc(1, len);
	unsigned long left;
	long nz;

	if (!buf)
		bail_out("calloc");
	left = copy_from_user(buf, (const void __user *)addr, len);
	nz = (long)left;
	for (size_t i = 0; i < len - left; i++)
		nz += buf[i] != 0;
	free(buf);
	return nz;
}

static void args(void)
{
	struct task_struct *t;
	struct file *f, *ro;
	unsigned long a;

	fs_boot();
	t = test_process("rmargs");
	f = fs_memfd("rmargs", 0);
	fs_kwrite(f, 0, NPAGES * PAGE_SIZE, 1);

	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	is_int(madv(a, PAGE_SIZE), -EACCES,
	       "R-REMOVE-ARGS: a private file mapping is -EACCES (no VM_SHARED)");
	vm_munmap(a, NPAGES * PAGE_SIZE);

	a = vm_mmap(NULL, FS_BASE, NPAGES * PAGE_SIZE, FS_RW,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	is_int(madv(a, PAGE_SIZE), -EINVAL, "R-REMOVE-ARGS: private anonymous memory is -EINVAL");
	vm_munmap(a, NPAGES * PAGE_SIZE);

	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_SHARED | MAP_LOCKED, 0);
	is_int(madv(a, PAGE_SIZE), -EINVAL, "R-REMOVE-ARGS: a locked VMA is -EINVAL");
	is_int(fs_kcheck(f, 0, NPAGES * PAGE_SIZE, 1), 0,
	       "R-REMOVE-ARGS: ... and the refused calls punched nothing");
	vm_munmap(a, NPAGES * PAGE_SIZE);

	/* VM_MAYWRITE comes from the open file, not from PROT_WRITE */
	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	is_int(madv(a, PAGE_SIZE), 0,
	       "R-REMOVE-ARGS: a read-only shared mapping of a read-write file may punch");
	is_int(nonzero(f, 0, PAGE_SIZE), 0, "R-REMOVE-ARGS: ... and its page reads zeroes");
	vm_munmap(a, NPAGES * PAGE_SIZE);

	ro = fs_open("rmargs-ro", O_RDWR | O_CREAT);
	fs_kwrite(ro, 0, PAGE_SIZE, 2);
	fput(ro);
	ro = fs_open("rmargs-ro", O_RDONLY);
	a = fs_mmap(ro, FS_BASE, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	ok(!IS_ERR_VALUE(a), "R-REMOVE-ARGS: map a file opened read-only, shared");
	is_int(madv(a, PAGE_SIZE), -EACCES,
	       "R-REMOVE-ARGS: ... a mapping that can never write (no VM_MAYWRITE) is -EACCES");
	is_int(fs_kcheck(ro, 0, PAGE_SIZE, 2), 0, "R-REMOVE-ARGS: ... and the file is intact");
	vm_munmap(a, PAGE_SIZE);
	fput(ro);

	/* two mappings with a hole between them: both punched, then -ENOMEM */
	fs_kwrite(f, 0, NPAGES * PAGE_SIZE, 3);
	a = fs_mmap(f, FS_BASE, 3 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fs_mmap(f, FS_BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 4);
	is_int(madv(a + 2 * PAGE_SIZE, 4 * PAGE_SIZE), -ENOMEM,
	       "R-REMOVE-ARGS: a range with a hole is -ENOMEM");
	is_int(nonzero(f, 2 * PAGE_SIZE, PAGE_SIZE), 0,
		"R-REMOVE-ARGS: ... the mapped page before the hole was punched");
	is_int(nonzero(f, 4 * PAGE_SIZE, 2 * PAGE_SIZE), 0,
		"R-REMOVE-ARGS: ... and the pages after it too");
	is_int(fs_kcheck(f, 0, 2 * PAGE_SIZE, 3) + fs_kcheck(f, 3 * PAGE_SIZE, PAGE_SIZE, 3) +
		fs_kcheck(f, 6 * PAGE_SIZE, 2 * PAGE_SIZE, 3), 0,
		"R-REMOVE-ARGS: ... and nothing outside the range (the hole's file page too)");
	is_int(madv(FS_BASE + 3 * PAGE_SIZE, PAGE_SIZE), -ENOMEM,
	       "R-REMOVE-ARGS: a range that is all hole is -ENOMEM");
	vm_munmap(FS_BASE, NPAGES * PAGE_SIZE);
	fput(f);
	fs_teardown("args", t);
}

/* A memfd with a shared and a private mapping; the punch goes through the shared one. */
static void punch_shmem(void)
{
	struct task_struct *t;
	unsigned long a, p, b;
	long shmem0;
	struct file *f;

	fs_boot();
	t = test_process("rmshm");
	f = fs_memfd("rmshm", 0);
	fs_kwrite(f, 0, NPAGES * PAGE_SIZE, 4);
	a = fs_mmap(f, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	b = fs_mmap(f, FS_BASE + (4UL << 20), NPAGES * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	p = fs_mmap(f, FS_BASE + (8UL << 20), NPAGES * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	is_int(fs_ucheck(b, NPAGES * PAGE_SIZE, 4, 0), 0, "R-REMOVE-PUNCH: a second shared "
		"mapping maps the file's pages");
	fs_uwrite(p + PAGE_SIZE, 1, 9, 0);		/* a COW copy of file page 1 */
	ok(fs_anon_at(t->mm, p + PAGE_SIZE), "R-REMOVE-PUNCH: the private mapping's page 1 is a "
	   "COW copy");
	shmem0 = fs_stat(NR_SHMEM);

	is_int(madv(a + PAGE_SIZE, 2 * PAGE_SIZE), 0, "R-REMOVE-PUNCH: MADV_REMOVE of pages 1-2");
	is_int(shmem0 - fs_stat(NR_SHMEM), 2, "R-REMOVE-PUNCH: two shmem pages freed (nr_shmem)");
	ok(!fs_cached(f, 1) && !fs_cached(f, 2), "R-REMOVE-PUNCH: they left the page cache");
	ok(test_pt_pfn(t->mm, b + PAGE_SIZE) == -1UL && test_pt_pfn(t->mm, b + 2 * PAGE_SIZE) == -1UL,
	   "R-REMOVE-PUNCH: ... and the other shared mapping (unmap_mapping_range)");
	is_int(nonzero(f, PAGE_SIZE, 2 * PAGE_SIZE), 0, "R-REMOVE-PUNCH: the file reads zeroes there");
	is_int(unonzero(b + PAGE_SIZE, 2 * PAGE_SIZE), 0,
		"R-REMOVE-PUNCH: the other mapping faults zeroes in");
	is_int(fs_kcheck(f, 0, PAGE_SIZE, 4) + fs_kcheck(f, 3 * PAGE_SIZE, 5 * PAGE_SIZE, 4), 0,
		"R-REMOVE-PUNCH: the pages outside the range are intact");
	is_int(i_size_read(file_inode(f)), NPAGES * PAGE_SIZE, "R-REMOVE-PUNCH: the size is kept");
	ok(fs_anon_at(t->mm, p + PAGE_SIZE) && fs_ucheck(p + PAGE_SIZE + 1, PAGE_SIZE - 1, 4,
							  PAGE_SIZE + 1) == 0,
	   "R-REMOVE-PUNCH: the private COW copy is not the file's: it stays, with its data");
	is_int(unonzero(p + 2 * PAGE_SIZE, PAGE_SIZE), 0,
		"R-REMOVE-PUNCH: the private mapping's untouched page reads the hole");
	vm_munmap(FS_BASE, 16UL << 20);
	fput(f);

	/* shared anonymous memory is a shmem file */
	a = vm_mmap(NULL, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
		    0);
	fs_uwrite(a, NPAGES * PAGE_SIZE, 5, 0);
	shmem0 = fs_stat(NR_SHMEM);
	is_int(madv(a, NPAGES * PAGE_SIZE), 0, "R-REMOVE-PUNCH: shared anonymous memory punches");
	is_int(shmem0 - fs_stat(NR_SHMEM), NPAGES, "R-REMOVE-PUNCH: ... its pages are freed");
	is_int(unonzero(a, NPAGES * PAGE_SIZE), 0, "R-REMOVE-PUNCH: ... and read zeroes");
	vm_munmap(a, NPAGES * PAGE_SIZE);
	fs_teardown("punch_shmem", t);
}

/* A disk file: the host file gets the hole; a mapping at an offset punches there. */
static void punch_disk(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a;
	int fd;

	fs_boot();
	t = test_process("rmdisk");
	f = fs_open("rmdisk", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, NPAGES * PAGE_SIZE, 6);
	is_int(vfs_fsync(f, 0), 0, "R-REMOVE-PUNCH: a disk file of 8 pages, on the disk");
	a = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 4);
	is_int(fs_ucheck(a, 4 * PAGE_SIZE, 6, 4 * PAGE_SIZE), 0,
		"R-REMOVE-PUNCH: a shared mapping of file pages 4-7");
	fs_uwrite(a + 2 * PAGE_SIZE, PAGE_SIZE, 6, 6 * PAGE_SIZE);	/* dirty, not yet on disk */
	is_int(madv(a + PAGE_SIZE, 2 * PAGE_SIZE), 0,
	       "R-REMOVE-PUNCH: MADV_REMOVE of mapped pages 1-2 (file pages 5-6, one dirty)");
	is_int(nonzero(f, 5 * PAGE_SIZE, 2 * PAGE_SIZE), 0,
		"R-REMOVE-PUNCH: the file offset is the mapping's: file pages 5-6 read zeroes");
	is_int(fs_kcheck(f, 0, 5 * PAGE_SIZE, 6) + fs_kcheck(f, 7 * PAGE_SIZE, PAGE_SIZE, 6), 0,
		"R-REMOVE-PUNCH: ... the rest of the file is intact");
	is_int(vfs_fsync(f, 0), 0, "R-REMOVE-PUNCH: fsync");
	fd = fs_host_open("rmdisk");
	{
		char buf[2 * PAGE_SIZE];
		long nz = 0;

		if (fd < 0 || pread(fd, buf, sizeof(buf), 5 * PAGE_SIZE) != (ssize_t)sizeof(buf))
			nz = -1;
		for (size_t i = 0; nz >= 0 && i < sizeof(buf); i++)
			nz += buf[i] != 0;
		is_int(nz, 0, "R-REMOVE-PUNCH: the disk holds the hole (the dirty page was not "
			"written back over it)");
	}
	if (fd >= 0)
		close(fd);
	is_int(i_size_read(file_inode(f)), NPAGES * PAGE_SIZE, "R-REMOVE-PUNCH: the size is kept");
	vm_munmap(a, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("punch_disk", t);
}

/* R-REMOVE-PIN: the punch takes the pinned page away from the file, not from the device. */
static void punch_pinned(void)
{
	unsigned long a, before, pfn, acq0, rel0;
	struct task_struct *t;
	struct page *pages[2];
	struct folio *folio;
	struct file *f;

	fs_boot();
	t = test_process("rmpin");
	f = fs_memfd("rmpin", 0);
	fs_kwrite(f, 0, 4 * PAGE_SIZE, 7);
	a = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	acq0 = fs_stat(NR_FOLL_PIN_ACQUIRED);
	rel0 = fs_stat(NR_FOLL_PIN_RELEASED);
	is_int(pin_user_pages_fast(a + PAGE_SIZE, 2, FOLL_WRITE | FOLL_LONGTERM, pages), 2,
		"R-REMOVE-PIN: a long-term pin of pages 1-2, as io_uring registers a buffer");
	pfn = page_to_pfn(pages[0]);
	before = pinmm_frames_in_use();
	is_int(madv(a, 4 * PAGE_SIZE), 0, "R-REMOVE-PIN: MADV_REMOVE of the whole file succeeds");
	folio = page_folio(pages[0]);
	ok(folio_mapping(folio) == NULL && !fs_cached(f, 1) && test_pt_pfn(t->mm, a + PAGE_SIZE) == -1UL,
	   "R-REMOVE-PIN: the pinned page left the cache and the mapping");
	ok(folio_maybe_dma_pinned(folio) && folio_maybe_dma_pinned(page_folio(pages[1])),
	   "R-REMOVE-PIN: ... still pinned (folio_maybe_dma_pinned)");
	is_uint(before - pinmm_frames_in_use(), 2,
		"R-REMOVE-PIN: only the two unpinned pages' frames were freed");
	memset(page_address(pages[0]), 0x5a, PAGE_SIZE);	/* the device writes on */
	is_int(nonzero(f, 0, 4 * PAGE_SIZE), 0,
		"R-REMOVE-PIN: what the device writes reaches no longer the file");
	is_int(unonzero(a + PAGE_SIZE, PAGE_SIZE), 0,
		"R-REMOVE-PIN: ... nor the mapping, which faults a new zero page in");
	ok(test_pt_pfn(t->mm, a + PAGE_SIZE) != pfn,
	   "R-REMOVE-PIN: ... on another frame than the pinned one");
	before = pinmm_frames_in_use();
	unpin_user_pages_dirty_lock(pages, 2, true);
	is_uint(before - pinmm_frames_in_use(), 2,
		"R-REMOVE-PIN: the unpin frees the two orphaned frames (dirty, no mapping: no crash)");
	is_int((fs_stat(NR_FOLL_PIN_ACQUIRED) - (long)acq0) - (fs_stat(NR_FOLL_PIN_RELEASED) -
		(long)rel0), 0, "R-REMOVE-PIN: acquired == released");
	vm_munmap(a, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("punch_pinned", t);
}

int main(void)
{
	plan_no_plan();
	args();
	punch_shmem();
	punch_disk();
	punch_pinned();
	return done_testing();
}
