// SPDX-License-Identifier: MIT
/*
 * make bench-report's drawer (tools/bench-report) on canned bench output,
 * never by running a bench: the REPORT lines (bench/report.h) are read
 * among the prose, and the SVG, parsed back with expat, has a row per
 * figure with pinmm's bar and the kernel's, the ratio as the benches print
 * it (kernel/pinmm, as in "pin ns/page: pinmm X kernel Y ratio Z"), "n/a"
 * where io_uring was unavailable, the memcpy floor for migration, FAILED
 * for a bench that exited with an error, and a log axis only when the
 * values span more than a factor of 100.
 */
#include "../lib/tap.h"
#include "../../tools/bench-report/report.h"

#include <expat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* what a real run prints, abridged: prose, headlines and REPORT lines */
static const char canned_wide[] =
	"== build/release/bench/fault\n"
	"4 KiB anon write fault: pinmm    210.0 ns   kernel   1585.0 ns   ratio 7.55\n"
	"REPORT name=fault-4k pinmm=210.000 kernel=1585.000 unit=ns/fault\n"
	"fault ns: 4k pinmm 210 kernel 1585 ratio 7.55\n"
	"== build/release/bench/iou\n"
	"4 KiB     register: pinmm 7.60 ns/page; kernel io_uring unavailable (skipped)\n"
	"REPORT name=iou-register-4k pinmm=7.600 kernel=n/a unit=ns/page\n"
	"== build/release/bench/migrate\n"
	"REPORT name=migrate-2m-thp pinmm=156000.000 ref=49000.000 ref_name=memcpy unit=ns/folio\n"
	"== build/release/bench/alloc\n"
	"REPORT name=alloc-order0 pinmm=38.000 unit=ns/op\n"
	"REPORT name=broken pinmm=abc unit=ns/op\n"
	"REPORT pinmm=1.0 unit=ns\n"
	"== build/release/bench/dio\n"
	"BENCH-FAILED build/release/bench/dio\n"
	"== build/release/pinmm bench -a -F 0x100 -m 1024 -n -1 -r 5 --kernel -t\n"
	"REPORT name=pin-fast-longterm-thp-pin pinmm=0.640 kernel=5.900 unit=ns/page\n"
	"pin ns/page: pinmm 0.64 kernel 5.90 ratio 9.22\n";

static const char canned_narrow[] =
	"== build/release/bench/fault\n"
	"REPORT name=a pinmm=10 kernel=40 unit=ns/page\n"
	"REPORT name=b pinmm=30 kernel=15 unit=ns/page\n";

struct svg_row {
	char name[64], kernel[16];
	double ratio;
	double pinmm_w, kernel_w, ref_w;
	double pinmm_v, kernel_v;
	char ratio_text[48];
	bool na_mark, failed_mark;
};

struct parsed {
	struct svg_row rows[32];
	int nr;
	bool viewbox, in_ratio;
	char scale[16];
	struct svg_row *cur;
};

