// SPDX-License-Identifier: MIT
/*
 * bench/migrate: what moving a mapped page costs. A process maps anon
 * memory; the folios are isolated and migrated back and forth between
 * ZONE_MOVABLE and ZONE_NORMAL with migrate_pages(): unmap through rmap,
 * freeze, copy, remap. Figures are ns per migrated 4 KiB page and per 2 MiB
 * THP, each next to a plain memcpy() of the same size from the same run (the
 * floor: migration must copy the bytes), and next to the same memcpy() done
 * over 16 MiB the way migration copies them (the copy alone, with caches
 * that cannot hold what it moves: what is left above it is migration's own).
 *
 * Figures are also given in the migrating thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID; the memcpy floor is CPU time too), which a busy
 * host does not inflate the way it does wall-clock time.
 *
 * Then what migration is for: a long-term pin (FOLL_LONGTERM, as io_uring
 * registers a fixed buffer) of 1 GiB of resident anonymous memory that sits
 * in ZONE_MOVABLE, which must migrate every page out before pinning it, in
 * ns per page, next to the live kernel registering 1 GiB of resident memory
 * as an io_uring fixed buffer in the same run (which pins in place: nothing
 * of it is in a movable zone there). Prints figures only; the headline is
 * the last line. With -4, only the 4 KiB loop runs (for callgrind:
 * scripts/migrate-instructions.sh).
 */
#include <pinmm/gup.h>
#include <pinmm/huge_mm.h>
#include <pinmm/machine.h>
#include <pinmm/memory.h>
#include <pinmm/migrate.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/rmap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>

#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "report.h"

#define BASE		0x700000000UL
#define SMALL_PAGES	4096UL		/* 16 MiB of 4 KiB folios */
#define SMALL_ROUNDS	8
#define THPS		8		/* 16 MiB of 2 MiB folios */
#define THP_ROUNDS	8
#define LONGTERM_BYTES	(1UL << 30)

static void die(const char *what)
{
	fprintf(stderr, "migrate: %s failed\n", what);
	exit(1);
}

/* The folio mapped at @addr (PTE or PMD leaf), or NULL. */
static struct folio *folio_at(struct mm_struct *mm, unsigned long addr)
{
	struct folio *folio = NULL;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;

	mmap_read_lock(mm);
	pmd = mm_find_pmd(mm, addr);
	if (pmd && pmd_leaf(pmdp_get(pmd))) {
		folio = page_folio(pmd_page(pmdp_get(pmd)));
	} else if (pmd && (pte = pte_offset_map_lock(mm, pmd, addr, &ptl))) {
		pte_t v = ptep_get(pte);

		if (pte_present(v))
			folio = page_folio(pte_page(v));
		pte_unmap_unlock(pte, ptl);
	}
	mmap_read_unlock(mm);
	return folio;
}

/* Isolate the folios of [addr, addr + n * step) onto @list. */
static void isolate(struct mm_struct *mm, unsigned long addr, unsigned long n,
		    unsigned long step, struct list_head *list)
{
	for (unsigned long i = 0; i < n; i++) {
		struct folio *folio = folio_at(mm, addr + i * step);

		if (!folio || !folio_try_get(folio))
			continue;
		if (folio_isolate_lru(folio))
			list_add_tail(&folio->lru, list);
		folio_put(folio);
	}
}

/* Migrate @n folios @rounds times, alternating zones; ns per folio moved. */
static double measure(struct mm_struct *mm, unsigned long n, unsigned long step,
		      unsigned int rounds, unsigned long *moved_out, double *cpu_out)
{
	uint64_t ns = 0, cpu = 0;
	unsigned long moved = 0;

	for (unsigned int r = 0; r < rounds; r++) {
		struct migration_target_control mtc = {
			.gfp_mask = (r & 1) ? GFP_HIGHUSER_MOVABLE : GFP_USER,
			.reason = MR_SYSCALL,
		};
		unsigned int succ = 0;
		LIST_HEAD(list);
		uint64_t t0, c0;

		isolate(mm, BASE, n, step, &list);
		t0 = bench_now_ns();
		c0 = bench_cpu_ns();
		migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc,
			      MIGRATE_SYNC, MR_SYSCALL, &succ);
		cpu += bench_cpu_ns() - c0;
		ns += bench_now_ns() - t0;
		putback_movable_pages(&list);
		moved += succ;
	}
	*moved_out = moved;
	*cpu_out = moved ? (double)cpu / (double)moved : 0;
	return moved ? (double)ns / (double)moved : 0;
}

