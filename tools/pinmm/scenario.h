/* SPDX-License-Identifier: MIT */
/*
 * pinmm run: one scenario, two machines. A scenario is a text file of steps
 * (docs/scenarios.md); scenario.c parses it into the structures below, run.c
 * drives a backend through it and compares the verdicts.
 *
 * This header includes no pinmm header: the kernel backend is built against
 * the host's <sys/mman.h>, whose names pinmm's headers also define.
 */
#ifndef PINMM_SCENARIO_H
#define PINMM_SCENARIO_H

#include <stdbool.h>
#include <stdio.h>

#define SCN_MAX_NAMES	32	/* files, mappings, handles, labels, children, blocks */
#define SCN_NAME_LEN	32
#define SCN_OBS_LEN	64	/* an observation: "ok", "EFAULT", "0x11", "new", "+4" */
/* madvise collapse: tries while MADV_COLLAPSE answers EAGAIN ("retry") */
#define SCN_COLLAPSE_TRIES	3

enum scn_op {
	/* set-up */
	SK_FILE,		/* file F disk|memfd [size=] [fill=] */
	SK_MAP,			/* map M KIND SIZE [file=F] [prot=] [thp|nothp] [offset=] */
	/* the CPU */
	SK_POPULATE,		/* populate M read|write */
	SK_WRITE,		/* write M BYTE */
	SK_MPROTECT,		/* mprotect M PROT */
	SK_MUNMAP,		/* munmap M */
	SK_MADVISE,		/* madvise M ADVICE */
	SK_MLOCK,		/* mlock M [onfault]: mlock2(), MLOCK_ONFAULT with onfault */
	SK_MUNLOCK,		/* munlock M */
	SK_MREMAP,		/* mremap M NEW [range]: move the range away, NEW names it */
	SK_FORK,		/* fork C [run=BLOCK] */
	SK_IN,			/* in C BLOCK */
	SK_EXIT,		/* exit C */
	/* pins and devices */
	SK_PIN,			/* pin H M rw|ro longterm|short [fast] */
	SK_GET,			/* get H M: FOLL_GET reference */
	SK_REGISTER,		/* register H M: io_uring fixed buffer */
	SK_RDMA,		/* rdma H M: an RDMA memory region */
	SK_ODP,			/* odp H M: an on-demand-paging region (no pins) */
	SK_UNPIN,		/* unpin H */
	SK_DEVICE_WRITE,	/* device-write H BYTE */
	SK_DIO_READ,		/* dio-read M BYTE: O_DIRECT read of a file of BYTEs into M */
	SK_DIO_WRITE,		/* dio-write H M: O_DIRECT write of M; H keeps what the disk got */
	SK_FORCE_WRITE,		/* force-write M BYTE: FOLL_FORCE, as /proc/self/mem */
	SK_MARK,		/* mark LABEL M: remember the frame */
	SK_COUNTERS,		/* counters: new baseline for acquired/released */
	SK_KSM_MERGE,		/* ksm-merge: KSM scans until equal mergeable pages are merged */
	/* expectations */
	SK_EXPECT_DATA,		/* expect data M BYTE */
	SK_EXPECT_DEVICE,	/* expect device H BYTE */
	SK_EXPECT_FRAME,	/* expect frame M same|new LABEL */
	SK_EXPECT_ACQUIRED,	/* expect acquired N */
	SK_EXPECT_RELEASED,	/* expect released N */
	SK_EXPECT_VMPIN,	/* expect vmpin SIZE */
	SK_EXPECT_VMLCK,	/* expect vmlck SIZE: /proc/self/status VmLck */
	SK_EXPECT_THP,		/* expect thp M yes|no */
	SK_EXPECT_SWAPPED,	/* expect swapped M yes|no */
	SK_EXPECT_KSM,		/* expect ksm M yes|no: a KSM page is mapped at M+at */
	SK__NR,
};

