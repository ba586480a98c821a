// SPDX-License-Identifier: MIT
/*
 * BUG() and WARN*(): BUG() ends the process with SIGABRT; WARN_ON_ONCE()
 * prints once per call site but counts every hit. Single-threaded.
 */
#include "helpers.h"

#include <pinmm/bug.h>

#include <stdio.h>
#include <string.h>

/* Run @fn with stderr sent to a file; return how many times @needle was printed. */
static int count_printed(void (*fn)(void), const char *needle)
{
	char line[512];
	FILE *f = tmpfile();
	int saved, n = 0;

	if (!f)
		bail_out("tmpfile failed");
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static int once_results;

static void warn_once_three_times(void)
{
	for (int i = 0; i < 3; i++)
		once_results += WARN_ON_ONCE(i >= 0);
}

static void warn_twice(void)
{
	for (int i = 0; i < 2; i++)
		WARN_ON(i < 10);
}

static void warn_once_msg_twice(void)
{
	for (int i = 0; i < 2; i++)
		WARN_ONCE(true, "the message %d", 42);
}

static void warn_quietly(void)
{
	bool old = pinmm_warn_set_quiet(true);

	WARN_ON(1);
	pinmm_warn_set_quiet(old);
}

static void call_bug(void *arg)
{
	(void)arg;
	BUG();
}

static void call_bug_on(void *arg)
{
	BUG_ON(arg != NULL);
}

static void call_vm_bug_on(void *arg)
{
	VM_BUG_ON(arg != NULL);
}

static void call_nothing_wrong(void *arg)
{
	BUG_ON(arg != NULL);
	VM_BUG_ON(arg != NULL);
}

int main(void)
{
	unsigned long before;
	int x = 1;

	plan(14);

	before = pinmm_warn_count();
	is_int(count_printed(warn_once_three_times, "WARNING"), 1,
	       "bug: WARN_ON_ONCE() prints once per call site");
	is_uint(pinmm_warn_count() - before, 3, "bug: WARN_ON_ONCE() counts every hit (pinmm_warn_count)");
	is_int(once_results, 3, "bug: WARN_ON_ONCE() returns the condition on every hit");

	before = pinmm_warn_count();
	is_int(count_printed(warn_twice, "WARNING"), 2, "bug: WARN_ON() prints every hit");
	is_uint(pinmm_warn_count() - before, 2, "bug: WARN_ON() counts every hit");
	ok(!WARN_ON(x == 0) && !WARN_ON_ONCE(x == 0), "bug: a false WARN_ON*() returns false");
	is_uint(pinmm_warn_count() - before, 2, "bug: a false WARN_ON*() is not counted");

	is_int(count_printed(warn_once_msg_twice, "the message 42"), 1,
	       "bug: WARN_ONCE() prints its message once");
	before = pinmm_warn_count();
	is_int(count_printed(warn_quietly, "WARNING"), 0,
	       "bug: pinmm_warn_set_quiet() silences WARN output");
	is_uint(pinmm_warn_count() - before, 1, "bug: a silenced WARN is still counted");

	expect_bug(call_bug, NULL, "bug: BUG() kills the process (death test: SIGABRT)");
	expect_bug(call_bug_on, &x, "bug: BUG_ON(true) kills the process");
	expect_bug(call_vm_bug_on, &x, "bug: VM_BUG_ON(true) kills the process in CONFIG_DEBUG_VM builds");
	call_nothing_wrong(NULL);
	ok(true, "bug: BUG_ON(false) and VM_BUG_ON(false) return normally");
	return done_testing();
}
