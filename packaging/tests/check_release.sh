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

# The OCI image beside the archive: Debian's containerd, started here with its own state under
# the scratch directory and stopped by its PID, imports it and runs the binary in it.
image=$build_dir/$name.oci.tar
[[ -f $image ]] || fail "no OCI image $image"
tar -xOf "$image" index.json | grep -q "\"io.containerd.image.name\":\"localhost/freezeprobe:$version\"" ||
  fail "the image's index.json does not name localhost/freezeprobe:$version"
echo "ok: $image names localhost/freezeprobe:$version"
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
  [[ ${CI:-} == true ]] && fail "containerd is missing (tools/setup.sh installs it)"
  echo "SKIP: containerd is not installed; the image was not run"
  exit 0
fi
start_containerd "$scratch/ctrd" freezeprobe-release-test
"${ctr[@]}" image import --snapshotter native "$image" >/dev/null ||
  fail "ctr image import refused $image: $(tail -5 "$scratch/ctrd/log")"
# --cpu-shares 0: no resource in the spec (ctr's default of 1024 makes runc write cpu.weight, which
# a cgroup2 tree without the cpu controller lacks); --version needs none.
out=$("${ctr[@]}" run --rm --snapshotter native --cgroup "" --cpu-shares 0 "localhost/freezeprobe:$version" \
  "freezeprobe-release-$$" /usr/bin/freezeprobe --version) ||
  fail "the image did not run: $out $(tail -5 "$scratch/ctrd/log")"
grep -q "$version" <<<"$out" || fail "freezeprobe --version in the image said: $out"
echo "ok: containerd imported the image and ran it: $out"