/* ns per memcpy of @size bytes between two buffers (both warmed). */
static double memcpy_ns(size_t size, unsigned long iters)
{
	char *a = aligned_alloc(4096, size), *b = aligned_alloc(4096, size);
	uint64_t t0, ns;

	if (!a || !b)
		die("aligned_alloc");
	memset(a, 1, size);
	memset(b, 2, size);
	t0 = bench_cpu_ns();
	for (unsigned long i = 0; i < iters; i++) {
		memcpy(i & 1 ? a : b, i & 1 ? b : a, size);
		__asm__ __volatile__("" ::: "memory");
	}
	ns = bench_cpu_ns() - t0;	/* CPU time, as the migration's figure it is set against */
	free(a);
	free(b);
	return (double)ns / (double)iters;
}

/*
 * ns per memcpy of @size bytes, @size at a time through @ws bytes of source
 * into @ws bytes of destination and back, as migration moves the bench's
 * 16 MiB between two zones: the copy with migration's working set, which
 * mostly misses the caches, where memcpy_ns() copies the same two buffers
 * again and again. CPU time. Not the goal's floor (that is memcpy_ns()); the
 * figure says how much of migration the copy alone is.
 */
static double memcpy_ws_ns(size_t size, size_t ws, unsigned int rounds)
{
	char *a = aligned_alloc(4096, ws), *b = aligned_alloc(4096, ws);
	unsigned long n = 0;
	uint64_t t0, ns;

	if (!a || !b)
		die("aligned_alloc");
	memset(a, 1, ws);
	memset(b, 2, ws);
	t0 = bench_cpu_ns();
	for (unsigned int r = 0; r < rounds; r++)
		for (size_t off = 0; off + size <= ws; off += size, n++) {
			memcpy((r & 1 ? a : b) + off, (r & 1 ? b : a) + off, size);
			__asm__ __volatile__("" ::: "memory");
		}
	ns = bench_cpu_ns() - t0;
	free(a);
	free(b);
	return (double)ns / (double)n;
}

/*
 * A real machine's RAM is resident: fault the arena in on the host after
 * boot, so the figures are migration's, not the host's first touch of each
 * destination frame. The zero page is read-only: around it.
 */
static void populate_arena(void)
{
	madvise(pinmm_arena, pinmm_zero_pfn << PAGE_SHIFT, MADV_POPULATE_WRITE);
	madvise(pinmm_arena + ((pinmm_zero_pfn + 1) << PAGE_SHIFT),
		(pinmm_max_pfn - pinmm_zero_pfn - 1) << PAGE_SHIFT, MADV_POPULATE_WRITE);
}

/*
 * pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM) of LONGTERM_BYTES of
 * populated memory in ZONE_MOVABLE: ns per page, migration included.
 * *@moved: pages that left ZONE_MOVABLE.
 */
