// A batch for one master of a cluster target in transaction mode, as one call of the apply
// script (proto/checkpoint_format.h, kApplyScript): the batch's commands, the keys of each
// slot they write with that slot's checkpoint (the value it must have, the value it gets),
// and the keys of keyExists: error — applied atomically on that master.
#pragma once

#include <string>
#include <vector>

#include "nodes/messages.h"
#include "proto/checkpoint_format.h"

namespace ferry {

struct SlotSection {
  int slot = 0;
  std::string expected;           // the slot checkpoint's value before the batch ("" : none)
  std::vector<std::string> keys;  // the batch's keys in the slot
};

// b->wire holds the batch's commands (RESP arrays) and b->expects their expectations.
// Afterwards b->wire is the script call, b->inner the commands' expectations (cmd_offset at
// each command's argument count) and b->expects the call's own.
void make_apply_script(const std::string& input, const std::vector<SlotSection>& slots,
                       const std::string& end, Batch* b);

// The slot checkpoint value of a source position.
inline ckpt::SlotPosition slot_position(const SourcePosition& p) {
  ckpt::SlotPosition s;
  s.gen = p.gen;
  s.rdb = p.phase == SourcePosition::Phase::kRdb;
  s.offset = p.offset;
  return s;
}

// Command c's own position, where its unit ends at `unit_end`: its own end when it has one
// before the unit's (a command inside a source MULTI).
inline ckpt::SlotPosition own_position(const CommandList::Cmd& c, ckpt::SlotPosition unit_end) {
  if (c.src_end > 0 && c.src_end < unit_end.offset) unit_end.offset = c.src_end;
  return unit_end;
}

}  // namespace ferry
