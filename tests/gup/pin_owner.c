// SPDX-License-Identifier: MIT
/*
 * Pin owners (beyond Linux; issue 12 item 4, docs/pin-owners.md; Android's
 * page_pinner is the nearest kernel relative). Rules checked:
 *
 *   O-SITE    every pin entry point (fast, slow, unlocked, remote, long-term,
 *             memfd_pin_folios, folio_add_pin(s), a driver) records the call
 *             site that took it (file:line, function) and the task;
 *   O-REL     every unpin variant releases the record (unpin_user_page(s),
 *             _dirty_lock, unpin_user_page_range_dirty_lock, unpin_folio(s),
 *             unpin_user_folio), matching by folio, not by site;
 *   O-SHARED  a folio pinned by two sites counts for both, and any release
 *             of its pins leaves the two sites' total right;
 *   O-LT      a long-term pin (pin_user_pages, memfd_pin_folios) that had to
 *             migrate out of ZONE_MOVABLE is listed as such, and only then;
 *   O-LEAK    mm exit and shutdown name the call site of pins still held;
 *   O-SHOW    pinmm_pins_show() lists sites longest held first;
 *   O-SWITCH  the switch refuses while pins are outstanding; off records nothing.
 */
#include "helpers.h"

#include <pinmm/drivers.h>
#include <pinmm/fs.h>
#include <pinmm/pin_owner.h>
#include <pinmm/shmem_fs.h>
#include <time.h>

#define MAX_SITES	32

/* What pinmm_pins_sites() says about the site at @file:@line (zeroed if none). */
static struct pinmm_pin_site_info site_at(const char *file, int line)
{
	struct pinmm_pin_site_info info[MAX_SITES], none = { 0 };
	int nr = pinmm_pins_sites(info, MAX_SITES);

	for (int i = 0; i < nr && i < MAX_SITES; i++)
		if (info[i].site->line == line && !strcmp(info[i].site->file, file))
			return info[i];
	return none;
}

static long pins_at(int line)
{
	return site_at(__FILE__, line).pins;
}

static int nr_sites(void)
{
	return pinmm_pins_sites(NULL, 0);
}

/* @line is set to the line of the call, which is the line its site records. */
#define AT(line, call)	((line) = __LINE__, (call))

enum entry { E_FAST, E_SLOW, E_UNLOCKED, E_REMOTE, E_LONGTERM, NR_ENTRIES };
static const char *const entry_name[] = {
	"pin_user_pages_fast", "pin_user_pages", "pin_user_pages_unlocked",
	"pin_user_pages_remote", "pin_user_pages(FOLL_LONGTERM)",
};
static const char *const entry_func[] = {
	"pin_entry", "pin_entry", "pin_entry", "pin_entry", "pin_entry",
};

/* Pin @n pages at @addr through entry point @e; *@line gets the call's line. */
static long pin_entry(enum entry e, unsigned long addr, unsigned long n, struct page **pages,
		      int *line)
{
	struct mm_struct *mm = current->mm;
	long r = 0;

	switch (e) {
	case E_FAST:
		return AT(*line, pin_user_pages_fast(addr, (int)n, FOLL_WRITE, pages));
	case E_SLOW:
		mmap_read_lock(mm);
		r = AT(*line, pin_user_pages(addr, n, FOLL_WRITE, pages));
		mmap_read_unlock(mm);
		return r;
	case E_UNLOCKED:
		return AT(*line, pin_user_pages_unlocked(addr, n, pages, FOLL_WRITE));
	case E_REMOTE:
		mmap_read_lock(mm);
		r = AT(*line, pin_user_pages_remote(mm, addr, n, FOLL_WRITE, pages, NULL));
		mmap_read_unlock(mm);
		return r;
	case E_LONGTERM:
		mmap_read_lock(mm);
		r = AT(*line, pin_user_pages(addr, n, FOLL_WRITE | FOLL_LONGTERM, pages));
		mmap_read_unlock(mm);
		return r;
	default:
		return -EINVAL;
	}
}

