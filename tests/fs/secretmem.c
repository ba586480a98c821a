// SPDX-License-Identifier: MIT
/*
 * memfd_secret(2): memory no pin may reach. The Linux rules, by kernel file
 * and function, each seen on the live 6.18 kernel by a probe program first:
 *  R-SECRET-MMAP  mm/secretmem.c secretmem_mmap(): only shared mappings
 *                 (private: -EINVAL); the VMA is locked and not dumped
 *                 (VmFlags "lo dd", "Locked:" in smaps), so it counts against
 *                 RLIMIT_MEMLOCK (-EAGAIN past it without CAP_IPC_LOCK) and
 *                 MADV_DONTNEED is -EINVAL; the size is set once
 *                 (secretmem_setattr()).
 *  R-SECRET-GUP   mm/gup.c check_vma_flags(), gup_fast_folio_allowed(): no
 *                 GUP of any kind: pin or GET, short or long term, fast or
 *                 not, FOLL_FORCE (/proc/PID/mem: EIO; process_vm_readv:
 *                 EFAULT); an io_uring buffer registration is -EFAULT, and so
 *                 is an O_DIRECT write from it.
 *  R-SECRET-CPU   the process's own accesses work through its mappings,
 *                 a fork child's too (the mapping is shared); read(2) of the
 *                 file is -EINVAL (no ->read_iter).
 *  R-SECRET-MOVE  secretmem_migrate_folio(): the pages never move.
 *  R-SECRET-LOCK  mm/mlock.c mlock_fixup() leaves a secret VMA as it is:
 *                 munlock() does not unlock it; mlock() and MLOCK_ONFAULT
 *                 are -ENOMEM (__mm_populate() goes through GUP).
 */
#include "helpers.h"

#include <pinmm/cred.h>
#include <pinmm/drivers.h>
#include <pinmm/migrate.h>
#include <pinmm/secretmem.h>

#include <sys/resource.h>

#define NP	4

static struct vm_area_struct *vma_of(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	mmap_read_unlock(mm);
	return vma;
}

