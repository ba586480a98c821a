/* SPDX-License-Identifier: MIT */
/*
 * Call sites: one small "driver" per case of Documentation/core-api/
 * pin_user_pages.rst, each using the call Linux says it should use, so the
 * cases can be run, tested and compared (docs/pin_user_pages.md).
 *
 *   case 1  Direct I/O              dio_*          iov_iter_extract_pages(), short term
 *   case 1  process_vm_readv/writev process_vm_*   pin_user_pages_remote(), short term
 *   case 2  RDMA memory region      rdma_*_mr      FOLL_PIN | FOLL_LONGTERM, pinned_vm
 *   case 2  VFIO type1 (remote)     vfio_*         pin_user_pages_remote(FOLL_LONGTERM),
 *                                                  locked_vm
 *   case 2  io_uring fixed buffers  iou_*          FOLL_WRITE | FOLL_LONGTERM, one pin per
 *                                                  folio, pinned_vm + user->locked_vm
 *   case 3  ODP / HMM-style device  odp_*          no pins: interval notifier +
 *                                                  hmm_range_fault()
 *   case 3  device memory (test_hmm) dmirror_*     no pins: migrate_vma_*() moves anon
 *                                                  pages into device-private or
 *                                                  -coherent memory and back
 *   case 4  struct page inspection  page_info_*    get_user_pages() (FOLL_GET)
 *   case 4  vmsplice into a pipe    pipe_*         get_user_pages_fast() (FOLL_GET)
 *   test    Linux's gup_test        gup_test_*     every GUP entry point by command
 *                                                  (include/pinmm/gup_test.h)
 *
 * Each file in drivers/ is written as a Linux call site: it includes only
 * <linux/...> headers (include/linux/) and this interface, and charges what
 * its Linux counterpart charges, against RLIMIT_MEMLOCK unless the task is
 * capable(CAP_IPC_LOCK).
 *   note    filesystem DAX (pmem)   fsdax_*        short-term pins work; FOLL_LONGTERM
 *                                                  is refused with -EOPNOTSUPP
 *
 * A "device" here touches memory the way hardware does: through the frames
 * of the pages it holds (page_address()), never through page tables.
 */
#ifndef PINMM_DRIVERS_H
#define PINMM_DRIVERS_H

#include <pinmm/cred.h>
#include <pinmm/gup.h>
#include <pinmm/mmu_notifier.h>
#include <pinmm/scatterlist.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ---- case 1: Direct I/O --------------------------------------------------- */

/**
 * dio_pread - read file bytes straight into user memory, like O_DIRECT.
 * @fd: a host file descriptor (the "disk").
 * @uaddr, @len: user buffer of current->mm; with @off, 512-byte aligned
 *	(the logical block size, as Linux's iomap requires — not the page size).
 * @off: file offset.
 *
 * iov_iter_extract_pages() pins the buffer for write (short term) a batch at
 * a time, the "device" fills the frames with pread(), then the batch is
 * unpinned with the pages marked dirty.
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
	struct sg_table sgt;		/* the umem: contiguous runs merged */
	struct page **pages;		/* the device's translation table, a page per entry */
	bool writable;
};

/**
 * rdma_reg_mr - register [addr, addr+length) of current->mm for DMA.
 *
 * Like ib_umem_get(): mm->pinned_vm charged first and held to RLIMIT_MEMLOCK
 * unless capable(CAP_IPC_LOCK) (-ENOMEM), FOLL_LONGTERM pins (so pages in
 * ZONE_MOVABLE or CMA are migrated first), FOLL_WRITE if any write access is
 * asked, pin_user_pages_fast() a page of pointers at a time, an sg table.
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
 * vaddr_get_pfns(): takes @mm's mmap_lock itself and passes a @locked word,
 * so GUP may drop the lock while a fault waits. vfio_lock_acct(): charges
 * @mm->locked_vm under its mmap_lock, held to current's RLIMIT_MEMLOCK unless
 * current is capable(CAP_IPC_LOCK).
 * Return: pages pinned (all or nothing), or -errno (-ENOMEM over the limit,
 * with nothing pinned or charged).
 */
long vfio_pin_pages_remote(struct mm_struct *mm, unsigned long vaddr, unsigned long npages,
			   bool write, struct page **pages);
