// SPDX-License-Identifier: MIT
/* The per-thread context of sched.h and the user-space cond_resched(). */
#include <pinmm/sched.h>

#include <sched.h>

/* Zero-initialised: no PF_* flags, no fatal-signal word, no task. */
__thread struct pinmm_thread_ctx pinmm_current_ctx;

void cond_resched(void)
{
	sched_yield();
}
