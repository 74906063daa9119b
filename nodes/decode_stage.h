// DecodeStage (parallel, replayRdbParallel workers): turns a packet's RDB records into the
// commands that write them (RdbApplier). Stream packets pass through untouched. Output
// order is restored by a sequencer after this stage.
#pragma once

#include "nodes/messages.h"
#include "nodes/rdb_apply.h"
#include "nodes/stage_context.h"

namespace ferry {

class DecodeStage {
 public:
  explicit DecodeStage(StageContext* ctx);
  void process(Packet& packet) const;

 private:
  StageContext* ctx_;
  RdbApplier applier_;
};

}  // namespace ferry
