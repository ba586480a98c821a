// SPDX-License-Identifier: MIT
/*
 * Device memory, the ground of case 3: Linux's hmm-tests.c cases on the
 * dmirror device (drivers/test_hmm.c), for a device-private and a
 * device-coherent device in turn (the test's two variants). The rules:
 *  - migrate_vma_*() moves anon pages into device memory with their data;
 *    a device-private page is then mapped by a device-private entry, never
 *    by a present PTE; a coherent one by a present PTE (mm/migrate_device.c);
 *  - a CPU access to a device-private page faults it back to RAM
 *    (do_swap_page -> pgmap->ops->migrate_to_ram); a coherent page stays;
 *  - hmm_range_fault() reports the caller's own device-private pages and
 *    faults anyone else's back (hmm_vma_handle_pte);
 *  - hmm_gup_test: ordinary GUP and GUP-fast leave coherent pages on the
 *    device and fault private ones back; FOLL_LONGTERM moves both to RAM,
 *    data intact (folio_is_longterm_pinnable(), migrate_device_coherent_folio);
 *  - hmm_cow_in_device: fork shares device pages COW; the parent's writes end
 *    in ordinary writable RAM pages, the child keeps its data;
 *  - a page that may be pinned is not migrated (folio_try_share_anon_rmap_pte);
 *    a device-private page is never asked (GUP cannot reach it): with 1024
 *    references and MMF_HAS_PINNED it still forks shared and migrates back
 *    without a warning (__folio_try_dup_anon_rmap, __folio_try_share_anon_rmap);
 *    a device out of memory leaves pages in RAM unchanged;
 *  - zap (munmap, exit) gives device pages back to their driver (page_free);
 *  - make_device_exclusive(): the PTE becomes a device-exclusive entry that
 *    keeps the mapping; a CPU access, GUP, fork and munmap take it back and
 *    tell the device (hmm-tests exclusive, exclusive_mprotect, exclusive_cow);
 *    migration leaves a device-exclusive entry of a maybe-pinned exclusive
 *    page alone (try_to_migrate_one's folio_try_share_anon_rmap_pte());
 *  - migrate_vma_setup(): -EINVAL for a range shorter than a page, outside
 *    or across the VMA, or a fault_page that is not device-private; the ends
 *    are rounded down to pages, as Linux does.
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/gup.h>
#include <pinmm/gup_test.h>
#include <pinmm/memremap.h>
#include <pinmm/migrate.h>
#include <pinmm/pagemap.h>
#include <pinmm/rmap.h>
#include <pinmm/mman.h>
#include <pinmm/swap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <string.h>

#define BASE	0x700000000UL
#define NPAGES	4
#define RW	(PROT_READ | PROT_WRITE)

static const char *type_name(enum memory_type type)
{
	return type == MEMORY_DEVICE_PRIVATE ? "private" : "coherent";
}

static void boot(void)
{
	struct pinmm_config cfg = {
		.mem_bytes = 64UL << 20,
		.devmem_bytes = 4UL << 20,
	};

	if (pinmm_boot(&cfg))
		bail_out("pinmm_boot with device memory failed");
}

static struct dmirror_device *device(enum memory_type type, unsigned long npages)
{
	struct dmirror_device *mdev;

	if (dmirror_device_create(type, npages, &mdev))
		bail_out("dmirror_device_create(%s, %lu) failed", type_name(type), npages);
	return mdev;
}

/* Each int of the buffer holds its index plus @bias, as hmm-tests.c writes it. */
static void fill(int *buf, unsigned long npages, int bias)
{
	for (unsigned long i = 0; i < npages * PAGE_SIZE / sizeof(int); i++)
		buf[i] = (int)i + bias;
}

static bool check(const int *buf, unsigned long npages, int bias)
{
	for (unsigned long i = 0; i < npages * PAGE_SIZE / sizeof(int); i++)
		if (buf[i] != (int)i + bias)
			return false;
	return true;
}

static int ubuf[16 * PAGE_SIZE / sizeof(int)], dbuf[16 * PAGE_SIZE / sizeof(int)];

/* The CPU writes the pattern through the page tables (faults as hardware would). */
static bool cpu_write(unsigned long addr, unsigned long npages, int bias)
{
	fill(ubuf, npages, bias);
	return copy_to_user((void __user *)addr, ubuf, npages * PAGE_SIZE) == 0;
}

static bool cpu_reads(unsigned long addr, unsigned long npages, int bias)
{
	memset(ubuf, 0xaa, npages * PAGE_SIZE);
	return copy_from_user(ubuf, (const void __user *)addr, npages * PAGE_SIZE) == 0 &&
	       check(ubuf, npages, bias);
}

static bool device_reads(struct dmirror_device *mdev, unsigned long addr, unsigned long npages,
			 int bias)
{
	memset(dbuf, 0xaa, npages * PAGE_SIZE);
	return dmirror_read(mdev, current->mm, addr, npages, dbuf) == 0 && check(dbuf, npages, bias);
}

static bool in_device_window(unsigned long pfn)
{
	return pfn >= pinmm_devmem_pfn && pfn < pinmm_devmem_pfn + pinmm_devmem_pages;
}

/* Is @addr mapped by a device-private entry (and nothing present)? */
static bool device_private_entry(unsigned long addr, bool *writable)
{
	bool leaf;
	pte_t pte = __pte(test_pt_entry(current->mm, addr, &leaf));

	if (leaf || !is_device_private_pte(pte))
		return false;
	*writable = is_writable_device_private_entry(pte_to_swp_entry(pte));
	return in_device_window(swp_offset(pte_to_swp_entry(pte)));
}

/* Where @addr's page lives: 'd' device, 'r' RAM, '-' nothing. */
static char where(unsigned long addr)
{
	bool w;
	unsigned long pfn;

	if (device_private_entry(addr, &w))
		return 'd';
	pfn = test_pt_pfn(current->mm, addr);
	if (pfn == -1UL)
		return '-';
	return in_device_window(pfn) ? 'd' : 'r';
}

static bool all_where(unsigned long addr, unsigned long npages, char c)
{
	for (unsigned long i = 0; i < npages; i++)
		if (where(addr + i * PAGE_SIZE) != c)
			return false;
	return true;
}

static void finish(struct dmirror_device *mdev, struct task_struct *t, const char *name)
{
	if (t)
		pinmm_task_exit(t);
	is_int(dmirror_device_pages_in_use(mdev), 0,
	       "%s: every device page came back to the driver (page_free) after exit", name);
	is_int(dmirror_device_destroy(mdev), 0, "%s: the device unregisters (memunmap_pages)", name);
	test_shutdown_ok(name);
}