static const char *attr(const char **a, const char *name)
{
	for (; *a; a += 2)
		if (!strcmp(a[0], name))
			return a[1];
	return "";
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **a)
{
	struct parsed *p = ud;
	const char *cls = attr(a, "class");

	if (!strcmp(name, "svg"))
		p->viewbox = *attr(a, "viewBox");
	else if (!strcmp(name, "g") && !strcmp(cls, "axis"))
		snprintf(p->scale, sizeof(p->scale), "%s", attr(a, "data-scale"));
	else if (!strcmp(name, "g") && !strcmp(cls, "row") && p->nr < 32) {
		p->cur = &p->rows[p->nr++];
		snprintf(p->cur->name, sizeof(p->cur->name), "%s", attr(a, "data-name"));
		snprintf(p->cur->kernel, sizeof(p->cur->kernel), "%s", attr(a, "data-kernel"));
		p->cur->ratio = strtod(attr(a, "data-ratio"), NULL);
	} else if (p->cur && !strcmp(name, "rect") && !strncmp(cls, "bar ", 4)) {
		double w = strtod(attr(a, "width"), NULL), v = strtod(attr(a, "data-value"), NULL);

		if (!strcmp(cls + 4, "pinmm"))
			p->cur->pinmm_w = w, p->cur->pinmm_v = v;
		else if (!strcmp(cls + 4, "kernel"))
			p->cur->kernel_w = w, p->cur->kernel_v = v;
		else if (!strcmp(cls + 4, "ref"))
			p->cur->ref_w = w;
	} else if (p->cur && !strcmp(name, "text")) {
		p->in_ratio = !strcmp(cls, "ratio");
		p->cur->na_mark |= !strcmp(cls, "na");
		p->cur->failed_mark |= !strcmp(cls, "failed");
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parsed *p = ud;

	if (!strcmp(name, "g"))
		p->cur = NULL;
	p->in_ratio = false;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parsed *p = ud;
	size_t have;

	if (!p->cur || !p->in_ratio)
		return;
	have = strlen(p->cur->ratio_text);
	if (have + (size_t)len < sizeof(p->cur->ratio_text)) {
		memcpy(p->cur->ratio_text + have, s, (size_t)len);
		p->cur->ratio_text[have + (size_t)len] = '\0';
	}
}

/* canned input -> report -> SVG -> parsed; false if the SVG is not well-formed */
static bool run(const char *input, struct report *r, struct parsed *p)
{
	FILE *in = fmemopen((void *)input, strlen(input), "r"), *out, *err;
	char *svg = NULL, *errs = NULL;
	size_t len = 0, elen = 0;
	XML_Parser xp;
	bool good;

	memset(r, 0, sizeof(*r));
	memset(p, 0, sizeof(*p));
	err = open_memstream(&errs, &elen);
	is_int(report_parse(in, r, err), 0, "report_parse() reads canned output");
	fclose(in);
	fclose(err);
	free(errs);
	out = open_memstream(&svg, &len);
	is_int(report_svg(out, r, "canned"), 0, "report_svg() writes the picture");
	fclose(out);
	xp = XML_ParserCreate("UTF-8");
	XML_SetUserData(xp, p);
	XML_SetElementHandler(xp, on_start, on_end);
	XML_SetCharacterDataHandler(xp, on_text);
	good = XML_Parse(xp, svg, (int)len, 1) == XML_STATUS_OK;
	if (!good)
		diag("expat: %s", XML_ErrorString(XML_GetErrorCode(xp)));
	XML_ParserFree(xp);
	free(svg);
	return good;
}

static struct svg_row *row_named(struct parsed *p, const char *name)
{
	for (int i = 0; i < p->nr; i++)
		if (!strcmp(p->rows[i].name, name))
			return &p->rows[i];
	return NULL;
}

int main(void)
{
	struct report r;
	struct parsed p;
	struct svg_row *row;

	plan_no_plan();

	ok(run(canned_wide, &r, &p), "the report is well-formed XML (expat)");
	ok(p.viewbox, "the report's root element has a viewBox");
	is_int(r.malformed, 2, "REPORT lines without a number for pinmm= or without name= are "
	       "refused and counted, not drawn");
	is_int(p.nr, 6, "one row per REPORT line read and per failed bench; prose is ignored");

	row = row_named(&p, "fault-4k");
	ok(row && !strcmp(row->kernel, "value") && fabs(row->ratio - 1585.0 / 210.0) < 0.01,
	   "a figure with a kernel side: ratio = kernel / pinmm, as the benches print it");
	ok(row && strstr(row->ratio_text, "7.55"), "the ratio is printed on the row (%s)",
	   row ? row->ratio_text : "?");
	ok(row && row->kernel_w > row->pinmm_w && row->pinmm_w > 0,
	   "the kernel's bar is longer than pinmm's when the kernel is slower");
	ok(row && row->pinmm_v == 210 && row->kernel_v == 1585,
	   "the bars carry the values read from the REPORT line");

	row = row_named(&p, "iou-register-4k");
	ok(row && !strcmp(row->kernel, "n/a") && row->na_mark && row->kernel_w == 0 &&
	   !strcmp(row->ratio_text, "n/a"),
	   "io_uring unavailable: no kernel bar, the row is marked n/a");

	row = row_named(&p, "migrate-2m-thp");
	ok(row && !strcmp(row->kernel, "ref") && row->ref_w > 0 &&
	   fabs(row->ratio - 156000.0 / 49000.0) < 0.01 && strstr(row->ratio_text, "memcpy"),
	   "a figure without a kernel side is drawn against its floor (pinmm / memcpy)");

	row = row_named(&p, "alloc-order0");
	ok(row && !strcmp(row->kernel, "none") && row->pinmm_w > 0 && row->kernel_w == 0 &&
	   row->ref_w == 0, "a figure with neither kernel nor floor: pinmm's bar alone");

	ok(row_named(&p, "bench/dio") && row_named(&p, "bench/dio")->failed_mark &&
	   row_named(&p, "bench/dio")->pinmm_w == 0,
	   "a bench that exited with an error is a FAILED row without bars");

	is_str(p.scale, "log", "values from 0.64 to 156000 ns: the axis is logarithmic");
	row = row_named(&p, "pin-fast-longterm-thp-pin");
	ok(row && row->pinmm_w >= 1 && row->kernel_w > row->pinmm_w,
	   "on the log axis the smallest figure still has a visible bar");
	report_free(&r);

	ok(run(canned_narrow, &r, &p), "a second report is well-formed");
	is_str(p.scale, "linear", "values within a factor of 100: the axis is linear");
	ok(p.nr == 2 && fabs(p.rows[0].kernel_w / p.rows[0].pinmm_w - 4.0) < 0.05,
	   "on a linear axis bar lengths are proportional to the values (40 vs 10)");
	ok(p.nr == 2 && p.rows[1].ratio < 1 && strstr(p.rows[1].ratio_text, "0.50"),
	   "a figure where the kernel is faster prints its ratio below 1 (0.50)");
	report_free(&r);
	return done_testing();
}
