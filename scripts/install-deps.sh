#!/usr/bin/env bash
# Installs everything unicache needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone; safe to run again.
set -euo pipefail

PACKAGES=(
  # toolchain and test frameworks
  build-essential cmake ninja-build pkg-config git
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  clang-format
  # libraries (why each one: README.md, "Dependencies")
  libboost-dev libboost-system-dev libcurl4-openssl-dev libssl-dev zlib1g-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libxxhash-dev
  libfuse3-dev fuse3
  # real services and clients used by tests and benchmarks
  curl aria2 nginx redis-server etcd-server etcd-client iperf3 rclone wrk
  gnuplot-nox dnsmasq-base prometheus
  python3-pytest python3-numpy python3-boto3 python3-requests awscli s3cmd
  procps psmisc
)
# Node.js (for the Azurite and S3 test servers): Debian's packages only where no node/npm is
# installed already, since a different Node.js distribution conflicts with Debian's npm.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The packaged services are not used: tests and benchmarks start their own (prometheus is
  # installed for promtool).
  for svc in nginx redis-server etcd prometheus; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
else
  echo "install-deps: all Debian packages present"
fi