/* hmm-tests migrate + migrate_fault: to the device and back by a CPU fault. */
static void test_migrate_fault(enum memory_type type)
{
	const char *n = type_name(type);
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long moved = 0, used0;
	bool w = false;

	boot();
	mdev = device(type, 16);
	t = test_process("migrate");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 0), "%s: the CPU fills the buffer in RAM", n);
	used0 = pinmm_frames_in_use();
	is_int(dmirror_migrate_to_device(mdev, t->mm, BASE, NPAGES, &moved), 0,
	       "%s: migrate_vma_setup/pages/finalize to the device", n);
	is_int(moved, NPAGES, "%s: every page moved", n);
	ok(all_where(BASE, NPAGES, 'd'), "%s: every page now lives in device memory", n);
	is_int(used0 - pinmm_frames_in_use(), NPAGES, "%s: the RAM pages went back to the buddy "
	       "allocator", n);
	is_int(get_mm_counter(t->mm, MM_ANONPAGES), NPAGES,
	       "%s: device pages still count as the process's anon memory", n);
	ok(device_reads(mdev, BASE, NPAGES, 0), "%s: the device reads the data in its memory", n);
	if (type == MEMORY_DEVICE_PRIVATE) {
		ok(device_private_entry(BASE, &w) && w,
		   "private: the PTE is a writable device-private entry, not present "
		   "(the CPU can never map device-private memory)");
		ok(cpu_reads(BASE, NPAGES, 0),
		   "private: a CPU read faults each page back (migrate_to_ram), data intact");
		ok(all_where(BASE, NPAGES, 'r'), "private: ... and the pages are in RAM again");
		is_int(dmirror_device_pages_in_use(mdev), 0,
		       "private: ... and the device pages went back to the driver");
	} else {
		ok(!(test_pt_entry(t->mm, BASE, &w) == 0) && test_pt_pfn(t->mm, BASE) != -1UL,
		   "coherent: the PTE is present (the CPU maps coherent memory)");
		ok(cpu_reads(BASE, NPAGES, 0), "coherent: the CPU reads it in place");
		ok(all_where(BASE, NPAGES, 'd'), "coherent: ... and it stays on the device");
		is_int(dmirror_migrate_to_system(mdev, t->mm, BASE, NPAGES, &moved), 0,
		       "coherent: the driver migrates it back (SELECT_DEVICE_COHERENT)");
		ok(all_where(BASE, NPAGES, 'r') && cpu_reads(BASE, NPAGES, 0),
		   "coherent: ... into RAM, data intact");
	}
	ok(cpu_write(BASE, NPAGES, 7) && cpu_reads(BASE, NPAGES, 7),
	   "%s: the pages are ordinary writable RAM afterwards", n);
	finish(mdev, t, n);
}

/* hmm-tests migrate_release / explicit migration back; and the holes. */
static void test_migrate_back_and_holes(enum memory_type type)
{
	const char *n = type_name(type);
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long moved = 0;
	unsigned char perm[NPAGES];

	boot();
	mdev = device(type, 16);
	t = test_process("holes");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	memset(ubuf, 0xaa, PAGE_SIZE);
	ok(copy_from_user(ubuf, (const void __user *)BASE, PAGE_SIZE) == 0 &&
	   is_zero_pfn(test_pt_pfn(t->mm, BASE)), "%s: page 0 read once: the zero page", n);
	is_int(dmirror_migrate_to_device(mdev, t->mm, BASE, NPAGES, &moved), 0,
	       "%s: migrating untouched memory (holes and the zero page)", n);
	is_int(moved, NPAGES, "%s: a hole of an anon VMA takes a new device page", n);
	is_int(dmirror_snapshot(mdev, t->mm, BASE, NPAGES, perm), 0, "%s: snapshot", n);
	ok(perm[0] == (HMM_DMIRROR_PROT_WRITE | (type == MEMORY_DEVICE_PRIVATE ?
	   HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL : HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL)) &&
	   perm[3] == perm[0], "%s: snapshot: local device pages, writable (%#x)", n, perm[0]);
	memset(ubuf, 0, sizeof(ubuf));
	memset(dbuf, 0xaa, sizeof(dbuf));
	ok(dmirror_read(mdev, t->mm, BASE, NPAGES, dbuf) == 0 &&
	   !memcmp(dbuf, ubuf, NPAGES * PAGE_SIZE), "%s: the new pages are zero-filled", n);
	is_int(dmirror_migrate_to_system(mdev, t->mm, BASE, NPAGES, &moved), 0,
	       "%s: migrate back to system memory", n);
	is_int(moved, NPAGES, "%s: ... every page", n);
	ok(all_where(BASE, NPAGES, 'r'), "%s: ... now in RAM", n);
	is_int(dmirror_device_pages_in_use(mdev), 0, "%s: ... device pages all freed", n);
	finish(mdev, t, n);
}

/* hmm-tests hmm_gup_test. */
static void test_hmm_gup(enum memory_type type)
{
	const char *n = type_name(type);
	struct dmirror_device *mdev;
	struct gup_test_file *gf;
	struct task_struct *t;
	unsigned long moved = 0;
	unsigned char m[NPAGES];
	struct gup_test g;
	const unsigned int cmds[NPAGES] = { GUP_BASIC_TEST, GUP_FAST_BENCHMARK,
					    PIN_FAST_BENCHMARK, PIN_LONGTERM_BENCHMARK };
	const unsigned int flags[NPAGES] = { 0, 0, FOLL_LONGTERM, 0 };
	unsigned char dev = type == MEMORY_DEVICE_PRIVATE ? 0 : HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL;

	boot();
	mdev = device(type, 16);
	t = test_process("hmm_gup");
	gf = gup_test_open();
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 0), "%s: hmm_gup_test: buffer filled", n);
	dmirror_migrate_to_device(mdev, t->mm, BASE, NPAGES, &moved);
	ok(moved == NPAGES && device_reads(mdev, BASE, NPAGES, 0),
	   "%s: hmm_gup_test: migrated to the device, which reads it", n);
	for (int i = 0; i < NPAGES; i++) {
		memset(&g, 0, sizeof(g));
		g.addr = BASE + (unsigned long)i * PAGE_SIZE;
		g.size = PAGE_SIZE;
		g.nr_pages_per_call = 1;
		g.gup_flags = FOLL_WRITE | flags[i];
		is_int(gup_test_ioctl(gf, cmds[i], &g), 0, "%s: hmm_gup_test: gup_test command %d "
		       "on page %d", n, (int)(cmds[i] & 0xff), i);
	}
	is_int(dmirror_snapshot(mdev, t->mm, BASE, NPAGES, m), 0, "%s: snapshot", n);
	is_int(m[0], dev | HMM_DMIRROR_PROT_WRITE,
	       type == MEMORY_DEVICE_PRIVATE ?
	       "private: get_user_pages faulted the page back to RAM (GUP never returns "
	       "device-private pages)" :
	       "coherent: get_user_pages left the page on the device (ordinary GUP may "
	       "reference coherent memory)");
	is_int(m[1], dev | HMM_DMIRROR_PROT_WRITE,
	       type == MEMORY_DEVICE_PRIVATE ?
	       "private: GUP-fast bailed to the slow path, which faulted the page back" :
	       "coherent: GUP-fast took the page where it is");
	is_int(m[2], HMM_DMIRROR_PROT_WRITE,
	       "%s: pin_user_pages_fast(FOLL_LONGTERM) moved the page to RAM "
	       "(device memory is never long-term pinnable)", n);
	is_int(m[3], HMM_DMIRROR_PROT_WRITE,
	       "%s: PIN_LONGTERM_BENCHMARK (pin_user_pages FOLL_LONGTERM) moved it to RAM", n);
	ok(cpu_reads(BASE, NPAGES, 0), "%s: hmm_gup_test: no data corrupted", n);
	gup_test_release(gf);
	finish(mdev, t, n);
}

