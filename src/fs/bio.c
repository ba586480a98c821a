// SPDX-License-Identifier: MIT
/*
 * The disk (see include/pinmm/bio.h): one device thread serving a FIFO of
 * bios against host files, with checksums per 4 KiB block, injectable
 * failures and an optional latency.
 *
 * One holder at a time: disk.busy, set under disk.lock, says someone is
 * serving a request — the device thread, or a synchronous submitter that
 * found the queue empty and the device idle and issues its bio directly
 * (submit_bio_sync(), as blk-mq's direct issue). Both run disk_serve(); the
 * device thread does not pick a request while the device is busy, and an
 * issuer that finds anything queued or the device busy queues behind it,
 * so requests never run concurrently and never overtake one another. Only
 * callers that wait for the bio anyway may issue directly: asynchronous
 * bios are served later, on the device thread, which tests of torn writes
 * rely on.
 *
 * The device accesses memory only through the bio's vectors, at the time it
 * serves the request, with pinmm_dma_copy() between them and a stage of its
 * own: writes and checked reads always go through the stage, many blocks
 * per host call (a per-block host call cost more than the copy); unchecked
 * reads go straight into memory, except in ThreadSanitizer builds, since
 * pread() into racing memory would be reported as a CPU data race: a
 * device's DMA is not one. Fault injection counts host operations per
 * block, however many blocks one host call moves.
 */
#include "internal.h"

#include <pinmm/bio.h>
#include <pinmm/dma.h>
#include <pinmm/slab.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* The device's staging buffer, in blocks: a chunk of a request per host call. */
#define DISK_STAGE_BLOCKS	64

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a bio was queued, or stop */
	pthread_cond_t idle;		/* the queue drained */
	struct bio *head, **tail;
	bool running, stop;
	bool busy;			/* the device is serving a request (its thread or inline) */
	pthread_t thread;
	/* the device's buffers, the busy holder's: */
	char *block;			/* one block */
	char *stage;			/* DISK_STAGE_BLOCKS blocks */
	uint64_t *csums;		/* a write's checksums until they are stored */
	unsigned long nr_csums;
	unsigned int latency_us;
	struct {
		unsigned long nth, count, failures;
		int err;
		atomic_bool armed;	/* nth != 0: a request checks without the lock */
	} fault[PINMM_DISK_FAIL_NR];
	atomic_ulong completed;
} disk = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

uint64_t disk_block_csum(const void *data)
{
	uint64_t h = XXH3_64bits(data, DISK_BLOCK_SIZE);

	return h ? h : 1;	/* 0 is "no checksum recorded" */
}

/* ---- bios ------------------------------------------------------------------------ */

struct bio *bio_alloc(unsigned short nr_vecs)
{
	struct bio *bio = kzalloc(sizeof(*bio) + nr_vecs * sizeof(struct bio_vec), GFP_KERNEL);

	if (!bio)
		return NULL;
	bio->bi_max_vecs = nr_vecs;
	bio->bi_csum_fd = -1;
	bio->bi_fd = -1;
	return bio;
}

void bio_put(struct bio *bio)
{
	if (!bio)
		return;
	kfree(bio->bi_csums);
	kfree(bio);
}

static bool bio_add(struct bio *bio, struct page *page, void *buf, unsigned int len,
		    unsigned int off)
{
	struct bio_vec *bv;

	if (bio->bi_vcnt == bio->bi_max_vecs)
		return false;
	bv = &bio->bi_io_vec[bio->bi_vcnt++];
	bv->bv_page = page;
	bv->bv_buf = buf;
	bv->bv_len = len;
	bv->bv_offset = off;
	return true;
}

bool bio_add_page(struct bio *bio, struct page *page, unsigned int len, unsigned int off)
{
	return bio_add(bio, page, NULL, len, off);
}

bool bio_add_folio(struct bio *bio, struct folio *folio, size_t len, size_t off)
{
	/* a folio's frames are contiguous: one vector, as a multi-page bvec */
	return bio_add(bio, folio_page(folio, off >> PAGE_SHIFT), NULL, (unsigned int)len,
		       (unsigned int)(off & ~PAGE_MASK));
}

