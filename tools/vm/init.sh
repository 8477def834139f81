#!/bin/busybox sh
# /init of the VM test runner's initramfs (tools/vm/run.sh builds it): sets up the same hybrid
# cgroup layout as the CI host, runs the integration suite once per attach mode and prints one
# VM-RESULT line per mode on the serial console, then powers off. Settings come from
# /etc/vm-test.conf (MODES, FIRST_MODE, GTEST_FILTER, LATER_FILTER, ONCE_TESTS, MODE_TIMEOUT,
# LAYOUTS, LAYOUT_FILTER).
# runc cannot pivot_root out of the initramfs root (the rootfs mount cannot be moved), so first
# copy everything onto a tmpfs and make that the root; this script then starts again from there.
if [ ! -e /.on-tmpfs ]; then
  /bin/busybox mkdir /newroot
  /bin/busybox mount -t tmpfs -o mode=755 tmpfs /newroot
  for f in /*; do [ "$f" = /newroot ] || /bin/busybox cp -a "$f" /newroot/; done
  /bin/busybox touch /newroot/.on-tmpfs
  exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin HOME=/root
. /etc/vm-test.conf

fail_boot() {
  echo "VM-INIT-FAILED $*"
  echo VM-DONE
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The links every Debian system has in /dev (systemd and udev make them; devtmpfs does not). The
# kernel names a program run by execveat(fd, "", AT_EMPTY_PATH) "/dev/fd/<fd>", and TOMOYO (an LSM
# of Debian's kernels) looks that name up at each exec; before its fix (Debian bug 1082001, in
# Debian 12's 6.1 but not 11's 5.10.223) a name that does not resolve fails the exec with ENOENT.
# runc 1.1 re-executes itself so (its cloned-binary check), and without /dev/fd it cannot start a
# container on 5.10: "nsexec: could not ensure we are a cloned binary: No such file or directory".
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=1777 tmpfs /tmp
# Where systemd mounts it: the kprobe mode makes its kretprobes there (kprobe_events, with a
# maxactive of its own) and reads their missed returns (kprobe_profile).
mount -t tracefs tracefs /sys/kernel/tracing || fail_boot "tracefs on /sys/kernel/tracing"
mkdir -p /root
# run.sh --debug-guest: this boot has no KASLR; its text symbols go to the second serial port
# (run.sh's kallsyms.gz), to read the addresses of a wedged guest's vCPUs against.
if [ "${DEBUG_GUEST:-0}" = 1 ]; then
  stty -F /dev/ttyS1 raw -echo 115200
  grep ' [tT] ' /proc/kallsyms | gzip -1 >/dev/ttyS1
  echo "VM-DEBUG text symbols written to ttyS1 (kallsyms.gz)"
fi

# A cgroup layout at /sys/fs/cgroup (what was mounted there is unmounted first):
#   hybrid  the host's: a tmpfs, one v1 hierarchy per controller (the tests use the freezer), a
#           named systemd one, and cgroup2 at /sys/fs/cgroup/unified
#   v1      the same without cgroup2 (legacy)
#   v2      cgroup2 at /sys/fs/cgroup and no v1 hierarchy
# A v1 hierarchy the tests left empty is destroyed when unmounted, its controllers free again.
# The v1 freezer turns the kernel's freezer_active static key on while any v1 cgroup is freezing,
# and off again when none is (6.1 and later): every freeze or thaw of the only freezing cgroup
# rewrites the kernel's text at each freezing() check (text_poke_bp: an int3 first, then the new
# jump). Under QEMU's multi-threaded TCG (7.2) a vCPU can keep running a stale translation of
# such a site that still holds the int3 after the kernel has finished patching it; the kernel's
# int3 handler sees no int3 in memory, backs up and runs the "original instruction" again, which
# is the stale int3 again: a loop with interrupts off (recalc_sigpending in ret_from_fork, under
# the sighand lock), on both vCPUs, with no console output at all. The runc v1 loops and fork
# storms of the tests hit it (ForkStormTest's v1 storm, the demo; run.sh --debug-guest caught
# it). So the guest keeps one empty v1 freezer cgroup frozen while a v1 freezer is mounted: the
# key stays on and the tests' freezes patch nothing.
KEY_HOLDER=/sys/fs/cgroup/freezer/vm-freezer-key-holder
hold_freezer_key() {
  [ -d /sys/fs/cgroup/freezer ] || return 0
  mkdir "$KEY_HOLDER" && echo FROZEN >"$KEY_HOLDER/freezer.state"
}
release_freezer_key() {
  [ -d "$KEY_HOLDER" ] || return 0
  echo THAWED >"$KEY_HOLDER/freezer.state" && rmdir "$KEY_HOLDER"
}
mount_layout() {
  release_freezer_key
  for m in $(awk '$2 ~ "^/sys/fs/cgroup/" { print $2 }' /proc/mounts); do umount "$m"; done
  ! grep -q ' /sys/fs/cgroup ' /proc/mounts || umount /sys/fs/cgroup
  if [ "$1" = v2 ]; then
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    return
  fi
  mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup || return 1
  # /proc/cgroups lists v2-only controllers too (6.12's cpuset without CONFIG_CPUSETS_V1): a
  # controller other than the freezer that cannot be mounted on v1 is left out.
  for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
    if grep -q "^$c	" /proc/cgroups; then
      mkdir /sys/fs/cgroup/$c
      if ! mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c; then
        [ $c = freezer ] && return 1
        echo "VM-INIT: v1 controller $c cannot be mounted on this kernel"
        rmdir /sys/fs/cgroup/$c
      fi
    else
      echo "VM-INIT: no v1 controller $c in this kernel"
    fi
  done
  mkdir /sys/fs/cgroup/systemd
  mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd || return 1
  hold_freezer_key || return 1
  [ "$1" = v1 ] && return
  mkdir /sys/fs/cgroup/unified
  mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
}
mount_layout hybrid || fail_boot "the hybrid cgroup layout"
# The modules the tests need that this kernel has as modules (FUSE up to Debian 12), in the order
# run.sh found them (dependencies first); a kernel that builds them in lists none.
while read -r module; do
  insmod "/lib/modules/$module.ko" || fail_boot "insmod $module.ko"
done </lib/modules/modules.order
ip link set lo up # the metrics server tests listen on 127.0.0.1 and ::1

# The number gtest gives on its summary line "[<TAG>] N test(s)<REST>" in file $1, or 0.
# With --repeat, gtest prints one summary per round: their sum.
summary_count() {
  sed -n "s/^\[$2\] \([0-9]*\) tests\{0,1\}$3.*/\1/p" "$1" | awk '{ n += $1 } END { print n + 0 }'
}
# gtest names each failed and skipped test again after its summary; one marker line each.
list_tests() {
  sed -n '/tests\{0,1\}, listed below/,$p' "$1" |
    sed -n "s/^\[  $2 *\] \([^ ,]*\)\(, .*\)\{0,1\}\$/VM-$2 mode=$3 test=\1/p"
}