/* hmm-tests hmm_cow_in_device. */
static void test_cow_in_device(enum memory_type type)
{
	const char *n = type_name(type);
	struct dmirror_device *mdev;
	struct task_struct *p, *c;
	unsigned long moved = 0;
	unsigned char m[NPAGES];
	bool w = true;
	bool all = true;

	boot();
	mdev = device(type, 16);
	p = test_process("parent");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 0), "%s: cow: buffer filled", n);
	dmirror_migrate_to_device(mdev, p->mm, BASE, NPAGES, &moved);
	is_int(moved, NPAGES, "%s: cow: migrated to the device", n);
	if (pinmm_fork(p, "child", &c))
		bail_out("fork failed");
	pinmm_task_attach(p);
	if (type == MEMORY_DEVICE_PRIVATE)
		ok(device_private_entry(BASE, &w) && !w,
		   "private: fork made the parent's device-private entry read-only "
		   "(copy_nonpresent_pte, COW)");
	is_int(folio_mapcount(pfn_folio(type == MEMORY_DEVICE_PRIVATE ?
		swp_offset(pte_to_swp_entry(__pte(test_pt_entry(p->mm, BASE, &w)))) :
		test_pt_pfn(p->mm, BASE))), 2, "%s: fork: the device page is mapped by both", n);
	ok(cpu_write(BASE, NPAGES, 100), "%s: cow: the parent writes every page", n);
	is_int(dmirror_snapshot(mdev, p->mm, BASE, NPAGES, m), 0, "%s: snapshot", n);
	for (int i = 0; i < NPAGES; i++)
		all &= m[i] == HMM_DMIRROR_PROT_WRITE;
	ok(all, "%s: hmm_cow_in_device: the parent's pages are ordinary writable RAM pages", n);
	ok(cpu_reads(BASE, NPAGES, 100), "%s: ... holding what the parent wrote", n);
	pinmm_task_attach(c);
	ok(cpu_reads(BASE, NPAGES, 0), "%s: the child still reads the data from before the fork", n);
	pinmm_task_exit(c);
	pinmm_task_attach(p);
	finish(mdev, p, n);
}

/*
 * GUP never returns a device-private page, so Linux's
 * __folio_try_dup_anon_rmap() and __folio_try_share_anon_rmap() do not ask
 * folio_maybe_dma_pinned() about one: 1024 references (a small folio's
 * false positive) in an mm that has pinned must not make fork refuse to
 * share it, nor migrate_vma_collect_pmd() warn.
 */
static void test_private_never_pinned(void)
{
	static unsigned int bias = GUP_PIN_COUNTING_BIAS;
	struct dmirror_device *mdev;
	struct task_struct *p, *c;
	unsigned long moved = 0, warns;
	struct folio *folio;
	struct page *page;
	bool w;

	boot();
	mdev = device(MEMORY_DEVICE_PRIVATE, 4);
	p = test_process("parent");
	test_mmap_fixed(BASE, 2 * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, 2, 0), "never pinned: buffer filled");
	if (pin_user_pages_fast(BASE + PAGE_SIZE, 1, FOLL_WRITE, &page) != 1)
		bail_out("pin");
	unpin_user_page(page);	/* MMF_HAS_PINNED is sticky */
	dmirror_migrate_to_device(mdev, p->mm, BASE, 1, &moved);
	if (moved != 1 || !device_private_entry(BASE, &w))
		bail_out("migrate to device");
	folio = pfn_folio(swp_offset(pte_to_swp_entry(__pte(test_pt_entry(p->mm, BASE, &w)))));
	folio_ref_add(folio, bias);
	ok(folio_maybe_dma_pinned(folio) && PageAnonExclusive(&folio->page),
	   "never pinned: setup: an exclusive device-private page that looks pinned");
	warns = pinmm_warn_count();
	quiet_stderr_begin();
	if (pinmm_fork(p, "child", &c))
		bail_out("fork failed");
	quiet_stderr_end();
	pinmm_task_attach(p);
	is_int(folio_mapcount(folio), 2,
	       "never pinned: fork shares the device-private page, mapcount 2 "
	       "(__folio_try_dup_anon_rmap exempts device-private folios)");
	is_uint(pinmm_warn_count() - warns, 0, "never pinned: fork did not warn");
	folio_ref_sub(folio, bias);
	pinmm_task_exit(c);
	ok(!PageAnonExclusive(&folio->page) && folio_mapcount(folio) == 1,
	   "never pinned: the child's exit leaves the parent's mapping, shared");
	/* the share question: a fresh exclusive device-private page, collected to move back */
	vm_munmap(BASE, 2 * PAGE_SIZE);
	test_mmap_fixed(BASE, PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, 1, 3), "never pinned: a new buffer");
	dmirror_migrate_to_device(mdev, p->mm, BASE, 1, &moved);
	if (moved != 1 || !device_private_entry(BASE, &w))
		bail_out("migrate to device");
	folio = pfn_folio(swp_offset(pte_to_swp_entry(__pte(test_pt_entry(p->mm, BASE, &w)))));
	folio_ref_add(folio, bias);
	warns = pinmm_warn_count();
	quiet_stderr_begin();
	dmirror_migrate_to_system(mdev, p->mm, BASE, 1, &moved);
	quiet_stderr_end();
	is_uint(pinmm_warn_count() - warns, 0,
		"never pinned: collecting it to move back to RAM does not warn "
		"(__folio_try_share_anon_rmap exempts device-private folios)");
	folio_ref_sub(folio, bias);
	dmirror_migrate_to_system(mdev, p->mm, BASE, 1, &moved);
	ok(cpu_reads(BASE, 1, 3), "never pinned: the data comes back to RAM");
	finish(mdev, p, "never pinned");
}

