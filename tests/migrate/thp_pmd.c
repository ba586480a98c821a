// SPDX-License-Identifier: MIT
/*
 * PMD migration entries (Linux mm/huge_memory.c set_pmd_migration_entry()
 * and remove_migration_pmd(), CONFIG_ARCH_ENABLE_THP_MIGRATION): an anon THP
 * mapped by a PMD leaf migrates without being split. While it moves, its PMD
 * is one migration entry that records the pfn, whether the leaf was writable
 * and whether the folio was anon-exclusive (and its dirty bit); afterwards
 * one PMD leaf of the destination carries the same permission and
 * exclusivity. A THP that may be pinned is not migrated and keeps its leaf
 * as it was. A migration entry split meanwhile (mprotect of half of it)
 * becomes 512 PTE entries with the same bits, restored as PTEs. Fork meeting
 * the entry copies it to the child and makes both readable, not writable nor
 * exclusive (Linux copy_huge_pmd(): the THP is shared with the child once it
 * lands), and counts its 512 pages in the child's rss; the entry's uffd-wp
 * bit goes to the child only if the child is registered
 * (UFFD_FEATURE_EVENT_FORK). The PTE twin, a small page's writable migration
 * entry met by fork, follows the same rule (Linux copy_nonpresent_pte()),
 * except in a shared mapping (a registered shmem VMA), whose entry stays
 * writable.
 *
 * The race point at the frozen refcount (debug builds) lets each case look
 * at the page table in the middle of the move.
 */
#include "helpers.h"

#include <pinmm/gup.h>
#include <pinmm/race.h>
#include <pinmm/userfaultfd.h>

#include <pthread.h>
#include <stdio.h>

/* What the PMD at MG_BASE of mid.mm held while the source was frozen. */
static struct {
	struct mm_struct *mm;
	unsigned long src_pfn;
	pmd_t pmd;
	pte_t pte;		/* the PTE at MG_BASE, when the PMD is a table */
	int hits, mapcount;
	long rss;
	struct task_struct *splitter;	/* non-NULL: mprotect half of the THP here */
	int split_ret;
	struct task_struct *forker;	/* non-NULL: fork it here */
	struct task_struct *child;
	int fork_ret;
} mid;

static pmd_t peek_pmd(struct mm_struct *mm, unsigned long addr)
{
	/* lockless: the migrator holds folio locks, which rank below mmap_lock */
	pmd_t *pmd = mm_find_pmd(mm, addr);

	return pmd ? pmdp_get_lockless(pmd) : __pmd(0);
}

static void *split_half(void *arg)
{
	(void)arg;
	pinmm_task_attach(mid.splitter);
	mid.split_ret = do_mprotect(MG_BASE, HPAGE_PMD_SIZE / 2, PROT_READ);
	pinmm_task_detach();
	return NULL;
}

static void *fork_it(void *arg)
{
	(void)arg;
	pinmm_task_attach(mid.forker);
	mid.fork_ret = pinmm_fork(mid.forker, "child", &mid.child);
	pinmm_task_detach();
	return NULL;
}

static void at_frozen(enum pinmm_race point, unsigned long pfn, void *arg)
{
	(void)point;
	(void)arg;
	if (pfn != mid.src_pfn)
		return;
	mid.hits++;
	mid.pmd = peek_pmd(mid.mm, MG_BASE);
	if (pmd_is_table(mid.pmd)) {
		pte_t *pte = pte_offset_map(mm_find_pmd(mid.mm, MG_BASE), MG_BASE, NULL);

		if (pte) {
			mid.pte = ptep_get(pte);
			pte_unmap(pte);
		}
	}
	mid.mapcount = folio_mapcount(pfn_folio(pfn));
	mid.rss = get_mm_counter(mid.mm, MM_ANONPAGES);
	if (mid.splitter) {
		pthread_t th;

		/* another CPU: mprotect takes the mmap_lock, which we must not while frozen */
		pthread_create(&th, NULL, split_half, NULL);
		pthread_join(th, NULL);
	}
	if (mid.forker) {
		pthread_t th;

		/* fork takes both mmap_locks too: another CPU */
		pthread_create(&th, NULL, fork_it, NULL);
		pthread_join(th, NULL);
	}
}