enum unpin { U_PAGE, U_PAGES, U_DIRTY, U_RANGE, U_FOLIO, U_FOLIOS, U_USER_FOLIO, NR_UNPINS };
static const char *const unpin_name[] = {
	"unpin_user_page", "unpin_user_pages", "unpin_user_pages_dirty_lock",
	"unpin_user_page_range_dirty_lock", "unpin_folio", "unpin_folios", "unpin_user_folio",
};

/* Release @n pins of pages[] (consecutive pages of one mapping) with variant @u. */
static void unpin_variant(enum unpin u, struct page **pages, unsigned long n)
{
	struct folio *folios[64];

	switch (u) {
	case U_PAGE:
		for (unsigned long i = 0; i < n; i++)
			unpin_user_page(pages[i]);
		break;
	case U_PAGES:
		unpin_user_pages(pages, n);
		break;
	case U_DIRTY:
		unpin_user_pages_dirty_lock(pages, n, true);
		break;
	case U_RANGE:
		/* physically contiguous runs only: one call per page is always that */
		for (unsigned long i = 0; i < n; i++)
			unpin_user_page_range_dirty_lock(pages[i], 1, true);
		break;
	case U_FOLIO:
		for (unsigned long i = 0; i < n; i++)
			unpin_folio(page_folio(pages[i]));
		break;
	case U_FOLIOS:
		for (unsigned long i = 0; i < n; i++)
			folios[i] = page_folio(pages[i]);
		unpin_folios(folios, n);
		break;
	case U_USER_FOLIO:
		for (unsigned long i = 0; i < n; i++)
			unpin_user_folio(page_folio(pages[i]), 1);
		break;
	default:
		break;
	}
}

/* O-SITE and O-REL: each entry point with each release variant, small folios. */
static void entries_and_unpins(void)
{
	const unsigned long addr = GT_BASE, n = 8;
	struct page *pages[8];
	struct task_struct *t;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("owners");
	test_mmap_fixed(addr, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, n * PAGE_SIZE);
	ok(pinmm_pin_owner_enabled(), "O-SWITCH: owner records are on by default");
	for (int e = 0; e < NR_ENTRIES; e++) {
		for (int u = 0; u < NR_UNPINS; u++) {
			struct pinmm_pin_site_info si;
			int line = 0;
			long r = pin_entry(e, addr, n, pages, &line);

			si = site_at(__FILE__, line);
			ok(r == (long)n && si.pins == (long)n && si.calls == 1 && si.tasks == 1 &&
			   si.pid == t->pid && !strcmp(si.site->func, entry_func[e]),
			   "O-SITE: %s records %lu pins at its call site (line %d, %s(), pid %d); "
			   "got %ld pins, %ld calls", entry_name[e], n, line, entry_func[e],
			   t->pid, si.pins, si.calls);
			is_int(si.longterm, e == E_LONGTERM ? (long)n : 0,
			       "O-SITE: %s: long-term pins are marked long-term, others not",
			       entry_name[e]);
			is_int(si.migrated, 0, "O-LT: %s of pinnable memory migrated nothing and "
			       "is not listed as migrated", entry_name[e]);
			unpin_variant(u, pages, r > 0 ? (unsigned long)r : 0);
			ok(pins_at(line) == 0 && nr_sites() == 0,
			   "O-REL: %s releases the record of %s", unpin_name[u], entry_name[e]);
		}
	}
	gt_teardown("entries_and_unpins", &t, 1);
}

