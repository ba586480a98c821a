/* SPDX-License-Identifier: MIT */
/* <linux/hmm.h>: hmm_range_fault() (pinmm/hmm.h). */
#ifndef PINMM_LINUX_HMM_H
#define PINMM_LINUX_HMM_H

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <pinmm/hmm.h>

#endif
