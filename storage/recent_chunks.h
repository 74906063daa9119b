// RecentChunks: the memory tail of one input's cache — the newest data chunks written to
// the store, kept (up to a byte budget) so that a reader following the source closely reads
// them from memory rather than from the store. Chunks arrive in (generation, kind, offset)
// order, a generation's RDB before its stream. Not thread-safe: the CacheLog's lock guards it.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "storage/source_log.h"

namespace ferry {

class RecentChunks {
 public:
  explicit RecentChunks(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // A chunk just written (kind: cache::kRdb or cache::kStream); the oldest go past the budget.
  void add(uint32_t gen, char kind, SourceChunkPtr chunk);
  // The bytes from `pos` on, contiguous, at most min(limit, max_read): false if `pos` is not
  // among the chunks held.
  bool read(uint32_t gen, char kind, uint64_t pos, uint64_t limit, uint64_t max_read,
            std::string* out) const;
  void clear();
  uint64_t bytes() const { return bytes_; }

 private:
  struct Entry {
    uint32_t gen = 0;
    char kind = 0;
    SourceChunkPtr chunk;
  };

  const uint64_t max_bytes_;
  std::deque<Entry> chunks_;
  uint64_t bytes_ = 0;
};

}  // namespace ferry
