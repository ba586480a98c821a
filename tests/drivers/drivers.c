// SPDX-License-Identifier: MIT
/*
 * The call sites of drivers/, one per case of pin_user_pages.rst, each
 * checked for what its case promises: the device sees the process's data and
 * the process sees the device's, pins are the right kind and always come
 * back, long-term pins end up in pinnable memory, and ODP takes no pin at all.
 */
#include "../lib/machine.h"

#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/huge_mm.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long pins_live(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED) -
	       global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
}

static struct task_struct *setup(const char *name)
{
	struct task_struct *t;

	test_boot(128, 32, 16);
	t = pinmm_task_create(name);
	if (!t)
		bail_out("task_create");
	pinmm_task_attach(t);
	return t;
}

static void teardown(struct task_struct *t, const char *name)
{
	pinmm_task_detach();
	pinmm_task_exit(t);
	test_shutdown_ok(name);
}

static unsigned long map_anon(size_t len)
{
	unsigned long addr = vm_mmap(NULL, 0, len, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);

	if (IS_ERR_VALUE(addr))
		bail_out("vm_mmap(%zu) failed", len);
	return addr;
}

/* Fill user memory with a pattern through the CPU path (page tables). */
static void fill_user(unsigned long addr, size_t len, unsigned char seed)
{
	unsigned char *buf = malloc(len);

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 7);
	if (copy_to_user((void __user *)addr, buf, len))
		bail_out("copy_to_user");
	free(buf);
}

static bool user_matches(unsigned long addr, size_t len, unsigned char seed)
{
	unsigned char *buf = malloc(len);
	bool same = true;

	if (copy_from_user(buf, (void __user *)addr, len))
		same = false;
	for (size_t i = 0; same && i < len; i++)
		same = buf[i] == (unsigned char)(seed + i * 7);
	free(buf);
	return same;
}

static void test_dio(void)
{
	struct task_struct *t = setup("dio");
	const size_t len = 8 * PAGE_SIZE;
	char path[] = "/tmp/pinmm-dio-XXXXXX";
	unsigned char *file = malloc(len), *back = malloc(len);
	int fd = mkstemp(path);
	unsigned long addr = map_anon(len);
	struct page_info pi;

	unlink(path);
	for (size_t i = 0; i < len; i++)
		file[i] = (unsigned char)(3 + i * 7);
	if (fd < 0 || pwrite(fd, file, len, 0) != (ssize_t)len)
		bail_out("temp file");
	is_int(dio_pread(fd, addr, len, 0), (long)len,
	       "case 1 DIO: a read into user memory transfers every byte");
	ok(user_matches(addr, len, 3), "case 1 DIO: the process sees what the device wrote "
	   "into the pinned frames");
	is_int(page_info_get(addr, 1, &pi), 1, "page_info: get_user_pages() looks at the page");
	ok(pi.dirty, "case 1 DIO: unpin_user_pages_dirty_lock() left the folio dirty "
	   "(R-DIRTY, what a device wrote must be written back)");
	is_int(pins_live(), 0, "case 1 DIO: short-term pins all released");

	fill_user(addr, len, 9);
	is_int(dio_pwrite(fd, addr, len, 0), (long)len,
	       "case 1 DIO: a write from user memory transfers every byte (read-only pin)");
	pread(fd, back, len, 0);
	ok(back[0] == 9 && back[len - 1] == (unsigned char)(9 + (len - 1) * 7),
	   "case 1 DIO: the disk got the process's data through the frames");
	is_int(dio_pread(fd, addr + 1, PAGE_SIZE, 0), -EINVAL,
	       "case 1 DIO: an unaligned buffer is refused (-EINVAL), nothing pinned");
	is_int(pins_live(), 0, "case 1 DIO: no pin left after the refusal");
	close(fd);
	free(file);
	free(back);
	vm_munmap(addr, len);
	teardown(t, "dio");
}

