// LatencyHistogram: a fixed-bucket histogram of durations that many threads add to without
// locks, read as a snapshot (cumulative counts, as Prometheus wants them).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace ferry {

class LatencyHistogram {
 public:
  // Upper bounds of the buckets, in seconds (the last bucket, +Inf, is implicit).
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  void add_us(int64_t us) {
    double s = static_cast<double>(us < 0 ? 0 : us) / 1e6;
    size_t i = 0;
    while (i < kBounds.size() && s > kBounds[i])
      i++;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(static_cast<uint64_t>(us < 0 ? 0 : us), std::memory_order_relaxed);
  }

  Snapshot snapshot() const {
    Snapshot s;
    s.bounds.assign(kBounds.begin(), kBounds.end());
    uint64_t running = 0;
    for (size_t i = 0; i <= kBounds.size(); i++) {
      running += buckets_[i].load(std::memory_order_relaxed);
      s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum_seconds = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace ferry
