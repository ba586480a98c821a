// SPDX-License-Identifier: MIT
/*
 * pinmm run as a command (issue 11): its verdicts and exit status.
 *  - a scenario whose expectations hold exits 0 and prints "ok";
 *  - the comparison can fail: a deliberately wrong expectation (data, a
 *    return code, a counter) is reported "not ok" with what was seen, exit 1;
 *  - bad input (unknown step, missing argument, undefined mapping, a size
 *    that does not fit, an unknown backend, the kernel backend without
 *    io_uring) is a message naming file:line, exit 2, and nothing runs;
 *  - --json says the same for machines;
 *  - where the live kernel can be driven (root, io_uring), both backends
 *    agree on a small scenario.
 * Each case runs cmd_run() in a child with its output captured.
 */
#include "../lib/machine.h"
#include "../../tools/pinmm/scenario.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/pinmm-run-test-XXXXXX";
static char out[65536], err[16384];

static const char *scn(const char *name, const char *text)
{
	static char path[8][256];
	static int n;
	char *p = path[n++ % 8];
	FILE *f;

	snprintf(p, 256, "%s/%s", dir, name);
	f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	return p;
}

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Run "pinmm run ARGS..." in a child; return its exit status, output in out/err. */
static int run(const char *a0, const char *a1, const char *a2, const char *a3)
{
	char o[300], e[300];
	int status;
	pid_t pid;

	snprintf(o, sizeof(o), "%s/out", dir);
	snprintf(e, sizeof(e), "%s/err", dir);
	fflush(NULL);
	pid = fork();
	if (!pid) {
		char *argv[] = { "run", (char *)a0, (char *)a1, (char *)a2, (char *)a3, NULL };
		int argc = 1;

		while (argv[argc])
			argc++;
		if (!freopen(o, "w", stdout) || !freopen(e, "w", stderr))
			_exit(99);
		status = cmd_run(argc, argv);
		fflush(NULL);
		_exit(status);
	}
	waitpid(pid, &status, 0);
	slurp(o, out, sizeof(out));
	slurp(e, err, sizeof(err));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char good[] =
	"map buf anon 16K\n"
	"write buf 0x11\n"
	"fork kid\n"
	"register r buf\n"
	"write buf 0x22\n"
	"expect device r 0x22\n"
	"block old\n"
	"  expect data buf 0x11\n"
	"end\n"
	"in kid old\n"
	"counters\n"
	"unpin r\n"
	"expect released 4\n";

static void test_pass_and_fail(void)
{
	const char *g = scn("good.scn", good);
	const char *wrong_data = scn("wrong-data.scn", "map a anon 4K\nwrite a 0x11\nexpect data a 0x22\n");
	const char *wrong_ret = scn("wrong-ret.scn", "file f disk\nmap m shared-file 4K file=f\n"
				    "register r m\n");
	const char *wrong_count = scn("wrong-count.scn", "map a anon 8K\nwrite a 1\ncounters\n"
				      "dio-read a 0x42\nexpect acquired 3\n");

	is_int(run(g, NULL, NULL, NULL), 0, "a scenario whose expectations hold exits 0");
	if (!ok(strstr(out, "ok 1 - good.scn") && !strstr(out, "not ok"), "... and prints ok"))
		diag("%s", out);
	ok(strstr(out, "boot") && strstr(out, "shutdown"), "... and the boot/shutdown time");

	is_int(run(wrong_data, NULL, NULL, NULL), 1,
	       "a deliberately wrong data expectation fails the run (exit 1)");
	if (!ok(strstr(out, "not ok 1") && strstr(out, "FAIL:0x11") && strstr(out, "expected 0x22"),
		"... reported not ok with what the mapping held"))
		diag("%s", out);
	is_int(run(wrong_ret, NULL, NULL, NULL), 1,
	       "a long-term R/W pin of a shared disk file, expected to work, fails the run");
	ok(strstr(out, "FAIL:EFAULT"), "... reported with the EFAULT it got");
	is_int(run(wrong_count, NULL, NULL, NULL), 1, "a wrong nr_foll_pin_acquired delta fails the run");
	ok(strstr(out, "FAIL:2"), "... reported with the 2 pins O_DIRECT took for 8K");
	is_int(run("-j", "1", g, NULL), 0, "-j 1: the same verdicts made in this process");
	ok(strstr(out, "ok 1 - good.scn") && strstr(out, "(1 at a time)"), "... one at a time");
	is_int(run("-j", "0", g, NULL), 2, "--jobs 0 is bad input");
	is_int(run("-j", "2x", g, NULL), 2, "--jobs 2x is bad input");
	is_int(run(g, wrong_data, NULL, NULL), 1, "one failing scenario among several fails the run");
	ok(strstr(out, "ok 1 - good.scn") && strstr(out, "not ok 2"), "... the good one still ok");
}

static void test_json(void)
{
	const char *wrong = scn("wrong-json.scn", "map a anon 4K\nwrite a 0x11\nexpect data a 0x22\n");

	is_int(run("--json", wrong, NULL, NULL), 1, "--json: a failure still exits 1");
	if (!ok(out[0] == '{' && strstr(out, "\"ok\":false") && strstr(out, "\"verdict\":\"fail\"") &&
		strstr(out, "\"obs\":\"0x11\"") && strstr(out, "\"pinmm_seconds\""),
		"--json: one document with the verdict, the observation and the time"))
		diag("%s", out);
}

static void test_bad_input(void)
{
	static const struct { const char *name, *text, *where; } bad[] = {
		{ "unknown.scn", "map a anon 4K\nfrob a\n", "unknown.scn:2:1:" },
		{ "missing.scn", "map a anon 4K\nwrite a\n", "missing.scn:2:" },
		{ "undefined.scn", "map a anon 4K\nwrite b 1\n", "undefined.scn:2:7:" },
		{ "toobig.scn", "map a anon 4K\nmap b anon 64M\n", "toobig.scn:2:12:" },
	};
	const char *g = scn("good2.scn", good);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = scn(bad[i].name, bad[i].text);

		is_int(run(g, p, NULL, NULL), 2, "bad input %s exits 2", bad[i].name);
		if (!ok(strstr(err, bad[i].where) && !strstr(out, "ok 1"),
			"... names %s and runs nothing, not even the good scenario before it",
			bad[i].where))
			diag("%s", err);
	}
	is_int(run("--backend", "qemu", g, NULL), 2, "an unknown backend exits 2");
	is_int(run("/nonexistent/x.scn", NULL, NULL, NULL), 2, "a missing file exits 2");
	setenv("PINMM_RUN_NO_IO_URING", "1", 1);
	is_int(run("--backend", "kernel", g, NULL), 2, "the kernel backend without io_uring exits 2");
	if (!ok(strstr(err, "good2.scn:4:1: register needs io_uring"),
		"... naming the first step that needs it"))
		diag("%s", err);
	unsetenv("PINMM_RUN_NO_IO_URING");
}

