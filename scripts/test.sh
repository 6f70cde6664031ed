#!/usr/bin/env bash
# README command 2: installs everything, builds, and runs all tests:
#   1. format check
#   2. release build; ctest: unit tests + integration tests (real nodes, Azurite, s3rver, etcd, FUSE)
#   3. ASan+UBSan build; ctest: unit tests
# Options: --no-sanitize skips step 3 (quicker local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=1
for a in "$@"; do
  case "$a" in
    --no-sanitize) sanitize=0 ;;
    *) echo "usage: $0 [--no-sanitize]" >&2; exit 2 ;;
  esac
done
jobs="${UNICACHE_JOBS:-$(nproc)}"

bash scripts/install-deps.sh
bash scripts/install-test-servers.sh
bash scripts/check-format.sh

echo "== release build"
bash scripts/build.sh release
echo "== unit and integration tests (release)"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

if ((sanitize)); then
  echo "== ASan+UBSan build of the unit tests"
  bash scripts/build.sh asan
  echo "== unit tests under ASan+UBSan"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$jobs" -L unit --timeout 900)
fi
echo "== all tests passed"