static void test_rdma(void)
{
	struct task_struct *t = setup("rdma");
	const size_t len = 64 * PAGE_SIZE;
	unsigned long addr = map_anon(len), dev_addr;
	struct rdma_mr *mr, *ro;
	char dev[16];
	bool pinnable = true, moved = false;
	long mig0 = (long)global_vm_event(PGMIGRATE_SUCCESS);
	struct page_info pi;

	fill_user(addr, len, 5);
	page_info_get(addr, 1, &pi);
	ok(!strcmp(pi.zone, "Movable"), "setup: fresh user pages are allocated in ZONE_MOVABLE");
	is_int(rdma_reg_mr(addr + 10, len - 20, RDMA_ACCESS_LOCAL_WRITE, &mr), 0,
	       "case 2 RDMA: registering a region succeeds");
	is_uint(mr->npages, 64, "case 2 RDMA: an unaligned region covers the pages it touches");
	for (unsigned long i = 0; i < mr->npages; i++) {
		pinnable &= folio_is_longterm_pinnable(page_folio(mr->pages[i]));
		moved |= page_zonenum(mr->pages[i]) != ZONE_MOVABLE;
	}
	ok(pinnable && moved, "case 2 RDMA: FOLL_LONGTERM pins only pinnable folios: the pages "
	   "were migrated out of ZONE_MOVABLE first (R-LT)");
	ok((long)global_vm_event(PGMIGRATE_SUCCESS) - mig0 >= 64,
	   "case 2 RDMA: pgmigrate_success counts the migration");
	ok(user_matches(addr, len, 5), "case 2 RDMA: the data survived the migration");
	is_int((int)atomic64_read(&current->mm->pinned_vm), 64,
	       "case 2 RDMA: the driver charges mm->pinned_vm (ib_umem_get), not GUP");
	rdma_dma_read(mr, 0, dev, 4);
	ok(!memcmp(dev, (char[]){ (char)(5 + 70), (char)(5 + 77), (char)(5 + 84), (char)(5 + 91) }, 4),
	   "case 2 RDMA: the device reads the process's data through the frames");
	rdma_dma_write(mr, 4096, "nic!", 4);
	copy_from_user(dev, (void __user *)(addr + 10 + 4096), 4);
	ok(!memcmp(dev, "nic!", 4), "case 2 RDMA: the process sees what the device wrote");
	is_int(rdma_reg_mr(addr, PAGE_SIZE, RDMA_ACCESS_REMOTE_READ, &ro), 0,
	       "case 2 RDMA: a read-only region on the same pages also registers");
	is_int(rdma_dma_write(ro, 0, "x", 1), -EPERM,
	       "case 2 RDMA: the device cannot write a region registered read-only");
	rdma_dereg_mr(ro);
	rdma_dereg_mr(mr);
	is_int((int)atomic64_read(&current->mm->pinned_vm), 0, "case 2 RDMA: deregistration uncharges");
	is_int(pins_live(), 0, "case 2 RDMA: every long-term pin released");

	dev_addr = pinmm_map_device(pinmm_mmio_pfn, PAGE_SIZE, PROT_READ | PROT_WRITE);
	is_int(rdma_reg_mr(dev_addr, PAGE_SIZE, RDMA_ACCESS_LOCAL_WRITE, &mr), -EFAULT,
	       "case 2 RDMA: a VM_IO|VM_PFNMAP mapping cannot be registered (check_vma_flags)");
	is_int((int)atomic64_read(&current->mm->pinned_vm), 0,
	       "case 2 RDMA: a failed registration leaves nothing charged");
	vm_munmap(dev_addr, PAGE_SIZE);
	vm_munmap(addr, len);
	teardown(t, "rdma");
}

static void test_vfio_remote(void)
{
	struct task_struct *t = setup("vfio");
	struct task_struct *guest = pinmm_task_create("guest");
	struct mm_struct *mm;
	struct page *pages[16];
	unsigned long addr;
	bool pinnable = true;
	char c = 0;

	pinmm_task_attach(guest);
	addr = map_anon(16 * PAGE_SIZE);
	fill_user(addr, 16 * PAGE_SIZE, 11);
	pinmm_task_attach(t);
	mm = get_task_mm(guest);
	is_int(vfio_pin_pages_remote(mm, addr, 16, true, pages), 16,
	       "case 2 VFIO: pin_user_pages_remote(FOLL_LONGTERM) pins another process's memory");
	for (int i = 0; i < 16; i++)
		pinnable &= folio_is_longterm_pinnable(page_folio(pages[i]));
	ok(pinnable, "case 2 VFIO: remote long-term pins migrate too (the 2019 thread's question)");
	ok(mm_flags_test(MMF_HAS_PINNED, mm) && !mm_flags_test(MMF_HAS_PINNED, current->mm),
	   "R-HAS: MMF_HAS_PINNED is set on the pinned mm, not the caller's");
	is_uint(mm->locked_vm, 16, "case 2 VFIO: type1 charges locked_vm");
	memcpy(page_address(pages[3]), "dma", 3);
	pinmm_task_attach(guest);
	get_user(c, (char __user *)(addr + 3 * PAGE_SIZE + 1));
	pinmm_task_attach(t);
	is_int(c, 'm', "case 2 VFIO: the guest sees what the device wrote");
	vfio_unpin_pages_remote(mm, pages, 16, true);
	is_uint(mm->locked_vm, 0, "case 2 VFIO: unpinning uncharges locked_vm");
	mmput(mm);
	pinmm_task_exit(guest);
	is_int(pins_live(), 0, "case 2 VFIO: every pin released");
	teardown(t, "vfio");
}