/*
 * The 1 GiB pool on the kernel side (hugepages-1048576kB/nr_hugepages, here a
 * stand-in file): with no such pool every 1 GiB row is skipped with the
 * reason and the run still passes; with one, the old value is recorded,
 * raised by what the scenario needs and written back afterwards.
 */
static void test_kernel_gigantic(void)
{
	const char *g = scn("giga.scn", "map a hugetlb 1G pagesize=1G\nwrite a 0x11 len=4K\n"
			    "expect data a 0x11 len=4K\n");
	char fake[300], text[64];
	FILE *f;

	setenv("PINMM_RUN_GIGANTIC_SYSFS", "/nonexistent/nr_hugepages", 1);
	is_int(run("--backend", "kernel", g, NULL), 0,
	       "no 1 GiB pool on the kernel: the run passes, its 1 GiB rows skipped");
	if (!ok(strstr(out, "skip") && strstr(out, "no 1 GiB hugetlb pool on this kernel"),
		"... each with the reason"))
		diag("%s", out);
	snprintf(fake, sizeof(fake), "%s/nr_hugepages", dir);
	f = fopen(fake, "w");
	fputs("3\n", f);
	fclose(f);
	setenv("PINMM_RUN_GIGANTIC_SYSFS", fake, 1);
	/* the stand-in takes any value, the real pool gets nothing: only the restore is checked */
	run("--backend", "kernel", g, NULL);
	slurp(fake, text, sizeof(text));
	is_str(text, "3\n", "the pool's old value (3) is written back after the scenario");
	unsetenv("PINMM_RUN_GIGANTIC_SYSFS");
}

static void test_kernel(void)
{
	/* no counter rows: /proc/vmstat is global, and other processes pin too */
	const char *g = scn("good3.scn", "map buf anon 16K\nwrite buf 0x11\nfork kid\n"
			    "register r buf\nwrite buf 0x22\nexpect device r 0x22\n"
			    "block old\n  expect data buf 0x11\nend\nin kid old\nunpin r\n"
			    "expect vmpin 0\n");

	if (scn_backend_kernel.unavailable()) {
		skip(2, scn_backend_kernel.unavailable());
		return;
	}
	is_int(run("--backend", "both", g, NULL), 0,
	       "the live kernel and pinmm agree on a registered buffer across fork");
	if (!ok(strstr(out, "yes") && !strstr(out, " NO"), "... row by row"))
		diag("%s", out);
	test_kernel_gigantic();
}

int main(void)
{
	plan_no_plan();
	if (!mkdtemp(dir))
		return 1;
	test_pass_and_fail();
	test_json();
	test_bad_input();
	test_kernel();
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			diag("could not remove %s", dir);
	}
	return done_testing();
}
