// SPDX-License-Identifier: MIT
/*
 * The scenario language's parser (docs/scenarios.md). One step per line:
 * a verb, positional words, key=value options; '#' starts a comment. Every
 * error names file:line:column and nothing runs: a scenario that parses
 * has only names defined before their use and ranges inside their mapping.
 */
#include "scenario.h"

#include <errno.h>
#include <limits.h>
#include <pinmm/machine.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCN_PAGE	4096UL
#define SCN_MAX_WORDS	16
#define SCN_MAX_STEPS	4096
#define SCN_MAX_MAP	(64UL << 20)	/* one mapping: fits every machine we boot */
#define SCN_GIG		(1UL << 30)
#define SCN_MAX_GIG	(2 * SCN_GIG)	/* 1 GiB hugetlb: the pool grows the machine by these */

static const char *const op_names[SK__NR] = {
	[SK_FILE] = "file", [SK_MAP] = "map", [SK_POPULATE] = "populate",
	[SK_WRITE] = "write", [SK_MPROTECT] = "mprotect", [SK_MUNMAP] = "munmap",
	[SK_MADVISE] = "madvise", [SK_MLOCK] = "mlock", [SK_MUNLOCK] = "munlock", [SK_MREMAP] = "mremap", [SK_FORK] = "fork", [SK_IN] = "in", [SK_EXIT] = "exit",
	[SK_PIN] = "pin", [SK_GET] = "get", [SK_REGISTER] = "register", [SK_RDMA] = "rdma",
	[SK_ODP] = "odp", [SK_UNPIN] = "unpin", [SK_DEVICE_WRITE] = "device-write",
	[SK_DIO_READ] = "dio-read", [SK_DIO_WRITE] = "dio-write",
	[SK_FORCE_WRITE] = "force-write", [SK_MARK] = "mark", [SK_COUNTERS] = "counters",
	[SK_KSM_MERGE] = "ksm-merge",
	[SK_EXPECT_DATA] = "expect data", [SK_EXPECT_DEVICE] = "expect device",
	[SK_EXPECT_FRAME] = "expect frame", [SK_EXPECT_ACQUIRED] = "expect acquired",
	[SK_EXPECT_RELEASED] = "expect released", [SK_EXPECT_VMPIN] = "expect vmpin",
	[SK_EXPECT_VMLCK] = "expect vmlck",
	[SK_EXPECT_THP] = "expect thp", [SK_EXPECT_SWAPPED] = "expect swapped",
	[SK_EXPECT_KSM] = "expect ksm",
};

int scn_step_mapping(const struct scn_step *st)
{
	switch (st->op) {
	case SK_POPULATE: case SK_WRITE: case SK_MPROTECT: case SK_MUNMAP: case SK_MADVISE:
	case SK_MLOCK: case SK_MUNLOCK: case SK_MREMAP:
	case SK_DIO_READ: case SK_FORCE_WRITE: case SK_EXPECT_DATA: case SK_EXPECT_THP:
	case SK_EXPECT_SWAPPED: case SK_EXPECT_KSM:
		return st->a;
	case SK_PIN: case SK_GET: case SK_REGISTER: case SK_RDMA: case SK_ODP:
	case SK_DIO_WRITE: case SK_MARK: case SK_EXPECT_FRAME:
		return st->b;
	default:
		return -1;
	}
}

unsigned long scn_place(unsigned long *next, unsigned long len, unsigned long align)
{
	const unsigned long window = 0x200000000000UL, gap = 2UL << 20;
	unsigned long a;

	if (!*next)
		*next = window;
	a = (*next + align - 1) & ~(align - 1);
	*next = a + len + gap;
	return a;
}

const char *scn_op_name(enum scn_op op)
{
	return op < SK__NR ? op_names[op] : "?";
}

bool scn_is_expectation(enum scn_op op)
{
	return op >= SK_EXPECT_DATA;
}

static const struct { const char *name; int err; } errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EIO", EIO }, { "ENXIO", ENXIO },
	{ "E2BIG", E2BIG }, { "EBADF", EBADF }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM },
	{ "EACCES", EACCES }, { "EFAULT", EFAULT }, { "EBUSY", EBUSY }, { "EEXIST", EEXIST },
	{ "ENODEV", ENODEV }, { "EINVAL", EINVAL }, { "ENOSPC", ENOSPC }, { "ERANGE", ERANGE },
	{ "EOVERFLOW", EOVERFLOW }, { "EOPNOTSUPP", EOPNOTSUPP }, { "EHWPOISON", EHWPOISON },
	{ "EINTR", EINTR }, { "ENOSYS", ENOSYS },
};

