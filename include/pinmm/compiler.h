/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by every layer: branch hints, container_of,
 * alignment arithmetic, and the small type vocabulary Linux code expects.
 */
#ifndef PINMM_COMPILER_H
#define PINMM_COMPILER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif
#define __noinline	__attribute__((noinline))
#define __cold		__attribute__((cold))
#define __must_check	__attribute__((warn_unused_result))
#define __maybe_unused	__attribute__((unused))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ALIGN(x, a)		(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define BIT(n)			(1UL << (n))

#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))

/*
 * Shared data is C11 atomic in pinmm, so READ_ONCE/WRITE_ONCE are relaxed
 * atomic accesses: the same "one untorn access, no fusing" guarantee Linux
 * relies on, and ThreadSanitizer sees them for what they are.
 */
#define READ_ONCE(x)		atomic_load_explicit(&(x), memory_order_relaxed)
#define WRITE_ONCE(x, v)	atomic_store_explicit(&(x), (v), memory_order_relaxed)

#define smp_mb()		atomic_thread_fence(memory_order_seq_cst)
#define smp_rmb()		atomic_thread_fence(memory_order_acquire)
#define smp_wmb()		atomic_thread_fence(memory_order_release)
/*
 * After an atomic read-modify-write: on x86 the locked instruction is
 * already a full barrier, so (as in Linux) only the compiler must not move
 * accesses across it.
 */
#if defined(__x86_64__) || defined(__i386__)
#define smp_mb__after_atomic()	barrier()
#else
#define smp_mb__after_atomic()	smp_mb()
#endif
#define barrier()		__asm__ __volatile__("" ::: "memory")
#define cpu_relax()		__builtin_ia32_pause()

/* Marks a user address: a location in an mm's address space, not a host pointer. */
#define __user

#define MAX_ERRNO	4095
#define IS_ERR_VALUE(x)	unlikely((unsigned long)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return IS_ERR_VALUE((unsigned long)ptr); }
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR(ptr); }
static inline void *ERR_CAST(const void *ptr) { return (void *)ptr; }

#if defined(__SANITIZE_THREAD__)
#define PINMM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PINMM_TSAN 1
#endif
#endif

/* gcc names ASan with a macro, clang only through __has_feature */
#if defined(__SANITIZE_ADDRESS__)
#define PINMM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PINMM_ASAN 1
#endif
#endif

#endif /* PINMM_COMPILER_H */