static double longterm_pin_movable(unsigned long *moved, double *cpu_out)
{
	unsigned long nr = LONGTERM_BYTES >> PAGE_SHIFT, done = 0, addr, in_movable = 0;
	struct page **pages = calloc(nr, sizeof(*pages));
	struct pinmm_config cfg;
	struct task_struct *t;
	uint64_t t0, c0, ns;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 2 * LONGTERM_BYTES + (512UL << 20);
	cfg.movable_bytes = LONGTERM_BYTES + (256UL << 20);
	cfg.cma_bytes = 0;
	cfg.pmem_bytes = 0;
	if (!pages || pinmm_boot(&cfg))
		die("pinmm_boot (long-term)");
	populate_arena();
	t = pinmm_task_create("bench-lt");
	pinmm_task_attach(t);
	addr = vm_mmap(NULL, 0, LONGTERM_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr) || do_madvise(t->mm, addr, LONGTERM_BYTES, MADV_NOHUGEPAGE) ||
	    do_madvise(t->mm, addr, LONGTERM_BYTES, MADV_POPULATE_WRITE))
		die("populate (long-term)");
	t0 = bench_now_ns();
	c0 = bench_cpu_ns();
	while (done < nr) {
		int got = pin_user_pages_fast(addr + done * PAGE_SIZE, (int)min(nr - done, 65536UL),
					      FOLL_WRITE | FOLL_LONGTERM, pages + done);

		if (got <= 0)
			die("long-term pin");
		done += (unsigned long)got;
	}
	ns = bench_now_ns() - t0;
	*cpu_out = (double)(bench_cpu_ns() - c0) / (double)nr;
	for (unsigned long i = 0; i < nr; i++)
		in_movable += page_zonenum(pages[i]) == ZONE_MOVABLE;
	if (in_movable)
		die("long-term pin left a page in ZONE_MOVABLE");
	unpin_user_pages(pages, nr);
	*moved = (unsigned long)global_vm_event(PGMIGRATE_SUCCESS);
	vm_munmap(addr, LONGTERM_BYTES);
	pinmm_task_detach();
	pinmm_task_exit(t);
	if (pinmm_shutdown())
		die("pinmm_shutdown (long-term)");
	free(pages);
	return (double)ns / (double)nr;
}

