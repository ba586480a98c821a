// SPDX-License-Identifier: MIT
#include "machine.h"

#include "mem/internal.h"

#include <fcntl.h>
#include <pinmm/bug.h>
#include <pinmm/mm.h>
#include <pinmm/vmstat.h>
#include <unistd.h>

void test_boot(unsigned long mem_mb, unsigned long movable_mb, unsigned long cma_mb)
{
	struct pinmm_config cfg = {
		.mem_bytes = mem_mb << 20,
		.movable_bytes = movable_mb << 20,
		.cma_bytes = cma_mb << 20,
		.pmem_bytes = 0,
	};
	int err = pinmm_boot(&cfg);

	if (err)
		bail_out("pinmm_boot(mem %luM, movable %luM, cma %luM) failed: %d", mem_mb,
			 movable_mb, cma_mb, err);
}

bool test_shutdown_ok(const char *name)
{
	long acquired = global_node_page_state(NR_FOLL_PIN_ACQUIRED);
	long released = global_node_page_state(NR_FOLL_PIN_RELEASED);
	struct zone *zone;
	int bad_zones = 0;
	bool all = true;

	all &= is_int(acquired, released,
		      "%s: teardown: nr_foll_pin_acquired == nr_foll_pin_released", name);
	for_each_populated_zone(zone)
		if (pinmm_check_zone(zone, true))
			bad_zones++;
	all &= is_int(bad_zones, 0, "%s: teardown: every zone's free lists match its counters "
		      "(pinmm_check_zone)", name);
	all &= is_int(pinmm_shutdown(), 0, "%s: teardown: every frame is free at shutdown "
		      "(pinmm_shutdown)", name);
	return all;
}

static int saved_stderr = -1;
static bool saved_quiet;

void quiet_stderr_begin(void)
{
	int devnull = open("/dev/null", O_WRONLY);

	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	if (devnull < 0 || saved_stderr < 0)
		bail_out("quiet_stderr_begin: cannot redirect stderr");
	dup2(devnull, STDERR_FILENO);
	close(devnull);
	saved_quiet = pinmm_warn_set_quiet(true);
}

void quiet_stderr_end(void)
{
	fflush(stderr);
	pinmm_warn_set_quiet(saved_quiet);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
}

uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}
