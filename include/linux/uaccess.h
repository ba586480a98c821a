/* SPDX-License-Identifier: MIT */
/*
 * <linux/uaccess.h>: copy_to_user(), copy_from_user(), get_user() and
 * put_user() on current->mm's page tables (pinmm/uaccess.h).
 */
#ifndef PINMM_LINUX_UACCESS_H
#define PINMM_LINUX_UACCESS_H

#include <linux/types.h>
#include <pinmm/uaccess.h>

#endif
