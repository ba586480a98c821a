// SPDX-License-Identifier: MIT
/*
 * `pinmm pins` (tools/pinmm/pins.c), run in-process: O-SHOW for the command.
 * Drivers pin (RDMA, io_uring, VFIO remote, a short-term pin in flight), one
 * registration is refused by the database's pins group; the listing must name
 * each driver's call site, longest held first, the long-term pins migrated
 * out of ZONE_MOVABLE/CMA, the group with its refusal, and the command must
 * release everything (its shutdown is clean, so it returns 0).
 */
#include "../lib/machine.h"
#include "../../tools/pinmm/pinmm.h"

#include <fcntl.h>
#include <pinmm/pin_owner.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Run `pinmm pins` on the default machine; its stdout comes back in *@text. */
static int run_pins(char **text)
{
	struct tool_opts o;
	char *argv[] = { "pins", NULL };
	char path[] = "/tmp/pinmm-pins-XXXXXX";
	int saved, fd = mkstemp(path), ret;
	long len;
	FILE *f;

	if (fd < 0)
		bail_out("mkstemp");
	memset(&o, 0, sizeof(o));
	pinmm_config_default(&o.cfg);
	o.quiet = true;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	quiet_stderr_begin();
	ret = cmd_pins(&o, 1, argv);
	quiet_stderr_end();
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*text = calloc(1, (size_t)len + 1);
	if (fread(*text, 1, (size_t)len, f) != (size_t)len)
		bail_out("reading the output back");
	fclose(f);
	unlink(path);
	return ret;
}

static bool before(const char *text, const char *a, const char *b)
{
	const char *pa = strstr(text, a), *pb = strstr(text, b);

	return pa && pb && pa < pb;
}

int main(void)
{
	char *text;
	int ret;

	plan_no_plan();
	ret = run_pins(&text);
	is_int(ret, 0, "O-SHOW: pinmm pins runs and releases everything (clean shutdown)");
	ok(strstr(text, "drivers/rdma.c:") && strstr(text, "drivers/io_uring.c:") &&
	   strstr(text, "drivers/vfio.c:") && strstr(text, "tools/pinmm/pins.c:") &&
	   strstr(text, " cmd_pins(): 16 pin(s)"),
	   "O-SHOW: every pinning call site is listed by file:line and function");
	ok(before(text, "drivers/rdma.c:", "drivers/io_uring.c:") &&
	   before(text, "drivers/io_uring.c:", "drivers/vfio.c:") &&
	   before(text, "drivers/vfio.c:", "tools/pinmm/pins.c:"),
	   "O-SHOW: longest held first (RDMA, io_uring, VFIO, then the pin in flight)");
	ok(strstr(text, "256 pin(s)") && strstr(text, "migrated out of ZONE_MOVABLE/CMA") &&
	   strstr(text, "charged to a pins group") && strstr(text, "(pid 2 vmm)"),
	   "O-SHOW: counts, tasks, long-term pins migrated out of ZONE_MOVABLE, charges");
	ok(strstr(text, "refused with -ENOMEM") && strstr(text, "pins groups:") &&
	   strstr(text, "pins.current 320 pins.max 1024 tasks 1 refused 1"),
	   "G-LIMIT: the database's group refuses a registration past pins.max; shown with "
	   "pins.current, pins.max, tasks and refusals");
	if (!strstr(text, "pins groups:"))
		diag("%s", text);
	free(text);

	setenv("PINMM_PIN_OWNER", "0", 1);
	ret = run_pins(&text);
	ok(ret == 0 && strstr(text, "pin owner records are off"),
	   "O-SWITCH: with PINMM_PIN_OWNER=0 the command says records are off");
	free(text);
	unsetenv("PINMM_PIN_OWNER");
	pinmm_pin_owner_enable(true);
	return done_testing();
}
