#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine, as root: install what is
# needed, build, and run the socket-rcvbuf experiment in the local
# two-namespace lab, printing the drop waterfall. Extra arguments go to
# `droplab run` (e.g. --json report.json).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: run as root: the lab creates network namespaces and a veth pair" >&2
  exit 1
fi
scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh -DBUILD_TESTING=OFF
exec "${BUILD_DIR:-build}/bin/droplab" run profiles/socket-rcvbuf.json "$@"