/* A page that may be pinned stays; a full device leaves pages in RAM, unchanged. */
static void test_refusals(enum memory_type type)
{
	const char *n = type_name(type);
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long moved = 0, pfn0, pfn3;
	struct page *page;

	boot();
	mdev = device(type, 2);
	t = test_process("refuse");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 0), "%s: buffer filled", n);
	pfn0 = test_pt_pfn(t->mm, BASE);
	pfn3 = test_pt_pfn(t->mm, BASE + 3 * PAGE_SIZE);
	is_int(pin_user_pages_fast(BASE, 1, FOLL_WRITE, &page), 1, "%s: page 0 pinned (short term)", n);
	is_int(dmirror_migrate_to_device(mdev, t->mm, BASE, NPAGES, &moved), 0,
	       "%s: migrate with page 0 pinned and room for 2 pages", n);
	is_int(moved, 2, "%s: two pages moved", n);
	ok(test_pt_pfn(t->mm, BASE) == pfn0,
	   "%s: the pinned page stays where it is, still mapped (folio_try_share_anon_rmap_pte "
	   "refuses a maybe-pinned page)", n);
	ok(where(BASE + PAGE_SIZE) == 'd' && where(BASE + 2 * PAGE_SIZE) == 'd',
	   "%s: pages 1 and 2 took the device's two pages", n);
	ok(test_pt_pfn(t->mm, BASE + 3 * PAGE_SIZE) == pfn3,
	   "%s: device out of memory: page 3 stays in RAM, same frame", n);
	ok(device_reads(mdev, BASE, NPAGES, 0), "%s: ... and every page holds its data", n);
	unpin_user_page(page);
	is_int(dmirror_migrate_to_device(mdev, t->mm, BASE, 1, &moved), 0,
	       "%s: after unpin, page 0 may move", n);
	is_int(moved, 0, "%s: ... but the device is full: it stays", n);
	ok(device_reads(mdev, BASE, NPAGES, 0) && cpu_reads(BASE, NPAGES, 0), "%s: still intact", n);
	vm_munmap(BASE, NPAGES * PAGE_SIZE);
	is_int(dmirror_device_pages_in_use(mdev), 0,
	       "%s: munmap zaps the device entries: pages back to the driver", n);
	finish(mdev, t, n);
}

/* GUP-fast on device pages, and a GET reference on a RAM page. */
static void test_gup_fast_and_get(enum memory_type type)
{
	const char *n = type_name(type);
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long moved = 0, pfn;
	struct page *page = NULL;
	int got;

	boot();
	mdev = device(type, 16);
	t = test_process("fast");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 0), "%s: buffer filled", n);
	dmirror_migrate_to_device(mdev, t->mm, BASE, 2, &moved);
	is_int(moved, 2, "%s: pages 0 and 1 on the device", n);
	got = get_user_pages_fast_only(BASE, 1, 0, &page);
	if (type == MEMORY_DEVICE_PRIVATE) {
		is_int(got, 0, "private: GUP-fast cannot follow a device-private entry (no page)");
		ok(where(BASE) == 'd', "private: ... and GUP-fast faults nothing: still on the device");
	} else {
		struct page *pinned = NULL;
		long acq = global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED);
		long rel = global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED);

		ok(got == 1 && in_device_window(page_to_pfn(page)),
		   "coherent: GUP-fast takes the coherent page in place (short term)");
		is_int(pin_user_pages_fast(BASE, 1, FOLL_WRITE | FOLL_LONGTERM, &pinned), -EBUSY,
		       "coherent: FOLL_LONGTERM while a reference holds the page on the device: "
		       "-EBUSY (migrate_device_coherent_folio failed)");
		ok(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED) - acq ==
		   global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED) - rel && where(BASE) == 'd',
		   "coherent: ... nothing left pinned, the page still on the device");
		if (got == 1)
			put_page(page);
	}
	pfn = test_pt_pfn(t->mm, BASE + 2 * PAGE_SIZE);
	is_int(get_user_pages_fast(BASE + 2 * PAGE_SIZE, 1, 0, &page), 1,
	       "%s: a GET reference on RAM page 2", n);
	is_int(dmirror_migrate_to_device(mdev, t->mm, BASE + 2 * PAGE_SIZE, 1, &moved), 0,
	       "%s: migrate page 2", n);
	ok(moved == 0 && test_pt_pfn(t->mm, BASE + 2 * PAGE_SIZE) == pfn,
	   "%s: a page with a reference the migration cannot explain stays, still mapped "
	   "(migrate_vma_check_page)", n);
	put_page(page);
	dmirror_migrate_to_device(mdev, t->mm, BASE + 2 * PAGE_SIZE, 1, &moved);
	is_int(moved, 1, "%s: once the reference is gone it moves", n);
	ok(device_reads(mdev, BASE, NPAGES, 0), "%s: data intact throughout", n);
	finish(mdev, t, n);
}

/* hmm_range_fault() and another device's private memory. */
static void test_two_devices(void)
{
	struct dmirror_device *a, *b;
	struct task_struct *t;
	unsigned long moved = 0;
	unsigned char m[NPAGES];

	boot();
	a = device(MEMORY_DEVICE_PRIVATE, 8);
	b = device(MEMORY_DEVICE_PRIVATE, 8);
	t = test_process("two");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 0), "two devices: buffer filled");
	dmirror_migrate_to_device(a, t->mm, BASE, NPAGES, &moved);
	is_int(moved, NPAGES, "two devices: in device A's memory");
	is_int(dmirror_snapshot(b, t->mm, BASE, NPAGES, m), 0, "two devices: B's snapshot");
	is_int(m[0], HMM_DMIRROR_PROT_NONE,
	       "hmm_range_fault: another device's private page reads as absent when not required");
	is_int(dmirror_snapshot(a, t->mm, BASE, NPAGES, m), 0, "two devices: A's snapshot");
	is_int(m[0], HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE,
	       "hmm_range_fault: the owner's private page is reported as it is, no fault");
	ok(all_where(BASE, NPAGES, 'd'), "two devices: ... and still on device A");
	is_int(dmirror_migrate_to_device(b, t->mm, BASE, NPAGES, &moved), 0,
	       "two devices: B migrates the range (SELECT_SYSTEM only)");
	is_int(moved, 0, "migrate_vma: another device's private pages are not collected");
	is_int(dmirror_migrate_to_system(b, t->mm, BASE, NPAGES, &moved), 0,
	       "two devices: B migrates its own private pages back (SELECT_DEVICE_PRIVATE)");
	ok(moved == 0 && all_where(BASE, NPAGES, 'd'),
	   "migrate_vma: pgmap_owner selects: A's pages are not B's to move");
	ok(device_reads(b, BASE, NPAGES, 0),
	   "hmm_range_fault: device B's required read faults A's pages back to RAM, data intact");
	ok(all_where(BASE, NPAGES, 'r') && dmirror_device_pages_in_use(a) == 0,
	   "two devices: ... the pages are in RAM, A's memory free");
	pinmm_task_exit(t);
	is_int(dmirror_device_destroy(a) | dmirror_device_destroy(b), 0, "two devices: unregistered");
	test_shutdown_ok("two devices");
}

