// SPDX-License-Identifier: MIT
/*
 * The argument rules of every GUP/PUP entry point (Linux mm/gup.c:
 * is_valid_gup_args() and the flag mask of gup_fast_fallback()), R-ARG and
 * R-FASTFLAGS: which misuse is refused, with which return value
 * (get_user_pages{,_remote,_unlocked}, get_user_pages_fast{,_only} and
 * pin_user_pages_fast: -EINVAL; pin_user_pages{,_remote,_unlocked}: 0), that
 * every refusal WARNs, and that a refused call changes nothing: no pin or
 * reference taken, pages[] untouched, no vmstat movement, MMF_HAS_PINNED
 * still clear. Then the range rules of the fast API (-EOVERFLOW, -EFAULT),
 * nr_pages 0, and get_user_pages() with a NULL pages array.
 */
#include "helpers.h"

#include <limits.h>

enum ep {
	EP_GUP, EP_GUP_REMOTE, EP_GUP_UNLOCKED, EP_GUP_FAST, EP_GUP_FAST_ONLY,
	EP_PUP, EP_PUP_REMOTE, EP_PUP_UNLOCKED, EP_PUP_FAST, NR_EP
};

static const struct {
	const char *name;
	long invalid;		/* what Linux returns for invalid arguments */
	bool pin, fast, remote;
} eps[NR_EP] = {
	[EP_GUP] = { "get_user_pages", -EINVAL, false, false, false },
	[EP_GUP_REMOTE] = { "get_user_pages_remote", -EINVAL, false, false, true },
	[EP_GUP_UNLOCKED] = { "get_user_pages_unlocked", -EINVAL, false, false, false },
	[EP_GUP_FAST] = { "get_user_pages_fast", -EINVAL, false, true, false },
	[EP_GUP_FAST_ONLY] = { "get_user_pages_fast_only", -EINVAL, false, true, false },
	[EP_PUP] = { "pin_user_pages", 0, true, false, false },
	[EP_PUP_REMOTE] = { "pin_user_pages_remote", 0, true, false, true },
	[EP_PUP_UNLOCKED] = { "pin_user_pages_unlocked", 0, true, false, false },
	[EP_PUP_FAST] = { "pin_user_pages_fast", -EINVAL, true, true, false },
};

/*
 * Call entry point @e on current->mm, taking mmap_lock where the entry point
 * wants the caller to hold it. @locked (remote forms only) is passed through;
 * the lock is released here unless GUP says (*locked == 0) it released it.
 */
static long call_ep(enum ep e, unsigned long start, long nr, unsigned int flags,
		    struct page **pages, int *locked)
{
	struct mm_struct *mm = current->mm;
	int locked_in = locked ? *locked : 1;
	long r = 0;

	switch (e) {
	case EP_GUP:
	case EP_PUP:
	case EP_GUP_REMOTE:
	case EP_PUP_REMOTE:
		mmap_read_lock(mm);
		if (e == EP_GUP)
			r = get_user_pages(start, (unsigned long)nr, flags, pages);
		else if (e == EP_PUP)
			r = pin_user_pages(start, (unsigned long)nr, flags, pages);
		else if (e == EP_GUP_REMOTE)
			r = get_user_pages_remote(mm, start, (unsigned long)nr, flags, pages, locked);
		else
			r = pin_user_pages_remote(mm, start, (unsigned long)nr, flags, pages, locked);
		if (!locked || *locked || locked_in != 1)
			mmap_read_unlock(mm);
		break;
	case EP_GUP_UNLOCKED:
		r = get_user_pages_unlocked(start, (unsigned long)nr, pages, flags);
		break;
	case EP_PUP_UNLOCKED:
		r = pin_user_pages_unlocked(start, (unsigned long)nr, pages, flags);
		break;
	case EP_GUP_FAST:
		r = get_user_pages_fast(start, (int)nr, flags, pages);
		break;
	case EP_GUP_FAST_ONLY:
		r = get_user_pages_fast_only(start, (int)nr, flags, pages);
		break;
	case EP_PUP_FAST:
		r = pin_user_pages_fast(start, (int)nr, flags, pages);
		break;
	case NR_EP:
		break;
	}
	return r;
}

