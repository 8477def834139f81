#!/usr/bin/env bash
# `cmake --build BUILD --target release` makes the archive and its checksum; the archive holds
# the documented files, its SHA256SUMS verifies, and its binary and man page work.
# usage: check_release.sh BUILD_DIR NAME VERSION SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_dir=$1 name=$2 version=$3 source_dir=$4

make_scratch_dir
cmake --build "$build_dir" --target release >"$scratch/build.log" 2>&1 ||
  fail "the release target failed: $(tail -20 "$scratch/build.log")"
archive=$build_dir/$name.tar.gz
(cd "$build_dir" && sha256sum --quiet -c "$name.tar.gz.sha256") || fail "$name.tar.gz.sha256 does not match"
echo "ok: $(grep -o 'release: .*' "$scratch/build.log" | head -1); .sha256 matches"

expected=(README.kubernetes.md README.md SHA256SUMS freezeprobe freezeprobe-daemonset.yaml
  freezeprobe-alerts.yaml freezeprobe.8 freezeprobe.service)
[[ -e $source_dir/LICENSE ]] && expected+=(LICENSE)
listing=$(tar -tzf "$archive" | sort)
wanted=$( (echo "$name/" && printf "$name/%s\n" "${expected[@]}") | sort)
[[ $listing == "$wanted" ]] || fail "the archive holds other files than documented:
$(diff <(echo "$wanted") <(echo "$listing"))"
modes=$(tar -tvzf "$archive" | awk '{print $1, $2, $6}')
grep -qx -- "-rwxr-xr-x 0/0 $name/freezeprobe" <<<"$modes" || fail "the binary's entry: $(grep '/freezeprobe$' <<<"$modes")"
echo "ok: the archive holds $name/ with ${expected[*]}"

tar -xzf "$archive" -C "$scratch"
cd "$scratch/$name"
sha256sum --quiet -c SHA256SUMS || fail "SHA256SUMS does not verify inside the archive"
summed=$(awk '{print $2}' SHA256SUMS | sort)
others=$(find . -maxdepth 1 -type f ! -name SHA256SUMS -printf "%f\n" | sort)
[[ $summed == "$others" ]] || fail "SHA256SUMS covers $summed, the archive holds $others"
echo "ok: sha256sum -c SHA256SUMS passes for $(wc -l <<<"$summed") files"

check_man_page freezeprobe.8 ./freezeprobe
check_binary ./freezeprobe "$version"
