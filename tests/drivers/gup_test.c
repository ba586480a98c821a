// SPDX-License-Identifier: MIT
/*
 * drivers/gup_test.c against the rules of Linux's mm/gup_test.c:
 *
 *   GT-CMD    each command takes what it names (get_user_pages*() references
 *             or pin_user_pages*() pins, FOLL_LONGTERM for the long-term
 *             benchmark), reports the bytes it covered and both times, and
 *             gives everything back before it returns;
 *   GT-CHUNK  the range is walked nr_pages_per_call pages at a time; the walk
 *             stops at a failure (not an ioctl error) or after a short chunk,
 *             whose whole length still counts in the reported size;
 *             nr_pages_per_call 0 takes nothing and reports size 0;
 *   GT-ARG    an unknown command or a wrapping addr + size is -EINVAL, a page
 *             array over INT_MAX bytes -ENOMEM with kvmalloc's WARN; the
 *             request is not written back on an error;
 *   GT-DUMP   DUMP_USER_PAGES_TEST dump_page()s the chosen 1-based pages while
 *             it holds them, zeroing indices past what it took;
 *   GT-LT     PIN_LONGTERM_TEST_START pins the whole range long-term or nothing
 *             (-EINVAL if pins are held, flags unknown, the range unaligned,
 *             empty or above LONG_MAX; the GUP error otherwise), READ copies the
 *             pinned frames (-EINVAL before START), STOP always returns 0, and
 *             closing the file drops the pins;
 *   R-LT      a long-term pin migrates pages out of ZONE_MOVABLE first, and the
 *             process keeps using the very page the device holds.
 *
 * Every case ends with the teardown check: pin counters balance, every frame free.
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <errno.h>
#include <pinmm/bug.h>
#include <pinmm/gup.h>
#include <pinmm/gup_test.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <stdlib.h>
#include <string.h>

#define BASE		0x700000000UL
#define NPAGES		64UL
#define POISON_USEC	0xdeadbeefdeadbeefULL

static long acquired(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
}

static long pins_live(void)
{
	return acquired() - global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
}

static struct task_struct *setup(const char *name)
{
	test_boot(128, 32, 16);
	return test_process(name);
}

static void teardown(struct task_struct *t, const char *name)
{
	pinmm_task_detach();
	pinmm_task_exit(t);
	test_shutdown_ok(name);
}

/* The CPU writes @seed's pattern over @npages of user memory at @addr. */
static void write_pattern(unsigned long addr, unsigned long npages, unsigned char seed)
{
	size_t len = npages << PAGE_SHIFT;
	unsigned char *buf = malloc(len);

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 13 + i / PAGE_SIZE);
	if (copy_to_user((void __user *)addr, buf, len))
		bail_out("copy_to_user");
	free(buf);
}

/* @npages of anonymous memory at @addr, written with @seed's pattern. */
static void map_filled(unsigned long addr, unsigned long npages, unsigned char seed)
{
	test_mmap_fixed(addr, npages << PAGE_SHIFT, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	write_pattern(addr, npages, seed);
}

/* Do the @len bytes of host memory @p hold @seed's pattern? */
static bool pattern_ok(const unsigned char *p, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 13 + i / PAGE_SIZE))
			return false;
	return true;
}

static bool user_pattern_ok(unsigned long addr, size_t len, unsigned char seed)
{
	unsigned char *buf = malloc(len);
	bool same = !copy_from_user(buf, (const void __user *)addr, len) &&
		    pattern_ok(buf, len, seed);

	free(buf);
	return same;
}

static struct gup_test request(unsigned long addr, unsigned long size, uint32_t per_call)
{
	return (struct gup_test){
		.get_delta_usec = POISON_USEC, .put_delta_usec = POISON_USEC,
		.addr = addr, .size = size, .nr_pages_per_call = per_call,
		.gup_flags = FOLL_WRITE,
	};
}

static struct page *page_at(unsigned long addr)
{
	unsigned long pfn = test_pt_pfn(current->mm, addr);

	return pfn == -1UL ? NULL : pfn_to_page(pfn);
}

