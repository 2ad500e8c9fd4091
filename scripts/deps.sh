#!/usr/bin/env bash
# Installs what droplab needs to build and run, from Debian's packages only;
# with --test, also what the test suite needs (headless Chromium for the HTML
# report, an sshd for the three-host test, jq, clang's fuzzer runtime,
# debootstrap for the package test and the kernel matrix, qemu for the matrix).
# Quick when everything is already there: apt is touched only for what is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  liburing-dev libboost-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libbpf-dev libelf-dev zlib1g-dev bpftool clang-14 libmnl-dev libnftables-dev
  libgtest-dev libgmock-dev
  iproute2 nftables ethtool
  # the agent's transports: the OpenSSH client for ssh://, OpenSSL for tls://
  libssl-dev openssh-client openssl
  # man pages from the binaries' --help (built with them); dpkg-shlibdeps for the package's Depends
  help2man dpkg-dev
)
if [[ ${1:-} == --test ]]; then
  # openssh-server: the three-host test starts its own sshd in a namespace.
  # On a host with systemd, installing it also enables Debian's ssh service.
  # debootstrap: the package test installs the .deb into a fresh Debian root.
  PACKAGES+=(chromium openssh-server jq libclang-rt-14-dev debootstrap)
  # scripts/kernel-matrix.sh: qemu boots Debian's kernels; busybox is their
  # initramfs, kmod's depmod/modprobe resolve its modules.
  PACKAGES+=(qemu-system-x86 busybox-static kmod xz-utils e2fsprogs)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
