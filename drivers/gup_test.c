// SPDX-License-Identifier: MIT
/*
 * gup_test: Linux's GUP test driver (mm/gup_test.c) as a call site, so the
 * kernel's gup_test command set - the benchmarks, the basic and dump tests,
 * and the long-term pin that stays held across calls - runs on pinmm with
 * the same requests and the same answers (include/pinmm/gup_test.h,
 * docs/gup_test.md). Written from the kernel's documented behaviour.
 */
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <pinmm/gup_test.h>
#include <string.h>

/*
 * Locks: (l) the file's mutex, (a) atomic.
 * The mutex is taken with nothing held and is held across mmap_lock and the
 * faults of READ, so it sits above every ranked lock: it is not order-checked.
 */
struct gup_test_file {
	struct mutex lock;		/* Linux's pin_longterm_test_mutex */
	struct page **lt_pages;		/* (l) START's pins; NULL: none held */
	unsigned long lt_nr_pages;	/* (l) entries of lt_pages pinned */
	atomic_ulong get_ns, put_ns;	/* (a) last successful command 1-6 */
	struct gup_test_pages *_Atomic spare;	/* (a) a command's array, for the next */
};

/*
 * A page array of commands 1-6, with room for @cap entries. The array is an
 * allocation of its own, aligned as malloc() aligns: 8 bytes off that (behind
 * a header), pinning 1 GiB of THP went from 0.7 to 1.0 ns/page (pinmm bench).
 */
struct gup_test_pages {
	unsigned long cap;
	struct page **pages;
};

/* struct gup_test's u64 addr and size fit unsigned long, so Linux's ULONG_MAX check is moot. */
_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "gup_test assumes LP64");

/*
 * A page array as kvcalloc() gives it in Linux: one above INT_MAX bytes is
 * refused with a WARN there, and pinmm's heap-backed kvcalloc() would try.
 * Linux's is resident; the host maps a large calloc() lazily, so touch it
 * now rather than fault it in while pinning.
 */
static struct page **gup_test_alloc_pages(unsigned long nr_pages)
{
	struct page **pages;

	if (WARN_ON_ONCE(nr_pages > INT_MAX / sizeof(struct page *)))
		return NULL;
	pages = kvcalloc(nr_pages, sizeof(struct page *), GFP_KERNEL);
	if (pages)
		memset(pages, 0, nr_pages * sizeof(struct page *));
	return pages;
}

/*
 * The page array of commands 1-6. Linux kvcalloc()s one per call from memory
 * the kernel always has mapped; a fresh host allocation per call made the
 * timed release ~1 ns/page slower (4.8 -> 5.8 ns/page unpinning 4 KiB pages,
 * pinmm bench), so the file keeps the last array for the next call. Calls
 * running concurrently on one file each get their own.
 */
static struct gup_test_pages *gup_test_get_pages(struct gup_test_file *file,
						 unsigned long nr_pages)
{
	struct gup_test_pages *p = atomic_exchange(&file->spare, NULL);

	if (p && p->cap >= nr_pages)
		return p;
	if (!p) {
		p = kmalloc(sizeof(*p), GFP_KERNEL);
		if (!p)
			return NULL;
	} else {
		kvfree(p->pages);
	}
	/* resident before the clock starts, as Linux's is */
	p->pages = gup_test_alloc_pages(nr_pages);
	if (!p->pages) {
		kfree(p);
		return NULL;
	}
	p->cap = nr_pages;
	return p;
}

static void gup_test_free_pages(struct gup_test_pages *p)
{
	if (p)
		kvfree(p->pages);
	kfree(p);
}

static void gup_test_put_pages(struct gup_test_file *file, struct gup_test_pages *p)
{
	gup_test_free_pages(atomic_exchange(&file->spare, p));
}

/* Does @cmd take FOLL_PIN pins (released by unpin) rather than references? */
static bool gup_test_pins(unsigned int cmd, uint32_t test_flags)
{
	switch (cmd) {
	case PIN_FAST_BENCHMARK:
	case PIN_BASIC_TEST:
	case PIN_LONGTERM_BENCHMARK:
		return true;
	case DUMP_USER_PAGES_TEST:
		return test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN;
	}
	return false;
}