/* Is @addr mapped by a device-exclusive entry? Its pfn, else -1UL. */
static unsigned long exclusive_entry(unsigned long addr)
{
	bool leaf;
	pte_t pte = __pte(test_pt_entry(current->mm, addr, &leaf));

	if (leaf || !is_device_exclusive_pte(pte))
		return -1UL;
	return swp_offset(pte_to_swp_entry(pte));
}

static bool cpu_writable(unsigned long addr)
{
	bool leaf;
	pte_t pte = __pte(test_pt_entry(current->mm, addr, &leaf));

	return pte_present(pte) && pte_write(pte);
}

/* hmm-tests exclusive, exclusive_mprotect, exclusive_cow; GUP and zap of the entries. */
static void test_exclusive(void)
{
	struct dmirror_device *mdev;
	struct task_struct *t, *c;
	unsigned long cpages = 0, pfn[NPAGES];
	struct page *page;
	struct folio *folio;
	bool same = true;

	boot();
	mdev = device(MEMORY_DEVICE_PRIVATE, 4);
	t = test_process("excl");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	test_mmap_fixed(BASE + 8 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	test_mmap_fixed(BASE + 9 * PAGE_SIZE, PAGE_SIZE, RW, MAP_SHARED);
	ok(cpu_write(BASE, NPAGES, 0), "exclusive: buffer filled");
	for (int i = 0; i < NPAGES; i++)
		pfn[i] = test_pt_pfn(t->mm, BASE + (unsigned long)i * PAGE_SIZE);
	is_int(dmirror_exclusive(mdev, t->mm, BASE, NPAGES, &cpages), 0,
	       "exclusive: make_device_exclusive on every page");
	is_int(cpages, NPAGES, "exclusive: ... all of them");
	for (int i = 0; i < NPAGES; i++)
		same &= exclusive_entry(BASE + (unsigned long)i * PAGE_SIZE) == pfn[i];
	ok(same, "exclusive: each PTE is a device-exclusive entry naming the same page "
	   "(nothing moved, the CPU cannot reach it)");
	folio = pfn_folio(pfn[0]);
	ok(folio_mapcount(folio) == 1 && folio_ref_count(folio) == 1 && !folio_maybe_dma_pinned(folio),
	   "exclusive: the entry keeps the mapping: mapcount 1, refcount 1, no pin");
	ok(dmirror_exclusive_read(mdev, dbuf) == 0 && check(dbuf, NPAGES, 0),
	   "exclusive: the device reads what it holds");
	ok(cpu_reads(BASE, NPAGES, 0),
	   "exclusive: a CPU read faults each entry back (remove_device_exclusive_entry), data intact");
	is_int(dmirror_exclusive_held(mdev), 0,
	       "exclusive: ... and the device was told (MMU_NOTIFY_EXCLUSIVE): it holds nothing now");
	ok(test_pt_pfn(t->mm, BASE) == pfn[0] && cpu_writable(BASE),
	   "exclusive: the CPU maps the same page again, writable as it was (restore_exclusive_pte)");
	ok(cpu_write(BASE, NPAGES, 1) && cpu_reads(BASE, NPAGES, 1), "exclusive: and writes it");
	dmirror_exclusive_release(mdev);

	/* exclusive_mprotect */
	dmirror_exclusive(mdev, t->mm, BASE, NPAGES, &cpages);
	is_int(do_mprotect(BASE, NPAGES * PAGE_SIZE, PROT_READ), 0, "exclusive_mprotect: PROT_READ");
	is_int(dmirror_write(mdev, t->mm, BASE, NPAGES, ubuf), -EPERM,
	       "exclusive_mprotect: a device write through hmm_range_fault is now -EPERM");
	ok(cpu_reads(BASE, NPAGES, 1) && !cpu_writable(BASE),
	   "exclusive_mprotect: the CPU reads it back read-only (the VMA's permission)");
	is_int(do_mprotect(BASE, NPAGES * PAGE_SIZE, RW), 0, "exclusive_mprotect: back to RW");
	dmirror_exclusive_release(mdev);

	/* exclusive_cow */
	dmirror_exclusive(mdev, t->mm, BASE, NPAGES, &cpages);
	if (pinmm_fork(t, "child", &c))
		bail_out("fork failed");
	pinmm_task_attach(t);
	ok(exclusive_entry(BASE) == -1UL && test_pt_pfn(t->mm, BASE) == pfn[0],
	   "exclusive_cow: fork put the parent's PTE back before copying it");
	is_int(dmirror_exclusive_held(mdev), 0, "exclusive_cow: ... and the device lost the pages");
	ok(cpu_write(BASE, NPAGES, 2) && cpu_reads(BASE, NPAGES, 2),
	   "exclusive_cow: the parent's writes COW as after any fork");
	pinmm_task_attach(c);
	ok(cpu_reads(BASE, NPAGES, 1), "exclusive_cow: the child keeps the data of the fork");
	pinmm_task_exit(c);
	pinmm_task_attach(t);
	dmirror_exclusive_release(mdev);

	/* GUP meets an exclusive entry */
	pfn[0] = test_pt_pfn(t->mm, BASE);
	dmirror_exclusive(mdev, t->mm, BASE, 1, &cpages);
	is_int(get_user_pages_fast_only(BASE, 1, FOLL_WRITE, &page), 0,
	       "GUP-fast cannot follow a device-exclusive entry");
	ok(pin_user_pages_fast(BASE, 1, FOLL_WRITE, &page) == 1 && page_to_pfn(page) == pfn[0],
	   "pin_user_pages_fast: the slow path faults the entry back and pins the same page");
	is_int(dmirror_exclusive_held(mdev), 0, "... the device lost it first");
	dmirror_exclusive_release(mdev);
	is_int(dmirror_exclusive(mdev, t->mm, BASE, 1, &cpages), 0,
	       "make_device_exclusive of a pinned page: allowed (it does not move)");
	unpin_user_page(page);
	ok(cpu_reads(BASE, NPAGES, 2), "... and the CPU gets it back, intact");
	dmirror_exclusive_release(mdev);

	/* bad input */
	mmap_read_lock(t->mm);
	ok(PTR_ERR(make_device_exclusive(t->mm, BASE + 8 * PAGE_SIZE, mdev, &folio)) == -EFAULT,
	   "make_device_exclusive: a read-only VMA is -EFAULT (the write fault fails)");
	ok(PTR_ERR(make_device_exclusive(t->mm, BASE + 9 * PAGE_SIZE, mdev, &folio)) == -EOPNOTSUPP,
	   "make_device_exclusive: shared memory is -EOPNOTSUPP (anon folios only)");
	ok(PTR_ERR(make_device_exclusive(t->mm, BASE + 12 * PAGE_SIZE, mdev, &folio)) == -EFAULT,
	   "make_device_exclusive: no VMA is -EFAULT");
	mmap_read_unlock(t->mm);

	/* zap */
	dmirror_exclusive(mdev, t->mm, BASE, NPAGES, &cpages);
	is_int(vm_munmap(BASE, NPAGES * PAGE_SIZE), 0, "munmap of device-exclusive entries");
	is_int(dmirror_exclusive_held(mdev), 0, "... the device was told");
	finish(mdev, t, "exclusive");
}

/* migrate_vma_setup()'s bad input, and mprotect of device entries. */
/*
 * try_to_migrate_one() meets a device-exclusive entry of a RAM page that a
 * pin holds: the share question refuses, so the entry stays device-exclusive.
 * (Without it the refcount freeze still fails, but the entry comes back from
 * its migration entry as a plain PTE: the page is no longer the device's.)
 */
static void test_exclusive_pinned(void)
{
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long cpages = 0, pfn;
	unsigned int succ = 0;
	struct page *page;
	struct folio *folio;
	LIST_HEAD(list);

	boot();
	mdev = device(MEMORY_DEVICE_PRIVATE, 4);
	t = test_process("excl-pin");
	test_mmap_fixed(BASE, PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, 1, 4), "exclusive pinned: page filled");
	pfn = test_pt_pfn(t->mm, BASE);
	is_int(pin_user_pages_fast(BASE, 1, FOLL_WRITE, &page), 1, "exclusive pinned: page pinned");
	dmirror_exclusive(mdev, t->mm, BASE, 1, &cpages);
	ok(cpages == 1 && exclusive_entry(BASE) == pfn,
	   "exclusive pinned: make_device_exclusive on the pinned page");
	folio = page_folio(page);
	if (!folio_isolate_lru(folio))
		bail_out("isolate");
	list_add(&folio->lru, &list);
	is_int(migrate_pages(&list, alloc_migration_target, NULL, 0, MIGRATE_SYNC, MR_SYSCALL, &succ),
	       1, "exclusive pinned: migrate_pages fails on the pinned page");
	putback_movable_pages(&list);
	ok(exclusive_entry(BASE) == pfn,
	   "exclusive pinned: the device-exclusive entry stays "
	   "(try_to_migrate_one: folio_try_share_anon_rmap_pte refuses a maybe-pinned page)");
	unpin_user_page(page);
	ok(cpu_reads(BASE, 1, 4), "exclusive pinned: the CPU takes the page back, data intact");
	dmirror_exclusive_release(mdev);
	finish(mdev, t, "exclusive pinned");
}

