// SPDX-License-Identifier: MIT
/*
 * The operation fuzzer (issue 13): one interpreter that reads bytes as a
 * sequence of operations on a booted machine — mmap of private/shared
 * anonymous memory, THP regions, device (PFNMAP) windows, diskfs files and
 * memfds (MAP_SHARED and MAP_PRIVATE); munmap, mprotect, madvise (MADV_FREE, MADV_REMOVE,
 * MADV_WILLNEED, MADV_DONTNEED_LOCKED, the read-pattern advice and guard
 * regions too), mlock, mlock2(MLOCK_ONFAULT) and munlock; CPU reads
 * and writes (copy_from_user/copy_to_user); device reads and writes through
 * pinned pages; fork, child actions and exit; every pin, GET and release
 * variant (pin_user_pages{,_fast,_unlocked,_remote}, get_user_pages
 * {,_fast,_unlocked,_remote,_fast_only}, RDMA/io_uring/VFIO registration,
 * memfd_pin_folios; unpin_user_page{,s,s_dirty_lock,_range_dirty_lock},
 * unpin_folio, put_page) with FOLL_WRITE/FOLL_LONGTERM/FOLL_FORCE/FOLL_ANON;
 * migration, compaction, cma_alloc/cma_release, memory offlining; and on
 * files kernel_write/kernel_read, vfs_write/vfs_read from user memory,
 * O_DIRECT, fsync/sync_file_range, ftruncate, fallocate and hole punching,
 * drop_caches and page-cache reclaim — checked after each operation against
 * a model of what every process maps and what every byte holds.
 *
 * The Linux rules it checks (Documentation/core-api/pin_user_pages.rst,
 * mm/gup.c, mm/memory.c, mm/page_isolation.c; docs/fuzzing.md lists them
 * with their sources):
 *  R1 a pin or GET returns exactly the accessible leading pages of the range
 *     (check_vma_flags(), a fault beyond EOF is -EFAULT), the pages the
 *     page tables map there, and an errno only when none was taken;
 *  R2 no zero page under a FOLL_WRITE or FOLL_LONGTERM pin, and an anon page
 *     under any FOLL_PIN is exclusive (PageAnonExclusive);
 *  R3 a long-term pin is never in ZONE_MOVABLE or a MIGRATE_CMA pageblock;
 *  R4 a pinned page stays coherent: the page tables keep mapping it, what a
 *     device writes through the pin the CPU reads through the mapping and
 *     the other way round (anon memory and shared file memory held by it);
 *  R5 after fork, parent and child never map the same anon page when one of
 *     them holds a pin on it (copy at fork, unshare at pin);
 *  R6 cma_alloc and offline_pages never succeed over a pinned or referenced
 *     page, and what they hand out is not user memory;
 *  R7 CPU reads see the last write: private memory is private per process
 *     after fork, shared memory and files are shared, migration and
 *     compaction move contents intact;
 *  R8 files: reads return what was written, truncation and hole punching
 *     zero what they cut, Direct I/O and the page cache agree, and what is
 *     written back comes back with good checksums;
 *  R9 each call returns Linux's value (mmap/munmap/mprotect/madvise errors,
 *     -EINVAL and one WARN for misused GUP flags, 0 from pin_user_pages);
 *  R10 nr_foll_pin_acquired - nr_foll_pin_released equals the pins held,
 *     after every operation, and both are equal at the end of an input;
 *  R11 no WARN fires that the input did not ask for, nothing stays isolated,
 *     every anon page is unmapped when the processes are gone (and no folio
 *     is left on the deferred-split queue), and the
 *     machine shuts down with every frame free.
 *
 * Two builds of this file: with gcc it is a TAP test that runs seeded
 * random episodes ($FUZZ_EPISODES, $FUZZ_SEED) and replays every input in
 * tests/fuzz/corpus/; with -DPINMM_LIBFUZZER (make fuzz, clang) it is a
 * libFuzzer target, and a broken rule aborts.
 *
 * Soak ($PINMM_FAIL_RATE, make soak): the operations whose failure the model
 * can follow (pins, memfd_pin_folios, fork, migration, compaction, offlining,
 * cma_alloc) run with random fault injection on; a call that met an injected
 * failure may then fail as Linux lets it (-ENOMEM, a short pin count, a
 * registration refused whole), and the model re-reads from the page tables
 * which private file pages a failed pin copied. Every other rule still holds.
 */
#include "../lib/process.h"
#include "../lib/machine.h"
#include "../lib/soak.h"

#include <pinmm/bug.h>
#include <pinmm/dma.h>
#include <pinmm/drivers.h>
#include <pinmm/fs.h>
#include <pinmm/gfp.h>
#include <pinmm/gup.h>
#include <pinmm/huge_mm.h>
#include <pinmm/ksm.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/mmzone.h>
#include <pinmm/pagemap.h>
#include <pinmm/rcupdate.h>
#include <pinmm/rmap.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/swap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <pinmm/writeback.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the machine and the model's shape -------------------------------------- */

#define FZ_MEM_MB	128
#define FZ_MOVABLE_MB	32
#define FZ_CMA_MB	16
#define FZ_SWAP_MB	16	/* a swap area in memory: MADV_PAGEOUT has somewhere to go */
/*
 * Reboot (and check a clean shutdown) after this many inputs on one machine.
 * A reboot costs ~35 ms (mostly waiting for the flusher, the disk thread and
 * RCU callbacks), an input ~0.3 ms plus its operations: libFuzzer reboots
 * rarely to keep its rate; the seeded driver, whose episodes are few, often.
 */
#ifdef PINMM_LIBFUZZER
#define FZ_REBOOT_EVERY	1000
#else
#define FZ_REBOOT_EVERY	100
#endif

#define FZ_BASE		0x400000000UL		/* 2 MiB aligned */
#define NSLOT		6			/* per process; the same addresses in all */
#define SLOT_PAGES	512			/* a slot spans one PMD */
#define SLOT_STRIDE	(4UL << 20)		/* a gap between slots: VMAs never merge */
#define SMALL_PAGES	48			/* small mappings live in a slot's first pages */
#define THP_SLOT0	4			/* slots 4 and 5 may hold a THP */
#define NPROC		4
#define NOBJ		8			/* 0-2 diskfs, 3-4 memfd, 5-7 shared anon */
#define OBJ_PAGES	64			/* the largest file */
#define OBJ_BYTES	(OBJ_PAGES * PAGE_SIZE)
#define NHOLD		16
#define HOLD_MAX	64			/* pages per hold */
#define NCMA		4

enum mkind { MK_NONE, MK_ANON, MK_OBJ, MK_FPRIV };
#define MF_COWED	0x01	/* MK_FPRIV: a private copy replaced the file page */
#define MF_DONTFORK	0x02
#define MF_WIPE		0x04
#define MF_LAZY		0x08	/* MK_ANON: MADV_FREEd, not written by the CPU since */
#define MF_GUARD	0x10	/* MADV_GUARD_INSTALL: every access faults */
#define MF_LOCKED	0x20	/* mlock: VM_LOCKED (not inherited by fork) */

/* What one process maps at one page, and what it holds. */
struct mpage {
	uint8_t kind;		/* enum mkind */
	uint8_t prot;		/* PROT_NONE, PROT_READ, PROT_READ|PROT_WRITE */
	uint8_t flags;		/* MF_* */
	uint8_t obj;		/* MK_OBJ/MK_FPRIV: the object */
	uint16_t pgoff;		/* ... and the page of it */
	uint16_t unk;		/* with data: bytes from here on are unknown */
	uint32_t gen;		/* new each time what is mapped here is replaced */
	uint8_t *data;		/* private data (MK_ANON, cowed MK_FPRIV); NULL: zeroes */
};

struct proc {
	struct task_struct *task;	/* NULL: not alive */
	uint32_t life;			/* new at each birth */
	unsigned long dev_addr;		/* a device (PFNMAP) window, or 0 */
	unsigned long dev_pages;
	int dev_prot;
	struct mpage pg[NSLOT][SLOT_PAGES];
};

enum otype { OT_DISK, OT_MEMFD, OT_SHANON };

struct fobj {
	int type;
	bool open;
	struct file *f, *fdio;		/* buffered and O_DIRECT (diskfs) opens */
	long size;
	long hiwater;			/* the largest size since data was last zeroed */
	long maprefs;			/* model pages that map it */
	uint64_t unknown;		/* pages whose bytes the model cannot know */
	bool used;			/* written: check it at the end */
	uint32_t pgen[OBJ_PAGES];	/* new when a page leaves the cache */
	uint8_t *data;			/* OBJ_BYTES; zero beyond size */
};

enum hkind { H_PIN, H_GET, H_RDMA, H_IOU, H_VFIO, H_FOLIOS };
enum htype { T_NONE, T_ANON, T_OBJ, T_ZERO };

struct htarget {
	uint8_t type;		/* enum htype */
	uint8_t obj;
	uint8_t slot;
	bool devw;		/* a device wrote through it */
	uint16_t idx;		/* T_ANON: page in the slot; T_OBJ: page of the object */
	uint32_t gen;		/* the mpage's or object page's gen at pin time */
};

struct hold {
	bool used;
	int kind;		/* enum hkind */
	int proc;
	uint32_t life;
	unsigned int flags;	/* FOLL_* */
	unsigned long addr;
	long n;
	struct page *pages[HOLD_MAX];
	struct htarget t[HOLD_MAX];
	void *drv;		/* rdma_mr / iou_buffer */
	struct folio *folios[HOLD_MAX];
};

struct cma_hold {
	struct page *page;
	unsigned long count;
	uint8_t tag;
};

enum rule {
	R_PIN_RANGE, R_PIN_ZERO, R_LONGTERM, R_COHERENT, R_FORK_SHARE, R_CONTIG,
	R_CPU, R_FILE, R_RETURN, R_BALANCE, R_QUIESCE, NR_RULES
};

static const char *const rule_text[NR_RULES] = {
	[R_PIN_RANGE] = "R1: a pin/GET returns exactly the accessible leading pages, the pages "
			"mapped there, an errno only when none was taken",
	[R_PIN_ZERO] = "R2: no zero page under FOLL_WRITE or FOLL_LONGTERM; FOLL_PIN anon pages "
		       "are exclusive",
	[R_LONGTERM] = "R3: a FOLL_LONGTERM pin is never in ZONE_MOVABLE or MIGRATE_CMA",
	[R_COHERENT] = "R4: a pinned page stays mapped and coherent between CPU and device",
	[R_FORK_SHARE] = "R5: parent and child never share an anon page one of them pinned",
	[R_CONTIG] = "R6: cma_alloc/offline_pages never succeed over a pinned or referenced page",
	[R_CPU] = "R7: CPU reads see the last write (private per process, shared when shared, "
		  "intact across migration)",
	[R_FILE] = "R8: files read back what was written, truncated and punched; checksums good",
	[R_RETURN] = "R9: mmap/munmap/mprotect/madvise/GUP misuse return Linux's values",
	[R_BALANCE] = "R10: nr_foll_pin_acquired - nr_foll_pin_released == pins held",
	[R_QUIESCE] = "R11: no unexpected WARN, nothing isolated or queued, no anon page left, clean shutdown",
};

static struct {
	struct proc procs[NPROC];
	struct fobj objs[NOBJ];
	struct hold holds[NHOLD];
	struct cma_hold cma[NCMA];
	int cur;			/* the process attached as current, or -1 */
	uint32_t gen;
	long pins_held;			/* pages held by FOLL_PIN */
	long pin_base;			/* acquired - released at input start */
	unsigned long warn_base;	/* pinmm_warn_count() plus expected WARNs */
	bool failed;			/* stop this input */
	unsigned long op_index;
	const char *op_name;
	/* statistics */
	unsigned long inputs, ops, inputs_since_boot;
	unsigned long violations[NR_RULES];
	/* what the inputs reached: a fuzzer that never pins checks nothing */
	unsigned long st_pinned, st_longterm, st_thp, st_devcheck, st_forks, st_migrated,
		      st_cma, st_offline, st_filecheck, st_cpucheck, st_collapse,
		      st_swapout, st_ksm;
	unsigned long reported;
	const char *label;		/* episode / corpus file, for messages */
	bool trace;			/* $FUZZ_TRACE: print each operation */
	bool soak;			/* $PINMM_FAIL_RATE: random fault injection */
	bool injecting;			/* ... armed for the operation running */
	uint64_t in_hash;		/* the input's hash: seeds the injection of each op */
	unsigned long st_excused;	/* calls that failed on an injected failure */
	/* the input */
	const uint8_t *in;
	size_t in_len, in_pos;
} fz;

/* ---- reporting -------------------------------------------------------------- */

#ifdef PINMM_LIBFUZZER
static void fz_report(void);
#endif

static __printf(2, 3) void fz_fail(enum rule r, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fz.violations[r]++;
	fz.failed = true;
#ifdef PINMM_LIBFUZZER
	fprintf(stderr, "pinmm fuzz: %s\n  op %lu (%s): %s\n", rule_text[r], fz.op_index,
		fz.op_name ? fz.op_name : "end of input", msg);
	fz_report();	/* what ran before the failure counts too */
	abort();
#else
	if (fz.reported++ < 12)
		diag("FAIL %s, op %lu (%s): %s [%s]", fz.label ? fz.label : "?", fz.op_index,
		     fz.op_name ? fz.op_name : "end of input", msg, rule_text[r]);
#endif
}

/* ---- input bytes ------------------------------------------------------------ */

static unsigned int get8(void)
{
	return fz.in_pos < fz.in_len ? fz.in[fz.in_pos++] : 0;
}

static unsigned int get16(void)
{
	return get8() | get8() << 8;
}

/* ---- small helpers ---------------------------------------------------------- */

static unsigned long slot_addr(int s, int i)
{
	return FZ_BASE + (unsigned long)s * SLOT_STRIDE + (unsigned long)i * PAGE_SIZE;
}

static uint32_t new_gen(void)
{
	return ++fz.gen;
}

/* The byte a write tagged @seed puts at position @k of its buffer. */
static uint8_t pat(unsigned int seed, unsigned long k)
{
	uint64_t x = (k + 1) * 0x9e3779b97f4a7c15ULL ^ (seed + 1) * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 29;
	return (uint8_t)(x * 0x94d049bb133111ebULL >> 56);
}

static void fill_pat(uint8_t *buf, size_t len, unsigned int seed)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = pat(seed, k);
}

static void use_proc(int p)
{
	if (fz.cur == p)
		return;
	if (fz.cur >= 0)
		pinmm_task_detach();
	pinmm_task_attach(fz.procs[p].task);
	fz.cur = p;
}

