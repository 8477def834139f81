#!/usr/bin/env bash
# Prints where the test command's time went: its phases (set-up, configure, builds, host tests,
# VM tests) and the wall clock, then the tests by group (ctest's name prefix: unit, integration,
# vm, fuzz, soak, bench, packaging, static) with the sum of their times and their longest test,
# then the VM runner's lines per kernel and mode. The VM tests run beside the phases after
# build:vm, and ctest runs two host tests at a time, so phases and groups add up to more than the
# wall clock.
#
#   tools/time_table.sh PHASES_FILE WALL_SECONDS BUILD_DIR CTEST_OUTPUT...
#
# PHASES_FILE holds "NAME SECONDS" lines (tools/test.sh writes it); each CTEST_OUTPUT is what a
# ctest run printed; the VM lines come from the guests' consoles in BUILD_DIR/vm/SUITE/console.log
# and, for the modes a panicked guest finished before its panic, console.panicked.log (ctest
# shows a passing test's output only with -V). Exit status 0; 2 on a usage error.
set -euo pipefail
(($# >= 4)) || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
phases=$1 wall=$2 build=$3
shift 3
outputs=()
for f in "$@"; do if [[ -f $f ]]; then outputs+=("$f"); fi; done

echo
echo "==== where the time went ===="
awk '{ printf "  %-34s %7.0f s\n", $1, $2 }' "$phases"
printf "  %-34s %7.0f s  (%d min %d s)\n" "total (wall clock)" "$wall" $((wall / 60)) $((wall % 60))
((${#outputs[@]} > 0)) || exit 0
echo "  tests by group (summed; ctest -j2 runs two at once):"
awk '
  / Test +#[0-9]+: / {
    name = $0; sub(/.* Test +#[0-9]+: /, "", name); sub(/ .*/, "", name)
    secs = $0; sub(/ sec.*/, "", secs); sub(/.* /, "", secs)
    group = name; sub(/\..*/, "", group)
    sum[group] += secs; n[group]++
    if (secs + 0 > longest[group] + 0) { longest[group] = secs; which[group] = name }
  }
  END {
    for (g in sum)
      printf "  %-14s %4d tests %7.0f s   longest %s %.0f s\n", g, n[g], sum[g], which[g], longest[g]
  }' "${outputs[@]}" | sort
# Each guest prints one line per attach mode with its time.
for console in "$build"/vm/*/console*.log; do # per suite: console.log, then console.panicked.log
  [[ -f $console ]] || continue
  suite=$(basename "$(dirname "$console")")
  grep -h '^VM-RESULT ' "$console" | sed "s/^VM-RESULT /  vm $suite: /" || true
done
