// SPDX-License-Identifier: MIT
/*
 * The per-thread context: memalloc_pin_save()/restore() scoping and the
 * fatal-signal word.
 * PINMM_TEST_CONCURRENT: a new thread must start with a context of its own.
 */
#include "helpers.h"

#include <pinmm/sched.h>

static atomic_int other_flags = -1;
static atomic_int other_sig = -1;

static void *look_at_ctx(void *arg)
{
	(void)arg;
	atomic_store(&other_flags, (int)pinmm_current_ctx.flags);
	atomic_store(&other_sig, fatal_signal_pending_current());
	return NULL;
}

int main(void)
{
	atomic_int sig = 0;
	unsigned int outer, inner;

	plan(9);

	is_uint(pinmm_current_ctx.flags, 0, "sched: a thread starts with no PF_* flags");
	ok(!fatal_signal_pending_current(), "sched: no signal word means no fatal signal");
	pinmm_current_ctx.sigpending = &sig;
	ok(!fatal_signal_pending_current(), "sched: a zero signal word means no fatal signal");
	atomic_store(&sig, 1);
	ok(fatal_signal_pending_current(), "sched: a non-zero signal word is a fatal signal");

	outer = memalloc_pin_save();
	ok(pinmm_current_ctx.flags & PF_MEMALLOC_PIN, "sched: memalloc_pin_save() sets PF_MEMALLOC_PIN");
	inner = memalloc_pin_save();
	memalloc_pin_restore(inner);
	ok(pinmm_current_ctx.flags & PF_MEMALLOC_PIN,
	   "sched: restoring an inner scope keeps the outer PF_MEMALLOC_PIN (scopes nest)");
	memalloc_pin_restore(outer);
	is_uint(pinmm_current_ctx.flags, 0, "sched: restoring the outer scope clears PF_MEMALLOC_PIN");

	(void)memalloc_pin_save();
	join_thread(start_thread(look_at_ctx, NULL));
	ok(atomic_load(&other_flags) == 0 && atomic_load(&other_sig) == 0,
	   "sched: another thread does not see this thread's flags or signal (thread-local context)");
	pinmm_current_ctx.flags = 0;
	pinmm_current_ctx.sigpending = NULL;

	cond_resched();
	ok(true, "sched: cond_resched() returns");
	return done_testing();
}
