// SPDX-License-Identifier: MIT
/*
 * Fault-injection sweeps (SQLite's, on Linux's fail_page_alloc/failslab
 * sites; include/pinmm/fault-inject.h): for each operation and each site,
 * fail the 1st attempt there, then the 2nd, ..., until the operation gets
 * through without reaching the armed one. After every injected failure:
 *  - the error is Linux's (-ENOMEM for an allocation that failed; a pin
 *    that got some pages returns how many, as GUP does; io_uring turns a
 *    partial pin into -EFAULT, as io_pin_pages() does);
 *  - nothing leaked or changed: the pins are balanced, what the process
 *    had is still mapped with its data (and its pins), no WARN;
 *  - the same operation, without injection, then succeeds;
 * and each sweep ends with every frame free at shutdown.
 * Operations: a slow pin and a fast pin of memory not faulted in yet, a
 * long-term pin that must migrate out of ZONE_MOVABLE, fork of an mm with
 * pinned pages, mprotect and munmap splitting a PMD-mapped THP, compaction,
 * the RDMA, io_uring, VFIO and ODP registrations, and on files a buffered
 * write, fsync (which, like Linux's do_writepages() for WB_SYNC_ALL, retries
 * an allocation failure and succeeds) and O_DIRECT reads and writes.
 */
#include "sweep.h"
#include "../fs/helpers.h"

#include <pinmm/drivers.h>

#define NPAGES		8
#define TAG		0x51ee9

/* ---- pins of memory not faulted in yet ----------------------------------------------- */

static struct page *pages[NPAGES];
static unsigned long base;

/* A fresh mapping each time: new page tables, anon_vma and pages to allocate. */
static void prepare_fresh(void)
{
	vm_munmap(GT_BASE, PMD_SIZE);
	base = test_mmap_fixed(GT_BASE, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
}

static long run_slow_pin(void)
{
	return gt_pin(base, NPAGES, FOLL_WRITE, pages);
}

static long run_fast_pin(void)
{
	return pin_user_pages_fast(base, NPAGES, FOLL_WRITE, pages);
}

static void undo_pin(long ret)
{
	if (ret > 0)
		unpin_user_pages(pages, (unsigned long)ret);
}

static void pin_sweeps(void)
{
	static const struct sweep_op slow = { "slow pin", prepare_fresh, run_slow_pin, undo_pin, NULL, 0 };
	static const struct sweep_op fast = { "fast pin", prepare_fresh, run_fast_pin, undo_pin, NULL, 0 };
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_PAGE_ALLOC, PINMM_FAIL_PAGE_TABLE,
						      PINMM_FAIL_SLAB };

	test_boot(64, 0, 0);
	proc = test_process("pins");
	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++) {
		ok(sweep(&slow, sites[i]) > 0, "slow pin [%s]: the site was reached",
		   pinmm_fail_site_name(sites[i]));
		ok(sweep(&fast, sites[i]) > 0, "fast pin [%s]: the site was reached",
		   pinmm_fail_site_name(sites[i]));
	}
	gt_teardown("pin_sweeps", &proc, 1);
}

/* ---- a long-term pin that migrates out of ZONE_MOVABLE --------------------------------- */

static void prepare_movable(void)
{
	prepare_fresh();
	gt_fill(base, NPAGES, TAG);
}

static bool in_movable_data_ok(void)
{
	for (unsigned long i = 0; i < NPAGES; i++) {
		struct page *p = gt_page(proc->mm, base + i * PAGE_SIZE);

		if (!p || page_zonenum(p) != ZONE_MOVABLE)
			return false;
	}
	return gt_check(base, NPAGES, TAG) == 0;
}

static long run_longterm(void)
{
	return gt_pin(base, NPAGES, FOLL_WRITE | FOLL_LONGTERM, pages);
}

static bool longterm_intact(void)
{
	/* a failed long-term pin may have moved some pages already: the data must be there */
	return gt_check(base, NPAGES, TAG) == 0;
}

