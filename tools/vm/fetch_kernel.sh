#!/usr/bin/env bash
# Fetches Debian's stock cloud kernel of one suite for the VM runner (tools/vm/run.sh), without
# installing anything on the host:
#
#   tools/vm/fetch_kernel.sh SUITE DIR
#
# SUITE is a Debian suite (bullseye, bookworm, trixie, sid, ...). The package lists come from the
# Debian mirror this machine's apt sources already name (the first deb source whose URI ends in
# /debian), with only the suite changed: a sources list and lists directory of its own under
# DIR/apt/SUITE, so the host's apt state is left alone. The kernel is the one
# linux-image-cloud-amd64 depends on in that suite; its image is in linux-image-<abi>-cloud-amd64
# up to Debian 13, and after that in linux-binary-<abi>-cloud-amd64 (vmlinuz),
# linux-modules-<abi>-cloud-amd64 and linux-base-<abi>-cloud-amd64 (modules.builtin), which that
# package depends on. The .debs are kept in DIR/debs; vmlinuz and the modules the guest loads (MODULES
# below, with the modules they depend on, in load order) are extracted to DIR/SUITE. Run again,
# it reuses DIR/SUITE and does not touch the network; remove DIR/SUITE to fetch the suite's newest.
#
# Prints the kernel directory on success: DIR/SUITE/{vmlinuz,release,modules/*.ko,modules.order}.
set -euo pipefail

# Modules the tests need, if the kernel has them as modules rather than built in:
#   fuse   the stall tests' blocker is a FUSE file system (a module in Debian 11 and 12's cloud
#          kernels, built in since 13's)
# (Nothing else: the tests use no loop device, overlay or network device beyond lo.)
MODULES=(fuse)

(($# == 2)) || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
SUITE=$1
DIR=$2
[[ $SUITE =~ ^[a-z][a-z0-9-]*$ ]] || { echo "fetch_kernel: bad suite name '$SUITE'" >&2; exit 2; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
OUT=$DIR/$SUITE
if [[ -f $OUT/vmlinuz && -f $OUT/modules.order && -f $OUT/release ]]; then
  echo "$OUT"
  exit 0
fi

# The mirror: the first Debian archive URI in this machine's apt sources (one-line and deb822).
mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
  do
    [[ -f $f ]] || continue
    sed -n -e 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
      -e 's/^[[:space:]]*URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$f"
  done | grep -E '/debian/?$' | head -n1
}
MIRROR=$(mirror)
[[ -n $MIRROR ]] || { echo "fetch_kernel: no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }

APTDIR=$DIR/apt/$SUITE
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$DIR/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR%/} $SUITE main" \
  >"$APTDIR/sources.list"
APT=(-q -o "Dir::Etc::SourceList=$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache"
  -o Dir::State::Status=/dev/null -o APT::Sandbox::User=root)
apt-get "${APT[@]}" update >"$APTDIR/update.log" 2>&1 ||
  { cat "$APTDIR/update.log" >&2; echo "fetch_kernel: apt-get update for $SUITE failed" >&2; exit 1; }

# The packages a package depends on whose names match a pattern (one level).
depends_on() {
  apt-cache "${APT[@]}" depends "$1" 2>/dev/null |
    sed -n "s/^ *Depends: \($2\)\$/\1/p"
}
IMAGE=$(depends_on linux-image-cloud-amd64 'linux-image-[0-9].*' | head -n1)
[[ -n $IMAGE ]] || { echo "fetch_kernel: $SUITE has no linux-image-cloud-amd64" >&2; exit 1; }
ABI=${IMAGE#linux-image-}
PACKAGES=("$IMAGE" $(depends_on "$IMAGE" 'linux-\(binary\|modules\|base\)-[0-9].*'))

fetch() { # downloads package $1 into DIR/debs unless it is there; prints its file
  local version file
  version=$(apt-cache "${APT[@]}" show --no-all-versions "$1" | sed -n 's/^Version: //p' | head -n1)
  file=$(ls "$DIR/debs/${1}_${version//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
  if [[ -z $file ]]; then
    (cd "$DIR/debs" && apt-get "${APT[@]}" download "$1") >"$APTDIR/download.log" 2>&1 ||
      { cat "$APTDIR/download.log" >&2; echo "fetch_kernel: apt-get download $1 failed" >&2; return 1; }
    file=$(ls "$DIR/debs/${1}_${version//:/%3a}_"*.deb | head -n1)
  fi
  echo "$file"
}

rm -rf "$OUT" "$OUT.tmp"
mkdir -p "$OUT.tmp/tree"
for p in "${PACKAGES[@]}"; do
  deb=$(fetch "$p")
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$OUT.tmp/tree" --wildcards \
    './boot/vmlinuz-*' "./*/modules/$ABI/vmlinuz" "./*/modules/$ABI/kernel/*" \
    "./*/modules/$ABI/modules.*" 2>/dev/null || true
done
TREE=$OUT.tmp/tree
MODDIR=$(find "$TREE" -type d -path "*/modules/$ABI" | head -n1)
# In /boot up to Debian 13, beside the modules after that.
VMLINUZ=$(ls "$TREE/boot/vmlinuz-$ABI" "$MODDIR/vmlinuz" 2>/dev/null | head -n1 || true)
[[ -n $VMLINUZ ]] || { echo "fetch_kernel: no vmlinuz in ${PACKAGES[*]}" >&2; exit 1; }
mkdir -p "$OUT.tmp/modules"
mv "$VMLINUZ" "$OUT.tmp/vmlinuz"
: >"$OUT.tmp/modules.order"
# A module's dependencies are in its own .modinfo (modules.dep is made by depmod at install time,
# not shipped); a module listed in modules.builtin is part of vmlinuz and needs nothing.
add_module() {
  local name=$1 path dep
  grep -qx "$name" "$OUT.tmp/modules.order" && return 0
  path=$(find "$MODDIR/kernel" -name "$name.ko*" | head -n1)
  if [[ -z $path ]]; then
    grep -qE "/$name\.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && return 0
    echo "fetch_kernel: $ABI has no module $name and does not build it in" >&2
    return 1
  fi
  case $path in
    *.ko) cp "$path" "$OUT.tmp/modules/$name.ko" ;;
    *.ko.xz) xz -dc "$path" >"$OUT.tmp/modules/$name.ko" ;;
    *.ko.zst) zstd -qdc "$path" >"$OUT.tmp/modules/$name.ko" ;;
    *) echo "fetch_kernel: cannot unpack $path" >&2; return 1 ;;
  esac
  for dep in $(objcopy -O binary --only-section=.modinfo "$OUT.tmp/modules/$name.ko" /dev/stdout |
    tr '\0' '\n' | sed -n 's/^depends=//p' | tr , ' '); do
    add_module "$dep"
  done
  echo "$name" >>"$OUT.tmp/modules.order"
}
[[ -n $MODDIR ]] || { echo "fetch_kernel: no modules for $ABI in ${PACKAGES[*]}" >&2; exit 1; }
for m in "${MODULES[@]}"; do add_module "$m"; done
echo "$ABI" >"$OUT.tmp/release"
rm -rf "$TREE"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
