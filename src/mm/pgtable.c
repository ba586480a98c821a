// SPDX-License-Identifier: MIT
/*
 * Page-table pages: allocation, installation, locks, lockless mapping, and
 * freeing after an RCU grace period (Linux: mm/pgtable-generic.c, the table
 * parts of mm/memory.c and arch/x86/mm/pgtable.c).
 *
 * A table is one frame from the machine's own memory (unmovable, zeroed),
 * typed PageTable, accounted in NR_PAGETABLE and, below the PGD, in
 * mm->pgtables_bytes. Its lock lives in its struct page (ptl_space). A new
 * table is linked with a release store, so a walker that reads the entry with
 * an acquire load sees the zeroed table; an unlinked table is freed with
 * call_rcu(), so a walker inside rcu_read_lock() never reads a freed frame.
 */
#include <pinmm/fault-inject.h>
#include <pinmm/memory.h>
#include <pinmm/race.h>
#include <pinmm/vmstat.h>

#include <errno.h>
#include <string.h>

enum pt_level { PT_PGD = 4, PT_PUD = 3, PT_PMD = 2, PT_PTE = 1 };

static inline spinlock_t *ptlock_ptr(struct page *table)
{
	return (spinlock_t *)&table->ptl_space;
}

static struct page *pt_alloc_page(struct mm_struct *mm, enum pt_level level)
{
	struct page *page;

	if (should_fail(PINMM_FAIL_PAGE_TABLE))
		return NULL;
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		return NULL;
	__SetPageTable(page);
	page->pt_index = level;
	spin_lock_init(ptlock_ptr(page), level == PT_PTE ? LOCK_RANK_PTE : LOCK_RANK_PAGE_TABLE);
	INIT_LIST_HEAD(&page->pt_list);
	mod_node_page_state(NR_PAGETABLE, 1);
	if (level != PT_PGD)
		atomic_fetch_add_explicit(&mm->pgtables_bytes, PAGE_SIZE, memory_order_relaxed);
	return page;
}

static void pt_uncharge(struct mm_struct *mm, struct page *page)
{
	mod_node_page_state(NR_PAGETABLE, -1);
	if (page->pt_index != PT_PGD)
		atomic_fetch_sub_explicit(&mm->pgtables_bytes, PAGE_SIZE, memory_order_relaxed);
}

/* Back to the allocator: the overlaid fields must look like a plain page. */
static void pt_release(struct page *page)
{
	VM_BUG_ON(!PageTable(page));
	__ClearPageTable(page);
	memset(&page->pt_rcu_head, 0, sizeof(page->pt_rcu_head));
	page->pt_index = 0;
	page->ptl_space = 0;
	__free_pages(page, 0);
}

static void pt_free_rcu_cb(struct rcu_head *head)
{
	pt_release(container_of(head, struct page, pt_rcu_head));
}

/* A table that was linked: lockless walkers may still read it. */
static void pt_free_deferred(struct mm_struct *mm, struct page *page)
{
	pt_uncharge(mm, page);
	pinmm_race_point(PINMM_RACE_PT_FREE, page_to_pfn(page));
	call_rcu(&page->pt_rcu_head, pt_free_rcu_cb);
}

/* A table no walker ever saw. */
static void pt_free_now(struct mm_struct *mm, struct page *page)
{
	pt_uncharge(mm, page);
	pt_release(page);
}

struct page *pte_table_alloc(struct mm_struct *mm)
{
	return pt_alloc_page(mm, PT_PTE);
}

void pte_table_free(struct mm_struct *mm, struct page *table)
{
	pt_free_now(mm, table);
}

void pte_table_free_rcu(struct mm_struct *mm, struct page *table)
{
	pt_free_deferred(mm, table);
}

int pgd_alloc(struct mm_struct *mm)
{
	struct page *page = pt_alloc_page(mm, PT_PGD);

	if (!page)
		return -ENOMEM;
	spin_lock_init(&mm->page_table_lock, LOCK_RANK_PAGE_TABLE);
	mm->pgd = page_address(page);
	return 0;
}