static struct task_struct *thp_task(const char *name, struct mm_struct **mm, uint64_t tag)
{
	struct task_struct *t = test_process(name);

	*mm = t->mm;
	mg_mmap(MG_BASE, HPAGE_PMD_SIZE);
	if (do_madvise(*mm, MG_BASE, HPAGE_PMD_SIZE, MADV_HUGEPAGE))
		bail_out("MADV_HUGEPAGE failed");
	mg_fill(MG_BASE, HPAGE_PMD_NR, tag);
	if (!test_pmd_mapped(*mm, MG_BASE))
		bail_out("%s: no PMD-mapped THP to start from", name);
	return t;
}

/* Migrate the THP at MG_BASE of @mm (to ZONE_NORMAL), watching the frozen point. */
static int migrate_thp(struct mm_struct *mm, unsigned int *succ)
{
	LIST_HEAD(list);
	int ret;

	mid.mm = mm;
	mid.src_pfn = test_pt_pfn(mm, MG_BASE);
	mid.hits = 0;
	mid.pmd = __pmd(0);
	if (!mg_isolate(mm, MG_BASE, &list))
		return -100;
	pinmm_race_arm(PINMM_RACE_MIGRATE_FROZEN, at_frozen, NULL);
	ret = mg_migrate(&list, GFP_USER, succ);
	pinmm_race_disarm(PINMM_RACE_MIGRATE_FROZEN);
	putback_movable_pages(&list);
	return ret;
}

static bool mid_is_entry(enum swp_type type)
{
	swp_entry_t e = pmd_to_swp_entry(mid.pmd);

	return is_swap_pmd(mid.pmd) && swp_type(e) == type && swp_offset(e) == mid.src_pfn;
}

static void test_writable(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned int succ = 0;
	unsigned long pfn1;
	long splits = ev(THP_SPLIT_PMD);
	bool leaf;
	pmd_t pmd;

	mg_boot();
	t = thp_task("pmd-write", &mm, 21);
	is_int(migrate_thp(mm, &succ), 0, "pmd entry: a PMD-mapped THP migrates");
	is_int(mid.hits, 1, "pmd entry: the source was frozen once");
	ok(mid_is_entry(SWP_MIGRATION_WRITE),
	   "pmd entry: while frozen, the PMD is one writable migration entry for the "
	   "source's pfn (set_pmd_migration_entry), not a table of 512 PTE entries");
	ok(pmd_val(mid.pmd) & _PAGE_SWP_DIRTY, "pmd entry: it records the leaf's dirty bit");
	is_int(mid.mapcount, 0, "pmd entry: the PMD mapping was removed from the source's rmap");
	is_int(mid.rss, (long)HPAGE_PMD_NR, "pmd entry: the entry keeps the 512 pages of rss");
	pmd = __pmd(test_pt_entry(mm, MG_BASE, &leaf));
	pfn1 = pmd_pfn(pmd);
	ok(leaf && pfn1 != mid.src_pfn && folio_order(pfn_folio(pfn1)) == HPAGE_PMD_ORDER,
	   "pmd entry: afterwards one PMD leaf maps the order-9 destination "
	   "(remove_migration_pmd)");
	ok(pmd_write(pmd) && pmd_dirty(pmd), "pmd entry: writable and dirty again");
	ok(PageAnonExclusive(folio_page(pfn_folio(pfn1), 0)),
	   "pmd entry: the destination is anon-exclusive, as the source was");
	is_int(folio_entire_mapcount(pfn_folio(pfn1)), 1, "pmd entry: entire mapcount 1");
	is_int(ev(THP_SPLIT_PMD) - splits, 0, "pmd entry: no PMD was split (thp_split_pmd +0)");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 21), 0, "pmd entry: 2 MiB read back the same");
	/* exclusive: a write reuses the folio, no COW */
	ok(!put_user(1UL, (unsigned long __user *)(MG_BASE + 9 * PAGE_SIZE)) &&
	   test_pt_pfn(mm, MG_BASE) == pfn1 && test_pmd_mapped(mm, MG_BASE),
	   "pmd entry: a write goes to the same PMD-mapped folio");
	mg_teardown("pmd write", &t, 1);
}

