// SPDX-License-Identifier: MIT
/*
 * The kernel's gup_longterm selftest table (tools/testing/selftests/mm/
 * gup_longterm.c) and the non-anonymous rows of cow.c, on pinmm's backings.
 *
 * The rule (mm/gup.c check_vma_flags() -> writable_file_mapping_allowed(),
 * gup_fast_folio_allowed(); Lorenzo Stoakes, 6.5): a pin that is FOLL_PIN
 * and FOLL_LONGTERM and FOLL_WRITE is refused (-EFAULT) on a shared mapping
 * of a file that tracks dirtying (vma_needs_dirty_tracking(): ->page_mkwrite,
 * or a cache that writes back), because writeback write-protects the page
 * and a device writing through the pin would never fault. GUP-fast cannot
 * see the VMA, so it must give the same verdict by looking at the folio
 * (anonymous or shmem only) and falling back. So a long-term pin "works"
 * exactly when the mapping is private, or the pin is read-only, or the file
 * is shmem (memfd, tmpfs, shared anonymous memory) — the selftest's formula.
 * io_uring fixed buffers are FOLL_WRITE|FOLL_LONGTERM: refused the same way
 * (the live kernel here answers -EFAULT for an ext4 MAP_SHARED buffer).
 * get_user_pages() (FOLL_GET) is none of this and always works.
 *
 * memfd_pin_folios()'s edges: a one-byte range is one folio; max_folios caps
 * what it pins and writes; a folio it cannot
 * grab (refcount at the ceiling) or allocate fails the call with nothing left
 * pinned; unpin_folios() releases exactly its n entries, skipping NULLs.
 *
 * cow.c's rows for page-cache pages in private mappings: a write copies;
 * a R/O long-term pin breaks COW first (gup_must_unshare()), so the pin sees
 * what the process writes afterwards (Linux >= 6.2), slow and fast alike.
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "longterm_pin.h"
#include "gup/internal.h"

#include <pinmm/drivers.h>
#include <pinmm/fault-inject.h>
#include <pinmm/vmstat.h>

enum backing { B_ANON, B_MEMFD, B_TMPFS, B_DISKFS, NR_BACKINGS };

static const char *const backing_name[] = {
	[B_ANON] = "anonymous (shared: shmem)",
	[B_MEMFD] = "memfd",
	[B_TMPFS] = "tmpfs file (shmem_file_setup)",
	[B_DISKFS] = "disk file (diskfs)",
};

static long vmstat_get(const char *name)
{
	long v = 0;

	pinmm_vmstat_get(name, &v);
	return v;
}

static struct file *backing_file(enum backing b)
{
	switch (b) {
	case B_MEMFD:
		return fs_memfd("gl", 0);
	case B_TMPFS:
		return shmem_file_setup("tmpfs-gl", 0, 0);
	case B_DISKFS:
		return fs_open("gl", O_RDWR | O_CREAT);
	default:
		return NULL;
	}
}

static void one_cell(enum backing b, bool shared, enum pin_kind kind)
{
	bool ro = kind == P_RO_SLOW || kind == P_RO_FAST;
	bool shmem = b != B_DISKFS;
	bool longterm_w = kind != P_GET_RW && !ro;
	bool should_work = !shared || ro || shmem || !longterm_w;
	struct task_struct *t;
	struct page *page = NULL;
	struct file *f;
	unsigned long a;
	long n, acq, rel;

	fs_boot();
	t = test_process("gl");
	f = backing_file(b);
	if (f) {
		/* the selftest's set-up: ftruncate + fallocate one page */
		do_ftruncate(f, PAGE_SIZE, 1);
		vfs_fallocate(f, 0, 0, PAGE_SIZE);
		a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, shared ? MAP_SHARED : MAP_PRIVATE, 0);
	} else {
		a = test_mmap_fixed(FS_BASE, PAGE_SIZE, FS_RW, shared ? MAP_SHARED : MAP_PRIVATE);
	}
	/* ... write every byte (present, and private ones COW-broken) ... */
	if (a != FS_BASE || clear_user((void __user *)a, PAGE_SIZE))
		bail_out("set-up of %s", backing_name[b]);
	/* ... and for the R/O pins, map it read-only first */
	if (ro)
		do_mprotect(a, PAGE_SIZE, PROT_READ);
	acq = vmstat_get("nr_foll_pin_acquired");
	rel = vmstat_get("nr_foll_pin_released");
	n = pin_one(a, kind, &page);
	if (!should_work) {
		/*
		 * GUP-fast pins first and asks gup_fast_folio_allowed() after, and
		 * Linux counts that pin and its release (the live 6.18 kernel: a
		 * refused io_uring registration of an ext4 MAP_SHARED page moves
		 * both counters by one); the slow path refuses before pinning.
		 */
		long want = kind == P_RW_SLOW ? 0 : 1;

		is_int(vmstat_get("nr_foll_pin_acquired") - acq, want,
		       "gup_longterm [%s, MAP_SHARED, %s]: nr_foll_pin_acquired moves by %ld",
		       backing_name[b], pin_name[kind], want);
		is_int(vmstat_get("nr_foll_pin_released") - rel, want,
		       "gup_longterm [%s, MAP_SHARED, %s]: nr_foll_pin_released moves by %ld",
		       backing_name[b], pin_name[kind], want);
	}
	if (should_work)
		ok(n == 1 && page && test_pt_pfn(t->mm, a) == page_to_pfn(page),
		   "gup_longterm [%s, %s, %s]: works, and pins the mapped page (got %ld)",
		   backing_name[b], shared ? "MAP_SHARED" : "MAP_PRIVATE", pin_name[kind], n);
	else
		is_int(n, -EFAULT, "gup_longterm [%s, %s, %s]: refused with -EFAULT "
		       "(writable_file_mapping_allowed: the file tracks dirtying)",
		       backing_name[b], shared ? "MAP_SHARED" : "MAP_PRIVATE", pin_name[kind]);
	vm_munmap(a, PAGE_SIZE);
	if (f)
		fput(f);
	fs_teardown("gup_longterm", t);
}

