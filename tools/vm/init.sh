#!/bin/busybox sh
# /init of the VM test runner's initramfs (tools/vm/run.sh builds it): sets up the same hybrid
# cgroup layout as the CI host, runs the integration suite once per attach mode and prints one
# VM-RESULT line per mode on the serial console, then powers off. Settings come from
# /etc/vm-test.conf (MODES, GTEST_FILTER, ONCE_TESTS, MODE_TIMEOUT).
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
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /root

# The host's hybrid layout: a tmpfs on /sys/fs/cgroup, one v1 hierarchy per controller (the tests
# use the freezer), a named systemd one, and cgroup2 at /sys/fs/cgroup/unified.
mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup || fail_boot "tmpfs on /sys/fs/cgroup"
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
  if grep -q "^$c	" /proc/cgroups; then
    mkdir /sys/fs/cgroup/$c
    mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c || fail_boot "cgroup v1 $c"
  else
    echo "VM-INIT: no v1 controller $c in this kernel"
  fi
done
mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd || fail_boot "name=systemd"
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified || fail_boot "cgroup2 on /sys/fs/cgroup/unified"
insmod /lib/modules/fuse.ko || fail_boot "insmod fuse.ko" # FUSE_FS=m in Debian's cloud kernel
ip link set lo up # the metrics server tests listen on 127.0.0.1 and ::1

# The number gtest gives on its summary line "[<TAG>] N test(s)<REST>" in file $1, or 0.
summary_count() {
  n=$(sed -n "s/^\[$2\] \([0-9]*\) tests\{0,1\}$3.*/\1/p" "$1")
  echo "${n:-0}"
}
# gtest names each failed and skipped test again after its summary; one marker line each.
list_tests() {
  sed -n '/tests\{0,1\}, listed below/,$p' "$1" |
    sed -n "s/^\[  $2 *\] \([^ ,]*\)\(, .*\)\{0,1\}\$/VM-$2 mode=$3 test=\1/p"
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
# What --attach auto chooses on this kernel, as a user sees it.
auto=$($FREEZEPROBE_BINARY watch --duration 0.2 --events none 2>&1 |
  sed -n 's/.*attached in .* (mode \([a-z]*\);.*/\1/p')
echo "VM-AUTO mode=${auto:-none}"
first_mode=${MODES%% *}
for mode in $MODES; do
  # The tests that cover every mode themselves (ONCE_TESTS) run in the first mode only.
  filter=$GTEST_FILTER
  if [ "$mode" != "$first_mode" ] && [ -n "$ONCE_TESTS" ]; then
    case $filter in
      *-*) filter="$filter:$ONCE_TESTS" ;;
      *) filter="$filter-$ONCE_TESTS" ;;
    esac
  fi
  echo "VM-MODE-START mode=$mode filter=$filter"
  listed=$($TESTS --gtest_filter="$filter" --gtest_list_tests | grep -c '^  ')
  # First the binary alone in this mode: a mode it cannot attach in fails here, in seconds.
  if ! attach=$($FREEZEPROBE_BINARY watch --attach "$mode" --duration 0.2 --events none 2>&1)
  then
    echo "$attach" | sed "s/^/VM-ATTACH-FAILED mode=$mode: /"
    echo "VM-RESULT mode=$mode tests=$listed ran=0 passed=0 failed=0 skipped=0 exit=attach"
    continue
  fi
  out=/tmp/out.$mode
  start=$(cut -d' ' -f1 /proc/uptime)
  # The suite's own output goes to the console as it runs, and to a file to be counted.
  { FREEZEPROBE_TEST_ATTACH=$mode timeout -s KILL "$MODE_TIMEOUT" \
      $TESTS --gtest_filter="$filter" 2>&1
    echo $? >"$out.exit"; } | tee "$out"
  seconds=$(echo "$start $(cut -d' ' -f1 /proc/uptime)" | awk '{printf "%.0f", $2 - $1}')
  status=$(cat "$out.exit")
  ran=$(summary_count "$out" ========== ' from .* ran\.')
  list_tests "$out" FAILED "$mode"
  list_tests "$out" SKIPPED "$mode"
  if [ "$ran" = 0 ]; then # no summary: killed by the timeout, or crashed
    last=$(sed -n 's/^\[ RUN      \] \(.*\)/\1/p' "$out" | tail -n1)
    echo "VM-FAILED mode=$mode test=${last:-none} (the suite stopped there, exit $status)"
  fi
  echo "VM-RESULT mode=$mode tests=$listed ran=$ran" \
    "passed=$(summary_count "$out" '  PASSED  ' '\.')" \
    "failed=$(summary_count "$out" '  FAILED  ' ', listed below')" \
    "skipped=$(summary_count "$out" '  SKIPPED ' ', listed below')" \
    "exit=$status seconds=$seconds"
done
echo VM-DONE
sync
poweroff -f
