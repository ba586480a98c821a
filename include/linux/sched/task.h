/* SPDX-License-Identifier: MIT */
/* <linux/sched/task.h>: task references. */
#ifndef PINMM_LINUX_SCHED_TASK_H
#define PINMM_LINUX_SCHED_TASK_H

#include <linux/sched.h>

#endif
