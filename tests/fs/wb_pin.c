// SPDX-License-Identifier: MIT
/*
 * Writeback meets pins: the hazard the 2019 FOLL_PIN thread was about
 * (LWN "The trouble with get_user_pages()", 2018; Documentation/core-api/
 * pin_user_pages.rst; Jan Kara's ext4 reports), and what pinmm does past it.
 *
 *  1. The torn block. A device writes into a page-cache page through a pin
 *     while writeback writes the page out. The file system takes the
 *     block's checksum when it submits the I/O (as btrfs does); the disk
 *     reads the page later. Under PINMM_WB_PIN_LINUX (what Linux does) the
 *     bytes that land and their checksum disagree — within a bounded number
 *     of tries. Under PINMM_WB_PIN_STABLE writeback writes a snapshot of a
 *     pinned folio and leaves it dirty: never torn, and the device's last
 *     bytes reach the disk on the next pass.
 *  2. Stable pages for CPUs. A CPU store after writeback cleaned a folio
 *     faults (folio_mkclean()) and waits for the writeback to end on a
 *     mapping with AS_STABLE_WRITES: never torn, under either policy.
 *  3. The 2018 failure, on the FOLL_GET path: get_user_pages() for a
 *     direct-I/O read into a MAP_SHARED file page, writeback cleans it,
 *     reclaim releases its blocks (it cannot tell the reference from any
 *     other), the device's set_page_dirty() at completion dirties a folio
 *     with no blocks — ext4_dirty_folio()'s WARN — and writeback drops the
 *     data. The same sequence with pin_user_pages(): reclaim sees the pin
 *     and leaves the folio alone; the data reaches the file.
 *
 * PINMM_TEST_CONCURRENT: a device thread and a CPU thread race writeback.
 */
#include "helpers.h"

#include <pinmm/dma.h>
#include <pthread.h>

#define TRIES		200

struct racer {
	pthread_t thread;
	atomic_bool stop;
	atomic_ulong writes;
	void *frame;			/* device: the pinned frame */
	struct task_struct *task;	/* CPU: the process whose mapping it stores to */
	unsigned long addr;
};

/* A device: rewrites the whole page with a new pattern, as fast as it can. */
static void *device_main(void *arg)
{
	struct racer *r = arg;
	unsigned char buf[PAGE_SIZE];

	for (unsigned long seed = 1000; !atomic_load(&r->stop); seed++) {
		fs_fill(buf, sizeof(buf), seed, 0);
		pinmm_dma_copy(r->frame, buf, sizeof(buf));
		atomic_fetch_add(&r->writes, 1);
	}
	return NULL;
}

/* A CPU: stores a new pattern through the mapping (faults like a CPU). */
static void *cpu_main(void *arg)
{
	struct racer *r = arg;

	pinmm_task_attach(r->task);
	for (unsigned long seed = 2000; !atomic_load(&r->stop); seed++) {
		fs_uwrite(r->addr, PAGE_SIZE, seed, 0);
		atomic_fetch_add(&r->writes, 1);
	}
	pinmm_task_detach();
	return NULL;
}

static void racer_stop(struct racer *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
}

/* Fsync while @r writes; how many passes left a block that fails its checksum. */
static unsigned long fsync_and_verify(struct file *f, struct racer *r, unsigned long tries,
				      unsigned long *passes)
{
	unsigned long torn = 0, checked, bad;
	long first;

	while (!atomic_load(&r->writes))
		;	/* the writer is running before the first pass */
	for (*passes = 0; *passes < tries; (*passes)++) {
		unsigned long w0 = atomic_load(&r->writes);

		if (r->frame) {
			/*
			 * The device's data is dirty again (set_page_dirty_lock(),
			 * as a driver does after a DMA): writeback has it to write
			 * every pass, not only the first.
			 */
			struct folio *folio = page_folio(virt_to_page(r->frame));

			folio_lock(folio);
			folio_mark_dirty(folio);
			folio_unlock(folio);
		}
		vfs_fsync(f, 0);
		pinmm_disk_drain();
		pinmm_diskfs_verify(f, &checked, &bad, &first);
		torn += bad;
		if (torn && r->frame)
			break;	/* the hazard is shown: no need to go on */
		while (atomic_load(&r->writes) == w0)
			;	/* let the writer make progress between passes */
	}
	return torn;
}

static void quiet_flusher(void)
{
	struct pinmm_dirty_limits l;

	/* only our fsyncs write: a periodic pass would race the checks */
	pinmm_get_dirty_limits(&l);
	l.dirty_writeback_centisecs = 0;
	pinmm_set_dirty_limits(&l);
}

