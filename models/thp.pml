/*
 * GUP-fast vs the split of a THP's PMD mapping (src/gup/gup_fast.c
 * gup_fast_pmd_leaf(), try_get_folio(); src/mm/huge_memory.c
 * __split_huge_pmd_locked(); src/mm/memory.c zap_pte_range()).
 *
 * A THP folio of two pages H0 (head) and H1 is mapped by one PMD leaf over
 * A0, A1. Threads:
 *   gup      pin_user_pages_fast(A1, FOLL_WRITE): it reads the PMD; a leaf
 *            gives page H1 of the folio, a table gives whatever A1's PTE
 *            maps; grab (a large folio: a reference, then _pincount), then
 *            re-read the entry it used;
 *   splitter split_huge_pmd() (the deposited table filled with PTEs of H0,
 *            H1, then one store turns the leaf into that table: what an
 *            mprotect or munmap of part of the THP does), then
 *            MADV_DONTNEED of A1 (H1's PTE zapped; the folio lives on, H0
 *            still maps it), then a CPU touch of A1 faults in page Z.
 *
 * Properties:
 *  - a kept pin is linearisable (lin, frames.pml): the pinned page was
 *    mapped at A1 at an instant while held;
 *  - no pin on a freed frame.
 * (Not "the page A1 maps at the end holds the device's write": the zap may
 * legitimately come after the pin, and then the user unmapped pinned
 * memory; lin is the property that tells the two apart.)
 *
 * Mutants that must give a counterexample:
 *  NO_PMD_RECHECK   gup_fast_pmd_leaf() does not re-read the PMD
 *  NO_PTE_RECHECK   gup_fast_pte_range() does not re-read the PTE
 *
 * @mutants NO_PMD_RECHECK NO_PTE_RECHECK
 */
#define NF	4
#include "frames.pml"

#define H0	1	/* the THP's head page: its refcount is the folio's */
#define H1	2	/* its second page, mapped at A1 */
#define Z	3	/* the page a later fault maps at A1 */

bool pmd_leaf = true;	/* the PMD maps the THP; else it points at the table */
byte tpte0, tpte1;	/* the (deposited) table's entries for A0 and A1 */
byte pincount;		/* the folio's _pincount (large folios count pins apart) */

byte pinned;
byte done;

/* What A1 maps right now. */
#define MAPPED_A1	(pmd_leaf -> H1 : tpte1)
/* page_folio(): H1's folio is the THP; Z is a folio of its own. */
#define FOLIO(p)	(p == H1 -> H0 : p)

proctype gup()
{
	byte p, f;
	bool leaf;

	leaf = pmd_leaf;		/* pmdp_get_lockless() */
	if
	:: leaf -> p = H1		/* pmd_page() + A1's index */
	:: else -> p = tpte1		/* ptep_get_lockless() */
	fi;
	if
	:: p == NONE -> goto out
	:: else
	fi;
	f = FOLIO(p);
	/* try_get_folio(): add unless zero */
	atomic {
		if
		:: ref[f] == 0 -> goto out
		:: else
		fi;
		ref[f]++;
		held = p;
		lin = false;
		ghost_mapped(MAPPED_A1)
	};
	/* a large folio counts the pin in _pincount, a small one in the bias */
	atomic {
		if
		:: f == H0 -> pincount++
		:: else
		fi;
		pins[f]++
	};
	if
	:: leaf ->
#ifndef NO_PMD_RECHECK
		/* the leaf may have been split (and the page zapped) meanwhile */
		if
		:: !pmd_leaf -> goto drop
		:: else
		fi
#endif
	:: else ->
#ifndef NO_PTE_RECHECK
		if
		:: pmd_leaf || tpte1 != p -> goto drop
		:: else
		fi
#endif
	fi;
	assert(lin);			/* property: the pin is linearisable */
	pinned = p;
	goto out;
drop:
	atomic {
		if
		:: f == H0 -> pincount--
		:: else
		fi;
		pins[f]--;
		held = NONE;
		folio_put(f)
	};
out:
	done++
}

proctype splitter()
{
	/*
	 * __split_huge_pmd_locked(), under the PMD lock: the PMD's one
	 * reference becomes one per PTE, the table is filled, then published.
	 */
	atomic { ref[H0]++; tpte0 = H0; tpte1 = H1 };
	atomic { pmd_leaf = false; ghost_mapped(MAPPED_A1) };
	/* MADV_DONTNEED of A1: the PTE goes, then (after the flush) its reference */
	atomic { tpte1 = NONE; ghost_mapped(MAPPED_A1) };
	atomic { folio_put(H0) };
	/* the CPU touches A1 again: do_anonymous_page() */
	atomic { frame_alloc(Z) };
	atomic { tpte1 = Z; ghost_mapped(MAPPED_A1) };
	done++
}

proctype check()
{
	(done == 2) ->
	assert(!pmd_leaf && tpte1 == Z && tpte0 == H0);
	/* the pins balance: one counted in _pincount for a kept pin of the THP */
	assert(pincount == (pinned == H1 -> 1 : 0))
}

init
{
	atomic {
		ref[H0] = 1;	/* the PMD mapping */
		freed[Z] = true;
		run gup(); run splitter(); run check()
	}
}