static void unuse_proc(void)
{
	if (fz.cur >= 0)
		pinmm_task_detach();
	fz.cur = -1;
}

/* A live process chosen by @b (process 0 always lives during an input). */
static int pick_proc(unsigned int b)
{
	int live[NPROC], n = 0;

	for (int p = 0; p < NPROC; p++)
		if (fz.procs[p].task)
			live[n++] = p;
	return live[b % (unsigned int)n];
}

static long obj_npages(const struct fobj *o)
{
	return (o->size + (long)PAGE_SIZE - 1) >> PAGE_SHIFT;
}

static bool file_backed(const struct mpage *m)
{
	return m->kind == MK_OBJ || (m->kind == MK_FPRIV && !(m->flags & MF_COWED));
}

static bool private_data(const struct mpage *m)
{
	return m->kind == MK_ANON || (m->kind == MK_FPRIV && (m->flags & MF_COWED));
}

static bool in_eof(const struct mpage *m)
{
	return m->pgoff < obj_npages(&fz.objs[m->obj]);
}

static bool cpu_readable(const struct mpage *m)
{
	return m->kind != MK_NONE && !(m->flags & MF_GUARD) && (m->prot & PROT_READ) &&
	       (!file_backed(m) || in_eof(m));
}

static bool cpu_writable(const struct mpage *m)
{
	return m->kind != MK_NONE && !(m->flags & MF_GUARD) && (m->prot & PROT_WRITE) &&
	       (!file_backed(m) || in_eof(m));
}

/* Is the byte at @off of this page's content known to the model? */
static bool byte_known(const struct mpage *m, unsigned long off)
{
	const struct fobj *o;
	long pos;

	if (private_data(m))
		return !m->data || off < m->unk;	/* no data: zeroes, known */
	o = &fz.objs[m->obj];
	pos = (long)m->pgoff * (long)PAGE_SIZE + (long)off;
	return pos < o->size && !(o->unknown & (1ULL << m->pgoff));
}

static uint8_t model_byte(const struct mpage *m, unsigned long off)
{
	if (private_data(m))
		return m->data ? m->data[off] : 0;
	return fz.objs[m->obj].data[(unsigned long)m->pgoff * PAGE_SIZE + off];
}

/* ---- changing the model ------------------------------------------------------- */

static void mp_clear(struct mpage *m)
{
	if (m->kind == MK_OBJ || m->kind == MK_FPRIV)
		fz.objs[m->obj].maprefs--;
	free(m->data);
	memset(m, 0, sizeof(*m));
	m->unk = PAGE_SIZE;
	m->gen = new_gen();
}

/* A shared anon object dies with its last mapping: pins on it are orphans. */
static void obj_put_if_unmapped(int oi)
{
	struct fobj *o = &fz.objs[oi];

	if (o->type != OT_SHANON || !o->open || o->maprefs)
		return;
	o->open = false;
	for (int i = 0; i < OBJ_PAGES; i++)
		o->pgen[i] = new_gen();
}

static void mp_unmap(struct mpage *m)
{
	int oi = m->kind == MK_OBJ || m->kind == MK_FPRIV ? m->obj : -1;

	mp_clear(m);
	if (oi >= 0)
		obj_put_if_unmapped(oi);
}

/* Private data for an anon page (zeroes until now). */
static uint8_t *mp_data(struct mpage *m)
{
	if (!m->data) {
		m->data = calloc(1, PAGE_SIZE);
		if (!m->data)
			bail_out("out of memory");
		m->unk = PAGE_SIZE;
	}
	return m->data;
}

/* A MAP_PRIVATE file page gets its private copy (COW) of the file page now. */
static void mp_cow(struct mpage *m)
{
	struct fobj *o = &fz.objs[m->obj];
	long known = o->size - (long)m->pgoff * (long)PAGE_SIZE;

	if (m->kind != MK_FPRIV || (m->flags & MF_COWED))
		return;
	memcpy(mp_data(m), o->data + (unsigned long)m->pgoff * PAGE_SIZE, PAGE_SIZE);
	if (o->unknown & (1ULL << m->pgoff))
		known = 0;
	m->unk = (uint16_t)(known < 0 ? 0 : known > (long)PAGE_SIZE ? (long)PAGE_SIZE : known);
	m->flags |= MF_COWED;
	m->gen = new_gen();
}

/* Store @len bytes at @off of the page @m maps (after any COW). */
static void mp_store(struct mpage *m, unsigned long off, const uint8_t *src, size_t len,
		     bool known)
{
	if (m->kind == MK_FPRIV)
		mp_cow(m);
	if (private_data(m)) {
		/* a CPU or kernel write dirties it: reclaim keeps it now */
		m->flags &= (uint8_t)~MF_LAZY;
		memcpy(mp_data(m) + off, src, len);
		if (!known) {
			if (off < m->unk)
				m->unk = (uint16_t)off;
		} else if (off <= m->unk && off + len > m->unk) {
			m->unk = (uint16_t)(off + len);
		}
		return;
	}
	{
		struct fobj *o = &fz.objs[m->obj];
		long pos = (long)m->pgoff * (long)PAGE_SIZE + (long)off;
		long n = min((long)len, o->size - pos);

		/* bytes past EOF in the EOF page are never written back: not modelled */
		if (n > 0)
			memcpy(o->data + pos, src, (size_t)n);
		if (!known)
			o->unknown |= 1ULL << m->pgoff;
	}
}

/* The model learns from the page tables which MAP_PRIVATE file pages were copied. */
static void resync_cow(int p, int s, int i0, int n)
{
	struct mm_struct *mm = fz.procs[p].task->mm;

	for (int i = i0; i < i0 + n && i < SLOT_PAGES; i++) {
		struct mpage *m = &fz.procs[p].pg[s][i];
		unsigned long pfn;

		if (m->kind != MK_FPRIV || (m->flags & MF_COWED))
			continue;
		pfn = test_pt_pfn(mm, slot_addr(s, i));
		if (pfn != -1UL && !is_zero_pfn(pfn) && folio_test_anon(pfn_folio(pfn)))
			mp_cow(m);
	}
}

/* ---- objects ---------------------------------------------------------------------- */

/* Bytes of an object beyond its size are zero; hiwater bounds what to clear later. */
static void obj_set_size(struct fobj *o, long size)
{
	o->size = size;
	if (size > o->hiwater)
		o->hiwater = size;
}

/* Zero an object's bytes (all that were ever inside its size) for a new life. */
static void obj_zero(struct fobj *o)
{
	memset(o->data, 0, (size_t)o->hiwater);
	o->hiwater = 0;
	o->size = 0;
	o->unknown = 0;
}

static const char *obj_name(int oi)
{
	static const char *const names[] = { "fz0", "fz1", "fz2", "fzm3", "fzm4" };

	return names[oi];
}

/* Soak: random fault injection on or off for this thread (fuzz.c's header). */
static void fz_inject(bool on)
{
	/* seeded by the input and the operation: a saved input replays its failures */
	if (on)
		soak_fail_arm_seed(fz.in_hash ^ (fz.op_index * 0xff51afd7ed558ccdULL));
	else
		soak_fail_disarm();
}