static void device_vs_writeback(enum pinmm_wb_pin_policy policy)
{
	const char *pname = policy == PINMM_WB_PIN_STABLE ? "stable" : "linux";
	struct task_struct *t;
	struct racer r = { 0 };
	struct page *page;
	struct folio *folio;
	struct file *f;
	unsigned long a, torn, passes, bounce0, inplace0;
	unsigned char last[PAGE_SIZE];
	long n;

	fs_boot();
	quiet_flusher();
	pinmm_set_wb_pin_policy(policy);
	/* a disk a little slow to read the page after the checksum is taken */
	pinmm_disk_set_latency_us(50);
	t = test_process("dev");
	f = fs_open("torn", O_RDWR | O_CREAT);
	do_ftruncate(f, PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	/* a short-term writable pin: a long-term one is refused on a disk file */
	n = pin_user_pages_fast(a, 1, FOLL_WRITE, &page);
	is_int(n, 1, "[%s] a writable short-term pin of a shared disk-file page (case 1)", pname);
	folio = page_folio(page);
	bounce0 = fs_event(PINMM_WB_PINNED_BOUNCE);
	inplace0 = fs_event(PINMM_WB_PINNED_INPLACE);
	r.frame = page_address(page);
	pthread_create(&r.thread, NULL, device_main, &r);
	torn = fsync_and_verify(f, &r, TRIES, &passes);
	racer_stop(&r);
	if (policy == PINMM_WB_PIN_LINUX) {
		ok(torn > 0, "[linux] the device writing through the pin tore a block on disk: its "
		   "checksum does not match (after %lu fsync passes)", passes + 1);
		ok(fs_event(PINMM_WB_PINNED_INPLACE) > inplace0,
		   "[linux] writeback wrote the pinned folio in place");
	} else {
		is_uint(torn, 0, "[stable] %lu fsync passes while the device wrote: no block was "
			"ever torn (a snapshot was written)", passes);
		ok(fs_event(PINMM_WB_PINNED_BOUNCE) > bounce0,
		   "[stable] writeback bounced the pinned folio");
		ok(folio_test_dirty(folio),
		   "[stable] the pinned folio stays dirty: the device's later bytes are not forgotten");
	}
	/* the device's final bytes, then the completion the pin holder owes */
	pinmm_dma_copy(last, page_address(page), PAGE_SIZE);
	unpin_user_pages_dirty_lock(&page, 1, true);
	is_int(vfs_fsync(f, 0), 0, "[%s] fsync after the unpin", pname);
	{
		unsigned long checked, bad;
		long first;
		int fd = fs_host_open("torn");
		unsigned char disk[PAGE_SIZE];

		pinmm_diskfs_verify(f, &checked, &bad, &first);
		is_uint(bad, 0, "[%s] after unpin + fsync the block is consistent", pname);
		pread(fd, disk, sizeof(disk), 0);
		close(fd);
		ok(!memcmp(disk, last, sizeof(disk)),
		   "[%s] and holds the device's last write: no byte lost", pname);
	}
	vm_munmap(a, PAGE_SIZE);
	fput(f);
	pinmm_set_wb_pin_policy(PINMM_WB_PIN_LINUX);
	fs_teardown(policy == PINMM_WB_PIN_STABLE ? "device_vs_writeback[stable]" :
		    "device_vs_writeback[linux]", t);
}

static void cpu_vs_writeback(enum pinmm_wb_pin_policy policy)
{
	const char *pname = policy == PINMM_WB_PIN_STABLE ? "stable" : "linux";
	struct task_struct *t;
	struct racer r = { 0 };
	struct file *f;
	unsigned long torn, passes;

	fs_boot();
	quiet_flusher();
	pinmm_set_wb_pin_policy(policy);
	pinmm_disk_set_latency_us(50);
	t = test_process("cpu");
	f = fs_open("stable", O_RDWR | O_CREAT);
	do_ftruncate(f, PAGE_SIZE, 1);
	r.addr = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	r.task = t;
	pthread_create(&r.thread, NULL, cpu_main, &r);
	torn = fsync_and_verify(f, &r, 40, &passes);
	racer_stop(&r);
	is_uint(torn, 0, "[%s] %lu fsync passes while a CPU stored through the mapping: never "
		"torn (folio_mkclean + stable pages: the store waits for writeback)", pname, passes);
	ok(atomic_load(&r.writes) > 0, "[%s] the CPU did store meanwhile (%lu times)", pname,
	   atomic_load(&r.writes));
	vm_munmap(r.addr, PAGE_SIZE);
	fput(f);
	pinmm_set_wb_pin_policy(PINMM_WB_PIN_LINUX);
	fs_teardown("cpu_vs_writeback", t);
}

/*
 * The 2018 sequence. @pin: pin_user_pages() instead of get_user_pages().
 * Return the number of WARNs it caused.
 */
static void dio_then_reclaim(bool pin, enum pinmm_wb_pin_policy policy)
{
	const char *how = pin ? (policy == PINMM_WB_PIN_STABLE ? "pin_user_pages + stable" :
				 "pin_user_pages") : "get_user_pages";
	struct task_struct *t;
	struct page *page;
	struct folio *folio;
	struct file *f;
	unsigned long a, warns0, missing0, skip0;
	unsigned char data[PAGE_SIZE];
	long n;

	fs_boot();
	quiet_flusher();
	pinmm_set_wb_pin_policy(policy);
	t = test_process("2018");
	f = fs_open("victim", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, PAGE_SIZE, 1);
	vfs_fsync(f, 0);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	/* the driver takes the page for a device to read into (DIO read) */
	mmap_read_lock(t->mm);
	if (pin)
		n = pin_user_pages(a, 1, FOLL_WRITE, &page);
	else
		n = get_user_pages(a, 1, FOLL_WRITE, &page);
	mmap_read_unlock(t->mm);
	is_int(n, 1, "2018 [%s]: the page is taken for the device (a write fault: ->page_mkwrite "
	       "gave it blocks)", how);
	folio = page_folio(page);
	ok(folio_test_private(folio), "2018 [%s]: it has blocks now", how);
	/* writeback cleans it while the I/O is in flight */
	is_int(vfs_fsync(f, 0), 0, "2018 [%s]: writeback runs meanwhile", how);
	/* memory pressure: reclaim takes what it can */
	skip0 = fs_event(PINMM_RECLAIM_PINNED_SKIP);
	pinmm_reclaim_page_cache(1024, true);
	if (pin && policy == PINMM_WB_PIN_STABLE)
		ok(folio_test_private(folio) && folio_mapping(folio) == f->f_mapping &&
		   folio_test_dirty(folio),
		   "2018 [%s]: writeback wrote a snapshot and kept the pinned folio dirty, so "
		   "reclaim leaves it alone: cached, blocks kept", how);
	else if (pin)
		ok(folio_test_private(folio) && folio_mapping(folio) == f->f_mapping &&
		   fs_event(PINMM_RECLAIM_PINNED_SKIP) > skip0,
		   "2018 [%s]: reclaim sees the pin (folio_maybe_dma_pinned) and leaves the folio "
		   "alone: mapped, cached, blocks kept", how);
	else
		ok(!folio_test_private(folio) && folio_mapping(folio) == f->f_mapping,
		   "2018 [%s]: reclaim cannot tell the reference from any other: the folio lost "
		   "its blocks, and stays in the cache only because the reference kept it", how);
	/* the device finishes: its data, then the driver's set_page_dirty() */
	fs_fill(data, sizeof(data), 77, 0);
	pinmm_dma_copy(page_address(page), data, sizeof(data));
	warns0 = pinmm_warn_count();
	missing0 = diskfs_dirty_without_blocks();
	quiet_stderr_begin();
	if (pin) {
		unpin_user_pages_dirty_lock(&page, 1, true);
	} else {
		lock_page(page);
		set_page_dirty(page);
		unlock_page(page);
		put_page(page);
	}
	is_int(vfs_fsync(f, 0), 0, "2018 [%s]: fsync reports no error either way (ext4 neither)",
	       how);
	quiet_stderr_end();
	if (pin) {
		is_uint(pinmm_warn_count() - warns0, 0, "2018 [%s]: no warning", how);
		is_int(fs_host_bad("victim", 0, PAGE_SIZE, 77), 0,
		       "2018 [%s]: the device's data is in the file", how);
	} else {
		ok(pinmm_warn_count() > warns0,
		   "2018 [%s]: set_page_dirty() on a folio without blocks WARNs "
		   "(ext4_dirty_folio's WARN_ON_ONCE)", how);
		ok(diskfs_dirty_without_blocks() > missing0,
		   "2018 [%s]: writeback found a dirty folio with no blocks and dropped it (ext4's "
		   "\"does not have buffers attached\")", how);
		is_int(fs_host_bad("victim", 0, PAGE_SIZE, 1), 0,
		       "2018 [%s]: the disk still holds the old data: the device's write is lost", how);
	}
	vm_munmap(a, PAGE_SIZE);
	fput(f);
	pinmm_set_wb_pin_policy(PINMM_WB_PIN_LINUX);
	fs_teardown("dio_then_reclaim", t);
}

int main(void)
{
	plan_no_plan();
	device_vs_writeback(PINMM_WB_PIN_LINUX);
	device_vs_writeback(PINMM_WB_PIN_STABLE);
	cpu_vs_writeback(PINMM_WB_PIN_LINUX);
	cpu_vs_writeback(PINMM_WB_PIN_STABLE);
	dio_then_reclaim(false, PINMM_WB_PIN_LINUX);
	dio_then_reclaim(true, PINMM_WB_PIN_LINUX);
	dio_then_reclaim(true, PINMM_WB_PIN_STABLE);
	return done_testing();
}
