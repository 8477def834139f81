#!/usr/bin/env bash
# Runs freezeprobe's integration test suite inside a QEMU VM that boots Debian's stock cloud kernel
# of one Debian suite (package linux-image-cloud-amd64 there), once per attach mode.
#
#   tools/vm/run.sh [--build-dir DIR] [--kernel SUITE] [--tests all|kernel]
#                   [--modes "fentry kprobe tracepoint"] [--filter GTEST_FILTER]
#                   [--mode-timeout SECONDS] [--stall-timeout SECONDS] [--repeat N] [--verbose]
#
# The kernel is fetched by tools/vm/fetch_kernel.sh (`apt-get download` from the Debian mirror
# this machine's apt sources name, with the suite changed; never installed on the host) into
# DIR/vm/kernel, which caches it. An initramfs (cpio newc + gzip) holds busybox-static, the static
# freezeprobe and integration test binaries, the kernel modules the tests need (FUSE, where it is
# a module), xmllint, runc, dash and cat with their libraries, and tools/vm/init.sh as /init. The
# guest sets up the host's hybrid cgroup layout, runs the suite once per mode
# (FREEZEPROBE_TEST_ATTACH=<mode>, CI=true) and prints one line per mode:
#   VM-RESULT mode=<mode> tests=N ran=N passed=N failed=N skipped=N exit=N seconds=N
# then powers off; this script prints them as one line per kernel x mode. A mode in which `freezeprobe watch --attach <mode>` cannot attach is reported
# with exit=attach, and its suite is not run. The VM runs under TCG (qemu-system-x86_64 -accel
# tcg, no KVM needed); its console log is DIR/vm/SUITE/console.log. A guest kernel that panics or
# oopses ("Kernel panic", "Oops:") before a mode's result line, or that prints nothing at all
# for the stall timeout + 90 s (wedged: the host stops it with a "VM-SILENT" line), leaves that
# mode and the later ones without a result: they run once more in a fresh guest, a "vm: GUEST
# PANIC kernel=K mode=M" line names each with the panic's (or VM-SILENT's) first line, and the
# panicked boot's console is kept as DIR/vm/SUITE/console.panicked.log; a second panic fails. A mode that has its result is never
# run again. Exit status: 0 if every mode ran all its tests and none failed or skipped; 1
# otherwise (each failing mode, test, missing result line, or an unfinished guest is named); 2
# on a usage error.
#
# Options:
#   --build-dir DIR       build directory holding userspace/freezeprobe and
#                         tests/freezeprobe_integration_tests, both static (default: ./build)
#   --kernel SUITE        the Debian suite whose cloud kernel boots: bullseye (5.10), bookworm
#                         (6.1), trixie (6.12), sid (the newest), ... (default: this machine's
#                         own suite, from /etc/os-release)
#   --tests all|kernel    all (the default): every test but the excluded ones in the first mode,
#                         and the kernel-sensitive tests (KERNEL_TESTS below) in the others;
#                         kernel: only the kernel-sensitive tests, in every mode (the matrix)
#   --modes "M1 M2 ..."   attach modes to run the suite in (default: "fentry kprobe tracepoint")
#   --filter FILTER       gtest filter replacing the ones --tests makes, in every mode
#   --mode-timeout SECS   the guest kills a mode's suite after this long (default 600); the host
#                         kills the VM after modes x SECS + 120 s
#   --stall-timeout SECS  the guest kills a mode's suite when it prints nothing for this long
#                         (default 150; the slowest test takes about 20 s here), after printing
#                         every task's state, wchan and kernel stack (VM-STALL lines, repeated at
#                         the end of this script's output); a task that cannot be killed ends the
#                         run there, and the modes after it get no result
#   --layouts "v2 v1"     after the modes, rebuild the guest's /sys/fs/cgroup in each of these
#                         cgroup layouts (v2, v1, hybrid; see tools/layout.sh) and run
#                         LAYOUT_TESTS below there in the first mode; prints one line per layout
#                         and every skip with its reason (skips of a test whose hierarchy the
#                         layout lacks are expected); fails if a test failed or none ran
#   --layout-tests all    with --layouts: every layout-sensitive test (tools/layout.sh
#                         --print-filter, less the excluded ones) instead of LAYOUT_TESTS
#   --repeat N            run each mode's suite N times (gtest --gtest_repeat), to chase a flake
#   --bench N             instead of the suite: the unrelated-write benchmark, N 1-byte writes to
#                         /dev/null per run, 5 interleaved rounds without the probe and with it
#                         in each mode; prints medians and ratios (not part of the tests)
#   --verbose             also copy the console to stdout while the VM runs
#   --debug-guest         to diagnose a guest that wedges: the guest kernel logs everything
#                         (no "quiet"; ignore_loglevel), reports hung tasks after 30 s, and boots
#                         without KASLR, its text symbols written to DIR/vm/SUITE/kallsyms.gz (a
#                         second serial port); QEMU's monitor listens on DIR/vm/SUITE/monitor.sock.
#                         When the console stays silent for 60 s, this script records every vCPU's
#                         registers and the top of its stack (monitor.log) and sends sysrq l, w, m
#                         and t; at 180 s of silence, the registers again and an NMI,
#                         which panics the guest (unknown_nmi_panic) with every CPU's backtrace.
#                         GUEST_MEMORY=2G in the environment gives the guest more memory (1G)
#   --panic-in MODE       to test this script: the first guest crashes its kernel (sysrq) as
#                         MODE starts, so that MODE and the later modes are run again
#   --wedge-in MODE       the same with a guest that stops printing and spins as MODE starts
#                         (stopped by the host after --stall-timeout + 90 s of silence)
#   -h, --help            this text
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# Tests that do not run in the guest, each with the reason. Everything else runs, in every mode
# (but the ONCE tests below).
EXCLUDED=(
  # A loop device on a file of the held FUSE mount: the guest's busybox losetup fails to set it up
  # ("No such file or directory" for the FUSE file, which util-linux's losetup opens on the host),
  # so it runs on the host only (ctest's integration suite). Not investigated further yet.
  'BlockerCausesTest.LoopDeviceReaderOnAHeldFuseFileIsBlockIoNamingTheDaemon'
  # The tests' own leftover check telling its process tree's mounts and loop devices from another
  # run's: test-harness logic, the same on every kernel, and it sets up loop devices on FUSE
  # files, which the guest's busybox losetup cannot (above).
  'LeftoverCheckTest.*'
  # Tests of the /metrics HTTP server against a real Prometheus server: no probe and no kernel
  # feature involved, so the same in every mode (ctest runs it on the host), and Debian's
  # prometheus binary (50 MB) would double the initramfs.
  'MetricsServer.ARealPrometheusScrapesIt'
  # Tests of the runc container fixture itself (start, exec, bind mount, cleanup): no probe
  # involved, so the same in every mode (ctest runs them on the host), and ~30 s per mode under
  # TCG. The probe's runc tests (RuncFreezeTest.*) do run in the guest.
  'RuncContainerTest.*'
  # Kubernetes names with a real containerd: containerd, its shim and ctr (about 100 MB) are not
  # in the initramfs, and names come from files, the same in every mode and kernel; ctest's host
  # run covers it. The CRI-O-style test (CrioNamesTest.*, runc only) does run in the guest.
  'KubernetesNamesTest.*'
  # Hostile cgroup names through every output format, validated by promtool (48 MB) and xmllint:
  # the names reach the outputs through the cgroup tracepoints and the resolver, the same in every
  # mode, so ctest's host run covers it.
  'HostileNames.RealCgroupsComeOutValidInEveryFormat'
  # Reads the binary's symbol table with nm: a property of the build, not of the kernel, and the
  # guest gets a stripped copy.
  'Security.BinaryLinksNoShellLauncher'
)

