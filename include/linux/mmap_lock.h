/* SPDX-License-Identifier: MIT */
/* <linux/mmap_lock.h>: mmap_read_lock() and friends (pinmm/mman.h). */
#ifndef PINMM_LINUX_MMAP_LOCK_H
#define PINMM_LINUX_MMAP_LOCK_H

#include <pinmm/mman.h>

#endif
