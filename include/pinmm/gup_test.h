/* SPDX-License-Identifier: MIT */
/*
 * gup_test: the driver behind Linux's /sys/kernel/debug/gup_test
 * (CONFIG_GUP_TEST, mm/gup_test.c), with its command interface, so that
 * tools/testing/selftests/mm/gup_test.c-style programs and the
 * PIN_LONGTERM_TEST_* users (gup_longterm, cow) run their requests here.
 *
 *   gup_test_open()                 open the file
 *   gup_test_ioctl(file, cmd, arg)  one command, in current's context, on current->mm
 *   gup_test_release(file)          close it: drops the long-term pins it holds
 *
 * Command numbers are Linux's _IOWR('g', n, ...) values and the structures
 * have Linux's layout and field names (fixed-width C types stand for __u64 and
 * __u32). @arg is the address of the caller's struct (or, for READ, of the
 * __u64 holding the user address to copy to) in the host process, where
 * Linux's is a user pointer; the addresses inside it are user addresses of
 * current->mm. docs/gup_test.md has the rules.
 */
#ifndef PINMM_GUP_TEST_H
#define PINMM_GUP_TEST_H

#include <stdint.h>
#include <sys/ioctl.h>

#define GUP_TEST_MAX_PAGES_TO_DUMP		8
/* DUMP_USER_PAGES_TEST pins (pin_user_pages()) instead of get_user_pages() */
#define GUP_TEST_FLAG_DUMP_PAGES_USE_PIN	0x1

/* The request of commands 1-6: in and out. */
struct gup_test {
	uint64_t get_delta_usec;	/* out: time of the GUP calls */
	uint64_t put_delta_usec;	/* out: time of the release */
	uint64_t addr;			/* in: user address */
	uint64_t size;			/* in: bytes; out: bytes covered */
	uint32_t nr_pages_per_call;	/* pages per GUP call (0: none at all) */
	uint32_t gup_flags;		/* FOLL_* flags, passed through as given */
	uint32_t test_flags;		/* GUP_TEST_FLAG_* */
	/* pages to dump, 1-based (0: empty slot); out of range ones come back 0 */
	uint32_t which_pages[GUP_TEST_MAX_PAGES_TO_DUMP];
};

#define PIN_LONGTERM_TEST_FLAG_USE_WRITE	1	/* FOLL_WRITE */
#define PIN_LONGTERM_TEST_FLAG_USE_FAST		2	/* pin_user_pages_fast() */

/* PIN_LONGTERM_TEST_START's request. */
struct pin_longterm_test {
	uint64_t addr;			/* page aligned */
	uint64_t size;			/* page aligned, > 0, <= LONG_MAX */
	uint32_t flags;			/* PIN_LONGTERM_TEST_FLAG_* */
};

#define GUP_FAST_BENCHMARK	_IOWR('g', 1, struct gup_test)
#define PIN_FAST_BENCHMARK	_IOWR('g', 2, struct gup_test)
#define PIN_LONGTERM_BENCHMARK	_IOWR('g', 3, struct gup_test)
#define GUP_BASIC_TEST		_IOWR('g', 4, struct gup_test)
#define PIN_BASIC_TEST		_IOWR('g', 5, struct gup_test)
#define DUMP_USER_PAGES_TEST	_IOWR('g', 6, struct gup_test)
#define PIN_LONGTERM_TEST_START	_IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP	_IO('g', 8)
#define PIN_LONGTERM_TEST_READ	_IOW('g', 9, uint64_t)

struct gup_test_file;

/**
 * gup_test_open - open the gup_test file.
 *
 * The long-term test state (what PIN_LONGTERM_TEST_START pinned) belongs to
 * the open file, not to the driver: two files do not see each other's pins
 * (the per-file state of the 2026 fix for the STOP/close race; released
 * kernels keep one global state).
 * Return: the file, or NULL if its memory could not be allocated.
 */
struct gup_test_file *gup_test_open(void);

/**
 * gup_test_ioctl - run one command on current->mm.
 * @file: from gup_test_open().
 * @cmd: one of the command numbers above.
 * @arg: the command's argument block (see the top of this file); unused by STOP.
 *
 * Commands 1-6 GUP [addr, addr + size) in chunks of nr_pages_per_call pages,
 * time the calls, check outside the timed window that pinned pages report
 * folio_maybe_dma_pinned() (and long-term ones folio_is_longterm_pinnable();
 * a miss is a WARN and a dump_page(), as in Linux), dump the chosen pages to
 * stderr for DUMP_USER_PAGES_TEST, release everything, time that, and write
 * the results back into *@arg. A GUP failure ends the walk early and is not
 * an error: size then says how far it got. START keeps a long-term pin on
 * the whole range until STOP or release; READ copies the pinned frames, as
 * the device sees them, to a user address.
 *
 * Context: process context with current->mm; takes mmap_lock (read) for the
 * non-fast commands and the file's mutex for START/STOP/READ; may sleep.
 * Return: 0, or -EINVAL (unknown command; addr + size wraps; START while
 * pins are held, unknown flags, an unaligned or empty range, or size above
 * LONG_MAX; READ without START), -EFAULT (@arg NULL; READ to a bad user
 * address), START's GUP error (-EFAULT for a hole, ...; nothing is left
 * pinned), -ENOMEM (the page
 * array is over INT_MAX bytes, with a WARN as kvmalloc() gives, or cannot be
 * allocated), -EINTR (fatal signal while waiting for a lock). *@arg is
 * written only on success.
 */
long gup_test_ioctl(struct gup_test_file *file, unsigned int cmd, void *arg);

/**
 * gup_test_release - close the file: unpin what START left pinned, free it.
 * @file: from gup_test_open(); NULL is ignored.
 *
 * Context: no ioctl on @file may be running or start afterwards.
 */
void gup_test_release(struct gup_test_file *file);

/**
 * pinmm_gup_test_times - the last benchmark command's times in nanoseconds.
 * @file: the file the command ran on.
 * @get_ns, @put_ns: set to the GUP and release times of the last command 1-6
 * that succeeded on @file (get_delta_usec/put_delta_usec before rounding
 * down to microseconds); 0 before any.
 *
 * For pinmm bench's ns/page figures. Commands running concurrently on one
 * file leave the times of one of them.
 */
void pinmm_gup_test_times(struct gup_test_file *file, uint64_t *get_ns, uint64_t *put_ns);

#endif /* PINMM_GUP_TEST_H */
