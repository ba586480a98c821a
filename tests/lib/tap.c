// SPDX-License-Identifier: MIT
#include "tap.h"

#include <pinmm/bug.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int test_no;
static int failed;
static int planned = -1;
static const char *todo_why;

void plan(int n)
{
	planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

void plan_no_plan(void)
{
	planned = -1;
}

int done_testing(void)
{
	if (planned < 0)
		printf("1..%d\n", test_no);
	else if (planned != test_no)
		printf("# planned %d tests but ran %d\n", planned, test_no);
	fflush(stdout);
	return failed || (planned >= 0 && planned != test_no) ? 1 : 0;
}

static bool vreport(bool cond, const char *fmt, va_list ap)
{
	test_no++;
	printf("%sok %d - ", cond ? "" : "not ", test_no);
	vprintf(fmt, ap);
	if (todo_why)
		printf(" # TODO %s", todo_why);
	printf("\n");
	fflush(stdout);
	if (!cond && !todo_why)
		failed++;
	return cond;
}

bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cond, fmt, ap);
	va_end(ap);
	return cond;
}

#define REPORT(cond, fmt, ...)						\
	({								\
		va_list ap;						\
		bool __r;						\
		va_start(ap, fmt);					\
		__r = vreport(cond, fmt, ap);				\
		va_end(ap);						\
		if (!__r)						\
			diag(__VA_ARGS__);				\
		__r;							\
	})

bool is_int(long long got, long long want, const char *fmt, ...)
{
	return REPORT(got == want, fmt, "    got: %lld\n#   want: %lld", got, want);
}

bool is_uint(unsigned long long got, unsigned long long want, const char *fmt, ...)
{
	return REPORT(got == want, fmt, "    got: %llu (0x%llx)\n#   want: %llu (0x%llx)",
		      got, got, want, want);
}

bool is_ptr(const void *got, const void *want, const char *fmt, ...)
{
	return REPORT(got == want, fmt, "    got: %p\n#   want: %p", got, want);
}

bool is_str(const char *got, const char *want, const char *fmt, ...)
{
	bool same = got && want ? strcmp(got, want) == 0 : got == want;

	return REPORT(same, fmt, "    got: '%s'\n#   want: '%s'", got ? got : "(null)",
		      want ? want : "(null)");
}

void diag(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void skip(int n, const char *why)
{
	for (int i = 0; i < n; i++) {
		test_no++;
		printf("ok %d # skip %s\n", test_no, why);
	}
	fflush(stdout);
}

void todo_start(const char *why)
{
	todo_why = why;
}

void todo_end(void)
{
	todo_why = NULL;
}

void bail_out(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(255);
}

bool expect_bug(void (*fn)(void *), void *arg, const char *name)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		bail_out("fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		pinmm_warn_set_quiet(true);
		/* core dumps of expected deaths are noise */
		signal(SIGABRT, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		bail_out("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)
		return ok(true, "%s", name);
	ok(false, "%s", name);
	if (WIFEXITED(status))
		diag("    child exited with %d instead of BUG()", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		diag("    child died by signal %d instead of BUG()", WTERMSIG(status));
	return false;
}

double stress_seconds(double dflt)
{
	const char *s = getenv("STRESS_SECONDS");
	double v = s ? atof(s) : 0;

	return v > 0 ? v : dflt;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double now_sec(void)
{
	return now_ns() / 1e9;
}
