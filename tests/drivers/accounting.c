// SPDX-License-Identifier: MIT
/*
 * The drivers as Linux call sites (each file in drivers/ includes only <linux/...>):
 * what each charges and when it refuses, as its Linux counterpart does.
 *  - RDMA, ib_umem_get(): mm->pinned_vm charged before pinning, held to
 *    RLIMIT_MEMLOCK unless capable(CAP_IPC_LOCK): over it -ENOMEM with
 *    nothing pinned or charged; an sg table of the pages; release unpins and
 *    uncharges (drivers/infiniband/core/umem.c).
 *  - io_uring: a THP-backed buffer keeps one pin per folio; each folio is
 *    charged in full to mm->pinned_vm, and to user->locked_vm only without
 *    CAP_IPC_LOCK, against RLIMIT_MEMLOCK (io_uring/rsrc.c). Measured on the
 *    live 6.18 kernel here: VmPin +2048 kB for a 2 MiB THP buffer and back to
 *    0 after unregistering; without CAP_IPC_LOCK under a 64 KiB limit, 2 MiB
 *    and even 32 KiB of a THP are -ENOMEM, 32 KiB of small pages registers.
 *  - VFIO type1: the pinned mm's locked_vm, held to the caller's
 *    RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK (vfio_lock_acct()).
 *  - DIO: 512-byte alignment (iomap), pages unpinned dirty.
 *  - process_vm_readv/writev: short-term remote pins, copies through the
 *    frames, same uid or CAP_SYS_PTRACE, short copy at the first hole
 *    (mm/process_vm_access.c).
 *  - vmsplice: FOLL_GET references, not pins; the pipe sees the page as it
 *    is when read, and keeps it alive past munmap (fs/splice.c).
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE	0x600000000UL

static long acq(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
}

static long rel(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
}

static void populate(unsigned long addr, unsigned long len, bool thp)
{
	test_mmap_fixed(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (thp)
		do_madvise(current->mm, addr, len, MADV_HUGEPAGE);
	do_madvise(current->mm, addr, len, MADV_POPULATE_WRITE);
}

static struct page *page_at(struct mm_struct *mm, unsigned long addr)
{
	return pfn_to_page(test_pt_pfn(mm, addr));
}

static void rdma(void)
{
	struct task_struct *t;
	struct rdma_mr *mr;
	struct scatterlist *sg;
	unsigned int i, pages_in_sg = 0;
	bool pinnable = true;
	long a0, r0;

	test_boot(128, 32, 16);
	t = test_process("umem");
	populate(BASE, 64 * PAGE_SIZE, false);
	a0 = acq();
	r0 = rel();
	is_int(rdma_reg_mr(BASE + 100, 64 * PAGE_SIZE - 200, RDMA_ACCESS_LOCAL_WRITE, &mr), 0,
	       "rdma: 64 pages registered");
	is_int(atomic64_read(&t->mm->pinned_vm), 64, "rdma: mm->pinned_vm charged 64 pages");
	is_int((acq() - a0) - (rel() - r0), 64,
	       "rdma: 64 pins held (a long-term pin that migrates counts its first pins as "
	       "taken and released)");
	for_each_sgtable_sg(&mr->sgt, sg, i) {
		pages_in_sg += DIV_ROUND_UP(sg->offset + sg->length, PAGE_SIZE);
		pinnable &= folio_is_longterm_pinnable(page_folio(sg_page(sg)));
	}
	ok(mr->sgt.sgl[0].offset == 100 && pages_in_sg == 64 && pinnable,
	   "rdma: the sg table starts 100 bytes in, covers 64 pinnable pages in %u entries",
	   mr->sgt.orig_nents);
	rdma_dereg_mr(mr);
	ok(atomic64_read(&t->mm->pinned_vm) == 0 && acq() == rel(),
	   "rdma: deregistration unpins and uncharges");

	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 32 * PAGE_SIZE, 32 * PAGE_SIZE);
	is_int(rdma_reg_mr(BASE, 64 * PAGE_SIZE, 0, &mr), 0,
	       "rdma: over RLIMIT_MEMLOCK is allowed with CAP_IPC_LOCK");
	rdma_dereg_mr(mr);
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	a0 = acq();
	is_int(rdma_reg_mr(BASE, 64 * PAGE_SIZE, 0, &mr), -ENOMEM,
	       "rdma: over RLIMIT_MEMLOCK without CAP_IPC_LOCK is -ENOMEM");
	ok(acq() == a0 && atomic64_read(&t->mm->pinned_vm) == 0,
	   "rdma: ... with nothing pinned or charged");
	is_int(rdma_reg_mr(BASE, 32 * PAGE_SIZE, 0, &mr), 0, "rdma: exactly the limit is allowed");
	rdma_dereg_mr(mr);
	is_int(rdma_reg_mr(~0UL - 10, 100, 0, &mr), -EINVAL, "rdma: a wrapping range is -EINVAL");
	pinmm_task_exit(t);
	test_shutdown_ok("rdma accounting");
}

static void io_uring(void)
{
	struct task_struct *t;
	struct iou_buffer *buf;
	struct folio *folio;
	long a0, r0;

	test_boot(128, 0, 0);
	t = test_process("iou");
	populate(BASE, PMD_SIZE, true);
	populate(BASE + PMD_SIZE, 17 * PAGE_SIZE, false);
	folio = page_folio(page_at(t->mm, BASE));
	a0 = acq();
	r0 = rel();
	is_int(iou_register_buffer(BASE, PMD_SIZE, &buf), 0, "io_uring: a 2 MiB THP buffer registers");
	if (folio_test_large(folio)) {
		ok(buf->nr_bvecs == 1 && buf->folio_shift == PMD_SHIFT,
		   "io_uring: the THP coalesces into one entry (folio_shift 21)");
		is_int(folio_pincount(folio), 1, "io_uring: one pin kept per folio, not 512");
		is_int((acq() - a0) - (rel() - r0), 1, "io_uring: net one pin in the counters");
	} else {
		skip(3, "no THP");
	}
	is_int(atomic64_read(&t->mm->pinned_vm), 512,
	       "io_uring: mm->pinned_vm + 512 (the live kernel: VmPin 2048 kB)");
	ok(!buf->user, "io_uring: with CAP_IPC_LOCK no user_struct is charged");
	iou_unregister_buffer(buf);
	ok(atomic64_read(&t->mm->pinned_vm) == 0 && acq() == rel() && !folio_pincount(folio),
	   "io_uring: unregister unpins and returns pinned_vm to 0 (the live kernel: VmPin 0)");
	is_int(iou_register_buffer(BASE, 8 * PAGE_SIZE, &buf), 0, "io_uring: 8 pages of the THP");
	is_int(atomic64_read(&t->mm->pinned_vm), 512,
	       "io_uring: ... charge the whole folio, 512 pages (io_buffer_account_pin)");
	iou_unregister_buffer(buf);

	pinmm_task_set_uid(t, 1000);
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 16 * PAGE_SIZE, 16 * PAGE_SIZE);
	is_int(iou_register_buffer(BASE, PMD_SIZE, &buf), -ENOMEM,
	       "io_uring: 2 MiB over a 64 KiB RLIMIT_MEMLOCK without CAP_IPC_LOCK is -ENOMEM "
	       "(live kernel: -12)");
	ok(atomic64_read(&t->mm->pinned_vm) == 0 && atomic_long_read(&t->user->locked_vm) == 0 &&
	   acq() == rel(), "io_uring: ... nothing pinned or charged (live kernel: VmPin 0)");
	is_int(iou_register_buffer(BASE, 8 * PAGE_SIZE, &buf), -ENOMEM,
	       "io_uring: so is 32 KiB of the THP: it counts as 512 pages (live kernel: -12)");
	is_int(iou_register_buffer(BASE + PMD_SIZE, 8 * PAGE_SIZE, &buf), 0,
	       "io_uring: 32 KiB of small pages fits (live kernel: 0)");
	ok(buf->user == t->user && atomic_long_read(&t->user->locked_vm) == 8 &&
	   atomic64_read(&t->mm->pinned_vm) == 8,
	   "io_uring: user->locked_vm and pinned_vm + 8 (live kernel: VmPin 32 kB)");
	iou_unregister_buffer(buf);
	ok(atomic_long_read(&t->user->locked_vm) == 0 && atomic64_read(&t->mm->pinned_vm) == 0,
	   "io_uring: unregister uncharges both");
	is_int(iou_register_buffer(BASE + PMD_SIZE, 17 * PAGE_SIZE, &buf), -ENOMEM,
	       "io_uring: 17 pages over a 16-page limit is -ENOMEM (the live kernel also charges "
	       "the rings' own pages, so there even 64 KiB fails)");
	ok(acq() == rel(), "io_uring: ... and no pin kept");
	pinmm_task_exit(t);
	test_shutdown_ok("io_uring accounting");
}

static void vfio(void)
{
	struct task_struct *guest, *vmm;
	struct page *pages[32];
	struct mm_struct *mm;

	test_boot(128, 32, 16);
	guest = test_process("guest");
	populate(BASE, 32 * PAGE_SIZE, false);
	vmm = test_process("vmm");
	mm = get_task_mm(guest);
	is_int(vfio_pin_pages_remote(mm, BASE, 32, true, pages), 32, "vfio: 32 remote pages pinned");
	ok(mm->locked_vm == 32 && vmm->mm->locked_vm == 0,
	   "vfio: charged to the pinned mm's locked_vm");
	vfio_unpin_pages_remote(mm, pages, 32, true);
	ok(mm->locked_vm == 0 && acq() == rel(), "vfio: unpin uncharges");
	pinmm_task_set_rlimit(vmm, RLIMIT_MEMLOCK, 16 * PAGE_SIZE, 16 * PAGE_SIZE);
	pinmm_task_set_cap(vmm, CAP_IPC_LOCK, false);
	is_int(vfio_pin_pages_remote(mm, BASE, 32, true, pages), -ENOMEM,
	       "vfio: over RLIMIT_MEMLOCK without CAP_IPC_LOCK is -ENOMEM");
	ok(mm->locked_vm == 0 && acq() == rel(), "vfio: ... pins dropped, nothing charged");
	is_int(vfio_pin_pages_remote(mm, BASE, 16, false, pages), 16, "vfio: the limit itself fits");
	vfio_unpin_pages_remote(mm, pages, 16, false);
	mmput(mm);
	pinmm_task_exit(vmm);
	pinmm_task_attach(guest);
	pinmm_task_exit(guest);
	test_shutdown_ok("vfio accounting");
}

static void dio(void)
{
	char path[] = "/tmp/pinmm-dio-XXXXXX", buf[600];
	static char disk[64 * 1024];
	struct task_struct *t;
	int fd = mkstemp(path);
	long a0, r0;

	unlink(path);
	for (unsigned int i = 0; i < sizeof(disk); i++)
		disk[i] = (char)(i * 7 + 3);
	if (fd < 0 || pwrite(fd, disk, sizeof(disk), 0) != (ssize_t)sizeof(disk))
		bail_out("temp file");
	test_boot(64, 0, 0);
	t = test_process("dio");
	populate(BASE, 16 * PAGE_SIZE, false);
	a0 = acq();
	r0 = rel();
	is_int(dio_pread(fd, BASE + 512, 3 * PAGE_SIZE, 1024), 3 * PAGE_SIZE,
	       "dio: a read 512 bytes into a page, 512-byte aligned, succeeds");
	copy_from_user(buf, (void __user *)(BASE + 512), sizeof(buf));
	ok(!memcmp(buf, disk + 1024, sizeof(buf)), "dio: the bytes landed through the pins");
	ok(acq() - a0 == 4 && rel() - r0 == 4, "dio: 4 pages pinned short-term and released");
	ok(folio_test_dirty(page_folio(page_at(t->mm, BASE + PAGE_SIZE))),
	   "dio: pages the device wrote are unpinned dirty");
	is_int(dio_pread(fd, BASE + 256, 512, 0), -EINVAL,
	       "dio: a buffer on a 256-byte boundary is -EINVAL");
	is_int(dio_pread(fd, BASE, 512, 100), -EINVAL, "dio: an offset of 100 is -EINVAL");
	is_int(dio_pwrite(fd, BASE + 512, 1024, 4096), 1024, "dio: a 1 KiB aligned write");
	pinmm_task_exit(t);
	close(fd);
	test_shutdown_ok("dio alignment");
}

static void process_vm(void)
{
	struct task_struct *target, *me;
	struct iovec lv[2], rv[2];
	char out[64], in[64];
	long a0, r0;

	test_boot(64, 0, 0);
	target = test_process("target");
	populate(BASE, 4 * PAGE_SIZE, false);
	copy_to_user((void __user *)(BASE + PAGE_SIZE - 10), "across-a-page-boundary", 22);
	me = test_process("reader");
	populate(BASE + 16 * PAGE_SIZE, PAGE_SIZE, false);
	lv[0] = (struct iovec){ (void *)(BASE + 16 * PAGE_SIZE), 8 };
	lv[1] = (struct iovec){ (void *)(BASE + 16 * PAGE_SIZE + 100), 14 };
	rv[0] = (struct iovec){ (void *)(BASE + PAGE_SIZE - 10), 22 };
	a0 = acq();
	r0 = rel();
	is_int(process_vm_rw(target->pid, lv, 2, rv, 1, 0, false), 22,
	       "process_vm_readv: 22 bytes across a page boundary into two local buffers");
	copy_from_user(out, (void __user *)(BASE + 16 * PAGE_SIZE), 8);
	copy_from_user(out + 8, (void __user *)(BASE + 16 * PAGE_SIZE + 100), 14);
	ok(!memcmp(out, "across-a-page-boundary", 22), "process_vm_readv: the bytes arrive in order");
	ok(acq() - a0 == 2 && rel() - r0 == 2, "process_vm_readv: two short-term remote pins, released");
	copy_to_user((void __user *)(BASE + 16 * PAGE_SIZE), "written-remotely", 16);
	lv[0] = (struct iovec){ (void *)(BASE + 16 * PAGE_SIZE), 16 };
	rv[0] = (struct iovec){ (void *)(BASE + 2 * PAGE_SIZE + 5), 16 };
	is_int(process_vm_rw(target->pid, lv, 1, rv, 1, 0, true), 16, "process_vm_writev: 16 bytes");
	ok(folio_test_dirty(page_folio(page_at(target->mm, BASE + 2 * PAGE_SIZE))),
	   "process_vm_writev: the written remote page is unpinned dirty");
	pinmm_task_attach(target);
	copy_from_user(in, (void __user *)(BASE + 2 * PAGE_SIZE + 5), 16);
	pinmm_task_attach(me);
	ok(!memcmp(in, "written-remotely", 16), "process_vm_writev: the target sees the bytes");
	lv[0] = (struct iovec){ (void *)(BASE + 16 * PAGE_SIZE), 64 };
	rv[0] = (struct iovec){ (void *)(BASE + 4 * PAGE_SIZE - 32), 64 };
	is_int(process_vm_rw(target->pid, lv, 1, rv, 1, 0, false), 32,
	       "process_vm_readv: a copy running into an unmapped page is short (32 bytes)");
	rv[0] = (struct iovec){ (void *)(BASE + 8 * PAGE_SIZE), 64 };
	is_int(process_vm_rw(target->pid, lv, 1, rv, 1, 0, false), -EFAULT,
	       "process_vm_readv: nothing mapped is -EFAULT");
	is_int(process_vm_rw(999999, lv, 1, rv, 1, 0, false), -ESRCH, "an unknown pid is -ESRCH");
	is_int(process_vm_rw(target->pid, lv, 1, rv, 1, 1, false), -EINVAL, "flags != 0 is -EINVAL");
	pinmm_task_set_uid(me, 1000);
	pinmm_task_set_cap(me, CAP_SYS_PTRACE, false);
	is_int(process_vm_rw(target->pid, lv, 1, rv, 1, 0, false), -EPERM,
	       "another uid without CAP_SYS_PTRACE is -EPERM");
	ok(acq() == rel(), "process_vm: every pin released");
	pinmm_task_exit(me);
	pinmm_task_attach(target);
	pinmm_task_exit(target);
	test_shutdown_ok("process_vm");
}

static void vmsplice_pipe(void)
{
	struct task_struct *t;
	struct pipe_inode_info *pipe;
	struct iovec iov;
	struct folio *folio;
	char out[16];
	int ref;

	test_boot(64, 0, 0);
	t = test_process("vmsplice");
	populate(BASE, 4 * PAGE_SIZE, false);
	copy_to_user((void __user *)BASE, "first", 5);
	folio = page_folio(page_at(t->mm, BASE));
	ref = folio_ref_count(folio);
	pipe = pipe_create(4);
	iov = (struct iovec){ (void *)BASE, 16 };
	is_int(vmsplice_to_pipe(pipe, &iov, 1), 16, "vmsplice: 16 bytes spliced");
	ok(folio_ref_count(folio) == ref + 1 && !folio_maybe_dma_pinned(folio) && acq() == rel(),
	   "vmsplice: the pipe holds a FOLL_GET reference, not a pin");
	copy_to_user((void __user *)BASE, "later", 5);
	vm_munmap(BASE, 4 * PAGE_SIZE);
	ok(folio_ref_count(folio) == 1, "vmsplice: after munmap the pipe's reference keeps the page");
	is_int(pipe_read(pipe, out, sizeof(out)), 16, "pipe_read: 16 bytes");
	ok(!memcmp(out, "later", 5), "pipe_read: the page as it is now, not as it was spliced");
	populate(BASE, 8 * PAGE_SIZE, false);
	iov = (struct iovec){ (void *)BASE, 8 * PAGE_SIZE };
	is_int(vmsplice_to_pipe(pipe, &iov, 1), 4 * PAGE_SIZE,
	       "vmsplice: a full pipe (4 buffers) takes 4 pages of 8");
	is_int(vmsplice_to_pipe(pipe, &iov, 1), -EAGAIN, "vmsplice: into a full pipe is -EAGAIN");
	pipe_destroy(pipe);
	pinmm_task_exit(t);
	test_shutdown_ok("vmsplice");
}

int main(void)
{
	plan_no_plan();
	rdma();
	io_uring();
	vfio();
	dio();
	process_vm();
	vmsplice_pipe();
	return done_testing();
}
