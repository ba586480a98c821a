/* SPDX-License-Identifier: MIT */
/*
 * A small TAP producer for pinmm's tests (run under prove).
 *
 *   plan(n) / plan_no_plan() ... done_testing()
 *   ok(cond, fmt, ...)             one assertion; the name states the rule
 *   is_int(got, want, fmt, ...)    integer comparison, prints both on failure
 *   is_uint / is_ptr / is_str      likewise
 *   diag(fmt, ...)                 a '#' comment line
 *   skip(n, why)                   n skipped assertions
 *   todo_start(why) / todo_end()   known failures, reported as TODO
 *   bail_out(fmt, ...)             abort the whole test file
 *   expect_bug(fn, arg, name)      run fn(arg) in a child; pass if it dies by BUG()
 *
 * Each assertion's name should say which Linux rule it checks, e.g.
 * "R-CNT: a pin of a small folio adds GUP_PIN_COUNTING_BIAS".
 */
#ifndef PINMM_TEST_TAP_H
#define PINMM_TEST_TAP_H

#include <pinmm/compiler.h>
#include <stdio.h>

void plan(int n);
void plan_no_plan(void);
int done_testing(void);	/* returns the process exit status */

__printf(2, 3) bool ok(bool cond, const char *fmt, ...);
__printf(3, 4) bool is_int(long long got, long long want, const char *fmt, ...);
__printf(3, 4) bool is_uint(unsigned long long got, unsigned long long want,
			    const char *fmt, ...);
__printf(3, 4) bool is_ptr(const void *got, const void *want, const char *fmt, ...);
__printf(3, 4) bool is_str(const char *got, const char *want, const char *fmt, ...);
__printf(1, 2) void diag(const char *fmt, ...);
void skip(int n, const char *why);
void todo_start(const char *why);
void todo_end(void);
__attribute__((noreturn)) __printf(1, 2) void bail_out(const char *fmt, ...);

/*
 * Run @fn(@arg) in a forked child with WARN output silenced and stderr
 * discarded; the assertion passes if the child is killed by SIGABRT, which is
 * how BUG() ends. A child that returns, exits or dies differently fails.
 */
bool expect_bug(void (*fn)(void *), void *arg, const char *name);

/* Seconds a stress test should run: $STRESS_SECONDS, default @dflt. */
double stress_seconds(double dflt);
/* Monotonic clock in seconds / nanoseconds. */
double now_sec(void);
uint64_t now_ns(void);

#endif /* PINMM_TEST_TAP_H */