bool bio_add_buf(struct bio *bio, void *buf, unsigned int len)
{
	return bio_add(bio, NULL, buf, len, 0);
}

size_t bio_size(const struct bio *bio)
{
	size_t n = 0;

	for (unsigned int i = 0; i < bio->bi_vcnt; i++)
		n += bio->bi_io_vec[i].bv_len;
	return n;
}

static void *bvec_addr(const struct bio_vec *bv)
{
	return bv->bv_page ? (char *)page_address(bv->bv_page) + bv->bv_offset : bv->bv_buf;
}

/* ---- faults ----------------------------------------------------------------------- */

void pinmm_disk_fail_nth(enum pinmm_disk_fault which, unsigned long nth, unsigned long count,
			 int err)
{
	pthread_mutex_lock(&disk.lock);
	disk.fault[which].nth = nth;
	disk.fault[which].count = nth ? count : 0;
	disk.fault[which].err = err > 0 ? err : -err;
	atomic_store_explicit(&disk.fault[which].armed, nth != 0, memory_order_relaxed);
	pthread_mutex_unlock(&disk.lock);
}

unsigned long pinmm_disk_failures(enum pinmm_disk_fault which)
{
	unsigned long n;

	pthread_mutex_lock(&disk.lock);
	n = disk.fault[which].failures;
	pthread_mutex_unlock(&disk.lock);
	return n;
}

/*
 * The next @n host operations of kind @which: how many succeed before the
 * first injected failure (@n if none), its -errno in *@err (else 0). The
 * state moves exactly as @n single checks stopping at that failure would,
 * so a request moved in one host call still fails at the same block.
 */
static unsigned long disk_fault_n(enum pinmm_disk_fault which, unsigned long n, int *err)
{
	unsigned long ok = n;

	*err = 0;
	/*
	 * Unarmed is the common case. Arming is ordered before the requests
	 * it should hit by the queue lock their submission takes.
	 */
	if (!n || !atomic_load_explicit(&disk.fault[which].armed, memory_order_relaxed))
		return n;
	pthread_mutex_lock(&disk.lock);
	if (disk.fault[which].nth) {
		if (disk.fault[which].nth > n) {
			disk.fault[which].nth -= n;
		} else {
			ok = disk.fault[which].nth - 1;
			*err = -disk.fault[which].err;
			disk.fault[which].failures++;
			if (disk.fault[which].count)
				disk.fault[which].count--;
			else
				disk.fault[which].nth = 0;
		}
		atomic_store_explicit(&disk.fault[which].armed, disk.fault[which].nth != 0,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&disk.lock);
	return ok;
}

/* Should this host operation fail? 0, or the -errno to fail with. */
static int disk_fault(enum pinmm_disk_fault which)
{
	int err;

	disk_fault_n(which, 1, &err);
	return err;
}

void pinmm_disk_set_latency_us(unsigned int us)
{
	pthread_mutex_lock(&disk.lock);
	disk.latency_us = us;
	pthread_mutex_unlock(&disk.lock);
}

unsigned long pinmm_disk_completed(void)
{
	return atomic_load(&disk.completed);
}

/* ---- host I/O ------------------------------------------------------------------------ */

/* Read @n bytes at @pos; what lies past the host file's end reads as zeroes. */
static int host_pread_all(int fd, void *dst, size_t n, loff_t pos)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)dst + done, n - done, pos + (loff_t)done);

		if (r < 0)
			return -errno;
		if (!r)
			break;
		done += (size_t)r;
	}
	memset((char *)dst + done, 0, n - done);
	return 0;
}

static int host_pwrite_all(int fd, const void *src, size_t n, loff_t pos)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)src + done, n - done, pos + (loff_t)done);

		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

/* One host read operation: an injected failure, or the read. */
static int host_read(int fd, void *dst, size_t n, loff_t pos)
{
	int err = disk_fault(PINMM_DISK_FAIL_READ);

	return err ? err : host_pread_all(fd, dst, n, pos);
}

