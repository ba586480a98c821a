/* SPDX-License-Identifier: MIT */
/*
 * Per-thread context: what Linux keeps in current->flags and the signal state
 * that the allocator and the killable waits consult. The task layer (src/mm)
 * attaches a task to this; until then every thread has a private context.
 */
#ifndef PINMM_SCHED_H
#define PINMM_SCHED_H

#include <pinmm/compiler.h>

/* current->flags bits that change how memory is allocated */
#define PF_MEMALLOC_PIN		0x10000000u	/* no ZONE_MOVABLE, no CMA */
#define PF_MEMALLOC_NOIO	0x00080000u

struct pinmm_thread_ctx {
	unsigned int flags;		/* PF_* for this thread */
	atomic_int *sigpending;		/* the task's "fatal signal" word, or NULL */
	void *task;			/* struct task_struct * once src/mm sets it */
};

extern __thread struct pinmm_thread_ctx pinmm_current_ctx;

/*
 * A fatal signal is pending for the current task (killable waits give up).
 * Relaxed: the word is a request to stop, it publishes no data.
 */
static inline bool fatal_signal_pending_current(void)
{
	atomic_int *p = pinmm_current_ctx.sigpending;

	return p && atomic_load_explicit(p, memory_order_relaxed) != 0;
}

/*
 * memalloc_pin_save() - allocate only long-term pinnable memory until restore.
 * Scoped like Linux's: nests, and restore puts back exactly what save found.
 */
static inline unsigned int memalloc_pin_save(void)
{
	unsigned int old = pinmm_current_ctx.flags & PF_MEMALLOC_PIN;

	pinmm_current_ctx.flags |= PF_MEMALLOC_PIN;
	return old;
}

static inline void memalloc_pin_restore(unsigned int old)
{
	pinmm_current_ctx.flags = (pinmm_current_ctx.flags & ~PF_MEMALLOC_PIN) | old;
}

/**
 * cond_resched() - give up the CPU to other runnable threads.
 *
 * Long loops call it between items, as in Linux; here it is sched_yield().
 * Context: may sleep; must not be called holding a spinlock.
 */
void cond_resched(void);

#endif /* PINMM_SCHED_H */
