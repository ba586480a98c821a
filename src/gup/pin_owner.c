// SPDX-License-Identifier: MIT
/*
 * Pin owners: who holds each pin (beyond Linux; docs/pin-owners.md).
 *
 * Each pin call (an entry point of <pinmm/gup.h>, whose macro passed its call
 * site) gets an event: site, task, time, flags, and a count of the pins it
 * still holds. A folio's pins are found through a 4-byte word per pfn:
 *
 *  - the first pin of a pinned period (the count add saw no pin before it,
 *    which the pin's own atomic add tells for free) stores its event id in
 *    the word: one plain store, no atomic read-modify-write;
 *  - a pin of a folio that is already pinned (a second driver, folio_add_pin,
 *    a racing pinner) is kept in a bucket list under a lock, and a bit per
 *    pfn (pin_owner_shared) says the folio has such entries;
 *  - an unpin reads the bit and the word before dropping the pins: with no
 *    shared entries the pins were the word's event's; else the youngest
 *    bucket entries are released first (a short-term pin over a long-term
 *    one goes first), then the word's event. Pins are matched by folio, not
 *    by site: a pin released by another site than the one that took it is
 *    normal.
 *
 * Counts per event are added once per call (the pending count) and dropped
 * once per run of folios of one event, so a 1 GiB pin costs a store per folio
 * and a few atomics. An event lives while it holds pins; its group charge
 * goes with it (pins_group.c).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <pinmm/pin_owner.h>
#include <pinmm/vmstat.h>

/* While its call runs an event's count carries this bias, so it cannot free. */
#define PIN_EV_OPEN		(1L << 40)

/* Event ids: 0 none, 1 the permanent event of pins with no call (or no room). */
#define PIN_EV_NONE		0u
#define PIN_EV_NOCALL		1u
#define PIN_EVENTS_MAX		(1u << 18)

/*
 * Field letters: (a) atomic; (c) set at allocation, read by the reports
 * with relaxed atomic loads and checked against @seq; (e) events_lock.
 * Allocation and free take no lock (per-CPU id caches below), so a report
 * may read an event while it is freed and given to another call: @seq is
 * odd while an allocation fills the event in and moves on at each
 * allocation, and a report keeps what it read only if @seq did not move.
 */
struct pin_event {
	atomic_long pins;		/* (a) pins held; + PIN_EV_OPEN while open */
	const struct pin_site *site;	/* (c) */
	struct pinmm_pins_group *group;	/* (a) charged group, ref held: another
					   call's unpin may release a pin counted
					   here (pins are matched by folio) while
					   the call runs */
	struct mm_struct *mm;		/* (c) the pinning task's mm, PIN_EV_MM_GONE
					   once it exited (a compare-and-swap: a
					   new life of the event is left alone) */
	uint64_t stamp;			/* (c) when the call started, ns */
	pid_t pid;			/* (c) */
	_Atomic unsigned int flags;	/* (a) PIN_EV_* */
	_Atomic unsigned int seq;	/* (a) see above */
	uint32_t next_free;		/* (e) on the global free list */
	uint64_t comm[2];		/* (c) the task's comm, 16 bytes as two words */
};

/* What ev->mm says once its mm exited (pin_owner_mm_exit()). */
#define PIN_EV_MM_GONE		((struct mm_struct *)1)

/*
 * Free event ids per CPU, as the page allocator's per-CPU lists: a call
 * takes and gives back ids here without a shared lock, and the global list
 * under events_lock is refilled from or drained into in batches. Touched by
 * the CPU's own thread only. @opened and @ended count, for mm exit's quick
 * "any pins held?", the events that closed holding pins and the ends of
 * such events (at the last unpin, perhaps on another CPU): only the sums
 * mean anything, and pin_ev_any_live() reads them so as never to miss one.
 */
#define PIN_EV_CACHE		32
#define PIN_EV_BATCH		16
static struct pin_ev_cpu {
	uint32_t nr;
	uint32_t ids[PIN_EV_CACHE];
	atomic_ulong opened, ended;
} __attribute__((aligned(64))) pin_ev_cpus[NR_CPUS];

atomic_bool pin_owner_on;
_Atomic uint32_t *pin_owner_map;
atomic_ulong *pin_owner_shared;
__thread struct pin_call *pin_call_current;

static bool pin_owner_want = true;	/* what the next boot starts with */
static unsigned long pin_owner_pfns;
static struct pin_event *pin_events;
static spinlock_t events_lock;		/* (e) the global free list, the high water */
static uint32_t events_free;
static _Atomic uint32_t events_hw;	/* ids below it are initialised (release) */
static atomic_ulong events_opened, events_ended;	/* the same, of threads with no CPU id */

