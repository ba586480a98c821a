/* SPDX-License-Identifier: MIT */
/* <linux/sched/user.h>: struct user_struct, get_uid(), free_uid(), current_user(). */
#ifndef PINMM_LINUX_SCHED_USER_H
#define PINMM_LINUX_SCHED_USER_H

#include <linux/sched.h>
#include <pinmm/cred.h>

#endif
