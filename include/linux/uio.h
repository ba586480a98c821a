/* SPDX-License-Identifier: MIT */
/*
 * <linux/uio.h>: struct iov_iter and its extraction (pinmm/uio.h). The host's
 * UAPI header of this name is not included: its struct iovec collides with
 * glibc's <sys/uio.h>, which this one uses instead.
 */
#ifndef PINMM_LINUX_UIO_H
#define PINMM_LINUX_UIO_H

#include <linux/types.h>
#include <pinmm/uio.h>
#include <sys/uio.h>

#ifndef UIO_FASTIOV
#define UIO_FASTIOV	8
#endif
#ifndef UIO_MAXIOV
#define UIO_MAXIOV	1024	/* glibc's <bits/uio_lim.h> may define it as __IOV_MAX */
#endif

#endif
