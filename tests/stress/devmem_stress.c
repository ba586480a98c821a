// SPDX-License-Identifier: MIT
/*
 * Device memory under concurrency. PINMM_TEST_CONCURRENT: one process whose
 * anon memory a device-private and a device-coherent device (drivers/
 * test_hmm.c) keep migrating into their memory and back, while other CPUs
 * (kthread_use_mm() workers on the same mm) touch it:
 *   - the CPU writes and verifies its half of the pages: a write to a
 *     device-private page faults it back (migrate_to_ram) racing the
 *     devices' migrations; nothing written may be lost;
 *   - a pinner pins pages of the other, never-written half, short term and
 *     FOLL_LONGTERM, and checks what it pinned (a pin never sees a device
 *     page's stale copy; a long-term pin never stays in device memory);
 *     now and then it forks a child that checks the half it inherited;
 *   - the devices read that half with hmm_range_fault() and check it, and
 *     the coherent one takes pieces of it exclusively (make_device_exclusive)
 *     and checks what it holds.
 * For $STRESS_SECONDS (default 2): every check holds, and at the end every
 * device page is back with its driver and every frame is free (the rules of
 * mm/migrate_device.c, do_swap_page()'s device-private branch, hmm.c).
 */
#include "../base/helpers.h"
#include "../lib/machine.h"
#include "../lib/process.h"

#include <pinmm/drivers.h>
#include <pinmm/gup.h>
#include <pinmm/memremap.h>
#include <pinmm/task.h>
#include <pinmm/uaccess.h>
#include <string.h>
#include <xxhash.h>

#define PINMM_TEST_CONCURRENT
#define BASE	0x710000000UL
#define NPAGES	64		/* [0, HALF) the CPU writes; [HALF, NPAGES) never written */
#define HALF	(NPAGES / 2)

static struct task_struct *proc;
static struct dmirror_device *devs[2];
static uint64_t sum[NPAGES];		/* what each page must hold */
static atomic_int stop;
static atomic_ulong bad, migrations, pins, reads, writes, forks, exclusive;

static unsigned long addr_of(unsigned long i)
{
	return BASE + i * PAGE_SIZE;
}

static uint64_t page_sum(const void *p)
{
	return XXH64(p, PAGE_SIZE, 0);
}

static void fill_page(uint64_t *buf, uint64_t *rng)
{
	for (unsigned long k = 0; k < PAGE_SIZE / 8; k++)
		buf[k] = test_rand(rng);
}

/* The CPU: rewrite and verify pages of the first half. */
static void *cpu_fn(void *arg)
{
	static uint64_t buf[PAGE_SIZE / 8];
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	(void)arg;
	kthread_use_mm(proc->mm);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned long i = test_rand(&rng) % HALF;

		if (test_rand(&rng) & 1) {
			fill_page(buf, &rng);
			if (copy_to_user((void __user *)addr_of(i), buf, PAGE_SIZE))
				atomic_fetch_add(&bad, 1);
			sum[i] = page_sum(buf);
			atomic_fetch_add(&writes, 1);
		} else if (copy_from_user(buf, (const void __user *)addr_of(i), PAGE_SIZE) ||
			   page_sum(buf) != sum[i]) {
			atomic_fetch_add(&bad, 1);
		}
	}
	kthread_unuse_mm(proc->mm);
	return NULL;
}

/* A device: migrate ranges in and out, read the never-written half. */
static void *dev_fn(void *arg)
{
	struct dmirror_device *mdev = arg;
	static __thread uint8_t buf[(NPAGES - HALF) * PAGE_SIZE];
	uint64_t rng = (uintptr_t)arg;

	kthread_use_mm(proc->mm);	/* a CPU of its own, for the faults it causes */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned long first = test_rand(&rng) % NPAGES, n = 1 + test_rand(&rng) % 8;
		unsigned long moved = 0;

		n = min(n, NPAGES - first);
		if (test_rand(&rng) % 3)
			dmirror_migrate_to_device(mdev, proc->mm, addr_of(first), n, &moved);
		else
			dmirror_migrate_to_system(mdev, proc->mm, addr_of(first), n, &moved);
		atomic_fetch_add(&migrations, moved);
		if (!(test_rand(&rng) % 4)) {
			if (dmirror_read(mdev, proc->mm, addr_of(HALF), NPAGES - HALF, buf)) {
				atomic_fetch_add(&bad, 1);
				continue;
			}
			for (unsigned long i = HALF; i < NPAGES; i++)
				if (page_sum(buf + (i - HALF) * PAGE_SIZE) != sum[i])
					atomic_fetch_add(&bad, 1);
			atomic_fetch_add(&reads, 1);
		}
		if (mdev == devs[1] && !(test_rand(&rng) % 4)) {
			/* exclusive access to four never-written pages, racing everyone */
			unsigned long f = HALF + test_rand(&rng) % (NPAGES - HALF - 3), got;

			if (!dmirror_exclusive(mdev, proc->mm, addr_of(f), 4, &got) &&
			    !dmirror_exclusive_read(mdev, buf)) {
				for (unsigned long i = 0; i < 4; i++)
					if (page_sum(buf + i * PAGE_SIZE) != sum[f + i])
						atomic_fetch_add(&bad, 1);
				atomic_fetch_add(&exclusive, 1);
			}
			dmirror_exclusive_release(mdev);
		}
	}
	kthread_unuse_mm(proc->mm);
	return NULL;
}

