/* SPDX-License-Identifier: MIT */
/* The pinmm command: shared pieces of its subcommands. */
#ifndef PINMM_TOOL_H
#define PINMM_TOOL_H

#include <pinmm/machine.h>

struct tool_opts {
	struct pinmm_config cfg;
	bool quiet;
};

int cmd_demo(struct tool_opts *o, int argc, char **argv);
int cmd_vmstat(struct tool_opts *o, int argc, char **argv);
int cmd_bench(struct tool_opts *o, int argc, char **argv);

struct task_struct;
/* demo chapter 4 (demo_files.c): files, writeback and pins */
int chapter_files(struct tool_opts *o, struct task_struct *task);

#endif