void vfio_unpin_pages_remote(struct mm_struct *mm, struct page **pages, unsigned long npages,
			     bool dirty);

/* ---- case 2: io_uring fixed buffers ------------------------------------------- */

struct iou_bvec {
	struct folio *folio;
	unsigned long first;		/* first page of the folio used */
	unsigned long nr;		/* pages of it; the entry holds one pin */
};

struct iou_buffer {
	unsigned long addr;
	size_t len;
	struct user_struct *user;	/* charged (locked_vm) without CAP_IPC_LOCK, else NULL */
	struct mm_struct *mm_account;	/* charged (pinned_vm) always; mmgrab()ed */
	unsigned long acct_pages;	/* whole folios: a THP counts 512 however little is used */
	unsigned int folio_shift;	/* PAGE_SHIFT, or the folio size when coalesced */
	unsigned long nr_bvecs;
	struct iou_bvec bvec[];		/* one entry per folio (coalesced) or per page */
};

/**
 * iou_register_buffer - what IORING_REGISTER_BUFFERS does with one iovec:
 * io_pin_pages() (pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM), all or
 * -EFAULT); if the pages are whole same-size large folios (the ends may be
 * partial), coalesce to one entry per folio keeping one pin per folio
 * (unpin_user_folio() of the rest); then io_account_mem(): each folio's full
 * size to mm->pinned_vm, and to current's user->locked_vm against
 * RLIMIT_MEMLOCK unless capable(CAP_IPC_LOCK) (-ENOMEM, nothing kept).
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

/* ---- case 1, remote: process_vm_readv/writev --------------------------------- */

/**
 * process_vm_rw - copy between current's memory and task @pid's, as
 * process_vm_readv(2) (@vm_write false: remote -> local) and
 * process_vm_writev(2) (remote <- local) do.
 * @local, @liovcnt: current's buffers; @remote, @riovcnt: the target's.
 * @flags: must be 0.
 *
 * The remote pages are pinned short-term with pin_user_pages_remote() (FOLL_WRITE
 * when writing into them), a batch of 16 at a time, copied through their
 * frames, and unpinned (dirty when written). Access needs the same uid or
 * CAP_SYS_PTRACE (ptrace_may_access()).
 * Return: bytes copied (short at the first unmapped remote page), or -EINVAL
 * (flags, more than UIO_MAXIOV vectors), -ESRCH (no such task), -EPERM,
 * -EFAULT (nothing could be copied), -ENOMEM.
 */
ssize_t process_vm_rw(pid_t pid, const struct iovec *local, unsigned long liovcnt,
		      const struct iovec *remote, unsigned long riovcnt, unsigned long flags,
		      bool vm_write);

/* ---- case 4: vmsplice() gifts page references to a pipe ------------------- */

struct pipe_buffer {
	struct page *page;		/* a FOLL_GET reference, not a pin */
	unsigned int offset, len;
};

struct pipe_inode_info {
	unsigned int head, tail;	/* head - tail buffers are full */
	unsigned int ring_size;		/* a power of two */
	struct pipe_buffer *bufs;
};

/* pipe_create - a pipe of @slots buffers (a power of two). Return: the pipe or NULL. */
struct pipe_inode_info *pipe_create(unsigned int slots);
/* pipe_destroy - drop the references of whatever is still in the pipe. */
void pipe_destroy(struct pipe_inode_info *pipe);

/**
 * vmsplice_to_pipe - vmsplice(2) of current's memory into @pipe: the pages
 * themselves go in, with get_user_pages_fast() references (FOLL_GET, case 4:
 * the pipe holds the struct page, no DMA is involved, so no pin).
 * Return: bytes spliced (short when the pipe fills), or -EFAULT, -EAGAIN
 * (pipe full), -EINVAL.
 */
ssize_t vmsplice_to_pipe(struct pipe_inode_info *pipe, const struct iovec *iov,
			 unsigned long nr_segs);
/* pipe_read - copy up to @len bytes out of @pipe, dropping emptied buffers' references. */
ssize_t pipe_read(struct pipe_inode_info *pipe, void *buf, size_t len);

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

