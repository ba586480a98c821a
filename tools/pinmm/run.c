// SPDX-License-Identifier: MIT
/*
 * pinmm run FILE... [--backend pinmm|kernel|both] [--json] [-v]: one
 * scenario, two machines (docs/scenarios.md). Each scenario runs on each
 * backend; a row is one step with both verdicts and whether what they saw
 * agrees. Output is TAP (one test point per scenario, the table as comments)
 * or JSON. Exit 0 when every expectation held and every row both backends
 * ran agrees, 1 otherwise, 2 for bad input (nothing runs).
 */
#include "scenario.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern double scn_pinmm_boot_ns, scn_pinmm_shutdown_ns;
extern unsigned long scn_pinmm_boots;

/* ---- helpers for the backends --------------------------------------------- */

void scn_pass(struct scn_result *r, const char *fmt, ...)
{
	va_list ap;

	r->verdict = SV_PASS;
	va_start(ap, fmt);
	vsnprintf(r->obs, sizeof(r->obs), fmt, ap);
	va_end(ap);
	r->why[0] = '\0';
}

void scn_fail(struct scn_result *r, const char *obs, const char *fmt, ...)
{
	va_list ap;

	r->verdict = SV_FAIL;
	snprintf(r->obs, sizeof(r->obs), "%s", obs);
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

void scn_skip(struct scn_result *r, const char *fmt, ...)
{
	va_list ap;

	r->verdict = SV_SKIP;
	r->obs[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

bool scn_check_ret(const struct scn_step *st, int err, struct scn_result *r)
{
	const char *got = scn_errno_name(-err);

	if (-err == st->expect_err)
		scn_pass(r, "%s", got);
	else
		scn_fail(r, got, "expected %s", scn_errno_name(st->expect_err));
	return !err;
}

void scn_check_bytes(const struct scn_step *st, const unsigned char *buf, unsigned long len,
		     struct scn_result *r)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		if (buf[i] != buf[0])
			break;
	if (i == len && buf[0] == st->num) {
		scn_pass(r, "0x%02x", buf[0]);
		return;
	}
	if (i == len) {
		scn_fail(r, "", "expected 0x%02lx", st->num);
		snprintf(r->obs, sizeof(r->obs), "0x%02x", buf[0]);
		return;
	}
	/* mixed bytes: name the first two values and where they change */
	scn_fail(r, "", "expected 0x%02lx", st->num);
	snprintf(r->obs, sizeof(r->obs), "0x%02x..0x%02x@+%lu", buf[0], buf[i], i);
}

unsigned long scn_len(const struct scenario *s, const struct scn_step *st, int map)
{
	return st->len ? st->len : s->maps[map].size - st->at;
}

/* ---- the command ------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pinmm run FILE... [--backend pinmm|kernel|both] [--json] [-v] [-j N]\n"
		"  runs each scenario (docs/scenarios.md) on pinmm, on the live kernel, or both,\n"
		"  and prints a verdict table and TAP; exit 0 all held and agreed, 1 not, 2 bad input\n"
		"  --backend B   pinmm (default), kernel, or both\n"
		"  --json        one JSON document instead of TAP\n"
		"  -v            every step in the table, not only the judged ones\n"
		"  -j, --jobs N  pinmm scenarios run in N child processes at once, one machine\n"
		"                each (default 4; 1: one after the other in this process)\n"
		"  --probe       say whether the kernel backend can run here (exit 0) or why not (1)\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void json_str(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(o, "\\%c", c);
		else if (c < 0x20)
			fprintf(o, "\\u%04x", c);
		else
			fputc(c, o);
	}
	fputc('"', o);
}

static const char *verdict_name(enum scn_verdict v)
{
	return v == SV_PASS ? "pass" : v == SV_FAIL ? "fail" : "skip";
}

static void cell(char *dst, size_t n, const struct scn_result *r, bool ran)
{
	if (!ran)
		snprintf(dst, n, "-");
	else if (r->verdict == SV_SKIP)
		snprintf(dst, n, "skip");
	else if (r->verdict == SV_FAIL)
		snprintf(dst, n, "FAIL:%s", r->obs);
	else
		snprintf(dst, n, "%s", r->obs);
}

/* Does this step need what the kernel backend gets from io_uring? */
static bool needs_io_uring(const struct scn_step *st)
{
	return st->op == SK_REGISTER || st->op == SK_RDMA ||
	       (st->op == SK_PIN && (st->num & (PF_WRITE | PF_LONGTERM)) == (PF_WRITE | PF_LONGTERM));
}

#define NR_BACKENDS 2
#define MAX_JOBS 64

/* The pinmm backend's verdicts on one scenario, made in a child process. */
struct prerun {
	int e;
	char why[512];
	struct scn_result *res;
};

struct prerun_head {
	int e;
	char why[512];
	double boot_ns, shutdown_ns;
	unsigned long boots;
};

/*
 * One child per scenario: it boots its own machine, runs the scenario and
 * writes its verdicts to a memfd. Most of a scenario's time is the machine's
 * shutdown waiting for threads and RCU, so @jobs of them overlap well even
 * on two CPUs. A child that dies fails its scenario, not the run. A machine
 * with 1 GiB pages is GiBs of frames (tens of MB of struct pages): at most
 * one of those runs at a time.
 */
static int prerun_pinmm(struct scenario *scn, int nscn, int jobs, struct prerun *pr)
{
	struct { pid_t pid; int fd, idx; } slot[MAX_JOBS];
	int next = 0, running = 0, running_gig = 0;

	memset(slot, 0, sizeof(slot));
	for (int i = 0; i < nscn; i++) {
		pr[i].res = calloc((size_t)scn[i].nr_steps + 1, sizeof(*pr[i].res));
		if (!pr[i].res)
			return -ENOMEM;
		for (int k = 0; k < scn[i].nr_steps; k++)
			scn_skip(&pr[i].res[k], "not run");
		pr[i].e = -ECHILD;
		snprintf(pr[i].why, sizeof(pr[i].why), "%s: the pinmm worker died", scn[i].path);
	}
	fflush(NULL);
	while (next < nscn || running) {
		struct prerun_head h;
		int status, j;
		pid_t pid;

		while (running < jobs && next < nscn) {
			int fd, i = next;

			if (scn_gigantic_pages(&scn[i]) && running_gig)
				break;	/* waits for the other big machine */
			next++;
			if (scn[i].skip[0]) {
				pr[i].e = 0;
				pr[i].why[0] = '\0';
				continue;
			}
			fd = memfd_create("pinmm-run", 0);
			if (fd < 0)
				return -errno;
			pid = fork();
			if (pid < 0) {
				close(fd);
				return -errno;
			}
			if (!pid) {
				/* count this child's machine only, not what the parent summed so far */
				scn_pinmm_boot_ns = scn_pinmm_shutdown_ns = 0;
				scn_pinmm_boots = 0;
				memset(&h, 0, sizeof(h));
				h.e = scn_backend_pinmm.run(&scn[i], pr[i].res, h.why, sizeof(h.why));
				h.boot_ns = scn_pinmm_boot_ns;
				h.shutdown_ns = scn_pinmm_shutdown_ns;
				h.boots = scn_pinmm_boots;
				if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
				    write(fd, pr[i].res, (size_t)scn[i].nr_steps * sizeof(*pr[i].res)) !=
				    (ssize_t)((size_t)scn[i].nr_steps * sizeof(*pr[i].res)))
					_exit(3);
				fflush(NULL);
				_exit(0);
			}
			for (j = 0; slot[j].pid; j++)
				;
			slot[j].pid = pid;
			slot[j].fd = fd;
			slot[j].idx = i;
			running++;
			running_gig += !!scn_gigantic_pages(&scn[i]);
		}
		if (!running)
			break;
		pid = waitpid(-1, &status, 0);
		if (pid < 0)
			return -errno;
		for (j = 0; j < MAX_JOBS && slot[j].pid != pid; j++)
			;
		if (j == MAX_JOBS)
			continue;
		running--;
		running_gig -= !!scn_gigantic_pages(&scn[slot[j].idx]);
		if (WIFEXITED(status) && !WEXITSTATUS(status) &&
		    pread(slot[j].fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h)) {
			size_t n = (size_t)scn[slot[j].idx].nr_steps * sizeof(*pr[0].res);

			if (pread(slot[j].fd, pr[slot[j].idx].res, n, sizeof(h)) == (ssize_t)n) {
				pr[slot[j].idx].e = h.e;
				memcpy(pr[slot[j].idx].why, h.why, sizeof(h.why));
				scn_pinmm_boot_ns += h.boot_ns;
				scn_pinmm_shutdown_ns += h.shutdown_ns;
				scn_pinmm_boots += h.boots;
			}
		} else {
			snprintf(pr[slot[j].idx].why, sizeof(pr[0].why),
				 "%s: the pinmm worker died (status %#x)", scn[slot[j].idx].path, status);
		}
		close(slot[j].fd);
		slot[j].pid = 0;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "probe", no_argument, NULL, 'P' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct scn_backend *be[NR_BACKENDS] = { NULL, NULL };
	bool json = false, verbose = false, probe = false, any_bad = false;
	struct scenario *scn;
	struct scn_result *res[NR_BACKENDS];
	double t_backend[NR_BACKENDS] = { 0 };
	int nscn, c, nfail = 0, ndisagree = 0, nskip = 0, jobs = 4;
	struct prerun *pr = NULL;
	char err[512];

	be[0] = &scn_backend_pinmm;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+vhj:", longopts, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case 'j':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > MAX_JOBS) {
				fprintf(stderr, "pinmm run: bad --jobs '%s' (1 to %d)\n", optarg,
					MAX_JOBS);
				return 2;
			}
			jobs = (int)v;
			break;
		case 'b':
			if (!strcmp(optarg, "pinmm")) {
				be[0] = &scn_backend_pinmm;
				be[1] = NULL;
			} else if (!strcmp(optarg, "kernel")) {
				be[0] = NULL;
				be[1] = &scn_backend_kernel;
			} else if (!strcmp(optarg, "both")) {
				be[0] = &scn_backend_pinmm;
				be[1] = &scn_backend_kernel;
			} else {
				fprintf(stderr, "pinmm run: bad --backend '%s' (pinmm, kernel or both)\n",
					optarg);
				return 2;
			}
			break;
		case 'J': json = true; break;
		case 'v': verbose = true; break;
		case 'P': probe = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (probe) {
		const char *why = scn_backend_kernel.unavailable();

		printf("%s\n", why ? why : "kernel backend available");
		return why ? 1 : 0;
	}
	nscn = argc - optind;
	if (nscn <= 0) {
		fprintf(stderr, "pinmm run: no scenario files\n");
		usage(stderr);
		return 2;
	}
	scn = calloc((size_t)nscn, sizeof(*scn));
	if (!scn)
		return 2;
	/* parse everything first: bad input runs nothing */
	for (int i = 0; i < nscn; i++)
		if (scn_load(argv[optind + i], &scn[i], err, sizeof(err))) {
			fprintf(stderr, "pinmm run: %s\n", err);
			for (int j = 0; j <= i; j++)
				scn_free(&scn[j]);
			free(scn);
			return 2;
		}
	if (be[1]) {
		const char *why = be[1]->unavailable();

		for (int i = 0; why && i < nscn; i++)
			for (int k = 0; k < scn[i].nr_steps; k++)
				if (!scn[i].skip[0] && needs_io_uring(&scn[i].steps[k])) {
					fprintf(stderr, "pinmm run: %s:%d:%d: %s needs io_uring on the live "
						"kernel, which is unavailable here: %s\n", scn[i].path,
						scn[i].steps[k].line, scn[i].steps[k].col,
						scn_op_name(scn[i].steps[k].op), why);
					any_bad = true;
					break;
				}
		if (!any_bad && why) {
			fprintf(stderr, "pinmm run: the kernel backend cannot run here: %s\n", why);
			any_bad = true;
		}
		if (any_bad) {
			for (int i = 0; i < nscn; i++)
				scn_free(&scn[i]);
			free(scn);
			return 2;
		}
	}

	if (be[0] && jobs > 1) {
		double t0 = now_s();
		int e;

		pr = calloc((size_t)nscn, sizeof(*pr));
		e = pr ? prerun_pinmm(scn, nscn, jobs, pr) : -ENOMEM;
		t_backend[0] = now_s() - t0;
		for (int i = 0; e >= 0 && i < nscn; i++)
			if (pr[i].e == -EINVAL || pr[i].e == -ENOMEM)
				e = pr[i].e;	/* a machine that cannot boot: bad input */
		if (e < 0) {
			for (int i = 0; i < nscn; i++)
				if (pr && pr[i].e && pr[i].why[0] && (pr[i].e == -EINVAL || pr[i].e == -ENOMEM))
					fprintf(stderr, "pinmm run: %s\n", pr[i].why);
			if (e != -EINVAL && e != -ENOMEM)
				fprintf(stderr, "pinmm run: running the pinmm backend: %s\n", strerror(-e));
			return 2;
		}
	}
	if (json)
		printf("{\"backends\":[%s%s%s],\"scenarios\":[", be[0] ? "\"pinmm\"" : "",
		       be[0] && be[1] ? "," : "", be[1] ? "\"kernel\"" : "");
	else
		printf("1..%d\n# %-30s %-44s %-14s %-14s %s\n", nscn, "scenario", "step",
		       be[0] ? "pinmm" : "", be[1] ? "kernel" : "", be[0] && be[1] ? "agree" : "");
	for (int i = 0; i < nscn; i++) {
		struct scenario *s = &scn[i];
		bool ran[NR_BACKENDS] = { false, false }, failed = false, disagreed = false;
		char why_run[NR_BACKENDS][512] = { "", "" };

		for (int b = 0; b < NR_BACKENDS; b++) {
			res[b] = calloc((size_t)s->nr_steps + 1, sizeof(*res[b]));
			if (!res[b])
				return 2;
			for (int k = 0; k < s->nr_steps; k++)
				scn_skip(&res[b][k], "not run");
		}
		for (int b = 0; b < NR_BACKENDS && !s->skip[0]; b++) {
			double t0;
			int e;

			if (!be[b])
				continue;
			if (b == 0 && pr) {
				/* made already, in a child */
				memcpy(res[0], pr[i].res, (size_t)s->nr_steps * sizeof(*res[0]));
				memcpy(why_run[0], pr[i].why, sizeof(why_run[0]));
				e = pr[i].e;
			} else {
				t0 = now_s();
				e = be[b]->run(s, res[b], why_run[b], sizeof(why_run[b]));
				t_backend[b] += now_s() - t0;
			}
			if (e == -EINVAL || e == -ENOMEM) {
				/* the machine could not be made: bad input, nothing more runs */
				fprintf(stderr, "pinmm run: %s\n", why_run[b]);
				return 2;
			}
			ran[b] = !e;
			if (e)
				failed = true;
		}
		if (json) {
			printf("%s{\"file\":", i ? "," : "");
			json_str(stdout, s->path);
			printf(",\"title\":");
			json_str(stdout, s->title);
			if (s->skip[0]) {
				printf(",\"skip\":");
				json_str(stdout, s->skip);
			}
			printf(",\"steps\":[");
		}
		for (int k = 0, first = 1; k < s->nr_steps && !s->skip[0]; k++) {
			const struct scn_step *st = &s->steps[k];
			struct scn_result *r0 = &res[0][k], *r1 = &res[1][k];
			bool both = ran[0] && ran[1] && r0->verdict != SV_SKIP && r1->verdict != SV_SKIP;
			bool agree = !both || !strcmp(r0->obs, r1->obs);
			bool notrun = (!ran[0] || !strcmp(r0->why, "not run")) &&
				      (!ran[1] || !strcmp(r1->why, "not run"));
			bool fail = (ran[0] && r0->verdict == SV_FAIL) || (ran[1] && r1->verdict == SV_FAIL);
			char c0[SCN_OBS_LEN + 8], c1[SCN_OBS_LEN + 8];

			if (notrun && r0->verdict == SV_SKIP && r1->verdict == SV_SKIP)
				continue;
			failed |= fail;
			disagreed |= !agree;
			if (json) {
				printf("%s{\"line\":%d,\"step\":", first ? "" : ",", st->line);
				json_str(stdout, st->text);
				for (int b = 0; b < NR_BACKENDS; b++) {
					if (!ran[b])
						continue;
					printf(",\"%s\":{\"verdict\":\"%s\",\"obs\":", be[b]->name,
					       verdict_name(res[b][k].verdict));
					json_str(stdout, res[b][k].obs);
					printf(",\"why\":");
					json_str(stdout, res[b][k].why);
					printf("}");
				}
				if (ran[0] && ran[1])
					printf(",\"agree\":%s", both ? (agree ? "true" : "false") : "null");
				printf("}");
				first = 0;
				continue;
			}
			if (!verbose && !fail && agree && !scn_is_expectation(st->op) && !st->has_expect &&
			    r0->verdict != SV_SKIP && r1->verdict != SV_SKIP)
				continue;
			cell(c0, sizeof(c0), r0, ran[0]);
			cell(c1, sizeof(c1), r1, ran[1]);
			printf("# %-30.30s L%-3d %-39.39s %-14s %-14s %s\n", s->title, st->line, st->text,
			       ran[0] ? c0 : "", ran[1] ? c1 : "",
			       ran[0] && ran[1] ? (both ? (agree ? "yes" : "NO") : "-") : "");
			for (int b = 0; b < NR_BACKENDS; b++)
				if (ran[b] && res[b][k].verdict != SV_PASS && res[b][k].why[0])
					printf("#     %s: %s\n", be[b]->name, res[b][k].why);
		}
		for (int b = 0; b < NR_BACKENDS; b++)
			if (be[b] && why_run[b][0])
				fprintf(stderr, "pinmm run: %s: %s\n", be[b]->name, why_run[b]);
		if (json) {
			printf("],\"ok\":%s,\"agree\":%s}", failed ? "false" : "true",
			       disagreed ? "false" : "true");
		} else if (s->skip[0]) {
			printf("ok %d - %s # SKIP %s\n", i + 1, s->title, s->skip);
		} else {
			printf("%sok %d - %s (%s)%s%s\n", failed || disagreed ? "not " : "", i + 1,
			       s->title, s->path, failed ? ": an expectation failed" : "",
			       disagreed ? ": the backends disagree" : "");
		}
		nskip += !!s->skip[0];
		nfail += failed;
		ndisagree += disagreed;
		for (int b = 0; b < NR_BACKENDS; b++)
			free(res[b]);
		fflush(stdout);
	}
	if (json) {
		printf("],\"summary\":{\"scenarios\":%d,\"failed\":%d,\"disagree\":%d,\"skipped\":%d",
		       nscn, nfail, ndisagree, nskip);
		if (be[0])
			printf(",\"pinmm_jobs\":%d,\"pinmm_seconds\":%.3f,\"pinmm_boot_ms\":%.3f,"
			       "\"pinmm_shutdown_ms\":%.3f", pr ? jobs : 1, t_backend[0],
			       scn_pinmm_boots ? scn_pinmm_boot_ns / 1e6 / (double)scn_pinmm_boots : 0,
			       scn_pinmm_boots ? scn_pinmm_shutdown_ns / 1e6 / (double)scn_pinmm_boots : 0);
		if (be[1])
			printf(",\"kernel_seconds\":%.3f", t_backend[1]);
		printf("}}\n");
	} else {
		printf("# %d scenarios: %d failed, %d disagree, %d skipped\n", nscn, nfail, ndisagree,
		       nskip);
		if (be[0] && scn_pinmm_boots)
			printf("# pinmm: %.3f s for %d scenarios (%d at a time); per scenario boot %.2f ms + "
			       "shutdown %.2f ms\n", t_backend[0], nscn, pr ? jobs : 1,
			       scn_pinmm_boot_ns / 1e6 / (double)scn_pinmm_boots,
			       scn_pinmm_shutdown_ns / 1e6 / (double)scn_pinmm_boots);
		if (be[1])
			printf("# kernel: %.3f s for %d scenarios\n", t_backend[1], nscn);
	}
	for (int i = 0; pr && i < nscn; i++)
		free(pr[i].res);
	free(pr);
	for (int i = 0; i < nscn; i++)
		scn_free(&scn[i]);
	free(scn);
	return nfail || ndisagree ? 1 : 0;
}
