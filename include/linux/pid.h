/* SPDX-License-Identifier: MIT */
/* <linux/pid.h>: struct pid, find_get_pid(), get_pid_task(), put_pid(). */
#ifndef PINMM_LINUX_PID_H
#define PINMM_LINUX_PID_H

#include <linux/sched.h>

#endif
