// OffsetTracker: which source position is applied on the target. Packets are registered in
// source order with the number of batches their commands went into; each acknowledged batch
// completes its part. The applied position is the end of the longest prefix of packets whose
// parts are all acknowledged — so it never runs ahead of data still in flight, whatever order
// target nodes acknowledge in.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "nodes/messages.h"

namespace ferry {

class OffsetTracker {
 public:
  struct Applied {
    SourcePosition position;
    uint64_t rdb_keys = 0;      // RDB keys completed by the packets just applied
    bool rdb_complete = false;  // the RDB of a full sync was applied entirely
  };
  // Called (under no lock) whenever the applied position moves.
  using Listener = std::function<void(const Applied&)>;

  void set_listener(Listener l) { listener_ = std::move(l); }

  void add(const Packet& packet, uint32_t parts);
  void done(uint64_t seq);
  // Changes how many parts packet `seq` waits for (the batch stage: the batches it was
  // really packed into), and advances if none is left.
  void adjust(uint64_t seq, int64_t delta);

  SourcePosition applied() const;
  size_t pending() const;

 private:
  struct Entry {
    uint64_t seq;
    uint32_t remaining;
    SourcePosition end;
    uint32_t rdb_keys;
    bool rdb_complete;
  };
  void advance(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mu_;
  std::deque<Entry> entries_;
  SourcePosition applied_;
  Listener listener_;
};

}  // namespace ferry
