# Sourced by scripts/kernel-matrix.sh: Debian's cloud kernel packages, unpacked
# (never installed) under $KCACHE, with what a VM needs to boot each one: its
# vmlinuz, an initramfs holding busybox and the virtio block driver of that
# same kernel, and an ext4 image of its /lib/modules for the guest's modprobe.

# "6.1" / "6.12" -> the newest such cloud kernel package apt knows; a full
# package name is taken as it is.
kernel_package() {
  local re
  case $1 in
    6.1) re='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' ;;
    6.12) re='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' ;;
    linux-image-*) echo "$1"; return 0 ;;
    *) echo "kernel-matrix: --kernels: \"$1\" is not a kernel (use 6.1, 6.12, host or a linux-image-*-cloud-amd64-unsigned package)" >&2
       return 2 ;;
  esac
  local pkg
  pkg=$(apt-cache pkgnames linux-image-6 2>/dev/null | grep -E "$re" | sort -V | tail -n 1)
  if [[ -z $pkg ]]; then
    # No package lists (offline): the newest one already unpacked here.
    pkg=$(find "$KCACHE" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sed 's/_.*//' |
      grep -E "$re" | sort -V | tail -n 1)
  fi
  [[ -n $pkg ]] || { echo "kernel-matrix: no package for kernel $1 (apt-get update?)" >&2; return 1; }
  echo "$pkg"
}

# Downloads and unpacks PACKAGE once; prints its directory under $KCACHE.
kernel_unpack() {
  local pkg=$1 deb dir
  mkdir -p "$KCACHE"
  deb=$(find "$KCACHE" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n 1)
  if [[ -z $deb ]]; then
    echo "kernel-matrix: downloading $pkg" >&2
    (cd "$KCACHE" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) || return 1
    deb=$(find "$KCACHE" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n 1)
  fi
  dir=${deb%.deb}
  if [[ ! -e $dir/.unpacked ]]; then
    rm -rf "$dir"
    dpkg -x "$deb" "$dir"
    # The package's postinst would run depmod; here we do, into the unpacked tree.
    depmod -b "$dir" "$(kernel_release "$dir")"
    touch "$dir/.unpacked"
  fi
  echo "$dir"
}

kernel_release() { ls "$1/lib/modules"; }

# The initramfs: busybox, scripts/matrix/initramfs-init, and virtio_blk with
# its dependencies in modules.dep order (decompressed: busybox insmod reads
# plain .ko). Built-in drivers (6.12's virtio_pci) need nothing.
kernel_initrd() {
  local dir=$1 rel out tmp mod
  rel=$(kernel_release "$dir")
  out=$dir/matrix-initrd.gz
  if [[ ! -e $out || $out -ot $MATRIX_DIR/initramfs-init ]]; then
    tmp=$(mktemp -d)
    mkdir -p "$tmp"/{bin,dev,proc,sys,modules}
    cp /bin/busybox "$tmp/bin/busybox"
    cp "$MATRIX_DIR/initramfs-init" "$tmp/init"
    : >"$tmp/modules.list"
    local m
    for m in virtio_pci virtio_blk; do
      modprobe -d "$dir" -S "$rel" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
    done | awk '!seen[$0]++' | while read -r mod; do
      local base=${mod##*/}
      base=${base%.xz}
      case $mod in
        *.xz) xz -dc "$mod" >"$tmp/modules/$base" ;;
        *) cp "$mod" "$tmp/modules/$base" ;;
      esac
      echo "$base" >>"$tmp/modules.list"
    done
    (cd "$tmp" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$out.new") && mv "$out.new" "$out"
    rm -rf "$tmp"
  fi
  echo "$out"
}

# An ext4 image of the kernel's /lib/modules, mounted there in the guest so
# that the kernel's own module requests (veth, sch_tbf, nf_tables...) work.
kernel_modules_img() {
  local dir=$1 out=$1/matrix-modules.img
  if [[ ! -e $out ]]; then
    local kb
    kb=$(du -sk "$dir/lib/modules" | cut -f1)
    mkfs.ext4 -q -F -L modules -d "$dir/lib/modules" "$out.new" $((kb * 13 / 10 + 16384))k >/dev/null && mv "$out.new" "$out"
  fi
  echo "$out"
}

kernel_vmlinuz() { ls "$1"/boot/vmlinuz-*; }
