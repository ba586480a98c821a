// SPDX-License-Identifier: MIT
/*
 * The page cache (Linux: mm/filemap.c): folios by file index, found without
 * locks, faulted into mappings, read and written through by read(2) and
 * write(2), and waited on for writeback.
 *
 * The rules it keeps:
 *  - A folio enters the cache locked and new, with folio_nr_pages()
 *    references for the cache, ->mapping and ->index set under the xa_lock.
 *    It leaves the cache locked (truncation, reclaim, migration): ->mapping
 *    becomes NULL under the xa_lock. So a lockless lookup that took a
 *    reference (folio_try_get) must check the folio is still in the slot,
 *    and one that locked it must check ->mapping: either test failing means
 *    truncation won and the lookup starts again.
 *  - Large folios (shmem THP) fill every slot they cover; the dirty and
 *    writeback tags sit on the head's index only.
 *  - A folio's contents may be read only once it is uptodate; ->read_folio
 *    makes it so and unlocks it.
 *
 * Lock order: i_rwsem > mmap_lock > invalidate_lock > folio lock > i_mmap
 * rwsem > page-table locks > xa_lock (docs/locking.md).
 */
#include "internal.h"

#include <pinmm/huge_mm.h>
#include <pinmm/hugetlb.h>
#include <pinmm/migrate.h>
#include <pinmm/memory.h>
#include <pinmm/rmap.h>
#include <pinmm/sched.h>
#include <pinmm/uaccess.h>
#include <string.h>

/* ---- accounting --------------------------------------------------------------- */

void filemap_account_folio(struct folio *folio, struct address_space *mapping, long sign)
{
	long nr = sign * (long)folio_nr_pages(folio);

	atomic_fetch_add_explicit(&mapping->nrpages, nr, memory_order_relaxed);
	/* hugetlb folios are HugePages_*, not Cached (Linux: __filemap_add_folio) */
	if (folio_test_hugetlb(folio))
		return;
	mod_node_page_state(NR_FILE_PAGES, nr);
	if (folio_test_swapbacked(folio)) {
		mod_node_page_state(NR_SHMEM, nr);
		if (folio_order(folio) == HPAGE_PMD_ORDER)
			mod_node_page_state(NR_SHMEM_THPS, sign);
	}
}

/* ---- insertion and removal ----------------------------------------------------- */

int filemap_add_folio(struct address_space *mapping, struct folio *folio, pgoff_t index,
		      gfp_t gfp)
{
	unsigned long nr = folio_nr_pages(folio);
	void *old;
	int err = 0;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(folio_mapping(folio) || folio_test_anon(folio), folio);
	VM_BUG_ON_FOLIO(!IS_ALIGNED(index, nr), folio);
	(void)gfp;
	/* the cache's references before anyone can find it */
	folio_ref_add(folio, (int)nr);
	folio->index = index;
	atomic_store_explicit(&folio->mapping, mapping, memory_order_relaxed);

	xa_lock(&mapping->i_pages);
	for (unsigned long i = 0; i < nr; i++) {
		if (xa_load(&mapping->i_pages, index + i)) {
			err = -EEXIST;
			break;
		}
	}
	for (unsigned long i = 0; !err && i < nr; i++) {
		/* release: a reader that finds the folio sees mapping and index */
		old = __xa_store(&mapping->i_pages, index + i, folio, gfp);
		if (xa_is_err(old)) {
			err = xa_err(old);
			while (i--)
				__xa_erase(&mapping->i_pages, index + i);
		}
	}
	if (!err)
		filemap_account_folio(folio, mapping, 1);
	xa_unlock(&mapping->i_pages);

	if (err) {
		atomic_store_explicit(&folio->mapping, NULL, memory_order_relaxed);
		folio->index = 0;
		folio_ref_sub(folio, (int)nr);
		return err;
	}
	/* migration and reclaim may find it from now on */
	folio_add_lru(folio);
	return 0;
}