/* Release what a successful call of @e took. */
static void release_ep(enum ep e, struct page **pages, long n)
{
	if (!pages || n <= 0)
		return;
	if (eps[e].pin)
		unpin_user_pages(pages, (unsigned long)n);
	else
		gt_put_pages(pages, n);
}

#define NPAGES	4

static const struct {
	const char *name;
	unsigned int flag;
} internal_flags[] = {
	{ "FOLL_PIN", FOLL_PIN },
	{ "FOLL_TOUCH", FOLL_TOUCH },
	{ "FOLL_TRIED", FOLL_TRIED },
	{ "FOLL_REMOTE", FOLL_REMOTE },
	{ "FOLL_FAST_ONLY", FOLL_FAST_ONLY },
	{ "FOLL_UNLOCKABLE", FOLL_UNLOCKABLE },
	{ "FOLL_MADV_POPULATE", FOLL_MADV_POPULATE },
};

static const struct {
	const char *name;
	unsigned int flag;
} non_fast_flags[] = {
	{ "FOLL_NOWAIT", FOLL_NOWAIT },
	{ "FOLL_DUMP", FOLL_DUMP },
	{ "FOLL_ANON", FOLL_ANON },
	{ "FOLL_SPLIT_PMD", FOLL_SPLIT_PMD },
	{ "FOLL_HWPOISON", FOLL_HWPOISON },
	{ "FOLL_INTERRUPTIBLE", FOLL_INTERRUPTIBLE },
};

/* One refusal: the exact return, a WARN, and nothing changed. */
struct refusal {
	char name[160];
	enum ep e;
	unsigned int flags;
	bool null_pages;
	int locked;		/* remote forms: -1 = pass NULL, else *locked */
	long want;
	const char *rule;	/* where Linux refuses it */
};

static unsigned long rows_failed;

static void run_refusal(const struct refusal *r, unsigned long addr)
{
	struct page *pages[NPAGES];
	struct folio *folio = page_folio(gt_page(current->mm, addr));
	int ref0 = folio_ref_count(folio), locked = r->locked;
	long acq0 = gt_acq(), rel0 = gt_rel(), got;
	unsigned long warned, untouched = 0;
	bool saved, all = true;

	for (int i = 0; i < NPAGES; i++)
		pages[i] = GT_POISON;
	warned = gt_warn_begin(&saved);
	got = call_ep(r->e, addr, NPAGES, r->flags, r->null_pages ? NULL : pages,
		      eps[r->e].remote && r->locked >= 0 ? &locked : NULL);
	warned = gt_warn_end(saved, warned);
	for (int i = 0; i < NPAGES; i++)
		untouched += pages[i] == GT_POISON;

	all &= is_int(got, r->want, "R-ARG: %s returns %ld (%s)", r->name, r->want, r->rule);
	all &= ok(warned >= 1, "R-ARG: %s WARNs (%s)", r->name, r->rule);
	all &= ok(folio_ref_count(folio) == ref0 && gt_acq() == acq0 && gt_rel() == rel0 &&
		  untouched == NPAGES && (r->locked < 0 || locked == r->locked),
		  "R-ARG: %s changes nothing: refcount %d (was %d), nr_foll_pin_acquired %+ld, "
		  "pages[] untouched %lu/%d, *locked kept", r->name, folio_ref_count(folio), ref0,
		  gt_acq() - acq0, untouched, NPAGES);
	if (!all) {
		rows_failed++;
		if (got > 0)
			release_ep(r->e, pages, got);
	}
}

