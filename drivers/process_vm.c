// SPDX-License-Identifier: MIT
/*
 * Case 1, remote: process_vm_readv(2)/process_vm_writev(2)
 * (mm/process_vm_access.c). The other process's pages are pinned short-term
 * with pin_user_pages_remote() under its mmap_lock, 16 at a time, copied
 * through their frames to or from the caller's memory, and unpinned — dirty
 * when they were written. A short copy stops at the first remote page that
 * cannot be pinned.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/uio.h>
#include <pinmm/drivers.h>

#define PVM_MAX_PP_ARRAY_COUNT	16

/* mm_access(): the target's mm, if current may look into it (same uid, or CAP_SYS_PTRACE). */
static struct mm_struct *pvm_mm_access(struct task_struct *task)
{
	if (task->uid != current->uid && !capable(CAP_SYS_PTRACE))
		return ERR_PTR(-EPERM);
	return get_task_mm(task) ?: ERR_PTR(-ESRCH);
}

/* The caller's side, walked like an iov_iter over its vectors. */
struct pvm_local {
	const struct iovec *iov;
	unsigned long nr, idx;
	size_t off;
};

/* Copy @n bytes between @frame and the local vectors. Return bytes copied. */
static size_t pvm_copy_local(struct pvm_local *l, char *frame, size_t n, bool vm_write)
{
	size_t done = 0;

	while (done < n && l->idx < l->nr) {
		const struct iovec *v = &l->iov[l->idx];
		size_t chunk = min(n - done, v->iov_len - l->off), left;
		void __user *u = (char __user *)v->iov_base + l->off;

		left = vm_write ? copy_from_user(frame + done, u, chunk) :
				  copy_to_user(u, frame + done, chunk);
		done += chunk - left;
		l->off += chunk - left;
		if (left)
			break;
		if (l->off == v->iov_len) {
			l->idx++;
			l->off = 0;
		}
	}
	return done;
}

/*
 * process_vm_rw_single_vec(): one remote vector, 16 pages pinned at a time.
 * Return the bytes copied; *@err says why it stopped short (-EFAULT: a remote
 * page could not be pinned, or the local buffers ran out or are bad).
 */
static size_t pvm_copy_range(struct mm_struct *mm, unsigned long raddr, size_t len,
			     struct pvm_local *l, bool vm_write, int *err)
{
	struct page *pages[PVM_MAX_PP_ARRAY_COUNT];
	unsigned int flags = vm_write ? FOLL_WRITE : 0;
	size_t done = 0;

	while (done < len && l->idx < l->nr) {
		unsigned long start = raddr + done, offset = offset_in_page(start);
		unsigned long nr = min_t(unsigned long, PVM_MAX_PP_ARRAY_COUNT,
					 DIV_ROUND_UP(offset + (len - done), PAGE_SIZE));
		int locked = 1;
		long pinned;

		mmap_read_lock(mm);
		pinned = pin_user_pages_remote(mm, PAGE_ALIGN_DOWN(start), nr, flags, pages, &locked);
		if (locked)
			mmap_read_unlock(mm);
		if (pinned <= 0) {
			*err = pinned ? (int)pinned : -EFAULT;
			return done;
		}
		for (long i = 0; i < pinned && done < len; i++) {
			size_t n = min(len - done, PAGE_SIZE - offset), got;
			char *frame = (char *)kmap_local_page(pages[i]) + offset;

			got = pvm_copy_local(l, frame, n, vm_write);
			kunmap_local(frame);
			done += got;
			offset = 0;
			if (got < n) {
				*err = -EFAULT;
				unpin_user_pages_dirty_lock(pages, pinned, vm_write);
				return done;
			}
		}
		unpin_user_pages_dirty_lock(pages, pinned, vm_write);
	}
	return done;
}

ssize_t process_vm_rw(pid_t pid, const struct iovec *local, unsigned long liovcnt,
		      const struct iovec *remote, unsigned long riovcnt, unsigned long flags,
		      bool vm_write)
{
	struct pvm_local l = { .iov = local, .nr = liovcnt };
	struct task_struct *task;
	struct mm_struct *mm;
	ssize_t total = 0;
	struct pid *p;
	int err = 0;

	if (flags || liovcnt > UIO_MAXIOV || riovcnt > UIO_MAXIOV)
		return -EINVAL;
	p = find_get_pid(pid);
	task = p ? get_pid_task(p, PIDTYPE_PID) : NULL;
	put_pid(p);
	if (!task)
		return -ESRCH;
	mm = pvm_mm_access(task);
	put_task_struct(task);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	for (unsigned long r = 0; r < riovcnt && !err; r++) {
		size_t want = remote[r].iov_len;

		total += pvm_copy_range(mm, (unsigned long)remote[r].iov_base, want, &l, vm_write,
					&err);
	}
	mmput(mm);
	return total ? total : err;
}
