// SPDX-License-Identifier: MIT
/*
 * The VMA tree against a model: random MAP_FIXED mmaps, munmaps and
 * mprotects over a window, checked after every step against an array that
 * holds the protection of each page. Linux's rules checked: VMAs never
 * overlap; munmap and mprotect split at the range ends; adjacent anonymous
 * VMAs with the same flags and contiguous offsets are merged (vma_merge), so
 * the VMAs are exactly the maximal runs of equal protection; mprotect stops
 * with -ENOMEM at the first hole, having changed what came before it;
 * find_vma() returns the first VMA ending above the address; map_count
 * counts the VMAs.
 */
#include "vma_helpers.h"

#include <string.h>

#define WIN_BASE	0x100000000UL
#define WIN_PAGES	512
#define NR_OPS		3000

/* Per page: -1 unmapped, else the PROT_* bits. */
static int model[WIN_PAGES];

static unsigned long page_addr(int i)
{
	return WIN_BASE + (unsigned long)i * PAGE_SIZE;
}

static int random_prot(uint64_t *rng)
{
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_EXEC };

	return prots[test_rand(rng) % ARRAY_SIZE(prots)];
}

static vm_flags_t prot_to_vm(int prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0);
}

/* Compare the mm with the model; a description of the first difference, or NULL. */
static const char *check(struct mm_struct *mm, char *why, size_t n)
{
	struct vm_area_struct *vma;
	int runs = 0, i = 0;

	mmap_read_lock(mm);
	if (!vma_tree_consistent(mm)) {
		snprintf(why, n, "tree, list and map_count disagree");
		goto bad;
	}
	while (i < WIN_PAGES) {
		int j = i;

		if (model[i] < 0) {
			vma = vma_lookup(mm, page_addr(i));
			if (vma) {
				snprintf(why, n, "page %d should be unmapped", i);
				goto bad;
			}
			i++;
			continue;
		}
		while (j < WIN_PAGES && model[j] == model[i])
			j++;
		runs++;
		vma = vma_lookup(mm, page_addr(i));
		if (!vma || vma->vm_start != page_addr(i) || vma->vm_end != page_addr(j)) {
			snprintf(why, n, "run [%d,%d) prot %d is not exactly one VMA", i, j, model[i]);
			goto bad;
		}
		if ((vma->vm_flags & VM_ACCESS_FLAGS) != prot_to_vm(model[i])) {
			snprintf(why, n, "run [%d,%d) has flags %#lx", i, j, vma->vm_flags);
			goto bad;
		}
		i = j;
	}
	if (mm->map_count != runs) {
		snprintf(why, n, "map_count %d, model has %d runs", mm->map_count, runs);
		goto bad;
	}
	/* find_vma(): the first VMA whose end is above the address. */
	for (i = 0; i < WIN_PAGES; i += 7) {
		int k = i;
		unsigned long addr = page_addr(i) + 123;

		while (k < WIN_PAGES && model[k] < 0)
			k++;
		vma = find_vma(mm, addr);
		if (k == WIN_PAGES ? vma != NULL :
		    (!vma || vma->vm_start > page_addr(k) || vma->vm_end <= page_addr(k) ||
		     (k == i && vma->vm_start > addr))) {
			snprintf(why, n, "find_vma(%#lx) is wrong", addr);
			goto bad;
		}
		vma = find_vma_intersection(mm, addr, addr + 3 * PAGE_SIZE);
		if ((k < WIN_PAGES && k <= i + 3) != (vma != NULL)) {
			snprintf(why, n, "find_vma_intersection(%#lx, +3 pages) is wrong", addr);
			goto bad;
		}
	}
	mmap_read_unlock(mm);
	return NULL;
bad:
	mmap_read_unlock(mm);
	return why;
}

