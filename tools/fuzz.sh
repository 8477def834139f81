#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (built by the instrumented build into
# BUILD/instrumented/tests/fuzz) for a while each, starting from the seed corpus in
# tests/fuzz/corpus, and prints one line of figures per fuzzer. Exits non-zero if one finds a
# crash (the input is kept in the artifact directory).
#
#   tools/fuzz.sh [--fuzz-dir DIR] [--seconds N] [--artifacts DIR] [FUZZER...]
#
# The smoke run in ctest is `--seconds 5` for each of the four; RELIABILITY.md has the figures of
# a long run (`--seconds 600`). New corpus entries go to a scratch directory, never to the source
# tree.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
fuzz_dir=$here/build/instrumented/tests/fuzz
seconds=5
artifacts=""
fuzzers=()
while (($#)); do
  case $1 in
    --fuzz-dir) fuzz_dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --artifacts) artifacts=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) fuzzers+=("$1"); shift ;;
  esac
done
((${#fuzzers[@]})) || fuzzers=(container_resolver written_value json_line escapers)
[[ -n $artifacts ]] || artifacts=$fuzz_dir/artifacts
mkdir -p "$artifacts"
scratch=$(mktemp -d /tmp/freezeprobe-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

failed=0
for name in "${fuzzers[@]}"; do
  bin=$fuzz_dir/fuzz_$name
  if [[ ! -x $bin ]]; then
    echo "fuzz.sh: $bin is not built (the main build builds it when clang++ is installed)" >&2
    exit 1
  fi
  corpus=$scratch/$name
  mkdir -p "$corpus"
  log=$scratch/$name.log
  status=0
  # One process, no forking: the figures are those of one core.
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
    "$corpus" "$here/tests/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(find "$corpus" -type f | wc -l)
  if ((status == 0)); then
    printf 'fuzz %-18s %4ss  %10s execs  %7s execs/s  cov %5s  ft %6s  corpus %5s  crashes 0\n' \
      "$name" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units"
  else
    failed=1
    echo "fuzz $name: FAILED (exit $status); input in $artifacts/$name-*; log:"
    grep -v '^#[0-9]' "$log" | tail -40
  fi
done
exit $failed
