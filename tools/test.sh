#!/usr/bin/env bash
# The README's test command, which CI runs (.ci/run): installs what the project needs, configures
# and builds everything in ./build, and runs every test with ctest. When a test fails, the reasons
# are gathered at the end of the output (tools/failure_digest.sh); a table of where the time went
# ends it (tools/time_table.sh). The exit status is ctest's.
#
#   bash tools/test.sh
#
# The same by hand: bash tools/setup.sh && cmake -S . -B build && cmake --build build -j2 &&
#                   ctest --test-dir build --output-on-failure -j2
# (the build is in three steps only to time them: the binary, the instrumented sub-build, the rest)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 0 ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

phases=$(mktemp)
output=build/ctest-output.log
trap 'rm -f "$phases"' EXIT
# Runs one phase of the command and notes its time.
phase() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "$name $((SECONDS - start))" >>"$phases"
}

phase setup bash tools/setup.sh
phase configure cmake -S . -B build
phase build:binary cmake --build build -j2 --target freezeprobe
phase build:instrumented cmake --build build -j2 --target instrumented
phase build:rest cmake --build build -j2
start=$SECONDS
set +e
ctest --test-dir build --output-on-failure -j2 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
set -e
echo "tests $((SECONDS - start))" >>"$phases"
if ((status != 0)); then
  bash tools/failure_digest.sh build
fi
bash tools/time_table.sh "$phases" "$output" build
exit "$status"