static void model_run(uint64_t seed)
{
	struct task_struct *t;
	char why[160];
	const char *bad = NULL;
	int op, nr_mmap = 0, nr_munmap = 0, nr_mprotect = 0, nr_enomem = 0;
	uint64_t rng = seed;
	int failed_ops = 0;

	vt_boot();
	t = vt_process("model");
	memset(model, -1, sizeof(model));

	for (op = 0; op < NR_OPS && !bad; op++) {
		int a = test_rand(&rng) % WIN_PAGES;
		int len = 1 + test_rand(&rng) % 48;
		int b = min(a + len, WIN_PAGES);
		int prot = random_prot(&rng), i, hole;
		unsigned long ret;

		switch (test_rand(&rng) % 5) {
		case 0:
		case 1:
			ret = vt_mmap(page_addr(a), (b - a) * PAGE_SIZE, prot,
				      MAP_PRIVATE | MAP_FIXED);
			if (ret != page_addr(a))
				failed_ops++;
			for (i = a; i < b; i++)
				model[i] = prot;
			nr_mmap++;
			break;
		case 2:
			if (vm_munmap(page_addr(a), (b - a) * PAGE_SIZE))
				failed_ops++;
			for (i = a; i < b; i++)
				model[i] = -1;
			nr_munmap++;
			break;
		default:
			hole = -1;
			for (i = a; i < b; i++)
				if (model[i] < 0) {
					hole = i;
					break;
				}
			ret = do_mprotect(page_addr(a), (b - a) * PAGE_SIZE, prot);
			if (hole < 0) {
				if (ret)
					failed_ops++;
				for (i = a; i < b; i++)
					model[i] = prot;
			} else {
				/* Changed up to the hole, -ENOMEM (nothing if the hole is first). */
				if ((int)ret != -ENOMEM)
					failed_ops++;
				for (i = a; i < hole; i++)
					model[i] = prot;
				nr_enomem++;
			}
			nr_mprotect++;
			break;
		}
		bad = check(t->mm, why, sizeof(why));
		if (bad)
			diag("after op %d: %s", op, bad);
	}
	ok(!bad, "vma model (seed %#llx): after %d mmaps, %d munmaps, %d mprotects the VMAs are "
	   "exactly the maximal runs of equal protection (split + vma_merge), find_vma and "
	   "find_vma_intersection agree, map_count is right", (unsigned long long)seed,
	   nr_mmap, nr_munmap, nr_mprotect);
	is_int(failed_ops, 0, "vma model: every call returned what Linux returns (%d mprotects "
	       "met a hole: -ENOMEM after changing the part before it)", nr_enomem);

	vm_munmap(WIN_BASE, WIN_PAGES * PAGE_SIZE);
	is_int(vt_nr_vmas(t->mm), 0, "vma model: munmap of the whole window leaves no VMA");
	pinmm_task_exit(t);
	test_shutdown_ok("vma model");
}

/* Linux's mmap_region() merges a new anonymous mapping into its neighbours. */
static void merge_on_mmap(void)
{
	struct task_struct *t;
	unsigned long a, b, c;
	struct vm_area_struct *vma;

	vt_boot();
	t = vt_process("merge");
	a = vt_mmap(WIN_BASE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED);
	c = vt_mmap(WIN_BASE + 8 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED);
	is_int(vt_nr_vmas(t->mm), 2, "mmap: two separate mappings are two VMAs");
	b = vt_mmap(WIN_BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED);
	ok(a == WIN_BASE && b == WIN_BASE + 4 * PAGE_SIZE && c == WIN_BASE + 8 * PAGE_SIZE,
	   "mmap: MAP_FIXED maps where it is told");
	vma = vt_vma(WIN_BASE);
	is_int(vt_nr_vmas(t->mm), 1, "mmap: filling the gap between two compatible anonymous "
	       "VMAs merges all three into one (vma_merge)");
	ok(vma && vma->vm_start == WIN_BASE && vma->vm_end == WIN_BASE + 12 * PAGE_SIZE &&
	   vma->vm_pgoff == WIN_BASE >> PAGE_SHIFT,
	   "mmap: the merged VMA spans the whole range with the first one's offset");
	vt_mmap(WIN_BASE + 12 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED);
	is_int(vt_nr_vmas(t->mm), 2, "mmap: a neighbour with other protection is not merged");
	vt_mmap(WIN_BASE + 13 * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_FIXED);
	vt_mmap(WIN_BASE + 14 * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_FIXED);
	is_int(vt_nr_vmas(t->mm), 4, "mmap: two shared anonymous mappings are separate objects "
	       "and never merge (each is its own shmem object in Linux)");
	pinmm_task_exit(t);
	test_shutdown_ok("merge on mmap");
}

int main(void)
{
	plan_no_plan();
	merge_on_mmap();
	model_run(0x1234);
	model_run(0xfeedface);
	return done_testing();
}
