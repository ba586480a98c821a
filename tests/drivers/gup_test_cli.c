// SPDX-License-Identifier: MIT
/*
 * pinmm bench end to end: the gup_test CLI's output over the gup_test driver,
 * as tools/testing/selftests/mm/gup_test.c prints it on Linux:
 *
 *   GT-CLI  one "<COMMAND>: Time: get:<us> put:<us> us" line per repeat and
 *           thread, ", truncated (size: <bytes>)" when the driver covered less
 *           than the mapping, one "ok <n> ioctl status 0" per thread;
 *           -n 0 pins nothing and reports size 0 (no figure is made of it);
 *           -c prints "DUMP_USER_PAGES_TEST: done" and dumps the pages asked
 *           (0-based on the command line), -p pinned.
 *
 * Each run boots and shuts down its own machine (cmd_bench does), and fails
 * if pins do not balance or a frame is left at shutdown.
 *
 * PINMM_TEST_CONCURRENT: -j 2 runs two threads of one mm through the driver.
 */
#include "../lib/machine.h"
#include "../../tools/pinmm/pinmm.h"

#include <pinmm/compiler.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run {
	int status;
	char *out, *err;
};

static char *slurp(FILE *f)
{
	long n;
	char *buf;

	fflush(f);
	n = ftell(f);
	buf = calloc(1, (size_t)n + 1);
	rewind(f);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		bail_out("reading the captured output");
	return buf;
}

/* `pinmm <words>` through main()'s path, stdout and stderr kept. */
static struct run run_pinmm(const char *const *words, int n)
{
	char *argv[32];
	struct tool_opts to;
	struct run r;
	FILE *out = tmpfile();
	int saved, first;

	argv[0] = strdup("pinmm");
	for (int i = 0; i < n; i++)
		argv[i + 1] = strdup(words[i]);
	argv[n + 1] = NULL;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (!out || saved < 0 || dup2(fileno(out), STDOUT_FILENO) < 0)
		bail_out("cannot capture stdout");
	capture_stderr_begin();
	first = tool_parse_args(&to, n + 1, argv);
	r.status = first < 0 ? 2 : cmd_bench(&to, n + 1 - first, argv + first);
	fflush(stdout);
	r.err = capture_stderr_end();
	dup2(saved, STDOUT_FILENO);
	close(saved);
	r.out = slurp(out);
	fclose(out);
	for (int i = 0; i <= n; i++)
		free(argv[i]);
	return r;
}

#define RUN(...) ({							\
	static const char *const __w[] = { __VA_ARGS__ };		\
	run_pinmm(__w, (int)ARRAY_SIZE(__w));				\
})

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

int main(void)
{
	struct run r;

	plan_no_plan();

	r = RUN("bench", "-a", "-m", "2", "-n", "0", "-r", "2");
	is_int(r.status, 0, "GT-CLI: -n 0 is not an error (exit 0)");
	is_int(count(r.out, "PIN_FAST_BENCHMARK: Time: get:"), 2,
	       "GT-CLI: -n 0 -r 2: one Time line per repeat");
	is_int(count(r.out, ", truncated (size: 0)\n"), 2,
	       "GT-CLI: -n 0: each repeat pinned nothing and reports size 0, as Linux's does");
	ok(strstr(r.out, "ok 1 ioctl status 0\n") && !strstr(r.out, "not ok"),
	   "GT-CLI: -n 0: the ioctl status is 0");
	ok(strstr(r.out, "pin ns/page: pinmm n/a kernel n/a ratio n/a\n"),
	   "GT-CLI: -n 0: no per-page figure is made from zero pages");
	run_free(&r);

	r = RUN("bench", "-a", "-m", "2", "-n", "512", "-r", "2");
	is_int(r.status, 0, "GT-CLI: -a -n 512 exits 0");
	is_int(count(r.out, "PIN_FAST_BENCHMARK: Time: get:"), 2,
	       "GT-CLI: -a -r 2: one Time line per repeat");
	ok(!strstr(r.out, "truncated"), "GT-CLI: -a over a populated mapping covers all of it");
	ok(strstr(r.out, "# PIN_FAST_BENCHMARK 4KiB: best of 2: pin ") &&
	   strstr(r.out, "(512 pages, 512 per call, 1 thread(s))"),
	   "GT-CLI: the summary names the command, the pages and the chunking");
	ok(strstr(r.out, "\npin ns/page: pinmm ") && !strstr(r.out, "pinmm n/a"),
	   "GT-CLI: the last line carries pinmm's pin figure");
	run_free(&r);

	/*
	 * Not -L: one thread's migration can fail on a page the other holds
	 * pinned, ending its walk early, as it can on Linux.
	 */
	r = RUN("bench", "-a", "-m", "2", "-n", "3", "-j", "2");
	is_int(r.status, 0, "GT-CLI: -a -j 2 exits 0");
	is_int(count(r.out, "PIN_FAST_BENCHMARK: Time: get:"), 2,
	       "GT-CLI: -j 2: one Time line per thread");
	ok(strstr(r.out, "ok 1 ioctl status 0\n") && strstr(r.out, "ok 2 ioctl status 0\n") &&
	   !strstr(r.out, "not ok"), "GT-CLI: one ok line per thread");
	ok(!strstr(r.out, "truncated"), "GT-CLI: 3 pages per call over 512: all covered, "
	   "by both threads");
	run_free(&r);

	r = RUN("bench", "-L", "-m", "2", "-n", "3");
	is_int(r.status, 0, "GT-CLI: -L exits 0 (no page failed the driver's checks)");
	ok(strstr(r.out, "PIN_LONGTERM_BENCHMARK: Time: get:") && !strstr(r.out, "truncated"),
	   "GT-CLI: -L: 3 pages per call over 512, all pinned long-term");
	run_free(&r);

	r = RUN("bench", "-c", "-p", "-m", "2", "0", "5", "600");
	is_int(r.status, 0, "GT-CLI: -c -p exits 0");
	ok(strstr(r.out, "DUMP_USER_PAGES_TEST: done\n") && !strstr(r.out, "Time:"),
	   "GT-CLI: -c prints 'done', no times");
	ok(strstr(r.err, "gup_test: page #0 ") && strstr(r.err, "gup_test: page #5 "),
	   "GT-CLI: -c 0 5 dumps pages 0 and 5");
	ok(strstr(r.err, "which_pages[2] = 601 is past"),
	   "GT-CLI: -c 600 over 512 pages is reported, not dumped");
	is_int(count(r.err, "maybe DMA-pinned"), 2, "GT-CLI: -p: both pages were pinned when dumped");
	run_free(&r);

	r = RUN("bench", "-c", "-m", "2");
	ok(strstr(r.err, "gup_test: page #0 ") && !strstr(r.err, "maybe DMA-pinned"),
	   "GT-CLI: -c alone dumps page 0, referenced, not pinned");
	run_free(&r);

	r = RUN("bench", "-U", "-m", "2", "-n", "600", "-W");
	is_int(r.status, 0, "GT-CLI: -U with more pages per call than the mapping exits 0");
	ok(strstr(r.out, "GUP_BASIC_TEST: Time: get:") && !strstr(r.out, "truncated"),
	   "GT-CLI: ... the one call is cut at the end and covers everything");
	run_free(&r);
	return done_testing();
}
