#!/usr/bin/env bash
# The Prometheus alerting rules pass yamllint (strict), `promtool check rules` and their unit
# tests (`promtool test rules`).
# usage: check_alert_rules.sh RULES_DIR YAMLLINT_CONFIG
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir=$1 config=$2

command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus, tools/setup.sh)"
yamllint --strict -c "$config" "$dir/freezeprobe-alerts.yaml" "$dir/freezeprobe-alerts-test.yaml" ||
  fail "yamllint found problems"
promtool check rules "$dir/freezeprobe-alerts.yaml" || fail "promtool check rules failed"
(cd "$dir" && promtool test rules freezeprobe-alerts-test.yaml) || fail "promtool test rules failed"
echo "ok: alert rules checked and their tests pass"
