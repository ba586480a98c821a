// SPDX-License-Identifier: MIT
/*
 * Regression: folio_add_pins() passed a huge pin count to try_grab_folio(),
 * whose refs * GUP_PIN_COUNTING_BIAS overflowed: it "succeeded" without
 * raising the refcount, and the caller's later unpins freed a folio a device
 * still used. Rule: R-OVF — a grab never wraps; it fails with -ENOMEM.
 */
#include "../lib/machine.h"

#include <errno.h>
#include <pinmm/gup.h>
#include <pinmm/vmstat.h>

int main(void)
{
	struct folio *folio;
	long acq;
	int ref;

	test_boot(64, 16, 8);
	folio = page_folio(alloc_page(GFP_KERNEL));
	folio_ref_add(folio, GUP_PIN_COUNTING_BIAS);	/* as if pinned once */
	mod_node_page_state(NR_FOLL_PIN_ACQUIRED, 1);
	ref = folio_ref_count(folio);
	acq = global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
	is_int(folio_add_pins(folio, 1U << 22), -ENOMEM,
	       "R-OVF: folio_add_pins() of 4M pins on a small folio fails (-ENOMEM), never wraps");
	is_int(folio_ref_count(folio), ref, "R-OVF: the refcount is unchanged");
	is_int(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED), acq, "R-OVF: nr_foll_pin_acquired "
	       "is unchanged");
	is_int(folio_add_pins(folio, 3), 0, "a sane folio_add_pins() still works");
	is_int(folio_ref_count(folio), ref + 3 * (int)GUP_PIN_COUNTING_BIAS,
	       "R-CNT: three more pins add 3 x GUP_PIN_COUNTING_BIAS");
	for (int i = 0; i < 4; i++)
		unpin_folio(folio);
	is_int(folio_ref_count(folio), 1, "four unpins leave the allocation reference");
	folio_put(folio);
	test_shutdown_ok("pin_count_overflow");
	return done_testing();
}
