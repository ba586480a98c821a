// SPDX-License-Identifier: MIT
/*
 * PINMM_TEST_CONCURRENT
 *
 * Writeback racing pins, for STRESS_SECONDS (2 in make check, 60 in make
 * stress). One shared mapping of a disk file; its pages are owned by
 * writers, one writer per page at a time:
 *   - two "devices" pin a page short-term (pin_user_pages_fast(FOLL_WRITE):
 *     the fault runs ->page_mkwrite), write a whole new pattern into the
 *     frame (DMA), and release with unpin_user_pages_dirty_lock(), as a
 *     direct-I/O read into the mapping does;
 *   - one CPU stores new patterns through the mapping (faults, stable pages);
 * while other threads fsync, reclaim (unmapping, releasing block maps),
 * drop caches, and compact ZONE_MOVABLE (migrating page-cache folios).
 * On a second file, one thread truncates and regrows it (and punches holes)
 * while another faults, stores and pins pages of its mapping: truncation
 * versus faults versus pins (no data is expected to survive there; the
 * checks are ASan/TSan's, and the pin balance).
 *
 * Two phases of half the time each:
 *   stable  PINMM_WB_PIN_STABLE: after every fsync each block on disk
 *           matches its checksum — never torn;
 *   linux   PINMM_WB_PIN_LINUX: torn blocks may come and go (that is
 *           Linux's hazard, counted and reported), and are rewritten.
 * At the end of each phase the writers stop and one last fsync runs: every
 * page on disk holds its writer's last pattern (zero lost bytes), every
 * block matches its checksum, nr_foll_pin_acquired == nr_foll_pin_released.
 *
 * Under make soak ($PINMM_FAIL_RATE) the threads' allocations fail at random:
 * a pin or a store whose fault cannot allocate fails before a byte moves
 * (excused only when it met an injected failure: the page keeps its last
 * generation); fsync must still succeed (writeback retries -ENOMEM for data
 * integrity, as Linux's do_writepages() does), and the final checks run with
 * injection off.
 */
#include "../fs/helpers.h"
#include "../lib/soak.h"

#include <pinmm/dma.h>
#include <pinmm/migrate.h>
#include <pthread.h>

#define NPAGES		128
#define NDEVICES	2
#define NWRITERS	(NDEVICES + 1)	/* writer w owns pages p with p % NWRITERS == w */

#define NPAGES2		32

static struct task_struct *proc;
static struct file *file, *file2;
static unsigned long base, base2;
static atomic_bool stop_writers, stop_others;
static atomic_ulong gen[NPAGES];		/* the last generation written to each page */
static atomic_ulong device_writes, cpu_writes, fsyncs, torn_stable, torn_linux, reclaimed,
		    compactions, failures, truncations, trunc_pins, trunc_faults, excused;

static void fail(const char *what, unsigned long v)
{
	if (atomic_fetch_add(&failures, 1) < 8)
		diag("FAIL: %s (%lu)", what, v);
}

static void *device_main(void *arg)
{
	unsigned long w = (unsigned long)arg, rnd = 0x1234 + w;
	unsigned char buf[PAGE_SIZE];

	kthread_use_mm(proc->mm);
	soak_fail_arm();
	while (!atomic_load(&stop_writers)) {
		unsigned long p = (test_rand(&rnd) % (NPAGES / NWRITERS)) * NWRITERS + w;
		unsigned long g = atomic_load(&gen[p]) + 1, inj = soak_fail_mine();
		struct page *page;
		long n;

		if (p >= NPAGES)
			continue;
		n = pin_user_pages_fast(base + p * PAGE_SIZE, 1, FOLL_WRITE, &page);
		if (n != 1) {
			if (n <= 0 && soak_excused(inj))
				atomic_fetch_add(&excused, 1);
			else
				fail("device pin", (unsigned long)-n);
			continue;
		}
		fs_fill(buf, sizeof(buf), g, p * PAGE_SIZE);
		pinmm_dma_copy(page_address(page), buf, sizeof(buf));
		/* what the completion of a direct-I/O read does */
		unpin_user_pages_dirty_lock(&page, 1, true);
		atomic_store(&gen[p], g);
		atomic_fetch_add(&device_writes, 1);
	}
	kthread_unuse_mm(proc->mm);
	return NULL;
}

