#!/bin/bash
# The node VM scenario, run by node-scenario.service in the Debian 13 guest that
# tools/vm/node/run.sh boots (systemd as PID 1, cgroup v1, containerd, runc with the systemd
# cgroup driver, freezeprobe.service). It makes runc fail with "unable to freeze" twice, the way
# Kubernetes nodes hit it, and checks what freezeprobe reported:
#   0. names: a pod sandbox (pause-type) and a container of one pod run as kubelet and
#      containerd's CRI plugin run them in the systemd layout (pod log directory, cgroups path
#      <slice>:cri-containerd:<id>, the CRI annotations), each paused and resumed: the JSON and
#      text lines, the JUnit test cases and the unit's metrics name namespace, pod and container.
#   1. update: a container in a kubelet-style systemd slice (kubepods-besteffort-pod<uid>.slice:
#      cri-containerd:<id>) has a process held in a FUSE read; `runc update` on containerd's runc
#      root (what kubelet's in-place resize reaches through the CRI and the shim) makes runc's
#      systemd v1 manager freeze before it sets the unit's properties, and the freeze fails.
#   2. create: the freezer cgroup the next container will get already holds a task blocked in a
#      FUSE read; `ctr run` makes `runc create` freeze at its procHooks step, and the freeze fails
#      with "error setting cgroup config for procHooks process: unable to freeze".
#   3. NFS: tasks stuck on a loopback NFS mount whose server stopped, in cgroups frozen through
#      v1 and v2 (nfs_scenario.sh): the blockers' cause is nfs, or no blocker where the freeze works.
# Prints NODE-INFO, NODE-OUT (captured outputs) and one NODE-PASS/NODE-FAIL line per check, then
# NODE-DONE; the unit powers the guest off when this script ends.
set -u
D=/usr/local/libexec/freezeprobe-node
OUT=/run/node
mkdir -p $OUT
NS=k8s.io
IMAGE=docker.io/library/fpnode:1
FREEZER=/sys/fs/cgroup/freezer
failed=0

