#!/usr/bin/env bash
# The DaemonSet's container, without Kubernetes: the static binary alone in an otherwise empty
# root (as in a FROM-scratch image), a new /proc, the host's /sys with its cgroup mounts, in a
# private mount namespace and a private cgroup namespace rooted at a cgroup of its own (what a
# container gets on a cgroup v2 node). `doctor` must pass there, and a freeze of another "pod's"
# cgroup must be reported with its whole path from the hierarchy root and its container ID.
# usage: check_container_root.sh BINARY
set -euo pipefail
source "$(dirname "$0")/lib.sh"
binary=$1
require_root

make_scratch_dir
v2=$(findmnt -n -t cgroup2 -o TARGET | head -1)
[[ -n $v2 ]] || fail "no cgroup2 mount"
top=freezeprobe-pkg-$$
id=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
pod=$(cat /proc/sys/kernel/random/uuid)
container=$top/kubepods/besteffort/pod$pod/$id
mkdir -p "$v2/$container" "$v2/$top/probe"
on_exit+=("find '$v2/$top' -depth -type d -exec rmdir {} + 2>/dev/null")

# The "pod" to freeze: one sleeping process.
sleep 600 &
sleeper=$!
on_exit+=("kill -KILL $sleeper 2>/dev/null; wait $sleeper 2>/dev/null")
echo "$sleeper" >"$v2/$container/cgroup.procs"

image=$scratch/image
mkdir -p "$image/proc" "$image/sys"
cp "$binary" "$image/freezeprobe"
# Call in a subshell, "( in_container ARGS )": it becomes freezeprobe, so that $! is its pid.
in_container() {
  # It moves itself into the probe's cgroup, then unshares: that cgroup is its namespace root.
  exec bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$v2/$top/probe" \
    unshare --mount --cgroup --propagation private \
    bash -c 'mount -t proc proc "$1/proc" && mount --rbind /sys "$1/sys" && shift &&
             exec chroot "$@"' _ "$image" "$image" /freezeprobe "$@"
}

(in_container doctor) >"$scratch/doctor.txt" 2>&1 || fail "doctor in the empty root: $(cat "$scratch/doctor.txt")"
grep -q '^result: *ok' "$scratch/doctor.txt" || fail "doctor: $(cat "$scratch/doctor.txt")"
echo "ok: doctor in the empty root: $(grep '^result:' "$scratch/doctor.txt")"

(in_container watch --events json) >"$scratch/events.json" 2>"$scratch/stderr" &
watcher=$!
on_exit+=("kill -KILL $watcher 2>/dev/null; wait $watcher 2>/dev/null")
wait_for_match attached "$scratch/stderr" "$watcher" 20 || fail "watch did not attach: $(cat "$scratch/stderr")"
echo 1 >"$v2/$container/cgroup.freeze"
for _ in $(seq 100); do
  grep -q '^frozen 1' "$v2/$container/cgroup.events" && break
  sleep 0.05
done
echo 0 >"$v2/$container/cgroup.freeze"
sleep 0.5
kill -TERM "$watcher"
rc=0
wait "$watcher" || rc=$?
((rc == 0)) || fail "watch exited $rc after SIGTERM: $(cat "$scratch/stderr")"

python3 - "$scratch/events.json" "/$container" "$id" "$pod" <<'EOF' || fail "the freeze was not reported as expected: $(head -c 2000 "$scratch/events.json")"
import json, sys
path, cgroup, cid, pod = sys.argv[1:]
events = [json.loads(line) for line in open(path)]
writes = [e for e in events if e["type"] == "freeze_write" and e["cgroup"] == cgroup]
assert [w["value"] for w in writes] == ["1", "0"], [w["value"] for w in writes]
for w in writes:
    assert w["container"]["id"] == cid and w["container"]["pod_uid"] == pod, w["container"]
episodes = [e["outcome"] for e in events if e["type"] == "freeze_episode" and e["cgroup"] == cgroup]
assert "frozen" in episodes, episodes
print(f"ok: in a private cgroup namespace the freeze of {cgroup[:60]}... was seen with its "
      f"whole path, container {cid[:12]}, pod {pod} (episode {', '.join(episodes)})")
EOF