/*
 * Disk -> memory for one vector piece. Without TSan the host call uses
 * the memory directly (it is a DMA); with TSan it goes through @stage.
 */
static int dma_read_into(int fd, void *mem, size_t n, loff_t pos, void *stage)
{
#ifdef PINMM_TSAN
	int err = host_read(fd, stage, n, pos);

	if (!err)
		pinmm_dma_copy(mem, stage, n);
	return err;
#else
	(void)stage;
	return host_read(fd, mem, n, pos);
#endif
}

/* The stored checksums of blocks [@blk, @blk + @n) (0: none recorded). */
static void load_csums(int csum_fd, unsigned long blk, unsigned long n, uint64_t *v)
{
	ssize_t r = pread(csum_fd, v, n * sizeof(*v), (loff_t)(blk * sizeof(*v)));
	size_t got = r > 0 ? (size_t)r / sizeof(*v) : 0;

	memset(v + got, 0, (n - got) * sizeof(*v));
}

static int store_csums(int csum_fd, unsigned long blk, unsigned long n, const uint64_t *v)
{
	return n && host_pwrite_all(csum_fd, v, n * sizeof(*v), (loff_t)(blk * sizeof(*v))) ?
	       -EIO : 0;
}

/* Room for @n checksums in disk.csums (the busy holder's). */
static bool disk_csums_reserve(unsigned long n)
{
	uint64_t *p;

	if (n <= disk.nr_csums)
		return true;
	p = realloc(disk.csums, n * sizeof(*p));
	if (!p)
		return false;
	disk.csums = p;
	disk.nr_csums = n;
	return true;
}

/* A cursor over a bio's memory. */
struct bio_cursor {
	struct bio *bio;
	unsigned int i;		/* vector */
	unsigned int off;	/* into it */
};

/* Move @n bytes between the bio's memory at the cursor and @buf, as the device (DMA). */
static void cursor_copy(struct bio_cursor *c, char *buf, size_t n, bool to_bio)
{
	while (n && c->i < c->bio->bi_vcnt) {
		struct bio_vec *bv = &c->bio->bi_io_vec[c->i];
		size_t k = min((size_t)(bv->bv_len - c->off), n);
		char *mem = (char *)bvec_addr(bv) + c->off;

		if (to_bio)
			pinmm_dma_copy(mem, buf, k);
		else
			pinmm_dma_copy(buf, mem, k);
		buf += k;
		n -= k;
		c->off += (unsigned int)k;
		if (c->off == bv->bv_len) {
			c->i++;
			c->off = 0;
		}
	}
}

/*
 * Unverified reads: straight into each vector, one host read per piece
 * that crosses neither a block nor a vector boundary.
 */
static void disk_do_read_plain(struct bio *bio)
{
	struct bio_cursor c = { .bio = bio };
	loff_t pos = bio->bi_pos, end = pos + (loff_t)bio_size(bio);

	while (pos < end) {
		size_t boff = (size_t)(pos % DISK_BLOCK_SIZE);
		size_t chunk = min((size_t)(DISK_BLOCK_SIZE - boff), (size_t)(end - pos));
		struct bio_vec *bv = &bio->bi_io_vec[c.i];
		size_t k = min(chunk, (size_t)(bv->bv_len - c.off));
		int err = dma_read_into(bio->bi_fd, (char *)bvec_addr(bv) + c.off, k, pos,
					disk.stage);

		if (err) {
			bio->bi_status = err;
			return;
		}
		c.off += (unsigned int)k;
		if (c.off == bv->bv_len) {
			c.i++;
			c.off = 0;
		}
		pos += (loff_t)k;
	}
}

/*
 * Verified reads: each whole block is read and checked against its stored
 * checksum (one host read operation per block), then the part asked for is
 * delivered. Blocks go a stage-full at a time, in one host call.
 */
