/* SPDX-License-Identifier: MIT */
/*
 * Pin owners and pin groups (beyond Linux; docs/pin-owners.md).
 *
 * Pin owners: every FOLL_PIN pin records the call site that took it
 * (file:line and function, captured by the macros of <pinmm/gup.h>), the task
 * and when, so outstanding pins can be listed by call site
 * (pinmm_pins_show(), `pinmm pins`) and a leak at mm exit or at shutdown names
 * who pinned, not only who allocated. Android's out-of-tree page_pinner is
 * the nearest kernel relative; Linux itself keeps no owner per pin.
 *
 * Pin groups: a group of tasks with a limit on long-term pins, in pages
 * (pins.max / pins.current, the interface of the pins cgroup posted as an
 * RFC and never merged). Every FOLL_LONGTERM pin (memfd_pin_folios() too) is
 * charged to the pinning task's group; over the limit the call fails with
 * -ENOMEM and leaves nothing pinned. The charge is kept with the pin's owner
 * record, so the unpin uncharges the right group even after the task exited.
 * Children inherit the group at fork.
 *
 * Synchronisation: the listing and the group calls may run concurrently with
 * pins and unpins; pinmm_pin_owner_enable() may not (see there).
 */
#ifndef PINMM_PIN_OWNER_H
#define PINMM_PIN_OWNER_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct task_struct;

/* Where a pin was taken: one static descriptor per call site. */
struct pin_site {
	const char *file;
	const char *func;
	int line;
};

/* A static descriptor of the line it appears on (a GNU statement expression). */
#define PINMM_PIN_SITE ({						\
	static const struct pin_site __pin_site = { __FILE__, __func__, __LINE__ }; \
	&__pin_site;							\
})

/**
 * pinmm_pin_owner_enable - switch pin owner records on or off.
 * @on: true to record an owner for every pin from now on.
 *
 * On by default; the environment variable PINMM_PIN_OWNER=0 turns it off at
 * each boot. Off costs nothing per page; on costs a 4-byte store per folio
 * pinned and a load per folio unpinned (figures in docs/pin-owners.md).
 * Before boot this sets what the next boot starts with.
 *
 * Context: no pin or unpin may run concurrently (a pin taken untracked cannot
 * be told from a tracked one at its unpin).
 * Return: 0; -EBUSY when pins are outstanding (the switch would split them
 * into tracked and untracked) or, to switch off, while a pins group exists
 * (groups keep their charges in the owner records).
 */
int pinmm_pin_owner_enable(bool on);
bool pinmm_pin_owner_enabled(void);

/* One call site's outstanding pins, as pinmm_pins_sites() reports them. */
struct pinmm_pin_site_info {
	const struct pin_site *site;
	long pins;			/* pins outstanding (pages; one per folio for memfd) */
	long calls;			/* calls whose pins are not all released */
	int tasks;			/* distinct tasks among those calls */
	long longterm;			/* of the pins, FOLL_LONGTERM ones */
	long migrated;			/* long-term pins of calls that had to migrate
					   out of ZONE_MOVABLE / CMA first */
	long charged;			/* pages charged to pins groups */
	unsigned long held_ns;		/* age of the oldest call still holding pins */
	bool mm_exited;			/* some pins outlived the address space */
	pid_t pid;			/* the task of the oldest call */
	char comm[16];
};

/**
 * pinmm_pins_sites - outstanding pins grouped by call site, longest held first.
 * @out: filled with up to @max sites.
 * @max: room in @out.
 *
 * Context: any; takes no lock: pins and unpins go on meanwhile, and each
 * call's record is copied whole or not at all (the figures are a snapshot).
 * Allocates; out of memory, lists what it could copy.
 * Return: the number of sites with pins outstanding (may exceed @max).
 */
int pinmm_pins_sites(struct pinmm_pin_site_info *out, int max);

/**
 * pinmm_pins_show - print pinmm_pins_sites() and the pins groups to @out.
 * Context: as pinmm_pins_sites(). Prints that records are off if they are.
 */
void pinmm_pins_show(FILE *out);

/* ---- pins groups ------------------------------------------------------------ */

struct pinmm_pins_group;

#define PINMM_PINS_MAX_UNLIMITED	(-1L)

/**
 * pinmm_pins_group_create - a new group with limit @max pages.
 * @name: shown in pinmm_pins_show() (copied; up to 31 characters).
 * @max: pins.max in pages, or PINMM_PINS_MAX_UNLIMITED.
 *
 * Switches owner records on if they are off (a group needs them).
 * Return: the group, holding one reference for the caller
 * (pinmm_pins_group_put()); ERR_PTR(-EBUSY) if records are off and cannot be
 * switched on (pins outstanding), ERR_PTR(-EINVAL) for @max < -1,
 * ERR_PTR(-ENOMEM).
 */
struct pinmm_pins_group *pinmm_pins_group_create(const char *name, long max);

/* Drop a reference; the group lives while a task, a charge or a caller holds one. */
void pinmm_pins_group_put(struct pinmm_pins_group *g);

/**
 * pinmm_pins_group_attach - move task @t into group @g (NULL: no group).
 *
 * Pins @t already holds stay charged where they are; new long-term pins of
 * @t are charged to @g. Children of @t created after this inherit @g.
 * Context: @t is current or not running. Return: 0.
 */
int pinmm_pins_group_attach(struct task_struct *t, struct pinmm_pins_group *g);

/* The group @t belongs to (no reference taken), or NULL. */
struct pinmm_pins_group *pinmm_pins_group_of(struct task_struct *t);

/**
 * pinmm_pins_group_set_max - change pins.max.
 * Pins above a lowered limit stay; new ones fail until enough are released.
 * Return: 0, -EINVAL for @max < -1.
 */
int pinmm_pins_group_set_max(struct pinmm_pins_group *g, long max);

/* pins.current: pages charged now. pins.max: the limit (-1 unlimited). */
long pinmm_pins_group_current(const struct pinmm_pins_group *g);
long pinmm_pins_group_max(const struct pinmm_pins_group *g);
/* How many pin calls the limit refused (pins.events max, as a counter). */
long pinmm_pins_group_failcnt(const struct pinmm_pins_group *g);

/* Tasks in the group (attached or inherited, not yet exited). */
int pinmm_pins_group_tasks(const struct pinmm_pins_group *g);

/* ---- for the task and address-space code (src/mm) --------------------------- */

/* fork: @child joins @parent's group. exit: @t leaves its group. */
void pins_group_task_inherit(struct task_struct *child, struct task_struct *parent);
void pins_group_task_exit(struct task_struct *t);
struct mm_struct;
/* @mm's last user is gone: report the pins its tasks still hold, by call site. */
void pin_owner_mm_exit(struct mm_struct *mm);

#endif /* PINMM_PIN_OWNER_H */
