// Status: the outcome of an operation, as a value (no exceptions across layers).
// An OK status carries nothing; an error carries a code and a message that names
// what was wrong and where (e.g. "RDB: bad length encoding at offset 1234 (key 'k')").
#pragma once

#include <string>
#include <utility>

namespace ferry {

class Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,
    kCorruption,
    kIoError,
    kNotSupported,
    kAborted,
    kFailedPrecondition,  // the request is valid but the state does not allow it now
    kNoSpace,             // the disk is full: retry once there is room
  };

  Status() = default;

  static Status ok() { return Status(); }
  static Status invalid_argument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status io_error(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status not_supported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }
  static Status aborted(std::string msg) { return Status(Code::kAborted, std::move(msg)); }
  static Status failed_precondition(std::string msg) {
    return Status(Code::kFailedPrecondition, std::move(msg));
  }
  static Status no_space(std::string msg) { return Status(Code::kNoSpace, std::move(msg)); }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // The message with a prefix naming the kind of error ("corruption: ...").
  std::string to_string() const;

  // Returns a copy whose message is "context: message"; OK stays OK.
  Status with_context(const std::string& context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace ferry

#define FERRY_RETURN_IF_ERROR(expr) \
  do {                              \
    ::ferry::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;   \
  } while (0)
