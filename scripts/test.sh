#!/usr/bin/env bash
# Installs the dependencies, builds, and runs everything CI checks, printing each step's
# time: the warnings-as-errors build and the whole test suite (unit and integration tests;
# the integration tests start their own redis-server processes on free loopback ports), a
# Release build (compiled only), ASan+UBSan and TSan jobs, and every fuzzer for a while.
# `--quick`: only the first two steps (what a developer runs between changes).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; fi

started=$(date +%s)
step() {
  local name="$1"
  shift
  local t0
  t0=$(date +%s)
  echo "=== $name"
  "$@"
  echo "=== $name: $(( $(date +%s) - t0 ))s (total $(( $(date +%s) - started ))s)"
}

release_build() {
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_BUILD_TESTS=OFF \
    -DFERRY_BUILD_BENCH=OFF > /dev/null
  cmake --build build-release -j "$(nproc)"
}

step "install dependencies" ./scripts/install-deps.sh
step "build (warnings are errors)" ./scripts/build.sh
step "tests" sh -c 'cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600 -LE smoke'
if [ "$quick" = 1 ]; then exit 0; fi
step "Release build" release_build
step "ASan+UBSan" ./scripts/sanitize.sh asan
step "TSan" ./scripts/sanitize.sh tsan
step "fuzzers (45s each)" ./scripts/fuzz.sh 45
