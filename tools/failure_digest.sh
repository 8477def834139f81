#!/usr/bin/env bash
# Prints, for each test the last ctest run in BUILD_DIR failed, the lines that say why: gtest's
# failure messages (with the lines that follow them), sanitizer reports, and the VM runner's
# summary. ctest prints each failing test's whole output where it finished, somewhere in a long
# log; this puts the reasons together at the end, where a CI log's tail shows them.
#
#   tools/failure_digest.sh [BUILD_DIR]      (default: ./build)
#
# Exit status: 0, also when nothing failed (it then prints nothing); 2 on a usage error.
set -euo pipefail

BUILD=${1:-build}
LOG=$BUILD/Testing/Temporary/LastTest.log
FAILED=$BUILD/Testing/Temporary/LastTestsFailed.log
[[ $# -le 1 && $BUILD != -* ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ -s $FAILED && -f $LOG ]] || exit 0

echo
echo "==== why the tests failed (the full output of each is above, and in $LOG) ===="
while IFS= read -r line; do
  name=${line#*:} # "NUMBER:NAME"
  echo "---- $name"
  # The test's own output, between "N/M Testing: NAME" and "<end of output>".
  awk -v name="$name" '
    $0 ~ /^[0-9]+\/[0-9]+ Testing: / { inside = (substr($0, index($0, ": ") + 2) == name); next }
    inside && /^<end of output>$/ { inside = 0 }
    inside { print }' "$LOG" >"$BUILD/Testing/Temporary/digest.out"
  if [[ $name == vm.* ]]; then
    # The VM runner ends with its own summary: per kernel x mode, then a stall in short. Its full
    # task dump (up to 300 lines, between the two) stays above.
    awk '
      /^vm: per kernel x mode/ { on = 1 }
      /^vm: a suite stalled; every task/ { on = 0; print "    (every task: above)" }
      /^vm: the stall in short/ { on = 1 }
      on { print }' "$BUILD/Testing/Temporary/digest.out" | head -n 100
    continue
  fi
  # A gtest failure is its "file:line: Failure" line and the few lines after it; a sanitizer's
  # report starts at its ERROR or "runtime error" line; a test that ran over ctest's time limit or
  # crashed is named by the (inner) ctest's result lines.
  awk '
    /: Failure$/ || /ERROR: [A-Za-z]*Sanitizer/ || /runtime error:/ { n = 6 }
    /\*\*\*(Failed|Timeout|Exception)/ || /^\[  FAILED  \] [^ ]+ \(/ { print; next }
    n > 0 { print; n-- }' "$BUILD/Testing/Temporary/digest.out" | head -n 40
done <"$FAILED"
rm -f "$BUILD/Testing/Temporary/digest.out"
