/*
 * GUP-fast vs migration (src/gup/gup_fast.c; src/migrate/migrate.c
 * migrate_folio_one(), try_to_migrate_one(), remove_migration_pte();
 * src/mm/rmap.c folio_try_share_anon_rmap_pte()).
 *
 * Anonymous page S is mapped writable and exclusive at A, and isolated for
 * migration (the isolation holds one reference). Threads:
 *   gup      pin_user_pages_fast(A, FOLL_WRITE), then a device write
 *            through the pin;
 *   migrate  unmap (PTE cleared, the share test, a migration entry), freeze
 *            the count at the one reference it can explain, copy into D,
 *            unfreeze, map D, free S; or, if the share test or the freeze
 *            fails, map S again;
 *   reuse    a freed S is handed out to someone else.
 *
 * The two sides meet in opposite orders: migration clears the entry and
 * then counts references; GUP-fast takes its reference and then re-reads
 * the entry. The grab is add-unless-zero, so a frozen count (0) refuses it.
 *
 * Properties:
 *  - no pin on a freed frame, and no frozen source freed under migration
 *    (the unfreeze finds it still allocated);
 *  - a kept pin is linearisable (lin, see frames.pml);
 *  - no lost device write: at the end the page A maps holds the device's
 *    write.
 *
 * Mutants that must give a counterexample:
 *  NO_TRY_ADD       the grab is a plain add: it lands on a frozen count
 *  NO_PTE_RECHECK   no PTE re-read after the grab
 *  NO_FREEZE_CHECK  the freeze ignores the count (folio_ref_freeze()'s
 *                   compare of the expected count removed)
 * Equivalent (must pass, see docs/model.md):
 *  NO_SHARE_PIN_CHECK  try_to_migrate_one() shares a maybe-pinned page:
 *                   the freeze then fails on the pin's reference instead,
 *                   and the entry restores PageAnonExclusive
 *
 * @mutants NO_TRY_ADD NO_PTE_RECHECK NO_FREEZE_CHECK
 * @equivalent NO_SHARE_PIN_CHECK
 */
#define NF	3
#include "frames.pml"

#define S	1	/* the source page */
#define D	2	/* the destination */

bool ae[NF];		/* PageAnonExclusive */
byte pte = S;		/* A's entry: a present page, or NONE when cleared ... */
bool pte_w = true;	/* ... writable? */
bool mig;		/* ... or a migration entry (not present) */

byte pinned;
byte done;

proctype gup()
{
	byte f;
	bool w;

	atomic { f = pte; w = pte_w };	/* ptep_get_lockless() */
	if
	:: f == NONE || !w -> goto out	/* a migration entry is not present */
	:: else
	fi;
	atomic {
#ifndef NO_TRY_ADD
		/* folio_ref_try_add(): frozen or free (0) cannot be grabbed */
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
		ghost_mapped(pte)
	};
#ifndef NO_PTE_RECHECK
	if
	:: pte != f || pte_w != w -> goto drop
	:: else
	fi;
#endif
	assert(lin);			/* property: the pin is linearisable */
	pinned = f;
	data[f] = data[f] | DEV;	/* the device writes, at any later time */
	goto out;
drop:
	atomic { pins[f]--; held = NONE; folio_put(f) };
out:
	done++
}

proctype migrate()
{
	bool was_w, excl;

	atomic { frame_alloc(D) };	/* get_dsts(): the allocation reference */
	/* try_to_migrate_one(), under the PTE lock */
	atomic { was_w = pte_w; excl = ae[S]; pte = NONE; ghost_mapped(pte) };
	/* folio_try_share_anon_rmap_pte(): a full barrier, then the pin test */
#ifndef NO_SHARE_PIN_CHECK
	if
	:: excl && pins[S] > 0 ->
		atomic { pte = S; ghost_mapped(pte) };	/* put the PTE back */
		goto fail
	:: else
	fi;
#endif
	ae[S] = false;
	/* a migration entry; the mapping's reference goes (never the last) */
	atomic { mig = true; folio_put(S) };
	/* folio_ref_freeze(src, expected): only our isolation reference may be left */
	atomic {
#ifndef NO_FREEZE_CHECK
		if
		:: ref[S] != 1 -> goto remap_src
		:: else
		fi;
#endif
		ref[S] = 0
	};
	/* PINMM_RACE_MIGRATE_FROZEN: nobody can take a reference now */
	data[D] = data[S];		/* migrate_contents() */
	atomic {
		assert(!freed[S]);	/* property: not freed under us while frozen */
		ref[S] = 1		/* folio_ref_unfreeze(): a store, not an add */
	};
	/* remove_migration_pte(): D mapped with the entry's permissions */
	atomic {
		ref[D]++;
		ae[D] = was_w || excl;
		mig = false;
		pte_w = was_w;
		pte = D;
		ghost_mapped(pte)
	};
	atomic { folio_put(D) };	/* the allocation reference */
	atomic { folio_put(S) };	/* migrate_folio_done(): S is freed */
	goto out;
remap_src:
	/* remove_migration_ptes(src, NULL): S back, exclusive again */
	atomic {
		ref[S]++;
		ae[S] = was_w || excl;
		mig = false;
		pte = S;
		ghost_mapped(pte)
	};
fail:
	atomic { folio_put(D) };	/* put_dsts() */
	atomic { folio_put(S) };	/* the isolation reference */
out:
	done++
}

/* The allocator gives a freed S to someone else. */
proctype reuse()
{
	if
	:: atomic { freed[S] -> frame_alloc(S) }
	:: skip
	fi;
	done++
}

proctype check()
{
	(done == 3) ->
	assert(!mig && pte != NONE);
	if
	:: pinned != NONE -> assert(data[pte] & DEV)	/* no lost device write */
	:: else
	fi
}

init
{
	atomic {
		ref[S] = 2;	/* the mapping and the isolation */
		ae[S] = true;
		freed[D] = true;
		run gup(); run migrate(); run reuse(); run check()
	}
}
