#!/usr/bin/env bash
# Runs a command, or the layout-sensitive integration tests and the demo, in a private mount
# namespace whose /sys/fs/cgroup has one cgroup layout (root; the host's mounts are untouched):
#   tools/layout.sh v2|hybrid|v1 -- COMMAND ARGS...
#   tools/layout.sh v2|hybrid|v1 --suite BUILD_DIR
# Layouts:
#   v2      cgroup2 at /sys/fs/cgroup and no v1 hierarchy (what current distributions boot with)
#   hybrid  a tmpfs at /sys/fs/cgroup, a directory per v1 hierarchy, cgroup2 at .../unified
#   v1      the same without cgroup2 (legacy)
# The hierarchies are the host's own, bind-mounted (a new cgroup2 mount would reset the host's
# cgroup2 mount options); a v1 freezer or devices hierarchy the host has not mounted is mounted
# when /proc/cgroups lists it (runc needs both), and cgroup2 is mounted when the host has no
# cgroup2 mount. --suite runs the integration tests that depend on the layout (every
# mode-independent one that touches cgroups) and prints what ran, passed, failed and was skipped
# with the reason (a test is skipped only where the layout lacks what it needs); it fails if a
# test failed or nothing ran. --print-filter prints that suite's gtest filter (tools/vm/run.sh
# --layouts runs it in the guest).
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

# The integration tests whose behaviour depends on the cgroup layout.
SUITE_FILTER='FreezeWriteTest.*:ProcsWriteTest.*:WriteErrorsTest.*:FreezeStallTest.*:TaskScanTest.*'
SUITE_FILTER+=':ChurnTest.*:HangFuseTest.HeldReadBlocks*:RuncFreezeTest.*:RuncContainerTest.*'
SUITE_FILTER+=':CommandLine.WatchPrintsContractJsonAndStopsOnSignal:CommandLine.Doctor*'
SUITE_FILTER+=':CommandLine.DemoSeesEveryWriteItMakes:StartWritesNothingTest.*:WatchOutputsTest.*'
SUITE_FILTER+=':AttachModeTest.EveryModeThatAttachesReportsTheSameEvents'
SUITE_FILTER+=':RuncHeldTest.*:BlockerCausesTest.*:HeldTest.*'
# Hostile cgroup names, the kernel's parse of written bytes and its drop of unrelated writes, in
# each freezer the layout has (about 1.8 s in all per layout).
SUITE_FILTER+=':HostileNames.*:WrittenBytesTest.*:UnrelatedWritesTest.*'
if [[ ${1:-} == --print-filter ]]; then echo "$SUITE_FILTER"; exit 0; fi
(($# >= 2)) || { usage >&2; exit 2; }
LAYOUT=$1; shift
case $LAYOUT in v2 | hybrid | v1) ;; *) echo "layout: unknown layout $LAYOUT" >&2; exit 2 ;; esac
[[ $(id -u) -eq 0 ]] || { echo "layout: needs root" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)

