/* SPDX-License-Identifier: MIT */
/*
 * <linux/kernel.h>: the everyday macros (container_of, ARRAY_SIZE, ALIGN,
 * DIV_ROUND_UP), printk levels onto stderr, might_sleep(), WARN/BUG.
 */
#ifndef PINMM_LINUX_KERNEL_H
#define PINMM_LINUX_KERNEL_H

/* the host's UAPI header of the same name first: glibc includes it too */
#include_next <linux/kernel.h>

#include <linux/compiler.h>
#include <linux/minmax.h>
#include <linux/types.h>
#include <limits.h>
#include <pinmm/bug.h>
#include <pinmm/sched.h>
#include <stdio.h>

#define U8_MAX		UINT8_MAX
#define U16_MAX		UINT16_MAX
#define U32_MAX		UINT32_MAX
#define U64_MAX		UINT64_MAX
#define S32_MAX		INT32_MAX
#define S64_MAX		INT64_MAX

#define BUILD_BUG_ON(cond)	_Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")
#define might_sleep()		do { } while (0)

#define pr_err(fmt, ...)	fprintf(stderr, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	fprintf(stderr, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	fprintf(stderr, fmt, ##__VA_ARGS__)
/* pr_debug is compiled out, as without DEBUG/dynamic debug; arguments still type-checked */
#define pr_debug(fmt, ...)	do { if (0) fprintf(stderr, fmt, ##__VA_ARGS__); } while (0)

#endif
