// A SourceLog held in memory, bounded by a byte budget: the writer waits while it is full.
// (The RocksDB-backed cache replaces it where the source must never wait on the target.)
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>

#include "storage/source_log.h"

namespace ferry {

class MemorySourceLog : public SourceLog {
 public:
  explicit MemorySourceLog(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  bool append(SourceChunkPtr chunk) override;
  bool try_read(SourceChunkPtr* chunk) override;
  void set_data_listener(std::function<void()> listener) override;
  void close() override;
  uint64_t buffered_bytes() const override;

 private:
  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable room_;
  std::deque<SourceChunkPtr> chunks_;
  uint64_t bytes_ = 0;
  bool closed_ = false;
  std::function<void()> listener_;
};

}  // namespace ferry