/* GT-CMD: the five benchmark/basic commands, one fresh mapping each. */
static void test_commands(void)
{
	static const struct {
		unsigned int cmd;
		const char *name;
		bool pins, longterm;
	} cmds[] = {
		{ GUP_FAST_BENCHMARK, "GUP_FAST_BENCHMARK", false, false },
		{ PIN_FAST_BENCHMARK, "PIN_FAST_BENCHMARK", true, false },
		{ PIN_LONGTERM_BENCHMARK, "PIN_LONGTERM_BENCHMARK", true, true },
		{ GUP_BASIC_TEST, "GUP_BASIC_TEST", false, false },
		{ PIN_BASIC_TEST, "PIN_BASIC_TEST", true, false },
	};
	struct task_struct *t = setup("gup_test-commands");
	struct gup_test_file *f = gup_test_open();

	for (size_t c = 0; c < ARRAY_SIZE(cmds); c++) {
		unsigned long addr = BASE + c * PMD_SIZE;
		struct gup_test g = request(addr, NPAGES << PAGE_SHIFT, 8);
		long acq0, live0 = pins_live();
		unsigned long warns = pinmm_warn_count();
		struct page *before;
		int ref0;
		uint64_t get_ns = 0, put_ns = 0;

		map_filled(addr, NPAGES, (unsigned char)c);
		before = page_at(addr);
		ref0 = page_ref_count(before);
		ok(page_zonenum(before) == ZONE_MOVABLE, "%s: setup: the pages start in ZONE_MOVABLE",
		   cmds[c].name);
		acq0 = acquired();
		is_int(gup_test_ioctl(f, cmds[c].cmd, &g), 0, "GT-CMD: %s returns 0", cmds[c].name);
		is_uint(g.size, NPAGES << PAGE_SHIFT, "GT-CMD: %s reports the whole range covered",
			cmds[c].name);
		ok(g.get_delta_usec != POISON_USEC && g.put_delta_usec != POISON_USEC,
		   "GT-CMD: %s writes get_delta_usec and put_delta_usec back", cmds[c].name);
		pinmm_gup_test_times(f, &get_ns, &put_ns);
		ok(get_ns / 1000 == g.get_delta_usec && put_ns / 1000 == g.put_delta_usec,
		   "GT-CMD: %s: the ns times are the usec times before rounding", cmds[c].name);
		/* R-LT: pages in ZONE_MOVABLE are pinned, all unpinned, migrated, pinned again */
		is_int(acquired() - acq0, cmds[c].longterm ? 2 * (long)NPAGES :
		       cmds[c].pins ? (long)NPAGES : 0,
		       "GT-CMD, R-VMSTAT: %s moves nr_foll_pin_acquired by %s", cmds[c].name,
		       cmds[c].longterm ? "two per page (pinned, dropped to migrate, pinned again)" :
		       cmds[c].pins ? "one per page (FOLL_PIN)" : "nothing (FOLL_GET references)");
		is_int(pins_live(), live0, "GT-CMD: %s released every pin it took", cmds[c].name);
		is_uint(pinmm_warn_count(), warns, "GT-CMD: %s: no WARN (every pinned page was "
			"maybe-DMA-pinned%s)", cmds[c].name,
			cmds[c].longterm ? " and long-term pinnable" : "");
		if (cmds[c].longterm) {
			struct page *after = page_at(addr);

			ok(after != before && page_zonenum(after) != ZONE_MOVABLE,
			   "R-LT: PIN_LONGTERM_BENCHMARK migrated the page out of ZONE_MOVABLE");
			ok(user_pattern_ok(addr, NPAGES << PAGE_SHIFT, (unsigned char)c),
			   "R-LT: the migrated pages kept their data");
		} else {
			is_ptr(page_at(addr), before, "GT-CMD: %s left the page where it was",
			       cmds[c].name);
			is_int(page_ref_count(before), ref0, "GT-CMD, R-CNT: %s gave back every %s",
			       cmds[c].name, cmds[c].pins ? "GUP_PIN_COUNTING_BIAS" : "reference");
		}
	}
	gup_test_release(f);
	teardown(t, "commands");
}

