// What a command's reply should be, and how to judge it: the contract between whoever builds
// a batch of commands and the writer that sends it and reads the replies.
#pragma once

#include <cstdint>

namespace ferry {

// How to judge the reply to one command.
enum class ReplyCheck : uint8_t {
  kAny,             // data: an error reply is judged by the error policy (net/error_policy.h)
  kControl,         // ferry's own framing (SELECT, WATCH, MULTI): any error stops the batch
  kBusyKeyIgnored,  // RESTORE without REPLACE: BUSYKEY means the key was kept (ignored)
  kBusyKeyFatal,    // RESTORE without REPLACE: BUSYKEY stops the input (keyExists: error)
  kNilIgnored,      // SET NX: nil means the key was kept
  kNilFatal,        // SET NX: nil stops the input
  kKeptIgnored,     // finishing a rebuilt key: 0 = the existing key was kept, 2 = replaced
  kKeptFatal,       // finishing a rebuilt key: 0 (an existing key) stops the input
  kExistsProbe,     // EXISTS before a replacing write: 1 is logged as "replaced"
  kFence,           // the fence script: 1 = the target's checkpoint is where the batch expects
  kKeyProbe,        // the key probe script (keyExists: error): 0 = none of its keys exists
};

struct ReplyExpect {
  ReplyCheck check = ReplyCheck::kAny;
  bool queued = false;      // sent inside MULTI: its own reply is +QUEUED
  bool log_key = false;     // log ignored / replaced keys (keyExistsLog)
  bool own_exec = false;    // EXEC of the batch's own transaction (not a source's)
  bool script = false;      // the apply script: its commands' expectations are WriteBatch::inner
  int32_t db = -1;          // the target DB it runs in (for reports; -1: any)
  uint32_t exec_first = 0;  // EXEC: index of the first queued command's expectation
  uint32_t exec_count = 0;  // EXEC: how many commands it ran (0: not an EXEC)
  uint64_t cmd_offset = 0;  // where the command starts in the batch's bytes
  uint64_t src_offset = 0;  // source position of the unit it belongs to (for reports)
};

// A point in a batch's bytes the writer does not send past until every earlier batch has
// ended and the first `needs` replies of this one have arrived, with nothing failed: an
// EXEC that must not run unless its fence passed (and so its predecessor committed), a
// checkpoint that must not be written before its data was acknowledged, data that waits for
// a key probe.
struct SendGate {
  uint64_t offset = 0;   // bytes of the batch before the gate
  uint32_t replies = 0;  // commands (expectations) before the gate
  uint32_t needs = 0;    // replies that must have arrived to pass (<= replies)
};

}  // namespace ferry
