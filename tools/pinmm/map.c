// SPDX-License-Identifier: MIT
/*
 * pinmm map: a picture of physical memory, as SVG or as text.
 *
 * One cell per pageblock (2 MiB, 512 frames) or, with --frames, per frame;
 * each zone outlined and the CMA area inside ZONE_NORMAL outlined dashed;
 * colours by pinmm_frame_state(). A pageblock cell is split: one vertical
 * strip per state present, as wide as its share of the 512 frames, and at
 * least one pixel, so a single pinned frame in a block still shows. Text
 * cannot split: a text pageblock shows its dominant state, except that a
 * block holding any pinned frame shows the pin (long-term first) — the pins
 * are what the picture is for.
 *
 * The legend gives each state's frames and, beside them, the counters the
 * same frames are counted by (nr_free_pages, nr_free_cma, nr_page_table_pages,
 * the pins outstanding, nr_isolated_*): at quiescence they agree, and
 * tests/tools/map_svg.c parses the SVG to check that they do. docs/map.md.
 */
#include "pinmm.h"

#include <errno.h>
#include <pinmm/frame_state.h>
#include <pinmm/mm.h>
#include <pinmm/rcupdate.h>
#include <pinmm/vmstat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../xml_escape.h"

/* colours (fill) and text letters per state, in enum order */
static const char *const state_fill[PINMM_NR_FRAME_STATES] = {
	[PINMM_FRAME_FREE] = "#e6e6e6",
	[PINMM_FRAME_MOVABLE] = "#8fbce6",
	[PINMM_FRAME_UNMOVABLE] = "#5a5a5a",
	[PINMM_FRAME_PAGETABLE] = "#9b6fbf",
	[PINMM_FRAME_PINNED_SHORT] = "#f5a04a",
	[PINMM_FRAME_PINNED_LONG] = "#d42a2a",
	[PINMM_FRAME_ISOLATED] = "#f0d430",
	[PINMM_FRAME_DEVICE] = "#8fcf8a",
};

static const char state_letter[PINMM_NR_FRAME_STATES] = {
	[PINMM_FRAME_FREE] = '.',
	[PINMM_FRAME_MOVABLE] = 'm',
	[PINMM_FRAME_UNMOVABLE] = 'U',
	[PINMM_FRAME_PAGETABLE] = 'T',
	[PINMM_FRAME_PINNED_SHORT] = 's',
	[PINMM_FRAME_PINNED_LONG] = 'L',
	[PINMM_FRAME_ISOLATED] = 'I',
	[PINMM_FRAME_DEVICE] = 'd',
};

static const char *const state_label[PINMM_NR_FRAME_STATES] = {
	[PINMM_FRAME_FREE] = "free",
	[PINMM_FRAME_MOVABLE] = "movable, in use (on the LRU)",
	[PINMM_FRAME_UNMOVABLE] = "unmovable, in use (kernel, cma_alloc, zero page)",
	[PINMM_FRAME_PAGETABLE] = "page tables",
	[PINMM_FRAME_PINNED_SHORT] = "pinned short-term (FOLL_PIN)",
	[PINMM_FRAME_PINNED_LONG] = "pinned long-term (FOLL_PIN|FOLL_LONGTERM)",
	[PINMM_FRAME_ISOLATED] = "isolated (MIGRATE_ISOLATE, or off the LRU to migrate)",
	[PINMM_FRAME_DEVICE] = "device memory (ZONE_DEVICE pmem)",
};

/* A run of frames drawn together: a zone, or the CMA area of ZONE_NORMAL. */
struct section {
	const struct zone *zone;
	unsigned long start, nr;
	bool cma;
};

#define MAX_SECTIONS	(MAX_NR_ZONES + 1)

static int build_sections(struct section *s)
{
	const struct zone *zone;
	int n = 0;

	for_each_populated_zone(zone) {
		unsigned long cma = zone->cma_pages;

		if (cma && cma < zone->spanned_pages)
			s[n++] = (struct section){ zone, zone->zone_start_pfn,
						   zone->spanned_pages - cma, false };
		if (cma)
			s[n++] = (struct section){ zone, zone_end_pfn(zone) - cma, cma, true };
		else
			s[n++] = (struct section){ zone, zone->zone_start_pfn,
						   zone->spanned_pages, false };
	}
	return n;
}