/* O-SITE/O-REL on a THP: one record per folio, 512 pins, released in parts. */
static void thp_owner(void)
{
	const unsigned long addr = GT_BASE;
	static struct page *pages[HPAGE_PMD_NR];
	struct task_struct *t;
	int line = 0;
	long r;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("owners-thp");
	if (!gt_thp(addr)) {
		skip(6, "no THP");
		gt_teardown("thp_owner", &t, 1);
		return;
	}
	r = AT(line, pin_user_pages_fast(addr, HPAGE_PMD_NR, FOLL_WRITE, pages));
	is_int(pins_at(line), r, "O-SITE: a THP pinned by GUP-fast: one pin per page recorded");
	unpin_user_pages(pages, 100);
	is_int(pins_at(line), r - 100, "O-REL: unpin_user_pages of part of a THP releases that part");
	unpin_user_folio(page_folio(pages[0]), (unsigned long)r - 100);
	ok(pins_at(line) == 0 && nr_sites() == 0,
	   "O-REL: unpin_user_folio releases the rest of the THP's record");
	{
		static struct page *more[HPAGE_PMD_NR];
		int l2 = 0;

		r = AT(line, pin_user_pages_fast(addr, 8, FOLL_WRITE, pages));
		AT(l2, pin_user_pages_fast(addr + 8 * PAGE_SIZE, 8, FOLL_WRITE, more));
		ok(pins_at(line) == 8 && pins_at(l2) == 8,
		   "O-SHARED: two GUP-fast sites on one THP (its _pincount) are both listed");
		unpin_user_pages(pages, 8);
		is_int(pins_at(line) + pins_at(l2), 8,
		       "O-SHARED: releasing one site's part of the THP leaves the other's 8");
		unpin_user_pages(more, 8);
		ok(nr_sites() == 0, "O-SHARED: both parts of the THP released");
	}
	gt_teardown("thp_owner", &t, 1);
}

/* O-SHARED: two sites on the same pages; releases matched by folio. */
static void shared_folios(void)
{
	const unsigned long addr = GT_BASE, n = 4;
	struct page *a[4], *b[4];
	struct task_struct *t;
	int la = 0, lb = 0, lc = 0, ld = 0;
	struct folio *f;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("owners-shared");
	test_mmap_fixed(addr, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, n * PAGE_SIZE);
	AT(la, pin_user_pages_fast(addr, (int)n, FOLL_WRITE, a));
	AT(lb, pin_user_pages_unlocked(addr, n, b, FOLL_WRITE));
	ok(pins_at(la) == (long)n && pins_at(lb) == (long)n && nr_sites() == 2,
	   "O-SHARED: two sites pinning the same folios are both listed with their counts");
	f = page_folio(a[0]);
	AT(lc, folio_add_pin(f));
	is_int(pins_at(lc), 1, "O-SITE: folio_add_pin records its own call site");
	AT(ld, folio_add_pins(f, 2));
	is_int(pins_at(ld), 2, "O-SITE: folio_add_pins records its own call site");
	/* release with the first site's array: the youngest records go first */
	unpin_user_pages(a, n);
	is_int(pins_at(la) + pins_at(lb) + pins_at(lc) + pins_at(ld), (long)n + 3,
	       "O-SHARED: releasing n pins by folio leaves exactly the other n+3 recorded");
	is_int(pins_at(la), (long)n, "O-SHARED: the youngest pins of a folio are released first: "
	       "the oldest site keeps its n (a short-term pin over a long-term one goes first)");
	ok(pin_owner_has_shared(folio_pfn(f)),
	   "O-SHARED: while other sites' pins are in the bucket, the folio is marked shared");
	unpin_user_folio(f, 3);
	unpin_user_pages(b, n);
	ok(nr_sites() == 0, "O-SHARED: every record released with the last pin");
	ok(!pin_owner_has_shared(folio_pfn(f)),
	   "O-SHARED: with its bucket entries gone, the folio's unpins take the fast path again");

	/* both through GUP-fast: the lockless walk must see the folio was pinned */
	AT(la, pin_user_pages_fast(addr, (int)n, FOLL_WRITE, a));
	AT(lb, pin_user_pages_fast(addr, (int)n, FOLL_WRITE, b));
	ok(pins_at(la) == (long)n && pins_at(lb) == (long)n,
	   "O-SHARED: two GUP-fast sites on the same folios are both listed");
	unpin_user_pages(a, n);
	is_int(pins_at(la) + pins_at(lb), (long)n,
	       "O-SHARED: after releasing one site's pages by folio, n pins stay recorded");
	unpin_user_pages(b, n);
	ok(nr_sites() == 0, "O-SHARED: GUP-fast twice: every record released with the last pin");
	gt_teardown("shared_folios", &t, 1);
}

