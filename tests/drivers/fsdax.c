// SPDX-License-Identifier: MIT
/*
 * Filesystem DAX on pmem (ZONE_DEVICE) and pinning: short-term pins of DAX
 * pages work (Direct I/O to a DAX file); FOLL_LONGTERM is refused with
 * -EOPNOTSUPP, because it would pin filesystem blocks (check_vma_flags(),
 * vma_is_fsdax(); folio_is_longterm_pinnable() is false for fsdax folios);
 * and a pmem page goes back to its device only when its last reference —
 * file, mapping or pin — is gone.
 */
#include "../lib/machine.h"
#include "../lib/process.h"

#include <errno.h>
#include <pinmm/drivers.h>
#include <pinmm/uaccess.h>
#include <pinmm/vmstat.h>

static void boot_with_pmem(void)
{
	struct pinmm_config cfg;

	pinmm_config_default(&cfg);
	cfg.mem_bytes = 64UL << 20;
	cfg.movable_bytes = 16UL << 20;
	cfg.cma_bytes = 8UL << 20;
	cfg.pmem_bytes = 16UL << 20;
	if (pinmm_boot(&cfg))
		bail_out("boot with pmem failed");
}

int main(void)
{
	const size_t len = 8 * PAGE_SIZE;
	struct page *pages[8];
	struct fsdax_file *f;
	struct task_struct *t;
	unsigned long addr, warns;
	char c = 0;
	long n;

	boot_with_pmem();
	t = test_process("dax");
	is_int(fsdax_create(len, &f), 0, "fsdax: a DAX file on pmem");
	is_uint(fsdax_pages_in_use(), 8, "fsdax: its blocks are pmem pages");
	addr = fsdax_mmap(f, len, PROT_READ | PROT_WRITE, MAP_SHARED);
	ok(!IS_ERR_VALUE(addr), "fsdax: mmap MAP_SHARED");
	put_user((char)'D', (char __user *)(addr + PAGE_SIZE));
	is_int(*(char *)page_address(f->pages[1]), 'D', "fsdax: a store through the mapping lands "
	       "in the pmem page itself (no page cache)");
	ok(page_zonenum(f->pages[1]) == ZONE_DEVICE &&
	   !folio_is_longterm_pinnable(page_folio(f->pages[1])),
	   "fsdax: the page is a ZONE_DEVICE folio, not long-term pinnable");

	n = pin_user_pages_fast(addr, 8, FOLL_WRITE, pages);
	is_int(n, 8, "fsdax: a short-term pin (DIO to a DAX file) works");
	ok(n == 8 && pages[1] == f->pages[1] && folio_maybe_dma_pinned(page_folio(pages[1])),
	   "fsdax: the pin holds the pmem page itself");
	if (n > 0)
		unpin_user_pages(pages, (unsigned long)n);

	warns = pinmm_warn_count();
	mmap_read_lock(current->mm);
	n = pin_user_pages(addr, 8, FOLL_WRITE | FOLL_LONGTERM, pages);
	mmap_read_unlock(current->mm);
	is_int(n, -EOPNOTSUPP, "fsdax: pin_user_pages(FOLL_LONGTERM) is refused with -EOPNOTSUPP "
	       "(check_vma_flags: vma_is_fsdax)");
	is_int(pin_user_pages_fast(addr, 8, FOLL_LONGTERM, pages), -EOPNOTSUPP,
	       "fsdax: pin_user_pages_fast(FOLL_LONGTERM) too: GUP-fast refuses the device "
	       "folio and the slow path refuses the VMA");
	is_uint(pinmm_warn_count(), warns, "fsdax: a refusal, not a WARN");
	is_int(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED),
	       global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED), "fsdax: nothing left pinned");

	n = pin_user_pages_fast(addr, 1, FOLL_WRITE, pages);
	vm_munmap(addr, len);
	fsdax_destroy(f);
	is_uint(fsdax_pages_in_use(), 1, "fsdax: after munmap and destroy, the pinned page alone "
		"stays allocated (its pin is the last reference)");
	if (n == 1)
		unpin_user_page(pages[0]);
	is_uint(fsdax_pages_in_use(), 0, "fsdax: the unpin returns it to the pmem device");

	is_int(fsdax_create(len, &f), 0, "fsdax: a second file");
	addr = fsdax_mmap(f, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	put_user((char)'p', (char __user *)addr);
	get_user(c, (char __user *)addr);
	ok(c == 'p' && *(char *)page_address(f->pages[0]) == 0, "fsdax: a MAP_PRIVATE write COWs "
	   "into anonymous memory and leaves the DAX block alone");
	mmap_read_lock(current->mm);
	n = pin_user_pages(addr, 1, FOLL_WRITE | FOLL_LONGTERM, pages);
	mmap_read_unlock(current->mm);
	is_int(n, -EOPNOTSUPP, "fsdax: a private DAX mapping is still an fsdax VMA for "
	       "FOLL_LONGTERM (Linux checks the VMA, not the page)");
	vm_munmap(addr, len);
	fsdax_destroy(f);
	is_uint(fsdax_pages_in_use(), 0, "fsdax: every pmem page back");

	pinmm_task_detach();
	pinmm_task_exit(t);
	test_shutdown_ok("fsdax");
	return done_testing();
}