/* GT-CHUNK: how the range is cut, and what size says afterwards. */
static void test_chunks(void)
{
	struct task_struct *t = setup("gup_test-chunks");
	struct gup_test_file *f = gup_test_open();
	const unsigned long len = NPAGES << PAGE_SHIFT;
	struct gup_test g;
	long acq0;

	map_filled(BASE, NPAGES, 1);

	g = request(BASE, len, 0);
	acq0 = acquired();
	is_int(gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g), 0,
	       "GT-CHUNK: nr_pages_per_call 0 is not an error");
	is_uint(g.size, 0, "GT-CHUNK: nr_pages_per_call 0 reports size 0");
	is_int(acquired() - acq0, 0, "GT-CHUNK: nr_pages_per_call 0 pins nothing");
	ok(g.get_delta_usec != POISON_USEC, "GT-CHUNK: nr_pages_per_call 0 still reports its times");

	g = request(BASE, len, 1000);
	acq0 = acquired();
	is_int(gup_test_ioctl(f, PIN_BASIC_TEST, &g), 0,
	       "GT-CHUNK: nr_pages_per_call above the range's pages is not an error");
	is_uint(g.size, len, "GT-CHUNK: nr_pages_per_call 1000 over 64 pages is cut at the end "
		"and covers them all");
	is_int(acquired() - acq0, NPAGES, "GT-CHUNK: ... pinning each page once");

	g = request(BASE, len, 5);
	acq0 = acquired();
	gup_test_ioctl(f, GUP_FAST_BENCHMARK, &g);
	is_uint(g.size, len, "GT-CHUNK: chunks of 5 pages over 64: the last chunk of 4 is cut "
		"at the end, all covered");

	g = request(BASE, 3 * PAGE_SIZE + 1, 1);
	acq0 = acquired();
	gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g);
	is_uint(g.size, 3 * PAGE_SIZE, "GT-CHUNK: size 3 pages + 1 byte, 1 page per call: the "
		"0-page last chunk ends the walk at 3 pages");
	is_int(acquired() - acq0, 3, "GT-CHUNK: ... with 3 pages pinned");
	g = request(BASE, 3 * PAGE_SIZE + 1, 4);
	acq0 = acquired();
	gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g);
	is_uint(g.size, 3 * PAGE_SIZE + 1, "GT-CHUNK: size 3 pages + 1 byte, 4 per call: the cut "
		"chunk runs to the end, the odd byte included");
	is_int(acquired() - acq0, 3, "GT-CHUNK: ... with 3 pages pinned");

	/* 8 pages mapped, a hole of 2, 6 mapped again */
	map_filled(BASE + PMD_SIZE, 8, 2);
	map_filled(BASE + PMD_SIZE + 10 * PAGE_SIZE, 6, 2);
	g = request(BASE + PMD_SIZE, 16 * PAGE_SIZE, 5);
	acq0 = acquired();
	is_int(gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g), 0,
	       "GT-CHUNK: a hole in the range is not an ioctl error");
	is_uint(g.size, 10 * PAGE_SIZE, "GT-CHUNK: 5 per call, hole after 8 pages: the short "
		"second chunk (3 of 5) counts whole and ends the walk, size 10 pages");
	is_int(acquired() - acq0, 8,
	       "GT-CHUNK: ... and exactly the 8 pages before the hole were pinned");
	g = request(BASE + PMD_SIZE, 16 * PAGE_SIZE, 4);
	gup_test_ioctl(f, PIN_BASIC_TEST, &g);
	is_uint(g.size, 8 * PAGE_SIZE, "GT-CHUNK: 4 per call, hole after 8 pages: the failed "
		"third chunk does not count, size 8 pages");
	g = request(BASE + 4 * PMD_SIZE, len, 1);
	is_int(gup_test_ioctl(f, GUP_BASIC_TEST, &g), 0,
	       "GT-CHUNK: an unmapped range is not an ioctl error");
	is_uint(g.size, 0, "GT-CHUNK: ... it reports size 0");
	is_int(pins_live(), 0, "GT-CHUNK: no pin left behind by any walk");
	gup_test_release(f);

	/* the file keeps its page array between calls: a larger call must get a larger one */
	f = gup_test_open();
	g = request(BASE, 2 * PAGE_SIZE, 1);
	gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g);
	g = request(BASE, len, (uint32_t)NPAGES);
	acq0 = acquired();
	is_int(gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g), 0,
	       "GT-CHUNK: 64 pages after 2 on the same file succeeds");
	ok(g.size == len && acquired() - acq0 == (long)NPAGES,
	   "GT-CHUNK: ... covering and pinning all 64 (the page array grew)");
	gup_test_release(f);
	teardown(t, "chunks");
}

