/* SPDX-License-Identifier: MIT */
/* <linux/bio.h>: bios as Direct I/O builds them (pinmm/bio.h). */
#ifndef PINMM_LINUX_BIO_H
#define PINMM_LINUX_BIO_H

#include <linux/bvec.h>
#include <linux/uio.h>
#include <pinmm/bio.h>

#endif