/* Pins of a folio that was already pinned: (pfn, event) -> count. */
struct pin_shared {
	unsigned long pfn;
	uint32_t ev;
	long pins;
	struct pin_shared *next;
};
/*
 * One bucket per 8 pfns (at least 256, a power of two): chains stay a few
 * entries long even when every page of memory is pinned twice (gup_test -j 2
 * pins the same range from two threads; two drivers share a buffer). A fixed
 * 256 made each pin and unpin walk chains of thousands there.
 */
#define PIN_BUCKETS_MIN		256UL
#define PIN_PFNS_PER_BUCKET	8UL
static struct pin_bucket {
	spinlock_t lock;
	struct pin_shared *head;	/* youngest first */
} *pin_buckets;
static unsigned long pin_buckets_nr;	/* a power of two */

static const struct pin_site nocall_site = {
	"(unknown)", "(a pin outside an entry point, or the owner table was full)", 0
};

static uint64_t pin_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct pin_bucket *pin_bucket(unsigned long pfn)
{
	return &pin_buckets[(pfn ^ (pfn >> 9)) & (pin_buckets_nr - 1)];
}

/* ---- boot, shutdown, the switch ----------------------------------------------- */

int pin_owner_boot(unsigned long nr_pfns)
{
	const char *env = getenv("PINMM_PIN_OWNER");
	size_t map_bytes = nr_pfns * sizeof(*pin_owner_map);

	pin_owner_map = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pin_events = mmap(NULL, PIN_EVENTS_MAX * sizeof(*pin_events), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pin_owner_shared = calloc(nr_pfns / PIN_SHARED_BITS + 1, sizeof(*pin_owner_shared));
	pin_buckets_nr = PIN_BUCKETS_MIN;
	while (pin_buckets_nr * PIN_PFNS_PER_BUCKET < nr_pfns)
		pin_buckets_nr <<= 1;
	pin_buckets = calloc(pin_buckets_nr, sizeof(*pin_buckets));
	if (pin_owner_map == MAP_FAILED || pin_events == MAP_FAILED || !pin_owner_shared ||
	    !pin_buckets) {
		if (pin_owner_map != MAP_FAILED)
			munmap(pin_owner_map, map_bytes);
		if (pin_events != MAP_FAILED)
			munmap(pin_events, PIN_EVENTS_MAX * sizeof(*pin_events));
		free(pin_owner_shared);
		free(pin_buckets);
		pin_owner_map = NULL;
		pin_events = NULL;
		pin_owner_shared = NULL;
		pin_buckets = NULL;
		return -ENOMEM;
	}
	pin_owner_pfns = nr_pfns;
	spin_lock_init(&events_lock, LOCK_RANK_LEAF);
	for (unsigned long i = 0; i < pin_buckets_nr; i++)
		spin_lock_init(&pin_buckets[i].lock, LOCK_RANK_PIN_OWNER);
	events_free = PIN_EV_NONE;
	atomic_store(&events_hw, PIN_EV_NOCALL + 1);
	atomic_store(&events_opened, 0);
	atomic_store(&events_ended, 0);
	/* no call runs during boot: the ids cached by the last machine are void */
	memset(pin_ev_cpus, 0, sizeof(pin_ev_cpus));
	pin_events[PIN_EV_NOCALL].site = &nocall_site;
	atomic_store(&pin_events[PIN_EV_NOCALL].flags, PIN_EV_USED);
	if (env && *env)
		pin_owner_want = strcmp(env, "0") != 0;
	atomic_store(&pin_owner_on, pin_owner_want);
	return 0;
}

void pin_owner_shutdown(void)
{
	if (!pin_owner_map)
		return;
	atomic_store(&pin_owner_on, false);
	for (unsigned long i = 0; i < pin_buckets_nr; i++) {
		struct pin_shared *s = pin_buckets[i].head, *next;

		for (; s; s = next) {
			next = s->next;
			free(s);
		}
		pin_buckets[i].head = NULL;
	}
	/* leaked pins keep their charge: the groups outlive the machine */
	for (uint32_t id = PIN_EV_NOCALL + 1; id < events_hw; id++)
		if (pin_events[id].group)
			pinmm_pins_group_put(pin_events[id].group);
	munmap(pin_owner_map, pin_owner_pfns * sizeof(*pin_owner_map));
	munmap(pin_events, PIN_EVENTS_MAX * sizeof(*pin_events));
	free(pin_owner_shared);
	free(pin_buckets);
	pin_owner_map = NULL;
	pin_events = NULL;
	pin_owner_shared = NULL;
	pin_buckets = NULL;
	pin_buckets_nr = 0;
}

static bool pins_outstanding(void)
{
	/* exact (every CPU's diff folded in): the switch must not miss a pin */
	return global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED) !=
	       global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
}

