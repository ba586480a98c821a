/* SPDX-License-Identifier: MIT */
/* <linux/migrate.h>: migrate_vma_*() and the MIGRATE_PFN_* bits (pinmm/migrate.h). */
#ifndef PINMM_LINUX_MIGRATE_H
#define PINMM_LINUX_MIGRATE_H

#include <linux/mm.h>
#include <pinmm/migrate.h>

#endif
