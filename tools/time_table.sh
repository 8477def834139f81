#!/usr/bin/env bash
# Prints where the test command's time went: its phases (set-up, configure, build, tests), then
# the tests by group (ctest's name prefix: unit, integration, vm, fuzz, soak, bench, packaging,
# static) with the sum of their times and their longest test, then the VM runner's lines per
# kernel and mode. ctest runs two tests at a time, so the groups add up to more than the wall
# clock of the tests phase.
#
#   tools/time_table.sh PHASES_FILE CTEST_OUTPUT
#
# PHASES_FILE holds "NAME SECONDS" lines (tools/test.sh writes it); CTEST_OUTPUT is what ctest
# printed. Exit status 0; 2 on a usage error.
set -euo pipefail
[[ $# -eq 2 ]] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
phases=$1 output=$2

echo
echo "==== where the time went ===="
awk '{ printf "  %-34s %7.0f s\n", $1, $2; total += $2 }
     END { printf "  %-34s %7.0f s  (%d min %d s)\n", "total", total, total / 60, total % 60 }' \
  "$phases"
[[ -f $output ]] || exit 0
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
  }' "$output" | sort
# The VM runner prints one line per kernel and mode with its time.
grep -E '^ *(vm: )?(kernel|mode)=.*seconds=' "$output" | sed 's/^ */  vm /' || true
