// SPDX-License-Identifier: MIT
/*
 * Swap areas (Linux: mm/swapfile.c for the areas, the map and the counts;
 * mm/page_io.c for the I/O).
 *
 * An area is a host file in the machine's file directory, or memory. Its
 * swap map holds one count per slot: the page-table entries that point to
 * the slot (fork duplicates them, zap and swap-in drop them), plus
 * SWAP_HAS_CACHE while a folio for the slot is in the swap cache (from
 * swap-out until the folio is written and freed, and from swap-in until the
 * folio no longer needs the slot). A slot with neither is free. Linux's
 * continuation pages for counts past SWAP_MAP_MAX are left out: a 16-bit
 * count reaches 32767, and past that fork fails with -ENOMEM.
 *
 * Allocation is next-fit from where the last one ended (Linux's cluster
 * allocator without clusters), with a run of consecutive slots for a large
 * folio, whose pages are written in one pwrite().
 *
 * I/O is synchronous pread/pwrite under the folio lock (Linux submits a bio
 * and unlocks at completion; nothing here needs the asynchrony). The fault
 * injection site PINMM_FAIL_SWAP_IO fails one with -EIO.
 */
#include <pinmm/swap.h>

#include <pinmm/fault-inject.h>
#include <pinmm/fs.h>
#include <pinmm/gfp.h>
#include <pinmm/mm.h>
#include <pinmm/pagemap.h>
#include <pinmm/rcupdate.h>
#include <pinmm/wait.h>
#include <pinmm/rmap.h>
#include <pinmm/slab.h>
#include <pinmm/vmstat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct swap_info_struct *swap_info[MAX_SWAPFILES];
/* swapon/swapoff against each other (not order-checked: no other lock nests out of it) */
static pthread_mutex_t swapon_mutex = PTHREAD_MUTEX_INITIALIZER;
/* Slots in all areas, and free ones: meminfo reads them without a lock. */
static atomic_long total_swap_pages, nr_swap_pages;
static atomic_int nr_active_areas;

bool pinmm_swap_active(void)
{
	return atomic_load_explicit(&nr_active_areas, memory_order_acquire) > 0;
}

bool vm_swap_full(void)
{
	return atomic_load_explicit(&nr_swap_pages, memory_order_relaxed) * 2 <
	       atomic_load_explicit(&total_swap_pages, memory_order_relaxed);
}

void si_swapinfo(unsigned long *total, unsigned long *free)
{
	*total = (unsigned long)atomic_load(&total_swap_pages);
	*free = (unsigned long)atomic_load(&nr_swap_pages);
}

struct swap_info_struct *swp_swap_info(swp_entry_t entry)
{
	struct swap_info_struct *si;

	if (!is_swapfile_entry(entry))
		return NULL;
	si = __atomic_load_n(&swap_info[swp_type(entry) - SWP_SWAPFILE], __ATOMIC_ACQUIRE);
	if (!si || swp_offset(entry) >= si->max)
		return NULL;
	return si;
}

/* ---- swapon / swapoff ------------------------------------------------------------ */

