#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs `unicache demo` (a local-directory
# origin, one node, no accounts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/tools/unicache demo "$@"
