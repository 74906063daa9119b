#include "nodes/route_stage.h"

#include <vector>

namespace ferry {

void RouteStage::process(Packet& packet) const {
  if (!packet.error.is_ok()) {
    // Never acknowledged: the applied position stays before it (the batch stage stops).
    ctx_->tracker->add(packet, 1);
    return;
  }
  std::vector<bool> used(nodes_, false);
  CommandList& cmds = packet.cmds;
  for (size_t i = 0; i < cmds.size(); i++) {
    CommandList::Cmd& c = cmds.cmd(i);
    c.node = 0;  // standalone target: one node
    if (!(c.flags & CommandList::kDropped)) used[c.node] = true;
  }
  uint32_t parts = 0;
  for (bool u : used)
    parts += u ? 1 : 0;
  ctx_->tracker->add(packet, parts);
}

}  // namespace ferry