static void disk_do_read(struct bio *bio)
{
	struct bio_cursor c = { .bio = bio };
	loff_t pos = bio->bi_pos, end = pos + (loff_t)bio_size(bio);
	uint64_t want[DISK_STAGE_BLOCKS];

	if (bio->bi_csum_fd < 0 || !bio->bi_csum_verify) {
		disk_do_read_plain(bio);
		return;
	}
	while (pos < end) {
		unsigned long blk = (unsigned long)(pos / DISK_BLOCK_SIZE);
		unsigned long last = (unsigned long)((end - 1) / DISK_BLOCK_SIZE);
		unsigned long nblk = min(last - blk + 1, (unsigned long)DISK_STAGE_BLOCKS), ok;
		int err, herr;

		ok = disk_fault_n(PINMM_DISK_FAIL_READ, nblk, &err);
		if (ok) {
			herr = host_pread_all(bio->bi_fd, disk.stage, ok * DISK_BLOCK_SIZE,
					      (loff_t)blk * DISK_BLOCK_SIZE);
			if (herr) {
				bio->bi_status = herr;
				return;
			}
			load_csums(bio->bi_csum_fd, blk, ok, want);
		}
		for (unsigned long i = 0; i < ok; i++) {
			const char *block = disk.stage + i * DISK_BLOCK_SIZE;
			size_t boff = (size_t)(pos % DISK_BLOCK_SIZE);
			size_t chunk = min((size_t)(DISK_BLOCK_SIZE - boff), (size_t)(end - pos));

			if (want[i] && want[i] != disk_block_csum(block)) {
				bio->bi_csum_bad++;
				bio->bi_status = -EIO;
			}
			cursor_copy(&c, (char *)block + boff, chunk, true);
			pos += (loff_t)chunk;
		}
		if (err) {
			bio->bi_status = err;
			return;
		}
	}
}

/* Bytes covered by the first @ops block-size pieces of the bio's vectors. */
static size_t bio_ops_bytes(const struct bio *bio, unsigned long ops)
{
	size_t n = 0;

	for (unsigned int i = 0; i < bio->bi_vcnt && ops; i++) {
		unsigned int len = bio->bi_io_vec[i].bv_len;
		unsigned long pieces = DIV_ROUND_UP(len, DISK_BLOCK_SIZE);

		if (ops < pieces)
			return n + ops * DISK_BLOCK_SIZE;
		n += len;
		ops -= pieces;
	}
	return n;
}

/*
 * Writes: the data is copied into the device's stage (as a controller
 * reads memory into its buffer) and written from there, a stage-full per
 * host call. Fault injection still counts one host write per block-size
 * piece of each vector. A Direct I/O write's checksums (bi_csum_after) are
 * those of the blocks as they landed: the staged copy of each whole block
 * (what was written is exactly that copy), and for a block the bio covers
 * only in part, the block read back from the disk (a host read operation
 * each, as for every block before). Checksums are stored once all the data
 * is written, never after a failed write.
 */
