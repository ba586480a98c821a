/* SPDX-License-Identifier: MIT */
/* <linux/scatterlist.h>: sg tables (pinmm/scatterlist.h). */
#ifndef PINMM_LINUX_SCATTERLIST_H
#define PINMM_LINUX_SCATTERLIST_H

#include <linux/mm.h>
#include <pinmm/scatterlist.h>

#endif
