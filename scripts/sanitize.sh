#!/usr/bin/env bash
# Sanitizer jobs. Usage: scripts/sanitize.sh asan|tsan
#  asan: AddressSanitizer + UndefinedBehaviorSanitizer over the unit tests, the writer tests
#        and the integration smoke subset (the ferry binary they start is instrumented too).
#  tsan: ThreadSanitizer over the code synchronized with std:: primitives only — the unit
#        tests (the cache's persister thread and reader) and the target writer's tests.
#        Debian's libtbb and librocksdb are not instrumented, so what synchronizes through
#        them is invisible to TSan: the flow graph (control and integration tests) is left
#        out, and reports from inside librocksdb are suppressed (scripts/tsan.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:?asan or tsan}"
case "$kind" in
  asan)
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_SANITIZE=ON \
      -DFERRY_BUILD_BENCH=OFF -DFERRY_WERROR=ON > /dev/null
    cmake --build build-asan -j "$(nproc)" --target ferry ferry_unit_tests ferry_writer_tests \
      ferry_integration_tests
    cd build-asan
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ctest --output-on-failure -j "$(nproc)" -L 'unit|writer|smoke' --timeout 1200
    ;;
  tsan)
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_TSAN=ON \
      -DFERRY_BUILD_BENCH=OFF -DFERRY_WERROR=ON > /dev/null
    cmake --build build-tsan -j "$(nproc)" --target ferry_unit_tests ferry_writer_tests
    cd build-tsan
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/../scripts/tsan.supp"
    ctest --output-on-failure -j "$(nproc)" -L 'unit|writer' --timeout 1200
    ;;
  *)
    echo "usage: $0 asan|tsan" >&2
    exit 2
    ;;
esac
