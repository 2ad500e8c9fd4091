#!/usr/bin/env bash
# Makes a fresh Debian 12 (bookworm) root filesystem in a plain directory, optionally with a
# droplab package installed in it. Used by tests/package and by the kernel matrix (which boots
# VMs on the directory over 9p).
#
# Usage: scripts/rootfs.sh DIR [DEB]
#        scripts/rootfs.sh --print-mirror
#   DIR   created if missing, must be empty. Gets a debootstrap --variant=minbase root of
#         bookworm plus man-db, its apt sources pointing at the Debian mirror this host's apt
#         uses (bookworm, bookworm-updates, bookworm-security when the host has them).
#   DEB   a .deb to install with `apt-get install ./FILE.deb` in a chroot; its Depends come
#         from the mirror (the cached root has none of them, so a missing Depends shows).
#   --print-mirror  prints the mirror URL it would use and exits.
# Environment: DROPLAB_ROOTFS_CACHE (default /var/cache/droplab) holds the finished base root
#   as rootfs-bookworm-<key>.tar (key: mirror and package list) and the .debs apt downloaded;
#   the first call runs debootstrap, later calls only unpack the tarball.
# Exit: 0 done; 1 failed; 2 usage; 3 the mirror cannot be reached (nothing to do offline:
#   the cache is cold, or DEB needs its Depends). Needs root.
# On every exit path nothing stays mounted: the chroot runs in a private mount namespace
# (unshare -m), whose /proc, /sys, /dev mounts vanish with it, and are unmounted explicitly.
# DIR is left as a plain directory owned by the caller, who removes it (rm -rf --one-file-system).
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
# man-db: `man -w droplab` must find the package's page.
INCLUDE=man-db
CACHE=${DROPLAB_ROOTFS_CACHE:-/var/cache/droplab}

usage() {
  echo "usage: scripts/rootfs.sh DIR [DEB] | --print-mirror" >&2
  exit 2
}

# "URI SUITE" for every Debian entry (Types deb, component main) of this host's apt sources,
# one-line (sources.list) and deb822 (*.sources) formats alike.
apt_entries() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                       uri = $i; suite = $(i + 1)
                       for (j = i + 2; j <= NF; j++) if ($j == "main") print uri, suite }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk 'function flush() { if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/)
                              for (u in uris) for (s in suites) print uris[u], suites[s]
                            types = comps = ""; delete uris; delete suites }
         /^[ \t]*$/ { flush(); next }
         /^[ \t]*#/ { next }
         { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "") }
         key == "types" { types = $0 } key == "components" { comps = $0 }
         key == "uris" { split($0, uris, " ") } key == "suites" { split($0, suites, " ") }
         key == "enabled" && tolower($0) == "no" { types = "" }
         END { flush() }' "$f"
  done
}

mirror_for() { apt_entries | awk -v s="$1" '$2 == s { print $1; exit }'; }