/* O-LT: a long-term pin of ZONE_MOVABLE memory is listed as migrated. */
static void longterm_migrated(void)
{
	const unsigned long addr = GT_BASE, n = 16;
	struct page *pages[16];
	struct pinmm_pin_site_info si;
	struct task_struct *t;
	int line = 0;
	long r;

	test_boot(64, 32, 0);
	t = test_process("owners-lt");
	test_mmap_fixed(addr, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, n * PAGE_SIZE);
	ok(folio_is_zone_movable(page_folio(gt_page(current->mm, addr))),
	   "O-LT: the user pages start in ZONE_MOVABLE");
	r = AT(line, pin_user_pages_fast(addr, (int)n, FOLL_WRITE | FOLL_LONGTERM, pages));
	si = site_at(__FILE__, line);
	ok(r == (long)n && si.pins == (long)n && si.longterm == (long)n && si.migrated == (long)n,
	   "O-LT: the long-term pin's %ld pins are listed as migrated out of ZONE_MOVABLE "
	   "(pins %ld, longterm %ld, migrated %ld)", r, si.pins, si.longterm, si.migrated);
	unpin_user_pages(pages, (unsigned long)r);
	r = AT(line, pin_user_pages_fast(addr, (int)n, FOLL_WRITE | FOLL_LONGTERM, pages));
	si = site_at(__FILE__, line);
	ok(si.longterm == (long)n && si.migrated == 0,
	   "O-LT: pinned again where it now is, nothing migrates: not listed as migrated");
	unpin_user_pages(pages, (unsigned long)r);
	gt_teardown("longterm_migrated", &t, 1);
}

/*
 * O-LT: memfd_pin_folios that had to migrate a cache folio out of ZONE_MOVABLE
 * lists its pins as migrated; pinned again where they now are, it does not.
 */
static void memfd_migrated(void)
{
	struct pinmm_pin_site_info si;
	struct folio *folios[4];
	char buf[PAGE_SIZE];
	struct file *f;
	pgoff_t off;
	int line = 0;
	loff_t pos = PAGE_SIZE;
	long n;

	test_boot(64, 32, 0);
	f = memfd_alloc_file("owners-lt", 0);
	if (IS_ERR(f))
		bail_out("memfd_alloc_file");
	do_ftruncate(f, 4 * PAGE_SIZE, 1);
	/* page 1 cached now, in ZONE_MOVABLE; the others are holes */
	memset(buf, 0x5a, sizeof(buf));
	ok(kernel_write(f, buf, sizeof(buf), &pos) == (ssize_t)sizeof(buf),
	   "O-LT: a memfd page written before the pin");
	n = AT(line, memfd_pin_folios(f, 0, 4 * PAGE_SIZE - 1, folios, 4, &off));
	si = site_at(__FILE__, line);
	ok(n == 4 && si.longterm == 4 && si.migrated == 4,
	   "O-LT: memfd_pin_folios that migrated a movable cache folio lists its pins as "
	   "migrated (longterm %ld, migrated %ld)", si.longterm, si.migrated);
	if (n > 0)
		unpin_folios(folios, (unsigned long)n);
	n = AT(line, memfd_pin_folios(f, 0, 4 * PAGE_SIZE - 1, folios, 4, &off));
	si = site_at(__FILE__, line);
	ok(n == 4 && si.longterm == 4 && si.migrated == 0,
	   "O-LT: memfd pinned again where it now is, nothing migrates: not listed as migrated");
	if (n > 0)
		unpin_folios(folios, (unsigned long)n);
	fput(f);
	test_shutdown_ok("memfd_migrated");
}

