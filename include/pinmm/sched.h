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
	int cpu;			/* this thread's CPU id + 1; 0: not a CPU yet */
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

/*
 * CPUs. Threads are CPUs: a thread becomes one the first time it needs a CPU
 * id (it allocates a page or counts an event) and stops being one when it
 * exits, when the CPU-dead callback (Linux's CPUHP_PAGE_ALLOC_DEAD: drain
 * the per-CPU page lists, fold the per-CPU counters) runs on its id before
 * the id is given to another thread. Ids are below NR_CPUS; a thread that
 * finds all of them taken gets -1 and uses the shared, non-per-CPU paths.
 */
#define NR_CPUS			64

int __pinmm_cpu_register(void);

/**
 * smp_processor_id() - the calling thread's CPU id.
 *
 * Stable for the thread's life (a thread never migrates between CPUs here,
 * so no preempt_disable() is needed around per-CPU data).
 * Context: any thread.
 * Return: an id in [0, NR_CPUS), or -1 when NR_CPUS threads are CPUs already.
 */
static inline int smp_processor_id(void)
{
	int cpu = pinmm_current_ctx.cpu;

	return likely(cpu) ? cpu - 1 : __pinmm_cpu_register();
}

/**
 * pinmm_nr_cpu_ids() - one above the highest CPU id ever handed out.
 *
 * Walks over every CPU's data (drain_all_pages(), counter sums) stop here.
 * Context: any. Acquire: the data of a CPU below the result is initialised.
 */
int pinmm_nr_cpu_ids(void);

/**
 * pinmm_cpuhp_set_dead() - install the callback run for a CPU going away.
 * @dead: called on the exiting thread with its CPU id still valid; it must
 *	  leave no per-CPU state behind (pages on lists, counter diffs).
 *
 * Context: boot (src/mem); one callback, replaced by the next call.
 */
void pinmm_cpuhp_set_dead(void (*dead)(int cpu));

/**
 * cond_resched() - give up the CPU to other runnable threads.
 *
 * Long loops call it between items, as in Linux; here it is sched_yield().
 * Context: may sleep; must not be called holding a spinlock.
 */
void cond_resched(void);

#endif /* PINMM_SCHED_H */