/* What the map shows, in numbers: per state, all frames and those in CMA. */
struct map_totals {
	unsigned long frames[PINMM_NR_FRAME_STATES];
	unsigned long cma[PINMM_NR_FRAME_STATES];
	unsigned long all;
	unsigned long isolated_free;	/* of frames[ISOLATED]: on MIGRATE_ISOLATE free lists */
};

/* Free frames on MIGRATE_ISOLATE free lists (NR_FREE_PAGES leaves them out). */
static unsigned long isolated_free_frames(void)
{
	unsigned long nr = 0;
	struct zone *zone;

	for_each_populated_zone(zone) {
		spin_lock(&zone->lock);
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			nr += zone->free_area[o].nr_free_type[MIGRATE_ISOLATE] << o;
		spin_unlock(&zone->lock);
	}
	return nr;
}

static long stat_of(const char *name)
{
	long v = 0;

	pinmm_vmstat_get(name, &v);
	return v;
}

static void count_totals(const uint8_t *states, const struct section *s, int nsec,
			 struct map_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < nsec; i++)
		for (unsigned long pfn = s[i].start; pfn < s[i].start + s[i].nr; pfn++) {
			t->frames[states[pfn]]++;
			if (s[i].cma)
				t->cma[states[pfn]]++;
			t->all++;
		}
	t->isolated_free = isolated_free_frames();
}

/*
 * The counters beside the totals: "name value" pairs a reader can look up in
 * pinmm vmstat. Printed the same way in SVG and text (@line gets each line).
 */
static void counter_lines(const struct map_totals *t,
			  void (*line)(void *ctx, const char *key, long shown, long counter,
				       const char *text),
			  void *ctx)
{
	char buf[256];
	long pins = stat_of("nr_foll_pin_acquired") - stat_of("nr_foll_pin_released");
	long iso = stat_of("nr_isolated_anon") + stat_of("nr_isolated_file");
	long pinned = (long)(t->frames[PINMM_FRAME_PINNED_LONG] +
			     t->frames[PINMM_FRAME_PINNED_SHORT]);
	long iso_used = (long)(t->frames[PINMM_FRAME_ISOLATED] - t->isolated_free);
	long user = pinned + (long)t->frames[PINMM_FRAME_MOVABLE] + iso_used;

	snprintf(buf, sizeof(buf), "free %lu = nr_free_pages %ld",
		 t->frames[PINMM_FRAME_FREE], stat_of("nr_free_pages"));
	line(ctx, "nr_free_pages", (long)t->frames[PINMM_FRAME_FREE], stat_of("nr_free_pages"),
	     buf);
	snprintf(buf, sizeof(buf), "free in the CMA area %lu = nr_free_cma %ld",
		 t->cma[PINMM_FRAME_FREE], stat_of("nr_free_cma"));
	line(ctx, "nr_free_cma", (long)t->cma[PINMM_FRAME_FREE], stat_of("nr_free_cma"), buf);
	snprintf(buf, sizeof(buf), "page tables %lu = nr_page_table_pages %ld",
		 t->frames[PINMM_FRAME_PAGETABLE], stat_of("nr_page_table_pages"));
	line(ctx, "nr_page_table_pages", (long)t->frames[PINMM_FRAME_PAGETABLE],
	     stat_of("nr_page_table_pages"), buf);
	snprintf(buf, sizeof(buf), "pinned %ld (long-term %lu, short-term %lu) = pins outstanding "
		 "%ld (nr_foll_pin_acquired - nr_foll_pin_released)", pinned,
		 t->frames[PINMM_FRAME_PINNED_LONG], t->frames[PINMM_FRAME_PINNED_SHORT], pins);
	line(ctx, "pins_outstanding", pinned, pins, buf);
	snprintf(buf, sizeof(buf), "isolated in use %ld = nr_isolated_anon + nr_isolated_file %ld "
		 "(and %lu free in MIGRATE_ISOLATE blocks)", iso_used, iso, t->isolated_free);
	line(ctx, "nr_isolated", iso_used, iso, buf);
	snprintf(buf, sizeof(buf), "user memory: movable + pinned + isolated %ld = nr_anon_pages + "
		 "nr_file_pages %ld", user, stat_of("nr_anon_pages") + stat_of("nr_file_pages"));
	line(ctx, "user_pages", user, stat_of("nr_anon_pages") + stat_of("nr_file_pages"), buf);
}

