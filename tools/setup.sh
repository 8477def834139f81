#!/usr/bin/env bash
# Installs the Debian packages that freezeprobe's build and tests need; only the missing ones.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang llvm bpftool
  libbpf-dev libelf-dev zlib1g-dev libzstd-dev
  libfmt-dev libgtest-dev libcli11-dev nlohmann-json3-dev
  fuse3 libfuse3-dev runc crun containerd busybox-static libxml2-utils prometheus bpftrace
  help2man man-db systemd yamllint python3-yaml
  qemu-system-x86 cpio xz-utils zstd binutils debian-archive-keyring
  mmdebstrap e2fsprogs
  libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
