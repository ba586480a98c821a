// SPDX-License-Identifier: MIT
/*
 * migrate_pages() (Linux mm/migrate.c): a mapped anon folio moves and every
 * mapper follows it, with the permissions and anon-exclusivity it had; a
 * folio with a reference its mappings do not explain, or that may be pinned,
 * stays where it is; THPs migrate whole or are split at the destination;
 * the counters say what happened.
 */
#include "helpers.h"

#include <pinmm/fault-inject.h>

#define NPAGES	16

/* The folio at @addr is isolated, migrated with @gfp; its new pfn (or -1UL). */
static int migrate_one(struct mm_struct *mm, unsigned long addr, gfp_t gfp,
		       unsigned int *succ, struct list_head *left)
{
	LIST_HEAD(list);
	int ret;

	if (!mg_isolate(mm, addr, &list))
		return -100;
	ret = mg_migrate(&list, gfp, succ);
	if (left)
		list_splice_init(&list, left);
	else
		putback_movable_pages(&list);
	return ret;
}

static void test_anon_migrates(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long addr = MG_BASE + 3 * PAGE_SIZE, pfn0, pfn1, inuse0;
	long succ0, fail0;
	unsigned int succ = 0;
	struct folio *folio;
	pte_t pte;
	bool leaf;
	int ret;

	mg_boot();
	t = test_process("migrate");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 7);
	pfn0 = test_pt_pfn(mm, addr);
	ok(folio_test_lru(pfn_folio(pfn0)),
	   "migrate: a freshly faulted anon folio is on the LRU (folio_add_lru after the fault)");
	inuse0 = pinmm_frames_in_use();
	succ0 = ev(PGMIGRATE_SUCCESS);
	fail0 = ev(PGMIGRATE_FAIL);

	ret = migrate_one(mm, addr, GFP_USER, &succ, NULL);
	is_int(ret, 0, "migrate: migrate_pages returns 0 when every folio moved");
	is_uint(succ, 1, "migrate: *ret_succeeded counts the folio");
	pfn1 = test_pt_pfn(mm, addr);
	ok(pfn1 != pfn0 && pfn1 != -1UL, "migrate: the PTE maps a new frame (%#lx -> %#lx)", pfn0,
	   pfn1);
	ok(pfn1 != -1UL && page_zonenum(pfn_to_page(pfn1)) == ZONE_NORMAL,
	   "migrate: the destination came from the target's gfp (GFP_USER: ZONE_NORMAL)");
	is_uint(mg_check(MG_BASE, NPAGES, 7), 0, "migrate: every byte reads back the same");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, 1, "migrate: pgmigrate_success +1");
	is_int(ev(PGMIGRATE_FAIL) - fail0, 0, "migrate: pgmigrate_fail unchanged");
	is_uint(pinmm_frames_in_use(), inuse0, "migrate: the old frame was freed");
	pte = __pte(test_pt_entry(mm, addr, &leaf));
	ok(pte_write(pte), "migrate: a writable PTE comes back writable (SWP_MIGRATION_WRITE)");
	ok(pte_dirty(pte), "migrate: the dirty bit travels through the migration entry");
	folio = pfn_folio(pfn1);
	ok(PageAnonExclusive(&folio->page),
	   "migrate: an exclusive anon page stays PageAnonExclusive (RMAP_EXCLUSIVE on remap)");
	ok(folio_test_lru(folio), "migrate: the destination is on the LRU");
	is_int(folio_mapcount(folio), 1, "migrate: the destination has the one mapping");
	is_int(folio_ref_count(folio), 1, "migrate: and exactly the mapping's reference");
	mmap_read_lock(mm);
	ok(folio_test_anon(folio) && folio->index == linear_page_index(vma_lookup(mm, addr), addr),
	   "migrate: mapping (anon_vma) and index travel to the destination");
	mmap_read_unlock(mm);
	/* it is still an ordinary exclusive page: a write goes in place */
	ok(!put_user(0xabcdUL, (unsigned long __user *)addr) && test_pt_pfn(mm, addr) == pfn1,
	   "migrate: a write after migration reuses the page in place (no COW)");
	mg_teardown("migrate anon", &t, 1);
}