/* cow.c, "Non-anonymous memory tests in private mappings". */
static void cow_nonanon(enum backing b, enum pin_kind kind)
{
	struct task_struct *t;
	struct page *page = NULL;
	struct file *f;
	unsigned long priv, view;
	const char *what = kind == P_RO_FAST ? "GUP-fast" : kind == P_RO_SLOW ? "GUP" : "none";
	long n = 0;

	fs_boot();
	t = test_process("cow");
	f = backing_file(b);
	do_ftruncate(f, PAGE_SIZE, 1);
	fs_kwrite(f, 0, PAGE_SIZE, 1);
	priv = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	view = fs_mmap(f, FS_BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	if (kind == P_RO_SLOW || kind == P_RO_FAST) {
		if (kind == P_RO_SLOW) {
			mmap_read_lock(t->mm);
			n = pin_user_pages(priv, 1, FOLL_LONGTERM, &page);
			mmap_read_unlock(t->mm);
		} else {
			n = pin_user_pages_fast(priv, 1, FOLL_LONGTERM, &page);
		}
		ok(n == 1 && PageAnon(page),
		   "cow [%s, R/O long-term %s pin]: the pin broke COW first: an anonymous copy "
		   "(gup_must_unshare)", backing_name[b], what);
	}
	long anon0 = 0, file0 = 0;

	if (kind == NR_PINS) {
		/* a read maps the cache page itself: counted as a file (or shmem) page */
		fs_ucheck(priv, 64, 1, 0);
		anon0 = get_mm_counter(t->mm, MM_ANONPAGES);
		file0 = get_mm_counter(t->mm, MM_FILEPAGES) + get_mm_counter(t->mm, MM_SHMEMPAGES);
	}
	fs_uwrite(priv, 64, 2, 0);
	if (kind == NR_PINS)
		ok(get_mm_counter(t->mm, MM_ANONPAGES) == anon0 + 1 &&
		   get_mm_counter(t->mm, MM_FILEPAGES) + get_mm_counter(t->mm, MM_SHMEMPAGES) ==
		   file0 - 1, "cow [%s]: the copy moves the page from the file/shmem rss counter "
		   "to the anonymous one", backing_name[b]);
	is_int(fs_ucheck(view, 64, 1, 0), 0,
	       "cow [%s, pin %s]: a write through the private mapping leaves the file alone",
	       backing_name[b], what);
	if (n == 1) {
		is_uint(fs_bad(page_address(page), 64, 2, 0), 0,
			"cow [%s, R/O long-term %s pin]: the pinned page shows the process's write",
			backing_name[b], what);
		unpin_user_page(page);
	}
	vm_munmap(FS_BASE, 2 * PAGE_SIZE);
	fput(f);
	fs_teardown("cow_nonanon", t);
}

/* mm/gup.c memfd_pin_folios(): the memfd's page cache by range, long-term. */
static void memfd_pin(void)
{
	struct folio *folios[8];
	struct file *f, *d;
	pgoff_t off = 99;
	long acq0, n, moved;
	unsigned long pfn0;
	struct folio *cached;

	test_boot(96, 32, 0);
	f = fs_memfd("pinme", 0);
	d = fs_open("notshmem", O_RDWR | O_CREAT);
	do_ftruncate(f, 4 * PAGE_SIZE, 1);
	do_ftruncate(d, 4 * PAGE_SIZE, 1);
	is_int(memfd_pin_folios(f, -1, 10, folios, 8, &off), -EINVAL,
	       "memfd_pin_folios: a negative start is -EINVAL");
	is_int(memfd_pin_folios(f, 10, 5, folios, 8, &off), -EINVAL,
	       "memfd_pin_folios: start > end is -EINVAL");
	is_int(memfd_pin_folios(f, 0, 10, folios, 0, &off), -EINVAL,
	       "memfd_pin_folios: max_folios 0 is -EINVAL");
	is_int(memfd_pin_folios(f, 0, 4 * PAGE_SIZE, folios, 8, &off), -EINVAL,
	       "memfd_pin_folios: end at or past i_size is -EINVAL");
	is_int(memfd_pin_folios(d, 0, 10, folios, 8, &off), -EINVAL,
	       "memfd_pin_folios: a file that is not shmem is -EINVAL");
	/* page 1 exists already, in ZONE_MOVABLE; the others are holes */
	fs_kwrite(f, PAGE_SIZE, PAGE_SIZE, 3);
	cached = fs_cached(f, 1);
	pfn0 = cached ? folio_pfn(cached) : 0;
	ok(cached && folio_is_zone_movable(cached), "memfd_pin_folios: page 1 sits in ZONE_MOVABLE");
	if (cached)
		folio_put(cached);
	acq0 = fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED);
	n = memfd_pin_folios(f, 100, 3 * PAGE_SIZE + 5, folios, 8, &off);
	is_int(n, 4, "memfd_pin_folios: four folios pinned, holes filled");
	is_uint(off, 100, "memfd_pin_folios: *offset is where start lies in the first folio");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED) - acq0, 4,
	       "memfd_pin_folios: four pins held (the first pass's were released for the migration)");
	moved = 0;
	for (long i = 0; i < n; i++)
		moved += folio_is_longterm_pinnable(folios[i]) && folio_maybe_dma_pinned(folios[i]);
	is_int(moved, 4, "memfd_pin_folios: every pinned folio is long-term pinnable (the movable "
	       "one was migrated, the holes allocated inside memalloc_pin)");
	ok(n == 4 && folio_pfn(folios[1]) != pfn0 &&
	   !fs_bad(folio_address(folios[1]), PAGE_SIZE, 3, PAGE_SIZE),
	   "memfd_pin_folios: page 1 moved with its data");
	cached = fs_cached(f, 1);
	ok(cached && n == 4 && cached == folios[1],
	   "memfd_pin_folios: the pinned folio is the one in the memfd's cache");
	if (cached)
		folio_put(cached);
	if (n > 0)
		unpin_folios(folios, (unsigned long)n);
	fput(d);
	fput(f);
	fs_teardown("memfd_pin", NULL);
}

