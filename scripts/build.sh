#!/usr/bin/env bash
# Configures and builds ferry into ./build (warnings are errors). Extra arguments go to cmake.
# A plain `cmake -S . -B build && cmake --build build` (any build type) also works; it only
# does not make warnings fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_WERROR=ON "$@"
cmake --build build -j "$(nproc)"