static bool in_device_window(unsigned long pfn)
{
	return pfn >= pinmm_devmem_pfn && pfn < pinmm_devmem_pfn + pinmm_devmem_pages;
}

/* Pin pages of the never-written half; now and then fork a child that checks them. */
static void *pin_fn(void *arg)
{
	uint64_t rng = 0x243f6a8885a308d3ull;
	static uint8_t buf[PAGE_SIZE];

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned long i = HALF + test_rand(&rng) % (NPAGES - HALF);
		bool longterm = test_rand(&rng) & 1;
		struct page *page;
		struct task_struct *child;

		kthread_use_mm(proc->mm);
		if (pin_user_pages_fast(addr_of(i), 1, longterm ? FOLL_LONGTERM : 0, &page) == 1) {
			/* the device's view of what was pinned: the frame itself */
			if (is_device_private_page(page) ||
			    (longterm && in_device_window(page_to_pfn(page))) ||
			    page_sum(page_address(page)) != sum[i])
				atomic_fetch_add(&bad, 1);
			unpin_user_page(page);
			atomic_fetch_add(&pins, 1);
		}
		kthread_unuse_mm(proc->mm);
		if (test_rand(&rng) % 64)
			continue;
		if (pinmm_fork(proc, "devmem-child", &child))
			continue;
		pinmm_task_attach(child);
		for (unsigned long k = HALF; k < NPAGES; k++)
			if (copy_from_user(buf, (const void __user *)addr_of(k), PAGE_SIZE) ||
			    page_sum(buf) != sum[k])
				atomic_fetch_add(&bad, 1);
		pinmm_task_detach();
		pinmm_task_exit(child);
		atomic_fetch_add(&forks, 1);
	}
	return NULL;
}

int main(void)
{
	struct pinmm_config cfg = { .mem_bytes = 64UL << 20, .devmem_bytes = 4UL << 20 };
	double seconds = stress_seconds(2), t0;
	static uint64_t buf[PAGE_SIZE / 8];
	uint64_t rng = 1;
	pthread_t cpu, dev[2], pin;
	unsigned long moved;

	plan_no_plan();
	watchdog((unsigned int)seconds + 600);
	if (pinmm_boot(&cfg))
		bail_out("pinmm_boot failed");
	if (dmirror_device_create(MEMORY_DEVICE_PRIVATE, NPAGES / 2, &devs[0]) ||
	    dmirror_device_create(MEMORY_DEVICE_COHERENT, NPAGES / 2, &devs[1]))
		bail_out("dmirror_device_create failed");
	proc = test_process("devmem");
	test_mmap_fixed(BASE, NPAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	for (unsigned long i = 0; i < NPAGES; i++) {
		fill_page(buf, &rng);
		if (copy_to_user((void __user *)addr_of(i), buf, PAGE_SIZE))
			bail_out("initial fill failed");
		sum[i] = page_sum(buf);
	}
	pinmm_task_detach();

	t0 = now_sec();
	cpu = start_thread(cpu_fn, NULL);
	dev[0] = start_thread(dev_fn, devs[0]);
	dev[1] = start_thread(dev_fn, devs[1]);
	pin = start_thread(pin_fn, NULL);
	while (now_sec() - t0 < seconds)
		usleep(10000);
	atomic_store(&stop, 1);
	join_thread(cpu);
	join_thread(dev[0]);
	join_thread(dev[1]);
	join_thread(pin);

	diag("%.2f s: %lu pages migrated, %lu CPU writes, %lu pins, %lu device reads, "
	     "%lu exclusive reads, %lu forks", now_sec() - t0, atomic_load(&migrations),
	     atomic_load(&writes), atomic_load(&pins), atomic_load(&reads),
	     atomic_load(&exclusive), atomic_load(&forks));
	ok(atomic_load(&migrations) > 0 && atomic_load(&pins) > 0,
	   "device memory stress: pages migrated and pinned meanwhile");
	is_int(atomic_load(&bad), 0, "device memory stress: every CPU write kept, every pin and "
	       "device read saw the data, no pin left in device-private memory");
	pinmm_task_attach(proc);
	dmirror_migrate_to_system(devs[0], proc->mm, BASE, NPAGES, &moved);
	dmirror_migrate_to_system(devs[1], proc->mm, BASE, NPAGES, &moved);
	memset(buf, 0, sizeof(buf));
	{
		unsigned long wrong = 0;

		for (unsigned long i = 0; i < NPAGES; i++)
			if (copy_from_user(buf, (const void __user *)addr_of(i), PAGE_SIZE) ||
			    page_sum(buf) != sum[i])
				wrong++;
		is_int(wrong, 0, "device memory stress: back in RAM, every page holds its data");
	}
	is_int(dmirror_device_pages_in_use(devs[0]) + dmirror_device_pages_in_use(devs[1]), 0,
	       "device memory stress: every device page back with its driver");
	pinmm_task_exit(proc);
	is_int(dmirror_device_destroy(devs[0]) | dmirror_device_destroy(devs[1]), 0,
	       "device memory stress: both devices unregister");
	test_shutdown_ok("device memory stress");
	return done_testing();
}
