#!/usr/bin/env bash
# The DaemonSet manifest passes yamllint with the repository's strict rules (a warning fails too)
# and has the structure the Kubernetes guide describes (check_daemonset.py).
# usage: check_daemonset.sh MANIFEST YAMLLINT_CONFIG BINARY
set -euo pipefail
source "$(dirname "$0")/lib.sh"
manifest=$1 config=$2 binary=$3

yamllint --strict -c "$config" "$manifest" "$config" || fail "yamllint found problems"
echo "ok: yamllint --strict: no problems"
# Debian's python3-yaml: the system interpreter, whatever python3 comes first on PATH.
/usr/bin/python3 "$(dirname "$0")/check_daemonset.py" "$manifest" "$binary" || fail "the manifest's structure is wrong"
