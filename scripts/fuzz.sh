#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into ./build-fuzz and runs each for the
# given number of seconds (default 30), starting from corpora made of tests/data and
# configs/. A crash fails the run and leaves its input in build-fuzz/crashes/<target>/; turn
# it into a unit test. Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
mkdir -p build-fuzz
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFERRY_FUZZ=ON > build-fuzz/configure.log 2>&1 || { cat build-fuzz/configure.log; exit 1; }
cmake --build build-fuzz -j "$(nproc)"
rm -rf build-fuzz/seeds
build-fuzz/fuzz/fuzz_seeds . build-fuzz/seeds
status=0
for target in rdb_reader values resp reply_reader lzf config; do
  mkdir -p "build-fuzz/corpus/$target" "build-fuzz/crashes/$target"
  echo "fuzz_$target: ${seconds}s"
  if ! build-fuzz/fuzz/fuzz_$target -max_total_time="$seconds" -rss_limit_mb=2048 \
      -max_len=262144 -timeout=10 -print_final_stats=0 \
      -artifact_prefix="build-fuzz/crashes/$target/" \
      "build-fuzz/corpus/$target" "build-fuzz/seeds/$target" \
      > "build-fuzz/fuzz_$target.log" 2>&1; then
    echo "fuzz_$target FAILED:"
    tail -n 60 "build-fuzz/fuzz_$target.log"
    status=1
  fi
done
exit $status
