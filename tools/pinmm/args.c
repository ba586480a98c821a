// SPDX-License-Identifier: MIT
/*
 * The pinmm command's argument parsers, apart from what the commands do, so
 * tests/fuzz/cli_args.c can feed them random and truncated arguments: every
 * bad one must be an error with a message, never a crash or a silent wrap.
 */
#include "pinmm.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pinmm/compiler.h>
#include <pinmm/mm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest machine pinmm_boot() accepts, and so the largest mapping to bench. */
#define MAX_SIZE_MIB	(64L << 10)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pinmm [options] <command> [args]\n"
		"\n"
		"pinmm runs the Linux page-pinning subsystem (get_user_pages/pin_user_pages,\n"
		"FOLL_PIN, FOLL_LONGTERM) and the memory manager around it in user space.\n"
		"\n"
		"commands:\n"
		"  demo          boot a machine and walk through what it does\n"
		"  bench         the kernel's gup_test on pinmm (bench --help), --kernel to compare\n"
		"  vmstat        counters of a freshly booted machine, /proc/vmstat format\n"
		"  zoneinfo      zones, /proc/zoneinfo-like\n"
		"  buddyinfo     free blocks per order, /proc/buddyinfo format\n"
		"  pagetypeinfo  free blocks per order and migratetype, pageblock types\n"
		"  meminfo       memory totals and the page cache, /proc/meminfo format\n"
		"  map           a picture of physical memory, SVG (map --help)\n"
		"  run FILE...   scenarios on pinmm and/or the live kernel (run --help,\n"
		"                docs/scenarios.md); each boots its own machine\n"
		"  pins          drivers pin memory, then outstanding pins by call site and the\n"
		"                pins groups (PINMM_PIN_OWNER=0: owner records off)\n"
		"\n"
		"machine options (sizes take K, M, G, T suffixes):\n"
		"  -m, --mem SIZE       memory: ZONE_NORMAL + ZONE_MOVABLE (default 1G)\n"
		"  -M, --movable SIZE   of which ZONE_MOVABLE (default 256M)\n"
		"  -c, --cma SIZE       CMA area inside ZONE_NORMAL (default 128M)\n"
		"  -p, --pmem SIZE      pmem (fsdax) range, ZONE_DEVICE (default 64M)\n"
		"  -H, --nr-hugepages N hugetlb pool of N 2M pages at boot (vm.nr_hugepages;\n"
		"                       takes what fits, as Linux; default 0)\n"
		"  -f, --file-dir DIR   host directory for the disk file system (default: a\n"
		"                       fresh temporary one, removed at the end)\n"
		"  -q, --quiet          less narration\n"
		"  -h, --help           this text\n"
		"\n"
		"machine rules (boot names the one a geometry breaks):\n"
		"  every size is a multiple of 2M (one pageblock); memory + pmem <= 64G;\n"
		"  movable <= memory; memory - movable >= cma + 8M (non-CMA ZONE_NORMAL)\n");
}

int tool_boot(const struct tool_opts *o, const char *who)
{
	const char *rule = pinmm_config_error(&o->cfg);
	int err;

	if (rule) {
		fprintf(stderr, "%s: bad machine (mem %luM, movable %luM, cma %luM, pmem %luM): %s\n",
			who, o->cfg.mem_bytes >> 20, o->cfg.movable_bytes >> 20,
			o->cfg.cma_bytes >> 20, o->cfg.pmem_bytes >> 20, rule);
		return -EINVAL;
	}
	err = pinmm_boot(&o->cfg);
	if (err)
		fprintf(stderr, "%s: boot failed: %s\n", who, strerror(-err));
	return err;
}

static int parse_size_opt(const char *name, const char *arg, unsigned long *out)
{
	if (pinmm_parse_size(arg, out)) {
		fprintf(stderr, "pinmm: bad size for --%s: '%s'\n", name, arg);
		return -EINVAL;
	}
	return 0;
}

/*
 * A whole decimal, hex or octal number in [@min, @max]: strtol() alone takes
 * "5x" as 5 and "" as 0, and atoi() wraps silently.
 */
