// SPDX-License-Identifier: MIT
/*
 * Regression (found by tests/fuzz/cli_args.c): pinmm_boot() checked the
 * machine's sizes with sums that wrap. A CMA size just below 2^64 made
 * "cma + 8 MiB" small, passed, and boot walked pageblocks far beyond the
 * arena (`pinmm -c 17592186044414M vmstat` died with SIGSEGV); a memory and a
 * pmem size of 2^63 each summed to 0 and reached the host allocator.
 * Rule: bad input is an error (-EINVAL), never a crash (issue 13, "Bad input").
 */
#include "../lib/machine.h"

#include <errno.h>
#include <pinmm/machine.h>

static int boot(unsigned long mem, unsigned long movable, unsigned long cma, unsigned long pmem)
{
	struct pinmm_config cfg = { .mem_bytes = mem, .movable_bytes = movable, .cma_bytes = cma,
				    .pmem_bytes = pmem };
	int err = pinmm_boot(&cfg);

	if (!err)
		pinmm_shutdown();
	return err;
}

int main(void)
{
	is_int(boot(1UL << 30, 256UL << 20, (17592186044414UL << 20), 0), -EINVAL,
	       "a CMA area of 2^64 - 2 MiB is -EINVAL (its sum with the non-CMA minimum wrapped)");
	is_int(boot(1UL << 63, 0, 0, 1UL << 63), -EINVAL,
	       "memory and pmem of 2^63 each is -EINVAL (their sum wrapped to 0)");
	is_int(boot(65UL << 30, 0, 0, 0), -EINVAL, "more than 64 GiB of memory is -EINVAL");
	is_int(boot(64UL << 20, 0, 16UL << 20, 2UL << 20), 0, "a small machine still boots");
	return done_testing();
}
