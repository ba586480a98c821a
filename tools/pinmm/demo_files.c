// SPDX-License-Identifier: MIT
/*
 * pinmm demo, chapter 4: files. What the 2019 FOLL_PIN thread was about,
 * run: a page-cache page that a device writes through a pin while
 * writeback writes it out.
 */
#include "pinmm.h"

#include <errno.h>
#include <pinmm/bio.h>
#include <pinmm/dma.h>
#include <pinmm/fs.h>
#include <pinmm/gup.h>
#include <pinmm/memory.h>
#include <pinmm/mman.h>
#include <pinmm/pagemap.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <pinmm/writeback.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>


static bool pte_writable(struct mm_struct *mm, unsigned long addr)
{
	pmd_t *pmd;
	pte_t *pte;
	spinlock_t *ptl;
	bool w = false;

	mmap_read_lock(mm);
	pmd = mm_find_pmd(mm, addr);
	if (pmd && (pte = pte_offset_map_lock(mm, pmd, addr, &ptl))) {
		w = pte_write(ptep_get(pte));
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mm);
	return w;
}

static unsigned long torn_blocks(struct file *f)
{
	unsigned long checked, bad;
	long first;

	pinmm_disk_drain();
	pinmm_diskfs_verify(f, &checked, &bad, &first);
	return bad;
}

struct device {
	pthread_t thread;
	atomic_bool stop;
	void *frame;
};

static void *device_main(void *arg)
{
	struct device *d = arg;
	char buf[PAGE_SIZE];

	for (unsigned int v = 0; !atomic_load(&d->stop); v++) {
		memset(buf, 'A' + v % 26, sizeof(buf));
		pinmm_dma_copy(d->frame, buf, sizeof(buf));
	}
	return NULL;
}

/* fsync up to @tries times while a device writes through the pin: torn blocks seen */
static unsigned long race_writeback(struct file *f, struct page *page, int tries)
{
	struct device d = { .frame = page_address(page) };
	unsigned long torn = 0;

	pthread_create(&d.thread, NULL, device_main, &d);
	for (int i = 0; i < tries && !torn; i++) {
		/* the driver marks what the device wrote dirty (set_page_dirty_lock) */
		lock_page(page);
		set_page_dirty(page);
		unlock_page(page);
		vfs_fsync(f, 0);
		torn += torn_blocks(f);
	}
	atomic_store(&d.stop, true);
	pthread_join(d.thread, NULL);
	return torn;
}