/* GT-ARG: bad requests fail with Linux's errno, write nothing back, take nothing. */
static void test_bad_input(void)
{
	struct task_struct *t = setup("gup_test-bad");
	struct gup_test_file *f = gup_test_open();
	struct gup_test g, saved;
	unsigned long warns;
	long acq0;

	map_filled(BASE, NPAGES, 3);
	acq0 = acquired();

	g = request(BASE, PAGE_SIZE, 1);
	is_int(gup_test_ioctl(f, _IOWR('g', 10, struct gup_test), &g), -EINVAL,
	       "GT-ARG: an unknown command is -EINVAL");
	is_int(gup_test_ioctl(f, 0, &g), -EINVAL, "GT-ARG: command 0 is -EINVAL");
	is_int(gup_test_ioctl(f, GUP_FAST_BENCHMARK, NULL), -EFAULT,
	       "GT-ARG: a NULL request is -EFAULT (copy_from_user)");

	g = saved = request(BASE, -PAGE_SIZE, 1);
	is_int(gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g), -EINVAL,
	       "GT-ARG: a negative size (addr + size wraps) is -EINVAL");
	ok(!memcmp(&g, &saved, sizeof(g)), "GT-ARG: ... and the request is not written back");
	g = saved = request(-2 * PAGE_SIZE, 3 * PAGE_SIZE, 1);
	is_int(gup_test_ioctl(f, PIN_BASIC_TEST, &g), -EINVAL,
	       "GT-ARG: addr + size past 2^64 is -EINVAL");
	ok(!memcmp(&g, &saved, sizeof(g)), "GT-ARG: ... and the request is not written back");

	warns = pinmm_warn_count();
	quiet_stderr_begin();
	g = saved = request(BASE, 1UL << 40, 1);
	is_int(gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g), -ENOMEM,
	       "GT-ARG: a 1 TiB range (a 2 GiB page array, over INT_MAX) is -ENOMEM");
	quiet_stderr_end();
	is_uint(pinmm_warn_count(), warns + 1, "GT-ARG: ... with kvmalloc()'s WARN");
	ok(!memcmp(&g, &saved, sizeof(g)), "GT-ARG: ... and the request is not written back");

	g = request(BASE, 1UL << 30, 512);
	is_int(gup_test_ioctl(f, PIN_FAST_BENCHMARK, &g), 0,
	       "GT-ARG: a 1 GiB range over a 64-page mapping is walked, not refused");
	is_uint(g.size, 512 * PAGE_SIZE, "GT-ARG: ... the first chunk came back short (64 of "
		"512): size is that one chunk");

	warns = pinmm_warn_count();
	quiet_stderr_begin();
	g = request(BASE, NPAGES << PAGE_SHIFT, 1);
	g.gup_flags |= FOLL_PIN;
	is_int(gup_test_ioctl(f, GUP_BASIC_TEST, &g), 0,
	       "GT-ARG: an internal gup flag (FOLL_PIN) fails in GUP, not in the ioctl");
	quiet_stderr_end();
	is_uint(g.size, 0, "GT-ARG, R-ARG: ... GUP refused the first chunk: size 0");
	ok(pinmm_warn_count() > warns, "GT-ARG, R-ARG: ... with GUP's WARN");

	is_int(acquired() - acq0, 64, "GT-ARG: only the walk of the valid range pinned anything");
	is_int(pins_live(), 0, "GT-ARG: nothing left pinned by the bad requests");
	ok(user_pattern_ok(BASE, NPAGES << PAGE_SHIFT, 3), "GT-ARG: the mapping's data is intact");
	gup_test_release(f);
	teardown(t, "bad input");
}