static int open_area_file(struct swap_info_struct *si, const char *name, unsigned long bytes)
{
	const char *dir = pinmm_file_dir();

	if (!dir)
		return -ENOENT;
	if (!*name || strchr(name, '/'))
		return -EINVAL;
	if (snprintf(si->path, sizeof(si->path), "%s/%s", dir, name) >= (int)sizeof(si->path))
		return -ENAMETOOLONG;
	si->fd = open(si->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (si->fd < 0)
		return -errno;
	si->unlink_at_off = true;
	if (ftruncate(si->fd, (off_t)bytes)) {
		int err = -errno;

		close(si->fd);
		unlink(si->path);
		return err;
	}
	return 0;
}

static void close_area(struct swap_info_struct *si)
{
	if (si->backing == SWAP_BACKING_FILE) {
		close(si->fd);
		if (si->unlink_at_off)
			unlink(si->path);
	} else {
		munmap(si->mem, si->max << PAGE_SHIFT);
	}
	xa_destroy(&si->cache);
	kvfree(si->swap_map);
	kfree(si);
}

int pinmm_swapon(const char *name, unsigned long bytes)
{
	struct swap_info_struct *si;
	int type, err;

	if (!bytes || bytes % PAGE_SIZE || bytes / PAGE_SIZE > (1UL << 40))
		return -EINVAL;
	si = kzalloc(sizeof(*si), GFP_KERNEL);
	if (!si)
		return -ENOMEM;
	si->max = bytes >> PAGE_SHIFT;
	atomic_init(&si->users, 1);	/* the area's own, dropped by swapoff */
	si->swap_map = kvcalloc(si->max, sizeof(*si->swap_map), GFP_KERNEL);
	if (!si->swap_map) {
		kfree(si);
		return -ENOMEM;
	}
	spin_lock_init(&si->lock, LOCK_RANK_LEAF);
	xa_init(&si->cache);
	if (name) {
		si->backing = SWAP_BACKING_FILE;
		err = open_area_file(si, name, bytes);
	} else {
		si->backing = SWAP_BACKING_MEM;
		si->mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		err = si->mem == MAP_FAILED ? -ENOMEM : 0;
	}
	if (err) {
		kvfree(si->swap_map);
		kfree(si);
		return err;
	}

	pthread_mutex_lock(&swapon_mutex);
	for (type = 0; type < MAX_SWAPFILES && swap_info[type]; type++)
		;
	if (type == MAX_SWAPFILES) {
		pthread_mutex_unlock(&swapon_mutex);
		close_area(si);
		return -EPERM;
	}
	si->type = (unsigned int)type;
	si->active = true;
	atomic_fetch_add(&total_swap_pages, (long)si->max);
	atomic_fetch_add(&nr_swap_pages, (long)si->max);
	__atomic_store_n(&swap_info[type], si, __ATOMIC_RELEASE);
	/* the first area: allocations that fail may now swap anon memory out */
	if (atomic_fetch_add_explicit(&nr_active_areas, 1, memory_order_release) == 0) {
		pinmm_reclaim_reset();
		__atomic_store_n(&pinmm_direct_reclaim_anon, anon_direct_reclaim, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&swapon_mutex);
	return type;
}

/* Drop every folio that only the swap cache holds a slot for. */
static void drop_unused_cache(struct swap_info_struct *si)
{
	unsigned long index = 0;
	struct folio *folio;

	while ((folio = xa_find(&si->cache, &index, ULONG_MAX, XA_PRESENT))) {
		if (folio_try_get(folio)) {
			folio_lock(folio);
			if (folio_test_swapcache(folio) &&
			    swp_type(folio_swap_entry(folio)) == SWP_SWAPFILE + si->type)
				folio_free_swap(folio);
			folio_unlock(folio);
			folio_put(folio);
		}
		index++;
	}
}

int pinmm_swapoff(int type)
{
	struct swap_info_struct *si;

	if (type < 0 || type >= MAX_SWAPFILES)
		return -EINVAL;
	pthread_mutex_lock(&swapon_mutex);
	si = swap_info[type];
	if (!si) {
		pthread_mutex_unlock(&swapon_mutex);
		return -EINVAL;
	}
	drop_unused_cache(si);
	spin_lock(&si->lock);
	if (si->inuse_pages) {
		spin_unlock(&si->lock);
		pthread_mutex_unlock(&swapon_mutex);
		return -EBUSY;
	}
	si->active = false;
	spin_unlock(&si->lock);
	/* the last area: lazyfree folios (MADV_FREE) still need no swap */
	if (atomic_fetch_sub_explicit(&nr_active_areas, 1, memory_order_acq_rel) == 1 &&
	    !global_vm_event(PGLAZYFREE))
		__atomic_store_n(&pinmm_direct_reclaim_anon, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&swap_info[type], NULL, __ATOMIC_RELEASE);
	atomic_fetch_sub(&total_swap_pages, (long)si->max);
	atomic_fetch_sub(&nr_swap_pages, (long)si->max);
	pthread_mutex_unlock(&swapon_mutex);
	/*
	 * A get_swap_device() that still saw the area has its hold by now;
	 * later ones find none. Wait for the holders (a fault or MADV_WILLNEED
	 * that read an entry whose slot was freed since) before freeing it.
	 */
	synchronize_rcu();
	put_swap_device(si);
	wait_var_event(&si->users, !atomic_load(&si->users));
	close_area(si);
	return 0;
}

struct swap_info_struct *get_swap_device(swp_entry_t entry)
{
	struct swap_info_struct *si;

	if (!is_swapfile_entry(entry))
		return NULL;
	rcu_read_lock();
	si = __atomic_load_n(&swap_info[swp_type(entry) - SWP_SWAPFILE], __ATOMIC_ACQUIRE);
	if (si && swp_offset(entry) < si->max) {
		long users = atomic_load(&si->users);

		/* not once swapoff dropped the area's own hold (Linux: percpu_ref_tryget_live) */
		do {
			if (!users) {
				si = NULL;
				break;
			}
		} while (!atomic_compare_exchange_weak(&si->users, &users, users + 1));
	} else {
		si = NULL;
	}
	rcu_read_unlock();
	return si;
}

void put_swap_device(struct swap_info_struct *si)
{
	if (atomic_fetch_sub(&si->users, 1) == 1)
		wake_up_var(&si->users);
}

unsigned long pinmm_swap_shutdown(void)
{
	unsigned long leaked = 0;

	for (int type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si = swap_info[type];

		if (!si)
			continue;
		if (pinmm_swapoff(type) == -EBUSY) {
			leaked += si->inuse_pages;
			fprintf(stderr, "pinmm: swap area %d: %lu slot(s) still in use at shutdown\n",
				type, si->inuse_pages);
			/* forget it all the same: the next machine starts clean */
			spin_lock(&si->lock);
			si->inuse_pages = 0;
			memset(si->swap_map, 0, si->max * sizeof(*si->swap_map));
			spin_unlock(&si->lock);
			xa_destroy(&si->cache);
			pinmm_swapoff(type);
		}
	}
	return leaked;
}

/* ---- slots -------------------------------------------------------------------- */

/* @nr free consecutive slots of @si from the next-fit hand; -1 if none. Lock held. */
static long scan_swap_map(struct swap_info_struct *si, unsigned long nr)
{
	unsigned long start = si->cluster_next, off = start, run = 0;

	if (nr > si->max || si->max - si->inuse_pages < nr)
		return -1;
	for (unsigned long seen = 0; seen < si->max + nr; seen++) {
		if (off >= si->max) {	/* runs do not wrap */
			off = 0;
			run = 0;
		}
		if (si->swap_map[off])
			run = 0;
		else if (++run == nr)
			return (long)(off + 1 - nr);
		off++;
	}
	(void)start;
	return -1;
}

int folio_alloc_swap(struct folio *folio)
{
	unsigned long nr = folio_nr_pages(folio);

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	VM_BUG_ON_FOLIO(folio_test_swapcache(folio), folio);
	for (int type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si =
			__atomic_load_n(&swap_info[type], __ATOMIC_ACQUIRE);
		swp_entry_t entry;
		long off;

		if (!si)
			continue;
		spin_lock(&si->lock);
		off = si->active ? scan_swap_map(si, nr) : -1;
		if (off < 0) {
			spin_unlock(&si->lock);
			continue;
		}
		for (unsigned long i = 0; i < nr; i++)
			si->swap_map[off + i] = SWAP_HAS_CACHE;
		si->inuse_pages += nr;
		si->cluster_next = (unsigned long)off + nr;
		spin_unlock(&si->lock);
		atomic_fetch_sub(&nr_swap_pages, (long)nr);
		entry = swp_entry(SWP_SWAPFILE + type, (unsigned long)off);
		if (add_to_swap_cache(folio, entry)) {
			put_swap_folio_entries(entry, nr);
			return -ENOMEM;
		}
		return 0;
	}
	return -ENOMEM;
}

/* A slot's last holder went: free. Lock held. */
static void swap_slot_free_locked(struct swap_info_struct *si, unsigned long off)
{
	(void)off;
	si->inuse_pages--;
	atomic_fetch_add(&nr_swap_pages, 1);
}

int swap_duplicate(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry);
	int err = 0;

	if (WARN_ON_ONCE(!si))
		return -ENOENT;
	spin_lock(&si->lock);
	if (WARN_ON_ONCE(!si->swap_map[off]))
		err = -ENOENT;
	else if ((si->swap_map[off] & SWAP_MAP_MAX) == SWAP_MAP_MAX)
		err = -ENOMEM;
	else
		si->swap_map[off]++;
	spin_unlock(&si->lock);
	return err;
}

/* Drop one count; return what is left (with the cache bit). */
static unsigned int __swap_entry_free(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry);
	unsigned int left;

	if (WARN_ON_ONCE(!si))
		return 0;
	spin_lock(&si->lock);
	if (WARN_ON_ONCE(!(si->swap_map[off] & SWAP_MAP_MAX))) {
		spin_unlock(&si->lock);
		return 0;
	}
	left = --si->swap_map[off];
	if (!left)
		swap_slot_free_locked(si, off);
	spin_unlock(&si->lock);
	return left;
}