uptime_s() { cut -d. -f1 /proc/uptime; }

# Every user task, and every task in uninterruptible sleep, with its threads' states, wchans and
# kernel stacks; then the kernel log's tail (hung-task and RCU-stall reports land there).
# One VM-STALL line each, so that the host can pick them out of the console.
dump_tasks() {
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = 1 ] && continue
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "$d/status" 2>/dev/null)
    [ -s "$d/cmdline" ] || [ "$state" = D ] || continue
    echo "VM-STALL task $p $(cat "$d/comm" 2>/dev/null) state=$state: $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-120)"
    for t in "$d"/task/*; do
      echo "VM-STALL   thread ${t##*/} $(cat "$t/comm" 2>/dev/null)" \
        "state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "$t/status" 2>/dev/null)" \
        "wchan=$(cat "$t/wchan" 2>/dev/null)"
      sed 's/^/VM-STALL     /' "$t/stack" 2>/dev/null
    done
  done
  dmesg | tail -n 60 | sed 's/^/VM-STALL dmesg: /'
}

# What a killed suite may leave that keeps its tasks from dying: frozen cgroups (a task frozen by
# the v1 freezer ignores SIGKILL until thawed) and FUSE requests nobody will answer.
release_everything() {
  for f in /sys/fs/cgroup/freezer/*/freezer.state /sys/fs/cgroup/freezer/*/*/freezer.state \
    /sys/fs/cgroup/freezer/*/*/*/freezer.state; do
    [ -f "$f" ] && echo THAWED >"$f" 2>/dev/null
  done
  for f in /sys/fs/cgroup/unified/*/cgroup.freeze /sys/fs/cgroup/unified/*/*/cgroup.freeze \
    /sys/fs/cgroup/unified/*/*/*/cgroup.freeze; do
    [ -f "$f" ] && echo 0 >"$f" 2>/dev/null
  done
  for f in /sys/fs/fuse/connections/*/abort; do
    [ -f "$f" ] && echo 1 >"$f" 2>/dev/null
  done
}

# Runs mode $1's suite with filter $2, output to file $3 (and the console as it comes), exit
# status to $3.exit. A watchdog kills it when it prints nothing for STALL_TIMEOUT seconds or runs
# over MODE_TIMEOUT, after dumping every task (VM-STALL lines). Returns 1 if the suite's tasks
# could not be killed: the kernel is wedged, and nothing more can be trusted in this boot.
run_suite() {
  : >"$3"
  rm -f "$3.exit"
  FREEZEPROBE_TEST_ATTACH=$1 $TESTS --gtest_filter="$2" --gtest_repeat="$REPEAT" >"$3" 2>&1 &
  suite=$!
  tail -f "$3" &
  follower=$!
  began=$(uptime_s)
  changed=$began
  size=0
  why=""
  while kill -0 "$suite" 2>/dev/null; do
    sleep 2
    now=$(uptime_s)
    new_size=$(wc -c <"$3")
    if [ "$new_size" != "$size" ]; then
      size=$new_size
      changed=$now
    fi
    if [ $((now - changed)) -ge "$STALL_TIMEOUT" ]; then
      why="printed nothing for ${STALL_TIMEOUT}s"
    elif [ $((now - began)) -ge "$MODE_TIMEOUT" ]; then
      why="ran over the mode's ${MODE_TIMEOUT}s"
    else
      continue
    fi
    last=$(sed -n 's/^\[ RUN      \] \(.*\)/\1/p' "$3" | tail -n1)
    echo "VM-STALL mode=$1 test=${last:-none}: $why; every task, then the kernel log:"
    dump_tasks
    release_everything
    kill -KILL -1 # every process but this one (PID 1): the suite and whatever it started
    break
  done
  i=0
  while kill -0 "$suite" 2>/dev/null && [ $i -lt 30 ]; do
    sleep 1
    i=$((i + 1))
  done
  if kill -0 "$suite" 2>/dev/null; then
    echo "VM-STALL mode=$1: the suite's tasks did not die 30 s after SIGKILL; as they are now:"
    dump_tasks
    kill "$follower" 2>/dev/null
    echo "unkillable" >"$3.exit"
    return 1
  fi
  wait "$suite"
  echo $? >"$3.exit"
  sleep 1 # let tail copy the last lines
  kill "$follower" 2>/dev/null
  wait "$follower" 2>/dev/null
  return 0
}

echo "VM-KERNEL $(uname -r) $(uname -v)"
TESTS=/opt/freezeprobe/freezeprobe_integration_tests
export FREEZEPROBE_BINARY=/opt/freezeprobe/freezeprobe CI=true
if [ -n "$BENCH_WRITES" ]; then
  # Unrelated-write tax per mode: write_loop alone, then under freezeprobe in each mode, in turn.
  for round in 1 2 3 4 5; do
    for mode in none $MODES; do
      if [ "$mode" != none ]; then
        $FREEZEPROBE_BINARY watch --attach "$mode" --events none 2>/tmp/bench.err &
        probe=$!
        i=0
        until grep -q attached /tmp/bench.err || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
        sleep 1 # let its start-up work (first scans, output) finish before timing
      else
        sleep 1
      fi
      ns=$(/opt/freezeprobe/write_loop "$BENCH_WRITES")
      if [ "$mode" != none ]; then kill -TERM $probe; wait $probe; fi
      echo "VM-BENCH mode=$mode round=$round ns=$ns"
    done
  done
  echo VM-DONE
  sync
  poweroff -f
fi

# This stock kernel allows BPF trampolines: AttachModeTest checks that auto picks fentry here.
export FREEZEPROBE_EXPECT_AUTO=fentry
# And kprobes: KretprobeMisses must attach in kprobe mode here.
export FREEZEPROBE_EXPECT_KPROBES=1
# What --attach auto chooses on this kernel, as a user sees it.
auto=$($FREEZEPROBE_BINARY watch --duration 0.2 --events none 2>&1 |
  sed -n 's/.*attached in .* (mode \([a-z]*\);.*/\1/p')
echo "VM-AUTO mode=${auto:-none}"
# What doctor says of this kernel (what each mode needs, what the kernel lacks), for the log.
$FREEZEPROBE_BINARY doctor 2>&1 | sed 's/^/VM-DOCTOR /'
dmesg -c >/dev/null # from here on, the kernel log holds only what the suites caused
# FIRST_MODE: the first mode of the whole run (a guest that retries the modes a panicked guest left
# without a result may not start with it).
first_mode=${FIRST_MODE:-${MODES%% *}}
for mode in $MODES; do
  # The first mode runs GTEST_FILTER, the others LATER_FILTER (the kernel- and mode-sensitive
  # tests); the tests that cover every mode themselves (ONCE_TESTS) run in the first mode only.
  filter=$GTEST_FILTER
  [ "$mode" != "$first_mode" ] && filter=$LATER_FILTER
  if [ "$mode" != "$first_mode" ] && [ -n "$ONCE_TESTS" ]; then
    case $filter in
      *-*) filter="$filter:$ONCE_TESTS" ;;
      *) filter="$filter-$ONCE_TESTS" ;;
    esac
  fi
  echo "VM-MODE-START mode=$mode filter=$filter"
  if [ "$mode" = "$PANIC_IN" ]; then # run.sh --panic-in: a test of its retry of a panicked guest
    sleep 2 # the console's queue drains first (the test is of the runner, not of a cut line)
    if [ "$PANIC_HOW" = wedge ]; then
      while :; do :; done # silent and busy, as the wedged guests were (run.sh --wedge-in)
    fi
    echo c >/proc/sysrq-trigger
  fi
  listed=$(($($TESTS --gtest_filter="$filter" --gtest_list_tests | grep -c '^  ') * REPEAT))
  # First the binary alone in this mode: a mode it cannot attach in fails here, in seconds.
  if ! attach=$($FREEZEPROBE_BINARY watch --attach "$mode" --duration 0.2 --events none 2>&1)
  then
    echo "$attach" | sed "s/^/VM-ATTACH-FAILED mode=$mode: /"
    echo "VM-RESULT mode=$mode tests=$listed ran=0 passed=0 failed=0 skipped=0 exit=attach"
    continue
  fi
  out=/tmp/out.$mode
  start=$(cut -d' ' -f1 /proc/uptime)
  wedged=0
  run_suite "$mode" "$filter" "$out" || wedged=1
  seconds=$(echo "$start $(cut -d' ' -f1 /proc/uptime)" | awk '{printf "%.0f", $2 - $1}')
  status=$(cat "$out.exit")
  ran=$(summary_count "$out" ========== ' from .* ran\.')
  list_tests "$out" FAILED "$mode"
  list_tests "$out" SKIPPED "$mode"
  if [ "$status" != 0 ] && [ "$status" != 1 ]; then # killed by the watchdog, or crashed
    last=$(sed -n 's/^\[ RUN      \] \(.*\)/\1/p' "$out" | tail -n1)
    echo "VM-FAILED mode=$mode test=${last:-none} (the suite stopped there, exit $status)"
  fi
  echo "VM-RESULT mode=$mode tests=$listed ran=$ran" \
    "passed=$(summary_count "$out" '  PASSED  ' '\.')" \
    "failed=$(summary_count "$out" '  FAILED  ' ', listed below')" \
    "skipped=$(summary_count "$out" '  SKIPPED ' ', listed below')" \
    "exit=$status seconds=$seconds"
  if [ "$wedged" = 1 ]; then
    echo "VM-WEDGED mode=$mode: tasks that SIGKILL cannot end; the modes after it are not run"
    break
  fi
