/*
 * GUP-fast vs fork (src/gup/gup_fast.c, src/mm/fork.c, src/mm/memory.c
 * copy_present_pte(), src/mm/rmap.c folio_try_dup_anon_rmap_ptes()).
 *
 * One anonymous page P, mapped writable and exclusive in the parent. Three
 * threads of the parent race:
 *   gup    pin_user_pages_fast() of that page, with or without FOLL_WRITE;
 *          then the device writes through the pin (or reads it);
 *   fork   dup_mmap(): write_protect_seq odd, copy_present_pte(), even;
 *   cpu    the parent's own write to the page, with its COW fault.
 * fork and cpu exclude each other through the parent's mmap_lock (fork
 * holds it for writing, the fault for reading); GUP-fast takes no lock, and
 * that is the whole point: write_protect_seq, PageAnonExclusive and the
 * maybe-pinned test are all that stand between its pin and fork's sharing.
 *
 * Properties, checked when every thread is done:
 *  - a page the parent pinned is never mapped into the child (the child got
 *    a copy instead), whatever the order;
 *  - no lost device write: the page the parent's CPU sees at the end is the
 *    page the device wrote through a FOLL_WRITE pin, and a R/O pin's device
 *    reads the parent's CPU write;
 *  - no pin on a freed frame (frames.pml, at every put).
 *
 * Mutants (-D at spin -a), each must give a counterexample:
 *  NO_SEQ_BEGIN   gup_fast() proceeds although the count is odd
 *                 (raw_seqcount_try_begin())
 *  NO_SEQ_RETRY   no read_seqcount_retry() after the walk
 *  NO_DUP_PIN_CHECK  fork shares an exclusive page that may be pinned
 *                 (folio_needs_cow_for_dma() in folio_try_dup_anon_rmap_ptes())
 *  NO_HAS_PINNED  GUP never sets MMF_HAS_PINNED, which fork tests first
 *  NO_UNSHARE     a R/O pin of a read-only PTE does not ask
 *                 gup_must_unshare() (PageAnonExclusive) on the re-check
 *
 * @mutants NO_SEQ_BEGIN NO_SEQ_RETRY NO_DUP_PIN_CHECK NO_HAS_PINNED NO_UNSHARE
 */
#define NF	4
#include "frames.pml"

#define P	1	/* the parent's page */
#define C	2	/* the child's copy, when fork must copy */
#define N	3	/* the parent's new page, when its write fault copies */

byte wp_seq;		/* mm->write_protect_seq of the parent */
bool has_pinned;	/* MMF_HAS_PINNED */
bool ae[NF];		/* PageAnonExclusive */

byte ppte = P;		/* the parent's PTE: frame ... */
bool ppte_w = true;	/* ... and write bit */
byte cpte;		/* the child's PTE (NONE until fork copies it) */

bool mmap_w;		/* fork holds the parent's mmap_lock for writing */
bool mmap_r;		/* the fault holds it for reading */

byte pinned;		/* the frame GUP-fast kept a pin on, or NONE */
bool pin_write;		/* ... taken with FOLL_WRITE */
byte done;		/* threads finished */

proctype gup()
{
	bool write, w;
	byte seq, f;

	if
	:: write = true
	:: write = false
	fi;
#ifndef NO_HAS_PINNED
	has_pinned = true;		/* gup_fast_fallback(): before the walk */
#endif
	seq = wp_seq;
#ifndef NO_SEQ_BEGIN
	/* fork is between share and write-protect somewhere: do not even look */
	if
	:: (seq & 1) -> goto out
	:: else
	fi;
#endif
	atomic { f = ppte; w = ppte_w };	/* ptep_get_lockless() */
	if
	:: f == NONE || (write && !w) -> goto out	/* the slow path would fault */
	:: else
	fi;
	/* folio_ref_try_add(GUP_PIN_COUNTING_BIAS): add unless zero */
	atomic {
		if
		:: ref[f] > 0 -> ref[f]++; pins[f]++
		:: else -> goto out
		fi
	};
	/* the re-check: the PTE still the one we read ... */
	if
	:: ppte != f || ppte_w != w -> goto drop
	:: else
	fi;
#ifndef NO_UNSHARE
	/* ... and a R/O pin only of a page known exclusive (gup_must_unshare()) */
	if
	:: !write && !w && !ae[f] -> goto drop
	:: else
	fi;
#endif
#ifndef NO_SEQ_RETRY
	/* fork ran (or began) meanwhile: it may have shared what we hold */
	if
	:: wp_seq != seq -> goto drop
	:: else
	fi;
#endif
	pinned = f;
	pin_write = write;
	/* the device uses the page, at any later time */
	if
	:: write -> data[f] = data[f] | DEV
	:: else
	fi;
	goto out;
drop:
	atomic { pins[f]--; folio_put(f) };
out:
	done++
}

proctype fork()
{
	byte f;
	bool pinned_maybe;

	atomic { !mmap_r -> mmap_w = true };	/* mmap_write_lock(oldmm) */
	wp_seq++;				/* raw_write_seqcount_begin() */
	/* copy_present_pte(), under both page-table locks */
	atomic { f = ppte; ref[f]++ };		/* folio_get() */
#ifndef NO_DUP_PIN_CHECK
	pinned_maybe = has_pinned && pins[f] > 0 && ae[f];
#else
	pinned_maybe = false;
#endif
	if
	:: pinned_maybe ->
		/* copy_present_page(): the child gets its own page now */
		atomic {
			folio_put(f);
			frame_alloc(C);
			ae[C] = true;
			data[C] = data[f];
			cpte = C
		}
	:: else ->
		ae[f] = false;		/* shared: PageAnonExclusive cleared */
		/* PINMM_RACE_FORK_SHARE: shared, parent still writable */
		ppte_w = false;		/* COW: write-protect the parent's PTE */
		cpte = f		/* the child maps the same page */
	fi;
	wp_seq++;				/* raw_write_seqcount_end() */
	mmap_w = false;
	done++
}

/* The parent's CPU writes the page once; a read-only PTE faults (do_wp_page()). */
proctype cpu()
{
	byte old;

	atomic { !mmap_w -> mmap_r = true };	/* mmap_read_lock() in the fault */
	/*
	 * do_wp_page() reuses an exclusive page, or one only this mapping holds
	 * (wp_can_reuse_anon_folio()); here neither happens once fork ran: the
	 * page fork left the parent is either still writable or shared with
	 * the child. So a read-only PTE means wp_page_copy(): copy, then switch
	 * the PTE under its lock.
	 */
	if
	:: ppte_w
	:: else ->
		assert(!ae[ppte] && ref[ppte] > 1);
		atomic { frame_alloc(N); data[N] = data[ppte] };
		atomic {
			old = ppte;
			ae[N] = true;
			ppte = N;
			ppte_w = true;
			folio_put(old)
		}
	fi;
	data[ppte] = data[ppte] | CPU;
	mmap_r = false;
	done++
}

/* The end state: the device and the parent agree, the child holds no pinned page. */
proctype check()
{
	(done == 3) ->
	if
	:: pinned != NONE ->
		assert(cpte != pinned);			/* no pinned page in the child */
		if
		:: pin_write -> assert(data[ppte] & DEV)	/* no lost device write */
		:: else -> assert(data[pinned] & CPU)	/* the device reads the CPU */
		fi
	:: else
	fi
}

init
{
	atomic {
		ref[P] = 1;	/* the parent's mapping */
		ae[P] = true;
		run gup(); run fork(); run cpu(); run check()
	}
}