void swap_free(swp_entry_t entry)
{
	__swap_entry_free(entry);
}

void free_swap_and_cache(swp_entry_t entry)
{
	struct folio *folio;

	if (__swap_entry_free(entry) != SWAP_HAS_CACHE)
		return;
	/* only the cache holds it: its folio has no use left, unless mapped */
	folio = swap_cache_get_folio(entry);
	if (!folio)
		return;
	if (folio_trylock(folio)) {
		if (!folio_mapped(folio))
			folio_free_swap(folio);
		folio_unlock(folio);
	}
	folio_put(folio);
}

int __swap_count(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	int count;

	if (!si)
		return 0;
	spin_lock(&si->lock);
	count = si->swap_map[swp_offset(entry)] & SWAP_MAP_MAX;
	spin_unlock(&si->lock);
	return count;
}

bool folio_swapped(struct folio *folio)
{
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry), nr = folio_nr_pages(folio);
	bool swapped = false;

	if (!si)
		return false;
	spin_lock(&si->lock);
	for (unsigned long i = 0; i < nr && !swapped; i++)
		swapped = si->swap_map[off + i] & SWAP_MAP_MAX;
	spin_unlock(&si->lock);
	return swapped;
}

int swapcache_prepare(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry);
	int err = 0;

	if (!si)
		return -ENOENT;
	spin_lock(&si->lock);
	if (!si->swap_map[off])
		err = -ENOENT;
	else if (si->swap_map[off] & SWAP_HAS_CACHE)
		err = -EEXIST;
	else
		si->swap_map[off] |= SWAP_HAS_CACHE;
	spin_unlock(&si->lock);
	return err;
}

