// The one policy for what a target's error answer means, shared by every writer. An error is
// either transient — the target cannot take writes right now (loading, out of memory, read
// only after a failover, busy, a cluster in flux): retry the same commands, in order, after a
// back-off, never skipping any — or it concerns this command only (no permission, unknown
// command, wrong arity, wrong type at run time, a RESTORE payload the target cannot load):
// skip it, count it by reason, record it durably, carry on. The third kind of ending — the
// user asked to stop (a keyExists: error conflict) or the input is corrupt — is not an error
// answer and is decided where it is found. docs/architecture.md lists every path.
#pragma once

#include <cstdint>
#include <string_view>

namespace ferry {

enum class ErrorClass : uint8_t { kTransient, kCommandOnly };

// Why a command was skipped (the label of ferry_commands_skipped_total).
enum class SkipReason : uint8_t {
  kNoPerm,          // NOPERM: the target's ACL user may not run it
  kUnknownCommand,  // the target does not know the command
  kWrongArity,      // wrong number of arguments for the target
  kWrongType,       // WRONGTYPE at run time
  kRestorePayload,  // a RESTORE payload the target cannot load
  kReservedKey,     // it names one of ferry's own keys in the target
  kCrossSlot,       // a cluster target: its keys span slots and its effect cannot be split
  kClusterDb,       // a cluster target has one DB: a command of another DB, SWAPDB, MOVE
  kOther,           // any other error answer about this command
  kCount
};
const char* skip_reason_name(SkipReason reason);

struct ErrorVerdict {
  ErrorClass cls = ErrorClass::kCommandOnly;
  SkipReason reason = SkipReason::kOther;  // kCommandOnly only
};

// Classifies an error reply's text ("OOM command not allowed ...", "NOPERM ...").
ErrorVerdict classify_error(std::string_view error);

}  // namespace ferry
