# shellcheck shell=bash
# Helpers shared by the packaging checks (sourced, not run).

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# Running the probe needs root. Under CI=true its absence is a failure, elsewhere a skip: ctest
# counts exit code 77 as skipped (SKIP_RETURN_CODE).
require_root() {
  if [[ $(id -u) -eq 0 ]]; then
    return
  fi
  if [[ ${CI:-} == true ]]; then
    fail "needs root to run freezeprobe, and CI=true forbids skipping"
  fi
  echo "SKIP: needs root to run freezeprobe"
  exit 77
}

# A scratch directory, removed at exit with whatever is in it. Other cleanups go in on_exit; they
# run last one first (a process is killed before its cgroup is removed).
on_exit=()
cleanup() {
  local i
  for ((i = ${#on_exit[@]} - 1; i >= 0; i--)); do
    eval "${on_exit[i]}" || true
  done
}
trap cleanup EXIT
make_scratch_dir() {
  scratch=$(mktemp -d /tmp/freezeprobe-packaging.XXXXXX)
  on_exit+=("rm -rf '$scratch'")
}

# check_binary BINARY VERSION: the version it prints, that it is static (what lets one file be
# copied to any node), and, as root, that `doctor` says this kernel can run it.
check_binary() {
  local binary=$1 version=$2 out headers
  out=$("$binary" --version) || fail "$binary --version failed"
  [[ $out == "freezeprobe $version" ]] || fail "$binary --version printed '$out', not 'freezeprobe $version'"
  # Captured first: with pipefail, grep -q closing the pipe early would fail the pipeline.
  headers=$(readelf -lW "$binary") || fail "readelf cannot read $binary"
  if grep -q 'program interpreter' <<<"$headers"; then
    fail "$binary is dynamically linked"
  fi
  require_root
  local rc=0
  "$binary" doctor >"$scratch/doctor.txt" 2>&1 || rc=$?
  if ((rc != 0)); then
    cat "$scratch/doctor.txt" >&2
    fail "$binary doctor exited $rc"
  fi
  grep -q '^result: *ok' "$scratch/doctor.txt" || fail "doctor did not say ok: $(cat "$scratch/doctor.txt")"
  echo "ok: $binary: --version '$out', static, doctor: $(grep '^result:' "$scratch/doctor.txt")"
}

# check_man_page PAGE BINARY: man renders it without a warning, lexgrog (what mandb uses for
# whatis) reads its NAME, and it has the usual sections and every option of BINARY --help (so it
# was generated from this binary's help, not an older one).
check_man_page() {
  local page=$1 binary=$2 warnings text option section
  warnings=$(LC_ALL=C MANWIDTH=100 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man -l $page failed: $warnings"
  [[ -z $warnings ]] || fail "man --warnings -l $page: $warnings"
  local whatis
  whatis=$(lexgrog "$page" 2>&1) || fail "lexgrog cannot read $page: $whatis"
  grep -q 'freezeprobe - explain cgroup freezes' <<<"$whatis" || fail "lexgrog read no NAME from $page: $whatis"
  text=$(LC_ALL=C MANWIDTH=100 man -l "$page" 2>/dev/null)
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES "SEE ALSO"; do
    grep -qx "$section" <<<"$text" || fail "$page has no $section section"
  done
  local help
  help=$("$binary" --help) || fail "$binary --help failed"
  # The entries of the OPTIONS section: "       --report FILE", "       -v,--verbose".
  local entries
  entries=$(sed -n '/^OPTIONS$/,/^[A-Z]/p' <<<"$text" | grep -oE '^ {7}(-[a-z],)?--[a-z][a-z-]*' | sed 's/.*--/--/')
  for option in $(grep -oE -- '--[a-z][a-z-]+' <<<"$help" | sort -u); do
    grep -qx -- "$option" <<<"$entries" || fail "$page has no entry for $option of $binary --help"
  done
  echo "ok: $page renders without warnings; lexgrog: $whatis"
}

# start_containerd DIR NAMESPACE: Debian's containerd with its root, state and socket under DIR
# (never the host's /run/containerd; the CRI plugin off), stopped by its PID at exit. Sets ctr to
# the ctr command line for it in NAMESPACE and containerd_state to its state directory (bundles
# under io.containerd.runtime.v2.task/NAMESPACE/ID). Fails when containerd is missing under
# CI=true, skips (exit 77) elsewhere.
start_containerd() {
  local dir=$1 namespace=$2
  if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    [[ ${CI:-} == true ]] && fail "containerd is missing (tools/setup.sh installs it)"
    echo "SKIP: containerd is not installed"
    exit 77
  fi
  require_root
  containerd_state=$dir/run
  mkdir -p "$containerd_state" "$dir/root"
  cat >"$dir/config.toml" <<CONFIG
version = 2
root = "$dir/root"
state = "$containerd_state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$containerd_state/sock"
[ttrpc]
  address = "$containerd_state/sock.ttrpc"
CONFIG
  containerd --config "$dir/config.toml" >"$dir/log" 2>&1 &
  local pid=$!
  on_exit+=("kill $pid; wait $pid")
  ctr=(ctr --address "$containerd_state/sock" --namespace "$namespace")
  local _
  for _ in $(seq 100); do "${ctr[@]}" version >/dev/null 2>&1 && return; sleep 0.1; done
  fail "containerd did not start: $(tail -5 "$dir/log")"
}

# wait_for_match PATTERN FILE PID SECONDS: waits until FILE has a line matching PATTERN (grep -E),
# PID has ended or SECONDS have passed; succeeds if the line is there.
wait_for_match() {
  local pattern=$1 file=$2 pid=$3 until=$((SECONDS + $4))
  while ((SECONDS < until)); do
    grep -qsE "$pattern" "$file" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -qsE "$pattern" "$file"
}
