// SPDX-License-Identifier: MIT
/*
 * Migration of page-cache folios (Linux mm/migrate.c folio_migrate_mapping(),
 * filemap_migrate_folio(); mm/rmap.c try_to_migrate() through i_mmap):
 *  - a mapped shmem or disk-file folio moves with its data, its place in the
 *    cache and its mappings; lookups find the new folio;
 *  - a dirty disk folio keeps its dirt and its block map across the move,
 *    and writeback then writes the new frame;
 *  - a pinned page-cache folio does not move (the refcount freeze fails);
 *  - a long-term pin of a memfd page in ZONE_MOVABLE migrates it out;
 *  - offlining a ZONE_MOVABLE range full of page cache moves it all.
 *
 * PINMM_TEST_CONCURRENT: the disk and the flusher are threads of their own.
 */
#include "helpers.h"

#include <pinmm/migrate.h>

static void mig_boot(void)
{
	test_boot(96, 32, 0);	/* user and page-cache memory lands in ZONE_MOVABLE first */
}

/* Isolate and migrate the folio at file index @index of @f. Return migrate_pages()'s answer. */
static int migrate_cached(struct file *f, pgoff_t index, struct folio **oldp)
{
	struct folio *folio = fs_cached(f, index);
	struct migration_target_control mtc = { .gfp_mask = GFP_HIGHUSER_MOVABLE };
	LIST_HEAD(list);
	int ret;

	*oldp = folio;
	if (!folio)
		return -ENOENT;
	if (!folio_isolate_lru(folio)) {
		folio_put(folio);
		return -EBUSY;
	}
	list_add_tail(&folio->lru, &list);
	/* the isolation holds it now; a reference of ours would make the move fail */
	folio_put(folio);
	ret = migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc,
			    MIGRATE_SYNC, MR_COMPACTION, NULL);
	putback_movable_pages(&list);
	return ret;
}

