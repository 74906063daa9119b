#include "nodes/route_stage.h"

#include <unordered_map>

#include "common/bytes.h"
#include "common/log.h"
#include "nodes/skip_record.h"
#include "nodes/slot_batch.h"
#include "proto/command_keys.h"
#include "proto/crc16.h"
#include "proto/slot_flush.h"

namespace ferry {
namespace {

constexpr uint64_t kLogged = 20;  // then every 1000th

bool logged(uint64_t n) {
  return n <= kLogged || n % 1000 == 0;
}

// Commands whose effect is per key, so that keys of different slots can go separately.
bool splittable(std::string_view name, bool* pairs) {
  *pairs = iequals(name, "MSET") || iequals(name, "MSETNX");
  return *pairs || iequals(name, "DEL") || iequals(name, "UNLINK");
}

// Commands across slots written as their effect, per key: a propagated SMOVE moved its
// member (Redis propagates it only then), so it is SREM from the source set and SADD to the
// destination.
bool effect_split(std::string_view name, uint32_t argc) {
  return argc == 4 && iequals(name, "SMOVE");
}

// Appends a copy of command c of `in` (its bytes and metadata) to `out`.
void copy_command(const CommandList& in, const CommandList::Cmd& c, CommandList* out) {
  std::vector<resp::ArgSpan> rel(c.argc);
  for (uint32_t a = 0; a < c.argc; a++) {
    std::string_view v = in.arg(c, a);
    rel[a] = resp::ArgSpan{static_cast<uint64_t>(v.data() - in.wire().data()) - c.off, v.size()};
  }
  out->add_raw(in.bytes_of(c), rel, c.db, c.flags);
  CommandList::Cmd& n = out->cmd(out->size() - 1);
  n.check = c.check;
  n.node = c.node;
  n.stat = c.stat;
  n.slot = c.slot;
  n.src_end = c.src_end;
  n.probe_arg = c.probe_arg;
}

}  // namespace

RouteStage::RouteStage(StageContext* ctx, size_t nodes) : ctx_(ctx), nodes_(nodes) {
  if (!ctx_->slot_checkpoints || !ctx_->resume_slots) return;
  applied_.resize(kClusterSlots);
  const std::vector<std::string>& found = *ctx_->slot_checkpoints;
  for (size_t s = 0; s < found.size() && s < applied_.size(); s++) {
    ckpt::SlotPosition p;
    if (!found[s].empty() && ckpt::decode(found[s], &p)) applied_[s] = p;
  }
}

void RouteStage::process(Packet& packet) {
  if (!packet.error.is_ok()) {
    // Never acknowledged: the applied position stays before it (the batch stage stops).
    ctx_->tracker->add(packet, 1);
    return;
  }
  CommandList& cmds = packet.cmds;
  const bool cluster = ctx_->target && ctx_->target->cluster;
  if (cluster) {
    route_cluster(packet);
  } else {
    for (size_t i = 0; i < cmds.size(); i++)
      cmds.cmd(i).node = 0;  // standalone target: one node
  }
  std::vector<bool> used(nodes_, false);
  for (size_t i = 0; i < cmds.size(); i++) {
    const CommandList::Cmd& c = cmds.cmd(i);
    if (c.flags & CommandList::kDropped) continue;
    if (c.node == CommandList::kAllNodes) {
      used.assign(nodes_, true);
    } else {
      used[c.node] = true;
    }
  }
  uint32_t parts = 0;
  for (bool u : used)
    parts += u ? 1 : 0;
  packet.parts = parts;
  ctx_->tracker->add(packet, parts);
}

RouteStage::Dest RouteStage::destination(const CommandList& cmds, const CommandList::Cmd& c,
                                         int* slot, std::string* why, SkipReason* reason) const {
  std::string_view name = cmds.arg(c, 0);
  *reason = SkipReason::kClusterDb;
  if (c.db > 0) {
    *why = "a cluster target has one database, 0, and this command is of db " +
           std::to_string(c.db) + " (output.replay.targetDb or targetDbMap can map it onto 0)";
    return Dest::kSkip;
  }
  if (iequals(name, "SWAPDB") || iequals(name, "MOVE")) {
    *why = "a cluster target has one database";
    return Dest::kSkip;
  }
  int first = -1;
  bool mixed = false;
  auto arg = [&](int i) { return cmds.arg(c, static_cast<size_t>(i)); };
  auto key = [&](int i) {
    int s = key_slot(arg(i));
    if (first < 0) first = s;
    mixed |= s != first;
  };
  if (ctx_->target_commands) {
    for_each_key(*ctx_->target_commands, name, c.argc, arg, key);
  } else if (c.argc > 1) {
    key(1);  // no COMMAND table: the first argument is the key of nearly every write
  }
  if (first < 0) {
    // PUBLISH reaches the subscribers of every node from any one of them.
    return iequals(name, "PUBLISH") ? Dest::kAny : Dest::kAll;
  }
  *slot = first;
  if (!mixed) return Dest::kSlot;
  bool pairs = false;
  if (splittable(name, &pairs) || effect_split(name, c.argc)) return Dest::kSplit;
  *reason = SkipReason::kCrossSlot;
  *why =
      "its keys are in different slots of the target cluster and its effect cannot be "
      "split per slot";
  return Dest::kSkip;
}

void RouteStage::skip(Packet& packet, size_t i, const std::string& why, SkipReason reason,
                      std::vector<SkipRecord>* records) {
  CommandList::Cmd& c = packet.cmds.cmd(i);
  c.flags |= CommandList::kDropped;
  if (packet.end.phase == SourcePosition::Phase::kStream) {
    ctx_->counters->by_command.add(c.stat, CommandStats::kFailed);
  }
  records->push_back(skip_record_of(packet, i, why, reason));
  if (logged(++skipped_)) {
    LOG_ERROR("input %s: %s %s is not replayed: %s (%llu so far)", ctx_->input.c_str(),
              records->back().command.c_str(), records->back().key.c_str(), why.c_str(),
              static_cast<unsigned long long>(skipped_.load()));
  }
}

void RouteStage::route_cluster(Packet& packet) {
  CommandList& cmds = packet.cmds;
  std::vector<SkipRecord> records;
  std::vector<bool> marked(cmds.size(), false);
  bool any_split = false;
  Multi multi;
  for (size_t i = 0; i < cmds.size(); i++) {
    CommandList::Cmd& c = cmds.cmd(i);
    c.node = 0;
    if (c.flags & CommandList::kDropped) continue;
    if (c.flags & CommandList::kMulti) {
      multi = Multi();
      multi.at = i;
    } else if (c.flags & CommandList::kExec) {
      end_multi(cmds, i, multi);
      multi = Multi();
    } else if (c.flags & CommandList::kSlotFlush) {  // a part for each master with its slots
      marked[i] = any_split = true;
      multi.everywhere();
    } else {
      marked[i] = route_command(packet, i, &multi, &records);
      any_split |= marked[i];
    }
  }
  if (any_split) split(packet, marked);
  if (!applied_.empty()) drop_applied(packet);
  if (!records.empty() && ctx_->report_skipped) ctx_->report_skipped(std::move(records));
}

// A source EXEC: its transaction keeps its framing, on the master of its one slot, or goes
// without it (counted when its keys span slots — in slot transaction mode, masters).
void RouteStage::end_multi(CommandList& cmds, size_t exec, const Multi& multi) {
  CommandList::Cmd& c = cmds.cmd(exec);
  const bool slot_tx = ctx_->slot_transactions;
  if (!slot_tx && multi.at != SIZE_MAX && !multi.mixed && multi.slot >= 0) {
    c.node = cmds.cmd(multi.at).node = ctx_->target->node_of_slot(multi.slot);
    return;
  }
  // No one slot holds them all: a cluster cannot run them as one transaction. The EXEC
  // keeps the unit's end; the commands go to their own masters.
  if (multi.at != SIZE_MAX) cmds.cmd(multi.at).flags |= CommandList::kDropped;
  c.flags |= CommandList::kDropped;
  if (!(slot_tx ? multi.nodes : multi.mixed)) return;
  uint64_t n = ++ctx_->counters->transactions_split;
  if (logged(++splits_logged_)) {
    LOG_WARN(
        "input %s: a source MULTI/EXEC whose keys span slots of the target cluster is written "
        "without its framing (%llu so far)",
        ctx_->input.c_str(), static_cast<unsigned long long>(n));
  }
}

// Where command i goes (its node and slot, or skipped); true when it is to be split.
bool RouteStage::route_command(Packet& packet, size_t i, Multi* multi,
                               std::vector<SkipRecord>* records) {
  CommandList::Cmd& c = packet.cmds.cmd(i);
  int slot = -1;
  std::string why;
  SkipReason reason = SkipReason::kOther;
  switch (destination(packet.cmds, c, &slot, &why, &reason)) {
    case Dest::kSlot:
      c.node = ctx_->target->node_of_slot(slot);
      c.slot = static_cast<int16_t>(slot);
      multi->add(slot, c.node);
      return false;
    case Dest::kAny:
      multi->mixed = true;
      multi->add_node(0);
      return false;
    case Dest::kAll:
      c.node = CommandList::kAllNodes;
      multi->everywhere();
      return false;
    case Dest::kSplit:
      multi->everywhere();
      return true;
    case Dest::kSkip:
      skip(packet, i, why, reason, records);
      return false;
  }
  return false;
}

void RouteStage::drop_applied(Packet& packet) {
  CommandList& cmds = packet.cmds;
  ckpt::SlotPosition at = slot_position(packet.end);
  uint64_t dropped = 0;
  for (size_t i = cmds.size(); i-- > 0;) {  // backwards: each command's unit end
    CommandList::Cmd& c = cmds.cmd(i);
    if (c.flags & CommandList::kUnitEnd) at.offset = c.src_end;
    if (c.slot < 0 || (c.flags & CommandList::kDropped)) continue;
    const std::optional<ckpt::SlotPosition>& applied = applied_[static_cast<size_t>(c.slot)];
    // A slot checkpoint is a unit's end, or the position of a command that went alone inside
    // a unit (nodes/batch_stage.h): what ends at or before it is applied.
    if (applied && applied->at_or_after(own_position(c, at))) {
      c.flags |= CommandList::kDropped;
      dropped++;
    }
  }
  if (dropped) ctx_->counters->commands_already_applied += dropped;
}

void RouteStage::split(Packet& packet, const std::vector<bool>& marked) {
  const CommandList& in = packet.cmds;
  CommandList out;
  out.reserve(in.bytes() + in.bytes() / 4, in.size() + 16, in.size() * 4);
  for (size_t i = 0; i < in.size(); i++) {
    const CommandList::Cmd& c = in.cmd(i);
    if (!marked[i]) {
      copy_command(in, c, &out);
    } else if (c.flags & CommandList::kSlotFlush) {
      split_slot_flush(in, c, &out);
    } else {
      split_keys(in, c, &out);
    }
  }
  packet.cmds = std::move(out);
  const uint64_t size = memory_of(packet);
  ctx_->budget->adjust(packet.charged, size);
  packet.charged = size;
}

// Per-key commands: one part for each slot, slots in the order their first key came.
void RouteStage::split_keys(const CommandList& in, const CommandList::Cmd& c, CommandList* out) {
  if (effect_split(in.arg(c, 0), c.argc)) {  // SMOVE src dst member
    const std::string_view src = in.arg(c, 1), dst = in.arg(c, 2), member = in.arg(c, 3);
    out->add({"SREM", src, member}, c.db, 0);
    end_part(c, 0, 2, key_slot(src), out);
    out->add({"SADD", dst, member}, c.db, 0);
    end_part(c, 1, 2, key_slot(dst), out);
    return;
  }
  bool pairs = false;
  splittable(in.arg(c, 0), &pairs);
  const uint32_t step = pairs ? 2 : 1;
  std::vector<std::pair<int, std::vector<uint32_t>>> groups;
  std::unordered_map<int, size_t> group_of;
  for (uint32_t a = 1; a + step - 1 < c.argc; a += step) {
    int s = key_slot(in.arg(c, a));
    auto [it, added] = group_of.emplace(s, groups.size());
    if (added) groups.push_back({s, {}});
    groups[it->second].second.push_back(a);
  }
  for (size_t g = 0; g < groups.size(); g++) {
    out->begin(1 + static_cast<uint32_t>(groups[g].second.size()) * step);
    out->arg(pairs ? std::string_view("MSET") : in.arg(c, 0));  // MSETNX ran: it set them all
    for (uint32_t a : groups[g].second) {
      out->arg(in.arg(c, a));
      if (pairs) out->arg(in.arg(c, a + 1));
    }
    out->end(c.db, 0, c.check);
    end_part(c, g, groups.size(), groups[g].first, out);
  }
}

// A shard's flush (proto/slot_flush.h): one part for each master serving some of its slots,
// with those slots and a key of each. None: the unit's end stays, sent nowhere.
void RouteStage::split_slot_flush(const CommandList& in, const CommandList::Cmd& c,
                                  CommandList* out) {
  std::vector<SlotRange> ranges;
  parse_slots_text(in.arg(c, 4), &ranges);  // the parse stage wrote it with slots_text
  const std::vector<std::vector<int>> of_node = ctx_->target->slots_by_node(ranges);
  std::vector<uint16_t> parts;
  for (size_t n = 0; n < of_node.size(); n++) {
    if (!of_node[n].empty()) parts.push_back(static_cast<uint16_t>(n));
  }
  if (parts.empty()) {
    copy_command(in, c, out);
    out->cmd(out->size() - 1).flags |= CommandList::kDropped;
    return;
  }
  for (size_t p = 0; p < parts.size(); p++) {
    const std::vector<std::string> argv =
        slot_flush::cluster_command(in.arg(c, 3), of_node[parts[p]]);
    out->begin(static_cast<uint32_t>(argv.size()));
    for (const std::string& a : argv)
      out->arg(a);
    // Each part ends the unit where the flush did, as a copy of a command for every master
    // does (inside a source MULTI none does): its master's slot checkpoints move to the
    // flush's own position, so a replay never runs it there again over what came after it.
    out->end(c.db, p > 0 ? c.flags | CommandList::kExtraPart : c.flags, c.check);
    CommandList::Cmd& n = out->cmd(out->size() - 1);
    n.node = parts[p];
    n.stat = c.stat;
    n.src_end = c.src_end;
  }
}

// The last command of `out` as part `index` of `count` of command c, in `slot`: the last
// part keeps the unit's end, later ones are not counted again.
void RouteStage::end_part(const CommandList::Cmd& c, size_t index, size_t count, int slot,
                          CommandList* out) {
  CommandList::Cmd& n = out->cmd(out->size() - 1);
  const bool last = index + 1 == count;
  n.flags = last ? c.flags : (c.flags & ~CommandList::kUnitEnd);
  if (index > 0) n.flags |= CommandList::kExtraPart;
  n.check = c.check;
  n.node = ctx_->target->node_of_slot(slot);
  n.slot = static_cast<int16_t>(slot);
  n.stat = c.stat;
  n.src_end = c.src_end;  // the source command's own end; the last part ends its unit
}

}  // namespace ferry
