/* SPDX-License-Identifier: MIT */
/* The pinmm command: shared pieces of its subcommands. */
#ifndef PINMM_TOOL_H
#define PINMM_TOOL_H

#include <pinmm/gup_test.h>
#include <pinmm/machine.h>
#include <stdio.h>

struct tool_opts {
	struct pinmm_config cfg;
	bool quiet;
};

/* The demo's narration, and its checks: a failed one ends the demo with a message. */
#define say(o, ...) do { if (!(o)->quiet) printf(__VA_ARGS__); } while (0)
#define CHECK(o, cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("pinmm demo: FAILED: " __VA_ARGS__);	\
			printf("\n");					\
			return 1;					\
		}							\
	} while (0)

/* gup_test's options (pinmm bench); the commands are the driver's (pinmm/gup_test.h) */
struct bench_opts {
	unsigned int cmd;		/* GUP_FAST_BENCHMARK, ... DUMP_USER_PAGES_TEST */
	unsigned long size;		/* bytes */
	long nr_pages_per_call;		/* -1: all; 0: none (Linux pins nothing) */
	int repeats;
	int threads;
	bool write;
	bool thp, nothp, shared, hugetlb;
	bool gigantic;			/* --hugetlb-1g: hugetlb in 1 GiB pages */
	unsigned int gup_flags;		/* -F */
	unsigned int test_flags;	/* -p: GUP_TEST_FLAG_DUMP_PAGES_USE_PIN */
	unsigned int which_pages[GUP_TEST_MAX_PAGES_TO_DUMP];	/* -c: 1-based */
	bool kernel;
};

/* ---- args.c: the argument parsers (also driven by tests/fuzz/cli_args.c) ---- */

/**
 * tool_parse_args - the machine options before the command.
 * @o: filled with the defaults, then the options.
 * @argc, @argv: main()'s.
 *
 * Return: the index in @argv of the command (>= 1); TOOL_ARGS_HELP after
 * printing --help; TOOL_ARGS_BAD after printing why and the usage on stderr.
 */
int tool_parse_args(struct tool_opts *o, int argc, char **argv);

/*
 * Boot the machine @o describes. A geometry pinmm_boot() would refuse is
 * reported on stderr, prefixed by @who, with the rule it breaks.
 * Return: 0 (the caller shuts down) or a negative errno, already reported.
 */
int tool_boot(const struct tool_opts *o, const char *who);
#define TOOL_ARGS_HELP	(-1)
#define TOOL_ARGS_BAD	(-2)

/**
 * bench_parse_opts - gup_test's options for pinmm bench.
 * @o: filled with the defaults, then the options.
 * @argc, @argv: from the "bench" word on.
 *
 * Numbers must be whole and in range (sizes up to the largest machine,
 * threads up to BENCH_MAX_THREADS): anything else is an error, not a wrap.
 * Return: 0; 1 after printing --help; -1 after printing the usage on stderr.
 */
int bench_parse_opts(struct bench_opts *o, int argc, char **argv);
#define BENCH_MAX_THREADS	256

/* pinmm map's options */
struct map_opts {
	const char *out_file;	/* -o; NULL: standard output */
	bool frames;		/* --frames: a cell per frame, not per pageblock */
	bool text;		/* --text: characters, not SVG */
	bool example;		/* --example: draw a machine with pins in it */
};

/**
 * map_parse_opts - pinmm map's options.
 * @o: filled with the defaults, then the options.
 * @argc, @argv: from the "map" word on.
 * Return: 0; 1 after printing --help; -1 after printing the usage on stderr.
 */
int map_parse_opts(struct map_opts *o, int argc, char **argv);

/* ---- map.c: the picture (also linked by tests/tools/map_svg.c) ---- */

/**
 * map_draw - draw the booted machine's memory on @out.
 * @mo: frames/text choose the picture; the other fields are not used.
 * @title: the picture's title.
 *
 * Context: a booted machine, outside any RCU read-side section: pending RCU
 * frees are waited for (rcu_barrier()), then frames are read a pageblock at a
 * time under the zone lock (pinmm_frame_states()).
 * Return: 0; -EINVAL without a machine; -ENOMEM; -EIO if @out failed.
 */
int map_draw(FILE *out, const struct map_opts *mo, const char *title);
/* map_draw() into a new file at @path. Return: 0 or -errno. */
int map_draw_file(const char *path, const struct map_opts *mo, const char *title);
/* mkdir -p for one level: 0 if @dir is (now) a directory, or -errno. */
int map_make_dir(const char *dir);

int cmd_map(struct tool_opts *o, int argc, char **argv);
int cmd_demo(struct tool_opts *o, int argc, char **argv);
int cmd_vmstat(struct tool_opts *o, int argc, char **argv);
int cmd_bench(struct tool_opts *o, int argc, char **argv);
/* pins.c: outstanding pins by call site, and the pins groups */
int cmd_pins(struct tool_opts *o, int argc, char **argv);

struct task_struct;
/* demo chapter 4 (demo_files.c): files, writeback and pins */
int chapter_files(struct tool_opts *o, struct task_struct *task);

/* pinmm demo --map DIR: the directory for its pictures, NULL for none */
extern const char *demo_map_dir;
/* Draw the machine now as DIR/@name.svg (nothing without --map). Return: 0 or -errno. */
int demo_map(struct tool_opts *o, const char *name, const char *title);

#endif