static int parse_long(const char *opt, const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "pinmm bench: bad number for -%s: '%s' (%ld to %ld)\n", opt, arg,
			min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int tool_parse_args(struct tool_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "movable", required_argument, NULL, 'M' },
		{ "cma", required_argument, NULL, 'c' },
		{ "pmem", required_argument, NULL, 'p' },
		{ "file-dir", required_argument, NULL, 'f' },
		{ "nr-hugepages", required_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	pinmm_config_default(&o->cfg);
	optind = 0;	/* glibc: a full restart, whatever a previous scan left */
	while ((c = getopt_long(argc, argv, "+m:M:c:p:f:H:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_size_opt("mem", optarg, &o->cfg.mem_bytes))
				return TOOL_ARGS_BAD;
			break;
		case 'M':
			if (parse_size_opt("movable", optarg, &o->cfg.movable_bytes))
				return TOOL_ARGS_BAD;
			break;
		case 'c':
			if (parse_size_opt("cma", optarg, &o->cfg.cma_bytes))
				return TOOL_ARGS_BAD;
			break;
		case 'p':
			if (parse_size_opt("pmem", optarg, &o->cfg.pmem_bytes))
				return TOOL_ARGS_BAD;
			break;
		case 'f':
			o->cfg.file_dir = optarg;
			break;
		case 'H': {
			char *end;

			errno = 0;
			o->cfg.nr_hugepages = strtoul(optarg, &end, 0);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "pinmm: bad --nr-hugepages '%s'\n", optarg);
				return TOOL_ARGS_BAD;
			}
			break;
		}
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return TOOL_ARGS_HELP;
		default:
			usage(stderr);
			return TOOL_ARGS_BAD;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return TOOL_ARGS_BAD;
	}
	return optind;
}

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: pinmm [machine options] bench [gup_test options] [--kernel]\n"
		"  -u  GUP_FAST_BENCHMARK: get_user_pages_fast (default)\n"
		"  -U  GUP_BASIC_TEST: get_user_pages under mmap_lock\n"
		"  -a  PIN_FAST_BENCHMARK: pin_user_pages_fast\n"
		"  -b  PIN_BASIC_TEST: pin_user_pages under mmap_lock\n"
		"  -L  PIN_LONGTERM_BENCHMARK: pin_user_pages + FOLL_LONGTERM\n"
		"  -c [INDEX...]  DUMP_USER_PAGES_TEST: dump_page() pages INDEX (0-based, up\n"
		"      to 8; default page 0) to stderr; -p pins them (pin_user_pages)\n"
		"  -m MiB   mapping size (default 128)     -r N  repeats (default 1)\n"
		"  -n N     pages per call (-1: all, 0: none, as Linux: size 0)\n"
		"  -j N     threads (default 1)\n"
		"  -w / -W  write (FOLL_WRITE, default) / read\n"
		"  -t / -T  MADV_HUGEPAGE / MADV_NOHUGEPAGE     -S  MAP_SHARED\n"
		"  -H       hugetlb (MAP_HUGETLB, pool sized)  -F N  raw gup_flags\n"
		"  --hugetlb-1g  hugetlb in 1 GiB pages (MAP_HUGE_1GB; the size rounded up\n"
		"           to GiB, the machine grown to hold them; not with --kernel)\n"
		"  --kernel also register the same memory as an io_uring fixed buffer on the\n"
		"           live kernel (FOLL_WRITE|FOLL_LONGTERM pins) and print the ratio\n");
}

