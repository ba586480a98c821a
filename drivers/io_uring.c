// SPDX-License-Identifier: MIT
/*
 * Case 2: io_uring fixed buffers (io_uring/rsrc.c). Registration pins the
 * whole buffer with FOLL_WRITE | FOLL_LONGTERM; a buffer of whole same-size
 * large folios is coalesced to one entry per folio that keeps one pin per
 * folio; the memory is charged per folio, in full, to mm->pinned_vm and,
 * for a task without CAP_IPC_LOCK, to its user's locked_vm against
 * RLIMIT_MEMLOCK. Measured on this machine's 6.18 kernel: a 2 MiB THP buffer
 * raises VmPin by 2048 kB and unregistering returns it to 0; 32 KiB of a
 * THP without CAP_IPC_LOCK under a 64 KiB limit is -ENOMEM.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <pinmm/drivers.h>
#include <string.h>

/* io_pin_pages(): every page pinned, or nothing and -EFAULT. */
static struct page **iou_pin_pages(unsigned long uaddr, unsigned long len, unsigned long *npages)
{
	unsigned long end, nr_pages;
	struct page **pages;
	long ret;

	if (check_add_overflow(uaddr, len, &end) || check_add_overflow(end, PAGE_SIZE - 1, &end))
		return ERR_PTR(-EOVERFLOW);
	nr_pages = (end >> PAGE_SHIFT) - (uaddr >> PAGE_SHIFT);
	if (!nr_pages || nr_pages > INT_MAX)
		return ERR_PTR(-EINVAL);
	/* written before it is read: no need to zero it */
	pages = kvmalloc_array(nr_pages, sizeof(struct page *), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	ret = pin_user_pages_fast(PAGE_ALIGN_DOWN(uaddr), (int)nr_pages,
				  FOLL_WRITE | FOLL_LONGTERM, pages);
	if (ret == (long)nr_pages) {
		*npages = nr_pages;
		return pages;
	}
	if (ret > 0)
		unpin_user_pages(pages, ret);
	kvfree(pages);
	return ERR_PTR(ret < 0 ? ret : -EFAULT);
}

/*
 * io_check_coalesce_buffer(): one size of large folio throughout, each
 * folio's pages consecutive, whole folios except the first (may start
 * inside) and the last (may end inside). The folio is pinned, so the test
 * "the next struct page, still inside it" needs no look at tail pages.
 */
static bool iou_can_coalesce(struct page **pages, unsigned long nr, unsigned int *shift)
{
	struct folio *folio = page_folio(pages[0]);
	size_t size = folio_size(folio);
	unsigned long i = 0;

	if (!folio_test_large(folio))
		return false;
	while (i < nr) {
		struct folio *f = page_folio(pages[i]);
		size_t first = folio_page_idx(f, pages[i]);
		struct page *end = &f->page + folio_nr_pages(f);
		unsigned long run = 1;

		if (folio_size(f) != size || (i && first))
			return false;
		while (i + run < nr && pages[i + run] == pages[i] + run && pages[i + run] < end)
			run++;
		if (i + run < nr && first + run != folio_nr_pages(f))
			return false;
		i += run;
	}
	*shift = (unsigned int)__builtin_ctzl(size);
	return true;
}

/* io_account_mem(): the user first, against the limit; the mm always. */
static int iou_account_mem(struct iou_buffer *buf)
{
	if (buf->user) {
		unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		long cur = atomic_long_read(&buf->user->locked_vm), want;

		do {
			want = cur + (long)buf->acct_pages;
			if ((unsigned long)want > limit)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(&buf->user->locked_vm, &cur, want));
	}
	atomic64_add(buf->acct_pages, &buf->mm_account->pinned_vm);
	return 0;
}

static void iou_unaccount_mem(struct iou_buffer *buf)
{
	if (buf->user)
		atomic_long_sub(buf->acct_pages, &buf->user->locked_vm);
	atomic64_sub(buf->acct_pages, &buf->mm_account->pinned_vm);
}

static void iou_release(struct iou_buffer *buf)
{
	for (unsigned long i = 0; i < buf->nr_bvecs; i++)
		unpin_user_folio(buf->bvec[i].folio, 1);
	if (buf->user)
		free_uid(buf->user);
	mmdrop(buf->mm_account);
	kvfree(buf);
}

int iou_register_buffer(unsigned long addr, size_t len, struct iou_buffer **out)
{
	unsigned long npages = 0, i, nr = 0;
	struct iou_buffer *buf, *shrunk;
	unsigned int shift = PAGE_SHIFT;
	struct folio *last = NULL;
	struct page **pages;
	bool coalesce;
	int ret;

	if (!len)
		return -EINVAL;
	pages = iou_pin_pages(addr, len, &npages);
	if (IS_ERR(pages))
		return (int)PTR_ERR(pages);
	buf = kvmalloc(struct_size(buf, bvec, npages), GFP_KERNEL);
	if (!buf) {
		unpin_user_pages(pages, npages);
		kvfree(pages);
		return -ENOMEM;
	}
	buf->acct_pages = 0;
	coalesce = iou_can_coalesce(pages, npages, &shift);
	for (i = 0; i < npages;) {
		struct folio *folio = page_folio(pages[i]);
		unsigned long first = folio_page_idx(folio, pages[i]), run = 1;

		if (coalesce) {
			run = min_t(unsigned long, npages - i, folio_nr_pages(folio) - first);
			/* the entry keeps one pin for the whole folio */
			if (run > 1)
				unpin_user_folio(folio, run - 1);
		}
		buf->bvec[nr++] = (struct iou_bvec){ folio, first, run };
		/* io_buffer_account_pin(): a large folio counts in full, once */
		if (folio != last)
			buf->acct_pages += folio_nr_pages(folio);
		last = folio;
		i += run;
	}
	kvfree(pages);
	buf->addr = addr;
	buf->len = len;
	buf->nr_bvecs = nr;
	buf->folio_shift = shift;
	buf->user = capable(CAP_IPC_LOCK) ? NULL : get_uid(current_user());
	mmgrab(current->mm);
	buf->mm_account = current->mm;
	ret = iou_account_mem(buf);
	if (ret) {
		iou_release(buf);
		return ret;
	}
	shrunk = krealloc(buf, struct_size(buf, bvec, nr), GFP_KERNEL);
	*out = shrunk ? shrunk : buf;
	return 0;
}

void iou_unregister_buffer(struct iou_buffer *buf)
{
	iou_unaccount_mem(buf);
	iou_release(buf);
}

int iou_buffer_copy_out(struct iou_buffer *buf, size_t offset, void *dst, size_t len)
{
	size_t pos = offset_in_page(buf->addr) + offset, done = 0, base = 0;
	unsigned long b = 0;

	if (offset > buf->len || len > buf->len - offset)
		return -EINVAL;
	while (done < len) {
		struct iou_bvec *bv;
		size_t in, n;

		while (b < buf->nr_bvecs && pos >= base + (buf->bvec[b].nr << PAGE_SHIFT))
			base += buf->bvec[b++].nr << PAGE_SHIFT;
		bv = &buf->bvec[b];
		in = pos - base;
		n = min(len - done, (bv->nr << PAGE_SHIFT) - in);
		memcpy((char *)dst + done,
		       (char *)page_address(folio_page(bv->folio, bv->first)) + in, n);
		done += n;
		pos += n;
	}
	return 0;
}
