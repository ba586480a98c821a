// SPDX-License-Identifier: MIT
/*
 * pinmm demo: the story of the machine, told by running it.
 *  1. physical memory: allocate a mix of orders and migratetypes, free, coalesce
 *  2. address spaces: zero page, faults, fork and copy-on-write
 *  3. the pinning cases of pin_user_pages.rst, each through its driver:
 *     Direct I/O on a disk file, an RDMA region that migrates out of
 *     CMA/ZONE_MOVABLE, a pin across fork, ODP without pins, struct page
 *     inspection
 *  4. files (demo_files.c): write-notify, the long-term pin refusal, a
 *     device tearing a block under writeback (and the stable policy that
 *     does not), the 2018 get_user_pages failure and pin_user_pages' fix
 */
#include "pinmm.h"

#include <errno.h>
#include <getopt.h>
#include <pinmm/drivers.h>
#include <pinmm/fs.h>
#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *demo_map_dir;

int demo_map(struct tool_opts *o, const char *name, const char *title)
{
	struct map_opts mo = { 0 };
	char path[4096];
	int err;

	if (!demo_map_dir)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s.svg", demo_map_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	err = map_draw_file(path, &mo, title);
	if (err)
		printf("pinmm demo: cannot draw %s: %s\n", path, strerror(-err));
	else
		say(o, "  [picture: %s]\n", path);
	return err;
}


static const char *block_type(struct page *page)
{
	return migratetype_names[get_pfnblock_migratetype(page_to_pfn(page))];
}

struct alloc_mix {
	const char *what;
	gfp_t gfp;
	unsigned int order;
	int count;
};

/* Free the first @nr_kinds kinds of the mix, count[i] allocations each. */
static void free_mix(const struct alloc_mix *mix, struct page *pages[][256], const int *count,
		     unsigned int nr_kinds)
{
	for (unsigned int i = 0; i < nr_kinds; i++)
		for (int n = 0; n < count[i]; n++) {
			if (mix[i].gfp & __GFP_COMP)
				folio_put(page_folio(pages[i][n]));
			else
				__free_pages(pages[i][n], mix[i].order);
		}
}

static int chapter_physical_memory(struct tool_opts *o)
{
	static const struct alloc_mix mix[] = {
		{ "page-table pages (GFP_KERNEL, order 0)", GFP_KERNEL, 0, 64 },
		{ "user pages (GFP_HIGHUSER_MOVABLE, order 0)", GFP_HIGHUSER_MOVABLE, 0, 256 },
		{ "THPs (GFP_TRANSHUGE, order 9)", GFP_TRANSHUGE | __GFP_COMP, 9, 8 },
		{ "kernel buffers (GFP_KERNEL, order 3)", GFP_KERNEL, 3, 32 },
		{ "movable, not highmem: ZONE_NORMAL or CMA (order 2)", __GFP_MOVABLE, 2, 64 },
	};
	struct page *pages[ARRAY_SIZE(mix)][256];
	unsigned long want = 0, budget = (o->cfg.mem_bytes >> PAGE_SHIFT) / 2;
	int count[ARRAY_SIZE(mix)];

	/* on a small machine, scale the mix down to half of memory */
	for (unsigned int i = 0; i < ARRAY_SIZE(mix); i++)
		want += (unsigned long)mix[i].count << mix[i].order;
	for (unsigned int i = 0; i < ARRAY_SIZE(mix); i++)
		count[i] = want <= budget ? mix[i].count :
			   (int)max(1UL, (unsigned long)mix[i].count * budget / want);

	say(o, "== 1. Physical memory\n\n");
	say(o, "Booted: %lu MiB of memory (%lu MiB ZONE_MOVABLE, %lu MiB CMA inside ZONE_NORMAL),\n"
	       "plus %lu MiB of pmem as ZONE_DEVICE. One struct page (%zu bytes) per 4 KiB frame.\n\n",
	    o->cfg.mem_bytes >> 20, o->cfg.movable_bytes >> 20, o->cfg.cma_bytes >> 20,
	    o->cfg.pmem_bytes >> 20, sizeof(struct page));
	say(o, "Allocating a mix:\n");
	for (unsigned int i = 0; i < ARRAY_SIZE(mix); i++) {
		int in_cma = 0, in_movable = 0;

		for (int n = 0; n < count[i]; n++) {
			struct page *p = alloc_pages(mix[i].gfp, mix[i].order);

			if (!p) {
				printf("pinmm demo: allocation of %s failed\n", mix[i].what);
				count[i] = n;
				free_mix(mix, pages, count, i + 1);
				return 1;
			}
			pages[i][n] = p;
			in_cma += is_migrate_cma(get_pfnblock_migratetype(page_to_pfn(p)));
			in_movable += page_zonenum(p) == ZONE_MOVABLE;
		}
		say(o, "  %3d x %-52s zone %-7s pageblock %-9s (%d in CMA, %d in ZONE_MOVABLE)\n",
		    count[i], mix[i].what, page_zone(pages[i][0])->name,
		    block_type(pages[i][0]), in_cma, in_movable);
	}
	say(o, "\nFrames in use: %lu. Free blocks per order (/proc/buddyinfo):\n",
	    pinmm_frames_in_use());
	if (!o->quiet)
		pinmm_print_buddyinfo(stdout);
	free_mix(mix, pages, count, ARRAY_SIZE(mix));
	say(o, "\nAll freed: frames in use %lu; the buddies coalesced back into 2 MiB blocks:\n",
	    pinmm_frames_in_use());
	if (!o->quiet) {
		pinmm_print_buddyinfo(stdout);
		printf("\n");
		pinmm_print_pagetypeinfo(stdout);
	}
	return 0;
}


