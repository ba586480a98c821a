/* SPDX-License-Identifier: MIT */
/* <linux/mmu_notifier.h>: notifiers and interval notifiers (pinmm/mmu_notifier.h). */
#ifndef PINMM_LINUX_MMU_NOTIFIER_H
#define PINMM_LINUX_MMU_NOTIFIER_H

#include <linux/mm_types.h>
#include <pinmm/locks.h>
#include <pinmm/mmu_notifier.h>

#endif
