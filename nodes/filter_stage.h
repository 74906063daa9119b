// FilterStage: marks the commands that must not be replayed — the replication link's own
// traffic (PING, REPLCONF), Sentinel's hello messages, and writes to ferry's own checkpoint
// keys (when the source is itself a ferry target) — and counts them. A MULTI/EXEC left with
// nothing inside is dropped whole.
#pragma once

#include <atomic>

#include "nodes/messages.h"
#include "nodes/stage_context.h"

namespace ferry {

class FilterStage {
 public:
  explicit FilterStage(StageContext* ctx) : ctx_(ctx) {}
  void process(Packet& packet) const;

 private:
  StageContext* ctx_;
  mutable std::atomic<uint64_t> refused_{0};
};

}  // namespace ferry
