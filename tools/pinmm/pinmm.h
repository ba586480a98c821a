/* SPDX-License-Identifier: MIT */
/* The pinmm command: shared pieces of its subcommands. */
#ifndef PINMM_TOOL_H
#define PINMM_TOOL_H

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

/* gup_test's commands and options (pinmm bench) */
enum gup_cmd {
	GUP_FAST_BENCHMARK = 1,
	PIN_FAST_BENCHMARK,
	PIN_LONGTERM_BENCHMARK,
	GUP_BASIC_TEST,
	PIN_BASIC_TEST,
};

struct bench_opts {
	enum gup_cmd cmd;
	unsigned long size;		/* bytes */
	long nr_pages_per_call;		/* -1: all */
	int repeats;
	int threads;
	bool write;
	bool thp, nothp, shared, hugetlb;
	unsigned int gup_flags;		/* -F */
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

int cmd_demo(struct tool_opts *o, int argc, char **argv);
int cmd_vmstat(struct tool_opts *o, int argc, char **argv);
int cmd_bench(struct tool_opts *o, int argc, char **argv);

struct task_struct;
/* demo chapter 4 (demo_files.c): files, writeback and pins */
int chapter_files(struct tool_opts *o, struct task_struct *task);

#endif
