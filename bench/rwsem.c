// SPDX-License-Identifier: MIT
/*
 * bench/rwsem: what a struct rw_semaphore costs (mmap_lock, the anon_vma
 * lock, i_mmap_rwsem). Rows: a down_read()/up_read() pair on one thread,
 * then on two threads reading the same rwsem at once (the one-mm case of
 * bench/scale: two threads of a process faulting or pinning under
 * mmap_read_lock), then two readers with a third thread taking it for
 * writing every WRITE_EVERY_US microseconds. Prints ns per pair as each
 * thread sees it, wall clock and the thread's own CPU time
 * (CLOCK_THREAD_CPUTIME_ID, which the neighbours of a shared host do not
 * inflate), best of ROUNDS rounds. Prints figures only.
 */
#include <pinmm/locks.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "report.h"

#define PAIRS		2000000UL
#define ROUNDS		5
#define WRITE_EVERY_US	100

static struct rw_semaphore sem;
static pthread_barrier_t start;
static atomic_int stop_writer;
static unsigned long writes;

struct reader {
	pthread_t thread;
	double ns, cpu_ns;
};

static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	uint64_t t0;
	double c0;

	pthread_barrier_wait(&start);
	t0 = bench_now_ns();
	c0 = thread_cpu_ns();
	for (unsigned long i = 0; i < PAIRS; i++) {
		down_read(&sem);
		up_read(&sem);
	}
	r->cpu_ns = (thread_cpu_ns() - c0) / PAIRS;
	r->ns = (double)(bench_now_ns() - t0) / PAIRS;
	return NULL;
}

static void *writer_fn(void *arg)
{
	struct timespec nap = { 0, WRITE_EVERY_US * 1000L };

	(void)arg;
	pthread_barrier_wait(&start);
	while (!atomic_load(&stop_writer)) {
		down_write(&sem);
		writes++;
		up_write(&sem);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

/* Best round of @nreaders readers (and a writer if @writer): ns and CPU ns per pair. */
static void run(int nreaders, bool writer, double *ns, double *cpu_ns)
{
	*ns = *cpu_ns = 1e30;
	for (int round = 0; round < ROUNDS; round++) {
		struct reader r[2];
		pthread_t w;
		double worst = 0, worst_cpu = 0;

		pthread_barrier_init(&start, NULL, (unsigned int)(nreaders + writer));
		atomic_store(&stop_writer, 0);
		if (writer)
			pthread_create(&w, NULL, writer_fn, NULL);
		for (int i = 0; i < nreaders; i++)
			pthread_create(&r[i].thread, NULL, reader_fn, &r[i]);
		for (int i = 0; i < nreaders; i++) {
			pthread_join(r[i].thread, NULL);
			worst = r[i].ns > worst ? r[i].ns : worst;
			worst_cpu = r[i].cpu_ns > worst_cpu ? r[i].cpu_ns : worst_cpu;
		}
		atomic_store(&stop_writer, 1);
		if (writer)
			pthread_join(w, NULL);
		pthread_barrier_destroy(&start);
		*ns = worst < *ns ? worst : *ns;
		*cpu_ns = worst_cpu < *cpu_ns ? worst_cpu : *cpu_ns;
	}
}

int main(void)
{
	double ns1, cpu1, ns2, cpu2, nsw, cpuw;

	init_rwsem(&sem, LOCK_RANK_MMAP);
	run(1, false, &ns1, &cpu1);
	run(2, false, &ns2, &cpu2);
	run(2, true, &nsw, &cpuw);
	destroy_rwsem(&sem);
	printf("down_read+up_read, 1 reader:                %6.1f ns (CPU %.1f)\n", ns1, cpu1);
	printf("down_read+up_read, 2 readers at once:       %6.1f ns (CPU %.1f) each; x2 %.2f\n",
	       ns2, cpu2, 2 * ns1 / ns2);
	printf("the same with a writer every %d us:        %6.1f ns (CPU %.1f) each (%lu writes)\n",
	       WRITE_EVERY_US, nsw, cpuw, writes);
	printf("rwsem ns per read pair: 1 reader %.1f, 2 readers %.1f (x2 %.2f), with writer %.1f\n",
	       ns1, ns2, 2 * ns1 / ns2, nsw);
	return 0;
}
