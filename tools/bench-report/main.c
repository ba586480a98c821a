// SPDX-License-Identifier: MIT
/*
 * bench-report [-o OUT.svg] [BENCH-OUTPUT]: the REPORT lines of the benches'
 * output (standard input without a file) drawn as SVG (standard output
 * without -o). Exits 1 if a bench failed or a REPORT line was unreadable,
 * after drawing what there is. make bench-report runs it.
 */
#include "report.h"

#include <errno.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *out_path = NULL, *in_path = NULL;
	struct report r = { 0 };
	FILE *in = stdin, *out = stdout;
	int failed = 0, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out_path = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "usage: bench-report [-o OUT.svg] [BENCH-OUTPUT]\n");
			return 2;
		} else if (!in_path) {
			in_path = argv[i];
		} else {
			fprintf(stderr, "bench-report: one input file only\n");
			return 2;
		}
	}
	if (in_path && !(in = fopen(in_path, "r"))) {
		fprintf(stderr, "bench-report: %s: %s\n", in_path, strerror(errno));
		return 1;
	}
	err = report_parse(in, &r, stderr);
	if (in != stdin)
		fclose(in);
	if (err) {
		fprintf(stderr, "bench-report: %s\n", strerror(-err));
		report_free(&r);
		return 1;
	}
	if (out_path && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "bench-report: %s: %s\n", out_path, strerror(errno));
		report_free(&r);
		return 1;
	}
	err = report_svg(out, &r, "pinmm vs the live kernel: make bench-report");
	if (out != stdout && fclose(out))
		err = -EIO;
	for (size_t i = 0; i < r.nr; i++) {
		const struct report_row *row = &r.rows[i];
		char other[32] = "-", ratio[32] = "-";

		failed |= row->failed;
		if (!out_path)
			continue;	/* the SVG is on standard output */
		if (row->failed) {
			printf("%-34s FAILED\n", row->name);
			continue;
		}
		if (row->kernel_side == KERNEL_VALUE)
			snprintf(other, sizeof(other), "kernel %.2f", row->kernel);
		else if (row->kernel_side == KERNEL_NA)
			snprintf(other, sizeof(other), "kernel n/a");
		else if (row->has_ref)
			snprintf(other, sizeof(other), "%s %.2f", row->ref_name, row->ref);
		if (report_ratio(row) > 0)
			snprintf(ratio, sizeof(ratio), "%.2f", report_ratio(row));
		printf("%-34s pinmm %10.2f  %-20s ratio %-6s %s\n", row->name, row->pinmm, other,
		       ratio, row->unit);
	}
	if (err)
		fprintf(stderr, "bench-report: writing the SVG: %s\n", strerror(-err));
	failed |= r.malformed > 0 || err;
	report_free(&r);
	return failed ? 1 : 0;
}
