/* SPDX-License-Identifier: MIT */
/*
 * The machine: one per process. pinmm_boot() reserves an arena of real frames
 * and builds the struct page array, zones and free lists; pinmm_shutdown()
 * checks that everything came back and tears it down.
 *
 * Layout (pfn order): ZONE_NORMAL (its last cma_bytes are MIGRATE_CMA),
 * ZONE_MOVABLE, then ZONE_DEVICE: the pmem range, then the device-memory
 * window (frames that drivers register with memremap_pages()). Every size is
 * a multiple of the 2 MiB pageblock.
 */
#ifndef PINMM_MACHINE_H
#define PINMM_MACHINE_H

#include <pinmm/compiler.h>
#include <stdio.h>

struct pinmm_config {
	unsigned long mem_bytes;	/* RAM: ZONE_NORMAL + ZONE_MOVABLE */
	unsigned long movable_bytes;	/* of which ZONE_MOVABLE */
	unsigned long cma_bytes;	/* CMA area inside ZONE_NORMAL */
	unsigned long pmem_bytes;	/* fsdax device, ZONE_DEVICE, in addition */
	unsigned long devmem_bytes;	/* device-memory window, ZONE_DEVICE, in addition */
	const char *file_dir;		/* host directory backing files (fs layer) */
	unsigned long nr_hugepages;	/* hugetlb pool at boot (vm.nr_hugepages); takes what fits */
};

#define PINMM_DEFAULT_MEM	(1UL << 30)
#define PINMM_DEFAULT_MOVABLE	(256UL << 20)
#define PINMM_DEFAULT_CMA	(128UL << 20)
#define PINMM_DEFAULT_PMEM	(64UL << 20)
#define PINMM_DEFAULT_DEVMEM	(16UL << 20)

/* Fill @cfg with the defaults a first run wants (1 GiB, 256 MiB movable, ...). */
void pinmm_config_default(struct pinmm_config *cfg);

/**
 * pinmm_config_error - which geometry rule @cfg breaks.
 *
 * Return: NULL when pinmm_boot() would accept the sizes, else one sentence
 * naming the rule (2 MiB multiples, the 64 GiB cap, movable inside memory,
 * the non-CMA minimum of ZONE_NORMAL), for a tool to print.
 */
const char *pinmm_config_error(const struct pinmm_config *cfg);

/**
 * pinmm_boot - bring up the machine.
 * @cfg: sizes; NULL means pinmm_config_default().
 *
 * Return: 0; -EINVAL for sizes that are not pageblock multiples or do not
 * fit (movable + cma must leave ZONE_NORMAL at least 8 MiB of non-CMA memory);
 * -EBUSY if a machine is already up; -ENOMEM if the host refuses the arena.
 */
int pinmm_boot(const struct pinmm_config *cfg);

/**
 * pinmm_shutdown - check for leaks and tear the machine down.
 *
 * Every frame of ZONE_NORMAL and ZONE_MOVABLE must be back on a free list.
 * Frames that are not are reported on stderr with their state and, in debug
 * builds, the call site that allocated them.
 * Context: no other thread may use the machine any more.
 * Return: 0 when clean, -EBUSY when frames leaked (the machine is still torn
 * down, so a test can boot again).
 */
int pinmm_shutdown(void);

bool pinmm_is_booted(void);

/* Parse "1G", "256M", "64k", "4096" into bytes. Return 0 or -EINVAL. */
int pinmm_parse_size(const char *s, unsigned long *bytes);

/* Pages the allocator refused to free because their state was corrupt. */
unsigned long pinmm_bad_page_count(void);

/*
 * Frames currently allocated in ZONE_NORMAL and ZONE_MOVABLE: neither on a
 * free list nor on a CPU's per-CPU list (those are free, just not merged).
 */
unsigned long pinmm_frames_in_use(void);

#endif /* PINMM_MACHINE_H */