static void mmap_rules(void)
{
	struct task_struct *t;
	struct file *f;
	unsigned long a, locked0;
	vm_flags_t fl;
	char buf[8];
	loff_t pos = 0;

	fs_boot();
	t = test_process("secret-mmap");
	is_int(PTR_ERR(memfd_secret_file(0x40)), -EINVAL, "R-SECRET-MMAP: unknown flags are -EINVAL");
	f = memfd_secret_file(0);
	ok(!IS_ERR(f), "memfd_secret: a secretmem file");
	is_int(do_ftruncate(f, NP * PAGE_SIZE, 1), 0, "R-SECRET-MMAP: ftruncate sizes it");
	is_int(do_ftruncate(f, 2 * NP * PAGE_SIZE, 1), -EINVAL, "R-SECRET-MMAP: ... once only");
	a = fs_mmap(f, FS_BASE, NP * PAGE_SIZE, FS_RW, MAP_PRIVATE, 0);
	is_int((long)a, -EINVAL, "R-SECRET-MMAP: a private mapping is -EINVAL");
	locked0 = t->mm->locked_vm;
	a = fs_mmap(f, FS_BASE, NP * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	ok(a == FS_BASE, "R-SECRET-MMAP: a shared mapping");
	fl = vma_of(t->mm, a)->vm_flags;
	ok((fl & (VM_LOCKED | VM_DONTDUMP)) == (VM_LOCKED | VM_DONTDUMP) &&
	   vma_is_secretmem(vma_of(t->mm, a)),
	   "R-SECRET-MMAP: locked and not dumped (VmFlags lo dd)");
	is_int((long)(t->mm->locked_vm - locked0), NP, "R-SECRET-MMAP: locked_vm counts its 4 pages");
	is_int(do_madvise(t->mm, a, PAGE_SIZE, MADV_DONTNEED), -EINVAL,
	       "R-SECRET-MMAP: MADV_DONTNEED of a locked VMA is -EINVAL");
	is_int(do_madvise(t->mm, a, PAGE_SIZE, MADV_POPULATE_READ), -EINVAL,
	       "R-SECRET-GUP: MADV_POPULATE_READ is -EINVAL (GUP's VMA check, as populate sees it)");
	is_int(do_madvise(t->mm, a, PAGE_SIZE, MADV_POPULATE_WRITE), -EINVAL,
	       "R-SECRET-GUP: MADV_POPULATE_WRITE too");
	is_int(do_munlock(a, NP * PAGE_SIZE), 0, "R-SECRET-LOCK: munlock: 0 ...");
	ok((vma_of(t->mm, a)->vm_flags & VM_LOCKED_MASK) == VM_LOCKED &&
	   t->mm->locked_vm - locked0 == NP,
	   "R-SECRET-LOCK: ... and it stays locked and counted (mlock_fixup() passes it by)");
	is_int(do_mlock(a, NP * PAGE_SIZE, 0), -ENOMEM,
	       "R-SECRET-LOCK: mlock is -ENOMEM: its populate is GUP, which refuses secret memory");
	is_int(do_mlock(a, NP * PAGE_SIZE, VM_LOCKONFAULT), -ENOMEM,
	       "R-SECRET-LOCK: MLOCK_ONFAULT too (the VMA takes no VM_LOCKONFAULT)");
	is_int(kernel_read(f, buf, sizeof(buf), &pos), -EINVAL, "R-SECRET-CPU: read(2) is -EINVAL");
	vm_munmap(a, NP * PAGE_SIZE);
	pinmm_task_set_cap(t, CAP_IPC_LOCK, false);
	is_int(pinmm_task_set_rlimit(t, RLIMIT_MEMLOCK, 2 * PAGE_SIZE, 2 * PAGE_SIZE), 0,
	       "setup: RLIMIT_MEMLOCK of 2 pages, no CAP_IPC_LOCK");
	a = fs_mmap(f, FS_BASE, NP * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	is_int((long)a, -EAGAIN, "R-SECRET-MMAP: 4 pages past RLIMIT_MEMLOCK are -EAGAIN");
	fput(f);
	fs_teardown("mmap_rules", t);
}

static void no_gup(void)
{
	struct task_struct *t, *child;
	struct iou_buffer *iou = NULL;
	struct page *pages[NP];
	unsigned long a, pfn, before;
	char buf[16] = "from outside";
	struct file *f;
	long acq0;
	int fd;

	fs_boot();
	t = test_process("secret-gup");
	f = memfd_secret_file(0);
	do_ftruncate(f, NP * PAGE_SIZE, 1);
	a = fs_mmap(f, FS_BASE, NP * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	is_uint(fs_uwrite(a, NP * PAGE_SIZE, 21, 0), 0, "R-SECRET-CPU: the process writes its pages");
	is_int(fs_ucheck(a, NP * PAGE_SIZE, 21, 0), 0, "R-SECRET-CPU: ... and reads them back");
	pfn = test_pt_pfn(t->mm, a);
	ok(pfn != -1UL && !folio_test_large(pfn_folio(pfn)) &&
	   secretmem_mapping(folio_mapping(pfn_folio(pfn))),
	   "R-SECRET-MMAP: an order-0 page of the secretmem file");
	acq0 = fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED);
	is_int(pin_user_pages_fast(a, NP, FOLL_WRITE | FOLL_LONGTERM, pages), -EFAULT,
	       "R-SECRET-GUP: a long-term pin (fast) is -EFAULT");
	is_int(pin_user_pages_fast(a, NP, 0, pages), -EFAULT,
	       "R-SECRET-GUP: a short-term read-only pin (fast) is -EFAULT");
	is_int(get_user_pages_fast(a, 1, 0, pages), -EFAULT,
	       "R-SECRET-GUP: a GET (fast) is -EFAULT");
	is_int(get_user_pages_fast_only(a, 1, 0, pages), 0,
	       "R-SECRET-GUP: GUP-fast alone takes nothing (gup_fast_folio_allowed())");
	mmap_read_lock(t->mm);
	is_int(pin_user_pages(a, 1, FOLL_WRITE, pages), -EFAULT,
	       "R-SECRET-GUP: pin_user_pages() is -EFAULT (check_vma_flags())");
	is_int(get_user_pages(a, 1, FOLL_FORCE, pages), -EFAULT,
	       "R-SECRET-GUP: get_user_pages(FOLL_FORCE) too");
	mmap_read_unlock(t->mm);
	is_int(access_process_vm(t, a, buf, sizeof(buf), FOLL_WRITE | FOLL_FORCE), 0,
	       "R-SECRET-GUP: /proc/PID/mem writes nothing (live: EIO)");
	is_int(iou_register_buffer(a, NP * PAGE_SIZE, &iou), -EFAULT,
	       "R-SECRET-GUP: an io_uring buffer registration is -EFAULT");
	fd = fs_host_open("secret-dio");
	if (fd < 0)
		fd = open(".", O_TMPFILE | O_RDWR, 0600);
	is_int(dio_pwrite(fd, a, PAGE_SIZE, 0), -EFAULT,
	       "R-SECRET-GUP: an O_DIRECT write from it is -EFAULT");
	if (fd >= 0)
		close(fd);
	is_int(fs_stat(NR_FOLL_PIN_ACQUIRED) - fs_stat(NR_FOLL_PIN_RELEASED) - acq0, 0,
	       "R-SECRET-GUP: no pin is held (GUP-fast's grab-and-undo counts both ways)");
	is_int(fs_ucheck(a, NP * PAGE_SIZE, 21, 0), 0, "R-SECRET-CPU: the data is untouched");

	is_int(pinmm_fork(t, "secret-child", &child), 0, "fork");
	pinmm_task_attach(child);
	is_int(fs_ucheck(a, NP * PAGE_SIZE, 21, 0), 0, "R-SECRET-CPU: the child reads the shared pages");
	pinmm_task_detach();
	pinmm_task_exit(child);
	pinmm_task_attach(t);

	before = pfn;
	{
		LIST_HEAD(list);
		struct folio *folio = pfn_folio(pfn);
		unsigned int succ = 0;
		struct migration_target_control mtc = { .gfp_mask = GFP_USER, .reason = MR_SYSCALL };

		folio_get(folio);
		if (folio_isolate_lru(folio))
			list_add_tail(&folio->lru, &list);
		folio_put(folio);
		migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc,
			      MIGRATE_SYNC, MR_SYSCALL, &succ);
		putback_movable_pages(&list);
		ok(succ == 0 && test_pt_pfn(t->mm, a) == before,
		   "R-SECRET-MOVE: migration leaves the page where it is (-EBUSY)");
	}
	vm_munmap(a, NP * PAGE_SIZE);
	fput(f);
	fs_teardown("no_gup", t);
}

int main(void)
{
	plan_no_plan();
	mmap_rules();
	no_gup();
	return done_testing();
}
