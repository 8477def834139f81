# The NFS part of the node VM scenario, sourced by tools/vm/node/scenario.sh (which provides
# info/pass/fail/check/show/wait_for/dump_tasks, $OUT and $FREEZER) and run as nfs_scenario.
#
# The guest exports a directory with the kernel NFS server over loopback, mounts it (NFSv3,
# hard, TCP, nolock, attributes cached for 10 minutes so a read goes straight to READ RPCs), and
# stops the server (`rpc.nfsd 0`: its sockets close, the client's reconnects are refused, and a
# hard mount retries forever). Two tasks then wait on the mount, each in a v1 freezer cgroup and a
# v2 cgroup of its own:
#   read: `cat` of a file opened before the server stopped. Its READs are asynchronous (rpciod);
#         cat sleeps on the page's folio lock (folio_wait_bit_common, TASK_KILLABLE), which no
#         freezer can break: both the v1 and the v2 freeze stall on it.
#   rpc:  `stat` of a name never looked up, with its working directory on the mount: a
#         synchronous LOOKUP, asleep in rpc_wait_bit_killable (TASK_KILLABLE|TASK_FREEZABLE_UNSAFE
#         since 6.1). The v1 freezer freezes such a sleeper in place (__freeze_task), so the v1
#         freeze completes and no blocker may be named; the v2 freezer only wakes interruptible
#         sleepers with its trap, so the v2 freeze stalls on it.
# A `freezeprobe watch` on /fpnfs checks each freeze's episode and the blockers' cause (kind nfs,
# the mount and server, the hint: the mount's /sys/fs/nfs/MAJ:MIN/shutdown); then running the hint
# must release both tasks.
# Every step has a timeout; whatever happens, the tasks are killed by their PIDs, the mount is
# detached, the cgroups are thawed and removed and the server is stopped.
nfs_scenario() {
  local t0=$SECONDS srv=/srv/fpnfs mnt=/mnt/fpnfs h cg pid
  local v1=$FREEZER/fpnfs v2=/sys/fs/cgroup/unified/fpnfs
  local watch="" reader="" stater="" c
  info "nfs: kernel NFS server over loopback, $(dpkg-query -W nfs-kernel-server 2>/dev/null)"
  modprobe nfsd 2>/dev/null; modprobe nfs 2>/dev/null
  mkdir -p $srv $mnt
  head -c 1048576 /dev/urandom > $srv/data
  echo "$srv 127.0.0.1(rw,no_root_squash,no_subtree_check,insecure)" > /etc/exports
  if ! timeout 120 systemctl start nfs-server.service > $OUT/nfs-start.txt 2>&1; then
    fail "nfs: nfs-server.service started"; show nfs-start $OUT/nfs-start.txt 10
    journalctl -u nfs-server.service -o cat --no-pager | tail -n 10 | sed 's/^/NODE-OUT nfs-server | /'
    return
  fi
  info "nfs: server up after $((SECONDS - t0)) s; $(cat /proc/fs/nfsd/threads 2>/dev/null) nfsd threads"
  if ! timeout 60 mount -t nfs -o vers=3,proto=tcp,hard,nolock,actimeo=600 127.0.0.1:$srv $mnt \
    > $OUT/nfs-mount.txt 2>&1; then
    fail "nfs: loopback NFSv3 mount"; show nfs-mount $OUT/nfs-mount.txt 10
    timeout 60 systemctl stop nfs-server.service
    return
  fi
  pass "nfs: loopback NFSv3 mount ($(findmnt -n -o FSTYPE,OPTIONS $mnt | cut -c1-120))"

  local have_v2=0
  [[ $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]] && have_v2=1
  check "nfs: a v2 hierarchy at /sys/fs/cgroup/unified" test $have_v2 = 1
  for c in read rpc; do
    mkdir -p $v1/$c
    ((have_v2)) && mkdir -p $v2/$c
  done
  freezeprobe watch --events json --cgroup /fpnfs --stall-after 500 \
    > $OUT/nfs-watch.jsonl 2> $OUT/nfs-watch.err &
  watch=$!
  wait_for 120 grep -q "watching" $OUT/nfs-watch.err || fail "nfs: watch attached"

  # Each task joins its cgroups, opens what it needs while the server answers, and waits on a FIFO.
  mkfifo $OUT/nfs-go-read $OUT/nfs-go-rpc
  (
    echo $BASHPID > $v1/read/cgroup.procs; ((have_v2)) && echo $BASHPID > $v2/read/cgroup.procs
    exec 3< $mnt/data
    read -r _ < $OUT/nfs-go-read
    exec cat <&3 > /dev/null
  ) &
  reader=$!
  (
    echo $BASHPID > $v1/rpc/cgroup.procs; ((have_v2)) && echo $BASHPID > $v2/rpc/cgroup.procs
    cd $mnt || exit 1
    read -r _ < $OUT/nfs-go-rpc
    exec stat absent-$BASHPID
  ) > /dev/null 2>&1 &
  stater=$!

  # The server stops answering; then both tasks go to the mount.
  timeout 60 rpc.nfsd 0 || fail "nfs: rpc.nfsd 0"
  info "nfs: server stopped ($(cat /proc/fs/nfsd/threads 2>/dev/null) nfsd threads)"
  timeout 10 sh -c "echo > $OUT/nfs-go-read; echo > $OUT/nfs-go-rpc" || fail "nfs: tasks released"
  in_d() { [[ $(cut -d' ' -f3 /proc/$1/stat 2>/dev/null) == D ]]; }
  wait_for 30 in_d $reader || fail "nfs: the reader is in D on the mount"
  wait_for 30 in_d $stater || fail "nfs: the stat is in D on the mount"
  info "nfs: reader $reader $(cat /proc/$reader/comm) at $(cat /proc/$reader/wchan 2>/dev/null); stat $stater $(cat /proc/$stater/comm) at $(cat /proc/$stater/wchan 2>/dev/null)"
  sed 's/^/NODE-OUT nfs-reader-stack | /' /proc/$reader/stack 2>/dev/null | head -n 14
  sed 's/^/NODE-OUT nfs-stat-stack | /' /proc/$stater/stack 2>/dev/null | head -n 14

  # v1: freeze both; the rpc cgroup freezes, the read cgroup stays FREEZING.
  echo FROZEN > $v1/read/freezer.state
  echo FROZEN > $v1/rpc/freezer.state
  local rpc_frozen=0
  wait_for 30 grep -qx FROZEN $v1/rpc/freezer.state && rpc_frozen=1
  stalled() { # stalled HIERARCHY CGROUP: a freeze_stall of that cgroup was reported
    jq -e --arg h $1 --arg c $2 'select(.type == "freeze_stall" and .hierarchy == $h and .cgroup == $c)' \
      $OUT/nfs-watch.jsonl > /dev/null 2>&1
  }
  wait_for 30 stalled v1 /fpnfs/read
  sleep 2 # past --stall-after for the rpc cgroup too, had it not frozen
  info "nfs: v1 freezer.state read $(cat $v1/read/freezer.state), rpc $(cat $v1/rpc/freezer.state)"
  check "nfs v1: the task in an RPC wait (TASK_FREEZABLE) freezes" test $rpc_frozen = 1
  check "nfs v1: the read cgroup stays FREEZING" grep -qx FREEZING $v1/read/freezer.state
  echo THAWED > $v1/read/freezer.state
  echo THAWED > $v1/rpc/freezer.state
  if ((have_v2)); then
    echo 1 > $v2/read/cgroup.freeze
    echo 1 > $v2/rpc/cgroup.freeze
    wait_for 30 stalled v2 /fpnfs/read
    wait_for 30 stalled v2 /fpnfs/rpc
    info "nfs: v2 cgroup.events read '$(grep frozen $v2/read/cgroup.events)', rpc '$(grep frozen $v2/rpc/cgroup.events)'"
    check "nfs v2: the read cgroup does not freeze" grep -qx "frozen 0" $v2/read/cgroup.events
    check "nfs v2: the rpc cgroup does not freeze" grep -qx "frozen 0" $v2/rpc/cgroup.events
    echo 0 > $v2/read/cgroup.freeze
    echo 0 > $v2/rpc/cgroup.freeze
  fi

  # The hint: the mount's shutdown knob (6.7+) fails its pending and later RPCs with EIO, which
  # releases both tasks. (umount -f does not: on 6.12 it left both in D, the reader re-reading the
  # page and the lookup still waiting.)
  local dev knob hint_cmd
  dev=$(mountpoint -d $mnt)
  knob=/sys/fs/nfs/$dev/shutdown
  hint_cmd=$(jq -r --argjson p $reader 'select(.type == "freeze_stall") | .blockers[] | select(.pid == $p) | .cause.hint // empty' \
    $OUT/nfs-watch.jsonl 2>/dev/null | head -n1)
  info "nfs: mount device $dev; hint '$hint_cmd'"
  check "nfs: the shutdown knob exists ($knob)" test -e $knob
  if [[ $hint_cmd == "echo 1 > $knob" ]]; then
    timeout 30 sh -c "$hint_cmd"
    info "nfs: ran the hint: exit $?"
  fi
  gone() { ! kill -0 $1 2>/dev/null; }
  wait_for 30 gone $reader && wait_for 30 gone $stater
  check "nfs: the hint released both tasks" test $? = 0
  for c in $reader $stater; do gone $c || { dump_tasks; kill -KILL $c; }; done
  wait $reader $stater 2>/dev/null
  sleep 1
  kill -INT $watch
  timeout 30 tail --pid=$watch -f /dev/null
  check "nfs: the watch stops within 30 s (it never waited on the mount)" gone $watch
  gone $watch || kill -KILL $watch

  # What the watch reported.
  local r='select(.type == "freeze_stall" and .hierarchy == $h and .cgroup == $c) | .blockers[] | select(.pid == $p)'
  blocker() { # blocker HIERARCHY CGROUP PID: the first stall's blocker entry for that task
    jq -c --arg h $1 --arg c $2 --argjson p $3 "$r" $OUT/nfs-watch.jsonl 2>/dev/null | head -n1
  }
  episode() { # episode HIERARCHY CGROUP: the first episode of that cgroup
    jq -c --arg h $1 --arg c $2 'select(.type == "freeze_episode" and .hierarchy == $h and .cgroup == $c)' \
      $OUT/nfs-watch.jsonl 2>/dev/null | head -n1
  }
  local b e cases="v1:read:$reader"
  ((have_v2)) && cases+=" v2:read:$reader v2:rpc:$stater"
  for c in $cases; do
    IFS=: read -r h cg pid <<< "$c"
    b=$(blocker $h /fpnfs/$cg $pid)
    e=$(episode $h /fpnfs/$cg)
    echo "$b" | cut -c1-1500 | sed "s/^/NODE-OUT nfs-$h-$cg-blocker | /"
    check "nfs $h $cg: the episode is aborted" jq -e '.outcome == "aborted"' <<< "$e"
    check "nfs $h $cg: a freeze_stall names the task ($pid)" test -n "$b"
    check "nfs $h $cg: cause kind nfs" jq -e '.cause.kind == "nfs"' <<< "$b"
    check "nfs $h $cg: the detail names the server and the mount" \
      jq -e --arg m $mnt '.cause.detail | contains("127.0.0.1:/srv/fpnfs") and contains($m)' <<< "$b"
    check "nfs $h $cg: the hint is the mount's shutdown knob" \
      jq -e --arg k "echo 1 > $knob" '.cause.hint == $k' <<< "$b"
    check "nfs $h $cg: no holder is claimed" jq -e '.cause.holder == null' <<< "$b"
  done
  check "nfs v2 rpc: the stat waits in rpc_wait_bit_killable" \
    jq -e '.stack | map(startswith("rpc_wait_bit_killable")) | any' <<< "$(blocker v2 /fpnfs/rpc $stater)"
  check "nfs v1 rpc: the episode is frozen" jq -e '.outcome == "frozen"' <<< "$(episode v1 /fpnfs/rpc)"
  check "nfs v1 rpc: no freeze_stall and no blocker" \
    test -z "$(jq -c 'select(.hierarchy == "v1" and .cgroup == "/fpnfs/rpc" and .type == "freeze_stall")' $OUT/nfs-watch.jsonl)"
  jq -c --arg h v1 'select(.type == "freeze_stall" and .cgroup == "/fpnfs/read" and .hierarchy == "v1") | .diagnosis' \
    $OUT/nfs-watch.jsonl | head -n1 | cut -c1-600 | sed 's/^/NODE-OUT nfs-diagnosis | /'

  # Clean up: the mount, the cgroups, the server.
  mountpoint -q $mnt && { timeout 30 umount -f -l $mnt || fail "nfs: umount -l"; }
  for c in read rpc; do
    rmdir $v1/$c 2>/dev/null || fail "nfs: rmdir $v1/$c"
    ((have_v2)) && { rmdir $v2/$c 2>/dev/null || fail "nfs: rmdir $v2/$c"; }
  done
  rmdir $v1; ((have_v2)) && rmdir $v2
  timeout 60 systemctl stop nfs-server.service || fail "nfs: nfs-server.service stopped"
  info "nfs: $((SECONDS - t0)) s"
}