static bool obj_open_now(struct fobj *o, int oi)
{
	if (o->type == OT_DISK) {
		o->f = filp_open(obj_name(oi), O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (IS_ERR(o->f)) {
			fz_fail(R_FILE, "filp_open(%s) = %ld", obj_name(oi), PTR_ERR(o->f));
			return false;
		}
		o->fdio = filp_open(obj_name(oi), O_RDWR | O_DIRECT, 0);
		if (IS_ERR(o->fdio)) {
			fz_fail(R_FILE, "filp_open(%s, O_DIRECT) = %ld", obj_name(oi),
				PTR_ERR(o->fdio));
			fput(o->f);
			return false;
		}
	} else if (o->type == OT_MEMFD) {
		o->f = memfd_alloc_file(obj_name(oi), 0);
		if (IS_ERR(o->f)) {
			fz_fail(R_FILE, "memfd_alloc_file = %ld", PTR_ERR(o->f));
			return false;
		}
		o->fdio = NULL;
	} else {
		return false;
	}
	o->open = true;
	obj_zero(o);
	for (int i = 0; i < OBJ_PAGES; i++)
		o->pgen[i] = new_gen();
	return true;
}

/* Open (create, empty) object @oi if this input has not yet. */
static bool obj_open(int oi)
{
	struct fobj *o = &fz.objs[oi];
	bool ok;

	if (o->open)
		return true;
	/* opening the object is the set-up, not the operation under test */
	if (fz.injecting)
		fz_inject(false);
	ok = obj_open_now(o, oi);
	if (fz.injecting)
		fz_inject(true);
	return ok;
}

/* The object's size changes to @size: what is cut is zeroed and leaves the cache. */
static void obj_resize(int oi, long size, bool even_cows)
{
	struct fobj *o = &fz.objs[oi];
	long old = o->size;

	if (size < old) {
		long np = (size + (long)PAGE_SIZE - 1) >> PAGE_SHIFT;

		memset(o->data + size, 0, (size_t)(old - size));
		for (long i = np; i < OBJ_PAGES; i++) {
			o->pgen[i] = new_gen();
			o->unknown &= ~(1ULL << i);
		}
		/* truncation unmaps private COW copies beyond EOF too (even_cows) */
		for (int p = 0; even_cows && p < NPROC; p++) {
			if (!fz.procs[p].task)
				continue;
			for (int s = 0; s < NSLOT; s++)
				for (int i = 0; i < SLOT_PAGES; i++) {
					struct mpage *m = &fz.procs[p].pg[s][i];

					if (m->kind == MK_FPRIV && m->obj == oi && m->pgoff >= np &&
					    (m->flags & MF_COWED)) {
						free(m->data);
						m->data = NULL;
						m->flags &= (uint8_t)~MF_COWED;
						m->unk = PAGE_SIZE;
						m->gen = new_gen();
					}
				}
		}
	}
	obj_set_size(o, size);
}

/* Hole punch [@off, @off + @len): zeroes; whole pages leave the cache; COWs stay. */
static void obj_punch(int oi, long off, long len)
{
	struct fobj *o = &fz.objs[oi];
	long end = min(off + len, o->size);

	if (off >= end)
		return;
	memset(o->data + off, 0, (size_t)(end - off));
	for (long i = (off + (long)PAGE_SIZE - 1) >> PAGE_SHIFT; (i + 1) * (long)PAGE_SIZE <= off + len &&
	     i < OBJ_PAGES; i++) {
		o->pgen[i] = new_gen();
		o->unknown &= ~(1ULL << i);
	}
}

/* A write of [pos, pos + len) into an object: size grows, whole pages become known. */
static void obj_write_model(int oi, long pos, const uint8_t *src, const bool *known, size_t len)
{
	struct fobj *o = &fz.objs[oi];

	if (pos + (long)len > o->size)
		obj_set_size(o, pos + (long)len);
	memcpy(o->data + pos, src, len);
	for (long i = pos >> PAGE_SHIFT; i <= (pos + (long)len - 1) >> PAGE_SHIFT; i++) {
		long ps = i * (long)PAGE_SIZE;
		bool all = true;

		for (size_t k = 0; known && k < len; k++)
			if (!known[k] && (long)k + pos >= ps && (long)k + pos < ps + (long)PAGE_SIZE)
				all = false;
		if (!all)
			o->unknown |= 1ULL << i;
		else if (pos <= ps && pos + (long)len >= ps + (long)PAGE_SIZE)
			o->unknown &= ~(1ULL << i);
	}
	o->used = true;
}

/* ---- pins and their checks ---------------------------------------------------------- */

static bool is_zero_or_huge_zero(struct page *page)
{
	return is_zero_page(page) || is_huge_zero_folio(page_folio(page));
}

/* Pins of the shared zero page are not counted (Linux 6.6: nothing to account). */
static long pin_weight(struct page **pages, long n)
{
	long w = 0;

	for (long j = 0; j < n; j++)
		w += !is_zero_page(pages[j]);
	return w;
}

/*
 * Pins a new hold of @r pages keeps: an io_uring buffer coalesced from large
 * folios keeps one per folio (Linux's io_coalesce_buffer()), one entry each.
 */
static long hold_pin_weight(struct hold *h, long r)
{
	if (h->kind == H_IOU)
		return (long)((struct iou_buffer *)h->drv)->nr_bvecs;
	return pin_weight(h->pages, r);
}

static bool hold_is_pin(const struct hold *h)
{
	return h->kind != H_GET;
}

/* Is the target of page @j of @h still what the model says the pin holds? */
static bool target_live(const struct hold *h, int j)
{
	const struct htarget *t = &h->t[j];

	if (t->type == T_ANON) {
		const struct proc *pr = &fz.procs[h->proc];

		return pr->task && pr->life == h->life && pr->pg[t->slot][t->idx].gen == t->gen;
	}
	if (t->type == T_OBJ)
		return fz.objs[t->obj].pgen[t->idx] == t->gen;
	return t->type == T_ZERO;
}

static bool held_pfn(unsigned long pfn)
{
	for (int h = 0; h < NHOLD; h++) {
		const struct hold *hd = &fz.holds[h];

		for (long j = 0; hd->used && j < hd->n; j++) {
			struct folio *f = page_folio(hd->pages[j]);

			if (is_zero_or_huge_zero(hd->pages[j]))
				continue;
			if (pfn >= folio_pfn(f) && pfn < folio_pfn(f) + folio_nr_pages(f))
				return true;
		}
	}
	return false;
}

/* The checks on a held page that any operation may break (R2-R5). */
static void check_hold_page(struct hold *h, int j)
{
	struct htarget *t = &h->t[j];
	struct page *page = h->pages[j];
	unsigned long pfn = page_to_pfn(page), at;

	if (hold_is_pin(h) && !is_zero_or_huge_zero(page) && !folio_maybe_dma_pinned(page_folio(page)))
		fz_fail(R_COHERENT, "pfn %#lx is held by a pin but not folio_maybe_dma_pinned()", pfn);
	if ((h->flags & FOLL_LONGTERM) && !folio_is_longterm_pinnable(page_folio(page)))
		fz_fail(R_LONGTERM, "long-term pinned pfn %#lx is in %s/%s", pfn,
			page_zone(page)->name, is_migrate_cma(get_pfnblock_migratetype(pfn)) ?
			"CMA" : "not CMA");
	if (!hold_is_pin(h) || t->type != T_ANON || !target_live(h, j))
		return;
	at = slot_addr(t->slot, t->idx);
	if (test_pt_pfn(fz.procs[h->proc].task->mm, at) != pfn)
		fz_fail(R_COHERENT, "process %d maps pfn %#lx at %#lx, not the pinned pfn %#lx",
			h->proc, test_pt_pfn(fz.procs[h->proc].task->mm, at), at, pfn);
	for (int q = 0; q < NPROC; q++) {
		if (q == h->proc || !fz.procs[q].task)
			continue;
		if (test_pt_pfn(fz.procs[q].task->mm, at) == pfn)
			fz_fail(R_FORK_SHARE, "process %d maps pfn %#lx at %#lx, pinned by process %d",
				q, pfn, at, h->proc);
	}
}

static void check_holds(void)
{
	for (int h = 0; h < NHOLD && !fz.failed; h++)
		for (long j = 0; fz.holds[h].used && j < fz.holds[h].n && !fz.failed; j++)
			check_hold_page(&fz.holds[h], (int)j);
}

/* Does the device, reading page @j of @h, see what the model says the target holds? */
static void device_read_check(struct hold *h, int j, unsigned long off, size_t len)
{
	const struct htarget *t = &h->t[j];
	uint8_t buf[PAGE_SIZE];
	const struct mpage *m;
	struct mpage fake;

	if (!hold_is_pin(h) || !target_live(h, j))
		return;
	pinmm_dma_copy(buf, (uint8_t *)page_address(h->pages[j]) + off, len);
	if (t->type == T_ZERO) {
		for (size_t k = 0; k < len; k++)
			if (buf[k]) {
				fz_fail(R_COHERENT, "a pinned zero page reads %#x", buf[k]);
				return;
			}
		return;
	}
	if (t->type == T_ANON) {
		m = &fz.procs[h->proc].pg[t->slot][t->idx];
	} else {
		memset(&fake, 0, sizeof(fake));
		fake.kind = MK_OBJ;
		fake.obj = t->obj;
		fake.pgoff = t->idx;
		m = &fake;
	}
	for (size_t k = 0; k < len; k++)
		if (byte_known(m, off + k) && buf[k] != model_byte(m, off + k)) {
			fz_fail(R_COHERENT, "device reads %#x at byte %lu of pinned pfn %#lx, "
				"the model (last CPU or device write) says %#x", buf[k], off + k,
				page_to_pfn(h->pages[j]), model_byte(m, off + k));
			return;
		}
}

/* $FUZZ_TRACE: what the model and the page tables say about a range. */
static void trace_range(int p, int s, int i, long n)
{
	for (long k = 0; fz.trace && k < n && i + k < SLOT_PAGES; k++) {
		const struct mpage *m = &fz.procs[p].pg[s][i + k];
		unsigned long pfn = test_pt_pfn(fz.procs[p].task->mm, slot_addr(s, i + (int)k));

		fprintf(stderr, "fuzz:     %#lx kind %d prot %d flags %#x obj %d pgoff %u size %ld: "
			"pfn %#lx %s%s%s\n", slot_addr(s, i + (int)k), m->kind, m->prot, m->flags,
			m->obj, m->pgoff, m->kind >= MK_OBJ ? fz.objs[m->obj].size : -1L, pfn,
			pfn == -1UL ? "" : page_zone(pfn_to_page(pfn))->name,
			pfn != -1UL && is_migrate_cma(get_pfnblock_migratetype(pfn)) ? " CMA" : "",
			pfn != -1UL && folio_test_anon(pfn_folio(pfn)) ? " anon" : "");
	}
}

/* ---- model of GUP (R1) ------------------------------------------------------------- */

/* 0 if GUP may take page @i of slot @s of process @p with @flags, else the errno. */
static int gup_page_err(int p, int s, int i, unsigned int flags, bool pin)
{
	const struct mpage *m;

	if (i >= SLOT_PAGES)
		return -EFAULT;
	m = &fz.procs[p].pg[s][i];
	if (m->kind == MK_NONE || (m->flags & MF_GUARD))
		return -EFAULT;		/* a guard faults (SIGSEGV), FOLL_FORCE or not */
	if ((flags & FOLL_ANON) && m->kind != MK_ANON)
		return -EFAULT;
	if (flags & FOLL_WRITE) {
		/* a writable long-term pin of a file that writes back (Linux 6.5) */
		if (pin && (flags & FOLL_LONGTERM) && m->kind == MK_OBJ &&
		    fz.objs[m->obj].type == OT_DISK && (m->prot & PROT_WRITE))
			return -EFAULT;
		if (!(m->prot & PROT_WRITE)) {
			if (!(flags & FOLL_FORCE))
				return -EFAULT;
			if (m->kind == MK_OBJ)
				return -EFAULT;	/* forced writes only break COW */
		}
	} else if (!(m->prot & PROT_READ)) {
		if (!(flags & FOLL_FORCE))
			return -EFAULT;
	}
	if (file_backed(m) && !in_eof(m))
		return -EFAULT;		/* the fault is a SIGBUS */
	return 0;
}

/* Leading pages GUP may take; *@err is the errno of the first it may not. */
static long gup_expect(int p, int s, int i, long n, unsigned int flags, bool pin, int *err)
{
	long k;

	*err = 0;
	for (k = 0; k < n; k++) {
		*err = gup_page_err(p, s, i + (int)k, flags, pin);
		if (*err)
			break;
	}
	return k;
}

/*
 * Must a long-term pin of these pages fail? It migrates pages out of
 * ZONE_MOVABLE/CMA first, and migration fails on a folio that someone else
 * holds a reference on (a GET, a short-term pin): then the pin is -ENOMEM.
 */
static bool longterm_blocked(int p, int s, int i, long n)
{
	for (long k = 0; k < n; k++) {
		unsigned long pfn = test_pt_pfn(fz.procs[p].task->mm, slot_addr(s, i + (int)k));

		if (pfn == -1UL || is_zero_pfn(pfn) || is_huge_zero_folio(pfn_folio(pfn)))
			continue;
		if (!folio_is_longterm_pinnable(pfn_folio(pfn)) && held_pfn(pfn))
			return true;
	}
	return false;
}

/* The model after GUP took page @i: COW where GUP breaks it; the target. */
static void gup_took(struct hold *h, int j, int s, int i)
{
	struct mpage *m = &fz.procs[h->proc].pg[s][i];
	struct htarget *t = &h->t[j];
	bool pin = hold_is_pin(h);

	if (m->kind == MK_FPRIV && !(m->flags & MF_COWED) &&
	    ((h->flags & FOLL_WRITE) || (pin && (h->flags & FOLL_LONGTERM))))
		mp_cow(m);	/* FOLL_WRITE breaks COW; a R/O long-term pin unshares */
	memset(t, 0, sizeof(*t));
	if (is_zero_or_huge_zero(h->pages[j])) {
		t->type = T_ZERO;
	} else if (private_data(m)) {
		t->type = T_ANON;
		t->slot = (uint8_t)s;
		t->idx = (uint16_t)i;
		t->gen = m->gen;
	} else {
		t->type = T_OBJ;
		t->obj = m->obj;
		t->idx = m->pgoff;
		t->gen = fz.objs[m->obj].pgen[m->pgoff];
	}
}

/* The checks on each page a pin or GET just returned (R1-R3). */
static void check_taken(struct hold *h, int s, int i0)
{
	struct mm_struct *mm = fz.procs[h->proc].task->mm;
	bool pin = hold_is_pin(h);

	for (long j = 0; j < h->n && !fz.failed; j++) {
		struct page *page = h->pages[j];
		unsigned long at = slot_addr(s, i0 + (int)j), pfn = test_pt_pfn(mm, at);
		bool zero = is_zero_or_huge_zero(page);

		if (pfn != page_to_pfn(page))
			fz_fail(R_PIN_RANGE, "page %ld of the %s is pfn %#lx, the page tables map "
				"%#lx at %#lx", j, pin ? "pin" : "GET", page_to_pfn(page), pfn, at);
		if (zero && (h->flags & (FOLL_WRITE | FOLL_LONGTERM)) && pin)
			fz_fail(R_PIN_ZERO, "a %s pin returned the zero page at %#lx",
				h->flags & FOLL_WRITE ? "FOLL_WRITE" : "FOLL_LONGTERM", at);
		if (zero && (h->flags & FOLL_WRITE))
			fz_fail(R_PIN_ZERO, "FOLL_WRITE returned the zero page at %#lx", at);
		if (pin && !zero && PageAnon(page) && !PageAnonExclusive(page) &&
		    !PageAnonExclusive(&page_folio(page)->page))
			fz_fail(R_PIN_ZERO, "FOLL_PIN of a shared anon page at %#lx (not exclusive)", at);
		if (pin && (h->flags & FOLL_LONGTERM) && !folio_is_longterm_pinnable(page_folio(page)))
			fz_fail(R_LONGTERM, "FOLL_LONGTERM returned pfn %#lx in %s (%s pageblock)",
				page_to_pfn(page), page_zone(page)->name,
				is_migrate_cma(get_pfnblock_migratetype(page_to_pfn(page))) ?
				"CMA" : "non-CMA");
		gup_took(h, (int)j, s, i0 + (int)j);
	}
	for (long j = 0; j < h->n && j < 2 && !fz.failed; j++)
		device_read_check(h, (int)j, 0, PAGE_SIZE);
}

/* The (@b mod the number held)-th hold in use, or NULL if none is. */
static struct hold *pick_hold(unsigned int b)
{
	int used[NHOLD], n = 0;

	for (int h = 0; h < NHOLD; h++)
		if (fz.holds[h].used)
			used[n++] = h;
	return n ? &fz.holds[used[b % (unsigned int)n]] : NULL;
}

static struct hold *free_hold(void)
{
	for (int h = 0; h < NHOLD; h++)
		if (!fz.holds[h].used)
			return &fz.holds[h];
	return NULL;
}

/*
 * A device wrote through page @j of @h and the pin is dropped without
 * dirtying: the folio may be clean (GUP-fast pins a writable clean PTE
 * without dirtying it, as Linux's does), and a clean cache folio may be
 * dropped, a disk file's and a shmem one's alike (drop_caches walks tmpfs
 * too). What the device wrote is then unknown: the driver should have
 * released with unpin_user_pages_dirty_lock(.., true).
 */
static void hold_forget_clean(struct hold *h, long j, bool dirty, uint64_t clean_swapcache)
{
	const struct htarget *t = &h->t[j];

	if (dirty || !t->devw || !target_live(h, (int)j))
		return;
	if (t->type == T_OBJ) {
		fz.objs[t->obj].unknown |= 1ULL << t->idx;
	} else if (t->type == T_ANON && (clean_swapcache & (1ULL << j))) {
		/*
		 * An anon page swapped in by a read keeps its slot, clean:
		 * reclaim may drop it and a later fault reads the slot's
		 * older copy back (Linux's should_try_to_free_swap()).
		 */
		struct mpage *m = &fz.procs[h->proc].pg[t->slot][t->idx];

		if (m->data)
			m->unk = 0;
	} else if (t->type == T_ANON) {
		/*
		 * A lazyfree page (MADV_FREE) the device wrote, released
		 * clean: reclaim may discard it now (Linux keeps it only while
		 * the reference is held).
		 */
		struct mpage *m = &fz.procs[h->proc].pg[t->slot][t->idx];

		if (m->data && (m->flags & MF_LAZY))
			m->unk = 0;
	}
}

/* Which of pages [@from, @from + @nr) of @h are clean swap-cache folios, before release. */
static uint64_t hold_clean_swapcache(const struct hold *h, long from, long nr)
{
	uint64_t mask = 0;

	for (long j = from; j < from + nr; j++) {
		struct folio *folio = page_folio(h->pages[j]);

		if (folio_test_swapcache(folio) && !folio_test_dirty(folio))
			mask |= 1ULL << j;
	}
	return mask;
}

/* Release pages [@from, @from + @nr) of @h with variant @how. */
static void hold_release(struct hold *h, long from, long nr, unsigned int how)
{
	/* only what a device may have written is dirtied: a R/O pin never is (Linux's rule) */
	bool dirty = (how & 8) && (h->flags & FOLL_WRITE);
	uint64_t clean;

	for (long j = from; j < from + nr && !fz.failed; j++)
		check_hold_page(h, (int)j);
	for (long j = from; j < from + nr && j < from + 2 && !fz.failed; j++)
		device_read_check(h, (int)j, 0, PAGE_SIZE);
	clean = hold_clean_swapcache(h, from, nr);
	if (h->kind == H_GET) {
		for (long j = from; j < from + nr; j++)
			put_page(h->pages[j]);
	} else if (h->kind == H_RDMA || h->kind == H_IOU || h->kind == H_VFIO ||
		   h->kind == H_FOLIOS) {
		return;		/* released whole by hold_drop() */
	} else {
		switch (how & 7) {
		case 0:
			unpin_user_pages(h->pages + from, (unsigned long)nr);
			dirty = false;
			break;
		case 1:
		case 2:
			unpin_user_pages_dirty_lock(h->pages + from, (unsigned long)nr, dirty);
			break;
		case 3:
			for (long j = from; j < from + nr; j++)
				unpin_user_page(h->pages[j]);
			dirty = false;
			break;
		case 4: {
			bool contig = true;

			for (long j = from + 1; j < from + nr; j++)
				contig &= h->pages[j] == h->pages[from] + (j - from);
			if (contig)
				unpin_user_page_range_dirty_lock(h->pages[from], (unsigned long)nr, dirty);
			else
				unpin_user_pages_dirty_lock(h->pages + from, (unsigned long)nr, dirty);
			break;
		}
		default:
			for (long j = from; j < from + nr; j++)
				unpin_folio(page_folio(h->pages[j]));
			dirty = false;
			break;
		}
		fz.pins_held -= pin_weight(h->pages + from, nr);
	}
	for (long j = from; j < from + nr; j++)
		hold_forget_clean(h, j, dirty, clean);
}

/* Drop a whole hold, the way its kind must be released. */
static void hold_drop(struct hold *h, unsigned int how)
{
	if (h->kind == H_RDMA || h->kind == H_IOU || h->kind == H_VFIO || h->kind == H_FOLIOS) {
		bool dirty = h->kind != H_FOLIOS && (h->flags & FOLL_WRITE);
		uint64_t clean = hold_clean_swapcache(h, 0, h->n);

		hold_release(h, 0, h->n, 0);
		if (h->kind == H_RDMA) {
			rdma_dereg_mr(h->drv);
		} else if (h->kind == H_IOU) {
			/* the buffer keeps one pin per entry (per folio when coalesced) */
			fz.pins_held += h->n - (long)((struct iou_buffer *)h->drv)->nr_bvecs;
			iou_unregister_buffer(h->drv);
		} else if (h->kind == H_VFIO) {
			struct mm_struct *mm = h->drv;

			vfio_unpin_pages_remote(mm, h->pages, (unsigned long)h->n, dirty);
			mmput(mm);
		} else {
			long nf = (long)(uintptr_t)h->drv;

			unpin_folios(h->folios, (unsigned long)nf);
			dirty = false;
			fz.pins_held -= nf - pin_weight(h->pages, h->n);	/* one per folio */
		}
		fz.pins_held -= pin_weight(h->pages, h->n);
		for (long j = 0; j < h->n; j++)
			hold_forget_clean(h, j, dirty, clean);
	} else {
		hold_release(h, 0, h->n, how);
	}
	h->used = false;
}

/* ---- the operations ------------------------------------------------------------------ */

/* Slot and first page from two bytes: small mappings sit low in a slot. */
static void pick_range(int *s, int *i, long *n, unsigned int maxn)
{
	unsigned int b = get8(), c = get8();

	*s = (int)(b % NSLOT);
	if (*s >= THP_SLOT0 && (b & 0x80))
		*i = (int)((c | (b & 0x40) << 2) % SLOT_PAGES);
	else
		*i = (int)(c % SMALL_PAGES);
	/* mostly short ranges (they meet mappings), now and then long ones */
	c = get8();
	*n = 1 + (long)(c & 0x80 ? c % maxn : c % min(maxn, 12U));
	if (*i + *n > SLOT_PAGES)
		*n = SLOT_PAGES - *i;
}

/*
 * Move [*i, *i + *n) of process @p to the first run of mapped pages at or
 * after slot *@s, page *@i (wrapping), at most *@n long. False if @p maps
 * nothing.
 */
static bool mapped_run(int p, int *s, int *i, long *n)
{
	for (int t = 0; t <= NSLOT; t++) {
		const struct mpage *pg = fz.procs[p].pg[(*s + t) % NSLOT];
		int k = t ? 0 : *i, start;

		while (k < SLOT_PAGES && pg[k].kind == MK_NONE)
			k++;
		if (k == SLOT_PAGES)
			continue;
		start = k;
		while (k < SLOT_PAGES && k - start < *n && pg[k].kind != MK_NONE)
			k++;
		*s = (*s + t) % NSLOT;
		*i = start;
		*n = k - start;
		return true;
	}
	return false;
}

static void op_mmap(void)
{
	int p = pick_proc(get8()), s, i, oi = -1;
	unsigned int type = get8() % 8, pb = get8(), pgoff = get8() % OBJ_PAGES;
	unsigned long prot = pb % 3 == 0 ? PROT_NONE : pb % 3 == 1 ? PROT_READ :
			     PROT_READ | PROT_WRITE, flags, addr, r;
	bool populate = pb & 0x10;
	struct file *file = NULL;
	long n;
	int kind;

	pick_range(&s, &i, &n, 32);
	if (type == 7) {	/* a THP-able region: a whole slot */
		s = THP_SLOT0 + s % 2;
		i = 0;
		n = SLOT_PAGES;
		prot = PROT_READ | PROT_WRITE;
	}
	use_proc(p);
	addr = slot_addr(s, i);
	switch (type) {
	case 0: case 1: case 7:
		kind = MK_ANON;
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	case 2: {		/* shared anonymous: a shmem object of its own */
		oi = -1;
		for (int o = 5; o < NOBJ; o++)
			if (!fz.objs[o].open) {
				oi = o;
				break;
			}
		if (oi < 0)
			return;
		kind = MK_OBJ;
		flags = MAP_SHARED | MAP_ANONYMOUS;
		pgoff = 0;
		break;
	}
	case 3: case 4:
	case 5: case 6:
		oi = type <= 4 ? (int)(pb >> 5) % 3 : 3 + (int)(pb >> 5) % 2;
		if (!obj_open(oi))
			return;
		file = fz.objs[oi].f;
		if (pgoff + n > OBJ_PAGES)
			pgoff = (unsigned int)(OBJ_PAGES - n);
		kind = type % 2 ? MK_FPRIV : MK_OBJ;
		flags = kind == MK_OBJ ? MAP_SHARED : MAP_PRIVATE;
		break;
	default:
		return;
	}
	if (populate)
		flags |= MAP_POPULATE;
	r = vm_mmap(file, addr, (unsigned long)n * PAGE_SIZE, prot, flags | MAP_FIXED,
		    file ? pgoff : 0);
	if (r != addr) {
		fz_fail(R_RETURN, "vm_mmap(%#lx, %ld pages, type %u) = %ld", addr, n, type, (long)r);
		return;
	}
	if (type == 2) {
		struct fobj *o = &fz.objs[oi];

		o->open = true;
		o->type = OT_SHANON;
		obj_zero(o);
		obj_set_size(o, n * (long)PAGE_SIZE);
		for (int k = 0; k < OBJ_PAGES; k++)
			o->pgen[k] = new_gen();
	}
	for (long k = 0; k < n; k++) {
		struct mpage *m = &fz.procs[p].pg[s][i + k];

		mp_unmap(m);
		m->kind = (uint8_t)kind;
		m->prot = (uint8_t)prot;
		if (kind != MK_ANON) {
			m->obj = (uint8_t)oi;
			m->pgoff = (uint16_t)(pgoff + k);
			fz.objs[oi].maprefs++;
		}
	}
	if (type == 7 && do_madvise(current->mm, addr, PMD_SIZE, MADV_HUGEPAGE))
		fz_fail(R_RETURN, "MADV_HUGEPAGE on a fresh anon slot failed");
	if (populate && kind == MK_FPRIV)
		resync_cow(p, s, i, (int)n);	/* MAP_POPULATE write-faults private writable maps */
}

static void op_munmap(void)
{
	int p = pick_proc(get8()), s, i, r;
	long n;

	pick_range(&s, &i, &n, 64);
	use_proc(p);
	r = vm_munmap(slot_addr(s, i), (size_t)n * PAGE_SIZE);
	if (r)
		fz_fail(R_RETURN, "vm_munmap = %d", r);
	for (long k = 0; k < n; k++)
		if (fz.procs[p].pg[s][i + k].kind != MK_NONE)
			mp_unmap(&fz.procs[p].pg[s][i + k]);
}

static void op_mprotect(void)
{
	int p = pick_proc(get8()), s, i, r, want = 0;
	unsigned int pb = get8();
	unsigned long prot = pb % 3 == 0 ? PROT_NONE : pb % 3 == 1 ? PROT_READ :
			     PROT_READ | PROT_WRITE;
	bool relocked = false;
	long n;

	pick_range(&s, &i, &n, 64);
	use_proc(p);
	r = do_mprotect(slot_addr(s, i), (size_t)n * PAGE_SIZE, prot);
	for (long k = 0; k < n; k++) {
		struct mpage *m = &fz.procs[p].pg[s][i + k];

		if (m->kind == MK_NONE) {
			want = -ENOMEM;
			break;
		}
		/* a locked private VMA made writable is faulted in for writing (COW) */
		if ((m->flags & MF_LOCKED) && !(m->prot & PROT_WRITE) && (prot & PROT_WRITE))
			relocked = true;
		m->prot = (uint8_t)prot;
	}
	/*
	 * Which pages that populate copied depends on VMA boundaries the model
	 * does not keep (it stops at a guard or EOF within each): read them.
	 */
	if (relocked)
		resync_cow(p, s, i, (int)n);
	if (r != want)
		fz_fail(R_RETURN, "mprotect(%#lx, %ld pages, %lu) = %d, want %d", slot_addr(s, i), n,
			prot, r, want);
}

/*
 * mlock, mlock2(MLOCK_ONFAULT), munlock (src/mm/mlock.c): the range's VMAs
 * are (un)locked up to the first hole (-ENOMEM there). mlock then faults the
 * pages in, in order, stopping at the first that cannot be (PROT_NONE, a
 * guard, a file page past EOF: -ENOMEM, the lock staying); a private
 * writable page is faulted for writing, so a MAP_PRIVATE file page gets its
 * copy. Locked memory refuses the advice that drops or ages it (op_madvise,
 * op_pageout) and reclaim passes it by; the data checks judge the rest.
 */
static void op_mlock(void)
{
	int p = pick_proc(get8()), s, i, r, want = 0;
	unsigned int mode = get8() % 3;	/* mlock, mlock2(MLOCK_ONFAULT), munlock */
	unsigned long addr;
	long n, k;

	pick_range(&s, &i, &n, 64);
	if (get8() & 3)	/* mostly where something is mapped */
		mapped_run(p, &s, &i, &n);
	use_proc(p);
	addr = slot_addr(s, i);
	r = mode == 2 ? do_munlock(addr, (size_t)n * PAGE_SIZE) :
			do_mlock(addr, (size_t)n * PAGE_SIZE, mode ? VM_LOCKONFAULT : 0);
	for (k = 0; k < n; k++) {
		struct mpage *m = &fz.procs[p].pg[s][i + k];

		if (m->kind == MK_NONE) {
			want = -ENOMEM;
			break;
		}
		if (mode == 2)
			m->flags &= (uint8_t)~MF_LOCKED;
		else
			m->flags |= MF_LOCKED;
	}
	for (k = 0; !want && mode == 0 && k < n; k++) {
		struct mpage *m = &fz.procs[p].pg[s][i + k];

		if (!(m->prot & (PROT_READ | PROT_WRITE)) || (m->flags & MF_GUARD) ||
		    (file_backed(m) && !in_eof(m)))
			want = -ENOMEM;
		else if ((m->prot & PROT_WRITE) && m->kind == MK_FPRIV)
			mp_cow(m);
	}
	if (r != want)
		fz_fail(R_RETURN, "%s(%#lx, %ld pages) = %d, want %d",
			mode == 2 ? "munlock" : mode ? "mlock2(MLOCK_ONFAULT)" : "mlock", addr, n, r,
			want);
}

static void op_madvise(void)
{
	static const int advice[] = { MADV_DONTNEED, MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
				      MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK,
				      MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_FREE, MADV_REMOVE,
				      MADV_WILLNEED, MADV_RANDOM, MADV_SEQUENTIAL, MADV_NORMAL,
				      MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_DONTNEED_LOCKED };
	int p = pick_proc(get8()), s, i, r, want = 0, adv = advice[get8() % ARRAY_SIZE(advice)];
	bool hole = false;
	long n;

	pick_range(&s, &i, &n, 64);
	use_proc(p);
	r = do_madvise(current->mm, slot_addr(s, i), (size_t)n * PAGE_SIZE, adv);
	for (long k = 0; k < n; k++) {
		struct mpage *m = &fz.procs[p].pg[s][i + k];
		int e;

		if (m->kind == MK_NONE) {
			hole = true;
			if (adv == MADV_POPULATE_READ || adv == MADV_POPULATE_WRITE) {
				want = -ENOMEM;
				break;
			}
			continue;
		}
		/* locked memory refuses what would drop its pages (DONTNEED_LOCKED aside) */
		if ((m->flags & MF_LOCKED) &&
		    (adv == MADV_DONTNEED || adv == MADV_GUARD_INSTALL || adv == MADV_FREE ||
		     adv == MADV_REMOVE)) {
			want = -EINVAL;
			break;
		}
		switch (adv) {
		case MADV_DONTNEED:
		case MADV_DONTNEED_LOCKED:
		case MADV_GUARD_INSTALL:
			/* private data is dropped: anon reads zeroes, a COW copy the file */
			if (private_data(m)) {
				free(m->data);
				m->data = NULL;
				m->flags &= (uint8_t)~(MF_COWED | MF_LAZY);
				m->unk = PAGE_SIZE;
				m->gen = new_gen();
			}
			if (adv == MADV_GUARD_INSTALL) {
				/* what was mapped went (a pin keeps its page); zapped, not wiped */
				m->flags |= MF_GUARD;
				m->gen = new_gen();
			}
			break;
		case MADV_GUARD_REMOVE:
			m->flags &= (uint8_t)~MF_GUARD;
			break;
		case MADV_DONTFORK:
			m->flags |= MF_DONTFORK;
			break;
		case MADV_DOFORK:
			m->flags &= (uint8_t)~MF_DONTFORK;
			break;
		case MADV_WIPEONFORK:
			if (m->kind != MK_ANON) {
				want = -EINVAL;
				k = n;
				break;
			}
			m->flags |= MF_WIPE;
			break;
		case MADV_KEEPONFORK:
			m->flags &= (uint8_t)~MF_WIPE;
			break;
		case MADV_FREE:
			/* private anonymous memory only; until written, data or zeroes */
			if (m->kind != MK_ANON) {
				want = -EINVAL;
				k = n;
				break;
			}
			if (m->data) {
				m->unk = 0;
				m->flags |= MF_LAZY;
			}
			break;
		case MADV_REMOVE:
			/* the file behind a shared mapping is punched; private ones refuse */
			if (m->kind != MK_OBJ) {
				want = m->kind == MK_ANON ? -EINVAL : -EACCES;
				k = n;
				break;
			}
			obj_punch(m->obj, (long)m->pgoff * (long)PAGE_SIZE, PAGE_SIZE);
			fz.objs[m->obj].used = true;
			break;
		case MADV_POPULATE_READ:
		case MADV_POPULATE_WRITE:
			/* a VMA that does not allow the access is -EINVAL, a failed fault -EFAULT */
			e = !(m->prot & (adv == MADV_POPULATE_WRITE ? PROT_WRITE : PROT_READ)) ? -EINVAL :
			    (m->flags & MF_GUARD) || (file_backed(m) && !in_eof(m)) ? -EFAULT : 0;
			if (e) {
				want = e;
				k = n;
			} else if (adv == MADV_POPULATE_WRITE && m->kind == MK_FPRIV) {
				mp_cow(m);
			}
			break;
		}
	}
	if (!want && hole)
		want = -ENOMEM;
	if (r != want)
		fz_fail(R_RETURN, "madvise(%#lx, %ld pages, %d) = %d, want %d", slot_addr(s, i), n,
			adv, r, want);
	if (adv == MADV_REMOVE)
		check_holds();
}

/*
 * MADV_COLLAPSE (khugepaged.c): may succeed or refuse for many reasons, but
 * never changes what any page holds, and never replaces a page someone holds
 * a reference on beyond its mappings: the model's data checks and the pinned
 * pages' coherence checks after each op are what judge it.
 */
static void op_collapse(void)
{
	int p = pick_proc(get8()), s, i, r;
	long n;

	pick_range(&s, &i, &n, SLOT_PAGES);
	use_proc(p);
	if (get8() & 1) {	/* mostly the whole slot: one aligned 2 MiB */
		i = 0;
		n = SLOT_PAGES;
	}
	r = do_madvise(current->mm, slot_addr(s, i), (size_t)n * PAGE_SIZE, MADV_COLLAPSE);
	if (r && r != -EINVAL && r != -EAGAIN && r != -ENOMEM)
		fz_fail(R_RETURN, "MADV_COLLAPSE(%#lx, %ld pages) = %d", slot_addr(s, i), n, r);
	fz.st_collapse += !r;
}

/*
 * MADV_PAGEOUT / MADV_COLD (src/mm/vmscan.c): reclaim may take or leave any
 * page, so only the errors are predicted loosely; the data checks judge that
 * swap-out and swap-in lose nothing, and the pin rules that a pinned page
 * never leaves (shrink_folio_list() gives it no swap space).
 */
static void op_pageout(void)
{
	int p = pick_proc(get8()), s, i, r;
	bool cold = get8() & 1;
	unsigned long out0 = global_vm_event(PSWPOUT);
	long n;

	pick_range(&s, &i, &n, SLOT_PAGES);
	if (get8() & 3)	/* mostly where something is mapped: a hole is -ENOMEM */
		mapped_run(p, &s, &i, &n);
	use_proc(p);
	r = do_madvise(current->mm, slot_addr(s, i), (size_t)n * PAGE_SIZE,
		       cold ? MADV_COLD : MADV_PAGEOUT);
	if (r && r != -ENOMEM && r != -EINVAL)
		fz_fail(R_RETURN, "madvise(%#lx, %ld pages, %s) = %d", slot_addr(s, i), n,
			cold ? "MADV_COLD" : "MADV_PAGEOUT", r);
	fz.st_swapout += global_vm_event(PSWPOUT) - out0;
}

/*
 * KSM (src/mm/ksm.c): make a range's writable pages identical (so there is
 * something to merge), mark it mergeable or not, and scan. Merging never
 * changes what a page reads, and never takes a pinned page: the data and
 * pin rules after each op judge it; a later write copies (do_wp_page).
 */
static void op_ksm(void)
{
	int p = pick_proc(get8()), s, i, r;
	unsigned int b = get8(), seed = get8();
	uint8_t buf[PAGE_SIZE];
	struct pinmm_ksm_stats st;
	long n;

	pick_range(&s, &i, &n, 16);
	if (b & 0x30)
		mapped_run(p, &s, &i, &n);
	use_proc(p);
	if (b & 4) {
		fill_pat(buf, PAGE_SIZE, seed);
		for (long k = 0; k < n; k++) {
			struct mpage *m = &fz.procs[p].pg[s][i + k];
			unsigned long left = copy_to_user((void __user *)slot_addr(s, i + k), buf,
							  PAGE_SIZE);

			if (left != (cpu_writable(m) ? 0 : PAGE_SIZE)) {
				fz_fail(R_CPU, "copy_to_user(%#lx, one page) left %lu", slot_addr(s, i + k),
					left);
				return;
			}
			if (!left)
				mp_store(m, 0, buf, PAGE_SIZE, true);
		}
	}
	r = do_madvise(current->mm, slot_addr(s, i), (size_t)n * PAGE_SIZE,
		       b & 1 ? MADV_MERGEABLE : MADV_UNMERGEABLE);
	if (r && r != -ENOMEM && r != -EINVAL)
		fz_fail(R_RETURN, "madvise(%#lx, %ld pages, %s) = %d", slot_addr(s, i), n,
			b & 1 ? "MADV_MERGEABLE" : "MADV_UNMERGEABLE", r);
	if (b & 2) {
		pinmm_ksm_scan_full(1 + (b >> 3) % 2);
		pinmm_ksm_get_stats(&st);
		fz.st_ksm += st.pages_sharing;
	}
}

/* CPU write through the page tables (copy_to_user). */
static void op_cpu_write(void)
{
	int p = pick_proc(get8()), s, i;
	unsigned int seed = get8(), off = get16() % PAGE_SIZE;
	long n;
	size_t len, want = 0;
	unsigned long left;
	uint8_t buf[3 * PAGE_SIZE];

	pick_range(&s, &i, &n, 3);
	len = (size_t)n * PAGE_SIZE - off - (get8() % 2 ? get16() % PAGE_SIZE : 0);
	if ((long)len <= 0)
		len = 1;
	fill_pat(buf, len, seed);
	use_proc(p);
	left = copy_to_user((void __user *)(slot_addr(s, i) + off), buf, len);
	for (size_t k = 0; k < len;) {
		unsigned long a = off + k;
		struct mpage *m = &fz.procs[p].pg[s][i + (int)(a >> PAGE_SHIFT)];
		size_t chunk = min(len - k, PAGE_SIZE - (a & ~PAGE_MASK));

		if (!cpu_writable(m))
			break;
		mp_store(m, a & ~PAGE_MASK, buf + k, chunk, true);
		want += chunk;
		k += chunk;
	}
	if (len - left != want)
		fz_fail(R_CPU, "copy_to_user(%#lx, %zu) copied %zu bytes, the mappings allow %zu",
			slot_addr(s, i) + off, len, len - left, want);
}

/* CPU read of [addr, addr + len) of process @p checked against the model. */
static void cpu_check(int p, int s, int i, unsigned long off, size_t len)
{
	uint8_t buf[3 * PAGE_SIZE];
	unsigned long left;
	size_t want = 0;

	use_proc(p);
	fz.st_cpucheck++;
	left = copy_from_user(buf, (const void __user *)(slot_addr(s, i) + off), len);
	for (size_t k = 0; k < len;) {
		unsigned long a = off + k;
		const struct mpage *m = &fz.procs[p].pg[s][i + (int)(a >> PAGE_SHIFT)];
		size_t chunk = min(len - k, PAGE_SIZE - (a & ~PAGE_MASK));

		if (!cpu_readable(m))
			break;
		for (size_t c = 0; c < chunk && k + c < len - left; c++) {
			unsigned long po = (a & ~PAGE_MASK) + c;

			if (byte_known(m, po) && buf[k + c] != model_byte(m, po)) {
				fz_fail(R_CPU, "process %d reads %#x at %#lx, the model says %#x "
					"(kind %d, prot %d, flags %#x, pgoff %u)", p, buf[k + c],
					slot_addr(s, i) + a - (a & ~PAGE_MASK) + po, model_byte(m, po),
					m->kind, m->prot, m->flags, m->pgoff);
				return;
			}
		}
		want += chunk;
		k += chunk;
	}
	if (len - left != want)
		fz_fail(R_CPU, "copy_from_user(%#lx, %zu) copied %zu bytes, the mappings allow %zu",
			slot_addr(s, i) + off, len, len - left, want);
}

static void op_cpu_read(void)
{
	int p = pick_proc(get8()), s, i;
	unsigned int off = get16() % PAGE_SIZE;
	long n;
	size_t len;

	pick_range(&s, &i, &n, 3);
	len = (size_t)n * PAGE_SIZE - off;
	cpu_check(p, s, i, off, len);
}

/* Pin, GET and driver registration variants. */
static void op_pin(void)
{
	unsigned int v = get8() % 13, fb = get8();
	int p = pick_proc(get8()), s, i, err, by = p;
	unsigned int flags = (fb & 1 ? FOLL_WRITE : 0) | (fb & 2 ? FOLL_LONGTERM : 0) |
			     (fb & 4 ? FOLL_FORCE : 0) | ((fb & 0x38) == 0x38 ? FOLL_ANON : 0);
	struct hold *h = free_hold();
	struct mm_struct *mm;
	long n, want, r = 0;
	unsigned long inj;
	bool pin, good;

	pick_range(&s, &i, &n, HOLD_MAX);
	if (!h)
		return;
	memset(h, 0, sizeof(*h));
	h->proc = p;
	h->life = fz.procs[p].life;
	h->addr = slot_addr(s, i);
	pin = v <= 3 || v >= 9;
	if (!pin)
		flags &= ~FOLL_LONGTERM;	/* misuse has its own operation */
	if (v == 1 || v == 5 || v == 8)
		flags &= ~FOLL_ANON;		/* GUP-fast refuses it: misuse too */
	if (v == 9) {
		flags = FOLL_LONGTERM | (fb & 1 ? FOLL_WRITE : 0);
	} else if (v == 10) {
		flags = FOLL_WRITE | FOLL_LONGTERM;
	} else if (v == 11) {
		flags = FOLL_LONGTERM | (fb & 1 ? FOLL_WRITE : 0);
	} else if (v == 12) {
		return;		/* memfd_pin_folios: op_memfd_pin */
	}
	h->flags = flags;
	want = gup_expect(p, s, i, n, flags, pin, &err);
	mm = fz.procs[p].task->mm;
	inj = soak_fail_mine();
	if (v == 3 || v == 7 || v == 11) {
		/* remote: another process (or the kernel side of this one) does it */
		by = pick_proc(fb >> 6);
		use_proc(by);
		mmget(mm);
	} else {
		use_proc(p);
	}
	switch (v) {
	case 0:
		mmap_read_lock(mm);
		r = pin_user_pages(h->addr, (unsigned long)n, flags, h->pages);
		mmap_read_unlock(mm);
		break;
	case 1:
		r = pin_user_pages_fast(h->addr, (int)n, flags, h->pages);
		break;
	case 2:
		r = pin_user_pages_unlocked(h->addr, (unsigned long)n, h->pages, flags);
		break;
	case 3:
		mmap_read_lock(mm);
		r = pin_user_pages_remote(mm, h->addr, (unsigned long)n, flags, h->pages, NULL);
		mmap_read_unlock(mm);
		mmput(mm);
		break;
	case 4:
		mmap_read_lock(mm);
		r = get_user_pages(h->addr, (unsigned long)n, flags, h->pages);
		mmap_read_unlock(mm);
		break;
	case 5:
		r = get_user_pages_fast(h->addr, (int)n, flags, h->pages);
		break;
	case 6:
		r = get_user_pages_unlocked(h->addr, (unsigned long)n, h->pages, flags);
		break;
	case 7:
		mmap_read_lock(mm);
		r = get_user_pages_remote(mm, h->addr, (unsigned long)n, flags, h->pages, NULL);
		mmap_read_unlock(mm);
		mmput(mm);
		break;
	case 8:
		r = get_user_pages_fast_only(h->addr, (int)n, flags, h->pages);
		break;
	case 9: {
		struct rdma_mr *mr;
		int e = rdma_reg_mr(h->addr, (size_t)n * PAGE_SIZE,
				    flags & FOLL_WRITE ? RDMA_ACCESS_LOCAL_WRITE : 0, &mr);

		r = e ? e : n;
		if (!e) {
			h->drv = mr;
			memcpy(h->pages, mr->pages, (size_t)n * sizeof(struct page *));
		}
		break;
	}
	case 10: {
		struct iou_buffer *buf;
		int e = iou_register_buffer(h->addr, (size_t)n * PAGE_SIZE, &buf);

		r = e ? e : n;
		if (!e) {
			long k = 0;

			h->drv = buf;
			for (unsigned long b = 0; b < buf->nr_bvecs; b++)
				for (unsigned long q = 0; q < buf->bvec[b].nr && k < n; q++)
					h->pages[k++] = folio_page(buf->bvec[b].folio,
								   buf->bvec[b].first + q);
		}
		break;
	}
	case 11:
		r = vfio_pin_pages_remote(mm, h->addr, (unsigned long)n, flags & FOLL_WRITE, h->pages);
		if (r > 0) {
			mmget(mm);
			h->drv = mm;
		}
		mmput(mm);
		break;
	}
	h->kind = v <= 3 ? H_PIN : v <= 8 ? H_GET : v == 9 ? H_RDMA : v == 10 ? H_IOU : H_VFIO;
	if (fz.trace)
		fprintf(stderr, "fuzz:   pin variant %u flags %#x process %d by %d at %#lx, %ld pages: "
			"%ld (model %ld, %d)\n", v, flags, p, by, h->addr, n, r, want, err);
	/*
	 * A long-term pin that must migrate a page someone else holds fails
	 * there (-ENOMEM; GUP-fast keeps what it pinned before: a short count).
	 * The pages are mapped by now, so the page tables say which they are.
	 */
	if (v == 8)
		good = r >= 0 && r <= want;		/* lockless only: may stop early */
	else if (v >= 9)
		good = want < n ? r < 0 : r == n ||	/* registrations: all or nothing */
		       (r < 0 && longterm_blocked(p, s, i, want));
	else if (want)
		good = r == want || ((flags & FOLL_LONGTERM) && (r == -ENOMEM || (r > 0 && r < want)) &&
				     longterm_blocked(p, s, i, want));
	else
		good = r == err;
	if (soak_excused(inj)) {
		/*
		 * An allocation failed inside: -ENOMEM if nothing was taken, else
		 * the pages before the failure (registrations: all or nothing). A
		 * file page whose read failed is a SIGBUS fault: -EFAULT (Linux's
		 * filemap_fault() when ->read_folio() fails).
		 */
		if (!good)
			good = v >= 9 ? r < 0 :
			       r == -ENOMEM || (r > 0 && r <= (want ? want : n)) ||
			       (r == -EFAULT && file_backed(&fz.procs[p].pg[s][i]));
		if (good && r != want && !(v >= 9 && r < 0 && want < n))
			fz.st_excused++;
		/* the pages it faulted before failing: MAP_PRIVATE file pages copied */
		resync_cow(p, s, i, (int)n);
	}
	if (fz.trace && !good)
		trace_range(p, s, i, n);
	if (v >= 9 && r < 0)
		return;
	if (!good) {
		fz_fail(R_PIN_RANGE, "variant %u flags %#x at %#lx, %ld pages (process %d by %d): "
			"returned %ld, the model allows %ld (first error %d)", v, flags, h->addr, n,
			p, by, r, want, err);
		if (r > 0 && r <= HOLD_MAX) {	/* keep it to release it */
			h->n = r;
			h->used = true;
			if (pin)
				fz.pins_held += hold_pin_weight(h, r);
		}
		return;
	}
	if (r <= 0)
		return;
	h->n = r;
	h->used = true;
	if (pin)
		fz.pins_held += hold_pin_weight(h, r);
	fz.st_pinned += (unsigned long)r;
	fz.st_longterm += (flags & FOLL_LONGTERM) ? (unsigned long)r : 0;
	fz.st_thp += folio_test_large(page_folio(h->pages[0]));
	check_taken(h, s, i);
}

/* memfd_pin_folios(): pins by file range, not by address. */
static void op_memfd_pin(void)
{
	int oi = 3 + (int)(get8() % 2);
	struct fobj *o = &fz.objs[oi];
	struct hold *h = free_hold();
	long first = get8() % OBJ_PAGES, n = 1 + get8() % 16, r, npages = 0;
	unsigned long inj;
	pgoff_t offset;

	if (!h || !obj_open(oi))
		return;
	if ((first + n) * (long)PAGE_SIZE > o->size) {
		/* the last byte must be below i_size: -EINVAL */
		r = memfd_pin_folios(o->f, first * (long)PAGE_SIZE, (first + n) * (long)PAGE_SIZE - 1,
				     h->folios, HOLD_MAX, &offset);
		if (r >= 0) {
			fz_fail(R_PIN_RANGE, "memfd_pin_folios past EOF (size %ld) returned %ld",
				o->size, r);
			if (r > 0)
				unpin_folios(h->folios, (unsigned long)r);
		}
		return;
	}
	memset(h, 0, sizeof(*h));
	inj = soak_fail_mine();
	r = memfd_pin_folios(o->f, first * (long)PAGE_SIZE, (first + n) * (long)PAGE_SIZE - 1,
			     h->folios, HOLD_MAX, &offset);
	if (r == -ENOMEM && soak_excused(inj)) {
		fz.st_excused++;
		return;
	}
	if (r <= 0) {
		fz_fail(R_PIN_RANGE, "memfd_pin_folios(%ld pages at %ld, size %ld) = %ld", n, first,
			o->size, r);
		return;
	}
	/* one pin per folio (the counters move by one per folio); each page in range modelled */
	for (long f = 0; f < r; f++) {
		struct folio *folio = h->folios[f];
		long base = (long)folio->index;

		if (!folio_is_longterm_pinnable(folio))
			fz_fail(R_LONGTERM, "memfd_pin_folios left pfn %#lx unpinnable",
				folio_pfn(folio));
		for (long k = 0; k < (long)folio_nr_pages(folio) && npages < HOLD_MAX; k++) {
			long idx = base + k;

			if (idx < first || idx >= first + n)
				continue;
			h->pages[npages] = folio_page(folio, (unsigned long)k);
			h->t[npages].type = T_OBJ;
			h->t[npages].obj = (uint8_t)oi;
			h->t[npages].idx = (uint16_t)idx;
			h->t[npages].gen = o->pgen[idx];
			npages++;
		}
	}
	h->kind = H_FOLIOS;
	h->flags = FOLL_LONGTERM;
	h->proc = 0;
	h->n = npages;
	h->drv = (void *)(uintptr_t)r;
	h->used = true;
	fz.pins_held += r;
	for (long j = 0; j < npages && j < 2; j++)
		device_read_check(h, (int)j, 0, PAGE_SIZE);
}

static void op_unpin(void)
{
	unsigned int hb = get8(), how = get8();
	struct hold *h = pick_hold(hb);
	long k;

	if (!h)
		return;
	fz.op_name = "unpin";
	if (h->kind == H_PIN && (how & 0x30) == 0x30 && h->n > 1) {
		/* release a leading part, keep the rest */
		k = 1 + (long)(get8() % (unsigned int)(h->n - 1));
		hold_release(h, 0, k, how);
		memmove(h->pages, h->pages + k, (size_t)(h->n - k) * sizeof(h->pages[0]));
		memmove(h->t, h->t + k, (size_t)(h->n - k) * sizeof(h->t[0]));
		h->n -= k;
		return;
	}
	hold_drop(h, how);
}

/* The device writes through a writable pin, then the CPU must see it (R4). */
static void op_dev_write(void)
{
	struct hold *h = pick_hold(get8());
	unsigned int j = get8(), seed = get8(), off = get16() % PAGE_SIZE, len = 1 + get8() * 16;
	uint8_t buf[PAGE_SIZE];
	struct htarget *t;

	if (!h || !hold_is_pin(h) || !(h->flags & FOLL_WRITE) || h->kind == H_FOLIOS)
		return;
	j %= (unsigned int)h->n;
	t = &h->t[j];
	len = min(len, (unsigned int)PAGE_SIZE - off);
	fill_pat(buf, len, seed);
	pinmm_dma_copy((uint8_t *)page_address(h->pages[j]) + off, buf, len);
	t->devw = true;
	if (!target_live(h, (int)j))
		return;
	if (t->type == T_ANON) {
		struct mpage *m = &fz.procs[h->proc].pg[t->slot][t->idx];
		uint8_t lazy = m->flags & MF_LAZY;

		/* a DMA dirties nothing: the unpin must (hold_forget_clean()) */
		mp_store(m, off, buf, len, true);
		m->flags |= lazy;
		if (cpu_readable(m)) {
			cpu_check(h->proc, t->slot, t->idx, off, len);
			fz.st_devcheck++;
		}
	} else if (t->type == T_OBJ) {
		struct fobj *o = &fz.objs[t->obj];
		long pos = (long)t->idx * (long)PAGE_SIZE + off, nn = min((long)len, o->size - pos);

		if (nn > 0)
			memcpy(o->data + pos, buf, (size_t)nn);
	} else {
		fz_fail(R_PIN_ZERO, "a writable pin holds the zero page");
	}
}

static void op_dev_read(void)
{
	struct hold *h = pick_hold(get8());
	unsigned int j = get8(), off = get16() % PAGE_SIZE;

	if (!h)
		return;
	j %= (unsigned int)h->n;
	device_read_check(h, (int)j, off, PAGE_SIZE - off);
}

static void proc_model_copy(struct proc *dst, const struct proc *src)
{
	for (int s = 0; s < NSLOT; s++)
		for (int i = 0; i < SLOT_PAGES; i++) {
			const struct mpage *m = &src->pg[s][i];
			struct mpage *d = &dst->pg[s][i];

			memset(d, 0, sizeof(*d));
			d->unk = PAGE_SIZE;
			d->gen = new_gen();
			if (m->kind == MK_NONE || (m->flags & MF_DONTFORK))
				continue;
			d->kind = m->kind;
			d->prot = m->prot;
			d->flags = m->flags & (uint8_t)~MF_LOCKED;	/* mlock is not inherited */
			d->obj = m->obj;
			d->pgoff = m->pgoff;
			d->unk = m->unk;
			if (m->kind != MK_ANON)
				fz.objs[m->obj].maprefs++;
			if (m->data && !(m->flags & MF_WIPE)) {
				d->data = malloc(PAGE_SIZE);
				if (!d->data)
					bail_out("out of memory");
				memcpy(d->data, m->data, PAGE_SIZE);
			}
			if (m->flags & MF_WIPE) {
				/* fork does not copy a wiped VMA's tables: no guards either */
				d->unk = PAGE_SIZE;
				d->flags &= (uint8_t)~MF_GUARD;
			}
		}
	dst->dev_addr = src->dev_addr;
	dst->dev_pages = src->dev_pages;
	dst->dev_prot = src->dev_prot;
}

static void op_fork(void)
{
	int p = pick_proc(get8()), c = -1, r;
	unsigned long inj;
	struct task_struct *child;

	for (int q = 0; q < NPROC; q++)
		if (!fz.procs[q].task) {
			c = q;
			break;
		}
	if (c < 0)
		return;
	use_proc(p);
	inj = soak_fail_mine();
	r = pinmm_fork(fz.procs[p].task, "fz-child", &child);
	if (r == -ENOMEM && soak_excused(inj)) {
		fz.st_excused++;	/* the parent is as it was: check it */
		check_holds();
		return;
	}
	if (r) {
		fz_fail(R_RETURN, "pinmm_fork = %d", r);
		return;
	}
	fz.procs[c].task = child;
	fz.procs[c].life = new_gen();
	proc_model_copy(&fz.procs[c], &fz.procs[p]);
	fz.st_forks++;
	check_holds();
}

static void proc_model_free(struct proc *pr)
{
	for (int s = 0; s < NSLOT; s++)
		for (int i = 0; i < SLOT_PAGES; i++)
			if (pr->pg[s][i].kind != MK_NONE || pr->pg[s][i].data)
				mp_unmap(&pr->pg[s][i]);
	memset(pr->pg, 0, sizeof(pr->pg));
	pr->dev_addr = 0;
}

static void proc_exit(int p)
{
	struct proc *pr = &fz.procs[p];

	if (fz.cur == p)
		unuse_proc();
	pinmm_task_exit(pr->task);
	pr->task = NULL;
	pr->life = new_gen();
	proc_model_free(pr);
}

static void op_exit(void)
{
	int p = pick_proc(get8());

	if (p == 0)
		return;		/* the first process lives to the end of the input */
	proc_exit(p);
}

/* Isolate and migrate the folio at an address (migrate_pages, MR_SYSCALL). */
static void op_migrate(void)
{
	int p = pick_proc(get8()), s, i;
	unsigned int gb = get8();
	struct migration_target_control mtc = {
		.gfp_mask = gb & 1 ? GFP_USER : GFP_HIGHUSER_MOVABLE, .reason = MR_SYSCALL };
	unsigned int succ = 0;
	unsigned long pfn;
	struct folio *folio;
	LIST_HEAD(list);
	long n;

	pick_range(&s, &i, &n, 1);
	pfn = test_pt_pfn(fz.procs[p].task->mm, slot_addr(s, i));
	if (pfn == -1UL || is_zero_pfn(pfn))
		return;
	folio = pfn_folio(pfn);
	if (is_huge_zero_folio(folio) || !folio_try_get(folio))
		return;
	if (folio_isolate_lru(folio))
		list_add_tail(&folio->lru, &list);
	folio_put(folio);
	if (list_empty(&list))
		return;
	migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc, MIGRATE_SYNC,
		      MR_SYSCALL, &succ);
	putback_movable_pages(&list);
	fz.st_migrated += succ;
	if (held_pfn(pfn) && succ)
		fz_fail(R_COHERENT, "migrate_pages moved pfn %#lx, which a pin or GET holds", pfn);
	check_holds();
	cpu_check(p, s, i, 0, PAGE_SIZE);
}

