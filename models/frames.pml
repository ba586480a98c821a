/*
 * Frames and their counts, shared by every model (each defines NF, the
 * number of frames, before including this; frame 0 means "no frame").
 *
 * ref[f] is folio_ref_count(): mappings, GETs and pins together. A pin of a
 * small folio is one atomic add of GUP_PIN_COUNTING_BIAS in pinmm
 * (__try_grab_folio_fast()), so the model raises ref and pins in one step;
 * folio_maybe_dma_pinned() is pins[f] > 0. pins[] is also the ghost the
 * properties read: which frames GUP-fast holds a pin on right now.
 *
 * A frame whose count reaches zero is free (freed[f]); the allocator may
 * hand it out again, so "free" is a state a frame passes through, and a pin
 * must never be on a frame in that state.
 */
byte ref[NF];
byte pins[NF];
bool freed[NF];
byte data[NF];		/* bit DEV: the device wrote it; bit CPU: the CPU did */

/*
 * Ghosts for "the pin is linearisable": held is the page GUP-fast holds a
 * reference for (the one it will hand back), lin whether that page was
 * mapped at the address at some instant while held. Every step that
 * changes the mapping, and the grab itself, updates lin; a pin kept
 * without lin is a pin on a page the address never showed while the pin
 * existed: device writes through it are lost to the CPU.
 */
byte held;
bool lin;

#define NONE	0
#define DEV	1
#define CPU	2

/* folio_put(): the last reference frees the frame, which must hold no pin. */
inline folio_put(f)
{
	assert(ref[f] > 0);
	ref[f]--;
	if
	:: ref[f] == 0 ->
		/* property: no pin on a freed frame */
		assert(pins[f] == 0 && held != f);
		freed[f] = true
	:: else
	fi
}

/* A free frame handed out again, with one reference (folio_alloc()). */
inline frame_alloc(f)
{
	assert(freed[f] || ref[f] == 0);
	freed[f] = false;
	ref[f] = 1;
	data[f] = 0
}

/* After a mapping changed (or at the grab): is the held page mapped now? */
inline ghost_mapped(cur)
{
	if
	:: held != NONE && cur == held -> lin = true
	:: else
	fi
}
