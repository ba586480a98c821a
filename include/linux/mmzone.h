/* SPDX-License-Identifier: MIT */
/* <linux/mmzone.h>: zones, pageblocks and migratetypes (pinmm/mmzone.h). */
#ifndef PINMM_LINUX_MMZONE_H
#define PINMM_LINUX_MMZONE_H

#include <linux/mm_types.h>
#include <pinmm/mmzone.h>

#endif
