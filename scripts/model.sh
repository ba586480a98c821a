#!/bin/sh
# make model: check every Promela model in models/ exhaustively with spin, and
# prove each model can fail. For each models/*.pml (frames.pml is shared):
#   - the model as written must pass: no assertion violated, no invalid end
#     state, the whole state space stored (no bitstate, no depth cut-off);
#   - every mutant in its "@mutants" line (a -D macro that removes one
#     re-check or sequence count) must give a counterexample; its trail is
#     kept in build/model/<model>-<MUTANT>.trail.txt;
#   - every mutant in its "@equivalent" line must pass too: the model shows
#     that check is redundant in pinmm (docs/model.md says why).
# Prints the state-space size and time of each run; exits non-zero if any
# expectation fails.
set -eu
cd "$(dirname "$0")/.."
OUT=build/model
mkdir -p "$OUT"
SPIN=${SPIN:-spin}
command -v "$SPIN" >/dev/null || { echo "model: spin not found (sh scripts/deps.sh)"; exit 1; }
DEPTH=100000
fail=0
nruns=0
t0=$(date +%s.%N)

# run NAME MACRO EXPECT: EXPECT is pass or fail
run() {
	name=$1 macro=$2 expect=$3
	tag=$name${macro:+-$macro}
	dir=$OUT/$tag
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && $SPIN ${macro:+-D$macro} -a "../../../models/$name.pml" >spin.log 2>&1) ||
		{ echo "not ok $tag: spin -a failed"; cat "$dir/spin.log"; fail=1; return; }
	# -DSAFETY: assertions and end states only (no never claims or cycles).
	# -O0: the state spaces are small, compiling pan.c is what costs
	gcc -O0 -w -DSAFETY -o "$dir/pan" "$dir/pan.c"
	s=$(date +%s.%N)
	(cd "$dir" && ./pan -m$DEPTH >pan.log 2>&1) || true
	e=$(date +%s.%N)
	nruns=$((nruns + 1))
	log=$dir/pan.log
	states=$(awk '/states, stored/ { print $1 }' "$log")
	trans=$(awk '/transitions \(= stored\+matched\)/ { print $1 }' "$log")
	depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' "$log")
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log")
	secs=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", b - a }')
	why=$(sed -n 's/^pan:1: \(.*\) (at depth.*/\1/p' "$log" | head -1)
	if grep -q 'max search depth too small\|search not completed' "$log"; then
		echo "not ok $tag: search cut short ($log)"
		fail=1
		return
	fi
	figures="states $states, transitions $trans, depth $depth, ${secs} s"
	if [ "$expect" = pass ]; then
		if [ "$errors" = 0 ]; then
			echo "ok   $tag: no error; $figures"
		else
			echo "not ok $tag: $why; $figures"
			fail=1
		fi
	else
		if [ "$errors" != 0 ] && [ -f "$dir/$name.pml.trail" ]; then
			# the interleaving, one line per step: process, source line, statement
			(cd "$dir" && $SPIN -k "$name.pml.trail" -t -p ${macro:+-D$macro} \
				"../../../models/$name.pml" 2>&1 |
				sed -n 's/^ *[0-9]*:[[:space:]]*proc *[1-9][0-9]* (\([a-z]*\):[0-9]*) [^ ]*models\/\([a-z]*\.pml:[0-9]*\) (state [0-9]*)[[:space:]]*\[\(.*\)\]$/\1 \2 \3/p' \
				>"../$tag.trail.txt")
			echo "ok   $tag: caught: $why; trail $(wc -l <"$OUT/$tag.trail.txt") steps" \
				"in $OUT/$tag.trail.txt; $figures"
		else
			echo "not ok $tag: mutant NOT caught; $figures"
			fail=1
		fi
	fi
}

for pml in models/*.pml; do
	name=$(basename "$pml" .pml)
	[ "$name" = frames ] && continue
	echo "== $name"
	run "$name" "" pass
	for m in $(sed -n 's/^ \* @mutants //p' "$pml"); do
		run "$name" "$m" fail
	done
	for m in $(sed -n 's/^ \* @equivalent //p' "$pml"); do
		run "$name" "$m" pass
	done
done
t1=$(date +%s.%N)
echo "model: $nruns runs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
	"(spin, gcc and pan); $( [ $fail = 0 ] && echo 'every model passes, every mutant is caught' || echo FAILED)"
exit $fail