void put_swap_folio_entries(swp_entry_t entry, unsigned long nr)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	unsigned long off = swp_offset(entry);

	if (WARN_ON_ONCE(!si))
		return;
	spin_lock(&si->lock);
	for (unsigned long i = 0; i < nr; i++) {
		VM_WARN_ON_ONCE(!(si->swap_map[off + i] & SWAP_HAS_CACHE));
		si->swap_map[off + i] &= (unsigned short)~SWAP_HAS_CACHE;
		if (!si->swap_map[off + i])
			swap_slot_free_locked(si, off + i);
	}
	spin_unlock(&si->lock);
}

/* ---- I/O ------------------------------------------------------------------------ */

/* @len bytes at slot @off of @si to or from @buf: 0 or -EIO. */
static int swap_rw(struct swap_info_struct *si, unsigned long off, void *buf, size_t len,
		   bool write)
{
	off_t pos = (off_t)(off << PAGE_SHIFT);
	size_t done = 0;

	if (should_fail(PINMM_FAIL_SWAP_IO))
		return -EIO;
	if (si->backing == SWAP_BACKING_MEM) {
		if (write)
			memcpy(si->mem + pos, buf, len);
		else
			memcpy(buf, si->mem + pos, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = write ? pwrite(si->fd, (char *)buf + done, len - done, pos + (off_t)done)
				  : pread(si->fd, (char *)buf + done, len - done, pos + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int swap_write_folio(struct folio *folio)
{
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = swp_swap_info(entry);
	int err;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (WARN_ON_ONCE(!si))
		return -EIO;
	err = swap_rw(si, swp_offset(entry), folio_address(folio), folio_size(folio), true);
	if (!err) {
		count_vm_events(PSWPOUT, (long)folio_nr_pages(folio));
		count_vm_events(PGPGOUT, (long)folio_nr_pages(folio));
	}
	return err;
}

int swap_read_folio(struct folio *folio, swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	int err;

	VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);
	if (WARN_ON_ONCE(!si))
		return -EIO;
	err = swap_rw(si, swp_offset(entry), folio_address(folio), folio_size(folio), false);
	if (!err) {
		count_vm_events(PSWPIN, (long)folio_nr_pages(folio));
		count_vm_events(PGPGIN, (long)folio_nr_pages(folio));
	}
	return err;
}