static void test_readonly_exclusive(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned int succ = 0;
	unsigned long pfn1;
	bool leaf;
	pmd_t pmd;

	mg_boot();
	t = thp_task("pmd-ro", &mm, 22);
	is_int(do_mprotect(MG_BASE, HPAGE_PMD_SIZE, PROT_READ), 0, "pmd ro: mprotect(READ)");
	is_int(migrate_thp(mm, &succ), 0, "pmd ro: migrated");
	ok(mid_is_entry(SWP_MIGRATION_READ_EXCLUSIVE),
	   "pmd ro: a read-only exclusive THP gets a readable-exclusive PMD entry");
	pmd = __pmd(test_pt_entry(mm, MG_BASE, &leaf));
	pfn1 = pmd_pfn(pmd);
	ok(leaf && !pmd_write(pmd), "pmd ro: back as a read-only PMD leaf (the old permission)");
	ok(PageAnonExclusive(folio_page(pfn_folio(pfn1), 0)), "pmd ro: and anon-exclusive");
	is_int(do_mprotect(MG_BASE, HPAGE_PMD_SIZE, MG_RW), 0, "pmd ro: mprotect(RW)");
	ok(!put_user(2UL, (unsigned long __user *)MG_BASE) && test_pt_pfn(mm, MG_BASE) == pfn1,
	   "pmd ro: a write then reuses it in place (exclusive: no copy)");
	mg_teardown("pmd ro", &t, 1);
}

static void test_shared_after_fork(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct mm_struct *mm;
	unsigned int succ = 0;
	unsigned long pfn1;
	bool leaf;
	pmd_t p, c;

	mg_boot();
	t[0] = thp_task("pmd-fork", &mm, 23);
	is_int(pinmm_fork(t[0], "child", &t[1]), 0, "pmd fork: fork");
	is_int(migrate_thp(mm, &succ), 0, "pmd fork: migrated");
	ok(mid_is_entry(SWP_MIGRATION_READ),
	   "pmd fork: a THP shared with a child gets a plain readable PMD entry");
	p = __pmd(test_pt_entry(mm, MG_BASE, &leaf));
	ok(leaf, "pmd fork: the parent maps it by a PMD leaf");
	c = __pmd(test_pt_entry(t[1]->mm, MG_BASE, &leaf));
	ok(leaf, "pmd fork: so does the child");
	pfn1 = pmd_pfn(p);
	ok(pfn1 == pmd_pfn(c) && pfn1 != mid.src_pfn, "pmd fork: both follow the THP");
	ok(!pmd_write(p) && !pmd_write(c), "pmd fork: both read-only (COW pending)");
	ok(!PageAnonExclusive(folio_page(pfn_folio(pfn1), 0)), "pmd fork: not exclusive");
	is_int(folio_entire_mapcount(pfn_folio(pfn1)), 2, "pmd fork: two PMD mappings");
	pinmm_task_attach(t[1]);
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 23), 0, "pmd fork: the child reads the data");
	pinmm_task_attach(t[0]);
	mg_teardown("pmd fork", t, 2);
}