/* ---- case 3's ground: a device with memory of its own (Linux's lib/test_hmm.c) ------ */

#include <pinmm/memremap.h>

/* What dmirror_snapshot() says of each page (Linux's HMM_DMIRROR_PROT_*). */
#define HMM_DMIRROR_PROT_ERROR			0xFF
#define HMM_DMIRROR_PROT_NONE			0x00
#define HMM_DMIRROR_PROT_READ			0x01
#define HMM_DMIRROR_PROT_WRITE			0x02
#define HMM_DMIRROR_PROT_ZERO			0x10
#define HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL	0x20
#define HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE	0x30
#define HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL	0x40
#define HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE	0x50

struct dmirror_device;

/**
 * dmirror_device_create - a device with @npages of its own memory.
 * @type: MEMORY_DEVICE_PRIVATE (the CPU cannot touch it: its bytes live in
 *	the device, pages are reached by device-private entries) or
 *	MEMORY_DEVICE_COHERENT (mapped like RAM, never long-term pinnable).
 * Return: 0; -EINVAL for a bad type; -ENOSPC when the machine's device
 * window has no room; -ENOMEM.
 */
int dmirror_device_create(enum memory_type type, unsigned long npages,
			  struct dmirror_device **out);
/*
 * Unregister the memory. Every device page must have come back (migrated
 * to RAM or unmapped): -EBUSY, and nothing done, otherwise.
 */
int dmirror_device_destroy(struct dmirror_device *mdev);
/* Device pages handed out now (mapped somewhere, or held). */
unsigned long dmirror_device_pages_in_use(struct dmirror_device *mdev);

/**
 * dmirror_migrate_to_device - move @npages of anon memory at @addr in @mm
 * into the device (MIGRATE_VMA_SELECT_SYSTEM).
 * @moved: pages that now live on the device (a page stays in RAM, unchanged,
 *	when the device has no free page or the page may be pinned).
 * Return: 0, or migrate_vma_setup()'s error (-EINVAL: bad or cross-VMA range).
 */
int dmirror_migrate_to_device(struct dmirror_device *mdev, struct mm_struct *mm,
			      unsigned long addr, unsigned long npages, unsigned long *moved);
/* Move this device's pages of the range back to RAM. Same return and @moved. */
int dmirror_migrate_to_system(struct dmirror_device *mdev, struct mm_struct *mm,
			      unsigned long addr, unsigned long npages, unsigned long *moved);
/*
 * The device reads @npages at @addr into @buf: hmm_range_fault() with this
 * device as dev_private_owner, so its own pages are read where they are
 * and everything else is faulted in (another device's private pages move
 * back to RAM). No pin is taken. Return 0 or -errno.
 */
int dmirror_read(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		 unsigned long npages, void *buf);
/* The device writes @buf over @npages at @addr (write fault where needed). */
int dmirror_write(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		  unsigned long npages, const void *buf);
/**
 * dmirror_exclusive - the device takes @npages at @addr for itself
 * (make_device_exclusive(): hmm-tests' HMM_DMIRROR_EXCLUSIVE), to do atomics
 * on them. It keeps their pfns until an invalidation (a CPU access, fork,
 * munmap, migration) takes each back. One range at a time per device.
 * @cpages: pages taken.
 * Return: 0; -EBUSY (a range is held: dmirror_exclusive_release() first, or
 * a folio was locked); make_device_exclusive()'s errors.
 */
int dmirror_exclusive(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		      unsigned long npages, unsigned long *cpages);
/* Pages of the range the device still holds exclusively. */
unsigned long dmirror_exclusive_held(struct dmirror_device *mdev);
/* The device reads the range through what it holds: -EBUSY if a page was taken back. */
int dmirror_exclusive_read(struct dmirror_device *mdev, void *buf);
/* Forget the range (the CPU's entries stay until it touches them). */
void dmirror_exclusive_release(struct dmirror_device *mdev);
/* What the CPU page tables hold for each page, HMM_DMIRROR_PROT_* (no faults). */
int dmirror_snapshot(struct dmirror_device *mdev, struct mm_struct *mm, unsigned long addr,
		     unsigned long npages, unsigned char *perm);

#endif /* PINMM_DRIVERS_H */
