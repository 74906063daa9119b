#include "common/status.h"

namespace ferry {

std::string Status::to_string() const {
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid argument: " + message_;
    case Code::kCorruption:
      return "corruption: " + message_;
    case Code::kIoError:
      return "I/O error: " + message_;
    case Code::kNotSupported:
      return "not supported: " + message_;
    case Code::kAborted:
      return "aborted: " + message_;
    case Code::kFailedPrecondition:
      return "failed precondition: " + message_;
    case Code::kNoSpace:
      return "no space left: " + message_;
  }
  return message_;
}

Status Status::with_context(const std::string& context) const {
  if (is_ok()) return *this;
  return Status(code_, context + ": " + message_);
}

}  // namespace ferry
