// SPDX-License-Identifier: MIT
/*
 * Debug checks the memory layer relies on (Linux include/asm-generic/bug.h,
 * include/linux/mmdebug.h, mm/debug.c): WARN_ON_ONCE() prints once but counts
 * every hit; BUG() and the VM_BUG_ON_*() assertions kill, checked in a child
 * with expect_bug(); the allocator refuses to hand out a corrupted free page
 * (check_new_page); dump_page() shows the state a report needs.
 */
#include "helpers.h"

#include <pinmm/gfp.h>
#include <pinmm/pagemap.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static bool warn_once_site(void)
{
	return WARN_ON_ONCE(1);
}

static bool warn_site(bool cond)
{
	return WARN_ON(cond);
}

static unsigned int count_lines(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_warn(void)
{
	unsigned long w0 = pinmm_warn_count();
	bool was_quiet = pinmm_warn_set_quiet(false);
	bool r1, r2, r3;
	char *out;

	test_boot(16, 0, 0);
	capture_stderr_begin();
	r1 = warn_once_site();
	r2 = warn_once_site();
	r3 = warn_once_site();
	out = capture_stderr_end();
	ok(r1 && r2 && r3, "WARN_ON_ONCE: evaluates to the condition every time");
	is_uint(pinmm_warn_count() - w0, 3, "WARN_ON_ONCE: counts every hit (pinmm_warn_count)");
	is_uint(count_lines(out, "WARNING at"), 1, "WARN_ON_ONCE: prints only the first hit of a "
		"site");
	ok(strstr(out, __FILE__) && strstr(out, "warn_once_site"), "WARN_ON_ONCE: the message "
	   "names the file and function");
	free(out);

	w0 = pinmm_warn_count();
	capture_stderr_begin();
	r1 = warn_site(true);
	r2 = warn_site(true);
	r3 = warn_site(false);
	out = capture_stderr_end();
	ok(r1 && r2 && !r3, "WARN_ON: evaluates to the condition");
	is_uint(pinmm_warn_count() - w0, 2, "WARN_ON: counts each true condition, not false ones");
	is_uint(count_lines(out, "WARNING at"), 2, "WARN_ON: prints every hit");
	free(out);

	pinmm_warn_set_quiet(true);
	w0 = pinmm_warn_count();
	capture_stderr_begin();
	warn_site(true);
	out = capture_stderr_end();
	is_uint(pinmm_warn_count() - w0, 1, "pinmm_warn_set_quiet: a quiet WARN is still counted");
	is_str(out, "", "pinmm_warn_set_quiet: and prints nothing");
	free(out);
	pinmm_warn_set_quiet(was_quiet);
	test_shutdown_ok("WARN");
}

/* ---- death tests ------------------------------------------------------------------ */

static void do_bug(void *arg)
{
	(void)arg;
	BUG();
}

static void do_bug_on_false(void *arg)
{
	(void)arg;
	BUG_ON(1 + 1 == 3);
}

static void do_unlock_unlocked(void *arg)
{
	folio_unlock(arg);
}

static void do_free_tail(void *arg)
{
	__free_pages(folio_page((struct folio *)arg, 1), 0);
}

static void do_unfreeze_live(void *arg)
{
	folio_ref_unfreeze(arg, 1);
}

static void do_lock_tail(void *arg)
{
	folio_lock((struct folio *)folio_page((struct folio *)arg, 2));
}

/* Corrupt a free page, then drain the machine: the allocator must refuse it. */
static void do_hand_out_corrupt(void *arg)
{
	struct page *page = alloc_page(GFP_KERNEL);

	(void)arg;
	__free_pages(page, 0);
	set_page_count(page, 1);	/* a stray reference on a free page */
	while (alloc_page(GFP_KERNEL))
		;
}

static void test_bug(void)
{
	struct folio *folio, *large;

	expect_bug(do_bug, NULL, "BUG: kills the caller (abort, checked in a child)");
	do_bug_on_false(NULL);
	ok(true, "BUG_ON: a false condition does nothing (we are still here)");

	test_boot(16, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 0);
	large = folio_alloc(GFP_KERNEL, 3);
	if (!folio || !large)
		bail_out("folio_alloc failed");
#ifdef CONFIG_DEBUG_VM
	expect_bug(do_unlock_unlocked, folio, "VM_BUG_ON: folio_unlock of a folio that is not "
		   "locked dies (folio_unlock: VM_BUG_ON_FOLIO(!folio_test_locked))");
	expect_bug(do_free_tail, large, "VM_BUG_ON: __free_pages on a tail page dies");
	expect_bug(do_unfreeze_live, folio, "VM_BUG_ON: folio_ref_unfreeze of a folio that is "
		   "not frozen dies");
	expect_bug(do_lock_tail, large, "VM_BUG_ON: folio_lock on a tail page as if it were a "
		   "folio dies");
	expect_bug(do_hand_out_corrupt, NULL, "check_new_page: the allocator dies rather than "
		   "hand out a free page with a reference (check_new_page_bad)");
#else
	skip(5, "VM_BUG_ON is a CONFIG_DEBUG_VM check");
#endif
	ok(!folio_test_locked(folio) && folio_ref_count(folio) == 1 &&
	   folio_ref_count(large) == 1 && all_zones_ok(),
	   "death tests: the parent's machine is untouched by what the children did");
	folio_put(folio);
	folio_put(large);
	test_shutdown_ok("death tests");
}

#ifdef PINMM_ASAN
/* A CPU (or device) touching a freed frame: the frame is poisoned. */
static void test_asan_poison(void)
{
	struct page *page;
	int status;
	pid_t pid;

	test_boot(16, 0, 0);
	page = alloc_page(GFP_KERNEL);
	if (!page)
		bail_out("alloc_page failed");
	__free_pages(page, 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		bail_out("fork failed");
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, STDERR_FILENO);
		*(volatile char *)page_address(page) = 1;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "ASan: a write to a freed frame is "
	   "reported (free_pages_prepare poisons what it frees)");
	test_shutdown_ok("ASan poisoning");
}
#endif

static void test_dump_page(void)
{
	struct folio *folio;
	char *out;

	test_boot(16, 0, 0);
	folio = folio_alloc(GFP_KERNEL, 2);
	if (!folio)
		bail_out("folio_alloc failed");
	folio_lock(folio);
	folio_get(folio);
	capture_stderr_begin();
	dump_page(folio_page(folio, 1), "test reason");
	out = capture_stderr_end();
	ok(strstr(out, "refcount:0") && strstr(out, "head pfn:"), "dump_page: a tail shows its "
	   "own refcount and its head");
	ok(strstr(out, "order:2") && strstr(out, "refcount:2"), "dump_page: and the folio's order "
	   "and refcount");
	ok(strstr(out, "locked") && strstr(out, "head"), "dump_page: and the folio's flags");
	ok(!strstr(out, "writeback"), "dump_page: page[1]'s order byte is not shown as flags "
	   "(order 2 would read as PG_writeback)");
	ok(strstr(out, "page dumped because: test reason"), "dump_page: and the reason");
#ifdef CONFIG_DEBUG_VM
	ok(strstr(out, "test_dump_page"), "dump_page: and who allocated the folio (page_owner)");
#else
	skip(1, "page_owner is a CONFIG_DEBUG_VM feature");
#endif
	free(out);
	folio_unlock(folio);
	folio_put(folio);
	folio_put(folio);
	test_shutdown_ok("dump_page");
}

int main(void)
{
	test_warn();
	test_bug();
#ifdef PINMM_ASAN
	test_asan_poison();
#endif
	test_dump_page();
	return done_testing();
}
