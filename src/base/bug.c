// SPDX-License-Identifier: MIT
/*
 * BUG()/WARN() reporting. Kept free of allocation so it is safe to call from
 * any state, including with the zone lock held or memory exhausted.
 */
#include <pinmm/bug.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ulong warn_count;
static atomic_bool warn_quiet;

void pinmm_bug(const char *file, int line, const char *func, const char *cond)
{
	fprintf(stderr, "pinmm: kernel BUG at %s:%d in %s(): %s\n", file, line,
		func, cond);
	fflush(stderr);
	abort();
}

void pinmm_warn_msg(const char *fmt, ...)
{
	va_list ap;

	if (atomic_load_explicit(&warn_quiet, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	fputs("pinmm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void pinmm_warn(const char *file, int line, const char *func, const char *cond,
		atomic_bool *once)
{
	atomic_fetch_add_explicit(&warn_count, 1, memory_order_relaxed);
	if (once && atomic_exchange_explicit(once, true, memory_order_relaxed))
		return;
	if (atomic_load_explicit(&warn_quiet, memory_order_relaxed))
		return;
	fprintf(stderr, "pinmm: WARNING at %s:%d in %s(): %s\n", file, line,
		func, cond);
}

unsigned long pinmm_warn_count(void)
{
	return atomic_load_explicit(&warn_count, memory_order_relaxed);
}

bool pinmm_warn_set_quiet(bool quiet)
{
	return atomic_exchange(&warn_quiet, quiet);
}