/* O-SITE: memfd_pin_folios, one pin per folio, by file range. */
static void memfd_owner(void)
{
	struct folio *folios[4];
	struct file *f;
	pgoff_t off;
	int line = 0;
	long n;

	test_boot(64, 0, 0);
	f = memfd_alloc_file("owners", 0);
	if (IS_ERR(f))
		bail_out("memfd_alloc_file");
	do_ftruncate(f, 4 * PAGE_SIZE, 1);
	n = AT(line, memfd_pin_folios(f, 0, 4 * PAGE_SIZE - 1, folios, 4, &off));
	ok(n == 4 && pins_at(line) == 4 && site_at(__FILE__, line).longterm == 4,
	   "O-SITE: memfd_pin_folios records one long-term pin per folio at its call site");
	unpin_folios(folios, 2);
	is_int(pins_at(line), 2, "O-REL: unpin_folios releases memfd pins");
	unpin_folio(folios[2]);
	unpin_folio(folios[3]);
	ok(nr_sites() == 0, "O-REL: unpin_folio releases the last memfd pins");
	fput(f);
	test_shutdown_ok("memfd_owner");
}

/* O-SITE: a driver's pins are the driver's call site. */
static void driver_owner(void)
{
	const unsigned long addr = GT_BASE, len = 8 * PAGE_SIZE;
	struct pinmm_pin_site_info info[MAX_SITES];
	struct task_struct *t;
	struct rdma_mr *mr;
	int nr;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("owners-drv");
	test_mmap_fixed(addr, len, GT_RW, MAP_PRIVATE);
	gt_populate(addr, len);
	is_int(rdma_reg_mr(addr, len, RDMA_ACCESS_LOCAL_WRITE, &mr), 0, "O-SITE: rdma_reg_mr");
	nr = pinmm_pins_sites(info, MAX_SITES);
	ok(nr == 1 && strstr(info[0].site->file, "drivers/") && info[0].pins == 8 &&
	   info[0].longterm == 8,
	   "O-SITE: a driver's registration is owned by its call site in drivers/ (%s:%d %s)",
	   nr ? info[0].site->file : "-", nr ? info[0].site->line : 0,
	   nr ? info[0].site->func : "-");
	rdma_dereg_mr(mr);
	ok(nr_sites() == 0, "O-REL: the driver's deregistration releases the record");
	gt_teardown("driver_owner", &t, 1);
}

static bool has(const char *text, const char *what)
{
	return text && strstr(text, what);
}

/* O-SHOW: the listing, longest held first, with long-term and groups. */
static void show(void)
{
	const unsigned long addr = GT_BASE, n = 4;
	struct page *a[4], *b[4];
	struct pinmm_pin_site_info info[MAX_SITES];
	struct pinmm_pins_group *g;
	struct task_struct *t;
	char *text = NULL, want[128];
	size_t len = 0;
	struct timespec ms = { 0, 2000000 };
	int la = 0, lb = 0, nr;
	FILE *out;

	test_boot(64, 32, 0);
	t = test_process("owners-show");
	g = pinmm_pins_group_create("dbgroup", 100);
	pinmm_pins_group_attach(t, g);
	test_mmap_fixed(addr, 2 * n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, 2 * n * PAGE_SIZE);
	AT(la, pin_user_pages_fast(addr, (int)n, FOLL_WRITE | FOLL_LONGTERM, a));
	nanosleep(&ms, NULL);
	AT(lb, pin_user_pages_fast(addr + n * PAGE_SIZE, (int)n, FOLL_WRITE, b));
	nr = pinmm_pins_sites(info, MAX_SITES);
	ok(nr == 2 && info[0].site->line == la && info[1].site->line == lb &&
	   info[0].held_ns >= info[1].held_ns,
	   "O-SHOW: pinmm_pins_sites() lists the longest-held site first");
	out = open_memstream(&text, &len);
	pinmm_pins_show(out);
	fclose(out);
	snprintf(want, sizeof(want), "%s:%d show()", __FILE__, la);
	ok(has(text, want) && has(text, "long-term 4") &&
	   has(text, "migrated out of ZONE_MOVABLE/CMA") && has(text, "charged to a pins group"),
	   "O-SHOW: the listing names the long-term site, migrated and charged");
	snprintf(want, sizeof(want), "%s:%d show()", __FILE__, lb);
	ok(has(text, want) && strstr(text, want) > strstr(text, "long-term 4"),
	   "O-SHOW: the younger site comes after");
	ok(has(text, "dbgroup") && has(text, "pins.current 4 pins.max 100 tasks 1"),
	   "O-SHOW: the pins group is shown with pins.current, pins.max and its tasks");
	if (!has(text, "dbgroup"))
		diag("%s", text ? text : "");
	free(text);
	unpin_user_pages(a, n);
	unpin_user_pages(b, n);
	pinmm_pins_group_attach(t, NULL);
	pinmm_pins_group_put(g);
	gt_teardown("show", &t, 1);
}

