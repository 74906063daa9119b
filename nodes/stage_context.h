// What the stages of one input's graph share: the input's name and settings, what the
// target can do, counters, the memory budget and the offset tracker, and the way to stop
// the input on an error that retrying cannot fix.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/histogram.h"
#include "common/status.h"
#include "config/config.h"
#include "net/error_policy.h"
#include "net/target_map.h"
#include "nodes/command_stats.h"
#include "nodes/memory_budget.h"
#include "nodes/offset_tracker.h"
#include "nodes/rdb_apply.h"
#include "proto/command_table.h"
#include "storage/skip_log.h"

namespace ferry {

// Counters of one input (read by progress reports, status and metrics).
struct InputCounters {
  // RDB phase
  std::atomic<uint64_t> rdb_bytes_parsed{0};
  std::atomic<uint64_t> rdb_keys_parsed{0};
  std::atomic<uint64_t> rdb_keys_applied{0};
  std::atomic<int64_t> rdb_started_ms{0};
  std::atomic<bool> in_full_sync{false};
  // Command stream
  std::atomic<uint64_t> commands_received{0};
  std::atomic<uint64_t> commands_filtered{0};
  std::atomic<uint64_t> commands_applied{0};
  std::atomic<uint64_t> commands_failed{0};
  std::atomic<uint64_t> commands_ignored{0};
  // Source MULTI/EXECs written without their framing: their keys span cluster slots (in
  // transaction mode: masters).
  std::atomic<uint64_t> transactions_split{0};
  // Commands left out after a restart: their slot's checkpoint says they are applied.
  std::atomic<uint64_t> commands_already_applied{0};
  // Commands left out for good, by reason (net/error_policy.h).
  std::atomic<uint64_t> skipped_by_reason[static_cast<int>(SkipReason::kCount)] = {};
  // Writes
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<int64_t> last_batch_latency_us{0};
  LatencyHistogram batch_latency;
  CommandStats by_command;
};

struct StageContext {
  std::string input;           // the source node, "host:port"
  std::string checkpoint_key;  // the input's checkpoint in the target (ckpt::key)
  const ReplayConfig* replay = nullptr;
  // Batches are MULTI ... EXEC with the checkpoint inside (output.replay.replayTransaction,
  // where the topology allows it).
  bool transaction = false;
  // The checkpoint is written into the target (output.replay.resumeFromBreakPoint).
  bool checkpoint_in_target = false;
  uint64_t first_batch_seq = 1;  // sequence number of the first batch (after the target's)
  // A cluster target in transaction mode: each master's batch is one apply script that
  // writes the checkpoints of the slots it touches with its data (nodes/slot_batch.h).
  bool slot_transactions = false;
  // ... and the slot checkpoints found at start, by slot (ckpt::encode'd, "" for none): the
  // values the first batches expect, and the positions at or before which a slot's commands
  // are applied already (the route stage leaves them out).
  std::shared_ptr<const std::vector<std::string>> slot_checkpoints;
  // The input resumes (from the cache or the source's backlog): slot_checkpoints say what is
  // applied. Not after a full sync starts over (its cache generations may count again).
  bool resume_slots = false;
  // The input is one shard of a source cluster: its FLUSHALL is that shard's alone, and so
  // are the keys of a full sync that starts over: both empty the shard's slots on the
  // target (proto/slot_flush.h) ...
  bool source_cluster = false;
  // ... the slots the shard serves now ("0-5460,10923" style; thread-safe) ...
  std::function<std::string()> shard_slots;
  // ... once the target may hold keys of the input's earlier history: it had a checkpoint
  // at start.
  bool had_checkpoint = false;
  // Where keys go: the target's nodes and, on a cluster, the master of each slot (nullptr:
  // one standalone node).
  std::shared_ptr<const TargetMap> target;
  // What the target accepts (empty: everything is sent as is).
  std::shared_ptr<const CommandTable> target_commands;
  TargetCaps caps;
  InputCounters* counters = nullptr;
  RdbApplyStats* rdb_stats = nullptr;
  MemoryBudget* budget = nullptr;
  OffsetTracker* tracker = nullptr;
  // Stops the input with this error (called at most once matters; later calls are ignored).
  std::function<void(const Status&)> fail;
  // Records commands left out for good (storage/skip_log.h) — before the applied position
  // may pass them — and counts them. The stage has dropped them already.
  std::function<void(std::vector<SkipRecord>)> report_skipped;
};

}  // namespace ferry