void __filemap_remove_folio(struct folio *folio, void *shadow)
{
	struct address_space *mapping = folio_mapping(folio);
	unsigned long nr = folio_nr_pages(folio);

	(void)shadow;	/* no swap or workingset shadows here */
	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(!mapping, folio);
	/*
	 * The dirty state goes with the cache (folio_cancel_dirty(), or
	 * written). A FOLL_GET holder may dirty it again just before: warn,
	 * and uncount it, or nr_dirty would never come down (Linux's
	 * filemap_unaccount_folio()).
	 */
	if (VM_WARN_ON_ONCE_FOLIO(folio_test_dirty(folio) && mapping_can_writeback(mapping),
				  folio))
		folio_account_cleaned(folio);
	for (unsigned long i = 0; i < nr; i++)
		__xa_erase(&mapping->i_pages, folio->index + i);
	filemap_account_folio(folio, mapping, -1);
	/* lockless lookups recheck the slot (gone) or ->mapping (NULL) */
	atomic_store_explicit(&folio->mapping, NULL, memory_order_release);
}

/* After __filemap_remove_folio(): the fs lets go of its state, the cache of its references. */
static void filemap_free_folio(struct folio *folio)
{
	folio_put_refs(folio, (int)folio_nr_pages(folio));
}

void filemap_remove_folio(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);

	xa_lock(&mapping->i_pages);
	__filemap_remove_folio(folio, NULL);
	xa_unlock(&mapping->i_pages);
	filemap_free_folio(folio);
}

/* ---- lookup ------------------------------------------------------------------------ */

/* The folio at @index with a reference, or NULL: folio_try_get() + recheck. */
static struct folio *filemap_get_entry(struct address_space *mapping, pgoff_t index)
{
	struct folio *folio;

	rcu_read_lock();
	for (;;) {
		folio = xa_load(&mapping->i_pages, index);
		if (!folio || xa_is_value(folio))
			break;
		if (!folio_try_get(folio))
			continue;	/* being freed or frozen (migration): look again */
		if (likely(folio == xa_load(&mapping->i_pages, index)))
			break;
		folio_put(folio);	/* it left the slot while we took it */
	}
	rcu_read_unlock();
	return xa_is_value(folio) ? NULL : folio;
}

/* The largest order FGP_CREAT may use at @index in @mapping. */
static unsigned int filemap_create_order(struct address_space *mapping, pgoff_t index,
					 fgf_t fgp_flags)
{
	unsigned int order = fgp_flags >> FGP_ORDER_SHIFT;

	if (!mapping_large_folio_support(mapping))
		return 0;
	while (order && !IS_ALIGNED(index, 1UL << order))
		order--;
	return order;
}

struct folio *__filemap_get_folio(struct address_space *mapping, pgoff_t index,
				  fgf_t fgp_flags, gfp_t gfp)
{
	struct folio *folio;
	int err;

repeat:
	folio = filemap_get_entry(mapping, index);
	if (!folio)
		goto no_page;
	if (fgp_flags & FGP_LOCK) {
		if (fgp_flags & FGP_NOWAIT) {
			if (!folio_trylock(folio)) {
				folio_put(folio);
				return ERR_PTR(-EAGAIN);
			}
		} else {
			folio_lock(folio);
		}
		/* truncated while we slept on the lock? */
		if (unlikely(folio_mapping(folio) != mapping)) {
			folio_unlock(folio);
			folio_put(folio);
			goto repeat;
		}
		VM_BUG_ON_FOLIO(!folio_contains(folio, index), folio);
	}
	if (fgp_flags & FGP_ACCESSED)
		folio_set_referenced(folio);
	if ((fgp_flags & FGP_STABLE) && (fgp_flags & FGP_LOCK))
		folio_wait_stable(folio);
	return folio;

no_page:
	if (!(fgp_flags & FGP_CREAT))
		return ERR_PTR(-ENOENT);
	for (unsigned int order = filemap_create_order(mapping, index, fgp_flags);; order--) {
		pgoff_t start = ALIGN_DOWN(index, 1UL << order);

		folio = folio_alloc(current_gfp_context(gfp | (order ? __GFP_COMP | __GFP_NOWARN : 0)),
				    order);
		if (folio) {
			__folio_set_locked(folio);
			err = filemap_add_folio(mapping, folio, start, gfp);
			if (!err)
				break;
			__folio_clear_locked(folio);
			folio_put(folio);
			if (err == -EEXIST)
				goto repeat;	/* someone else added one: use it */
		}
		if (!order)
			return ERR_PTR(-ENOMEM);
	}
	if (!(fgp_flags & FGP_LOCK))
		folio_unlock(folio);
	if (fgp_flags & FGP_ACCESSED)
		folio_set_referenced(folio);
	return folio;
}

