// FilterStage: marks the commands that must not be replayed — the replication link's own
// traffic (PING, REPLCONF) and Sentinel's hello messages — and counts them. A MULTI/EXEC
// left with nothing inside is dropped whole.
#pragma once

#include "nodes/messages.h"
#include "nodes/stage_context.h"

namespace ferry {

class FilterStage {
 public:
  explicit FilterStage(StageContext* ctx) : ctx_(ctx) {}
  void process(Packet& packet) const;

 private:
  StageContext* ctx_;
};

}  // namespace ferry
