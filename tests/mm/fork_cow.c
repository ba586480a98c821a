// SPDX-License-Identifier: MIT
/*
 * fork and memory contents (Linux dup_mmap + copy_page_range + COW faults):
 * private memory is copied on write in either direction; shared anonymous
 * memory stays shared; VM_WIPEONFORK memory reads as zeroes in the child;
 * VM_DONTCOPY memory is not mapped in the child at all. Every frame comes
 * back when both processes exit.
 */
#include "vma_helpers.h"

#include <pinmm/memory.h>
#include <pinmm/uaccess.h>

#include <string.h>

#define BASE	0x700000000UL
#define RW	(PROT_READ | PROT_WRITE)
#define NPAGES	8

static unsigned char buf[NPAGES * PAGE_SIZE], want[NPAGES * PAGE_SIZE];

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7 + (i >> 12));
}

/* Write @seed's pattern to @addr as task @t. */
static bool put(struct task_struct *t, unsigned long addr, size_t n, unsigned char seed)
{
	unsigned long left;

	pinmm_task_attach(t);
	fill(buf, n, seed);
	left = copy_to_user((void __user *)addr, buf, n);
	return left == 0;
}

/*
 * Do the @n bytes at @addr, as task @t sees them, hold bytes @off.. of
 * @seed's pattern (seed -1: zeroes)?
 */
static bool holds_at(struct task_struct *t, unsigned long addr, size_t n, int seed, size_t off)
{
	pinmm_task_attach(t);
	memset(buf, 0xaa, n);
	if (copy_from_user(buf, (const void __user *)addr, n))
		return false;
	if (seed < 0)
		memset(want, 0, off + n);
	else
		fill(want, off + n, (unsigned char)seed);
	return memcmp(buf, want + off, n) == 0;
}

static bool holds(struct task_struct *t, unsigned long addr, size_t n, int seed)
{
	return holds_at(t, addr, n, seed, 0);
}

static void contents(void)
{
	struct task_struct *p, *c = NULL;
	const size_t len = NPAGES * PAGE_SIZE;
	const unsigned long priv = BASE, shared = BASE + PMD_SIZE, wipe = BASE + 2 * PMD_SIZE,
			    nofork = BASE + 3 * PMD_SIZE;

	vt_boot();
	p = vt_process("parent");
	vt_mmap(priv, len, RW, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(shared, len, RW, MAP_SHARED | MAP_FIXED);
	vt_mmap(wipe, len, RW, MAP_PRIVATE | MAP_FIXED);
	vt_mmap(nofork, len, RW, MAP_PRIVATE | MAP_FIXED);
	do_madvise(p->mm, wipe, len, MADV_WIPEONFORK);
	do_madvise(p->mm, nofork, len, MADV_DONTFORK);
	ok(put(p, priv, len, 1) && put(p, shared, len, 2) && put(p, wipe, len, 3) &&
	   put(p, nofork, len, 4), "fork: the parent writes four mappings");

	is_int(pinmm_fork(p, "child", &c), 0, "fork: succeeds");
	if (!c)
		bail_out("fork failed");
	ok(holds(c, priv, len, 1), "fork: the child reads the parent's private data");
	ok(holds(c, shared, len, 2), "fork: the child reads the parent's shared data");
	ok(holds(c, wipe, len, -1), "fork: MADV_WIPEONFORK memory reads as zeroes in the child");
	ok(holds(p, wipe, len, 3), "fork: ... and keeps its data in the parent");
	pinmm_task_attach(c);
	is_uint(copy_from_user(buf, (const void __user *)nofork, PAGE_SIZE), PAGE_SIZE,
		"fork: MADV_DONTFORK memory is not mapped in the child (access faults)");
	ok(holds(p, nofork, len, 4), "fork: ... and stays in the parent");

	ok(put(c, priv, PAGE_SIZE, 9), "fork: the child writes a private page (COW)");
	ok(holds(p, priv, len, 1), "fork: the parent does not see the child's private write");
	ok(put(p, priv + PAGE_SIZE, PAGE_SIZE, 11), "fork: the parent writes another private page");
	ok(holds_at(c, priv + PAGE_SIZE, PAGE_SIZE, 1, PAGE_SIZE),
	   "fork: the child does not see the parent's private write (COW both ways)");
	ok(holds(c, priv, PAGE_SIZE, 9), "fork: the child keeps its own write");

	ok(put(c, shared, PAGE_SIZE, 21), "fork: the child writes shared memory");
	ok(holds(p, shared, PAGE_SIZE, 21),
	   "fork: the parent sees the child's write to MAP_SHARED memory (never COW)");

	pinmm_task_exit(c);
	ok(holds(p, priv, PAGE_SIZE, 1) && holds(p, priv + PAGE_SIZE, PAGE_SIZE, 11) &&
	   holds_at(p, priv + 2 * PAGE_SIZE, len - 2 * PAGE_SIZE, 1, 2 * PAGE_SIZE),
	   "fork: after the child exits the parent's private memory is its own writes only");
	pinmm_task_exit(p);
	test_shutdown_ok("fork contents");
}

int main(void)
{
	plan_no_plan();
	contents();
	return done_testing();
}