if [[ $1 == --suite ]]; then
  BUILD=$(cd "${2:?--suite needs the build directory}" && pwd)
  LOG=$(mktemp /tmp/freezeprobe-layout-$LAYOUT.XXXXXX)
  trap 'rm -f "$LOG"' EXIT
  start=$SECONDS rc=0
  "$0" "$LAYOUT" -- "$BUILD/tests/freezeprobe_integration_tests" --gtest_filter="$SUITE_FILTER" \
    >"$LOG" 2>&1 || rc=$?
  # The layout seen inside, as the doctor prints it, then the tally.
  ran=$(grep -c '^\[       OK \]' "$LOG" || true)
  failed=$(grep -c '^\[  FAILED  \] .*(' "$LOG" || true)
  skipped=$(grep -c '^\[  SKIPPED \] .*(' "$LOG" || true)
  echo "layout $LAYOUT: $(grep -m1 '^layout:' "$LOG" || echo 'layout: ?')"
  echo "layout $LAYOUT: $ran passed, $failed failed, $skipped skipped in $((SECONDS - start)) s"
  # gtest prints a skip's reason on the line before "[  SKIPPED ]".
  awk -v L="$LAYOUT" '/^\[  SKIPPED \] .*\(/ { print "layout " L ": skipped " $4 ": " prev }
                       { if ($0 !~ /^\[/ && $0 != "") prev = $0 }' "$LOG" |
    sed 's/: Skipped$//' | sort -u
  if ((rc != 0 || failed > 0 || ran == 0)); then
    echo "layout $LAYOUT: FAILED (exit $rc); the suite's output:"
    cat "$LOG"
    exit 1
  fi
  exit 0
fi
[[ $1 == -- ]] || { usage >&2; exit 2; }
shift

if [[ ${FREEZEPROBE_LAYOUT_INSIDE:-} != 1 ]]; then
  FREEZEPROBE_LAYOUT_INSIDE=1 exec unshare -m --propagation private "$0" "$LAYOUT" -- "$@"
fi

# Inside the private namespace: keep the host's hierarchies on a private staging tmpfs, clear
# /sys/fs/cgroup, and rebuild it in the wanted layout.
STAGE=/tmp # shadowed by a private tmpfs only while the layout is built
mount -t tmpfs -o mode=700 freezeprobe-layout "$STAGE"
v2="" v1=()
while read -r mp fstype; do
  mp=$(printf '%b' "$mp") # mountinfo escapes spaces as \040
  name=$(basename "$mp")
  if [[ $fstype == cgroup2 && -z $v2 ]]; then
    mkdir "$STAGE/v2" && mount --bind "$mp" "$STAGE/v2" && v2=$STAGE/v2
  elif [[ $fstype == cgroup && ! -e $STAGE/v1-$name ]]; then
    mkdir "$STAGE/v1-$name" && mount --bind "$mp" "$STAGE/v1-$name" && v1+=("$name")
  fi
done < <(awk '{ for (i = 7; $i != "-"; i++); if ($4 == "/" && ($(i+1) == "cgroup" || $(i+1) == "cgroup2")) print $5, $(i+1) }' /proc/self/mountinfo)
if mountpoint -q /sys/fs/cgroup; then umount -R /sys/fs/cgroup 2>/dev/null || umount -R -l /sys/fs/cgroup; fi

add_v2() { # $1: where
  if [[ -n $v2 ]]; then mount --move "$v2" "$1"; else mount -t cgroup2 cgroup2 "$1"; fi
}
# The v1 controllers a layout with v1 must have: the freezer (the probe's subject) and devices
# (runc's v1 manager refuses to run without it). A host that has not mounted one (a v2-only host,
# or this script run inside a v2 layout) gets it mounted here, with the controllers the kernel
# already binds to the same hierarchy, so that an existing hierarchy is reused; a controller the
# kernel has bound to cgroup v2 cannot be mounted (EBUSY) and stays missing.
V1_NEEDED=(freezer devices)
v1_mounted() { # $1: controller
  awk -v c="$1" '{ for (i = 7; $i != "-"; i++); if ($(i+1) == "cgroup" && ("," $NF ",") ~ ("," c ",")) f = 1 }
                 END { exit !f }' /proc/self/mountinfo
}
add_v1() {
  local name controller set
  for name in "${v1[@]}"; do
    mkdir -p "/sys/fs/cgroup/$name"
    mount --move "$STAGE/v1-$name" "/sys/fs/cgroup/$name"
  done
  for controller in "${V1_NEEDED[@]}"; do
    v1_mounted "$controller" && continue
    # Its hierarchy's controllers ("cpu,cpuacct"), or itself alone when it has none yet.
    set=$(awk -v c="$controller" 'NR > 1 && $4 == 1 { id[$1] = $2; if ($2 != 0) s[$2] = s[$2] ? s[$2] "," $1 : $1 }
                                  END { if (c in id) print (id[c] != 0 ? s[id[c]] : c) }' /proc/cgroups)
    [[ -n $set ]] || continue
    mkdir -p "/sys/fs/cgroup/$set"
    mount -t cgroup -o "$set" cgroup "/sys/fs/cgroup/$set" 2>/dev/null || rmdir "/sys/fs/cgroup/$set"
  done
}
case $LAYOUT in
  v2) add_v2 /sys/fs/cgroup ;;
  hybrid | v1)
    mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
    add_v1
    if [[ $LAYOUT == hybrid ]]; then mkdir /sys/fs/cgroup/unified && add_v2 /sys/fs/cgroup/unified; fi
    ;;
esac
umount -R -l "$STAGE"
echo "layout: $LAYOUT: $(awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) ~ /^cgroup2?$/) printf "%s(%s) ", $5, $(i+1) }' /proc/self/mountinfo)"
export FREEZEPROBE_LAYOUT=$LAYOUT
unset FREEZEPROBE_LAYOUT_INSIDE # a layout.sh run by the command makes its own namespace
exec "$@"
