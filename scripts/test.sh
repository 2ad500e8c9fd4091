#!/usr/bin/env bash
# Installs, builds and runs the whole test suite with ctest. As root the
# integration tests run real experiments in network namespaces; as another
# user they are skipped, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR scripts/build.sh -DBUILD_TESTING=ON
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 300 "$@"