/* O-LEAK: pins left at mm exit and at shutdown are reported by call site. */
static void leak_report(void)
{
	const unsigned long addr = GT_BASE, n = 3;
	struct page *pages[3];
	struct task_struct *t;
	char want[128], *err;
	int line = 0, ret;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("leaky");
	test_mmap_fixed(addr, n * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, n * PAGE_SIZE);
	AT(line, pin_user_pages_fast(addr, (int)n, FOLL_WRITE, pages));
	snprintf(want, sizeof(want), "%s:%d leak_report(): 3 pin(s)", __FILE__, line);
	capture_stderr_begin();
	pinmm_task_detach();
	pinmm_task_exit(t);
	err = capture_stderr_end();
	ok(has(err, "mm exit with 3 pin(s) still held") && has(err, want) && has(err, "leaky"),
	   "O-LEAK: mm exit reports the pins still held by call site and task");
	free(err);
	ok(site_at(__FILE__, line).mm_exited, "O-LEAK: the site is listed as having outlived its mm");
	capture_stderr_begin();
	ret = pinmm_shutdown();
	err = capture_stderr_end();
	snprintf(want, sizeof(want), "pinned at %s:%d in leak_report()", __FILE__, line);
	ok(ret == -EBUSY && has(err, "leaked pins by call site") && has(err, want),
	   "O-LEAK: shutdown names the call site of the leaked pins, per leaked folio too");
	free(err);
}

/* O-SWITCH: the switch and what off means. */
static void owner_switch(void)
{
	const unsigned long addr = GT_BASE;
	struct page *pages[2];
	struct pinmm_pins_group *g;
	struct task_struct *t;
	long acq0;
	int line = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("switch");
	test_mmap_fixed(addr, 2 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, 2 * PAGE_SIZE);
	pin_user_pages_fast(addr, 1, FOLL_WRITE, pages);
	is_int(pinmm_pin_owner_enable(false), -EBUSY,
	       "O-SWITCH: switching off with a pin outstanding is -EBUSY");
	unpin_user_page(pages[0]);
	is_int(pinmm_pin_owner_enable(false), 0, "O-SWITCH: switching off at quiescence works");
	acq0 = gt_acq();
	AT(line, pin_user_pages_fast(addr, 2, FOLL_WRITE, pages));
	ok(gt_acq() - acq0 == 2 && pins_at(line) == 0 && nr_sites() == 0,
	   "O-SWITCH: off: pins count in vmstat but record no owner");
	unpin_user_pages(pages, 2);
	is_int(pinmm_pin_owner_enable(true), 0, "O-SWITCH: switching on at quiescence works");
	g = pinmm_pins_group_create("sw", -1);
	ok(!IS_ERR(g), "O-SWITCH: a group can be created");
	is_int(pinmm_pin_owner_enable(false), -EBUSY,
	       "O-SWITCH: switching off while a pins group exists is -EBUSY");
	pinmm_pins_group_put(g);
	gt_teardown("owner_switch", &t, 1);
}

int main(void)
{
	plan_no_plan();
	entries_and_unpins();
	thp_owner();
	shared_folios();
	longterm_migrated();
	memfd_owner();
	memfd_migrated();
	driver_owner();
	show();
	leak_report();
	owner_switch();
	return done_testing();
}