static void test_refusals(void)
{
	static struct refusal rows[256];
	struct task_struct *t;
	const unsigned long addr = GT_BASE;
	int n = 0;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("args");
	test_mmap_fixed(addr, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, NPAGES * PAGE_SIZE);

#define ROW(ep_, flags_, null_, locked_, want_, rule_, ...) do {			\
		struct refusal *r_ = &rows[n++];					\
		snprintf(r_->name, sizeof(r_->name), __VA_ARGS__);			\
		r_->e = (ep_);								\
		r_->flags = (flags_);							\
		r_->null_pages = (null_);						\
		r_->locked = (locked_);							\
		r_->want = (want_);							\
		r_->rule = (rule_);							\
	} while (0)

	/* 1. internal flags passed by a caller, at every entry point */
	for (int e = 0; e < NR_EP; e++)
		for (size_t f = 0; f < ARRAY_SIZE(internal_flags); f++)
			ROW((enum ep)e, FOLL_WRITE | internal_flags[f].flag, false, -1,
			    eps[e].invalid, "is_valid_gup_args: INTERNAL_GUP_FLAGS",
			    "%s() with the internal flag %s", eps[e].name, internal_flags[f].name);
	/* 2. FOLL_GET passed to a pin_* wrapper: GET and PIN together */
	for (int e = EP_PUP; e < NR_EP; e++)
		ROW((enum ep)e, FOLL_GET, false, -1, eps[e].invalid,
		    "is_valid_gup_args: FOLL_GET|FOLL_PIN", "%s() with FOLL_GET", eps[e].name);
	/* 3. FOLL_LONGTERM without FOLL_PIN */
	for (int e = EP_GUP; e < EP_PUP; e++)
		ROW((enum ep)e, FOLL_LONGTERM, false, -1, eps[e].invalid,
		    "is_valid_gup_args: FOLL_LONGTERM needs FOLL_PIN", "%s() with FOLL_LONGTERM",
		    eps[e].name);
	/* 4. a pin needs a pages array; so does a FOLL_GET fast call */
	for (int e = EP_PUP; e < NR_EP; e++)
		ROW((enum ep)e, 0, true, -1, eps[e].invalid,
		    "is_valid_gup_args: FOLL_PIN with pages == NULL", "%s() with pages NULL",
		    eps[e].name);
	ROW(EP_GUP_FAST, 0, true, -1, -EINVAL, "is_valid_gup_args: FOLL_GET with pages == NULL",
	    "get_user_pages_fast() with pages NULL");
	ROW(EP_GUP_FAST_ONLY, 0, true, -1, -EINVAL,
	    "is_valid_gup_args: FOLL_GET with pages == NULL",
	    "get_user_pages_fast_only() with pages NULL");
	/* 5. *locked must be 1 */
	ROW(EP_GUP_REMOTE, 0, false, 0, -EINVAL, "is_valid_gup_args: *locked != 1",
	    "get_user_pages_remote() with *locked == 0");
	ROW(EP_PUP_REMOTE, 0, false, 0, 0, "is_valid_gup_args: *locked != 1",
	    "pin_user_pages_remote() with *locked == 0");
	ROW(EP_GUP_REMOTE, 0, false, 2, -EINVAL, "is_valid_gup_args: *locked != 1",
	    "get_user_pages_remote() with *locked == 2");
	ROW(EP_PUP_REMOTE, 0, false, 2, 0, "is_valid_gup_args: *locked != 1",
	    "pin_user_pages_remote() with *locked == 2");
	/* 6. FOLL_LONGTERM | FOLL_PCI_P2PDMA */
	for (int e = EP_PUP; e < NR_EP; e++)
		ROW((enum ep)e, FOLL_LONGTERM | FOLL_PCI_P2PDMA, false, -1, eps[e].invalid,
		    "is_valid_gup_args: FOLL_LONGTERM with FOLL_PCI_P2PDMA",
		    "%s() with FOLL_LONGTERM|FOLL_PCI_P2PDMA", eps[e].name);
	/* 7. flags the fast API does not take */
	for (int e = EP_GUP_FAST; e <= EP_PUP_FAST; e++) {
		if (!eps[e].fast)
			continue;
		for (size_t f = 0; f < ARRAY_SIZE(non_fast_flags); f++)
			ROW((enum ep)e, non_fast_flags[f].flag, false, -1, -EINVAL,
			    "R-FASTFLAGS: gup_fast_fallback flag mask",
			    "%s() with %s", eps[e].name, non_fast_flags[f].name);
	}
