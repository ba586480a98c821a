// SPDX-License-Identifier: MIT
/*
 * pinmm pins: outstanding pins grouped by call site, longest held first, and
 * the pins groups (docs/pin-owners.md).
 *
 * A fresh machine holds no pins, so the command first sets up what a machine
 * with users looks like: a database process in pins group "db" (pins.max
 * 1024 pages) registers an RDMA region in ZONE_MOVABLE memory (long-term:
 * migrated first) and an io_uring fixed buffer, then tries a registration
 * that would pass its limit (refused); a VMM pins the database's memory
 * remotely through VFIO; a Direct-I/O-style short-term pin is in flight. It
 * prints the listing (pinmm_pins_show()), releases everything and shuts down.
 */
#include "pinmm.h"

#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/gup.h>
#include <pinmm/mman.h>
#include <pinmm/pin_owner.h>
#include <pinmm/task.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_PAGES	512UL	/* what the database maps */
#define DB_MAX		1024L	/* its group's pins.max */

static unsigned long map_populated(unsigned long pages)
{
	unsigned long addr = vm_mmap(NULL, 0, pages << PAGE_SHIFT, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, 0);

	if (IS_ERR_VALUE(addr))
		return 0;
	if (do_madvise(current->mm, addr, pages << PAGE_SHIFT, MADV_POPULATE_WRITE))
		return 0;
	return addr;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int cmd_pins(struct tool_opts *o, int argc, char **argv)
{
	struct task_struct *db = NULL, *vmm = NULL;
	struct pinmm_pins_group *g = NULL;
	struct page **vfio_pages = NULL, **dio_pages = NULL;
	struct iou_buffer *iou = NULL, *too_big = NULL;
	struct rdma_mr *mr = NULL;
	struct mm_struct *db_mm = NULL;
	unsigned long addr, big;
	long vfio_n = 0, dio_n = 0;
	int err, ret = 1;

	if (argc > 1) {
		fprintf(stderr, "pinmm pins: no arguments expected ('%s')\n", argv[1]);
		return 2;
	}
	if (tool_boot(o, "pinmm pins"))
		return 1;
	if (!pinmm_pin_owner_enabled()) {
		pinmm_pins_show(stdout);
		return pinmm_shutdown() ? 1 : 0;
	}
	db = pinmm_task_create("db");
	vmm = pinmm_task_create("vmm");
	g = pinmm_pins_group_create("db", DB_MAX);
	if (!db || !vmm || IS_ERR(g)) {
		fprintf(stderr, "pinmm pins: could not set up the tasks and group\n");
		g = IS_ERR(g) ? NULL : g;
		goto out;
	}
	pinmm_pins_group_attach(db, g);

	/* the database: an RDMA region (the oldest pins), then an io_uring buffer */
	pinmm_task_attach(db);
	addr = map_populated(DB_PAGES);
	big = map_populated(DB_MAX);
	if (!addr || !big) {
		fprintf(stderr, "pinmm pins: the database's memory could not be mapped\n");
		goto out;
	}
	err = rdma_reg_mr(addr, 256 * PAGE_SIZE, RDMA_ACCESS_LOCAL_WRITE, &mr);
	if (err) {
		fprintf(stderr, "pinmm pins: rdma_reg_mr: %s\n", strerror(-err));
		goto out;
	}
	pause_ms(20);
	err = iou_register_buffer(addr + 256 * PAGE_SIZE, 64 * PAGE_SIZE, &iou);
	if (err) {
		fprintf(stderr, "pinmm pins: iou_register_buffer: %s\n", strerror(-err));
		goto out;
	}
	err = iou_register_buffer(big, DB_MAX * PAGE_SIZE, &too_big);
	printf("the database's registration of another %ld pages: %s (pins.max %ld)\n", DB_MAX,
	       err == -ENOMEM ? "refused with -ENOMEM" : err ? strerror(-err) : "accepted",
	       DB_MAX);
	db_mm = get_task_mm(db);
	pinmm_task_detach();

	/* a VMM pins part of the database's memory through VFIO */
	pause_ms(10);
	pinmm_task_attach(vmm);
	vfio_pages = calloc(32, sizeof(*vfio_pages));
	if (vfio_pages && db_mm)
		vfio_n = vfio_pin_pages_remote(db_mm, addr + 320 * PAGE_SIZE, 32, true, vfio_pages);
	pinmm_task_detach();

	/* a short-term Direct I/O style pin in flight */
	pause_ms(10);
	pinmm_task_attach(db);
	dio_pages = calloc(16, sizeof(*dio_pages));
	if (dio_pages)
		dio_n = pin_user_pages_fast(addr + 400 * PAGE_SIZE, 16, FOLL_WRITE, dio_pages);
	pinmm_task_detach();

	printf("\n");
	pinmm_pins_show(stdout);
	ret = 0;
out:
	pinmm_task_detach();
	if (dio_n > 0)
		unpin_user_pages(dio_pages, (unsigned long)dio_n);
	if (vfio_n > 0)
		vfio_unpin_pages_remote(db_mm, vfio_pages, (unsigned long)vfio_n, true);
	if (db_mm)
		mmput(db_mm);
	if (too_big)
		iou_unregister_buffer(too_big);
	if (iou)
		iou_unregister_buffer(iou);
	if (mr)
		rdma_dereg_mr(mr);
	free(dio_pages);
	free(vfio_pages);
	if (db)
		pinmm_task_exit(db);
	if (vmm)
		pinmm_task_exit(vmm);
	if (g)
		pinmm_pins_group_put(g);
	if (pinmm_shutdown())
		ret = 1;
	return ret;
}