/*
 * Reclaim meets device-exclusive entries (Linux 6.15+ try_to_unmap_one():
 * "PFN swap PTEs, such as device-exclusive ones, that actually map pages"):
 * they are unmapped like PTEs, the device gives the pages up at the MMU
 * notifier, the pages go to swap with their data (the device made them
 * dirty), and the CPU faults them back.
 */
static void test_exclusive_reclaimed(void)
{
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long cpages = 0, swapped = 0;
	bool excl = true, leaf;

	boot();
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) != 0)
		bail_out("swapon");
	mdev = device(MEMORY_DEVICE_PRIVATE, 4);
	t = test_process("excl-reclaim");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 6), "exclusive reclaimed: buffer filled");
	is_int(dmirror_exclusive(mdev, t->mm, BASE, NPAGES, &cpages), 0,
	       "exclusive reclaimed: make_device_exclusive on every page");
	for (int i = 0; i < NPAGES; i++)
		excl &= exclusive_entry(BASE + (unsigned long)i * PAGE_SIZE) != -1UL;
	ok(excl && dmirror_exclusive_held(mdev) == NPAGES, "exclusive reclaimed: the device holds them");
	pinmm_reclaim_anon(NPAGES);
	for (int i = 0; i < NPAGES; i++) {
		pte_t pte = __pte(test_pt_entry(t->mm, BASE + (unsigned long)i * PAGE_SIZE, &leaf));

		swapped += !leaf && is_swap_pte(pte) && !is_device_exclusive_pte(pte);
	}
	is_uint(swapped, NPAGES,
		"try_to_unmap_one: reclaim unmapped the device-exclusive entries: swap entries now");
	is_uint(dmirror_exclusive_held(mdev), 0,
		"exclusive reclaimed: the device gave the pages up (the notifier)");
	ok(cpu_reads(BASE, NPAGES, 6), "exclusive reclaimed: the CPU faults them back, data intact");
	dmirror_exclusive_release(mdev);
	finish(mdev, t, "exclusive reclaimed");
}