static void test_fork_mappers_follow(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct mm_struct *mm;
	unsigned long addr = MG_BASE + 5 * PAGE_SIZE, pfn0, pfn1;
	uint64_t buf[PAGE_SIZE / 8];
	struct folio *folio;
	unsigned int succ = 0;
	bool child_same = true;
	pte_t pte;
	bool leaf;
	int ret;

	mg_boot();
	t[0] = test_process("parent");
	mm = t[0]->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 8);
	if (pinmm_fork(t[0], "child", &t[1]))
		bail_out("pinmm_fork failed");
	pfn0 = test_pt_pfn(mm, addr);
	is_uint(test_pt_pfn(t[1]->mm, addr), pfn0, "migrate+fork: parent and child share the page");
	ret = migrate_one(mm, addr, GFP_USER, &succ, NULL);
	is_int(ret, 0, "migrate+fork: a page mapped by two mms migrates");
	pfn1 = test_pt_pfn(mm, addr);
	ok(pfn1 != pfn0, "migrate+fork: the parent's PTE maps the new frame");
	is_uint(test_pt_pfn(t[1]->mm, addr), pfn1,
		"migrate+fork: the child's PTE maps the same new frame (rmap found both)");
	folio = pfn_folio(pfn1);
	is_int(folio_mapcount(folio), 2, "migrate+fork: the new folio has both mappings");
	is_int(folio_ref_count(folio), 2, "migrate+fork: and both mappings' references");
	ok(!PageAnonExclusive(&folio->page),
	   "migrate+fork: a shared page stays shared (SWP_MIGRATION_READ, no RMAP_EXCLUSIVE)");
	pte = __pte(test_pt_entry(mm, addr, &leaf));
	ok(!pte_write(pte), "migrate+fork: a read-only COW PTE comes back read-only");
	is_uint(mg_check(MG_BASE, NPAGES, 8), 0, "migrate+fork: the parent reads the same data");
	for (unsigned long i = 0; i < NPAGES; i++) {
		if (access_process_vm(t[1], MG_BASE + i * PAGE_SIZE, buf, PAGE_SIZE, 0) !=
		    (int)PAGE_SIZE) {
			child_same = false;
			continue;
		}
		for (unsigned long w = 0; w < ARRAY_SIZE(buf); w++)
			child_same &= buf[w] == mg_word(8, i, w);
	}
	ok(child_same, "migrate+fork: the child reads the same data");
	ok(!put_user(0x1234UL, (unsigned long __user *)addr) && test_pt_pfn(mm, addr) != pfn1,
	   "migrate+fork: a write by the parent still COWs away from the shared page");
	is_int(access_process_vm(t[1], addr, buf, 8, 0), 8, "migrate+fork: child read after COW");
	is_uint(buf[0], mg_word(8, 5, 0), "migrate+fork: the child still sees the old data");
	mg_teardown("migrate fork", t, 2);
}

