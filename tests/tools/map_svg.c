// SPDX-License-Identifier: MIT
/*
 * pinmm map's SVG, parsed back with expat and held against the counters
 * (tools/pinmm/map.c, src/mem/frame_state.c, docs/map.md).
 *
 * The machine holds known pins: a long-term pin (FOLL_LONGTERM, which Linux
 * migrates out of CMA and ZONE_MOVABLE first: mm/gup.c
 * check_and_migrate_movable_pages()), a short-term pin left where the pages
 * are (in the CMA area), a cma_alloc() buffer, movable user memory, an
 * isolated pageblock (mm/page_isolation.c: its free pages leave
 * NR_FREE_PAGES), page tables and a pmem range. Each map is parsed and its
 * cells summed per state, in pageblock and frame mode, then compared with
 * what Linux's counters say the same frames are: nr_free_pages, nr_free_cma,
 * nr_page_table_pages, nr_foll_pin_acquired - nr_foll_pin_released,
 * nr_anon_pages; the zone outlines with /proc/zoneinfo's start_pfn and
 * spanned, and every cell inside its zone's outline.
 */
#include "../lib/machine.h"
#include "../lib/process.h"
#include "../../tools/pinmm/pinmm.h"

#include "migrate/internal.h"

#include <errno.h>
#include <expat.h>
#include <pinmm/frame_state.h>
#include <pinmm/gup.h>
#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/vmstat.h>
#include <stdlib.h>
#include <string.h>

#define MS_BASE		0x700000000UL
#define MS_LEN		(8UL << 20)
#define MS_LONG		512	/* pages pinned long-term, from MS_BASE */
#define MS_SHORT	256	/* pages pinned short-term, after them */
#define MS_CMA_PAGES	512	/* cma_alloc()ed */

/* ---- what the SVG says ----------------------------------------------------- */

struct outline {
	char zone[16];
	unsigned long start, pages;	/* from the group's data- attributes */
	double x, y, w, h;		/* the outline rect */
	bool have_rect;
};

struct parsed {
	unsigned long frames[PINMM_NR_FRAME_STATES];	/* summed over cells */
	unsigned long in_cma_area[PINMM_NR_FRAME_STATES];	/* cells inside the CMA group */
	unsigned long zone_frames[MAX_NR_ZONES][PINMM_NR_FRAME_STATES];
	unsigned long legend[PINMM_NR_FRAME_STATES];
	unsigned long cells, legend_total;
	bool legend_seen[PINMM_NR_FRAME_STATES];
	struct outline zones[MAX_NR_ZONES], cma;
	int nzones;
	bool in_cma, in_zone, viewbox_ok;
	int cur_zone;				/* index into zones[] */
	/* inside a pageblock group; its first strip placed (where the cell is) */
	bool in_block, block_placed;
	unsigned long cell_pfn;
	int counters_differ;			/* counter lines the map itself flags */
};

static const char *attr(const char **a, const char *name)
{
	for (; *a; a += 2)
		if (!strcmp(a[0], name))
			return a[1];
	return NULL;
}

static int state_of(const char *name)
{
	for (int s = 0; s < PINMM_NR_FRAME_STATES; s++)
		if (!strcmp(name, pinmm_frame_state_names[s]))
			return s;
	return -1;
}

static void count(struct parsed *p, int state, unsigned long n, unsigned long pfn)
{
	p->frames[state] += n;
	if (p->in_cma)
		p->in_cma_area[state] += n;
	if (pfn_valid(pfn))
		p->zone_frames[page_zonenum(pfn_to_page(pfn))][state] += n;
}

struct placed {
	double x, y;
	int zone;
};

static struct placed *placed;
static size_t nr_placed, cap_placed;

