// RESP2, the Redis protocol: encoding commands (arrays of bulk strings) and parsing a stream
// of commands — the replication stream that follows the RDB — incrementally, with each
// command's exact bytes and argument positions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ferry::resp {

void append_array_header(std::string* out, uint64_t n);
void append_bulk(std::string* out, std::string_view arg);
void append_bulk_int(std::string* out, int64_t v);
void append_command(std::string* out, std::initializer_list<std::string_view> args);

// Where one argument lies, relative to the start of its command's bytes.
struct ArgSpan {
  uint64_t off = 0;
  uint64_t len = 0;
};

enum class Parse { kOk, kNeedMore, kError };

// Parses one command (a RESP array of bulk strings) at the start of [data, data+size).
// kOk: *consumed bytes form the command, args[i] locate its arguments.
// kNeedMore: the command is incomplete; *need (if not 0) is the total size it needs at least.
// kError: *error says what is malformed.
Parse parse_command(const char* data, size_t size, std::vector<ArgSpan>* args, size_t* consumed,
                    size_t* need, std::string* error);

// Splits a byte stream that arrives in arbitrary pieces into whole commands. Holds only the
// bytes of an incomplete command between calls.
class CommandStreamParser {
 public:
  struct Command {
    std::string_view bytes;            // the command's exact bytes
    const std::vector<ArgSpan>* args;  // relative to bytes.data()
  };

  // Calls on_command(const Command&) for every command that completes. A malformed stream
  // is an error naming the offset (counted from the first byte fed).
  template <typename F>
  Status feed(std::string_view data, F&& on_command);

  // Bytes held of an incomplete command.
  size_t pending() const { return pending_.size() - pending_pos_; }
  uint64_t offset() const { return offset_; }

 private:
  Status fail(const std::string& why) const;

  std::string pending_;
  size_t pending_pos_ = 0;
  std::vector<ArgSpan> args_;
  uint64_t offset_ = 0;  // stream bytes consumed as whole commands
};

template <typename F>
Status CommandStreamParser::feed(std::string_view data, F&& on_command) {
  std::string error;
  while (true) {
    if (pending_pos_ == pending_.size()) {
      pending_.clear();
      pending_pos_ = 0;
      // Parse in place from the caller's bytes.
      while (!data.empty()) {
        size_t consumed = 0, need = 0;
        Parse r = parse_command(data.data(), data.size(), &args_, &consumed, &need, &error);
        if (r == Parse::kError) return fail(error);
        if (r == Parse::kNeedMore) break;
        on_command(Command{data.substr(0, consumed), &args_});
        offset_ += consumed;
        data.remove_prefix(consumed);
      }
      if (data.empty()) return Status::ok();
      pending_.assign(data.data(), data.size());
      return Status::ok();
    }
    // Complete the held command, growing the held bytes at least geometrically so that a
    // command arriving in many small pieces is not re-parsed quadratically.
    size_t consumed = 0, need = 0;
    const char* p = pending_.data() + pending_pos_;
    size_t have = pending_.size() - pending_pos_;
    Parse r = parse_command(p, have, &args_, &consumed, &need, &error);
    if (r == Parse::kError) return fail(error);
    if (r == Parse::kOk) {
      on_command(Command{std::string_view(p, consumed), &args_});
      offset_ += consumed;
      pending_pos_ += consumed;
      continue;
    }
    if (data.empty()) return Status::ok();
    size_t want = std::max(need > have ? need - have : 0, std::max<size_t>(have, 4096));
    size_t take = std::min(want, data.size());
    if (pending_pos_ > 0) {
      pending_.erase(0, pending_pos_);
      pending_pos_ = 0;
    }
    pending_.append(data.data(), take);
    data.remove_prefix(take);
  }
}

}  // namespace ferry::resp
