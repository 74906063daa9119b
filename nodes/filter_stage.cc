#include "nodes/filter_stage.h"

#include "common/bytes.h"

namespace ferry {

void FilterStage::process(Packet& packet) const {
  CommandList& cmds = packet.cmds;
  uint64_t filtered = 0;
  size_t multi_at = SIZE_MAX;
  size_t kept_in_multi = 0;
  for (size_t i = 0; i < cmds.size(); i++) {
    CommandList::Cmd& c = cmds.cmd(i);
    if (c.flags & CommandList::kMulti) {
      multi_at = i;
      kept_in_multi = 0;
      continue;
    }
    if (c.flags & CommandList::kExec) {
      if (multi_at != SIZE_MAX && kept_in_multi == 0) {
        cmds.cmd(multi_at).flags |= CommandList::kDropped;
        // Keep the unit boundary (and its offset) on the EXEC, but do not send it.
        c.flags |= CommandList::kDropped;
      }
      multi_at = SIZE_MAX;
      continue;
    }
    if (c.argc == 0) continue;
    std::string_view name = cmds.arg(c, 0);
    bool drop = iequals(name, "PING") || iequals(name, "REPLCONF") ||
                (iequals(name, "PUBLISH") && c.argc >= 2 && cmds.arg(c, 1) == "__sentinel__:hello");
    if (drop) {
      c.flags |= CommandList::kDropped;
      filtered++;
    } else if (multi_at != SIZE_MAX) {
      kept_in_multi++;
    }
  }
  if (filtered) ctx_->counters->commands_filtered += filtered;
}

}  // namespace ferry
