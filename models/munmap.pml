/*
 * GUP-fast vs munmap: the zap, the page-table free after a grace period,
 * and the address mapped again (src/gup/gup_fast.c, src/mm/mmap.c
 * unmap_region(), src/mm/memory.c zap_pte_range(), src/mm/pgtable.c
 * free_pgd_range() / pt_free_deferred()).
 *
 * Address A is mapped by page P through PTE table T1. Threads:
 *   gup      pin_user_pages_fast(A, FOLL_WRITE): inside rcu_read_lock() it
 *            reads the PMD, then the PTE in the table it points at, grabs,
 *            and re-checks both entries;
 *   munmap   zaps the PTE, drops the page's reference after the TLB flush
 *            (zap_batch_flush()), unlinks the now empty table and hands it
 *            to call_rcu();
 *   rcu      the callback, after a grace period: the table frame is freed
 *            (and may come back as any page, a table included);
 *   mapper   after the unmap, a new mmap at A and a CPU touch: a new table
 *            (possibly T1's frame again) and a new page (possibly P again).
 *
 * GUP-fast takes no lock: what keeps it safe is that tables go only after a
 * grace period (it never reads a freed table), that the grab fails on a
 * freed page (add unless zero), and that it re-reads what it walked.
 *
 * Properties:
 *  - the walk never reads a table that was freed;
 *  - no pin on a freed frame (the grab, and frames.pml at every put);
 *  - a kept pin is on a page that A mapped at an instant while the pin was
 *    held (lin): else device writes through it are lost to the CPU.
 *
 * Mutants that must give a counterexample:
 *  NO_RCU_DEFER    the unlinked table is freed at once (pt_free_now())
 *  NO_TRY_ADD      the grab is a plain add, not add-unless-zero
 *  NO_PTE_RECHECK  no PTE re-read after the grab
 * Equivalent (must pass, see docs/model.md):
 *  NO_PMD_RECHECK  no PMD re-read in gup_fast_pte_range(): every table
 *                  pinmm unlinks is empty first, so the PTE re-check sees
 *                  the change too
 *
 * @mutants NO_RCU_DEFER NO_TRY_ADD NO_PTE_RECHECK
 * @equivalent NO_PMD_RECHECK
 */
#define NF	3
#include "frames.pml"

#define P	1	/* the page mapped at A */
#define Q	2	/* another page, for the new mapping */

#define T1	1	/* the PTE table that maps A */
#define T2	2	/* another table */

byte pmd = T1;		/* the PMD entry over A: a table, or 0 */
byte tpte[3];		/* the entry for A in each table (tpte[0]: "no table") */
bool tfreed[3];		/* the table's frame went back to the allocator */

bool in_rcu;		/* gup is inside rcu_read_lock() */
bool rcu_pending;	/* call_rcu() queued T1 */
bool unmapped;		/* munmap returned */
byte pinned;
byte done;

/* What A maps right now: the entry in the table the PMD points at. */
#define MAPPED_A	tpte[pmd]

proctype gup()
{
	byte t, f;

	in_rcu = true;			/* rcu_read_lock(): tables stay readable */
	t = pmd;			/* pmdp_get_lockless() */
	if
	:: t == 0 -> goto out
	:: else
	fi;
	assert(!tfreed[t]);		/* property: never a freed table */
	f = tpte[t];			/* ptep_get_lockless() */
	if
	:: f == NONE -> goto out
	:: else
	fi;
	atomic {
#ifndef NO_TRY_ADD
		/* folio_ref_try_add(): a free page (count 0) cannot be grabbed */
		if
		:: ref[f] == 0 -> goto out
		:: else
		fi;
#endif
		assert(!freed[f]);	/* property: no pin on a freed frame */
		ref[f]++;
		pins[f]++;
		held = f;
		lin = false;
		ghost_mapped(MAPPED_A)
	};
#ifndef NO_PMD_RECHECK
	/* the table may have been unlinked (and its replacement linked) */
	if
	:: pmd != t -> goto drop
	:: else
	fi;
#endif
#ifndef NO_PTE_RECHECK
	assert(!tfreed[t]);
	if
	:: tpte[t] != f -> goto drop
	:: else
	fi;
#endif
	in_rcu = false;
	assert(lin);			/* property: the pin is linearisable */
	pinned = f;
	goto end;
drop:
	atomic { pins[f]--; held = NONE; folio_put(f) };
out:
	in_rcu = false;
end:
	done++
}

proctype munmap()
{
	byte f;

	/* zap_pte_range(), under the PTE lock */
	atomic { f = tpte[T1]; tpte[T1] = NONE; ghost_mapped(MAPPED_A) };
	/* zap_batch_flush(): the page's reference goes after the TLB flush */
	atomic { folio_put(f) };
	/* free_pgd_range(): the empty table is unlinked under the PMD lock */
	atomic { pmd = 0; ghost_mapped(MAPPED_A) };
#ifndef NO_RCU_DEFER
	rcu_pending = true;		/* pt_free_deferred(): call_rcu() */
#else
	tfreed[T1] = true;		/* pt_free_now() */
#endif
	unmapped = true;
	done++
}

/*
 * The grace period: it may end at any instant after call_rcu() when no
 * reader is inside, which is after every reader that began before it.
 */
proctype rcu()
{
	atomic { rcu_pending && !in_rcu -> tfreed[T1] = true };
	done++
}

/* A new mapping at A: __pte_alloc() then do_anonymous_page(). */
proctype mapper()
{
	byte t, f;

	unmapped;
	/* a zeroed table, T1's frame again if it is free */
	if
	:: tfreed[T1] -> t = T1; tfreed[T1] = false
	:: t = T2
	fi;
	tpte[t] = NONE;
	atomic { pmd = t; ghost_mapped(MAPPED_A) };	/* linked with a release store */
	atomic {
		if
		:: freed[P] -> f = P
		:: f = Q
		fi;
		frame_alloc(f)
	};
	atomic { tpte[t] = f; ghost_mapped(MAPPED_A) };	/* the mapping's reference */
	done++
}

proctype check()
{
	(done == 4) ->
	/* balanced: a kept pin holds the page, nothing else is left over */
	if
	:: pinned != NONE -> assert(ref[pinned] > 0 && pins[pinned] == 1)
	:: else -> assert(pins[P] == 0 && pins[Q] == 0)
	fi
}

init
{
	atomic {
		ref[P] = 1;	/* the mapping */
		freed[Q] = true;
		tpte[T1] = P;
		run gup(); run munmap(); run mapper(); run check();
#ifndef NO_RCU_DEFER
		run rcu()
#else
		done++
#endif
	}
}
