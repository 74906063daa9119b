#include "nodes/offset_tracker.h"

#include <algorithm>

namespace ferry {

void OffsetTracker::add(const Packet& packet, uint32_t parts) {
  std::unique_lock<std::mutex> lock(mu_);
  entries_.push_back(Entry{packet.seq, parts, packet.end, packet.rdb_keys, packet.rdb_complete});
  advance(lock);
}

void OffsetTracker::done(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  // Parts complete mostly in order: search from the front.
  for (auto& e : entries_) {
    if (e.seq == seq) {
      if (e.remaining > 0) e.remaining--;
      break;
    }
  }
  advance(lock);
}

void OffsetTracker::adjust(uint64_t seq, int64_t delta) {
  std::unique_lock<std::mutex> lock(mu_);
  // The batch stage adjusts the packet it is packing, the newest or nearly: from the back.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    Entry& e = *it;
    if (e.seq == seq) {
      e.remaining = static_cast<uint32_t>(std::max<int64_t>(0, e.remaining + delta));
      break;
    }
  }
  advance(lock);
}

void OffsetTracker::advance(std::unique_lock<std::mutex>& lock) {
  Applied a;
  bool moved = false;
  while (!entries_.empty() && entries_.front().remaining == 0) {
    const Entry& e = entries_.front();
    if (e.end.phase != SourcePosition::Phase::kNone) applied_ = e.end;
    a.rdb_keys += e.rdb_keys;
    a.rdb_complete |= e.rdb_complete;
    entries_.pop_front();
    moved = true;
  }
  if (!moved) return;
  a.position = applied_;
  lock.unlock();
  if (listener_) listener_(a);
}

SourcePosition OffsetTracker::applied() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_;
}

size_t OffsetTracker::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace ferry
