// SPDX-License-Identifier: MIT
/*
 * memfd_create() and file seals (Linux: mm/memfd.c).
 *
 * A memfd is a shmem file (or, with MFD_HUGETLB, a hugetlbfs one) with a
 * name and, if created with MFD_ALLOW_SEALING, seals. F_SEAL_WRITE is where sealing meets pinning:
 * a write seal promises nobody will change the contents again, so it is
 * refused while a writable shared mapping exists (-EBUSY) and while any
 * folio holds references beyond the cache's and its mappings' — a GUP pin
 * or reference a device could still write through. Linux waits a little
 * for such pins to go (memfd_wait_for_pins()), then gives up with -EBUSY.
 */
#include "internal.h"

#include <pinmm/hugetlb.h>
#include <pinmm/rmap.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MFD_NAME_PREFIX		"memfd:"
#define MFD_NAME_MAX_LEN	(255 - (sizeof(MFD_NAME_PREFIX) - 1))
#define MFD_HUGE_SHIFT	26
#define MFD_HUGE_MASK	0x3fU
#define MFD_ALL_FLAGS	(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | \
			 MFD_EXEC | (MFD_HUGE_MASK << MFD_HUGE_SHIFT))
#define F_ALL_SEALS	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | \
			 F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)

static bool is_shmem_file(const struct file *file)
{
	return shmem_mapping(file->f_mapping);
}

/* Where a file keeps its seals (Linux's memfd_file_seals_ptr()); NULL: none. */
static unsigned int *memfd_seals_ptr(const struct file *file)
{
	if (is_shmem_file(file))
		return &SHMEM_I(file_inode(file))->seals;
	if (is_file_hugepages(file))
		return hugetlbfs_file_seals(file);
	return NULL;
}

struct file *memfd_alloc_file(const char *name, unsigned int flags)
{
	char fullname[sizeof(MFD_NAME_PREFIX) + MFD_NAME_MAX_LEN];
	struct shmem_inode_info *info;
	struct file *file;

	if (flags & ~MFD_ALL_FLAGS)
		return ERR_PTR(-EINVAL);
	if (!(flags & MFD_HUGETLB) && (flags & (MFD_HUGE_MASK << MFD_HUGE_SHIFT)))
		return ERR_PTR(-EINVAL);
	if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL))
		return ERR_PTR(-EINVAL);
	if (!name || strlen(name) > MFD_NAME_MAX_LEN)
		return ERR_PTR(-EINVAL);
	snprintf(fullname, sizeof(fullname), MFD_NAME_PREFIX "%s", name);
	if (flags & MFD_HUGETLB) {
		unsigned int log = (flags >> MFD_HUGE_SHIFT) & MFD_HUGE_MASK;

		/* the size bits pick the hstate: -ENODEV for none */
		file = hugetlb_file_setup(fullname, 0, VM_NORESERVE, (int)log);
		if (IS_ERR(file))
			return file;
		file->f_flags |= O_LARGEFILE;
		if (flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL))
			*hugetlbfs_file_seals(file) = (flags & MFD_NOEXEC_SEAL) ? F_SEAL_EXEC : 0;
		return file;
	}
	file = shmem_file_setup(fullname, 0, VM_NORESERVE);
	if (IS_ERR(file))
		return file;
	file->f_flags |= O_LARGEFILE;
	info = SHMEM_I(file_inode(file));
	info->memfd = true;
	/* MFD_NOEXEC_SEAL implies sealing (and seals exec), as in Linux */
	if (flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL)) {
		info->sealable = true;
		info->seals = (flags & MFD_NOEXEC_SEAL) ? F_SEAL_EXEC : 0;
	}
	return file;
}

/* A folio holds more than the cache and its mappings account for: pinned or got. */
static bool folio_has_extra_refs(struct folio *folio)
{
	/* + 1: the reference our lookup holds */
	return folio_ref_count(folio) > folio_expected_ref_count(folio) + 1;
}

/*
 * Wait (a little) until no folio of @mapping holds extra references. Linux
 * scans a few times with growing sleeps, then reports -EBUSY.
 */
static int memfd_wait_for_pins(struct address_space *mapping)
{
	for (int scan = 0; scan <= 4; scan++) {
		struct folio_batch fbatch;
		pgoff_t index = 0;
		bool busy = false;

		folio_batch_init(&fbatch);
		while (!busy && filemap_get_folios(mapping, &index, ~0UL, &fbatch)) {
			for (unsigned int i = 0; i < folio_batch_count(&fbatch); i++)
				busy |= folio_has_extra_refs(fbatch.folios[i]);
			folio_batch_release(&fbatch);
		}
		if (!busy)
			return 0;
		if (scan < 4) {
			struct timespec ts = { 0, (long)(5000000L << scan) };

			nanosleep(&ts, NULL);
		}
	}
	return -EBUSY;
}

static int memfd_add_seals(struct file *file, unsigned int seals)
{
	struct inode *inode = file_inode(file);
	unsigned int *file_seals = memfd_seals_ptr(file);
	struct address_space *mapping = inode->i_mapping;
	int v, err = 0;

	if (!(file->f_mode & FMODE_WRITE))
		return -EPERM;
	if (seals & ~F_ALL_SEALS)
		return -EINVAL;
	inode_lock(inode);
	if (*file_seals & F_SEAL_SEAL) {
		err = -EPERM;
		goto out;
	}
	if ((seals & F_SEAL_WRITE) && !(*file_seals & F_SEAL_WRITE)) {
		/* no writable shared mapping may exist, nor come (mapping_deny_writable) */
		v = atomic_load(&mapping->i_mmap_writable);
		do {
			if (v > 0) {
				err = -EBUSY;
				goto out;
			}
		} while (!atomic_compare_exchange_weak(&mapping->i_mmap_writable, &v, v - 1));
		err = memfd_wait_for_pins(mapping);
		if (err) {
			atomic_fetch_add(&mapping->i_mmap_writable, 1);
			goto out;
		}
	}
	*file_seals |= seals;
out:
	inode_unlock(inode);
	return err;
}

unsigned int memfd_file_seals(const struct file *file)
{
	unsigned int *seals = memfd_seals_ptr(file);

	return seals ? *seals : 0;
}

long memfd_fcntl(struct file *file, unsigned int cmd, unsigned int arg)
{
	unsigned int *seals = memfd_seals_ptr(file);

	if (!seals)
		return -EINVAL;
	switch (cmd) {
	case F_ADD_SEALS:
		return memfd_add_seals(file, arg);
	case F_GET_SEALS:
		return *seals;
	default:
		return -EINVAL;
	}
}