done
# The layout-sensitive tests (tools/layout.sh --print-filter) in each other layout (LAYOUTS),
# in the first mode: /sys/fs/cgroup is rebuilt for each (the guest is ours; the host uses private
# mount namespaces instead). Skips are expected there (a v1-freezer test in v2 only); each is
# listed with gtest's reason.
for layout in $LAYOUTS; do
  [ "${wedged:-0}" = 1 ] && break
  echo "VM-LAYOUT-START layout=$layout mode=$first_mode filter=$LAYOUT_FILTER"
  if ! mount_layout "$layout"; then
    echo "VM-LAYOUT-RESULT layout=$layout mode=$first_mode ran=0 passed=0 failed=0 skipped=0 exit=mount"
    continue
  fi
  echo "VM-LAYOUT layout=$layout: $(awk '$3 ~ /^cgroup2?$/ { printf "%s(%s) ", $2, $3 }' /proc/mounts)"
  out=/tmp/out.layout-$layout
  start=$(cut -d' ' -f1 /proc/uptime)
  run_suite "$first_mode" "$LAYOUT_FILTER" "$out" || wedged=1
  seconds=$(echo "$start $(cut -d' ' -f1 /proc/uptime)" | awk '{printf "%.0f", $2 - $1}')
  list_tests "$out" FAILED "$first_mode" | sed "s/^VM-FAILED /VM-LAYOUT-FAILED layout=$layout /"
  # gtest prints a skip's reason on the line before "[  SKIPPED ]".
  awk -v L="$layout" '/^\[  SKIPPED \] .*\(/ { print "VM-LAYOUT-SKIPPED layout=" L " test=" $4 ": " prev }
                       { if ($0 !~ /^\[/ && $0 != "") prev = $0 }' "$out" | sed 's/: Skipped$//'
  echo "VM-LAYOUT-RESULT layout=$layout mode=$first_mode" \
    "ran=$(summary_count "$out" ========== ' from .* ran\.')" \
    "passed=$(summary_count "$out" '  PASSED  ' '\.')" \
    "failed=$(summary_count "$out" '  FAILED  ' ', listed below')" \
    "skipped=$(summary_count "$out" '  SKIPPED ' ', listed below')" \
    "exit=$(cat "$out.exit") seconds=$seconds"
done
echo VM-DONE
sync
poweroff -f
