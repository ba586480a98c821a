// SPDX-License-Identifier: MIT
/*
 * Pins groups: a limit on long-term pins per group of tasks (beyond Linux;
 * the pins cgroup of the 2023 RFC, pins.max and pins.current in pages, was
 * never merged). See <pinmm/pin_owner.h> for the contract.
 *
 * The charge is taken by the pin call once it knows how much it pinned
 * (pin_owner.c: pin_call_end_*) and is stored with the call's owner record,
 * which holds a reference on the group: unpins uncharge the record's group,
 * whoever releases them and whether or not the pinning task still exists.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pinmm/list.h>
#include <pinmm/pin_owner.h>
#include <pinmm/race.h>

struct pinmm_pins_group {
	atomic_long charged;		/* (a) pins.current, pages */
	atomic_long max;		/* (a) pins.max, -1 unlimited */
	atomic_long failcnt;		/* (a) refused calls */
	atomic_int refs;		/* (a) creator, tasks, charged owner records */
	atomic_int tasks;		/* (a) */
	char name[32];			/* (c) */
	struct list_head list;		/* (g) */
};

static spinlock_t groups_lock = __SPIN_LOCK_UNLOCKED(LOCK_RANK_LEAF);	/* (g) */
static LIST_HEAD(groups);

struct pinmm_pins_group *pinmm_pins_group_create(const char *name, long max)
{
	struct pinmm_pins_group *g;
	int err;

	if (max < PINMM_PINS_MAX_UNLIMITED)
		return ERR_PTR(-EINVAL);
	/* the charge lives in the owner records: they must be on */
	err = pinmm_pin_owner_enable(true);
	if (err)
		return ERR_PTR(err);
	g = calloc(1, sizeof(*g));
	if (!g)
		return ERR_PTR(-ENOMEM);
	atomic_init(&g->charged, 0);
	atomic_init(&g->max, max);
	atomic_init(&g->failcnt, 0);
	atomic_init(&g->refs, 1);
	atomic_init(&g->tasks, 0);
	snprintf(g->name, sizeof(g->name), "%s", name ? name : "");
	spin_lock(&groups_lock);
	list_add_tail(&g->list, &groups);
	spin_unlock(&groups_lock);
	return g;
}

struct pinmm_pins_group *pins_group_get(struct pinmm_pins_group *g)
{
	if (g)
		atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

void pinmm_pins_group_put(struct pinmm_pins_group *g)
{
	if (!g || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	spin_lock(&groups_lock);
	list_del(&g->list);
	spin_unlock(&groups_lock);
	free(g);
}

bool pins_group_any(void)
{
	bool any;

	spin_lock(&groups_lock);
	any = !list_empty(&groups);
	spin_unlock(&groups_lock);
	return any;
}

int pinmm_pins_group_attach(struct task_struct *t, struct pinmm_pins_group *g)
{
	struct pinmm_pins_group *old = t->pins_group;

	if (g == old)
		return 0;
	if (g) {
		pins_group_get(g);
		atomic_fetch_add_explicit(&g->tasks, 1, memory_order_relaxed);
	}
	t->pins_group = g;
	if (old) {
		atomic_fetch_sub_explicit(&old->tasks, 1, memory_order_relaxed);
		pinmm_pins_group_put(old);
	}
	return 0;
}

struct pinmm_pins_group *pinmm_pins_group_of(struct task_struct *t)
{
	return t ? t->pins_group : NULL;
}

/* fork: the child starts in its parent's group. */
void pins_group_task_inherit(struct task_struct *child, struct task_struct *parent)
{
	child->pins_group = NULL;
	if (parent && parent->pins_group)
		pinmm_pins_group_attach(child, parent->pins_group);
}

/* exit: the task leaves; its pins stay charged until they are released. */
void pins_group_task_exit(struct task_struct *t)
{
	pinmm_pins_group_attach(t, NULL);
}

int pinmm_pins_group_set_max(struct pinmm_pins_group *g, long max)
{
	if (max < PINMM_PINS_MAX_UNLIMITED)
		return -EINVAL;
	atomic_store_explicit(&g->max, max, memory_order_relaxed);
	return 0;
}

long pinmm_pins_group_current(const struct pinmm_pins_group *g)
{
	return atomic_load_explicit(&((struct pinmm_pins_group *)g)->charged,
				    memory_order_relaxed);
}

long pinmm_pins_group_max(const struct pinmm_pins_group *g)
{
	return atomic_load_explicit(&((struct pinmm_pins_group *)g)->max, memory_order_relaxed);
}

long pinmm_pins_group_failcnt(const struct pinmm_pins_group *g)
{
	return atomic_load_explicit(&((struct pinmm_pins_group *)g)->failcnt,
				    memory_order_relaxed);
}

int pinmm_pins_group_tasks(const struct pinmm_pins_group *g)
{
	return atomic_load_explicit(&((struct pinmm_pins_group *)g)->tasks, memory_order_relaxed);
}

int pins_group_try_charge(struct pinmm_pins_group *g, long pages)
{
	long cur = atomic_load_explicit(&g->charged, memory_order_relaxed);

	/* compare-and-swap: concurrent chargers never pass max together */
	do {
		long max = atomic_load_explicit(&g->max, memory_order_relaxed);

		if (max != PINMM_PINS_MAX_UNLIMITED && cur + pages > max) {
			atomic_fetch_add_explicit(&g->failcnt, 1, memory_order_relaxed);
			return -ENOMEM;
		}
		pinmm_race_point(PINMM_RACE_PINS_CHARGE, (unsigned long)pages);
	} while (!atomic_compare_exchange_weak_explicit(&g->charged, &cur, cur + pages,
							memory_order_relaxed,
							memory_order_relaxed));
	return 0;
}

void pins_group_uncharge(struct pinmm_pins_group *g, long pages)
{
	long old = atomic_fetch_sub_explicit(&g->charged, pages, memory_order_relaxed);

	WARN_ON_ONCE(old < pages);
}

void pins_group_show(FILE *out)
{
	struct pinmm_pins_group *g;

	spin_lock(&groups_lock);
	if (!list_empty(&groups))
		fprintf(out, "pins groups:\n");
	list_for_each_entry(g, &groups, list) {
		long max = pinmm_pins_group_max(g);

		fprintf(out, "  %-16s pins.current %ld pins.max ", g->name[0] ? g->name : "-",
			pinmm_pins_group_current(g));
		if (max == PINMM_PINS_MAX_UNLIMITED)
			fprintf(out, "max");
		else
			fprintf(out, "%ld", max);
		fprintf(out, " tasks %d refused %ld\n", pinmm_pins_group_tasks(g),
			pinmm_pins_group_failcnt(g));
	}
	spin_unlock(&groups_lock);
}
