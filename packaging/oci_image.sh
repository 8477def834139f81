#!/usr/bin/env bash
# Packs the static binary as an OCI image archive (an `oci-archive`: oci-layout, index.json and
# blobs/sha256/), loadable without a registry: `ctr image import FILE` names it by the
# io.containerd.image.name annotation, `podman load -i FILE` by org.opencontainers.image.ref.name.
# One layer holding /usr/bin/freezeprobe; entrypoint the binary, command `watch`. Reproducible:
# sorted names, owner root, mtimes at SOURCE_DATE_EPOCH (default: the last commit's time).
# usage: oci_image.sh BINARY VERSION ARCH OUTPUT
set -euo pipefail

if (($# != 4)); then
  echo "usage: $0 BINARY VERSION ARCH OUTPUT" >&2
  exit 2
fi
binary=$1 version=$2 arch=$3 output=$4
case $arch in
  x86_64) oci_arch=amd64 ;;
  aarch64) oci_arch=arm64 ;;
  *) oci_arch=$arch ;;
esac
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$(dirname "$0")" log -1 --format=%ct 2>/dev/null || date +%s)
fi
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
name=localhost/freezeprobe:$version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/usr/bin" "$work/oci/blobs/sha256"
strip --strip-debug -o "$work/rootfs/usr/bin/freezeprobe" "$binary"
chmod 0755 "$work/rootfs/usr/bin/freezeprobe"

# Stores FILE as a blob; prints "sha256:HEX SIZE".
blob() {
  local hex
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$work/oci/blobs/sha256/$hex"
  echo "sha256:$hex $(stat -c %s "$1")"
}

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$work/rootfs" -cf "$work/layer.tar" usr
read -r layer layer_size < <(blob "$work/layer.tar")
printf '{"created":"%s","architecture":"%s","os":"linux","config":{"Entrypoint":["/usr/bin/freezeprobe"],"Cmd":["watch"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
  "$created" "$oci_arch" "$layer" >"$work/config.json"
read -r config config_size < <(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
read -r manifest manifest_size < <(blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$oci_arch" "$name" "$name" >"$work/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$work/oci" -cf "$output.tmp" oci-layout index.json blobs
mv "$output.tmp" "$output"
echo "image: $output ($name, $(du -h "$output" | cut -f1))"