static long stat(const char *name)
{
	long v = 0;

	pinmm_vmstat_get(name, &v);
	return v;
}


static void show_page(struct tool_opts *o, const char *what, unsigned long addr)
{
	struct page_info pi;

	if (page_info_get(addr, 1, &pi) != 1) {
		say(o, "    %-34s (not mapped)\n", what);
		return;
	}
	say(o, "    %-34s pfn %#7lx zone %-7s block %-9s ref %-5d map %d%s%s\n", what, pi.pfn,
	    pi.zone, pi.migratetype, pi.refcount, pi.mapcount,
	    pi.maybe_dma_pinned ? "  maybe-DMA-pinned" : "",
	    pi.anon_exclusive ? "  anon-exclusive" : "");
}

static int chapter_address_spaces(struct tool_opts *o, struct task_struct *task)
{
	const unsigned long size = 8UL << 20;
	unsigned long addr, frames0 = pinmm_frames_in_use();
	struct task_struct *child;
	char c = 0;

	say(o, "\n== 2. Address spaces\n\n");
	addr = vm_mmap(NULL, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	CHECK(o, !IS_ERR_VALUE(addr), "mmap");
	get_user(c, (char __user *)addr);
	say(o, "A read of untouched private memory maps the shared zero page (read %d):\n", c);
	show_page(o, "after a read", addr);
	put_user((char)'P', (char __user *)addr);
	say(o, "A write replaces it with a zeroed movable folio:\n");
	show_page(o, "after a write", addr);
	CHECK(o, pinmm_fork(task, "child", &child) == 0, "fork");
	say(o, "After fork both map it read-only (COW); the parent writes and gets a copy:\n");
	show_page(o, "parent, before its write", addr);
	put_user((char)'Q', (char __user *)addr);
	show_page(o, "parent, after its write", addr);
	pinmm_task_attach(child);
	get_user(c, (char __user *)addr);
	show_page(o, "child (still the old page)", addr);
	say(o, "  the child reads '%c', the parent wrote 'Q'; pinmm_cow_copy %ld\n", c,
	    stat("pinmm_cow_copy"));
	pinmm_task_attach(task);
	pinmm_task_exit(child);
	CHECK(o, c == 'P', "child saw the parent's write");
	vm_munmap(addr, size);
	say(o, "munmap and the child's exit return its frames: %lu in use (%lu before the mmap;\n"
	       "  the difference is page tables the parent's mm keeps until it exits)\n",
	    pinmm_frames_in_use(), frames0);
	return 0;
}

/* Case 1 on its real ground: O_DIRECT read of a disk file into user memory. */
static int case_dio(struct tool_opts *o)
{
	const size_t len = 4 * PAGE_SIZE;
	long acq0 = stat("nr_foll_pin_acquired"), rel0 = stat("nr_foll_pin_released");
	char *data = malloc(len), buf[9] = { 0 };
	struct file *f;
	unsigned long addr;
	loff_t pos = 0;
	ssize_t n;

	CHECK(o, data, "malloc");
	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 26);
	f = filp_open("demo-data", O_RDWR | O_CREAT, 0644);
	CHECK(o, !IS_ERR(f), "filp_open");
	CHECK(o, kernel_write(f, data, len, &pos) == (ssize_t)len && !vfs_fsync(f, 0), "write");
	fput(f);
	pinmm_drop_caches();
	f = filp_open("demo-data", O_RDONLY | O_DIRECT, 0);
	CHECK(o, !IS_ERR(f), "O_DIRECT open");
	addr = vm_mmap(NULL, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	pos = 0;
	n = vfs_read(f, (char __user *)addr, len, &pos);
	copy_from_user(buf, (void __user *)(addr + PAGE_SIZE), 8);
	say(o, "Case 1, Direct I/O: read(2) of a disk file opened O_DIRECT (%s/demo-data):\n"
	       "  the buffer is pinned short-term (iov_iter_extract_pages: FOLL_PIN|FOLL_WRITE),\n"
	       "  the disk thread writes the frames, the pages are unpinned dirty.\n"
	       "  read %zd bytes with %ld pins taken and %ld released; memory at +4096: \"%s\"\n",
	    pinmm_file_dir(), n, stat("nr_foll_pin_acquired") - acq0,
	    stat("nr_foll_pin_released") - rel0, buf);
	CHECK(o, n == (ssize_t)len && !memcmp(buf, data + PAGE_SIZE, 8), "direct I/O data");
	pos = 3;
	say(o, "  a misaligned O_DIRECT read (offset 3): %zd (-EINVAL: the rule is 512 bytes)\n",
	    vfs_read(f, (char __user *)addr, 512, &pos));
	vm_munmap(addr, len);
	fput(f);
	free(data);
	return 0;
}

/* Memory other users hold, so the allocator's CMA balance rule kicks in. */
struct ballast {
	struct page **pages;
	unsigned long nr, cap;
};

static bool ballast_add(struct ballast *b, struct page *page)
{
	if (b->nr == b->cap) {
		struct page **n = realloc(b->pages, (b->cap * 2 + 64) * sizeof(*n));

		if (!n)
			return false;
		b->pages = n;
		b->cap = b->cap * 2 + 64;
	}
	b->pages[b->nr++] = page;
	return true;
}

/*
 * Take all of ZONE_MOVABLE (movable blocks) and all but @keep_mb of
 * ZONE_NORMAL's non-CMA memory (unmovable blocks), as other processes and the
 * kernel would under memory pressure. Cheap: the frames are never touched.
 */
static void ballast_fill(struct ballast *b, unsigned long keep_mb)
{
	struct zone *normal = &pinmm_zones[ZONE_NORMAL];
	struct page *page;

	while ((page = alloc_pages(GFP_HIGHUSER_MOVABLE, MAX_PAGE_ORDER))) {
		if (page_zonenum(page) != ZONE_MOVABLE || !ballast_add(b, page)) {
			__free_pages(page, MAX_PAGE_ORDER);
			break;
		}
	}
	while (zone_page_state_snapshot(normal, NR_FREE_PAGES) - zone_page_state_snapshot(normal, NR_FREE_CMA_PAGES) >
	       (long)((keep_mb << 20) >> PAGE_SHIFT) &&
	       (page = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER))) {
		if (!ballast_add(b, page)) {
			__free_pages(page, MAX_PAGE_ORDER);
			break;
		}
	}
}

