/* SPDX-License-Identifier: MIT */
/* <linux/rmap.h>: reverse mapping, mapcounts, PageAnonExclusive (pinmm/rmap.h). */
#ifndef PINMM_LINUX_RMAP_H
#define PINMM_LINUX_RMAP_H

#include <linux/mm.h>
#include <pinmm/rmap.h>

#endif