/* One chunk of @cmd: the GUP call the command stands for. */
static long gup_test_grab(unsigned int cmd, const struct gup_test *gup, unsigned long addr,
			  unsigned long nr, struct page **pages)
{
	unsigned int flags = gup->gup_flags;

	switch (cmd) {
	case GUP_FAST_BENCHMARK:
		return get_user_pages_fast(addr, (int)nr, flags, pages);
	case PIN_FAST_BENCHMARK:
		return pin_user_pages_fast(addr, (int)nr, flags, pages);
	case PIN_LONGTERM_BENCHMARK:
		return pin_user_pages(addr, nr, flags | FOLL_LONGTERM, pages);
	case GUP_BASIC_TEST:
		return get_user_pages(addr, nr, flags, pages);
	case PIN_BASIC_TEST:
		return pin_user_pages(addr, nr, flags, pages);
	case DUMP_USER_PAGES_TEST:
		if (gup_test_pins(cmd, gup->test_flags))
			return pin_user_pages(addr, nr, flags, pages);
		return get_user_pages(addr, nr, flags, pages);
	}
	return -EINVAL;
}

/*
 * What the benchmark promises about the pages it pinned, checked outside the
 * timed window: Linux WARNs and dumps the first offender.
 */
static void gup_test_verify(unsigned int cmd, struct page **pages, unsigned long nr)
{
	if (cmd != PIN_FAST_BENCHMARK && cmd != PIN_BASIC_TEST && cmd != PIN_LONGTERM_BENCHMARK)
		return;
	for (unsigned long i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);
		const char *why = NULL;

		if (!folio_maybe_dma_pinned(folio))
			why = "is not DMA-pinned";
		else if (cmd == PIN_LONGTERM_BENCHMARK && !folio_is_longterm_pinnable(folio))
			why = "is pinned long-term but not long-term pinnable";
		if (WARN_ON(why)) {
			pr_warn("gup_test: pages[%lu] %s\n", i, why);
			dump_page(&folio->page, "gup_test failure");
			return;
		}
	}
}

/*
 * DUMP_USER_PAGES_TEST: dump_page() the chosen pages to stderr (the kernel
 * log). Indices are 1-based; one past what was taken is reported and zeroed,
 * so the caller sees which were dumped.
 */
static void gup_test_dump(struct gup_test *gup, struct page **pages, unsigned long nr)
{
	for (unsigned int i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		if (gup->which_pages[i] <= nr)
			continue;
		pr_warn("gup_test: which_pages[%u] = %u is past the %lu pages taken: zeroed\n",
			i, gup->which_pages[i], nr);
		gup->which_pages[i] = 0;
	}
	for (unsigned int i = 0; i < GUP_TEST_MAX_PAGES_TO_DUMP; i++) {
		unsigned int idx = gup->which_pages[i];

		if (!idx)
			continue;
		pr_info("gup_test: page #%u of the range at %#llx:\n", idx - 1,
			(unsigned long long)gup->addr);
		dump_page(pages[idx - 1], "gup_test: DUMP_USER_PAGES_TEST");
	}
}

static void gup_test_put_back(bool pinned, struct page **pages, unsigned long nr)
{
	if (pinned) {
		unpin_user_pages(pages, nr);
		return;
	}
	for (unsigned long i = 0; i < nr; i++)
		put_page(pages[i]);
}