MIRROR=$(mirror_for "$SUITE")
[[ -n $MIRROR ]] || {
  echo "rootfs: no Debian mirror for $SUITE main in /etc/apt/sources.list*" >&2
  exit 1
}
[[ ${1:-} == --print-mirror ]] && {
  echo "$MIRROR"
  exit 0
}
(($# == 1 || $# == 2)) || usage
[[ $1 != -* ]] || usage
DIR=$1
DEB=${2:-}
[[ $(id -u) -eq 0 ]] || {
  echo "rootfs: needs root (debootstrap, chroot)" >&2
  exit 1
}
if [[ -n $DEB ]]; then
  [[ -f $DEB ]] || {
    echo "rootfs: $DEB: no such file" >&2
    exit 2
  }
  DEB=$(readlink -f "$DEB")
fi
mkdir -p "$DIR"
DIR=$(readlink -f "$DIR")
[[ -z $(ls -A "$DIR") ]] || {
  echo "rootfs: $DIR is not empty" >&2
  exit 2
}

# The chroot's apt sources: the host's mirrors for the suites a bookworm host uses.
sources_list() {
  local s uri
  for s in $SUITE $SUITE-updates $SUITE-security; do
    uri=$(mirror_for "$s")
    if [[ -n $uri ]]; then echo "deb $uri $s main"; fi
  done
}

# Reaching the mirror is probed with apt's own downloader (no curl/wget needed).
probe_mirror() {
  local tmp rc=0
  tmp=$(mktemp)
  timeout 30 /usr/lib/apt/apt-helper download-file "$MIRROR/dists/$SUITE/Release" "$tmp" >/dev/null 2>&1 || rc=$?
  rm -f "$tmp"
  if ((rc)); then
    echo "rootfs: cannot reach the mirror $MIRROR (apt-helper download-file of dists/$SUITE/Release failed)" >&2
    exit 3
  fi
}

KEY=$( { echo "$MIRROR $INCLUDE"; sources_list; } | sha256sum | cut -c1-12)
TARBALL=$CACHE/rootfs-$SUITE-$KEY.tar
mkdir -p "$CACHE/apt-archives/partial"

# Inner mounts live in a private mount namespace: gone when it exits, whatever the exit.
TMP_ROOT=
cleanup() {
  local rc=$?
  if [[ -n $TMP_ROOT ]]; then rm -rf --one-file-system "$TMP_ROOT" "$TMP_ROOT.log" "$TARBALL.tmp"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -f $TARBALL ]]; then
  # One maker at a time; a second caller waits, then finds the tarball.
  exec 9>"$CACHE/rootfs.lock"
  flock 9
  if [[ ! -f $TARBALL ]]; then
    command -v debootstrap >/dev/null || {
      echo "rootfs: debootstrap missing (scripts/deps.sh --test installs it)" >&2
      exit 1
    }
    probe_mirror
    TMP_ROOT=$(mktemp -d "$CACHE/build.XXXXXX")
    chmod 755 "$TMP_ROOT" # the root directory of the system, not a private scratch folder
    echo "rootfs: debootstrap $SUITE minbase from $MIRROR (once; cached as $TARBALL)" >&2
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$TMP_ROOT" "$MIRROR" >"$TMP_ROOT.log" 2>&1 || {
      tail -20 "$TMP_ROOT.log" >&2
      rm -f "$TMP_ROOT.log"
      echo "rootfs: debootstrap failed" >&2
      exit 1
    }
    rm -f "$TMP_ROOT.log"
    sources_list >"$TMP_ROOT/etc/apt/sources.list"
    rm -rf "$TMP_ROOT"/var/cache/apt/archives/*.deb "$TMP_ROOT"/var/lib/apt/lists/*
    tar -C "$TMP_ROOT" --numeric-owner --xattrs -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf --one-file-system "$TMP_ROOT"
    TMP_ROOT=
  fi
  exec 9>&-
fi

tar -C "$DIR" --numeric-owner --xattrs -xf "$TARBALL"
chmod 755 "$DIR" # a system's /: apt's and man's unprivileged users must get through it
[[ -z $DEB ]] && exit 0

probe_mirror
cp "$DEB" "$DIR/tmp/"
# policy-rc.d: no service starts inside the chroot while installing; removed afterwards so a
# VM booted on DIR behaves as installed.
printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
chmod 755 "$DIR/usr/sbin/policy-rc.d"
rc=0
unshare --mount --propagation private bash -euo pipefail -c '
  D=$1 DEB=$2 CACHE=$3
  undo() { umount "$D/var/cache/apt/archives" "$D/dev/pts" "$D/dev" "$D/sys" "$D/proc" 2>/dev/null || true; }
  trap undo EXIT
  mount -t proc proc "$D/proc"
  mount --bind /sys "$D/sys"
  mount --bind /dev "$D/dev"
  mount --bind /dev/pts "$D/dev/pts"
  mount --bind "$CACHE/apt-archives" "$D/var/cache/apt/archives"
  export DEBIAN_FRONTEND=noninteractive
  chroot "$D" apt-get -qq update
  chroot "$D" apt-get install -y -qq --no-install-recommends "/tmp/$DEB" >/dev/null
' rootfs-chroot "$DIR" "$(basename "$DEB")" "$CACHE" || rc=$?
rm -f "$DIR/usr/sbin/policy-rc.d" "$DIR/tmp/$(basename "$DEB")"
rm -rf "$DIR"/var/lib/apt/lists/*
if ((rc)); then
  echo "rootfs: installing $(basename "$DEB") in $DIR failed" >&2
  exit 1
fi
echo "rootfs: $DIR: Debian $SUITE with $(basename "$DEB") installed" >&2
