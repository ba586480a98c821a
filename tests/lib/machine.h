/* SPDX-License-Identifier: MIT */
/*
 * Machine set-up and teardown for tests: every test case boots its own small
 * machine with test_boot() and ends with test_shutdown_ok(), which asserts
 * the rules every teardown must meet (pins balance, free lists consistent,
 * every frame back). A case that expects shutdown to fail calls
 * pinmm_shutdown() itself and asserts the error.
 */
#ifndef PINMM_TEST_MACHINE_H
#define PINMM_TEST_MACHINE_H

#include "tap.h"

#include <pinmm/machine.h>

/* Sizes in MiB for test_boot(). */
#define TEST_MEM_MB	64

/*
 * Boot a machine of @mem_mb MiB, @movable_mb of them ZONE_MOVABLE and
 * @cma_mb of ZONE_NORMAL MIGRATE_CMA, with no pmem. Bails out on failure:
 * nothing after it could mean anything.
 */
void test_boot(unsigned long mem_mb, unsigned long movable_mb, unsigned long cma_mb);

/*
 * Teardown check for the case @name: nr_foll_pin_acquired equals
 * nr_foll_pin_released, pinmm_check_zone() passes on every zone, and
 * pinmm_shutdown() returns 0. Three assertions; true if all passed.
 */
bool test_shutdown_ok(const char *name);

/*
 * Send stderr to /dev/null until quiet_stderr_end() (for cases whose expected
 * outcome is a report: a bad page, a leak at shutdown). Also silences WARNs.
 */
void quiet_stderr_begin(void);
void quiet_stderr_end(void);

/*
 * Like quiet_stderr_begin(), but keep what is written: capture_stderr_end()
 * returns it as a NUL-terminated string to free(). WARN output stays on
 * (it is part of what a test may want to see).
 */
void capture_stderr_begin(void);
char *capture_stderr_end(void);

/* Deterministic per-test pseudo-random numbers (xorshift64*). */
uint64_t test_rand(uint64_t *state);

#endif /* PINMM_TEST_MACHINE_H */
