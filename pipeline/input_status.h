// The state of an input as the control interface (and the REST API) reports it.
#pragma once

#include <cstdint>
#include <string>

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

struct InputStatus {
  std::string input;  // source node host:port
  std::string role = "leader";
  bool transaction = false;
  InputState state = InputState::kReadyRun;
  std::string link;  // replica link state
  std::string replid;
  uint64_t source_offset = 0;   // stream bytes received from the source
  uint64_t cached_offset = 0;   // stream position stored in the local cache
  uint64_t applied_offset = 0;  // stream position applied on the target
  std::string applied_phase;    // "rdb", "stream" or "none"
  bool full_sync = false;
  uint64_t rdb_size = 0, rdb_received = 0, rdb_parsed = 0;
  uint64_t rdb_keys_parsed = 0, rdb_keys_applied = 0, source_keys = 0;
  uint64_t commands_applied = 0, commands_failed = 0, commands_filtered = 0;
  uint64_t full_syncs = 0, partial_syncs = 0, reconnects = 0;
  std::string error;
};

}  // namespace ferry
