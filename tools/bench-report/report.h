/* SPDX-License-Identifier: MIT */
/*
 * make bench-report: the REPORT lines of every bench (bench/report.h's
 * format) read back and drawn as one SVG, pinmm against the kernel per
 * figure (docs/bench-report.md).
 */
#ifndef PINMM_BENCH_REPORT_TOOL_H
#define PINMM_BENCH_REPORT_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum kernel_side {
	KERNEL_NONE,	/* the figure has no kernel counterpart */
	KERNEL_VALUE,	/* measured in the same run */
	KERNEL_NA,	/* it has one, but it was unavailable (no io_uring, no O_DIRECT) */
};

struct report_row {
	char bench[80];		/* the "== build/release/bench/NAME" section it came from */
	char name[64];
	char unit[24];
	double pinmm;
	enum kernel_side kernel_side;
	double kernel;
	bool has_ref;
	double ref;		/* a floor instead of a kernel (memcpy for migration) */
	char ref_name[24];
	bool failed;		/* a "BENCH-FAILED" marker: the bench exited non-zero */
};

struct report {
	struct report_row *rows;
	size_t nr, cap;
	int malformed;		/* REPORT lines that could not be read */
};

/**
 * report_parse - collect the REPORT lines of bench output.
 * @in: the output of the benches, prose and all.
 * @r: zeroed, or holding rows to append to.
 * @err: where to say which lines were malformed (NULL: quiet).
 *
 * "== PATH" lines name the bench for the rows after them; "BENCH-FAILED
 * PATH" lines become failed rows. Other lines are ignored.
 * Return: 0, or -ENOMEM (the rows read so far are kept).
 */
int report_parse(FILE *in, struct report *r, FILE *err);

/* Free the rows of @r. */
void report_free(struct report *r);

/* The ratio printed for @row: kernel / pinmm, or pinmm / ref; 0 if none. */
double report_ratio(const struct report_row *row);

/* Is the value axis logarithmic? (its largest value over its smallest > 100) */
bool report_log_scale(const struct report *r);

/**
 * report_svg - draw @r: a row per figure, pinmm's bar, the kernel's (or the
 * reference's) under it, the values at the bars' ends and the ratio at the
 * right; "n/a" where the kernel side did not run.
 * Return: 0, or -EIO if @out failed.
 */
int report_svg(FILE *out, const struct report *r, const char *title);

#endif