/* Fill @folio (locked, !uptodate) with ->read_folio and wait for it. */
static int filemap_read_folio(struct file *file, struct address_space *mapping,
			      struct folio *folio)
{
	int err;

	if (!mapping->a_ops->read_folio) {
		/* a cache with no storage behind it: a hole reads as zeroes */
		memset(folio_address(folio), 0, folio_size(folio));
		folio_mark_uptodate(folio);
		folio_unlock(folio);
		return 0;
	}
	err = mapping->a_ops->read_folio(file, folio);
	if (err)
		return err;
	folio_wait_locked(folio);
	return folio_test_uptodate(folio) ? 0 : -EIO;
}

struct folio *read_mapping_folio(struct address_space *mapping, pgoff_t index,
				 struct file *file)
{
	struct folio *folio;
	int err;

repeat:
	folio = __filemap_get_folio(mapping, index, FGP_CREAT | FGP_LOCK,
				    mapping_gfp_mask(mapping));
	if (IS_ERR(folio))
		return folio;
	if (folio_test_uptodate(folio)) {
		folio_unlock(folio);
		return folio;
	}
	err = filemap_read_folio(file, mapping, folio);
	if (err) {
		folio_put(folio);
		return ERR_PTR(err);
	}
	/* ->read_folio unlocked it; it may have been truncated meanwhile */
	if (folio_mapping(folio) != mapping) {
		folio_put(folio);
		goto repeat;
	}
	return folio;
}

void folio_wait_stable(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);

	if (mapping && mapping_stable_writes(mapping))
		folio_wait_writeback(folio);
}

/*
 * Up to a batch of folios from *@start to @end: with @tag, the folios whose
 * head carries it; else every folio. Each is returned once, with a
 * reference; *@start moves past the last one returned (or past @end).
 */
static unsigned int find_get_folios(struct address_space *mapping, pgoff_t *start, pgoff_t end,
				    xa_mark_t tag, struct folio_batch *fbatch)
{
	unsigned long index = *start, next;
	struct folio *folio;

	rcu_read_lock();
	while (index <= end && folio_batch_space(fbatch)) {
		unsigned long at = index;

		folio = xa_find(&mapping->i_pages, &at, end, tag);
		if (!folio) {
			/* past @end; at the top of the index space, stay there (nothing lives at ~0) */
			index = end == ~0UL ? end : end + 1;
			break;
		}
		next = at + 1;
		if (!xa_is_value(folio) && folio_try_get(folio)) {
			/* still there (truncation races us), and met once: by its first slot here */
			if (folio == xa_load(&mapping->i_pages, at) &&
			    (at == folio->index || at == index)) {
				folio_batch_add(fbatch, folio);
				next = folio->index + folio_nr_pages(folio);
			} else {
				folio_put(folio);
			}
		}
		if (next <= index)	/* wrapped at the top of the index space */
			next = end == ~0UL ? end : end + 1;
		index = next;
	}
	rcu_read_unlock();
	*start = index;
	return folio_batch_count(fbatch);
}

unsigned int filemap_get_folios_tag(struct address_space *mapping, pgoff_t *start,
				    pgoff_t end, xa_mark_t tag, struct folio_batch *fbatch)
{
	return find_get_folios(mapping, start, end, tag, fbatch);
}

unsigned int filemap_get_folios(struct address_space *mapping, pgoff_t *start, pgoff_t end,
				struct folio_batch *fbatch)
{
	return find_get_folios(mapping, start, end, XA_PRESENT, fbatch);
}

/* ---- faults ---------------------------------------------------------------------------- */

static pgoff_t size_in_pages(const struct inode *inode)
{
	return (pgoff_t)DIV_ROUND_UP((unsigned long long)i_size_read(inode), PAGE_SIZE);
}

