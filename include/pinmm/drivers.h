/* SPDX-License-Identifier: MIT */
/*
 * Call sites: one small "driver" per case of Documentation/core-api/
 * pin_user_pages.rst, each using the call Linux says it should use, so the
 * cases can be run, tested and compared (docs/pin_user_pages.md).
 *
 *   case 1  Direct I/O              dio_*          pin_user_pages_fast(), short term
 *   case 2  RDMA memory region      rdma_*_mr      FOLL_PIN | FOLL_LONGTERM
 *   case 2  VFIO type1 (remote)     vfio_*         pin_user_pages_remote(FOLL_LONGTERM)
 *   case 2  io_uring fixed buffers  iou_*          FOLL_WRITE | FOLL_LONGTERM, per-folio unpin
 *   case 3  ODP / HMM-style device  odp_*          no pins: interval notifier + refault
 *   case 4  struct page inspection  page_info_*    get_user_pages() (FOLL_GET)
 *   note    filesystem DAX (pmem)   fsdax_*        short-term pins work; FOLL_LONGTERM
 *                                                  is refused with -EOPNOTSUPP
 *
 * A "device" here touches memory the way hardware does: through the frames
 * of the pages it holds (page_address()), never through page tables.
 */
#ifndef PINMM_DRIVERS_H
#define PINMM_DRIVERS_H

#include <pinmm/gup.h>
#include <pinmm/mmu_notifier.h>
#include <sys/types.h>

/* ---- case 1: Direct I/O --------------------------------------------------- */

/**
 * dio_pread - read file bytes straight into user memory, like O_DIRECT.
 * @fd: a host file descriptor (the "disk").
 * @uaddr, @len: page-aligned user buffer of current->mm.
 * @off: file offset.
 *
 * Pins the buffer for write (short term), lets the "device" fill the frames
 * with pread(), then unpins with the pages marked dirty.
 * Return: bytes read, or -errno (-EINVAL for unaligned arguments).
 */
ssize_t dio_pread(int fd, unsigned long uaddr, size_t len, off_t off);
/* dio_pwrite - the reverse: a read-only pin, the device reads the frames. */
ssize_t dio_pwrite(int fd, unsigned long uaddr, size_t len, off_t off);

/* ---- case 2: RDMA memory registration -------------------------------------- */

#define RDMA_ACCESS_LOCAL_WRITE		0x1
#define RDMA_ACCESS_REMOTE_WRITE	0x2
#define RDMA_ACCESS_REMOTE_READ		0x4

struct rdma_mr {
	struct mm_struct *mm;		/* mmgrab()ed for pinned_vm accounting */
	unsigned long addr;
	size_t length;
	unsigned long npages;
	struct page **pages;		/* long-term pinned */
	bool writable;
};

/**
 * rdma_reg_mr - register [addr, addr+length) of current->mm for DMA.
 *
 * Like ib_umem_get(): FOLL_LONGTERM pins (so pages in ZONE_MOVABLE or CMA
 * are migrated first), FOLL_WRITE if any write access is asked, chunked
 * pin_user_pages_fast() calls, and mm->pinned_vm charged by the driver.
 * Return: 0 with *@out set, or -errno with nothing pinned or charged.
 */
int rdma_reg_mr(unsigned long addr, size_t length, int access, struct rdma_mr **out);
/* rdma_dereg_mr - unpin (dirty if writable), uncharge pinned_vm, free. */
void rdma_dereg_mr(struct rdma_mr *mr);
/* The device writes/reads the region at @offset (DMA through the frames). */
int rdma_dma_write(struct rdma_mr *mr, size_t offset, const void *src, size_t len);
int rdma_dma_read(struct rdma_mr *mr, size_t offset, void *dst, size_t len);

/* ---- case 2, remote: VFIO type1 --------------------------------------------- */

/**
 * vfio_pin_pages_remote - pin another process's memory long-term.
 * @mm: its mm (the caller holds a reference: get_task_mm()).
 *
 * Takes @mm's mmap_lock itself and passes a @locked word, so GUP may drop the
 * lock while a fault waits; charges mm->locked_vm as VFIO type1 does.
 * Return: pages pinned (all or nothing), or -errno.
 */
