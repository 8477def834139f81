#!/usr/bin/env bash
# Writes a one-layer OCI image archive (an OCI layout in a tar) holding a static busybox, for
# `ctr images import` in the node VM: no registry is needed.
#
#   tools/vm/node/make_oci_image.sh BUSYBOX OUT.tar IMAGE_NAME
#
# The layer has /bin/busybox and the applets the scenario uses as symlinks; the index names the
# image IMAGE_NAME (annotation io.containerd.image.name, which containerd's import reads).
set -euo pipefail
BUSYBOX=${1:?usage: make_oci_image.sh BUSYBOX OUT.tar IMAGE_NAME}
OUT=${2:?}
NAME=${3:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/layer/bin" "$work/layer/tmp" "$work/layout/blobs/sha256"
install -m 0755 "$BUSYBOX" "$work/layer/bin/busybox"
for applet in sh cat sleep ls; do ln -s busybox "$work/layer/bin/$applet"; done
tar -C "$work/layer" --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name -cf "$work/layer.tar" .

# Stores a file as a blob; prints "sha256:<hex> <size>".
blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  cp "$1" "$work/layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}
read -r layer_digest layer_size < <(blob "$work/layer.tar")
cat > "$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["$layer_digest"]}}
JSON
read -r config_digest config_size < <(blob "$work/config.json")
cat > "$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$layer_digest","size":$layer_size}]}
JSON
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
cat > "$work/layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest_digest","size":$manifest_size,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"$NAME","org.opencontainers.image.ref.name":"${NAME##*:}"}}]}
JSON
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/layout/oci-layout"
tar -C "$work/layout" --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name -cf "$OUT" .
