// SPDX-License-Identifier: MIT
/*
 * Bad input for the pinmm command (issue 13, "Bad input"): random and
 * truncated argument vectors through its two parsers, tool_parse_args()
 * (machine sizes, file directory, command) and bench_parse_opts() (the
 * kernel's gup_test flags), and the machine sizes they accept through
 * pinmm_boot(). The rules:
 *  - every vector ends in a command, --help, or an error — never a crash
 *    (ASan/UBSan watch each call in check-asan);
 *  - a number is whole and in range or refused: no "5x" read as 5, no size
 *    shifted past 64 bits into a small one, no thread count pthread_create()
 *    cannot meet;
 *  - a machine size that parses either boots and shuts down clean or is
 *    refused with -EINVAL (never a sum that wraps past the checks);
 *  - pinmm_parse_size() refuses what is not a size (empty, negative, a bad
 *    suffix, an overflow).
 */
#include "../lib/machine.h"
#include "../../tools/pinmm/pinmm.h"

#include <errno.h>
#include <pinmm/machine.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[] = {
	"-m", "--mem", "-M", "--movable", "-c", "--cma", "-p", "--pmem", "-f", "--file-dir",
	"-q", "--quiet", "-h", "--help", "--", "-", "--mem=", "--cma=1G", "-m1G",
	"demo", "bench", "vmstat", "zoneinfo", "buddyinfo", "pagetypeinfo", "meminfo", "nope",
	"-u", "-U", "-a", "-b", "-L", "-r", "-n", "-j", "-w", "-W", "-t", "-T", "-S", "-H", "-F",
	"--kernel", "-uaL", "-r3", "-j0", "-n-1", "-F0x100", "-cp", "4294967295", "4294967296",
	"1G", "256M", "128M", "64M", "2M", "0", "1", "-1", "4096", "64k", "1GiB", "2MB", "1.5G",
	"0x10M", "010M", "18446744073709551615", "17592186044414M", "17592186044417",
	"8589934592G", "99999999999999999999", "2147483648", "-2147483649", " 1G", "1G ", "1 G",
	"1Q", "G", "k", "", "0x", "1e9", "65G", "64G", "65536", "65537", "256", "257",
	"map", "-o", "--output", "--frames", "--text", "--example", "--output=",
};

static uint64_t rnd = 0xc11a45;

/* A word, a truncated word, or random bytes. */
static char *token(void)
{
	uint64_t x = test_rand(&rnd);
	const char *w = words[x % ARRAY_SIZE(words)];
	char buf[32];
	size_t n;

	switch ((x >> 16) % 8) {
	case 0:		/* a prefix of a word: a cut-off argument */
		n = strlen(w);
		n = n ? (x >> 24) % n : 0;
		memcpy(buf, w, n);
		buf[n] = '\0';
		return strdup(buf);
	case 1:		/* random printable bytes */
		n = (x >> 24) % 12;
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(' ' + test_rand(&rnd) % 95);
		buf[n] = '\0';
		return strdup(buf);
	case 2:		/* random bytes, high ones too */
		n = (x >> 24) % 8;
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(1 + test_rand(&rnd) % 255);
		buf[n] = '\0';
		return strdup(buf);
	default:
		return strdup(w);
	}
}

struct vec {
	int argc;
	char *argv[32];
	char *keep[32];		/* getopt permutes argv: free what was allocated */
};

static void vec_free(struct vec *v)
{
	for (int i = 0; i < v->argc; i++)
		free(v->keep[i]);
}

static void vec_set(struct vec *v, const char *const *w, int n)
{
	v->argc = n;
	for (int i = 0; i < n; i++)
		v->argv[i] = v->keep[i] = strdup(w[i]);
	v->argv[n] = NULL;
}

static long boots, boots_ok, parsed, bench_parsed, map_parsed, bad_bench;

/* Parse one vector; true if it ended in a command whose options were accepted. */
static bool run(struct vec *v)
{
	struct tool_opts o;
	struct bench_opts b;
	int first = tool_parse_args(&o, v->argc, v->argv);

	if (first < 0)
		return false;
	if (first >= v->argc) {
		bad_bench++;	/* an index past the vector would be a parser bug */
		return false;
	}
	parsed++;
	if (!strcmp(v->argv[first], "bench")) {
		if (bench_parse_opts(&b, v->argc - first, v->argv + first))
			return false;
		bench_parsed++;
		if (b.size < (2UL << 20) || b.size > (64UL << 30) || b.threads < 1 ||
		    b.threads > BENCH_MAX_THREADS || b.repeats < 1 ||
		    b.nr_pages_per_call < -1 || b.nr_pages_per_call > UINT32_MAX)
			bad_bench++;
		for (int i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++)
			if (b.which_pages[i] && b.cmd != DUMP_USER_PAGES_TEST)
				bad_bench++;	/* page indices only come with -c */
	}
	if (!strcmp(v->argv[first], "map")) {
		struct map_opts m;

		/* pinmm map: an empty -o is refused, never taken as a file name */
		if (!map_parse_opts(&m, v->argc - first, v->argv + first)) {
			map_parsed++;
			if (m.out_file && !*m.out_file)
				bad_bench++;
		}
	}
	/*
	 * A size that parsed boots or is refused: small machines, and the huge
	 * sizes the checks must refuse before touching the host (a big valid
	 * machine would only cost time). Never a file directory from the input.
	 */
	if (boots < 500 && ((o.cfg.mem_bytes <= (256UL << 20) && o.cfg.pmem_bytes <= (64UL << 20)) ||
			    o.cfg.mem_bytes > (64UL << 30) || o.cfg.pmem_bytes > (64UL << 30) ||
			    o.cfg.cma_bytes > (64UL << 30) || o.cfg.movable_bytes > (64UL << 30))) {
		int err;

		o.cfg.file_dir = NULL;
		err = pinmm_boot(&o.cfg);
		boots++;
		if (!err) {
			boots_ok++;
			if (pinmm_shutdown())
				bad_bench += 1000;
		} else if (err != -EINVAL) {
			bad_bench += 1000;
		}
	}
	return true;
}

