/* SPDX-License-Identifier: MIT */
/*
 * struct page and struct folio.
 *
 * One struct page per 4 KiB frame, in one array indexed by pfn that lives as
 * long as the machine (Linux's vmemmap), so a speculative look at the struct
 * page of a frame that was just freed is always a valid memory access and a
 * speculative reference grab on it fails cleanly.
 *
 * A folio is a power-of-two run of pages, naturally aligned, treated as one
 * unit. Its head page is page[0]; the large-folio fields live in the tail
 * pages page[1] and page[2], exactly where Linux keeps them, by overlaying
 * struct folio on the struct page array.
 *
 * Lock letters on fields (FreeBSD vm_page.h style):
 *   (a) atomic, no lock needed        (z) zone->lock while the page is free
 *   (f) folio lock                    (p) page-table lock of the mapping
 *   (l) lru lock                      (c) constant while the page is allocated
 */
#ifndef PINMM_MM_TYPES_H
#define PINMM_MM_TYPES_H

#include <pinmm/atomic.h>
#include <pinmm/bug.h>
#include <pinmm/list.h>
#include <pinmm/rcupdate.h>
#include <pinmm/types.h>

struct address_space;
struct anon_vma;

struct page {
	atomic_ulong flags;			/* (a) PG_* bits, zone in the top bits */
	union {
		struct {
			union {
				struct list_head lru;	/* (z) buddy list, (l) LRU */
				struct {
					void *__filler;
					unsigned int mlock_count;
				};
			};
			/* (a) file mapping, or anon_vma | PAGE_MAPPING_ANON */
			_Atomic(struct address_space *) mapping;
			pgoff_t index;			/* (f) offset in mapping */
			unsigned long private;		/* (z) buddy order; fs data */
		};
		struct {				/* page-table pages */
			union {
				struct {
					unsigned long __pt_pad;
					/* PMD table: deposited PTE tables (THP) */
					struct list_head pt_list;
				};
				/* freeing after a grace period (GUP-fast walks under RCU) */
				struct rcu_head pt_rcu_head;
			};
			unsigned long pt_index;		/* which table level, debug */
			unsigned long ptl_space;	/* holds a spinlock_t */
		};
	};
	/*
	 * (a) tail pages: address of the head page with bit 0 set; 0 otherwise.
	 * Read speculatively by page_folio() during lockless walks.
	 */
	atomic_ulong compound_head;
	union {
		atomic_int _mapcount;		/* (a) mappings of this page - 1 */
		atomic_uint page_type;		/* PGTY_* in the top byte when typed */
	};
	atomic_int _refcount;			/* (a) see page_ref.h */
};

_Static_assert(sizeof(struct page) == 64, "struct page must stay at 64 bytes");

struct folio {
	/* page[0]: the head */
	union {
		struct {
			atomic_ulong flags;
			union {
				struct list_head lru;
				struct {
					void *__filler;
					unsigned int mlock_count;
				};
			};
			_Atomic(struct address_space *) mapping;
			pgoff_t index;
			void *private;
			atomic_ulong __compound_head;	/* always 0 on a head */
			atomic_int _mapcount;
			atomic_int _refcount;
		};
		struct page page;
	};
	/* page[1]: large folios only */
	union {
		struct {
			atomic_ulong _flags_1;		/* order in the low byte */
			atomic_int _large_mapcount;	/* (a) all mappings - 1 */
			atomic_int _entire_mapcount;	/* (a) PMD mappings - 1 */
			atomic_int _nr_pages_mapped;	/* (a) pages with _mapcount >= 0 */
			atomic_int _pincount;		/* (a) FOLL_PIN pins, exact */
			unsigned long _folio_nr_pages;	/* (c) */
			union {
				unsigned long __pad_1[2];	/* page[1]'s index and private */
				struct {
					/*
					 * Anon: the two mms that map it (Linux's
					 * CONFIG_MM_ID), FOLIO_MM_IDS_* bits; their
					 * mapcounts below. Under the bit lock.
					 */
					atomic_ulong _mm_ids;
					int _mm_id_mapcount[2];
				};
			};
			atomic_ulong _head_1;
			atomic_int _mapcount_1;
			atomic_int _refcount_1;
		};
		struct page __page_1;
	};
	/* page[2]: order >= 2 only */
	union {
		struct {
			atomic_ulong _flags_2;
			struct list_head _deferred_list;	/* THP split queue */
			unsigned long __pad_2[3];
			atomic_ulong _head_2;
			atomic_int _mapcount_2;
			atomic_int _refcount_2;
		};
		struct page __page_2;
	};
};