static void *cpu_main(void *arg)
{
	unsigned long w = NDEVICES, rnd = 0x9876;

	(void)arg;
	kthread_use_mm(proc->mm);
	soak_fail_arm();
	while (!atomic_load(&stop_writers)) {
		unsigned long p = (test_rand(&rnd) % (NPAGES / NWRITERS)) * NWRITERS + w;
		unsigned long g = atomic_load(&gen[p]) + 1, inj = soak_fail_mine();

		if (p >= NPAGES)
			continue;
		if (fs_uwrite(base + p * PAGE_SIZE, PAGE_SIZE, g, p * PAGE_SIZE)) {
			if (soak_excused(inj))
				atomic_fetch_add(&excused, 1);
			else
				fail("cpu store", p);
			continue;
		}
		atomic_store(&gen[p], g);
		atomic_fetch_add(&cpu_writes, 1);
	}
	kthread_unuse_mm(proc->mm);
	return NULL;
}

static unsigned long verify_now(void)
{
	unsigned long checked, bad;
	long first;

	pinmm_disk_drain();
	pinmm_diskfs_verify(file, &checked, &bad, &first);
	return bad;
}

static void *fsync_main(void *arg)
{
	(void)arg;
	soak_fail_arm();
	while (!atomic_load(&stop_others)) {
		unsigned long bad;

		if (vfs_fsync(file, 0))
			fail("fsync", 0);
		atomic_fetch_add(&fsyncs, 1);
		bad = verify_now();
		if (pinmm_get_wb_pin_policy() == PINMM_WB_PIN_STABLE)
			atomic_fetch_add(&torn_stable, bad);
		else
			atomic_fetch_add(&torn_linux, bad);
	}
	return NULL;
}

static void *mm_main(void *arg)
{
	(void)arg;
	soak_fail_arm();
	for (unsigned long i = 0; !atomic_load(&stop_others); i++) {
		atomic_fetch_add(&reclaimed, pinmm_reclaim_page_cache(32, true));
		if (i % 4 == 0)
			atomic_fetch_add(&reclaimed, pinmm_drop_caches());
		if (i % 2 == 0) {
			compact_zone_now(&pinmm_zones[ZONE_MOVABLE]);
			atomic_fetch_add(&compactions, 1);
		}
		usleep(2000);
	}
	return NULL;
}

static void *truncate_main(void *arg)
{
	unsigned long rnd = 0x7777;

	(void)arg;
	soak_fail_arm();
	while (!atomic_load(&stop_others)) {
		unsigned long x = test_rand(&rnd);

		if (x & 1)
			do_ftruncate(file2, (loff_t)((x >> 8) % (NPAGES2 + 1)) * PAGE_SIZE, 1);
		else
			vfs_fallocate(file2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      (loff_t)((x >> 8) % NPAGES2) * PAGE_SIZE, 3 * PAGE_SIZE);
		do_ftruncate(file2, NPAGES2 * PAGE_SIZE, 1);
		atomic_fetch_add(&truncations, 1);
	}
	return NULL;
}

/* Faults, stores and pins on the file being truncated; failures (SIGBUS) are expected. */
static void *pinfault_main(void *arg)
{
	unsigned long rnd = 0x4242;
	unsigned char buf[PAGE_SIZE];

	(void)arg;
	kthread_use_mm(proc->mm);
	soak_fail_arm();
	memset(buf, 0x33, sizeof(buf));
	while (!atomic_load(&stop_others)) {
		unsigned long x = test_rand(&rnd), a = base2 + ((x >> 8) % NPAGES2) * PAGE_SIZE;
		struct page *page;

		if (x & 1) {
			if (!fs_uwrite(a, 64, x, 0))
				atomic_fetch_add(&trunc_faults, 1);
		} else if (pin_user_pages_fast(a, 1, FOLL_WRITE, &page) == 1) {
			/* the frame stays the device's even if truncation takes it away */
			pinmm_dma_copy(page_address(page), buf, sizeof(buf));
			unpin_user_pages_dirty_lock(&page, 1, true);
			atomic_fetch_add(&trunc_pins, 1);
		}
	}
	kthread_unuse_mm(proc->mm);
	return NULL;
}