/* memfd_pin_folios() and unpin_folios() at their edges. */
static void memfd_pin_edges(void)
{
	struct folio *folios[4], *arr[4], *cached;
	long held0, n;
	pgoff_t off;
	struct file *f;
	int ref;

	test_boot(96, 0, 0);
	f = fs_memfd("edges", 0);
	do_ftruncate(f, 4 * PAGE_SIZE, 1);
	held0 = fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED);

	n = memfd_pin_folios(f, 5, 5, folios, 4, &off);
	is_int(n, 1, "memfd_pin_folios: a one-byte range (start == end) pins one folio");
	if (n > 0)
		unpin_folios(folios, (unsigned long)n);

	/* a hole whose folio cannot be allocated */
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 1, PINMM_FAIL_PERSIST);
	n = memfd_pin_folios(f, 2 * PAGE_SIZE, 2 * PAGE_SIZE + 1, folios, 4, &off);
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
	is_int(n, -ENOMEM, "memfd_pin_folios: a hole that cannot be filled fails the call "
	       "(-ENOMEM)");

	/*
	 * A folio whose refcount is near the ceiling: the cache lookup's one
	 * reference fits, a pin's GUP_PIN_COUNTING_BIAS does not.
	 */
	fs_kwrite(f, 0, PAGE_SIZE, 5);
	cached = fs_cached(f, 0);
	if (!cached)
		bail_out("memfd page 0 not cached");
	ref = folio_ref_count(cached);
	folio_ref_add(cached, PAGE_REF_CEILING - 64 - ref);
	n = memfd_pin_folios(f, 0, PAGE_SIZE - 1, folios, 4, &off);
	folio_ref_sub(cached, PAGE_REF_CEILING - 64 - ref);
	ok(n < 0, "memfd_pin_folios: a folio that cannot take a pin fails the call (%ld)", n);
	is_int(folio_ref_count(cached), ref, "memfd_pin_folios: ... and leaves its refcount alone");
	folio_put(cached);
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED), held0,
	       "memfd_pin_folios: no pin held after the failures");

	/* max_folios caps the pins: nothing written past it */
	folios[2] = folios[3] = NULL;
	n = memfd_pin_folios(f, 0, 4 * PAGE_SIZE - 1, folios, 2, &off);
	ok(n == 2 && !folios[2], "memfd_pin_folios: a 4-folio range with max_folios 2 pins 2 and "
	   "writes nothing past them");
	if (n > 0)
		unpin_folios(folios, (unsigned long)n);

	/* unpin_folios(): NULL entries skipped, nothing past n touched */
	n = memfd_pin_folios(f, 0, 2 * PAGE_SIZE - 1, folios, 4, &off);
	is_int(n, 2, "memfd_pin_folios: two folios pinned");
	if (n != 2)
		bail_out("memfd_pin_folios");
	folio_add_pin(folios[1]);
	arr[0] = folios[0];
	arr[1] = NULL;
	arr[2] = folios[1];
	arr[3] = folios[1];	/* the extra pin: past n, not released */
	unpin_folios(arr, 3);
	ok(!folio_maybe_dma_pinned(folios[0]) && folio_maybe_dma_pinned(folios[1]),
	   "unpin_folios: entries 0 and 2 released, the NULL skipped, entry 3 (past n) kept");
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED), held0 + 1,
	       "unpin_folios: exactly one pin still held");
	unpin_folio(folios[1]);
	fput(f);
	fs_teardown("memfd_pin_edges", NULL);
}