static void test_pinned(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct page *page = NULL;
	unsigned int succ = 0;
	unsigned long pfn0;
	long splits;
	bool leaf;
	pmd_t pmd;

	mg_boot();
	t = thp_task("pmd-pin", &mm, 24);
	pfn0 = test_pt_pfn(mm, MG_BASE);
	is_int(pin_user_pages_fast(MG_BASE + 7 * PAGE_SIZE, 1, FOLL_WRITE, &page), 1,
	       "pmd pin: one page of the THP pinned");
	splits = ev(THP_SPLIT_PMD);
	is_int(migrate_thp(mm, &succ), 1, "pmd pin: a THP that may be pinned does not migrate");
	is_int(mid.hits, 0, "pmd pin: it never got as far as the freeze");
	pmd = __pmd(test_pt_entry(mm, MG_BASE, &leaf));
	ok(leaf && pmd_pfn(pmd) == pfn0 && pmd_write(pmd),
	   "pmd pin: the source's writable PMD leaf is put back as it was");
	ok(PageAnonExclusive(folio_page(pfn_folio(pfn0), 0)),
	   "pmd pin: still anon-exclusive (folio_try_share_anon_rmap_pmd refused)");
	is_int(ev(THP_SPLIT_PMD) - splits, 0, "pmd pin: and not split");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 24), 0, "pmd pin: data intact");
	if (page)
		unpin_user_page(page);
	is_int(migrate_thp(mm, &succ), 0, "pmd pin: unpinned, it migrates");
	ok(test_pmd_mapped(mm, MG_BASE) && test_pt_pfn(mm, MG_BASE) != pfn0,
	   "pmd pin: to a new PMD-mapped THP");
	mg_teardown("pmd pin", &t, 1);
}

static void test_split_while_frozen(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned int succ = 0;
	bool ro = true, rw = true, dirty = true, excl = true, place = true, leaf;
	unsigned long pfn1 = -1UL;

	mg_boot();
	t = thp_task("pmd-split", &mm, 25);
	mid.splitter = t;
	is_int(migrate_thp(mm, &succ), 0, "pmd split: migrated");
	mid.splitter = NULL;
	is_int(mid.split_ret, 0, "pmd split: mprotect(READ) of the lower 1 MiB ran while frozen");
	ok(mid_is_entry(SWP_MIGRATION_WRITE), "pmd split: it met a PMD migration entry");
	ok(!test_pmd_mapped(mm, MG_BASE), "pmd split: the THP is now mapped by PTEs");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = __pte(test_pt_entry(mm, MG_BASE + i * PAGE_SIZE, &leaf));
		struct page *p;

		if (!pte_present(pte)) {
			place = false;
			continue;
		}
		if (!i)
			pfn1 = pte_pfn(pte);
		place &= pte_pfn(pte) == pfn1 + i && pfn1 != mid.src_pfn;
		if (i < HPAGE_PMD_NR / 2) {
			ro &= !pte_write(pte);
		} else {
			rw &= pte_write(pte);
			dirty &= pte_dirty(pte);	/* the half mprotect left alone */
		}
		p = pfn_to_page(pte_pfn(pte));
		excl &= PageAnonExclusive(p);
	}
	ok(place, "pmd split: every PTE maps its page of the destination THP");
	ok(ro, "pmd split: the mprotected half is read-only");
	ok(rw, "pmd split: the other half writable, from the split writable entries");
	ok(dirty, "pmd split: the dirty bit carried into the 512 PTE entries (upper half)");
	ok(excl, "pmd split: every page anon-exclusive");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 25), 0, "pmd split: 2 MiB read back the same");
	mg_teardown("pmd split", &t, 1);
}