vm_fault_t filemap_fault(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	pgoff_t index = vmf->pgoff;
	vm_fault_t ret = 0;
	struct folio *folio;
	bool locked = false;
	int err;

	if (unlikely(index >= size_in_pages(inode)))
		return VM_FAULT_SIGBUS;
	folio = filemap_get_folio(mapping, index);
	if (IS_ERR(folio)) {
		/* not cached: this fault reads from storage */
		count_vm_event(PGMAJFAULT);
		ret = VM_FAULT_MAJOR;
retry_find:
		/* truncation and hole punching hold it for writing: no folio is created past them */
		if (!locked) {
			filemap_invalidate_lock_shared(mapping);
			locked = true;
		}
		folio = __filemap_get_folio(mapping, index, FGP_CREAT, vmf->gfp_mask);
		if (IS_ERR(folio)) {
			filemap_invalidate_unlock_shared(mapping);
			return VM_FAULT_OOM;
		}
	}
	folio_lock(folio);
	if (unlikely(folio_mapping(folio) != mapping)) {
		/* truncated while we waited for the lock */
		folio_unlock(folio);
		folio_put(folio);
		goto retry_find;
	}
	if (unlikely(!folio_test_uptodate(folio))) {
		if (!locked) {
			/* reading needs the invalidate lock, taken before the folio lock */
			folio_unlock(folio);
			folio_put(folio);
			goto retry_find;
		}
		err = filemap_read_folio(file, mapping, folio);
		folio_put(folio);
		if (!err)
			goto retry_find;
		filemap_invalidate_unlock_shared(mapping);
		return VM_FAULT_SIGBUS;
	}
	if (locked)
		filemap_invalidate_unlock_shared(mapping);
	/* i_size may have shrunk while we slept: check again under the folio lock */
	if (unlikely(index >= size_in_pages(inode))) {
		folio_unlock(folio);
		folio_put(folio);
		return VM_FAULT_SIGBUS;
	}
	vmf->page = folio_file_page(folio, index);
	return ret | VM_FAULT_LOCKED;
}

/*
 * Fault-around's walk over its window of the cache: the entries are taken
 * in one lockless sweep (xa_extract()), then checked folio by folio.
 */
struct map_window {
	struct address_space *mapping;
	pgoff_t start, end;
	void *entries[PTRS_PER_TABLE];	/* a window never spans more than a table */
	xa_slot_t *slots[PTRS_PER_TABLE];	/* where each was: to look again */
	unsigned int nr, next;
	struct folio *prev;		/* a large folio fills consecutive slots */
};

/*
 * The next folio of the window that fault-around may map: uptodate, not
 * locked by anyone (we never wait), and, once locked, still in the cache,
 * in the window and not past EOF. Returned locked, with a reference; NULL
 * when none is left. Under rcu_read_lock().
 */
static struct folio *next_mappable_folio(struct map_window *w)
{
	while (w->next < w->nr) {
		xa_slot_t *slot = w->slots[w->next];
		struct folio *folio = w->entries[w->next++];

		if (xa_is_value(folio) || folio == w->prev || !folio_test_uptodate(folio))
			continue;
		w->prev = folio;
		if (!folio_try_get(folio))
			continue;
		/*
		 * The sweep saw it at some instant: it may have been freed and
		 * reused since, and a new owner still setting it up changes its
		 * flags without atomics. Our reference keeps it from being
		 * freed now, so if its slot still holds it, it is in the cache,
		 * published and safe to trylock (Linux: xas_reload()).
		 */
		if (xa_slot_reload(slot) != folio)
			goto put;
		if (!folio_trylock(folio))
			goto put;
		/*
		 * Under its lock a folio stays in (or out of) the cache: check
		 * it again, still @mapping's, still covering part of the window
		 * (it is mapped at its own index, whatever slot we met it in),
		 * starting before EOF (a truncation lowers i_size, then removes
		 * folios under their lock).
		 */
		if (folio->mapping != w->mapping || !folio_test_uptodate(folio) ||
		    folio->index > w->end || folio->index + folio_nr_pages(folio) <= w->start ||
		    folio->index >= size_in_pages(w->mapping->host))
			goto unlock;
		return folio;
unlock:
		folio_unlock(folio);
put:
		folio_put(folio);
	}
	return NULL;
}