static void longterm_sweeps(void)
{
	static const struct sweep_op op = { "long-term pin", prepare_movable, run_longterm,
					    undo_pin, longterm_intact, 0 };
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_MIGRATE_TARGET,
						      PINMM_FAIL_PAGE_ALLOC };

	test_boot(64, 32, 0);
	proc = test_process("longterm");
	prepare_movable();
	ok(in_movable_data_ok(), "long-term pin: the pages start in ZONE_MOVABLE");
	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++)
		ok(sweep(&op, sites[i]) > 0, "long-term pin [%s]: the site was reached",
		   pinmm_fail_site_name(sites[i]));
	gt_teardown("longterm_sweeps", &proc, 1);
}

/* ---- fork of an mm with pinned pages ------------------------------------------------- */

static struct page *held[2];
static struct task_struct *forked;

static long run_fork(void)
{
	forked = NULL;
	return pinmm_fork(proc, "child", &forked);
}

/*
 * A second VMA after the pinned one: fork copies it after the first (dup_mmap
 * order). It straddles a PMD boundary, so its copy takes two PTE tables: one
 * that fails must fail the fork even when the next one is copied
 * (copy_page_range() stops at the first error).
 */
#define FORK_B	(GT_BASE + 5 * PMD_SIZE - 2 * PAGE_SIZE)
/* A PMD-mapped THP last: its copy deposits a page table for a later split (copy_huge_pmd()). */
#define FORK_C	(GT_BASE + 8 * PMD_SIZE)

static unsigned long child_bad;
static bool thp_forked;

/*
 * A fork that returns 0 made a whole child: it reads what the parent had in
 * every VMA (Linux's dup_mmap() stops at the first VMA that fails to copy
 * and fork fails; it never hands out a child with a VMA half copied), and
 * its THP's PMD can be split (the page table fork deposited with it: a
 * copy_huge_pmd() that could not allocate it fails the fork, -ENOMEM).
 */
static void undo_fork(long ret)
{
	if (!ret && forked) {
		pinmm_task_attach(forked);
		if (gt_check(GT_BASE, NPAGES, TAG) || gt_check(FORK_B, NPAGES, TAG + 1))
			child_bad++;
		if (thp_forked && (vm_munmap(FORK_C + PAGE_SIZE, PAGE_SIZE) ||
				   gt_check(FORK_C + 2 * PAGE_SIZE, NPAGES, TAG + 2)))
			child_bad++;
		pinmm_task_attach(proc);
		pinmm_task_exit(forked);
	}
	forked = NULL;
}

static void prepare_nothing(void)
{
}

/* The parent still maps its pinned pages, writable and exclusive, with their data. */
static bool parent_intact(void)
{
	for (int i = 0; i < 2; i++) {
		unsigned long a = GT_BASE + (unsigned long)i * PAGE_SIZE;

		if (gt_page(proc->mm, a) != held[i] || !gt_writable(proc->mm, a) ||
		    !gt_exclusive(held[i]) || !folio_maybe_dma_pinned(page_folio(held[i])))
			return false;
	}
	return gt_check(GT_BASE, NPAGES, TAG) == 0;
}

static void fork_sweeps(void)
{
	static const struct sweep_op op = { "fork", prepare_nothing, run_fork, undo_fork,
					    parent_intact, 0 };
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_PAGE_ALLOC, PINMM_FAIL_PAGE_TABLE,
						      PINMM_FAIL_SLAB };

	test_boot(64, 0, 0);
	proc = test_process("fork");
	test_mmap_fixed(GT_BASE, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(GT_BASE, NPAGES, TAG);
	test_mmap_fixed(FORK_B, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(FORK_B, NPAGES, TAG + 1);
	thp_forked = gt_thp(FORK_C);
	gt_fill(FORK_C + 2 * PAGE_SIZE, NPAGES, TAG + 2);
	ok(thp_forked, "fork: the parent has a PMD-mapped THP too");
	if (gt_pin(GT_BASE, 2, FOLL_WRITE | FOLL_LONGTERM, held) != 2)
		bail_out("fork: pin");
	child_bad = 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++)
		ok(sweep(&op, sites[i]) > 0, "fork [%s]: the site was reached",
		   pinmm_fail_site_name(sites[i]));
	is_uint(child_bad, 0, "fork: every fork that returned 0 made a whole child (every VMA "
		"reads as the parent's, its THP's PMD splits): a copy that failed fails the fork "
		"(dup_mmap(), dup_mm(), copy_huge_pmd())");
	unpin_user_pages(held, 2);
	gt_teardown("fork_sweeps", &proc, 1);
}

