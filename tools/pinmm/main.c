// SPDX-License-Identifier: MIT
/*
 * pinmm: boot a machine and run one of the subcommands on it.
 *
 *   pinmm [machine options] demo | bench | vmstat | meminfo | zoneinfo | buddyinfo |
 *                            pagetypeinfo
 */
#include "pinmm.h"

#include <errno.h>
#include <getopt.h>
#include <pinmm/vmstat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		"\n"
		"machine options (sizes take K, M, G suffixes; multiples of 2M):\n"
		"  -m, --mem SIZE       memory: ZONE_NORMAL + ZONE_MOVABLE (default 1G)\n"
		"  -M, --movable SIZE   of which ZONE_MOVABLE (default 256M)\n"
		"  -c, --cma SIZE       CMA area inside ZONE_NORMAL (default 128M)\n"
		"  -p, --pmem SIZE      pmem (fsdax) range, ZONE_DEVICE (default 64M)\n"
		"  -f, --file-dir DIR   host directory for the disk file system (default: a\n"
		"                       fresh temporary one, removed at the end)\n"
		"  -q, --quiet          less narration\n"
		"  -h, --help           this text\n");
}

static int parse_size_opt(const char *name, const char *arg, unsigned long *out)
{
	if (pinmm_parse_size(arg, out)) {
		fprintf(stderr, "pinmm: bad size for --%s: '%s'\n", name, arg);
		return -EINVAL;
	}
	return 0;
}

static int cmd_view(struct tool_opts *o, void (*print)(FILE *))
{
	int err = pinmm_boot(&o->cfg);

	if (err) {
		fprintf(stderr, "pinmm: boot failed: %s\n", strerror(-err));
		return 1;
	}
	print(stdout);
	return pinmm_shutdown() ? 1 : 0;
}

int cmd_vmstat(struct tool_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_view(o, pinmm_print_vmstat);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "movable", required_argument, NULL, 'M' },
		{ "cma", required_argument, NULL, 'c' },
		{ "pmem", required_argument, NULL, 'p' },
		{ "file-dir", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tool_opts o = { 0 };
	const char *cmd;
	int c;

	pinmm_config_default(&o.cfg);
	while ((c = getopt_long(argc, argv, "+m:M:c:p:f:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_size_opt("mem", optarg, &o.cfg.mem_bytes))
				return 2;
			break;
		case 'M':
			if (parse_size_opt("movable", optarg, &o.cfg.movable_bytes))
				return 2;
			break;
		case 'c':
			if (parse_size_opt("cma", optarg, &o.cfg.cma_bytes))
				return 2;
			break;
		case 'p':
			if (parse_size_opt("pmem", optarg, &o.cfg.pmem_bytes))
				return 2;
			break;
		case 'f':
			o.cfg.file_dir = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "demo"))
		return cmd_demo(&o, argc, argv);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(&o, argc, argv);
	if (!strcmp(cmd, "vmstat"))
		return cmd_vmstat(&o, argc, argv);
	if (!strcmp(cmd, "zoneinfo"))
		return cmd_view(&o, pinmm_print_zoneinfo);
	if (!strcmp(cmd, "buddyinfo"))
		return cmd_view(&o, pinmm_print_buddyinfo);
	if (!strcmp(cmd, "pagetypeinfo"))
		return cmd_view(&o, pinmm_print_pagetypeinfo);
	if (!strcmp(cmd, "meminfo"))
		return cmd_view(&o, pinmm_print_meminfo);
	fprintf(stderr, "pinmm: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