static void op_compact(void)
{
	unsigned int z = get8();

	compact_zone_now(&pinmm_zones[z & 1 ? ZONE_MOVABLE : ZONE_NORMAL]);
	check_holds();
}

static void op_offline(void)
{
	struct zone *movable = &pinmm_zones[ZONE_MOVABLE];
	unsigned long blocks = movable->spanned_pages / pageblock_nr_pages;
	unsigned long start = movable->zone_start_pfn + (get8() % blocks) * pageblock_nr_pages;
	int r;

	quiet_stderr_begin();
	r = offline_pages(start, pageblock_nr_pages);
	quiet_stderr_end();
	if (!r) {
		fz.st_offline++;
		for (unsigned long pfn = start; pfn < start + pageblock_nr_pages; pfn++)
			if (held_pfn(pfn)) {
				fz_fail(R_CONTIG, "offline_pages succeeded over held pfn %#lx", pfn);
				break;
			}
		online_pages(start, pageblock_nr_pages);
	}
	check_holds();
}

static void op_cma_alloc(void)
{
	unsigned long count = 1 + get8() % 64;
	unsigned int align = get8() % 4;
	struct cma_hold *c = NULL;
	struct page *page;

	for (int k = 0; k < NCMA; k++)
		if (!fz.cma[k].page) {
			c = &fz.cma[k];
			break;
		}
	if (!c)
		return;
	quiet_stderr_begin();
	page = cma_alloc_pages(count, align);
	quiet_stderr_end();
	if (page) {
		unsigned long pfn = page_to_pfn(page);

		for (unsigned long k = 0; k < count; k++)
			if (held_pfn(pfn + k)) {
				fz_fail(R_CONTIG, "cma_alloc succeeded over held pfn %#lx", pfn + k);
				break;
			}
		/* the caller owns these frames now: anything still using them shows */
		c->page = page;
		c->count = count;
		fz.st_cma++;
		c->tag = (uint8_t)(0xa0 | (pfn & 0xf));
		for (unsigned long k = 0; k < count; k++)
			memset(page_address(page + k), c->tag, PAGE_SIZE);
	}
	check_holds();
}

