#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite (unit and integration
# tests; the integration tests start their own redis-server processes on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 600