static int part_writenotify(struct tool_opts *o, struct task_struct *task)
{
	struct file *f = filp_open("notes", O_RDWR | O_CREAT, 0644), *m;
	struct page *page;
	unsigned long a, b;
	long r;

	CHECK(o, !IS_ERR(f), "filp_open");
	do_ftruncate(f, PAGE_SIZE, 1);
	a = vm_mmap(f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	CHECK(o, !IS_ERR_VALUE(a), "mmap");
	say(o, "A shared writable mapping of a disk file starts write-protected (write-notify):\n");
	{
		char c;

		get_user(c, (char __user *)a);
		(void)c;
	}
	say(o, "  after a read fault the PTE is %s;", pte_writable(task->mm, a) ? "writable" : "read-only");
	put_user('x', (char __user *)a);
	say(o, " a store faults into ->page_mkwrite: %s, the folio dirty;\n",
	    pte_writable(task->mm, a) ? "writable" : "read-only");
	vfs_fsync(f, 0);
	say(o, "  fsync: writeback write-protects every mapping first (folio_mkclean): PTE %s.\n",
	    pte_writable(task->mm, a) ? "writable" : "read-only");
	mmap_read_lock(task->mm);
	r = pin_user_pages(a, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	mmap_read_unlock(task->mm);
	say(o, "A writable FOLL_LONGTERM pin of it: %ld (-EFAULT: the file tracks dirtying,\n"
	       "  writable_file_mapping_allowed()); ", r);
	CHECK(o, r == -EFAULT, "long-term pin of a disk file must be refused");
	m = memfd_alloc_file("demo", 0);
	do_ftruncate(m, PAGE_SIZE, 1);
	b = vm_mmap(m, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	r = pin_user_pages_fast(b, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	say(o, "of a memfd: %ld (shmem does not write back).\n", r);
	CHECK(o, r == 1, "long-term pin of a memfd");
	unpin_user_page(page);
	vm_munmap(b, PAGE_SIZE);
	vm_munmap(a, PAGE_SIZE);
	fput(m);
	fput(f);
	return 0;
}

static int part_torn(struct tool_opts *o, enum pinmm_wb_pin_policy policy)
{
	struct file *f = filp_open("torn", O_RDWR | O_CREAT, 0644);
	struct page *page;
	unsigned long a, torn, bounce0 = global_vm_event(PINMM_WB_PINNED_BOUNCE);
	const char *name = policy == PINMM_WB_PIN_STABLE ? "stable" : "linux";

	CHECK(o, !IS_ERR(f), "filp_open");
	do_ftruncate(f, PAGE_SIZE, 1);
	a = vm_mmap(f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	CHECK(o, pin_user_pages_fast(a, 1, FOLL_WRITE, &page) == 1, "short-term pin");
	pinmm_set_wb_pin_policy(policy);
	pinmm_disk_set_latency_us(50);
	torn = race_writeback(f, page, 100);
	pinmm_disk_set_latency_us(0);
	if (policy == PINMM_WB_PIN_LINUX) {
		say(o, "  [linux]  %s: the checksum taken when the I/O was submitted no longer\n"
		       "           matches the bytes the disk read: a torn block on disk.\n",
		    torn ? "torn" : "not torn this time");
	} else {
		say(o, "  [stable] %s in 100 fsyncs: writeback wrote a snapshot (%lu bounces) and\n"
		       "           left the folio dirty for the device's next bytes.\n",
		    torn ? "TORN" : "never torn", global_vm_event(PINMM_WB_PINNED_BOUNCE) - bounce0);
		CHECK(o, !torn, "the stable policy must never tear a block");
		CHECK(o, folio_test_dirty(page_folio(page)), "the pinned folio stays dirty");
	}
	unpin_user_pages_dirty_lock(&page, 1, true);
	vfs_fsync(f, 0);
	say(o, "           after unpin + fsync: %lu torn blocks (%s)\n", torn_blocks(f), name);
	pinmm_set_wb_pin_policy(PINMM_WB_PIN_LINUX);
	vm_munmap(a, PAGE_SIZE);
	fput(f);
	return 0;
}

/* The 2018 sequence: GUP for a DIO read into a shared file page, writeback, reclaim, dirty. */
static int part_2018(struct tool_opts *o, struct task_struct *task, bool pin)
{
	struct file *f = filp_open(pin ? "pinned" : "got", O_RDWR | O_CREAT, 0644);
	unsigned long a, warns0 = pinmm_warn_count(), dropped0 = diskfs_dirty_without_blocks();
	struct page *page;
	char c = 0, disk[8] = { 0 };
	loff_t pos = 0;

	CHECK(o, !IS_ERR(f), "filp_open");
	kernel_write(f, "old data", 8, &pos);
	vfs_fsync(f, 0);
	a = vm_mmap(f, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	mmap_read_lock(task->mm);
	CHECK(o, (pin ? pin_user_pages(a, 1, FOLL_WRITE, &page) :
		  get_user_pages(a, 1, FOLL_WRITE, &page)) == 1, "GUP");
	mmap_read_unlock(task->mm);
	vfs_fsync(f, 0);			/* writeback during the I/O */
	pinmm_reclaim_page_cache(1024, true);	/* memory pressure */
	memcpy(page_address(page), "NEW DATA", 8);	/* the device finishes */
	pinmm_warn_set_quiet(true);
	if (pin) {
		unpin_user_pages_dirty_lock(&page, 1, true);
	} else {
		lock_page(page);
		set_page_dirty(page);
		unlock_page(page);
		put_page(page);
	}
	{
		FILE *saved = stderr;

		stderr = fopen("/dev/null", "w");
		vfs_fsync(f, 0);
		fclose(stderr);
		stderr = saved;
	}
	pinmm_warn_set_quiet(false);
	pos = 0;
	vm_munmap(a, PAGE_SIZE);
	pinmm_drop_caches();
	kernel_read(f, disk, 8, &pos);
	say(o, "  %-16s reclaim %s; %lu WARN, %lu dirty folio(s) without blocks dropped;\n"
	       "                   the file now reads \"%.8s\"\n",
	    pin ? "pin_user_pages:" : "get_user_pages:",
	    pin ? "saw the pin and left the folio alone" : "released the folio's blocks",
	    pinmm_warn_count() - warns0, diskfs_dirty_without_blocks() - dropped0, disk);
	CHECK(o, pin == !memcmp(disk, "NEW DATA", 8), "the 2018 outcome");
	(void)c;
	fput(f);
	return 0;
}

int chapter_files(struct tool_opts *o, struct task_struct *task)
{
	struct pinmm_dirty_limits l;

	say(o, "\n== 4. Files: writeback meets a pin\n\n");
	pinmm_get_dirty_limits(&l);
	l.dirty_writeback_centisecs = 0;	/* only our fsyncs write back: the story is exact */
	pinmm_set_dirty_limits(&l);
	if (part_writenotify(o, task))
		return 1;
	say(o, "\nA device writes a shared file page through a short-term pin while fsync\n"
	       "writes it out (every block carries a checksum, taken at submission):\n");
	if (part_torn(o, PINMM_WB_PIN_LINUX) || part_torn(o, PINMM_WB_PIN_STABLE))
		return 1;
	say(o, "\nThe 2018 report: DIO into a MAP_SHARED file page, writeback, reclaim, then the\n"
	       "driver's set_page_dirty() at completion:\n");
	if (part_2018(o, task, false) || part_2018(o, task, true))
		return 1;
	if (!o->quiet) {
		printf("\n/proc/meminfo now (page cache lines):\n");
		pinmm_print_meminfo(stdout);
	}
	return 0;
}