# The kernel-sensitive tests: what runs on every kernel, in every mode. Each depends on kernel
# code that changed between 5.8 and today, or on which BPF helpers, hook points and BPF objects a
# kernel and a mode use; the reason is beside each. The others test userspace (outputs, command
# line, metrics server, report files, the FUSE and runc fixtures) through the same event stream,
# the same whatever the kernel and mode, so they run once: on one kernel, in its first mode
# (--tests all).
KERNEL_TESTS=(
  # Freeze writes through each mode's hooks: v1 freezer_write, v2 cgroup_freeze_write, and the
  # writer's thread (kernfs_fop_write_iter's arguments and the iov_iter layout differ by kernel).
  'FreezeWriteTest.*'
  # The kernel's errno for each bad write, and a write refused before any handler runs (ENODEV),
  # whose bytes come from bpf_task_pt_regs (5.15+) or from the iov_iter (before).
  'WriteErrorsTest.*'
  # cgroup.procs writes (cgroup_procs_write vs cgroup1_procs_write) and the written bytes.
  'ProcsWriteTest.*'
  'WrittenBytesTest.*'
  # Episodes: the cgroup tracepoints (removal while freezing) and a thread killed inside a watched
  # write (kretprobe/fexit never fires: the pending entry must still go).
  'ChurnTest.*'
  # A freeze held by a FUSE reader: FUSE (a module on 5.10 and 6.1), the freezer (PF_FROZEN before
  # 6.1, TASK_FROZEN after) and the blocker scan's task iterator.
  'FreezeStallTest.*'
  # The task iterator's view of each task's freezer request (task_struct's state field was renamed
  # in 5.14; the v1 freezer's fields are read through CO-RE).
  'TaskScanTest.*'
  # Ring-buffer losses counted and reported.
  'LostEvents.*'
  # The tracepoint mode's in-kernel filter learns kernfs' file_operations on this kernel.
  'UnrelatedWritesTest.*'
  # The kprobe mode's returns missed by a kretprobe (maxactive), counted as lost.
  'KretprobeMisses.*'
  # The tracepoint mode's spare syscall programs: where the kernel runs syscall tracepoint
  # programs preemptibly (7.x) they make up for the runs it skips, and what all copies missed is
  # counted lost (about 1 s; ONCE below: it forces tracepoint mode itself).
  'SpareHooksTest.*'
  # What each mode leaves in the kernel when killed (tracing links, perf events, kprobe_events).
  'LifetimeTest.NothingIsLeftInTheKernelAfterSigkill'
  # Each mode loads here and auto picks fentry; doctor on this kernel (ONCE below).
  'AttachModeTest.*'
  'CommandLine.DoctorFindsAWorkingMode'
  # The demo, as a user runs it, on this kernel and in this mode (it attaches in the suite's mode):
  # every step above, plus runc's "unable to freeze" (about 15-20 s under TCG).
  'CommandLine.DemoSeesEveryWriteItMakes'
  # runc exec during a runc pause that a FUSE reader makes fail: runc's v1 retry loop (1000
  # freezes, a thaw every 50) with processes joining; the v1 freezer's handling of tasks that
  # join a freezing cgroup changed over the kernels (about 20 s; ONCE below: in the first mode).
  'RuncFreezeTest.ExecDuringAFailingPauseIsCountedAsAJoinByItsRunc'
)

