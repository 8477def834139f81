#!/usr/bin/env bash
# The node VM scenario: a Debian 13 (trixie) node booted under QEMU (TCG) with systemd as PID 1 on
# cgroup v1, containerd 1.7 and runc 1.1.15 with the systemd cgroup driver, and freezeprobe
# installed by `cmake --install` and started by its own systemd unit. A pod run as kubelet and
# containerd's CRI plugin run one (pod log directory, systemd cgroups path, CRI annotations) is
# named in every output, then runc fails with "unable to freeze" on an update and on a create;
# tools/vm/node/scenario.sh (in the guest) checks what the unit and `freezeprobe watch` reported
# and prints NODE-PASS/NODE-FAIL lines.
#
#   tools/vm/node/run.sh [--build-dir DIR] [--timeout SECONDS] [--verbose]
#
# The rootfs comes from tools/vm/node/build_rootfs.sh (mmdebstrap, cached in DIR/vm-node). Each
# run unpacks it, installs the build into it (DESTDIR), adds the scenario, makes an ext4 image of
# it with mkfs.ext4 -d (no mount, no loop device) and boots the rootfs's own kernel and initramfs
# with root=/dev/vda. The console log is DIR/vm-node/console.log. Exit status: 0 when the guest
# finished with no failed check; 1 otherwise; 2 on a usage error; 77 (skipped) when not root
# and CI is not true.
#
# Options:
#   --build-dir DIR   the build directory (static freezeprobe, tests/node_hang_fuse_serve, and
#                     the man page that `cmake --install` installs; default ./build)
#   --timeout SECS    the host kills QEMU (by its PID) after this long (default 600)
#   --verbose         copy the console to stdout while the VM runs
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE=$ROOT/tools/vm/node
BUILD=$ROOT/build
TIMEOUT=600
VERBOSE=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

W=$BUILD/vm-node
# Root builds the rootfs (mmdebstrap's root mode) and reads every file of it into the image.
# Under CI=true that is a failure; elsewhere a skip (exit 77, which ctest reports as skipped).
if [[ $(id -u) -ne 0 ]]; then
  echo "node-vm: needs root (mmdebstrap, mkfs.ext4 -d of a root-owned tree)" >&2
  [[ ${CI:-} == true ]] && exit 1
  exit 77
fi
FUSE_SERVE=$BUILD/tests/node_hang_fuse_serve
for f in "$BUILD/userspace/freezeprobe" "$FUSE_SERVE"; do
  [[ -x $f ]] || { echo "node-vm: $f is missing (build it first)" >&2; exit 1; }
done
t0=$(date +%s)
bash "$HERE/build_rootfs.sh" "$W"
t1=$(date +%s)

# The guest's root file system: the cached rootfs, the installed build, the scenario.
R=$W/rootfs
rm -rf "$R"
mkdir -p "$R"
tar -xf "$W/node-rootfs.tar" -C "$R"
DESTDIR=$R cmake --install "$BUILD" > "$W/install.log"
unit=$(find "$R" -path '*/share/doc/freezeprobe/examples/freezeprobe.service' | head -n1)
[[ -n $unit ]] || { echo "node-vm: cmake --install installed no freezeprobe.service" >&2; exit 1; }
binary=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[[ -x $R$binary ]] || { echo "node-vm: the unit starts $binary, which is not installed" >&2; exit 1; }
# Nothing waits for the root device (mounted rw by the kernel command line) and the units that
# only slow a TCG boot down are masked (udev's coldplug alone takes 30 s there).
: > "$R/etc/fstab"
for u in getty@tty1.service serial-getty@ttyS0.service console-getty.service \
  systemd-udev-trigger.service systemd-udevd.service systemd-udevd-control.socket \
  systemd-udevd-kernel.socket systemd-random-seed.service systemd-timesyncd.service \
  systemd-journal-flush.service systemd-hwdb-update.service ldconfig.service \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
  fstrim.timer systemd-tmpfiles-clean.timer man-db.timer; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# The NFS server and client units are not started at boot: nfs_scenario.sh starts the server
# when it runs (rpcbind stays socket-activated).
rm -f "$R"/etc/systemd/system/multi-user.target.wants/{nfs-server.service,nfs-client.target,rpcbind.service} \
  "$R/etc/systemd/system/remote-fs.target.wants/nfs-client.target"
