/* SPDX-License-Identifier: MIT */
/* <linux/sched.h>: struct task_struct, current (pinmm/task.h, pinmm/sched.h). */
#ifndef PINMM_LINUX_SCHED_H
#define PINMM_LINUX_SCHED_H

/* the host's UAPI header first: glibc's <sched.h> includes it for CLONE_* */
#include_next <linux/sched.h>
#include <linux/types.h>
#include <pinmm/sched.h>
#include <pinmm/task.h>

static inline pid_t task_pid_nr(const struct task_struct *t)
{
	return t->pid;
}

#endif