/* Commands 1-6 on *@gup (already copied in). */
static int gup_test_run(struct gup_test_file *file, unsigned int cmd, struct gup_test *gup)
{
	struct mm_struct *mm = current->mm;
	bool locked = cmd != GUP_FAST_BENCHMARK && cmd != PIN_FAST_BENCHMARK;
	bool pinned = gup_test_pins(cmd, gup->test_flags);
	unsigned long per_call = gup->nr_pages_per_call, nr = per_call;
	unsigned long start = gup->addr, end, addr, next, done = 0;
	struct gup_test_pages *array;
	ktime_t t0, t1, t2, t3;
	struct page **pages;

	if (check_add_overflow(start, (unsigned long)gup->size, &end))
		return -EINVAL;
	array = gup_test_get_pages(file, gup->size >> PAGE_SHIFT);
	if (!array)
		return -ENOMEM;
	pages = array->pages;
	if (locked && mmap_read_lock_killable(mm)) {
		gup_test_put_pages(file, array);
		return -EINTR;
	}

	t0 = ktime_get();
	/*
	 * Chunks of @per_call pages, the last one cut at @end. The walk ends at
	 * the first failure, or after a chunk that came back short (or was cut):
	 * then the reported size still counts that whole chunk, as Linux's does.
	 * A size that is not a page multiple leaves a last chunk of 0 pages.
	 */
	for (addr = start; addr < end; addr = next) {
		long got;

		if (nr != per_call)
			break;
		if ((end - addr) >> PAGE_SHIFT < per_call) {
			nr = (end - addr) >> PAGE_SHIFT;
			next = end;
		} else {
			next = addr + (per_call << PAGE_SHIFT);
		}
		got = gup_test_grab(cmd, gup, addr, nr, pages + done);
		if (got <= 0)
			break;
		done += (unsigned long)got;
		nr = (unsigned long)got;
	}
	t1 = ktime_get();
	gup->size = addr - start;

	gup_test_verify(cmd, pages, done);
	if (cmd == DUMP_USER_PAGES_TEST)
		gup_test_dump(gup, pages, done);

	t2 = ktime_get();
	gup_test_put_back(pinned, pages, done);
	t3 = ktime_get();

	if (locked)
		mmap_read_unlock(mm);
	gup_test_put_pages(file, array);
	gup->get_delta_usec = ktime_us_delta(t1, t0);
	gup->put_delta_usec = ktime_us_delta(t3, t2);
	atomic_store_explicit(&file->get_ns, ktime_to_ns(ktime_sub(t1, t0)), memory_order_relaxed);
	atomic_store_explicit(&file->put_ns, ktime_to_ns(ktime_sub(t3, t2)), memory_order_relaxed);
	return 0;
}

/* ---- PIN_LONGTERM_TEST_*: a long-term pin held across calls ---------------- */

/* Drop START's pins, if any. Context: file->lock held, or the file is being closed. */
static void gup_test_lt_stop(struct gup_test_file *file)
{
	if (!file->lt_pages)
		return;
	unpin_user_pages(file->lt_pages, file->lt_nr_pages);
	kvfree(file->lt_pages);
	file->lt_pages = NULL;
	file->lt_nr_pages = 0;
}

/*
 * Pin the whole range long-term (FOLL_WRITE and GUP-fast on request), all
 * or nothing: a GUP error unpins what was taken and is returned.
 */
static int gup_test_lt_start(struct gup_test_file *file, const struct pin_longterm_test *req)
{
	const uint32_t known = PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_LONGTERM_TEST_FLAG_USE_FAST;
	bool fast = req->flags & PIN_LONGTERM_TEST_FLAG_USE_FAST;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = current->mm;
	unsigned long nr_pages, done = 0;
	struct page **pages;
	int ret = 0;

	if (req->flags & ~known)
		return -EINVAL;
	if ((req->addr | req->size) & ~PAGE_MASK)
		return -EINVAL;
	if (req->size > LONG_MAX)
		return -EINVAL;
	nr_pages = req->size >> PAGE_SHIFT;
	if (!nr_pages)
		return -EINVAL;
	pages = gup_test_alloc_pages(nr_pages);
	if (!pages)
		return -ENOMEM;
	if (req->flags & PIN_LONGTERM_TEST_FLAG_USE_WRITE)
		gup_flags |= FOLL_WRITE;
	if (!fast && mmap_read_lock_killable(mm)) {
		kvfree(pages);
		return -EINTR;
	}
	while (done < nr_pages) {
		unsigned long addr = req->addr + (done << PAGE_SHIFT);
		long got;

		if (fast)
			got = pin_user_pages_fast(addr, (int)(nr_pages - done), gup_flags, pages + done);
		else
			got = pin_user_pages(addr, nr_pages - done, gup_flags, pages + done);
		if (got <= 0) {
			/* 0 is no progress (pin_user_pages()' answer to bad arguments): do not spin */
			ret = got ? (int)got : -EFAULT;
			break;
		}
		done += (unsigned long)got;
	}
	if (!fast)
		mmap_read_unlock(mm);
	if (ret) {
		unpin_user_pages(pages, done);
		kvfree(pages);
		return ret;
	}
	file->lt_pages = pages;
	file->lt_nr_pages = done;
	return 0;
}

