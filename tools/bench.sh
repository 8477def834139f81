#!/usr/bin/env bash
# Reproducible overhead benchmark for freezeprobe (root; the cgroup v1 freezer and cgroup v2 found in
# mountinfo, or one of them: a row of a hierarchy the layout lacks says n/a).
#   tools/bench.sh [--rounds N] [--quick] [--out FILE] [--binary PATH]
# Rounds are interleaved (none / freezeprobe / bpftrace alternate within every round); medians and
# with/without ratios come from the same run. bpftrace is optional: skipped with a message if absent.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FP=$ROOT/build/userspace/freezeprobe
ROUNDS=5 QUICK=0 OUT="" BURST_S=10
WRITES=2000000 MIGRATIONS=20000 FREEZES=5000
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --binary) FP=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
  esac
done
((QUICK)) && ROUNDS=1 BURST_S=2
[[ $(id -u) -eq 0 ]] || { echo "bench: needs root" >&2; exit 1; }
[[ -x $FP ]] || { echo "bench: $FP not built" >&2; exit 1; }

TMP=$(mktemp -d /tmp/freezeprobe-bench.XXXXXX)
# The hierarchies from mountinfo (field 5 the mount point; after "-": type, source, super options).
cgroup_mount() { # $1: cgroup2, or a v1 controller
  awk -v want="$1" '{ for (i = 7; $i != "-"; i++);
    if ((want == "cgroup2" && $(i+1) == "cgroup2") ||
        ($(i+1) == "cgroup" && ("," $(i+3) ",") ~ ("," want ","))) { print $5; exit } }' /proc/self/mountinfo
}
V2_MOUNT=$(cgroup_mount cgroup2) V1_MOUNT=$(cgroup_mount freezer)
[[ -n $V2_MOUNT || -n $V1_MOUNT ]] || { echo "bench: no v1 freezer and no cgroup v2 mount" >&2; exit 1; }
V2=${V2_MOUNT:+$V2_MOUNT/freezeprobe-bench-$$} V1=${V1_MOUNT:+$V1_MOUNT/freezeprobe-bench-$$}
# The migrations and bursts move processes between two cgroups of v2, or of the v1 freezer's
# hierarchy where there is no v2 (legacy layout).
MIG=${V2:-$V1} MIG_KIND=v2
[[ -n $V2 ]] || MIG_KIND="v1 freezer"
PIDS=() MOUNTED_TRACEFS=0 OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS" || true
  [[ -z $V2 ]] || echo 0 >"$V2/f/cgroup.freeze" 2>/dev/null || true
  [[ -z $V1 ]] || echo THAWED >"$V1/freezer.state" 2>/dev/null || true
  rmdir "$MIG"/{a,b} 2>/dev/null || true
  [[ -z $V2 ]] || rmdir "$V2/f" "$V2" 2>/dev/null || true
  [[ -z $V1 ]] || rmdir "$V1" 2>/dev/null || true
  ((MOUNTED_TRACEFS)) && umount /sys/kernel/tracing
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -o "$TMP/write_loop" "$ROOT/tools/bench/write_loop.c"
cc -O2 -o "$TMP/cg_loop" "$ROOT/tools/bench/cg_loop.c"
mkdir -p "$MIG"/{a,b} ${V2:+"$V2/f"} ${V1:+"$V1"}
if ! mountpoint -q /sys/kernel/tracing; then mount -t tracefs nodev /sys/kernel/tracing; MOUNTED_TRACEFS=1; fi
ulimit -l unlimited 2>/dev/null || ulimit -l $((512 * 1024)) 2>/dev/null || true
HAVE_BT=0
if command -v bpftrace >/dev/null; then HAVE_BT=1; else echo "bench: bpftrace not installed; skipping its columns" >&2; fi
cat >"$TMP/probe.bt" <<'BT'
tracepoint:raw_syscalls:sys_enter /args->id == 1/ { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /args->id == 1 && @start[tid]/ {
  @write_ns = hist(nsecs - @start[tid]); delete(@start[tid]);
}
tracepoint:cgroup:cgroup_attach_task, tracepoint:cgroup:cgroup_freeze,
tracepoint:cgroup:cgroup_unfreeze, tracepoint:cgroup:cgroup_notify_frozen,
tracepoint:cgroup:cgroup_mkdir, tracepoint:cgroup:cgroup_rmdir,
tracepoint:cgroup:cgroup_release { @cg[probe] = count(); }
BT

declare -A S # S[key]="v1 v2 ..." samples
add() { S[$1]="${S[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"${S[$1]:-}" | grep . | sort -g | awk '{a[NR]=$1} END {if (!NR) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN {if (a=="nan" || b=="nan" || b==0) print "n/a"; else printf "%.3f", a/b}'; }

# start NAME PATTERN CMD...: runs CMD (stderr+stdout-of-interest to a FIFO), waits for PATTERN,
# records the start-up time in S[start_NAME], sets PID. The FIFO is then drained into $TMP/NAME.log.
start() {
  local name=$1 pat=$2 line t0 fd; shift 2
  rm -f "$TMP/fifo"; mkfifo "$TMP/fifo"
  t0=$EPOCHREALTIME
  "$@" 2>"$TMP/fifo" &
  PID=$!; PIDS+=("$PID")
  exec {fd}<"$TMP/fifo"
  while :; do
    IFS= read -r -u "$fd" line || { echo "bench: $name exited before '$pat'" >&2; exit 1; }
    [[ $line == *"$pat"* ]] && break
  done
  add "start_$name" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", (b-a)*1000}')"
  cat <&"$fd" >>"$TMP/$name.log" &
  PIDS+=("$!")
  exec {fd}<&-
}
stop() { # stop NAME PID: records peak RSS (MB), then SIGTERM and wait
  add "rss_$1" "$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$2/status")"
  kill -TERM "$2"; wait "$2" || true
}
cgroup_ops() { # cgroup_ops COND: benchmark 2 under condition COND
  add "mig_$1" "$("$TMP/cg_loop" migrate "$MIG/a" "$MIG/b" "$MIGRATIONS")"
  [[ -z $V1 ]] || add "v1f_$1" "$("$TMP/cg_loop" freeze "$V1/freezer.state" FROZEN THAWED "$FREEZES")"
  [[ -z $V2 ]] || add "v2f_$1" "$("$TMP/cg_loop" freeze "$V2/f/cgroup.freeze" 1 0 "$FREEZES")"
}
prog_ids() { bpftool prog show --json | jq -c '[.[].id]'; }
prog_stats() { # prog_stats IDS_BEFORE: add run_time_ns/run_cnt of the programs loaded since to progstats
  bpftool prog show --json | jq -r --argjson old "$1" '.[] | select(.id as $i | $old | index($i) | not)
    | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"' >>"$TMP/progstats"
}

T0=$SECONDS; : >"$TMP/progstats"
for ((r = 1; r <= ROUNDS; r++)); do
  order="none fp bt"; ((r % 2 == 0)) && order="bt fp none"
  echo "bench: round $r/$ROUNDS ($order)" >&2
  for c in $order; do
    case $c in
      none)
        add write_none "$("$TMP/write_loop" "$WRITES")"
        cgroup_ops none ;;
      fp)
        before=$(prog_ids)
        start fp "freezeprobe: attached" "$FP" --events none
        add write_fp "$("$TMP/write_loop" "$WRITES")"
        sysctl -qw kernel.bpf_stats_enabled=1 # only around benchmark 2: it taxes every BPF run
        cgroup_ops fp
        prog_stats "$before"
        sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
        stop fp "$PID" ;;
      bt)
        ((HAVE_BT)) || continue
        # shellcheck disable=SC2016
        start bt "Attaching" bash -c 'exec bpftrace "$1" 1>&2' _ "$TMP/probe.bt" # "Attaching" is on stdout
        add write_bt "$("$TMP/write_loop" "$WRITES")"
        stop bt "$PID" ;;
    esac
  done