install -m 0644 "$unit" "$R/etc/systemd/system/freezeprobe.service"
D=$R/usr/local/libexec/freezeprobe-node
mkdir -p "$D"
install -m 0755 "$HERE/scenario.sh" "$FUSE_SERVE" "$D/"
install -m 0644 "$HERE/nfs_scenario.sh" "$D/"
bash "$HERE/make_oci_image.sh" "$R/usr/bin/busybox" "$D/fpnode-oci.tar" docker.io/library/fpnode:1
install -m 0644 "$HERE/node-scenario.service" "$R/etc/systemd/system/"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/freezeprobe.service /etc/systemd/system/node-scenario.service \
  "$R/etc/systemd/system/multi-user.target.wants/"
IMG=$W/node.img
rm -f "$IMG"
mkfs.ext4 -q -F -L node -d "$R" "$IMG" 2G > "$W/mkfs.log" 2>&1 || { cat "$W/mkfs.log" >&2; exit 1; }
basename "$(ls "$R"/boot/vmlinuz-* | head -n1)" | sed 's/^vmlinuz-//' > "$W/kernel-version"
cp "$(ls "$R"/boot/vmlinuz-* | head -n1)" "$W/vmlinuz"
cp "$(ls "$R"/boot/initrd.img-* | head -n1)" "$W/initrd.img"
kernel=$W/vmlinuz
initrd=$W/initrd.img
rm -rf "$R" # the image has it all
t2=$(date +%s)
echo "node-vm: rootfs $((t1 - t0)) s, image $((t2 - t1)) s ($(du -h --apparent-size "$W/node-rootfs.tar" | cut -f1) tar); booting $(cat "$W/kernel-version") under TCG"

LOG=$W/console.log
: > "$LOG"
# systemd 257 keeps cgroup v1 only with SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1 on the command line.
qemu-system-x86_64 -accel tcg -m 1536 -smp 2 -nographic -no-reboot -nic none \
  -kernel "$kernel" -initrd "$initrd" \
  -drive "file=$IMG,if=virtio,format=raw" \
  -append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.unified_cgroup_hierarchy=0 SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1 systemd.show_status=1" \
  > "$LOG" 2>&1 < /dev/null &
qemu=$!
# ctest's timeout or Ctrl-C must not leave the VM behind: it is killed by its PID.
trap 'kill -KILL "$qemu" 2>/dev/null || true' EXIT
trap 'exit 1' TERM INT
tail_pid=""
if ((VERBOSE)); then tail -f "$LOG" & tail_pid=$!; fi
timed_out=0
for ((s = 0; ; s++)); do
  kill -0 "$qemu" 2>/dev/null || break
  if ((s >= TIMEOUT)); then timed_out=1; kill -KILL "$qemu"; break; fi
  sleep 1
done
wait "$qemu" 2>/dev/null || true
[[ -n $tail_pid ]] && kill "$tail_pid"
t3=$(date +%s)

# The scenario's lines reach the console through the journal ("[time] scenario.sh[pid]: ...").
lines=$(grep -a -o -E 'NODE-(INFO|OUT|PASS|FAIL|DONE|STALL).*' "$LOG" | tr -d '\r' || true)
printf '%s\n' "$lines"
passes=$(grep -c '^NODE-PASS' <<< "$lines" || true)
fails=$(grep -c '^NODE-FAIL' <<< "$lines" || true)
done_line=$(grep '^NODE-DONE' <<< "$lines" || true)
echo "node-vm: VM ran $((t3 - t2)) s; ${passes} passed, ${fails} failed checks; total $((t3 - t0)) s"
if ((timed_out)); then
  echo "node-vm: FAIL: the guest did not finish within $TIMEOUT s (killed); console tail:"
  tail -n 30 "$LOG" | tr -d '\r'
  exit 1
fi
if [[ -z $done_line ]]; then
  echo "node-vm: FAIL: the scenario did not finish (no NODE-DONE line); console tail:"
  tail -n 30 "$LOG" | tr -d '\r'
  exit 1
fi
if ((fails > 0 || passes == 0)) || [[ $done_line != "NODE-DONE failed=0" ]]; then
  echo "node-vm: FAIL"
  exit 1
fi
echo "node-vm: PASS"