int pinmm_pin_owner_enable(bool on)
{
	if (!pin_owner_map) {
		pin_owner_want = on;
		return 0;
	}
	if (on == pin_owner_is_on())
		return 0;
	if (pins_outstanding())
		return -EBUSY;
	if (!on && pins_group_any())
		return -EBUSY;
	pin_owner_want = on;
	atomic_store(&pin_owner_on, on);
	return 0;
}

bool pinmm_pin_owner_enabled(void)
{
	return pin_owner_map ? pin_owner_is_on() : pin_owner_want;
}

/* ---- events ------------------------------------------------------------------ */

/* Move ids from the global list to @pc until it has @want. Return: how many it has. */
static uint32_t pin_ev_refill(struct pin_ev_cpu *pc, uint32_t want)
{
	uint32_t hw;

	spin_lock(&events_lock);
	hw = atomic_load_explicit(&events_hw, memory_order_relaxed);
	while (pc->nr < want) {
		uint32_t id = events_free;

		if (id != PIN_EV_NONE)
			events_free = pin_events[id].next_free;
		else if (hw < PIN_EVENTS_MAX)
			id = hw++;
		else
			break;
		pc->ids[pc->nr++] = id;
	}
	atomic_store_explicit(&events_hw, hw, memory_order_release);
	spin_unlock(&events_lock);
	return pc->nr;
}

/* Give @nr ids back to the global list (@ids: a CPU's, or one free id). */
static void pin_ev_drain(const uint32_t *ids, uint32_t nr)
{
	spin_lock(&events_lock);
	for (uint32_t i = 0; i < nr; i++) {
		pin_events[ids[i]].next_free = events_free;
		events_free = ids[i];
	}
	spin_unlock(&events_lock);
}

/*
 * Count on this CPU (one writer: no read-modify-write) an event closing with
 * pins, before the close can let another thread end it, or an event's end;
 * release, so that pin_ev_any_live() seeing an end also sees its opening.
 */
static __always_inline void pin_ev_count(bool end)
{
	int cpu = smp_processor_id();

	if (likely(cpu >= 0)) {
		atomic_ulong *n = end ? &pin_ev_cpus[cpu].ended : &pin_ev_cpus[cpu].opened;

		atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
				      memory_order_release);
	} else {
		atomic_fetch_add_explicit(end ? &events_ended : &events_opened, 1,
					  memory_order_acq_rel);
	}
}

/*
 * Are there closed events holding pins? Never a false no for an event that
 * closed before the call: the ends are summed first (acquire), then the
 * openings, so every end counted has its opening counted too.
 */
static bool pin_ev_any_live(void)
{
	int nr = pinmm_nr_cpu_ids();
	unsigned long ended = atomic_load_explicit(&events_ended, memory_order_acquire);
	unsigned long opened;

	for (int cpu = 0; cpu < nr; cpu++)
		ended += atomic_load_explicit(&pin_ev_cpus[cpu].ended, memory_order_acquire);
	opened = atomic_load_explicit(&events_opened, memory_order_acquire);
	for (int cpu = 0; cpu < nr; cpu++)
		opened += atomic_load_explicit(&pin_ev_cpus[cpu].opened, memory_order_acquire);
	return opened != ended;
}

