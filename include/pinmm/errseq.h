/* SPDX-License-Identifier: MIT */
/*
 * errseq_t: "an error happened, and who has seen it" in one word (Linux:
 * lib/errseq.c). Writeback records its errors in mapping->wb_err; every open
 * file keeps the value it last saw, so fsync() reports a writeback error
 * once to each file that was open when it happened (and to a file opened
 * later, if nobody had seen it yet), never zero times, never twice.
 *
 * Layout: the low 12 bits hold the last -errno, bit 12 says "someone has
 * seen this value", the bits above count errors that happened after a look.
 */
#ifndef PINMM_ERRSEQ_H
#define PINMM_ERRSEQ_H

#include <pinmm/compiler.h>

typedef atomic_uint errseq_t;
typedef unsigned int errseq_val_t;

/* Record -@err (a negative errno) as the newest error. Return the new value. */
errseq_val_t errseq_set(errseq_t *eseq, int err);
/* A value to compare against later: 0 if the current error was never seen. */
errseq_val_t errseq_sample(errseq_t *eseq);
/* -errno if an error was recorded since @since was sampled, else 0. */
int errseq_check(errseq_t *eseq, errseq_val_t since);
/*
 * errseq_check() and, if there was something new, mark it seen and move
 * *@since to it, so the same caller is not told twice. Concurrent callers
 * with their own @since each get the error once.
 */
int errseq_check_and_advance(errseq_t *eseq, errseq_val_t *since);

#endif /* PINMM_ERRSEQ_H */
