/* SPDX-License-Identifier: MIT */
/*
 * The disk: a block I/O request (struct bio) and the device thread that
 * carries it out between memory and a host file (Linux: include/linux/bio.h,
 * blk_types.h; the code is in src/fs/bio.c).
 *
 * The device is a thread of its own, as a disk controller is hardware of its
 * own: submit_bio() queues the request and returns, the device reads or
 * writes the frames named by the bio (page_address() of each bio_vec: DMA,
 * never through page tables) with pread()/pwrite() on the host file, then
 * calls ->bi_end_io from its thread. A folio under writeback is therefore
 * accessed by the device at some later time than the CPU that submitted it —
 * which is exactly what pins and stable pages are about.
 *
 * Issuing directly (Linux: blk_mq_try_issue_directly()): a submitter that
 * waits for its bio anyway — Direct I/O, submit_bio_wait() — calls
 * submit_bio_sync(). If nothing is queued and the device is not busy, it
 * takes the device (marked busy under the queue lock, so the device thread
 * never serves a request at the same time), runs the request in its own
 * thread through the very code the device thread runs (latency, fault
 * injection, checksums, counters, ->bi_end_io), then gives the device back,
 * waking its thread if requests were queued meanwhile. Otherwise the bio is
 * queued behind the others: FIFO order holds either way. Asynchronous
 * submissions (submit_bio(): writeback, ->read_folio) always go through the
 * device thread, so they keep their later access.
 *
 * Checksums: diskfs keeps an XXH3 checksum per 4 KiB block in a second host
 * file. A write bio carries the checksums the file system computed when it
 * submitted the I/O (bi_csums: as btrfs computes them before the DMA); the
 * device stores them after the data. If the memory changed between the two,
 * the block on disk no longer matches its checksum: a torn write, caught on
 * the next read. Direct I/O writes ask the device to checksum what landed
 * instead (bi_csum_after).
 */
#ifndef PINMM_BIO_H
#define PINMM_BIO_H

#include <pinmm/mm.h>

#define DISK_BLOCK_SIZE		4096u	/* checksum granularity */
#define DISK_LOGICAL_BLOCK	512u	/* bdev_logical_block_size(): Direct I/O alignment */

enum req_op {
	REQ_OP_READ,
	REQ_OP_WRITE,
};

struct bio_vec {
	struct page *bv_page;		/* a machine frame (NULL: see bv_buf) */
	void *bv_buf;			/* pinmm: host memory (a kernel_read() buffer) */
	unsigned int bv_len;
	unsigned int bv_offset;		/* into bv_page */
};

struct bio;
typedef void (bio_end_io_t)(struct bio *bio);

struct bio {
	enum req_op bi_op;
	int bi_fd;			/* the host file: the "sectors" */
	loff_t bi_pos;			/* byte offset on it */
	int bi_status;			/* 0 or -errno, set by the device */
	bio_end_io_t *bi_end_io;	/* runs on the device (thread or direct issuer) */
	void *bi_private;
	/* checksums (diskfs): one per DISK_BLOCK_SIZE block of [bi_pos, +size) */
	int bi_csum_fd;			/* -1: no checksums */
	bool bi_csum_verify;		/* READ: check each whole block read */
	bool bi_csum_after;		/* WRITE: checksum the blocks as they landed */
	uint64_t *bi_csums;		/* WRITE: values taken at submission */
	unsigned int bi_csum_bad;	/* READ: blocks that failed the check */
	struct bio *bi_next;		/* (the device's queue) */
	unsigned short bi_vcnt, bi_max_vecs;
	struct bio_vec bi_io_vec[];
};

/* bio_alloc - a bio with room for @nr_vecs vectors; NULL on -ENOMEM. */
struct bio *bio_alloc(unsigned short nr_vecs);
/* bio_put - free a bio (and its bi_csums) once it has completed. */
void bio_put(struct bio *bio);
/* Add a segment; false if the bio is full. */
bool bio_add_page(struct bio *bio, struct page *page, unsigned int len, unsigned int off);
bool bio_add_folio(struct bio *bio, struct folio *folio, size_t len, size_t off);
bool bio_add_buf(struct bio *bio, void *buf, unsigned int len);
/* The bytes the bio covers. */
size_t bio_size(const struct bio *bio);

/**
 * submit_bio - hand a bio to the device; it completes later, on the device
 * thread, by calling bio->bi_end_io (which must not sleep on the device).
 * Context: any; never waits for the I/O.
 */
void submit_bio(struct bio *bio);
/**
 * submit_bio_sync - submit a bio its submitter will wait for: served in the
 * calling thread if the device is idle (->bi_end_io has run on return),
 * else queued as submit_bio() does. Only for a caller that then waits for
 * completion; ->bi_end_io runs under whatever locks the caller holds.
 * Context: may sleep (it does the host I/O itself).
 */
void submit_bio_sync(struct bio *bio);
/* submit_bio_wait - submit_bio_sync() and wait; return bi_status. The caller puts the bio. */
int submit_bio_wait(struct bio *bio);

/* The checksum of one block as diskfs stores it (never 0: 0 means "none"). */
uint64_t disk_block_csum(const void *data);

/* ---- machine controls ---------------------------------------------------- */

enum pinmm_disk_fault {
	PINMM_DISK_FAIL_WRITE,		/* host pwrite() of data */
	PINMM_DISK_FAIL_READ,		/* host pread() of data */
	PINMM_DISK_FAIL_NR,
};

/*
 * pinmm_disk_fail_nth - make the @nth next host operation of kind @which
 * fail with -@err (EIO, ENOSPC), and @count after it as well (a failing or
 * full disk). @nth == 0 disarms. Each failure is counted.
 */
void pinmm_disk_fail_nth(enum pinmm_disk_fault which, unsigned long nth, unsigned long count,
			 int err);
unsigned long pinmm_disk_failures(enum pinmm_disk_fault which);

/* Microseconds the device waits before each request (widens race windows). */
void pinmm_disk_set_latency_us(unsigned int us);

/* Requests the device has completed since boot (tests wait on progress). */
unsigned long pinmm_disk_completed(void);

/* Wait until the device queue is empty and idle. */
void pinmm_disk_drain(void);

#endif /* PINMM_BIO_H */
