/* SPDX-License-Identifier: MIT */
/*
 * BUG() and WARN() in the Linux sense.
 *
 * BUG() is for states that must never exist: it prints where and aborts.
 * WARN_ON*() is for misuse the code can survive: it prints a backtrace-free
 * report with file:line, counts the event, and lets the caller return an error.
 * WARN_ON_ONCE() prints once per call site but counts every hit, so a test can
 * assert that a warning fired with pinmm_warn_count() before and after.
 *
 * VM_BUG_ON()/VM_WARN_ON*() are the CONFIG_DEBUG_VM assertions: checked in the
 * debug, ASan and TSan builds, compiled out (but still type-checked) in release.
 */
#ifndef PINMM_BUG_H
#define PINMM_BUG_H

#include <pinmm/compiler.h>

__attribute__((noreturn)) __cold
void pinmm_bug(const char *file, int line, const char *func, const char *cond);
__cold void pinmm_warn(const char *file, int line, const char *func,
		       const char *cond, atomic_bool *once);
/* Number of WARN_ON*() hits since the process started (all sites). */
unsigned long pinmm_warn_count(void);
/* Silence WARN output (still counted); returns the previous setting. */
bool pinmm_warn_set_quiet(bool quiet);

#define BUG() pinmm_bug(__FILE__, __LINE__, __func__, "BUG()")
#define BUG_ON(cond)							\
	do {								\
		if (unlikely(cond))					\
			pinmm_bug(__FILE__, __LINE__, __func__, #cond);	\
	} while (0)

#define WARN_ON(cond) ({						\
	bool __c = !!(cond);						\
	if (unlikely(__c))						\
		pinmm_warn(__FILE__, __LINE__, __func__, #cond, NULL);	\
	unlikely(__c);							\
})

#define WARN_ON_ONCE(cond) ({						\
	static atomic_bool __warned;					\
	bool __c = !!(cond);						\
	if (unlikely(__c))						\
		pinmm_warn(__FILE__, __LINE__, __func__, #cond, &__warned); \
	unlikely(__c);							\
})

#define WARN_ONCE(cond, ...) ({						\
	static atomic_bool __warned;					\
	bool __c = !!(cond);						\
	if (unlikely(__c)) {						\
		if (!atomic_load_explicit(&__warned, memory_order_relaxed)) \
			pinmm_warn_msg(__VA_ARGS__);			\
		pinmm_warn(__FILE__, __LINE__, __func__, #cond, &__warned); \
	}								\
	unlikely(__c);							\
})
__cold __printf(1, 2) void pinmm_warn_msg(const char *fmt, ...);

#ifdef CONFIG_DEBUG_VM
#define VM_BUG_ON(cond)		BUG_ON(cond)
#define VM_WARN_ON(cond)	((void)WARN_ON(cond))
#define VM_WARN_ON_ONCE(cond)	((void)WARN_ON_ONCE(cond))
#define VM_WARN_ON_ONCE_RET(cond) WARN_ON_ONCE(cond)
#else
#define VM_BUG_ON(cond)		((void)sizeof(!(cond)))
#define VM_WARN_ON(cond)	((void)sizeof(!(cond)))
#define VM_WARN_ON_ONCE(cond)	((void)sizeof(!(cond)))
#define VM_WARN_ON_ONCE_RET(cond) ({ (void)sizeof(!(cond)); false; })
#endif

#define BUILD_BUG_ON(cond)	_Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")

#endif /* PINMM_BUG_H */