/* Why a pair above may differ while the machine is quiet (two lines). */
static const char *const counter_note[2] = {
	"Pins count once per page pinned: a page pinned twice is two pins, and a THP pinned",
	"through one page is 512 pinned frames. A pinned pmem or cma_alloc()ed frame is not user memory.",
};

/* ---- text ------------------------------------------------------------------- */

/* The letter for @n frames of @st: dominant state, a pin if any. */
static char text_cell(const uint8_t *st, unsigned long n)
{
	unsigned long c[PINMM_NR_FRAME_STATES] = { 0 };
	int best = 0;

	for (unsigned long i = 0; i < n; i++)
		c[st[i]]++;
	if (c[PINMM_FRAME_PINNED_LONG])
		return state_letter[PINMM_FRAME_PINNED_LONG];
	if (c[PINMM_FRAME_PINNED_SHORT])
		return state_letter[PINMM_FRAME_PINNED_SHORT];
	for (int s = 1; s < PINMM_NR_FRAME_STATES; s++)
		if (c[s] > c[best])
			best = s;
	return state_letter[best];
}

static void text_counter_line(void *ctx, const char *key, long shown, long counter,
			      const char *text)
{
	(void)key;
	fprintf(ctx, "  %s %s\n", shown == counter ? "ok" : "!=", text);
}

static void draw_text(FILE *out, const uint8_t *states, const struct section *s, int nsec,
		      const struct map_totals *t, bool frames, const char *title)
{
	const unsigned long unit = frames ? 1 : pageblock_nr_pages;
	const unsigned long cols = 64;

	fprintf(out, "%s\n", title);
	fprintf(out, "one character per %s; a pageblock shows its dominant state, or a pin if "
		"it holds one\n", frames ? "frame (4 KiB)" : "pageblock (2 MiB, 512 frames)");
	for (int i = 0; i < nsec; i++) {
		unsigned long cells = s[i].nr / unit;

		fprintf(out, "\n%s%s: pfn %#lx-%#lx, %lu MiB\n", s[i].zone->name,
			s[i].cma ? ", CMA area" : "", s[i].start, s[i].start + s[i].nr - 1,
			(s[i].nr << PAGE_SHIFT) >> 20);
		for (unsigned long c = 0; c < cells; c++) {
			if (c % cols == 0)
				fprintf(out, "%s%#8lx ", c ? "\n" : "", s[i].start + c * unit);
			fputc(text_cell(states + s[i].start + c * unit, unit), out);
		}
		fputc('\n', out);
	}
	fprintf(out, "\nlegend (frames, MiB):\n");
	for (int st = 0; st < PINMM_NR_FRAME_STATES; st++)
		fprintf(out, "  %c %-54s %8lu %8.1f\n", state_letter[st], state_label[st],
			t->frames[st], (double)(t->frames[st] << PAGE_SHIFT) / (1 << 20));
	fprintf(out, "    %-54s %8lu %8.1f\n", "total", t->all,
		(double)(t->all << PAGE_SHIFT) / (1 << 20));
	fprintf(out, "counters (pinmm vmstat):\n");
	counter_lines(t, text_counter_line, out);
	fprintf(out, "  (%s\n   %s)\n", counter_note[0], counter_note[1]);
}

/* ---- SVG -------------------------------------------------------------------- */

struct svg_geom {
	unsigned long unit;	/* frames per cell */
	unsigned long cols;	/* cells per row */
	int pitch;		/* pixels from one cell to the next */
	int gap;		/* pixels left empty between cells */
	int left, width, height;
};

#define SVG_TOP		56	/* title and subtitle */
#define SVG_ZONE_HEAD	22	/* a zone's or CMA area's heading */
#define SVG_ZONE_GAP	14
#define SVG_LEGEND_ROW	18

/* The rows a section takes and where it starts (y of its first cell row). */
static int section_rows(const struct svg_geom *g, const struct section *s)
{
	return (int)DIV_ROUND_UP(s->nr / g->unit, g->cols);
}

/*
 * Strip widths for a split pageblock cell of @w pixels: proportional to
 * @c[], each present state at least 1 pixel, summing to @w.
 */
