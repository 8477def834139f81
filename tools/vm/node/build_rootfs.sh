#!/usr/bin/env bash
# Builds the Debian 13 (trixie) node rootfs for the systemd/containerd/runc VM scenario
# (tools/vm/node/run.sh) with mmdebstrap, as a tarball cached in the build directory:
#
#   tools/vm/node/build_rootfs.sh OUT_DIR
#
# OUT_DIR/node-rootfs.tar is rebuilt only when this script changed (its hash is stored next to the
# tarball). The mirror is the one this machine's apt uses (read from /etc/apt/sources.list*), with
# only the suite changed: no mirror host is written here. Runs as root (mmdebstrap's root mode;
# CI runs as root too). The rootfs has systemd as PID 1, containerd, runc, busybox-static, the
# kernel NFS server's tools (nfs-kernel-server: the NFS scenario exports a directory over
# loopback) and the cloud kernel with its initramfs (virtio and ext4 only). What the scenario changes (units masked
# for a faster boot, the build, the scenario) is added per run by tools/vm/node/run.sh.
set -euo pipefail

SUITE=trixie
OUT=${1:?usage: build_rootfs.sh OUT_DIR}
mkdir -p "$OUT"
TAR=$OUT/node-rootfs.tar
STAMP=$OUT/node-rootfs.stamp
KEY=$(sha256sum "$0" | cut -d' ' -f1)
if [[ -f $TAR && -f $STAMP && $(cat "$STAMP") == "$KEY" ]]; then
  echo "node rootfs: cached ($TAR)"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "node rootfs: mmdebstrap missing (tools/setup.sh)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "node rootfs: needs root (mmdebstrap root mode)" >&2; exit 1; }

# The first Debian archive URI apt uses here (not the security one), from one-line or deb822 files.
mirror_uri() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    if [[ $f == *.sources ]]; then
      awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' "$f"
    else
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' "$f"
    fi
  done | grep -v -- '-security' | head -n1
}
MIRROR=$(mirror_uri)
[[ -n $MIRROR ]] || { echo "node rootfs: no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }

PACKAGES=(
  systemd systemd-sysv udev dbus kmod procps iproute2 jq
  containerd runc busybox-static
  linux-image-cloud-amd64 initramfs-tools zstd
  nfs-kernel-server
)

start=$(date +%s)
rm -rf "$OUT/node-rootfs.new.tar"
# The initramfs only needs to find the root disk: virtio and ext4 (smaller and faster under TCG).
mmdebstrap --variant=apt --mode=root \
  --aptopt='APT::Install-Recommends "false"' \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && echo MODULES=list > "$1/etc/initramfs-tools/conf.d/node.conf" && mkdir -p "$1/etc/initramfs-tools" && printf "virtio_pci\nvirtio_blk\next4\n" > "$1/etc/initramfs-tools/modules.node"' \
  --customize-hook='cat "$1/etc/initramfs-tools/modules.node" >> "$1/etc/initramfs-tools/modules"; rm "$1/etc/initramfs-tools/modules.node"; chroot "$1" update-initramfs -u -k all' \
  --customize-hook='echo node > "$1/etc/hostname"' \
  --customize-hook='chroot "$1" dpkg-query -W systemd containerd runc linux-image-cloud-amd64 nfs-kernel-server > "$1/etc/node-versions"; ls "$1/boot"' \
  "$SUITE" "$OUT/node-rootfs.new.tar" "deb $MIRROR $SUITE main"
mv "$OUT/node-rootfs.new.tar" "$TAR"
echo "$KEY" > "$STAMP"
echo "node rootfs: built $TAR ($(du -h "$TAR" | cut -f1)) in $(($(date +%s) - start)) s"