/*
 * An empty PMD: a PMD-sized folio under it is mapped whole (do_set_pmd),
 * as ->fault would map it, so only when the faulting page is before EOF
 * (a shmem THP may reach past EOF; a fault there is still SIGBUS); else
 * the table the fault prepared goes in. True if the PMD mapped it all.
 */
static bool filemap_map_pmd(struct vm_fault *vmf, struct folio *folio, pgoff_t eof)
{
	struct mm_struct *mm = vmf->vma->vm_mm;

	if (!pmd_none(pmdp_get_lockless(vmf->pmd)))
		return false;
	if (folio_order(folio) == HPAGE_PMD_ORDER && vmf->pgoff < eof &&
	    !do_set_pmd(vmf, folio, false))
		return true;
	if (vmf->prealloc_pte)
		pmd_install(mm, vmf->pmd, &vmf->prealloc_pte);
	return false;
}

vm_fault_t filemap_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff, pgoff_t end_pgoff)
{
	struct vm_area_struct *vma = vmf->vma;
	struct address_space *mapping = vma->vm_file->f_mapping;
	unsigned long base = vma->vm_start + ((start_pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	struct map_window w = { .mapping = mapping, .start = start_pgoff, .end = end_pgoff };
	vm_fault_t ret = 0;
	struct folio *folio;
	pte_t *ptes;

	if (WARN_ON_ONCE(end_pgoff - start_pgoff >= PTRS_PER_TABLE))
		return 0;
	/* nothing past EOF: a fault there is SIGBUS, and stays one */
	if (start_pgoff >= size_in_pages(mapping->host))
		return 0;
	w.end = end_pgoff = min(end_pgoff, size_in_pages(mapping->host) - 1);
	w.nr = xa_extract_slots(&mapping->i_pages, w.entries, w.slots, start_pgoff, end_pgoff,
				(unsigned int)(end_pgoff - start_pgoff + 1), XA_PRESENT);
	folio = next_mappable_folio(&w);
	if (!folio)
		return 0;
	if (filemap_map_pmd(vmf, folio, size_in_pages(mapping->host))) {
		/* the fault's address lies under the PMD: that was the fault */
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;
	}
	ptes = pte_offset_map_lock(vma->vm_mm, vmf->pmd, base, &vmf->ptl);
	if (!ptes) {
		/* no table (or a PMD leaf raced in): leave it to ->fault() */
		folio_unlock(folio);
		folio_put(folio);
		return 0;
	}
	do {
		pgoff_t first = max(folio->index, start_pgoff);
		/* i_size as it is under the folio lock: a large folio may reach past it */
		pgoff_t last = min(min(folio->index + folio_nr_pages(folio) - 1, end_pgoff),
				   size_in_pages(mapping->host) - 1);
		unsigned int refs = 0;

		/* runs of empty entries over the folio's pages in the window */
		for (pgoff_t i = first; i <= last;) {
			pgoff_t run = i;

			while (run <= last && pte_none(ptep_get(ptes + (run - start_pgoff))))
				run++;
			if (run > i) {
				vmf->pte = ptes + (i - start_pgoff);
				set_pte_range(vmf, folio, folio_page(folio, i - folio->index),
					      (unsigned int)(run - i),
					      base + ((i - start_pgoff) << PAGE_SHIFT));
				refs += (unsigned int)(run - i);
				if (vmf->pgoff >= i && vmf->pgoff < run)
					ret = VM_FAULT_NOPAGE;
			}
			i = run + 1;	/* past the entry that was not empty */
		}
		/* one reference per entry: ours becomes one of them */
		if (refs)
			folio_ref_add(folio, (int)refs - 1);
		folio_unlock(folio);
		if (!refs)
			folio_put(folio);
	} while ((folio = next_mappable_folio(&w)));
	pte_unmap_unlock(ptes, vmf->ptl);
	vmf->pte = NULL;
	return ret;
}

vm_fault_t filemap_page_mkwrite(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct folio *folio = page_folio(vmf->page);

	balance_dirty_pages_ratelimited(mapping);
	folio_lock(folio);
	if (folio_mapping(folio) != mapping) {
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;	/* truncated: the fault retries and finds EOF */
	}
	/* dirty first: a writeback starting now will write-protect it again */
	folio_mark_dirty(folio);
	folio_wait_stable(folio);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct generic_file_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
	.page_mkwrite = filemap_page_mkwrite,
};

int generic_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	(void)file;
	vma->vm_ops = &generic_file_vm_ops;
	return 0;
}

/* ---- read(2) and write(2) ---------------------------------------------------------------- */

ssize_t filemap_read(struct kiocb *iocb, struct iov_iter *iter, ssize_t already_read)
{
	struct file *file = iocb->ki_filp;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	ssize_t done = already_read;

	if (!iov_iter_count(iter))
		return done;
	while (iov_iter_count(iter)) {
		loff_t isize = i_size_read(inode), pos = iocb->ki_pos;
		pgoff_t index = (pgoff_t)(pos >> PAGE_SHIFT);
		struct folio *folio;
		size_t offset, bytes, copied;

		if (pos >= isize)
			break;
		folio = filemap_get_folio(mapping, index);
		if (IS_ERR(folio) || !folio_test_uptodate(folio)) {
			if (!IS_ERR(folio))
				folio_put(folio);
			/* create and read it with truncation held off */
			filemap_invalidate_lock_shared(mapping);
			folio = read_mapping_folio(mapping, index, file);
			filemap_invalidate_unlock_shared(mapping);
			if (IS_ERR(folio)) {
				if (!done)
					done = PTR_ERR(folio);
				break;
			}
		}
		/* i_size again: a truncation may have raced the read (Linux rechecks too) */
		isize = i_size_read(inode);
		offset = (size_t)(pos - folio_pos(folio));
		bytes = min((size_t)(folio_size(folio) - offset), iov_iter_count(iter));
		if (pos + (loff_t)bytes > isize)
			bytes = isize > pos ? (size_t)(isize - pos) : 0;
		folio_set_referenced(folio);
		copied = bytes ? copy_folio_to_iter(folio, offset, bytes, iter) : 0;
		folio_put(folio);
		done += (ssize_t)copied;
		iocb->ki_pos += (loff_t)copied;
		if (copied < bytes) {
			if (!done)
				done = -EFAULT;
			break;
		}
		if (!bytes)
			break;
	}
	return done;
}

ssize_t generic_file_read_iter(struct kiocb *iocb, struct iov_iter *iter)
{
	return filemap_read(iocb, iter, 0);
}

ssize_t generic_perform_write(struct kiocb *iocb, struct iov_iter *i)
{
	struct file *file = iocb->ki_filp;
	struct address_space *mapping = file->f_mapping;
	const struct address_space_operations *a_ops = mapping->a_ops;
	loff_t pos = iocb->ki_pos;
	ssize_t written = 0;
	size_t retry_bytes = 0;
	int status = 0;

	do {
		size_t offset = (size_t)(pos & (PAGE_SIZE - 1));
		size_t bytes = min(PAGE_SIZE - offset, iov_iter_count(i));
		struct folio *folio;
		void *fsdata = NULL;
		size_t copied;

		if (retry_bytes) {
			bytes = min(bytes, retry_bytes);
			retry_bytes = 0;
		}

		/*
		 * Fault the source in first: the copy below runs under the
		 * folio lock with faults disabled (the source may be a
		 * mapping of this very folio, whose fault would lock it).
		 */
		if (unlikely(fault_in_iov_iter_readable(i, bytes) == bytes)) {
			status = -EFAULT;
			break;
		}
		if (fatal_signal_pending_current()) {
			status = -EINTR;
			break;
		}
		status = a_ops->write_begin(file, mapping, pos, (unsigned int)bytes, &folio,
					    &fsdata);
		if (unlikely(status < 0))
			break;
		offset = (size_t)(pos - folio_pos(folio));
		if (bytes > folio_size(folio) - offset)
			bytes = folio_size(folio) - offset;
		copied = copy_folio_from_iter_atomic(folio, offset, bytes, i);
		status = a_ops->write_end(file, mapping, pos, (unsigned int)bytes,
					  (unsigned int)copied, folio, fsdata);
		if (unlikely(status != (int)copied)) {
			iov_iter_revert(i, copied - (size_t)max(status, 0));
			if (unlikely(status < 0))
				break;
		}
		if (unlikely(status == 0)) {
			/*
			 * ->write_end() refused a short copy into a folio that is
			 * not uptodate: the source ends (or faults) inside it. Ask
			 * for just what was copied, which write_begin reads around,
			 * as Linux does; asking for the same again would copy the
			 * same short piece forever. Nothing copied (a racing munmap
			 * of the source?): fault in again.
			 */
			retry_bytes = copied;
			continue;
		}
		pos += status;
		written += status;
		balance_dirty_pages_ratelimited(mapping);
	} while (iov_iter_count(i));

	if (!written)
		return status;
	iocb->ki_pos += written;
	return written;
}

ssize_t generic_write_checks(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = iocb->ki_filp->f_mapping->host;
	loff_t max = inode->i_sb->s_maxbytes, isize = i_size_read(inode);

	if (!iov_iter_count(from))
		return 0;
	if (iocb->ki_flags & IOCB_APPEND)
		iocb->ki_pos = isize;
	/* past the largest file: -EFBIG, or as much as fits (Linux's rule) */
	if (iocb->ki_pos >= max)
		return -EFBIG;
	iov_iter_truncate(from, (size_t)min((loff_t)iov_iter_count(from), max - iocb->ki_pos));
	/* a write that leaves a gap after EOF: what a mapping stored there is not data */
	if (iocb->ki_pos > isize)
		pagecache_isize_extended(inode, isize, iocb->ki_pos);
	return (ssize_t)iov_iter_count(from);
}

ssize_t generic_file_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file->f_mapping->host;
	ssize_t ret;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret > 0)
		ret = generic_perform_write(iocb, from);
	inode_unlock(inode);
	if (ret > 0 && (iocb->ki_flags & (IOCB_DSYNC | IOCB_SYNC))) {
		int err = vfs_fsync_range(file, iocb->ki_pos - ret, iocb->ki_pos - 1,
					  !(iocb->ki_flags & IOCB_SYNC));

		if (err)
			ret = err;
	}
	return ret;
}

