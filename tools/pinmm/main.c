// SPDX-License-Identifier: MIT
/*
 * pinmm: boot a machine and run one of the subcommands on it.
 *
 *   pinmm [machine options] demo | bench | vmstat | meminfo | zoneinfo | buddyinfo |
 *                            pagetypeinfo | map | pins
 *   pinmm run FILE... [--backend pinmm|kernel|both] [--json]   (scenarios: run.c)
 */
#include "pinmm.h"
#include "scenario.h"

#include <errno.h>
#include <pinmm/vmstat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_view(struct tool_opts *o, void (*print)(FILE *))
{
	if (tool_boot(o, "pinmm"))
		return 1;
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
	struct tool_opts o;
	const char *cmd;
	int first = tool_parse_args(&o, argc, argv);

	if (first == TOOL_ARGS_HELP)
		return 0;
	if (first < 0)
		return 2;
	cmd = argv[first];
	argc -= first;
	argv += first;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "demo"))
		return cmd_demo(&o, argc, argv);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(&o, argc, argv);
	if (!strcmp(cmd, "vmstat"))
		return cmd_vmstat(&o, argc, argv);
	if (!strcmp(cmd, "map"))
		return cmd_map(&o, argc, argv);
	if (!strcmp(cmd, "pins"))
		return cmd_pins(&o, argc, argv);
	if (!strcmp(cmd, "zoneinfo"))
		return cmd_view(&o, pinmm_print_zoneinfo);
	if (!strcmp(cmd, "buddyinfo"))
		return cmd_view(&o, pinmm_print_buddyinfo);
	if (!strcmp(cmd, "pagetypeinfo"))
		return cmd_view(&o, pinmm_print_pagetypeinfo);
	if (!strcmp(cmd, "meminfo"))
		return cmd_view(&o, pinmm_print_meminfo);
	fprintf(stderr, "pinmm: unknown command '%s' (pinmm --help)\n", cmd);
	return 2;
}