static void test_fork_while_frozen(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct mm_struct *mm;
	unsigned int succ = 0;
	unsigned long pfn1;
	bool leaf;
	pmd_t p, c;

	mg_boot();
	t[0] = thp_task("pmd-fork-frozen", &mm, 26);
	mid.forker = t[0];
	mid.child = NULL;
	is_int(migrate_thp(mm, &succ), 0, "pmd fork frozen: migrated");
	mid.forker = NULL;
	t[1] = mid.child;
	ok(mid.fork_ret == 0 && t[1], "pmd fork frozen: fork ran while the PMD was a migration entry");
	if (!t[1]) {
		mg_teardown("pmd fork frozen", t, 1);
		return;
	}
	ok(mid_is_entry(SWP_MIGRATION_WRITE), "pmd fork frozen: it met a writable PMD migration entry");
	is_int(get_mm_counter(t[1]->mm, MM_ANONPAGES), (long)HPAGE_PMD_NR,
	       "pmd fork frozen: the child's rss counts the 512 pages of the entry");
	p = __pmd(test_pt_entry(mm, MG_BASE, &leaf));
	ok(leaf, "pmd fork frozen: afterwards the parent maps the THP by a PMD leaf");
	c = __pmd(test_pt_entry(t[1]->mm, MG_BASE, &leaf));
	ok(leaf, "pmd fork frozen: so does the child (its copy of the entry restored too)");
	pfn1 = pmd_pfn(p);
	ok(pfn1 == pmd_pfn(c) && pfn1 != mid.src_pfn, "pmd fork frozen: both map the destination");
	ok(!pmd_write(p) && !pmd_write(c) && !PageAnonExclusive(folio_page(pfn_folio(pfn1), 0)),
	   "pmd fork frozen: both read-only, not exclusive: copy_huge_pmd made the entries "
	   "readable (shared with the child)");
	ok(pmd_young(p) && pmd_dirty(p) && pmd_young(c) && pmd_dirty(c),
	   "pmd fork frozen: both young and dirty, as the written THP was (the entry's accessed "
	   "and dirty bits survive the readable conversion)");
	is_int(folio_entire_mapcount(pfn_folio(pfn1)), 2, "pmd fork frozen: two PMD mappings");
	pinmm_task_attach(t[1]);
	ok(!put_user(77UL, (unsigned long __user *)(MG_BASE + 3 * PAGE_SIZE)),
	   "pmd fork frozen: the child writes");
	pinmm_task_attach(t[0]);
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 26), 0,
		"pmd fork frozen: the parent does not see the child's write (COW)");
	mg_teardown("pmd fork frozen", t, 2);
}

/*
 * Fork while a small page is frozen for migration: copy_nonpresent_pte()
 * makes the parent's writable entry readable and gives the child a copy, so
 * both come back read-only on the destination, the page shared and no longer
 * exclusive, and COW holds; the child's rss counts the page.
 */
static void test_fork_while_frozen_pte(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct mm_struct *mm;
	unsigned int succ = 0;
	unsigned long pfn1;
	swp_entry_t e;
	bool leaf;
	pte_t p, c;

	mg_boot();
	t[0] = test_process("pte-fork-frozen");
	mm = t[0]->mm;
	mg_mmap(MG_BASE, PAGE_SIZE);
	mg_fill(MG_BASE, 1, 28);
	mid.pte = __pte(0);
	mid.forker = t[0];
	mid.child = NULL;
	is_int(migrate_thp(mm, &succ), 0, "pte fork frozen: migrated");
	mid.forker = NULL;
	t[1] = mid.child;
	ok(mid.fork_ret == 0 && t[1], "pte fork frozen: fork ran while the PTE was a migration entry");
	if (!t[1]) {
		mg_teardown("pte fork frozen", t, 1);
		return;
	}
	e = pte_to_swp_entry(mid.pte);
	ok(!pte_present(mid.pte) && !pte_none(mid.pte) && swp_type(e) == SWP_MIGRATION_WRITE &&
	   swp_offset(e) == mid.src_pfn, "pte fork frozen: it met a writable PTE migration entry");
	is_int(get_mm_counter(t[1]->mm, MM_ANONPAGES), 1,
	       "pte fork frozen: the child's rss counts the page of the entry");
	p = __pte(test_pt_entry(mm, MG_BASE, &leaf));
	c = __pte(test_pt_entry(t[1]->mm, MG_BASE, &leaf));
	pfn1 = pte_pfn(p);
	ok(pte_present(p) && pte_present(c) && pfn1 == pte_pfn(c) && pfn1 != mid.src_pfn,
	   "pte fork frozen: parent and child map the destination");
	ok(!pte_write(p) && !pte_write(c) && !PageAnonExclusive(pfn_to_page(pfn1)),
	   "pte fork frozen: both read-only, not exclusive: copy_nonpresent_pte made the entry "
	   "readable (shared with the child)");
	ok(pte_young(p) && pte_dirty(p) && pte_young(c) && pte_dirty(c),
	   "pte fork frozen: both young and dirty, as the written page was: the entry's "
	   "accessed and dirty bits survive fork's readable conversion (Linux keeps them in "
	   "the entry's offset)");
	is_int(folio_mapcount(pfn_folio(pfn1)), 2, "pte fork frozen: two PTE mappings");
	pinmm_task_attach(t[1]);
	ok(!put_user(77UL, (unsigned long __user *)(MG_BASE + 8)), "pte fork frozen: the child writes");
	pinmm_task_attach(t[0]);
	is_uint(mg_check(MG_BASE, 1, 28), 0,
		"pte fork frozen: the parent does not see the child's write (COW)");
	mg_teardown("pte fork frozen", t, 2);
}

