#!/usr/bin/env bash
# The release's OCI image run as a cluster runs the DaemonSet: packed by the release's own script
# (oci_image.sh), imported into a containerd started here (its own state, stopped by its PID), and
# run privileged in the host's PID and network namespaces, read-only, with the memory limit, the
# CPU shares kubelet gives its CPU request and every volumeMount of the manifest
# (daemonset_ctr_args.py reads them: the host's /sys and /sys/fs/cgroup; the state directory and
# the node files --host-root reads are stand-ins under the scratch directory), and the manifest's
# args. `freezeprobe doctor` must pass in it, and the watch it runs must report a freeze made on
# the host: a scratch cgroup in kubelet's cgroupfs layout, frozen and thawed here (cgroup v2; the
# v1 freezer on a legacy v1 host), seen with its path from the hierarchy root, its writer's host
# PID, and the Kubernetes names of the pod log directory and bundle laid out under the stand-ins;
# the same on its /metrics (on the host's loopback) and in the report written at SIGTERM.
# usage: check_daemonset_image.sh BINARY VERSION ARCH MANIFEST SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
binary=$1 version=$2 arch=$3 manifest=$4 source_dir=$5
require_root
# runc puts the manifest's memory limit and kubelet's CPU shares in the container's cgroup; where
# /sys/fs/cgroup is cgroup2 (runc then uses v2 alone) as memory.max and cpu.weight, which exist
# only where those controllers are available. A v2 node has them; a v2-only layout made from a
# host whose controllers are bound to its v1 hierarchies (tools/layout.sh v2 here) does not.
if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
  missing=()
  for controller in cpu memory; do
    grep -qw "$controller" /sys/fs/cgroup/cgroup.controllers || missing+=("$controller")
  done
  if ((${#missing[@]})); then
    echo "SKIP: cgroup2 at /sys/fs/cgroup lacks controllers: ${missing[*]} (cgroup.controllers:" \
      "'$(cat /sys/fs/cgroup/cgroup.controllers)'): runc cannot set the DaemonSet's memory limit" \
      "and CPU shares here (the host binds these controllers to v1 hierarchies)"
    exit 77
  fi
fi
make_scratch_dir
tag=freezeprobe-image-$$

image=$scratch/freezeprobe.oci.tar
bash "$source_dir/packaging/oci_image.sh" "$binary" "$version" "$arch" "$image" >/dev/null
start_containerd "$scratch/ctrd" k8s.io
"${ctr[@]}" image import --snapshotter native "$image" >/dev/null ||
  fail "ctr image import refused $image: $(tail -5 "$scratch/ctrd/log")"

# The node's files that --host-root reads, under stand-ins for /var/log/pods, /run/containerd and
# /run/containers: a pod log directory as kubelet makes it and a containerd bundle's config.json
# with the CRI plugin's annotations, for the scratch "container" frozen below.
node=$scratch/node
pod=$(cat /proc/sys/kernel/random/uuid)
cid=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
mkdir -p -m 0755 "$node/var/log/pods/shop_web-0_$pod" "$node/run/containers" "$scratch/state"
bundle=$node/run/containerd/io.containerd.runtime.v2.task/k8s.io/$cid
mkdir -p "$bundle"
printf '{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"app","io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"%s"}}\n' \
  "$pod" >"$bundle/config.json"

# A free loopback port for --metrics (the host's network: another run may hold 9101).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mapfile -t generated < <(/usr/bin/python3 "$(dirname "$0")/daemonset_ctr_args.py" "$manifest" "$image" \
  --host-path /sys=/sys --host-path /sys/fs/cgroup=/sys/fs/cgroup \
  --host-path /var/lib/freezeprobe="$scratch/state" --host-path /var/log/pods="$node/var/log/pods" \
  --host-path /run/containerd="$node/run/containerd" --host-path /run/containers="$node/run/containers" \
  --arg --events=json --arg --metrics="127.0.0.1:$port") || fail "daemonset_ctr_args.py failed"
sep=0
while [[ ${generated[sep]} != -- ]]; do ((++sep)); done
options=("${generated[@]:0:sep}")
process=("${generated[@]:sep+1}")
echo "ok: the DaemonSet's container as ctr run options: ${options[*]}"
echo "ok: its process (image Entrypoint + manifest args): ${process[*]}"

# The probe's own cgroup, where kubelet's cgroupfs driver would put it; and the scratch pod.
# The scratch pod is frozen with cgroup v2 where it is mounted, else (legacy v1) the v1 freezer.
freezer_root=$(findmnt -n -t cgroup2 -o TARGET | head -1)
hierarchy=v2 freeze=cgroup.freeze on=1 off=0
if [[ -z $freezer_root ]]; then
  freezer_root=$(findmnt -n -t cgroup -O freezer -o TARGET | head -1)
  hierarchy=v1 freeze=freezer.state on=FROZEN off=THAWED
fi
[[ -n $freezer_root ]] || fail "neither cgroup2 nor the v1 freezer is mounted"
# Whether the kernel says the scratch pod is frozen, read as runc reads it.
frozen() {
  if [[ $hierarchy == v2 ]]; then grep -q '^frozen 1' "$freezer_root/$container/cgroup.events"
  else [[ $(cat "$freezer_root/$container/freezer.state") == FROZEN ]]; fi
}
probe_cgroup=/$tag/kubepods/burstable/pod$(cat /proc/sys/kernel/random/uuid)/probe
container=$tag/kubepods/besteffort/pod$pod/$cid
remove_cgroups() {
  local dir
  [[ -f $freezer_root/$container/$freeze ]] && echo "$off" >"$freezer_root/$container/$freeze"
  for dir in $(findmnt -n -t cgroup,cgroup2 -o TARGET); do
    [[ -d $dir/$tag ]] || continue
    find "$dir/$tag" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}
on_exit+=("remove_cgroups")
mkdir -p "$freezer_root/$container"
sleep 600 &
sleeper=$!
on_exit+=("kill -KILL $sleeper 2>/dev/null; wait $sleeper 2>/dev/null")
echo "$sleeper" >"$freezer_root/$container/cgroup.procs"

# Removes a container of the test's containerd whatever state it is in.
remove_container() {
  "${ctr[@]}" task kill -s SIGKILL "$1" >/dev/null 2>&1 || true
  "${ctr[@]}" task delete --force "$1" >/dev/null 2>&1 || true
  "${ctr[@]}" container delete "$1" >/dev/null 2>&1 || true
}
run=("${ctr[@]}" run --snapshotter native --cgroup "$probe_cgroup" "${options[@]}" "localhost/freezeprobe:$version")

on_exit+=("remove_container $tag-doctor")
rc=0
"${run[@]}" "$tag-doctor" "${process[0]}" doctor >"$scratch/doctor.txt" 2>&1 || rc=$?
remove_container "$tag-doctor"
((rc == 0)) || fail "doctor in the image exited $rc: $(cat "$scratch/doctor.txt") $(tail -5 "$scratch/ctrd/log")"
grep -q '^result: *ok' "$scratch/doctor.txt" || fail "doctor in the image: $(cat "$scratch/doctor.txt")"
echo "ok: doctor in the image: $(grep -E '^(chosen|result):' "$scratch/doctor.txt" | tr -s ' ' | paste -sd';')"

on_exit+=("remove_container $tag-watch")
"${run[@]}" "$tag-watch" "${process[@]}" >"$scratch/events.json" 2>"$scratch/stderr" &
ctr_run=$!
on_exit+=("kill -KILL $ctr_run 2>/dev/null; wait $ctr_run 2>/dev/null")
wait_for_match watching "$scratch/stderr" "$ctr_run" 30 || fail "the watch in the image did not attach: $(cat "$scratch/stderr") $(tail -5 "$scratch/ctrd/log")"
echo "ok: the watch in the image: $(grep -m1 'attached' "$scratch/stderr")"

# The freeze, by a shell of the host whose PID the event must name.
writer=$scratch/writer.pid
bash -c 'echo $$ >"$1" && echo "$3" >"$2"' _ "$writer" "$freezer_root/$container/$freeze" "$on"
for _ in $(seq 100); do
  frozen && break
  sleep 0.05
done
frozen || fail "the scratch cgroup did not freeze"
echo "$off" >"$freezer_root/$container/$freeze"
sleep 0.5
python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
  "http://127.0.0.1:$port/metrics" >"$scratch/metrics.txt" || fail "no /metrics on 127.0.0.1:$port: $(cat "$scratch/stderr")"
"${ctr[@]}" task kill -s SIGTERM "$tag-watch" >/dev/null || fail "ctr task kill -s SIGTERM failed"
rc=0
timeout 30 tail --pid="$ctr_run" -f /dev/null || fail "the watch did not end within 30 s of SIGTERM"
wait "$ctr_run" || rc=$?
((rc == 0)) || fail "the watch in the image exited $rc after SIGTERM: $(cat "$scratch/stderr")"
echo "ok: the watch ended on SIGTERM: $(grep -m1 detached "$scratch/stderr")"

python3 - "$scratch/events.json" "/$container" "$cid" "$pod" "$(cat "$writer")" "$on" "$off" <<'EOF' || fail "the host's freeze was not reported as expected: $(head -c 3000 "$scratch/events.json")"
import json, sys
path, cgroup, cid, pod, writer, on, off = sys.argv[1:]
events = [json.loads(line) for line in open(path)]
writes = [e for e in events if e["type"] == "freeze_write" and e["cgroup"] == cgroup]
assert [w["value"] for w in writes] == [on, off], [w["value"] for w in writes]
want = {"id": cid, "pod_uid": pod, "namespace": "shop", "pod_name": "web-0", "name": "app",
        "sandbox": False}
for w in writes:
    got = {k: w["container"][k] for k in want}
    assert got == want, got
assert writes[0]["writer"]["pid"] == int(writer), (writes[0]["writer"], writer)
assert writes[0]["writer"]["comm"] == "bash", writes[0]["writer"]
episodes = [e["outcome"] for e in events if e["type"] == "freeze_episode" and e["cgroup"] == cgroup]
assert "frozen" in episodes, episodes
print(f"ok: the host's freeze of {cgroup[:50]}... reported from the image: writer bash "
      f"host pid {writer}, container shop/web-0/app ({cid[:12]}), episodes {', '.join(episodes)}")
EOF

series="freezeprobe_freeze_episodes_total{outcome=\"frozen\",hierarchy=\"$hierarchy\",container_id=\"$cid\",pod_uid=\"$pod\",namespace=\"shop\",pod=\"web-0\",container=\"app\"} 1"
grep -qxF "$series" "$scratch/metrics.txt" || fail "/metrics has no '$series': $(grep episodes_total "$scratch/metrics.txt")"
echo "ok: /metrics on the host's loopback: $series"
report=$scratch/state/report.json
[[ -s $report ]] || fail "no report in the state volume"
python3 - "$report" "$cid" <<'EOF' || fail "the report: $(head -c 2000 "$report")"
import json, sys
report = json.load(open(sys.argv[1]))
mine = [c for c in report["containers"] if (c["container"] or {}).get("id") == sys.argv[2]]
assert mine and mine[0]["episodes"].get("frozen", 0) >= 1, mine
print(f"ok: the report in the state volume has the container, episodes {mine[0]['episodes']}")
EOF
