// SPDX-License-Identifier: MIT
/*
 * seqcount_t: readers detect writers; raw_seqcount_try_begin() backs off
 * while a write is in progress.
 * PINMM_TEST_CONCURRENT: a writer keeps two words equal, readers that do
 * not retry must never see them differ.
 */
#include "helpers.h"

#include <pinmm/seqlock.h>

#define READERS		2
#define WRITES		TEST_SCALE(200000)

static seqcount_t seq;
static atomic_ulong wa, wb;	/* the protected state: wa == wb outside a write */
static atomic_int writer_done, inconsistent;
static atomic_long consistent_reads;

static void *writer(void *arg)
{
	(void)arg;
	for (unsigned long i = 1; i <= WRITES; i++) {
		write_seqcount_begin(&seq);
		atomic_store_explicit(&wa, i, memory_order_relaxed);
		atomic_store_explicit(&wb, i, memory_order_relaxed);
		write_seqcount_end(&seq);
	}
	atomic_store(&writer_done, 1);
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	for (;;) {
		/* One more pass after the writer finished, which cannot fail. */
		bool last = atomic_load(&writer_done);
		unsigned int start = read_seqcount_begin(&seq);
		unsigned long a = atomic_load_explicit(&wa, memory_order_relaxed);
		unsigned long b = atomic_load_explicit(&wb, memory_order_relaxed);

		if (read_seqcount_retry(&seq, start))
			continue;
		if (a != b)
			atomic_fetch_add(&inconsistent, 1);
		atomic_fetch_add(&consistent_reads, 1);
		if (last)
			return NULL;
	}
}

int main(void)
{
	pthread_t t[READERS + 1];
	unsigned int start, s2;

	plan(9);
	watchdog(30);
	seqcount_init(&seq);

	ok(raw_seqcount_try_begin(&seq, &start) && start == 0,
	   "seqcount: raw_seqcount_try_begin() succeeds on an idle count");
	start = read_seqcount_begin(&seq);
	ok(!read_seqcount_retry(&seq, start), "seqcount: read_seqcount_retry() is false when no writer ran");
	write_seqcount_begin(&seq);
	ok(!raw_seqcount_try_begin(&seq, &s2),
	   "seqcount: raw_seqcount_try_begin() fails while a writer is active (odd count)");
	ok(read_seqcount_retry(&seq, start),
	   "seqcount: read_seqcount_retry() detects a writer that began after read_seqcount_begin()");
	write_seqcount_end(&seq);
	ok(read_seqcount_retry(&seq, start),
	   "seqcount: read_seqcount_retry() detects a writer that ran and finished");
	ok(raw_seqcount_try_begin(&seq, &s2) && s2 == start + 2 && !read_seqcount_retry(&seq, s2),
	   "seqcount: a read that begins after the write sees a stable even count");

	t[0] = start_thread(writer, NULL);
	for (int i = 1; i <= READERS; i++)
		t[i] = start_thread(reader, NULL);
	for (int i = 0; i <= READERS; i++)
		join_thread(t[i]);
	is_int(atomic_load(&inconsistent), 0,
	       "seqcount: a read section that does not retry never saw a half-done write");
	ok(atomic_load(&consistent_reads) >= READERS, "seqcount: every reader completed read sections");
	ok(!(atomic_load(&seq.sequence) & 1) && atomic_load(&wa) == WRITES,
	   "seqcount: the count is even after the last write");
	return done_testing();
}