enum scn_map_kind { MK_ANON, MK_SHARED_ANON, MK_PRIVATE_FILE, MK_SHARED_FILE, MK_HUGETLB };
enum scn_file_kind { FK_DISK, FK_MEMFD, FK_MEMFD_HUGETLB, FK_SECRET };
enum scn_pin_flags { PF_WRITE = 1, PF_LONGTERM = 2, PF_FAST = 4 };
enum scn_advice {
	ADV_DONTNEED, ADV_HUGEPAGE, ADV_NOHUGEPAGE, ADV_DONTFORK, ADV_DOFORK,
	ADV_POPULATE_READ, ADV_POPULATE_WRITE, ADV_COLLAPSE, ADV_COLD, ADV_PAGEOUT,
	ADV_MERGEABLE, ADV_UNMERGEABLE, ADV_FREE, ADV_REMOVE, ADV_WILLNEED, ADV_NORMAL,
	ADV_RANDOM, ADV_SEQUENTIAL, ADV_GUARD_INSTALL, ADV_GUARD_REMOVE, ADV_DONTNEED_LOCKED,
};
/* prot bits, as PROT_READ / PROT_WRITE */
#define SCN_PROT_READ	1
#define SCN_PROT_WRITE	2

struct scn_step {
	enum scn_op op;
	int line, col;		/* of the verb */
	char text[96];		/* the source line, trimmed, for the table */
	int a, b, c;		/* name indexes: mapping/handle/label/child/block/file */
	unsigned long at, len;	/* range inside the mapping; len 0 = to its end */
	long num;		/* byte, count, size, prot, advice, file/map kind, flags */
	int expect_err;		/* expect=: 0 (ok) or a positive errno */
	bool has_expect;
};

struct scn_block {
	char name[SCN_NAME_LEN];
	int first, nr;		/* steps[first .. first+nr) */
};

struct scn_map {
	char name[SCN_NAME_LEN];
	enum scn_map_kind kind;
	unsigned long size, offset;
	int file;		/* index into files, or -1 */
	int prot;
	int thp;		/* 1 MADV_HUGEPAGE, -1 MADV_NOHUGEPAGE, 0 as is */
	bool gigantic;		/* hugetlb of 1 GiB pages (pagesize=1G, or its file's) */
};

struct scn_file {
	char name[SCN_NAME_LEN];
	enum scn_file_kind kind;
	unsigned long size;
	int fill;
	bool gigantic;		/* memfd-hugetlb pagesize=1G: MFD_HUGETLB|MFD_HUGE_1GB */
};

struct scenario {
	char path[256];
	char title[128];
	char skip[160];		/* skipped on every backend, with this reason */
	unsigned long mem, movable, cma;	/* the pinmm machine */
	unsigned long swap;		/* its swap area (memory), 0 for none */
	long gigantic;			/* machine gigantic=N: the 1 GiB pool; -1: counted */
	struct scn_step *steps;
	int nr_steps, cap_steps;
	int main_nr;		/* steps[0 .. main_nr) is the main block */
	struct scn_file files[SCN_MAX_NAMES];
	int nr_files;
	struct scn_map maps[SCN_MAX_NAMES];
	int nr_maps;
	char handles[SCN_MAX_NAMES][SCN_NAME_LEN];
	int nr_handles;
	char labels[SCN_MAX_NAMES][SCN_NAME_LEN];
	int nr_labels;
	char children[SCN_MAX_NAMES][SCN_NAME_LEN];
	int nr_children;
	struct scn_block blocks[SCN_MAX_NAMES];
	int nr_blocks;
};

/**
 * scn_place - where a backend maps its next scenario mapping of @len bytes
 * (@align a power of two): at rising addresses from a window of their own,
 * 2 MiB apart, never in the hole an earlier munmap left. The backend's own
 * mappings (an io_uring ring) land elsewhere, so steps on an unmapped name
 * meet the same nothing on both backends. @next is the backend's cursor,
 * 0 at first.
 */
unsigned long scn_place(unsigned long *next, unsigned long len, unsigned long align);

/**
 * scn_parse - parse the scenario text @buf (@len bytes, need not end in NUL).
 * @path: the file name used in messages.
 * @out: filled; free with scn_free() whatever the result.
 * @err, @errlen: on failure, "path:line:col: what" without a newline.
 *
 * Checks everything that can be checked before a machine exists: verbs,
 * arguments, names defined before use, sizes and ranges that fit the
 * mapping, the machine's sizes.
 * Return: 0, or -1 with @err set.
 */
int scn_parse(const char *path, const char *buf, size_t len, struct scenario *out, char *err,
	      size_t errlen);
/* scn_load - read @path and scn_parse() it. Return as scn_parse() (-1 also for I/O). */
int scn_load(const char *path, struct scenario *out, char *err, size_t errlen);
void scn_free(struct scenario *s);
const char *scn_op_name(enum scn_op op);
/* The mapping a step acts on (its index in scenario->maps), or -1. */
int scn_step_mapping(const struct scn_step *st);
bool scn_is_expectation(enum scn_op op);
const char *scn_errno_name(int err);	/* "EFAULT", or "E<n>" */

