/* SPDX-License-Identifier: MIT */
/*
 * <linux/types.h> for call sites built against pinmm: Linux's fixed-size
 * names. Kept to plain C types: glibc and liburing reach this header too.
 */
#ifndef PINMM_LINUX_TYPES_H
#define PINMM_LINUX_TYPES_H

/* the host's UAPI header of the same name first: glibc includes it too */
#include_next <linux/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef uint64_t phys_addr_t;
typedef uint64_t resource_size_t;

#endif
