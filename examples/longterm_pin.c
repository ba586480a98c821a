// SPDX-License-Identifier: MIT
/*
 * A call site of your own against an installed libpinmm (docs/your-call-site.md):
 * a long-term, writable pin of a buffer, as an RDMA driver takes one. The
 * buffer's pages start in ZONE_MOVABLE (user pages go there first), and the
 * example shows the two rules such a driver relies on: FOLL_LONGTERM migrates
 * pages out of ZONE_MOVABLE and CMA before pinning them, and a pinned folio
 * answers folio_maybe_dma_pinned(). Exit status 0 when both held and shutdown found
 * every frame back.
 *
 *   cc $(pkg-config --cflags pinmm) longterm_pin.c $(pkg-config --libs pinmm)
 */
#include <pinmm/gup.h>
#include <pinmm/machine.h>
#include <pinmm/mm.h>
#include <pinmm/mman.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>
#include <stdio.h>

#define NPAGES 64

int main(void)
{
	struct pinmm_config cfg;
	struct task_struct *task;
	struct page *pages[NPAGES];
	unsigned long addr;
	long pinned, in_cma = 0, maybe_pinned = 0, migrated0 = 0, migrated = 0;
	int err;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 64UL << 20;
	cfg.movable_bytes = 16UL << 20;
	cfg.cma_bytes = 16UL << 20;
	cfg.pmem_bytes = 0;
	err = pinmm_boot(&cfg);
	if (err) {
		fprintf(stderr, "boot: %d\n", err);
		return 1;
	}
	task = pinmm_task_create("example");
	pinmm_task_attach(task);

	addr = vm_mmap(NULL, 0, NPAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	do_madvise(current->mm, addr, NPAGES * PAGE_SIZE, MADV_POPULATE_WRITE);

	pinmm_vmstat_get("pgmigrate_success", &migrated0);
	pinned = pin_user_pages_fast(addr, NPAGES, FOLL_WRITE | FOLL_LONGTERM, pages);
	for (long i = 0; i < pinned; i++) {
		struct folio *folio = page_folio(pages[i]);

		in_cma += !folio_is_longterm_pinnable(folio);
		maybe_pinned += folio_maybe_dma_pinned(folio);
	}
	pinmm_vmstat_get("pgmigrate_success", &migrated);
	printf("pinned %ld of %d pages (%ld migrated first): %ld maybe-DMA-pinned, "
	       "%ld left in CMA/ZONE_MOVABLE\n", pinned, NPAGES, migrated - migrated0,
	       maybe_pinned, in_cma);
	if (pinned > 0)
		unpin_user_pages_dirty_lock(pages, (unsigned long)pinned, true);

	vm_munmap(addr, NPAGES * PAGE_SIZE);
	pinmm_task_detach();
	pinmm_task_exit(task);
	err = pinmm_shutdown();
	printf("shutdown: %s\n", err ? "leaks" : "every frame back");
	return pinned == NPAGES && maybe_pinned == NPAGES && !in_cma && migrated > migrated0 &&
	       !err ? 0 : 1;
}
