/* SPDX-License-Identifier: MIT */
/*
 * Kernel objects from the host heap, with Linux's names (include/linux/slab.h):
 * kmalloc(), kzalloc(), kcalloc(), kmalloc_array(), krealloc_array(),
 * kfree(), and the kvmalloc() family (the same here: the host heap has no
 * vmalloc/kmalloc split). Every allocation is a fault-injection site
 * (PINMM_FAIL_SLAB, Linux's failslab) unless it carries __GFP_NOFAIL.
 * Sizes that overflow return NULL, as kmalloc_array() does.
 */
#ifndef PINMM_SLAB_H
#define PINMM_SLAB_H

#include <pinmm/gfp.h>

#include <stddef.h>

/* @size bytes, uninitialised; NULL on failure. */
void *kmalloc(size_t size, gfp_t flags);
/* @size bytes of zeroes. */
void *kzalloc(size_t size, gfp_t flags);
/* @n objects of @size, NULL if @n * @size overflows. */
void *kmalloc_array(size_t n, size_t size, gfp_t flags);
/* The same, zeroed. */
void *kcalloc(size_t n, size_t size, gfp_t flags);
/* Resize @p to @n objects of @size (the new tail uninitialised); NULL leaves @p as it was. */
void *krealloc_array(void *p, size_t n, size_t size, gfp_t flags);
/* Resize @p to @size bytes; NULL leaves @p as it was. */
void *krealloc(void *p, size_t size, gfp_t flags);
/* Free what the above returned (NULL is fine). */
void kfree(const void *p);

#define kvmalloc(size, flags)		kmalloc(size, flags)
#define kvzalloc(size, flags)		kzalloc(size, flags)
#define kvcalloc(n, size, flags)	kcalloc(n, size, flags)
#define kvmalloc_array(n, size, flags)	kmalloc_array(n, size, flags)
#define kvfree(p)			kfree(p)

#endif /* PINMM_SLAB_H */
