/* SPDX-License-Identifier: MIT */
/* <linux/compiler.h>: likely/unlikely, __user, barriers (pinmm/compiler.h). */
#ifndef PINMM_LINUX_COMPILER_H
#define PINMM_LINUX_COMPILER_H

#include <pinmm/compiler.h>

#endif
