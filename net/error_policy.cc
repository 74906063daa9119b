#include "net/error_policy.h"

namespace ferry {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The first word of the error: its code ("OOM", "ERR", ...).
std::string_view code_of(std::string_view error) {
  size_t end = error.find(' ');
  return end == std::string_view::npos ? error : error.substr(0, end);
}

}  // namespace

const char* skip_reason_name(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNoPerm:
      return "noperm";
    case SkipReason::kUnknownCommand:
      return "unknown_command";
    case SkipReason::kWrongArity:
      return "wrong_arity";
    case SkipReason::kWrongType:
      return "wrongtype";
    case SkipReason::kRestorePayload:
      return "restore_payload";
    case SkipReason::kReservedKey:
      return "reserved_key";
    case SkipReason::kCrossSlot:
      return "cross_slot";
    case SkipReason::kClusterDb:
      return "cluster_db";
    case SkipReason::kOther:
    case SkipReason::kCount:
      break;
  }
  return "other";
}

ErrorVerdict classify_error(std::string_view error) {
  // Conditions of the target as a whole: waiting them out and sending the same commands
  // again, in order, is the only way to lose nothing. NOAUTH: the connection lost its
  // authentication (the target restarted with a password); a new connection authenticates.
  static constexpr std::string_view kTransient[] = {
      "LOADING", "OOM",        "READONLY",   "TRYAGAIN", "CLUSTERDOWN", "BUSY",
      "MISCONF", "MASTERDOWN", "NOREPLICAS", "NOAUTH",   "MOVED",       "ASK"};
  const std::string_view code = code_of(error);
  for (std::string_view t : kTransient) {
    if (code == t) return ErrorVerdict{ErrorClass::kTransient, SkipReason::kOther};
  }
  if (starts_with(error, "ERR max number of clients")) {
    return ErrorVerdict{ErrorClass::kTransient, SkipReason::kOther};
  }
  ErrorVerdict v;
  if (code == "NOPERM") {
    v.reason = SkipReason::kNoPerm;
  } else if (code == "WRONGTYPE") {
    v.reason = SkipReason::kWrongType;
  } else if (starts_with(error, "ERR unknown command") ||
             starts_with(error, "ERR unknown subcommand")) {
    v.reason = SkipReason::kUnknownCommand;
  } else if (starts_with(error, "ERR wrong number of arguments")) {
    v.reason = SkipReason::kWrongArity;
  } else if (starts_with(error, "ERR DUMP payload") || starts_with(error, "ERR Bad data format")) {
    v.reason = SkipReason::kRestorePayload;
  }
  return v;
}

}  // namespace ferry
