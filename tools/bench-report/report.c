// SPDX-License-Identifier: MIT
/*
 * bench-report: read the REPORT lines the benches print and draw them.
 *
 * One row per figure: pinmm's bar, and under it the kernel's doing the same
 * work in the same run (or, for figures with no kernel side, the floor they
 * are measured against, memcpy for migration), the values at the bars' ends,
 * and the ratio at the right as the benches print it: kernel / pinmm (> 1:
 * pinmm is faster), pinmm / reference for floors. A kernel side that exists
 * but could not run (no io_uring, O_DIRECT refused) is marked "n/a". Every
 * value is a cost in ns; when they span more than a factor of 100 (a THP pin
 * is under 1 ns/page, a THP migration 100 us) the axis is logarithmic.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../xml_escape.h"

#define W_TOTAL		1000
#define X_LABEL		12
#define X_BARS		330
#define W_BARS		450
#define X_RATIO		(X_BARS + W_BARS + 90)
#define Y_AXIS		74
#define ROW_H		38
#define GROUP_H		22

static const char pinmm_fill[] = "#3b78c2", kernel_fill[] = "#8c8c8c", ref_fill[] = "#c9a227";

/* ---- reading -------------------------------------------------------------- */

static struct report_row *new_row(struct report *r)
{
	if (r->nr == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct report_row *rows = realloc(r->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		r->rows = rows;
		r->cap = cap;
	}
	memset(&r->rows[r->nr], 0, sizeof(r->rows[0]));
	return &r->rows[r->nr++];
}

/* A "== PATH ARGS" line's bench, without the build directories; cut to @size. */
static void bench_of(const char *path, char *out, size_t size)
{
	const char *b = strstr(path, "bench/"), *slash;
	size_t n;

	if (!b) {
		/* "build/release/pinmm bench ...": from the program's name on */
		for (b = path; (slash = strchr(b, '/')) && (!strchr(b, ' ') ||
							      slash < strchr(b, ' '));)
			b = slash + 1;
	}
	n = strcspn(b, "\r\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, b, n);
	out[n] = '\0';
}

static bool parse_number(const char *s, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return end != s && !*end && isfinite(*v) && *v >= 0;
}

/* One "REPORT k=v ..." line into @row. false if a field is missing or bad. */
static bool parse_line(char *line, struct report_row *row)
{
	bool have_name = false, have_pinmm = false, have_unit = false, have_ref_name = false;
	char *save = NULL;

	for (char *tok = strtok_r(line, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		char *eq = strchr(tok, '=');

		if (!strcmp(tok, "REPORT"))
			continue;
		if (!eq)
			return false;
		*eq++ = '\0';
		if (!strcmp(tok, "name")) {
			snprintf(row->name, sizeof(row->name), "%s", eq);
			have_name = *eq;
		} else if (!strcmp(tok, "unit")) {
			snprintf(row->unit, sizeof(row->unit), "%s", eq);
			have_unit = *eq;
		} else if (!strcmp(tok, "pinmm")) {
			have_pinmm = parse_number(eq, &row->pinmm);
			if (!have_pinmm)
				return false;
		} else if (!strcmp(tok, "kernel")) {
			if (!strcmp(eq, "n/a"))
				row->kernel_side = KERNEL_NA;
			else if (parse_number(eq, &row->kernel))
				row->kernel_side = KERNEL_VALUE;
			else
				return false;
		} else if (!strcmp(tok, "ref")) {
			if (!parse_number(eq, &row->ref))
				return false;
			row->has_ref = true;
		} else if (!strcmp(tok, "ref_name")) {
			snprintf(row->ref_name, sizeof(row->ref_name), "%s", eq);
			have_ref_name = *eq;
		}
		/* unknown keys are for later readers: skipped */
	}
	if (row->has_ref && !have_ref_name)
		snprintf(row->ref_name, sizeof(row->ref_name), "reference");
	return have_name && have_pinmm && have_unit;
}

int report_parse(FILE *in, struct report *r, FILE *err)
{
	char line[1024], bench[80] = "";
	unsigned long lineno = 0;

	while (fgets(line, sizeof(line), in)) {
		struct report_row *row;

		lineno++;
		if (!strncmp(line, "== ", 3)) {
			bench_of(line + 3, bench, sizeof(bench));
			continue;
		}
		if (!strncmp(line, "BENCH-FAILED ", 13)) {
			row = new_row(r);
			if (!row)
				return -ENOMEM;
			bench_of(line + 13, row->bench, sizeof(row->bench));
			bench_of(line + 13, row->name, sizeof(row->name));
			row->failed = true;
			continue;
		}
		if (strncmp(line, "REPORT ", 7))
			continue;
		row = new_row(r);
		if (!row)
			return -ENOMEM;
		snprintf(row->bench, sizeof(row->bench), "%s", bench);
		if (!parse_line(line, row)) {
			r->nr--;
			r->malformed++;
			if (err)
				fprintf(err, "bench-report: line %lu: not a REPORT line this reader "
					"understands (needs name=, pinmm=, unit=)\n", lineno);
		}
	}
	return 0;
}

void report_free(struct report *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

double report_ratio(const struct report_row *row)
{
	if (row->failed)
		return 0;
	if (row->kernel_side == KERNEL_VALUE && row->pinmm > 0)
		return row->kernel / row->pinmm;
	if (row->kernel_side == KERNEL_NONE && row->has_ref && row->ref > 0)
		return row->pinmm / row->ref;
	return 0;
}

/* The smallest and largest positive values drawn. false if there are none. */
static bool value_range(const struct report *r, double *lo, double *hi)
{
	bool any = false;

	for (size_t i = 0; i < r->nr; i++) {
		const struct report_row *row = &r->rows[i];
		double v[3] = { row->pinmm, row->kernel_side == KERNEL_VALUE ? row->kernel : 0,
				row->has_ref ? row->ref : 0 };

		if (row->failed)
			continue;
		for (int k = 0; k < 3; k++) {
			if (v[k] <= 0)
				continue;
			*lo = any ? fmin(*lo, v[k]) : v[k];
			*hi = any ? fmax(*hi, v[k]) : v[k];
			any = true;
		}
	}
	return any;
}

bool report_log_scale(const struct report *r)
{
	double lo, hi;

	return value_range(r, &lo, &hi) && hi / lo > 100;
}

/* ---- drawing ---------------------------------------------------------------- */

struct axis {
	bool log;
	double lo, hi;		/* the axis ends */
};

static struct axis make_axis(const struct report *r)
{
	struct axis a = { .log = report_log_scale(r), .lo = 0, .hi = 1 };
	double lo, hi;

	if (!value_range(r, &lo, &hi))
		return a;
	if (a.log) {
		a.lo = pow(10, floor(log10(lo)));
		a.hi = pow(10, ceil(log10(hi)));
		if (a.hi <= a.lo)
			a.hi = a.lo * 10;
	} else {
		/* 1, 2 or 5 times a power of ten, at or above the largest value */
		double p = pow(10, floor(log10(hi)));

		a.hi = hi <= p ? p : hi <= 2 * p ? 2 * p : hi <= 5 * p ? 5 * p : 10 * p;
	}
	return a;
}

/* Pixels from X_BARS for @v: at least 1 for anything drawn. */
static double bar_len(const struct axis *a, double v)
{
	double f;

	if (v <= 0)
		return 1;
	if (a->log)
		f = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	else
		f = v / a->hi;
	return fmax(1, fmin(1, f) * W_BARS);
}

static void fmt_value(char *buf, size_t size, double v)
{
	if (v < 10)
		snprintf(buf, size, "%.2f", v);
	else if (v < 1000)
		snprintf(buf, size, "%.1f", v);
	else
		snprintf(buf, size, "%.0f", v);
}

static void draw_axis(FILE *out, const struct axis *a, int y_bottom)
{
	char buf[32];

	fprintf(out, "<g class=\"axis\" data-scale=\"%s\" data-lo=\"%g\" data-hi=\"%g\">\n",
		a->log ? "log" : "linear", a->lo, a->hi);
	for (int k = 0; k <= 10; k++) {
		double v = a->log ? a->lo * pow(10, k) : a->hi * k / 5;
		double x;

		if ((a->log && v > a->hi * 1.0001) || (!a->log && k > 5))
			break;
		x = X_BARS + (v > 0 ? bar_len(a, v) : 0);
		if (!a->log && k == 0)
			x = X_BARS;
		if (v < 1000)
			snprintf(buf, sizeof(buf), "%g ns", v);
		else if (v < 1e6)
			snprintf(buf, sizeof(buf), "%g \xc2\xb5s", v / 1e3);
		else
			snprintf(buf, sizeof(buf), "%g ms", v / 1e6);
		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#555\" "
			"text-anchor=\"middle\">%s</text>\n", x, Y_AXIS, x, y_bottom, x, Y_AXIS - 4,
			buf);
	}
	fprintf(out, "</g>\n");
}

static void draw_bar(FILE *out, const char *cls, const struct axis *a, double v, int y,
		     const char *fill, const char *who)
{
	char buf[32];
	double len = bar_len(a, v);

	fmt_value(buf, sizeof(buf), v);
	fprintf(out, "<rect class=\"bar %s\" data-value=\"%g\" x=\"%d\" y=\"%d\" width=\"%.1f\" "
		"height=\"12\" fill=\"%s\"/><text x=\"%.1f\" y=\"%d\" font-size=\"10\">%s %s</text>\n",
		cls, v, X_BARS, y, len, fill, X_BARS + len + 4, y + 10, who, buf);
}

static void draw_row(FILE *out, const struct axis *a, const struct report_row *row, int y)
{
	double ratio = report_ratio(row);
	char rbuf[48] = "";

	fprintf(out, "<g class=\"row\" data-bench=\"");
	xml_escape(out, row->bench);
	fprintf(out, "\" data-name=\"");
	xml_escape(out, row->name);
	fprintf(out, "\" data-kernel=\"%s\" data-ratio=\"%.2f\">\n",
		row->failed ? "failed" : row->kernel_side == KERNEL_VALUE ? "value" :
		row->kernel_side == KERNEL_NA ? "n/a" : row->has_ref ? "ref" : "none", ratio);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", X_LABEL + 10, y + 14);
	xml_escape(out, row->name);
	fprintf(out, "</text><text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555\">", X_LABEL + 10,
		y + 28);
	xml_escape(out, row->unit);
	fprintf(out, "</text>\n");
	if (row->failed) {
		fprintf(out, "<text class=\"failed\" x=\"%d\" y=\"%d\" fill=\"#b00\" "
			"font-weight=\"bold\">FAILED: the bench exited with an error; no figures"
			"</text>\n</g>\n", X_BARS, y + 18);
		return;
	}
	draw_bar(out, "pinmm", a, row->pinmm, y + 4, pinmm_fill, "pinmm");
	switch (row->kernel_side) {
	case KERNEL_VALUE:
		draw_bar(out, "kernel", a, row->kernel, y + 19, kernel_fill, "kernel");
		snprintf(rbuf, sizeof(rbuf), "%.2f\xc3\x97", ratio);
		break;
	case KERNEL_NA:
		fprintf(out, "<text class=\"na\" x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#b00\">"
			"kernel n/a (unavailable on this host)</text>\n", X_BARS + 2, y + 29);
		snprintf(rbuf, sizeof(rbuf), "n/a");
		break;
	case KERNEL_NONE:
		if (row->has_ref) {
			char who[40];

			snprintf(who, sizeof(who), "%s", row->ref_name);
			draw_bar(out, "ref", a, row->ref, y + 19, ref_fill, who);
			snprintf(rbuf, sizeof(rbuf), "%.1f\xc3\x97 %s", ratio, row->ref_name);
		} else {
			fprintf(out, "<text class=\"none\" x=\"%d\" y=\"%d\" font-size=\"10\" "
				"fill=\"#777\">no kernel counterpart</text>\n", X_BARS + 2, y + 29);
			snprintf(rbuf, sizeof(rbuf), "\xe2\x80\x94");
		}
		break;
	}
	fprintf(out, "<text class=\"ratio\" x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\" "
		"text-anchor=\"end\" fill=\"%s\">", X_RATIO + 110, y + 20,
		row->kernel_side == KERNEL_VALUE ? (ratio >= 1 ? "#1a7f3c" : "#b00") : "#555");
	xml_escape(out, rbuf);
	fprintf(out, "</text>\n</g>\n");
}

int report_svg(FILE *out, const struct report *r, const char *title)
{
	struct axis a = make_axis(r);
	int groups = 0, height, y;
	const char *prev = NULL;

	for (size_t i = 0; i < r->nr; i++) {
		if (!prev || strcmp(prev, r->rows[i].bench))
			groups++;
		prev = r->rows[i].bench;
	}
	height = Y_AXIS + 8 + groups * GROUP_H + (int)r->nr * ROW_H + 70;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		"height=\"%d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
		"font-size=\"12\">\n<title>", W_TOTAL, height, W_TOTAL, height);
	xml_escape(out, title);
	fprintf(out, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
		"<text x=\"%d\" y=\"22\" font-size=\"16\" font-weight=\"bold\">", W_TOTAL, height,
		X_LABEL);
	xml_escape(out, title);
	fprintf(out, "</text>\n<text x=\"%d\" y=\"42\" fill=\"#444\">Cost per unit (lower is "
		"better), %s axis. Ratio: kernel/pinmm (&gt; 1: pinmm is faster); rows without a "
		"kernel side: pinmm/floor.</text>\n", X_LABEL, a.log ? "logarithmic" : "linear");
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\" font-weight=\"bold\" "
		"text-anchor=\"end\">ratio</text>\n", X_RATIO + 110, Y_AXIS - 4);
	y = Y_AXIS + 8;
	draw_axis(out, &a, Y_AXIS + 8 + groups * GROUP_H + (int)r->nr * ROW_H);
	prev = NULL;
	for (size_t i = 0; i < r->nr; i++) {
		const struct report_row *row = &r->rows[i];

		if (!prev || strcmp(prev, row->bench)) {
			fprintf(out, "<text class=\"group\" x=\"%d\" y=\"%d\" fill=\"#333\" "
				"font-style=\"italic\">", X_LABEL, y + 15);
			xml_escape(out, *row->bench ? row->bench : "(unnamed)");
			fprintf(out, "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
				"stroke=\"#bbb\"/>\n", X_LABEL, y + 19, W_TOTAL - 12, y + 19);
			y += GROUP_H;
		}
		prev = row->bench;
		draw_row(out, &a, row, y);
		y += ROW_H;
	}
	y += 16;
	fprintf(out, "<g class=\"legend\"><rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
		"fill=\"%s\"/><text x=\"%d\" y=\"%d\">pinmm</text><rect x=\"%d\" y=\"%d\" "
		"width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">live kernel, same "
		"work, same run</text><rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
		"fill=\"%s\"/><text x=\"%d\" y=\"%d\">floor (memcpy of the same bytes)</text></g>\n",
		X_LABEL, y, pinmm_fill, X_LABEL + 18, y + 11, X_LABEL + 90, y, kernel_fill,
		X_LABEL + 108, y + 11, X_LABEL + 330, y, ref_fill, X_LABEL + 348, y + 11);
	if (r->malformed)
		fprintf(out, "<text x=\"%d\" y=\"%d\" fill=\"#b00\">%d REPORT line(s) could not "
			"be read</text>\n", X_LABEL, y + 34, r->malformed);
	fprintf(out, "</svg>\n");
	return ferror(out) ? -EIO : 0;
}