/* ---- installing tables ------------------------------------------------------ */

int __pud_alloc(struct mm_struct *mm, pgd_t *pgd)
{
	struct page *new = pt_alloc_page(mm, PT_PUD);

	if (!new)
		return -ENOMEM;
	spin_lock(&mm->page_table_lock);
	if (pgd_none(pgdp_get(pgd))) {
		set_pgd(pgd, __pgd((page_to_pfn(new) << PAGE_SHIFT) | _PAGE_TABLE));
		new = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (new)
		pt_free_now(mm, new);
	return 0;
}

int __pmd_alloc(struct mm_struct *mm, pud_t *pud)
{
	struct page *new = pt_alloc_page(mm, PT_PMD);

	if (!new)
		return -ENOMEM;
	spin_lock(&mm->page_table_lock);
	if (pud_none(pudp_get(pud))) {
		set_pud(pud, __pud((page_to_pfn(new) << PAGE_SHIFT) | _PAGE_TABLE));
		new = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (new)
		pt_free_now(mm, new);
	return 0;
}

void pmd_install(struct mm_struct *mm, pmd_t *pmd, struct page **prealloc)
{
	/* the PMD-table lock orders us against a racing THP install or split */
	spinlock_t *ptl = pmd_lock(mm, pmd);

	if (pmd_none(pmdp_get(pmd))) {
		set_pmd(pmd, pmd_mktable(*prealloc));
		*prealloc = NULL;
	}
	spin_unlock(ptl);
}

int __pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	struct page *new = pt_alloc_page(mm, PT_PTE);

	if (!new)
		return -ENOMEM;
	pmd_install(mm, pmd, &new);
	if (new)
		pt_free_now(mm, new);
	return 0;
}

pmd_t *pmd_alloc_walk(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	pud_t *pud;

	if (pgd_none(pgdp_get(pgd)) && __pud_alloc(mm, pgd))
		return NULL;
	pud = pud_offset(pgd, addr);
	if (pud_none(pudp_get(pud)) && __pmd_alloc(mm, pud))
		return NULL;
	/* a gigantic hugetlb leaf (or its migration entry) has no PMD table below */
	if (WARN_ON_ONCE(!pud_is_table(pudp_get(pud))))
		return NULL;
	return pmd_offset(pud, addr);
}

pud_t *pud_alloc_walk(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);

	if (pgd_none(pgdp_get(pgd)) && __pud_alloc(mm, pgd))
		return NULL;
	return pud_offset(pgd, addr);
}

pud_t *mm_find_pud(struct mm_struct *mm, unsigned long address)
{
	pgd_t pgdval = pgdp_get(pgd_offset(mm, address));

	if (!pgd_present(pgdval))
		return NULL;
	return pud_offset_lockless(pgdval, address);
}

pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long address)
{
	pgd_t *pgd = pgd_offset(mm, address);
	pgd_t pgdval = pgdp_get(pgd);
	pud_t *pud;
	pud_t pudval;

	if (!pgd_present(pgdval))
		return NULL;
	pud = pud_offset_lockless(pgdval, address);
	pudval = pudp_get(pud);
	if (!pud_is_table(pudval))
		return NULL;
	return pmd_offset_lockless(pudval, address);
}

spinlock_t *pte_lockptr(struct mm_struct *mm, pmd_t *pmd)
{
	(void)mm;
	return ptlock_ptr(pfn_to_page(pmd_pfn(pmdp_get_lockless(pmd))));
}

spinlock_t *pmd_lockptr(struct mm_struct *mm, pmd_t *pmd)
{
	(void)mm;
	return ptlock_ptr(virt_to_page(pmd));
}

/* ---- mapping PTE tables ------------------------------------------------------ */

pte_t *pte_offset_map(pmd_t *pmd, unsigned long addr, pmd_t *pmdvalp)
{
	pmd_t pmdval;

	rcu_read_lock();
	pmdval = pmdp_get_lockless(pmd);
	if (!pmd_is_table(pmdval)) {
		rcu_read_unlock();
		return NULL;
	}
	if (pmdvalp)
		*pmdvalp = pmdval;
	return pte_offset_lockless(pmdval, addr);
}