static void run_phase(enum pinmm_wb_pin_policy policy, double seconds)
{
	const char *name = policy == PINMM_WB_PIN_STABLE ? "stable" : "linux";
	pthread_t dev[NDEVICES], cpu, syncer, mmt, trunc, pinfault;
	unsigned long lost = 0, bad;
	double end;

	pinmm_set_wb_pin_policy(policy);
	atomic_store(&stop_writers, false);
	atomic_store(&stop_others, false);
	for (unsigned long i = 0; i < NDEVICES; i++)
		pthread_create(&dev[i], NULL, device_main, (void *)i);
	pthread_create(&cpu, NULL, cpu_main, NULL);
	pthread_create(&syncer, NULL, fsync_main, NULL);
	pthread_create(&mmt, NULL, mm_main, NULL);
	pthread_create(&trunc, NULL, truncate_main, NULL);
	pthread_create(&pinfault, NULL, pinfault_main, NULL);
	end = now_sec() + seconds;
	while (now_sec() < end && !atomic_load(&failures))
		usleep(10000);
	atomic_store(&stop_writers, true);
	for (int i = 0; i < NDEVICES; i++)
		pthread_join(dev[i], NULL);
	pthread_join(cpu, NULL);
	atomic_store(&stop_others, true);
	pthread_join(syncer, NULL);
	pthread_join(mmt, NULL);
	pthread_join(trunc, NULL);
	pthread_join(pinfault, NULL);

	is_int(vfs_fsync(file, 0), 0, "wb_stress [%s]: the final fsync", name);
	bad = verify_now();
	is_uint(bad, 0, "wb_stress [%s]: at the end every block on disk matches its checksum", name);
	for (unsigned long p = 0; p < NPAGES; p++) {
		unsigned long g = atomic_load(&gen[p]);

		if (g)
			lost += (unsigned long)fs_host_bad("wb", (loff_t)(p * PAGE_SIZE), PAGE_SIZE,
							   g) != 0;
	}
	is_uint(lost, 0, "wb_stress [%s]: every page on disk holds its writer's last write "
		"(zero lost bytes)", name);
	is_int(global_node_page_state_snapshot(NR_FOLL_PIN_ACQUIRED),
	       global_node_page_state_snapshot(NR_FOLL_PIN_RELEASED),
	       "wb_stress [%s]: pins balanced (nr_foll_pin_acquired == nr_foll_pin_released)",
	       name);
}

int main(void)
{
	double seconds = stress_seconds(2);
	struct pinmm_dirty_limits l;

	plan_no_plan();
	test_boot(96, 32, 0);
	pinmm_get_dirty_limits(&l);
	l.dirty_writeback_centisecs = 0;	/* only the fsync thread writes: verify is exact */
	pinmm_set_dirty_limits(&l);
	proc = test_process("wbstress");
	file = fs_open("wb", O_RDWR | O_CREAT);
	do_ftruncate(file, NPAGES * PAGE_SIZE, 1);
	base = fs_mmap(file, FS_BASE, NPAGES * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	file2 = fs_open("tr", O_RDWR | O_CREAT);
	do_ftruncate(file2, NPAGES2 * PAGE_SIZE, 1);
	base2 = fs_mmap(file2, FS_BASE + PMD_SIZE, NPAGES2 * PAGE_SIZE, FS_RW, MAP_SHARED, 0);
	if (base != FS_BASE || base2 != FS_BASE + PMD_SIZE)
		bail_out("mmap");
	pinmm_task_detach();

	run_phase(PINMM_WB_PIN_STABLE, seconds / 2);
	is_uint(atomic_load(&torn_stable), 0,
		"wb_stress [stable]: no block was ever torn on disk while devices wrote through pins");
	run_phase(PINMM_WB_PIN_LINUX, seconds / 2);
	diag("linux phase: %lu torn block(s) seen after fsync (Linux's hazard)",
	     atomic_load(&torn_linux));
	diag("%lu device writes, %lu CPU stores, %lu fsyncs, %lu pages reclaimed, %lu compactions",
	     atomic_load(&device_writes), atomic_load(&cpu_writes), atomic_load(&fsyncs),
	     atomic_load(&reclaimed), atomic_load(&compactions));
	diag("second file: %lu truncations/punches, %lu pins and %lu stores through its mapping",
	     atomic_load(&truncations), atomic_load(&trunc_pins), atomic_load(&trunc_faults));
	if (soak_enabled())
		diag("soak: %lu pins and stores failed on an injected allocation failure",
		     atomic_load(&excused));
	soak_report("wb_stress", atomic_load(&device_writes) + atomic_load(&cpu_writes) +
		    atomic_load(&fsyncs) + atomic_load(&compactions) + atomic_load(&truncations) +
		    atomic_load(&trunc_pins) + atomic_load(&trunc_faults) + atomic_load(&excused));
	ok(atomic_load(&device_writes) > 0 && atomic_load(&cpu_writes) > 0 &&
	   atomic_load(&fsyncs) > 0 && atomic_load(&truncations) > 0 &&
	   atomic_load(&trunc_pins) + atomic_load(&trunc_faults) > 0,
	   "wb_stress: every kind of thread made progress");
	is_uint(atomic_load(&failures), 0, "wb_stress: no pin, store or fsync failed");

	pinmm_task_attach(proc);
	vm_munmap(base, NPAGES * PAGE_SIZE);
	vm_munmap(base2, NPAGES2 * PAGE_SIZE);
	fput(file2);
	fput(file);
	pinmm_set_wb_pin_policy(PINMM_WB_PIN_LINUX);
	fs_teardown("wb_stress", proc);
	return done_testing();
}
