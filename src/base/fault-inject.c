// SPDX-License-Identifier: MIT
/*
 * Fault injection sites (include/pinmm/fault-inject.h): per thread, so
 * what other threads allocate neither counts nor fails. Only the totals of
 * injected failures are shared, for a soak's report.
 */
#include <pinmm/fault-inject.h>

#include <stdatomic.h>

static const char *const site_names[PINMM_FAIL_NR] = {
	[PINMM_FAIL_PAGE_ALLOC] = "page_alloc",
	[PINMM_FAIL_PAGE_TABLE] = "page_table",
	[PINMM_FAIL_SLAB] = "slab",
	[PINMM_FAIL_MIGRATE_TARGET] = "migrate_target",
	[PINMM_FAIL_SWAP_IO] = "swap_io",
	[PINMM_FAIL_XA_NODE] = "xa_node",
};

static _Thread_local struct {
	unsigned long nth;		/* attempts left until the failing one; 0: unarmed */
	bool persist;
	unsigned long one_in_n;		/* random mode: 0 off */
	uint64_t rnd;			/* its xorshift64 state */
	unsigned long attempts, failures;
} sites[PINMM_FAIL_NR];

static _Atomic unsigned long injected[PINMM_FAIL_NR];

void pinmm_fail_nth(enum pinmm_fail_site site, unsigned long nth, unsigned int flags)
{
	if ((unsigned int)site >= PINMM_FAIL_NR)
		return;
	sites[site].nth = nth;
	sites[site].persist = nth && (flags & PINMM_FAIL_PERSIST);
}

void pinmm_fail_rate(enum pinmm_fail_site site, unsigned long one_in_n, uint64_t seed)
{
	if ((unsigned int)site >= PINMM_FAIL_NR)
		return;
	sites[site].one_in_n = one_in_n;
	sites[site].rnd = seed ? seed : 1;
}

unsigned long pinmm_fail_injected(enum pinmm_fail_site site)
{
	return (unsigned int)site < PINMM_FAIL_NR ?
	       atomic_load_explicit(&injected[site], memory_order_relaxed) : 0;
}

void pinmm_fail_reset(void)
{
	for (int i = 0; i < PINMM_FAIL_NR; i++) {
		pinmm_fail_nth(i, 0, 0);
		pinmm_fail_rate(i, 0, 0);
	}
}

unsigned long pinmm_fail_attempts(enum pinmm_fail_site site)
{
	return (unsigned int)site < PINMM_FAIL_NR ? sites[site].attempts : 0;
}

unsigned long pinmm_fail_failures(enum pinmm_fail_site site)
{
	return (unsigned int)site < PINMM_FAIL_NR ? sites[site].failures : 0;
}

const char *pinmm_fail_site_name(enum pinmm_fail_site site)
{
	return (unsigned int)site < PINMM_FAIL_NR ? site_names[site] : "?";
}

/* A random attempt of @s: fails with probability 1/one_in_n. */
static bool fail_at_random(typeof(&sites[0]) s)
{
	uint64_t x = s->rnd;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rnd = x;
	return x % s->one_in_n == 0;
}

bool should_fail(enum pinmm_fail_site site)
{
	typeof(&sites[0]) s = &sites[site];

	s->attempts++;
	if (!s->nth) {
		if (!s->one_in_n || !fail_at_random(s))
			return false;
		goto fail;
	}
	if (s->nth > 1) {
		s->nth--;
		return false;
	}
	/* this is the one: once, or from now on */
	if (!s->persist)
		s->nth = 0;
fail:
	s->failures++;
	atomic_fetch_add_explicit(&injected[site], 1, memory_order_relaxed);
	return true;
}
