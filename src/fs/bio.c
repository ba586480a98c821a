// SPDX-License-Identifier: MIT
/*
 * The disk (see include/pinmm/bio.h): one device thread serving a FIFO of
 * bios against host files, with checksums per 4 KiB block, injectable
 * failures and an optional latency.
 *
 * The device accesses memory only through the bio's vectors, at the time it
 * serves the request. In ThreadSanitizer builds it stages data through a
 * buffer of its own with pinmm_dma_copy(), since pread()/pwrite() on racing
 * memory would be reported as a CPU data race: a device's DMA is not one.
 */
#include "internal.h"

#include <pinmm/bio.h>
#include <pinmm/dma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a bio was queued, or stop */
	pthread_cond_t idle;		/* the queue drained */
	struct bio *head, **tail;
	bool running, stop, busy;
	pthread_t thread;
	unsigned int latency_us;
	struct {
		unsigned long nth, count, failures;
		int err;
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
	struct bio *bio = calloc(1, sizeof(*bio) + nr_vecs * sizeof(struct bio_vec));

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
	free(bio->bi_csums);
	free(bio);
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

/* Should this host operation fail? 0, or the -errno to fail with. */
static int disk_fault(enum pinmm_disk_fault which)
{
	int ret = 0;

	pthread_mutex_lock(&disk.lock);
	if (disk.fault[which].nth) {
		if (disk.fault[which].nth > 1) {
			disk.fault[which].nth--;
		} else {
			ret = -disk.fault[which].err;
			disk.fault[which].failures++;
			if (disk.fault[which].count)
				disk.fault[which].count--;
			else
				disk.fault[which].nth = 0;
		}
	}
	pthread_mutex_unlock(&disk.lock);
	return ret;
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
static int host_read(int fd, void *dst, size_t n, loff_t pos)
{
	size_t done = 0;
	int err = disk_fault(PINMM_DISK_FAIL_READ);

	if (err)
		return err;
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

static int host_write(int fd, const void *src, size_t n, loff_t pos)
{
	size_t done = 0;
	int err = disk_fault(PINMM_DISK_FAIL_WRITE);

	if (err)
		return err;
	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)src + done, n - done, pos + (loff_t)done);

		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

/*
 * Memory <-> host for one vector piece. Without TSan the host call uses
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

static int dma_write_from(int fd, const void *mem, size_t n, loff_t pos, void *stage)
{
#ifdef PINMM_TSAN
	pinmm_dma_copy(stage, mem, n);
	return host_write(fd, stage, n, pos);
#else
	(void)stage;
	return host_write(fd, mem, n, pos);
#endif
}

static uint64_t stored_csum(int csum_fd, unsigned long blk)
{
	uint64_t v = 0;

	if (pread(csum_fd, &v, sizeof(v), (loff_t)(blk * sizeof(v))) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

static int store_csum(int csum_fd, unsigned long blk, uint64_t v)
{
	return pwrite(csum_fd, &v, sizeof(v), (loff_t)(blk * sizeof(v))) == (ssize_t)sizeof(v) ?
	       0 : -EIO;
}

/* A cursor over a bio's memory. */
struct bio_cursor {
	struct bio *bio;
	unsigned int i;		/* vector */
	unsigned int off;	/* into it */
};

/* Copy @n bytes from @src into the bio's memory at the cursor (a device write). */
static void cursor_scatter(struct bio_cursor *c, const char *src, size_t n)
{
	while (n && c->i < c->bio->bi_vcnt) {
		struct bio_vec *bv = &c->bio->bi_io_vec[c->i];
		size_t k = min((size_t)(bv->bv_len - c->off), n);

		pinmm_dma_copy((char *)bvec_addr(bv) + c->off, src, k);
		src += k;
		n -= k;
		c->off += (unsigned int)k;
		if (c->off == bv->bv_len) {
			c->i++;
			c->off = 0;
		}
	}
}

static void disk_do_read(struct bio *bio, char *block, char *stage)
{
	struct bio_cursor c = { .bio = bio };
	loff_t pos = bio->bi_pos, end = pos + (loff_t)bio_size(bio);

	while (pos < end) {
		unsigned long blk = (unsigned long)(pos / DISK_BLOCK_SIZE);
		size_t boff = (size_t)(pos % DISK_BLOCK_SIZE);
		size_t chunk = min((size_t)(DISK_BLOCK_SIZE - boff), (size_t)(end - pos));
		struct bio_vec *bv = &bio->bi_io_vec[c.i];
		int err;

		if (bio->bi_csum_fd < 0 || !bio->bi_csum_verify) {
			/* no verification: straight into each vector */
			size_t k = min(chunk, (size_t)(bv->bv_len - c.off));

			err = dma_read_into(bio->bi_fd, (char *)bvec_addr(bv) + c.off, k, pos, stage);
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
			continue;
		}
		/* the whole block is read and checked, then the part asked for is delivered */
		err = host_read(bio->bi_fd, block, DISK_BLOCK_SIZE, (loff_t)blk * DISK_BLOCK_SIZE);
		if (err) {
			bio->bi_status = err;
			return;
		}
		{
			uint64_t want = stored_csum(bio->bi_csum_fd, blk);

			if (want && want != disk_block_csum(block)) {
				bio->bi_csum_bad++;
				bio->bi_status = -EIO;
			}
		}
		cursor_scatter(&c, block + boff, chunk);
		pos += (loff_t)chunk;
	}
}

static void disk_do_write(struct bio *bio, char *block, char *stage)
{
	loff_t pos = bio->bi_pos, start = pos;
	int err = 0;

	for (unsigned int i = 0; i < bio->bi_vcnt && !err; i++) {
		struct bio_vec *bv = &bio->bi_io_vec[i];

		for (unsigned int off = 0; off < bv->bv_len && !err;) {
			/* staged a block at a time under TSan */
			unsigned int k = min(bv->bv_len - off, (unsigned int)DISK_BLOCK_SIZE);

			err = dma_write_from(bio->bi_fd, (char *)bvec_addr(bv) + off, k, pos, stage);
			off += k;
			pos += k;
		}
	}
	if (err) {
		bio->bi_status = err;
		return;
	}
	if (bio->bi_csum_fd < 0)
		return;
	for (unsigned long blk = (unsigned long)(start / DISK_BLOCK_SIZE), n = 0;
	     (loff_t)blk * DISK_BLOCK_SIZE < pos; blk++, n++) {
		uint64_t v;

		if (bio->bi_csums) {
			v = bio->bi_csums[n];	/* taken when the I/O was submitted */
		} else {
			/* Direct I/O: the disk checksums the block as it now is */
			if (host_read(bio->bi_fd, block, DISK_BLOCK_SIZE,
				      (loff_t)blk * DISK_BLOCK_SIZE)) {
				bio->bi_status = -EIO;
				return;
			}
			v = disk_block_csum(block);
		}
		if (store_csum(bio->bi_csum_fd, blk, v)) {
			bio->bi_status = -EIO;
			return;
		}
	}
}

static void *disk_main(void *arg)
{
	char *block = aligned_alloc(64, DISK_BLOCK_SIZE);
	char *stage = aligned_alloc(64, DISK_BLOCK_SIZE);

	(void)arg;
	BUG_ON(!block || !stage);
	pthread_mutex_lock(&disk.lock);
	for (;;) {
		struct bio *bio;
		unsigned int latency;

		while (!disk.head && !disk.stop)
			pthread_cond_wait(&disk.work, &disk.lock);
		if (!disk.head)
			break;
		bio = disk.head;
		disk.head = bio->bi_next;
		if (!disk.head)
			disk.tail = &disk.head;
		disk.busy = true;
		latency = disk.latency_us;
		pthread_mutex_unlock(&disk.lock);

		if (latency)
			usleep(latency);
		bio->bi_status = 0;
		if (bio->bi_op == REQ_OP_READ)
			disk_do_read(bio, block, stage);
		else
			disk_do_write(bio, block, stage);
		count_vm_events(bio->bi_op == REQ_OP_READ ? PGPGIN : PGPGOUT,
				(long)(bio_size(bio) / 1024));
		atomic_fetch_add(&disk.completed, 1);
		bio->bi_end_io(bio);

		pthread_mutex_lock(&disk.lock);
		disk.busy = false;
		if (!disk.head)
			pthread_cond_broadcast(&disk.idle);
	}
	pthread_mutex_unlock(&disk.lock);
	free(block);
	free(stage);
	return NULL;
}

void submit_bio(struct bio *bio)
{
	VM_BUG_ON(!bio->bi_end_io || bio->bi_fd < 0);
	bio->bi_next = NULL;
	pthread_mutex_lock(&disk.lock);
	BUG_ON(!disk.running);
	*disk.tail = bio;
	disk.tail = &bio->bi_next;
	pthread_cond_signal(&disk.work);
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
	submit_bio(bio);
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

int disk_start(void)
{
	pthread_mutex_lock(&disk.lock);
	disk.head = NULL;
	disk.tail = &disk.head;
	disk.stop = false;
	disk.busy = false;
	disk.latency_us = 0;
	memset(disk.fault, 0, sizeof(disk.fault));
	pthread_mutex_unlock(&disk.lock);
	atomic_store(&disk.completed, 0);
	if (pthread_create(&disk.thread, NULL, disk_main, NULL))
		return -ENOMEM;
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
}