/* dump_page()'s first line for @page, as the test looks for it. */
static bool dumped(const char *out, struct page *page)
{
	char key[64];

	snprintf(key, sizeof(key), "page: pfn:%#lx ", page_to_pfn(page));
	return strstr(out, key);
}

/* GT-DUMP: the chosen pages are dumped, while held, others not. */
static void test_dump(void)
{
	struct task_struct *t = setup("gup_test-dump");
	struct gup_test_file *f = gup_test_open();
	struct page *p[4];
	struct gup_test g;
	long acq0;
	char *out;

	map_filled(BASE, 4, 4);
	for (int i = 0; i < 4; i++)
		p[i] = page_at(BASE + i * PAGE_SIZE);

	for (int pin = 0; pin < 2; pin++) {
		const char *how = pin ? "with GUP_TEST_FLAG_DUMP_PAGES_USE_PIN" : "by default";

		g = request(BASE, 4 * PAGE_SIZE, 1);
		g.which_pages[0] = 1;
		g.which_pages[2] = 3;
		g.which_pages[3] = 9;
		g.test_flags = pin ? GUP_TEST_FLAG_DUMP_PAGES_USE_PIN : 0;
		acq0 = acquired();
		capture_stderr_begin();
		is_int(gup_test_ioctl(f, DUMP_USER_PAGES_TEST, &g), 0,
		       "GT-DUMP: DUMP_USER_PAGES_TEST returns 0 (%s)", how);
		out = capture_stderr_end();
		ok(dumped(out, p[0]) && dumped(out, p[2]),
		   "GT-DUMP: pages 1 and 3 (1-based) are dump_page()d (%s)", how);
		ok(!dumped(out, p[1]) && !dumped(out, p[3]),
		   "GT-DUMP: a 0 slot dumps nothing, and no page is dumped unasked (%s)", how);
		ok(strstr(out, "gup_test: page #0 ") && strstr(out, "gup_test: page #2 "),
		   "GT-DUMP: each dump is headed by its 0-based page number (%s)", how);
		ok(strstr(out, "which_pages[3] = 9"), "GT-DUMP: an index past the range is reported "
		   "(%s)", how);
		ok(g.which_pages[0] == 1 && g.which_pages[2] == 3 && g.which_pages[3] == 0,
		   "GT-DUMP: ... and comes back zeroed, the valid ones kept (%s)", how);
		is_int(!!strstr(out, "maybe DMA-pinned"), pin,
		       "GT-DUMP: the dump shows the page %s while it is held (%s)",
		       pin ? "pinned" : "not pinned", how);
		is_int(acquired() - acq0, pin ? 4 : 0, "GT-DUMP: %s (%s)",
		       pin ? "pin_user_pages() pinned every page of the range" :
		       "get_user_pages() took references, no pins", how);
		is_int(pins_live(), 0, "GT-DUMP: all released afterwards (%s)", how);
		free(out);
	}
	gup_test_release(f);
	teardown(t, "dump");
}

static int lt_start(struct gup_test_file *f, unsigned long addr, unsigned long size,
		    uint32_t flags)
{
	struct pin_longterm_test req = { .addr = addr, .size = size, .flags = flags };

	return (int)gup_test_ioctl(f, PIN_LONGTERM_TEST_START, &req);
}

static int lt_read(struct gup_test_file *f, unsigned long uaddr)
{
	uint64_t a = uaddr;

	return (int)gup_test_ioctl(f, PIN_LONGTERM_TEST_READ, &a);
}