/* Migration after fork of a page under migration entry: fork copies the entry. */
static void test_extra_reference(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long addr = MG_BASE + 2 * PAGE_SIZE, pfn0;
	long fail0, succ0;
	unsigned int succ = 7;
	struct folio *folio;
	LIST_HEAD(left);
	pte_t pte;
	bool leaf;
	int ret;

	mg_boot();
	t = test_process("extra-ref");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 9);
	pfn0 = test_pt_pfn(mm, addr);
	folio = pfn_folio(pfn0);
	folio_get(folio);	/* a GET, standing in for a pin */
	fail0 = ev(PGMIGRATE_FAIL);
	succ0 = ev(PGMIGRATE_SUCCESS);
	ret = migrate_one(mm, addr, GFP_USER, &succ, &left);
	is_int(ret, 1, "migrate: a folio with an extra reference is not migrated "
	       "(folio_ref_freeze fails in __migrate_folio): migrate_pages returns 1");
	is_uint(succ, 0, "migrate: *ret_succeeded is 0");
	ok(!list_empty(&left) && list_first_entry(&left, struct folio, lru) == folio,
	   "migrate: the folio is left on the list for putback_movable_pages");
	is_int(ev(PGMIGRATE_FAIL) - fail0, 1, "migrate: pgmigrate_fail +1");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, 0, "migrate: pgmigrate_success unchanged");
	is_uint(test_pt_pfn(mm, addr), pfn0, "migrate: the PTE maps the same frame again (remapped)");
	pte = __pte(test_pt_entry(mm, addr, &leaf));
	ok(pte_present(pte) && pte_write(pte),
	   "migrate: the migration entry became the same writable PTE");
	ok(PageAnonExclusive(&folio->page), "migrate: the page is anon-exclusive again");
	is_int(folio_mapcount(folio), 1, "migrate: its mapping is back");
	putback_movable_pages(&left);
	ok(folio_test_lru(folio), "migrate: putback_movable_pages puts it back on the LRU");
	is_int(folio_ref_count(folio), 2, "migrate: mapping + our GET, the isolation dropped");
	is_uint(mg_check(MG_BASE, NPAGES, 9), 0, "migrate: data intact");
	folio_put(folio);
	ret = migrate_one(mm, addr, GFP_USER, &succ, NULL);
	is_int(ret, 0, "migrate: once the reference is dropped the folio migrates");
	ok(test_pt_pfn(mm, addr) != pfn0, "migrate: and moved");
	is_uint(mg_check(MG_BASE, NPAGES, 9), 0, "migrate: data intact after the move");
	mg_teardown("migrate extra ref", &t, 1);
}

static void test_maybe_pinned(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long addr = MG_BASE, pfn0;
	struct folio *folio;
	LIST_HEAD(left);
	unsigned int succ;
	bool leaf;
	int ret;

	mg_boot();
	t = test_process("pinned");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 10);
	pfn0 = test_pt_pfn(mm, addr);
	folio = pfn_folio(pfn0);
	/* what a FOLL_PIN adds to a small folio, without the pin counters */
	folio_ref_add(folio, (int)GUP_PIN_COUNTING_BIAS);
	ret = migrate_one(mm, addr, GFP_USER, &succ, &left);
	is_int(ret, 1, "migrate: an anon-exclusive page that may be pinned is not unmapped "
	       "(folio_try_share_anon_rmap_pte: -EBUSY)");
	ok(pte_write(__pte(test_pt_entry(mm, addr, &leaf))) && test_pt_pfn(mm, addr) == pfn0,
	   "migrate: its PTE was restored as it was, writable");
	ok(PageAnonExclusive(&folio->page), "migrate: and it stays exclusive");
	putback_movable_pages(&left);
	folio_ref_sub(folio, (int)GUP_PIN_COUNTING_BIAS);
	is_uint(mg_check(MG_BASE, NPAGES, 10), 0, "migrate: data intact");
	mg_teardown("migrate maybe pinned", &t, 1);
}

/* The new PTE takes the VMA's protection as it is now (mprotect raced or not). */
static void test_protections(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned int succ;
	unsigned long pfn0;
	pte_t pte;
	bool leaf;

	mg_boot();
	t = test_process("prot");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 14);
	is_int(do_mprotect(MG_BASE, NPAGES * PAGE_SIZE, PROT_READ), 0, "migrate: mprotect(READ)");
	pfn0 = test_pt_pfn(mm, MG_BASE);
	is_int(migrate_one(mm, MG_BASE, GFP_USER, &succ, NULL), 0,
	       "migrate: a page of a read-only VMA migrates");
	pte = __pte(test_pt_entry(mm, MG_BASE, &leaf));
	ok(pte_present(pte) && !pte_write(pte) && pte_pfn(pte) != pfn0,
	   "migrate: and comes back read-only (SWP_MIGRATION_READ_EXCLUSIVE)");
	is_int(do_mprotect(MG_BASE, NPAGES * PAGE_SIZE, PROT_NONE), 0, "migrate: mprotect(NONE)");
	pfn0 = test_pt_pfn(mm, MG_BASE + PAGE_SIZE);
	is_int(migrate_one(mm, MG_BASE + PAGE_SIZE, GFP_USER, &succ, NULL), 0,
	       "migrate: a page of a PROT_NONE VMA migrates");
	pte = __pte(test_pt_entry(mm, MG_BASE + PAGE_SIZE, &leaf));
	ok(pte_present(pte) && !(pte_val(pte) & _PAGE_USER) && pte_pfn(pte) != pfn0,
	   "migrate: and comes back as a PROT_NONE entry (present, no user access), "
	   "not as something that reads like a swap entry");
	is_int(do_mprotect(MG_BASE, NPAGES * PAGE_SIZE, MG_RW), 0, "migrate: mprotect(RW)");
	is_uint(mg_check(MG_BASE, NPAGES, 14), 0, "migrate: the data survived both");
	mg_teardown("migrate protections", &t, 1);
}