static void split_widths(const unsigned long *c, unsigned long total, int w, int *px)
{
	int sum = 0, present = 0;

	for (int s = 0; s < PINMM_NR_FRAME_STATES; s++) {
		px[s] = c[s] ? max(1, (int)(c[s] * (unsigned long)w / total)) : 0;
		sum += px[s];
		present += !!c[s];
	}
	/* give the rounding to the largest, take any excess from the largest */
	while (sum != w && present) {
		int big = -1;

		for (int s = 0; s < PINMM_NR_FRAME_STATES; s++)
			if (c[s] && (big < 0 || c[s] > c[big]) && (sum < w || px[s] > 1))
				big = s;
		if (big < 0)
			break;
		px[big] += sum < w ? 1 : -1;
		sum += sum < w ? 1 : -1;
	}
}

static void svg_pageblock(FILE *out, const struct svg_geom *g, const uint8_t *st,
			  unsigned long pfn, int x, int y)
{
	unsigned long c[PINMM_NR_FRAME_STATES] = { 0 };
	int px[PINMM_NR_FRAME_STATES], w = g->pitch - g->gap;
	bool first = true;

	for (unsigned long i = 0; i < g->unit; i++)
		c[st[i]]++;
	fprintf(out, "<g class=\"pageblock\" data-pfn=\"%#lx\"", pfn);
	for (int s = 0; s < PINMM_NR_FRAME_STATES; s++)
		if (c[s])
			fprintf(out, " data-%s=\"%lu\"", pinmm_frame_state_names[s], c[s]);
	fprintf(out, "><title>pfn %#lx-%#lx:", pfn, pfn + g->unit - 1);
	for (int s = 0; s < PINMM_NR_FRAME_STATES; s++)
		if (c[s]) {
			fprintf(out, "%s %s %lu", first ? "" : ",", pinmm_frame_state_names[s], c[s]);
			first = false;
		}
	fprintf(out, "</title>");
	split_widths(c, g->unit, w, px);
	for (int s = 0; s < PINMM_NR_FRAME_STATES; s++) {
		if (!px[s])
			continue;
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>",
			x, y, px[s], w, state_fill[s]);
		x += px[s];
	}
	fprintf(out, "</g>\n");
}

/* --frames: one rect per run of same-state frames inside a row. */
static void svg_frame_row(FILE *out, const struct svg_geom *g, const uint8_t *st,
			  unsigned long pfn, unsigned long n, int y)
{
	for (unsigned long i = 0; i < n;) {
		unsigned long j = i + 1;

		while (j < n && st[j] == st[i])
			j++;
		fprintf(out, "<rect class=\"run %s\" data-pfn=\"%#lx\" data-n=\"%lu\" x=\"%d\" "
			"y=\"%d\" width=\"%lu\" height=\"%d\" fill=\"%s\"/>\n",
			pinmm_frame_state_names[st[i]], pfn + i, j - i,
			g->left + (int)i * g->pitch, y, (j - i) * (unsigned long)g->pitch,
			g->pitch - g->gap, state_fill[st[i]]);
		i = j;
	}
}

struct svg_legend_ctx {
	FILE *out;
	int y;
	int x;
};

static void svg_counter_line(void *p, const char *key, long shown, long counter,
			     const char *text)
{
	struct svg_legend_ctx *l = p;

	fprintf(l->out, "<text class=\"counter\" data-counter=\"%s\" data-shown=\"%ld\" "
		"data-value=\"%ld\" x=\"%d\" y=\"%d\" fill=\"%s\">%s ", key, shown, counter, l->x,
		l->y, shown == counter ? "#222" : "#b00", shown == counter ? "ok" : "differs:");
	xml_escape(l->out, text);
	fprintf(l->out, "</text>\n");
	l->y += SVG_LEGEND_ROW;
}