static void cma_drop(struct cma_hold *c)
{
	for (unsigned long k = 0; k < c->count; k++) {
		const uint8_t *b = page_address(c->page + k);

		for (unsigned long q = 0; q < PAGE_SIZE; q += 64)
			if (b[q] != c->tag) {
				fz_fail(R_CONTIG, "a CMA allocation was written by someone else (pfn %#lx)",
					page_to_pfn(c->page + k));
				k = c->count;
				break;
			}
	}
	if (!cma_release_pages(c->page, c->count))
		fz_fail(R_CONTIG, "cma_release_pages refused its own allocation");
	c->page = NULL;
}

static void op_cma_release(void)
{
	struct cma_hold *c = &fz.cma[get8() % NCMA];

	if (c->page)
		cma_drop(c);
}

static void op_reclaim(void)
{
	unsigned int b = get8();

	/* drop_caches 3: the page cache, then the shrinkers (deferred THP splits) */
	if (b & 1) {
		pinmm_drop_caches();
		deferred_split_scan(0);
	} else
		pinmm_reclaim_page_cache(1 + b % 64, b & 2);
	check_holds();
}

/* A file object (diskfs or memfd), opened. */
static int pick_file(unsigned int b)
{
	int oi = (int)(b % 5);

	return obj_open(oi) ? oi : -1;
}

