// SPDX-License-Identifier: MIT
/*
 * kmalloc() & co on the host heap (include/pinmm/slab.h), each a
 * PINMM_FAIL_SLAB fault-injection site.
 */
#include <pinmm/fault-inject.h>
#include <pinmm/slab.h>

#include <stdlib.h>
#include <string.h>

/* Should this allocation fail? Never for __GFP_NOFAIL (nor is it counted). */
static bool slab_should_fail(gfp_t flags)
{
	return !(flags & __GFP_NOFAIL) && should_fail(PINMM_FAIL_SLAB);
}

void *kmalloc(size_t size, gfp_t flags)
{
	if (slab_should_fail(flags))
		return NULL;
	/* a zero-size object is still a distinct pointer, as Linux's ZERO_SIZE_PTR is not freed */
	return (flags & __GFP_ZERO) ? calloc(1, size ? size : 1) : malloc(size ? size : 1);
}

void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return kmalloc(bytes, flags);
}

void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

void *krealloc_array(void *p, size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes) || slab_should_fail(flags))
		return NULL;
	return realloc(p, bytes ? bytes : 1);
}

void *krealloc(void *p, size_t size, gfp_t flags)
{
	return krealloc_array(p, 1, size, flags);
}

void kfree(const void *p)
{
	free((void *)p);
}