static void remember(struct parsed *p, double x, double y)
{
	if (nr_placed == cap_placed) {
		cap_placed = cap_placed * 2 + 1024;
		placed = realloc(placed, cap_placed * sizeof(*placed));
		if (!placed)
			bail_out("out of memory");
	}
	placed[nr_placed++] = (struct placed){ x, y, p->cur_zone };
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **a)
{
	struct parsed *p = ud;
	const char *cls = attr(a, "class");

	if (!strcmp(name, "svg")) {
		const char *vb = attr(a, "viewBox");
		double v[4];

		p->viewbox_ok = vb && sscanf(vb, "%lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3]) == 4 &&
				v[2] > 0 && v[3] > 0;
		return;
	}
	if (!cls)
		goto rect;
	if (!strcmp(name, "g") && !strcmp(cls, "zone")) {
		struct outline *o = &p->zones[p->nzones];

		snprintf(o->zone, sizeof(o->zone), "%s", attr(a, "data-zone"));
		o->start = strtoul(attr(a, "data-start-pfn"), NULL, 0);
		o->pages = strtoul(attr(a, "data-pages"), NULL, 0);
		p->cur_zone = p->nzones++;
		p->in_zone = true;
	} else if (!strcmp(name, "g") && !strcmp(cls, "cma")) {
		p->cma.start = strtoul(attr(a, "data-start-pfn"), NULL, 0);
		p->cma.pages = strtoul(attr(a, "data-pages"), NULL, 0);
		p->in_cma = true;
	} else if (!strcmp(name, "g") && !strcmp(cls, "pageblock")) {
		p->cell_pfn = strtoul(attr(a, "data-pfn"), NULL, 0);
		for (int s = 0; s < PINMM_NR_FRAME_STATES; s++) {
			char key[64];
			const char *v;

			snprintf(key, sizeof(key), "data-%s", pinmm_frame_state_names[s]);
			v = attr(a, key);
			if (v)
				count(p, s, strtoul(v, NULL, 0), p->cell_pfn);
		}
		p->cells++;
		p->in_block = true;
		p->block_placed = false;
	} else if (!strcmp(name, "rect") && !strncmp(cls, "run ", 4)) {
		int s = state_of(cls + 4);

		if (s < 0)
			bail_out("unknown state class '%s'", cls);
		count(p, s, strtoul(attr(a, "data-n"), NULL, 0),
		      strtoul(attr(a, "data-pfn"), NULL, 0));
		p->cells++;
		remember(p, strtod(attr(a, "x"), NULL), strtod(attr(a, "y"), NULL));
		remember(p, strtod(attr(a, "x"), NULL) + strtod(attr(a, "width"), NULL),
			 strtod(attr(a, "y"), NULL) + strtod(attr(a, "height"), NULL));
	} else if (!strcmp(name, "rect") && !strcmp(cls, "outline")) {
		struct outline *o = p->in_cma ? &p->cma : &p->zones[p->cur_zone];

		o->x = strtod(attr(a, "x"), NULL);
		o->y = strtod(attr(a, "y"), NULL);
		o->w = strtod(attr(a, "width"), NULL);
		o->h = strtod(attr(a, "height"), NULL);
		o->have_rect = true;
	} else if (!strcmp(name, "g") && !strcmp(cls, "legend-entry")) {
		int s = state_of(attr(a, "data-state"));

		if (s >= 0) {
			p->legend[s] = strtoul(attr(a, "data-frames"), NULL, 0);
			p->legend_seen[s] = true;
		}
	} else if (!strcmp(name, "g") && !strcmp(cls, "legend-total")) {
		p->legend_total = strtoul(attr(a, "data-frames"), NULL, 0);
	} else if (!strcmp(name, "text") && !strcmp(cls, "counter")) {
		if (strcmp(attr(a, "data-shown"), attr(a, "data-value")))
			p->counters_differ++;
	}
	return;
rect:
	/* the strips of a pageblock: its first one says where the cell is */
	if (!strcmp(name, "rect") && p->in_block && !p->block_placed) {
		double x = strtod(attr(a, "x"), NULL), y = strtod(attr(a, "y"), NULL);

		remember(p, x, y);
		p->block_placed = true;
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parsed *p = ud;

	/* groups do not nest except cma inside zone and pageblock inside either */
	if (strcmp(name, "g"))
		return;
	if (p->in_block)
		p->in_block = false;
	else if (p->in_cma)
		p->in_cma = false;
	else if (p->in_zone)
		p->in_zone = false;
}

/* Parse @svg; false (with a diagnostic) if expat calls it malformed. */
static bool parse_svg(const char *svg, size_t len, struct parsed *p)
{
	XML_Parser xp = XML_ParserCreate("UTF-8");
	bool good;

	memset(p, 0, sizeof(*p));
	nr_placed = 0;
	XML_SetUserData(xp, p);
	XML_SetElementHandler(xp, on_start, on_end);
	good = XML_Parse(xp, svg, (int)len, 1) == XML_STATUS_OK;
	if (!good)
		diag("expat: %s at line %lu", XML_ErrorString(XML_GetErrorCode(xp)),
		     (unsigned long)XML_GetCurrentLineNumber(xp));
	XML_ParserFree(xp);
	return good;
}

/* Cells drawn outside the outline of the zone whose group holds them. */
static int cells_outside_outlines(const struct parsed *p)
{
	int bad = 0;

	for (size_t i = 0; i < nr_placed; i++) {
		const struct outline *o = &p->zones[placed[i].zone];

		if (!o->have_rect || placed[i].x < o->x || placed[i].y < o->y ||
		    placed[i].x > o->x + o->w || placed[i].y > o->y + o->h)
			bad++;
	}
	return bad;
}

static char *draw(bool frames, bool text, size_t *len)
{
	struct map_opts mo = { .frames = frames, .text = text };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		bail_out("open_memstream");
	is_int(map_draw(f, &mo, "map_svg test"), 0, "map_draw() succeeds on a booted machine");
	fclose(f);
	return buf;
}

static long stat(const char *name)
{
	long v = 0;

	if (pinmm_vmstat_get(name, &v))
		bail_out("no counter %s", name);
	return v;
}

/* zoneinfo's start_pfn and spanned for the zone @name (parsed from its text). */
static bool zoneinfo_of(const char *name, unsigned long *start, unsigned long *spanned)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	bool in = false, got_start = false, got_spanned = false;

	pinmm_print_zoneinfo(f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char zname[32];

		if (sscanf(line, "Node 0, zone %31s", zname) == 1)
			in = !strcmp(zname, name);
		else if (in && sscanf(line, " spanned %lu", spanned) == 1)
			got_spanned = true;
		else if (in && sscanf(line, " start_pfn: %lu", start) == 1)
			got_start = true;
	}
	free(buf);
	return got_start && got_spanned;
}

/* ---- the machine ------------------------------------------------------------- */

struct scene {
	struct task_struct *task;
	struct page *pins[MS_LONG + MS_SHORT];
	struct page *cma;
	struct isolated_range iso;
	unsigned long iso_pfn;
	/* where the short-term pins are, by the page tables (not by the map) */
	unsigned long short_in_cma, short_in_zone[MAX_NR_ZONES];
};

static bool pfn_in_cma(unsigned long pfn)
{
	const struct zone *n = &pinmm_zones[ZONE_NORMAL];

	return pfn >= zone_end_pfn(n) - n->cma_pages && pfn < zone_end_pfn(n);
}

/*
 * Everything but CMA taken (as the demo's ballast does), so the process's
 * pages land in the CMA area; then given back before the pins.
 */
static void populate_in_cma(unsigned long addr, unsigned long len)
{
	struct page *held[512];
	int n = 0;
	struct page *page;
	const struct zone *normal = &pinmm_zones[ZONE_NORMAL];

	while (n < 512 && (page = alloc_pages(GFP_HIGHUSER_MOVABLE, MAX_PAGE_ORDER))) {
		if (page_zonenum(page) != ZONE_MOVABLE) {
			__free_pages(page, MAX_PAGE_ORDER);
			break;
		}
		held[n++] = page;
	}
	while (n < 512 && zone_page_state_snapshot(normal, NR_FREE_PAGES) -
			  zone_page_state_snapshot(normal, NR_FREE_CMA_PAGES) > 1024 &&
	       (page = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER)))
		held[n++] = page;
	if (do_madvise(current->mm, addr, len, MADV_POPULATE_WRITE))
		bail_out("MADV_POPULATE_WRITE");
	while (n)
		__free_pages(held[--n], MAX_PAGE_ORDER);
}

