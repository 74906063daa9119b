// CommandList: commands in RESP form, back to back in one buffer, with where each command
// and each argument lies and the metadata the pipeline stages need: the DB a command runs in,
// atomic-unit boundaries (a source MULTI/EXEC, or the commands that rebuild one key), how to
// judge its reply, and the target node it is routed to. Stages mark commands (dropped,
// routed) in place; the bytes are copied once more only when a batch is assembled.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "proto/reply_check.h"
#include "proto/resp.h"

namespace ferry {

class CommandList {
 public:
  enum Flag : uint16_t {
    kUnitEnd = 1 << 0,   // last command of an atomic unit: a batch may end after it
    kMulti = 1 << 1,     // a source MULTI
    kExec = 1 << 2,      // a source EXEC
    kDropped = 1 << 3,   // filtered out: not sent
    kLogKey = 1 << 4,    // keyExistsLog: log when the key was kept or replaced
    kImported = 1 << 5,  // a key a source slot migration brought in (RESTORE-ASKING)
    // A second or later part of one source command (split per cluster slot, or a copy for
    // each master): sent, but not counted as a command again.
    kExtraPart = 1 << 6,
    // Empties one source shard's slots (proto/slot_flush.h): the route stage gives each
    // master of a cluster target its own part.
    kSlotFlush = 1 << 7,
  };

  static constexpr uint16_t kAllNodes = UINT16_MAX;

  struct Cmd {
    uint64_t off = 0;  // in wire()
    uint64_t len = 0;
    uint32_t arg0 = 0;  // index of its first argument in the argument table
    uint32_t argc = 0;
    int32_t db = -1;  // target DB it runs in; -1: any DB
    uint16_t flags = 0;
    ReplyCheck check = ReplyCheck::kAny;
    uint16_t node = 0;  // target node, set by the route stage (kAllNodes: each of them)
    uint16_t stat = 0;  // stream commands: the name's statistics id, set by the filter
    int16_t slot = -1;  // a cluster target: the slot of its keys (-1: none), set by route
    // Source position just after the command: with kUnitEnd, just after its unit; inside a
    // source MULTI, its own end; 0 where there is none of its own (an RDB key's earlier
    // commands, which its unit's end stands for).
    uint64_t src_end = 0;
    // keyExists: error: the argument naming a key that must not exist yet (0: none).
    uint8_t probe_arg = 0;
  };

  // Appends a command built from arguments.
  void add(std::initializer_list<std::string_view> argv, int db, uint16_t flags = kUnitEnd,
           ReplyCheck check = ReplyCheck::kAny);
  // Appends a command given as its exact RESP bytes and argument spans (relative to bytes).
  void add_raw(std::string_view bytes, const std::vector<resp::ArgSpan>& rel_args, int db,
               uint16_t flags = kUnitEnd);

  // Builds a command argument by argument: begin(), arg()..., end(). With the count given
  // up front the bytes go straight into place; without it (variadic chunks whose size is
  // known only at the end) they are staged and copied once at end().
  static constexpr uint32_t kUnknownArgc = UINT32_MAX;
  void begin(uint32_t argc = kUnknownArgc);
  void arg(std::string_view a);
  // One argument made of several parts (e.g. a DUMP payload's type, value and footer).
  void arg_parts(std::initializer_list<std::string_view> parts);
  void arg_int(int64_t v);
  uint32_t pending_args() const { return pending_argc_; }
  size_t pending_bytes() const { return scratch_.size(); }
  void end(int db, uint16_t flags = kUnitEnd, ReplyCheck check = ReplyCheck::kAny);

  size_t size() const { return cmds_.size(); }
  bool empty() const { return cmds_.empty(); }
  size_t bytes() const { return wire_.size(); }
  // Heap bytes held (capacities, not sizes): what the memory budget is charged.
  size_t memory() const {
    return wire_.capacity() + cmds_.capacity() * sizeof(Cmd) +
           args_.capacity() * sizeof(resp::ArgSpan) + scratch_.capacity() +
           scratch_args_.capacity() * sizeof(resp::ArgSpan);
  }
  void reserve(size_t bytes, size_t cmds, size_t args) {
    wire_.reserve(bytes);
    cmds_.reserve(cmds);
    args_.reserve(args);
  }
  // Gives back what growth over-allocated, and the staging buffers.
  void shrink_to_fit();
  const std::string& wire() const { return wire_; }
  Cmd& cmd(size_t i) { return cmds_[i]; }
  const Cmd& cmd(size_t i) const { return cmds_[i]; }
  std::string_view bytes_of(const Cmd& c) const {
    return std::string_view(wire_).substr(c.off, c.len);
  }
  std::string_view arg(const Cmd& c, size_t i) const {
    const resp::ArgSpan& a = args_[c.arg0 + i];
    return std::string_view(wire_).substr(a.off, a.len);
  }
  // Marks argument `arg` of the last command added as a key to probe (keyExists: error).
  void probe_last(uint8_t arg) {
    if (!cmds_.empty()) cmds_.back().probe_arg = arg;
  }
  // Marks the last command added as the end of a unit ending at source position src_end.
  void end_unit(uint64_t src_end);
  // The source position at the end of the unit command i belongs to (`fallback` when the
  // unit does not end in this list).
  uint64_t unit_end_of(size_t i, uint64_t fallback) const {
    for (; i < cmds_.size(); i++) {
      if (cmds_[i].flags & kUnitEnd) return cmds_[i].src_end;
    }
    return fallback;
  }
  // Removes the commands from index n on.
  void truncate(size_t n);
  void clear();

 private:
  std::string wire_;
  std::vector<Cmd> cmds_;
  std::vector<resp::ArgSpan> args_;  // offsets into wire_
  std::string scratch_;              // staged arguments, RESP-encoded
  std::vector<resp::ArgSpan> scratch_args_;
  uint32_t pending_argc_ = 0;
  uint32_t declared_argc_ = kUnknownArgc;  // != kUnknownArgc: writing directly into wire_
  uint64_t direct_off_ = 0;                // where the direct command starts
  uint32_t direct_arg0_ = 0;
};

}  // namespace ferry
