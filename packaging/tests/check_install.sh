#!/usr/bin/env bash
# `cmake --install` into a scratch DESTDIR puts exactly the documented files in their places
# (README "Install"); the installed binary runs `doctor`, man finds the installed page.
# usage: check_install.sh BUILD_DIR BINDIR MANDIR DOCDIR VERSION (the FULL install dirs)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_dir=$1 bindir=$2 mandir=$3 docdir=$4 version=$5

make_scratch_dir
destdir=$scratch/destdir
DESTDIR=$destdir cmake --install "$build_dir" >"$scratch/install.log" 2>&1 ||
  fail "cmake --install failed: $(cat "$scratch/install.log")"

expected=(
  "$bindir/freezeprobe"
  "$mandir/man8/freezeprobe.8"
  "$docdir/README.md"
  "$docdir/examples/freezeprobe.service"
  "$docdir/examples/freezeprobe-daemonset.yaml"
  "$docdir/examples/README.kubernetes.md"
  "$docdir/examples/freezeprobe-alerts.yaml"
)
installed=$(cd "$destdir" && find . -type f | sed 's/^\.//' | sort)
wanted=$(printf '%s\n' "${expected[@]}" | sort)
[[ $installed == "$wanted" ]] || fail "installed files differ from the documented ones:
$(diff <(echo "$wanted") <(echo "$installed"))"
[[ -x $destdir$bindir/freezeprobe ]] || fail "$bindir/freezeprobe is not executable"
echo "ok: installed $(wc -l <<<"$installed") files:"
sed 's/^/  /' <<<"$installed"

# The unit names the binary where it was installed.
grep -q "^ExecStart=$bindir/freezeprobe watch " "$destdir$docdir/examples/freezeprobe.service" ||
  fail "the installed unit does not start $bindir/freezeprobe"

# man finds the page by name under the installed man directory, in section 8.
found=$(man -M "$destdir$mandir" -w freezeprobe) || fail "man -M $mandir cannot find freezeprobe"
[[ $found == "$destdir$mandir/man8/freezeprobe.8" ]] || fail "man found $found"
check_man_page "$destdir$mandir/man8/freezeprobe.8" "$destdir$bindir/freezeprobe"
check_binary "$destdir$bindir/freezeprobe" "$version"
