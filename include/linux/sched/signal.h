/* SPDX-License-Identifier: MIT */
/* <linux/sched/signal.h>: rlimit(), task_rlimit(), fatal signals. */
#ifndef PINMM_LINUX_SCHED_SIGNAL_H
#define PINMM_LINUX_SCHED_SIGNAL_H

#include <linux/sched.h>
#include <pinmm/cred.h>

static inline bool fatal_signal_pending(struct task_struct *t)
{
	return atomic_load_explicit(&t->sigpending, memory_order_relaxed);
}

static inline bool signal_pending(struct task_struct *t)
{
	return fatal_signal_pending(t);
}

#endif