static void draw_svg(FILE *out, const uint8_t *states, const struct section *s, int nsec,
		     const struct map_totals *t, bool frames, const char *title)
{
	struct svg_geom g = frames ?
		(struct svg_geom){ .unit = 1, .cols = 512, .pitch = 2, .gap = 0, .left = 84 } :
		(struct svg_geom){ .unit = pageblock_nr_pages, .cols = 32, .pitch = 16, .gap = 2,
				   .left = 84 };
	int y = SVG_TOP, map_w = (int)g.cols * g.pitch, zone_top = 0, zone_w = 0;
	int legend_rows = PINMM_NR_FRAME_STATES + 1 + 1 + 6 + 3;
	struct svg_legend_ctx l;

	g.width = max(g.left + map_w + 24, 900);
	g.height = SVG_TOP;
	for (int i = 0; i < nsec; i++)
		g.height += SVG_ZONE_HEAD + section_rows(&g, &s[i]) * g.pitch + SVG_ZONE_GAP;
	g.height += SVG_ZONE_HEAD;	/* the CMA area's heading */
	g.height += 12 + legend_rows * SVG_LEGEND_ROW + 12;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		"height=\"%d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
		"font-size=\"12\" data-unit=\"%lu\">\n", g.width, g.height, g.width, g.height,
		g.unit);
	fprintf(out, "<title>");
	xml_escape(out, title);
	fprintf(out, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
		g.width, g.height);
	fprintf(out, "<text x=\"12\" y=\"22\" font-size=\"16\" font-weight=\"bold\">");
	xml_escape(out, title);
	fprintf(out, "</text>\n<text x=\"12\" y=\"42\" fill=\"#444\">%s</text>\n",
		frames ? "One cell per 4 KiB frame, 512 per row (one pageblock); zones outlined, "
			 "the CMA area dashed." :
			 "One cell per 2 MiB pageblock (512 frames), 32 per row, split by the "
			 "states of its frames (each at least 1 px); zones outlined, the CMA area "
			 "dashed.");

	for (int i = 0; i < nsec; i++) {
		const struct section *sec = &s[i];
		const struct zone *zone = sec->zone;
		unsigned long cells = sec->nr / g.unit;
		int rows = section_rows(&g, sec), top, w;

		if (!i || s[i - 1].zone != zone) {
			/* a zone opens: its outline, drawn at its end, spans every section */
			fprintf(out, "<g class=\"zone\" data-zone=\"%s\" data-start-pfn=\"%lu\" "
				"data-pages=\"%lu\">\n", zone->name, zone->zone_start_pfn,
				zone->spanned_pages);
			fprintf(out, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>"
				"<text x=\"%d\" y=\"%d\" fill=\"#444\">pfn %#lx-%#lx, %lu MiB%s</text>\n",
				g.left, y + 15, zone->name, g.left + 90, y + 15, zone->zone_start_pfn,
				zone_end_pfn(zone) - 1, (zone->spanned_pages << PAGE_SHIFT) >> 20,
				zone->cma_pages ? ", the last part its CMA area" : "");
			y += SVG_ZONE_HEAD;
			zone_top = y;
			zone_w = 0;
		}
		if (sec->cma) {
			fprintf(out, "<g class=\"cma\" data-start-pfn=\"%lu\" data-pages=\"%lu\">\n"
				"<text x=\"%d\" y=\"%d\" fill=\"#1a7f3c\" font-weight=\"bold\">"
				"CMA area</text><text x=\"%d\" y=\"%d\" fill=\"#444\">pfn %#lx-%#lx, "
				"%lu MiB of MIGRATE_CMA pageblocks</text>\n", sec->start, sec->nr,
				g.left + 4, y + 15, g.left + 90, y + 15, sec->start,
				sec->start + sec->nr - 1, (sec->nr << PAGE_SHIFT) >> 20);
			y += SVG_ZONE_HEAD;
		}
		top = y;
		for (unsigned long c = 0; c < cells; c += g.cols) {
			unsigned long n = min(g.cols, cells - c);
			unsigned long pfn = sec->start + c * g.unit;
			unsigned long row = c / g.cols;

			if (frames ? row % 16 == 0 : true)
				fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#666\" "
					"text-anchor=\"end\">%#lx</text>\n", g.left - 6,
					y + min(g.pitch, 12) - 1, pfn);
			if (frames)
				svg_frame_row(out, &g, states + pfn, pfn, n, y);
			else
				for (unsigned long k = 0; k < n; k++)
					svg_pageblock(out, &g, states + pfn + k * g.unit,
						      pfn + k * g.unit, g.left + (int)k * g.pitch, y);
			y += g.pitch;
		}
		w = (int)min(cells, g.cols) * g.pitch - g.gap;
		zone_w = max(zone_w, w);
		if (sec->cma) {
			/* dashed, 1 px out of the cells: inside the zone's outline */
			fprintf(out, "<rect class=\"outline\" data-start-pfn=\"%lu\" data-pages=\"%lu\" "
				"x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
				"stroke=\"#1a7f3c\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n"
				"</g>\n", sec->start, sec->nr, g.left - 1, top - 1, w + 2,
				rows * g.pitch - g.gap + 2);
		}
		if (i == nsec - 1 || s[i + 1].zone != zone) {
			fprintf(out, "<rect class=\"outline\" data-start-pfn=\"%lu\" data-pages=\"%lu\" "
				"x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
				"stroke=\"#222\" stroke-width=\"1.5\"/>\n</g>\n", zone->zone_start_pfn,
				zone->spanned_pages, g.left - 4, zone_top - 4, zone_w + 8,
				y - g.gap - zone_top + 8);
			y += SVG_ZONE_GAP;
		}
	}

	y += 12;
	fprintf(out, "<g class=\"legend\">\n<text x=\"12\" y=\"%d\" font-weight=\"bold\">"
		"Legend</text><text x=\"520\" y=\"%d\" font-weight=\"bold\" text-anchor=\"end\">"
		"frames</text><text x=\"600\" y=\"%d\" font-weight=\"bold\" text-anchor=\"end\">"
		"MiB</text>\n", y, y, y);
	y += SVG_LEGEND_ROW;
	for (int st = 0; st < PINMM_NR_FRAME_STATES; st++) {
		fprintf(out, "<g class=\"legend-entry\" data-state=\"%s\" data-frames=\"%lu\">"
			"<rect x=\"12\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\" "
			"stroke=\"#888\" stroke-width=\"0.5\"/><text x=\"32\" y=\"%d\">%s</text>"
			"<text x=\"520\" y=\"%d\" text-anchor=\"end\">%lu</text>"
			"<text x=\"600\" y=\"%d\" text-anchor=\"end\">%.1f</text></g>\n",
			pinmm_frame_state_names[st], t->frames[st], y - 10, state_fill[st], y,
			state_label[st], y, t->frames[st], y,
			(double)(t->frames[st] << PAGE_SHIFT) / (1 << 20));
		y += SVG_LEGEND_ROW;
	}
	fprintf(out, "<g class=\"legend-total\" data-frames=\"%lu\"><text x=\"32\" y=\"%d\" "
		"font-weight=\"bold\">total</text><text x=\"520\" y=\"%d\" text-anchor=\"end\">%lu"
		"</text><text x=\"600\" y=\"%d\" text-anchor=\"end\">%.1f</text></g>\n</g>\n",
		t->all, y, y, t->all, y, (double)(t->all << PAGE_SHIFT) / (1 << 20));
	y += SVG_LEGEND_ROW + 6;
	fprintf(out, "<g class=\"counters\">\n<text x=\"12\" y=\"%d\" font-weight=\"bold\">"
		"Counters (pinmm vmstat): the map's totals beside them</text>\n", y);
	l = (struct svg_legend_ctx){ .out = out, .y = y + SVG_LEGEND_ROW, .x = 12 };
	counter_lines(t, svg_counter_line, &l);
	for (int i = 0; i < 2; i++)
		fprintf(out, "<text x=\"12\" y=\"%d\" fill=\"#444\" font-size=\"11\">%s</text>\n",
			l.y + i * 14, counter_note[i]);
	fprintf(out, "</g>\n</svg>\n");
}

