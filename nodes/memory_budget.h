// MemoryBudget: the bytes an input holds between reading its source log and the target's
// acknowledgement (chunks, packets, batches). Stages charge what they create and release
// what they free; the source stage reads only while the total is under the limit, so memory
// stays bounded whatever the dataset and key sizes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace ferry {

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t limit) : limit_(static_cast<int64_t>(limit)) {}

  // Called (on the releasing thread) when usage drops back under the limit.
  void set_room_listener(std::function<void()> listener) { on_room_ = std::move(listener); }

  void charge(uint64_t bytes) {
    int64_t now = used_.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
    int64_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
  void release(uint64_t bytes) {
    int64_t before = used_.fetch_sub(static_cast<int64_t>(bytes));
    if (before >= limit_ && before - static_cast<int64_t>(bytes) < limit_ && on_room_) on_room_();
  }
  // Moves a charge from `old_bytes` to `new_bytes`.
  void adjust(uint64_t old_bytes, uint64_t new_bytes) {
    if (new_bytes >= old_bytes) {
      charge(new_bytes - old_bytes);
    } else {
      release(old_bytes - new_bytes);
    }
  }
  bool has_room() const { return used_.load() < limit_; }
  int64_t used() const { return used_.load(); }
  int64_t limit() const { return limit_; }
  int64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  const int64_t limit_;
  std::atomic<int64_t> used_{0};
  std::atomic<int64_t> peak_{0};
  std::function<void()> on_room_;
};

}  // namespace ferry
