#!/usr/bin/env bash
# Builds ferry and runs its benchmarks against native Redis replication, side by side:
# micro benchmarks (RDB parsing on generated 100+ MB files, RESP, CRCs, LZF, stream stages,
# flow-graph overhead) and the end-to-end harness (full sync, incremental at fixed rates,
# memory and CPU). Prints the table and writes bench/RESULTS.md.
#   scripts/bench.sh            the full run (about 15 minutes on 2 cores)
#   scripts/bench.sh --quick    smaller datasets, one round
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
./scripts/install-deps.sh
./scripts/build.sh
DATA="$ROOT/build/bench-data"
QUICK=""
if [ "${1:-}" = "--quick" ]; then QUICK="--quick"; DATA="$DATA-quick"; fi
if [ ! -f "$DATA/mixed.rdb" ] || [ ! -f "$DATA/strings.rdb" ]; then
  "$ROOT/build/bench/ferry_e2e_bench" --make-rdbs "$DATA" $QUICK
fi
FERRY_BENCH_RDB_MIXED="$DATA/mixed.rdb" FERRY_BENCH_RDB_STRINGS="$DATA/strings.rdb" \
  "$ROOT/build/bench/ferry_micro_bench" --benchmark_out="$ROOT/build/bench-micro.json" \
  --benchmark_out_format=json
"$ROOT/build/bench/ferry_e2e_bench" $QUICK --micro-json "$ROOT/build/bench-micro.json" \
  --out "$ROOT/bench/RESULTS.md"
