// SPDX-License-Identifier: MIT
/*
 * errseq_t (Linux: lib/errseq.c); the contract is in include/pinmm/errseq.h.
 */
#include <pinmm/errseq.h>

#define ERRSEQ_SHIFT	12				/* bits of errno */
#define ERRSEQ_ERRNO	((1u << ERRSEQ_SHIFT) - 1)
#define ERRSEQ_SEEN	(1u << ERRSEQ_SHIFT)
#define ERRSEQ_CTR_INC	(1u << (ERRSEQ_SHIFT + 1))

errseq_val_t errseq_set(errseq_t *eseq, int err)
{
	errseq_val_t old = atomic_load_explicit(eseq, memory_order_relaxed), want;

	if (err >= 0 || -err > MAX_ERRNO)
		return old;
	for (;;) {
		want = (old & ~(ERRSEQ_ERRNO | ERRSEQ_SEEN)) | (errseq_val_t)-err;
		/*
		 * The counter moves only when the previous value was seen: two
		 * errors nobody looked at in between are one report.
		 */
		if (old & ERRSEQ_SEEN)
			want += ERRSEQ_CTR_INC;
		if (want == old)
			return old;
		if (atomic_compare_exchange_weak_explicit(eseq, &old, want, memory_order_release,
							  memory_order_relaxed))
			return want;
	}
}

errseq_val_t errseq_sample(errseq_t *eseq)
{
	errseq_val_t v = atomic_load_explicit(eseq, memory_order_acquire);

	/* an error nobody has seen yet is reported to whoever samples now */
	return (v & ERRSEQ_SEEN) ? v : 0;
}

int errseq_check(errseq_t *eseq, errseq_val_t since)
{
	errseq_val_t v = atomic_load_explicit(eseq, memory_order_acquire);

	return v == since ? 0 : -(int)(v & ERRSEQ_ERRNO);
}

int errseq_check_and_advance(errseq_t *eseq, errseq_val_t *since)
{
	errseq_val_t v = atomic_load_explicit(eseq, memory_order_acquire), seen;

	if (v == *since)
		return 0;
	seen = v | ERRSEQ_SEEN;
	/* a lost race means someone else marked it seen, or a newer error came */
	if (seen != v)
		atomic_compare_exchange_strong_explicit(eseq, &v, seen, memory_order_acq_rel,
							memory_order_relaxed);
	*since = seen;
	return -(int)(seen & ERRSEQ_ERRNO);
}
