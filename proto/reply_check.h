// What a command's reply should be, and how to judge it: the contract between whoever builds
// a batch of commands and the writer that sends it and reads the replies.
#pragma once

#include <cstdint>

namespace ferry {

// How to judge the reply to one command.
enum class ReplyCheck : uint8_t {
  kAny,             // an error reply is a failure
  kNone,            // any reply is fine (housekeeping commands)
  kBusyKeyIgnored,  // RESTORE without REPLACE: BUSYKEY means the key was kept (ignored)
  kBusyKeyFatal,    // RESTORE without REPLACE: BUSYKEY stops the input (keyExists: error)
  kNilIgnored,      // SET NX: nil means the key was kept
  kNilFatal,        // SET NX: nil stops the input
  kKeptIgnored,     // finishing a rebuilt key: 0 = the existing key was kept, 2 = replaced
  kKeptFatal,       // finishing a rebuilt key: 0 (an existing key) stops the input
  kExistsProbe,     // EXISTS before a replacing write: 1 is logged as "replaced"
};

struct ReplyExpect {
  ReplyCheck check = ReplyCheck::kAny;
  bool queued = false;      // sent inside MULTI: its own reply is +QUEUED
  bool log_key = false;     // log ignored / replaced keys (keyExistsLog)
  uint32_t exec_first = 0;  // EXEC: index of the first queued command's expectation
  uint32_t exec_count = 0;  // EXEC: how many commands it ran (0: not an EXEC)
  uint64_t cmd_offset = 0;  // where the command starts in the batch's bytes
};

}  // namespace ferry