/* The live kernel: io_uring registration of LONGTERM_BYTES of resident memory; ns/page or -1. */
static double kernel_register_ns(void)
{
	struct io_uring ring;
	struct iovec iov;
	char *mem = mmap(NULL, LONGTERM_BYTES, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double best = -1;

	if (mem == MAP_FAILED)
		return -1;
	madvise(mem, LONGTERM_BYTES, MADV_NOHUGEPAGE);
	for (unsigned long off = 0; off < LONGTERM_BYTES; off += PAGE_SIZE)
		mem[off] = 1;
	iov = (struct iovec){ mem, LONGTERM_BYTES };
	if (io_uring_queue_init(8, &ring, 0) < 0)
		goto out;
	for (int r = 0; r < 3; r++) {
		uint64_t t0 = bench_cpu_ns();	/* the kernel pins in this thread: its system time */
		double ns;

		if (io_uring_register_buffers(&ring, &iov, 1) < 0)
			break;
		ns = (double)(bench_cpu_ns() - t0) / (double)(LONGTERM_BYTES >> PAGE_SHIFT);
		io_uring_unregister_buffers(&ring);
		best = best < 0 ? ns : min(best, ns);
	}
	io_uring_queue_exit(&ring);
out:
	munmap(mem, LONGTERM_BYTES);
	return best;
}

int main(int argc, char **argv)
{
	/* -4: the 4 KiB loop alone, for scripts/migrate-instructions.sh (callgrind) */
	bool only4k = argc > 1 && !strcmp(argv[1], "-4");
	unsigned long lt_moved;
	double lt_ns, lt_cpu, k_ns, cpu4k, cpu2m;
	struct pinmm_config cfg;
	struct task_struct *t;
	struct mm_struct *mm;
	unsigned long moved4k, moved2m;
	double ns4k, ns2m, cp4k, cp2m, ws4k, ws2m;
	static char buf[PAGE_SIZE];

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 512UL << 20;
	cfg.movable_bytes = 128UL << 20;
	cfg.cma_bytes = 64UL << 20;
	cfg.pmem_bytes = 0;
	if (pinmm_boot(&cfg))
		die("pinmm_boot");
	populate_arena();
	t = pinmm_task_create("bench");
	if (!t)
		die("pinmm_task_create");
	pinmm_task_attach(t);
	mm = t->mm;

	/* 4 KiB folios */
	if (vm_mmap(NULL, BASE, SMALL_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0) != BASE)
		die("vm_mmap");
	memset(buf, 0x5a, sizeof(buf));
	for (unsigned long i = 0; i < SMALL_PAGES; i++)
		if (copy_to_user((void __user *)(BASE + i * PAGE_SIZE), buf, PAGE_SIZE))
			die("fill");
	ns4k = measure(mm, SMALL_PAGES, PAGE_SIZE, SMALL_ROUNDS, &moved4k, &cpu4k);
	cp4k = memcpy_ns(PAGE_SIZE, moved4k);
	ws4k = memcpy_ws_ns(PAGE_SIZE, SMALL_PAGES * PAGE_SIZE, SMALL_ROUNDS);
	vm_munmap(BASE, SMALL_PAGES * PAGE_SIZE);
	if (only4k) {
		printf("4 KiB folio: %lu migrated, CPU %.0f ns each\n", moved4k, cpu4k);
		pinmm_task_detach();
		pinmm_task_exit(t);
		return pinmm_shutdown() ? 1 : 0;
	}

	/* 2 MiB THPs */
	if (vm_mmap(NULL, BASE, THPS * HPAGE_PMD_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0) != BASE ||
	    do_madvise(mm, BASE, THPS * HPAGE_PMD_SIZE, MADV_HUGEPAGE))
		die("vm_mmap THP");
	for (unsigned long i = 0; i < THPS * HPAGE_PMD_NR; i++)
		if (copy_to_user((void __user *)(BASE + i * PAGE_SIZE), buf, PAGE_SIZE))
			die("fill THP");
	ns2m = measure(mm, THPS, HPAGE_PMD_SIZE, THP_ROUNDS, &moved2m, &cpu2m);
	cp2m = memcpy_ns(HPAGE_PMD_SIZE, moved2m ? moved2m : 1);
	ws2m = memcpy_ws_ns(HPAGE_PMD_SIZE, THPS * HPAGE_PMD_SIZE, THP_ROUNDS);
	vm_munmap(BASE, THPS * HPAGE_PMD_SIZE);

	pinmm_task_detach();
	pinmm_task_exit(t);
	if (pinmm_shutdown())
		die("pinmm_shutdown");

	printf("4 KiB folio: %lu migrated, %.0f ns each (CPU %.0f); memcpy 4 KiB %.0f ns CPU "
	       "(x%.1f); memcpy 4 KiB over 16 MiB as migration copies %.0f ns CPU (x%.1f)\n",
	       moved4k, ns4k, cpu4k, cp4k, cp4k > 0 ? cpu4k / cp4k : 0, ws4k,
	       ws4k > 0 ? cpu4k / ws4k : 0);
	printf("2 MiB THP:   %lu migrated, %.0f ns each (CPU %.0f); memcpy 2 MiB %.0f ns CPU "
	       "(x%.1f); memcpy 2 MiB over 16 MiB as migration copies %.0f ns CPU (x%.1f)\n",
	       moved2m, ns2m, cpu2m, cp2m, cp2m > 0 ? cpu2m / cp2m : 0, ws2m,
	       ws2m > 0 ? cpu2m / ws2m : 0);
	lt_ns = longterm_pin_movable(&lt_moved, &lt_cpu);
	k_ns = kernel_register_ns();
	printf("long-term pin of 1 GiB in ZONE_MOVABLE (migrate + pin): %.1f ns/page, CPU %.1f "
	       "(%lu pages migrated); kernel io_uring register of 1 GiB resident: ", lt_ns,
	       lt_cpu, lt_moved);
	if (k_ns > 0)
		printf("CPU %.1f ns/page (no migration there; ratio %.2f)\n", k_ns, k_ns / lt_cpu);
	else
		printf("unavailable\n");
	bench_report_ref("migrate-4k", "ns/folio", cpu4k, "memcpy", cp4k);
	bench_report_ref("migrate-2m-thp", "ns/folio", cpu2m, "memcpy", cp2m);
	bench_report("longterm-pin-1g-movable", "ns/page", lt_cpu, k_ns > 0 ? k_ns : BENCH_KERNEL_NA);
	printf("migrate CPU ns: 4k %.0f (memcpy %.0f, x%.1f) 2m %.0f (memcpy %.0f, x%.1f); "
	       "longterm 1G movable %.1f ns/page (kernel %.1f)\n", cpu4k, cp4k,
	       cp4k > 0 ? cpu4k / cp4k : 0, cpu2m, cp2m, cp2m > 0 ? cpu2m / cp2m : 0, lt_cpu, k_ns);
	return 0;
}