/* GT-LT: the START/STOP/READ state machine and its -EINVAL rules. */
static void test_longterm_states(void)
{
	struct task_struct *t = setup("gup_test-lt");
	struct gup_test_file *f = gup_test_open(), *f2 = gup_test_open();
	const unsigned long buf = BASE + 8 * PMD_SIZE;
	struct pin_longterm_test req;

	map_filled(BASE, 8, 5);
	map_filled(BASE + PMD_SIZE, 4, 6);	/* then a hole */
	test_mmap_fixed(buf, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);

	is_int(lt_read(f, buf), -EINVAL, "GT-LT: READ before START is -EINVAL");
	is_int((int)gup_test_ioctl(f, PIN_LONGTERM_TEST_STOP, NULL), 0,
	       "GT-LT: STOP with nothing pinned returns 0");
	is_int(lt_start(f, BASE, 8 * PAGE_SIZE, 4), -EINVAL, "GT-LT: an unknown flag is -EINVAL");
	is_int(lt_start(f, BASE + 1, 8 * PAGE_SIZE, 0), -EINVAL,
	       "GT-LT: an unaligned address is -EINVAL");
	is_int(lt_start(f, BASE, 8 * PAGE_SIZE - 1, 0), -EINVAL,
	       "GT-LT: an unaligned size is -EINVAL");
	is_int(lt_start(f, BASE, 0, 0), -EINVAL, "GT-LT: an empty range is -EINVAL");
	is_int(lt_start(f, BASE, 1UL << 63, 0), -EINVAL, "GT-LT: a size above LONG_MAX is -EINVAL");
	is_int((int)gup_test_ioctl(f, PIN_LONGTERM_TEST_START, NULL), -EFAULT,
	       "GT-LT: a NULL request is -EFAULT");
	is_int(lt_start(f, BASE + 4 * PMD_SIZE, 8 * PAGE_SIZE, 0), -EFAULT,
	       "GT-LT: START on unmapped memory returns GUP's -EFAULT");
	is_int(lt_start(f, BASE + PMD_SIZE, 8 * PAGE_SIZE, PIN_LONGTERM_TEST_FLAG_USE_WRITE),
	       -EFAULT, "GT-LT: START over a hole after 4 mapped pages returns -EFAULT");
	is_int(lt_start(f, -2 * PAGE_SIZE, 4 * PAGE_SIZE, PIN_LONGTERM_TEST_FLAG_USE_FAST) < 0, 1,
	       "GT-LT: START on a range wrapping past 2^64 fails (GUP-fast)");
	is_int(pins_live(), 0, "GT-LT: no refused or failed START left a pin (all or nothing)");
	is_int(lt_read(f, buf), -EINVAL, "GT-LT: ... and READ still says nothing is held");

	is_int(lt_start(f, BASE, 8 * PAGE_SIZE, 0), 0, "GT-LT: START on 8 mapped pages succeeds");
	is_int(pins_live(), 8, "GT-LT: ... and holds one pin per page after returning");
	is_int(lt_start(f, BASE, 4 * PAGE_SIZE, PIN_LONGTERM_TEST_FLAG_USE_WRITE), -EINVAL,
	       "GT-LT: START while pins are held is -EINVAL");
	is_int(pins_live(), 8, "GT-LT: ... and keeps the first START's pins, no more");
	is_int(lt_read(f, buf), 0, "GT-LT: READ returns 0");
	ok(user_pattern_ok(buf, 8 * PAGE_SIZE, 5), "GT-LT: READ copied what the pinned frames hold");
	is_int(lt_read(f, BASE + 4 * PMD_SIZE), -EFAULT,
	       "GT-LT: READ to an unmapped user address is -EFAULT");
	is_int((int)gup_test_ioctl(f, PIN_LONGTERM_TEST_READ, NULL), -EFAULT,
	       "GT-LT: READ with a NULL argument is -EFAULT");
	is_int(pins_live(), 8, "GT-LT: a failed READ keeps the pins");

	is_int(lt_start(f2, BASE, 4 * PAGE_SIZE, PIN_LONGTERM_TEST_FLAG_USE_FAST), 0,
	       "GT-LT: another open file has its own state: its START succeeds");
	is_int(pins_live(), 12, "GT-LT: ... with its own pins");

	is_int((int)gup_test_ioctl(f, PIN_LONGTERM_TEST_STOP, NULL), 0, "GT-LT: STOP returns 0");
	is_int(pins_live(), 4, "GT-LT: STOP unpinned this file's pages, not the other's");
	is_int((int)gup_test_ioctl(f, PIN_LONGTERM_TEST_STOP, NULL), 0,
	       "GT-LT: STOP again returns 0");
	is_int(lt_read(f, buf), -EINVAL, "GT-LT: READ after STOP is -EINVAL");
	req = (struct pin_longterm_test){ .addr = BASE, .size = 8 * PAGE_SIZE,
		.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_LONGTERM_TEST_FLAG_USE_FAST };
	is_int((int)gup_test_ioctl(f, PIN_LONGTERM_TEST_START, &req), 0,
	       "GT-LT: START after STOP succeeds (write + fast)");
	is_int(pins_live(), 12, "GT-LT: ... holding 8 pins again");

	gup_test_release(f);
	is_int(pins_live(), 4, "GT-LT: closing the file drops its pins");
	gup_test_release(f2);
	is_int(pins_live(), 0, "GT-LT: closing the other drops its pins too");
	gup_test_release(NULL);
	teardown(t, "long-term states");
}