void pte_unmap(pte_t *pte)
{
	(void)pte;
	rcu_read_unlock();
}

pte_t *pte_offset_map_lock_nested(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
				  spinlock_t **ptlp, unsigned int subclass)
{
	(void)mm;
	for (;;) {
		pmd_t pmdval;
		pte_t *pte = pte_offset_map(pmd, addr, &pmdval);
		spinlock_t *ptl;

		if (!pte)
			return NULL;
		ptl = ptlock_ptr(pfn_to_page(pmd_pfn(pmdval)));
		spin_lock_nested(ptl, subclass);
		/* the table may have been split, collapsed or freed meanwhile */
		if (likely(pmd_same(pmdval, pmdp_get_lockless(pmd)))) {
			*ptlp = ptl;
			return pte;
		}
		spin_unlock(ptl);
		pte_unmap(pte);
	}
}

pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
			   spinlock_t **ptlp)
{
	return pte_offset_map_lock_nested(mm, pmd, addr, ptlp, 0);
}

void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
{
	spin_unlock(ptl);
	pte_unmap(pte);
}

pte_t *get_locked_pte(struct mm_struct *mm, unsigned long address, spinlock_t **ptlp)
{
	pmd_t *pmd = mm_find_pmd(mm, address);

	if (!pmd)
		return NULL;
	return pte_offset_map_lock(mm, pmd, address, ptlp);
}

/* ---- THP deposit ------------------------------------------------------------- */

void pgtable_trans_huge_deposit(struct mm_struct *mm, pmd_t *pmd, struct page *table)
{
	struct page *pmd_table = virt_to_page(pmd);

	lockdep_assert_held(pmd_lockptr(mm, pmd));
	list_add(&table->pt_list, &pmd_table->pt_list);
}

struct page *pgtable_trans_huge_withdraw(struct mm_struct *mm, pmd_t *pmd)
{
	struct page *pmd_table = virt_to_page(pmd);
	struct page *table;

	lockdep_assert_held(pmd_lockptr(mm, pmd));
	table = list_first_entry_or_null(&pmd_table->pt_list, struct page, pt_list);
	if (table)
		list_del_init(&table->pt_list);
	return table;
}

/* ---- freeing tables ----------------------------------------------------------- */

/* Is the whole span [start, start + size) free of other VMAs? */
static inline bool span_inside(unsigned long start, unsigned long size, unsigned long floor,
			       unsigned long ceiling)
{
	return start >= floor && start + size - 1 <= ceiling - 1;
}

static bool pte_table_empty(pte_t *table)
{
	for (int i = 0; i < PTRS_PER_TABLE; i++)
		if (!pte_none(ptep_get(&table[i])))
			return false;
	return true;
}

/* Free the PTE tables under the PMD table @pmdt; true if @pmdt became empty. */
static bool free_pmd_level(struct mm_struct *mm, pmd_t *pmdt, unsigned long base,
			   unsigned long addr, unsigned long end, unsigned long floor,
			   unsigned long ceiling)
{
	bool empty = true;

	for (int i = 0; i < PTRS_PER_TABLE; i++) {
		unsigned long s = base + ((unsigned long)i << PMD_SHIFT);
		pmd_t *pmd = &pmdt[i];
		pmd_t val = pmdp_get(pmd);
		bool mine = s + PMD_SIZE - 1 >= addr && s <= end - 1 &&
			    span_inside(s, PMD_SIZE, floor, ceiling);

		if (pmd_none(val))
			continue;
		if (!mine || !pmd_is_table(val)) {
			/* a leaf here means the range was not zapped */
			WARN_ON_ONCE(mine);
			empty = false;
			continue;
		}
		if (WARN_ON_ONCE(!pte_table_empty(pt_table_va(pmd_val(val))))) {
			empty = false;
			continue;
		}
		spin_lock(pmd_lockptr(mm, pmd));
		set_pmd(pmd, __pmd(0));
		spin_unlock(pmd_lockptr(mm, pmd));
		pt_free_deferred(mm, pfn_to_page(pmd_pfn(val)));
	}
	return empty;
}

