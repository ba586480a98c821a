#!/bin/sh
# make soak: the stress tests and the fuzzer's seeded driver at the same time,
# under ThreadSanitizer, with random fault injection at a low rate
# (docs/soak.md). Two lanes run side by side for SOAK_SECONDS:
#   - the stress tests (tests/stress/*), one after another, SOAK_SECONDS/5 each;
#   - the fuzzer (tests/fuzz/fuzz.c), episodes until SOAK_SECONDS have passed.
# Every test keeps its own end checks (pins balanced, frames free, a clean
# shutdown); this script fails if any test fails and prints, per test and in
# total, the operations run and the failures injected per site.
set -eu
cd "$(dirname "$0")/.."
SECS=${SOAK_SECONDS:-120}
RATE=${SOAK_FAIL_RATE:-1000}
SEED=${SOAK_SEED:-$(date +%s)}
OUT=build/soak
TSAN_RUN=${TSAN_RUN:-}
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT/failed"

export PINMM_FAIL_RATE=$RATE PINMM_FAIL_SEED=$SEED
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
per=$(awk -v s="$SECS" 'BEGIN { p = s / 5; printf "%.1f", p < 1 ? 1 : p }')
echo "soak: ${SECS} s, one allocation in $RATE fails at random (seed $SEED), TSan;" \
	"stress tests ${per} s each beside the fuzzer"

(
	for t in build/tsan/tests/stress/*; do
		STRESS_SECONDS=$per $TSAN_RUN "$t" >"$OUT/$(basename "$t").log" 2>&1 ||
			echo "$(basename "$t")" >>"$OUT/failed"
	done
) &
lane=$!
FUZZ_EPISODES=1000000000 FUZZ_MAX_SECONDS=$SECS FUZZ_SEED=$SEED \
	$TSAN_RUN build/tsan/tests/fuzz/fuzz >"$OUT/fuzz.log" 2>&1 || echo fuzz >>"$OUT/failed"
wait $lane

fail=0
for log in "$OUT"/*.log; do
	name=$(basename "$log" .log)
	line=$(sed -n 's/^# soak: [a-z_]*: //p' "$log" | tail -1)
	if grep -q '^not ok' "$log" || grep -qx "$name" "$OUT/failed" 2>/dev/null; then
		echo "FAIL $name: ${line:-no report} (see $log)"
		grep -E '^not ok|FAIL|WARNING: ThreadSanitizer' "$log" | head -5
		fail=1
	else
		echo "ok   $name: $(grep -c '^ok' "$log") checks passed; $line"
	fi
done
# each program reports its own totals: add them up
cat "$OUT"/*.log | sed -n 's/^# soak: [a-z_]*: \([0-9]*\) operations; injected failures:\(.*\)/\1\2/p' |
	awk '{
		ops += $1
		for (i = 2; i <= NF; i++) { split($i, kv, "="); inj[kv[1]] += kv[2]; if (!(kv[1] in seen)) { seen[kv[1]] = 1; order[++n] = kv[1] } }
	} END {
		s = ""; t = 0
		for (i = 1; i <= n; i++) { s = s " " order[i] "=" inj[order[i]]; t += inj[order[i]] }
		printf "soak total: %d operations, %d injected failures:%s\n", ops, t, s
	}'
if [ $fail = 0 ]; then
	echo "soak: every test passed: counters balanced, every frame free, no TSan report"
else
	echo "soak: FAILED"
fi
exit $fail