/* A folio whose mappings all went away while isolated is simply freed. */
static void test_freed_while_isolated(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	LIST_HEAD(list);
	unsigned int succ = 0;
	long succ0;
	int ret;

	mg_boot();
	t = test_process("freed");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 11);
	ok(mg_isolate(mm, MG_BASE, &list), "migrate: isolate");
	is_int(vm_munmap(MG_BASE, NPAGES * PAGE_SIZE), 0, "migrate: munmap while isolated");
	succ0 = ev(PGMIGRATE_SUCCESS);
	ret = mg_migrate(&list, GFP_USER, &succ);
	is_int(ret, 0, "migrate: a folio freed from under the migrator counts as done "
	       "(folio_ref_count == 1 in migrate_folio_unmap)");
	ok(list_empty(&list) && succ == 1, "migrate: it left the list");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, 1, "migrate: and counts as a success");
	mg_teardown("migrate freed", &t, 1);
}

static struct folio *no_folio(struct folio *src, unsigned long private)
{
	(void)src;
	(void)private;
	return NULL;
}

static void test_enomem_and_async(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct folio *folio;
	LIST_HEAD(list);
	unsigned int succ = 0;
	int ret;

	mg_boot();
	t = test_process("enomem");
	mm = t->mm;
	mg_mmap(MG_BASE, NPAGES * PAGE_SIZE);
	mg_fill(MG_BASE, NPAGES, 12);
	mg_isolate(mm, MG_BASE, &list);
	mg_isolate(mm, MG_BASE + PAGE_SIZE, &list);
	ret = migrate_pages(&list, no_folio, NULL, 0, MIGRATE_SYNC, MR_SYSCALL, &succ);
	is_int(ret, -ENOMEM, "migrate: no destination for a small folio stops migrate_pages "
	       "with -ENOMEM");
	ok(!list_empty(&list) && !list_is_singular(&list),
	   "migrate: both folios are back on the list");
	putback_movable_pages(&list);
	is_uint(mg_check(MG_BASE, NPAGES, 12), 0, "migrate: data intact after -ENOMEM");

	mg_isolate(mm, MG_BASE, &list);
	folio = list_first_entry(&list, struct folio, lru);
	folio_lock(folio);
	ret = migrate_pages(&list, alloc_migration_target, NULL, 0, MIGRATE_ASYNC, MR_COMPACTION,
			    &succ);
	is_int(ret, 1, "migrate: MIGRATE_ASYNC does not wait for a locked folio (-EAGAIN, "
	       "then counted as failed after the retries)");
	folio_unlock(folio);
	ret = migrate_pages(&list, alloc_migration_target, NULL, 0, MIGRATE_ASYNC, MR_COMPACTION,
			    &succ);
	is_int(ret, 0, "migrate: unlocked, the same folio migrates asynchronously");
	is_uint(mg_check(MG_BASE, NPAGES, 12), 0, "migrate: data intact");
	mg_teardown("migrate enomem/async", &t, 1);
}

/* ---- THP ------------------------------------------------------------------------- */

static struct task_struct *thp_process(struct mm_struct **mm)
{
	struct task_struct *t = test_process("thp");

	*mm = t->mm;
	mg_mmap(MG_BASE, HPAGE_PMD_SIZE);
	if (do_madvise(*mm, MG_BASE, HPAGE_PMD_SIZE, MADV_HUGEPAGE))
		bail_out("MADV_HUGEPAGE failed");
	mg_fill(MG_BASE, HPAGE_PMD_NR, 13);
	return t;
}

