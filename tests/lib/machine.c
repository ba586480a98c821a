// SPDX-License-Identifier: MIT
#include "machine.h"

#include "mem/internal.h"

#include <fcntl.h>
#include <stdlib.h>
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
	long acquired = global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
	long released = global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
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
static FILE *capture;

static void redirect_stderr(int fd)
{
	fflush(stderr);
	if (saved_stderr >= 0)
		bail_out("stderr redirections do not nest");
	saved_stderr = dup(STDERR_FILENO);
	if (fd < 0 || saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
		bail_out("cannot redirect stderr");
}

static void restore_stderr(void)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
}

void quiet_stderr_begin(void)
{
	int devnull = open("/dev/null", O_WRONLY);

	redirect_stderr(devnull);
	close(devnull);
	saved_quiet = pinmm_warn_set_quiet(true);
}

void quiet_stderr_end(void)
{
	pinmm_warn_set_quiet(saved_quiet);
	restore_stderr();
}

void capture_stderr_begin(void)
{
	capture = tmpfile();
	if (!capture)
		bail_out("tmpfile failed");
	redirect_stderr(fileno(capture));
}

char *capture_stderr_end(void)
{
	long len;
	char *buf;

	restore_stderr();
	fseek(capture, 0, SEEK_END);
	len = ftell(capture);
	rewind(capture);
	buf = malloc((size_t)len + 1);
	if (!buf)
		bail_out("out of memory");
	len = (long)fread(buf, 1, (size_t)len, capture);
	buf[len] = '\0';
	fclose(capture);
	capture = NULL;
	return buf;
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
