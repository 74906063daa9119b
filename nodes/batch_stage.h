// BatchStage (serial): packs routed commands into one batch per target node. A batch grows
// until batchCmdCount commands or batchBufferSize bytes, but goes out at once when its
// writer has fewer than kEagerInFlight in flight — big batches under load, low latency when
// idle; a tick (when a node's batch in flight is acknowledged while another waits, and every
// batchTicker) sends what is waiting. It inserts SELECT where the DB changes, keeps a source
// MULTI ... EXEC in one batch, and records for each command how its reply is to be judged.
//
// How a batch commits (docs/architecture.md, "How a batch ends"):
//  - transaction mode with the checkpoint in the target (the default): the batch is
//    SELECT 0, WATCH ckpt, EVAL fence (its seq - 1), MULTI, data, SELECT 0, HSET ckpt, EXEC.
//    Data and checkpoint commit together; the fence (proto/checkpoint_format.h) makes a
//    batch that follows one that did not commit fail whole, so many can be in flight.
//    The source's own MULTI/EXEC are left out, as transactions cannot nest;
//  - transaction mode without a checkpoint in the target: MULTI, data, EXEC, with EXEC held
//    (a send gate) until everything before it was answered;
//  - otherwise: data, then — once the data was answered — SELECT 0, HSET ckpt (on a
//    standalone target; a cluster target's checkpoint is the input's to write).
// On a cluster target a command the route stage sent to every master joins each node's batch.
// In transaction mode there (slot transactions) each node's batch is one apply script that
// writes the checkpoints of the slots it touches with its data (nodes/slot_batch.h); a
// command for every master goes alone, and moves the checkpoints of every slot of its node
// to its position (ckpt::kMarkSlotsScript), so that a replay leaves it out there.
// keyExists: error adds a key probe before the data (WATCHed in transaction mode) and a gate
// after it: a key that exists stops the input before anything of the batch is applied.
//
// A packet that failed (a value that cannot be decoded) stops the stage: what came before it
// is sent, it and everything after are dropped, and the input is failed with its error.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nodes/messages.h"
#include "nodes/stage_context.h"
#include "proto/checkpoint_format.h"

namespace ferry {

class BatchStage {
 public:
  BatchStage(StageContext* ctx, size_t nodes);

  // Adds a packet's commands (or handles a tick); appends finished batches to *out.
  void process(const PacketPtr& packet, std::vector<BatchPtr>* out);
  // A batch goes out at once while fewer than this many of its node are in flight (ticks
  // flush regardless): with fenced transactions the second's data overlaps the first's
  // round trips (its fence, its EXEC); in the other modes it waits at its gate anyway.
  static constexpr size_t kEagerInFlight = 2;
  // A batch of this node was acknowledged (called from the writer's thread). True when a
  // tick should follow: fewer than kEagerInFlight of the node are in flight now, and a batch
  // waits.
  bool on_batch_done(uint16_t node) {
    return --outstanding_[node] < kEagerInFlight && has_open_[node];
  }
  // Whether any node has a batch waiting (from any thread; a hint for ticking).
  bool any_open() const;

 private:
  struct Probe {
    int db;
    std::string key;
  };
  struct Open {
    BatchPtr batch;
    int db = -1;               // DB the connection is in at the end of the batch; -1: unknown
    bool in_multi = false;     // commands now are queued (the batch's or a source's MULTI)
    uint32_t multi_first = 0;  // index of the first expectation after that MULTI
    uint64_t last_seq = UINT64_MAX;
    uint64_t probe_at = 0;      // where key probes go (before the batch's MULTI / its data)
    uint32_t probe_index = 0;   // ... as an index in expects
    std::vector<Probe> probes;  // keyExists: error
    // Slot transactions: the keys written, with their slots; and whether the batch goes as
    // it is rather than as the apply script (a command for every master, or one with more
    // arguments than the script can pass on).
    std::vector<std::pair<int16_t, std::string>> slot_keys;
    bool plain = false;
    // Keys of a full sync's RDB, in slot transaction mode: plain commands (see rdb_plain_).
    bool rdb_plain = false;
    // ... and the end of the last unit it holds whole: what its slot checkpoints claim (a
    // unit a command that goes alone cut in two is not applied until its last part is).
    std::optional<ckpt::SlotPosition> done;
    // ... and the own position of its last command that has one (one inside a source MULTI,
    // or a unit's last): a batch cut inside a unit (by a command that goes alone) holds every
    // command of its node up to there.
    std::optional<ckpt::SlotPosition> last_own;
  };

