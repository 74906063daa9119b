// Stream values as the RDB stores them: entry ids, metadata, consumer groups with their
// pending entries (PEL) and consumers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::rdb {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  std::string to_string() const { return std::to_string(ms) + "-" + std::to_string(seq); }
  bool operator==(const StreamId& o) const { return ms == o.ms && seq == o.seq; }
  bool operator<(const StreamId& o) const { return ms < o.ms || (ms == o.ms && seq < o.seq); }
};

struct StreamMeta {
  uint64_t length = 0;
  StreamId last_id;
  bool has_extended = false;  // the fields below are stored (RDB type 19 and later)
  StreamId first_id;
  StreamId max_deleted_id;
  uint64_t entries_added = 0;
};

struct StreamPending {
  StreamId id;
  std::string_view consumer;  // empty if no consumer claims it
  int64_t delivery_time = 0;
  uint64_t delivery_count = 0;
};

struct StreamConsumer {
  std::string_view name;
  int64_t seen_time = 0;
  bool has_active_time = false;  // stored from RDB type 21 on
  int64_t active_time = -1;      // -1: never active
  std::vector<StreamId> pending;
};

struct StreamGroup {
  std::string_view name;
  StreamId last_id;
  int64_t entries_read = -1;  // -1 = unknown (or not stored)
  std::vector<StreamPending> pending;
  std::vector<StreamConsumer> consumers;
};

}  // namespace ferry::rdb