static void op_kwrite(void)
{
	int oi = pick_file(get8());
	unsigned int seed = get8();
	long pos = get16() % OBJ_BYTES, len = 1 + get16() % (3 * PAGE_SIZE);
	uint8_t buf[3 * PAGE_SIZE];
	loff_t lp = pos;
	ssize_t r;

	if (oi < 0)
		return;
	len = min(len, (long)OBJ_BYTES - pos);
	fill_pat(buf, (size_t)len, seed);
	r = kernel_write(fz.objs[oi].f, buf, (size_t)len, &lp);
	if (fz.trace)
		fprintf(stderr, "fuzz:   kernel_write %s [%ld, %ld) = %zd\n", obj_name(oi), pos, pos + len, r);
	if (r != len) {
		fz_fail(R_FILE, "kernel_write(%s, %ld at %ld) = %zd", obj_name(oi), len, pos, r);
		return;
	}
	obj_write_model(oi, pos, buf, NULL, (size_t)len);
}

/* Compare [pos, pos + n) read from object @oi with the model. */
static void file_bytes_check(int oi, long pos, const uint8_t *buf, long n, const char *how)
{
	const struct fobj *o = &fz.objs[oi];

	fz.st_filecheck++;
	for (long k = 0; k < n; k++) {
		long at = pos + k;

		if (o->unknown & (1ULL << (at >> PAGE_SHIFT)))
			continue;
		if (buf[k] != o->data[at]) {
			fz_fail(R_FILE, "%s of %s reads %#x at %ld, the model says %#x (size %ld)", how,
				obj_name(oi), buf[k], at, o->data[at], o->size);
			return;
		}
	}
}

