/* SPDX-License-Identifier: MIT */
/* <linux/err.h>: ERR_PTR, PTR_ERR, IS_ERR, IS_ERR_OR_NULL, ERR_CAST come from pinmm/compiler.h. */
#ifndef PINMM_LINUX_ERR_H
#define PINMM_LINUX_ERR_H

#include <pinmm/compiler.h>

static inline int PTR_ERR_OR_ZERO(const void *ptr)
{
	return IS_ERR(ptr) ? (int)PTR_ERR(ptr) : 0;
}

#endif
