#!/usr/bin/env bash
# The README's test command, which CI runs (.ci/run): installs what the project needs, configures
# and builds everything in ./build, and runs every test with ctest. When a test fails, the reasons
# are gathered at the end of the output (tools/failure_digest.sh); a table of where the time went
# ends it (tools/time_table.sh). The exit status is 0 when every test passed, 1 otherwise.
#
#   bash tools/test.sh
#
# The same by hand: bash tools/setup.sh && cmake -S . -B build && cmake --build build -j2 &&
#                   ctest --test-dir build --output-on-failure -j2
# Here the VM tests (tests/vm: the kernel matrix and the node VM, the longest part) start as soon
# as what they boot is built, and run in their own ctest (ctest --test-dir build/tests/vm) beside
# the rest of the build and the host's tests; their output follows the host tests' output.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 0 ]] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

phases=$(mktemp)
host_output=build/ctest-output.log
vm_output=build/ctest-vm-output.log
vm_pid=""
trap 'rm -f "$phases"; [[ -z $vm_pid ]] || kill -- "-$vm_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
# Runs one phase of the command and notes its time.
phase() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "$name $((SECONDS - start))" >>"$phases"
}

begin=$SECONDS
phase setup bash tools/setup.sh
phase configure cmake -S . -B build
phase build:binary cmake --build build -j2 --target freezeprobe
# What the guests boot: the static binary and integration tests, the node VM's FUSE daemon and
# man page (its rootfs gets `cmake --install`).
phase build:vm cmake --build build -j2 --target freezeprobe_integration_tests node_hang_fuse_serve man_page
# In its own session, so that an early exit stops it with its guests (the EXIT trap).
setsid bash -c 'start=$SECONDS
  ctest --test-dir build/tests/vm --output-on-failure >"$1" 2>&1
  status=$?
  echo "vm-tests $((SECONDS - start))" >>"$2"
  exit "$status"' vm-tests "$vm_output" "$phases" &
vm_pid=$!
phase build:instrumented cmake --build build -j2 --target instrumented
phase build:rest cmake --build build -j2
start=$SECONDS
set +e
ctest --test-dir build --label-exclude vm --output-on-failure -j2 2>&1 | tee "$host_output"
host_status=${PIPESTATUS[0]}
echo "host-tests $((SECONDS - start))" >>"$phases"
echo
echo "==== the VM tests (started after build:vm, beside the rest; ctest --test-dir build/tests/vm) ===="
start=$SECONDS
wait "$vm_pid"
vm_status=$?
vm_pid=""
echo "waiting-for-vm-tests $((SECONDS - start))" >>"$phases"
cat "$vm_output"
set -e
status=0
((host_status == 0 && vm_status == 0)) || status=1
((host_status == 0)) || bash tools/failure_digest.sh build
((vm_status == 0)) || bash tools/failure_digest.sh build/tests/vm
bash tools/time_table.sh "$phases" "$((SECONDS - begin))" build "$host_output" "$vm_output"
exit "$status"
