// SPDX-License-Identifier: MIT
/*
 * pinmm map: boot, optionally give the machine something to show
 * (--example), draw it (map.c), tear everything down.
 */
#include "pinmm.h"

#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/gup.h>
#include <pinmm/migrate.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <stdlib.h>
#include <string.h>

/* What --example holds while the picture is drawn. */
struct example {
	struct task_struct *task;
	unsigned long addr, len;
	struct rdma_mr *mr;
	struct page **short_pins;
	long nr_short;
	struct page *cma;
	unsigned long cma_count;
};

/*
 * A process with 24 MiB of anonymous memory: the first 4 MiB registered as
 * an RDMA region (long-term pins, migrated out of ZONE_MOVABLE/CMA first),
 * the next 1 MiB pinned short-term as Direct I/O would, the rest movable;
 * and a driver's cma_alloc() of 8 MiB. Return: 0 or -errno.
 */
static int example_setup(struct example *ex)
{
	const unsigned long rdma = 4UL << 20, dio = 1UL << 20;
	int err;

	memset(ex, 0, sizeof(*ex));
	ex->task = pinmm_task_create("map-example");
	if (!ex->task)
		return -ENOMEM;
	pinmm_task_attach(ex->task);
	ex->len = 24UL << 20;
	ex->addr = vm_mmap(NULL, 0, ex->len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(ex->addr))
		return (int)ex->addr;
	err = do_madvise(current->mm, ex->addr, ex->len, MADV_POPULATE_WRITE);
	if (err)
		return err;
	err = rdma_reg_mr(ex->addr, rdma, RDMA_ACCESS_LOCAL_WRITE, &ex->mr);
	if (err)
		return err;
	ex->short_pins = calloc(dio >> PAGE_SHIFT, sizeof(*ex->short_pins));
	if (!ex->short_pins)
		return -ENOMEM;
	ex->nr_short = pin_user_pages_fast(ex->addr + rdma, (int)(dio >> PAGE_SHIFT), FOLL_WRITE,
					   ex->short_pins);
	if (ex->nr_short < 0)
		return (int)ex->nr_short;
	if (pinmm_zones[ZONE_NORMAL].cma_pages >= (8UL << 20) >> PAGE_SHIFT) {
		ex->cma_count = (8UL << 20) >> PAGE_SHIFT;
		ex->cma = cma_alloc_pages(ex->cma_count, 0);
	}
	return 0;
}

static void example_teardown(struct example *ex)
{
	if (ex->cma)
		cma_release_pages(ex->cma, ex->cma_count);
	if (ex->nr_short > 0)
		unpin_user_pages(ex->short_pins, (unsigned long)ex->nr_short);
	free(ex->short_pins);
	if (ex->mr)
		rdma_dereg_mr(ex->mr);
	if (ex->task) {
		if (ex->addr && !IS_ERR_VALUE(ex->addr))
			vm_munmap(ex->addr, ex->len);
		pinmm_task_detach();
		pinmm_task_exit(ex->task);
	}
}

int cmd_map(struct tool_opts *o, int argc, char **argv)
{
	struct map_opts mo;
	struct example ex = { 0 };
	const char *title;
	FILE *out = stdout;
	int err, ret = 0;

	err = map_parse_opts(&mo, argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (mo.out_file) {
		out = fopen(mo.out_file, "w");
		if (!out) {
			fprintf(stderr, "pinmm map: %s: %s\n", mo.out_file, strerror(errno));
			return 1;
		}
	}
	if (tool_boot(o, "pinmm map")) {
		if (out != stdout)
			fclose(out);
		return 1;
	}
	title = "pinmm map: a freshly booted machine";
	if (mo.example) {
		err = example_setup(&ex);
		if (err) {
			fprintf(stderr, "pinmm map: --example: %s\n", strerror(-err));
			ret = 1;
		}
		title = "pinmm map --example: an RDMA region, a short-term pin, a cma_alloc()";
	}
	if (!ret) {
		err = map_draw(out, &mo, title);
		if (err) {
			fprintf(stderr, "pinmm map: %s\n", strerror(-err));
			ret = 1;
		}
	}
	if (mo.example)
		example_teardown(&ex);
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "pinmm map: %s: %s\n", mo.out_file, strerror(errno));
		ret = 1;
	}
	return pinmm_shutdown() ? 1 : ret;
}