# Tests that try every attach mode themselves (AttachModeTest loads and compares all of them, doctor
# tries each): they run in the first mode only, since FREEZEPROBE_TEST_ATTACH does not change them.
ONCE=(
  'AttachModeTest.*'
  'CommandLine.DoctorFindsAWorkingMode'
  # runc exec during a pause: about 20 s under TCG, so once per kernel; its probe hooks are the
  # ones the tests above cover in every mode (the demo, which also makes runc fail, runs in each).
  'RuncFreezeTest.ExecDuringAFailingPauseIsCountedAsAJoinByItsRunc'
  # Forces kprobe mode itself.
  'KretprobeMisses.*'
  # Forces tracepoint mode itself.
  'SpareHooksTest.*'
)

# The layout-sensitive tests the guest runs in each --layouts layout: the probe's own cgroup
# paths (freeze and procs writes, errno, churn, the FUSE stall and the task scan) and the demo,
# about 60 s per layout in the 6.1 guest (v2 59 s, v1 61 s). The rest of tools/layout.sh's list
# (runc's pause paths, watch's outputs, doctor, attach modes, start writes nothing: about 120-170 s
# more per layout there) runs in every layout on the host (ctest layout.*), or with
# --layout-tests all.
LAYOUT_TESTS=(
  'FreezeWriteTest.*' 'ProcsWriteTest.*' 'WriteErrorsTest.*' 'ChurnTest.*' 'FreezeStallTest.*'
  'TaskScanTest.*' 'HangFuseTest.HeldReadBlocks*' 'CommandLine.DemoSeesEveryWriteItMakes'
)

BUILD=$ROOT/build
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
TESTS_KIND=all
MODES="fentry kprobe tracepoint"
FILTER=""
MODE_TIMEOUT=600
STALL_TIMEOUT=150
REPEAT=1
VERBOSE=0
DEBUG_GUEST=0
BENCH_WRITES=""
PANIC_IN=""
PANIC_HOW=crash
LAYOUTS=""
LAYOUT_KIND=""
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  echo "Excluded by default, with the reasons:"
  sed -n '/^EXCLUDED=(/,/^)/p' "$0" | sed '1d; $d'
}
while (($#)); do
  case $1 in
    --build-dir) BUILD=$2; shift 2 ;;
    --kernel) SUITE=$2; shift 2 ;;
    --tests) TESTS_KIND=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --filter) FILTER=$2; shift 2 ;;
    --mode-timeout) MODE_TIMEOUT=$2; shift 2 ;;
    --stall-timeout) STALL_TIMEOUT=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --layouts) LAYOUTS=$2; shift 2 ;;
    --layout-tests) LAYOUT_KIND=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    --debug-guest) DEBUG_GUEST=1; shift ;;
    --bench) BENCH_WRITES=$2; shift 2 ;;
    --panic-in) PANIC_IN=$2; shift 2 ;;
    --wedge-in) PANIC_IN=$2 PANIC_HOW=wedge; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "vm: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