static struct userfaultfd_ctx *child_ctx;

static void fork_reader(struct userfaultfd_ctx *ctx, const struct uffd_msg *msg, void *arg)
{
	(void)ctx;
	(void)arg;
	if (msg->event == UFFD_EVENT_FORK)
		child_ctx = msg->arg.fork.ctx;
}

/*
 * The shared twin: a registered (uffd-wp, EVENT_FORK) shmem VMA is copied at
 * fork, and a writable migration entry met there stays writable: only COW
 * mappings are made readable (Linux copy_nonpresent_pte()). Parent and
 * child come back writable on the one destination page.
 */
static void test_fork_while_frozen_shmem(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct userfaultfd_ctx *ctx;
	struct mm_struct *mm;
	unsigned int succ = 0;
	swp_entry_t e;
	bool leaf;
	pte_t p, c;

	mg_boot();
	t[0] = test_process("shmem-fork-frozen");
	mm = t[0]->mm;
	if (vm_mmap(NULL, MG_BASE, PAGE_SIZE, MG_RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 0) !=
	    MG_BASE)
		bail_out("shmem fork frozen: mmap");
	child_ctx = NULL;
	ctx = pinmm_userfaultfd_create(mm, UFFD_FEATURE_EVENT_FORK, fork_reader, NULL);
	if (!ctx || pinmm_uffd_register(ctx, MG_BASE, PAGE_SIZE, UFFDIO_REGISTER_MODE_WP))
		bail_out("shmem fork frozen: register");
	mg_fill(MG_BASE, 1, 29);
	mid.pte = __pte(0);
	mid.forker = t[0];
	mid.child = NULL;
	is_int(migrate_thp(mm, &succ), 0, "shmem fork frozen: migrated");
	mid.forker = NULL;
	t[1] = mid.child;
	ok(mid.fork_ret == 0 && t[1], "shmem fork frozen: fork ran while the PTE was a migration entry");
	if (!t[1]) {
		pinmm_userfaultfd_release(ctx);
		mg_teardown("shmem fork frozen", t, 1);
		return;
	}
	e = pte_to_swp_entry(mid.pte);
	ok(!pte_present(mid.pte) && swp_type(e) == SWP_MIGRATION_WRITE,
	   "shmem fork frozen: it met a writable PTE migration entry");
	p = __pte(test_pt_entry(mm, MG_BASE, &leaf));
	c = __pte(test_pt_entry(t[1]->mm, MG_BASE, &leaf));
	ok(pte_present(p) && pte_present(c) && pte_pfn(p) == pte_pfn(c) && pte_pfn(p) != mid.src_pfn,
	   "shmem fork frozen: parent and child map the destination");
	ok(pte_write(p) && pte_write(c),
	   "shmem fork frozen: both writable: a shared mapping's entry is not made readable");
	pinmm_task_attach(t[1]);
	ok(!put_user(77UL, (unsigned long __user *)(MG_BASE + 8)), "shmem fork frozen: the child writes");
	pinmm_task_attach(t[0]);
	is_uint(mg_check(MG_BASE, 1, 29), 1, "shmem fork frozen: the parent sees it (one shared page)");
	if (child_ctx)
		pinmm_userfaultfd_release(child_ctx);
	pinmm_userfaultfd_release(ctx);
	mg_teardown("shmem fork frozen", t, 2);
}