static uint32_t pin_event_alloc(const struct pin_site *site, unsigned int flags)
{
	struct task_struct *t = current;
	int cpu = smp_processor_id();
	uint64_t comm[2] = { 0, 0 };	/* the task's comm, or "-" */
	struct pin_event *ev;
	unsigned int seq;
	uint32_t id;

	if (likely(cpu >= 0)) {
		struct pin_ev_cpu *pc = &pin_ev_cpus[cpu];

		if (!pc->nr && !pin_ev_refill(pc, PIN_EV_BATCH))
			return PIN_EV_NOCALL;	/* the table is full */
		id = pc->ids[--pc->nr];
	} else {
		/* no CPU id (NR_CPUS threads are CPUs already): one from the global list */
		struct pin_ev_cpu one = { .nr = 0 };

		if (!pin_ev_refill(&one, 1))
			return PIN_EV_NOCALL;
		id = one.ids[0];
	}
	ev = &pin_events[id];
	seq = atomic_load_explicit(&ev->seq, memory_order_relaxed);
	atomic_store_explicit(&ev->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&ev->site, site, __ATOMIC_RELAXED);
	__atomic_store_n(&ev->group, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&ev->mm, t ? t->mm : NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&ev->pid, t ? t->pid : 0, __ATOMIC_RELAXED);
	_Static_assert(sizeof(comm) == sizeof(t->comm), "a task's comm is two words");
	if (t)
		memcpy(comm, t->comm, sizeof(comm));	/* a constant size: two moves */
	else
		memcpy(comm, "-", 2);
	__atomic_store_n(&ev->comm[0], comm[0], __ATOMIC_RELAXED);
	__atomic_store_n(&ev->comm[1], comm[1], __ATOMIC_RELAXED);
	__atomic_store_n(&ev->stamp, pin_clock_ns(), __ATOMIC_RELAXED);
	atomic_store_explicit(&ev->pins, PIN_EV_OPEN, memory_order_relaxed);
	atomic_store_explicit(&ev->flags, flags | PIN_EV_USED, memory_order_relaxed);
	atomic_store_explicit(&ev->seq, seq + 2, memory_order_release);
	return id;
}

static void pin_event_free(uint32_t id)
{
	struct pin_event *ev = &pin_events[id];
	struct pinmm_pins_group *g = __atomic_load_n(&ev->group, __ATOMIC_RELAXED);
	int cpu = smp_processor_id();

	if (id == PIN_EV_NOCALL)
		return;
	atomic_store_explicit(&ev->flags, 0, memory_order_relaxed);
	__atomic_store_n(&ev->group, NULL, __ATOMIC_RELAXED);
	if (g)
		pinmm_pins_group_put(g);
	if (unlikely(cpu < 0)) {
		pin_ev_drain(&id, 1);
		return;
	}
	{
		struct pin_ev_cpu *pc = &pin_ev_cpus[cpu];

		if (pc->nr == PIN_EV_CACHE) {
			/* the coldest go back (the bottom), the recently freed stay */
			pin_ev_drain(pc->ids, PIN_EV_BATCH);
			pc->nr -= PIN_EV_BATCH;
			memmove(pc->ids, pc->ids + PIN_EV_BATCH, pc->nr * sizeof(pc->ids[0]));
		}
		pc->ids[pc->nr++] = id;
	}
}

/* Drop @pins pins (@pages pages) from event @id; free it when none are left. */
static void pin_event_put(uint32_t id, long pins, long pages)
{
	struct pin_event *ev = &pin_events[id];
	struct pinmm_pins_group *g;
	unsigned int flags;
	long left;

	if (id == PIN_EV_NONE || !pins)
		return;
	flags = atomic_load_explicit(&ev->flags, memory_order_relaxed);
	g = __atomic_load_n(&ev->group, __ATOMIC_ACQUIRE);
	if (g)
		pins_group_uncharge(g, (flags & PIN_EV_PER_FOLIO) ? pages : pins);
	left = atomic_fetch_sub_explicit(&ev->pins, pins, memory_order_acq_rel) - pins;
	if (WARN_ON_ONCE(left < 0 && id != PIN_EV_NOCALL))
		return;
	if (left == 0 && id != PIN_EV_NOCALL) {
		pin_ev_count(true);
		pin_event_free(id);
	}
}

/* ---- the call ------------------------------------------------------------------ */

void pin_call_begin(struct pin_call *c, const struct pin_site *site, unsigned int gup_flags)
{
	struct task_struct *t = current;

	c->ev = PIN_EV_NONE;
	c->pending = 0;
	c->group = NULL;
	c->flags = (gup_flags & FOLL_LONGTERM) ? PIN_EV_LONGTERM : 0;
	if (!pin_owner_is_on())
		return;
	if ((gup_flags & FOLL_LONGTERM) && t)
		c->group = t->pins_group;
	c->ev = pin_event_alloc(site, c->flags);
	c->prev = pin_call_current;
	pin_call_current = c;
}

/* A remote pin belongs to the address space it pins, not to the caller's. */
void pin_call_set_mm(struct pin_call *c, struct mm_struct *mm)
{
	if (c->ev == PIN_EV_NONE || c->ev == PIN_EV_NOCALL)
		return;
	/* the call's own open event: the reports see it once it is closed */
	__atomic_store_n(&pin_events[c->ev].mm, mm, __ATOMIC_RELAXED);
}

