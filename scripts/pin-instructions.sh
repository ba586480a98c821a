#!/bin/sh
# Instructions per page of pin_user_pages_fast() and of unpin_user_pages() in
# the pin bench, counted by callgrind: deterministic, so it shows a change of a
# few instructions that wall-clock figures on a shared host cannot. Runs
# `pinmm bench -a` (gup_test's PIN_FAST_BENCHMARK) on 64 MiB in one call,
# three times, and reports the third round (the first migrates the memory out
# of ZONE_MOVABLE for FOLL_LONGTERM); extra arguments go to the bench (-t for
# THPs, -F 0 for short-term pins). PINMM_PIN_OWNER=0 in the environment turns
# pin owner records off. Needs valgrind (scripts/deps.sh installs it).
#
#   make VARIANT=release build/release/pinmm && sh scripts/pin-instructions.sh
set -eu
PINMM=${PINMM:-build/release/pinmm}
MIB=64
pages=$((MIB * 256))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$PINMM" ] || { echo "pin-instructions: build $PINMM first (make VARIANT=release $PINMM)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "pin-instructions: valgrind missing (sh scripts/deps.sh)" >&2; exit 1; }
# A dump after every call of either function: cg.1..cg.6, pin and unpin per round.
valgrind --tool=callgrind --collect-atstart=no \
	--toggle-collect=pin_user_pages_fast_site --toggle-collect=unpin_user_pages \
	--dump-after=pin_user_pages_fast_site --dump-after=unpin_user_pages \
	--callgrind-out-file="$out/cg" "$PINMM" bench -a -F 0x100 -m $MIB -n -1 -r 3 "$@" \
	>"$out/log" 2>&1 || { cat "$out/log" >&2; exit 1; }
total() {
	awk '/^summary:/ { print $2; exit } /^totals:/ { print $2; exit }' "$1"
}
pin=$(total "$out/cg.5")
unpin=$(total "$out/cg.6")
[ -n "$pin" ] && [ -n "$unpin" ] || { echo "pin-instructions: no callgrind dumps" >&2; exit 1; }
awk -v p="$pin" -v u="$unpin" -v n="$pages" 'BEGIN {
	printf "instructions per page (%d pages, third round): pin %.1f unpin %.1f total %.1f\n",
	       n, p / n, u / n, (p + u) / n }'
