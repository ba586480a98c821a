// SPDX-License-Identifier: MIT
/*
 * Device-side copies (see include/pinmm/dma.h). Under ThreadSanitizer the
 * copy is a loop of volatile word accesses in a function TSan does not
 * instrument (memcpy() itself would be intercepted and checked).
 */
#include <pinmm/compiler.h>
#include <pinmm/dma.h>

#include <string.h>

#ifdef PINMM_TSAN
__attribute__((no_sanitize("thread"), noinline))
void pinmm_dma_copy(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;

	while (n && ((uintptr_t)d & 7)) {
		*d++ = *s++;
		n--;
	}
	if (!((uintptr_t)s & 7)) {
		for (; n >= 8; n -= 8, d += 8, s += 8)
			*(volatile uint64_t *)d = *(const volatile uint64_t *)s;
	}
	while (n--)
		*d++ = *s++;
}

__attribute__((no_sanitize("thread"), noinline))
void pinmm_dma_fill(void *dst, int c, size_t n)
{
	volatile unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
}
#else
void pinmm_dma_copy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

void pinmm_dma_fill(void *dst, int c, size_t n)
{
	memset(dst, c, n);
}
#endif
