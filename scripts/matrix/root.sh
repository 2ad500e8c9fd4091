# Sourced by scripts/kernel-matrix.sh: the guest's root filesystem as an ext4
# image, and droplab in it.
#
# With scripts/package.sh and scripts/rootfs.sh (the Debian package), the root
# is a debootstrap'd Debian 12 with droplab's .deb installed by apt, so every
# kernel of the matrix also tests the package. Without them, a debootstrap'd
# Debian 12 (minbase plus the runtime libraries the built binaries link) is
# cached once, and the build's binaries ride on a second disk mounted at
# /opt/droplab.

# Debian packages that hold the shared libraries BINARIES link, computed from
# ldd and dpkg -S rather than listed by hand.
runtime_packages() {
  ldd "$@" | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null ||
      { echo "kernel-matrix: no Debian package owns $lib" >&2; return 1; }
  done | cut -d: -f1 | sort -u
}

# Debootstraps (once) a Debian 12 minbase root with PACKAGES into $RCACHE;
# prints its directory. Made again when one of PACKAGES is not installed there.
fallback_rootfs() {
  local dir=$RCACHE/bookworm-minbase p missing=()
  local pkgs=(iproute2 nftables kmod procps "$@")
  for p in "${pkgs[@]}"; do
    dpkg-query --admindir="$dir/var/lib/dpkg" -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "kernel-matrix: debootstrap Debian 12 into $dir (once; a few minutes; for ${missing[*]})" >&2
    rm -rf --one-file-system "$dir"
    mkdir -p "$RCACHE"
    debootstrap --variant=minbase --include="$(printf '%s\n' "${pkgs[@]}" | sort -u | paste -sd, -)" \
      bookworm "$dir" http://deb.debian.org/debian >&2 ||
      { echo "kernel-matrix: debootstrap failed (log: $dir/debootstrap/debootstrap.log)" >&2; return 1; }
    touch "$dir/.matrix-stamp"
  fi
  echo "$dir"
}

# The guest kernel loads veth, sch_tbf, nf_tables... through /sbin/modprobe,
# which a minbase root lacks (a booted Debian always has kmod). Installed with
# dpkg --root from Debian's own packages.
add_kmod() {
  local dir=$1
  [[ -e $dir/sbin/modprobe || -e $dir/usr/sbin/modprobe ]] && return 0
  mkdir -p "$WORK/kmod"
  (cd "$WORK/kmod" && apt-get download -q -o APT::Sandbox::User=root kmod libkmod2 >&2)
  dpkg --root="$dir" -i "$WORK"/kmod/*.deb >&2
}

# ext4 image of directory DIR at OUT, big enough for it plus 256 MiB of room.
dir_image() {
  local dir=$1 out=$2 label=$3 kb
  kb=$(du -sk "$dir" | cut -f1)
  rm -f "$out"
  mkfs.ext4 -q -F -L "$label" -d "$dir" "$out" $((kb * 12 / 10 + 262144))k >/dev/null
}

# Sets ROOT_IMG, DROPLAB_IMG (empty when droplab is in the root) and ROOT_KIND
# (a sentence for the output). $BUILD holds the build's bin/ directory; $DEB,
# when set, is the package to install instead of the one package.sh builds.
prepare_root() {
  local bins=("$BUILD/bin/droplab" "$BUILD/bin/droplab-gen" "$BUILD/bin/droplab-sink") b
  if [[ -n $DEB || -x $REPO/scripts/package.sh ]] && [[ -x $REPO/scripts/rootfs.sh ]]; then
    local deb=$DEB rootdir=$WORK/rootfs
    if [[ -z $deb ]]; then
      deb=$(BUILD_DIR=$BUILD "$REPO/scripts/package.sh" | tail -n 1)
      [[ -f $deb ]] || { echo "kernel-matrix: scripts/package.sh did not print a .deb (got \"$deb\")" >&2; return 1; }
    fi
    "$REPO/scripts/rootfs.sh" "$rootdir" "$deb" >&2
    add_kmod "$rootdir"
    ROOT_IMG=$WORK/root.img
    dir_image "$rootdir" "$ROOT_IMG" root
    rm -rf --one-file-system "$rootdir"
    DROPLAB_IMG=
    ROOT_KIND="Debian 12 root (scripts/rootfs.sh) with $(basename "$deb") installed"
    return 0
  fi
  for b in "${bins[@]}"; do
    [[ -x $b ]] || { echo "kernel-matrix: $b not built (cmake --build $BUILD)" >&2; return 1; }
  done
  local pkgs rootdir
  pkgs=$(runtime_packages "${bins[@]}") || return 1
  # shellcheck disable=SC2086 # one package per word
  rootdir=$(fallback_rootfs $pkgs) || return 1
  ROOT_IMG=$RCACHE/bookworm-minbase.img
  if [[ ! -e $ROOT_IMG || $ROOT_IMG -ot $rootdir/.matrix-stamp ]]; then
    dir_image "$rootdir" "$ROOT_IMG.new" root && mv "$ROOT_IMG.new" "$ROOT_IMG"
  fi
  mkdir -p "$WORK/droplab/bin"
  cp "${bins[@]}" "$WORK/droplab/bin/"
  DROPLAB_IMG=$WORK/droplab.img
  dir_image "$WORK/droplab" "$DROPLAB_IMG" droplab
  ROOT_KIND="Debian 12 minbase root (debootstrap), droplab from $BUILD/bin on a second disk"
}
