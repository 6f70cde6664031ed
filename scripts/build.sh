#!/usr/bin/env bash
# Configures and builds unicache. Usage: scripts/build.sh [release|asan]
#   release -> build/       (RelWithDebInfo: what `unicache demo`, tests and benchmarks use)
#   asan    -> build-asan/  (ASan + UBSan, unit tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
jobs="${UNICACHE_JOBS:-$(nproc)}"
case "$kind" in
  release)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    ninja -C build -j "$jobs"
    ;;
  asan)
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DUNICACHE_SANITIZE=ON \
      -DUNICACHE_BUILD_BENCH=OFF >/dev/null
    # Unit-test binaries only: integration tests run against the release build.
    targets=$(ninja -C build-asan -t targets all | sed -n 's/^\([a-z0-9_]*_test\): phony$/\1/p' | sort -u)
    ninja -C build-asan -j "$jobs" $targets
    ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