static void shmem_mapped_moves(void)
{
	struct task_struct *t;
	struct folio *old, *new;
	struct file *f;
	unsigned long a, oldpfn;

	mig_boot();
	t = test_process("mig");
	f = fs_memfd("mig", 0);
	do_ftruncate(f, 2 * PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, 2 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fs_uwrite(a, 2 * PAGE_SIZE, 1, 0);
	oldpfn = test_pt_pfn(t->mm, a + PAGE_SIZE);
	is_int(migrate_cached(f, 1, &old), 0, "migrate: a mapped shmem folio migrates");
	new = fs_cached(f, 1);
	ok(new && folio_pfn(new) != oldpfn, "migrate: the cache holds a new folio at its index");
	ok(new && test_pt_pfn(t->mm, a + PAGE_SIZE) == folio_pfn(new),
	   "migrate: the mapping now maps the new folio (remove_migration_ptes via i_mmap)");
	is_int(fs_ucheck(a, 2 * PAGE_SIZE, 1, 0), 0, "migrate: the data came along");
	ok(new && folio_test_swapbacked(new) && folio_mapping(new) == f->f_mapping &&
	   new->index == 1, "migrate: the new folio is shmem's, same mapping and index");
	ok(pte_write(__pte(test_pt_entry(t->mm, a + PAGE_SIZE, &(bool){ 0 }))),
	   "migrate: the writable PTE came back writable");
	if (new)
		folio_put(new);
	vm_munmap(a, 2 * PAGE_SIZE);
	fput(f);
	fs_teardown("shmem_mapped_moves", t);
}

static void dirty_disk_folio_moves(void)
{
	struct folio *old, *new;
	struct file *f;
	long dirty0;
	unsigned long oldpfn;

	mig_boot();
	f = fs_open("migd", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 3 * PAGE_SIZE, 2);
	dirty0 = fs_stat(NR_FILE_DIRTY);
	new = fs_cached(f, 1);
	oldpfn = new ? folio_pfn(new) : 0;
	if (new)
		folio_put(new);
	is_int(migrate_cached(f, 1, &old), 0, "migrate: a dirty disk-file folio migrates");
	new = fs_cached(f, 1);
	ok(new && folio_pfn(new) != oldpfn && folio_test_dirty(new) && folio_test_private(new),
	   "migrate: it stays dirty and keeps its block map (->migrate_folio moved the private data)");
	is_int(fs_stat(NR_FILE_DIRTY), dirty0, "migrate: nr_dirty is unchanged");
	if (new)
		folio_put(new);
	is_int(vfs_fsync(f, 0), 0, "migrate: fsync writes the new frame");
	is_int(fs_host_bad("migd", 0, 3 * PAGE_SIZE, 2), 0, "migrate: the disk has the data");
	fput(f);
	fs_teardown("dirty_disk_folio_moves", NULL);
}

static void pinned_stays(void)
{
	struct task_struct *t;
	struct folio *old, *now;
	struct page *page;
	struct file *f;
	unsigned long a;

	mig_boot();
	t = test_process("pinned");
	f = fs_memfd("pinned", 0);
	do_ftruncate(f, PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fs_uwrite(a, PAGE_SIZE, 3, 0);
	is_int(pin_user_pages_fast(a, 1, FOLL_WRITE, &page), 1, "pinned: a short-term pin");
	ok(migrate_cached(f, 0, &old) > 0, "pinned: migration of the pinned page-cache folio fails");
	now = fs_cached(f, 0);
	ok(now && &now->page == page && test_pt_pfn(t->mm, a) == page_to_pfn(page),
	   "pinned: the folio stays in the cache and mapped where the device writes");
	if (now)
		folio_put(now);
	unpin_user_page(page);
	vm_munmap(a, PAGE_SIZE);
	fput(f);
	fs_teardown("pinned_stays", t);
}

static void longterm_pin_migrates_memfd(void)
{
	struct task_struct *t;
	struct page *pages[4];
	struct file *f;
	unsigned long a, before[4];
	long n;
	int moved = 0, pinnable = 0;

	mig_boot();
	t = test_process("ltmemfd");
	f = fs_memfd("lt", 0);
	do_ftruncate(f, 4 * PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, 4 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	fs_uwrite(a, 4 * PAGE_SIZE, 4, 0);
	for (int i = 0; i < 4; i++)
		before[i] = test_pt_pfn(t->mm, a + i * PAGE_SIZE);
	ok(page_zonenum(pfn_to_page(before[0])) == ZONE_MOVABLE,
	   "longterm: the memfd pages were allocated in ZONE_MOVABLE");
	n = pin_user_pages_fast(a, 4, FOLL_WRITE | FOLL_LONGTERM, pages);
	is_int(n, 4, "longterm: a writable long-term pin of shared memfd memory succeeds");
	for (int i = 0; i < (int)max(n, 0L); i++) {
		moved += page_to_pfn(pages[i]) != before[i];
		pinnable += folio_is_longterm_pinnable(page_folio(pages[i]));
	}
	ok(moved == 4 && pinnable == 4,
	   "longterm: every page was migrated out of ZONE_MOVABLE first (%d moved, %d pinnable)",
	   moved, pinnable);
	is_int(fs_ucheck(a, 4 * PAGE_SIZE, 4, 0), 0, "longterm: the memfd's data came along");
	if (n > 0) {
		struct folio *folio = fs_cached(f, 2);

		ok(folio && &folio->page == pages[2],
		   "longterm: the pinned page is the one in the memfd's page cache");
		if (folio)
			folio_put(folio);
		unpin_user_pages(pages, (unsigned long)n);
	}
	vm_munmap(a, 4 * PAGE_SIZE);
	fput(f);
	fs_teardown("longterm_pin_migrates_memfd", t);
}

static void offline_moves_page_cache(void)
{
	struct zone *z = &pinmm_zones[ZONE_MOVABLE];
	struct file *f, *g;
	int ret;

	mig_boot();
	f = fs_memfd("off", 0);
	g = fs_open("offd", O_RDWR | O_CREAT);
	fs_kwrite(f, 0, 64 * PAGE_SIZE, 5);
	fs_kwrite(g, 0, 64 * PAGE_SIZE, 6);
	ret = offline_pages(z->zone_start_pfn, z->spanned_pages);
	is_int(ret, 0, "offline: a ZONE_MOVABLE range holding shmem and disk page cache goes offline");
	is_int(fs_kcheck(f, 0, 64 * PAGE_SIZE, 5), 0, "offline: the shmem data moved intact");
	is_int(fs_kcheck(g, 0, 64 * PAGE_SIZE, 6), 0, "offline: the disk-file data moved intact");
	if (!ret)
		online_pages(z->zone_start_pfn, z->spanned_pages);
	is_int(vfs_fsync(g, 0), 0, "offline: the moved dirty folios write back");
	is_int(fs_host_bad("offd", 0, 64 * PAGE_SIZE, 6), 0, "offline: ... with the right data");
	fput(g);
	fput(f);
	fs_teardown("offline_moves_page_cache", NULL);
}

int main(void)
{
	plan_no_plan();
	shmem_mapped_moves();
	dirty_disk_folio_moves();
	pinned_stays();
	longterm_pin_migrates_memfd();
	offline_moves_page_cache();
	return done_testing();
}
