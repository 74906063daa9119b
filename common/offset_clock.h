// OffsetClock: when each part of a byte stream was received, to tell how long the oldest
// byte not yet applied has waited (replication lag in seconds). The receiver records the
// stream's end offset after each read; the applier forgets what it has applied. Memory is
// bounded: past kMaxSamples the samples are thinned (the resolution coarsens, never grows).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>

namespace ferry {

class OffsetClock {
 public:
  // The stream reached `end_offset` at `now_us` (a monotonic clock).
  void record(uint64_t end_offset, int64_t now_us) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!samples_.empty() && now_us - samples_.back().second < kMinSpacingUs) {
      samples_.back().first = end_offset;  // same moment: extend the last sample
      return;
    }
    samples_.emplace_back(end_offset, now_us);
    if (samples_.size() > kMaxSamples) thin();
  }

  // Everything up to `offset` is applied.
  void applied(uint64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    while (!samples_.empty() && samples_.front().first <= offset)
      samples_.pop_front();
  }

  // When the first byte after `offset` was received; 0 if this process has no record of
  // a byte after it (everything received is applied).
  int64_t received_after(uint64_t offset) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [end, t] : samples_) {
      if (end > offset) return t;
    }
    return 0;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    samples_.clear();
  }

 private:
  static constexpr size_t kMaxSamples = 1 << 16;
  static constexpr int64_t kMinSpacingUs = 1000;

  // Merges neighbours pairwise: each merged sample keeps the later end and the earlier time,
  // so the lag it reports can only err on the high side.
  void thin() {
    std::deque<std::pair<uint64_t, int64_t>> merged;
    for (size_t i = 0; i < samples_.size(); i += 2) {
      if (i + 1 < samples_.size()) {
        merged.emplace_back(samples_[i + 1].first, samples_[i].second);
      } else {
        merged.push_back(samples_[i]);
      }
    }
    samples_.swap(merged);
  }

  mutable std::mutex mu_;
  std::deque<std::pair<uint64_t, int64_t>> samples_;  // (stream end offset, time received)
};

}  // namespace ferry
