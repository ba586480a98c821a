/* SPDX-License-Identifier: MIT */
/* <linux/atomic.h>: atomic_t, atomic64_t, atomic_long_t (pinmm/atomic.h). */
#ifndef PINMM_LINUX_ATOMIC_H
#define PINMM_LINUX_ATOMIC_H

#include <pinmm/atomic.h>
#include <pinmm/compiler.h>

#endif
