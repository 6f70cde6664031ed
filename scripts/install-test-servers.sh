#!/usr/bin/env bash
# Installs the real servers the origin integration tests run against, into a project-local,
# git-ignored directory (.tools/node):
#   azurite  - Microsoft's Azure Storage emulator (Blob service) for the Azure Blob origin
#   s3rver   - a small S3-compatible server for the S3 origin
#   @aws-sdk/client-s3 - the AWS SDK for JavaScript v3, a real client of the S3 endpoint that
#              sends aws-chunked bodies
# Idempotent: does nothing when both are already installed. Needs node and npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${UNICACHE_TOOLS_NODE:-$ROOT/.tools/node}"

if ! command -v npm >/dev/null 2>&1; then
  echo "install-test-servers: npm not found (run scripts/install-deps.sh first)" >&2
  exit 1
fi
if [ -x "$PREFIX/node_modules/.bin/azurite-blob" ] && [ -x "$PREFIX/node_modules/.bin/s3rver" ] &&
  [ -f "$PREFIX/node_modules/@aws-sdk/client-s3/package.json" ]; then
  echo "install-test-servers: azurite, s3rver and @aws-sdk/client-s3 present in $PREFIX"
  exit 0
fi
mkdir -p "$PREFIX"
# npm resolves a bare name against a same-named folder in the working directory, so run it from
# the prefix itself, which holds no such folder.
cd "$PREFIX"
npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error azurite s3rver @aws-sdk/client-s3
echo "install-test-servers: installed azurite, s3rver and @aws-sdk/client-s3 into $PREFIX"