/* ---- backends ------------------------------------------------------------- */

enum scn_verdict { SV_PASS, SV_FAIL, SV_SKIP };

struct scn_result {
	enum scn_verdict verdict;
	char obs[SCN_OBS_LEN];	/* what the backend saw; compared across backends */
	char why[96];		/* a skip's reason or a failure's detail */
};

struct scn_backend {
	const char *name;
	/*
	 * Run the whole of @s, filling res[i] for every step i (main block and
	 * the blocks children run: a step a child runs twice keeps the last
	 * result). Return 0, or a negative errno for a run that could not start
	 * (res[] then untouched), with @err set.
	 */
	int (*run)(const struct scenario *s, struct scn_result *res, char *err, size_t errlen);
	/* Why this backend cannot run here at all (NULL: it can). */
	const char *(*unavailable)(void);
};

extern const struct scn_backend scn_backend_pinmm;
extern const struct scn_backend scn_backend_kernel;

/* Is mapping @i hugetlb (MAP_HUGETLB, or of a hugetlb memfd)? */
static inline bool scn_map_hugetlb(const struct scenario *s, int i)
{
	return s->maps[i].kind == MK_HUGETLB ||
	       (s->maps[i].file >= 0 && s->files[s->maps[i].file].kind == FK_MEMFD_HUGETLB);
}

/*
 * Huge pages a scenario's hugetlb mappings may need: each mapping's 2 MiB
 * pages, once for the process and once more per child (COW copies, pinned
 * pages copied at fork), plus one for an unshare or migration target.
 */
static inline unsigned long scn_hugetlb_pages(const struct scenario *s)
{
	unsigned long n = 0;

	for (int i = 0; i < s->nr_maps; i++)
		if (scn_map_hugetlb(s, i) && !s->maps[i].gigantic)
			n += (s->maps[i].size + (2UL << 20) - 1) >> 21;
	for (int i = 0; i < s->nr_files; i++)
		if (s->files[i].kind == FK_MEMFD_HUGETLB && !s->files[i].gigantic)
			n += (s->files[i].size + (2UL << 20) - 1) >> 21;
	return n ? n * (2 + (unsigned long)s->nr_children) + 1 : 0;
}

/*
 * 1 GiB pages the same, more frugally (each is a GiB of the live machine):
 * each mapping's and file's pages once, and once more per child — enough for
 * cow.c's rows (a COW copy, an unshare, a pinned page copied at fork) and
 * gup_longterm's (the file's page and a private copy of it).
 */
static inline unsigned long scn_gigantic_pages(const struct scenario *s)
{
	unsigned long n = 0;

	if (s->gigantic >= 0)
		return (unsigned long)s->gigantic;	/* machine gigantic=N says */
	for (int i = 0; i < s->nr_maps; i++)
		if (scn_map_hugetlb(s, i) && s->maps[i].gigantic && s->maps[i].file < 0)
			n += s->maps[i].size >> 30;
	for (int i = 0; i < s->nr_files; i++)
		if (s->files[i].kind == FK_MEMFD_HUGETLB && s->files[i].gigantic)
			n += s->files[i].size >> 30;
	for (int i = 0; i < s->nr_maps; i++)
		if (s->maps[i].gigantic && s->maps[i].kind == MK_PRIVATE_FILE)
			n += s->maps[i].size >> 30;	/* its COW copy */
	return n * (1 + (unsigned long)s->nr_children);
}

/* Backend helpers (run.c): set a result. */
void scn_pass(struct scn_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void scn_fail(struct scn_result *r, const char *obs, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void scn_skip(struct scn_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * scn_check_ret - judge an action's return code @err (0 or -errno) against
 * the step's expect= (default ok); @r gets "ok" or the errno name. Return
 * true if the action succeeded (the caller then records its effect).
 */
bool scn_check_ret(const struct scn_step *st, int err, struct scn_result *r);
/* Judge a byte pattern: @buf of @len bytes should all be st->num. */
void scn_check_bytes(const struct scn_step *st, const unsigned char *buf, unsigned long len,
		     struct scn_result *r);
/* The effective range of a step on mapping @m: at, and len (0 = to the end). */
unsigned long scn_len(const struct scenario *s, const struct scn_step *st, int map);

int cmd_run(int argc, char **argv);

#endif /* PINMM_SCENARIO_H */
