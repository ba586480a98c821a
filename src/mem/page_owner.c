// SPDX-License-Identifier: MIT
/*
 * page_owner: who allocated each block, so a leak at shutdown names the call
 * site (Linux keeps this in page_ext beside the memmap; so do we, as a side
 * array indexed by pfn, because struct page has no room for it).
 * Debug builds only.
 */
#include "internal.h"

#ifdef CONFIG_DEBUG_VM
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/syscall.h>

struct page_owner {
	const struct alloc_site *site;
	unsigned long seq;		/* allocation order, to tell old from new */
	int tid;
	unsigned int order;
};

static struct page_owner *owners;
static size_t owners_bytes;
static atomic_ulong alloc_seq;

int page_owner_init(unsigned long nr_pfns)
{
	owners_bytes = nr_pfns * sizeof(*owners);
	owners = mmap(NULL, owners_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (owners == MAP_FAILED) {
		owners = NULL;
		return -1;
	}
	atomic_store(&alloc_seq, 0);
	return 0;
}

void page_owner_exit(void)
{
	if (owners)
		munmap(owners, owners_bytes);
	owners = NULL;
}

void set_page_owner(struct page *page, unsigned int order, const struct alloc_site *site)
{
	struct page_owner *o = &owners[page_to_pfn(page)];

	o->site = site;
	o->order = order;
	o->tid = (int)syscall(SYS_gettid);
	o->seq = atomic_fetch_add_explicit(&alloc_seq, 1, memory_order_relaxed) + 1;
}

void reset_page_owner(struct page *page, unsigned int order)
{
	(void)order;
	owners[page_to_pfn(page)].site = NULL;
}

void print_page_owner(FILE *out, const struct page *page)
{
	const struct page_owner *o = &owners[page_to_pfn(page)];

	if (!o->site) {
		fprintf(out, "    page_owner: not the first page of an allocation\n");
		return;
	}
	fprintf(out, "    allocated (order %u, #%lu, tid %d) at %s:%d in %s()\n", o->order,
		o->seq, o->tid, o->site->file, o->site->line, o->site->func);
}
#endif /* CONFIG_DEBUG_VM */
