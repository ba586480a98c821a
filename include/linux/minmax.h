/* SPDX-License-Identifier: MIT */
/* <linux/minmax.h>: min/max and friends; min, max, min_t come from pinmm/compiler.h. */
#ifndef PINMM_LINUX_MINMAX_H
#define PINMM_LINUX_MINMAX_H

#include <pinmm/compiler.h>

#ifndef max_t
#define max_t(t, a, b)		((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#endif
#define umin(a, b)		min((unsigned long long)(a), (unsigned long long)(b))
#define umax(a, b)		max((unsigned long long)(a), (unsigned long long)(b))
#define min3(a, b, c)		min(min(a, b), c)
#define max3(a, b, c)		max(max(a, b), c)
#define clamp(v, lo, hi)	min(max(v, lo), hi)
#define clamp_t(t, v, lo, hi)	min_t(t, max_t(t, v, lo), hi)
#define swap(a, b) \
	do { __typeof__(a) __tmp = (a); (a) = (b); (b) = __tmp; } while (0)

#endif