static void scene_up(struct scene *sc)
{
	struct pinmm_config cfg = {
		.mem_bytes = 64UL << 20, .movable_bytes = 16UL << 20,
		.cma_bytes = 16UL << 20, .pmem_bytes = 4UL << 20,
	};
	const struct zone *movable = &pinmm_zones[ZONE_MOVABLE];
	long got;

	memset(sc, 0, sizeof(*sc));
	if (pinmm_boot(&cfg))
		bail_out("pinmm_boot");
	sc->task = test_process("map-svg");
	test_mmap_fixed(MS_BASE, MS_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	populate_in_cma(MS_BASE, MS_LEN);

	got = pin_user_pages_fast(MS_BASE, MS_LONG, FOLL_WRITE | FOLL_LONGTERM, sc->pins);
	if (got != MS_LONG)
		bail_out("long-term pin: %ld", got);
	got = pin_user_pages_fast(MS_BASE + MS_LONG * PAGE_SIZE, MS_SHORT, FOLL_WRITE,
				  sc->pins + MS_LONG);
	if (got != MS_SHORT)
		bail_out("short-term pin: %ld", got);
	for (int i = MS_LONG; i < MS_LONG + MS_SHORT; i++) {
		unsigned long pfn = page_to_pfn(sc->pins[i]);

		sc->short_in_cma += pfn_in_cma(pfn);
		sc->short_in_zone[page_zonenum(sc->pins[i])]++;
	}
	sc->cma = cma_alloc_pages(MS_CMA_PAGES, 0);
	if (!sc->cma)
		bail_out("cma_alloc_pages");
	/* the last pageblock of ZONE_MOVABLE: free, since the ballast went back */
	sc->iso_pfn = zone_end_pfn(movable) - pageblock_nr_pages;
	if (start_isolate_page_range(&sc->iso, sc->iso_pfn, sc->iso_pfn + pageblock_nr_pages))
		bail_out("start_isolate_page_range");
}

static void scene_down(struct scene *sc)
{
	undo_isolate_page_range(&sc->iso);
	cma_release_pages(sc->cma, MS_CMA_PAGES);
	unpin_user_pages(sc->pins, MS_LONG + MS_SHORT);
	vm_munmap(MS_BASE, MS_LEN);
	pinmm_task_detach();
	pinmm_task_exit(sc->task);
	test_shutdown_ok("map_svg");
}

/* ---- the checks ----------------------------------------------------------------- */

static void check_counts(const struct parsed *p, const struct scene *sc, const char *mode)
{
	unsigned long total = 0, present = 0;
	const struct zone *zone;
	int legend_bad = 0;

	is_uint(p->frames[PINMM_FRAME_FREE], (unsigned long)stat("nr_free_pages"),
		"%s: free cells = nr_free_pages (isolated free frames are not counted there)",
		mode);
	is_uint(p->in_cma_area[PINMM_FRAME_FREE], (unsigned long)stat("nr_free_cma"),
		"%s: free cells inside the CMA outline = nr_free_cma", mode);
	is_uint(p->frames[PINMM_FRAME_PAGETABLE], (unsigned long)stat("nr_page_table_pages"),
		"%s: page-table cells = nr_page_table_pages", mode);
	is_uint(p->frames[PINMM_FRAME_PINNED_LONG], MS_LONG,
		"%s: long-term pinned cells = the pages pinned with FOLL_LONGTERM", mode);
	is_uint(p->frames[PINMM_FRAME_PINNED_SHORT], MS_SHORT,
		"%s: short-term pinned cells = the pages pinned without FOLL_LONGTERM", mode);
	is_uint(p->frames[PINMM_FRAME_PINNED_LONG] + p->frames[PINMM_FRAME_PINNED_SHORT],
		(unsigned long)(stat("nr_foll_pin_acquired") - stat("nr_foll_pin_released")),
		"%s: pinned cells = nr_foll_pin_acquired - nr_foll_pin_released (one pin each)",
		mode);
	is_uint(p->in_cma_area[PINMM_FRAME_PINNED_LONG], 0,
		"%s: no long-term pin inside the CMA area (FOLL_LONGTERM migrates out of CMA)",
		mode);
	is_uint(p->zone_frames[ZONE_MOVABLE][PINMM_FRAME_PINNED_LONG], 0,
		"%s: no long-term pin in ZONE_MOVABLE (FOLL_LONGTERM migrates out of it)", mode);
	is_uint(p->in_cma_area[PINMM_FRAME_PINNED_SHORT], sc->short_in_cma,
		"%s: short-term pinned cells in the CMA area = short-pinned pages there by the "
		"page tables (a short-term pin does not migrate)", mode);
	ok(sc->short_in_cma > 0, "%s: the scene holds short-term pins inside CMA (%lu)", mode,
	   sc->short_in_cma);
	is_uint(p->in_cma_area[PINMM_FRAME_UNMOVABLE], MS_CMA_PAGES,
		"%s: the cma_alloc()ed buffer is the CMA area's only unmovable memory", mode);
	is_uint(p->frames[PINMM_FRAME_ISOLATED], pageblock_nr_pages,
		"%s: the MIGRATE_ISOLATE pageblock's frames are isolated", mode);
	is_uint(p->frames[PINMM_FRAME_MOVABLE] + p->frames[PINMM_FRAME_PINNED_LONG] +
		p->frames[PINMM_FRAME_PINNED_SHORT],
		(unsigned long)(stat("nr_anon_pages") + stat("nr_file_pages")),
		"%s: movable + pinned cells = nr_anon_pages + nr_file_pages (all user memory)",
		mode);
	is_uint(p->frames[PINMM_FRAME_DEVICE], pinmm_zones[ZONE_DEVICE].present_pages,
		"%s: device cells = ZONE_DEVICE's present pages", mode);
	for (int s = 0; s < PINMM_NR_FRAME_STATES; s++)
		total += p->frames[s];
	for_each_populated_zone(zone)
		present += zone->present_pages;
	is_uint(total, present, "%s: the cells cover every present frame once", mode);
	for (int s = 0; s < PINMM_NR_FRAME_STATES; s++)
		legend_bad += !p->legend_seen[s] || p->legend[s] != p->frames[s];
	is_int(legend_bad, 0, "%s: each legend entry's frames = its cells", mode);
	is_uint(p->legend_total, present, "%s: the legend's total = present frames", mode);
	is_int(p->counters_differ, 0, "%s: the map flags no counter as differing", mode);
}

static void check_outlines(const struct parsed *p, const char *mode)
{
	const struct zone *normal = &pinmm_zones[ZONE_NORMAL];
	int matched = 0, nz = 0;
	const struct zone *zone;

	for_each_populated_zone(zone)
		nz++;
	is_int(p->nzones, nz, "%s: one outline group per populated zone", mode);
	for (int i = 0; i < p->nzones; i++) {
		unsigned long start, spanned;

		if (zoneinfo_of(p->zones[i].zone, &start, &spanned) && p->zones[i].have_rect &&
		    start == p->zones[i].start && spanned == p->zones[i].pages)
			matched++;
		else
			diag("zone %s: outline %lu+%lu", p->zones[i].zone, p->zones[i].start,
			     p->zones[i].pages);
	}
	is_int(matched, p->nzones, "%s: every zone outline has zoneinfo's start_pfn and spanned",
	       mode);
	ok(p->cma.have_rect && p->cma.start == zone_end_pfn(normal) - normal->cma_pages &&
	   p->cma.pages == normal->cma_pages,
	   "%s: the CMA outline covers the last cma_pages of ZONE_NORMAL", mode);
	ok(p->cma.have_rect && p->cma.x >= p->zones[0].x && p->cma.y >= p->zones[0].y &&
	   p->cma.y + p->cma.h <= p->zones[0].y + p->zones[0].h,
	   "%s: the CMA outline lies inside ZONE_NORMAL's", mode);
	is_int(cells_outside_outlines(p), 0, "%s: every cell is drawn inside its zone's outline",
	       mode);
}

int main(void)
{
	struct scene sc;
	struct parsed p;
	size_t len;
	char *svg, *text;
	uint8_t *states;

	plan_no_plan();
	scene_up(&sc);

	for (int frames = 0; frames < 2; frames++) {
		const char *mode = frames ? "--frames" : "pageblocks";

		svg = draw(frames, false, &len);
		ok(parse_svg(svg, len, &p), "%s: the SVG is well-formed XML (expat)", mode);
		ok(p.viewbox_ok, "%s: the root element has a viewBox", mode);
		ok(strstr(svg, "<title>") && strstr(svg, "Legend"),
		   "%s: the picture has a title and a legend", mode);
		check_counts(&p, &sc, mode);
		check_outlines(&p, mode);
		free(svg);
	}

	/* the library call itself, one frame at a time, agrees with the walk */
	states = malloc(pinmm_max_pfn);
	pinmm_frame_states(0, pinmm_max_pfn, states);
	is_int(pinmm_frame_state(page_to_pfn(sc.pins[0])), PINMM_FRAME_PINNED_LONG,
	       "pinmm_frame_state(): a FOLL_LONGTERM-pinned frame is pinned-long");
	is_int(pinmm_frame_state(page_to_pfn(sc.pins[MS_LONG])), PINMM_FRAME_PINNED_SHORT,
	       "pinmm_frame_state(): a FOLL_PIN-only frame is pinned-short");
	is_int(pinmm_frame_state(sc.iso_pfn + 7), PINMM_FRAME_ISOLATED,
	       "pinmm_frame_state(): a free frame of a MIGRATE_ISOLATE block is isolated");
	is_int(pinmm_frame_state(pinmm_max_pfn), -EINVAL,
	       "pinmm_frame_state(): a pfn past the last struct page is -EINVAL");
	is_int(pinmm_frame_states(pinmm_max_pfn - 1, 2, states), -EINVAL,
	       "pinmm_frame_states(): a range past the last pfn is -EINVAL");
	free(states);

	text = draw(false, true, &len);
	ok(strstr(text, "L") && strstr(text, "ok free ") && !strstr(text, "\n  != "),
	   "--text: shows the long-term pins and every counter agrees");
	free(text);

	scene_down(&sc);
	free(placed);
	return done_testing();
}