/* ---- writing back and waiting -------------------------------------------------------------- */

int __filemap_fdatawrite_range(struct address_space *mapping, loff_t start, loff_t end,
			       enum writeback_sync_modes sync_mode)
{
	struct writeback_control wbc = {
		.sync_mode = sync_mode,
		.nr_to_write = LONG_MAX,
		.range_start = start,
		.range_end = end,
	};

	if (!mapping_can_writeback(mapping) || !xa_marked(&mapping->i_pages, PAGECACHE_TAG_DIRTY))
		return 0;
	return do_writepages(mapping, &wbc);
}

int filemap_fdatawrite_range(struct address_space *mapping, loff_t start, loff_t end)
{
	return __filemap_fdatawrite_range(mapping, start, end, WB_SYNC_ALL);
}

int filemap_fdatawrite(struct address_space *mapping)
{
	return filemap_fdatawrite_range(mapping, 0, LLONG_MAX);
}

/* Wait for the writeback of every folio in the range; the errors are in wb_err. */
static void __filemap_fdatawait_range(struct address_space *mapping, loff_t start, loff_t end)
{
	pgoff_t index = (pgoff_t)(start >> PAGE_SHIFT), last = (pgoff_t)(end >> PAGE_SHIFT);
	struct folio_batch fbatch;

	folio_batch_init(&fbatch);
	while (index <= last) {
		unsigned int nr = filemap_get_folios_tag(mapping, &index, last,
							 PAGECACHE_TAG_WRITEBACK, &fbatch);

		if (!nr)
			break;
		for (unsigned int i = 0; i < nr; i++)
			folio_wait_writeback(fbatch.folios[i]);
		folio_batch_release(&fbatch);
	}
}

