#include "nodes/filter_stage.h"

#include "common/bytes.h"
#include "common/clock.h"
#include "common/log.h"
#include "nodes/own_keys.h"
#include "nodes/skip_record.h"
#include "proto/checkpoint_format.h"
#include "proto/command_keys.h"

namespace ferry {

SkipReason FilterStage::skip_reason(const CommandList& cmds, const CommandList::Cmd& c,
                                    std::string* why) const {
  if (!ctx_->target_commands) return SkipReason::kCount;
  const CommandTable& table = *ctx_->target_commands;
  std::string_view name = cmds.arg(c, 0);
  switch (table.refusal(name, c.argc)) {
    case CommandTable::Refusal::kUnknownCommand:
      *why = refusal_text(CommandTable::Refusal::kUnknownCommand);
      return SkipReason::kUnknownCommand;
    case CommandTable::Refusal::kWrongArity:
      *why = refusal_text(CommandTable::Refusal::kWrongArity);
      return SkipReason::kWrongArity;
    case CommandTable::Refusal::kNone:
      break;
  }
  // A checkpoint key in any key position (one as the first argument is filtered as ferry's
  // own before this).
  int reserved = 0;
  for_each_key(
      table, name, c.argc, [&](int i) { return cmds.arg(c, static_cast<size_t>(i)); },
      [&](int i) {
        if (!reserved && i > 1 && is_checkpoint_key(cmds.arg(c, static_cast<size_t>(i)))) {
          reserved = i;
        }
      });
  if (!reserved) return SkipReason::kCount;
  *why = "it names ferry's checkpoint key " + printable(cmds.arg(c, reserved));
  return SkipReason::kReservedKey;
}

namespace {

// The source command's name: a FLUSHALL that the parse stage wrapped in the script keeping
// the checkpoints, or turned into a shard's flush, is counted as FLUSHALL.
std::string_view source_name(const CommandList& cmds, const CommandList::Cmd& c) {
  std::string_view name = cmds.arg(c, 0);
  if (c.argc > 4 && iequals(name, "EVAL") && cmds.arg(c, 1) == ckpt::kKeepCheckpointsScript) {
    return cmds.arg(c, 4);
  }
  if (c.flags & CommandList::kSlotFlush) return cmds.arg(c, 3);
  return name;
}

}  // namespace

void FilterStage::process(Packet& packet) const {
  CommandList& cmds = packet.cmds;
  CommandStats& stats = ctx_->counters->by_command;
  const bool stream = packet.end.phase == SourcePosition::Phase::kStream;
  uint64_t filtered = 0;
  size_t multi_at = SIZE_MAX;
  size_t kept_in_multi = 0;
  std::vector<SkipRecord> skipped;
  for (size_t i = 0; i < cmds.size(); i++) {
    CommandList::Cmd& c = cmds.cmd(i);
    if (stream && c.argc > 0) {
      c.stat = CommandStats::id_of(source_name(cmds, c));
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
    std::string why;
    SkipReason reason = skip_reason(cmds, c, &why);
    if (reason != SkipReason::kCount) {
      // Sent, it would fail (and discard a whole transaction): leave it out, reported.
      c.flags |= CommandList::kDropped;
      if (stream) stats.add(c.stat, CommandStats::kFailed);
      skipped.push_back(skip_record_of(packet, i, why, reason));
      uint64_t n = ++refused_;
      if (n <= 20 || n % 1000 == 0) {
        LOG_ERROR("input %s: %s %s is not replayed: %s (%llu so far)", ctx_->input.c_str(),
                  std::string(name).c_str(), c.argc > 1 ? printable(cmds.arg(c, 1)).c_str() : "",
                  why.c_str(), static_cast<unsigned long long>(n));
      }
      continue;
    }
    if (multi_at != SIZE_MAX) kept_in_multi++;
  }
  if (filtered) ctx_->counters->commands_filtered += filtered;
  if (!skipped.empty() && ctx_->report_skipped) ctx_->report_skipped(std::move(skipped));
}

}  // namespace ferry
