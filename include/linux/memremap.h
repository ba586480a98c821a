/* SPDX-License-Identifier: MIT */
/* <linux/memremap.h>: struct dev_pagemap, memremap_pages() (pinmm/memremap.h). */
#ifndef PINMM_LINUX_MEMREMAP_H
#define PINMM_LINUX_MEMREMAP_H

#include <linux/mm.h>
#include <pinmm/memremap.h>

#endif
