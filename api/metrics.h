// The Prometheus exposition of ferry's counters (GET server.metricRoutePath): per input
// (label `input`) offsets, lag, full-sync progress, commands by name, batches and their
// latency, syncs and reconnects, cache use and GC; and the process's own RSS, CPU, threads,
// uptime and build. Names start with `ferry_`; README.md lists them all.
#pragma once

#include <string>
#include <vector>

#include "pipeline/input_status.h"

namespace ferry {

std::string render_metrics(const std::vector<InputStatus>& inputs);

}  // namespace ferry
