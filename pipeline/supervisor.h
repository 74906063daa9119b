// Supervisor: owns every input pipeline of the process. It finds out what the target is
// (its version, hence which RESTORE payloads it takes), starts one pipeline per source
// node, reports progress every few seconds, and stops them all gracefully. It implements
// the control interface the REST API uses.
//
// Thread-safety: every public method may be called from any thread. Control operations
// (full sync, GC, shutdown) run one at a time; status reads never wait for them.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "net/endpoint.h"
#include "pipeline/control.h"
#include "pipeline/input_pipeline.h"
#include "pipeline/migration_barrier.h"
#include "pipeline/source_map.h"

namespace ferry {

class Cache;

class Supervisor : public Control {
 public:
  explicit Supervisor(const Config& config);
  ~Supervisor() override;

  Status start();
  // Reports progress until *stop becomes true or every input has stopped on an error.
  void run(const std::atomic<bool>* stop);
  // Stops every input within server.gracefullStopTimeout. True when all applied in time.
  bool shutdown();
  // Why the process must end with an error (every input failed), or empty.
  std::string fatal_reason() const;

  // Control
  std::vector<InputStatus> inputs() const override;
  Status resolve_inputs(const std::string& spec, std::vector<std::string>* out) const override;
  Status pause(const std::vector<std::string>& inputs) override;
  Status resume(const std::vector<std::string>& inputs) override;
  Status restart() override;
  Status full_sync(const std::vector<std::string>& inputs, bool flushdb) override;
  Status handover(const std::vector<std::string>& inputs) override;
  uint64_t gc() override;
  std::vector<std::string> not_ready() const override;

 private:
  // What could not be started (a restart or a full sync while the target was unreachable,
  // say): listed in the status as stopped, with the error, and retried by run().
  struct Deferred {
    std::vector<std::string> inputs;
    bool full_sync = false;
    bool flushdb = false;  // full sync: the target is still to be emptied
    std::set<std::string> paused;
    std::map<std::string, std::string> follows;  // input -> the one it moved from (a cluster)
    std::string error;
    std::chrono::steady_clock::time_point next_try;
  };

  // The inputs of the configured source (for a cluster, read from it) into sources_ and
  // options_.configured_inputs. Call with control_mu_ held (or before anything runs).
  Status plan_inputs();
  void set_sources(std::vector<SourceInput> sources, bool log);
  // Every node of the source cluster met so far (seeds should the configured ones be gone).
  std::vector<Endpoint> known_nodes() const;
  // Source cluster: reads the topology and moves, starts or stops the inputs it changed.
  void check_topology();
  // Whether an input's source link is down with an error (the topology may have changed).
  bool topology_suspect() const;
  // Frees the cache of inputs gone for longer than channel.staleCheckpointDuration.
  void reclaim_stale();

  // Call with mu_ held.
  InputPipeline* find(const std::string& name) const;
  Status check_names(const std::vector<std::string>& inputs) const;
  // Builds and starts one input's pipeline and adds it (takes mu_).
  Status start_input(const Endpoint& source, bool full_sync, bool paused = false,
                     const std::string& follows = "");
  // Reads the target's nodes (a cluster's masters and slots) and what it can do into
  // options_.
  Status read_target();
  // Cluster target: restarts every input when the masters or their slots changed.
  void check_target();
  // Stops every input (letting what is in flight drain for up to `drain`) and starts them
  // again, paused ones paused. Call with control_mu_ held.
  Status restart_inputs(std::chrono::milliseconds drain);
  // Whether a writer waits on a redirection (the target's slots may have moved).
  bool target_redirects() const;
  // Probes the target and starts every configured input (`paused` ones paused).
  Status start_inputs(const std::set<std::string>& paused);
  // Stops and removes every input; returns whether all applied what they held in time.
  bool stop_inputs(std::chrono::steady_clock::time_point deadline);
  // Removes one input's pipeline, if any, and returns it (takes mu_).
  std::unique_ptr<InputPipeline> take_input(const std::string& name);
  // Deletes the inputs' checkpoints and, with flushdb, empties what they write to.
  Status prepare_full_sync(const std::vector<std::string>& inputs, bool flushdb);
  // Removes the keys of a source cluster input's slots from the target (proto/slot_flush.h).
  Status empty_shard_slots(const std::string& input);
  // Starts what `d` names (a full sync prepares the target first); what fails is deferred.
  Status start_deferred(Deferred d);
  void defer(Deferred d, const Status& why);
  // Retries deferred starts whose time has come (from run()).
  void retry_deferred();

  const Config& config_;
  InputPipeline::Options options_;
  std::unique_ptr<Cache> cache_;
  std::mutex control_mu_;  // one control operation at a time
  mutable std::mutex mu_;  // guards pipelines_
  // A source cluster's; outlives the pipelines that use it.
  std::unique_ptr<MigrationBarrier> barrier_;
  std::vector<std::unique_ptr<InputPipeline>> pipelines_;
  std::vector<Deferred> deferred_;    // guarded by mu_
  std::vector<SourceInput> sources_;  // guarded by mu_
  // A source cluster's: each input's slots, for its stages (never under mu_, which is held
  // while pipelines stop and their stages finish).
  mutable std::mutex slots_mu_;
  std::map<std::string, std::string> shard_slots_;  // guarded by slots_mu_
};

}  // namespace ferry