int bench_parse_opts(struct bench_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kernel", no_argument, NULL, 'K' },
		{ "hugetlb-1g", no_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	*o = (struct bench_opts){ .cmd = GUP_FAST_BENCHMARK, .size = 128UL << 20,
				  .nr_pages_per_call = 1, .repeats = 1, .threads = 1,
				  .write = true };
	optind = 0;
	while ((c = getopt_long(argc, argv, "uUabLcpm:r:n:j:wWtTSHF:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': o->cmd = GUP_FAST_BENCHMARK; break;
		case 'U': o->cmd = GUP_BASIC_TEST; break;
		case 'a': o->cmd = PIN_FAST_BENCHMARK; break;
		case 'b': o->cmd = PIN_BASIC_TEST; break;
		case 'L': o->cmd = PIN_LONGTERM_BENCHMARK; break;
		case 'c':
			o->cmd = DUMP_USER_PAGES_TEST;
			o->which_pages[0] = 1;	/* page 0 unless indices follow */
			break;
		case 'p': o->test_flags |= GUP_TEST_FLAG_DUMP_PAGES_USE_PIN; break;
		case 'm':
			if (parse_long("m", optarg, 1, MAX_SIZE_MIB, &v))
				goto bad;
			o->size = (unsigned long)v << 20;
			break;
		case 'r':
			if (parse_long("r", optarg, 1, INT_MAX, &v))
				goto bad;
			o->repeats = (int)v;
			break;
		case 'n':
			/* struct gup_test's nr_pages_per_call is a __u32 */
			if (parse_long("n", optarg, -1, UINT32_MAX, &v))
				goto bad;
			o->nr_pages_per_call = v;
			break;
		case 'j':
			if (parse_long("j", optarg, 1, BENCH_MAX_THREADS, &v))
				goto bad;
			o->threads = (int)v;
			break;
		case 'w': o->write = true; break;
		case 'W': o->write = false; break;
		case 't': o->thp = true; break;
		case 'T': o->nothp = true; break;
		case 'S': o->shared = true; break;
		case 'H': o->hugetlb = true; break;
		case 'F':
			if (parse_long("F", optarg, 0, UINT_MAX, &v))
				goto bad;
			o->gup_flags = (unsigned int)v;
			break;
		case 'K': o->kernel = true; break;
		case 'G': o->hugetlb = o->gigantic = true; break;
		case 'h': bench_usage(stdout); return 1;
		default: goto bad;
		}
	}
	/* -c's page indices, 0-based as gup_test's CLI takes them */
	for (int i = 0; optind < argc && o->cmd == DUMP_USER_PAGES_TEST; i++, optind++) {
		if (i == GUP_TEST_MAX_PAGES_TO_DUMP) {
			fprintf(stderr, "pinmm bench: -c dumps at most %d pages\n",
				GUP_TEST_MAX_PAGES_TO_DUMP);
			goto bad;
		}
		if (parse_long("c", argv[optind], 0, UINT32_MAX - 1, &v))
			goto bad;
		o->which_pages[i] = (unsigned int)v + 1;
	}
	if (optind < argc) {
		fprintf(stderr, "pinmm bench: unexpected argument '%s'\n", argv[optind]);
		goto bad;
	}
	if (o->gigantic && o->kernel) {
		fprintf(stderr, "pinmm bench: --hugetlb-1g is not compared with the kernel\n");
		goto bad;
	}
	o->size = ALIGN(o->size, PMD_SIZE);
	return 0;
bad:
	bench_usage(stderr);
	return -1;
}

static void map_usage(FILE *out)
{
	fprintf(out,
		"usage: pinmm [machine options] map [-o FILE] [--frames] [--text] [--example]\n"
		"  a picture of physical memory: one cell per pageblock (2 MiB), zones and\n"
		"  the CMA area outlined, coloured by state (free, movable, unmovable, page\n"
		"  tables, pinned short-term, pinned long-term, isolated, device), with a\n"
		"  legend whose totals stand beside the vmstat counters (docs/map.md)\n"
		"  -o FILE     write there instead of standard output\n"
		"  --frames    one cell per 4 KiB frame\n"
		"  --text      characters for a terminal instead of SVG\n"
		"  --example   first give the machine some pins to show: a process with\n"
		"              movable memory, an RDMA region (long-term pins), a Direct\n"
		"              I/O-style short-term pin and a cma_alloc() buffer\n");
}

int map_parse_opts(struct map_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "frames", no_argument, NULL, 'F' },
		{ "text", no_argument, NULL, 'T' },
		{ "example", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct map_opts){ 0 };
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg) {
				fprintf(stderr, "pinmm map: -o needs a file name\n");
				goto bad;
			}
			o->out_file = optarg;
			break;
		case 'F': o->frames = true; break;
		case 'T': o->text = true; break;
		case 'E': o->example = true; break;
		case 'h': map_usage(stdout); return 1;
		default: goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pinmm map: unexpected argument '%s'\n", argv[optind]);
		goto bad;
	}
	return 0;
bad:
	map_usage(stderr);
	return -1;
}
