/* SPDX-License-Identifier: MIT */
/*
 * Soak mode for the stress tests and the fuzzer (make soak, docs/soak.md):
 * when $PINMM_FAIL_RATE is set, a test thread arms the fault-injection sites
 * at random, one attempt in $PINMM_FAIL_RATE failing. An operation may then
 * fail as Linux lets it (-ENOMEM, a short pin count, a fault that cannot
 * allocate): the test excuses a failure only when the thread's own count of
 * injected failures moved during that operation, and still checks
 * everything else, the balanced counters at the end included.
 */
#ifndef PINMM_TEST_SOAK_H
#define PINMM_TEST_SOAK_H

#include <stdbool.h>
#include <stdint.h>

/* Is soak mode on ($PINMM_FAIL_RATE set and > 0)? */
bool soak_enabled(void);
/*
 * Arm this thread's sites ($PINMM_FAIL_SITES: comma-separated site names,
 * default all) at 1/$PINMM_FAIL_RATE, seeded from $PINMM_FAIL_SEED and a
 * per-thread number. Return: true if soak mode is on.
 */
bool soak_fail_arm(void);
/* The same, seeded by the caller (mixed with $PINMM_FAIL_SEED): repeatable. */
bool soak_fail_arm_seed(uint64_t seed);
/* Disarm this thread's sites. */
void soak_fail_disarm(void);
/* Failures injected into this thread so far, every site. */
unsigned long soak_fail_mine(void);
/* Did this thread meet an injected failure since soak_fail_mine() gave @before? */
static inline bool soak_excused(unsigned long before)
{
	return soak_fail_mine() != before;
}
/*
 * Print one line for make soak to collect: the test, its operations, and
 * the failures injected per site in the whole program.
 */
void soak_report(const char *test, unsigned long ops);

#endif /* PINMM_TEST_SOAK_H */
