// SPDX-License-Identifier: MIT
/*
 * The per-thread context of sched.h, CPU ids for threads, and the
 * user-space cond_resched().
 */
#include <pinmm/sched.h>

#include <pinmm/bug.h>
#include <pthread.h>
#include <sched.h>

/* Zero-initialised: no PF_* flags, no fatal-signal word, no task, no CPU. */
__thread struct pinmm_thread_ctx pinmm_current_ctx;

/* Which ids are taken; set and cleared with CAS so threads start and exit freely. */
static atomic_ulong cpu_taken;
static atomic_int nr_cpu_ids;
static void (*_Atomic cpu_dead_cb)(int cpu);

static pthread_key_t cpu_exit_key;
static pthread_once_t cpu_exit_key_once = PTHREAD_ONCE_INIT;

_Static_assert(NR_CPUS <= 8 * sizeof(unsigned long), "cpu_taken is one word");

/* pthread key destructor: the thread exits, its CPU goes offline. */
static void cpu_thread_exit(void *unused)
{
	int cpu = pinmm_current_ctx.cpu - 1;
	void (*dead)(int) = atomic_load_explicit(&cpu_dead_cb, memory_order_acquire);

	(void)unused;
	if (cpu < 0)
		return;
	if (dead)
		dead(cpu);	/* the id stays ours while its state is emptied */
	pinmm_current_ctx.cpu = 0;
	/* release: the next owner of the id sees the emptied state */
	atomic_fetch_and_explicit(&cpu_taken, ~(1UL << cpu), memory_order_release);
}

static void cpu_make_exit_key(void)
{
	BUG_ON(pthread_key_create(&cpu_exit_key, cpu_thread_exit));
}

int __pinmm_cpu_register(void)
{
	unsigned long taken = atomic_load_explicit(&cpu_taken, memory_order_relaxed);
	int cpu, nr;

	do {
		if (!~taken)
			return -1;
		cpu = __builtin_ctzl(~taken);
	} while (!atomic_compare_exchange_weak_explicit(&cpu_taken, &taken, taken | (1UL << cpu),
							memory_order_acquire,
							memory_order_relaxed));
	pthread_once(&cpu_exit_key_once, cpu_make_exit_key);
	/* any non-NULL value makes the destructor run */
	BUG_ON(pthread_setspecific(cpu_exit_key, &pinmm_current_ctx));
	nr = atomic_load_explicit(&nr_cpu_ids, memory_order_relaxed);
	while (nr <= cpu && !atomic_compare_exchange_weak_explicit(&nr_cpu_ids, &nr, cpu + 1,
								   memory_order_release,
								   memory_order_relaxed))
		;
	pinmm_current_ctx.cpu = cpu + 1;
	return cpu;
}

int pinmm_nr_cpu_ids(void)
{
	return atomic_load_explicit(&nr_cpu_ids, memory_order_acquire);
}

void pinmm_cpuhp_set_dead(void (*dead)(int cpu))
{
	atomic_store_explicit(&cpu_dead_cb, dead, memory_order_release);
}

void cond_resched(void)
{
	sched_yield();
}