const char *scn_errno_name(int err)
{
	static __thread char buf[16];

	if (!err)
		return "ok";
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* ---- the parser's state --------------------------------------------------- */

struct word {
	const char *s;		/* NUL-terminated copy inside the line buffer */
	int col;
};

struct parser {
	struct scenario *s;
	const char *path;
	int line;
	char *err;
	size_t errlen;
	struct word w[SCN_MAX_WORDS];
	int nw;
	bool *used;		/* which key=value words a verb consumed */
	int in_block;		/* index of the block being defined, or -1 */
	struct scn_step *bsteps;	/* steps of blocks, appended to the main ones at the end */
	int nr_bsteps, cap_bsteps;
	unsigned long map_total;
	bool main_seen;		/* a step of the main block was parsed */
};

static int perr(struct parser *p, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, p->errlen, "%s:%d:%d: ", p->path, p->line, col);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Split @line (modified in place) into words; '#' outside quotes ends it. */
static int split(struct parser *p, char *line)
{
	char *c = line;

	p->nw = 0;
	for (;;) {
		while (*c == ' ' || *c == '\t' || *c == '\r')
			c++;
		if (!*c || *c == '#')
			break;
		if (p->nw == SCN_MAX_WORDS)
			return perr(p, (int)(c - line) + 1, "too many words on one line (at most %d)",
				    SCN_MAX_WORDS);
		p->w[p->nw].s = c;
		p->w[p->nw].col = (int)(c - line) + 1;
		p->nw++;
		if (*c == '"') {
			char *q = strchr(c + 1, '"');

			if (!q)
				return perr(p, (int)(c - line) + 1, "unterminated quote");
			c = q + 1;
		} else {
			while (*c && *c != ' ' && *c != '\t' && *c != '\r' && *c != '#')
				c++;
		}
		if (*c == '#') {
			*c = '\0';
			break;
		}
		if (*c)
			*c++ = '\0';
	}
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= SCN_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static int find_name(char names[][SCN_NAME_LEN], int nr, const char *s)
{
	for (int i = 0; i < nr; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

/* Define a new name in @names; an existing one is an error. */
static int define(struct parser *p, int wi, char names[][SCN_NAME_LEN], int *nr,
		  const char *what)
{
	const char *s = p->w[wi].s;

	if (!valid_name(s))
		return perr(p, p->w[wi].col, "bad %s name '%s' (letters, digits, _ - . ; up to %d)",
			    what, s, SCN_NAME_LEN - 1);
	if (find_name(names, *nr, s) >= 0)
		return perr(p, p->w[wi].col, "%s '%s' is already defined", what, s);
	if (*nr == SCN_MAX_NAMES)
		return perr(p, p->w[wi].col, "too many %ss (at most %d)", what, SCN_MAX_NAMES);
	strcpy(names[*nr], s);
	return (*nr)++;
}

static int lookup(struct parser *p, int wi, char names[][SCN_NAME_LEN], int nr, const char *what)
{
	int i = find_name(names, nr, p->w[wi].s);

	if (i < 0)
		return perr(p, p->w[wi].col, "undefined %s '%s'", what, p->w[wi].s);
	return i;
}

static int lookup_map(struct parser *p, int wi)
{
	for (int i = 0; i < p->s->nr_maps; i++)
		if (!strcmp(p->s->maps[i].name, p->w[wi].s))
			return i;
	return perr(p, p->w[wi].col, "undefined mapping '%s'", p->w[wi].s);
}

static int lookup_file(struct parser *p, const char *name, int col)
{
	for (int i = 0; i < p->s->nr_files; i++)
		if (!strcmp(p->s->files[i].name, name))
			return i;
	return perr(p, col, "undefined file '%s'", name);
}

static int lookup_block(struct parser *p, const char *name, int col)
{
	for (int i = 0; i < p->s->nr_blocks; i++)
		if (!strcmp(p->s->blocks[i].name, name))
			return i;
	return perr(p, col, "undefined block '%s' (define it with 'block %s' ... 'end' first)",
		    name, name);
}

/* Positional word @wi must exist: "missing argument" otherwise, at the line's end. */
static int need(struct parser *p, int wi, const char *what)
{
	if (wi < p->nw && !strchr(p->w[wi].s, '='))
		return 0;
	if (wi < p->nw)
		return perr(p, p->w[wi].col, "missing argument: %s (before '%s')", what,
			    p->w[wi].s);
	return perr(p, p->nw ? p->w[p->nw - 1].col + (int)strlen(p->w[p->nw - 1].s) + 1 : 1,
		    "missing argument: %s", what);
}

/* The value of option key=..., or NULL; marks it consumed. */
static const char *opt(struct parser *p, const char *key, int *col)
{
	size_t n = strlen(key);

	for (int i = 1; i < p->nw; i++)
		if (!strncmp(p->w[i].s, key, n) && p->w[i].s[n] == '=') {
			p->used[i] = true;
			if (col)
				*col = p->w[i].col + (int)n + 1;
			return p->w[i].s + n + 1;
		}
	return NULL;
}

/* A bare flag word (thp, fast, ...) anywhere after @from; marks it consumed. */
static bool flag(struct parser *p, int from, const char *word)
{
	for (int i = from; i < p->nw; i++)
		if (!strcmp(p->w[i].s, word)) {
			p->used[i] = true;
			return true;
		}
	return false;
}

static int parse_size_at(struct parser *p, const char *s, int col, unsigned long *out,
			 const char *what)
{
	if (pinmm_parse_size(s, out))
		return perr(p, col, "bad %s '%s' (a size: 4096, 4K, 2M, 0x1000)", what, s);
	return 0;
}

static int parse_byte(struct parser *p, int wi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(p->w[wi].s, &end, 0);
	if (errno || end == p->w[wi].s || *end || v < 0 || v > 255)
		return perr(p, p->w[wi].col, "bad byte '%s' (0 to 255, e.g. 0x5a)", p->w[wi].s);
	*out = v;
	return 0;
}

static int parse_count(struct parser *p, int wi, long *out)
{
	const char *s = p->w[wi].s;
	char *end;
	long v;

	errno = 0;
	v = strtol(s + (*s == '+'), &end, 0);
	if (*s == '-' || errno || end == s + (*s == '+') || *end || v < 0 || v > INT_MAX)
		return perr(p, p->w[wi].col, "bad count '%s' (a whole number, 0 to %d)", s,
			    INT_MAX);
	*out = v;
	return 0;
}

static int parse_prot(struct parser *p, const char *s, int col, long *out)
{
	if (!strcmp(s, "rw"))
		*out = SCN_PROT_READ | SCN_PROT_WRITE;
	else if (!strcmp(s, "r"))
		*out = SCN_PROT_READ;
	else if (!strcmp(s, "none"))
		*out = 0;
	else
		return perr(p, col, "bad protection '%s' (rw, r or none)", s);
	return 0;
}

/* at= and len= on mapping @m: inside it, or an error. */
static int parse_range(struct parser *p, struct scn_step *st, int m)
{
	const struct scn_map *map = &p->s->maps[m];
	const char *v;
	int col;

	st->at = 0;
	st->len = 0;
	if ((v = opt(p, "at", &col)) && parse_size_at(p, v, col, &st->at, "offset"))
		return -1;
	if (st->at >= map->size)
		return perr(p, col, "offset %lu is outside mapping '%s' (%lu bytes)", st->at,
			    map->name, map->size);
	if ((v = opt(p, "len", &col))) {
		if (parse_size_at(p, v, col, &st->len, "length"))
			return -1;
		if (!st->len || st->len > map->size - st->at)
			return perr(p, col, "length %s does not fit mapping '%s' (%lu bytes from %lu)",
				    v, map->name, map->size - st->at, st->at);
	}
	return 0;
}

static int parse_expect_ret(struct parser *p, struct scn_step *st)
{
	const char *v;
	int col;

	st->expect_err = 0;
	if (!(v = opt(p, "expect", &col)))
		return 0;
	st->has_expect = true;
	if (!strcmp(v, "ok"))
		return 0;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(errnos[i].name, v)) {
			st->expect_err = errnos[i].err;
			return 0;
		}
	return perr(p, col, "bad expect= '%s' (ok or an errno name such as EFAULT)", v);
}

/* ---- the verbs ------------------------------------------------------------ */

/* pagesize=2M|1G of a hugetlb mapping or file: *@gig true for 1 GiB pages. */
static int parse_pagesize(struct parser *p, bool hugetlb, bool *gig)
{
	unsigned long ps;
	const char *v;
	int col;

	*gig = false;
	if (!(v = opt(p, "pagesize", &col)))
		return 0;
	if (!hugetlb)
		return perr(p, col, "pagesize= is for hugetlb mappings and memfd-hugetlb files");
	if (parse_size_at(p, v, col, &ps, "pagesize"))
		return -1;
	if (ps != (2UL << 20) && ps != SCN_GIG)
		return perr(p, col, "bad pagesize '%s' (2M or 1G: the hstates x86-64 has)", v);
	*gig = ps == SCN_GIG;
	return 0;
}

static int add_file(struct parser *p, struct scn_step *st)
{
	struct scenario *s = p->s;
	struct scn_file *f;
	const char *v;
	long byte;
	bool gig;
	int col;

	if (need(p, 1, "file name") ||
	    need(p, 2, "file kind (disk, memfd, memfd-hugetlb or secret)"))
		return -1;
	if (!valid_name(p->w[1].s))
		return perr(p, p->w[1].col, "bad file name '%s'", p->w[1].s);
	for (int i = 0; i < s->nr_files; i++)
		if (!strcmp(s->files[i].name, p->w[1].s))
			return perr(p, p->w[1].col, "file '%s' is already defined", p->w[1].s);
	if (s->nr_files == SCN_MAX_NAMES)
		return perr(p, p->w[1].col, "too many files");
	f = &s->files[s->nr_files];
	memset(f, 0, sizeof(*f));
	strcpy(f->name, p->w[1].s);
	p->used[1] = p->used[2] = true;
	if (!strcmp(p->w[2].s, "disk"))
		f->kind = FK_DISK;
	else if (!strcmp(p->w[2].s, "memfd"))
		f->kind = FK_MEMFD;
	else if (!strcmp(p->w[2].s, "memfd-hugetlb"))
		f->kind = FK_MEMFD_HUGETLB;
	else if (!strcmp(p->w[2].s, "secret"))
		f->kind = FK_SECRET;
	else
		return perr(p, p->w[2].col,
			    "bad file kind '%s' (disk, memfd, memfd-hugetlb or secret)", p->w[2].s);
	if (parse_pagesize(p, f->kind == FK_MEMFD_HUGETLB, &gig))
		return -1;
	f->gigantic = gig;
	f->size = gig ? SCN_GIG : SCN_PAGE;
	if ((v = opt(p, "size", &col))) {
		if (parse_size_at(p, v, col, &f->size, "size"))
			return -1;
		if (gig && (!f->size || f->size % SCN_GIG || f->size > SCN_MAX_GIG))
			return perr(p, col, "a pagesize=1G file is 1G or 2G, not %s", v);
		if (!gig && (!f->size || f->size % SCN_PAGE || f->size > SCN_MAX_MAP))
			return perr(p, col, "file size %s must be a multiple of 4K up to 64M", v);
	}
	f->fill = 0;
	if ((v = opt(p, "fill", &col))) {
		char *end;

		errno = 0;
		byte = strtol(v, &end, 0);
		if (errno || end == v || *end || byte < 0 || byte > 255)
			return perr(p, col, "bad byte '%s' (0 to 255)", v);
		f->fill = (int)byte;
	}
	/* hugetlbfs has no write(2): a hugetlb memfd is whole 2M pages of zeroes */
	if (f->kind == FK_MEMFD_HUGETLB && (f->size % (2UL << 20) || f->fill))
		return perr(p, p->w[2].col, "a memfd-hugetlb file is a multiple of 2M, fill=0");
	/* nor has memfd_secret(2): zeroes until the process writes through a mapping */
	if (f->kind == FK_SECRET && f->fill)
		return perr(p, p->w[2].col, "a secret file starts as zeroes: fill=0");
	st->a = s->nr_files++;
	return 0;
}

static const struct { const char *name; enum scn_map_kind kind; } map_kinds[] = {
	{ "anon", MK_ANON }, { "shared-anon", MK_SHARED_ANON },
	{ "private-file", MK_PRIVATE_FILE }, { "shared-file", MK_SHARED_FILE },
	{ "hugetlb", MK_HUGETLB },
};

static int add_map(struct parser *p, struct scn_step *st)
{
	struct scenario *s = p->s;
	struct scn_map *m;
	const char *v;
	size_t k;
	long prot;
	bool gig;
	int col;

	if (need(p, 1, "mapping name") ||
	    need(p, 2, "mapping kind (anon, shared-anon, private-file, shared-file, hugetlb)") ||
	    need(p, 3, "size"))
		return -1;
	if (!valid_name(p->w[1].s))
		return perr(p, p->w[1].col, "bad mapping name '%s'", p->w[1].s);
	for (int i = 0; i < s->nr_maps; i++)
		if (!strcmp(s->maps[i].name, p->w[1].s))
			return perr(p, p->w[1].col, "mapping '%s' is already defined", p->w[1].s);
	if (s->nr_maps == SCN_MAX_NAMES)
		return perr(p, p->w[1].col, "too many mappings");
	m = &s->maps[s->nr_maps];
	memset(m, 0, sizeof(*m));
	strcpy(m->name, p->w[1].s);
	for (k = 0; k < sizeof(map_kinds) / sizeof(map_kinds[0]); k++)
		if (!strcmp(map_kinds[k].name, p->w[2].s))
			break;
	if (k == sizeof(map_kinds) / sizeof(map_kinds[0]))
		return perr(p, p->w[2].col,
			    "bad mapping kind '%s' (anon, shared-anon, private-file, shared-file, hugetlb)",
			    p->w[2].s);
	m->kind = map_kinds[k].kind;
	p->used[1] = p->used[2] = p->used[3] = true;
	if (parse_size_at(p, p->w[3].s, p->w[3].col, &m->size, "size"))
		return -1;
	if (!m->size || m->size % SCN_PAGE)
		return perr(p, p->w[3].col, "size %s is not a whole number of 4K pages", p->w[3].s);
	if (parse_pagesize(p, m->kind == MK_HUGETLB, &gig))
		return -1;
	/* a mapping of a 1 GiB memfd: 1 GiB pages too (the file's size rules) */
	if ((v = opt(p, "file", &col)))
		for (int i = 0; i < s->nr_files; i++)
			if (!strcmp(s->files[i].name, v))
				gig = s->files[i].gigantic;
	m->gigantic = gig;
	if (gig) {
		/* the pool's pages: the backends grow the machine (and the live pool) for them */
		if (m->size % SCN_GIG || m->size > SCN_MAX_GIG)
			return perr(p, p->w[3].col, "a 1 GiB hugetlb mapping is 1G or 2G, not %s",
				    p->w[3].s);
		goto sized;
	}
	if (m->size > SCN_MAX_MAP)
		return perr(p, p->w[3].col, "size %s does not fit the machine (a mapping is at most 64M)",
			    p->w[3].s);
	p->map_total += m->size;
	if (p->map_total > s->mem / 4)
		return perr(p, p->w[3].col,
			    "mappings of %lu bytes do not fit the machine (mem=%luM holds %luM of them)",
			    p->map_total, s->mem >> 20, s->mem >> 22);
sized:
	m->prot = SCN_PROT_READ | SCN_PROT_WRITE;
	if ((v = opt(p, "prot", &col))) {
		if (parse_prot(p, v, col, &prot))
			return -1;
		m->prot = (int)prot;
	}
	m->file = -1;
	if ((v = opt(p, "file", &col))) {
		if (m->kind != MK_PRIVATE_FILE && m->kind != MK_SHARED_FILE)
			return perr(p, col, "file= is for private-file and shared-file mappings");
		if ((m->file = lookup_file(p, v, col)) < 0)
			return -1;
	} else if (m->kind == MK_PRIVATE_FILE || m->kind == MK_SHARED_FILE) {
		return perr(p, p->w[2].col, "a %s mapping needs file=NAME", p->w[2].s);
	}
	if ((v = opt(p, "offset", &col))) {
		if (m->file < 0)
			return perr(p, col, "offset= is for file mappings");
		if (parse_size_at(p, v, col, &m->offset, "offset"))
			return -1;
		if (m->offset % SCN_PAGE)
			return perr(p, col, "offset %s is not page aligned", v);
	}
	if (m->file >= 0 && m->offset + m->size > s->files[m->file].size)
		return perr(p, p->w[3].col, "mapping '%s' reaches past the end of file '%s' (%lu bytes)",
			    m->name, s->files[m->file].name, s->files[m->file].size);
	if (flag(p, 4, "thp"))
		m->thp = 1;
	if (flag(p, 4, "nothp"))
		m->thp = m->thp ? 2 : -1;
	if (m->thp == 2)
		return perr(p, p->w[1].col, "thp and nothp together");
	if (m->thp == 1 && m->kind != MK_ANON)
		return perr(p, p->w[2].col, "thp is for anon mappings (madvise(MADV_HUGEPAGE))");
	if (m->thp == 1 && m->size % (2UL << 20))
		return perr(p, p->w[3].col, "a thp mapping's size is a multiple of 2M");
	st->a = s->nr_maps++;
	return 0;
}

static int parse_machine(struct parser *p)
{
	struct scenario *s = p->s;
	const char *v;
	int col;

	if (p->main_seen || s->nr_maps)
		return perr(p, p->w[0].col, "machine comes before the first step");
	if ((v = opt(p, "mem", &col)) && parse_size_at(p, v, col, &s->mem, "mem"))
		return -1;
	if ((v = opt(p, "movable", &col)) && parse_size_at(p, v, col, &s->movable, "movable"))
		return -1;
	if ((v = opt(p, "cma", &col)) && parse_size_at(p, v, col, &s->cma, "cma"))
		return -1;
	if ((v = opt(p, "swap", &col)) && parse_size_at(p, v, col, &s->swap, "swap"))
		return -1;
	if ((v = opt(p, "gigantic", &col))) {
		char *end;

		errno = 0;
		s->gigantic = strtol(v, &end, 0);
		if (errno || end == v || *end || s->gigantic < 0 || s->gigantic > 4)
			return perr(p, col, "bad gigantic '%s' (1 GiB pages in the pool: 0 to 4)", v);
	}
	if (s->swap % 4096 || s->swap > (1UL << 30))
		return perr(p, p->w[0].col, "swap: whole pages, at most 1G");
	if (s->mem < (16UL << 20) || s->mem > (1UL << 30) || s->mem % (2UL << 20) ||
	    s->movable % (2UL << 20) || s->cma % (2UL << 20) ||
	    s->movable + s->cma + (8UL << 20) > s->mem)
		return perr(p, p->w[0].col,
			    "machine does not fit: mem 16M..1G, movable and cma multiples of 2M, "
			    "leaving ZONE_NORMAL 8M of non-CMA memory");
	return 0;
}

static const struct { const char *name; enum scn_advice adv; } advices[] = {
	{ "dontneed", ADV_DONTNEED }, { "hugepage", ADV_HUGEPAGE },
	{ "nohugepage", ADV_NOHUGEPAGE }, { "dontfork", ADV_DONTFORK }, { "dofork", ADV_DOFORK },
	{ "populate-read", ADV_POPULATE_READ }, { "populate-write", ADV_POPULATE_WRITE },
	{ "collapse", ADV_COLLAPSE }, { "cold", ADV_COLD }, { "pageout", ADV_PAGEOUT },
	{ "mergeable", ADV_MERGEABLE }, { "unmergeable", ADV_UNMERGEABLE },
	{ "free", ADV_FREE }, { "remove", ADV_REMOVE }, { "willneed", ADV_WILLNEED },
	{ "normal", ADV_NORMAL }, { "random", ADV_RANDOM }, { "sequential", ADV_SEQUENTIAL },
	{ "guard-install", ADV_GUARD_INSTALL }, { "guard-remove", ADV_GUARD_REMOVE },
	{ "dontneed-locked", ADV_DONTNEED_LOCKED },
};

/*
 * mremap M NEW [range]: NEW names the moved part of M, a mapping of the same
 * kind and object whose size is the range's length (page-aligned).
 */
static int add_moved_map(struct parser *p, struct scn_step *st)
{
	struct scenario *s = p->s;
	const struct scn_map *src = &s->maps[st->a];
	unsigned long len = st->len ? st->len : src->size - st->at;
	struct scn_map *m;

	if (need(p, 2, "name for the moved part"))
		return -1;
	p->used[2] = true;
	if (st->at % SCN_PAGE || len % SCN_PAGE)
		return perr(p, p->w[1].col, "mremap moves whole 4K pages (at= and len=)");
	if (src->kind == MK_HUGETLB)
		return perr(p, p->w[1].col, "mremap of hugetlb is not built");
	if (!valid_name(p->w[2].s))
		return perr(p, p->w[2].col, "bad mapping name '%s'", p->w[2].s);
	for (int i = 0; i < s->nr_maps; i++)
		if (!strcmp(s->maps[i].name, p->w[2].s))
			return perr(p, p->w[2].col, "mapping '%s' is already defined", p->w[2].s);
	if (s->nr_maps == SCN_MAX_NAMES)
		return perr(p, p->w[2].col, "too many mappings");
	m = &s->maps[s->nr_maps];
	*m = *src;
	strcpy(m->name, p->w[2].s);
	m->size = len;
	m->offset = src->offset + st->at;
	m->thp = 0;
	st->b = s->nr_maps++;
	return 0;
}

static int map_arg(struct parser *p, int wi, struct scn_step *st, int *slot)
{
	if (need(p, wi, "mapping name"))
		return -1;
	p->used[wi] = true;
	if ((*slot = lookup_map(p, wi)) < 0)
		return -1;
	return parse_range(p, st, *slot);
}

static int byte_arg(struct parser *p, int wi, struct scn_step *st)
{
	if (need(p, wi, "byte value (0 to 255)"))
		return -1;
	p->used[wi] = true;
	return parse_byte(p, wi, &st->num);
}

static int handle_def(struct parser *p, int wi, struct scn_step *st)
{
	struct scenario *s = p->s;
	int i;

	if (need(p, wi, "handle name"))
		return -1;
	p->used[wi] = true;
	i = find_name(s->handles, s->nr_handles, p->w[wi].s);
	if (i >= 0) {	/* a handle may be reused after its unpin: same name, new pin */
		st->a = i;
		return 0;
	}
	if ((st->a = define(p, wi, s->handles, &s->nr_handles, "handle")) < 0)
		return -1;
	return 0;
}

static int parse_expect(struct parser *p, struct scn_step *st)
{
	struct scenario *s = p->s;
	const char *what;

	if (need(p, 1, "what to expect (data, device, frame, acquired, released, vmpin, vmlck, thp, "
		 "swapped, ksm)"))
		return -1;
	p->used[1] = true;
	what = p->w[1].s;
	if (!strcmp(what, "data")) {
		st->op = SK_EXPECT_DATA;
		return map_arg(p, 2, st, &st->a) || byte_arg(p, 3, st) ? -1 : 0;
	}
	if (!strcmp(what, "device")) {
		st->op = SK_EXPECT_DEVICE;
		if (need(p, 2, "handle name"))
			return -1;
		p->used[2] = true;
		if ((st->a = lookup(p, 2, s->handles, s->nr_handles, "handle")) < 0)
			return -1;
		if (opt(p, "at", NULL) || opt(p, "len", NULL)) {
			/* relative to the handle: checked against its mapping at run time */
			const char *v;
			int col;

			if ((v = opt(p, "at", &col)) && parse_size_at(p, v, col, &st->at, "offset"))
				return -1;
			if ((v = opt(p, "len", &col)) && parse_size_at(p, v, col, &st->len, "length"))
				return -1;
		}
		return byte_arg(p, 3, st);
	}
	if (!strcmp(what, "frame")) {
		st->op = SK_EXPECT_FRAME;
		if (map_arg(p, 2, st, &st->b))
			return -1;
		if (need(p, 3, "same or new") || need(p, 4, "label (from mark)"))
			return -1;
		p->used[3] = p->used[4] = true;
		if (!strcmp(p->w[3].s, "same"))
			st->num = 1;
		else if (!strcmp(p->w[3].s, "new"))
			st->num = 0;
		else
			return perr(p, p->w[3].col, "bad frame verdict '%s' (same or new)", p->w[3].s);
		st->a = lookup(p, 4, s->labels, s->nr_labels, "label");
		return st->a < 0 ? -1 : 0;
	}
	if (!strcmp(what, "acquired") || !strcmp(what, "released")) {
		st->op = what[0] == 'a' ? SK_EXPECT_ACQUIRED : SK_EXPECT_RELEASED;
		if (need(p, 2, "page count"))
			return -1;
		p->used[2] = true;
		return parse_count(p, 2, &st->num);
	}
	if (!strcmp(what, "vmpin") || !strcmp(what, "vmlck")) {
		unsigned long v;

		st->op = what[2] == 'p' ? SK_EXPECT_VMPIN : SK_EXPECT_VMLCK;
		if (need(p, 2, st->op == SK_EXPECT_VMPIN ? "size (VmPin, e.g. 8K)" :
			       "size (VmLck, e.g. 8K)"))
			return -1;
		p->used[2] = true;
		if (parse_size_at(p, p->w[2].s, p->w[2].col, &v, "size"))
			return -1;
		st->num = (long)(v / 1024);
		return 0;
	}
	if (!strcmp(what, "ksm")) {
		st->op = SK_EXPECT_KSM;
		if (map_arg(p, 2, st, &st->a) || need(p, 3, "yes or no"))
			return -1;
		p->used[3] = true;
		if (strcmp(p->w[3].s, "yes") && strcmp(p->w[3].s, "no"))
			return perr(p, p->w[3].col, "bad ksm verdict '%s' (yes or no)", p->w[3].s);
		st->num = !strcmp(p->w[3].s, "yes");
		return 0;
	}
	if (!strcmp(what, "thp")) {
		st->op = SK_EXPECT_THP;
		if (map_arg(p, 2, st, &st->a) || need(p, 3, "yes or no"))
			return -1;
		p->used[3] = true;
		if (strcmp(p->w[3].s, "yes") && strcmp(p->w[3].s, "no"))
			return perr(p, p->w[3].col, "bad thp verdict '%s' (yes or no)", p->w[3].s);
		st->num = !strcmp(p->w[3].s, "yes");
		return 0;
	}
	if (!strcmp(what, "swapped")) {
		st->op = SK_EXPECT_SWAPPED;
		if (map_arg(p, 2, st, &st->a) || need(p, 3, "yes or no"))
			return -1;
		p->used[3] = true;
		if (strcmp(p->w[3].s, "yes") && strcmp(p->w[3].s, "no"))
			return perr(p, p->w[3].col, "bad swapped verdict '%s' (yes or no)", p->w[3].s);
		st->num = !strcmp(p->w[3].s, "yes");
		return 0;
	}
	return perr(p, p->w[1].col,
		    "unknown expectation '%s' (data, device, frame, acquired, released, vmpin, vmlck, "
		    "thp, swapped, ksm)", what);
}

static int parse_step(struct parser *p, struct scn_step *st)
{
	struct scenario *s = p->s;
	const char *verb = p->w[0].s, *v;
	int col, r;

	st->a = st->b = st->c = -1;
	if (!strcmp(verb, "expect"))
		return parse_expect(p, st);
	for (r = 0; r < SK__NR; r++)
		if (op_names[r] && !strcmp(op_names[r], verb))
			break;
	if (r == SK__NR)
		return perr(p, p->w[0].col, "unknown step '%s' (docs/scenarios.md lists them)", verb);
	st->op = (enum scn_op)r;
	switch (st->op) {
	case SK_FILE:
		if (p->in_block >= 0)
			return perr(p, p->w[0].col, "file inside a block");
		return add_file(p, st);
	case SK_MAP:
		if (p->in_block >= 0)
			return perr(p, p->w[0].col, "map inside a block");
		return add_map(p, st);
	case SK_POPULATE:
		if (map_arg(p, 1, st, &st->a))
			return -1;
		st->num = 1;
		if (p->nw > 2 && !strchr(p->w[2].s, '=')) {
			p->used[2] = true;
			if (!strcmp(p->w[2].s, "read"))
				st->num = 0;
			else if (strcmp(p->w[2].s, "write"))
				return perr(p, p->w[2].col, "bad populate mode '%s' (read or write)",
					    p->w[2].s);
		}
		return 0;
	case SK_WRITE:
	case SK_FORCE_WRITE:
	case SK_DIO_READ:
		return map_arg(p, 1, st, &st->a) || byte_arg(p, 2, st) ? -1 : 0;
	case SK_MPROTECT:
		if (map_arg(p, 1, st, &st->a) || need(p, 2, "protection (rw, r or none)"))
			return -1;
		p->used[2] = true;
		return parse_prot(p, p->w[2].s, p->w[2].col, &st->num);
	case SK_MUNMAP:
		return map_arg(p, 1, st, &st->a);
	case SK_MREMAP:
		if (p->in_block >= 0)
			return perr(p, p->w[0].col, "mremap inside a block (it names a new mapping)");
		return map_arg(p, 1, st, &st->a) || add_moved_map(p, st) ? -1 : 0;
	case SK_MADVISE:
		if (map_arg(p, 1, st, &st->a) || need(p, 2, "advice"))
			return -1;
		p->used[2] = true;
		for (size_t k = 0; k < sizeof(advices) / sizeof(advices[0]); k++)
			if (!strcmp(advices[k].name, p->w[2].s)) {
				st->num = advices[k].adv;
				return 0;
			}
		return perr(p, p->w[2].col,
			    "bad advice '%s' (dontneed, hugepage, nohugepage, dontfork, dofork, "
			    "populate-read, populate-write, collapse, cold, pageout, mergeable, "
			    "unmergeable, free, remove, willneed, normal, random, sequential, guard-install, "
			    "guard-remove, dontneed-locked)",
			    p->w[2].s);
	case SK_MLOCK:
		if (map_arg(p, 1, st, &st->a))
			return -1;
		if (p->nw > 2 && !strchr(p->w[2].s, '=')) {
			p->used[2] = true;
			if (strcmp(p->w[2].s, "onfault"))
				return perr(p, p->w[2].col, "bad mlock mode '%s' (onfault or nothing)",
					    p->w[2].s);
			st->num = 1;
		}
		return 0;
	case SK_MUNLOCK:
		return map_arg(p, 1, st, &st->a);
	case SK_FORK:
		if (p->in_block >= 0)
			return perr(p, p->w[0].col, "fork inside a block (children do not fork)");
		if (need(p, 1, "child name"))
			return -1;
		p->used[1] = true;
		if ((st->a = define(p, 1, s->children, &s->nr_children, "child")) < 0)
			return -1;
		if ((v = opt(p, "run", &col)) && (st->b = lookup_block(p, v, col)) < 0)
			return -1;
		return 0;
	case SK_IN:
		if (p->in_block >= 0)
			return perr(p, p->w[0].col, "in inside a block");
		if (need(p, 1, "child name") || need(p, 2, "block name"))
			return -1;
		p->used[1] = p->used[2] = true;
		if ((st->a = lookup(p, 1, s->children, s->nr_children, "child")) < 0)
			return -1;
		return (st->b = lookup_block(p, p->w[2].s, p->w[2].col)) < 0 ? -1 : 0;
	case SK_EXIT:
		if (p->in_block >= 0)
			return perr(p, p->w[0].col, "exit inside a block");
		if (need(p, 1, "child name"))
			return -1;
		p->used[1] = true;
		return (st->a = lookup(p, 1, s->children, s->nr_children, "child")) < 0 ? -1 : 0;
	case SK_PIN:
		if (handle_def(p, 1, st) || map_arg(p, 2, st, &st->b))
			return -1;
		if (need(p, 3, "rw or ro") || need(p, 4, "longterm or short"))
			return -1;
		p->used[3] = p->used[4] = true;
		if (!strcmp(p->w[3].s, "rw"))
			st->num = PF_WRITE;
		else if (strcmp(p->w[3].s, "ro"))
			return perr(p, p->w[3].col, "bad pin access '%s' (rw or ro)", p->w[3].s);
		if (!strcmp(p->w[4].s, "longterm"))
			st->num |= PF_LONGTERM;
		else if (strcmp(p->w[4].s, "short"))
			return perr(p, p->w[4].col, "bad pin duration '%s' (longterm or short)",
				    p->w[4].s);
		if (flag(p, 5, "fast"))
			st->num |= PF_FAST;
		return 0;
	case SK_GET:
	case SK_REGISTER:
	case SK_RDMA:
	case SK_ODP:
	case SK_DIO_WRITE:
		return handle_def(p, 1, st) || map_arg(p, 2, st, &st->b) ? -1 : 0;
	case SK_UNPIN:
		if (need(p, 1, "handle name"))
			return -1;
		p->used[1] = true;
		return (st->a = lookup(p, 1, s->handles, s->nr_handles, "handle")) < 0 ? -1 : 0;
	case SK_DEVICE_WRITE:
		if (need(p, 1, "handle name"))
			return -1;
		p->used[1] = true;
		if ((st->a = lookup(p, 1, s->handles, s->nr_handles, "handle")) < 0)
			return -1;
		if ((v = opt(p, "at", &col)) && parse_size_at(p, v, col, &st->at, "offset"))
			return -1;
		if ((v = opt(p, "len", &col)) && parse_size_at(p, v, col, &st->len, "length"))
			return -1;
		return byte_arg(p, 2, st);
	case SK_MARK:
		if (need(p, 1, "label"))
			return -1;
		p->used[1] = true;
		r = find_name(s->labels, s->nr_labels, p->w[1].s);
		if (r < 0 && (r = define(p, 1, s->labels, &s->nr_labels, "label")) < 0)
			return -1;
		st->a = r;
		return map_arg(p, 2, st, &st->b);
	case SK_COUNTERS:
	case SK_KSM_MERGE:
		return 0;
	default:
		return perr(p, p->w[0].col, "unknown step '%s'", verb);
	}
}

static int push_step(struct parser *p, struct scn_step **arr, int *nr, int *cap,
		     const struct scn_step *st)
{
	if (*nr + p->nr_bsteps >= SCN_MAX_STEPS && *nr >= SCN_MAX_STEPS / 2)
		return perr(p, 1, "too many steps (at most %d)", SCN_MAX_STEPS);
	if (*nr == *cap) {
		int ncap = *cap ? *cap * 2 : 32;
		struct scn_step *n = realloc(*arr, (size_t)ncap * sizeof(*n));

		if (!n)
			return perr(p, 1, "out of memory");
		*arr = n;
		*cap = ncap;
	}
	(*arr)[(*nr)++] = *st;
	return 0;
}

static void step_text(struct parser *p, struct scn_step *st)
{
	size_t len = 0;

	st->text[0] = '\0';
	for (int i = 0; i < p->nw; i++) {
		size_t wl = strlen(p->w[i].s);

		if (len + wl + 2 >= sizeof(st->text))
			break;
		if (len)
			st->text[len++] = ' ';
		memcpy(st->text + len, p->w[i].s, wl);
		len += wl;
		st->text[len] = '\0';
	}
}

/*
 * "scenario TITLE" and "skip REASON" take the rest of the line as it is (up to
 * a '#'), quotes stripped. Return 1 if @line was one of them, 0 if not, -1
 * for a skip without its reason.
 */
static int raw_line(struct parser *p, char *line)
{
	char *c = line + strspn(line, " \t"), *end, *dst;
	size_t vl = strcspn(c, " \t\r#");
	size_t n;

	if (!((vl == 4 && !strncmp(c, "skip", 4)) || (vl == 8 && !strncmp(c, "scenario", 8))))
		return 0;
	dst = c[1] == 'k' ? p->s->skip : p->s->title;
	n = c[1] == 'k' ? sizeof(p->s->skip) : sizeof(p->s->title);
	c += vl;
	c += strspn(c, " \t");
	end = c + strcspn(c, "#\r");
	while (end > c && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - c >= 2 && *c == '"' && end[-1] == '"') {
		c++;
		end--;
	}
	snprintf(dst, n, "%.*s", (int)(end - c), c);
	if (dst == p->s->skip && !dst[0])
		return perr(p, (int)(c - line) + 1, "missing argument: the reason to skip");
	return 1;
}

static int parse_line(struct parser *p, char *line)
{
	struct scenario *s = p->s;
	bool used[SCN_MAX_WORDS] = { false };
	struct scn_step st;
	const char *verb;
	int r;

	if ((r = raw_line(p, line)))
		return r < 0 ? -1 : 0;
	if (split(p, line))
		return -1;
	if (!p->nw)
		return 0;
	p->used = used;
	used[0] = true;
	verb = p->w[0].s;
	memset(&st, 0, sizeof(st));
	st.line = p->line;
	st.col = p->w[0].col;
	if (!strcmp(verb, "machine")) {
		if (parse_machine(p))
			return -1;
		goto leftovers;
	}
	if (!strcmp(verb, "block")) {
		struct scn_block *b;

		if (p->in_block >= 0)
			return perr(p, p->w[0].col, "block inside block '%s' (missing 'end'?)",
				    s->blocks[p->in_block].name);
		if (need(p, 1, "block name"))
			return -1;
		used[1] = true;
		for (int i = 0; i < s->nr_blocks; i++)
			if (!strcmp(s->blocks[i].name, p->w[1].s))
				return perr(p, p->w[1].col, "block '%s' is already defined", p->w[1].s);
		if (!valid_name(p->w[1].s))
			return perr(p, p->w[1].col, "bad block name '%s'", p->w[1].s);
		if (s->nr_blocks == SCN_MAX_NAMES)
			return perr(p, p->w[1].col, "too many blocks");
		b = &s->blocks[s->nr_blocks];
		strcpy(b->name, p->w[1].s);
		b->first = p->nr_bsteps;
		b->nr = 0;
		p->in_block = s->nr_blocks++;
		goto leftovers;
	}
	if (!strcmp(verb, "end")) {
		if (p->in_block < 0)
			return perr(p, p->w[0].col, "end without block");
		p->in_block = -1;
		goto leftovers;
	}
	if (parse_step(p, &st))
		return -1;
	if (st.op != SK_FILE && st.op != SK_MAP && !scn_is_expectation(st.op) &&
	    st.op != SK_MARK && st.op != SK_COUNTERS && st.op != SK_KSM_MERGE && st.op != SK_FORK && st.op != SK_IN &&
	    st.op != SK_EXIT && parse_expect_ret(p, &st))
		return -1;
	if ((st.op == SK_FILE || st.op == SK_MAP) && parse_expect_ret(p, &st))
		return -1;
	step_text(p, &st);
	if (p->in_block >= 0) {
		r = push_step(p, &p->bsteps, &p->nr_bsteps, &p->cap_bsteps, &st);
		s->blocks[p->in_block].nr++;
	} else {
		p->main_seen = true;
		r = push_step(p, &s->steps, &s->nr_steps, &s->cap_steps, &st);
	}
	if (r)
		return -1;
leftovers:
	for (int i = 1; i < p->nw; i++)
		if (!used[i])
			return perr(p, p->w[i].col, "unexpected argument '%s' for %s", p->w[i].s, verb);
	return 0;
}

int scn_parse(const char *path, const char *buf, size_t len, struct scenario *out, char *err,
	      size_t errlen)
{
	struct parser p = { .s = out, .path = path, .err = err, .errlen = errlen, .in_block = -1 };
	const char *base;
	size_t pos = 0;
	char line[1024];
	int ret = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	base = strrchr(path, '/');
	snprintf(out->title, sizeof(out->title), "%s", base ? base + 1 : path);
	out->mem = 64UL << 20;
	out->gigantic = -1;	/* the 1 GiB pool: as scn_gigantic_pages() counts */
	if (errlen)
		err[0] = '\0';
	while (pos < len) {
		size_t e = pos;

		while (e < len && buf[e] != '\n')
			e++;
		p.line++;
		if (e - pos >= sizeof(line)) {
			ret = perr(&p, (int)sizeof(line), "line longer than %zu characters",
				   sizeof(line) - 1);
			break;
		}
		memcpy(line, buf + pos, e - pos);
		line[e - pos] = '\0';
		if (memchr(line, '\0', e - pos)) {
			ret = perr(&p, (int)strlen(line) + 1, "NUL byte in the text");
			break;
		}
		if ((ret = parse_line(&p, line)))
			break;
		pos = e + 1;
	}
	if (!ret && p.in_block >= 0) {
		p.line++;
		ret = perr(&p, 1, "block '%s' has no 'end'", out->blocks[p.in_block].name);
	}
	if (!ret && !out->nr_steps && !out->skip[0]) {
		p.line = p.line ? p.line : 1;
		ret = perr(&p, 1, "no steps");
	}
	/* blocks' steps go after the main ones */
	out->main_nr = out->nr_steps;
	for (int i = 0; !ret && i < p.nr_bsteps; i++)
		ret = push_step(&p, &out->steps, &out->nr_steps, &out->cap_steps, &p.bsteps[i]);
	for (int i = 0; i < out->nr_blocks; i++)
		out->blocks[i].first += out->main_nr;
	free(p.bsteps);
	return ret;
}

int scn_load(const char *path, struct scenario *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *nb;

			if (cap >= (1UL << 20)) {
				snprintf(err, errlen, "%s: larger than 1 MiB", path);
				free(buf);
				fclose(f);
				return -1;
			}
			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	fclose(f);
	ret = scn_parse(path, buf ? buf : "", len, out, err, errlen);
	free(buf);
	return ret;
}

void scn_free(struct scenario *s)
{
	free(s->steps);
	s->steps = NULL;
	s->nr_steps = s->cap_steps = 0;
}
