// SPDX-License-Identifier: MIT
/*
 * bench/fill: the floor under a large folio's pin. GUP-fast fills one pages[]
 * entry per subpage (fill_pages() in src/gup/gup_fast.c); for a 2 MiB folio
 * that is 512 pointers, 4 KiB of stores, and at under a nanosecond per page
 * those stores are most of the pin. This measures them alone, the way
 * `pinmm bench -H -n 512` makes them: an array of one pointer per page of a
 * -m MiB range (default 256, gup_test's array for that size), written 512
 * entries per call, each line read back after the round as unpin does.
 *
 * Four ways to write: one 8-byte store per entry, two entries per 16-byte
 * store, four per 32-byte store (AVX2, where the CPU has it: what
 * fill_pages() picks), and two per 16-byte streaming (non-temporal) store,
 * which skips the read-for-ownership but sends every line to memory, so the
 * read-back misses.
 * Prints the best of -r rounds (default 50) in ns per entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report.h"

#define CHUNK	512	/* entries per call: one PMD-sized folio */

typedef long long v2ll __attribute__((vector_size(16)));

static __attribute__((noinline)) void fill_scalar(long *dst, long first, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] = first + i * 64;
}

static __attribute__((noinline)) void fill_vec16(long *dst, long first, int n)
{
	v2ll v = { first, first + 64 }, step = { 128, 128 };

	for (int i = 0; i + 2 <= n; i += 2, v += step)
		*(v2ll *)(dst + i) = v;
}

#ifdef __x86_64__
static __attribute__((noinline, target("avx2"))) void fill_vec32(long *dst, long first, int n)
{
	typedef long long v4ll __attribute__((vector_size(32), aligned(8)));
	v4ll v = { first, first + 64, first + 128, first + 192 }, step = { 256, 256, 256, 256 };

	for (int i = 0; i + 4 <= n; i += 4, v += step)
		*(v4ll *)(dst + i) = v;
}
#endif

#ifdef __SSE2__
static __attribute__((noinline)) void fill_stream16(long *dst, long first, int n)
{
	v2ll v = { first, first + 64 }, step = { 128, 128 };

	for (int i = 0; i + 2 <= n; i += 2, v += step)
		__builtin_ia32_movntdq((v2ll *)(dst + i), v);
	__builtin_ia32_sfence();
}
#endif

struct way {
	const char *name;
	void (*fill)(long *, long, int);
};

int main(int argc, char **argv)
{
	static const struct way ways[] = {
		{ "plain 8-byte stores", fill_scalar },
		{ "plain 16-byte stores", fill_vec16 },
#ifdef __x86_64__
		{ "plain 32-byte stores (AVX2)", fill_vec32 },
#endif
#ifdef __SSE2__
		{ "streaming 16-byte stores", fill_stream16 },
#endif
	};
	unsigned long mib = 256, rounds = 50, entries;
	volatile long sink = 0;
	long *array;
	int opt;

	while ((opt = getopt(argc, argv, "m:r:")) != -1) {
		unsigned long v;
		char *end;

		if (opt != 'm' && opt != 'r')
			goto usage;
		v = strtoul(optarg, &end, 0);
		if (*end || !v || v > 65536) {
			fprintf(stderr, "fill: -%c wants a number from 1 to 65536\n", opt);
			return 2;
		}
		if (opt == 'm')
			mib = v;
		else
			rounds = v;
	}
	if (optind != argc)
		goto usage;
	entries = mib * 256;
	array = aligned_alloc(64, entries * sizeof(long));
	if (!array) {
		perror("fill: aligned_alloc");
		return 1;
	}
	memset(array, 0, entries * sizeof(long));
	printf("# pages[] of %lu entries (%lu KiB, a %lu MiB range), %d per call, best of %lu\n",
	       entries, entries * sizeof(long) >> 10, mib, CHUNK, rounds);
	for (size_t w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
		double best = 1e30;

#ifdef __x86_64__
		if (ways[w].fill == fill_vec32 && !__builtin_cpu_supports("avx2"))
			continue;
#endif

		for (unsigned long r = 0; r < rounds; r++) {
			double t0 = bench_now(), ns;
			long sum = 0;

			for (unsigned long i = 0; i + CHUNK <= entries; i += CHUNK)
				ways[w].fill(array + i, (long)i * 64, CHUNK);
			ns = bench_now() - t0;
			if (ns < best)
				best = ns;
			/* unpin's read of each entry, one per line is enough */
			for (unsigned long i = 0; i < entries; i += 8)
				sum += array[i];
			sink += sum;
		}
		printf("%-28s %.3f ns/entry\n", ways[w].name, best / (double)entries);
	}
	free(array);
	return sink == 1;	/* never: keeps the read-back */
usage:
	fprintf(stderr, "usage: fill [-m MiB] [-r rounds]\n");
	return 2;
}