usage_error() { echo "vm: $*" >&2; exit 2; }
[[ $MODE_TIMEOUT =~ ^[1-9][0-9]*$ ]] || usage_error "--mode-timeout needs a number of seconds"
[[ $STALL_TIMEOUT =~ ^[1-9][0-9]*$ ]] || usage_error "--stall-timeout needs a number of seconds"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || usage_error "--repeat needs a count"
[[ -z $BENCH_WRITES || $BENCH_WRITES =~ ^[1-9][0-9]*$ ]] || usage_error "--bench needs a count"
read -r -a MODE_LIST <<<"$MODES"
((${#MODE_LIST[@]})) || usage_error "--modes is empty"
declare -A seen=()
for m in "${MODE_LIST[@]}"; do
  [[ $m =~ ^[a-z_]+$ ]] || usage_error "bad mode name '$m'"
  [[ -z ${seen[$m]:-} ]] || usage_error "mode $m given twice"
  seen[$m]=1
done
for l in $LAYOUTS; do
  [[ $l == v2 || $l == v1 || $l == hybrid ]] || usage_error "unknown layout '$l' (v2, v1, hybrid)"
done
[[ -z $LAYOUT_KIND || $LAYOUT_KIND == all ]] || usage_error "--layout-tests takes all"
LAYOUT_FILTER="$(IFS=:; echo "${LAYOUT_TESTS[*]}")"
if [[ $LAYOUT_KIND == all ]]; then
  LAYOUT_FILTER="$(bash "$ROOT/tools/layout.sh" --print-filter)-$(IFS=:; echo "${EXCLUDED[*]}")"
fi
[[ $SUITE =~ ^[a-z][a-z0-9-]*$ ]] || usage_error "--kernel needs a Debian suite name"
[[ -z $PANIC_IN || -n ${seen[$PANIC_IN]:-} ]] || usage_error "--panic-in needs one of the modes"
[[ $TESTS_KIND == all || $TESTS_KIND == kernel ]] || usage_error "--tests is all or kernel"
LATER_FILTER=$FILTER
if [[ -z $FILTER && $TESTS_KIND == kernel ]]; then
  FILTER="$(IFS=:; echo "${KERNEL_TESTS[*]}")"
  LATER_FILTER=$FILTER
elif [[ -z $FILTER ]]; then
  FILTER="*-$(IFS=:; echo "${EXCLUDED[*]}")"
  LATER_FILTER="$(IFS=:; echo "${KERNEL_TESTS[*]}")"
fi
[[ $FILTER != *"'"* ]] || usage_error "the gtest filter cannot contain a quote"

BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "vm: no build directory $BUILD" >&2; exit 1; }
FREEZEPROBE=$BUILD/userspace/freezeprobe
TESTS=$BUILD/tests/freezeprobe_integration_tests
bash "$ROOT/tools/check_static.sh" "$FREEZEPROBE" "$TESTS" >/dev/null ||
  { echo "vm: the guest needs both binaries built and static (FREEZEPROBE_STATIC=ON)" >&2; exit 1; }
for tool in qemu-system-x86_64 apt-get dpkg-deb cpio gzip /bin/busybox /usr/bin/xmllint runc; do
  command -v "$tool" >/dev/null ||
    { echo "vm: $tool is missing (bash tools/setup.sh)" >&2; exit 1; }
done
bash "$ROOT/tools/check_static.sh" /bin/busybox >/dev/null ||
  { echo "vm: /bin/busybox is not static (install busybox-static)" >&2; exit 1; }

WORK=$BUILD/vm/$SUITE
mkdir -p "$WORK"

# --- the kernel: fetched and cached by fetch_kernel.sh, never installed ---
KDIR=$(bash "$ROOT/tools/vm/fetch_kernel.sh" "$SUITE" "$BUILD/vm/kernel") ||
  { echo "vm: cannot fetch the $SUITE cloud kernel" >&2; exit 1; }
KVER=$(cat "$KDIR/release")

# --- the initramfs ---
STAGE=$WORK/initramfs
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,dev,proc,sys,tmp,run,etc,opt/freezeprobe,lib/modules}
cp /bin/busybox "$STAGE/bin/busybox"
install -m 0755 "$ROOT/tools/vm/init.sh" "$STAGE/init"
strip -o "$STAGE/opt/freezeprobe/freezeprobe" "$FREEZEPROBE"
strip -o "$STAGE/opt/freezeprobe/freezeprobe_integration_tests" "$TESTS"
cp "$KDIR"/modules.order "$STAGE/lib/modules/" # loaded in this order by init.sh
find "$KDIR/modules" -name '*.ko' -exec cp {} "$STAGE/lib/modules/" \;
# A dynamically linked program with the libraries ldd names, at the same paths.
add_program() {
  local lib
  mkdir -p "$STAGE$(dirname "$1")" && cp -L "$1" "$STAGE$1"
  for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
    mkdir -p "$STAGE$(dirname "$lib")" && cp -L "$lib" "$STAGE$lib"
  done
}
add_program /usr/bin/xmllint # the JUnit tests validate their XML with it
add_program "$(command -v runc)" # the runc tests drive real containers
add_program /usr/sbin/bpftool # the lifetime and churn tests list our BPF objects and maps
# The host's sh (dash) and cat, which the tests' shell commands run: busybox's cat reads with
# sendfile(2), which tracepoint mode does not see, where the tests mean a reader of freezer.state
# like runc, which uses read(2); and busybox's sh runs its own applets before those in PATH.
add_program /bin/dash
ln -s dash "$STAGE/bin/sh"
add_program /bin/cat
if [[ -n $BENCH_WRITES ]]; then
  cc -O2 -static -o "$STAGE/opt/freezeprobe/write_loop" "$ROOT/tools/bench/write_loop.c"
fi
# Writes the guest's settings for modes "$1" (crashing as mode "$2" starts) and layouts "$3"
# into the initramfs and packs it.
pack_initramfs() {
  {
    echo "BENCH_WRITES='$BENCH_WRITES'"
    echo "MODES='$1'"
    echo "PANIC_IN='$2'"
    echo "PANIC_HOW='$PANIC_HOW'"
    echo "FIRST_MODE='${MODE_LIST[0]}'"
    echo "GTEST_FILTER='$FILTER'"
    echo "LATER_FILTER='$LATER_FILTER'"
    echo "ONCE_TESTS='$(IFS=:; echo "${ONCE[*]}")'"
    echo "MODE_TIMEOUT=$MODE_TIMEOUT"
    echo "STALL_TIMEOUT=$STALL_TIMEOUT"
    echo "REPEAT=$REPEAT"
    echo "LAYOUTS='$3'"
    echo "LAYOUT_FILTER='$LAYOUT_FILTER'"
    echo "DEBUG_GUEST=$DEBUG_GUEST"
  } >"$STAGE/etc/vm-test.conf"
  (cd "$STAGE" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
    gzip -1 >"$WORK/initramfs.cpio.gz"
}

# --- boot ---
# Boots one guest that runs modes "$1" then layouts "$4", its console to file $2 (crashing as
# mode "$3" starts); sets qemu_status and HOST_TIMEOUT.
boot_guest() {
  local modes count
  modes=$1
  read -r -a count <<<"$modes $4"
  HOST_TIMEOUT=$((${#count[@]} * MODE_TIMEOUT + 120))
  pack_initramfs "$modes" "${3:-}" "${4:-}"
  echo "vm: booting $KVER under TCG, modes: $modes (console: $2, limit ${HOST_TIMEOUT}s)"
  local append="console=ttyS0 panic=-1 quiet" debug=()
  if ((DEBUG_GUEST)); then
    append="console=ttyS0 panic=-1 ignore_loglevel nokaslr sysrq_always_enabled unknown_nmi_panic"
    append+=" panic_print=0x41 softlockup_all_cpu_backtrace=1 sysctl.kernel.hung_task_timeout_secs=30"
    append+=" sysctl.kernel.hung_task_warnings=-1"
    rm -f "$WORK/monitor.sock" "$WORK/monitor.log" "$WORK/kallsyms.gz"
    debug=(-monitor "unix:$WORK/monitor.sock,server=on,wait=off"
      -serial stdio -serial "file:$WORK/kallsyms.gz")
  fi
  local qemu=(qemu-system-x86_64 -accel tcg -smp 2 -m "${GUEST_MEMORY:-1G}" -nographic -no-reboot
    -nic none -kernel "$KDIR/vmlinuz" -initrd "$WORK/initramfs.cpio.gz" -append "$append"
    "${debug[@]}")
  DEBUG_STAGE=0
  set +e
  timeout -k 10 "$HOST_TIMEOUT" "${qemu[@]}" </dev/null >"$2" 2>&1 &
  local qemu_pid=$! tail_pid="" size=-1 now silent=0 SILENCE_TIMEOUT=$((STALL_TIMEOUT + 90))
  if ((VERBOSE)); then
    tail -f --pid="$qemu_pid" "$2" &
    tail_pid=$!
  fi
  # A guest that prints nothing at all, not even its own stall watchdog's dump, for
  # SILENCE_TIMEOUT seconds is wedged (under QEMU's multi-threaded TCG a vCPU can loop for good,
  # interrupts off, on a stale int3 of the kernel's own code patching: see init.sh's freezer key
  # holder): stopped here, with a VM-SILENT line that the panic path below handles like a panic.
  while kill -0 "$qemu_pid" 2>/dev/null; do
    sleep 5
    now=$(stat -c %s "$2" 2>/dev/null || echo 0)
    if ((now != size)); then size=$now silent=0; else silent=$((silent + 5)); fi
    if ((DEBUG_GUEST)); then debug_on_silence "$silent"; fi
    if [[ -z $BENCH_WRITES ]] && ((silent >= SILENCE_TIMEOUT)); then
      kill "$qemu_pid" 2>/dev/null # timeout passes it on to QEMU
      break
    fi
  done
  wait "$qemu_pid"
  qemu_status=$?
  if [[ -n $tail_pid ]]; then wait "$tail_pid"; fi
  if [[ -z $BENCH_WRITES ]] && ((silent >= SILENCE_TIMEOUT)); then
    echo "VM-SILENT the guest printed nothing for ${silent}s: QEMU stopped by the host" | tee -a "$2"
  fi
  set -e
}
# --debug-guest: sends QEMU monitor commands "$@", their answers appended to monitor.log.
monitor() {
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(1)
def drain():
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    return out.decode(errors="replace")
drain()
for command in sys.argv[2:]:
    print("=== " + time.strftime("%H:%M:%S") + " " + command)
    s.sendall(command.encode() + b"\n")
    time.sleep(0.5)
    print(drain())
' "$WORK/monitor.sock" "$@" >>"$WORK/monitor.log" 2>&1
}
# --debug-guest: the console has been silent for $1 seconds (boot_guest's watch): at 60 s, records
# the vCPUs' registers and asks the guest kernel for its sysrq dumps; at 180 s, the registers
# again and an NMI.
debug_on_silence() {
  [[ -S $WORK/monitor.sock ]] || return 0
  if ((DEBUG_STAGE == 0 && $1 >= 60)); then
    echo "vm: --debug-guest: the console was silent for ${1}s: registers into" \
      "$WORK/monitor.log, sysrq l w m t" >&2
    # Each vCPU's registers, three times, and the top of each one's stack (kernel addresses
    # there, read against kallsyms.gz, make a rough backtrace even when the guest cannot print).
    monitor "info registers -a" "info registers -a" "info registers -a" \
      "cpu 0" 'x/96gx $sp' "cpu 1" 'x/96gx $sp' \
      "sendkey alt-sysrq-l" "sendkey alt-sysrq-w" "sendkey alt-sysrq-m" "sendkey alt-sysrq-t" ||
      true
    DEBUG_STAGE=1
  elif ((DEBUG_STAGE == 1 && $1 >= 180)); then
    echo "vm: --debug-guest: still silent: registers again and an NMI (the guest panics)" >&2
    monitor "info registers -a" "info registers -a" "nmi" || true
    DEBUG_STAGE=2
  fi
}
# Mode $1's whole result line in console text $2 (a panic's output can cut the line that was
# being printed: a cut line is no result).
result_line() {
  grep -E "^VM-RESULT mode=$1 tests=[0-9]+ ran=[0-9]+ passed=[0-9]+ failed=[0-9]+ skipped=[0-9]+ exit=[^ ]+( seconds=[0-9]+)?\$" <<<"$2" |
    tail -n1 || true
}
# Console file $1 without CRs and terminal escapes (the firmware clears the screen).
clean_console() { sed 's/\r$//; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' "$1"; }
# The first line of a guest kernel panic or Oops in console text $1, without the kernel's
# timestamp; nothing if there is none. The kernel prints a panic at once, while what the guest's
# programs wrote before it may still be queued for the console and come after it (a mode's
# result line too), so this is the first such line after the last result line, or else the last
# such line.
panic_line() {
  awk '/^VM-RESULT / { after = "" }
    /Kernel panic|Oops:|^VM-SILENT / { last = $0; if (after == "") after = $0 }
    END { if (after != "") print after; else if (last != "") print last }' <<<"$1" |
    sed 's/^\[ *[0-9.]*\] //'
}

LOG=$WORK/console.log
PANICKED_LOG=$WORK/console.panicked.log
rm -f "$PANICKED_LOG"
read -r -a LAYOUT_LIST <<<"$LAYOUTS"
start=$(date +%s)
boot_guest "${MODE_LIST[*]}" "$LOG" "$PANIC_IN" "$LAYOUTS"
console=$(clean_console "$LOG")
# A guest kernel that panics or oopses in a mode (under TCG, "Oops: int3" has hit a text-poke
# breakpoint of the kernel's own code patching) leaves that mode and the later ones without a
# result line: those modes, and only those, run once more in a fresh guest, and the panicked
# boot's console is kept. A mode that has its result line is never run again, whatever it says;
# a second panic fails the run.
SECOND_PANIC=0
FAILED_BEFORE_PANIC=0
RERUN=" "
panic=$(panic_line "$console")
if [[ -z $BENCH_WRITES && -n $panic ]]; then
  missing=()
  for m in "${MODE_LIST[@]}"; do
    [[ -n $(result_line "$m" "$console") ]] || missing+=("$m")
  done
  # The layouts run after the modes: those without a whole result line run again too.
  missing_layouts=()
  for l in "${LAYOUT_LIST[@]}"; do
    grep -qE "^VM-LAYOUT-RESULT layout=$l .* exit=[^ ]+( seconds=[0-9]+)?\$" <<<"$console" ||
      missing_layouts+=("$l")
  done
  if ((${#missing[@]} + ${#missing_layouts[@]})); then
    mv "$LOG" "$PANICKED_LOG"
    for m in "${missing[@]}"; do
      grep -E "^VM-RESULT mode=$m " <<<"$console" | sed 's/^/vm: its result line, cut by the panic: /' || true
      # Tests this mode failed before the panic stay failed, whatever the second guest says.
      if grep -qE "^VM-FAILED mode=$m " <<<"$console"; then
        grep -E "^VM-FAILED mode=$m " <<<"$console" | sed 's/^VM-FAILED /vm: failed before the panic: /'
        FAILED_BEFORE_PANIC=1
      fi
      echo "vm: GUEST PANIC kernel=$KVER mode=$m: no result; the console says: $panic" \
        "(console kept: $PANICKED_LOG); running this mode again in a fresh guest"
    done
    first_console=$console
    RERUN=" ${missing[*]} "
    for l in "${missing_layouts[@]}"; do
      echo "vm: GUEST PANIC kernel=$KVER layout=$l: no result; the console says: $panic;" \
        "running this layout again in a fresh guest"
    done
    boot_guest "${missing[*]}" "$LOG" "" "${missing_layouts[*]}"
    console=$(clean_console "$LOG")
    panic=$(panic_line "$console")
    if [[ -n $panic ]]; then
      echo "vm: GUEST PANIC again kernel=$KVER modes=${missing[*]}: $panic (console: $LOG)"
      SECOND_PANIC=1
    fi
    # Both guests' results: the first one's for the modes it finished, the retry's for the others.
    console=$(printf '%s\n%s\n' "$(grep -v '^VM-DONE' <<<"$first_console" || true)" "$console")
  fi
fi
elapsed=$(($(date +%s) - start))

# --- results ---
status=0
if ((SECOND_PANIC || FAILED_BEFORE_PANIC)); then status=1; fi
if [[ -n $BENCH_WRITES ]]; then
  # VM-BENCH mode=M round=R ns=N lines -> median per mode and its ratio to no probe.
  echo "vm: $KVER, ${elapsed}s; $BENCH_WRITES 1-byte writes to /dev/null per run, 5 rounds (TCG):"
  grep '^VM-BENCH ' <<<"$console" | awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      n[f["mode"]]++; v[f["mode"], n[f["mode"]]] = f["ns"]; if (!(f["mode"] in seen)) { seen[f["mode"]] = 1; order[++m] = f["mode"] } }
    function median(mode,   k, j, t, a, c) {
      c = n[mode]; for (k = 1; k <= c; k++) a[k] = v[mode, k]
      for (k = 1; k <= c; k++) for (j = k + 1; j <= c; j++) if (a[j] < a[k]) { t = a[k]; a[k] = a[j]; a[j] = t }
      return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
    END { if (!("none" in seen)) { print "vm: no benchmark results"; exit 1 }
      base = median("none")
      for (k = 1; k <= m; k++) printf "  %-10s median %8.1f ms  ratio %.3f  (%d runs)\n", order[k], median(order[k]) / 1e6, median(order[k]) / base, n[order[k]] }'
  exit $?
fi
echo "vm: $SUITE $KVER, ${elapsed}s in all; --attach auto chose: $(sed -n 's/^VM-AUTO mode=//p' <<<"$console" | tail -n1)"
echo "vm: per kernel x mode ($TESTS_KIND tests):"
for m in "${MODE_LIST[@]}"; do
  line=$(result_line "$m" "$console")
  if [[ -z $line ]]; then
    echo "  kernel=$KVER mode=$m: NO RESULT (the guest never finished this mode)"
    grep -E "^VM-RESULT mode=$m " <<<"$console" | sed 's/^/    a cut result line: /' || true
    status=1
    continue
  fi
  note=""
  [[ $RERUN == *" $m "* ]] && note=" (in a second guest: the first one panicked or fell silent)"
  echo "  kernel=$KVER ${line#VM-RESULT }$note"
  declare -A r=()
  for kv in ${line#VM-RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  if [[ ${r[exit]:-} != 0 || ${r[failed]:-} != 0 || ${r[skipped]:-} != 0 ||
    ${r[tests]:-0} == 0 || ${r[ran]:-} != "${r[tests]:-}" || ${r[passed]:-} != "${r[tests]:-}" ]]
  then
    status=1
    grep -E "^VM-ATTACH-FAILED mode=$m: " <<<"$console" |
      sed 's/^VM-ATTACH-FAILED mode=[^ ]* /    cannot attach: /' || true
    grep -E "^VM-FAILED mode=$m " <<<"$console" | sed 's/^VM-FAILED /    FAILED /' || true
    grep -E "^VM-SKIPPED mode=$m " <<<"$console" | sed 's/^VM-SKIPPED /    SKIPPED /' || true
  fi
  unset r
done
for l in "${LAYOUT_LIST[@]}"; do
  line=$(grep -E "^VM-LAYOUT-RESULT layout=$l " <<<"$console" | tail -n1 || true)
  if [[ -z $line ]]; then
    echo "  kernel=$KVER layout=$l: NO RESULT (the guest never finished this layout)"
    status=1
    continue
  fi
  echo "  kernel=$KVER ${line#VM-LAYOUT-RESULT }"
  grep -E "^VM-LAYOUT-SKIPPED layout=$l " <<<"$console" | sed 's/^VM-LAYOUT-SKIPPED /    skipped /' || true
  declare -A r=()
  for kv in ${line#VM-LAYOUT-RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  if [[ ${r[exit]:-} != 0 || ${r[failed]:-} != 0 || ${r[ran]:-0} == 0 ]]; then
    status=1
    grep -E "^VM-LAYOUT-FAILED layout=$l " <<<"$console" | sed 's/^VM-LAYOUT-FAILED /    FAILED /' || true
  fi
  unset r
done
grep '^VM-INIT-FAILED' <<<"$console" | sed 's/^VM-INIT-FAILED /vm: guest set-up failed: /' || true
if grep -q '^VM-STALL' <<<"$console"; then
  status=1
  echo "vm: a suite stalled; every task as the guest's watchdog saw it (first 300 lines):"
  grep '^VM-STALL' <<<"$console" | head -n 300 | sed 's/^VM-STALL /    /'
  # Last, where a CI log's tail shows it: what stalled, and only the threads that were running
  # or in uninterruptible sleep, with their kernel stacks.
  echo "vm: the stall in short (threads running or in uninterruptible sleep):"
  grep '^VM-STALL' <<<"$console" | awk '
    /^VM-STALL mode=/ { print "    " substr($0, 10); next }
    /^VM-STALL task / { task = substr($0, 15); next }
    /^VM-STALL   thread / { keep = / state=[DR] /; if (keep) print "    in " task ": " substr($0, 19); next }
    /^VM-STALL     / { if (keep) print "        " substr($0, 14) }' | head -n 60
fi
grep '^VM-WEDGED' <<<"$console" | sed 's/^VM-WEDGED /vm: /' || true
if ! grep -q '^VM-DONE' <<<"$console"; then
  status=1
  if ((qemu_status == 124 || qemu_status == 137)); then
    echo "vm: the guest did not finish: killed after ${HOST_TIMEOUT}s"
  else
    echo "vm: the guest did not finish (qemu exit status $qemu_status)"
  fi
  echo "vm: last console lines:"
  tail -n 30 <<<"$console" | sed 's/^/    /'
fi
((status == 0)) && echo "vm: all modes passed" || echo "vm: FAILED (console log: $LOG)"
exit $status
