// ClusterCheckpoint: an input's applied position into a cluster target. No one master's
// batch knows what the others applied, so the input writes it itself, every
// updateCheckpointTicker: the tracker's applied position p (every command up to p was
// acknowledged by its master), but only once each master's replicas have confirmed the
// writes behind it — p is taken, each master's master_repl_offset M read, and p is written
// when every online replica of each master reports an offset of at least M. A master that
// fails over to a replica loses only what that replica did not have; nothing before a
// written checkpoint is among it, so resuming from the checkpoint (after the restart the
// new slot map causes) writes the lost commands again. The same confirmed position bounds
// what the local cache's GC may drop. A restart reads on from it; in transaction mode the
// slots' own checkpoints leave out what is applied past it (docs/cluster.md).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/endpoint.h"
#include "net/redis_client.h"
#include "net/target_map.h"
#include "nodes/messages.h"

namespace ferry {

class ClusterCheckpoint {
 public:
  struct Options {
    std::shared_ptr<const TargetMap> target;
    Credentials credentials;
    std::string key;           // the input's checkpoint (ckpt::key), on its slot's master
    bool write_target = true;  // output.replay.resumeFromBreakPoint
    std::chrono::milliseconds period{1000};
  };
  explicit ClusterCheckpoint(Options options);

  // Moves the checkpoint towards `applied` (one step per call: read the masters' offsets,
  // or check their replicas and write). Returns the position once it is confirmed (and
  // written), else nothing. `now` ignores the period.
  std::optional<SourcePosition> tick(const SourcePosition& applied, bool now);
  // A full sync's first batch is about to go (`start`: the start of its RDB): unless the
  // checkpoint is in that full sync already, it is written there now — a position that
  // covers nothing, so no replica need confirm it — so that a restart replays that RDB with
  // the slot checkpoints rather than finding no checkpoint at all. From any thread.
  Status begin(const SourcePosition& start);
  // The newest position written (from any thread).
  SourcePosition confirmed() const;
  // At a stop: confirms and writes `applied`, waiting for the replicas up to `timeout`.
  std::optional<SourcePosition> finish(const SourcePosition& applied,
                                       std::chrono::milliseconds timeout);

 private:
  Status read_offsets(std::vector<uint64_t>* out);
  // Whether every online replica of every master has reached the offsets read.
  Status replicas_confirm(bool* yes);
  Status write(const SourcePosition& p);
  RedisClient* client(size_t node, Status* st);

  const Options options_;
  const size_t checkpoint_node_;
  std::vector<std::unique_ptr<RedisClient>> clients_;  // one per target node, when connected
  std::optional<SourcePosition> pending_;              // taken, its offsets read
  std::vector<uint64_t> offsets_;                      // master_repl_offset per node
  std::mutex op_mu_;       // one of tick(), begin(), finish() at a time (they share clients_)
  mutable std::mutex mu_;  // guards confirmed_
  SourcePosition confirmed_;
  int64_t last_ms_ = 0;        // when the last position was taken
  int64_t last_check_ms_ = 0;  // when the replicas were last asked
  int64_t last_warning_ms_ = 0;
};

}  // namespace ferry
