/* SPDX-License-Identifier: MIT */
/*
 * The sweep of tests/fault/ (SQLite's fault sweeps on Linux's fail_nth
 * sites): fail the 1st attempt at a site, then the 2nd, ..., until the
 * operation gets through without reaching the armed one; after each failure
 * check Linux's errno, the process and the counters, and that a retry
 * succeeds. Each test file includes it once.
 */
#ifndef PINMM_TESTS_FAULT_SWEEP_H
#define PINMM_TESTS_FAULT_SWEEP_H

#include "../gup/helpers.h"

#include <pinmm/fault-inject.h>

#define SWEEP_MAX	4000
static struct task_struct *proc;

/* One operation under a sweep. */
struct sweep_op {
	const char *name;
	void (*prepare)(void);		/* the state every attempt starts from */
	long (*run)(void);		/* >= 0: done (or how many pages); < 0: -errno */
	void (*undo)(long ret);		/* release what a (partly) successful run took */
	bool (*intact)(void);		/* after a failure: is the prepared state untouched? */
	long other_errno;		/* Linux's own answer for a partial pin, if not -ENOMEM */
};

static bool sweep_errno_ok(const struct sweep_op *op, long ret)
{
	return ret >= 0 || ret == -ENOMEM || (op->other_errno && ret == op->other_errno);
}

/*
 * Sweep @site over @op. Return the number of injected failures, and report
 * each rule once for the whole sweep.
 */
static unsigned long sweep(const struct sweep_op *op, enum pinmm_fail_site site)
{
	unsigned long n, hits = 0, bad_errno = 0, changed = 0, unbalanced = 0, no_retry = 0;
	unsigned long warns = pinmm_warn_count();
	const char *where = pinmm_fail_site_name(site);
	bool done = false;

	for (n = 1; n <= SWEEP_MAX && !done; n++) {
		unsigned long f0 = pinmm_fail_failures(site);
		long acq, rel, ret, pinned_vm;
		unsigned long locked_vm;

		op->prepare();
		acq = gt_acq();
		rel = gt_rel();
		pinned_vm = atomic64_read(&proc->mm->pinned_vm);
		locked_vm = proc->mm->locked_vm;
		pinmm_fail_nth(site, n, 0);
		ret = op->run();
		pinmm_fail_nth(site, 0, 0);
		if (pinmm_fail_failures(site) == f0) {
			/* never reached the nth attempt: this is the end of the sweep */
			done = true;
			if (ret < 0)
				no_retry++;
			op->undo(ret);
			continue;
		}
		hits++;
		if (!sweep_errno_ok(op, ret) && bad_errno++ == 0)
			diag("%s [%s]: failing attempt %lu returned %ld", op->name, where, n, ret);
		op->undo(ret);
		if (op->intact && !op->intact())
			changed++;
		if (gt_acq() - acq != gt_rel() - rel || atomic64_read(&proc->mm->pinned_vm) != pinned_vm ||
		    proc->mm->locked_vm != locked_vm)
			unbalanced++;
		/* the same again, without injection */
		op->prepare();
		ret = op->run();
		if (ret < 0)
			no_retry++;
		op->undo(ret);
	}
	ok(done, "%s [%s]: the sweep ends: %lu injected failure(s), then the operation "
	   "does not reach the next attempt", op->name, where, hits);
	is_uint(bad_errno, 0, "%s [%s]: every failure is -ENOMEM (or a partial count)",
		op->name, where);
	is_uint(changed, 0, "%s [%s]: after every failure the process is as it was",
		op->name, where);
	is_uint(unbalanced, 0, "%s [%s]: after every failure the pins are balanced and "
		"pinned_vm/locked_vm are back", op->name, where);
	is_uint(no_retry, 0, "%s [%s]: after every failure the operation succeeds when retried",
		op->name, where);
	is_uint(pinmm_warn_count() - warns, 0, "%s [%s]: no WARN", op->name, where);
	return hits;
}

#endif /* PINMM_TESTS_FAULT_SWEEP_H */
