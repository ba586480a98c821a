/* SPDX-License-Identifier: MIT */
/* <linux/errno.h>: the host's errno values (Linux's), plus kernel-internal ones. */
#ifndef PINMM_LINUX_ERRNO_H
#define PINMM_LINUX_ERRNO_H

/* the host's UAPI header of the same name first: glibc includes it too */
#include_next <linux/errno.h>


#define ERESTARTSYS	512
#define ERESTARTNOINTR	513	/* restart the call, no signal to see first */
#define ENOTSUPP	524

#endif
