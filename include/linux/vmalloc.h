/* SPDX-License-Identifier: MIT */
/* <linux/vmalloc.h>: one heap here, so vmalloc() is kvmalloc(). */
#ifndef PINMM_LINUX_VMALLOC_H
#define PINMM_LINUX_VMALLOC_H

#include <linux/slab.h>

#define vmalloc(size)		kvmalloc(size, GFP_KERNEL)
#define vzalloc(size)		kvzalloc(size, GFP_KERNEL)
#define vfree(p)		kvfree(p)

#endif
