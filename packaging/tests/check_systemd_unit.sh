#!/usr/bin/env bash
# The systemd unit parses without a single warning, keeps its hardening, and the commands it runs
# work: its ExecStartPre and ExecStart, run by hand with /var/lib moved into a scratch directory,
# attach, and SIGTERM (systemctl stop) leaves the report and the metrics file.
#
# systemd need not be running (it is not PID 1 on the CI machine): `systemd-analyze verify
# --root=DIR` loads the unit from DIR/etc/systemd/system, resolves its dependencies in
# DIR/usr/lib/systemd/system (the host's units are copied there) and checks that every command
# it names is an executable under DIR, so the binary is put where ExecStart says. verify only
# warns about an unknown key or a bad value and still exits 0: any output is a failure here.
# usage: check_systemd_unit.sh UNIT BINARY
set -euo pipefail
source "$(dirname "$0")/lib.sh"
unit=$1 binary=$2
name=freezeprobe.service

make_scratch_dir
root=$scratch/root
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$unit" "$root/etc/systemd/system/$name"

# "Key=value" of the unit's [Service] lines, continuation lines joined.
unit_lines=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | grep -v '^\s*#' | tr -s ' ')
values_of() { sed -n "s/^$1=//p" <<<"$unit_lines"; }
exec_start=$(values_of ExecStart)
[[ $(wc -l <<<"$exec_start") -eq 1 && -n $exec_start ]] || fail "expected one ExecStart, got: $exec_start"
read -r -a start_words <<<"$exec_start"
installed_binary=${start_words[0]}

# Every command at its path inside the root; prefixes such as '+' and '-' are not part of it.
while read -r command; do
  [[ -n $command ]] || continue
  path=${command%% *}
  path=${path#[-+@:!]}
  mkdir -p "$root$(dirname "$path")"
  if [[ $path == "$installed_binary" ]]; then
    cp "$binary" "$root$path"
  else
    [[ -x $path ]] || fail "the unit runs $path, which this machine does not have"
    cp "$path" "$root$path"
  fi
done < <(grep -E '^Exec[A-Za-z]*=' <<<"$unit_lines" | sed 's/^[^=]*=//')

out=$(systemd-analyze verify --man=no --generators=no --root="$root" "$name" 2>&1) ||
  fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || fail "systemd-analyze verify warned: $out"
echo "ok: systemd-analyze verify: no warnings"

# Exposure 0-100 (shown as 0.0-10.0); the unit scores 3.3. A dropped hardening option fails here.
out=$(systemd-analyze security --offline=yes --threshold=40 --root="$root" "$name" 2>&1) ||
  fail "systemd-analyze security: exposure above 4.0: $(tail -1 <<<"$out")"
echo "ok: systemd-analyze security: $(grep -o 'Overall exposure level.*: [0-9.]*' <<<"$out")"

# Now run it as systemd would, with every /var/lib path inside the scratch directory.
require_root
moved() { echo "${1//\/var\/lib\//$scratch/var/lib/}"; }
for dir in $(values_of StateDirectory); do
  mkdir -p "$scratch/var/lib/$dir" # what systemd creates before ExecStartPre
done
while read -r pre; do
  [[ -n $pre ]] || continue
  pre=$(moved "${pre#[-+@:!]}")
  bash -c "$pre" || fail "ExecStartPre failed: $pre"
done < <(values_of ExecStartPre)

read -r -a args <<<"$(moved "${start_words[*]:1}")"
"$binary" "${args[@]}" >"$scratch/stdout" 2>"$scratch/stderr" &
pid=$!
on_exit+=("kill -KILL $pid 2>/dev/null")
for _ in $(seq 200); do
  grep -q 'attached' "$scratch/stderr" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
grep -q 'attached' "$scratch/stderr" || fail "ExecStart did not attach: $(cat "$scratch/stderr")"
stop_start=$(date +%s%N)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
stop_ms=$((($(date +%s%N) - stop_start) / 1000000))
((rc == 0)) || fail "ExecStart exited $rc after SIGTERM: $(cat "$scratch/stderr")"

option_value() {
  local i
  for ((i = 0; i + 1 < ${#args[@]}; i++)); do
    [[ ${args[i]} == "$1" ]] && echo "${args[i + 1]}"
  done
  return 0
}
report=$(option_value --report)
metrics=$(option_value --metrics-file)
[[ -n $report && -n $metrics ]] || fail "ExecStart has no --report or no --metrics-file"
[[ -s $report && -s $metrics ]] || fail "after SIGTERM: no report ($report) or metrics file ($metrics)"
[[ $(stat -c %a "$report") == 600 ]] || fail "the report is mode $(stat -c %a "$report"), not 600"
[[ $(stat -c %a "$metrics") == 644 ]] || fail "the metrics file is mode $(stat -c %a "$metrics"), not 644"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert "containers" in r and r["ended"]' \
  "$report" || fail "the report is not a summary report: $(head -c 300 "$report")"
grep -q '^freezeprobe_events_lost_total ' "$metrics" || fail "the metrics file has no freezeprobe metrics"
echo "ok: ExecStartPre + ExecStart attached; SIGTERM: exit 0 after ${stop_ms} ms, report and metrics written"
sed 's/^/  /' "$scratch/stderr"