static void test_bad_input(void)
{
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long src[8], dst[8], moved = 0;
	struct migrate_vma args;
	struct vm_area_struct *vma;
	unsigned char m[2];
	struct page *ram_page;
	bool w = true;

	boot();
	mdev = device(MEMORY_DEVICE_PRIVATE, 8);
	t = test_process("bad");
	test_mmap_fixed(BASE, 2 * PAGE_SIZE, RW, MAP_PRIVATE);
	test_mmap_fixed(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	ok(cpu_write(BASE, 2, 0), "bad input: buffer filled");
	ram_page = pfn_to_page(test_pt_pfn(t->mm, BASE));
	mmap_read_lock(t->mm);
	vma = find_vma(t->mm, BASE);
	args = (struct migrate_vma){ .vma = vma, .src = src, .dst = dst, .start = BASE,
				     .end = BASE + 3 * PAGE_SIZE, .pgmap_owner = mdev,
				     .flags = MIGRATE_VMA_SELECT_SYSTEM };
	is_int(migrate_vma_setup(&args), -EINVAL, "migrate_vma_setup: a range across the VMA's "
	       "end is -EINVAL");
	args.start = BASE + 8;
	args.end = BASE + 16;
	is_int(migrate_vma_setup(&args), -EINVAL, "migrate_vma_setup: less than a page is -EINVAL");
	args.start = BASE - PAGE_SIZE;
	args.end = BASE + PAGE_SIZE;
	is_int(migrate_vma_setup(&args), -EINVAL, "migrate_vma_setup: a start below the VMA is "
	       "-EINVAL");
	args.start = BASE;
	args.end = BASE + PAGE_SIZE;
	args.src = NULL;
	is_int(migrate_vma_setup(&args), -EINVAL, "migrate_vma_setup: no src array is -EINVAL");
	args.src = src;
	args.fault_page = ram_page;
	is_int(migrate_vma_setup(&args), -EINVAL,
	       "migrate_vma_setup: a fault_page that is not device-private is -EINVAL");
	args.fault_page = NULL;
	args.start = BASE + 100;
	args.end = BASE + PAGE_SIZE + 100;
	is_int(migrate_vma_setup(&args), 0, "migrate_vma_setup: misaligned ends are rounded "
	       "down to pages (as Linux)");
	ok(args.start == BASE && args.npages == 1 && args.cpages == 1,
	   "... one page collected at the rounded start");
	migrate_vma_pages(&args);	/* dst all 0: nothing moves */
	migrate_vma_finalize(&args);
	mmap_read_unlock(t->mm);
	ok(where(BASE) == 'r' && cpu_reads(BASE, 2, 0),
	   "setup + pages + finalize with no destination: the page is mapped back, intact");
	is_int(dmirror_migrate_to_device(mdev, t->mm, BASE, 2, &moved), 0, "migrate two pages");
	is_int(do_mprotect(BASE, 2 * PAGE_SIZE, PROT_READ), 0, "mprotect(PROT_READ)");
	ok(device_private_entry(BASE, &w) && !w,
	   "mprotect: a writable device-private entry becomes read-only (change_pte_range)");
	is_int(dmirror_snapshot(mdev, t->mm, BASE, 2, m), 0, "snapshot");
	is_int(m[0], HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_READ,
	       "... hmm_range_fault reports it read-only");
	ok(cpu_reads(BASE, 2, 0), "a CPU read of read-only device memory faults it back, intact");
	is_int(dmirror_migrate_to_device(mdev, t->mm, BASE + PAGE_SIZE, 4, &moved), -EINVAL,
	       "a device migration across two VMAs goes VMA by VMA (dmirror), and a hole "
	       "after them is -EINVAL");
	finish(mdev, t, "bad input");
}

static void leaked_page_free(struct page *page)
{
	(void)page;
}

static vm_fault_t leaked_migrate_to_ram(struct vm_fault *vmf)
{
	(void)vmf;
	return VM_FAULT_SIGBUS;
}

static const struct dev_pagemap_ops leaked_ops = {
	.page_free = leaked_page_free,
	.migrate_to_ram = leaked_migrate_to_ram,
};

/* Shutdown reports device memory that was never unregistered. */
static void test_leak_report(void)
{
	static struct dev_pagemap leaked = {
		.type = MEMORY_DEVICE_PRIVATE, .ops = &leaked_ops, .owner = &leaked,
	};
	struct dmirror_device *mdev;
	struct task_struct *t;
	unsigned long moved = 0;
	int ret;

	boot();
	mdev = device(MEMORY_DEVICE_PRIVATE, 4);
	t = test_process("leak");
	test_mmap_fixed(BASE, PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, 1, 0), "leak: page written");
	dmirror_migrate_to_device(mdev, t->mm, BASE, 1, &moved);
	quiet_stderr_begin();
	ret = dmirror_device_destroy(mdev);
	quiet_stderr_end();
	is_int(ret, -EBUSY, "memunmap with a device page still mapped is refused (-EBUSY)");
	pinmm_task_exit(t);
	is_int(dmirror_device_destroy(mdev), 0, "after exit zapped it, the device unregisters");
	ok(request_free_mem_region(PAGE_SIZE, &leaked.range) == 0 &&
	   !IS_ERR(memremap_pages(&leaked, 0)), "a pgmap left registered");
	quiet_stderr_begin();
	ret = pinmm_shutdown();
	quiet_stderr_end();
	is_int(ret, -EBUSY, "shutdown reports device memory still registered");
}

