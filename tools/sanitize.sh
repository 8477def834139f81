#!/usr/bin/env bash
# Builds freezeprobe with AddressSanitizer and UndefinedBehaviorSanitizer (FREEZEPROBE_SANITIZE=ON,
# dynamically linked) and runs the unit and integration suites under them. Any report (a leak,
# an out-of-bounds access, undefined behaviour) fails the test that caused it: UBSan stops at
# the first error, and a sanitizer report makes the binary exit non-zero.
#
#   tools/sanitize.sh [--build-dir DIR] [--run-only] [CTEST-ARGS...]
#
# The main build builds DIR=build/sanitized as a sub-build and ctest's sanitize.suites runs this
# script with --run-only. Integration tests need root, as in the plain build.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build-sanitize
run_only=0
while (($#)); do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    --run-only) run_only=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) break ;;
  esac
done

if ((!run_only)); then
  cmake -S "$here" -B "$build" -DFREEZEPROBE_SANITIZE=ON >/dev/null
  cmake --build "$build" -j2
fi
# detect_leaks: the process's own allocations must all be freed or still reachable at exit.
# abort_on_error=0 and exitcode: a report ends the process with a recognisable status.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
export LSAN_OPTIONS=exitcode=86
start=$(date +%s)
status=0
ctest --test-dir "$build" -L 'unit|integration' --output-on-failure -j2 "$@" || status=$?
echo "sanitize.sh: unit and integration suites under ASan+UBSan: exit $status in $(($(date +%s) - start)) s"
exit $status
