#!/usr/bin/env bash
# The Debian package as a user gets it: built by scripts/package.sh from this build tree,
# installed with apt into a fresh Debian 12 root (scripts/rootfs.sh: its Depends come from the
# mirror, so a missing one fails here), then, in a chroot of that root:
#   - network namespaces work there (ip netns add / exec / del);
#   - `droplab run socket-rcvbuf` (a bare name: the installed profile) passes its expectation
#     with nothing unexplained;
#   - `man -w droplab` finds the page; droplab-gen and droplab-sink answer --version;
#   - `dpkg -r droplab` leaves none of the files `dpkg -L droplab` listed.
# Needs root and Debian's mirror; skips (exit 77) with the reason otherwise.
# DROPLAB_DEB=FILE tests that package instead of building one.
# Nothing stays mounted on any exit path: the chroot's mounts live in a private mount
# namespace (unshare -m) and are unmounted explicitly too; the root is removed by the trap.
set -euo pipefail
SRC=$(readlink -f "${1:?usage: package_test.sh SOURCE_DIR BUILD_DIR}")
BUILD=$(readlink -f "${2:?usage: package_test.sh SOURCE_DIR BUILD_DIR}")

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, chroot, network namespaces)"
command -v debootstrap >/dev/null || skip "debootstrap missing (scripts/deps.sh --test installs it)"
command -v jq >/dev/null || skip "jq missing (scripts/deps.sh --test installs it)"

ROOT=
cleanup() {
  local rc=$?
  if [[ -n $ROOT ]]; then
    # Belt and braces: the mounts were made in a namespace that is gone by now; anything
    # under ROOT still mounted here would be a bug, so it is unmounted before rm -rf.
    if awk -v r="$ROOT/" 'index($5 "/", r) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
      echo "package_test: mounts left under $ROOT, unmounting" >&2
      umount -R -l "$ROOT" || true
    fi
    rm -rf --one-file-system "$ROOT"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
if [[ -n ${DROPLAB_DEB:-} ]]; then
  DEB=$(readlink -f "$DROPLAB_DEB")
else
  DEB=$(BUILD_DIR=$BUILD "$SRC/scripts/package.sh" | tail -1) || fail "scripts/package.sh failed"
fi
[[ -f $DEB ]] || fail "no package at $DEB"
ok "package $(basename "$DEB") ($((SECONDS - t0)) s)"
deps=$(dpkg-deb --field "$DEB" Depends)
[[ $deps == *libc6* && $deps == *iproute2* ]] || fail "Depends lacks the computed libraries or iproute2: $deps"
ok "Depends: $deps"

t0=$SECONDS
ROOT=$(mktemp -d /var/tmp/droplab-pkgtest.XXXXXX)
rc=0
"$SRC/scripts/rootfs.sh" "$ROOT" "$DEB" || rc=$?
((rc == 3)) && skip "Debian's mirror cannot be reached (scripts/rootfs.sh probed it)"
((rc == 0)) || fail "scripts/rootfs.sh $ROOT $DEB exited $rc"
ok "fresh bookworm root with the package installed by apt ($((SECONDS - t0)) s)"

dpkg --root="$ROOT" -L droplab >"$ROOT/tmp/droplab.files"
grep -qx /usr/bin/droplab "$ROOT/tmp/droplab.files" || fail "dpkg -L droplab does not list /usr/bin/droplab"

# Everything that runs in the root: a private mount namespace whose mounts vanish with it.
t0=$SECONDS
unshare --mount --propagation private bash -euo pipefail -c '
  R=$1
  fail() { echo "FAIL: $*" >&2; exit 1; }
  ok() { echo "ok: $*"; }
  undo() {
    for m in run/droplab run dev sys proc; do umount -R "$R/$m" 2>/dev/null || true; done
    umount "$R" 2>/dev/null || true
  }
  trap undo EXIT
  # The root a mount point of its own: `ip netns exec` runs `mount --make-rslave /`, which
  # fails on a chroot whose / is a plain directory.
  mount --bind "$R" "$R"
  mount -t proc proc "$R/proc"
  mount --rbind /sys "$R/sys"
  mount --rbind /dev "$R/dev"
  # A private /run (ip netns keeps its mounts there), sharing only droplab'"'"'s host lock
  # and journals with this host: a run killed here is undone by the host'"'"'s next run.
  mount -t tmpfs -o mode=755 droplab-run "$R/run"
  mkdir -p /run/droplab "$R/run/droplab"
  mount --bind /run/droplab "$R/run/droplab"
  in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

  ns=dlpkg$$
  in_root ip netns add $ns || fail "ip netns add inside the root"
  in_root ip netns exec $ns ip link set lo up || { in_root ip netns del $ns; fail "ip netns exec inside the root"; }
  in_root ip netns del $ns
  ok "network namespaces work inside the root"

  in_root droplab --version
  in_root droplab-gen --version >/dev/null || fail "droplab-gen --version"
  in_root droplab-sink --version >/dev/null || fail "droplab-sink --version"
  rc=0
  in_root droplab run socket-rcvbuf --quiet --json /tmp/report.json >/tmp/droplab-pkgtest.out 2>&1 || rc=$?
  if ((rc)); then cat /tmp/droplab-pkgtest.out >&2; rm -f /tmp/droplab-pkgtest.out; fail "droplab run socket-rcvbuf exited $rc"; fi
  rm -f /tmp/droplab-pkgtest.out
  ok "droplab run socket-rcvbuf (the installed profile, by its bare name)"

  page=$(in_root man -w droplab) || fail "man -w droplab found no page"
  [[ $page == /usr/share/man/man1/droplab.1.gz ]] || fail "man -w droplab: $page"
  in_root man -w droplab-gen >/dev/null && in_root man -w droplab-sink >/dev/null || fail "man -w droplab-gen/-sink"
  ok "man -w droplab: $page"
  [[ -f $R/usr/share/bash-completion/completions/droplab ]] || fail "no bash completion installed"

  in_root dpkg -r droplab >/dev/null
  left=()
  while IFS= read -r f; do
    [[ -e $R$f && ! -d $R$f ]] && left+=("$f")
  done <"$R/tmp/droplab.files"
  [[ -d $R/usr/share/droplab ]] && left+=(/usr/share/droplab)
  ((${#left[@]} == 0)) || fail "dpkg -r droplab left ${left[*]}"
  ok "dpkg -r droplab: none of its $(wc -l <"$R/tmp/droplab.files") paths remain"
' package-test "$ROOT"
ok "chroot checks ($((SECONDS - t0)) s)"

report=$ROOT/tmp/report.json
[[ -f $report ]] || fail "no report at /tmp/report.json in the root"
[[ $(jq -r '.expect.passed' "$report") == true ]] || fail "expectation failed: $(jq -c .expect "$report")"
[[ $(jq -r '.accounting.unexplained' "$report") == 0 ]] || fail "unexplained: $(jq -c .accounting "$report")"
ok "report: expect passed, sent $(jq -r .accounting.sent "$report") = delivered $(jq -r .accounting.delivered "$report") + dropped $(jq -r .accounting.dropped "$report") + unexplained 0"
