// BatchStage (serial): packs routed commands into one batch per target node. A batch grows
// until batchCmdCount commands or batchBufferSize bytes, but goes out at once when its
// writer has nothing in flight — big batches under load, low latency when idle; a tick
// (when a node's last batch in flight is acknowledged while another waits, and every
// batchTicker) sends what is waiting. It inserts
// SELECT where the DB changes, keeps a source MULTI ... EXEC in one batch, and records for
// each command how its reply is to be judged.
//
// With a checkpoint in the target, each batch ends by writing it (SELECT 0, HSET
// ferry-checkpoint:<input>). In transaction mode the whole batch is one MULTI ... EXEC —
// the source's own MULTI/EXEC are left out, as transactions cannot nest — so its data and
// its checkpoint commit together, under a sequence number the writer checks after a
// reconnect.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "nodes/messages.h"
#include "nodes/stage_context.h"

namespace ferry {

class BatchStage {
 public:
  BatchStage(StageContext* ctx, size_t nodes);

  // Adds a packet's commands (or handles a tick); appends finished batches to *out.
  void process(const PacketPtr& packet, std::vector<BatchPtr>* out);
  // A batch of this node was acknowledged (called from the writer's thread). True when a
  // tick should follow: nothing of the node is in flight now, and a batch waits.
  bool on_batch_done(uint16_t node) { return --outstanding_[node] == 0 && has_open_[node]; }
  // Whether any node has a batch waiting (from any thread; a hint for ticking).
  bool any_open() const;

 private:
  struct Open {
    BatchPtr batch;
    int db = -1;  // DB the connection is in at the end of the batch; -1: unknown
    bool in_multi = false;
    uint32_t multi_first = 0;  // index of the first expectation after MULTI
    uint64_t last_seq = UINT64_MAX;
  };

  void add(Open& open, const Packet& packet, const CommandList::Cmd& c);
  void open_batch(Open& open);
  void flush(uint16_t node, std::vector<BatchPtr>* out);

  StageContext* ctx_;
  uint64_t next_seq_;
  std::vector<Open> open_;
  std::unique_ptr<std::atomic<size_t>[]> outstanding_;
  // open_[n].batch != nullptr, readable from the writer's thread. Set before the stage looks
  // at outstanding_, which the writer decrements before reading this: a batch left waiting
  // is always seen by one side.
  std::unique_ptr<std::atomic<bool>[]> has_open_;
};

}  // namespace ferry