/* The legacy error flags: report an error once to whoever asks first. */
static int filemap_check_errors(struct address_space *mapping)
{
	unsigned long bits = (1UL << AS_EIO) | (1UL << AS_ENOSPC);
	unsigned long old = atomic_fetch_and_explicit(&mapping->flags, ~bits, memory_order_acq_rel);

	if (old & (1UL << AS_ENOSPC))
		return -ENOSPC;
	if (old & (1UL << AS_EIO))
		return -EIO;
	return 0;
}

int filemap_fdatawait_range(struct address_space *mapping, loff_t start, loff_t end)
{
	__filemap_fdatawait_range(mapping, start, end);
	return filemap_check_errors(mapping);
}

int filemap_write_and_wait_range(struct address_space *mapping, loff_t lstart, loff_t lend)
{
	int err = 0, err2;

	if (lend < lstart)
		return 0;
	/* an empty cache has nothing to write or wait for (Linux: mapping_needs_writeback()) */
	if (mapping_can_writeback(mapping) &&
	    atomic_load_explicit(&mapping->nrpages, memory_order_relaxed)) {
		err = __filemap_fdatawrite_range(mapping, lstart, lend, WB_SYNC_ALL);
		/* wait even after an error: the I/O started must not outlive us */
		__filemap_fdatawait_range(mapping, lstart, lend);
	}
	err2 = filemap_check_errors(mapping);
	return err ? err : err2;
}

