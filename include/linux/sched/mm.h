/* SPDX-License-Identifier: MIT */
/* <linux/sched/mm.h>: mm references and the allocation scopes (memalloc_pin_save). */
#ifndef PINMM_LINUX_SCHED_MM_H
#define PINMM_LINUX_SCHED_MM_H

#include <linux/sched.h>
#include <pinmm/sched.h>
#include <pinmm/task.h>

#endif
