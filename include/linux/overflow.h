/* SPDX-License-Identifier: MIT */
/*
 * <linux/overflow.h>: checked arithmetic. The check_*_overflow() helpers
 * return true when the result did not fit (and store the wrapped value);
 * the size helpers saturate at SIZE_MAX so an allocation of the result fails.
 */
#ifndef PINMM_LINUX_OVERFLOW_H
#define PINMM_LINUX_OVERFLOW_H

#include <linux/types.h>

#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define check_sub_overflow(a, b, d)	__builtin_sub_overflow(a, b, d)
#define check_mul_overflow(a, b, d)	__builtin_mul_overflow(a, b, d)

static inline size_t size_mul(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static inline size_t size_add(size_t a, size_t b)
{
	size_t r;

	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

#define array_size(a, b)		size_mul(a, b)
#define array3_size(a, b, c)		size_mul(size_mul(a, b), c)
/* Bytes of @count trailing @member elements of *@p. */
#define flex_array_size(p, member, count)	size_mul(count, sizeof(*(p)->member))
/* Bytes of *@p with @count elements in its flexible array @member. */
#define struct_size(p, member, count)	\
	size_add(sizeof(*(p)), flex_array_size(p, member, count))

#endif
