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

int cmd_demo(struct tool_opts *o, int argc, char **argv);
int cmd_vmstat(struct tool_opts *o, int argc, char **argv);
int cmd_bench(struct tool_opts *o, int argc, char **argv);

struct task_struct;
/* demo chapter 4 (demo_files.c): files, writeback and pins */
int chapter_files(struct tool_opts *o, struct task_struct *task);

#endif
