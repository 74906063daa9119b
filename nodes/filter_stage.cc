#include "nodes/filter_stage.h"

#include "common/bytes.h"
#include "common/log.h"
#include "nodes/own_keys.h"

namespace ferry {

void FilterStage::process(Packet& packet) const {
  CommandList& cmds = packet.cmds;
  CommandStats& stats = ctx_->counters->by_command;
  const bool stream = packet.end.phase == SourcePosition::Phase::kStream;
  uint64_t filtered = 0;
  size_t multi_at = SIZE_MAX;
  size_t kept_in_multi = 0;
  for (size_t i = 0; i < cmds.size(); i++) {
    CommandList::Cmd& c = cmds.cmd(i);
    if (stream && c.argc > 0) {
      c.stat = CommandStats::id_of(cmds.arg(c, 0));
      stats.add(c.stat, CommandStats::kReceived);
    }
    if (c.flags & CommandList::kMulti) {
      multi_at = i;
      kept_in_multi = 0;
      // In transaction mode each batch is a transaction: a source MULTI/EXEC inside it cannot
      // nest, and is left out (its commands stay together in the batch's transaction).
      if (ctx_->transaction) {
        c.flags |= CommandList::kDropped;
        if (stream) stats.add(c.stat, CommandStats::kFiltered);
      }
      continue;
    }
    if (c.flags & CommandList::kExec) {
      if ((multi_at != SIZE_MAX && kept_in_multi == 0) || ctx_->transaction) {
        if (multi_at != SIZE_MAX) cmds.cmd(multi_at).flags |= CommandList::kDropped;
        // Keep the unit boundary (and its offset) on the EXEC, but do not send it.
        if (multi_at != SIZE_MAX && !ctx_->transaction && stream) {
          stats.add(CommandStats::id_of("multi"), CommandStats::kFiltered);
        }
        c.flags |= CommandList::kDropped;
        if (stream) stats.add(c.stat, CommandStats::kFiltered);
      }
      multi_at = SIZE_MAX;
      continue;
    }
    if (c.argc == 0) continue;
    std::string_view name = cmds.arg(c, 0);
    bool drop =
        iequals(name, "PING") || iequals(name, "REPLCONF") ||
        (iequals(name, "PUBLISH") && c.argc >= 2 && cmds.arg(c, 1) == "__sentinel__:hello") ||
        (c.argc >= 2 && is_checkpoint_key(cmds.arg(c, 1)));
    if (drop) {
      c.flags |= CommandList::kDropped;
      if (stream) stats.add(c.stat, CommandStats::kFiltered);
      filtered++;
      continue;
    }
    if (ctx_->target_commands) {
      const char* why = ctx_->target_commands->refusal(name, c.argc);
      if (why) {
        // Sent, it would fail (and discard a whole transaction): leave it out, loudly.
        c.flags |= CommandList::kDropped;
        ctx_->counters->commands_failed++;
        if (stream) stats.add(c.stat, CommandStats::kFailed);
        uint64_t n = ++refused_;
        if (n <= 20 || n % 1000 == 0) {
          LOG_ERROR("input %s: %s %s is not replayed: %s (%llu so far)", ctx_->input.c_str(),
                    std::string(name).c_str(), c.argc > 1 ? printable(cmds.arg(c, 1)).c_str() : "",
                    why, static_cast<unsigned long long>(n));
        }
        continue;
      }
    }
    if (multi_at != SIZE_MAX) kept_in_multi++;
  }
  if (filtered) ctx_->counters->commands_filtered += filtered;
}

}  // namespace ferry
