// ferry_loadgen: the benchmark's paced write load, on its own. For trying a syncer by hand:
//   ferry_loadgen 127.0.0.1:6379 50000 10     (50k commands/s for 10 s; rate 0 = flat out)
//   ferry_loadgen 127.0.0.1:6379 50000 10 127.0.0.1:6380
//       (also probes the replication lag into that target, and prints it over time)
#include <algorithm>
#include <cstdio>
#include <string>

#include "bench/harness.h"
#include "bench/loadgen.h"

namespace {

void print_lag_timeline(const ferry::bench::LagProbe& probe, int64_t t0) {
  std::vector<double> lags = probe.lags_ms();
  std::vector<int64_t> times = probe.sample_times_us();
  constexpr int64_t kWindowUs = 500'000;
  size_t i = 0;
  while (i < lags.size()) {
    int64_t window = (times[i] - t0) / kWindowUs;
    double worst = 0;
    size_t n = 0;
    for (; i < lags.size() && (times[i] - t0) / kWindowUs == window; i++, n++)
      worst = std::max(worst, lags[i]);
    std::printf("  %6.1f s: %3zu samples, max lag %8.1f ms\n",
                static_cast<double>(window * kWindowUs) / 1e6, n, worst);
  }
  std::printf("lag p50 %.1f p99 %.1f max %.1f ms\n", ferry::bench::percentile(lags, 50),
              ferry::bench::percentile(lags, 99), ferry::bench::percentile(lags, 100));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: ferry_loadgen HOST:PORT RATE SECONDS [TARGET_HOST:PORT]\n");
    return 2;
  }
  ferry::bench::LoadOptions o;
  ferry::Status st = ferry::Endpoint::parse(argv[1], &o.server);
  ferry::Endpoint target;
  if (st.is_ok() && argc == 5) st = ferry::Endpoint::parse(argv[4], &target);
  if (!st.is_ok()) {
    std::fprintf(stderr, "ferry_loadgen: %s\n", st.message().c_str());
    return 2;
  }
  o.rate = std::stod(argv[2]);
  o.duration = std::chrono::milliseconds(static_cast<int64_t>(std::stod(argv[3]) * 1000));
  std::unique_ptr<ferry::bench::LagProbe> probe;
  if (argc == 5) {
    probe = std::make_unique<ferry::bench::LagProbe>(o.server, target, "bench:probe");
    probe->start();
  }
  const int64_t t0 = ferry::bench::now_us();
  ferry::bench::LoadResult r = ferry::bench::run_load(o);
  std::printf("%llu commands in %.2f s: %.0f/s%s%s\n", static_cast<unsigned long long>(r.commands),
              r.seconds, r.rate(), r.error.empty() ? "" : "; error: ", r.error.c_str());
  if (probe) {
    if (!probe->stop()) std::printf("the probe never reached the target\n");
    print_lag_timeline(*probe, t0);
  }
  return r.error.empty() ? 0 : 1;
}