static void op_kread(void)
{
	int oi = pick_file(get8());
	long pos = get16() % OBJ_BYTES, len = 1 + get16() % (3 * PAGE_SIZE), want;
	uint8_t buf[3 * PAGE_SIZE];
	loff_t lp = pos;
	ssize_t r;

	if (oi < 0)
		return;
	r = kernel_read(fz.objs[oi].f, buf, (size_t)len, &lp);
	want = max(0L, min(len, fz.objs[oi].size - pos));
	if (r != want) {
		fz_fail(R_FILE, "kernel_read(%s, %ld at %ld) = %zd, size %ld", obj_name(oi), len, pos,
			r, fz.objs[oi].size);
		return;
	}
	file_bytes_check(oi, pos, buf, want, "kernel_read");
}

/* Does [i, i + n) of slot @s in process @p map object @oi (aliasing)? */
static bool range_maps_obj(int p, int s, int i, long n, int oi)
{
	for (long k = 0; k < n && i + k < SLOT_PAGES; k++) {
		const struct mpage *m = &fz.procs[p].pg[s][i + k];

		if ((m->kind == MK_OBJ || m->kind == MK_FPRIV) && m->obj == oi)
			return true;
	}
	return false;
}

/* read(2)/write(2) between a file and user memory, buffered or O_DIRECT. */
static void op_vfs_rw(void)
{
	unsigned int fb = get8(), ab = get8();
	int oi = pick_file(fb), p = pick_proc(get8()), s, i;
	bool write = fb & 0x10, direct = (fb & 0x20) && oi >= 0 && oi < 3;
	bool misalign = direct && (ab & 0xe0) == 0xe0;
	long n, pos, len;
	unsigned long off, addr;
	uint8_t src[3 * PAGE_SIZE], ubuf[3 * PAGE_SIZE];
	bool known[3 * PAGE_SIZE];
	loff_t lp;
	ssize_t r;
	long prefix = 0;

	pick_range(&s, &i, &n, 3);
	if (oi < 0 || range_maps_obj(p, s, i, n, oi))
		return;
	if (direct) {
		off = (ab % 8) * 512;
		len = (long)(1 + get8() % 16) * 512;
		pos = (long)(get8() % (OBJ_BYTES / 512)) * 512;
		if (misalign)
			off += 1 + ab % 7;
	} else {
		off = get16() % PAGE_SIZE;
		len = 1 + get16() % (3 * PAGE_SIZE);
		pos = get16() % OBJ_BYTES;
	}
	len = min(len, (long)(n * (long)PAGE_SIZE - (long)off));
	len = min(len, (long)OBJ_BYTES - pos);
	if (len <= 0)
		return;
	addr = slot_addr(s, i) + off;
	/* the user bytes the kernel can reach, from the model */
	for (long k = 0; k < len; k++) {
		const struct mpage *m = &fz.procs[p].pg[s][i + (int)((off + k) >> PAGE_SHIFT)];
		unsigned long po = (off + k) & ~PAGE_MASK;

		if (write ? !cpu_readable(m) : !cpu_writable(m))
			break;
		if (write) {
			known[k] = byte_known(m, po);
			src[k] = model_byte(m, po);
		}
		prefix++;
	}
	use_proc(p);
	lp = pos;
	if (write)
		r = vfs_write(direct ? fz.objs[oi].fdio : fz.objs[oi].f, (const char __user *)addr,
			      (size_t)len, &lp);
	else
		r = vfs_read(direct ? fz.objs[oi].fdio : fz.objs[oi].f, (char __user *)addr,
			     (size_t)len, &lp);
	if (fz.trace)
		fprintf(stderr, "fuzz:   vfs_%s%s %s [%ld, %ld) user %#lx (process %d, %ld bytes reachable)"
			" = %zd\n", write ? "write" : "read", direct ? " O_DIRECT" : "", obj_name(oi),
			pos, pos + len, addr, p, prefix, r);
	if (misalign) {
		if (r != -EINVAL && !(!write && pos >= fz.objs[oi].size && r == 0))
			fz_fail(R_FILE, "misaligned O_DIRECT %s = %zd, want -EINVAL",
				write ? "write" : "read", r);
		return;
	}
	if (write) {
		bool bad = r < 0 ? r != -EFAULT || prefix == len :
			   r == 0 || r > prefix || (prefix == len && r != len);

		if (bad) {
			fz_fail(R_FILE, "%s write of %ld bytes from %#lx (%ld readable) = %zd",
				direct ? "O_DIRECT" : "buffered", len, addr, prefix, r);
			return;
		}
		if (r > 0)
			obj_write_model(oi, pos, src, known, (size_t)r);
		else if (direct && prefix)
			/* iomap returns the error, not the short count: a prefix may be on disk */
			for (long k = pos >> PAGE_SHIFT; k <= (pos + prefix - 1) >> PAGE_SHIFT; k++)
				if (k < obj_npages(&fz.objs[oi]))
					fz.objs[oi].unknown |= 1ULL << k;
		return;
	}
	{
		long avail = max(0L, min(len, fz.objs[oi].size - pos));
		long want = min(avail, prefix);

		bool bad = avail == 0 ? r != 0 :
			   prefix == 0 ? r != -EFAULT :
			   direct ? (r < 0 ? r != -EFAULT || prefix == len : r == 0 || r > want ||
				     (prefix == len && r != want)) : r != want;

		if (bad) {
			fz_fail(R_FILE, "%s read of %ld bytes at %ld into %#lx (%ld writable, size %ld)"
				" = %zd", direct ? "O_DIRECT" : "buffered", len, pos, addr, prefix,
				fz.objs[oi].size, r);
			return;
		}
		resync_cow(p, s, i, (int)n);
		/*
		 * The device may have filled a prefix of the buffer before an
		 * error; and a short O_DIRECT read at EOF fills the rest of the
		 * request too (the live kernel zeroes all of it past i_size, and
		 * returns the count up to i_size): those bytes are unknown.
		 */
		if (direct && prefix && (r < 0 || (r > 0 && r < min(len, prefix)))) {
			long from = r < 0 ? 0 : r, to = min(len, prefix);

			for (long k = from; k < to; k += (long)(PAGE_SIZE - ((off + k) & ~PAGE_MASK))) {
				struct mpage *m = &fz.procs[p].pg[s][i + (int)((off + k) >> PAGE_SHIFT)];
				unsigned long po = (off + k) & ~PAGE_MASK;
				size_t chunk = min((size_t)(to - k), (size_t)(PAGE_SIZE - po));
				uint8_t junk[PAGE_SIZE];

				/* a MAP_PRIVATE file page the pin did not reach was not copied */
				if (m->kind == MK_FPRIV && !(m->flags & MF_COWED))
					continue;
				memset(junk, 0, chunk);
				mp_store(m, po, junk, chunk, false);
			}
		}
		if (r <= 0)
			return;
		memcpy(ubuf, fz.objs[oi].data + pos, (size_t)r);
		for (long k = 0; k < r;) {
			struct mpage *m = &fz.procs[p].pg[s][i + (int)((off + k) >> PAGE_SHIFT)];
			unsigned long po = (off + k) & ~PAGE_MASK;
			long chunk = min(r - k, (long)(PAGE_SIZE - po));
			bool kn = !(fz.objs[oi].unknown & (1ULL << ((pos + k) >> PAGE_SHIFT))) &&
				  !(fz.objs[oi].unknown &
				    (1ULL << ((pos + k + chunk - 1) >> PAGE_SHIFT)));

			mp_store(m, po, ubuf + k, (size_t)chunk, kn);
			k += chunk;
		}
	}
}

static void op_truncate(void)
{
	int oi = pick_file(get8());
	long size = (long)get16() % (OBJ_BYTES + 1);
	int r;

	if (oi < 0)
		return;
	if (get8() & 1)
		size &= ~(long)(PAGE_SIZE - 1);
	r = do_ftruncate(fz.objs[oi].f, size, 0);
	if (fz.trace)
		fprintf(stderr, "fuzz:   ftruncate %s %ld = %d\n", obj_name(oi), size, r);
	if (r) {
		fz_fail(R_FILE, "ftruncate(%s, %ld) = %d", obj_name(oi), size, r);
		return;
	}
	obj_resize(oi, size, true);
	fz.objs[oi].used = true;
	check_holds();
}

static void op_fallocate(void)
{
	int oi = pick_file(get8()), r;
	unsigned int mb = get8();
	long off = get16() % OBJ_BYTES, len = 1 + get16() % (4 * PAGE_SIZE);
	int mode = mb % 3 == 0 ? 0 : mb % 3 == 1 ? FALLOC_FL_KEEP_SIZE :
		   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (oi < 0)
		return;
	len = min(len, (long)OBJ_BYTES - off);
	if (len <= 0)
		return;
	r = vfs_fallocate(fz.objs[oi].f, mode, off, len);
	if (fz.trace)
		fprintf(stderr, "fuzz:   fallocate %s mode %d [%ld, %ld) = %d\n", obj_name(oi), mode, off,
			off + len, r);
	if (r) {
		fz_fail(R_FILE, "fallocate(%s, mode %d, %ld, %ld) = %d", obj_name(oi), mode, off, len,
			r);
		return;
	}
	if (mode & FALLOC_FL_PUNCH_HOLE)
		obj_punch(oi, off, len);
	else if (!mode && off + len > fz.objs[oi].size)
		obj_resize(oi, off + len, false);
	fz.objs[oi].used = true;
	check_holds();
}

static void op_sync(void)
{
	unsigned int b = get8();
	int oi = pick_file(b), r;

	if (oi < 0)
		return;
	if (b & 0x20)
		r = sync_file_range(fz.objs[oi].f, (get8() % OBJ_PAGES) * (long)PAGE_SIZE,
				    (1 + get8() % 16) * (long)PAGE_SIZE,
				    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER);
	else
		r = vfs_fsync(fz.objs[oi].f, b & 0x40);
	if (r)
		fz_fail(R_FILE, "fsync/sync_file_range(%s) = %d", obj_name(oi), r);
}

/* A device (PFNMAP) window: CPU reaches it, GUP never does. */
static void op_device(void)
{
	int p = pick_proc(get8());
	unsigned int b = get8();
	struct proc *pr = &fz.procs[p];
	struct page *pages[4];
	uint64_t v = b;
	long r;

	use_proc(p);
	if (!pr->dev_addr) {
		unsigned long np = min(1 + b % 4, pinmm_mmio_pages);
		unsigned long a = pinmm_map_device(pinmm_mmio_pfn, np * PAGE_SIZE,
						   PROT_READ | PROT_WRITE);

		if (IS_ERR_VALUE(a)) {
			fz_fail(R_RETURN, "pinmm_map_device = %ld", (long)a);
			return;
		}
		pr->dev_addr = a;
		pr->dev_pages = np;
		return;
	}
	switch (b % 4) {
	case 0:
		if (vm_munmap(pr->dev_addr, pr->dev_pages * PAGE_SIZE))
			fz_fail(R_RETURN, "munmap of a device window failed");
		pr->dev_addr = 0;
		break;
	case 1:
		if (put_user(v, (uint64_t __user *)pr->dev_addr) || get_user(v, (uint64_t __user *)
									  pr->dev_addr))
			fz_fail(R_CPU, "the CPU cannot reach its device window");
		break;
	default:
		r = pin_user_pages_fast(pr->dev_addr, (int)min(pr->dev_pages, 4UL),
					b & 4 ? FOLL_WRITE : 0, pages);
		if (r != -EFAULT) {
			fz_fail(R_PIN_RANGE, "pin_user_pages_fast of a VM_PFNMAP window = %ld", r);
			if (r > 0)
				unpin_user_pages(pages, (unsigned long)r);
		}
		break;
	}
}

/* Misused GUP arguments: -EINVAL (or 0) and exactly one WARN each (R9). */
static void op_misuse(void)
{
	int p = pick_proc(get8());
	unsigned int v = get8() % 4;
	unsigned long addr = slot_addr(0, 0), warns;
	struct page *pages[1];
	bool saved;
	long r, want;

	use_proc(p);
	saved = pinmm_warn_set_quiet(true);
	warns = pinmm_warn_count();
	switch (v) {
	case 0:
		mmap_read_lock(current->mm);
		r = get_user_pages(addr, 1, FOLL_LONGTERM, pages);
		mmap_read_unlock(current->mm);
		want = -EINVAL;
		break;
	case 1:
		mmap_read_lock(current->mm);
		r = pin_user_pages(addr, 1, FOLL_GET, pages);
		mmap_read_unlock(current->mm);
		want = 0;
		break;
	case 2:
		r = pin_user_pages_fast(addr, 1, FOLL_GET, pages);
		want = -EINVAL;
		break;
	default:
		mmap_read_lock(current->mm);
		r = get_user_pages(addr, 1, FOLL_PIN, pages);
		mmap_read_unlock(current->mm);
		want = -EINVAL;
		break;
	}
	warns = pinmm_warn_count() - warns;
	pinmm_warn_set_quiet(saved);
	fz.warn_base += warns;
	if (r != want || warns != 1)
		fz_fail(R_RETURN, "GUP misuse %u returned %ld (want %ld) with %lu WARNs (want 1)", v,
			r, want, warns);
}

static void op_msync(void)
{
	int p = pick_proc(get8()), s, i, r;
	long n;

	pick_range(&s, &i, &n, 64);
	use_proc(p);
	r = do_msync(slot_addr(s, i), (size_t)n * PAGE_SIZE, MS_SYNC);
	if (r && r != -ENOMEM)
		fz_fail(R_RETURN, "msync = %d", r);
}

struct fz_op {
	const char *name;
	void (*fn)(void);
	int weight;		/* of 256 opcode values */
	bool soak;		/* may run with random fault injection (the model follows) */
};