/* memremap_pages()'s bad input: nothing registered, nothing damaged. */
static void test_memremap_args(void)
{
	struct dev_pagemap a = { .type = MEMORY_DEVICE_PRIVATE, .ops = &leaked_ops };
	struct dev_pagemap b;
	struct range r;
	unsigned long warns = pinmm_warn_count();

	boot();
	a.owner = &a;
	ok(request_free_mem_region(2 * PAGE_SIZE, &r) == 0 &&
	   r.start == (uint64_t)pinmm_devmem_pfn << PAGE_SHIFT,
	   "request_free_mem_region: room at the start of the device window");
	is_int(request_free_mem_region(PAGE_SIZE + 1, &r), -EINVAL,
	       "request_free_mem_region: a size that is not whole pages is -EINVAL");
	is_int(request_free_mem_region(pinmm_devmem_pages * PAGE_SIZE + PAGE_SIZE, &r), -ENOSPC,
	       "request_free_mem_region: more than the window is -ENOSPC");
	a.range = (struct range){ 0, PAGE_SIZE - 1 };
	is_int(PTR_ERR(memremap_pages(&a, 0)), -EINVAL,
	       "memremap_pages: RAM frames (outside the device window) are -EINVAL");
	a.range.start = (uint64_t)pinmm_devmem_pfn << PAGE_SHIFT;
	a.range.end = a.range.start + PAGE_SIZE;
	is_int(PTR_ERR(memremap_pages(&a, 0)), -EINVAL, "memremap_pages: a range that is not "
	       "whole pages is -EINVAL");
	a.range.end = a.range.start + 2 * PAGE_SIZE - 1;
	ok(!IS_ERR(memremap_pages(&a, 0)), "memremap_pages: two private pages registered");
	ok(is_device_private_page(pfn_to_page(pinmm_devmem_pfn + 1)) &&
	   !is_device_private_page(pfn_to_page(pinmm_devmem_pfn + 2)) &&
	   !is_device_coherent_page(pfn_to_page(pinmm_devmem_pfn)),
	   "is_device_private_page: exactly the registered frames");
	b = a;
	b.owner = &b;
	b.range.start += PAGE_SIZE;
	b.range.end += PAGE_SIZE;
	is_int(PTR_ERR(memremap_pages(&b, 0)), -EBUSY,
	       "memremap_pages: a range overlapping a registered one is -EBUSY");
	b.range = a.range;
	b.range.start += 2 * PAGE_SIZE;
	b.range.end += 2 * PAGE_SIZE;
	b.type = 0;
	quiet_stderr_begin();
	is_int(PTR_ERR(memremap_pages(&b, 0)), -EINVAL, "memremap_pages: type 0 is -EINVAL (WARN)");
	b.type = MEMORY_DEVICE_COHERENT;
	b.owner = NULL;
	is_int(PTR_ERR(memremap_pages(&b, 0)), -EINVAL, "memremap_pages: no owner is -EINVAL (WARN)");
	quiet_stderr_end();
	ok(pinmm_warn_count() > warns, "... and those warned");
	zone_device_page_init(pfn_to_page(pinmm_devmem_pfn));
	is_int(folio_ref_count(pfn_folio(pinmm_devmem_pfn)), 1,
	       "zone_device_page_init: a free device page gets one reference");
	ok(folio_test_locked(pfn_folio(pinmm_devmem_pfn)), "... and is locked");
	folio_unlock(pfn_folio(pinmm_devmem_pfn));
	quiet_stderr_begin();
	memunmap_pages(&a);
	quiet_stderr_end();
	ok(page_pgmap(pfn_to_page(pinmm_devmem_pfn)) == &a,
	   "memunmap_pages with a page in use refuses (WARN) and stays registered");
	folio_put(pfn_folio(pinmm_devmem_pfn));
	memunmap_pages(&a);
	ok(!page_pgmap(pfn_to_page(pinmm_devmem_pfn)), "memunmap_pages after the last put");
	test_shutdown_ok("memremap args");
}

/*
 * A page swapped back in by a read fault stays in the swap cache
 * (should_try_to_free_swap() lets go only on a write of the sole owner).
 * Linux's migrate_vma_check_page() counts the cache's reference as expected,
 * and migrate_device_pages() frees the slot (folio_free_swap()) before the
 * page goes to the device: moved, unless another mm still maps the slot (a
 * fork child's swap entry), which keeps the page in RAM.
 */
static void test_swap_cache(enum memory_type type, bool forked)
{
	const char *n = type_name(type);
	const char *how = forked ? "child holds the slot" : "sole owner";
	struct dmirror_device *mdev;
	struct task_struct *p, *c = NULL;
	unsigned long moved = 0, pfn;
	long cached;

	boot();
	if (pinmm_swapon(NULL, 64 * PAGE_SIZE) != 0)
		bail_out("pinmm_swapon failed");
	mdev = device(type, NPAGES);
	p = test_process("swapcache");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, RW, MAP_PRIVATE);
	ok(cpu_write(BASE, NPAGES, 7), "%s, %s: buffer filled", n, how);
	is_int(do_madvise(p->mm, BASE, 2 * PAGE_SIZE, MADV_PAGEOUT), 0,
	       "%s, %s: MADV_PAGEOUT of pages 0-1", n, how);
	ok(test_pt_pfn(p->mm, BASE) == -1UL && test_pt_pfn(p->mm, BASE + PAGE_SIZE) == -1UL,
	   "%s, %s: both are swap entries now", n, how);
	if (forked) {
		if (pinmm_fork(p, "child", &c))
			bail_out("fork failed");
		pinmm_task_attach(p);
	}
	ok(cpu_reads(BASE, NPAGES, 7), "%s, %s: a read fault swaps them back in", n, how);
	pfn = test_pt_pfn(p->mm, BASE);
	ok(pfn != -1UL && folio_test_swapcache(pfn_folio(pfn)),
	   "%s, %s: ... and page 0 stays in the swap cache (read fault: should_try_to_free_swap)",
	   n, how);
	cached = global_node_page_state_snapshot(NR_SWAPCACHE);
	is_int(dmirror_migrate_to_device(mdev, p->mm, BASE, NPAGES, &moved), 0,
	       "%s, %s: migrate the four pages to the device", n, how);
	if (!forked) {
		is_int(moved, NPAGES,
		       "%s, sole owner: every page moved, the two in the swap cache too "
		       "(migrate_vma_check_page counts the cache's reference)", n);
		ok(all_where(BASE, NPAGES, 'd'), "%s, sole owner: all four are on the device", n);
		is_int(global_node_page_state_snapshot(NR_SWAPCACHE), cached - 2,
		       "%s, sole owner: their slots were freed (folio_free_swap before the move)", n);
	} else {
		is_int(moved, NPAGES - 2,
		       "%s, child holds the slot: the two swap-cache pages stay (folio_free_swap "
		       "fails while a swap entry refers to the slot)", n);
		ok(test_pt_pfn(p->mm, BASE) == pfn && where(BASE + PAGE_SIZE) == 'r',
		   "%s, child holds the slot: pages 0-1 still mapped in RAM, page 0 the same frame",
		   n);
		ok(folio_test_swapcache(pfn_folio(pfn)),
		   "%s, child holds the slot: page 0 is still in the swap cache", n);
	}
	ok(device_reads(mdev, BASE, NPAGES, 7), "%s, %s: the device reads the data", n, how);
	ok(cpu_reads(BASE, NPAGES, 7), "%s, %s: so does the CPU (back to RAM)", n, how);
	if (c) {
		pinmm_task_attach(c);
		ok(cpu_reads(BASE, NPAGES, 7), "%s, %s: the child reads the data too", n, how);
		pinmm_task_exit(c);
		pinmm_task_attach(p);
	}
	finish(mdev, p, how);
}

int main(void)
{
	const enum memory_type types[] = { MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT };

	plan_no_plan();
	for (int i = 0; i < 2; i++) {
		test_migrate_fault(types[i]);
		test_migrate_back_and_holes(types[i]);
		test_hmm_gup(types[i]);
		test_cow_in_device(types[i]);
		test_refusals(types[i]);
		test_gup_fast_and_get(types[i]);
		test_swap_cache(types[i], false);
		test_swap_cache(types[i], true);
	}
	test_private_never_pinned();
	test_two_devices();
	test_exclusive();
	test_exclusive_pinned();
	test_exclusive_reclaimed();
	test_bad_input();
	test_memremap_args();
	test_leak_report();
	return done_testing();
}