  void add(Open& open, const Packet& packet, const CommandList::Cmd& c, uint64_t src_offset);
  // Command i of the packet into the batch(es) it goes to.
  void add_command(const PacketPtr& packet, const CommandList::Cmd& c, size_t i,
                   std::vector<BatchPtr>* out);
  void open_batch(Open& open);
  void flush(uint16_t node, std::vector<BatchPtr>* out);
  void insert_probes(Open& open);
  void append_checkpoint(Batch& b, bool queued);
  // Slot transactions: the batch as the apply script (or, plain, with its slot's checkpoint
  // after its data).
  void finish_slot_batch(Open& open);
  void add_keys(Open& open, const Packet& packet, const CommandList::Cmd& c);
  // Slot transactions: marks the first batch of a full sync's RDB on its node
  // (WriteBatch::starts_generation).
  void note_generation(Open& open);
  // Slot transactions: command c in a plain batch of its own on `node` (what came before
  // on that node goes first); `everywhere`: sent to every master, after it every slot
  // checkpoint of the node moves to its position — unless they are there already (a
  // replay), and then it is left out.
  void add_alone(uint16_t node, const Packet& packet, const CommandList::Cmd& c,
                 uint64_t src_offset, bool everywhere, std::vector<BatchPtr>* out);
  void halt(const Packet& packet, std::vector<BatchPtr>* out);

  StageContext* ctx_;
  const bool fenced_;  // transaction mode with the checkpoint in the target
  // Outside transaction mode: each batch ends with the checkpoint. Not on a cluster target,
  // where one node's batch does not say what the others applied: the input writes its
  // applied position there itself (InputPipeline).
  const bool per_batch_checkpoint_;
  // A cluster target in transaction mode (StageContext::slot_transactions): each slot
  // checkpoint's value once the batches so far are applied.
  const bool slot_tx_;
  std::vector<std::string> slot_value_;
  // Slot transactions, while the packet being added is of a full sync's RDB: its keys go as
  // plain commands, without the apply script. Writing a snapshot's key again is harmless —
  // RESTORE REPLACE, SET, a rebuild through a temporary key are idempotent — so the input's
  // low watermark is all a resume needs there; a slot's stream commands still commit with its
  // checkpoint, and after a restart the RDB keys of a slot whose checkpoint is in the stream
  // are left out (the route stage). Not with keyExists: error, whose probes would meet
  // ferry's own keys of the first try.
  bool rdb_plain_ = false;
  std::vector<uint32_t> gen_seen_;        // by node: the cache generation of its last batch
  std::vector<ckpt::SlotPosition> done_;  // by node: what its last batch claimed
  uint64_t slot_batch_ = 0;               // the last batch id (ckpt::SlotPosition::batch)
  std::vector<uint16_t> unit_nodes_;      // nodes the current unit's commands went to
  std::vector<int> section_of_slot_;      // scratch of finish_slot_batch
  uint64_t next_seq_;
  bool halted_ = false;
  std::vector<Open> open_;
  std::vector<uint64_t> unit_offsets_;  // scratch: each command's unit end offset
  uint32_t batches_of_packet_ = 0;      // batches the packet being added went into so far
  std::unique_ptr<std::atomic<size_t>[]> outstanding_;
  // open_[n].batch != nullptr, readable from the writer's thread. Set before the stage looks
  // at outstanding_, which the writer decrements before reading this: a batch left waiting
  // is always seen by one side.
  std::unique_ptr<std::atomic<bool>[]> has_open_;
};

}  // namespace ferry