int filemap_write_and_wait(struct address_space *mapping)
{
	return filemap_write_and_wait_range(mapping, 0, LLONG_MAX);
}

int file_check_and_advance_wb_err(struct file *file)
{
	int err = errseq_check_and_advance(&file->f_mapping->wb_err, &file->f_wb_err);

	/* the legacy flags are reported through wb_err now: clear them */
	filemap_check_errors(file->f_mapping);
	return err;
}

int file_write_and_wait_range(struct file *file, loff_t start, loff_t end)
{
	struct address_space *mapping = file->f_mapping;
	int err = 0, err2;

	if (mapping_can_writeback(mapping)) {
		err = __filemap_fdatawrite_range(mapping, start, end, WB_SYNC_ALL);
		__filemap_fdatawait_range(mapping, start, end);
	}
	/* what this file has not been told yet, whoever's I/O failed */
	err2 = file_check_and_advance_wb_err(file);
	return err ? err : err2;
}

int generic_file_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	(void)datasync;
	return file_write_and_wait_range(file, start, end);
}

/* ---- migration ----------------------------------------------------------------------------- */

int filemap_migrate_folio(struct address_space *mapping, struct folio *dst, struct folio *src,
			  enum migrate_mode mode)
{
	unsigned long nr = folio_nr_pages(src);

	(void)mode;
	VM_BUG_ON_FOLIO(folio_ref_count(src) != 0, src);	/* frozen by the caller */
	VM_BUG_ON_FOLIO(!folio_test_locked(dst) || folio_nr_pages(dst) != nr, dst);
	dst->index = src->index;
	atomic_store_explicit(&dst->mapping, mapping, memory_order_relaxed);
	if (folio_test_swapbacked(src))
		__folio_set_swapbacked(dst);
	/* the cache's references move with the slots */
	folio_ref_add(dst, (int)nr);
	xa_lock(&mapping->i_pages);
	for (unsigned long i = 0; i < nr; i++)
		__xa_store(&mapping->i_pages, src->index + i, dst, 0);
	/* nr_zone_write_pending is per zone: a dirty folio's share moves */
	if (folio_test_dirty(src) && mapping_can_writeback(mapping) &&
	    folio_zone(src) != folio_zone(dst)) {
		mod_zone_page_state(folio_zone(src), NR_ZONE_WRITE_PENDING, -(long)nr);
		mod_zone_page_state(folio_zone(dst), NR_ZONE_WRITE_PENDING, (long)nr);
	}
	xa_unlock(&mapping->i_pages);
	/* the block map, and the reference that comes with it */
	if (folio_test_private(src)) {
		dst->private = src->private;
		folio_set_private(dst);
		folio_ref_inc(dst);
		src->private = NULL;
		folio_clear_private(src);
	}
	return 0;
}