/* ---- mprotect and munmap that split a PMD-mapped THP -------------------------------- */

#define H	(GT_BASE + PMD_SIZE)

static void prepare_thp(void)
{
	vm_munmap(GT_BASE, 3 * PMD_SIZE);
	if (!gt_thp(H))
		bail_out("no PMD-mapped THP");
	gt_fill(H, HPAGE_PMD_NR, TAG);
}

/* The 2 MiB are still mapped read-write with their data (split or not). */
static bool thp_intact(void)
{
	for (unsigned long a = H; a < H + PMD_SIZE; a += 64 * PAGE_SIZE)
		if (!gt_writable(proc->mm, a) || !gt_writable(proc->mm, a + PAGE_SIZE))
			return false;
	return gt_check(H, HPAGE_PMD_NR, TAG) == 0;
}

static long run_mprotect(void)
{
	return do_mprotect(H + PAGE_SIZE, PAGE_SIZE, PROT_READ);
}

static long run_munmap(void)
{
	return vm_munmap(H + PAGE_SIZE, PAGE_SIZE);
}

static void undo_nothing(long ret)
{
	(void)ret;
}

static void thp_split_sweeps(void)
{
	static const struct sweep_op mprot = { "mprotect splitting a THP", prepare_thp,
					       run_mprotect, undo_nothing, thp_intact, 0 };
	static const struct sweep_op unmap = { "munmap splitting a THP", prepare_thp,
					       run_munmap, undo_nothing, thp_intact, 0 };

	test_boot(64, 0, 0);
	proc = test_process("thp-split");
	ok(sweep(&mprot, PINMM_FAIL_SLAB) > 0, "mprotect splitting a THP [slab]: the site was "
	   "reached (the VMA split)");
	ok(sweep(&unmap, PINMM_FAIL_SLAB) > 0, "munmap splitting a THP [slab]: the site was "
	   "reached (the VMA split)");
	gt_teardown("thp_split_sweeps", &proc, 1);
}

/* ---- compaction ------------------------------------------------------------------------ */

#define CPAGES	128
static struct page *cpin;