int map_draw(FILE *out, const struct map_opts *mo, const char *title)
{
	struct section s[MAX_SECTIONS];
	struct map_totals t;
	uint8_t *states;
	int nsec, err;

	if (!pinmm_is_booted())
		return -EINVAL;
	/*
	 * Page tables freed after a grace period (GUP-fast may still walk them)
	 * have left NR_PAGETABLE but are still typed: let them reach the
	 * allocator first, so the picture counts what the counters count.
	 */
	rcu_barrier();
	states = malloc(pinmm_max_pfn);
	if (!states)
		return -ENOMEM;
	err = pinmm_frame_states(0, pinmm_max_pfn, states);
	if (err) {
		free(states);
		return err;
	}
	nsec = build_sections(s);
	count_totals(states, s, nsec, &t);
	if (mo->text)
		draw_text(out, states, s, nsec, &t, mo->frames, title);
	else
		draw_svg(out, states, s, nsec, &t, mo->frames, title);
	free(states);
	return ferror(out) ? -EIO : 0;
}

int map_draw_file(const char *path, const struct map_opts *mo, const char *title)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -errno;
	err = map_draw(f, mo, title);
	if (fclose(f) && !err)
		err = -EIO;
	return err;
}

int map_make_dir(const char *dir)
{
	struct stat st;

	if (!mkdir(dir, 0755))
		return 0;
	if (errno == EEXIST && !stat(dir, &st) && S_ISDIR(st.st_mode))
		return 0;
	return errno == EEXIST ? -ENOTDIR : -errno;
}