static void test_thp_whole(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	struct folio *src, *dst;
	unsigned long pfn0, pfn1, inuse0;
	long thp0, succ0, split0;
	unsigned int succ = 0;
	bool contiguous = true;
	int ret;

	mg_boot();
	t = thp_process(&mm);
	ok(test_pmd_mapped(mm, MG_BASE), "thp: a write fault in a MADV_HUGEPAGE range maps a THP");
	pfn0 = test_pt_pfn(mm, MG_BASE);
	src = pfn_folio(pfn0);
	ok(folio_test_lru(src), "thp: the THP is on the LRU");
	thp0 = ev(THP_MIGRATION_SUCCESS);
	succ0 = ev(PGMIGRATE_SUCCESS);
	split0 = ev(THP_MIGRATION_SPLIT);
	inuse0 = pinmm_frames_in_use();
	ret = migrate_one(mm, MG_BASE, GFP_USER, &succ, NULL);
	is_int(ret, 0, "thp: a THP migrates when a 2 MiB destination exists");
	pfn1 = test_pt_pfn(mm, MG_BASE);
	dst = pfn1 == -1UL ? NULL : pfn_folio(pfn1);
	ok(dst && pfn1 != pfn0 && folio_order(dst) == HPAGE_PMD_ORDER,
	   "thp: the destination is one order-9 folio");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		contiguous &= test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE) == pfn1 + i;
	ok(contiguous, "thp: every page maps its place in the new folio");
	ok(test_pmd_mapped(mm, MG_BASE), "thp: it comes back mapped by a PMD leaf (a PMD "
	   "migration entry in between, tests/migrate/thp_pmd.c)");
	is_int(ev(THP_MIGRATION_SUCCESS) - thp0, 1, "thp: thp_migration_success +1");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, (long)HPAGE_PMD_NR, "thp: pgmigrate_success +512");
	is_int(ev(THP_MIGRATION_SPLIT) - split0, 0, "thp: no split");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 13), 0, "thp: all 2 MiB read back the same");
	is_uint(pinmm_frames_in_use(), inuse0,
		"thp: the old THP was freed (the deposited table stays deposited)");
	if (dst) {
		bool ptes_gone = true, tails_shared = true;

		is_int(folio_mapcount(dst), 1, "thp: one PMD mapping");
		is_int(folio_entire_mapcount(dst), 1, "thp: entire mapcount 1");
		is_int(folio_nr_pages_mapped(dst), 0, "thp: no page mapped by a PTE");
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
			ptes_gone &= page_pte_mapcount(folio_page(dst, i)) == 0;
			if (i)
				tails_shared &= !PageAnonExclusive(folio_page(dst, i));
		}
		ok(ptes_gone, "thp: every page's _mapcount is back to -1");
		ok(PageAnonExclusive(folio_page(dst, 0)) && tails_shared,
		   "thp: exclusivity on the head page only, as a fresh PMD mapping");
		is_int(folio_ref_count(dst), 1, "thp: one reference, the PMD's");
	}
	is_int(global_node_page_state_snapshot(NR_ANON_THPS), 1, "thp: NR_ANON_THPS counts it");
	is_int(global_node_page_state_snapshot(NR_ANON_MAPPED), (long)HPAGE_PMD_NR,
		"thp: NR_ANON_MAPPED 512");
	mg_teardown("thp whole", &t, 1);
}

