#!/usr/bin/env bash
# Packs the release archive: OUTPUT_DIR/NAME.tar.gz holding NAME/ with every FILE (flat, by its
# base name; the binary named freezeprobe is stripped of debug info), NAME/SHA256SUMS of those
# files, and OUTPUT_DIR/NAME.tar.gz.sha256 of the archive. Run by `cmake --build BUILD --target
# release`, which passes the files.
#
# The archive is reproducible for the same inputs: sorted names, owner root, and every mtime and
# the gzip header set to SOURCE_DATE_EPOCH (default: the time of the last git commit).
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 OUTPUT_DIR NAME FILE..." >&2
  exit 2
fi
output_dir=$1
name=$2
shift 2

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$(dirname "$0")" log -1 --format=%ct 2>/dev/null || date +%s)
fi

staging=$output_dir/.release-staging
rm -rf "$staging"
mkdir -p "$staging/$name"
trap 'rm -rf "$staging"' EXIT

for file in "$@"; do
  target=$staging/$name/$(basename "$file")
  if [[ -e $target ]]; then
    echo "release: two files named $(basename "$file")" >&2
    exit 1
  fi
  if [[ $(basename "$file") == freezeprobe ]]; then
    # The build keeps its debug info (RelWithDebInfo); nodes only need the code and symbols.
    strip --strip-debug -o "$target" "$file"
    chmod 0755 "$target"
  else
    install -m 0644 "$file" "$target"
  fi
done

(
  cd "$staging/$name"
  sha256sum -- * >"../SHA256SUMS"
  mv ../SHA256SUMS SHA256SUMS
)
chmod 0644 "$staging/$name/SHA256SUMS"

archive=$name.tar.gz
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$staging" -cf - "$name" | gzip -9n >"$output_dir/$archive.tmp"
mv "$output_dir/$archive.tmp" "$output_dir/$archive"
(cd "$output_dir" && sha256sum "$archive" >"$archive.sha256")

echo "release: $output_dir/$archive ($(du -h "$output_dir/$archive" | cut -f1))"
(cd "$output_dir" && cat "$archive.sha256")
