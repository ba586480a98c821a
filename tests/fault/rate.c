// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * Random-mode fault injection (pinmm_fail_rate(), include/pinmm/fault-inject.h),
 * what make soak arms in the stress tests and the fuzzer. Like Linux's
 * fault-injection "probability" knob, but per thread and seeded:
 *  - one attempt in n fails, about: over 100,000 attempts at 1/100 the count
 *    is within a wide bound of 1,000 (the check is on the count, never a time);
 *  - the same seed gives the same failing attempts; another seed, others;
 *  - rate 0 disarms; an nth arming of the site wins over the rate;
 *  - only the arming thread fails; pinmm_fail_injected() counts every thread;
 *  - a real allocation site honours it: alloc_pages() returns NULL about one
 *    time in n, and the allocator is whole afterwards.
 */
#include "../mem/helpers.h"

#include <pinmm/fault-inject.h>
#include <pinmm/gfp.h>

#include <pthread.h>

#define ATTEMPTS	100000

/* Which of the first @n attempts at @site fail, as a bitmap of 64-attempt words. */
static void pattern(enum pinmm_fail_site site, unsigned long rate, uint64_t seed,
		    uint64_t *bits, int words)
{
	pinmm_fail_rate(site, rate, seed);
	for (int w = 0; w < words; w++) {
		bits[w] = 0;
		for (int b = 0; b < 64; b++)
			bits[w] |= (uint64_t)should_fail(site) << b;
	}
	pinmm_fail_rate(site, 0, 0);
}

static void *other_thread(void *arg)
{
	unsigned long *failed = arg;

	/* never armed here: the main thread's rate is not ours */
	for (int i = 0; i < ATTEMPTS / 10; i++)
		*failed += should_fail(PINMM_FAIL_SLAB);
	return NULL;
}

int main(void)
{
	uint64_t a[64], b[64], c[64];
	unsigned long failed = 0, before, other = 0, nulls = 0;
	pthread_t t;

	plan_no_plan();
	test_boot(16, 4, 0);

	before = pinmm_fail_failures(PINMM_FAIL_SLAB);
	pinmm_fail_rate(PINMM_FAIL_SLAB, 100, 42);
	for (int i = 0; i < ATTEMPTS; i++)
		failed += should_fail(PINMM_FAIL_SLAB);
	ok(failed > 700 && failed < 1300, "1/100 at random: %lu of %d attempts failed", failed,
	   ATTEMPTS);
	is_uint(pinmm_fail_failures(PINMM_FAIL_SLAB) - before, failed,
		"the thread's failure count says so");

	pthread_create(&t, NULL, other_thread, &other);
	pthread_join(t, NULL);
	is_uint(other, 0, "another thread's attempts at the same site never fail");

	pinmm_fail_rate(PINMM_FAIL_SLAB, 0, 0);
	failed = 0;
	for (int i = 0; i < ATTEMPTS / 10; i++)
		failed += should_fail(PINMM_FAIL_SLAB);
	is_uint(failed, 0, "rate 0 disarms");

	pattern(PINMM_FAIL_SLAB, 8, 7, a, 64);
	pattern(PINMM_FAIL_SLAB, 8, 7, b, 64);
	pattern(PINMM_FAIL_SLAB, 8, 8, c, 64);
	ok(!memcmp(a, b, sizeof(a)), "the same seed fails the same attempts");
	ok(memcmp(a, c, sizeof(a)), "another seed fails others");

	pinmm_fail_rate(PINMM_FAIL_SLAB, 1000000, 9);
	pinmm_fail_nth(PINMM_FAIL_SLAB, 3, 0);
	ok(!should_fail(PINMM_FAIL_SLAB) && !should_fail(PINMM_FAIL_SLAB) &&
	   should_fail(PINMM_FAIL_SLAB), "an nth arming wins over the rate: the 3rd attempt fails");
	pinmm_fail_reset();

	before = pinmm_fail_injected(PINMM_FAIL_PAGE_ALLOC);
	pinmm_fail_rate(PINMM_FAIL_PAGE_ALLOC, 20, 5);
	for (int i = 0; i < 2000; i++) {
		struct page *page = alloc_pages(GFP_KERNEL, 0);

		if (!page)
			nulls++;
		else
			__free_pages(page, 0);
	}
	pinmm_fail_reset();
	ok(nulls > 40 && nulls < 200, "alloc_pages() honours 1/20: %lu of 2000 failed", nulls);
	is_uint(pinmm_fail_injected(PINMM_FAIL_PAGE_ALLOC) - before, nulls,
		"pinmm_fail_injected() counts them");
	ok(all_zones_ok(), "the free lists are consistent after the injected failures");
	test_shutdown_ok("fault rate");
	return done_testing();
}