/* After the PMD came back: fork, mprotect, a partial munmap and exit behave. */
static void test_thp_remap_ops(void)
{
	struct task_struct *t[2] = { NULL, NULL };
	struct mm_struct *mm;
	struct folio *dst;
	unsigned long pfn1;
	unsigned int succ = 0;
	uint64_t v = 0;

	mg_boot();
	t[0] = thp_process(&mm);
	is_int(migrate_one(mm, MG_BASE, GFP_USER, &succ, NULL), 0, "thp remap: migrated");
	ok(test_pmd_mapped(mm, MG_BASE), "thp remap: PMD-mapped");
	pfn1 = test_pt_pfn(mm, MG_BASE);
	dst = pfn_folio(pfn1);
	is_int(do_mprotect(MG_BASE, HPAGE_PMD_SIZE, PROT_READ), 0, "thp remap: mprotect(READ)");
	ok(test_pmd_mapped(mm, MG_BASE), "thp remap: still a PMD after mprotect of all of it");
	is_int(do_mprotect(MG_BASE, HPAGE_PMD_SIZE, MG_RW), 0, "thp remap: mprotect(RW)");
	is_int(pinmm_fork(t[0], "child", &t[1]), 0, "thp remap: fork");
	ok(test_pmd_mapped(t[1]->mm, MG_BASE) && test_pt_pfn(t[1]->mm, MG_BASE) == pfn1,
	   "thp remap: the child maps the same THP by a PMD");
	is_int(folio_entire_mapcount(dst), 2, "thp remap: two PMD mappings");
	ok(!PageAnonExclusive(folio_page(dst, 0)), "thp remap: no longer exclusive after fork");
	/* the parent writes: COW of the 4 KiB written, the child keeps its data */
	pinmm_task_attach(t[0]);
	put_user((uint64_t)0xdead, (uint64_t __user *)(MG_BASE + 5 * PAGE_SIZE));
	pinmm_task_attach(t[1]);
	ok(get_user(v, (uint64_t __user *)(MG_BASE + 5 * PAGE_SIZE)) == 0 &&
	   v == mg_word(13, 5, 0), "thp remap: the child does not see the parent's write");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 13), 0, "thp remap: the child's 2 MiB intact");
	pinmm_task_attach(t[0]);
	ok(get_user(v, (uint64_t __user *)(MG_BASE + 5 * PAGE_SIZE)) == 0 && v == 0xdead,
	   "thp remap: the parent sees its write");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 13), 1,
		"thp remap: the parent's other pages intact");
	is_int(vm_munmap(MG_BASE + HPAGE_PMD_SIZE / 2, HPAGE_PMD_SIZE / 2), 0,
	       "thp remap: munmap of the upper half");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR / 2, 13), 1,
		"thp remap: the lower half intact (and the written page)");
	mg_teardown("thp remap ops", t, 2);
}

static void test_thp_split(void)
{
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long pfn0;
	long split0, succ0, thp0;
	unsigned int succ = 0;
	bool small = true, moved = true;
	int ret;

	mg_boot();
	t = thp_process(&mm);
	pfn0 = test_pt_pfn(mm, MG_BASE);
	split0 = ev(THP_MIGRATION_SPLIT);
	succ0 = ev(PGMIGRATE_SUCCESS);
	thp0 = ev(THP_MIGRATION_SUCCESS);
	/* the 2 MiB destination fails; the 512 small ones after it do not */
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 1, 0);
	ret = migrate_one(mm, MG_BASE, GFP_USER, &succ, NULL);
	pinmm_fail_nth(PINMM_FAIL_PAGE_ALLOC, 0, 0);
	is_int(ret, 0, "thp: without a 2 MiB destination the THP is split and its pages "
	       "migrated one by one");
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long pfn = test_pt_pfn(mm, MG_BASE + i * PAGE_SIZE);

		moved &= pfn != -1UL && (pfn < pfn0 || pfn >= pfn0 + HPAGE_PMD_NR);
		small &= pfn != -1UL && !folio_test_large(pfn_folio(pfn));
	}
	ok(moved, "thp: every page left the old THP");
	ok(small, "thp: every page is now its own small folio");
	is_int(ev(THP_MIGRATION_SPLIT) - split0, 1, "thp: thp_migration_split +1");
	is_int(ev(THP_MIGRATION_SUCCESS) - thp0, 0, "thp: not counted as a whole THP migration");
	is_int(ev(PGMIGRATE_SUCCESS) - succ0, (long)HPAGE_PMD_NR, "thp: pgmigrate_success +512");
	is_uint(mg_check(MG_BASE, HPAGE_PMD_NR, 13), 0, "thp: all 2 MiB read back the same");
	mg_teardown("thp split", &t, 1);
}

int main(void)
{
	plan_no_plan();
	test_anon_migrates();
	test_fork_mappers_follow();
	test_extra_reference();
	test_maybe_pinned();
	test_protections();
	test_freed_while_isolated();
	test_enomem_and_async();
	test_thp_whole();
	test_thp_remap_ops();
	test_thp_split();
	return done_testing();
}
