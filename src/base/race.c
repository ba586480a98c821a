// SPDX-License-Identifier: MIT
/*
 * Race points (include/pinmm/race.h): one hook per point, armed by tests.
 */
#include <pinmm/race.h>

static const char *const race_names[PINMM_RACE_NR] = {
	[PINMM_RACE_GUP_FAST_READ] = "gup_fast_read",
	[PINMM_RACE_GUP_FAST_GRABBED] = "gup_fast_grabbed",
	[PINMM_RACE_GUP_FAST_SEQ_RETRY] = "gup_fast_seq_retry",
	[PINMM_RACE_FORK_SHARE] = "fork_share",
	[PINMM_RACE_MIGRATE_FROZEN] = "migrate_frozen",
	[PINMM_RACE_PINS_CHARGE] = "pins_charge",
	[PINMM_RACE_COLLAPSE_SCANNED] = "collapse_scanned",
	[PINMM_RACE_THP_SPLIT_PMD] = "thp_split_pmd",
	[PINMM_RACE_THP_SPLIT_FOLIO] = "thp_split_folio",
	[PINMM_RACE_THP_SPLIT_CHECKED] = "thp_split_checked",
	[PINMM_RACE_PT_FREE] = "pt_free",
	[PINMM_RACE_HUGE_WP_FAULT] = "huge_wp_fault",
	[PINMM_RACE_HUGE_WP_REUSE] = "huge_wp_reuse",
	[PINMM_RACE_WP_REUSE] = "wp_reuse",
	[PINMM_RACE_KSM_WRPROTECT] = "ksm_wrprotect",
	[PINMM_RACE_KSM_GET_FOLIO] = "ksm_get_folio",
	[PINMM_RACE_SWAPIN_HELD] = "swapin_held",
	[PINMM_RACE_RECLAIM_UNMAP] = "reclaim_unmap",
};

const char *pinmm_race_name(enum pinmm_race point)
{
	return (unsigned int)point < PINMM_RACE_NR ? race_names[point] : "?";
}

#ifdef CONFIG_DEBUG_VM
atomic_uint pinmm_races_armed;

static struct {
	_Atomic(pinmm_race_fn) fn;
	_Atomic(void *) arg;
} races[PINMM_RACE_NR];

void __pinmm_race_point(enum pinmm_race point, unsigned long addr)
{
	pinmm_race_fn fn = atomic_load_explicit(&races[point].fn, memory_order_acquire);

	if (fn)
		fn(point, addr, atomic_load_explicit(&races[point].arg, memory_order_relaxed));
}

int pinmm_race_arm(enum pinmm_race point, pinmm_race_fn fn, void *arg)
{
	if ((unsigned int)point >= PINMM_RACE_NR || !fn)
		return -EINVAL;
	atomic_store_explicit(&races[point].arg, arg, memory_order_relaxed);
	/* the hook is published with its argument; the armed bit after both */
	atomic_store_explicit(&races[point].fn, fn, memory_order_release);
	atomic_fetch_or_explicit(&pinmm_races_armed, 1U << point, memory_order_release);
	return 0;
}

void pinmm_race_disarm(enum pinmm_race point)
{
	if ((unsigned int)point >= PINMM_RACE_NR)
		return;
	atomic_fetch_and_explicit(&pinmm_races_armed, ~(1U << point), memory_order_relaxed);
	atomic_store_explicit(&races[point].fn, NULL, memory_order_release);
}
#endif
