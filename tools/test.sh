#!/usr/bin/env bash
# The README's test command, which CI runs (.ci/run): installs what the project needs, configures
# and builds everything in ./build, and runs every test with ctest. When a test fails, the reasons
# are gathered at the end of the output (tools/failure_digest.sh), and the exit status is ctest's.
#
#   bash tools/test.sh
#
# The same by hand: bash tools/setup.sh && cmake -S . -B build && cmake --build build -j2 &&
#                   ctest --test-dir build --output-on-failure -j2
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 0 ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

bash tools/setup.sh
cmake -S . -B build
cmake --build build -j2
status=0
ctest --test-dir build --output-on-failure -j2 || status=$?
if ((status != 0)); then
  bash tools/failure_digest.sh build
fi
exit "$status"