/* Close the call's event: add what it recorded, drop the open bias. */
static void pin_call_close(struct pin_call *c)
{
	struct pin_event *ev = &pin_events[c->ev];
	long left;

	pin_call_current = c->prev;
	if (c->ev == PIN_EV_NOCALL) {
		atomic_fetch_add_explicit(&ev->pins, c->pending, memory_order_relaxed);
		return;
	}
	/* MIGRATED is set on the call by the long-term loop */
	atomic_fetch_or_explicit(&ev->flags, c->flags, memory_order_relaxed);
	/* counted open before the bias goes: from then on another unpin may end it */
	pin_ev_count(false);
	left = atomic_fetch_add_explicit(&ev->pins, c->pending - PIN_EV_OPEN,
					 memory_order_acq_rel) + c->pending - PIN_EV_OPEN;
	if (left == 0) {
		pin_ev_count(true);
		pin_event_free(c->ev);
	}
}

/*
 * Charge a long-term call's pages to its group. The charge is taken after the
 * pins (and never passes pins.max: try_charge is a compare-and-swap), so a
 * refusal unpins everything, which uncharges nothing because the event has no
 * group yet; on success the event takes a reference on the group and every
 * later unpin of its pins uncharges it.
 */
static bool pin_call_charge(struct pin_call *c, long pages)
{
	if (!c->group || c->ev == PIN_EV_NOCALL || pages <= 0)
		return true;
	if (pins_group_try_charge(c->group, pages))
		return false;
	/* release: an unpin that sees the group sees its reference taken */
	__atomic_store_n(&pin_events[c->ev].group, pins_group_get(c->group), __ATOMIC_RELEASE);
	return true;
}

long pin_call_end_pages(struct pin_call *c, long ret, struct page **pages)
{
	if (c->ev == PIN_EV_NONE)
		return ret;
	if (ret > 0 && !pin_call_charge(c, ret)) {
		unpin_user_pages(pages, (unsigned long)ret);
		ret = -ENOMEM;
	}
	pin_call_close(c);
	return ret;
}

long pin_call_end_folios(struct pin_call *c, long ret, struct folio **folios)
{
	long pages = 0;

	if (c->ev == PIN_EV_NONE)
		return ret;
	for (long i = 0; i < ret; i++)
		pages += (long)folio_nr_pages(folios[i]);
	if (ret > 0 && !pin_call_charge(c, pages)) {
		unpin_folios(folios, (unsigned long)ret);
		ret = -ENOMEM;
	}
	pin_call_close(c);
	return ret;
}

/* ---- recording and releasing ----------------------------------------------------- */

