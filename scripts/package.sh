#!/usr/bin/env bash
# Builds the Debian package droplab_<version>_amd64.deb with CPack: the three binaries in
# /usr/bin, the profiles in /usr/share/droplab/profiles, man pages, bash completion. Depends:
# the shared libraries dpkg-shlibdeps finds in the binaries, plus the tools droplab runs.
# Install it with `apt install ./droplab_<version>_amd64.deb`.
#
# Builds in ${BUILD_DIR:-build-package} (configured without tests when new; an existing build
# tree is used as it is). Prints the package's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build-package}
if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF "${launcher[@]}" >/dev/null
fi
# The package holds the binaries and their man pages; tests are not needed to pack them.
cmake --build "$BUILD_DIR" -j"$(nproc)" --target droplab droplab-gen droplab-sink droplab_man
BUILD_DIR=$(readlink -f "$BUILD_DIR")
OUT=$BUILD_DIR/package
rm -rf "$OUT"
mkdir -p "$OUT"
# cpack installs what was built above (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY), not the tests too.
(cd "$BUILD_DIR" && cpack -G DEB -B "$OUT" >"$OUT/cpack.log" 2>&1) || {
  cat "$OUT/cpack.log" >&2
  echo "package: cpack failed" >&2
  exit 1
}
debs=("$OUT"/droplab_*_amd64.deb)
[[ -f ${debs[0]} ]] || {
  cat "$OUT/cpack.log" >&2
  echo "package: cpack made no droplab_*_amd64.deb in $OUT" >&2
  exit 1
}
dpkg-deb --field "${debs[0]}" Package Version Depends Recommends Installed-Size >&2
echo "${debs[0]}"