done

# Burst: 2 writers as fast as they go. Counted twice: from the JSON lines on stdout, and from
# the summary report (--events none: what a CI job or node keeps), each against the writes made.
burst() { # json|report [RATE] -> "writes events lost"; RATE: writes/s of both writers together
  local out=$TMP/burst.$1 rate=(${2:+$(($2 / 2))})
  if [[ $1 == json ]]; then
    "$FP" --events json --cgroup "/freezeprobe-bench-$$" 2>"$out.err" \
      > >(grep -c '"type":"procs_write"' >"$out.events") &
  else
    "$FP" --events none --report "$out.json" --cgroup "/freezeprobe-bench-$$" 2>"$out.err" &
  fi
  FPPID=$!; PIDS+=("$FPPID")
  until grep -q "freezeprobe: attached" "$out.err"; do sleep 0.05; done
  "$TMP/cg_loop" burst "$MIG/a" "$MIG/b" "$BURST_S" "${rate[@]}" >"$out.w1" & W1=$!
  "$TMP/cg_loop" burst "$MIG/a" "$MIG/b" "$BURST_S" "${rate[@]}" >"$out.w2" & W2=$!
  PIDS+=("$W1" "$W2"); wait "$W1" "$W2"
  kill -TERM "$FPPID"; wait "$FPPID" || true
  if [[ $1 == json ]]; then
    until [[ -s $out.events ]]; do sleep 0.05; done # the counter ends once freezeprobe closes stdout
  else
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(sum(c["files"].get("cgroup.procs",{}).get("count",0) for c in r["containers"]))' \
      "$out.json" >"$out.events"
  fi
  echo "$(($(cat "$out.w1") + $(cat "$out.w2"))) $(cat "$out.events")" \
    "$(sed -n 's/.*detached; [0-9]* events, \([0-9]*\) lost.*/\1/p' "$out.err")"
}
burst_line() { # json|report: unpaced, then (full runs) the highest paced rate with 0 lost
  local writes events lost eq=no ok=0 bad rate
  read -r writes events lost < <(burst "$1")
  [[ $events == "$writes" && $lost == 0 ]] && eq=yes
  echo -n "writes made $writes ($((writes / BURST_S))/s), procs_write events $events, lost ${lost:-?}; events == writes: $eq"
  ((QUICK)) || [[ $eq == yes ]] && { echo; return; }
  # Bisect the writers' pace between 0 (nothing lost) and the unpaced rate (lost), 4 steps.
  bad=$((writes / BURST_S))
  for _ in 1 2 3 4; do
    rate=$(((ok + bad) / 2))
    echo "bench: burst $1 paced at $rate writes/s" >&2
    read -r writes events lost < <(burst "$1" "$rate")
    if [[ $events == "$writes" && $lost == 0 ]]; then ok=$rate; else bad=$rate; fi
  done
  echo "; paced: 0 lost and events == writes at $ok writes/s, loss at $bad writes/s"
}
echo "bench: burst ${BURST_S}s, 2 writers, JSON lines" >&2
burst_json=$(burst_line json)
echo "bench: burst ${BURST_S}s, 2 writers, report only" >&2
burst_report=$(burst_line report)