/*
 * GUP-fast alone on a shared disk-file page (gup_fast_folio_allowed(): only
 * FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE together needs the VMA's verdict):
 * a short-term pin and a read-only long-term pin are taken by the lockless
 * walk itself; the writable long-term one is left to the slow path.
 */
static void fast_only_file(void)
{
	struct task_struct *t;
	struct page *page;
	struct file *f;
	unsigned long a;
	long n;

	fs_boot();
	t = test_process("fast-file");
	f = fs_open("fastfile", O_RDWR | O_CREAT);
	if (fs_kwrite(f, 0, PAGE_SIZE, 5) != (ssize_t)PAGE_SIZE)
		bail_out("fast_only_file: write");
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fs_uwrite(a, 8, 5, 0);		/* mapped writable and dirty */
	n = gup_fast_fallback(a, 1, FOLL_PIN | FOLL_WRITE | FOLL_FAST_ONLY, &page);
	is_int(n, 1, "GUP-fast alone: a short-term write pin of a shared disk-file page");
	if (n == 1)
		unpin_user_page(page);
	n = gup_fast_fallback(a, 1, FOLL_PIN | FOLL_LONGTERM | FOLL_FAST_ONLY, &page);
	is_int(n, 1, "GUP-fast alone: a read-only long-term pin of it");
	if (n == 1)
		unpin_user_page(page);
	n = gup_fast_fallback(a, 1, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM | FOLL_FAST_ONLY, &page);
	is_int(n, 0, "GUP-fast alone: not a writable long-term pin (the slow path refuses it)");
	if (n == 1)
		unpin_user_page(page);
	vm_munmap(a, PAGE_SIZE);
	fput(f);
	/*
	 * shmem needs no dirty tracking: GUP-fast itself takes the writable
	 * long-term pin (Linux gup_fast_folio_allowed(): shmem_mapping()).
	 */
	a = vm_mmap(NULL, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 0);
	fs_uwrite(a, 8, 6, 0);
	n = gup_fast_fallback(a, 1, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM | FOLL_FAST_ONLY, &page);
	is_int(n, 1, "GUP-fast alone: a writable long-term pin of a shmem page");
	if (n == 1)
		unpin_user_page(page);
	vm_munmap(a, PAGE_SIZE);
	fs_teardown("fast_only_file", t);
}

int main(void)
{
	plan_no_plan();
	fast_only_file();
	for (int b = 0; b < NR_BACKINGS; b++)
		for (int shared = 1; shared >= 0; shared--)
			for (int k = 0; k < NR_PINS; k++)
				one_cell((enum backing)b, shared, (enum pin_kind)k);
	for (int b = B_MEMFD; b < NR_BACKINGS; b++) {
		cow_nonanon((enum backing)b, NR_PINS);
		cow_nonanon((enum backing)b, P_RO_SLOW);
		cow_nonanon((enum backing)b, P_RO_FAST);
	}
	memfd_pin();
	memfd_pin_edges();
	return done_testing();
}
