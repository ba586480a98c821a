// SPDX-License-Identifier: MIT
/* Soak mode: random fault injection in test threads (soak.h). */
#include "soak.h"
#include "tap.h"

#include <pinmm/fault-inject.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned long fail_rate(void)
{
	const char *s = getenv("PINMM_FAIL_RATE");

	return s ? strtoul(s, NULL, 0) : 0;
}

bool soak_enabled(void)
{
	return fail_rate() > 0;
}

/* Is @name in the comma-separated $PINMM_FAIL_SITES (unset: every site)? */
static bool site_wanted(const char *name)
{
	const char *list = getenv("PINMM_FAIL_SITES"), *p;
	size_t len = strlen(name);

	if (!list || !*list)
		return true;
	for (p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

bool soak_fail_arm_seed(uint64_t seed)
{
	unsigned long rate = fail_rate();
	const char *s = getenv("PINMM_FAIL_SEED");

	if (!rate)
		return false;
	seed = (seed + (s ? strtoull(s, NULL, 0) : 0x50a1)) * 0x9e3779b97f4a7c15ULL;
	for (int site = 0; site < PINMM_FAIL_NR; site++)
		if (site_wanted(pinmm_fail_site_name(site)))
			pinmm_fail_rate(site, rate, seed ^ ((uint64_t)site << 32));
	return true;
}

bool soak_fail_arm(void)
{
	static atomic_ulong threads;

	/* each thread its own sequence, the same for the same start order */
	return soak_fail_arm_seed(atomic_fetch_add(&threads, 1) + 1);
}

void soak_fail_disarm(void)
{
	for (int site = 0; site < PINMM_FAIL_NR; site++)
		pinmm_fail_rate(site, 0, 0);
}

unsigned long soak_fail_mine(void)
{
	unsigned long n = 0;

	for (int site = 0; site < PINMM_FAIL_NR; site++)
		n += pinmm_fail_failures(site);
	return n;
}

void soak_report(const char *test, unsigned long ops)
{
	char buf[256];
	int len = 0;

	if (!soak_enabled())
		return;
	for (int site = 0; site < PINMM_FAIL_NR; site++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, " %s=%lu",
				pinmm_fail_site_name(site), pinmm_fail_injected(site));
	diag("soak: %s: %lu operations; injected failures:%s", test, ops, buf);
}
