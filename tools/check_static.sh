#!/usr/bin/env bash
# Checks that each ELF file given is statically linked: it has no program interpreter (PT_INTERP)
# and ldd agrees ("not a dynamic executable", or "statically linked" for a static PIE).
#   tools/check_static.sh FILE...
# Exit 0 if all are static, 1 if any is not (one line per file says which and why).
set -euo pipefail

(($#)) || { echo "usage: $0 FILE..." >&2; exit 2; }
status=0
for f in "$@"; do
  if [[ ! -f $f ]]; then
    echo "check_static: $f: no such file" >&2
    status=1
    continue
  fi
  interp=$(readelf -lW "$f" | sed -n 's/.*Requesting program interpreter: \([^]]*\)].*/\1/p')
  ldd_out=$(LC_ALL=C ldd "$f" 2>&1 || true)
  if [[ -n $interp ]]; then
    echo "check_static: $f: dynamically linked (interpreter $interp)" >&2
    status=1
  elif ! grep -qE 'not a dynamic executable|statically linked' <<<"$ldd_out"; then
    echo "check_static: $f: no PT_INTERP, but ldd says: $ldd_out" >&2
    status=1
  else
    echo "check_static: $f: static"
  fi
done
exit $status