long vfio_pin_pages_remote(struct mm_struct *mm, unsigned long vaddr, unsigned long npages,
			   bool write, struct page **pages);
void vfio_unpin_pages_remote(struct mm_struct *mm, struct page **pages, unsigned long npages,
			     bool dirty);

/* ---- case 2: io_uring fixed buffers ------------------------------------------- */

struct iou_bvec {
	struct folio *folio;
	unsigned long first;		/* first page of the folio used */
	unsigned long nr;		/* pages of it, each holding one pin */
};

struct iou_buffer {
	unsigned long addr;
	size_t len;
	unsigned long nr_bvecs;
	struct iou_bvec bvec[];		/* one entry per folio run */
};

/**
 * iou_register_buffer - what IORING_REGISTER_BUFFERS does with one iovec:
 * pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM), then coalesce the pages
 * into one entry per folio run, so unregistering is one unpin per folio.
 */
int iou_register_buffer(unsigned long addr, size_t len, struct iou_buffer **out);
void iou_unregister_buffer(struct iou_buffer *buf);
/* The kernel side reads/writes the buffer as a WRITE_FIXED/READ_FIXED would. */
int iou_buffer_copy_out(struct iou_buffer *buf, size_t offset, void *dst, size_t len);

/* ---- case 3: on-demand paging: no pins ----------------------------------------- */

struct odp_mr {
	struct mmu_interval_notifier notifier;
	struct mutex lock;		/* the device page table: taken by invalidate */
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long npages;
	unsigned long *dev_pfn;		/* device PTEs: pfn << 2 | present | write */
	atomic_ulong invalidations;	/* pages the mm took back from the device */
	atomic_ulong device_faults;	/* pages the device had to fault in */
};

/**
 * odp_reg_mr - register a range with no pins at all: an interval notifier
 * keeps the device's page table coherent with @mm (Linux's ODP/HMM model).
 * The device faults pages in on access and drops them on invalidation.
 */
int odp_reg_mr(struct mm_struct *mm, unsigned long addr, size_t length, struct odp_mr **out);
void odp_dereg_mr(struct odp_mr *mr);
/* Device access: refaults through GUP (references dropped at once) as needed. */
int odp_dma_write(struct odp_mr *mr, size_t offset, const void *src, size_t len);
int odp_dma_read(struct odp_mr *mr, size_t offset, void *dst, size_t len);

/* ---- case 4: struct page manipulation only ------------------------------------ */

struct page_info {
	unsigned long pfn;
	const char *zone;
	const char *migratetype;
	int refcount;
	int mapcount;
	int pincount;			/* large folios only; -1 for small */
	unsigned int order;
	bool maybe_dma_pinned;
	bool anon, anon_exclusive, dirty;
};

/**
 * page_info_get - describe the page behind each user page of current->mm.
 * Looks only at struct page, so a plain reference (FOLL_GET) is right:
 * get_user_pages() under mmap_lock, read, put_page(). The reference taken
 * for the look is not included in the reported refcount.
 * Return: entries filled, or -errno.
 */
long page_info_get(unsigned long addr, unsigned long npages, struct page_info *out);

/* ---- case 2's note: DAX pages cannot be long-term pinned ------------------- */

#include <pinmm/fs.h>

/* A DAX file on the machine's pmem (ZONE_DEVICE): no page cache, the pages are storage. */
struct fsdax_file {
	struct file *file;		/* src/fs/dax.c's file */
	unsigned long npages;
	struct page **pages;		/* its pmem pages (valid while the file is open) */
};

/* fsdax_create - a zeroed DAX file of @size bytes. Return 0, -EINVAL (no pmem), -ENOSPC. */
int fsdax_create(size_t size, struct fsdax_file **out);
/* Drop the file's references; pages still mapped or pinned return at their last put. */
void fsdax_destroy(struct fsdax_file *f);
/* mmap the file into current->mm (MAP_SHARED or MAP_PRIVATE). Return address or -errno. */
unsigned long fsdax_mmap(struct fsdax_file *f, size_t len, unsigned long prot,
			 unsigned long flags);
/* pmem pages allocated now (files, plus pages kept alive by mappings or pins). */
unsigned long fsdax_pages_in_use(void);

#endif /* PINMM_DRIVERS_H */
