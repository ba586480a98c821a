/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the file-layer tests (tests/fs/): a machine with a file
 * directory, a process, files, mappings, patterns written and checked
 * through the CPU (copy_*_user), through the page cache (kernel_read/write),
 * and on the host files themselves (what the disk holds).
 */
#ifndef PINMM_TESTS_FS_HELPERS_H
#define PINMM_TESTS_FS_HELPERS_H

#include "../lib/process.h"
#include "../lib/machine.h"

#include <pinmm/bio.h>
#include <pinmm/fs.h>
#include <pinmm/gup.h>
#include <pinmm/memory.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/pagemap.h>
#include <pinmm/rmap.h>
#include <pinmm/shmem_fs.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <pinmm/writeback.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FS_BASE		0x500000000UL	/* 2 MiB aligned */
#define FS_RW		(PROT_READ | PROT_WRITE)

/* A machine (64 MiB, no movable, no CMA) with a fresh temporary file directory. */
static inline void fs_boot(void)
{
	test_boot(64, 0, 0);
}

static inline long fs_stat(enum node_stat_item item)
{
	return global_node_page_state_snapshot(item);
}

static inline unsigned long fs_event(enum vm_event_item item)
{
	return global_vm_event(item);
}

/* Open (create) a diskfs file, or bail out. */
static inline struct file *fs_open(const char *name, int flags)
{
	struct file *f = filp_open(name, flags, 0644);

	if (IS_ERR(f))
		bail_out("filp_open(%s) = %ld", name, PTR_ERR(f));
	return f;
}

static inline struct file *fs_memfd(const char *name, unsigned int flags)
{
	struct file *f = memfd_alloc_file(name, flags);

	if (IS_ERR(f))
		bail_out("memfd_alloc_file(%s) = %ld", name, PTR_ERR(f));
	return f;
}

/* The byte at @i of a pattern (@seed picks which one). */
static inline unsigned char fs_pat(unsigned long seed, unsigned long i)
{
	/* a mix, not a ramp: a shift or a stale copy of other bytes shows */
	uint64_t x = i * 0x9e3779b97f4a7c15ULL + seed * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	return (unsigned char)(x >> 56);
}

static inline void fs_fill(void *buf, size_t len, unsigned long seed, unsigned long off)
{
	for (size_t i = 0; i < len; i++)
		((unsigned char *)buf)[i] = fs_pat(seed, off + i);
}

/* How many bytes of @buf differ from the pattern. */
static inline size_t fs_bad(const void *buf, size_t len, unsigned long seed, unsigned long off)
{
	size_t bad = 0;

	for (size_t i = 0; i < len; i++)
		bad += ((const unsigned char *)buf)[i] != fs_pat(seed, off + i);
	return bad;
}

/* Write the pattern at file offset @pos through the page cache; bytes written. */
static inline ssize_t fs_kwrite(struct file *f, loff_t pos, size_t len, unsigned long seed)
{
	char *buf = malloc(len);
	ssize_t n;

	if (!buf)
		bail_out("malloc");
	fs_fill(buf, len, seed, (unsigned long)pos);
	n = kernel_write(f, buf, len, &pos);
	free(buf);
	return n;
}

/* Bytes of [pos, pos + len) read back through the page cache that are not the pattern; -errno. */
static inline long fs_kcheck(struct file *f, loff_t pos, size_t len, unsigned long seed)
{
	char *buf = malloc(len);
	ssize_t n;
	long bad;

	if (!buf)
		bail_out("malloc");
	n = kernel_read(f, buf, len, &pos);
	bad = n < 0 ? n : (long)fs_bad(buf, (size_t)n, seed, (unsigned long)(pos - n)) +
			  (long)(len - (size_t)n);
	free(buf);
	return bad;
}

/* The host file behind a diskfs file: what the disk holds now. */
static inline int fs_host_open(const char *name)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", pinmm_file_dir(), name);
	return open(path, O_RDWR);
}

/* Bytes of the host file at [pos, pos+len) that are not the pattern (-1 if unreadable). */
static inline long fs_host_bad(const char *name, loff_t pos, size_t len, unsigned long seed)
{
	int fd = fs_host_open(name);
	char *buf = malloc(len);
	ssize_t n;
	long bad;

	if (fd < 0 || !buf)
		bail_out("host open %s", name);
	n = pread(fd, buf, len, pos);
	bad = n < 0 ? -1 : (long)fs_bad(buf, (size_t)n, seed, (unsigned long)pos) +
			   (long)(len - (size_t)n);
	close(fd);
	free(buf);
	return bad;
}

/* Write the pattern through the CPU at user address @addr (file offset @off). */
static inline unsigned long fs_uwrite(unsigned long addr, size_t len, unsigned long seed,
				      unsigned long off)
{
	char *buf = malloc(len);
	unsigned long left;

	if (!buf)
		bail_out("malloc");
	fs_fill(buf, len, seed, off);
	left = copy_to_user((void __user *)addr, buf, len);
	free(buf);
	return left;
}

/* Bytes at user address @addr that are not the pattern; the bytes not readable count too. */
static inline long fs_ucheck(unsigned long addr, size_t len, unsigned long seed, unsigned long off)
{
	char *buf = malloc(len);
	unsigned long left;
	long bad;

	if (!buf)
		bail_out("malloc");
	left = copy_from_user(buf, (const void __user *)addr, len);
	bad = (long)fs_bad(buf, len - left, seed, off) + (long)left;
	free(buf);
	return bad;
}

static inline unsigned long fs_mmap(struct file *f, unsigned long addr, size_t len,
				    unsigned long prot, unsigned long flags, pgoff_t pgoff)
{
	return vm_mmap(f, addr, len, prot, flags | (addr ? MAP_FIXED : 0), pgoff);
}

/* The page-cache folio at @index (a reference the caller puts), or NULL. */
static inline struct folio *fs_cached(struct file *f, pgoff_t index)
{
	struct folio *folio = filemap_get_folio(f->f_mapping, index);

	return IS_ERR(folio) ? NULL : folio;
}

/* Is the page mapped at @addr an anonymous one (a COW copy)? */
static inline bool fs_anon_at(struct mm_struct *mm, unsigned long addr)
{
	unsigned long pfn = test_pt_pfn(mm, addr);

	return pfn != -1UL && !is_zero_pfn(pfn) && folio_test_anon(pfn_folio(pfn));
}

/* Teardown: the process exits, the file goes, and the machine checks itself. */
static inline void fs_teardown(const char *name, struct task_struct *t)
{
	if (t) {
		pinmm_task_detach();
		pinmm_task_exit(t);
	}
	test_shutdown_ok(name);
}

#endif /* PINMM_TESTS_FS_HELPERS_H */
