// RouteStage: decides which target node each command goes to and registers the packet with
// the offset tracker (how many target nodes must acknowledge it). A standalone target has
// one node; cluster targets route by key slot.
#pragma once

#include "nodes/messages.h"
#include "nodes/stage_context.h"

namespace ferry {

class RouteStage {
 public:
  RouteStage(StageContext* ctx, size_t nodes) : ctx_(ctx), nodes_(nodes) {}
  void process(Packet& packet) const;

 private:
  StageContext* ctx_;
  size_t nodes_;
};

}  // namespace ferry