/* The folio at @pfn has bucket entries, or no more. Bucket lock held. */
static void pin_owner_shared_set(unsigned long pfn, bool on)
{
	atomic_ulong *w = &pin_owner_shared[pfn / PIN_SHARED_BITS];
	unsigned long bit = 1UL << (pfn % PIN_SHARED_BITS);

	if (on)
		atomic_fetch_or_explicit(w, bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(w, ~bit, memory_order_relaxed);
}

/* A pin of a folio already pinned: an entry in its bucket, youngest first. */
static void pin_owner_add_shared(unsigned long pfn, uint32_t id, int refs)
{
	struct pin_bucket *b = pin_bucket(pfn);
	struct pin_shared *s;
	bool any = false;

	spin_lock(&b->lock);
	for (s = b->head; s; s = s->next) {
		if (s->pfn != pfn)
			continue;
		any = true;
		if (s->ev == id)
			break;
	}
	if (s) {
		s->pins += refs;
	} else {
		s = malloc(sizeof(*s));
		if (WARN_ON_ONCE(!s)) {
			spin_unlock(&b->lock);
			return;
		}
		*s = (struct pin_shared){ .pfn = pfn, .ev = id, .pins = refs, .next = b->head };
		b->head = s;
		if (!any)
			pin_owner_shared_set(pfn, true);
	}
	spin_unlock(&b->lock);
}

void __pin_owner_add_slow(struct folio *folio, int refs, bool first)
{
	struct pin_call *c = pin_call_current;
	unsigned long pfn = folio_pfn(folio);
	uint32_t id = c ? c->ev : PIN_EV_NOCALL;

	if (!pin_owner_is_on())
		return;
	if (first)
		atomic_store_explicit(&pin_owner_map[pfn], id, memory_order_release);
	else
		pin_owner_add_shared(pfn, id, refs);
	if (c)
		c->pending += refs;
	else
		atomic_fetch_add_explicit(&pin_events[PIN_EV_NOCALL].pins, refs,
					  memory_order_relaxed);
}

bool __pin_event_per_folio(uint32_t id)
{
	return atomic_load_explicit(&pin_events[id].flags, memory_order_relaxed) &
	       PIN_EV_PER_FOLIO;
}

void __pin_release_flush(struct pin_release *r)
{
	pin_event_put(r->ev, r->pins, r->pages);
	r->pins = 0;
	r->pages = 0;
}

/*
 * Release @refs pins of a folio that has shared entries: the youngest first,
 * then the word's event for the rest.
 */
void __pin_owner_release_shared(struct pin_release *r, struct folio *folio, int refs)
{
	unsigned long pfn = folio_pfn(folio);
	struct pin_bucket *b = pin_bucket(pfn);
	struct pin_shared **pp, *s, *dead = NULL;
	long per_pin = folio_nr_pages(folio);
	bool left = false;

	if (r->pins)
		__pin_release_flush(r);
	spin_lock(&b->lock);
	for (pp = &b->head; refs && (s = *pp);) {
		long n;

		if (s->pfn != pfn) {
			pp = &s->next;
			continue;
		}
		n = min((long)refs, s->pins);
		s->pins -= n;
		refs -= (int)n;
		/* drop the event's count outside the walk: collect on @dead */
		if (!s->pins) {
			*pp = s->next;
			s->pins = n;
			s->next = dead;
			dead = s;
		} else {
			pin_event_put(s->ev, n, n * per_pin);
			pp = &s->next;
		}
	}
	/* the last entry of this folio gone: unpins take the fast path again */
	for (s = b->head; s && !left; s = s->next)
		left = s->pfn == pfn;
	if (!left)
		pin_owner_shared_set(pfn, false);
	spin_unlock(&b->lock);
	for (s = dead; s; s = dead) {
		dead = s->next;
		pin_event_put(s->ev, s->pins, s->pins * per_pin);
		free(s);
	}
	if (refs) {
		r->ev = atomic_load_explicit(&pin_owner_map[pfn], memory_order_acquire);
		r->pins = refs;
		r->pages = (long)refs * per_pin;
		__pin_release_flush(r);
	}
	r->ev = PIN_EV_NONE;
	r->per_folio = false;
}

/* ---- reports --------------------------------------------------------------------- */

static int site_info_cmp(const void *a, const void *b)
{
	const struct pinmm_pin_site_info *x = a, *y = b;

	/* longest held first */
	if (x->held_ns != y->held_ns)
		return x->held_ns < y->held_ns ? 1 : -1;
	return x->site < y->site ? -1 : x->site > y->site;
}

/* A consistent copy of a closed event holding pins, for the reports. */
struct pin_ev_snap {
	const struct pin_site *site;
	struct mm_struct *mm;
	uint64_t stamp;
	long pins;
	unsigned int flags;
	pid_t pid;
	bool charged;
	uint64_t comm[2];
};

/*
 * Copy event @id into @o if it is a closed call's, holding pins, and was not
 * given to another call while we read it (@seq unchanged). Return: copied.
 */
static bool pin_event_read(uint32_t id, struct pin_ev_snap *o)
{
	struct pin_event *ev = &pin_events[id];
	unsigned int seq = atomic_load_explicit(&ev->seq, memory_order_acquire);

	if (seq & 1)
		return false;
	/* acquire: the close's update of pins comes after its mm, group and flags */
	o->pins = atomic_load_explicit(&ev->pins, memory_order_acquire);
	o->flags = atomic_load_explicit(&ev->flags, memory_order_relaxed);
	/* an open call has not handed its pins out yet */
	if (!(o->flags & PIN_EV_USED) || o->pins <= 0 || o->pins >= PIN_EV_OPEN / 2)
		return false;
	o->site = __atomic_load_n(&ev->site, __ATOMIC_RELAXED);
	o->mm = __atomic_load_n(&ev->mm, __ATOMIC_RELAXED);
	o->stamp = __atomic_load_n(&ev->stamp, __ATOMIC_RELAXED);
	o->pid = __atomic_load_n(&ev->pid, __ATOMIC_RELAXED);
	o->charged = __atomic_load_n(&ev->group, __ATOMIC_RELAXED) != NULL;
	o->comm[0] = __atomic_load_n(&ev->comm[0], __ATOMIC_RELAXED);
	o->comm[1] = __atomic_load_n(&ev->comm[1], __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&ev->seq, memory_order_relaxed) == seq;
}

/*
 * Summaries of the closed events holding pins, one per site; only those of
 * @mm when it is not NULL. Caller frees *out. Return: the number of sites.
 * Lockless against pinning and unpinning: each event is copied whole
 * (pin_event_read()) and the summaries are made from the copies.
 */
static int collect_sites(struct pinmm_pin_site_info **out, struct mm_struct *mm)
{
	uint32_t hw = pin_events ? atomic_load_explicit(&events_hw, memory_order_acquire) : 0;
	struct pinmm_pin_site_info *info = NULL;
	struct pin_ev_snap *ev = NULL, one;
	uint32_t nev = 0, ev_cap = 0;
	int nr = 0, cap = 0;
	uint64_t now;

	*out = NULL;
	/* out of memory: what was copied so far is listed, as with @info below */
	for (uint32_t id = PIN_EV_NOCALL; id < hw; id++) {
		if (!pin_event_read(id, &one) || (mm && one.mm != mm))
			continue;
		if (nev == ev_cap) {
			struct pin_ev_snap *n;

			ev_cap = ev_cap ? 2 * ev_cap : 64;
			n = realloc(ev, ev_cap * sizeof(*ev));
			if (!n)
				break;
			ev = n;
		}
		ev[nev++] = one;
	}
	/* after the copies: a call that started during them must not look older than now */
	now = pin_clock_ns();
	for (uint32_t e = 0; e < nev; e++) {
		struct pinmm_pin_site_info *si = NULL;
		bool seen = false;
		int i;

		for (i = 0; i < nr; i++)
			if (info[i].site == ev[e].site) {
				si = &info[i];
				break;
			}
		if (!si) {
			if (nr == cap) {
				struct pinmm_pin_site_info *n;

				cap = cap ? 2 * cap : 16;
				n = realloc(info, (size_t)cap * sizeof(*info));
				if (!n)
					break;
				info = n;
			}
			si = &info[nr++];
			memset(si, 0, sizeof(*si));
			si->site = ev[e].site;
		}
		si->pins += ev[e].pins;
		si->calls++;
		if (ev[e].flags & PIN_EV_LONGTERM)
			si->longterm += ev[e].pins;
		if (ev[e].flags & PIN_EV_MIGRATED)
			si->migrated += ev[e].pins;
		if (ev[e].charged)
			si->charged += ev[e].pins;
		if (ev[e].mm == PIN_EV_MM_GONE)
			si->mm_exited = true;
		/* distinct tasks: count a pid not seen at this site before */
		for (uint32_t j = 0; j < e && !seen; j++)
			seen = ev[j].site == ev[e].site && ev[j].pid == ev[e].pid;
		si->tasks += !seen;
		if (now - min(ev[e].stamp, now) >= si->held_ns) {
			si->held_ns = now - min(ev[e].stamp, now);
			si->pid = ev[e].pid;
			memcpy(si->comm, ev[e].comm, sizeof(si->comm));
		}
	}
	free(ev);
	if (nr)
		qsort(info, (size_t)nr, sizeof(*info), site_info_cmp);
	*out = info;
	return nr;
}

int pinmm_pins_sites(struct pinmm_pin_site_info *out, int max)
{
	struct pinmm_pin_site_info *info;
	int nr = collect_sites(&info, NULL);

	if (out && max > 0 && nr)
		memcpy(out, info, (size_t)min(nr, max) * sizeof(*out));
	free(info);
	return nr;
}

static void print_sites(FILE *out, const struct pinmm_pin_site_info *info, int nr,
			const char *indent)
{
	for (int i = 0; i < nr; i++) {
		const struct pinmm_pin_site_info *si = &info[i];

		fprintf(out, "%s%s:%d %s(): %ld pin(s), %ld call(s), %d task(s), oldest "
			"%.3f s (pid %d %s)", indent, si->site->file, si->site->line,
			si->site->func, si->pins, si->calls, si->tasks,
			(double)si->held_ns / 1e9, si->pid, si->comm);
		if (si->longterm)
			fprintf(out, "; long-term %ld", si->longterm);
		if (si->migrated)
			fprintf(out, ", %ld migrated out of ZONE_MOVABLE/CMA", si->migrated);
		if (si->charged)
			fprintf(out, "; %ld charged to a pins group", si->charged);
		if (si->mm_exited)
			fprintf(out, "; outlived its mm");
		fprintf(out, "\n");
	}
}

void pinmm_pins_show(FILE *out)
{
	struct pinmm_pin_site_info *info;
	long pins = 0;
	int nr;

	if (!pinmm_pin_owner_enabled()) {
		fprintf(out, "pin owner records are off (pinmm_pin_owner_enable(), "
			"PINMM_PIN_OWNER)\n");
	} else {
		nr = collect_sites(&info, NULL);
		for (int i = 0; i < nr; i++)
			pins += info[i].pins;
		fprintf(out, "outstanding pins by call site, longest held first: "
			"%ld pin(s) at %d site(s)\n", pins, nr);
		print_sites(out, info, nr, "  ");
		free(info);
	}
	pins_group_show(out);
}

/*
 * pin_owner_mm_exit - @mm's last user is gone: report the pins its tasks
 * took that are still held (they may be a driver's, released later; the
 * report names who to ask) and mark them as having outlived their mm.
 */
void pin_owner_mm_exit(struct mm_struct *mm)
{
	struct pinmm_pin_site_info *info;
	long pins = 0;
	uint32_t hw;
	int nr;

	if (!pin_events || !pin_ev_any_live())
		return;
	hw = atomic_load_explicit(&events_hw, memory_order_acquire);
	nr = collect_sites(&info, mm);
	for (int i = 0; i < nr; i++)
		pins += info[i].pins;
	if (nr) {
		fprintf(stderr, "pinmm: mm exit with %ld pin(s) still held, by call site:\n",
			pins);
		print_sites(stderr, info, nr, "    ");
	}
	free(info);
	/* a compare-and-swap: an event freed and given to another mm meanwhile keeps it */
	for (uint32_t id = PIN_EV_NOCALL + 1; id < hw; id++) {
		struct mm_struct *want = mm;

		__atomic_compare_exchange_n(&pin_events[id].mm, &want, PIN_EV_MM_GONE, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

/* Shutdown with pins outstanding: who holds them. */
void pin_owner_report_leaks(FILE *out)
{
	struct pinmm_pin_site_info *info;
	int nr;

	if (!pin_events || !pin_owner_is_on())
		return;
	nr = collect_sites(&info, NULL);
	if (nr) {
		fprintf(out, "pinmm: leaked pins by call site:\n");
		print_sites(out, info, nr, "    ");
	}
	free(info);
}

/*
 * Shutdown with every pin released: every owner record must be gone too.
 * Return: how many are left (each one an accounting bug, reported).
 */
unsigned long pin_owner_check_released(FILE *out)
{
	unsigned long left = 0;

	if (!pin_events)
		return 0;
	for (uint32_t id = PIN_EV_NOCALL + 1; id < events_hw; id++) {
		struct pin_event *ev = &pin_events[id];
		long pins = atomic_load_explicit(&ev->pins, memory_order_relaxed);

		if (!(atomic_load_explicit(&ev->flags, memory_order_relaxed) & PIN_EV_USED))
			continue;
		left++;
		fprintf(out, "pinmm: pin owner record of %s:%d %s() still counts %ld pin(s) "
			"though all were released\n", ev->site->file, ev->site->line,
			ev->site->func, pins);
	}
	for (unsigned long i = 0; i < pin_buckets_nr; i++)
		for (struct pin_shared *sh = pin_buckets[i].head; sh; sh = sh->next, left++)
			fprintf(out, "pinmm: pin owner entry of pfn %#lx still counts %ld pin(s)\n",
				sh->pfn, sh->pins);
	return left;
}

/* For a leaked folio's dump: the call that took its first pin. */
void pin_owner_dump_folio(FILE *out, const struct folio *folio)
{
	char comm[sizeof(((struct pin_event *)0)->comm) + 1] = "";
	const struct pin_event *ev;
	uint32_t id;

	if (!pin_events || !pin_owner_is_on() || !folio_maybe_dma_pinned((struct folio *)folio))
		return;
	id = atomic_load_explicit(&pin_owner_map[folio_pfn(folio)], memory_order_relaxed);
	if (id == PIN_EV_NONE)
		return;
	ev = &pin_events[id];
	memcpy(comm, ev->comm, sizeof(ev->comm));
	fprintf(out, "    pinned at %s:%d in %s() by pid %d (%s)%s\n", ev->site->file,
		ev->site->line, ev->site->func, ev->pid, comm,
		pin_owner_has_shared(folio_pfn(folio)) ? ", and by other calls" : "");
}
