#!/usr/bin/env bash
# CI's kernel matrix: Debian 12's 6.1 cloud kernel under qemu with four
# profiles. Checks the JSON scripts/kernel-matrix.sh wrote: every profile ran
# (passed, or refused with droplab's reason), and a passed one has
# unexplained 0 and names its drop-reason mode.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:?usage: kernel_matrix_test.sh BUILD_DIR}
PROFILES=clean,socket-rcvbuf,no-socket,backlog

skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, apt-get download)"
for t in qemu-system-x86_64 busybox debootstrap depmod jq; do
  command -v $t >/dev/null || skip "$t missing (scripts/deps.sh --test installs it)"
done
. "$REPO/scripts/matrix/kernels.sh"
KCACHE=${DROPLAB_CACHE:-/var/cache/droplab}/kernels
pkg=$(kernel_package 6.1 2>&1) || skip "no Debian 6.1 cloud kernel package: $pkg"

DIR=$(mktemp -d /tmp/droplab-matrix-test.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
start=$SECONDS
rc=0
"$REPO/scripts/kernel-matrix.sh" --kernels 6.1 --profiles $PROFILES --build "$BUILD" \
  --json "$DIR/m.json" --logs "$DIR/logs" || rc=$?
echo "kernel_matrix_test: kernel-matrix.sh exit $rc in $((SECONDS - start)) s"
if [[ ! -s $DIR/m.json ]]; then
  echo "FAIL: no JSON written"
  exit 1
fi

fail=0
check() { # JQ-FILTER MESSAGE: the filter must print true
  if [[ $(jq "$1" "$DIR/m.json") != true ]]; then
    echo "FAIL: $2"
    fail=1
  fi
}
check '.kernels | length == 1' "one kernel"
check '.kernels[0].release | test("^6\\.1\\.")' "the kernel that ran is a 6.1 (release: $(jq -r '.kernels[0].release' "$DIR/m.json"))"
check "[.kernels[0].profiles[].name] == (\"$PROFILES\" | split(\",\"))" "all four profiles reported"
for p in ${PROFILES//,/ }; do
  r=".kernels[0].profiles[] | select(.name == \"$p\")"
  check "$r | .result == \"passed\" or (.result == \"refused\" and (.reason | length > 0))" \
    "$p: passed, or refused with a reason ($(jq -c "$r" "$DIR/m.json"))"
  check "$r | .result != \"passed\" or (.unexplained == 0 and (.drop_reasons_mode | type == \"string\"))" \
    "$p: passed with unexplained 0 and a drop-reason mode ($(jq -c "$r" "$DIR/m.json"))"
done
if ((fail)); then
  for f in "$DIR"/logs/6.1/*.log; do echo "== $f"; tail -n 30 "$f"; done
  exit 1
fi
echo "kernel_matrix_test: OK"
