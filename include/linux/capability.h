/* SPDX-License-Identifier: MIT */
/* <linux/capability.h>: capable() and the CAP_* numbers (pinmm/cred.h). */
#ifndef PINMM_LINUX_CAPABILITY_H
#define PINMM_LINUX_CAPABILITY_H

/* the host's UAPI header first: the same CAP_* numbers, and capset's structs */
#include_next <linux/capability.h>
#include <pinmm/cred.h>

#endif