static void test_io_uring(void)
{
	struct task_struct *t = setup("io_uring");
	const size_t len = 4UL << 20;
	unsigned long addr = map_anon(len);
	struct iou_buffer *buf;
	char out[8];

	do_madvise(current->mm, addr, len, MADV_HUGEPAGE);
	fill_user(addr, len, 21);
	is_int(iou_register_buffer(addr, len, &buf), 0,
	       "case 2 io_uring: fixed-buffer registration (FOLL_WRITE|FOLL_LONGTERM) succeeds");
	is_uint(buf->nr_bvecs, 2, "case 2 io_uring: a THP-backed 4 MiB buffer coalesces into one "
		"entry per 2 MiB folio");
	is_int(pins_live(), 2, "case 2 io_uring: one pin kept per 2 MiB folio, the other 511 "
	       "released at registration (io_coalesce_buffer, R-VMSTAT)");
	is_int(atomic64_read(&current->mm->pinned_vm), 1024,
	       "case 2 io_uring: mm->pinned_vm charged 1024 pages (the live kernel: VmPin "
	       "+4096 kB for 4 MiB)");
	iou_buffer_copy_out(buf, 3 * PAGE_SIZE + 2, out, 4);
	ok(out[0] == (char)(21 + (3 * PAGE_SIZE + 2) * 7), "case 2 io_uring: the kernel side reads "
	   "the buffer through the folios");
	iou_unregister_buffer(buf);
	is_int(pins_live(), 0, "case 2 io_uring: unregistering unpins per folio "
	       "(unpin_user_folio) and balances the counters");
	vm_munmap(addr, len);
	teardown(t, "io_uring");
}

static void test_odp(void)
{
	struct task_struct *t = setup("odp");
	const size_t len = 8 * PAGE_SIZE;
	unsigned long addr = map_anon(len);
	long acq0 = global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
	struct task_struct *child;
	struct odp_mr *mr;
	char buf[8];

	is_int(odp_reg_mr(current->mm, addr, len, &mr), 0, "case 3 ODP: registration is an "
	       "interval notifier, no pins");
	odp_dma_write(mr, PAGE_SIZE, "odp-dev", 7);
	copy_from_user(buf, (void __user *)(addr + PAGE_SIZE), 7);
	ok(!memcmp(buf, "odp-dev", 7), "case 3 ODP: the process sees the device's write");
	is_int(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED) - acq0, 0,
	       "case 3 ODP: the device faulted pages in without a single FOLL_PIN");
	do_madvise(current->mm, addr, len, MADV_DONTNEED);
	ok(atomic_load(&mr->invalidations) >= 1, "case 3 ODP: MADV_DONTNEED invalidates the "
	   "device's entries (mmu_interval_notifier)");
	odp_dma_read(mr, PAGE_SIZE, buf, 7);
	ok(!memcmp(buf, "\0\0\0\0\0\0\0", 7), "case 3 ODP: after DONTNEED the device refaults "
	   "and sees the zeroes the process sees");
	odp_dma_write(mr, 0, "before", 6);
	pinmm_fork(t, "child", &child);
	put_user('B', (char __user *)addr);
	odp_dma_read(mr, 0, buf, 6);
	ok(buf[0] == 'B', "case 3 ODP: after fork the parent's COW write invalidates the device "
	   "entry and the device follows the parent's new page");
	pinmm_task_exit(child);
	odp_dereg_mr(mr);
	vm_munmap(addr, len);
	teardown(t, "odp");
}

static void test_page_info(void)
{
	struct task_struct *t = setup("page_info");
	unsigned long addr = map_anon(PAGE_SIZE);
	struct page *page;
	struct page_info pi;

	put_user((char)1, (char __user *)addr);
	page_info_get(addr, 1, &pi);
	ok(pi.refcount == 1 && pi.mapcount == 1 && !pi.maybe_dma_pinned && pi.anon_exclusive,
	   "case 4: get_user_pages() shows one mapped, unpinned, exclusive page (its own "
	   "reference not counted)");
	is_int(pin_user_pages_fast(addr, 1, FOLL_WRITE, &page), 1, "pin it");
	page_info_get(addr, 1, &pi);
	ok(pi.refcount == 1 + (int)GUP_PIN_COUNTING_BIAS && pi.maybe_dma_pinned,
	   "case 4: a pin shows as GUP_PIN_COUNTING_BIAS on the refcount (R-CNT)");
	unpin_user_page(page);
	page_info_get(addr, 1, &pi);
	ok(pi.refcount == 1 && !pi.maybe_dma_pinned, "case 4: after unpin the page is back to "
	   "one reference, and page_info's own reference is gone too");
	vm_munmap(addr, PAGE_SIZE);
	teardown(t, "page_info");
}

int main(void)
{
	test_dio();
	test_rdma();
	test_vfio_remote();
	test_io_uring();
	test_odp();
	test_page_info();
	return done_testing();
}