ms() { awk -v v="$(median "$1")" 'BEGIN {if (v=="nan") print "n/a"; else printf "%.1f ms", v/1e6}'; }
row() { printf '| %-44s | %-14s | %-14s | %-14s | %-16s |\n' "$@"; }
{
  echo "freezeprobe bench: $ROUNDS round(s), interleaved; kernel $(uname -r); $(nproc) CPUs; medians"
  echo
  row "benchmark" "no probe" "freezeprobe" "bpftrace" "ratio fp (bt)"
  row "---" "---" "---" "---" "---"
  row "1. ${WRITES} 1-byte writes to /dev/null" "$(ms write_none)" "$(ms write_fp)" "$(ms write_bt)" \
    "$(ratio write_fp write_none) ($(ratio write_bt write_none))"
  row "2. ${MIGRATIONS} $MIG_KIND cgroup.procs migrations" "$(ms mig_none)" "$(ms mig_fp)" "-" "$(ratio mig_fp mig_none)"
  row "2. ${FREEZES} v1 freeze/thaw (empty cgroup)" "$(ms v1f_none)" "$(ms v1f_fp)" "-" "$(ratio v1f_fp v1f_none)"
  row "2. ${FREEZES} v2 freeze/thaw (empty cgroup)" "$(ms v2f_none)" "$(ms v2f_fp)" "-" "$(ratio v2f_fp v2f_none)"
  row "3. start-up until attached (ms)" "-" "$(median start_fp)" "$(median start_bt)" "-"
  row "4. peak RSS VmHWM (MB)" "-" "$(median rss_fp)" "$(median rss_bt)" "-"
  echo
  echo "Targets: write ratio <= 1.05, cgroup ratios <= 1.03."
  [[ -n $V1 ]] || echo "No v1 freezer in this layout (cgroup v2 only): its row is n/a" \
    "(bash tools/layout.sh hybrid -- bash tools/bench.sh measures it in a private hybrid layout)."
  [[ -n $V2 ]] || echo "No cgroup v2 in this layout (legacy v1): its row is n/a."
  echo "5. Burst (${BURST_S} s, 2 writers), --events json: $burst_json"
  echo "5. Burst (${BURST_S} s, 2 writers), --events none --report: $burst_report"
  echo
  echo "freezeprobe BPF programs (bpf_stats during benchmark 2, all rounds):"
  echo
  echo "| program | run_cnt | ns/run |"
  echo "| --- | --- | --- |"
  awk '{t[$1]+=$2; c[$1]+=$3} END {for (p in t) printf "| %s | %d | %s |\n", p, c[p], c[p] ? sprintf("%.0f", t[p]/c[p]) : "-"}' \
    "$TMP/progstats" | sort
  echo
  echo "Runtime: $((SECONDS - T0)) s"
} >"$TMP/results.md"
cat "$TMP/results.md"
[[ -z $OUT ]] || cp "$TMP/results.md" "$OUT"
