#!/bin/sh
# make fuzz: libFuzzer on the operation interpreter (tests/fuzz/fuzz.c, built by
# make VARIANT=fuzz fuzz-target) for FUZZ_SECONDS (default 60), one worker per
# CPU (FUZZ_JOBS), all sharing build/fuzz/corpus and starting from the committed
# seeds in tests/fuzz/corpus. Prints the inputs, operations and ops/s of all
# workers together; exits 1 with the failing worker's report if any broke a
# rule or crashed (its input is build/fuzz/crash-*).
set -u
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
top=$(pwd)
bin=$top/build/fuzz/fuzz/pinmm_fuzz
logs=$top/build/fuzz/logs

mkdir -p "$top/build/fuzz/corpus" "$logs"
rm -f "$logs"/fuzz-*.log
# ASan/UBSan stop at the first error; per-input leak checks are off because
# inodes and page tables wait for an RCU grace period between inputs, which
# LeakSanitizer reports as leaks (host memory is checked by make check-asan,
# frames by pinmm_shutdown() every 1000 inputs).
ASAN_OPTIONS=abort_on_error=1:detect_leaks=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
echo "fuzz: $jobs worker(s) for $secs s, logs in $logs"
(cd "$logs" && "$bin" -jobs="$jobs" -workers="$jobs" -max_total_time="$secs" -max_len=4096 \
	-timeout=30 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$top/build/fuzz/" \
	"$top/build/fuzz/corpus" "$top/tests/fuzz/corpus" > "$logs/main.log" 2>&1)

failed=0
for log in "$logs"/fuzz-*.log; do
	[ -e "$log" ] || continue
	if grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^pinmm fuzz: R[0-9]' "$log"; then
		echo "fuzz: FAILED in $log:"
		grep -E '^pinmm fuzz: R|^  op |runtime error:|ERROR:|SUMMARY:|Test unit written' "$log"
		failed=1
	fi
done
grep -h '^pinmm fuzz: [0-9]' "$logs"/fuzz-*.log | awk -v secs="$secs" '
	{ inputs += $3; ops += $5; n++ }
	END {
		printf "fuzz: %d worker(s), %d inputs, %d operations in %d s: %.0f ops/s\n",
			n, inputs, ops, secs, ops / secs
	}'
exit $failed
