/* SPDX-License-Identifier: MIT */
/* <linux/slab.h>: kmalloc() and friends (pinmm/slab.h, fault-injectable). */
#ifndef PINMM_LINUX_SLAB_H
#define PINMM_LINUX_SLAB_H

#include <linux/types.h>
#include <pinmm/gfp.h>
#include <pinmm/slab.h>

#endif
