// SPDX-License-Identifier: MIT
/*
 * Fault injection sites (include/pinmm/fault-inject.h): per thread, so
 * what other threads allocate neither counts nor fails.
 */
#include <pinmm/fault-inject.h>

static const char *const site_names[PINMM_FAIL_NR] = {
	[PINMM_FAIL_PAGE_ALLOC] = "page_alloc",
	[PINMM_FAIL_PAGE_TABLE] = "page_table",
	[PINMM_FAIL_SLAB] = "slab",
	[PINMM_FAIL_MIGRATE_TARGET] = "migrate_target",
};

static _Thread_local struct {
	unsigned long nth;		/* attempts left until the failing one; 0: unarmed */
	bool persist;
	unsigned long attempts, failures;
} sites[PINMM_FAIL_NR];

void pinmm_fail_nth(enum pinmm_fail_site site, unsigned long nth, unsigned int flags)
{
	if ((unsigned int)site >= PINMM_FAIL_NR)
		return;
	sites[site].nth = nth;
	sites[site].persist = nth && (flags & PINMM_FAIL_PERSIST);
}

void pinmm_fail_reset(void)
{
	for (int i = 0; i < PINMM_FAIL_NR; i++)
		pinmm_fail_nth(i, 0, 0);
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

bool should_fail(enum pinmm_fail_site site)
{
	typeof(&sites[0]) s = &sites[site];

	s->attempts++;
	if (!s->nth)
		return false;
	if (s->nth > 1) {
		s->nth--;
		return false;
	}
	/* this is the one: once, or from now on */
	if (!s->persist)
		s->nth = 0;
	s->failures++;
	return true;
}
