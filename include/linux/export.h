/* SPDX-License-Identifier: MIT */
/* <linux/export.h>: one library, nothing to export. */
#ifndef PINMM_LINUX_EXPORT_H
#define PINMM_LINUX_EXPORT_H

#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)
#define EXPORT_SYMBOL_NS_GPL(sym, ns)

#endif
