// InputGraph: one input's dataflow on a oneTBB flow graph —
//
//   source -> parse -> decode (xN) -> sequence -> filter -> route -> batch -> queue
//          -> limiter -> write ~~> target writer threads ~~> (ack) limiter, tracker
//
// Node bodies are the stages in nodes/; this class only wires them. No body blocks on a
// socket: the write node hands batches to the writers' threads, which report back. The TBB
// headers stay inside input_graph.cc.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "net/target_writer.h"
#include "nodes/messages.h"
#include "nodes/source_stage.h"
#include "nodes/stage_context.h"

namespace ferry {

class InputGraph {
 public:
  // Called on a writer thread for every batch the target acknowledged (or cancelled).
  using BatchDone = std::function<void(const Batch&, const WriteResult&)>;

  InputGraph(StageContext* ctx, SourceStage* source, std::vector<TargetWriter*> writers,
             BatchDone on_done);
  ~InputGraph();
  InputGraph(const InputGraph&) = delete;
  InputGraph& operator=(const InputGraph&) = delete;

  // Wakes the source node: new data, budget room, or a resume.
  void activate();
  // Sends whatever batches are waiting for more commands.
  void tick();
  // The writers' done callback must be routed here.
  void batch_done(const WriteBatchPtr& batch, const WriteResult& result);
  // Batches handed to the graph's writers and not yet acknowledged, plus open ones.
  size_t batches_in_flight() const;
  // Waits until every task of the graph has finished (call after the writers stopped).
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry
