// SPDX-License-Identifier: MIT
/*
 * madvise() and memory contents: MADV_DONTNEED drops private anonymous pages
 * (the next read is zeroes, Linux's zap_page_range_single) and the rss;
 * MADV_POPULATE_READ maps without allocating (zero page), MADV_POPULATE_WRITE
 * allocates every page. MADV_DONTNEED_LOCKED drops locked pages too.
 */
#include "vma_helpers.h"
#include "../lib/process.h"

#include <pinmm/gup.h>
#include <pinmm/memory.h>
#include <pinmm/uaccess.h>

#include <string.h>

#define BASE	0x900000000UL
#define RW	(PROT_READ | PROT_WRITE)

static unsigned char buf[16 * PAGE_SIZE];

static bool all(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void dontneed(void)
{
	struct task_struct *t;
	struct mm_struct *mm;

	vt_boot();
	t = vt_process("dontneed");
	mm = t->mm;
	vt_mmap(BASE, 16 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	memset(buf, 0x5a, sizeof(buf));
	is_uint(copy_to_user((void __user *)BASE, buf, sizeof(buf)), 0, "madvise: write 16 pages");
	is_int(do_madvise(mm, BASE + 4 * PAGE_SIZE, 8 * PAGE_SIZE, MADV_DONTNEED), 0,
	       "madvise: MADV_DONTNEED on 8 of them");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 8, "madvise: MADV_DONTNEED frees the pages (rss)");
	copy_from_user(buf, (const void __user *)BASE, sizeof(buf));
	ok(all(buf, 4 * PAGE_SIZE, 0x5a) && all(buf + 4 * PAGE_SIZE, 8 * PAGE_SIZE, 0) &&
	   all(buf + 12 * PAGE_SIZE, 4 * PAGE_SIZE, 0x5a),
	   "madvise: after MADV_DONTNEED private anonymous memory reads as zeroes; the rest "
	   "keeps its data");
	is_int(vt_nr_vmas(mm), 1, "madvise: MADV_DONTNEED does not split the VMA");
	do_mlock(BASE, PAGE_SIZE, 0);
	is_int(do_madvise(mm, BASE, PAGE_SIZE, MADV_DONTNEED), -EINVAL,
	       "madvise: MADV_DONTNEED on locked memory is -EINVAL");
	pinmm_task_exit(t);
	test_shutdown_ok("MADV_DONTNEED");
}

/*
 * MADV_DONTNEED_LOCKED (Linux 5.18, madvise_dontneed_free_valid_vma()): the
 * drop MADV_DONTNEED refuses on locked memory. The VMA stays locked and
 * counted (VmLck), the next touch faults a new zeroed page in. A pinned page
 * leaves the mapping with its pin: the device keeps writing the old frame,
 * which the process no longer sees (live 6.18: an io_uring fixed buffer over
 * mlocked memory, then MADV_DONTNEED_LOCKED, reads zeroes after a device
 * write; scenarios/dontneed-locked-pinned.scn).
 */
static void dontneed_locked(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct page *page;
	unsigned long pfn;

	vt_boot();
	t = vt_process("dontneed-locked");
	mm = t->mm;
	vt_mmap(BASE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	memset(buf, 0x5a, 8 * PAGE_SIZE);
	copy_to_user((void __user *)BASE, buf, 8 * PAGE_SIZE);
	is_int(do_mlock(BASE, 8 * PAGE_SIZE, 0), 0, "dontneed-locked: mlock 8 pages");
	is_int(do_madvise(mm, BASE, 4 * PAGE_SIZE, MADV_DONTNEED), -EINVAL,
	       "dontneed-locked: plain MADV_DONTNEED refuses them");
	is_int(do_madvise(mm, BASE, 4 * PAGE_SIZE, MADV_DONTNEED_LOCKED), 0,
	       "dontneed-locked: MADV_DONTNEED_LOCKED of 4: 0");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 4, "dontneed-locked: their pages are freed (rss)");
	ok((vt_vma(BASE)->vm_flags & VM_LOCKED) && mm->locked_vm == 8 && vt_nr_vmas(mm) == 1,
	   "dontneed-locked: the VMA stays locked, whole and counted in locked_vm");
	copy_from_user(buf, (const void __user *)BASE, 8 * PAGE_SIZE);
	ok(all(buf, 4 * PAGE_SIZE, 0) && all(buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE, 0x5a),
	   "dontneed-locked: the dropped pages read zeroes, the others keep their data");

	is_int(pin_user_pages_fast(BASE + 4 * PAGE_SIZE, 1, FOLL_WRITE | FOLL_LONGTERM, &page), 1,
	       "dontneed-locked: a long-term pin of a locked page (an RDMA registration)");
	pfn = page_to_pfn(page);
	is_int(do_madvise(mm, BASE + 4 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED_LOCKED), 0,
	       "dontneed-locked: MADV_DONTNEED_LOCKED of the pinned page: 0");
	ok(folio_maybe_dma_pinned(page_folio(page)) && test_pt_pfn(mm, BASE + 4 * PAGE_SIZE) == -1UL,
	   "dontneed-locked: it left the mapping with its pin");
	memset(page_address(page), 0x77, PAGE_SIZE);
	copy_from_user(buf, (const void __user *)(BASE + 4 * PAGE_SIZE), PAGE_SIZE);
	ok(all(buf, PAGE_SIZE, 0) && test_pt_pfn(mm, BASE + 4 * PAGE_SIZE) != pfn,
	   "dontneed-locked: what the device writes afterwards is not seen: the process reads "
	   "zeroes from a new frame");
	unpin_user_page(page);
	is_int(do_madvise(mm, BASE + 8 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED_LOCKED), -ENOMEM,
	       "dontneed-locked: an unmapped range is -ENOMEM");
	pinmm_task_exit(t);
	test_shutdown_ok("MADV_DONTNEED_LOCKED");
}

static void populate(void)
{
	struct task_struct *t;
	struct mm_struct *mm;

	vt_boot();
	t = vt_process("populate");
	mm = t->mm;
	vt_mmap(BASE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(BASE + 8 * PAGE_SIZE, 8 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE);
	is_int(do_madvise(mm, BASE, 8 * PAGE_SIZE, MADV_POPULATE_READ), 0,
	       "madvise: MADV_POPULATE_READ");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 0,
	       "madvise: MADV_POPULATE_READ of private anon maps the zero page, allocating nothing");
	is_int(do_madvise(mm, BASE, 16 * PAGE_SIZE, MADV_POPULATE_WRITE), 0,
	       "madvise: MADV_POPULATE_WRITE across two VMAs");
	is_int(get_mm_counter(mm, MM_ANONPAGES), 16,
	       "madvise: MADV_POPULATE_WRITE allocates every page");
	is_int(do_madvise(mm, BASE, 24 * PAGE_SIZE, MADV_POPULATE_WRITE), -ENOMEM,
	       "madvise: MADV_POPULATE_WRITE running into a hole is -ENOMEM");
	pinmm_task_exit(t);
	test_shutdown_ok("MADV_POPULATE");
}

int main(void)
{
	plan_no_plan();
	dontneed();
	dontneed_locked();
	populate();
	return done_testing();
}