static const struct fz_op fz_ops[] = {
	{ "mmap", op_mmap, 24, false },
	{ "munmap", op_munmap, 8, false },
	{ "mprotect", op_mprotect, 10, false },
	{ "madvise", op_madvise, 12, false },
	{ "cpu_write", op_cpu_write, 28, false },
	{ "cpu_read", op_cpu_read, 24, false },
	{ "pin", op_pin, 36, true },
	{ "memfd_pin_folios", op_memfd_pin, 3, true },
	{ "unpin", op_unpin, 22, false },
	{ "dev_write", op_dev_write, 14, false },
	{ "dev_read", op_dev_read, 6, false },
	{ "fork", op_fork, 6, true },
	{ "exit", op_exit, 4, false },
	{ "migrate", op_migrate, 6, true },
	{ "compact", op_compact, 1, true },
	{ "offline", op_offline, 2, true },
	{ "cma_alloc", op_cma_alloc, 2, true },
	{ "cma_release", op_cma_release, 2, false },
	{ "reclaim", op_reclaim, 3, false },
	{ "kernel_write", op_kwrite, 8, false },
	{ "kernel_read", op_kread, 5, false },
	{ "vfs_rw", op_vfs_rw, 10, false },
	{ "truncate", op_truncate, 3, false },
	{ "fallocate", op_fallocate, 3, false },
	{ "sync", op_sync, 2, false },
	{ "device", op_device, 1, false },
	{ "misuse", op_misuse, 1, false },
	{ "msync", op_msync, 1, false },
	{ "collapse", op_collapse, 2, false },
	{ "pageout", op_pageout, 3, false },
	{ "ksm", op_ksm, 2, false },
	{ "mlock", op_mlock, 2, false },
};

static uint8_t op_table[256];

static void build_op_table(void)
{
	int k = 0;

	for (size_t o = 0; o < ARRAY_SIZE(fz_ops); o++)
		for (int w = 0; w < fz_ops[o].weight && k < 256; w++)
			op_table[k++] = (uint8_t)o;
	for (; k < 256; k++)	/* the rest: CPU traffic */
		op_table[k] = (uint8_t)(4 + (k & 1));
}

/* ---- an input from start to end ----------------------------------------------------- */

static long pins_outstanding(void)
{
	return global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED) -
	       global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);
}

static void fz_machine_boot(void)
{
	struct pinmm_config cfg = {
		.mem_bytes = (unsigned long)FZ_MEM_MB << 20,
		.movable_bytes = (unsigned long)FZ_MOVABLE_MB << 20,
		.cma_bytes = (unsigned long)FZ_CMA_MB << 20,
	};
	int err = pinmm_boot(&cfg);

	if (!err) {
		err = pinmm_swapon(NULL, (unsigned long)FZ_SWAP_MB << 20);
		err = err < 0 ? err : 0;
	}
	if (err) {
		fprintf(stderr, "pinmm fuzz: pinmm_boot/swapon = %d\n", err);
		abort();
	}
	fz.inputs_since_boot = 0;
}

static void fz_machine_shutdown(void)
{
	int err;

	fz.op_name = "shutdown";
	err = pinmm_shutdown();
	if (err)
		fz_fail(R_QUIESCE, "pinmm_shutdown = %d (a frame, pin or file leaked)", err);
}

static void fz_input_begin(void)
{
	if (!pinmm_is_booted())
		fz_machine_boot();
	for (int o = 0; o < NOBJ; o++) {
		uint8_t *data = fz.objs[o].data;

		if (!data) {
			data = calloc(1, OBJ_BYTES);
			if (!data)
				bail_out("out of memory");
		} else {
			obj_zero(&fz.objs[o]);
		}
		memset(&fz.objs[o], 0, sizeof(fz.objs[o]));
		fz.objs[o].data = data;
		fz.objs[o].type = o < 3 ? OT_DISK : o < 5 ? OT_MEMFD : OT_SHANON;
	}
	memset(fz.holds, 0, sizeof(fz.holds));
	memset(fz.cma, 0, sizeof(fz.cma));
	/* the page models are all empty: every process's was cleared at its exit */
	for (int p = 0; p < NPROC; p++)
		memset(&fz.procs[p], 0, offsetof(struct proc, pg));
	fz.cur = -1;
	fz.failed = false;
	fz.pins_held = 0;
	fz.op_index = 0;
	fz.op_name = NULL;
	fz.procs[0].task = pinmm_task_create("fuzz");
	if (!fz.procs[0].task)
		bail_out("pinmm_task_create failed");
	fz.procs[0].life = new_gen();
	fz.pin_base = pins_outstanding();
	fz.warn_base = pinmm_warn_count();
}

/* The end of an input: release everything, exit, check what must be back (R10, R11). */
static void fz_input_end(void)
{
	fz.op_name = NULL;
	fz.failed = false;	/* the teardown checks still run after a failure */
	for (int h = 0; h < NHOLD; h++)
		if (fz.holds[h].used)
			hold_drop(&fz.holds[h], 1 | 8);
	for (int c = 0; c < NCMA; c++)
		if (fz.cma[c].page)
			cma_drop(&fz.cma[c]);
	for (int p = NPROC - 1; p >= 0; p--)
		if (fz.procs[p].task)
			proc_exit(p);
	unuse_proc();
	/* every byte of every file written: through the disk and back */
	for (int o = 0; o < 3; o++) {
		struct fobj *ob = &fz.objs[o];
		unsigned long checked = 0, bad = 0;
		long first_bad = -1;

		if (!ob->open || !ob->used)
			continue;
		if (vfs_fsync(ob->f, 0))
			fz_fail(R_FILE, "final fsync of %s failed", obj_name(o));
		if (pinmm_diskfs_verify(ob->f, &checked, &bad, &first_bad) || bad)
			fz_fail(R_FILE, "%s: %lu of %lu blocks fail their checksum (first %ld)",
				obj_name(o), bad, checked, first_bad);
	}
	for (int o = 0; o < 3; o++) {
		struct fobj *ob = &fz.objs[o];
		uint8_t *buf;
		loff_t pos = 0;
		ssize_t r;

		if (!ob->open || !ob->used)
			continue;
		/* drop the cache (nothing maps or pins it now) and read the disk back */
		pinmm_drop_caches();
		buf = malloc(OBJ_BYTES);
		if (!buf)
			bail_out("out of memory");
		r = kernel_read(ob->f, buf, OBJ_BYTES, &pos);
		if (r != ob->size)
			fz_fail(R_FILE, "%s reads back %zd bytes from the disk, size %ld", obj_name(o), r,
				ob->size);
		else
			file_bytes_check(o, 0, buf, r, "read-back from the disk");
		free(buf);
	}
	for (int o = 0; o < 5; o++)
		if (fz.objs[o].open) {
			fput(fz.objs[o].f);
			if (fz.objs[o].fdio)
				fput(fz.objs[o].fdio);
			fz.objs[o].open = false;
		}
	if (pins_outstanding() != fz.pin_base)
		fz_fail(R_BALANCE, "nr_foll_pin_acquired - nr_foll_pin_released is %ld at the end, "
			"%ld at the start", pins_outstanding(), fz.pin_base);
	if (pinmm_warn_count() != fz.warn_base)
		fz_fail(R_QUIESCE, "%lu unexpected WARN(s)", pinmm_warn_count() - fz.warn_base);
	if (global_node_page_state_snapshot(NR_ANON_MAPPED))
		fz_fail(R_QUIESCE, "nr_anon_pages %ld with every process gone",
			global_node_page_state_snapshot(NR_ANON_MAPPED));
	if (global_node_page_state_snapshot(NR_ISOLATED_ANON) + global_node_page_state_snapshot(NR_ISOLATED_FILE))
		fz_fail(R_QUIESCE, "folios left isolated");
	/* every anon folio is gone: none may stay on the deferred-split queue */
	if (deferred_split_count())
		fz_fail(R_QUIESCE, "%lu folio(s) left on the deferred-split queue",
			deferred_split_count());
	fz.inputs++;
	if (++fz.inputs_since_boot >= FZ_REBOOT_EVERY)
		fz_machine_shutdown();
}

/**
 * fz_run - interpret @len bytes at @data as operations on the machine.
 * @data: the input.
 * @len: its length.
 *
 * Boots a machine if none is up; reboots after FZ_REBOOT_EVERY inputs.
 * Return: true if no rule was broken.
 */
static bool fz_run(const uint8_t *data, size_t len)
{
	unsigned long before = 0;

	for (int r = 0; r < NR_RULES; r++)
		before += fz.violations[r];
	fz.in = data;
	fz.in_len = len;
	fz.in_pos = 0;
	fz.in_hash = 0xcbf29ce484222325ULL;	/* FNV-1a */
	for (size_t k = 0; fz.soak && k < len; k++)
		fz.in_hash = (fz.in_hash ^ data[k]) * 0x100000001b3ULL;
	fz_input_begin();
	while (fz.in_pos < fz.in_len && !fz.failed) {
		const struct fz_op *op = &fz_ops[op_table[get8()]];
		long held;

		fz.op_name = op->name;
		if (fz.trace)
			fprintf(stderr, "fuzz: op %lu %s (input byte %zu)\n", fz.op_index, op->name,
				fz.in_pos - 1);
		fz.injecting = fz.soak && op->soak;
		if (fz.injecting)
			fz_inject(true);
		op->fn();
		if (fz.injecting)
			fz_inject(false);
		fz.injecting = false;
		fz.op_index++;
		fz.ops++;
		held = pins_outstanding() - fz.pin_base;
		if (!fz.failed && held != fz.pins_held)
			fz_fail(R_BALANCE, "%ld pages pinned by the counters, %ld held by the input",
				held, fz.pins_held);
		if (!fz.failed && pinmm_warn_count() != fz.warn_base)
			fz_fail(R_QUIESCE, "a WARN fired");
	}
	fz_input_end();
	for (int r = 0; r < NR_RULES; r++)
		before -= fz.violations[r];
	return before == 0;
}

static void fz_init(void)
{
	build_op_table();
	fz.cur = -1;
	fz.trace = getenv("FUZZ_TRACE");
	fz.soak = soak_enabled();
}

#ifdef PINMM_LIBFUZZER

static double fz_t0;

static void fz_report(void)
{
	double secs = now_sec() - fz_t0;

	fprintf(stderr, "pinmm fuzz: %lu inputs, %lu operations in %.1f s: %.0f ops/s\n",
		fz.inputs, fz.ops, secs, secs > 0 ? (double)fz.ops / secs : 0.0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	fz_t0 = now_sec();
	atexit(fz_report);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run(data, size);
	return 0;
}

#else /* the gcc TAP driver */

#define FZ_CORPUS	"tests/fuzz/corpus"

static int replay_corpus(void)
{
	DIR *d = opendir(FZ_CORPUS);
	struct dirent *e;
	int files = 0;

	if (!d) {
		diag("no corpus at %s (run from the top of the tree)", FZ_CORPUS);
		return -1;
	}
	while ((e = readdir(d))) {
		char path[512];
		uint8_t *buf;
		FILE *f;
		long len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", FZ_CORPUS, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		buf = malloc((size_t)len + 1);
		if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
			bail_out("cannot read %s", path);
		fclose(f);
		fz.label = e->d_name;
		ok(fz_run(buf, (size_t)len), "corpus %s replays with every rule kept", e->d_name);
		free(buf);
		files++;
	}
	closedir(d);
	return files;
}

/* Save a failing episode's bytes so it can join the corpus or a regression test. */
static void save_episode(const uint8_t *buf, size_t len, uint64_t seed)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "fuzz-failure-%016llx.bin", (unsigned long long)seed);
	f = fopen(path, "wb");
	if (f) {
		fwrite(buf, 1, len, f);
		fclose(f);
		diag("the failing input is in %s", path);
	}
}

int main(void)
{
	const char *env = getenv("FUZZ_EPISODES");
	long episodes = env ? strtol(env, NULL, 0) : 2000;
	/* a soak runs episodes for a time, not a count */
	double max_secs = getenv("FUZZ_MAX_SECONDS") ? atof(getenv("FUZZ_MAX_SECONDS")) : 0;
	uint64_t seed0 = getenv("FUZZ_SEED") ? strtoull(getenv("FUZZ_SEED"), NULL, 0) : 0x5eed;
	unsigned long ops0, failures = 0;
	double t0 = now_sec();
	char label[64];
	int files;

	plan_no_plan();
	fz_init();
	files = replay_corpus();
	ok(files > 0, "the seed corpus tests/fuzz/corpus holds inputs (%d)", files);
	ops0 = fz.ops;
	for (long e = getenv("FUZZ_ONLY") ? atol(getenv("FUZZ_ONLY")) : 0; e < episodes; e++) {
		uint64_t seed = seed0 * 0x100000001b3ULL + (uint64_t)e + 1, x = seed;
		uint8_t buf[1024];
		size_t len = 64 + test_rand(&x) % 700;

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)(test_rand(&x) >> 32);
		if (max_secs > 0 && now_sec() - t0 > max_secs) {
			episodes = e;
			break;
		}
		snprintf(label, sizeof(label), "episode %ld (seed %#llx)", e,
			 (unsigned long long)seed);
		fz.label = label;
		if (!fz_run(buf, len)) {
			if (failures++ < 4)
				save_episode(buf, len, seed);
		}
	}
	if (pinmm_is_booted())
		fz_machine_shutdown();
	diag("%ld episodes, %lu operations in %.1f s", episodes, fz.ops - ops0, now_sec() - t0);
	diag("reached: %lu pages pinned or got (%lu long-term, %lu calls on a THP), %lu device "
	     "writes read back by the CPU, %lu CPU reads checked, %lu file reads checked, %lu forks, "
	     "%lu folios migrated, %lu cma_alloc, %lu offline, %lu MADV_COLLAPSE successes, "
	     "%lu pages swapped out, %lu KSM sharings seen after scans", fz.st_pinned,
	     fz.st_longterm, fz.st_thp, fz.st_devcheck, fz.st_cpucheck, fz.st_filecheck, fz.st_forks,
	     fz.st_migrated, fz.st_cma, fz.st_offline, fz.st_collapse, fz.st_swapout, fz.st_ksm);
	if (fz.soak)
		diag("soak: %lu calls failed on an injected allocation failure", fz.st_excused);
	soak_report("fuzz", fz.ops);
	for (int r = 0; r < NR_RULES; r++)
		is_uint(fz.violations[r], 0, "fuzz: %s (%ld seeded episodes and the corpus)",
			rule_text[r], episodes);
	return done_testing();
}

#endif
