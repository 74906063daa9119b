// RouteStage: decides which target node each command goes to and registers the packet with
// the offset tracker (how many target nodes must acknowledge it). A standalone target has
// one node. On a cluster target (docs/cluster.md, "Target cluster") a command goes to the
// master of its keys' slot; a command without keys (FLUSHALL, FUNCTION LOAD) to every master;
// DEL, UNLINK, MSET and MSETNX whose keys span slots are split into one command per slot (a
// propagated MSETNX succeeded, so its parts are MSETs); other commands whose keys span slots,
// and commands of a DB other than 0, SWAPDB and MOVE, are skipped and recorded. A source
// MULTI/EXEC keeps its framing when all its keys are in one slot, else its commands go
// without it (counted: InputCounters::transactions_split). In transaction mode (slot
// transactions) a source MULTI/EXEC never keeps its framing — each master's batch is atomic
// as a whole — and only one that spans masters counts as split; after a restart, commands
// their slot's checkpoint covers are left out.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nodes/messages.h"
#include "nodes/stage_context.h"
#include "proto/checkpoint_format.h"

namespace ferry {

class RouteStage {
 public:
  RouteStage(StageContext* ctx, size_t nodes);
  void process(Packet& packet);

 private:
  // Where a command goes on a cluster target (kSkip: it cannot; *why and *reason say why).
  enum class Dest { kSlot, kAny, kAll, kSplit, kSkip };  // kAny: one master, whichever
  Dest destination(const CommandList& cmds, const CommandList::Cmd& c, int* slot, std::string* why,
                   SkipReason* reason) const;
  // The source MULTI being routed: whether its commands stay in one slot, on one master.
  struct Multi {
    size_t at = SIZE_MAX;  // the MULTI's index (SIZE_MAX: none open)
    int slot = -1;         // the one slot of its keys so far
    int node = -1;         // ... and their one master
    bool mixed = false;    // more than one slot, or a command of no one slot
    bool nodes = false;    // more than one master
    void add_node(int n) {
      if (node < 0) node = n;
      nodes |= n != node;
    }
    void add(int s, int n) {
      if (slot < 0) slot = s;
      mixed |= s != slot;
      add_node(n);
    }
    void everywhere() { mixed = nodes = true; }
  };

  void route_cluster(Packet& packet);
  void end_multi(CommandList& cmds, size_t exec, const Multi& multi);
  bool route_command(Packet& packet, size_t i, Multi* multi, std::vector<SkipRecord>* records);
  // Rebuilds the packet's commands with those marked (kSplit, a shard's flush) replaced by
  // their parts: one per slot, or one per master.
  void split(Packet& packet, const std::vector<bool>& marked);
  void split_keys(const CommandList& in, const CommandList::Cmd& c, CommandList* out);
  void split_slot_flush(const CommandList& in, const CommandList::Cmd& c, CommandList* out);
  void end_part(const CommandList::Cmd& c, size_t index, size_t count, int slot, CommandList* out);
  void skip(Packet& packet, size_t i, const std::string& why, SkipReason reason,
            std::vector<SkipRecord>* records);
  // Leaves out the commands whose slot's checkpoint (StageContext::slot_checkpoints) is at
  // or past their unit's end.
  void drop_applied(Packet& packet);

  StageContext* ctx_;
  size_t nodes_;
  std::vector<std::optional<ckpt::SlotPosition>> applied_;  // by slot; empty: none
  std::atomic<uint64_t> skipped_{0};                        // for rate-limited logging
  std::atomic<uint64_t> splits_logged_{0};
};

}  // namespace ferry