static bool fixed(const char *const *w, int n)
{
	struct vec v;
	bool r;

	vec_set(&v, w, n);
	r = run(&v);
	vec_free(&v);
	return r;
}

#define FIXED(...) ({							\
	static const char *const __w[] = { "pinmm", __VA_ARGS__ };	\
	fixed(__w, (int)ARRAY_SIZE(__w));				\
})

int main(void)
{
	static const char *const bad_sizes[] = { "", "-1", "1Q", "G", "1.5G", " -1", "1 G",
		"99999999999999999999", "18446744073709551615G", "17592186044416M", "1GiBB" };
	const char *env = getenv("CLI_FUZZ_VECTORS");
	long vectors = env ? atol(env) : 20000, accepted = 0;
	unsigned long bytes;
	int size_bad = 0;

	plan_no_plan();
	quiet_stderr_begin();	/* every refusal prints the usage */
	for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++)
		size_bad += pinmm_parse_size(bad_sizes[i], &bytes) == -EINVAL;
	ok(!FIXED("-m"), "-m with its value cut off is an error");
	ok(!FIXED("-m", "1Q", "vmstat"), "a bad size suffix is an error");
	ok(!FIXED("--cma", "-1", "vmstat"), "a negative size is an error");
	ok(!FIXED("-q"), "no command is an error");
	ok(!FIXED("bench", "-m", "17592186044417"),
	   "bench -m 2^44+1 MiB is an error, not a 1 MiB mapping (the shift wrapped)");
	ok(!FIXED("bench", "-j", "100000"), "bench -j beyond BENCH_MAX_THREADS is an error");
	ok(!FIXED("bench", "-j", "0"), "bench -j 0 is an error");
	ok(!FIXED("bench", "-r", "5x"), "bench -r 5x is an error, not 5");
	ok(!FIXED("bench", "-n", ""), "bench -n '' is an error, not 0");
	ok(FIXED("bench", "-n", "0"), "bench -n 0 is accepted: Linux's gup_test pins nothing and "
	   "reports size 0");
	ok(!FIXED("bench", "-n", "4294967296"),
	   "bench -n 2^32 is an error (nr_pages_per_call is a __u32), not 0");
	ok(FIXED("bench", "-c", "0", "19", "0x1000"), "bench -c takes page indices, hex too");
	ok(!FIXED("bench", "-c", "0", "1", "2", "3", "4", "5", "6", "7", "8"),
	   "bench -c with more than GUP_TEST_MAX_PAGES_TO_DUMP indices is an error");
	ok(!FIXED("bench", "-c", "4294967295"), "bench -c index 2^32-1 is an error (1-based "
	   "which_pages[] would wrap to 0)");
	ok(!FIXED("bench", "3"), "bench with a page index but no -c is an error");
	ok(!FIXED("bench", "-F", "-1"), "bench -F -1 is an error");
	ok(!FIXED("bench", "extra"), "bench with a stray argument is an error");
	ok(FIXED("-m", "64M", "-M", "0", "-c", "0", "-p", "0", "bench", "-a", "-m", "2", "-n", "-1",
		 "-j", "2", "-r", "3", "-F", "0x100"), "a valid vector still parses");
	for (long i = 0; i < vectors; i++) {
		struct vec v;

		v.argc = 1 + (int)(test_rand(&rnd) % 8);
		v.argv[0] = v.keep[0] = strdup("pinmm");
		for (int k = 1; k < v.argc; k++)
			v.argv[k] = v.keep[k] = token();
		v.argv[v.argc] = NULL;
		accepted += run(&v);
		vec_free(&v);
	}
	quiet_stderr_end();
	is_int(size_bad, (int)ARRAY_SIZE(bad_sizes),
	       "pinmm_parse_size refuses empty, negative, bad-suffix and overflowing sizes");
	is_int(bad_bench, 0, "%ld random vectors: every accepted bench option is in range, every "
	       "accepted machine boots clean or is refused with -EINVAL (%ld accepted, %ld bench, "
	       "%ld map, %ld boots tried, %ld booted)", vectors, accepted, bench_parsed, map_parsed,
	       boots, boots_ok);
	ok(parsed > 0 && boots > 0, "the random vectors reached the commands and the boot checks");
	return done_testing();
}