/*
 * R-LT through the driver: START on pages in ZONE_MOVABLE migrates them
 * first; the pinned frames are then the process's own pages, for every
 * combination of R/O or R/W and slow or fast.
 */
static void test_longterm_movable(void)
{
	struct task_struct *t = setup("gup_test-movable");
	const unsigned long buf = BASE + 8 * PMD_SIZE;
	static const char *const names[] = { "R/O", "R/W", "R/O fast", "R/W fast" };
	long mig0 = (long)global_vm_event(PGMIGRATE_SUCCESS);

	test_mmap_fixed(buf, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	for (uint32_t flags = 0; flags < 4; flags++) {
		struct gup_test_file *f = gup_test_open();
		unsigned long addr = BASE + flags * PMD_SIZE;
		bool movable = true, moved = true;
		struct page *before[16];

		map_filled(addr, 16, (unsigned char)(10 + flags));
		for (int i = 0; i < 16; i++) {
			before[i] = page_at(addr + i * PAGE_SIZE);
			movable &= page_zonenum(before[i]) == ZONE_MOVABLE;
		}
		ok(movable, "R-LT %s: setup: the 16 pages start in ZONE_MOVABLE", names[flags]);
		is_int(lt_start(f, addr, 16 * PAGE_SIZE, flags), 0, "R-LT %s: START succeeds",
		       names[flags]);
		for (int i = 0; i < 16; i++) {
			struct page *now = page_at(addr + i * PAGE_SIZE);

			moved &= now && now != before[i] && page_zonenum(now) != ZONE_MOVABLE &&
				 folio_maybe_dma_pinned(page_folio(now));
		}
		ok(moved, "R-LT %s: every page was migrated out of ZONE_MOVABLE, and the one now "
		   "mapped is the pinned one", names[flags]);
		is_int(lt_read(f, buf), 0, "R-LT %s: READ returns 0", names[flags]);
		ok(user_pattern_ok(buf, 16 * PAGE_SIZE, (unsigned char)(10 + flags)),
		   "R-LT %s: the device sees the data written before the migration", names[flags]);
		write_pattern(addr, 16, (unsigned char)(20 + flags));
		is_int(lt_read(f, buf), 0, "R-LT %s: READ after a CPU write returns 0", names[flags]);
		ok(user_pattern_ok(buf, 16 * PAGE_SIZE, (unsigned char)(20 + flags)),
		   "R-LT %s: the device sees what the process wrote after the pin (no COW "
		   "split between them)", names[flags]);
		gup_test_release(f);
	}
	ok((long)global_vm_event(PGMIGRATE_SUCCESS) - mig0 >= 64,
	   "R-LT: pgmigrate_success counted the 64 migrations");
	is_int(pins_live(), 0, "GT-LT: closing each file dropped its pins");
	teardown(t, "long-term movable");
}

int main(void)
{
	plan_no_plan();
	test_commands();
	test_chunks();
	test_bad_input();
	test_dump();
	test_longterm_states();
	test_longterm_movable();
	return done_testing();
}
