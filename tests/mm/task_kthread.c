// SPDX-License-Identifier: MIT
/*
 * kthread_use_mm() (Linux kernel/kthread.c): a worker thread adopts a
 * process's mm and its CPU accesses fault and copy into that mm, as a
 * driver's worker does remote work for a user; the process sees the data.
 *
 * PINMM_TEST_CONCURRENT: the worker runs on its own thread while the process
 * thread waits.
 */
#include "vma_helpers.h"

#include <pinmm/memory.h>
#include <pinmm/uaccess.h>

#include <pthread.h>
#include <string.h>

#define BASE	0xa00000000UL
#define LEN	(8 * PAGE_SIZE)

struct work {
	struct mm_struct *mm;
	unsigned long left;
	int put_err;
};

static void *worker(void *arg)
{
	struct work *w = arg;
	static unsigned char data[LEN];
	unsigned int v = 0xfeedbeef;

	memset(data, 0x3c, sizeof(data));
	kthread_use_mm(w->mm);
	w->left = copy_to_user((void __user *)BASE, data, LEN);
	w->put_err = put_user(v, (unsigned int __user *)(BASE + LEN - sizeof(v)));
	kthread_unuse_mm(w->mm);
	return NULL;
}

int main(void)
{
	struct task_struct *t;
	struct work w = { 0 };
	pthread_t th;
	unsigned char back[LEN];
	unsigned int v = 0;
	bool same = true;

	plan_no_plan();
	vt_boot();
	t = vt_process("kthread-target");
	vt_mmap(BASE, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED);
	w.mm = get_task_mm(t);
	pthread_create(&th, NULL, worker, &w);
	pthread_join(th, NULL);
	ok(w.left == 0 && w.put_err == 0,
	   "kthread_use_mm: copy_to_user/put_user from a worker fault pages into the borrowed mm");
	is_int(get_mm_counter(t->mm, MM_ANONPAGES), 8,
	       "kthread_use_mm: the pages are charged to the process's mm");
	copy_from_user(back, (const void __user *)BASE, LEN - sizeof(v));
	for (size_t i = 0; i < LEN - sizeof(v); i++)
		if (back[i] != 0x3c)
			same = false;
	get_user(v, (unsigned int __user *)(BASE + LEN - sizeof(v)));
	ok(same && v == 0xfeedbeef, "kthread_use_mm: the process reads what the worker wrote");
	mmput(w.mm);
	pinmm_task_exit(t);
	test_shutdown_ok("kthread_use_mm copy_to_user");
	return done_testing();
}
