/* SPDX-License-Identifier: MIT */
/*
 * Device memory access: how a "device" (the disk, an RDMA NIC, a test acting
 * as one) reads and writes the frames it was handed through struct page.
 *
 * A device races the CPUs by design: that is what a pin permits and what the
 * stable-writeback policy defends against. Such races are part of the
 * model, not bugs in pinmm, so in ThreadSanitizer builds these copies are
 * invisible to TSan (a device's DMA is not a CPU thread's access); in every
 * other build they are memcpy().
 */
#ifndef PINMM_DMA_H
#define PINMM_DMA_H

#include <stddef.h>

/* Copy @n bytes as a device would (DMA): may race CPU accesses. */
void pinmm_dma_copy(void *dst, const void *src, size_t n);
/* Fill @n bytes as a device would. */
void pinmm_dma_fill(void *dst, int c, size_t n);

#endif /* PINMM_DMA_H */
