/* SPDX-License-Identifier: MIT */
/*
 * Fault injection at named sites (Linux: fail_page_alloc, failslab, and
 * should_fail() of lib/fault-inject.c; SQLite's fault sweeps).
 *
 * A test arms a site for the calling thread: the @nth next attempt there
 * fails (1 = the very next one), once, or, with PINMM_FAIL_PERSIST, that one
 * and every later one until it disarms the site (nth 0). Only the arming
 * thread's attempts count and fail, so a sweep — fail the 1st attempt, the
 * 2nd, ..., until the operation gets through without reaching the armed
 * one — is deterministic even with the disk and flusher threads running.
 * Allocations with __GFP_NOFAIL never fail and are not counted.
 *
 * A site may instead fail at random, at a low rate (pinmm_fail_rate()), for a
 * soak: the arming thread's attempts fail with probability 1/n each, from a
 * seeded sequence of its own, so a run is repeatable for a given thread and
 * order of attempts. An nth arming of the same site takes precedence.
 */
#ifndef PINMM_FAULT_INJECT_H
#define PINMM_FAULT_INJECT_H

#include <pinmm/compiler.h>

#include <stdbool.h>
#include <stdint.h>

enum pinmm_fail_site {
	PINMM_FAIL_PAGE_ALLOC,		/* alloc_pages(), folio_alloc(): every order, every zone */
	PINMM_FAIL_PAGE_TABLE,		/* a page-table page (before its page allocation) */
	PINMM_FAIL_SLAB,		/* a kernel object from kmalloc() & co (VMAs, tasks, ...) */
	PINMM_FAIL_MIGRATE_TARGET,	/* the destination folio of a migration */
	PINMM_FAIL_SWAP_IO,		/* a swap area's host read or write (-EIO) */
	PINMM_FAIL_XA_NODE,		/* an xarray node (Linux: xas_nomem()'s kmem_cache_alloc) */
	PINMM_FAIL_NR
};

#define PINMM_FAIL_PERSIST	0x1u	/* fail from the nth attempt on, not just once */

/**
 * pinmm_fail_nth - arm @site for this thread: the @nth next attempt fails.
 * @site: where.
 * @nth: 1 = the next attempt; 0 disarms.
 * @flags: 0 or PINMM_FAIL_PERSIST.
 * Context: any thread; affects only the calling thread's attempts.
 */
void pinmm_fail_nth(enum pinmm_fail_site site, unsigned long nth, unsigned int flags);
/**
 * pinmm_fail_rate - arm @site for this thread at random: each attempt fails
 * with probability 1/@one_in_n.
 * @site: where.
 * @one_in_n: the rate's inverse (1 = every attempt); 0 disarms random mode.
 * @seed: the start of this thread's sequence (0 is taken as 1).
 * Context: any thread; affects only the calling thread's attempts. A boot
 * or pinmm_fail_reset() disarms it.
 */
void pinmm_fail_rate(enum pinmm_fail_site site, unsigned long one_in_n, uint64_t seed);
/**
 * pinmm_fail_injected - failures injected at @site by every thread since the
 * program started (nth and random modes alike); what a soak reports.
 */
unsigned long pinmm_fail_injected(enum pinmm_fail_site site);
/* Disarm every site of this thread. */
void pinmm_fail_reset(void);
/* This thread's attempts at @site (counted only while nothing persists past them). */
unsigned long pinmm_fail_attempts(enum pinmm_fail_site site);
/* This thread's injected failures at @site. */
unsigned long pinmm_fail_failures(enum pinmm_fail_site site);
/* The site's name ("page_alloc", ...). */
const char *pinmm_fail_site_name(enum pinmm_fail_site site);

/*
 * should_fail - the check at a site: count the attempt, and say whether
 * this one is to fail. Sites call it before doing the real work.
 */
bool should_fail(enum pinmm_fail_site site);

#endif /* PINMM_FAULT_INJECT_H */