/*
 * A uffd-wp protected THP migrates protected (remove_migration_pmd() puts
 * the entry's bit back); forked while frozen (@fork), the parent's entry
 * made readable keeps the bit, and the child has it only when registered
 * (@event).
 */
static void test_uffd_wp_while_frozen(bool fork, bool event)
{
	const char *k = !fork ? "no fork" : event ? "with EVENT_FORK" : "without EVENT_FORK";
	struct task_struct *t[2] = { NULL, NULL };
	struct userfaultfd_ctx *ctx;
	struct mm_struct *mm;
	unsigned int succ = 0;
	bool leaf;
	pmd_t p, c;

	mg_boot();
	t[0] = thp_task("pmd-fork-uffd", &mm, 27);
	child_ctx = NULL;
	ctx = pinmm_userfaultfd_create(mm, event ? UFFD_FEATURE_EVENT_FORK : 0, fork_reader, NULL);
	if (!ctx || pinmm_uffd_register(ctx, MG_BASE, HPAGE_PMD_SIZE, UFFDIO_REGISTER_MODE_WP) ||
	    pinmm_uffd_writeprotect(ctx, MG_BASE, HPAGE_PMD_SIZE, UFFDIO_WRITEPROTECT_MODE_WP))
		bail_out("pmd fork uffd: protect");
	mid.forker = fork ? t[0] : NULL;
	mid.child = NULL;
	is_int(migrate_thp(mm, &succ), 0, "pmd uffd %s: migrated", k);
	mid.forker = NULL;
	t[1] = mid.child;
	ok(mid_is_entry(SWP_MIGRATION_READ_EXCLUSIVE) && (pmd_val(mid.pmd) & _PAGE_SWP_UFFD_WP),
	   "pmd uffd %s: while frozen, a read-exclusive PMD entry with the uffd-wp bit", k);
	p = __pmd(test_pt_entry(mm, MG_BASE, &leaf));
	ok(leaf && pmd_pfn(p) != mid.src_pfn && pmd_uffd_wp(p) && !pmd_write(p),
	   "pmd uffd %s: the parent's THP moved and is still uffd-wp, read-only (the bit kept by "
	   "copy_huge_pmd's readable entry and restored by remove_migration_pmd)", k);
	if (!fork) {
		pinmm_userfaultfd_release(ctx);
		mg_teardown("pmd uffd", t, 1);
		return;
	}
	ok(mid.fork_ret == 0 && t[1], "pmd fork uffd %s: fork ran while the PMD was an entry", k);
	if (!t[1]) {
		pinmm_userfaultfd_release(ctx);
		mg_teardown("pmd fork uffd", t, 1);
		return;
	}
	c = __pmd(test_pt_entry(t[1]->mm, MG_BASE, &leaf));
	ok(leaf && pmd_uffd_wp(c) == event, "pmd fork uffd %s: the child's PMD %s uffd-wp "
	   "(copy_huge_pmd clears the entry's bit for a child not registered)", k,
	   event ? "keeps" : "drops");
	if (child_ctx)
		pinmm_userfaultfd_release(child_ctx);
	pinmm_userfaultfd_release(ctx);
	mg_teardown("pmd fork uffd", t, 2);
}

int main(void)
{
	if (pinmm_race_arm(PINMM_RACE_MIGRATE_FROZEN, at_frozen, NULL) == -EOPNOTSUPP) {
		printf("1..0 # SKIP race points are compiled out (release build)\n");
		return 0;
	}
	pinmm_race_disarm(PINMM_RACE_MIGRATE_FROZEN);
	plan_no_plan();
	test_writable();
	test_readonly_exclusive();
	test_shared_after_fork();
	test_pinned();
	test_split_while_frozen();
	test_fork_while_frozen();
	test_fork_while_frozen_pte();
	test_fork_while_frozen_shmem();
	test_uffd_wp_while_frozen(false, false);
	test_uffd_wp_while_frozen(true, false);
	test_uffd_wp_while_frozen(true, true);
	return done_testing();
}
