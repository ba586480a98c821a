// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12, "Defects found"): on a small machine
 * (`pinmm --mem 16M --movable 0 --cma 0 --pmem 0 demo`) the demo's first
 * chapter asked for more frames than exist, stopped, and left 3392 frames
 * allocated: shutdown reported leaks. Rule: an error path releases what it
 * took (the kernel's own rule for every failing call), and a demo that can
 * scale to the machine does. The whole demo runs on a range of small
 * geometries and must end with every frame back (cmd_demo returns 0 only when
 * its chapters succeeded and pinmm_shutdown() found no leak). A geometry
 * boot refuses is reported with the rule it breaks (pinmm_config_error()).
 */
#include "../lib/machine.h"
#include "../../tools/pinmm/pinmm.h"

#include <fcntl.h>
#include <pinmm/machine.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The demo narrates on stdout; TAP owns stdout, so park it on /dev/null. */
static int run_demo(unsigned long mem, unsigned long movable, unsigned long cma,
		    unsigned long pmem)
{
	struct tool_opts o;
	char *argv[] = { "demo", NULL };
	int saved, devnull, ret;

	memset(&o, 0, sizeof(o));
	o.cfg.mem_bytes = mem << 20;
	o.cfg.movable_bytes = movable << 20;
	o.cfg.cma_bytes = cma << 20;
	o.cfg.pmem_bytes = pmem << 20;
	o.quiet = true;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDOUT_FILENO);
	quiet_stderr_begin();
	ret = cmd_demo(&o, 1, argv);
	quiet_stderr_end();
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(devnull);
	return ret;
}

int main(void)
{
	static const unsigned long geo[][4] = {
		{ 16, 0, 0, 0 }, { 10, 0, 0, 0 }, { 14, 2, 4, 2 }, { 24, 4, 8, 0 }, { 64, 16, 16, 2 },
	};
	struct pinmm_config c = { .mem_bytes = 3UL << 20 };

	for (unsigned int i = 0; i < ARRAY_SIZE(geo); i++) {
		is_int(run_demo(geo[i][0], geo[i][1], geo[i][2], geo[i][3]), 0,
		       "demo on --mem %luM --movable %luM --cma %luM --pmem %luM succeeds and shuts "
		       "down with every frame back", geo[i][0], geo[i][1], geo[i][2], geo[i][3]);
		ok(!pinmm_is_booted(), "... and the machine is down");
	}

	ok(pinmm_config_error(&c) && strstr(pinmm_config_error(&c), "2 MiB"),
	   "3 MiB of memory: the rule named is the 2 MiB multiple");
	c = (struct pinmm_config){ .mem_bytes = 16UL << 20, .movable_bytes = 32UL << 20 };
	ok(pinmm_config_error(&c) && strstr(pinmm_config_error(&c), "ZONE_MOVABLE"),
	   "movable above memory: the rule named is ZONE_MOVABLE inside memory");
	c = (struct pinmm_config){ .mem_bytes = 16UL << 20, .cma_bytes = 10UL << 20 };
	ok(pinmm_config_error(&c) && strstr(pinmm_config_error(&c), "8 MiB"),
	   "CMA leaving less than 8 MiB of non-CMA ZONE_NORMAL: that rule is named");
	c = (struct pinmm_config){ .mem_bytes = 64UL << 30, .pmem_bytes = 2UL << 20 };
	ok(pinmm_config_error(&c) && strstr(pinmm_config_error(&c), "64 GiB"),
	   "memory + pmem above 64 GiB: the cap is named");
	c = (struct pinmm_config){ .mem_bytes = 16UL << 20 };
	ok(!pinmm_config_error(&c), "16 MiB with nothing else is a valid machine");
	{
		unsigned long v = 0;

		ok(pinmm_parse_size("1T", &v) == 0 && v == 1UL << 40, "sizes take a T suffix");
	}
	return done_testing();
}