static void disk_do_write(struct bio *bio)
{
	loff_t start = bio->bi_pos, end = start + (loff_t)bio_size(bio), pos, stop;
	unsigned long first = (unsigned long)(start / DISK_BLOCK_SIZE);
	unsigned long nblocks = (unsigned long)DIV_ROUND_UP(end, DISK_BLOCK_SIZE) - first;
	unsigned long nops = 0, ok;
	bool after = bio->bi_csum_fd >= 0 && !bio->bi_csums;
	struct bio_cursor c = { .bio = bio };
	int err, herr;

	for (unsigned int i = 0; i < bio->bi_vcnt; i++)
		nops += DIV_ROUND_UP(bio->bi_io_vec[i].bv_len, DISK_BLOCK_SIZE);
	ok = disk_fault_n(PINMM_DISK_FAIL_WRITE, nops, &err);
	stop = err ? start + (loff_t)bio_ops_bytes(bio, ok) : end;
	if (after && !err && !disk_csums_reserve(nblocks)) {
		bio->bi_status = -ENOMEM;
		return;
	}
	for (pos = start; pos < stop;) {
		/* the stage holds whole blocks from the one @pos is in */
		loff_t base = pos / DISK_BLOCK_SIZE * DISK_BLOCK_SIZE;
		loff_t cend = min(stop, base + (loff_t)DISK_STAGE_BLOCKS * DISK_BLOCK_SIZE);
		char *buf = disk.stage + (pos - base);

		cursor_copy(&c, buf, (size_t)(cend - pos), false);
		if (after && !err) {
			for (loff_t b = ALIGN(pos, (loff_t)DISK_BLOCK_SIZE);
			     b + DISK_BLOCK_SIZE <= cend; b += DISK_BLOCK_SIZE)
				disk.csums[b / DISK_BLOCK_SIZE - first] =
					disk_block_csum(disk.stage + (b - base));
		}
		herr = host_pwrite_all(bio->bi_fd, buf, (size_t)(cend - pos), pos);
		if (herr) {
			bio->bi_status = herr;
			return;
		}
		pos = cend;
	}
	if (err) {
		bio->bi_status = err;
		return;
	}
	if (bio->bi_csum_fd < 0)
		return;
	if (!after) {
		/* taken when the I/O was submitted */
		if (store_csums(bio->bi_csum_fd, first, nblocks, bio->bi_csums))
			bio->bi_status = -EIO;
		return;
	}
	/* the blocks it covers in part: read back, as they now are on the disk */
	ok = disk_fault_n(PINMM_DISK_FAIL_READ, nblocks, &err);
	for (unsigned long n = 0; n < ok; n++) {
		loff_t b = (loff_t)(first + n) * DISK_BLOCK_SIZE;

		if (b >= start && b + DISK_BLOCK_SIZE <= end)
			continue;
		if (host_pread_all(bio->bi_fd, disk.block, DISK_BLOCK_SIZE, b)) {
			ok = n;
			err = -EIO;
			break;
		}
		disk.csums[n] = disk_block_csum(disk.block);
	}
	if (store_csums(bio->bi_csum_fd, first, ok, disk.csums) || err)
		bio->bi_status = -EIO;
}

/*
 * Carry out one request and complete it: whoever holds the device (its
 * thread, or a synchronous submitter issuing directly) runs this, never two
 * at once, so the device's buffers are the holder's alone.
 */
static void disk_serve(struct bio *bio, unsigned int latency)
{
	if (latency)
		usleep(latency);
	bio->bi_status = 0;
	if (bio->bi_op == REQ_OP_READ)
		disk_do_read(bio);
	else
		disk_do_write(bio);
	count_vm_events(bio->bi_op == REQ_OP_READ ? PGPGIN : PGPGOUT,
			(long)(bio_size(bio) / 1024));
	atomic_fetch_add(&disk.completed, 1);
	bio->bi_end_io(bio);
}

/* Give the device back (disk.lock held): to its thread if work is queued. */
static void disk_release_locked(void)
{
	disk.busy = false;
	if (disk.head || disk.stop)
		pthread_cond_signal(&disk.work);
	if (!disk.head)
		pthread_cond_broadcast(&disk.idle);
}

/*
 * With disk.lock held and the device idle: take the device, serve @bio
 * without the lock, give the device back. Returns with disk.lock held.
 */
static void disk_hold_and_serve(struct bio *bio)
{
	unsigned int latency = disk.latency_us;

	disk.busy = true;
	pthread_mutex_unlock(&disk.lock);
	disk_serve(bio, latency);
	pthread_mutex_lock(&disk.lock);
	disk_release_locked();
}

static void *disk_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&disk.lock);
	for (;;) {
		struct bio *bio;

		/* busy: a synchronous submitter holds the device; it wakes us */
		while (disk.busy || (!disk.head && !disk.stop))
			pthread_cond_wait(&disk.work, &disk.lock);
		if (!disk.head)
			break;
		bio = disk.head;
		disk.head = bio->bi_next;
		if (!disk.head)
			disk.tail = &disk.head;
		disk_hold_and_serve(bio);
	}
	pthread_mutex_unlock(&disk.lock);
	return NULL;
}

