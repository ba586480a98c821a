/* SPDX-License-Identifier: MIT */
/* <linux/pagemap.h>: the page cache (pinmm/pagemap.h). */
#ifndef PINMM_LINUX_PAGEMAP_H
#define PINMM_LINUX_PAGEMAP_H

#include <linux/mm.h>
#include <pinmm/pagemap.h>

#endif