static bool free_pud_level(struct mm_struct *mm, pud_t *pudt, unsigned long base,
			   unsigned long addr, unsigned long end, unsigned long floor,
			   unsigned long ceiling)
{
	bool empty = true;

	for (int i = 0; i < PTRS_PER_TABLE; i++) {
		unsigned long s = base + ((unsigned long)i << PUD_SHIFT);
		pud_t *pud = &pudt[i];
		pud_t val = pudp_get(pud);
		bool meets = s + PUD_SIZE - 1 >= addr && s <= end - 1;
		bool sub_empty;

		if (pud_none(val))
			continue;
		if (!meets || !pud_is_table(val)) {
			empty = false;
			continue;
		}
		sub_empty = free_pmd_level(mm, pt_table_va(pud_val(val)), s, addr, end, floor,
					   ceiling);
		if (!sub_empty || !span_inside(s, PUD_SIZE, floor, ceiling)) {
			empty = false;
			continue;
		}
		spin_lock(&mm->page_table_lock);
		set_pud(pud, __pud(0));
		spin_unlock(&mm->page_table_lock);
		pt_free_deferred(mm, pfn_to_page(pud_pfn(val)));
	}
	return empty;
}

void free_pgd_range(struct mm_struct *mm, unsigned long addr, unsigned long end,
		    unsigned long floor, unsigned long ceiling)
{
	if (addr >= end || !mm->pgd)
		return;
	for (unsigned long i = pgd_index(addr); i <= pgd_index(end - 1); i++) {
		unsigned long s = i << PGDIR_SHIFT;
		pgd_t *pgd = &mm->pgd[i];
		pgd_t val = pgdp_get(pgd);

		if (!pgd_present(val))
			continue;
		if (!free_pud_level(mm, pt_table_va(pgd_val(val)), s, addr, end, floor,
				    ceiling))
			continue;
		if (!span_inside(s, 1UL << PGDIR_SHIFT, floor, ceiling))
			continue;
		spin_lock(&mm->page_table_lock);
		set_pgd(pgd, __pgd(0));
		spin_unlock(&mm->page_table_lock);
		pt_free_deferred(mm, pfn_to_page(pgd_pfn(val)));
	}
}

void pgd_free(struct mm_struct *mm)
{
	pgd_t *pgdt = mm->pgd;

	if (!pgdt)
		return;
	/* whatever free_pgd_range left (FIRST_USER_ADDRESS borders, stray tables) */
	for (int i = 0; i < PTRS_PER_TABLE; i++) {
		pgd_t g = pgdp_get(&pgdt[i]);
		pud_t *pudt;

		if (!pgd_present(g))
			continue;
		pudt = pt_table_va(pgd_val(g));
		for (int j = 0; j < PTRS_PER_TABLE; j++) {
			pud_t u = pudp_get(&pudt[j]);
			pmd_t *pmdt;

			if (!pud_is_table(u))
				continue;
			pmdt = pt_table_va(pud_val(u));
			for (int k = 0; k < PTRS_PER_TABLE; k++) {
				pmd_t m = pmdp_get(&pmdt[k]);

				if (pmd_none(m))
					continue;
				if (WARN_ON_ONCE(!pmd_is_table(m)))
					continue;
				WARN_ON_ONCE(!pte_table_empty(pt_table_va(pmd_val(m))));
				pt_free_deferred(mm, pfn_to_page(pmd_pfn(m)));
			}
			pt_free_deferred(mm, pfn_to_page(pud_pfn(u)));
		}
		pt_free_deferred(mm, pfn_to_page(pgd_pfn(g)));
	}
	mm->pgd = NULL;
	pt_free_deferred(mm, virt_to_page(pgdt));
}
