#!/usr/bin/env bash
# Installs what ferry needs to build and test, from Debian 12 packages. Idempotent.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  cmake ninja-build g++ pkg-config ccache \
  libtbb-dev libhiredis-dev libpistache-dev libyaml-cpp-dev libsimdjson-dev \
  nlohmann-json3-dev prometheus-cpp-dev librocksdb-dev libbenchmark-dev libgtest-dev \
  libcurl4-openssl-dev libssl-dev redis-server redis-tools curl clang-format git \
  clang libclang-rt-14-dev