info() { echo "NODE-INFO $*"; }
pass() { echo "NODE-PASS $*"; }
fail() { echo "NODE-FAIL $*"; failed=1; }
check() { # check NAME COMMAND...: PASS when COMMAND succeeds
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi
}
show() { # show TAG FILE [MAX_LINES]: the file's lines, prefixed
  head -n "${3:-40}" "$2" 2>/dev/null | cut -c1-400 | sed "s/^/NODE-OUT $1 | /"
}
uuid() { cat /proc/sys/kernel/random/uuid; }
hex64() { head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
task_pid() { ctr -n $NS task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $2}'; }
# Waits up to $1 seconds for the command to succeed.
wait_for() {
  local until=$((SECONDS + $1)); shift
  while ((SECONDS < until)); do "$@" && return 0; sleep 0.1; done
  "$@"
}

# Kills container $1's task (SIGKILL), waits for its init to die, deletes the task and the
# container.
remove_container() {
  local c=$1 pid
  pid=$(task_pid "$c")
  timeout 60 ctr -n $NS task kill -s SIGKILL "$c" > $OUT/kill.txt 2>&1 || { fail "ctr task kill ${c:0:12}"; show kill $OUT/kill.txt 5; }
  if [[ -n $pid ]] && ! timeout 60 tail --pid="$pid" -f /dev/null; then
    fail "the init ($pid) of container ${c:0:12} died of ctr task kill"; dump_tasks; kill -KILL "$pid"
  fi
  timeout 60 ctr -n $NS task delete "$c" > $OUT/delete.txt 2>&1 || { fail "ctr task delete ${c:0:12}"; show delete $OUT/delete.txt 5; }
  ctr -n $NS container delete "$c" > /dev/null 2>&1
}

# Every task not sleeping interruptibly, and every task of the containers' freezer cgroups, with
# its wchan and kernel stack: printed when a step does not finish.
dump_tasks() {
  local t
  for t in /proc/[0-9]*/task/[0-9]*; do
    local st; st=$(awk '{print $3}' $t/stat 2>/dev/null)
    [[ $st == D || $st == R ]] || grep -q kubepods $t/cgroup 2>/dev/null || continue
    echo "NODE-STALL ${t#/proc/} $(cat $t/comm 2>/dev/null) $st $(cat $t/wchan 2>/dev/null) $(grep freezer $t/cgroup 2>/dev/null)"
    sed 's/^/NODE-STALL   /' $t/stack 2>/dev/null | head -n 12
  done
  for f in $(find $FREEZER/kubepods.slice -name freezer.state 2>/dev/null); do echo "NODE-STALL $f $(cat $f)"; done
}
# A watchdog: a scenario that hangs prints where and powers the guest off (the host's timeout
# would only say that it did not finish).
( sleep 480; echo "NODE-FAIL scenario watchdog: still running after 480 s"; dump_tasks
  echo "NODE-DONE failed=1"; systemctl poweroff --force --force ) &
watchdog_pid=$!

info "kernel $(uname -r); $(systemctl --version | head -n1); $(containerd --version); $(runc --version | head -n1)"
info "cgroup: /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup), freezer $(stat -fc %T $FREEZER), unified $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)"
info "boot to scenario: $(cut -d' ' -f1 /proc/uptime) s uptime"
check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd
legacy() { [[ $(stat -fc %T /sys/fs/cgroup) == tmpfs && $(stat -fc %T $FREEZER) == cgroupfs ]]; }
check "cgroup v1 (systemd's legacy hierarchy: a tmpfs of v1 mounts)" legacy
check "freezeprobe.service is active" systemctl is-active --quiet freezeprobe.service
check "containerd.service is active" systemctl is-active --quiet containerd.service
unit_attached() { journalctl -u freezeprobe.service -o cat --no-pager | grep -q "attached in"; }
wait_for 120 unit_attached || fail "freezeprobe.service attached"
journalctl -u freezeprobe.service -o cat --no-pager | grep -m1 "attached in" | sed 's/^/NODE-OUT journal | /'

# The names step's pod (step 0 below), known first so that a text watch can be limited to it.
NPOD=$(uuid)
NSLICE="kubepods-besteffort-pod${NPOD//-/_}.slice"
NCG=/kubepods.slice/kubepods-besteffort.slice/$NSLICE
# A watch around the scenario, as a CI job would run it, and one in text mode on the names pod.
freezeprobe watch --events json --cgroup /kubepods.slice --junit $OUT/watch.xml \
  --report $OUT/watch-report.json > $OUT/watch.jsonl 2> $OUT/watch.err &
watch_pid=$!
freezeprobe watch --events text --cgroup $NCG > $OUT/names.txt 2> $OUT/names.err &
text_pid=$!
wait_for 120 grep -q "watching" $OUT/watch.err || fail "watch attached"
wait_for 120 grep -q "watching" $OUT/names.err || fail "text watch attached"
show watch-stderr $OUT/watch.err 3

ctr -n $NS images import $D/fpnode-oci.tar > $OUT/import.txt 2>&1 || { fail "ctr images import"; show import $OUT/import.txt; }

# 0. Names. A pod run the way kubelet and containerd's CRI plugin (1.7) run one with the systemd
# cgroup driver: kubelet makes the pod log directory /var/log/pods/<namespace>_<pod>_<uid> (0755)
# before RunPodSandbox, and gives the cgroup parent /kubepods.slice/kubepods-besteffort.slice/
# kubepods-besteffort-pod<uid>.slice; the CRI plugin turns it into runc's systemd path
# "<slice>:cri-containerd:<id>" (getCgroupsPath) for the sandbox and every container, runs them
# with the runtime's SystemdCgroup option (ctr --runc-systemd-cgroup) and annotates their specs
# (DefaultCRIAnnotations: sandbox-id/-name/-namespace/-uid on both; container-type "sandbox" with
# the sandbox's log directory and image, or "container" with its name and image). The container
# joins the sandbox's network, IPC and UTS namespaces, as the CRI plugin makes it. Each is then
# paused and resumed (ctr task pause: runc's systemd v1 manager freezes the freezer cgroup).
names_t0=$SECONDS
NNS=shop NPODNAME=web-0 NCNAME=app
sandbox=$(hex64) app=$(hex64)
logdir=/var/log/pods/${NNS}_${NPODNAME}_${NPOD}
mkdir -p -m 0755 "$logdir"
info "names pod $NNS/$NPODNAME ($NPOD): sandbox $sandbox, container $NCNAME $app"
pod_annotations=(--annotation "io.kubernetes.cri.sandbox-id=$sandbox" --annotation "io.kubernetes.cri.sandbox-name=$NPODNAME"
  --annotation "io.kubernetes.cri.sandbox-namespace=$NNS" --annotation "io.kubernetes.cri.sandbox-uid=$NPOD")
ctr -n $NS run -d --runc-systemd-cgroup --cgroup "$NSLICE:cri-containerd:$sandbox" "${pod_annotations[@]}" \
  --annotation io.kubernetes.cri.container-type=sandbox --annotation "io.kubernetes.cri.sandbox-log-directory=$logdir" \
  --annotation "io.kubernetes.cri.podsandbox.image-name=$IMAGE" \
  $IMAGE "$sandbox" /bin/sleep 100000 > $OUT/run-sandbox.txt 2>&1 || { fail "ctr run (sandbox)"; show run-sandbox $OUT/run-sandbox.txt; }
sandbox_pid=$(task_pid "$sandbox")
ctr -n $NS run -d --runc-systemd-cgroup --cgroup "$NSLICE:cri-containerd:$app" "${pod_annotations[@]}" \
  --annotation io.kubernetes.cri.container-type=container --annotation "io.kubernetes.cri.container-name=$NCNAME" \
  --annotation "io.kubernetes.cri.image-name=$IMAGE" \
  --with-ns "network:/proc/$sandbox_pid/ns/net" --with-ns "ipc:/proc/$sandbox_pid/ns/ipc" --with-ns "uts:/proc/$sandbox_pid/ns/uts" \
  $IMAGE "$app" /bin/sleep 100000 > $OUT/run-app.txt 2>&1 || { fail "ctr run (app container)"; show run-app $OUT/run-app.txt; }
check "names: the app container shares the sandbox's network namespace" \
  test "$(readlink /proc/$sandbox_pid/ns/net)" = "$(readlink /proc/$(task_pid "$app")/ns/net)"
check "names: both in the kubelet systemd-driver freezer cgroups" \
  test -d "$FREEZER$NCG/cri-containerd-$sandbox.scope" -a -d "$FREEZER$NCG/cri-containerd-$app.scope"
for c in "$sandbox" "$app"; do
  for op in pause resume; do
    timeout 60 ctr -n $NS task $op "$c" > $OUT/$op.txt 2>&1 || { fail "names: ctr task $op ${c:0:12}"; show $op $OUT/$op.txt 5; }
  done
done
sleep 1
kill -INT $text_pid
wait $text_pid
info "text watch exit $?"
for c in "$app" "$sandbox"; do remove_container "$c"; done
rmdir "$logdir"
info "names step: $((SECONDS - names_t0)) s"

# The FUSE daemon (outside any container) and the first container reading its file.
mkdir -p /run/hang
$D/node_hang_fuse_serve /run/hang > $OUT/fuse.txt 2>&1 &
fuse_pid=$!
wait_for 30 grep -q "^mount " $OUT/fuse.txt || fail "FUSE daemon mounted"
mnt=$(sed -n 's/^mount //p' $OUT/fuse.txt)

pod=$(uuid)
slice="kubepods-besteffort-pod${pod//-/_}.slice"
id=$(hex64)
info "pod $pod, update container $id"
ctr -n $NS run -d --runc-systemd-cgroup --cgroup "$slice:cri-containerd:$id" \
  --mount "type=bind,src=$mnt,dst=/hang,options=rbind:ro" $IMAGE "$id" \
  /bin/sh -c 'cat /hang/hang & exec sleep 100000' > $OUT/run1.txt 2>&1 || { fail "ctr run (update container)"; show run1 $OUT/run1.txt; }
scope_dir=$FREEZER/kubepods.slice/kubepods-besteffort.slice/$slice/cri-containerd-$id.scope
check "container in the kubelet systemd-driver freezer cgroup" test -d "$scope_dir"
info "freezer cgroup $scope_dir"
held_cat() { # the container's cat, once it waits in the FUSE read
  local p
  for p in $(cat "$scope_dir/cgroup.procs" 2>/dev/null); do
    [[ $(cat /proc/$p/comm 2>/dev/null) == cat && $(cat /proc/$p/wchan 2>/dev/null) == request_wait_answer ]] && { echo $p; return 0; }
  done
  return 1
}
wait_for 60 held_cat > /dev/null || fail "container's cat held in the FUSE read"
cat_pid=$(held_cat)
info "cat pid $cat_pid: $(cat /proc/$cat_pid/wchan 2>/dev/null)"

# 1. The resize. kubelet's in-place resize reaches runc as containerd's CRI UpdateContainerResources
# -> containerd-shim-runc-v2 -> `runc update`; ctr 1.7 has no task update, and the CRI needs a
# pod sandbox, so runc update runs here on containerd's runc root with the shim's flags
# (--systemd-cgroup), and its parent is this script rather than the shim.
start=$(date +%s%N)
runc --root /run/containerd/runc/$NS --systemd-cgroup update --memory 134217728 "$id" > $OUT/update.txt 2>&1
update_rc=$?
info "runc update: exit $update_rc after $((($(date +%s%N) - start) / 1000000)) ms"
show update $OUT/update.txt 5
check "runc update fails with 'unable to freeze'" grep -q "unable to freeze" $OUT/update.txt
check "the container is thawed after the failed update" grep -qx THAWED "$scope_dir/freezer.state"

# 2. The create: the freezer cgroup of the next container already holds a task in a FUSE read.
id2=$(hex64)
scope2=$FREEZER/kubepods.slice/kubepods-besteffort.slice/$slice/cri-containerd-$id2.scope
mkdir -p "$scope2"
$D/node_hang_fuse_serve /run/hang "$scope2/cgroup.procs" > $OUT/fuse2.txt 2>&1 &
fuse2_pid=$!
wait_for 30 grep -q "^reader " $OUT/fuse2.txt || fail "create: reader started"
reader_pid=$(sed -n 's/^reader //p' $OUT/fuse2.txt)
wait_for 30 test "$(cat /proc/$reader_pid/wchan 2>/dev/null)" = request_wait_answer || fail "create: reader held in the FUSE read"
info "create container $id2; pre-existing task $reader_pid in $scope2"
start=$(date +%s%N)
ctr -n $NS run -d --runc-systemd-cgroup --cgroup "$slice:cri-containerd:$id2" $IMAGE "$id2" \
  /bin/sleep 100000 > $OUT/create.txt 2>&1
info "ctr run: exit $? after $((($(date +%s%N) - start) / 1000000)) ms"
show create $OUT/create.txt 5
check "runc create fails at procHooks with 'unable to freeze'" \
  grep -q "error setting cgroup config for procHooks process: unable to freeze" $OUT/create.txt

# Release both FUSE holds, then remove what was made.
info "after the create: $(cat $scope2/freezer.state 2>/dev/null) pre-existing cgroup, reader $(cat /proc/$reader_pid/stat 2>/dev/null | cut -d' ' -f3) at $(cat /proc/$reader_pid/wchan 2>/dev/null)"
[[ $(cat $scope2/freezer.state 2>/dev/null) == THAWED ]] || { fail "runc thawed the cgroup after its failed freeze"; echo THAWED > $scope2/freezer.state; }
for p in $fuse2_pid $fuse_pid; do
  kill -TERM $p
  timeout 30 tail --pid=$p -f /dev/null || { fail "FUSE daemon $p ended on SIGTERM"; dump_tasks; kill -KILL $p; }
done
remove_container "$id"
ctr -n $NS container delete "$id2" >/dev/null 2>&1
rmdir "$scope2" 2>/dev/null

sleep 1
kill -INT $watch_pid
wait $watch_pid
info "watch exit $?"

# What the watch reported: one aborted episode per failed runc freeze, with runc as the writer,
# containerd-shim as its parent, the blocker and the container.
episode() { # the aborted freezer episode of container $1
  jq -c --arg id "$1" 'select(.type == "freeze_episode" and .outcome == "aborted" and .hierarchy == "v1" and .container.id == $id)' $OUT/watch.jsonl
}
# runc update retries Set with the old configuration after a failure: each Set is a failed freeze,
# and each is logged ("freeze container before SetUnitProperties failed"); runc create fails once.
update_freezes=$(grep -c "freeze container before SetUnitProperties failed: unable to freeze" $OUT/update.txt)
info "runc update: $update_freezes failed freezes in its log"
# One episode per attempt: runc's own thaws inside its loop (every 50 tries, then 10 ms of sleep,
# longer under TCG) continue the episode while runc lives; runc update reads freezer.state back
# before it retries, which ends the first attempt's episode (docs/episodes-and-blockers.md).
for c in update:$id:$update_freezes create:$id2:1; do
  IFS=: read -r what cid want <<< "$c"
  ep=$(episode "$cid")
  info "$what: $(printf '%s\n' "$ep" | grep -c .) aborted episode(s), freeze writes $(printf '%s\n' "$ep" | jq -s -c 'map(.writes)'), for $want failed runc freeze(s)"
  check "$what: one aborted episode per failed runc freeze ($want)" \
    test "$(printf '%s\n' "$ep" | grep -c .)" = "$want"
  check "$what: each aborted episode is runc's whole loop (1000 freeze writes)" \
    test "$(printf '%s\n' "$ep" | jq -s 'all(.writes == 1000)')" = true
  printf '%s\n' "$ep" | head -n1 > $OUT/ep-$what.json
  jqc() { jq -e "$1" $OUT/ep-$what.json; }
  check "$what: the writer is runc" jqc '.writer.comm == "runc"'
  if [[ $what == create ]]; then
    check "$what: the writer's parent is containerd-shim" jqc '.writer.parent.comm | startswith("containerd-shim")'
  else
    check "$what: the writer's parent is this script (pid $$)" jqc ".writer.parent.pid == $$"
  fi
  check "$what: the container is named from the systemd scope (containerd, besteffort)" \
    jqc '.container.runtime == "containerd" and .container.qos == "besteffort"'
  check "$what: pod uid from the slice" jq -e --arg pod "$pod" '.container.pod_uid == $pod' $OUT/ep-$what.json
  check "$what: the cgroup is the cri-containerd scope" jqc '.cgroup | endswith(".scope") and contains("/kubepods.slice/kubepods-besteffort.slice/")'
  check "$what: the blocker is in the FUSE read with its stack" \
    jqc '[.blockers[] | select(.wchan == "request_wait_answer" and (.stack | length) > 0 and (.stack | map(test("fuse")) | any))] | length >= 1'
done
check "update: the blocker is the container's cat" jq -e --argjson p "$cat_pid" '.blockers[] | select(.pid == $p and .comm == "cat")' $OUT/ep-update.json
check "create: the blocker is the pre-existing reader" jq -e --argjson p "$reader_pid" '.blockers[] | select(.pid == $p)' $OUT/ep-create.json
show episode-update $OUT/ep-update.json 1
check "watch JUnit: an aborted failure per container" test "$(grep -c '<failure type="aborted"' $OUT/watch.xml)" -ge 2
check "watch JUnit names runc and containerd-shim" grep -q 'requested by runc\[[0-9]*\] (from containerd-shim' $OUT/watch.xml
check "watch report: both containers' aborted episodes" jq -e --arg a "$id" --arg b "$id2" \
  '[.containers[] | select(.controllers == "freezer" and (.container.id == $a or .container.id == $b) and .episodes.aborted >= 1)] | length == 2' $OUT/watch-report.json
grep -m1 '<failure type="aborted"' $OUT/watch.xml | cut -c1-600 | sed 's/^/NODE-OUT junit | /'

# Step 0's names in every output. JSON: each event of the two containers carries the pod's
# namespace and name and its UID, the app its name, the sandbox none (null) and sandbox true;
# each has frozen and thawed episodes (runc create's procHooks freeze, then the pause). The update container, run with no annotations and no log
# directory, keeps every name null.
names_json() { # names_json ID NAME(JSON) SANDBOX(JSON)
  jq -e -s --arg id "$1" --arg ns "$NNS" --arg pod "$NPODNAME" --arg uid "$NPOD" \
    --argjson name "$2" --argjson sb "$3" '
    map(select(.container.id == $id)) as $ev
    | ($ev | map(select(.type == "freeze_episode" and .hierarchy == "v1") | .outcome) | contains(["frozen", "thawed"]))
      and ($ev | map(select(.type == "freeze_write")) | length >= 2)
      and ($ev | all(.container | .namespace == $ns and .pod_name == $pod and .pod_uid == $uid
                     and .name == $name and .sandbox == $sb and .runtime == "containerd"))' $OUT/watch.jsonl
}
check "names JSON: every event of the app container is $NNS/$NPODNAME/$NCNAME, sandbox false" names_json "$app" "\"$NCNAME\"" false
check "names JSON: every event of the pause container is $NNS/$NPODNAME, name null, sandbox true" names_json "$sandbox" null true
jq -c --arg id "$app" 'select(.container.id == $id and .type == "freeze_episode") | .container' $OUT/watch.jsonl | head -n1 | sed 's/^/NODE-OUT names-json | /'
check "names JSON: unknown stays null (the update container: no annotations, no log directory)" \
  jq -e -s --arg id "$id" 'map(select(.container.id == $id)) | length > 0 and all(.container | .namespace == null and .pod_name == null and .name == null and .sandbox == null)' $OUT/watch.jsonl
check "names text: the app's lines say container $NNS/$NPODNAME/$NCNAME" grep -q "container $NNS/$NPODNAME/$NCNAME (${app:0:12}, containerd, pod $NPOD)" $OUT/names.txt
check "names text: the pause container's lines say $NNS/$NPODNAME/<sandbox>" grep -q "container $NNS/$NPODNAME/<sandbox> (${sandbox:0:12}, containerd, pod $NPOD)" $OUT/names.txt
grep -m1 "freeze_episode" $OUT/names.txt | cut -c1-400 | sed 's/^/NODE-OUT names-text | /'
check "names JUnit: a test case named $NNS/$NPODNAME/$NCNAME" grep -q "<testcase [^>]*name=\"$NNS/$NPODNAME/$NCNAME (freezer:$NCG/cri-containerd-$app.scope" $OUT/watch.xml
check "names JUnit: a test case named $NNS/$NPODNAME/<sandbox>" grep -q "<testcase [^>]*name=\"$NNS/$NPODNAME/&lt;sandbox&gt; (freezer:$NCG/cri-containerd-$sandbox.scope" $OUT/watch.xml

# The unit's own outputs: metrics while it runs, the report once systemd stops it.
prom=/var/lib/node_exporter/textfile_collector/freezeprobe.prom
wait_for 30 grep -q "container_id=\"$id2\"" $prom
check "unit metrics: aborted episode for the update container" grep -q "freezeprobe_freeze_episodes_total{outcome=\"aborted\",hierarchy=\"v1\",container_id=\"$id\"" $prom
check "unit metrics: aborted episode for the create container" grep -q "freezeprobe_freeze_episodes_total{outcome=\"aborted\",hierarchy=\"v1\",container_id=\"$id2\"" $prom
grep "outcome=\"aborted\",hierarchy=\"v1\",container_id=\"$id\"" $prom | sed 's/^/NODE-OUT metrics | /'
check "names metrics: the app's frozen episode labelled namespace, pod, container" \
  grep -q "freezeprobe_freeze_episodes_total{outcome=\"frozen\",hierarchy=\"v1\",container_id=\"$app\",pod_uid=\"$NPOD\",namespace=\"$NNS\",pod=\"$NPODNAME\",container=\"$NCNAME\"} " $prom
check "names metrics: the pause container's frozen episode labelled namespace, pod, no container" \
  grep -q "freezeprobe_freeze_episodes_total{outcome=\"frozen\",hierarchy=\"v1\",container_id=\"$sandbox\",pod_uid=\"$NPOD\",namespace=\"$NNS\",pod=\"$NPODNAME\",container=\"\"} " $prom
grep "outcome=\"frozen\",hierarchy=\"v1\",container_id=\"$app\"" $prom | sed 's/^/NODE-OUT metrics | /'
systemctl stop freezeprobe.service
report=/var/lib/freezeprobe/report.json
check "unit report written on stop" test -s $report
check "unit report: both containers aborted, by runc" jq -e --arg a "$id" --arg b "$id2" \
  '[.containers[] | select(.controllers == "freezer" and (.container.id == $a or .container.id == $b) and .episodes.aborted >= 1 and (.failures | map(.kind == "aborted" and (.message | test("requested by runc\\[[0-9]+\\] \\(from "))) | any))] | length == 2' $report
check "unit report: the create's runc from containerd-shim" jq -e --arg b "$id2" \
  '[.containers[] | select(.container.id == $b and .controllers == "freezer") | .failures[] | select(.kind == "aborted" and (.message | test("requested by runc\\[[0-9]+\\] \\(from containerd-shim")))] | length >= 1' $report
jq -r --arg a "$id" '.containers[] | select(.container.id == $a and .controllers == "freezer") | .failures[] | select(.kind == "aborted") | .message' $report | sed 's/^/NODE-OUT report | /'
journalctl -u freezeprobe.service -o cat --no-pager | tail -n 5 | sed 's/^/NODE-OUT journal | /'

# 3. NFS: a freeze stuck on a loopback NFS mount whose server stopped (tools/vm/node/nfs_scenario.sh).
. $D/nfs_scenario.sh
nfs_scenario

info "scenario end: $(cut -d' ' -f1 /proc/uptime) s uptime"
kill $watchdog_pid 2>/dev/null
echo "NODE-DONE failed=$failed"