static void disk_queue_locked(struct bio *bio)
{
	*disk.tail = bio;
	disk.tail = &bio->bi_next;
	pthread_cond_signal(&disk.work);
}

void submit_bio(struct bio *bio)
{
	VM_BUG_ON(!bio->bi_end_io || bio->bi_fd < 0);
	bio->bi_next = NULL;
	pthread_mutex_lock(&disk.lock);
	BUG_ON(!disk.running);
	disk_queue_locked(bio);
	pthread_mutex_unlock(&disk.lock);
}

void submit_bio_sync(struct bio *bio)
{
	VM_BUG_ON(!bio->bi_end_io || bio->bi_fd < 0);
	bio->bi_next = NULL;
	pthread_mutex_lock(&disk.lock);
	BUG_ON(!disk.running);
	if (disk.head || disk.busy) {
		/* not idle: behind what is queued, as any other request */
		disk_queue_locked(bio);
		pthread_mutex_unlock(&disk.lock);
		return;
	}
	/* idle: take the device and run the request here (blk_mq_try_issue_directly) */
	disk_hold_and_serve(bio);
	pthread_mutex_unlock(&disk.lock);
}

struct bio_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void submit_bio_wait_endio(struct bio *bio)
{
	struct bio_wait *w = bio->bi_private;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int submit_bio_wait(struct bio *bio)
{
	struct bio_wait w = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};

	bio->bi_private = &w;
	bio->bi_end_io = submit_bio_wait_endio;
	submit_bio_sync(bio);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
	return bio->bi_status;
}

void pinmm_disk_drain(void)
{
	pthread_mutex_lock(&disk.lock);
	while (disk.running && (disk.head || disk.busy))
		pthread_cond_wait(&disk.idle, &disk.lock);
	pthread_mutex_unlock(&disk.lock);
}

static void disk_free_buffers(void)
{
	free(disk.block);
	free(disk.stage);
	free(disk.csums);
	disk.block = disk.stage = NULL;
	disk.csums = NULL;
	disk.nr_csums = 0;
}

int disk_start(void)
{
	disk.block = aligned_alloc(64, DISK_BLOCK_SIZE);
	disk.stage = aligned_alloc(64, DISK_STAGE_BLOCKS * DISK_BLOCK_SIZE);
	/* room for a 2 MiB request's checksums: it grows only for larger ones */
	disk.nr_csums = (2UL << 20) / DISK_BLOCK_SIZE;
	disk.csums = malloc(disk.nr_csums * sizeof(*disk.csums));
	if (!disk.block || !disk.stage || !disk.csums) {
		disk_free_buffers();
		return -ENOMEM;
	}
	pthread_mutex_lock(&disk.lock);
	disk.head = NULL;
	disk.tail = &disk.head;
	disk.stop = false;
	disk.busy = false;
	disk.latency_us = 0;
	memset(disk.fault, 0, sizeof(disk.fault));	/* armed too: no thread looks yet */
	pthread_mutex_unlock(&disk.lock);
	atomic_store(&disk.completed, 0);
	if (pthread_create(&disk.thread, NULL, disk_main, NULL)) {
		disk_free_buffers();
		return -ENOMEM;
	}
	pthread_mutex_lock(&disk.lock);
	disk.running = true;
	pthread_mutex_unlock(&disk.lock);
	return 0;
}

void disk_stop(void)
{
	pinmm_disk_drain();
	pthread_mutex_lock(&disk.lock);
	if (!disk.running) {
		pthread_mutex_unlock(&disk.lock);
		return;
	}
	disk.stop = true;
	pthread_cond_signal(&disk.work);
	pthread_mutex_unlock(&disk.lock);
	pthread_join(disk.thread, NULL);
	pthread_mutex_lock(&disk.lock);
	disk.running = false;
	pthread_mutex_unlock(&disk.lock);
	disk_free_buffers();
}