#undef ROW

	for (int i = 0; i < n; i++)
		run_refusal(&rows[i], addr);
	is_uint(rows_failed, 0, "R-ARG: all %d refusal rows held (entry points x misuse)", n);
	ok(!gt_has_pinned(current->mm),
	   "R-ARG/R-HAS: refused pin calls never set MMF_HAS_PINNED (validation comes first)");
	gt_teardown("argument refusals", &t, 1);
}

/* nr_pages == 0 at every entry point: 0, no WARN, nothing taken. */
static void test_zero_pages(void)
{
	struct task_struct *t;
	struct page *pages[1] = { GT_POISON };
	const unsigned long addr = GT_BASE;
	unsigned long bad = 0;
	long acq0;
	bool saved;
	unsigned long w;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("args-zero");
	test_mmap_fixed(addr, PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(addr, PAGE_SIZE);
	acq0 = gt_acq();
	w = gt_warn_begin(&saved);
	for (int e = 0; e < NR_EP; e++) {
		int locked = 1;
		long r = call_ep((enum ep)e, addr, 0, 0, pages, eps[e].remote ? &locked : NULL);

		if (r != 0 || pages[0] != GT_POISON || locked != 1) {
			diag("%s(nr_pages 0) = %ld", eps[e].name, r);
			bad++;
		}
	}
	w = gt_warn_end(saved, w);
	is_uint(bad, 0, "R-PART: nr_pages 0 returns 0 at all %d entry points "
		"(__get_user_pages / gup_fast_fallback)", NR_EP);
	is_uint(w, 0, "R-PART: nr_pages 0 is not misuse: no WARN (the \"pinned nothing\" WARN "
		"of __get_user_pages_locked is not reached)");
	is_int(gt_acq() - acq0, 0, "R-VMSTAT: nr_pages 0 pins nothing");
	gt_teardown("nr_pages 0", &t, 1);
}

/* The range rules of the fast API (gup_fast_fallback). */
static void test_fast_ranges(void)
{
	static const struct {
		const char *name;
		unsigned long start;
		int nr;
		long want;
		const char *rule;
	} rows[] = {
		{ "a range that wraps past the top of the address space",
		  (~0UL & PAGE_MASK) - PAGE_SIZE, 4, -EOVERFLOW,
		  "check_add_overflow(start, len) -> -EOVERFLOW" },
		{ "a range ending past TASK_SIZE", TASK_SIZE - PAGE_SIZE, 4, -EFAULT,
		  "end > TASK_SIZE_MAX -> -EFAULT" },
		{ "a range starting past TASK_SIZE", TASK_SIZE + PMD_SIZE, 1, -EFAULT,
		  "end > TASK_SIZE_MAX -> -EFAULT" },
		{ "nr_pages -1 (sign-extended, length overflows)", GT_BASE, -1, -EOVERFLOW,
		  "negative int nr_pages is sign-extended: -EOVERFLOW" },
		{ "nr_pages INT_MIN", GT_BASE, INT_MIN, -EOVERFLOW,
		  "negative int nr_pages is sign-extended: -EOVERFLOW" },
	};
	struct task_struct *t;
	struct page *pages[4];
	long acq0;
	unsigned long w;
	bool saved;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("args-range");
	test_mmap_fixed(GT_BASE, 4 * PAGE_SIZE, GT_RW, MAP_PRIVATE);
	gt_populate(GT_BASE, 4 * PAGE_SIZE);
	acq0 = gt_acq();
	w = gt_warn_begin(&saved);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		for (int e = EP_GUP_FAST; e < NR_EP; e++) {
			bool good;
			long r;

			if (!eps[e].fast)
				continue;
			for (int k = 0; k < 4; k++)
				pages[k] = GT_POISON;
			r = call_ep((enum ep)e, rows[i].start, rows[i].nr, 0, pages, NULL);
			good = rows[i].nr < 0 ? (r == -EOVERFLOW || r == -EFAULT) : r == rows[i].want;
			ok(good && pages[0] == GT_POISON, "R-FASTFLAGS: %s() with %s returns %s, got "
			   "%ld (%s); pages[] untouched", eps[e].name, rows[i].name,
			   rows[i].nr < 0 ? "-EOVERFLOW or -EFAULT" :
			   rows[i].want == -EFAULT ? "-EFAULT" : "-EOVERFLOW", r, rows[i].rule);
			if (r > 0)
				release_ep((enum ep)e, pages, r);
		}
	w = gt_warn_end(saved, w);
	is_uint(w, 0, "R-FASTFLAGS: bad ranges are errors, not misuse: no WARN");
	is_int(gt_acq() - acq0, 0, "R-FASTFLAGS: nothing was pinned by the refused ranges");

	/* the slow path has no range check of its own: there is simply no VMA */
	{
		long r = gt_pin(TASK_SIZE - PAGE_SIZE, 4, 0, pages);

		is_int(r, -EFAULT, "R-VMA: pin_user_pages() past TASK_SIZE: no VMA -> -EFAULT "
		       "(__get_user_pages)");
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
	}
	/* the last page below TASK_SIZE: the range ends at TASK_SIZE_MAX, which is allowed */
	{
		long r;

		test_mmap_fixed(TASK_SIZE - PAGE_SIZE, PAGE_SIZE, GT_RW, MAP_PRIVATE);
		gt_populate(TASK_SIZE - PAGE_SIZE, PAGE_SIZE);
		r = pin_user_pages_fast(TASK_SIZE - PAGE_SIZE, 1, FOLL_WRITE, pages);
		is_int(r, 1, "R-FASTFLAGS: pin_user_pages_fast() of the last page below TASK_SIZE: "
		       "a range ending at TASK_SIZE_MAX is fine (end > TASK_SIZE_MAX only is -EFAULT)");
		if (r > 0)
			unpin_user_pages(pages, (unsigned long)r);
	}
	gt_teardown("fast ranges", &t, 1);
}

/* get_user_pages*(pages = NULL): fault in, return the count, keep nothing. */
static void test_null_pages_get(void)
{
	static const enum ep get_eps[] = { EP_GUP, EP_GUP_REMOTE, EP_GUP_UNLOCKED };
	struct task_struct *t;

	test_boot(TEST_MEM_MB, 0, 0);
	t = test_process("args-null");
	for (size_t i = 0; i < ARRAY_SIZE(get_eps); i++) {
		unsigned long addr = GT_BASE + i * PMD_SIZE, present = 0, ref1 = 0;
		long acq0, faults0 = gt_ev(PGFAULT), r;
		unsigned long w;
		bool saved;

		test_mmap_fixed(addr, NPAGES * PAGE_SIZE, GT_RW, MAP_PRIVATE);
		acq0 = gt_acq();
		w = gt_warn_begin(&saved);
		r = call_ep(get_eps[i], addr, NPAGES, FOLL_WRITE, NULL, NULL);
		w = gt_warn_end(saved, w);
		for (int k = 0; k < NPAGES; k++) {
			struct page *p = gt_page(current->mm, addr + k * PAGE_SIZE);

			present += p && !is_zero_page(p);
			ref1 += p && !is_zero_page(p) && folio_ref_count(page_folio(p)) == 1;
		}
		is_int(r, NPAGES, "R-ARG: %s() with pages NULL is allowed (no FOLL_GET added) and "
		       "returns the count", eps[get_eps[i]].name);
		is_uint(w, 0, "R-ARG: %s() with pages NULL does not WARN", eps[get_eps[i]].name);
		is_uint(present, NPAGES, "R-PART: %s(FOLL_WRITE, pages NULL) faulted every page in "
			"(PGFAULT %+ld)", eps[get_eps[i]].name, gt_ev(PGFAULT) - faults0);
		is_uint(ref1, NPAGES, "R-CNT: %s() with pages NULL keeps no reference (refcount 1: "
			"the mapping's)", eps[get_eps[i]].name);
		is_int(gt_acq() - acq0, 0, "R-VMSTAT: a get_* call never counts as a pin");
	}
	ok(!gt_has_pinned(current->mm), "R-HAS: get_user_pages*() never sets MMF_HAS_PINNED");
	gt_teardown("pages NULL", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_refusals();
	test_zero_pages();
	test_fast_ranges();
	test_null_pages_get();
	return done_testing();
}
