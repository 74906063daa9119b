// InputPipeline: everything that syncs one source node into the target — the replica
// client (its own thread), the input's log in the local cache between it and the graph, the
// graph, the target writers (their own threads), the counters and the input's State. On
// start it decides from the target's checkpoint and the cache where to resume. The
// supervisor owns one per input and drives it through this interface only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/offset_clock.h"
#include "config/config.h"
#include "net/endpoint.h"
#include "net/redis_client.h"
#include "net/replica_client.h"
#include "net/target_map.h"
#include "nodes/checkpoint.h"
#include "nodes/rdb_apply.h"
#include "nodes/stage_context.h"
#include "pipeline/input_status.h"

namespace ferry {

class Cache;
class ClusterCheckpoint;
class CacheLog;
class InputGraph;
class MigrationBarrier;
class SourceStage;
class TargetWriter;

class InputPipeline {
 public:
  struct Options {
    TargetCaps caps;
    std::shared_ptr<const CommandTable> target_commands;
    bool force_full_sync = false;                // drop what is cached and checkpointed, start over
    std::vector<std::string> configured_inputs;  // every input of this process
    bool start_paused = false;                   // State pause from the start
    // A source cluster's shard moved to this node: the input it moved from, whose checkpoint
    // this one takes over (whatever is left of this node's own from an earlier turn is stale).
    std::string follows;
    // A source cluster's: batches with keys a slot migration brought in wait for it.
    MigrationBarrier* barrier = nullptr;
    // Where the target's keys go (one writer per node).
    std::shared_ptr<const TargetMap> target;
    // A source cluster's: the slots this input's shard serves now (StageContext::shard_slots).
    std::function<std::string(const std::string& input)> shard_slots;
  };

  InputPipeline(const Config& config, Cache* cache, Endpoint source, Options options);
  ~InputPipeline();
  InputPipeline(const InputPipeline&) = delete;
  InputPipeline& operator=(const InputPipeline&) = delete;

  Status start();
  // Stops reading the source and waits (until the deadline) for what was read to be
  // applied. True when everything was applied in time.
  bool stop(std::chrono::steady_clock::time_point deadline);

  void pause();
  void resume();

  const std::string& name() const { return name_; }
  InputStatus status() const;
  // Non-empty once the input stopped on an error retrying cannot fix.
  std::string fatal_error() const;
  // The source link is down with an error (and the input has not stopped for good).
  bool link_broken() const;
  // A writer waits because the target redirects it (MOVED, ASK: its slots moved).
  bool target_redirects() const;
  // One progress line for the log (full-sync progress or stream lag and rates).
  std::string progress_line();
  // Frees cached data the applied position has passed (and, forced, below the budget too).
  uint64_t gc(bool force);

 private:
  Status plan_start();
  // No checkpoint of our own: take over one left by an input that is no longer configured
  // whose source this one's replication history continues (a failover to a promoted
  // replica, which keeps the old replication id as its replid2).
  Status adopt_checkpoint(std::optional<Checkpoint>* checkpoint);
  // Options::follows: the predecessor's checkpoint becomes this input's, its own cache goes.
  Status take_over(const std::string& predecessor);
  void on_batch_done(const Batch& batch, const WriteResult& result);
  void on_applied(const OffsetTracker::Applied& a);
  void count_applied(const Batch& batch, const WriteResult& result);
  // Writes commands left out for good to the skip record, counts and logs them. Fails the
  // input when they cannot be recorded.
  Status report_skipped(std::vector<SkipRecord> records);
  Status report_skipped(const WriteBatch& batch, const std::vector<SkippedCommand>& skipped);
  void start_writers();
  void start_replica();
  // WriterOptions::hold: the first batch of a full sync puts the checkpoint at its start;
  // one with keys a source slot migration brought in waits for the barrier.
  SendVerdict hold(const WriteBatch& batch, std::string* why);
  void fail(const Status& st);
  void tick_loop();
  // The local copy of the applied position (what bounds the cache's GC).
  void save_applied(const SourcePosition& p);
  // Readiness and what the input waits for, into `s`.
  void judge_readiness(InputStatus* s) const;

  const Config& config_;
  Cache* cache_;
  const Endpoint source_;
  const std::string name_;
  const Options options_;
  const std::vector<Endpoint>& target_nodes_;  // options_.target->nodes
  const std::string checkpoint_key_;
  const Endpoint checkpoint_node_;  // the target node that holds it

  InputCounters counters_;
  OffsetClock clock_;  // when stream bytes arrived, for the lag in seconds
  RdbApplyStats rdb_stats_;
  std::unique_ptr<MemoryBudget> budget_;
  std::unique_ptr<OffsetTracker> tracker_;
  StageContext ctx_;
  std::unique_ptr<CacheLog> log_;
  std::unique_ptr<SkipLog> skip_log_;
  std::unique_ptr<SourceStage> source_stage_;
  std::vector<std::unique_ptr<TargetWriter>> writers_;
  std::unique_ptr<InputGraph> graph_;
  std::unique_ptr<ReplicaClient> replica_;
  std::string resume_replid_;
  uint64_t resume_offset_ = 0;

  std::atomic<InputState> state_{InputState::kReadyRun};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::string fatal_;
  std::thread ticker_;

  // For rates in progress lines.
  int64_t last_progress_ms_ = 0;
  uint64_t last_keys_ = 0;
  uint64_t last_commands_ = 0;
  std::mutex skip_mu_;          // writer threads and the graph report skips
  uint64_t failures_seen_ = 0;  // guarded by skip_mu_
  int64_t last_failure_log_ms_ = 0;
  // A cluster target's checkpoint: on the ticker thread (and in stop(), after it ended).
  std::unique_ptr<ClusterCheckpoint> cluster_checkpoint_;
};

}  // namespace ferry