/* Every other page of a fresh region freed again: holes to compact; one page pinned. */
static void prepare_fragmented(void)
{
	if (cpin)
		unpin_user_page(cpin);
	cpin = NULL;
	vm_munmap(GT_BASE, PMD_SIZE);
	test_mmap_fixed(GT_BASE, CPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_fill(GT_BASE, CPAGES, TAG);
	for (unsigned long i = 1; i < CPAGES; i += 2)
		do_madvise(proc->mm, GT_BASE + i * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
	if (gt_pin(GT_BASE + 4 * PAGE_SIZE, 1, FOLL_WRITE, &cpin) != 1)
		bail_out("compaction: pin");
}

static long run_compact(void)
{
	compact_zone_now(&pinmm_zones[ZONE_MOVABLE]);
	return 0;
}

/* The even pages still hold their data; the pinned one did not move. */
static bool fragmented_intact(void)
{
	for (unsigned long i = 0; i < CPAGES; i += 2)
		if (gt_check(GT_BASE + i * PAGE_SIZE, 1, TAG + i) != 0 &&
		    gt_check(GT_BASE + i * PAGE_SIZE, 1, TAG) != 0)
			return false;
	return gt_page(proc->mm, GT_BASE + 4 * PAGE_SIZE) == cpin;
}

static void compaction_sweeps(void)
{
	static const struct sweep_op op = { "compaction", prepare_fragmented, run_compact,
					    undo_nothing, fragmented_intact, 0 };

	test_boot(64, 32, 0);
	proc = test_process("compact");
	ok(sweep(&op, PINMM_FAIL_MIGRATE_TARGET) > 0, "compaction [migrate_target]: the site "
	   "was reached");
	if (cpin)
		unpin_user_page(cpin);
	cpin = NULL;
	gt_teardown("compaction_sweeps", &proc, 1);
}

/* ---- driver registrations ---------------------------------------------------------------- */

static struct rdma_mr *mr;
static struct iou_buffer *iou;
static struct odp_mr *odp;
static struct page *vpages[NPAGES];

static long run_rdma(void)
{
	return rdma_reg_mr(base, NPAGES * PAGE_SIZE, RDMA_ACCESS_LOCAL_WRITE, &mr);
}

static void undo_rdma(long ret)
{
	if (!ret)
		rdma_dereg_mr(mr);
}

static long run_iou(void)
{
	return iou_register_buffer(base, NPAGES * PAGE_SIZE, &iou);
}

static void undo_iou(long ret)
{
	if (!ret)
		iou_unregister_buffer(iou);
}

static long run_vfio(void)
{
	return vfio_pin_pages_remote(proc->mm, base, NPAGES, true, vpages);
}

static void undo_vfio(long ret)
{
	if (ret > 0)
		vfio_unpin_pages_remote(proc->mm, vpages, (unsigned long)ret, true);
}

static long run_odp(void)
{
	long ret = odp_reg_mr(proc->mm, base, NPAGES * PAGE_SIZE, &odp);
	char buf[64] = { 1 };

	/* the device touches every page: faults through hmm_range_fault(), no pins */
	for (unsigned long i = 0; !ret && i < NPAGES; i++) {
		ret = odp_dma_write(odp, i * PAGE_SIZE, buf, sizeof(buf));
		if (ret) {
			odp_dereg_mr(odp);
			break;
		}
	}
	return ret;
}

static void undo_odp(long ret)
{
	if (!ret)
		odp_dereg_mr(odp);
}

static void driver_sweeps(void)
{
	static const struct sweep_op ops[] = {
		{ "rdma_reg_mr", prepare_fresh, run_rdma, undo_rdma, NULL, 0 },
		/* io_pin_pages(): a partial pin is released and becomes -EFAULT */
		{ "iou_register_buffer", prepare_fresh, run_iou, undo_iou, NULL, -EFAULT },
		{ "vfio_pin_pages_remote", prepare_fresh, run_vfio, undo_vfio, NULL, 0 },
		/* hmm_range_fault() reports a failed fault as -EFAULT, whatever the cause */
		{ "odp_reg_mr + device faults", prepare_fresh, run_odp, undo_odp, NULL, -EFAULT },
	};
	static const enum pinmm_fail_site sites[] = { PINMM_FAIL_PAGE_ALLOC, PINMM_FAIL_SLAB };

	test_boot(64, 0, 0);
	proc = test_process("drivers");
	for (unsigned int o = 0; o < ARRAY_SIZE(ops); o++)
		for (unsigned int i = 0; i < ARRAY_SIZE(sites); i++)
			ok(sweep(&ops[o], sites[i]) > 0, "%s [%s]: the site was reached",
			   ops[o].name, pinmm_fail_site_name(sites[i]));
	gt_teardown("driver_sweeps", &proc, 1);
}

/* ---- the file layer: buffered write, fsync, Direct I/O ------------------------------------ */

static struct file *file, *dfile;

static void prepare_empty_file(void)
{
	do_ftruncate(file, 0, 1);
}

static long run_buffered_write(void)
{
	return fs_kwrite(file, 0, NPAGES * PAGE_SIZE, 21);
}

/* What a (partial) write reported is what the file holds: no more, no less. */
static void undo_write(long ret)
{
	if (ret > 0 && fs_kcheck(file, 0, (size_t)ret, 21) != 0)
		diag("buffered write: %ld bytes reported, not all of them in the file", ret);
}

static bool write_intact(void)
{
	return i_size_read(file_inode(file)) % PAGE_SIZE == 0 ||
	       fs_kcheck(file, 0, (size_t)i_size_read(file_inode(file)), 21) == 0;
}

static void prepare_dirty_file(void)
{
	do_ftruncate(file, 0, 1);
	if (fs_kwrite(file, 0, NPAGES * PAGE_SIZE, 22) != (ssize_t)(NPAGES * PAGE_SIZE))
		bail_out("fsync sweep: write");
}

static long run_fsync(void)
{
	return vfs_fsync(file, 0);
}

/* fsync retries an allocation failure (Linux's do_writepages for WB_SYNC_ALL): done right. */
static void undo_fsync(long ret)
{
	(void)ret;
}

static bool fsync_done(void)
{
	return fs_host_bad("sweep", 0, NPAGES * PAGE_SIZE, 22) == 0 &&
	       !xa_marked(&file->f_mapping->i_pages, PAGECACHE_TAG_DIRTY);
}

static long run_dio_read(void)
{
	loff_t pos = 0;

	return vfs_read(dfile, (char __user *)base, NPAGES * PAGE_SIZE, &pos);
}

static long run_dio_write(void)
{
	loff_t pos = 0;

	return vfs_write(dfile, (const char __user *)base, NPAGES * PAGE_SIZE, &pos);
}

static void file_sweeps(void)
{
	static const struct sweep_op wr = { "buffered write", prepare_empty_file,
					    run_buffered_write, undo_write, write_intact, 0 };
	static const struct sweep_op fs = { "fsync", prepare_dirty_file, run_fsync, undo_fsync,
					    fsync_done, 0 };
	static const struct sweep_op dr = { "O_DIRECT read", prepare_fresh, run_dio_read,
					    undo_nothing, NULL, 0 };
	static const struct sweep_op dw = { "O_DIRECT write", prepare_fresh, run_dio_write,
					    undo_nothing, NULL, 0 };

	fs_boot();
	proc = test_process("files");
	file = fs_open("sweep", O_RDWR | O_CREAT);
	dfile = fs_open("sweep-dio", O_RDWR | O_CREAT);
	if (fs_kwrite(dfile, 0, NPAGES * PAGE_SIZE, 23) != (ssize_t)(NPAGES * PAGE_SIZE) ||
	    vfs_fsync(dfile, 0))
		bail_out("dio file");
	fput(dfile);
	dfile = fs_open("sweep-dio", O_RDWR | O_DIRECT);
	ok(sweep(&wr, PINMM_FAIL_PAGE_ALLOC) > 0, "buffered write [page_alloc]: reached");
	ok(sweep(&wr, PINMM_FAIL_SLAB) > 0, "buffered write [slab]: reached (the block maps)");
	ok(sweep(&fs, PINMM_FAIL_SLAB) > 0, "fsync [slab]: reached (writeback's bios)");
	ok(sweep(&dr, PINMM_FAIL_SLAB) > 0, "O_DIRECT read [slab]: reached (the bios)");
	ok(sweep(&dr, PINMM_FAIL_PAGE_ALLOC) > 0, "O_DIRECT read [page_alloc]: reached (the "
	   "user buffer's faults)");
	ok(sweep(&dw, PINMM_FAIL_SLAB) > 0, "O_DIRECT write [slab]: reached");
	fput(dfile);
	fput(file);
	vm_munmap(GT_BASE, PMD_SIZE);
	fs_teardown("file_sweeps", proc);
}

int main(void)
{
	plan_no_plan();
	pin_sweeps();
	longterm_sweeps();
	fork_sweeps();
	thp_split_sweeps();
	compaction_sweeps();
	driver_sweeps();
	file_sweeps();
	return done_testing();
}
