# pinmm — GNU make build.
#
#   make            build/libpinmm.a and build/pinmm (debug checks on, -O2)
#   make check      the whole suite: plain, ASan+UBSan, and the concurrent
#                   tests under TSan (what CI and the README run)
#   make stress     the concurrent tests under TSan for STRESS_SECONDS_LONG
#                   seconds each (default 60; make check runs them for
#                   STRESS_SECONDS, default 2)
#   make bench      every bench/ program, release build
#   make bench-report  every bench and the gup_test pin figures, drawn as
#                   build/bench-report.svg (pinmm vs the kernel per figure)
#   make demo       build and run `pinmm demo`
#   make install    PREFIX=... (default /usr/local): libpinmm.a, include/pinmm, the
#                   pinmm tool and lib/pkgconfig/pinmm.pc (docs/your-call-site.md)
#   make check-kernel  the scenario corpus on pinmm and on the live kernel, side by side
#                   (skips where io_uring or root is missing; docs/scenarios.md)
#   make fuzz       libFuzzer on tests/fuzz/fuzz.c for FUZZ_SECONDS (default 60), a
#                   worker per CPU, clang + ASan/UBSan in build/fuzz/; prints ops/s
#   make soak       the stress tests and the fuzzer together under TSan for
#                   SOAK_SECONDS (default 120), allocations failing at random
#                   (one in SOAK_FAIL_RATE, default 1000); prints the figures
#   make model      spin on every Promela model in models/, exhaustively, and on
#                   each model's mutants (each must be caught); prints the sizes
#   make mutate     mutation testing of src/gup and the COW/fork/unshare code
#                   (scripts/mutate.pl, docs/mutation.md); slow, not part of check
#
# Variants (VARIANT=...): debug (build/), release (build/release/),
# asan (build/asan/), tsan (build/tsan/), fuzz (build/fuzz/: clang, libFuzzer
# instrumentation, ASan+UBSan), mutate (build/mutate/: the debug build as a
# shared library the tests load, so a mutant relinks one library, not every
# test; warnings are not errors, a mutant may leave a variable unused).
# Each variant has its own objects.

VARIANT ?= debug
CC ?= gcc

ifeq ($(VARIANT),debug)
OUT := build
VFLAGS := -O2 -DCONFIG_DEBUG_VM=1
else ifeq ($(VARIANT),release)
OUT := build/release
VFLAGS := -O2 -DNDEBUG
else ifeq ($(VARIANT),asan)
OUT := build/asan
VFLAGS := -O1 -DCONFIG_DEBUG_VM=1 -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(VARIANT),tsan)
OUT := build/tsan
VFLAGS := -O1 -DCONFIG_DEBUG_VM=1 -fsanitize=thread -Wno-tsan
else ifeq ($(VARIANT),fuzz)
OUT := build/fuzz
CC := clang
VFLAGS := -O1 -DCONFIG_DEBUG_VM=1 -fsanitize=address,undefined -fsanitize=fuzzer-no-link \
	-fno-sanitize-coverage=trace-cmp \
	-fno-sanitize-recover=all
else ifeq ($(VARIANT),mutate)
OUT := build/mutate
VFLAGS := -O2 -DCONFIG_DEBUG_VM=1 -fPIC -Wno-error
else
$(error unknown VARIANT $(VARIANT))
endif

CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fno-omit-frame-pointer -pthread \
	-Iinclude -Isrc $(VFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(VFLAGS)
LDLIBS := -lurcu-memb -lurcu-common -luring -lxxhash

LIB_SRCS := $(sort $(shell find src drivers -name '*.c'))
LIB_OBJS := $(LIB_SRCS:%.c=$(OUT)/obj/%.o)
ifeq ($(VARIANT),mutate)
LIB := $(OUT)/libpinmm.so
# relative to the program (tool, bench/x, tests/d/x): a copied tree loads its own
LDFLAGS += -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/..' -Wl,-rpath,'$$ORIGIN/../..'
else
LIB := $(OUT)/libpinmm.a
endif

TOOL_SRCS := $(sort $(wildcard tools/pinmm/*.c))
TOOL := $(OUT)/pinmm

TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(OUT)/obj/%.o)
TEST_SRCS := $(sort $(filter-out tests/lib/%,$(shell find tests -name '*.c')))
TESTS := $(TEST_SRCS:%.c=$(OUT)/%)
# Concurrency tests carry the marker PINMM_TEST_CONCURRENT; they also run under TSan.
CONC_SRCS := $(sort $(shell grep -rl --include='*.c' 'PINMM_TEST_CONCURRENT' tests 2>/dev/null))
CONC_TESTS := $(CONC_SRCS:%.c=$(OUT)/%)

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCHES := $(BENCH_SRCS:%.c=$(OUT)/%)

PROVE ?= prove
STRESS_SECONDS ?= 2
export STRESS_SECONDS
FUZZ_SECONDS ?= 60
FUZZ_TARGET := $(OUT)/fuzz/pinmm_fuzz

.PHONY: all lib tool tests conc-tests benches check check-plain check-asan \
	check-tsan check-model model install check-install check-call-sites check-scenarios \
	check-kernel stress soak bench bench-report demo fuzz fuzz-target mutate \
	clean

all: $(LIB) $(TOOL)
lib: $(LIB)
tool: $(TOOL)
tests: $(TESTS)
conc-tests: $(CONC_TESTS)
benches: $(BENCHES)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

ifeq ($(VARIANT),mutate)
$(LIB): $(LIB_OBJS)
	$(CC) -shared $(LDFLAGS) $^ $(LDLIBS) -o $@
else
$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
endif

# make mutate rebuilds one object per mutant: keep the test objects for relinks.
ifneq ($(MUTATE),)
.SECONDARY:
endif

$(TOOL): $(TOOL_SRCS:%.c=$(OUT)/obj/%.o) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/%: $(OUT)/obj/tests/%.o $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The libFuzzer build of the fuzz test (VARIANT=fuzz): same source, its
# LLVMFuzzerTestOneInput() instead of the TAP main(). The interpreter itself is
# not coverage-instrumented: its model loops compare every byte read, and
# tracing those comparisons would cost more than the library under test.
fuzz-target: $(FUZZ_TARGET)
$(FUZZ_TARGET): tests/fuzz/fuzz.c $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@) $(OUT)/obj/tests/fuzz
	$(CC) $(filter-out -fsanitize=fuzzer-no-link,$(CFLAGS)) -DPINMM_LIBFUZZER -MMD -MP -c $< \
		-o $(OUT)/obj/tests/fuzz/fuzz-libfuzzer.o
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $(OUT)/obj/tests/fuzz/fuzz-libfuzzer.o $(TESTLIB_OBJS) \
		$(LIB) $(LDLIBS) -o $@

# pinmm run's language and command, tested without main().
TOOL_RUN_OBJS := $(filter-out $(OUT)/obj/tools/pinmm/main.o,$(TOOL_SRCS:%.c=$(OUT)/obj/%.o))
$(OUT)/tests/run/%: $(OUT)/obj/tests/run/%.o $(TOOL_RUN_OBJS) $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The CLI's parsers, fed bad input by a test: it links them without main().
$(OUT)/tests/fuzz/cli_args: $(OUT)/obj/tests/fuzz/cli_args.o $(OUT)/obj/tools/pinmm/args.o \
		$(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# pinmm pins, run in-process by its test.
$(OUT)/tests/gup/pins_tool: $(OUT)/obj/tests/gup/pins_tool.o $(OUT)/obj/tools/pinmm/pins.o \
		$(OUT)/obj/tools/pinmm/args.o $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The demo itself, run on small machines by a regression test.
$(OUT)/tests/regress/demo_small_machine: $(OUT)/obj/tests/regress/demo_small_machine.o \
		$(OUT)/obj/tools/pinmm/demo.o $(OUT)/obj/tools/pinmm/demo_files.o \
		$(OUT)/obj/tools/pinmm/args.o $(OUT)/obj/tools/pinmm/map.o $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# pinmm map's SVG, parsed back with expat: only this test links the
# renderer and libexpat.
$(OUT)/tests/tools/map_svg: $(OUT)/obj/tests/tools/map_svg.o $(OUT)/obj/tools/pinmm/map.o \
		$(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lexpat -o $@

# make bench-report's drawer: plain C and libm, no machine.
REPORT_TOOL := $(OUT)/bench-report
$(REPORT_TOOL): $(OUT)/obj/tools/bench-report/main.o $(OUT)/obj/tools/bench-report/report.o
	$(CC) $(LDFLAGS) $^ -lm -o $@

$(OUT)/tests/tools/bench_report: $(OUT)/obj/tests/tools/bench_report.o \
		$(OUT)/obj/tools/bench-report/report.o $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lexpat -lm -o $@

# pinmm bench end to end, over the gup_test driver.
$(OUT)/tests/drivers/gup_test_cli: $(OUT)/obj/tests/drivers/gup_test_cli.o \
		$(OUT)/obj/tools/pinmm/bench.o $(OUT)/obj/tools/pinmm/args.o $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/bench/%: $(OUT)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# --- the test command -------------------------------------------------------
# TSan needs a fixed address-space layout on kernels with wide mmap
# randomisation; setarch -R gives it one.
TSAN_RUN := $(shell command -v setarch >/dev/null 2>&1 && echo "setarch $$(uname -m) -R")

check: check-plain check-asan check-tsan check-model

check-plain:
	$(MAKE) VARIANT=debug all tests
	$(PROVE) build/tests/*/*
	$(MAKE) check-install check-call-sites check-scenarios

# drivers/ are Linux call sites: their includes are <linux/...>, their own
# interface and the C library's string/unistd, nothing of pinmm's insides.
check-call-sites:
	@bad=$$(grep -n '^#include' drivers/*.c | grep -v -e '<linux/' -e '<pinmm/drivers.h>' \
		-e '<pinmm/gup_test.h>' -e '<string.h>' -e '<unistd.h>'); \
	if [ -n "$$bad" ]; then echo "$$bad"; \
		echo "drivers/ must include only <linux/...> (and pinmm/drivers.h, pinmm/gup_test.h)"; exit 1; fi

# What docs/your-call-site.md tells a user to do: install, then build and run
# examples/ with nothing but pkg-config's flags.
check-install:
	rm -rf build/stage
	$(MAKE) VARIANT=debug install PREFIX=$(CURDIR)/build/stage >/dev/null
	@mkdir -p build/examples
	set -e; for e in examples/*.c; do \
		x=build/examples/$$(basename $$e .c); \
		$(CC) -Wall -Wextra -Werror $$(PKG_CONFIG_PATH=build/stage/lib/pkgconfig \
			pkg-config --cflags pinmm) $$e $$(PKG_CONFIG_PATH=build/stage/lib/pkgconfig \
			pkg-config --libs pinmm) -o $$x; \
		./$$x; \
	done

# The scenario corpus on the pinmm backend: every expectation must hold.
check-scenarios: all
	@./build/pinmm run scenarios/*.scn > build/scenarios.tap || \
		{ grep -v '^ok' build/scenarios.tap; echo "pinmm run: the corpus failed"; exit 1; }
	@grep -E '^# [0-9]+ scenarios|^# pinmm:' build/scenarios.tap

# The corpus on both backends; a clean skip where the live kernel cannot be driven.
check-kernel: all
	@why=$$(./build/pinmm run --probe) || { echo "1..0 # SKIP kernel backend: $$why"; exit 0; }; \
	./build/pinmm run --backend both scenarios/*.scn > build/scenarios-kernel.tap; rc=$$?; \
	grep -E '^not ok| NO$$' build/scenarios-kernel.tap; \
	grep -E '^# [0-9]+ scenarios|^# (pinmm|kernel):' build/scenarios-kernel.tap; exit $$rc

check-asan:
	$(MAKE) VARIANT=asan tests
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(PROVE) build/asan/tests/*/*

check-tsan:
	$(MAKE) VARIANT=tsan conc-tests
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		$(PROVE) --exec '$(TSAN_RUN)' $(CONC_SRCS:%.c=build/tsan/%)

# The GUP-fast protocol models (docs/model.md): every model passes, every
# mutant that removes one of its re-checks gives a counterexample.
model check-model:
	sh scripts/model.sh

stress:
	$(MAKE) VARIANT=tsan conc-tests
	STRESS_SECONDS=$${STRESS_SECONDS_LONG:-60} TSAN_OPTIONS="halt_on_error=1" \
		$(PROVE) -v --timer --exec '$(TSAN_RUN)' $(CONC_SRCS:%.c=build/tsan/%)

# The stress tests and the fuzzer's seeded driver side by side under TSan, with
# random fault injection (docs/soak.md).
SOAK_SECONDS ?= 120
SOAK_FAIL_RATE ?= 1000
soak:
	$(MAKE) VARIANT=tsan conc-tests build/tsan/tests/fuzz/fuzz
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_FAIL_RATE=$(SOAK_FAIL_RATE) TSAN_RUN='$(TSAN_RUN)' \
		sh scripts/soak.sh

bench:
	$(MAKE) VARIANT=release benches
	@set -e; for b in $(BENCH_SRCS:%.c=build/release/%); do echo "== $$b"; $$b; done

# Every bench, then the gup_test pin figures against io_uring (4 KiB and THP),
# drawn from their REPORT lines as build/bench-report.svg (docs/bench-report.md).
# A bench that fails becomes a FAILED row, and the target fails after drawing.
BENCH_GUP := -a -F 0x100 -m 1024 -n -1 -r 5 --kernel
bench-report:
	$(MAKE) VARIANT=release benches all build/release/bench-report
	@{ for b in $(BENCH_SRCS:%.c=build/release/%); do echo "== $$b"; \
		$$b || echo "BENCH-FAILED $$b"; done; \
	  echo "== build/release/pinmm bench $(BENCH_GUP)"; \
	  build/release/pinmm bench $(BENCH_GUP) || echo "BENCH-FAILED pinmm bench"; \
	  echo "== build/release/pinmm bench $(BENCH_GUP) -t"; \
	  build/release/pinmm bench $(BENCH_GUP) -t || echo "BENCH-FAILED pinmm bench -t"; \
	} 2>&1 | tee build/bench-output.txt
	build/release/bench-report -o build/bench-report.svg build/bench-output.txt
	@echo "build/bench-report.svg"

demo: all
	./build/pinmm demo

# libFuzzer, one worker per CPU, new inputs in build/fuzz/corpus; a failure is
# saved as build/fuzz/crash-* (docs/fuzzing.md: turning it into a test).
fuzz:
	$(MAKE) VARIANT=fuzz fuzz-target
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh scripts/fuzz.sh

PREFIX ?= /usr/local
install: $(LIB) $(TOOL)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/pinmm \
		$(DESTDIR)$(PREFIX)/bin
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/pinmm/*.h $(DESTDIR)$(PREFIX)/include/pinmm/
	install -d $(DESTDIR)$(PREFIX)/include/linux/sched
	install -m 644 include/linux/*.h $(DESTDIR)$(PREFIX)/include/linux/
	install -m 644 include/linux/sched/*.h $(DESTDIR)$(PREFIX)/include/linux/sched/
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@CFLAGS@|$(filter -DCONFIG_DEBUG_VM=1 -DNDEBUG,$(VFLAGS))|' \
		pinmm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pinmm.pc

# Mutation testing (docs/mutation.md): MUTATE_FILES, MUTATE_JOBS, MUTATE_IDS,
# MUTATE_OPS ... select; resumes an interrupted run; report in build/mutate/.
mutate:
	perl scripts/mutate.pl

clean:
	rm -rf build

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