/* Copy every pinned frame, through its kernel address, to consecutive user pages. */
static int gup_test_lt_read(struct gup_test_file *file, const void *arg)
{
	uint64_t uaddr;

	if (!file->lt_pages)
		return -EINVAL;
	if (!arg)
		return -EFAULT;
	memcpy(&uaddr, arg, sizeof(uaddr));
	for (unsigned long i = 0; i < file->lt_nr_pages; i++) {
		void __user *to = (void __user *)(unsigned long)(uaddr + (i << PAGE_SHIFT));

		void *from = kmap_local_page(file->lt_pages[i]);
		unsigned long left = copy_to_user(to, from, PAGE_SIZE);

		kunmap_local(from);
		if (left)
			return -EFAULT;
	}
	return 0;
}

static long gup_test_lt_ioctl(struct gup_test_file *file, unsigned int cmd, void *arg)
{
	struct pin_longterm_test req;
	long ret = -EINVAL;

	if (mutex_lock_killable(&file->lock))
		return -EINTR;
	switch (cmd) {
	case PIN_LONGTERM_TEST_START:
		if (file->lt_pages)
			break;
		if (!arg) {
			ret = -EFAULT;
			break;
		}
		memcpy(&req, arg, sizeof(req));
		ret = gup_test_lt_start(file, &req);
		break;
	case PIN_LONGTERM_TEST_STOP:
		gup_test_lt_stop(file);
		ret = 0;
		break;
	case PIN_LONGTERM_TEST_READ:
		ret = gup_test_lt_read(file, arg);
		break;
	}
	mutex_unlock(&file->lock);
	return ret;
}

/* ---- the file -------------------------------------------------------------- */

long gup_test_ioctl(struct gup_test_file *file, unsigned int cmd, void *arg)
{
	struct gup_test gup;
	int ret;

	switch (cmd) {
	case GUP_FAST_BENCHMARK:
	case PIN_FAST_BENCHMARK:
	case PIN_LONGTERM_BENCHMARK:
	case GUP_BASIC_TEST:
	case PIN_BASIC_TEST:
	case DUMP_USER_PAGES_TEST:
		break;
	case PIN_LONGTERM_TEST_START:
	case PIN_LONGTERM_TEST_STOP:
	case PIN_LONGTERM_TEST_READ:
		return gup_test_lt_ioctl(file, cmd, arg);
	default:
		return -EINVAL;
	}
	if (!arg)
		return -EFAULT;
	memcpy(&gup, arg, sizeof(gup));
	ret = gup_test_run(file, cmd, &gup);
	if (ret)
		return ret;
	memcpy(arg, &gup, sizeof(gup));
	return 0;
}

struct gup_test_file *gup_test_open(void)
{
	struct gup_test_file *file = kzalloc(sizeof(*file), GFP_KERNEL);

	if (file)
		mutex_init(&file->lock, LOCK_RANK_NONE);
	return file;
}

void gup_test_release(struct gup_test_file *file)
{
	if (!file)
		return;
	gup_test_lt_stop(file);
	gup_test_free_pages(atomic_load(&file->spare));
	mutex_destroy(&file->lock);
	kfree(file);
}

void pinmm_gup_test_times(struct gup_test_file *file, uint64_t *get_ns, uint64_t *put_ns)
{
	*get_ns = atomic_load_explicit(&file->get_ns, memory_order_relaxed);
	*put_ns = atomic_load_explicit(&file->put_ns, memory_order_relaxed);
}