/*
 * folio->_mm_ids: two mm ids of 31 bits (slot 0 low, slot 1 above it), a bit
 * saying the folio may be mapped by more than one mm (a third mm mapped it,
 * or both slots hold mappings), and a bit lock guarding the ids, their
 * mapcounts and _large_mapcount changes of anon large folios.
 */
#define FOLIO_MM_ID_BITS	31
#define FOLIO_MM_ID_MASK	((1UL << FOLIO_MM_ID_BITS) - 1)
#define FOLIO_MM_IDS_SHARED	(1UL << 62)
#define FOLIO_MM_IDS_LOCK	(1UL << 63)

#define FOLIO_MATCH(pg, fl) \
	_Static_assert(offsetof(struct page, pg) == offsetof(struct folio, fl), \
		       "folio field " #fl " must overlay page field " #pg)
FOLIO_MATCH(flags, flags);
FOLIO_MATCH(lru, lru);
FOLIO_MATCH(mapping, mapping);
FOLIO_MATCH(index, index);
FOLIO_MATCH(private, private);
FOLIO_MATCH(compound_head, __compound_head);
FOLIO_MATCH(_mapcount, _mapcount);
FOLIO_MATCH(_refcount, _refcount);
#undef FOLIO_MATCH
#define FOLIO_MATCH(pg, fl, n) \
	_Static_assert(offsetof(struct folio, fl) == \
		       (n) * sizeof(struct page) + offsetof(struct page, pg), \
		       "folio field " #fl " must overlay page[" #n "]." #pg)
FOLIO_MATCH(flags, _flags_1, 1);
FOLIO_MATCH(compound_head, _head_1, 1);
FOLIO_MATCH(_mapcount, _mapcount_1, 1);
FOLIO_MATCH(_refcount, _refcount_1, 1);
FOLIO_MATCH(flags, _flags_2, 2);
FOLIO_MATCH(compound_head, _head_2, 2);
FOLIO_MATCH(_mapcount, _mapcount_2, 2);
FOLIO_MATCH(_refcount, _refcount_2, 2);
#undef FOLIO_MATCH
_Static_assert(sizeof(struct folio) == 3 * sizeof(struct page), "struct folio overlays 3 pages");

/* Bits in folio->mapping (the low bits of a pointer are free). */
#define PAGE_MAPPING_ANON	0x1UL
#define PAGE_MAPPING_MOVABLE	0x2UL
#define PAGE_MAPPING_KSM	(PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE)
#define PAGE_MAPPING_FLAGS	(PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE)

/* ===========================================================================
 * Address spaces: mm_struct, vm_area_struct, and the fault descriptor.
 * Lock letters: (m) mmap_lock, (M) mmap_lock for write, (p) page_table_lock,
 * (a) atomic, (c) constant after creation.
 * ===========================================================================
 */
#include <pinmm/locks.h>
#include <pinmm/pgtable.h>
#include <pinmm/rbtree.h>
#include <pinmm/seqlock.h>

struct vm_area_struct;
struct mmu_notifier_subscriptions;
struct task_struct;
struct file;
struct userfaultfd_ctx;

/* vm_flags, Linux's values */
#define VM_NONE		0x00000000UL
#define VM_READ		0x00000001UL
#define VM_WRITE	0x00000002UL
#define VM_EXEC		0x00000004UL
#define VM_SHARED	0x00000008UL
#define VM_MAYREAD	0x00000010UL
#define VM_MAYWRITE	0x00000020UL
#define VM_MAYEXEC	0x00000040UL
#define VM_MAYSHARE	0x00000080UL
#define VM_GROWSDOWN	0x00000100UL
#define VM_UFFD_MISSING	0x00000200UL	/* userfaultfd: missing faults (unused) */
#define VM_PFNMAP	0x00000400UL	/* raw pfns, no struct page behind them */
#define VM_UFFD_WP	0x00001000UL	/* userfaultfd write-protect tracking (userfaultfd.h) */
#define VM_LOCKED	0x00002000UL
#define VM_IO		0x00004000UL	/* memory-mapped I/O */
#define VM_SEQ_READ	0x00008000UL	/* MADV_SEQUENTIAL: read once, in order */
#define VM_RAND_READ	0x00010000UL	/* MADV_RANDOM: no read-ahead */
#define VM_DONTCOPY	0x00020000UL	/* MADV_DONTFORK */
#define VM_DONTEXPAND	0x00040000UL
#define VM_LOCKONFAULT	0x00080000UL
#define VM_ACCOUNT	0x00100000UL
#define VM_NORESERVE	0x00200000UL
#define VM_HUGETLB	0x00400000UL
#define VM_WIPEONFORK	0x02000000UL	/* MADV_WIPEONFORK */
#define VM_DONTDUMP	0x04000000UL
#define VM_SOFTDIRTY	0x08000000UL	/* not soft-dirty clean: all pages read as soft-dirty */
#define VM_MIXEDMAP	0x10000000UL
#define VM_HUGEPAGE	0x20000000UL	/* MADV_HUGEPAGE */
#define VM_NOHUGEPAGE	0x40000000UL	/* MADV_NOHUGEPAGE */
#define VM_MERGEABLE	0x80000000UL	/* MADV_MERGEABLE: KSM may merge its pages */
#define VM_ACCESS_FLAGS	(VM_READ | VM_WRITE | VM_EXEC)
#define VM_LOCKED_MASK	(VM_LOCKED | VM_LOCKONFAULT)
/* VMAs that can never merge with a neighbour or be touched by GUP */
#define VM_SPECIAL	(VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP)

struct vm_area_struct {
	unsigned long vm_start;			/* (M) first byte */
	unsigned long vm_end;			/* (M) first byte after */
	struct mm_struct *vm_mm;		/* (c) */
	pgprot_t vm_page_prot;			/* (M) PTE bits for new mappings */
	vm_flags_t vm_flags;			/* (M) VM_* */
	struct rb_node vm_rb;			/* (M) in mm->mm_rb, by vm_start */
	struct list_head vm_list;		/* (M) mm->mmap_list, address order */
	pgoff_t vm_pgoff;			/* (M) offset in PAGE_SIZE units */
	struct anon_vma *anon_vma;		/* (m + p) set on first anon fault */
	struct list_head anon_vma_chain;	/* (M) this VMA's anon_vma_chains */
	struct file *vm_file;			/* (c) NULL for anonymous memory */
	const struct vm_operations_struct *vm_ops;
	void *vm_private_data;
	struct list_head shared;		/* i_mmap list of the file's mapping */
	struct userfaultfd_ctx *vm_userfaultfd_ctx;	/* (M) registered uffd, or NULL */
};

/* mm->flags bits */
#define MMF_HAS_PINNED		0	/* FOLL_PIN happened once; sticky */
#define MMF_OOM_SKIP		1
#define MMF_UNSTABLE		2	/* being torn down */
#define MMF_HUGE_ZERO_FOLIO	3	/* holds a use of the huge zero folio (never inherited) */
#define MMF_VM_MERGEABLE	16	/* registered with KSM (Linux's bit) */

enum mm_counter {
	MM_FILEPAGES,
	MM_ANONPAGES,
	MM_SWAPENTS,
	MM_SHMEMPAGES,
	NR_MM_COUNTERS
};

#define TASK_SIZE	((1UL << 47) - PAGE_SIZE)
#define TASK_SIZE_MAX	TASK_SIZE
#define FIRST_USER_ADDRESS	0x10000UL

struct mm_struct {
	struct rb_root mm_rb;			/* (m) VMAs by address */
	struct list_head mmap_list;		/* (m) VMAs in address order */
	int map_count;				/* (m) number of VMAs */
	pgd_t *pgd;				/* (c) top-level table */
	atomic_int mm_users;			/* (a) users of the address space */
	atomic_int mm_count;			/* (a) references to the struct */
	struct rw_semaphore mmap_lock;
	spinlock_t page_table_lock;		/* installs tables, guards PMD leaves */
	/*
	 * (a) Odd while fork write-protects COW mappings: GUP-fast pins back
	 * off instead of racing the copy (Linux: write_protect_seq).
	 */
	seqcount_t write_protect_seq;
	atomic_ulong flags;			/* (a) MMF_* */
	/* (a) pages pinned long-term, charged by the pinning driver (VmPin) */
	atomic64_t pinned_vm;
	/* (c) small id naming this mm in large folios' _mm_ids (never 0) */
	unsigned int mm_id;
	/* (M) VM_LOCKED pages, plus what account_locked_vm() charges (VmLck) */
	unsigned long locked_vm;
	unsigned long total_vm;			/* (M) mapped pages */
	unsigned long mmap_base;		/* (c) top of the mmap area */
	atomic_long rss_stat[NR_MM_COUNTERS];	/* (a) resident pages by kind */
	atomic_long pgtables_bytes;		/* (a) */
	unsigned long def_flags;		/* (M) default vm_flags */
	struct mmu_notifier_subscriptions *notifier_subscriptions; /* (M) */
	struct task_struct *owner;
};

static inline bool mm_flags_test(int bit, const struct mm_struct *mm)
{
	return (atomic_load_explicit(&((struct mm_struct *)mm)->flags,
				     memory_order_relaxed) >> bit) & 1;
}

/* fault flags: what the faulting access wants and what the handler may do */
#define FAULT_FLAG_WRITE		(1U << 0)
#define FAULT_FLAG_MKWRITE		(1U << 1)
#define FAULT_FLAG_ALLOW_RETRY		(1U << 2)	/* may drop mmap_lock and return RETRY */
#define FAULT_FLAG_RETRY_NOWAIT		(1U << 3)	/* ... without waiting, lock kept */
#define FAULT_FLAG_KILLABLE		(1U << 4)
#define FAULT_FLAG_TRIED		(1U << 5)	/* second try after a RETRY */
#define FAULT_FLAG_USER			(1U << 6)
#define FAULT_FLAG_REMOTE		(1U << 7)	/* not current's mm */
#define FAULT_FLAG_INSTRUCTION		(1U << 8)
#define FAULT_FLAG_INTERRUPTIBLE	(1U << 9)
#define FAULT_FLAG_UNSHARE		(1U << 10)	/* make an anon page exclusive, R/O */
#define FAULT_FLAG_ORIG_PTE_VALID	(1U << 11)

typedef unsigned int vm_fault_t;
#define VM_FAULT_OOM		0x000001
#define VM_FAULT_SIGBUS		0x000002
#define VM_FAULT_MAJOR		0x000004
#define VM_FAULT_HWPOISON	0x000010
#define VM_FAULT_SIGSEGV	0x000040
#define VM_FAULT_NOPAGE		0x000100
#define VM_FAULT_LOCKED		0x000200
#define VM_FAULT_RETRY		0x000400	/* mmap_lock was released; try again */
#define VM_FAULT_FALLBACK	0x000800	/* huge fault failed: use small pages */
#define VM_FAULT_DONE_COW	0x001000
#define VM_FAULT_COMPLETED	0x004000	/* done, and mmap_lock was released */
#define VM_FAULT_ERROR	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON)

struct vm_fault {
	struct vm_area_struct *vma;
	gfp_t gfp_mask;
	pgoff_t pgoff;			/* logical page offset in the VMA's object */
	unsigned long address;		/* page-aligned faulting address */
	unsigned long real_address;	/* as given */
	unsigned int flags;		/* FAULT_FLAG_* */
	pud_t *pud;
	pmd_t *pmd;
	pte_t *pte;			/* set while the PTE table is mapped */
	pte_t orig_pte;
	pmd_t orig_pmd;
	spinlock_t *ptl;
	struct page *page;		/* ->fault() returns the page here */
	struct page *cow_page;
	/*
	 * A PTE table allocated before ->map_pages() (which runs under
	 * rcu_read_lock() and must not allocate) for an empty PMD; freed by
	 * the fault if nobody installed it.
	 */
	struct page *prealloc_pte;
};

struct vm_operations_struct {
	void (*open)(struct vm_area_struct *vma);
	void (*close)(struct vm_area_struct *vma);
	/* May the VMA be split at @addr? -EINVAL refuses (hugetlb: huge page boundaries). */
	int (*may_split)(struct vm_area_struct *vma, unsigned long addr);
	/* Fill vmf->page (referenced, locked with VM_FAULT_LOCKED) for vmf->pgoff. */
	vm_fault_t (*fault)(struct vm_fault *vmf);
	vm_fault_t (*huge_fault)(struct vm_fault *vmf, unsigned int order);
	/*
	 * Fault-around: map what is already cached of [start_pgoff,
	 * end_pgoff] without waiting or reading; VM_FAULT_NOPAGE if the
	 * faulting page is among them. Called under rcu_read_lock().
	 */
	vm_fault_t (*map_pages)(struct vm_fault *vmf, pgoff_t start_pgoff, pgoff_t end_pgoff);
	/* A shared file page is about to become writable: the fs may refuse. */
	vm_fault_t (*page_mkwrite)(struct vm_fault *vmf);
	vm_fault_t (*pfn_mkwrite)(struct vm_fault *vmf);
	const char *(*name)(struct vm_area_struct *vma);
};

#endif /* PINMM_MM_TYPES_H */
