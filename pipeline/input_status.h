// The state of an input as the control interface (and the REST API) reports it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/histogram.h"

namespace ferry {

enum class InputState { kReadyRun, kRun, kPause, kStop };

inline const char* input_state_name(InputState s) {
  switch (s) {
    case InputState::kReadyRun:
      return "ready_run";
    case InputState::kRun:
      return "run";
    case InputState::kPause:
      return "pause";
    case InputState::kStop:
      return "stop";
  }
  return "?";
}

// Per command name (a bounded set of names; the rest is "other").
struct CommandCounts {
  std::string name;
  uint64_t received = 0, filtered = 0, applied = 0, failed = 0;
};

struct InputStatus {
  std::string input;  // source node host:port
  std::string slots;  // a source cluster's input: its shard's slots ("0-5460")
  std::string role = "leader";
  bool transaction = false;
  InputState state = InputState::kReadyRun;
  std::string link;  // replica link state
  std::string replid;
  uint64_t source_offset = 0;   // stream bytes received from the source
  uint64_t cached_offset = 0;   // stream position stored in the local cache
  uint64_t applied_offset = 0;  // stream position applied on the target
  std::string applied_phase;    // "rdb", "stream" or "none"
  uint64_t lag_bytes = 0;       // source_offset - applied_offset, in the stream phase
  double lag_seconds = 0;       // how long the oldest byte not applied has waited
  bool full_sync = false;
  uint64_t rdb_size = 0, rdb_received = 0, rdb_parsed = 0;
  uint64_t rdb_keys_parsed = 0, rdb_keys_applied = 0, source_keys = 0;
  uint64_t commands_applied = 0, commands_failed = 0, commands_filtered = 0;
  uint64_t transactions_split = 0;  // cluster target: source MULTI/EXECs across slots
  // Commands left out for good (the target refused them for themselves alone), by reason,
  // each also in the skip record (skip_record: its path).
  std::vector<std::pair<std::string, uint64_t>> skipped_by_reason;
  std::string skip_record;
  uint64_t full_syncs = 0, partial_syncs = 0, reconnects = 0;
  std::vector<std::pair<std::string, uint64_t>> full_syncs_by_reason, partial_syncs_by_reason;
  std::vector<CommandCounts> commands;
  uint64_t batches = 0, bytes_written = 0;
  LatencyHistogram::Snapshot batch_latency;
  uint64_t cache_bytes = 0, cache_gc_runs = 0, cache_gc_freed_bytes = 0;
  std::string error;    // why the input stopped, or the source link's last error
  std::string waiting;  // what the input waits for (a target refusing writes for now, ...)
  // Readiness (GET /debug/ready): running, or paused on purpose. Else why not.
  bool ready = false;
  std::string not_ready;
};

}  // namespace ferry