static void ballast_free(struct ballast *b)
{
	for (unsigned long i = 0; i < b->nr; i++)
		__free_pages(b->pages[i], MAX_PAGE_ORDER);
	free(b->pages);
}

/*
 * Can the camera driver still get the whole CMA area? (cma_alloc()) With
 * --map, the machine is drawn as @picture while the driver holds it.
 */
static bool cma_whole_area_allocatable(struct tool_opts *o, const char *picture)
{
	unsigned long count = pinmm_zones[ZONE_NORMAL].cma_pages;
	struct page *page;
	bool quiet = pinmm_warn_set_quiet(true);
	FILE *saved = stderr;

	/* alloc_contig_range names the busy pfn on stderr; the demo says it instead */
	stderr = fopen("/dev/null", "w");
	page = cma_alloc_pages(count, 0);
	fclose(stderr);
	stderr = saved;
	pinmm_warn_set_quiet(quiet);
	if (!page)
		return false;
	demo_map(o, picture, "RDMA: cma_alloc() of the whole CMA area now succeeds");
	cma_release_pages(page, count);
	return true;
}

static int case_rdma_and_fork(struct tool_opts *o, struct task_struct *task)
{
	const size_t len = 4UL << 20;
	const unsigned long npages = len >> PAGE_SHIFT;
	struct ballast ballast = { 0 };
	struct page **short_pins;
	unsigned long addr, frames;
	struct task_struct *child;
	struct rdma_mr *mr;
	char dev[8] = { 0 }, c = 0;
	long mig0, got;
	int err;

	if (!pinmm_zones[ZONE_NORMAL].cma_pages) {
		say(o, "\nCase 2, RDMA: skipped (the machine has no CMA area; see --cma)\n");
		return 0;
	}
	ballast_fill(&ballast, 32);
	say(o, "\nCase 2, RDMA. Memory is tight: other users hold ZONE_MOVABLE and most of\n"
	       "ZONE_NORMAL, so the allocator's CMA balance rule puts new user pages in CMA:\n");
	addr = vm_mmap(NULL, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	do_madvise(current->mm, addr, len, MADV_POPULATE_WRITE);
	show_page(o, "buffer page 0", addr);

	short_pins = calloc(npages, sizeof(*short_pins));
	got = pin_user_pages_fast(addr, (int)npages, FOLL_WRITE, short_pins);
	say(o, "  While a short-term pin (Direct I/O style) holds it, the CMA area cannot be\n"
	       "  handed to its owner: cma_alloc of the whole area %s.\n",
	    cma_whole_area_allocatable(o, "rdma-0-unexpected") ? "SUCCEEDS (unexpected)" :
								 "fails with -EBUSY");
	demo_map(o, "rdma-1-before", "RDMA, before: the buffer sits in CMA, pinned short-term");
	if (got > 0)
		unpin_user_pages(short_pins, (unsigned long)got);
	free(short_pins);

	mig0 = stat("pgmigrate_success");
	err = rdma_reg_mr(addr, len, RDMA_ACCESS_LOCAL_WRITE | RDMA_ACCESS_REMOTE_WRITE, &mr);
	if (err) {
		printf("pinmm demo: FAILED: rdma_reg_mr: %s\n", strerror(-err));
		ballast_free(&ballast);
		vm_munmap(addr, len);
		return 1;
	}
	say(o, "  rdma_reg_mr(): pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM) first migrated\n"
	       "  %ld pages out of CMA to unmovable memory, then kept the pins (pinned_vm %ld):\n",
	    stat("pgmigrate_success") - mig0, (long)atomic64_read(&current->mm->pinned_vm));
	show_page(o, "buffer page 0, registered", addr);
	demo_map(o, "rdma-2-registered", "RDMA, registered: the pages left CMA, pinned long-term");
	say(o, "  With the region registered for as long as it likes, cma_alloc of the whole\n"
	       "  area %s: that is what FOLL_LONGTERM's migration is for.\n",
	    cma_whole_area_allocatable(o, "rdma-3-cma-alloc") ? "succeeds" : "FAILS (unexpected)");
	ballast_free(&ballast);
	if (!folio_is_longterm_pinnable(page_folio(mr->pages[0]))) {
		printf("pinmm demo: FAILED: the long-term pinned page is not pinnable\n");
		goto out_dereg;
	}

	say(o, "\nA pin across fork: the child must not share the pinned page, or the parent's\n"
	       "next write would COW it away from the device.\n");
	put_user((char)'1', (char __user *)addr);
	demo_map(o, "fork-1-before", "Fork with pins, before: the region pinned long-term");
	if (pinmm_fork(task, "child", &child)) {
		printf("pinmm demo: FAILED: fork\n");
		goto out_dereg;
	}
	put_user((char)'2', (char __user *)addr);
	rdma_dma_read(mr, 0, dev, 1);
	show_page(o, "parent page 0 (still the pinned one)", addr);
	pinmm_task_attach(child);
	get_user(c, (char __user *)addr);
	show_page(o, "child page 0 (a copy made at fork)", addr);
	pinmm_task_attach(task);
	say(o, "  parent wrote '2' after fork: the device reads '%c', the child reads '%c'\n",
	    dev[0], c);
	demo_map(o, "fork-2-after", "Fork with pins, after: the child has copies, the parent "
		 "the pins");
	pinmm_task_exit(child);
	if (dev[0] != '2' || c != '1') {
		printf("pinmm demo: FAILED: pin across fork\n");
		goto out_dereg;
	}

	rdma_dma_write(mr, 100, "from-the-nic", 12);
	copy_from_user(dev, (void __user *)(addr + 100), 8);
	say(o, "  the device writes; the process reads \"%.8s\" at +100\n", dev);
	frames = pinmm_frames_in_use();
	rdma_dereg_mr(mr);
	vm_munmap(addr, len);
	say(o, "  rdma_dereg_mr() unpins with the pages dirtied; munmap frees %lu frames\n",
	    frames - pinmm_frames_in_use());
	return 0;

out_dereg:	/* a failed step still leaves no pin and no mapping behind */
	rdma_dereg_mr(mr);
	vm_munmap(addr, len);
	return 1;
}

static int case_odp(struct tool_opts *o)
{
	const size_t len = 16 * PAGE_SIZE;
	unsigned long addr;
	struct odp_mr *mr;
	char buf[8];

	addr = vm_mmap(NULL, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	CHECK(o, odp_reg_mr(current->mm, addr, len, &mr) == 0, "odp_reg_mr");
	odp_dma_write(mr, 0, "odp-data", 8);
	say(o, "\nCase 3, a device that faults (ODP/HMM): no pins, an interval notifier instead.\n"
	       "  device write: %lu device faults, nr_foll_pin_acquired unchanged\n",
	    atomic_load(&mr->device_faults));
	show_page(o, "page 0, used by the device", addr);
	do_madvise(current->mm, addr, len, MADV_DONTNEED);
	say(o, "  MADV_DONTNEED: the notifier took %lu page(s) back from the device\n",
	    atomic_load(&mr->invalidations));
	odp_dma_read(mr, 0, buf, 8);
	say(o, "  the device reads again: a new fault (%lu in all), zeroes as the process sees\n",
	    atomic_load(&mr->device_faults));
	odp_dereg_mr(mr);
	vm_munmap(addr, len);
	return 0;
}

static int chapter_pinning(struct tool_opts *o, struct task_struct *task)
{
	long acq0 = stat("nr_foll_pin_acquired"), rel0 = stat("nr_foll_pin_released");

	say(o, "\n== 3. Pinning: the cases of pin_user_pages.rst\n\n");
	if (case_dio(o) || case_rdma_and_fork(o, task) || case_odp(o))
		return 1;
	say(o, "\nCase 4, struct page inspection (the page lines above) uses get_user_pages():\n"
	       "a plain reference, never a pin.\n");
	say(o, "\nPins taken in this chapter: %ld, released: %ld\n",
	    stat("nr_foll_pin_acquired") - acq0, stat("nr_foll_pin_released") - rel0);
	return 0;
}

static void print_counters(struct tool_opts *o)
{
	static const char *const names[] = {
		"nr_free_pages", "nr_free_cma", "pgalloc_normal", "pgalloc_movable", "pgfree",
		"pgfault", "pinmm_cow_copy", "pinmm_cow_reuse", "pgmigrate_success",
		"nr_file_pages", "nr_dirty", "nr_written", "pgpgin", "pgpgout",
		"pinmm_wb_pinned_inplace", "pinmm_wb_pinned_bounce", "pinmm_reclaim_pinned_skip",
		"nr_foll_pin_acquired", "nr_foll_pin_released",
	};

	say(o, "\nCounters (/proc/vmstat names):\n");
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		long v = 0;

		pinmm_vmstat_get(names[i], &v);
		printf("  %-26s %ld\n", names[i], v);
	}
}

/* pinmm demo [--map DIR]: 0, 1 after --help, -1 after the usage on stderr */
static int demo_parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "map", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	demo_map_dir = NULL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'M':
			if (!*optarg)
				goto bad;
			demo_map_dir = optarg;
			break;
		case 'h':
			printf("usage: pinmm [machine options] demo [--map DIR]\n"
			       "  --map DIR  also draw the RDMA and fork-with-pins cases before and\n"
			       "             after, as DIR/*.svg (pinmm map pictures)\n");
			return 1;
		default:
			goto bad;
		}
	}
	if (optind < argc)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "usage: pinmm [machine options] demo [--map DIR]\n");
	return -1;
}

int cmd_demo(struct tool_opts *o, int argc, char **argv)
{
	int err, ret = 0;

	err = demo_parse_opts(argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (demo_map_dir && (err = map_make_dir(demo_map_dir))) {
		fprintf(stderr, "pinmm demo: %s: %s\n", demo_map_dir, strerror(-err));
		return 1;
	}
	if (tool_boot(o, "pinmm demo"))
		return 1;
	ret |= chapter_physical_memory(o);
	if (!ret) {
		struct task_struct *task = pinmm_task_create("demo");

		pinmm_task_attach(task);
		ret |= chapter_address_spaces(o, task);
		if (!ret)
			ret |= chapter_pinning(o, task);
		if (!ret)
			ret |= chapter_files(o, task);
		pinmm_task_attach(task);
		pinmm_task_detach();
		pinmm_task_exit(task);
	}
	print_counters(o);
	err = pinmm_shutdown();
	say(o, "\nShutdown: %s\n", err ? "LEAKS (see above)" : "every frame is back on a free list");
	return ret || err ? 1 : 0;
}
