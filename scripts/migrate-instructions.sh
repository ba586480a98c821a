#!/bin/sh
# Instructions per migrated 4 KiB folio in migrate_pages(), counted by
# callgrind over bench/migrate's 4 KiB loop (bench/migrate -4: 4096 folios
# moved back and forth eight times): deterministic, so it shows a change that
# wall-clock figures on a shared host cannot. Needs valgrind (scripts/deps.sh).
#
#   make VARIANT=release build/release/bench/migrate && sh scripts/migrate-instructions.sh
set -eu
BENCH=${BENCH:-build/release/bench/migrate}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$BENCH" ] || { echo "migrate-instructions: build $BENCH first (make VARIANT=release $BENCH)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "migrate-instructions: valgrind missing (sh scripts/deps.sh)" >&2; exit 1; }
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=migrate_pages \
	--callgrind-out-file="$out/cg" "$BENCH" -4 >"$out/log" 2>&1 || { cat "$out/log" >&2; exit 1; }
n=$(sed -n 's/^4 KiB folio: \([0-9]*\) migrated.*/\1/p' "$out/log")
total=$(awk '/^summary:/ { print $2; exit } /^totals:/ { print $2; exit }' "$out/cg")
[ -n "$n" ] && [ -n "$total" ] || { echo "migrate-instructions: no figures" >&2; cat "$out/log" >&2; exit 1; }
awk -v t="$total" -v n="$n" 'BEGIN { printf "migrate_pages() instructions per 4 KiB folio: %.1f (%d folios)\n", t / n, n }'
if [ -n "${CG_ANNOTATE:-}" ]; then
	callgrind_annotate --inclusive=yes "$out/cg" 2>/dev/null | head -${CG_LINES:-60}
fi
