#include "storage/memory_source_log.h"

namespace ferry {

bool MemorySourceLog::append(SourceChunkPtr chunk) {
  std::function<void()> listener;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // A chunk bigger than the whole budget still goes in once the log is empty.
    room_.wait(lock,
               [&] { return closed_ || bytes_ == 0 || bytes_ + chunk->bytes() <= capacity_; });
    if (closed_) return false;
    bytes_ += chunk->bytes();
    chunks_.push_back(std::move(chunk));
    listener = listener_;
  }
  if (listener) listener();
  return true;
}

bool MemorySourceLog::try_read(SourceChunkPtr* chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  if (chunks_.empty()) return false;
  *chunk = std::move(chunks_.front());
  chunks_.pop_front();
  bytes_ -= (*chunk)->bytes();
  room_.notify_all();
  return true;
}

void MemorySourceLog::set_data_listener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

void MemorySourceLog::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  room_.notify_all();
}

uint64_t MemorySourceLog::buffered_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace ferry
